// Public header of decoder/'s PMPD generation (PMPD.md, "Generation loop semantics"): prefill at prefill_bits, the
// first token from the prefill logits, decode pass 1 at the high precision, then the scheduler's precision for
// every later pass; stop at EOS (or BOS) or at max_new_tokens generated tokens. The result is what a pmpd-trace
// request records: real prompt length, real EOS, the real precision of every decode pass.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "decoder/llama.h"
#include "decoder/quantize.h"

namespace npusim::decoder {

// Chooses each decode pass's precision. Implementations: static (switch after N), fixed; the learned scheduler
// (a classifier over the KV cache after prefill and pass 1) will implement the same interface.
class IScheduler {
 public:
  virtual ~IScheduler() = default;
  virtual std::string name() const = 0;
  // Called once per request after the prefill and decode pass 1 (`transformer` holds their KV cache).
  virtual void start(const Transformer& /*transformer*/, int /*prompt_tokens*/) {}
  // The precision of decode pass `pass` (2, 3, ...; pass 1 always runs high).
  virtual int bits_for_pass(int pass, int high, int low) = 0;
};

// PMPD's static scheduler: passes 1..max(1, N) high, the rest low (as `npusim trace synth` schedules).
class StaticScheduler : public IScheduler {
 public:
  explicit StaticScheduler(int switch_step) : switch_step_(switch_step) {}
  std::string name() const override { return "static"; }
  int bits_for_pass(int pass, int high, int low) override {
    return pass <= std::max(1, switch_step_) ? high : low;
  }

 private:
  int switch_step_;
};

// Every pass at one precision (the uniform baselines).
class FixedScheduler : public IScheduler {
 public:
  std::string name() const override { return "fixed"; }
  int bits_for_pass(int, int high, int) override { return high; }
};

struct GenerationOptions {
  int high_bits = 3, low_bits = 2;  // 16: the unquantized model (fp32 arithmetic, recorded as 16 in traces)
  int prefill_bits = 0;             // 0: the high precision
  int max_new_tokens = 64;
  float temperature = 0.0f, top_p = 0.9f;
  uint64_t seed = 1;
  // "anyprec": the nested any-precision model; "uniform": uniform:k with a scale and zero per `group_size` weights
  // along each row, quantized from the fp32 model for each precision the schedule uses.
  std::string weights = "anyprec";
  int group_size = 32;
};

struct Generation {
  std::string text;
  int prompt_tokens = 0;
  int prefill_bits = 0;
  std::vector<int> pass_bits;  // precision of each decode pass, in order
  std::vector<int> tokens;     // generated tokens (the first from the prefill logits)
  bool eos = false;            // ended at EOS or BOS (false: at max_new_tokens or the context's end)
};

// Generates one request. `model` may be null when every precision involved is 16.
Generation generate_pmpd(const LlamaModel& fp32_model, const QuantizedModel* model, const Tokenizer& tokenizer,
                         IScheduler& scheduler, const std::string& prompt, const GenerationOptions& options);

}  // namespace npusim::decoder

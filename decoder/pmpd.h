// Public header of decoder/'s PMPD generation (PMPD.md, "Generation loop semantics"): prefill at prefill_bits, the
// first token from the prefill logits, decode pass 1 at the high precision, then the scheduler's precision for
// every later pass; stop at EOS (or BOS) or at max_new_tokens generated tokens. The result is what a pmpd-trace
// request records: real prompt length, real EOS, the real precision of every decode pass.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "decoder/llama.h"
#include "decoder/quantize.h"
#include "traces/trace.h"

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
  // The precision of any decode pass (1, 2, ...): PMPD runs pass 1 at the high precision.
  int bits(int pass, int high, int low) { return pass == 1 ? high : bits_for_pass(pass, high, low); }
};

// PMPD's static scheduler: passes 1..max(1, N) high, the rest low (as `npusim trace synth` schedules).
class StaticScheduler : public IScheduler {
 public:
  explicit StaticScheduler(int switch_step) : switch_step_(switch_step) {}
  std::string name() const override { return "static"; }
  int bits_for_pass(int pass, int high, int low) override {
    return pass <= traces::static_high_passes(switch_step_) ? high : low;
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
  int prefill() const { return prefill_bits == 0 ? high_bits : prefill_bits; }
};

// The decoder's linears at a precision, switchable between positions: the fp32 model's at 16 bits, else the
// any-precision model's ("anyprec") or uniform:k ones with a scale and zero per `group_size` weights along each
// row ("uniform", quantized from the fp32 model once per precision used). Built once per run of many requests.
class PrecisionLinears : public ILinears {
 public:
  // `quantized` (anyprec only) must be `fp32`'s quantized model; null when every precision used is 16.
  PrecisionLinears(const LlamaModel& fp32, const QuantizedModel* quantized, const std::string& weights = "anyprec",
                   int group_size = 32);
  void set_bits(int bits);
  void matvec(int layer, LinearKind kind, const float* x, float* out) override;

 private:
  Fp32Linears fp32_;
  const LlamaModel& model_;
  bool uniform_;
  int group_size_;
  std::unique_ptr<AnyPrecLinears> anyprec_;
  std::map<int, std::unique_ptr<UniformLinears>> uniform_by_bits_;
  int bits_ = 16;
};

struct Generation {
  std::string text;
  int prompt_tokens = 0;
  int prefill_bits = 0;
  std::vector<int> pass_bits;  // precision of each decode pass, in order
  std::vector<int> tokens;     // generated tokens (the first from the prefill logits)
  bool eos = false;            // ended at EOS or BOS (false: at max_new_tokens or the context's end)
};

// Generates one request on `fp32_model` with `linears` (built for it) switched per phase and pass.
Generation generate_pmpd(const LlamaModel& fp32_model, PrecisionLinears& linears, const Tokenizer& tokenizer,
                         IScheduler& scheduler, const std::string& prompt, const GenerationOptions& options);

// Teacher forcing: the negative log-likelihood (nats, summed) of `continuation` after `prompt`, the prompt run at
// `prefill_bits` and continuation token t (predicted by decode pass t, the first by the prefill) at
// `pass_bits(t)`.
template <class PassBits>
double continuation_nll(const LlamaModel& model, PrecisionLinears& linears, const Tokenizer& tokenizer,
                        const std::string& prompt, const std::vector<int>& continuation, int prefill_bits,
                        PassBits pass_bits);

template <class PassBits>
double continuation_nll(const LlamaModel& model, PrecisionLinears& linears, const Tokenizer& tokenizer,
                        const std::string& prompt, const std::vector<int>& continuation, int prefill_bits,
                        PassBits pass_bits) {
  Transformer transformer(model, &linears);
  std::vector<int> seq = tokenizer.encode(prompt, true, false);
  const size_t prompt_tokens = seq.size();
  seq.insert(seq.end(), continuation.begin(), continuation.end());
  double nll = 0;
  for (size_t pos = 0; pos + 1 < seq.size() && static_cast<int>(pos) < model.config.seq_len; ++pos) {
    const int pass = pos + 1 < prompt_tokens ? 0 : static_cast<int>(pos + 1 - prompt_tokens);  // 0: the prefill
    linears.set_bits(pass == 0 ? prefill_bits : pass_bits(pass));
    const std::vector<float>& logits = transformer.forward(seq[pos], static_cast<int>(pos));
    if (pos + 1 < prompt_tokens) continue;  // inside the prompt: nothing to score
    const float top = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float l : logits) sum += std::exp(static_cast<double>(l - top));
    nll -= static_cast<double>(logits[static_cast<size_t>(seq[pos + 1])] - top) - std::log(sum);
  }
  return nll;
}

}  // namespace npusim::decoder

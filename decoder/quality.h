// Public header of decoder/'s quality measures against the unquantized model on the same prompts: greedy token
// agreement, ROUGE-L of the generated text, and the perplexity the configuration's own precision schedule gives
// the unquantized model's continuation (teacher forcing).
#pragma once

#include <string>
#include <vector>

#include "decoder/pmpd.h"

namespace npusim::decoder {

// ROUGE-L F1 of two word sequences (whitespace-separated): longest common subsequence over both lengths.
double rouge_l(const std::string& candidate, const std::string& reference);

// A configuration to evaluate: precisions, prefill bits, a static switch step (a fixed precision when
// high == low), and the weights: the any-precision model's, or the uniform:k baseline's (a scale and zero per
// `uniform_group` weights; 0: any-precision).
struct QualityConfig {
  std::string name;
  int high_bits = 16, low_bits = 16, prefill_bits = 0, switch_step = 0;
  int uniform_group = 0;
};

struct QualityResult {
  std::string name;
  double mean_bits = 0;        // over decode passes
  double token_agreement = 0;  // share of the reference's tokens matched position by position
  double rouge_l = 0;          // mean over prompts
  double perplexity = 0;       // of the reference continuations under this configuration's schedule
};

// Evaluates each configuration on `prompts` against the unquantized model's greedy generations (max_new_tokens
// each). The first configuration is conventionally the reference itself (fp32).
std::vector<QualityResult> evaluate_quality(const LlamaModel& model, const QuantizedModel& quantized,
                                            const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                            const std::vector<QualityConfig>& configs, int max_new_tokens);

}  // namespace npusim::decoder

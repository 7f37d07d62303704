#include "decoder/quality.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>

namespace npusim::decoder {

double rouge_l(const std::string& candidate, const std::string& reference) {
  const auto words = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  };
  const std::vector<std::string> c = words(candidate), r = words(reference);
  if (c.empty() || r.empty()) return c.empty() && r.empty() ? 1.0 : 0.0;
  std::vector<size_t> previous(r.size() + 1, 0), current(r.size() + 1, 0);
  for (size_t i = 1; i <= c.size(); ++i) {
    for (size_t j = 1; j <= r.size(); ++j) {
      current[j] = c[i - 1] == r[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    }
    std::swap(previous, current);
  }
  const double lcs = static_cast<double>(previous[r.size()]);
  const double precision = lcs / static_cast<double>(c.size()), recall = lcs / static_cast<double>(r.size());
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

std::vector<QualityResult> evaluate_quality(const LlamaModel& model, const QuantizedModel& quantized,
                                            const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                            const std::vector<QualityConfig>& configs, int max_new_tokens) {
  PrecisionLinears linears(model, &quantized);
  std::map<int, std::unique_ptr<PrecisionLinears>> uniform_by_group;  // uniform:k linears, made when asked for
  // The references: the unquantized model's greedy generations.
  std::vector<Generation> references;
  for (const std::string& p : prompts) {
    FixedScheduler fixed;
    GenerationOptions o;
    o.high_bits = o.low_bits = 16;
    o.max_new_tokens = max_new_tokens;
    references.push_back(generate_pmpd(model, linears, tokenizer, fixed, p, o));
  }
  std::vector<QualityResult> results;
  for (const QualityConfig& c : configs) {
    QualityResult r;
    r.name = c.name;
    GenerationOptions o;
    o.high_bits = c.high_bits;
    o.low_bits = c.low_bits;
    o.prefill_bits = c.prefill_bits;
    o.max_new_tokens = max_new_tokens;
    StaticScheduler scheduler(c.switch_step);
    std::unique_ptr<PrecisionLinears>& uniform = uniform_by_group[c.uniform_group];
    if (c.uniform_group > 0 && !uniform) {
      uniform = std::make_unique<PrecisionLinears>(model, nullptr, "uniform", c.uniform_group);
    }
    PrecisionLinears& weights = c.uniform_group > 0 ? *uniform : linears;
    double bits = 0, passes = 0, agree = 0, total = 0, rouge = 0, nll = 0, scored = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      const Generation g = generate_pmpd(model, weights, tokenizer, scheduler, prompts[i], o);
      for (int b : g.pass_bits) bits += b;
      passes += static_cast<double>(g.pass_bits.size());
      const Generation& ref = references[i];
      for (size_t t = 0; t < ref.tokens.size(); ++t) agree += t < g.tokens.size() && g.tokens[t] == ref.tokens[t];
      total += static_cast<double>(ref.tokens.size());
      rouge += rouge_l(g.text, ref.text);
      // The reference continuation under this configuration's own schedule.
      nll += continuation_nll(model, weights, tokenizer, prompts[i], ref.tokens, o.prefill(),
                              [&](int pass) { return scheduler.bits(pass, c.high_bits, c.low_bits); });
      scored += static_cast<double>(ref.tokens.size());
    }
    r.mean_bits = passes > 0 ? bits / passes : 0;
    r.token_agreement = total > 0 ? agree / total : 0;
    r.rouge_l = rouge / static_cast<double>(prompts.size());
    r.perplexity = scored > 0 ? std::exp(nll / scored) : 0;
    results.push_back(r);
  }
  return results;
}

}  // namespace npusim::decoder

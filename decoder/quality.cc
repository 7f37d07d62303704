#include "decoder/quality.h"

#include <algorithm>
#include <cmath>
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

namespace {

// The precision that configuration `c` runs decode pass `pass` at (PMPD: pass 1 high, then the static switch).
int pass_bits(const QualityConfig& c, int pass) {
  return pass == 1 ? c.high_bits : StaticScheduler(c.switch_step).bits_for_pass(pass, c.high_bits, c.low_bits);
}

class SwitchingLinears : public ILinears {
 public:
  SwitchingLinears(const LlamaModel& model, const QuantizedModel& quantized)
      : fp32_(model), anyprec_(quantized, quantized.parent_bits) {}
  void set_bits(int bits) {
    bits_ = bits;
    if (bits != 16) anyprec_.set_bits(bits);
  }
  void matvec(int layer, LinearKind kind, const float* x, float* out) override {
    if (bits_ == 16) {
      fp32_.matvec(layer, kind, x, out);
    } else {
      anyprec_.matvec(layer, kind, x, out);
    }
  }

 private:
  Fp32Linears fp32_;
  AnyPrecLinears anyprec_;
  int bits_ = 16;
};

}  // namespace

std::vector<QualityResult> evaluate_quality(const LlamaModel& model, const QuantizedModel& quantized,
                                            const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                            const std::vector<QualityConfig>& configs, int max_new_tokens) {
  // The references: the unquantized model's greedy generations.
  std::vector<Generation> references;
  for (const std::string& p : prompts) {
    FixedScheduler fixed;
    GenerationOptions o;
    o.high_bits = o.low_bits = 16;
    o.max_new_tokens = max_new_tokens;
    references.push_back(generate_pmpd(model, nullptr, tokenizer, fixed, p, o));
  }
  std::vector<QualityResult> results;
  for (const QualityConfig& c : configs) {
    QualityResult r;
    r.name = c.name;
    double bits = 0, passes = 0, agree = 0, total = 0, rouge = 0, nll = 0, scored = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      StaticScheduler scheduler(c.switch_step);
      GenerationOptions o;
      o.high_bits = c.high_bits;
      o.low_bits = c.low_bits;
      o.prefill_bits = c.prefill_bits;
      o.max_new_tokens = max_new_tokens;
      const Generation g = generate_pmpd(model, &quantized, tokenizer, scheduler, prompts[i], o);
      for (int b : g.pass_bits) bits += b;
      passes += static_cast<double>(g.pass_bits.size());
      const Generation& ref = references[i];
      for (size_t t = 0; t < ref.tokens.size(); ++t) agree += t < g.tokens.size() && g.tokens[t] == ref.tokens[t];
      total += static_cast<double>(ref.tokens.size());
      rouge += rouge_l(g.text, ref.text);
      // Teacher forcing: the prompt at the prefill precision, continuation token t (predicted by pass t) at the
      // precision this configuration's pass t runs.
      SwitchingLinears linears(model, quantized);
      Transformer transformer(model, &linears);
      std::vector<int> seq = tokenizer.encode(prompts[i], true, false);
      const size_t prompt = seq.size();
      seq.insert(seq.end(), ref.tokens.begin(), ref.tokens.end());
      for (size_t pos = 0; pos + 1 < seq.size() && static_cast<int>(pos) < model.config.seq_len; ++pos) {
        const int pass = pos + 1 < prompt ? 0 : static_cast<int>(pos + 1 - prompt);  // 0: prefill
        linears.set_bits(pass == 0 ? (c.prefill_bits ? c.prefill_bits : c.high_bits) : pass_bits(c, pass));
        const std::vector<float>& logits = transformer.forward(seq[pos], static_cast<int>(pos));
        if (pos + 1 < prompt) continue;
        const float top = *std::max_element(logits.begin(), logits.end());
        double sum = 0;
        for (float l : logits) sum += std::exp(static_cast<double>(l - top));
        nll -= static_cast<double>(logits[static_cast<size_t>(seq[pos + 1])] - top) - std::log(sum);
        ++scored;
      }
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

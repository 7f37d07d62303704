// PMPD generation: one request, with its precision switching between positions.
#include "decoder/pmpd.h"

#include "common/error.h"

namespace npusim::decoder {

namespace {

constexpr int kBos = 1, kEos = 2;

}  // namespace

PrecisionLinears::PrecisionLinears(const LlamaModel& fp32, const QuantizedModel* quantized,
                                   const std::string& weights, int group_size)
    : fp32_(fp32), model_(fp32), uniform_(weights == "uniform"), group_size_(group_size) {
  if (weights != "anyprec" && weights != "uniform") {
    throw InputError("decode --weights " + weights + ": expected anyprec or uniform");
  }
  if (group_size < 1) throw InputError("decode --group-size: expected at least 1");
  if (quantized && !uniform_) {
    // The quantized model must be this model's: its products fill buffers sized by the checkpoint's shape.
    const LlamaConfig& a = fp32.config;
    const LlamaConfig& b = quantized->base.config;
    if (a.dim != b.dim || a.hidden_dim != b.hidden_dim || a.n_layers != b.n_layers || a.n_heads != b.n_heads ||
        a.n_kv_heads != b.n_kv_heads || a.vocab_size != b.vocab_size) {
      throw InputError("decode: the quantized model's shape is not the checkpoint's (another model's .npaq?)");
    }
    anyprec_ = std::make_unique<AnyPrecLinears>(*quantized, quantized->parent_bits);
  }
}

void PrecisionLinears::set_bits(int bits) {
  bits_ = bits;
  if (bits == 16) return;
  if (uniform_) {
    auto& linears = uniform_by_bits_[bits];
    if (!linears) linears = std::make_unique<UniformLinears>(model_, bits, group_size_);
    return;
  }
  if (!anyprec_) throw InputError("decode: " + std::to_string(bits) + " bits needs a quantized model");
  anyprec_->set_bits(bits);
}

void PrecisionLinears::matvec(int layer, LinearKind kind, const float* x, float* out) {
  if (bits_ == 16) {
    fp32_.matvec(layer, kind, x, out);
  } else if (uniform_) {
    uniform_by_bits_.at(bits_)->matvec(layer, kind, x, out);
  } else {
    anyprec_->matvec(layer, kind, x, out);
  }
}

Generation generate_pmpd(const LlamaModel& fp32_model, PrecisionLinears& linears, const Tokenizer& tokenizer,
                         IScheduler& scheduler, const std::string& prompt, const GenerationOptions& options) {
  if (options.max_new_tokens < 1) throw InputError("decode: max_new_tokens must be at least 1");
  Transformer t(fp32_model, &linears);
  Sampler sampler(options.temperature, options.top_p, options.seed);
  Generation g;
  const std::vector<int> prompt_tokens = tokenizer.encode(prompt, true, false);
  g.prompt_tokens = static_cast<int>(prompt_tokens.size());
  if (g.prompt_tokens >= t.config().seq_len) {
    throw InputError("decode: the prompt has " + std::to_string(g.prompt_tokens) +
                     " tokens; the model's context is " + std::to_string(t.config().seq_len));
  }
  g.prefill_bits = options.prefill();
  linears.set_bits(g.prefill_bits);
  const std::vector<float>* logits = nullptr;
  for (int pos = 0; pos < g.prompt_tokens; ++pos)
    logits = &t.forward(prompt_tokens[static_cast<size_t>(pos)], pos);
  int token = sampler.sample(*logits);  // the first generated token: from the prefill logits
  g.tokens.push_back(token);
  g.eos = token == kEos || token == kBos;
  int previous = prompt_tokens.back();
  int pos = g.prompt_tokens;
  for (int pass = 1;
       !g.eos && static_cast<int>(g.tokens.size()) < options.max_new_tokens && pos < t.config().seq_len; ++pass) {
    g.text += tokenizer.decode(previous, token);
    const int bits = scheduler.bits(pass, options.high_bits, options.low_bits);
    linears.set_bits(bits);
    logits = &t.forward(token, pos++);
    g.pass_bits.push_back(bits);
    if (pass == 1) scheduler.start(t, g.prompt_tokens);
    previous = token;
    token = sampler.sample(*logits);
    g.tokens.push_back(token);
    g.eos = token == kEos || token == kBos;
  }
  if (!g.eos) g.text += tokenizer.decode(previous, token);
  return g;
}

}  // namespace npusim::decoder

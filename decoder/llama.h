// Public header of decoder/: the reference decoder's model side. A Llama-architecture model in llama2.c's
// checkpoint format (legacy 7-int32 header, or the 256-byte version-1 header), its tokenizer (llama2.c's
// tokenizer.bin: BPE merges by score), an fp32 forward pass (RMSNorm, RoPE, grouped-query attention, SwiGLU), and
// llama2.c's samplers (greedy, temperature with top-p, seeded xorshift).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace npusim::decoder {

struct LlamaConfig {
  int dim = 0;         // transformer width
  int hidden_dim = 0;  // SwiGLU hidden width
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;  // grouped-query attention: n_heads / n_kv_heads query heads share a KV head
  int vocab_size = 0;
  int seq_len = 0;                // positions the KV cache holds
  bool shared_classifier = true;  // lm_head is the token embedding
  int head_size() const { return dim / n_heads; }
  int kv_dim() const { return n_kv_heads * head_size(); }
};

// Weights as llama2.c lays them out: every matrix row-major [out][in], layers stacked.
struct LlamaWeights {
  std::vector<float> token_embedding;   // [vocab][dim]
  std::vector<float> rms_att, rms_ffn;  // [layer][dim]
  std::vector<float> wq, wk, wv, wo;    // [layer][dim][dim], [layer][kv_dim][dim] x2, [layer][dim][dim]
  std::vector<float> w1, w2, w3;        // [layer][hidden][dim], [layer][dim][hidden], [layer][hidden][dim]
  std::vector<float> rms_final;         // [dim]
  std::vector<float> classifier;        // [vocab][dim]; empty when shared with token_embedding
  const float* lm_head() const { return classifier.empty() ? token_embedding.data() : classifier.data(); }
};

struct LlamaModel {
  LlamaConfig config;
  LlamaWeights weights;
};

// Reads a llama2.c checkpoint: the legacy header (7 int32; a negative vocab_size means a separate classifier;
// the legacy RoPE tables after the final norm are skipped) or the version-1 header (magic "ak42", version 1,
// 7 int32, a shared-classifier byte, padding to 256 bytes). Throws InputError naming the file and the fault
// (short file, inconsistent shape, trailing bytes).
LlamaModel load_checkpoint(const std::string& path);
// Throws InputError naming `path` unless the shape is one the forward pass can run (positive sizes, heads of an
// even size, n_heads a multiple of n_kv_heads, plausible magnitudes).
void check_llama_config(const LlamaConfig& config, const std::string& path);
// Writes the version-1 format (what llama2.c's export.py writes), atomically.
void write_checkpoint_v1(const LlamaModel& model, const std::string& path);

class Tokenizer {
 public:
  // llama2.c's tokenizer.bin: int32 max_token_length, then per token a float score, an int32 length and its bytes.
  Tokenizer(const std::string& path, int vocab_size);

  // BOS (1) first when `bos`, then a dummy-prefix space when the text is not empty, UTF-8 characters (bytes that
  // are not in the vocabulary fall back to byte tokens <0xXX> = byte + 3), then the highest-scoring merge of two
  // neighbours until none applies; EOS (2) last when `eos`.
  std::vector<int> encode(const std::string& text, bool bos, bool eos) const;
  // The text of `token` after `previous` (a leading space is dropped after BOS; <0xXX> pieces are raw bytes).
  std::string decode(int previous, int token) const;
  int vocab_size() const { return static_cast<int>(vocab_.size()); }

 private:
  int lookup(const std::string& piece) const;
  std::vector<std::string> vocab_;
  std::vector<float> scores_;
  std::vector<std::pair<std::string, int>> sorted_;  // for lookup
};

// The seven linears of each decoder layer, as the forward pass multiplies by them.
enum class LinearKind { kQ, kK, kV, kO, kW1, kW2, kW3 };
constexpr int kLinearsPerLayer = 7;

// Where the forward pass gets its linear products: the fp32 weights, or quantized ones at some precision.
class ILinears {
 public:
  virtual ~ILinears() = default;
  // out = W x, W the layer's `kind` linear.
  virtual void matvec(int layer, LinearKind kind, const float* x, float* out) = 0;
};

// The fp32 linears of a model; optionally summing every input element's square per (layer, linear) input column,
// the activation second moments the any-precision quantizer weighs weights by.
class Fp32Linears : public ILinears {
 public:
  explicit Fp32Linears(const LlamaModel& model) : model_(model) {}
  void matvec(int layer, LinearKind kind, const float* x, float* out) override;
  void start_calibration();
  // Mean square of each input column of linear `kind` in `layer` over the calibrated tokens.
  std::vector<float> second_moments(int layer, LinearKind kind) const;

 private:
  const LlamaModel& model_;
  std::vector<std::vector<double>> square_sums_;  // [layer * 7 + kind][input column]
  std::vector<int64_t> counts_;
};

// The shape of linear `kind` ([rows][cols]) and its fp32 weights in `model`.
void linear_shape(const LlamaConfig& config, LinearKind kind, int* rows, int* cols);
const float* linear_weights(const LlamaModel& model, int layer, LinearKind kind);

// One sequence's forward pass with its KV cache, fp32 arithmetic throughout. The linears go through ILinears, so
// quantized weights stand in for the fp32 ones (and may change between positions: PMPD's precision schedule).
class Transformer {
 public:
  explicit Transformer(const LlamaModel& model);
  Transformer(const LlamaModel& model, ILinears* linears);
  void set_linears(ILinears* linears) { linears_ = linears; }
  // Logits for `token` at position `pos` (0-based; pos < seq_len), after every earlier position was run.
  const std::vector<float>& forward(int token, int pos);
  const LlamaConfig& config() const { return model_.config; }

 private:
  const LlamaModel& model_;
  Fp32Linears fp32_;
  ILinears* linears_;
  std::vector<float> x_, xb_, xb2_, hb_, hb2_, q_, k_, v_, att_, logits_;
  std::vector<float> key_cache_, value_cache_;  // [layer][seq_len][kv_dim]
  std::vector<float> rope_cos_, rope_sin_;      // [head_size / 2] at the current position
};

// llama2.c's sampler: temperature 0 is argmax; otherwise softmax(logits / temperature), then top-p (nucleus)
// sampling when 0 < top_p < 1, else sampling from the whole distribution, with xorshift64* random numbers.
class Sampler {
 public:
  Sampler(float temperature, float top_p, uint64_t seed)
      : temperature_(temperature), top_p_(top_p), state_(seed) {}
  int sample(std::vector<float> logits);

 private:
  uint32_t random_u32();
  float random_f32();
  float temperature_, top_p_;
  uint64_t state_;
};

// Generates from `prompt` as llama2.c's run does: BOS, the prompt's tokens, then sampled tokens, `steps`
// positions in all (or until BOS is sampled); returns the text of every token after BOS.
std::string generate(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                     const std::string& prompt, int steps, std::vector<int>* tokens = nullptr);

}  // namespace npusim::decoder

// llama2.c checkpoints: the legacy layout (7-int32 header, tensors by kind with layers stacked, RoPE tables after
// the final norm) and version 1 (256-byte header, norms first, no RoPE tables).
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/error.h"
#include "common/files.h"
#include "decoder/llama.h"

namespace npusim::decoder {

namespace {

constexpr uint32_t kMagic = 0x616b3432;  // "ak42"
constexpr size_t kV1HeaderBytes = 256;

// Reads consecutive little-endian values out of a file's bytes, naming the file when it runs short.
class Reader {
 public:
  Reader(const std::string& bytes, std::string path) : bytes_(bytes), path_(std::move(path)) {}
  template <class T>
  T value(const char* what) {
    T v;
    need(sizeof(T), what);
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  void floats(std::vector<float>* out, size_t count, const char* what) {
    need(count * sizeof(float), what);
    out->resize(count);
    std::memcpy(out->data(), bytes_.data() + at_, count * sizeof(float));
    at_ += count * sizeof(float);
  }
  void skip(size_t bytes, const char* what) {
    need(bytes, what);
    at_ += bytes;
  }
  void seek(size_t at) { at_ = at; }
  size_t left() const { return bytes_.size() - at_; }

 private:
  void need(size_t bytes, const char* what) const {
    if (bytes_.size() - at_ < bytes) {
      throw InputError(path_ + ": ends at byte " + std::to_string(bytes_.size()) + " inside " + what + " (" +
                       std::to_string(bytes) + " bytes needed at byte " + std::to_string(at_) +
                       "): not a checkpoint of the shape its header gives");
    }
  }
  const std::string& bytes_;
  std::string path_;
  size_t at_ = 0;
};

}  // namespace

void check_llama_config(const LlamaConfig& c, const std::string& path) {
  const auto bad = [&](const std::string& what) { throw InputError(path + ": header: " + what); };
  if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
      c.vocab_size <= 0 || c.seq_len <= 0) {
    bad("every size must be positive (dim " + std::to_string(c.dim) + ", hidden " + std::to_string(c.hidden_dim) +
        ", layers " + std::to_string(c.n_layers) + ", heads " + std::to_string(c.n_heads) + ", kv heads " +
        std::to_string(c.n_kv_heads) + ", vocab " + std::to_string(c.vocab_size) + ", seq_len " +
        std::to_string(c.seq_len) + ")");
  }
  if (c.dim % c.n_heads != 0 || c.head_size() % 2 != 0) bad("dim must split into heads of an even size");
  if (c.n_heads % c.n_kv_heads != 0) bad("n_heads must be a multiple of n_kv_heads");
  if (static_cast<int64_t>(c.dim) * c.hidden_dim > (int64_t{1} << 34) || c.seq_len > (1 << 20) ||
      c.vocab_size > (1 << 24)) {
    bad("implausibly large shapes");
  }
}

namespace {

size_t per_layer(const LlamaConfig& c, int rows, int cols) {
  return static_cast<size_t>(c.n_layers) * static_cast<size_t>(rows) * static_cast<size_t>(cols);
}

}  // namespace

LlamaModel load_checkpoint(const std::string& path) {
  const std::string bytes = read_file(path);
  Reader r(bytes, path);
  LlamaModel m;
  LlamaConfig& c = m.config;
  LlamaWeights& w = m.weights;
  const bool v1 = bytes.size() >= 8 && r.value<uint32_t>("magic") == kMagic;
  if (v1) {
    const int32_t version = r.value<int32_t>("version");
    if (version != 1) {
      throw InputError(path + ": llama2.c checkpoint version " + std::to_string(version) +
                       " (only fp32 version 1 and the legacy format are read)");
    }
  } else {
    r.seek(0);
  }
  c.dim = r.value<int32_t>("header");
  c.hidden_dim = r.value<int32_t>("header");
  c.n_layers = r.value<int32_t>("header");
  c.n_heads = r.value<int32_t>("header");
  c.n_kv_heads = r.value<int32_t>("header");
  const int32_t vocab = r.value<int32_t>("header");
  c.seq_len = r.value<int32_t>("header");
  if (v1) {
    c.vocab_size = vocab;
    c.shared_classifier = r.value<uint8_t>("header") != 0;
    r.skip(kV1HeaderBytes - 4 - 4 - 7 * 4 - 1, "the header's padding");
  } else {
    // Legacy: a negative vocabulary size flags a classifier of its own.
    if (vocab == std::numeric_limits<int32_t>::min())
      throw InputError(path + ": header: vocabulary size out of range");
    c.shared_classifier = vocab > 0;
    c.vocab_size = vocab < 0 ? -vocab : vocab;
  }
  check_llama_config(c, path);
  const size_t dim = static_cast<size_t>(c.dim);
  const size_t layers = static_cast<size_t>(c.n_layers);
  if (v1) {
    r.floats(&w.rms_att, layers * dim, "rms_att");
    r.floats(&w.rms_ffn, layers * dim, "rms_ffn");
    r.floats(&w.rms_final, dim, "rms_final");
    r.floats(&w.token_embedding, static_cast<size_t>(c.vocab_size) * dim, "token_embedding");
  } else {
    r.floats(&w.token_embedding, static_cast<size_t>(c.vocab_size) * dim, "token_embedding");
    r.floats(&w.rms_att, layers * dim, "rms_att");
  }
  r.floats(&w.wq, per_layer(c, c.dim, c.dim), "wq");
  r.floats(&w.wk, per_layer(c, c.kv_dim(), c.dim), "wk");
  r.floats(&w.wv, per_layer(c, c.kv_dim(), c.dim), "wv");
  r.floats(&w.wo, per_layer(c, c.dim, c.dim), "wo");
  if (!v1) r.floats(&w.rms_ffn, layers * dim, "rms_ffn");
  r.floats(&w.w1, per_layer(c, c.hidden_dim, c.dim), "w1");
  r.floats(&w.w2, per_layer(c, c.dim, c.hidden_dim), "w2");
  r.floats(&w.w3, per_layer(c, c.hidden_dim, c.dim), "w3");
  if (!v1) {
    r.floats(&w.rms_final, dim, "rms_final");
    // The legacy RoPE tables (cos and sin, seq_len x head_size / 2 each): computed instead, so skipped.
    r.skip(2 * static_cast<size_t>(c.seq_len) * static_cast<size_t>(c.head_size() / 2) * sizeof(float),
           "the legacy RoPE tables");
  }
  if (!c.shared_classifier) r.floats(&w.classifier, static_cast<size_t>(c.vocab_size) * dim, "classifier");
  if (r.left() != 0) {
    throw InputError(path + ": " + std::to_string(r.left()) +
                     " bytes after the last tensor: not a checkpoint of the shape its header gives");
  }
  return m;
}

void write_checkpoint_v1(const LlamaModel& m, const std::string& path) {
  std::string out;
  const auto put = [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  const auto put_i32 = [&](int32_t v) { put(&v, sizeof v); };
  const auto put_floats = [&](const std::vector<float>& v) { put(v.data(), v.size() * sizeof(float)); };
  const LlamaConfig& c = m.config;
  put(&kMagic, sizeof kMagic);
  put_i32(1);
  for (int32_t v : {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len}) put_i32(v);
  const uint8_t shared = c.shared_classifier ? 1 : 0;
  put(&shared, 1);
  out.resize(kV1HeaderBytes, '\0');
  const LlamaWeights& w = m.weights;
  for (const std::vector<float>* t : {&w.rms_att, &w.rms_ffn, &w.rms_final, &w.token_embedding, &w.wq, &w.wk,
                                      &w.wv, &w.wo, &w.w1, &w.w2, &w.w3}) {
    put_floats(*t);
  }
  if (!c.shared_classifier) put_floats(w.classifier);
  write_file_atomic(path, out);
}

}  // namespace npusim::decoder

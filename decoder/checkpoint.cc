// llama2.c checkpoints: the legacy layout (7-int32 header, tensors by kind with layers stacked, RoPE tables after
// the final norm) and version 1 (256-byte header, norms first, no RoPE tables).
#include <cstring>
#include <limits>

#include "common/error.h"
#include "common/files.h"
#include "decoder/byte_io.h"
#include "decoder/llama.h"

namespace npusim::decoder {

namespace {

constexpr uint32_t kMagic = 0x616b3432;  // "ak42"
constexpr size_t kV1HeaderBytes = 256;

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
  // Bounds that keep every tensor's element count well inside 64 bits (a header's sizes are untrusted; the file
  // must then hold what they give): dim, hidden_dim and n_layers at most 2^20, 2^22 and 2^12 (Llama-3-405B:
  // 16384, 53248, 126), seq_len 2^20, vocab 2^24.
  if (c.dim > (1 << 20) || c.hidden_dim > (1 << 22) || c.n_layers > (1 << 12) ||
      static_cast<int64_t>(c.dim) * c.hidden_dim > (int64_t{1} << 34) || c.seq_len > (1 << 20) ||
      c.vocab_size > (1 << 24)) {
    bad("implausibly large shapes (dim " + std::to_string(c.dim) + ", hidden " + std::to_string(c.hidden_dim) +
        ", layers " + std::to_string(c.n_layers) + ", vocab " + std::to_string(c.vocab_size) + ", seq_len " +
        std::to_string(c.seq_len) + "; at most 2^20, 2^22, 2^12, 2^24, 2^20 and dim x hidden 2^34)");
  }
}

namespace {

size_t per_layer(const LlamaConfig& c, int rows, int cols) {
  return static_cast<size_t>(c.n_layers) * static_cast<size_t>(rows) * static_cast<size_t>(cols);
}

}  // namespace

LlamaModel load_checkpoint(const std::string& path) {
  const std::string bytes = read_file(path);
  ByteReader r(bytes, path, "not a checkpoint of the shape its header gives");
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
    r.rewind();
  }
  const int32_t vocab = read_shape(r, &c);
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
    r.array(&w.rms_att, layers * dim, "rms_att");
    r.array(&w.rms_ffn, layers * dim, "rms_ffn");
    r.array(&w.rms_final, dim, "rms_final");
    r.array(&w.token_embedding, static_cast<size_t>(c.vocab_size) * dim, "token_embedding");
  } else {
    r.array(&w.token_embedding, static_cast<size_t>(c.vocab_size) * dim, "token_embedding");
    r.array(&w.rms_att, layers * dim, "rms_att");
  }
  r.array(&w.wq, per_layer(c, c.dim, c.dim), "wq");
  r.array(&w.wk, per_layer(c, c.kv_dim(), c.dim), "wk");
  r.array(&w.wv, per_layer(c, c.kv_dim(), c.dim), "wv");
  r.array(&w.wo, per_layer(c, c.dim, c.dim), "wo");
  if (!v1) r.array(&w.rms_ffn, layers * dim, "rms_ffn");
  r.array(&w.w1, per_layer(c, c.hidden_dim, c.dim), "w1");
  r.array(&w.w2, per_layer(c, c.dim, c.hidden_dim), "w2");
  r.array(&w.w3, per_layer(c, c.hidden_dim, c.dim), "w3");
  if (!v1) {
    r.array(&w.rms_final, dim, "rms_final");
    // The legacy RoPE tables (cos and sin, seq_len x head_size / 2 each): computed instead, so skipped.
    r.skip(2 * static_cast<size_t>(c.seq_len) * static_cast<size_t>(c.head_size() / 2) * sizeof(float),
           "the legacy RoPE tables");
  }
  if (!c.shared_classifier) r.array(&w.classifier, static_cast<size_t>(c.vocab_size) * dim, "classifier");
  if (r.left() != 0) {
    throw InputError(path + ": " + std::to_string(r.left()) +
                     " bytes after the last tensor: not a checkpoint of the shape its header gives");
  }
  return m;
}

void write_checkpoint_v1(const LlamaModel& m, const std::string& path) {
  ByteWriter out;
  const LlamaConfig& c = m.config;
  out.value(kMagic);
  out.value<int32_t>(1);
  write_shape(out, c);
  out.value<uint8_t>(c.shared_classifier ? 1 : 0);
  out.bytes.resize(kV1HeaderBytes, '\0');
  const LlamaWeights& w = m.weights;
  for (const std::vector<float>* t : {&w.rms_att, &w.rms_ffn, &w.rms_final, &w.token_embedding, &w.wq, &w.wk,
                                      &w.wv, &w.wo, &w.w1, &w.w2, &w.w3}) {
    out.array(*t);
  }
  if (!c.shared_classifier) out.array(w.classifier);
  write_file_atomic(path, out.bytes);
}

}  // namespace npusim::decoder

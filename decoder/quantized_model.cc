// A whole model quantized the any-precision way, its file format, and the ILinears that run it.
#include <cstring>

#include "common/error.h"
#include "common/files.h"
#include "decoder/byte_io.h"
#include "decoder/quantize.h"

namespace npusim::decoder {

namespace {

constexpr char kMagic[4] = {'N', 'P', 'A', 'Q'};
constexpr uint32_t kVersion = 1;

}  // namespace

QuantizedModel quantize_model(const LlamaModel& model, const std::vector<std::vector<float>>& importance,
                              int seed_bits, int parent_bits) {
  QuantizedModel q;
  q.base = model;
  q.seed_bits = seed_bits;
  q.parent_bits = parent_bits;
  for (int l = 0; l < model.config.n_layers; ++l) {
    for (int k = 0; k < kLinearsPerLayer; ++k) {
      const auto kind = static_cast<LinearKind>(k);
      int rows = 0, cols = 0;
      linear_shape(model.config, kind, &rows, &cols);
      const size_t slot = static_cast<size_t>(l) * kLinearsPerLayer + static_cast<size_t>(k);
      const std::vector<float> none;
      q.linears.push_back(quantize_anyprec(linear_weights(model, l, kind), rows, cols,
                                           slot < importance.size() ? importance[slot] : none, seed_bits,
                                           parent_bits));
    }
  }
  LlamaWeights& w = q.base.weights;
  for (std::vector<float>* t : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w1, &w.w2, &w.w3}) std::vector<float>().swap(*t);
  return q;
}

void save_quantized(const QuantizedModel& m, const std::string& path) {
  ByteWriter out;
  out.bytes.append(kMagic, sizeof kMagic);
  out.value(kVersion);
  const LlamaConfig& c = m.base.config;
  write_shape(out, c);
  out.value<uint8_t>(c.shared_classifier ? 1 : 0);
  out.value<int32_t>(m.seed_bits);
  out.value<int32_t>(m.parent_bits);
  const LlamaWeights& w = m.base.weights;
  for (const std::vector<float>* t : {&w.rms_att, &w.rms_ffn, &w.rms_final, &w.token_embedding, &w.classifier}) {
    out.array(*t);
  }
  for (const AnyPrecLinear& l : m.linears) {
    out.value<int32_t>(l.rows);
    out.value<int32_t>(l.cols);
    out.array(l.planes);
    for (const std::vector<uint16_t>& t : l.tables) out.array(t);
  }
  write_file_atomic(path, out.bytes);
}

QuantizedModel load_quantized(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw InputError(path + ": not an any-precision model (.npaq files start with NPAQ)");
  }
  ByteReader in(bytes, path, "a truncated .npaq file");
  in.value<uint32_t>("the magic");
  const uint32_t version = in.value<uint32_t>("the version");
  if (version != kVersion) {
    throw InputError(path + ": .npaq version " + std::to_string(version) + " (this npusim reads version " +
                     std::to_string(kVersion) + ")");
  }
  QuantizedModel m;
  LlamaConfig& c = m.base.config;
  read_shape(in, &c);
  c.shared_classifier = in.value<uint8_t>("the header") != 0;
  m.seed_bits = in.value<int32_t>("the header");
  m.parent_bits = in.value<int32_t>("the header");
  check_llama_config(c, path);
  if (m.seed_bits < 1 || m.parent_bits < m.seed_bits || m.parent_bits > 8) {
    throw InputError(path + ": header: seed bits " + std::to_string(m.seed_bits) + " and parent bits " +
                     std::to_string(m.parent_bits) + " (expected 1 <= seed <= parent <= 8)");
  }
  const auto n = [](int v) { return static_cast<size_t>(v); };
  LlamaWeights& w = m.base.weights;
  in.array(&w.rms_att, n(c.n_layers) * n(c.dim), "rms_att");
  in.array(&w.rms_ffn, n(c.n_layers) * n(c.dim), "rms_ffn");
  in.array(&w.rms_final, n(c.dim), "rms_final");
  in.array(&w.token_embedding, n(c.vocab_size) * n(c.dim), "token_embedding");
  in.array(&w.classifier, c.shared_classifier ? 0 : n(c.vocab_size) * n(c.dim), "classifier");
  for (int l = 0; l < c.n_layers; ++l) {
    for (int k = 0; k < kLinearsPerLayer; ++k) {
      const std::string what = "layer " + std::to_string(l) + " linear " + std::to_string(k);
      AnyPrecLinear a;
      a.rows = in.value<int32_t>(what);
      a.cols = in.value<int32_t>(what);
      int rows = 0, cols = 0;
      linear_shape(c, static_cast<LinearKind>(k), &rows, &cols);
      if (a.rows != rows || a.cols != cols) {
        throw InputError(path + ": " + what + " is " + std::to_string(a.rows) + " x " + std::to_string(a.cols) +
                         ", the header's shape needs " + std::to_string(rows) + " x " + std::to_string(cols));
      }
      a.seed_bits = m.seed_bits;
      a.parent_bits = m.parent_bits;
      in.array(&a.planes, n(rows) * n(m.parent_bits) * n(a.words_per_plane()), what + " planes");
      for (int b = m.seed_bits; b <= m.parent_bits; ++b) {
        a.tables.emplace_back();
        in.array(&a.tables.back(), n(rows) << b, what + " tables");
        // The kernels multiply unused padding entries by 0: an inf or NaN centroid would poison the row.
        for (size_t i = 0; i < a.tables.back().size(); ++i) {
          if ((a.tables.back()[i] & 0x7c00u) == 0x7c00u) {
            throw InputError(path + ": " + what + ", " + std::to_string(b) + "-bit table, row " +
                             std::to_string(i >> b) + ": entry " + std::to_string(i & ((size_t{1} << b) - 1)) +
                             " is inf or NaN (expected finite fp16 centroids)");
          }
        }
      }
      m.linears.push_back(std::move(a));
    }
  }
  if (in.left() != 0) throw InputError(path + ": " + std::to_string(in.left()) + " bytes after the last table");
  return m;
}

AnyPrecLinears::AnyPrecLinears(const QuantizedModel& model, int bits) : model_(model) {
  set_bits(bits);
}

void AnyPrecLinears::set_bits(int bits) {
  if (bits < model_.seed_bits || bits > model_.parent_bits) {
    throw InputError("anyprec: the model holds " + std::to_string(model_.seed_bits) + " to " +
                     std::to_string(model_.parent_bits) + " bits, not " + std::to_string(bits));
  }
  bits_ = bits;
}

void AnyPrecLinears::matvec(int layer, LinearKind kind, const float* x, float* out) {
  model_.linear(layer, kind).matvec(x, out, bits_);
}

UniformLinears::UniformLinears(const LlamaModel& model, int bits, int group) {
  for (int l = 0; l < model.config.n_layers; ++l) {
    for (int k = 0; k < kLinearsPerLayer; ++k) {
      int rows = 0, cols = 0;
      linear_shape(model.config, static_cast<LinearKind>(k), &rows, &cols);
      linears_.push_back(
          quantize_uniform(linear_weights(model, l, static_cast<LinearKind>(k)), rows, cols, bits, group));
    }
  }
}

void UniformLinears::matvec(int layer, LinearKind kind, const float* x, float* out) {
  linears_[static_cast<size_t>(layer) * kLinearsPerLayer + static_cast<size_t>(kind)].matvec(x, out);
}

}  // namespace npusim::decoder

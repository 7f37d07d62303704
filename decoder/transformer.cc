// The fp32 forward pass, operation for operation as llama2.c's forward(), with sums in the same order so that the
// greedy output reproduces llama2.c's token for token.
#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "decoder/llama.h"

namespace npusim::decoder {

namespace {

void rmsnorm(float* out, const float* x, const float* weight, int size) {
  float ss = 0.0f;
  for (int j = 0; j < size; ++j) ss += x[j] * x[j];
  ss /= static_cast<float>(size);
  ss += 1e-5f;
  ss = 1.0f / std::sqrt(ss);
  for (int j = 0; j < size; ++j) out[j] = weight[j] * (ss * x[j]);
}

void softmax(float* x, int size) {
  float max_val = x[0];
  for (int i = 1; i < size; ++i) max_val = std::max(max_val, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < size; ++i) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < size; ++i) x[i] /= sum;
}

// out[d] = W[d][n] . x[n]
void matmul(float* out, const float* x, const float* w, int n, int d) {
  for (int i = 0; i < d; ++i) {
    float val = 0.0f;
    const float* row = w + static_cast<size_t>(i) * static_cast<size_t>(n);
    for (int j = 0; j < n; ++j) val += row[j] * x[j];
    out[i] = val;
  }
}

}  // namespace

void linear_shape(const LlamaConfig& c, LinearKind kind, int* rows, int* cols) {
  switch (kind) {
    case LinearKind::kQ:
    case LinearKind::kO:
      *rows = c.dim, *cols = c.dim;
      return;
    case LinearKind::kK:
    case LinearKind::kV:
      *rows = c.kv_dim(), *cols = c.dim;
      return;
    case LinearKind::kW1:
    case LinearKind::kW3:
      *rows = c.hidden_dim, *cols = c.dim;
      return;
    case LinearKind::kW2:
      *rows = c.dim, *cols = c.hidden_dim;
      return;
  }
}

const float* linear_weights(const LlamaModel& model, int layer, LinearKind kind) {
  const LlamaWeights& w = model.weights;
  int rows = 0, cols = 0;
  linear_shape(model.config, kind, &rows, &cols);
  const size_t offset = static_cast<size_t>(layer) * static_cast<size_t>(rows) * static_cast<size_t>(cols);
  switch (kind) {
    case LinearKind::kQ:
      return w.wq.data() + offset;
    case LinearKind::kK:
      return w.wk.data() + offset;
    case LinearKind::kV:
      return w.wv.data() + offset;
    case LinearKind::kO:
      return w.wo.data() + offset;
    case LinearKind::kW1:
      return w.w1.data() + offset;
    case LinearKind::kW2:
      return w.w2.data() + offset;
    case LinearKind::kW3:
      return w.w3.data() + offset;
  }
  return nullptr;
}

void Fp32Linears::matvec(int layer, LinearKind kind, const float* x, float* out) {
  int rows = 0, cols = 0;
  linear_shape(model_.config, kind, &rows, &cols);
  if (!square_sums_.empty()) {
    const size_t slot = static_cast<size_t>(layer) * kLinearsPerLayer + static_cast<size_t>(kind);
    std::vector<double>& sums = square_sums_[slot];
    for (int c = 0; c < cols; ++c) sums[static_cast<size_t>(c)] += static_cast<double>(x[c]) * x[c];
    ++counts_[slot];
  }
  matmul(out, x, linear_weights(model_, layer, kind), cols, rows);
}

void Fp32Linears::start_calibration() {
  square_sums_.assign(static_cast<size_t>(model_.config.n_layers) * kLinearsPerLayer, {});
  counts_.assign(square_sums_.size(), 0);
  for (int l = 0; l < model_.config.n_layers; ++l) {
    for (int k = 0; k < kLinearsPerLayer; ++k) {
      int rows = 0, cols = 0;
      linear_shape(model_.config, static_cast<LinearKind>(k), &rows, &cols);
      square_sums_[static_cast<size_t>(l) * kLinearsPerLayer + static_cast<size_t>(k)].assign(
          static_cast<size_t>(cols), 0.0);
    }
  }
}

std::vector<float> Fp32Linears::second_moments(int layer, LinearKind kind) const {
  const size_t slot = static_cast<size_t>(layer) * kLinearsPerLayer + static_cast<size_t>(kind);
  if (square_sums_.empty() || counts_[slot] == 0) return {};
  std::vector<float> m;
  for (double v : square_sums_[slot]) m.push_back(static_cast<float>(v / static_cast<double>(counts_[slot])));
  return m;
}

Transformer::Transformer(const LlamaModel& model) : Transformer(model, nullptr) {}

Transformer::Transformer(const LlamaModel& model, ILinears* linears)
    : model_(model), fp32_(model), linears_(linears ? linears : &fp32_) {
  const LlamaConfig& c = model.config;
  const auto n = [](int v) { return static_cast<size_t>(v); };
  x_.resize(n(c.dim));
  xb_.resize(n(c.dim));
  xb2_.resize(n(c.dim));
  hb_.resize(n(c.hidden_dim));
  hb2_.resize(n(c.hidden_dim));
  q_.resize(n(c.dim));
  att_.resize(n(c.n_heads) * n(c.seq_len));
  logits_.resize(n(c.vocab_size));
  rope_cos_.resize(n(c.head_size() / 2));
  rope_sin_.resize(n(c.head_size() / 2));
  key_cache_.resize(n(c.n_layers) * n(c.seq_len) * n(c.kv_dim()));
  value_cache_.resize(key_cache_.size());
}

const std::vector<float>& Transformer::forward(int token, int pos) {
  const LlamaConfig& c = model_.config;
  const LlamaWeights& w = model_.weights;
  if (token < 0 || token >= c.vocab_size)
    throw InputError("forward: token " + std::to_string(token) + " is not in the vocabulary");
  if (pos < 0 || pos >= c.seq_len)
    throw InputError("forward: position " + std::to_string(pos) + " is past seq_len " + std::to_string(c.seq_len));
  const int dim = c.dim, kv_dim = c.kv_dim(), hidden = c.hidden_dim, head_size = c.head_size();
  const int kv_mul = c.n_heads / c.n_kv_heads;
  const auto at = [](int a, int b) { return static_cast<size_t>(a) * static_cast<size_t>(b); };
  float* x = x_.data();
  std::copy_n(w.token_embedding.data() + at(token, dim), dim, x);
  // The rotation angles depend on the position and the place in a head only: once per position, not per layer
  // (the same float expressions as llama2.c's, so the results are unchanged).
  for (int j = 0; j < head_size / 2; ++j) {
    const float freq = 1.0f / std::pow(10000.0f, static_cast<float>(2 * j) / static_cast<float>(head_size));
    const float val = static_cast<float>(pos) * freq;
    rope_cos_[static_cast<size_t>(j)] = std::cos(val);
    rope_sin_[static_cast<size_t>(j)] = std::sin(val);
  }
  for (int l = 0; l < c.n_layers; ++l) {
    rmsnorm(xb_.data(), x, w.rms_att.data() + at(l, dim), dim);
    const size_t cache_at = at(l, c.seq_len) * static_cast<size_t>(kv_dim) + at(pos, kv_dim);
    float* k = key_cache_.data() + cache_at;
    float* v = value_cache_.data() + cache_at;
    linears_->matvec(l, LinearKind::kQ, xb_.data(), q_.data());
    linears_->matvec(l, LinearKind::kK, xb_.data(), k);
    linears_->matvec(l, LinearKind::kV, xb_.data(), v);
    // RoPE: rotate each pair (i, i+1) of every head by pos x 10000^(-(i mod head_size) / head_size).
    for (int i = 0; i < dim; i += 2) {
      const float fcr = rope_cos_[static_cast<size_t>((i % head_size) / 2)];
      const float fci = rope_sin_[static_cast<size_t>((i % head_size) / 2)];
      const int rotations = i < kv_dim ? 2 : 1;  // q always, k while i is inside it
      for (int r = 0; r < rotations; ++r) {
        float* vec = r == 0 ? q_.data() : k;
        const float v0 = vec[i], v1 = vec[i + 1];
        vec[i] = v0 * fcr - v1 * fci;
        vec[i + 1] = v0 * fci + v1 * fcr;
      }
    }
    // Attention, each query head against its KV head's cache.
    const size_t layer_cache = at(l, c.seq_len) * static_cast<size_t>(kv_dim);
    for (int h = 0; h < c.n_heads; ++h) {
      const float* q = q_.data() + at(h, head_size);
      float* att = att_.data() + at(h, c.seq_len);
      for (int t = 0; t <= pos; ++t) {
        const float* kt = key_cache_.data() + layer_cache + at(t, kv_dim) + at(h / kv_mul, head_size);
        float score = 0.0f;
        for (int i = 0; i < head_size; ++i) score += q[i] * kt[i];
        att[t] = score / std::sqrt(static_cast<float>(head_size));
      }
      softmax(att, pos + 1);
      float* out = xb_.data() + at(h, head_size);
      std::fill_n(out, head_size, 0.0f);
      for (int t = 0; t <= pos; ++t) {
        const float* vt = value_cache_.data() + layer_cache + at(t, kv_dim) + at(h / kv_mul, head_size);
        for (int i = 0; i < head_size; ++i) out[i] += att[t] * vt[i];
      }
    }
    linears_->matvec(l, LinearKind::kO, xb_.data(), xb2_.data());
    for (int i = 0; i < dim; ++i) x[i] += xb2_[static_cast<size_t>(i)];
    // SwiGLU feed-forward.
    rmsnorm(xb_.data(), x, w.rms_ffn.data() + at(l, dim), dim);
    linears_->matvec(l, LinearKind::kW1, xb_.data(), hb_.data());
    linears_->matvec(l, LinearKind::kW3, xb_.data(), hb2_.data());
    for (int i = 0; i < hidden; ++i) {
      float val = hb_[static_cast<size_t>(i)];
      val *= 1.0f / (1.0f + std::exp(-val));
      hb_[static_cast<size_t>(i)] = val * hb2_[static_cast<size_t>(i)];
    }
    linears_->matvec(l, LinearKind::kW2, hb_.data(), xb_.data());
    for (int i = 0; i < dim; ++i) x[i] += xb_[static_cast<size_t>(i)];
  }
  rmsnorm(x, x, w.rms_final.data(), dim);
  matmul(logits_.data(), x, w.lm_head(), dim, c.vocab_size);
  return logits_;
}

}  // namespace npusim::decoder

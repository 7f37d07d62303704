// Lowering of one phase (a prefill, or one decode step) to an ordered operator list with exact byte and MAC
// counts.
//
// Per decoder layer, sequential block (llama, stablelm; parallel_block false):
//   input_norm; attn.q_proj (K = hidden, N = heads*head_dim); attn.k_proj and attn.v_proj (N = kv_heads*head_dim);
//   attn.rope (q and k, rotary_fraction of head_dim); attn.kv_write (the new K and V); attn.score (Q.K^T per
//   head); attn.softmax; attn.value (P.V per head); attn.o_proj (K = heads*head_dim, N = hidden); attn_residual;
//   post_attention_norm; mlp.gate_proj and mlp.up_proj (hidden -> intermediate); mlp.act (SiLU(gate)*up);
//   mlp.down_proj (intermediate -> hidden); mlp_residual.
// Parallel block (phi): input_norm; q/k/v, rope, kv_write, score, softmax, value, attn.dense; the MLP on the same
//   normed input: mlp.fc1 (hidden -> intermediate), mlp.act (GELU), mlp.fc2; one residual op summing attention
//   output, MLP output and the residual stream. (A swiglu MLP in a parallel block, StableLM's
//   use_parallel_residual, lowers the same way with gate/up/down.)
// Around the stack: embed (one fp16 row per token) before it; final_norm and lm_head (K = hidden, N = vocab)
// after.
//
// Bytes: only decoder linears take the configured format: weight_bytes = format.code_bytes(K, N), table_bytes =
// format.table_bytes(K, N), bias_bytes = N*2 when biased. lm_head is fp16 unless options.quantize_lm_head; the
// embedding and the norms are always fp16. MACs of a linear = tokens*K*N; its bias add is fused into the MAC
// array's accumulator drain, so it adds no vector-unit work.
//
// Attention in a decode step with context C (cache entries including the current token): score and value each do
// heads*C*head_dim MACs. The K and V of the previous C-1 tokens are read from DRAM (K on the score op, V on the
// value op, kv_heads*head_dim*(C-1)*kv_bits/8 bytes each); the current token's K and V were just computed and are
// still on chip, so they are not read back. kv_write stores the new token's K and V (2*kv_heads*head_dim*kv_bits/8
// bytes).
// Attention in a prefill of T tokens: score entries per head are T*(T+1)/2 when causal_prefill (else T*T), and
// score and value each do heads*entries*head_dim MACs. The prompt's K and V are produced on chip and consumed from
// there, so prefill attention reads nothing from DRAM unless the activation plan finds that they do not fit
// (activation_plan.cc: then the FlashAttention schedule reads them back from the cache); kv_write stores all T
// tokens' K and V for the decode steps that follow.
//
// Every operator also names the activations it reads and writes (Op::reads, Op::writes); the activation plan
// decides, from the NPU's SRAM capacities in the options, which stay on chip and inserts the DRAM traffic of
// those that do not.
#include <cmath>
#include <initializer_list>
#include <stdexcept>

#include "common/error.h"
#include "workloads/workloads.h"

namespace npusim::workloads {
namespace {

constexpr uint64_t kFp16Bytes = 2;
constexpr uint64_t kKvTensors = 2;  // K and V

// A linear's bytes and MACs from its shape (format and tokens already set).
void shape_linear(Op* op, uint64_t k, uint64_t n, bool biased) {
  op->k = k;
  op->n = n;
  op->weight_bytes = op->format.code_bytes(k, n);
  op->table_bytes = op->format.table_bytes(k, n);
  op->bias_bytes = biased ? n * kFp16Bytes : 0;
  op->macs = op->tokens * k * n;
}

// Vector-unit work: each vector operator records the elements it sweeps and which function it computes; the NPU
// config declares each function's passes over those elements and cycles per element (hw_models/config.cc).

// The class of an operator of `kind` (linears are classed by their role, see linear()).
OpClass class_of_kind(OpKind kind) {
  switch (kind) {
    case OpKind::kEmbedding:
      return OpClass::kEmbedding;
    case OpKind::kAttentionScore:
      return OpClass::kAttentionScore;
    case OpKind::kAttentionValue:
      return OpClass::kAttentionValue;
    case OpKind::kKvWrite:
      return OpClass::kKvWrite;
    case OpKind::kSpillRead:
    case OpKind::kSpillWrite:
      return OpClass::kSpill;
    default:
      return OpClass::kVector;
  }
}

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}
uint64_t u(int64_t v) {
  return static_cast<uint64_t>(v);
}

// Rotated elements per head: HF computes int(partial_rotary_factor * head_dim); the epsilon absorbs the binary
// rounding of fractions such as 0.25 * 80.
uint64_t rotary_dim(const ModelShape& m) {
  return static_cast<uint64_t>(std::floor(m.rotary_fraction * static_cast<double>(m.head_dim) + 1e-9));
}

// Attention extent of one phase.
struct AttentionSpan {
  uint64_t tokens;          // query rows (T in prefill, 1 in decode)
  uint64_t context;         // cache entries attended (T in prefill, C in decode)
  uint64_t score_entries;   // score matrix entries per head
  uint64_t kv_read_tokens;  // cache entries per K (and per V) read from DRAM
};

class Lowerer {
 public:
  static constexpr size_t kOpsPerLayer = 20;  // a sequential llama block's operators (a phi block has fewer)

  Lowerer(const ModelShape& m, const PrecisionFormat& f, const LoweringOptions& o) : m_(m), f_(f), o_(o) {
    if (m.hidden_size < 1 || m.intermediate_size < 1 || m.num_layers < 1 || m.num_heads < 1 ||
        m.num_kv_heads < 1 || m.head_dim < 1 || m.vocab_size < 1) {
      throw InputError("model '" + m.name + "': shape is incomplete (load it with load_model)");
    }
    if (o.kv_cache_bits < 1 || o.kv_cache_bits > 32) {
      throw InputError("kv_cache_bits: " + std::to_string(o.kv_cache_bits) + " is out of range [1, 32]");
    }
    ops_.reserve(static_cast<size_t>(m.num_layers) * kOpsPerLayer + 4);  // an Op is large: no regrowth
  }

  void embed(uint64_t tokens) {
    Op& op = add("embed", OpKind::kEmbedding, -1, tokens);
    op.k = u(m_.vocab_size);
    op.n = u(m_.hidden_size);
    op.embedding_bytes = tokens * u(m_.hidden_size) * kFp16Bytes;
    op.writes = {act(Activation::kStream, tokens, u(m_.hidden_size))};
  }

  void layer(int i, const AttentionSpan& a) {
    const std::string p = "layer." + std::to_string(i) + ".";
    const uint64_t hidden = u(m_.hidden_size), q_width = u(m_.num_heads * m_.head_dim);
    const uint64_t kv_width = u(m_.num_kv_heads * m_.head_dim), t = a.tokens;
    // Llama's attention_bias also covers o_proj and Phi's covers dense; StableLM's use_qkv_bias does not.
    const bool out_bias = m_.attention_bias && m_.architecture != "stablelm";

    norm(p + "input_norm", i, t);
    linear(p + "attn.q_proj", OpClass::kQkv, i, t, hidden, q_width, f_, m_.attention_bias, Activation::kNormed,
           Activation::kQ);
    linear(p + "attn.k_proj", OpClass::kQkv, i, t, hidden, kv_width, f_, m_.attention_bias, Activation::kNormed,
           Activation::kK);
    linear(p + "attn.v_proj", OpClass::kQkv, i, t, hidden, kv_width, f_, m_.attention_bias, Activation::kNormed,
           Activation::kV);
    const ActivationUse q = act(Activation::kQ, t, q_width), k = act(Activation::kK, t, kv_width);
    const ActivationUse v = act(Activation::kV, t, kv_width);
    const uint64_t rotated = rotary_dim(m_);
    if (rotated > 0) {
      Op& op = add(p + "attn.rope", OpKind::kRope, i, t);
      op.k = rotated;
      op.heads = u(m_.num_heads + m_.num_kv_heads);
      op.vector_function = VectorFunction::kRope;
      op.vector_elements = t * op.heads * rotated;
      op.reads = {q, k};  // rotated in place
      op.writes = {q, k};
    }
    Op& write = attention_op(p + "attn.kv_write", OpKind::kKvWrite, i, a);
    write.heads = u(m_.num_kv_heads);
    write.kv_write_bytes = kKvTensors * kv_bytes(t);
    write.reads = {k, v};
    Op& score = attention_op(p + "attn.score", OpKind::kAttentionScore, i, a);
    score.macs = u(m_.num_heads) * a.score_entries * u(m_.head_dim);
    score.kv_read_bytes = kv_bytes(a.kv_read_tokens);
    score.reads = {q, k};
    Op& softmax = attention_op(p + "attn.softmax", OpKind::kSoftmax, i, a);
    softmax.vector_function = VectorFunction::kSoftmax;
    softmax.vector_elements = u(m_.num_heads) * a.score_entries;
    Op& value = attention_op(p + "attn.value", OpKind::kAttentionValue, i, a);
    value.macs = u(m_.num_heads) * a.score_entries * u(m_.head_dim);
    value.kv_read_bytes = kv_bytes(a.kv_read_tokens);
    value.reads = {v};
    value.writes = {act(Activation::kAttnOut, t, q_width)};
    linear(p + (m_.architecture == "phi" ? "attn.dense" : "attn.o_proj"), OpClass::kOutProj, i, t, q_width, hidden,
           f_, out_bias, Activation::kAttnOut, Activation::kProjOut);

    if (m_.parallel_block) {
      mlp(p, i, t);
      // Residual stream + attention output + MLP output: two adds per element.
      residual(p + "residual", i, t, {Activation::kProjOut, Activation::kMlpOut});
    } else {
      residual(p + "attn_residual", i, t, {Activation::kProjOut});
      norm(p + "post_attention_norm", i, t);
      mlp(p, i, t);
      residual(p + "mlp_residual", i, t, {Activation::kMlpOut});
    }
  }

  void head(uint64_t tokens) {
    norm("final_norm", -1, tokens);
    const PrecisionFormat lm_format = o_.quantize_lm_head ? f_ : PrecisionFormat::fp16();
    linear("lm_head", OpClass::kLmHead, -1, tokens, u(m_.hidden_size), u(m_.vocab_size), lm_format,
           m_.lm_head_bias, Activation::kNormed, Activation::kLogits);
  }

  std::vector<Op> take() { return plan_activations(std::move(ops_), m_, o_); }

 private:
  Op& add(std::string name, OpKind kind, int layer, uint64_t tokens) {
    Op op;
    op.name = std::move(name);
    op.kind = kind;
    op.layer = layer;
    op.tokens = tokens;
    op.op_class = class_of_kind(kind);
    ops_.push_back(std::move(op));
    return ops_.back();
  }

  // An activation of `tokens` rows of `width` fp16 elements.
  static ActivationUse act(Activation a, uint64_t tokens, uint64_t width) {
    return {a, tokens * width * kFp16Bytes};
  }

  void linear(std::string name, OpClass op_class, int layer, uint64_t tokens, uint64_t k, uint64_t n,
              const PrecisionFormat& format, bool biased, Activation in, Activation out) {
    Op& op = add(std::move(name), OpKind::kLinear, layer, tokens);
    op.op_class = op_class;
    op.format = format;
    shape_linear(&op, k, n, biased);
    op.reads = {act(in, tokens, k)};
    op.writes = {act(out, tokens, n)};
  }

  // Norm weights (and LayerNorm's bias) are fp16 vectors streamed like biases, so they count as bias_bytes.
  void norm(std::string name, int layer, uint64_t tokens) {
    const bool layernorm = m_.norm == "layernorm";
    Op& op = add(std::move(name), OpKind::kNorm, layer, tokens);
    op.k = u(m_.hidden_size);
    op.bias_bytes = (layernorm ? 2 : 1) * u(m_.hidden_size) * kFp16Bytes;
    op.vector_function = layernorm ? VectorFunction::kLayerNorm : VectorFunction::kRmsNorm;
    op.vector_elements = tokens * u(m_.hidden_size);
    op.reads = {act(Activation::kStream, tokens, u(m_.hidden_size))};
    op.writes = {act(Activation::kNormed, tokens, u(m_.hidden_size))};
  }

  void mlp(const std::string& p, int i, uint64_t t) {
    const uint64_t hidden = u(m_.hidden_size), inter = u(m_.intermediate_size);
    const bool gelu = m_.mlp == "gelu";
    if (gelu) {
      linear(p + "mlp.fc1", OpClass::kMlp, i, t, hidden, inter, f_, m_.mlp_bias, Activation::kNormed,
             Activation::kGate);
    } else {
      linear(p + "mlp.gate_proj", OpClass::kMlp, i, t, hidden, inter, f_, m_.mlp_bias, Activation::kNormed,
             Activation::kGate);
      linear(p + "mlp.up_proj", OpClass::kMlp, i, t, hidden, inter, f_, m_.mlp_bias, Activation::kNormed,
             Activation::kUp);
    }
    Op& fn = add(p + "mlp.act", OpKind::kActivation, i, t);
    fn.k = inter;
    fn.vector_function = gelu ? VectorFunction::kGelu : VectorFunction::kSwiGlu;
    fn.vector_elements = t * inter;
    fn.reads = {act(Activation::kGate, t, inter)};
    if (!gelu) fn.reads[1] = act(Activation::kUp, t, inter);
    fn.writes = {act(Activation::kAct, t, inter)};
    linear(p + (gelu ? "mlp.fc2" : "mlp.down_proj"), OpClass::kMlp, i, t, inter, hidden, f_, m_.mlp_bias,
           Activation::kAct, Activation::kMlpOut);
  }

  // The residual stream plus `addends`, in place.
  void residual(std::string name, int layer, uint64_t tokens, std::initializer_list<Activation> addends) {
    Op& op = add(std::move(name), OpKind::kResidual, layer, tokens);
    op.k = u(m_.hidden_size);
    op.vector_function = VectorFunction::kResidualAdd;
    op.vector_elements = tokens * u(m_.hidden_size) * addends.size();
    const ActivationUse stream = act(Activation::kStream, tokens, u(m_.hidden_size));
    op.reads = {stream};
    size_t slot = 1;
    for (const Activation a : addends) op.reads[slot++] = act(a, tokens, u(m_.hidden_size));
    op.writes = {stream};
  }

  Op& attention_op(std::string name, OpKind kind, int layer, const AttentionSpan& a) {
    Op& op = add(std::move(name), kind, layer, a.tokens);
    op.k = u(m_.head_dim);
    op.n = a.context;
    op.heads = u(m_.num_heads);
    return op;
  }

  // Bytes of one of K or V for `tokens` cache entries of one layer, rounded up to whole bytes.
  uint64_t kv_bytes(uint64_t tokens) const {
    return ceil_div(u(m_.num_kv_heads * m_.head_dim) * tokens * static_cast<uint64_t>(o_.kv_cache_bits), 8);
  }

  const ModelShape& m_;
  const PrecisionFormat& f_;
  const LoweringOptions& o_;
  std::vector<Op> ops_;
};

}  // namespace

const char* op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kEmbedding:
      return "embedding";
    case OpKind::kLinear:
      return "linear";
    case OpKind::kAttentionScore:
      return "attention_score";
    case OpKind::kAttentionValue:
      return "attention_value";
    case OpKind::kKvWrite:
      return "kv_write";
    case OpKind::kNorm:
      return "norm";
    case OpKind::kRope:
      return "rope";
    case OpKind::kSoftmax:
      return "softmax";
    case OpKind::kActivation:
      return "activation";
    case OpKind::kResidual:
      return "residual";
    case OpKind::kSpillRead:
      return "spill_read";
    case OpKind::kSpillWrite:
      return "spill_write";
  }
  return "unknown";
}

std::vector<Op> lower_prefill(const ModelShape& model, const PrecisionFormat& format, uint64_t prompt_tokens,
                              const LoweringOptions& options) {
  if (prompt_tokens < 1) throw InputError("prefill: prompt_tokens must be at least 1");
  Lowerer l(model, format, options);
  const uint64_t t = prompt_tokens;
  const AttentionSpan span{t, t, options.causal_prefill ? t * (t + 1) / 2 : t * t, 0};
  l.embed(t);
  for (int i = 0; i < model.num_layers; ++i) l.layer(i, span);
  // Only the last token's logits pick the first generated token; its final norm is all that lm_head needs.
  l.head(options.lm_head_last_token_only ? 1 : t);
  return l.take();
}

std::vector<Op> lower_decode_step(const ModelShape& model, const PrecisionFormat& format, uint64_t context_tokens,
                                  const LoweringOptions& options) {
  if (context_tokens < 1) throw InputError("decode step: context_tokens must be at least 1 (the token itself)");
  Lowerer l(model, format, options);
  const AttentionSpan span{1, context_tokens, context_tokens, context_tokens - 1};
  l.embed(1);
  for (int i = 0; i < model.num_layers; ++i) l.layer(i, span);
  l.head(1);
  return l.take();
}

const char* vector_function_name(VectorFunction f) {
  switch (f) {
    case VectorFunction::kNone:
      return "none";
    case VectorFunction::kRmsNorm:
      return "rmsnorm";
    case VectorFunction::kLayerNorm:
      return "layernorm";
    case VectorFunction::kRope:
      return "rope";
    case VectorFunction::kSoftmax:
      return "softmax";
    case VectorFunction::kSwiGlu:
      return "swiglu";
    case VectorFunction::kGelu:
      return "gelu";
    case VectorFunction::kResidualAdd:
      return "residual_add";
  }
  return "unknown";
}

bool elementwise(VectorFunction f) {
  return f == VectorFunction::kRope || f == VectorFunction::kSwiGlu || f == VectorFunction::kGelu ||
         f == VectorFunction::kResidualAdd;
}

const char* op_class_name(OpClass c) {
  switch (c) {
    case OpClass::kEmbedding:
      return "embedding";
    case OpClass::kQkv:
      return "qkv";
    case OpClass::kAttentionScore:
      return "attn_score";
    case OpClass::kAttentionValue:
      return "attn_value";
    case OpClass::kKvWrite:
      return "kv_write";
    case OpClass::kOutProj:
      return "o_proj";
    case OpClass::kMlp:
      return "mlp";
    case OpClass::kLmHead:
      return "lm_head";
    case OpClass::kVector:
      return "vector";
    case OpClass::kSpill:
      return "spill";
  }
  return "unknown";
}

OpTotals sum_ops(const std::vector<Op>& ops) {
  OpTotals t;
  for (const Op& op : ops) {
    t.weight_bytes += op.weight_bytes;
    t.table_bytes += op.table_bytes;
    t.bias_bytes += op.bias_bytes;
    t.embedding_bytes += op.embedding_bytes;
    t.kv_read_bytes += op.kv_read_bytes;
    t.kv_write_bytes += op.kv_write_bytes;
    t.macs += op.macs;
    t.vector_elements += op.vector_elements;
    t.spill_read_bytes += op.spill_read_bytes;
    t.spill_write_bytes += op.spill_write_bytes;
    t.sram_activation_read_bytes += op.sram_activation_read_bytes;
    t.sram_activation_write_bytes += op.sram_activation_write_bytes;
  }
  return t;
}

uint64_t decoder_linear_params(const ModelShape& m) {
  const uint64_t hidden = u(m.hidden_size), q_width = u(m.num_heads * m.head_dim);
  const uint64_t kv_width = u(m.num_kv_heads * m.head_dim);
  // q and o are hidden x q_width; k and v are hidden x kv_width; the MLP has 3 (swiglu) or 2 (gelu) hidden x
  // intermediate matrices.
  const uint64_t attention = 2 * hidden * q_width + 2 * hidden * kv_width;
  const uint64_t mlp = (m.mlp == "gelu" ? 2 : 3) * hidden * u(m.intermediate_size);
  return u(m.num_layers) * (attention + mlp);
}

Op with_rows(const Op& linear, uint64_t rows) {
  if (linear.kind != OpKind::kLinear || rows == 0 || rows > linear.n) {
    throw std::logic_error("with_rows: expected a linear and 1 to n rows");
  }
  Op op = linear;
  shape_linear(&op, linear.k, rows, linear.bias_bytes > 0);
  // Its rows' share of the output (the input is read whole whatever the rows).
  op.writes[0].bytes = linear.writes[0].bytes / linear.n * rows;
  op.sram_activation_write_bytes = linear.sram_activation_write_bytes / linear.n * rows;
  return op;
}

}  // namespace npusim::workloads

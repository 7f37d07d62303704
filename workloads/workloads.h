// Public header of workloads/: LLM shapes (from our YAML or a Hugging Face config.json), weight precision formats,
// and the lowering of one phase (a prefill or one decode step) to an ordered operator list with exact byte and
// MAC counts. hw_models/ executes these lists; nothing here knows about time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace npusim {
class ConfigSection;
}

namespace npusim::workloads {

// ---------------------------------------------------------------------------------------------------------------
// Precision formats of a linear layer's weights (K inputs, N outputs), as in DESIGN.md:
//   fp16        16 bits a weight: N*K*2 bytes.
//   uniform:k   integer codes, per-group fp16 scale and zero: N*K*k/8 bytes of codes + N*(K/g)*4 bytes of groups.
//   anyprec:k   nested non-uniform codes read as k bitplanes of a parent model: N*K*k/8 bytes of planes +
//               N*2^k*2 bytes of centroid tables (one fp16 table of 2^k entries per output row).
enum class FormatKind { kFp16, kUniform, kAnyPrec };

struct PrecisionFormat {
  FormatKind kind = FormatKind::kFp16;
  int bits = 16;         // 16 for fp16; k for uniform and anyprec
  int group_size = 128;  // uniform only: weights sharing one scale and zero along K
  int parent_bits = 4;   // anyprec only: planes stored in DRAM (the nested parent precision); bits <= parent_bits

  static PrecisionFormat fp16();
  static PrecisionFormat uniform(int bits, int group_size);
  static PrecisionFormat anyprec(int bits, int parent_bits);
  // Parses "fp16", "uniform:3", "uniform:3:g64", "anyprec:3" (parent_bits then defaults to 4 or `bits` if larger).
  // Throws InputError naming `what` (e.g. "configurations[1].format") and the expected forms.
  static PrecisionFormat parse(const std::string& text, const std::string& what);
  std::string name() const;  // canonical text: "fp16", "uniform:3:g128", "anyprec:3"

  // Bytes of codes, planes or fp16 weights for a K x N layer (rounded up to whole bytes per row).
  uint64_t code_bytes(uint64_t k, uint64_t n) const;
  // Bytes of side tables: centroid tables (anyprec) or group scale+zero (uniform); 0 for fp16.
  uint64_t table_bytes(uint64_t k, uint64_t n) const;
  bool operator==(const PrecisionFormat& o) const;
};

// ---------------------------------------------------------------------------------------------------------------
// Model shape. Field names follow Hugging Face config.json where one exists.
struct ModelShape {
  std::string name;               // e.g. "vicuna-7b"
  std::string architecture;       // "llama", "stablelm" or "phi" (decides the block's op structure)
  int64_t hidden_size = 0;        // d_model
  int64_t intermediate_size = 0;  // FFN width
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // grouped-query attention when < num_heads
  int64_t head_dim = 0;      // hidden_size / num_heads unless the config says otherwise
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  std::string mlp = "swiglu";    // "swiglu" (gate, up, down) or "gelu" (fc1, fc2)
  std::string norm = "rmsnorm";  // "rmsnorm" or "layernorm"
  bool parallel_block = false;   // Phi: attention and MLP read the same normed input, outputs summed
  bool attention_bias = false;   // biases on q, k, v (and dense for phi)
  bool mlp_bias = false;         // biases on the MLP linears
  bool lm_head_bias = false;
  double rotary_fraction = 1.0;  // share of head_dim that RoPE rotates (partial rotary in StableLM, Phi)
  bool tie_word_embeddings = false;
};

// Reads configs/models/*.yaml through declared fields (unknown keys and bad values are InputErrors).
ModelShape read_model_config(ConfigSection& section);
ModelShape load_model_yaml(const std::string& path);
// Reads a Hugging Face config.json (LlamaForCausalLM, StableLmForCausalLM, PhiForCausalLM, MistralForCausalLM).
ModelShape load_hf_config(const std::string& path);
// Dispatches on the extension: .json -> Hugging Face, .yaml/.yml -> ours.
ModelShape load_model(const std::string& path);

// ---------------------------------------------------------------------------------------------------------------
// Operators. One phase = an ordered list; a request = one prefill phase + one phase per decode step.
enum class OpKind {
  kEmbedding,       // token embedding lookup: reads one fp16 row per token
  kLinear,          // weights K x N (quantized decoder linear, or fp16 lm_head), `tokens` activation rows
  kAttentionScore,  // Q . K^T over the KV cache, per head
  kAttentionValue,  // softmax(P) . V over the KV cache, per head
  kKvWrite,         // the phase's new K and V written to the KV cache
  kNorm,            // RMSNorm / LayerNorm on the vector unit
  kRope,            // rotary embedding of q and k on the vector unit
  kSoftmax,         // attention softmax on the vector unit
  kActivation,      // SiLU*gate or GELU on the vector unit
  kResidual,        // residual add on the vector unit
  kSpillRead,       // an activation that did not fit on chip read back from DRAM (activation plan)
  kSpillWrite,      // an activation that does not fit on chip written to DRAM (activation plan)
};
const char* op_kind_name(OpKind kind);

// What a vector-unit operator computes: the NPU config declares each one's cost (passes over the data, cycles per
// element), and whether it is elementwise (it can consume a producer's output tile by tile) or a reduction.
enum class VectorFunction {
  kNone,
  kRmsNorm,      // elements: tokens x hidden
  kLayerNorm,    // elements: tokens x hidden
  kRope,         // elements: tokens x (q + k heads) x rotated dims
  kSoftmax,      // elements: heads x score entries
  kSwiGlu,       // elements: tokens x intermediate
  kGelu,         // elements: tokens x intermediate
  kResidualAdd,  // elements: tokens x hidden x tensors added
};
constexpr int kVectorFunctions = 8;
const char* vector_function_name(VectorFunction f);
// RoPE, SwiGLU, GELU and residual adds: each output element depends on the same element of its inputs only.
bool elementwise(VectorFunction f);

// The operator classes a report breaks time down by.
enum class OpClass {
  kEmbedding,       // embedding lookup
  kQkv,             // q, k and v projections
  kAttentionScore,  // Q.K^T
  kAttentionValue,  // P.V
  kKvWrite,         // the new K and V written to the cache
  kOutProj,         // attention output projection (o_proj, Phi's dense)
  kMlp,             // the MLP's linears
  kLmHead,          // the output projection to the vocabulary
  kVector,          // norms, RoPE, softmax, activations, residual adds
  kSpill,           // activations moved between SRAM and DRAM because they did not fit on chip
};
constexpr int kOpClasses = 10;
const char* op_class_name(OpClass c);  // "embedding", "qkv", "attn_score", ... (stable: used in results.json)

// The activation tensors that flow between the operators of one phase (tokens x width, fp16). The lowering names
// the ones each operator reads and writes; the activation plan (activation_plan.cc) decides which stay in the
// NPU's activation SRAM and which go through DRAM. An id is reused by every layer: writing a tensor that the
// operator does not also read starts a new value of it.
enum class Activation {
  kNone,
  kStream,   // the residual stream (tokens x hidden)
  kNormed,   // a norm's output (tokens x hidden)
  kQ,        // queries (tokens x heads x head_dim)
  kK,        // keys (tokens x kv_heads x head_dim)
  kV,        // values
  kAttnOut,  // attention output (tokens x heads x head_dim)
  kProjOut,  // o_proj / dense output (tokens x hidden)
  kGate,     // gate_proj output, or fc1's (tokens x intermediate)
  kUp,       // up_proj output
  kAct,      // SiLU(gate) x up, or GELU(fc1) (tokens x intermediate)
  kMlpOut,   // down_proj / fc2 output (tokens x hidden)
  kLogits,   // lm_head output (tokens x vocab)
};
constexpr int kActivations = 13;
const char* activation_name(Activation a);

// One operator's use of an activation: which one and how many of its bytes.
struct ActivationUse {
  Activation tensor = Activation::kNone;
  uint64_t bytes = 0;
};

struct Op {
  std::string name;  // "layer.3.attn.q_proj", "lm_head", ...; stable, used in reports
  OpKind kind = OpKind::kLinear;
  int layer = -1;       // decoder layer, -1 outside the stack
  uint64_t tokens = 0;  // activation rows this op processes (prompt length in prefill, 1 in decode)
  // Linear: weight matrix K x N in `format`. Attention: k = head_dim, n = context length, heads in `heads`.
  uint64_t k = 0;
  uint64_t n = 0;
  uint64_t heads = 0;
  PrecisionFormat format;        // weight format (linears); fp16 for everything else
  uint64_t weight_bytes = 0;     // codes / planes / fp16 weights streamed from DRAM
  uint64_t table_bytes = 0;      // centroid tables or group scale+zero streamed from DRAM
  uint64_t bias_bytes = 0;       // fp16 biases streamed from DRAM
  uint64_t embedding_bytes = 0;  // embedding rows read from DRAM
  uint64_t kv_read_bytes = 0;    // KV cache read from DRAM
  uint64_t kv_write_bytes = 0;   // KV cache written to DRAM
  uint64_t macs = 0;             // multiply-accumulates on the MAC array
  VectorFunction vector_function = VectorFunction::kNone;
  uint64_t vector_elements = 0;  // elements the vector unit sweeps, per pass (the NPU config gives the passes)
  OpClass op_class = OpClass::kVector;  // set by the lowering, kept by with_rows
  // The activations it reads and writes (unused slots: kNone). Attention reads Q (score) and K, V through the
  // FlashAttention schedule (activation_plan.cc); softmax's scores never leave the attention scratch.
  std::array<ActivationUse, 3> reads{};
  std::array<ActivationUse, 2> writes{};
  // Set by the activation plan. Spill ops: the activation moved and where in its DRAM region
  // (spill_offset_bytes from the region's start).
  uint64_t spill_read_bytes = 0, spill_write_bytes = 0;
  Activation spill_tensor = Activation::kNone;
  uint64_t spill_offset_bytes = 0;
  // Activation bytes read from and written to the activation SRAM, each on-chip activation the op reads or writes
  // counted once (hw_models' op_sram_bytes adds a linear's re-reads on its array); spills excluded (their bytes
  // are DRAM bytes, which the energy model already counts through SRAM).
  uint64_t sram_activation_read_bytes = 0, sram_activation_write_bytes = 0;
  // The weight tensor a linear streams when it is not the op's own name (a linear run in token blocks: every
  // block streams the same weights).
  std::string weight_tensor;
  // A token block whose input rows were read back from DRAM into the activation SRAM: their landing there and
  // one read of them count as DRAM bytes through SRAM.
  bool input_from_dram = false;
  // The fast path's stand-in for an operator it does not simulate: the NPU places it in DRAM as the whole phase
  // would (so that the simulated operators land where they would), and does nothing else with it.
  bool placement_only = false;

  uint64_t dram_read_bytes() const {
    return weight_bytes + table_bytes + bias_bytes + embedding_bytes + kv_read_bytes + spill_read_bytes;
  }
  uint64_t dram_write_bytes() const { return kv_write_bytes + spill_write_bytes; }
};

// Which weights are quantized and what else the lowering needs to know.
struct LoweringOptions {
  bool quantize_lm_head = false;        // lm_head in the configured format (PMPD keeps it fp16)
  int kv_cache_bits = 16;               // bits per KV-cache element
  bool causal_prefill = true;           // prefill attention counts only the causal half (T*(T+1)/2 score entries)
  bool lm_head_last_token_only = true;  // prefill computes logits for the last prompt token only
  // The NPU's on-chip memory, which decides what the activation plan spills (0: unbounded, nothing spills).
  uint64_t activation_buffer_bytes = 0;  // activation SRAM
  uint64_t attention_scratch_bytes = 0;  // FlashAttention blocks: Q, K, V, scores, output accumulator
};

// Prefill of `prompt_tokens` tokens (all layers, lm_head). Context after it: prompt_tokens.
std::vector<Op> lower_prefill(const ModelShape& model, const PrecisionFormat& format, uint64_t prompt_tokens,
                              const LoweringOptions& options);
// One decode step: one token whose attention spans `context_tokens` cache entries (itself included), i.e. decode
// step j (1-based) of a request with a P-token prompt has context_tokens = P + j.
std::vector<Op> lower_decode_step(const ModelShape& model, const PrecisionFormat& format, uint64_t context_tokens,
                                  const LoweringOptions& options);

// The activation plan of a lowered phase (activation_plan.cc): which activations stay in the activation SRAM, and
// the DRAM traffic of those that do not (spill ops inserted, linears run in token blocks, FlashAttention K/V
// re-reads). lower_prefill and lower_decode_step apply it; with both capacities 0 it only counts SRAM bytes.
std::vector<Op> plan_activations(std::vector<Op> ops, const ModelShape& model, const LoweringOptions& options);

// The same linear with only its first `rows` output rows, bytes and MACs recomputed (the fast path simulates a
// large operator on a sample of its tiles). Throws std::logic_error for anything else.
Op with_rows(const Op& linear, uint64_t rows);

struct OpTotals {
  uint64_t weight_bytes = 0, table_bytes = 0, bias_bytes = 0, embedding_bytes = 0;
  uint64_t kv_read_bytes = 0, kv_write_bytes = 0, macs = 0, vector_elements = 0;
  uint64_t spill_read_bytes = 0, spill_write_bytes = 0;
  uint64_t sram_activation_read_bytes = 0, sram_activation_write_bytes = 0;
  uint64_t dram_read_bytes() const {
    return weight_bytes + table_bytes + bias_bytes + embedding_bytes + kv_read_bytes + spill_read_bytes;
  }
  uint64_t dram_write_bytes() const { return kv_write_bytes + spill_write_bytes; }
};
OpTotals sum_ops(const std::vector<Op>& ops);

// Parameter count of the quantizable decoder linears (all layers), e.g. 6,476,005,376 for Vicuna-7B.
uint64_t decoder_linear_params(const ModelShape& model);

}  // namespace npusim::workloads

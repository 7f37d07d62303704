#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/error.h"
#include "tests/support/test_ops.h"
#include "workloads/workloads.h"

namespace npusim::workloads {
namespace {

ModelShape model(const std::string& file) {
  return load_model(std::string(NPUSIM_SOURCE_DIR) + "/configs/models/" + file);
}

const Op& find(const std::vector<Op>& ops, const std::string& name) {
  return testing::find_op(ops, name);
}
bool has(const std::vector<Op>& ops, const std::string& name) {
  for (const Op& op : ops) {
    if (op.name == name) return true;
  }
  return false;
}

// Sums one field over the quantized decoder linears only (layer >= 0).
template <typename Field>
uint64_t decoder_linear_sum(const std::vector<Op>& ops, Field field) {
  uint64_t total = 0;
  for (const Op& op : ops) {
    if (op.kind == OpKind::kLinear && op.layer >= 0) total += op.*field;
  }
  return total;
}

TEST(Lowering, DecoderLinearParams) {
  // Vicuna-7B: 32 * (4*4096*4096 + 3*4096*11008) = 32 * (67108864 + 135266304) = 32 * 202375168 = 6476005376.
  EXPECT_EQ(decoder_linear_params(model("vicuna-7b.yaml")), 6476005376u);
  // MobileLLaMA-1.4B: 24 * (4*2048*2048 + 3*2048*5632) = 24 * (16777216 + 34603008) = 24 * 51380224 = 1233125376.
  EXPECT_EQ(decoder_linear_params(model("mobilellama-1.4b.yaml")), 1233125376u);
  // Phi-1.5 (fc1, fc2 only): 24 * (4*2048*2048 + 2*2048*8192) = 24 * (16777216 + 33554432) = 1207959552.
  EXPECT_EQ(decoder_linear_params(model("phi-1.5.yaml")), 1207959552u);
  // Zephyr-3B: 32 * (4*2560*2560 + 3*2560*6912) = 32 * (26214400 + 53084160) = 32 * 79298560 = 2537553920.
  EXPECT_EQ(decoder_linear_params(model("stablelm-zephyr-3b.yaml")), 2537553920u);
  // stories260K (GQA, head_dim 8): q, o 64*64 = 4096 each; k, v 64*(4*8) = 2048 each; MLP 3*64*172 = 33024;
  // 5 * (4096*2 + 2048*2 + 33024) = 5 * 45312 = 226560.
  EXPECT_EQ(decoder_linear_params(model("stories260k.yaml")), 226560u);
}

TEST(Lowering, VicunaDecodeStepBytesPerFormat) {
  const ModelShape m = model("vicuna-7b.yaml");
  const LoweringOptions opt;
  const auto a3 = lower_decode_step(m, PrecisionFormat::anyprec(3, 4), 100, opt);
  // Planes: 6476005376 * 3 / 8 = 2428502016 (every K, 4096 and 11008, is a multiple of 8).
  EXPECT_EQ(decoder_linear_sum(a3, &Op::weight_bytes), 2428502016u);
  // Centroid tables: output rows per layer q,k,v,o 4*4096 + gate,up 2*11008 + down 4096 = 42496;
  // 42496 * 32 layers * 2^3 entries * 2 bytes = 21757952.
  EXPECT_EQ(decoder_linear_sum(a3, &Op::table_bytes), 21757952u);
  // lm_head stays fp16: 4096 * 32000 * 2 = 262144000, no table.
  const Op& lm = find(a3, "lm_head");
  EXPECT_EQ(lm.format, PrecisionFormat::fp16());
  EXPECT_EQ(lm.weight_bytes, 262144000u);
  EXPECT_EQ(lm.table_bytes, 0u);
  const OpTotals t = sum_ops(a3);
  EXPECT_EQ(t.weight_bytes, 2428502016u + 262144000u);
  EXPECT_EQ(t.table_bytes, 21757952u);
  // Norm weights: 2 RMSNorms a layer + the final one, 4096*2 bytes each: 65 * 8192 = 532480. No linear biases.
  EXPECT_EQ(t.bias_bytes, 532480u);
  // One embedding row: 4096 * 2 = 8192.
  EXPECT_EQ(t.embedding_bytes, 8192u);
  // Weights-only ratio fp16 / anyprec:3 with lm_head fp16 is PMPD.md's 4.87:
  // (12952010752 + 262144000) / (2428502016 + 21757952 + 262144000) = 13214154752 / 2712403968 = 4.8717.
  const auto f16 = lower_decode_step(m, PrecisionFormat::fp16(), 100, opt);
  EXPECT_EQ(decoder_linear_sum(f16, &Op::weight_bytes), 12952010752u);  // 2 bytes a parameter
  EXPECT_EQ(decoder_linear_sum(f16, &Op::table_bytes), 0u);
  const double ratio =
      double(sum_ops(f16).weight_bytes + sum_ops(f16).table_bytes) / double(t.weight_bytes + t.table_bytes);
  EXPECT_NEAR(ratio, 4.87, 0.005);

  // uniform:3 g128: codes as anyprec:3; groups N * K/128 * 4 bytes. Per layer: q,k,v,o 4 * 4096*32*4 = 2097152;
  // gate, up 2 * 11008*32*4 = 2818048; down 4096*86*4 = 1409024; sum 6324224; * 32 = 202375168 (= params / 32).
  const auto u3 = lower_decode_step(m, PrecisionFormat::uniform(3, 128), 100, opt);
  EXPECT_EQ(decoder_linear_sum(u3, &Op::weight_bytes), 2428502016u);
  EXPECT_EQ(decoder_linear_sum(u3, &Op::table_bytes), 202375168u);

  // quantize_lm_head: lm_head in anyprec:3 too: 32000 * 4096*3/8 = 49152000 planes, 32000 * 8 * 2 = 512000 tables.
  LoweringOptions q = opt;
  q.quantize_lm_head = true;
  const auto quantized = lower_decode_step(m, PrecisionFormat::anyprec(3, 4), 100, q);
  const Op& qlm = find(quantized, "lm_head");
  EXPECT_EQ(qlm.weight_bytes, 49152000u);
  EXPECT_EQ(qlm.table_bytes, 512000u);
}

TEST(Lowering, VicunaDecodeKvAndMacs) {
  const ModelShape m = model("vicuna-7b.yaml");
  const auto ops = lower_decode_step(m, PrecisionFormat::anyprec(2, 4), 100, LoweringOptions{});
  const OpTotals t = sum_ops(ops);
  // KV read at context 100: the 99 earlier tokens' K and V, fp16: 2 * 32 kv heads * 128 * 99 * 2 bytes = 1622016 a
  // layer; * 32 layers = 51904512.
  EXPECT_EQ(t.kv_read_bytes, 51904512u);
  // K on the score op, V on the value op: 32*128*99*2 = 811008 each.
  EXPECT_EQ(find(ops, "layer.0.attn.score").kv_read_bytes, 811008u);
  EXPECT_EQ(find(ops, "layer.0.attn.value").kv_read_bytes, 811008u);
  // KV write: the new token's K and V: 2 * 4096 * 2 = 16384 a layer; * 32 = 524288.
  EXPECT_EQ(t.kv_write_bytes, 524288u);
  EXPECT_EQ(find(ops, "layer.31.attn.kv_write").kv_write_bytes, 16384u);
  // MACs: decoder linears 6476005376; lm_head 4096*32000 = 131072000; attention score and value
  // 2 * 32 heads * 100 * 128 = 819200 a layer, * 32 = 26214400. Sum 6633291776.
  EXPECT_EQ(t.macs, 6633291776u);
  // Softmax: 32 heads * 100 entries = 3200 elements (the NPU config gives the passes).
  EXPECT_EQ(find(ops, "layer.5.attn.softmax").vector_elements, 3200u);
  EXPECT_EQ(find(ops, "layer.5.attn.softmax").vector_function, VectorFunction::kSoftmax);

  // 8-bit KV cache halves the traffic: 51904512 / 2 = 25952256.
  LoweringOptions kv8;
  kv8.kv_cache_bits = 8;
  EXPECT_EQ(sum_ops(lower_decode_step(m, PrecisionFormat::anyprec(2, 4), 100, kv8)).kv_read_bytes, 25952256u);
  // Context 1 (the first token alone): nothing to read.
  EXPECT_EQ(sum_ops(lower_decode_step(m, PrecisionFormat::anyprec(2, 4), 1, kv8)).kv_read_bytes, 0u);
}

TEST(Lowering, VicunaPrefill) {
  const ModelShape m = model("vicuna-7b.yaml");
  const LoweringOptions opt;
  const auto ops = lower_prefill(m, PrecisionFormat::anyprec(3, 4), 10, opt);
  const OpTotals t = sum_ops(ops);
  // Linears: 10 * 6476005376 = 64760053760; lm_head last token only: 131072000; causal attention: 10*11/2 = 55
  // entries a head, 2 * 32 * 55 * 128 = 450560 a layer, * 32 = 14417920. Sum 64905543680.
  EXPECT_EQ(t.macs, 64905543680u);
  // Weights stream once regardless of T.
  EXPECT_EQ(decoder_linear_sum(ops, &Op::weight_bytes), 2428502016u);
  // No KV read; write 10 tokens' K and V: 2 * 4096 * 10 * 2 = 163840 a layer, * 32 = 5242880.
  EXPECT_EQ(t.kv_read_bytes, 0u);
  EXPECT_EQ(t.kv_write_bytes, 5242880u);
  // 10 embedding rows: 10 * 4096 * 2 = 81920.
  EXPECT_EQ(t.embedding_bytes, 81920u);
  EXPECT_EQ(find(ops, "lm_head").tokens, 1u);
  EXPECT_EQ(find(ops, "layer.0.attn.q_proj").tokens, 10u);

  // Non-causal and all-token logits: attention 2 * 32 * 100 * 128 * 32 = 26214400; lm_head 10 * 131072000.
  LoweringOptions full;
  full.causal_prefill = false;
  full.lm_head_last_token_only = false;
  EXPECT_EQ(sum_ops(lower_prefill(m, PrecisionFormat::anyprec(3, 4), 10, full)).macs,
            64760053760u + 1310720000u + 26214400u);
}

TEST(Lowering, LlamaOpOrderAndNames) {
  const ModelShape m = model("vicuna-7b.yaml");
  const auto ops = lower_decode_step(m, PrecisionFormat::anyprec(3, 4), 10, LoweringOptions{});
  // embed + 32 layers * 17 ops + final_norm + lm_head.
  ASSERT_EQ(ops.size(), 1u + 32u * 17u + 2u);
  const std::vector<std::string> layer0 = {
      "input_norm",    "attn.q_proj",  "attn.k_proj", "attn.v_proj",   "attn.rope",     "attn.kv_write",
      "attn.score",    "attn.softmax", "attn.value",  "attn.o_proj",   "attn_residual", "post_attention_norm",
      "mlp.gate_proj", "mlp.up_proj",  "mlp.act",     "mlp.down_proj", "mlp_residual"};
  EXPECT_EQ(ops[0].name, "embed");
  for (size_t i = 0; i < layer0.size(); ++i) {
    EXPECT_EQ(ops[1 + i].name, "layer.0." + layer0[i]);
    EXPECT_EQ(ops[1 + i].layer, 0);
  }
  EXPECT_EQ(ops[ops.size() - 2].name, "final_norm");
  EXPECT_EQ(ops.back().name, "lm_head");
  std::set<std::string> names;
  for (const Op& op : ops) names.insert(op.name);
  EXPECT_EQ(names.size(), ops.size());  // unique
  // Deterministic: lowering twice gives the same names.
  const auto again = lower_decode_step(m, PrecisionFormat::anyprec(3, 4), 10, LoweringOptions{});
  for (size_t i = 0; i < ops.size(); ++i) EXPECT_EQ(ops[i].name, again[i].name);
  // Shapes: o_proj K 4096 -> N 4096, down_proj 11008 -> 4096; only decoder linears carry the format.
  EXPECT_EQ(find(ops, "layer.3.mlp.down_proj").k, 11008u);
  EXPECT_EQ(find(ops, "layer.3.mlp.down_proj").n, 4096u);
  EXPECT_EQ(find(ops, "layer.3.mlp.down_proj").format, PrecisionFormat::anyprec(3, 4));
  // Vector elements, decode (1 token): RMSNorm 4096; RoPE (32 + 32) heads * 128 = 8192; SwiGLU 11008; residual
  // 4096.
  EXPECT_EQ(find(ops, "layer.0.input_norm").vector_elements, 4096u);
  EXPECT_EQ(find(ops, "layer.0.input_norm").vector_function, VectorFunction::kRmsNorm);
  EXPECT_EQ(find(ops, "layer.0.attn.rope").vector_elements, 8192u);
  EXPECT_EQ(find(ops, "layer.0.mlp.act").vector_elements, 11008u);
  EXPECT_EQ(find(ops, "layer.0.mlp.act").vector_function, VectorFunction::kSwiGlu);
  EXPECT_EQ(find(ops, "layer.0.mlp_residual").vector_elements, 4096u);
  // Classes for the time breakdown.
  EXPECT_EQ(find(ops, "layer.0.attn.k_proj").op_class, OpClass::kQkv);
  EXPECT_EQ(find(ops, "layer.0.attn.o_proj").op_class, OpClass::kOutProj);
  EXPECT_EQ(find(ops, "layer.0.mlp.down_proj").op_class, OpClass::kMlp);
  EXPECT_EQ(find(ops, "layer.0.attn.score").op_class, OpClass::kAttentionScore);
  EXPECT_EQ(find(ops, "layer.0.attn.kv_write").op_class, OpClass::kKvWrite);
  EXPECT_EQ(find(ops, "layer.0.attn.softmax").op_class, OpClass::kVector);
  EXPECT_EQ(find(ops, "lm_head").op_class, OpClass::kLmHead);
  EXPECT_EQ(find(ops, "embed").op_class, OpClass::kEmbedding);
}

TEST(Lowering, PhiParallelBlockWithBiases) {
  const ModelShape m = model("phi-1.5.yaml");
  const auto ops = lower_decode_step(m, PrecisionFormat::anyprec(4, 4), 50, LoweringOptions{});
  const std::vector<std::string> layer0 = {
      "input_norm",   "attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.rope", "attn.kv_write", "attn.score",
      "attn.softmax", "attn.value",  "attn.dense",  "mlp.fc1",     "mlp.act",   "mlp.fc2",       "residual"};
  ASSERT_EQ(ops.size(), 1u + 24u * layer0.size() + 2u);
  for (size_t i = 0; i < layer0.size(); ++i) EXPECT_EQ(ops[1 + i].name, "layer.0." + layer0[i]);
  EXPECT_FALSE(has(ops, "layer.0.mlp.gate_proj"));
  EXPECT_FALSE(has(ops, "layer.0.post_attention_norm"));
  // fc1 2048 -> 8192 with an fp16 bias of 8192*2 = 16384 bytes; fc2 8192 -> 2048, bias 4096 bytes.
  const Op& fc1 = find(ops, "layer.0.mlp.fc1");
  EXPECT_EQ(fc1.k, 2048u);
  EXPECT_EQ(fc1.n, 8192u);
  EXPECT_EQ(fc1.bias_bytes, 16384u);
  EXPECT_EQ(find(ops, "layer.0.mlp.fc2").bias_bytes, 4096u);
  EXPECT_EQ(find(ops, "layer.0.attn.q_proj").bias_bytes, 4096u);  // 2048 * 2
  EXPECT_EQ(find(ops, "layer.0.attn.dense").bias_bytes, 4096u);
  // lm_head: N = vocab 51200, bias 51200 * 2 = 102400.
  EXPECT_EQ(find(ops, "lm_head").n, 51200u);
  EXPECT_EQ(find(ops, "lm_head").bias_bytes, 102400u);
  // Biases in total: per layer q,k,v,dense 4*4096 + fc1 16384 + fc2 4096 + LayerNorm weight and bias 2*2048*2 =
  // 8192 -> 45056; * 24 = 1081344; + final LayerNorm 8192 + lm_head 102400 = 1191936.
  EXPECT_EQ(sum_ops(ops).bias_bytes, 1191936u);
  // Partial rotary: 32 of 64 elements; (32 + 32) heads * 32 = 2048. GELU 8192.
  EXPECT_EQ(find(ops, "layer.0.attn.rope").k, 32u);
  EXPECT_EQ(find(ops, "layer.0.attn.rope").vector_elements, 2048u);
  EXPECT_EQ(find(ops, "layer.0.mlp.act").vector_elements, 8192u);
  EXPECT_EQ(find(ops, "layer.0.mlp.act").vector_function, VectorFunction::kGelu);
  // LayerNorm 2048; the parallel residual adds two tensors: 2048 * 2 = 4096.
  EXPECT_EQ(find(ops, "layer.0.input_norm").vector_elements, 2048u);
  EXPECT_EQ(find(ops, "layer.0.input_norm").vector_function, VectorFunction::kLayerNorm);
  EXPECT_EQ(find(ops, "layer.0.residual").vector_elements, 4096u);
  EXPECT_EQ(find(ops, "layer.0.attn.dense").op_class, OpClass::kOutProj);
  EXPECT_EQ(find(ops, "layer.0.mlp.fc2").op_class, OpClass::kMlp);
  // Quantized decoder bytes at 4 bits: 1207959552 / 2 = 603979776.
  EXPECT_EQ(decoder_linear_sum(ops, &Op::weight_bytes), 603979776u);
}

TEST(Lowering, ZephyrVocabAndPartialRotary) {
  const ModelShape m = model("stablelm-zephyr-3b.yaml");
  const auto ops = lower_decode_step(m, PrecisionFormat::anyprec(4, 4), 20, LoweringOptions{});
  EXPECT_EQ(find(ops, "lm_head").n, 50304u);
  EXPECT_EQ(find(ops, "lm_head").bias_bytes, 0u);
  EXPECT_EQ(find(ops, "layer.0.attn.rope").k, 20u);  // 0.25 * 80
  EXPECT_EQ(find(ops, "layer.0.attn.q_proj").bias_bytes, 0u);
  EXPECT_TRUE(has(ops, "layer.0.mlp.gate_proj"));
  // LayerNorm weight and bias: 2 * 2560 * 2 = 10240 bytes.
  EXPECT_EQ(find(ops, "layer.0.post_attention_norm").bias_bytes, 10240u);
}

TEST(Lowering, GroupedQueryAttention) {
  const ModelShape m = model("stories260k.yaml");
  const auto ops = lower_decode_step(m, PrecisionFormat::fp16(), 7, LoweringOptions{});
  // 4 KV heads of head_dim 8: k_proj and v_proj N = 32; q_proj N = 8*8 = 64.
  EXPECT_EQ(find(ops, "layer.0.attn.k_proj").n, 32u);
  EXPECT_EQ(find(ops, "layer.0.attn.v_proj").n, 32u);
  EXPECT_EQ(find(ops, "layer.0.attn.q_proj").n, 64u);
  // Scores over all 8 query heads: 8 * 7 * 8 = 448 MACs; K read for 6 earlier tokens over 4 KV heads:
  // 4 * 8 * 6 * 2 = 384 bytes.
  EXPECT_EQ(find(ops, "layer.0.attn.score").macs, 448u);
  EXPECT_EQ(find(ops, "layer.0.attn.score").kv_read_bytes, 384u);
  // KV write: 2 * 32 * 2 = 128 bytes a layer.
  EXPECT_EQ(find(ops, "layer.4.attn.kv_write").kv_write_bytes, 128u);
  // Tied embeddings still stream lm_head: 64 * 512 * 2 = 65536.
  EXPECT_EQ(find(ops, "lm_head").weight_bytes, 65536u);
}

TEST(Lowering, RejectsEmptyPhases) {
  const ModelShape m = model("stories260k.yaml");
  EXPECT_THROW(lower_prefill(m, PrecisionFormat::fp16(), 0, LoweringOptions{}), InputError);
  EXPECT_THROW(lower_decode_step(m, PrecisionFormat::fp16(), 0, LoweringOptions{}), InputError);
  LoweringOptions bad;
  bad.kv_cache_bits = 0;
  EXPECT_THROW(lower_decode_step(m, PrecisionFormat::fp16(), 5, bad), InputError);
  EXPECT_STREQ(op_kind_name(OpKind::kAttentionScore), "attention_score");
}

}  // namespace
}  // namespace npusim::workloads

// The activation plan: what stays in the activation SRAM, what spills, and what the FlashAttention schedule
// reads back. Every figure is derived in its comment from the model's shapes and the policy at the top of
// workloads/activation_plan.cc.
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "tests/support/test_ops.h"
#include "workloads/workloads.h"

namespace npusim::workloads {
namespace {

ModelShape vicuna() {
  return load_model(std::string(NPUSIM_SOURCE_DIR) + "/configs/models/vicuna-7b.yaml");
}

uint64_t spill_ops(const std::vector<Op>& ops) {
  uint64_t n = 0;
  for (const Op& op : ops) n += op.op_class == OpClass::kSpill ? 1 : 0;
  return n;
}

const Op& find(const std::vector<Op>& ops, const std::string& name) {
  return testing::find_op(ops, name);
}

// Vicuna-7B decode step with nothing bounded: every activation is on chip, and the SRAM bytes are the sum of the
// operators' uses. One token: hidden, q, k and v rows are 4096 x 2 = 8192 B, an MLP row 11008 x 2 = 22016 B.
// Reads per layer: input_norm 8192, q/k/v 3 x 8192, rope q+k 16384, kv_write k+v 16384, score q+k 16384, value v
// 8192, o_proj 8192, attn_residual 16384, post norm 8192, gate+up 2 x 8192, act 2 x 22016, down 22016,
// mlp_residual 16384: 221,696. Writes: input_norm 8192, q/k/v 24576, rope 16384, value 8192, o_proj 8192,
// attn_residual 8192, post norm 8192, gate+up 44032, act 22016, down 8192, mlp_residual 8192: 164,352.
// Outside the stack: embed writes 8192; final_norm reads and writes 8192; lm_head reads 8192 and writes the
// 32000 x 2 = 64000 B of logits. Reads 32 x 221,696 + 16,384 = 7,110,656; writes 32 x 164,352 + 80,384 =
// 5,339,648.
TEST(ActivationPlan, UnboundedKeepsEverythingOnChipAndCountsSramBytes) {
  const auto ops = lower_decode_step(vicuna(), PrecisionFormat::anyprec(3, 4), 100, LoweringOptions{});
  EXPECT_EQ(spill_ops(ops), 0u);
  const OpTotals t = sum_ops(ops);
  EXPECT_EQ(t.sram_activation_read_bytes, 7110656u);
  EXPECT_EQ(t.sram_activation_write_bytes, 5339648u);
  EXPECT_EQ(t.spill_read_bytes + t.spill_write_bytes, 0u);
}

// Vicuna-7B prefill of T = 1024 tokens. With everything on chip the most that is live at once is at mlp.act:
// the residual stream (1024 x 8192 = 8,388,608 B), gate and up (1024 x 22016 = 22,544,384 B each) and act's
// output (22,544,384 B): 76,021,760 B (the attention's peak, stream + normed + q + k + v, is 41.9 MB). A buffer
// of exactly that spills nothing; one byte less and act's output is the first value that does not fit: act
// writes it (22,544,384 B) and down_proj reads it back in one block (with gate and up gone, 76,021,759 - 2 x
// 8,388,608 B of room is over 1024 rows of 22016 B), in every one of the 32 layers.
TEST(ActivationPlan, SpillsAppearExactlyWhenTheLiveSetDoesNotFit) {
  const ModelShape m = vicuna();
  LoweringOptions o;
  o.activation_buffer_bytes = 76021760;
  const auto fits = lower_prefill(m, PrecisionFormat::anyprec(3, 4), 1024, o);
  EXPECT_EQ(spill_ops(fits), 0u);
  o.activation_buffer_bytes = 76021759;
  const auto spills = lower_prefill(m, PrecisionFormat::anyprec(3, 4), 1024, o);
  EXPECT_EQ(spill_ops(spills), 64u);
  const OpTotals t = sum_ops(spills);
  EXPECT_EQ(t.spill_write_bytes, 32u * 22544384u);
  EXPECT_EQ(t.spill_read_bytes, 32u * 22544384u);
  const Op& write = find(spills, "layer.7.mlp.act.spill_write.act");
  EXPECT_EQ(write.kind, OpKind::kSpillWrite);
  EXPECT_EQ(write.layer, 7);
  const Op& read = find(spills, "layer.7.mlp.down_proj.spill_read.act");
  EXPECT_EQ(read.spill_read_bytes, 22544384u);
  // Nothing else moved: the weights stream once (no token blocks), attention reads nothing back.
  EXPECT_EQ(sum_ops(spills).weight_bytes, sum_ops(fits).weight_bytes);
  EXPECT_EQ(sum_ops(spills).kv_read_bytes, 0u);
}

// A linear whose input is in DRAM runs in token blocks. Hand-made phase: an activation writes a 1000 x 1000
// fp16 tensor (2,000,000 B) into a 1,000,000 B buffer (spilled); a 1000 -> 500 fp16 linear (weights 1,000,000 B)
// reads it and writes 1000 x 500 x 2 = 1,000,000 B that a residual add reads.
// Keeping the output on chip leaves no room for an input row, so it is spilled: 1,000,000 B = 500 rows of 2000 B,
// 2 blocks, one extra weight stream. Each block reads its 500 x 2000 = 1,000,000 B of input (the second from
// row 500 of the spilled tensor, 1,000,000 B in) and writes its 500 x 1000 = 500,000 B of output (the second at
// 500,000). The blocks' inputs are in the activation SRAM: 1,000,000 B read by each block's array.
TEST(ActivationPlan, ALinearWithASpilledInputRunsInTokenBlocks) {
  const ModelShape m = vicuna();
  std::vector<Op> ops(3);
  ops[0].name = "make";
  ops[0].kind = OpKind::kActivation;
  ops[0].tokens = 1000;
  ops[0].writes = {ActivationUse{Activation::kAct, 2000000}};
  Op& lin = ops[1];
  lin.name = "lin";
  lin.kind = OpKind::kLinear;
  lin.op_class = OpClass::kMlp;
  lin.layer = 0;
  lin.tokens = 1000;
  lin.k = 1000;
  lin.n = 500;
  lin.weight_bytes = 1000000;
  lin.macs = 1000u * 1000u * 500u;
  lin.reads = {ActivationUse{Activation::kAct, 2000000}};
  lin.writes = {ActivationUse{Activation::kMlpOut, 1000000}};
  ops[2].name = "add";
  ops[2].kind = OpKind::kResidual;
  ops[2].tokens = 1000;
  ops[2].reads = {ActivationUse{Activation::kMlpOut, 1000000}};
  LoweringOptions o;
  o.activation_buffer_bytes = 1000000;
  const auto plan = plan_activations(ops, m, o);
  const std::vector<std::string> names = {"make",
                                          "make.spill_write.act",
                                          "lin.tokens0-500.spill_read.act",
                                          "lin.tokens0-500",
                                          "lin.tokens0-500.spill_write.mlp_out",
                                          "lin.tokens500-1000.spill_read.act",
                                          "lin.tokens500-1000",
                                          "lin.tokens500-1000.spill_write.mlp_out",
                                          "add.spill_read.mlp_out",
                                          "add"};
  ASSERT_EQ(plan.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(plan[i].name, names[i]) << i;
  EXPECT_EQ(plan[2].spill_read_bytes, 1000000u);
  EXPECT_EQ(plan[5].spill_offset_bytes, 1000000u);
  EXPECT_EQ(plan[7].spill_write_bytes, 500000u);
  EXPECT_EQ(plan[7].spill_offset_bytes, 500000u);
  EXPECT_EQ(plan[3].sram_activation_read_bytes, 1000000u);
  EXPECT_TRUE(plan[3].input_from_dram);
  EXPECT_EQ(plan[3].tokens, 500u);
  EXPECT_EQ(plan[3].macs, 500u * 1000u * 500u);
  EXPECT_EQ(plan[3].weight_tensor, "lin");  // both blocks stream the same weights
  EXPECT_EQ(plan[8].spill_read_bytes, 1000000u);
  EXPECT_EQ(sum_ops(plan).weight_bytes, 2000000u);
  // A buffer that cannot hold one 2000 B input row: an error naming the field.
  const auto refused = [&](uint64_t buffer) {
    o.activation_buffer_bytes = buffer;
    try {
      plan_activations(ops, m, o);
    } catch (const InputError& e) {
      return std::string(e.what()).find("sram.activation_bytes") != std::string::npos;
    }
    return false;
  };
  EXPECT_TRUE(refused(1999));
  // One row fits, but 1025 tokens would make 1025 blocks: more than the 1024 planned.
  for (Op& op : ops) {
    for (ActivationUse& u : op.reads) u.bytes = u.bytes / 1000 * 1025;
    for (ActivationUse& u : op.writes) u.bytes = u.bytes / 1000 * 1025;
    op.tokens = 1025;
  }
  EXPECT_TRUE(refused(2000));
}

// FlashAttention re-reads of spilled K and V in a Vicuna-7B prefill of 1024 tokens (a 1 MiB activation buffer
// holds none of its 8 MiB activations). One KV head per query head (g = 1), head_dim 128, fp16: a block of B rows
// takes 128B x 2 (Q) + 128B x 4 (output) + 4B^2 (scores) + 8B (row max and sum) + 2 x 128B x 2 (K, V) = 1288B +
// 4B^2 bytes; one KV head's K and V for 1024 tokens are 2 x 1024 x 128 x 2 = 524,288 B.
// - 1 MiB: 524,288 + 1292 fit, K read once: 4096 x 1024 x 2 = 8,388,608 B.
// - 256 KiB: K and V do not fit; the largest block is B = 128 (230,400 B; B = 256 needs 591,872): 8 query
//   blocks, causal block i reads keys up to 128 (i + 1): 128 x 36 = 4608 rows, 4096 x 4608 x 2 = 37,748,736 B;
//   without the causal mask 8 x 1024 rows, 67,108,864 B.
// - 1000 B cannot hold one row's block (1292 B): an error naming the field.
TEST(ActivationPlan, FlashAttentionReadsSpilledKvOnceOrPerQueryBlock) {
  const ModelShape m = vicuna();
  LoweringOptions o;
  o.activation_buffer_bytes = 1 << 20;
  const auto score_reads = [&](uint64_t scratch, bool causal) {
    o.attention_scratch_bytes = scratch;
    o.causal_prefill = causal;
    const auto ops = lower_prefill(m, PrecisionFormat::fp16(), 1024, o);
    EXPECT_EQ(find(ops, "layer.3.attn.score").kv_read_bytes, find(ops, "layer.3.attn.value").kv_read_bytes);
    return find(ops, "layer.3.attn.score").kv_read_bytes;
  };
  EXPECT_EQ(score_reads(1 << 20, true), 8388608u);
  EXPECT_EQ(score_reads(256 << 10, true), 37748736u);
  EXPECT_EQ(score_reads(256 << 10, false), 67108864u);
  try {
    score_reads(1000, true);
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sram.attention_scratch_bytes"), std::string::npos) << e.what();
  }
  // K and V on chip: the scratch's size moves nothing through DRAM.
  o.activation_buffer_bytes = 0;
  EXPECT_EQ(score_reads(256 << 10, true), 0u);
  // A 4-bit KV cache: spilled K comes from it at 4 bits (4096 x 1024 / 2 = 2,097,152 B, a KV head's 131,072 B
  // fit the 1 MiB scratch); K on chip is an fp16 activation, read from the activation SRAM at 16 bits
  // (8,388,608 B) whatever the cache's precision.
  o.kv_cache_bits = 4;
  o.activation_buffer_bytes = 1 << 20;
  EXPECT_EQ(score_reads(1 << 20, true), 2097152u);
  o.activation_buffer_bytes = 0;
  o.attention_scratch_bytes = 1 << 20;
  const auto on_chip = lower_prefill(m, PrecisionFormat::fp16(), 1024, o);
  EXPECT_EQ(find(on_chip, "layer.3.attn.value").kv_read_bytes, 0u);
  // value reads V (8,388,608 B) and nothing else from the activation SRAM.
  EXPECT_EQ(find(on_chip, "layer.3.attn.value").sram_activation_read_bytes, 8388608u);
}

// A decode step's activations are a few KiB: the shipped NPUs' buffers never spill them.
TEST(ActivationPlan, DecodeStepsDoNotSpillOnAShippedBuffer) {
  LoweringOptions o;
  o.activation_buffer_bytes = 4 << 20;
  o.attention_scratch_bytes = 256 << 10;
  EXPECT_EQ(spill_ops(lower_decode_step(vicuna(), PrecisionFormat::anyprec(3, 4), 2048, o)), 0u);
}

}  // namespace
}  // namespace npusim::workloads

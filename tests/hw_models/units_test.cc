// Exact-cycle tests of the tiling, the dequantizer, the MAC array and the vector unit. Modules are built in a
// forked child (SystemC elaborates once per process); expected numbers are derived in the comments.
#include <gtest/gtest.h>

#include "common/fork_run.h"
#include "hw_models/compute_units.h"
#include "hw_models/dequantizer.h"
#include "hw_models/tiling.h"
#include "tests/support/npu_yaml.h"
#include "tests/support/test_ops.h"

namespace npusim::hw {
namespace {

using workloads::Op;
using workloads::OpKind;
using workloads::PrecisionFormat;

using testing::test_linear;

TEST(Tiling, AnyPrecRowsPerTileFitTheBufferInWholeRowBlocks) {
  // anyprec:3, K = 4096: a row is 4096*3/8 = 1536 B of planes + 8*2 = 16 B of table = 1552 B. A 1 MiB buffer
  // holds floor(1048576 / 1552) = 675 rows, rounded down to whole 64-row blocks: 640 rows.
  const Op op = test_linear(4096, 11008, PrecisionFormat::anyprec(3, 4));
  const TilePlan plan = plan_tiles(op, 1 << 20, 64);
  EXPECT_EQ(plan.rows_per_tile, 640u);
  EXPECT_EQ(plan.tiles, 18u);  // ceil(11008 / 640) = 17.2 -> 18
  AddressMap map;
  const Tile last = make_tile(op, plan, map.place(op), 17);
  EXPECT_EQ(last.rows, 11008u - 17 * 640);  // 128 rows left
  EXPECT_EQ(last.dram_bytes(), 128u * 1552);
  // Sum over tiles = the op's bytes: 11008 * 1552.
  uint64_t bytes = 0, macs = 0;
  for (uint64_t i = 0; i < plan.tiles; ++i) {
    const Tile t = make_tile(op, plan, map.place(op), i);
    bytes += t.dram_bytes();
    macs += t.macs;
  }
  EXPECT_EQ(bytes, op.weight_bytes + op.table_bytes);
  EXPECT_EQ(macs, op.macs);
}

TEST(Tiling, AnyPrecReadsOfOnePrecisionPairShareStorage) {
  // A 2-bit read of an anyprec tensor reads the first 2 planes of the 4-bit parent: same code base address.
  AddressMap map;
  const Op hi = test_linear(4096, 4096, PrecisionFormat::anyprec(3, 4));
  const Op lo = test_linear(4096, 4096, PrecisionFormat::anyprec(2, 4));
  EXPECT_EQ(map.place(hi).code_base, map.place(lo).code_base);
  // Rows are laid out at the parent stride: 4096 * 4 / 8 = 2048 B.
  EXPECT_EQ(map.place(lo).code_row_stride, 2048u);
}

TEST(Tiling, KvReadSplitsMacsExactly) {
  Op op;
  op.name = "layer.0.attn.score";
  op.kind = OpKind::kAttentionScore;
  op.kv_read_bytes = 2500;
  op.macs = 1001;
  const TilePlan plan = plan_tiles(op, 1024, 64);
  ASSERT_EQ(plan.tiles, 3u);  // 1024 + 1024 + 452
  AddressMap map;
  uint64_t macs = 0;
  for (uint64_t i = 0; i < 3; ++i) macs += make_tile(op, plan, map.place(op), i).macs;
  EXPECT_EQ(macs, 1001u);
  // floor(1001 * 1024 / 2500) = 410 MACs in the first tile.
  EXPECT_EQ(make_tile(op, plan, map.place(op), 0).macs, 410u);
}

// 1 GHz (1000 ps a cycle), 256 MACs a cycle, 64 vector lanes, 4096 codes a cycle, 64-row table blocks loaded
// in 32 cycles.
NpuConfig small_config() {
  return testing::npu_from_yaml(R"(
name: small
core: {clock_mhz: 1000}
mac_array: {rows: 16, cols: 16}
vector_unit: {lanes: 64}
dequantizer: {codes_per_cycle: 4096, table_rows: 64, table_load_cycles: 32}
dram: {preset: hbm3}
)");
}

TEST(Tiling, ALinearReadsItsInputOncePerBlockOfOutputs) {
  // A one-token anyprec:3 4096 x 4096 linear whose 8192 B input is on chip, on the datacenter NPU's arrays with
  // 2 MiB tile buffers (rows of 1536 + 16 B: 1351 rows, 1280 in whole 256-row blocks; tiles start at 0, 1280,
  // 2560, 3840). The 64-lane GEMV engine reads it once into its broadcast buffer: 8192 B. On a 512-column
  // weight-stationary array each column block streams it again: 8 blocks, 65,536 B; the tiles open blocks
  // [0, 3), [3, 5), [5, 8), [8, 8] (ceil(1280 / 512) = 3, ceil(2560 / 512) = 5, ceil(3840 / 512) = 8): 3 + 2 +
  // 3 + 0 = 8. On an input-stationary array each of the 4 tiles reads it once: 32,768 B.
  NpuConfig c = testing::npu_from_yaml(R"(
name: sram-passes
mac_array: {rows: 512, cols: 512, dataflow: weight_stationary}
gemv_engine: {lanes: 64, macs_per_lane: 256}
dequantizer: {table_rows: 256}
sram: {weight_buffer_bytes: 2097152}
dram: {model: channel, preset: hbm3, channels: 1}
)");
  Op op = test_linear(4096, 4096, PrecisionFormat::anyprec(3, 4), 1);
  op.sram_activation_read_bytes = 8192;
  op.sram_activation_write_bytes = 8192;
  EXPECT_EQ(op_sram_bytes(c, op).read, 8192u);
  EXPECT_EQ(op_sram_bytes(c, op).write, 8192u);
  c.gemv_lanes = 0;
  EXPECT_EQ(op_sram_bytes(c, op).read, 65536u);
  EXPECT_EQ(input_passes(c.mac_array_shape(), 3840, 256), 0u);
  c.mac_dataflow = "input_stationary";
  EXPECT_EQ(op_sram_bytes(c, op).read, 32768u);
}

TEST(Dequantizer, TableLoadWhenTheRowBlockChanges) {
  const auto cycles = run_forked([] {
    const NpuConfig c = small_config();
    TimedTileQueue in, out;
    Dequantizer dq("dq", c, in, out);
    const Op op = test_linear(4096, 1024, PrecisionFormat::anyprec(3, 4));
    TilePlan plan;
    plan.rows_per_tile = 100;  // deliberately not a multiple of the 64-row block
    plan.tiles = 11;
    AddressMap map;
    std::vector<uint64_t> r;
    for (uint64_t i = 0; i < 3; ++i) r.push_back(dq.tile_cycles(make_tile(op, plan, map.place(op), i)));
    r.push_back(dq.table_loads());
    const Op uni = test_linear(4096, 1024, PrecisionFormat::uniform(3, 128));
    r.push_back(dq.tile_cycles(make_tile(uni, plan, map.place(uni), 0)));
    const Op half = test_linear(4096, 1024, PrecisionFormat::fp16());
    r.push_back(dq.tile_cycles(make_tile(half, plan, map.place(half), 0)));
    return r;
  });
  // Tile 0: rows 0-99 = blocks 0 and 1: 2 loads * 32 + 100*4096/4096 = 100 decode cycles -> 164.
  // Tile 1: rows 100-199 = blocks 1..3; block 1 is still loaded: 2 loads -> 64 + 100 = 164.
  // Tile 2: rows 200-299 = blocks 3..4; block 3 is still loaded: 1 load -> 32 + 100 = 132.
  // Loads so far: 2 + 2 + 1 = 5. Uniform: 100 decode cycles, no table. fp16: bypass, 0 cycles.
  ASSERT_EQ(cycles.size(), 6u);
  EXPECT_EQ(cycles[0], 164u);
  EXPECT_EQ(cycles[1], 164u);
  EXPECT_EQ(cycles[2], 132u);
  EXPECT_EQ(cycles[3], 5u);
  EXPECT_EQ(cycles[4], 100u);
  EXPECT_EQ(cycles[5], 0u);
}

TEST(ComputeUnits, IdealMacArrayTakesCeilCycles) {
  const auto r = run_forked([] {
    NpuConfig c = small_config();
    c.mac_dataflow = "ideal";
    MacArray mac("mac", c.mac_array_shape(), c.core_period_ps());
    return std::vector<uint64_t>{mac.cycles_for({1, 256 * 3 + 1, 1}), mac.cycles_for({0, 5, 5})};
  });
  // 769 MACs on 256 a cycle -> 4 cycles; no tokens -> nothing.
  EXPECT_EQ(r, (std::vector<uint64_t>{4, 0}));
}

TEST(ComputeUnits, VectorCyclesArePassesTimesCostOverLanes) {
  NpuConfig c = small_config();  // 64 lanes
  c.vector_costs[static_cast<size_t>(workloads::VectorFunction::kSoftmax)] = {3, 1.5};
  Op softmax;
  softmax.kind = workloads::OpKind::kSoftmax;
  softmax.vector_function = workloads::VectorFunction::kSoftmax;
  softmax.vector_elements = 640;
  // 640 elements x 3 passes x 1.5 cycles / 64 lanes = 45 cycles exactly (no rounding up through binary error).
  EXPECT_EQ(c.vector_cycles(softmax), 45u);
  // 1 element: 4.5 element-cycles on 64 lanes -> 1 cycle.
  softmax.vector_elements = 1;
  EXPECT_EQ(c.vector_cycles(softmax), 1u);
  // An operator of no declared function costs one pass of one cycle: 640 / 64 = 10.
  Op plain;
  plain.vector_elements = 640;
  EXPECT_EQ(c.vector_cycles(plain), 10u);
  plain.vector_elements = 0;
  EXPECT_EQ(c.vector_cycles(plain), 0u);
}

}  // namespace
}  // namespace npusim::hw

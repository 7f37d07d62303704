// Exact-picosecond tests of the whole NPU pipeline (streamer -> dequantizer -> MAC array) on hand-built phases.
// The DRAM is one HBM3-speed pseudo-channel: 32 bits x 6400 MT/s = 25.6 B/ns.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/fork_run.h"
#include "hw_models/npu.h"
#include "tests/support/npu_yaml.h"
#include "tests/support/test_ops.h"

namespace npusim::hw {
namespace {

using workloads::Op;
using workloads::OpKind;
using workloads::PrecisionFormat;

// Hands out the given phases and records each one's statistics.
class ListSource : public IWorkSource {
 public:
  explicit ListSource(std::vector<std::vector<Op>> phases) : phases_(std::move(phases)) {}
  const std::vector<Op>* next_phase() override { return next_ < phases_.size() ? &phases_[next_++] : nullptr; }
  void phase_done(const PhaseStats& s) override { done.push_back(s); }
  std::vector<PhaseStats> done;

 private:
  std::vector<std::vector<Op>> phases_;
  size_t next_ = 0;
};

// 1 ns cycles, 256 MACs a cycle (the ideal rate: the pipeline, not the array's dataflow, is under test), 64 vector
// lanes, one HBM3 pseudo-channel; streamer and SRAM at their defaults unless a test sets them. The DRAM is the
// channel model (read latency 30 ns, write latency 6 ns: a DRAM whose timing is one number, so that the pipeline's
// own timing is what the expected figures derive), or with `command` the command-level model at the preset's
// timings.
NpuConfig one_channel_config(bool command = false) {
  return testing::npu_from_yaml(std::string(R"(
name: one-channel
core: {clock_mhz: 1000}
mac_array: {rows: 16, cols: 16, dataflow: ideal}
vector_unit: {lanes: 64}
)") + (command ? "dram: {preset: hbm3, channels: 1}\n"
               : "dram: {model: channel, preset: hbm3, channels: 1, read_latency_ns: 30, write_latency_ns: 6}\n"));
}

Op kv_read(uint64_t bytes) {
  Op op;
  op.name = "layer.0.attn.score";
  op.kind = OpKind::kAttentionScore;
  op.layer = 0;
  op.kv_read_bytes = bytes;
  return op;
}

std::vector<uint64_t> run_one_phase(const NpuConfig& c, std::vector<Op> ops) {
  return run_forked([c, ops] {
    ListSource source({ops});
    simulate(c, source);
    const PhaseStats& s = source.done.at(0);
    return std::vector<uint64_t>{s.time_ps(), s.dram_read_bytes, s.mac_busy_cycles, s.buffer_stall_ps};
  });
}

// The phase time of a 4096 B KV read in 1024 B requests with 1 and with 4 of them outstanding.
std::vector<uint64_t> kv_read_times(NpuConfig c) {
  c.dma_request_bytes = 1024;
  c.weight_buffer_bytes = 4096;
  std::vector<uint64_t> times;
  for (const int64_t outstanding : {1, 4}) {
    c.dma_max_outstanding = outstanding;
    times.push_back(run_one_phase(c, {kv_read(4096)}).at(0));
  }
  return times;
}

TEST(NpuTop, OutstandingRequestsBoundTheStream) {
  // A 4096 B read in 1024 B requests. One request = 1024 / 25.6 = 40 ns on the bus after 30 ns latency.
  // One outstanding request: each waits for the previous one: 4 * (30 + 40) ns = 280 ns. Four outstanding: the
  // latency is paid once and the bus stays busy: 30 + 4 * 40 = 190 ns.
  EXPECT_EQ(kv_read_times(one_channel_config()), (std::vector<uint64_t>{280000, 190000}));
}

TEST(NpuTop, OutstandingRequestsBoundTheStreamAtCommandLevel) {
  // The same 4096 B read in 1024 B requests on one HBM3 pseudo-channel at command level. HBM3 (JESD238 as the
  // preset gives it) in CK cycles of 0.625 ns: tRCD 31, tCL 20, tRRD_S 4, tCCD_S 2, tCCD_L 4, a 32 B burst 2
  // cycles; separate row and column command buses. The channel-first mapping with one channel puts consecutive
  // bursts in bank groups 0, 1, 2, 3, 0, ... along one row each: the 4 KiB-aligned KV range is 128 bursts, one
  // row in each of the 4 bank groups, all closed at the start. The first per-bank refresh is due at tREFI / 16 =
  // 243.75 ns = cycle 390, after both runs below end, and nothing is idle long enough before it to issue it early.
  // One outstanding: request 0 (8 bursts per bank group) opens the rows: ACTs at 0, 4, 8, 12 (tRRD_S), the first
  // read (group 0) at tRCD = 31; at 33 nothing is ready (group 0 waits tCCD_L to 35, group 1 its tRCD to
  // 4 + 31 = 35); from 35 on a read every tCCD_S = 2 cycles to 95 (32 reads), data to 95 + tCL + 2 = 117. The
  // rows stay open (open page), so each later request is 32 row hits handed over when the previous one completes:
  // reads every 2 cycles from the hand-over (bank groups alternate, so tCCD_L is met), data ends 62 + 22 = 84
  // cycles after it: 117 + 3 x 84 = 369 cycles = 230.625 ns (the channel model's 280 ns pays the row-opening
  // latency four times).
  // Four outstanding (all 128 bursts queued at 0): the same opening, then from 35 on at least one group is ready
  // every other cycle (tCCD_L = 2 x tCCD_S over four groups): the last read at 35 + 126 x 2 = 287, its data ends
  // at 287 + 22 = 309 cycles = 193.125 ns.
  EXPECT_EQ(kv_read_times(one_channel_config(/*command=*/true)), (std::vector<uint64_t>{230625, 193125}));
}

TEST(NpuTop, DoubleBufferingOverlapsStreamingAndCompute) {
  // fp16 linear K = 640, N = 8: a row is 1280 B; a 2560 B buffer holds 2 rows, so 4 tiles of 2560 B.
  // Streaming a tile: 2560 / 25.6 = 100 ns (latency 0 here). MACs per tile: 2 rows * 640 * 30 tokens = 38400
  // = 150 cycles of 256 MACs = 150 ns. fp16 bypasses the dequantizer.
  NpuConfig c = one_channel_config();
  c.dram.read_latency_ns = 0;
  c.dma_request_bytes = 2560;
  c.weight_buffer_bytes = 2560;
  const Op op = testing::test_linear(640, 8, PrecisionFormat::fp16(), 30);
  // Double buffering: tile 0 lands at 100 ns, then compute-bound: 100 + 4 * 150 = 700 ns.
  c.weight_buffers = 2;
  const auto two = run_one_phase(c, {op});
  EXPECT_EQ(two.at(0), 700000u);
  EXPECT_EQ(two.at(1), 10240u);  // every byte once
  EXPECT_EQ(two.at(2), 600u);    // 4 * 150 MAC cycles
  // The DRAM idles for want of a buffer: tiles 0 and 1 land at 100 and 200 ns; tile 2 gets tile 0's buffer when
  // the MACs finish it at 250 (idle 200-250), tile 3 gets tile 1's at 400 after tile 2 landed at 350 (idle
  // 350-400): 100 ns of compute stall.
  EXPECT_EQ(two.at(3), 100000u);
  // One buffer: nothing overlaps: 4 * (100 + 150) = 1000 ns, and the DRAM idles during each tile's 150 ns of
  // MACs before the next can be fetched: 3 * 150 = 450 ns.
  c.weight_buffers = 1;
  const auto one = run_one_phase(c, {op});
  EXPECT_EQ(one.at(0), 1000000u);
  EXPECT_EQ(one.at(3), 450000u);
}

TEST(NpuTop, DequantizerSitsBetweenStreamAndMacs) {
  // anyprec:2 linear K = 4096, N = 64: planes 4096*2/8 = 1024 B + table 4*2 = 8 B a row = 1032 B; 64 rows =
  // 66048 B, one tile (1 MiB buffer). Stream: 66048 / 25.6 = 2580 ns, plus 30 ns latency, with 4096 B requests
  // and 64 outstanding (the bus never idles): 2610 ns. Dequantizer: one 64-row block: 32 cycles of table load +
  // 64*4096/4096 = 64 cycles = 96 ns. MAC: 64*4096 / 256 = 1024 ns. Total 2610 + 96 + 1024 = 3730 ns.
  NpuConfig c = one_channel_config();
  c.dequant_codes_per_cycle = 4096;
  c.dequant_table_rows = 64;
  c.dequant_table_load_cycles = 32;
  const Op op = testing::test_linear(4096, 64, PrecisionFormat::anyprec(2, 4));
  EXPECT_EQ(run_one_phase(c, {op}).at(0), 3730000u);
}

TEST(NpuTop, VectorOpsAndPostedWritesEndThePhase) {
  // A vector op of 6400 elements on 64 lanes = 100 cycles = 100 ns; then one token's K and V, 32 B each, posted
  // at 100 ns on the one channel: K's burst 100-101.25 ns, V's 101.25-102.5 ns, each absorbed 6 ns later: the
  // phase ends at 108.5 ns.
  NpuConfig c = one_channel_config();
  Op norm;
  norm.name = "layer.0.input_norm";
  norm.kind = OpKind::kNorm;
  norm.vector_elements = 6400;
  Op write;
  write.name = "layer.0.kv_write";
  write.kind = OpKind::kKvWrite;
  write.layer = 0;
  write.kv_write_bytes = 64;
  write.tokens = 1;
  write.n = 1;
  EXPECT_EQ(run_one_phase(c, {norm, write}).at(0), 108500u);
}

// The DoubleBuffering phase (4 tiles of an fp16 linear, each landing in time for the MACs: they end at 250,
// 400, 550 and 700 ns) followed by a vector op of 240 cycles (15360 elements, one pass, on 64 lanes): the phase
// time, the linear's and the vector op's class counters.
struct OverlapRun {
  uint64_t time_ps, mlp_time_ps, mlp_vector_cycles, vector_time_ps, vector_cycles, mlp_pe_cycles, mlp_macs,
      mlp_bytes;
};
OverlapRun run_linear_then_vector(bool overlap, workloads::VectorFunction f) {
  NpuConfig c = one_channel_config();
  c.dram.read_latency_ns = 0;
  c.dma_request_bytes = 2560;
  c.weight_buffer_bytes = 2560;
  c.vector_overlap_elementwise = overlap;
  c.vector_costs[static_cast<size_t>(workloads::VectorFunction::kRmsNorm)] = {3, 1.0};
  Op linear = testing::test_linear(640, 8, PrecisionFormat::fp16(), 30);
  linear.op_class = workloads::OpClass::kMlp;
  Op vec;
  vec.name = "layer.0.vector";
  vec.kind = OpKind::kResidual;
  vec.vector_function = f;
  vec.vector_elements = f == workloads::VectorFunction::kRmsNorm ? 5120 : 15360;  // 240 cycles either way
  vec.op_class = workloads::OpClass::kVector;
  const auto r = run_forked([c, linear, vec] {
    ListSource source({{linear, vec}});
    simulate(c, source);
    const PhaseStats& s = source.done.at(0);
    const OpClassCounters& mlp = s.by_class[static_cast<size_t>(workloads::OpClass::kMlp)];
    const OpClassCounters& v = s.by_class[static_cast<size_t>(workloads::OpClass::kVector)];
    return std::vector<uint64_t>{s.time_ps(), mlp.time_ps,          mlp.vector_busy_cycles,
                                 v.time_ps,   v.vector_busy_cycles, mlp.pe_busy_cycles,
                                 mlp.macs,    mlp.dram_read_bytes};
  });
  return {r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]};
}

TEST(NpuTop, ElementwiseVectorWorkOverlapsTheLinearBeforeIt) {
  // Overlapped: the residual add's 240 cycles are shared over the 4 tiles by rows (2 of 8 each: 60 cycles), each
  // share issued when its tile's MACs end: the vector unit runs 250-310, 400-460, 550-610 and 700-760 ns; the
  // residual op itself only waits out the last share: the phase ends at 760 ns. The linear's class holds its 700
  // ns and the 240 overlapped cycles; the residual's class the 60 ns wait.
  const OverlapRun on = run_linear_then_vector(true, workloads::VectorFunction::kResidualAdd);
  EXPECT_EQ(on.time_ps, 760000u);
  EXPECT_EQ(on.mlp_time_ps, 700000u);
  EXPECT_EQ(on.mlp_vector_cycles, 240u);
  EXPECT_EQ(on.vector_time_ps, 60000u);
  EXPECT_EQ(on.vector_cycles, 0u);
  // The ideal array: 600 busy cycles x 256 PEs = 153600 PE-cycles for 30 x 640 x 8 = 153600 MACs (100%); the
  // class's bytes: 8 rows x 1280 B.
  EXPECT_EQ(on.mlp_pe_cycles, 153600u);
  EXPECT_EQ(on.mlp_macs, 153600u);
  EXPECT_EQ(on.mlp_bytes, 10240u);
  // Serialised (overlap off): 700 + 240 = 940 ns, all 240 cycles in the residual's class.
  const OverlapRun off = run_linear_then_vector(false, workloads::VectorFunction::kResidualAdd);
  EXPECT_EQ(off.time_ps, 940000u);
  EXPECT_EQ(off.mlp_time_ps, 700000u);
  EXPECT_EQ(off.vector_time_ps, 240000u);
  EXPECT_EQ(off.vector_cycles, 240u);
  EXPECT_EQ(off.mlp_vector_cycles, 0u);
}

TEST(NpuTop, AReductionWaitsForItsWholeInput) {
  // RMSNorm needs the whole vector before it scales: 5120 elements x 3 passes / 64 lanes = 240 cycles after the
  // linear's 700 ns, overlap or not: 940 ns.
  EXPECT_EQ(run_linear_then_vector(true, workloads::VectorFunction::kRmsNorm).time_ps, 940000u);
}

TEST(NpuTop, ActivationSramBandwidthStretchesCompute) {
  // The DoubleBuffering linear (30 tokens x 640 inputs, 8 outputs; 4 tiles of 2 rows, each landing by the time
  // the MACs want it) with its input on chip (30 x 640 x 2 = 38,400 B) and its output too (30 x 8 x 2 = 480 B),
  // then the 240-cycle residual add reading two 15360-element fp16 tensors (61,440 B) and writing one (30,720 B),
  // serialised. Unbounded ports: 100 + 4 x 150 + 240 = 940 ns.
  // Read port 128 B/cycle, write port 64 B/cycle: the ideal array reads the input once per tile, 38,400 / 128 =
  // 300 cycles against 150 of MACs (its 120 B of output take 2 write cycles), so 100 + 4 x 300 = 1300 ns; the
  // add's reads take 480 cycles and its writes 480 (against 240 of lanes): 1780 ns.
  NpuConfig c = one_channel_config();
  c.dram.read_latency_ns = 0;
  c.dma_request_bytes = 2560;
  c.weight_buffer_bytes = 2560;
  c.vector_overlap_elementwise = false;
  Op linear = testing::test_linear(640, 8, PrecisionFormat::fp16(), 30);
  linear.sram_activation_read_bytes = 38400;
  linear.sram_activation_write_bytes = 480;
  Op add;
  add.name = "layer.0.residual";
  add.kind = OpKind::kResidual;
  add.vector_function = workloads::VectorFunction::kResidualAdd;
  add.vector_elements = 15360;
  add.sram_activation_read_bytes = 61440;
  add.sram_activation_write_bytes = 30720;
  EXPECT_EQ(run_one_phase(c, {linear, add}).at(0), 940000u);
  c.activation_read_bytes_per_cycle = 128;
  c.activation_write_bytes_per_cycle = 64;
  const auto bound = run_one_phase(c, {linear, add});
  EXPECT_EQ(bound.at(0), 1780000u);
  EXPECT_EQ(bound.at(2), 1200u);  // the array's busy cycles include the SRAM-bound stretch
}

TEST(NpuTop, ClassCountersSplitAPhaseExactly) {
  // A llama decode step of a small model on the one-channel NPU: the core runs operators one at a time, so the
  // classes' times add up to the phase's up to the posted K/V writes' drain at its end (at most the two writes'
  // bursts and their write latency: far below a microsecond); the classes' bytes are exactly what
  // phase_bus_bytes computes from the tiles without simulating, and their MACs the operators'.
  workloads::ModelShape m;
  m.name = "tiny";
  m.architecture = "llama";
  m.hidden_size = 256;
  m.intermediate_size = 688;
  m.num_layers = 2;
  m.num_heads = 4;
  m.num_kv_heads = 4;
  m.head_dim = 64;
  m.vocab_size = 1000;
  const std::vector<Op> ops =
      workloads::lower_decode_step(m, PrecisionFormat::anyprec(3, 4), 40, workloads::LoweringOptions{});
  NpuConfig c = one_channel_config();
  c.gemv_lanes = 4;
  c.gemv_macs_per_lane = 64;
  const PhaseBusBytes exact = phase_bus_bytes(c, ops);
  const auto r = run_forked([c, ops] {
    ListSource source({ops});
    simulate(c, source);
    const PhaseStats& s = source.done.at(0);
    std::vector<uint64_t> out{s.time_ps(), s.macs};
    for (const OpClassCounters& k : s.by_class) {
      out.insert(out.end(), {k.time_ps, k.dram_read_bytes, k.dram_write_bytes, k.macs, k.gemv_busy_cycles,
                             k.array_busy_cycles});
    }
    return out;
  });
  uint64_t time_ps = 0, macs = 0;
  for (size_t k = 0; k < workloads::kOpClasses; ++k) {
    const uint64_t* f = &r[2 + 6 * k];
    SCOPED_TRACE(workloads::op_class_name(static_cast<workloads::OpClass>(k)));
    time_ps += f[0];
    macs += f[3];
    EXPECT_EQ(f[1], exact.class_read_bytes[k]);
    EXPECT_EQ(f[2], exact.class_write_bytes[k]);
    uint64_t op_macs = 0;
    for (const Op& op : ops) op_macs += static_cast<size_t>(op.op_class) == k ? op.macs : 0;
    EXPECT_EQ(f[3], op_macs);
    EXPECT_EQ(f[5], 0u);  // one-token products all run on the GEMV engine
  }
  EXPECT_EQ(macs, r[1]);
  EXPECT_LE(time_ps, r[0]);
  EXPECT_LT(r[0] - time_ps, 1000000u);
  EXPECT_GT(r[2 + 6 * static_cast<size_t>(workloads::OpClass::kMlp) + 4], 0u);  // the MLP ran on the GEMV engine
}

}  // namespace
}  // namespace npusim::hw

// Every NPU field is declared here, once: name, unit, meaning, default and valid range. `npusim describe npu`
// prints these declarations; configs/npu/*.yaml repeat them as comments for the reader.
#include "common/config.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "hw_models/dram/address_mapping.h"
#include "hw_models/npu.h"

namespace npusim::hw {

uint64_t NpuConfig::core_period_ps() const {
  return static_cast<uint64_t>(std::llround(1.0e6 / core_clock_mhz));
}

double NpuConfig::peak_macs_per_s() const {
  return static_cast<double>(mac_rows * mac_cols) * 1.0e12 / static_cast<double>(core_period_ps());
}

ArrayShape NpuConfig::mac_array_shape() const {
  return {dataflow_of(mac_dataflow), static_cast<uint64_t>(mac_rows), static_cast<uint64_t>(mac_cols),
          mac_double_buffered};
}

ArrayShape NpuConfig::gemv_engine_shape() const {
  return {Dataflow::kGemv, static_cast<uint64_t>(std::max<int64_t>(gemv_lanes, 1)),
          static_cast<uint64_t>(gemv_macs_per_lane), true};
}

uint64_t NpuConfig::vector_cycles(const workloads::Op& op) const {
  if (op.vector_elements == 0) return 0;
  const VectorCost& cost = vector_costs[static_cast<size_t>(op.vector_function)];
  // Element-cycles over the lanes, rounded up; the small epsilon keeps exact products (e.g. 1.5 x 4) from rounding
  // up through binary error.
  const double element_cycles =
      static_cast<double>(op.vector_elements) * static_cast<double>(cost.passes) * cost.cycles_per_element;
  return static_cast<uint64_t>(std::ceil(element_cycles / static_cast<double>(vector_lanes) - 1e-9));
}

uint64_t NpuConfig::vector_op_cycles(const workloads::Op& op) const {
  return std::max(vector_cycles(op), sram_cycles(op.sram_activation_read_bytes, op.sram_activation_write_bytes));
}

const workloads::Op* NpuConfig::overlapped_vector_op(const std::vector<workloads::Op>& ops, size_t i) const {
  size_t next = i + 1;
  while (next < ops.size() && ops[next].placement_only) ++next;
  if (!vector_overlap_elementwise || ops[i].kind != workloads::OpKind::kLinear || next >= ops.size() ||
      ops[next].vector_elements == 0 || !workloads::elementwise(ops[next].vector_function)) {
    return nullptr;
  }
  return &ops[next];
}

ArrayShape NpuConfig::array_shape_for(const workloads::Op& op) const {
  return runs_on_gemv_engine(op) ? gemv_engine_shape() : mac_array_shape();
}

uint64_t NpuConfig::sram_cycles(uint64_t read_bytes, uint64_t write_bytes) const {
  const auto port = [](uint64_t bytes, int64_t per_cycle) {
    return per_cycle > 0 ? (bytes + static_cast<uint64_t>(per_cycle) - 1) / static_cast<uint64_t>(per_cycle) : 0;
  };
  return std::max(port(read_bytes, activation_read_bytes_per_cycle),
                  port(write_bytes, activation_write_bytes_per_cycle));
}

bool NpuConfig::runs_on_gemv_engine(const workloads::Op& op) const {
  if (gemv_lanes <= 0 || op.tokens != 1 || op.macs == 0) return false;
  return op.kind == workloads::OpKind::kLinear || gemv_runs == "all";
}

namespace {

constexpr int64_t kMaxCount = int64_t{1} << 40;

DramTimings read_timings(ConfigSection& s, const DramTimings& p) {
  DramTimings t;
  const auto ns = [&](const char* key, const char* meaning, double preset) {
    return s.real(key, "ns", meaning, preset, 0, 1e7);
  };
  t.tRCD = ns("tRCD", "ACT to read command, same bank (tRCDRD)", p.tRCD);
  t.tRCD_WR = ns("tRCD_WR", "ACT to write command, same bank (HBM's tRCDWR; 0: tRCD)", p.tRCD_WR);
  t.tRP = ns("tRP", "PRE to ACT, same bank", p.tRP);
  t.tRAS = ns("tRAS", "ACT to PRE, same bank", p.tRAS);
  t.tRC = ns("tRC", "ACT to ACT, same bank", p.tRC);
  t.tCL = ns("tCL", "read command to first data (tRL)", p.tCL);
  t.tWL = ns("tWL", "write command to first data", p.tWL);
  t.tCCD_S = ns("tCCD_S", "column to column, different bank group", p.tCCD_S);
  t.tCCD_L = ns("tCCD_L", "column to column, same bank group", p.tCCD_L);
  t.tCCD_L_WR = ns("tCCD_L_WR", "write to write, same bank group (DDR5; 0: tCCD_L)", p.tCCD_L_WR);
  t.tRRD_S = ns("tRRD_S", "ACT to ACT, different bank group of a rank", p.tRRD_S);
  t.tRRD_L = ns("tRRD_L", "ACT to ACT, same bank group", p.tRRD_L);
  t.tFAW = ns("tFAW", "window that holds at most four ACTs of a rank", p.tFAW);
  t.tWTR_S = ns("tWTR_S", "end of write data to read command, different bank group", p.tWTR_S);
  t.tWTR_L = ns("tWTR_L", "end of write data to read command, same bank group", p.tWTR_L);
  t.tRTP = ns("tRTP", "read command to PRE, same bank", p.tRTP);
  t.tWR = ns("tWR", "end of write data to PRE, same bank (write recovery)", p.tWR);
  t.tRTRS = ns("tRTRS", "data-bus turnaround between reads and writes or between ranks", p.tRTRS);
  t.tRTW = ns("tRTW", "read command to write command (HBM3; 0: only the data bus and tRTRS)", p.tRTW);
  t.tPPD = ns("tPPD", "PRE to PRE, same rank (0: none)", p.tPPD);
  t.tRREFD = ns("tRREFD", "per-bank REF to per-bank REF, same rank (LPDDR's tpbR2pbR; 0: none)", p.tRREFD);
  t.tREFI = ns("tREFI", "refresh interval; per-bank refresh sends one bank's REF every tREFI / banks", p.tREFI);
  t.tRFC = ns("tRFC", "all-bank refresh: the rank is busy this long", p.tRFC);
  t.tRFCpb = ns("tRFCpb", "per-bank refresh: the bank is busy this long", p.tRFCpb);
  s.finish();
  return t;
}

DramEnergy read_energy(ConfigSection& s, const DramEnergy& p) {
  DramEnergy e;
  e.act_pj = s.real("act_pj", "pJ", "one ACT with its PRE", p.act_pj, 0, 1e9);
  e.read_pj_per_bit =
      s.real("read_pj_per_bit", "pJ/bit", "reading one bit (array and I/O)", p.read_pj_per_bit, 0, 1e6);
  e.write_pj_per_bit =
      s.real("write_pj_per_bit", "pJ/bit", "writing one bit (I/O and array)", p.write_pj_per_bit, 0, 1e6);
  e.refresh_pj = s.real("refresh_pj", "pJ", "one all-bank refresh of a rank (a per-bank one costs this / banks)",
                        p.refresh_pj, 0, 1e12);
  e.background_mw = s.real("background_mw", "mW", "standby power of one channel", p.background_mw, 0, 1e6);
  s.finish();
  return e;
}

DramConfig read_dram(ConfigSection& s) {
  DramConfig c;
  c.model = s.choice(
      "model",
      "DRAM model: 'command' (every ACT, PRE, read, write and refresh under the preset's timings, "
      "scheduled first-ready FR-FCFS) or 'channel' (an approximation: each channel one data bus moving whole "
      "bursts at the data rate after the unloaded latency; no banks, rows or refresh)",
      "command", dram_model_names());
  c.preset = s.choice("preset", "DRAM standard and speed; fills every field below, each overridable", std::nullopt,
                      dram_preset_names());
  const DramConfig p = dram_preset(c.preset);
  c.scheduler = s.choice(
      "scheduler",
      "command model: frfcfs (the command ready first among all queued bursts; row hits, then the oldest, "
      "on a tie) or fcfs (the oldest burst's commands only)",
      p.scheduler, {"frfcfs", "fcfs"});
  c.starvation_cap = s.integer("starvation_cap", "bursts",
                               "command model, frfcfs: a burst that this many younger bursts went ahead of is "
                               "served next (0: no cap)",
                               p.starvation_cap, 0, 1 << 20);
  c.read_queue_bursts = s.integer("read_queue_bursts", "bursts",
                                  "command model: read queue entries per channel (the scheduler's window)",
                                  p.read_queue_bursts, 1, 4096);
  c.write_queue_bursts =
      s.integer("write_queue_bursts", "bursts",
                "command model: write queue entries per channel; a write is accepted when it enters",
                p.write_queue_bursts, 1, 4096);
  c.write_high_watermark =
      s.real("write_high_watermark", "fraction",
             "command model: write-queue occupancy that starts draining writes ahead of reads",
             p.write_high_watermark, 0, 1);
  c.write_low_watermark =
      s.real("write_low_watermark", "fraction",
             "command model: occupancy at which a drain ends while reads wait (below the high watermark)",
             p.write_low_watermark, 0, 1);
  c.refresh_postpone = s.integer("refresh_postpone", "refreshes",
                                 "command model: refreshes a busy controller may owe before it must refresh "
                                 "(it catches up when idle; 0: refresh exactly when due)",
                                 p.refresh_postpone, 0, 8);
  c.refresh_pull_in = s.integer("refresh_pull_in", "refreshes",
                                "command model, per-bank refresh: REFpbs a controller may issue before they fall "
                                "due, each to a bank of its round that no queued burst wants and only where it "
                                "can start by the next planned command (0: a REFpb waits until it is due)",
                                p.refresh_pull_in, 0, 8);
  c.refresh_stagger =
      s.choice("refresh_stagger",
               "command model: none (every channel's controller refreshes on the same schedule, "
               "as DRAMsim3's and Ramulator 2's do) or channels (channel c's schedule offset by c / "
               "channels of an interval, spreading the refresh current; a request spread over "
               "every channel then meets some channel's refresh more often)",
               p.refresh_stagger, {"none", "channels"});
  if (!s.documenting() && c.write_low_watermark >= c.write_high_watermark) {
    s.fail(s.node_of("write_low_watermark"), "write_low_watermark",
           "must be below write_high_watermark (" + std::to_string(c.write_high_watermark) + ")");
  }
  s.describe_defaults_as("the preset's value");
  c.channels =
      s.integer("channels", "channels",
                "independent (pseudo-)channels in the system (a preset gives one device's)", p.channels, 1, 4096);
  c.bus_width_bits =
      s.integer("bus_width_bits", "bits", "data pins per (pseudo-)channel", p.bus_width_bits, 8, 1024);
  c.data_rate_mtps =
      s.integer("data_rate_mtps", "MT/s", "transfers per second per pin", p.data_rate_mtps, 100, 100000);
  c.burst_length = s.integer("burst_length", "beats", "beats per burst", p.burst_length, 1, 64);
  c.transfers_per_clock =
      s.integer("transfers_per_clock", "transfers",
                "command model: data transfers per command-clock cycle (CK = data_rate_mtps / this; commands and "
                "timings are whole CK cycles)",
                p.transfers_per_clock, 1, 64);
  c.command_buses = s.choice("command_buses",
                             "command model: shared (one command per CK) or row_column (one row and one column "
                             "command per CK, as HBM has)",
                             p.command_buses, {"shared", "row_column"});
  c.ranks = s.integer("ranks", "ranks", "command model: ranks per channel", p.ranks, 1, 16);
  c.bank_groups =
      s.integer("bank_groups", "groups", "command model: bank groups per rank (1: none)", p.bank_groups, 1, 64);
  c.banks_per_group =
      s.integer("banks_per_group", "banks", "command model: banks in each group", p.banks_per_group, 1, 64);
  c.rows = s.integer("rows", "rows", "command model: rows per bank", p.rows, 1, int64_t{1} << 24);
  c.row_bytes = s.integer("row_bytes", "bytes", "command model: page size, the bytes one ACT opens in a channel",
                          p.row_bytes, 32, 1 << 20);
  c.address_mapping = s.text("address_mapping",
                             "command model: address fields from the most significant bit, e.g. rorabacobgch "
                             "(channel-first) or rorabgbachco (row-bank-channel)",
                             p.address_mapping);
  c.page_policy = s.choice("page_policy", "command model: open (rows stay open) or closed (auto-precharge)",
                           p.page_policy, {"open", "closed"});
  c.refresh = s.choice("refresh", "command model: all_bank, per_bank or none", p.refresh,
                       {"all_bank", "per_bank", "none"});
  ConfigSection timing = s.section("timing", "command model: JEDEC timings of the preset's speed bin");
  c.timing = read_timings(timing, p.timing);
  ConfigSection energy = s.section("energy", "energy estimates per command and per bit");
  c.energy = read_energy(energy, p.energy);
  c.read_latency_ns =
      s.real("read_latency_ns", "ns", "channel model: unloaded read latency (default tRCD + tCL of the timings)",
             c.timing.tRCD + c.timing.tCL, 0, 10000);
  c.write_latency_ns = s.real("write_latency_ns", "ns",
                              "channel model: time for written data to be absorbed after its burst (default tWL)",
                              c.timing.tWL, 0, 10000);
  c.interleave_bytes = s.integer("interleave_bytes", "bytes",
                                 "channel model: consecutive bytes on one channel before moving to the next",
                                 p.interleave_bytes, 32, 1 << 20);
  if (!s.documenting() && c.burst_length % c.transfers_per_clock != 0) {
    s.fail(s.node_of("transfers_per_clock"), "transfers_per_clock",
           "must divide burst_length (" + std::to_string(c.burst_length) + "): a burst lasts whole CK cycles");
  }
  if (!s.documenting() && (c.bus_width_bits % 8 != 0)) {
    s.fail(s.node_of("bus_width_bits"), "bus_width_bits", "must be a multiple of 8");
  }
  if (!s.documenting() && c.interleave_bytes % static_cast<int64_t>(c.burst_bytes()) != 0) {
    s.fail(s.node_of("interleave_bytes"), "interleave_bytes",
           "must be a multiple of the burst (" + std::to_string(c.burst_bytes()) + " bytes)");
  }
  s.finish();
  if (!s.documenting() && c.model == "command") {
    // The command model maps addresses by bit fields: every count must be a power of two.
    const std::pair<const char*, int64_t> counts[] = {{"channels", c.channels},
                                                      {"ranks", c.ranks},
                                                      {"bank_groups", c.bank_groups},
                                                      {"banks_per_group", c.banks_per_group},
                                                      {"rows", c.rows},
                                                      {"row_bytes", c.row_bytes}};
    for (const auto& [key, count] : counts) {
      if (count <= 0 || (count & (count - 1)) != 0) {
        s.fail(s.node_of(key), key, "the command model needs a power of two, got " + std::to_string(count));
      }
    }
    // Refresh must leave room for a read between two refreshes of a bank, or no request could ever finish.
    if (c.refresh != "none") {
      const bool per_bank = c.refresh == "per_bank";
      const double busy_ns = (per_bank ? c.timing.tRFCpb : c.timing.tRFC) + c.timing.tRCD + c.timing.tCL +
                             static_cast<double>(c.burst_ps()) / 1000.0;
      if (!(c.timing.tREFI > busy_ns)) {
        ConfigSection timing = s.section("timing", "");
        timing.fail(timing.node_of("tREFI"), "tREFI",
                    format_number(c.timing.tREFI) +
                        " ns leaves no time for a read between refreshes (needs more "
                        "than " +
                        std::string(per_bank ? "tRFCpb" : "tRFC") + " + tRCD + tCL + a burst = " +
                        format_number(busy_ns) + " ns; use refresh: none to switch refresh off)");
      }
    }
    try {
      AddressMapper check(c);
    } catch (const InputError& e) {
      s.fail(s.node_of("address_mapping"), "address_mapping", e.what());
    }
  }
  return c;
}

}  // namespace

NpuConfig read_npu_config(ConfigSection& s) {
  NpuConfig c;
  c.name = s.text("name", "NPU name shown in reports", std::nullopt);
  c.description = s.text("description", "free text: what this NPU stands for", "");

  ConfigSection core = s.section("core", "clocking of the compute side");
  c.core_clock_mhz =
      core.real("clock_mhz", "MHz", "clock of the MAC array, vector unit and dequantizer", 1000, 1, 10000);
  core.finish();

  ConfigSection mac = s.section("mac_array", "the fp16 MAC array that runs linears and attention products");
  c.mac_rows = mac.integer("rows", "MACs", "rows of the array", 128, 1, 4096);
  c.mac_cols =
      mac.integer("cols", "MACs", "columns of the array; rows*cols MACs per cycle at full use", 128, 1, 4096);
  c.mac_dataflow = mac.choice(
      "dataflow",
      "how a matrix product is folded onto the array (hw_models/mac_dataflow.cc derives each): "
      "weight_stationary, output_stationary or input_stationary systolic array (SCALE-Sim's fold cycles: fill, "
      "skewed stream, drain); gemv (rows dot-product lanes of cols MACs and an adder tree); ideal (rows*cols "
      "MACs every cycle whatever the shape: an upper bound with no dataflow)",
      "weight_stationary", dataflow_names());
  c.mac_double_buffered = mac.flag("double_buffered",
                                   "systolic: a shadow copy of the stationary operand in every PE, so the next "
                                   "fold loads while the current one streams",
                                   true);
  mac.finish();

  ConfigSection gemv =
      s.section("gemv_engine",
                "an optional matrix-vector engine beside the MAC array (what LLM-decode NPUs add): "
                "one-token products run on it, the dequantizer feeding it");
  c.gemv_lanes = gemv.integer("lanes", "lanes", "independent dot-product lanes (0: no GEMV engine)", 0, 0, 65536);
  c.gemv_macs_per_lane =
      gemv.integer("macs_per_lane", "MACs", "MACs per lane and cycle, summed by an adder tree", 256, 1, 65536);
  c.gemv_runs = gemv.choice("runs",
                            "which one-token products run on it: linears (lm_head included), or all (attention "
                            "scores and values too); the rest run on the MAC array",
                            "all", {"linears", "all"});
  gemv.finish();

  ConfigSection vec = s.section("vector_unit", "SIMD unit for norms, softmax, RoPE, activations, residuals");
  c.vector_lanes = vec.integer("lanes", "elements/cycle", "element operations per cycle", 256, 1, 65536);
  c.vector_overlap_elementwise =
      vec.flag("overlap_elementwise",
               "an elementwise function (RoPE, SwiGLU, GELU, residual add) consumes the linear before it tile by "
               "tile, on the vector unit while the array computes the next tile; a reduction (norms, softmax) "
               "needs its whole input and always waits for it",
               true);
  // Default passes (one pass = one sweep of the elements over the lanes; exp, rsqrt and tanh one pass each, on a
  // special-function unit), and why:
  struct CostDefault {
    workloads::VectorFunction function;
    int64_t passes;
    const char* why;
  };
  const CostDefault defaults[] = {
      {workloads::VectorFunction::kRmsNorm, 3, "square-accumulate; scale by rsqrt(mean square); times the weight"},
      {workloads::VectorFunction::kLayerNorm, 4,
       "accumulate (mean); centred square-accumulate (variance); (x - mean) * rstd; weight * x + bias"},
      {workloads::VectorFunction::kRope, 2, "x * cos, then + rotate_half(x) * sin (one fma)"},
      {workloads::VectorFunction::kSoftmax, 3,
       "running max; exp(x - max) with the sum (the 1/sqrt(head_dim) scale and the causal mask fold in); "
       "times 1/sum"},
      {workloads::VectorFunction::kSwiGlu, 3, "sigmoid(gate); * gate (SiLU); * up"},
      {workloads::VectorFunction::kGelu, 4,
       "tanh approximation: x^2; fma to x + 0.044715 x^3; tanh of the scaled value; 0.5 x (1 + t) as one fma"},
      {workloads::VectorFunction::kResidualAdd, 1, "one add per added tensor (its elements count each tensor)"},
  };
  for (const CostDefault& d : defaults) {
    const std::string name = workloads::vector_function_name(d.function);
    ConfigSection f = vec.section(name, "cost of " + name + " (" + d.why + ")");
    VectorCost& cost = c.vector_costs[static_cast<size_t>(d.function)];
    cost.passes = f.integer("passes", "passes", "sweeps over the elements", d.passes, 1, 64);
    cost.cycles_per_element =
        f.real("cycles_per_element", "cycles",
               "cycles per element and pass in one lane (above 1: a slower function unit)", 1.0, 0.0625, 1024);
    f.finish();
  }
  vec.finish();

  ConfigSection dq = s.section("dequantizer", "codes to fp16 through centroid tables or group scale/zero");
  c.dequant_codes_per_cycle =
      dq.integer("codes_per_cycle", "weights/cycle", "weights decoded to fp16 per cycle", 4096, 1, 1 << 20);
  c.dequant_table_rows = dq.integer(
      "table_rows", "rows", "output rows whose centroid tables are held at once (a row block)", 64, 1, 1 << 20);
  c.dequant_table_load_cycles = dq.integer("table_load_cycles", "cycles",
                                           "cycles to load a new row block's centroid tables", 32, 0, 1 << 20);
  dq.finish();

  ConfigSection sram = s.section("sram", "on-chip buffers");
  c.weight_buffer_bytes =
      sram.integer("weight_buffer_bytes", "bytes", "size of one weight tile buffer", 1 << 20, 1024, kMaxCount);
  c.weight_buffers =
      sram.integer("weight_buffers", "buffers",
                   "weight tile buffers; 2 is double buffering (stream one while computing one)", 2, 1, 64);
  // What does not fit is spilled to DRAM by the lowering's activation plan (workloads/activation_plan.cc).
  c.activation_buffer_bytes =
      sram.integer("activation_bytes", "bytes",
                   "activation SRAM: the tensors between operators (residual stream, q/k/v, MLP intermediates) "
                   "that are live at "
                   "once; what does not fit goes through DRAM (0: unbounded, nothing spills)",
                   0, 0, kMaxCount);
  c.attention_scratch_bytes = sram.integer(
      "attention_scratch_bytes", "bytes",
      "scratch of the FlashAttention-style prefill attention: a block of queries, keys and values, its scores and "
      "output accumulator; a KV head's K and V stay in it when they fit, else they are read again per query block "
      "(0: unbounded)",
      0, 0, kMaxCount);
  c.activation_read_bytes_per_cycle = sram.integer(
      "activation_read_bytes_per_cycle", "bytes/cycle",
      "activation SRAM read bandwidth: an operator's compute stretches to the cycles its activation reads take "
      "(a linear reads its input again for every block of outputs its array opens; 0: unbounded)",
      0, 0, kMaxCount);
  c.activation_write_bytes_per_cycle =
      sram.integer("activation_write_bytes_per_cycle", "bytes/cycle",
                   "activation SRAM write bandwidth, likewise for the activations operators write (0: unbounded)",
                   0, 0, kMaxCount);
  sram.finish();

  ConfigSection energy = s.section(
      "energy",
      "on-chip energy estimates; defaults: Horowitz, 'Computing's energy problem', ISSCC 2014, at 45 nm (scale "
      "them for a newer node)");
  c.mac_pj =
      energy.real("mac_pj", "pJ", "one fp16 multiply-accumulate (1.1 pJ multiply + 0.4 pJ add)", 1.5, 0, 1e6);
  c.sram_read_pj_per_byte = energy.real("sram_read_pj_per_byte", "pJ/byte",
                                        "reading SRAM (10 pJ per 64-bit read of an 8 KB array)", 1.25, 0, 1e6);
  c.sram_write_pj_per_byte =
      energy.real("sram_write_pj_per_byte", "pJ/byte", "writing SRAM (taken equal to a read)", 1.25, 0, 1e6);
  energy.finish();

  ConfigSection dma = s.section("streamer", "the weight streamer (DMA) between DRAM and SRAM");
  c.dma_request_bytes = dma.integer("request_bytes", "bytes", "bytes per DRAM request", 4096, 32, 1 << 24);
  c.dma_max_outstanding =
      dma.integer("max_outstanding_requests", "requests", "DRAM requests in flight at most", 64, 1, 65536);
  dma.finish();

  ConfigSection dram = s.section("dram", "off-chip memory");
  c.dram = read_dram(dram);
  // Requests cut at request_bytes boundaries must not split a burst (bus bytes would then depend on placement).
  if (!s.documenting() && c.dma_request_bytes % static_cast<int64_t>(c.dram.burst_bytes()) != 0) {
    dma.fail(dma.node_of("request_bytes"), "request_bytes",
             "must be a multiple of the DRAM burst (" + std::to_string(c.dram.burst_bytes()) + " bytes)");
  }
  s.finish();
  return c;
}

}  // namespace npusim::hw

// Every NPU field is declared here, once: name, unit, meaning, default and valid range. `npusim describe npu`
// prints these declarations; configs/npu/*.yaml repeat them as comments for the reader.
#include "common/config.h"

#include <cmath>

#include "hw_models/npu.h"

namespace npusim::hw {

uint64_t NpuConfig::core_period_ps() const {
  return static_cast<uint64_t>(std::llround(1.0e6 / core_clock_mhz));
}

double NpuConfig::peak_macs_per_s() const {
  return static_cast<double>(mac_rows * mac_cols) * 1.0e12 / static_cast<double>(core_period_ps());
}

namespace {

constexpr int64_t kMaxCount = int64_t{1} << 40;

DramConfig read_dram(ConfigSection& s) {
  DramConfig c;
  c.model = s.choice("model", "DRAM model implementation", "channel", dram_model_names());
  c.preset = s.choice("preset", "DRAM standard and speed; fills every field below, each overridable", std::nullopt,
                      dram_preset_names());
  const DramConfig p = dram_preset(c.preset);
  s.describe_defaults_as("the preset's value");
  c.channels =
      s.integer("channels", "channels",
                "independent (pseudo-)channels in the system (a preset gives one device's)", p.channels, 1, 4096);
  c.bus_width_bits =
      s.integer("bus_width_bits", "bits", "data pins per (pseudo-)channel", p.bus_width_bits, 8, 1024);
  c.data_rate_mtps =
      s.integer("data_rate_mtps", "MT/s", "transfers per second per pin", p.data_rate_mtps, 100, 100000);
  c.burst_length = s.integer("burst_length", "beats", "beats per burst", p.burst_length, 1, 64);
  c.read_latency_ns = s.real("read_latency_ns", "ns", "unloaded read latency, row activate to first data",
                             p.read_latency_ns, 0, 10000);
  c.write_latency_ns = s.real("write_latency_ns", "ns", "time for written data to be absorbed after its burst",
                              p.write_latency_ns, 0, 10000);
  c.interleave_bytes =
      s.integer("interleave_bytes", "bytes", "consecutive bytes mapped to one channel before moving to the next",
                p.interleave_bytes, 32, 1 << 20);
  if (!s.documenting() && (c.bus_width_bits % 8 != 0)) {
    s.fail(s.node_of("bus_width_bits"), "bus_width_bits", "must be a multiple of 8");
  }
  if (!s.documenting() && c.interleave_bytes % static_cast<int64_t>(c.burst_bytes()) != 0) {
    s.fail(s.node_of("interleave_bytes"), "interleave_bytes",
           "must be a multiple of the burst (" + std::to_string(c.burst_bytes()) + " bytes)");
  }
  s.finish();
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
  mac.finish();

  ConfigSection vec = s.section("vector_unit", "SIMD unit for norms, softmax, RoPE, activations, residuals");
  c.vector_lanes = vec.integer("lanes", "elements/cycle", "element operations per cycle", 256, 1, 65536);
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
  sram.finish();

  ConfigSection dma = s.section("streamer", "the weight streamer (DMA) between DRAM and SRAM");
  c.dma_request_bytes = dma.integer("request_bytes", "bytes", "bytes per DRAM request", 4096, 32, 1 << 24);
  c.dma_max_outstanding =
      dma.integer("max_outstanding_requests", "requests", "DRAM requests in flight at most", 64, 1, 65536);
  dma.finish();

  ConfigSection dram = s.section("dram", "off-chip memory");
  c.dram = read_dram(dram);
  s.finish();
  return c;
}

}  // namespace npusim::hw

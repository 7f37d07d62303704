// JEDEC-typical DRAM presets for the channel-level model. One device (an LPDDR package of four x16 channels, a
// DDR5 DIMM's two 32-bit sub-channels, one HBM stack's pseudo-channels); the NPU YAML scales `channels` up.
// Latencies are tRCD + tRL of a typical speed bin, i.e. a read that opens a row.
#include <algorithm>

#include "common/error.h"
#include "hw_models/dram/i_dram.h"

namespace npusim::hw {
namespace {

struct Preset {
  const char* name;
  int64_t channels, bus_width_bits, data_rate_mtps, burst_length;
  double read_latency_ns, write_latency_ns;
  int64_t interleave_bytes;
};

// name, channels, bits, MT/s, BL, read ns, write ns, interleave
constexpr Preset kPresets[] = {
    // LPDDR4X-4266: 4 x16 channels (x64 package), BL16; tRCD 18 ns + RL 36 tCK at 2133 MHz = 16.9 ns.
    {"lpddr4x-4266", 4, 16, 4266, 16, 34.9, 8.0, 256},
    // LPDDR5-6400: 4 x16 channels, BL16 (32 B access); tRCD 18 ns + RL 20 tCK at 800 MHz = 25 ns.
    {"lpddr5-6400", 4, 16, 6400, 16, 43.0, 8.0, 256},
    // LPDDR5X-8533: 4 x16 channels, BL16; tRCD 18 ns + RL 24 tCK at 1067 MHz = 22.5 ns.
    {"lpddr5x-8533", 4, 16, 8533, 16, 40.5, 8.0, 256},
    // DDR5-4800 (CL40): one DIMM = 2 x 32-bit sub-channels, BL16 (64 B); tRCD 16.7 ns + CL 16.7 ns.
    {"ddr5-4800", 2, 32, 4800, 16, 33.3, 10.0, 256},
    // HBM2E at 3.2 Gb/s: 8 channels x 2 pseudo-channels of 64 bits, BL4 (32 B); tRCD 14 ns + CL 14 ns.
    {"hbm2e", 16, 64, 3200, 4, 28.0, 6.0, 256},
    // HBM3 at 6.4 Gb/s: 16 channels x 2 pseudo-channels of 32 bits, BL8 (32 B); tRCD 15 ns + CL 15 ns.
    {"hbm3", 32, 32, 6400, 8, 30.0, 6.0, 256},
};

}  // namespace

std::vector<std::string> dram_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

DramConfig dram_preset(const std::string& name) {
  for (const auto& p : kPresets) {
    if (name != p.name) continue;
    DramConfig c;
    c.preset = p.name;
    c.channels = p.channels;
    c.bus_width_bits = p.bus_width_bits;
    c.data_rate_mtps = p.data_rate_mtps;
    c.burst_length = p.burst_length;
    c.read_latency_ns = p.read_latency_ns;
    c.write_latency_ns = p.write_latency_ns;
    c.interleave_bytes = p.interleave_bytes;
    return c;
  }
  std::string known;
  for (const auto& n : dram_preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw InputError("unknown DRAM preset '" + name + "' (known: " + known + ")");
}

}  // namespace npusim::hw

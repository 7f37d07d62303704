// JEDEC-typical DRAM presets: organisation of one device (an LPDDR package of four x16 channels, a DDR5 DIMM's
// two 32-bit sub-channels, one HBM stack's pseudo-channels), timings of a common speed bin in ns, and energy
// figures of the order published for each standard (DRAMPower-style estimates, not a vendor's datasheet). The
// NPU YAML scales `channels` up and can override any field.
#include <algorithm>

#include "common/error.h"
#include "hw_models/dram/i_dram.h"

namespace npusim::hw {
namespace {

struct Organisation {
  int64_t channels, bus_width_bits, data_rate_mtps, burst_length;
  int64_t ranks, bank_groups, banks_per_group, rows, row_bytes;
  const char* refresh;  // per-bank where the standard has it (LPDDR, HBM); DDR5's same-bank REFsb is not modelled
};

struct Preset {
  const char* name;
  Organisation org;
  DramTimings t;  // ns
  DramEnergy e;
};

// Timings in the order of DramTimings:
//   tRCD tRP tRAS tRC tCL tWL tCCD_S tCCD_L tRRD_S tRRD_L tFAW tWTR_S tWTR_L tRTP tWR tRTRS tREFI tRFC tRFCpb
// A burst lasts burst_length / data rate (e.g. HBM3: 8 beats at 6.4 Gb/s = 1.25 ns = tCCD_S).
const Preset kPresets[] = {
    // LPDDR4X-4266: x16 channels, 8 banks (no bank groups), 2 KiB pages, BL16 (3.75 ns); RL 36 / WL 18 tCK at
    // 2133 MHz.
    {"lpddr4x-4266",
     {4, 16, 4266, 16, 1, 1, 8, 65536, 2048, "per_bank"},
     {18, 18, 42, 60, 16.9, 8.44, 3.75, 3.75, 7.5, 7.5, 30, 10, 10, 7.5, 18, 3.75, 3906, 280, 140},
     {1400, 4.5, 4.7, 45000, 20}},
    // LPDDR5-6400: x16 channels, bank-group mode (4 x 4 banks), 2 KiB pages, BL16 (2.5 ns); RL 20 tCK at 800 MHz.
    {"lpddr5-6400",
     {4, 16, 6400, 16, 1, 4, 4, 65536, 2048, "per_bank"},
     {18, 18, 42, 60, 25, 8.0, 2.5, 5, 5, 5, 20, 6.25, 12, 7.5, 34, 2.5, 3906, 280, 140},
     {1200, 3.5, 3.7, 40000, 20}},
    // LPDDR5X-8533: as LPDDR5, BL16 at 8533 MT/s (1.875 ns).
    {"lpddr5x-8533",
     {4, 16, 8533, 16, 1, 4, 4, 65536, 2048, "per_bank"},
     {18, 18, 42, 60, 22.5, 8.0, 1.875, 3.75, 3.75, 3.75, 15, 6.25, 12, 7.5, 34, 1.875, 3906, 280, 140},
     {1100, 3.2, 3.4, 40000, 20}},
    // DDR5-4800B (CL40): one DIMM = 2 x 32-bit sub-channels, 8 bank groups x 4 banks, 4 KiB rows across the
    // rank's x8 chips, BL16 (3.33 ns). tRFCpb is DDR5's same-bank refresh time (REFsb refreshes one bank in every
    // bank group at once, which the per-bank mode does not model: it refreshes one bank at a time).
    {"ddr5-4800",
     {2, 32, 4800, 16, 1, 8, 4, 65536, 4096, "all_bank"},
     {16.67, 16.67, 32, 48.67, 16.67, 15.83, 3.333, 5, 3.333, 5, 13.333, 2.5, 10, 7.5, 30, 0.833, 3900, 295, 130},
     {2000, 9.0, 10.0, 150000, 150}},
    // HBM2E at 3.2 Gb/s: 16 pseudo-channels of 64 bits, 4 x 4 banks, 1 KiB pages, BL4 (1.25 ns).
    {"hbm2e",
     {16, 64, 3200, 4, 1, 4, 4, 32768, 1024, "per_bank"},
     {14, 14, 33, 47, 14, 6, 1.25, 2.5, 2.5, 3.75, 16, 2.5, 5, 3.75, 15, 1.25, 3900, 350, 160},
     {700, 2.5, 2.7, 25000, 50}},
    // HBM3 at 6.4 Gb/s: 32 pseudo-channels of 32 bits, 4 x 4 banks, 1 KiB pages, BL8 (1.25 ns).
    {"hbm3",
     {32, 32, 6400, 8, 1, 4, 4, 32768, 1024, "per_bank"},
     {15, 15, 33, 48, 15, 6, 1.25, 2.5, 2.5, 3.75, 15, 2.5, 7.5, 3.75, 15, 1.25, 3900, 350, 160},
     {600, 2.0, 2.2, 20000, 50}},
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
    c.model = "channel";
    c.preset = p.name;
    c.channels = p.org.channels;
    c.bus_width_bits = p.org.bus_width_bits;
    c.data_rate_mtps = p.org.data_rate_mtps;
    c.burst_length = p.org.burst_length;
    c.ranks = p.org.ranks;
    c.bank_groups = p.org.bank_groups;
    c.banks_per_group = p.org.banks_per_group;
    c.rows = p.org.rows;
    c.row_bytes = p.org.row_bytes;
    c.refresh = p.org.refresh;
    c.timing = p.t;
    c.energy = p.e;
    // Consecutive bursts go to different channels, then different bank groups, then along the row.
    c.address_mapping = "rorabacobgch";
    c.page_policy = "open";
    // The controller is ours, not the standard's: FR-FCFS over 32-entry read and write queues (a common
    // controller size, as in Ramulator's and DRAMsim3's defaults), draining writes between 80% and 20% full.
    c.scheduler = "frfcfs";
    c.read_queue_bursts = 32;
    c.write_queue_bursts = 32;
    c.write_high_watermark = 0.8;
    c.write_low_watermark = 0.2;
    // Refresh falls due every tREFI (per bank: tREFI / banks); a controller busy with reads may postpone up to
    // eight, as JEDEC allows, and catches up when idle.
    c.refresh_postpone = 8;
    // The channel model's figures follow from the timings: a read that opens a row, a write's data absorbed.
    c.read_latency_ns = p.t.tRCD + p.t.tCL;
    c.write_latency_ns = p.t.tWL;
    c.interleave_bytes = 256;
    return c;
  }
  std::string known;
  for (const auto& n : dram_preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw InputError("unknown DRAM preset '" + name + "' (known: " + known + ")");
}

}  // namespace npusim::hw

// DRAM presets: the organisation of one device (an LPDDR package of four x16 channels, a DDR5 DIMM's two 32-bit
// sub-channels, one HBM stack's pseudo-channels), the timings of one speed bin in ns, and energy figures of the
// order published for each standard (DRAMPower-style estimates, not a vendor's datasheet). The NPU YAML scales
// `channels` up and can override any field.
//
// Every timing names its source beside it. JEDEC gives most as max(x ns, n nCK); the value here is the larger one
// at the preset's clock. The standards themselves: JESD209-4B (LPDDR4, with JESD209-4-1 for LPDDR4X), JESD209-5B
// (LPDDR5/5X), JESD79-5 (DDR5), JESD235D (HBM2/2E), JESD238 (HBM3). Where a value is a speed-bin or density
// choice, the comment names the choice; where it differs from what Ramulator 2.1 or DRAMsim3 ship for the same
// standard, the comment says why.
#include <algorithm>

#include "common/error.h"
#include "hw_models/dram/i_dram.h"

namespace npusim::hw {
namespace {

// What every preset shares: the controller (ours, not the standard's) and the channel model's derived figures.
DramConfig base(const char* name) {
  DramConfig c;
  c.model = "channel";
  c.preset = name;
  c.ranks = 1;
  // Consecutive bursts go to different channels, then different bank groups, then along the row.
  c.address_mapping = "rorabacobgch";
  c.page_policy = "open";
  c.command_buses = "shared";
  // FR-FCFS over 32-entry read and write queues (the size of Ramulator 2's and DRAMsim3's default queues),
  // draining writes between 80% and 20% full. A burst that 64 younger ones passed goes first: twice the queue,
  // so that the cap never binds on streams the first-ready order serves fairly, and a row-hit stream cannot hold
  // a conflicting burst back for ever.
  c.scheduler = "frfcfs";
  c.starvation_cap = 64;
  c.read_queue_bursts = 32;
  c.write_queue_bursts = 32;
  c.write_high_watermark = 0.8;
  c.write_low_watermark = 0.2;
  // Refresh falls due every tREFI (per bank: tREFI / banks); a controller busy with reads may postpone up to
  // eight, as JEDEC allows, and catches up when idle.
  c.refresh_postpone = 8;
  // Per-bank refresh: up to eight REFpbs may also go early ("pulled in", as JEDEC allows for eight REFs), each to
  // a bank no queued burst wants: the speculative refresh of the Synopsys uMCTL2 (per-bank mode) and AMD's HBM
  // controller (PG313, which issues refreshes "in advance of future refresh requirements"). A stream then
  // rarely meets a refresh that the postponement limit forces onto a bank it needs.
  c.refresh_pull_in = 8;
  // Every channel's controller counts refresh intervals from the same start, as DRAMsim3's and Ramulator 2's
  // per-channel controllers do.
  c.refresh_stagger = "none";
  c.interleave_bytes = 256;
  return c;
}

DramConfig lpddr4x_4266() {
  DramConfig c = base("lpddr4x-4266");
  // A x64 package of four x16 channels, 8 banks, 2 KiB pages, BL16; CK = 2133 MHz (tCK 0.469 ns), DDR.
  c.channels = 4, c.bus_width_bits = 16, c.data_rate_mtps = 4266, c.burst_length = 16, c.transfers_per_clock = 2;
  c.bank_groups = 1, c.banks_per_group = 8, c.rows = 65536, c.row_bytes = 2048, c.refresh = "per_bank";
  DramTimings& t = c.timing;
  t.tRCD = 18;      // JESD209-4B: max(18 ns, 4 nCK)
  t.tRP = 18;       // tRPpb: max(18 ns, 4 nCK)
  t.tRAS = 42;      // max(42 ns, 3 nCK)
  t.tRC = 60;       // tRAS + tRPpb
  t.tCL = 16.875;   // RL = 36 nCK at 4266 (DBI off)
  t.tWL = 8.4375;   // WL = 18 nCK (set A)
  t.tCCD_S = 3.75;  // tCCD = BL/2 = 8 nCK; no bank groups, so tCCD_L is the same
  t.tCCD_L = 3.75;
  t.tRRD_S = 7.5;  // max(7.5 ns, 4 nCK); no bank groups
  t.tRRD_L = 7.5;
  t.tFAW = 30;    // 30 ns above 2133 MT/s
  t.tWTR_S = 10;  // max(10 ns, 8 nCK); no bank groups
  t.tWTR_L = 10;
  t.tRTP = 7.5;    // max(7.5 ns, 8 nCK)
  t.tWR = 18;      // max(18 ns, 6 nCK)
  t.tRTRS = 3.75;  // read-to-write bus gap: one burst (RL + BL/2 + tDQSCK - WL + tWPRE, rounded to a burst)
  t.tREFI = 3904;  // tREFIab at <= 85 C (tREFIpb = tREFI / 8)
  t.tRFC = 280;    // tRFCab, 8 Gb per channel
  t.tRFCpb = 140;  // tRFCpb, 8 Gb per channel
  t.tRREFD = 90;   // tpbR2pbR
  c.energy = {1400, 4.5, 4.7, 45000, 20};
  return c;
}

DramConfig lpddr5(const char* name, int64_t mtps) {
  DramConfig c = base(name);
  // A x64 package of four x16 channels in bank-group mode (4 groups x 4 banks), 2 KiB pages, BL16; the command
  // clock CK runs at a quarter of WCK (4:1), so 8 transfers per CK.
  c.channels = 4, c.bus_width_bits = 16, c.data_rate_mtps = mtps, c.burst_length = 16, c.transfers_per_clock = 8;
  c.bank_groups = 4, c.banks_per_group = 4, c.rows = 65536, c.row_bytes = 2048, c.refresh = "per_bank";
  DramTimings& t = c.timing;
  const double ck = c.command_clock_ps() / 1000.0;  // 1.25 ns at 6400, 0.9375 ns at 8533
  t.tRCD = 18;                                      // JESD209-5B: max(18 ns, 2 nCK)
  t.tRP = 18;                                       // tRPpb: max(18 ns, 2 nCK)
  t.tRAS = 42;                                      // max(42 ns, 3 nCK)
  t.tRC = 60;                                       // tRAS + tRPpb
  t.tCL = (mtps > 6400 ? 20 : 17) * ck;             // RL, BG mode, DBI off, set 0: 17 nCK at 6400, 20 nCK at 8533
  t.tWL = (mtps > 6400 ? 11 : 9) * ck;              // WL set A: 9 nCK at 6400, 11 nCK at 8533
  t.tCCD_S = 2 * ck;                                // BG mode BL16: BL/n_min = 2 nCK
  t.tCCD_L = 4 * ck;                                // BL/n_max = 4 nCK
  t.tRRD_S = 5;                                     // BG mode: max(5 ns, 2 nCK)
  t.tRRD_L = 5;
  t.tFAW = 20;       // 20 ns
  t.tWTR_S = 6.25;   // max(6.25 ns, 4 nCK)
  t.tWTR_L = 12;     // max(12 ns, 4 nCK)
  t.tRTP = 7.5;      // max(7.5 ns, 4 nCK)
  t.tWR = 34;        // max(34 ns, 4 nCK)
  t.tPPD = 2 * ck;   // 2 nCK
  t.tRTRS = 2 * ck;  // read-to-write bus gap: one burst
  t.tREFI = 3906;    // tREFIab (tREFIpb = tREFI / 16)
  t.tRFC = 280;      // tRFCab, 8 Gb per channel
  t.tRFCpb = 140;    // tRFCpb, 8 Gb per channel
  t.tRREFD = 90;     // tpbR2pbR
  c.energy = mtps > 6400 ? DramEnergy{1100, 3.2, 3.4, 40000, 20} : DramEnergy{1200, 3.5, 3.7, 40000, 20};
  return c;
}

DramConfig ddr5_4800() {
  DramConfig c = base("ddr5-4800");
  // One DIMM = 2 x 32-bit sub-channels of x8 devices (16 Gb), 8 bank groups x 4 banks, 4 KiB rows across the
  // rank's four x8 chips (1 KiB page each), BL16; CK = 2400 MHz (tCK 0.4167 ns), DDR. DDR5's same-bank refresh
  // (REFsb: one bank in every bank group at once) is not modelled, so it refreshes all banks.
  c.channels = 2, c.bus_width_bits = 32, c.data_rate_mtps = 4800, c.burst_length = 16, c.transfers_per_clock = 2;
  c.bank_groups = 8, c.banks_per_group = 4, c.rows = 65536, c.row_bytes = 4096, c.refresh = "all_bank";
  DramTimings& t = c.timing;
  const double ck = c.command_clock_ps() / 1000.0;
  t.tRCD = 40 * ck;  // JESD79-5 speed bin DDR5-4800B: 40-40-40 (tAA = tRCD = tRP = 16.67 ns)
  t.tRP = 40 * ck;
  t.tRAS = 32;           // 32 ns
  t.tRC = 32 + 40 * ck;  // tRAS + tRP
  t.tCL = 40 * ck;       // CL 40
  t.tWL = 38 * ck;       // CWL = CL - 2
  t.tCCD_S = 8 * ck;     // 8 nCK
  t.tCCD_L = 5;          // max(5 ns, 8 nCK)
  t.tCCD_L_WR = 20;      // max(20 ns, 32 nCK) (Ramulator 2.1: 48 nCK, the same 20 ns)
  t.tRRD_S = 8 * ck;     // 8 nCK
  t.tRRD_L = 5;          // max(5 ns, 8 nCK)
  t.tFAW = 32 * ck;      // 1 KiB page (x8): 32 nCK = 13.33 ns (Ramulator 2.1 uses a rounded 20 ns for x4/x8)
  t.tWTR_S = 2.5;        // max(2.5 ns, 4 nCK)
  t.tWTR_L = 10;         // max(10 ns, 16 nCK)
  t.tRTP = 7.5;          // max(7.5 ns, 12 nCK)
  t.tWR = 30;            // 30 ns
  t.tPPD = 2 * ck;       // 2 nCK
  t.tRTRS = 2 * ck;      // read-to-write bus gap: 2 nCK beyond the burst
  t.tREFI = 3900;        // tREFI1
  t.tRFC = 295;          // tRFC1, 16 Gb
  t.tRFCpb = 130;        // tRFCsb, 16 Gb (not used: REFsb is not modelled)
  c.energy = {2000, 9.0, 10.0, 150000, 150};
  return c;
}

DramConfig hbm2e() {
  DramConfig c = base("hbm2e");
  // One stack at 3.2 Gb/s: 16 pseudo-channels of 64 bits, 4 x 4 banks, 1 KiB pages, BL4; CK = 1.6 GHz (tCK
  // 0.625 ns), DDR; separate row and column command buses.
  c.channels = 16, c.bus_width_bits = 64, c.data_rate_mtps = 3200, c.burst_length = 4, c.transfers_per_clock = 2;
  c.bank_groups = 4, c.banks_per_group = 4, c.rows = 32768, c.row_bytes = 1024, c.refresh = "per_bank";
  c.command_buses = "row_column";
  DramTimings& t = c.timing;
  // JESD235D core timings are speed-independent in ns; these are Ramulator 2.1's HBM2_2400Mbps figures in ns
  // (nCK x 0.833 ns), applied at 3.2 Gb/s.
  t.tRCD = 14.17;     // tRCDRD 17 nCK
  t.tRCD_WR = 11.67;  // tRCDWR 14 nCK
  t.tRP = 14.17;      // 17 nCK
  t.tRAS = 33.33;     // 40 nCK
  t.tRC = 47.5;       // 57 nCK
  t.tCL = 14.17;      // 17 nCK
  t.tWL = 5;          // 6 nCK
  t.tCCD_S = 1.25;    // 2 nCK of 0.625 ns: one BL4 burst
  t.tCCD_L = 2.5;     // 4 nCK of 0.625 ns
  t.tRRD_S = 4;       // JESD235D: 4 ns
  t.tRRD_L = 4;       // 4 ns
  t.tFAW = 15;        // vendor-specific; 15 ns typical (as Ramulator 2.1 takes it)
  t.tWTR_S = 6.67;    // 8 nCK
  t.tWTR_L = 8.33;    // 10 nCK
  t.tRTP = 5;         // tRTPL 6 nCK
  t.tWR = 15.83;      // 19 nCK
  t.tRTRS = 1.25;     // read-to-write bus gap: one burst
  t.tREFI = 3900;     // 3.9 us
  t.tRFC = 350;       // tRFCab, 8 Gb per channel
  t.tRFCpb = 160;     // tRFCpb, 8 Gb per channel
  t.tRREFD = 8;       // max(8 ns, 2 nCK)
  c.energy = {700, 2.5, 2.7, 25000, 50};
  return c;
}

DramConfig hbm3() {
  DramConfig c = base("hbm3");
  // One stack at 6.4 Gb/s: 32 pseudo-channels of 32 bits, 4 x 4 banks, 1 KiB pages, BL8; CK = 1.6 GHz (tCK
  // 0.625 ns), four transfers per CK; separate row and column command buses.
  c.channels = 32, c.bus_width_bits = 32, c.data_rate_mtps = 6400, c.burst_length = 8, c.transfers_per_clock = 4;
  c.bank_groups = 4, c.banks_per_group = 4, c.rows = 32768, c.row_bytes = 1024, c.refresh = "per_bank";
  c.command_buses = "row_column";
  DramTimings& t = c.timing;
  // JESD238 at 6.4 Gb/s, in nCK of 0.625 ns as Ramulator 2.1's HBM3_6400Mbps preset transcribes the standard.
  t.tRCD = 19.375;    // tRCDRD 31 nCK
  t.tRCD_WR = 9.375;  // tRCDWR 15 nCK
  t.tRP = 16.25;      // 26 nCK
  t.tRAS = 28.125;    // 45 nCK
  t.tRC = 45;         // 72 nCK
  t.tCL = 12.5;       // 20 nCK
  t.tWL = 6.25;       // 10 nCK
  t.tCCD_S = 1.25;    // 2 nCK
  t.tCCD_L = 2.5;     // 4 nCK
  t.tRRD_S = 2.5;     // 4 nCK
  t.tRRD_L = 3.125;   // 5 nCK
  t.tFAW = 15;        // 24 nCK
  t.tWTR_S = 4.375;   // 7 nCK
  t.tWTR_L = 6.25;    // 10 nCK
  t.tRTP = 5.625;     // 9 nCK
  t.tWR = 20.625;     // 33 nCK
  t.tRTW = 12.5;      // 20 nCK: read CAS to write CAS
  t.tPPD = 1.25;      // 2 nCK
  t.tRTRS = 1.25;     // read-to-write bus gap: one burst
  t.tREFI = 3900;     // 3.9 us
  t.tRFC = 350;       // tRFCab, 8 Gb channel (16 Gb die, 8-high); Ramulator 2.1's default 4 Gb part has 260 ns
  t.tRFCpb = 200;     // tRFCpb 320 nCK
  t.tRREFD = 5;       // 8 nCK
  c.energy = {600, 2.0, 2.2, 20000, 50};
  return c;
}

std::vector<DramConfig> all_presets() {
  return {lpddr4x_4266(), lpddr5("lpddr5-6400", 6400), lpddr5("lpddr5x-8533", 8533), ddr5_4800(), hbm2e(), hbm3()};
}

}  // namespace

std::vector<std::string> dram_preset_names() {
  std::vector<std::string> names;
  for (const DramConfig& p : all_presets()) names.push_back(p.preset);
  return names;
}

DramConfig dram_preset(const std::string& name) {
  for (DramConfig c : all_presets()) {
    if (name != c.preset) continue;
    // The channel model's figures follow from the timings: a read that opens a row, a write's data absorbed.
    c.read_latency_ns = c.timing.tRCD + c.timing.tCL;
    c.write_latency_ns = c.timing.tWL;
    return c;
  }
  std::string known;
  for (const auto& n : dram_preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw InputError("unknown DRAM preset '" + name + "' (known: " + known + ")");
}

}  // namespace npusim::hw

// The DRAM interface every NPU part talks to, and the one that a command-level model implements next to the
// channel-level one. It is a timing target called in TLM-2.0 loosely-timed style: the caller hands over a request
// (or a stream of them) with the time it is issued and gets back the time it completes; the model keeps its own
// resource state (data buses; banks and controller queues in the command-level model), so overlapping requests
// queue behind each other. Calls are booked in call order: a later call never overtakes what an earlier call
// booked. Within one stream the command-level controller reorders (FR-FCFS) as a real one would, because the
// stream tells it when each request arrives, including arrivals that wait for earlier completions.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace npusim::hw {

// JEDEC timing parameters in ns, as a preset's standard and speed bin give them. The command model rounds each
// up to whole command-clock cycles. A 0 in an optional field (marked so) means the standard has no such constraint
// or that the named default applies.
struct DramTimings {
  double tRCD = 0;       // ACT to read CAS (tRCDRD), same bank
  double tRCD_WR = 0;    // optional: ACT to write CAS (HBM's tRCDWR), same bank; 0: tRCD
  double tRP = 0;        // PRE to ACT, same bank
  double tRAS = 0;       // ACT to PRE, same bank
  double tRC = 0;        // ACT to ACT, same bank
  double tCL = 0;        // read CAS to first data (tRL)
  double tWL = 0;        // write CAS to first data
  double tCCD_S = 0;     // CAS to CAS, different bank group
  double tCCD_L = 0;     // CAS to CAS, same bank group
  double tCCD_L_WR = 0;  // optional: write CAS to write CAS, same bank group (DDR5, LPDDR5); 0: tCCD_L
  double tRRD_S = 0;     // ACT to ACT, different bank group, same rank
  double tRRD_L = 0;     // ACT to ACT, same bank group
  double tFAW = 0;       // window holding at most four ACTs per rank
  double tWTR_S = 0;     // end of write data to read CAS, different bank group
  double tWTR_L = 0;     // end of write data to read CAS, same bank group
  double tRTP = 0;       // read CAS to PRE, same bank
  double tWR = 0;        // end of write data to PRE, same bank (write recovery)
  double tRTRS = 0;      // data-bus turnaround between a read and a write, or between ranks
  double tRTW = 0;    // optional: read CAS to write CAS (HBM3's tRTW); 0: only the data bus and tRTRS space them
  double tPPD = 0;    // optional: PRE to PRE, same rank (DDR5, LPDDR5, HBM3)
  double tRREFD = 0;  // optional: per-bank REF to REF or to ACT of another bank (LPDDR's tpbR2pbR, HBM's tRREFD)
  double tREFI = 0;   // refresh interval (all-bank); per-bank refresh runs every tREFI / banks
  double tRFC = 0;    // all-bank refresh cycle time
  double tRFCpb = 0;  // per-bank refresh cycle time (0: the standard has none)
};

// Energy estimates per command and per bit (DRAMPower-style pJ figures of the standard).
struct DramEnergy {
  double act_pj = 0;            // one ACT with its PRE
  double read_pj_per_bit = 0;   // array read + I/O
  double write_pj_per_bit = 0;  // I/O + array write
  double refresh_pj = 0;        // one all-bank REF of one rank (per-bank REF: this / banks)
  double background_mw = 0;     // standby power per channel
};

// Organisation and timing of a DRAM system. `preset` fills every field; the NPU YAML can override any of them
// (declared in hw_models/config.cc). Peak bandwidth is derived from the organisation, never typed.
struct DramConfig {
  std::string model;                // implementation, selected by name (make_dram)
  std::string preset;               // lpddr4x-4266, lpddr5-6400, lpddr5x-8533, ddr5-4800, hbm2e, hbm3
  int64_t channels = 0;             // independent (pseudo-)channels in the whole system
  int64_t bus_width_bits = 0;       // data pins per (pseudo-)channel
  int64_t data_rate_mtps = 0;       // transfers per second per pin, in millions
  int64_t burst_length = 0;         // beats per burst: the access granule is bus_width_bits/8 * burst_length bytes
  int64_t transfers_per_clock = 0;  // data transfers per command-clock cycle (CK): the command clock is
                                    // data_rate_mtps / this; e.g. 2 for DDR5 and LPDDR4, 8 for LPDDR5 (WCK 4:1)
  double read_latency_ns = 0;       // channel model: unloaded first-data latency of a read (row activate + CAS)
  double write_latency_ns = 0;      // channel model: time from a write's last beat to its data being accepted
  int64_t interleave_bytes = 0;     // channel model: consecutive bytes on one channel before the next
  // Command-level organisation and policy.
  int64_t ranks = 0;        // per channel
  int64_t bank_groups = 0;  // per rank (1: no bank groups)
  int64_t banks_per_group = 0;
  int64_t rows = 0;              // per bank
  int64_t row_bytes = 0;         // page size: bytes one ACT opens in one channel
  std::string address_mapping;   // field order from the most significant bit: e.g. "robabgcoch" (see mapping)
  std::string page_policy;       // "open" (rows stay open until a conflict) or "closed" (auto-precharge)
  std::string refresh;           // "all_bank", "per_bank" or "none"
  std::string command_buses;     // "shared" (one command per CK) or "row_column" (HBM: one row and one column
                                 // command per CK)
  int64_t refresh_postpone = 0;  // refreshes a busy controller may owe before it must refresh (JEDEC allows 8)
  int64_t refresh_pull_in = 0;   // per-bank refresh: REFpbs a controller may issue ahead of time, to a bank no
                                 // queued burst wants (speculative refresh)
  std::string refresh_stagger;   // "none" (every channel's controller on the same refresh schedule) or
                                 // "channels" (channel c's offset by c / channels of a refresh interval)
  // Command-level controller (one per channel).
  std::string scheduler;          // "frfcfs" (first ready, row hits first, then oldest) or "fcfs" (in order)
  int64_t starvation_cap = 0;     // FR-FCFS: a burst that younger ones passed this many times goes first (0: none)
  int64_t read_queue_bursts = 0;  // read queue entries: the bursts the scheduler can choose among
  int64_t write_queue_bursts = 0;   // write queue entries; a write is accepted (done) when it enters
  double write_high_watermark = 0;  // fraction of the write queue that starts a write drain
  double write_low_watermark = 0;   // fraction at or below which a drain ends (if reads are waiting)
  DramTimings timing;
  DramEnergy energy;

  uint64_t burst_bytes() const { return static_cast<uint64_t>(bus_width_bits / 8 * burst_length); }
  double peak_bandwidth_bytes_per_s() const {
    return static_cast<double>(channels) * static_cast<double>(bus_width_bits) / 8.0 *
           static_cast<double>(data_rate_mtps) * 1e6;
  }
  // One burst on one channel's data bus: burst bytes / (bytes per us), rounded up to a ps so that no transfer
  // beats the peak (exact for the HBM and LPDDR5 presets; an LPDDR4X-4266 burst takes 3751 ps, not 3750.6).
  uint64_t burst_ps() const {
    const auto per_us = static_cast<uint64_t>(bus_width_bits / 8 * data_rate_mtps);
    return (burst_bytes() * 1000000ULL + per_us - 1) / per_us;
  }
  int64_t banks() const { return bank_groups * banks_per_group; }
  // The command clock (CK) period, exactly: transfers_per_clock / data rate.
  double command_clock_ps() const {
    return static_cast<double>(transfers_per_clock) * 1.0e6 / static_cast<double>(data_rate_mtps);
  }
  // A timing in whole command-clock cycles, rounded up, as the command model counts it (a hair below an exact
  // multiple stays that multiple: ns values are decimal renderings of whole cycles).
  uint64_t cycles_of(double ns) const {
    return ns <= 0 ? 0 : static_cast<uint64_t>(std::ceil(ns * 1000.0 / command_clock_ps() - 1e-6));
  }
  // Command model: the energy of one REF as it is issued (all-bank, or one bank's share per-bank).
  double refresh_command_pj() const {
    return refresh == "per_bank" ? energy.refresh_pj / static_cast<double>(banks()) : energy.refresh_pj;
  }
  // Command model: cycles between two REFs of a rank (tREFI; per-bank refresh: tREFI / banks).
  uint64_t refresh_interval_cycles() const {
    const uint64_t refi = cycles_of(timing.tREFI);
    return refresh == "per_bank" ? refi / static_cast<uint64_t>(banks()) : refi;
  }
  // Bytes a request moves on the bus: every burst it touches, whole.
  uint64_t bus_bytes(uint64_t address, uint64_t bytes) const {
    const uint64_t b = burst_bytes();
    return bytes == 0 ? 0 : ((address + bytes + b - 1) / b - address / b) * b;
  }
};

// The named presets (organisation of one device, JEDEC-typical speed); throws InputError for unknown names.
DramConfig dram_preset(const std::string& name);
std::vector<std::string> dram_preset_names();

// Statistics, in total and per channel. The channel model fills the traffic counters; the command-level model
// fills every one.
struct DramStats {
  uint64_t reads = 0;  // requests
  uint64_t writes = 0;
  uint64_t read_bytes = 0;  // bytes moved on the data bus (whole bursts)
  uint64_t write_bytes = 0;
  uint64_t busy_ps = 0;  // summed over channels: time a channel's data bus was transferring
  std::vector<uint64_t> channel_bytes;
  uint64_t row_hits = 0, row_misses = 0, row_conflicts = 0;  // per burst: open row, closed bank, other row open
  // The same per channel (command model; empty for the channel model).
  std::vector<uint64_t> channel_row_hits, channel_row_misses, channel_row_conflicts, channel_refreshes;
  uint64_t activates = 0, precharges = 0, refreshes = 0;
  // Command model: the row misses whose bank a refresh had closed with its row open (each with the refresh's PRE
  // among precharges). They follow the refreshes, the other misses and the conflicts follow the traffic.
  uint64_t row_misses_after_refresh = 0;
  uint64_t write_drains = 0;                        // times a controller switched to draining its write queue
  uint64_t read_latency_sum_ps = 0;                 // over read requests: completion - issue
  std::vector<uint64_t> read_latency_ns_histogram;  // read requests by latency, 1 ns bins (last bin: beyond)
  double energy_pj = 0;                           // commands and bits; background power is added over a run's time
  void record_read_latency(uint64_t latency_ps);  // into the sum and the 1 ns histogram
  double read_latency_percentile_ns(double fraction) const;
};

// One request of a stream (IDram::access_stream).
struct DramRequest {
  uint64_t address = 0;
  uint64_t bytes = 0;
  bool is_write = false;
  uint64_t issue_ps = 0;  // in: the earliest time the requester hands it over
  int64_t after = -1;     // in: index of an earlier request of the same stream that must complete before this
                          //     one is handed over (a requester's bounded outstanding window), or -1
  bool after_a_completion = false;  // in: handed over no earlier than the stream's next completion (in time
                                    //     order) that no earlier request waited for: a window with any free slot
  uint64_t done_ps = 0;             // out: last data delivered (read) or accepted by the controller (write)
};

class IDram {
 public:
  virtual ~IDram() = default;
  // Issues a request of `bytes` at `address` at time `issue_ps`; returns the time its last data is delivered
  // (read) or accepted (write). Calls must come in non-decreasing issue order per caller.
  virtual uint64_t access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) = 0;
  // Books a stream from one requester that hands its requests over in order: request i at
  // max(issue_ps, hand-over of request i - 1, done_ps of request `after`, and, with after_a_completion, the
  // earliest completion of the stream not yet waited for). Fills every done_ps. The default books them one by one
  // with access() (right for in-order models).
  virtual void access_stream(std::vector<DramRequest>& requests);
  // Drains what the controller still holds (posted writes); returns when the last of it is on the bus (0 when
  // nothing was held).
  virtual uint64_t flush() { return 0; }
  // Issues the work that runs without requests (refresh, writes drained while idle) on every channel up to
  // `until_ps`, so that statistics and energy cover idle channels and the time after the last request too.
  virtual void settle(uint64_t until_ps) { (void)until_ps; }
  // A fidelity option of the command model: from now on simulate only `simulated` channels, evenly spaced
  // (channel k x channels / simulated), each standing for itself and the channels after it up to the next one,
  // which mirror its counters; 0 (or at least the channel count): every channel, each channel that was not
  // simulated taking the state of the one that stood for it. Call it between streams, when nothing but posted
  // writes is in flight. Throws InputError when `simulated` does not divide the channels. Ignored (every channel
  // simulated) with refresh_stagger channels, whose channels differ, and by the other models.
  // With `only_identical`, a channel mirrors another only while their states are equal (banks, buses, queues,
  // refresh schedule: all but their counters): the model takes the widest spacing, up to channels / simulated,
  // at which every channel's state equals that of the one standing for it (down to every channel), and traffic
  // that gives the channels the same bursts then gives the same result as every channel simulated, to the bit.
  virtual void sample_channels(uint64_t simulated, bool only_identical = false) {
    (void)simulated;
    (void)only_identical;
  }
  virtual const DramConfig& config() const = 0;
  virtual const DramStats& stats() const = 0;
};

// The implementations make_dram knows, by name.
std::vector<std::string> dram_model_names();
// Builds the implementation named by config.model; throws InputError naming the model otherwise.
std::unique_ptr<IDram> make_dram(const DramConfig& config);

}  // namespace npusim::hw

// The DRAM interface every NPU part talks to, and the one that a command-level model implements next to the
// channel-level one. It is a timing target called in TLM-2.0 loosely-timed style: the caller hands over a request
// with the time it is issued and gets back the time it completes; the model keeps its own resource state (data
// buses now; banks in a command-level model), so overlapping requests queue behind each other. Requests are
// booked in call order: a request handed over later queues behind everything booked before it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace npusim::hw {

// Organisation and timing of a DRAM system. `preset` fills every field; the NPU YAML can override any of them
// (declared in hw_models/config.cc). Peak bandwidth is derived from the organisation, never typed.
struct DramConfig {
  std::string model;             // implementation, selected by name (make_dram)
  std::string preset;            // lpddr4x-4266, lpddr5-6400, lpddr5x-8533, ddr5-4800, hbm2e, hbm3
  int64_t channels = 0;          // independent (pseudo-)channels in the whole system
  int64_t bus_width_bits = 0;    // data pins per (pseudo-)channel
  int64_t data_rate_mtps = 0;    // transfers per second per pin, in millions
  int64_t burst_length = 0;      // beats per burst: the access granule is bus_width_bits/8 * burst_length bytes
  double read_latency_ns = 0;    // unloaded first-data latency of a read (row activate + CAS)
  double write_latency_ns = 0;   // time from a write's last beat to its data being accepted
  int64_t interleave_bytes = 0;  // consecutive bytes on one channel before the address moves to the next

  uint64_t burst_bytes() const { return static_cast<uint64_t>(bus_width_bits / 8 * burst_length); }
  double peak_bandwidth_bytes_per_s() const {
    return static_cast<double>(channels) * static_cast<double>(bus_width_bits) / 8.0 *
           static_cast<double>(data_rate_mtps) * 1e6;
  }
};

// The named presets (organisation of one device, JEDEC-typical speed); throws InputError for unknown names.
DramConfig dram_preset(const std::string& name);
std::vector<std::string> dram_preset_names();

// Statistics, in total and bytes per channel.
struct DramStats {
  uint64_t reads = 0;  // requests
  uint64_t writes = 0;
  uint64_t read_bytes = 0;  // bytes moved on the data bus (whole bursts)
  uint64_t write_bytes = 0;
  uint64_t busy_ps = 0;  // summed over channels: time a channel's data bus was transferring
  std::vector<uint64_t> channel_bytes;
};

class IDram {
 public:
  virtual ~IDram() = default;
  // Issues a request of `bytes` at `address` at time `issue_ps`; returns the time its last data is delivered
  // (read) or accepted (write). Calls must come in non-decreasing issue order per caller.
  virtual uint64_t access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) = 0;
  virtual const DramConfig& config() const = 0;
  virtual const DramStats& stats() const = 0;
};

// The implementations make_dram knows, by name.
std::vector<std::string> dram_model_names();
// Builds the implementation named by config.model; throws InputError naming the model otherwise.
std::unique_ptr<IDram> make_dram(const DramConfig& config);

}  // namespace npusim::hw

// Channel-level DRAM: each (pseudo-)channel is one data bus that transfers whole bursts at the preset's data rate
// after the unloaded read latency. Addresses interleave over channels every `interleave_bytes`. No banks, rows or
// refresh: the command-level model replaces this behind IDram.
#pragma once

#include <vector>

#include "hw_models/dram/i_dram.h"

namespace npusim::hw {

class ChannelDram final : public IDram {
 public:
  explicit ChannelDram(const DramConfig& config);

  uint64_t access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) override;
  const DramConfig& config() const override { return config_; }
  const DramStats& stats() const override { return stats_; }

  // Time the data bus of one channel needs for `bytes` (a whole number of bursts), rounded up to a picosecond.
  uint64_t transfer_ps(uint64_t bytes) const;

 private:
  DramConfig config_;
  DramStats stats_;
  uint64_t read_latency_ps_;
  uint64_t write_latency_ps_;
  uint64_t channel_bytes_per_us_;     // bus_width_bits/8 * data_rate_mtps: bytes one channel moves per microsecond
  std::vector<uint64_t> bus_free_ps_;  // per channel: when its data bus is next idle
};

}  // namespace npusim::hw

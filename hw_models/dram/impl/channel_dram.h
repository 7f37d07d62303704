// Channel-level DRAM: each (pseudo-)channel is one data bus that transfers whole bursts at the preset's data rate
// after the unloaded read latency. Addresses interleave over channels every `interleave_bytes`. No banks, rows or
// refresh: the command-level model replaces this behind IDram. Energy counts the bits moved and one ACT per
// row_bytes of traffic.
//
// Speed: a long sequential stream touches every channel with the same number of bursts, so each channel's "bus
// free" time is kept as one shared offset plus a per-channel difference. While every channel is backlogged (its
// bus is busy past the new request's earliest start), a request that covers whole rounds of channels moves the
// shared offset once and corrects only the few channels that get a burst more or less; min and max over the
// channels come from a small tournament tree. The result is identical to updating every channel.
#pragma once

#include <vector>

#include "hw_models/dram/i_dram.h"

namespace npusim::hw {

class ChannelDram final : public IDram {
 public:
  explicit ChannelDram(const DramConfig& config);

  uint64_t access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) override;
  const DramConfig& config() const override { return config_; }
  const DramStats& stats() const override;

  // Time the data bus of one channel needs for `bytes`, rounded up to whole bursts.
  uint64_t transfer_ps(uint64_t bytes) const;

 private:
  // Sets channel `c`'s difference from the shared offset and updates the tree.
  void set_local(size_t c, int64_t value);
  void rebuild_tree();

  DramConfig config_;
  mutable DramStats stats_;  // channel_bytes is filled in on demand from the shared and per-channel parts
  uint64_t read_latency_ps_;
  uint64_t write_latency_ps_;
  uint64_t burst_ps_;              // one burst on one channel's data bus
  int64_t offset_ps_ = 0;          // bus free time shared by every channel
  std::vector<int64_t> local_ps_;  // per channel: bus free time - offset_ps_
  uint64_t shared_bursts_ = 0;     // bursts every channel moved on the fast path
  std::vector<uint64_t> local_bursts_;
  size_t leaves_ = 1;                         // tree width: a power of two >= channels
  std::vector<int64_t> tree_min_, tree_max_;  // tournament trees over local_ps_ (root at 1)
};

}  // namespace npusim::hw

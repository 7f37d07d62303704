#include "hw_models/dram/impl/channel_dram.h"

#include <algorithm>
#include <cmath>

namespace npusim::hw {

ChannelDram::ChannelDram(const DramConfig& config)
    : config_(config),
      read_latency_ps_(static_cast<uint64_t>(std::llround(config.read_latency_ns * 1000.0))),
      write_latency_ps_(static_cast<uint64_t>(std::llround(config.write_latency_ns * 1000.0))),
      channel_bytes_per_us_(static_cast<uint64_t>(config.bus_width_bits / 8 * config.data_rate_mtps)),
      bus_free_ps_(static_cast<size_t>(config.channels), 0) {
  stats_.channel_bytes.assign(static_cast<size_t>(config.channels), 0);
}

uint64_t ChannelDram::transfer_ps(uint64_t bytes) const {
  // bytes / (bytes per us) in ps = bytes * 1e6 / bytes_per_us, rounded up so that no transfer beats the peak.
  return (bytes * 1000000ULL + channel_bytes_per_us_ - 1) / channel_bytes_per_us_;
}

uint64_t ChannelDram::access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) {
  if (bytes == 0) return issue_ps;
  const auto interleave = static_cast<uint64_t>(config_.interleave_bytes);
  const auto channels = static_cast<uint64_t>(config_.channels);
  const uint64_t burst = config_.burst_bytes();
  const uint64_t end = address + bytes;
  const uint64_t first_granule = address / interleave;
  const uint64_t last_granule = (end - 1) / interleave;
  const uint64_t granules = last_granule - first_granule + 1;
  const uint64_t touched = std::min(granules, channels);
  // Channel j of the request (j = 0 is the first granule's) holds granules j, j + C, j + 2C, ...: its share is
  // computed in one step instead of walking granules, trimmed where the request starts or ends mid-granule.
  uint64_t done_ps = issue_ps;
  for (uint64_t j = 0; j < touched; ++j) {
    const uint64_t channel = (first_granule + j) % channels;
    uint64_t share = ((granules - 1 - j) / channels + 1) * interleave;
    if (j == 0) share -= address - first_granule * interleave;
    if (j == (granules - 1) % channels) share -= (last_granule + 1) * interleave - end;
    const uint64_t moved = (share + burst - 1) / burst * burst;
    uint64_t& bus_free = bus_free_ps_[channel];
    // A read's data appears on the bus after the unloaded latency; the latency of later reads hides behind
    // earlier transfers (the bus stays busy back to back). A write's data goes out first, then is absorbed.
    const uint64_t data_start = std::max(is_write ? issue_ps : issue_ps + read_latency_ps_, bus_free);
    const uint64_t xfer = transfer_ps(moved);
    bus_free = data_start + xfer;
    done_ps = std::max(done_ps, is_write ? bus_free + write_latency_ps_ : bus_free);
    stats_.busy_ps += xfer;
    stats_.channel_bytes[channel] += moved;
    (is_write ? stats_.write_bytes : stats_.read_bytes) += moved;
  }
  ++(is_write ? stats_.writes : stats_.reads);
  return done_ps;
}

}  // namespace npusim::hw

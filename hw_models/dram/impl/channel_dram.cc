#include "hw_models/dram/impl/channel_dram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace npusim::hw {

namespace {

uint64_t channel_bytes_per_us(const DramConfig& c) {
  return static_cast<uint64_t>(c.bus_width_bits / 8 * c.data_rate_mtps);
}

}  // namespace

ChannelDram::ChannelDram(const DramConfig& config)
    : config_(config),
      read_latency_ps_(static_cast<uint64_t>(std::llround(config.read_latency_ns * 1000.0))),
      write_latency_ps_(static_cast<uint64_t>(std::llround(config.write_latency_ns * 1000.0))),
      // One burst on one channel: burst bytes / (bytes per us), in ps, rounded up so that no transfer beats the
      // peak (exact for the HBM and LPDDR5 presets; an LPDDR4X-4266 burst takes 3751 ps instead of 3750.6).
      burst_ps_((config.burst_bytes() * 1000000ULL + channel_bytes_per_us(config) - 1) /
                channel_bytes_per_us(config)),
      local_ps_(static_cast<size_t>(config.channels), 0),
      local_bursts_(static_cast<size_t>(config.channels), 0) {
  while (leaves_ < local_ps_.size()) leaves_ *= 2;
  tree_min_.assign(2 * leaves_, std::numeric_limits<int64_t>::max());
  tree_max_.assign(2 * leaves_, std::numeric_limits<int64_t>::min());
  rebuild_tree();
}

void ChannelDram::rebuild_tree() {
  for (size_t c = 0; c < local_ps_.size(); ++c) tree_min_[leaves_ + c] = tree_max_[leaves_ + c] = local_ps_[c];
  for (size_t i = leaves_ - 1; i >= 1; --i) {
    tree_min_[i] = std::min(tree_min_[2 * i], tree_min_[2 * i + 1]);
    tree_max_[i] = std::max(tree_max_[2 * i], tree_max_[2 * i + 1]);
  }
}

void ChannelDram::set_local(size_t c, int64_t value) {
  local_ps_[c] = value;
  size_t i = leaves_ + c;
  tree_min_[i] = tree_max_[i] = value;
  for (i /= 2; i >= 1; i /= 2) {
    tree_min_[i] = std::min(tree_min_[2 * i], tree_min_[2 * i + 1]);
    tree_max_[i] = std::max(tree_max_[2 * i], tree_max_[2 * i + 1]);
  }
}

const DramStats& ChannelDram::stats() const {
  stats_.channel_bytes.resize(local_bursts_.size());
  for (size_t c = 0; c < local_bursts_.size(); ++c) {
    stats_.channel_bytes[c] = (shared_bursts_ + local_bursts_[c]) * config_.burst_bytes();
  }
  return stats_;
}

uint64_t ChannelDram::transfer_ps(uint64_t bytes) const {
  return (bytes + config_.burst_bytes() - 1) / config_.burst_bytes() * burst_ps_;
}

uint64_t ChannelDram::access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) {
  if (bytes == 0) return issue_ps;
  const auto interleave = static_cast<uint64_t>(config_.interleave_bytes);
  const size_t channels = local_ps_.size();
  const uint64_t burst = config_.burst_bytes();
  const uint64_t bursts_per_granule = interleave / burst;
  const uint64_t end = address + bytes;
  const uint64_t first_granule = address / interleave;
  const uint64_t last_granule = (end - 1) / interleave;
  const uint64_t granules = last_granule - first_granule + 1;
  // Channel j of the request (j = 0 holds the first granule) gets granules j, j + C, j + 2C, ...: `rounds` or
  // `rounds` + 1 of them. Only the first and the last granule can be partial; they are trimmed to whole bursts.
  const uint64_t rounds = granules / channels;
  const uint64_t remainder = granules % channels;
  const uint64_t touched = rounds > 0 ? channels : remainder;
  const uint64_t last_j = (granules - 1) % channels;
  // Whole bursts of the first and last granule that lie before and after the request: the bus moves every burst
  // the request touches, aligned as the device sees it.
  const uint64_t head_bursts = (address - first_granule * interleave) / burst;
  const uint64_t tail_bursts = ((last_granule + 1) * interleave - end) / burst;
  const auto bursts_of = [&](uint64_t j) {
    uint64_t n = (rounds + (j < remainder ? 1 : 0)) * bursts_per_granule;
    if (j == 0) n -= head_bursts;
    if (j == last_j) n -= tail_bursts;
    return n;
  };
  const size_t first_channel = first_granule % channels;
  const auto channel_of = [&](uint64_t j) { return (first_channel + j) % channels; };
  // A read's data appears on the bus after the unloaded latency; the latency of later reads hides behind earlier
  // transfers (the bus stays busy back to back). A write's data goes out first, then is absorbed.
  const auto earliest = static_cast<int64_t>(is_write ? issue_ps : issue_ps + read_latency_ps_);
  const uint64_t base_bursts = rounds * bursts_per_granule;
  uint64_t total_bursts = 0;
  int64_t done_ps = static_cast<int64_t>(issue_ps);

  if (rounds > 0 && offset_ps_ + tree_min_[1] >= earliest && remainder + 2 < channels / 4) {
    // Every channel is backlogged and gets `base_bursts`, so each bus-free time just grows: move the shared
    // offset, then correct the channels with an extra granule or a trimmed edge.
    offset_ps_ += static_cast<int64_t>(base_bursts * burst_ps_);
    shared_bursts_ += base_bursts;
    total_bursts = base_bursts * channels;
    const auto correct = [&](uint64_t j) {
      const uint64_t n = bursts_of(j);
      const size_t c = channel_of(j);
      const int64_t extra = static_cast<int64_t>(n) - static_cast<int64_t>(base_bursts);
      if (extra == 0) return;
      set_local(c, local_ps_[c] + extra * static_cast<int64_t>(burst_ps_));
      local_bursts_[c] += static_cast<uint64_t>(extra);
      total_bursts += static_cast<uint64_t>(extra);
    };
    for (uint64_t j = 0; j < remainder; ++j) correct(j);
    if (remainder == 0) correct(0);  // j = 0 was not corrected above
    if (last_j != 0 && last_j >= remainder) correct(last_j);
    done_ps = std::max(done_ps, offset_ps_ + tree_max_[1]);
  } else {
    for (uint64_t j = 0; j < touched; ++j) {
      const uint64_t n = bursts_of(j);
      const size_t c = channel_of(j);
      const int64_t bus_free = std::max(earliest, offset_ps_ + local_ps_[c]) + static_cast<int64_t>(n * burst_ps_);
      local_ps_[c] = bus_free - offset_ps_;
      if (touched <= channels / 8) set_local(c, local_ps_[c]);
      local_bursts_[c] += n;
      total_bursts += n;
      done_ps = std::max(done_ps, bus_free);
    }
    if (touched > channels / 8) rebuild_tree();
  }
  if (is_write) done_ps += static_cast<int64_t>(write_latency_ps_);
  stats_.busy_ps += total_bursts * burst_ps_;
  // Energy without commands to count: the bits moved, plus one ACT for every row's worth of bytes (as if rows
  // were read whole, which streams do).
  const double moved_bits = 8.0 * static_cast<double>(total_bursts * burst);
  stats_.energy_pj += moved_bits * (is_write ? config_.energy.write_pj_per_bit : config_.energy.read_pj_per_bit) +
                      config_.energy.act_pj * static_cast<double>(total_bursts * burst) /
                          static_cast<double>(std::max<int64_t>(config_.row_bytes, 1));
  (is_write ? stats_.write_bytes : stats_.read_bytes) += total_bursts * burst;
  ++(is_write ? stats_.writes : stats_.reads);
  if (!is_write) stats_.record_read_latency(static_cast<uint64_t>(done_ps) - issue_ps);
  return static_cast<uint64_t>(done_ps);
}

}  // namespace npusim::hw

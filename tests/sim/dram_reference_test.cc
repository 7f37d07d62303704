// The channel-level DRAM against a deliberately naive reference written here: walk every burst-aligned burst that
// a request touches, count them per channel, and advance each channel's bus. The production model
// keeps a shared offset and a tree to skip that work on sequential streams; both must agree to the picosecond
// on every request and on every statistic.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "hw_models/dram/i_dram.h"
#include "hw_models/dram/impl/channel_dram.h"

namespace npusim::hw {
namespace {

class NaiveChannelDram {
 public:
  explicit NaiveChannelDram(const DramConfig& c) : c_(c), bus_free_(static_cast<size_t>(c.channels), 0) {
    const uint64_t per_us = static_cast<uint64_t>(c.bus_width_bits / 8 * c.data_rate_mtps);
    burst_ps_ = (c.burst_bytes() * 1000000 + per_us - 1) / per_us;
  }

  uint64_t access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) {
    std::map<uint64_t, uint64_t> bursts_of;  // channel -> bursts the request touches
    const auto interleave = static_cast<uint64_t>(c_.interleave_bytes);
    const uint64_t burst = c_.burst_bytes();
    for (uint64_t b = address / burst; b * burst < address + bytes; ++b) {
      ++bursts_of[(b * burst / interleave) % static_cast<uint64_t>(c_.channels)];
    }
    uint64_t done = issue_ps;
    for (const auto& [channel, bursts] : bursts_of) {
      const uint64_t start = std::max(is_write ? issue_ps : issue_ps + latency(false), bus_free_[channel]);
      bus_free_[channel] = start + bursts * burst_ps_;
      done = std::max(done, bus_free_[channel]);
      moved_ += bursts * c_.burst_bytes();
    }
    return is_write ? done + latency(true) : done;
  }
  uint64_t moved() const { return moved_; }

 private:
  uint64_t latency(bool write) const {
    return static_cast<uint64_t>(std::llround((write ? c_.write_latency_ns : c_.read_latency_ns) * 1000));
  }
  DramConfig c_;
  std::vector<uint64_t> bus_free_;
  uint64_t burst_ps_ = 0;
  uint64_t moved_ = 0;
};

void compare_on_random_traffic(DramConfig config, uint64_t seed) {
  ChannelDram fast(config);
  NaiveChannelDram naive(config);
  std::mt19937_64 rng(seed);
  uint64_t now = 0, cursor = 12345;
  for (int i = 0; i < 4000; ++i) {
    const uint64_t kind = rng() % 10;
    uint64_t address, bytes;
    bool write = false;
    if (kind < 6) {  // a sequential stream of large, unaligned requests (the fast path's case)
      bytes = 1 + rng() % (1 << 17);
      address = cursor;
      cursor += bytes;
    } else if (kind < 8) {  // small random reads
      bytes = 1 + rng() % 300;
      address = rng() % (uint64_t{1} << 34);
    } else if (kind < 9) {  // writes
      bytes = 1 + rng() % 4096;
      address = rng() % (uint64_t{1} << 34);
      write = true;
    } else {  // an idle gap: channels drain, the fast path must step aside
      now += rng() % 2000000;
      continue;
    }
    now += rng() % 3000;
    ASSERT_EQ(fast.access(address, bytes, write, now), naive.access(address, bytes, write, now))
        << "request " << i << " at " << address << " of " << bytes;
  }
  const DramStats& s = fast.stats();
  EXPECT_EQ(s.read_bytes + s.write_bytes, naive.moved());
  uint64_t per_channel = 0;
  for (uint64_t b : s.channel_bytes) per_channel += b;
  EXPECT_EQ(per_channel, naive.moved());
}

TEST(ChannelDramReference, AgreesWithNaiveModelOnHbm3x4) {
  DramConfig c = dram_preset("hbm3");
  c.channels = 128;
  compare_on_random_traffic(c, 1);
  compare_on_random_traffic(c, 2);
}

TEST(ChannelDramReference, AgreesWithNaiveModelOnLpddr5AndOddChannelCounts) {
  compare_on_random_traffic(dram_preset("lpddr5-6400"), 3);
  DramConfig c = dram_preset("hbm2e");
  c.channels = 37;  // not a power of two: the tree has empty leaves
  compare_on_random_traffic(c, 4);
  compare_on_random_traffic(dram_preset("lpddr4x-4266"), 5);
}

}  // namespace
}  // namespace npusim::hw

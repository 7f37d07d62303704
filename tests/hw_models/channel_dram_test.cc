// Exact-picosecond tests of the channel-level DRAM. Every expected number is derived from the preset:
// HBM3 pseudo-channel: 32 bits x 6400 MT/s = 4 B x 6.4e9/s = 25.6 B/ns, so a 32 B burst (BL8) takes 1250 ps;
// read latency 30 ns = 30000 ps; write latency 6 ns; 32 pseudo-channels; 256 B interleave.
#include "hw_models/dram/impl/channel_dram.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "hw_models/dram/i_dram.h"

namespace npusim::hw {
namespace {

// The HBM3 preset with the channel model's two latencies pinned to the figures derived here.
DramConfig hbm3() {
  DramConfig c = dram_preset("hbm3");
  c.read_latency_ns = 30;
  c.write_latency_ns = 6;
  return c;
}

TEST(ChannelDram, PeakBandwidthDerivesFromOrganisation) {
  // 32 channels * 4 B * 6400e6 = 819.2e9 B/s (one HBM3 stack).
  EXPECT_DOUBLE_EQ(dram_preset("hbm3").peak_bandwidth_bytes_per_s(), 819.2e9);
  // LPDDR5-6400 x64: 4 channels * 2 B * 6400e6 = 51.2e9 B/s.
  EXPECT_DOUBLE_EQ(dram_preset("lpddr5-6400").peak_bandwidth_bytes_per_s(), 51.2e9);
  // DDR5-4800 DIMM: 2 sub-channels * 4 B * 4800e6 = 38.4e9 B/s.
  EXPECT_DOUBLE_EQ(dram_preset("ddr5-4800").peak_bandwidth_bytes_per_s(), 38.4e9);
}

TEST(ChannelDram, IdleReadCostsLatencyPlusBurst) {
  ChannelDram dram(hbm3());
  // 30000 ps latency + 1250 ps burst.
  EXPECT_EQ(dram.access(0, 32, false, 0), 31250u);
  EXPECT_EQ(dram.stats().reads, 1u);
  EXPECT_EQ(dram.stats().read_bytes, 32u);
  // Energy: 256 bits x 2.0 pJ/bit + an ACT (600 pJ) for 32 of a row's 1024 bytes = 512 + 18.75 pJ.
  EXPECT_DOUBLE_EQ(dram.stats().energy_pj, 530.75);
}

TEST(ChannelDram, BackToBackReadsOnOneChannelQueueOnTheBus) {
  ChannelDram dram(hbm3());
  EXPECT_EQ(dram.access(0, 32, false, 0), 31250u);
  // Same channel (address 32 is in granule 0): its data follows the first burst: 31250 + 1250.
  EXPECT_EQ(dram.access(32, 32, false, 0), 32500u);
  // Granule 1 (address 256) is another channel: idle, so latency + one burst again.
  EXPECT_EQ(dram.access(256, 32, false, 0), 31250u);
}

TEST(ChannelDram, LargeReadSpreadsOverAllChannels) {
  ChannelDram dram(hbm3());
  // 1 MiB over 32 channels = 32768 B each = 32768 / 25.6 B/ns = 1280 ns, after 30 ns latency: 1310000 ps.
  EXPECT_EQ(dram.access(0, 1 << 20, false, 0), 1310000u);
  for (uint64_t b : dram.stats().channel_bytes) EXPECT_EQ(b, 32768u);
}

TEST(ChannelDram, PartialGranulesRoundUpToBursts) {
  ChannelDram dram(hbm3());
  // 100 B at address 200: 56 B in granule 0 (channel 0) and 44 B in granule 1 (channel 1); each rounds up to
  // two 32 B bursts = 2500 ps after the 30000 ps latency.
  EXPECT_EQ(dram.access(200, 100, false, 0), 32500u);
  EXPECT_EQ(dram.stats().read_bytes, 128u);
}

TEST(ChannelDram, UnalignedRequestMovesEveryBurstItTouches) {
  ChannelDram dram(hbm3());
  // 32 B at address 16 straddles bursts [0, 32) and [32, 64) of channel 0: two bursts, 30000 + 2 * 1250.
  EXPECT_EQ(dram.access(16, 32, false, 0), 32500u);
  EXPECT_EQ(dram.stats().read_bytes, 64u);
}

TEST(ChannelDram, WriteGoesOutThenIsAbsorbed) {
  ChannelDram dram(hbm3());
  // No read latency before a write's burst: 1250 ps on the bus + 6000 ps write latency.
  EXPECT_EQ(dram.access(0, 32, true, 0), 7250u);
  EXPECT_EQ(dram.stats().write_bytes, 32u);
}

TEST(ChannelDram, LaterIssueStartsLater) {
  DramConfig c = dram_preset("lpddr5-6400");
  c.read_latency_ns = 43;
  ChannelDram dram(c);
  // LPDDR5 channel: 2 B x 6400 MT/s = 12.8 B/ns; a 32 B burst (BL16) = 2500 ps; latency 43 ns.
  EXPECT_EQ(dram.access(0, 32, false, 1000000), 1000000u + 43000u + 2500u);
}

TEST(ChannelDram, UnknownModelAndPresetAreInputErrors) {
  DramConfig c = dram_preset("hbm3");
  c.model = "ramulator";
  EXPECT_THROW(make_dram(c), InputError);
  EXPECT_THROW(dram_preset("gddr7"), InputError);
}

}  // namespace
}  // namespace npusim::hw

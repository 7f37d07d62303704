// Sampled channels (IDram::sample_channels), the fast fidelity's way of simulating a few of the command-level
// DRAM's channels and letting each stand for its neighbours. The claim under test: when every channel receives the
// same bursts (bank, row and column) at the same times, every controller makes the same decisions, so a sampled
// channel's completions are every channel's and its counters, mirrored, are the whole system's. Streams whose
// requests cover whole rounds of the channel interleave, with refresh off (the refresh schedules of channels are
// offset from each other), are such traffic: the sampled run must give exactly the full run's times and counters.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "common/error.h"
#include "hw_models/dram/i_dram.h"

namespace npusim::hw {
namespace {

constexpr uint64_t kChannels = 8;

DramConfig eight_channels() {
  DramConfig c = dram_preset("hbm3");
  c.model = "command";
  c.channels = static_cast<int64_t>(kChannels);
  c.refresh = "none";
  return c;
}

// A stream of reads and writes at pseudo-random addresses, each a whole number of interleave rounds (8 channels x
// 32 B bursts = 256 B) long and aligned to one, 6 in flight (request k waits for k - 6).
std::vector<DramRequest> symmetric_stream(uint64_t seed, size_t n) {
  const uint64_t round = kChannels * 32;
  std::vector<DramRequest> s(n);
  uint64_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    s[i].address = ((x >> 20) % (uint64_t{1} << 22)) * round;
    s[i].bytes = (1 + (x >> 50) % 16) * round;
    s[i].is_write = (x >> 40) % 3 == 0;
    s[i].after = i >= 6 ? static_cast<int64_t>(i - 6) : -1;
  }
  return s;
}

std::vector<uint64_t> done_times(std::vector<DramRequest> s, IDram& dram) {
  dram.access_stream(s);
  std::vector<uint64_t> done;
  for (const DramRequest& r : s) done.push_back(r.done_ps);
  return done;
}

void expect_same_counters(const DramStats& a, const DramStats& b) {
  EXPECT_EQ(a.read_bytes, b.read_bytes);
  EXPECT_EQ(a.write_bytes, b.write_bytes);
  EXPECT_EQ(a.busy_ps, b.busy_ps);
  EXPECT_EQ(a.row_hits, b.row_hits);
  EXPECT_EQ(a.row_misses, b.row_misses);
  EXPECT_EQ(a.row_conflicts, b.row_conflicts);
  EXPECT_EQ(a.activates, b.activates);
  EXPECT_EQ(a.precharges, b.precharges);
  EXPECT_EQ(a.write_drains, b.write_drains);
  EXPECT_DOUBLE_EQ(a.energy_pj, b.energy_pj);
  EXPECT_EQ(a.channel_bytes, b.channel_bytes);
  EXPECT_EQ(a.channel_row_hits, b.channel_row_hits);
  EXPECT_EQ(a.channel_row_conflicts, b.channel_row_conflicts);
  EXPECT_EQ(a.read_latency_ns_histogram, b.read_latency_ns_histogram);
}

TEST(ChannelSampling, TwoChannelsOfEightGiveTheFullRunOnSymmetricTraffic) {
  const std::unique_ptr<IDram> full = make_dram(eight_channels());
  const std::unique_ptr<IDram> sampled = make_dram(eight_channels());
  sampled->sample_channels(2);  // channels 0 and 4, each standing for four
  for (uint64_t seed : {1, 2, 3}) {
    EXPECT_EQ(done_times(symmetric_stream(seed, 200), *sampled), done_times(symmetric_stream(seed, 200), *full));
  }
  EXPECT_EQ(sampled->flush(), full->flush());
  expect_same_counters(sampled->stats(), full->stats());
  EXPECT_GT(full->stats().row_conflicts, 0u);  // the traffic exercised the scheduler, not just hits
  EXPECT_GT(full->stats().write_drains, 0u);
}

TEST(ChannelSampling, SwitchingBackGivesEveryChannelTheStateOfTheOneThatStoodForIt) {
  // Sampled, then every channel again, then sampled on one channel: the same as every channel throughout, with
  // the counters continuing where the mirrored ones stood.
  const std::unique_ptr<IDram> full = make_dram(eight_channels());
  const std::unique_ptr<IDram> switched = make_dram(eight_channels());
  switched->sample_channels(4);
  EXPECT_EQ(done_times(symmetric_stream(7, 150), *switched), done_times(symmetric_stream(7, 150), *full));
  switched->sample_channels(0);
  EXPECT_EQ(done_times(symmetric_stream(8, 150), *switched), done_times(symmetric_stream(8, 150), *full));
  expect_same_counters(switched->stats(), full->stats());
  switched->sample_channels(1);
  EXPECT_EQ(done_times(symmetric_stream(9, 150), *switched), done_times(symmetric_stream(9, 150), *full));
  EXPECT_EQ(switched->flush(), full->flush());
  expect_same_counters(switched->stats(), full->stats());
}

TEST(ChannelSampling, ARequestNarrowerThanTheStrideIsServedByTheChannelStandingForIt) {
  // One 32 B read at address 32 (channel 1, which is not simulated when channel 0 stands for channels 0-3) still
  // pays an idle bank's read: tRCD + tCL + one burst, as it would in channel 1 (derived from the preset, not the
  // model: the first command at cycle 0, every timing rounded up to whole cycles of the 1.6 GHz command clock).
  const DramConfig c = eight_channels();
  const std::unique_ptr<IDram> sampled = make_dram(c);
  sampled->sample_channels(2);
  const uint64_t cycles = c.cycles_of(c.timing.tRCD) + c.cycles_of(c.timing.tCL) +
                          static_cast<uint64_t>(c.burst_length / c.transfers_per_clock);
  const auto expected_ps = static_cast<uint64_t>(std::ceil(static_cast<double>(cycles) * c.command_clock_ps()));
  EXPECT_EQ(sampled->access(32, 32, false, 0), expected_ps);
}

TEST(ChannelSampling, ALongRequestInAChannelNoneSimulatedIsServedByTheOneStandingForIt) {
  // Row-bank-channel mapping: a 1 KiB row of one channel before the next channel. 1 KiB at 3 KiB is 32 bursts,
  // all in channel 3 (more bursts than channels: the long-request path), and with one channel simulated none
  // of them is in it. Channel 0 serves them: by symmetry the same time as the same row read in channel 0.
  DramConfig c = eight_channels();
  c.address_mapping = "rorabgbachco";
  const std::unique_ptr<IDram> sampled = make_dram(c);
  sampled->sample_channels(1);
  const std::unique_ptr<IDram> full = make_dram(c);
  EXPECT_EQ(sampled->access(3072, 1024, false, 0), full->access(0, 1024, false, 0));
}

TEST(ChannelSampling, ACountThatDoesNotDivideTheChannelsIsRejected) {
  const std::unique_ptr<IDram> dram = make_dram(eight_channels());
  EXPECT_THROW(dram->sample_channels(3), InputError);
  EXPECT_NO_THROW(dram->sample_channels(16));  // more than there are: every channel
}

}  // namespace
}  // namespace npusim::hw

namespace npusim::hw {
namespace {

// A request of one burst in channel 1 (bytes 32-63): only that channel's state changes.
std::vector<DramRequest> one_burst_in_channel_one() {
  std::vector<DramRequest> s(1);
  s[0].address = 32;
  s[0].bytes = 32;
  return s;
}

// only_identical: a channel mirrors another only while their states are equal. From the start (every channel in
// the same state) two of eight stand for all, as plain sampling lets them. Once channel 1 has served a burst of
// its own (its bank holds another open row than channel 0's), the model declines to let channel 0 stand for it,
// and the run stays the full run's, where plain sampling drifts from it.
TEST(ChannelSampling, OnlyIdenticalChannelsMirrorEachOther) {
  {
    const std::unique_ptr<IDram> full = make_dram(eight_channels());
    const std::unique_ptr<IDram> exact = make_dram(eight_channels());
    exact->sample_channels(2, /*only_identical=*/true);
    for (uint64_t seed : {1, 2}) {
      EXPECT_EQ(done_times(symmetric_stream(seed, 200), *exact), done_times(symmetric_stream(seed, 200), *full));
    }
    EXPECT_EQ(exact->flush(), full->flush());
    expect_same_counters(exact->stats(), full->stats());
  }
  const std::unique_ptr<IDram> full = make_dram(eight_channels());
  const std::unique_ptr<IDram> exact = make_dram(eight_channels());
  const std::unique_ptr<IDram> plain = make_dram(eight_channels());
  for (IDram* d : {full.get(), exact.get(), plain.get()}) done_times(one_burst_in_channel_one(), *d);
  exact->sample_channels(2, /*only_identical=*/true);
  plain->sample_channels(2);
  for (uint64_t seed : {1, 2}) {
    const std::vector<uint64_t> want = done_times(symmetric_stream(seed, 200), *full);
    EXPECT_EQ(done_times(symmetric_stream(seed, 200), *exact), want);
    done_times(symmetric_stream(seed, 200), *plain);
  }
  EXPECT_EQ(exact->flush(), full->flush());
  expect_same_counters(exact->stats(), full->stats());
  plain->flush();
  EXPECT_NE(plain->stats().channel_row_conflicts, full->stats().channel_row_conflicts)
      << "plain sampling was expected to miss channel 1's own row: the test shows nothing";
}

}  // namespace
}  // namespace npusim::hw

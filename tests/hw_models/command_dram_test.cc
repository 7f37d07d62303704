// Exact-picosecond tests of the command-level DRAM on one HBM3 pseudo-channel (command clock 1.6 GHz: 0.625 ns
// cycles; separate row and column command buses). The tests pin their own timings (ns), whole cycles except tRAS
// 33 and tRC 48, which round up to 53 and 77 cycles (33.125 and 48.125 ns): tRCD 15, tRP 15, tCL 15, tWL 6.25,
// tCCD_S 1.25, tCCD_L 2.5, tRRD_S 2.5, tRRD_L 3.75, tFAW 15, tWTR_S 2.5, tWTR_L 7.5, tRTP 3.75, tWR 15,
// tRTRS 1.25, tREFI 3900, tRFC 350, tRFCpb 160, and none of tRCD_WR, tCCD_L_WR, tRTW, tPPD, tRREFD; a 32 B burst
// (32 bits x BL8 at 6.4 Gb/s) takes 1.25 ns (two cycles). Address map "rorabacobgch" with one channel and one
// rank, from bit 0: 5 bits of burst offset, 2 of bank group, 5 of column (32 bursts of a 1 KiB row), 2 of bank,
// then the row. So address 32 is bank group 1, 128 is the next column of bank group 0, 4096 is bank 1, 16384 is
// row 1 of bank 0.
#include "hw_models/dram/impl/command_dram.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "hw_models/dram/address_mapping.h"

namespace npusim::hw {
namespace {

DramConfig one_channel(const std::string& refresh = "none", const std::string& policy = "open") {
  DramConfig c = dram_preset("hbm3");
  c.model = "command";
  c.channels = 1;
  c.refresh = refresh;
  c.refresh_postpone = 0;  // refresh exactly when due, unless a test says otherwise
  c.refresh_pull_in = 0;   // and never early
  c.page_policy = policy;
  DramTimings& t = c.timing;
  t = DramTimings{};
  t.tRCD = 15, t.tRP = 15, t.tRAS = 33, t.tRC = 48, t.tCL = 15, t.tWL = 6.25;
  t.tCCD_S = 1.25, t.tCCD_L = 2.5, t.tRRD_S = 2.5, t.tRRD_L = 3.75, t.tFAW = 15;
  t.tWTR_S = 2.5, t.tWTR_L = 7.5, t.tRTP = 3.75, t.tWR = 15, t.tRTRS = 1.25;
  t.tREFI = 3900, t.tRFC = 350, t.tRFCpb = 160;
  return c;
}

TEST(AddressMapper, FieldsFollowTheSchemeFromTheMostSignificantBit) {
  const AddressMapper m(one_channel());
  EXPECT_EQ(m.map(32).bank_group, 1u);
  EXPECT_EQ(m.map(128).column, 1u);
  EXPECT_EQ(m.map(128).bank_group, 0u);
  EXPECT_EQ(m.map(4096).bank, 1u);
  EXPECT_EQ(m.map(16384).row, 1u);
  EXPECT_EQ(m.map(16384).bank, 0u);
  DramConfig row_first = one_channel();
  row_first.channels = 2;
  row_first.address_mapping = "rorabgbachco";
  // Row-bank-channel: a whole 1 KiB row in channel 0, the next KiB in channel 1.
  EXPECT_EQ(AddressMapper(row_first).map(1023).channel, 0u);
  EXPECT_EQ(AddressMapper(row_first).map(1024).channel, 1u);
  EXPECT_EQ(AddressMapper(row_first).map(1024).column, 0u);
}

TEST(AddressMapper, RejectsBadSchemesAndCounts) {
  DramConfig c = one_channel();
  c.address_mapping = "rorabacobgcc";
  EXPECT_THROW(AddressMapper{c}, InputError);
  c = one_channel();
  c.channels = 3;
  EXPECT_THROW(AddressMapper{c}, InputError);
}

TEST(CommandDram, IdleBankReadCostsRcdPlusClPlusBurst) {
  CommandDram dram(one_channel());
  // ACT at 0, read at tRCD = 15 ns, data at + tCL = 30 ns, done after the burst: 31.25 ns.
  EXPECT_EQ(dram.access(0, 32, false, 0), 31250u);
  EXPECT_EQ(dram.stats().row_misses, 1u);
  EXPECT_EQ(dram.stats().activates, 1u);
  // Energy: one ACT (600 pJ) + 32 B x 8 bits x 2.0 pJ/bit = 600 + 512 pJ.
  EXPECT_DOUBLE_EQ(dram.stats().energy_pj, 1112.0);
}

TEST(CommandDram, RowHitCostsClPlusBurst) {
  CommandDram dram(one_channel());
  dram.access(0, 32, false, 0);
  // Same bank and row, long after: read at 100 ns, data at 115, done at 116.25.
  EXPECT_EQ(dram.access(128, 32, false, 100000), 116250u);
  EXPECT_EQ(dram.stats().row_hits, 1u);
}

TEST(CommandDram, RowConflictAddsPrecharge) {
  CommandDram dram(one_channel());
  dram.access(0, 32, false, 0);
  // Row 1 of the same bank at 200 ns: PRE at 200 (tRAS and tRTP long past), ACT at 215 (tRP), read at 230
  // (tRCD), data at 245, done 246.25: tRP + tRCD + tCL + burst after the request.
  EXPECT_EQ(dram.access(16384, 32, false, 200000), 246250u);
  EXPECT_EQ(dram.stats().row_conflicts, 1u);
  EXPECT_EQ(dram.stats().precharges, 1u);
}

TEST(CommandDram, FourActivatesPerFawWindow) {
  CommandDram dram(one_channel());
  // Five reads at time 0 to five banks: bank groups 0-3 of bank 0, then bank 1 of group 0.
  // ACTs at 0, 2.5, 5, 7.5 ns (tRRD_S apart); reads at tRCD after each: 15, 17.5, 20, 22.5; data 30, 32.5,
  // 35, 37.5 ns (each + 1.25).
  EXPECT_EQ(dram.access(0, 32, false, 0), 31250u);
  EXPECT_EQ(dram.access(32, 32, false, 0), 33750u);
  EXPECT_EQ(dram.access(64, 32, false, 0), 36250u);
  EXPECT_EQ(dram.access(96, 32, false, 0), 38750u);
  // The fifth ACT would go at 10 ns by tRRD, but four ACTs already sit in the window: it waits until the first
  // plus tFAW = 15 ns; read at 30, data at 45, done 46.25 (41.25 without tFAW).
  EXPECT_EQ(dram.access(4096, 32, false, 0), 46250u);
}

TEST(CommandDram, ReadAfterWriteWaitsTwtr) {
  CommandDram dram(one_channel());
  // A write is posted: accepted (done) as it enters the empty write queue at 0.
  EXPECT_EQ(dram.access(0, 32, true, 0), 0u);
  // Drained at once (no read waits): ACT 0, write command 15 ns, data 21.25-22.5 ns (tWL 6.25).
  EXPECT_EQ(dram.flush(), 22500u);
  // A read of the same bank group: 22.5 + tWTR_L 7.5 = 30 ns, data at + tCL = 45, done 46.25 ns.
  EXPECT_EQ(dram.access(128, 32, false, 0), 46250u);
}

// Two reads handed over together at 31.25 ns, after a read opened row 0 of bank 0 (ACT 0, read 15 ns, done
// 31.25 ns; the bank may precharge from max(ACT + tRAS, read + tRTP) = 33.125 ns): A to row 1 of bank 0 (a
// conflict), then B to row 0 (a hit).
std::vector<DramRequest> conflict_then_hit(CommandDram& dram) {
  EXPECT_EQ(dram.access(0, 32, false, 0), 31250u);
  std::vector<DramRequest> stream(2);
  stream[0].address = 16384;
  stream[1].address = 128;
  for (DramRequest& r : stream) {
    r.bytes = 32;
    r.issue_ps = 31250;
  }
  dram.access_stream(stream);
  return stream;
}

TEST(CommandDram, FrFcfsServesTheRowHitBeforeTheOlderConflict) {
  CommandDram dram(one_channel());
  const std::vector<DramRequest> s = conflict_then_hit(dram);
  // B first: read at 31.25 (tCCD long met), data 46.25, done 47.5 ns. The row stays open while B waits, so A's
  // PRE goes at max(33, B's read + tRTP = 35) = 35, ACT 50, read 65, data 80, done 81.25 ns.
  EXPECT_EQ(s[1].done_ps, 47500u);
  EXPECT_EQ(s[0].done_ps, 81250u);
  EXPECT_EQ(dram.stats().row_hits, 1u);
  EXPECT_EQ(dram.stats().row_conflicts, 1u);
}

TEST(CommandDram, FcfsServesInArrivalOrder) {
  DramConfig c = one_channel();
  c.scheduler = "fcfs";
  CommandDram dram(c);
  const std::vector<DramRequest> s = conflict_then_hit(dram);
  // A first: PRE 33.125 (tRAS), ACT 48.125 (tRP; tRC from the ACT at 0 also 48.125), read 63.125, data 78.125,
  // done 79.375 ns. B waits for A (FCFS serves only the oldest), and its row 0 is closed by then: PRE at A's
  // ACT + tRAS = 81.25, ACT 96.25, read 111.25, data 126.25, done 127.5 ns.
  EXPECT_EQ(s[0].done_ps, 79375u);
  EXPECT_EQ(s[1].done_ps, 127500u);
  EXPECT_EQ(dram.stats().row_hits, 0u);
  EXPECT_EQ(dram.stats().row_conflicts, 2u);
}

// A read opened row 0 of bank 0 (ACT 0, read 15 ns, done 31.25); at 31.25 ns come A, row 1 of bank 0 (a
// conflict: its PRE must wait for tRAS, until 33.125 ns), then B, row 0 of the idle bank 1 (group 0).
std::vector<DramRequest> conflict_then_idle_bank(CommandDram& dram) {
  EXPECT_EQ(dram.access(0, 32, false, 0), 31250u);
  std::vector<DramRequest> stream(2);
  stream[0] = {16384, 32, false, 31250, -1, 0};
  stream[1] = {4096, 32, false, 31250, -1, 0};
  dram.access_stream(stream);
  return stream;
}

TEST(CommandDram, AYoungerBurstToAnIdleBankActivatesWhileAnOlderOneWaitsOutItsPrecharge) {
  CommandDram dram(one_channel());
  const std::vector<DramRequest> s = conflict_then_idle_bank(dram);
  // First ready: B's ACT can go at once (31.25 ns; tRRD long met), A's PRE only at 33.125. B: ACT 31.25, read
  // 46.25, data 61.25, done 62.5 ns. A: PRE 33.125, ACT 48.125 (tRP; tRRD_L from B's ACT: 35), read 63.125,
  // data 78.125, done 79.375 ns.
  EXPECT_EQ(s[1].done_ps, 62500u);
  EXPECT_EQ(s[0].done_ps, 79375u);
  // FCFS serves only the oldest: A as above (done 79.375), then B's ACT after A's read at 63.125 ns: read
  // 78.125, data 93.125, done 94.375 ns.
  DramConfig c = one_channel();
  c.scheduler = "fcfs";
  CommandDram in_order(c);
  const std::vector<DramRequest> f = conflict_then_idle_bank(in_order);
  EXPECT_EQ(f[0].done_ps, 79375u);
  EXPECT_EQ(f[1].done_ps, 94375u);
}

TEST(CommandDram, AHitInAnotherBankGroupGoesWhileASameGroupHitWaitsTccdL) {
  DramConfig c = one_channel();
  c.timing.tCCD_L = 5;
  CommandDram dram(c);
  dram.access(0, 32, false, 0);   // opens row 0 of bank 0, group 0 (read at 15 ns)
  dram.access(32, 32, false, 0);  // ... and of bank 0, group 1 (read at 17.5 ns)
  // At 100 ns: X and Y, hits in group 0 (columns 1 and 2), then Z, a hit in group 1. X reads at 100 (data 115,
  // done 116.25). Y may read only tCCD_L later (105), Z tCCD_S later (101.25): Z goes first, data 116.25 (the
  // bus is free from 116.25), done 117.5 ns; Y at 105, data 120, done 121.25 ns. (Oldest hit first would have
  // put Z at 106.25, done 122.5.)
  std::vector<DramRequest> s(3);
  s[0] = {128, 32, false, 100000, -1, 0};
  s[1] = {256, 32, false, 100000, -1, 0};
  s[2] = {160, 32, false, 100000, -1, 0};
  dram.access_stream(s);
  EXPECT_EQ(s[0].done_ps, 116250u);
  EXPECT_EQ(s[2].done_ps, 117500u);
  EXPECT_EQ(s[1].done_ps, 121250u);
}

// Row 0 of bank 0 open (a read at 0); at 100 ns: A, row 1 of bank 0 (a conflict), then H1-H4, hits to row 0.
std::vector<DramRequest> conflict_behind_hits(CommandDram& dram) {
  dram.access(0, 32, false, 0);
  std::vector<DramRequest> s;
  s.push_back({16384, 32, false, 100000, -1, 0});
  for (uint64_t column = 1; column <= 4; ++column) s.push_back({column * 128, 32, false, 100000, -1, 0});
  dram.access_stream(s);
  return s;
}

TEST(CommandDram, TheStarvationCapServesABurstThatHitsKeptPassing) {
  // No cap: the hits hold row 0 open (no PRE closes a row that queued bursts hit) and read at 100, 102.5, 105,
  // 107.5 ns (tCCD_L); A's PRE at H4's read + tRTP = 111.25, ACT 126.25, read 141.25, data 156.25, done 157.5 ns.
  DramConfig uncapped = one_channel();
  uncapped.starvation_cap = 0;
  CommandDram free_for_all(uncapped);
  const std::vector<DramRequest> u = conflict_behind_hits(free_for_all);
  EXPECT_EQ(u[0].done_ps, 157500u);
  EXPECT_EQ(u[4].done_ps, 107500u + 15000u + 1250u);
  // Cap 2: after H1 (100) and H2 (102.5) passed it, A goes next: PRE at H2 + tRTP = 106.25, ACT 121.25, read
  // 136.25, data 151.25, done 152.5 ns. H3 and H4 find row 1 open: PRE at A's ACT + tRAS = 154.375, ACT
  // 169.375, reads 184.375 and 186.875; H4's data 201.875, done 203.125 ns.
  DramConfig capped = one_channel();
  capped.starvation_cap = 2;
  CommandDram fair(capped);
  const std::vector<DramRequest> c = conflict_behind_hits(fair);
  EXPECT_EQ(c[0].done_ps, 152500u);
  EXPECT_EQ(c[2].done_ps, 102500u + 15000u + 1250u);
  EXPECT_EQ(c[4].done_ps, 203125u);
}

TEST(CommandDram, ASharedCommandBusTakesOneCommandPerCycle) {
  // Row 0 of bank 0 open; at 100 ns a hit H to it and M to the closed bank 1: both H's read and M's ACT are ready
  // at 100. With separate row and column buses (HBM) both go at 100: M reads at 115, data 130, done 131.25 ns.
  // On one shared bus the read goes first (a column command wins the tie) and the ACT a cycle later, 100.625:
  // M's read 115.625, done 131.875 ns. H is done at 116.25 ns either way.
  for (const char* buses : {"row_column", "shared"}) {
    DramConfig c = one_channel();
    c.command_buses = buses;
    CommandDram dram(c);
    dram.access(0, 32, false, 0);
    std::vector<DramRequest> s(2);
    s[0] = {128, 32, false, 100000, -1, 0};
    s[1] = {4096, 32, false, 100000, -1, 0};
    dram.access_stream(s);
    EXPECT_EQ(s[0].done_ps, 116250u) << buses;
    EXPECT_EQ(s[1].done_ps, std::string(buses) == "shared" ? 131875u : 131250u) << buses;
  }
}

TEST(CommandDram, AWriteWaitsTrcdWrAfterItsActivate) {
  DramConfig c = one_channel();
  c.timing.tRCD_WR = 10;
  CommandDram dram(c);
  // Posted at 0, drained at once: ACT 0, write at tRCD_WR = 10 ns (not tRCD = 15), data 16.25-17.5 ns.
  EXPECT_EQ(dram.access(0, 32, true, 0), 0u);
  EXPECT_EQ(dram.flush(), 17500u);
}

TEST(CommandDram, PerBankRefreshesOfARankAreTrrefdApart) {
  DramConfig c = one_channel("per_bank");
  c.timing.tRREFD = 300;
  CommandDram dram(c);
  // A read of bank 2 (address 8192) at 500 ns; the idle channel first issues the REFpbs due by then: the first
  // (due 243.75 ns) to bank 0, the second (due 487.5) to bank 1 (bank 2 is wanted), but tRREFD after the first:
  // 543.75. The read's ACT waits tRRD_S after that REFpb: 546.25, read 561.25, data 576.25, done 577.5 ns.
  // (Without tRREFD: REFpb at 487.5, ACT at 500, done 531.25 ns.)
  EXPECT_EQ(dram.access(8192, 32, false, 500000), 577500u);
  EXPECT_EQ(dram.stats().refreshes, 2u);
  CommandDram unspaced(one_channel("per_bank"));
  EXPECT_EQ(unspaced.access(8192, 32, false, 500000), 531250u);
}

TEST(CommandDram, ReadsGoBeforePostedWritesBelowTheHighWatermark) {
  CommandDram dram(one_channel());
  // W (bank 0) then R (bank 1 of the same group), both at 0. W is accepted at 0; one write is below the high
  // watermark (26 of 32 entries) and a read waits, so R goes first: ACT 0, read 15, data 30, done 31.25 ns.
  std::vector<DramRequest> s(2);
  s[0] = {0, 32, true, 0, -1, 0};
  s[1] = {4096, 32, false, 0, -1, 0};
  dram.access_stream(s);
  EXPECT_EQ(s[0].done_ps, 0u);
  EXPECT_EQ(s[1].done_ps, 31250u);
  // W drains when the read queue empties, at R's read (15 ns): ACT 15, write 30, data 36.25 (after R's data and
  // a turnaround, 32.5), done 37.5 ns.
  EXPECT_EQ(dram.flush(), 37500u);
  EXPECT_EQ(dram.stats().write_drains, 1u);
}

TEST(CommandDram, WriteDrainRunsFromTheHighToTheLowWatermark) {
  DramConfig c = one_channel();
  c.write_queue_bursts = 2;
  c.write_high_watermark = 1.0;  // drain when both entries are taken
  c.write_low_watermark = 0.5;   // ... down to one
  CommandDram dram(c);
  // W1, W2 (bank 0, row 0, columns 0 and 1) and R (bank 1 of the same group), all at 0.
  std::vector<DramRequest> s(3);
  s[0] = {0, 32, true, 0, -1, 0};
  s[1] = {128, 32, true, 0, -1, 0};
  s[2] = {4096, 32, false, 0, -1, 0};
  dram.access_stream(s);
  // The queue is full: W1 goes first (ACT 0, write 15, data 21.25-22.5); one write left is the low watermark,
  // so R is next: ACT at 15 (the drain's decision; tRRD long met), read at 30 (tWTR_L: 22.5 + 7.5), data 45,
  // done 46.25 ns.
  EXPECT_EQ(s[2].done_ps, 46250u);
  // W2 after R: write at max(tCCD_L after R, bus free at 46.25 + turnaround 1.25 - tWL) = 41.25, data 47.5,
  // done 48.75 ns.
  EXPECT_EQ(dram.flush(), 48750u);
}

TEST(CommandDram, AFullWriteQueueAcceptsAWriteWhenAnEntryFrees) {
  DramConfig c = one_channel();
  c.write_queue_bursts = 2;
  CommandDram dram(c);
  // Three one-burst writes at 0 to row 0 of bank 0: two entries take the first two at 0; the third enters when
  // the first write's command frees its entry: ACT 0, write at tRCD = 15 ns.
  std::vector<DramRequest> s(3);
  for (uint64_t i = 0; i < 3; ++i) s[i] = {i * 128, 32, true, 0, -1, 0};
  dram.access_stream(s);
  EXPECT_EQ(s[0].done_ps, 0u);
  EXPECT_EQ(s[1].done_ps, 0u);
  EXPECT_EQ(s[2].done_ps, 15000u);
  // Writes at 15, 17.5, 20 (tCCD_L): the last data 26.25-27.5 ns.
  EXPECT_EQ(dram.flush(), 27500u);
}

TEST(CommandDram, StreamHandsARequestOverWhenTheOneItWaitsForCompletes) {
  CommandDram dram(one_channel());
  // Request 1 waits for request 0 (one outstanding): request 0 (bank 0) done at 31.25 ns; request 1 (bank 0 of
  // group 1) is handed over then: ACT 31.25, read 46.25, data 61.25, done 62.5 ns.
  std::vector<DramRequest> s(2);
  s[0] = {0, 32, false, 0, -1, 0};
  s[1] = {32, 32, false, 0, 0, 0};
  dram.access_stream(s);
  EXPECT_EQ(s[0].done_ps, 31250u);
  EXPECT_EQ(s[1].done_ps, 62500u);
  // Read latency counts from the hand-over: 31.25 ns each.
  EXPECT_EQ(dram.stats().read_latency_sum_ps, 62500u);
}

TEST(CommandDram, ARequestAfterACompletionGoesAtTheEarliestOne) {
  // r0 (bank 0, row 0) and r1 (bank 0, row 1) at 0: r0 ACT 0, read 15, done 31.25 ns; r1 after it: PRE 33.125
  // (tRAS), ACT 48.125, read 63.125, done 79.375 ns. r2 (bank 1) takes the earliest completion, r0's at 31.25:
  // ACT 31.25, read 46.25, data 61.25, done 62.5 ns. (Waiting for r1 instead, as an in-order window of 2 would,
  // puts it at 79.375 + 31.25 = 110.625 ns.)
  CommandDram dram(one_channel());
  std::vector<DramRequest> s(3);
  s[0] = {0, 32, false, 0, -1, false, 0};
  s[1] = {16384, 32, false, 0, -1, false, 0};
  s[2] = {4096, 32, false, 0, -1, true, 0};
  dram.access_stream(s);
  EXPECT_EQ(s[0].done_ps, 31250u);
  EXPECT_EQ(s[1].done_ps, 79375u);
  EXPECT_EQ(s[2].done_ps, 62500u);
  CommandDram in_order(one_channel());
  s[2] = {4096, 32, false, 0, 1, false, 0};
  in_order.access_stream(s);
  EXPECT_EQ(s[2].done_ps, 110625u);
}

TEST(CommandDram, ZeroByteRequestMovesNothingWhereverItPoints) {
  CommandDram dram(one_channel());
  // Unaligned: no burst to touch; done at its hand-over, the first command-clock edge (0.625 ns) at or after it.
  EXPECT_EQ(dram.access(5, 0, false, 100), 625u);
  EXPECT_EQ(dram.stats().busy_ps, 0u);
  EXPECT_EQ(dram.stats().read_bytes, 0u);
}

TEST(CommandDram, AHandOverSeesNoDecisionMadeAfterIt) {
  CommandDram dram(one_channel());
  dram.access(4096, 32, false, 0);  // opens row 0 of bank 1 (group 0)
  // At 100 ns: eight reads of rows 1-8 of bank 0 (each a miss or conflict, tRC apart), then R1, a hit in bank 1,
  // then R2, another hit there, which waits for R1. FR-FCFS serves R1 first: read at 100, data 115, done 116.25
  // ns. R2 is handed over then, and the channel must not have decided on the bank-0 reads beyond that point: R2's
  // read goes at 117.5 (tCCD_L after the first bank-0 read at 115, same group), data 132.5, done 133.75 ns.
  // (Running the channel on until the older reads were done put R2 after all eight: 469.75 ns.)
  std::vector<DramRequest> s;
  for (uint64_t row = 1; row <= 8; ++row) s.push_back({row * 16384, 32, false, 100000, -1, 0});
  s.push_back({4096 + 128, 32, false, 100000, -1, 0});
  s.push_back({4096 + 256, 32, false, 100000, 8, 0});
  dram.access_stream(s);
  EXPECT_EQ(s[8].done_ps, 116250u);
  EXPECT_EQ(s[9].done_ps, 133750u);
}

TEST(CommandDram, AllBankRefreshBlocksForTrfcEveryTrefi) {
  CommandDram dram(one_channel("all_bank"));
  // A read arriving when the first REF is due (tREFI = 3900 ns): REF at 3900, banks busy until 3900 + 350; then
  // ACT 4250, read 4265, data 4280, done 4281.25 ns.
  EXPECT_EQ(dram.access(0, 32, false, 3900000), 4281250u);
  EXPECT_EQ(dram.stats().refreshes, 1u);
  // Ten tREFI later every refresh due in between has been issued: REFs at 2, 3, ..., 11 x tREFI.
  dram.access(0, 32, false, 11 * 3900000ULL + 1);
  EXPECT_EQ(dram.stats().refreshes, 11u);
}

// A row miss is "after refresh" when a refresh closed the bank's open row (the fast fidelity extends those with
// the refreshes, the others with the traffic). Bank 0 is opened at 0 (a miss: never opened), the REF due at
// 3900 ns precharges it (its only PRE), the next read of its row reopens it (a miss after refresh), and a read of
// another row of it is a conflict (PRE + ACT), no miss.
TEST(CommandDram, CountsTheMissesWhoseRowARefreshClosed) {
  CommandDram dram(one_channel("all_bank"));
  dram.access(0, 32, false, 0);
  EXPECT_EQ(dram.stats().row_misses, 1u);
  EXPECT_EQ(dram.stats().row_misses_after_refresh, 0u);
  EXPECT_EQ(dram.access(0, 32, false, 3900000), 4281250u);  // REF 3900, ACT 4250 (as in the test above)
  EXPECT_EQ(dram.stats().refreshes, 1u);
  EXPECT_EQ(dram.stats().precharges, 1u);
  EXPECT_EQ(dram.stats().row_misses, 2u);
  EXPECT_EQ(dram.stats().row_misses_after_refresh, 1u);
  dram.access(16384, 32, false, 5000000);  // row 1 of bank 0
  EXPECT_EQ(dram.stats().row_conflicts, 1u);
  EXPECT_EQ(dram.stats().row_misses, 2u);
  EXPECT_EQ(dram.stats().row_misses_after_refresh, 1u);
}

TEST(CommandDram, PerBankRefreshBlocksOnlyItsBank) {
  CommandDram dram(one_channel("per_bank"));
  // One bank's REF every tREFI / 16 banks = 243.75 ns, bank 0 first, busy until 243.75 + tRFCpb 160 = 403.75 ns.
  // A read of bank 0 of group 1 at 250 ns does not wait for it: ACT 250, read 265, data 280, done 281.25 ns.
  EXPECT_EQ(dram.access(32, 32, false, 250000), 281250u);
  EXPECT_EQ(dram.stats().refreshes, 1u);
  // A read of bank 0 at 250 ns does: ACT at 403.75, read 418.75, data 433.75, done 435 ns.
  EXPECT_EQ(dram.access(0, 32, false, 250000), 435000u);
}

TEST(CommandDram, PerBankRefreshGoesToABankNoBurstWants) {
  CommandDram dram(one_channel("per_bank"));
  // A read of bank 0 arriving when the first REFpb falls due (243.75 ns): the refresh goes to an idle bank (bank
  // 1, the next in order; no bank has been used yet), so the read does not wait for it but for the REFpb-to-ACT
  // spacing (tRRD_S): ACT 246.25, read 261.25, data 276.25, done 277.5 ns (not 435 as behind a refresh of bank 0).
  EXPECT_EQ(dram.access(0, 32, false, 243750), 277500u);
  EXPECT_EQ(dram.stats().refreshes, 1u);
  // Bank 1 is the refreshed one: busy until 243.75 + 160 = 403.75 ns, so a read of it at 250 ns (address 4096)
  // opens its row then: ACT 403.75, read 418.75, data 433.75, done 435 ns.
  EXPECT_EQ(dram.access(4096, 32, false, 250000), 435000u);
}

TEST(CommandDram, ASpeculativeRefreshGoesEarlyToABankNoBurstWants) {
  DramConfig c = one_channel("per_bank");
  c.refresh_pull_in = 8;
  c.timing.tRREFD = 5;  // 8 cycles
  CommandDram dram(c);
  // REFpb n falls due at n x 243.75 ns (390 cycles) and may go 8 intervals (3120 cycles) early, while the channel
  // is busy, to a bank of the round no queued burst wants, where the planned command is not delayed by it.
  // A read of bank 0 at 100 ns (cycle 160): ACT at 160 (no REFpb before it: the channel was idle until then).
  // The read command waits tRCD until 184; REFpbs go meanwhile, tRRD_S after the ACT and tRREFD apart, at 164,
  // 172 and 180, to banks 1, 2, 3 (bank 0 is wanted; the others are equally unused: the next in order). The read
  // is not delayed: data from cycle 208 (130 ns), done at 210 (131.25 ns).
  EXPECT_EQ(dram.access(0, 32, false, 100000), 131250u);
  EXPECT_EQ(dram.stats().refreshes, 3u);
  // A row hit at 200 ns (cycle 320, column 1 of bank 0): REFpb 4 goes at 320 to bank 4 (bank group 1, bank 0),
  // the next is tRREFD later, after the read's command. Done 200 + 15 + 1.25 = 216.25 ns, as without refresh.
  EXPECT_EQ(dram.access(128, 32, false, 200000), 216250u);
  EXPECT_EQ(dram.stats().refreshes, 4u);
  // Bank 4 (address 32) is busy until cycle 320 + tRFCpb 256 = 576 (360 ns): a read of it at 250 ns (400) opens
  // its row then: read 375, data 390, done 391.25 ns. REFpbs 5-9 go before that ACT, at 400, 408, ..., 432 (REFpb
  // 9 may go from 9 x 390 - 3120 = 390; REFpb 10 not before 780): to bank 0, which the stream just left (the
  // most recently used), then banks 5-8 in order.
  EXPECT_EQ(dram.access(32, 32, false, 250000), 391250u);
  EXPECT_EQ(dram.stats().refreshes, 9u);
  // A read of bank 10 (bank group 2, bank 2: address 64 + 8192) at 470 ns (cycle 752): no REFpb before its ACT
  // (REFpb 10 not before 780), so ACT 752, read 776, data 800, done 802 (501.25 ns). Never more than 8 ahead.
  EXPECT_EQ(dram.access(64 + 8192, 32, false, 470000), 501250u);
  EXPECT_EQ(dram.stats().refreshes, 9u);
  // A read of bank 11 (address 64 + 12288) at 500 ns (cycle 800): ACT at 800, read 824, data 848, done 850
  // (531.25 ns). REFpb 10 may go now, but not before the ACT (the channel was idle until it), and its bank, bank
  // 10 (the most recently used of those left), is open: its PRE waits tRAS from the ACT (752 + 53), then tRP 24,
  // so the REFpb could start at 829, after the planned read command (824); a speculative REFpb goes only by the
  // next planned command, and after the read nothing is queued. It stays owed (due at cycle 3900).
  EXPECT_EQ(dram.access(64 + 12288, 32, false, 500000), 531250u);
  EXPECT_EQ(dram.stats().refreshes, 9u);
}

TEST(CommandDram, ABurstArrivingBeforeASpeculativeRefreshKeepsItsBank) {
  DramConfig c = one_channel("per_bank");
  c.refresh_pull_in = 8;
  c.timing.tRREFD = 5;  // 8 cycles
  CommandDram dram(c);
  // Read 0 (bank 0) at 100 ns (cycle 160): ACT at 160, read command planned at 184, and a speculative REFpb
  // planned before it at 164 (tRRD_S after the ACT) to bank 1, the next in order. Read 1 (bank 1, the same bank
  // group) arrives at cycle 161, before that REFpb goes, so the controller plans again: bank 1 is wanted now, and
  // its ACT goes first, tRRD_L after the first: 166 (a REFpb would have to start by 166 - tRRD_S = 162, and cannot
  // before 164). Read 1: ACT 166, read 190, data 214, done 216 (135 ns); had the REFpb gone to bank 1, it would
  // have waited tRFCpb (256 cycles). Read 0: read 184, data 208, done 210 (131.25 ns). REFpbs meanwhile, to banks
  // no read wants: 170 (bank 2) and 178 (bank 3). After read 0's command the most recently used bank left is bank
  // 0, whose row cannot close before tRAS (160 + 53) and tRP: no REFpb by read 1's command at 190.
  std::vector<DramRequest> s(2);
  s[0] = {0, 32, false, 100000, -1, false, 0};
  s[1] = {4096, 32, false, 100625, -1, false, 0};
  dram.access_stream(s);
  EXPECT_EQ(s[0].done_ps, 131250u);
  EXPECT_EQ(s[1].done_ps, 135000u);
  EXPECT_EQ(dram.stats().refreshes, 2u);
}

TEST(CommandDram, ABusyChannelPostponesRefreshUntilIdle) {
  // One 64 KiB read (2048 bursts of 1.25 ns: busy past 2560 ns) handed over at 3000 ns, so the first all-bank REF
  // (due at 3900 ns) falls in the middle of it. Owing up to eight, the controller postpones it: the read ends
  // exactly as with refresh switched off, and the REF goes when the channel is idle again (settle). It cannot
  // start by the read's end (the last bank precharges tRTP after the last read, then tRP), so settling up to the
  // end counts none; 100 ns later it has happened.
  DramConfig postponing = one_channel("all_bank");
  postponing.refresh_postpone = 8;
  CommandDram postponed(postponing), no_refresh(one_channel("none")), when_due(one_channel("all_bank"));
  const uint64_t end = no_refresh.access(0, 65536, false, 3000000);
  EXPECT_EQ(postponed.access(0, 65536, false, 3000000), end);
  EXPECT_EQ(postponed.stats().refreshes, 0u);
  postponed.settle(end);
  EXPECT_EQ(postponed.stats().refreshes, 0u);
  postponed.settle(end + 100000);
  EXPECT_EQ(postponed.stats().refreshes, 1u);
  // Refreshing when due stalls the read for at least tRFC less the bursts already in flight: > 300 ns later.
  EXPECT_GT(when_due.access(0, 65536, false, 3000000), end + 300000);
  EXPECT_EQ(when_due.stats().refreshes, 1u);
}

TEST(CommandDram, SettleRefreshesIdleChannelsToo) {
  DramConfig c = one_channel("all_bank");
  c.channels = 2;
  CommandDram dram(c);
  // Only channel 0 is read (address 0). Both channels refresh at 3900, 7800, ..., 39000 ns (10 times by
  // 10 x tREFI), but channel 1's are issued only when something reaches them.
  dram.access(0, 32, false, 39000000);
  EXPECT_EQ(dram.stats().refreshes, 10u);
  dram.settle(39000000);
  EXPECT_EQ(dram.stats().refreshes, 20u);
  EXPECT_EQ(dram.stats().channel_refreshes, (std::vector<uint64_t>{10, 10}));
  EXPECT_EQ(dram.stats().channel_row_misses, (std::vector<uint64_t>{1, 0}));
  // Energy: 20 all-bank refreshes x 20000 pJ + one ACT (600) + one 32 B read (512).
  EXPECT_DOUBLE_EQ(dram.stats().energy_pj, 20 * 20000.0 + 600 + 512);
}

TEST(CommandDram, StaggeredChannelsRefreshOffsetByTheirShareOfAnInterval) {
  DramConfig c = one_channel("all_bank");
  c.channels = 2;
  c.refresh_stagger = "channels";
  CommandDram dram(c);
  // Channel 1's schedule is offset by half an interval (1950 ns): by 10 x tREFI = 39000 ns channel 0 has
  // refreshed at 3900, ..., 39000 (10 times) and channel 1 at 5850, ..., 36900 (9 times).
  dram.settle(39000000);
  EXPECT_EQ(dram.stats().channel_refreshes, (std::vector<uint64_t>{10, 9}));
  // Channels that refresh on different schedules do not stand for each other: sampling is declined, and a read
  // of channel 1 (address 32) is served there, not by channel 0 standing for it.
  dram.sample_channels(1);
  dram.access(32, 32, false, 40000000);
  EXPECT_EQ(dram.stats().channel_row_misses, (std::vector<uint64_t>{0, 1}));
}

TEST(CommandDram, BankGroupSpacingHoldsAcrossInterleavedGroups) {
  DramConfig c = one_channel();
  // Same-group spacing more than twice the other-group spacing (allowed by overrides): CAS to group 0, group 1,
  // group 0 must keep the two group-0 commands tCCD_L apart, not just tCCD_S after the group-1 one.
  c.timing.tCCD_S = 1.25;
  c.timing.tCCD_L = 5;
  CommandDram dram(c);
  // Three reads at 0: bank groups 0, 1, 0 (addresses 0, 32, 128: row 0 of bank 0 in groups 0, 1, 0).
  // ACTs at 0 and 2.5 (tRRD_S); the group-0 bank is open already for the third. Reads: 15, 17.5 (tRCD after its
  // ACT), then group 0 again at max(17.5 + 1.25, 15 + 5) = 20 ns; data at 35, done 36.25 ns.
  dram.access(0, 32, false, 0);
  dram.access(32, 32, false, 0);
  EXPECT_EQ(dram.access(128, 32, false, 0), 36250u);
}

TEST(CommandDram, ClosedPagePrechargesAfterEveryAccess) {
  CommandDram dram(one_channel("none", "closed"));
  EXPECT_EQ(dram.access(0, 32, false, 0), 31250u);
  // The row closed by auto-precharge: PRE when tRAS allows (33.125 ns), ACT at max(tRC, PRE + tRP) = 48.125 ns,
  // read at 63.125, data 78.125, done 79.375 ns; a miss, not a hit.
  EXPECT_EQ(dram.access(128, 32, false, 0), 79375u);
  EXPECT_EQ(dram.stats().row_hits, 0u);
  EXPECT_EQ(dram.stats().row_misses, 2u);
}

}  // namespace
}  // namespace npusim::hw

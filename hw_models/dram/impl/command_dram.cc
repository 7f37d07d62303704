#include "hw_models/dram/impl/command_dram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/error.h"

namespace npusim::hw {

namespace {

// The earliest cycle >= `t` that is `gap` after a command at `last` (which may be kNever).
uint64_t after(uint64_t t, int64_t last, uint64_t gap) {
  const int64_t earliest = last + static_cast<int64_t>(gap);
  return earliest > static_cast<int64_t>(t) ? static_cast<uint64_t>(earliest) : t;
}

}  // namespace

CommandDram::CommandDram(const DramConfig& config) : config_(config), mapper_(config) {
  if (config.transfers_per_clock <= 0 || config.burst_length % config.transfers_per_clock != 0) {
    throw InputError("dram.transfers_per_clock: must divide burst_length (" + std::to_string(config.burst_length) +
                     "), got " + std::to_string(config.transfers_per_clock));
  }
  const DramTimings& n = config.timing;
  const auto cycles = [&](double ns) { return config.cycles_of(ns); };
  const auto optional = [&](double ns, uint64_t fallback) { return ns > 0 ? cycles(ns) : fallback; };
  t_.rcd_rd = cycles(n.tRCD);
  t_.rcd_wr = optional(n.tRCD_WR, t_.rcd_rd);
  t_.rp = cycles(n.tRP);
  t_.ras = cycles(n.tRAS);
  t_.rc = cycles(n.tRC);
  t_.cl = cycles(n.tCL);
  t_.wl = cycles(n.tWL);
  t_.ccd_s = cycles(n.tCCD_S);
  t_.ccd_l = cycles(n.tCCD_L);
  t_.ccd_l_wr = optional(n.tCCD_L_WR, t_.ccd_l);
  t_.rrd_s = cycles(n.tRRD_S);
  t_.rrd_l = cycles(n.tRRD_L);
  t_.faw = cycles(n.tFAW);
  t_.wtr_s = cycles(n.tWTR_S);
  t_.wtr_l = cycles(n.tWTR_L);
  t_.rtp = cycles(n.tRTP);
  t_.wr = cycles(n.tWR);
  t_.rtrs = cycles(n.tRTRS);
  t_.rtw = cycles(n.tRTW);
  t_.ppd = cycles(n.tPPD);
  t_.rrefd = cycles(n.tRREFD);
  t_.refi = cycles(n.tREFI);
  t_.rfc = cycles(n.tRFC);
  t_.rfcpb = cycles(n.tRFCpb);
  t_.burst = static_cast<uint64_t>(config.burst_length / config.transfers_per_clock);
  burst_bytes_ = config.burst_bytes();
  per_bank_refresh_ = config.refresh == "per_bank";
  refresh_enabled_ = config.refresh != "none";
  closed_page_ = config.page_policy == "closed";
  column_bus_ = config.command_buses == "row_column" ? 1 : 0;
  starvation_cap_ = static_cast<uint32_t>(std::max<int64_t>(0, config.starvation_cap));
  banks_per_rank_ = static_cast<uint32_t>(config.banks());
  banks_per_group_ = static_cast<uint32_t>(config.banks_per_group);
  bank_groups_ = static_cast<uint32_t>(config.bank_groups);
  // Per-bank refresh spreads the rank's refreshes over tREFI: one bank every tREFI / banks.
  refresh_interval_ = config.refresh_interval_cycles();
  refresh_postpone_ = static_cast<uint64_t>(config.refresh_postpone) * refresh_interval_;
  pull_in_cycles_ = per_bank_refresh_ ? static_cast<uint64_t>(config.refresh_pull_in) * refresh_interval_ : 0;
  const size_t banks = static_cast<size_t>(config.ranks) * banks_per_rank_;
  Channel proto;
  proto.banks.resize(banks);
  proto.ranks.resize(static_cast<size_t>(config.ranks));
  for (auto& h : proto.hits) h.assign(banks, 0);
  for (auto& q : proto.queued) q.assign(banks, 0);
  proto.last_cas_by_group.assign(static_cast<size_t>(config.ranks * config.bank_groups), kNever);
  proto.last_cas_write_by_group.assign(static_cast<size_t>(config.ranks * config.bank_groups), 0);
  for (Rank& r : proto.ranks) {
    r.last_act_by_group.assign(static_cast<size_t>(config.bank_groups), kNever);
    r.write_end_by_group.assign(static_cast<size_t>(config.bank_groups), 0);
    r.refreshed.assign(banks_per_rank_, 0);
    r.next_refresh = refresh_interval_;
  }
  proto.queue[0].reset(static_cast<size_t>(config.read_queue_bursts), banks);
  proto.queue[1].reset(static_cast<size_t>(config.write_queue_bursts), banks);
  channels_.assign(static_cast<size_t>(config.channels), proto);
  // Staggered refresh: channel c's schedule is offset by c / channels of an interval.
  stagger_ = config.refresh_stagger == "channels";
  for (size_t c = 0; c < channels_.size(); ++c) {
    if (stagger_) {
      for (Rank& r : channels_[c].ranks) r.next_refresh += refresh_interval_ * c / channels_.size();
    }
  }
  first_ready_ = config.scheduler != "fcfs";
  masks_ok_ = banks <= 64;
  queue_capacity_[0] = static_cast<size_t>(config.read_queue_bursts);
  queue_capacity_[1] = static_cast<size_t>(config.write_queue_bursts);
  // Watermarks in whole entries; a drain always starts when the queue is full and stops when it is empty.
  write_high_ = std::clamp<size_t>(
      static_cast<size_t>(std::ceil(config.write_high_watermark * static_cast<double>(queue_capacity_[1]))), 1,
      queue_capacity_[1]);
  write_low_ = std::min(
      static_cast<size_t>(std::floor(config.write_low_watermark * static_cast<double>(queue_capacity_[1]))),
      write_high_ - 1);
  keys_.assign(channels_.size(), kNoDecision);
  for (auto* v : {&stats_.channel_bytes, &stats_.channel_row_hits, &stats_.channel_row_misses,
                  &stats_.channel_row_conflicts, &stats_.channel_refreshes}) {
    v->assign(static_cast<size_t>(config.channels), 0);
  }
}

uint64_t CommandDram::cycle_at(uint64_t ps) const {
  // cycles = ps x rate / (transfers per clock x 1e6), rounded up. In 64 bits while ps x rate + den fits (about
  // 30 simulated minutes at 10000 MT/s), else in 128 (the same result, at a library division's cost).
  const auto rate = static_cast<uint64_t>(config_.data_rate_mtps);
  const auto den = static_cast<uint64_t>(config_.transfers_per_clock) * 1000000u;
  if (ps <= (~uint64_t{0} - den) / rate) return (ps * rate + den - 1) / den;
  const unsigned __int128 num = static_cast<unsigned __int128>(ps) * rate;
  return static_cast<uint64_t>((num + den - 1) / den);
}

uint64_t CommandDram::ps_of(uint64_t cycle) const {
  const auto per_cycle = static_cast<uint64_t>(config_.transfers_per_clock) * 1000000u;
  const auto rate = static_cast<uint64_t>(config_.data_rate_mtps);
  if (cycle <= (~uint64_t{0} - rate) / per_cycle) return (cycle * per_cycle + rate - 1) / rate;
  const unsigned __int128 num = static_cast<unsigned __int128>(cycle) * per_cycle;
  return static_cast<uint64_t>((num + rate - 1) / rate);
}

uint64_t CommandDram::bus_slot(const Channel& ch, int bus, uint64_t t) const {
  t = std::max(t, ch.command_free[bus]);
  // A REF took its cycle on the row bus (the shared one, when there is one bus).
  return bus == 0 && t == ch.refresh_slot ? t + 1 : t;
}

uint32_t CommandDram::unwanted_refresh_bank(const Channel& ch, uint32_t rank) const {
  const Rank& r = ch.ranks[rank];
  const Bank* banks = &ch.banks[static_cast<size_t>(rank) * banks_per_rank_];
  uint32_t pick = banks_per_rank_;
  // Scanned from the round's next bank on; among equally recent banks the first scanned wins.
  const auto consider = [&](uint32_t i) {
    if (pick == banks_per_rank_ || banks[i].last_cas > banks[pick].last_cas) pick = i;
  };
  if (masks_ok_) {
    const uint32_t shift = rank * banks_per_rank_;
    const uint64_t rank_bits = banks_per_rank_ == 64 ? ~uint64_t{0} : (uint64_t{1} << banks_per_rank_) - 1;
    const uint64_t candidates =
        ~((ch.queued_mask[0] | ch.queued_mask[1]) >> shift) & rank_bits & ~r.refreshed_mask;
    const uint64_t from = uint64_t{~uint64_t{0}} << r.next_refresh_bank;
    for (uint64_t part : {candidates & from, candidates & ~from}) {
      for (; part != 0; part &= part - 1) consider(static_cast<uint32_t>(__builtin_ctzll(part)));
    }
    return pick;
  }
  for (uint32_t k = 0; k < banks_per_rank_; ++k) {
    const uint32_t i = (r.next_refresh_bank + k) % banks_per_rank_;
    const size_t bank = static_cast<size_t>(rank) * banks_per_rank_ + i;
    if (r.refreshed[i] || ch.queued[0][bank] + ch.queued[1][bank] != 0) continue;
    consider(i);
  }
  return pick;
}

uint64_t CommandDram::refpb_time(const Channel& ch, uint32_t rank, uint32_t bank, uint64_t from) const {
  const Rank& r = ch.ranks[rank];
  const Bank& b = ch.banks[static_cast<size_t>(rank) * banks_per_rank_ + bank];
  uint64_t at = std::max({from, b.act_ok, ch.decided});
  at = after(at, r.last_refpb, t_.rrefd);
  at = after(at, r.last_act, t_.rrd_s);
  if (b.open_row >= 0) at = std::max(at, b.pre_ok + t_.rp);
  return bus_slot(ch, 0, at);
}

void CommandDram::issue_refpb(Channel& ch, uint32_t rank, uint32_t bank, uint64_t at) {
  Rank& r = ch.ranks[rank];
  Bank& b = ch.banks[static_cast<size_t>(rank) * banks_per_rank_ + bank];
  if (b.open_row >= 0) {
    ++ch.counts.precharges;
    b.refresh_closed = true;
  }
  b.open_row = -1;
  b.act_ok = std::max(b.act_ok, at + t_.rfcpb);
  r.last_refpb = static_cast<int64_t>(at);
  r.refreshed[bank] = 1;
  r.refreshed_mask |= uint64_t{1} << (bank % 64);
  if (++r.refreshed_count == banks_per_rank_) {
    std::fill(r.refreshed.begin(), r.refreshed.end(), 0);
    r.refreshed_mask = 0;
    r.refreshed_count = 0;
  }
  r.next_refresh_bank = (bank + 1) % banks_per_rank_;
  ch.refresh_slot = at;
  r.next_refresh += refresh_interval_;
  ++ch.counts.refreshes;
}

bool CommandDram::plan_speculative_refresh(Channel& ch, uint32_t rank) {
  Plan& plan = ch.plan;
  const Rank& r = ch.ranks[rank];
  // It must not delay the planned command: it takes a row-bus slot, and an ACT of its rank waits tRRD_S after it.
  const uint64_t gap = plan.command == Command::kActivate                     ? std::max<uint64_t>(t_.rrd_s, 1)
                       : plan.command != Command::kColumn || column_bus_ == 0 ? 1
                                                                              : 0;
  if (r.next_refresh > plan.at + pull_in_cycles_ || plan.at < gap) return false;
  const uint64_t until = plan.at - gap;
  // Up to refresh_pull_in intervals before it falls due, while the channel is busy (an idle one catches up only
  // on what is due: settle()).
  const uint64_t from =
      std::max(r.next_refresh > pull_in_cycles_ ? r.next_refresh - pull_in_cycles_ : 0, ch.busy_since);
  // Nothing to do before the earliest cycle any REFpb of the rank could take (checked before the bank search: this
  // runs for every planned command).
  if (after(after(std::max(from, ch.decided), r.last_refpb, t_.rrefd), r.last_act, t_.rrd_s) > until) return false;
  const uint32_t bank = unwanted_refresh_bank(ch, rank);
  if (bank == banks_per_rank_) return false;
  const uint64_t at = refpb_time(ch, rank, bank, from);
  if (at > until) return false;
  plan.command = Command::kRefresh;
  plan.at = at;
  plan.refresh_rank = rank;
  plan.refresh_bank = bank;
  return true;
}

bool CommandDram::refresh_until(Channel& ch, uint32_t rank, uint64_t until, bool by_end) {
  Rank& r = ch.ranks[rank];
  bool issued = false;
  Bank* banks = &ch.banks[static_cast<size_t>(rank) * banks_per_rank_];
  while (refresh_enabled_ && r.next_refresh <= until) {
    if (per_bank_refresh_) {
      // REFpb to one bank: each bank once per round of tREFI; among those left, one that no queued burst wants,
      // the most recently used (a stream that just left a bank comes back to it last), so that a stream rarely
      // waits for a refresh. Precharge it if open; then the bank is busy for tRFCpb. REFpbs of a rank are
      // tRREFD apart and spaced from ACTs like an ACT (tRRD_S).
      uint32_t pick = unwanted_refresh_bank(ch, rank);
      for (uint32_t k = 0; k < banks_per_rank_ && pick == banks_per_rank_; ++k) {
        const uint32_t i = (r.next_refresh_bank + k) % banks_per_rank_;
        if (!r.refreshed[i]) pick = i;  // every bank left is wanted: the next in order
      }
      const uint64_t at = refpb_time(ch, rank, pick, r.next_refresh);
      if (by_end && at > until) break;  // it would start after the end: still owed
      issue_refpb(ch, rank, pick, at);
    } else {
      // REFab: every bank precharged (tRP after its PRE), then the rank is busy for tRFC.
      uint64_t at = std::max(r.next_refresh, ch.decided);
      for (uint32_t i = 0; i < banks_per_rank_; ++i) {
        at = std::max(at, banks[i].act_ok);
        if (banks[i].open_row >= 0) at = std::max(at, banks[i].pre_ok + t_.rp);
      }
      at = bus_slot(ch, 0, at);
      if (by_end && at > until) break;
      for (uint32_t i = 0; i < banks_per_rank_; ++i) {
        if (banks[i].open_row >= 0) {
          ++ch.counts.precharges;
          banks[i].refresh_closed = true;
        }
        banks[i].open_row = -1;
        banks[i].act_ok = at + t_.rfc;
      }
      ch.refresh_slot = at;
      r.next_refresh += refresh_interval_;
      ++ch.counts.refreshes;
    }
    issued = true;
  }
  return issued;
}

uint64_t CommandDram::activate_time(const Channel& ch, const Queued& e) const {
  const Rank& rank = ch.ranks[e.rank];
  uint64_t t = std::max({e.arrival, ch.decided, ch.banks[e.bank].act_ok});
  // ACTs of a rank: tRRD_S after any ACT (or per-bank REF), tRRD_L after one in the same bank group, at most four
  // per tFAW.
  t = after(t, rank.last_act, t_.rrd_s);
  t = after(t, rank.last_act_by_group[e.bank_group], t_.rrd_l);
  t = after(t, rank.last_refpb, t_.rrd_s);
  if (rank.act_count >= 4) t = std::max(t, rank.recent_acts[rank.act_count % 4] + t_.faw);
  return bus_slot(ch, 0, t);
}

uint64_t CommandDram::precharge_time(const Channel& ch, const Queued& e) const {
  const uint64_t t = std::max({e.arrival, ch.decided, ch.banks[e.bank].pre_ok});
  return bus_slot(ch, 0, after(t, ch.ranks[e.rank].last_pre, t_.ppd));
}

uint64_t CommandDram::column_time(const Channel& ch, const Queued& e, bool is_write, uint64_t& data) const {
  const Rank& rank = ch.ranks[e.rank];
  const Bank& b = ch.banks[e.bank];
  const size_t group = e.group_slot;
  // Column commands of a channel: tCCD_S after any, tCCD_L after one in the same bank group of the same rank
  // (tCCD_L_WR between two writes there); tRCD (read or write) after the bank's ACT.
  uint64_t t = std::max({e.arrival, ch.decided, is_write ? b.write_ok : b.read_ok});
  t = after(t, ch.last_cas, t_.ccd_s);
  t = after(t, ch.last_cas_by_group[group],
            is_write && ch.last_cas_write_by_group[group] ? t_.ccd_l_wr : t_.ccd_l);
  if (is_write) {
    t = after(t, ch.last_read_cas, t_.rtw);
  } else {
    // A read waits tWTR after the end of write data in its rank (longer within the bank group).
    t = std::max({t, rank.last_write_end + t_.wtr_s, rank.write_end_by_group[e.bank_group] + t_.wtr_l});
  }
  t = bus_slot(ch, column_bus_, t);
  // The data bus: in order, with a turnaround between reads and writes and between ranks.
  const uint64_t latency = is_write ? t_.wl : t_.cl;
  const bool turnaround = ch.any_cas && (ch.bus_last_write != is_write || ch.bus_last_rank != e.rank);
  const uint64_t bus_ready = ch.bus_free + (turnaround ? t_.rtrs : 0);
  if (t + latency < bus_ready) t = bus_slot(ch, column_bus_, bus_ready - latency);
  data = t + latency;
  return t;
}

void CommandDram::recount_hits(Channel& ch) {
  for (int dir = 0; dir < 2; ++dir) {
    std::fill(ch.hits[dir].begin(), ch.hits[dir].end(), 0);
    const BurstQueue<Queued>& q = ch.queue[dir];
    ch.hit_mask[dir] = 0;
    for (uint32_t s = q.oldest(); s != q.kNone; s = q.younger(s)) {
      if (ch.banks[q[s].bank].open_row != static_cast<int64_t>(q[s].row)) continue;
      ++ch.hits[dir][q[s].bank];
      ch.hit_mask[dir] |= bank_bit(q[s].bank);
    }
  }
}

uint32_t CommandDram::bank_candidate(const Channel& ch, int dir, uint32_t bank) {
  const BurstQueue<Queued>& q = ch.queue[dir];
  uint32_t s = q.oldest_in_bank(bank);
  if (ch.hits[dir][bank] == 0) return s;
  const int64_t open_row = ch.banks[bank].open_row;
  while (static_cast<int64_t>(q[s].row) != open_row) s = q.younger_in_bank(s);
  return s;
}

void CommandDram::replan(size_t channel) {
  Channel& ch = channels_[channel];
  ch.plan.valid = false;
  const BurstQueue<Queued>& reads = ch.queue[0];
  const BurstQueue<Queued>& writes = ch.queue[1];
  if (ch.draining) {
    if (writes.empty() || (writes.size() <= write_low_ && !reads.empty())) {
      ch.draining = false;
      ch.drain_counted = false;
    }
  } else if (!writes.empty() && (writes.size() >= write_high_ || reads.empty())) {
    ch.draining = true;
  }
  if (reads.empty() && writes.empty()) {
    keys_[channel] = kNoDecision;
    return;
  }
  const int dir = ch.draining ? 1 : 0;
  const bool is_write = dir == 1;
  const BurstQueue<Queued>& q = ch.queue[dir];
  Plan& plan = ch.plan;  // filled in place: copying it whole costs more than the rest of the decision
  for (;;) {
    plan.valid = false;
    plan.is_write = is_write;
    uint64_t plan_seq = 0;  // the age of the planned command's burst
    // Lower bounds shared by every candidate: no column command goes before the column bound, no row command
    // before the row bound.
    const uint64_t latency = is_write ? t_.wl : t_.cl;
    const uint64_t column_floor =
        std::max({ch.decided, ch.command_free[column_bus_], after(0, ch.last_cas, t_.ccd_s),
                  ch.bus_free > latency ? ch.bus_free - latency : 0});
    const uint64_t row_floor = std::max(ch.decided, ch.command_free[0]);
    // Offers the command that burst `slot` needs: the plan takes it if it can issue first; on a tie a column
    // command beats a row command, then the older burst wins.
    const auto offer = [&](uint32_t slot) {
      const Queued& e = q[slot];
      const Bank& b = ch.banks[e.bank];
      const bool hit = b.open_row == static_cast<int64_t>(e.row);
      const bool wins_tie = !plan.valid || (hit && plan.command != Command::kColumn) ||
                            ((hit == (plan.command == Command::kColumn)) && e.seq < plan_seq);
      if (plan.valid) {
        // A cheap lower bound of the command: when even that cannot beat the plan, skip the placement.
        const uint64_t bound = hit ? std::max({e.arrival, is_write ? b.write_ok : b.read_ok, column_floor})
                                   : std::max({e.arrival, b.open_row >= 0 ? b.pre_ok : b.act_ok, row_floor});
        if (bound > plan.at || (bound == plan.at && !wins_tie)) return;
      }
      uint64_t at = 0, data = 0;
      Command command = Command::kColumn;
      if (hit) {
        at = column_time(ch, e, is_write, data);
      } else if (b.open_row >= 0) {
        command = Command::kPrecharge;
        at = precharge_time(ch, e);
      } else {
        command = Command::kActivate;
        at = activate_time(ch, e);
      }
      if (!plan.valid || at < plan.at || (at == plan.at && wins_tie)) {
        plan.valid = true;
        plan.at = at;
        plan.data = data;
        plan.slot = slot;
        plan.command = command;
        plan_seq = e.seq;
      }
    };
    const uint32_t oldest = q.oldest();
    const bool starving =
        first_ready_ && starvation_cap_ > 0 && ch.served[dir] - q[oldest].bypass_base >= starvation_cap_;
    if (!first_ready_ || starving) {
      // FCFS, or a burst past the starvation cap: only the oldest burst's command, whatever its bank holds.
      offer(oldest);
    } else {
      // FR-FCFS: every bank with queued bursts offers one command (a PRE never closes a row that is still hit).
      // The oldest burst's bank goes first: having waited longest, it is likely ready first, and the bounds then
      // skip most of the others.
      const uint32_t first_bank = q[oldest].bank;
      offer(bank_candidate(ch, dir, first_bank));
      if (masks_ok_) {
        uint64_t others = ch.queued_mask[dir] & ~bank_bit(first_bank);
        // The oldest burst itself, a row hit issuing at the column bound: no other column command can go before
        // it, nor win the tie (it is the oldest), so only the banks that offer a row command (no hit queued) can
        // still beat it. In a stream that is most decisions, and most banks hold hits.
        if (plan.command == Command::kColumn && plan.slot == oldest && plan.at == column_floor) {
          others &= ~ch.hit_mask[dir];
        }
        for (uint64_t m = others; m != 0; m &= m - 1) {
          offer(bank_candidate(ch, dir, static_cast<uint32_t>(__builtin_ctzll(m))));
        }
      } else {
        for (uint32_t bank = 0; bank < ch.banks.size(); ++bank) {
          if (bank != first_bank && ch.queued[dir][bank] > 0) offer(bank_candidate(ch, dir, bank));
        }
      }
    }
    if (!plan.valid) throw std::logic_error("CommandDram: a queue holds bursts but no command can serve them");
    // Refreshes go first (then plan again) if they fell due while the channel was idle, or if postponing them
    // past the command would owe more than the postponement limit.
    const uint32_t rank = q[plan.slot].rank;
    const uint64_t forced = plan.at >= refresh_postpone_ ? plan.at - refresh_postpone_ : 0;
    const uint64_t refresh_by = std::max(ch.busy_since, forced);
    if (refresh_enabled_ && ch.ranks[rank].next_refresh <= refresh_by) {
      if (refresh_until(ch, rank, refresh_by)) recount_hits(ch);
      continue;
    }
    // Speculative refresh: a REFpb due within refresh_pull_in intervals, to the most recently used bank of its
    // round that no queued burst wants, goes first where it delays the planned command by nothing. It is the
    // channel's next decision: bursts that arrive before it plan again, and may want its bank.
    if (pull_in_cycles_ > 0) plan_speculative_refresh(ch, rank);
    keys_[channel] = plan.at;
    return;
  }
}

void CommandDram::execute_activate(size_t channel, const Plan& plan) {
  Channel& ch = channels_[channel];
  Queued& e = ch.queue[plan.is_write ? 1 : 0][plan.slot];
  Rank& rank = ch.ranks[e.rank];
  Bank& b = ch.banks[e.bank];
  const uint64_t at = plan.at;
  if (b.conflict_pre) {
    b.conflict_pre = false;  // counted as a conflict at its PRE
  } else {
    ++ch.counts.row_misses;
    ch.counts.row_misses_after_refresh += b.refresh_closed ? 1 : 0;
  }
  b.refresh_closed = false;
  ++ch.counts.activates;
  e.activated = true;
  b.open_row = e.row;
  b.pre_ok = at + t_.ras;
  b.act_ok = at + t_.rc;
  b.read_ok = at + t_.rcd_rd;
  b.write_ok = at + t_.rcd_wr;
  rank.recent_acts[rank.act_count % 4] = at;
  ++rank.act_count;
  rank.last_act = static_cast<int64_t>(at);
  rank.last_act_by_group[e.bank_group] = static_cast<int64_t>(at);
  ch.command_free[0] = at + 1;
  // The bank's queued bursts to the new row are hits now.
  const uint32_t bank = e.bank, row = e.row;
  for (int d = 0; d < 2; ++d) {
    uint32_t n = 0;
    const BurstQueue<Queued>& q = ch.queue[d];
    for (uint32_t s = q.oldest_in_bank(bank); s != q.kNone; s = q.younger_in_bank(s)) n += q[s].row == row;
    set_hits(ch, d, bank, n);
  }
}

void CommandDram::execute_precharge(size_t channel, const Plan& plan) {
  Channel& ch = channels_[channel];
  const Queued& e = ch.queue[plan.is_write ? 1 : 0][plan.slot];
  Bank& b = ch.banks[e.bank];
  ++ch.counts.precharges;
  ++ch.counts.row_conflicts;
  b.conflict_pre = true;
  b.open_row = -1;
  b.act_ok = std::max(b.act_ok, plan.at + t_.rp);
  ch.ranks[e.rank].last_pre = static_cast<int64_t>(plan.at);
  ch.command_free[0] = plan.at + 1;
  set_hits(ch, 0, e.bank, 0);
  set_hits(ch, 1, e.bank, 0);
}

void CommandDram::execute_column(size_t channel, const Plan& plan) {
  Channel& ch = channels_[channel];
  const int dir = plan.is_write ? 1 : 0;
  BurstQueue<Queued>& q = ch.queue[dir];
  ++ch.served[dir];  // every older burst was passed by this one (Queued::bypass_base)
  // The fields it needs, then free the entry (copying the whole entry costs more).
  const Queued& entry = q[plan.slot];
  const uint32_t rank_index = entry.rank, group = entry.bank_group, group_slot = entry.group_slot;
  const uint32_t bank_index = entry.bank;
  const bool activated = entry.activated;
  const uint64_t request = entry.request;
  q.erase(plan.slot);
  if (--ch.queued[dir][bank_index] == 0) ch.queued_mask[dir] &= ~bank_bit(bank_index);
  Rank& rank = ch.ranks[rank_index];
  Bank& b = ch.banks[bank_index];
  ch.counts.row_hits += activated ? 0 : 1;
  if (--ch.hits[dir][bank_index] == 0) ch.hit_mask[dir] &= ~bank_bit(bank_index);
  const uint64_t at = plan.at;
  const uint64_t data_end = plan.data + t_.burst;
  ch.any_cas = true;
  ch.last_cas = static_cast<int64_t>(at);
  ch.last_cas_by_group[group_slot] = static_cast<int64_t>(at);
  ch.last_cas_write_by_group[group_slot] = plan.is_write;
  ch.command_free[column_bus_] = at + 1;
  b.last_cas = at;
  ch.bus_free = data_end;
  ch.bus_last_write = plan.is_write;
  ch.bus_last_rank = rank_index;
  if (plan.is_write) {
    if (!ch.drain_counted) {
      // Counted at its first write: a drain that a read interrupts before it writes is none.
      ++ch.counts.write_drains;
      ch.drain_counted = true;
    }
    b.pre_ok = std::max(b.pre_ok, data_end + t_.wr);
    rank.write_end_by_group[group] = data_end;
    rank.last_write_end = data_end;
    last_write_data_end_ = std::max(last_write_data_end_, data_end);
    ++ch.counts.write_bursts;
  } else {
    b.pre_ok = std::max(b.pre_ok, at + t_.rtp);
    ch.last_read_cas = static_cast<int64_t>(at);
    ++ch.counts.read_bursts;
  }
  if (closed_page_) {
    // Auto-precharge: the row closes as soon as the bank allows it; queued bursts to it need a new ACT.
    b.open_row = -1;
    b.act_ok = std::max(b.act_ok, b.pre_ok + t_.rp);
    ++ch.counts.precharges;
    set_hits(ch, 0, bank_index, 0);
    set_hits(ch, 1, bank_index, 0);
  }
  // The column command frees the burst's queue entry.
  fill(channel, dir, at);
  if (!plan.is_write) burst_done(request, data_end);
}

void CommandDram::fill(size_t channel, int dir, uint64_t free_at) {
  Channel& ch = channels_[channel];
  std::deque<Backlogged>& backlog = ch.backlog[dir];
  BurstQueue<Queued>& q = ch.queue[dir];
  while (!backlog.empty() && q.size() < queue_capacity_[dir]) {
    Backlogged& from = backlog.front();
    const uint64_t at = from.next_address;
    const uint64_t request = from.request;
    const uint64_t arrival = std::max(from.arrival, free_at);
    // Step to the range's next burst here; drop the range when it has none, so that a backlog's front always
    // holds a burst.
    from.next_address = mapper_.next_in_channel(at + burst_bytes_, from.channel);
    if (from.next_address >= from.end_address) backlog.pop_front();
    if (ch.queue[0].empty() && ch.queue[1].empty()) ch.busy_since = arrival;
    const DramAddress a = mapper_.map(at);
    const uint32_t bank = a.rank * banks_per_rank_ + a.bank_group * banks_per_group_ + a.bank;
    const uint64_t older = q.size();
    Queued& e = q[q.push_back(bank)];
    e.row = a.row;
    e.rank = static_cast<uint8_t>(a.rank);
    e.bank_group = static_cast<uint8_t>(a.bank_group);
    e.bank = bank;
    e.group_slot = static_cast<uint16_t>(a.rank * bank_groups_ + a.bank_group);
    e.activated = false;
    e.request = request;
    e.arrival = arrival;
    e.seq = ch.arrivals[dir]++;
    e.bypass_base = ch.served[dir] + older;
    if (ch.queued[dir][e.bank]++ == 0) ch.queued_mask[dir] |= bank_bit(e.bank);
    if (ch.banks[e.bank].open_row == static_cast<int64_t>(e.row)) {
      ++ch.hits[dir][e.bank];
      ch.hit_mask[dir] |= bank_bit(e.bank);
    }
    if (dir == 1) burst_done(e.request, e.arrival);  // a write is accepted when it enters the queue
  }
}

void CommandDram::burst_done(uint64_t request, uint64_t done) {
  if (request == gate_id_ && gate_bursts_left_ > 0) --gate_bursts_left_;
  if (request < first_id_) return;  // a posted write of a finished stream
  Pending& p = pending_[request - first_id_];
  p.done = std::max(p.done, done);
  if (--p.bursts_left == 0) {
    ++completed_;
    unclaimed_.push(p.done);
    if (!p.is_write) stats_.record_read_latency(ps_of(p.done) - ps_of(p.handover));
  }
}

void CommandDram::execute(size_t channel) {
  Channel& ch = channels_[channel];
  const Plan& plan = ch.plan;
  if (!plan.valid) throw std::logic_error("CommandDram: executing a channel without a plan");
  ch.decided = plan.at;
  switch (plan.command) {
    case Command::kActivate:
      execute_activate(channel, plan);
      break;
    case Command::kPrecharge:
      execute_precharge(channel, plan);
      break;
    case Command::kColumn:
      execute_column(channel, plan);
      break;
    case Command::kRefresh:
      issue_refpb(ch, plan.refresh_rank, plan.refresh_bank, plan.at);
      break;
  }
  replan(channel);
}

}  // namespace npusim::hw

#include "hw_models/dram/impl/command_dram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace npusim::hw {

namespace {

// The earliest time >= `t` that is `gap` after a command at `last` (which may be kNever).
uint64_t after(uint64_t t, int64_t last, uint64_t gap) {
  const int64_t earliest = last + static_cast<int64_t>(gap);
  return earliest > static_cast<int64_t>(t) ? static_cast<uint64_t>(earliest) : t;
}

uint64_t ps(double ns) {
  return static_cast<uint64_t>(std::llround(ns * 1000.0));
}

}  // namespace

CommandDram::CommandDram(const DramConfig& config) : config_(config), mapper_(config) {
  const DramTimings& n = config.timing;
  t_ = {ps(n.tRCD),   ps(n.tRP),    ps(n.tRAS),   ps(n.tRC),  ps(n.tCL),    ps(n.tWL),        ps(n.tCCD_S),
        ps(n.tCCD_L), ps(n.tRRD_S), ps(n.tRRD_L), ps(n.tFAW), ps(n.tWTR_S), ps(n.tWTR_L),     ps(n.tRTP),
        ps(n.tWR),    ps(n.tRTRS),  ps(n.tREFI),  ps(n.tRFC), ps(n.tRFCpb), config.burst_ps()};
  burst_bytes_ = config.burst_bytes();
  per_bank_refresh_ = config.refresh == "per_bank";
  refresh_enabled_ = config.refresh != "none";
  closed_page_ = config.page_policy == "closed";
  banks_per_rank_ = static_cast<uint32_t>(config.banks());
  banks_per_group_ = static_cast<uint32_t>(config.banks_per_group);
  bank_groups_ = static_cast<uint32_t>(config.bank_groups);
  Channel proto;
  proto.banks.resize(static_cast<size_t>(config.ranks) * banks_per_rank_);
  proto.ranks.resize(static_cast<size_t>(config.ranks));
  for (auto& h : proto.hits) h.assign(static_cast<size_t>(config.ranks) * banks_per_rank_, 0);
  proto.queued.assign(static_cast<size_t>(config.ranks) * banks_per_rank_, 0);
  bank_seen_.assign(static_cast<size_t>(config.ranks) * banks_per_rank_, 0);
  proto.last_cas_by_group.assign(static_cast<size_t>(config.ranks * config.bank_groups), kNever);
  for (Rank& r : proto.ranks) {
    r.last_act_by_group.assign(static_cast<size_t>(config.bank_groups), kNever);
    r.write_end_by_group.assign(static_cast<size_t>(config.bank_groups), 0);
    r.refreshed.assign(banks_per_rank_, 0);
    // Per-bank refresh spreads the rank's refreshes over tREFI: one bank every tREFI / banks.
    r.next_refresh = per_bank_refresh_ ? t_.refi / banks_per_rank_ : t_.refi;
  }
  proto.queue[0].reserve(static_cast<size_t>(config.read_queue_bursts));
  proto.queue[1].reserve(static_cast<size_t>(config.write_queue_bursts));
  channels_.assign(static_cast<size_t>(config.channels), proto);
  // Controllers of different channels do not refresh in lockstep: channel c's schedule is offset by c / channels
  // of an interval, so a request spread over every channel never waits out every channel's refresh at once.
  const uint64_t interval = per_bank_refresh_ ? t_.refi / banks_per_rank_ : t_.refi;
  refresh_postpone_ps_ = static_cast<uint64_t>(config.refresh_postpone) * interval;
  for (size_t c = 0; c < channels_.size(); ++c) {
    for (Rank& r : channels_[c].ranks) r.next_refresh += interval * c / channels_.size();
  }
  first_ready_ = config.scheduler != "fcfs";
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

bool CommandDram::refresh_until(Channel& ch, uint32_t rank, uint64_t until_ps) {
  Rank& r = ch.ranks[rank];
  bool issued = false;
  Bank* banks = &ch.banks[static_cast<size_t>(rank) * banks_per_rank_];
  while (refresh_enabled_ && r.next_refresh <= until_ps) {
    if (per_bank_refresh_) {
      // REFpb to one bank: each bank once per round of tREFI; among those left, one that no queued burst wants,
      // the most recently used (a stream that just left a bank comes back to it last), so that a stream rarely
      // waits for a refresh. Precharge it if open; then the bank is busy for tRFCpb.
      uint32_t pick = banks_per_rank_;
      for (uint32_t k = 0; k < banks_per_rank_; ++k) {
        const uint32_t i = (r.next_refresh_bank + k) % banks_per_rank_;
        if (r.refreshed[i] || ch.queued[static_cast<size_t>(rank) * banks_per_rank_ + i] != 0) continue;
        if (pick == banks_per_rank_ || banks[i].last_cas > banks[pick].last_cas) pick = i;
      }
      for (uint32_t k = 0; k < banks_per_rank_ && pick == banks_per_rank_; ++k) {
        const uint32_t i = (r.next_refresh_bank + k) % banks_per_rank_;
        if (!r.refreshed[i]) pick = i;  // every bank left is wanted: the next in order
      }
      r.refreshed[pick] = 1;
      if (++r.refreshed_count == banks_per_rank_) {
        std::fill(r.refreshed.begin(), r.refreshed.end(), 0);
        r.refreshed_count = 0;
      }
      Bank& b = banks[pick];
      uint64_t at = std::max(r.next_refresh, b.act_ok);
      if (b.open_row >= 0) {
        at = std::max(at, b.pre_ok + t_.rp);
        ++stats_.precharges;
      }
      b.open_row = -1;
      b.act_ok = std::max(b.act_ok, at + t_.rfcpb);
      r.next_refresh_bank = (pick + 1) % banks_per_rank_;
      r.next_refresh += t_.refi / banks_per_rank_;
      event_energy_pj_ += config_.energy.refresh_pj / banks_per_rank_;
    } else {
      // REFab: every bank precharged (tRP after its PRE), then the rank is busy for tRFC.
      uint64_t at = r.next_refresh;
      for (uint32_t i = 0; i < banks_per_rank_; ++i) {
        at = std::max(at, banks[i].act_ok);
        if (banks[i].open_row >= 0) at = std::max(at, banks[i].pre_ok + t_.rp);
      }
      for (uint32_t i = 0; i < banks_per_rank_; ++i) {
        if (banks[i].open_row >= 0) ++stats_.precharges;
        banks[i].open_row = -1;
        banks[i].act_ok = at + t_.rfc;
      }
      r.next_refresh += t_.refi;
      event_energy_pj_ += config_.energy.refresh_pj;
    }
    ++stats_.refreshes;
    issued = true;
    ++stats_.channel_refreshes[static_cast<size_t>(&ch - channels_.data())];
  }
  return issued;
}

void CommandDram::place_row(const Channel& ch, const Queued& e, Placement& p) const {
  const Rank& rank = ch.ranks[e.rank];
  const Bank& b = ch.banks[e.bank];
  p.conflict = false;
  p.pre = p.cas = p.data = 0;
  const uint64_t ready = std::max(e.arrival_ps, ch.decided_ps);
  uint64_t act_ready = std::max(ready, b.act_ok);
  if (b.open_row >= 0) {
    p.conflict = true;
    p.pre = std::max(ready, b.pre_ok);
    act_ready = std::max(act_ready, p.pre + t_.rp);
  }
  // ACTs of a rank go out in order, tRRD_S after any ACT and tRRD_L after one in the same bank group, at most four
  // per tFAW.
  act_ready = after(act_ready, rank.last_act, t_.rrd_s);
  act_ready = after(act_ready, rank.last_act_by_group[e.bank_group], t_.rrd_l);
  if (rank.act_count >= 4) act_ready = std::max(act_ready, rank.recent_acts[rank.act_count % 4] + t_.faw);
  p.act = act_ready;
}

void CommandDram::place_column(const Channel& ch, const Queued& e, bool is_write, Placement& p) const {
  const Rank& rank = ch.ranks[e.rank];
  const size_t group_slot = e.group_slot;
  p.conflict = false;
  p.pre = p.act = 0;
  // Column commands of a channel go out in order, tCCD_S after any and tCCD_L after one in the same bank group of
  // the same rank; tRCD after the bank's ACT.
  uint64_t cas_ready = std::max({e.arrival_ps, ch.decided_ps, ch.banks[e.bank].cas_ok});
  cas_ready = after(cas_ready, ch.last_cas, t_.ccd_s);
  cas_ready = after(cas_ready, ch.last_cas_by_group[group_slot], t_.ccd_l);
  if (!is_write) {
    // A read waits tWTR after the end of write data in its rank (longer within the bank group).
    cas_ready =
        std::max({cas_ready, rank.last_write_end + t_.wtr_s, rank.write_end_by_group[e.bank_group] + t_.wtr_l});
  }
  p.cas = cas_ready;
  p.data = p.cas + (is_write ? t_.wl : t_.cl);
  // The data bus: in order, with a turnaround between reads and writes and between ranks.
  const bool turnaround = ch.any_cas && (ch.bus_last_write != is_write || ch.bus_last_rank != e.rank);
  const uint64_t bus_ready = ch.bus_free + (turnaround ? t_.rtrs : 0);
  if (p.data < bus_ready) {
    p.cas += bus_ready - p.data;
    p.data = bus_ready;
  }
}

size_t CommandDram::find_row_candidate(Channel& ch, int dir) {
  const RingQueue<Queued>& q = ch.queue[dir];
  if (first_ready_) {
    // The oldest burst whose row is not open, in a bank without queued hits.
    for (size_t i = 0; i < q.size(); ++i) {
      const Queued& e = q[i];
      if (ch.banks[e.bank].open_row != static_cast<int64_t>(e.row) && ch.hits[dir][e.bank] == 0) return i;
    }
    return kNone;
  }
  // FCFS: the oldest burst whose row is not open and that no older burst of its bank precedes.
  ++search_stamp_;
  for (size_t i = 0; i < q.size(); ++i) {
    const Queued& e = q[i];
    if (bank_seen_[e.bank] == search_stamp_) continue;
    bank_seen_[e.bank] = search_stamp_;
    if (ch.banks[e.bank].open_row != static_cast<int64_t>(e.row)) return i;
  }
  return kNone;
}

void CommandDram::recount_hits(Channel& ch) {
  for (int dir = 0; dir < 2; ++dir) {
    std::fill(ch.hits[dir].begin(), ch.hits[dir].end(), 0);
    const RingQueue<Queued>& q = ch.queue[dir];
    for (size_t i = 0; i < q.size(); ++i) {
      if (ch.banks[q[i].bank].open_row == static_cast<int64_t>(q[i].row)) ++ch.hits[dir][q[i].bank];
    }
    ch.row_stale[dir] = true;
  }
}

void CommandDram::replan(size_t channel) {
  Channel& ch = channels_[channel];
  ch.plan.valid = false;
  const RingQueue<Queued>& reads = ch.queue[0];
  const RingQueue<Queued>& writes = ch.queue[1];
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
  const RingQueue<Queued>& q = ch.queue[dir];
  Plan& plan = ch.plan;  // filled in place: copying it whole costs more than the rest of the decision
  for (;;) {
    plan.valid = false;
    plan.is_write = is_write;
    plan.row_command = false;
    // Column: the oldest burst to an open row (FCFS: only the oldest burst).
    const size_t scan = first_ready_ ? q.size() : 1;
    for (size_t i = 0; i < scan; ++i) {
      if (ch.banks[q[i].bank].open_row != static_cast<int64_t>(q[i].row)) continue;
      plan.valid = true;
      plan.index = i;
      place_column(ch, q[i], is_write, plan.p);
      plan.start_ps = plan.p.cas;
      break;
    }
    // Row: PRE/ACT for the row candidate, if it can go before the column command.
    if (ch.row_stale[dir]) {
      ch.row_candidate[dir] = find_row_candidate(ch, dir);
      ch.row_stale[dir] = false;
    }
    if (ch.row_candidate[dir] != kNone) {
      Placement row;
      place_row(ch, q[ch.row_candidate[dir]], row);
      const uint64_t row_start = row.conflict ? row.pre : row.act;
      if (!plan.valid || row_start < plan.start_ps) {
        plan.valid = true;
        plan.row_command = true;
        plan.index = ch.row_candidate[dir];
        plan.start_ps = row_start;
        plan.p = row;
      }
    }
    if (!plan.valid) throw std::logic_error("CommandDram: a queue holds bursts but no command can serve them");
    // Refreshes go first (then plan again) if they fell due while the channel was idle, or if postponing them
    // past the command would owe more than the postponement limit.
    const uint32_t rank = q[plan.index].rank;
    const uint64_t command_ps = plan.row_command ? plan.p.act : plan.p.cas;
    const uint64_t forced_ps = command_ps >= refresh_postpone_ps_ ? command_ps - refresh_postpone_ps_ : 0;
    const uint64_t refresh_by_ps = std::max(ch.busy_since, forced_ps);
    if (refresh_enabled_ && ch.ranks[rank].next_refresh <= refresh_by_ps) {
      if (refresh_until(ch, rank, refresh_by_ps)) recount_hits(ch);
      continue;
    }
    keys_[channel] = plan.start_ps;
    return;
  }
}

void CommandDram::execute_row(size_t channel, const Plan& plan) {
  Channel& ch = channels_[channel];
  const int dir = plan.is_write ? 1 : 0;
  Queued& e = ch.queue[dir][plan.index];
  const Placement& p = plan.p;
  Rank& rank = ch.ranks[e.rank];
  Bank& b = ch.banks[e.bank];
  if (p.conflict) {
    ++stats_.row_conflicts;
    ++stats_.channel_row_conflicts[channel];
    ++stats_.precharges;
  } else {
    ++stats_.row_misses;
    ++stats_.channel_row_misses[channel];
  }
  ++stats_.activates;
  event_energy_pj_ += config_.energy.act_pj;
  e.activated = true;
  b.open_row = e.row;
  b.pre_ok = p.act + t_.ras;
  b.act_ok = p.act + t_.rc;
  b.cas_ok = p.act + t_.rcd;
  rank.recent_acts[rank.act_count % 4] = p.act;
  ++rank.act_count;
  rank.last_act = static_cast<int64_t>(p.act);
  rank.last_act_by_group[e.bank_group] = static_cast<int64_t>(p.act);
  // The bank's queued bursts to the new row are hits now (none to the old row were left, or FCFS closed it).
  for (int d = 0; d < 2; ++d) {
    uint32_t n = 0;
    const RingQueue<Queued>& q = ch.queue[d];
    for (size_t i = 0; i < q.size(); ++i) n += q[i].bank == e.bank && q[i].row == e.row;
    ch.hits[d][e.bank] = n;
    ch.row_stale[d] = true;
  }
}

void CommandDram::execute_column(size_t channel, const Plan& plan) {
  Channel& ch = channels_[channel];
  const int dir = plan.is_write ? 1 : 0;
  RingQueue<Queued>& q = ch.queue[dir];
  // The fields it needs, then free the entry (copying the whole entry costs more).
  const Queued& entry = q[plan.index];
  const uint32_t rank_index = entry.rank, group = entry.bank_group, group_slot = entry.group_slot;
  const uint32_t bank_index = entry.bank;
  const bool activated = entry.activated;
  const uint64_t request = entry.request;
  q.erase(plan.index);
  --ch.queued[bank_index];
  size_t& candidate = ch.row_candidate[dir];
  if (candidate != kNone && candidate > plan.index) --candidate;
  const Placement& p = plan.p;
  Rank& rank = ch.ranks[rank_index];
  Bank& b = ch.banks[bank_index];
  ch.row_hits += activated ? 0 : 1;
  // FR-FCFS: the last hit of a bank lets its next row be opened. FCFS: the oldest burst left, which may free one.
  if (--ch.hits[dir][bank_index] == 0 || !first_ready_) ch.row_stale[dir] = true;
  const uint64_t data_end = p.data + t_.burst;
  ch.any_cas = true;
  ch.last_cas = static_cast<int64_t>(p.cas);
  ch.last_cas_by_group[group_slot] = static_cast<int64_t>(p.cas);
  b.last_cas = p.cas;
  ch.bus_free = data_end;
  ch.bus_last_write = plan.is_write;
  ch.bus_last_rank = rank_index;
  if (plan.is_write) {
    if (!ch.drain_counted) {
      ++stats_
            .write_drains;  // counted at its first write: a drain that a read interrupts before it writes is none
      ch.drain_counted = true;
    }
    b.pre_ok = std::max(b.pre_ok, data_end + t_.wr);
    rank.write_end_by_group[group] = data_end;
    rank.last_write_end = data_end;
    last_write_data_end_ = std::max(last_write_data_end_, data_end);
    ++ch.write_bursts;
  } else {
    b.pre_ok = std::max(b.pre_ok, p.cas + t_.rtp);
    ++ch.read_bursts;
  }
  if (closed_page_) {
    // Auto-precharge: the row closes as soon as the bank allows it; queued bursts to it need a new ACT.
    b.open_row = -1;
    b.act_ok = std::max(b.act_ok, b.pre_ok + t_.rp);
    ++stats_.precharges;
    for (int d = 0; d < 2; ++d) {
      ch.hits[d][bank_index] = 0;
      ch.row_stale[d] = true;
    }
  }
  // The column command frees the burst's queue entry.
  fill(channel, dir, p.cas);
  if (!plan.is_write) burst_done(request, data_end);
}

void CommandDram::fill(size_t channel, int dir, uint64_t free_ps) {
  Channel& ch = channels_[channel];
  std::deque<Backlogged>& backlog = ch.backlog[dir];
  RingQueue<Queued>& q = ch.queue[dir];
  while (!backlog.empty() && q.size() < queue_capacity_[dir]) {
    Backlogged& from = backlog.front();
    const uint64_t at = from.next_address;
    const uint64_t request = from.request;
    const uint64_t arrival_ps = std::max(from.arrival_ps, free_ps);
    // Step to the range's next burst here; drop the range when it has none, so that a backlog's front always
    // holds a burst.
    from.next_address = mapper_.next_in_channel(at + burst_bytes_, static_cast<uint32_t>(channel));
    if (from.next_address >= from.end_address) backlog.pop_front();
    if (ch.queue[0].empty() && ch.queue[1].empty()) ch.busy_since = arrival_ps;
    const bool has_candidate = ch.row_candidate[dir] != kNone;
    const uint32_t candidate_bank = has_candidate ? q[ch.row_candidate[dir]].bank : 0;
    Queued& e = q.push_back_slot();
    const DramAddress a = mapper_.map(at);
    e.row = a.row;
    e.rank = static_cast<uint8_t>(a.rank);
    e.bank_group = static_cast<uint8_t>(a.bank_group);
    e.bank = a.rank * banks_per_rank_ + a.bank_group * banks_per_group_ + a.bank;
    e.group_slot = static_cast<uint16_t>(a.rank * bank_groups_ + a.bank_group);
    e.activated = false;
    e.request = request;
    e.arrival_ps = arrival_ps;
    ++ch.queued[e.bank];
    if (ch.banks[e.bank].open_row == static_cast<int64_t>(e.row)) {
      ++ch.hits[dir][e.bank];
      // FR-FCFS keeps a bank's row open while hits to it wait.
      if (first_ready_ && has_candidate && candidate_bank == e.bank) ch.row_stale[dir] = true;
    } else if (!has_candidate && (!first_ready_ || ch.hits[dir][e.bank] == 0)) {
      ch.row_stale[dir] =
          true;  // it may be the row command's candidate (not while FR-FCFS serves its bank's hits)
    }
    if (dir == 1) burst_done(e.request, e.arrival_ps);  // a write is accepted when it enters the queue
  }
}

void CommandDram::burst_done(uint64_t request, uint64_t done_ps) {
  if (request == gate_id_ && gate_bursts_left_ > 0) --gate_bursts_left_;
  if (request < first_id_) return;  // a posted write of a finished stream
  Pending& p = pending_[request - first_id_];
  p.done_ps = std::max(p.done_ps, done_ps);
  if (--p.bursts_left == 0) {
    ++completed_;
    if (!p.is_write) stats_.record_read_latency(p.done_ps - p.handover_ps);
  }
}

void CommandDram::execute(size_t channel) {
  Channel& ch = channels_[channel];
  const Plan& plan = ch.plan;
  if (!plan.valid) throw std::logic_error("CommandDram: executing a channel without a plan");
  ch.decided_ps = plan.start_ps;
  if (plan.row_command) {
    execute_row(channel, plan);
  } else {
    execute_column(channel, plan);
  }
  replan(channel);
}

}  // namespace npusim::hw

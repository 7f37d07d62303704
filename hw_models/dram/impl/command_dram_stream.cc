// CommandDram's front end: requests handed over and split into each channel's bursts, streams run in time order,
// and the statistics. The controllers (queues filled from backlogs, which command goes next, and when) are in
// command_dram.cc.
#include <algorithm>
#include <stdexcept>

#include "common/error.h"
#include "hw_models/dram/impl/command_dram.h"

namespace npusim::hw {

void CommandDram::hand_over(const DramRequest& r, uint64_t id, uint64_t at) {
  Pending& pending = pending_[id - first_id_];
  pending.handed_over = true;
  pending.handover = pending.done = at;
  pending.is_write = r.is_write;
  const int dir = r.is_write ? 1 : 0;
  const uint64_t burst_bytes = burst_bytes_;
  if (r.bytes > ~uint64_t{0} - r.address) {
    throw InputError("DRAM request at address " + std::to_string(r.address) + " of " + std::to_string(r.bytes) +
                     " bytes runs past the 64-bit address space");
  }
  const uint64_t first = r.address / burst_bytes * burst_bytes;
  const uint64_t end = r.address + r.bytes;
  const uint64_t bursts = r.bytes == 0 ? 0 : (end - first + burst_bytes - 1) / burst_bytes;
  uint64_t simulated = 0;  // bursts the simulated controllers serve (all of them unless channels are sampled)
  const auto add = [&](size_t controller, uint32_t channel, uint64_t from, uint64_t to, uint64_t count) {
    std::deque<Backlogged>& backlog = channels_[controller].backlog[dir];
    // Only a channel whose backlog was empty can take bursts into its queue now.
    if (backlog.empty()) touched_.push_back(controller);
    backlog.push_back({id, from, to, at, channel});
    simulated += count;
  };
  if (bursts == 0) {
    // Nothing to move (and no burst to queue, wherever the address lies).
  } else if (bursts <= channels_.size()) {
    // A short request: one entry per burst, in the channels it touches.
    for (uint64_t at = first; at < end; at += burst_bytes) {
      const uint32_t c = mapper_.map(at).channel;
      if (c % stride_ == 0) add(c, c, at, at + 1, 1);
    }
  } else {
    // A long one: every channel with bursts in it finds its own as it takes them.
    for (size_t c = 0; c < channels_.size(); c += stride_) {
      const auto channel = static_cast<uint32_t>(c);
      const uint64_t start = mapper_.next_in_channel(first, channel);
      if (start < end)
        add(c, channel, start, end, stride_ == 1 ? 0 : mapper_.count_in_channel(start, end, channel));
    }
    if (stride_ == 1) simulated = bursts;
  }
  if (bursts > 0 && simulated == 0) {
    // Sampled channels: a request that touches no simulated channel (narrower than the stride, or, with another
    // mapping, spread over channels between them). Its bursts go to the controllers that stand for their
    // channels, so that it still pays what a loaded channel makes it wait.
    for (size_t c = 0; c < channels_.size(); ++c) {
      const auto channel = static_cast<uint32_t>(c);
      const uint64_t start = mapper_.next_in_channel(first, channel);
      if (start < end) add(c - c % stride_, channel, start, end, mapper_.count_in_channel(start, end, channel));
    }
  }
  pending.bursts_left = simulated;
  (r.is_write ? stats_.write_bytes : stats_.read_bytes) += bursts * burst_bytes;
  ++(r.is_write ? stats_.writes : stats_.reads);
  if (bursts == 0) {
    ++completed_;
    unclaimed_.push(at);
    if (!r.is_write) stats_.record_read_latency(0);
  }
  for (const size_t c : touched_) {
    fill(c, dir, at);
    replan(c);
  }
  touched_.clear();
}

uint64_t CommandDram::bursts_of(const Channel& ch, uint64_t id) const {
  uint64_t n = 0;
  const BurstQueue<Queued>& reads = ch.queue[0];
  for (uint32_t s = reads.oldest(); s != reads.kNone; s = reads.younger(s)) n += reads[s].request == id;
  for (const std::deque<Backlogged>& backlog : ch.backlog) {
    for (const Backlogged& b : backlog) {
      if (b.request > id) break;  // backlogs keep hand-over order
      if (b.request == id) n += mapper_.count_in_channel(b.next_address, b.end_address, b.channel);
    }
  }
  return n;
}

size_t CommandDram::advance_all(uint64_t bound) {
  size_t executed = 0;
  for (size_t c = 0; c < channels_.size(); c += stride_) {
    while (keys_[c] < bound) {
      execute(c);
      ++executed;
    }
  }
  return executed;
}

void CommandDram::access_stream(std::vector<DramRequest>& requests) {
  const size_t n = requests.size();
  first_id_ = next_id_;
  next_id_ += n;
  pending_.assign(n, Pending{});
  completed_ = 0;
  unclaimed_ = {};
  // A call is booked after the earlier ones, but loosely timed: its commands may land before an earlier call's
  // last decision where the constraints allow (as its first ACT may overlap the last data of the call before).
  for (Channel& ch : channels_) {
    ch.decided = 0;
    ch.command_free[0] = ch.command_free[1] = 0;
  }
  size_t next = 0;
  uint64_t last_handover = 0;
  // Channels interact only through hand-overs, so each channel runs on alone up to the next hand-over (or a lower
  // bound on it), many decisions at a time: the same decisions as a global time order, with the channel's state
  // staying in cache.
  while (completed_ < n) {
    if (next == n) {
      // Everything is handed over: each channel serves what is left of the stream.
      for (size_t c = 0; c < channels_.size(); c += stride_) {
        const Channel& ch = channels_[c];
        while (!ch.queue[0].empty() || !ch.backlog[0].empty() || !ch.backlog[1].empty()) execute(c);
      }
      continue;
    }
    const DramRequest& r = requests[next];
    uint64_t bound = std::max(cycle_at(r.issue_ps), last_handover);
    if (r.after_a_completion && r.after >= 0) {
      throw std::logic_error("DramRequest: after and after_a_completion together");
    }
    if (r.after_a_completion) {
      // It waits for the stream's earliest completion not yet waited for, which is known only once no channel
      // can still complete a request before it: every later completion lies at or after the next decision of
      // some channel. So the channels run in global time order, one decision at a time, until it is known.
      for (;;) {
        size_t first = 0;
        for (size_t c = stride_; c < channels_.size(); c += stride_) first = keys_[c] < keys_[first] ? c : first;
        if (!unclaimed_.empty() && unclaimed_.top() <= keys_[first]) break;
        if (keys_[first] == kNoDecision) {
          throw std::logic_error("DramRequest::after_a_completion with no request in flight");
        }
        execute(first);
      }
      bound = std::max(bound, unclaimed_.top());
      unclaimed_.pop();
    }
    bool ready = true;
    if (r.after >= 0) {
      if (static_cast<size_t>(r.after) >= next) {
        throw std::logic_error("DramRequest::after must name an earlier request of the stream");
      }
      const Pending& gate = pending_[static_cast<size_t>(r.after)];
      ready = gate.handed_over && gate.bursts_left == 0;
      bound = std::max(bound, gate.done);  // done so far: a lower bound until it is complete
    }
    if (ready) {
      advance_all(bound);
      hand_over(r, first_id_ + next, bound);
      last_handover = bound;
      ++next;
      continue;
    }
    // The hand-over waits for request `after`. A channel's decisions start no earlier than the ones before them,
    // so every decision up to its last burst of that request precedes the request's completion, hence the
    // hand-over: each channel runs on until its part is done.
    gate_id_ = first_id_ + static_cast<uint64_t>(r.after);
    for (size_t c = 0; c < channels_.size(); c += stride_) {
      // Its own bursts of that request, not older ones: a decision after its last one may come after the
      // hand-over. burst_done counts them down as they go (reads on the bus, writes into the queue).
      gate_bursts_left_ = bursts_of(channels_[c], gate_id_);
      while (keys_[c] != kNoDecision && (keys_[c] < bound || gate_bursts_left_ > 0)) execute(c);
    }
    gate_id_ = kNoGate;
    const Pending& gate = pending_[static_cast<size_t>(r.after)];
    if (!(gate.handed_over && gate.bursts_left == 0)) {
      throw std::logic_error("CommandDram: a request's bursts are left with no decision to serve them");
    }
  }
  for (size_t i = 0; i < n; ++i) requests[i].done_ps = ps_of(pending_[i].done);
  // What the controllers still hold (posted writes) no longer belongs to a request in progress.
  first_id_ = next_id_;
  pending_.clear();
}

CommandDram::Counters CommandDram::Counters::plus_since(const Counters& now, const Counters& then) const {
  Counters c = *this;
  const auto add = [](uint64_t& to, uint64_t n, uint64_t t) { to += n - t; };
  add(c.row_hits, now.row_hits, then.row_hits);
  add(c.row_misses, now.row_misses, then.row_misses);
  add(c.row_conflicts, now.row_conflicts, then.row_conflicts);
  add(c.row_misses_after_refresh, now.row_misses_after_refresh, then.row_misses_after_refresh);
  add(c.activates, now.activates, then.activates);
  add(c.precharges, now.precharges, then.precharges);
  add(c.refreshes, now.refreshes, then.refreshes);
  add(c.write_drains, now.write_drains, then.write_drains);
  add(c.read_bursts, now.read_bursts, then.read_bursts);
  add(c.write_bursts, now.write_bursts, then.write_bursts);
  return c;
}

CommandDram::Counters CommandDram::reported(size_t c) const {
  if (c % stride_ == 0) return channels_[c].counts;
  const size_t from = c - c % stride_;
  return channels_[c].counts.plus_since(channels_[from].counts, sampling_from_[from / stride_]);
}

bool CommandDram::same_state(const Channel& a, const Channel& b) {
  const auto same_bank = [](const Bank& x, const Bank& y) {
    return x.open_row == y.open_row && x.act_ok == y.act_ok && x.read_ok == y.read_ok &&
           x.write_ok == y.write_ok && x.pre_ok == y.pre_ok && x.last_cas == y.last_cas &&
           x.conflict_pre == y.conflict_pre && x.refresh_closed == y.refresh_closed;
  };
  const auto same_rank = [](const Rank& x, const Rank& y) {
    return std::equal(std::begin(x.recent_acts), std::end(x.recent_acts), std::begin(y.recent_acts)) &&
           x.act_count == y.act_count && x.last_act == y.last_act && x.last_act_by_group == y.last_act_by_group &&
           x.last_pre == y.last_pre && x.last_refpb == y.last_refpb && x.next_refresh == y.next_refresh &&
           x.next_refresh_bank == y.next_refresh_bank && x.refreshed == y.refreshed &&
           x.refreshed_count == y.refreshed_count && x.write_end_by_group == y.write_end_by_group &&
           x.last_write_end == y.last_write_end;
  };
  // Entries compare in age order (their slots may differ); an entry's age counts only relative to the others,
  // and its starvation count relative to its channel's served count.
  const auto same_entry = [](const Queued& x, uint64_t x_served, const Queued& y, uint64_t y_served) {
    return x.row == y.row && x.bank == y.bank && x.group_slot == y.group_slot && x.rank == y.rank &&
           x.bank_group == y.bank_group && x.activated == y.activated && x.request == y.request &&
           x.arrival == y.arrival && x_served - x.bypass_base == y_served - y.bypass_base;
  };
  // Position of a slot in its queue's age order.
  const auto age_rank = [](const BurstQueue<Queued>& q, uint32_t slot) {
    size_t n = 0;
    for (uint32_t s = q.oldest(); s != slot && s != q.kNone; s = q.younger(s)) ++n;
    return n;
  };
  for (int d = 0; d < 2; ++d) {
    const BurstQueue<Queued>&qa = a.queue[d], &qb = b.queue[d];
    if (!a.backlog[d].empty() || !b.backlog[d].empty() || qa.size() != qb.size()) return false;
    for (uint32_t x = qa.oldest(), y = qb.oldest(); x != qa.kNone; x = qa.younger(x), y = qb.younger(y)) {
      if (!same_entry(qa[x], a.served[d], qb[y], b.served[d])) return false;
    }
    if (a.hits[d] != b.hits[d] || a.queued[d] != b.queued[d] || a.queued_mask[d] != b.queued_mask[d] ||
        a.hit_mask[d] != b.hit_mask[d] || a.command_free[d] != b.command_free[d]) {
      return false;
    }
  }
  const Plan &p = a.plan, &q = b.plan;
  return std::equal(a.banks.begin(), a.banks.end(), b.banks.begin(), b.banks.end(), same_bank) &&
         std::equal(a.ranks.begin(), a.ranks.end(), b.ranks.begin(), b.ranks.end(), same_rank) &&
         a.bus_free == b.bus_free && a.bus_last_write == b.bus_last_write && a.bus_last_rank == b.bus_last_rank &&
         a.any_cas == b.any_cas && a.last_cas == b.last_cas && a.last_read_cas == b.last_read_cas &&
         a.last_cas_by_group == b.last_cas_by_group && a.last_cas_write_by_group == b.last_cas_write_by_group &&
         a.refresh_slot == b.refresh_slot && a.draining == b.draining && a.drain_counted == b.drain_counted &&
         a.busy_since == b.busy_since && a.decided == b.decided && p.valid == q.valid &&
         (!p.valid || (p.at == q.at && p.data == q.data && p.command == q.command && p.is_write == q.is_write &&
                       p.refresh_rank == q.refresh_rank && p.refresh_bank == q.refresh_bank &&
                       age_rank(a.queue[p.is_write], p.slot) == age_rank(b.queue[q.is_write], q.slot)));
}

void CommandDram::sample_channels(uint64_t simulated, bool only_identical) {
  const uint64_t channels = channels_.size();
  if (simulated > 0 && simulated < channels && channels % simulated != 0) {
    throw InputError("sampled DRAM channels: " + std::to_string(simulated) + " do not divide the " +
                     std::to_string(channels) + " channels");
  }
  // Channels stand for each other only when they refresh on the same schedule.
  size_t stride =
      simulated == 0 || simulated >= channels || stagger_ ? 1 : static_cast<size_t>(channels / simulated);
  if (only_identical && stride > 1) {
    // Every channel must be in its representative's state: the sampled channels' states are the ones they stand
    // for; otherwise a finer spacing (a power of two, as the counts are), down to every channel.
    const auto state_of = [&](size_t c) -> const Channel& { return channels_[c - c % stride_]; };
    for (; stride > 1; stride /= 2) {
      bool identical = channels % stride == 0;
      for (size_t c = 0; identical && c < channels; ++c) {
        if (c % stride != 0) identical = same_state(state_of(c), state_of(c - c % stride));
      }
      if (identical) break;
    }
  }
  if (stride == stride_) return;
  if (stride_ > 1) {
    // Every channel is simulated again, each from the state of the one that stood for it and the counters it was
    // reported with (sampled channels share one refresh schedule).
    for (size_t c = 0; c < channels_.size(); ++c) {
      if (c % stride_ == 0) continue;
      const size_t from = c - c % stride_;
      const Counters counts = reported(c);
      channels_[c] = channels_[from];
      channels_[c].counts = counts;
      keys_[c] = keys_[from];
    }
  }
  stride_ = stride;
  // From now on only every stride_-th channel is simulated; the others do what it does.
  sampling_from_.clear();
  for (size_t c = 0; c < channels_.size(); c += stride_) sampling_from_.push_back(channels_[c].counts);
}

const DramStats& CommandDram::stats() const {
  // The counters live in the channels (the hot path touches nothing else); the totals, bus time and energy follow
  // from them. Requests, bytes (counted as they are handed over, in every channel) and latencies are kept here.
  Counters total;
  for (size_t c = 0; c < channels_.size(); ++c) {
    const Counters n = reported(c);
    stats_.channel_row_hits[c] = n.row_hits;
    stats_.channel_row_misses[c] = n.row_misses;
    stats_.channel_row_conflicts[c] = n.row_conflicts;
    stats_.channel_refreshes[c] = n.refreshes;
    stats_.channel_bytes[c] = (n.read_bursts + n.write_bursts) * config_.burst_bytes();
    total = total.plus_since(n, Counters{});
  }
  stats_.row_hits = total.row_hits;
  stats_.row_misses = total.row_misses;
  stats_.row_conflicts = total.row_conflicts;
  stats_.row_misses_after_refresh = total.row_misses_after_refresh;
  stats_.activates = total.activates;
  stats_.precharges = total.precharges;
  stats_.refreshes = total.refreshes;
  stats_.write_drains = total.write_drains;
  stats_.busy_ps = (total.read_bursts + total.write_bursts) * config_.burst_ps();
  const double burst_bits = 8.0 * static_cast<double>(config_.burst_bytes());
  stats_.energy_pj = config_.energy.act_pj * static_cast<double>(total.activates) +
                     config_.refresh_command_pj() * static_cast<double>(total.refreshes) +
                     config_.energy.read_pj_per_bit * burst_bits * static_cast<double>(total.read_bursts) +
                     config_.energy.write_pj_per_bit * burst_bits * static_cast<double>(total.write_bursts);
  return stats_;
}

uint64_t CommandDram::access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) {
  std::vector<DramRequest> one(1);
  one[0].address = address;
  one[0].bytes = bytes;
  one[0].is_write = is_write;
  one[0].issue_ps = issue_ps;
  access_stream(one);
  return one[0].done_ps;
}

uint64_t CommandDram::flush() {
  last_write_data_end_ = 0;
  for (size_t c = 0; c < channels_.size(); c += stride_) {
    while (keys_[c] != kNoDecision) execute(c);
  }
  return last_write_data_end_ == 0 ? 0 : ps_of(last_write_data_end_);
}

void CommandDram::settle(uint64_t until_ps) {
  // Writes the controllers drain while no read waits, then the refreshes of every rank that start by the end
  // (the last cycle that begins at or before until_ps: cycle c begins at c x transfers_per_clock x 1e6 / rate
  // ps); what would start later stays owed.
  const unsigned __int128 num =
      static_cast<unsigned __int128>(until_ps) * static_cast<uint64_t>(config_.data_rate_mtps);
  const unsigned __int128 den = static_cast<unsigned __int128>(config_.transfers_per_clock) * 1000000u;
  const auto until = static_cast<uint64_t>(num / den);
  advance_all(until);
  for (size_t c = 0; c < channels_.size(); c += stride_) {
    Channel& ch = channels_[c];
    bool refreshed = false;
    for (uint32_t r = 0; r < ch.ranks.size(); ++r) refreshed |= refresh_until(ch, r, until, /*by_end=*/true);
    if (refreshed) recount_hits(ch);
    if (ch.plan.valid) replan(c);  // the refreshes may have closed the rows it planned for
  }
}

}  // namespace npusim::hw

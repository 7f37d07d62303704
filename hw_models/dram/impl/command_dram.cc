#include "hw_models/dram/impl/command_dram.h"

#include <algorithm>
#include <cmath>

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
  per_bank_refresh_ = config.refresh == "per_bank";
  refresh_enabled_ = config.refresh != "none";
  closed_page_ = config.page_policy == "closed";
  banks_per_rank_ = static_cast<uint32_t>(config.banks());
  Channel proto;
  proto.banks.resize(static_cast<size_t>(config.ranks) * banks_per_rank_);
  proto.ranks.resize(static_cast<size_t>(config.ranks));
  proto.last_cas_by_group.assign(static_cast<size_t>(config.ranks * config.bank_groups), kNever);
  for (Rank& r : proto.ranks) {
    r.last_act_by_group.assign(static_cast<size_t>(config.bank_groups), kNever);
    r.write_end_by_group.assign(static_cast<size_t>(config.bank_groups), 0);
    // Per-bank refresh spreads the rank's refreshes over tREFI: one bank every tREFI / banks.
    r.next_refresh = per_bank_refresh_ ? t_.refi / banks_per_rank_ : t_.refi;
  }
  channels_.assign(static_cast<size_t>(config.channels), proto);
  // Controllers of different channels do not refresh in lockstep: channel c's schedule is offset by c / channels
  // of an interval, so a request spread over every channel never waits out every channel's refresh at once.
  const uint64_t interval = per_bank_refresh_ ? t_.refi / banks_per_rank_ : t_.refi;
  for (size_t c = 0; c < channels_.size(); ++c) {
    for (Rank& r : channels_[c].ranks) r.next_refresh += interval * c / channels_.size();
  }
  for (auto* v : {&stats_.channel_bytes, &stats_.channel_row_hits, &stats_.channel_row_misses,
                  &stats_.channel_row_conflicts, &stats_.channel_refreshes}) {
    v->assign(static_cast<size_t>(config.channels), 0);
  }
}

void CommandDram::refresh_until(Channel& ch, uint32_t rank, uint64_t until_ps) {
  Rank& r = ch.ranks[rank];
  Bank* banks = &ch.banks[static_cast<size_t>(rank) * banks_per_rank_];
  while (refresh_enabled_ && r.next_refresh <= until_ps) {
    if (per_bank_refresh_) {
      // REFpb to one bank (round robin): precharge it if open, then the bank is busy for tRFCpb.
      Bank& b = banks[r.next_refresh_bank];
      uint64_t at = std::max(r.next_refresh, b.act_ok);
      if (b.open_row >= 0) {
        at = std::max(at, b.pre_ok + t_.rp);
        ++stats_.precharges;
      }
      b.open_row = -1;
      b.act_ok = std::max(b.act_ok, at + t_.rfcpb);
      r.next_refresh_bank = (r.next_refresh_bank + 1) % banks_per_rank_;
      r.next_refresh += t_.refi / banks_per_rank_;
      stats_.energy_pj += config_.energy.refresh_pj / banks_per_rank_;
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
      stats_.energy_pj += config_.energy.refresh_pj;
    }
    ++stats_.refreshes;
    ++stats_.channel_refreshes[static_cast<size_t>(&ch - channels_.data())];
  }
}

uint64_t CommandDram::burst(Channel& ch, const DramAddress& a, bool is_write, uint64_t ready_ps) {
  Rank& rank = ch.ranks[a.rank];
  const uint32_t bank_index = a.bank_group * static_cast<uint32_t>(config_.banks_per_group) + a.bank;
  Bank& b = ch.banks[static_cast<size_t>(a.rank) * banks_per_rank_ + bank_index];
  const size_t group_slot = static_cast<size_t>(a.rank) * static_cast<size_t>(config_.bank_groups) + a.bank_group;
  bool hit = false;
  uint64_t pre = 0, act = 0, cas = 0, data = 0;
  // Plan the commands; if a refresh falls due before the last of them, issue it first and plan again.
  for (;;) {
    hit = b.open_row == static_cast<int64_t>(a.row);
    uint64_t cas_ready = std::max(ready_ps, b.cas_ok);
    if (!hit) {
      uint64_t act_ready = std::max(ready_ps, b.act_ok);
      if (b.open_row >= 0) {
        pre = std::max(ready_ps, b.pre_ok);
        act_ready = std::max(act_ready, pre + t_.rp);
      }
      // ACTs of a rank go out in order, tRRD_S after any ACT and tRRD_L after one in the same bank group, at most
      // four per tFAW.
      act_ready = after(act_ready, rank.last_act, t_.rrd_s);
      act_ready = after(act_ready, rank.last_act_by_group[a.bank_group], t_.rrd_l);
      if (rank.act_count >= 4) act_ready = std::max(act_ready, rank.recent_acts[rank.act_count % 4] + t_.faw);
      act = act_ready;
      cas_ready = std::max(ready_ps, act + t_.rcd);
    }
    // Column commands of a channel go out in order, tCCD_S after any and tCCD_L after one in the same bank group
    // of the same rank.
    cas_ready = after(cas_ready, ch.last_cas, t_.ccd_s);
    cas_ready = after(cas_ready, ch.last_cas_by_group[group_slot], t_.ccd_l);
    if (!is_write) {
      // A read waits tWTR after the end of write data in its rank (longer within the bank group).
      cas_ready =
          std::max({cas_ready, rank.last_write_end + t_.wtr_s, rank.write_end_by_group[a.bank_group] + t_.wtr_l});
    }
    cas = cas_ready;
    data = cas + (is_write ? t_.wl : t_.cl);
    // The data bus: in order, with a turnaround between reads and writes and between ranks.
    const bool turnaround = ch.any_cas && (ch.bus_last_write != is_write || ch.bus_last_rank != a.rank);
    const uint64_t bus_ready = ch.bus_free + (turnaround ? t_.rtrs : 0);
    if (data < bus_ready) {
      cas += bus_ready - data;
      data = bus_ready;
    }
    if (!refresh_enabled_ || rank.next_refresh > cas) break;
    refresh_until(ch, a.rank, cas);
  }

  if (!hit) {
    if (b.open_row >= 0) {
      ++stats_.row_conflicts;
      ++stats_.channel_row_conflicts[a.channel];
      ++stats_.precharges;
    } else {
      ++stats_.row_misses;
      ++stats_.channel_row_misses[a.channel];
    }
    ++stats_.activates;
    stats_.energy_pj += config_.energy.act_pj;
    b.open_row = a.row;
    b.pre_ok = act + t_.ras;
    b.act_ok = act + t_.rc;
    b.cas_ok = act + t_.rcd;
    rank.recent_acts[rank.act_count % 4] = act;
    ++rank.act_count;
    rank.last_act = static_cast<int64_t>(act);
    rank.last_act_by_group[a.bank_group] = static_cast<int64_t>(act);
  } else {
    ++stats_.row_hits;
    ++stats_.channel_row_hits[a.channel];
  }
  const uint64_t data_end = data + t_.burst;
  ch.any_cas = true;
  ch.last_cas = static_cast<int64_t>(cas);
  ch.last_cas_by_group[group_slot] = static_cast<int64_t>(cas);
  ch.bus_free = data_end;
  ch.bus_last_write = is_write;
  ch.bus_last_rank = a.rank;
  if (is_write) {
    b.pre_ok = std::max(b.pre_ok, data_end + t_.wr);
    rank.write_end_by_group[a.bank_group] = data_end;
    rank.last_write_end = data_end;
    stats_.energy_pj += config_.energy.write_pj_per_bit * 8.0 * static_cast<double>(config_.burst_bytes());
  } else {
    b.pre_ok = std::max(b.pre_ok, cas + t_.rtp);
    stats_.energy_pj += config_.energy.read_pj_per_bit * 8.0 * static_cast<double>(config_.burst_bytes());
  }
  if (closed_page_) {
    // Auto-precharge: the row closes as soon as the bank allows it.
    b.open_row = -1;
    b.act_ok = std::max(b.act_ok, b.pre_ok + t_.rp);
    ++stats_.precharges;
  }
  stats_.busy_ps += t_.burst;
  stats_.channel_bytes[a.channel] += config_.burst_bytes();
  return data_end;
}

void CommandDram::settle(uint64_t until_ps) {
  for (Channel& ch : channels_) {
    for (uint32_t r = 0; r < ch.ranks.size(); ++r) refresh_until(ch, r, until_ps);
  }
}

uint64_t CommandDram::access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) {
  if (bytes == 0) return issue_ps;
  const uint64_t burst_bytes = config_.burst_bytes();
  uint64_t done = issue_ps;
  uint64_t bursts = 0;
  for (uint64_t at = address / burst_bytes * burst_bytes; at < address + bytes; at += burst_bytes, ++bursts) {
    const DramAddress a = mapper_.map(at);
    done = std::max(done, burst(channels_[a.channel], a, is_write, issue_ps));
  }
  (is_write ? stats_.write_bytes : stats_.read_bytes) += bursts * burst_bytes;
  ++(is_write ? stats_.writes : stats_.reads);
  if (!is_write) stats_.record_read_latency(done - issue_ps);
  return done;
}

}  // namespace npusim::hw

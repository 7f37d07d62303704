// Command-level DRAM: every burst pays the commands it needs (ACT, PRE, column read or write) under the JEDEC
// constraints of its preset: tRCD (read and write), tRP, tRAS, tRC, tCL, tWL, tCCD_S/L (and DDR5's write tCCD_L),
// tRRD_S/L, tFAW, tWTR_S/L, tRTP, tWR, tRTW, tPPD, read/write and rank turnarounds on the data bus, and all-bank
// or per-bank refresh every tREFI (per-bank REFs spaced by tRREFD and from ACTs by tRRD_S). Open-page or
// closed-page (auto-precharge) policy. Time runs in command-clock (CK) cycles: every timing is rounded up to whole
// cycles, and a channel issues at most one command per cycle on each command bus (one shared bus, or HBM's row and
// column buses).
//
// Controller: one per channel, with a read queue and a write queue of bursts (entries beyond their capacity wait
// in arrival order for a free entry). It serves the write queue while draining, else the read queue. A write is
// accepted (its requester is done with it) when it enters the write queue; a drain starts when the write queue
// reaches its high watermark or no read is waiting, and ends at the low watermark once reads wait.
// Scheduling is first-ready FR-FCFS (Rixner et al., ISCA 2000), as DRAMsim3 and Ramulator 2 do it: every bank
// with queued bursts offers its next command (the oldest row hit's column command; with no hit queued, PRE for
// the oldest burst if another row is open, else its ACT) and the command that can issue first goes; on a tie a
// column command beats a row command and then the older burst wins. A PRE never closes a row that queued bursts
// still hit. A burst that `starvation_cap` younger bursts went ahead of is served next, whatever else is ready.
// FCFS issues only the oldest burst's commands.
//
// Time order: a request is handed over only after every decision that starts before its hand-over, so a decision
// only sees bursts that had arrived, and a request waiting for an earlier one's completion (bounded outstanding)
// enters when that completion happens. Channels interact only through hand-overs, so between two of them each
// channel runs alone, many decisions at a time.
// One call's stream is processed until all its requests are done; what a controller still holds afterwards
// (posted writes) stays queued for the next call, flush() or settle(). A later call is booked loosely timed: its
// commands may go before the earlier call's last decision where the banks, buses and timings allow, so the
// one-command-a-cycle limit of the command buses holds within a call's stream, not between two calls.
#pragma once

#include <deque>
#include <functional>
#include <queue>
#include <vector>

#include "hw_models/dram/address_mapping.h"
#include "hw_models/dram/i_dram.h"
#include "hw_models/dram/impl/burst_queue.h"

namespace npusim::hw {

class CommandDram final : public IDram {
 public:
  explicit CommandDram(const DramConfig& config);

  uint64_t access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) override;
  void access_stream(std::vector<DramRequest>& requests) override;
  uint64_t flush() override;
  void settle(uint64_t until_ps) override;
  const DramConfig& config() const override { return config_; }
  const DramStats& stats() const override;
  void sample_channels(uint64_t simulated, bool only_identical = false) override;

 private:
  // "Long ago": the cycle of a command that never happened, so that every spacing from it is already met.
  static constexpr int64_t kNever = -(int64_t{1} << 60);

  // Timing parameters in command-clock cycles (each the ns value rounded up).
  struct Timings {
    uint64_t rcd_rd, rcd_wr, rp, ras, rc, cl, wl, ccd_s, ccd_l, ccd_l_wr, rrd_s, rrd_l, faw, wtr_s, wtr_l, rtp, wr,
        rtrs, rtw, ppd, rrefd, refi, rfc, rfcpb, burst;
  };
  struct Bank {
    int64_t open_row = -1;
    uint64_t act_ok = 0;          // earliest ACT (tRP after PRE, tRC after ACT, end of refresh)
    uint64_t read_ok = 0;         // earliest read command (tRCD after ACT)
    uint64_t write_ok = 0;        // earliest write command (tRCD_WR after ACT)
    uint64_t pre_ok = 0;          // earliest PRE (tRAS after ACT, tRTP after a read, tWR after write data)
    uint64_t last_cas = 0;        // its last column command (per-bank refresh prefers the bank a stream just left)
    bool conflict_pre = false;    // precharged for a conflicting burst: its ACT counts no miss
    bool refresh_closed = false;  // a refresh closed its open row: its ACT is a miss after refresh
  };
  struct Rank {
    uint64_t recent_acts[4] = {};  // ring of the last four ACT times (tFAW)
    uint32_t act_count = 0;
    int64_t last_act = kNever;               // any bank group (tRRD_S)
    std::vector<int64_t> last_act_by_group;  // per bank group (tRRD_L)
    int64_t last_pre = kNever;               // tPPD
    int64_t last_refpb = kNever;             // tRREFD
    uint64_t next_refresh = 0;               // when the next REF is due
    uint32_t next_refresh_bank = 0;          // per-bank refresh: where the search for the next bank starts
    std::vector<char> refreshed;             // per-bank refresh: banks refreshed in the current round
    uint64_t refreshed_mask = 0;             // the same as bits (exact while masks_ok_)
    uint32_t refreshed_count = 0;
    std::vector<uint64_t> write_end_by_group;  // end of the last write data per bank group (tWTR_L)
    uint64_t last_write_end = 0;               // in any bank group (tWTR_S)
  };
  // A burst in a controller queue (compact: the scheduler reads these).
  struct Queued {
    uint32_t row = 0;
    uint32_t bank = 0;        // within the channel: rank-major, then bank group, then bank
    uint16_t group_slot = 0;  // rank x bank groups + bank group (tCCD_L)
    uint8_t rank = 0, bank_group = 0;
    bool activated = false;  // its row was opened for it (a miss or conflict, not a hit)
    uint64_t request = 0;    // id of the request it belongs to
    uint64_t arrival = 0;    // cycle it entered the queue
    uint64_t seq = 0;        // arrival order in its queue (the older burst wins a tie)
    // Starvation cap: once it is the oldest, the younger bursts served before it are the channel's served count
    // of its direction minus this (the served count at its arrival plus the older bursts then queued, all of which
    // were served before it became the oldest).
    uint64_t bypass_base = 0;
  };
  // The bursts of one request in one channel that wait for a queue entry: those in [next_address, end_address)
  // that map to the channel.
  struct Backlogged {
    uint64_t request = 0;
    uint64_t next_address = 0;  // the channel's next burst of the range (always one: an empty range is dropped)
    uint64_t end_address = 0;
    uint64_t arrival = 0;  // hand-over cycle
    uint32_t channel = 0;  // the channel its addresses map to: the controller's own, or (sampled channels) one it
                           // stands for
  };
  enum class Command : uint8_t { kActivate, kPrecharge, kColumn, kRefresh };  // kRefresh: a speculative REFpb
  // The channel's next decision.
  struct Plan {
    uint64_t at = 0;    // cycle of the command
    uint64_t data = 0;  // column: first data cycle
    uint32_t slot = 0;  // of its burst in the serving queue
    Command command = Command::kColumn;
    uint32_t refresh_rank = 0, refresh_bank = 0;  // kRefresh: the bank of the rank it refreshes
    bool valid = false;
    bool is_write = false;
  };
  // What a channel counts (DramStats sums them over the channels).
  struct Counters {
    uint64_t row_hits = 0, row_misses = 0, row_conflicts = 0;  // column commands by what they found
    uint64_t row_misses_after_refresh = 0;                     // of row_misses (DramStats)
    uint64_t activates = 0, precharges = 0, refreshes = 0, write_drains = 0;
    uint64_t read_bursts = 0, write_bursts = 0;
    // this + (now - then), field by field (a channel that mirrors another: its own count plus what the other
    // did since the mirroring began).
    Counters plus_since(const Counters& now, const Counters& then) const;
  };
  struct Channel {
    std::vector<Bank> banks;  // rank-major, then bank group, then bank
    std::vector<Rank> ranks;
    uint64_t bus_free = 0;  // data bus idle from here
    bool bus_last_write = false;
    uint32_t bus_last_rank = 0;
    bool any_cas = false;
    int64_t last_cas = kNever;                  // any rank and bank group (tCCD_S)
    int64_t last_read_cas = kNever;             // tRTW
    std::vector<int64_t> last_cas_by_group;     // per rank and bank group (tCCD_L)
    std::vector<char> last_cas_write_by_group;  // ... and whether it wrote (tCCD_L_WR)
    uint64_t command_free[2] = {0, 0};          // per command bus (row, column): first free cycle
    uint64_t refresh_slot = ~uint64_t{0};       // the row bus cycle the last REF took
    // Per direction ([0] reads, [1] writes):
    BurstQueue<Queued> queue[2];        // in arrival order, and per bank
    std::deque<Backlogged> backlog[2];  // handed over, waiting for a queue entry
    uint64_t arrivals[2] = {0, 0};      // bursts that entered the queue (the next one's seq)
    uint64_t served[2] = {0, 0};        // column commands issued
    std::vector<uint32_t> hits[2];      // per bank: queued bursts to its open row
    std::vector<uint32_t> queued[2];    // per bank: queued bursts
    // The same as bit masks (bank b: bit b; kept while a channel has at most 64 banks, masks_ok_): banks with
    // queued bursts, and banks with queued hits.
    uint64_t queued_mask[2] = {0, 0};
    uint64_t hit_mask[2] = {0, 0};
    bool draining = false;       // serving the write queue
    bool drain_counted = false;  // this drain has written (and counts in write_drains)
    Counters counts;
    uint64_t busy_since = 0;  // arrival of the burst that ended the channel's last idle spell
    uint64_t decided = 0;     // cycle of the last decision of this call: no later one goes before it
    Plan plan;
  };
  // Bookkeeping of a request of the stream in progress (cycles).
  struct Pending {
    uint64_t bursts_left = 0;  // reads: bursts not yet on the bus; writes: bursts not yet in the write queue
    uint64_t handover = 0;
    uint64_t done = 0;
    bool is_write = false;
    bool handed_over = false;
  };

  // Channel c's counters as reported: its own, or while channels are sampled, the mirrored ones.
  Counters reported(size_t c) const;
  // Whether two channels are in the same state, counters aside (then the same bursts give both the same
  // decisions). Channels with backlogged bursts never are: their addresses differ.
  static bool same_state(const Channel& a, const Channel& b);
  // Cycles of the command clock at or after `ps`, and the ps of cycle `c` (rounded up: no transfer beats the
  // peak).
  uint64_t cycle_at(uint64_t ps) const;
  uint64_t ps_of(uint64_t cycle) const;
  // The first cycle >= t at which command bus `bus` (0 row, 1 column) can take a command.
  uint64_t bus_slot(const Channel& ch, int bus, uint64_t t) const;
  // Earliest cycles of the three commands for `e` (ACT: its bank is closed; PRE: another row is open; column:
  // its row is open; `data` gets the column command's first data cycle).
  uint64_t activate_time(const Channel& ch, const Queued& e) const;
  uint64_t precharge_time(const Channel& ch, const Queued& e) const;
  uint64_t column_time(const Channel& ch, const Queued& e, bool is_write, uint64_t& data) const;
  static uint64_t bank_bit(uint32_t bank) { return bank < 64 ? uint64_t{1} << bank : 0; }
  // Sets a bank's count of queued hits in one direction, and its bit.
  static void set_hits(Channel& ch, int dir, uint32_t bank, uint32_t n) {
    ch.hits[dir][bank] = n;
    ch.hit_mask[dir] = n > 0 ? ch.hit_mask[dir] | bank_bit(bank) : ch.hit_mask[dir] & ~bank_bit(bank);
  }
  // Recounts every bank's queued hits in both directions (after refresh closed rows).
  void recount_hits(Channel& ch);
  // The burst a bank with queued bursts in direction `dir` offers a command for: its oldest row hit, or with no
  // hit queued, its oldest burst.
  static uint32_t bank_candidate(const Channel& ch, int dir, uint32_t bank);
  void execute_activate(size_t channel, const Plan& plan);
  void execute_precharge(size_t channel, const Plan& plan);
  void execute_column(size_t channel, const Plan& plan);
  // Chooses the channel's next command (issuing refreshes that fall due before it) and updates keys_.
  void replan(size_t channel);
  // Commits the channel's planned command.
  void execute(size_t channel);
  // Moves bursts from a backlog into their queue while it has room; they arrive no earlier than `free_at`.
  void fill(size_t channel, int dir, uint64_t free_at);
  // The bursts of request `id` that channel `channel` has still to serve: queued reads, and anything not yet in a
  // queue.
  uint64_t bursts_of(const Channel& ch, uint64_t id) const;
  // Executes every channel's decisions that start before cycle `bound`; returns how many.
  size_t advance_all(uint64_t bound);
  void hand_over(const DramRequest& r, uint64_t id, uint64_t at);
  void burst_done(uint64_t request, uint64_t done);
  // Per-bank refresh: the first cycle >= `from` a REFpb of `bank` (of `rank`) can start at, and issuing it.
  uint64_t refpb_time(const Channel& ch, uint32_t rank, uint32_t bank, uint64_t from) const;
  void issue_refpb(Channel& ch, uint32_t rank, uint32_t bank, uint64_t at);
  // Replaces the channel's planned command with a speculative REFpb of `rank` where one can go first without
  // delaying it (refresh_pull_in); returns whether it did.
  bool plan_speculative_refresh(Channel& ch, uint32_t rank);
  // Per-bank refresh: among the banks of `rank` left in the round, one that no queued burst wants, the most
  // recently used (a stream that just left a bank comes back to it last); banks per rank if every one is wanted.
  uint32_t unwanted_refresh_bank(const Channel& ch, uint32_t rank) const;
  // Issues every refresh of `rank` due at or before cycle `until`; with `by_end`, only those that can start by
  // then (the rest stay owed). Returns whether it issued any.
  bool refresh_until(Channel& ch, uint32_t rank, uint64_t until, bool by_end = false);

  DramConfig config_;
  AddressMapper mapper_;
  // Sampled channels (sample_channels): only channels 0, stride_, 2 x stride_, ... are simulated, each standing
  // for the stride_ channels from it on; 1: every channel.
  size_t stride_ = 1;
  std::vector<Counters> sampling_from_;  // per simulated channel: its counters when sampling began
  Timings t_{};
  uint64_t burst_bytes_ = 0;
  uint64_t refresh_postpone_ = 0;  // refresh_postpone x the interval between a rank's refreshes (cycles)
  uint64_t refresh_interval_ = 0;  // between two REFs of a rank: tREFI, or tREFI / banks per bank
  bool per_bank_refresh_ = false;
  uint64_t pull_in_cycles_ = 0;  // per-bank refresh: how early a speculative REFpb may go (refresh_pull_in)
  bool stagger_ = false;         // refresh_stagger channels (then channels are never sampled)
  bool refresh_enabled_ = true;
  bool closed_page_ = false;
  bool first_ready_ = true;  // FR-FCFS (else FCFS)
  bool masks_ok_ = false;    // at most 64 banks per channel: Channel's bank masks are exact
  int column_bus_ = 0;       // 0: shared with row commands; 1: a bus of its own
  uint32_t starvation_cap_ = 0;
  uint32_t banks_per_rank_ = 0, banks_per_group_ = 0, bank_groups_ = 0;
  size_t queue_capacity_[2] = {};
  size_t write_high_ = 0, write_low_ = 0;  // write-queue occupancies, in bursts
  std::vector<Channel> channels_;
  static constexpr uint64_t kNoDecision = ~uint64_t{0};
  std::vector<uint64_t> keys_;  // per channel: cycle of its planned command (kNoDecision: nothing queued)
  std::vector<Pending> pending_;
  // The request a hand-over waits for while channels run up to it, and the running channel's bursts of it left.
  static constexpr uint64_t kNoGate = ~uint64_t{0};
  uint64_t gate_id_ = kNoGate;
  uint64_t gate_bursts_left_ = 0;
  size_t completed_ = 0;  // requests of pending_ done
  // Their completions that no after_a_completion request has waited for yet, earliest first.
  std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<>> unclaimed_;
  uint64_t first_id_ = 0;  // id of pending_[0]
  uint64_t next_id_ = 1;   // ids below first_id_ belong to finished streams
  uint64_t last_write_data_end_ = 0;
  std::vector<size_t> touched_;  // channels a hand-over added bursts to
  // Requests, bytes and latencies are kept here; the channels' counters are assembled by stats().
  mutable DramStats stats_;
};

}  // namespace npusim::hw

// Command-level DRAM: every burst pays the commands it needs (ACT, PRE, column read or write) under the JEDEC
// constraints of its preset: tRCD, tRP, tRAS, tRC, tCL, tWL, tCCD_S/L, tRRD_S/L, tFAW, tWTR_S/L, tRTP, tWR,
// read/write and rank turnarounds on the data bus, and all-bank or per-bank refresh every tREFI. Open-page or
// closed-page (auto-precharge) policy.
//
// Scheduling: each channel's controller serves requests in the order they are handed over (IDram books in call
// order). Within a request, its bursts go out in address order, which for the bursts of one row is also the
// row-hit-first order. Commands of a channel are placed at the earliest time every constraint allows, so one
// request's ACTs overlap earlier requests' data transfers (bank-level parallelism), but a later request never
// overtakes an earlier one: there is no reordering across requests yet.
#pragma once

#include <vector>

#include "hw_models/dram/address_mapping.h"
#include "hw_models/dram/i_dram.h"

namespace npusim::hw {

class CommandDram final : public IDram {
 public:
  explicit CommandDram(const DramConfig& config);

  uint64_t access(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) override;
  void settle(uint64_t until_ps) override;
  const DramConfig& config() const override { return config_; }
  const DramStats& stats() const override { return stats_; }

 private:
  // "Long ago": the time of a command that never happened, so that every spacing from it is already met.
  static constexpr int64_t kNever = -(int64_t{1} << 60);

  // Timing parameters in ps.
  struct Timings {
    uint64_t rcd, rp, ras, rc, cl, wl, ccd_s, ccd_l, rrd_s, rrd_l, faw, wtr_s, wtr_l, rtp, wr, rtrs;
    uint64_t refi, rfc, rfcpb, burst;
  };
  struct Bank {
    int64_t open_row = -1;
    uint64_t act_ok = 0;  // earliest ACT (tRP after PRE, tRC after ACT, end of refresh)
    uint64_t cas_ok = 0;  // earliest column command (tRCD after ACT)
    uint64_t pre_ok = 0;  // earliest PRE (tRAS after ACT, tRTP after a read, tWR after write data)
  };
  struct Rank {
    uint64_t recent_acts[4] = {};  // ring of the last four ACT times (tFAW)
    uint32_t act_count = 0;
    int64_t last_act = kNever;               // any bank group (tRRD_S)
    std::vector<int64_t> last_act_by_group;  // per bank group (tRRD_L)
    uint64_t next_refresh = 0;               // when the next REF is due
    uint32_t next_refresh_bank = 0;
    std::vector<uint64_t> write_end_by_group;  // end of the last write data per bank group (tWTR_L)
    uint64_t last_write_end = 0;               // in any bank group (tWTR_S)
  };
  struct Channel {
    std::vector<Bank> banks;  // rank-major, then bank group, then bank
    std::vector<Rank> ranks;
    uint64_t bus_free = 0;  // data bus idle from here
    bool bus_last_write = false;
    uint32_t bus_last_rank = 0;
    bool any_cas = false;
    int64_t last_cas = kNever;               // any rank and bank group (tCCD_S)
    std::vector<int64_t> last_cas_by_group;  // per rank and bank group (tCCD_L)
  };

  // Schedules one burst no earlier than `ready_ps`; returns when its data ends on the bus.
  uint64_t burst(Channel& ch, const DramAddress& a, bool is_write, uint64_t ready_ps);
  // Issues every refresh of `rank` due at or before `until_ps`.
  void refresh_until(Channel& ch, uint32_t rank, uint64_t until_ps);

  DramConfig config_;
  AddressMapper mapper_;
  Timings t_{};
  bool per_bank_refresh_ = false;
  bool refresh_enabled_ = true;
  bool closed_page_ = false;
  uint32_t banks_per_rank_ = 0;
  std::vector<Channel> channels_;
  DramStats stats_;
};

}  // namespace npusim::hw

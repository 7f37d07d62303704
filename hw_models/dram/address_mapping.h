// Maps a physical address to (channel, rank, bank group, bank, row, column) for the command-level model. The
// scheme is a string of two-letter fields from the most significant bit down, DRAMsim3-style: ro (row), ra (rank),
// bg (bank group), ba (bank in its group), co (burst within the row), ch (channel); the burst offset sits below
// them all. Two schemes worth knowing by name:
//   "rorabacobgch"  channel-first: consecutive bursts go to different channels, then bank groups, then along a row
//   "rorabgbachco"  row-bank-channel: a whole row in one channel before moving to the next channel, then bank
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "hw_models/dram/i_dram.h"

namespace npusim::hw {

struct DramAddress {
  uint32_t channel = 0, rank = 0, bank_group = 0, bank = 0;  // bank: within its group
  uint32_t row = 0;
  uint32_t column = 0;  // burst index within the row
};

class AddressMapper {
 public:
  // Throws InputError when the scheme is not a permutation of the six fields or a field's count (channels,
  // ranks, bank_groups, banks_per_group, rows, row_bytes / burst bytes) is not a power of two.
  explicit AddressMapper(const DramConfig& config);
  // Of the burst holding `address`; addresses past capacity wrap. Inline: the controller maps every burst.
  DramAddress map(uint64_t address) const {
    const auto field = [&](Field f) { return static_cast<uint32_t>((address >> shift_[f]) & mask_[f]); };
    DramAddress a;
    a.channel = field(kChannel);
    a.rank = field(kRank);
    a.bank_group = field(kBankGroup);
    a.bank = field(kBank);
    a.row = field(kRow);
    a.column = field(kColumn);
    return a;
  }
  // The lowest address >= `address` (burst-aligned) whose burst lies in `channel`: how a controller finds its own
  // bursts in a long request without visiting the other channels' ones.
  // How many bursts starting in [from, to) lie in `channel` (`from` burst-aligned).
  uint64_t count_in_channel(uint64_t from, uint64_t to, uint32_t channel) const {
    const uint32_t run_shift = shift_[kChannel] - burst_shift_;  // bursts in a run of one channel value
    const uint64_t run = uint64_t{1} << run_shift;
    const uint64_t period = run * (mask_[kChannel] + 1);
    // Bursts with index below x in the channel: whole periods, then what of the channel's run the rest reaches.
    const auto below = [&](uint64_t x) {
      const uint64_t rest = x % period, start = uint64_t{channel} * run;
      return x / period * run + (rest > start ? std::min(rest - start, run) : 0);
    };
    const uint64_t b = uint64_t{1} << burst_shift_;
    return below((to + b - 1) >> burst_shift_) - below(from >> burst_shift_);
  }
  // How many channels the addresses that are multiples of `align_bytes` (a power of two) start in: the channel
  // field's values whose bits below `align_bytes` are zero, every (channels / result)-th channel from 0.
  uint64_t channels_at_alignment(uint64_t align_bytes) const {
    const auto align_shift = static_cast<uint32_t>(__builtin_ctzll(align_bytes));
    const uint64_t channels = mask_[kChannel] + 1;
    if (shift_[kChannel] >= align_shift) return channels;
    const uint32_t below = align_shift - shift_[kChannel];
    return below >= 63 ? 1 : std::max<uint64_t>(channels >> below, 1);
  }
  uint64_t next_in_channel(uint64_t address, uint32_t channel) const {
    const uint32_t shift = shift_[kChannel];
    const uint64_t mask = mask_[kChannel];
    address &= ~((uint64_t{1} << burst_shift_) - 1);
    const uint64_t field = (address >> shift) & mask;
    if (field == channel) return address;
    // Keep the bits above the channel field, set the field, clear the bits below it; if the field has to go down,
    // carry into the bits above.
    const uint64_t above = address & ~((mask << shift) | ((uint64_t{1} << shift) - 1));
    const uint64_t carry = field > channel ? (mask + 1) << shift : 0;
    return above + carry + (uint64_t{channel} << shift);
  }

 private:
  enum Field { kChannel, kRank, kBankGroup, kBank, kRow, kColumn, kFields };
  uint32_t shift_[kFields] = {};
  uint64_t mask_[kFields] = {};
  uint32_t burst_shift_ = 0;
};

}  // namespace npusim::hw

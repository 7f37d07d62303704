#include "hw_models/dram/address_mapping.h"

#include "common/error.h"

namespace npusim::hw {

namespace {

bool power_of_two(int64_t v) {
  return v > 0 && (v & (v - 1)) == 0;
}

uint32_t log2_exact(int64_t v) {
  uint32_t bits = 0;
  while ((int64_t{1} << bits) < v) ++bits;
  return bits;
}

}  // namespace

AddressMapper::AddressMapper(const DramConfig& c) {
  const char* names[kFields] = {"ch", "ra", "bg", "ba", "ro", "co"};
  const int64_t counts[kFields] = {c.channels,    c.ranks,
                                   c.bank_groups, c.banks_per_group,
                                   c.rows,        c.row_bytes / static_cast<int64_t>(c.burst_bytes())};
  const char* keys[kFields] = {"channels",        "ranks", "bank_groups",
                               "banks_per_group", "rows",  "row_bytes / burst bytes"};
  for (int f = 0; f < kFields; ++f) {
    if (!power_of_two(counts[f])) {
      throw InputError("dram." + std::string(keys[f]) +
                       ": the command-level model maps addresses by bit fields, " +
                       "so it needs a power of two, got " + std::to_string(counts[f]));
    }
  }
  if (!power_of_two(static_cast<int64_t>(c.burst_bytes())) ||
      c.row_bytes % static_cast<int64_t>(c.burst_bytes()) != 0) {
    throw InputError("dram: the burst (bus_width_bits / 8 x burst_length = " + std::to_string(c.burst_bytes()) +
                     " bytes) must be a power of two that divides row_bytes (" + std::to_string(c.row_bytes) +
                     ")");
  }
  const std::string& scheme = c.address_mapping;
  bool seen[kFields] = {};
  if (scheme.size() != 2 * kFields) {
    throw InputError("dram.address_mapping: '" + scheme +
                     "' must name each of ro, ra, bg, ba, co, ch once, most significant first");
  }
  burst_shift_ = log2_exact(static_cast<int64_t>(c.burst_bytes()));
  uint32_t shift = burst_shift_;
  // Walk from the least significant field (the end of the string) up.
  for (int i = kFields - 1; i >= 0; --i) {
    const std::string name = scheme.substr(static_cast<size_t>(2 * i), 2);
    int field = -1;
    for (int f = 0; f < kFields; ++f) field = name == names[f] ? f : field;
    if (field < 0 || seen[field]) {
      throw InputError("dram.address_mapping: '" + scheme + "': '" + name +
                       "' is not one of ro, ra, bg, ba, co, ch or appears twice");
    }
    seen[field] = true;
    shift_[field] = shift;
    mask_[field] = static_cast<uint64_t>(counts[field] - 1);
    shift += log2_exact(counts[field]);
  }
}

}  // namespace npusim::hw

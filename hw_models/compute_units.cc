#include "hw_models/compute_units.h"

namespace npusim::hw {

MacArray::MacArray(sc_core::sc_module_name name, const NpuConfig& config)
    : sc_core::sc_module(name),
      macs_per_cycle_(static_cast<uint64_t>(config.mac_rows * config.mac_cols)),
      period_ps_(config.core_period_ps()) {}

uint64_t MacArray::cycles_for(uint64_t macs) const {
  return (macs + macs_per_cycle_ - 1) / macs_per_cycle_;
}

void MacArray::execute(uint64_t macs) {
  const uint64_t cycles = cycles_for(macs);
  if (cycles == 0) return;
  busy_cycles_ += cycles;
  macs_ += macs;
  sc_core::wait(sc_core::sc_time::from_value(cycles * period_ps_));
}

VectorUnit::VectorUnit(sc_core::sc_module_name name, const NpuConfig& config)
    : sc_core::sc_module(name),
      lanes_(static_cast<uint64_t>(config.vector_lanes)),
      period_ps_(config.core_period_ps()) {}

uint64_t VectorUnit::cycles_for(uint64_t elements) const {
  return (elements + lanes_ - 1) / lanes_;
}

void VectorUnit::execute(uint64_t elements) {
  const uint64_t cycles = cycles_for(elements);
  if (cycles == 0) return;
  busy_cycles_ += cycles;
  sc_core::wait(sc_core::sc_time::from_value(cycles * period_ps_));
}

}  // namespace npusim::hw

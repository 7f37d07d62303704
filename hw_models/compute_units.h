// The MAC array and the vector unit. Both are called from the core's thread in blocking style (like a TLM
// b_transport): the call occupies the unit and returns when the work is done.
#pragma once

#include <systemc>

#include "hw_models/npu.h"

namespace npusim::hw {

// rows x cols fp16 MACs a cycle: `macs` of work take ceil(macs / (rows * cols)) cycles.
class MacArray : public sc_core::sc_module {
 public:
  MacArray(sc_core::sc_module_name name, const NpuConfig& config);
  uint64_t cycles_for(uint64_t macs) const;
  void execute(uint64_t macs);  // waits for cycles_for(macs) core cycles
  uint64_t busy_cycles() const { return busy_cycles_; }
  uint64_t macs() const { return macs_; }

 private:
  uint64_t macs_per_cycle_;
  uint64_t period_ps_;
  uint64_t busy_cycles_ = 0;
  uint64_t macs_ = 0;
};

// `lanes` element operations a cycle: ceil(elements / lanes) cycles.
class VectorUnit : public sc_core::sc_module {
 public:
  VectorUnit(sc_core::sc_module_name name, const NpuConfig& config);
  uint64_t cycles_for(uint64_t elements) const;
  void execute(uint64_t elements);
  uint64_t busy_cycles() const { return busy_cycles_; }

 private:
  uint64_t lanes_;
  uint64_t period_ps_;
  uint64_t busy_cycles_ = 0;
};

}  // namespace npusim::hw

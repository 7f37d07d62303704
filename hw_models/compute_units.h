// The MAC array and the vector unit. Both are called from the core's thread in blocking style (like a TLM
// b_transport): the call occupies the unit and returns when the work is done.
#pragma once

#include <systemc>

#include "hw_models/mac_dataflow.h"
#include "hw_models/npu.h"

namespace npusim::hw {

// A compute array (the systolic MAC array, or the GEMV engine beside it): each matrix product occupies it for the
// cycles its dataflow takes (hw_models/mac_dataflow.h).
class MacArray : public sc_core::sc_module {
 public:
  MacArray(sc_core::sc_module_name name, const ArrayShape& shape, uint64_t period_ps);
  const ArrayShape& shape() const { return shape_; }
  uint64_t cycles_for(const GemmShape& gemm) const { return gemm_cycles(shape_, gemm); }
  void execute(uint64_t cycles, uint64_t macs);  // waits `cycles` core cycles doing `macs` useful MACs
  uint64_t busy_cycles() const { return busy_cycles_; }
  uint64_t macs() const { return macs_; }

 private:
  ArrayShape shape_;
  uint64_t period_ps_;
  uint64_t busy_cycles_ = 0;
  uint64_t macs_ = 0;
};

// The matrix product an operator runs, `count` times (attention: once per head). Linears: M = tokens, K x N
// weights. Attention scores: M = tokens, K = head_dim, N = keys per query row; values: M = tokens, K = keys per
// query row, N = head_dim; with a causal prefill, keys per row is the mean ceil(score entries / tokens), what a
// blocked schedule that skips the blocks above the diagonal computes. count 0: the op does no MACs.
struct OpProduct {
  GemmShape gemm;
  uint64_t count = 0;
};
OpProduct product_of(const workloads::Op& op);

// The vector unit: each operator's function costs what the config declares (NpuConfig::vector_cycles). Work is
// booked on the unit's own timeline, so the core can hand it an elementwise function's share of a tile and go on
// to the next tile (issue), and wait for the unit only where the data is needed (drain).
class VectorUnit : public sc_core::sc_module {
 public:
  VectorUnit(sc_core::sc_module_name name, const NpuConfig& config);
  // Books `cycles` after whatever the unit has booked already (or from now, if it is idle), without waiting.
  void issue(uint64_t cycles);
  // Waits until every booked cycle has run.
  void drain();
  uint64_t busy_cycles() const { return busy_cycles_; }

 private:
  uint64_t period_ps_;
  uint64_t free_at_ps_ = 0;  // when the booked work ends
  uint64_t busy_cycles_ = 0;
};

}  // namespace npusim::hw

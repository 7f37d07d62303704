#include "hw_models/compute_units.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace npusim::hw {

MacArray::MacArray(sc_core::sc_module_name name, const ArrayShape& shape, uint64_t period_ps)
    : sc_core::sc_module(name), shape_(shape), period_ps_(period_ps) {}

void MacArray::execute(uint64_t cycles, uint64_t macs) {
  macs_ += macs;
  if (cycles == 0) return;
  busy_cycles_ += cycles;
  sc_core::wait(sc_core::sc_time::from_value(cycles * period_ps_));
}

OpProduct product_of(const workloads::Op& op) {
  using workloads::OpKind;
  if (op.macs == 0 || op.tokens == 0) return {};
  switch (op.kind) {
    case OpKind::kLinear:
      return {{op.tokens, op.k, op.n}, 1};
    case OpKind::kAttentionScore:
    case OpKind::kAttentionValue: {
      const uint64_t heads = op.heads > 0 ? op.heads : 1;
      const uint64_t entries = op.macs / (heads * op.k);
      const uint64_t per_row = (entries + op.tokens - 1) / op.tokens;
      if (op.kind == OpKind::kAttentionScore) return {{op.tokens, op.k, per_row}, heads};
      return {{op.tokens, per_row, op.k}, heads};
    }
    default:
      throw std::logic_error(std::string("MACs on an operator of kind ") + workloads::op_kind_name(op.kind));
  }
}

VectorUnit::VectorUnit(sc_core::sc_module_name name, const NpuConfig& config)
    : sc_core::sc_module(name), period_ps_(config.core_period_ps()) {}

void VectorUnit::issue(uint64_t cycles) {
  if (cycles == 0) return;
  busy_cycles_ += cycles;
  const uint64_t now = sc_core::sc_time_stamp().value();
  free_at_ps_ = std::max(free_at_ps_, now) + cycles * period_ps_;
}

void VectorUnit::drain() {
  const uint64_t now = sc_core::sc_time_stamp().value();
  if (free_at_ps_ > now) sc_core::wait(sc_core::sc_time::from_value(free_at_ps_ - now));
}

}  // namespace npusim::hw

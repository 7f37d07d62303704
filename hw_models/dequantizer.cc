#include "hw_models/dequantizer.h"

namespace npusim::hw {

Dequantizer::Dequantizer(sc_core::sc_module_name name, const NpuConfig& config, TimedTileQueue& in,
                         TimedTileQueue& out)
    : sc_core::sc_module(name), config_(config), in_(in), out_(out) {
  SC_HAS_PROCESS(Dequantizer);
  SC_THREAD(run);
}

uint64_t Dequantizer::tile_cycles(const Tile& tile) {
  if (tile.dequant_weights == 0) return 0;
  const auto per_cycle = static_cast<uint64_t>(config_.dequant_codes_per_cycle);
  uint64_t cycles = (tile.dequant_weights + per_cycle - 1) / per_cycle;
  if (tile.op->format.kind == workloads::FormatKind::kAnyPrec) {
    // Row blocks [first, last] of this tile; the first one is free if its tables are still loaded.
    const auto block_rows = static_cast<uint64_t>(config_.dequant_table_rows);
    const uint64_t first = tile.first_row / block_rows;
    const uint64_t last = (tile.first_row + tile.rows - 1) / block_rows;
    uint64_t loads = last - first + 1;
    if (loaded_op_ == tile.op && loaded_block_ == first) --loads;
    loaded_op_ = tile.op;
    loaded_block_ = last;
    table_loads_ += loads;
    cycles += loads * static_cast<uint64_t>(config_.dequant_table_load_cycles);
  }
  return cycles;
}

void Dequantizer::run() {
  const uint64_t period = config_.core_period_ps();
  for (;;) {
    Tile tile = in_.pop(&wait_ps_);
    const uint64_t cycles = tile_cycles(tile);
    if (cycles > 0) {
      busy_cycles_ += cycles;
      class_busy_cycles_[static_cast<size_t>(tile.op->op_class)] += cycles;
      wait(sc_core::sc_time::from_value(cycles * period));
    }
    tile.ready_ps = TimedTileQueue::now_ps();
    out_.push(tile);
  }
}

}  // namespace npusim::hw

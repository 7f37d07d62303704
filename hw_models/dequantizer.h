// The dequantizer: a pipeline stage between SRAM and the MAC array. Any-precision codes are looked up in the
// row's centroid table; the tables of `dequant_table_rows` rows (a row block) are held at once, and moving to a
// new block costs `dequant_table_load_cycles`. Uniform codes are scaled per group (no table load). fp16 data
// (weights, KV cache, embeddings) bypasses it in zero cycles.
#pragma once

#include <array>
#include <systemc>

#include "hw_models/npu.h"
#include "hw_models/timed_queue.h"

namespace npusim::hw {

class Dequantizer : public sc_core::sc_module {
 public:
  Dequantizer(sc_core::sc_module_name name, const NpuConfig& config, TimedTileQueue& in, TimedTileQueue& out);

  // Cycles a tile occupies the dequantizer given the row block already loaded; updates the loaded block and
  // counts table loads. Exposed for exact-cycle tests.
  uint64_t tile_cycles(const Tile& tile);

  uint64_t busy_cycles() const { return busy_cycles_; }
  // The same, by the class of the operator each tile belongs to (workloads::OpClass).
  const std::array<uint64_t, workloads::kOpClasses>& class_busy_cycles() const { return class_busy_cycles_; }
  uint64_t table_loads() const { return table_loads_; }
  uint64_t wait_ps() const { return wait_ps_; }

 private:
  void run();

  const NpuConfig& config_;
  TimedTileQueue& in_;
  TimedTileQueue& out_;
  const workloads::Op* loaded_op_ = nullptr;  // whose row block's tables are loaded
  uint64_t loaded_block_ = 0;
  uint64_t busy_cycles_ = 0;
  std::array<uint64_t, workloads::kOpClasses> class_busy_cycles_{};
  uint64_t table_loads_ = 0;
  uint64_t wait_ps_ = 0;
};

}  // namespace npusim::hw

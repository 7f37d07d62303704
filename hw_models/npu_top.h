// The NPU top: wires DRAM, weight streamer, dequantizer, MAC array and vector unit, and runs the core's thread,
// which takes phases from the work source and executes their operators in order.
#pragma once

#include <memory>
#include <systemc>

#include "hw_models/compute_units.h"
#include "hw_models/dequantizer.h"
#include "hw_models/npu.h"
#include "hw_models/weight_streamer.h"

namespace npusim::hw {

class NpuTop : public sc_core::sc_module {
 public:
  NpuTop(sc_core::sc_module_name name, const NpuConfig& config, IWorkSource& source);

  const IDram& dram() const { return *dram_; }

 private:
  void core();  // SC_THREAD
  // Runs `op`; `overlapped`, when not null, is the elementwise vector operator after it, whose work the vector
  // unit takes tile by tile behind the array.
  void execute(const workloads::Op& op, const workloads::Op* overlapped);
  MacArray& array_for(const workloads::Op& op);
  PhaseCounters snapshot() const;  // cumulative counters, for per-phase deltas
  // The phase's counters so far, for a mark: the core's now, the DRAM's as `booked` (WeightStreamer's counters
  // after the marked unit's last tile; null: now).
  PhaseCounters marked_counters(const PhaseCounters* booked) const;
  // The window in which the core works on one operator: its time and waits go to the operator's class.
  void open_window(workloads::OpClass op_class);
  void close_window();
  ClassCounters window_partial() const;  // by_class_ with the open window's share so far, and the dequantizer's

  const NpuConfig config_;
  IWorkSource& source_;
  std::unique_ptr<IDram> dram_;
  AddressMap addresses_;
  TimedTileQueue streamed_;     // streamer -> dequantizer
  TimedTileQueue dequantized_;  // dequantizer -> MAC array
  WeightStreamer streamer_;
  Dequantizer dequantizer_;
  MacArray mac_array_;
  MacArray gemv_engine_;  // used only when the config declares one
  VectorUnit vector_unit_;
  uint64_t compute_wait_ps_ = 0;
  ClassCounters by_class_{};
  struct Window {
    bool open = false;
    size_t op_class = 0;
    uint64_t start_ps = 0, compute_wait_ps = 0;
  } window_;
  const workloads::Op* overlapped_ = nullptr;  // the vector operator whose work is already on the vector unit
  uint64_t writes_done_ps_ = 0;                // latest completion of a posted KV-cache write
  // The phase in progress: where it started, for the marks.
  uint64_t phase_start_ps_ = 0;
  PhaseCounters phase_before_;
  std::vector<OpTileMarks> op_tiles_;
};

}  // namespace npusim::hw

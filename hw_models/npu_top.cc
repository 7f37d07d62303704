#include "hw_models/npu_top.h"

#include <algorithm>

#include "common/error.h"

namespace npusim::hw {

using workloads::Op;
using workloads::OpKind;

NpuTop::NpuTop(sc_core::sc_module_name name, const NpuConfig& config, IWorkSource& source)
    : sc_core::sc_module(name),
      config_(config),
      source_(source),
      dram_(make_dram(config_.dram)),
      streamer_("streamer", config_, *dram_, addresses_, streamed_),
      dequantizer_("dequantizer", config_, streamed_, dequantized_),
      mac_array_("mac_array", config_),
      vector_unit_("vector_unit", config_) {
  SC_HAS_PROCESS(NpuTop);
  SC_THREAD(core);
}

namespace {

// The counters accumulated between two snapshots (times are filled in by the caller).
PhaseStats counters_since(const PhaseStats& before, const PhaseStats& after) {
  PhaseStats d;
  d.dram_read_bytes = after.dram_read_bytes - before.dram_read_bytes;
  d.dram_write_bytes = after.dram_write_bytes - before.dram_write_bytes;
  d.dram_busy_ps = after.dram_busy_ps - before.dram_busy_ps;
  d.dram_row_hits = after.dram_row_hits - before.dram_row_hits;
  d.dram_row_misses = after.dram_row_misses - before.dram_row_misses;
  d.dram_row_conflicts = after.dram_row_conflicts - before.dram_row_conflicts;
  d.dram_activates = after.dram_activates - before.dram_activates;
  d.dram_precharges = after.dram_precharges - before.dram_precharges;
  d.dram_refreshes = after.dram_refreshes - before.dram_refreshes;
  d.dram_energy_pj = after.dram_energy_pj - before.dram_energy_pj;
  d.macs = after.macs - before.macs;
  d.mac_busy_cycles = after.mac_busy_cycles - before.mac_busy_cycles;
  d.dequant_busy_cycles = after.dequant_busy_cycles - before.dequant_busy_cycles;
  d.vector_busy_cycles = after.vector_busy_cycles - before.vector_busy_cycles;
  d.tiles = after.tiles - before.tiles;
  d.table_loads = after.table_loads - before.table_loads;
  d.compute_wait_ps = after.compute_wait_ps - before.compute_wait_ps;
  d.buffer_stall_ps = after.buffer_stall_ps - before.buffer_stall_ps;
  return d;
}

}  // namespace

PhaseStats NpuTop::snapshot() const {
  PhaseStats s;
  const DramStats& d = dram_->stats();
  s.dram_read_bytes = d.read_bytes;
  s.dram_write_bytes = d.write_bytes;
  s.dram_busy_ps = d.busy_ps;
  s.dram_row_hits = d.row_hits;
  s.dram_row_misses = d.row_misses;
  s.dram_row_conflicts = d.row_conflicts;
  s.dram_activates = d.activates;
  s.dram_precharges = d.precharges;
  s.dram_refreshes = d.refreshes;
  s.dram_energy_pj = d.energy_pj;
  s.macs = mac_array_.macs();
  s.mac_busy_cycles = mac_array_.busy_cycles();
  s.dequant_busy_cycles = dequantizer_.busy_cycles();
  s.vector_busy_cycles = vector_unit_.busy_cycles();
  s.tiles = streamer_.tiles();
  s.table_loads = dequantizer_.table_loads();
  s.compute_wait_ps = compute_wait_ps_;
  s.buffer_stall_ps = streamer_.buffer_stall_ps();
  return s;
}

void NpuTop::execute(const Op& op) {
  const TilePlan plan = plan_tiles(op, static_cast<uint64_t>(config_.weight_buffer_bytes),
                                   static_cast<uint64_t>(config_.dequant_table_rows));
  for (uint64_t i = 0; i < plan.tiles; ++i) {
    const Tile tile = dequantized_.pop(&compute_wait_ps_);
    mac_array_.execute(tile.macs);
    if (tile.dram_bytes() > 0) streamer_.release_buffer();
  }
  vector_unit_.execute(op.vector_elements);
  if (op.kind == OpKind::kKvWrite && op.kv_write_bytes > 0 && op.tokens > 0) {
    // Posted writes of the new K and V rows (cache positions [n - tokens, n)): the core does not wait for them,
    // but the phase ends only when they land.
    const uint64_t tensor_bytes = op.kv_write_bytes / 2;
    const uint64_t offset = (op.n - op.tokens) * (tensor_bytes / op.tokens);
    const uint64_t now = TimedTileQueue::now_ps();
    for (bool value : {false, true}) {
      const uint64_t done = dram_->access(AddressMap::kv_base(op.layer, value) + offset, tensor_bytes, true, now);
      writes_done_ps_ = std::max(writes_done_ps_, done);
    }
  }
}

void NpuTop::core() {
  for (;;) {
    const std::vector<Op>* ops = source_.next_phase();
    if (ops == nullptr) break;
    const PhaseStats before = snapshot();
    const uint64_t start = TimedTileQueue::now_ps();
    streamer_.start_phase(ops);
    for (const Op& op : *ops) execute(op);
    // Posted writes still in the controllers' queues drain now: the phase ends when they are in DRAM.
    writes_done_ps_ = std::max(writes_done_ps_, dram_->flush());
    if (writes_done_ps_ > TimedTileQueue::now_ps()) {
      wait(sc_core::sc_time::from_value(writes_done_ps_ - TimedTileQueue::now_ps()));
    }
    dram_->settle(TimedTileQueue::now_ps());  // refreshes of idle channels belong to this phase too
    PhaseStats stats = counters_since(before, snapshot());
    stats.start_ps = start;
    stats.end_ps = TimedTileQueue::now_ps();
    source_.phase_done(stats);
  }
  // Returning leaves the streamer and dequantizer waiting on events that never come: sc_start() returns.
}

SimulationEnd simulate(const NpuConfig& config, IWorkSource& source) {
  if (sc_core::sc_get_time_resolution() != sc_core::sc_time(1, sc_core::SC_PS)) {
    throw std::logic_error("npusim needs SystemC's time resolution at 1 ps");
  }
  NpuTop top("npu", config, source);
  sc_core::sc_start();
  return {sc_core::sc_time_stamp().value(), top.dram().stats()};
}

}  // namespace npusim::hw

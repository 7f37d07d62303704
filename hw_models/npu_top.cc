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
      mac_array_("mac_array", config_.mac_array_shape(), config_.core_period_ps()),
      gemv_engine_("gemv_engine", config_.gemv_engine_shape(), config_.core_period_ps()),
      vector_unit_("vector_unit", config_) {
  SC_HAS_PROCESS(NpuTop);
  SC_THREAD(core);
}

PhaseCounters NpuTop::snapshot() const {
  PhaseCounters s;
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
  s.dram_read_requests = d.reads;
  s.dram_write_requests = d.writes;
  s.dram_write_drains = d.write_drains;
  s.dram_read_latency_sum_ps = d.read_latency_sum_ps;
  s.dram_energy_pj = d.energy_pj;
  s.macs = mac_array_.macs() + gemv_engine_.macs();
  s.mac_busy_cycles = mac_array_.busy_cycles() + gemv_engine_.busy_cycles();
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
  // A large operator outside the stack is marked tile by tile (the fast path samples its tiles).
  const bool mark_tiles = op.layer < 0 && plan.tiles > 1;
  if (mark_tiles) op_tiles_.push_back({op.name, {}});
  MacArray& array = array_for(op);
  // A linear's tile is a product of its own (M = tokens, K, N = the tile's rows); any other operator's products
  // take their cycles in proportion to the MACs each tile carries (exact integer shares).
  const OpProduct product = product_of(op);
  const uint64_t op_cycles = op.kind == OpKind::kLinear ? 0 : product.count * array.cycles_for(product.gemm);
  uint64_t macs_before = 0;
  for (uint64_t i = 0; i < plan.tiles; ++i) {
    const Tile tile = dequantized_.pop(&compute_wait_ps_);
    uint64_t cycles = 0;
    if (op.kind == OpKind::kLinear) {
      cycles = array.cycles_for({op.tokens, op.k, tile.rows});
    } else if (op.macs > 0) {
      using u128 = unsigned __int128;
      const auto share = [&](uint64_t macs) { return static_cast<uint64_t>(u128(op_cycles) * macs / op.macs); };
      cycles = share(macs_before + tile.macs) - share(macs_before);
      macs_before += tile.macs;
    }
    array.execute(cycles, tile.macs);
    if (tile.dram_bytes() > 0) streamer_.release_buffer();
    if (mark_tiles) {
      op_tiles_.back().tiles.push_back(
          {i, TimedTileQueue::now_ps() - phase_start_ps_, counters_between(phase_before_, snapshot())});
    }
  }
  vector_unit_.execute(op.vector_elements);
  // Posted writes of the new K and V rows: the core does not wait for them, but the phase ends only when they
  // land.
  for (const ByteRange& r : kv_write_ranges(op)) {
    if (r.bytes == 0) continue;
    writes_done_ps_ = std::max(writes_done_ps_, dram_->access(r.address, r.bytes, true, TimedTileQueue::now_ps()));
  }
}

MacArray& NpuTop::array_for(const Op& op) {
  return config_.runs_on_gemv_engine(op) ? gemv_engine_ : mac_array_;
}

void NpuTop::core() {
  for (;;) {
    const std::vector<Op>* ops = source_.next_phase();
    if (ops == nullptr) break;
    // Between phases: nothing but posted writes in flight.
    dram_->sample_channels(source_.dram_channels_to_simulate(), source_.dram_channels_only_identical());
    const PhaseCounters before = phase_before_ = snapshot();
    const uint64_t start = phase_start_ps_ = TimedTileQueue::now_ps();
    std::vector<Mark> layer_ends;
    op_tiles_.clear();
    streamer_.start_phase(ops);
    for (size_t i = 0; i < ops->size(); ++i) {
      const Op& op = (*ops)[i];
      if (op.placement_only) continue;
      execute(op);
      size_t next = i + 1;
      while (next < ops->size() && (*ops)[next].placement_only) ++next;
      if (op.layer >= 0 && (next == ops->size() || (*ops)[next].layer != op.layer)) {
        layer_ends.push_back({static_cast<uint64_t>(op.layer), TimedTileQueue::now_ps() - start,
                              counters_between(before, snapshot())});
      }
    }
    // Posted writes still in the controllers' queues drain now: the phase ends when they are in DRAM.
    writes_done_ps_ = std::max(writes_done_ps_, dram_->flush());
    if (writes_done_ps_ > TimedTileQueue::now_ps()) {
      wait(sc_core::sc_time::from_value(writes_done_ps_ - TimedTileQueue::now_ps()));
    }
    dram_->settle(TimedTileQueue::now_ps());  // refreshes of idle channels belong to this phase too
    PhaseStats stats;
    static_cast<PhaseCounters&>(stats) = counters_between(before, snapshot());
    stats.layer_ends = std::move(layer_ends);
    stats.op_tiles = std::move(op_tiles_);
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

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

PhaseCounters NpuTop::marked_counters(const PhaseCounters* booked) const {
  PhaseCounters c = counters_between(phase_before_, snapshot());
  if (booked != nullptr) copy_dram_counters(counters_between(phase_before_, *booked), &c);
  return c;
}

PhaseCounters NpuTop::snapshot() const {
  PhaseCounters s = dram_counters(dram_->stats());
  s.macs = mac_array_.macs() + gemv_engine_.macs();
  s.mac_busy_cycles = mac_array_.busy_cycles() + gemv_engine_.busy_cycles();
  s.dequant_busy_cycles = dequantizer_.busy_cycles();
  s.vector_busy_cycles = vector_unit_.busy_cycles();
  s.tiles = streamer_.tiles();
  s.table_loads = dequantizer_.table_loads();
  s.compute_wait_ps = compute_wait_ps_;
  s.buffer_stall_ps = streamer_.buffer_stall_ps();
  s.by_class = window_partial();
  return s;
}

void NpuTop::open_window(workloads::OpClass op_class) {
  window_ = {true, static_cast<size_t>(op_class), TimedTileQueue::now_ps(), compute_wait_ps_};
}

ClassCounters NpuTop::window_partial() const {
  ClassCounters c = by_class_;
  for (size_t k = 0; k < c.size(); ++k) c[k].dequant_busy_cycles = dequantizer_.class_busy_cycles()[k];
  if (!window_.open) return c;
  OpClassCounters& w = c[window_.op_class];
  w.time_ps += TimedTileQueue::now_ps() - window_.start_ps;
  w.compute_wait_ps += compute_wait_ps_ - window_.compute_wait_ps;
  return c;
}

void NpuTop::close_window() {
  OpClassCounters& w = by_class_[window_.op_class];
  w.time_ps += TimedTileQueue::now_ps() - window_.start_ps;
  w.compute_wait_ps += compute_wait_ps_ - window_.compute_wait_ps;
  window_.open = false;
}

void NpuTop::execute(const Op& op, const Op* overlapped) {
  const TilePlan plan = plan_tiles(op, static_cast<uint64_t>(config_.weight_buffer_bytes),
                                   static_cast<uint64_t>(config_.dequant_table_rows));
  open_window(op.op_class);
  OpClassCounters& mine = by_class_[static_cast<size_t>(op.op_class)];
  // A large operator outside the stack is marked tile by tile (the fast path samples its tiles).
  const bool mark_tiles = op.layer < 0 && plan.tiles > 1;
  if (mark_tiles) op_tiles_.push_back({op.name, {}});
  MacArray& array = array_for(op);
  const uint64_t pes = array.shape().rows * array.shape().cols;
  // A linear's tiles continue one product (M = tokens, K, N = the rows so far: tile_cycles); any other
  // operator's products take their cycles in proportion to the MACs each tile carries (exact integer shares).
  // An operator's compute (array or vector unit) stretches to the cycles its activation SRAM traffic takes on the
  // SRAM's ports. Not modelled: the DMA's own SRAM traffic (embedding rows, K/V writes) on those ports, and an
  // overlapped vector operator sharing them with the linear it overlaps (each gets the whole port).
  const OpProduct product = product_of(op);
  const uint64_t op_cycles = op.kind == OpKind::kLinear
                                 ? 0
                                 : std::max(product.count * array.cycles_for(product.gemm),
                                            op.macs > 0 ? config_.sram_cycles(op.sram_activation_read_bytes,
                                                                              op.sram_activation_write_bytes)
                                                        : 0);
  // The overlapped vector operator's cycles, shared out over this linear's tiles by their rows.
  const uint64_t overlapped_cycles = overlapped != nullptr ? config_.vector_op_cycles(*overlapped) : 0;
  using u128 = unsigned __int128;
  const auto share = [](uint64_t total, uint64_t part, uint64_t whole) {
    return static_cast<uint64_t>(u128(total) * part / whole);
  };
  uint64_t macs_before = 0, rows_before = 0;
  for (uint64_t i = 0; i < plan.tiles; ++i) {
    const Tile tile = dequantized_.pop(&compute_wait_ps_);
    for (const ByteRange& r : tile.ranges) mine.dram_read_bytes += config_.dram.bus_bytes(r.address, r.bytes);
    uint64_t cycles = 0;
    if (op.kind == OpKind::kLinear) {
      const SramBytes sram = tile_sram_bytes(array.shape(), op, tile);
      cycles = std::max(tile_cycles(array.shape(), op.tokens, op.k, tile.first_row, tile.rows),
                        config_.sram_cycles(sram.read, sram.write));
    } else if (op.macs > 0) {
      cycles = share(op_cycles, macs_before + tile.macs, op.macs) - share(op_cycles, macs_before, op.macs);
      macs_before += tile.macs;
    }
    array.execute(cycles, tile.macs);
    mine.macs += tile.macs;
    (&array == &gemv_engine_ ? mine.gemv_busy_cycles : mine.array_busy_cycles) += cycles;
    mine.pe_busy_cycles += cycles * pes;
    if (overlapped_cycles > 0) {
      const uint64_t vector =
          share(overlapped_cycles, rows_before + tile.rows, op.n) - share(overlapped_cycles, rows_before, op.n);
      rows_before += tile.rows;
      vector_unit_.issue(vector);
      mine.vector_busy_cycles += vector;  // in this class's time
    }
    if (tile.dram_bytes() > 0) streamer_.release_buffer();
    if (mark_tiles) {
      op_tiles_.back().tiles.push_back(
          {i, TimedTileQueue::now_ps() - phase_start_ps_, marked_counters(streamer_.booked_after_tile(&op, i))});
    }
  }
  if (op.vector_elements > 0) {
    // Its input must be complete: the work the vector unit holds (a reduction's input, or this operator's own
    // overlapped share) runs out first.
    vector_unit_.drain();
    if (&op != overlapped_) {
      const uint64_t cycles = config_.vector_op_cycles(op);
      vector_unit_.issue(cycles);
      mine.vector_busy_cycles += cycles;
      vector_unit_.drain();
    }
  }
  overlapped_ = overlapped;
  // Posted writes of the new K and V rows: the core does not wait for them, but the phase ends only when they
  // land.
  for (const ByteRange& r : posted_write_ranges(op)) {
    if (r.bytes == 0) continue;
    mine.dram_write_bytes += config_.dram.bus_bytes(r.address, r.bytes);
    writes_done_ps_ = std::max(writes_done_ps_, dram_->access(r.address, r.bytes, true, TimedTileQueue::now_ps()));
  }
  close_window();
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
    const std::vector<uint64_t> latencies_before = dram_->stats().read_latency_ns_histogram;
    const uint64_t start = phase_start_ps_ = TimedTileQueue::now_ps();
    std::vector<Mark> layer_ends;
    op_tiles_.clear();
    overlapped_ = nullptr;
    streamer_.start_phase(ops);
    for (size_t i = 0; i < ops->size(); ++i) {
      const Op& op = (*ops)[i];
      if (op.placement_only) continue;
      size_t next = i + 1;
      while (next < ops->size() && (*ops)[next].placement_only) ++next;
      // An elementwise vector operator right after a linear consumes its output tiles as they come.
      execute(op, config_.overlapped_vector_op(*ops, i));
      if (op.layer >= 0 && (next == ops->size() || (*ops)[next].layer != op.layer)) {
        layer_ends.push_back({static_cast<uint64_t>(op.layer), TimedTileQueue::now_ps() - start,
                              marked_counters(streamer_.booked_to_layer_end(op.layer))});
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
    const std::vector<uint64_t>& latencies = dram_->stats().read_latency_ns_histogram;
    for (size_t bin = 0; bin < latencies.size(); ++bin) {
      const uint64_t n = latencies[bin] - (bin < latencies_before.size() ? latencies_before[bin] : 0);
      if (n > 0) stats.read_latency_bins.emplace_back(static_cast<uint32_t>(bin), n);
    }
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

// Arithmetic on the NPU's counters, and the exact DRAM bus bytes of a phase without simulating it.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "hw_models/npu.h"
#include "hw_models/tiling.h"

namespace npusim::hw {

namespace {

// Applies f(field of x, field of y) to every counter of an operator class, in declaration order.
template <class A, class B, class F>
void each_class_counter(A& x, B& y, F&& f) {
  f(x.time_ps, y.time_ps);
  f(x.compute_wait_ps, y.compute_wait_ps);
  f(x.macs, y.macs);
  f(x.array_busy_cycles, y.array_busy_cycles);
  f(x.gemv_busy_cycles, y.gemv_busy_cycles);
  f(x.pe_busy_cycles, y.pe_busy_cycles);
  f(x.vector_busy_cycles, y.vector_busy_cycles);
  f(x.dequant_busy_cycles, y.dequant_busy_cycles);
  f(x.dram_read_bytes, y.dram_read_bytes);
  f(x.dram_write_bytes, y.dram_write_bytes);
}

// Applies f(field of a, field of b) to every counter of the struct, in declaration order.
// The same for the counters the DRAM keeps (booked as requests are handed over).
template <class A, class B, class F>
void each_dram_counter(A& a, B& b, F&& f) {
  f(a.dram_read_bytes, b.dram_read_bytes);
  f(a.dram_write_bytes, b.dram_write_bytes);
  f(a.dram_busy_ps, b.dram_busy_ps);
  f(a.dram_row_hits, b.dram_row_hits);
  f(a.dram_row_misses, b.dram_row_misses);
  f(a.dram_row_misses_after_refresh, b.dram_row_misses_after_refresh);
  f(a.dram_row_conflicts, b.dram_row_conflicts);
  f(a.dram_activates, b.dram_activates);
  f(a.dram_precharges, b.dram_precharges);
  f(a.dram_refreshes, b.dram_refreshes);
  f(a.dram_read_requests, b.dram_read_requests);
  f(a.dram_write_requests, b.dram_write_requests);
  f(a.dram_write_drains, b.dram_write_drains);
  f(a.dram_read_latency_sum_ps, b.dram_read_latency_sum_ps);
  f(a.dram_energy_pj, b.dram_energy_pj);
}

template <class A, class B, class F>
void each_counter(A& a, B& b, F&& f) {
  each_dram_counter(a, b, f);
  f(a.macs, b.macs);
  f(a.mac_busy_cycles, b.mac_busy_cycles);
  f(a.dequant_busy_cycles, b.dequant_busy_cycles);
  f(a.vector_busy_cycles, b.vector_busy_cycles);
  f(a.tiles, b.tiles);
  f(a.table_loads, b.table_loads);
  f(a.compute_wait_ps, b.compute_wait_ps);
  f(a.buffer_stall_ps, b.buffer_stall_ps);
  for (size_t c = 0; c < a.by_class.size(); ++c) each_class_counter(a.by_class[c], b.by_class[c], f);
}

}  // namespace

void add_counters(OpClassCounters* to, const OpClassCounters& d) {
  each_class_counter(*to, d, [](uint64_t& x, uint64_t v) { x += v; });
}

PhaseCounters dram_counters(const DramStats& d) {
  PhaseCounters s;
  s.dram_read_bytes = d.read_bytes;
  s.dram_write_bytes = d.write_bytes;
  s.dram_busy_ps = d.busy_ps;
  s.dram_row_hits = d.row_hits;
  s.dram_row_misses = d.row_misses;
  s.dram_row_misses_after_refresh = d.row_misses_after_refresh;
  s.dram_row_conflicts = d.row_conflicts;
  s.dram_activates = d.activates;
  s.dram_precharges = d.precharges;
  s.dram_refreshes = d.refreshes;
  s.dram_read_requests = d.reads;
  s.dram_write_requests = d.writes;
  s.dram_write_drains = d.write_drains;
  s.dram_read_latency_sum_ps = d.read_latency_sum_ps;
  s.dram_energy_pj = d.energy_pj;
  return s;
}

void copy_dram_counters(const PhaseCounters& from, PhaseCounters* to) {
  each_dram_counter(*to, from, [](auto& x, const auto& v) { x = v; });
}

PhaseCounters counters_between(const PhaseCounters& before, const PhaseCounters& after) {
  PhaseCounters d = after;
  each_counter(d, before, [](auto& x, const auto& b) { x -= b; });
  return d;
}

void add_scaled(PhaseCounters* to, const PhaseCounters& d, double times) {
  each_counter(*to, d, [times](auto& x, const auto& v) {
    using T = std::decay_t<decltype(x)>;
    if constexpr (std::is_floating_point_v<T>) {
      x += v * times;
    } else {
      // Periods measured as differences can be negative for a counter that a steady state leaves unchanged
      // on average; the sum never goes below zero.
      const double add = std::llround(static_cast<double>(static_cast<int64_t>(v)) * times);
      x = static_cast<T>(std::max(0.0, static_cast<double>(x) + add));
    }
  });
}

PhaseBusBytes phase_bus_bytes(const NpuConfig& config, const std::vector<workloads::Op>& ops) {
  PhaseBusBytes b;
  AddressMap addresses;  // its own: every tensor is 4 KiB-aligned, so bursts touched do not depend on placement
  // The DMA cuts a range into requests at multiples of request_bytes, which are whole bursts (the NPU config
  // checks it), so no burst straddles two requests: the requests touch exactly the bursts the range touches, and
  // the range's bus bytes need no walk over its requests (which small requests made the cost of every phase).
  // Every start and end OR-ed (and the DMA's cuts at multiples of request_bytes, which start requests of their
  // own): the lowest set bit is the alignment.
  uint64_t boundaries = kTensorAlignBytes | static_cast<uint64_t>(config.dma_request_bytes);
  const auto bound = [&](const ByteRange& r) {
    if (r.bytes > 0) boundaries |= r.address | (r.address + r.bytes);
  };

  for (const workloads::Op& op : ops) {
    if (op.placement_only) continue;
    const TilePlan plan = plan_tiles(op, static_cast<uint64_t>(config.weight_buffer_bytes),
                                     static_cast<uint64_t>(config.dequant_table_rows));
    if (plan.tiles > 0) {
      const OpPlacement& where = addresses.place(op);
      for (uint64_t i = 0; i < plan.tiles; ++i) {
        const Tile tile = make_tile(op, plan, where, i);
        for (const ByteRange& range : tile.ranges) {
          const uint64_t bytes = config.dram.bus_bytes(range.address, range.bytes);
          b.read_bytes += bytes;
          b.class_read_bytes[static_cast<size_t>(op.op_class)] += bytes;
          bound(range);
        }
      }
    }
    for (const ByteRange& r : posted_write_ranges(op)) {
      const uint64_t bytes = config.dram.bus_bytes(r.address, r.bytes);
      b.write_bytes += bytes;
      b.class_write_bytes[static_cast<size_t>(op.op_class)] += bytes;
      bound(r);
    }
  }
  b.boundary_align_bytes = boundaries & (~boundaries + 1);
  return b;
}

}  // namespace npusim::hw

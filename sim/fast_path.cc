#include "sim/fast_path.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "hw_models/tiling.h"

namespace npusim::sim {

using workloads::Op;

namespace {

hw::TilePlan plan_of(const hw::NpuConfig& npu, const Op& op) {
  return hw::plan_tiles(op, static_cast<uint64_t>(npu.weight_buffer_bytes),
                        static_cast<uint64_t>(npu.dequant_table_rows));
}

int stack_layers(const std::vector<Op>& ops) {
  int layers = 0;
  for (const Op& op : ops) layers = std::max(layers, op.layer + 1);
  return layers;
}

// What is known without simulating: bus bytes, bus time, MACs, vector-unit cycles and tiles (bytes, MACs and
// vector cycles also by class).
void copy_exact(const hw::PhaseStats& from, hw::PhaseStats* to) {
  to->dram_read_bytes = from.dram_read_bytes;
  to->dram_write_bytes = from.dram_write_bytes;
  to->dram_busy_ps = from.dram_busy_ps;
  to->macs = from.macs;
  to->vector_busy_cycles = from.vector_busy_cycles;
  to->tiles = from.tiles;
  for (size_t c = 0; c < to->by_class.size(); ++c) {
    to->by_class[c].dram_read_bytes = from.by_class[c].dram_read_bytes;
    to->by_class[c].dram_write_bytes = from.by_class[c].dram_write_bytes;
    to->by_class[c].macs = from.by_class[c].macs;
    to->by_class[c].vector_busy_cycles = from.by_class[c].vector_busy_cycles;
  }
  to->layer_ends.clear();
  to->op_tiles.clear();
}

uint64_t bus_bytes(const hw::PhaseStats& s) {
  return s.dram_read_bytes + s.dram_write_bytes;
}

// Tiles of an operator the streamer holds in buffers ahead of the core: all buffers but the one the core works on.
uint64_t prefetched_tiles(const hw::NpuConfig& npu) {
  return static_cast<uint64_t>(std::max<int64_t>(npu.weight_buffers - 1, 0));
}

}  // namespace

hw::PhaseStats exact_of(const hw::NpuConfig& npu, const std::vector<Op>& full, uint64_t* boundary_align_bytes) {
  hw::PhaseStats s;
  const hw::PhaseBusBytes bytes = hw::phase_bus_bytes(npu, full);
  if (boundary_align_bytes != nullptr) *boundary_align_bytes = bytes.boundary_align_bytes;
  s.dram_read_bytes = bytes.read_bytes;
  s.dram_write_bytes = bytes.write_bytes;
  s.dram_busy_ps = (bytes.read_bytes + bytes.write_bytes) / npu.dram.burst_bytes() * npu.dram.burst_ps();
  for (size_t c = 0; c < s.by_class.size(); ++c) {
    s.by_class[c].dram_read_bytes = bytes.class_read_bytes[c];
    s.by_class[c].dram_write_bytes = bytes.class_write_bytes[c];
  }
  // Vector-unit cycles: every vector operator's, in the class of the linear it runs overlapped with, if any (a
  // predicted step's would otherwise scale with its DRAM bytes, not with the attention's context: 3.5% high on
  // four fp16 Vicuna-7B requests on the paper NPU).
  const Op* overlapped = nullptr;  // the vector operator the linear before runs with (NpuTop's overlapped_)
  for (size_t i = 0; i < full.size(); ++i) {
    const Op& op = full[i];
    s.macs += op.macs;
    s.by_class[static_cast<size_t>(op.op_class)].macs += op.macs;
    s.tiles += plan_of(npu, op).tiles;
    const auto add_vector = [&](const Op& v) {
      const uint64_t cycles = npu.vector_op_cycles(v);
      s.vector_busy_cycles += cycles;
      s.by_class[static_cast<size_t>(op.op_class)].vector_busy_cycles += cycles;
    };
    if (op.vector_elements > 0 && &op != overlapped) add_vector(op);
    overlapped = npu.overlapped_vector_op(full, i);
    if (overlapped != nullptr) add_vector(*overlapped);
  }
  return s;
}

std::vector<bool> sampled_layers(int layers, int sample_layers, double block_offset) {
  std::vector<bool> chosen(static_cast<size_t>(std::max(layers, 0)), layers <= sample_layers);
  if (layers <= sample_layers) return chosen;
  // One block of consecutive layers: each measured layer follows the layer it follows in the whole stack, with
  // the DRAM state (open rows, banks being refreshed) that one leaves behind; only the first, which warms the
  // pipeline, is entered from elsewhere. Layers apart in the stack differ with where their tensors fall in banks
  // and rows (3-bit Vicuna-7B on the HBM3 NPU: conflicts per layer repeat every 8 layers, 2.2% apart), so the
  // block slides along the stack from one sample to the next (block_offset).
  const int starts = layers - sample_layers + 1;
  const int first = std::clamp(static_cast<int>(std::floor(block_offset * starts)), 0, starts - 1);
  for (int i = first; i < first + sample_layers; ++i) chosen[static_cast<size_t>(i)] = true;
  return chosen;
}

double sample_block_offset(uint64_t n) {
  const double golden = 0.6180339887498949;  // (sqrt(5) - 1) / 2
  return std::fmod(0.5 + static_cast<double>(n) * golden, 1.0);
}

std::vector<Op> sample_ops(const hw::NpuConfig& npu, const std::vector<Op>& full, int sample_layers,
                           int sample_tiles, double block_offset) {
  const std::vector<bool> chosen = sampled_layers(stack_layers(full), sample_layers, block_offset);
  std::vector<Op> sampled;
  // What is left out stays in the list to be placed in DRAM (placement_only), so that every simulated operator
  // lands where it would in the whole phase.
  const auto placed_only = [&](const Op& op) {
    sampled.push_back(op);
    sampled.back().placement_only = true;
  };
  for (const Op& op : full) {
    if (op.layer >= 0) {
      if (chosen[static_cast<size_t>(op.layer)]) {
        sampled.push_back(op);
      } else {
        placed_only(op);
      }
      continue;
    }
    const hw::TilePlan plan = plan_of(npu, op);
    // Enough tiles that some marks lie between the prefetched head and the tail (extended_units).
    const uint64_t tiles = std::max<uint64_t>(static_cast<uint64_t>(sample_tiles), 2 * prefetched_tiles(npu) + 3);
    if (op.kind == workloads::OpKind::kLinear && plan.tiles > tiles) {
      placed_only(op);  // the whole tensor's region first, then the rows simulated in it
      sampled.push_back(workloads::with_rows(op, plan.rows_per_tile * tiles));
    } else {
      sampled.push_back(op);
    }
  }
  return sampled;
}

bool steady(const std::vector<hw::Mark>& marks, double tolerance) {
  if (marks.size() < 3) return true;  // one period or none: nothing to compare
  // The mean period over the first and over the second half of the units after the first, each against the
  // mean over all of them: single units may wait out a refresh, a drifting mean is what rules out extension.
  const size_t periods = marks.size() - 1, half = periods / 2;
  const auto mean = [&](size_t from, size_t to) {  // periods [from, to): marks[from] to marks[to]
    return static_cast<double>(marks[to].elapsed_ps - marks[from].elapsed_ps) / static_cast<double>(to - from);
  };
  const double all = mean(0, periods);
  return std::fabs(mean(0, half) - all) <= tolerance * all &&
         std::fabs(mean(half, periods) - all) <= tolerance * all;
}

namespace {

// The units a sampled phase is extended by: the layers (when some were left out) and the tiles of each sampled
// operator, each with the marks that measure its period and how many units are missing (tiles counted in rows:
// the whole operator's last one may be short). An operator's first tiles may have been fetched while the units
// before it ran (one per SRAM buffer), so its period is measured from the mark of the last of them on; a layer
// holds many tiles, and one layer warms the pipeline.
struct Unit {
  std::vector<hw::Mark> marks;
  double missing = 0;
  bool layers = false;
};

std::vector<Unit> extended_units(const hw::NpuConfig& npu, const std::vector<Op>& full,
                                 const hw::PhaseStats& sampled) {
  std::vector<Unit> units;
  const double missing_layers =
      static_cast<double>(stack_layers(full)) - static_cast<double>(sampled.layer_ends.size());
  if (missing_layers > 0) units.push_back({sampled.layer_ends, missing_layers, true});
  for (const hw::OpTileMarks& marks : sampled.op_tiles) {
    for (const Op& op : full) {
      if (op.layer >= 0 || op.name != marks.op || op.kind != workloads::OpKind::kLinear) continue;
      const auto rows_per_tile = static_cast<double>(plan_of(npu, op).rows_per_tile);
      const double missing =
          (static_cast<double>(op.n) - static_cast<double>(marks.tiles.size()) * rows_per_tile) / rows_per_tile;
      if (missing <= 0) continue;
      const size_t prefetched = static_cast<size_t>(prefetched_tiles(npu)), size = marks.tiles.size();
      const size_t first = std::min(prefetched, size >= 2 ? size - 2 : 0);
      units.push_back(
          {std::vector<hw::Mark>(marks.tiles.begin() + static_cast<std::ptrdiff_t>(first), marks.tiles.end()),
           missing, false});
    }
  }
  return units;
}

}  // namespace

Steadiness steady(const hw::NpuConfig& npu, const std::vector<Op>& full, const hw::PhaseStats& sampled,
                  double tolerance) {
  Steadiness s;
  for (const Unit& unit : extended_units(npu, full, sampled)) {
    if (steady(unit.marks, tolerance)) continue;
    (unit.layers ? s.layers : s.tiles) = false;
  }
  return s;
}

hw::PhaseStats extend_to_full_phase(const hw::NpuConfig& npu, const std::vector<Op>& full,
                                    const hw::PhaseStats& exact, const hw::PhaseStats& sampled) {
  const hw::DramConfig& d = npu.dram;
  const bool refreshing = d.model == "command" && d.refresh != "none";
  // Refreshes fall due at channels x ranks per refresh interval.
  const double refreshes_per_ps =
      refreshing ? static_cast<double>(d.channels * d.ranks) /
                       (static_cast<double>(d.refresh_interval_cycles()) * d.command_clock_ps())
                 : 0;
  hw::PhaseStats s = sampled;
  double added_ps = 0;
  // The misses after a refresh come with the refreshes (a refresh closes a bank's open row and the stream reopens
  // it), and a unit's period is quantized by the refreshes that fall in it (a 3-bit Vicuna-7B layer on the HBM3
  // NPU takes 16384 or 18432 of them, 6% apart), so a unit adds its period's misses after refresh per refresh
  // times the refreshes that fall due in the time it adds, at most one per bank refreshed. A period with no
  // refresh in it (a stream that postponed them all) takes the whole sample's rate, a sample with none its own.
  double after_refresh = static_cast<double>(sampled.dram_row_misses_after_refresh);
  const double most_per_refresh = d.refresh == "per_bank" ? 1.0 : static_cast<double>(d.banks());
  const double sample_per_refresh =
      sampled.dram_refreshes > 0
          ? std::min(most_per_refresh, static_cast<double>(sampled.dram_row_misses_after_refresh) /
                                           static_cast<double>(sampled.dram_refreshes))
          : -1;  // none
  // Each missing unit adds the mean period between the first and the last mark, time and counters.
  for (const Unit& unit : extended_units(npu, full, sampled)) {
    const std::vector<hw::Mark>& marks = unit.marks;
    if (marks.size() < 2) throw std::logic_error("fast path: a sampled unit needs at least two marks");
    const double periods = static_cast<double>(marks.size() - 1);
    const double unit_ps =
        unit.missing * static_cast<double>(marks.back().elapsed_ps - marks.front().elapsed_ps) / periods;
    added_ps += unit_ps;
    const hw::PhaseCounters period = hw::counters_between(marks.front().counters, marks.back().counters);
    hw::add_scaled(&s, period, unit.missing / periods);
    const double unit_after = static_cast<double>(period.dram_row_misses_after_refresh) * unit.missing / periods;
    const double unit_refreshes = static_cast<double>(period.dram_refreshes) * unit.missing / periods;
    const double per_refresh =
        unit_refreshes > 0 ? std::min(most_per_refresh, unit_after / unit_refreshes) : sample_per_refresh;
    after_refresh += refreshing && per_refresh >= 0 ? per_refresh * unit_ps * refreshes_per_ps : unit_after;
  }
  s.end_ps = s.start_ps + sampled.time_ps() + static_cast<uint64_t>(std::llround(added_ps));
  // The core's marks pace the periods, so time extends right. A mark's DRAM counters are those right after the
  // streamer booked the unit's last tile (not what it booked ahead since: the last sampled layer's lead would be
  // the lm_head's first tiles, not a layer's, and MobileLLaMA's lm_head sampled by 8 tiles would take 60% of a
  // tile's bytes and activates a period). What the DRAM does per byte moved (row hits, misses, conflicts, ACTs,
  // PREs and their energy, the bits' energy) is the samples' rate times the exact bytes, but for the misses after
  // refresh (above).
  // Refreshes follow time, but a sample's count lags or leads it: a busy controller postpones up to
  // refresh_postpone of them and pulls up to refresh_pull_in in, so the ones owed when a sample ends were not
  // issued in it and the ones pulled in fell due after it. Every refresh falls due once per interval
  // and none is owed for ever, so the time added falls due at that rate.
  const double refresh_pj = d.refresh_command_pj();
  if (refreshing) {
    const auto due = static_cast<uint64_t>(std::llround(added_ps * refreshes_per_ps));
    s.dram_energy_pj +=
        (static_cast<double>(sampled.dram_refreshes + due) - static_cast<double>(s.dram_refreshes)) * refresh_pj;
    s.dram_refreshes = sampled.dram_refreshes + due;
  }
  const double extended_bytes = static_cast<double>(bus_bytes(s));
  if (extended_bytes > 0) {
    const double per_byte = static_cast<double>(bus_bytes(exact)) / extended_bytes;
    const double refresh_energy_pj = refreshing ? static_cast<double>(s.dram_refreshes) * refresh_pj : 0;
    s.dram_energy_pj = refresh_energy_pj + (s.dram_energy_pj - refresh_energy_pj) * per_byte;
    const double after_refresh_per_byte = static_cast<double>(s.dram_row_misses_after_refresh) * per_byte;
    for (uint64_t* v :
         {&s.dram_row_hits, &s.dram_row_misses, &s.dram_row_conflicts, &s.dram_activates, &s.dram_precharges}) {
      *v = static_cast<uint64_t>(std::llround(static_cast<double>(*v) * per_byte));
    }
    // Except the misses after a refresh (above), with their ACTs and the refreshes' PREs that closed their rows.
    const double delta = after_refresh - after_refresh_per_byte;
    const auto shift = [&](uint64_t* v) {
      *v = static_cast<uint64_t>(std::max<int64_t>(0, static_cast<int64_t>(*v) + std::llround(delta)));
    };
    for (uint64_t* v : {&s.dram_row_misses, &s.dram_activates, &s.dram_precharges}) shift(v);
    s.dram_row_misses_after_refresh = static_cast<uint64_t>(std::llround(after_refresh));
    s.dram_energy_pj += delta * d.energy.act_pj;  // an ACT's energy includes its PRE
  }
  copy_exact(exact, &s);
  return s;
}

hw::DramStats extend_dram_stats(const hw::DramStats& sampled, const hw::PhaseCounters& totals,
                                const std::vector<double>& read_latencies) {
  const auto ratio = [](uint64_t total, uint64_t part) {
    return part > 0 ? static_cast<double>(total) / static_cast<double>(part) : 0.0;
  };
  const auto scale = [](uint64_t v, double by) {
    return static_cast<uint64_t>(std::llround(static_cast<double>(v) * by));
  };
  const auto scale_all = [&](std::vector<uint64_t>* v, double by) {
    for (uint64_t& x : *v) x = scale(x, by);
  };
  hw::DramStats d = sampled;
  // Requests, drains and the latency sum are extended with the phases' periods (the DMA cuts requests at
  // absolute multiples of request_bytes, so their count depends on where tensors lie, unlike the bytes); the
  // latency distribution is every phase's, weighted to the reads it stands for (scaled as a whole, a run's 16
  // simulated prefills against its hundreds of predicted decode steps put the default run's p99 at 5984 ns
  // against the full simulation's 1412).
  d.reads = totals.dram_read_requests;
  d.writes = totals.dram_write_requests;
  d.write_drains = totals.dram_write_drains;
  d.read_latency_sum_ps = totals.dram_read_latency_sum_ps;
  if (!read_latencies.empty()) {
    d.read_latency_ns_histogram.assign(std::max(d.read_latency_ns_histogram.size(), read_latencies.size()), 0);
    for (size_t bin = 0; bin < read_latencies.size(); ++bin) {
      d.read_latency_ns_histogram[bin] = static_cast<uint64_t>(std::llround(read_latencies[bin]));
    }
  } else {
    scale_all(&d.read_latency_ns_histogram, ratio(d.reads, sampled.reads));
  }
  d.read_bytes = totals.dram_read_bytes;
  d.write_bytes = totals.dram_write_bytes;
  d.busy_ps = totals.dram_busy_ps;
  scale_all(&d.channel_bytes, ratio(d.read_bytes + d.write_bytes, sampled.read_bytes + sampled.write_bytes));
  d.row_hits = totals.dram_row_hits;
  d.row_misses = totals.dram_row_misses;
  d.row_misses_after_refresh = totals.dram_row_misses_after_refresh;
  d.row_conflicts = totals.dram_row_conflicts;
  scale_all(&d.channel_row_hits, ratio(d.row_hits, sampled.row_hits));
  scale_all(&d.channel_row_misses, ratio(d.row_misses, sampled.row_misses));
  scale_all(&d.channel_row_conflicts, ratio(d.row_conflicts, sampled.row_conflicts));
  d.activates = totals.dram_activates;
  d.precharges = totals.dram_precharges;
  d.refreshes = totals.dram_refreshes;
  scale_all(&d.channel_refreshes, ratio(d.refreshes, sampled.refreshes));
  d.energy_pj = totals.dram_energy_pj;
  return d;
}

bool StepPredictor::predict(const std::string& key, uint64_t context_tokens, const hw::PhaseStats& exact,
                            hw::PhaseStats* out) const {
  const auto found = simulated_.find(key);
  if (found == simulated_.end()) return false;
  // The simulated step nearest in context length.
  const std::map<uint64_t, hw::PhaseStats>& steps = found->second;
  auto nearest = steps.lower_bound(context_tokens);
  if (nearest == steps.end() ||
      (nearest != steps.begin() && context_tokens - std::prev(nearest)->first < nearest->first - context_tokens)) {
    nearest = std::prev(nearest);
  }
  const uint64_t distance =
      nearest->first > context_tokens ? nearest->first - context_tokens : context_tokens - nearest->first;
  if (distance >= static_cast<uint64_t>(stride_tokens_)) return false;
  const hw::PhaseStats& anchor = nearest->second;
  // Time and the measured counters scale with the bytes (a bandwidth-bound step); the exact ones are exact.
  const double ratio =
      static_cast<double>(bus_bytes(exact)) / static_cast<double>(std::max<uint64_t>(bus_bytes(anchor), 1));
  if (std::abs(ratio - 1.0) > max_bytes_change_) return false;
  hw::PhaseStats s = anchor;
  hw::add_scaled(&s, anchor, ratio - 1.0);
  copy_exact(exact, &s);
  s.start_ps = 0;
  s.end_ps = static_cast<uint64_t>(std::llround(static_cast<double>(anchor.time_ps()) * ratio));
  *out = s;
  return true;
}

void StepPredictor::record(const std::string& key, uint64_t context_tokens, const hw::PhaseStats& stats) {
  simulated_[key][context_tokens] = stats;
}

}  // namespace npusim::sim

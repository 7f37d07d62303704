// The fast fidelity: the same simulation, sampled where the work repeats exactly.
//
// Layers: a decoder's layers are identical in shape, so once the pipeline is warm each layer takes the same time
// up to DRAM state: where its tensors fall in banks and rows, refresh, open rows (at command level, MobileLLaMA's
// layers differ by up to 2% in time and 5% in activates, layer by layer, the same in every step). A phase is
// simulated with `sample_layers` of its layers (plus everything outside the stack: embedding, final norm,
// lm_head), a block of consecutive ones: the first warms the pipeline, the others measure the period, each
// entered from its own predecessor; the core marks the end of every layer, the DRAM's counters are read where
// the streamer booked the layer's last tile (what it booked ahead belongs to the next unit), the period is the
// mean over the sampled layers after the first, and the phase is extended by that period and its counters for
// each layer left out. Successive samples of one configuration and format slide the block along the stack
// (block_offset), so that a run's samples average over where the tensors fall. The pipeline's fill and drain
// are simulated, not estimated. A large operator outside the stack (lm_head: hundreds of identical tiles) is
// sampled the same way, tile by tile.
//
// Decode steps: steps in one format differ only in the KV cache they read (context length). A step is simulated
// (layer-sampled) when no simulated step of the same configuration and format lies within `step_stride` context
// tokens and `step_max_bytes_change` of its DRAM bytes; otherwise it is the nearest simulated step scaled by the
// ratio of the two steps' exact DRAM bytes (a decode step is bandwidth-bound, and the KV cache that grows with the
// context is a small share of its bytes). Phases that move fewer than
// `min_sampled_bytes` are simulated whole: latency and DRAM state, not a period, decide their time.
//
// Exact in either case: DRAM bytes read and written (computed from the tiles and requests, hw::phase_bus_bytes),
// DRAM bus time, MACs, vector-unit cycles and tiles. Time and the other counters (row hits, commands, energy,
// stalls) are measured on the sample and extended with it, so they stay consistent with the time.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hw_models/npu.h"
#include "workloads/workloads.h"

namespace npusim::sim {

// Which of a stack's `layers` a sample of `sample_layers` simulates: all when there are no more; else a block of
// sample_layers consecutive layers, the first the warm-up, the others measured. `block_offset` in [0, 1) places
// the block: 0 at the bottom of the stack, towards 1 at the top (0.5: the middle).
std::vector<bool> sampled_layers(int layers, int sample_layers, double block_offset = 0.5);
// The block_offset of a configuration and format's sample number `n` (0, 1, ...): 0.5, then on by the golden
// ratio modulo 1 (a low-discrepancy sequence), so that however many samples a run takes, their blocks cover the
// stack evenly.
double sample_block_offset(uint64_t n);
// Which operators of `full` to simulate: those of the sampled layers, and those outside the stack, where a linear
// of more than `sample_tiles` tiles keeps only that many tiles' rows.
std::vector<workloads::Op> sample_ops(const hw::NpuConfig& npu, const std::vector<workloads::Op>& full,
                                      int sample_layers, int sample_tiles, double block_offset = 0.5);

// Whether marks of repeated units (layers, or one operator's tiles) show a steady state: the mean time of the
// units after the first, over the first half of them and over the second, each within `tolerance` (a fraction) of
// their mean over all.
bool steady(const std::vector<hw::Mark>& marks, double tolerance);
// Whether the units a sampled phase of `full` is extended by are steady: its layers, and the tiles of its sampled
// operators outside the stack.
struct Steadiness {
  bool layers = true, tiles = true;
  bool all() const { return layers && tiles; }
};
Steadiness steady(const hw::NpuConfig& npu, const std::vector<workloads::Op>& full, const hw::PhaseStats& sampled,
                  double tolerance);

// What is known of a whole phase without simulating it: DRAM bus bytes, bus time, MACs, vector-unit cycles and
// tiles (the other counters zero). Computed once per phase and passed to what follows.
// With `boundary_align_bytes`, also where the phase's ranges begin and end (hw::PhaseBusBytes).
hw::PhaseStats exact_of(const hw::NpuConfig& npu, const std::vector<workloads::Op>& full,
                        uint64_t* boundary_align_bytes = nullptr);

// The whole phase's statistics from a sampled simulation (`sampled`, with its marks) of `full`, whose exact part
// is `exact`: each missing layer adds the mean layer period and its counters; each missing tile of a sampled
// operator the mean tile period.
hw::PhaseStats extend_to_full_phase(const hw::NpuConfig& npu, const std::vector<workloads::Op>& full,
                                    const hw::PhaseStats& exact, const hw::PhaseStats& sampled);

// The run's DRAM statistics in fast fidelity: totals from the extended phases, and what only the
// samples show (the split over channels, the latency distribution) scaled from the samples to those totals.
// `read_latencies`: the phases' read requests by latency, each phase's weighted to the reads it stands for.
hw::DramStats extend_dram_stats(const hw::DramStats& sampled, const hw::PhaseCounters& totals,
                                const std::vector<double>& read_latencies);

// Decode steps simulated per (configuration, format), by context length, and the steps predicted from them.
class StepPredictor {
 public:
  StepPredictor(int64_t stride_tokens, double max_bytes_change)
      : stride_tokens_(stride_tokens), max_bytes_change_(max_bytes_change) {}

  // The simulated step of `key` (configuration and format) nearest `context_tokens`, if within the stride and the
  // bytes change, scaled to the step's exact bytes (`exact`, from exact_of); false when the step must be
  // simulated.
  bool predict(const std::string& key, uint64_t context_tokens, const hw::PhaseStats& exact,
               hw::PhaseStats* out) const;
  void record(const std::string& key, uint64_t context_tokens, const hw::PhaseStats& stats);

 private:
  int64_t stride_tokens_;
  double max_bytes_change_;
  std::map<std::string, std::map<uint64_t, hw::PhaseStats>> simulated_;
};

}  // namespace npusim::sim

// The engine binds a run (NPU + model + traces + configurations) to the SystemC NPU: it lowers each request's
// prefill and decode steps to operator lists in the configuration's formats, feeds them to the NPU one phase at
// a time, and gathers the measured statistics per request and per (trace, configuration).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/run_config.h"

namespace npusim::sim {

struct RequestResult {
  std::string id;
  int64_t prompt_tokens = 0;
  int64_t decode_steps = 0;
  uint64_t prefill_ps = 0;
  uint64_t decode_ps = 0;
  double decode_bits_sum = 0;                        // bits x steps over the decode steps
  int prefill_bits = 0;                              // as run (16: fp16)
  std::vector<std::pair<int, int64_t>> decode_bits;  // as run: [bits, steps] in order
};

// Sums over the requests of one trace under one configuration, plus the figures derived from them.
struct ConfigResult {
  std::string trace_file, model, task, scheduler, configuration, weights, bits;
  int64_t requests = 0, prompt_tokens = 0, decode_steps = 0, output_tokens = 0;
  uint64_t total_ps = 0, prefill_ps = 0, decode_ps = 0;
  uint64_t dram_read_bytes = 0, dram_write_bytes = 0, decode_dram_bytes = 0, dram_busy_ps = 0;
  uint64_t macs = 0, prefill_macs = 0, mac_busy_cycles = 0, dequant_busy_cycles = 0, vector_busy_cycles = 0;
  uint64_t tiles = 0, table_loads = 0, compute_wait_ps = 0, buffer_stall_ps = 0;
  uint64_t dram_row_hits = 0, dram_row_misses = 0, dram_row_conflicts = 0, dram_row_misses_after_refresh = 0;
  uint64_t dram_activates = 0, dram_precharges = 0, dram_refreshes = 0;
  double dram_command_energy_pj = 0, decode_dram_command_energy_pj = 0;
  double decode_bits_sum = 0;
  // Activation bytes read from and written to the activation SRAM (the lowering's activation plan; spills are
  // DRAM bytes), over the run and over the decode steps.
  uint64_t sram_activation_read_bytes = 0, sram_activation_write_bytes = 0;
  uint64_t decode_sram_activation_read_bytes = 0, decode_sram_activation_write_bytes = 0;
  hw::ClassCounters prefill_by_class{}, decode_by_class{};  // where the time went, by operator class
  std::vector<RequestResult> per_request;

  // Derived after the run (see derive_metrics).
  double samples_per_s = 0, decode_tokens_per_s = 0, ttft_ms = 0, tpot_ms = 0, mean_decode_bits = 0;
  double dram_bytes_per_token = 0, dram_utilisation = 0, mac_utilisation = 0;
  double decode_dram_utilisation = 0;   // the decode steps' bytes over peak bandwidth x their time
  std::string bound;                    // the unit busiest over the run (sim/breakdown.h)
  double memory_stall_share = 0;        // share of the time the compute units waited for data
  double compute_stall_share = 0;       // share of the time the DRAM idled because no SRAM buffer was free
  double dram_row_hit_rate = 0;         // hits / bursts (command model; 0 for the channel model)
  double dram_energy_mj = 0;            // commands, bits and background power over the whole run
  double dram_energy_per_token_mj = 0;  // the same over the decode steps, per decode step
  // On chip: MACs, and SRAM traffic (each byte from DRAM written into a tile buffer and read out of it once;
  // each byte to DRAM read out of SRAM once; the activations the operators read and write in the activation
  // SRAM), over the whole run and per decode step.
  double npu_energy_mj = 0, npu_energy_per_token_mj = 0;
  double speedup_over_fp16 = 0, speedup_over_uniform = 0;            // samples/s ratios
  double tpot_speedup_over_fp16 = 0, tpot_speedup_over_uniform = 0;  // time-per-output-token ratios
};

struct RunResults {
  std::string run_name, npu_name, model_name, dram_preset;
  double peak_dram_bytes_per_s = 0, peak_macs_per_s = 0, core_clock_mhz = 0;
  std::vector<ConfigResult> results;  // trace-major, configurations in run order
  uint64_t simulated_ps = 0;          // the modelled time of every phase of every configuration
  std::string fidelity;               // "full" or "fast"
  uint64_t simulated_phases = 0;      // phases the NPU simulated (fast: the others were predicted)
  uint64_t resimulated_phases = 0;    // fast: retries of samples that were not steady (4x the layers or tiles)
  hw::DramStats dram;  // the whole run's DRAM statistics, over what was simulated (fast: the samples only)
};

// Simulates every request of every trace under every configuration in one SystemC elaboration.
RunResults run_simulation(const RunConfig& run);

// Fills the derived figures of every result (speedups against the run's baselines within the same trace, or on
// the same model and task when the baseline configuration replays its own traces).
void derive_metrics(const RunConfig& run, RunResults* results);

}  // namespace npusim::sim

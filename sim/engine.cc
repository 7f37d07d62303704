#include "sim/engine.h"

#include <algorithm>
#include <map>
#include <optional>

#include "hw_models/dram/address_mapping.h"
#include "hw_models/tiling.h"
#include "sim/breakdown.h"
#include "sim/fast_path.h"

namespace npusim::sim {

using workloads::Op;
using workloads::PrecisionFormat;

namespace {

// Walks trace -> configuration -> request -> phase (prefill, then one phase per decode step) and lowers each
// phase only when the NPU asks for it.
class RunWorkSource : public hw::IWorkSource {
 public:
  RunWorkSource(const RunConfig& run, RunResults* results)
      : run_(run),
        results_(results),
        fast_(run.fidelity == "fast"),
        steps_(run.step_stride, run.step_max_bytes_change) {
    if (run.npu.dram.model == "command") mapper_.emplace(run.npu.dram);
    skip_unreplayed();
    if (trace_ < run_.traces.size()) open_group();
  }

  const std::vector<Op>* next_phase() override {
    if (resimulate_) {
      // The last sample was not steady: the same phase again, with four times the layers or the tiles, whichever
      // drifted (a transient such as refreshes postponed at a stream's start settles within them), until steady
      // or whole.
      resimulate_ = false;
      resimulated_ = true;
      ++resimulated_phases_;
      return to_simulate();
    }
    while (trace_ < run_.traces.size()) {
      const traces::Trace& trace = run_.traces[trace_];
      if (request_ < trace.requests.size()) {
        const traces::Request& req = trace.requests[request_];
        const Configuration& config = run_.configurations[config_];
        if (step_ == 0) {
          const PrecisionFormat format = phase_format(config, trace.header, req.prefill_bits);
          bits_ = format.bits;
          full_ops_ = workloads::lower_prefill(run_.model_of(trace_), format,
                                               static_cast<uint64_t>(req.prompt_tokens), run_.lowering);
          sample_key_ =
              "prefill/" + run_.model_of(trace_).name + "/" + std::to_string(config_) + "/" + format.name();
          lowered();
          return to_simulate();
        }
        if (step_ <= req.decode_steps()) {
          bits_ = traced_bits(req, step_);
          const PrecisionFormat format = phase_format(config, trace.header, bits_);
          bits_ = format.bits;
          context_ = static_cast<uint64_t>(req.prompt_tokens + step_);
          full_ops_ = workloads::lower_decode_step(run_.model_of(trace_), format, context_, run_.lowering);
          // Steps predict each other only within one model, configuration and format.
          step_key_ = run_.model_of(trace_).name + "/" + std::to_string(config_) + "/" + format.name();
          sample_key_ = step_key_;
          lowered();
          hw::PhaseStats predicted;
          if (sampling_ && steps_.predict(step_key_, context_, exact_, &predicted)) {
            account(predicted);  // a step like one simulated nearby: no simulation
            continue;
          }
          return to_simulate();
        }
        ++request_;
        step_ = 0;
        continue;
      }
      request_ = 0;
      next_group();
      if (trace_ < run_.traces.size()) open_group();
    }
    return nullptr;
  }

  void phase_done(const hw::PhaseStats& simulated) override {
    if (!sampled_) {
      if (resimulated_ && anchors()) steps_.record(step_key_, context_, simulated);  // a whole step: an anchor
      resimulated_ = false;
      account(simulated);
      return;
    }
    const Steadiness steadiness = steady(run_.npu, full_ops_, simulated, run_.steady_tolerance);
    if (!steadiness.all()) {
      resimulate_ = true;
      if (!steadiness.layers) widen_layers_ *= 4;
      if (!steadiness.tiles) widen_tiles_ *= 4;
      return;
    }
    const hw::PhaseStats full = extend_to_full_phase(run_.npu, full_ops_, exact_, simulated);
    if (anchors()) steps_.record(step_key_, context_, full);
    resimulated_ = false;
    account(full);
  }

  // A sample runs on the channels lowered() chose (its streams are the same in the channels between them); a phase
  // simulated whole on as many as its ranges can begin or end in, where the channels' states are equal.
  uint64_t dram_channels_to_simulate() const override {
    return sampled_ ? channels_to_simulate_ : exact_channels_;
  }
  bool dram_channels_only_identical() const override { return !sampled_; }

  uint64_t simulated_phases() const { return simulated_phases_; }
  // Every phase's counters (extended or predicted in fast fidelity), summed over the run.
  const hw::PhaseCounters& totals() const { return totals_; }
  // Every phase's DRAM read requests by latency (1 ns bins), each phase's weighted to the reads it stands for.
  const std::vector<double>& read_latencies() const { return read_latencies_; }
  uint64_t resimulated_phases() const { return resimulated_phases_; }

 private:
  // Whether the decode step just simulated may stand for the steps near it: not the first step after a phase of
  // another kind (the prefill, or steps in another format), which starts from another DRAM state (refreshes
  // caught up while a compute-bound prefill left the DRAM idle, other rows open) and runs about 1% faster than
  // the steps after it on the HBM3 NPU; the step after it is simulated and stands for them.
  bool anchors() const { return step_ > 0 && previous_key_ == step_key_; }

  // DRAM bytes of one decoder layer (layer 0's operators; every layer has the same shapes).
  static uint64_t layer_bytes(const std::vector<Op>& ops) {
    uint64_t bytes = 0;
    for (const Op& op : ops) {
      if (op.layer == 0) bytes += op.dram_read_bytes() + op.dram_write_bytes();
    }
    return bytes;
  }

  // The operators the NPU simulates for the current phase: all of them, or (fast) a layer sample.
  const std::vector<Op>* to_simulate() {
    ++simulated_phases_;
    sampled_ = sampling_;
    if (!sampled_) return &full_ops_;
    // A compute-bound phase (its MACs at peak take longer than twice its bytes at peak) is steady from its first
    // layers on: it needs fewer of them.
    const double mac_s = static_cast<double>(exact_.macs) / run_.npu.peak_macs_per_s();
    const double byte_s = static_cast<double>(exact_.dram_read_bytes + exact_.dram_write_bytes) /
                          run_.npu.dram.peak_bandwidth_bytes_per_s();
    const bool compute_bound = mac_s > 2 * byte_s;
    int layers = compute_bound ? run_.compute_bound_sample_layers : run_.sample_layers;
    // Enough measured layers to move min_measured_bytes (layers differ with where their tensors fall), or for a
    // decode step that others are predicted from, which stands for up to hundreds of them,
    // anchor_min_measured_bytes.
    const uint64_t per_layer = layer_bytes(full_ops_);
    const auto min_measured = static_cast<uint64_t>(
        anchors() ? std::max(run_.min_measured_bytes, run_.anchor_min_measured_bytes) : run_.min_measured_bytes);
    if (per_layer > 0 && min_measured > 0) {
      const uint64_t measured = (min_measured + per_layer - 1) / per_layer;
      layers = static_cast<int>(
          std::min<uint64_t>(std::max<uint64_t>(static_cast<uint64_t>(layers), 1 + measured), uint64_t{1} << 20));
    }
    // A step that stands only for itself (the first after a phase of another kind) is a small share of the run.
    if (step_ > 0 && !anchors() && channels_to_simulate_ > 0 && run_.lone_step_sample_channels > 0) {
      channels_to_simulate_ =
          std::min(channels_to_simulate_, static_cast<uint64_t>(run_.lone_step_sample_channels));
    }
    if (compute_bound && channels_to_simulate_ > 0 && run_.compute_bound_sample_channels > 0) {
      channels_to_simulate_ =
          std::min(channels_to_simulate_, static_cast<uint64_t>(run_.compute_bound_sample_channels));
    }
    // Each sample of a configuration and format places its block of layers elsewhere in the stack (a phase
    // simulated again with more layers keeps its place).
    if (!resimulated_) offset_ = sample_block_offset(samples_of_[sample_key_]++);
    sampled_ops_ =
        sample_ops(run_.npu, full_ops_, layers * widen_layers_, run_.sample_tiles * widen_tiles_, offset_);
    // A sample that leaves nothing out is the whole phase.
    sampled_ =
        std::any_of(sampled_ops_.begin(), sampled_ops_.end(), [](const Op& op) { return op.placement_only; });
    return sampled_ ? &sampled_ops_ : &full_ops_;
  }

  // After lowering a phase (fast fidelity): what is exact about it, and whether it is sampled (enough bytes that
  // sampling pays and is stable).
  void lowered() {
    widen_layers_ = widen_tiles_ = 1;
    // A phase simulated whole (every phase in full fidelity) runs on as many channels as its ranges can begin or
    // end in, each standing for the channels up to the next one only while their states are equal: the result
    // of every channel, to the bit, in less time.
    exact_channels_ = 0;
    const bool mirror = mapper_ && run_.sample_channels > 0;
    if (!fast_) {
      if (mirror)
        exact_channels_ =
            mapper_->channels_at_alignment(hw::phase_bus_bytes(run_.npu, full_ops_).boundary_align_bytes);
      return;
    }
    uint64_t boundary_align_bytes = 0;
    exact_ = exact_of(run_.npu, full_ops_, &boundary_align_bytes);
    if (mirror) exact_channels_ = mapper_->channels_at_alignment(boundary_align_bytes);
    // As many channels as the phase's ranges can begin or end in (their boundaries' alignment across the
    // interleave), so that each of the others lies between two of them and gets exactly the bursts of the one
    // before; at most sample_channels.
    channels_to_simulate_ = 0;
    if (mapper_ && run_.sample_channels > 0) {
      channels_to_simulate_ = std::min(mapper_->channels_at_alignment(boundary_align_bytes),
                                       static_cast<uint64_t>(run_.sample_channels));
    }
    sampling_ = exact_.dram_read_bytes + exact_.dram_write_bytes >= static_cast<uint64_t>(run_.min_sampled_bytes);
  }

  // Adds a phase's statistics to the current request and configuration, then moves to the next phase.
  void account(const hw::PhaseStats& s) {
    ConfigResult& r = results_->results.back();
    const traces::Request& req = run_.traces[trace_].requests[request_];
    // Activation SRAM traffic follows from the phase's operators (the lowering's activation plan and the arrays
    // that run them), exactly.
    hw::SramBytes sram;
    for (const Op& op : full_ops_) {
      const hw::SramBytes b = hw::op_sram_bytes(run_.npu, op);
      sram.read += b.read;
      sram.write += b.write;
    }
    r.sram_activation_read_bytes += sram.read;
    r.sram_activation_write_bytes += sram.write;
    if (step_ > 0) {
      r.decode_sram_activation_read_bytes += sram.read;
      r.decode_sram_activation_write_bytes += sram.write;
    }
    if (step_ == 0) {
      r.per_request.push_back({req.id, req.prompt_tokens, req.decode_steps(), 0, 0, 0, bits_, {}});
      ++r.requests;
      r.prefill_macs += s.macs;
      r.prompt_tokens += req.prompt_tokens;
      r.decode_steps += req.decode_steps();
      r.output_tokens += req.output_tokens();
      r.prefill_ps += s.time_ps();
      r.per_request.back().prefill_ps = s.time_ps();
    } else {
      r.decode_ps += s.time_ps();
      r.decode_dram_bytes += s.dram_read_bytes + s.dram_write_bytes;
      r.decode_bits_sum += bits_;
      r.decode_dram_command_energy_pj += s.dram_energy_pj;
      r.per_request.back().decode_ps += s.time_ps();
      RequestResult& q = r.per_request.back();
      q.decode_bits_sum += bits_;
      if (q.decode_bits.empty() || q.decode_bits.back().first != bits_) q.decode_bits.emplace_back(bits_, 0);
      ++q.decode_bits.back().second;
    }
    r.total_ps += s.time_ps();
    r.dram_read_bytes += s.dram_read_bytes;
    r.dram_write_bytes += s.dram_write_bytes;
    r.dram_busy_ps += s.dram_busy_ps;
    r.macs += s.macs;
    r.mac_busy_cycles += s.mac_busy_cycles;
    r.dequant_busy_cycles += s.dequant_busy_cycles;
    r.vector_busy_cycles += s.vector_busy_cycles;
    r.tiles += s.tiles;
    r.table_loads += s.table_loads;
    r.compute_wait_ps += s.compute_wait_ps;
    r.dram_row_hits += s.dram_row_hits;
    r.dram_row_misses += s.dram_row_misses;
    r.dram_row_misses_after_refresh += s.dram_row_misses_after_refresh;
    r.dram_row_conflicts += s.dram_row_conflicts;
    r.dram_activates += s.dram_activates;
    r.dram_precharges += s.dram_precharges;
    r.dram_refreshes += s.dram_refreshes;
    r.dram_command_energy_pj += s.dram_energy_pj;
    r.buffer_stall_ps += s.buffer_stall_ps;
    hw::ClassCounters& by_class = step_ == 0 ? r.prefill_by_class : r.decode_by_class;
    for (size_t c = 0; c < by_class.size(); ++c) hw::add_counters(&by_class[c], s.by_class[c]);
    hw::add_scaled(&totals_, s, 1.0);
    // The phase's read latencies, weighted to the reads it stands for (a sample's or an anchor's stand for more).
    uint64_t measured = 0;
    for (const auto& bin : s.read_latency_bins) measured += bin.second;
    if (measured > 0) {
      const double weight = static_cast<double>(s.dram_read_requests) / static_cast<double>(measured);
      for (const auto& [bin, n] : s.read_latency_bins) {
        if (read_latencies_.size() <= bin) read_latencies_.resize(bin + 1, 0.0);
        read_latencies_[bin] += weight * static_cast<double>(n);
      }
    }
    previous_key_ = step_ == 0 ? std::string() : step_key_;
    ++step_;
  }

  // The bits of decode step `step` (1-based) in the request's run-length schedule.
  static int traced_bits(const traces::Request& req, int64_t step) {
    for (const traces::Segment& seg : req.decode) {
      if (step <= seg.steps) return seg.bits;
      step -= seg.steps;
    }
    return req.decode.back().bits;
  }

  // The next (trace, configuration) pair in trace-major order whose configuration replays the trace.
  void next_group() {
    advance();
    skip_unreplayed();
  }
  // From the current pair on, past those whose configuration does not replay the trace.
  void skip_unreplayed() {
    while (trace_ < run_.traces.size() && !run_.configurations[config_].replays(run_.trace_files[trace_]))
      advance();
  }
  void advance() {
    if (++config_ == run_.configurations.size()) {
      config_ = 0;
      ++trace_;
    }
  }

  void open_group() {
    const Configuration& c = run_.configurations[config_];
    ConfigResult r;
    r.trace_file = run_.trace_files[trace_];
    r.model = run_.model_of(trace_).name;
    r.task = run_.traces[trace_].header.task;
    r.scheduler = run_.traces[trace_].header.scheduler;
    r.configuration = c.name;
    r.weights = c.weights;
    r.bits = c.weights == "fp16" ? "16" : c.bits;
    results_->results.push_back(std::move(r));
  }

  const RunConfig& run_;
  RunResults* results_;
  size_t trace_ = 0, config_ = 0, request_ = 0;
  int64_t step_ = 0;
  int bits_ = 0;
  bool fast_ = false;
  bool sampling_ = false;  // the current phase is to be sampled (or predicted)
  bool sampled_ = false;   // the phase the NPU is simulating is a sample
  hw::PhaseStats exact_;   // the current phase's exact part (fast fidelity)
  uint64_t context_ = 0;
  std::string step_key_;
  std::string sample_key_;                      // the phase's kind, model, configuration and format
  std::map<std::string, uint64_t> samples_of_;  // per sample_key_: the samples simulated so far
  double offset_ = 0.5;                         // the current sample's block_offset
  std::string previous_key_;                    // step_key_ of the phase accounted last (empty: a prefill)
  hw::PhaseCounters totals_;                    // every phase's counters as accounted, summed
  std::vector<double> read_latencies_;          // read_latencies()
  std::vector<Op> full_ops_, sampled_ops_;
  StepPredictor steps_;
  std::optional<hw::AddressMapper> mapper_;  // command model: where a phase's ranges fall across the channels
  uint64_t simulated_phases_ = 0, resimulated_phases_ = 0;
  bool resimulate_ = false;            // the last sample was not steady: simulate its phase again, with more of it
  bool resimulated_ = false;           // the phase the NPU is simulating is such a phase
  uint64_t channels_to_simulate_ = 0;  // DRAM channels a sample runs on (0: all)
  uint64_t exact_channels_ = 0;        // DRAM channels a phase simulated whole runs on where states allow (0: all)
  int widen_layers_ = 1;               // the current phase's sample: this many times the layers
  int widen_tiles_ = 1;                // ... and this many times the tiles
};

double ratio(double a, double b) {
  return b > 0 ? a / b : 0;
}

// The result `r` is compared with: configuration `name` on the same trace, else (when that configuration replays
// other traces, e.g. with other output lengths) its one result on the same model and task.
const ConfigResult* baseline_of(const std::vector<ConfigResult>& all, const ConfigResult& r,
                                const std::string& name) {
  const ConfigResult* same_task = nullptr;
  size_t same_task_count = 0;
  for (const ConfigResult& b : all) {
    if (b.configuration != name) continue;
    if (b.trace_file == r.trace_file) return &b;
    if (b.model == r.model && b.task == r.task) {
      same_task = &b;
      ++same_task_count;
    }
  }
  return same_task_count == 1 ? same_task : nullptr;
}

}  // namespace

RunResults run_simulation(const RunConfig& run) {
  RunResults results;
  results.run_name = run.name;
  results.npu_name = run.npu.name;
  for (const workloads::ModelShape& m : run.models) {
    results.model_name += (results.model_name.empty() ? "" : ", ") + m.name;
  }
  results.dram_preset = run.npu.dram.preset;
  results.peak_dram_bytes_per_s = run.npu.dram.peak_bandwidth_bytes_per_s();
  results.peak_macs_per_s = run.npu.peak_macs_per_s();
  results.core_clock_mhz = run.npu.core_clock_mhz;
  RunWorkSource source(run, &results);
  const hw::SimulationEnd end = hw::simulate(run.npu, source);
  results.dram = end.dram;
  results.fidelity = run.fidelity;
  results.simulated_phases = source.simulated_phases();
  results.resimulated_phases = source.resimulated_phases();
  // The modelled time: every phase back to back (in full fidelity also the SystemC end time).
  for (const ConfigResult& r : results.results) results.simulated_ps += r.total_ps;
  if (run.fidelity == "fast") results.dram = extend_dram_stats(end.dram, source.totals(), source.read_latencies());
  derive_metrics(run, &results);
  return results;
}

void derive_metrics(const RunConfig& run, RunResults* results) {
  const double period_ps = static_cast<double>(run.npu.core_period_ps());
  for (ConfigResult& r : results->results) {
    const double total_s = static_cast<double>(r.total_ps) * 1e-12;
    const double decode_s = static_cast<double>(r.decode_ps) * 1e-12;
    const auto steps = static_cast<double>(r.decode_steps);
    r.samples_per_s = ratio(static_cast<double>(r.requests), total_s);
    r.decode_tokens_per_s = ratio(steps, decode_s);
    r.ttft_ms = ratio(static_cast<double>(r.prefill_ps) * 1e-9, static_cast<double>(r.requests));
    r.tpot_ms = ratio(decode_s * 1e3, steps);
    r.mean_decode_bits = ratio(r.decode_bits_sum, steps);
    r.dram_bytes_per_token = ratio(static_cast<double>(r.decode_dram_bytes), steps);
    r.dram_utilisation = ratio(static_cast<double>(r.dram_read_bytes + r.dram_write_bytes),
                               results->peak_dram_bytes_per_s * total_s);
    r.mac_utilisation = ratio(static_cast<double>(r.mac_busy_cycles), static_cast<double>(r.total_ps) / period_ps);
    r.decode_dram_utilisation =
        ratio(static_cast<double>(r.decode_dram_bytes), results->peak_dram_bytes_per_s * decode_s);
    r.bound = bound_name(run_shares(r, run.npu));
    r.memory_stall_share = ratio(static_cast<double>(r.compute_wait_ps), static_cast<double>(r.total_ps));
    r.compute_stall_share = ratio(static_cast<double>(r.buffer_stall_ps), static_cast<double>(r.total_ps));
    r.dram_row_hit_rate = ratio(static_cast<double>(r.dram_row_hits),
                                static_cast<double>(r.dram_row_hits + r.dram_row_misses + r.dram_row_conflicts));
    // Background power of every channel over the time: mW x s = mJ.
    const double background_mw = run.npu.dram.energy.background_mw * static_cast<double>(run.npu.dram.channels);
    r.dram_energy_mj = r.dram_command_energy_pj * 1e-9 + background_mw * total_s;
    r.dram_energy_per_token_mj = ratio(r.decode_dram_command_energy_pj * 1e-9 + background_mw * decode_s, steps);
    const hw::NpuConfig& npu = run.npu;
    const auto on_chip_pj = [&](uint64_t macs, uint64_t read_bytes, uint64_t write_bytes, uint64_t act_read_bytes,
                                uint64_t act_write_bytes) {
      return static_cast<double>(macs) * npu.mac_pj +
             static_cast<double>(read_bytes) * (npu.sram_write_pj_per_byte + npu.sram_read_pj_per_byte) +
             static_cast<double>(write_bytes) * npu.sram_read_pj_per_byte +
             static_cast<double>(act_read_bytes) * npu.sram_read_pj_per_byte +
             static_cast<double>(act_write_bytes) * npu.sram_write_pj_per_byte;
    };
    r.npu_energy_mj = on_chip_pj(r.macs, r.dram_read_bytes, r.dram_write_bytes, r.sram_activation_read_bytes,
                                 r.sram_activation_write_bytes) *
                      1e-9;
    hw::OpClassCounters decode;
    for (const hw::OpClassCounters& c : r.decode_by_class) hw::add_counters(&decode, c);
    r.npu_energy_per_token_mj =
        ratio(on_chip_pj(decode.macs, decode.dram_read_bytes, decode.dram_write_bytes,
                         r.decode_sram_activation_read_bytes, r.decode_sram_activation_write_bytes) *
                  1e-9,
              steps);
  }
  for (ConfigResult& r : results->results) {
    if (const ConfigResult* b = baseline_of(results->results, r, run.fp16_baseline)) {
      r.speedup_over_fp16 = ratio(r.samples_per_s, b->samples_per_s);
      r.tpot_speedup_over_fp16 = ratio(b->tpot_ms, r.tpot_ms);
    }
    if (const ConfigResult* b = baseline_of(results->results, r, run.uniform_baseline)) {
      r.speedup_over_uniform = ratio(r.samples_per_s, b->samples_per_s);
      r.tpot_speedup_over_uniform = ratio(b->tpot_ms, r.tpot_ms);
    }
  }
}

}  // namespace npusim::sim

// A run: one NPU, one or more models, one or more traces (each for one of the models), and the configurations to
// compare on every request of every trace (or of the traces a configuration names). Read from configs/runs/*.yaml
// through declared fields; paths inside are relative to the run file.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/config.h"
#include "hw_models/npu.h"
#include "sim/reference.h"
#include "traces/trace.h"
#include "workloads/workloads.h"

namespace npusim::sim {

// How one configuration picks each phase's weight format.
struct Configuration {
  std::string name;
  std::string weights;                   // "fp16", "anyprec" or "uniform"
  std::string bits;                      // "trace" (the request's own schedule), "high", "low" or a number
  int group_size = 0;                    // uniform (declared in run_config.cc)
  int parent_bits = 0;                   // anyprec: stored planes (declared in run_config.cc)
  std::vector<std::string> only_traces;  // glob patterns on trace file names; empty: every trace

  // Whether this configuration replays the trace in `trace_file` (its file name matches `only_traces`).
  bool replays(const std::string& trace_file) const;
};

struct RunConfig {
  std::string name;
  std::string file;  // where it was read from
  hw::NpuConfig npu;
  std::string npu_file;
  std::vector<std::pair<std::string, std::string>> npu_sets;  // the run file's npu_set: (assignment, where)
  std::vector<workloads::ModelShape> models;                  // one per model file
  std::vector<std::string> model_files;
  std::string model_name;  // overrides the name of the run's one model when set
  std::vector<std::string> trace_files;
  std::vector<traces::Trace> traces;
  std::vector<size_t> trace_models;  // per trace: its model (the one its header names) in `models`
  int64_t max_requests = 0;          // per trace; 0 = all
  workloads::LoweringOptions lowering;
  std::vector<Configuration> configurations;
  std::string fp16_baseline, uniform_baseline;  // configuration names the speedups divide by
  std::string fidelity;                         // "fast" (sampled layers and decode steps) or "full"
  int sample_layers = 0;                        // fast: decoder layers simulated per phase
  int compute_bound_sample_layers = 0;  // fast: the same for a phase whose MACs outlast its bytes twice over
  int sample_tiles = 0;                 // fast: tiles simulated of a large operator outside the stack
  int64_t step_stride = 0;              // fast: context tokens between simulated decode steps
  double step_max_bytes_change = 0;     // fast: ... and at most this fraction of a step's DRAM bytes between them
  int64_t sample_channels = 0;  // fast: the most command-level DRAM channels a layer sample runs on (0: all)
  int64_t compute_bound_sample_channels = 0;  // fast: the same for a phase whose MACs outlast its bytes twice over
  int64_t lone_step_sample_channels = 0;      // fast: the same for a decode step that stands only for itself
  int64_t min_sampled_bytes = 0;              // fast: phases moving fewer DRAM bytes are simulated whole
  int64_t min_measured_bytes = 0;             // fast: DRAM bytes a layer sample's measured layers move at least
  int64_t anchor_min_measured_bytes = 0;      // fast: the same for a decode step that others are predicted from
  double steady_tolerance = 0;                // fast: largest spread of sampled layer periods around their mean
  std::string reference_file;                 // published figures to set the results beside ("" when none)
  PublishedFigure reference;

  const workloads::ModelShape& model_of(size_t trace) const { return models.at(trace_models.at(trace)); }
};

// Loads a run file, applying --set overrides: "npu.X=V" edits the NPU document, "model.X=V" the model document
// (YAML models only), anything else the run document. Throws InputError naming file, line and key.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

// An override and how errors name it ("--set a.b=1", or a sweep spec's file, line and axis).
struct Override {
  std::string assignment;  // key.path=value
  std::string origin;
};
// Files that a series of runs share (a sweep's points), each read and parsed once.
struct RunFileCache {
  std::map<std::string, traces::Trace> traces;  // by resolved path
};
RunConfig load_run_config(const std::string& path, const std::vector<Override>& overrides,
                          RunFileCache* cache = nullptr);

// The format a configuration runs a phase in, given the trace header and the phase's traced bits.
workloads::PrecisionFormat phase_format(const Configuration& c, const traces::TraceHeader& header,
                                        int traced_bits);

// Lists the declared fields of the run document (for `npusim describe run`).
void describe_run_config(std::vector<FieldDoc>* docs);

}  // namespace npusim::sim

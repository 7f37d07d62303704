// A run: one NPU, one model, one or more traces, and the configurations to compare on every request of every
// trace. Read from configs/runs/*.yaml through declared fields; paths inside are relative to the run file.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/config.h"
#include "hw_models/npu.h"
#include "traces/trace.h"
#include "workloads/workloads.h"

namespace npusim::sim {

// How one configuration picks each phase's weight format.
struct Configuration {
  std::string name;
  std::string weights;  // "fp16", "anyprec" or "uniform"
  std::string bits;     // "trace" (the request's own schedule), "high", "low" or a number
  int group_size = 0;   // uniform (declared in run_config.cc)
  int parent_bits = 0;  // anyprec: stored planes (declared in run_config.cc)
};

struct RunConfig {
  std::string name;
  std::string file;  // where it was read from
  hw::NpuConfig npu;
  std::string npu_file;
  std::vector<std::pair<std::string, std::string>> npu_sets;  // the run file's npu_set: (assignment, where)
  workloads::ModelShape model;
  std::string model_file;
  std::string model_name;  // overrides model.name when set
  std::vector<std::string> trace_files;
  std::vector<traces::Trace> traces;
  int64_t max_requests = 0;  // per trace; 0 = all
  workloads::LoweringOptions lowering;
  std::vector<Configuration> configurations;
  std::string fp16_baseline, uniform_baseline;  // configuration names the speedups divide by
  std::string fidelity;                         // "fast" (sampled layers and decode steps) or "full"
  int sample_layers = 0;                        // fast: decoder layers simulated per phase
  int compute_bound_sample_layers = 0;  // fast: the same for a phase whose MACs outlast its bytes twice over
  int sample_tiles = 0;                 // fast: tiles simulated of a large operator outside the stack
  int64_t step_stride = 0;              // fast: context tokens between simulated decode steps
  int64_t min_sampled_bytes = 0;        // fast: phases moving fewer DRAM bytes are simulated whole
  double steady_tolerance = 0;          // fast: largest spread of sampled layer periods around their mean
};

// Loads a run file, applying --set overrides: "npu.X=V" edits the NPU document, "model.X=V" the model document
// (YAML models only), anything else the run document. Throws InputError naming file, line and key.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

// The format a configuration runs a phase in, given the trace header and the phase's traced bits.
workloads::PrecisionFormat phase_format(const Configuration& c, const traces::TraceHeader& header,
                                        int traced_bits);

// Lists the declared fields of the run document (for `npusim describe run`).
void describe_run_config(std::vector<FieldDoc>* docs);

}  // namespace npusim::sim

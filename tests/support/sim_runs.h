// Building runs for engine-level tests: an NPU config from configs/npu with overrides, a one-request trace, and a
// run over a model from configs/models.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "hw_models/npu.h"
#include "sim/run_config.h"
#include "traces/trace.h"
#include "workloads/workloads.h"

namespace npusim::sim {

inline const std::string kSource = NPUSIM_SOURCE_DIR;

inline hw::NpuConfig npu_from(const std::string& name, const std::vector<std::string>& sets = {}) {
  const std::string path = kSource + "/configs/npu/" + name + ".yaml";
  YAML::Node doc = load_yaml_file(path);
  for (const std::string& s : sets) apply_override(doc, s);
  ConfigSection section(doc, path);
  return hw::read_npu_config(section);
}

inline traces::Trace one_request_trace(const std::string& model, int64_t prompt,
                                       std::vector<traces::Segment> decode, std::vector<int> pair) {
  traces::Trace t;
  t.header.model = model;
  t.header.task = "test";
  t.header.scheduler = "static";
  t.header.precisions = pair;
  t.header.weight_format = "anyprec";
  traces::Request r;
  r.id = "test/0";
  r.prompt_tokens = prompt;
  r.prefill_bits = pair.front();
  r.decode = std::move(decode);
  t.requests.push_back(r);
  return t;
}

// The fast fidelity's parameters at the run file's defaults (declared in sim/run_config.cc); a RunConfig built in
// code has none.
inline void set_fast_path_defaults(RunConfig& run) {
  run.sample_layers = 3;
  run.sample_tiles = 8;
  run.compute_bound_sample_layers = 2;
  run.step_stride = 512;
  run.step_max_bytes_change = 0.02;
  run.min_sampled_bytes = int64_t{64} << 20;
  run.min_measured_bytes = int64_t{128} << 20;
  run.anchor_min_measured_bytes = int64_t{640} << 20;
  run.steady_tolerance = 0.1;
  run.sample_channels = 8;
  run.compute_bound_sample_channels = 1;
  run.lone_step_sample_channels = 1;
}

inline RunConfig make_run(const hw::NpuConfig& npu, const std::string& model, const traces::Trace& trace,
                          std::vector<Configuration> configs) {
  RunConfig run;
  run.name = "test";
  run.npu = npu;
  run.models = {workloads::load_model_yaml(kSource + "/configs/models/" + model + ".yaml")};
  run.traces = {trace};
  run.trace_models = {0};
  run.trace_files = {"test.jsonl"};
  run.configurations = std::move(configs);
  run.fp16_baseline = run.configurations.front().name;
  run.uniform_baseline = run.configurations.front().name;
  return run;
}

}  // namespace npusim::sim

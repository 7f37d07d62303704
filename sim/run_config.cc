// Every field of a run document is declared here once, with its meaning and default.
#include "sim/run_config.h"

#include <cctype>
#include <filesystem>
#include <set>

#include "common/config.h"
#include "common/error.h"

namespace npusim::sim {

namespace fs = std::filesystem;

namespace {

// Paths inside a run file are relative to the run file's folder (so runs work from any working directory).
std::string resolve(const std::string& run_file, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(run_file).parent_path() / path).lexically_normal().string();
}

// A file the run names must exist; the error points at the run file's line that names it.
void require_file(const ConfigSection& s, const std::string& key, const std::string& file) {
  if (!fs::is_regular_file(file)) s.fail(s.node_of(key), key, "no such file: " + file);
}

Configuration read_configuration(ConfigSection& s) {
  Configuration c;
  c.name = s.text("name", "label in reports; unique within the run (letters, digits, - _ . +)", std::nullopt);
  for (char ch : c.name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && std::string("-_.+").find(ch) == std::string::npos) {
      s.fail(s.node_of("name"), "name", "'" + c.name + "' may hold only letters, digits and - _ . +");
    }
  }
  c.weights = s.choice("weights", "weight format family of the decoder linears", std::nullopt,
                       {"fp16", "anyprec", "uniform"});
  c.bits = s.text("bits",
                  "per-phase precision: 'trace' (the request's own prefill and decode schedule), 'high' or "
                  "'low' (the trace's precision pair, every phase), or a bit width; ignored for fp16",
                  std::string("trace"));
  c.group_size = static_cast<int>(
      s.integer("group_size", "weights", "uniform: weights per fp16 scale and zero along K", 128, 1, 1 << 20));
  c.parent_bits = static_cast<int>(
      s.integer("parent_bits", "bits", "anyprec: precision of the stored parent model (planes in DRAM)", 4, 1, 8));
  s.finish();
  if (c.bits != "trace" && c.bits != "high" && c.bits != "low") {
    char* end = nullptr;
    const long v = std::strtol(c.bits.c_str(), &end, 10);
    if (*end != '\0' || v < 1 || v > 8) {
      s.fail(s.node_of("bits"), "bits", "'" + c.bits + "' is not trace, high, low or a bit width 1..8");
    }
  }
  return c;
}

void read_run(ConfigSection& s, RunConfig* run) {
  run->name = s.text("name", "run name: results go to results/<name> unless --out says otherwise", std::nullopt);
  run->npu_file = s.text("npu", "NPU config (configs/npu/*.yaml), relative to this file", std::nullopt);
  const YAML::Node npu_set =
      s.list("npu_set", "NPU fields this run overrides, as key.path=value (before any --set npu.*)", false);
  if (!s.documenting()) {
    for (const auto& entry : npu_set) {
      if (!entry.IsScalar()) s.fail(entry, "npu_set", "expected key.path=value");
      run->npu_sets.emplace_back(
          entry.Scalar(), s.file() + ":" + std::to_string(entry.Mark().line + 1) + ": npu_set: " + entry.Scalar());
    }
  }
  run->model_file =
      s.text("model", "model shape: configs/models/*.yaml or a Hugging Face config.json, relative to this file",
             std::nullopt);
  run->model_name = s.text("model_name",
                           "the model's name in reports, which every trace's header must match (default: the "
                           "name in the model file; a Hugging Face config.json is named after its folder)",
                           std::string());
  const YAML::Node trace_list = s.list("traces", "pmpd-trace files to replay, relative to this file", true);
  if (!s.documenting()) {
    if (trace_list.size() == 0) s.fail(trace_list, "traces", "expected at least one trace");
    for (const auto& t : trace_list) {
      if (!t.IsScalar()) s.fail(t, "traces", "expected a file path");
      run->trace_files.push_back(t.Scalar());
    }
  }
  run->max_requests =
      s.integer("max_requests", "requests", "requests replayed per trace (0: all)", 0, 0, int64_t{1} << 40);
  run->fidelity = s.choice("fidelity",
                           "full: every DRAM command and every tile of every phase simulated; fast: a phase's "
                           "first layers (and a large operator's first tiles) simulated and the steady-state "
                           "period extended to the rest, and a decode step simulated only every step_stride "
                           "context tokens per format (the others scaled by their exact DRAM bytes); byte counts "
                           "stay exact (--fidelity)",
                           "fast", {"full", "fast"});
  ConfigSection fast = s.section("fast_path", "how --fidelity fast samples the simulation");
  run->sample_layers = static_cast<int>(fast.integer(
      "sample_layers", "layers",
      "decoder layers simulated per phase: the first warms the pipeline, the others measure the period (layers "
      "differ by a few percent with where their tensors fall in the banks; six keep Vicuna-7B within 0.4%)",
      6, 2, 1024));
  run->compute_bound_sample_layers = static_cast<int>(fast.integer(
      "compute_bound_sample_layers", "layers",
      "decoder layers simulated per phase when its MACs at peak rate take more than twice its DRAM bytes at peak "
      "bandwidth (a long prefill): the MAC array sets the pace and the layers are steady from the start",
      3, 2, 1024));
  run->sample_tiles = static_cast<int>(fast.integer(
      "sample_tiles", "tiles",
      "tiles simulated of a linear outside the decoder stack (lm_head); its other tiles take the mean "
      "period of the simulated ones after the first",
      8, 2, 1 << 20));
  run->step_stride = fast.integer("step_stride", "tokens",
                                  "a decode step is simulated when no simulated step of the same configuration "
                                  "and format lies within this many context tokens (the others scale with their "
                                  "exact bytes: within 0.4% of the full simulation on the tested models)",
                                  64, 1, int64_t{1} << 30);
  run->min_sampled_bytes = fast.integer(
      "min_sampled_bytes", "bytes",
      "phases that move fewer DRAM bytes are simulated whole, never sampled or predicted: their time is latency "
      "and DRAM state more than bandwidth, and simulating them costs little",
      int64_t{64} << 20, 0, int64_t{1} << 50);
  run->steady_tolerance =
      fast.real("steady_tolerance", "fraction",
                "a sample is steady when the mean period of its layers (or an operator's tiles) after the first, "
                "over the first half and over the second, lies within this fraction of the mean over all; a phase "
                "whose sample is not is simulated again whole",
                0.1, 0, 10);
  fast.finish();
  ConfigSection lowering = s.section("lowering", "what the model lowering quantizes and keeps");
  run->lowering.quantize_lm_head =
      lowering.flag("quantize_lm_head", "lm_head in the configuration's format (PMPD keeps it fp16)", false);
  run->lowering.kv_cache_bits =
      static_cast<int>(lowering.integer("kv_cache_bits", "bits", "bits per KV-cache element", 16, 1, 32));
  lowering.finish();
  const YAML::Node configs = s.list("configurations", "the configurations compared on every request", true);
  if (!s.documenting()) {
    if (configs.size() == 0) s.fail(configs, "configurations", "expected at least one configuration");
    for (size_t i = 0; i < configs.size(); ++i) {
      ConfigSection c(configs[i], s.file(), "configurations[" + std::to_string(i) + "]");
      run->configurations.push_back(read_configuration(c));
      for (size_t j = 0; j + 1 < run->configurations.size(); ++j) {
        if (run->configurations[j].name == run->configurations.back().name) {
          c.fail(configs[i], "name", "'" + run->configurations.back().name + "' is used twice");
        }
      }
    }
  }
  ConfigSection baselines = s.section("baselines", "which configurations the speedups divide by");
  run->fp16_baseline = baselines.text("fp16", "configuration named as the fp16 baseline", std::string("fp16"));
  run->uniform_baseline =
      baselines.text("uniform", "configuration named as the uniform baseline", std::string("uniform"));
  baselines.finish();
  s.finish();
}

}  // namespace

void describe_run_config(std::vector<FieldDoc>* docs) {
  RunConfig run;
  ConfigSection s = ConfigSection::for_docs(docs);
  read_run(s, &run);
  ConfigSection c = ConfigSection::for_docs(docs, "configurations[]");
  read_configuration(c);
}

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node run_doc = load_yaml_file(path);
  std::vector<std::string> npu_sets, model_sets;
  for (const std::string& o : overrides) {
    if (o.rfind("npu.", 0) == 0 || o.rfind("model.", 0) == 0) {
      (o[0] == 'n' ? npu_sets : model_sets).push_back(o);
    } else {
      apply_override(run_doc, o);
    }
  }
  RunConfig run;
  run.file = path;
  ConfigSection s(run_doc, path);
  read_run(s, &run);

  run.npu_file = resolve(path, run.npu_file);
  require_file(s, "npu", run.npu_file);
  YAML::Node npu_doc = load_yaml_file(run.npu_file);
  for (const auto& [assignment, origin] : run.npu_sets) apply_override(npu_doc, assignment, origin);
  for (const std::string& o : npu_sets) apply_override(npu_doc, o.substr(4), "--set " + o);
  ConfigSection npu(npu_doc, run.npu_file);
  run.npu = hw::read_npu_config(npu);

  run.model_file = resolve(path, run.model_file);
  require_file(s, "model", run.model_file);
  if (!model_sets.empty()) {
    if (fs::path(run.model_file).extension() == ".json") {
      throw InputError("--set " + model_sets.front() + ": only YAML models can be overridden");
    }
    YAML::Node model_doc = load_yaml_file(run.model_file);
    for (const std::string& o : model_sets) apply_override(model_doc, o.substr(6), "--set " + o);
    ConfigSection m(model_doc, run.model_file);
    run.model = workloads::read_model_config(m);
  } else {
    run.model = workloads::load_model(run.model_file);
  }

  if (!run.model_name.empty()) run.model.name = run.model_name;
  std::set<std::string> formats_seen;
  for (std::string& t : run.trace_files) {
    t = resolve(path, t);
    require_file(s, "traces", t);
    run.traces.push_back(traces::read_trace(t));
    traces::Trace& trace = run.traces.back();
    if (trace.header.model != run.model.name) {
      throw InputError(t + ":1: model: the trace is for '" + trace.header.model + "' but the run's model is '" +
                       run.model.name + "' (set model_name in the run file if they are the same model)");
    }
    if (run.max_requests > 0 && static_cast<int64_t>(trace.requests.size()) > run.max_requests) {
      trace.requests.resize(static_cast<size_t>(run.max_requests));
    }
    // Every bit width the trace uses must be runnable by every configuration that follows the trace.
    for (const Configuration& c : run.configurations) {
      if (c.bits != "trace" || c.weights == "fp16") continue;
      std::vector<int> allowed{16};
      const int top = c.weights == "anyprec" ? c.parent_bits : 8;
      for (int b = 1; b <= top; ++b) allowed.push_back(b);
      traces::check_bits(trace, t, allowed);
    }
    for (size_t i = 0; i < trace.requests.size(); ++i) {
      const traces::Request& req = trace.requests[i];
      const std::string where = t + ":" + std::to_string(i + 2) + ": ";
      const int64_t positions = req.prompt_tokens + req.decode_steps();
      if (positions > run.model.max_position_embeddings) {
        throw InputError(where + "prompt_tokens + decode steps = " + std::to_string(positions) +
                         " exceeds the model's max_position_embeddings (" +
                         std::to_string(run.model.max_position_embeddings) + ")");
      }
      // Every phase format of every configuration must exist (e.g. 'bits: high' within parent_bits).
      for (const Configuration& c : run.configurations) {
        try {
          formats_seen.insert(phase_format(c, trace.header, req.prefill_bits).name());
          for (const traces::Segment& seg : req.decode) {
            formats_seen.insert(phase_format(c, trace.header, seg.bits).name());
          }
        } catch (const InputError& e) {
          throw InputError(where + "configuration '" + c.name + "': " + e.what());
        }
      }
    }
  }
  // Every format's largest weight row must fit one SRAM tile buffer.
  for (const std::string& f : formats_seen) {
    const auto ops =
        workloads::lower_decode_step(run.model, workloads::PrecisionFormat::parse(f, "format"), 1, run.lowering);
    hw::check_tiles_fit(run.npu, ops, run.npu_file);
  }
  for (const std::string& name : {run.fp16_baseline, run.uniform_baseline}) {
    bool found = false;
    for (const Configuration& c : run.configurations) found = found || c.name == name;
    if (!found) s.fail(s.node_of("baselines"), "baselines", "no configuration is named '" + name + "'");
  }
  return run;
}

workloads::PrecisionFormat phase_format(const Configuration& c, const traces::TraceHeader& header,
                                        int traced_bits) {
  if (c.weights == "fp16") return workloads::PrecisionFormat::fp16();
  int bits = traced_bits;
  if (c.bits == "high") {
    bits = header.precisions.front();
  } else if (c.bits == "low") {
    bits = header.precisions.back();
  } else if (c.bits != "trace") {
    bits = std::stoi(c.bits);
  }
  if (bits == 16) return workloads::PrecisionFormat::fp16();
  if (c.weights == "uniform") return workloads::PrecisionFormat::uniform(bits, c.group_size);
  return workloads::PrecisionFormat::anyprec(bits, c.parent_bits);
}

}  // namespace npusim::sim

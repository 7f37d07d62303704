// Every field of a run document is declared here once, with its meaning and default.
#include "sim/run_config.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <utility>

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

// The run's trace files, resolved, with glob patterns in file names expanded (sorted; a pattern matching nothing
// is an error).
std::vector<std::string> expand_trace_files(const ConfigSection& s, const std::string& run_file,
                                            const std::vector<std::string>& entries) {
  std::vector<std::string> out;
  for (const std::string& entry : entries) {
    const std::string resolved = resolve(run_file, entry);
    const fs::path p(resolved);
    const std::string pattern = p.filename().string();
    if (pattern.find_first_of("*?") == std::string::npos) {
      out.push_back(resolved);
      continue;
    }
    std::vector<std::string> matched;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(p.parent_path(), ec)) {
      const std::string name = f.path().filename().string();
      if (f.is_regular_file() && fnmatch(pattern.c_str(), name.c_str(), 0) == 0) {
        matched.push_back((p.parent_path() / name).string());
      }
    }
    if (matched.empty()) s.fail(s.node_of("traces"), "traces", "no file matches " + resolved);
    std::sort(matched.begin(), matched.end());
    out.insert(out.end(), matched.begin(), matched.end());
  }
  return out;
}

// A name that becomes a file or folder name: letters, digits and - _ . +, and not "." or ".." (a run named
// "../x" or "/tmp/x" would write outside results/).
void require_plain_name(ConfigSection& s, const std::string& key, const std::string& name) {
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && std::string("-_.+").find(ch) == std::string::npos) {
      s.fail(s.node_of(key), key, "'" + name + "' may hold only letters, digits and - _ . +");
    }
  }
  if (name == "." || name == "..") s.fail(s.node_of(key), key, "'" + name + "' is not a name");
}

Configuration read_configuration(ConfigSection& s) {
  Configuration c;
  c.name = s.text("name", "label in reports; unique within the run (letters, digits, - _ . +)", std::nullopt);
  require_plain_name(s, "name", c.name);
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
  const YAML::Node only = s.list("only_traces",
                                 "replay only the traces whose file name (not its folder) matches one of these "
                                 "glob patterns (* and ?), e.g. '*_fp16.jsonl' (default: every trace)",
                                 false);
  if (!s.documenting()) {
    for (const auto& pattern : only) {
      if (!pattern.IsScalar() || pattern.Scalar().empty())
        s.fail(pattern, "only_traces", "expected a glob pattern");
      c.only_traces.push_back(pattern.Scalar());
    }
  }
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
  run->name = s.text(
      "name", "run name: results go to results/<name> unless --out says otherwise (letters, digits, - _ . +)",
      std::nullopt);
  if (!s.documenting()) require_plain_name(s, "name", run->name);
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
  const std::string model_file = s.text(
      "model",
      "model shape: configs/models/*.yaml or a Hugging Face config.json, relative to this file (or: models)",
      std::string());
  const YAML::Node model_list =
      s.list("models", "several model shapes, one per trace family: each trace runs on the model its header names",
             false);
  if (!s.documenting()) {
    if (!model_file.empty()) run->model_files.push_back(model_file);
    for (const auto& m : model_list) {
      if (!m.IsScalar()) s.fail(m, "models", "expected a file path");
      run->model_files.push_back(m.Scalar());
    }
    if (model_file.empty() == (model_list.size() == 0)) {
      s.fail(s.node_of(model_file.empty() ? "models" : "model"), "model",
             "expected exactly one of model (one file) and models (a list of files)");
    }
  }
  run->model_name = s.text("model_name",
                           "the model's name in reports, which every trace's header must match (default: the "
                           "name in the model file; a Hugging Face config.json is named after its folder); only "
                           "with a single model",
                           std::string());
  const YAML::Node trace_list = s.list(
      "traces",
      "pmpd-trace files to replay, relative to this file; a file name may hold the glob characters * and ? (the "
      "matching files of that folder, in name order)",
      true);
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
                           "full: every DRAM command and every tile of every phase simulated (channels whose "
                           "states are equal and whose bursts are the same mirror each other, to the bit); fast: "
                           "a phase's sampled layers (and a large operator's first tiles) simulated and the "
                           "steady-state "
                           "period extended to the rest, and a decode step simulated only every step_stride "
                           "context tokens (and step_max_bytes_change of its bytes) per format (the others scaled "
                           "by their exact DRAM bytes); byte counts "
                           "stay exact (--fidelity)",
                           "fast", {"full", "fast"});
  ConfigSection fast = s.section("fast_path", "how --fidelity fast samples the simulation");
  run->sample_layers = static_cast<int>(fast.integer(
      "sample_layers", "layers",
      "decoder layers simulated per phase, a block of consecutive ones: the first warms the pipeline, the others "
      "measure the period and show whether it drifts; the block moves along the stack from one sample of a "
      "configuration and format to the next (layers differ by a few percent with where their tensors fall in "
      "banks and rows); more when min_measured_bytes or anchor_min_measured_bytes asks for them",
      3, 2, 1024));
  run->compute_bound_sample_layers = static_cast<int>(fast.integer(
      "compute_bound_sample_layers", "layers",
      "decoder layers simulated per phase when its MACs at peak rate take more than twice its DRAM bytes at peak "
      "bandwidth (a long prefill): the MAC array sets the pace and the layers are steady from the start, so "
      "one period after the warm-up layer measures it",
      2, 2, 1024));
  run->sample_tiles = static_cast<int>(fast.integer(
      "sample_tiles", "tiles",
      "tiles simulated of a linear outside the decoder stack (lm_head); its other tiles take the mean "
      "period of the simulated ones after the first",
      8, 2, 1 << 20));
  run->step_stride = fast.integer("step_stride", "tokens",
                                  "a decode step is simulated when no simulated step of the same configuration "
                                  "and format lies within this many context tokens and step_max_bytes_change of "
                                  "its DRAM bytes (the others scale with their exact bytes)",
                                  512, 1, int64_t{1} << 30);
  run->step_max_bytes_change = fast.real(
      "step_max_bytes_change", "fraction",
      "a simulated decode step stands for another of the same configuration and format only while their exact "
      "DRAM bytes differ by at most this fraction (the KV cache grows with the context: fp16 Vicuna-7B steps "
      "change by 2% over 512 tokens, 3-bit ones by 2% over about 120)",
      0.02, 0, 1);
  run->sample_channels = fast.integer(
      "sample_channels", "channels",
      "command-level DRAM: the most channels a layer sample is simulated on. The channel-first interleave gives "
      "every channel the same banks, rows and columns at the "
      "same times, and the channels refresh on one schedule, so channels differ only where a range begins or "
      "ends inside a round of the interleave: a sample runs on as many evenly spaced channels as its ranges can "
      "begin or end in, each standing for the channels up to the next one (they mirror its counters), which is "
      "exact; above this many (small ranges such as biases end anywhere) the channels between differ by a burst "
      "per range. A phase simulated whole (every phase in full fidelity) runs on as many channels as its ranges "
      "can begin or end in, each standing for the channels up to the next only while their states are equal: "
      "the result of every channel, to the bit. A power of two; 0: every channel, in both fidelities",
      8, 0, int64_t{1} << 20);
  run->compute_bound_sample_channels = fast.integer(
      "compute_bound_sample_channels", "channels",
      "the most channels for a phase whose MACs at peak rate take more than twice its DRAM bytes at peak "
      "bandwidth: the MAC array sets its pace and the DRAM mostly waits for a free buffer, so one channel stands "
      "for all (on the README's default run at command level every figure moved by under 0.002%). A power of "
      "two; 0: as sample_channels (sample_channels 0 samples no phase's channels)",
      1, 0, int64_t{1} << 20);
  run->lone_step_sample_channels = fast.integer(
      "lone_step_sample_channels", "channels",
      "the most channels for a decode step that stands only for itself: the first after the prefill or after "
      "steps in another format, which starts from another DRAM state, predicts no other step and is one of a "
      "request's many (on the README's default run's first four fp16 requests the time per output token against "
      "the full simulation was the same to 0.01% on 1 channel as on 8). A power of two; 0: as sample_channels",
      1, 0, int64_t{1} << 20);
  for (const auto& [key, value] : {std::pair{"sample_channels", run->sample_channels},
                                   {"compute_bound_sample_channels", run->compute_bound_sample_channels},
                                   {"lone_step_sample_channels", run->lone_step_sample_channels}}) {
    if (!s.documenting() && (value & (value - 1)) != 0) {
      fast.fail(fast.node_of(key), key, "expected 0 or a power of two");
    }
  }
  run->min_sampled_bytes = fast.integer(
      "min_sampled_bytes", "bytes",
      "phases that move fewer DRAM bytes are simulated whole, never sampled or predicted: their time is latency "
      "and DRAM state more than bandwidth, and simulating them costs little",
      int64_t{64} << 20, 0, int64_t{1} << 50);
  run->min_measured_bytes = fast.integer(
      "min_measured_bytes", "bytes",
      "a layer sample's measured layers (those after the warm-up) move at least this many DRAM bytes: a small "
      "model's phase samples more layers than sample_layers (MobileLLaMA's 3-bit layers move 22 MB, and single "
      "layers differ by up to 5% in activates with where their tensors fall in banks and rows); 0: "
      "sample_layers alone",
      int64_t{128} << 20, 0, int64_t{1} << 50);
  run->anchor_min_measured_bytes = fast.integer(
      "anchor_min_measured_bytes", "bytes",
      "the same for a decode step that the steps after it are predicted from: it stands for up to hundreds of "
      "them, and a run has few (the README's default run 2 to 12 per configuration), so its sample averages over "
      "where the tensors fall itself (3-bit Vicuna-7B on the HBM3 NPU: activates per layer repeat every 8 "
      "layers of 80 MB, 2.2% apart; fp16 layers, 400 MB, differ by 0.1%)",
      int64_t{640} << 20, 0, int64_t{1} << 50);
  run->steady_tolerance = fast.real(
      "steady_tolerance", "fraction",
      "a sample is steady when the mean period of its layers (or an operator's tiles) after the first, "
      "over the first half and over the second, lies within this fraction of the mean over all; a phase "
      "whose sample is not is simulated again with four times the layers, or the tiles, whichever drifted, until "
      "steady or whole",
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
  run->reference_file =
      s.text("reference",
             "published figures (sim/reference.cc) that results.json carries and `npusim report` sets each result "
             "beside, relative to this file",
             std::string());
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
  std::vector<Override> typed;
  for (const std::string& o : overrides) typed.push_back({o, "--set " + o});
  return load_run_config(path, typed);
}

RunConfig load_run_config(const std::string& path, const std::vector<Override>& overrides, RunFileCache* cache) {
  YAML::Node run_doc = load_yaml_file(path);
  std::vector<Override> npu_sets, model_sets;
  for (const Override& o : overrides) {
    if (o.assignment.rfind("npu.", 0) == 0 || o.assignment.rfind("model.", 0) == 0) {
      (o.assignment[0] == 'n' ? npu_sets : model_sets).push_back(o);
    } else {
      apply_override(run_doc, o.assignment, o.origin);
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
  for (const Override& o : npu_sets) apply_override(npu_doc, o.assignment.substr(4), o.origin);
  ConfigSection npu(npu_doc, run.npu_file);
  run.npu = hw::read_npu_config(npu);
  // The NPU's SRAM decides what the lowering's activation plan spills.
  run.lowering.activation_buffer_bytes = static_cast<uint64_t>(run.npu.activation_buffer_bytes);
  run.lowering.attention_scratch_bytes = static_cast<uint64_t>(run.npu.attention_scratch_bytes);

  for (std::string& f : run.model_files) {
    f = resolve(path, f);
    require_file(s, run.model_files.size() == 1 ? "model" : "models", f);
    if (!model_sets.empty()) {
      if (fs::path(f).extension() == ".json") {
        throw InputError(model_sets.front().origin + ": only YAML models can be overridden");
      }
      YAML::Node model_doc = load_yaml_file(f);
      for (const Override& o : model_sets) apply_override(model_doc, o.assignment.substr(6), o.origin);
      ConfigSection m(model_doc, f);
      run.models.push_back(workloads::read_model_config(m));
    } else {
      run.models.push_back(workloads::load_model(f));
    }
  }
  if (!run.model_name.empty()) {
    if (run.models.size() != 1) s.fail(s.node_of("model_name"), "model_name", "expected a single model");
    run.models.front().name = run.model_name;
  }
  for (size_t i = 1; i < run.models.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (run.models[i].name == run.models[j].name) {
        s.fail(s.node_of("models"), "models", "two files describe the model '" + run.models[i].name + "'");
      }
    }
  }
  run.trace_files = expand_trace_files(s, path, run.trace_files);
  std::vector<std::set<std::string>> formats_seen(run.models.size());
  std::vector<int64_t> longest_prompt(run.models.size(), 0);  // per model, over the traces' requests
  for (const std::string& t : run.trace_files) {
    require_file(s, "traces", t);
    if (cache) {
      auto it = cache->traces.find(t);
      if (it == cache->traces.end()) it = cache->traces.emplace(t, traces::read_trace(t)).first;
      run.traces.push_back(it->second);
    } else {
      run.traces.push_back(traces::read_trace(t));
    }
    traces::Trace& trace = run.traces.back();
    size_t model = run.models.size();
    for (size_t m = 0; m < run.models.size(); ++m) {
      if (run.models[m].name == trace.header.model) model = m;
    }
    if (model == run.models.size()) {
      std::string names;
      for (const workloads::ModelShape& m : run.models) names += (names.empty() ? "'" : ", '") + m.name + "'";
      throw InputError(
          t + ":1: model: the trace is for '" + trace.header.model + "' but the run's model" +
          (run.models.size() == 1 ? " is " : "s are ") + names +
          (run.models.size() == 1 ? " (set model_name in the run file if they are the same model)" : ""));
    }
    run.trace_models.push_back(model);
    const workloads::ModelShape& shape = run.models[model];
    if (run.max_requests > 0 && static_cast<int64_t>(trace.requests.size()) > run.max_requests) {
      trace.requests.resize(static_cast<size_t>(run.max_requests));
    }
    bool replayed = false;
    for (const Configuration& c : run.configurations) replayed = replayed || c.replays(t);
    if (!replayed) {
      s.fail(s.node_of("traces"), "traces", t + ": no configuration replays this trace (see only_traces)");
    }
    // Every bit width the trace uses must be runnable by every configuration that follows the trace.
    for (const Configuration& c : run.configurations) {
      if (c.bits != "trace" || c.weights == "fp16" || !c.replays(t)) continue;
      std::vector<int> allowed{16};
      const int top = c.weights == "anyprec" ? c.parent_bits : 8;
      for (int b = 1; b <= top; ++b) allowed.push_back(b);
      traces::check_bits(trace, t, allowed);
    }
    for (size_t i = 0; i < trace.requests.size(); ++i) {
      const traces::Request& req = trace.requests[i];
      longest_prompt[model] = std::max(longest_prompt[model], req.prompt_tokens);
      const std::string where = t + ":" + std::to_string(i + 2) + ": ";
      const int64_t positions = req.prompt_tokens + req.decode_steps();
      if (positions > shape.max_position_embeddings) {
        throw InputError(where + "prompt_tokens + decode steps = " + std::to_string(positions) +
                         " exceeds the model's max_position_embeddings (" +
                         std::to_string(shape.max_position_embeddings) + ")");
      }
      // Every phase format of every configuration must exist (e.g. 'bits: high' within parent_bits).
      for (const Configuration& c : run.configurations) {
        if (!c.replays(t)) continue;
        try {
          formats_seen[model].insert(phase_format(c, trace.header, req.prefill_bits).name());
          for (const traces::Segment& seg : req.decode) {
            formats_seen[model].insert(phase_format(c, trace.header, seg.bits).name());
          }
        } catch (const InputError& e) {
          throw InputError(where + "configuration '" + c.name + "': " + e.what());
        }
      }
    }
  }
  // Every format's largest weight row must fit one SRAM tile buffer.
  for (size_t m = 0; m < run.models.size(); ++m) {
    for (const std::string& f : formats_seen[m]) {
      const workloads::PrecisionFormat format = workloads::PrecisionFormat::parse(f, "format");
      // The SRAM must hold what the activation plan needs (a FlashAttention block, an input row of a token
      // block); a decode step and the longest prompt need the most.
      const uint64_t prompt = static_cast<uint64_t>(std::max<int64_t>(longest_prompt[m], 1));
      std::vector<workloads::Op> ops;
      try {
        ops = workloads::lower_decode_step(run.models[m], format, 1, run.lowering);
        workloads::lower_prefill(run.models[m], format, prompt, run.lowering);
      } catch (const InputError& e) {
        throw InputError(run.npu_file + ": " + e.what() + " (" + run.models[m].name + ", prompts up to " +
                         std::to_string(prompt) + " tokens)");
      }
      hw::check_tiles_fit(run.npu, ops, run.npu_file);
    }
  }
  if (!run.reference_file.empty()) {
    run.reference_file = resolve(path, run.reference_file);
    require_file(s, "reference", run.reference_file);
    run.reference = load_published_figure(run.reference_file);
    // Every published bar must be one the run produces: a misspelt name would silently drop it from the report.
    for (const PublishedGroup& g : run.reference.groups) {
      for (const PublishedBar& b : g.bars) {
        bool found = false;
        for (size_t t = 0; t < run.traces.size() && !found; ++t) {
          if (run.model_of(t).name != g.model || run.traces[t].header.task != g.task) continue;
          for (const Configuration& c : run.configurations) {
            found = found || (c.name == b.configuration && c.replays(run.trace_files[t]));
          }
        }
        if (!found) {
          throw InputError(run.reference_file + ": the bar " + g.model + " / " + g.task + " / " + b.configuration +
                           " is not one the run simulates (no trace of that model and task that configuration "
                           "replays)");
        }
      }
    }
  }
  for (const std::string& name : {run.fp16_baseline, run.uniform_baseline}) {
    bool found = false;
    for (const Configuration& c : run.configurations) found = found || c.name == name;
    if (!found) s.fail(s.node_of("baselines"), "baselines", "no configuration is named '" + name + "'");
  }
  return run;
}

bool Configuration::replays(const std::string& trace_file) const {
  if (only_traces.empty()) return true;
  const std::string name = fs::path(trace_file).filename().string();
  for (const std::string& pattern : only_traces) {
    if (fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
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

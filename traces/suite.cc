// Trace suites: one assumptions file that expands into a synthetic trace for every bar of a comparison (e.g. the
// PMPD paper's figure: per task and model, an fp16, a uniform, a static-scheduler and a learned-scheduler trace).
// Every trace of one (task, model) group shares the task's seed, so its requests have the same prompts and the
// same drawn output lengths; a bar's stated output_scale is the only length difference between them.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <set>

#include "common/config.h"
#include "common/error.h"
#include "common/files.h"
#include "traces/synth_fields.h"
#include "traces/trace.h"

namespace npusim::traces {
namespace {

constexpr const char* kSuiteUsage = "usage: npusim trace suite ASSUMPTIONS.yaml -o DIR";

// The bars every group expands into, in file order.
const char* const kBars[] = {"fp16", "uniform", "static", "learned"};

struct TaskAssumptions {
  LengthDistribution prompt_tokens, output_tokens;
  uint64_t seed = 0;
  std::string notes;
};

TaskAssumptions read_task(ConfigSection s) {
  TaskAssumptions t;
  t.prompt_tokens =
      read_distribution(s.section("prompt_tokens", "prompt length, instruction template included, in tokens"));
  t.output_tokens = read_distribution(
      s.section("output_tokens", "tokens the reference (fp16) generation produces if uncapped; cut to M"));
  t.seed = static_cast<uint64_t>(
      s.integer("seed", "", "mt19937_64 seed of the task's lengths (every model and bar of the task shares it)",
                std::nullopt, 0, std::numeric_limits<int64_t>::max()));
  t.notes = s.text("notes", "the task's assumptions in words, copied into every trace's header", std::nullopt);
  s.finish();
  return t;
}

// One (task, model) group: its four bars.
std::vector<SuiteTrace> read_group(ConfigSection s, const std::map<std::string, TaskAssumptions>& tasks,
                                   int64_t requests) {
  SynthParams base;
  base.task = s.text("task", "task (a name in tasks)", std::nullopt);
  const auto task = tasks.find(base.task);
  if (task == tasks.end()) s.fail(s.node_of("task"), "task", "'" + base.task + "' is not a name in tasks");
  base.model = s.text("model", "model name, as the model file names it (e.g. vicuna-7b)", std::nullopt);
  base.precisions = read_list<int>(s, "precisions", "the precision pair, high first (e.g. [3, 2])", true);
  if (base.precisions.size() != 2 || base.precisions[1] >= base.precisions[0] || !valid_bits(base.precisions[0]) ||
      !valid_bits(base.precisions[1]) || base.precisions[0] == 16) {
    s.fail(s.node_of("precisions"), "precisions", "expected two bit widths in 1..8, high first (e.g. [3, 2])");
  }
  base.max_new_tokens =
      s.integer("max_new_tokens", "tokens", "M: generated tokens at most", std::nullopt, 1, kMaxSpecTokens);
  base.switch_step =
      s.integer("switch_step", "decode steps", "static scheduler N: decode steps 1..max(1, N) run high",
                std::nullopt, 0, kMaxSpecTokens);
  const std::vector<double> classes =
      read_list<double>(s, "learned_classes", "learned scheduler: P(switch after [0, M/3, 2M/3, M] steps)", true);
  double total = 0;
  bool negative = false;
  for (double q : classes) {
    total += q;
    negative = negative || !(q >= 0);
  }
  if (classes.size() != 4 || negative || std::fabs(total - 1.0) > 1e-3) {
    s.fail(s.node_of("learned_classes"), "learned_classes", "expected 4 non-negative probabilities summing to 1");
  }
  ConfigSection scale = s.section("output_scale",
                                  "per bar: its output lengths relative to the task's drawn ones (1: the same; "
                                  "the paper measured real generations, which differ between configurations)");
  double scales[4];
  for (int b = 0; b < 4; ++b) {
    scales[b] =
        scale.real(kBars[b], "", std::string("output length factor of the ") + kBars[b] + " bar", 1.0, 0.01, 100);
  }
  scale.finish();
  // A model's own generation length on the task, where it differs from the task's (e.g. a base model that rarely
  // stops).
  const bool own_outputs = s.has("output_tokens");
  ConfigSection output_section =
      s.section("output_tokens", "this model's own generation length on the task (default: the task's)");
  const LengthDistribution outputs = own_outputs ? read_distribution(output_section) : LengthDistribution{};
  if (!own_outputs) output_section.finish();
  const std::string notes =
      s.text("notes", "why this group's values (and any length difference) are what they are", std::string());
  s.finish();

  const TaskAssumptions& t = task->second;
  base.prompt_tokens = t.prompt_tokens;
  base.output_tokens = own_outputs ? outputs : t.output_tokens;
  base.seed = t.seed;
  base.requests = requests;
  std::vector<SuiteTrace> out;
  for (int b = 0; b < 4; ++b) {
    SuiteTrace st;
    st.bar = kBars[b];
    st.file_name = base.model + "_" + base.task + "_" + st.bar + ".jsonl";
    SynthParams& p = st.params;
    p = base;
    p.output_scale = scales[b];
    if (st.bar == "fp16") {
      p.scheduler = "fixed";
      p.precisions = {16};
      p.weight_format = "fp16";
    } else if (st.bar == "uniform") {
      p.scheduler = "fixed";  // every phase at the pair's high precision
    } else if (st.bar == "static") {
      p.scheduler = "static";
    } else {
      p.scheduler = "learned";
      p.class_probabilities = classes;
    }
    if (p.scheduler != "static") p.switch_step = 0;
    p.notes = t.notes + (notes.empty() ? "" : " Group: " + notes) + " Bar: " + st.bar + ", output_scale " +
              format_number(scales[b]) + ".";
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace

std::vector<SuiteTrace> load_trace_suite(const std::string& path) {
  const YAML::Node root = load_yaml_file(path);
  ConfigSection s(root, path);
  const int64_t requests = s.integer("requests", "requests", "requests per trace", std::nullopt, 1, 10000000);
  const YAML::Node task_list = s.list("tasks", "per task: name, length distributions, seed and notes", true);
  std::map<std::string, TaskAssumptions> tasks;
  for (size_t i = 0; i < task_list.size(); ++i) {
    ConfigSection t(task_list[i], path, "tasks[" + std::to_string(i) + "]");
    const std::string name =
        t.text("name", "task name, as the traces' header and request ids carry it", std::nullopt);
    if (tasks.count(name)) t.fail(t.node_of("name"), "name", "'" + name + "' is listed twice");
    tasks[name] = read_task(std::move(t));
  }
  const YAML::Node groups =
      s.list("groups", "per (task, model): precisions, M, N, learned classes, lengths", true);
  if (!groups.IsSequence() || groups.size() == 0) s.fail(groups, "groups", "expected a non-empty list");
  s.finish();
  std::vector<SuiteTrace> out;
  std::set<std::string> names;
  for (size_t i = 0; i < groups.size(); ++i) {
    const std::string where = "groups[" + std::to_string(i) + "]";
    for (SuiteTrace& t : read_group(ConfigSection(groups[i], path, where), tasks, requests)) {
      if (!names.insert(t.file_name).second) {
        s.fail(groups[i], where, "a second group for " + t.params.model + " on " + t.params.task);
      }
      out.push_back(std::move(t));
    }
  }
  return out;
}

int trace_suite_command(const std::vector<std::string>& args) {
  std::string spec, dir;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o" || args[i] == "--output") {
      if (i + 1 >= args.size() || args[i + 1].empty())
        throw InputError(args[i] + ": expected a folder (" + std::string(kSuiteUsage) + ")");
      dir = args[++i];
    } else if (args[i].size() > 1 && args[i][0] == '-') {
      throw InputError("trace suite: unknown flag '" + args[i] + "' (" + kSuiteUsage + ")");
    } else if (spec.empty()) {
      spec = args[i];
    } else {
      throw InputError("trace suite: unexpected argument '" + args[i] + "' (" + kSuiteUsage + ")");
    }
  }
  if (spec.empty() || dir.empty())
    throw InputError(std::string("trace suite: expected ASSUMPTIONS.yaml and -o DIR (") + kSuiteUsage + ")");
  const std::vector<SuiteTrace> suite = load_trace_suite(spec);
  // Every trace first (a fault leaves nothing written), then the files, each atomically.
  std::vector<std::pair<std::string, std::string>> files;
  for (const SuiteTrace& t : suite) {
    Trace trace = synthesize(t.params);
    trace.header.source["tool"] = "npusim trace suite";
    trace.header.source["assumptions"] = std::filesystem::path(spec).filename().string();
    trace.header.source["bar"] = t.bar;
    files.emplace_back(dir + "/" + t.file_name, write_trace(trace));
  }
  make_dirs(dir);
  write_files_atomic(files);
  std::cout << "wrote " << files.size() << " traces to " << dir << "\n";
  return 0;
}

}  // namespace npusim::traces

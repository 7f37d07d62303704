// `npusim trace synth` and `npusim trace stats`: thin command-line wrappers over synth.cc and stats.cc.
#include <fmt/format.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/flags.h"
#include "traces/trace.h"

namespace npusim::traces {
namespace {

constexpr const char* kSynthUsage = "usage: npusim trace synth SPEC.yaml [-o OUT.jsonl] [--seed N] [--requests N]";
constexpr const char* kStatsUsage = "usage: npusim trace stats TRACE.jsonl [--json]";

[[noreturn]] void usage_error(const std::string& what, const char* usage) {
  throw InputError(what + " (" + usage + ")");
}

// Splits "--flag=value" and "--flag value" alike; `i` moves past a consumed value.
struct Flag {
  std::string name;
  std::string inline_value;
  bool has_inline = false;
};

Flag split_flag(const std::string& arg) {
  const auto eq = arg.find('=');
  if (arg.rfind("--", 0) != 0 || eq == std::string::npos) return {arg, "", false};
  return {arg.substr(0, eq), arg.substr(eq + 1), true};
}

std::string flag_value(const std::vector<std::string>& args, size_t* i, const Flag& flag, const char* usage) {
  if (flag.has_inline) return flag.inline_value;
  if (*i + 1 >= args.size()) usage_error(flag.name + ": missing value", usage);
  return args[++*i];
}

uint64_t parse_count(const std::string& text, const std::string& flag, uint64_t min_value, const char* usage) {
  try {
    const uint64_t value = parse_count_flag(flag, text);
    if (value >= min_value) return value;
  } catch (const InputError&) {
    // reported below, with the usage
  }
  usage_error(flag + ": expected an integer >= " + std::to_string(min_value) + ", got '" + text + "'", usage);
}

}  // namespace

int trace_synth_command(const std::vector<std::string>& args) {
  std::string spec, output;
  bool have_seed = false, have_requests = false;
  uint64_t seed = 0, requests = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const Flag flag = split_flag(args[i]);
    if (flag.name == "-o" || flag.name == "--output") {
      output = flag_value(args, &i, flag, kSynthUsage);
      if (output.empty()) usage_error(flag.name + ": expected a file name", kSynthUsage);
    } else if (flag.name == "--seed") {
      seed = parse_count(flag_value(args, &i, flag, kSynthUsage), "--seed", 0, kSynthUsage);
      have_seed = true;
    } else if (flag.name == "--requests") {
      requests = parse_count(flag_value(args, &i, flag, kSynthUsage), "--requests", 1, kSynthUsage);
      if (requests > 10000000) usage_error("--requests: at most 10000000", kSynthUsage);
      have_requests = true;
    } else if (flag.name.size() > 1 && flag.name[0] == '-') {
      usage_error("trace synth: unknown flag '" + flag.name + "'", kSynthUsage);
    } else if (spec.empty()) {
      spec = args[i];
    } else {
      usage_error("trace synth: unexpected argument '" + args[i] + "' (one SPEC.yaml only)", kSynthUsage);
    }
  }
  if (spec.empty()) usage_error("trace synth: missing SPEC.yaml", kSynthUsage);
  SynthParams params = load_synth_spec(spec);
  // Overrides land in params, so the header's source.params records what was actually used.
  if (have_seed) params.seed = seed;
  if (have_requests) params.requests = static_cast<int64_t>(requests);
  const Trace trace = synthesize(params);
  if (output.empty()) {
    std::cout << write_trace(trace);
  } else {
    write_trace_file(trace, output);
    std::cout << "wrote " << trace.requests.size() << " requests to " << output << "\n";
  }
  return 0;
}

int trace_stats_command(const std::vector<std::string>& args) {
  std::string path;
  bool as_json = false;
  for (const std::string& arg : args) {
    if (arg == "--json") {
      as_json = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      usage_error("trace stats: unknown flag '" + arg + "'", kStatsUsage);
    } else if (path.empty()) {
      path = arg;
    } else {
      usage_error("trace stats: unexpected argument '" + arg + "' (one TRACE.jsonl only)", kStatsUsage);
    }
  }
  if (path.empty()) usage_error("trace stats: missing TRACE.jsonl", kStatsUsage);
  const Trace trace = read_trace(path);
  const TraceStats s = summarize(trace);
  if (as_json) {
    nlohmann::ordered_json j{{"trace", path},
                             {"model", trace.header.model},
                             {"task", trace.header.task},
                             {"scheduler", trace.header.scheduler},
                             {"precisions", trace.header.precisions},
                             {"requests", s.requests},
                             {"prompt_tokens_total", s.prompt_tokens_total},
                             {"output_tokens_total", s.output_tokens_total},
                             {"decode_steps_total", s.decode_steps_total},
                             {"eos_requests", s.eos_requests},
                             {"mean_prompt_tokens", s.mean_prompt_tokens},
                             {"mean_output_tokens", s.mean_output_tokens},
                             {"mean_decode_bits", s.mean_decode_bits},
                             {"decode_steps_by_bits", nlohmann::ordered_json::array()}};
    for (const auto& [bits, steps] : s.decode_steps_by_bits) {
      j["decode_steps_by_bits"].push_back({{"bits", bits}, {"steps", steps}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::string precisions;
  for (int b : trace.header.precisions) precisions += (precisions.empty() ? "" : ", ") + std::to_string(b);
  const auto row = [](const std::string& label, const std::string& value) {
    std::cout << fmt::format("{:<26}{}\n", label, value);
  };
  row("trace", path);
  row("model / task", trace.header.model + " / " + trace.header.task);
  row("scheduler", trace.header.scheduler + " (precisions " + precisions + ")");
  row("requests", std::to_string(s.requests));
  row("mean prompt tokens", fmt::format("{:.2f}", s.mean_prompt_tokens));
  row("mean output tokens", fmt::format("{:.2f}", s.mean_output_tokens));
  row("eos requests", fmt::format("{} of {}", s.eos_requests, s.requests));
  row("mean decode bits", fmt::format("{:.3f}", s.mean_decode_bits));
  for (const auto& [bits, steps] : s.decode_steps_by_bits) {
    row(fmt::format("decode steps at {} bits", bits), std::to_string(steps));
  }
  return 0;
}

}  // namespace npusim::traces

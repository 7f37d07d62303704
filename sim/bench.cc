// `npusim bench`: times the shipped benchmarks as whole simulations, each in its own forked process (SystemC
// elaborates once per process), in fast and full fidelity, and reports wall time, simulated core cycles per wall
// second, simulated DRAM bytes per wall second and the speed-up of fast over full. With --baseline it prints each
// wall time's ratio to a saved run; --save writes one.
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/fork_run.h"
#include "sim/commands.h"
#include "sim/engine.h"

namespace npusim::sim {

namespace po = boost::program_options;

namespace {

// When a benchmark runs in full fidelity as well as fast.
enum class FullFidelity { kAlways, kNever /* most of an hour */ };

struct BenchCase {
  const char* name;
  const char* run_file;  // relative to the project folder
  const char* what;
  FullFidelity full;
  const char* dram_model;  // set as npu.dram.model; empty: the run's own
};

// The command-level DRAM's cost, as ratios of fast-fidelity wall times measured side by side (hosts of one kind
// differ 2-3x in absolute speed): the same run with `dram.model` command against channel. Targets: the README's
// default run at most 2x, one Vicuna-7B PMPD request and the paper figure at most 3x.
struct DramRatioCase {
  const char* name;
  const char* run_file;
  double target;  // the ratio it should stay under
  bool slow;      // only with --slow (the paper figure takes about a minute at command level)
};
constexpr DramRatioCase kDramRatioCases[] = {
    {"vicuna7b_pmpd", "configs/runs/bench_vicuna7b_pmpd_command.yaml", 3, false},
    {"default_run", "configs/runs/default.yaml", 2, false},
    {"pmpd_paper", "configs/runs/pmpd_paper.yaml", 3, true},
};

// The benchmarks the project ships. The Vicuna-7B requests are the speed targets: a 1024-token prompt and 128
// decode steps on the HBM3 NPU, uniform:3 with the channel DRAM, and PMPD 3 -> 2 with the command-level DRAM.
// The default run at command level (its default) is timed fast only: in full detail its fp16 steps run on 8
// channels (their rows end on 512 B), over 45 minutes; its fast-against-full speed-up is timed on the channel
// DRAM.
constexpr BenchCase kCases[] = {
    {"default_run", "configs/runs/default.yaml",
     "README's default run: Vicuna-7B CNN/DM, fp16/uniform/PMPD/GPTQ, command-level DRAM", FullFidelity::kNever,
     ""},
    {"default_run_channel", "configs/runs/default.yaml", "the default run with the channel DRAM",
     FullFidelity::kAlways, "channel"},
    {"vicuna7b_request", "configs/runs/bench_vicuna7b_request.yaml",
     "one Vicuna-7B request, 1024-token prompt + 128 decode steps, uniform:3, HBM3 NPU, channel DRAM",
     FullFidelity::kAlways, ""},
    {"vicuna7b_pmpd_command", "configs/runs/bench_vicuna7b_pmpd_command.yaml",
     "one Vicuna-7B request, 1024-token prompt + 128 decode steps, PMPD 3->2, HBM3 NPU, command-level DRAM",
     FullFidelity::kAlways, ""},
};

struct Measurement {
  double wall_s = 0;
  double simulated_s = 0;
  double core_cycles = 0;
  double dram_bytes = 0;
};

Measurement measure_once(const std::string& run_file, const std::string& fidelity,
                         const std::vector<std::string>& overrides = {}) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<uint64_t> r = run_forked([&] {
    RunConfig run = load_run_config(run_file, overrides);
    run.fidelity = fidelity;
    const RunResults res = run_simulation(run);
    uint64_t bytes = 0;
    for (const ConfigResult& c : res.results) bytes += c.dram_read_bytes + c.dram_write_bytes;
    return std::vector<uint64_t>{res.simulated_ps, run.npu.core_period_ps(), bytes};
  });
  Measurement m;
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.simulated_s = static_cast<double>(r.at(0)) * 1e-12;
  m.core_cycles = static_cast<double>(r.at(0)) / static_cast<double>(r.at(1));
  m.dram_bytes = static_cast<double>(r.at(2));
  return m;
}

Measurement median_of(int repeat, const std::string& run_file, const std::string& fidelity,
                      const std::vector<std::string>& overrides = {}) {
  std::vector<Measurement> runs;
  for (int i = 0; i < repeat; ++i) runs.push_back(measure_once(run_file, fidelity, overrides));
  std::sort(runs.begin(), runs.end(),
            [](const Measurement& a, const Measurement& b) { return a.wall_s < b.wall_s; });
  return runs[runs.size() / 2];
}

}  // namespace

int bench_command(const std::vector<std::string>& args) {
  po::options_description flags("npusim bench");
  flags.add_options()("repeat", po::value<int>()->default_value(3), "runs per benchmark; the median is reported")(
      "save", po::value<std::string>(), "write the results as a baseline JSON file")(
      "baseline", po::value<std::string>(), "compare with a baseline written by --save")(
      "only", po::value<std::string>(), "run only the benchmark of this name")(
      "slow", "also time what takes minutes: the paper figure's command-vs-channel ratio");
  const po::variables_map vm = parse_flags("bench", args, flags, po::positional_options_description());
  const int repeat = vm["repeat"].as<int>();
  if (repeat < 1) throw InputError("bench: --repeat must be >= 1");
  nlohmann::ordered_json baseline;
  if (vm.count("baseline")) {
    const std::string path = vm["baseline"].as<std::string>();
    try {
      baseline = nlohmann::ordered_json::parse(read_file(path));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(path + ": not a bench baseline (" + e.what() + ")");
    }
  }
  if (vm.count("only")) {
    bool known = false;
    std::string names;
    for (const BenchCase& c : kCases) {
      known = known || vm["only"].as<std::string>() == c.name;
      names += (names.empty() ? "" : ", ") + std::string(c.name);
    }
    if (!known)
      throw InputError("bench: --only " + vm["only"].as<std::string>() + ": no such benchmark (" + names + ")");
  }
  nlohmann::ordered_json saved;
  std::cout << fmt::format("{:<22} {:<5} {:>9} {:>12} {:>12} {:>14} {:>10} {:>8}\n", "benchmark", "mode", "wall s",
                           "simulated s", "cycles/s", "DRAM GB/s", "fast/full", "vs base");
  for (const BenchCase& c : kCases) {
    if (vm.count("only") && vm["only"].as<std::string>() != c.name) continue;
    double full_wall_s = 0;
    for (const std::string fidelity : {"full", "fast"}) {
      if (fidelity == "full" && c.full == FullFidelity::kNever) continue;
      std::vector<std::string> overrides;
      if (*c.dram_model != '\0') overrides.push_back(std::string("npu.dram.model=") + c.dram_model);
      const Measurement m = median_of(repeat, project_dir() + "/" + c.run_file, fidelity, overrides);
      const std::string key = std::string(c.name) + "/" + fidelity;
      std::string versus = "-";
      if (baseline.contains(key)) {
        const auto& base = baseline[key];
        if (!base.is_object() || !base.contains("wall_s") || !base["wall_s"].is_number()) {
          throw InputError(vm["baseline"].as<std::string>() + ": " + key + ".wall_s: expected a number");
        }
        versus = fmt::format("{:.2f}x", base["wall_s"].get<double>() / m.wall_s);
      }
      if (fidelity == "full") full_wall_s = m.wall_s;
      const std::string speedup =
          fidelity == "fast" && full_wall_s > 0 ? fmt::format("{:.1f}x", full_wall_s / m.wall_s) : "-";
      std::cout << fmt::format("{:<22} {:<5} {:>9.3f} {:>12.4f} {:>12.3e} {:>14.3f} {:>10} {:>8}\n", c.name,
                               fidelity, m.wall_s, m.simulated_s, m.core_cycles / m.wall_s,
                               m.dram_bytes / m.wall_s / 1e9, speedup, versus);
      saved[key] = {{"what", c.what},
                    {"wall_s", m.wall_s},
                    {"simulated_s", m.simulated_s},
                    {"core_cycles_per_s", m.core_cycles / m.wall_s},
                    {"dram_bytes_per_s", m.dram_bytes / m.wall_s},
                    {"repeat", repeat}};
    }
  }
  std::cout << "(median of " << repeat
            << " runs; fast/full = full wall time / fast wall time; 'vs base' = baseline wall time / this wall "
               "time, > 1 is faster)\n";
  if (!vm.count("only")) {
    std::cout << fmt::format("\n{:<22} {:>14} {:>14} {:>16} {:>8}\n", "command vs channel", "channel wall s",
                             "command wall s", "command/channel", "target");
    for (const DramRatioCase& c : kDramRatioCases) {
      if (c.slow && !vm.count("slow")) continue;
      const std::string file = project_dir() + "/" + c.run_file;
      const Measurement channel = median_of(repeat, file, "fast", {"npu.dram.model=channel"});
      const Measurement command = median_of(repeat, file, "fast", {"npu.dram.model=command"});
      const double ratio = command.wall_s / channel.wall_s;
      std::cout << fmt::format("{:<22} {:>14.3f} {:>14.3f} {:>15.1f}x {:>7.0f}x\n", c.name, channel.wall_s,
                               command.wall_s, ratio, c.target);
      saved[std::string("dram_ratio/") + c.name] = {{"channel_wall_s", channel.wall_s},
                                                    {"command_wall_s", command.wall_s},
                                                    {"ratio", ratio},
                                                    {"target", c.target}};
    }
    std::cout << "(fast fidelity, the same run with dram.model channel and command; the paper figure only with "
                 "--slow)\n";
  }
  if (vm.count("save")) write_file_atomic(vm["save"].as<std::string>(), saved.dump(2) + "\n");
  return 0;
}

}  // namespace npusim::sim

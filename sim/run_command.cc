// `npusim run` and `npusim describe`.
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "common/config.h"
#include "common/error.h"
#include "sim/commands.h"
#include "sim/engine.h"
#include "sim/report.h"
#include "sim/sweep.h"
#include "traces/trace.h"

namespace npusim::sim {

namespace po = boost::program_options;

std::string project_dir() {
  if (std::filesystem::exists("configs/runs/default.yaml")) return ".";
  return NPUSIM_SOURCE_DIR;
}

po::variables_map parse_flags(const std::string& command, const std::vector<std::string>& args,
                              const po::options_description& flags,
                              const po::positional_options_description& pos) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(flags).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::ostringstream usage;
    usage << flags;
    throw InputError(command + ": " + e.what() + "\n" + usage.str());
  }
  return vm;
}

int run_command(const std::vector<std::string>& args) {
  po::options_description flags("npusim run RUN.yaml");
  flags.add_options()("run", po::value<std::string>(), "run file (configs/runs/*.yaml)")(
      "out", po::value<std::string>(), "results folder (default: results/<run name>)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a field: key.path=value (npu.* and model.* edit those documents)")(
      "fidelity", po::value<std::string>(), "full or fast (default: the run file's fidelity, fast)")(
      "quiet", "no table on stdout");
  po::positional_options_description pos;
  pos.add("run", 1);
  const po::variables_map vm = parse_flags("run", args, flags, pos);
  if (!vm.count("run")) {
    std::ostringstream usage;
    usage << flags;
    throw InputError("run: expected a run file: npusim run RUN.yaml [flags]\n" + usage.str());
  }
  const std::vector<std::string> sets =
      vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  RunConfig run = load_run_config(vm["run"].as<std::string>(), sets);
  if (vm.count("fidelity")) {
    const std::string fidelity = vm["fidelity"].as<std::string>();
    if (fidelity != "full" && fidelity != "fast") {
      throw InputError("--fidelity " + fidelity + ": expected full or fast");
    }
    run.fidelity = fidelity;
  }
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : "results/" + run.name;
  // Refused before simulating, not after.
  if (std::filesystem::exists(out) && !std::filesystem::is_directory(out)) {
    throw InputError("run --out " + out + ": exists and is not a folder");
  }

  const auto start = std::chrono::steady_clock::now();
  const RunResults results = run_simulation(run);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_results(out, run, results);
  if (!vm.count("quiet")) std::cout << results_table(results);
  std::cerr << "npusim: simulated " << static_cast<double>(results.simulated_ps) * 1e-12 << " s in " << wall_s
            << " s wall; results in " << out << "/results.json and results.csv\n";
  return 0;
}

int describe_command(const std::vector<std::string>& args) {
  if (args.size() != 1) throw InputError("describe: expected one of npu, run, model, sweep");
  std::vector<FieldDoc> docs;
  const std::string& what = args[0];
  if (what == "npu") {
    ConfigSection s = ConfigSection::for_docs(&docs);
    hw::read_npu_config(s);
  } else if (what == "run") {
    describe_run_config(&docs);
  } else if (what == "sweep") {
    describe_sweep_spec(&docs);
  } else if (what == "model") {
    ConfigSection s = ConfigSection::for_docs(&docs);
    workloads::read_model_config(s);
  } else {
    throw InputError("describe " + what + ": expected one of npu, run, model, sweep");
  }
  for (const FieldDoc& d : docs) {
    std::cout << d.path << "  (" << d.kind << (d.unit.empty() ? "" : ", " + d.unit) << ")";
    if (!d.default_text.empty()) std::cout << "  default: " << d.default_text;
    if (!d.range_text.empty()) std::cout << "  " << d.range_text;
    std::cout << "\n    " << d.description << "\n";
  }
  return 0;
}

}  // namespace npusim::sim

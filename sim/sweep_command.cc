// `npusim sweep SPEC.yaml [-j N] [--out DIR] [--dry-run] [--mpi] [--max-points N]`.
#include <unistd.h>

#include <iostream>

#include "common/error.h"
#include "sim/commands.h"
#include "sim/sweep.h"

namespace npusim::sim {

int sweep_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description flags("npusim sweep SPEC.yaml");
  flags.add_options()("spec", po::value<std::string>(), "sweep spec (configs/sweeps/*.yaml)")(
      "jobs,j", po::value<int>()->default_value(1), "points run at once on this machine")(
      "out", po::value<std::string>(), "sweep folder (default: results/sweeps/<name>)")(
      "point-timeout", po::value<double>()->default_value(0),
      "seconds a point may run before it is killed and "
      "recorded as failed (0: no limit)")("dry-run", "list the points and stop")(
      "mpi", "share the points among MPI ranks (mpirun -np K npusim ...)")(
      "max-points", po::value<int64_t>()->default_value(static_cast<int64_t>(kDefaultMaxSweepPoints)),
      "refuse a spec of more points than this (counted before expanding)");
  po::positional_options_description pos;
  pos.add("spec", 1);
  const po::variables_map vm = parse_flags("sweep", args, flags, pos);
  if (!vm.count("spec")) throw InputError("sweep: expected a sweep spec: npusim sweep SPEC.yaml [-j N]");
  const int jobs = vm["jobs"].as<int>();
  if (jobs < 1 || jobs > 4096) throw InputError("sweep -j " + std::to_string(jobs) + ": expected 1..4096");
  const int64_t max_points = vm["max-points"].as<int64_t>();
  if (max_points < 1) throw InputError("sweep --max-points " + std::to_string(max_points) + ": expected >= 1");
  const SweepSpec spec = load_sweep_spec(vm["spec"].as<std::string>(), static_cast<size_t>(max_points));
  const std::string dir = vm.count("out") ? vm["out"].as<std::string>() : "results/sweeps/" + spec.name;
  if (vm.count("dry-run")) {
    std::cout << spec.name << ": " << spec.points.size() << " points (" << spec.excluded << " excluded, "
              << spec.duplicates << " duplicates dropped)\n";
    for (const SweepPoint& p : spec.points) {
      std::cout << p.index << " " << p.hash;
      for (const auto& [field, value] : p.fields) std::cout << " " << field << "=" << value;
      std::cout << "\n";
    }
    return 0;
  }
  SweepOptions options;
  options.jobs = jobs;
  options.point_timeout_s = vm["point-timeout"].as<double>();
  if (!(options.point_timeout_s >= 0)) throw InputError("sweep --point-timeout: expected seconds >= 0");
  options.progress_bar = isatty(STDERR_FILENO) != 0;
  SweepSummary s;
  if (vm.count("mpi")) {
    options.progress_bar = false;
    if (!sweep_mpi(spec, dir, options, &s)) return 0;  // a worker rank: rank 0 reports
  } else {
    s = run_sweep_local(spec, dir, options);
  }
  std::cout << spec.name << ": " << s.total << " points: " << s.skipped << " already finished, " << s.done
            << " run now, " << s.failed << " failed; table in " << dir << "/sweep.csv and sweep.jsonl\n";
  return s.failed > 0 ? 1 : 0;
}

}  // namespace npusim::sim

// `npusim sweep --mpi` (built with NPUSIM_WITH_MPI): rank 0 hands out the unfinished points one at a time to
// ranks that ask for work and writes what they send back; every other rank runs its point in a forked child (one
// SystemC elaboration per process) in a folder of its own and returns the point's files, or its failure.
#include <mpi.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "sim/sweep.h"

namespace npusim::sim {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kToCoordinator = 1;  // a worker's result (or first request) and its request for the next point
constexpr int kToWorker = 2;       // the next point's index, or stop

void send_json(const json& j, int to, int tag) {
  // Invalid UTF-8 (a log cut off mid-character) is replaced rather than thrown on.
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD);
}

json receive_json(int from, int tag, int* source) {
  MPI_Status status;
  MPI_Probe(from, tag, MPI_COMM_WORLD, &status);
  int size = 0;
  MPI_Get_count(&status, MPI_CHAR, &size);
  std::string text(static_cast<size_t>(size), '\0');
  MPI_Recv(text.data(), size, MPI_CHAR, status.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (source) *source = status.MPI_SOURCE;
  return json::parse(text);
}

// The files a finished or failed point left in its folder, by name.
json point_files(const std::string& dir, const SweepPoint& point) {
  json files = json::object();
  for (const char* name : {"results.json", "results.csv", "point.json", "failed.json", "run.log"}) {
    const fs::path f = fs::path(point_dir(dir, point)) / name;
    if (fs::exists(f)) files[name] = read_file(f.string());
  }
  return files;
}

SweepSummary coordinate(const SweepSpec& spec, const std::string& dir, int workers) {
  SweepSummary summary;
  const std::vector<const SweepPoint*> pending = prepare_sweep(spec, dir, &summary);
  SweepProgress progress(summary.total, summary.skipped, false);
  size_t next = 0;
  for (int active = workers; active > 0;) {
    int source = 0;
    const json message = receive_json(MPI_ANY_SOURCE, kToCoordinator, &source);
    if (message.contains("index")) {
      const SweepPoint& p = spec.points.at(message["index"].get<size_t>());
      std::vector<std::pair<std::string, std::string>> files;
      for (const auto& [name, content] : message["files"].items()) {
        if (name != "point.json") files.emplace_back(name, content.get<std::string>());
      }
      const std::string error = message.value("error", "");
      if (error.empty() && message["files"].contains("point.json")) {
        commit_point(dir, p, files);
        ++summary.done;
      } else {
        // The failure record (and log) as the worker wrote them; no point.json: not finished.
        make_dirs(point_dir(dir, p));
        for (auto& [name, content] : files) name = point_dir(dir, p) + "/" + name;
        write_files_atomic(files);
        ++summary.failed;
      }
      progress.finished(p, error);
    }
    if (next < pending.size()) {
      send_json({{"next", pending[next++]->index}}, source, kToWorker);
    } else {
      send_json({{"stop", true}}, source, kToWorker);
      --active;
    }
  }
  progress.end();
  write_sweep_table(spec, dir);
  return summary;
}

void work(const SweepSpec& spec, const std::string& dir, int rank, double timeout_s) {
  const std::string own = (fs::path(dir) / ".ranks" / std::to_string(rank)).string();
  PointRunner runner(spec, own, 1, timeout_s);
  send_json(json::object(), 0, kToCoordinator);
  for (;;) {
    const json order = receive_json(0, kToWorker, nullptr);
    if (order.contains("stop")) break;
    const SweepPoint& p = spec.points.at(order["next"].get<size_t>());
    runner.start(p);
    std::pair<const SweepPoint*, std::string> outcome{nullptr, ""};
    while (!outcome.first) outcome = runner.wait_one();
    send_json({{"index", p.index}, {"error", outcome.second}, {"files", point_files(own, p)}}, 0, kToCoordinator);
    fs::remove_all(point_dir(own, p));
  }
  std::error_code ignored;
  fs::remove_all(own, ignored);
  fs::remove(fs::path(own).parent_path(), ignored);  // .ranks, once the last rank has left it
}

}  // namespace

bool sweep_mpi(const SweepSpec& spec, const std::string& dir, const SweepOptions& options, SweepSummary* summary) {
  // The workers fork a child per point that never calls MPI; OpenMPI need not warn about it.
  setenv("OMPI_MCA_mpi_warn_on_fork", "0", 0);
  MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  try {
    if (size == 1) {
      *summary = run_sweep_local(spec, dir, options);
    } else if (rank == 0) {
      *summary = coordinate(spec, dir, size - 1);
    } else {
      work(spec, dir, rank, options.point_timeout_s);
    }
  } catch (const std::exception& e) {
    // One rank's fault ends the job (the others would wait for it forever); say which and why first.
    std::cerr << "npusim: error: sweep --mpi, rank " << rank << ": " << e.what() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  MPI_Finalize();
  return rank == 0;
}

}  // namespace npusim::sim

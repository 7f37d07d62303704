// Design-space sweeps: a spec (configs/sweeps/*.yaml) expands a base run into points (a cartesian product of
// axes, zipped axes, explicit points, filters), and each point is one full `npusim run`, in a process of its own
// (SystemC elaborates once per process). Points are written atomically under the sweep's folder, keyed by a hash
// of their resolved config, so a sweep resumes where it stopped; the finished points make one tidy table.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/run_config.h"

namespace npusim::sim {

struct SweepPoint {
  size_t index = 0;                                         // in expansion order
  std::vector<std::pair<std::string, std::string>> fields;  // (field path, value as text), in axis order
  std::vector<Override> overrides;  // the spec's `set`, then the point's fields, each naming its spec line
  std::string hash;                 // of the resolved config: overrides and every file the run reads
};

struct SweepSpec {
  std::string name, file, base_run;
  std::vector<std::string> fields;  // every swept field, in first-seen order (the table's leading columns)
  std::vector<SweepPoint> points;
  size_t excluded = 0, duplicates = 0;  // dropped by `exclude` filters; repeats of an earlier point
};

// Reads and expands a sweep spec; every point's config is loaded (units, ranges, unknown keys checked as in a
// run) so that a bad axis fails here, naming the spec's file, line and field. A spec of more than `max_points`
// points (the product and the explicit points, counted before anything is expanded) is refused. Throws
// InputError.
constexpr size_t kDefaultMaxSweepPoints = 10000;
SweepSpec load_sweep_spec(const std::string& path, size_t max_points = kDefaultMaxSweepPoints);

// Lists the declared fields of a sweep spec (for `npusim describe sweep`).
void describe_sweep_spec(std::vector<FieldDoc>* docs);

// Where a point's files go under the sweep folder, and the file whose presence means the point is finished.
std::string point_dir(const std::string& sweep_dir, const SweepPoint& point);
std::string point_done_file(const std::string& sweep_dir, const SweepPoint& point);
// Whether the point is finished: its point.json is there and is the point's record (a garbage one is not).
bool point_finished(const std::string& sweep_dir, const SweepPoint& point);

struct SweepOptions {
  int jobs = 1;                // points in flight at once (local)
  double point_timeout_s = 0;  // a point running longer is killed and recorded as failed (0: no limit)
  bool progress_bar = false;   // a live bar on a terminal; plain lines otherwise
  bool mpi = false;            // ranks share the points (built with NPUSIM_MPI)
};

struct SweepSummary {
  size_t total = 0, skipped = 0, done = 0, failed = 0;
};

// Runs points in forked children (each one SystemC elaboration), at most `jobs` at once; a child running past
// `timeout_s` (0: no limit) is killed. Every outcome is recorded on disk under `dir` (results or failed.json).
class PointRunner {
 public:
  PointRunner(const SweepSpec& spec, std::string dir, int jobs, double timeout_s);
  bool can_start() const { return static_cast<int>(running_.size()) < jobs_; }
  bool busy() const { return !running_.empty(); }
  void start(const SweepPoint& point);
  // Waits for a child to end: its point and error ("" when it succeeded); no point when the child was not ours.
  std::pair<const SweepPoint*, std::string> wait_one();

 private:
  struct Running {
    const SweepPoint* point;
    std::chrono::steady_clock::time_point started;
  };
  const SweepSpec& spec_;
  std::string dir_;
  int jobs_;
  double timeout_s_;
  int parent_;
  std::map<int, Running> running_;  // by pid
  std::set<int> timed_out_;
};

// Starts (or resumes) a sweep in `dir`: writes sweep.json (the spec's points and fields), fills the summary's
// total and skipped counts, and returns the points without a finished record, in order.
std::vector<const SweepPoint*> prepare_sweep(const SweepSpec& spec, const std::string& dir, SweepSummary* summary);

// Progress of a sweep on stderr: a live bar on a terminal, else a line per finished point.
class SweepProgress {
 public:
  SweepProgress(size_t total, size_t skipped, bool bar);
  void finished(const SweepPoint& point, const std::string& error);
  void end() const;

 private:
  size_t total_, done_, this_run_ = 0, failed_ = 0;
  bool bar_;
  std::chrono::steady_clock::time_point start_;
};

// Runs every point not finished yet, locally on `jobs` processes; writes the table when all have run.
SweepSummary run_sweep_local(const SweepSpec& spec, const std::string& dir, const SweepOptions& options);

// The same over MPI (mpirun -np K npusim sweep ... --mpi): rank 0 hands the unfinished points to the other ranks
// as they ask for work and writes what they return; with one rank it runs locally. Returns whether this rank is
// rank 0 (which fills `summary`). Built with NPUSIM_WITH_MPI; otherwise throws InputError saying so.
bool sweep_mpi(const SweepSpec& spec, const std::string& dir, const SweepOptions& options, SweepSummary* summary);

// Records a finished point under `dir`: `files` (name, content) atomically, then its point.json (the mark of a
// finished point); an earlier failure record goes. Shared by the local runner and the MPI coordinator.
void commit_point(const std::string& dir, const SweepPoint& point,
                  const std::vector<std::pair<std::string, std::string>>& files);

// Runs one point in the calling process (which must be a fresh one: a forked child): the run, then its results
// and its record, each written atomically. Returns the error text ("" when it succeeded); a failed point is
// recorded with its error.
std::string run_sweep_point(const SweepSpec& spec, const SweepPoint& point, const std::string& dir);

// The sweep's tidy table from the finished points on disk: sweep.csv and sweep.jsonl in `dir`, one row per
// (point, trace, configuration) with every swept field and every metric; failed points listed in failures.jsonl.
void write_sweep_table(const SweepSpec& spec, const std::string& dir);

// Whether `path` is a sweep's folder (it holds sweep.json), and the text `npusim report` prints for one: per
// (model, task, configuration), the best point per metric and the Pareto fronts of samples/s against DRAM energy
// per token and against peak DRAM bandwidth.
bool is_sweep_dir(const std::string& path);
std::string sweep_report(const std::string& dir);

}  // namespace npusim::sim

// Running a sweep's points: each in a forked child (one SystemC elaboration per process), at most `jobs` at once,
// finished points skipped; a live progress bar on a terminal, plain lines otherwise; the tidy table at the end.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "common/files.h"
#include "sim/engine.h"
#include "sim/report.h"
#include "sim/sweep.h"

namespace npusim::sim {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

// What every record of a point carries: its index, hash and swept fields.
ojson point_record(const SweepPoint& point) {
  ojson fields = ojson::object();
  for (const auto& [field, value] : point.fields) fields[field] = value;
  return {{"index", point.index}, {"hash", point.hash}, {"fields", std::move(fields)}};
}

// A failed point's record (failed.json beside where its results would go). Never throws: a point whose failure
// cannot even be recorded is still not finished, and the sweep goes on.
void record_failure(const std::string& dir, const SweepPoint& point, const std::string& error) noexcept {
  try {
    make_dirs(point_dir(dir, point));
    ojson j = point_record(point);
    j["error"] = error;
    write_file_atomic((fs::path(point_dir(dir, point)) / "failed.json").string(),
                      j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n");
  } catch (...) {
    // nothing more to do
  }
}

// The sweep's description beside its points: what `report` and a resumed run read.
void write_sweep_description(const SweepSpec& spec, const std::string& dir) {
  ojson points = ojson::array();
  for (const SweepPoint& p : spec.points) {
    points.push_back(point_record(p));
  }
  const ojson j = {{"format", "npusim-sweep"},   {"version", 1},          {"name", spec.name},
                   {"spec", spec.file},          {"base", spec.base_run}, {"fields", spec.fields},
                   {"points", std::move(points)}};
  write_file_atomic((fs::path(dir) / "sweep.json").string(), j.dump(2) + "\n");
}

}  // namespace

void commit_point(const std::string& dir, const SweepPoint& point,
                  const std::vector<std::pair<std::string, std::string>>& files) {
  const std::string pdir = point_dir(dir, point);
  make_dirs(pdir);
  std::vector<std::pair<std::string, std::string>> paths;
  for (const auto& [name, content] : files) paths.emplace_back(pdir + "/" + name, content);
  write_files_atomic(paths);
  // Written last: its presence is what makes the point finished.
  write_file_atomic(point_done_file(dir, point), point_record(point).dump(2) + "\n");
  fs::remove(fs::path(pdir) / "failed.json");
}

std::string run_sweep_point(const SweepSpec& spec, const SweepPoint& point, const std::string& dir) {
  try {
    const RunConfig run = load_run_config(spec.base_run, point.overrides);
    const RunResults results = run_simulation(run);
    commit_point(dir, point,
                 {{"results.json", results_json(run, results)}, {"results.csv", results_csv(results)}});
    return "";
  } catch (const std::exception& e) {
    record_failure(dir, point, e.what());
    return e.what();
  }
}

SweepProgress::SweepProgress(size_t total, size_t skipped, bool bar) : total_(total), done_(skipped), bar_(bar) {
  start_ = std::chrono::steady_clock::now();
}

void SweepProgress::finished(const SweepPoint& point, const std::string& error) {
  ++done_;
  ++this_run_;
  failed_ += error.empty() ? 0 : 1;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(this_run_) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0;
  if (bar_) {
    const size_t width = 30, filled = total_ ? width * done_ / total_ : width;
    std::cerr << fmt::format("\r[{}{}] {}/{} done, {} failed, {:.2f} points/s, ETA {:.0f} s   ",
                             std::string(filled, '#'), std::string(width - filled, '.'), done_, total_, failed_,
                             rate, eta)
              << std::flush;
    if (!error.empty()) std::cerr << "\npoint " << point.index << " failed: " << error << "\n";
  } else {
    std::cerr << fmt::format("sweep: {}/{} done, {} failed, {:.2f} points/s, ETA {:.0f} s; point {} ({}) {}\n",
                             done_, total_, failed_, rate, eta, point.index, point.hash,
                             error.empty() ? "ok" : "failed: " + error);
  }
}

void SweepProgress::end() const {
  if (bar_) std::cerr << "\n";
}

PointRunner::PointRunner(const SweepSpec& spec, std::string dir, int jobs, double timeout_s)
    : spec_(spec), dir_(std::move(dir)), jobs_(std::max(1, jobs)), timeout_s_(timeout_s), parent_(getpid()) {}

void PointRunner::start(const SweepPoint& point) {
  make_dirs(point_dir(dir_, point));
  // A record of an earlier failure must not be taken for this attempt's.
  fs::remove(fs::path(point_dir(dir_, point)) / "failed.json");
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("sweep: fork failed");
  if (pid == 0) {
    // A child dies with the sweep (an interrupted sweep leaves no orphans writing results).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_) _exit(3);
    const std::string log = (fs::path(point_dir(dir_, point)) / "run.log").string();
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    // Nothing may unwind out of the child into the caller's code (under MPI that would abort the whole job).
    int code = 2;
    try {
      code = run_sweep_point(spec_, point, dir_).empty() ? 0 : 1;
      std::cout.flush();
    } catch (...) {
      code = 2;
    }
    _exit(code);
  }
  running_[pid] = {&point, std::chrono::steady_clock::now()};
}

std::pair<const SweepPoint*, std::string> PointRunner::wait_one() {
  int status = 0;
  pid_t pid = 0;
  while ((pid = waitpid(-1, &status, timeout_s_ > 0 ? WNOHANG : 0)) == 0 || (pid < 0 && errno == EINTR)) {
    // Only with a timeout: look at the clocks every 20 ms.
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [child, r] : running_) {
      if (std::chrono::duration<double>(now - r.started).count() > timeout_s_ && !timed_out_.count(child)) {
        kill(child, SIGKILL);
        timed_out_.insert(child);
      }
    }
    usleep(20000);
  }
  if (pid < 0) throw std::runtime_error("sweep: waitpid failed");
  const auto it = running_.find(pid);
  if (it == running_.end()) return {nullptr, ""};  // not one of ours
  const SweepPoint& p = *it->second.point;
  running_.erase(it);
  std::string error;
  const bool killed_here = timed_out_.erase(pid) > 0;
  if (point_finished(dir_, p)) {
    // Finished, whatever ended the child after it wrote its record.
  } else if (killed_here) {
    error = fmt::format("timed out after {:g} s (--point-timeout)", timeout_s_);
    record_failure(dir_, p, error);
  } else if (WIFSIGNALED(status)) {
    error = "killed by signal " + std::to_string(WTERMSIG(status));
    record_failure(dir_, p, error);
  } else {
    error = "failed";
    const fs::path failed = fs::path(point_dir(dir_, p)) / "failed.json";
    if (fs::exists(failed)) {
      try {
        error = nlohmann::json::parse(read_file(failed.string())).value("error", error);
      } catch (const std::exception&) {
        // keep "failed"
      }
    } else {
      error = "exited with status " + std::to_string(WEXITSTATUS(status)) + " and no record";
      record_failure(dir_, p, error);
    }
  }
  return {&p, error};
}

std::vector<const SweepPoint*> prepare_sweep(const SweepSpec& spec, const std::string& dir,
                                             SweepSummary* summary) {
  make_dirs(dir);
  write_sweep_description(spec, dir);
  std::vector<const SweepPoint*> pending;
  for (const SweepPoint& p : spec.points) {
    if (!point_finished(dir, p)) pending.push_back(&p);
  }
  *summary = SweepSummary{};
  summary->total = spec.points.size();
  summary->skipped = summary->total - pending.size();
  return pending;
}

SweepSummary run_sweep_local(const SweepSpec& spec, const std::string& dir, const SweepOptions& options) {
  SweepSummary summary;
  const std::vector<const SweepPoint*> pending = prepare_sweep(spec, dir, &summary);
  SweepProgress progress(summary.total, summary.skipped, options.progress_bar);
  PointRunner runner(spec, dir, options.jobs, options.point_timeout_s);
  size_t next = 0;
  while (next < pending.size() || runner.busy()) {
    while (next < pending.size() && runner.can_start()) runner.start(*pending[next++]);
    const auto [point, error] = runner.wait_one();
    if (!point) continue;
    (error.empty() ? summary.done : summary.failed) += 1;
    progress.finished(*point, error);
  }
  progress.end();
  write_sweep_table(spec, dir);
  return summary;
}

}  // namespace npusim::sim

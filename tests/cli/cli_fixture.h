// The fixture of the npusim CLI end-to-end tests: runs the built binary as a subprocess (stdout, stderr and exit
// code captured separately) in a fresh folder per test, so the tests can run in parallel.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace npusim_cli {

namespace fs = std::filesystem;

const fs::path kSource = NPUSIM_SOURCE_DIR;

struct Result {
  int code = -1;  // exit status; 128 + signal when the process was killed
  std::string out, err;
};

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Runs NPUSIM_EXE with `args` in `cwd`; stdout and stderr go to files under `capture_dir` and are read back.
inline Result run_npusim(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& capture_dir) {
  static int counter = 0;
  const std::string tag = std::to_string(counter++);
  const fs::path out_file = capture_dir / ("stdout." + tag), err_file = capture_dir / ("stderr." + tag);
  std::vector<std::string> words{NPUSIM_EXE};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int out_fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd < 0 || err_fd < 0 || chdir(cwd.c_str()) != 0) _exit(126);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  Result r;
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_file);
  r.err = read_text(err_file);
  return r;
}

// Replaces the first `from` in `text` by `to`; a test whose edit does not apply fails instead of testing nothing.
inline std::string edit(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "edit: '" << from << "' not found";
    return text;
  }
  return text.replace(at, from.size(), to);
}

// The 1-based number of the first line of `text` that contains `needle` (0 if none).
inline int line_of(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find(needle) != std::string::npos) return n;
  }
  ADD_FAILURE() << "line_of: '" << needle << "' not found";
  return 0;
}

// Applies `edit` to line `n` (1-based) of `text` only.
inline std::string edit_line(const std::string& text, int n, const std::string& from, const std::string& to) {
  std::istringstream in(text);
  std::string out, line;
  for (int i = 1; std::getline(in, line); ++i) out += (i == n ? edit(line, from, to) : line) + "\n";
  return out;
}

// "PATH:LINE:", the location prefix of an error message.
inline std::string loc(const fs::path& file, int line) {
  return file.string() + ":" + std::to_string(line) + ":";
}

#define EXPECT_CONTAINS(haystack, needle)                                                                  \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "missing '" << (needle) << "' in:\n" \
                                                                   << (haystack)
#define EXPECT_NOT_CONTAINS(haystack, needle)                                                                 \
  EXPECT_EQ(std::string(haystack).find(needle), std::string::npos) << "unexpected '" << (needle) << "' in:\n" \
                                                                   << (haystack)

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(NPUSIM_BINARY_DIR) / "cli_tests_tmp" /
           (std::string(info->test_suite_name()) + "." + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / ".capture");
  }
  // Kept when the test fails, to look at its inputs and outputs; removed by the next run of the same test.
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  Result npusim(const std::vector<std::string>& args, const fs::path& cwd = kSource) {
    return run_npusim(args, cwd, dir_ / ".capture");
  }

  fs::path write(const std::string& name, const std::string& text) {
    write_text(dir_ / name, text);
    return dir_ / name;
  }

  fs::path out() const { return dir_ / "out"; }

  // configs/runs/default.yaml with absolute paths (so that it can live in dir_) and 2 requests (so that a bad
  // input the CLI wrongly accepts still finishes quickly).
  static std::string base_run() {
    std::string t = read_text(kSource / "configs/runs/default.yaml");
    t = edit(t, "../npu/", (kSource / "configs/npu/").string());
    t = edit(t, "../models/", (kSource / "configs/models/").string());
    t = edit(t, "../../traces/", (kSource / "traces/").string());
    return edit(t, "max_requests: 0", "max_requests: 2");
  }
  static std::string base_npu() { return read_text(kSource / "configs/npu/datacenter-hbm3.yaml"); }
  static std::string base_trace() { return read_text(kSource / "traces/samples/vicuna-7b_cnn_dm.jsonl"); }
  static std::string sample_trace_path() { return (kSource / "traces/samples/vicuna-7b_cnn_dm.jsonl").string(); }

  // Writes `run_text` as run.yaml and runs it with --out out() and `extra` flags.
  Result run_file(const std::string& run_text, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"run", write("run.yaml", run_text).string(), "--out", out().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return npusim(args);
  }
  // A run of the base run file on `npu_text` (written as npu.yaml).
  Result run_npu(const std::string& npu_text) {
    const fs::path npu = write("npu.yaml", npu_text);
    return run_file(edit(base_run(), (kSource / "configs/npu/datacenter-hbm3.yaml").string(), npu.string()));
  }
  // A run of the base run file (after `run_edit`) on `trace_text` (written as t.jsonl).
  Result run_trace(const std::string& trace_text, const std::string& run_text = base_run()) {
    const fs::path trace = write("t.jsonl", trace_text);
    return run_file(edit(run_text, sample_trace_path(), trace.string()));
  }

  // Bad input: exit code 2, one "npusim: error:" message on stderr containing every needle, and no results.
  void expect_rejected(const Result& r, const std::vector<std::string>& needles) {
    EXPECT_EQ(r.code, 2) << "stderr:\n" << r.err;
    EXPECT_CONTAINS(r.err, "npusim: error: ");
    for (const std::string& n : needles) EXPECT_CONTAINS(r.err, n);
    if (!fs::exists(out())) return;
    for (const auto& entry : fs::recursive_directory_iterator(out())) {
      const std::string name = entry.path().filename().string();
      EXPECT_TRUE(name != "results.json" && name != "results.csv" &&
                  entry.path().filename().string().find(".tmp") == std::string::npos)
          << "bad input left " << entry.path();
    }
  }

  // The results of a successful run in `dir`: results.json and results.csv and nothing else.
  static void expect_results(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"results.csv", "results.json"}));
  }

  fs::path dir_;
};

}  // namespace npusim_cli

using namespace npusim_cli;  // NOLINT: the tests read as plain Cli fixtures

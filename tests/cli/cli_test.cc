// End-to-end tests of the npusim command line: each test runs the built binary as a subprocess (stdout, stderr
// and exit code captured separately) in a fresh folder of its own, so the tests can run in parallel.
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

namespace {

namespace fs = std::filesystem;

const fs::path kSource = NPUSIM_SOURCE_DIR;

struct Result {
  int code = -1;  // exit status; 128 + signal when the process was killed
  std::string out, err;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Runs NPUSIM_EXE with `args` in `cwd`; stdout and stderr go to files under `capture_dir` and are read back.
Result run_npusim(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& capture_dir) {
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
std::string edit(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "edit: '" << from << "' not found";
    return text;
  }
  return text.replace(at, from.size(), to);
}

// The 1-based number of the first line of `text` that contains `needle` (0 if none).
int line_of(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find(needle) != std::string::npos) return n;
  }
  ADD_FAILURE() << "line_of: '" << needle << "' not found";
  return 0;
}

// Applies `edit` to line `n` (1-based) of `text` only.
std::string edit_line(const std::string& text, int n, const std::string& from, const std::string& to) {
  std::istringstream in(text);
  std::string out, line;
  for (int i = 1; std::getline(in, line); ++i) out += (i == n ? edit(line, from, to) : line) + "\n";
  return out;
}

// "PATH:LINE:", the location prefix of an error message.
std::string loc(const fs::path& file, int line) {
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
      EXPECT_TRUE(name != "results.json" && name != "results.csv" && entry.path().extension() != ".tmp")
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

const std::vector<std::string> kConfigurations{"fp16", "uniform", "pmpd", "gptq-3bit"};

// ---------------------------------------------------------------------------------------------------------------
// Successful runs.

TEST_F(Cli, DefaultRunWithTwoRequestsPrintsTableAndWritesJsonAndCsv) {
  const Result r =
      npusim({"run", "configs/runs/default.yaml", "--out", out().string(), "--set", "max_requests=2"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const std::string& c : kConfigurations) {
    EXPECT_TRUE(std::regex_search(r.out, std::regex("\n" + c + " +[0-9]"))) << c << " row missing in:\n" << r.out;
  }
  EXPECT_CONTAINS(r.out, "2 requests");
  expect_results(out());

  const auto doc = nlohmann::json::parse(read_text(out() / "results.json"));
  EXPECT_EQ(doc.at("format"), "npusim-results");
  const auto& results = doc.at("results");
  ASSERT_EQ(results.size(), kConfigurations.size());
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].at("configuration"), kConfigurations[i]);
    EXPECT_GT(results[i].at("metrics").at("samples_per_s").get<double>(), 0) << kConfigurations[i];
    EXPECT_EQ(results[i].at("counters").at("requests"), 2) << kConfigurations[i];
  }

  std::istringstream csv(read_text(out() / "results.csv"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1 + kConfigurations.size());
  EXPECT_EQ(lines[0].rfind("task,trace,configuration,", 0), 0u) << lines[0];
  for (size_t i = 0; i < kConfigurations.size(); ++i)
    EXPECT_CONTAINS(lines[i + 1], "," + kConfigurations[i] + ",");
}

// The CLI on the default run, all 16 requests (~40 s).
TEST_F(Cli, FullDefaultRunSucceeds) {
  const Result r = npusim({"run", "configs/runs/default.yaml", "--out", out().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "16 requests");
  expect_results(out());
  EXPECT_EQ(nlohmann::json::parse(read_text(out() / "results.json")).at("results").size(), 4u);
}

TEST_F(Cli, WithoutOutResultsGoToResultsSlashRunNameInTheWorkingDirectory) {
  const Result r =
      npusim({"run", (kSource / "configs/runs/default.yaml").string(), "--set", "max_requests=2"}, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_results(dir_ / "results" / "default");
}

TEST_F(Cli, SameCommandTwiceGivesByteIdenticalResults) {
  for (const char* folder : {"a", "b"}) {
    const Result r =
        npusim({"run", "configs/runs/default.yaml", "--out", (dir_ / folder).string(), "--set", "max_requests=2"});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  for (const char* file : {"results.json", "results.csv"}) {
    const std::string a = read_text(dir_ / "a" / file);
    EXPECT_FALSE(a.empty()) << file;
    EXPECT_TRUE(a == read_text(dir_ / "b" / file)) << file << " differs between two identical runs";
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Bad run files. Every one exits 2, names the file and the line or key, and writes no results.

TEST_F(Cli, RunFileUnknownKeyIsRejected) {
  const std::string text = base_run() + "max_request: 2\n";
  expect_rejected(run_file(text),
                  {loc(dir_ / "run.yaml", line_of(text, "max_request: 2")), "max_request", "unknown key"});
}

TEST_F(Cli, RunFileWrongTypeIsRejected) {
  const std::string text = edit(base_run(), "max_requests: 2", "max_requests: lots");
  expect_rejected(run_file(text), {loc(dir_ / "run.yaml", line_of(text, "max_requests:")),
                                   "max_requests: expected an integer", "'lots'"});
}

TEST_F(Cli, RunFileOutOfRangeIsRejected) {
  const std::string text = edit(base_run(), "max_requests: 2", "max_requests: -1");
  expect_rejected(run_file(text),
                  {loc(dir_ / "run.yaml", line_of(text, "max_requests:")), "max_requests: -1 is out of range"});
}

TEST_F(Cli, RunFileMissingTracesIsRejected) {
  const std::string text = edit(base_run(), "traces:\n  - " + sample_trace_path() + "\n", "");
  expect_rejected(run_file(text), {(dir_ / "run.yaml").string(), "traces: required key missing"});
}

TEST_F(Cli, RunFileYamlSyntaxErrorIsRejected) {
  const std::string text = edit(base_run(), "max_requests: 2", "max_requests: 2: 3");
  expect_rejected(run_file(text), {loc(dir_ / "run.yaml", line_of(text, "max_requests:")), "YAML syntax error"});
}

TEST_F(Cli, ConfigurationWithUnknownWeightsIsRejected) {
  const std::string text = edit(base_run(), "weights: fp16", "weights: int4");
  expect_rejected(run_file(text),
                  {loc(dir_ / "run.yaml", line_of(text, "weights: int4")), "configurations[0].weights", "'int4'"});
}

// A bad `bits` is reported at the line of the `bits` key, not at its configuration's first line.
TEST_F(Cli, ConfigurationWithBadBitsNamesTheLineOfBits) {
  const std::string text = edit(base_run(), "    bits: trace", "    bits: 9");
  expect_rejected(run_file(text),
                  {loc(dir_ / "run.yaml", line_of(text, "bits: 9")), "configurations[2].bits", "'9'"});
}

TEST_F(Cli, DuplicateConfigurationNamesAreRejected) {
  const std::string text = edit(base_run(), "- name: gptq-3bit", "- name: pmpd");
  const int second = line_of(edit(text, "- name: pmpd", "- name: first"), "- name: pmpd");
  expect_rejected(run_file(text),
                  {loc(dir_ / "run.yaml", second), "configurations[3].name", "'pmpd' is used twice"});
}

TEST_F(Cli, BaselineNamingAMissingConfigurationIsRejected) {
  const std::string text = edit(base_run(), "  uniform: uniform", "  uniform: nosuch");
  expect_rejected(run_file(text), {(dir_ / "run.yaml").string(), "baselines", "'nosuch'"});
}

TEST_F(Cli, MissingTraceFileIsRejected) {
  const fs::path missing = dir_ / "nosuch.jsonl";
  // The run file's line that names the trace, then the missing path.
  const std::string text = edit(base_run(), sample_trace_path(), missing.string());
  expect_rejected(run_file(text), {loc(dir_ / "run.yaml", line_of(text, missing.string())) +
                                   " traces: no such file: " + missing.string()});
}

TEST_F(Cli, MissingNpuFileIsRejected) {
  const fs::path missing = dir_ / "nosuch-npu.yaml";
  const std::string text =
      edit(base_run(), (kSource / "configs/npu/datacenter-hbm3.yaml").string(), missing.string());
  expect_rejected(run_file(text), {loc(dir_ / "run.yaml", line_of(text, missing.string())) +
                                   " npu: no such file: " + missing.string()});
}

TEST_F(Cli, MissingRunFileIsRejected) {
  expect_rejected(npusim({"run", (dir_ / "nosuch.yaml").string(), "--out", out().string()}),
                  {(dir_ / "nosuch.yaml").string() + ": cannot open"});
}

// ---------------------------------------------------------------------------------------------------------------
// Bad NPU files.

TEST_F(Cli, NpuUnknownKeyInsideDramIsRejected) {
  const std::string text = edit(base_npu(), "  channels: 128", "  channels: 128\n  chanels: 8");
  expect_rejected(run_npu(text),
                  {loc(dir_ / "npu.yaml", line_of(text, "chanels: 8")), "dram.chanels: unknown key"});
}

TEST_F(Cli, NpuZeroMacRowsIsRejected) {
  const std::string text = edit(base_npu(), "  rows: 256", "  rows: 0");
  expect_rejected(run_npu(text),
                  {loc(dir_ / "npu.yaml", line_of(text, "rows: 0")), "mac_array.rows: 0 is out of range"});
}

TEST_F(Cli, NpuUnknownDramPresetIsRejected) {
  const std::string text = edit(base_npu(), "  preset: hbm3", "  preset: gddr9");
  expect_rejected(run_npu(text), {loc(dir_ / "npu.yaml", line_of(text, "gddr9")), "dram.preset", "'gddr9'"});
}

TEST_F(Cli, NpuNonNumericClockIsRejected) {
  const std::string text = edit(base_npu(), "  clock_mhz: 1500", "  clock_mhz: fast");
  expect_rejected(run_npu(text), {loc(dir_ / "npu.yaml", line_of(text, "clock_mhz: fast")),
                                  "core.clock_mhz: expected a number", "'fast'"});
}

// ---------------------------------------------------------------------------------------------------------------
// Bad --set overrides.

// A value that came from --set is reported against the flag, not against a line of the file it overrides.
TEST_F(Cli, SetOutOfRangeNamesTheFlagNotALineOfTheFile) {
  const Result r = run_file(base_run(), {"--set", "npu.dram.channels=0"});
  expect_rejected(r, {"dram.channels", "out of range", "--set"});
  EXPECT_NOT_CONTAINS(r.err, "datacenter-hbm3.yaml:1:");  // line 1 is a comment
}

// The same for the run document.
TEST_F(Cli, SetOutOfRangeInRunDocumentNamesTheFlag) {
  const Result r = run_file(base_run(), {"--set", "max_requests=-1"});
  expect_rejected(r, {"max_requests", "out of range", "--set"});
  EXPECT_NOT_CONTAINS(r.err, loc(dir_ / "run.yaml", 1));  // line 1 is a comment
}

// The message quotes the flag as typed (the "npu." prefix routes it, and is not cut from the message).
TEST_F(Cli, SetThroughANonMappingQuotesTheFlagAsTyped) {
  expect_rejected(run_file(base_run(), {"--set", "npu.dram.channels.x=5"}), {"--set npu.dram.channels.x=5"});
}

TEST_F(Cli, SetUnknownKeyIsRejected) {
  expect_rejected(run_file(base_run(), {"--set", "npu.dram.chanels=8"}),
                  {"datacenter-hbm3.yaml", "dram.chanels: unknown key"});
}

TEST_F(Cli, SetWithoutEqualsIsRejected) {
  expect_rejected(run_file(base_run(), {"--set", "nokey"}), {"--set nokey", "key.path=value"});
}

// ---------------------------------------------------------------------------------------------------------------
// Bad traces.

TEST_F(Cli, TraceWithBadJsonOnLine3IsRejected) {
  const std::string text = edit_line(base_trace(), 3, "\"eos\":true}", "\"eos\":true");
  expect_rejected(run_trace(text), {loc(dir_ / "t.jsonl", 3), "invalid JSON"});
}

TEST_F(Cli, TraceVersion2IsRejected) {
  expect_rejected(run_trace(edit_line(base_trace(), 1, "\"version\":1", "\"version\":2")),
                  {loc(dir_ / "t.jsonl", 1), "version: 2 is not supported"});
}

TEST_F(Cli, TraceWithZeroDecodeStepsIsRejected) {
  expect_rejected(run_trace(edit_line(base_trace(), 2, "[[3,54]]", "[[3,0]]")),
                  {loc(dir_ / "t.jsonl", 2), "decode[0] steps", "positive integer"});
}

TEST_F(Cli, TraceWithNineBitsIsRejected) {
  expect_rejected(run_trace(edit_line(base_trace(), 2, "\"prefill_bits\":3", "\"prefill_bits\":9")),
                  {loc(dir_ / "t.jsonl", 2), "prefill_bits", "bit width", "9"});
}

TEST_F(Cli, TraceForAnotherModelIsRejected) {
  const std::string phi = (kSource / "traces/samples/phi-1.5_cnn_dm.jsonl").string();
  expect_rejected(run_file(edit(base_run(), sample_trace_path(), phi)),
                  {loc(phi, 1), "model", "'phi-1.5'", "'vicuna-7b'"});
}

TEST_F(Cli, FourBitStepsUnderThreeBitAnyprecParentAreRejected) {
  const std::string run = edit(base_run(), "    bits: trace\n", "    bits: trace\n    parent_bits: 3\n");
  expect_rejected(run_trace(edit_line(base_trace(), 3, "[[3,68]]", "[[3,30],[4,38]]"), run),
                  {loc(dir_ / "t.jsonl", 3), "decode[1]", "4 bits", "cnn_dm/1"});
}

// ---------------------------------------------------------------------------------------------------------------
// Bad command lines.

TEST_F(Cli, UnknownRunFlagIsRejected) {
  expect_rejected(run_file(base_run(), {"--bogus"}), {"run:", "'--bogus'"});
}

TEST_F(Cli, RunWithoutRunFileIsRejected) {
  const Result r = npusim({"run", "--out", out().string()});
  expect_rejected(r, {"run: expected a run file", "npusim run RUN.yaml"});
}

TEST_F(Cli, UnknownCommandIsRejected) {
  expect_rejected(npusim({"frobnicate"}), {"unknown command 'frobnicate'"});
}

TEST_F(Cli, TraceWithoutSubcommandIsRejected) {
  expect_rejected(npusim({"trace"}), {"trace:", "synth", "stats"});
}

TEST_F(Cli, DescribeUnknownDocumentIsRejected) {
  expect_rejected(npusim({"describe", "gpu"}), {"describe gpu", "npu, run, model"});
}

// ---------------------------------------------------------------------------------------------------------------
// describe, trace, help.

TEST_F(Cli, DescribeNpuListsFieldsWithUnits) {
  const Result r = npusim({"describe", "npu"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* s : {"dram.channels", "core.clock_mhz", "MHz", "mac_array.rows", "dram.preset", "MT/s"}) {
    EXPECT_CONTAINS(r.out, s);
  }
}

TEST_F(Cli, DescribeRunListsFieldsWithUnits) {
  const Result r = npusim({"describe", "run"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* s : {"max_requests", "requests", "traces", "configurations[].weights",
                        "configurations[].parent_bits", "baselines.fp16", "bits"}) {
    EXPECT_CONTAINS(r.out, s);
  }
}

TEST_F(Cli, TraceSynthReproducesTheCommittedSample) {
  const Result r = npusim({"trace", "synth", "traces/specs/vicuna-7b_cnn_dm.yaml"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out == base_trace()) << "synth output differs from traces/samples/vicuna-7b_cnn_dm.jsonl";
}

TEST_F(Cli, TraceStatsCountsTheRequests) {
  const Result r = npusim({"trace", "stats", "traces/samples/vicuna-7b_cnn_dm.jsonl"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("requests +16\n"))) << r.out;
}

TEST_F(Cli, HelpPrintsUsageAndSucceeds) {
  const Result r = npusim({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* s : {"usage: npusim", "run RUN.yaml", "trace synth", "trace stats", "describe"}) {
    EXPECT_CONTAINS(r.out, s);
  }
}

TEST_F(Cli, NoArgumentsPrintsUsageAndFails) {
  const Result r = npusim({});
  EXPECT_NE(r.code, 0);
  EXPECT_CONTAINS(r.out + r.err, "usage: npusim");
}

}  // namespace

// `npusim sweep` end to end: spec expansion (counts, zips, filters, explicit points, duplicates), bad fields and
// values rejected with the spec's line, resume after the sweep is killed (no point lost or run twice), and a
// failing point recorded without stopping the sweep.
#include <signal.h>

#include <chrono>
#include <map>
#include <thread>

#include "tests/cli/cli_fixture.h"

namespace {

class Sweep : public Cli {
 protected:
  // A spec over the default run (absolute base path), written as spec.yaml.
  fs::path spec(const std::string& body) {
    return write("spec.yaml", "name: t\nbase: " + (kSource / "configs/runs/default.yaml").string() + "\n" + body);
  }
  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
};

// 2 presets x 3 channel counts x a zip of 2 = 12; the exclude drops the 2 points with lpddr5x and 128 channels
// (both zip values); one explicit point is new, one repeats point 0 and is dropped: 12 - 2 + 1 = 11 points.
TEST_F(Sweep, SpecExpandsProductZipFiltersAndPoints) {
  const fs::path s = spec(
      "set: [max_requests=1]\n"
      "axes:\n"
      "  - {field: npu.dram.preset, values: [hbm3, lpddr5x-8533]}\n"
      "  - {field: npu.dram.channels, values: [32, 64, 128]}\n"
      "  - zip:\n"
      "      - {field: configurations.1.bits, values: [4, 2]}\n"
      "      - {field: configurations.3.bits, values: [4, 2]}\n"
      "points:\n"
      "  - {npu.dram.preset: ddr5-4800, npu.dram.channels: 16, configurations.1.bits: 3, configurations.3.bits: "
      "3}\n"
      "  - {npu.dram.preset: hbm3, npu.dram.channels: 32, configurations.1.bits: 4, configurations.3.bits: 4}\n"
      "exclude:\n"
      "  - {npu.dram.preset: lpddr5x-8533, npu.dram.channels: 128}\n");
  const Result r = npusim({"sweep", s.string(), "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 12u);
  EXPECT_EQ(out[0], "t: 11 points (2 excluded, 1 duplicates dropped)");
  // The first axis varies slowest, the zip's two fields together.
  EXPECT_CONTAINS(out[1],
                  "npu.dram.preset=hbm3 npu.dram.channels=32 configurations.1.bits=4 configurations.3.bits=4");
  EXPECT_CONTAINS(out[2],
                  "npu.dram.preset=hbm3 npu.dram.channels=32 configurations.1.bits=2 configurations.3.bits=2");
  EXPECT_CONTAINS(out[3], "npu.dram.preset=hbm3 npu.dram.channels=64 configurations.1.bits=4");
  EXPECT_CONTAINS(out[7], "npu.dram.preset=lpddr5x-8533 npu.dram.channels=32");
  EXPECT_CONTAINS(out[11], "npu.dram.preset=ddr5-4800 npu.dram.channels=16");
  for (const std::string& l : out) EXPECT_NOT_CONTAINS(l, "lpddr5x-8533 npu.dram.channels=128");
}

TEST_F(Sweep, BadFieldsAndValuesNameTheSpecLine) {
  const std::string unknown = "axes:\n  - {field: npu.dram.chanels, values: [32]}\n";
  const fs::path a = spec(unknown);
  expect_rejected(npusim({"sweep", a.string(), "--out", out().string()}),
                  {loc(a, 4), "npu.dram.chanels=32", "chanels: unknown key"});
  const std::string range = "axes:\n  - {field: max_requests, values: [2, -1]}\n";
  const fs::path b = spec(range);
  expect_rejected(npusim({"sweep", b.string(), "--out", out().string()}),
                  {loc(b, 4), "max_requests=-1", "out of range"});
  const std::string zip =
      "axes:\n  - zip:\n      - {field: max_requests, values: [1, 2]}\n      - {field: fidelity, values: "
      "[fast]}\n";
  const fs::path c = spec(zip);
  expect_rejected(npusim({"sweep", c.string(), "--out", out().string()}), {loc(c, 6), "zipped axes need as many"});
  // A filter on a field nothing sets is a misspelling, not a filter that happens to drop nothing.
  const fs::path e = spec("axes:\n  - {field: max_requests, values: [1, 2]}\nexclude:\n  - {max_request: 1}\n");
  expect_rejected(npusim({"sweep", e.string(), "--out", out().string()}),
                  {loc(e, 6), "no axis or point sets max_request"});
  const fs::path d = spec("axis:\n  - {field: max_requests, values: [1]}\n");
  expect_rejected(npusim({"sweep", d.string(), "--out", out().string()}), {loc(d, 3), "axis: unknown key"});
  // A point whose key is a sequence (once an uncaught yaml-cpp conversion error, exit 3).
  const fs::path f = spec("points: [{[a]: 1}]\n");
  expect_rejected(npusim({"sweep", f.string(), "--out", out().string()}), {loc(f, 3), "expected a field name"});
  EXPECT_FALSE(fs::exists(out()));
}

// A 1 KB spec of 12 axes x 10 values is 10^12 points: refused before anything is expanded (it once grew by 250
// MB/s even with --dry-run), and --max-points sets the limit (2 points against a limit of 1).
TEST_F(Sweep, SpecsOfTooManyPointsAreRefusedBeforeExpanding) {
  std::string axes = "axes:\n";
  for (int i = 0; i < 12; ++i) {
    axes += "  - {field: configurations.0.group_size, values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n";
  }
  const fs::path s = spec(axes);
  expect_rejected(npusim({"sweep", s.string(), "--dry-run"}),
                  {s.string(), "more than 10000 points", "--max-points"});
  const fs::path two = spec("axes:\n  - {field: max_requests, values: [1, 2]}\n");
  expect_rejected(npusim({"sweep", two.string(), "--dry-run", "--max-points", "1"}), {"more than 1 points"});
  EXPECT_EQ(npusim({"sweep", two.string(), "--dry-run", "--max-points", "2"}).code, 0);
}

// A point.json that is not the point's record (garbage, a hand edit) does not make the point finished: the next
// run runs it again (it once counted as finished, and the table then failed on its missing results).
TEST_F(Sweep, AGarbagePointRecordIsRunAgain) {
  const fs::path s =
      spec("set: [max_requests=1]\naxes:\n  - {field: fast_path.step_stride, values: [512, 256]}\n");
  const Result first = npusim({"sweep", s.string(), "--out", out().string()});
  ASSERT_EQ(first.code, 0) << first.err;
  std::vector<fs::path> records;
  for (const auto& e : fs::directory_iterator(out() / "points")) records.push_back(e.path() / "point.json");
  ASSERT_EQ(records.size(), 2u);
  write_text(records[0], "garbage");
  const Result again = npusim({"sweep", s.string(), "--out", out().string()});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_CONTAINS(again.out, "2 points: 1 already finished, 1 run now, 0 failed");
  EXPECT_NE(read_text(records[0]), "garbage");
}

// A sweep.json without its fields (once an uncaught nlohmann out_of_range, exit 3).
TEST_F(Sweep, ReportOfASweepJsonWithoutFieldsIsRejected) {
  fs::create_directories(dir_ / "s");
  write("s/sweep.json", "{\"format\": \"npusim-sweep\"}");
  write("s/sweep.jsonl", "");
  expect_rejected(npusim({"report", (dir_ / "s").string()}), {"sweep.json: fields", "expected a list"});
}

// Rows of the sweep's table per point index (the CSV's first column).
std::map<std::string, int> rows_per_point(const std::string& csv) {
  std::map<std::string, int> count;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) ++count[line.substr(0, line.find(','))];
  return count;
}

// Killed after two of six points finished (each takes a second or two: 4 requests x 4 configurations), the sweep
// resumes: the finished points are skipped, the rest run, and the table holds every point exactly once (4 rows:
// one per configuration).
TEST_F(Sweep, ResumesAfterAKillWithoutLosingOrRepeatingPoints) {
  const fs::path s = spec(
      "set: [max_requests=4]\naxes:\n  - {field: npu.core.clock_mhz, values: [1000, 1100, 1200, 1300, 1400, "
      "1500]}\n");
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    execl(NPUSIM_EXE, NPUSIM_EXE, "sweep", s.c_str(), "--out", out().c_str(), "-j", "1",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto finished = [&] {
    size_t n = 0;
    if (!fs::exists(out() / "points")) return n;
    for (const auto& p : fs::directory_iterator(out() / "points")) n += fs::exists(p.path() / "point.json");
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (finished() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  const size_t before = finished();
  ASSERT_GE(before, 2u);
  ASSERT_LT(before, 6u) << "the sweep finished before it could be killed: nothing was tested";
  const Result r = npusim({"sweep", s.string(), "--out", out().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "6 points: " + std::to_string(before) + " already finished, " +
                             std::to_string(6 - before) + " run now, 0 failed");
  const auto rows = rows_per_point(read_text(out() / "sweep.csv"));
  ASSERT_EQ(rows.size(), 6u);
  for (const auto& [point, n] : rows) EXPECT_EQ(n, 4) << "point " << point;
  // A rerun of a finished sweep runs nothing.
  const Result again = npusim({"sweep", s.string(), "--out", out().string()});
  EXPECT_CONTAINS(again.out, "6 points: 6 already finished, 0 run now, 0 failed");
}

// A point that fails (here: killed for running past --point-timeout; the full-fidelity default run takes hours at
// command level) is recorded with its error; the other point still runs, the table holds it alone, the exit code
// is 1.
TEST_F(Sweep, FailingPointIsRecordedAndTheSweepGoesOn) {
  const fs::path s =
      spec("points:\n  - {max_requests: 1, fidelity: fast}\n  - {max_requests: 16, fidelity: full}\n");
  const Result r = npusim({"sweep", s.string(), "--out", out().string(), "-j", "2", "--point-timeout", "3"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_CONTAINS(r.out, "2 points: 0 already finished, 1 run now, 1 failed");
  const auto rows = rows_per_point(read_text(out() / "sweep.csv"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.begin()->first, "0");
  const auto failure = nlohmann::json::parse(read_text(out() / "failures.jsonl"));
  EXPECT_EQ(failure.at("index"), 1);
  EXPECT_CONTAINS(failure.at("error").get<std::string>(), "timed out after 3 s");
  EXPECT_EQ(failure.at("fields").at("fidelity"), "full");
}

// The shipped MAC-array example: decode is bandwidth-bound on the GEMV engine, so the time per output token
// follows the channels (4x the peak bandwidth from 32 to 128 HBM3 pseudo-channels: TPOT within 5% of a quarter)
// and not the array; the prefill is compute-bound on the systolic array, so a 512 x 512 array (16x the PEs) gives
// a shorter time to first token than a 128 x 128 one in every dataflow, whatever the channels.
TEST_F(Sweep, MacDataflowExampleTradesPrefillForDecode) {
  const Result r = npusim(
      {"sweep", (kSource / "configs/sweeps/mac_dataflow.yaml").string(), "--out", out().string(), "-j", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::map<std::string, nlohmann::json> uniform;  // "rows cols dataflow channels" -> row
  for (const std::string& line : lines(read_text(out() / "sweep.jsonl"))) {
    const auto row = nlohmann::json::parse(line);
    if (row.at("configuration") != "uniform") continue;
    // Axis values are recorded as the spec gives them, as text.
    uniform[row.at("npu.mac_array.rows").get<std::string>() + " " +
            row.at("npu.mac_array.cols").get<std::string>() + " " +
            row.at("npu.mac_array.dataflow").get<std::string>() + " " +
            row.at("npu.dram.channels").get<std::string>()] = row;
  }
  ASSERT_EQ(uniform.size(), 24u);
  for (const char* dataflow : {"weight_stationary", "output_stationary", "input_stationary"}) {
    for (const char* shape : {"128 128 ", "128 512 ", "512 128 ", "512 512 "}) {
      const auto& few = uniform.at(std::string(shape) + dataflow + " 32");
      const auto& many = uniform.at(std::string(shape) + dataflow + " 128");
      EXPECT_NEAR(many.at("tpot_ms").get<double>(), few.at("tpot_ms").get<double>() / 4,
                  0.05 * few.at("tpot_ms").get<double>() / 4)
          << shape << dataflow;
    }
    for (const char* channels : {" 32", " 128"}) {
      EXPECT_LT(uniform.at(std::string("512 512 ") + dataflow + channels).at("ttft_ms").get<double>(),
                uniform.at(std::string("128 128 ") + dataflow + channels).at("ttft_ms").get<double>())
          << dataflow << channels;
    }
  }
}

TEST_F(Sweep, ReportPrintsBestPointsAndParetoFronts) {
  const fs::path s = spec("set: [max_requests=1]\naxes:\n  - {field: npu.dram.channels, values: [32, 128]}\n");
  ASSERT_EQ(npusim({"sweep", s.string(), "--out", out().string()}).code, 0);
  const Result r = npusim({"report", out().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "sweep t: 2 points in the table (2 in the spec, 0 failed)");
  // More channels, more bandwidth: the 128-channel point (1) is every configuration's fastest.
  EXPECT_CONTAINS(r.out, "vicuna-7b / cnn_dm / uniform");
  EXPECT_CONTAINS(r.out, "point    1  npu.dram.channels=128");
  EXPECT_CONTAINS(r.out, "Pareto front, samples_per_s up, peak_dram_bytes_per_s down:");
}

}  // namespace

namespace {

// The same sweep over MPI (3 ranks: rank 0 hands out points, two run them) and locally, point for point: the
// tables are byte-identical and the same point fails (the full-fidelity one, past --point-timeout, on whichever
// rank was given it). Skipped where sweep --mpi is not built.
TEST_F(Sweep, MpiRunEqualsLocalRunPointForPoint) {
#ifndef NPUSIM_MPIEXEC
  GTEST_SKIP() << "built without MPI (NPUSIM_WITH_MPI and Debian's libopenmpi-dev)";
#else
  const fs::path s = spec(
      "set: [max_requests=1]\naxes:\n  - {field: npu.dram.channels, values: [32, 64, 128]}\n"
      "points:\n  - {max_requests: 16, fidelity: full}\n");
  const fs::path local = dir_ / "local", mpi = dir_ / "mpi";
  const Result a = npusim({"sweep", s.string(), "--out", local.string(), "-j", "2", "--point-timeout", "3"});
  EXPECT_EQ(a.code, 1) << a.err;
  std::vector<std::string> args{NPUSIM_MPIEXEC, "-np", "3", "--oversubscribe"};
  if (geteuid() == 0) args.push_back("--allow-run-as-root");
  // mpirun itself must be able to start ranks here (a container may forbid it): that is not npusim's to test.
  std::string probe;
  for (const std::string& w : args) probe += "'" + w + "' ";
  if (std::system((probe + "/bin/true > '" + (dir_ / "probe.log").string() + "' 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "mpirun cannot start 3 ranks on this machine:\n" << read_text(dir_ / "probe.log");
  }
  for (const char* w : {NPUSIM_EXE, "sweep"}) args.push_back(w);
  for (const std::string& w : {s.string(), std::string("--mpi"), std::string("--out"), mpi.string(),
                               std::string("--point-timeout"), std::string("3")}) {
    args.push_back(w);
  }
  std::string command;
  for (const std::string& w : args) command += "'" + w + "' ";
  const int status = std::system((command + "> '" + (dir_ / "mpi.log").string() + "' 2>&1").c_str());
  EXPECT_NE(status, 0) << "one point fails, so the sweep exits non-zero";
  EXPECT_CONTAINS(read_text(dir_ / "mpi.log"), "4 points: 0 already finished, 3 run now, 1 failed");
  EXPECT_EQ(read_text(mpi / "sweep.csv"), read_text(local / "sweep.csv"));
  EXPECT_EQ(read_text(mpi / "sweep.jsonl"), read_text(local / "sweep.jsonl"));
  const auto failed = [](const fs::path& dir) {
    const auto j = nlohmann::json::parse(read_text(dir / "failures.jsonl"));
    return std::make_pair(j.at("index").get<int>(), j.at("error").get<std::string>());
  };
  EXPECT_EQ(failed(mpi), failed(local));
  EXPECT_EQ(failed(mpi).first, 3);
  EXPECT_FALSE(fs::exists(mpi / ".ranks"));
#endif
}

}  // namespace

namespace {

// The example sweep's second precision pair is its spec synthesized, nothing else.
TEST_F(Sweep, ExampleSweepTraceIsItsSpecSynthesized) {
  const Result r = npusim({"trace", "synth", "traces/sweeps/vicuna-7b_cnn_dm_4-3.yaml"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, read_text(kSource / "traces/sweeps/vicuna-7b_cnn_dm_4-3.jsonl"));
}

}  // namespace

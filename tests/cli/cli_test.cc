// End-to-end tests of the npusim command line: runs, determinism, every bad-input class, other subcommands.
#include "tests/cli/cli_fixture.h"

namespace {

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
  // The whole run's DRAM statistics and the per-configuration ones come from different places (the DRAM's own
  // counters at the end; the phase-by-phase deltas): they must agree on every byte.
  uint64_t per_configuration_bytes = 0;
  for (const auto& r : results) per_configuration_bytes += r.at("counters").at("dram_read_bytes").get<uint64_t>();
  EXPECT_EQ(doc.at("dram").at("read_bytes").get<uint64_t>(), per_configuration_bytes);

  std::istringstream csv(read_text(out() / "results.csv"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1 + kConfigurations.size());
  EXPECT_EQ(lines[0].rfind("task,trace,model,scheduler,configuration,", 0), 0u) << lines[0];
  for (size_t i = 0; i < kConfigurations.size(); ++i)
    EXPECT_CONTAINS(lines[i + 1], "," + kConfigurations[i] + ",");
}

// Where the time goes: results.json splits every configuration by phase kind and operator class, and `report
// --breakdown` prints it.
TEST_F(Cli, BreakdownSplitsTheRunByPhaseKindAndClass) {
  const Result r =
      npusim({"run", "configs/runs/default.yaml", "--out", out().string(), "--set", "max_requests=1", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto doc = nlohmann::json::parse(read_text(out() / "results.json"));
  for (const auto& result : doc.at("results")) {
    const std::string name = result.at("configuration");
    const auto& counters = result.at("counters");
    uint64_t bytes = 0, time_ps = 0, macs = 0;
    for (const char* kind : {"prefill", "decode"}) {
      for (const auto& [cls, c] : result.at("breakdown").at(kind).at("classes").items()) {
        bytes += c.at("dram_read_bytes").get<uint64_t>() + c.at("dram_write_bytes").get<uint64_t>();
        time_ps += c.at("time_ps").get<uint64_t>();
        macs += c.at("macs").get<uint64_t>();
      }
    }
    // The classes' bytes are counted tile by tile as the core consumes them, the run's on the DRAM bus: equal.
    // Their MACs are the operators'.
    EXPECT_EQ(bytes,
              counters.at("dram_read_bytes").get<uint64_t>() + counters.at("dram_write_bytes").get<uint64_t>())
        << name;
    EXPECT_EQ(macs, counters.at("macs").get<uint64_t>()) << name;
    // The core's time splits over the classes; what is left is each phase's drain of posted K/V writes (and, in
    // the fast fidelity, the rounding of each extended counter to whole picoseconds: below a nanosecond).
    const auto total_ps = counters.at("total_ps").get<double>();
    EXPECT_LE(static_cast<double>(time_ps), total_ps + 1000) << name;
    EXPECT_GT(static_cast<double>(time_ps), 0.99 * total_ps) << name;
    // A decode step on the HBM3 NPU moves its weights at 3.28 TB/s: at 16 bits 1.64e12 weights/s, 6.7% of the
    // GEMV engine's 24.6e12 MACs/s and of the dequantizer's rate; the DRAM is the busiest unit.
    if (name == "fp16") {
      EXPECT_EQ(result.at("breakdown").at("decode").at("total").at("bound"), "DRAM");
    }
    EXPECT_TRUE(result.at("bound").is_string()) << name;
    // Spilled activations of the 850-token prompt on the 32 MiB activation SRAM (activation_plan.cc's policy):
    // the stream, normed, q and k (4 x 850 x 8192 B = 27.9 MB) fit and v (6,963,200 B) does not; after the
    // attention, gate (850 x 22016 = 18,713,600 B) fits beside stream and normed, up does not, nor does act's
    // output beside stream and gate. Each is written once and read once (v by kv_write; up by act; act by
    // down_proj, in one block): 6,963,200 + 2 x 18,713,600 = 44,390,400 B each way per layer, x 32 layers.
    // (The value op reads v back from the KV cache: attention bytes, not spills.) Activations are fp16 in
    // every configuration.
    const auto& spill = result.at("breakdown").at("prefill").at("classes").at("spill");
    EXPECT_EQ(spill.at("dram_read_bytes").get<uint64_t>(), 32u * 44390400u) << name;
    EXPECT_EQ(spill.at("dram_write_bytes").get<uint64_t>(), 32u * 44390400u) << name;
    EXPECT_FALSE(result.at("breakdown").at("decode").at("classes").contains("spill")) << name;
    // On-chip energy per decode step at the declared defaults (1.5 pJ a MAC; 1.25 pJ a byte written into SRAM
    // and 1.25 pJ read out): every decode byte from DRAM lands in a tile buffer and is read once, every byte to
    // DRAM is read out of SRAM once, and the operators read and write their activations in the activation SRAM.
    const auto& decode = result.at("breakdown").at("decode").at("total");
    const double pj = 1.5 * decode.at("macs").get<double>() + 2.5 * decode.at("dram_read_bytes").get<double>() +
                      1.25 * decode.at("dram_write_bytes").get<double>() +
                      1.25 * (counters.at("decode_sram_activation_read_bytes").get<double>() +
                              counters.at("decode_sram_activation_write_bytes").get<double>());
    EXPECT_NEAR(result.at("metrics").at("npu_energy_per_token_mj").get<double>(),
                pj * 1e-9 / counters.at("decode_steps").get<double>(), 1e-9)
        << name;
  }
  const Result rep = npusim({"report", out().string(), "--breakdown"});
  ASSERT_EQ(rep.code, 0) << rep.err;
  EXPECT_CONTAINS(rep.out, "Where the time goes");
  EXPECT_TRUE(std::regex_search(rep.out, std::regex("\ndecode +mlp +[0-9]"))) << rep.out;
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

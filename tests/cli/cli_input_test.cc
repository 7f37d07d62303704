// More bad-input classes of the npusim command line, each caught before any simulation starts: the message names
// the file, line and field (or the flag), the exit code is 2, and no results file is written.
#include "tests/cli/cli_fixture.h"

namespace {

TEST_F(Cli, FixedBitsAboveTheParentAreRejectedBeforeSimulating) {
  // 'uniform' runs the pair's high precision (3 bits) from an anyprec model; a 2-bit parent cannot provide it.
  const std::string run = edit(base_run(), "    bits: high\n", "    bits: high\n    parent_bits: 2\n");
  expect_rejected(run_file(run), {"configuration 'uniform'", "parent"});
}

TEST_F(Cli, PromptLongerThanTheModelsContextIsRejected) {
  // Vicuna-7B's max_position_embeddings is 4096: a 5000-token prompt cannot be replayed.
  expect_rejected(run_trace(edit_line(base_trace(), 2, "\"prompt_tokens\":850", "\"prompt_tokens\":5000")),
                  {loc(dir_ / "t.jsonl", 2), "max_position_embeddings", "4096"});
}

TEST_F(Cli, AbsurdLengthIsRejectedNotSimulated) {
  expect_rejected(run_trace(edit_line(base_trace(), 2, "[[3,54]]", "[[3,1000000000000]]")),
                  {loc(dir_ / "t.jsonl", 2), "decode[0] steps", "exceeds"});
}

TEST_F(Cli, PrecisionPairLowFirstIsRejected) {
  expect_rejected(run_trace(edit_line(base_trace(), 1, "\"precisions\":[3,2]", "\"precisions\":[2,3]")),
                  {loc(dir_ / "t.jsonl", 1), "precisions", "high first"});
}

TEST_F(Cli, DuplicateYamlKeyIsRejected) {
  const std::string run = base_run() + "max_requests: 3\n";  // base_run() already sets max_requests
  expect_rejected(run_file(run), {loc(dir_ / "run.yaml", line_of(run, "max_requests: 3")), "given twice"});
}

TEST_F(Cli, ConfigurationNameWithACommaIsRejected) {
  const std::string run = edit(base_run(), "name: pmpd", "name: \"pm,pd\"");
  expect_rejected(run_file(run), {loc(dir_ / "run.yaml", line_of(run, "pm,pd")), "letters, digits"});
}

// A run name is a folder name under results/: "../x" or an absolute path once wrote outside it.
TEST_F(Cli, RunNameThatIsAPathIsRejected) {
  for (const std::string bad : {"../escaped", "/tmp/abs", ".."}) {
    const std::string run = edit(base_run(), "name: default", "name: \"" + bad + "\"");
    expect_rejected(run_file(run), {loc(dir_ / "run.yaml", 4), "name"});
  }
}

// --out naming a file is refused before anything is simulated (once after the whole run).
TEST_F(Cli, RunOutThatIsAFileIsRefusedBeforeSimulating) {
  const fs::path file = write("not_a_folder", "x");
  const Result r = npusim({"run", write("run.yaml", base_run()).string(), "--out", file.string()});
  expect_rejected(r, {"not_a_folder", "not a folder"});
  EXPECT_EQ(r.out, "");  // no results table: nothing ran
}

TEST_F(Cli, RunFileThatIsAFolderIsRejected) {
  fs::create_directories(dir_ / "folder.yaml");
  expect_rejected(npusim({"run", (dir_ / "folder.yaml").string(), "--out", out().string()}),
                  {"folder.yaml", "is a folder"});
}

TEST_F(Cli, TileBufferSmallerThanOneRowIsRejected) {
  // An fp16 lm_head row of Vicuna-7B is 4096 * 2 = 8192 bytes; a 4096-byte buffer cannot hold it.
  expect_rejected(run_file(base_run(), {"--set", "npu.sram.weight_buffer_bytes=4096"}),
                  {"sram.weight_buffer_bytes", "cannot hold one output row"});
}

TEST_F(Cli, SramTooSmallForTheActivationPlanIsRejectedBeforeTheRun) {
  // A Vicuna-7B activation row is 4096 x 2 = 8192 bytes: a 4096-byte activation SRAM holds none, and a 1000-byte
  // attention scratch cannot hold a one-row FlashAttention block (1292 bytes at head_dim 128). Both name the NPU
  // file and the field, and nothing is written.
  expect_rejected(run_file(base_run(), {"--set", "npu.sram.activation_bytes=4096"}),
                  {"datacenter-hbm3.yaml", "sram.activation_bytes", "cannot hold one 8192-byte input row"});
  expect_rejected(run_file(base_run(), {"--set", "npu.sram.attention_scratch_bytes=1000"}),
                  {"datacenter-hbm3.yaml", "sram.attention_scratch_bytes", "1292 bytes"});
  EXPECT_FALSE(fs::exists(out() / "results.json"));
}

TEST_F(Cli, HuggingFaceConfigRunsUnderTheTracesModelName) {
  // The fixture config.json is Vicuna-7B's; its folder name differs from the traces' model name, which
  // model_name supplies.
  const std::string hf = (kSource / "tests/fixtures/hf/vicuna-7b-v1.5/config.json").string();
  std::string run = edit(base_run(), (kSource / "configs/models/vicuna-7b.yaml").string(), hf);
  const Result without = run_file(run);
  expect_rejected(without, {"'vicuna-7b-v1.5'", "model_name"});
  run = edit(run, "max_requests: 2", "max_requests: 1\nmodel_name: vicuna-7b");
  const Result with = run_file(run);
  EXPECT_EQ(with.code, 0) << with.err;
  expect_results(out());
}

TEST_F(Cli, RefreshIntervalTooShortForAReadIsRejected) {
  // HBM3 refreshes per bank: tRFCpb 200 + tRCD 19.375 + tCL 12.5 + a 1.25 ns burst = 233.125 ns must fit in
  // tREFI; 0 would never finish. All-bank: tRFC 350 + 19.375 + 12.5 + 1.25 = 383.125 ns.
  expect_rejected(run_file(base_run(), {"--set", "npu.dram.model=command", "--set", "npu.dram.timing.tREFI=0"}),
                  {"tREFI", "tRFCpb", "233.125"});
  expect_rejected(run_file(base_run(), {"--set", "npu.dram.model=command", "--set", "npu.dram.refresh=all_bank",
                                        "--set", "npu.dram.timing.tREFI=0"}),
                  {"tREFI", "tRFC +", "383.125"});
}

TEST_F(Cli, UnknownFidelityIsRejected) {
  expect_rejected(run_file(base_run(), {"--fidelity", "medium"}), {"--fidelity medium", "full or fast"});
  const std::string run = base_run() + "fidelity: medium\n";
  expect_rejected(run_file(run), {loc(dir_ / "run.yaml", line_of(run, "fidelity: medium")), "fidelity"});
}

TEST_F(Cli, ChannelSampleThatIsNotAPowerOfTwoIsRejected) {
  // Channel counts are powers of two, so a sample of them that divides them is one too.
  const std::string run = base_run() + "fast_path:\n  sample_channels: 3\n";
  expect_rejected(run_file(run), {loc(dir_ / "run.yaml", line_of(run, "sample_channels: 3")),
                                  "fast_path.sample_channels", "power of two"});
}

TEST_F(Cli, BadNpuSetInTheRunFileNamesItsLine) {
  const std::string run = base_run() + "npu_set:\n  - dram.model=nosuch\n";
  expect_rejected(run_file(run), {loc(dir_ / "run.yaml", line_of(run, "dram.model=nosuch")), "npu_set",
                                  "'nosuch' is not one of"});
}

TEST_F(Cli, BenchWithUnknownBenchmarkIsRejected) {
  expect_rejected(npusim({"bench", "--only", "nosuch"}), {"--only nosuch", "no such benchmark"});
}

}  // namespace

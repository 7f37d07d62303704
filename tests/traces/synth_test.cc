// Synthetic schedules, synth specs and the trace subcommands.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "common/error.h"
#include "common/files.h"
#include "traces/trace.h"

namespace npusim::traces {
namespace {

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

LengthDistribution fixed_length(int64_t tokens) {
  LengthDistribution d;
  d.kind = "fixed";
  d.value = static_cast<double>(tokens);
  d.min = 1;
  d.max = 1000000;
  return d;
}

SynthParams base_params() {
  SynthParams p;
  p.model = "vicuna-7b";
  p.task = "cnn_dm";
  p.precisions = {3, 2};
  p.max_new_tokens = 120;
  p.switch_step = 85;
  p.prompt_tokens = {"lognormal", 0, 800, 300, 200, 1800};
  p.output_tokens = {"normal", 0, 90, 25, 20, 400};
  p.requests = 16;
  p.seed = 7;
  p.notes = "test";
  return p;
}

// The schedule of one request with 10 decode steps (11 generated tokens, well below M).
std::vector<std::pair<int, int64_t>> static_schedule(int64_t switch_step) {
  SynthParams p = base_params();
  p.output_tokens = fixed_length(11);
  p.switch_step = switch_step;
  p.requests = 1;
  const Trace t = synthesize(p);
  std::vector<std::pair<int, int64_t>> out;
  for (const Segment& s : t.requests.at(0).decode) out.emplace_back(s.bits, s.steps);
  return out;
}

using Schedule = std::vector<std::pair<int, int64_t>>;

TEST(Synth, StaticSwitchStep) {
  EXPECT_EQ(static_schedule(4), (Schedule{{3, 4}, {2, 6}}));
  EXPECT_EQ(static_schedule(0), (Schedule{{3, 1}, {2, 9}}));  // pass 1 always runs high
  EXPECT_EQ(static_schedule(1), (Schedule{{3, 1}, {2, 9}}));
  EXPECT_EQ(static_schedule(10), (Schedule{{3, 10}}));
  EXPECT_EQ(static_schedule(500), (Schedule{{3, 10}}));
}

TEST(Synth, OutputLengthCutAtMaxNewTokens) {
  SynthParams p = base_params();
  p.max_new_tokens = 33;
  p.output_tokens = fixed_length(33);
  const Request at_max = synthesize(p).requests[0];
  EXPECT_FALSE(at_max.eos);  // reaching M means generation was cut
  EXPECT_EQ(at_max.output_tokens(), 33);
  p.output_tokens = fixed_length(32);
  const Request below = synthesize(p).requests[0];
  EXPECT_TRUE(below.eos);
  EXPECT_EQ(below.decode_steps(), 31);
  p.output_tokens = fixed_length(1);  // EOS straight from the prefill logits: no decode at all
  const Request first = synthesize(p).requests[0];
  EXPECT_TRUE(first.decode.empty());
  EXPECT_EQ(first.prefill_bits, 3);
}

TEST(Synth, DeterministicForASeedAndDifferentForAnother) {
  const SynthParams p = base_params();
  EXPECT_EQ(write_trace(synthesize(p)), write_trace(synthesize(p)));
  SynthParams q = p;
  q.seed = 8;
  EXPECT_NE(write_trace(synthesize(p)), write_trace(synthesize(q)));
  // A synthesized trace passes the reader and round-trips byte for byte.
  const std::string text = write_trace(synthesize(p));
  std::istringstream in(text);
  EXPECT_EQ(write_trace(parse_trace(in, "synth")), text);
}

TEST(Synth, HeaderRecordsEveryParameter) {
  const Trace t = synthesize(base_params());
  EXPECT_EQ(t.header.source["tool"], "npusim trace synth");
  EXPECT_EQ(t.header.source["notes"], "test");
  const auto& params = t.header.source["params"];
  EXPECT_EQ(params["seed"], 7);
  EXPECT_EQ(params["switch_step"], 85);
  EXPECT_EQ(params["prompt_tokens"]["kind"], "lognormal");
  EXPECT_EQ(params["output_tokens"]["stddev"], 25.0);
  EXPECT_EQ(t.requests[3].id, "cnn_dm/3");
}

TEST(Synth, LengthsRespectClamps) {
  SynthParams p = base_params();
  p.requests = 2000;
  p.prompt_tokens = {"normal", 0, 100, 400, 50, 180};  // wide: both clamps bind often
  p.output_tokens = {"uniform", 0, 0, 0, 5, 9};
  const Trace t = synthesize(p);
  bool hit_min = false, hit_max = false;
  std::vector<int> seen(10, 0);
  for (const Request& r : t.requests) {
    ASSERT_GE(r.prompt_tokens, 50);
    ASSERT_LE(r.prompt_tokens, 180);
    hit_min = hit_min || r.prompt_tokens == 50;
    hit_max = hit_max || r.prompt_tokens == 180;
    ASSERT_GE(r.output_tokens(), 5);
    ASSERT_LE(r.output_tokens(), 9);
    ++seen[r.output_tokens()];
  }
  EXPECT_TRUE(hit_min && hit_max);
  for (int v = 5; v <= 9; ++v) EXPECT_GT(seen[v], 300) << v;  // uniform over 5 values: ~400 each
}

TEST(Synth, LognormalHasTheRequestedMeanAndStddev) {
  SynthParams p = base_params();
  p.requests = 20000;
  p.prompt_tokens = {"lognormal", 0, 800, 300, 1, 1000000};  // clamps far away
  double sum = 0, sum_sq = 0;
  for (const Request& r : synthesize(p).requests) {
    sum += static_cast<double>(r.prompt_tokens);
    sum_sq += static_cast<double>(r.prompt_tokens) * static_cast<double>(r.prompt_tokens);
  }
  const double mean = sum / 20000.0;
  const double stddev = std::sqrt(sum_sq / 20000.0 - mean * mean);
  EXPECT_NEAR(mean, 800, 800 * 0.02);
  EXPECT_NEAR(stddev, 300, 300 * 0.05);
}

TEST(Synth, LearnedClassFractionsAndSwitchSteps) {
  SynthParams p = base_params();
  p.scheduler = "learned";
  p.class_probabilities = {0.1, 0.2, 0.3, 0.4};
  p.requests = 4000;
  p.max_new_tokens = 60;
  p.output_tokens = fixed_length(60);  // every request runs M - 1 = 59 decode steps
  const Trace t = synthesize(p);
  std::vector<int> count(4, 0);
  const int64_t switch_after[] = {1, 20, 40, 60};  // max(1, [0, M/3, 2M/3, M][c]) with M = 60
  for (const Request& r : t.requests) {
    const int c = r.extras.at("learned_class").get<int>();
    ASSERT_GE(c, 0);
    ASSERT_LE(c, 3);
    ++count[c];
    const int64_t high = std::min<int64_t>(59, switch_after[c]);
    Schedule expected{{3, high}};
    if (high < 59) expected.emplace_back(2, 59 - high);
    Schedule got;
    for (const Segment& s : r.decode) got.emplace_back(s.bits, s.steps);
    ASSERT_EQ(got, expected) << r.id;
  }
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(count[c] / 4000.0, p.class_probabilities[c], 0.03) << c;
}

// One seed, one set of lengths: the learned classes come from a stream of their own, so a learned trace has the
// prompts and outputs of the static trace of the same seed; output_scale then stretches every output (a draw of
// n tokens becomes round(0.5 n), at least 1) and nothing else.
TEST(Synth, EverySchedulerOfOneSeedDrawsTheSameLengths) {
  SynthParams stat = base_params();
  SynthParams learned = stat;
  learned.scheduler = "learned";
  learned.class_probabilities = {0.25, 0.25, 0.25, 0.25};
  SynthParams shorter = stat;
  shorter.output_scale = 0.5;
  const Trace a = synthesize(stat), b = synthesize(learned), c = synthesize(shorter);
  ASSERT_EQ(a.requests.size(), b.requests.size());
  for (size_t i = 0; i < a.requests.size(); ++i) {
    EXPECT_EQ(a.requests[i].prompt_tokens, b.requests[i].prompt_tokens) << i;
    EXPECT_EQ(a.requests[i].output_tokens(), b.requests[i].output_tokens()) << i;
    EXPECT_EQ(a.requests[i].prompt_tokens, c.requests[i].prompt_tokens) << i;
    if (a.requests[i].eos) {  // an uncut draw: halved
      EXPECT_EQ(c.requests[i].output_tokens(),
                std::max<int64_t>(1, std::llround(0.5 * a.requests[i].output_tokens())));
    }
  }
}

TEST(Synth, FixedSchedulerAndPrefillBits) {
  SynthParams p = base_params();
  p.scheduler = "fixed";
  p.precisions = {16};
  p.weight_format = "fp16";
  p.output_tokens = fixed_length(20);
  const Request r = synthesize(p).requests[0];
  ASSERT_EQ(r.decode.size(), 1u);
  EXPECT_EQ(r.decode[0].bits, 16);
  EXPECT_EQ(r.decode[0].steps, 19);
  EXPECT_EQ(r.prefill_bits, 16);
  p = base_params();
  p.prefill_bits = 4;
  EXPECT_EQ(synthesize(p).requests[0].prefill_bits, 4);
}

TEST(Synth, RejectsBadParameters) {
  SynthParams p = base_params();
  p.scheduler = "learned";  // without class probabilities
  EXPECT_THROW(synthesize(p), InputError);
  p = base_params();
  p.precisions = {3};
  EXPECT_THROW(synthesize(p), InputError);
  p = base_params();
  p.prompt_tokens.max = 0;
  EXPECT_THROW(synthesize(p), InputError);
}

// --- specs -----------------------------------------------------------------------------------------------------

// A spec file per test (ctest runs tests in parallel), named synth_test_spec.yaml inside the test's own folder.
std::string spec_path() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = testing::TempDir() + "/" + info->test_suite_name() + "." + info->name();
  std::filesystem::create_directories(dir);
  return dir + "/synth_test_spec.yaml";
}

std::string spec_error(const std::string& yaml) {
  const std::string path = spec_path();
  write_file_atomic(path, yaml);
  try {
    load_synth_spec(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

const std::string kSpec =
    "model: m\ntask: t\nprecisions: [4, 3]\nswitch_step: 5\nmax_new_tokens: 33\n"
    "prompt_tokens: {kind: normal, mean: 200, stddev: 60, min: 60, max: 500}\n"
    "output_tokens: {kind: fixed, value: 20, max: 100}\n";

TEST(SynthSpec, ReadsDeclaredFields) {
  EXPECT_EQ(spec_error(kSpec), "");
  const SynthParams p = load_synth_spec(spec_path());
  EXPECT_EQ(p.model, "m");
  EXPECT_EQ(p.precisions, (std::vector<int>{4, 3}));
  EXPECT_EQ(p.prompt_tokens.kind, "normal");
  EXPECT_EQ(p.prompt_tokens.max, 500);
  EXPECT_EQ(p.output_tokens.min, 1);
  EXPECT_EQ(p.requests, 16);
}

TEST(SynthSpec, FaultsNameFileLineAndKey) {
  EXPECT_CONTAINS(spec_error(kSpec + "sead: 3\n"), "synth_test_spec.yaml:8: sead: unknown key");
  EXPECT_CONTAINS(spec_error(kSpec + "seed: x\n"), "synth_test_spec.yaml:8: seed: expected an integer");
  EXPECT_CONTAINS(spec_error("model: m\ntask: t\nprecisions: [4, 3]\n"
                             "prompt_tokens: {kind: fixed, value: 9, mean: 3, max: 9}\n"
                             "output_tokens: {kind: fixed, value: 2, max: 9}\n"),
                  "prompt_tokens.mean: not used by kind 'fixed'");
  EXPECT_CONTAINS(spec_error(kSpec + "scheduler: learned\n"), "class_probabilities: scheduler 'learned' needs 4");
  EXPECT_CONTAINS(spec_error("model: m\ntask: t\nprecisions: [4, 3]\n"),
                  "prompt_tokens.kind: required key missing");
}

TEST(SynthSpec, CommittedSpecsReproduceTheCommittedSamples) {
  const std::filesystem::path root(NPUSIM_SOURCE_DIR);
  int specs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root / "traces" / "specs")) {
    if (entry.path().extension() != ".yaml") continue;
    ++specs;
    SCOPED_TRACE(entry.path().string());
    const SynthParams p = load_synth_spec(entry.path().string());
    EXPECT_EQ(entry.path().stem().string(), p.model + "_" + p.task);
    const auto sample = root / "traces" / "samples" / (entry.path().stem().string() + ".jsonl");
    EXPECT_EQ(write_trace(synthesize(p)), read_file(sample.string()));
  }
  EXPECT_EQ(specs, 12);
}

// --- subcommands -----------------------------------------------------------------------------------------------

std::string captured_stdout(int (*command)(const std::vector<std::string>&),
                            const std::vector<std::string>& args) {
  std::ostringstream out;
  std::streambuf* saved = std::cout.rdbuf(out.rdbuf());
  try {
    EXPECT_EQ(command(args), 0);
  } catch (...) {
    std::cout.rdbuf(saved);
    throw;
  }
  std::cout.rdbuf(saved);
  return out.str();
}

TEST(TraceCommands, SynthAndStats) {
  ASSERT_EQ(spec_error(kSpec), "");
  const std::string spec = spec_path();
  const std::string text = captured_stdout(trace_synth_command, {spec, "--seed", "3", "--requests=5"});
  std::istringstream in(text);
  const Trace t = parse_trace(in, "stdout");
  EXPECT_EQ(t.requests.size(), 5u);
  EXPECT_EQ(t.header.source["params"]["seed"], 3);
  const std::string out = spec_path() + ".out.jsonl";
  captured_stdout(trace_synth_command, {spec, "-o", out});
  EXPECT_EQ(read_trace(out).requests.size(), 16u);
  const std::string stats = captured_stdout(trace_stats_command, {out});
  EXPECT_CONTAINS(stats, "requests                  16");
  EXPECT_CONTAINS(stats, "decode steps at 4 bits    80");  // 16 requests x 5 high steps (output fixed at 20)
  const auto json = nlohmann::json::parse(captured_stdout(trace_stats_command, {out, "--json"}));
  EXPECT_EQ(json["decode_steps_total"], 16 * 19);
}

TEST(TraceCommands, BadFlagsNameTheFlagAndTheUsage) {
  try {
    trace_synth_command({"spec.yaml", "--sede", "3"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_CONTAINS(e.what(), "'--sede'");
    EXPECT_CONTAINS(e.what(), "usage: npusim trace synth SPEC.yaml");
  }
  EXPECT_THROW(trace_synth_command({"spec.yaml", "--seed", "-3"}), InputError);
  EXPECT_THROW(trace_synth_command({"spec.yaml", "--requests", "0"}), InputError);
  EXPECT_THROW(trace_synth_command({"spec.yaml", "-o"}), InputError);
  EXPECT_THROW(trace_synth_command({}), InputError);
  EXPECT_THROW(trace_stats_command({"a.jsonl", "--csv"}), InputError);
  EXPECT_THROW(trace_stats_command({}), InputError);
}

}  // namespace
}  // namespace npusim::traces

// `npusim decode` end to end on stories260K (../shared; skipped without it): the committed decoder traces are what
// traces/decoded/make.sh produces, npusim replays them, and bad flags and files are refused.
#include "tests/cli/cli_fixture.h"

namespace {

const fs::path kShared = kSource / "../shared/models/stories260K";

#define REQUIRE_SHARED()                                                                              \
  if (!fs::exists(kShared / "stories260K.bin")) {                                                     \
    GTEST_SKIP() << "../shared/models/stories260K is missing (" << kShared << "): nothing to decode"; \
  }

TEST_F(Cli, DecodedTracesAreWhatTheDecoderWrites) {
  REQUIRE_SHARED();
  fs::create_directories(out());
  const std::string command = "bash '" + (kSource / "traces/decoded/make.sh").string() + "' '" + NPUSIM_EXE +
                              "' '" + out().string() + "' > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  for (const char* name : {"fp32", "uniform4", "uniform3", "pmpd"}) {
    const std::string file = std::string("stories260k_tinystories_") + name + ".jsonl";
    EXPECT_EQ(read_text(out() / file), read_text(kSource / "traces/decoded" / file)) << file;
  }
}

// The replay: each configuration runs its own trace; PMPD's decode bits lie between uniform 3 and 4 bits (20 of
// each request's passes at 4 bits, the rest at 3), and every trace's real lengths come through.
TEST_F(Cli, DecodedTracesReplay) {
  const Result r = npusim({"run", "configs/runs/decoded_stories260k.yaml", "--out", out().string(), "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto doc = nlohmann::json::parse(read_text(out() / "results.json"));
  ASSERT_EQ(doc.at("results").size(), 4u);
  for (const auto& result : doc.at("results")) {
    const std::string c = result.at("configuration");
    const double bits = result.at("metrics").at("mean_decode_bits");
    if (c == "pmpd") {
      EXPECT_GT(bits, 3.0);
      EXPECT_LT(bits, 4.0);
    }
    if (c == "uniform4" || c == "uniform3") {
      EXPECT_EQ(bits, c == "uniform4" ? 4.0 : 3.0);
    }
    EXPECT_EQ(result.at("counters").at("requests"), 8) << c;
  }
}

TEST_F(Cli, DecodeRefusesBadFlagsAndFiles) {
  expect_rejected(npusim({"decode", "--tokenizer", "t", "--prompts", "p"}), {"--model is required"});
  // Sampling parameters out of range, NaN included (once accepted; checked before any file is read).
  const std::vector<std::string> files = {"decode", "--model", "m", "--tokenizer", "t", "--prompts", "p"};
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"--temperature", "nan"},
                                              {"--temperature", "-1"},
                                              {"--top-p", "1.5"},
                                              {"--top-p", "0"},
                                              {"--top-p", "nan"}}) {
    std::vector<std::string> args = files;
    args.insert(args.end(), bad.begin(), bad.end());
    expect_rejected(npusim(args), {"decode " + bad[0]});
  }
  REQUIRE_SHARED();
  const std::vector<std::string> model = {"--model", (kShared / "stories260K.bin").string(), "--tokenizer",
                                          (kShared / "tok512.bin").string()};
  const fs::path empty = write("empty.txt", "\n\n");
  std::vector<std::string> args = {"decode", "--prompts", empty.string(), "--out", out().string()};
  args.insert(args.end(), model.begin(), model.end());
  expect_rejected(npusim(args), {empty.string(), "no prompts"});
  const fs::path prompts = write("p.txt", "Once upon a time\n");
  args = {"decode", "--prompts", prompts.string(), "--precisions", "3,4", "--out", out().string()};
  args.insert(args.end(), model.begin(), model.end());
  expect_rejected(npusim(args), {"--precisions 3,4", "high first"});
  const fs::path truncated = write("m.bin", read_text(kShared / "stories260K.bin").substr(0, 5000));
  args = {"decode",
          "--prompts",
          prompts.string(),
          "--model",
          truncated.string(),
          "--tokenizer",
          (kShared / "tok512.bin").string(),
          "--out",
          out().string()};
  expect_rejected(npusim(args), {truncated.string(), "ends at byte 5000"});
}

}  // namespace

namespace {

// PMPD.md's claims on stories260K (measured: perplexity of the fp32 greedy continuations 1.81 fp32, 1.89 uniform
// 4, 2.65 uniform 3; PMPD 2.57 / 2.39 / 2.20 / 2.02 at N = 0 / 16 / 32 / 48; 2.52 with a 2-bit prefill at N = 32):
// a high prefill beats a low one, later switching beats earlier, PMPD lies between uniform low and high in bits
// and in quality.
TEST_F(Cli, DecodeQualityUpholdsThePmpdClaimsOnStories260k) {
  REQUIRE_SHARED();
  const Result r = npusim({"decode-quality", "--model", (kShared / "stories260K.bin").string(), "--tokenizer",
                           (kShared / "tok512.bin").string(), "--prompts",
                           (kSource / "decoder/prompts/tinystories_openings.txt").string(), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("claims").size(), 4u);
  for (const auto& claim : j.at("claims")) EXPECT_TRUE(claim.at("holds").get<bool>()) << claim.at("claim");
  // fp32, uniform 4 and 3, uniform:k 4 and 3, PMPD at N = 0, 16, 32, 48, and N = 32 with a 2-bit prefill.
  ASSERT_EQ(j.at("configurations").size(), 10u);
  EXPECT_EQ(j.at("configurations")[0].at("name"), "fp32");
  // The uniform:k rows run one precision throughout: every pass at 4 bits, then at 3.
  EXPECT_EQ(j.at("configurations")[3].at("name"), "uniform:k 4 (g32)");
  EXPECT_EQ(j.at("configurations")[3].at("mean_bits"), 4.0);
  EXPECT_EQ(j.at("configurations")[4].at("name"), "uniform:k 3 (g32)");
  EXPECT_EQ(j.at("configurations")[4].at("mean_bits"), 3.0);
  EXPECT_EQ(j.at("configurations")[0].at("token_agreement"), 1.0);  // the reference agrees with itself
  EXPECT_EQ(j.at("configurations")[0].at("rouge_l"), 1.0);
}

}  // namespace

namespace {

// The uniform:k baseline generates too: its trace says so, and every pass runs at the fixed precision.
TEST_F(Cli, DecodeWithUniformWeights) {
  REQUIRE_SHARED();
  const Result r =
      npusim({"decode", "--model", (kShared / "stories260K.bin").string(), "--tokenizer",
              (kShared / "tok512.bin").string(), "--prompts",
              (kSource / "decoder/prompts/tinystories_openings.txt").string(), "--weights", "uniform",
              "--precisions", "4,4", "--scheduler", "fixed", "--max-new-tokens", "16", "--out", out().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream trace(read_text(out() / "trace.jsonl"));
  std::string header, first;
  std::getline(trace, header);
  std::getline(trace, first);
  const auto h = nlohmann::json::parse(header), q = nlohmann::json::parse(first);
  EXPECT_EQ(h.at("weight_format"), "uniform");
  EXPECT_EQ(h.at("precisions"), nlohmann::json::array({4}));
  EXPECT_EQ(q.at("decode"), nlohmann::json::parse("[[4, 15]]"));  // 16 tokens: one from the prefill, 15 passes
}

}  // namespace

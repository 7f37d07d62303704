// PMPD generation on stories260K (../shared; skipped without it): the loop's precision per pass, agreement with
// the plain generator at full precision, the .npaq round trip, and quantization quality ordered by bits.
#include "decoder/pmpd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "decoder/quality.h"

namespace npusim::decoder {
namespace {

namespace fs = std::filesystem;

const fs::path kModelDir = fs::path(NPUSIM_SOURCE_DIR) / "../shared/models/stories260K";

class Pmpd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kModelDir / "stories260K.bin")) {
      GTEST_SKIP() << "../shared/models/stories260K is missing (" << kModelDir << ")";
    }
    model_ = load_checkpoint((kModelDir / "stories260K.bin").string());
    tokenizer_ = std::make_unique<Tokenizer>((kModelDir / "tok512.bin").string(), model_.config.vocab_size);
    quantized_ = std::make_unique<QuantizedModel>(quantize_model(model_, {}, 2, 4));
  }
  Generation run(IScheduler& s, int high, int low, int max_new, const std::string& prompt = "Once upon a time") {
    GenerationOptions o;
    o.high_bits = high;
    o.low_bits = low;
    o.max_new_tokens = max_new;
    PrecisionLinears linears(model_, quantized_.get());
    return generate_pmpd(model_, linears, *tokenizer_, s, prompt, o);
  }
  LlamaModel model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<QuantizedModel> quantized_;
};

// N = 3, max 12 tokens: the first token comes from the prefill (at the high precision), then passes 1..3 at 4 bits
// and 4..11 at 3 bits: 11 passes for 12 tokens (unless EOS comes first, which this prompt does not reach).
TEST_F(Pmpd, StaticScheduleRunsPassesOneToNHighThenLow) {
  StaticScheduler s(3);
  const Generation g = run(s, 4, 3, 12);
  ASSERT_FALSE(g.eos);
  EXPECT_EQ(g.prefill_bits, 4);
  EXPECT_EQ(g.tokens.size(), 12u);
  EXPECT_EQ(g.pass_bits, (std::vector<int>{4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3}));
}

// At 16 bits the PMPD loop is llama2.c's generation: the same tokens as the plain generator after the prompt.
TEST_F(Pmpd, FullPrecisionLoopEqualsThePlainGenerator) {
  FixedScheduler s;
  const Generation g = run(s, 16, 16, 40, "Once upon a time there was a little boy named Ben.");
  Transformer t(model_);
  Sampler greedy(0.0f, 0.9f, 1);
  std::vector<int> tokens;
  const std::string prompt = "Once upon a time there was a little boy named Ben.";
  generate(t, *tokenizer_, greedy, prompt, g.prompt_tokens + 40, &tokens);
  const std::vector<int> after_prompt(tokens.begin() + g.prompt_tokens, tokens.end());
  ASSERT_GE(after_prompt.size(), g.tokens.size());
  EXPECT_EQ(std::vector<int>(after_prompt.begin(), after_prompt.begin() + static_cast<long>(g.tokens.size())),
            g.tokens);
}

TEST_F(Pmpd, QuantizedModelFileRoundTrips) {
  const fs::path f = fs::temp_directory_path() / ("npusim_q_" + std::to_string(::getpid()) + ".npaq");
  save_quantized(*quantized_, f.string());
  const QuantizedModel back = load_quantized(f.string());
  fs::remove(f);
  ASSERT_EQ(back.linears.size(), quantized_->linears.size());
  for (size_t i = 0; i < back.linears.size(); ++i) {
    EXPECT_EQ(back.linears[i].planes, quantized_->linears[i].planes) << i;
    EXPECT_EQ(back.linears[i].tables, quantized_->linears[i].tables) << i;
  }
  EXPECT_EQ(back.base.weights.token_embedding, quantized_->base.weights.token_embedding);
  FixedScheduler s;
  GenerationOptions o;
  o.high_bits = o.low_bits = 3;
  o.max_new_tokens = 24;
  PrecisionLinears from_file(model_, &back), in_memory(model_, quantized_.get());
  EXPECT_EQ(generate_pmpd(model_, from_file, *tokenizer_, s, "Lily", o).tokens,
            generate_pmpd(model_, in_memory, *tokenizer_, s, "Lily", o).tokens);
}

// An infinite centroid (even in an entry no weight uses) is refused on loading: the kernels multiply unused
// padding entries by zero, and inf x 0 would turn a whole row into NaN.
TEST_F(Pmpd, QuantizedModelWithAnInfiniteCentroidIsRefused) {
  QuantizedModel bad = *quantized_;
  bad.linears[3].tables[1][5] = 0x7c00;  // +inf: layer 0's wo, 3-bit table, row 0, entry 5
  const fs::path f = fs::temp_directory_path() / ("npusim_inf_" + std::to_string(::getpid()) + ".npaq");
  save_quantized(bad, f.string());
  try {
    load_quantized(f.string());
    ADD_FAILURE() << "loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("3-bit table, row 0: entry 5 is inf or NaN"), std::string::npos)
        << e.what();
  }
  fs::remove(f);
}

// The unquantized model's own greedy continuation (32 tokens after each of several prompts), scored under the
// quantized model by teacher forcing: its negative log-likelihood falls as bits rise (2 > 3 > 4 > the unquantized
// model's own). Measured: 68 (fp32), 76, 102, 353.
TEST_F(Pmpd, MoreBitsScoreTheReferenceContinuationBetter) {
  const std::vector<std::string> prompts = {
      "Once upon a time", "One day, a little boy named Tim went to the park.", "Lily wanted to play", "The cat"};
  PrecisionLinears linears(model_, quantized_.get());
  const auto nll = [&](int bits) {
    double total = 0;
    for (const std::string& p : prompts) {
      FixedScheduler s;
      const Generation ref = run(s, 16, 16, 32, p);
      total += continuation_nll(model_, linears, *tokenizer_, p, ref.tokens, bits, [&](int) { return bits; });
    }
    return total;
  };
  const double n16 = nll(16), n4 = nll(4), n3 = nll(3), n2 = nll(2);
  std::printf("NLL of the fp32 greedy continuations: fp32 %.1f, 4 bits %.1f, 3 bits %.1f, 2 bits %.1f\n", n16, n4,
              n3, n2);
  EXPECT_LT(n4, n3);
  EXPECT_LT(n3, n2);
  EXPECT_LT(n16, n4);
}

// "the cat sat on the mat" against "the cat lay on the mat": the longest common subsequence is "the cat on the
// mat", 5 of 6 words each way: precision = recall = F1 = 5/6. Unrelated text: 0. Identical: 1.
TEST(Quality, RougeLOfHandDerivedSentences) {
  EXPECT_DOUBLE_EQ(rouge_l("the cat sat on the mat", "the cat lay on the mat"), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(rouge_l("a b c", "x y z"), 0.0);
  EXPECT_DOUBLE_EQ(rouge_l("Lily ran home.", "Lily ran home."), 1.0);
  // 2 words against 4 with an LCS of 2: precision 1, recall 1/2, F1 2/3.
  EXPECT_DOUBLE_EQ(rouge_l("cat mat", "the cat the mat"), 2.0 / 3.0);
}

}  // namespace
}  // namespace npusim::decoder

// The reference decoder's fp32 model on the real stories260K checkpoint (../shared/models/stories260K): greedy
// generation reproduces llama2.c's own output token for token; both checkpoint formats load to the same model;
// the tokenizer round-trips text; seeded top-p sampling is deterministic. Skipped when ../shared is missing.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include "common/error.h"
#include "common/files.h"
#include "decoder/llama.h"

namespace npusim::decoder {
namespace {

namespace fs = std::filesystem;

const fs::path kModelDir = fs::path(NPUSIM_SOURCE_DIR) / "../shared/models/stories260K";

#define REQUIRE_SHARED()                                                                                     \
  if (!fs::exists(kModelDir / "stories260K.bin")) {                                                          \
    GTEST_SKIP() << "../shared/models/stories260K is missing (" << kModelDir << "): nothing to decode with"; \
  }

TEST(Stories260k, LegacyHeaderGivesTheDocumentedShape) {
  REQUIRE_SHARED();
  const LlamaModel m = load_checkpoint((kModelDir / "stories260K.bin").string());
  // DESIGN.md: dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads, vocab 512, seq_len 512, shared classifier.
  EXPECT_EQ(m.config.dim, 64);
  EXPECT_EQ(m.config.hidden_dim, 172);
  EXPECT_EQ(m.config.n_layers, 5);
  EXPECT_EQ(m.config.n_heads, 8);
  EXPECT_EQ(m.config.n_kv_heads, 4);
  EXPECT_EQ(m.config.vocab_size, 512);
  EXPECT_EQ(m.config.seq_len, 512);
  EXPECT_TRUE(m.config.shared_classifier);
  EXPECT_TRUE(m.weights.classifier.empty());
}

// From BOS, temperature 0, 200 steps: greedy_200_steps.txt is llama2.c's output, captured cut short: its 326
// characters are the first 130 generated tokens, and it ends in a backslash (a truncation mark; the 131st token
// is a quote) and a newline. The decoder must produce that text token for token as the start of its 200 tokens.
TEST(Stories260k, GreedyGenerationReproducesLlama2c) {
  REQUIRE_SHARED();
  const LlamaModel m = load_checkpoint((kModelDir / "stories260K.bin").string());
  const Tokenizer tok((kModelDir / "tok512.bin").string(), m.config.vocab_size);
  Transformer t(m);
  Sampler greedy(0.0f, 0.9f, 42);
  std::vector<int> tokens;
  const std::string text = generate(t, tok, greedy, "", 200, &tokens);
  EXPECT_EQ(tokens.size(), 201u) << "BOS and 200 generated tokens (no BOS sampled on the way)";
  std::string expected = read_file((kModelDir / "greedy_200_steps.txt").string());
  while (!expected.empty() && expected.back() == '\n') expected.pop_back();
  const bool cut = !expected.empty() && expected.back() == '\\';
  if (cut) expected.pop_back();
  ASSERT_GE(expected.size(), 300u) << "the reference is too short to check anything";
  if (cut) {
    EXPECT_EQ(text.substr(0, expected.size()), expected);
  } else {
    EXPECT_EQ(text, expected);
  }
}

TEST(Stories260k, VersionOneCheckpointLoadsTheSameModel) {
  REQUIRE_SHARED();
  const LlamaModel legacy = load_checkpoint((kModelDir / "stories260K.bin").string());
  const fs::path v1 = fs::temp_directory_path() / ("npusim_v1_" + std::to_string(::getpid()) + ".bin");
  write_checkpoint_v1(legacy, v1.string());
  const LlamaModel again = load_checkpoint(v1.string());
  fs::remove(v1);
  EXPECT_EQ(again.config.dim, legacy.config.dim);
  EXPECT_EQ(again.config.shared_classifier, legacy.config.shared_classifier);
  EXPECT_EQ(again.weights.wq, legacy.weights.wq);
  EXPECT_EQ(again.weights.w2, legacy.weights.w2);
  EXPECT_EQ(again.weights.rms_final, legacy.weights.rms_final);
  EXPECT_EQ(again.weights.token_embedding, legacy.weights.token_embedding);
  Transformer a(legacy), b(again);
  EXPECT_EQ(a.forward(1, 0), b.forward(1, 0));
}

// A classifier of its own, in both formats: the legacy header flags it with a negative vocabulary size and stores
// it after the RoPE tables; version 1 with its shared-classifier byte, after the last layer's w3.
TEST(Stories260k, SeparateClassifierInBothFormats) {
  REQUIRE_SHARED();
  LlamaModel m = load_checkpoint((kModelDir / "stories260K.bin").string());
  m.config.shared_classifier = false;
  m.weights.classifier = m.weights.token_embedding;
  for (float& v : m.weights.classifier) v *= 0.5f;
  const LlamaConfig& c = m.config;
  std::string legacy;
  const auto put = [&](const void* p, size_t n) { legacy.append(static_cast<const char*>(p), n); };
  for (int32_t v : {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, -c.vocab_size, c.seq_len})
    put(&v, 4);
  const LlamaWeights& w = m.weights;
  for (const std::vector<float>* t : {&w.token_embedding, &w.rms_att, &w.wq, &w.wk, &w.wv, &w.wo, &w.rms_ffn,
                                      &w.w1, &w.w2, &w.w3, &w.rms_final}) {
    put(t->data(), t->size() * sizeof(float));
  }
  const std::vector<float> rope(static_cast<size_t>(c.seq_len) * static_cast<size_t>(c.head_size()), 9.0f);
  put(rope.data(), rope.size() * sizeof(float));  // cos and sin tables: skipped by the loader
  put(w.classifier.data(), w.classifier.size() * sizeof(float));
  const fs::path f = fs::temp_directory_path() / ("npusim_cls_" + std::to_string(::getpid()) + ".bin");
  write_file_atomic(f.string(), legacy);
  const LlamaModel from_legacy = load_checkpoint(f.string());
  write_checkpoint_v1(m, f.string());
  const LlamaModel from_v1 = load_checkpoint(f.string());
  fs::remove(f);
  for (const LlamaModel* loaded : {&from_legacy, &from_v1}) {
    EXPECT_FALSE(loaded->config.shared_classifier);
    EXPECT_EQ(loaded->config.vocab_size, 512);
    EXPECT_EQ(loaded->weights.classifier, m.weights.classifier);
    EXPECT_EQ(loaded->weights.rms_final, m.weights.rms_final);
  }
}

TEST(Stories260k, TokenizerRoundTripsText) {
  REQUIRE_SHARED();
  const Tokenizer tok((kModelDir / "tok512.bin").string(), 512);
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  const std::vector<int> ids = tok.encode(text, true, false);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_LT(ids.size(), text.size() / 2) << "BPE merges should leave far fewer tokens than characters";
  std::string back;
  for (size_t i = 1; i < ids.size(); ++i) back += tok.decode(ids[i - 1], ids[i]);
  EXPECT_EQ(back, text);
  // A character outside the vocabulary falls back to its UTF-8 bytes (token = byte + 3), decoded back to them.
  const std::vector<int> snow = tok.encode("\xe2\x98\x83", false, false);
  std::string bytes;
  for (size_t i = 1; i < snow.size(); ++i) bytes += tok.decode(snow[i - 1], snow[i]);
  EXPECT_EQ(bytes, "\xe2\x98\x83");
}

TEST(Stories260k, TopPSamplingIsDeterministicForASeed) {
  REQUIRE_SHARED();
  const LlamaModel m = load_checkpoint((kModelDir / "stories260K.bin").string());
  const Tokenizer tok((kModelDir / "tok512.bin").string(), m.config.vocab_size);
  const auto run = [&](uint64_t seed) {
    Transformer t(m);
    Sampler s(1.0f, 0.9f, seed);
    return generate(t, tok, s, "Once upon a time", 60);
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
  EXPECT_EQ(run(7).rfind("Once upon a time", 0), 0u);
}

TEST(Checkpoint, ShortOrMalformedFilesAreRejectedWithTheFileNamed) {
  const fs::path f = fs::temp_directory_path() / ("npusim_bad_" + std::to_string(::getpid()) + ".bin");
  const int32_t header[7] = {64, 172, 5, 8, 4, 512, 512};
  write_file_atomic(f.string(), std::string(reinterpret_cast<const char*>(header), sizeof header) + "abcd");
  try {
    load_checkpoint(f.string());
    ADD_FAILURE() << "a truncated checkpoint loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(f.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("token_embedding"), std::string::npos) << e.what();
  }
  // A version-1 header cut inside its padding (37 of 256 bytes).
  std::string v1("\x32\x34\x6b\x61\x01\x00\x00\x00", 8);
  v1 += std::string(reinterpret_cast<const char*>(header), sizeof header) + std::string(1, '\x01');
  write_file_atomic(f.string(), v1);
  try {
    load_checkpoint(f.string());
    ADD_FAILURE() << "a checkpoint cut inside its version-1 header loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("padding"), std::string::npos) << e.what();
  }
  const int32_t odd[7] = {64, 172, 5, 7, 4, 512, 512};  // 64 does not split into 7 heads
  write_file_atomic(f.string(), std::string(reinterpret_cast<const char*>(odd), sizeof odd));
  EXPECT_THROW(load_checkpoint(f.string()), InputError);
  fs::remove(f);
}

// Hostile headers: sizes a file cannot hold are refused before anything is allocated (a 28-byte checkpoint whose
// header asks for 4 GB once cost 4.1 GB and 14 s, a 92-byte one ended in std::bad_alloc). The first asks for
// a 16384 x 16384 token embedding (1 GiB of floats) in a file of 28 bytes; the second has 2^30 layers, beyond
// the plausible shapes (and its element counts would overflow 64 bits).
TEST(Checkpoint, HeaderSizesBeyondTheFileAreRefusedBeforeAllocating) {
  const fs::path f = fs::temp_directory_path() / ("npusim_huge_" + std::to_string(::getpid()) + ".bin");
  const int32_t huge[7] = {16384, 16384, 1, 128, 128, 16384, 4096};
  write_file_atomic(f.string(), std::string(reinterpret_cast<const char*>(huge), sizeof huge));
  try {
    load_checkpoint(f.string());
    ADD_FAILURE() << "a 28-byte checkpoint loaded";
  } catch (const InputError& e) {
    // "268435456 x 4 bytes needed": counted in elements, checked before the 1 GiB is allocated.
    EXPECT_NE(std::string(e.what()).find("ends at byte 28 inside token_embedding (268435456 x 4 bytes needed"),
              std::string::npos)
        << e.what();
  }
  const int32_t layers[7] = {1 << 16, 1 << 16, 1 << 30, 256, 256, 512, 512};
  write_file_atomic(f.string(), std::string(reinterpret_cast<const char*>(layers), sizeof layers));
  try {
    load_checkpoint(f.string());
    ADD_FAILURE() << "a checkpoint of 2^30 layers loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("implausibly large"), std::string::npos) << e.what();
  }
  fs::remove(f);
}

// A tokenizer whose piece claims 2^31 - 1 bytes in a 12-byte file (once a 2.1 GB allocation), and a vocabulary
// too small for BOS (1) and EOS (2) (once a segfault in encode).
TEST(Tokenizer, HostileFilesAreRefusedWithTheFileNamed) {
  const fs::path f = fs::temp_directory_path() / ("npusim_tok_" + std::to_string(::getpid()) + ".bin");
  std::string bytes;
  const int32_t max_length = std::numeric_limits<int32_t>::max();
  const float score = 0;
  const int32_t length = std::numeric_limits<int32_t>::max();
  bytes.append(reinterpret_cast<const char*>(&max_length), 4);
  bytes.append(reinterpret_cast<const char*>(&score), 4);
  bytes.append(reinterpret_cast<const char*>(&length), 4);
  write_file_atomic(f.string(), bytes);
  try {
    Tokenizer t(f.string(), 512);
    ADD_FAILURE() << "a 12-byte tokenizer loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(f.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bytes left"), std::string::npos) << e.what();
  }
  try {
    Tokenizer t(f.string(), 2);
    ADD_FAILURE() << "a tokenizer of 2 pieces loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("at least 3"), std::string::npos) << e.what();
  }
  fs::remove(f);
}

}  // namespace
}  // namespace npusim::decoder

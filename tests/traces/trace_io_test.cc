// Reader, writer, validator and summaries of the pmpd-trace format.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/error.h"
#include "traces/trace.h"

namespace npusim::traces {
namespace {

const std::string kHeader =
    R"({"format":"pmpd-trace","version":1,"model":"vicuna-7b","task":"cnn_dm","scheduler":"static",)"
    R"("precisions":[3,2],"weight_format":"anyprec","source":{"tool":"hand"}})";
const std::string kRequest = R"({"id":"a","prompt_tokens":10,"prefill_bits":3,"decode":[[3,4],[2,6]],"eos":true})";

Trace parse(const std::string& text) {
  std::istringstream in(text);
  return parse_trace(in, "t.jsonl");
}

// Parses `text` and returns the InputError's message ("" when it parsed).
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)
#define EXPECT_NOT_CONTAINS(haystack, needle) \
  EXPECT_EQ(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

void expect_same(const Trace& a, const Trace& b) {
  EXPECT_EQ(a.header.model, b.header.model);
  EXPECT_EQ(a.header.task, b.header.task);
  EXPECT_EQ(a.header.scheduler, b.header.scheduler);
  EXPECT_EQ(a.header.precisions, b.header.precisions);
  EXPECT_EQ(a.header.weight_format, b.header.weight_format);
  EXPECT_EQ(a.header.source, b.header.source);
  ASSERT_EQ(a.requests.size(), b.requests.size());
  for (size_t i = 0; i < a.requests.size(); ++i) {
    const Request& x = a.requests[i];
    const Request& y = b.requests[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.prompt_tokens, y.prompt_tokens);
    EXPECT_EQ(x.prefill_bits, y.prefill_bits);
    ASSERT_EQ(x.decode.size(), y.decode.size()) << x.id;
    for (size_t k = 0; k < x.decode.size(); ++k) {
      EXPECT_EQ(x.decode[k].bits, y.decode[k].bits);
      EXPECT_EQ(x.decode[k].steps, y.decode[k].steps);
    }
    EXPECT_EQ(x.eos, y.eos);
    EXPECT_EQ(x.extras, y.extras);
  }
}

Trace hand_made() {
  Trace t;
  t.header = {"phi-1.5", "iwslt",
              "learned", {4, 3},
              "anyprec", nlohmann::ordered_json{{"tool", "hand"}, {"params", {{"z", 1.5}, {"a", {1, 2}}}}}};
  Request a{"iwslt/0", 812, 4, {{4, 40}, {3, 73}}, true, nullptr};
  Request b{"iwslt/1", 5, 16, {}, false, nlohmann::ordered_json{{"learned_class", 2}, {"rouge_l", 0.25}}};
  Request c{"iwslt/2", 1, 4, {{4, 1}, {3, 2}, {4, 7}}, true, nullptr};
  t.requests = {a, b, c};
  return t;
}

TEST(TraceIo, RoundTripsFieldForField) {
  const Trace t = hand_made();
  const std::string text = write_trace(t);
  const Trace back = parse(text);
  expect_same(t, back);
  EXPECT_EQ(write_trace(back), text);  // and the writer is deterministic
}

TEST(TraceIo, WritesCompactLinesInDesignKeyOrder) {
  const std::string text = write_trace(hand_made());
  std::istringstream in(text);
  std::string header, first, second;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(
      header,
      R"({"format":"pmpd-trace","version":1,"model":"phi-1.5","task":"iwslt","scheduler":"learned",)"
      R"("precisions":[4,3],"weight_format":"anyprec","source":{"tool":"hand","params":{"z":1.5,"a":[1,2]}}})");
  EXPECT_EQ(first, R"({"id":"iwslt/0","prompt_tokens":812,"prefill_bits":4,"decode":[[4,40],[3,73]],"eos":true})");
  EXPECT_EQ(second,
            R"({"id":"iwslt/1","prompt_tokens":5,"prefill_bits":16,"decode":[],"eos":false,"learned_class":2,)"
            R"("rouge_l":0.25})");
  EXPECT_EQ(text.back(), '\n');
}

TEST(TraceIo, ReadsTheDesignExample) {
  const Trace t = parse(kHeader + "\n" + kRequest + "\n\n\n");  // trailing blank lines are fine
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0].decode_steps(), 10);
  EXPECT_EQ(t.requests[0].output_tokens(), 11);
  EXPECT_TRUE(t.requests[0].extras.is_null());
  EXPECT_EQ(t.header.source["tool"], "hand");
}

TEST(TraceIo, KeepsUnknownRequestFieldsAsExtras) {
  const Trace t = parse(kHeader + "\n" + R"({"id":"a","prompt_tokens":1,"prefill_bits":3,"decode":[],)" +
                        R"("eos":false,"quality":{"rouge_l":0.3}})" + "\n");
  EXPECT_EQ(t.requests[0].extras, (nlohmann::ordered_json{{"quality", {{"rouge_l", 0.3}}}}));
}

TEST(TraceIo, BadJsonNamesTheLine) {
  const std::string m = error_of(kHeader + "\n{\"id\": \n");
  EXPECT_CONTAINS(m, "t.jsonl:2:");
  EXPECT_CONTAINS(m, "invalid JSON");
  // A number beyond double's range (nlohmann's out_of_range, not a parse_error: once uncaught, exit 3).
  const std::string overflow = error_of(kHeader + "\n{\"id\":\"a\",\"prompt_tokens\":1e405}\n");
  EXPECT_CONTAINS(overflow, "t.jsonl:2:");
  EXPECT_CONTAINS(overflow, "invalid JSON");
}

// A request nested a million deep once overflowed the stack; a file with no newline (/dev/zero) grew one line for
// ever. Both are errors on their line; a line of 16 MiB of spaces is the longest accepted, a byte more is not.
TEST(TraceIo, BoundsNestingAndLineLength) {
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  const std::string nested = error_of(kHeader + "\n" + deep + "\n");
  EXPECT_CONTAINS(nested, "t.jsonl:2:");
  EXPECT_CONTAINS(nested, "nested deeper than 64");
  const std::string sixty_four = std::string(64, '[') + std::string(64, ']');
  EXPECT_NOT_CONTAINS(error_of(kHeader + "\n" + sixty_four + "\n"), "nested deeper");
  const std::string longest((size_t{16} << 20) - kRequest.size(), ' ');  // the line: exactly 16 MiB
  EXPECT_NOT_CONTAINS(error_of(kHeader + "\n" + kRequest + longest + "\n"), "longer than");
  const std::string too_long = error_of(kHeader + "\n" + kRequest + longest + " \n");
  EXPECT_CONTAINS(too_long, "t.jsonl:2:");
  EXPECT_CONTAINS(too_long, "line longer than 16 MiB");
}

TEST(TraceIo, RejectsOtherVersionsAndFormats) {
  std::string header = kHeader;
  header.replace(header.find("\"version\":1"), 11, "\"version\":2");
  EXPECT_CONTAINS(error_of(header + "\n" + kRequest),
                  "t.jsonl:1: version: 2 is not supported (this reader reads version 1)");
  EXPECT_CONTAINS(error_of(R"({"format":"other","version":1})"), "t.jsonl:1: format: unknown format \"other\"");
  EXPECT_CONTAINS(error_of(kRequest + "\n"), "t.jsonl:1: format: required field missing");
}

TEST(TraceIo, RejectsUnknownHeaderFieldsButNotInsideSource) {
  std::string header = kHeader;
  header.insert(header.size() - 1, R"(,"batch":4)");
  EXPECT_CONTAINS(error_of(header + "\n" + kRequest), "t.jsonl:1: batch: unknown header field");
  header = kHeader;
  header.replace(header.find(R"({"tool":"hand"})"), 15, R"({"tool":"hand","anything":[1,{"x":2}]})");
  EXPECT_EQ(error_of(header + "\n" + kRequest), "");
}

TEST(TraceIo, MissingPromptTokens) {
  const std::string m =
      error_of(kHeader + "\n" + kRequest + "\n" + R"({"id":"b","prefill_bits":3,"decode":[],"eos":true})");
  EXPECT_CONTAINS(m, "t.jsonl:3: prompt_tokens: required field missing");
}

TEST(TraceIo, WrongTypeShowsTheValue) {
  const std::string m =
      error_of(kHeader + "\n" + R"({"id":"a","prompt_tokens":"abc","prefill_bits":3,"decode":[],"eos":true})");
  EXPECT_CONTAINS(m, "t.jsonl:2: prompt_tokens: expected a positive integer, got \"abc\"");
  EXPECT_CONTAINS(
      error_of(kHeader + "\n" + R"({"id":"a","prompt_tokens":0,"prefill_bits":3,"decode":[],"eos":true})"),
      "t.jsonl:2: prompt_tokens: expected a positive integer, got 0");
  EXPECT_CONTAINS(
      error_of(kHeader + "\n" + R"({"id":"a","prompt_tokens":3,"prefill_bits":3,"decode":[],"eos":1})"),
      "t.jsonl:2: eos: expected true or false");
}

TEST(TraceIo, ZeroSteps) {
  const std::string m = error_of(
      kHeader + "\n" + R"({"id":"a","prompt_tokens":1,"prefill_bits":3,"decode":[[3,2],[2,0]],"eos":true})");
  EXPECT_CONTAINS(m, "t.jsonl:2: decode[1] steps: expected a positive integer, got 0");
}

TEST(TraceIo, BitsOutsideTheFormats) {
  EXPECT_CONTAINS(
      error_of(kHeader + "\n" + R"({"id":"a","prompt_tokens":1,"prefill_bits":3,"decode":[[9,2]],"eos":true})"),
      "t.jsonl:2: decode[0] bits: expected a bit width (1..8, or 16 for fp16), got 9");
  EXPECT_CONTAINS(
      error_of(kHeader + "\n" + R"({"id":"a","prompt_tokens":1,"prefill_bits":0,"decode":[],"eos":true})"),
      "t.jsonl:2: prefill_bits: expected a bit width");
  std::string header = kHeader;
  header.replace(header.find("[3,2]"), 5, "[3,12]");
  EXPECT_CONTAINS(error_of(header + "\n" + kRequest), "t.jsonl:1: precisions[1]: expected a bit width");
}

TEST(TraceIo, DuplicateIds) {
  const std::string m = error_of(kHeader + "\n" + kRequest + "\n" + kRequest + "\n");
  EXPECT_CONTAINS(m, "t.jsonl:3: id: duplicate request id \"a\" (first on line 2)");
}

TEST(TraceIo, DuplicateKeysOnALine) {
  const std::string m = error_of(
      kHeader + "\n" + R"({"id":"a","prompt_tokens":1,"prefill_bits":3,"decode":[],"decode":[[3,1]],"eos":true})");
  EXPECT_CONTAINS(m, "t.jsonl:2: decode: field appears more than once");
}

TEST(TraceIo, EmptyTraces) {
  EXPECT_CONTAINS(error_of(kHeader + "\n"), "t.jsonl:1: requests: the trace has a header but no requests");
  EXPECT_CONTAINS(error_of(""), "t.jsonl:1: format: empty trace");
}

TEST(TraceIo, DecodeEntriesMustBePairs) {
  EXPECT_CONTAINS(error_of(kHeader + "\n" +
                           R"({"id":"a","prompt_tokens":1,"prefill_bits":3,"decode":[[3,4],[3]],"eos":true})"),
                  "t.jsonl:2: decode[1]: expected a [bits, steps] pair, got [3]");
  EXPECT_CONTAINS(
      error_of(kHeader + "\n" + R"({"id":"a","prompt_tokens":1,"prefill_bits":3,"decode":[3,4],"eos":true})"),
      "t.jsonl:2: decode[0]: expected a [bits, steps] pair, got 3");
  EXPECT_CONTAINS(
      error_of(kHeader + "\n" + R"({"id":"a","prompt_tokens":1,"prefill_bits":3,"decode":{"3":4},"eos":true})"),
      "t.jsonl:2: decode: expected a list of [bits, steps] pairs");
}

TEST(TraceIo, BlankLinesOnlyAtTheEnd) {
  EXPECT_CONTAINS(error_of(kHeader + "\n\n" + kRequest + "\n"), "t.jsonl:2: blank line inside the trace");
}

TEST(TraceIo, CheckBitsNamesTheRequestLine) {
  Trace t = parse(kHeader + "\n" + kRequest + "\n" +
                  R"({"id":"b","prompt_tokens":1,"prefill_bits":3,"decode":[[4,5],[2,1]],"eos":true})");
  EXPECT_NO_THROW(check_bits(t, "t.jsonl", {2, 3, 4, 16}));
  try {
    check_bits(t, "t.jsonl", {2, 3, 16});
    FAIL() << "4-bit steps accepted";
  } catch (const InputError& e) {
    EXPECT_CONTAINS(e.what(), "t.jsonl:3: decode[0]: 5 decode steps at 4 bits");
    EXPECT_CONTAINS(e.what(), "only: 2, 3, 16");
  }
  try {
    check_bits(t, "t.jsonl", {2, 16});
    FAIL() << "3-bit prefill accepted";
  } catch (const InputError& e) {
    EXPECT_CONTAINS(e.what(), "t.jsonl:2: prefill_bits: prefill at 3 bits");
  }
}

TEST(TraceIo, FilesAreWrittenAtomicallyAndOnlyWhenValid) {
  const std::string path = testing::TempDir() + "/trace_io_test.jsonl";
  std::filesystem::remove(path);
  Trace bad = hand_made();
  bad.requests[1].id = bad.requests[0].id;
  EXPECT_THROW(write_trace_file(bad, path), InputError);
  EXPECT_FALSE(std::filesystem::exists(path));
  write_trace_file(hand_made(), path);
  expect_same(read_trace(path), hand_made());
  EXPECT_THROW(read_trace(path + ".missing"), InputError);
}

TEST(TraceIo, WriterRejectsExtrasThatCollide) {
  Trace t = hand_made();
  t.requests[0].extras = nlohmann::ordered_json{{"eos", false}};
  EXPECT_THROW(write_trace(t), InputError);
}

TEST(TraceStats, HandDerivedMeans) {
  // Requests of hand_made():
  //   iwslt/0: prompt 812, decode 4-bit x40 + 3-bit x73 = 113 steps, output 114, eos
  //   iwslt/1: prompt 5,   decode none = 0 steps,                    output 1,   no eos
  //   iwslt/2: prompt 1,   decode 4x1 + 3x2 + 4x7 = 10 steps,        output 11,  eos
  // prompt total 818 -> mean 818/3; output total 126 -> mean 42; decode steps 123;
  // steps by bits: 3 -> 75, 4 -> 48; bit-steps 3*75 + 4*48 = 225 + 192 = 417 -> mean 417/123.
  const TraceStats s = summarize(hand_made());
  EXPECT_EQ(s.requests, 3);
  EXPECT_EQ(s.prompt_tokens_total, 818);
  EXPECT_EQ(s.decode_steps_total, 123);
  EXPECT_EQ(s.output_tokens_total, 126);
  EXPECT_EQ(s.eos_requests, 2);
  EXPECT_DOUBLE_EQ(s.mean_prompt_tokens, 818.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.mean_output_tokens, 42.0);
  EXPECT_DOUBLE_EQ(s.mean_decode_bits, 417.0 / 123.0);
  ASSERT_EQ(s.decode_steps_by_bits.size(), 2u);
  EXPECT_EQ(s.decode_steps_by_bits[0], std::make_pair(3, int64_t{75}));
  EXPECT_EQ(s.decode_steps_by_bits[1], std::make_pair(4, int64_t{48}));
}

TEST(TraceSamples, EveryCommittedSampleParsesAndHas16Requests) {
  const std::filesystem::path folder = std::filesystem::path(NPUSIM_SOURCE_DIR) / "traces" / "samples";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() != ".jsonl") continue;
    ++files;
    SCOPED_TRACE(entry.path().string());
    const Trace t = read_trace(entry.path().string());
    EXPECT_EQ(t.requests.size(), 16u);
    std::vector<int> allowed = t.header.precisions;
    EXPECT_NO_THROW(check_bits(t, entry.path().string(), allowed));
    EXPECT_EQ(entry.path().stem().string(), t.header.model + "_" + t.header.task);
  }
  EXPECT_EQ(files, 12);
}

}  // namespace
}  // namespace npusim::traces

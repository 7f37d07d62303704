#include <gtest/gtest.h>

#include "common/error.h"
#include "workloads/workloads.h"

namespace npusim::workloads {
namespace {

// Returns the InputError message of parsing `text`, or "" when it parsed.
std::string parse_error(const std::string& text) {
  try {
    PrecisionFormat::parse(text, "configurations[1].format");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(PrecisionFormat, ParsesEveryForm) {
  EXPECT_EQ(PrecisionFormat::parse("fp16", "f"), PrecisionFormat::fp16());
  EXPECT_EQ(PrecisionFormat::parse("fp16", "f").bits, 16);

  const PrecisionFormat u3 = PrecisionFormat::parse("uniform:3", "f");
  EXPECT_EQ(u3.kind, FormatKind::kUniform);
  EXPECT_EQ(u3.bits, 3);
  EXPECT_EQ(u3.group_size, 128);  // default group
  EXPECT_EQ(PrecisionFormat::parse("uniform:4:g64", "f"), PrecisionFormat::uniform(4, 64));

  const PrecisionFormat a3 = PrecisionFormat::parse("anyprec:3", "f");
  EXPECT_EQ(a3.kind, FormatKind::kAnyPrec);
  EXPECT_EQ(a3.bits, 3);
  EXPECT_EQ(a3.parent_bits, 4);                                        // PMPD's parent precision
  EXPECT_EQ(PrecisionFormat::parse("anyprec:6", "f").parent_bits, 6);  // a wider request raises the parent
  EXPECT_EQ(PrecisionFormat::parse("anyprec:2:p8", "f"), PrecisionFormat::anyprec(2, 8));
}

TEST(PrecisionFormat, CanonicalNamesReadBack) {
  EXPECT_EQ(PrecisionFormat::fp16().name(), "fp16");
  EXPECT_EQ(PrecisionFormat::uniform(3, 128).name(), "uniform:3:g128");
  EXPECT_EQ(PrecisionFormat::anyprec(3, 4).name(), "anyprec:3");
  EXPECT_EQ(PrecisionFormat::anyprec(3, 8).name(), "anyprec:3:p8");
  for (const char* text : {"fp16", "uniform:2:g32", "anyprec:4", "anyprec:2:p3"}) {
    EXPECT_EQ(PrecisionFormat::parse(text, "f").name(), text);
  }
}

TEST(PrecisionFormat, RejectsBadFormsNamingTheField) {
  for (const char* text : {"anyprec:9", "uniform:0", "int4", "uniform:3:g0", "anyprec:", "uniform:3:64", "FP16",
                           "anyprec:5:p4", "uniform:-3", "anyprec:3:p4:x", ""}) {
    const std::string message = parse_error(text);
    EXPECT_NE(message.find("configurations[1].format"), std::string::npos) << text << " -> " << message;
    EXPECT_NE(message.find(std::string("'") + text + "'"), std::string::npos) << message;
  }
  EXPECT_NE(parse_error("anyprec:9").find("out of range [1, 8]"), std::string::npos);
  EXPECT_NE(parse_error("uniform:3:g0").find("group size 0"), std::string::npos);
  EXPECT_THROW(PrecisionFormat::anyprec(5, 4), InputError);
  EXPECT_THROW(PrecisionFormat::uniform(3, 0), InputError);
}

TEST(PrecisionFormat, CodeAndTableBytes) {
  // fp16: 2 bytes a weight, no tables: 4096 x 11008 -> 4096*11008*2 = 90177536.
  EXPECT_EQ(PrecisionFormat::fp16().code_bytes(4096, 11008), 90177536u);
  EXPECT_EQ(PrecisionFormat::fp16().table_bytes(4096, 11008), 0u);
  // anyprec:3, K 4096, N 11008: planes 11008 * 4096*3/8 = 11008*1536 = 16908288; tables 11008 * 2^3 * 2 = 176128.
  const PrecisionFormat a3 = PrecisionFormat::anyprec(3, 4);
  EXPECT_EQ(a3.code_bytes(4096, 11008), 16908288u);
  EXPECT_EQ(a3.table_bytes(4096, 11008), 176128u);
  // Rows round up to whole bytes: K 5 at 3 bits = 15 bits -> 2 bytes a row; N 2 -> 4 bytes.
  EXPECT_EQ(a3.code_bytes(5, 2), 4u);
  // anyprec:2 and :4 tables: 8 and 32 bytes a row (PMPD.md).
  EXPECT_EQ(PrecisionFormat::anyprec(2, 4).table_bytes(100, 1), 8u);
  EXPECT_EQ(PrecisionFormat::anyprec(4, 4).table_bytes(100, 1), 32u);
  // uniform:3 g128, K 11008, N 4096: codes 4096 * 11008*3/8 = 4096*4128 = 16908288; groups ceil(11008/128) = 86 a
  // row, 4 bytes each: 4096*86*4 = 1409024.
  const PrecisionFormat u3 = PrecisionFormat::uniform(3, 128);
  EXPECT_EQ(u3.code_bytes(11008, 4096), 16908288u);
  EXPECT_EQ(u3.table_bytes(11008, 4096), 1409024u);
  // A partial last group counts: K 130 -> 2 groups; N 3 -> 3*2*4 = 24 bytes.
  EXPECT_EQ(u3.table_bytes(130, 3), 24u);
}

TEST(PrecisionFormat, EqualityIgnoresUnusedFields) {
  PrecisionFormat a = PrecisionFormat::fp16();
  a.group_size = 7;
  EXPECT_EQ(a, PrecisionFormat::fp16());
  EXPECT_FALSE(PrecisionFormat::uniform(3, 64) == PrecisionFormat::uniform(3, 128));
  EXPECT_FALSE(PrecisionFormat::anyprec(3, 4) == PrecisionFormat::anyprec(3, 8));
  EXPECT_FALSE(PrecisionFormat::anyprec(3, 4) == PrecisionFormat::uniform(3, 128));
}

}  // namespace
}  // namespace npusim::workloads

// The declared-field config reader: every fault names the file, the line and the key.
#include "common/config.h"

#include <gtest/gtest.h>

#include <functional>

#include "common/error.h"

namespace npusim {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigSection, ReadsDeclaredFieldsAndDefaults) {
  ConfigSection s(YAML::Load("clock_mhz: 1500\nrows: 64\nmode: fast\n"), "npu.yaml");
  EXPECT_DOUBLE_EQ(s.real("clock_mhz", "MHz", "clock", 1000, 1, 10000), 1500);
  EXPECT_EQ(s.integer("rows", "", "rows", 128, 1, 4096), 64);
  EXPECT_EQ(s.integer("cols", "", "cols", 128, 1, 4096), 128);  // default
  EXPECT_EQ(s.choice("mode", "mode", "slow", {"slow", "fast"}), "fast");
  EXPECT_NO_THROW(s.finish());
}

TEST(ConfigSection, UnknownKeyNamesFileLineAndKey) {
  const std::string msg = error_of([] {
    ConfigSection s(YAML::Load("rows: 64\ncolz: 3\n"), "npu.yaml", "mac_array");
    s.integer("rows", "", "rows", 128, 1, 4096);
    s.finish();
  });
  EXPECT_NE(msg.find("npu.yaml:2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mac_array.colz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
}

TEST(ConfigSection, WrongTypeAndOutOfRange) {
  const std::string type = error_of([] {
    ConfigSection s(YAML::Load("a: 1\nrows: many\n"), "x.yaml");
    s.integer("rows", "", "rows", 1, 1, 10);
  });
  EXPECT_NE(type.find("x.yaml:2: rows: expected an integer"), std::string::npos) << type;
  const std::string range = error_of([] {
    ConfigSection s(YAML::Load("rows: 0\n"), "x.yaml");
    s.integer("rows", "", "rows", 1, 1, 10);
  });
  EXPECT_NE(range.find("x.yaml:1: rows: 0 is out of range [1, 10]"), std::string::npos) << range;
  const std::string fraction = error_of([] {
    ConfigSection s(YAML::Load("rows: 2.5\n"), "x.yaml");
    s.integer("rows", "", "rows", 1, 1, 10);
  });
  EXPECT_NE(fraction.find("expected an integer"), std::string::npos) << fraction;
  const std::string required = error_of([] {
    ConfigSection s(YAML::Load("{}"), "x.yaml");
    s.text("name", "the name", std::nullopt);
  });
  EXPECT_NE(required.find("name: required key missing"), std::string::npos) << required;
}

TEST(ConfigSection, OverridesEditTheDocumentAndKeepNumbersNumbers) {
  YAML::Node root = YAML::Load("dram:\n  channels: 4\n");
  apply_override(root, "dram.channels=8");
  apply_override(root, "core.clock_mhz=1200");
  ConfigSection s(root, "npu.yaml");
  ConfigSection dram = s.section("dram", "");
  EXPECT_EQ(dram.integer("channels", "", "", 1, 1, 100), 8);
  ConfigSection core = s.section("core", "");
  EXPECT_DOUBLE_EQ(core.real("clock_mhz", "MHz", "", 1000, 1, 10000), 1200);
  EXPECT_THROW(apply_override(root, "novalue"), InputError);
}

TEST(ConfigSection, DocsModeListsEveryDeclaration) {
  std::vector<FieldDoc> docs;
  ConfigSection s = ConfigSection::for_docs(&docs);
  s.real("clock_mhz", "MHz", "core clock", 1000, 1, 10000);
  ConfigSection sub = s.section("dram", "memory");
  sub.integer("channels", "channels", "count", std::nullopt, 1, 64);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].path, "clock_mhz");
  EXPECT_EQ(docs[0].unit, "MHz");
  EXPECT_EQ(docs[2].path, "dram.channels");
  EXPECT_EQ(docs[2].default_text, "required");
}

TEST(ConfigSection, YamlSyntaxErrorNamesLine) {
  const std::string path = std::string(NPUSIM_BINARY_DIR) + "/bad_syntax.yaml";
  FILE* f = fopen(path.c_str(), "w");
  fputs("a: 1\nb: [1, 2\n", f);
  fclose(f);
  const std::string msg = error_of([&] { load_yaml_file(path); });
  EXPECT_NE(msg.find("bad_syntax.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("YAML syntax error"), std::string::npos) << msg;
}

}  // namespace
}  // namespace npusim

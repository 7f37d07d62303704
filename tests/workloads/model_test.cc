#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/config.h"
#include "common/error.h"
#include "workloads/workloads.h"

namespace npusim::workloads {
namespace {

const std::string kSource = NPUSIM_SOURCE_DIR;
std::string model_path(const std::string& name) {
  return kSource + "/configs/models/" + name;
}
std::string fixture(const std::string& name) {
  return kSource + "/tests/fixtures/hf/" + name + "/config.json";
}

// A valid model YAML; line numbers below (1-based) are relied on by the error tests.
const char* const kValidYaml =
    "name: tiny\n"                     // 1
    "architecture: llama\n"            // 2
    "hidden_size: 64\n"                // 3
    "intermediate_size: 172\n"         // 4
    "num_layers: 5\n"                  // 5
    "num_heads: 8\n"                   // 6
    "vocab_size: 512\n"                // 7
    "max_position_embeddings: 512\n";  // 8

std::string write_temp(const std::string& name, const std::string& content) {
  const std::string path = testing::TempDir() + "npusim_workloads_" + name;
  std::ofstream(path) << content;
  return path;
}

std::string load_error(const std::string& path) {
  try {
    load_model(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

void expect_contains(const std::string& message, const std::string& part) {
  EXPECT_NE(message.find(part), std::string::npos) << "'" << message << "' lacks '" << part << "'";
}

TEST(ModelYaml, AllShippedModelsLoad) {
  const ModelShape vicuna = load_model(model_path("vicuna-7b.yaml"));
  EXPECT_EQ(vicuna.name, "vicuna-7b");
  EXPECT_EQ(vicuna.architecture, "llama");
  EXPECT_EQ(vicuna.hidden_size, 4096);
  EXPECT_EQ(vicuna.intermediate_size, 11008);
  EXPECT_EQ(vicuna.num_layers, 32);
  EXPECT_EQ(vicuna.num_kv_heads, 32);
  EXPECT_EQ(vicuna.head_dim, 128);  // 4096 / 32
  EXPECT_EQ(vicuna.vocab_size, 32000);
  EXPECT_EQ(vicuna.max_position_embeddings, 4096);

  const ModelShape mobile = load_model(model_path("mobilellama-1.4b.yaml"));
  EXPECT_EQ(mobile.hidden_size, 2048);
  EXPECT_EQ(mobile.intermediate_size, 5632);
  EXPECT_EQ(mobile.num_layers, 24);
  EXPECT_EQ(mobile.head_dim, 128);  // 2048 / 16

  const ModelShape zephyr = load_model(model_path("stablelm-zephyr-3b.yaml"));
  EXPECT_EQ(zephyr.architecture, "stablelm");
  EXPECT_EQ(zephyr.norm, "layernorm");
  EXPECT_EQ(zephyr.vocab_size, 50304);
  EXPECT_EQ(zephyr.head_dim, 80);  // 2560 / 32
  EXPECT_DOUBLE_EQ(zephyr.rotary_fraction, 0.25);

  const ModelShape phi = load_model(model_path("phi-1.5.yaml"));
  EXPECT_EQ(phi.architecture, "phi");
  EXPECT_EQ(phi.mlp, "gelu");
  EXPECT_TRUE(phi.parallel_block);
  EXPECT_TRUE(phi.attention_bias && phi.mlp_bias && phi.lm_head_bias);
  EXPECT_DOUBLE_EQ(phi.rotary_fraction, 0.5);
  EXPECT_EQ(phi.head_dim, 64);  // 2048 / 32

  const ModelShape stories = load_model(model_path("stories260k.yaml"));
  EXPECT_EQ(stories.num_heads, 8);
  EXPECT_EQ(stories.num_kv_heads, 4);
  EXPECT_EQ(stories.head_dim, 8);  // 64 / 8
  EXPECT_TRUE(stories.tie_word_embeddings);
}

TEST(ModelYaml, DefaultsFollowTheArchitecture) {
  const ModelShape m = load_model(write_temp("defaults.yaml", kValidYaml));
  EXPECT_EQ(m.num_kv_heads, 8);  // 0 -> num_heads
  EXPECT_EQ(m.head_dim, 8);
  EXPECT_EQ(m.mlp, "swiglu");
  EXPECT_EQ(m.norm, "rmsnorm");
  std::string phi = kValidYaml;
  phi.replace(phi.find("llama"), 5, "phi");
  const ModelShape p = load_model(write_temp("phi_defaults.yaml", phi));
  EXPECT_EQ(p.mlp, "gelu");
  EXPECT_EQ(p.norm, "layernorm");
  EXPECT_TRUE(p.parallel_block && p.attention_bias && p.mlp_bias && p.lm_head_bias);
}

TEST(ModelYaml, UnknownKeyNamesFileLineAndKey) {
  const std::string path = write_temp("unknown_key.yaml", std::string(kValidYaml) + "num_experts: 8\n");  // line 9
  const std::string message = load_error(path);
  expect_contains(message, path + ":9:");
  expect_contains(message, "num_experts");
  expect_contains(message, "unknown key");
}

TEST(ModelYaml, WrongTypeAndOutOfRangeNameFileLineAndKey) {
  std::string text = kValidYaml;
  text.replace(text.find("hidden_size: 64"), 15, "hidden_size: big");  // line 3
  std::string path = write_temp("wrong_type.yaml", text);
  std::string message = load_error(path);
  expect_contains(message, path + ":3:");
  expect_contains(message, "hidden_size");
  expect_contains(message, "expected an integer");

  text = kValidYaml;
  text.replace(text.find("num_layers: 5"), 13, "num_layers: 0");  // line 5
  path = write_temp("out_of_range.yaml", text);
  message = load_error(path);
  expect_contains(message, path + ":5:");
  expect_contains(message, "num_layers");
  expect_contains(message, "out of range");

  text = kValidYaml;
  text.replace(text.find("architecture: llama"), 19, "architecture: gpt2");  // line 2
  path = write_temp("bad_choice.yaml", text);
  message = load_error(path);
  expect_contains(message, path + ":2:");
  expect_contains(message, "architecture");
}

TEST(ModelYaml, InconsistentShapeIsAnError) {
  // 8 heads cannot share 3 KV heads evenly.
  const std::string path = write_temp("bad_gqa.yaml", std::string(kValidYaml) + "num_kv_heads: 3\n");
  const std::string message = load_error(path);
  expect_contains(message, path);
  expect_contains(message, "num_kv_heads");

  // A missing required key names the key.
  const std::string missing = write_temp("missing.yaml", "name: x\narchitecture: llama\n");
  expect_contains(load_error(missing), "hidden_size");
}

TEST(HfConfig, FixturesLoad) {
  const ModelShape vicuna = load_model(fixture("vicuna-7b-v1.5"));
  EXPECT_EQ(vicuna.name, "vicuna-7b-v1.5");  // the folder's name
  EXPECT_EQ(vicuna.architecture, "llama");
  EXPECT_EQ(vicuna.hidden_size, 4096);
  EXPECT_EQ(vicuna.intermediate_size, 11008);
  EXPECT_EQ(vicuna.num_layers, 32);
  EXPECT_EQ(vicuna.num_heads, 32);
  EXPECT_EQ(vicuna.num_kv_heads, 32);
  EXPECT_EQ(vicuna.vocab_size, 32000);
  EXPECT_EQ(vicuna.norm, "rmsnorm");
  EXPECT_FALSE(vicuna.attention_bias);

  const ModelShape phi = load_model(fixture("phi-1_5"));
  EXPECT_EQ(phi.architecture, "phi");
  EXPECT_EQ(phi.num_kv_heads, 32);  // null -> num_attention_heads
  EXPECT_EQ(phi.vocab_size, 51200);
  EXPECT_DOUBLE_EQ(phi.rotary_fraction, 0.5);
  EXPECT_EQ(phi.mlp, "gelu");
  EXPECT_TRUE(phi.parallel_block && phi.attention_bias && phi.mlp_bias && phi.lm_head_bias);

  for (const char* name : {"stablelm-zephyr-3b", "stablelm-epoch-3b"}) {
    const ModelShape s = load_model(fixture(name));
    EXPECT_EQ(s.architecture, "stablelm") << name;
    EXPECT_EQ(s.hidden_size, 2560) << name;
    EXPECT_EQ(s.vocab_size, 50304) << name;
    EXPECT_EQ(s.norm, "layernorm") << name;
    EXPECT_DOUBLE_EQ(s.rotary_fraction, 0.25) << name;  // partial_rotary_factor or rope_pct
    EXPECT_FALSE(s.parallel_block || s.attention_bias) << name;
  }
}

TEST(HfConfig, MatchesOurYaml) {
  const ModelShape ours = load_model(model_path("phi-1.5.yaml"));
  const ModelShape hf = load_model(fixture("phi-1_5"));
  EXPECT_EQ(decoder_linear_params(ours), decoder_linear_params(hf));
  EXPECT_EQ(ours.head_dim, hf.head_dim);
  EXPECT_EQ(ours.max_position_embeddings, hf.max_position_embeddings);
  EXPECT_EQ(load_model(model_path("vicuna-7b.yaml")).intermediate_size,
            load_model(fixture("vicuna-7b-v1.5")).intermediate_size);
}

TEST(HfConfig, MissingKeyNamesFileAndKey) {
  const std::string path = fixture("missing-hidden-size");
  const std::string message = load_error(path);
  expect_contains(message, path);
  expect_contains(message, "hidden_size");
  expect_contains(message, "missing");
}

TEST(HfConfig, BadValuesNameFileLineAndKey) {
  const std::string wrong_type = write_temp(
      "wrong_type.json",
      "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"hidden_size\": \"4096\",\n  \"vocab_size\": 1\n}\n");
  std::string message = load_error(wrong_type);
  expect_contains(message, wrong_type + ":3:");  // "hidden_size" is on line 3
  expect_contains(message, "hidden_size");

  const std::string unknown = write_temp("unknown_arch.json", "{\"architectures\": [\"GPT2LMHeadModel\"]}");
  message = load_error(unknown);
  expect_contains(message, "architectures");
  expect_contains(message, "GPT2LMHeadModel");

  const std::string broken = write_temp("broken.json", "{\n  \"hidden_size\": 4096,\n  oops\n}\n");
  message = load_error(broken);
  expect_contains(message, broken + ":3:");
  expect_contains(message, "not valid JSON");

  // A number beyond double's range: nlohmann throws out_of_range, not parse_error (found by fuzz_config_json;
  // once an uncaught exception, exit 3).
  const std::string overflow = write_temp("overflow.json", "{\"hidden_size\": 1e405}");
  expect_contains(load_error(overflow), "not valid JSON");
  expect_contains(load_error(write_temp("model.txt", "")), "unknown model file type");
  expect_contains(load_error(kSource + "/tests/fixtures/hf/absent/config.json"), "absent/config.json");
}

}  // namespace
}  // namespace npusim::workloads

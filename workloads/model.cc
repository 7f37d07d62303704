// Model shapes: our YAML (configs/models/*.yaml) read through declared fields, and Hugging Face config.json.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/error.h"
#include "common/files.h"
#include "workloads/workloads.h"

namespace npusim::workloads {
namespace {

// Upper bounds that only catch typos (an extra zero or two); every real model is far below them.
constexpr int64_t kMaxHidden = int64_t{1} << 20;
constexpr int64_t kMaxIntermediate = int64_t{1} << 22;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxHeadDim = 65536;
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxPositions = int64_t{1} << 24;

const std::vector<std::string> kArchitectures = {"llama", "stablelm", "phi"};

// Block structure each architecture implies; our YAML uses these as defaults, config.json as the only source.
struct ArchDefaults {
  std::string mlp, norm;
  bool parallel_block, attention_bias, mlp_bias, lm_head_bias;
};
ArchDefaults arch_defaults(const std::string& architecture) {
  // Llama: RMSNorm, SwiGLU, no biases. StableLM: LayerNorm, SwiGLU, no biases (use_qkv_bias false in the 3B
  // models). Phi: LayerNorm, GELU fc1/fc2, parallel block, biases on q,k,v,dense,fc1,fc2 and lm_head.
  if (architecture == "phi") return {"gelu", "layernorm", true, true, true, true};
  if (architecture == "stablelm") return {"swiglu", "layernorm", false, false, false, false};
  return {"swiglu", "rmsnorm", false, false, false, false};
}

// Cross-field checks shared by both readers; fills the derived defaults (num_kv_heads, head_dim). `where` turns
// one of our field names into "file[:line]: key" in the reader's own naming.
void check_shape(ModelShape& m, const std::function<std::string(const std::string&)>& where) {
  auto fail = [&](const std::string& key, const std::string& why) { throw InputError(where(key) + ": " + why); };
  if (m.num_kv_heads == 0) m.num_kv_heads = m.num_heads;
  if (m.num_kv_heads > m.num_heads || m.num_heads % m.num_kv_heads != 0) {
    fail("num_kv_heads", std::to_string(m.num_kv_heads) + " must divide num_heads " + std::to_string(m.num_heads) +
                             " (grouped-query attention shares each KV head among equal groups)");
  }
  if (m.head_dim == 0) {
    if (m.hidden_size % m.num_heads != 0) {
      fail("num_heads", "hidden_size " + std::to_string(m.hidden_size) + " is not a multiple of num_heads " +
                            std::to_string(m.num_heads) + "; give head_dim explicitly");
    }
    m.head_dim = m.hidden_size / m.num_heads;
  }
  if (!(m.rotary_fraction >= 0.0 && m.rotary_fraction <= 1.0)) {
    fail("rotary_fraction", "must lie in [0, 1]");
  }
}

}  // namespace

ModelShape read_model_config(ConfigSection& s) {
  ModelShape m;
  m.name = s.text("name", "model name used in reports and traces, e.g. vicuna-7b", std::nullopt);
  m.architecture = s.choice("architecture",
                            "block structure family; sets the defaults of mlp, norm, parallel_block "
                            "and the biases",
                            std::nullopt, kArchitectures);
  const ArchDefaults d = arch_defaults(m.architecture);
  m.hidden_size = s.integer("hidden_size", "elements", "model width d_model (config.json hidden_size)",
                            std::nullopt, 1, kMaxHidden);
  m.intermediate_size = s.integer("intermediate_size", "elements", "MLP width (config.json intermediate_size)",
                                  std::nullopt, 1, kMaxIntermediate);
  m.num_layers = s.integer("num_layers", "layers", "decoder layers (config.json num_hidden_layers)", std::nullopt,
                           1, kMaxLayers);
  m.num_heads = s.integer("num_heads", "heads", "attention query heads (config.json num_attention_heads)",
                          std::nullopt, 1, kMaxHeads);
  m.num_kv_heads = s.integer("num_kv_heads", "heads",
                             "key/value heads (config.json num_key_value_heads); 0 means num_heads; fewer than "
                             "num_heads is grouped-query attention",
                             0, 0, kMaxHeads);
  m.head_dim = s.integer("head_dim", "elements", "elements per attention head; 0 means hidden_size / num_heads", 0,
                         0, kMaxHeadDim);
  m.vocab_size = s.integer("vocab_size", "tokens", "vocabulary size: rows of the embedding, columns of lm_head",
                           std::nullopt, 1, kMaxVocab);
  m.max_position_embeddings = s.integer("max_position_embeddings", "tokens",
                                        "longest context the model supports (prompt plus generated tokens)",
                                        std::nullopt, 1, kMaxPositions);
  m.mlp = s.choice("mlp", "MLP kind: swiglu (gate, up, down) or gelu (fc1, fc2); default by architecture", d.mlp,
                   {"swiglu", "gelu"});
  m.norm = s.choice("norm", "normalization: rmsnorm or layernorm (weight and bias); default by architecture",
                    d.norm, {"rmsnorm", "layernorm"});
  m.parallel_block = s.flag("parallel_block",
                            "attention and MLP read one normed input and their outputs are summed (Phi); "
                            "default by architecture",
                            d.parallel_block);
  m.attention_bias = s.flag("attention_bias",
                            "fp16 biases on q, k, v (and on the output projection except in stablelm); default by "
                            "architecture",
                            d.attention_bias);
  m.mlp_bias = s.flag("mlp_bias", "fp16 biases on the MLP linears; default by architecture", d.mlp_bias);
  m.lm_head_bias = s.flag("lm_head_bias", "fp16 bias on lm_head; default by architecture", d.lm_head_bias);
  m.rotary_fraction =
      s.real("rotary_fraction", "fraction",
             "share of head_dim that RoPE rotates (config.json partial_rotary_factor)", 1.0, 0.0, 1.0);
  m.tie_word_embeddings = s.flag(
      "tie_word_embeddings", "lm_head shares the embedding matrix (it is still streamed at every step)", false);
  s.finish();
  // The section does not expose per-key lines, so cross-field faults name the file and the key.
  if (!s.documenting()) {
    check_shape(m, [&](const std::string& key) { return location_prefix(s.file(), 0) + s.key_path(key); });
  }
  return m;
}

ModelShape load_model_yaml(const std::string& path) {
  ConfigSection s(load_yaml_file(path), path);
  return read_model_config(s);
}

// ---------------------------------------------------------------------------------------------------------------
// Hugging Face config.json. nlohmann::json keeps no line numbers, so a key's line is found by searching the text
// for its first quoted occurrence (config.json files are flat, so that is the key itself).
namespace {

using nlohmann::json;

class HfReader {
 public:
  HfReader(std::string path, std::string text, json doc)
      : path_(std::move(path)), text_(std::move(text)), doc_(std::move(doc)) {}

  std::string where(const std::string& key) const {
    const size_t at = text_.find("\"" + key + "\"");
    int line = 0;
    if (at != std::string::npos) line = 1 + static_cast<int>(std::count(text_.begin(), text_.begin() + at, '\n'));
    return location_prefix(path_, line) + key;
  }
  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw InputError(where(key) + ": " + why);
  }
  // Absent and null both mean "not given" (transformers writes null for defaults, e.g. Phi's num_key_value_heads).
  bool has(const std::string& key) const { return doc_.contains(key) && !doc_.at(key).is_null(); }

  int64_t integer(const std::string& key, std::optional<int64_t> fallback, int64_t min_value,
                  int64_t max_value) const {
    if (!has(key)) {
      if (!fallback) fail(key, "required key missing");
      return *fallback;
    }
    const json& v = doc_.at(key);
    if (!v.is_number_integer()) fail(key, "expected an integer, got " + v.dump());
    const int64_t i = v.get<int64_t>();
    if (i < min_value || i > max_value) {
      fail(key, std::to_string(i) + " is out of range [" + std::to_string(min_value) + ", " +
                    std::to_string(max_value) + "]");
    }
    return i;
  }
  double real(const std::string& key, double fallback, double min_value, double max_value) const {
    if (!has(key)) return fallback;
    const json& v = doc_.at(key);
    if (!v.is_number()) fail(key, "expected a number, got " + v.dump());
    const double x = v.get<double>();
    if (!(x >= min_value && x <= max_value)) {
      fail(key,
           v.dump() + " is out of range [" + format_number(min_value) + ", " + format_number(max_value) + "]");
    }
    return x;
  }
  bool flag(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = doc_.at(key);
    if (!v.is_boolean()) fail(key, "expected true or false, got " + v.dump());
    return v.get<bool>();
  }
  std::string text(const std::string& key) const {
    if (!has(key)) return "";
    const json& v = doc_.at(key);
    if (!v.is_string()) fail(key, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }
  const json& doc() const { return doc_; }

 private:
  std::string path_, text_;
  json doc_;
};

// Our architecture family for a config.json, from "architectures" (preferred) or "model_type".
std::string hf_architecture(const HfReader& r) {
  struct Known {
    const char* hf;
    const char* ours;
  };
  static const Known kClasses[] = {{"LlamaForCausalLM", "llama"},
                                   {"MistralForCausalLM", "llama"},
                                   {"StableLmForCausalLM", "stablelm"},
                                   {"StableLMEpochForCausalLM", "stablelm"},
                                   {"PhiForCausalLM", "phi"}};
  static const Known kTypes[] = {{"llama", "llama"},
                                 {"mistral", "llama"},
                                 {"stablelm", "stablelm"},
                                 {"stablelm_epoch", "stablelm"},
                                 {"phi", "phi"}};
  const std::string supported =
      "supported: LlamaForCausalLM, MistralForCausalLM, StableLmForCausalLM, StableLMEpochForCausalLM, "
      "PhiForCausalLM";
  if (r.has("architectures")) {
    const json& a = r.doc().at("architectures");
    if (!a.is_array() || a.empty() || !a[0].is_string()) {
      r.fail("architectures", "expected a list of class names, got " + a.dump());
    }
    const std::string cls = a[0].get<std::string>();
    for (const Known& k : kClasses) {
      if (cls == k.hf) return k.ours;
    }
    r.fail("architectures", "'" + cls + "' is not a supported model class (" + supported + ")");
  }
  const std::string type = r.text("model_type");
  if (type.empty()) r.fail("architectures", "required key missing (and no model_type either); " + supported);
  for (const Known& k : kTypes) {
    if (type == k.hf) return k.ours;
  }
  r.fail("model_type", "'" + type + "' is not a supported model type (" + supported + ")");
}

// Name for reports: the folder holding config.json (Hugging Face snapshots are named after the model), else the
// file's stem.
std::string hf_model_name(const std::string& path) {
  const std::filesystem::path p(path);
  if (p.filename() == "config.json" && p.has_parent_path() && !p.parent_path().filename().empty()) {
    return p.parent_path().filename().string();
  }
  return p.stem().string();
}

}  // namespace

ModelShape load_hf_config(const std::string& path) {
  const std::string text = read_file(path);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    const auto end = text.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(e.byte, text.size()));
    const int line = 1 + static_cast<int>(std::count(text.begin(), end, '\n'));
    throw InputError(location_prefix(path, line) + "not valid JSON: " + e.what());
  } catch (const json::exception& e) {  // e.g. a number beyond double's range (1e405), found by fuzzing
    throw InputError(path + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) throw InputError(path + ": expected a JSON object (a Hugging Face config.json)");
  const HfReader r(path, text, doc);

  ModelShape m;
  m.name = hf_model_name(path);
  m.architecture = hf_architecture(r);
  const ArchDefaults d = arch_defaults(m.architecture);
  m.mlp = d.mlp;
  m.norm = d.norm;
  m.hidden_size = r.integer("hidden_size", std::nullopt, 1, kMaxHidden);
  m.intermediate_size = r.integer("intermediate_size", std::nullopt, 1, kMaxIntermediate);
  m.num_layers = r.integer("num_hidden_layers", std::nullopt, 1, kMaxLayers);
  m.num_heads = r.integer("num_attention_heads", std::nullopt, 1, kMaxHeads);
  m.num_kv_heads = r.integer("num_key_value_heads", m.num_heads, 1, kMaxHeads);
  m.head_dim = r.integer("head_dim", 0, 1, kMaxHeadDim);
  m.vocab_size = r.integer("vocab_size", std::nullopt, 1, kMaxVocab);
  m.max_position_embeddings = r.integer("max_position_embeddings", std::nullopt, 1, kMaxPositions);
  // transformers' defaults for these three classes are false (unlike PretrainedConfig's true).
  m.tie_word_embeddings = r.flag("tie_word_embeddings", false);

  if (m.architecture == "llama") {
    // LlamaAttention puts config.attention_bias on q, k, v and o_proj; LlamaMLP puts mlp_bias on gate, up, down.
    m.attention_bias = r.flag("attention_bias", false);
    m.mlp_bias = r.flag("mlp_bias", false);
  } else if (m.architecture == "stablelm") {
    // use_qkv_bias covers q, k, v only; newer configs say partial_rotary_factor, StableLMEpoch ones rope_pct.
    m.attention_bias = r.flag("use_qkv_bias", false);
    m.parallel_block = r.flag("use_parallel_residual", false);
    m.rotary_fraction = r.has("partial_rotary_factor") ? r.real("partial_rotary_factor", 1.0, 0.0, 1.0)
                                                       : r.real("rope_pct", 1.0, 0.0, 1.0);
    if (r.flag("qk_layernorm", false)) r.fail("qk_layernorm", "per-head q/k LayerNorms are not modelled");
  } else {  // phi
    m.parallel_block = true;
    m.attention_bias = true;
    m.mlp_bias = true;
    m.lm_head_bias = true;
    m.rotary_fraction = r.real("partial_rotary_factor", 1.0, 0.0, 1.0);
    if (r.flag("qk_layernorm", false)) r.fail("qk_layernorm", "per-head q/k LayerNorms are not modelled");
  }
  // Cross-field faults are reported under the config.json key names.
  check_shape(m, [&](const std::string& key) {
    if (key == "num_kv_heads")
      return r.where(r.has("num_key_value_heads") ? "num_key_value_heads" : "num_attention_heads");
    if (key == "num_heads") return r.where("num_attention_heads");
    if (key == "rotary_fraction") return r.where("partial_rotary_factor");
    return r.where(key);
  });
  return m;
}

ModelShape load_model(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".json") return load_hf_config(path);
  if (ext == ".yaml" || ext == ".yml") return load_model_yaml(path);
  throw InputError(path + ": unknown model file type '" + ext +
                   "' (expected .yaml/.yml for our model configs or .json for a Hugging Face config.json)");
}

}  // namespace npusim::workloads

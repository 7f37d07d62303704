#include "common/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>

#include "common/error.h"

namespace npusim {

namespace {
// Tag given to values that came from an override; the rest of the tag is where it came from, as an error names it
// ("--set key=value", or the run file's line).
const std::string kSetTag = "npusim-set:";
}  // namespace

std::string set_by(const YAML::Node& node) {
  if (!node.IsDefined() || node.Tag().rfind(kSetTag, 0) != 0) return "";
  return node.Tag().substr(kSetTag.size());
}

int line_of(const YAML::Node& node) {
  if (!node.IsDefined() || !set_by(node).empty()) return 0;
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return 0;
  return mark.line + 1;
}

std::string format_number(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

ConfigSection::ConfigSection(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    throw InputError(location_prefix(file_, line_of(node_)) + (path_.empty() ? "document" : path_) +
                     ": expected a mapping of keys to values");
  }
}

ConfigSection ConfigSection::for_docs(std::vector<FieldDoc>* sink, std::string path) {
  ConfigSection s(YAML::Node(), "<docs>", std::move(path));
  s.docs_ = sink;
  return s;
}

std::string ConfigSection::key_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

YAML::Node ConfigSection::node_of(const std::string& key) const {
  if (docs_ || !node_.IsDefined() || node_.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

void ConfigSection::fail(const YAML::Node& at, const std::string& key, const std::string& what) const {
  const std::string flag = set_by(at);
  if (!flag.empty()) throw InputError(flag + ": " + key_path(key) + ": " + what);
  int line = line_of(at);
  if (line == 0) line = line_of(node_);
  throw InputError(location_prefix(file_, line) + key_path(key) + ": " + what);
}

void ConfigSection::missing(const std::string& key, const std::string& description) const {
  throw InputError(location_prefix(file_, line_of(node_)) + key_path(key) + ": required key missing (" +
                   description + ")");
}

YAML::Node ConfigSection::lookup(const std::string& key) {
  known_.push_back(key);
  return node_of(key);
}

bool ConfigSection::has(const std::string& key) const {
  return node_of(key).IsDefined();
}

void ConfigSection::document(const std::string& key, const std::string& kind, const std::string& unit,
                             const std::string& description, const std::string& default_text,
                             const std::string& range_text) {
  if (docs_) {
    docs_->push_back({key_path(key), kind, unit, description, default_note_.empty() ? default_text : default_note_,
                      range_text});
  }
}

namespace {

std::string range_text(double lo, double hi) {
  return "[" + format_number(lo) + ", " + format_number(hi) + "]";
}

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

// Parses a YAML scalar as a double the way a user means it: plain decimal or scientific notation.
bool parse_double(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || std::isnan(v)) return false;
  *out = v;
  return true;
}

}  // namespace

template <class T>
bool ConfigSection::absent(const YAML::Node& n, const std::string& key, const std::string& description,
                           const std::optional<T>& default_value, T* out) const {
  if (n.IsDefined() && !n.IsNull()) return false;
  if (!default_value) missing(key, description);
  *out = *default_value;
  return true;
}

double ConfigSection::real(const std::string& key, const std::string& unit, const std::string& description,
                           std::optional<double> default_value, double min_value, double max_value) {
  document(key, "real", unit, description, default_value ? format_number(*default_value) : "required",
           range_text(min_value, max_value));
  const YAML::Node n = lookup(key);
  if (docs_) return default_value.value_or(min_value);
  if (double value; absent(n, key, description, default_value, &value)) return value;
  double v = 0;
  if (!n.IsScalar() || !parse_double(n.Scalar(), &v)) {
    fail(n, key, "expected a number" + (unit.empty() ? "" : " in " + unit) + ", got " + scalar_text(n));
  }
  if (v < min_value || v > max_value) {
    fail(n, key,
         format_number(v) + " is out of range " + range_text(min_value, max_value) +
             (unit.empty() ? "" : " " + unit));
  }
  return v;
}

int64_t ConfigSection::integer(const std::string& key, const std::string& unit, const std::string& description,
                               std::optional<int64_t> default_value, int64_t min_value, int64_t max_value) {
  document(key, "integer", unit, description, default_value ? std::to_string(*default_value) : "required",
           "[" + std::to_string(min_value) + ", " + std::to_string(max_value) + "]");
  const YAML::Node n = lookup(key);
  if (docs_) return default_value.value_or(min_value);
  if (int64_t value; absent(n, key, description, default_value, &value)) return value;
  double v = 0;
  if (!n.IsScalar() || !parse_double(n.Scalar(), &v) || v != std::floor(v) || std::fabs(v) > 9.0e18) {
    fail(n, key, "expected an integer" + (unit.empty() ? "" : " in " + unit) + ", got " + scalar_text(n));
  }
  const auto i = static_cast<int64_t>(v);
  if (i < min_value || i > max_value) {
    fail(n, key,
         std::to_string(i) + " is out of range [" + std::to_string(min_value) + ", " + std::to_string(max_value) +
             "]" + (unit.empty() ? "" : " " + unit));
  }
  return i;
}

bool ConfigSection::flag(const std::string& key, const std::string& description,
                         std::optional<bool> default_value) {
  document(key, "flag", "", description, default_value ? (*default_value ? "true" : "false") : "required",
           "true or false");
  const YAML::Node n = lookup(key);
  if (docs_) return default_value.value_or(false);
  if (bool value; absent(n, key, description, default_value, &value)) return value;
  if (n.IsScalar() && n.Scalar() == "true") return true;
  if (n.IsScalar() && n.Scalar() == "false") return false;
  fail(n, key, "expected true or false, got " + scalar_text(n));
}

std::string ConfigSection::choice(const std::string& key, const std::string& description,
                                  std::optional<std::string> default_value,
                                  const std::vector<std::string>& allowed) {
  std::string options;
  for (const auto& a : allowed) options += (options.empty() ? "" : ", ") + a;
  document(key, "choice", "", description, default_value.value_or("required"), "one of: " + options);
  const YAML::Node n = lookup(key);
  if (docs_) return default_value.value_or(allowed.empty() ? "" : allowed.front());
  if (std::string value; absent(n, key, description, default_value, &value)) return value;
  if (!n.IsScalar()) fail(n, key, "expected one of: " + options + ", got " + scalar_text(n));
  if (std::find(allowed.begin(), allowed.end(), n.Scalar()) == allowed.end()) {
    fail(n, key, "'" + n.Scalar() + "' is not one of: " + options);
  }
  return n.Scalar();
}

std::string ConfigSection::text(const std::string& key, const std::string& description,
                                std::optional<std::string> default_value) {
  document(key, "text", "", description, default_value ? "'" + *default_value + "'" : "required", "");
  const YAML::Node n = lookup(key);
  if (docs_) return default_value.value_or("");
  if (std::string value; absent(n, key, description, default_value, &value)) return value;
  if (!n.IsScalar()) fail(n, key, "expected text, got " + scalar_text(n));
  return n.Scalar();
}

ConfigSection ConfigSection::section(const std::string& key, const std::string& description) {
  document(key, "section", "", description, "", "");
  const YAML::Node n = lookup(key);
  if (docs_) {
    ConfigSection child(YAML::Node(), file_, key_path(key));
    child.docs_ = docs_;
    return child;
  }
  if (n.IsDefined() && !n.IsNull() && !n.IsMap()) fail(n, key, "expected a mapping, got " + scalar_text(n));
  return ConfigSection(n, file_, key_path(key));
}

YAML::Node ConfigSection::list(const std::string& key, const std::string& description, bool required) {
  document(key, "list", "", description, required ? "required" : "empty", "");
  const YAML::Node n = lookup(key);
  if (docs_) return YAML::Node(YAML::NodeType::Undefined);
  if (!n.IsDefined() || n.IsNull()) {
    if (required) missing(key, description);
    return YAML::Node(YAML::NodeType::Undefined);
  }
  if (!n.IsSequence()) fail(n, key, "expected a list, got " + scalar_text(n));
  return n;
}

void ConfigSection::finish() const {
  if (docs_ || !node_.IsDefined() || node_.IsNull()) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string options;
    for (const auto& k : known_) options += (options.empty() ? "" : ", ") + k;
    const std::string flag = set_by(it->second);
    const std::string where =
        flag.empty() ? location_prefix(file_, line_of(it->first)) : flag + ": " + file_ + ": ";
    throw InputError(where + key_path(key) + ": unknown key (expected one of: " + options + ")");
  }
}

namespace {

// yaml-cpp keeps the first of two equal keys silently; a config with a key twice is almost surely a mistake.
void reject_duplicate_keys(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) {
    std::vector<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        throw InputError(location_prefix(path, line_of(it->first)) + key + ": key given twice");
      }
      seen.push_back(key);
      reject_duplicate_keys(it->second, path);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) reject_duplicate_keys(item, path);
  }
}

}  // namespace

YAML::Node load_yaml_file(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw InputError(path + ": is a folder, expected a YAML file");
  try {
    YAML::Node doc = YAML::LoadFile(path);
    reject_duplicate_keys(doc, path);
    return doc;
  } catch (const YAML::BadFile&) {
    throw InputError(path + ": cannot open file");
  } catch (const YAML::ParserException& e) {
    throw InputError(location_prefix(path, e.mark.line + 1) + "YAML syntax error: " + e.msg);
  }
}

void apply_override(YAML::Node root, const std::string& assignment, const std::string& as_typed) {
  const std::string typed = as_typed.empty() ? "--set " + assignment : as_typed;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw InputError(typed + ": expected key.path=value");
  }
  const std::string path = assignment.substr(0, eq);
  const std::string value_text = assignment.substr(eq + 1);
  std::vector<std::string> keys;
  std::stringstream ss(path);
  for (std::string part; std::getline(ss, part, '.');) {
    if (part.empty()) throw InputError(typed + ": empty key in path '" + path + "'");
    keys.push_back(part);
  }
  YAML::Node value;
  try {
    value = YAML::Load(value_text);
  } catch (const YAML::ParserException& e) {
    throw InputError(typed + ": value is not valid YAML: " + e.msg);
  }
  // A list's element by its index (configurations.1.bits); an InputError when `key` is not one of its indices.
  const auto index_in = [&](const YAML::Node& list, const std::string& key, const std::string& list_name) {
    if (key.empty() || key.size() > 9 || key.find_first_not_of("0123456789") != std::string::npos) {
      throw InputError(typed + ": '" + list_name + "' is a list: expected an element index, got '" + key + "'");
    }
    const size_t i = std::stoul(key);
    if (i >= list.size()) {
      throw InputError(typed + ": '" + list_name + "' has " + std::to_string(list.size()) + " elements, no " +
                       key);
    }
    return i;
  };
  // Walk with fresh node handles: yaml-cpp nodes are references, so assigning through them edits `root`.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node parent = chain.back();
    const std::string name = i == 0 ? "the document" : keys[i - 1];
    if (parent.IsSequence()) {
      chain.push_back(parent[index_in(parent, keys[i], name)]);
      continue;
    }
    if (parent.IsDefined() && !parent.IsNull() && !parent.IsMap()) {
      throw InputError(typed + ": " + (i == 0 ? "the document" : "'" + keys[i - 1] + "'") + " is not a mapping");
    }
    chain.push_back(parent[keys[i]]);
  }
  YAML::Node parent = chain.back();
  value.SetTag(kSetTag + typed);
  if (parent.IsSequence()) {
    parent[index_in(parent, keys.back(), keys.size() > 1 ? keys[keys.size() - 2] : "the document")] = value;
    return;
  }
  if (parent.IsDefined() && !parent.IsNull() && !parent.IsMap()) {
    throw InputError(typed + ": the parent of '" + keys.back() + "' is not a mapping");
  }
  parent[keys.back()] = value;
}

}  // namespace npusim

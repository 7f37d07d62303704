// Declared configuration fields, in the spirit of Ramulator 2: every YAML field is declared exactly once, where it
// is read, with its unit, meaning, default and valid range. The same declarations validate input (wrong types,
// out-of-range values, missing required keys and unknown keys are InputErrors naming file, line and key) and
// document it (`npusim describe` prints them).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace npusim {

// One declared field, as printed by `npusim describe`.
struct FieldDoc {
  std::string path;          // dotted key, e.g. "dram.channels"
  std::string kind;          // "real", "integer", "flag", "choice", "text", "section", "list"
  std::string unit;          // "" when dimensionless
  std::string description;   // what it means
  std::string default_text;  // "required" when there is no default
  std::string range_text;    // "[1, 1024]" or "one of: a, b"; "" when unconstrained
};

// A YAML mapping read through declarations. Create one per mapping; call finish() after reading every field so
// that keys nobody declared are reported.
class ConfigSection {
 public:
  // `node` may be undefined or null: then every field takes its default (and required fields are an error).
  // `file` names the source for messages; `path` is the dotted prefix of this section ("" at the root).
  ConfigSection(YAML::Node node, std::string file, std::string path = "");

  // Documentation mode: nothing is read, every field returns its default (or a placeholder when required), and
  // every declaration is appended to `sink`.
  static ConfigSection for_docs(std::vector<FieldDoc>* sink, std::string path = "");

  double real(const std::string& key, const std::string& unit, const std::string& description,
              std::optional<double> default_value, double min_value, double max_value);
  int64_t integer(const std::string& key, const std::string& unit, const std::string& description,
                  std::optional<int64_t> default_value, int64_t min_value, int64_t max_value);
  bool flag(const std::string& key, const std::string& description, std::optional<bool> default_value);
  std::string choice(const std::string& key, const std::string& description,
                     std::optional<std::string> default_value, const std::vector<std::string>& allowed);
  std::string text(const std::string& key, const std::string& description,
                   std::optional<std::string> default_value);
  // A nested mapping; missing means "all defaults". The caller reads it and calls finish() on it.
  ConfigSection section(const std::string& key, const std::string& description);
  // Whether `key` is present (for optional sections that change behaviour when given).
  bool has(const std::string& key) const;
  // A raw sub-node for lists of mappings; marks the key as known. Undefined node when absent.
  YAML::Node list(const std::string& key, const std::string& description, bool required);

  // Throws InputError for the first key that no declaration read.
  void finish() const;

  // Helpers for code that walks raw nodes (lists) and must report faults the same way.
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  std::string key_path(const std::string& key) const;
  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& what) const;
  // The node of a key this section holds (undefined when absent), to report cross-field faults at their line.
  YAML::Node node_of(const std::string& key) const;
  bool documenting() const { return docs_ != nullptr; }
  // In docs mode, shows `note` instead of the default of every field declared after this call (e.g. fields whose
  // default comes from a preset chosen in the same document).
  void describe_defaults_as(const std::string& note) { default_note_ = note; }

 private:
  YAML::Node lookup(const std::string& key);
  void document(const std::string& key, const std::string& kind, const std::string& unit,
                const std::string& description, const std::string& default_text, const std::string& range_text);
  [[noreturn]] void missing(const std::string& key, const std::string& description) const;
  // Whether the field is absent; then *out is its default (an absent required field is an error).
  template <class T>
  bool absent(const YAML::Node& n, const std::string& key, const std::string& description,
              const std::optional<T>& default_value, T* out) const;

  YAML::Node node_;
  std::string file_;
  std::string path_;
  std::vector<std::string> known_;
  std::vector<FieldDoc>* docs_ = nullptr;
  std::string default_note_;
};

// Line (1-based) of a node in its file, 0 when unknown (e.g. a value set with --set).
int line_of(const YAML::Node& node);
// The assignment as the user typed it when `node` came from --set, "" otherwise.
std::string set_by(const YAML::Node& node);

// Loads a YAML file, turning parse errors into InputErrors with file and line.
YAML::Node load_yaml_file(const std::string& path);

// Applies "a.b.c=value" to a loaded document: the value is parsed as YAML (so numbers stay numbers). Creates
// missing mappings along the path; unknown keys are then caught by the section that reads them. The value is
// marked so that any fault found in it later names where it came from (`as_typed`, default "--set assignment").
void apply_override(YAML::Node root, const std::string& assignment, const std::string& as_typed = "");

// Formats a number the way reports and docs show it: shortest text that reads back to the same double.
std::string format_number(double value);

}  // namespace npusim

// Spec fields shared by `trace synth` (one spec) and `trace suite` (an assumptions file of many): a length
// distribution and lists of numbers, read through declared fields. Internal to traces/.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "common/config.h"
#include "traces/trace.h"

namespace npusim::traces {

constexpr int64_t kMaxSpecTokens = 1000000000;  // clamp ceiling for spec values: far above any context length

inline LengthDistribution read_distribution(ConfigSection s) {
  LengthDistribution d;
  d.kind = s.choice("kind", "how lengths are drawn", std::nullopt, {"fixed", "uniform", "normal", "lognormal"});
  d.value = s.real("value", "tokens", "fixed: the length", 0.0, 0, kMaxSpecTokens);
  d.mean =
      s.real("mean", "tokens", "normal, lognormal: mean of the length (not of its log)", 0.0, 0, kMaxSpecTokens);
  d.stddev =
      s.real("stddev", "tokens", "normal, lognormal: standard deviation of the length", 0.0, 0, kMaxSpecTokens);
  d.min = s.integer("min", "tokens", "inclusive lower clamp of every draw", 1, 1, kMaxSpecTokens);
  d.max = s.integer("max", "tokens", "inclusive upper clamp of every draw", std::nullopt, 1, kMaxSpecTokens);
  s.finish();
  // A field the kind does not read is surely a mistake (a 'mean' on a fixed length would be silently ignored).
  const std::vector<std::string> used = d.kind == "fixed"     ? std::vector<std::string>{"value"}
                                        : d.kind == "uniform" ? std::vector<std::string>{}
                                                              : std::vector<std::string>{"mean", "stddev"};
  for (const char* key : {"value", "mean", "stddev"}) {
    const bool uses = std::find(used.begin(), used.end(), key) != used.end();
    if (uses && !s.has(key)) s.fail(YAML::Node(), key, "required by kind '" + d.kind + "'");
    if (!uses && s.has(key)) s.fail(s.node_of(key), key, "not used by kind '" + d.kind + "'");
  }
  if (d.max < d.min) s.fail(s.node_of("max"), "max", "must be >= min (" + std::to_string(d.min) + ")");
  if (d.kind == "lognormal" && d.mean <= 0) s.fail(s.node_of("mean"), "mean", "lognormal needs mean > 0");
  return d;
}

template <typename T>
std::vector<T> read_list(ConfigSection& s, const std::string& key, const std::string& what, bool required) {
  std::vector<T> out;
  const YAML::Node list = s.list(key, what, required);
  if (!list.IsDefined()) return out;
  for (const YAML::Node& item : list) {
    try {
      out.push_back(item.as<T>());
    } catch (const YAML::Exception&) {
      s.fail(item, key, "expected a list of numbers, got '" + (item.IsScalar() ? item.Scalar() : "?") + "'");
    }
  }
  return out;
}

}  // namespace npusim::traces

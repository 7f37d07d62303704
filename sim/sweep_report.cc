// `npusim report SWEEP_DIR`: a sweep's table (sweep.jsonl) as the best point per metric and configuration, and
// the Pareto fronts of throughput against energy per token and against peak DRAM bandwidth.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/files.h"
#include "sim/sweep.h"

namespace npusim::sim {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Objective {
  const char* metric;
  bool maximise;
};
// The metrics a best point is reported for.
const Objective kBest[] = {
    {"samples_per_s", true}, {"speedup_over_fp16", true}, {"tpot_ms", false}, {"dram_energy_per_token_mj", false}};

std::string fields_text(const json& row, const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& f : fields) {
    out += (out.empty() ? "" : " ") + f + "=" + (row.contains(f) ? row[f].get<std::string>() : "?");
  }
  return out;
}

double metric(const json& row, const char* name) {
  return row.contains(name) && row[name].is_number() ? row[name].get<double>() : 0.0;
}

// Rows not dominated in (maximise `up`, minimise `down`), sorted by `down`.
std::vector<const json*> pareto(const std::vector<const json*>& rows, const char* up, const char* down) {
  std::vector<const json*> front;
  for (const json* r : rows) {
    bool dominated = false;
    for (const json* o : rows) {
      const bool no_worse = metric(*o, up) >= metric(*r, up) && metric(*o, down) <= metric(*r, down);
      const bool better = metric(*o, up) > metric(*r, up) || metric(*o, down) < metric(*r, down);
      dominated = dominated || (no_worse && better);
    }
    if (!dominated) front.push_back(r);
  }
  std::stable_sort(front.begin(), front.end(), [&](const json* a, const json* b) {
    return std::make_pair(metric(*a, down), -metric(*a, up)) < std::make_pair(metric(*b, down), -metric(*b, up));
  });
  return front;
}

}  // namespace

bool is_sweep_dir(const std::string& path) {
  return fs::is_regular_file(fs::path(path) / "sweep.json");
}

std::string sweep_report(const std::string& dir) {
  json description;
  try {
    description = json::parse(read_file((fs::path(dir) / "sweep.json").string()));
  } catch (const json::exception& e) {
    throw InputError(dir + "/sweep.json: not JSON (" + e.what() + ")");
  }
  if (description.value("format", "") != "npusim-sweep") {
    throw InputError(dir + "/sweep.json: expected format npusim-sweep");
  }
  const std::string table = (fs::path(dir) / "sweep.jsonl").string();
  if (!fs::is_regular_file(table)) {
    throw InputError(table +
                     ": no such file; the sweep has not finished a run (npusim sweep writes it at the end)");
  }
  std::vector<std::string> fields;
  try {
    fields = description.at("fields").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    throw InputError(dir + "/sweep.json: fields: expected a list of field names (" + e.what() + ")");
  }
  std::vector<json> rows;
  std::istringstream in(read_file(table));
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty()) continue;
    try {
      rows.push_back(json::parse(line));
    } catch (const json::exception& e) {
      throw InputError(table + ":" + std::to_string(line_number) + ": not JSON (" + e.what() + ")");
    }
  }
  std::map<std::string, std::vector<const json*>> by_config;  // model / task / configuration
  std::vector<std::string> order;
  std::set<uint64_t> points;
  // One group per model, task, configuration and (unless the trace is what the sweep varies) trace: a base run
  // whose configuration replays several traces would otherwise compare different workloads.
  bool traces_swept = false;
  for (const std::string& f : fields) traces_swept = traces_swept || f.rfind("traces", 0) == 0;
  for (const json& r : rows) {
    std::string key = r.value("model", "") + " / " + r.value("task", "") + " / " + r.value("configuration", "");
    if (!traces_swept) key += " / " + fs::path(r.value("trace", "")).filename().string();
    if (!by_config.count(key)) order.push_back(key);
    by_config[key].push_back(&r);
    points.insert(r.value("point", uint64_t{0}));
  }
  const size_t failures = [&] {
    const std::string f = (fs::path(dir) / "failures.jsonl").string();
    if (!fs::exists(f)) return size_t{0};
    const std::string text = read_file(f);
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }();
  std::string out =
      fmt::format("sweep {}: {} points in the table ({} in the spec, {} failed)\n", description.value("name", ""),
                  points.size(), description.at("points").size(), failures);
  for (const std::string& key : order) {
    const std::vector<const json*>& group = by_config[key];
    out += fmt::format("\n{}\n", key);
    for (const Objective& o : kBest) {
      const json* best = *std::max_element(group.begin(), group.end(), [&](const json* a, const json* b) {
        return o.maximise ? metric(*a, o.metric) < metric(*b, o.metric)
                          : metric(*a, o.metric) > metric(*b, o.metric);
      });
      out += fmt::format("  best {:<26} {:>12.4g}  point {:>4}  {}\n", o.metric, metric(*best, o.metric),
                         best->value("point", 0), fields_text(*best, fields));
    }
    for (const auto& [up, down] : {std::pair{"samples_per_s", "dram_energy_per_token_mj"},
                                   std::pair{"samples_per_s", "peak_dram_bytes_per_s"}}) {
      out += fmt::format("  Pareto front, {} up, {} down:\n", up, down);
      // Points with the same two values (the axes this configuration ignores) are one entry.
      const std::vector<const json*> front = pareto(group, up, down);
      for (size_t i = 0; i < front.size();) {
        const json* r = front[i];
        std::string ties;
        size_t j = i + 1;
        for (; j < front.size() && metric(*front[j], up) == metric(*r, up) &&
               metric(*front[j], down) == metric(*r, down);
             ++j) {
          ties += (ties.empty() ? "" : ", ") + std::to_string(front[j]->value("point", 0));
        }
        out += fmt::format("    {:>12.4g} {:>12.4g}  point {:>4}  {}{}\n", metric(*r, up), metric(*r, down),
                           r->value("point", 0), fields_text(*r, fields),
                           ties.empty() ? "" : " (the same: points " + ties + ")");
        i = j;
      }
    }
  }
  return out;
}

}  // namespace npusim::sim

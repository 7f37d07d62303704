// Published figures a run is set beside (e.g. the PMPD paper's NPU throughput figure): per (model, task) group,
// per configuration, the published samples/s and speedup over fp16. Read from YAML through declared fields; the
// run copies them into results.json so that `npusim report` needs nothing but the results folder.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace npusim::sim {

struct PublishedBar {
  std::string configuration;     // the run's configuration name for this bar
  double samples_per_s = 0;      // 0: not published
  double speedup_over_fp16 = 0;  // 0: not published
};

struct PublishedGroup {
  std::string model, task;
  std::vector<PublishedBar> bars;
};

struct PublishedFigure {
  std::string file;    // where it was read from ("" when the run names none)
  std::string source;  // citation
  std::vector<PublishedGroup> groups;
};

// Reads a published figure; throws InputError naming file, line and key.
PublishedFigure load_published_figure(const std::string& path);

nlohmann::ordered_json published_figure_json(const PublishedFigure& figure);
// The inverse, for `npusim report` (throws InputError naming `where` and the field).
PublishedFigure published_figure_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace npusim::sim

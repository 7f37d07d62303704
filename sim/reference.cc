#include "sim/reference.h"

#include "common/config.h"
#include "common/error.h"

namespace npusim::sim {

PublishedFigure load_published_figure(const std::string& path) {
  const YAML::Node root = load_yaml_file(path);
  ConfigSection s(root, path);
  PublishedFigure f;
  f.file = path;
  f.source = s.text("source", "where the figures were published (a citation)", std::nullopt);
  const YAML::Node groups = s.list("groups", "one entry per (model, task) bar group", true);
  s.finish();
  for (size_t i = 0; i < groups.size(); ++i) {
    ConfigSection g(groups[i], path, "groups[" + std::to_string(i) + "]");
    PublishedGroup group;
    group.task = g.text("task", "task, as the traces name it", std::nullopt);
    group.model = g.text("model", "model, as the run's model files name it", std::nullopt);
    const YAML::Node bars = g.list("bars", "one entry per bar: its configuration and published values", true);
    g.finish();
    for (size_t b = 0; b < bars.size(); ++b) {
      ConfigSection e(bars[b], path, g.path() + ".bars[" + std::to_string(b) + "]");
      PublishedBar bar;
      bar.configuration = e.text("configuration", "the run's configuration this bar is", std::nullopt);
      bar.samples_per_s =
          e.real("samples_per_s", "samples/s", "published throughput (0: not published)", 0.0, 0, 1e12);
      bar.speedup_over_fp16 =
          e.real("speedup_over_fp16", "", "published speedup over fp16 (0: not published)", 0.0, 0, 1e6);
      e.finish();
      group.bars.push_back(bar);
    }
    f.groups.push_back(std::move(group));
  }
  return f;
}

nlohmann::ordered_json published_figure_json(const PublishedFigure& figure) {
  nlohmann::ordered_json groups = nlohmann::ordered_json::array();
  for (const PublishedGroup& g : figure.groups) {
    nlohmann::ordered_json bars = nlohmann::ordered_json::array();
    for (const PublishedBar& b : g.bars) {
      bars.push_back({{"configuration", b.configuration},
                      {"samples_per_s", b.samples_per_s},
                      {"speedup_over_fp16", b.speedup_over_fp16}});
    }
    groups.push_back({{"model", g.model}, {"task", g.task}, {"bars", std::move(bars)}});
  }
  return {{"file", figure.file}, {"source", figure.source}, {"groups", std::move(groups)}};
}

PublishedFigure published_figure_from_json(const nlohmann::json& j, const std::string& where) {
  PublishedFigure f;
  try {
    f.file = j.at("file").get<std::string>();
    f.source = j.at("source").get<std::string>();
    for (const auto& g : j.at("groups")) {
      PublishedGroup group;
      group.model = g.at("model").get<std::string>();
      group.task = g.at("task").get<std::string>();
      for (const auto& b : g.at("bars")) {
        group.bars.push_back({b.at("configuration").get<std::string>(), b.at("samples_per_s").get<double>(),
                              b.at("speedup_over_fp16").get<double>()});
      }
      f.groups.push_back(std::move(group));
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where +
                     ": reference: expected {file, source, groups: [{model, task, bars: [{configuration, "
                     "samples_per_s, speedup_over_fp16}]}]} (" +
                     e.what() + ")");
  }
  return f;
}

}  // namespace npusim::sim

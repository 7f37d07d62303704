// `npusim report RESULTS_DIR [--format table|csv|json|markdown] [--plot DIR] [--breakdown]`: any run's
// results.json as one row per (model, task, configuration), with the figures a paper table needs; when the run
// named published figures (run field `reference`), each bar beside its published value with the relative error,
// and a summary of how many speedups lie within 15% and whether PMPD beats uniform where the publication says it
// does.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "common/error.h"
#include "common/files.h"
#include "sim/breakdown.h"
#include "sim/commands.h"
#include "sim/reference.h"
#include "sim/report.h"
#include "sim/sweep.h"

namespace npusim::sim {

namespace {

namespace fs = std::filesystem;

// A published speedup counts as reproduced within this relative error (the target for the PMPD figure).
constexpr double kReproducedWithin = 0.15;

struct Row {
  std::string model, task, configuration;
  double samples_per_s = 0, speedup_over_fp16 = 0, speedup_over_uniform = 0, tpot_speedup_over_fp16 = 0;
  double mean_decode_bits = 0, mean_prompt_tokens = 0, mean_output_tokens = 0, prefill_share = 0;
  // Published (0: none).
  double paper_samples_per_s = 0, paper_speedup_over_fp16 = 0;
  double speedup_error() const {
    return paper_speedup_over_fp16 > 0 ? speedup_over_fp16 / paper_speedup_over_fp16 - 1 : 0;
  }
  double samples_error() const { return paper_samples_per_s > 0 ? samples_per_s / paper_samples_per_s - 1 : 0; }
};

struct Report {
  std::string run, npu, source;
  std::vector<Row> rows;
  bool has_reference = false;
  int within = 0, compared = 0, same_direction = 0, directions = 0;
};

double number(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j.at(key).is_number()) throw InputError(where + ": expected a number in '" + key + "'");
  return j.at(key).get<double>();
}

Report read_report(const std::string& path) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": not JSON (" + e.what() + "); expected npusim's results.json");
  }
  if (!doc.is_object() || doc.value("format", "") != "npusim-results" || doc.value("version", 0) != 1) {
    throw InputError(path + ": expected npusim's results.json (format npusim-results, version 1)");
  }
  Report rep;
  rep.run = doc.value("run", "");
  rep.npu = doc.contains("npu") ? doc["npu"].value("name", "") : "";
  if (!doc.contains("results") || !doc["results"].is_array())
    throw InputError(path + ": results: expected a list");
  for (size_t i = 0; i < doc["results"].size(); ++i) {
    const nlohmann::json& r = doc["results"][i];
    const std::string where = path + ": results[" + std::to_string(i) + "]";
    if (!r.contains("metrics") || !r.contains("counters"))
      throw InputError(where + ": expected metrics, counters");
    const nlohmann::json& m = r["metrics"];
    const nlohmann::json& c = r["counters"];
    // Every metric and counter is a number, the ones the report shows and the ones the plots read alike.
    for (const auto* section : {&m, &c}) {
      const char* name = section == &m ? "metrics" : "counters";
      if (!section->is_object()) throw InputError(where + ": " + name + ": expected an object");
      for (const auto& [key, value] : section->items()) {
        if (!value.is_number()) {
          throw InputError(where + ": " + name + "." + key + ": expected a number, got " + value.dump());
        }
      }
    }
    Row row;
    row.model = r.value("model", doc.contains("model") ? doc["model"].value("name", "") : "");
    row.task = r.value("task", "");
    row.configuration = r.value("configuration", "");
    row.samples_per_s = number(m, "samples_per_s", where);
    row.speedup_over_fp16 = number(m, "speedup_over_fp16", where);
    row.speedup_over_uniform = number(m, "speedup_over_uniform", where);
    row.tpot_speedup_over_fp16 = number(m, "tpot_speedup_over_fp16", where);
    row.mean_decode_bits = number(m, "mean_decode_bits", where);
    const double requests = std::max(1.0, number(c, "requests", where));
    row.mean_prompt_tokens = number(c, "prompt_tokens", where) / requests;
    row.mean_output_tokens = number(c, "output_tokens", where) / requests;
    const double total = number(c, "total_ps", where);
    row.prefill_share = total > 0 ? number(c, "prefill_ps", where) / total : 0;
    rep.rows.push_back(row);
  }
  // Rows in the run's order of models and configurations (results come trace by trace, and traces may be in
  // file-name order), tasks in order of first appearance.
  const auto position = [&](const char* key, const std::string& name) {
    if (!doc.contains(key) || !doc[key].is_array()) return size_t{0};
    for (size_t i = 0; i < doc[key].size(); ++i) {
      if (doc[key][i] == name) return i;
    }
    return doc[key].size();
  };
  std::vector<std::string> tasks;
  for (const Row& row : rep.rows) {
    if (std::find(tasks.begin(), tasks.end(), row.task) == tasks.end()) tasks.push_back(row.task);
  }
  const auto key = [&](const Row& r) {
    return std::make_tuple(position("models", r.model),
                           static_cast<size_t>(std::find(tasks.begin(), tasks.end(), r.task) - tasks.begin()),
                           position("configurations", r.configuration));
  };
  std::stable_sort(rep.rows.begin(), rep.rows.end(), [&](const Row& a, const Row& b) { return key(a) < key(b); });
  if (doc.contains("reference")) {
    const PublishedFigure fig = published_figure_from_json(doc["reference"], path);
    rep.has_reference = true;
    rep.source = fig.source;
    for (const PublishedGroup& g : fig.groups) {
      for (const PublishedBar& b : g.bars) {
        for (Row& row : rep.rows) {
          if (row.model == g.model && row.task == g.task && row.configuration == b.configuration) {
            row.paper_samples_per_s = b.samples_per_s;
            row.paper_speedup_over_fp16 = b.speedup_over_fp16;
          }
        }
      }
    }
    // Within the tolerance, and PMPD (any bar faster than fp16 but not the uniform one) on the same side of
    // uniform as published.
    // The run's uniform baseline (results.json names it; older results: the configuration called uniform).
    const std::string uniform_name =
        doc.contains("baselines") ? doc["baselines"].value("uniform", "uniform") : std::string("uniform");
    std::map<std::pair<std::string, std::string>, const Row*> uniform;
    for (const Row& row : rep.rows) {
      if (row.configuration == uniform_name) uniform[{row.model, row.task}] = &row;
    }
    for (const Row& row : rep.rows) {
      if (row.paper_speedup_over_fp16 <= 0) continue;
      ++rep.compared;
      rep.within += std::fabs(row.speedup_error()) <= kReproducedWithin;
      const auto u = uniform.find({row.model, row.task});
      if (row.configuration == uniform_name || u == uniform.end() || u->second->paper_speedup_over_fp16 <= 0)
        continue;
      ++rep.directions;
      const double published = row.paper_speedup_over_fp16 - u->second->paper_speedup_over_fp16;
      const double simulated = row.speedup_over_fp16 - u->second->speedup_over_fp16;
      rep.same_direction += (published > 0) == (simulated > 0) && (published < 0) == (simulated < 0);
    }
  }
  return rep;
}

std::string fixed(double v, int digits) {
  return fmt::format("{:.{}f}", v, digits);
}
std::string percent(double v, bool present) {
  return present ? fmt::format("{:+.1f}%", 100 * v) : "-";
}

// The columns, in order, with each row's text (shared by the table, CSV and Markdown writers).
std::vector<std::pair<std::string, std::vector<std::string>>> columns(const Report& rep) {
  std::vector<std::pair<std::string, std::vector<std::string>>> cols = {
      {"model", {}},           {"task", {}},         {"configuration", {}},
      {"samples_per_s", {}},   {"speedup_fp16", {}}, {"tpot_speedup_fp16", {}},
      {"speedup_uniform", {}}, {"bits", {}},         {"prompt_tokens", {}},
      {"output_tokens", {}},   {"prefill_share", {}}};
  if (rep.has_reference) {
    for (const char* c : {"paper_samples_per_s", "samples_error", "paper_speedup_fp16", "speedup_error"})
      cols.push_back({c, {}});
  }
  for (const Row& r : rep.rows) {
    std::vector<std::string> cells = {r.model,
                                      r.task,
                                      r.configuration,
                                      fixed(r.samples_per_s, 2),
                                      speedup_text(r.speedup_over_fp16),
                                      speedup_text(r.tpot_speedup_over_fp16),
                                      speedup_text(r.speedup_over_uniform),
                                      fixed(r.mean_decode_bits, 2),
                                      fixed(r.mean_prompt_tokens, 1),
                                      fixed(r.mean_output_tokens, 1),
                                      fixed(r.prefill_share, 3)};
    if (rep.has_reference) {
      cells.push_back(r.paper_samples_per_s > 0 ? fixed(r.paper_samples_per_s, 1) : "-");
      cells.push_back(percent(r.samples_error(), r.paper_samples_per_s > 0));
      cells.push_back(speedup_text(r.paper_speedup_over_fp16));
      cells.push_back(percent(r.speedup_error(), r.paper_speedup_over_fp16 > 0));
    }
    for (size_t i = 0; i < cells.size(); ++i) cols[i].second.push_back(cells[i]);
  }
  return cols;
}

std::string summary(const Report& rep) {
  if (!rep.has_reference) return "";
  return fmt::format(
      "against {}: {} of {} speedups over fp16 within {:.0f}% of the published value; PMPD on the published "
      "side of uniform in {} of {} bars\n",
      rep.source, rep.within, rep.compared, 100 * kReproducedWithin, rep.same_direction, rep.directions);
}

std::string as_table(const Report& rep, bool markdown) {
  const auto cols = columns(rep);
  std::vector<size_t> width;
  for (const auto& [name, cells] : cols) {
    size_t w = name.size();
    for (const std::string& c : cells) w = std::max(w, c.size());
    width.push_back(w);
  }
  std::string out;
  const auto line = [&](const std::function<std::string(size_t)>& cell) {
    for (size_t i = 0; i < cols.size(); ++i) {
      const bool left = i < 3;
      const std::string text = cell(i);
      const std::string padded =
          left ? fmt::format("{:<{}}", text, width[i]) : fmt::format("{:>{}}", text, width[i]);
      out += markdown ? "| " + padded + " " : (i ? "  " : "") + padded;
    }
    out += markdown ? "|\n" : "\n";
  };
  if (!markdown) out += fmt::format("{} on {}\n\n", rep.run, rep.npu);
  line([&](size_t i) { return cols[i].first; });
  if (markdown) {
    line([&](size_t i) { return (i < 3 ? ":" : "") + std::string(width[i] - 1, '-') + (i < 3 ? "" : ":"); });
  }
  for (size_t r = 0; r < rep.rows.size(); ++r) line([&](size_t i) { return cols[i].second[r]; });
  const std::string s = summary(rep);
  if (!s.empty()) out += "\n" + s;
  return out;
}

std::string as_csv(const Report& rep) {
  const auto cols = columns(rep);
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + cols[i].first;
  out += "\n";
  for (size_t r = 0; r < rep.rows.size(); ++r) {
    for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + csv_field(cols[i].second[r]);
    out += "\n";
  }
  return out;
}

std::string as_json(const Report& rep) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const Row& r : rep.rows) {
    nlohmann::ordered_json j = {{"model", r.model},
                                {"task", r.task},
                                {"configuration", r.configuration},
                                {"samples_per_s", r.samples_per_s},
                                {"speedup_over_fp16", r.speedup_over_fp16},
                                {"tpot_speedup_over_fp16", r.tpot_speedup_over_fp16},
                                {"speedup_over_uniform", r.speedup_over_uniform},
                                {"mean_decode_bits", r.mean_decode_bits},
                                {"mean_prompt_tokens", r.mean_prompt_tokens},
                                {"mean_output_tokens", r.mean_output_tokens},
                                {"prefill_share", r.prefill_share}};
    if (rep.has_reference) {
      j["paper_samples_per_s"] = r.paper_samples_per_s;
      j["paper_speedup_over_fp16"] = r.paper_speedup_over_fp16;
      j["speedup_error"] = r.speedup_error();
    }
    rows.push_back(std::move(j));
  }
  nlohmann::ordered_json doc = {{"run", rep.run}, {"npu", rep.npu}, {"rows", std::move(rows)}};
  if (rep.has_reference) {
    doc["reference"] = {{"source", rep.source},
                        {"within", rep.within},
                        {"compared", rep.compared},
                        {"tolerance", kReproducedWithin},
                        {"same_direction", rep.same_direction},
                        {"directions", rep.directions}};
  }
  return doc.dump(2) + "\n";
}

// Runs plot scripts of plots/ (with Debian's python3, which has matplotlib) on `input`, into `dir`.
void run_plot_scripts(const std::vector<const char*>& scripts, const std::string& input, const std::string& dir) {
  const char* python = std::getenv("NPUSIM_PYTHON");
  const std::string interpreter = python && *python ? python : "/usr/bin/python3";
  for (const char* name : scripts) {
    const std::string script = (fs::path(project_dir()) / "plots" / name).string();
    const auto quoted = [](const std::string& word) {  // one shell word, whatever it holds
      std::string out = "'";
      for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      return out + "'";
    };
    const std::string command = quoted(interpreter) + " " + quoted(script) + " " + quoted(input) + " --out " +
                                quoted(dir) + " --format png,svg";
    if (std::system(command.c_str()) != 0) {
      throw InputError("report --plot: the plot script failed (" + command +
                       "); it needs python3 with matplotlib (scripts/setup.sh installs python3-matplotlib)");
    }
  }
}

// A run's charts: per task, and paper-style across every model and task.
void plot(const std::string& results_json, const std::string& dir) {
  run_plot_scripts({"plot_results.py", "plot_figure.py"}, results_json, dir);
}

// A sweep's charts: heatmaps over two axes, the Pareto scatter, speedup curves.
void plot_sweep(const std::string& sweep_dir, const std::string& dir) {
  run_plot_scripts({"plot_sweep.py"}, sweep_dir, dir);
}

}  // namespace

int report_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description flags("npusim report RESULTS_DIR");
  flags.add_options()("results", po::value<std::string>(), "a run's results folder (or its results.json)")(
      "format", po::value<std::string>()->default_value("table"), "table, csv, json or markdown")(
      "plot", po::value<std::string>(), "also draw the charts of plots/ into this folder (PNG and SVG)")(
      "breakdown", po::bool_switch(),
      "with --format table: also where the time goes, per configuration, phase kind and operator class, with the "
      "unit that bounded each");
  po::positional_options_description pos;
  pos.add("results", 1);
  const po::variables_map vm = parse_flags("report", args, flags, pos);
  if (!vm.count("results")) throw InputError("report: expected a results folder: npusim report RESULTS_DIR");
  std::string path = vm["results"].as<std::string>();
  if (is_sweep_dir(path)) {
    if (vm["format"].as<std::string>() != "table")
      throw InputError("report: a sweep folder prints as a table only");
    std::cout << sweep_report(path);
    if (vm.count("plot")) plot_sweep(path, vm["plot"].as<std::string>());
    return 0;
  }
  if (fs::is_directory(path)) path = (fs::path(path) / "results.json").string();
  if (!fs::is_regular_file(path)) {
    throw InputError("report: " + path + ": no such file; expected a results folder written by npusim run");
  }
  const std::string format = vm["format"].as<std::string>();
  const Report rep = read_report(path);
  if (format == "table") {
    std::cout << as_table(rep, false);
    if (vm["breakdown"].as<bool>()) {
      std::cout
          << "\nWhere the time goes (busy shares while the core was on each class; bound: the busiest unit)\n"
          << breakdown_table(nlohmann::ordered_json::parse(read_file(path)), path);
    }
  } else if (format == "markdown") {
    std::cout << as_table(rep, true);
  } else if (format == "csv") {
    std::cout << as_csv(rep);
  } else if (format == "json") {
    std::cout << as_json(rep);
  } else {
    throw InputError("report --format " + format + ": expected table, csv, json or markdown");
  }
  if (vm.count("plot")) plot(path, vm["plot"].as<std::string>());
  return 0;
}

}  // namespace npusim::sim

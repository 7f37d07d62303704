// A sweep's tidy table: one row per (point, trace, configuration) of every finished point, with the swept fields,
// the NPU's peaks and every metric, as CSV and JSON Lines; failed points in failures.jsonl.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "sim/report.h"
#include "sim/sweep.h"

namespace npusim::sim {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

std::string csv_cell(const ojson& v) {
  return csv_field(v.is_string() ? v.get<std::string>() : v.dump());
}

}  // namespace

void write_sweep_table(const SweepSpec& spec, const std::string& dir) {
  std::vector<ojson> rows;
  std::string failures;
  for (const SweepPoint& p : spec.points) {
    const fs::path pdir = point_dir(dir, p);
    if (!point_finished(dir, p)) {
      const fs::path failed = pdir / "failed.json";
      if (fs::exists(failed)) {
        try {
          failures += ojson::parse(read_file(failed.string())).dump() + "\n";
        } catch (const nlohmann::json::exception& e) {
          throw InputError(failed.string() + ": not JSON (" + e.what() + "); remove it to run the point again");
        }
      }
      continue;
    }
    const std::string results_file = (pdir / "results.json").string();
    ojson doc;
    try {
      doc = ojson::parse(read_file(results_file));
      if (!doc.contains("results") || !doc.contains("npu")) throw std::runtime_error("no results or npu");
    } catch (const std::exception& e) {
      throw InputError(results_file + ": not an npusim results.json (" + e.what() +
                       "); remove the point's folder to run it again");
    }
    for (const ojson& r : doc.at("results")) {
      ojson row;
      row["point"] = p.index;
      row["hash"] = p.hash;
      for (const std::string& f : spec.fields) {
        row[f] = "";
        for (const auto& [field, value] : p.fields) {
          if (field == f) row[f] = value;
        }
      }
      row["model"] = r.value("model", "");
      row["task"] = r.value("task", "");
      row["configuration"] = r.value("configuration", "");
      row["trace"] = r.value("trace", "");
      row["peak_dram_bytes_per_s"] = doc.at("npu").value("peak_dram_bytes_per_s", 0.0);
      row["peak_macs_per_s"] = doc.at("npu").value("peak_macs_per_s", 0.0);
      for (const auto& [name, value] : r.at("metrics").items()) row[name] = value;
      rows.push_back(std::move(row));
    }
  }
  std::string csv, jsonl;
  if (!rows.empty()) {
    bool first = true;
    for (const auto& [name, value] : rows.front().items()) {
      csv += (first ? "" : ",") + name;
      first = false;
    }
    csv += "\n";
  }
  for (const ojson& row : rows) {
    bool first = true;
    for (const auto& [name, value] : row.items()) {
      csv += (first ? "" : ",") + csv_cell(value);
      first = false;
    }
    csv += "\n";
    jsonl += row.dump() + "\n";
  }
  write_files_atomic({{(fs::path(dir) / "sweep.csv").string(), csv},
                      {(fs::path(dir) / "sweep.jsonl").string(), jsonl},
                      {(fs::path(dir) / "failures.jsonl").string(), failures}});
}

}  // namespace npusim::sim

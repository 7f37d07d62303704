// Report writers for a run's results: a terminal table, results.json (every figure, per configuration and per
// request) and results.csv (one row per trace and configuration). All output is deterministic: no timestamps,
// no wall-clock figures.
#pragma once

#include <string>

#include "sim/engine.h"

namespace npusim::sim {

// "3.04x", or "-" where there is no speedup (0).
std::string speedup_text(double x);
// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& text);

std::string results_table(const RunResults& results);
std::string results_json(const RunConfig& run, const RunResults& results);
std::string results_csv(const RunResults& results);

// Writes results.json and results.csv into `dir` (created if needed), each atomically.
void write_results(const std::string& dir, const RunConfig& run, const RunResults& results);

}  // namespace npusim::sim

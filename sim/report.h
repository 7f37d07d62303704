// Report writers for a run's results: a terminal table, results.json (every figure, per configuration and per
// request) and results.csv (one row per trace and configuration). All output is deterministic: no timestamps,
// no wall-clock figures.
#pragma once

#include <string>

#include "sim/engine.h"

namespace npusim::sim {

std::string results_table(const RunResults& results);
std::string results_json(const RunConfig& run, const RunResults& results);
std::string results_csv(const RunResults& results);

// Writes results.json and results.csv into `dir` (created if needed), each atomically.
void write_results(const std::string& dir, const RunConfig& run, const RunResults& results);

}  // namespace npusim::sim

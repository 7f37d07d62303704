// Where the time goes: a configuration's time, bytes and work by phase kind (prefill, decode) and operator class,
// each with the unit that bounded it.
//
// The bound of a stretch of time is the unit busiest in it. A class's stretch is the core's time on its operators
// (the core runs them one after another, so the stretches add up to the phase); each unit's share is its time on
// the class's own work over that stretch: the arrays' and the vector unit's cycles (elementwise vector work that
// overlaps the linear before it counts with the linear), the dequantizer's cycles on the class's tiles, and the
// DRAM's as the class's bytes at the peak rate (achieved bandwidth over peak). The units behind the core run
// ahead of it, so a small class's share can pass 100% when its data came in during the stretch before.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hw_models/npu.h"
#include "sim/engine.h"

namespace npusim::sim {

// Each unit's busy share of a stretch of time.
struct UnitShares {
  double mac_array = 0, gemv_engine = 0, vector_unit = 0, dequantizer = 0, dram = 0;
  double dram_spill_fraction = 0;  // of the stretch's DRAM bytes, the spilled activations'
};

// The busiest unit's name: "DRAM", "dequantizer", "MAC array", "GEMV engine" or "vector unit"; "SRAM spill" when
// the DRAM is busiest and at least half its bytes are spilled activations; "-" when nothing was busy.
std::string bound_name(const UnitShares& shares);

// The shares over one class's stretch.
UnitShares class_shares(const hw::OpClassCounters& c, const hw::NpuConfig& npu);
// The shares over a configuration's whole run.
UnitShares run_shares(const ConfigResult& r, const hw::NpuConfig& npu);

// results.json's "breakdown" of one configuration: {"prefill": {...}, "decode": {...}}, each phase kind with its
// classes in workloads::OpClass order (those with time or bytes), each with time, share of the phase kind's time,
// bytes, MACs, PE utilisation (useful MACs / (PEs x busy cycles)), the units' busy shares and the bound.
nlohmann::ordered_json breakdown_json(const ConfigResult& r, const hw::NpuConfig& npu);

// The terminal table of every result's breakdown in a results.json document: one block per configuration, one
// row per (phase kind, class). Throws InputError naming `where` when the document has no breakdown.
std::string breakdown_table(const nlohmann::ordered_json& results_doc, const std::string& where);

}  // namespace npusim::sim

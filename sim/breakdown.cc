#include "sim/breakdown.h"

#include <fmt/format.h>

#include <utility>

#include "common/error.h"

namespace npusim::sim {

namespace {

using json = nlohmann::ordered_json;

double share(double part, double whole) {
  return whole > 0 ? part / whole : 0;
}

UnitShares shares(const hw::OpClassCounters& c, uint64_t time_ps, uint64_t vector_cycles, uint64_t dequant_cycles,
                  double dram_busy_ps, const hw::NpuConfig& npu) {
  const double period_ps = static_cast<double>(npu.core_period_ps());
  const auto t = static_cast<double>(time_ps);
  UnitShares s;
  s.mac_array = share(static_cast<double>(c.array_busy_cycles) * period_ps, t);
  s.gemv_engine = share(static_cast<double>(c.gemv_busy_cycles) * period_ps, t);
  s.vector_unit = share(static_cast<double>(vector_cycles) * period_ps, t);
  s.dequantizer = share(static_cast<double>(dequant_cycles) * period_ps, t);
  s.dram = share(dram_busy_ps, t * static_cast<double>(npu.dram.channels));
  return s;
}

hw::OpClassCounters sum_of(const hw::ClassCounters& by_class) {
  hw::OpClassCounters sum;
  for (const hw::OpClassCounters& c : by_class) hw::add_counters(&sum, c);
  return sum;
}

uint64_t dram_bytes(const hw::OpClassCounters& c) {
  return c.dram_read_bytes + c.dram_write_bytes;
}
const hw::OpClassCounters& spill_class(const hw::ClassCounters& by_class) {
  return by_class[static_cast<size_t>(workloads::OpClass::kSpill)];
}

json entry(const hw::OpClassCounters& c, uint64_t kind_time_ps, const hw::NpuConfig& npu, double spill_fraction) {
  UnitShares s = class_shares(c, npu);
  s.dram_spill_fraction = spill_fraction;
  json j;
  j["time_ps"] = c.time_ps;
  j["time_share"] = share(static_cast<double>(c.time_ps), static_cast<double>(kind_time_ps));
  j["compute_wait_ps"] = c.compute_wait_ps;
  j["dram_read_bytes"] = c.dram_read_bytes;
  j["dram_write_bytes"] = c.dram_write_bytes;
  j["macs"] = c.macs;
  j["pe_utilisation"] = share(static_cast<double>(c.macs), static_cast<double>(c.pe_busy_cycles));
  j["busy"] = {{"mac_array", s.mac_array},
               {"gemv_engine", s.gemv_engine},
               {"vector_unit", s.vector_unit},
               {"dequantizer", s.dequantizer},
               {"dram", s.dram}};
  j["bound"] = bound_name(s);
  return j;
}

json kind_json(const hw::ClassCounters& by_class, const hw::NpuConfig& npu) {
  const hw::OpClassCounters total = sum_of(by_class);
  json kind;
  json classes = json::object();
  for (size_t c = 0; c < by_class.size(); ++c) {
    const hw::OpClassCounters& k = by_class[c];
    if (k.time_ps == 0 && k.dram_read_bytes + k.dram_write_bytes == 0 && k.macs == 0) continue;
    const bool spill = c == static_cast<size_t>(workloads::OpClass::kSpill);
    classes[workloads::op_class_name(static_cast<workloads::OpClass>(c))] =
        entry(k, total.time_ps, npu, spill ? 1.0 : 0.0);
  }
  kind["classes"] = std::move(classes);
  kind["total"] =
      entry(total, total.time_ps, npu,
            share(static_cast<double>(dram_bytes(spill_class(by_class))), static_cast<double>(dram_bytes(total))));
  return kind;
}

}  // namespace

std::string bound_name(const UnitShares& s) {
  const std::pair<const char*, double> units[] = {{"DRAM", s.dram},
                                                  {"dequantizer", s.dequantizer},
                                                  {"MAC array", s.mac_array},
                                                  {"GEMV engine", s.gemv_engine},
                                                  {"vector unit", s.vector_unit}};
  const char* best = "-";
  double most = 0;
  for (const auto& [name, busy] : units) {
    if (busy > most) {
      most = busy;
      best = name;
    }
  }
  if (most == s.dram && most > 0 && s.dram_spill_fraction >= 0.5) return "SRAM spill";
  return best;
}

UnitShares class_shares(const hw::OpClassCounters& c, const hw::NpuConfig& npu) {
  // The class's bytes on the bus at the peak rate: channels x their bus time.
  const double dram_busy_ps = static_cast<double>(c.dram_read_bytes + c.dram_write_bytes) /
                              npu.dram.peak_bandwidth_bytes_per_s() * 1e12 *
                              static_cast<double>(npu.dram.channels);
  return shares(c, c.time_ps, c.vector_busy_cycles, c.dequant_busy_cycles, dram_busy_ps, npu);
}

UnitShares run_shares(const ConfigResult& r, const hw::NpuConfig& npu) {
  // The arrays' cycles by class; the other units' from the run's own counters (the DRAM's over every phase,
  // including the posted writes' drain at a phase's end, which no class holds).
  hw::OpClassCounters arrays = sum_of(r.prefill_by_class);
  hw::add_counters(&arrays, sum_of(r.decode_by_class));
  UnitShares s = shares(arrays, r.total_ps, r.vector_busy_cycles, r.dequant_busy_cycles,
                        static_cast<double>(r.dram_busy_ps), npu);
  s.dram_spill_fraction = share(static_cast<double>(dram_bytes(spill_class(r.prefill_by_class)) +
                                                    dram_bytes(spill_class(r.decode_by_class))),
                                static_cast<double>(r.dram_read_bytes + r.dram_write_bytes));
  return s;
}

json breakdown_json(const ConfigResult& r, const hw::NpuConfig& npu) {
  return {{"prefill", kind_json(r.prefill_by_class, npu)}, {"decode", kind_json(r.decode_by_class, npu)}};
}

std::string breakdown_table(const nlohmann::ordered_json& doc, const std::string& where) {
  if (!doc.contains("results") || !doc["results"].is_array()) {
    throw InputError(where + ": results: expected a list");
  }
  std::string out;
  try {
    for (size_t i = 0; i < doc["results"].size(); ++i) {
      const json& r = doc["results"][i];
      if (!r.contains("breakdown") || !r["breakdown"].is_object()) {
        throw InputError(where + ": results[" + std::to_string(i) +
                         "]: no breakdown (written by an npusim before operator-class accounting; run it again)");
      }
      out += fmt::format("\n{} on {}, {} ({}; bound: {})\n", r.value("model", ""), r.value("task", ""),
                         r.value("configuration", ""), r.value("trace", ""), r.value("bound", "-"));
      out += fmt::format("{:<8} {:<11} {:>10} {:>6} {:>10} {:>9} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}  {}\n",
                         "phase", "class", "time ms", "share", "DRAM MB", "GMAC", "PE%", "MAC%", "GEMV%", "vec%",
                         "deq%", "DRAM%", "bound");
      for (const char* kind : {"prefill", "decode"}) {
        if (!r["breakdown"].contains(kind)) continue;
        const json& k = r["breakdown"][kind];
        std::vector<std::pair<std::string, const json*>> rows;
        for (const auto& [name, c] : k.at("classes").items()) rows.emplace_back(name, &c);
        rows.emplace_back("all", &k.at("total"));
        for (const auto& [name, cp] : rows) {
          const json& c = *cp;
          const json& busy = c.at("busy");
          out += fmt::format(
              "{:<8} {:<11} {:>10.4f} {:>5.1f}% {:>10.3f} {:>9.3f} {:>6.1f} {:>6.1f} {:>6.1f} {:>6.1f} {:>6.1f} "
              "{:>6.1f}  {}\n",
              kind, name, c.at("time_ps").get<double>() * 1e-9, 100 * c.at("time_share").get<double>(),
              (c.at("dram_read_bytes").get<double>() + c.at("dram_write_bytes").get<double>()) / 1e6,
              c.at("macs").get<double>() / 1e9, 100 * c.at("pe_utilisation").get<double>(),
              100 * busy.at("mac_array").get<double>(), 100 * busy.at("gemv_engine").get<double>(),
              100 * busy.at("vector_unit").get<double>(), 100 * busy.at("dequantizer").get<double>(),
              100 * busy.at("dram").get<double>(), c.at("bound").get<std::string>());
        }
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where + ": breakdown: " + e.what() + " (expected npusim's results.json)");
  }
  return out;
}

}  // namespace npusim::sim

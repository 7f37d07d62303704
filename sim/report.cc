#include "sim/report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "sim/breakdown.h"

namespace npusim::sim {

namespace {

// The per-configuration figures, in report order: name, unit, value. Shared by the CSV and JSON writers so that
// the two never disagree on a column.
struct Metric {
  const char* name;
  double value;
};

std::vector<Metric> metrics_of(const ConfigResult& r) {
  return {
      {"samples_per_s", r.samples_per_s},
      {"decode_tokens_per_s", r.decode_tokens_per_s},
      {"ttft_ms", r.ttft_ms},
      {"tpot_ms", r.tpot_ms},
      {"mean_decode_bits", r.mean_decode_bits},
      {"dram_bytes_per_token", r.dram_bytes_per_token},
      {"dram_utilisation", r.dram_utilisation},
      {"decode_dram_utilisation", r.decode_dram_utilisation},
      {"mac_utilisation", r.mac_utilisation},
      {"memory_stall_share", r.memory_stall_share},
      {"compute_stall_share", r.compute_stall_share},
      {"dram_row_hit_rate", r.dram_row_hit_rate},
      {"dram_energy_mj", r.dram_energy_mj},
      {"dram_energy_per_token_mj", r.dram_energy_per_token_mj},
      {"npu_energy_mj", r.npu_energy_mj},
      {"npu_energy_per_token_mj", r.npu_energy_per_token_mj},
      {"speedup_over_fp16", r.speedup_over_fp16},
      {"speedup_over_uniform", r.speedup_over_uniform},
      {"tpot_speedup_over_fp16", r.tpot_speedup_over_fp16},
      {"tpot_speedup_over_uniform", r.tpot_speedup_over_uniform},
  };
}

struct Counter {
  const char* name;
  uint64_t value;
};

std::vector<Counter> counters_of(const ConfigResult& r) {
  return {
      {"requests", static_cast<uint64_t>(r.requests)},
      {"prompt_tokens", static_cast<uint64_t>(r.prompt_tokens)},
      {"decode_steps", static_cast<uint64_t>(r.decode_steps)},
      {"output_tokens", static_cast<uint64_t>(r.output_tokens)},
      {"total_ps", r.total_ps},
      {"prefill_ps", r.prefill_ps},
      {"decode_ps", r.decode_ps},
      {"dram_read_bytes", r.dram_read_bytes},
      {"dram_write_bytes", r.dram_write_bytes},
      {"decode_dram_bytes", r.decode_dram_bytes},
      {"dram_busy_ps", r.dram_busy_ps},
      {"macs", r.macs},
      {"prefill_macs", r.prefill_macs},
      {"mac_busy_cycles", r.mac_busy_cycles},
      {"dequant_busy_cycles", r.dequant_busy_cycles},
      {"vector_busy_cycles", r.vector_busy_cycles},
      {"tiles", r.tiles},
      {"table_loads", r.table_loads},
      {"compute_wait_ps", r.compute_wait_ps},
      {"buffer_stall_ps", r.buffer_stall_ps},
      {"dram_row_hits", r.dram_row_hits},
      {"dram_row_misses", r.dram_row_misses},
      {"dram_row_misses_after_refresh", r.dram_row_misses_after_refresh},
      {"dram_row_conflicts", r.dram_row_conflicts},
      {"dram_activates", r.dram_activates},
      {"dram_precharges", r.dram_precharges},
      {"dram_refreshes", r.dram_refreshes},
      {"sram_activation_read_bytes", r.sram_activation_read_bytes},
      {"sram_activation_write_bytes", r.sram_activation_write_bytes},
      {"decode_sram_activation_read_bytes", r.decode_sram_activation_read_bytes},
      {"decode_sram_activation_write_bytes", r.decode_sram_activation_write_bytes},
  };
}

}  // namespace

std::string speedup_text(double x) {
  return x > 0 ? fmt::format("{:.2f}x", x) : "-";
}

// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string results_table(const RunResults& results) {
  std::string out = fmt::format("{} | {} on {} ({}, {:.1f} GB/s peak, {:.1f} TMAC/s peak)\n", results.run_name,
                                results.model_name, results.npu_name, results.dram_preset,
                                results.peak_dram_bytes_per_s / 1e9, results.peak_macs_per_s / 1e12);
  std::string trace;
  for (const ConfigResult& r : results.results) {
    if (r.trace_file != trace) {
      trace = r.trace_file;
      out += fmt::format("\n{} on {} ({} requests, trace {})\n", r.model, r.task, r.requests, r.trace_file);
      out += fmt::format("{:<12} {:>9} {:>10} {:>9} {:>9} {:>6} {:>10} {:>9} {:>6} {:>6} {:>9} {:>9} {:>8}  {}\n",
                         "config", "samples/s", "decode t/s", "TTFT ms", "TPOT ms", "bits", "MB/token", "mJ/token",
                         "DRAM%", "MAC%", "vs fp16", "vs unif", "TPOT x16", "bound");
    }
    out += fmt::format(
        "{:<12} {:>9.3f} {:>10.1f} {:>9.3f} {:>9.4f} {:>6.2f} {:>10.2f} {:>9.2f} {:>6.1f} {:>6.1f} {:>9} {:>9} "
        "{:>8}  {}\n",
        r.configuration, r.samples_per_s, r.decode_tokens_per_s, r.ttft_ms, r.tpot_ms, r.mean_decode_bits,
        r.dram_bytes_per_token / 1e6, r.dram_energy_per_token_mj, 100 * r.dram_utilisation,
        100 * r.mac_utilisation, speedup_text(r.speedup_over_fp16), speedup_text(r.speedup_over_uniform),
        speedup_text(r.tpot_speedup_over_fp16), r.bound);
  }
  return out;
}

std::string results_json(const RunConfig& run, const RunResults& results) {
  using json = nlohmann::ordered_json;
  json doc;
  doc["format"] = "npusim-results";
  doc["version"] = 1;
  doc["run"] = results.run_name;
  doc["run_file"] = run.file;
  doc["npu"] = {{"name", results.npu_name},
                {"file", run.npu_file},
                {"dram_preset", results.dram_preset},
                {"peak_dram_bytes_per_s", results.peak_dram_bytes_per_s},
                {"peak_macs_per_s", results.peak_macs_per_s},
                {"core_clock_mhz", results.core_clock_mhz}};
  doc["model"] = {{"name", results.model_name}, {"files", run.model_files}};
  // The run's orders, for reports that group by model and configuration.
  doc["models"] = json::array();
  for (const workloads::ModelShape& m : run.models) doc["models"].push_back(m.name);
  doc["configurations"] = json::array();
  for (const Configuration& c : run.configurations) doc["configurations"].push_back(c.name);
  doc["baselines"] = {{"fp16", run.fp16_baseline}, {"uniform", run.uniform_baseline}};
  doc["simulated_ps"] = results.simulated_ps;
  doc["fidelity"] = {{"mode", results.fidelity},
                     {"simulated_phases", results.simulated_phases},
                     {"resimulated_phases", results.resimulated_phases}};
  const hw::DramStats& d = results.dram;
  const uint64_t bursts = d.row_hits + d.row_misses + d.row_conflicts;
  doc["dram"] = {
      {"model", run.npu.dram.model},
      {"reads", d.reads},
      {"writes", d.writes},
      {"read_bytes", d.read_bytes},
      {"write_bytes", d.write_bytes},
      {"achieved_bytes_per_s", results.simulated_ps ? static_cast<double>(d.read_bytes + d.write_bytes) /
                                                          (static_cast<double>(results.simulated_ps) * 1e-12)
                                                    : 0.0},
      {"row_hits", d.row_hits},
      {"row_misses", d.row_misses},
      {"row_misses_after_refresh", d.row_misses_after_refresh},
      {"row_conflicts", d.row_conflicts},
      {"row_hit_rate", bursts ? static_cast<double>(d.row_hits) / static_cast<double>(bursts) : 0.0},
      {"activates", d.activates},
      {"precharges", d.precharges},
      {"refreshes", d.refreshes},
      {"write_drains", d.write_drains},
      {"read_latency_avg_ns",
       d.reads ? static_cast<double>(d.read_latency_sum_ps) * 1e-3 / static_cast<double>(d.reads) : 0.0},
      {"read_latency_p99_ns", d.read_latency_percentile_ns(0.99)},
      {"command_energy_pj", d.energy_pj}};
  // Per channel: bytes for both models; rows and refreshes where the model keeps them.
  json channels = json::array();
  for (size_t c = 0; c < d.channel_bytes.size(); ++c) {
    json ch = {{"channel", c}, {"bytes", d.channel_bytes[c]}};
    if (c < d.channel_row_hits.size()) {
      ch["row_hits"] = d.channel_row_hits[c];
      ch["row_misses"] = d.channel_row_misses[c];
      ch["row_conflicts"] = d.channel_row_conflicts[c];
      ch["refreshes"] = d.channel_refreshes[c];
    }
    channels.push_back(std::move(ch));
  }
  doc["dram"]["channels"] = std::move(channels);
  json list = json::array();
  for (const ConfigResult& r : results.results) {
    json item;
    item["trace"] = r.trace_file;
    item["model"] = r.model;
    item["task"] = r.task;
    item["scheduler"] = r.scheduler;
    item["configuration"] = r.configuration;
    item["weights"] = r.weights;
    item["bits"] = r.bits;
    for (const Metric& m : metrics_of(r)) item["metrics"][m.name] = m.value;
    for (const Counter& c : counters_of(r)) item["counters"][c.name] = c.value;
    item["bound"] = r.bound;
    item["breakdown"] = breakdown_json(r, run.npu);
    json reqs = json::array();
    for (const RequestResult& q : r.per_request) {
      reqs.push_back({{"id", q.id},
                      {"prompt_tokens", q.prompt_tokens},
                      {"decode_steps", q.decode_steps},
                      {"prefill_ps", q.prefill_ps},
                      {"decode_ps", q.decode_ps},
                      {"mean_decode_bits", q.decode_steps ? q.decode_bits_sum / q.decode_steps : 0.0},
                      {"prefill_bits", q.prefill_bits},
                      {"decode_bits", q.decode_bits}});
    }
    item["requests"] = std::move(reqs);
    list.push_back(std::move(item));
  }
  doc["results"] = std::move(list);
  if (!run.reference_file.empty()) doc["reference"] = published_figure_json(run.reference);
  return doc.dump(2) + "\n";
}

std::string results_csv(const RunResults& results) {
  std::string out = "task,trace,model,scheduler,configuration,weights,bits";
  if (results.results.empty()) return out + "\n";
  for (const Metric& m : metrics_of(results.results.front())) out += std::string(",") + m.name;
  for (const Counter& c : counters_of(results.results.front())) out += std::string(",") + c.name;
  out += "\n";
  for (const ConfigResult& r : results.results) {
    out +=
        fmt::format("{},{},{},{},{},{},{}", csv_field(r.task), csv_field(r.trace_file), csv_field(r.model),
                    csv_field(r.scheduler), csv_field(r.configuration), csv_field(r.weights), csv_field(r.bits));
    for (const Metric& m : metrics_of(r)) out += fmt::format(",{:.9g}", m.value);
    for (const Counter& c : counters_of(r)) out += fmt::format(",{}", c.value);
    out += "\n";
  }
  return out;
}

void write_results(const std::string& dir, const RunConfig& run, const RunResults& results) {
  make_dirs(dir);
  write_files_atomic(
      {{dir + "/results.json", results_json(run, results)}, {dir + "/results.csv", results_csv(results)}});
}

}  // namespace npusim::sim

// `npusim dram-bench`: drives the DRAM of an NPU config with synthetic traffic (hw_models/dram/traffic.h) and
// reports what the DRAM model makes of it: achieved bandwidth against the peak, row hits, commands, read latency,
// energy, and how fast the simulator itself ran. It measures the DRAM model alone, without the NPU around it, so
// that a model's efficiency can be quoted and checked against what the standard allows.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/config.h"
#include "common/error.h"
#include "common/files.h"
#include "common/flags.h"
#include "hw_models/dram/traffic.h"
#include "hw_models/npu.h"
#include "sim/commands.h"

namespace npusim::sim {

namespace po = boost::program_options;

namespace {

// Flags are read as text and parsed strictly: Boost would accept "-1" for an unsigned flag and wrap it around.
uint64_t parse_count(const std::string& flag, const std::string& text) {
  return parse_count_flag("dram-bench: " + flag, text);
}

double parse_real(const std::string& flag, const std::string& text) {
  return parse_real_flag("dram-bench: " + flag, text);
}

std::string text_flag(const po::variables_map& vm, const std::string& name) {
  return vm[name].as<std::string>();
}

// The resolved DRAM config, every field the models read (timings in ns), so that another simulator can be set up
// to match it field by field.
nlohmann::ordered_json dram_config_json(const hw::DramConfig& c) {
  nlohmann::ordered_json j;
  j["model"] = c.model;
  j["preset"] = c.preset;
  j["channels"] = c.channels;
  j["bus_width_bits"] = c.bus_width_bits;
  j["data_rate_mtps"] = c.data_rate_mtps;
  j["burst_length"] = c.burst_length;
  j["transfers_per_clock"] = c.transfers_per_clock;
  j["tCK_ns"] = c.command_clock_ps() / 1000.0;
  j["burst_bytes"] = c.burst_bytes();
  j["ranks"] = c.ranks;
  j["bank_groups"] = c.bank_groups;
  j["banks_per_group"] = c.banks_per_group;
  j["rows"] = c.rows;
  j["row_bytes"] = c.row_bytes;
  j["address_mapping"] = c.address_mapping;
  j["page_policy"] = c.page_policy;
  j["refresh"] = c.refresh;
  j["refresh_postpone"] = c.refresh_postpone;
  j["refresh_pull_in"] = c.refresh_pull_in;
  j["refresh_stagger"] = c.refresh_stagger;
  j["command_buses"] = c.command_buses;
  j["scheduler"] = c.scheduler;
  j["starvation_cap"] = c.starvation_cap;
  j["read_queue_bursts"] = c.read_queue_bursts;
  j["write_queue_bursts"] = c.write_queue_bursts;
  j["write_high_watermark"] = c.write_high_watermark;
  j["write_low_watermark"] = c.write_low_watermark;
  const hw::DramTimings& t = c.timing;
  j["timing"] = {{"tRCD", t.tRCD},     {"tRCD_WR", t.tRCD_WR},
                 {"tRP", t.tRP},       {"tRAS", t.tRAS},
                 {"tRC", t.tRC},       {"tCL", t.tCL},
                 {"tWL", t.tWL},       {"tCCD_S", t.tCCD_S},
                 {"tCCD_L", t.tCCD_L}, {"tCCD_L_WR", t.tCCD_L_WR},
                 {"tRRD_S", t.tRRD_S}, {"tRRD_L", t.tRRD_L},
                 {"tFAW", t.tFAW},     {"tWTR_S", t.tWTR_S},
                 {"tWTR_L", t.tWTR_L}, {"tRTP", t.tRTP},
                 {"tWR", t.tWR},       {"tRTRS", t.tRTRS},
                 {"tRTW", t.tRTW},     {"tPPD", t.tPPD},
                 {"tRREFD", t.tRREFD}, {"tREFI", t.tREFI},
                 {"tRFC", t.tRFC},     {"tRFCpb", t.tRFCpb}};
  return j;
}

}  // namespace

int dram_bench_command(const std::vector<std::string>& args) {
  po::options_description flags("npusim dram-bench NPU.yaml --pattern P");
  flags.add_options()("config", po::value<std::string>(), "NPU config (configs/npu/*.yaml); its dram section")(
      "pattern", po::value<std::string>(), "sequential, strided, random or mixed")(
      "bytes", po::value<std::string>()->default_value("268435456"), "bytes to move (default 256 MiB)")(
      "read-ratio", po::value<std::string>()->default_value("1"), "fraction of requests that read, in [0, 1]")(
      "stride", po::value<std::string>()->default_value("4096"), "strided: bytes between request starts")(
      "request-bytes", po::value<std::string>(), "bytes per request (default: the NPU's streamer.request_bytes)")(
      "outstanding", po::value<std::string>(),
      "requests in flight at most (default: the NPU's streamer.max_outstanding_requests)")(
      "window", po::value<std::string>()->default_value("inorder"),
      "inorder (request k waits for request k - outstanding, as the NPU's streamer) or any (for any free slot)")(
      "sample-channels", po::value<std::string>()->default_value("0"),
      "command model: simulate this many channels, evenly spaced, each standing for its neighbours (0: all; the "
      "fast fidelity's fast_path.sample_channels)")(
      "dump-stream", po::value<std::string>(),
      "also write the exact request stream to this file (text; for driving other simulators)")(
      "model", po::value<std::string>()->default_value("command"),
      "DRAM model: channel or command (sets dram.model)")("seed", po::value<std::string>()->default_value("1"),
                                                          "random addresses and read/write choice")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a field of the NPU config: key.path=value")("json", "print one JSON object instead of the report");
  po::positional_options_description pos;
  pos.add("config", 1);
  const po::variables_map vm = parse_flags("dram-bench", args, flags, pos);
  std::ostringstream usage;
  usage << flags;
  if (!vm.count("config")) {
    throw InputError("dram-bench: expected an NPU config: npusim dram-bench NPU.yaml --pattern P [flags]\n" +
                     usage.str());
  }
  if (!vm.count("pattern")) {
    throw InputError("dram-bench: --pattern: required (sequential, strided, random or mixed)\n" + usage.str());
  }

  hw::TrafficSpec spec;
  spec.pattern = text_flag(vm, "pattern");
  spec.bytes = parse_count("--bytes", text_flag(vm, "bytes"));
  spec.read_ratio = parse_real("--read-ratio", text_flag(vm, "read-ratio"));
  spec.stride_bytes = parse_count("--stride", text_flag(vm, "stride"));
  spec.seed = parse_count("--seed", text_flag(vm, "seed"));
  spec.window = text_flag(vm, "window");
  const std::string model = text_flag(vm, "model");
  const std::vector<std::string> models = hw::dram_model_names();
  if (std::find(models.begin(), models.end(), model) == models.end()) {
    std::string known;
    for (const std::string& n : models) known += (known.empty() ? "" : ", ") + n;
    throw InputError("dram-bench: --model: unknown DRAM model '" + model + "' (known: " + known + ")");
  }

  // The DRAM comes from the NPU document exactly as `npusim run` reads it, so every dram.* field and its
  // validation apply; --model is applied after the --set overrides (it always has a value).
  const std::string config_file = vm["config"].as<std::string>();
  YAML::Node doc = load_yaml_file(config_file);
  if (vm.count("set")) {
    for (const std::string& s : vm["set"].as<std::vector<std::string>>()) apply_override(doc, s);
  }
  apply_override(doc, "dram.model=" + model, "--model " + model);
  ConfigSection section(doc, config_file);
  const hw::NpuConfig npu = hw::read_npu_config(section);
  const hw::DramConfig& config = npu.dram;
  // Unless told otherwise, the traffic arrives the way the NPU's streamer sends it.
  spec.request_bytes = vm.count("request-bytes") ? parse_count("--request-bytes", text_flag(vm, "request-bytes"))
                                                 : static_cast<uint64_t>(npu.dma_request_bytes);
  spec.outstanding = vm.count("outstanding") ? parse_count("--outstanding", text_flag(vm, "outstanding"))
                                             : static_cast<uint64_t>(npu.dma_max_outstanding);
  try {
    hw::check_traffic_spec(spec);
  } catch (const InputError& e) {
    throw InputError(std::string("dram-bench: ") + e.what());
  }
  const std::unique_ptr<hw::IDram> dram = hw::make_dram(config);
  const uint64_t sample_channels = parse_count("--sample-channels", text_flag(vm, "sample-channels"));
  try {
    dram->sample_channels(sample_channels);
  } catch (const InputError& e) {
    throw InputError(std::string("dram-bench: --sample-channels: ") + e.what());
  }

  const auto start = std::chrono::steady_clock::now();
  std::ostringstream stream_text;
  const bool dump = vm.count("dump-stream") != 0;
  const hw::TrafficResult r = hw::drive_traffic(*dram, spec, dump ? &stream_text : nullptr);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (dump) write_file_atomic(vm["dump-stream"].as<std::string>(), stream_text.str());

  const hw::DramStats& s = dram->stats();
  const double peak_gbps = config.peak_bandwidth_bytes_per_s() / 1e9;
  const double simulated_s = static_cast<double>(r.end_ps) * 1e-12;
  const uint64_t row_accesses = s.row_hits + s.row_misses + s.row_conflicts;  // per burst; 0 in the channel model
  uint64_t latency_samples = 0;  // reads the model timed (the channel model times none)
  for (uint64_t n : s.read_latency_ns_histogram) latency_samples += n;
  const double avg_latency_ns =
      latency_samples > 0 ? static_cast<double>(s.read_latency_sum_ps) / 1000.0 / static_cast<double>(s.reads) : 0;
  const double p99_latency_ns = s.read_latency_percentile_ns(0.99);
  // The histogram's last bin holds every slower read, so a p99 there is only a lower bound (deep queues: e.g.
  // 64 outstanding 64 KiB requests on LPDDR5 wait ~80 us each).
  const bool p99_beyond =
      latency_samples > 0 && p99_latency_ns >= static_cast<double>(s.read_latency_ns_histogram.size());
  // The models count command and bit energy; standby power runs on every channel for the whole traffic.
  const double command_mj = s.energy_pj * 1e-9;
  const double background_mj = config.energy.background_mw * static_cast<double>(config.channels) * simulated_s;
  const double energy_mj = command_mj + background_mj;
  const double pj_per_bit = energy_mj * 1e9 / (static_cast<double>(r.bytes) * 8.0);  // per requested bit
  const double sim_gbps_per_wall_s = static_cast<double>(r.bytes) / 1e9 / wall_s;
  const double sim_s_per_wall_s = simulated_s / wall_s;

  if (vm.count("json")) {
    nlohmann::ordered_json j;
    j["config"] = config_file;
    j["pattern"] = spec.pattern;
    j["bytes"] = spec.bytes;
    j["request_bytes"] = spec.request_bytes;
    j["stride_bytes"] = spec.stride_bytes;
    j["outstanding"] = spec.outstanding;
    j["window"] = spec.window;
    j["sample_channels"] = sample_channels;
    j["read_ratio"] = spec.read_ratio;
    j["seed"] = spec.seed;
    j["model"] = config.model;
    j["preset"] = config.preset;
    j["channels"] = config.channels;
    j["peak_gbps"] = peak_gbps;
    j["achieved_gbps"] = r.gbps;
    j["efficiency"] = r.gbps / peak_gbps;  // fraction of peak
    j["requests"] = r.requests;
    j["simulated_ps"] = r.end_ps;
    j["row_hit_rate"] = row_accesses > 0
                            ? nlohmann::json(static_cast<double>(s.row_hits) / static_cast<double>(row_accesses))
                            : nlohmann::json(nullptr);
    j["row_hits"] = s.row_hits;
    j["row_misses"] = s.row_misses;
    j["row_misses_after_refresh"] = s.row_misses_after_refresh;
    j["row_conflicts"] = s.row_conflicts;
    j["activates"] = s.activates;
    j["precharges"] = s.precharges;
    j["refreshes"] = s.refreshes;
    j["write_drains"] = s.write_drains;
    j["reads"] = s.reads;
    j["writes"] = s.writes;
    j["read_latency_avg_ns"] = latency_samples > 0 ? nlohmann::json(avg_latency_ns) : nlohmann::json(nullptr);
    j["read_latency_p99_ns"] = latency_samples > 0 ? nlohmann::json(p99_latency_ns) : nlohmann::json(nullptr);
    j["read_latency_p99_is_lower_bound"] = p99_beyond;
    j["energy_mj"] = energy_mj;
    j["command_energy_mj"] = command_mj;
    j["background_energy_mj"] = background_mj;
    j["energy_pj_per_bit"] = pj_per_bit;
    j["wall_s"] = wall_s;
    j["sim_gbps_per_wall_s"] = sim_gbps_per_wall_s;
    j["sim_dram_s_per_wall_s"] = sim_s_per_wall_s;
    j["dram"] = dram_config_json(config);
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << fmt::format(
      "dram-bench {}: {} traffic, {} bytes in {}-byte requests{}, {} outstanding ({}), read ratio {}\n",
      config_file, spec.pattern, spec.bytes, spec.request_bytes,
      spec.pattern == "strided" ? fmt::format(" {} bytes apart", spec.stride_bytes) : "", spec.outstanding,
      spec.window == "any" ? "any free slot" : "in order", format_number(spec.read_ratio));
  std::cout << fmt::format("{:<16}{} model, {}, {} channels, peak {:.2f} GB/s\n", "DRAM", config.model,
                           config.preset, config.channels, peak_gbps);
  std::cout << fmt::format("{:<16}{:.2f} GB/s, {:.1f}% of peak ({} requests in {:.3f} us)\n", "achieved", r.gbps,
                           100.0 * r.gbps / peak_gbps, r.requests, static_cast<double>(r.end_ps) * 1e-6);
  if (row_accesses > 0) {
    std::cout << fmt::format("{:<16}{:.1f}% (bursts: {} hits, {} misses, {} conflicts)\n", "row hit rate",
                             100.0 * static_cast<double>(s.row_hits) / static_cast<double>(row_accesses),
                             s.row_hits, s.row_misses, s.row_conflicts);
  } else {
    std::cout << fmt::format("{:<16}n/a ({} model keeps no rows)\n", "row hit rate", config.model);
  }
  std::cout << fmt::format("{:<16}{} activates, {} precharges, {} refreshes, {} write drains\n", "commands",
                           s.activates, s.precharges, s.refreshes, s.write_drains);
  if (latency_samples > 0) {
    std::cout << fmt::format("{:<16}average {:.1f} ns, p99 {}{:.0f} ns{}\n", "read latency", avg_latency_ns,
                             p99_beyond ? ">= " : "", p99_latency_ns,
                             p99_beyond ? " (beyond the latency histogram)" : "");
  } else {
    std::cout << fmt::format("{:<16}n/a ({})\n", "read latency",
                             s.reads == 0 ? "no reads" : config.model + " model does not time reads");
  }
  std::cout << fmt::format("{:<16}{:.4f} mJ (commands {:.4f} + background {:.4f}), {:.2f} pJ/bit\n", "DRAM energy",
                           energy_mj, command_mj, background_mj, pj_per_bit);
  std::cout << fmt::format(
      "{:<16}{:.3f} GB/s simulated per wall second, {:.3f} us of DRAM time per wall second "
      "({:.3f} s wall)\n",
      "simulator speed", sim_gbps_per_wall_s, sim_s_per_wall_s * 1e6, wall_s);
  return 0;
}

}  // namespace npusim::sim

// `npusim decode`: the reference decoder on a prompts file, writing the generated text and the pmpd-trace of what
// it ran (real prompt lengths, real EOS positions, the real precision of every decode pass).
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "common/error.h"
#include "common/files.h"
#include "common/flags.h"
#include "decoder/pmpd.h"
#include "decoder/quality.h"
#include "sim/commands.h"
#include "traces/trace.h"

namespace npusim::sim {

namespace {

namespace fs = std::filesystem;
using namespace npusim::decoder;

// One prompt per line, or JSON Lines with a "prompt" field; blank lines skipped.
std::vector<std::string> read_prompts(const std::string& path) {
  std::vector<std::string> prompts;
  std::istringstream in(read_file(path));
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line[0] == '{') {
      try {
        prompts.push_back(nlohmann::json::parse(line).at("prompt").get<std::string>());
      } catch (const nlohmann::json::exception& e) {
        throw InputError(path + ":" + std::to_string(n) + ": expected {\"prompt\": \"...\"} (" + e.what() + ")");
      }
    } else {
      prompts.push_back(line);
    }
  }
  if (prompts.empty()) throw InputError(path + ": no prompts (one per line, or JSON Lines with \"prompt\")");
  return prompts;
}

// --precisions high,low: two bit widths, high first; `allowed` says which (16: the unquantized model).
std::pair<int, int> precision_pair(const std::string& flag, const std::string& text, bool allow16) {
  const std::vector<uint64_t> v = parse_count_list_flag(flag, text);
  const auto valid = [&](uint64_t b) { return (b >= 1 && b <= 8) || (allow16 && b == 16); };
  if (v.size() != 2 || !valid(v[0]) || !valid(v[1]) || v[1] > v[0]) {
    throw InputError(flag + " " + text + ": expected high,low bits (1..8" + (allow16 ? " or 16" : "") +
                     "), high first");
  }
  return {static_cast<int>(v[0]), static_cast<int>(v[1])};
}

constexpr const char* kCalibration = "activation second moments of each linear's inputs over the prompts";

// Importance for the any-precision k-means: the squared-gradient sensitivity needs a backward pass this decoder
// does not have; the substitute is each linear's input second moments over the prompts (an fp32 run through each).
QuantizedModel calibrate_and_quantize(const LlamaModel& model, const Tokenizer& tokenizer,
                                      const std::vector<std::string>& prompts, int seed_bits, int parent_bits) {
  Fp32Linears calibrating(model);
  calibrating.start_calibration();
  for (const std::string& p : prompts) {
    Transformer t(model, &calibrating);
    const std::vector<int> ids = tokenizer.encode(p, true, false);
    for (size_t pos = 0; pos < ids.size() && static_cast<int>(pos) < model.config.seq_len; ++pos) {
      t.forward(ids[pos], static_cast<int>(pos));
    }
  }
  std::vector<std::vector<float>> importance;
  for (int l = 0; l < model.config.n_layers; ++l) {
    for (int k = 0; k < kLinearsPerLayer; ++k) {
      importance.push_back(calibrating.second_moments(l, static_cast<LinearKind>(k)));
    }
  }
  return quantize_model(model, importance, seed_bits, parent_bits);
}

std::vector<traces::Segment> run_lengths(const std::vector<int>& bits) {
  std::vector<traces::Segment> out;
  for (int b : bits) {
    if (out.empty() || out.back().bits != b) out.push_back({b, 0});
    ++out.back().steps;
  }
  return out;
}

}  // namespace

int decode_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description flags("npusim decode --model CKPT.bin --tokenizer TOK.bin --prompts FILE");
  flags.add_options()("model", po::value<std::string>(), "llama2.c checkpoint (legacy or version 1)")(
      "tokenizer", po::value<std::string>(), "llama2.c tokenizer.bin")(
      "prompts", po::value<std::string>(), "prompts: one per line, or JSON Lines with \"prompt\"")(
      "out", po::value<std::string>()->default_value("results/decode"),
      "folder for generations.jsonl, trace.jsonl")("precisions", po::value<std::string>()->default_value("4,3"),
                                                   "high,low bits (16: the unquantized model)")(
      "prefill-bits", po::value<int>()->default_value(0), "prefill precision (0: the high one)")(
      "scheduler", po::value<std::string>()->default_value("static"),
      "static (switch after --switch-step) or fixed")("switch-step", po::value<int>()->default_value(0),
                                                      "static N: decode passes 1..max(1, N) high")(
      "max-new-tokens", po::value<int>()->default_value(64), "generated tokens at most")(
      "temperature", po::value<float>()->default_value(0.0f), "0: greedy")(
      "top-p", po::value<float>()->default_value(0.9f), "nucleus sampling threshold")(
      "seed", po::value<uint64_t>()->default_value(1), "sampling seed")(
      "seed-bits", po::value<int>()->default_value(2), "any-precision seed model bits")(
      "parent-bits", po::value<int>()->default_value(4), "any-precision parent model bits")(
      "weights", po::value<std::string>()->default_value("anyprec"),
      "anyprec (nested, PMPD's) or uniform (uniform:k with a scale and zero per --group-size weights)")(
      "group-size", po::value<int>()->default_value(32), "uniform: weights per scale and zero along a row")(
      "quantized", po::value<std::string>(), "use this .npaq model instead of quantizing")(
      "save-quantized", po::value<std::string>(), "write the quantized model (.npaq)")(
      "model-name", po::value<std::string>()->default_value("stories260k"), "the trace header's model")(
      "task", po::value<std::string>()->default_value("tinystories"), "the trace header's task and request ids");
  const po::variables_map vm = parse_flags("decode", args, flags, po::positional_options_description());
  for (const char* required : {"model", "tokenizer", "prompts"}) {
    if (!vm.count(required)) throw InputError(std::string("decode: --") + required + " is required");
  }
  GenerationOptions options;
  std::tie(options.high_bits, options.low_bits) =
      precision_pair("decode --precisions", vm["precisions"].as<std::string>(), true);
  options.prefill_bits = vm["prefill-bits"].as<int>();
  options.max_new_tokens = vm["max-new-tokens"].as<int>();
  options.temperature = vm["temperature"].as<float>();
  options.top_p = vm["top-p"].as<float>();
  // NaN fails both comparisons, so these are written to reject it too.
  if (!(options.temperature >= 0 && options.temperature <= 100)) {
    throw InputError("decode --temperature " + std::to_string(options.temperature) +
                     ": expected 0 (greedy) .. 100");
  }
  if (!(options.top_p > 0 && options.top_p <= 1)) {
    throw InputError("decode --top-p " + std::to_string(options.top_p) + ": expected a fraction in (0, 1]");
  }
  options.seed = vm["seed"].as<uint64_t>();
  const std::string weights = vm["weights"].as<std::string>();
  const std::string scheduler_name = vm["scheduler"].as<std::string>();
  std::unique_ptr<IScheduler> scheduler;
  if (scheduler_name == "static") {
    scheduler = std::make_unique<StaticScheduler>(vm["switch-step"].as<int>());
  } else if (scheduler_name == "fixed") {
    scheduler = std::make_unique<FixedScheduler>();
  } else {
    throw InputError("decode --scheduler " + scheduler_name + ": expected static or fixed");
  }

  const LlamaModel model = load_checkpoint(vm["model"].as<std::string>());
  const Tokenizer tokenizer(vm["tokenizer"].as<std::string>(), model.config.vocab_size);
  const std::vector<std::string> prompts = read_prompts(vm["prompts"].as<std::string>());
  const bool quantized = options.high_bits != 16 || options.low_bits != 16 ||
                         (options.prefill_bits != 0 && options.prefill_bits != 16);
  std::unique_ptr<QuantizedModel> q;
  std::string calibration = "none (unquantized)";
  if (quantized && vm.count("quantized")) {
    q = std::make_unique<QuantizedModel>(load_quantized(vm["quantized"].as<std::string>()));
    calibration = "from " + vm["quantized"].as<std::string>();
  } else if (quantized && weights == "uniform") {
    calibration = "none (uniform:k from each group's min and max)";
  } else if (quantized) {
    q = std::make_unique<QuantizedModel>(
        calibrate_and_quantize(model, tokenizer, prompts, vm["seed-bits"].as<int>(), vm["parent-bits"].as<int>()));
    calibration = kCalibration;
  }
  if (q && vm.count("save-quantized")) save_quantized(*q, vm["save-quantized"].as<std::string>());
  PrecisionLinears linears(model, q.get(), weights, vm["group-size"].as<int>());

  traces::Trace trace;
  trace.header.model = vm["model-name"].as<std::string>();
  trace.header.task = vm["task"].as<std::string>();
  const bool unquantized = !quantized;  // every precision used is 16
  trace.header.scheduler = unquantized ? "reference" : scheduler->name();
  trace.header.precisions = options.high_bits == options.low_bits
                                ? std::vector<int>{options.high_bits}
                                : std::vector<int>{options.high_bits, options.low_bits};
  trace.header.weight_format = unquantized ? "fp16" : weights;
  nlohmann::ordered_json params;
  for (const auto& [name, value] : vm) {
    if (name == "out" || name == "save-quantized") continue;  // where results go is not how they were made
    std::ostringstream text;
    const boost::any& v = value.value();
    if (v.type() == typeid(std::string))
      text << boost::any_cast<std::string>(v);
    else if (v.type() == typeid(int))
      text << boost::any_cast<int>(v);
    else if (v.type() == typeid(float))
      text << boost::any_cast<float>(v);
    else if (v.type() == typeid(uint64_t))
      text << boost::any_cast<uint64_t>(v);
    params[name] = text.str();
  }
  trace.header.source = {{"tool", "npusim decode"}, {"params", params}, {"importance", calibration}};
  std::string generations;
  int64_t passes = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Generation g = generate_pmpd(model, linears, tokenizer, *scheduler, prompts[i], options);
    traces::Request r;
    r.id = trace.header.task + "/" + std::to_string(i);
    r.prompt_tokens = g.prompt_tokens;
    r.prefill_bits = g.prefill_bits;
    r.decode = run_lengths(g.pass_bits);
    r.eos = g.eos;
    trace.requests.push_back(r);
    passes += static_cast<int64_t>(g.pass_bits.size());
    nlohmann::ordered_json out = {{"id", r.id},
                                  {"prompt", prompts[i]},
                                  {"text", g.text},
                                  {"prompt_tokens", g.prompt_tokens},
                                  {"generated_tokens", g.tokens.size()},
                                  {"eos", g.eos},
                                  {"tokens", g.tokens}};
    generations += out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  const std::string dir = vm["out"].as<std::string>();
  make_dirs(dir);
  write_files_atomic(
      {{dir + "/generations.jsonl", generations}, {dir + "/trace.jsonl", traces::write_trace(trace)}});
  std::cout << fmt::format(
      "decoded {} prompts ({} decode passes) at {}; wrote {}/generations.jsonl and trace.jsonl\n", prompts.size(),
      passes, vm["precisions"].as<std::string>(), dir);
  return 0;
}

int decode_quality_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description flags("npusim decode-quality --model CKPT.bin --tokenizer TOK.bin --prompts FILE");
  flags.add_options()("model", po::value<std::string>(), "llama2.c checkpoint")(
      "tokenizer", po::value<std::string>(), "llama2.c tokenizer.bin")(
      "prompts", po::value<std::string>(), "prompts: one per line, or JSON Lines with \"prompt\"")(
      "precisions", po::value<std::string>()->default_value("4,3"), "the PMPD pair, high,low")(
      "switch-steps", po::value<std::string>()->default_value("0,16,32,48"), "static N values to compare")(
      "max-new-tokens", po::value<int>()->default_value(64), "tokens generated per prompt")(
      "seed-bits", po::value<int>()->default_value(2), "any-precision seed bits (the low prefill)")(
      "parent-bits", po::value<int>()->default_value(4), "any-precision parent bits")(
      "group-size", po::value<int>()->default_value(32), "uniform:k rows: weights per scale and zero along a row")(
      "json", "print JSON instead of a table");
  const po::variables_map vm = parse_flags("decode-quality", args, flags, po::positional_options_description());
  for (const char* required : {"model", "tokenizer", "prompts"}) {
    if (!vm.count(required)) throw InputError(std::string("decode-quality: --") + required + " is required");
  }
  const auto [high, low] =
      precision_pair("decode-quality --precisions", vm["precisions"].as<std::string>(), false);
  if (low == high) throw InputError("decode-quality --precisions: the pair must be two different bit widths");
  std::vector<int> steps;
  for (uint64_t n : parse_count_list_flag("decode-quality --switch-steps", vm["switch-steps"].as<std::string>())) {
    steps.push_back(static_cast<int>(std::min<uint64_t>(n, 1 << 30)));
  }
  const int group = vm["group-size"].as<int>();
  if (group < 1) throw InputError("decode-quality --group-size: expected at least 1 weight per group");
  const LlamaModel model = load_checkpoint(vm["model"].as<std::string>());
  const Tokenizer tokenizer(vm["tokenizer"].as<std::string>(), model.config.vocab_size);
  const std::vector<std::string> prompts = read_prompts(vm["prompts"].as<std::string>());
  const int seed_bits = vm["seed-bits"].as<int>();
  const QuantizedModel q =
      calibrate_and_quantize(model, tokenizer, prompts, seed_bits, vm["parent-bits"].as<int>());
  std::vector<QualityConfig> configs = {{"fp32", 16, 16, 16, 0},
                                        {fmt::format("uniform {}", high), high, high, high, 0},
                                        {fmt::format("uniform {}", low), low, low, low, 0}};
  // The uniform:k baseline at both precisions: what a per-group scale-and-zero quantizer gives at the same bits.
  for (int b : {high, low}) configs.push_back({fmt::format("uniform:k {} (g{})", b, group), b, b, b, 0, group});
  for (int n : steps) configs.push_back({fmt::format("pmpd N={}", n), high, low, high, n});
  const int mid = steps[steps.size() / 2];
  configs.push_back({fmt::format("pmpd N={}, {}-bit prefill", mid, seed_bits), high, low, seed_bits, mid});
  const std::vector<QualityResult> results =
      evaluate_quality(model, q, tokenizer, prompts, configs, vm["max-new-tokens"].as<int>());

  // PMPD.md's claims, on this model.
  const auto by = [&](const std::string& name) -> const QualityResult& {
    for (const QualityResult& r : results) {
      if (r.name == name) return r;
    }
    throw std::logic_error("decode-quality: no result " + name);
  };
  const QualityResult& uhigh = by(fmt::format("uniform {}", high));
  const QualityResult& ulow = by(fmt::format("uniform {}", low));
  const QualityResult& pmid = by(fmt::format("pmpd N={}", mid));
  const QualityResult& plow = by(fmt::format("pmpd N={}, {}-bit prefill", mid, seed_bits));
  bool later_better = true;
  for (size_t i = 1; i < steps.size(); ++i) {
    later_better = later_better && by(fmt::format("pmpd N={}", steps[i])).perplexity <=
                                       by(fmt::format("pmpd N={}", steps[i - 1])).perplexity;
  }
  const std::vector<std::pair<std::string, bool>> claims = {
      {"a high-precision prefill beats a low one (perplexity)", pmid.perplexity < plow.perplexity},
      {"switching later beats switching earlier (perplexity falls as N grows)", later_better},
      {"PMPD sits between uniform low and high in bits",
       pmid.mean_bits > ulow.mean_bits && pmid.mean_bits < uhigh.mean_bits},
      {"PMPD sits between uniform low and high in quality (perplexity)",
       pmid.perplexity < ulow.perplexity && pmid.perplexity > uhigh.perplexity},
  };
  if (vm.count("json")) {
    nlohmann::ordered_json j = {{"configurations", nlohmann::ordered_json::array()},
                                {"claims", nlohmann::ordered_json::array()}};
    for (const QualityResult& r : results) {
      j["configurations"].push_back({{"name", r.name},
                                     {"mean_bits", r.mean_bits},
                                     {"token_agreement", r.token_agreement},
                                     {"rouge_l", r.rouge_l},
                                     {"perplexity", r.perplexity}});
    }
    for (const auto& [claim, holds] : claims) j["claims"].push_back({{"claim", claim}, {"holds", holds}});
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<28} {:>9} {:>16} {:>8} {:>11}\n", "configuration", "mean bits", "token agreement",
                           "ROUGE-L", "perplexity");
  for (const QualityResult& r : results) {
    std::cout << fmt::format("{:<28} {:>9.2f} {:>15.1f}% {:>8.3f} {:>11.3f}\n", r.name, r.mean_bits,
                             100 * r.token_agreement, r.rouge_l, r.perplexity);
  }
  std::cout << "\n";
  for (const auto& [claim, holds] : claims) std::cout << (holds ? "holds: " : "does not hold: ") << claim << "\n";
  return 0;
}

}  // namespace npusim::sim

// Synthetic schedule traces from scheduler parameters (PMPD.md: generation loop, static and learned schedulers).
//
// Every random draw goes through our own transforms of one std::mt19937_64 stream (the engine's output is fixed
// by the standard; std::normal_distribution and friends are not), so a spec gives the same trace everywhere.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "common/config.h"
#include "common/error.h"
#include "traces/synth_fields.h"
#include "traces/trace.h"

namespace npusim::traces {
namespace {

using ojson = nlohmann::ordered_json;

constexpr double kPi = 3.14159265358979323846;

class Draws {
 public:
  explicit Draws(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1) from the top 53 bits: every value is an exact double, no rounding up to 1.
  double uniform01() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Standard normal by Box-Muller (one of the pair; the other is dropped to keep the stream simple).
  double standard_normal() {
    const double u1 = 1.0 - uniform01();  // (0, 1]: log stays finite
    const double u2 = uniform01();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }

  int64_t length(const LengthDistribution& d) {
    double x = 0;
    if (d.kind == "fixed") {
      x = d.value;
    } else if (d.kind == "uniform") {
      x = static_cast<double>(d.min) + std::floor(uniform01() * static_cast<double>(d.max - d.min + 1));
    } else if (d.kind == "normal") {
      x = d.mean + d.stddev * standard_normal();
    } else {  // lognormal, parameterised by the mean and stddev of the value itself
      const double sigma2 = std::log(1.0 + (d.stddev * d.stddev) / (d.mean * d.mean));
      const double mu = std::log(d.mean) - sigma2 / 2.0;
      x = std::exp(mu + std::sqrt(sigma2) * standard_normal());
    }
    // Clamp before rounding so that a wild tail draw cannot overflow llround.
    if (!(x >= static_cast<double>(d.min))) return d.min;
    if (x >= static_cast<double>(d.max)) return d.max;
    return std::min(d.max, std::max(d.min, static_cast<int64_t>(std::llround(x))));
  }

  int category(const std::vector<double>& probabilities) {
    double total = 0;
    for (double p : probabilities) total += p;
    const double u = uniform01() * total;
    double cumulative = 0;
    for (size_t c = 0; c < probabilities.size(); ++c) {
      cumulative += probabilities[c];
      if (u < cumulative) return static_cast<int>(c);
    }
    return static_cast<int>(probabilities.size()) - 1;
  }

 private:
  std::mt19937_64 engine_;
};

void validate_distribution(const LengthDistribution& d, const std::string& name) {
  const std::string where = "synth " + name + ": ";
  if (d.kind != "fixed" && d.kind != "uniform" && d.kind != "normal" && d.kind != "lognormal") {
    throw InputError(where + "kind '" + d.kind + "' is not one of: fixed, uniform, normal, lognormal");
  }
  if (d.min < 1 || d.max < d.min) {
    throw InputError(where + "clamp [" + std::to_string(d.min) + ", " + std::to_string(d.max) +
                     "] must satisfy 1 <= min <= max");
  }
  if (d.stddev < 0 || !std::isfinite(d.stddev) || !std::isfinite(d.mean) || !std::isfinite(d.value)) {
    throw InputError(where + "mean, stddev and value must be finite and stddev >= 0");
  }
  if (d.kind == "lognormal" && d.mean <= 0) throw InputError(where + "lognormal needs mean > 0");
}

void validate(const SynthParams& p) {
  if (p.model.empty() || p.task.empty()) throw InputError("synth: model and task must be non-empty");
  if (p.scheduler != "static" && p.scheduler != "learned" && p.scheduler != "fixed") {
    throw InputError("synth: scheduler '" + p.scheduler + "' is not one of: static, learned, fixed");
  }
  const size_t needed = p.scheduler == "fixed" ? 1 : 2;
  if (p.precisions.size() < needed || p.precisions.size() > 2) {
    throw InputError("synth: precisions must list " + std::string(needed == 1 ? "1 or 2" : "2") +
                     " bit widths (high first) for scheduler '" + p.scheduler + "'");
  }
  for (int b : p.precisions) {
    if (!valid_bits(b)) throw InputError("synth: precision " + std::to_string(b) + " is not in 1..8 or 16");
  }
  if (p.precisions.size() == 2 && p.precisions[1] >= p.precisions[0]) {
    throw InputError("synth: precisions must be high first (e.g. [3, 2])");
  }
  if (p.prefill_bits != 0 && !valid_bits(p.prefill_bits)) {
    throw InputError("synth: prefill_bits " + std::to_string(p.prefill_bits) + " is not 0, 1..8 or 16");
  }
  if (p.switch_step < 0) throw InputError("synth: switch_step must be >= 0");
  if (p.scheduler == "learned") {
    double total = 0;
    bool negative = false;
    for (double q : p.class_probabilities) {
      total += q;
      negative = negative || !(q >= 0);
    }
    if (p.class_probabilities.size() != 4 || negative || std::fabs(total - 1.0) > 1e-3) {
      throw InputError("synth: learned needs class_probabilities: 4 non-negative values summing to 1");
    }
  }
  if (p.max_new_tokens < 1) throw InputError("synth: max_new_tokens must be >= 1");
  if (!(p.output_scale > 0) || !std::isfinite(p.output_scale)) throw InputError("synth: output_scale must be > 0");
  if (p.requests < 1) throw InputError("synth: requests must be >= 1 (a trace needs at least one request)");
  validate_distribution(p.prompt_tokens, "prompt_tokens");
  validate_distribution(p.output_tokens, "output_tokens");
}

// Decode steps 1..max(1, N) run high, the rest low. PMPD.md: "pass 1 always runs high; passes with index < N run
// high": pass 1 is high whatever N is, so N = 0 still gives one high step.
std::vector<Segment> two_phase(int high, int low, int64_t switch_step, int64_t decode_steps) {
  const int64_t high_steps = std::min(decode_steps, static_high_passes(switch_step));
  std::vector<Segment> out;
  for (const Segment s : {Segment{high, high_steps}, Segment{low, decode_steps - high_steps}}) {
    if (s.steps == 0) continue;  // run-length encoding has no empty runs
    if (!out.empty() && out.back().bits == s.bits) {
      out.back().steps += s.steps;
    } else {
      out.push_back(s);
    }
  }
  return out;
}

ojson distribution_json(const LengthDistribution& d) {
  return ojson{{"kind", d.kind},     {"value", d.value}, {"mean", d.mean},
               {"stddev", d.stddev}, {"min", d.min},     {"max", d.max}};
}

ojson params_json(const SynthParams& p) {
  // Every field but `notes`, which the source carries beside params; output_scale only when it scales.
  ojson j{{"model", p.model},
          {"task", p.task},
          {"scheduler", p.scheduler},
          {"precisions", p.precisions},
          {"weight_format", p.weight_format},
          {"prefill_bits", p.prefill_bits},
          {"switch_step", p.switch_step},
          {"class_probabilities", p.class_probabilities},
          {"max_new_tokens", p.max_new_tokens},
          {"prompt_tokens", distribution_json(p.prompt_tokens)},
          {"output_tokens", distribution_json(p.output_tokens)},
          {"requests", p.requests},
          {"seed", p.seed}};
  if (p.output_scale != 1.0) j["output_scale"] = p.output_scale;
  return j;
}

}  // namespace

SynthParams load_synth_spec(const std::string& path) {
  const YAML::Node root = load_yaml_file(path);
  ConfigSection s(root, path);
  SynthParams p;
  p.model = s.text("model", "model name written to the trace header (e.g. vicuna-7b)", std::nullopt);
  p.task = s.text("task", "task name; request ids are TASK/INDEX", std::nullopt);
  p.scheduler = s.choice("scheduler",
                         "static: switch after switch_step; learned: a class per request; fixed: "
                         "every step at precisions[0]",
                         std::string("static"), {"static", "learned", "fixed"});
  p.precisions = read_list<int>(s, "precisions", "bit widths, high first (e.g. [3, 2])", true);
  p.weight_format = s.choice("weight_format", "weight storage the trace is meant for", std::string("anyprec"),
                             {"anyprec", "uniform", "fp16"});
  p.prefill_bits =
      static_cast<int>(s.integer("prefill_bits", "bits", "prefill precision; 0: the high one", 0, 0, 16));
  p.switch_step = s.integer("switch_step", "decode steps", "static N: decode steps 1..max(1, N) run high", 0, 0,
                            kMaxSpecTokens);
  p.class_probabilities =
      read_list<double>(s, "class_probabilities", "learned: P(switch after [0, M/3, 2M/3, M] steps)", false);
  p.max_new_tokens = s.integer("max_new_tokens", "tokens", "M: generated tokens at most", 128, 1, kMaxSpecTokens);
  p.prompt_tokens = read_distribution(s.section("prompt_tokens", "prompt length, instruction template included"));
  p.output_tokens = read_distribution(s.section("output_tokens", "generated tokens if uncapped; cut to M"));
  p.output_scale = s.real("output_scale", "",
                          "multiplies every drawn output length (after its clamp, before the cut at M): a stated "
                          "length difference between configurations that share a seed",
                          1.0, 0.01, 100);
  p.requests = s.integer("requests", "requests", "how many requests the trace holds", 16, 1, 10000000);
  p.seed =
      static_cast<uint64_t>(s.integer("seed", "", "mt19937_64 seed", 1, 0, std::numeric_limits<int64_t>::max()));
  p.notes = s.text("notes", "assumptions behind the values, copied into the trace header", std::string());
  s.finish();
  // Cross-field checks, reported at the offending key.
  const size_t needed = p.scheduler == "fixed" ? 1 : 2;
  if (p.precisions.size() < needed || p.precisions.size() > 2) {
    s.fail(s.node_of("precisions"), "precisions",
           "scheduler '" + p.scheduler + "' needs " + (needed == 1 ? "1 or 2" : "2") + " bit widths, high first");
  }
  for (int b : p.precisions) {
    if (!valid_bits(b)) s.fail(s.node_of("precisions"), "precisions", std::to_string(b) + " is not in 1..8 or 16");
  }
  if (p.precisions.size() == 2 && p.precisions[1] >= p.precisions[0]) {
    s.fail(s.node_of("precisions"), "precisions", "expected high first (e.g. [3, 2])");
  }
  if (p.prefill_bits != 0 && !valid_bits(p.prefill_bits)) {
    s.fail(s.node_of("prefill_bits"), "prefill_bits", "expected 0 (the high precision), 1..8 or 16");
  }
  if (p.scheduler == "learned") {
    double total = 0;
    bool negative = false;
    for (double q : p.class_probabilities) {
      total += q;
      negative = negative || q < 0;
    }
    if (p.class_probabilities.size() != 4 || negative || std::fabs(total - 1.0) > 1e-3) {
      s.fail(s.node_of("class_probabilities"), "class_probabilities",
             "scheduler 'learned' needs 4 non-negative probabilities summing to 1");
    }
  } else if (s.has("class_probabilities")) {
    s.fail(s.node_of("class_probabilities"), "class_probabilities", "only scheduler 'learned' uses it");
  }
  return p;
}

Trace synthesize(const SynthParams& params) {
  validate(params);
  Trace trace;
  trace.header.model = params.model;
  trace.header.task = params.task;
  trace.header.scheduler = params.scheduler;
  trace.header.precisions = params.precisions;
  trace.header.weight_format = params.weight_format;
  trace.header.source =
      ojson{{"tool", "npusim trace synth"}, {"params", params_json(params)}, {"notes", params.notes}};

  const int high = params.precisions[0];
  const int low = params.precisions.size() > 1 ? params.precisions[1] : high;
  const int64_t m = params.max_new_tokens;
  Draws draws(params.seed);
  // The learned classes come from a stream of their own, so that one seed gives every scheduler the same lengths.
  Draws class_draws(params.seed ^ 0x9e3779b97f4a7c15ULL);
  for (int64_t i = 0; i < params.requests; ++i) {
    Request r;
    r.id = params.task + "/" + std::to_string(i);
    // Draw order is part of the format of a seed: prompt, then output.
    r.prompt_tokens = draws.length(params.prompt_tokens);
    int64_t generated = draws.length(params.output_tokens);
    if (params.output_scale != 1.0) {
      generated = std::max<int64_t>(1, std::llround(static_cast<double>(generated) * params.output_scale));
    }
    r.eos = generated < m;  // a draw that reaches M is where generation was cut, not an EOS
    if (!r.eos) generated = m;
    const int64_t decode_steps = generated - 1;  // the first token comes from the prefill logits
    r.prefill_bits = params.prefill_bits == 0 ? high : params.prefill_bits;
    if (params.scheduler == "fixed") {
      if (decode_steps > 0) r.decode.push_back({high, decode_steps});
    } else if (params.scheduler == "static") {
      r.decode = two_phase(high, low, params.switch_step, decode_steps);
    } else {
      const int c = class_draws.category(params.class_probabilities);
      const int64_t switch_after[] = {0, m / 3, 2 * m / 3, m};
      r.decode = two_phase(high, low, switch_after[c], decode_steps);
      r.extras = ojson{{"learned_class", c}};
    }
    trace.requests.push_back(std::move(r));
  }
  return trace;
}

}  // namespace npusim::traces

// Public header of traces/: the pmpd-trace JSON Lines format of DESIGN.md (reader, validator, writer), synthetic
// schedules from scheduler parameters, and summaries.
//
//   line 1: {"format": "pmpd-trace", "version": 1, "model": "vicuna-7b", "task": "cnn_dm", "scheduler": "static",
//            "precisions": [3, 2], "weight_format": "anyprec", "source": {"tool": "...", "params": {...}}}
//   line n: {"id": "cnn_dm/0", "prompt_tokens": 812, "prefill_bits": 3, "decode": [[3, 40], [2, 73]], "eos": true}
//
// `decode` is run-length encoded [bits, steps] pairs in order; 16 means fp16. Decode step j (1-based) of a
// request runs with the KV cache holding prompt_tokens + j entries. A request generates 1 + sum(steps) tokens:
// the first from the prefill logits, one more per decode step.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace npusim::traces {

constexpr int kTraceVersion = 1;
// Longest prompt or run of decode steps a trace may hold (far above any model's context).
constexpr int64_t kMaxTraceTokens = 10000000;

// PMPD's static scheduler (PMPD.md): decode passes 1..max(1, N) run at the high precision, later ones low. Pass 1
// always runs high, whatever N is. Shared by the synthetic schedules and the decoder's scheduler.
inline int64_t static_high_passes(int64_t switch_step) {
  return switch_step > 1 ? switch_step : 1;
}

// The bit widths a trace may name: 1..8, or 16 for fp16.
inline bool valid_bits(int64_t bits) {
  return (bits >= 1 && bits <= 8) || bits == 16;
}

struct TraceHeader {
  std::string model;
  std::string task;
  std::string scheduler;          // "static", "learned", "fixed", "reference", ...
  std::vector<int> precisions;    // the precision pair (high first), e.g. [3, 2]; [16] for an fp16 trace
  std::string weight_format;      // "anyprec", "uniform" or "fp16"
  nlohmann::ordered_json source;  // free-form provenance: tool, params, assumptions
};

struct Segment {
  int bits = 0;       // 1..8 or 16
  int64_t steps = 0;  // > 0
};

struct Request {
  std::string id;
  int64_t prompt_tokens = 0;  // > 0
  int prefill_bits = 0;
  std::vector<Segment> decode;    // may be empty: the request ended at the first token
  bool eos = false;               // generation ended at EOS (false: it hit max_new_tokens)
  nlohmann::ordered_json extras;  // optional per-request fields kept verbatim (learned class, quality scores)

  int64_t decode_steps() const;
  int64_t output_tokens() const { return 1 + decode_steps(); }
};

struct Trace {
  TraceHeader header;
  std::vector<Request> requests;
};

// Reads and validates a trace. Throws InputError "PATH:LINE: FIELD: what was expected" for the first fault:
// unknown format or version, malformed JSON, missing or mistyped fields, non-positive counts, bit widths
// outside 1..8 and 16, duplicate request ids, an empty trace.
Trace read_trace(const std::string& path);
Trace parse_trace(std::istream& in, const std::string& name);

// Checks every prefill and decode bit width against the widths a run can execute (e.g. {2, 3, 4, 16}); throws
// InputError naming the trace, the request's line and the offending field.
void check_bits(const Trace& trace, const std::string& name, const std::vector<int>& allowed_bits);

// Serialises a trace (one header line, one line per request); deterministic for the same Trace.
std::string write_trace(const Trace& trace);
void write_trace_file(const Trace& trace, const std::string& path);  // atomic

// ---------------------------------------------------------------------------------------------------------------
// Synthetic schedules. Lengths are drawn from distributions with our own deterministic transforms of a
// std::mt19937_64 stream, so the same parameters give the same trace on every platform.
struct LengthDistribution {
  std::string kind = "fixed";   // "fixed", "uniform", "normal", "lognormal"
  double value = 0;             // fixed
  double mean = 0, stddev = 0;  // normal (of the value) and lognormal (of the value, not of its log)
  int64_t min = 1, max = 1;     // inclusive clamp for every kind; uniform draws integers in [min, max]
};

struct SynthParams {
  std::string model, task;
  std::string scheduler = "static";   // "static": switch after `switch_step`; "learned": class per request;
                                      // "fixed": every step at precisions[0]
  std::vector<int> precisions{3, 2};  // high, low
  std::string weight_format = "anyprec";
  int prefill_bits = 0;                     // 0: the high precision
  int64_t switch_step = 0;                  // static: decode steps 1..max(1, switch_step) run high, later ones low
  std::vector<double> class_probabilities;  // learned: P(class c), c=0..3 -> switch after [0, M/3, 2M/3, M] steps
  int64_t max_new_tokens = 128;             // M: generated tokens at most (decode steps at most M - 1)
  LengthDistribution prompt_tokens;
  LengthDistribution output_tokens;  // generated tokens; a draw >= M is cut to M and marked eos=false
  double output_scale = 1.0;         // multiplies each output draw (after its clamp, before the cut at M)
  int64_t requests = 16;
  uint64_t seed = 1;
  std::string notes;  // assumptions, copied into the header's source
};

// Reads a synth spec (YAML, declared fields); throws InputError with file, line and key.
SynthParams load_synth_spec(const std::string& path);
Trace synthesize(const SynthParams& params);

// A trace suite: one assumptions file (YAML, declared fields) that expands into the traces of every bar of a
// comparison: per (task, model) group an fp16, a uniform, a static-scheduler and a learned-scheduler trace, named
// MODEL_TASK_BAR.jsonl. Throws InputError with file, line and key.
struct SuiteTrace {
  std::string bar;  // fp16, uniform, static or learned
  std::string file_name;
  SynthParams params;
};
std::vector<SuiteTrace> load_trace_suite(const std::string& path);

struct TraceStats {
  int64_t requests = 0;
  int64_t prompt_tokens_total = 0;
  int64_t decode_steps_total = 0;
  int64_t output_tokens_total = 0;
  int64_t eos_requests = 0;
  double mean_prompt_tokens = 0;
  double mean_output_tokens = 0;
  double mean_decode_bits = 0;                                // step-weighted over all decode steps
  std::vector<std::pair<int, int64_t>> decode_steps_by_bits;  // ascending bits
};
TraceStats summarize(const Trace& trace);

// ---------------------------------------------------------------------------------------------------------------
// Command-line entry points of `npusim trace synth` and `npusim trace stats`; `args` are the words after
// "trace synth" / "trace stats". They print to std::cout and return 0; bad flags or input throw InputError naming
// the flag (or file, line and field) and the expected usage.
//   trace synth SPEC.yaml [-o OUT.jsonl] [--seed N] [--requests N]   (stdout without -o; -o writes atomically)
//   trace stats TRACE.jsonl [--json]
int trace_synth_command(const std::vector<std::string>& args);
int trace_stats_command(const std::vector<std::string>& args);
//   trace suite ASSUMPTIONS.yaml -o DIR   (every trace of the suite, each file written atomically)
int trace_suite_command(const std::vector<std::string>& args);

}  // namespace npusim::traces

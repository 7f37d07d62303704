// npusim: the command-line entry point. Dispatches to the subcommands and turns bad input into a one-line error
// and a non-zero exit.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "sim/commands.h"
#include "traces/trace.h"

// libsystemc's own main() would call sc_main; npusim has its own main, so this is never reached.
extern "C" int sc_main(int, char**) {
  return 0;
}

namespace {

constexpr const char* kUsage = R"(usage: npusim COMMAND [ARGS]

commands:
  run RUN.yaml [--out DIR] [--set key=value ...] [--fidelity fast|full] [--quiet]
                                 simulate every trace of a run under every configuration; print a table and
                                 write DIR/results.json and DIR/results.csv (DIR defaults to results/<run name>)
  sweep SPEC.yaml [-j N] [--out DIR] [--point-timeout S] [--dry-run] [--mpi]
                                 every point of a sweep spec (configs/sweeps/*.yaml), each a full run in its own
                                 process; resumes where it stopped; writes DIR/sweep.csv and sweep.jsonl
                                 (DIR defaults to results/sweeps/<name>)
  decode --model CKPT.bin --tokenizer TOK.bin --prompts FILE [--out DIR] [--precisions H,L] [--scheduler static|fixed]
         [--switch-step N] [--prefill-bits B] [--max-new-tokens M] [--temperature T] [--top-p P] [--seed S]
                                 the reference decoder (llama2.c models, any-precision quantized, PMPD schedule):
                                 writes DIR/generations.jsonl and the pmpd-trace DIR/trace.jsonl of what it ran
  decode-quality --model CKPT.bin --tokenizer TOK.bin --prompts FILE [--precisions H,L] [--switch-steps N,...]
                                 quality against the unquantized model (token agreement, ROUGE-L, perplexity)
                                 of uniform high/low, PMPD at each N and with a low prefill, and PMPD.md's claims
  decode-bench [--threads N] [--copy-mib M] [--repeats R]
                                 the decoder's speed: STREAM-like copy bandwidth, the LUT kernel on Vicuna-7B
                                 shapes at 2-4 bits (GB/s, share of the copy's), tokens/s
  trace synth SPEC.yaml [-o OUT.jsonl] [--seed N] [--requests N]
                                 deterministic schedule trace from scheduler parameters
  trace suite ASSUMPTIONS.yaml -o DIR
                                 every trace of an assumptions file (per task and model: fp16, uniform,
                                 static and learned), e.g. configs/pmpd_paper/assumptions.yaml
  trace stats TRACE.jsonl [--json]
                                 summary of a trace: requests, lengths, mean bits, steps per precision
  report RESULTS_DIR [--format table|csv|json|markdown] [--plot DIR]
                                 a run's results as a table (and, when the run names published figures, beside
                                 them with relative errors); --plot draws the charts of plots/
  describe npu|run|model         every config field: name, unit, default, range, meaning
  bench [--repeat N] [--save FILE] [--baseline FILE]
                                 time the shipped benchmarks (one simulation per process)
  dram-bench NPU.yaml --pattern {sequential,strided,random,mixed} [--bytes N] [--read-ratio R] [--stride B]
             [--request-bytes B] [--outstanding N] [--model channel|command] [--seed N] [--set key=value ...]
             [--json]            drive the NPU's DRAM alone with synthetic traffic: bandwidth vs peak, row hits,
                                 commands, read latency, energy and simulator speed
)";

int dispatch(const std::vector<std::string>& words) {
  using namespace npusim;
  if (words.empty() || words[0] == "-h" || words[0] == "--help" || words[0] == "help") {
    std::cout << kUsage;
    return words.empty() ? 2 : 0;
  }
  const std::string& cmd = words[0];
  const std::vector<std::string> rest(words.begin() + 1, words.end());
  if (cmd == "run") return sim::run_command(rest);
  if (cmd == "describe") return sim::describe_command(rest);
  if (cmd == "bench") return sim::bench_command(rest);
  if (cmd == "dram-bench") return sim::dram_bench_command(rest);
  if (cmd == "report") return sim::report_command(rest);
  if (cmd == "sweep") return sim::sweep_command(rest);
  if (cmd == "decode") return sim::decode_command(rest);
  if (cmd == "decode-quality") return sim::decode_quality_command(rest);
  if (cmd == "decode-bench") return sim::decode_bench_command(rest);
  if (cmd == "trace") {
    if (rest.empty()) throw InputError("trace: expected 'synth', 'suite' or 'stats'");
    const std::vector<std::string> args(rest.begin() + 1, rest.end());
    if (rest[0] == "synth") return traces::trace_synth_command(args);
    if (rest[0] == "stats") return traces::trace_stats_command(args);
    if (rest[0] == "suite") return traces::trace_suite_command(args);
    throw InputError("trace " + rest[0] + ": unknown subcommand (expected 'synth', 'suite' or 'stats')");
  }
  throw InputError("unknown command '" + cmd +
                   "' (expected run, sweep, report, decode, decode-quality, decode-bench, trace, describe, bench "
                   "or dram-bench; see npusim --help)");
}

}  // namespace

int main(int argc, char** argv) {
  // SystemC prints its banner when the first module is built; keep stdout for our reports.
  setenv("SYSC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  std::vector<std::string> words(argv + 1, argv + argc);
  try {
    return dispatch(words);
  } catch (const npusim::InputError& e) {
    std::cerr << "npusim: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "npusim: internal error: " << e.what() << "\n";
    return 3;
  }
}

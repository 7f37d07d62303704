// `npusim decode-bench`: the reference decoder's speed on this machine. A STREAM-like copy measures the memory
// bandwidth; the LUT kernel runs one decoder layer of Vicuna-7B's shapes (random any-precision weights, parent 4)
// at 2, 3 and 4 bits, each instruction-set variant on one thread and the fastest on N, and its effective bandwidth
// (bytes it must read per second) is set against the copy's; tokens/s follow for a 32-layer stack's linears and,
// with ../shared, for stories260K.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "common/error.h"
#include "decoder/pmpd.h"
#include "sim/commands.h"

namespace npusim::sim {

namespace {

using namespace npusim::decoder;
using Clock = std::chrono::steady_clock;

// Best of `repeats` timings of `body`, in seconds (the least disturbed run).
template <class Body>
double best_seconds(int repeats, Body body) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    body();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  return best;
}

}  // namespace

int decode_bench_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description flags("npusim decode-bench");
  flags.add_options()(
      "threads",
      po::value<int>()->default_value(static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
      "threads for the multi-threaded kernel runs")("copy-mib", po::value<int>()->default_value(256),
                                                    "MiB per array of the copy (far beyond the caches)")(
      "repeats", po::value<int>()->default_value(5), "timings per figure; the best is reported");
  const po::variables_map vm = parse_flags("decode-bench", args, flags, po::positional_options_description());
  const int threads = vm["threads"].as<int>(), repeats = vm["repeats"].as<int>();
  const int copy_mib = vm["copy-mib"].as<int>();
  if (threads < 1 || repeats < 1 || copy_mib < 1)
    throw InputError("decode-bench: --threads, --repeats and --copy-mib must be positive");

  // STREAM's copy: a[i] = b[i], counting the bytes read and written.
  const size_t n = static_cast<size_t>(copy_mib) << 18;  // floats
  std::vector<float> a(n, 1.0f), b(n, 2.0f);
  const double copy_s = best_seconds(repeats, [&] { std::copy(b.begin(), b.end(), a.begin()); });
  const double copy_gbs = 2.0 * static_cast<double>(n) * sizeof(float) / copy_s / 1e9;
  std::cout << fmt::format("memory bandwidth (STREAM-like copy of {} MiB): {:.2f} GB/s\n\n", copy_mib, copy_gbs);

  // One Vicuna-7B decoder layer's linears (dim 4096, hidden 11008): q, k, v, o, gate, up, down.
  const int dim = 4096, hidden = 11008, layers = 32;
  const std::vector<std::pair<int, int>> shapes = {{dim, dim},    {dim, dim},    {dim, dim},   {dim, dim},
                                                   {hidden, dim}, {hidden, dim}, {dim, hidden}};
  std::vector<AnyPrecLinear> linears;
  for (size_t i = 0; i < shapes.size(); ++i) {
    linears.push_back(random_anyprec(shapes[i].first, shapes[i].second, 2, 4, 100 + i));
  }
  std::vector<float> x(static_cast<size_t>(hidden), 0.01f), out(static_cast<size_t>(hidden));
  std::cout << fmt::format("{:<6} {:<8} {:>8} {:>14} {:>12} {:>10} {:>22}\n", "bits", "kernel", "threads",
                           "layer time ms", "GB/s", "of copy", "Vicuna-7B tokens/s (*)");
  const std::vector<LutIsa> isas = supported_lut_isas();
  for (int bits = 2; bits <= 4; ++bits) {
    uint64_t bytes = 0;
    for (const AnyPrecLinear& l : linears) bytes += l.bytes_read(bits);
    // Every variant on one thread, then the fastest on `threads`.
    std::vector<std::pair<LutIsa, int>> runs;
    for (LutIsa isa : isas) runs.emplace_back(isa, 1);
    if (threads > 1) runs.emplace_back(isas.back(), threads);
    for (const auto& [isa, t] : runs) {
      const double s = best_seconds(repeats, [&, isa = isa, t = t] {
        for (const AnyPrecLinear& l : linears) l.matvec(x.data(), out.data(), bits, t, isa);
      });
      const double gbs = static_cast<double>(bytes) / s / 1e9;
      std::cout << fmt::format("{:<6} {:<8} {:>8} {:>14.3f} {:>12.2f} {:>9.0f}% {:>22.2f}\n", bits,
                               lut_isa_name(isa), t, s * 1e3, gbs, 100 * gbs / copy_gbs, 1.0 / (s * layers));
    }
  }
  std::cout << "(*) the 32 layers' linear products only: the decode-bound part of a token\n";

  // The real model, when ../shared is there.
  const std::filesystem::path shared = std::filesystem::path(project_dir()) / "../shared/models/stories260K";
  if (std::filesystem::exists(shared / "stories260K.bin")) {
    const LlamaModel model = load_checkpoint((shared / "stories260K.bin").string());
    const Tokenizer tokenizer((shared / "tok512.bin").string(), model.config.vocab_size);
    const QuantizedModel q = quantize_model(model, {}, 2, 4);
    PrecisionLinears linears(model, &q);
    for (int bits : {16, 4, 3}) {
      FixedScheduler fixed;
      GenerationOptions o;
      o.high_bits = o.low_bits = bits;
      o.max_new_tokens = 256;
      size_t tokens = 0;
      const double s = best_seconds(repeats, [&] {
        tokens = generate_pmpd(model, linears, tokenizer, fixed, "Once upon a time", o).tokens.size();
      });
      std::cout << fmt::format("stories260K, {:>2} bits: {:.0f} tokens/s ({} tokens)\n", bits,
                               static_cast<double>(tokens) / s, tokens);
    }
  } else {
    std::cout << "stories260K: ../shared is missing, skipped\n";
  }
  return 0;
}

}  // namespace npusim::sim

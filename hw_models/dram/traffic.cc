#include "hw_models/dram/traffic.h"

#include <algorithm>
#include <random>

#include "common/error.h"
#include "hw_models/dram/bounded_requester.h"

namespace npusim::hw {

namespace {

// Random addresses cover 4 GiB: larger than every preset's row buffers and caches of open rows, no larger than
// the smallest preset device (LPDDR4X-4266: 4 channels x 8 banks x 65536 rows x 2 KiB = 4 GiB), so random
// traffic does not wrap onto itself.
constexpr uint64_t kRandomSpanBytes = uint64_t{1} << 32;
constexpr uint64_t kMaxBytes = uint64_t{1} << 40;    // --bytes at most
constexpr uint64_t kMaxAddress = uint64_t{1} << 62;  // strided addresses stay below

// A uniform double in [0, 1) from the top 53 bits: written out rather than std::uniform_real_distribution, whose
// output the standard leaves to the library, so that a seed gives the same traffic everywhere.
double unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace

std::vector<std::string> traffic_pattern_names() {
  return {"sequential", "strided", "random", "mixed"};
}

void check_traffic_spec(const TrafficSpec& spec) {
  const std::vector<std::string> names = traffic_pattern_names();
  if (std::find(names.begin(), names.end(), spec.pattern) == names.end()) {
    std::string known;
    for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
    throw InputError("--pattern: unknown traffic pattern '" + spec.pattern + "' (known: " + known + ")");
  }
  if (spec.bytes == 0) throw InputError("--bytes: must be at least 1");
  // 1 TiB takes about half an hour at command level on one host; more is a typo, not a benchmark.
  if (spec.bytes > kMaxBytes) {
    throw InputError("--bytes: " + std::to_string(spec.bytes) + " is more than 1 TiB (" +
                     std::to_string(kMaxBytes) + ")");
  }
  if (spec.request_bytes == 0) throw InputError("--request-bytes: must be at least 1");
  if (spec.request_bytes > kRandomSpanBytes) throw InputError("--request-bytes: must be at most 4 GiB");
  if (spec.stride_bytes == 0) throw InputError("--stride: must be at least 1");
  // The strided stream's last request must start and end inside 64-bit addresses (2^62 to spare).
  const uint64_t requests = (spec.bytes + spec.request_bytes - 1) / spec.request_bytes;
  if (spec.pattern == "strided" && requests > 1 &&
      spec.stride_bytes > (kMaxAddress - spec.request_bytes) / (requests - 1)) {
    throw InputError("--stride: " + std::to_string(spec.stride_bytes) + " bytes x " +
                     std::to_string(requests - 1) + " requests spans more than 2^62 bytes of addresses");
  }
  if (spec.outstanding == 0) throw InputError("--outstanding: must be at least 1");
  if (!(spec.read_ratio >= 0 && spec.read_ratio <= 1)) throw InputError("--read-ratio: must be within [0, 1]");
  if (spec.window != "inorder" && spec.window != "any") {
    throw InputError("--window: must be inorder or any, got '" + spec.window + "'");
  }
}

TrafficResult drive_traffic(IDram& dram, const TrafficSpec& spec, std::ostream* stream_out) {
  check_traffic_spec(spec);
  // Two generators: addresses and the read/write choice, so that changing the read ratio does not move a single
  // address (a read-ratio sweep compares the same addresses).
  std::mt19937_64 address_rng(spec.seed);
  std::mt19937_64 direction_rng(spec.seed ^ 0x9e3779b97f4a7c15ULL);
  const uint64_t random_slots = kRandomSpanBytes / spec.request_bytes;
  const uint64_t requests = (spec.bytes + spec.request_bytes - 1) / spec.request_bytes;
  // The requests go out as streams of up to kChunk (bounding memory), at most `outstanding` in flight.
  constexpr uint64_t kChunk = uint64_t{1} << 16;
  const auto window = static_cast<size_t>(std::min(spec.outstanding, requests));
  BoundedRequester requester(window, spec.window == "any");
  if (stream_out != nullptr) {
    *stream_out << "# npusim dram-bench stream: " << spec.pattern << ", " << requests << " requests\n"
                << "# window " << window << " " << spec.window << "\n"
                << "# burst_bytes " << dram.config().burst_bytes() << "\n";
  }
  uint64_t sequential_next = 0;  // the sequential stream (sequential and mixed)
  uint64_t end_ps = 0;
  const bool random_only = spec.pattern == "random", mixed = spec.pattern == "mixed";
  const bool strided = spec.pattern == "strided";
  // A read ratio of 0 or 1 decides every request alike (the draw is skipped: the other generator's addresses
  // stay the same).
  const bool draw_direction = spec.read_ratio > 0 && spec.read_ratio < 1;
  for (uint64_t first = 0; first < requests; first += kChunk) {
    for (uint64_t i = first; i < std::min(requests, first + kChunk); ++i) {
      const uint64_t bytes = std::min(spec.request_bytes, spec.bytes - i * spec.request_bytes);
      uint64_t address = 0;
      const bool random = random_only || (mixed && (address_rng() >> 63) != 0);  // 50/50
      if (random) {
        address = address_rng() % random_slots * spec.request_bytes;
      } else if (strided) {
        address = i * spec.stride_bytes;
      } else {
        address = sequential_next;
        sequential_next += spec.request_bytes;
      }
      const bool is_write = draw_direction ? !(unit(direction_rng) < spec.read_ratio) : spec.read_ratio == 0;
      requester.add(address, bytes, is_write, 0);
      if (stream_out != nullptr) *stream_out << (is_write ? "W " : "R ") << address << " " << bytes << "\n";
    }
    end_ps = std::max(end_ps, requester.book(dram));
  }
  // Posted writes the controllers still hold count until they are on the bus.
  end_ps = std::max(end_ps, dram.flush());
  TrafficResult r;
  r.requests = requests;
  r.bytes = spec.bytes;
  dram.settle(end_ps);  // refreshes of every channel up to the end count in the statistics and energy
  r.end_ps = end_ps;
  // bytes per ps = 1e12 bytes per s = 1000 GB/s.
  r.gbps = end_ps > 0 ? static_cast<double>(spec.bytes) / static_cast<double>(end_ps) * 1000.0 : 0;
  return r;
}

}  // namespace npusim::hw

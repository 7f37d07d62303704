// Synthetic DRAM traffic: drives an IDram with a named access pattern under a bounded number of outstanding
// requests, the way a DMA engine would (WeightStreamer::fetch issues the same way), and reports the bandwidth it
// achieved. Shared by `npusim dram-bench` and the DRAM bandwidth tests, so that a figure the command prints is the
// figure a test checks.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "hw_models/dram/i_dram.h"

namespace npusim::hw {

struct TrafficSpec {
  // "sequential": consecutive request_bytes-sized requests from address 0.
  // "strided":    request i is request_bytes at address i * stride_bytes.
  // "random":     request_bytes-aligned uniform random addresses over a 4 GiB span.
  // "mixed":      per request, a fair coin picks the next request of a sequential stream or a random address.
  std::string pattern = "sequential";
  uint64_t bytes = 0;             // total bytes requested; the last request is shorter if it does not divide
  double read_ratio = 1;          // probability that a request is a read (1: all reads, 0: all writes)
  uint64_t stride_bytes = 4096;   // strided: distance between the starts of consecutive requests
  uint64_t request_bytes = 4096;  // bytes per request
  uint64_t outstanding = 64;      // requests in flight at most
  // "inorder": request k is handed over only after request k - outstanding completed (a DMA's ring of slots);
  // "any": whenever fewer than `outstanding` are in flight (any completion frees a slot).
  std::string window = "inorder";
  uint64_t seed = 1;  // random addresses and the read/write choice
};

struct TrafficResult {
  uint64_t requests = 0;
  uint64_t bytes = 0;   // requested bytes (the DRAM may move more: whole bursts)
  uint64_t end_ps = 0;  // completion of the last request; the traffic starts at 0
  double gbps = 0;      // achieved: bytes / end_ps, in GB/s (1e9 bytes per second)
};

std::vector<std::string> traffic_pattern_names();

// Throws InputError (naming the field as a flag: "--pattern", "--bytes", ...) for an unknown pattern, a zero
// size or count, or a read ratio outside [0, 1].
void check_traffic_spec(const TrafficSpec& spec);

// Issues the whole pattern on `dram` from time 0 and returns when it completed. Deterministic: the same spec on
// a fresh DRAM of the same config gives the same result. With `stream_out`, the requests are also written there
// as text, one a line ("R ADDRESS BYTES" or "W ..."), after header lines starting with '#' that give the window
// ("# window N inorder|any") and the burst size ("# burst_bytes B"): the exact stream, for other simulators.
TrafficResult drive_traffic(IDram& dram, const TrafficSpec& spec, std::ostream* stream_out = nullptr);

}  // namespace npusim::hw

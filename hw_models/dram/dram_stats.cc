#include <algorithm>
#include <cmath>

#include "hw_models/dram/i_dram.h"

namespace npusim::hw {

namespace {
// Read latencies are binned per ns up to this bound; slower reads share the last bin.
constexpr size_t kLatencyBins = 20000;
}  // namespace

void DramStats::record_read_latency(uint64_t latency_ps) {
  if (read_latency_ns_histogram.empty()) read_latency_ns_histogram.assign(kLatencyBins, 0);
  read_latency_sum_ps += latency_ps;
  ++read_latency_ns_histogram[std::min<size_t>(latency_ps / 1000, kLatencyBins - 1)];
}

double DramStats::read_latency_percentile_ns(double fraction) const {
  uint64_t total = 0;
  for (uint64_t n : read_latency_ns_histogram) total += n;
  if (total == 0) return 0;
  const auto rank = static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(total)));
  uint64_t seen = 0;
  for (size_t bin = 0; bin < read_latency_ns_histogram.size(); ++bin) {
    seen += read_latency_ns_histogram[bin];
    if (seen >= std::max<uint64_t>(rank, 1)) return static_cast<double>(bin + 1);  // upper edge of the bin
  }
  return static_cast<double>(read_latency_ns_histogram.size());
}

}  // namespace npusim::hw

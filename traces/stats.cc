// Summaries of a trace: what `npusim trace stats` prints and what reports quote as the mean decode bits.
#include <map>

#include "traces/trace.h"

namespace npusim::traces {

TraceStats summarize(const Trace& trace) {
  TraceStats s;
  std::map<int, int64_t> steps_by_bits;  // ordered: the result lists ascending bits
  int64_t bit_steps = 0;                 // sum of bits x steps, for the step-weighted mean
  for (const Request& r : trace.requests) {
    ++s.requests;
    s.prompt_tokens_total += r.prompt_tokens;
    s.decode_steps_total += r.decode_steps();
    s.output_tokens_total += r.output_tokens();
    if (r.eos) ++s.eos_requests;
    for (const Segment& seg : r.decode) {
      steps_by_bits[seg.bits] += seg.steps;
      bit_steps += static_cast<int64_t>(seg.bits) * seg.steps;
    }
  }
  if (s.requests > 0) {
    s.mean_prompt_tokens = static_cast<double>(s.prompt_tokens_total) / static_cast<double>(s.requests);
    s.mean_output_tokens = static_cast<double>(s.output_tokens_total) / static_cast<double>(s.requests);
  }
  if (s.decode_steps_total > 0) {
    s.mean_decode_bits = static_cast<double>(bit_steps) / static_cast<double>(s.decode_steps_total);
  }
  s.decode_steps_by_bits.assign(steps_by_bits.begin(), steps_by_bits.end());
  return s;
}

}  // namespace npusim::traces

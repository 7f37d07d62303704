// A requester that keeps at most `window` DRAM requests in flight and hands them over in order, across any number
// of streams (a DMA engine, a traffic generator): it builds each stream's requests, request i waiting for request
// i - window (inside the stream, or by its known completion when it was booked in an earlier one), and books them
// with IDram::access_stream.
#pragma once

#include <cstdint>
#include <vector>

#include "hw_models/dram/i_dram.h"

namespace npusim::hw {

class BoundedRequester {
 public:
  explicit BoundedRequester(size_t window) : done_ps_(window, 0) {}

  // Appends a request to the stream being built; it is handed over no earlier than `issue_ps`.
  void add(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps);
  // Books the stream built so far and starts a new one; returns the latest completion in it (0 when empty).
  uint64_t book(IDram& dram);

 private:
  std::vector<uint64_t> done_ps_;  // completion of request i, in slot i % window
  uint64_t booked_ = 0;            // requests booked so far
  uint64_t handover_ps_ = 0;       // hand-over of the last booked request: none goes out before it
  std::vector<DramRequest> stream_;
};

}  // namespace npusim::hw

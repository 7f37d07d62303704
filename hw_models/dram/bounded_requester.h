// A requester that keeps at most `window` DRAM requests in flight and hands them over in order, across any number
// of streams (a DMA engine, a traffic generator): it builds each stream's requests and books them with
// IDram::access_stream. In order (a DMA's ring of slots), request i waits for request i - window; with any free
// slot, it waits for the earliest completion that no earlier request waited for. Across streams, the waits on
// requests of earlier streams use their known completions.
#pragma once

#include <cstdint>
#include <vector>

#include "hw_models/dram/i_dram.h"

namespace npusim::hw {

class BoundedRequester {
 public:
  // `any_slot`: a request takes any free slot (the earliest completion), not the slot of request i - window.
  explicit BoundedRequester(size_t window, bool any_slot = false)
      : done_ps_(window, 0), any_slot_(any_slot), free_ps_(window, 0) {}

  // Appends a request to the stream being built; it is handed over no earlier than `issue_ps`.
  void add(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps);
  // Books the stream built so far and starts a new one; returns the latest completion in it (0 when empty).
  uint64_t book(IDram& dram);

 private:
  std::vector<uint64_t> done_ps_;  // completion of request i, in slot i % window
  uint64_t booked_ = 0;            // requests booked so far
  uint64_t handover_ps_ = 0;       // hand-over of the last booked request: none goes out before it
  std::vector<DramRequest> stream_;
  bool any_slot_ = false;
  std::vector<uint64_t> free_ps_;  // any slot: when each slot frees, earliest first, at the stream's start
};

}  // namespace npusim::hw

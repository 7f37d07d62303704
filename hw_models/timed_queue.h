// A hand-off between two pipeline stages: the producer pushes a tile stamped with the time it becomes
// available; the consumer's pop() sleeps until the front tile exists and its time has come. One event per
// hand-off, no polling.
#pragma once

#include <deque>
#include <systemc>

#include "hw_models/tiling.h"

namespace npusim::hw {

class TimedTileQueue {
 public:
  void push(const Tile& tile) {
    items_.push_back(tile);
    pushed_.notify();
  }

  // Blocks the calling thread until a tile is ready; adds the time spent waiting to *waited_ps.
  Tile pop(uint64_t* waited_ps) {
    const uint64_t start = now_ps();
    while (items_.empty()) sc_core::wait(pushed_);
    const uint64_t ready = items_.front().ready_ps;
    if (ready > now_ps()) sc_core::wait(sc_core::sc_time::from_value(ready - now_ps()));
    Tile t = items_.front();
    items_.pop_front();
    *waited_ps += now_ps() - start;
    return t;
  }

  static uint64_t now_ps() { return sc_core::sc_time_stamp().value(); }

 private:
  std::deque<Tile> items_;
  sc_core::sc_event pushed_;
};

}  // namespace npusim::hw

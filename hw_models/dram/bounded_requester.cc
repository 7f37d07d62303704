#include "hw_models/dram/bounded_requester.h"

#include <algorithm>

namespace npusim::hw {

void BoundedRequester::add(uint64_t address, uint64_t bytes, bool is_write, uint64_t issue_ps) {
  DramRequest r;
  r.address = address;
  r.bytes = bytes;
  r.is_write = is_write;
  r.issue_ps = std::max(issue_ps, handover_ps_);
  if (any_slot_) {
    // The slots free at the stream's start go first; later requests wait for a completion in the stream.
    if (stream_.size() < free_ps_.size()) {
      r.issue_ps = std::max(r.issue_ps, free_ps_[stream_.size()]);
    } else {
      r.after_a_completion = true;
    }
    stream_.push_back(r);
    return;
  }
  const size_t window = done_ps_.size();
  if (stream_.size() >= window) {
    r.after = static_cast<int64_t>(stream_.size() - window);
  } else {
    r.issue_ps = std::max(r.issue_ps, done_ps_[(booked_ + stream_.size()) % window]);
  }
  stream_.push_back(r);
}

uint64_t BoundedRequester::book(IDram& dram) {
  dram.access_stream(stream_);
  if (any_slot_) {
    // The earliest completions were waited for by the stream's later requests; the slots free afterwards are the
    // start's unused ones and the latest completions, window of them in all.
    const size_t window = free_ps_.size();
    std::vector<uint64_t> free(free_ps_.begin() + static_cast<std::ptrdiff_t>(std::min(window, stream_.size())),
                               free_ps_.end());
    std::vector<uint64_t> done;
    for (const DramRequest& r : stream_) done.push_back(r.done_ps);
    std::sort(done.begin(), done.end());
    free.insert(free.end(), done.end() - static_cast<std::ptrdiff_t>(std::min(window, done.size())), done.end());
    std::sort(free.begin(), free.end());
    free_ps_ = free;
  }
  uint64_t done = 0;
  for (const DramRequest& r : stream_) {
    done_ps_[booked_++ % done_ps_.size()] = r.done_ps;
    done = std::max(done, r.done_ps);
    // Requests leave in order: each goes at its issue time, after the one before, and after its wait.
    handover_ps_ = std::max(handover_ps_, r.issue_ps);
    if (r.after >= 0) handover_ps_ = std::max(handover_ps_, stream_[static_cast<size_t>(r.after)].done_ps);
  }
  stream_.clear();
  return done;
}

}  // namespace npusim::hw

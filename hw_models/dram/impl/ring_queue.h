// A bounded FIFO with removal at any position, for the controller's small queues: a ring of a power-of-two
// capacity (index arithmetic is a mask, unlike std::deque's division), removal shifts the shorter side.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <utility>
#include <vector>

namespace npusim::hw {

template <class T>
class RingQueue {
 public:
  explicit RingQueue(size_t capacity = 0) { reserve(capacity); }

  // Sets the capacity (rounded up to a power of two); only on an empty queue.
  void reserve(size_t capacity) {
    if (size_ != 0) throw std::logic_error("RingQueue::reserve on a non-empty queue");
    size_t n = 1;
    while (n < capacity) n *= 2;
    slots_.assign(n, T{});
    mask_ = n - 1;
    head_ = 0;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return slots_[(head_ + i) & mask_]; }
  const T& operator[](size_t i) const { return slots_[(head_ + i) & mask_]; }

  // Appends a slot and returns it to be filled in place (it holds whatever the slot held before).
  T& push_back_slot() {
    if (size_ == slots_.size()) throw std::logic_error("RingQueue::push_back_slot on a full queue");
    T& slot = slots_[(head_ + size_) & mask_];
    ++size_;
    return slot;
  }

  void erase(size_t i) {
    if (i < size_ / 2) {
      for (size_t k = i; k > 0; --k) (*this)[k] = std::move((*this)[k - 1]);
      head_ = (head_ + 1) & mask_;
    } else {
      for (size_t k = i; k + 1 < size_; ++k) (*this)[k] = std::move((*this)[k + 1]);
    }
    --size_;
  }

 private:
  std::vector<T> slots_;
  size_t mask_ = 0;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace npusim::hw

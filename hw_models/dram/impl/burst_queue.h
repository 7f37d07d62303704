// A controller's queue of bursts in one direction: a fixed pool of entries on two lists, both in arrival order,
// one over the whole queue and one per bank. The scheduler reaches a bank's oldest burst (or its oldest row hit)
// without looking at other banks' bursts, and an entry leaves from anywhere in O(1). Slots are stable: a slot
// names its entry until the entry is erased.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace npusim::hw {

template <class T>
class BurstQueue {
 public:
  static constexpr uint32_t kNone = ~uint32_t{0};

  // Empties the queue and gives it room for `capacity` entries over `banks` banks.
  void reset(size_t capacity, size_t banks) {
    if (capacity >= kNone) throw std::logic_error("BurstQueue: capacity too large");
    entries_.assign(capacity, T{});
    links_.assign(capacity, Link{});
    bank_first_.assign(banks, kNone);
    bank_last_.assign(banks, kNone);
    first_ = last_ = kNone;
    size_ = 0;
    // Free slots are chained through `next`, lowest first.
    free_ = capacity == 0 ? kNone : 0;
    for (size_t i = 0; i < capacity; ++i) links_[i].next = i + 1 < capacity ? static_cast<uint32_t>(i + 1) : kNone;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The oldest entry (kNone when empty) and the next younger one.
  uint32_t oldest() const { return first_; }
  uint32_t younger(uint32_t slot) const { return links_[slot].next; }
  // The same within one bank.
  uint32_t oldest_in_bank(uint32_t bank) const { return bank_first_[bank]; }
  uint32_t younger_in_bank(uint32_t slot) const { return links_[slot].bank_next; }
  T& operator[](uint32_t slot) { return entries_[slot]; }
  const T& operator[](uint32_t slot) const { return entries_[slot]; }

  // Appends an entry of `bank` as the youngest; returns its slot, whose entry is filled in place (it holds
  // whatever the slot held before).
  uint32_t push_back(uint32_t bank) {
    if (free_ == kNone) throw std::logic_error("BurstQueue::push_back on a full queue");
    const uint32_t slot = free_;
    Link& l = links_[slot];
    free_ = l.next;
    l = Link{last_, kNone, bank_last_[bank], kNone, bank};
    (last_ == kNone ? first_ : links_[last_].next) = slot;
    last_ = slot;
    (bank_last_[bank] == kNone ? bank_first_[bank] : links_[bank_last_[bank]].bank_next) = slot;
    bank_last_[bank] = slot;
    ++size_;
    return slot;
  }

  void erase(uint32_t slot) {
    Link& l = links_[slot];
    (l.prev == kNone ? first_ : links_[l.prev].next) = l.next;
    (l.next == kNone ? last_ : links_[l.next].prev) = l.prev;
    (l.bank_prev == kNone ? bank_first_[l.bank] : links_[l.bank_prev].bank_next) = l.bank_next;
    (l.bank_next == kNone ? bank_last_[l.bank] : links_[l.bank_next].bank_prev) = l.bank_prev;
    l.next = free_;
    free_ = slot;
    --size_;
  }

 private:
  struct Link {
    uint32_t prev = kNone, next = kNone;            // whole queue (a free slot: next free in `next`)
    uint32_t bank_prev = kNone, bank_next = kNone;  // its bank
    uint32_t bank = 0;
  };
  std::vector<T> entries_;
  std::vector<Link> links_;
  std::vector<uint32_t> bank_first_, bank_last_;
  uint32_t first_ = kNone, last_ = kNone, free_ = kNone;
  size_t size_ = 0;
};

}  // namespace npusim::hw

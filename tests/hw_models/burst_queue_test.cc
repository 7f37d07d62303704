// The controllers' burst queue: both lists keep arrival order through removals anywhere, slots are reused, and a
// full queue refuses a push.
#include "hw_models/dram/impl/burst_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace npusim::hw {
namespace {

// The values on the whole-queue list, oldest first.
std::vector<int> in_order(const BurstQueue<int>& q) {
  std::vector<int> v;
  for (uint32_t s = q.oldest(); s != q.kNone; s = q.younger(s)) v.push_back(q[s]);
  return v;
}

std::vector<int> in_bank(const BurstQueue<int>& q, uint32_t bank) {
  std::vector<int> v;
  for (uint32_t s = q.oldest_in_bank(bank); s != q.kNone; s = q.younger_in_bank(s)) v.push_back(q[s]);
  return v;
}

TEST(BurstQueue, KeepsArrivalOrderOverallAndPerBankThroughRemovals) {
  BurstQueue<int> q;
  q.reset(4, 2);
  uint32_t slot[5];
  const uint32_t banks[4] = {0, 1, 0, 1};
  for (int i = 0; i < 4; ++i) {
    slot[i] = q.push_back(banks[i]);
    q[slot[i]] = i;
  }
  EXPECT_EQ(in_order(q), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(in_bank(q, 0), (std::vector<int>{0, 2}));
  EXPECT_EQ(in_bank(q, 1), (std::vector<int>{1, 3}));
  EXPECT_THROW(q.push_back(0), std::logic_error);  // 4 entries of 4
  // Remove from the middle, then the oldest of a bank: both lists close the gap.
  q.erase(slot[2]);
  q.erase(slot[1]);
  EXPECT_EQ(in_order(q), (std::vector<int>{0, 3}));
  EXPECT_EQ(in_bank(q, 0), (std::vector<int>{0}));
  EXPECT_EQ(in_bank(q, 1), (std::vector<int>{3}));
  // A new entry takes a freed slot (the last freed first) and is the youngest everywhere.
  slot[4] = q.push_back(0);
  EXPECT_EQ(slot[4], slot[1]);
  q[slot[4]] = 4;
  EXPECT_EQ(in_order(q), (std::vector<int>{0, 3, 4}));
  EXPECT_EQ(in_bank(q, 0), (std::vector<int>{0, 4}));
  q.erase(slot[0]);
  q.erase(slot[3]);
  q.erase(slot[4]);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.oldest(), q.kNone);
  EXPECT_EQ(q.oldest_in_bank(0), q.kNone);
}

}  // namespace
}  // namespace npusim::hw

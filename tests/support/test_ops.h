// Hand-built operators for tests: a linear whose bytes and MACs follow its format; finding an op by name.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "workloads/workloads.h"

namespace npusim::testing {

inline workloads::Op test_linear(uint64_t k, uint64_t n, const workloads::PrecisionFormat& f,
                                 uint64_t tokens = 1) {
  workloads::Op op;
  op.name = "test.linear";
  op.kind = workloads::OpKind::kLinear;
  op.k = k;
  op.n = n;
  op.tokens = tokens;
  op.format = f;
  op.weight_bytes = f.code_bytes(k, n);
  op.table_bytes = f.table_bytes(k, n);
  op.macs = k * n * tokens;
  return op;
}

// The op named `name` in `ops` (a test failure, and an empty op, when there is none).
inline const workloads::Op& find_op(const std::vector<workloads::Op>& ops, const std::string& name) {
  for (const workloads::Op& op : ops) {
    if (op.name == name) return op;
  }
  ADD_FAILURE() << "no op named " << name;
  static const workloads::Op kNone;
  return kNone;
}

}  // namespace npusim::testing

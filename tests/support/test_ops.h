// Hand-built operators for hw_models tests: a linear whose bytes and MACs follow its format.
#pragma once

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

}  // namespace npusim::testing

#include "hw_models/mac_dataflow.h"

#include <algorithm>
#include <stdexcept>

namespace npusim::hw {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

// Systolic arrays, after SCALE-Sim's analytical model (Samajdar et al., "A Systematic Methodology for
// Characterizing Scalability of DNN Accelerators using SCALE-Sim", ISPASS 2020). The operand that stays in the
// PEs sets the two spatial extents, Sr over the array's rows and Sc over its columns; the third dimension, T,
// streams through in time:
//   weight stationary: Sr = K, Sc = N, T = M (weights K x N held; activation rows stream in from the left)
//   output stationary: Sr = M, Sc = N, T = K (each PE accumulates one output over the K-long reduction)
//   input stationary:  Sr = K, Sc = M, T = N (activations held; weight columns stream in)
// A product larger than the array is cut into folds of Sr_f <= rows by Sc_f <= cols: nr x nc folds, each
// dimension full blocks and one edge block (er = Sr - (nr - 1) rows, ec likewise), column blocks outer and row
// blocks inner (weight stationary: a block of outputs accumulates over its K slices back to back).
// One fold alone takes SCALE-Sim's tau = 2 Sr_f + Sc_f + T - 2 cycles: Sr_f to move the stationary block in
// (one array row per cycle; output stationary: to move the finished outputs out), then the T streamed vectors
// enter skewed by one cycle per row, so the last reaches row Sr_f - 1 at T + Sr_f - 2 and leaves column
// Sc_f - 1 Sc_f cycles later.
// Without double buffering the folds run one after another: sum of tau_f = 2 nc Sr + nr Sc + F (T - 2).
// With a shadow copy of the stationary operand in every PE, fold f+1's block moves in while fold f streams, and
// fold f+1 starts streaming once fold f's last vector has entered (T cycles after its first) and its block is
// in (Sr_{f+1} cycles after fold f started, the shadow being free from then): start_{f+1} = start_f + max(T,
// Sr_{f+1}). The skew keeps each PE's switch to the new block behind fold f's last vector. Fold f's last result
// leaves at start_f + T + Sr_f + Sc_f - 2 (tau from its start without the load), and the product ends with the
// latest of them: start_0 = Sr_0 and
//   start_f = Sr_0 + sum over g = 1 .. f of max(T, Sr_g),   end = max over f of (start_f + T + Sr_f + Sc_f - 2).
// Not always the last fold: an edge block of a few rows after a full one finishes before the full one has
// drained (on R rows, Sr = R + 1 at T = 1: fold 0 ends at 2R + Sc - 1, fold 1 at R + Sc). Starts grow with f, so
// the latest fold of each (row-block, column-block) kind is the only candidate of its kind: the last and the
// second-to-last row block of the last and the second-to-last column block. A single fold takes tau; at batch 1
// (T = 1) a weight-stationary array does about one fold per rows cycles: 1/rows of its MACs do useful work.
uint64_t systolic_cycles(uint64_t sr, uint64_t sc, uint64_t t, const ArrayShape& a) {
  const uint64_t nr = ceil_div(sr, a.rows), nc = ceil_div(sc, a.cols);
  const uint64_t er = sr - (nr - 1) * a.rows, ec = sc - (nc - 1) * a.cols;
  if (!a.double_buffered) return 2 * nc * sr + nr * sc + nr * nc * t - 2 * nr * nc;
  const auto step = [t](uint64_t rows) { return rows > t ? rows : t; };
  const auto rows_of = [&](uint64_t i) { return i == nr - 1 ? er : a.rows; };
  const auto cols_of = [&](uint64_t j) { return j == nc - 1 ? ec : a.cols; };
  const uint64_t block_steps = (nr - 1) * step(a.rows) + step(er);  // the steps of one column block's folds
  const uint64_t first = rows_of(0);
  // Fold (column block j, row block i): start = Sr_0 + steps of folds 0 .. f, less fold 0's own step.
  const auto start = [&](uint64_t j, uint64_t i) {
    const uint64_t within = i == nr - 1 ? block_steps : (i + 1) * step(a.rows);
    return first + j * block_steps + within - step(first);
  };
  uint64_t end = 0;
  for (uint64_t j = nc >= 2 ? nc - 2 : 0; j < nc; ++j) {
    for (uint64_t i = nr >= 2 ? nr - 2 : 0; i < nr; ++i) {
      end = std::max(end, start(j, i) + t + rows_of(i) + cols_of(j) - 2);
    }
  }
  return end;
}

// The GEMV engine: `rows` lanes, each a dot product of `cols` MACs a cycle into an adder tree. An output (one
// token, one of the N rows) takes ceil(K / cols) cycles in a lane; the lanes take N outputs rows at a time, token
// after token; the tree's ceil(log2 cols) levels add their latency once, as the lanes are pipelined. At batch 1
// with N and K multiples of rows and cols it does rows x cols MACs a cycle.
uint64_t gemv_cycles(const GemmShape& g, const ArrayShape& a) {
  uint64_t tree_levels = 0;
  while ((uint64_t{1} << tree_levels) < a.cols) ++tree_levels;
  return g.m * ceil_div(g.n, a.rows) * ceil_div(g.k, a.cols) + tree_levels;
}

}  // namespace

const std::vector<std::string>& dataflow_names() {
  static const std::vector<std::string> names = {"ideal", "weight_stationary", "output_stationary",
                                                 "input_stationary", "gemv"};
  return names;
}

Dataflow dataflow_of(const std::string& name) {
  const std::vector<std::string>& names = dataflow_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Dataflow>(i);
  }
  throw std::invalid_argument("unknown MAC array dataflow '" + name + "'");
}

uint64_t gemm_cycles(const ArrayShape& array, const GemmShape& g) {
  if (g.m == 0 || g.k == 0 || g.n == 0) return 0;
  switch (array.dataflow) {
    case Dataflow::kIdeal:
      return ceil_div(g.macs(), array.rows * array.cols);
    case Dataflow::kWeightStationary:
      return systolic_cycles(g.k, g.n, g.m, array);
    case Dataflow::kOutputStationary:
      return systolic_cycles(g.m, g.n, g.k, array);
    case Dataflow::kInputStationary:
      return systolic_cycles(g.k, g.m, g.n, array);
    case Dataflow::kGemv:
      return gemv_cycles(g, array);
  }
  throw std::logic_error("gemm_cycles: unknown dataflow");
}

uint64_t tile_cycles(const ArrayShape& array, uint64_t m, uint64_t k, uint64_t n_before, uint64_t n) {
  if (array.dataflow == Dataflow::kIdeal || array.dataflow == Dataflow::kInputStationary) {
    return gemm_cycles(array, {m, k, n});
  }
  const uint64_t after = gemm_cycles(array, {m, k, n_before + n}), before = gemm_cycles(array, {m, k, n_before});
  return after > before ? after - before : 0;
}

}  // namespace npusim::hw

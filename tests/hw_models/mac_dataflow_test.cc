// Exact fold cycles of the compute arrays (hw_models/mac_dataflow.cc), each figure derived in the comment beside
// it from SCALE-Sim's per-fold tau = 2 Sr + Sc + T - 2 and the double-buffered recurrence start_{f+1} = start_f +
// max(T, Sr_{f+1}), end = the latest of start_f + T + Sr_f + Sc_f - 2 (Sr, Sc, T: WS = K, N, M; OS = M, N, K;
// IS = K, M, N; column blocks outer, row blocks inner).
#include "hw_models/mac_dataflow.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

namespace npusim::hw {
namespace {

ArrayShape array(Dataflow d, uint64_t rows, uint64_t cols, bool double_buffered = true) {
  return {d, rows, cols, double_buffered};
}

TEST(MacDataflow, OneFoldIsScaleSimTau) {
  for (const bool db : {false, true}) {
    // WS 3x3, M=2, K=3, N=3: Sr 3, Sc 3, T 2: 6 + 3 + 2 - 2 = 9 (one fold: nothing to overlap).
    EXPECT_EQ(gemm_cycles(array(Dataflow::kWeightStationary, 3, 3, db), {2, 3, 3}), 9u);
    // WS 3x3 with K below the array: M=4, K=2, N=3: Sr 2, Sc 3, T 4: 4 + 3 + 4 - 2 = 9.
    EXPECT_EQ(gemm_cycles(array(Dataflow::kWeightStationary, 3, 3, db), {4, 2, 3}), 9u);
    // OS 4x8, M=4, K=5, N=8 (at the array size): Sr 4, Sc 8, T 5: 8 + 8 + 5 - 2 = 19.
    EXPECT_EQ(gemm_cycles(array(Dataflow::kOutputStationary, 4, 8, db), {4, 5, 8}), 19u);
    // IS 4x8, M=8, K=4, N=1: Sr 4, Sc 8, T 1: 8 + 8 + 1 - 2 = 15.
    EXPECT_EQ(gemm_cycles(array(Dataflow::kInputStationary, 4, 8, db), {8, 4, 1}), 15u);
  }
}

TEST(MacDataflow, FoldsAboveTheArray) {
  // WS 3x3, M=5, K=7, N=4: Sr 7 in row blocks 3, 3, 1; Sc 4 in column blocks 3, 1; T 5; 6 folds.
  // One after another: (12 + 12 + 8) with Sc 3 and (10 + 10 + 6) with Sc 1 = 58 = 2*2*7 + 3*4 + 6*(5-2).
  EXPECT_EQ(gemm_cycles(array(Dataflow::kWeightStationary, 3, 3, false), {5, 7, 4}), 58u);
  // Double-buffered: starts 3, 8, 13, 18, 23, 28 (every step max(5, Sr) = 5); the last fold (Sr 1, Sc 1) ends
  // at 28 + 5 + 1 + 1 - 2 = 33.
  EXPECT_EQ(gemm_cycles(array(Dataflow::kWeightStationary, 3, 3), {5, 7, 4}), 33u);
  // OS 3x3, M=5, K=4, N=3: Sr 5 in 3, 2; Sc 3; T 4. One after another: (6+3+2) + (4+3+2) = 20.
  // Double-buffered: starts 3, 3 + max(4, 2) = 7; ends 7 + 4 + 2 + 3 - 2 = 14.
  EXPECT_EQ(gemm_cycles(array(Dataflow::kOutputStationary, 3, 3, false), {5, 4, 3}), 20u);
  EXPECT_EQ(gemm_cycles(array(Dataflow::kOutputStationary, 3, 3), {5, 4, 3}), 14u);
  // IS 4x8, M=3, K=6, N=5: Sr 6 in 4, 2; Sc 3; T 5. One after another: (8+3+3) + (4+3+3) = 24.
  // Double-buffered: starts 4, 4 + max(5, 2) = 9; ends 9 + 5 + 2 + 3 - 2 = 17.
  EXPECT_EQ(gemm_cycles(array(Dataflow::kInputStationary, 4, 8, false), {3, 6, 5}), 24u);
  EXPECT_EQ(gemm_cycles(array(Dataflow::kInputStationary, 4, 8), {3, 6, 5}), 17u);
  // A stationary block that takes longer to load than the stream: WS 4x8, M=1, K=16, N=16: Sr 16 in four
  // blocks of 4, Sc 16 in two of 8, T 1. Double-buffered: starts 4, 8, ..., 32 (step max(1, 4) = 4, 8 folds);
  // ends 32 + 1 + 4 + 8 - 2 = 43. One after another: 8 x (8 + 8 + 1 - 2) = 120.
  EXPECT_EQ(gemm_cycles(array(Dataflow::kWeightStationary, 4, 8), {1, 16, 16}), 43u);
  EXPECT_EQ(gemm_cycles(array(Dataflow::kWeightStationary, 4, 8, false), {1, 16, 16}), 120u);
}

TEST(MacDataflow, AnEdgeBlockCanFinishBeforeTheFullBlockBeforeIt) {
  // WS 4x4, M=1, K=5, N=4: Sr 5 in row blocks 4, 1; T 1. Fold 0 starts at 4 (its load) and its last result
  // leaves at 4 + 1 + 4 + 4 - 2 = 11; fold 1 (one row) starts at 4 + max(1, 1) = 5 and ends at 5 + 1 + 1 + 4 - 2
  // = 9, before fold 0 has drained: the product ends at 11.
  EXPECT_EQ(gemm_cycles(array(Dataflow::kWeightStationary, 4, 4), {1, 5, 4}), 11u);
  // With an 8-row array the same product is one fold of Sr 5: tau = 10 + 4 + 1 - 2 = 13. The taller array is
  // slower here: the 5-deep skew and load outweigh the fold it saves.
  EXPECT_EQ(gemm_cycles(array(Dataflow::kWeightStationary, 8, 4), {1, 5, 4}), 13u);
}

// The double-buffered recurrence walked fold by fold (column blocks outer, row blocks inner): the reference the
// closed form's candidates must reproduce.
uint64_t walked_folds(const ArrayShape& a, uint64_t sr, uint64_t sc, uint64_t t) {
  uint64_t start = 0, end = 0;
  bool first = true;
  for (uint64_t c0 = 0; c0 < sc; c0 += a.cols) {
    for (uint64_t r0 = 0; r0 < sr; r0 += a.rows) {
      const uint64_t rows = std::min(a.rows, sr - r0), cols = std::min(a.cols, sc - c0);
      start = first ? rows : start + std::max(t, rows);
      first = false;
      end = std::max(end, start + t + rows + cols - 2);
    }
  }
  return end;
}

TEST(MacDataflow, ClosedFormIsTheFoldRecurrence) {
  for (const uint64_t rows : {1u, 3u, 4u, 8u}) {
    for (const uint64_t cols : {1u, 3u, 8u}) {
      const ArrayShape a = array(Dataflow::kWeightStationary, rows, cols);
      for (uint64_t m = 1; m <= 9; m += 2) {
        for (uint64_t k = 1; k <= 20; ++k) {
          for (uint64_t n = 1; n <= 20; n += 3) {
            ASSERT_EQ(gemm_cycles(a, {m, k, n}), walked_folds(a, k, n, m))
                << rows << "x" << cols << " M " << m << " K " << k << " N " << n;
          }
        }
      }
    }
  }
}

TEST(MacDataflow, VicunaProjectionOnA256Array) {
  // Issue 14's scale: Vicuna-7B's 4096 x 4096 projection on a 256 x 256 weight-stationary array, 256 folds of
  // Sr = Sc = 256. One after another: 256 x (512 + 256 + M - 2): M = 1024 -> 458,240, M = 1 -> 196,352.
  const ArrayShape single = array(Dataflow::kWeightStationary, 256, 256, false);
  EXPECT_EQ(gemm_cycles(single, {1024, 4096, 4096}), 458240u);
  EXPECT_EQ(gemm_cycles(single, {1, 4096, 4096}), 196352u);
  // Double-buffered: M = 1024: 256 + 255 x 1024 + 1024 + 510 = 262,910 (the ideal rate: 262,144); M = 1:
  // 256 + 255 x 256 + 1 + 510 = 66,047.
  const ArrayShape db = array(Dataflow::kWeightStationary, 256, 256);
  EXPECT_EQ(gemm_cycles(db, {1024, 4096, 4096}), 262910u);
  EXPECT_EQ(gemm_cycles(db, {1, 4096, 4096}), 66047u);
  // So a batch-1 GEMV uses 1/rows of the array: 4096^2 MACs / (65536 PEs x 66,047 cycles) = 1/258.0, within 1%
  // of 1/256 (the first load and the last skew and drain, 767 of the cycles, are the rest).
  const double used = 4096.0 * 4096.0 / (65536.0 * 66047.0);
  EXPECT_NEAR(used * 256.0, 1.0, 0.01);
  EXPECT_EQ(gemm_cycles(array(Dataflow::kIdeal, 256, 256), {1, 4096, 4096}), 256u);
}

TEST(MacDataflow, GemvEngineReachesItsRateAtBatchOne) {
  // 4 lanes of 8 MACs (adder tree of 3 levels): M=1, K=16, N=8: 2 row groups x 2 K chunks + 3 = 7.
  EXPECT_EQ(gemm_cycles(array(Dataflow::kGemv, 4, 8), {1, 16, 8}), 7u);
  // Edges round up, tokens go one after another: M=3, K=17, N=9: 3 x 3 x 3 + 3 = 30.
  EXPECT_EQ(gemm_cycles(array(Dataflow::kGemv, 4, 8), {3, 17, 9}), 30u);
  // 64 lanes of 256 MACs, 4096 x 4096 at batch 1: 64 x 16 + 8 = 1032 cycles: 16,257 MACs a cycle, within 1% of
  // the 16,384 it has.
  const uint64_t cycles = gemm_cycles(array(Dataflow::kGemv, 64, 256), {1, 4096, 4096});
  EXPECT_EQ(cycles, 1032u);
  EXPECT_NEAR(4096.0 * 4096.0 / static_cast<double>(cycles) / 16384.0, 1.0, 0.01);
}

// A linear's weight tiles continue one product. WS 4x4, double-buffered, M = 5, K = 4, N = 8 in tiles of 2 output
// rows (Sr = 4, T = 5): columns [0, 2) are one fold from start 4: 4 + 5 + 4 + 2 - 2 = 13. [0, 4) widens it:
// 4 + 5 + 4 + 4 - 2 = 15, so the second tile adds 2. [0, 6) opens a second column block starting at 4 + max(5,
// 4) = 9, ending at 9 + 5 + 4 + 2 - 2 = 18 (+3); [0, 8) widens it to 20 (+2). 13 + 2 + 3 + 2 = 20, the whole
// product's cycles, against 4 x 13 = 52 with each tile a product of its own.
TEST(MacDataflow, TilesOfALinearContinueItsFolds) {
  const ArrayShape ws = array(Dataflow::kWeightStationary, 4, 4);
  const uint64_t expected[] = {13, 2, 3, 2};
  for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ(tile_cycles(ws, 5, 4, 2 * i, 2), expected[i]) << "tile " << i;
  EXPECT_EQ(gemm_cycles(ws, {5, 4, 8}), 20u);
  // Any split of the columns sums to the whole product on the arrays that take columns outermost; the
  // input-stationary array and the ideal rate take each tile as its own product.
  for (int d = 0; d < 5; ++d) {
    const ArrayShape a = array(static_cast<Dataflow>(d), 4, 8);
    uint64_t chained = 0, separate = 0;
    for (uint64_t n0 = 0; n0 < 23; n0 += 3) {
      const uint64_t n = std::min<uint64_t>(3, 23 - n0);
      chained += tile_cycles(a, 5, 9, n0, n);
      separate += gemm_cycles(a, {5, 9, n});
    }
    const bool per_tile = a.dataflow == Dataflow::kInputStationary || a.dataflow == Dataflow::kIdeal;
    EXPECT_EQ(chained, per_tile ? separate : gemm_cycles(a, {5, 9, 23})) << dataflow_names()[d];
  }
}

TEST(MacDataflow, EmptyProductsTakeNoCycles) {
  for (size_t d = 0; d < dataflow_names().size(); ++d) {
    const ArrayShape a = array(static_cast<Dataflow>(d), 4, 8);
    EXPECT_EQ(gemm_cycles(a, {0, 4, 4}), 0u);
    EXPECT_EQ(gemm_cycles(a, {4, 0, 4}), 0u);
    EXPECT_EQ(gemm_cycles(a, {4, 4, 0}), 0u);
  }
}

TEST(MacDataflow, NamesRoundTrip) {
  for (size_t d = 0; d < dataflow_names().size(); ++d) {
    EXPECT_EQ(dataflow_of(dataflow_names()[d]), static_cast<Dataflow>(d));
  }
  EXPECT_THROW(dataflow_of("row_stationary"), std::invalid_argument);
}

}  // namespace
}  // namespace npusim::hw

// Cycles of one matrix product on a compute array: systolic arrays in three dataflows, a matrix-vector (GEMV)
// engine, and the ideal rate. Pure functions: no SystemC, no time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace npusim::hw {

enum class Dataflow {
  kIdeal,             // rows x cols MACs every cycle, whatever the shape: an upper bound, no dataflow
  kWeightStationary,  // systolic: weights held in the PEs, activations streamed through
  kOutputStationary,  // systolic: each PE accumulates one output
  kInputStationary,   // systolic: activations held in the PEs, weights streamed through
  kGemv,              // `rows` independent dot-product lanes of `cols` MACs with an adder tree
};
const std::vector<std::string>& dataflow_names();  // as the config spells them, in enum order
Dataflow dataflow_of(const std::string& name);     // std::invalid_argument for an unknown name

// (M x K) x (K x N): M activation rows (tokens), K the reduction, N outputs per row.
struct GemmShape {
  uint64_t m = 0, k = 0, n = 0;
  uint64_t macs() const { return m * k * n; }
};

struct ArrayShape {
  Dataflow dataflow = Dataflow::kIdeal;
  uint64_t rows = 1, cols = 1;
  // Systolic: a shadow copy of the stationary operand in every PE, so the next fold loads (or, output
  // stationary, the last fold drains) while the current one streams.
  bool double_buffered = true;
};

// Cycles for `gemm` on `array`, from the first operand in to the last result out (0 when any dimension is 0).
uint64_t gemm_cycles(const ArrayShape& array, const GemmShape& gemm);

// Cycles of the next `n` output columns of an M x K product whose first `n_before` columns are done: a linear's
// weight tiles (whole output rows each) arrive one after another and continue one product. Weight and output
// stationary arrays and the GEMV engine take the columns outermost (a block of outputs accumulates over its K
// slices, then the next block), so the tiles continue the fold recurrence: the cycles are gemm_cycles over
// n_before + n columns less gemm_cycles over n_before, and a column block split between two tiles costs one fold
// (charged to the tile that opens it, which holds its buffer while it runs). An input-stationary array streams
// every weight column through each fold of held inputs, so each tile reloads the folds: its own product. The
// ideal rate is per tile too (ceil(MACs / PEs) of each tile, as a rate has no folds to continue).
uint64_t tile_cycles(const ArrayShape& array, uint64_t m, uint64_t k, uint64_t n_before, uint64_t n);

}  // namespace npusim::hw

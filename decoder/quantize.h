// Public header of decoder/'s quantizers: any-precision (nested non-uniform) weights as bitplanes and per-row
// centroid tables, the LUT matrix-vector kernel that reads only the planes a precision needs, and the uniform:k
// (per-group scale and zero) baseline. PMPD.md's "Any-precision weights" describes the format.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "decoder/llama.h"

namespace npusim::decoder {

// IEEE half precision, round to nearest even (the tables' storage).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

// The LUT kernel's instruction-set variants. They perform the same operations in the same order (lut_kernel.cc
// says which), so their results are bit-identical; kAuto takes the widest this CPU runs (the fastest in
// decode-bench).
enum class LutIsa { kAuto, kScalar, kAvx2, kAvx512 };
const char* lut_isa_name(LutIsa isa);
// The variants this CPU runs, scalar first and the widest last.
std::vector<LutIsa> supported_lut_isas();

// One linear [rows][cols] quantized the any-precision way. The parent code of a weight has `parent_bits` bits; its
// b-bit code (seed_bits <= b <= parent_bits) is the code's top b bits. Codes are stored as bitplanes, most
// significant first: plane p of row r holds bit (parent_bits - 1 - p) of each weight's code, 32 weights a word.
// Each precision b has its own table of 2^b fp16 centroids per row.
struct AnyPrecLinear {
  int rows = 0, cols = 0, seed_bits = 0, parent_bits = 0;
  std::vector<uint32_t> planes;               // [row][plane][word]
  std::vector<std::vector<uint16_t>> tables;  // [b - seed_bits][row][2^b]

  int words_per_plane() const { return (cols + 31) / 32; }
  // The fp32 weights the b-bit model holds.
  std::vector<float> dequantize(int bits) const;
  // out[r] = sum_c W_b[r][c] x[c], reading only the first b planes of each row and the b-bit table. With
  // `threads` > 1 and a large matrix (over a million weights) the rows are shared among that many threads; each
  // row's sum is the same either way, and on every `isa` (one this CPU cannot run is an error).
  void matvec(const float* x, float* out, int bits, int threads = 1, LutIsa isa = LutIsa::kAuto) const;
  // The bytes a b-bit product reads: b planes and the b-bit table of every row.
  uint64_t bytes_read(int bits) const;
};

// Quantizes `w` ([rows][cols], row-major) per output row: a weighted 1-D k-means to 2^seed_bits centroids, then
// each cluster split in two by weighted 2-means (children 2c and 2c+1) up to parent_bits. `importance` ([cols],
// >= 0) weighs each input column's weights (the calibration's activation second moments); empty means 1.
AnyPrecLinear quantize_anyprec(const float* w, int rows, int cols, const std::vector<float>& importance,
                               int seed_bits, int parent_bits);

// An any-precision linear with random codes and tables (for kernel speed on large shapes, where the values do
// not matter and k-means would take minutes): deterministic for a seed.
AnyPrecLinear random_anyprec(int rows, int cols, int seed_bits, int parent_bits, uint64_t seed);

// uniform:k, the GPTQ/AWQ-style baseline without their error correction: per row, groups of `group` weights along
// cols each get an fp16 scale and an integer zero from their min and max (round to nearest).
struct UniformLinear {
  int rows = 0, cols = 0, bits = 0, group = 0;
  std::vector<uint8_t> codes;    // [row][col], one code per byte
  std::vector<uint16_t> scales;  // [row][group], fp16
  std::vector<uint8_t> zeros;    // [row][group]

  std::vector<float> dequantize() const;
  void matvec(const float* x, float* out) const;
};

UniformLinear quantize_uniform(const float* w, int rows, int cols, int bits, int group);

// A model whose decoder linears are any-precision (seed_bits..parent_bits): the fp32 model keeps its embedding,
// norms and classifier (lm_head stays fp16-class, as in PMPD), its linears are replaced by the quantized ones.
struct QuantizedModel {
  LlamaModel base;  // linears emptied
  int seed_bits = 0, parent_bits = 0;
  std::vector<AnyPrecLinear> linears;  // [layer * kLinearsPerLayer + kind]
  const AnyPrecLinear& linear(int layer, LinearKind kind) const {
    return linears[static_cast<size_t>(layer) * kLinearsPerLayer + static_cast<size_t>(kind)];
  }
};

// Quantizes every decoder linear of `model`; importance[layer * 7 + kind] weighs that linear's input columns
// (empty vectors: equal weights).
QuantizedModel quantize_model(const LlamaModel& model, const std::vector<std::vector<float>>& importance,
                              int seed_bits, int parent_bits);

// Our file format (.npaq): "NPAQ", version 1, the model's shape, seed and parent bits, the fp32 tensors that stay
// fp32, then per linear its shape, bitplanes and per-precision fp16 tables. Saved atomically; loading names the
// file and what is wrong (short, wrong magic or version, inconsistent shapes, trailing bytes).
void save_quantized(const QuantizedModel& model, const std::string& path);
QuantizedModel load_quantized(const std::string& path);

// The quantized linears at `bits` (switchable between positions: a precision schedule).
class AnyPrecLinears : public ILinears {
 public:
  AnyPrecLinears(const QuantizedModel& model, int bits);
  void set_bits(int bits);
  int bits() const { return bits_; }
  void matvec(int layer, LinearKind kind, const float* x, float* out) override;

 private:
  const QuantizedModel& model_;
  int bits_ = 0;
};

// The uniform:k baseline's linears.
class UniformLinears : public ILinears {
 public:
  UniformLinears(const LlamaModel& model, int bits, int group);
  void matvec(int layer, LinearKind kind, const float* x, float* out) override;

 private:
  std::vector<UniformLinear> linears_;
};

}  // namespace npusim::decoder

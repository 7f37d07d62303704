// The quantizers and their kernels: fp16 conversion, any-precision k-means with nesting on a hand-derived row,
// the LUT kernel against dequantize-then-multiply (and reading only the planes it needs), importance weighting,
// and the uniform:k baseline on a hand-derived group.
#include "decoder/quantize.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "common/error.h"
#include "common/files.h"

namespace npusim::decoder {
namespace {

std::vector<float> dense_matvec(const std::vector<float>& w, const std::vector<float>& x, int rows, int cols) {
  std::vector<float> out(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    float acc = 0.0f;  // the same order as the kernels: column by column
    for (int c = 0; c < cols; ++c) acc += w[static_cast<size_t>(r * cols + c)] * x[static_cast<size_t>(c)];
    out[static_cast<size_t>(r)] = acc;
  }
  return out;
}

// The kernel sums in another order than one running sum (64 interleaved ones), so it matches the dequantized
// weights' product up to fp32 rounding: within n x 2^-24 x sum |w x| of the exact (double) dot product, n = cols,
// the standard bound for a sum of n products in any order.
void expect_within_fp32_rounding(const std::vector<float>& out, const std::vector<float>& w,
                                 const std::vector<float>& x, int rows, int cols, const std::string& what) {
  for (int r = 0; r < rows; ++r) {
    double exact = 0, magnitude = 0;
    for (int c = 0; c < cols; ++c) {
      const double p = static_cast<double>(w[static_cast<size_t>(r * cols + c)]) * x[static_cast<size_t>(c)];
      exact += p;
      magnitude += std::fabs(p);
    }
    EXPECT_NEAR(out[static_cast<size_t>(r)], exact, cols * std::ldexp(1.0, -24) * magnitude)
        << what << " row " << r;
  }
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, 0.02f);
  std::vector<float> v(n);
  for (float& x : v) x = d(gen);
  return v;
}

TEST(Half, KnownValuesAndEveryHalfRoundTrips) {
  EXPECT_EQ(float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(float_to_half(-2.0f), 0xC000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFF);  // the largest half
  EXPECT_EQ(float_to_half(70000.0f), 0x7C00);  // beyond it: infinity
  // 1/3 = 0x3555 (0.333251953125) rounded to nearest; 2^-24 is the smallest subnormal.
  EXPECT_EQ(float_to_half(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa, 1.
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
    if (nan) continue;
    ASSERT_EQ(float_to_half(half_to_float(static_cast<uint16_t>(h))), h) << std::hex << h;
  }
}

// One row of 8 weights, seed 1 bit, parent 2 bits, equal importance.
// Seed: 2-means starts at the weighted quartiles (the 2nd and 6th values, -1.9 and 1.1); the midpoint 0.4 splits
// the row into {-2, -1.9, -1, -0.9} and {1, 1.1, 2, 2.1}: centroids -1.45 and 1.55, stable.
// Parent: each cluster split by 2-means: {-2, -1.9} -> -1.95 (code 00), {-1, -0.9} -> -0.95 (01), {1, 1.1} -> 1.05
// (10), {2, 2.1} -> 2.05 (11). The 1-bit code is the top bit of the 2-bit one.
TEST(AnyPrec, NestedClustersOfAHandDerivedRow) {
  const std::vector<float> w = {-2.0f, 1.0f, -1.9f, 2.1f, -1.0f, 1.1f, -0.9f, 2.0f};  // any order
  const AnyPrecLinear q = quantize_anyprec(w.data(), 1, 8, {}, 1, 2);
  const auto h = [](float v) { return half_to_float(float_to_half(v)); };
  EXPECT_EQ(q.dequantize(1), (std::vector<float>{h(-1.45f), h(1.55f), h(-1.45f), h(1.55f), h(-1.45f), h(1.55f),
                                                 h(-1.45f), h(1.55f)}));
  EXPECT_EQ(q.dequantize(2), (std::vector<float>{h(-1.95f), h(1.05f), h(-1.95f), h(2.05f), h(-0.95f), h(1.05f),
                                                 h(-0.95f), h(2.05f)}));
  // Plane 0 (most significant) of the parent codes 00 10 00 11 01 10 01 11 is 0 1 0 1 0 1 0 1: columns 1, 3, 5, 7.
  EXPECT_EQ(q.planes[0], 0b10101010u);
  // Plane 1: 0 0 0 1 1 0 1 1: columns 3, 4, 6, 7.
  EXPECT_EQ(q.planes[1], 0b11011000u);
}

TEST(AnyPrec, LutKernelEqualsDequantizeThenMultiplyAtEveryPrecision) {
  const int rows = 24, cols = 100;  // cols not a multiple of 32: a partial last word
  const std::vector<float> w = random_values(static_cast<size_t>(rows * cols), 1);
  const std::vector<float> x = random_values(static_cast<size_t>(cols), 2);
  const AnyPrecLinear q = quantize_anyprec(w.data(), rows, cols, {}, 2, 4);
  double previous_error = INFINITY;
  for (int b = 2; b <= 4; ++b) {
    const std::vector<float> wb = q.dequantize(b);
    std::vector<float> out(static_cast<size_t>(rows));
    q.matvec(x.data(), out.data(), b);
    expect_within_fp32_rounding(out, wb, x, rows, cols, std::to_string(b) + " bits");
    double error = 0;
    for (size_t i = 0; i < w.size(); ++i) error += (w[i] - wb[i]) * (w[i] - wb[i]);
    EXPECT_LT(error, previous_error) << "more bits, closer weights: " << b;
    previous_error = error;
  }
}

// Bit for bit: == would take -0 for +0.
void expect_same_bits(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
}

// Every instruction-set variant this CPU runs gives the scalar kernel's sums bit for bit, at every precision 1..8
// (each has its own table lookup: one register, two, or a gather), threaded or not, over columns that fill whole
// pairs of plane words (64, 4096), end inside a word (77, 4097), or leave the last pair one word short (20, 96);
// and the scalar one is dequantize-then-multiply to fp32 rounding.
TEST(AnyPrec, EveryKernelVariantEqualsTheScalarOneBitForBit) {
  const std::vector<LutIsa> isas = supported_lut_isas();
  ASSERT_EQ(isas.front(), LutIsa::kScalar);
  std::string compared;
  for (LutIsa isa : isas) compared += std::string(" ") + lut_isa_name(isa);
  std::printf("kernel variants compared on this CPU:%s\n", compared.c_str());
  for (const int cols : {20, 64, 77, 96, 4096, 4097}) {
    const int rows = cols > 1000 ? 300 : 9;  // 300 x 4096: over a million weights, so 2 threads share the rows
    const AnyPrecLinear q = random_anyprec(rows, cols, 1, 8, static_cast<uint64_t>(cols));
    const std::vector<float> x = random_values(static_cast<size_t>(cols), 11);
    for (int bits = 1; bits <= 8; ++bits) {
      const std::string what = std::to_string(bits) + " bits, " + std::to_string(cols) + " columns";
      std::vector<float> scalar(static_cast<size_t>(rows));
      q.matvec(x.data(), scalar.data(), bits, 1, LutIsa::kScalar);
      if (cols < 1000) expect_within_fp32_rounding(scalar, q.dequantize(bits), x, rows, cols, what);
      for (LutIsa isa : isas) {
        for (int threads : {1, 2}) {
          std::vector<float> out(static_cast<size_t>(rows));
          q.matvec(x.data(), out.data(), bits, threads, isa);
          expect_same_bits(out, scalar,
                           std::string(lut_isa_name(isa)) + ", " + std::to_string(threads) + " threads, " + what);
        }
      }
    }
  }
}

// Where sums underflow to -0, the variants still agree to the sign. Centroids of 2^-24 times x = -2^-149 round
// to -0, so sums 0..63 are -0 after columns 0..63. With 96 columns (three plane words) the walk's last pair is one
// word short: its padding columns 96..127 add centroid x +0 to sums 32..63, and -0 + +0 = +0. The tree then adds
// -0 and +0: the row is +0 in every variant. (Before every variant walked whole pairs, AVX-512 alone added the
// padding and the scalar kernel returned -0.)
TEST(AnyPrec, KernelVariantsAgreeOnTheSignOfAZeroSum) {
  const int rows = 2, cols = 96;
  AnyPrecLinear q = random_anyprec(rows, cols, 2, 2, 5);
  for (uint16_t& t : q.tables[0]) t = float_to_half(std::ldexp(1.0f, -24));
  const std::vector<float> x(static_cast<size_t>(cols), -std::ldexp(1.0f, -149));
  std::vector<float> scalar(rows);
  q.matvec(x.data(), scalar.data(), 2, 1, LutIsa::kScalar);
  EXPECT_TRUE(!std::signbit(scalar[0]) && scalar[0] == 0.0f) << scalar[0];
  for (LutIsa isa : supported_lut_isas()) {
    std::vector<float> out(rows);
    q.matvec(x.data(), out.data(), 2, 1, isa);
    expect_same_bits(out, scalar, lut_isa_name(isa));
  }
}

// Shared among threads (a matrix over a million weights), every row's sum is the single thread's, bit for bit.
TEST(AnyPrec, ThreadedKernelEqualsTheSingleThreadedOne) {
  const AnyPrecLinear q = random_anyprec(1100, 1024, 2, 4, 9);
  const std::vector<float> x = random_values(1024, 10);
  for (int bits = 2; bits <= 4; ++bits) {
    std::vector<float> one(1100), four(1100);
    q.matvec(x.data(), one.data(), bits, 1);
    q.matvec(x.data(), four.data(), bits, 4);
    EXPECT_EQ(one, four) << bits;
  }
  // 1100 rows x 32 words x 4 bytes per plane, plus the tables: 2 bits read 2 planes and 4 entries of 2 bytes.
  EXPECT_EQ(q.bytes_read(2), 1100u * (2 * 32 * 4 + 4 * 2));
}

// A b-bit model reads planes 0..b-1 only: scrambling the planes below them changes nothing it computes.
TEST(AnyPrec, ABitModelReadsOnlyItsPlanes) {
  const int rows = 8, cols = 64;
  const std::vector<float> w = random_values(static_cast<size_t>(rows * cols), 3);
  const std::vector<float> x = random_values(static_cast<size_t>(cols), 4);
  const AnyPrecLinear q = quantize_anyprec(w.data(), rows, cols, {}, 2, 4);
  AnyPrecLinear scrambled = q;
  const size_t words = static_cast<size_t>(q.words_per_plane());
  for (int r = 0; r < rows; ++r) {
    for (int p = 2; p < 4; ++p) {
      for (size_t i = 0; i < words; ++i)
        scrambled.planes[(static_cast<size_t>(r) * 4 + static_cast<size_t>(p)) * words + i] ^= 0xA5A5A5A5u;
    }
  }
  std::vector<float> a(static_cast<size_t>(rows)), b(static_cast<size_t>(rows));
  q.matvec(x.data(), a.data(), 2);
  scrambled.matvec(x.data(), b.data(), 2);
  EXPECT_EQ(a, b);
  EXPECT_EQ(q.dequantize(2), scrambled.dequantize(2));
  EXPECT_NE(q.dequantize(4), scrambled.dequantize(4));
}

// Values 0..5, two centroids. Unweighted: {0, 1, 2} and {3, 4, 5}, centroids 1 and 4. With column 2 (value 2)
// weighing 1000: the lower centroid moves to (0 + 1 + 2000) / 1002 = 1.997.
TEST(AnyPrec, ImportanceDrawsCentroidsToTheWeightsThatMatter) {
  const std::vector<float> w = {0, 1, 2, 3, 4, 5};
  const AnyPrecLinear plain = quantize_anyprec(w.data(), 1, 6, {}, 1, 1);
  EXPECT_FLOAT_EQ(plain.dequantize(1)[2], 1.0f);
  const AnyPrecLinear weighted = quantize_anyprec(w.data(), 1, 6, {1, 1, 1000, 1, 1, 1}, 1, 1);
  EXPECT_NEAR(weighted.dequantize(1)[2], 2001.0 / 1002.0, 2e-3);  // fp16 spacing near 2 is 2^-9
}

// One group of 4 at 2 bits: min -1, max 2, so scale (2 - -1) / 3 = 1 and zero round(1 / 1) = 1; codes round(w /
// scale) + zero = 0, 1, 2 (0.5 rounds away from zero), 3; dequantized (code - zero) x scale = -1, 0, 1, 2.
TEST(Uniform, HandDerivedGroup) {
  const std::vector<float> w = {-1.0f, 0.0f, 0.5f, 2.0f};
  const UniformLinear q = quantize_uniform(w.data(), 1, 4, 2, 4);
  EXPECT_EQ(q.codes, (std::vector<uint8_t>{0, 1, 2, 3}));
  EXPECT_EQ(q.zeros[0], 1);
  EXPECT_EQ(half_to_float(q.scales[0]), 1.0f);
  EXPECT_EQ(q.dequantize(), (std::vector<float>{-1.0f, 0.0f, 1.0f, 2.0f}));
}

TEST(Uniform, KernelEqualsDequantizeThenMultiply) {
  const int rows = 16, cols = 96;
  const std::vector<float> w = random_values(static_cast<size_t>(rows * cols), 5);
  const std::vector<float> x = random_values(static_cast<size_t>(cols), 6);
  for (int bits : {2, 3, 4, 8}) {
    const UniformLinear q = quantize_uniform(w.data(), rows, cols, bits, 32);
    std::vector<float> out(static_cast<size_t>(rows));
    q.matvec(x.data(), out.data());
    EXPECT_EQ(out, dense_matvec(q.dequantize(), x, rows, cols)) << bits;
  }
}

// A 78-byte .npaq whose header asks for 16384-wide tensors (once a 34 GB allocation): refused before allocating,
// with the file named.
TEST(AnyPrec, AModelFileTooShortForItsHeaderIsRefusedBeforeAllocating) {
  const std::string f = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/npusim_huge_" +
                        std::to_string(::getpid()) + ".npaq";
  std::string bytes("NPAQ", 4);
  const uint32_t version = 1;
  bytes.append(reinterpret_cast<const char*>(&version), 4);
  const int32_t shape[7] = {16384, 16384, 1, 128, 128, 16384, 4096};
  bytes.append(reinterpret_cast<const char*>(shape), sizeof shape);
  bytes.push_back('\1');  // shared classifier
  const int32_t bits[2] = {2, 4};
  bytes.append(reinterpret_cast<const char*>(bits), sizeof bits);
  bytes.resize(78, '\0');
  write_file_atomic(f, bytes);
  try {
    load_quantized(f);
    ADD_FAILURE() << "a 78-byte .npaq loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ends at byte 78 inside rms_att (16384 x 4 bytes needed"),
              std::string::npos)
        << e.what();
  }
  std::remove(f.c_str());
}

}  // namespace
}  // namespace npusim::decoder

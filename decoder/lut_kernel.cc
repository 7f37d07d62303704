// The any-precision LUT matrix-vector kernel (AnyPrecLinear::matvec) and its instruction-set variants.
//
// Every variant performs the same floating-point operations in the same order, so they agree bit for bit and a
// decode produces the same tokens on any machine. Every variant walks whole pairs of plane words: the input is
// padded with zeros past cols, and a missing last word of a pair reads as zeros. Each row keeps 64 running sums;
// sum j takes the columns c = j (mod 64) in column order, each step one fused multiply-add of the weight's
// centroid and x[c]. A fixed pairwise tree then adds the 64 sums. So a padding column adds centroid x 0 in every
// variant alike (tables are finite: the quantizer clamps to fp16's range and .npaq loading refuses inf and NaN).
// This file is built with -ffp-contract=off: only the written fused multiply-adds fuse.
//
// Why 64 sums: two plane words hold 64 columns, which AVX-512 turns into one vector of 64 byte codes and four
// 16-wide accumulators (AVX2: eight 8-wide ones) with no cross-lane work; the many add chains overlap.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "common/error.h"
#include "decoder/quantize.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NPUSIM_LUT_X86 1
#endif

namespace npusim::decoder {

namespace {

constexpr int kSums = 64;  // running sums per row: one per column position of two plane words
constexpr size_t kWordColumns = 32;

using RowsKernel = void (*)(const AnyPrecLinear& q, const float* x_padded, float* out, int first_row, int end_row);

float add_sums(float* sums) {
  for (int n = kSums / 2; n >= 1; n /= 2) {
    for (int i = 0; i < n; ++i) sums[i] += sums[i + n];
  }
  return sums[0];
}

const uint32_t* row_planes(const AnyPrecLinear& q, int row) {
  return q.planes.data() +
         static_cast<size_t>(row) * static_cast<size_t>(q.parent_bits) * static_cast<size_t>(q.words_per_plane());
}

const uint16_t* row_table(const AnyPrecLinear& q, int bits, int row) {
  return q.tables[static_cast<size_t>(bits - q.seed_bits)].data() + (static_cast<size_t>(row) << bits);
}

// spread[v]: the 8 bits of byte v, bit i moved to the lowest bit of byte i. OR-ing spread[plane byte] << (b-1-p)
// over the b planes assembles 8 columns' codes at once, one code per byte (codes fit a byte: b <= 8).
const std::array<uint64_t, 256>& spread_table() {
  static const std::array<uint64_t, 256> table = [] {
    std::array<uint64_t, 256> t{};
    for (int v = 0; v < 256; ++v) {
      for (int i = 0; i < 8; ++i) t[static_cast<size_t>(v)] |= static_cast<uint64_t>((v >> i) & 1) << (8 * i);
    }
    return t;
  }();
  return table;
}

// Word wi of a row's plane; the word past an odd count (the rest of the last pair) reads as zeros.
inline uint32_t plane_word(const uint32_t* plane, size_t wi, size_t words) {
  return wi < words ? plane[wi] : 0;
}

// Plane words rounded up to whole pairs: what every variant walks.
inline size_t paired_words(size_t words) {
  return (words + 1) & ~size_t{1};
}

template <int B>
void rows_scalar(const AnyPrecLinear& q, const float* x, float* out, int first_row, int end_row) {
  const size_t words = static_cast<size_t>(q.words_per_plane());
  const std::array<uint64_t, 256>& spread = spread_table();
  float lut[1 << B];
  for (int r = first_row; r < end_row; ++r) {
    const uint16_t* table = row_table(q, B, r);
    for (int j = 0; j < (1 << B); ++j) lut[j] = half_to_float(table[j]);
    const uint32_t* row = row_planes(q, r);
    float sums[kSums] = {};
    for (size_t wi = 0; wi < paired_words(words); ++wi) {
      const float* xw = x + wi * kWordColumns;
      uint32_t plane[B];
      for (int p = 0; p < B; ++p) plane[p] = plane_word(row + static_cast<size_t>(p) * words, wi, words);
      for (int k = 0; k < 4; ++k) {
        uint64_t codes = 0;
        for (int p = 0; p < B; ++p) {
          codes |= spread[(plane[p] >> (8 * k)) & 0xffu] << (B - 1 - p);
        }
        for (int i = 0; i < 8; ++i) {
          const size_t c = 8 * static_cast<size_t>(k) + static_cast<size_t>(i);
          float& sum = sums[(wi % 2) * kWordColumns + c];
          sum = std::fma(lut[(codes >> (8 * i)) & 0xffu], xw[c], sum);
        }
      }
    }
    out[r] = add_sums(sums);
  }
}

#ifdef NPUSIM_LUT_X86

constexpr int kPrefetchRows = 2;  // how far ahead the SIMD kernels prefetch

// Asks for the planes a later row will read, so that memory works while this row computes: the hardware
// prefetchers follow one stream well, not the b short ones a row reads (with gaps where planes are skipped).
template <int B>
inline void prefetch_row(const AnyPrecLinear& q, int row, int end_row) {
  if (row >= end_row) return;
  const uintptr_t plane_bytes = static_cast<uintptr_t>(q.words_per_plane()) * sizeof(uint32_t);
  const uintptr_t planes = reinterpret_cast<uintptr_t>(row_planes(q, row));
  for (int p = 0; p < B; ++p) {
    const uintptr_t begin = planes + static_cast<uintptr_t>(p) * plane_bytes, end = begin + plane_bytes;
    for (uintptr_t line = begin & ~uintptr_t{63}; line < end; line += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(line), _MM_HINT_T0);
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), a deliberate self-initialisation that its
// maybe-uninitialized analysis flags inside every caller.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// The 64 columns of plane words wi and wi + 1 (one word past the row's end reads as zeros).
inline uint64_t plane_pair(const uint32_t* plane, size_t wi, size_t words) {
  if (wi + 1 == words) return plane[wi];
  uint64_t pair;  // x86 is little-endian: word wi is the low half
  std::memcpy(&pair, plane + wi, sizeof pair);
  return pair;
}

// Within every 64 columns, x[16k + i] becomes x[4i + k]: the column that lane i of the k-th lookup holds.
void interleave_for_avx512(std::vector<float>* padded) {
  std::vector<float>& x = *padded;
  float block[kSums];
  for (size_t base = 0; base < x.size(); base += kSums) {
    for (size_t k = 0; k < 4; ++k) {
      for (size_t i = 0; i < 16; ++i) block[16 * k + i] = x[base + 4 * i + k];
    }
    std::copy(block, block + kSums, x.begin() + static_cast<std::ptrdiff_t>(base));
  }
}

// AVX-512 (F and BW): two plane words are the 64-bit lane mask of one vector of 64 byte codes; one masked byte
// add per plane sets that plane's bit. Its dwords, shifted, index the table four times; the input comes
// interleaved to match (see interleave_for_avx512). Up to 4 bits the table fits one register (a permute looks it
// up), 5 bits two, beyond that a gather reads it from memory.
template <int B>
__attribute__((target("avx512f,avx512bw"), always_inline)) inline __m512 lookup_avx512(__m512i codes,
                                                                                       __m512 lut_low,
                                                                                       __m512 lut_high,
                                                                                       const float* lut) {
  if constexpr (B <= 4) return _mm512_permutexvar_ps(codes, lut_low);
  if constexpr (B == 5) return _mm512_permutex2var_ps(lut_low, codes, lut_high);
  return _mm512_i32gather_ps(codes, lut, 4);
}

template <int B>
__attribute__((target("avx512f,avx512bw"))) void rows_avx512(const AnyPrecLinear& q, const float* x, float* out,
                                                             int first_row, int end_row) {
  const size_t words = static_cast<size_t>(q.words_per_plane());
  __m512i plane_bit[B];
  for (int p = 0; p < B; ++p) plane_bit[p] = _mm512_set1_epi8(static_cast<char>(1 << (B - 1 - p)));
  alignas(64) float lut[1 << (B < 4 ? 4 : B)];
  for (int r = first_row; r < end_row; ++r) {
    const uint16_t* table = row_table(q, B, r);
    __m512 lut_low, lut_high = _mm512_setzero_ps();
    if constexpr (B <= 4) {
      uint16_t halves[16] = {};
      std::memcpy(halves, table, sizeof(uint16_t) << B);
      lut_low = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(halves)));
    } else {
      for (int j = 0; j < (1 << B); j += 16) {
        _mm512_store_ps(lut + j, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + j))));
      }
      lut_low = _mm512_load_ps(lut);
      lut_high = _mm512_load_ps(lut + 16);
    }
    const uint32_t* row = row_planes(q, r);
    prefetch_row<B>(q, r + kPrefetchRows, end_row);
    __m512 sums[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (size_t wi = 0; wi < words; wi += 2) {
      __m512i codes = _mm512_setzero_si512();
      for (int p = 0; p < B; ++p) {
        const __mmask64 set = _cvtu64_mask64(plane_pair(row + static_cast<size_t>(p) * words, wi, words));
        codes = _mm512_mask_add_epi8(codes, set, codes, plane_bit[p]);
      }
      // Dword lane i of `codes` holds the byte codes of columns 4i .. 4i + 3; shifted right by 8k it indexes
      // column 4i + k (a permute reads only an index's low bits; a gather needs them masked).
      const float* xb = x + wi * kWordColumns;
      for (int k = 0; k < 4; ++k) {
        __m512i index = k == 0 ? codes : _mm512_srli_epi32(codes, static_cast<unsigned>(8 * k));
        if constexpr (B > 5) index = _mm512_and_si512(index, _mm512_set1_epi32(0xff));
        sums[k] = _mm512_fmadd_ps(lookup_avx512<B>(index, lut_low, lut_high, lut), _mm512_loadu_ps(xb + 16 * k),
                                  sums[k]);
      }
    }
    // sums[k] lane i holds the running sum of the columns 4i + k (mod 64).
    alignas(64) float by_k[4][16];
    for (int k = 0; k < 4; ++k) _mm512_store_ps(by_k[k], sums[k]);
    float all[kSums];
    for (int i = 0; i < 16; ++i) {
      for (int k = 0; k < 4; ++k) all[4 * i + k] = by_k[k][i];
    }
    out[r] = add_sums(all);
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// AVX2: a plane word is broadcast, each of its 32 bits tested in its own byte (byte j holds column j's code),
// then the 32 byte codes widen to four 8-wide index vectors. Up to 3 bits the table fits one register, 4 bits two
// (a blend on the code's top bit), beyond that a gather.
template <int B>
__attribute__((target("avx2,fma"), always_inline)) inline __m256 lookup_avx2(__m256i codes, __m256 lut_low,
                                                                             __m256 lut_high, const float* lut) {
  if constexpr (B <= 3) return _mm256_permutevar8x32_ps(lut_low, codes);
  if constexpr (B == 4) {
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lut_low, codes), _mm256_permutevar8x32_ps(lut_high, codes),
                            _mm256_castsi256_ps(_mm256_slli_epi32(codes, 28)));
  }
  return _mm256_i32gather_ps(lut, codes, 4);
}

template <int B>
__attribute__((target("avx2,fma"))) void rows_avx2(const AnyPrecLinear& q, const float* x, float* out,
                                                   int first_row, int end_row) {
  const size_t words = static_cast<size_t>(q.words_per_plane());
  const __m256i byte_of_column = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2,
                                                  2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit_of_column = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  __m256i plane_bit[B];
  for (int p = 0; p < B; ++p) plane_bit[p] = _mm256_set1_epi8(static_cast<char>(1 << (B - 1 - p)));
  alignas(32) float lut[1 << (B < 4 ? 4 : B)] = {};
  for (int r = first_row; r < end_row; ++r) {
    const uint16_t* table = row_table(q, B, r);
    for (int j = 0; j < (1 << B); ++j) lut[j] = half_to_float(table[j]);
    const __m256 lut_low = _mm256_load_ps(lut), lut_high = _mm256_load_ps(lut + 8);
    const uint32_t* row = row_planes(q, r);
    prefetch_row<B>(q, r + kPrefetchRows, end_row);
    __m256 sums[8];  // sums[4 * (wi % 2) + k]: columns 64 n + 32 (wi % 2) + 8 k + lane
    for (__m256& sum : sums) sum = _mm256_setzero_ps();
    for (size_t wi = 0; wi < paired_words(words); ++wi) {
      __m256i codes = _mm256_setzero_si256();
      for (int p = 0; p < B; ++p) {
        const __m256i bytes = _mm256_shuffle_epi8(
            _mm256_set1_epi32(static_cast<int>(plane_word(row + static_cast<size_t>(p) * words, wi, words))),
            byte_of_column);
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit_of_column), bit_of_column);
        codes = _mm256_or_si256(codes, _mm256_and_si256(set, plane_bit[p]));
      }
      const __m128i low = _mm256_castsi256_si128(codes), high = _mm256_extracti128_si256(codes, 1);
      const __m256i index[4] = {_mm256_cvtepu8_epi32(low), _mm256_cvtepu8_epi32(_mm_srli_si128(low, 8)),
                                _mm256_cvtepu8_epi32(high), _mm256_cvtepu8_epi32(_mm_srli_si128(high, 8))};
      const float* xw = x + wi * kWordColumns;
      __m256* word_sums = sums + 4 * (wi % 2);
      for (int k = 0; k < 4; ++k) {
        word_sums[k] = _mm256_fmadd_ps(lookup_avx2<B>(index[k], lut_low, lut_high, lut),
                                       _mm256_loadu_ps(xw + 8 * k), word_sums[k]);
      }
    }
    float all[kSums];
    for (int k = 0; k < 8; ++k) _mm256_storeu_ps(all + 8 * k, sums[k]);
    out[r] = add_sums(all);
  }
}

#endif  // NPUSIM_LUT_X86

template <template <int> class Kernel>
struct ByBits {
  static constexpr RowsKernel kernels[8] = {Kernel<1>::run, Kernel<2>::run, Kernel<3>::run, Kernel<4>::run,
                                            Kernel<5>::run, Kernel<6>::run, Kernel<7>::run, Kernel<8>::run};
};

template <int B>
struct Scalar {
  static constexpr RowsKernel run = rows_scalar<B>;
};
#ifdef NPUSIM_LUT_X86
template <int B>
struct Avx2 {
  static constexpr RowsKernel run = rows_avx2<B>;
};
template <int B>
struct Avx512 {
  static constexpr RowsKernel run = rows_avx512<B>;
};
#endif

RowsKernel rows_kernel(LutIsa isa, int bits) {
  const size_t i = static_cast<size_t>(bits - 1);
  switch (isa) {
#ifdef NPUSIM_LUT_X86
    case LutIsa::kAvx512:
      return ByBits<Avx512>::kernels[i];
    case LutIsa::kAvx2:
      return ByBits<Avx2>::kernels[i];
#endif
    default:
      return ByBits<Scalar>::kernels[i];
  }
}

bool cpu_runs(LutIsa isa) {
#ifdef NPUSIM_LUT_X86
  __builtin_cpu_init();  // a no-op once done; needed only if this runs during static initialisation
#endif
  switch (isa) {
    case LutIsa::kScalar:
      return true;
#ifdef NPUSIM_LUT_X86
    case LutIsa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case LutIsa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
    default:
      return false;
  }
}

}  // namespace

const char* lut_isa_name(LutIsa isa) {
  switch (isa) {
    case LutIsa::kAuto:
      return "auto";
    case LutIsa::kScalar:
      return "scalar";
    case LutIsa::kAvx2:
      return "avx2";
    case LutIsa::kAvx512:
      return "avx512";
  }
  return "?";
}

std::vector<LutIsa> supported_lut_isas() {
  std::vector<LutIsa> isas;
  for (LutIsa isa : {LutIsa::kScalar, LutIsa::kAvx2, LutIsa::kAvx512}) {
    if (cpu_runs(isa)) isas.push_back(isa);
  }
  return isas;
}

void AnyPrecLinear::matvec(const float* x, float* out, int bits, int threads, LutIsa isa) const {
  if (bits < seed_bits || bits > parent_bits || bits < 1 || bits > 8) {
    throw InputError("anyprec: no " + std::to_string(bits) + "-bit model");
  }
  static const LutIsa widest = supported_lut_isas().back();
  if (isa == LutIsa::kAuto) isa = widest;
  if (!cpu_runs(isa))
    throw InputError(std::string("anyprec: this CPU cannot run the ") + lut_isa_name(isa) + " kernel");
  const RowsKernel kernel = rows_kernel(isa, bits);
  // The input padded to whole pairs of plane words, so that no variant needs a partial-block path.
  thread_local std::vector<float> padded;
  padded.assign((static_cast<size_t>(words_per_plane()) + 1) / 2 * kSums, 0.0f);
  if (cols > 0) std::memcpy(padded.data(), x, sizeof(float) * static_cast<size_t>(cols));
#ifdef NPUSIM_LUT_X86
  if (isa == LutIsa::kAvx512) interleave_for_avx512(&padded);
#endif
  const float* x_padded = padded.data();  // the caller's buffer: a worker's own thread_local would be empty
  if (threads > 1 && static_cast<int64_t>(rows) * cols > (int64_t{1} << 20)) {
    // Rows in contiguous blocks, one per thread (each row's sum is unchanged).
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      const int from = static_cast<int>(static_cast<int64_t>(rows) * t / threads);
      const int to = static_cast<int>(static_cast<int64_t>(rows) * (t + 1) / threads);
      pool.emplace_back([this, kernel, x_padded, out, from, to] { kernel(*this, x_padded, out, from, to); });
    }
    for (std::thread& t : pool) t.join();
    return;
  }
  kernel(*this, x_padded, out, 0, rows);
}

}  // namespace npusim::decoder

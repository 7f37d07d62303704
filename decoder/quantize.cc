// Any-precision (nested k-means) and uniform:k quantization, and their matrix-vector kernels.
#include "decoder/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>

#include "common/error.h"

namespace npusim::decoder {

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const int32_t exponent = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff)
    return static_cast<uint16_t>(sign | 0x7c00u | (mantissa ? 0x200u : 0));  // inf/nan
  if (exponent >= 31) return static_cast<uint16_t>(sign | 0x7c00u);          // overflow: infinity
  if (exponent <= 0) {
    if (exponent < -10) return static_cast<uint16_t>(sign);  // underflow: zero
    // Subnormal: shift the implicit bit in, round to nearest even.
    mantissa |= 0x800000u;
    const int shift = 14 - exponent;
    uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1), midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exponent) << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1))) ++half;  // may carry into the exponent: still right
  return static_cast<uint16_t>(half);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t x;
  if (exponent == 0x1f) {
    x = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      x = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400u) == 0);
      x = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else {
    x = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}

namespace {

struct Member {
  float value;
  double weight;
  int column;
};

// Weighted 1-D k-means of `members` (sorted by value) into k clusters: centroids start at the weighted quantiles
// (j + 1/2) / k (distinct ones); Lloyd iterations (in 1-D an assignment is a split of the sorted values at the
// midpoints between neighbouring centroids) until nothing moves. Returns the centroids (ascending) and each
// member's cluster.
std::vector<double> kmeans_1d(const std::vector<Member>& members, int k, std::vector<int>* cluster) {
  const size_t n = members.size();
  double total = 0;
  for (const Member& m : members) total += m.weight;
  std::vector<double> centroids(static_cast<size_t>(k));
  {
    double cumulative = 0;
    size_t i = 0;
    for (int j = 0; j < k; ++j) {
      const double target = (j + 0.5) / k * total;
      while (i + 1 < n && cumulative + members[i].weight < target) cumulative += members[i++].weight;
      centroids[static_cast<size_t>(j)] = members[i].value;
    }
    // A heavy weight can put several quantiles on one value: start those centroids at the next distinct values up,
    // so that no two start together (they would never separate).
    for (size_t j = 1; j < centroids.size(); ++j) {
      if (centroids[j] > centroids[j - 1]) continue;
      for (const Member& m : members) {
        if (m.value > centroids[j - 1]) {
          centroids[j] = m.value;
          break;
        }
      }
    }
  }
  cluster->assign(n, 0);
  for (int iteration = 0; iteration < 100; ++iteration) {
    bool moved = false;
    size_t c = 0;
    for (size_t i = 0; i < n; ++i) {
      while (c + 1 < centroids.size() &&
             std::fabs(members[i].value - centroids[c + 1]) < std::fabs(members[i].value - centroids[c])) {
        ++c;
      }
      moved = moved || (*cluster)[i] != static_cast<int>(c);
      (*cluster)[i] = static_cast<int>(c);
    }
    std::vector<double> sum(centroids.size(), 0), weight(centroids.size(), 0);
    for (size_t i = 0; i < n; ++i) {
      sum[static_cast<size_t>((*cluster)[i])] += members[i].weight * members[i].value;
      weight[static_cast<size_t>((*cluster)[i])] += members[i].weight;
    }
    for (size_t j = 0; j < centroids.size(); ++j) {
      if (weight[j] > 0) centroids[j] = sum[j] / weight[j];  // an empty cluster keeps its centroid
    }
    if (!moved && iteration > 0) break;
  }
  return centroids;
}

}  // namespace

AnyPrecLinear quantize_anyprec(const float* w, int rows, int cols, const std::vector<float>& importance,
                               int seed_bits, int parent_bits) {
  if (seed_bits < 1 || parent_bits < seed_bits || parent_bits > 8) {
    throw InputError("anyprec: expected 1 <= seed bits <= parent bits <= 8, got seed " +
                     std::to_string(seed_bits) + " and parent " + std::to_string(parent_bits));
  }
  if (!importance.empty() && static_cast<int>(importance.size()) != cols) {
    throw InputError("anyprec: " + std::to_string(importance.size()) + " importance weights for " +
                     std::to_string(cols) + " columns");
  }
  AnyPrecLinear q;
  q.rows = rows;
  q.cols = cols;
  q.seed_bits = seed_bits;
  q.parent_bits = parent_bits;
  const size_t words = static_cast<size_t>(q.words_per_plane());
  q.planes.assign(static_cast<size_t>(rows) * static_cast<size_t>(parent_bits) * words, 0);
  for (int b = seed_bits; b <= parent_bits; ++b) {
    q.tables.emplace_back(static_cast<size_t>(rows) << b, 0);
  }
  // A column nobody weighs still counts a little, so that every weight has a centroid near it.
  double mean_importance = 0;
  for (float v : importance) mean_importance += v;
  mean_importance = importance.empty() ? 1.0 : std::max(mean_importance / cols, 1e-30);
  for (int r = 0; r < rows; ++r) {
    std::vector<Member> members(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      const double imp =
          importance.empty() ? 1.0 : std::max<double>(importance[static_cast<size_t>(c)], 1e-6 * mean_importance);
      members[static_cast<size_t>(c)] = {
          w[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)], imp, c};
    }
    std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
      return a.value < b.value || (a.value == b.value && a.column < b.column);
    });
    std::vector<int> code;
    std::vector<double> centroids = kmeans_1d(members, 1 << seed_bits, &code);
    const auto store = [&](int b, const std::vector<double>& c) {
      std::vector<uint16_t>& table = q.tables[static_cast<size_t>(b - seed_bits)];
      for (size_t j = 0; j < c.size(); ++j)
        // Clamped to fp16's largest finite value: an infinite centroid would poison the kernels' padding columns.
        table[(static_cast<size_t>(r) << b) + j] =
            float_to_half(static_cast<float>(std::clamp(c[j], -65504.0, 65504.0)));
    };
    store(seed_bits, centroids);
    for (int b = seed_bits; b < parent_bits; ++b) {
      // Split every cluster in two; children of c are 2c (the lower) and 2c + 1.
      std::vector<double> children(centroids.size() * 2);
      std::vector<int> next(code.size());
      for (size_t c = 0; c < centroids.size(); ++c) {
        std::vector<Member> part;
        std::vector<size_t> where;
        for (size_t i = 0; i < members.size(); ++i) {
          if (code[i] == static_cast<int>(c)) {
            part.push_back(members[i]);
            where.push_back(i);
          }
        }
        children[2 * c] = children[2 * c + 1] = centroids[c];
        if (part.empty()) continue;
        std::vector<int> half;
        const std::vector<double> two = part.front().value == part.back().value
                                            ? std::vector<double>{centroids[c], centroids[c]}
                                            : kmeans_1d(part, 2, &half);
        if (half.empty()) half.assign(part.size(), 0);
        children[2 * c] = two[0];
        children[2 * c + 1] = two[1];
        for (size_t i = 0; i < part.size(); ++i) next[where[i]] = static_cast<int>(2 * c) + half[i];
      }
      centroids = std::move(children);
      code = std::move(next);
      store(b + 1, centroids);
    }
    // Bitplanes, most significant first.
    for (size_t i = 0; i < members.size(); ++i) {
      const size_t col = static_cast<size_t>(members[i].column);
      for (int p = 0; p < parent_bits; ++p) {
        if ((code[i] >> (parent_bits - 1 - p)) & 1) {
          q.planes[(static_cast<size_t>(r) * static_cast<size_t>(parent_bits) + static_cast<size_t>(p)) * words +
                   col / 32] |= 1u << (col % 32);
        }
      }
    }
  }
  return q;
}

std::vector<float> AnyPrecLinear::dequantize(int bits) const {
  if (bits < seed_bits || bits > parent_bits)
    throw InputError("anyprec: no " + std::to_string(bits) + "-bit model");
  std::vector<float> w(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  const size_t words = static_cast<size_t>(words_per_plane());
  const std::vector<uint16_t>& table = tables[static_cast<size_t>(bits - seed_bits)];
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      int code = 0;
      for (int p = 0; p < bits; ++p) {
        const uint32_t word =
            planes[(static_cast<size_t>(r) * static_cast<size_t>(parent_bits) + static_cast<size_t>(p)) * words +
                   static_cast<size_t>(c) / 32];
        code = (code << 1) | static_cast<int>((word >> (c % 32)) & 1u);
      }
      w[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)] =
          half_to_float(table[(static_cast<size_t>(r) << bits) + static_cast<size_t>(code)]);
    }
  }
  return w;
}

uint64_t AnyPrecLinear::bytes_read(int bits) const {
  return static_cast<uint64_t>(rows) *
         (static_cast<uint64_t>(bits) * static_cast<uint64_t>(words_per_plane()) * 4 + (uint64_t{2} << bits));
}

AnyPrecLinear random_anyprec(int rows, int cols, int seed_bits, int parent_bits, uint64_t seed) {
  AnyPrecLinear q;
  q.rows = rows;
  q.cols = cols;
  q.seed_bits = seed_bits;
  q.parent_bits = parent_bits;
  std::mt19937_64 gen(seed);
  q.planes.resize(static_cast<size_t>(rows) * static_cast<size_t>(parent_bits) *
                  static_cast<size_t>(q.words_per_plane()));
  for (uint32_t& w : q.planes) w = static_cast<uint32_t>(gen());
  std::normal_distribution<float> value(0.0f, 0.02f);
  for (int b = seed_bits; b <= parent_bits; ++b) {
    q.tables.emplace_back(static_cast<size_t>(rows) << b);
    for (uint16_t& t : q.tables.back()) t = float_to_half(value(gen));
  }
  return q;
}

UniformLinear quantize_uniform(const float* w, int rows, int cols, int bits, int group) {
  if (bits < 1 || bits > 8 || group < 1) {
    throw InputError("uniform: expected 1..8 bits and a group of at least 1 weight");
  }
  UniformLinear q;
  q.rows = rows;
  q.cols = cols;
  q.bits = bits;
  q.group = group;
  const int groups = (cols + group - 1) / group;
  const int top = (1 << bits) - 1;
  q.codes.resize(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  q.scales.resize(static_cast<size_t>(rows) * static_cast<size_t>(groups));
  q.zeros.resize(q.scales.size());
  for (int r = 0; r < rows; ++r) {
    for (int g = 0; g < groups; ++g) {
      const int from = g * group, to = std::min(cols, from + group);
      const float* row = w + static_cast<size_t>(r) * static_cast<size_t>(cols);
      const float lo = std::min(0.0f, *std::min_element(row + from, row + to));
      const float hi = std::max(0.0f, *std::max_element(row + from, row + to));
      const uint16_t scale_h = float_to_half(hi > lo ? (hi - lo) / static_cast<float>(top) : 1.0f);
      const float scale = half_to_float(scale_h);
      const int zero = std::clamp(static_cast<int>(std::lround(-lo / scale)), 0, top);
      const size_t gi = static_cast<size_t>(r) * static_cast<size_t>(groups) + static_cast<size_t>(g);
      q.scales[gi] = scale_h;
      q.zeros[gi] = static_cast<uint8_t>(zero);
      for (int c = from; c < to; ++c) {
        const int code = std::clamp(static_cast<int>(std::lround(row[c] / scale)) + zero, 0, top);
        q.codes[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)] =
            static_cast<uint8_t>(code);
      }
    }
  }
  return q;
}

std::vector<float> UniformLinear::dequantize() const {
  std::vector<float> w(codes.size());
  const int groups = (cols + group - 1) / group;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const size_t gi = static_cast<size_t>(r) * static_cast<size_t>(groups) + static_cast<size_t>(c / group);
      const size_t i = static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c);
      w[i] =
          static_cast<float>(static_cast<int>(codes[i]) - static_cast<int>(zeros[gi])) * half_to_float(scales[gi]);
    }
  }
  return w;
}

void UniformLinear::matvec(const float* x, float* out) const {
  const int groups = (cols + group - 1) / group;
  for (int r = 0; r < rows; ++r) {
    float acc = 0.0f;
    for (int g = 0; g < groups; ++g) {
      const size_t gi = static_cast<size_t>(r) * static_cast<size_t>(groups) + static_cast<size_t>(g);
      const float scale = half_to_float(scales[gi]);
      const int zero = zeros[gi];
      for (int c = g * group; c < std::min(cols, (g + 1) * group); ++c) {
        const float wv =
            static_cast<float>(
                static_cast<int>(
                    codes[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)]) -
                zero) *
            scale;
        acc += wv * x[c];
      }
    }
    out[r] = acc;
  }
}

}  // namespace npusim::decoder

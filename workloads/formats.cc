// Precision formats of a linear layer's weights: parsing, canonical names and the bytes a K x N layer streams.
#include <cctype>

#include "common/error.h"
#include "workloads/workloads.h"

namespace npusim::workloads {
namespace {

// Quantized widths we model. 8 is the widest integer code any-precision or GPTQ-style kernels use; wider than that
// one would store fp16.
constexpr int kMinQuantBits = 1;
constexpr int kMaxQuantBits = 8;
// Any group size up to this many weights along K (larger than any real K, so "one group per row" fits).
constexpr int kMaxGroupSize = 1 << 20;
constexpr int kDefaultGroupSize = 128;
// PMPD's nested models have seed 2 and parent 4 bits (PMPD.md); a wider request raises the parent to its width.
constexpr int kDefaultParentBits = 4;
// Bytes per fp16 value, and per (scale, zero) pair of a uniform group.
constexpr uint64_t kFp16Bytes = 2;
constexpr uint64_t kGroupScaleZeroBytes = 2 * kFp16Bytes;

const char* const kExpectedForms =
    "expected fp16, uniform:K, uniform:K:gG or anyprec:K[:pP], with K and P in 1..8 bits and G >= 1 weights";

int default_parent_bits(int bits) {
  return bits > kDefaultParentBits ? bits : kDefaultParentBits;
}

[[noreturn]] void bad(const std::string& what, const std::string& text, const std::string& why) {
  throw InputError(what + ": '" + text + "': " + why + " (" + kExpectedForms + ")");
}

// Strict decimal: digits only, no sign, no spaces, at most 7 digits (anything longer is out of every range).
bool parse_count(const std::string& s, int* out) {
  if (s.empty() || s.size() > 7) return false;
  int v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

void check_bits(const std::string& what, const std::string& text, const char* field, int bits) {
  if (bits < kMinQuantBits || bits > kMaxQuantBits) {
    bad(what, text,
        std::string(field) + " " + std::to_string(bits) + " is out of range [" + std::to_string(kMinQuantBits) +
            ", " + std::to_string(kMaxQuantBits) + "]");
  }
}

void check_uniform(const std::string& what, const std::string& text, int bits, int group_size) {
  check_bits(what, text, "bits", bits);
  if (group_size < 1 || group_size > kMaxGroupSize) {
    bad(what, text,
        "group size " + std::to_string(group_size) + " is out of range [1, " + std::to_string(kMaxGroupSize) +
            "]");
  }
}

void check_anyprec(const std::string& what, const std::string& text, int bits, int parent_bits) {
  check_bits(what, text, "bits", bits);
  check_bits(what, text, "parent bits", parent_bits);
  if (bits > parent_bits) {
    bad(what, text,
        "bits " + std::to_string(bits) + " exceed the parent model's " + std::to_string(parent_bits) +
            " bits (a nested model can only read its parent's planes)");
  }
}

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

}  // namespace

PrecisionFormat PrecisionFormat::fp16() {
  return PrecisionFormat{};
}

PrecisionFormat PrecisionFormat::uniform(int bits, int group_size) {
  PrecisionFormat f;
  f.kind = FormatKind::kUniform;
  f.bits = bits;
  f.group_size = group_size;
  check_uniform("precision format", f.name(), bits, group_size);
  return f;
}

PrecisionFormat PrecisionFormat::anyprec(int bits, int parent_bits) {
  PrecisionFormat f;
  f.kind = FormatKind::kAnyPrec;
  f.bits = bits;
  f.parent_bits = parent_bits;
  check_anyprec("precision format", f.name(), bits, parent_bits);
  return f;
}

PrecisionFormat PrecisionFormat::parse(const std::string& text, const std::string& what) {
  if (text == "fp16") return fp16();
  // Split on ':' into at most three parts.
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const bool is_uniform = parts[0] == "uniform";
  const bool is_anyprec = parts[0] == "anyprec";
  if ((!is_uniform && !is_anyprec) || parts.size() < 2 || parts.size() > 3) {
    bad(what, text, "unknown precision format");
  }
  int bits = 0;
  if (!parse_count(parts[1], &bits)) bad(what, text, "bits '" + parts[1] + "' is not a whole number");
  const char option = is_uniform ? 'g' : 'p';
  int option_value = is_uniform ? kDefaultGroupSize : default_parent_bits(bits);
  if (parts.size() == 3) {
    const std::string& o = parts[2];
    if (o.empty() || o[0] != option || !parse_count(o.substr(1), &option_value)) {
      bad(what, text,
          std::string("third part '") + o + "' must be " + option + "<number> (" +
              (is_uniform ? "group size" : "parent bits") + ")");
    }
  }
  PrecisionFormat f;
  f.kind = is_uniform ? FormatKind::kUniform : FormatKind::kAnyPrec;
  f.bits = bits;
  if (is_uniform) {
    check_uniform(what, text, bits, option_value);
    f.group_size = option_value;
  } else {
    check_anyprec(what, text, bits, option_value);
    f.parent_bits = option_value;
  }
  return f;
}

std::string PrecisionFormat::name() const {
  switch (kind) {
    case FormatKind::kFp16:
      return "fp16";
    case FormatKind::kUniform:
      return "uniform:" + std::to_string(bits) + ":g" + std::to_string(group_size);
    case FormatKind::kAnyPrec:
      // The parent width is shown only when it is not the default, so "anyprec:3" reads back as itself.
      return "anyprec:" + std::to_string(bits) +
             (parent_bits == default_parent_bits(bits) ? "" : ":p" + std::to_string(parent_bits));
  }
  return "?";
}

uint64_t PrecisionFormat::code_bytes(uint64_t k, uint64_t n) const {
  if (kind == FormatKind::kFp16) return n * k * kFp16Bytes;
  // Each output row's K codes (or K bits of each of `bits` planes) are padded to whole bytes.
  return n * ceil_div(k * static_cast<uint64_t>(bits), 8);
}

uint64_t PrecisionFormat::table_bytes(uint64_t k, uint64_t n) const {
  switch (kind) {
    case FormatKind::kFp16:
      return 0;
    case FormatKind::kUniform:
      // One fp16 scale and one fp16 zero per group of `group_size` weights along K, per output row.
      return n * ceil_div(k, static_cast<uint64_t>(group_size)) * kGroupScaleZeroBytes;
    case FormatKind::kAnyPrec:
      // One fp16 centroid table of 2^bits entries per output row (PMPD.md: 8/16/32 bytes for 2/3/4 bits).
      return n * (uint64_t{1} << bits) * kFp16Bytes;
  }
  return 0;
}

bool PrecisionFormat::operator==(const PrecisionFormat& o) const {
  if (kind != o.kind || bits != o.bits) return false;
  if (kind == FormatKind::kUniform) return group_size == o.group_size;
  if (kind == FormatKind::kAnyPrec) return parent_bits == o.parent_bits;
  return true;  // fp16 ignores the unused fields
}

}  // namespace npusim::workloads

#include "hw_models/tiling.h"

#include <algorithm>

#include "common/error.h"
#include "hw_models/npu.h"

namespace npusim::hw {

using workloads::FormatKind;
using workloads::Op;
using workloads::OpKind;

namespace {

constexpr uint64_t kAlign = kTensorAlignBytes;
// KV caches live far above the weights, one fixed-size region per layer (K in the first half, V in the second),
// so that a layer's cache is contiguous whatever the context length.
constexpr uint64_t kKvBase = uint64_t{1} << 40;
constexpr uint64_t kKvLayerStride = uint64_t{1} << 32;
// Spilled activations live above the KV caches, one region per activation (reused by every layer, as a scratch
// is): 64 GiB each holds 128k tokens of a 256k vocabulary's fp16 logits.
constexpr uint64_t kSpillBase = uint64_t{1} << 41;
constexpr uint64_t kSpillStride = uint64_t{1} << 36;

uint64_t spill_address(const Op& op) {
  return kSpillBase + static_cast<uint64_t>(op.spill_tensor) * kSpillStride + op.spill_offset_bytes;
}

uint64_t align_up(uint64_t v) {
  return (v + kAlign - 1) / kAlign * kAlign;
}

bool is_linear(const Op& op) {
  return op.kind == OpKind::kLinear;
}

// Per-row bytes of a linear at the precision being read.
struct RowBytes {
  uint64_t codes, table, bias;
  uint64_t total() const { return codes + table + bias; }
};

RowBytes row_bytes(const Op& op) {
  return {op.format.code_bytes(op.k, 1), op.format.table_bytes(op.k, 1), op.n ? op.bias_bytes / op.n : 0};
}

// The stored form of a weight: an any-precision tensor is stored once at its parent precision and read at any
// lower one, so all anyprec:b reads of one op share one placement.
std::string storage_key(const Op& op) {
  const std::string& name = op.weight_tensor.empty() ? op.name : op.weight_tensor;
  switch (op.format.kind) {
    case FormatKind::kAnyPrec:
      return name + "@anyprec:p" + std::to_string(op.format.parent_bits);
    case FormatKind::kUniform:
      return name + "@" + op.format.name();
    case FormatKind::kFp16:
      break;
  }
  return name + "@fp16";
}

}  // namespace

uint64_t AddressMap::kv_base(int layer, bool value) {
  return kKvBase + static_cast<uint64_t>(std::max(layer, 0)) * kKvLayerStride + (value ? kKvLayerStride / 2 : 0);
}

std::array<ByteRange, 2> posted_write_ranges(const Op& op) {
  std::array<ByteRange, 2> ranges{};
  if (op.kind == OpKind::kSpillWrite) {
    ranges[0] = {spill_address(op), op.spill_write_bytes};
    return ranges;
  }
  if (op.kind != OpKind::kKvWrite || op.kv_write_bytes == 0 || op.tokens == 0) return ranges;
  const uint64_t tensor_bytes = op.kv_write_bytes / 2;
  const uint64_t offset = (op.n - op.tokens) * (tensor_bytes / op.tokens);
  for (const bool value : {false, true})
    ranges[value ? 1 : 0] = {AddressMap::kv_base(op.layer, value) + offset, tensor_bytes};
  return ranges;
}

OpPlacement AddressMap::place(const Op& op) {
  const std::string key = storage_key(op);
  auto it = placed_.find(key);
  if (it != placed_.end()) return it->second;
  OpPlacement p;
  if (op.kind == OpKind::kSpillRead || op.kind == OpKind::kSpillWrite) {
    return {spill_address(op), 0, 0, 0};  // not kept: it follows from the activation and the offset
  }
  if (op.kind == OpKind::kAttentionScore || op.kind == OpKind::kAttentionValue || op.kind == OpKind::kKvWrite) {
    p.code_base = kv_base(op.layer, op.kind == OpKind::kAttentionValue);
    return placed_.emplace(key, p).first->second;
  }
  workloads::PrecisionFormat stored = op.format;
  if (stored.kind == FormatKind::kAnyPrec) stored.bits = stored.parent_bits;
  uint64_t code_bytes = op.weight_bytes + op.embedding_bytes;
  uint64_t table_bytes = op.table_bytes;
  if (is_linear(op)) {
    p.code_row_stride = stored.code_bytes(op.k, 1);
    code_bytes = op.n * p.code_row_stride;
    // Room for the tables of every precision up to the parent (each precision has its own table per row); the
    // streamer reads the table region from its start whatever the precision (one contiguous range per tile).
    table_bytes = 0;
    const int lowest = stored.kind == FormatKind::kAnyPrec ? 1 : stored.bits;
    for (int b = lowest; b <= stored.bits; ++b) {
      workloads::PrecisionFormat f = stored;
      f.bits = b;
      table_bytes += f.table_bytes(op.k, op.n);
    }
  }
  p.code_base = next_;
  p.table_base = p.code_base + align_up(code_bytes);
  p.bias_base = p.table_base + align_up(table_bytes);
  next_ = p.bias_base + align_up(op.bias_bytes);
  return placed_.emplace(key, p).first->second;
}

void check_tiles_fit(const NpuConfig& config, const std::vector<Op>& ops, const std::string& npu_file) {
  for (const Op& op : ops) {
    if (!is_linear(op)) continue;
    const uint64_t row = row_bytes(op).total();
    if (row > static_cast<uint64_t>(config.weight_buffer_bytes)) {
      throw InputError(npu_file + ": sram.weight_buffer_bytes: " + std::to_string(config.weight_buffer_bytes) +
                       " bytes cannot hold one output row of " + op.name + " in " + op.format.name() + " (" +
                       std::to_string(row) + " bytes)");
    }
  }
}

TilePlan plan_tiles(const Op& op, uint64_t buffer_bytes, uint64_t table_rows) {
  TilePlan plan;
  if (is_linear(op)) {
    const uint64_t per_row = std::max<uint64_t>(row_bytes(op).total(), 1);
    uint64_t rows = std::max<uint64_t>(buffer_bytes / per_row, 1);
    if (rows > table_rows) rows = rows / table_rows * table_rows;
    plan.rows_per_tile = std::min(rows, op.n);
    plan.tiles = (op.n + plan.rows_per_tile - 1) / plan.rows_per_tile;
    return plan;
  }
  const uint64_t bytes = op.dram_read_bytes();
  if (bytes > 0) {
    plan.bytes_per_tile = buffer_bytes;
    plan.tiles = (bytes + buffer_bytes - 1) / buffer_bytes;
  } else if (op.macs > 0) {
    plan.tiles = 1;
  }
  return plan;
}

Tile make_tile(const Op& op, const TilePlan& plan, const OpPlacement& where, uint64_t index) {
  Tile t;
  t.op = &op;
  t.index = index;
  if (is_linear(op)) {
    const RowBytes rb = row_bytes(op);
    t.first_row = index * plan.rows_per_tile;
    t.rows = std::min(plan.rows_per_tile, op.n - t.first_row);
    // Codes: rows sit at the parent precision's stride; the tile's b-bit codes are modelled as one contiguous
    // range from its first row (the planes a b-bit read needs, stored plane-major within a row block).
    t.ranges[0] = {where.code_base + t.first_row * where.code_row_stride, t.rows * rb.codes};
    t.ranges[1] = {where.table_base + t.first_row * rb.table, t.rows * rb.table};
    t.ranges[2] = {where.bias_base + t.first_row * rb.bias, t.rows * rb.bias};
    t.dequant_weights = op.format.kind == FormatKind::kFp16 ? 0 : t.rows * op.k;
    t.macs = t.rows * op.k * op.tokens;
    return t;
  }
  const uint64_t total = op.dram_read_bytes();
  if (total == 0) {
    t.macs = op.macs;
    return t;
  }
  const uint64_t begin = index * plan.bytes_per_tile;
  const uint64_t end = std::min(begin + plan.bytes_per_tile, total);
  t.ranges[0] = {where.code_base + begin, end - begin};
  // MACs in proportion to the bytes, with exact integer shares that sum to op.macs over all tiles.
  using u128 = unsigned __int128;
  const auto share = [&](uint64_t at) { return static_cast<uint64_t>(u128(op.macs) * at / total); };
  t.macs = share(end) - share(begin);
  return t;
}

uint64_t input_passes(const ArrayShape& array, uint64_t n_before, uint64_t n) {
  uint64_t block = 0;
  switch (array.dataflow) {
    case Dataflow::kWeightStationary:
    case Dataflow::kOutputStationary:
      block = array.cols;
      break;
    case Dataflow::kGemv:
      return n_before == 0 && n > 0 ? 1 : 0;
    case Dataflow::kInputStationary:
    case Dataflow::kIdeal:
      return n > 0 ? 1 : 0;
  }
  const auto blocks = [block](uint64_t columns) { return (columns + block - 1) / block; };
  return blocks(n_before + n) - blocks(n_before);
}

SramBytes tile_sram_bytes(const ArrayShape& array, const Op& op, const Tile& tile) {
  using u128 = unsigned __int128;
  const auto share = [&](uint64_t total, uint64_t rows) {
    return static_cast<uint64_t>(u128(total) * rows / op.n);
  };
  return {op.sram_activation_read_bytes * input_passes(array, tile.first_row, tile.rows),
          share(op.sram_activation_write_bytes, tile.first_row + tile.rows) -
              share(op.sram_activation_write_bytes, tile.first_row)};
}

SramBytes op_sram_bytes(const NpuConfig& config, const Op& op) {
  if (!is_linear(op)) return {op.sram_activation_read_bytes, op.sram_activation_write_bytes};
  // The tiles' passes add up (each systolic column block is opened by one tile; the GEMV engine reads once; an
  // input-stationary array and the ideal rate once a tile), and their write shares to the whole output.
  const ArrayShape array = config.array_shape_for(op);
  uint64_t passes = input_passes(array, 0, op.n);
  if (array.dataflow == Dataflow::kInputStationary || array.dataflow == Dataflow::kIdeal) {
    passes = plan_tiles(op, static_cast<uint64_t>(config.weight_buffer_bytes),
                        static_cast<uint64_t>(config.dequant_table_rows))
                 .tiles;
  }
  SramBytes sum{op.sram_activation_read_bytes * passes, op.sram_activation_write_bytes};
  // A token block's input came from DRAM: its first read out of SRAM is counted with the DRAM bytes.
  if (op.input_from_dram && sum.read >= op.sram_activation_read_bytes) sum.read -= op.sram_activation_read_bytes;
  return sum;
}

}  // namespace npusim::hw

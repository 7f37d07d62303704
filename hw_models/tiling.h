// How an operator is cut into the tiles the streamer fetches and the compute units consume, and where its bytes
// live in DRAM. Pure functions: no SystemC, no time.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "hw_models/mac_dataflow.h"
#include "workloads/workloads.h"

namespace npusim::hw {

struct NpuConfig;

// One contiguous DRAM range of a tile.
// Every tensor's region starts at a multiple of this (so the bursts a range touches do not depend on placement).
constexpr uint64_t kTensorAlignBytes = 4096;

struct ByteRange {
  uint64_t address = 0;
  uint64_t bytes = 0;
};

struct Tile {
  const workloads::Op* op = nullptr;
  uint64_t index = 0;               // tile number within the op
  std::array<ByteRange, 3> ranges;  // codes/planes/weights/KV, tables, biases; unused ranges have bytes 0
  uint64_t first_row = 0;           // linears: output rows [first_row, first_row + rows)
  uint64_t rows = 0;
  uint64_t dequant_weights = 0;  // codes to decode (0: fp16 data bypasses the dequantizer)
  uint64_t macs = 0;             // MACs this tile's data feeds
  uint64_t ready_ps = 0;         // set by the stage that hands the tile on
  uint64_t dram_bytes() const { return ranges[0].bytes + ranges[1].bytes + ranges[2].bytes; }
};

// Where an op's data starts in DRAM: codes (at the parent precision's stride), tables, biases.
struct OpPlacement {
  uint64_t code_base = 0, table_base = 0, bias_base = 0;
  uint64_t code_row_stride = 0;  // bytes between consecutive rows' codes at the stored (parent) precision
};

// A deterministic bump allocator: each weight tensor (by op name and stored format) gets its own region on first
// use. KV caches live in fixed per-layer regions far above the weights.
class AddressMap {
 public:
  OpPlacement place(const workloads::Op& op);
  // Where a layer's K (value = false) or V cache starts; token t's row sits t rows further on.
  static uint64_t kv_base(int layer, bool value);

 private:
  uint64_t next_ = 0;
  std::map<std::string, OpPlacement> placed_;
};

// The posted writes of an op: a KV write's new K rows and V rows (cache positions [n - tokens, n)), or a spill
// write's activation block; empty ranges when it writes nothing.
std::array<ByteRange, 2> posted_write_ranges(const workloads::Op& op);

// How an op splits into tiles that fit one SRAM weight buffer.
struct TilePlan {
  uint64_t tiles = 0;           // 0: the op has no DRAM data and no MACs (vector-only or a KV write)
  uint64_t rows_per_tile = 0;   // linears
  uint64_t bytes_per_tile = 0;  // streamed data (KV cache, embeddings, norm weights)
};

// Linears: whole output rows per tile (codes + tables + bias of `rows_per_tile` rows fit in `buffer_bytes`),
// rounded down to a multiple of the dequantizer's row block when a tile holds more than one block. Other ops:
// their DRAM bytes cut into buffer-sized pieces, MACs shared out in proportion; a MAC-only op is one tile.
TilePlan plan_tiles(const workloads::Op& op, uint64_t buffer_bytes, uint64_t table_rows);

// The DMA's requests for one range: never across a `request_bytes` boundary (as a DMA engine splits descriptors),
// so a long range is a run of aligned, equal requests after at most one shorter head. Calls fn(address, bytes).
template <class F>
void for_each_dma_request(const ByteRange& range, uint64_t request_bytes, F&& fn) {
  for (uint64_t address = range.address, end = range.address + range.bytes; address < end;) {
    const uint64_t bytes = std::min(request_bytes - address % request_bytes, end - address);
    fn(address, bytes);
    address += bytes;
  }
}
Tile make_tile(const workloads::Op& op, const TilePlan& plan, const OpPlacement& where, uint64_t index);

// What an operator reads from and writes to the activation SRAM (energy, and the SRAM ports' cycles).
struct SramBytes {
  uint64_t read = 0, write = 0;
};
// How many times output columns [n_before, n_before + n) of a linear read its input: on a weight- or
// output-stationary array once for every block of cols outputs they open, since each block streams the whole
// input through the array again; on the GEMV engine once for the whole linear (it broadcasts one input vector to
// its lanes from its own operand buffer); once per tile on an input-stationary array (each tile is its own
// product, its input loaded into the PEs) and at the ideal rate.
uint64_t input_passes(const ArrayShape& array, uint64_t n_before, uint64_t n);
// A linear tile's activation SRAM bytes on `array`: the activation plan's on-chip input (Op::
// sram_activation_read_bytes) times its passes, and its rows' share of the on-chip output.
SramBytes tile_sram_bytes(const ArrayShape& array, const workloads::Op& op, const Tile& tile);
// An operator's activation SRAM bytes on the NPU (for energy): a linear's over its tiles (less one read of a token
// block's input, which came from DRAM and is counted with the DRAM bytes), any other's as the plan counts them.
SramBytes op_sram_bytes(const NpuConfig& config, const workloads::Op& op);

}  // namespace npusim::hw

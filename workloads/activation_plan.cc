// The activation plan: what stays in the NPU's activation SRAM and what goes through DRAM.
//
// The NPU keeps activations in one SRAM of activation_buffer_bytes, planned statically as an NPU compiler plans
// a scratchpad (no cache, no eviction):
// - A value (an activation as one operator writes it) stays on chip when it fits beside the values live when it
//   is made (made earlier, last reader still to run). A value that does not fit is written to DRAM by its
//   producer (a spill write, posted) and read back by each of its readers (a spill read, streamed through the
//   tile buffers); an in-place update of a spilled value (RoPE, a residual add) reads it and writes it again.
// - A linear needs its whole input on chip for every weight tile. When the input was spilled, the linear runs in
//   token blocks that fit the free space: each block reads its rows of the input and streams all of the
//   weights again. The other loop order (stream the weights once, read the whole input again for every tile)
//   moves tiles x input bytes against (blocks - 1) x weight bytes, and with an activation SRAM larger than a tile
//   buffer the blocks always move fewer. The output goes on chip (fewer free bytes, so more blocks) or to DRAM
//   (written, then read by each reader), whichever moves fewer bytes; a tie keeps it on chip. A buffer that
//   cannot hold one input row beside the live values is an error. A spilled value lies contiguously in its DRAM
//   region, rows in order, whoever wrote which rows.
// - Prefill attention follows FlashAttention's blocked schedule (Dao et al., NeurIPS 2022): per KV head, blocks of
//   B query rows (of all the query heads sharing that KV head) against blocks of B keys in the attention
//   scratch, which holds the Q block (fp16), the K and V blocks, the B x B scores and probabilities and the
//   output accumulator and row statistics (fp32). Scores never leave the scratch: a smaller scratch means a
//   smaller B. K and V in the activation SRAM cost no DRAM. Spilled K and V come from the KV cache that kv_write
//   filled: once per KV head when its K and V fit in the scratch beside a block, otherwise again for every query
//   block (causal: the keys up to the block's end).
// - Vector operators (norms, RoPE, activations, residual adds) work row by row or element by element: spilled
//   inputs and outputs stream through the tile buffers and need no room of their own.
// Decode steps have one token: every activation is a few KiB and stays on chip unless the buffer is tiny.
#include <algorithm>
#include <limits>

#include "common/error.h"
#include "workloads/workloads.h"

namespace npusim::workloads {
namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();
// A linear runs in at most this many token blocks (each block is an operator of its own: a buffer too small for
// a prompt would otherwise make millions of them).
constexpr uint64_t kMaxTokenBlocks = 1024;

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

// One value of an activation: from the operator that writes it to its last reader.
struct Value {
  uint64_t bytes = 0;
  size_t last_reader = kNone;
  uint64_t read_bytes = 0;  // over its readers (what its spill costs them)
  bool on_chip = true;
  bool placed = false;    // where it lives has been decided
  bool released = false;  // its room on chip is free again
};

class Planner {
 public:
  Planner(const ModelShape& m, const LoweringOptions& o) : m_(m), o_(o) {}

  std::vector<Op> run(std::vector<Op> ops) {
    find_values(ops);
    // Operators are placed where they stand; a new list is built only from the first one that brings spills or
    // token blocks with it (most phases, and every decode step, bring none).
    std::vector<Op> out, emitted;
    bool rebuilt = false;
    for (size_t i = 0; i < ops.size(); ++i) {
      emitted.clear();
      const bool replaced = place(ops[i], i, &emitted);
      if (!replaced) {
        if (rebuilt) out.push_back(std::move(ops[i]));
        continue;
      }
      if (!rebuilt) {
        out.reserve(ops.size() + emitted.size() + 16);
        for (size_t j = 0; j < i; ++j) out.push_back(std::move(ops[j]));
        rebuilt = true;
      }
      for (Op& op : emitted) out.push_back(std::move(op));
    }
    return rebuilt ? out : ops;
  }

 private:
  bool unbounded() const { return o_.activation_buffer_bytes == 0; }
  bool fits(uint64_t bytes, uint64_t also = 0) const {
    return unbounded() || live_bytes_ + also + bytes <= o_.activation_buffer_bytes;
  }
  uint64_t free_bytes() const {
    return o_.activation_buffer_bytes > live_bytes_ ? o_.activation_buffer_bytes - live_bytes_ : 0;
  }

  static bool reads_tensor(const Op& op, Activation a) {
    return std::any_of(op.reads.begin(), op.reads.end(), [a](const ActivationUse& r) { return r.tensor == a; });
  }

  // Every value, its readers and its last reader; write_value_[i][slot] and read_value_[i][slot] name them.
  void find_values(const std::vector<Op>& ops) {
    std::array<size_t, kActivations> current;
    current.fill(kNone);
    read_value_.assign(ops.size(), {kNone, kNone, kNone});
    write_value_.assign(ops.size(), {kNone, kNone});
    values_.reserve(ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      const Op& op = ops[i];
      for (size_t r = 0; r < op.reads.size(); ++r) {
        const ActivationUse& use = op.reads[r];
        if (use.tensor == Activation::kNone) continue;
        size_t& v = current[static_cast<size_t>(use.tensor)];
        if (v == kNone) {  // read before any write: taken to be on chip already
          v = values_.size();
          values_.push_back({use.bytes});
          values_[v].placed = true;
          live_bytes_ += use.bytes;
        }
        values_[v].last_reader = i;
        values_[v].read_bytes += use.bytes;
        read_value_[i][r] = v;
      }
      for (size_t w = 0; w < op.writes.size(); ++w) {
        const ActivationUse& use = op.writes[w];
        if (use.tensor == Activation::kNone) continue;
        size_t& v = current[static_cast<size_t>(use.tensor)];
        if (v == kNone || !reads_tensor(op, use.tensor)) {  // a new value
          v = values_.size();
          values_.push_back({use.bytes});
        }
        write_value_[i][w] = v;
      }
    }
  }

  static Op spill_op(const Op& of, OpKind kind, Activation tensor, uint64_t bytes, uint64_t offset) {
    Op op;
    const bool read = kind == OpKind::kSpillRead;
    op.name = of.name + (read ? ".spill_read." : ".spill_write.") + activation_name(tensor);
    op.kind = kind;
    op.layer = of.layer;
    op.tokens = of.tokens;
    op.op_class = OpClass::kSpill;
    (read ? op.spill_read_bytes : op.spill_write_bytes) = bytes;
    op.spill_tensor = tensor;
    op.spill_offset_bytes = offset;
    return op;
  }

  // The attention scratch's bytes for one FlashAttention block of B query rows and B keys, K and V at `kv_bits`.
  uint64_t flash_block_bytes(uint64_t b, uint64_t kv_bits) const {
    const uint64_t group = static_cast<uint64_t>(m_.num_heads / m_.num_kv_heads);
    const uint64_t d = static_cast<uint64_t>(m_.head_dim);
    const uint64_t kv_block = ceil_div(b * d * kv_bits, 8);
    return group * b * d * 2    // Q block, fp16
           + group * b * d * 4  // output accumulator, fp32
           + group * b * b * 4  // scores, then probabilities in place, fp32
           + group * b * 2 * 4  // running row max and sum, fp32
           + 2 * kv_block;      // K and V blocks
  }

  // The largest power-of-two block (at most `tokens`) whose bytes plus `reserved` fit in the scratch; 0 if none.
  uint64_t flash_block(uint64_t tokens, uint64_t reserved, uint64_t kv_bits) const {
    const uint64_t scratch = o_.attention_scratch_bytes;
    uint64_t b = 0;
    for (uint64_t c = 1; c <= tokens; c *= 2) {
      if (reserved + flash_block_bytes(c, kv_bits) > scratch) break;
      b = c;
    }
    return b;
  }

  // K (or V) bytes the FlashAttention schedule reads for a prefill of `score.tokens` tokens, with K and V at
  // `kv_bits`: fp16 from the activation SRAM, the cache's bits from the KV cache in DRAM.
  uint64_t flash_reads(const Op& score, uint64_t kv_bits) const {
    const uint64_t t = score.tokens;
    const uint64_t kv_width = static_cast<uint64_t>(m_.num_kv_heads * m_.head_dim);
    const auto kv_bytes = [&](uint64_t rows) { return ceil_div(kv_width * rows * kv_bits, 8); };
    if (o_.attention_scratch_bytes == 0) return kv_bytes(t);
    // A KV head's K and V whole in the scratch, beside a block of queries.
    const uint64_t head_kv = 2 * ceil_div(t * static_cast<uint64_t>(m_.head_dim) * kv_bits, 8);
    if (flash_block(t, head_kv, kv_bits) > 0) return kv_bytes(t);
    const uint64_t b = flash_block(t, 0, kv_bits);
    if (b == 0) {
      throw InputError("sram.attention_scratch_bytes: " + std::to_string(o_.attention_scratch_bytes) +
                       " bytes cannot hold one FlashAttention block of " + m_.name +
                       " (one query row and one key: " + std::to_string(flash_block_bytes(1, kv_bits)) +
                       " bytes)");
    }
    uint64_t rows = 0;
    for (uint64_t start = 0; start < t; start += b) rows += o_.causal_prefill ? std::min(start + b, t) : t;
    return kv_bytes(rows);
  }

  // Frees the room of the values whose last reader was operator i (or that nobody reads).
  void free_after(size_t i) {
    const auto release = [&](size_t v) {
      if (v == kNone || values_[v].last_reader != i || !values_[v].on_chip || values_[v].released) return;
      values_[v].released = true;
      live_bytes_ -= values_[v].bytes;
    };
    for (size_t v : read_value_[i]) release(v);
    for (size_t v : write_value_[i]) {
      if (v != kNone && values_[v].last_reader == kNone) values_[v].last_reader = i;  // nobody reads it
      release(v);
    }
  }

  // Decides where a new value lives, once, and takes its room on chip.
  void make(size_t v, bool on_chip) {
    if (values_[v].placed) return;
    values_[v].placed = true;
    values_[v].on_chip = on_chip;
    if (on_chip) live_bytes_ += values_[v].bytes;
  }

  // Places operator i, updating it in place; returns whether it is to be replaced by `out` (spill ops around it,
  // or its token blocks), which then holds it too.
  bool place(Op& op, size_t i, std::vector<Op>* out) {
    const bool prefill_attention =
        op.tokens > 1 && (op.kind == OpKind::kAttentionScore || op.kind == OpKind::kAttentionValue);
    if (op.kind == OpKind::kLinear && op.tokens > 0 && op.reads[0].bytes >= op.tokens &&
        write_value_[i][0] != kNone && read_value_[i][0] != kNone && !values_[read_value_[i][0]].on_chip) {
      blocked_linear(op, i, out);
      free_after(i);
      return true;
    }
    // Inputs: spilled ones are read back first; FlashAttention's K and V come from the cache instead.
    for (size_t r = 0; r < op.reads.size(); ++r) {
      const size_t v = read_value_[i][r];
      if (v == kNone) continue;
      const ActivationUse& use = op.reads[r];
      const bool flash_kv = prefill_attention && (use.tensor == Activation::kK || use.tensor == Activation::kV);
      if (flash_kv) {
        if (values_[v].on_chip) {
          op.sram_activation_read_bytes += flash_reads(op, 16);
        } else {
          op.kv_read_bytes += flash_reads(op, static_cast<uint64_t>(o_.kv_cache_bits));
        }
        continue;
      }
      if (values_[v].on_chip) {
        op.sram_activation_read_bytes += use.bytes;
      } else {
        // A reader of part of a value (the final norm of the last prompt token) reads its last rows.
        const uint64_t offset = values_[v].bytes > use.bytes ? values_[v].bytes - use.bytes : 0;
        out->push_back(spill_op(op, OpKind::kSpillRead, use.tensor, use.bytes, offset));
      }
    }
    // Outputs: a new value on chip if it fits; a spilled one (new, or updated in place) written back.
    std::vector<Op> after;
    for (size_t w = 0; w < op.writes.size(); ++w) {
      const size_t v = write_value_[i][w];
      if (v == kNone) continue;
      make(v, fits(values_[v].bytes));
      const ActivationUse& use = op.writes[w];
      if (values_[v].on_chip) {
        op.sram_activation_write_bytes += use.bytes;
      } else {
        after.push_back(spill_op(op, OpKind::kSpillWrite, use.tensor, use.bytes, 0));
      }
    }
    free_after(i);
    if (out->empty() && after.empty()) return false;
    out->push_back(std::move(op));
    for (Op& s : after) out->push_back(std::move(s));
    return true;
  }

  // A linear whose input is in DRAM: token blocks (see the top of the file).
  void blocked_linear(const Op& op, size_t i, std::vector<Op>* out) {
    const uint64_t t = op.tokens;
    const uint64_t in_row = op.reads[0].bytes / t, out_row = op.writes[0].bytes / t;
    const size_t y = write_value_[i][0];
    const uint64_t y_bytes = values_[y].bytes;
    const uint64_t weights = op.dram_read_bytes();
    const auto block_tokens = [&](uint64_t free) { return std::min<uint64_t>(free / in_row, t); };
    // Output on chip: its room is not free for the blocks, which need room for at least one input row.
    const bool can_keep = fits(y_bytes) && block_tokens(free_bytes() - y_bytes) > 0;
    const uint64_t keep_block = can_keep ? block_tokens(free_bytes() - y_bytes) : 0;
    const uint64_t spill_block = block_tokens(free_bytes());
    if (spill_block == 0) {
      throw InputError("sram.activation_bytes: " + std::to_string(o_.activation_buffer_bytes) + " bytes (" +
                       std::to_string(free_bytes()) + " free) cannot hold one " + std::to_string(in_row) +
                       "-byte input row of " + op.name);
    }
    const uint64_t keep_cost = can_keep ? (ceil_div(t, keep_block) - 1) * weights : 0;
    const uint64_t spill_cost = (ceil_div(t, spill_block) - 1) * weights + y_bytes + values_[y].read_bytes;
    const bool keep = can_keep && keep_cost <= spill_cost;
    make(y, keep);
    const uint64_t mb = keep ? keep_block : spill_block;
    const uint64_t blocks = ceil_div(t, mb);
    if (blocks > kMaxTokenBlocks) {
      throw InputError("sram.activation_bytes: " + std::to_string(o_.activation_buffer_bytes) +
                       " bytes leave room for " + std::to_string(mb) + " of the " + std::to_string(t) +
                       " input rows of " + op.name + " (" + std::to_string(in_row) +
                       " bytes each): " + std::to_string(blocks) + " token blocks, more than the " +
                       std::to_string(kMaxTokenBlocks) + " planned");
    }
    for (uint64_t j = 0; j < blocks; ++j) {
      const uint64_t start = j * mb, tokens = std::min(mb, t - start);
      Op block = op;
      block.tokens = tokens;
      block.macs = tokens * op.k * op.n;
      block.reads[0].bytes = tokens * in_row;
      block.writes[0].bytes = tokens * out_row;
      if (blocks > 1) {
        block.name = op.name + ".tokens" + std::to_string(start) + "-" + std::to_string(start + tokens);
        block.weight_tensor = op.weight_tensor.empty() ? op.name : op.weight_tensor;
      }
      // The block's input rows land in the activation SRAM (their landing, and one read, are DRAM bytes through
      // SRAM) and the array reads them there for every block of outputs it opens (hw_models' op_sram_bytes).
      out->push_back(spill_op(block, OpKind::kSpillRead, op.reads[0].tensor, tokens * in_row, start * in_row));
      block.sram_activation_read_bytes = tokens * in_row;
      block.input_from_dram = true;
      if (keep) block.sram_activation_write_bytes = tokens * out_row;
      const Op written =
          spill_op(block, OpKind::kSpillWrite, op.writes[0].tensor, tokens * out_row, start * out_row);
      out->push_back(std::move(block));
      if (!keep) out->push_back(written);
    }
  }

  const ModelShape& m_;
  const LoweringOptions& o_;
  std::vector<Value> values_;
  std::vector<std::array<size_t, 3>> read_value_;
  std::vector<std::array<size_t, 2>> write_value_;
  uint64_t live_bytes_ = 0;
};

}  // namespace

std::vector<Op> plan_activations(std::vector<Op> ops, const ModelShape& model, const LoweringOptions& options) {
  return Planner(model, options).run(std::move(ops));
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kNone:
      return "none";
    case Activation::kStream:
      return "stream";
    case Activation::kNormed:
      return "normed";
    case Activation::kQ:
      return "q";
    case Activation::kK:
      return "k";
    case Activation::kV:
      return "v";
    case Activation::kAttnOut:
      return "attn_out";
    case Activation::kProjOut:
      return "proj_out";
    case Activation::kGate:
      return "gate";
    case Activation::kUp:
      return "up";
    case Activation::kAct:
      return "act";
    case Activation::kMlpOut:
      return "mlp_out";
    case Activation::kLogits:
      return "logits";
  }
  return "unknown";
}

}  // namespace npusim::workloads

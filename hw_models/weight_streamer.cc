#include "hw_models/weight_streamer.h"

#include <algorithm>

namespace npusim::hw {

WeightStreamer::WeightStreamer(sc_core::sc_module_name name, const NpuConfig& config, IDram& dram,
                               AddressMap& addresses, TimedTileQueue& out)
    : sc_core::sc_module(name),
      config_(config),
      dram_(dram),
      addresses_(addresses),
      out_(out),
      buffers_(static_cast<int>(config.weight_buffers)),
      requests_(static_cast<size_t>(config.dma_max_outstanding)) {
  SC_HAS_PROCESS(WeightStreamer);
  SC_THREAD(run);
}

void WeightStreamer::start_phase(const std::vector<workloads::Op>* ops) {
  phases_.push_back(ops);
  phase_queued_.notify();
}

const PhaseCounters* WeightStreamer::booked_to_layer_end(int layer) const {
  const auto i = static_cast<size_t>(layer);
  return layer >= 0 && i < booked_by_layer_.size() && booked_by_layer_[i] ? &*booked_by_layer_[i] : nullptr;
}

const PhaseCounters* WeightStreamer::booked_after_tile(const workloads::Op* op, uint64_t tile) const {
  const auto found = booked_by_tile_.find(op);
  if (found == booked_by_tile_.end() || tile >= found->second.size()) return nullptr;
  return &found->second[tile];
}

uint64_t WeightStreamer::fetch(const Tile& tile, uint64_t now_ps) {
  for (const ByteRange& range : tile.ranges) {
    for_each_dma_request(range, static_cast<uint64_t>(config_.dma_request_bytes),
                         [&](uint64_t address, uint64_t bytes) { requests_.add(address, bytes, false, now_ps); });
  }
  return std::max(now_ps, requests_.book(dram_));
}

void WeightStreamer::run() {
  for (;;) {
    while (phases_.empty()) wait(phase_queued_);
    const std::vector<workloads::Op>& ops = *phases_.front();
    phases_.pop_front();
    booked_by_layer_.clear();
    booked_by_tile_.clear();
    // The tile plans, and which operator fetches the last tiles of each layer (where booked_to_layer_end reads
    // the DRAM's counters: reading them after every tile costs a pass over the channels each).
    plans_.clear();
    last_of_layer_.clear();
    for (size_t k = 0; k < ops.size(); ++k) {
      plans_.push_back(plan_tiles(ops[k], static_cast<uint64_t>(config_.weight_buffer_bytes),
                                  static_cast<uint64_t>(config_.dequant_table_rows)));
      if (ops[k].layer < 0 || ops[k].placement_only || plans_.back().tiles == 0) continue;
      const auto layer = static_cast<size_t>(ops[k].layer);
      if (last_of_layer_.size() <= layer) last_of_layer_.resize(layer + 1, ops.size());
      last_of_layer_[layer] = k;
    }
    for (size_t k = 0; k < ops.size(); ++k) {
      const workloads::Op& op = ops[k];
      const TilePlan& plan = plans_[k];
      if (plan.tiles == 0) continue;
      const OpPlacement& where = addresses_.place(op);
      if (op.placement_only) continue;
      for (uint64_t i = 0; i < plan.tiles; ++i) {
        Tile tile = make_tile(op, plan, where, i);
        uint64_t ready = TimedTileQueue::now_ps();
        if (tile.dram_bytes() > 0) {
          const uint64_t before = ready;
          buffers_.wait();
          ready = TimedTileQueue::now_ps();
          // The DRAM idles for want of a buffer only after everything already booked has landed.
          const uint64_t idle_from = std::max(before, last_ready_ps_);
          if (ready > idle_from) buffer_stall_ps_ += ready - idle_from;
          ready = std::max(ready, fetch(tile, TimedTileQueue::now_ps()));
        }
        if (op.layer < 0 && plan.tiles > 1) booked_by_tile_[&op].push_back(dram_counters(dram_.stats()));
        if (op.layer >= 0 && last_of_layer_[static_cast<size_t>(op.layer)] == k && i + 1 == plan.tiles) {
          const auto layer = static_cast<size_t>(op.layer);
          if (booked_by_layer_.size() <= layer) booked_by_layer_.resize(layer + 1);
          booked_by_layer_[layer] = dram_counters(dram_.stats());
        }
        // Tiles are handed on in order, so a tile is ready no earlier than the one before it.
        tile.ready_ps = last_ready_ps_ = std::max(ready, last_ready_ps_);
        ++tiles_;
        out_.push(tile);
      }
    }
  }
}

}  // namespace npusim::hw

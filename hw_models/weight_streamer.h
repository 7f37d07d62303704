// The weight streamer: a DMA engine that walks a phase's operators in order, waits for a free SRAM tile buffer,
// and fetches each tile's ranges from DRAM in requests of `dma_request_bytes` with at most
// `dma_max_outstanding` in flight. It never waits for a tile to land: it issues the next tile's requests as soon
// as a buffer is free, so transfers of consecutive tiles overlap; a tile is handed on when its last byte arrives.
// A tile's requests go to the DRAM as one stream (IDram::access_stream) that carries the outstanding bound, so a
// command-level controller sees them arrive as they would and reorders among them.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <systemc>
#include <vector>

#include "hw_models/dram/bounded_requester.h"
#include "hw_models/dram/i_dram.h"
#include "hw_models/npu.h"
#include "hw_models/timed_queue.h"

namespace npusim::hw {

class WeightStreamer : public sc_core::sc_module {
 public:
  WeightStreamer(sc_core::sc_module_name name, const NpuConfig& config, IDram& dram, AddressMap& addresses,
                 TimedTileQueue& out);

  // Queues a phase; the streamer starts on it at once (it is idle between phases).
  void start_phase(const std::vector<workloads::Op>* ops);
  // Called by the consumer when it is done with a tile that held a buffer.
  void release_buffer() { buffers_.post(); }

  uint64_t buffer_stall_ps() const { return buffer_stall_ps_; }
  uint64_t tiles() const { return tiles_; }
  // The DRAM's counters (hw::dram_counters) right after the streamer booked, in the current phase, the last tile
  // of decoder layer `layer`, or tile `tile` of an operator outside the stack: what the DRAM did for everything up
  // to there, not what the streamer has booked ahead of the core since. Null when there is no such tile.
  const PhaseCounters* booked_to_layer_end(int layer) const;
  const PhaseCounters* booked_after_tile(const workloads::Op* op, uint64_t tile) const;

 private:
  void run();
  // Issues the DRAM requests for a tile's ranges as one stream starting no earlier than `now`; returns when its
  // last byte lands.
  uint64_t fetch(const Tile& tile, uint64_t now_ps);

  const NpuConfig& config_;
  IDram& dram_;
  AddressMap& addresses_;
  TimedTileQueue& out_;
  sc_core::sc_semaphore buffers_;
  std::deque<const std::vector<workloads::Op>*> phases_;
  sc_core::sc_event phase_queued_;
  BoundedRequester requests_;  // the DMA's requests: at most max_outstanding in flight
  uint64_t last_ready_ps_ = 0;
  uint64_t buffer_stall_ps_ = 0;
  uint64_t tiles_ = 0;
  // What booked_to_layer_end and booked_after_tile give, for the phase in progress.
  std::vector<std::optional<PhaseCounters>> booked_by_layer_;
  std::map<const workloads::Op*, std::vector<PhaseCounters>> booked_by_tile_;
  std::vector<TilePlan> plans_;        // of the phase's operators
  std::vector<size_t> last_of_layer_;  // per layer: the index of its last operator with tiles to fetch
};

}  // namespace npusim::hw

// Public header of hw_models/: the NPU's configuration (every field declared once, with unit, meaning and
// default, in config.cc) and the one call that elaborates the SystemC NPU and runs a stream of phases on it.
//
// The NPU: a weight streamer (DMA) fetches tiles of bitplanes, centroid tables, fp16 weights and KV cache from
// DRAM into double-buffered SRAM with a bounded number of outstanding requests; a dequantizer turns codes into
// fp16 through per-row centroid tables (or group scale/zero); the MAC array and the vector unit compute. Every
// part is event-driven: threads wake when a tile arrives or a unit finishes, never once per clock.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hw_models/dram/i_dram.h"
#include "hw_models/mac_dataflow.h"
#include "workloads/workloads.h"

namespace npusim {
class ConfigSection;
}

namespace npusim::hw {

// What one vector function costs on the vector unit (config.cc declares the defaults and why).
struct VectorCost {
  int64_t passes = 1;               // sweeps over the elements
  double cycles_per_element = 1.0;  // per element, pass and lane
};

// Every field is declared, with its unit, meaning, default and range, once: in config.cc (read_npu_config).
struct NpuConfig {
  std::string name;
  std::string description;
  double core_clock_mhz = 0;
  int64_t mac_rows = 0, mac_cols = 0;
  std::string mac_dataflow;  // dataflow_names()
  bool mac_double_buffered = true;
  int64_t gemv_lanes = 0, gemv_macs_per_lane = 0;  // the GEMV engine beside the MAC array (0 lanes: none)
  std::string gemv_runs;                           // "linears" or "all" (linears and attention products)
  int64_t vector_lanes = 0;
  bool vector_overlap_elementwise = true;
  std::array<VectorCost, workloads::kVectorFunctions> vector_costs{};  // indexed by workloads::VectorFunction
  int64_t dequant_codes_per_cycle = 0, dequant_table_rows = 0, dequant_table_load_cycles = 0;
  int64_t weight_buffer_bytes = 0, weight_buffers = 0;
  int64_t activation_buffer_bytes = 0, attention_scratch_bytes = 0;                   // 0: unbounded
  int64_t activation_read_bytes_per_cycle = 0, activation_write_bytes_per_cycle = 0;  // 0: unbounded
  int64_t dma_request_bytes = 0, dma_max_outstanding = 0;
  double mac_pj = 0, sram_read_pj_per_byte = 0, sram_write_pj_per_byte = 0;
  DramConfig dram;

  uint64_t core_period_ps() const;  // rounded to a whole picosecond
  double peak_macs_per_s() const;   // mac_rows * mac_cols per core cycle
  ArrayShape mac_array_shape() const;
  ArrayShape gemv_engine_shape() const;                       // lanes as rows, MACs per lane as cols
  ArrayShape array_shape_for(const workloads::Op& op) const;  // the GEMV engine's or the MAC array's
  // Cycles the activation SRAM's ports take for `read` and `write` bytes: the slower port's (0 when unbounded).
  uint64_t sram_cycles(uint64_t read_bytes, uint64_t write_bytes) const;
  // Vector-unit cycles of `op`: ceil(elements x passes x cycles_per_element / lanes) of its function.
  uint64_t vector_cycles(const workloads::Op& op) const;
  // A vector operator's cycles as the NPU spends them: its function's, or its activation SRAM traffic's on the
  // SRAM's ports, whichever is longer.
  uint64_t vector_op_cycles(const workloads::Op& op) const;
  // The elementwise vector operator that runs overlapped with the linear ops[i] (consuming its output tiles as
  // they come), the next operator the NPU runs after it (placement-only ones skipped); null if none.
  const workloads::Op* overlapped_vector_op(const std::vector<workloads::Op>& ops, size_t i) const;
  // Whether `op` runs on the GEMV engine: there is one, the op is a matrix-vector product (one token), and it is
  // of a kind the engine takes.
  bool runs_on_gemv_engine(const workloads::Op& op) const;
};

// Reads an NPU document through declared fields (ConfigSection::for_docs lists them for `npusim describe npu`).
// Calls finish() on every section it reads, so unknown keys are errors.
NpuConfig read_npu_config(ConfigSection& section);

// Throws InputError naming `npu_file` and sram.weight_buffer_bytes when one output row of a linear in `ops`
// (codes, table and bias) does not fit one tile buffer.
void check_tiles_fit(const NpuConfig& config, const std::vector<workloads::Op>& ops, const std::string& npu_file);

// What the NPU counts for one operator class (workloads::OpClass): the core's time on the class's operators (it
// runs operators one after another, so its time splits exactly over the classes) and each unit's work on them.
// Elementwise vector work that overlaps the linear before it counts with that linear's class, whose time holds it.
struct OpClassCounters {
  uint64_t time_ps = 0;          // the core's time on the class's operators, waits for data included
  uint64_t compute_wait_ps = 0;  // of which the core waited for a tile
  uint64_t macs = 0;
  uint64_t array_busy_cycles = 0;                      // systolic MAC array cycles
  uint64_t gemv_busy_cycles = 0;                       // GEMV engine cycles
  uint64_t pe_busy_cycles = 0;                         // PEs x busy cycles (utilisation's denominator)
  uint64_t vector_busy_cycles = 0;                     // vector-unit cycles
  uint64_t dequant_busy_cycles = 0;                    // dequantizer cycles on the class's tiles
  uint64_t dram_read_bytes = 0, dram_write_bytes = 0;  // the class's own bytes on the bus (whole bursts)
};
using ClassCounters = std::array<OpClassCounters, workloads::kOpClasses>;  // indexed by workloads::OpClass
void add_counters(OpClassCounters* to, const OpClassCounters& d);          // field by field

// What the NPU counts while it runs, summed over a stretch of time.
struct PhaseCounters {
  uint64_t dram_read_bytes = 0, dram_write_bytes = 0;  // bytes on the DRAM data bus (whole bursts)
  uint64_t dram_busy_ps = 0;                           // summed over channels
  uint64_t dram_row_hits = 0, dram_row_misses = 0, dram_row_conflicts = 0;  // command model, per burst
  uint64_t dram_activates = 0, dram_precharges = 0, dram_refreshes = 0;
  uint64_t dram_row_misses_after_refresh = 0;  // of dram_row_misses (DramStats::row_misses_after_refresh)
  uint64_t dram_read_requests = 0, dram_write_requests = 0;  // requests handed to the DRAM
  uint64_t dram_write_drains = 0;                            // command model: write-queue drains
  uint64_t dram_read_latency_sum_ps = 0;                     // over read requests: completion - issue
  double dram_energy_pj = 0;  // commands and bits (background power is added by whoever knows the wall of time)
  uint64_t macs = 0;
  uint64_t mac_busy_cycles = 0, dequant_busy_cycles = 0, vector_busy_cycles = 0;
  uint64_t tiles = 0, table_loads = 0;
  uint64_t compute_wait_ps = 0;  // the MAC array / vector unit idle, waiting for a tile (memory stall)
  uint64_t buffer_stall_ps = 0;  // the DRAM idle because the streamer had no free SRAM buffer (compute stall)
  ClassCounters by_class{};      // the same time and work by operator class
};

// The counters the DRAM keeps, from its statistics (the others zero).
PhaseCounters dram_counters(const DramStats& d);
// Sets the DRAM's counters of `to` to those of `from`, the others left as they are.
void copy_dram_counters(const PhaseCounters& from, PhaseCounters* to);
// after - before, field by field.
PhaseCounters counters_between(const PhaseCounters& before, const PhaseCounters& after);
// to += d x times, each integer counter rounded to the nearest whole (extrapolation by a measured period).
void add_scaled(PhaseCounters* to, const PhaseCounters& d, double times);

// Where a phase stood when the core finished a unit of work (a decoder layer's last operator, or one tile of a
// large operator outside the stack): time and counters since the start of the phase. The fast path measures the
// period of steady-state units from these.
struct Mark {
  uint64_t unit = 0;  // layer or tile index
  uint64_t elapsed_ps = 0;
  PhaseCounters counters;
};

// The tiles of one operator outside the decoder stack (embedding, lm_head) that took more than one tile.
struct OpTileMarks {
  std::string op;
  std::vector<Mark> tiles;
};

// What one phase (a prefill or a decode step) cost, measured by the simulation.
struct PhaseStats : PhaseCounters {
  uint64_t start_ps = 0, end_ps = 0;
  std::vector<Mark> layer_ends;       // in layer order
  std::vector<OpTileMarks> op_tiles;  // in operator order
  // The phase's DRAM read requests by latency: (bin of DramStats::read_latency_ns_histogram, requests), the bins
  // it added to, in order.
  std::vector<std::pair<uint32_t, uint64_t>> read_latency_bins;
  uint64_t time_ps() const { return end_ps - start_ps; }
};

// The bytes the NPU moves on the DRAM bus for a phase's operators, computed without simulating: the streamer's
// tiles and requests, every request's whole bursts, and the posted KV-cache writes. Equal to what the simulation
// counts (tensors are 4 KiB-aligned, so it does not depend on where they land).
struct PhaseBusBytes {
  uint64_t read_bytes = 0, write_bytes = 0;
  std::array<uint64_t, workloads::kOpClasses> class_read_bytes{}, class_write_bytes{};  // by workloads::OpClass
  // The largest power of two, at most the tensors' 4 KiB alignment and the DMA's request size, that divides the
  // start and the end of every range the phase moves (offsets from 4 KiB-aligned tensor bases): the granule at
  // which its requests begin and end across the channel interleave (IDram::sample_channels).
  uint64_t boundary_align_bytes = 0;
};
PhaseBusBytes phase_bus_bytes(const NpuConfig& config, const std::vector<workloads::Op>& ops);

// Hands phases to the NPU one at a time and receives their statistics.
class IWorkSource {
 public:
  virtual ~IWorkSource() = default;
  // The next phase's operators, or nullptr when there is no more work. The vector stays valid until the
  // matching phase_done() returns.
  virtual const std::vector<workloads::Op>* next_phase() = 0;
  virtual void phase_done(const PhaseStats& stats) = 0;
  // How many DRAM channels the phase next_phase() just handed out is simulated on (IDram::sample_channels; 0:
  // every channel): a sample of a phase's repeating work may take a few; a phase simulated whole as many as its
  // ranges can begin or end in, with only identical channels mirrored (below).
  virtual uint64_t dram_channels_to_simulate() const { return 0; }
  // Whether those channels stand for the others only where their states are equal (IDram::sample_channels'
  // only_identical): then the result is that of every channel, to the bit.
  virtual bool dram_channels_only_identical() const { return false; }
};

struct SimulationEnd {
  uint64_t end_ps = 0;  // simulated time when the last phase ended
  DramStats dram;       // the DRAM's statistics over the whole simulation
};

// Elaborates the NPU and runs every phase the source hands out, in order, in one sc_start. SystemC elaborates
// once per process: call this at most once per process (tests fork).
SimulationEnd simulate(const NpuConfig& config, IWorkSource& source);

}  // namespace npusim::hw

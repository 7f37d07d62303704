// ramulator2_driver: replays an `npusim dram-bench --dump-stream` request stream on Ramulator 2.1 and prints one
// JSON object (bandwidth, end time, average read latency) for scripts/dram_compare/compare.py.
//
// It builds the memory system from a fully expanded Ramulator YAML (compare.py writes it with Ramulator's own
// exporter: `python3 -m ramulator export`), with the External frontend: every burst goes in through
// receive_external_requests() with a callback, and the memory system is ticked once per DRAM tick (for HBM3 a
// tick is half a command clock). Ramulator specifics:
//   - a read's callback fires at its departure (last data); Request::depart is that tick;
//   - a write's callback fires when its WR command issues (not posted), so the run's end includes the last write
//     reaching DRAM; the write itself counts as done for the requester when send() accepts it;
//   - the channel is picked by the CacheLineInterleave mapper (bits just above the burst), and the controller's
//     mapper (RoBaRaCoCh in compare.py's configs) picks the rest: --dst-map says where each field lies
//     ("robabgracoch" for RoBaRaCoCh; the HBM pseudo-channel level plays the rank);
//   - --stats-out FILE gets Ramulator's statistics (YAML: row hits, misses, conflicts, refreshes served).
//
// Build: g++ -std=c++20 -O2 -I$RAMULATOR2_DIR/src ramulator2_driver.cc -L$RAMULATOR2_DIR -lramulator
//        -Wl,-rpath,$RAMULATOR2_DIR -o ramulator2_driver
#include <fstream>

#include "ramulator/base/config.h"
#include "ramulator/base/factory.h"
#include "ramulator/base/request.h"
#include "ramulator/frontend/i_frontend.h"
#include "ramulator/memory_system/i_memory_system.h"
#include "stream_replay.h"

namespace {

using namespace dram_compare;

const char kUsage[] =
    "ramulator2_driver --config RAMULATOR.yaml --stream STREAM.txt --tick-ns T --org CH,RA,BG,BA,ROWS,"
    "BURSTS_PER_ROW,BURST_BYTES\n"
    "                  [--src-map npusim field string] [--dst-map robabgracoch] [--stats-out FILE]\n";

class Ramulator2 {
 public:
  static constexpr bool kReportsWriteIssue = true;
  static constexpr bool kHandOverInCallback = false;

  Ramulator2(const std::string& yaml, Replay<Ramulator2>* replay, int burst_bytes)
      : replay_(replay), burst_bytes_(burst_bytes) {
    const Ramulator::ConfigNode config = Ramulator::Config::parse_config_file(yaml);
    frontend_ = Ramulator::Factory::create_frontend(config);
    memory_ = Ramulator::Factory::create_memory_system(config);
    frontend_->connect_memory_system(memory_);
    memory_->connect_frontend(frontend_);
    if (memory_->get_tx_bytes() != burst_bytes) {
      fail("Ramulator's transaction is " + std::to_string(memory_->get_tx_bytes()) + " bytes, the stream's burst " +
           std::to_string(burst_bytes));
    }
  }
  uint64_t now() const { return clk_; }
  bool try_send(uint64_t address, bool is_write, uint64_t burst) {
    const int type = is_write ? Ramulator::Request::Type::Write : Ramulator::Request::Type::Read;
    return frontend_->receive_external_requests(
        type, static_cast<Ramulator::Addr_t>(address), 0,
        [this, burst, is_write](Ramulator::Request& req) {
          if (is_write) {
            // Inside tick() the controller's clock is already clk_ + 1; a write merged into a queued one at
            // send() is "issued" with it, now.
            replay_->write_issued(burst, in_tick_ ? clk_ + 1 : clk_);
          } else {
            replay_->read_done(burst, static_cast<uint64_t>(req.depart));
          }
        },
        burst_bytes_);
  }
  void tick() {
    in_tick_ = true;
    memory_->tick();  // the controllers advance to clk_ + 1 first, then serve reads departing there
    in_tick_ = false;
    ++clk_;
  }
  void write_stats(const std::string& path) {
    frontend_->finalize();
    memory_->finalize();
    std::ofstream out(path);
    memory_->print_stats(out);
  }

 private:
  Replay<Ramulator2>* replay_;
  int burst_bytes_;
  Ramulator::IFrontEnd* frontend_ = nullptr;
  Ramulator::IMemorySystem* memory_ = nullptr;
  uint64_t clk_ = 0;
  bool in_tick_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv, kUsage, "robabgracoch");
  const Stream stream = read_stream(o.stream);
  const FieldMap src(o.src_map, o.org), dst(o.dst_map, o.org);
  Replay<Ramulator2> replay(stream, src, dst, o.org);
  Ramulator2 sim(o.config, &replay, static_cast<int>(o.org.burst_bytes));
  const Result r = replay.run(sim);
  if (!o.stats_out.empty()) sim.write_stats(o.stats_out);
  print_result("ramulator2", r, o.tick_ns);
  return 0;
}

// dramsim3_driver: replays an `npusim dram-bench --dump-stream` request stream on DRAMsim3 and prints one JSON
// object (bandwidth, end time, average read latency) for scripts/dram_compare/compare.py.
//
// It uses only DRAMsim3's public interface (dramsim3.h): GetMemorySystem with a read and a write callback,
// WillAcceptTransaction / AddTransaction for each burst, ClockTick once per DRAMsim3 clock. The hand-over rules
// and address re-encoding are in stream_replay.h. DRAMsim3 specifics:
//   - its read callback passes only the address, and it merges reads to one address that are in flight together,
//     so in-flight reads are matched to callbacks per address, oldest first;
//   - its callbacks for cycle t run inside ClockTick before any controller acts in t, so the requests a completion
//     releases are handed over from inside the callback, in cycle t (as npusim and the Ramulator driver do);
//   - its write callback fires one cycle after AddTransaction (posted) and nothing reports when a write reaches
//     DRAM, so the run ends at the last read completion or write acceptance, whichever is later (the writes still
//     in its write buffer then are not timed: at most one buffer's drain);
//   - --stats-out DIR makes it write its own statistics there (dramsim3.json: command counts, row hits).
//
// Build: g++ -std=c++17 -O2 -I$DRAMSIM3_DIR/src dramsim3_driver.cc -L$DRAMSIM3_DIR -ldramsim3
//        -Wl,-rpath,$DRAMSIM3_DIR -o dramsim3_driver
#include <dramsim3.h>

#include <deque>
#include <memory>
#include <unordered_map>

#include "stream_replay.h"

namespace {

using namespace dram_compare;

const char kUsage[] =
    "dramsim3_driver --config SYSTEM.ini --stream STREAM.txt --tick-ns T --org CH,RA,BG,BA,ROWS,BURSTS_PER_ROW,"
    "BURST_BYTES\n"
    "                [--src-map npusim field string] [--dst-map the .ini's address_mapping] [--stats-out DIR]\n";

class DramSim3 {
 public:
  static constexpr bool kReportsWriteIssue = false;
  static constexpr bool kHandOverInCallback = true;

  DramSim3(const std::string& ini, const std::string& out_dir, Replay<DramSim3>* replay) : replay_(replay) {
    mem_.reset(dramsim3::GetMemorySystem(
        ini, out_dir, [this](uint64_t address) { on_read(address); }, [](uint64_t) {}));
  }
  uint64_t now() const { return clk_; }
  bool try_send(uint64_t address, bool is_write, uint64_t burst) {
    if (!mem_->WillAcceptTransaction(address, is_write)) return false;
    mem_->AddTransaction(address, is_write);
    if (!is_write) reads_[address].push_back(burst);
    return true;
  }
  void tick() {
    mem_->ClockTick();  // callbacks inside report completions at cycle clk_
    ++clk_;
  }
  void print_stats() { mem_->PrintStats(); }

 private:
  void on_read(uint64_t address) {
    auto it = reads_.find(address);
    if (it == reads_.end() || it->second.empty()) fail("DRAMsim3 returned a read nobody sent");
    const uint64_t burst = it->second.front();
    it->second.pop_front();
    if (it->second.empty()) reads_.erase(it);
    replay_->read_done(burst, clk_);
  }

  std::unique_ptr<dramsim3::MemorySystem> mem_;
  Replay<DramSim3>* replay_;
  std::unordered_map<uint64_t, std::deque<uint64_t>> reads_;  // address -> bursts in flight, oldest first
  uint64_t clk_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv, kUsage, nullptr);
  const Stream stream = read_stream(o.stream);
  const FieldMap src(o.src_map, o.org), dst(o.dst_map, o.org);
  Replay<DramSim3> replay(stream, src, dst, o.org);
  // DRAMsim3 writes statistics files into its output directory (only at PrintStats and at each epoch, which
  // compare.py's .ini sets beyond the run).
  DramSim3 sim(o.config, o.stats_out.empty() ? "/tmp" : o.stats_out, &replay);
  const Result r = replay.run(sim);
  if (!o.stats_out.empty()) sim.print_stats();
  print_result("dramsim3", r, o.tick_ns);
  return 0;
}

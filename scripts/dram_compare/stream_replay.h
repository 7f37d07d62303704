// Shared by dramsim3_driver.cc and ramulator2_driver.cc: reads a request stream written by
// `npusim dram-bench --dump-stream`, re-encodes each burst's address for the simulator under test, and replays
// the stream with npusim's hand-over rules, so that every simulator sees the same requests at the same moments:
//
//   - requests are handed over in file order; "# window N inorder": request k no earlier than the completion of
//     request k-N; "# window N any": at most N requests in flight;
//   - a request is split into its bursts (burst-aligned); bursts that the controller does not accept yet wait in
//     arrival order, one queue per channel and direction;
//   - a read completes when its last burst's data is delivered; a write is posted: it completes when the
//     controller has accepted all its bursts;
//   - the run ends when every read has completed and every accepted write has been issued to DRAM (where the
//     simulator reports that; otherwise at the last write's acceptance);
//   - bandwidth = requested bytes / end time; read latency = mean over read requests of completion - hand-over.
//
// Address re-encoding: a burst's (channel, rank, bank group, bank, row, column) comes from the address by
// npusim's field string (DRAMsim3 style, most significant field first, two letters each: ro ra bg ba co ch; the
// burst offset below them all; "co" counts bursts in a row); the same coordinates are then packed with the target
// simulator's field string, so the burst lands on the same bank and row there.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dram_compare {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(2);
}

inline unsigned log2_exact(uint64_t v, const char* what) {
  if (v == 0 || (v & (v - 1)) != 0) fail(std::string(what) + " must be a power of two, got " + std::to_string(v));
  unsigned bits = 0;
  while ((uint64_t{1} << bits) < v) ++bits;
  return bits;
}

// Field order used everywhere below.
enum Field { kCh, kRa, kBg, kBa, kRo, kCo, kFields };
constexpr const char* kFieldNames[kFields] = {"ch", "ra", "bg", "ba", "ro", "co"};

struct Coord {
  uint64_t f[kFields] = {};
};

// Counts per field: channels, ranks, bank groups, banks per group, rows, bursts per row.
struct Org {
  uint64_t count[kFields] = {1, 1, 1, 1, 1, 1};
  uint64_t burst_bytes = 64;
};

// An address layout given by a field string such as "rorabacobgch".
class FieldMap {
 public:
  FieldMap(const std::string& scheme, const Org& org) : scheme_(scheme) {
    if (scheme.size() != 2 * kFields) fail("address mapping '" + scheme + "' must name six two-letter fields");
    burst_shift_ = log2_exact(org.burst_bytes, "burst bytes");
    bool seen[kFields] = {};
    unsigned shift = burst_shift_;
    for (int i = kFields - 1; i >= 0; --i) {  // least significant field last in the string
      const std::string name = scheme.substr(2 * i, 2);
      int field = -1;
      for (int f = 0; f < kFields; ++f) field = name == kFieldNames[f] ? f : field;
      if (field < 0 || seen[field]) fail("address mapping '" + scheme + "': bad or repeated field '" + name + "'");
      seen[field] = true;
      shift_[field] = shift;
      bits_[field] = log2_exact(org.count[field], kFieldNames[field]);
      shift += bits_[field];
    }
  }
  Coord decode(uint64_t address) const {
    Coord c;
    for (int f = 0; f < kFields; ++f) c.f[f] = (address >> shift_[f]) & ((uint64_t{1} << bits_[f]) - 1);
    return c;
  }
  uint64_t encode(const Coord& c) const {
    uint64_t a = 0;
    for (int f = 0; f < kFields; ++f) a |= c.f[f] << shift_[f];
    return a;
  }
  const std::string& scheme() const { return scheme_; }

 private:
  std::string scheme_;
  unsigned burst_shift_ = 0;
  unsigned shift_[kFields] = {};
  unsigned bits_[kFields] = {};
};

struct StreamRequest {
  bool is_write = false;
  uint64_t address = 0, bytes = 0;
};

struct Stream {
  uint64_t window = 1;
  bool inorder = true;
  uint64_t burst_bytes = 0;  // from the header (0: not given)
  std::vector<StreamRequest> requests;
};

inline Stream read_stream(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open stream " + path);
  Stream s;
  bool have_window = false;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream ls(line);
    if (line[0] == '#') {
      std::string hash, key;
      ls >> hash >> key;
      if (key == "window") {
        std::string kind;
        ls >> s.window >> kind;
        if (kind != "inorder" && kind != "any") fail(path + ": '# window N inorder|any' expected");
        s.inorder = kind == "inorder";
        have_window = true;
      } else if (key == "burst_bytes") {
        ls >> s.burst_bytes;
      }
      continue;  // other header lines are informative only
    }
    std::string op;
    StreamRequest r;
    if (!(ls >> op >> r.address >> r.bytes) || (op != "R" && op != "W") || r.bytes == 0) {
      fail(path + ":" + std::to_string(line_no) + ": expected 'R|W ADDRESS BYTES'");
    }
    r.is_write = op == "W";
    s.requests.push_back(r);
  }
  if (!have_window || s.window == 0) fail(path + ": no '# window N inorder|any' header line");
  return s;
}

struct Options {
  std::string config, stream, stats_out;
  std::string src_map = "rorabacobgch", dst_map;
  Org org;
  double tick_ns = 0;  // simulator clock period (Ramulator's HBM3 ticks at half the command clock)
};

// Parses the flags of both drivers.
// `default_dst`: the target layout when --dst-map is not given (nullptr: the same as --src-map).
inline Options parse_options(int argc, char** argv, const char* usage, const char* default_dst) {
  Options o;
  std::string org;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::printf("%s", usage);
      std::exit(0);
    }
    if (i + 1 >= argc) fail("flag " + flag + " needs a value\n" + usage);
    const std::string value = argv[++i];
    if (flag == "--config") o.config = value;
    else if (flag == "--stream") o.stream = value;
    else if (flag == "--stats-out") o.stats_out = value;
    else if (flag == "--src-map") o.src_map = value;
    else if (flag == "--dst-map") o.dst_map = value;
    else if (flag == "--org") org = value;
    else if (flag == "--tick-ns") o.tick_ns = std::atof(value.c_str());
    else fail("unknown flag " + flag + "\n" + usage);
  }
  if (o.config.empty() || o.stream.empty() || org.empty() || o.tick_ns <= 0) fail(std::string("missing flags\n") + usage);
  // --org CH,RA,BG,BA,ROWS,BURSTS_PER_ROW,BURST_BYTES
  std::vector<uint64_t> v;
  std::stringstream ss(org);
  for (std::string item; std::getline(ss, item, ',');) v.push_back(std::strtoull(item.c_str(), nullptr, 10));
  if (v.size() != 7) fail("--org wants CH,RA,BG,BA,ROWS,BURSTS_PER_ROW,BURST_BYTES");
  for (int f = 0; f < kFields; ++f) o.org.count[f] = v[f];
  o.org.burst_bytes = v[6];
  if (o.dst_map.empty()) o.dst_map = default_dst ? default_dst : o.src_map;
  return o;
}

struct Result {
  uint64_t requests = 0, reads = 0, writes = 0, bytes = 0, bursts = 0;
  uint64_t end_cycle = 0;
  double read_latency_sum_cycles = 0;
  bool write_issue_observed = false;
};

// Replays `stream` on `sim`, which provides:
//   uint64_t now() const;                                  the cycle about to be simulated
//   bool try_send(uint64_t address, bool is_write, uint64_t burst);   false: not accepted this cycle
//   void tick();                                           simulates cycle now(), then now() advances
//   static constexpr bool kReportsWriteIssue;              whether it calls write_issued()
//   static constexpr bool kHandOverInCallback;             whether read_done() may hand over (and send) at once
// and calls back replay.read_done(burst, cycle) and replay.write_issued(burst, cycle).
template <class Sim>
class Replay {
 public:
  Replay(const Stream& stream, const FieldMap& src, const FieldMap& dst, const Org& org)
      : stream_(stream), src_(src), dst_(dst), org_(org), backlog_(org.count[kCh] * 2) {
    if (stream.burst_bytes != 0 && stream.burst_bytes != org.burst_bytes) {
      fail("stream burst_bytes " + std::to_string(stream.burst_bytes) + " differs from --org's " +
           std::to_string(org.burst_bytes));
    }
    reqs_.resize(stream.requests.size());
  }

  void read_done(uint64_t burst, uint64_t cycle) {
    Req& r = reqs_[burst_request_[burst]];
    if (--r.bursts_left == 0) complete(r, cycle);
    last_read_done_ = std::max(last_read_done_, cycle);
    // A simulator whose callbacks run before its controllers act in the same cycle takes the requests that this
    // completion lets go in that cycle, as npusim does.
    if constexpr (Sim::kHandOverInCallback) pump();
  }
  void write_issued(uint64_t /*burst*/, uint64_t cycle) {
    ++writes_issued_;
    last_write_issue_ = std::max(last_write_issue_, cycle);
  }

  Result run(Sim& sim) {
    sim_ = &sim;
    const size_t n = reqs_.size();
    uint64_t idle_cycles = 0;
    while (true) {
      pump();
      if (next_ == n && completed_ == n && (!Sim::kReportsWriteIssue || writes_issued_ == writes_accepted_)) break;
      const uint64_t before = completed_ + writes_issued_;
      sim.tick();
      idle_cycles = completed_ + writes_issued_ == before ? idle_cycles + 1 : 0;
      if (idle_cycles > 50000000) fail("no progress for 50M cycles (a request the simulator never serves?)");
    }
    Result res;
    res.requests = n;
    for (size_t i = 0; i < n; ++i) {
      const StreamRequest& s = stream_.requests[i];
      res.bytes += s.bytes;
      if (s.is_write) {
        ++res.writes;
      } else {
        ++res.reads;
        res.read_latency_sum_cycles += static_cast<double>(reqs_[i].done - reqs_[i].handover);
      }
    }
    res.bursts = burst_request_.size();
    res.end_cycle = std::max(last_read_done_, Sim::kReportsWriteIssue ? last_write_issue_ : last_write_accept_);
    res.write_issue_observed = Sim::kReportsWriteIssue;
    return res;
  }

 private:
  struct Req {
    uint64_t bursts_left = 0, handover = 0, done = 0;
    bool finished = false;
  };
  struct Pending {
    uint64_t address, burst;
  };

  // Hands over every request that may go now and offers the waiting bursts until nothing changes (a posted write
  // accepted now may free a slot for the next request now).
  void pump() {
    bool progress = true;
    while (progress) {
      progress = false;
      while (next_ < reqs_.size() && may_hand_over(next_)) {
        hand_over(next_++, sim_->now());
        progress = true;
      }
      for (size_t q = 0; q < backlog_.size(); ++q) {
        auto& b = backlog_[q];
        while (!b.empty() && sim_->try_send(b.front().address, q % 2 == 1, b.front().burst)) {
          accepted(b.front().burst, q % 2 == 1, sim_->now());
          b.pop_front();
          progress = true;
        }
      }
    }
  }
  bool may_hand_over(size_t k) const {
    if (stream_.inorder) return k < stream_.window || reqs_[k - stream_.window].finished;
    return in_flight_ < stream_.window;
  }
  void hand_over(size_t k, uint64_t cycle) {
    const StreamRequest& s = stream_.requests[k];
    const uint64_t b = org_.burst_bytes;
    Req& r = reqs_[k];
    r.handover = cycle;
    ++in_flight_;
    for (uint64_t a = s.address / b * b; a < s.address + s.bytes; a += b) {
      const Coord c = src_.decode(a);
      backlog_[c.f[kCh] * 2 + (s.is_write ? 1 : 0)].push_back({dst_.encode(c), burst_request_.size()});
      burst_request_.push_back(k);
      ++r.bursts_left;
    }
  }
  void accepted(uint64_t burst, bool is_write, uint64_t cycle) {
    if (!is_write) return;
    ++writes_accepted_;
    last_write_accept_ = std::max(last_write_accept_, cycle);
    Req& r = reqs_[burst_request_[burst]];
    if (--r.bursts_left == 0) complete(r, cycle);
  }
  void complete(Req& r, uint64_t cycle) {
    r.finished = true;
    r.done = cycle;
    --in_flight_;
    ++completed_;
  }

  Sim* sim_ = nullptr;
  const Stream& stream_;
  const FieldMap& src_;
  const FieldMap& dst_;
  Org org_;
  std::vector<std::deque<Pending>> backlog_;  // per channel: [2c] reads, [2c+1] writes
  std::vector<Req> reqs_;
  std::vector<uint64_t> burst_request_;  // burst id -> request index
  size_t next_ = 0, completed_ = 0, in_flight_ = 0;
  uint64_t writes_accepted_ = 0, writes_issued_ = 0;
  uint64_t last_read_done_ = 0, last_write_accept_ = 0, last_write_issue_ = 0;
};

// One JSON object on stdout: the figures compare.py reads.
inline void print_result(const char* simulator, const Result& r, double tick_ns) {
  const double end_ns = static_cast<double>(r.end_cycle) * tick_ns;
  std::printf(
      "{\"simulator\": \"%s\", \"requests\": %llu, \"reads\": %llu, \"writes\": %llu, \"bursts\": %llu, "
      "\"bytes\": %llu, \"cycles\": %llu, \"tick_ns\": %.6f, \"end_ns\": %.3f, \"gbps\": %.4f, "
      "\"read_latency_avg_ns\": %s, \"write_issue_observed\": %s}\n",
      simulator, (unsigned long long)r.requests, (unsigned long long)r.reads, (unsigned long long)r.writes,
      (unsigned long long)r.bursts, (unsigned long long)r.bytes, (unsigned long long)r.end_cycle, tick_ns, end_ns,
      end_ns > 0 ? static_cast<double>(r.bytes) / end_ns : 0.0,
      r.reads ? std::to_string(r.read_latency_sum_cycles / static_cast<double>(r.reads) * tick_ns).c_str() : "null",
      r.write_issue_observed ? "true" : "false");
}

}  // namespace dram_compare

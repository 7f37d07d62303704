// pmpd-trace JSON Lines (traces/trace_io.cc). Seeds: traces/.
#include <sstream>

#include "tests/fuzz/fuzz_input.h"
#include "traces/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return npusim::fuzz::accept_only_input_errors([&] {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    npusim::traces::parse_trace(in, "fuzz.jsonl");
  });
}

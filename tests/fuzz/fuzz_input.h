// What every fuzz target shares: the input written to a file of its own (the loaders read files), and the rule
// that an input may only end in an InputError. Anything else that escapes (another exception, a crash, a
// sanitizer report, a timeout, an allocation above libFuzzer's -malloc_limit_mb) is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"

namespace npusim::fuzz {

// A file holding the input, unique to this process, rewritten for every input.
inline std::string input_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path = "/tmp/npusim_fuzz_" + std::to_string(getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return path;
  if (size > 0) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

// Runs `load`, which may throw InputError for bad input and nothing else.
template <class F>
int accept_only_input_errors(F&& load) {
  try {
    load();
  } catch (const InputError&) {
    // the contract: a clear error
  }
  return 0;
}

}  // namespace npusim::fuzz

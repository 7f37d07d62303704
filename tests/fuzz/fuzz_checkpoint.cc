// llama2.c checkpoints, legacy and version 1 (decoder/checkpoint.cc). Seeds: tests/fuzz/corpus/checkpoint.
#include "decoder/llama.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file = npusim::fuzz::input_file(data, size, ".bin");
  return npusim::fuzz::accept_only_input_errors([&] { npusim::decoder::load_checkpoint(file); });
}

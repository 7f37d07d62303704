// Any-precision model files (decoder/quantized_model.cc). Seeds: tests/fuzz/corpus/npaq.
#include "decoder/quantize.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file = npusim::fuzz::input_file(data, size, ".npaq");
  return npusim::fuzz::accept_only_input_errors([&] { npusim::decoder::load_quantized(file); });
}

// llama2.c tokenizers (decoder/tokenizer.cc), read for a vocabulary of 512 (stories260K's), then used to encode
// and decode. Seeds: tests/fuzz/corpus/tokenizer.
#include "decoder/llama.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file = npusim::fuzz::input_file(data, size, ".tok");
  return npusim::fuzz::accept_only_input_errors([&] {
    const npusim::decoder::Tokenizer t(file, 512);
    int previous = 1;
    for (const int token : t.encode("Once upon a time, a cat", true, true)) {
      t.decode(previous, token);
      previous = token;
    }
  });
}

// Hugging Face config.json model shapes (workloads/model.cc). Seeds: tests/fuzz/corpus/config_json.
#include "tests/fuzz/fuzz_input.h"
#include "workloads/workloads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file = npusim::fuzz::input_file(data, size, ".json");
  return npusim::fuzz::accept_only_input_errors([&] { npusim::workloads::load_hf_config(file); });
}

// The YAML documents: NPU, model, run and sweep files, one target for all (the first byte picks the kind, the
// rest is the document). Runs and sweeps name other files relative to theirs; those mostly do not exist, which
// is an InputError like any other. Seeds: configs/.
#include "common/config.h"
#include "hw_models/npu.h"
#include "sim/run_config.h"
#include "sim/sweep.h"
#include "tests/fuzz/fuzz_input.h"
#include "workloads/workloads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int kind = data[0] % 4;
  const std::string file = npusim::fuzz::input_file(data + 1, size - 1, ".yaml");
  return npusim::fuzz::accept_only_input_errors([&] {
    switch (kind) {
      case 0: {
        npusim::ConfigSection s(npusim::load_yaml_file(file), file);
        npusim::hw::read_npu_config(s);
        break;
      }
      case 1:
        npusim::workloads::load_model_yaml(file);
        break;
      case 2:
        npusim::sim::load_run_config(file, std::vector<std::string>{});
        break;
      default:
        npusim::sim::load_sweep_spec(file, 100);
        break;
    }
  });
}

// Tests build NPUs from YAML text through the same declared fields as a config file (the defaults live only in
// hw_models/config.cc).
#pragma once

#include <string>

#include "common/config.h"
#include "hw_models/npu.h"

namespace npusim::testing {

inline hw::NpuConfig npu_from_yaml(const std::string& yaml) {
  ConfigSection section(YAML::Load(yaml), "<test>");
  return hw::read_npu_config(section);
}

}  // namespace npusim::testing

#include "common/error.h"
#include "hw_models/dram/i_dram.h"
#include "hw_models/dram/impl/channel_dram.h"
#include "hw_models/dram/impl/command_dram.h"

namespace npusim::hw {

std::vector<std::string> dram_model_names() {
  return {"channel", "command"};
}

std::unique_ptr<IDram> make_dram(const DramConfig& config) {
  if (config.model == "channel") return std::make_unique<ChannelDram>(config);
  if (config.model == "command") return std::make_unique<CommandDram>(config);
  std::string known;
  for (const std::string& n : dram_model_names()) known += (known.empty() ? "" : ", ") + n;
  throw InputError("dram.model: unknown DRAM model '" + config.model + "' (known: " + known + ")");
}

}  // namespace npusim::hw

#include <algorithm>
#include <functional>
#include <queue>
#include <stdexcept>

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

void IDram::access_stream(std::vector<DramRequest>& requests) {
  uint64_t handover_ps = 0;
  // Completions not yet waited for, earliest first (booked in order, each is known when its request is).
  std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<>> unclaimed;
  for (DramRequest& r : requests) {
    handover_ps = std::max(handover_ps, r.issue_ps);
    if (r.after >= 0) handover_ps = std::max(handover_ps, requests[static_cast<size_t>(r.after)].done_ps);
    if (r.after_a_completion) {
      if (unclaimed.empty()) throw std::logic_error("DramRequest::after_a_completion with no request in flight");
      handover_ps = std::max(handover_ps, unclaimed.top());
      unclaimed.pop();
    }
    r.done_ps = access(r.address, r.bytes, r.is_write, handover_ps);
    unclaimed.push(r.done_ps);
  }
}

}  // namespace npusim::hw

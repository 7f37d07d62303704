#include "common/flags.h"

#include <cmath>
#include <stdexcept>

#include "common/error.h"

namespace npusim {

uint64_t parse_count_flag(const std::string& flag, const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    throw InputError(flag + ": expected a non-negative integer, got '" + text + "'");
  }
  try {
    return std::stoull(text);
  } catch (const std::out_of_range&) {
    throw InputError(flag + ": " + text + " is out of range");
  }
}

double parse_real_flag(const std::string& flag, const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(value)) {
    throw InputError(flag + ": expected a number, got '" + text + "'");
  }
  return value;
}

std::vector<uint64_t> parse_count_list_flag(const std::string& flag, const std::string& text) {
  std::vector<uint64_t> values;
  size_t from = 0;
  for (;;) {
    const size_t comma = text.find(',', from);
    values.push_back(parse_count_flag(flag, text.substr(from, comma == std::string::npos ? comma : comma - from)));
    if (comma == std::string::npos) return values;
    from = comma + 1;
  }
}

}  // namespace npusim

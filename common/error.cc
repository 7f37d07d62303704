#include "common/error.h"

namespace npusim {

std::string location_prefix(const std::string& file, int line) {
  if (line > 0) return file + ":" + std::to_string(line) + ": ";
  return file + ": ";
}

}  // namespace npusim

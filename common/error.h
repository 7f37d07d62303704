// Errors for bad input. Every message names where the fault is (file, line, key or flag) and what was expected,
// so that a user can fix the input without reading the source.
#pragma once

#include <stdexcept>
#include <string>

namespace npusim {

// Bad user input: a config, trace, model file or command-line flag. The CLI prints what() and exits non-zero.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// "file:line: " when the line is known (line is 1-based; 0 means unknown), "file: " otherwise.
std::string location_prefix(const std::string& file, int line);

}  // namespace npusim

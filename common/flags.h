// Numbers given on the command line, parsed strictly: the whole text must be the number ("-1" is not a count,
// "12abc" is not 12). Faults are InputErrors naming the flag.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace npusim {

uint64_t parse_count_flag(const std::string& flag, const std::string& text);  // a non-negative integer
double parse_real_flag(const std::string& flag, const std::string& text);     // a finite number
// A comma list of non-negative integers ("4,3"), each parsed as parse_count_flag does; at least one.
std::vector<uint64_t> parse_count_list_flag(const std::string& flag, const std::string& text);

}  // namespace npusim

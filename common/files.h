// File helpers shared by every writer: results are written to a temporary file and renamed into place, so a
// failed run never leaves a half-written file behind.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace npusim {

// Writes `content` to `path` atomically (temporary file in the same folder, then rename). Throws InputError on
// failure, naming the path.
void write_file_atomic(const std::string& path, const std::string& content);

// Writes several files so that none is half-written: every content goes to its own temporary file first, and
// only when all of them are complete are they renamed into place.
void write_files_atomic(const std::vector<std::pair<std::string, std::string>>& path_and_content);

// Reads a whole file; throws InputError naming the path when it cannot be read.
std::string read_file(const std::string& path);

// Creates a folder and its parents; throws InputError naming the path on failure.
void make_dirs(const std::string& path);

}  // namespace npusim

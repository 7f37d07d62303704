// The npusim subcommands. Each takes the words after its name, prints to stdout, returns the exit code, and
// throws InputError for bad flags or input (main prints it and exits 2).
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace npusim::sim {

int run_command(const std::vector<std::string>& args);
int describe_command(const std::vector<std::string>& args);
int bench_command(const std::vector<std::string>& args);
int dram_bench_command(const std::vector<std::string>& args);
int report_command(const std::vector<std::string>& args);
int sweep_command(const std::vector<std::string>& args);
int decode_command(const std::vector<std::string>& args);
int decode_quality_command(const std::vector<std::string>& args);
int decode_bench_command(const std::vector<std::string>& args);

// Where configs/ and traces/ live when a command needs the project's own files: the working directory if it has
// them, else the source tree the binary was built from.
std::string project_dir();

// Parses a subcommand's flags with Boost, turning its exceptions into InputErrors that name the command, the
// flag and the usage.
boost::program_options::variables_map parse_flags(
    const std::string& command, const std::vector<std::string>& args,
    const boost::program_options::options_description& flags,
    const boost::program_options::positional_options_description& pos);

}  // namespace npusim::sim

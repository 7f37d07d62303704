// Atomic writes: a file appears whole or not at all, and the temporary files a killed writer left behind are
// cleaned up by the next write of the same file.
#include "common/files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace npusim {
namespace {

namespace fs = std::filesystem;

// A writer killed between writing its temporary and renaming it leaves results.json.tmp.PID; the next write of
// results.json removes it (its process is gone), but not the temporary of a writer still running (this
// process's parent stands in for one) nor other files.
TEST(Files, TheNextAtomicWriteRemovesADeadWritersTemporary) {
  const fs::path dir = fs::temp_directory_path() / ("npusim_files_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string target = (dir / "results.json").string();
  // A process id that no longer runs: a child that has exited and been reaped.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  waitpid(child, nullptr, 0);
  const std::string stale = target + ".tmp." + std::to_string(child);
  const std::string live = target + ".tmp." + std::to_string(getppid());
  const std::string other = (dir / "results.csv.tmp.1").string();
  for (const std::string& f : {stale, live, other}) write_file_atomic(f, "partial");
  write_file_atomic(target, "{}");
  EXPECT_EQ(read_file(target), "{}");
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace npusim

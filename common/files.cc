#include "common/files.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace npusim {

namespace {

// A temporary name next to `path`, unique to this process so that concurrent runs never share one.
std::string temporary_name(const std::string& path) {
  return path + ".tmp." + std::to_string(getpid());
}

// Writes and syncs the temporary file: a file renamed into place is complete on disk (a sweep relies on its
// point.json, written last, never reaching the disk before the results it marks finished).
void write_temporary(const std::string& path, const std::string& tmp, const std::string& content) {
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(path + ": cannot write (" + std::strerror(errno) + ")");
  const auto fail = [&](const char* what) {
    const std::string why = std::strerror(errno);
    close(fd);
    std::remove(tmp.c_str());
    throw InputError(path + ": " + what + " (" + why + ")");
  };
  for (size_t done = 0; done < content.size();) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write failed");
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) fail("write failed");
  if (close(fd) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw InputError(path + ": write failed (" + why + ")");
  }
}

// Removes the temporary files of `path` that a killed writer left (PATH.tmp.PID of a process that no longer
// runs); a live writer's, this process's included, are left alone.
void remove_stale_temporaries(const std::string& path) {
  const std::filesystem::path p(path);
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  const std::string prefix = p.filename().string() + ".tmp.";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::filesystem::remove(it->path(), ec);
  }
}

}  // namespace

void write_files_atomic(const std::vector<std::pair<std::string, std::string>>& path_and_content) {
  std::vector<std::string> written;
  const auto discard = [&] {
    for (const std::string& tmp : written) std::remove(tmp.c_str());
  };
  try {
    for (const auto& [path, content] : path_and_content) {
      const std::string tmp = temporary_name(path);
      write_temporary(path, tmp, content);
      written.push_back(tmp);
    }
  } catch (...) {
    discard();
    throw;
  }
  for (size_t i = 0; i < path_and_content.size(); ++i) {
    const std::string& path = path_and_content[i].first;
    if (std::rename(written[i].c_str(), path.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      discard();
      throw InputError(path + ": cannot rename temporary file into place (" + why + ")");
    }
    remove_stale_temporaries(path);
  }
}

void write_file_atomic(const std::string& path, const std::string& content) {
  write_files_atomic({{path, content}});
}

std::string read_file(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw InputError(path + ": is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw InputError(path + ": cannot create folder (" + ec.message() + ")");
}

}  // namespace npusim

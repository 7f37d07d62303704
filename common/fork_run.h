// SystemC elaborates once per process, so whatever builds an NPU more than once per process (tests, the bench)
// runs each simulation in a forked child and gets its numbers back through a pipe.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"

namespace npusim {

// Runs `body` (returning numbers) in a child process; throws with the child's message if it failed.
template <class Body>
std::vector<uint64_t> run_forked(Body body) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::ostringstream out;
    try {
      for (uint64_t v : body()) out << v << ' ';
    } catch (const InputError& e) {
      out.str("");
      out << "INPUT " << e.what();
    } catch (const std::exception& e) {
      out.str("");
      out << "ERROR " << e.what();
    }
    const std::string text = out.str();
    ssize_t written = 0;
    while (written < static_cast<ssize_t>(text.size())) {
      const ssize_t n = write(fds[1], text.data() + written, text.size() - written);
      if (n <= 0) break;
      written += n;
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("simulation child crashed");
  if (text.rfind("INPUT ", 0) == 0) throw InputError(text.substr(6));
  if (text.rfind("ERROR ", 0) == 0) throw std::runtime_error(text.substr(6));
  std::vector<uint64_t> values;
  std::istringstream in(text);
  for (uint64_t v; in >> v;) values.push_back(v);
  return values;
}

}  // namespace npusim

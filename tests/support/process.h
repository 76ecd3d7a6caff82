#pragma once

// Child processes for integration tests: spawned without a shell, stopped with a bounded
// wait, never left behind (the destructor stops them).

#include <chrono>
#include <string>
#include <vector>

namespace rse::test {

// Environment of this process plus overrides ("NAME=value"; "NAME=" with nothing removes NAME).
std::vector<std::string> EnvWith(const std::vector<std::string>& overrides);

class Process {
 public:
  // Starts argv[0] (a path) with stdout and stderr appended to log_path.
  Process(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }
  bool Running();
  // SIGTERM, bounded wait, then SIGKILL. Returns the exit status (or -signal).
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Waits for exit until the deadline; returns false if still running.
  bool Wait(std::chrono::milliseconds timeout, int& status);

 private:
  int pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a command to completion (it must bound itself), capturing stdout and stderr.
CommandResult Run(const std::vector<std::string>& argv, const std::vector<std::string>& env = EnvWith({}),
                  std::chrono::milliseconds timeout = std::chrono::seconds(180));

std::string ReadFile(const std::string& path);

// Polls `condition` every 50 ms until it holds or the timeout passes.
template <typename F>
bool WaitFor(F&& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    struct timespec ts {
      0, 50 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
}

}  // namespace rse::test

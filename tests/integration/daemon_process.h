// DaemonProcess: the real boardsync binary as a child of the test, with its
// stdout and stderr in a log file, an environment the test controls, and
// signals, exit status and a log tail for assertions. The child starts with
// default signal handling and none of the test's file descriptors, so the
// loopback trackers' sockets stay with the test.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace boardsync {

class DaemonProcess {
 public:
  // Starts `argv` (argv[0] is the program's path) with the test's
  // environment minus the variables systemd hands a service, plus `env`
  // ("NAME=value" entries, which win). On failure, error() says why.
  DaemonProcess(std::vector<std::string> argv, const std::vector<std::string>& env,
                std::filesystem::path log)
      : log_(std::move(log)) {
    std::vector<std::string> environment = Environment(env);
    std::vector<char*> argv_ptrs;
    for (std::string& a : argv) {
      argv_ptrs.push_back(a.data());
    }
    argv_ptrs.push_back(nullptr);
    std::vector<char*> env_ptrs;
    for (std::string& e : environment) {
      env_ptrs.push_back(e.data());
    }
    env_ptrs.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);

    // gtest or a test may have blocked or ignored signals; the daemon must
    // see what a service manager gives it.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int s : {SIGHUP, SIGINT, SIGTERM, SIGPIPE}) {
      sigaddset(&defaults, s);
    }
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    const int spawned =
        posix_spawn(&pid_, argv_ptrs[0], &actions, &attributes, argv_ptrs.data(), env_ptrs.data());
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      pid_ = -1;
      error_ = std::string("cannot start ") + argv[0] + ": " + std::strerror(spawned);
    }
  }

  // A child still running here (a failed test) is killed, so it cannot
  // outlive the test and its temporary directory.
  ~DaemonProcess() {
    if (Running()) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  bool started() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  pid_t pid() const { return pid_; }

  bool Signal(int signal) { return Running() && ::kill(pid_, signal) == 0; }

  // Reaps the child when it has exited.
  bool Running() {
    if (pid_ <= 0 || status_) {
      return false;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = status;
      return false;
    }
    return true;
  }

  // The exit code when the child exits within `timeout`; nullopt when it
  // still runs or was killed by a signal (see DescribeStatus()).
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (status_ && WIFEXITED(*status_)) {
      return WEXITSTATUS(*status_);
    }
    return std::nullopt;
  }

  std::string DescribeStatus() {
    if (Running()) {
      return "still running";
    }
    if (!status_) {
      return "never started: " + error_;
    }
    if (WIFEXITED(*status_)) {
      return "exited with " + std::to_string(WEXITSTATUS(*status_));
    }
    if (WIFSIGNALED(*status_)) {
      return std::string("killed by ") + ::strsignal(WTERMSIG(*status_));
    }
    return "status " + std::to_string(*status_);
  }

  // Everything the child wrote so far.
  std::string Log() const {
    std::ifstream in(log_);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // The last `lines` lines of the log, framed for a failure message.
  std::string Tail(std::size_t lines = 30) const {
    std::string log = Log();
    // Back from the end over `lines` line breaks, not counting the last one.
    std::size_t start = log.size() > 0 && log.back() == '\n' ? log.size() - 1 : log.size();
    for (std::size_t breaks = 0; start > 0; --start) {
      if (log[start - 1] == '\n' && ++breaks == lines) {
        break;
      }
    }
    return "\n---- boardsync's output (" + log_.string() + ", last " + std::to_string(lines) +
           " lines) ----\n" + log.substr(start) + "---- end ----\n";
  }

 private:
  static std::vector<std::string> Environment(const std::vector<std::string>& extra) {
    // What systemd or a developer's shell may have set for this test run
    // must not leak into the daemon under test.
    std::set<std::string> drop = {"NOTIFY_SOCKET",         "WATCHDOG_USEC",    "WATCHDOG_PID",
                                  "JOURNAL_STREAM",        "BOARDSYNC_CONFIG", "STATE_DIRECTORY",
                                  "CREDENTIALS_DIRECTORY", "LISTEN_FDS",       "LISTEN_PID"};
    for (const std::string& e : extra) {
      drop.insert(e.substr(0, e.find('=')));
    }
    std::vector<std::string> environment;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry(*e);
      if (!drop.contains(entry.substr(0, entry.find('=')))) {
        environment.push_back(std::move(entry));
      }
    }
    environment.insert(environment.end(), extra.begin(), extra.end());
    return environment;
  }

  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string error_;
};

}  // namespace boardsync

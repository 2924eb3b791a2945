// What the crash-safety tests share (kill_test.cc, jira_kill_test.cc): running
// the real boardsync binary and killing it with SIGKILL after a given time,
// a stamp that changes with every board write, and the replayable seed.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

extern char** environ;

namespace boardsync::killtest {

inline constexpr auto kRunTimeout = std::chrono::seconds(180);

struct RunResult {
  bool killed = false;  // by us, while it ran
  int exit_code = -1;   // when it exited by itself
  double seconds = 0;
  std::string log;
};

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `boardsync <args>` with its output in `log`; kills it with SIGKILL
// once `kill_after` has passed (never when empty, but at kRunTimeout).
// `while_running`, when given, is called every few milliseconds meanwhile.
inline RunResult RunBoardsync(const std::vector<std::string>& args, const std::filesystem::path& log,
                       std::optional<std::chrono::milliseconds> kill_after,
                       const std::function<void()>& while_running = {}) {
  const std::string binary = (BinaryDir() / "boardsync").string();
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // The tracker's sockets stay with the test.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
#endif
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  RunResult result;
  if (spawned != 0) {
    ADD_FAILURE() << "cannot start " << binary << ": " << std::strerror(spawned);
    return result;
  }

  const auto deadline = start + (kill_after ? *kill_after : std::chrono::milliseconds(kRunTimeout));
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      // It may have exited on its own just before the signal.
      result.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
      if (!kill_after) {
        ADD_FAILURE() << "boardsync did not finish within " << kRunTimeout.count() << "s";
      }
      break;
    }
    if (while_running) {
      while_running();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.log = ReadFile(log);
  return result;
}

// Changes whenever a board write lands: rows and the latest synced_at.
inline std::string BoardStamp(const std::filesystem::path& board_db) {
  if (!std::filesystem::exists(board_db)) {
    return "";
  }
  try {
    SQLite::Database db(board_db.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT count(*), max(synced_at) FROM items");
    if (q.executeStep()) {
      return q.getColumn(0).getString() + "|" + q.getColumn(1).getString();
    }
  } catch (const SQLite::Exception&) {
    // killed before the schema was made
  }
  return "";
}

inline std::uint64_t Seed() {
  if (const char* text = std::getenv("BOARDSYNC_KILL_SEED")) {
    return std::strtoull(text, nullptr, 10);
  }
  return std::random_device{}();
}

// Whether another process holds the state directory's flock (a killed run
// never may: the kernel drops it with the process). The lock file itself
// stays by design.
inline bool LockHeld(const std::filesystem::path& lock_file) {
  int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  ::close(fd);
  return held;
}

// The first `cap` entries of a list of differences, one a line, for a
// failure message.
inline std::string FirstOf(const std::vector<std::string>& entries, std::size_t cap = 15) {
  std::string out;
  for (std::size_t i = 0; i < entries.size() && i < cap; ++i) {
    out += "  " + entries[i] + "\n";
  }
  if (entries.size() > cap) {
    out += "  ... (" + std::to_string(entries.size()) + " in all)\n";
  }
  return out;
}

}  // namespace boardsync::killtest

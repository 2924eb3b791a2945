// StateLock: one writer per state directory. Held for the life of the object
// with flock(2), so the kernel releases it when the process dies, even by
// kill -9. PrepareStateDir: the check every use of the state directory makes
// first, so that nothing is read from or written to a directory others control.
#pragma once

#include <filesystem>
#include <memory>

#include "core/error.h"

namespace boardsync {

// Creates `state_dir` with mode 0700 when it is missing; an existing one must
// be a directory owned by the running user and not writable by group or
// others (ErrorCode::kUntrusted otherwise; its mode is never changed).
// Returns its canonical path: the files in it are then opened without
// following symbolic links, while the directory itself may be reached through
// one (systemd's StateDirectory= with DynamicUser=).
Result<std::filesystem::path> PrepareStateDir(const std::filesystem::path& state_dir);

class StateLock {
 public:
  // ErrorCode::kLocked when another process holds it; kUntrusted for a state
  // directory PrepareStateDir() refuses or a `lock` that is a symbolic link.
  static Result<std::unique_ptr<StateLock>> Acquire(const std::filesystem::path& state_dir);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace boardsync

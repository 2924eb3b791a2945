// StateLock: one writer per state directory. Held for the life of the object
// with flock(2), so the kernel releases it when the process dies, even by
// kill -9.
#pragma once

#include <filesystem>
#include <memory>

#include "core/error.h"

namespace boardsync {

class StateLock {
 public:
  // ErrorCode::kLocked when another process holds it.
  static Result<std::unique_ptr<StateLock>> Acquire(const std::filesystem::path& state_dir);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace boardsync

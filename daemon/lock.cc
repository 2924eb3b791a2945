#include "daemon/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace boardsync {
namespace {

std::string Octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

Result<std::filesystem::path> PrepareStateDir(const std::filesystem::path& state_dir) {
  const std::string dir = state_dir.string();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 && errno == ENOENT) {
    std::error_code ec;
    if (state_dir.has_parent_path()) {
      std::filesystem::create_directories(state_dir.parent_path(), ec);
    }
    // Item contents are the tracker's data: a new state directory is private.
    if (!ec && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      ec.assign(errno, std::generic_category());
    }
    if (ec) {
      return Fail(ErrorCode::kStorage,
                  "cannot create the state directory " + dir + ": " + ec.message());
    }
  }
  // A link to the directory is followed: what counts is the directory itself.
  if (::stat(dir.c_str(), &st) != 0) {
    return Fail(ErrorCode::kStorage,
                "cannot use the state directory " + dir + ": " + std::strerror(errno));
  }
  const std::string refused = "refusing the state directory " + dir + ": ";
  if (!S_ISDIR(st.st_mode)) {
    return Fail(ErrorCode::kUntrusted, refused + "it is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return Fail(ErrorCode::kUntrusted,
                refused + "it is owned by uid " + std::to_string(st.st_uid) +
                    ", not by the user running boardsync (uid " + std::to_string(::geteuid()) +
                    "); another user could read or replace the state there");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Fail(ErrorCode::kUntrusted,
                refused + "it is writable by group or others (mode " + Octal(st.st_mode) +
                    "); another user could replace the files there. boardsync does not change "
                    "an existing directory's mode: run chmod go-w on it or choose another "
                    "state_dir");
  }
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::canonical(state_dir, ec);
  if (ec) {
    return Fail(ErrorCode::kStorage,
                "cannot use the state directory " + dir + ": " + ec.message());
  }
  return canonical;
}

Result<std::unique_ptr<StateLock>> StateLock::Acquire(const std::filesystem::path& state_dir) {
  auto dir = PrepareStateDir(state_dir);
  if (!dir) {
    return std::unexpected(dir.error());
  }
  const std::string path = (*dir / "lock").string();
  // Never through a link: the pid written below would overwrite its target.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == ELOOP) {
    return Fail(ErrorCode::kUntrusted,
                "refusing the lock file " + path +
                    ": it is a symbolic link (boardsync does not follow links in its state "
                    "directory; remove it)");
  }
  if (fd < 0) {
    return Fail(ErrorCode::kStorage, "cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? " (pid " + std::string(pid, static_cast<size_t>(n)) + ")" : "";
    return Fail(ErrorCode::kLocked, "another boardsync process" + holder +
                                        " is syncing with the state directory " +
                                        state_dir.string() + "; try again when it is done");
  }
  std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t written = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return std::unique_ptr<StateLock>(new StateLock(fd));
}

StateLock::~StateLock() { ::close(fd_); }

}  // namespace boardsync

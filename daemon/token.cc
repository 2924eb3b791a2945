#include "daemon/token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <system_error>

#include "core/text.h"

namespace boardsync {
namespace {

// More than any token; a bigger file is a mistake, not a token to keep in memory.
constexpr std::size_t kMaxTokenFileSize = 64 * 1024;

// A token that could not be read, and whether that is only this process's
// doing (its environment, its user), which need not be the service's.
struct Failure {
  Error error;
  bool only_here = false;
};
using TokenRead = std::expected<Secret, Failure>;

std::unexpected<Failure> Refuse(std::string message, bool only_here = false) {
  return std::unexpected(Failure{Error{ErrorCode::kConfig, std::move(message)}, only_here});
}

// Why stat() or open() failed with `error`, as the end of a message.
std::unexpected<Failure> RefuseErrno(const std::string& where, int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return Refuse(where + " does not exist");
    case EACCES:
      return Refuse(where + " cannot be read (permission denied)", /*only_here=*/true);
    default:
      return Refuse(where + " cannot be read (" +
                    std::error_code(error, std::generic_category()).message() + ")");
  }
}

std::string FileKind(mode_t mode) {
  if (S_ISDIR(mode)) {
    return "a directory";
  }
  if (S_ISFIFO(mode)) {
    return "a named pipe (FIFO)";
  }
  if (S_ISCHR(mode)) {
    return "a character device";
  }
  if (S_ISBLK(mode)) {
    return "a block device";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  return "a special file";
}

// What the file's type and mode alone rule out. It runs on a stat() before the
// file is opened, so a FIFO (whose open waits for a writer) or a device (whose
// open may do something) is refused without being opened.
std::optional<Failure> Unusable(const struct stat& st, const std::string& path,
                                const std::string& where, bool require_private) {
  if (!S_ISREG(st.st_mode)) {
    return Refuse(where + " is " + FileKind(st.st_mode) + ", not a regular file").error();
  }
  if (require_private && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Refuse(where + " is readable by group or others (mode " + mode +
                  "); restrict it with: chmod 600 " + path)
        .error();
  }
  return std::nullopt;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

TokenRead ReadTokenFile(const std::string& path, std::string_view owner, bool require_private) {
  const std::string where = std::string(owner) + ": token file " + path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return RefuseErrno(where, errno);
  }
  if (auto refused = Unusable(st, path, where, require_private)) {
    return std::unexpected(std::move(*refused));
  }
  // O_NONBLOCK: should the path have become a FIFO since the stat, the open
  // returns at once and the fstat refuses it. Regular files ignore the flag.
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (file.get() < 0) {
    return RefuseErrno(where, errno);
  }
  if (::fstat(file.get(), &st) != 0) {
    return RefuseErrno(where, errno);
  }
  if (auto refused = Unusable(st, path, where, require_private)) {
    return std::unexpected(std::move(*refused));
  }
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return RefuseErrno(where, errno);
    }
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxTokenFileSize) {
      return Refuse(where + " is larger than 64 KiB; it must hold only the token");
    }
  }
  std::string token(TrimSpace(text));
  if (token.empty()) {
    return Refuse(where + " is empty");
  }
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    return Refuse(where + " holds more than one word; it must hold only the token");
  }
  return Secret(std::move(token));
}

// The one way a token is read, for the commands that use it and for check.
TokenRead ReadToken(const TokenSource& source, std::string_view owner) {
  switch (source.kind) {
    case TokenSource::Kind::kFile:
      return ReadTokenFile(source.value, owner, /*require_private=*/true);
    case TokenSource::Kind::kEnv: {
      const char* value = std::getenv(source.value.c_str());
      if (value == nullptr || *value == '\0') {
        return Refuse(std::string(owner) + ": environment variable " + source.value +
                          " (token_env) is not set",
                      /*only_here=*/true);
      }
      return Secret(value);
    }
    case TokenSource::Kind::kCredential: {
      const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
      if (dir == nullptr || *dir == '\0') {
        return Refuse(std::string(owner) + ": token_credential " + source.value +
                          " needs $CREDENTIALS_DIRECTORY (set by systemd's LoadCredential=)",
                      /*only_here=*/true);
      }
      // systemd makes the credentials directory private to the service.
      return ReadTokenFile(std::string(dir) + "/" + source.value, owner,
                           /*require_private=*/false);
    }
  }
  return Refuse(std::string(owner) + ": no token source");
}

}  // namespace

Result<Secret> LoadToken(const TokenSource& source, std::string_view owner) {
  auto token = ReadToken(source, owner);
  if (!token) {
    return std::unexpected(std::move(token.error().error));
  }
  return std::move(*token);
}

TokenCheck CheckToken(const TokenSource& source, std::string_view owner) {
  TokenCheck check;
  auto token = ReadToken(source, owner);
  if (!token) {
    if (token.error().only_here) {
      check.unchecked = std::move(token.error().error.message);
    } else {
      check.problem = std::move(token.error().error);
    }
  }
  return check;
}

}  // namespace boardsync

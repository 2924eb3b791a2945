#include "daemon/token.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <system_error>
#include <vector>

namespace boardsync {
namespace {

// More than any token; a bigger file is a mistake, not a token to keep in memory.
constexpr std::size_t kMaxTokenFileSize = 16 * 1024;
// Shorter is no token anyone issues, and a short one could not be redacted
// from output without hiding ordinary words too.
constexpr std::size_t kMinTokenLength = 8;

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

// "user (uid N)", or "uid N" for a uid with no name.
std::string DescribeUser(uid_t uid) {
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16 * 1024);
  const std::string number = "uid " + std::to_string(uid);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return std::string(found->pw_name) + " (" + number + ")";
  }
  return number;
}

// What the file's type, owner and mode alone rule out. It runs on a stat() before the
// file is opened, so a FIFO (whose open waits for a writer) or a device (whose
// open may do something) is refused without being opened.
std::optional<Failure> Unusable(const struct stat& st, const std::string& path,
                                const std::string& where, bool require_private,
                                const std::string& noun) {
  if (!S_ISREG(st.st_mode)) {
    return Refuse(where + " is " + FileKind(st.st_mode) + ", not a regular file").error();
  }
  // As ssh does with keys: another user's file, even one this user may read
  // (root may read them all), is not this user's token. Whether it is wrong
  // depends on who runs boardsync, so check, run by an operator, only notes it.
  if (require_private && st.st_uid != ::geteuid()) {
    return Refuse(where + " belongs to " + DescribeUser(st.st_uid) + ", not to " +
                      DescribeUser(::geteuid()) +
                      ", who runs boardsync; a " + noun + " file must belong to that user",
                  /*only_here=*/true)
        .error();
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxTokenFileSize) {
    return Refuse(where + " is larger than 16 KiB; it must hold only the " + noun).error();
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

// How a control character is named in a message.
std::string ControlName(unsigned char c) {
  switch (c) {
    case '\0':
      return "NUL";
    case '\t':
      return "TAB";
    case '\n':
      return "LF";
    case '\r':
      return "CR";
    case 0x1b:
      return "ESC";
    case 0x7f:
      return "DEL";
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(c));
      return hex;
    }
  }
}

// The one rule for a token's text, whatever holds it (a file, a credential,
// an environment variable): one trailing newline, LF or CR LF, is dropped
// (editors, `echo` and Windows leave one); what remains is the token, which
// must be one word of at least kMinTokenLength bytes with no control
// character. A CR or LF inside would end the Authorization header and start
// another, and a token that differs from what was echoed back escapes
// redaction. `where` names the source; messages never quote the text.
TokenRead CleanToken(std::string text, const std::string& where, const std::string& noun) {
  if (text.ends_with("\r\n")) {
    text.resize(text.size() - 2);
  } else if (text.ends_with('\n')) {
    text.pop_back();
  }
  if (text.empty()) {
    return Refuse(where + " is empty");
  }
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      return Refuse(where + " holds more than one line; it must hold only the " + noun +
                    " (one newline at its end is allowed)");
    }
    if (c < 0x20 || c == 0x7f) {
      return Refuse(where + " holds a control character (" + ControlName(c) +
                    "); it must hold only the " + noun);
    }
  }
  if (text.find(' ') != std::string::npos) {
    return Refuse(where + " holds more than one word; it must hold only the " + noun);
  }
  if (text.size() < kMinTokenLength) {
    return Refuse(where + " is shorter than " + std::to_string(kMinTokenLength) +
                  " characters; it must hold the whole token");
  }
  return Secret(std::move(text));
}

// Why `name` cannot be a token_credential, as the end of a message; empty
// when it can. A credential is a file directly inside $CREDENTIALS_DIRECTORY:
// a path out of it would read any file the service may.
std::string BadCredentialName(const std::string& name) {
  if (name.empty()) {
    return "is empty";
  }
  if (name == "." || name == "..") {
    return "\"" + name + "\" is not a file name";
  }
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      return "holds a control character (" + ControlName(c) + ")";
    }
  }
  if (name.find('/') != std::string::npos) {
    return "\"" + name + "\" holds a /";
  }
  return "";
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

TokenRead ReadTokenFile(const std::string& path, std::string_view owner, bool require_private,
                        const std::string& noun) {
  const std::string where = std::string(owner) + ": " + noun + " file " + path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return RefuseErrno(where, errno);
  }
  if (auto refused = Unusable(st, path, where, require_private, noun)) {
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
  if (auto refused = Unusable(st, path, where, require_private, noun)) {
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
      return Refuse(where + " is larger than 16 KiB; it must hold only the " + noun);
    }
  }
  return CleanToken(std::move(text), where, noun);
}

// The one way a token is read, for the commands that use it and for check.
TokenRead ReadToken(const TokenSource& source, std::string_view owner) {
  const std::string& noun = source.noun;
  const std::string keys = noun == "token" ? "token" : "url";  // token_env or url_env, ...
  switch (source.kind) {
    case TokenSource::Kind::kFile:
      return ReadTokenFile(source.value, owner, /*require_private=*/true, noun);
    case TokenSource::Kind::kEnv: {
      const std::string where = std::string(owner) + ": environment variable " + source.value +
                                " (" + keys + "_env)";
      const char* value = std::getenv(source.value.c_str());
      if (value == nullptr || *value == '\0') {
        return Refuse(where + " is not set", /*only_here=*/true);
      }
      // Set, it is what the service would get too: its faults are the config's.
      return CleanToken(value, where, noun);
    }
    case TokenSource::Kind::kCredential: {
      if (std::string bad = BadCredentialName(source.value); !bad.empty()) {
        return Refuse(std::string(owner) + ": " + keys + "_credential " + bad +
                      "; it must name a file directly inside $CREDENTIALS_DIRECTORY");
      }
      const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
      if (dir == nullptr || *dir == '\0') {
        return Refuse(std::string(owner) + ": " + keys + "_credential " + source.value +
                          " needs $CREDENTIALS_DIRECTORY (set by systemd's LoadCredential=)",
                      /*only_here=*/true);
      }
      // systemd makes the credentials directory private to the service, and
      // its files may belong to root (readable through an ACL): neither
      // their mode nor their owner is the service's to check.
      return ReadTokenFile(std::string(dir) + "/" + source.value, owner,
                           /*require_private=*/false, noun);
    }
  }
  return Refuse(std::string(owner) + ": no " + noun + " source");
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

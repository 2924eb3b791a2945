#include "core/text.h"
#include "daemon/token.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace boardsync {
namespace {

Result<Secret> ReadTokenFile(const std::string& path, std::string_view owner, bool check_mode) {
  std::string where = std::string(owner) + ": token file " + path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Fail(ErrorCode::kConfig, where + " cannot be read (it does not exist?)");
  }
  if (check_mode && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Fail(ErrorCode::kConfig, where + " is readable by group or others (mode " + mode +
                                        "); restrict it with: chmod 600 " + path);
  }
  std::ifstream in(path);
  if (!in) {
    return Fail(ErrorCode::kConfig, where + " cannot be read (permission denied?)");
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string token(TrimSpace(text.str()));
  if (token.empty()) {
    return Fail(ErrorCode::kConfig, where + " is empty");
  }
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    return Fail(ErrorCode::kConfig, where + " holds more than one word; it must hold only the token");
  }
  return Secret(std::move(token));
}

}  // namespace

Result<Secret> LoadToken(const TokenSource& source, std::string_view owner) {
  switch (source.kind) {
    case TokenSource::Kind::kFile:
      return ReadTokenFile(source.value, owner, /*check_mode=*/true);
    case TokenSource::Kind::kEnv: {
      const char* value = std::getenv(source.value.c_str());
      if (value == nullptr || *value == '\0') {
        return Fail(ErrorCode::kConfig, std::string(owner) + ": environment variable " +
                                            source.value + " (token_env) is not set");
      }
      return Secret(value);
    }
    case TokenSource::Kind::kCredential: {
      const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
      if (dir == nullptr || *dir == '\0') {
        return Fail(ErrorCode::kConfig,
                    std::string(owner) + ": token_credential " + source.value +
                        " needs $CREDENTIALS_DIRECTORY (set by systemd's LoadCredential=)");
      }
      // systemd makes the credentials directory private to the service.
      return ReadTokenFile(std::string(dir) + "/" + source.value, owner, /*check_mode=*/false);
    }
  }
  return Fail(ErrorCode::kConfig, std::string(owner) + ": no token source");
}

}  // namespace boardsync

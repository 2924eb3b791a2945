// Reading tokens from where the config says they are. A token file must be
// a regular file of at most 16 KiB, owned by the user running boardsync and
// private to it (as ssh insists for keys); whatever holds the token, it is one
// word of at least 8 characters with no control character, followed by at
// most one newline (LF or CR LF). The token is returned as a Secret so it is
// redacted from all output from then on.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/secret.h"
#include "daemon/config.h"

namespace boardsync {

// `owner` names who needs the token in messages, e.g. "connection acme-yt".
// Messages name the file or variable, never quote its text.
Result<Secret> LoadToken(const TokenSource& source, std::string_view owner);

// What `boardsync check` can tell about a token offline. It reads the token
// the way LoadToken does (so both give the same message), but check runs in
// an operator's shell, not as the service: what depends only on that (an
// environment variable or $CREDENTIALS_DIRECTORY not set there, a file this
// user may not read or does not own) is not a fault of the config and is
// returned as `unchecked` instead. A variable that is set is checked.
struct TokenCheck {
  std::optional<Error> problem;  // the token cannot be used as configured
  std::string unchecked;         // why it could not be checked here; empty when it was
};
TokenCheck CheckToken(const TokenSource& source, std::string_view owner);

}  // namespace boardsync

// Reading tokens from where the config says they are. A token file must be
// private to its owner (as ssh insists for keys); the token is returned as a
// Secret so it is redacted from all output from then on.
#pragma once

#include <string_view>

#include "core/error.h"
#include "core/secret.h"
#include "daemon/config.h"

namespace boardsync {

// `owner` names who needs the token in messages, e.g. "connection acme-yt".
Result<Secret> LoadToken(const TokenSource& source, std::string_view owner);

}  // namespace boardsync

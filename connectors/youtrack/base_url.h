// The two addresses of one YouTrack instance, derived from whatever the user
// put in `base_url`: the service URL (for links people open) and the REST API
// root. Accepts the documented forms and pasted issue or board URLs. Pure.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace boardsync {

struct YouTrackBaseUrl {
  // "https://acme.youtrack.cloud" or "https://host/youtrack"; no trailing "/".
  std::string service;
  // service + "/api".
  std::string api;
};

// Normalizes a user-supplied YouTrack address:
//   - a trailing "/", a query and a fragment are dropped;
//   - the path is cut at the first segment that is a YouTrack route ("issue",
//     "agiles", "api", ...), so a pasted issue, board or API URL works;
//   - a bare *.myjetbrains.com host gets the "/youtrack" context the legacy
//     Cloud domain requires.
// Only https is accepted, except plain http to a loopback host (the token
// would otherwise cross the network in clear text). Errors are kConfig.
Result<YouTrackBaseUrl> NormalizeBaseUrl(std::string_view text);

}  // namespace boardsync

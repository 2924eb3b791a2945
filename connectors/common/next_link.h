// Paging by link: GitHub and GitLab say where a list goes on in a `Link`
// header (RFC 8288). The link comes from the server, so before a request
// carries the token there, it must stay on the tracker's API.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace boardsync {

// The target of the first link in `header` whose `rel` names `rel` (e.g.
// "next"; rel may list several, `rel="next last"`), as written; nullopt when
// there is none or the header cannot be read.
std::optional<std::string> FindLink(std::string_view header, std::string_view rel);

// `link` resolved against `from` (the URL the answer came from) when it
// stays on the API rooted at `api_root`: same scheme, host and port, and a
// path at or under api_root's. Otherwise kBadResponse naming only where it
// pointed (origin and path): a hostile or mistaken server must not lead the
// token to another host, nor out of the API on the same one.
Result<std::string> LinkOnApi(std::string_view link, std::string_view from,
                              std::string_view api_root);

}  // namespace boardsync

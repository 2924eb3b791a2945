#include "connectors/youtrack/base_url.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "core/text.h"
#include "core/url.h"

namespace boardsync {
namespace {

// First path segments of YouTrack's web UI and API. Everything from such a
// segment on belongs to a page, not to the instance's context path. Compared
// case-insensitively.
constexpr std::array<std::string_view, 15> kRouteSegments = {
    "issue", "issues",   "agiles",     "dashboard",    "projects",
    "admin", "articles", "reports",    "newissue",     "api",
    "hub",   "users",    "timesheets", "gantt-charts", "oauth",
};

bool IsRouteSegment(std::string_view segment) {
  std::string lower = AsciiLower(segment);
  return std::find(kRouteSegments.begin(), kRouteSegments.end(), lower) != kRouteSegments.end();
}

// The legacy Cloud domain serves YouTrack only under /youtrack.
bool IsLegacyCloudHost(std::string_view host) { return host.ends_with(".myjetbrains.com"); }

}  // namespace

Result<YouTrackBaseUrl> NormalizeBaseUrl(std::string_view text) {
  text = TrimSpace(text);
  if (text.empty()) {
    return Fail(ErrorCode::kConfig, "base_url is empty; expected e.g. https://acme.youtrack.cloud");
  }
  auto url = ParseUrl(text);
  if (!url) {
    return std::unexpected(url.error().Wrap("base_url"));
  }
  if (url->scheme == "http" && !IsLoopbackHost(url->host)) {
    return Fail(ErrorCode::kConfig,
                "base_url \"" + std::string(text) +
                    "\": use https; plain http is allowed only to loopback addresses, because "
                    "the token would cross the network unencrypted");
  }

  std::vector<std::string_view> context;
  std::string_view path = url->path;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (segment.empty() || segment == ".") {
      continue;
    }
    if (IsRouteSegment(segment)) {
      break;
    }
    context.push_back(segment);
  }
  if (context.empty() && IsLegacyCloudHost(url->host)) {
    context.push_back("youtrack");
  }

  YouTrackBaseUrl base;
  base.service = url->Origin();
  for (std::string_view segment : context) {
    base.service += "/";
    base.service += segment;
  }
  base.api = base.service + "/api";
  return base;
}

}  // namespace boardsync

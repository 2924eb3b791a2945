#include "connectors/youtrack/response.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "connectors/http/json.h"
#include "core/redact.h"
#include "core/text.h"
#include "core/url.h"

namespace boardsync {
namespace {

bool LooksLikeHtml(const HttpResponse& response) {
  if (auto type = response.Header("content-type")) {
    std::string lower = AsciiLower(*type);
    if (lower.find("html") != std::string::npos) {
      return true;
    }
  }
  return TrimSpace(response.body).starts_with("<");
}

// ": <error_description>" from YouTrack's {"error", "error_description"}
// body, falling back to "error"; "" when the body is not that shape.
std::string YouTrackReason(const HttpResponse& response) {
  auto json = ParseJson(response.body);
  if (!json || !json->IsObject()) {
    return "";
  }
  std::string_view description = json->StringOr("error_description");
  if (description.empty()) {
    description = json->StringOr("error");
  }
  // Bounded: the reason goes into one-line messages and logs.
  constexpr std::size_t kMaxReason = 300;
  std::string reason = Redact(description).substr(0, kMaxReason);  // redact, then cut
  return reason.empty() ? "" : ": " + reason;
}

}  // namespace

Result<Value> ReadJsonResponse(const HttpResponse& response, std::string_view connection_name) {
  auto doc = ReadJsonDocument(response, connection_name);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  return doc->Root().ToValue();
}

Result<JsonDocument> ReadJsonDocument(const HttpResponse& response,
                                      std::string_view connection_name) {
  const std::string prefix = "connection " + std::string(connection_name) + ": ";
  const std::string status = "HTTP " + std::to_string(response.status);
  const int code = response.status;

  if (code == 401) {
    return Fail(ErrorCode::kAuth, prefix + "token invalid or revoked (" + status + ")");
  }
  if (code == 403) {
    return Fail(ErrorCode::kAuth, prefix + "token lacks YouTrack scope or project access (" +
                                      status + ")" + YouTrackReason(response));
  }
  if (code == 429) {
    return Fail(ErrorCode::kRateLimited,
                prefix + "YouTrack is limiting the request rate (" + status + ")", true);
  }
  if (code >= 500) {
    return Fail(ErrorCode::kUnavailable,
                prefix + "YouTrack is unavailable (" + status + ")" + YouTrackReason(response),
                true);
  }
  if (code >= 400) {
    std::string hint = code == 404 ? "; check base_url" : "";
    return Fail(ErrorCode::kBadResponse, prefix + "YouTrack rejected the request (" + status + ")" +
                                             YouTrackReason(response) + hint);
  }
  if (code >= 300) {
    // The HTTP client follows same-origin redirects only; anything else lands
    // here, typically a single-sign-on login elsewhere.
    std::string where;
    if (auto location = response.Header("location")) {
      if (auto url = ParseUrl(*location)) {
        where = " to " + url->Origin();
      }
    }
    return Fail(ErrorCode::kBadResponse, prefix + "YouTrack redirected" + where + " (" + status +
                                             "); check base_url (an SSO or proxy login page?)");
  }
  if (code < 200) {
    return Fail(ErrorCode::kBadResponse, prefix + "unexpected " + status + " from YouTrack");
  }

  // A wrong path before /api, or an SSO proxy, answers 200 with a web page.
  constexpr std::string_view kHtml =
      "YouTrack answered with an HTML page, not JSON; check base_url (an SSO or proxy login "
      "page?)";
  if (LooksLikeHtml(response)) {
    return Fail(ErrorCode::kBadResponse, prefix + std::string(kHtml) + " (" + status + ")");
  }
  auto json = ParseJsonDocument(response.body);
  if (!json) {
    return Fail(ErrorCode::kBadResponse, prefix + "YouTrack answered " + status +
                                             " with a body that is not JSON (" +
                                             json.error().message + "); check base_url");
  }
  return json;
}

}  // namespace boardsync

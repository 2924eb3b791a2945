#include "connectors/common/http_status.h"

#include <string>

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

// ": <the tracker's reason>", or "" when it gives none.
std::string ReasonSuffix(const HttpResponse& response, const TrackerAnswerContext& context) {
  if (!context.reason) {
    return "";
  }
  const std::string reason = ShortReason(context.reason(response));
  return reason.empty() ? "" : ": " + reason;
}

}  // namespace

std::string ShortReason(std::string_view reason) {
  // Bounded: the reason goes into one-line messages and logs.
  constexpr std::size_t kMaxReason = 300;
  return Redact(reason).substr(0, kMaxReason);  // redact, then cut
}

std::optional<Error> HttpStatusError(const HttpResponse& response,
                                     const TrackerAnswerContext& context) {
  const std::string prefix = "connection " + std::string(context.connection_name) + ": ";
  const std::string tracker(context.tracker);
  const std::string status = "HTTP " + std::to_string(response.status);
  const int code = response.status;

  if (code == 401) {
    return Error{ErrorCode::kAuth, prefix + "token invalid or revoked (" + status + ")"};
  }
  if (code == 403) {
    return Error{ErrorCode::kAuth, prefix + "token lacks " + tracker +
                                       " scope or project access (" + status + ")" +
                                       ReasonSuffix(response, context)};
  }
  if (code == 429) {
    return Error{ErrorCode::kRateLimited,
                 prefix + tracker + " is limiting the request rate (" + status + ")", true};
  }
  if (code >= 500) {
    return Error{
        ErrorCode::kUnavailable,
        prefix + tracker + " is unavailable (" + status + ")" + ReasonSuffix(response, context),
        true};
  }
  if (code >= 400) {
    std::string hint = code == 404 ? "; check base_url" : "";
    return Error{ErrorCode::kBadResponse, prefix + tracker + " rejected the request (" + status +
                                              ")" + ReasonSuffix(response, context) + hint};
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
    return Error{ErrorCode::kBadResponse, prefix + tracker + " redirected" + where + " (" + status +
                                              "); check base_url (an SSO or proxy login page?)"};
  }
  if (code < 200) {
    return Error{ErrorCode::kBadResponse, prefix + "unexpected " + status + " from " + tracker};
  }
  return std::nullopt;
}

Result<JsonDocument> ReadJsonAnswer(const HttpResponse& response,
                                    const TrackerAnswerContext& context) {
  if (auto error = HttpStatusError(response, context)) {
    return std::unexpected(std::move(*error));
  }
  const std::string prefix = "connection " + std::string(context.connection_name) + ": ";
  const std::string tracker(context.tracker);
  const std::string status = "HTTP " + std::to_string(response.status);
  // A wrong path before the API, or an SSO proxy, answers 200 with a web page.
  if (LooksLikeHtml(response)) {
    return Fail(ErrorCode::kBadResponse,
                prefix + tracker +
                    " answered with an HTML page, not JSON; check base_url (an SSO or proxy "
                    "login page?) (" +
                    status + ")");
  }
  auto json = ParseJsonDocument(response.body);
  if (!json) {
    return Fail(ErrorCode::kBadResponse, prefix + tracker + " answered " + status +
                                             " with a body that is not JSON (" +
                                             json.error().message + "); check base_url");
  }
  return json;
}

}  // namespace boardsync

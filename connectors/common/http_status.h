// What a tracker's HTTP answer means, the same for every tracker: JSON to
// read, or an Error with the right code and retriable flag. The status
// decides; the tracker's own words (which the connector extracts) only
// explain.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/http/json.h"
#include "core/error.h"
#include "core/http_client.h"

namespace boardsync {

// Who answered, for the messages ("connection acme-yt: YouTrack is
// unavailable (HTTP 503): <reason>").
struct TrackerAnswerContext {
  std::string_view connection_name;
  std::string_view tracker;  // the tracker's display name: "YouTrack", "Jira"
  // The tracker's own explanation in the body of an error answer, "" when
  // it has none (not the tracker's error shape, not JSON). Taken as it
  // comes: the caller redacts it and cuts it to one line's worth. Empty: none.
  std::function<std::string(const HttpResponse& response)> reason;
};

// nullopt for a 2xx answer; otherwise the Error, its message starting with
// "connection <connection_name>: ":
//   401 → kAuth (token invalid or revoked); 403 → kAuth (scope or access),
//     with the reason;
//   429 → kRateLimited, retriable (the HTTP client has honoured Retry-After
//     over its attempts already);
//   5xx → kUnavailable, retriable, with the reason;
//   other 4xx → kBadResponse with the reason (404: "check base_url");
//   3xx (a redirect the client did not follow) → kBadResponse naming where
//     it pointed (base_url, or an SSO login?);
//   1xx → kBadResponse.
// A tracker's own words for a failed answer as messages carry them:
// redacted, then cut to one line's worth (300 characters).
std::string ShortReason(std::string_view reason);

std::optional<Error> HttpStatusError(const HttpResponse& response,
                                     const TrackerAnswerContext& context);

// The body of a 2xx answer as a JSON document that views response.body
// (which must outlive it), or HttpStatusError(); a 2xx that is an HTML page
// or not JSON is kBadResponse (a wrong base_url, an SSO or proxy login page).
Result<JsonDocument> ReadJsonAnswer(const HttpResponse& response,
                                    const TrackerAnswerContext& context);

}  // namespace boardsync

// What a YouTrack HTTP answer means: JSON to read, or an Error with the right
// code and retriable flag, by the rules every tracker shares
// (connectors/common/http_status.h). Status decides, not YouTrack's `error`
// string, which comes in several vocabularies; its error_description explains.
#pragma once

#include <string>
#include <string_view>

#include "connectors/http/json.h"
#include "core/error.h"
#include "core/http_client.h"
#include "core/value.h"

namespace boardsync {

// The parsed body of a 2xx answer, or an Error whose message starts with
// "connection <connection_name>: ":
//   401 → kAuth (token invalid or revoked); 403 → kAuth (scope or access);
//   429 → kRateLimited, retriable; 5xx → kUnavailable, retriable;
//   other 4xx → kBadResponse with YouTrack's error_description when present;
//   3xx (a redirect the client did not follow) → kBadResponse;
//   2xx that is HTML or not JSON → kBadResponse (wrong base_url, SSO page).
Result<Value> ReadJsonResponse(const HttpResponse& response, std::string_view connection_name);
// The same, with the body as a document that views response.body (which must
// outlive it): for issue pages, read without building a Value tree.
Result<JsonDocument> ReadJsonDocument(const HttpResponse& response,
                                      std::string_view connection_name);

// YouTrack's own words in an error answer ({"error", "error_description"}):
// the description, falling back to "error"; "" for any other body. As it
// comes: not redacted, not cut.
std::string YouTrackReasonText(const HttpResponse& response);

// ": <reason>", redacted and cut to one line's worth; "" without one.
std::string YouTrackReason(const HttpResponse& response);

// `error` as the connection's: "connection <connection_name>: " in front
// (not twice), redacted. Nothing the connector builds holds the token, but a
// server or transport message might echo it.
Error YouTrackConnectionError(const Error& error, std::string_view connection_name);

}  // namespace boardsync

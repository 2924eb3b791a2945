#include "connectors/youtrack/response.h"

#include <string>

#include "connectors/common/http_status.h"
#include "connectors/http/json.h"
#include "core/redact.h"

namespace boardsync {
namespace {

TrackerAnswerContext YouTrackAnswer(std::string_view connection_name) {
  return TrackerAnswerContext{connection_name, "YouTrack", &YouTrackReasonText};
}

}  // namespace

std::string YouTrackReasonText(const HttpResponse& response) {
  auto json = ParseJson(response.body);
  if (!json || !json->IsObject()) {
    return "";
  }
  std::string_view description = json->StringOr("error_description");
  if (description.empty()) {
    description = json->StringOr("error");
  }
  return std::string(description);
}

std::string YouTrackReason(const HttpResponse& response) {
  const std::string reason = ShortReason(YouTrackReasonText(response));
  return reason.empty() ? "" : ": " + reason;
}

Error YouTrackConnectionError(const Error& error, std::string_view connection_name) {
  const std::string prefix = "connection " + std::string(connection_name);
  Error out = error.message.starts_with(prefix + ": ") ? error : error.Wrap(prefix);
  out.message = Redact(out.message);
  return out;
}

Result<Value> ReadJsonResponse(const HttpResponse& response, std::string_view connection_name) {
  auto doc = ReadJsonDocument(response, connection_name);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  return doc->Root().ToValue();
}

Result<JsonDocument> ReadJsonDocument(const HttpResponse& response,
                                      std::string_view connection_name) {
  return ReadJsonAnswer(response, YouTrackAnswer(connection_name));
}

}  // namespace boardsync

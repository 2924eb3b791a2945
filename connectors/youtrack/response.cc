#include "connectors/youtrack/response.h"

#include <string>

#include "connectors/common/http_status.h"
#include "connectors/http/json.h"

namespace boardsync {
namespace {

// YouTrack's {"error", "error_description"} body: the description, falling
// back to "error"; "" when the body is not that shape.
std::string YouTrackReason(const HttpResponse& response) {
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

TrackerAnswerContext YouTrackAnswer(std::string_view connection_name) {
  return TrackerAnswerContext{connection_name, "YouTrack", YouTrackReason};
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
  return ReadJsonAnswer(response, YouTrackAnswer(connection_name));
}

}  // namespace boardsync

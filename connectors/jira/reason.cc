#include "connectors/jira/reason.h"

#include "connectors/common/http_status.h"
#include "connectors/http/json.h"
#include "core/redact.h"

namespace boardsync {

std::string JiraReasonText(const HttpResponse& response) {
  auto doc = ParseJsonDocument(response.body);
  if (!doc || !doc->Root().IsObject()) {
    return "";
  }
  std::string reason;
  if (auto messages = doc->Root().Find("errorMessages"); messages && messages->IsList()) {
    for (JsonView message : messages->Elements()) {
      if (message.IsString()) {
        reason += (reason.empty() ? "" : "; ") + std::string(message.AsString());
      }
    }
  }
  if (auto errors = doc->Root().Find("errors"); errors && errors->IsObject()) {
    errors->ForEachMember([&](std::string_view name, JsonView message) {
      if (message.IsString()) {
        reason += (reason.empty() ? "" : "; ") + std::string(name) + ": " +
                  std::string(message.AsString());
      }
    });
  }
  return reason.empty() ? std::string(doc->Root().StringOr("message")) : reason;
}

std::string JiraReason(const HttpResponse& response) {
  const std::string reason = ShortReason(JiraReasonText(response));
  return reason.empty() ? "" : ": " + reason;
}

}  // namespace boardsync

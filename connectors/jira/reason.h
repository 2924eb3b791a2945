// Jira's own words in an error answer ({"errorMessages": [...], "errors":
// {field: message}}), for the messages of the source and the writer: the
// status decides what an answer means (connectors/common/http_status.h),
// these only explain it.
#pragma once

#include <string>

#include "core/http_client.h"

namespace boardsync {

// errorMessages and errors ("field: message") joined by "; ", else the
// body's "message" (Atlassian's edge); "" for any other body. As it comes:
// not redacted, not cut.
std::string JiraReasonText(const HttpResponse& response);

// ": <reason>", redacted and cut to one line's worth; "" without one.
std::string JiraReason(const HttpResponse& response);

}  // namespace boardsync

// Jira as a tracker type (core/connector.h): its own keys `email` and
// `deployment` (cloud | data_center; default cloud when email is set).
#pragma once

#include "core/connector.h"

namespace boardsync {

extern const TrackerType kJiraType;

}  // namespace boardsync

// GitLab as a tracker type (core/connector.h): its own keys `project` or
// `group` (exactly one), `labels` and `state`; `query` is refused.
#pragma once

#include "core/connector.h"

namespace boardsync {

extern const TrackerType kGitLabType;

}  // namespace boardsync

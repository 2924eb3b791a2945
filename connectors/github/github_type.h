// GitHub as a tracker type (core/connector.h): its own keys `repos`
// (required), `labels`, `state` and `project: {owner, number}`; base_url
// defaults to https://api.github.com (Enterprise Server: https://host/api/v3).
#pragma once

#include "core/connector.h"

namespace boardsync {

extern const TrackerType kGitHubType;

}  // namespace boardsync

// YouTrack as a tracker type (core/connector.h): no keys beyond the common
// ones; base_url is a YouTrack Cloud or Server address.
#pragma once

#include "core/connector.h"

namespace boardsync {

extern const TrackerType kYouTrackType;

}  // namespace boardsync

// Small text helpers shared across folders. ASCII only, on purpose: HTTP
// header names, URL schemes and YouTrack keywords are ASCII.
#pragma once

#include <string>
#include <string_view>

namespace boardsync {

std::string AsciiLower(std::string_view text);
// `text` without leading and trailing white space.
std::string_view TrimSpace(std::string_view text);

}  // namespace boardsync

// Small text helpers shared across folders. ASCII only, on purpose: HTTP
// header names, URL schemes and YouTrack keywords are ASCII.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace boardsync {

std::string AsciiLower(std::string_view text);

// FNV-1a, 64 bits: tiny and fixed by its definition, so hashes stay
// comparable across builds and machines. It tells changed content from
// unchanged; it resists no attack.
std::uint64_t Fnv1a64(std::string_view text);
// Fnv1a64() as 16 lower-case hex digits.
std::string Fnv1a64Hex(std::string_view text);
// `text` without leading and trailing white space.
std::string_view TrimSpace(std::string_view text);

}  // namespace boardsync

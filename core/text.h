// Small text helpers shared across folders: ASCII case and trimming for
// protocol words (HTTP header names, URL schemes, YouTrack keywords), a
// content hash, and the one UTF-8 check and repair that JSON in and out share.
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

// U+FFFD REPLACEMENT CHARACTER in UTF-8.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Whether `text` is well-formed UTF-8 (Unicode §3.9, Table 3-7): no stray
// continuation bytes, no truncated or overlong sequences, no surrogates
// (ED A0..BF xx), nothing above U+10FFFF (F4 90.. and F5..FF), no C0 or C1.
// NUL is well-formed.
bool IsValidUtf8(std::string_view text);

// Appends `text` to `out` with each ill-formed part replaced by U+FFFD, one
// per maximal subpart (Unicode §3.9, "U+FFFD Substitution of Maximal
// Subparts", as the WHATWG decoder does): a lead byte and the continuation
// bytes that could still have completed it count once; any other bad byte
// counts alone. So "a\xF1\x80\x80\xE1\x80\xC2z" becomes "a\uFFFD\uFFFD\uFFFDz".
// Well-formed text is appended as is, in bulk; ASCII costs one test per
// 8 bytes. The result is always well-formed.
void AppendRepairedUtf8(std::string& out, std::string_view text);

}  // namespace boardsync

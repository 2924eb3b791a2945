// Small text helpers shared across folders: ASCII case and trimming for
// protocol words (HTTP header names, URL schemes, YouTrack keywords), a
// content hash, the one UTF-8 check and repair that JSON in and out share,
// and the one escaping of text shown to people.
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

// The first byte in [p, end) that a JSON string cannot hold as it is: '"',
// '\\' or a control character (all ASCII, so no UTF-8 sequence spans it);
// `end` when there is none. Sets *not_ascii when a byte before it is above
// 0x7f (and leaves it alone otherwise). The hot loop of reading and writing
// JSON: sixteen bytes a step where SSE2 is there (every x86-64), else eight.
const char* FindJsonStringStop(const char* p, const char* end, bool* not_ascii);

// Appends `text` to `out` with each ill-formed part replaced by U+FFFD, one
// per maximal subpart (Unicode §3.9, "U+FFFD Substitution of Maximal
// Subparts", as the WHATWG decoder does): a lead byte and the continuation
// bytes that could still have completed it count once; any other bad byte
// counts alone. So "a\xF1\x80\x80\xE1\x80\xC2z" becomes "a\uFFFD\uFFFD\uFFFDz".
// Well-formed text is appended as is, in bulk; ASCII costs one test per
// 8 bytes. The result is always well-formed.
void AppendRepairedUtf8(std::string& out, std::string_view text);

// `text` made safe to print for a person, on a terminal or in a text log:
// nothing in it can move the cursor, change colours, ring, start a new line,
// overwrite a line (CR) or reorder what follows. Escaped, each visibly:
//   \n \r \t          LF, CR, TAB
//   \xHH              other C0 controls and DEL (\x1b is ESC, \x07 BEL),
//                     and each byte that is not well-formed UTF-8
//   \uHHHH            C1 controls (U+0080..U+009F), the bidi embeddings,
//                     overrides and isolates (U+202A..U+202E, U+2066..U+2069)
//                     and the line and paragraph separators (U+2028, U+2029)
//   \\                a backslash, so that an escape always means one
// Everything else (printable ASCII, other well-formed UTF-8) is kept as is.
// The result is well-formed UTF-8 with no control character. For display
// only: what boards store keeps the exact text.
std::string ForDisplay(std::string_view text);

}  // namespace boardsync

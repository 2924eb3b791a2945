// JSON text -> Value: a recursive-descent parser (RFC 8259) that builds the
// Value tree directly, on the hot path of every tracker page. Writing is
// Value::ToJson(). cpprestsdk stays in this folder for HTTP only.
#pragma once

#include <string_view>

#include "core/error.h"
#include "core/value.h"

namespace boardsync {

// Parses one JSON document, with optional whitespace around it; anything
// after it is an error. Never throws (short of std::bad_alloc).
//
// - Integers that fit int64 stay integers; other integers (uint64 range and
//   beyond) and numbers with a fraction or exponent become doubles. A number
//   too large for a double (1e999) is an error; one too small becomes 0.
// - Strings: every escape, \uXXXX surrogate pairs to UTF-8 (\u0000 to a NUL
//   byte); a raw control character is an error. Every string, member names
//   too, comes out valid UTF-8: a lone surrogate escape (a high one not
//   followed at once by an escaped low one, or a low one alone) becomes
//   U+FFFD, and so does each maximal subpart of raw bytes that are not valid
//   UTF-8 (AppendRepairedUtf8() in core/text.h). One bad string in a page
//   costs its characters, not the page.
// - Objects with duplicate keys keep the first.
// - Documents nested deeper than 64 levels are refused.
//
// Errors are ErrorCode::kBadResponse, "malformed JSON: <what> at byte <n>"
// (or "JSON nested deeper than 64 levels"); they never quote the input,
// which may hold secrets.
Result<Value> ParseJson(std::string_view text);

}  // namespace boardsync

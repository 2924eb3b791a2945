// Fuzzes ParseJson() against the parser it replaced: cpprestsdk's
// web::json::value::parse() followed by the old conversion to Value. When
// both accept, the trees must be equal; when only one accepts, the input must
// fall in one of the documented differences below. Every string ParseJson()
// makes, member names too, and all of ToJson() must be valid UTF-8.
// Crashes, sanitizer reports, disagreements and invalid UTF-8 are the
// findings.
//
// Where cpprest accepts and ParseJson() refuses (cpprest is lax):
//   - leading zeros ("01", "-01");
//   - numbers too large for a double ("1e999" becomes infinity, then null);
//   - comments ("//", "/* */") and the extra whitespace of iswspace()
//     (\v, \f, 0x1c-0x1f) between tokens;
//   - anything after the document that starts with byte 0xff, which cpprest
//     takes for end of input.
// Where ParseJson() accepts and cpprest refuses:
//   - byte 0xff inside a string (again end of input to cpprest).
// Where both accept but differ on purpose: text that is not UTF-8, which
// ParseJson() repairs with U+FFFD (AppendRepairedUtf8(), core/text.h) and
// cpprest does not. So that the trees can still be compared:
//   - bytes that are not valid UTF-8 pass through cpprest; the conversion
//     here repairs its strings and keys with the same AppendRepairedUtf8()
//     (tests/core/text_test.cc holds that routine to an independent
//     statement of the rule). That is exact: a \u escape always makes a
//     lead byte, never a continuation, so repairing cpprest's whole string
//     is repairing ParseJson()'s raw runs one by one;
//   - lone surrogate escapes: ParseJson() makes each one U+FFFD; cpprest
//     throws std::range_error on a lone high one and encodes a lone low one
//     as is (ED B0 80, which a repair makes three U+FFFD). When ParseJson()
//     accepted, cpprest is given the text with each lone surrogate escape
//     written as \ufffd instead (LoneSurrogatesAsFffd()), pairs untouched.
// Duplicate keys: both keep the first (cpprest is told to keep document
// order, and the conversion here keeps the first, after the repair).

#include <cpprest/json.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "connectors/http/json.h"
#include "core/text.h"

namespace boardsync {
namespace {

constexpr int kMaxDepth = 64;

std::string Repaired(std::string_view text) {
  std::string out;
  AppendRepairedUtf8(out, text);
  return out;
}

// The conversion ParseJson() did before, except that of repeated keys the
// first wins (it used to be whichever cpprest's unstable sort put last) and
// that strings and keys are repaired as ParseJson() now does.
Result<Value> Convert(const web::json::value& v, int depth) {
  if (depth > kMaxDepth) {
    return Fail(ErrorCode::kBadResponse, "JSON nested deeper than 64 levels");
  }
  switch (v.type()) {
    case web::json::value::Null:
      return Value();
    case web::json::value::Boolean:
      return Value(v.as_bool());
    case web::json::value::Number: {
      const web::json::number& n = v.as_number();
      if (n.is_int64()) {
        return Value(n.to_int64());
      }
      if (n.is_uint64()) {
        return Value(static_cast<double>(n.to_uint64()));
      }
      return Value(n.to_double());
    }
    case web::json::value::String:
      return Value(Repaired(v.as_string()));
    case web::json::value::Array: {
      Value::List list;
      for (const auto& element : v.as_array()) {
        auto converted = Convert(element, depth + 1);
        if (!converted) {
          return converted;
        }
        list.push_back(std::move(*converted));
      }
      return Value(std::move(list));
    }
    case web::json::value::Object: {
      std::vector<std::pair<std::string, Value>> members;
      for (const auto& [key, element] : v.as_object()) {
        auto converted = Convert(element, depth + 1);
        if (!converted) {
          return converted;
        }
        members.emplace_back(Repaired(key), std::move(*converted));
      }
      return Value(Value::Object(std::make_move_iterator(members.begin()),
                                 std::make_move_iterator(members.end())));
    }
  }
  return Value();
}

// What the old ParseJson() made of `text`, or nullopt when it refused it.
std::optional<Value> ParseWithCpprest(std::string_view text) {
  static const bool ordered = [] {
    web::json::keep_object_element_order(true);
    return true;
  }();
  (void)ordered;
  std::error_code ec;
  web::json::value parsed;
  try {
    parsed = web::json::value::parse(std::string(text), ec);
  } catch (const std::exception&) {
    return std::nullopt;  // cpprest throws on some bad surrogates
  }
  if (ec) {
    return std::nullopt;
  }
  auto converted = Convert(parsed, 0);
  if (!converted) {
    return std::nullopt;
  }
  return std::move(*converted);
}

int Hex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// The \uXXXX escape at `at` (its backslash), or -1 when there is none.
long EscapedUnit(std::string_view text, std::size_t at) {
  if (at + 6 > text.size() || text[at] != '\\' || text[at + 1] != 'u') {
    return -1;
  }
  long unit = 0;
  for (std::size_t i = at + 2; i < at + 6; ++i) {
    int h = Hex(text[i]);
    if (h < 0) {
      return -1;
    }
    unit = unit * 16 + h;
  }
  return unit;
}

// `text` with every lone surrogate escape inside its strings written as
// \ufffd, what ParseJson() makes of one. REQUIRES: ParseJson() accepted
// `text`, so quotes outside strings are string delimiters.
std::string LoneSurrogatesAsFffd(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (!in_string || c != '\\') {
      in_string = c == '"' ? !in_string : in_string;
      out.push_back(c);
      ++i;
      continue;
    }
    long unit = EscapedUnit(text, i);
    if (unit < 0xD800 || unit > 0xDFFF) {  // not \u, or no surrogate: as is
      out.append(text.substr(i, 2));
      i += 2;
      continue;
    }
    long low = EscapedUnit(text, i + 6);
    if (unit <= 0xDBFF && low >= 0xDC00 && low <= 0xDFFF) {
      out.append(text.substr(i, 12));
      i += 12;
    } else {
      out += "\\ufffd";
      i += 6;
    }
  }
  return out;
}

// Whether every string and member name in `v` is valid UTF-8.
bool AllValidUtf8(const Value& v) {
  if (v.IsString()) {
    return IsValidUtf8(v.AsString());
  }
  if (v.IsList()) {
    for (const Value& element : v.AsList()) {
      if (!AllValidUtf8(element)) {
        return false;
      }
    }
  }
  if (v.IsObject()) {
    for (const auto& [key, element] : v.AsObject()) {
      if (!IsValidUtf8(key) || !AllValidUtf8(element)) {
        return false;
      }
    }
  }
  return true;
}

// The byte offset in "malformed JSON: ... at byte N", or npos.
std::size_t ErrorOffset(const std::string& message) {
  constexpr std::string_view kAt = " at byte ";
  auto at = message.rfind(kAt);
  if (at == std::string::npos) {
    return std::string::npos;
  }
  return std::strtoull(message.c_str() + at + kAt.size(), nullptr, 10);
}

// Whether cpprest may accept what ParseJson() refused with `message`.
bool CpprestLaxness(std::string_view text, const std::string& message) {
  for (std::string_view kind : {"leading zero in number", "number out of range"}) {
    if (message.find(kind) != std::string::npos) {
      return true;
    }
  }
  std::size_t at = ErrorOffset(message);
  if (at >= text.size()) {
    return false;
  }
  auto c = static_cast<unsigned char>(text[at]);
  if (c == '/' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f)) {
    return true;
  }
  return c == 0xff && message.find("after the document") != std::string::npos;
}

[[noreturn]] void Disagree(std::string_view what, std::string_view detail) {
  std::cerr << "json_fuzz: " << what << ": " << detail << "\n";
  std::abort();
}

}  // namespace
}  // namespace boardsync

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace boardsync;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ours = ParseJson(text);
  if (ours) {
    if (!AllValidUtf8(*ours)) {
      Disagree("a string that is not UTF-8", "(ToJson() repairs it) " + ours->ToJson());
    }
    if (!IsValidUtf8(ours->ToJson())) {
      Disagree("ToJson() wrote text that is not UTF-8", "");
    }
  } else if (ours.error().code != ErrorCode::kBadResponse) {
    Disagree("wrong error code", ours.error().message);
  }
  // Lone surrogate escapes as ParseJson() reads them (see the top).
  const std::string for_cpprest = ours ? LoneSurrogatesAsFffd(text) : std::string(text);
  auto theirs = ParseWithCpprest(for_cpprest);
  if (ours && theirs) {
    if (!(*ours == *theirs)) {
      Disagree("different trees", ours->ToJson() + " vs cpprest's " + theirs->ToJson());
    }
  } else if (ours && !theirs) {
    if (text.find('\xff') == std::string_view::npos) {
      Disagree("accepted what cpprest refuses", ours->ToJson());
    }
  } else if (!ours && theirs) {
    if (!CpprestLaxness(text, ours.error().message)) {
      Disagree("refused what cpprest accepts", ours.error().message);
    }
  }
  return 0;
}

// Fuzzes ParseJson() against the parser it replaced: cpprestsdk's
// web::json::value::parse() followed by the old conversion to Value. When
// both accept, the trees must be equal; when only one accepts, the input must
// fall in one of the documented differences below. Crashes, sanitizer
// reports and disagreements are the findings.
//
// Where cpprest accepts and ParseJson() refuses (cpprest is lax):
//   - leading zeros ("01", "-01");
//   - numbers too large for a double ("1e999" becomes infinity, then null);
//   - a lone low surrogate escape ("\udc00", encoded as is);
//   - comments ("//", "/* */") and the extra whitespace of iswspace()
//     (\v, \f, 0x1c-0x1f) between tokens;
//   - anything after the document that starts with byte 0xff, which cpprest
//     takes for end of input.
// Where ParseJson() accepts and cpprest refuses:
//   - byte 0xff inside a string (again end of input to cpprest); other bytes
//     that are not UTF-8 pass through in both.
// Duplicate keys: both keep the first (cpprest is told to keep document
// order, and the conversion here keeps the first).

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

namespace boardsync {
namespace {

constexpr int kMaxDepth = 64;

// The conversion ParseJson() did before, except that of repeated keys the
// first wins (it used to be whichever cpprest's unstable sort put last).
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
      return Value(v.as_string());
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
        members.emplace_back(key, std::move(*converted));
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
  for (std::string_view kind : {"leading zero in number", "number out of range",
                                "lone low surrogate in \\u escape"}) {
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
    (void)ours->ToJson();  // walks the whole tree
  } else if (ours.error().code != ErrorCode::kBadResponse) {
    Disagree("wrong error code", ours.error().message);
  }
  auto theirs = ParseWithCpprest(text);
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

#include "connectors/http/json.h"

#include <cpprest/json.h>

#include <exception>
#include <string>

namespace boardsync {
namespace {

// Deeper documents are refused: no tracker answer nests this far, and the
// conversion below recurses.
constexpr int kMaxDepth = 64;

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
      list.reserve(v.as_array().size());
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
      Value::Object object;
      for (const auto& [key, element] : v.as_object()) {
        auto converted = Convert(element, depth + 1);
        if (!converted) {
          return converted;
        }
        object.insert_or_assign(key, std::move(*converted));
      }
      return Value(std::move(object));
    }
  }
  return Value();
}

}  // namespace

Result<Value> ParseJson(std::string_view text) {
  std::error_code ec;
  web::json::value parsed;
  try {
    parsed = web::json::value::parse(std::string(text), ec);
  } catch (const std::exception& e) {
    // Despite the error_code overload, cpprest throws std::range_error when
    // a high surrogate escape is followed by anything but a low one.
    return Fail(ErrorCode::kBadResponse, std::string("malformed JSON: ") + e.what());
  }
  if (ec) {
    return Fail(ErrorCode::kBadResponse, "malformed JSON: " + ec.message());
  }
  return Convert(parsed, 0);
}

}  // namespace boardsync

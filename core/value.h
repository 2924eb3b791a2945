// Value: the one data model shared by trackers, mappings and board stores.
// A JSON-like tree: null, bool, integer, float, string, list, object. Objects
// keep their keys sorted, so ToJson() is canonical and can be hashed.
// Values are plain copyable data; no thread-safety beyond that of std types.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace boardsync {

class Value {
 public:
  using List = std::vector<Value>;
  using Object = std::map<std::string, Value, std::less<>>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : data_(b) {}
  Value(int i) : data_(static_cast<std::int64_t>(i)) {}
  Value(std::int64_t i) : data_(i) {}
  Value(double d) : data_(d) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  Value(List l) : data_(std::move(l)) {}
  Value(Object o) : data_(std::move(o)) {}

  bool IsNull() const { return std::holds_alternative<std::monostate>(data_); }
  bool IsBool() const { return std::holds_alternative<bool>(data_); }
  bool IsInt() const { return std::holds_alternative<std::int64_t>(data_); }
  bool IsDouble() const { return std::holds_alternative<double>(data_); }
  bool IsNumber() const { return IsInt() || IsDouble(); }
  bool IsString() const { return std::holds_alternative<std::string>(data_); }
  bool IsList() const { return std::holds_alternative<List>(data_); }
  bool IsObject() const { return std::holds_alternative<Object>(data_); }

  // REQUIRES: the matching Is*() is true.
  bool AsBool() const { return std::get<bool>(data_); }
  std::int64_t AsInt() const { return std::get<std::int64_t>(data_); }
  double AsDouble() const { return std::get<double>(data_); }
  // Either number kind as a double. REQUIRES: IsNumber().
  double AsNumber() const { return IsInt() ? static_cast<double>(AsInt()) : AsDouble(); }
  const std::string& AsString() const { return std::get<std::string>(data_); }
  const List& AsList() const { return std::get<List>(data_); }
  List& AsList() { return std::get<List>(data_); }
  const Object& AsObject() const { return std::get<Object>(data_); }
  Object& AsObject() { return std::get<Object>(data_); }

  // The member `key` of an object, or nullptr when this is not an object or
  // has no such key.
  const Value* Find(std::string_view key) const;
  // Find() that treats a missing member and an explicit null alike.
  const Value* FindNonNull(std::string_view key) const;
  // The string member `key`, or "" when absent or not a string.
  std::string_view StringOr(std::string_view key, std::string_view fallback = "") const;

  // Canonical compact JSON: sorted keys, no spaces, UTF-8 passed through,
  // control characters escaped. Doubles use the shortest round-trip form.
  std::string ToJson() const;
  void AppendJson(std::string& out) const;

  // Text for people: strings as is, numbers in JSON form, null as "",
  // lists joined with ", ", objects as JSON.
  std::string ToText() const;

  friend bool operator==(const Value&, const Value&) = default;
  // Prints the JSON form; GoogleTest finds it for readable failures.
  friend void PrintTo(const Value& value, std::ostream* out);

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, List, Object> data_;
};

// The number `text` spells ("42" -> 42, " 4.5 " -> 4.5): an integer when it
// fits int64, else a finite double; nullopt for anything else.
std::optional<Value> NumberFromText(std::string_view text);

// Appends `s` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace boardsync

// Value: the one data model shared by trackers, mappings and board stores.
// A JSON-like tree: null, bool, integer, float, string, list, object. Objects
// keep their keys sorted, so ToJson() is canonical and can be hashed.
// Values are plain copyable data; no thread-safety beyond that of std types.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace boardsync {

class Value;

// The members of an object, sorted by key, in one vector: the subset of
// std::map's interface the code uses, at one allocation per object instead
// of one per member (issue pages hold hundreds of thousands of members).
// Inserting is linear in the size, which is fine for the tens of members a
// tracker object has. Building from a range or a list sorts once; when a key
// repeats, the first one wins, as with std::map.
class ValueObject {
 public:
  using value_type = std::pair<std::string, Value>;
  using Members = std::vector<value_type>;
  using iterator = Members::iterator;
  using const_iterator = Members::const_iterator;

  ValueObject() = default;
  ValueObject(std::initializer_list<value_type> members);
  template <typename It>
  ValueObject(It first, It last) : members_(first, last) {
    SortAndDropRepeats();
  }

  // Members that need Value complete are defined after it.
  iterator begin();
  iterator end();
  const_iterator begin() const;
  const_iterator end() const;
  std::size_t size() const;
  bool empty() const;
  void clear();
  void reserve(std::size_t members);

  iterator find(std::string_view key);
  const_iterator find(std::string_view key) const;
  bool contains(std::string_view key) const;
  // REQUIRES: contains(key).
  Value& at(std::string_view key);
  const Value& at(std::string_view key) const;
  // The member `key`, inserted as null when missing.
  Value& operator[](std::string_view key);

  template <typename V>
  std::pair<iterator, bool> emplace(std::string_view key, V&& value);
  template <typename V>
  std::pair<iterator, bool> insert_or_assign(std::string_view key, V&& value);
  std::size_t erase(std::string_view key);

  friend bool operator==(const ValueObject& a, const ValueObject& b);

 private:
  iterator LowerBound(std::string_view key);
  void SortAndDropRepeats();

  Members members_;
};

class Value {
 public:
  using List = std::vector<Value>;
  using Object = ValueObject;

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

inline ValueObject::iterator ValueObject::begin() { return members_.begin(); }
inline ValueObject::iterator ValueObject::end() { return members_.end(); }
inline ValueObject::const_iterator ValueObject::begin() const { return members_.begin(); }
inline ValueObject::const_iterator ValueObject::end() const { return members_.end(); }
inline std::size_t ValueObject::size() const { return members_.size(); }
inline bool ValueObject::empty() const { return members_.empty(); }
inline void ValueObject::clear() { members_.clear(); }
inline void ValueObject::reserve(std::size_t members) { members_.reserve(members); }
inline bool operator==(const ValueObject& a, const ValueObject& b) {
  return a.members_ == b.members_;
}

inline ValueObject::iterator ValueObject::LowerBound(std::string_view key) {
  return std::lower_bound(members_.begin(), members_.end(), key,
                          [](const value_type& m, std::string_view k) { return m.first < k; });
}

inline ValueObject::iterator ValueObject::find(std::string_view key) {
  auto it = LowerBound(key);
  return it != members_.end() && it->first == key ? it : members_.end();
}

inline ValueObject::const_iterator ValueObject::find(std::string_view key) const {
  return const_cast<ValueObject*>(this)->find(key);
}

inline bool ValueObject::contains(std::string_view key) const { return find(key) != end(); }

inline Value& ValueObject::at(std::string_view key) { return find(key)->second; }

inline const Value& ValueObject::at(std::string_view key) const { return find(key)->second; }

inline Value& ValueObject::operator[](std::string_view key) {
  return emplace(key, Value()).first->second;
}

template <typename V>
std::pair<ValueObject::iterator, bool> ValueObject::emplace(std::string_view key, V&& value) {
  auto it = LowerBound(key);
  if (it != members_.end() && it->first == key) {
    return {it, false};
  }
  return {members_.emplace(it, std::string(key), Value(std::forward<V>(value))), true};
}

template <typename V>
std::pair<ValueObject::iterator, bool> ValueObject::insert_or_assign(std::string_view key,
                                                                     V&& value) {
  auto it = LowerBound(key);
  if (it != members_.end() && it->first == key) {
    it->second = Value(std::forward<V>(value));
    return {it, false};
  }
  return {members_.emplace(it, std::string(key), Value(std::forward<V>(value))), true};
}

// The number `text` spells ("42" -> 42, " 4.5 " -> 4.5): an integer when it
// fits int64, else a finite double; nullopt for anything else.
std::optional<Value> NumberFromText(std::string_view text);

// Appends `s` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string& out, std::string_view s);
// Appends Value(object).ToJson() to `out`, without copying the object.
void AppendJsonObject(std::string& out, const ValueObject& object);

}  // namespace boardsync

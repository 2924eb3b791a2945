// JSON text -> a read-only document: a recursive-descent parser (RFC 8259)
// that records each value as one fixed-size node in a flat array, with
// strings viewed in the text itself (only those with escapes or bytes to
// repair are copied). Decoders read tracker pages through JsonView without
// building a Value tree; ParseJson() makes the Value tree for everything
// else. Writing is Value::ToJson(). cpprestsdk stays in this folder for HTTP.
#pragma once

#include <cmath>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/value.h"

namespace boardsync {

class JsonDocument;

enum class JsonKind : std::uint8_t { kNull, kBool, kInt, kDouble, kString, kList, kObject };

// One value of a document, as the parser recorded it. Lists and objects are
// followed by their contents (an object's as key, value, key, value...);
// `end` is the index just past the subtree, so skipping a value is a jump.
struct JsonNode {
  JsonNode() = default;
  JsonNode(JsonKind k, std::uint32_t after) : kind(k), end(after) {}

  JsonKind kind = JsonKind::kNull;
  bool in_arena = false;   // string: bytes in the document's arena, else in the text
  std::uint32_t end = 0;   // index after this node and everything inside it
  std::uint32_t size = 0;  // string: bytes; list: elements; object: members
  std::uint32_t text_end = 0;  // list, object: the text offset just past it
  union {
    std::int64_t integer = 0;  // kInt, kBool (0/1)
    double number;             // kDouble
    std::uint64_t offset;      // kString: where its bytes start; list, object: its text's
  };
};

// A value inside a JsonDocument; cheap to copy, valid while the document
// (and the text it was parsed from) lives. The read interface mirrors
// Value's, with string_views for strings.
class JsonView {
 public:
  JsonView(const JsonDocument* doc, std::uint32_t index) : doc_(doc), index_(index) {}

  JsonKind kind() const { return node().kind; }
  bool IsNull() const { return kind() == JsonKind::kNull; }
  bool IsBool() const { return kind() == JsonKind::kBool; }
  bool IsInt() const { return kind() == JsonKind::kInt; }
  bool IsDouble() const { return kind() == JsonKind::kDouble; }
  bool IsNumber() const { return IsInt() || IsDouble(); }
  bool IsString() const { return kind() == JsonKind::kString; }
  bool IsList() const { return kind() == JsonKind::kList; }
  bool IsObject() const { return kind() == JsonKind::kObject; }

  // REQUIRES: the matching Is*() is true.
  bool AsBool() const { return node().integer != 0; }
  std::int64_t AsInt() const { return node().integer; }
  double AsDouble() const { return node().number; }
  double AsNumber() const { return IsInt() ? static_cast<double>(AsInt()) : AsDouble(); }
  std::string_view AsString() const;

  // Elements of a list, members of an object; 0 for anything else.
  std::size_t size() const { return IsList() || IsObject() ? node().size : 0; }

  // The first member named `key` (as ParseJson() keeps the first of
  // repeated keys), or nullopt when this is not an object or has none.
  std::optional<JsonView> Find(std::string_view key) const;
  // Find() that treats a missing member and an explicit null alike.
  std::optional<JsonView> FindNonNull(std::string_view key) const;
  // The string member `key`, or `fallback` when absent or not a string.
  std::string_view StringOr(std::string_view key, std::string_view fallback = "") const;

  // Iterates the elements of a list (each a JsonView) or the members of an
  // object (each a key JsonView followed by its value: see Members()).
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = JsonView;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    Iterator(const JsonDocument* doc, std::uint32_t index) : doc_(doc), index_(index) {}
    JsonView operator*() const { return JsonView(doc_, index_); }
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.index_ == b.index_; }

   private:
    const JsonDocument* doc_ = nullptr;
    std::uint32_t index_ = 0;
  };
  struct Range {
    Iterator first, last;
    Iterator begin() const { return first; }
    Iterator end() const { return last; }
  };
  // REQUIRES: IsList(). Each element.
  Range Elements() const;
  // REQUIRES: IsObject(). Calls f(key, value) for each member in document
  // order, repeated keys included.
  template <typename F>
  void ForEachMember(F&& f) const;

  // The same value as a Value tree (what ParseJson() returns).
  Value ToValue() const;
  // REQUIRES: IsList() || IsObject(). Its text as it was parsed, brackets
  // included (for JSON written canonically, its canonical form).
  std::string_view RawText() const;

 private:
  const JsonNode& node() const;

  const JsonDocument* doc_;
  std::uint32_t index_;
};

class JsonDocument {
 public:
  JsonDocument() = default;
  JsonDocument(JsonDocument&&) = default;
  JsonDocument& operator=(JsonDocument&&) = default;
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;

  // REQUIRES: a document from ParseJsonDocument().
  JsonView Root() const { return JsonView(this, 0); }

 private:
  friend class JsonView;
  friend class JsonParser;
  std::string_view text_;
  std::vector<JsonNode> nodes_;
  std::string arena_;  // strings that needed unescaping or repair
};

// Parses `text` as ParseJson() does (same grammar, limits and errors); the
// document views `text`, which must outlive it.
Result<JsonDocument> ParseJsonDocument(std::string_view text);

inline const JsonNode& JsonView::node() const { return doc_->nodes_[index_]; }

inline std::string_view JsonView::AsString() const {
  const JsonNode& n = node();
  const char* base = n.in_arena ? doc_->arena_.data() : doc_->text_.data();
  return std::string_view(base + n.offset, n.size);
}

inline std::string_view JsonView::RawText() const {
  const JsonNode& n = node();
  return doc_->text_.substr(n.offset, n.text_end - n.offset);
}

inline JsonView::Iterator& JsonView::Iterator::operator++() {
  index_ = doc_->nodes_[index_].end;
  return *this;
}

inline JsonView::Range JsonView::Elements() const {
  const JsonNode& n = node();
  return Range{Iterator(doc_, index_ + 1), Iterator(doc_, n.end)};
}

template <typename F>
void JsonView::ForEachMember(F&& f) const {
  const std::uint32_t end = node().end;
  for (std::uint32_t i = index_ + 1; i < end;) {
    const JsonView key(doc_, i);
    const JsonView value(doc_, i + 1);
    f(key.AsString(), value);
    i = doc_->nodes_[i + 1].end;
  }
}

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

// `v` (a JsonView or a Value) as a whole number: an integer, or a double
// with no fraction (JSON has one number type, so 600.0 may mean 600) within
// the range a double holds exactly. False for anything else.
template <typename Json>
bool AsInteger(const Json& v, std::int64_t& out) {
  if (v.IsInt()) {
    out = v.AsInt();
    return true;
  }
  if (v.IsDouble() && std::trunc(v.AsDouble()) == v.AsDouble() && std::abs(v.AsDouble()) < 9.0e15) {
    out = static_cast<std::int64_t>(v.AsDouble());
    return true;
  }
  return false;
}

}  // namespace boardsync

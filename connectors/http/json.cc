#include "connectors/http/json.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>
#include <vector>


#include "core/text.h"

namespace boardsync {
namespace {

// Deeper documents are refused: no tracker answer nests this far, and the
// parser recurses once per level, so hostile input cannot exhaust the stack.
constexpr int kMaxDepth = 64;

// Strings are read in runs between the bytes FindJsonStringStop() stops at
// (core/text.h): the quote, the backslash and the control characters JSON
// forbids raw. A run with a byte that is not ASCII goes through
// AppendRepairedUtf8(); all stops are ASCII, so no UTF-8 sequence spans two
// runs, and checking run by run is checking the whole string.

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

constexpr int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

void AppendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    char buf[2] = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(buf, 2);
  } else if (cp < 0x10000) {
    char buf[3] = {static_cast<char>(0xE0 | (cp >> 12)),
                   static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                   static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(buf, 3);
  } else {
    char buf[4] = {static_cast<char>(0xF0 | (cp >> 18)),
                   static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
                   static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                   static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(buf, 4);
  }
}

// For a number std::from_chars found out of range: whether it is too small
// (rounds to zero) rather than too large. Looks at the decimal exponent of
// its first significant digit. REQUIRES: [p, end) is a valid JSON number.
bool IsUnderflow(const char* p, const char* end) {
  if (*p == '-') {
    ++p;
  }
  long long magnitude = 0;  // the value is in [10^(magnitude-1), 10^magnitude)
  bool significant = false;
  for (; p != end && IsDigit(*p); ++p) {
    significant = significant || *p != '0';
    magnitude += significant ? 1 : 0;
  }
  if (p != end && *p == '.') {
    for (++p; p != end && IsDigit(*p); ++p) {
      if (!significant) {
        significant = *p != '0';
        magnitude -= significant ? 0 : 1;
      }
    }
  }
  long long exponent = 0;
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool negative = *p == '-';
    if (*p == '-' || *p == '+') {
      ++p;
    }
    for (; p != end && IsDigit(*p); ++p) {
      if (exponent < 1'000'000'000) {  // far past any double; no overflow
        exponent = exponent * 10 + (*p - '0');
      }
    }
    exponent = negative ? -exponent : exponent;
  }
  return !significant || magnitude + exponent < 0;
}

}  // namespace

// One parse of one document into its nodes. Returns false at the first error
// and keeps its message.
class JsonParser {
 public:
  JsonParser(std::string_view text, JsonDocument& doc)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), doc_(doc) {
    doc_.text_ = text;
    // About one node for every 16 bytes of a tracker page; growing past it
    // costs a few copies of a small array.
    doc_.nodes_.reserve(text.size() / 16 + 4);
  }

  Result<void> Parse() {
    SkipWhitespace();
    if (!ParseValue(0)) {
      return Fail(ErrorCode::kBadResponse, std::move(message_));
    }
    SkipWhitespace();
    if (p_ != end_) {
      Reject("unexpected text after the document", p_);
      return Fail(ErrorCode::kBadResponse, std::move(message_));
    }
    return {};
  }

 private:
  // Records the error at byte `at`; returns false for `return Reject(...)`.
  bool Reject(std::string_view what, const char* at) {
    message_ = "malformed JSON: ";
    message_ += what;
    message_ += " at byte ";
    message_ += std::to_string(at - begin_);
    return false;
  }
  bool RejectEnd() { return Reject("unexpected end of input", end_); }

  void SkipWhitespace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
      ++p_;
    }
  }

  // Appends a node of `kind`; returns its index.
  std::uint32_t Push(JsonKind kind) {
    const auto index = static_cast<std::uint32_t>(doc_.nodes_.size());
    doc_.nodes_.emplace_back(kind, index + 1);
    return index;
  }

  // A list or object starting at p_.
  std::uint32_t Open(JsonKind kind) {
    const std::uint32_t index = Push(kind);
    doc_.nodes_[index].offset = static_cast<std::uint64_t>(p_ - begin_);
    return index;
  }

  bool ParseValue(int depth) {
    if (depth > kMaxDepth) {
      message_ = "JSON nested deeper than 64 levels";
      return false;
    }
    if (p_ == end_) {
      return RejectEnd();
    }
    switch (*p_) {
      case '{':
        return ParseObject(depth);
      case '[':
        return ParseList(depth);
      case '"':
        return ParseString();
      case 't':
        return ParseLiteral("true", JsonKind::kBool, 1);
      case 'f':
        return ParseLiteral("false", JsonKind::kBool, 0);
      case 'n':
        return ParseLiteral("null", JsonKind::kNull, 0);
      default:
        if (*p_ == '-' || IsDigit(*p_)) {
          return ParseNumber();
        }
        return Reject("expected a value", p_);
    }
  }

  bool ParseLiteral(std::string_view word, JsonKind kind, std::int64_t value) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return Reject("invalid literal", p_);
    }
    p_ += word.size();
    doc_.nodes_[Push(kind)].integer = value;
    return true;
  }

  // REQUIRES: *p_ == '['.
  bool ParseList(int depth) {
    const std::uint32_t list = Open(JsonKind::kList);
    ++p_;
    SkipWhitespace();
    std::uint32_t count = 0;
    if (p_ != end_ && *p_ == ']') {
      ++p_;
    } else {
      for (bool more = true; more; ++count) {
        if (!ParseValue(depth + 1) || !Separator(']', "expected ',' or ']'", more)) {
          return false;
        }
      }
    }
    Close(list, count);
    return true;
  }

  // Records where the list or object at `index` ends, now that it has
  // (p_ is just past its closing bracket).
  void Close(std::uint32_t index, std::uint32_t count) {
    JsonNode& node = doc_.nodes_[index];
    node.size = count;
    node.end = static_cast<std::uint32_t>(doc_.nodes_.size());
    node.text_end = static_cast<std::uint32_t>(p_ - begin_);
  }

  // Skips one digit or more; false when there is none.
  bool SkipDigits() {
    if (p_ == end_ || !IsDigit(*p_)) {
      return false;
    }
    while (p_ != end_ && IsDigit(*p_)) {
      ++p_;
    }
    return true;
  }

  // After an element or a member: ',' (`more` follow) or `close` (the end);
  // anything else is rejected with `expected`.
  bool Separator(char close, const char* expected, bool& more) {
    SkipWhitespace();
    if (p_ == end_) {
      return RejectEnd();
    }
    if (*p_ == ',') {
      ++p_;
      SkipWhitespace();
      more = true;
      return true;
    }
    if (*p_ == close) {
      ++p_;
      more = false;
      return true;
    }
    return Reject(expected, p_);
  }

  // REQUIRES: *p_ == '{'. Members are gathered, then handed to Object's range
  // constructor, which works for std::map and for a sorted flat map alike.
  // With duplicate keys the first one wins (as std::map's range constructor).
  bool ParseObject(int depth) {
    const std::uint32_t object = Open(JsonKind::kObject);
    ++p_;
    SkipWhitespace();
    std::uint32_t count = 0;
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      Close(object, count);
      return true;
    }
    while (true) {
      if (p_ == end_) {
        return RejectEnd();
      }
      if (*p_ != '"') {
        return Reject("expected a string key", p_);
      }
      if (!ParseString()) {
        return false;
      }
      SkipWhitespace();
      if (p_ == end_) {
        return RejectEnd();
      }
      if (*p_ != ':') {
        return Reject("expected ':'", p_);
      }
      ++p_;
      SkipWhitespace();
      bool more = false;
      if (!ParseValue(depth + 1) || !Separator('}', "expected ',' or '}'", more)) {
        return false;
      }
      ++count;
      if (!more) {
        break;
      }
    }
    Close(object, count);
    return true;
  }

  // REQUIRES: *p_ == '"'. A string that is already what it says (no
  // escapes, valid UTF-8: nearly all of them) is viewed in the text; any
  // other is written out to the arena by ParseStringInto().
  bool ParseString() {
    const char* quote = p_;
    const std::uint32_t index = Push(JsonKind::kString);
    const char* run = p_ + 1;
    bool high = false;  // a byte of the content is not ASCII
    const char* stop = FindJsonStringStop(run, end_, &high);
    if (stop == end_) {
      return Reject("unterminated string", quote);
    }
    const std::string_view content(run, static_cast<std::size_t>(stop - run));
    if (*stop == '"' && (!high || IsValidUtf8(content))) {
      JsonNode& node = doc_.nodes_[index];
      node.offset = static_cast<std::uint64_t>(run - begin_);
      node.size = static_cast<std::uint32_t>(content.size());
      p_ = stop + 1;
      return true;
    }
    std::string& arena = doc_.arena_;
    const std::size_t offset = arena.size();
    if (!ParseStringInto(arena)) {
      return false;
    }
    JsonNode& node = doc_.nodes_[index];
    node.in_arena = true;
    node.offset = offset;
    node.size = static_cast<std::uint32_t>(arena.size() - offset);
    return true;
  }

  // REQUIRES: *p_ == '"'. Runs without escapes are appended whole; the
  // scan that finds their end also ORs their bytes together, so telling an
  // ASCII run (copied as is) from one to check as UTF-8 costs one OR a word.
  bool ParseStringInto(std::string& out) {
    const char* quote = p_;
    ++p_;
    while (true) {
      const char* run = p_;
      bool high = false;
      p_ = FindJsonStringStop(p_, end_, &high);
      if (p_ == end_) {
        return Reject("unterminated string", quote);
      }
      if (!high) {
        out.append(run, static_cast<std::size_t>(p_ - run));
      } else {
        AppendRepairedUtf8(out, std::string_view(run, static_cast<std::size_t>(p_ - run)));
      }
      if (*p_ == '"') {
        ++p_;
        return true;
      }
      if (*p_ != '\\') {
        return Reject("control character in string", p_);
      }
      if (!ParseEscape(out)) {
        return false;
      }
    }
  }

  // REQUIRES: *p_ == '\\'.
  bool ParseEscape(std::string& out) {
    const char* escape = p_;
    ++p_;
    if (p_ == end_) {
      return RejectEnd();
    }
    char c = *p_++;
    switch (c) {
      case '"': out.push_back('"'); return true;
      case '\\': out.push_back('\\'); return true;
      case '/': out.push_back('/'); return true;
      case 'b': out.push_back('\b'); return true;
      case 'f': out.push_back('\f'); return true;
      case 'n': out.push_back('\n'); return true;
      case 'r': out.push_back('\r'); return true;
      case 't': out.push_back('\t'); return true;
      case 'u': break;
      default: return Reject("invalid escape", escape);
    }
    std::uint32_t unit = 0;
    if (end_ - p_ < 4 || !Hex4(p_, unit)) {
      return Reject("invalid \\u escape", escape);
    }
    p_ += 4;
    if (unit >= 0xD800 && unit <= 0xDFFF) {
      // Only a high surrogate followed at once by an escaped low one is a
      // code point. Any other surrogate is text that is not UTF-8 (as raw
      // bytes that are not): one U+FFFD, and whatever follows it is read
      // on its own, so "\ud800\u0041" is "\ufffdA".
      std::uint32_t low = 0;
      if (unit >= 0xDC00 || end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u' ||
          !Hex4(p_ + 2, low) || low < 0xDC00 || low > 0xDFFF) {
        out.append(kReplacementCharacter);
        return true;
      }
      p_ += 6;
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(out, unit);
    return true;
  }

  // Reads the 4 hex digits at `p` into `unit`; false when one is not hex.
  // REQUIRES: 4 bytes at `p`.
  static bool Hex4(const char* p, std::uint32_t& unit) {
    unit = 0;
    for (int i = 0; i < 4; ++i) {
      int h = HexValue(p[i]);
      if (h < 0) {
        return false;
      }
      unit = unit * 16 + static_cast<std::uint32_t>(h);
    }
    return true;
  }

  // REQUIRES: *p_ is '-' or a digit. The grammar is checked here, so
  // from_chars (which would take "inf", "1." and the like) only sees JSON.
  bool ParseNumber() {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) {
      ++p_;
    }
    if (p_ == end_ || !IsDigit(*p_)) {
      return Reject("invalid number", start);
    }
    if (*p_ == '0') {
      ++p_;
      if (p_ != end_ && IsDigit(*p_)) {
        return Reject("leading zero in number", start);
      }
    } else {
      while (p_ != end_ && IsDigit(*p_)) {
        ++p_;
      }
    }
    const char* integer_end = p_;
    bool integer = true;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!SkipDigits()) {
        return Reject("invalid number", start);
      }
      integer = false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) {
        ++p_;
      }
      if (!SkipDigits()) {
        return Reject("invalid number", start);
      }
      integer = false;
    }
    if (integer) {
      const char* digits = negative ? start + 1 : start;
      if (integer_end - digits <= 18) {  // fits int64 whatever the digits
        std::int64_t v = 0;
        for (const char* d = digits; d != integer_end; ++d) {
          v = v * 10 + (*d - '0');
        }
        doc_.nodes_[Push(JsonKind::kInt)].integer = negative ? -v : v;
        return true;
      }
      std::int64_t v = 0;
      if (auto [ptr, ec] = std::from_chars(start, p_, v); ec == std::errc() && ptr == p_) {
        doc_.nodes_[Push(JsonKind::kInt)].integer = v;
        return true;
      }
      // Past int64 (uint64 included): a double, as JSON numbers are.
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(start, p_, d);
    if (ec == std::errc::result_out_of_range && IsUnderflow(start, p_)) {
      d = negative ? -0.0 : 0.0;
    } else if (ec == std::errc::result_out_of_range) {
      return Reject("number out of range", start);
    } else if (ec != std::errc() || ptr != p_) {
      return Reject("invalid number", start);
    }
    doc_.nodes_[Push(JsonKind::kDouble)].number = d;
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  JsonDocument& doc_;
  std::string message_;
};

Result<JsonDocument> ParseJsonDocument(std::string_view text) {
  JsonDocument doc;
  if (auto parsed = JsonParser(text, doc).Parse(); !parsed) {
    return std::unexpected(parsed.error());
  }
  return doc;
}

std::optional<JsonView> JsonView::Find(std::string_view key) const {
  const JsonNode& n = node();
  if (n.kind != JsonKind::kObject) {
    return std::nullopt;
  }
  for (std::uint32_t i = index_ + 1; i < n.end;) {
    if (JsonView(doc_, i).AsString() == key) {
      return JsonView(doc_, i + 1);
    }
    i = doc_->nodes_[i + 1].end;
  }
  return std::nullopt;
}

std::optional<JsonView> JsonView::FindNonNull(std::string_view key) const {
  auto v = Find(key);
  return v && !v->IsNull() ? v : std::nullopt;
}

std::string_view JsonView::StringOr(std::string_view key, std::string_view fallback) const {
  auto v = Find(key);
  return v && v->IsString() ? v->AsString() : fallback;
}

Value JsonView::ToValue() const {
  switch (kind()) {
    case JsonKind::kNull:
      return Value();
    case JsonKind::kBool:
      return Value(AsBool());
    case JsonKind::kInt:
      return Value(AsInt());
    case JsonKind::kDouble:
      return Value(AsDouble());
    case JsonKind::kString:
      return Value(AsString());
    case JsonKind::kList: {
      Value::List list;
      list.reserve(size());
      for (JsonView element : Elements()) {
        list.push_back(element.ToValue());
      }
      return Value(std::move(list));
    }
    case JsonKind::kObject: {
      std::vector<std::pair<std::string, Value>> members;
      members.reserve(size());
      ForEachMember([&members](std::string_view key, JsonView value) {
        members.emplace_back(std::string(key), value.ToValue());
      });
      // Sorted once; of repeated keys the first stays.
      return Value(Value::Object(std::make_move_iterator(members.begin()),
                                 std::make_move_iterator(members.end())));
    }
  }
  return Value();
}

Result<Value> ParseJson(std::string_view text) {
  auto doc = ParseJsonDocument(text);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  return doc->Root().ToValue();
}



}  // namespace boardsync

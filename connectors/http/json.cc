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

// Bytes that end a run of plain string content: the quote, the backslash and
// the control characters JSON forbids raw. Everything else is content: ASCII
// is copied as is, a run with any other byte goes through
// AppendRepairedUtf8(). All stops are ASCII, so no UTF-8 sequence spans two
// runs, and checking run by run is checking the whole string.
constexpr std::array<bool, 256> kStringStop = [] {
  std::array<bool, 256> stop{};
  for (int c = 0; c < 0x20; ++c) {
    stop[c] = true;
  }
  stop['"'] = true;
  stop['\\'] = true;
  return stop;
}();

// Bit 7 of each of 8 bytes: set in a word OR-ed from text that is not ASCII.
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

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

// For 8 bytes of a string loaded little-endian: a mask whose lowest set bit
// is the high bit of the first byte that is '"', '\\' or below 0x20, or 0.
// The classic "has zero byte" tests; they can flag bytes above a true hit
// (a borrow runs upwards) but never below one, so the lowest bit is exact.
constexpr std::uint64_t StringStops(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  auto zero_bytes = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighBits; };
  std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighBits;
  return zero_bytes(w ^ (kOnes * '"')) | zero_bytes(w ^ (kOnes * '\\')) | below_space;
}

// Key order for sorting members: std::string's, with the first byte (which
// mostly decides) compared inline.
bool KeyLess(const std::string& a, const std::string& b) {
  if (!a.empty() && !b.empty() && a[0] != b[0]) {
    return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]);
  }
  return a < b;
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

using Members = std::vector<std::pair<std::string, Value>>;

// Hands out the members of a buffer in the order of an index list, each as
// an rvalue (like std::move_iterator), so Object's range constructor moves
// them straight from the buffer in key order.
class MoveInOrder {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = Members::value_type;
  using difference_type = std::ptrdiff_t;
  using pointer = value_type*;
  using reference = value_type&&;

  MoveInOrder() = default;
  MoveInOrder(Members* members, const std::uint32_t* index) : members_(members), index_(index) {}

  reference operator*() const { return std::move((*members_)[*index_]); }
  MoveInOrder& operator++() {
    ++index_;
    return *this;
  }
  MoveInOrder operator++(int) {
    MoveInOrder before = *this;
    ++index_;
    return before;
  }
  friend bool operator==(const MoveInOrder& a, const MoveInOrder& b) { return a.index_ == b.index_; }

 private:
  Members* members_ = nullptr;
  const std::uint32_t* index_ = nullptr;
};

// One parse of one document. Returns false at the first error and keeps its
// message; values are built in place, so nothing is copied after parsing.
class Parser {
 public:
  explicit Parser(std::string_view text)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()) {}

  Result<Value> Parse() {
    Value root;
    SkipWhitespace();
    if (!ParseValue(root, 0)) {
      return Fail(ErrorCode::kBadResponse, std::move(message_));
    }
    SkipWhitespace();
    if (p_ != end_) {
      Reject("unexpected text after the document", p_);
      return Fail(ErrorCode::kBadResponse, std::move(message_));
    }
    return root;
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

  bool ParseValue(Value& out, int depth) {
    if (depth > kMaxDepth) {
      message_ = "JSON nested deeper than 64 levels";
      return false;
    }
    if (p_ == end_) {
      return RejectEnd();
    }
    switch (*p_) {
      case '{':
        return ParseObject(out, depth);
      case '[':
        return ParseList(out, depth);
      case '"': {
        std::string s;
        if (!ParseString(s)) {
          return false;
        }
        out = Value(std::move(s));
        return true;
      }
      case 't':
        return ParseLiteral("true", Value(true), out);
      case 'f':
        return ParseLiteral("false", Value(false), out);
      case 'n':
        return ParseLiteral("null", Value(), out);
      default:
        if (*p_ == '-' || IsDigit(*p_)) {
          return ParseNumber(out);
        }
        return Reject("expected a value", p_);
    }
  }

  bool ParseLiteral(std::string_view word, Value value, Value& out) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return Reject("invalid literal", p_);
    }
    p_ += word.size();
    out = std::move(value);
    return true;
  }

  // REQUIRES: *p_ == '['. Elements are gathered in a buffer kept per depth
  // and moved into a list of exactly their number: one allocation per list.
  bool ParseList(Value& out, int depth) {
    ++p_;
    SkipWhitespace();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      out = Value(Value::List());
      return true;
    }
    Value::List& items = lists_[depth];  // empty between uses
    for (bool more = true; more;) {
      items.emplace_back();
      if (!ParseValue(items.back(), depth + 1) || !Separator(']', "expected ',' or ']'", more)) {
        return false;
      }
    }
    out = Value(
        Value::List(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end())));
    items.clear();
    return true;
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
  bool ParseObject(Value& out, int depth) {
    ++p_;
    SkipWhitespace();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      out = Value(Value::Object());
      return true;
    }
    Members& members = members_[depth];  // empty between uses
    while (true) {
      if (p_ == end_) {
        return RejectEnd();
      }
      if (*p_ != '"') {
        return Reject("expected a string key", p_);
      }
      members.emplace_back();
      if (!ParseString(members.back().first)) {
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
      if (!ParseValue(members.back().second, depth + 1) ||
          !Separator('}', "expected ',' or '}'", more)) {
        return false;
      }
      if (!more) {
        break;
      }
    }
    SortByKey(members);
    out = Value(Value::Object(MoveInOrder(&members, order_.data()),
                              MoveInOrder(&members, order_.data() + order_.size())));
    members.clear();
    return true;
  }

  // Fills order_ with the indices of `members` sorted by key, stably, so
  // of equal keys the first comes first. Object sorts what it is given
  // anyway; given sorted members, std::map inserts each at its end hint and
  // a flat map has nothing to move. Sorting indices moves no members.
  void SortByKey(const Members& members) {
    order_.resize(members.size());
    for (std::uint32_t i = 0; i < order_.size(); ++i) {
      order_[i] = i;
    }
    auto less = [&members](std::uint32_t a, std::uint32_t b) {
      return KeyLess(members[a].first, members[b].first);
    };
    if (order_.size() > 32) {  // large objects are rare; ties go by position
      std::sort(order_.begin(), order_.end(), [&](std::uint32_t a, std::uint32_t b) {
        int c = members[a].first.compare(members[b].first);
        return c < 0 || (c == 0 && a < b);
      });
      return;
    }
    for (std::size_t i = 1; i < order_.size(); ++i) {  // insertion sort: stable
      std::uint32_t index = order_[i];
      std::size_t j = i;
      for (; j > 0 && less(index, order_[j - 1]); --j) {
        order_[j] = order_[j - 1];
      }
      order_[j] = index;
    }
  }

  // REQUIRES: *p_ == '"'. Runs without escapes are appended whole; the
  // scan that finds their end also ORs their bytes together, so telling an
  // ASCII run (copied as is) from one to check as UTF-8 costs one OR a word.
  bool ParseString(std::string& out) {
    const char* quote = p_;
    ++p_;
    while (true) {
      const char* run = p_;
      std::uint64_t all = 0;  // the run's bytes OR-ed together
      bool found = false;
      if constexpr (std::endian::native == std::endian::little) {
        while (end_ - p_ >= 8) {
          std::uint64_t w;
          std::memcpy(&w, p_, 8);
          if (std::uint64_t stops = StringStops(w); stops != 0) {
            // The bytes up to the stop, itself included: it is ASCII.
            all |= w & (stops ^ (stops - 1));
            p_ += std::countr_zero(stops) / 8;
            found = true;
            break;
          }
          all |= w;
          p_ += 8;
        }
      }
      while (!found && p_ != end_ && !kStringStop[static_cast<unsigned char>(*p_)]) {
        all |= static_cast<unsigned char>(*p_);
        ++p_;
      }
      if (p_ == end_) {
        return Reject("unterminated string", quote);
      }
      if ((all & kHighBits) == 0) {
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
  bool ParseNumber(Value& out) {
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
        out = Value(negative ? -v : v);
        return true;
      }
      std::int64_t v = 0;
      if (auto [ptr, ec] = std::from_chars(start, p_, v); ec == std::errc() && ptr == p_) {
        out = Value(v);
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
    out = Value(d);
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  std::string message_;
  // Scratch buffers per depth (ParseValue refuses depth > kMaxDepth, so a
  // list or object is at most at kMaxDepth): their capacity is reused by
  // every list or object at that depth, so a page of issues allocates little
  // beyond its results. Fixed arrays, so a buffer in use never moves.
  std::array<Value::List, kMaxDepth + 1> lists_;
  std::array<Members, kMaxDepth + 1> members_;
  std::vector<std::uint32_t> order_;  // SortByKey's; used by one object at a time
};

}  // namespace

Result<Value> ParseJson(std::string_view text) { return Parser(text).Parse(); }

}  // namespace boardsync

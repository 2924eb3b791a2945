#include "tests/support/youtrack_query.h"

#include <cctype>
#include <chrono>

namespace boardsync {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

char LowerChar(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

class QueryParser {
 public:
  QueryParser(std::string_view text, int utc_offset_minutes)
      : text_(text), offset_ms_(static_cast<std::int64_t>(utc_offset_minutes) * 60'000) {}

  Result<IssueQuery> Parse() {
    IssueQuery query;
    bool sorted = false;
    while (true) {
      SkipSpaces();
      if (AtEnd()) {
        return query;
      }
      if (Peek() == '#') {
        ++pos_;
        std::string word = ReadWord();
        std::string lower = ToLower(word);
        if (lower == "unresolved") {
          query.require_unresolved = true;
        } else if (lower == "resolved") {
          query.require_resolved = true;
        } else {
          return Invalid("unknown tag-like term \"#" + word + "\"");
        }
      } else if (Keyword("project")) {
        auto names = ReadNameList();
        if (!names) {
          return std::unexpected(names.error());
        }
        query.projects.push_back(std::move(*names));
      } else if (Keyword("updated")) {
        auto range = ReadRange();
        if (!range) {
          return std::unexpected(range.error());
        }
        query.updated.push_back(*range);
      } else if (Keyword("created")) {
        auto range = ReadRange();
        if (!range) {
          return std::unexpected(range.error());
        }
        query.created.push_back(*range);
      } else if (Keyword("issue id")) {
        auto ids = ReadIssueIds();
        if (!ids) {
          return std::unexpected(ids.error());
        }
        query.issue_ids.push_back(std::move(*ids));
      } else if (Keyword("sort by")) {
        if (sorted) {
          return Invalid("only one sort by clause is allowed");
        }
        sorted = true;
        SkipSpaces();
        std::string key = ToLower(ReadWord());
        if (key == "updated") {
          query.sort_key = QuerySortKey::kUpdated;
        } else if (key == "created") {
          query.sort_key = QuerySortKey::kCreated;
        } else {
          return Invalid("unsupported sort attribute \"" + key + "\"");
        }
        std::size_t save = pos_;
        SkipSpaces();
        std::string direction = ToLower(ReadWord());
        if (direction == "asc") {
          query.sort_ascending = true;
        } else if (direction == "desc") {
          query.sort_ascending = false;
        } else {
          pos_ = save;
        }
      } else if (Word("and")) {
        continue;
      } else {
        return Invalid("cannot parse the query at \"" + std::string(text_.substr(pos_, 20)) + "\"");
      }
      if (!AtEnd() && !IsSpace(Peek())) {
        return Invalid("unexpected \"" + std::string(text_.substr(pos_, 20)) + "\"");
      }
    }
  }

 private:
  static std::string ToLower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
      c = LowerChar(c);
    }
    return out;
  }

  std::unexpected<Error> Invalid(std::string why) const {
    return std::unexpected(Error{ErrorCode::kBadResponse, std::move(why), false});
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  void SkipSpaces() {
    while (!AtEnd() && IsSpace(Peek())) {
      ++pos_;
    }
  }

  // Letters, digits, '_' and '-'.
  std::string ReadWord() {
    std::size_t start = pos_;
    while (!AtEnd() &&
           (std::isalnum(static_cast<unsigned char>(Peek())) || Peek() == '_' || Peek() == '-')) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  // Consumes "<name>:" (any case, spaces allowed before the colon; the words
  // of a two-word name separated by one or more spaces).
  bool Keyword(std::string_view name) {
    std::size_t p = pos_;
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (name[i] == ' ') {
        if (p >= text_.size() || !IsSpace(text_[p])) {
          return false;
        }
        while (p < text_.size() && IsSpace(text_[p])) {
          ++p;
        }
        continue;
      }
      if (p >= text_.size() || LowerChar(text_[p]) != name[i]) {
        return false;
      }
      ++p;
    }
    while (p < text_.size() && IsSpace(text_[p])) {
      ++p;
    }
    if (p >= text_.size() || text_[p] != ':') {
      return false;
    }
    pos_ = p + 1;
    return true;
  }

  // Consumes a standalone word such as "and".
  bool Word(std::string_view word) {
    if (text_.size() - pos_ < word.size()) {
      return false;
    }
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (LowerChar(text_[pos_ + i]) != word[i]) {
        return false;
      }
    }
    std::size_t end = pos_ + word.size();
    if (end < text_.size() && !IsSpace(text_[end])) {
      return false;
    }
    pos_ = end;
    return true;
  }

  Result<std::vector<std::string>> ReadNameList() {
    std::vector<std::string> names;
    while (true) {
      SkipSpaces();
      if (AtEnd()) {
        return Invalid("a value is missing after \"project:\"");
      }
      std::string name;
      if (Peek() == '{') {
        auto close = text_.find('}', pos_);
        if (close == std::string_view::npos) {
          return Invalid("unclosed '{'");
        }
        name = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
        pos_ = close + 1;
      } else {
        std::size_t start = pos_;
        while (!AtEnd() && !IsSpace(Peek()) && Peek() != ',') {
          ++pos_;
        }
        name = std::string(text_.substr(start, pos_ - start));
      }
      if (name.empty()) {
        return Invalid("an empty project name");
      }
      names.push_back(std::move(name));
      std::size_t save = pos_;
      SkipSpaces();
      if (!AtEnd() && Peek() == ',') {
        ++pos_;
        continue;
      }
      pos_ = save;
      return names;
    }
  }

  Result<std::vector<std::string>> ReadIssueIds() {
    std::vector<std::string> ids;
    while (true) {
      SkipSpaces();
      std::string id = ReadWord();
      auto dash = id.rfind('-');
      bool valid = dash != std::string::npos && dash > 0 && dash + 1 < id.size();
      for (std::size_t i = dash + 1; valid && i < id.size(); ++i) {
        valid = std::isdigit(static_cast<unsigned char>(id[i])) != 0;
      }
      if (!valid) {
        return Invalid("\"" + id + "\" is not an issue id");
      }
      ids.push_back(std::move(id));
      std::size_t save = pos_;
      SkipSpaces();
      if (!AtEnd() && Peek() == ',') {
        ++pos_;
        continue;
      }
      pos_ = save;
      return ids;
    }
  }

  // A bound: '*' (open), or a date or date-time in the user's zone. Returns
  // the covered span [from, to) in UTC ms.
  struct Bound {
    bool open = false;
    std::int64_t from = 0;
    std::int64_t to = 0;
  };

  Result<Bound> ReadBound() {
    SkipSpaces();
    if (AtEnd()) {
      return Invalid("a date is missing");
    }
    if (Peek() == '*') {
      ++pos_;
      return Bound{true, 0, 0};
    }
    if (Peek() == '{') {
      return Invalid("braces are not allowed around dates");
    }
    std::size_t start = pos_;
    while (!AtEnd() && (std::isdigit(static_cast<unsigned char>(Peek())) || Peek() == '-' ||
                        Peek() == 'T' || Peek() == ':')) {
      ++pos_;
    }
    std::string_view token = text_.substr(start, pos_ - start);
    auto digits = [&](std::size_t at, std::size_t n, int& out) {
      out = 0;
      if (at + n > token.size()) {
        return false;
      }
      for (std::size_t i = at; i < at + n; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(token[i]))) {
          return false;
        }
        out = out * 10 + (token[i] - '0');
      }
      return true;
    };
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    std::int64_t span = 0;
    bool ok = digits(0, 4, y) && token.size() >= 10 && token[4] == '-' && digits(5, 2, mo) &&
              token[7] == '-' && digits(8, 2, d);
    if (ok && token.size() == 10) {
      span = 86'400'000;
    } else if (ok && (token.size() == 16 || token.size() == 19) && token[10] == 'T' &&
               digits(11, 2, h) && token[13] == ':' && digits(14, 2, mi)) {
      span = 60'000;
      if (token.size() == 19) {
        ok = token[16] == ':' && digits(17, 2, s);
        span = 1000;
      }
    } else {
      ok = false;
    }
    std::chrono::year_month_day date{std::chrono::year(y),
                                     std::chrono::month(static_cast<unsigned>(mo)),
                                     std::chrono::day(static_cast<unsigned>(d))};
    if (!ok || !date.ok() || h > 23 || mi > 59 || s > 59) {
      return Invalid("\"" +
                     std::string(text_.substr(start, std::max<std::size_t>(token.size(), 1))) +
                     "\" is not a date (use yyyy-MM-ddTHH:mm:ss)");
    }
    std::int64_t local = std::chrono::sys_days(date).time_since_epoch().count() * 86'400'000LL +
                         (h * 3600LL + mi * 60LL + s) * 1000LL;
    return Bound{false, local - offset_ms_, local - offset_ms_ + span};
  }

  Result<QueryTimeRange> ReadRange() {
    auto first = ReadBound();
    if (!first) {
      return std::unexpected(first.error());
    }
    std::size_t save = pos_;
    SkipSpaces();
    if (text_.substr(pos_, 2) != "..") {
      pos_ = save;
      if (first->open) {
        return Invalid("\"*\" needs a range: A .. B");
      }
      return QueryTimeRange{first->from, first->to};
    }
    pos_ += 2;
    auto second = ReadBound();
    if (!second) {
      return std::unexpected(second.error());
    }
    QueryTimeRange range;
    if (!first->open) {
      range.from_ms = first->from;
    }
    if (!second->open) {
      range.to_ms = second->to;
    }
    return range;
  }

  std::string_view text_;
  std::int64_t offset_ms_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<IssueQuery> ParseIssueQuery(std::string_view text, int utc_offset_minutes) {
  return QueryParser(text, utc_offset_minutes).Parse();
}

}  // namespace boardsync

#include "tests/support/jira/jira_jql.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <utility>

#include "core/text.h"

namespace boardsync {
namespace {

// Words Jira reserves: unquoted they are keywords, never values or fields.
// Jira's list is much longer; these are the ones a sync query can meet.
constexpr std::array<std::string_view, 20> kReservedWords = {
    "and",  "or",  "not",     "in",   "is", "empty", "null",   "order",  "by",    "asc",
    "desc", "was", "changed", "from", "to", "on",    "during", "before", "after", "function"};

// Characters Jira refuses outside quotes.
constexpr std::string_view kReservedCharacters = "{}*/%+^$#@[];?|&";

constexpr std::string_view kValidOperators =
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' "
    "and 'IS NOT'.";

bool IsReserved(std::string_view word) {
  std::string lower = AsciiLower(word);
  for (std::string_view reserved : kReservedWords) {
    if (lower == reserved) {
      return true;
    }
  }
  return false;
}

enum class TokenKind { kWord, kString, kOperator, kOpen, kClose, kComma, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  std::size_t offset = 0;  // 0-based byte offset in the query
};

class JqlParser {
 public:
  explicit JqlParser(std::string_view text) : text_(text) {}

  Result<JqlQuery> Parse() {
    if (auto tokens = Tokenize(); !tokens) {
      return std::unexpected(tokens.error());
    }
    JqlQuery query;
    if (!AtKeyword("order") && Peek().kind != TokenKind::kEnd) {
      auto where = ParseOr();
      if (!where) {
        return std::unexpected(where.error());
      }
      query.where = std::move(*where);
    }
    if (AtKeyword("order")) {
      Next();
      if (!AtKeyword("by")) {
        return ErrorAt(Peek(), "Expecting 'by' but got '" + Peek().text + "'.",
                       "Expecting 'by' before the end of the query.");
      }
      Next();
      while (true) {
        const Token& field = Peek();
        if (field.kind != TokenKind::kWord && field.kind != TokenKind::kString) {
          return ErrorAt(field, "Expecting a field name but got '" + field.text + "'.",
                         "Expecting a field name before the end of the query.");
        }
        if (field.kind == TokenKind::kWord && IsReserved(field.text)) {
          return ReservedWord(field);
        }
        JqlSortKey key{field.text, std::nullopt, Character(field.offset)};
        Next();
        if (AtKeyword("asc") || AtKeyword("desc")) {
          key.ascending = AtKeyword("asc");
          Next();
        }
        query.order_by.push_back(std::move(key));
        if (Peek().kind != TokenKind::kComma) {
          break;
        }
        Next();
      }
    }
    if (Peek().kind != TokenKind::kEnd) {
      const Token& extra = Peek();
      return ErrorAt(extra, "Expecting either 'OR' or 'AND' but got '" + extra.text + "'.", "");
    }
    return query;
  }

 private:
  Result<void> Tokenize() {
    std::size_t i = 0;
    while (i < text_.size()) {
      char c = text_[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
        continue;
      }
      Token token;
      token.offset = i;
      if (c == '(' || c == ')' || c == ',') {
        token.kind = c == '(' ? TokenKind::kOpen : c == ')' ? TokenKind::kClose : TokenKind::kComma;
        token.text = std::string(1, c);
        ++i;
      } else if (c == '"' || c == '\'') {
        token.kind = TokenKind::kString;
        std::size_t j = i + 1;
        bool closed = false;
        while (j < text_.size()) {
          char d = text_[j];
          if (d == c) {
            closed = true;
            ++j;
            break;
          }
          if (d == '\\') {
            if (j + 1 >= text_.size()) {
              break;
            }
            char e = text_[j + 1];
            switch (e) {
              case '"':
              case '\'':
              case '\\':
              case ' ':
                token.text.push_back(e);
                break;
              case 'n':
                token.text.push_back('\n');
                break;
              case 't':
                token.text.push_back('\t');
                break;
              case 'r':
                token.text.push_back('\r');
                break;
              default:
                return Error(j, "Illegal escape sequence '\\" + std::string(1, e) +
                                    "' in the string literal.");
            }
            j += 2;
            continue;
          }
          token.text.push_back(d);
          ++j;
        }
        if (!closed) {
          return Error(i, "The quoted string '" + token.text + "' has not been completed.");
        }
        i = j;
      } else if (c == '=' || c == '<' || c == '>' || c == '~' || c == '!') {
        token.kind = TokenKind::kOperator;
        std::string_view rest = text_.substr(i);
        for (std::string_view op : {"!=", "!~", ">=", "<=", "=", "<", ">", "~"}) {
          if (rest.starts_with(op)) {
            token.text = std::string(op);
            break;
          }
        }
        if (token.text.empty()) {  // a lone '!'
          return Error(i,
                       "The character '!' is a reserved JQL character. You must enclose it "
                       "in a string or use the escape '\\u0021' instead.");
        }
        i += token.text.size();
      } else if (kReservedCharacters.find(c) != std::string_view::npos) {
        char escape[8];
        std::snprintf(escape, sizeof escape, "%04x", static_cast<unsigned char>(c));
        return Error(i, "The character '" + std::string(1, c) +
                            "' is a reserved JQL character. You must enclose it in a string or "
                            "use the escape '\\u" +
                            escape + "' instead.");
      } else {
        token.kind = TokenKind::kWord;
        std::size_t j = i;
        while (j < text_.size()) {
          char d = text_[j];
          if (std::isspace(static_cast<unsigned char>(d)) ||
              std::string_view("()=,!<>~\"'").find(d) != std::string_view::npos ||
              kReservedCharacters.find(d) != std::string_view::npos) {
            break;
          }
          ++j;
        }
        token.text = std::string(text_.substr(i, j - i));
        i = j;
      }
      tokens_.push_back(std::move(token));
    }
    tokens_.push_back(Token{TokenKind::kEnd, "", text_.size()});
    return {};
  }

  const Token& Peek() const { return tokens_[next_]; }
  const Token& Next() { return tokens_[next_ < tokens_.size() - 1 ? next_++ : next_]; }
  bool AtKeyword(std::string_view keyword) const {
    return Peek().kind == TokenKind::kWord && AsciiLower(Peek().text) == keyword;
  }

  // "(line L, character C)" for a byte offset, both 1-based.
  std::string Where(std::size_t offset) const {
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    return "(line " + std::to_string(line) + ", character " +
           std::to_string(offset - line_start + 1) + ")";
  }
  std::size_t Character(std::size_t offset) const { return offset + 1; }

  std::unexpected<boardsync::Error> Error(std::size_t offset, const std::string& what) const {
    return Fail(ErrorCode::kBadResponse, "Error in the JQL Query: " + what + " " + Where(offset));
  }
  // `got` when a token is there, `at_end` (without a position) at the end.
  std::unexpected<boardsync::Error> ErrorAt(const Token& token, const std::string& got,
                                            const std::string& at_end) const {
    if (token.kind == TokenKind::kEnd && !at_end.empty()) {
      return Fail(ErrorCode::kBadResponse, "Error in the JQL Query: " + at_end);
    }
    return Error(token.offset, got);
  }
  std::unexpected<boardsync::Error> ReservedWord(const Token& token) const {
    return Error(token.offset, "'" + token.text +
                                   "' is a reserved JQL word. You must surround it in quotation "
                                   "marks to use it in a query.");
  }

  Result<JqlClause> ParseOr() { return ParseJoined("or", Kind::kOr); }
  Result<JqlClause> ParseAnd() { return ParseJoined("and", Kind::kAnd); }

  using Kind = JqlClause::Kind;

  Result<JqlClause> ParseJoined(std::string_view keyword, Kind kind) {
    auto first = kind == Kind::kOr ? ParseAnd() : ParseNot();
    if (!first) {
      return first;
    }
    if (!AtKeyword(keyword)) {
      return first;
    }
    JqlClause joined;
    joined.kind = kind;
    joined.children.push_back(std::move(*first));
    while (AtKeyword(keyword)) {
      Next();
      auto next = kind == Kind::kOr ? ParseAnd() : ParseNot();
      if (!next) {
        return next;
      }
      joined.children.push_back(std::move(*next));
    }
    return joined;
  }

  Result<JqlClause> ParseNot() {
    if (AtKeyword("not")) {
      Next();
      auto inner = ParseNot();
      if (!inner) {
        return inner;
      }
      JqlClause negated;
      negated.kind = Kind::kNot;
      negated.children.push_back(std::move(*inner));
      return negated;
    }
    if (Peek().kind == TokenKind::kOpen) {
      Next();
      auto inner = ParseOr();
      if (!inner) {
        return inner;
      }
      if (Peek().kind != TokenKind::kClose) {
        return ErrorAt(Peek(), "Expecting ')' but got '" + Peek().text + "'.",
                       "Expecting ')' before the end of the query.");
      }
      Next();
      return inner;
    }
    return ParseTerm();
  }

  Result<JqlClause> ParseTerm() {
    const Token& field = Peek();
    if (field.kind == TokenKind::kWord && IsReserved(field.text)) {
      return ReservedWord(field);
    }
    if (field.kind != TokenKind::kWord && field.kind != TokenKind::kString) {
      return ErrorAt(field, "Expecting a field name but got '" + field.text + "'.",
                     "Expecting a field name before the end of the query.");
    }
    JqlClause term;
    term.field = field.text;
    term.position = Character(field.offset);
    Next();

    const Token& op = Peek();
    if (op.kind == TokenKind::kOperator) {
      term.op = op.text;
      Next();
    } else if (AtKeyword("in")) {
      term.op = "in";
      Next();
    } else if (AtKeyword("is")) {
      Next();
      term.op = "is";
      if (AtKeyword("not")) {
        term.op = "is not";
        Next();
      }
    } else if (AtKeyword("not")) {
      Next();
      if (!AtKeyword("in")) {
        return ErrorAt(Peek(), "Expecting 'IN' but got '" + Peek().text + "'.",
                       "Expecting 'IN' before the end of the query.");
      }
      term.op = "not in";
      Next();
    } else {
      return ErrorAt(
          op, "Expecting operator but got '" + op.text + "'. " + std::string(kValidOperators),
          "Expecting operator before the end of the query. " + std::string(kValidOperators));
    }

    if (term.op == "is" || term.op == "is not") {
      if (!AtKeyword("empty") && !AtKeyword("null")) {
        return ErrorAt(Peek(), "Expecting 'EMPTY' but got '" + Peek().text + "'.",
                       "Expecting 'EMPTY' before the end of the query.");
      }
      term.operands.push_back(JqlOperand{"EMPTY", false, Character(Peek().offset)});
      Next();
      return term;
    }
    if (term.op == "in" || term.op == "not in") {
      if (Peek().kind != TokenKind::kOpen) {
        return ErrorAt(Peek(), "Expecting '(' but got '" + Peek().text + "'.",
                       "Expecting '(' before the end of the query.");
      }
      Next();
      while (true) {
        auto operand = ParseOperand();
        if (!operand) {
          return std::unexpected(operand.error());
        }
        term.operands.push_back(std::move(*operand));
        if (Peek().kind == TokenKind::kComma) {
          Next();
          continue;
        }
        if (Peek().kind == TokenKind::kClose) {
          Next();
          break;
        }
        return ErrorAt(Peek(), "Expecting ')' but got '" + Peek().text + "'.",
                       "Expecting ')' before the end of the query.");
      }
      return term;
    }
    auto operand = ParseOperand();
    if (!operand) {
      return std::unexpected(operand.error());
    }
    term.operands.push_back(std::move(*operand));
    return term;
  }

  Result<JqlOperand> ParseOperand() {
    const Token& value = Peek();
    if (value.kind == TokenKind::kWord && IsReserved(value.text)) {
      return ReservedWord(value);
    }
    if (value.kind != TokenKind::kWord && value.kind != TokenKind::kString) {
      return ErrorAt(value,
                     "Expecting either a value, list or function but got '" + value.text + "'.",
                     "Expecting either a value, list or function before the end of the query.");
    }
    JqlOperand operand{value.text, value.kind == TokenKind::kString, Character(value.offset)};
    Next();
    if (!operand.quoted && Peek().kind == TokenKind::kOpen) {
      // Real Jira has functions (now(), currentUser()); this sample has none.
      return Fail(ErrorCode::kBadResponse, "Unable to find JQL function '" + operand.text + "()'.");
    }
    return operand;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  std::size_t next_ = 0;
};

// Exactly `digits` decimal digits at text[pos...].
std::optional<int> Digits(std::string_view text, std::size_t pos, std::size_t digits) {
  if (pos + digits > text.size()) {
    return std::nullopt;
  }
  int n = 0;
  for (std::size_t i = pos; i < pos + digits; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return std::nullopt;
    }
    n = n * 10 + (text[i] - '0');
  }
  return n;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

// "-5d", "4w 2d", "+3h", "90m": units w(eek), d(ay), h(our), m(inute).
std::optional<std::int64_t> ParsePeriod(std::string_view text) {
  std::int64_t sign = 1;
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    sign = text[i] == '-' ? -1 : 1;
    ++i;
  }
  std::int64_t total = 0;
  bool any = false;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data() + text.size()) {
      return std::nullopt;
    }
    i = static_cast<std::size_t>(end - text.data());
    std::int64_t unit = 0;
    switch (std::tolower(static_cast<unsigned char>(text[i]))) {
      case 'w':
        unit = 7LL * 24 * 3600 * 1000;
        break;
      case 'd':
        unit = 24LL * 3600 * 1000;
        break;
      case 'h':
        unit = 3600LL * 1000;
        break;
      case 'm':
        unit = 60LL * 1000;
        break;
      default:
        return std::nullopt;
    }
    total += n * unit;
    any = true;
    ++i;
  }
  if (!any) {
    return std::nullopt;
  }
  return sign * total;
}

}  // namespace

Result<JqlQuery> ParseJql(std::string_view text) { return JqlParser(text).Parse(); }

std::optional<JqlDate> ParseJqlDate(std::string_view text) {
  JqlDate date;
  // yyyy-MM-dd or yyyy/MM/dd, then optionally " HH:mm" and nothing else.
  auto year = Digits(text, 0, 4);
  if (year && text.size() >= 10 && (text[4] == '-' || text[4] == '/') && text[7] == text[4]) {
    auto month = Digits(text, 5, 2);
    auto day = Digits(text, 8, 2);
    if (!month || !day || *month < 1 || *month > 12 || *day < 1 ||
        *day > DaysInMonth(*year, *month)) {
      return std::nullopt;
    }
    date.year = *year;
    date.month = *month;
    date.day = *day;
    if (text.size() == 10) {
      return date;
    }
    if (text.size() != 16 || text[10] != ' ' || text[13] != ':') {
      return std::nullopt;  // seconds, 'T', a zone: Jira refuses them all
    }
    auto hour = Digits(text, 11, 2);
    auto minute = Digits(text, 14, 2);
    if (!hour || !minute || *hour > 23 || *minute > 59) {
      return std::nullopt;
    }
    date.hour = *hour;
    date.minute = *minute;
    return date;
  }
  if (auto period = ParsePeriod(text)) {
    date.relative_ms = *period;
    return date;
  }
  return std::nullopt;
}

std::string JqlInvalidDateMessage(std::string_view value, std::string_view field) {
  return "Date value '" + std::string(value) + "' for field '" + std::string(field) +
         "' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', "
         "'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.";
}

}  // namespace boardsync

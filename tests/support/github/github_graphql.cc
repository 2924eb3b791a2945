// The sample GitHub's GraphQL endpoint (see github_server.h): a reader of
// GraphQL's query syntax and an executor over the Projects v2 subset of
// GitHub's schema, answering exactly what was selected, with GitHub's error
// shapes (validation errors alone, resolution errors beside null data).

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>

#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"
#include "tests/support/github/github_state.h"

namespace boardsync {
namespace github_sample {
namespace {

// ---- Syntax ----

struct Token {
  enum Kind { kEnd, kPunct, kName, kInt, kFloat, kString } kind = kEnd;
  std::string text;  // punctuator, name, number text, or the string's value
  int line = 1;
  int column = 1;
};

struct ParseError {
  std::string message;
  int line = 1;
  int column = 1;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // Fills `out`; false with `error` set on a bad character or string.
  bool Run(std::vector<Token>& out, ParseError& error) {
    while (true) {
      SkipIgnored();
      Token token;
      token.line = line_;
      token.column = column_;
      if (pos_ >= text_.size()) {
        out.push_back(token);
        return true;
      }
      char c = text_[pos_];
      if (c == '.' && text_.substr(pos_, 3) == "...") {
        token.kind = Token::kPunct;
        token.text = "...";
        Advance(3);
      } else if (std::string_view("!$()&:=@[]{}|").find(c) != std::string_view::npos) {
        token.kind = Token::kPunct;
        token.text = std::string(1, c);
        Advance(1);
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t start = pos_;
        while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                       text_[pos_] == '_')) {
          Advance(1);
        }
        token.kind = Token::kName;
        token.text = std::string(text_.substr(start, pos_ - start));
      } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
        std::size_t start = pos_;
        Advance(1);
        bool is_float = false;
        while (pos_ < text_.size()) {
          char d = text_[pos_];
          if (std::isdigit(static_cast<unsigned char>(d))) {
            Advance(1);
          } else if (d == '.' || d == 'e' || d == 'E' ||
                     ((d == '+' || d == '-') && (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E'))) {
            is_float = true;
            Advance(1);
          } else {
            break;
          }
        }
        token.kind = is_float ? Token::kFloat : Token::kInt;
        token.text = std::string(text_.substr(start, pos_ - start));
      } else if (c == '"') {
        if (!ReadString(token, error)) {
          return false;
        }
      } else {
        error = {"Parse error on \"" + std::string(1, c) + "\" (error) at [" +
                     std::to_string(line_) + ", " + std::to_string(column_) + "]",
                 line_, column_};
        return false;
      }
      out.push_back(std::move(token));
    }
  }

 private:
  void Advance(std::size_t n) {
    for (std::size_t i = 0; i < n && pos_ < text_.size(); ++i, ++pos_) {
      if (text_[pos_] == '\n') {
        ++line_;
        column_ = 1;
      } else {
        ++column_;
      }
    }
  }

  void SkipIgnored() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
        Advance(1);
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') {
          Advance(1);
        }
      } else if (static_cast<unsigned char>(c) == 0xEF && text_.substr(pos_, 3) == "\xEF\xBB\xBF") {
        Advance(3);
      } else {
        return;
      }
    }
  }

  bool ReadString(Token& token, ParseError& error) {
    token.kind = Token::kString;
    if (text_.substr(pos_, 3) == "\"\"\"") {
      Advance(3);
      std::size_t end = text_.find("\"\"\"", pos_);
      if (end == std::string_view::npos) {
        error = {"Unterminated string", token.line, token.column};
        return false;
      }
      token.text = std::string(text_.substr(pos_, end - pos_));
      Advance(end - pos_ + 3);
      return true;
    }
    Advance(1);
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_];
      if (c == '\n') {
        break;
      }
      if (c == '\\' && pos_ + 1 < text_.size()) {
        char e = text_[pos_ + 1];
        Advance(2);
        switch (e) {
          case 'n': token.text += '\n'; break;
          case 't': token.text += '\t'; break;
          case 'r': token.text += '\r'; break;
          case 'b': token.text += '\b'; break;
          case 'f': token.text += '\f'; break;
          case 'u': {
            unsigned code = 0;
            auto hex = text_.substr(pos_, 4);
            std::from_chars(hex.data(), hex.data() + hex.size(), code, 16);
            Advance(4);
            if (code < 0x80) {
              token.text += static_cast<char>(code);
            } else if (code < 0x800) {
              token.text += static_cast<char>(0xC0 | (code >> 6));
              token.text += static_cast<char>(0x80 | (code & 0x3F));
            } else {
              token.text += static_cast<char>(0xE0 | (code >> 12));
              token.text += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
              token.text += static_cast<char>(0x80 | (code & 0x3F));
            }
            break;
          }
          default: token.text += e;
        }
        continue;
      }
      token.text += c;
      Advance(1);
    }
    if (pos_ >= text_.size() || text_[pos_] != '"') {
      error = {"Unterminated string", token.line, token.column};
      return false;
    }
    Advance(1);
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

struct GqlValue {
  enum Kind { kVariable, kLiteral, kList, kObject } kind = kLiteral;
  std::string variable;
  Value literal;
  std::vector<GqlValue> items;
  std::vector<std::pair<std::string, GqlValue>> members;
};

struct Selection {
  enum Kind { kField, kInline, kSpread } kind = kField;
  std::string alias;  // the output key (the name when no alias)
  std::string name;   // field or fragment name
  std::vector<std::pair<std::string, GqlValue>> args;
  bool has_selection = false;
  std::vector<Selection> children;
  std::string type_condition;  // inline fragments ("" = none)
  int line = 1;
  int column = 1;
};

struct VariableDef {
  std::string name;
  std::string type;  // as written, e.g. "[ID!]!"
  std::optional<GqlValue> default_value;
};

struct Operation {
  std::string kind = "query";
  std::string name;
  std::vector<VariableDef> variables;
  std::vector<Selection> selection;
  bool has_directive = false;
};

struct Fragment {
  std::string type_condition;
  std::vector<Selection> selection;
};

struct Document {
  std::vector<Operation> operations;
  std::map<std::string, Fragment> fragments;
  bool has_directive = false;
};

std::string TokenKindName(const Token& t) {
  switch (t.kind) {
    case Token::kEnd: return "end of document";
    case Token::kName: return "IDENTIFIER";
    case Token::kInt: return "INT";
    case Token::kFloat: return "FLOAT";
    case Token::kString: return "STRING";
    case Token::kPunct: break;
  }
  static const std::map<std::string, std::string> names = {
      {"{", "LCURLY"}, {"}", "RCURLY"}, {"(", "LPAREN"}, {")", "RPAREN"}, {"[", "LBRACKET"},
      {"]", "RBRACKET"}, {":", "COLON"}, {"=", "EQUALS"}, {"!", "BANG"}, {"$", "VAR_SIGN"},
      {"...", "ELLIPSIS"}, {"@", "DIR_SIGN"}, {"&", "AMP"}, {"|", "PIPE"}};
  auto it = names.find(t.text);
  return it == names.end() ? "PUNCT" : it->second;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  bool Run(Document& doc, ParseError& error) {
    if (Peek().kind == Token::kEnd) {
      return Fail("Unexpected end of document", error);
    }
    while (Peek().kind != Token::kEnd) {
      if (IsPunct("{")) {
        Operation op;
        if (!SelectionSet(op.selection, error)) {
          return false;
        }
        doc.operations.push_back(std::move(op));
      } else if (IsName("query") || IsName("mutation") || IsName("subscription")) {
        Operation op;
        op.kind = Next().text;
        if (Peek().kind == Token::kName) {
          op.name = Next().text;
        }
        if (IsPunct("(")) {
          Next();
          while (!IsPunct(")")) {
            VariableDef def;
            if (!ExpectPunct("$", error) || !ExpectName(def.name, error) ||
                !ExpectPunct(":", error) || !Type(def.type, error)) {
              return false;
            }
            if (IsPunct("=")) {
              Next();
              GqlValue v;
              if (!ValueLiteral(v, /*constant=*/true, error)) {
                return false;
              }
              def.default_value = std::move(v);
            }
            op.variables.push_back(std::move(def));
          }
          Next();
        }
        if (!Directives(error)) {
          return false;
        }
        op.has_directive = has_directive_;
        if (!SelectionSet(op.selection, error)) {
          return false;
        }
        doc.operations.push_back(std::move(op));
      } else if (IsName("fragment")) {
        Next();
        std::string name;
        Fragment fragment;
        if (!ExpectName(name, error)) {
          return false;
        }
        if (!IsName("on")) {
          return Unexpected(error);
        }
        Next();
        if (!ExpectName(fragment.type_condition, error) || !Directives(error) ||
            !SelectionSet(fragment.selection, error)) {
          return false;
        }
        doc.fragments[name] = std::move(fragment);
      } else {
        return Unexpected(error);
      }
    }
    doc.has_directive = has_directive_;
    return true;
  }

 private:
  const Token& Peek() const { return tokens_[std::min(pos_, tokens_.size() - 1)]; }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) {
      ++pos_;
    }
    return t;
  }
  bool IsPunct(std::string_view p) const {
    return Peek().kind == Token::kPunct && Peek().text == p;
  }
  bool IsName(std::string_view n) const { return Peek().kind == Token::kName && Peek().text == n; }

  bool Fail(std::string message, ParseError& error) const {
    error = {std::move(message), Peek().line, Peek().column};
    return false;
  }
  bool Unexpected(ParseError& error) const {
    const Token& t = Peek();
    if (t.kind == Token::kEnd) {
      return Fail("Unexpected end of document", error);
    }
    return Fail("Parse error on \"" + t.text + "\" (" + TokenKindName(t) + ") at [" +
                    std::to_string(t.line) + ", " + std::to_string(t.column) + "]",
                error);
  }
  bool ExpectPunct(std::string_view p, ParseError& error) {
    if (!IsPunct(p)) {
      return Unexpected(error);
    }
    Next();
    return true;
  }
  bool ExpectName(std::string& out, ParseError& error) {
    if (Peek().kind != Token::kName) {
      return Unexpected(error);
    }
    out = Next().text;
    return true;
  }

  bool Type(std::string& out, ParseError& error) {
    if (IsPunct("[")) {
      Next();
      std::string inner;
      if (!Type(inner, error) || !ExpectPunct("]", error)) {
        return false;
      }
      out = "[" + inner + "]";
    } else if (!ExpectName(out, error)) {
      return false;
    }
    if (IsPunct("!")) {
      Next();
      out += "!";
    }
    return true;
  }

  bool Directives(ParseError& error) {
    while (IsPunct("@")) {
      Next();
      std::string name;
      if (!ExpectName(name, error)) {
        return false;
      }
      has_directive_ = true;
      if (IsPunct("(")) {
        std::vector<std::pair<std::string, GqlValue>> ignored;
        if (!Arguments(ignored, error)) {
          return false;
        }
      }
    }
    return true;
  }

  bool Arguments(std::vector<std::pair<std::string, GqlValue>>& out, ParseError& error) {
    Next();  // (
    while (!IsPunct(")")) {
      std::string name;
      GqlValue value;
      if (!ExpectName(name, error) || !ExpectPunct(":", error) ||
          !ValueLiteral(value, /*constant=*/false, error)) {
        return false;
      }
      out.emplace_back(std::move(name), std::move(value));
    }
    Next();
    return true;
  }

  bool ValueLiteral(GqlValue& out, bool constant, ParseError& error) {
    const Token& t = Peek();
    if (t.kind == Token::kPunct && t.text == "$" && !constant) {
      Next();
      out.kind = GqlValue::kVariable;
      return ExpectName(out.variable, error);
    }
    if (t.kind == Token::kInt) {
      std::int64_t n = 0;
      std::from_chars(t.text.data(), t.text.data() + t.text.size(), n);
      out.literal = Value(n);
      Next();
      return true;
    }
    if (t.kind == Token::kFloat) {
      out.literal = Value(std::stod(t.text));
      Next();
      return true;
    }
    if (t.kind == Token::kString) {
      out.literal = Value(t.text);
      Next();
      return true;
    }
    if (t.kind == Token::kName) {
      if (t.text == "true" || t.text == "false") {
        out.literal = Value(t.text == "true");
      } else if (t.text == "null") {
        out.literal = Value(nullptr);
      } else {
        out.literal = Value(t.text);  // an enum value, by name
      }
      Next();
      return true;
    }
    if (t.kind == Token::kPunct && t.text == "[") {
      Next();
      out.kind = GqlValue::kList;
      while (!IsPunct("]")) {
        GqlValue item;
        if (Peek().kind == Token::kEnd || !ValueLiteral(item, constant, error)) {
          return Peek().kind == Token::kEnd ? Unexpected(error) : false;
        }
        out.items.push_back(std::move(item));
      }
      Next();
      return true;
    }
    if (t.kind == Token::kPunct && t.text == "{") {
      Next();
      out.kind = GqlValue::kObject;
      while (!IsPunct("}")) {
        std::string name;
        GqlValue member;
        if (!ExpectName(name, error) || !ExpectPunct(":", error) ||
            !ValueLiteral(member, constant, error)) {
          return false;
        }
        out.members.emplace_back(std::move(name), std::move(member));
      }
      Next();
      return true;
    }
    return Unexpected(error);
  }

  bool SelectionSet(std::vector<Selection>& out, ParseError& error) {
    if (!ExpectPunct("{", error)) {
      return false;
    }
    if (IsPunct("}")) {
      return Unexpected(error);
    }
    while (!IsPunct("}")) {
      Selection sel;
      sel.line = Peek().line;
      sel.column = Peek().column;
      if (IsPunct("...")) {
        Next();
        if (IsName("on")) {
          Next();
          sel.kind = Selection::kInline;
          if (!ExpectName(sel.type_condition, error)) {
            return false;
          }
        } else if (Peek().kind == Token::kName) {
          sel.kind = Selection::kSpread;
          sel.name = Next().text;
          if (!Directives(error)) {
            return false;
          }
          out.push_back(std::move(sel));
          continue;
        } else {
          sel.kind = Selection::kInline;
        }
        if (!Directives(error) || !SelectionSet(sel.children, error)) {
          return false;
        }
        sel.has_selection = true;
      } else {
        if (!ExpectName(sel.name, error)) {
          return false;
        }
        sel.alias = sel.name;
        if (IsPunct(":")) {
          Next();
          if (!ExpectName(sel.name, error)) {
            return false;
          }
        }
        if (IsPunct("(") && !Arguments(sel.args, error)) {
          return false;
        }
        if (!Directives(error)) {
          return false;
        }
        if (IsPunct("{")) {
          sel.has_selection = true;
          if (!SelectionSet(sel.children, error)) {
            return false;
          }
        }
      }
      out.push_back(std::move(sel));
    }
    Next();
    return true;
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  bool has_directive_ = false;
};

// ---- Execution ----

// One object the query is at: its type, what it stands for, and the
// argument-free scalars it answers directly.
struct Ref {
  std::string type;
  const Project* project = nullptr;
  const Field* field = nullptr;
  const Item* item = nullptr;
  const Record* record = nullptr;
  const Repo* repo = nullptr;
  std::string login;
  std::string value_field_id;  // field values: which field
  // Connections and lists: the members; pageInfo and edges read these too.
  std::vector<Ref> nodes;
  std::int64_t total = 0;
  std::int64_t offset = 0;
  bool has_next = false;
  bool has_previous = false;
  Value::Object scalars;
};

using Path = std::vector<Value>;

bool Implements(std::string_view type, std::string_view condition) {
  if (type == condition || condition == "Node") {
    return true;
  }
  static const std::multimap<std::string_view, std::string_view> kMembers = {
      {"ProjectV2FieldCommon", "ProjectV2Field"},
      {"ProjectV2FieldCommon", "ProjectV2SingleSelectField"},
      {"ProjectV2FieldCommon", "ProjectV2IterationField"},
      {"ProjectV2FieldConfiguration", "ProjectV2Field"},
      {"ProjectV2FieldConfiguration", "ProjectV2SingleSelectField"},
      {"ProjectV2FieldConfiguration", "ProjectV2IterationField"},
      {"ProjectV2ItemFieldValueCommon", "ProjectV2ItemFieldTextValue"},
      {"ProjectV2ItemFieldValueCommon", "ProjectV2ItemFieldNumberValue"},
      {"ProjectV2ItemFieldValueCommon", "ProjectV2ItemFieldDateValue"},
      {"ProjectV2ItemFieldValueCommon", "ProjectV2ItemFieldSingleSelectValue"},
      {"ProjectV2ItemFieldValueCommon", "ProjectV2ItemFieldIterationValue"},
      {"ProjectV2ItemFieldValue", "ProjectV2ItemFieldTextValue"},
      {"ProjectV2ItemFieldValue", "ProjectV2ItemFieldNumberValue"},
      {"ProjectV2ItemFieldValue", "ProjectV2ItemFieldDateValue"},
      {"ProjectV2ItemFieldValue", "ProjectV2ItemFieldSingleSelectValue"},
      {"ProjectV2ItemFieldValue", "ProjectV2ItemFieldIterationValue"},
      {"ProjectV2ItemFieldValue", "ProjectV2ItemFieldLabelValue"},
      {"ProjectV2ItemFieldValue", "ProjectV2ItemFieldUserValue"},
      {"ProjectV2ItemFieldValue", "ProjectV2ItemFieldRepositoryValue"},
      {"ProjectV2ItemFieldValue", "ProjectV2ItemFieldMilestoneValue"},
      {"ProjectV2ItemContent", "Issue"},
      {"ProjectV2ItemContent", "PullRequest"},
      {"ProjectV2Owner", "Organization"},
      {"ProjectV2Owner", "User"},
      {"ProjectV2Owner", "Issue"},
      {"ProjectV2Owner", "PullRequest"},
      {"RepositoryOwner", "Organization"},
      {"RepositoryOwner", "User"},
      {"Actor", "Organization"},
      {"Actor", "User"},
      {"UniformResourceLocatable", "Issue"},
      {"UniformResourceLocatable", "PullRequest"},
      {"UniformResourceLocatable", "Repository"},
      {"UniformResourceLocatable", "Organization"},
      {"UniformResourceLocatable", "User"},
      {"Closable", "Issue"},
      {"Closable", "PullRequest"},
      {"Closable", "ProjectV2"},
      {"Updatable", "ProjectV2"},
      {"Labelable", "Issue"},
      {"Labelable", "PullRequest"},
      {"Assignable", "Issue"},
      {"Assignable", "PullRequest"},
  };
  auto [first, last] = kMembers.equal_range(condition);
  return std::any_of(first, last, [&](const auto& m) { return m.second == type; });
}

bool KnownType(std::string_view name) {
  static const std::vector<std::string_view> kTypes = {"Query",
                                                       "Node",
                                                       "Organization",
                                                       "User",
                                                       "Bot",
                                                       "Repository",
                                                       "Issue",
                                                       "PullRequest",
                                                       "DraftIssue",
                                                       "Label",
                                                       "Milestone",
                                                       "ProjectV2",
                                                       "ProjectV2Item",
                                                       "ProjectV2Field",
                                                       "ProjectV2SingleSelectField",
                                                       "ProjectV2IterationField",
                                                       "ProjectV2FieldCommon",
                                                       "ProjectV2FieldConfiguration",
                                                       "ProjectV2ItemFieldValue",
                                                       "ProjectV2ItemFieldValueCommon",
                                                       "ProjectV2ItemFieldTextValue",
                                                       "ProjectV2ItemFieldNumberValue",
                                                       "ProjectV2ItemFieldDateValue",
                                                       "ProjectV2ItemFieldSingleSelectValue",
                                                       "ProjectV2ItemFieldIterationValue",
                                                       "ProjectV2ItemFieldLabelValue",
                                                       "ProjectV2ItemFieldUserValue",
                                                       "ProjectV2ItemFieldRepositoryValue",
                                                       "ProjectV2ItemFieldMilestoneValue",
                                                       "ProjectV2ItemFieldPullRequestValue",
                                                       "ProjectV2ItemFieldReviewerValue",
                                                       "ProjectV2ItemContent",
                                                       "ProjectV2Owner",
                                                       "RepositoryOwner",
                                                       "Actor",
                                                       "UniformResourceLocatable",
                                                       "Closable",
                                                       "Labelable",
                                                       "Assignable",
                                                       "RateLimit",
                                                       "Updatable",
                                                       "Mutation",
                                                       "AddProjectV2ItemByIdPayload",
                                                       "UpdateProjectV2ItemFieldValuePayload",
                                                       "ClearProjectV2ItemFieldValuePayload",
                                                       "CreateProjectV2FieldPayload",
                                                       "ProjectV2SingleSelectFieldOption",
                                                       "ProjectV2IterationFieldConfiguration",
                                                       "ProjectV2IterationFieldIteration",
                                                       "PageInfo"};
  return std::find(kTypes.begin(), kTypes.end(), name) != kTypes.end();
}

std::string Cursor(std::int64_t index) {
  return "Y3Vyc29yOnYyOpHO" + std::to_string(index + 1);
}

std::optional<std::int64_t> ReadCursor(std::string_view cursor) {
  constexpr std::string_view kPrefix = "Y3Vyc29yOnYyOpHO";
  if (!cursor.starts_with(kPrefix)) {
    return std::nullopt;
  }
  cursor.remove_prefix(kPrefix.size());
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), n);
  if (ec != std::errc() || end != cursor.data() + cursor.size() || n < 1) {
    return std::nullopt;
  }
  return n - 1;
}

Value LocationOf(const Selection& sel) {
  return Value(Value::List{Value(Value::Object{{"line", Value(sel.line)},
                                               {"column", Value(sel.column)}})});
}

class Executor {
 public:
  Executor(State& state, const GitHubToken& token, const Document& doc, Value::Object variables)
      : s_(state), token_(token), doc_(doc), variables_(std::move(variables)) {}

  // The answer's data; with fatal() true, only errors() count.
  Value Run(const Operation& op) {
    for (const VariableDef& def : op.variables) {
      declared_.insert_or_assign(def.name, def);
      bool given = variables_.contains(def.name) && !variables_.at(def.name).IsNull();
      if (!given && def.default_value) {
        variables_.insert_or_assign(def.name, Evaluate(*def.default_value));
        given = true;
      }
      if (!given && def.type.ends_with("!")) {
        Fatal(Value::Object{{"extensions",
                             Value(Value::Object{
                                 {"value", Value(nullptr)},
                                 {"problems", Value(Value::List{Value(Value::Object{
                                                  {"path", Value(Value::List{})},
                                                  {"explanation",
                                                   Value("Expected value to not be null")}})})}})},
                            {"message", Value("Variable $" + def.name + " of type " + def.type +
                                              " was provided invalid value")}});
        return Value(nullptr);
      }
    }
    Ref root;
    root.type = op.kind == "mutation" ? "Mutation" : "Query";
    if (op.kind == "mutation" && !MayMutate(op)) {
      return Value(nullptr);
    }
    Path path;
    Value data = Execute(root, op.selection, path);
    return data;
  }

  bool fatal() const { return fatal_; }
  Value::List& errors() { return errors_; }

 private:
  void Fatal(Value::Object error) {
    if (!fatal_) {
      errors_.clear();
    }
    fatal_ = true;
    errors_.emplace_back(std::move(error));
  }

  void FieldError(std::string_view type, const Path& path, const Selection& sel,
                  std::string message) {
    errors_.emplace_back(Value::Object{{"type", Value(type)},
                                       {"path", Value(Value::List(path))},
                                       {"locations", LocationOf(sel)},
                                       {"message", Value(std::move(message))}});
  }

  Value Evaluate(const GqlValue& v) {
    switch (v.kind) {
      case GqlValue::kVariable: {
        if (!declared_.contains(v.variable)) {
          Fatal(Value::Object{{"extensions", Value(Value::Object{{"code", Value("variableNotDefined")},
                                                                 {"variableName", Value(v.variable)}})},
                              {"message", Value("Variable $" + v.variable +
                                                " is used by anonymous query but not declared")}});
          return Value(nullptr);
        }
        auto it = variables_.find(v.variable);
        return it == variables_.end() ? Value(nullptr) : it->second;
      }
      case GqlValue::kLiteral:
        return v.literal;
      case GqlValue::kList: {
        Value::List list;
        for (const GqlValue& item : v.items) {
          list.push_back(Evaluate(item));
        }
        return Value(std::move(list));
      }
      case GqlValue::kObject: {
        Value::Object object;
        for (const auto& [name, member] : v.members) {
          object.insert_or_assign(name, Evaluate(member));
        }
        return Value(std::move(object));
      }
    }
    return Value(nullptr);
  }

  static void Merge(Value::Object& into, std::string_view key, Value value) {
    auto it = into.find(key);
    if (it != into.end() && it->second.IsObject() && value.IsObject()) {
      for (auto& [k, v] : value.AsObject()) {
        Merge(it->second.AsObject(), k, std::move(v));
      }
      return;
    }
    if (it != into.end() && it->second.IsList() && value.IsList() &&
        it->second.AsList().size() == value.AsList().size()) {
      for (std::size_t i = 0; i < value.AsList().size(); ++i) {
        Value& a = it->second.AsList()[i];
        if (a.IsObject() && value.AsList()[i].IsObject()) {
          for (auto& [k, v] : value.AsList()[i].AsObject()) {
            Merge(a.AsObject(), k, std::move(v));
          }
        }
      }
      return;
    }
    into.insert_or_assign(key, std::move(value));
  }

  Value Execute(const Ref& obj, const std::vector<Selection>& selection, Path& path) {
    Value::Object out;
    ExecuteInto(obj, selection, path, out);
    return Value(std::move(out));
  }

  void ExecuteInto(const Ref& obj, const std::vector<Selection>& selection, Path& path,
                   Value::Object& out) {
    for (const Selection& sel : selection) {
      if (fatal_) {
        return;
      }
      if (sel.kind == Selection::kSpread) {
        auto it = doc_.fragments.find(sel.name);
        if (it == doc_.fragments.end()) {
          Fatal(Value::Object{{"locations", LocationOf(sel)},
                              {"message", Value("Fragment " + sel.name + " was used, but not defined")}});
          return;
        }
        if (!KnownType(it->second.type_condition)) {
          UndefinedType(sel, it->second.type_condition);
          return;
        }
        if (Implements(obj.type, it->second.type_condition)) {
          ExecuteInto(obj, it->second.selection, path, out);
        }
        continue;
      }
      if (sel.kind == Selection::kInline) {
        if (!sel.type_condition.empty() && !KnownType(sel.type_condition)) {
          UndefinedType(sel, sel.type_condition);
          return;
        }
        if (sel.type_condition.empty() || Implements(obj.type, sel.type_condition)) {
          ExecuteInto(obj, sel.children, path, out);
        }
        continue;
      }
      path.push_back(Value(sel.alias));
      Value value = ExecuteField(obj, sel, path);
      path.pop_back();
      Merge(out, sel.alias, std::move(value));
    }
  }

  void UndefinedType(const Selection& sel, const std::string& type) {
    Fatal(Value::Object{{"extensions", Value(Value::Object{{"code", Value("undefinedType")},
                                                           {"typeName", Value(type)}})},
                        {"locations", LocationOf(sel)},
                        {"message", Value("No such type " + type +
                                          ", so it can't be a fragment condition")}});
  }

  struct Resolved {
    enum Kind { kScalar, kObject, kList, kNull } kind = kNull;
    Value scalar;
    Ref object;
    std::vector<std::optional<Ref>> list;
  };

  Value ExecuteField(const Ref& obj, const Selection& sel, Path& path) {
    Value::Object args;
    for (const auto& [name, value] : sel.args) {
      args.insert_or_assign(name, Evaluate(value));
    }
    if (fatal_) {
      return Value(nullptr);
    }
    if (sel.name == "__typename") {
      return Value(obj.type);
    }
    std::optional<Resolved> resolved = Resolve(obj, sel, args, path);
    if (fatal_) {
      return Value(nullptr);
    }
    if (!resolved) {
      Fatal(Value::Object{{"path", Value(Value::List(path))},
                          {"extensions", Value(Value::Object{{"code", Value("undefinedField")},
                                                             {"typeName", Value(obj.type)},
                                                             {"fieldName", Value(sel.name)}})},
                          {"locations", LocationOf(sel)},
                          {"message", Value("Field '" + sel.name + "' doesn't exist on type '" +
                                            obj.type + "'")}});
      return Value(nullptr);
    }
    switch (resolved->kind) {
      case Resolved::kNull:
        return Value(nullptr);
      case Resolved::kScalar:
        if (sel.has_selection) {
          Fatal(Value::Object{{"path", Value(Value::List(path))},
                              {"extensions", Value(Value::Object{{"code", Value("selectionMismatch")},
                                                                 {"nodeName", Value("field '" + sel.name + "'")}})},
                              {"locations", LocationOf(sel)},
                              {"message", Value("Selections can't be made on scalars (field '" +
                                                sel.name + "' returns a scalar but has selections)")}});
          return Value(nullptr);
        }
        return resolved->scalar;
      case Resolved::kObject:
      case Resolved::kList:
        if (!sel.has_selection) {
          Fatal(Value::Object{{"path", Value(Value::List(path))},
                              {"extensions", Value(Value::Object{{"code", Value("selectionMismatch")},
                                                                 {"nodeName", Value("field '" + sel.name + "'")}})},
                              {"locations", LocationOf(sel)},
                              {"message", Value("Field must have selections (field '" + sel.name +
                                                "' returns an object but has no selections. Did "
                                                "you mean '" + sel.name + " { ... }'?)")}});
          return Value(nullptr);
        }
        if (resolved->kind == Resolved::kObject) {
          return Execute(resolved->object, sel.children, path);
        }
        Value::List list;
        for (std::size_t i = 0; i < resolved->list.size(); ++i) {
          path.push_back(Value(static_cast<std::int64_t>(i)));
          list.push_back(resolved->list[i] ? Execute(*resolved->list[i], sel.children, path)
                                           : Value(nullptr));
          path.pop_back();
        }
        return Value(std::move(list));
    }
    return Value(nullptr);
  }

  static Resolved Scalar(Value v) {
    Resolved r;
    r.kind = Resolved::kScalar;
    r.scalar = std::move(v);
    return r;
  }
  static Resolved Object(Ref ref) {
    Resolved r;
    r.kind = Resolved::kObject;
    r.object = std::move(ref);
    return r;
  }
  static Resolved Null() { return Resolved{}; }
  static Resolved List(std::vector<Ref> refs) {
    Resolved r;
    r.kind = Resolved::kList;
    for (Ref& ref : refs) {
      r.list.emplace_back(std::move(ref));
    }
    return r;
  }

  // ---- Access ----

  bool CanReadProjects(const Selection& sel, const Path& path) {
    if (token_.kind == GitHubTokenKind::kClassic) {
      bool ok = std::any_of(token_.scopes.begin(), token_.scopes.end(), [](const std::string& s) {
        return s == "read:project" || s == "project";
      });
      if (!ok) {
        std::string granted;
        for (const std::string& scope : token_.scopes) {
          granted += (granted.empty() ? "'" : ", '") + scope + "'";
        }
        Fatal(Value::Object{{"type", Value("INSUFFICIENT_SCOPES")},
                            {"locations", LocationOf(sel)},
                            {"message",
                             Value("Your token has not been granted the required scopes to execute "
                                   "this query. The '" + sel.name +
                                   "' field requires one of the following scopes: ['read:project'], "
                                   "but your token has only been granted the: [" + granted +
                                   "] scopes. Please modify your token's scopes at: "
                                   "https://github.com/settings/tokens.")}});
        return false;
      }
      return true;
    }
    if (!token_.projects) {
      FieldError("FORBIDDEN", path, sel,
                 token_.kind == GitHubTokenKind::kInstallation
                     ? "Resource not accessible by integration"
                     : "Resource not accessible by personal access token");
      return false;
    }
    return true;
  }

  // Whether the token's user may change projects (viewerCanUpdate).
  bool CanWriteProjects() const {
    return token_.project_write && (token_.kind == GitHubTokenKind::kClassic || token_.projects);
  }

  // A classic token needs the `project` scope for any project mutation:
  // GitHub checks it before running anything (the whole request fails).
  bool MayMutate(const Operation& op) {
    if (token_.kind != GitHubTokenKind::kClassic ||
        std::find(token_.scopes.begin(), token_.scopes.end(), "project") != token_.scopes.end()) {
      return true;
    }
    const Selection* first = nullptr;
    for (const Selection& sel : op.selection) {
      if (sel.kind == Selection::kField) {
        first = &sel;
        break;
      }
    }
    if (!first) {
      return true;
    }
    std::string granted;
    for (const std::string& scope : token_.scopes) {
      granted += (granted.empty() ? "'" : ", '") + scope + "'";
    }
    Fatal(Value::Object{
        {"type", Value("INSUFFICIENT_SCOPES")},
        {"locations", LocationOf(*first)},
        {"message", Value("Your token has not been granted the required scopes to execute "
                          "this query. The '" +
                          first->name +
                          "' field requires one of the following scopes: ['project'], but "
                          "your token has only been granted the: [" +
                          granted +
                          "] scopes. Please modify your token's scopes at: "
                          "https://github.com/settings/tokens.")}});
    return false;
  }

  // ---- Mutations (Projects v2) ----

  void Unprocessable(const Path& path, const Selection& sel, std::string message) {
    FieldError("UNPROCESSABLE", path, sel, std::move(message));
  }

  void NodeNotFound(const Path& path, const Selection& sel, std::string_view id) {
    FieldError("NOT_FOUND", path, sel,
               "Could not resolve to a node with the global id of '" + std::string(id) + "'");
  }

  std::optional<Resolved> Mutate(const Selection& sel, const Value::Object& args,
                                 const Path& path) {
    struct Input {
      std::string_view type;
      std::vector<std::string_view> required;
    };
    static const std::map<std::string, Input, std::less<>> kMutations = {
        {"addProjectV2ItemById", {"AddProjectV2ItemByIdInput!", {"projectId", "contentId"}}},
        {"updateProjectV2ItemFieldValue",
         {"UpdateProjectV2ItemFieldValueInput!", {"projectId", "itemId", "fieldId", "value"}}},
        {"clearProjectV2ItemFieldValue",
         {"ClearProjectV2ItemFieldValueInput!", {"projectId", "itemId", "fieldId"}}},
        {"createProjectV2Field", {"CreateProjectV2FieldInput!", {"projectId", "dataType", "name"}}},
    };
    auto known = kMutations.find(sel.name);
    if (known == kMutations.end()) {
      return std::nullopt;
    }
    auto input = args.find("input");
    bool complete = input != args.end() && input->second.IsObject();
    for (std::string_view member : known->second.required) {
      complete = complete && input->second.AsObject().contains(member) &&
                 !input->second.AsObject().at(std::string(member)).IsNull();
    }
    if (!complete) {
      Fatal(Value::Object{
          {"path", Value(Value::List(path))},
          {"extensions", Value(Value::Object{{"code", Value("argumentLiteralsIncompatible")},
                                             {"typeName", Value("Field")},
                                             {"argumentName", Value("input")}})},
          {"locations", LocationOf(sel)},
          {"message", Value("Argument 'input' on Field '" + sel.name + "' has an invalid value (" +
                            (input == args.end() ? std::string("null") : input->second.ToJson()) +
                            "). Expected type '" + std::string(known->second.type) + "'.")}});
      return Null();
    }
    const Value::Object& in = input->second.AsObject();
    auto text = [&](std::string_view member) {
      const Value& v = in.at(std::string(member));
      return v.IsString() ? v.AsString() : v.ToText();
    };
    if (sel.name == "createProjectV2Field") {
      // An enum value outside ProjectV2CustomFieldType fails validation:
      // nothing runs.
      const std::string data_type = text("dataType");
      static const std::vector<std::string_view> kCustom = {"NUMBER", "TEXT", "DATE",
                                                            "SINGLE_SELECT", "ITERATION"};
      if (std::find(kCustom.begin(), kCustom.end(), data_type) == kCustom.end()) {
        Fatal(Value::Object{
            {"path", Value(Value::List(path))},
            {"locations", LocationOf(sel)},
            {"message", Value("Argument 'dataType' on InputObject 'CreateProjectV2FieldInput' has "
                              "an invalid value (" +
                              data_type + "). Expected type 'ProjectV2CustomFieldType!'.")}});
        return Null();
      }
    }
    ++s_.mutations[sel.name];
    std::string payload_type(sel.name);
    payload_type[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(payload_type[0])));
    payload_type += "Payload";

    Project* project = nullptr;
    for (Project& candidate : s_.projects) {
      if (candidate.id == text("projectId")) {
        project = &candidate;
      }
    }
    if (!project) {
      NodeNotFound(path, sel, text("projectId"));
      return Null();
    }
    if (!CanWriteProjects()) {
      FieldError("FORBIDDEN", path, sel,
                 token_.kind == GitHubTokenKind::kInstallation
                     ? "Resource not accessible by integration"
                     : "Resource not accessible by personal access token");
      return Null();
    }
    Ref payload;
    payload.type = payload_type;
    payload.project = project;
    payload.scalars.insert_or_assign(
        "clientMutationId", in.contains("clientMutationId") ? in.at("clientMutationId") : Value());

    if (sel.name == "createProjectV2Field") {
      const std::string name = text("name");
      const std::string data_type = text("dataType");
      if (TrimSpace(name).empty()) {
        Unprocessable(path, sel, "Name can't be blank");
        return Null();
      }
      for (const Field& field : project->fields) {
        if (EqualsIgnoreCase(field.name, name)) {
          Unprocessable(path, sel, "Name has already been taken");
          return Null();
        }
      }
      std::vector<std::string> options;
      if (auto given = in.find("singleSelectOptions");
          given != in.end() && given->second.IsList()) {
        for (const Value& option : given->second.AsList()) {
          if (const Value* option_name = option.Find("name");
              option_name && option_name->IsString()) {
            options.push_back(option_name->AsString());
          }
        }
      }
      if (data_type == "SINGLE_SELECT" && options.empty()) {
        Unprocessable(path, sel, "Single select fields need at least one option");
        return Null();
      }
      Field& field = s_.AddField(*project, name, data_type);
      for (const std::string& option : options) {
        field.options.push_back({Fnv1a64Hex(field.id + "/" + option).substr(0, 8), option, "GRAY"});
      }
      project->updated_at = s_.Now();
      payload.field = &field;
      return Object(std::move(payload));
    }

    // The item, of a live issue the token can see.
    auto visible = [&](std::int64_t issue_id) -> const Record* {
      const Record* record = s_.Live(issue_id);
      const Repo* repo = record ? s_.FindRepo(record->issue.repo) : nullptr;
      return repo && s_.CanSee(token_, *repo) ? record : nullptr;
    };
    if (sel.name == "addProjectV2ItemById") {
      const Record* content = nullptr;
      for (const auto& [id, record] : s_.records) {
        if (record.live && record.issue.node_id == text("contentId")) {
          content = visible(id);
        }
      }
      if (!content) {
        NodeNotFound(path, sel, text("contentId"));
        return Null();
      }
      payload.item = &s_.AddItem(*project, content->issue.id);
      return Object(std::move(payload));
    }

    Item* item = nullptr;
    for (Item& candidate : project->items) {
      if (candidate.id == text("itemId") && visible(candidate.issue_id)) {
        item = &candidate;
      }
    }
    if (!item) {
      NodeNotFound(path, sel, text("itemId"));
      return Null();
    }
    const Field* field = nullptr;
    for (const Field& candidate : project->fields) {
      if (candidate.id == text("fieldId")) {
        field = &candidate;
      }
    }
    if (!field) {
      NodeNotFound(path, sel, text("fieldId"));
      return Null();
    }
    payload.item = item;
    if (sel.name == "clearProjectV2ItemFieldValue") {
      item->values.erase(field->id);
      s_.ValueEdited(*project, *item);
      return Object(std::move(payload));
    }

    // updateProjectV2ItemFieldValue: exactly the member the field's type takes.
    const Value& value = in.at("value");
    std::vector<std::string> given;
    if (value.IsObject()) {
      for (const auto& [member, v] : value.AsObject()) {
        if (!v.IsNull()) {
          given.push_back(member);
        }
      }
    }
    const std::string& type = field->data_type;
    static const std::map<std::string, std::string, std::less<>> kMember = {
        {"NUMBER", "number"},
        {"TEXT", "text"},
        {"DATE", "date"},
        {"SINGLE_SELECT", "singleSelectOptionId"},
        {"ITERATION", "iterationId"}};
    auto wanted = kMember.find(type);
    if (wanted == kMember.end()) {
      Unprocessable(path, sel,
                    "Updating a field of type " + AsciiLower(type) +
                        " is not supported through this mutation");
      return Null();
    }
    const Value* v = given.size() == 1 && given[0] == wanted->second
                         ? &value.AsObject().at(wanted->second)
                         : nullptr;
    std::string stored;
    std::optional<double> number;
    bool ok = v != nullptr;
    if (ok && type == "NUMBER") {
      ok = v->IsNumber();
      number = ok ? std::optional(v->AsNumber()) : std::nullopt;
    } else if (ok && type == "TEXT") {
      ok = v->IsString();
      stored = ok ? v->AsString() : "";
    } else if (ok && type == "DATE") {
      ok = v->IsString() && ParseIsoUtc(v->AsString()).has_value();
      stored = ok ? v->AsString().substr(0, 10) : "";
    } else if (ok && type == "SINGLE_SELECT") {
      ok =
          v->IsString() && std::any_of(field->options.begin(), field->options.end(),
                                       [&](const FieldOption& o) { return o.id == v->AsString(); });
      stored = ok ? v->AsString() : "";
    } else if (ok && type == "ITERATION") {
      ok = v->IsString() &&
           std::any_of(field->iterations.begin(), field->iterations.end(),
                       [&](const FieldIteration& i) { return i.id == v->AsString(); });
      stored = ok ? v->AsString() : "";
    }
    if (!ok) {
      Unprocessable(path, sel,
                    "Did not receive a " +
                        (type == "SINGLE_SELECT" ? std::string("single select option id")
                         : type == "ITERATION"   ? std::string("iteration id")
                                                 : AsciiLower(type)) +
                        " value to update a field of type " + AsciiLower(type));
      return Null();
    }
    ItemValue& slot = item->values[field->id];
    const std::int64_t now = s_.Now();
    if (slot.id.empty()) {
      slot.database_id = s_.next_small_id++;
      slot.id = MakeNodeId("PVTFSV_lQDO", item->database_id, slot.database_id);
      slot.created_at = now;
    }
    slot.updated_at = now;
    slot.number = number;
    slot.text = stored;
    s_.ValueEdited(*project, *item);
    return Object(std::move(payload));
  }

  // ---- Object builders ----

  Ref OwnerRef(std::string_view login, bool is_org) const {
    Ref ref;
    ref.type = is_org ? "Organization" : "User";
    ref.login = std::string(login);
    std::int64_t id = UserId(login);
    const SampleUser* sample = FindSampleUser(login);
    ref.scalars = Value::Object{
        {"id", Value(LegacyNodeId(ref.type, id))},
        {"databaseId", Value(id)},
        {"login", Value(login)},
        {"name", sample ? Value(sample->name) : Value(login)},
        {"url", Value(s_.options->web_url + "/" + std::string(login))},
    };
    return ref;
  }

  std::optional<bool> OwnerKind(std::string_view login) const {
    auto it = s_.owners.find(AsciiLower(login));
    if (it != s_.owners.end()) {
      return it->second;
    }
    if (FindSampleUser(login)) {
      return false;
    }
    for (const GitHubToken& t : s_.tokens) {
      if (!t.login.empty() && EqualsIgnoreCase(t.login, login)) {
        return false;
      }
    }
    return std::nullopt;
  }

  Ref RepoRef(const Repo& repo) const {
    Ref ref;
    ref.type = "Repository";
    ref.repo = &repo;
    ref.scalars = Value::Object{
        {"id", Value(MakeNodeId("R_kgDO", repo.info.id))},
        {"databaseId", Value(repo.info.id)},
        {"name", Value(repo.name)},
        {"nameWithOwner", Value(repo.info.full_name)},
        {"url", Value(s_.options->web_url + "/" + repo.info.full_name)},
        {"isPrivate", Value(repo.info.is_private)},
    };
    return ref;
  }

  Ref IssueRef(const Record& record) const {
    const GitHubIssue& issue = record.issue;
    Ref ref;
    ref.type = issue.pull_request ? "PullRequest" : "Issue";
    ref.record = &record;
    std::string state = issue.state == "open" ? "OPEN" : "CLOSED";
    if (issue.pull_request && issue.merged_at) {
      state = "MERGED";
    }
    ref.scalars = Value::Object{
        {"id", Value(issue.node_id)},
        {"databaseId", Value(issue.id)},
        {"fullDatabaseId", Value(std::to_string(issue.id))},
        {"number", Value(issue.number)},
        {"title", Value(issue.title)},
        {"body", Value(issue.body.value_or(""))},
        {"url", Value(s_.options->web_url + "/" + issue.repo +
                      (issue.pull_request ? "/pull/" : "/issues/") + std::to_string(issue.number))},
        {"state", Value(state)},
        {"createdAt", Value(FormatSeconds(issue.created_at))},
        {"updatedAt", Value(FormatSeconds(issue.updated_at))},
        {"closedAt", issue.state == "closed" ? Value(FormatSeconds(issue.closed_at)) : Value(nullptr)},
        {"closed", Value(issue.state == "closed")},
        {"locked", Value(issue.locked)},
    };
    return ref;
  }

  Ref ProjectRef(const Project& project) const {
    Ref ref;
    ref.type = "ProjectV2";
    ref.project = &project;
    ref.scalars = Value::Object{
        {"id", Value(project.id)},
        {"databaseId", Value(project.database_id)},
        {"number", Value(project.number)},
        {"title", Value(project.title)},
        {"url", Value(s_.options->web_url + "/orgs/" + project.owner + "/projects/" +
                      std::to_string(project.number))},
        {"closed", Value(false)},
        {"public", Value(false)},
        {"shortDescription", Value(nullptr)},
        {"readme", Value(nullptr)},
        {"createdAt", Value(FormatSeconds(project.created_at))},
        {"updatedAt", Value(FormatSeconds(project.updated_at))},
        {"viewerCanUpdate", Value(CanWriteProjects())},
    };
    return ref;
  }

  Ref FieldRef(const Project& project, const Field& field) const {
    Ref ref;
    ref.type = field.data_type == "SINGLE_SELECT" ? "ProjectV2SingleSelectField"
               : field.data_type == "ITERATION"   ? "ProjectV2IterationField"
                                                  : "ProjectV2Field";
    ref.project = &project;
    ref.field = &field;
    ref.scalars = Value::Object{
        {"id", Value(field.id)},
        {"databaseId", Value(field.database_id)},
        {"name", Value(field.name)},
        {"dataType", Value(field.data_type)},
        {"createdAt", Value(FormatSeconds(project.created_at))},
        {"updatedAt", Value(FormatSeconds(project.created_at))},
    };
    return ref;
  }

  Ref ItemRef(const Project& project, const Item& item) const {
    Ref ref;
    ref.type = "ProjectV2Item";
    ref.project = &project;
    ref.item = &item;
    const Record* record = s_.Live(item.issue_id);
    ref.scalars = Value::Object{
        {"id", Value(item.id)},
        {"databaseId", Value(item.database_id)},
        {"fullDatabaseId", Value(std::to_string(item.database_id))},
        {"type", Value(record && record->issue.pull_request ? "PULL_REQUEST" : "ISSUE")},
        {"isArchived", Value(false)},
        {"createdAt", Value(FormatSeconds(item.created_at))},
        {"updatedAt", Value(FormatSeconds(item.updated_at))},
    };
    return ref;
  }

  // The values of an item, in the project's field order (Title first).
  std::vector<Ref> ValueRefs(const Project& project, const Item& item) const {
    std::vector<Ref> out;
    const Record* record = s_.Live(item.issue_id);
    if (!record) {
      return out;
    }
    const GitHubIssue& issue = record->issue;
    for (const Field& field : project.fields) {
      Ref ref;
      ref.project = &project;
      ref.item = &item;
      ref.field = &field;
      ref.value_field_id = field.id;
      std::string value_id = MakeNodeId("PVTFSV_lQDO", item.database_id, field.database_id);
      ref.scalars = Value::Object{{"id", Value(value_id)},
                                  {"databaseId", Value(item.database_id * 100 + field.database_id % 100)},
                                  {"createdAt", Value(FormatSeconds(item.created_at))},
                                  {"updatedAt", Value(FormatSeconds(item.updated_at))}};
      const std::string& t = field.data_type;
      if (t == "TITLE") {
        ref.type = "ProjectV2ItemFieldTextValue";
        ref.scalars.insert_or_assign("text", Value(issue.title));
      } else if (t == "ASSIGNEES") {
        if (issue.assignees.empty()) {
          continue;
        }
        ref.type = "ProjectV2ItemFieldUserValue";
      } else if (t == "LABELS") {
        if (issue.labels.empty()) {
          continue;
        }
        ref.type = "ProjectV2ItemFieldLabelValue";
      } else if (t == "MILESTONE") {
        if (!issue.milestone) {
          continue;
        }
        ref.type = "ProjectV2ItemFieldMilestoneValue";
      } else if (t == "REPOSITORY") {
        ref.type = "ProjectV2ItemFieldRepositoryValue";
      } else {
        auto it = item.values.find(field.id);
        if (it == item.values.end()) {
          continue;
        }
        const ItemValue& v = it->second;
        ref.scalars.insert_or_assign("id", Value(v.id));
        ref.scalars.insert_or_assign("databaseId", Value(v.database_id));
        ref.scalars.insert_or_assign("createdAt", Value(FormatSeconds(v.created_at)));
        ref.scalars.insert_or_assign("updatedAt", Value(FormatSeconds(v.updated_at)));
        if (t == "NUMBER") {
          ref.type = "ProjectV2ItemFieldNumberValue";
          double n = v.number.value_or(0);
          ref.scalars.insert_or_assign("number", Value(n));
        } else if (t == "TEXT") {
          ref.type = "ProjectV2ItemFieldTextValue";
          ref.scalars.insert_or_assign("text", Value(v.text));
        } else if (t == "DATE") {
          ref.type = "ProjectV2ItemFieldDateValue";
          ref.scalars.insert_or_assign("date", Value(v.text));
        } else if (t == "SINGLE_SELECT") {
          ref.type = "ProjectV2ItemFieldSingleSelectValue";
          for (const FieldOption& o : field.options) {
            if (o.id == v.text) {
              ref.scalars.insert_or_assign("name", Value(o.name));
              ref.scalars.insert_or_assign("nameHTML", Value(o.name));
              ref.scalars.insert_or_assign("optionId", Value(o.id));
              ref.scalars.insert_or_assign("color", Value(o.color));
              ref.scalars.insert_or_assign("description", Value(""));
              ref.scalars.insert_or_assign("descriptionHTML", Value(""));
            }
          }
        } else if (t == "ITERATION") {
          ref.type = "ProjectV2ItemFieldIterationValue";
          for (const FieldIteration& i : field.iterations) {
            if (i.id == v.text) {
              ref.scalars.insert_or_assign("title", Value(i.title));
              ref.scalars.insert_or_assign("titleHTML", Value(i.title));
              ref.scalars.insert_or_assign("iterationId", Value(i.id));
              ref.scalars.insert_or_assign("startDate", Value(i.start_date));
              ref.scalars.insert_or_assign("duration", Value(i.duration));
            }
          }
        } else {
          continue;
        }
      }
      out.push_back(std::move(ref));
    }
    return out;
  }

  // A connection over `all`, paged by first/last/after/before.
  std::optional<Resolved> Connection(std::string type, std::vector<Ref> all,
                                     const Value::Object& args, const Selection& sel,
                                     const Path& path) {
    const Value* first = args.contains("first") ? &args.at("first") : nullptr;
    const Value* last = args.contains("last") ? &args.at("last") : nullptr;
    if ((!first || first->IsNull()) && (!last || last->IsNull())) {
      Fatal(Value::Object{{"type", Value("MISSING_PAGINATION_BOUNDARIES")},
                          {"path", Value(Value::List(path))},
                          {"locations", LocationOf(sel)},
                          {"message", Value("You must provide a `first` or `last` value to "
                                            "properly paginate the `" + sel.name + "` connection.")}});
      return Null();
    }
    auto count = [&](const Value* v, std::string_view which) -> std::optional<std::int64_t> {
      if (!v || v->IsNull()) {
        return std::nullopt;
      }
      std::int64_t n = v->IsInt() ? v->AsInt() : -1;
      if (n > 100) {
        Fatal(Value::Object{{"type", Value("EXCESSIVE_PAGINATION")},
                            {"path", Value(Value::List(path))},
                            {"locations", LocationOf(sel)},
                            {"message", Value("Requesting " + std::to_string(n) + " records on the `" +
                                              sel.name + "` connection exceeds the `" +
                                              std::string(which) + "` limit of 100 records.")}});
      } else if (n < 0) {
        Fatal(Value::Object{{"locations", LocationOf(sel)},
                            {"message", Value("Argument '" + std::string(which) + "' on Field '" +
                                              sel.name + "' has an invalid value.")}});
      }
      return n;
    };
    auto n_first = count(first, "first");
    auto n_last = count(last, "last");
    if (fatal_) {
      return Null();
    }
    auto total = static_cast<std::int64_t>(all.size());
    std::int64_t begin = 0;
    std::int64_t end = total;
    for (const char* key : {"after", "before"}) {
      if (!args.contains(key) || args.at(key).IsNull()) {
        continue;
      }
      auto index = args.at(key).IsString() ? ReadCursor(args.at(key).AsString()) : std::nullopt;
      if (!index) {
        FieldError("INVALID_CURSOR_ARGUMENTS", path, sel,
                   "`" + args.at(key).ToText() + "` does not appear to be a valid cursor.");
        return Null();
      }
      if (std::string_view(key) == "after") {
        begin = std::min(total, *index + 1);
      } else {
        end = std::min(end, *index);
      }
    }
    end = std::max(begin, end);
    std::int64_t from = begin;
    std::int64_t to = end;
    if (n_first) {
      to = std::min(to, from + *n_first);
    }
    if (n_last) {
      from = std::max(from, to - *n_last);
    }
    Ref conn;
    conn.type = std::move(type);
    conn.total = total;
    conn.offset = from;
    conn.has_next = to < end || (n_first && to < total);
    conn.has_previous = from > begin || from > 0;
    for (std::int64_t i = from; i < to; ++i) {
      conn.nodes.push_back(std::move(all[static_cast<std::size_t>(i)]));
    }
    conn.scalars.insert_or_assign("totalCount", Value(total));
    return Object(std::move(conn));
  }

  // Members every connection answers.
  std::optional<Resolved> ConnectionField(const Ref& obj, const Selection& sel) {
    if (sel.name == "nodes") {
      return List(obj.nodes);
    }
    if (sel.name == "edges") {
      std::vector<Ref> edges;
      for (std::size_t i = 0; i < obj.nodes.size(); ++i) {
        Ref edge;
        edge.type = obj.type.substr(0, obj.type.size() - std::string_view("Connection").size()) + "Edge";
        edge.scalars.insert_or_assign("cursor", Value(Cursor(obj.offset + static_cast<std::int64_t>(i))));
        edge.nodes.push_back(obj.nodes[i]);
        edges.push_back(std::move(edge));
      }
      return List(std::move(edges));
    }
    if (sel.name == "pageInfo") {
      Ref info;
      info.type = "PageInfo";
      bool empty = obj.nodes.empty();
      info.scalars = Value::Object{
          {"hasNextPage", Value(obj.has_next)},
          {"hasPreviousPage", Value(obj.has_previous)},
          {"startCursor", empty ? Value(nullptr) : Value(Cursor(obj.offset))},
          {"endCursor", empty ? Value(nullptr)
                              : Value(Cursor(obj.offset + static_cast<std::int64_t>(obj.nodes.size()) - 1))},
      };
      return Object(std::move(info));
    }
    return std::nullopt;
  }

  std::string ArgString(const Value::Object& args, std::string_view name) const {
    auto it = args.find(name);
    if (it == args.end()) {
      return "";
    }
    return it->second.IsString() ? it->second.AsString() : it->second.ToText();
  }

  // A node by its global id, as the token may see it.
  std::optional<Ref> NodeById(std::string_view id) const {
    for (const auto& [key, record] : s_.records) {
      if (record.live && record.issue.node_id == id) {
        const Repo* repo = s_.FindRepo(record.issue.repo);
        if (!repo || !s_.CanSee(token_, *repo)) {
          return std::nullopt;
        }
        return IssueRef(record);
      }
    }
    for (const Project& project : s_.projects) {
      if (project.id == id) {
        return ProjectRef(project);
      }
      for (const Field& field : project.fields) {
        if (field.id == id) {
          return FieldRef(project, field);
        }
      }
      for (const Item& item : project.items) {
        if (item.id == id) {
          return ItemRef(project, item);
        }
      }
    }
    for (const Repo& repo : s_.repos) {
      if (MakeNodeId("R_kgDO", repo.info.id) == id && s_.CanSee(token_, repo)) {
        return RepoRef(repo);
      }
    }
    return std::nullopt;
  }

  std::optional<Resolved> Resolve(const Ref& obj, const Selection& sel, const Value::Object& args,
                                  const Path& path) {
    const std::string& t = obj.type;
    const std::string& f = sel.name;
    if (t.ends_with("Connection")) {
      if (auto r = ConnectionField(obj, sel)) {
        return r;
      }
    }
    if (t.ends_with("Edge") && f == "node") {
      return Object(obj.nodes.front());
    }
    if (auto it = obj.scalars.find(f); it != obj.scalars.end()) {
      return Scalar(it->second);
    }

    if (t == "Query") {
      if (f == "organization" || f == "user") {
        std::string login = ArgString(args, "login");
        auto kind = OwnerKind(login);
        bool is_org = f == "organization";
        if (!kind || *kind != is_org) {
          FieldError("NOT_FOUND", path, sel,
                     "Could not resolve to " + std::string(is_org ? "an Organization" : "a User") +
                         " with the login of '" + login + "'.");
          return Null();
        }
        return Object(OwnerRef(login, is_org));
      }
      if (f == "repository") {
        const std::string owner = ArgString(args, "owner");
        const std::string name = ArgString(args, "name");
        const Repo* repo = s_.FindRepo(owner + "/" + name);
        if (!repo || !s_.CanSee(token_, *repo)) {
          FieldError(
              "NOT_FOUND", path, sel,
              "Could not resolve to a Repository with the name '" + owner + "/" + name + "'.");
          return Null();
        }
        return Object(RepoRef(*repo));
      }
      if (f == "viewer") {
        if (token_.kind == GitHubTokenKind::kInstallation) {
          Ref bot = OwnerRef("boardsync-sync[bot]", false);
          bot.type = "Bot";
          return Object(std::move(bot));
        }
        return Object(OwnerRef(token_.login, false));
      }
      if (f == "rateLimit") {
        Ref rate;
        rate.type = "RateLimit";
        rate.scalars = Value::Object{
            {"limit", Value(s_.graphql.limit)},
            {"cost", Value(1)},
            {"remaining", Value(s_.graphql.remaining())},
            {"used", Value(s_.graphql.used)},
            {"resetAt", Value(FormatSeconds(s_.graphql.reset))},
            {"nodeCount", Value(0)},
        };
        return Object(std::move(rate));
      }
      if (f == "nodes" || f == "node") {
        Value::List ids;
        if (f == "node") {
          ids.push_back(args.contains("id") ? args.at("id") : Value(nullptr));
        } else if (args.contains("ids") && args.at("ids").IsList()) {
          ids = args.at("ids").AsList();
        } else if (args.contains("ids") && args.at("ids").IsString()) {
          ids.push_back(args.at("ids"));
        }
        if (ids.size() > 100) {
          Fatal(Value::Object{{"type", Value("EXCESSIVE_PAGINATION")},
                              {"locations", LocationOf(sel)},
                              {"message", Value("You may not request more than 100 nodes at once.")}});
          return Null();
        }
        Resolved r;
        r.kind = Resolved::kList;
        for (std::size_t i = 0; i < ids.size(); ++i) {
          std::string id = ids[i].IsString() ? ids[i].AsString() : ids[i].ToText();
          std::optional<Ref> node = NodeById(id);
          if (!node) {
            Path at = path;
            if (f == "nodes") {
              at.push_back(Value(static_cast<std::int64_t>(i)));
            }
            FieldError("NOT_FOUND", at, sel,
                       "Could not resolve to a node with the global id of '" + id + "'");
          }
          r.list.push_back(std::move(node));
        }
        if (f == "node") {
          return r.list.front() ? Object(*r.list.front()) : Null();
        }
        return r;
      }
      return std::nullopt;
    }

    if (t == "Organization" || t == "User" || t == "Bot") {
      if (f == "projectV2" && t != "Bot") {
        if (!CanReadProjects(sel, path)) {
          return Null();
        }
        std::int64_t number = args.contains("number") && args.at("number").IsInt()
                                  ? args.at("number").AsInt()
                                  : -1;
        const Project* project = s_.FindProject(obj.login, static_cast<int>(number));
        if (!project) {
          FieldError("NOT_FOUND", path, sel,
                     "Could not resolve to a ProjectV2 with the number " +
                         (number >= 0 ? std::to_string(number) : ArgString(args, "number")) + ".");
          return Null();
        }
        return Object(ProjectRef(*project));
      }
      return std::nullopt;
    }

    if (t == "Repository" && f == "issue") {
      std::int64_t number =
          args.contains("number") && args.at("number").IsInt() ? args.at("number").AsInt() : -1;
      auto at = s_.locations.find({obj.repo->info.id, number});
      const Record* record = at != s_.locations.end() && at->second.kind == Location::kLive
                                 ? s_.Live(at->second.id)
                                 : nullptr;
      if (!record || record->issue.pull_request) {
        // Deleted and transferred issues too (UNCONFIRMED whether GitHub
        // follows a transfer here).
        FieldError("NOT_FOUND", path, sel,
                   "Could not resolve to an Issue with the number of " +
                       (number >= 0 ? std::to_string(number) : ArgString(args, "number")) + ".");
        return Null();
      }
      return Object(IssueRef(*record));
    }

    if (t == "Mutation") {
      return Mutate(sel, args, path);
    }
    if (t.ends_with("Payload")) {
      if (f == "item" && t == "AddProjectV2ItemByIdPayload") {
        return Object(ItemRef(*obj.project, *obj.item));
      }
      if (f == "projectV2Item" && t != "CreateProjectV2FieldPayload") {
        return Object(ItemRef(*obj.project, *obj.item));
      }
      if (f == "projectV2Field" && t == "CreateProjectV2FieldPayload") {
        return Object(FieldRef(*obj.project, *obj.field));
      }
      return std::nullopt;
    }

    if (t == "Repository" && f == "owner") {
      auto kind = OwnerKind(obj.repo->owner);
      return Object(OwnerRef(obj.repo->owner, kind.value_or(true)));
    }

    if (t == "ProjectV2") {
      const Project& project = *obj.project;
      if (f == "owner") {
        return Object(OwnerRef(project.owner, OwnerKind(project.owner).value_or(true)));
      }
      if (f == "fields") {
        std::vector<Ref> all;
        for (const Field& field : project.fields) {
          all.push_back(FieldRef(project, field));
        }
        return Connection("ProjectV2FieldConfigurationConnection", std::move(all), args, sel, path);
      }
      if (f == "field") {
        std::string name = ArgString(args, "name");
        for (const Field& field : project.fields) {
          if (field.name == name) {
            return Object(FieldRef(project, field));
          }
        }
        return Null();
      }
      if (f == "items") {
        std::vector<Ref> all;
        for (const Item& item : project.items) {
          if (s_.Live(item.issue_id)) {
            all.push_back(ItemRef(project, item));
          }
        }
        return Connection("ProjectV2ItemConnection", std::move(all), args, sel, path);
      }
      return std::nullopt;
    }

    if (t == "ProjectV2Field" || t == "ProjectV2SingleSelectField" || t == "ProjectV2IterationField") {
      if (f == "project") {
        return Object(ProjectRef(*obj.project));
      }
      if (f == "options" && t == "ProjectV2SingleSelectField") {
        std::vector<Ref> options;
        for (const FieldOption& o : obj.field->options) {
          Ref ref;
          ref.type = "ProjectV2SingleSelectFieldOption";
          ref.scalars = Value::Object{{"id", Value(o.id)},
                                      {"name", Value(o.name)},
                                      {"nameHTML", Value(o.name)},
                                      {"color", Value(o.color)},
                                      {"description", Value("")},
                                      {"descriptionHTML", Value("")}};
          options.push_back(std::move(ref));
        }
        return List(std::move(options));
      }
      if (f == "configuration" && t == "ProjectV2IterationField") {
        Ref config;
        config.type = "ProjectV2IterationFieldConfiguration";
        config.field = obj.field;
        int duration = obj.field->iterations.empty() ? 14 : obj.field->iterations.front().duration;
        config.scalars = Value::Object{{"duration", Value(duration)}, {"startDay", Value(1)}};
        return Object(std::move(config));
      }
      return std::nullopt;
    }

    if (t == "ProjectV2IterationFieldConfiguration" &&
        (f == "iterations" || f == "completedIterations")) {
      std::vector<Ref> out;
      for (const FieldIteration& i : obj.field->iterations) {
        if (i.completed != (f == "completedIterations")) {
          continue;
        }
        Ref ref;
        ref.type = "ProjectV2IterationFieldIteration";
        ref.scalars = Value::Object{{"id", Value(i.id)},
                                    {"title", Value(i.title)},
                                    {"titleHTML", Value(i.title)},
                                    {"startDate", Value(i.start_date)},
                                    {"duration", Value(i.duration)}};
        out.push_back(std::move(ref));
      }
      return List(std::move(out));
    }

    if (t == "Issue" || t == "PullRequest") {
      const GitHubIssue& issue = obj.record->issue;
      if (f == "stateReason" && t == "Issue") {
        if (issue.state == "open" && issue.state_reason != "reopened") {
          return Scalar(Value(nullptr));
        }
        std::string reason = AsciiLower(issue.state_reason.value_or("completed"));
        bool enable_duplicate = args.contains("enableDuplicate") &&
                                args.at("enableDuplicate").IsBool() &&
                                args.at("enableDuplicate").AsBool();
        if (reason == "duplicate" && !enable_duplicate) {
          reason = "not_planned";
        }
        std::string upper;
        for (char c : reason) {
          upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        return Scalar(Value(upper));
      }
      if (f == "repository") {
        const Repo* repo = s_.FindRepo(issue.repo);
        return repo ? Object(RepoRef(*repo)) : Null();
      }
      if (f == "projectItems") {
        if (!CanReadProjects(sel, path)) {
          return Null();
        }
        std::vector<Ref> all;
        for (const Project& project : s_.projects) {
          for (const Item& item : project.items) {
            if (item.issue_id == issue.id) {
              all.push_back(ItemRef(project, item));
            }
          }
        }
        return Connection("ProjectV2ItemConnection", std::move(all), args, sel, path);
      }
      return std::nullopt;
    }

    if (t == "ProjectV2Item") {
      if (f == "project") {
        return Object(ProjectRef(*obj.project));
      }
      if (f == "content") {
        const Record* record = s_.Live(obj.item->issue_id);
        return record ? Object(IssueRef(*record)) : Null();
      }
      if (f == "fieldValues") {
        return Connection("ProjectV2ItemFieldValueConnection", ValueRefs(*obj.project, *obj.item),
                          args, sel, path);
      }
      if (f == "fieldValueByName") {
        std::string name = ArgString(args, "name");
        for (Ref& ref : ValueRefs(*obj.project, *obj.item)) {
          if (ref.field->name == name) {
            return Object(std::move(ref));
          }
        }
        return Null();
      }
      return std::nullopt;
    }

    if (t.starts_with("ProjectV2ItemField") && t.ends_with("Value")) {
      if (f == "field") {
        return Object(FieldRef(*obj.project, *obj.field));
      }
      if (f == "item") {
        return Object(ItemRef(*obj.project, *obj.item));
      }
      const Record* record = s_.Live(obj.item->issue_id);
      if (!record) {
        return Null();
      }
      const GitHubIssue& issue = record->issue;
      if (t == "ProjectV2ItemFieldRepositoryValue" && f == "repository") {
        const Repo* repo = s_.FindRepo(issue.repo);
        return repo ? Object(RepoRef(*repo)) : Null();
      }
      if (t == "ProjectV2ItemFieldLabelValue" && f == "labels") {
        std::vector<Ref> all;
        for (const std::string& name : issue.labels) {
          Ref label;
          label.type = "Label";
          label.scalars = Value::Object{{"id", Value(MakeNodeId("LA_kwDO", UserId(name)))},
                                        {"name", Value(name)}};
          all.push_back(std::move(label));
        }
        return Connection("LabelConnection", std::move(all), args, sel, path);
      }
      if (t == "ProjectV2ItemFieldUserValue" && f == "users") {
        std::vector<Ref> all;
        for (const std::string& login : issue.assignees) {
          all.push_back(OwnerRef(login, false));
        }
        return Connection("UserConnection", std::move(all), args, sel, path);
      }
      if (t == "ProjectV2ItemFieldMilestoneValue" && f == "milestone") {
        Ref m;
        m.type = "Milestone";
        m.scalars = Value::Object{{"title", Value(*issue.milestone)}};
        if (const Repo* repo = s_.FindRepo(issue.repo)) {
          for (const Milestone& ms : repo->milestones) {
            if (ms.title == *issue.milestone) {
              m.scalars.insert_or_assign("id", Value(MakeNodeId("MI_kwDO", repo->info.id, ms.id)));
              m.scalars.insert_or_assign("number", Value(ms.number));
              m.scalars.insert_or_assign("dueOn", Value(nullptr));
            }
          }
        }
        return Object(std::move(m));
      }
      return std::nullopt;
    }
    return std::nullopt;
  }

  State& s_;
  const GitHubToken& token_;
  const Document& doc_;
  Value::Object variables_;
  std::map<std::string, VariableDef> declared_;
  Value::List errors_;
  bool fatal_ = false;
};

HttpServerResponse JsonAnswer(int status, const Value& body) {
  HttpServerResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  response.body = body.ToJson();
  return response;
}

Value ErrorsOnly(Value::Object error) {
  return Value(Value::Object{{"errors", Value(Value::List{Value(std::move(error))})}});
}

void AddGraphQLBudget(HttpServerHeaders& headers, const Budget& b) {
  headers.emplace_back("x-ratelimit-limit", std::to_string(b.limit));
  headers.emplace_back("x-ratelimit-remaining", std::to_string(b.remaining()));
  headers.emplace_back("x-ratelimit-used", std::to_string(b.used));
  headers.emplace_back("x-ratelimit-reset", std::to_string(b.reset));
  headers.emplace_back("x-ratelimit-resource", "graphql");
}

}  // namespace

HttpServerResponse ServeGraphQL(State& s, const GitHubToken& token,
                                const HttpServerRequest& request) {
  if (request.method != "POST") {
    HttpServerResponse response = JsonAnswer(
        404, Value(Value::Object{{"message", Value("Not Found")},
                                 {"documentation_url", Value("https://docs.github.com/graphql")},
                                 {"status", Value("404")}}));
    return response;
  }
  auto body = ParseJson(request.body);
  if (!body || !body->IsObject()) {
    return JsonAnswer(400, Value(Value::Object{{"message", Value("Problems parsing JSON")},
                                               {"documentation_url",
                                                Value("https://docs.github.com/graphql")},
                                               {"status", Value("400")}}));
  }
  s.graphql.Roll(s.Now());
  HttpServerResponse response;
  if (s.graphql.remaining() <= 0) {
    response = JsonAnswer(200, ErrorsOnly(Value::Object{
                                   {"type", Value("RATE_LIMITED")},
                                   {"message", Value("API rate limit already exceeded for user ID 1.")}}));
    AddGraphQLBudget(response.headers, s.graphql);
    return response;
  }
  ++s.graphql.used;

  const Value* query = body->Find("query");
  Value answer;
  if (!query || !query->IsString()) {
    answer = ErrorsOnly(Value::Object{
        {"message", Value("A query attribute must be specified and must be a string.")}});
  } else {
    std::vector<Token> tokens;
    ParseError error;
    Document doc;
    bool parsed = Lexer(query->AsString()).Run(tokens, error) && Parser(std::move(tokens)).Run(doc, error);
    const Value* variables = body->Find("variables");
    std::string operation_name(body->StringOr("operationName"));
    const Operation* op = nullptr;
    if (parsed) {
      for (const Operation& candidate : doc.operations) {
        if (operation_name.empty() || candidate.name == operation_name) {
          op = &candidate;
          break;
        }
      }
    }
    if (!parsed) {
      answer = ErrorsOnly(Value::Object{
          {"message", Value(error.message)},
          {"locations", Value(Value::List{Value(Value::Object{{"line", Value(error.line)},
                                                              {"column", Value(error.column)}})})}});
    } else if (!op) {
      answer = ErrorsOnly(Value::Object{
          {"message", Value("No operation named \"" + operation_name + "\"")}});
    } else if (op->kind != "query" && op->kind != "mutation") {
      answer = ErrorsOnly(Value::Object{
          {"type", Value("UNSUPPORTED")},
          {"message", Value("The sample GitHub answers queries and mutations only, not a " +
                            op->kind + ".")}});
    } else if (doc.has_directive) {
      answer = ErrorsOnly(Value::Object{
          {"type", Value("UNSUPPORTED")},
          {"message", Value("The sample GitHub does not read directives.")}});
    } else if (variables && !variables->IsNull() && !variables->IsObject()) {
      answer = ErrorsOnly(Value::Object{{"message", Value("Variables are invalid JSON.")}});
    } else {
      Executor executor(s, token, doc,
                        variables && variables->IsObject() ? variables->AsObject() : Value::Object{});
      Value data = executor.Run(*op);
      if (executor.fatal()) {
        answer = Value(Value::Object{{"errors", Value(std::move(executor.errors()))}});
      } else {
        Value::Object out{{"data", std::move(data)}};
        if (!executor.errors().empty()) {
          out.insert_or_assign("errors", Value(std::move(executor.errors())));
        }
        answer = Value(std::move(out));
      }
    }
  }
  response = JsonAnswer(200, answer);
  AddGraphQLBudget(response.headers, s.graphql);
  return response;
}

}  // namespace github_sample
}  // namespace boardsync

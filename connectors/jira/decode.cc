#include "connectors/jira/decode.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>

#include "core/time.h"
#include "core/url.h"

namespace boardsync {
namespace {

// Deeper rich text fails: editors nest lists a few levels, and each level
// is one C++ frame here. The JSON parser's own limit (64 levels, two per
// ADF node) keeps real input well under this; the bound holds for any input.
constexpr int kMaxAdfDepth = 24;

constexpr std::string_view kSprintType = "com.pyxis.greenhopper.jira:gh-sprint";

// Seconds in Jira, minutes in boardsync (DESIGN §3: `as: hours` means the
// same for every tracker).
constexpr std::array<std::string_view, 6> kDurationIds = {
    "timeoriginalestimate",          "timeestimate",          "timespent",
    "aggregatetimeoriginalestimate", "aggregatetimeestimate", "aggregatetimespent"};

// How a value is read; the field's schema (or, for a few system fields, its
// id) decides.
enum class Kind {
  kName,     // status, priority, version, ...: {"name"}
  kProject,  // {"key", "name"}
  kOption,   // {"value"}
  kCascade,  // {"value", "child": {"value"}}
  kUser,
  kDuration,      // seconds
  kTimeTracking,  // {"originalEstimateSeconds", ...}
  kString,        // text, or ADF on Cloud
  kNumber,
  kFloat,  // custom number fields: Jira keeps them as doubles
  kDate,
  kDateTime,
  kArray,
  kSprint,
  kParent,   // {"key"}
  kVotes,    // {"votes"}
  kWatches,  // {"watchCount"}
  kOpaque,   // anything else: the JSON as it is
};

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

// The kind of one value of schema type `type` (an array's items too).
Kind KindOfType(std::string_view type) {
  if (IsOneOf(type, {"status", "priority", "resolution", "issuetype", "version", "component",
                     "group", "securitylevel", "statusCategory"})) {
    return Kind::kName;
  }
  if (type == "project") {
    return Kind::kProject;
  }
  if (type == "option") {
    return Kind::kOption;
  }
  if (type == "option-with-child") {
    return Kind::kCascade;
  }
  if (type == "user") {
    return Kind::kUser;
  }
  if (type == "string") {
    return Kind::kString;
  }
  if (type == "number") {
    return Kind::kNumber;
  }
  if (type == "date") {
    return Kind::kDate;
  }
  if (type == "datetime") {
    return Kind::kDateTime;
  }
  if (type == "timetracking") {
    return Kind::kTimeTracking;
  }
  if (type == "votes") {
    return Kind::kVotes;
  }
  if (type == "watches") {
    return Kind::kWatches;
  }
  if (type == "array") {
    return Kind::kArray;
  }
  return Kind::kOpaque;
}

Kind KindOf(const JiraField& field) {
  if (field.custom_type == kSprintType) {
    return Kind::kSprint;
  }
  if (field.id == "parent" || field.system == "parent") {
    return Kind::kParent;
  }
  if (std::find(kDurationIds.begin(), kDurationIds.end(), field.id) != kDurationIds.end() ||
      std::find(kDurationIds.begin(), kDurationIds.end(), field.system) != kDurationIds.end()) {
    return Kind::kDuration;
  }
  Kind kind = KindOfType(field.type);
  return kind == Kind::kNumber && field.custom ? Kind::kFloat : kind;
}

// Names where a decoding error happened, for the message.
struct Where {
  std::string_view issue_key;
  const JiraField* field = nullptr;  // null for the issue's own members
};

std::unexpected<Error> Bad(const Where& where, std::string_view what) {
  std::string message = "issue " + std::string(where.issue_key) + ": ";
  if (where.field != nullptr) {
    message += "field ";
    if (!where.field->name.empty() && where.field->name != where.field->id) {
      message += "\"" + where.field->name + "\" (" + where.field->id + ")";
    } else {
      message += where.field->id;
    }
    message += ": ";
  }
  message += what;
  return Fail(ErrorCode::kBadResponse, std::move(message));
}

// A nullable string member: string → string, missing or null → null.
Result<Value> OptionalString(JsonView object, std::string_view key, const Where& where) {
  auto v = object.FindNonNull(key);
  if (!v) {
    return Value();
  }
  if (!v->IsString()) {
    return Bad(where, std::string(key) + " is not a string");
  }
  return Value(v->AsString());
}

// The string member `key` that a value of its kind must have.
Result<Value> RequiredString(JsonView element, std::string_view key, const Where& where) {
  if (!element.IsObject()) {
    return Bad(where, "a value is not a JSON object");
  }
  auto v = element.Find(key);
  if (!v || !v->IsString()) {
    return Bad(where, "a value has no " + std::string(key));
  }
  return Value(v->AsString());
}

// {"login", "name", "email"}. Cloud identifies users by accountId (name and
// key are gone there), Data Center by name; name falls back to the login
// because a value may carry only some of them.
Result<Value> DecodeUser(JsonView user, const Where& where) {
  if (!user.IsObject()) {
    return Bad(where, "a user is not a JSON object");
  }
  auto account_id = OptionalString(user, "accountId", where);
  auto name = OptionalString(user, "name", where);
  auto key = OptionalString(user, "key", where);
  auto display_name = OptionalString(user, "displayName", where);
  auto email = OptionalString(user, "emailAddress", where);
  for (const auto* r : {&account_id, &name, &key, &display_name, &email}) {
    if (!*r) {
      return std::unexpected(r->error());
    }
  }
  auto usable = [](const Value& v) { return v.IsString() && !v.AsString().empty(); };
  Value login = usable(*account_id) ? std::move(*account_id)
                : usable(*name)     ? std::move(*name)
                : usable(*key)      ? std::move(*key)
                                    : Value();
  Value display = usable(*display_name) ? std::move(*display_name) : Value(login);
  // Emplaced in key order, each at the end.
  Value::Object out;
  out.reserve(3);
  out.emplace("email", usable(*email) ? std::move(*email) : Value());
  out.emplace("login", std::move(login));
  out.emplace("name", std::move(display));
  return Value(std::move(out));
}

Result<Value> DecodeProject(JsonView project, const Where& where) {
  if (!project.IsObject()) {
    return Bad(where, "a project is not a JSON object");
  }
  auto key = OptionalString(project, "key", where);
  if (!key) {
    return key;
  }
  auto name = OptionalString(project, "name", where);
  if (!name) {
    return name;
  }
  Value::Object out;
  out.reserve(2);
  out.emplace("key", std::move(*key));
  out.emplace("name", std::move(*name));
  return Value(std::move(out));
}

// "Parent / Child": one string, so a skip rule or a map compares it whole.
Result<Value> DecodeCascade(JsonView option, const Where& where) {
  auto parent = RequiredString(option, "value", where);
  if (!parent) {
    return parent;
  }
  auto child = option.FindNonNull("child");
  if (!child) {
    return parent;
  }
  auto child_value = RequiredString(*child, "value", where);
  if (!child_value) {
    return child_value;
  }
  return Value(parent->AsString() + " / " + child_value->AsString());
}

Value SecondsToMinutes(std::int64_t seconds) {
  if (seconds % 60 == 0) {
    return Value(seconds / 60);
  }
  return Value(static_cast<double>(seconds) / 60.0);
}

Result<Value> DecodeDuration(JsonView seconds, const Where& where) {
  std::int64_t s = 0;
  if (AsInteger(seconds, s)) {
    return SecondsToMinutes(s);
  }
  if (seconds.IsDouble()) {
    return Value(seconds.AsDouble() / 60.0);
  }
  return Bad(where, "the value is not a number of seconds");
}

Result<Value> DecodeTimeTracking(JsonView tracking, const Where& where) {
  if (!tracking.IsObject()) {
    return Bad(where, "time tracking is not a JSON object");
  }
  constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kMembers = {{
      {"originalEstimate", "originalEstimateSeconds"},
      {"remainingEstimate", "remainingEstimateSeconds"},
      {"timeSpent", "timeSpentSeconds"},
  }};
  Value::Object out;
  out.reserve(kMembers.size());
  for (const auto& [name, seconds_member] : kMembers) {
    Value minutes;
    if (auto seconds = tracking.FindNonNull(seconds_member)) {
      auto decoded = DecodeDuration(*seconds, where);
      if (!decoded) {
        return decoded;
      }
      minutes = std::move(*decoded);
    }
    out.emplace(name, std::move(minutes));
  }
  return Value(std::move(out));
}

Result<Value> DecodeDate(JsonView date, const Where& where) {
  std::optional<std::int64_t> ms;
  if (date.IsString() && date.AsString().size() == 10) {
    ms = ParseIsoUtc(date.AsString());
  }
  if (!ms || !IsIsoWritable(*ms)) {
    return Bad(where, "the value is not a date (YYYY-MM-DD)");
  }
  return Value(FormatIsoDate(*ms));
}

Result<Value> DecodeDateTime(JsonView datetime, const Where& where) {
  std::optional<std::int64_t> ms;
  if (datetime.IsString()) {
    ms = ParseJiraDateTime(datetime.AsString());
  }
  if (!ms || !IsIsoWritable(*ms)) {
    return Bad(where, "the value is not a date and time within the years 0001-9999");
  }
  return Value(FormatIsoUtc(*ms));
}

// Data Center before Jira Software 8 sends each sprint as the toString() of
// its Java object: "com.atlassian.greenhopper.service.sprint.Sprint@1f2e[id=78,
// rapidViewId=42,state=CLOSED,name=Sprint 12,startDate=...,...]". A name may
// hold commas and '=', so it runs to the next member that follows it in
// those strings, or to the closing ']'.
std::string LegacySprintName(std::string_view text) {
  std::size_t open = text.find('[');
  if (open == std::string_view::npos || text.back() != ']') {
    return std::string(text);
  }
  std::size_t at = std::string_view::npos;
  for (std::size_t p = text.find("name=", open); p != std::string_view::npos;
       p = text.find("name=", p + 1)) {
    if (text[p - 1] == '[' || text[p - 1] == ',') {
      at = p + 5;
      break;
    }
  }
  if (at == std::string_view::npos) {
    return std::string(text);
  }
  std::size_t end = text.size() - 1;
  for (std::string_view next : {",startDate=", ",endDate=", ",completeDate=", ",activatedDate=",
                                ",sequence=", ",goal=", ",autoStartStop=", ",synced="}) {
    std::size_t p = text.find(next, at);
    if (p != std::string_view::npos && p < end) {
      end = p;
    }
  }
  return std::string(text.substr(at, end - at));
}

Result<Value> DecodeSprint(JsonView sprint, const Where& where) {
  if (sprint.IsString()) {
    return Value(LegacySprintName(sprint.AsString()));
  }
  return RequiredString(sprint, "name", where);
}

Result<Value> DecodeCount(JsonView object, std::string_view member, const Where& where) {
  std::int64_t n = 0;
  auto v = object.IsObject() ? object.Find(member) : std::nullopt;
  if (!v || !AsInteger(*v, n)) {
    return Bad(where, "the value has no " + std::string(member));
  }
  return Value(n);
}

Result<Value> DecodeString(JsonView text, const Where& where) {
  if (text.IsString()) {
    return Value(text.AsString());
  }
  // Cloud's v3 API sends rich text (description, environment, text areas)
  // as an Atlassian Document Format tree where the schema says string.
  if (text.IsObject() && text.StringOr("type") == "doc") {
    auto plain = JiraAdfToText(text);
    if (!plain) {
      return Bad(where, plain.error().message);
    }
    return Value(std::move(*plain));
  }
  return Bad(where, "the value is not a string");
}

Result<Value> DecodeOne(Kind kind, JsonView value, const Where& where);

Result<Value> DecodeList(Kind element_kind, JsonView value, const Where& where) {
  if (!value.IsList()) {
    return Bad(where, "the value is not a JSON array");
  }
  Value::List list;  // DESIGN §3: a multi-value field is a list, [] when empty
  list.reserve(value.size());
  for (JsonView element : value.Elements()) {
    auto decoded =
        element.IsNull() ? Result<Value>(Value()) : DecodeOne(element_kind, element, where);
    if (!decoded) {
      return decoded;
    }
    list.push_back(std::move(*decoded));
  }
  return Value(std::move(list));
}

// REQUIRES: !value.IsNull(). kArray and kSprint need the field; see
// JiraFieldValue().
Result<Value> DecodeOne(Kind kind, JsonView value, const Where& where) {
  switch (kind) {
    case Kind::kName:
      return RequiredString(value, "name", where);
    case Kind::kProject:
      return DecodeProject(value, where);
    case Kind::kOption:
      return RequiredString(value, "value", where);
    case Kind::kCascade:
      return DecodeCascade(value, where);
    case Kind::kUser:
      return DecodeUser(value, where);
    case Kind::kDuration:
      return DecodeDuration(value, where);
    case Kind::kTimeTracking:
      return DecodeTimeTracking(value, where);
    case Kind::kString:
      return DecodeString(value, where);
    case Kind::kNumber:
      if (!value.IsNumber()) {
        return Bad(where, "the value is not a number");
      }
      return value.ToValue();
    case Kind::kFloat:
      if (!value.IsNumber()) {
        return Bad(where, "the value is not a number");
      }
      // A float field holding 3 arrives as an integer; keep one type per field.
      return Value(value.AsNumber());
    case Kind::kDate:
      return DecodeDate(value, where);
    case Kind::kDateTime:
      return DecodeDateTime(value, where);
    case Kind::kSprint:
      return DecodeSprint(value, where);
    case Kind::kParent:
      return RequiredString(value, "key", where);
    case Kind::kVotes:
      return DecodeCount(value, "votes", where);
    case Kind::kWatches:
      return DecodeCount(value, "watchCount", where);
    case Kind::kArray:  // an array inside an array: nothing in Jira; as it is
    case Kind::kOpaque:
      break;
  }
  return value.ToValue();
}

// The value of a field the issue does not carry or carries as null.
Value EmptyValue(Kind kind) {
  return kind == Kind::kArray || kind == Kind::kSprint ? Value(Value::List{}) : Value();
}

Result<Value> FieldValue(std::optional<JsonView> value, const JiraField& field,
                         std::string_view issue_key) {
  const Kind kind = KindOf(field);
  if (!value || value->IsNull()) {
    return EmptyValue(kind);
  }
  const Where where{issue_key, &field};
  if (kind == Kind::kSprint) {
    return DecodeList(Kind::kSprint, *value, where);
  }
  if (kind == Kind::kArray) {
    return DecodeList(KindOfType(field.items), *value, where);
  }
  return DecodeOne(kind, *value, where);
}

// --- Atlassian Document Format ---------------------------------------------

bool IsAdfBlock(std::string_view type) {
  return IsOneOf(type,
                 {"paragraph",   "heading",   "codeBlock",     "blockquote",   "bulletList",
                  "orderedList", "panel",     "table",         "rule",         "mediaSingle",
                  "mediaGroup",  "expand",    "nestedExpand",  "taskList",     "decisionList",
                  "blockCard",   "embedCard", "layoutSection", "layoutColumn", "bodiedExtension",
                  "extension"});
}

// A member of the node's attrs as text ("" when absent or not a string).
std::string_view Attr(JsonView node, std::string_view key) {
  auto attrs = node.FindNonNull("attrs");
  return attrs ? attrs->StringOr(key) : std::string_view();
}

void Join(std::string& out, std::string_view part, std::string_view separator) {
  if (part.empty()) {
    return;
  }
  if (!out.empty()) {
    out += separator;
  }
  out += part;
}

std::string Indent(std::string_view text, std::string_view indent) {
  std::string out(indent);
  for (char c : text) {
    out += c;
    if (c == '\n') {
      out += indent;
    }
  }
  return out;
}

class AdfText {
 public:
  // The text of `node` at `depth` (the doc is 1).
  Result<std::string> Node(JsonView node, int depth) {
    if (depth > kMaxAdfDepth) {
      return Fail(ErrorCode::kBadResponse,
                  "rich text nested deeper than " + std::to_string(kMaxAdfDepth) + " levels");
    }
    if (!node.IsObject()) {
      return std::string();  // not a node: no text
    }
    const std::string_view type = node.StringOr("type");
    if (type == "text") {
      return std::string(node.StringOr("text"));
    }
    if (type == "hardBreak") {
      return std::string("\n");
    }
    if (type == "mention" || type == "status") {
      return std::string(Attr(node, "text"));
    }
    if (type == "emoji") {
      std::string_view text = Attr(node, "text");
      return std::string(text.empty() ? Attr(node, "shortName") : text);
    }
    if (type == "inlineCard" || type == "blockCard" || type == "embedCard") {
      return std::string(Attr(node, "url"));
    }
    if (type == "date") {
      return DateText(Attr(node, "timestamp"));
    }
    if (type == "rule" || type == "placeholder" || type == "media" || type == "mediaInline") {
      return std::string();  // no text of the issue's own
    }
    if (type == "paragraph" || type == "heading" || type == "codeBlock") {
      return Children(node, depth, "");
    }
    if (type == "bulletList" || type == "orderedList" || type == "taskList" ||
        type == "decisionList") {
      return List(node, depth, type == "orderedList");
    }
    if (type == "table") {
      return Children(node, depth, "\n");
    }
    if (type == "tableRow") {
      return Children(node, depth, " | ");
    }
    if (type == "tableCell" || type == "tableHeader") {
      return Children(node, depth, " ");
    }
    if (type == "expand" || type == "nestedExpand") {
      auto body = Children(node, depth, "\n\n");
      if (!body) {
        return body;
      }
      std::string out(Attr(node, "title"));
      Join(out, *body, "\n\n");
      return out;
    }
    if (auto text = node.Find("text"); text && text->IsString()) {
      return std::string(text->AsString());
    }
    // doc, blockquote, panel and unknown containers: blocks apart, inline
    // content together.
    return Children(node, depth, HasBlockChild(node) ? "\n\n" : "");
  }

 private:
  static bool HasBlockChild(JsonView node) {
    auto content = node.FindNonNull("content");
    if (!content || !content->IsList()) {
      return false;
    }
    for (JsonView child : content->Elements()) {
      if (IsAdfBlock(child.StringOr("type"))) {
        return true;
      }
    }
    return false;
  }

  // The children's texts; empty ones are left out when a separator would
  // stand alone (no run of blank lines for an image or a rule).
  Result<std::string> Children(JsonView node, int depth, std::string_view separator) {
    std::string out;
    auto content = node.FindNonNull("content");
    if (!content || !content->IsList()) {
      return out;
    }
    for (JsonView child : content->Elements()) {
      auto text = Node(child, depth + 1);
      if (!text) {
        return text;
      }
      if (separator.empty()) {
        out += *text;
      } else {
        Join(out, *text, separator);
      }
    }
    return out;
  }

  // One line per item: "- item" or "3. item"; what follows an item's first
  // block (more paragraphs, a nested list) is indented under it.
  Result<std::string> List(JsonView node, int depth, bool ordered) {
    std::int64_t number = 1;
    if (ordered) {
      auto attrs = node.FindNonNull("attrs");
      auto order = attrs ? attrs->Find("order") : std::nullopt;
      std::int64_t start = 0;
      if (order && AsInteger(*order, start) && start >= 0 && start < 1'000'000'000) {
        number = start;
      }
    }
    std::string out;
    auto content = node.FindNonNull("content");
    if (!content || !content->IsList()) {
      return out;
    }
    for (JsonView item : content->Elements()) {
      if (depth + 1 > kMaxAdfDepth) {
        return Node(item, depth + 1);  // the error
      }
      std::string first;
      std::string rest;
      auto blocks = item.FindNonNull("content");
      // A task or decision item holds inline content; a list item, blocks.
      if (blocks && blocks->IsList() && HasBlockChild(item)) {
        for (JsonView block : blocks->Elements()) {
          auto text = Node(block, depth + 2);
          if (!text) {
            return text;
          }
          if (text->empty()) {
            continue;
          }
          if (first.empty() && rest.empty()) {
            first = std::move(*text);
          } else {
            Join(rest, Indent(*text, "  "), "\n");
          }
        }
      } else {
        auto text = Node(item, depth + 1);
        if (!text) {
          return text;
        }
        first = std::move(*text);
      }
      std::string line = ordered ? std::to_string(number++) + ". " : std::string("- ");
      line += first;
      if (!rest.empty()) {
        line += "\n" + rest;
      }
      Join(out, line, "\n");
    }
    return out;
  }

  // ADF dates are epoch milliseconds as text; shown as the UTC day.
  static std::string DateText(std::string_view timestamp) {
    std::int64_t ms = 0;
    auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ms);
    if (ec != std::errc() || end != timestamp.data() + timestamp.size() || !IsIsoWritable(ms)) {
      return std::string(timestamp);
    }
    return FormatIsoDate(ms);
  }
};

// The digits of a numeric issue id, sent as a string (or, leniently, a number).
std::optional<std::string> IssueId(JsonView issue) {
  auto id = issue.Find("id");
  if (!id) {
    return std::nullopt;
  }
  if (id->IsInt() && id->AsInt() >= 0) {
    return std::to_string(id->AsInt());
  }
  if (!id->IsString()) {
    return std::nullopt;
  }
  std::string_view text = id->AsString();
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::string(text);
}

// `created` and `updated`: also not before 1970, which no tracker issue is.
Result<std::int64_t> DecodeIssueTime(std::optional<JsonView> v, const Where& where,
                                     std::string_view member) {
  std::optional<std::int64_t> ms;
  if (v && v->IsString()) {
    ms = ParseJiraDateTime(v->AsString());
  }
  if (!ms) {
    return Bad(where, std::string(member) + " is not a date and time");
  }
  if (*ms < 0 || *ms > kMaxIsoMs) {
    return Bad(where, std::string(member) + " is outside the years 1970-9999");
  }
  return *ms;
}

std::string_view TrimSlashes(std::string_view base) {
  while (!base.empty() && base.back() == '/') {
    base.remove_suffix(1);
  }
  return base;
}

}  // namespace

std::optional<std::int64_t> ParseJiraDateTime(std::string_view text) {
  // ParseIsoUtc() reads a date alone as midnight UTC and a time without a
  // zone as UTC; Jira always sends both, so anything less is not Jira's.
  if (text.size() < 17 || text[10] != 'T') {
    return std::nullopt;
  }
  if (text.back() != 'Z') {
    // "+0100" or "+01:00": hours 00-23, minutes 00-59 (ParseIsoUtc() would
    // take any two digits).
    std::size_t sign = text.find_last_of("+-");
    if (sign == std::string_view::npos || sign <= 10) {
      return std::nullopt;
    }
    std::string_view digits = text.substr(sign + 1);
    const bool colon = digits.size() == 5 && digits[2] == ':';
    if (digits.size() != (colon ? 5u : 4u)) {
      return std::nullopt;
    }
    const char h1 = digits[0], h2 = digits[1];
    const char m1 = digits[colon ? 3 : 2], m2 = digits[colon ? 4 : 3];
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (!digit(h1) || !digit(h2) || !digit(m1) || !digit(m2) || (h1 - '0') * 10 + (h2 - '0') > 23 ||
        m1 > '5') {
      return std::nullopt;
    }
  }
  return ParseIsoUtc(text);
}

Result<std::string> JiraAdfToText(JsonView adf) { return AdfText().Node(adf, 1); }

Result<Value> JiraFieldValue(JsonView value, const JiraField& field, std::string_view issue_key) {
  return FieldValue(value, field, issue_key);
}

Result<Issue> DecodeJiraIssue(JsonView json, const JiraFieldSelection& selection,
                              std::string_view browse_base) {
  if (!json.IsObject()) {
    return Fail(ErrorCode::kBadResponse, "an issue in the page is not a JSON object");
  }
  Issue issue;
  auto key = json.Find("key");
  auto id = IssueId(json);
  if (!id) {
    std::string named = key && key->IsString() ? " " + std::string(key->AsString()) : "";
    return Fail(ErrorCode::kBadResponse, "issue" + named + " has no numeric id");
  }
  issue.id = std::move(*id);
  if (!key || !key->IsString() || key->AsString().empty()) {
    return Fail(ErrorCode::kBadResponse, "issue " + issue.id + " has no key");
  }
  issue.key = std::string(key->AsString());
  issue.url = std::string(TrimSlashes(browse_base)) + "/browse/" + PercentEncode(issue.key);
  const Where where{issue.key, nullptr};

  auto fields = json.FindNonNull("fields");
  if (!fields || !fields->IsObject()) {
    return Bad(where, "fields is missing or not a JSON object");
  }
  // `updated` orders the sync and is always asked for.
  auto updated = DecodeIssueTime(fields->Find("updated"), where, "updated");
  if (!updated) {
    return std::unexpected(updated.error());
  }
  issue.updated_ms = *updated;
  if (auto created = fields->FindNonNull("created")) {
    auto ms = DecodeIssueTime(created, where, "created");
    if (!ms) {
      return std::unexpected(ms.error());
    }
    issue.created_ms = *ms;
  }
  if (auto resolved = fields->FindNonNull("resolutiondate")) {
    std::optional<std::int64_t> ms;
    if (resolved->IsString()) {
      ms = ParseJiraDateTime(resolved->AsString());
    }
    if (!ms || !IsIsoWritable(*ms)) {
      return Bad(where, "resolutiondate is not a date and time within the years 0001-9999");
    }
    issue.resolved_ms = *ms;
  }

  std::vector<std::pair<std::string, Value>> members;
  for (const JiraRequestedField& requested : selection.fields) {
    if (requested.names.empty()) {
      continue;
    }
    Result<Value> value =
        requested.field.id == "issuekey"
            ? Result<Value>(Value(issue.key))  // the issue's own, not a field
            : FieldValue(fields->Find(requested.field.id), requested.field, issue.key);
    if (!value) {
      return std::unexpected(value.error());
    }
    for (std::size_t i = 0; i + 1 < requested.names.size(); ++i) {
      members.emplace_back(requested.names[i], *value);
    }
    members.emplace_back(requested.names.back(), std::move(*value));
  }
  issue.fields = Value::Object(std::make_move_iterator(members.begin()),
                               std::make_move_iterator(members.end()));
  return issue;
}

Issue UndecodedJiraIssue(JsonView json, std::string reason) {
  Issue issue;
  issue.decode_error = std::move(reason);
  issue.id = IssueId(json).value_or("");
  issue.key = std::string(json.StringOr("key"));
  auto fields = json.FindNonNull("fields");
  auto updated = fields ? fields->Find("updated") : std::nullopt;
  if (updated && updated->IsString()) {
    auto ms = ParseJiraDateTime(updated->AsString());
    if (ms && *ms >= 0 && *ms <= kMaxIsoMs) {
      issue.updated_ms = *ms;
    }
  }
  return issue;
}

Result<JiraSearchPage> DecodeJiraSearchPage(JsonView json, const JiraFieldSelection& selection,
                                            std::string_view browse_base) {
  if (!json.IsObject()) {
    return Fail(ErrorCode::kBadResponse, "the search answer is not a JSON object");
  }
  auto issues = json.Find("issues");
  if (!issues || !issues->IsList()) {
    return Fail(ErrorCode::kBadResponse, "the search answer has no issues array");
  }
  JiraSearchPage page;
  auto start_at = json.FindNonNull("startAt");
  auto total = json.FindNonNull("total");
  if (start_at || total) {
    // Data Center's offset paging.
    std::int64_t s = 0, t = 0;
    if (!start_at || !AsInteger(*start_at, s) || s < 0) {
      return Fail(ErrorCode::kBadResponse, "the search answer's startAt is not a count");
    }
    if (!total || !AsInteger(*total, t) || t < 0) {
      return Fail(ErrorCode::kBadResponse, "the search answer's total is not a count");
    }
    page.start_at = s;
    page.total = t;
    page.last = issues->size() == 0 || static_cast<std::int64_t>(issues->size()) >= t - s;
  } else {
    // Cloud's token paging.
    auto is_last = json.FindNonNull("isLast");
    if (is_last && !is_last->IsBool()) {
      return Fail(ErrorCode::kBadResponse, "the search answer's isLast is not a boolean");
    }
    auto token = json.FindNonNull("nextPageToken");
    if (token && !token->IsString()) {
      return Fail(ErrorCode::kBadResponse, "the search answer's nextPageToken is not a string");
    }
    page.next_page_token = token ? std::string(token->AsString()) : std::string();
    page.last = (is_last && is_last->AsBool()) || page.next_page_token.empty();
  }
  page.issues.reserve(issues->size());
  for (JsonView element : issues->Elements()) {
    auto issue = DecodeJiraIssue(element, selection, browse_base);
    page.issues.push_back(issue ? std::move(*issue)
                                : UndecodedJiraIssue(element, issue.error().message));
  }
  return page;
}

}  // namespace boardsync

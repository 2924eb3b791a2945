#include "tests/support/jira/jira_server.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <span>
#include <stdexcept>

#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"
#include "tests/support/jira/jira_jql.h"

namespace boardsync {
namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kDefaultPageSize = 50;
constexpr std::string_view kTokenUser = "sync.bot";

// ---- Small helpers ----

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

std::string AsciiUpper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::optional<std::int64_t> ParseInt(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

// The number after the last '-' of a key ("RAP-42" -> 42), if the key is
// PROJECT-N with a project of letters, digits and '_' starting with a letter.
std::optional<std::int64_t> KeyNumber(std::string_view key) {
  auto dash = key.rfind('-');
  if (dash == std::string_view::npos || dash == 0 ||
      !std::isalpha(static_cast<unsigned char>(key[0]))) {
    return std::nullopt;
  }
  for (char c : key.substr(0, dash)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return std::nullopt;
    }
  }
  auto n = ParseInt(key.substr(dash + 1));
  if (!n || *n <= 0) {
    return std::nullopt;
  }
  return n;
}

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string_view part =
        TrimSpace(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (!part.empty()) {
      out.emplace_back(part);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view in, bool url) {
  std::string out;
  std::size_t i = 0;
  auto sym = [&](unsigned v) {
    char c = kBase64[v & 63];
    if (url && c == '+') {
      c = '-';
    } else if (url && c == '/') {
      c = '_';
    }
    out.push_back(c);
  };
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    sym(v >> 18);
    sym(v >> 12);
    sym(v >> 6);
    sym(v);
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) {
      v |= static_cast<unsigned char>(in[i + 1]) << 8;
    }
    sym(v >> 18);
    sym(v >> 12);
    if (i + 1 < in.size()) {
      sym(v >> 6);
    } else if (!url) {
      out.push_back('=');
    }
    if (!url) {
      out.push_back('=');
    }
  }
  return out;
}

// Standard or URL-safe alphabet, padding optional; nullopt for anything else.
std::optional<std::string> Base64Decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') {
    in.remove_suffix(1);
  }
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = -1;
    if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else if (auto pos = kBase64.find(c); pos != std::string_view::npos) {
      v = static_cast<int>(pos);
    }
    if (v < 0) {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// A stable made-up id for a named thing (component, version, option...).
std::string StableId(std::string_view kind, std::string_view name) {
  return std::to_string(10000 + Fnv1a64(std::string(kind) + "/" + std::string(name)) % 90000);
}

// ---- Error bodies ----

std::string JiraErrorBody(std::vector<std::string> messages) {
  Value::List list;
  for (std::string& m : messages) {
    list.emplace_back(std::move(m));
  }
  return Value(Value::Object{{"errorMessages", Value(std::move(list))},
                             {"errors", Value(Value::Object{})}})
      .ToJson();
}

HttpServerResponse JiraError(int status, std::string message) {
  return HttpServerResponse::Json(status, JiraErrorBody({std::move(message)}));
}

constexpr std::string_view kDeadLinkPage =
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Oops, you&#39;ve "
    "found a dead link. - Jira</title></head><body><h1>Oops, you've found a dead link.</h1>"
    "</body></html>";

constexpr std::string_view kLoginPage =
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in with "
    "Atlassian account</title></head><body><form action=\"/login\" method=\"post\">"
    "<input name=\"username\"><input name=\"password\" type=\"password\">"
    "<button type=\"submit\">Continue</button></form></body></html>";

HttpServerResponse DeadLink() {
  return HttpServerResponse::Text(404, std::string(kDeadLinkPage), "text/html;charset=UTF-8");
}

// ---- Time ----

cctz::time_zone LoadZone(const std::string& name) {
  cctz::time_zone zone;
  if (!cctz::load_time_zone(name, &zone)) {
    throw std::invalid_argument("unknown time zone: " + name);
  }
  return zone;
}

std::string FormatTime(std::int64_t epoch_ms, const std::string& zone_name) {
  cctz::time_point<std::chrono::milliseconds> tp{std::chrono::milliseconds(epoch_ms)};
  return cctz::format("%Y-%m-%dT%H:%M:%E3S%z", tp, LoadZone(zone_name));
}

std::int64_t CivilToMs(const JqlDate& date, const std::string& zone_name,
                       JiraCivilReading reading) {
  cctz::civil_second civil(date.year, date.month, date.day, date.hour, date.minute, 0);
  cctz::time_zone::civil_lookup lookup = LoadZone(zone_name).lookup(civil);
  auto chosen = lookup.pre;
  if (lookup.kind != cctz::time_zone::civil_lookup::UNIQUE) {
    // SKIPPED: pre (the old offset) is the later instant; REPEATED: post is.
    chosen = reading == JiraCivilReading::kLatest ? std::max(lookup.pre, lookup.post)
                                                  : std::min(lookup.pre, lookup.post);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(chosen.time_since_epoch()).count();
}

// ---- Fields ----

struct FieldDef {
  std::string id;
  std::string name;
  bool custom = false;
  Value schema;  // null: none (issuekey)
};

Value SystemSchema(std::string_view type, std::string_view system, std::string_view items = "") {
  Value::Object o{{"type", type}, {"system", system}};
  if (!items.empty()) {
    o.emplace("items", items);
  }
  return Value(std::move(o));
}

Value CustomSchema(std::string_view type, std::string_view custom, std::int64_t custom_id,
                   std::string_view items = "") {
  Value::Object o{
      {"type", type},
      {"custom", "com.atlassian.jira.plugin.system.customfieldtypes:" + std::string(custom)},
      {"customId", custom_id}};
  if (custom == "gh-sprint") {
    o["custom"] = "com.pyxis.greenhopper.jira:gh-sprint";
  }
  if (!items.empty()) {
    o.emplace("items", items);
  }
  return Value(std::move(o));
}

std::vector<FieldDef> FieldDefs(const std::string& shared_name) {
  std::vector<FieldDef> defs = {
      {"issuekey", "Key", false, Value()},
      {"summary", "Summary", false, SystemSchema("string", "summary")},
      {"description", "Description", false, SystemSchema("string", "description")},
      {"status", "Status", false, SystemSchema("status", "status")},
      {"priority", "Priority", false, SystemSchema("priority", "priority")},
      {"issuetype", "Issue Type", false, SystemSchema("issuetype", "issuetype")},
      {"resolution", "Resolution", false, SystemSchema("resolution", "resolution")},
      {"resolutiondate", "Resolved", false, SystemSchema("datetime", "resolutiondate")},
      {"created", "Created", false, SystemSchema("datetime", "created")},
      {"updated", "Updated", false, SystemSchema("datetime", "updated")},
      {"labels", "Labels", false, SystemSchema("array", "labels", "string")},
      {"assignee", "Assignee", false, SystemSchema("user", "assignee")},
      {"reporter", "Reporter", false, SystemSchema("user", "reporter")},
      {"components", "Components", false, SystemSchema("array", "components", "component")},
      {"fixVersions", "Fix versions", false, SystemSchema("array", "fixVersions", "version")},
      {"project", "Project", false, SystemSchema("project", "project")},
      {"timeoriginalestimate", "Original estimate", false,
       SystemSchema("number", "timeoriginalestimate")},
      {"timespent", "Time Spent", false, SystemSchema("number", "timespent")},
      {"customfield_10016", "Story Points", true, CustomSchema("number", "float", 10016)},
      {"customfield_10020", "Sprint", true, CustomSchema("array", "gh-sprint", 10020, "json")},
      {"customfield_10030", "Team", true, CustomSchema("option", "select", 10030)},
      {"customfield_10031", "Platforms", true,
       CustomSchema("array", "multiselect", 10031, "option")},
      {"customfield_10050", "Acceptance Criteria", true, CustomSchema("string", "textarea", 10050)},
  };
  if (!shared_name.empty()) {
    defs.push_back(
        {"customfield_10060", shared_name, true, CustomSchema("number", "float", 10060)});
    defs.push_back(
        {"customfield_10061", shared_name, true, CustomSchema("option", "select", 10061)});
  }
  return defs;
}

Value FieldJson(const FieldDef& def) {
  Value::List clause_names;
  if (def.custom) {
    clause_names.emplace_back("cf[" + def.id.substr(std::string_view("customfield_").size()) + "]");
    clause_names.emplace_back(def.name);
  } else {
    clause_names.emplace_back(def.id);
  }
  Value::Object o{{"id", def.id},
                  {"key", def.id},
                  {"name", def.name},
                  {"custom", def.custom},
                  {"orderable", def.id != "issuekey"},
                  {"navigable", true},
                  {"searchable", true},
                  {"clauseNames", Value(std::move(clause_names))}};
  if (def.custom) {
    o.emplace("untranslatedName", def.name);
  }
  if (!def.schema.IsNull()) {
    o.emplace("schema", def.schema);
  }
  return Value(std::move(o));
}

constexpr std::string_view kCustomTypePrefix = "com.atlassian.jira.plugin.system.customfieldtypes:";

// The schema type of a custom field type the control API and POST /field
// take; nullopt for others.
std::optional<std::string_view> SchemaTypeOf(std::string_view custom_type) {
  if (custom_type == "float") {
    return "number";
  }
  if (custom_type == "textfield" || custom_type == "textarea") {
    return "string";
  }
  if (custom_type == "select") {
    return "option";
  }
  return std::nullopt;
}

// The built-in fields and the ones made since.
std::vector<FieldDef> AllFieldDefs(const std::string& shared_name,
                                   std::span<const JiraServer::CustomFieldState> made) {
  std::vector<FieldDef> defs = FieldDefs(shared_name);
  for (const JiraServer::CustomFieldState& field : made) {
    const std::int64_t number =
        ParseInt(std::string_view(field.id).substr(std::string_view("customfield_").size()))
            .value_or(0);
    defs.push_back({field.id, field.name, true,
                    CustomSchema(*SchemaTypeOf(field.custom_type), field.custom_type, number)});
  }
  return defs;
}

// "float", "textarea", "gh-sprint"...: the part of schema.custom after the
// last ':'; "" for system fields.
std::string CustomTypeOf(const FieldDef& def) {
  std::string_view custom = def.schema.IsObject() ? def.schema.StringOr("custom") : "";
  const auto colon = custom.rfind(':');
  return colon == std::string_view::npos ? "" : std::string(custom.substr(colon + 1));
}

// ---- Rich text ----

Value AdfParagraph(std::string_view text) {
  Value::List content;
  if (!text.empty()) {
    content.emplace_back(Value::Object{{"type", "text"}, {"text", text}});
  }
  return Value(Value::Object{{"type", "paragraph"}, {"content", Value(std::move(content))}});
}

// Plain text as Atlassian Document Format: a paragraph per non-empty line,
// runs of "- " lines as one bullet list.
Value AdfDocument(std::string_view text) {
  Value::List content;
  Value::List bullets;
  auto flush = [&] {
    if (!bullets.empty()) {
      content.emplace_back(
          Value::Object{{"type", "bulletList"}, {"content", Value(std::move(bullets))}});
      bullets = Value::List{};
    }
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    std::string_view line =
        text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.starts_with("- ")) {
      bullets.emplace_back(Value::Object{
          {"type", "listItem"}, {"content", Value(Value::List{AdfParagraph(line.substr(2))})}});
    } else {
      flush();
      if (!line.empty()) {
        content.push_back(AdfParagraph(line));
      }
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  flush();
  return Value(
      Value::Object{{"type", "doc"}, {"version", 1}, {"content", Value(std::move(content))}});
}

// The text of an ADF node: text nodes as they are, a hard break as a
// newline, blocks one a line (list items after "- "), so that what
// AdfDocument() wrote reads back the same.
std::string AdfText(const Value& node) {
  if (!node.IsObject()) {
    return "";
  }
  std::string_view type = node.StringOr("type");
  if (type == "text") {
    return std::string(node.StringOr("text"));
  }
  if (type == "hardBreak") {
    return "\n";
  }
  const bool blocks = type == "doc" || type == "bulletList" || type == "orderedList" ||
                      type == "listItem" || type == "blockquote";
  std::string out;
  if (const Value* content = node.Find("content"); content && content->IsList()) {
    for (const Value& child : content->AsList()) {
      std::string text = AdfText(child);
      if (child.StringOr("type") == "listItem") {
        text = "- " + text;
      }
      out += blocks && !out.empty() ? "\n" + text : text;
    }
  }
  return out;
}

// ---- Sample world ----

struct NamedId {
  std::string_view name;
  std::string_view id;
};

constexpr NamedId kPriorities[] = {
    {"Highest", "1"}, {"High", "2"}, {"Medium", "3"}, {"Low", "4"}, {"Lowest", "5"}};
constexpr NamedId kIssueTypes[] = {
    {"Epic", "10000"}, {"Task", "10001"}, {"Bug", "10002"}, {"Story", "10003"}};
constexpr NamedId kResolutions[] = {
    {"Done", "10000"}, {"Won't Do", "10001"}, {"Duplicate", "10002"}};

std::string IdOf(std::span<const NamedId> table, std::string_view kind, std::string_view name) {
  for (const NamedId& entry : table) {
    if (entry.name == name) {
      return std::string(entry.id);
    }
  }
  return StableId(kind, name);
}

// Status categories as Jira numbers them.
struct Category {
  int id;
  std::string_view key;
  std::string_view name;
  std::string_view color;
};
constexpr Category kCategories[] = {{2, "new", "To Do", "blue-gray"},
                                    {4, "indeterminate", "In Progress", "yellow"},
                                    {3, "done", "Done", "green"}};

const JiraSampleUser* FindUser(std::string_view name) {
  for (const JiraSampleUser& user : JiraSampleUsers()) {
    if (user.name == name) {
      return &user;
    }
  }
  return nullptr;
}

JiraSampleUser MadeUpUser(std::string_view name) {
  std::string hash = Fnv1a64Hex(name);
  return JiraSampleUser{std::string(name),
                        std::string(name),
                        "557058:" + hash.substr(0, 8) + "-" + hash.substr(8),
                        std::string(name),
                        std::string(name) + "@example.com",
                        true,
                        "UTC"};
}

std::uint64_t SplitMix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ---- Search conditions ----

enum class FieldKind {
  kProject,
  kId,
  kStatus,
  kResolution,
  kLabels,
  kUpdated,
  kCreated,
  kResolved
};

struct Condition {
  JqlClause::Kind kind = JqlClause::Kind::kTerm;
  std::vector<Condition> children;
  FieldKind field = FieldKind::kId;
  std::string op;
  std::set<std::string, std::less<>> strings;  // lower case
  bool empty_matches = false;                  // resolution = Unresolved
  std::set<std::int64_t> ids;
  std::int64_t number = 0;  // id or instant for comparisons
};

bool IsDateField(FieldKind field) {
  return field == FieldKind::kUpdated || field == FieldKind::kCreated ||
         field == FieldKind::kResolved;
}

bool Compare(std::string_view op, std::int64_t value, std::int64_t bound) {
  if (op == "=") {
    return value == bound;
  }
  if (op == "!=") {
    return value != bound;
  }
  if (op == "<") {
    return value < bound;
  }
  if (op == "<=") {
    return value <= bound;
  }
  if (op == ">") {
    return value > bound;
  }
  return value >= bound;  // ">="
}

bool Evaluate(const Condition& c, const JiraIssue& issue) {
  switch (c.kind) {
    case JqlClause::Kind::kAnd:
      return std::all_of(c.children.begin(), c.children.end(),
                         [&](const Condition& child) { return Evaluate(child, issue); });
    case JqlClause::Kind::kOr:
      return std::any_of(c.children.begin(), c.children.end(),
                         [&](const Condition& child) { return Evaluate(child, issue); });
    case JqlClause::Kind::kNot:
      return !Evaluate(c.children.front(), issue);
    case JqlClause::Kind::kTerm:
      break;
  }
  if (IsDateField(c.field)) {
    std::optional<std::int64_t> value = c.field == FieldKind::kUpdated   ? issue.updated_ms
                                        : c.field == FieldKind::kCreated ? issue.created_ms
                                                                         : issue.resolution_date_ms;
    if (c.op == "is") {
      return !value;
    }
    if (c.op == "is not") {
      return value.has_value();
    }
    return value && Compare(c.op, *value, c.number);
  }
  if (c.field == FieldKind::kId) {
    if (c.op == "=" || c.op == "in") {
      return c.ids.contains(issue.id);
    }
    if (c.op == "!=" || c.op == "not in") {
      return !c.ids.contains(issue.id);
    }
    return Compare(c.op, issue.id, c.number);
  }
  std::vector<std::string> values;
  switch (c.field) {
    case FieldKind::kProject:
      values.push_back(AsciiLower(issue.ProjectKey()));
      break;
    case FieldKind::kStatus:
      values.push_back(AsciiLower(issue.status));
      break;
    case FieldKind::kResolution:
      if (issue.resolution) {
        values.push_back(AsciiLower(*issue.resolution));
      }
      break;
    default:  // kLabels
      for (const std::string& label : issue.labels) {
        values.push_back(AsciiLower(label));
      }
      break;
  }
  bool hit = std::any_of(values.begin(), values.end(),
                         [&](const std::string& v) { return c.strings.contains(v); }) ||
             (values.empty() && c.empty_matches);
  if (c.op == "=" || c.op == "in") {
    return hit;
  }
  if (c.op == "!=" || c.op == "not in") {
    return !values.empty() && !hit;  // as in Jira, != never matches an empty field
  }
  if (c.op == "is") {
    return values.empty();
  }
  return !values.empty();  // "is not"
}

struct SortKey {
  enum class Field { kUpdated, kCreated, kResolved, kId, kKey, kProject } field;
  bool ascending = true;
};

// -1, 0, 1 for `a` before, with, after `b` in ascending key order
// (project, then number).
int CompareKeys(const JiraIssue& a, const JiraIssue& b) {
  std::string pa = a.ProjectKey();
  std::string pb = b.ProjectKey();
  if (pa != pb) {
    return pa < pb ? -1 : 1;
  }
  std::int64_t na = KeyNumber(a.key).value_or(0);
  std::int64_t nb = KeyNumber(b.key).value_or(0);
  return na < nb ? -1 : na > nb ? 1 : 0;
}

int CompareBy(SortKey::Field field, const JiraIssue& a, const JiraIssue& b) {
  auto three_way = [](auto x, auto y) { return x < y ? -1 : x > y ? 1 : 0; };
  switch (field) {
    case SortKey::Field::kUpdated:
      return three_way(a.updated_ms, b.updated_ms);
    case SortKey::Field::kCreated:
      return three_way(a.created_ms, b.created_ms);
    case SortKey::Field::kResolved:
      // Unresolved last when ascending.
      return three_way(a.resolution_date_ms.value_or(std::numeric_limits<std::int64_t>::max()),
                       b.resolution_date_ms.value_or(std::numeric_limits<std::int64_t>::max()));
    case SortKey::Field::kId:
      return three_way(a.id, b.id);
    case SortKey::Field::kKey:
      return CompareKeys(a, b);
    case SortKey::Field::kProject:
      return three_way(a.ProjectKey(), b.ProjectKey());
  }
  return 0;
}

// ---- Search requests ----

struct SearchInput {
  std::string jql;
  std::optional<std::int64_t> max_results;
  std::optional<std::int64_t> start_at;
  std::optional<std::string> next_page_token;
  bool fields_given = false;
  std::vector<std::string> fields;
  std::vector<std::string> expand;
  std::set<std::int64_t> reconcile;
};

// A JSON member that is a list of strings or one comma-separated string.
std::vector<std::string> StringsOf(const Value& value) {
  std::vector<std::string> out;
  if (value.IsString()) {
    return SplitComma(value.AsString());
  }
  if (value.IsList()) {
    for (const Value& item : value.AsList()) {
      if (item.IsString()) {
        for (std::string& part : SplitComma(item.AsString())) {
          out.push_back(std::move(part));
        }
      }
    }
  }
  return out;
}

Result<SearchInput> ReadSearchInput(const HttpServerRequest& request) {
  SearchInput in;
  auto bad = [](std::string message) { return Fail(ErrorCode::kBadResponse, std::move(message)); };
  if (request.method == "POST") {
    auto body = ParseJson(request.body);
    if (!body || !body->IsObject()) {
      return bad("The request body is not a valid JSON object.");
    }
    in.jql = std::string(body->StringOr("jql"));
    for (std::string_view name : {"maxResults", "startAt"}) {
      if (const Value* v = body->FindNonNull(name)) {
        if (!v->IsInt()) {
          return bad("The value '" + v->ToJson() + "' is not valid for " + std::string(name) + ".");
        }
        (name == "maxResults" ? in.max_results : in.start_at) = v->AsInt();
      }
    }
    if (const Value* token = body->FindNonNull("nextPageToken"); token && token->IsString()) {
      in.next_page_token = token->AsString();
    }
    if (const Value* fields = body->FindNonNull("fields")) {
      in.fields_given = true;
      in.fields = StringsOf(*fields);
    }
    if (const Value* expand = body->FindNonNull("expand")) {
      in.expand = StringsOf(*expand);
    }
    if (const Value* ids = body->FindNonNull("reconcileIssues"); ids && ids->IsList()) {
      for (const Value& id : ids->AsList()) {
        if (id.IsInt()) {
          in.reconcile.insert(id.AsInt());
        }
      }
    }
    return in;
  }
  in.jql = std::string(request.Param("jql").value_or(""));
  for (std::string_view name : {"maxResults", "startAt"}) {
    if (auto text = request.Param(name)) {
      auto n = ParseInt(*text);
      if (!n) {
        return bad("The value '" + std::string(*text) + "' is not valid for " + std::string(name) +
                   ".");
      }
      (name == "maxResults" ? in.max_results : in.start_at) = *n;
    }
  }
  if (auto token = request.Param("nextPageToken")) {
    in.next_page_token = std::string(*token);
  }
  for (std::string_view fields : request.Params("fields")) {
    in.fields_given = true;
    for (std::string& f : SplitComma(fields)) {
      in.fields.push_back(std::move(f));
    }
  }
  for (std::string_view expand : request.Params("expand")) {
    for (std::string& e : SplitComma(expand)) {
      in.expand.push_back(std::move(e));
    }
  }
  for (std::string_view ids : request.Params("reconcileIssues")) {
    for (const std::string& id : SplitComma(ids)) {
      if (auto n = ParseInt(id)) {
        in.reconcile.insert(*n);
      }
    }
  }
  return in;
}

// Cloud's page token: the offset of the next page and the JQL it belongs
// to, opaque to clients.
std::string MakePageToken(std::int64_t offset, std::string_view jql) {
  return Base64Encode("v1:" + std::to_string(offset) + ":" + Fnv1a64Hex(jql), /*url=*/true);
}

// The offset in `token`; nullopt when it is garbled; -1 when it was made
// for another JQL.
std::optional<std::int64_t> ReadPageToken(std::string_view token, std::string_view jql) {
  auto text = Base64Decode(token);
  if (!text || !text->starts_with("v1:")) {
    return std::nullopt;
  }
  auto colon = text->find(':', 3);
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  auto offset = ParseInt(std::string_view(*text).substr(3, colon - 3));
  if (!offset || *offset < 0) {
    return std::nullopt;
  }
  if (text->substr(colon + 1) != Fnv1a64Hex(jql)) {
    return -1;
  }
  return offset;
}

}  // namespace

// ---- Public helpers ----

const std::vector<JiraSampleUser>& JiraSampleUsers() {
  static const std::vector<JiraSampleUser> kUsers = {
      {"sync.bot", "JIRAUSER10100", "712020:4b7e1c2a-9f3d-4e5b-8a61-2c0d9e7f3a10", "Sync Bot",
       "sync.bot@example.com", true, "Europe/Berlin"},
      {"alice", "JIRAUSER10101", "5b10a2844c20165700ede21g", "Alice Adams", "alice@example.com",
       true, "America/New_York"},
      {"bob", "bob", "5b10ac8d82e05b22cc7d4ef5", "Bob Brown", "bob@example.com", false,
       "Australia/Sydney"},
      {"zoe", "JIRAUSER10103", "712020:0e8f5d31-77aa-4c2b-b1d9-5a3c6e2f9b84", "Zoë Çelik",
       "zoe@example.com", true, "Europe/Istanbul"},
  };
  return kUsers;
}

std::string JiraIssue::ProjectKey() const {
  auto dash = key.rfind('-');
  return dash == std::string::npos ? project : key.substr(0, dash);
}

// ---- Faults ----

JiraServer::Fault JiraServer::Fault::Status(int status, std::string body,
                                            std::string content_type) {
  Fault fault;
  fault.status = status;
  fault.headers.emplace_back("Content-Type", std::move(content_type));
  fault.body = std::move(body);
  return fault;
}

JiraServer::Fault JiraServer::Fault::RateLimited(int retry_after_seconds) {
  Fault fault = Status(429, JiraErrorBody({"Rate limit exceeded."}));
  fault.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  fault.headers.emplace_back("X-RateLimit-Limit", "100");
  fault.headers.emplace_back("X-RateLimit-Remaining", "0");
  fault.headers.emplace_back("RateLimit-Reason", "jira-burst-based");
  return fault;
}

JiraServer::Fault JiraServer::Fault::ServerError() {
  return Status(500, JiraErrorBody({"Internal server error"}));
}

JiraServer::Fault JiraServer::Fault::ServiceUnavailable(std::optional<int> retry_after_seconds) {
  Fault fault = Status(503,
                       "<html><head><title>503 Service Temporarily Unavailable</title></head>"
                       "<body><center><h1>503 Service Temporarily Unavailable</h1></center>"
                       "</body></html>",
                       "text/html");
  if (retry_after_seconds) {
    fault.headers.emplace_back("Retry-After", std::to_string(*retry_after_seconds));
  }
  return fault;
}

JiraServer::Fault JiraServer::Fault::HtmlLoginPage() {
  return Status(200, std::string(kLoginPage), "text/html;charset=UTF-8");
}

JiraServer::Fault JiraServer::Fault::MalformedJson() {
  return Status(200, R"({"issues":[{"id":"10001","key":"RAP-1","fields":{"summary":"Cut here",}{)");
}

JiraServer::Fault JiraServer::Fault::WrongShape() {
  return Status(200, R"({"startAt":"zero","total":-1,"issues":{"id":"10001"},"isLast":"yes"})");
}

JiraServer::Fault JiraServer::Fault::Truncated(std::size_t bytes) {
  Fault fault;
  fault.truncate_body_at = bytes;
  return fault;
}

JiraServer::Fault JiraServer::Fault::Delay(std::chrono::milliseconds delay) {
  Fault fault;
  fault.delay = delay;
  return fault;
}

JiraServer::Fault JiraServer::Fault::Hang() { return Delay(std::chrono::hours(1)); }

JiraServer::Fault JiraServer::Fault::Drop() {
  Fault fault;
  fault.drop_connection = true;
  return fault;
}

JiraServer::Fault JiraServer::Fault::On(std::string api_path) const {
  Fault fault = *this;
  fault.path = std::move(api_path);
  return fault;
}

JiraServer::Fault JiraServer::Fault::OnMethod(std::string method) const {
  Fault fault = *this;
  fault.method = std::move(method);
  return fault;
}

JiraServer::Fault JiraServer::Fault::Times(int n) const {
  Fault fault = *this;
  fault.times = n;
  return fault;
}

// ---- State ----

// One issue id: its current version and, while the index lags, the version
// search still sees.
struct JiraServer::Record {
  std::shared_ptr<const JiraIssue> current;  // null: deleted
  std::shared_ptr<const JiraIssue> indexed;  // search's view before visible_at_ms (null: none)
  std::int64_t visible_at_ms = kNever;       // from then on search sees `current`
};

struct JiraServer::Project {
  std::string key;
  std::string name;
  std::int64_t id = 0;
  std::int64_t next_number = 1;
};

struct JiraServer::Status {
  std::string name;
  std::string id;
  int category = 0;  // index into kCategories
};

struct JiraServer::SearchParams {
  bool all = false;
  std::set<std::string, std::less<>> include;
  std::set<std::string, std::less<>> exclude;
  bool names = false;  // expand=names

  static SearchParams From(const std::vector<std::string>& fields, bool fields_given,
                           bool default_all, const std::vector<std::string>& expand) {
    SearchParams params;
    params.all = !fields_given && default_all;
    for (const std::string& f : fields) {
      if (f == "*all" || f == "*navigable") {
        params.all = true;
      } else if (f.starts_with('-')) {
        params.exclude.insert(f.substr(1));
      } else {
        params.include.insert(f);
      }
    }
    params.names = std::find(expand.begin(), expand.end(), "names") != expand.end();
    return params;
  }
  bool Wants(std::string_view id) const {
    return (all || include.contains(id)) && !exclude.contains(id);
  }
  bool WantsAny() const { return all || !include.empty(); }
};

JiraServer::JiraServer(JiraServerOptions options) : options_(std::move(options)) {
  std::string& prefix = options_.path_prefix;
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.pop_back();
  }
  if (!prefix.empty() && prefix.front() != '/') {
    prefix.insert(prefix.begin(), '/');
  }
  LoadZone(options_.user_time_zone);  // throws when unknown
  if (options_.server_time_zone.empty()) {
    options_.server_time_zone = options_.user_time_zone;
  }
  LoadZone(options_.server_time_zone);
  frozen_now_ = options_.now_ms;
  cloud_ = options_.flavor == JiraFlavor::kCloud;
  token_ = cloud_ ? options_.api_token : options_.personal_access_token;
  email_ = options_.email;
  for (const auto& [key, name] : {std::pair{"RAP", "Roadmap App"},
                                  std::pair{"SRV", "Server Platform"}, std::pair{"DOC", "Docs"}}) {
    ProjectLocked(key).name = name;
  }
  for (const auto& [name, category] :
       {std::pair{"To Do", 0}, std::pair{"In Progress", 1}, std::pair{"In Review", 1},
        std::pair{"Done", 2}, std::pair{"Won't Do", 2}}) {
    StatusLocked(name).category = category;
  }
  for (const NamedId& r : kResolutions) {
    resolutions_.emplace_back(r.name);
  }
  server_ = std::make_unique<HttpServer>(
      [this](const HttpServerRequest& request) { return Handle(request); }, options_.port);
}

JiraServer::~JiraServer() { server_->Stop(); }

std::string JiraServer::base_url() const { return server_->base_url() + options_.path_prefix; }

std::string JiraServer::AuthorizationHeader() const {
  std::lock_guard lock(mu_);
  if (cloud_) {
    return "Basic " + Base64Encode(email_ + ":" + token_, /*url=*/false);
  }
  return "Bearer " + token_;
}

JiraServer::Project& JiraServer::ProjectLocked(std::string_view key) {
  for (Project& p : projects_) {
    if (EqualsIgnoreCase(p.key, key)) {
      return p;
    }
  }
  Project p;
  p.key = AsciiUpper(key);
  p.name = p.key;
  p.id = 10000 + static_cast<std::int64_t>(projects_.size());
  projects_.push_back(std::move(p));
  return projects_.back();
}

JiraServer::Status& JiraServer::StatusLocked(std::string_view name) {
  for (Status& s : statuses_) {
    if (EqualsIgnoreCase(s.name, name)) {
      return s;
    }
  }
  Status s{std::string(name), std::to_string(10000 + statuses_.size()), 1};
  statuses_.push_back(std::move(s));
  return statuses_.back();
}

std::int64_t JiraServer::NowLocked() const {
  return frozen_now_ ? *frozen_now_ : boardsync::NowMs();
}

// ---- Issues ----

Result<std::string> JiraServer::AddLocked(JiraIssue issue) {
  std::optional<std::int64_t> number;
  if (!issue.key.empty()) {
    issue.key = AsciiUpper(issue.key);
    number = KeyNumber(issue.key);
    if (!number) {
      return Fail(ErrorCode::kConfig, "issue key " + issue.key + " is not like RAP-42");
    }
    if (keys_.contains(issue.key)) {
      return Fail(ErrorCode::kConfig, "duplicate issue key " + issue.key);
    }
  }
  if (issue.id == 0) {
    issue.id = next_id_;
  }
  if (auto it = records_.find(issue.id); it != records_.end() && it->second.current) {
    return Fail(ErrorCode::kConfig, "duplicate issue id " + std::to_string(issue.id));
  }
  next_id_ = std::max(next_id_, issue.id + 1);
  if (number) {
    Project& project = ProjectLocked(issue.ProjectKey());
    project.next_number = std::max(project.next_number, *number + 1);
  } else {
    Project& project = ProjectLocked(issue.project);
    issue.key = project.key + "-" + std::to_string(project.next_number++);
  }
  issue.project = issue.ProjectKey();
  std::int64_t now = NowLocked();
  if (issue.created_ms == 0) {
    issue.created_ms = now;
  }
  if (issue.updated_ms == 0) {
    issue.updated_ms = issue.created_ms;
  }
  StatusLocked(issue.status);
  if (issue.resolution && std::find(resolutions_.begin(), resolutions_.end(), *issue.resolution) ==
                              resolutions_.end()) {
    resolutions_.push_back(*issue.resolution);
  }
  keys_[issue.key] = issue.id;
  std::string key = issue.key;
  Record& record = records_[issue.id];
  CommitLocked(record, std::make_shared<const JiraIssue>(std::move(issue)));
  return key;
}

void JiraServer::CommitLocked(Record& record, std::shared_ptr<const JiraIssue> version) {
  std::int64_t now = NowLocked();
  if (index_lag_ms_ > 0) {
    if (now >= record.visible_at_ms) {
      record.indexed = record.current;  // the index had caught up with it
    }
    record.visible_at_ms = now + index_lag_ms_;
  } else {
    record.indexed = nullptr;
    record.visible_at_ms = kNever;
  }
  record.current = std::move(version);
}

std::optional<std::int64_t> JiraServer::FindLocked(std::string_view id_or_key) const {
  std::optional<std::int64_t> id = ParseInt(id_or_key);
  if (!id) {
    auto it = keys_.find(AsciiUpper(id_or_key));
    if (it == keys_.end()) {
      return std::nullopt;
    }
    id = it->second;
  }
  auto it = records_.find(*id);
  if (it == records_.end() || !it->second.current) {
    return std::nullopt;
  }
  return id;
}

void JiraServer::GenerateIssues(std::size_t count, std::uint64_t seed) {
  static constexpr std::string_view kProjects[] = {"RAP", "SRV", "DOC"};
  static constexpr std::string_view kStatuses[] = {"To Do", "To Do", "In Progress", "In Review",
                                                   "Done",  "Done",  "Won't Do"};
  static constexpr std::string_view kLabels[] = {"backend", "frontend", "ux", "tech-debt",
                                                 "customer"};
  static constexpr std::string_view kUsers[] = {"sync.bot", "alice", "bob", "zoe"};
  static constexpr std::string_view kComponents[] = {"API", "Web", "Mobile"};
  static constexpr std::string_view kVersions[] = {"1.0", "1.1", "2.0"};
  static constexpr std::string_view kTeams[] = {"Alpha", "Beta", "Gamma"};
  static constexpr std::string_view kPlatforms[] = {"iOS", "Android", "Web"};
  static constexpr double kPoints[] = {1, 2, 3, 5, 8, 13};
  constexpr std::int64_t kStart = 1704067200000;  // 2024-01-01T00:00:00Z

  std::lock_guard lock(mu_);
  std::int64_t previous_updated = kStart;
  for (std::size_t i = 0; i < count; ++i) {
    auto random = [&](std::uint64_t salt) { return SplitMix(seed * 1000003 + i * 7919 + salt); };
    auto pick = [&](auto& table, std::uint64_t salt) -> const auto& {
      return table[random(salt) % std::size(table)];
    };
    JiraIssue issue;
    issue.project = std::string(pick(kProjects, 1));
    issue.updated_ms = kStart + static_cast<std::int64_t>(i) * 300000 +
                       static_cast<std::int64_t>(random(2) % 240000);
    if (i > 0 && random(3) % 20 == 0) {
      issue.updated_ms = previous_updated;  // a bulk change: the same instant
    }
    issue.updated_ms = std::max(issue.updated_ms, previous_updated);
    previous_updated = issue.updated_ms;
    issue.created_ms = issue.updated_ms - static_cast<std::int64_t>(random(4) % (20LL * 86400000));
    issue.summary =
        "Generated issue " + std::to_string(i + 1) + " (seed " + std::to_string(seed) + ")";
    if (random(5) % 3 != 0) {
      issue.description = "Why: item " + std::to_string(i + 1) + "\n- first point\n- second point";
    }
    issue.status = std::string(pick(kStatuses, 6));
    if (issue.status == "Done" || issue.status == "Won't Do") {
      issue.resolution = issue.status;
      issue.resolution_date_ms = issue.updated_ms;
    }
    issue.priority = std::string(kPriorities[random(7) % std::size(kPriorities)].name);
    issue.issue_type = std::string(kIssueTypes[random(8) % std::size(kIssueTypes)].name);
    for (std::size_t l = 0; l < std::size(kLabels); ++l) {
      if (random(10 + l) % 4 == 0) {
        issue.labels.emplace_back(kLabels[l]);
      }
    }
    if (random(20) % 4 != 0) {
      issue.assignee = std::string(pick(kUsers, 21));
    }
    issue.reporter = std::string(pick(kUsers, 22));
    if (random(23) % 2 == 0) {
      issue.components.emplace_back(pick(kComponents, 24));
    }
    if (random(25) % 3 == 0) {
      issue.fix_versions.emplace_back(pick(kVersions, 26));
    }
    if (random(27) % 3 != 0) {
      issue.original_estimate_seconds = static_cast<std::int64_t>(1 + random(28) % 16) * 3600;
    }
    if (random(29) % 4 == 0) {
      issue.time_spent_seconds = static_cast<std::int64_t>(1 + random(30) % 8) * 1800;
    }
    if (random(31) % 4 != 0) {
      issue.story_points = pick(kPoints, 32);
    }
    if (random(33) % 2 == 0) {
      issue.sprints.push_back(issue.project + " Sprint " + std::to_string(1 + random(34) % 5));
    }
    if (random(35) % 3 != 0) {
      issue.team = std::string(pick(kTeams, 36));
    }
    for (std::size_t p = 0; p < std::size(kPlatforms); ++p) {
      if (random(40 + p) % 3 == 0) {
        issue.platforms.emplace_back(kPlatforms[p]);
      }
    }
    if (random(50) % 4 == 0) {
      issue.acceptance_criteria = "Given a user\nWhen they act\nThen it works";
    }
    if (!options_.shared_field_name.empty()) {
      if (random(51) % 2 == 0) {
        issue.shared_number = static_cast<double>(random(52) % 10);
      }
      if (random(53) % 2 == 0) {
        issue.shared_option = std::string(pick(kTeams, 54));
      }
    }
    (void)AddLocked(std::move(issue));  // fresh ids and keys: cannot clash
  }
}

Result<std::string> JiraServer::AddIssue(JiraIssue issue) {
  std::lock_guard lock(mu_);
  return AddLocked(std::move(issue));
}

bool JiraServer::ChangeLocked(std::string_view id_or_key,
                              const std::function<void(JiraIssue&)>& change, bool stamp) {
  auto id = FindLocked(id_or_key);
  if (!id) {
    return false;
  }
  Record& record = records_[*id];
  const JiraIssue& before = *record.current;
  JiraIssue next = before;
  change(next);
  next.id = before.id;
  next.key = before.key;
  next.project = before.project;
  if (stamp && next.updated_ms == before.updated_ms) {
    next.updated_ms = NowLocked();
  }
  StatusLocked(next.status);
  if (next.resolution &&
      std::find(resolutions_.begin(), resolutions_.end(), *next.resolution) == resolutions_.end()) {
    resolutions_.push_back(*next.resolution);
  }
  CommitLocked(record, std::make_shared<const JiraIssue>(std::move(next)));
  return true;
}

bool JiraServer::UpdateIssue(std::string_view id_or_key,
                             const std::function<void(JiraIssue&)>& change) {
  std::lock_guard lock(mu_);
  return ChangeLocked(id_or_key, change, /*stamp=*/true);
}

bool JiraServer::EditIssueInPlace(std::string_view id_or_key,
                                  const std::function<void(JiraIssue&)>& change) {
  std::lock_guard lock(mu_);
  return ChangeLocked(id_or_key, change, /*stamp=*/false);
}

bool JiraServer::DeleteIssue(std::string_view id_or_key) {
  std::lock_guard lock(mu_);
  auto id = FindLocked(id_or_key);
  if (!id) {
    return false;
  }
  std::erase_if(keys_, [&](const auto& entry) { return entry.second == *id; });
  Record& record = records_[*id];
  CommitLocked(record, nullptr);
  if (!record.indexed) {
    records_.erase(*id);
  }
  return true;
}

std::optional<std::string> JiraServer::MoveIssue(std::string_view id_or_key,
                                                 std::string_view project_key) {
  std::lock_guard lock(mu_);
  auto id = FindLocked(id_or_key);
  if (!id) {
    return std::nullopt;
  }
  Record& record = records_[*id];
  JiraIssue next = *record.current;
  Project& project = ProjectLocked(project_key);
  next.key = project.key + "-" + std::to_string(project.next_number++);
  next.project = project.key;
  next.updated_ms = NowLocked();
  keys_[next.key] = next.id;  // the old key stays and still finds the issue
  std::string key = next.key;
  CommitLocked(record, std::make_shared<const JiraIssue>(std::move(next)));
  return key;
}

std::optional<JiraIssue> JiraServer::GetIssue(std::string_view id_or_key) const {
  std::lock_guard lock(mu_);
  auto id = FindLocked(id_or_key);
  if (!id) {
    return std::nullopt;
  }
  return *records_.at(*id).current;
}

std::vector<JiraIssue> JiraServer::Issues() const {
  std::lock_guard lock(mu_);
  std::vector<JiraIssue> out;
  for (const auto& [id, record] : records_) {
    if (record.current) {
      out.push_back(*record.current);
    }
  }
  return out;
}

std::size_t JiraServer::issue_count() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(std::count_if(
      records_.begin(), records_.end(), [](const auto& entry) { return entry.second.current; }));
}

void JiraServer::ClearIssues() {
  std::lock_guard lock(mu_);
  records_.clear();
  keys_.clear();
}

void JiraServer::AddProject(std::string key, std::string name) {
  std::lock_guard lock(mu_);
  Project& project = ProjectLocked(key);
  if (!name.empty()) {
    project.name = std::move(name);
  }
}

// ---- Clock, zones, search behaviour, authentication ----

std::int64_t JiraServer::NowMs() const {
  std::lock_guard lock(mu_);
  return NowLocked();
}

void JiraServer::SetNow(std::int64_t epoch_ms) {
  std::lock_guard lock(mu_);
  frozen_now_ = epoch_ms;
}

void JiraServer::AdvanceClock(std::chrono::milliseconds by) {
  std::lock_guard lock(mu_);
  frozen_now_ = NowLocked() + by.count();
}

void JiraServer::SetUserTimeZone(std::string zone) {
  LoadZone(zone);  // throws when unknown
  std::lock_guard lock(mu_);
  options_.user_time_zone = std::move(zone);
}

void JiraServer::SetCivilReading(JiraCivilReading reading) {
  std::lock_guard lock(mu_);
  options_.civil_reading = reading;
}

std::optional<std::int64_t> JiraServer::ReadDateLocked(std::string_view literal) const {
  auto date = ParseJqlDate(literal);
  if (!date) {
    return std::nullopt;
  }
  if (date->relative_ms) {
    return NowLocked() + *date->relative_ms;
  }
  return CivilToMs(*date, options_.user_time_zone, options_.civil_reading);
}

std::optional<std::int64_t> JiraServer::ReadJqlDate(std::string_view literal) const {
  std::lock_guard lock(mu_);
  return ReadDateLocked(literal);
}

std::string JiraServer::FormatJiraTime(std::int64_t epoch_ms) const {
  return FormatTime(epoch_ms, options_.server_time_zone);  // fixed at construction
}

void JiraServer::SetIndexLag(std::chrono::milliseconds lag) {
  std::lock_guard lock(mu_);
  index_lag_ms_ = std::max<std::int64_t>(0, lag.count());
}

void JiraServer::FlushIndex() {
  std::lock_guard lock(mu_);
  for (auto it = records_.begin(); it != records_.end();) {
    it->second.indexed = nullptr;
    it->second.visible_at_ms = kNever;
    it = it->second.current ? std::next(it) : records_.erase(it);
  }
}

void JiraServer::SetMaxResultsCap(int cap) {
  std::lock_guard lock(mu_);
  options_.max_results_cap = cap;
}

void JiraServer::SetSearchForbidden(bool forbidden) {
  std::lock_guard lock(mu_);
  search_forbidden_ = forbidden;
}

void JiraServer::SetToken(std::string token) {
  std::lock_guard lock(mu_);
  token_ = std::move(token);
  revoked_ = false;
}

void JiraServer::SetEmail(std::string email) {
  std::lock_guard lock(mu_);
  email_ = std::move(email);
}

void JiraServer::RevokeToken() {
  std::lock_guard lock(mu_);
  revoked_ = true;
}

// ---- Faults and the log ----

void JiraServer::InjectFault(Fault fault) {
  std::lock_guard lock(mu_);
  if (fault.times > 0) {
    faults_.push_back(std::move(fault));
  }
}

void JiraServer::ClearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

std::size_t JiraServer::pending_faults() const {
  std::lock_guard lock(mu_);
  return faults_.size();
}

std::uint64_t JiraServer::total_requests() const {
  std::lock_guard lock(mu_);
  return total_requests_;
}

std::size_t JiraServer::RequestCount(std::string_view api_path) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(api_path);
  return it == counts_.end() ? 0 : it->second;
}

std::size_t JiraServer::search_requests() const {
  std::lock_guard lock(mu_);
  return search_requests_;
}

std::vector<JiraServer::RecordedRequest> JiraServer::requests() const {
  std::lock_guard lock(mu_);
  return log_;
}

std::optional<JiraServer::RecordedRequest> JiraServer::LastRequest(
    std::string_view api_path) const {
  std::lock_guard lock(mu_);
  for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
    if (api_path.empty() || it->api_path == api_path) {
      return *it;
    }
  }
  return std::nullopt;
}

std::string JiraServer::LastJql() const {
  std::lock_guard lock(mu_);
  return all_jql_.empty() ? "" : all_jql_.back();
}

std::vector<std::string> JiraServer::AllJql() const {
  std::lock_guard lock(mu_);
  return all_jql_;
}

void JiraServer::ClearRequests() {
  std::lock_guard lock(mu_);
  log_.clear();
  counts_.clear();
  all_jql_.clear();
  search_requests_ = 0;
  total_requests_ = 0;
}

void JiraServer::OnSearchRequest(std::function<void(std::size_t n)> hook) {
  std::lock_guard lock(mu_);
  search_hook_ = std::move(hook);
}

// ---- Serving ----

bool JiraServer::IsSearchPath(std::string_view api_path) const {
  if (cloud_) {
    return api_path == "/rest/api/3/search/jql" || api_path == "/rest/api/2/search/jql";
  }
  return api_path == "/rest/api/2/search";
}

HttpServerResponse JiraServer::Handle(const HttpServerRequest& request) {
  const std::string& prefix = options_.path_prefix;
  std::string_view path = request.path;
  bool under_prefix =
      path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
  std::string api_path(under_prefix ? path.substr(prefix.size()) : path);
  bool search = under_prefix && IsSearchPath(api_path);
  std::string jql;
  if (search) {
    if (auto input = ReadSearchInput(request)) {
      jql = input->jql;
    }
  }

  std::optional<Fault> fault;
  std::function<void(std::size_t)> hook;
  std::size_t search_number = 0;
  {
    std::lock_guard lock(mu_);
    ++total_requests_;
    ++counts_[api_path];
    if (search) {
      search_number = ++search_requests_;
      all_jql_.push_back(jql);
      hook = search_hook_;
    }
    auto matches = [&](const Fault& f) {
      if (!f.method.empty() && f.method != request.method) {
        return false;
      }
      if (f.path.empty()) {
        return search;
      }
      return f.path == "*" || api_path == f.path ||
             (api_path.starts_with(f.path) && api_path[f.path.size()] == '/');
    };
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (matches(*it)) {
        fault = *it;
        if (--it->times <= 0) {
          faults_.erase(it);
        }
        break;
      }
    }
  }

  // Outside the lock: the hook changes issues through the public members.
  if (hook) {
    hook(search_number);
  }

  HttpServerResponse response;
  if (fault && fault->status) {
    response.status = *fault->status;
    response.headers = fault->headers;
    response.body = fault->body;
  } else if (!under_prefix || !api_path.starts_with("/rest/")) {
    response = DeadLink();
  } else {
    response = Serve(request, api_path);
  }
  if (fault) {
    response.delay = fault->delay;
    response.drop_connection = fault->drop_connection;
    response.truncate_body_at = fault->truncate_body_at;
  }

  std::lock_guard lock(mu_);
  log_.push_back(RecordedRequest{
      request, api_path, jql, response.drop_connection ? 0 : response.status, fault.has_value()});
  return response;
}

std::optional<HttpServerResponse> JiraServer::CheckAuth(const HttpServerRequest& request) const {
  auto header = request.Header("authorization");
  std::string_view value = header.value_or("");
  auto space = value.find(' ');
  std::string scheme = AsciiLower(value.substr(0, space));
  std::string_view credentials =
      space == std::string_view::npos ? std::string_view() : TrimSpace(value.substr(space + 1));
  std::lock_guard lock(mu_);
  if (cloud_) {
    if (!revoked_ && scheme == "basic") {
      auto decoded = Base64Decode(credentials);
      auto colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon != std::string::npos && EqualsIgnoreCase(decoded->substr(0, colon), email_) &&
          decoded->substr(colon + 1) == token_) {
        return std::nullopt;
      }
    }
    // What Atlassian's edge answers for a token it does not take.
    return HttpServerResponse::Json(
        401,
        R"({"message":"Client must be authenticated to access this resource.","status-code":401})");
  }
  if (!revoked_ && scheme == "bearer" && credentials == token_) {
    return std::nullopt;
  }
  HttpServerResponse response = JiraError(
      401, "You are not authenticated. Authentication required to perform this operation.");
  if (header) {
    response.headers.emplace_back("X-Seraph-LoginReason", "AUTHENTICATED_FAILED");
  }
  response.headers.emplace_back("WWW-Authenticate", "OAuth realm=\"" + base_url() + "\"");
  return response;
}

HttpServerResponse JiraServer::Serve(const HttpServerRequest& request, std::string_view api_path) {
  if (auto refused = CheckAuth(request)) {
    return *refused;
  }
  auto not_found = [&] {
    return JiraError(404, "null for uri: " + base_url() + std::string(api_path));
  };
  int version = 0;
  if (api_path.starts_with("/rest/api/2/")) {
    version = 2;
  } else if (api_path.starts_with("/rest/api/3/") && cloud_) {
    version = 3;
  } else {
    return not_found();
  }
  std::string_view rest = api_path.substr(std::string_view("/rest/api/2").size());
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  auto method_not_allowed = [] { return HttpServerResponse::Json(405, ""); };

  if (rest == "/myself") {
    return get ? ServeMyself(version) : method_not_allowed();
  }
  if (rest == "/field") {
    return get ? ServeFields() : post ? ServeCreateField(request) : method_not_allowed();
  }
  if (rest.starts_with("/field/") && rest.ends_with("/context") && cloud_) {
    std::string_view id = rest.substr(7, rest.size() - 7 - std::string_view("/context").size());
    if (id.find('/') == std::string_view::npos) {
      return get || post ? ServeContexts(request, id) : method_not_allowed();
    }
  }
  if (rest.starts_with("/screens/addToDefault/") &&
      rest.find('/', std::string_view("/screens/addToDefault/").size()) == std::string_view::npos) {
    return post ? ServeAddToDefault(rest.substr(std::string_view("/screens/addToDefault/").size()))
                : method_not_allowed();
  }
  if (cloud_ && rest == "/search/jql") {
    return get || post ? ServeSearch(request, version, true) : method_not_allowed();
  }
  if (cloud_ && rest == "/search/approximate-count") {
    return post ? ServeCount(request) : method_not_allowed();
  }
  if (rest == "/search") {
    if (cloud_) {
      // Removed in 2025 (CHANGE-2046); the body is the one seen live.
      return HttpServerResponse::Json(
          410,
          Value(Value::Object{
                    {"errorMessages",
                     Value(Value::List{Value(
                         "The requested API has been removed. Please migrate to the "
                         "/rest/api/3/search/jql API. A full migration guideline is available at "
                         "https://developer.atlassian.com/changelog/#CHANGE-2046")})}})
              .ToJson());
    }
    return get || post ? ServeSearch(request, version, false) : method_not_allowed();
  }
  if ((cloud_ && rest == "/project/search") || (!cloud_ && rest == "/project")) {
    return get ? ServeProjects(request, version) : method_not_allowed();
  }
  if (rest.starts_with("/issue/") && rest.find('/', 7) == std::string_view::npos &&
      rest.size() > 7) {
    return get                       ? ServeIssue(request, version, rest.substr(7))
           : request.method == "PUT" ? ServeEdit(request, version, rest.substr(7))
                                     : method_not_allowed();
  }
  return not_found();
}

HttpServerResponse JiraServer::ServeMyself(int version) const {
  const JiraSampleUser& me = *FindUser(kTokenUser);
  std::string base = base_url() + "/rest/api/" + std::to_string(version);
  std::lock_guard lock(mu_);
  Value::Object o{
      {"displayName", me.display_name},
      {"active", true},
      {"timeZone", options_.user_time_zone},
      {"locale", "en_US"},
      {"avatarUrls",
       Value(Value::Object{{"48x48", "https://avatars.example.com/sync.bot/48.png"},
                           {"24x24", "https://avatars.example.com/sync.bot/24.png"}})},
      {"groups", Value(Value::Object{{"size", 3}, {"items", Value(Value::List{})}})},
      {"applicationRoles", Value(Value::Object{{"size", 1}, {"items", Value(Value::List{})}})},
      {"expand", "groups,applicationRoles"}};
  if (cloud_) {
    o.emplace("self", base + "/user?accountId=" + me.account_id);
    o.emplace("accountId", me.account_id);
    o.emplace("accountType", "atlassian");
    o.emplace("emailAddress", email_);
  } else {
    o.emplace("self", base + "/user?username=" + me.name);
    o.emplace("key", me.key);
    o.emplace("name", me.name);
    o.emplace("emailAddress", me.email);
    o.emplace("deleted", false);
  }
  return HttpServerResponse::Json(200, Value(std::move(o)).ToJson());
}

HttpServerResponse JiraServer::ServeFields() const {
  Value::List list;
  std::lock_guard lock(mu_);
  for (const FieldDef& def : AllFieldDefs(options_.shared_field_name, custom_fields_)) {
    list.push_back(FieldJson(def));
  }
  return HttpServerResponse::Json(200, Value(std::move(list)).ToJson());
}

HttpServerResponse JiraServer::ServeProjects(const HttpServerRequest& request, int version) const {
  std::string base = base_url() + "/rest/api/" + std::to_string(version);
  std::lock_guard lock(mu_);
  auto project_json = [&](const Project& p) {
    Value::Object o{{"self", base + "/project/" + std::to_string(p.id)},
                    {"id", std::to_string(p.id)},
                    {"key", p.key},
                    {"name", p.name},
                    {"projectTypeKey", "software"},
                    {"expand", "description,lead,issueTypes,url,projectKeys,permissions,insight"}};
    if (cloud_) {
      o.emplace("simplified", false);
      o.emplace("style", "classic");
      o.emplace("isPrivate", false);
    }
    return Value(std::move(o));
  };
  if (!cloud_) {
    Value::List list;
    for (const Project& p : projects_) {
      list.push_back(project_json(p));
    }
    return HttpServerResponse::Json(200, Value(std::move(list)).ToJson());
  }
  auto total = static_cast<std::int64_t>(projects_.size());
  std::int64_t start =
      std::max<std::int64_t>(0, ParseInt(request.Param("startAt").value_or("0")).value_or(0));
  std::int64_t max = ParseInt(request.Param("maxResults").value_or("50")).value_or(50);
  max = std::clamp<std::int64_t>(max, 1, 100);
  Value::List values;
  for (std::int64_t i = start; i < total && i < start + max; ++i) {
    values.push_back(project_json(projects_[static_cast<std::size_t>(i)]));
  }
  bool last = start + max >= total;
  Value::Object o{{"self", base + "/project/search?startAt=" + std::to_string(start) +
                               "&maxResults=" + std::to_string(max)},
                  {"startAt", start},
                  {"maxResults", max},
                  {"total", total},
                  {"isLast", last},
                  {"values", Value(std::move(values))}};
  if (!last) {
    o.emplace("nextPage", base + "/project/search?startAt=" + std::to_string(start + max) +
                              "&maxResults=" + std::to_string(max));
  }
  return HttpServerResponse::Json(200, Value(std::move(o)).ToJson());
}

Value JiraServer::RenderIssueLocked(const JiraIssue& issue, int version, const SearchParams& params,
                                    Value::Object* names) const {
  const std::string base = base_url();
  const std::string api = base + "/rest/api/" + std::to_string(version);
  const bool adf = cloud_ && version == 3;
  auto time = [&](std::int64_t ms) { return Value(FormatTime(ms, options_.server_time_zone)); };
  auto rich = [&](const std::optional<std::string>& text) {
    if (!text) {
      return Value();
    }
    return adf ? AdfDocument(*text) : Value(*text);
  };
  auto user = [&](const std::optional<std::string>& name) {
    if (!name) {
      return Value();
    }
    const JiraSampleUser* known = FindUser(*name);
    JiraSampleUser u = known ? *known : MadeUpUser(*name);
    Value::Object o{
        {"displayName", u.display_name},
        {"active", true},
        {"timeZone", u.time_zone},
        {"avatarUrls",
         Value(Value::Object{{"48x48", "https://avatars.example.com/" + u.name + "/48.png"},
                             {"24x24", "https://avatars.example.com/" + u.name + "/24.png"}})}};
    if (cloud_) {
      o.emplace("self", api + "/user?accountId=" + u.account_id);
      o.emplace("accountId", u.account_id);
      o.emplace("accountType", "atlassian");
      if (u.email_visible) {
        o.emplace("emailAddress", u.email);
      }
    } else {
      o.emplace("self", api + "/user?username=" + u.name);
      o.emplace("name", u.name);
      o.emplace("key", u.key);
      o.emplace("emailAddress", u.email);
    }
    return Value(std::move(o));
  };
  auto named = [&](std::string_view kind, const std::vector<std::string>& names_list,
                   bool version_like) {
    Value::List list;
    for (const std::string& name : names_list) {
      std::string id = StableId(kind, name);
      Value::Object o{
          {"self", api + "/" + std::string(kind) + "/" + id}, {"id", id}, {"name", name}};
      if (version_like) {
        o.emplace("archived", false);
        o.emplace("released", false);
        o.emplace("description", "");
      }
      list.emplace_back(std::move(o));
    }
    return Value(std::move(list));
  };
  auto option = [&](std::string_view field, const std::string& value) {
    std::string id = StableId(field, value);
    return Value(
        Value::Object{{"self", api + "/customFieldOption/" + id}, {"value", value}, {"id", id}});
  };
  auto nullable_number = [](const auto& n) { return n ? Value(*n) : Value(); };

  Value::Object fields;
  fields.emplace("summary", issue.summary);
  fields.emplace("description", rich(issue.description));
  const Status* status = nullptr;
  for (const Status& s : statuses_) {
    if (EqualsIgnoreCase(s.name, issue.status)) {
      status = &s;
    }
  }
  const Category& category = kCategories[status ? status->category : 1];
  std::string status_id = status ? status->id : StableId("status", issue.status);
  fields.emplace(
      "status",
      Value(Value::Object{
          {"self", api + "/status/" + status_id},
          {"description", ""},
          {"iconUrl", base + "/images/icons/statuses/generic.png"},
          {"name", issue.status},
          {"id", status_id},
          {"statusCategory",
           Value(Value::Object{{"self", api + "/statuscategory/" + std::to_string(category.id)},
                               {"id", category.id},
                               {"key", category.key},
                               {"colorName", category.color},
                               {"name", category.name}})}}));
  std::string priority_id = IdOf(kPriorities, "priority", issue.priority);
  fields.emplace("priority",
                 Value(Value::Object{{"self", api + "/priority/" + priority_id},
                                     {"iconUrl", base + "/images/icons/priorities/medium.svg"},
                                     {"name", issue.priority},
                                     {"id", priority_id}}));
  std::string type_id = IdOf(kIssueTypes, "issuetype", issue.issue_type);
  fields.emplace("issuetype", Value(Value::Object{{"self", api + "/issuetype/" + type_id},
                                                  {"id", type_id},
                                                  {"description", ""},
                                                  {"name", issue.issue_type},
                                                  {"subtask", false},
                                                  {"hierarchyLevel", 0}}));
  if (issue.resolution) {
    std::string id = IdOf(kResolutions, "resolution", *issue.resolution);
    fields.emplace("resolution", Value(Value::Object{{"self", api + "/resolution/" + id},
                                                     {"id", id},
                                                     {"description", ""},
                                                     {"name", *issue.resolution}}));
  } else {
    fields.emplace("resolution", Value());
  }
  fields.emplace("resolutiondate",
                 issue.resolution_date_ms ? time(*issue.resolution_date_ms) : Value());
  fields.emplace("created", time(issue.created_ms));
  fields.emplace("updated", time(issue.updated_ms));
  Value::List labels;
  for (const std::string& label : issue.labels) {
    labels.emplace_back(label);
  }
  fields.emplace("labels", Value(std::move(labels)));
  fields.emplace("assignee", user(issue.assignee));
  fields.emplace("reporter", user(issue.reporter));
  fields.emplace("components", named("component", issue.components, false));
  fields.emplace("fixVersions", named("version", issue.fix_versions, true));
  for (const Project& p : projects_) {
    if (p.key == issue.ProjectKey()) {
      fields.emplace("project",
                     Value(Value::Object{{"self", api + "/project/" + std::to_string(p.id)},
                                         {"id", std::to_string(p.id)},
                                         {"key", p.key},
                                         {"name", p.name},
                                         {"projectTypeKey", "software"}}));
    }
  }
  fields.emplace("timeoriginalestimate", nullable_number(issue.original_estimate_seconds));
  fields.emplace("timespent", nullable_number(issue.time_spent_seconds));
  fields.emplace("customfield_10016", nullable_number(issue.story_points));
  if (issue.sprints.empty()) {
    fields.emplace("customfield_10020", Value());
  } else {
    Value::List sprints;
    for (std::size_t i = 0; i < issue.sprints.size(); ++i) {
      const std::string& name = issue.sprints[i];
      auto id = 1 + static_cast<std::int64_t>(Fnv1a64(name) % 999);
      // The last sprint is the one the issue is in now; earlier ones closed.
      std::string state = i + 1 == issue.sprints.size() ? "active" : "closed";
      if (!cloud_ && options_.legacy_sprint_strings) {
        std::string upper_state = AsciiUpper(state);
        sprints.emplace_back("com.atlassian.greenhopper.service.sprint.Sprint@" +
                             Fnv1a64Hex(name).substr(0, 7) + "[id=" + std::to_string(id) +
                             ",rapidViewId=1,state=" + upper_state + ",name=" + name +
                             ",startDate=<null>,endDate=<null>,completeDate=<null>,"
                             "activatedDate=<null>,sequence=" +
                             std::to_string(id) + ",goal=<null>]");
      } else {
        sprints.emplace_back(Value::Object{
            {"id", id}, {"name", name}, {"state", state}, {"boardId", 1}, {"goal", ""}});
      }
    }
    fields.emplace("customfield_10020", Value(std::move(sprints)));
  }
  fields.emplace("customfield_10030",
                 issue.team ? option("customfield_10030", *issue.team) : Value());
  if (issue.platforms.empty()) {
    fields.emplace("customfield_10031", Value());
  } else {
    Value::List platforms;
    for (const std::string& p : issue.platforms) {
      platforms.push_back(option("customfield_10031", p));
    }
    fields.emplace("customfield_10031", Value(std::move(platforms)));
  }
  fields.emplace("customfield_10050", rich(issue.acceptance_criteria));
  if (!options_.shared_field_name.empty()) {
    fields.emplace("customfield_10060", nullable_number(issue.shared_number));
    fields.emplace("customfield_10061", issue.shared_option
                                            ? option("customfield_10061", *issue.shared_option)
                                            : Value());
  }
  for (const CustomFieldState& field : custom_fields_) {
    auto value = issue.custom_values.find(field.id);
    if (value == issue.custom_values.end() || value->second.IsNull()) {
      fields.insert_or_assign(field.id, Value());
    } else if (field.custom_type == "textarea" && value->second.IsString()) {
      fields.insert_or_assign(field.id, rich(value->second.AsString()));
    } else {
      fields.insert_or_assign(field.id, value->second);
    }
  }
  for (const auto& [id, value] : issue.raw_fields) {
    fields.insert_or_assign(id, value);
  }

  Value::Object out{
      {"expand", "operations,versionedRepresentations,editmeta,changelog,renderedFields"},
      {"id", std::to_string(issue.id)},
      {"self", api + "/issue/" + std::to_string(issue.id)},
      {"key", issue.key}};
  if (params.WantsAny()) {
    Value::Object kept;
    for (auto& [id, value] : fields) {
      if (params.Wants(id)) {
        kept.emplace(id, std::move(value));
      }
    }
    if (names != nullptr) {
      std::vector<FieldDef> defs = AllFieldDefs(options_.shared_field_name, custom_fields_);
      for (const auto& [id, value] : kept) {
        auto def =
            std::find_if(defs.begin(), defs.end(), [&](const FieldDef& d) { return d.id == id; });
        names->insert_or_assign(id, def != defs.end() ? def->name : id);
      }
    }
    out.emplace("fields", Value(std::move(kept)));
  }
  return Value(std::move(out));
}

Result<std::vector<std::shared_ptr<const JiraIssue>>> JiraServer::MatchLocked(
    std::string_view jql, bool require_bound, const std::set<std::int64_t>& reconcile) const {
  auto parsed = ParseJql(jql);
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  auto bad = [](std::string message) { return Fail(ErrorCode::kBadResponse, std::move(message)); };
  if (require_bound && !parsed->where) {
    return bad(
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your "
        "query.");
  }

  // Clauses -> conditions, checking every value as Jira does.
  std::function<Result<Condition>(const JqlClause&)> compile =
      [&](const JqlClause& clause) -> Result<Condition> {
    Condition c;
    c.kind = clause.kind;
    if (clause.kind != JqlClause::Kind::kTerm) {
      for (const JqlClause& child : clause.children) {
        auto compiled = compile(child);
        if (!compiled) {
          return compiled;
        }
        c.children.push_back(std::move(*compiled));
      }
      return c;
    }
    c.op = clause.op;
    std::string name = AsciiLower(clause.field);
    auto unsupported = [&] {
      return bad("The operator '" + AsciiUpper(clause.op) + "' is not supported by the '" +
                 clause.field + "' field.");
    };
    const bool set_op = c.op == "=" || c.op == "!=" || c.op == "in" || c.op == "not in";
    const bool empty_op = c.op == "is" || c.op == "is not";
    const bool order_op = c.op == "<" || c.op == "<=" || c.op == ">" || c.op == ">=";
    if (name == "project") {
      c.field = FieldKind::kProject;
      if (!set_op && !empty_op) {
        return unsupported();
      }
      for (const JqlOperand& v : clause.operands) {
        if (empty_op) {
          break;
        }
        auto p = std::find_if(projects_.begin(), projects_.end(), [&](const Project& p) {
          return EqualsIgnoreCase(p.key, v.text) || EqualsIgnoreCase(p.name, v.text) ||
                 std::to_string(p.id) == v.text;
        });
        if (p == projects_.end()) {
          return bad("The value '" + v.text + "' does not exist for the field '" + clause.field +
                     "'.");
        }
        c.strings.insert(AsciiLower(p->key));
      }
      return c;
    }
    if (name == "key" || name == "issuekey") {
      c.field = FieldKind::kId;
      if (!set_op) {
        return unsupported();
      }
      for (const JqlOperand& v : clause.operands) {
        if (!KeyNumber(v.text)) {
          return bad("The issue key '" + v.text + "' for field '" + clause.field + "' is invalid.");
        }
        auto it = keys_.find(AsciiUpper(v.text));
        if (it == keys_.end()) {
          return bad("An issue with key '" + v.text + "' does not exist for field '" +
                     clause.field + "'.");
        }
        c.ids.insert(it->second);
      }
      return c;
    }
    if (name == "id") {
      c.field = FieldKind::kId;
      if (!set_op && !order_op) {
        return unsupported();
      }
      for (const JqlOperand& v : clause.operands) {
        auto n = ParseInt(v.text);
        if (!n) {
          return bad("The issue id '" + v.text + "' for field '" + clause.field + "' is invalid.");
        }
        c.ids.insert(*n);
        c.number = *n;
      }
      return c;
    }
    if (name == "status" || name == "resolution") {
      c.field = name == "status" ? FieldKind::kStatus : FieldKind::kResolution;
      if (!set_op && !empty_op) {
        return unsupported();
      }
      for (const JqlOperand& v : clause.operands) {
        if (empty_op) {
          break;
        }
        bool known = false;
        if (c.field == FieldKind::kStatus) {
          known = std::any_of(statuses_.begin(), statuses_.end(),
                              [&](const Status& s) { return EqualsIgnoreCase(s.name, v.text); });
        } else if (EqualsIgnoreCase(v.text, "Unresolved")) {
          known = true;
          c.empty_matches = true;
        } else {
          known = std::any_of(resolutions_.begin(), resolutions_.end(),
                              [&](const std::string& r) { return EqualsIgnoreCase(r, v.text); });
        }
        if (!known) {
          return bad("The value '" + v.text + "' does not exist for the field '" + clause.field +
                     "'.");
        }
        c.strings.insert(AsciiLower(v.text));
      }
      return c;
    }
    if (name == "labels") {
      c.field = FieldKind::kLabels;
      if (!set_op && !empty_op) {
        return unsupported();
      }
      for (const JqlOperand& v : clause.operands) {
        if (!empty_op) {
          c.strings.insert(AsciiLower(v.text));
        }
      }
      return c;
    }
    if (name == "updated" || name == "updateddate" || name == "created" || name == "createddate" ||
        name == "resolved" || name == "resolutiondate") {
      c.field = name.starts_with("updated")   ? FieldKind::kUpdated
                : name.starts_with("created") ? FieldKind::kCreated
                                              : FieldKind::kResolved;
      if (empty_op) {
        return c;
      }
      if (c.op != "=" && c.op != "!=" && !order_op) {
        return unsupported();
      }
      auto instant = ReadDateLocked(clause.operands.front().text);
      if (!instant) {
        return bad(JqlInvalidDateMessage(clause.operands.front().text, clause.field));
      }
      c.number = *instant;
      return c;
    }
    std::vector<FieldDef> defs = AllFieldDefs(options_.shared_field_name, custom_fields_);
    bool known = std::any_of(defs.begin(), defs.end(), [&](const FieldDef& d) {
      return EqualsIgnoreCase(d.id, name) || EqualsIgnoreCase(d.name, name);
    });
    if (known) {
      return bad("Field '" + clause.field +
                 "' is not supported in JQL by this sample Jira server (tests/support/jira).");
    }
    return bad("Field '" + clause.field +
               "' does not exist or you do not have permission to view it.");
  };

  std::optional<Condition> where;
  if (parsed->where) {
    auto compiled = compile(*parsed->where);
    if (!compiled) {
      return std::unexpected(compiled.error());
    }
    where = std::move(*compiled);
  }

  std::vector<SortKey> order;
  for (const JqlSortKey& key : parsed->order_by) {
    std::string name = AsciiLower(key.field);
    SortKey sort{SortKey::Field::kId, true};
    bool date = true;
    if (name == "updated" || name == "updateddate") {
      sort.field = SortKey::Field::kUpdated;
    } else if (name == "created" || name == "createddate") {
      sort.field = SortKey::Field::kCreated;
    } else if (name == "resolved" || name == "resolutiondate") {
      sort.field = SortKey::Field::kResolved;
    } else if (name == "id" || name == "key" || name == "issuekey" || name == "project") {
      sort.field = name == "id"        ? SortKey::Field::kId
                   : name == "project" ? SortKey::Field::kProject
                                       : SortKey::Field::kKey;
      date = false;
    } else if (name == "labels" || name == "status" || name == "resolution") {
      return bad("Not able to sort using field '" + key.field + "'.");
    } else {
      return bad("Field '" + key.field +
                 "' does not exist or you do not have permission to view it.");
    }
    sort.ascending = key.ascending.value_or(!date);
    order.push_back(sort);
  }

  std::int64_t now = NowLocked();
  std::vector<std::shared_ptr<const JiraIssue>> matched;
  for (const auto& [id, record] : records_) {
    const std::shared_ptr<const JiraIssue>& seen =
        now >= record.visible_at_ms || reconcile.contains(id) ? record.current : record.indexed;
    if (seen && (!where || Evaluate(*where, *seen))) {
      matched.push_back(seen);
    }
  }
  // Ties, and queries without ORDER BY, in key order descending: stable
  // but no help to a client that forgets its tie-breaker.
  std::sort(matched.begin(), matched.end(), [&](const auto& a, const auto& b) {
    for (const SortKey& key : order) {
      int c = CompareBy(key.field, *a, *b);
      if (c != 0) {
        return key.ascending ? c < 0 : c > 0;
      }
    }
    return CompareKeys(*a, *b) > 0;
  });
  return matched;
}

HttpServerResponse JiraServer::ServeSearch(const HttpServerRequest& request, int version,
                                           bool cloud_api) {
  auto input = ReadSearchInput(request);
  if (!input) {
    return JiraError(400, input.error().message);
  }
  std::lock_guard lock(mu_);
  if (search_forbidden_) {
    return JiraError(403, "You do not have the permission to browse the projects of this search.");
  }
  SearchParams params =
      SearchParams::From(input->fields, input->fields_given, !cloud_api, input->expand);
  auto matched =
      MatchLocked(input->jql, cloud_api, cloud_api ? input->reconcile : std::set<std::int64_t>{});
  if (!matched) {
    return JiraError(400, matched.error().message);
  }
  const std::int64_t cap = options_.max_results_cap > 0 ? options_.max_results_cap
                           : cloud_api                  ? 100
                                                        : 1000;
  std::int64_t page_size = std::min(kDefaultPageSize, cap);
  if (input->max_results && *input->max_results >= 0) {
    page_size = std::min(*input->max_results, cap);
  }
  std::int64_t start = 0;
  if (cloud_api) {
    if (page_size <= 0) {
      page_size = std::min(kDefaultPageSize, cap);
    }
    if (input->next_page_token && !input->next_page_token->empty()) {
      auto offset = ReadPageToken(*input->next_page_token, input->jql);
      if (!offset) {
        return JiraError(400, "The provided next page token is invalid or expired.");
      }
      if (*offset < 0) {
        return JiraError(400, "The provided next page token does not belong to this JQL query.");
      }
      start = *offset;
    }
  } else {
    start = std::max<std::int64_t>(0, input->start_at.value_or(0));
  }
  auto total = static_cast<std::int64_t>(matched->size());
  Value::List issues;
  Value::Object names;
  for (std::int64_t i = start; i < total && i < start + page_size; ++i) {
    issues.push_back(RenderIssueLocked(*(*matched)[static_cast<std::size_t>(i)], version, params,
                                       params.names ? &names : nullptr));
  }
  Value::Object body;
  if (cloud_api) {
    std::int64_t next = start + static_cast<std::int64_t>(issues.size());
    bool last = next >= total;
    body.emplace("isLast", last);
    if (!last) {
      body.emplace("nextPageToken", MakePageToken(next, input->jql));
    }
  } else {
    body.emplace("expand", "schema,names");
    body.emplace("startAt", start);
    body.emplace("maxResults", page_size);
    body.emplace("total", total);
  }
  body.emplace("issues", Value(std::move(issues)));
  if (params.names) {
    body.emplace("names", Value(std::move(names)));
  }
  return HttpServerResponse::Json(200, Value(std::move(body)).ToJson());
}

HttpServerResponse JiraServer::ServeCount(const HttpServerRequest& request) {
  auto body = ParseJson(request.body);
  if (!body || !body->IsObject()) {
    return JiraError(400, "The request body is not a valid JSON object.");
  }
  std::lock_guard lock(mu_);
  auto matched = MatchLocked(body->StringOr("jql"), true, {});
  if (!matched) {
    return JiraError(400, matched.error().message);
  }
  return HttpServerResponse::Json(
      200, Value(Value::Object{{"count", static_cast<std::int64_t>(matched->size())}}).ToJson());
}

HttpServerResponse JiraServer::ServeIssue(const HttpServerRequest& request, int version,
                                          std::string_view id_or_key) {
  std::vector<std::string> fields;
  bool fields_given = false;
  for (std::string_view f : request.Params("fields")) {
    fields_given = true;
    for (std::string& part : SplitComma(f)) {
      fields.push_back(std::move(part));
    }
  }
  std::vector<std::string> expand = SplitComma(request.Param("expand").value_or(""));
  SearchParams params = SearchParams::From(fields, fields_given, true, expand);
  std::lock_guard lock(mu_);
  auto id = FindLocked(id_or_key);
  if (!id) {
    return JiraError(404, "Issue does not exist or you do not have permission to see it.");
  }
  Value::Object names;
  Value issue = RenderIssueLocked(*records_.at(*id).current, version, params,
                                  params.names ? &names : nullptr);
  if (params.names) {
    issue.AsObject().emplace("names", Value(std::move(names)));
  }
  return HttpServerResponse::Json(200, issue.ToJson());
}

// ---- Custom fields and writes ----

JiraServer::CustomFieldState& JiraServer::AddFieldLocked(std::string name,
                                                         std::string custom_type) {
  CustomFieldState field;
  field.id = "customfield_" + std::to_string(next_field_number_++);
  field.name = std::move(name);
  field.custom_type = std::move(custom_type);
  custom_fields_.push_back(std::move(field));
  return custom_fields_.back();
}

JiraServer::CustomFieldState* JiraServer::FindCustomLocked(std::string_view id) {
  for (CustomFieldState& field : custom_fields_) {
    if (field.id == id) {
      return &field;
    }
  }
  return nullptr;
}

std::string JiraServer::AddCustomField(std::string name, std::string custom_type,
                                       bool on_default_screen, bool with_context) {
  if (!SchemaTypeOf(custom_type)) {
    throw std::invalid_argument("unknown custom field type: " + custom_type);
  }
  std::lock_guard lock(mu_);
  CustomFieldState& field = AddFieldLocked(std::move(name), std::move(custom_type));
  field.on_default_screen = on_default_screen;
  field.contexts = with_context ? 1 : 0;
  return field.id;
}

std::vector<JiraServer::CustomFieldState> JiraServer::CustomFields() const {
  std::lock_guard lock(mu_);
  return custom_fields_;
}

void JiraServer::SetAdmin(bool admin) {
  std::lock_guard lock(mu_);
  admin_ = admin;
}

void JiraServer::SetFieldOffScreen(std::string_view id_or_key, std::string field_id, bool off) {
  std::lock_guard lock(mu_);
  auto id = FindLocked(id_or_key);
  if (!id) {
    return;
  }
  if (off) {
    off_screen_.emplace(*id, std::move(field_id));
  } else {
    off_screen_.erase({*id, field_id});
  }
}

std::optional<Value> JiraServer::ValueOf(std::string_view id_or_key,
                                         std::string_view field_id) const {
  std::lock_guard lock(mu_);
  auto id = FindLocked(id_or_key);
  if (!id) {
    return std::nullopt;
  }
  SearchParams params;
  params.include.emplace(field_id);
  Value issue = RenderIssueLocked(*records_.at(*id).current, 2, params, nullptr);
  const Value* fields = issue.Find("fields");
  const Value* value = fields ? fields->Find(field_id) : nullptr;
  if (value == nullptr) {
    return std::nullopt;
  }
  return *value;
}

HttpServerResponse JiraServer::ServeEdit(const HttpServerRequest& request, int version,
                                         std::string_view id_or_key) {
  auto body = ParseJson(request.body);
  if (!body || !body->IsObject()) {
    return JiraError(400, "The request body is not a valid JSON object.");
  }
  std::lock_guard lock(mu_);
  auto id = FindLocked(id_or_key);
  if (!id) {
    return JiraError(404, "Issue does not exist or you do not have permission to see it.");
  }
  if (body->FindNonNull("update") != nullptr) {
    return JiraError(400,
                     "The sample Jira server (tests/support/jira) takes `fields` only, "
                     "not `update`.");
  }
  const Value* given = body->FindNonNull("fields");
  if (given == nullptr) {
    return HttpServerResponse::Json(204, "");  // nothing to change
  }
  if (!given->IsObject()) {
    return JiraError(400, "Can not deserialize the value of `fields`: it is not an object.");
  }
  const bool adf = cloud_ && version == 3;
  const std::vector<FieldDef> defs = AllFieldDefs(options_.shared_field_name, custom_fields_);
  Value::Object errors;
  JiraIssue next = *records_.at(*id).current;
  for (const auto& [field_id, value] : given->AsObject()) {
    auto def =
        std::find_if(defs.begin(), defs.end(), [&](const FieldDef& d) { return d.id == field_id; });
    const CustomFieldState* made = FindCustomLocked(field_id);
    const bool settable = def != defs.end() && def->custom && def->schema.IsObject() &&
                          (made == nullptr || (made->contexts > 0 && made->on_default_screen)) &&
                          !off_screen_.contains({*id, std::string(field_id)});
    if (!settable) {
      errors.insert_or_assign(field_id, "Field '" + std::string(field_id) +
                                            "' cannot be set. It is not on the appropriate "
                                            "screen, or unknown.");
      continue;
    }
    const std::string custom_type = CustomTypeOf(*def);
    std::optional<std::string> problem;
    std::optional<Value> stored;  // what goes into the issue; null clears
    if (value.IsNull()) {
      stored = Value();
    } else if (custom_type == "float") {
      if (value.IsNumber()) {
        stored = Value(value.AsNumber());  // Jira keeps a float field as a double
      } else {
        problem = "Operation value must be a number";
      }
    } else if (custom_type == "textfield") {
      if (!value.IsString()) {
        problem = "Operation value must be a string";
      } else if (value.AsString().size() > 255) {
        problem = "The entered text is too long. It exceeds the allowed limit of 255 characters.";
      } else {
        stored = value;
      }
    } else if (custom_type == "textarea") {
      if (adf) {
        if (value.IsObject() && value.StringOr("type") == "doc") {
          stored = Value(AdfText(value));
        } else {
          problem =
              "Operation value must be an Atlassian Document (see the Atlassian Document "
              "Format)";
        }
      } else if (value.IsString()) {
        stored = value;
      } else {
        problem = "Operation value must be a string";
      }
    } else {
      problem = "Specify a valid 'id' or 'name' for " + def->name;
    }
    if (problem) {
      errors.insert_or_assign(field_id, *problem);
      continue;
    }
    auto number = [&]() -> std::optional<double> {
      return stored->IsNull() ? std::nullopt : std::optional<double>(stored->AsNumber());
    };
    auto text = [&]() -> std::optional<std::string> {
      return stored->IsNull() ? std::nullopt : std::optional<std::string>(stored->AsString());
    };
    if (field_id == "customfield_10016") {
      next.story_points = number();
    } else if (field_id == "customfield_10060") {
      next.shared_number = number();
    } else if (field_id == "customfield_10050") {
      next.acceptance_criteria = text();
    } else if (stored->IsNull()) {
      next.custom_values.erase(field_id);
    } else {
      next.custom_values.insert_or_assign(field_id, *stored);
    }
  }
  if (!errors.empty()) {
    return HttpServerResponse::Json(400,
                                    Value(Value::Object{{"errorMessages", Value(Value::List{})},
                                                        {"errors", Value(std::move(errors))}})
                                        .ToJson());
  }
  Record& record = records_.at(*id);
  next.updated_ms = std::max(NowLocked(), record.current->updated_ms + 1);
  CommitLocked(record, std::make_shared<const JiraIssue>(std::move(next)));
  if (cloud_ && request.Param("returnIssue") == "true") {
    SearchParams all;
    all.all = true;
    return HttpServerResponse::Json(
        200, RenderIssueLocked(*record.current, version, all, nullptr).ToJson());
  }
  return HttpServerResponse::Json(204, "");
}

HttpServerResponse JiraServer::ServeCreateField(const HttpServerRequest& request) {
  auto body = ParseJson(request.body);
  if (!body || !body->IsObject()) {
    return JiraError(400, "The request body is not a valid JSON object.");
  }
  std::lock_guard lock(mu_);
  if (!admin_) {
    return JiraError(403, "Only Jira administrators can create custom fields.");
  }
  auto field_error = [](std::string_view field, std::string message) {
    return HttpServerResponse::Json(
        400, Value(Value::Object{{"errorMessages", Value(Value::List{})},
                                 {"errors", Value(Value::Object{
                                                {std::string(field), Value(std::move(message))}})}})
                 .ToJson());
  };
  const std::string name(TrimSpace(body->StringOr("name")));
  if (name.empty()) {
    return field_error("name", "The custom field name must not be empty.");
  }
  const std::string_view type = body->StringOr("type");
  const std::string_view short_type =
      type.starts_with(kCustomTypePrefix) ? type.substr(kCustomTypePrefix.size()) : "";
  if (!SchemaTypeOf(short_type)) {
    return field_error("type", "The custom field type '" + std::string(type) + "' is not valid.");
  }
  if (const Value* searcher = body->FindNonNull("searcherKey")) {
    const std::string key = searcher->IsString() ? searcher->AsString() : "";
    const std::string_view short_key = key.starts_with(kCustomTypePrefix)
                                           ? std::string_view(key).substr(kCustomTypePrefix.size())
                                           : "";
    const bool fits = short_type == "float"
                          ? short_key == "exactnumber" || short_key == "numberrange"
                      : short_type == "select" ? short_key == "multiselectsearcher"
                                               : short_key == "textsearcher";
    if (!fits) {
      return field_error("searcherKey", "The searcher '" + std::string(key) +
                                            "' is not valid for the custom field type '" +
                                            std::string(type) + "'.");
    }
  }
  CustomFieldState& field = AddFieldLocked(name, std::string(short_type));
  // Data Center makes a global context when no projects or issue types are
  // given; whether Cloud does is unconfirmed (options.cloud_field_gets_context).
  field.contexts = !cloud_ || options_.cloud_field_gets_context ? 1 : 0;
  const std::vector<FieldDef> defs = AllFieldDefs(options_.shared_field_name, custom_fields_);
  return HttpServerResponse::Json(201, FieldJson(defs.back()).ToJson());
}

HttpServerResponse JiraServer::ServeContexts(const HttpServerRequest& request,
                                             std::string_view field_id) {
  std::optional<Value> body;
  if (request.method == "POST") {
    auto parsed = ParseJson(request.body);
    if (!parsed || !parsed->IsObject()) {
      return JiraError(400, "The request body is not a valid JSON object.");
    }
    body = std::move(*parsed);
  }
  std::lock_guard lock(mu_);
  if (!admin_) {
    return JiraError(403, "Only Jira administrators can manage custom field contexts.");
  }
  const std::vector<FieldDef> defs = AllFieldDefs(options_.shared_field_name, custom_fields_);
  auto def = std::find_if(defs.begin(), defs.end(),
                          [&](const FieldDef& d) { return d.id == field_id && d.custom; });
  if (def == defs.end()) {
    return JiraError(404, "The custom field was not found.");
  }
  CustomFieldState* made = FindCustomLocked(field_id);
  const std::string number(field_id.substr(std::string_view("customfield_").size()));
  if (body) {
    if (TrimSpace(body->StringOr("name")).empty()) {
      return JiraError(400, "The context name must not be empty.");
    }
    for (std::string_view list : {"projectIds", "issueTypeIds"}) {
      const Value* ids = body->FindNonNull(list);
      if (ids != nullptr && (!ids->IsList() || !ids->AsList().empty())) {
        return JiraError(400,
                         "The sample Jira server (tests/support/jira) makes global "
                         "contexts only: projectIds and issueTypeIds must be empty.");
      }
    }
    if (made == nullptr || made->contexts > 0) {
      return JiraError(400, "The custom field already has a global context.");
    }
    ++made->contexts;
    return HttpServerResponse::Json(
        201, Value(Value::Object{{"id", "1" + number},
                                 {"name", body->StringOr("name")},
                                 {"description", body->StringOr("description")},
                                 {"projectIds", Value(Value::List{})},
                                 {"issueTypeIds", Value(Value::List{})}})
                 .ToJson());
  }
  const int contexts = made == nullptr ? 1 : made->contexts;
  Value::List values;
  for (int i = 0; i < contexts; ++i) {
    values.emplace_back(Value::Object{{"id", "1" + number},
                                      {"name", "Default Configuration Scheme for " + def->name},
                                      {"description", ""},
                                      {"isGlobalContext", true},
                                      {"isAnyIssueType", true}});
  }
  return HttpServerResponse::Json(200, Value(Value::Object{{"maxResults", 50},
                                                           {"startAt", 0},
                                                           {"total", contexts},
                                                           {"isLast", true},
                                                           {"values", Value(std::move(values))}})
                                           .ToJson());
}

HttpServerResponse JiraServer::ServeAddToDefault(std::string_view field_id) {
  std::lock_guard lock(mu_);
  if (!admin_) {
    return JiraError(403, "Only Jira administrators can change screens.");
  }
  const std::vector<FieldDef> defs = AllFieldDefs(options_.shared_field_name, custom_fields_);
  const bool known =
      std::any_of(defs.begin(), defs.end(), [&](const FieldDef& d) { return d.id == field_id; });
  CustomFieldState* made = FindCustomLocked(field_id);
  if (!known) {
    return JiraError(404, "The field was not found.");
  }
  if (made == nullptr || made->on_default_screen) {
    return JiraError(404, "The field is already on the default screen.");
  }
  made->on_default_screen = true;
  return HttpServerResponse::Json(200, "{}");
}

}  // namespace boardsync

#include "connectors/youtrack/decode.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <regex>
#include <string>
#include <utility>

#include "connectors/http/json.h"
#include "core/time.h"
#include "core/url.h"

namespace boardsync {
namespace {

// How a custom field's value is read; the IssueCustomField $type decides.
enum class Kind {
  kName,    // bundle elements: enum, state, version, build, owned
  kUser,    // User
  kGroup,   // UserGroup
  kPeriod,  // PeriodValue
  kDate,    // ms at 12:00 UTC of the day
  kSimple,  // date and time, integer, float, string: fieldType tells which
  kText,    // TextFieldValue
};

struct CustomFieldType {
  std::string_view type;
  Kind kind;
  bool multi;
};

// Every concrete IssueCustomField $type of the YouTrack REST API.
constexpr std::array<CustomFieldType, 18> kCustomFieldTypes = {{
    {"SingleEnumIssueCustomField", Kind::kName, false},
    {"MultiEnumIssueCustomField", Kind::kName, true},
    {"StateIssueCustomField", Kind::kName, false},
    // A workflow state machine; its value is a StateBundleElement or an
    // EnumBundleElement, both with a name.
    {"StateMachineIssueCustomField", Kind::kName, false},
    {"SingleVersionIssueCustomField", Kind::kName, false},
    {"MultiVersionIssueCustomField", Kind::kName, true},
    {"SingleBuildIssueCustomField", Kind::kName, false},
    {"MultiBuildIssueCustomField", Kind::kName, true},
    {"SingleOwnedIssueCustomField", Kind::kName, false},
    {"MultiOwnedIssueCustomField", Kind::kName, true},
    {"SingleUserIssueCustomField", Kind::kUser, false},
    {"MultiUserIssueCustomField", Kind::kUser, true},
    {"SingleGroupIssueCustomField", Kind::kGroup, false},
    {"MultiGroupIssueCustomField", Kind::kGroup, true},
    {"PeriodIssueCustomField", Kind::kPeriod, false},
    {"DateIssueCustomField", Kind::kDate, false},
    {"SimpleIssueCustomField", Kind::kSimple, false},
    {"TextIssueCustomField", Kind::kText, false},
}};

const CustomFieldType* FindCustomFieldType(std::string_view type) {
  for (const CustomFieldType& t : kCustomFieldTypes) {
    if (t.type == type) {
      return &t;
    }
  }
  return nullptr;
}

using Members = std::vector<std::pair<std::string, Value>>;

// Names where a decoding error happened, for the message.
struct Where {
  std::string_view issue_key;
  std::string_view field;  // empty for issue attributes
  std::string_view type;
};

std::unexpected<Error> Bad(const Where& where, std::string_view what) {
  std::string message = "issue " + std::string(where.issue_key) + ": ";
  if (!where.type.empty()) {
    message +=
        "custom field \"" + std::string(where.field) + "\" (" + std::string(where.type) + "): ";
  } else if (!where.field.empty()) {
    message += "attribute \"" + std::string(where.field) + "\": ";
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

// {"login", "name", "email"}; name falls back from fullName to name to login,
// because a value may carry only some of them.
Result<Value> DecodeUser(JsonView user, const Where& where) {
  if (!user.IsObject()) {
    return Bad(where, "a user is not a JSON object");
  }
  auto login = OptionalString(user, "login", where);
  auto full_name = OptionalString(user, "fullName", where);
  auto name = OptionalString(user, "name", where);
  auto email = OptionalString(user, "email", where);
  for (const auto* r : {&login, &full_name, &name, &email}) {
    if (!*r) {
      return std::unexpected(r->error());
    }
  }
  auto usable = [](const Value& v) { return v.IsString() && !v.AsString().empty(); };
  Value display = usable(*full_name) ? std::move(*full_name)
                  : usable(*name)    ? std::move(*name)
                                     : Value(*login);
  // Emplaced in key order, each at the end (an initializer list would be
  // copied, not moved).
  Value::Object out;
  out.reserve(3);
  out.emplace("email", std::move(*email));
  out.emplace("login", std::move(*login));
  out.emplace("name", std::move(display));
  return Value(std::move(out));
}

Result<Value> DecodeName(JsonView element, const Where& where) {
  if (!element.IsObject()) {
    return Bad(where, "a value is not a JSON object");
  }
  auto name = element.Find("name");
  if (!name || !name->IsString()) {
    return Bad(where, "a value has no name");
  }
  return Value(name->AsString());
}

// Milliseconds since the epoch, as YouTrack sends every instant; only
// instants that can be written with a four-digit year (DESIGN §5: a wrapped
// year must never reach the board or a cursor).
Result<std::int64_t> DecodeMillis(JsonView v, const Where& where) {
  std::int64_t ms = 0;
  if (!AsInteger(v, ms)) {
    return Bad(where, "the value is not a timestamp in milliseconds");
  }
  if (!IsIsoWritable(ms)) {
    return Bad(where, "the timestamp " + std::to_string(ms) + " is outside the years 0001-9999");
  }
  return ms;
}

// `created` and `updated`: also not before 1970, which no tracker issue is.
Result<std::int64_t> DecodeIssueTime(std::optional<JsonView> v, const Where& where) {
  std::int64_t ms = 0;
  if (!v || !AsInteger(*v, ms)) {
    return Bad(where, "not a timestamp in milliseconds");
  }
  if (ms < 0 || ms > kMaxIsoMs) {
    return Bad(where, "the timestamp " + std::to_string(ms) + " is outside the years 1970-9999");
  }
  return ms;
}

std::string_view FieldTypeId(JsonView custom_field) {
  auto project_field = custom_field.FindNonNull("projectCustomField");
  auto field = project_field ? project_field->FindNonNull("field") : std::nullopt;
  auto field_type = field ? field->FindNonNull("fieldType") : std::nullopt;
  return field_type ? field_type->StringOr("id") : std::string_view();
}

// SimpleIssueCustomField has one $type for four kinds of value; the field
// type says which when it was returned, else the JSON kind is all there is.
Result<Value> DecodeSimple(JsonView value, std::string_view field_type, const Where& where) {
  if (field_type == "date and time") {
    auto ms = DecodeMillis(value, where);
    if (!ms) {
      return std::unexpected(ms.error());
    }
    return Value(FormatIsoUtc(*ms));
  }
  if (field_type == "date") {
    auto ms = DecodeMillis(value, where);
    if (!ms) {
      return std::unexpected(ms.error());
    }
    return Value(FormatIsoDate(*ms));
  }
  if (field_type == "integer") {
    std::int64_t i = 0;
    if (!AsInteger(value, i)) {
      return Bad(where, "the value is not an integer");
    }
    return Value(i);
  }
  if (field_type == "float") {
    if (!value.IsNumber()) {
      return Bad(where, "the value is not a number");
    }
    // A float field holding 3 arrives as an integer; keep one type per field.
    return Value(value.AsNumber());
  }
  if (field_type == "string") {
    if (!value.IsString()) {
      return Bad(where, "the value is not a string");
    }
    return value.ToValue();
  }
  if (value.IsString() || value.IsNumber() || value.IsBool()) {
    return value.ToValue();
  }
  return Bad(where, "the value is not a string or a number");
}

Result<Value> DecodeElement(Kind kind, JsonView element, const Where& where) {
  switch (kind) {
    case Kind::kName:
    case Kind::kGroup:
      return DecodeName(element, where);
    case Kind::kUser:
      return DecodeUser(element, where);
    case Kind::kPeriod: {
      auto minutes = element.Find("minutes");
      std::int64_t i = 0;
      if (!minutes || !AsInteger(*minutes, i)) {
        return Bad(where, "minutes is not a number");
      }
      return Value(i);
    }
    case Kind::kDate: {
      auto ms = DecodeMillis(element, where);
      if (!ms) {
        return std::unexpected(ms.error());
      }
      return Value(FormatIsoDate(*ms));
    }
    case Kind::kText: {
      if (!element.IsObject()) {
        return Bad(where, "the value is not a JSON object");
      }
      return OptionalString(element, "text", where);
    }
    case Kind::kSimple:
      break;  // needs the whole field; handled by the caller
  }
  return Value();
}

// Text that stands for a value boardsync does not know how to read.
std::string OpaqueText(JsonView v) {
  if (v.IsString()) {
    return std::string(v.AsString());
  }
  for (std::string_view key : {"presentation", "name", "text"}) {
    auto s = v.Find(key);
    if (s && s->IsString()) {
      return std::string(s->AsString());
    }
  }
  return v.ToValue().ToJson();
}

Value Opaque(JsonView value) {
  if (value.IsList()) {
    Value::List texts;
    for (JsonView element : value.Elements()) {
      texts.emplace_back(OpaqueText(element));
    }
    return Value(std::move(texts));
  }
  return Value(OpaqueText(value));
}

// {"shortName", "name"} of the project an issue belongs to.
Result<Value> DecodeProject(JsonView project, const Where& where) {
  if (!project.IsObject()) {
    return Bad(where, "not a JSON object");
  }
  auto short_name = OptionalString(project, "shortName", where);
  if (!short_name) {
    return short_name;
  }
  auto name = OptionalString(project, "name", where);
  if (!name) {
    return name;
  }
  Value::Object out;
  out.reserve(2);
  out.emplace("name", std::move(*name));
  out.emplace("shortName", std::move(*short_name));
  return Value(std::move(out));
}

Result<Value> DecodeTags(JsonView tags, const Where& where) {
  if (!tags.IsList()) {
    return Bad(where, "not a JSON array");
  }
  Value::List names;  // DESIGN §3: a multi-value field is a list, [] when empty
  names.reserve(tags.size());
  for (JsonView tag : tags.Elements()) {
    auto name = DecodeName(tag, where);
    if (!name) {
      return name;
    }
    names.push_back(std::move(*name));
  }
  return Value(std::move(names));
}

// Issue attributes other than custom fields, each decoded when present: the
// server returns only what the projection asked for.
Result<void> DecodeAttributes(JsonView json, std::string_view key, Members& fields) {
  for (std::string_view name : {"summary", "description"}) {
    if (json.Find(name)) {
      auto text = OptionalString(json, name, Where{key, name, ""});
      if (!text) {
        return std::unexpected(text.error());
      }
      fields.emplace_back(std::string(name), std::move(*text));
    }
  }
  for (std::string_view name : {"votes", "commentsCount", "numberInProject"}) {
    if (auto v = json.Find(name)) {
      std::int64_t i = 0;
      if (v->IsNull()) {
        fields.emplace_back(std::string(name), Value());
      } else if (AsInteger(*v, i)) {
        fields.emplace_back(std::string(name), Value(i));
      } else {
        return Bad(Where{key, name, ""}, "not an integer");
      }
    }
  }
  for (std::string_view name : {"reporter", "updater"}) {
    if (auto v = json.Find(name)) {
      Value user;
      if (!v->IsNull()) {
        auto decoded = DecodeUser(*v, Where{key, name, ""});
        if (!decoded) {
          return std::unexpected(decoded.error());
        }
        user = std::move(*decoded);
      }
      fields.emplace_back(std::string(name), std::move(user));
    }
  }
  if (auto v = json.Find("project")) {
    Value project;
    if (!v->IsNull()) {
      auto decoded = DecodeProject(*v, Where{key, "project", ""});
      if (!decoded) {
        return std::unexpected(decoded.error());
      }
      project = std::move(*decoded);
    }
    fields.emplace_back("project", std::move(project));
  }
  if (auto v = json.Find("tags")) {
    Value tags{Value::List{}};
    if (!v->IsNull()) {
      auto decoded = DecodeTags(*v, Where{key, "tags", ""});
      if (!decoded) {
        return std::unexpected(decoded.error());
      }
      tags = std::move(*decoded);
    }
    fields.emplace_back("tags", std::move(tags));
  }
  return {};
}

}  // namespace

Result<Value> DecodeCustomFieldValue(JsonView custom_field, std::string_view issue_key) {
  std::string_view type = custom_field.StringOr("$type");
  Where where{issue_key, custom_field.StringOr("name"), type.empty() ? "no $type" : type};
  auto value = custom_field.Find("value");
  const CustomFieldType* known = FindCustomFieldType(type);
  if (!value || value->IsNull()) {
    return known != nullptr && known->multi ? Value(Value::List{}) : Value();
  }
  if (known == nullptr) {
    return Opaque(*value);
  }
  if (known->kind == Kind::kSimple) {
    return DecodeSimple(*value, FieldTypeId(custom_field), where);
  }
  if (!known->multi) {
    if (value->IsList()) {
      return Bad(where, "a single-value field holds a JSON array");
    }
    return DecodeElement(known->kind, *value, where);
  }
  if (!value->IsList()) {
    return Bad(where, "a multi-value field does not hold a JSON array");
  }
  Value::List list;  // DESIGN §3: a multi-value field is a list, [] when empty
  list.reserve(value->size());
  for (JsonView element : value->Elements()) {
    auto decoded = DecodeElement(known->kind, element, where);
    if (!decoded) {
      return decoded;
    }
    list.push_back(std::move(*decoded));
  }
  return Value(std::move(list));
}

Result<Issue> DecodeIssue(JsonView json, const YouTrackBaseUrl& base) {
  if (!json.IsObject()) {
    return Fail(ErrorCode::kBadResponse, "an issue in the page is not a JSON object");
  }
  Issue issue;
  auto id = json.Find("id");
  auto key = json.Find("idReadable");
  if (!id || !id->IsString() || id->AsString().empty()) {
    std::string named = key && key->IsString() ? " " + std::string(key->AsString()) : "";
    return Fail(ErrorCode::kBadResponse, "issue" + named + " has no id");
  }
  issue.id = std::string(id->AsString());
  if (!key || !key->IsString() || key->AsString().empty()) {
    return Fail(ErrorCode::kBadResponse, "issue " + issue.id + " has no idReadable");
  }
  issue.key = std::string(key->AsString());
  issue.url = base.service + "/issue/" + PercentEncode(issue.key);

  // `updated` orders the sync and is always asked for; `created` is absent
  // from id-only answers (YouTrack returns only the fields asked for).
  auto updated = DecodeIssueTime(json.Find("updated"), Where{issue.key, "updated", ""});
  if (!updated) {
    return std::unexpected(updated.error());
  }
  issue.updated_ms = *updated;
  if (auto created = json.Find("created")) {
    auto ms = DecodeIssueTime(created, Where{issue.key, "created", ""});
    if (!ms) {
      return std::unexpected(ms.error());
    }
    issue.created_ms = *ms;
  }
  if (auto resolved = json.FindNonNull("resolved")) {
    auto ms = DecodeMillis(*resolved, Where{issue.key, "resolved", ""});
    if (!ms) {
      return std::unexpected(ms.error());
    }
    issue.resolved_ms = *ms;
  }

  // The same facts in the value model, so a mapping may read them as fields.
  auto custom_fields = json.FindNonNull("customFields");
  if (custom_fields && !custom_fields->IsList()) {
    return Bad(Where{issue.key, "customFields", ""}, "not a JSON array");
  }
  Members fields;
  fields.reserve(5 + 9 +  // the facts, the attributes
                 (custom_fields ? custom_fields->size() : 0));
  fields.emplace_back("id", Value(issue.id));
  fields.emplace_back("idReadable", Value(issue.key));
  fields.emplace_back("created", Value(FormatIsoUtc(issue.created_ms)));
  fields.emplace_back("updated", Value(FormatIsoUtc(issue.updated_ms)));
  fields.emplace_back("resolved",
                      issue.resolved_ms ? Value(FormatIsoUtc(*issue.resolved_ms)) : Value());

  if (auto attributes = DecodeAttributes(json, issue.key, fields); !attributes) {
    return std::unexpected(attributes.error());
  }
  for (JsonView field : custom_fields ? custom_fields->Elements() : JsonView::Range{}) {
    auto name = field.Find("name");
    if (!name || !name->IsString()) {
      // Nothing to key it by; the projection always asks for names, so this
      // is a field the server chose to describe only by $type.
      continue;
    }
    auto value = DecodeCustomFieldValue(field, issue.key);
    if (!value) {
      return std::unexpected(value.error());
    }
    fields.emplace_back(std::string(name->AsString()), std::move(*value));
  }
  // Of repeated names the last wins (a custom field named like an attribute
  // replaces it); the object keeps the first, so it gets them last first.
  std::reverse(fields.begin(), fields.end());
  issue.fields = Value::Object(std::make_move_iterator(fields.begin()),
                               std::make_move_iterator(fields.end()));
  return issue;
}

Issue UndecodedIssue(JsonView json, std::string reason) {
  Issue issue;
  issue.decode_error = std::move(reason);
  issue.id = std::string(json.StringOr("id"));
  issue.key = std::string(json.StringOr("idReadable"));
  std::int64_t ms = 0;
  if (auto updated = json.Find("updated");
      updated && AsInteger(*updated, ms) && ms >= 0 && ms <= kMaxIsoMs) {
    issue.updated_ms = ms;
  }
  return issue;
}

Result<std::vector<Issue>> DecodeIssuePage(JsonView json, const YouTrackBaseUrl& base) {
  if (!json.IsList()) {
    return Fail(ErrorCode::kBadResponse, "the issue list is not a JSON array");
  }
  std::vector<Issue> issues;
  issues.reserve(json.size());
  for (JsonView element : json.Elements()) {
    auto issue = DecodeIssue(element, base);
    issues.push_back(issue ? std::move(*issue) : UndecodedIssue(element, issue.error().message));
  }
  return issues;
}

// The Value forms, for callers holding a tree (tests, tools): the same
// decoding, through the tree's JSON text.
namespace {

template <typename F>
auto ThroughText(const Value& json, F&& decode) {
  const std::string text = json.ToJson();
  auto doc = ParseJsonDocument(text);  // a Value's JSON always parses
  return decode(doc->Root());
}

}  // namespace

Result<Value> DecodeCustomFieldValue(const Value& custom_field, std::string_view issue_key) {
  return ThroughText(custom_field,
                     [&](JsonView v) { return DecodeCustomFieldValue(v, issue_key); });
}

Result<Issue> DecodeIssue(const Value& json, const YouTrackBaseUrl& base) {
  return ThroughText(json, [&](JsonView v) { return DecodeIssue(v, base); });
}

Issue UndecodedIssue(const Value& json, std::string reason) {
  return ThroughText(json, [&](JsonView v) { return UndecodedIssue(v, std::move(reason)); });
}

Result<std::vector<Issue>> DecodeIssuePage(const Value& json, const YouTrackBaseUrl& base) {
  return ThroughText(json, [&](JsonView v) { return DecodeIssuePage(v, base); });
}

std::optional<int> DecodeUtcOffset(const Value& timezone) {
  // The documented shape is TimeZoneDescriptor {id, presentation, offset}
  // without the offset's unit, so the readable forms come first.
  static const std::regex kSigned(R"((?:UTC|GMT)\s*([+-])(\d{1,2})(?::?(\d{2}))?)");
  std::smatch match;
  for (std::string_view key : {"presentation", "id"}) {
    std::string text(timezone.StringOr(key));
    // std::regex recurses once per character `\s*` takes, so a long run of
    // spaces from the server would overflow the stack; real zone names are short.
    if (text.size() > 256) {
      continue;
    }
    if (std::regex_search(text, match, kSigned)) {
      int minutes = std::stoi(match[2].str()) * 60 + (match[3].matched ? std::stoi(match[3].str()) : 0);
      // POSIX "Etc/GMT+10" is ten hours *behind* UTC.
      bool posix = text.starts_with("Etc/GMT");
      bool east = (match[1].str() == "+") != posix;
      return east ? minutes : -minutes;
    }
  }
  std::string_view id = timezone.StringOr("id");
  if (id == "UTC" || id == "GMT" || id == "Etc/UTC" || id == "Etc/GMT" || id == "Z") {
    return 0;
  }
  const Value* offset = timezone.FindNonNull("offset");
  if (offset != nullptr && offset->IsInt()) {
    // Real zones are within -12h..+14h: that range tells minutes, seconds
    // and milliseconds apart.
    std::int64_t v = offset->AsInt();
    std::int64_t magnitude = v < 0 ? -v : v;
    if (magnitude <= 14 * 60) {
      return static_cast<int>(v);
    }
    if (magnitude <= 14 * 3600 && v % 60 == 0) {
      return static_cast<int>(v / 60);
    }
    if (magnitude <= 14 * 3'600'000LL && v % 60'000 == 0) {
      return static_cast<int>(v / 60'000);
    }
  }
  return std::nullopt;
}

Result<TrackerIdentity> DecodeMe(const Value& json) {
  constexpr std::string_view kGuest =
      "the token was not accepted: YouTrack answered as the guest user";
  if (!json.IsObject()) {
    return Fail(ErrorCode::kBadResponse, "the current user is not a JSON object");
  }
  const Value* guest = json.FindNonNull("guest");
  if (guest != nullptr && !guest->IsBool()) {
    return Fail(ErrorCode::kBadResponse, "the current user's guest flag is not a boolean");
  }
  if (guest != nullptr && guest->AsBool()) {
    return Fail(ErrorCode::kAuth, std::string(kGuest));
  }
  const Value* login = json.Find("login");
  if (login == nullptr || !login->IsString() || login->AsString().empty()) {
    return Fail(ErrorCode::kBadResponse, "the current user has no login");
  }
  // JetBrains' client treats a missing guest flag as a guest, too.
  if (guest == nullptr) {
    return Fail(ErrorCode::kAuth, std::string(kGuest));
  }
  const Value* banned = json.FindNonNull("banned");
  if (banned != nullptr && banned->IsBool() && banned->AsBool()) {
    return Fail(ErrorCode::kAuth,
                "the token was not accepted: its user " + login->AsString() + " is banned");
  }
  TrackerIdentity identity;
  identity.login = login->AsString();
  std::string_view full_name = json.StringOr("fullName");
  identity.name = full_name.empty() ? identity.login : std::string(full_name);
  if (const Value* profiles = json.FindNonNull("profiles")) {
    if (const Value* general = profiles->FindNonNull("general")) {
      if (const Value* timezone = general->FindNonNull("timezone")) {
        identity.utc_offset_minutes = DecodeUtcOffset(*timezone);
      }
    }
  }
  return identity;
}

}  // namespace boardsync

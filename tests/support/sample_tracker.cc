#include "tests/support/sample_tracker.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <unordered_set>

#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"
#include "tests/support/youtrack_fields.h"
#include "tests/support/youtrack_query.h"

#ifndef BOARDSYNC_SAMPLE_ISSUES
#define BOARDSYNC_SAMPLE_ISSUES "tests/data/youtrack/sample_issues.json"
#endif
#ifndef BOARDSYNC_SAMPLE_TRACKER_BINARY
#define BOARDSYNC_SAMPLE_TRACKER_BINARY "boardsync-sample-tracker"
#endif

namespace boardsync {
namespace {

constexpr std::int64_t kUnresolved = std::numeric_limits<std::int64_t>::min();
constexpr std::uint64_t kIssueClass = 2;  // issues are "2-N", as on most instances
constexpr std::int64_t kDefaultTop = 42;  // the server's page size without $top

// ASCII case-insensitive equality, without allocating: custom field names
// are compared for every field of every issue served.
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::ranges::equal(a, b, [&](char x, char y) { return lower(x) == lower(y); });
}

std::optional<std::uint64_t> ParseNumber(std::string_view s) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return n;
}

// "2-17" -> (2 << 32) | 17.
std::optional<std::uint64_t> ParseEntityId(std::string_view id) {
  auto dash = id.find('-');
  if (dash == std::string_view::npos) {
    return std::nullopt;
  }
  auto major = ParseNumber(id.substr(0, dash));
  auto minor = ParseNumber(id.substr(dash + 1));
  if (!major || !minor || *major > 0xffffffffULL || *minor > 0xffffffffULL) {
    return std::nullopt;
  }
  return (*major << 32) | *minor;
}

std::string FormatEntityId(std::uint64_t key) {
  return std::to_string(key >> 32) + "-" + std::to_string(key & 0xffffffffULL);
}

std::int64_t IntOr(const Value& object, std::string_view key, std::int64_t fallback) {
  const Value* v = object.Find(key);
  return v != nullptr && v->IsInt() ? v->AsInt() : fallback;
}

std::string JsonError(std::string_view error, std::string_view description) {
  Value::Object o{{"error", error}, {"error_description", description}};
  return Value(std::move(o)).ToJson();
}

HttpServerResponse ErrorResponse(int status, std::string_view error, std::string_view description) {
  return HttpServerResponse::Json(status, JsonError(error, description));
}

HttpServerResponse Unauthorized(std::string_view description) {
  HttpServerResponse response = ErrorResponse(401, "Unauthorized", description);
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"YouTrack\"");
  return response;
}

constexpr std::string_view kAppShell =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>YouTrack</title>"
    "</head><body><div id=\"app-root\">Loading YouTrack…</div>"
    "<script src=\"/static/app.js\"></script></body></html>";

constexpr std::string_view kLoginPage =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in to "
    "YouTrack</title></head><body><form action=\"/hub/auth/login\" method=\"post\">"
    "<input name=\"username\"><input name=\"password\" type=\"password\">"
    "<button type=\"submit\">Log in</button></form></body></html>";

struct ListParams {
  FieldSelector fields;
  std::int64_t top = kDefaultTop;
  std::int64_t skip = 0;
  std::optional<std::vector<std::string>> custom_fields;  // customFields= names
};

Result<ListParams> ParseListParams(const HttpServerRequest& request) {
  ListParams params;
  auto fields = request.Param("fields");
  if (fields && !fields->empty()) {
    auto parsed = ParseFieldSelector(*fields);
    if (!parsed) {
      return std::unexpected(parsed.error());
    }
    params.fields = std::move(*parsed);
  } else {
    params.fields = DefaultFieldSelector();
  }
  auto number = [](std::string_view text, std::string_view name) -> Result<std::int64_t> {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      return Fail(ErrorCode::kBadResponse,
                  "Invalid value of " + std::string(name) + ": " + std::string(text));
    }
    return n;
  };
  if (auto top = request.Param("$top")) {
    auto n = number(*top, "$top");
    if (!n) {
      return std::unexpected(n.error());
    }
    // -1 (and any negative) means "everything".
    params.top = *n < 0 ? std::numeric_limits<std::int64_t>::max() : *n;
  }
  if (auto skip = request.Param("$skip")) {
    auto n = number(*skip, "$skip");
    if (!n) {
      return std::unexpected(n.error());
    }
    params.skip = std::max<std::int64_t>(*n, 0);
  }
  auto custom_fields = request.Params("customFields");
  if (!custom_fields.empty()) {
    params.custom_fields.emplace();
    for (std::string_view name : custom_fields) {
      params.custom_fields->emplace_back(name);
    }
  }
  return params;
}

// The server's projection of an issue, with the customFields= restriction
// and the undocumented `fields(...)` alias of `customFields(...)`.
Value ProjectIssue(const Value& issue, const ListParams& params) {
  Value::Object out;
  if (const Value* type = issue.Find("$type")) {
    out.emplace("$type", *type);
  }
  for (const auto& [name, child] : params.fields.children) {
    if (name == "$type") {
      continue;
    }
    const Value* member = issue.Find(name);
    bool custom = name == "customFields";
    if (member == nullptr && name == "fields") {
      member = issue.Find("customFields");
      custom = true;
    }
    if (member == nullptr) {
      continue;
    }
    if (custom && params.custom_fields && member->IsList()) {
      Value::List kept;
      for (const Value& field : member->AsList()) {
        std::string_view field_name = field.StringOr("name");
        bool wanted =
            std::any_of(params.custom_fields->begin(), params.custom_fields->end(),
                        [&](const std::string& n) { return EqualsIgnoreCase(n, field_name); });
        if (wanted) {
          kept.push_back(ProjectFields(field, child));
        }
      }
      out.emplace(name, Value(std::move(kept)));
    } else {
      out.emplace(name, ProjectFields(*member, child));
    }
  }
  return Value(std::move(out));
}

// "+05:30" for 330.
std::string FormatOffset(int minutes) {
  char text[16];
  int magnitude = minutes < 0 ? -minutes : minutes;
  std::snprintf(text, sizeof text, "%c%02d:%02d", minutes < 0 ? '-' : '+', magnitude / 60,
                magnitude % 60);
  return text;
}

// The profile's zone as /api/users/me shows it, `offset` in seconds east of
// UTC. Real servers name a tz database zone; zones without daylight saving
// time are picked so that the name agrees with the fixed offset all year.
Value TimeZoneDescriptor(int utc_offset_minutes) {
  static const std::map<int, std::string_view> kNamed = {
      {-600, "Pacific/Honolulu"}, {-570, "Pacific/Marquesas"}, {330, "Asia/Kolkata"},
      {345, "Asia/Kathmandu"},    {570, "Australia/Darwin"},   {840, "Pacific/Kiritimati"}};
  std::string id;
  std::string presentation;
  if (utc_offset_minutes == 0) {
    id = "UTC";
    presentation = "UTC";
  } else {
    if (auto it = kNamed.find(utc_offset_minutes); it != kNamed.end()) {
      id = std::string(it->second);
    } else if (utc_offset_minutes % 60 == 0) {
      // POSIX signs: Etc/GMT+10 is ten hours behind UTC.
      int hours = utc_offset_minutes / 60;
      id = std::string("Etc/GMT") + (hours < 0 ? "+" : "-") +
           std::to_string(hours < 0 ? -hours : hours);
    } else {
      id = "GMT" + FormatOffset(utc_offset_minutes);
    }
    presentation = "(UTC" + FormatOffset(utc_offset_minutes) + ") " + id;
  }
  return Value(Value::Object{{"$type", "TimeZoneDescriptor"},
                             {"id", id},
                             {"presentation", presentation},
                             {"offset", static_cast<std::int64_t>(utc_offset_minutes) * 60}});
}

HttpServerResponse JsonList(Value::List list) {
  return HttpServerResponse::Json(200, Value(std::move(list)).ToJson());
}

HttpServerResponse Forbidden() { return ErrorResponse(403, "Forbidden", "Insufficient rights"); }

// The field types YouTrack's admin API creates fields of.
bool KnownFieldType(std::string_view type_id) {
  static constexpr std::string_view kTypes[] = {
      "string",     "integer",  "float",    "date",          "date and time",
      "period",     "text",     "enum[1]",  "enum[*]",       "state[1]",
      "user[1]",    "user[*]",  "group[1]", "group[*]",      "version[1]",
      "version[*]", "build[1]", "build[*]", "ownedField[1]", "ownedField[*]"};
  return std::ranges::find(kTypes, type_id) != std::end(kTypes);
}

// "enum[1]" -> "enum": FieldType.valueType.
std::string_view ValueTypeOf(std::string_view type_id) {
  return type_id.substr(0, type_id.find('['));
}

// For the types a field can be attached without a bundle: the $type of
// its ProjectCustomField and of its values on issues.
struct AttachedClasses {
  std::string_view project_field;
  std::string_view issue_field;
};
std::optional<AttachedClasses> AttachableClasses(std::string_view type_id) {
  if (type_id == "integer" || type_id == "float" || type_id == "string" ||
      type_id == "date and time") {
    return AttachedClasses{"SimpleProjectCustomField", "SimpleIssueCustomField"};
  }
  if (type_id == "date") {
    return AttachedClasses{"SimpleProjectCustomField", "DateIssueCustomField"};
  }
  if (type_id == "text") {
    return AttachedClasses{"TextProjectCustomField", "TextIssueCustomField"};
  }
  if (type_id == "period") {
    return AttachedClasses{"PeriodProjectCustomField", "PeriodIssueCustomField"};
  }
  return std::nullopt;
}

// `value` as a field of type `type_id` stores it, or nullopt when YouTrack
// would refuse it (or the sample does not write that type). Null clears.
std::optional<Value> StoredFieldValue(std::string_view type_id, const Value& value) {
  if (value.IsNull()) {
    return Value();
  }
  if ((type_id == "integer" || type_id == "date" || type_id == "date and time") && value.IsInt()) {
    return value;
  }
  if (type_id == "float" && value.IsNumber()) {
    return Value(value.AsNumber());
  }
  if (type_id == "string" && value.IsString()) {
    return value;
  }
  if (type_id == "text" && value.IsObject()) {
    if (const Value* text = value.Find("text"); text != nullptr && text->IsString()) {
      return Value(Value::Object{{"$type", "TextFieldValue"}, {"id", "text"}, {"text", *text}});
    }
  }
  return std::nullopt;
}

// Whether a write of `next` over `current` changes nothing: numbers by
// value, text fields by their text.
bool SameFieldValue(const Value& current, const Value& next) {
  if (current.IsNumber() && next.IsNumber()) {
    return current.AsNumber() == next.AsNumber();
  }
  if (current.IsObject() && next.IsObject()) {
    return current.StringOr("text") == next.StringOr("text");
  }
  return current == next;
}

// The ProjectCustomField (or IssueCustomField) id of a field attached here.
std::string NewEntityId(std::string_view type_class, std::uint64_t number) {
  return std::string(type_class) + "-" + std::to_string(number);
}

}  // namespace

std::string SampleIssuesPath() { return BOARDSYNC_SAMPLE_ISSUES; }

std::string SampleTrackerBinaryPath() { return BOARDSYNC_SAMPLE_TRACKER_BINARY; }

// ---- Faults ----

SampleTracker::Fault SampleTracker::Fault::Status(int status, std::string body,
                                                  std::string content_type) {
  Fault fault;
  fault.status = status;
  fault.headers.emplace_back("Content-Type", std::move(content_type));
  fault.body = std::move(body);
  return fault;
}

SampleTracker::Fault SampleTracker::Fault::RateLimited(int retry_after_seconds) {
  Fault fault = Status(429, JsonError("Too Many Requests", "Rate limit exceeded"));
  fault.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  return fault;
}

SampleTracker::Fault SampleTracker::Fault::ServiceUnavailable(
    std::optional<int> retry_after_seconds) {
  Fault fault = Status(503,
                       "<html><head><title>503 Service Temporarily Unavailable</title></head>"
                       "<body><center><h1>503 Service Temporarily Unavailable</h1></center>"
                       "<hr><center>nginx</center></body></html>",
                       "text/html");
  if (retry_after_seconds) {
    fault.headers.emplace_back("Retry-After", std::to_string(*retry_after_seconds));
  }
  return fault;
}

SampleTracker::Fault SampleTracker::Fault::ServerError() {
  return Status(500, JsonError("server_error", "NPE"));
}

SampleTracker::Fault SampleTracker::Fault::HtmlLoginPage() {
  return Status(200, std::string(kLoginPage), "text/html;charset=UTF-8");
}

SampleTracker::Fault SampleTracker::Fault::MalformedJson() {
  return Status(200, R"([{"$type":"Issue","id":"2-1","summary":"Cut here",}{)");
}

SampleTracker::Fault SampleTracker::Fault::Truncated(std::size_t bytes) {
  Fault fault;
  fault.truncate_body_at = bytes;
  return fault;
}

SampleTracker::Fault SampleTracker::Fault::Delay(std::chrono::milliseconds delay) {
  Fault fault;
  fault.delay = delay;
  return fault;
}

SampleTracker::Fault SampleTracker::Fault::Hang() { return Delay(std::chrono::hours(1)); }

SampleTracker::Fault SampleTracker::Fault::Drop() {
  Fault fault;
  fault.drop_connection = true;
  return fault;
}

SampleTracker::Fault SampleTracker::Fault::On(std::string api_path) const {
  Fault fault = *this;
  fault.path = std::move(api_path);
  return fault;
}

SampleTracker::Fault SampleTracker::Fault::Times(int n) const {
  Fault fault = *this;
  fault.times = n;
  return fault;
}

// ---- State ----

// One issue: what queries need, plus either the issue itself or the recipe
// to generate it (generator and ordinal).
struct SampleTracker::Record {
  std::uint64_t key = 0;  // entity id
  std::int64_t created = 0;
  std::int64_t updated = 0;
  std::int64_t resolved = kUnresolved;
  std::uint32_t number = 0;  // number in project
  std::uint32_t ordinal = 0;
  std::uint16_t project = 0;    // index into projects_
  std::uint16_t generator = 0;  // 1 + index into generators_; 0: `full` holds the issue
  std::shared_ptr<const Value> full;
};

// A global custom field, as /api/admin/customFieldSettings/customFields
// shows it.
struct SampleTracker::CustomField {
  std::string id;       // "106-24"
  std::string name;     // "Business value"
  std::string type_id;  // its FieldType id: "float", "enum[1]", "date and time"
};

// A custom field attached to a project (a ProjectCustomField).
struct SampleTracker::ProjectField {
  std::string id;          // "130-15"; its issues' IssueCustomField has the same id
  std::string field_id;    // CustomField::id
  std::string type;        // "SimpleProjectCustomField", "EnumProjectCustomField", ...
  std::string issue_type;  // its values' class on issues: "SimpleIssueCustomField", ...
};

struct SampleTracker::Project {
  Value value;  // as /api/admin/projects returns it, without customFields
  std::string short_name;
  std::string name;
  std::uint32_t next_number = 1;
  std::vector<ProjectField> fields;
};

SampleTracker::SampleTracker(SampleTrackerOptions options)
    : options_(std::move(options)), guest_access_(options_.guest_access) {
  std::string& prefix = options_.path_prefix;
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.pop_back();
  }
  if (!prefix.empty() && prefix.front() != '/') {
    prefix.insert(prefix.begin(), '/');
  }
  if (!options_.clock) {
    options_.clock = [] { return NowMs(); };
  }
  primary_token_ = options_.token;
  if (!primary_token_.empty()) {
    tokens_[primary_token_] = SampleUserValue("sync.bot");
  }
  server_ = std::make_unique<HttpServer>(
      [this](const HttpServerRequest& request) { return Handle(request); }, options_.port);
}

SampleTracker::~SampleTracker() { server_->Stop(); }

std::string SampleTracker::base_url() const { return server_->base_url() + options_.path_prefix; }

std::size_t SampleTracker::ProjectIndexLocked(const Value& project) {
  std::string_view short_name = project.StringOr("shortName");
  for (std::size_t i = 0; i < projects_.size(); ++i) {
    if (EqualsIgnoreCase(projects_[i].short_name, short_name)) {
      return i;
    }
  }
  Project entry;
  for (const SampleProject& sample : SampleProjects()) {
    if (sample.short_name == short_name) {
      entry.value = SampleProjectValue(sample);
    }
  }
  if (entry.value.IsNull()) {
    std::string id(project.StringOr("id"));
    if (id.empty()) {
      id = "0-" + std::to_string(100 + projects_.size());
    }
    std::string_view name = project.StringOr("name", short_name);
    entry.value = Value(Value::Object{{"$type", "Project"},
                                      {"id", id},
                                      {"shortName", short_name},
                                      {"name", name},
                                      {"description", Value()},
                                      {"archived", false}});
  }
  entry.short_name = std::string(short_name);
  entry.name = std::string(entry.value.StringOr("name"));
  projects_.push_back(std::move(entry));
  return projects_.size() - 1;
}

std::optional<std::size_t> SampleTracker::FindKeyLocked(std::uint64_t key) const {
  auto it = std::lower_bound(records_.begin(), records_.end(), key,
                             [](const Record& r, std::uint64_t k) { return r.key < k; });
  if (it != records_.end() && it->key == key) {
    return static_cast<std::size_t>(it - records_.begin());
  }
  return std::nullopt;
}

std::optional<std::size_t> SampleTracker::FindLocked(std::string_view id) const {
  if (auto key = ParseEntityId(id)) {
    return FindKeyLocked(*key);
  }
  auto dash = id.rfind('-');
  if (dash == std::string_view::npos) {
    return std::nullopt;
  }
  auto number = ParseNumber(id.substr(dash + 1));
  std::string_view short_name = id.substr(0, dash);
  if (!number) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const Record& r = records_[i];
    if (r.number == *number && EqualsIgnoreCase(projects_[r.project].short_name, short_name)) {
      return i;
    }
  }
  return std::nullopt;
}

Value SampleTracker::MaterializeLocked(const Record& record) const {
  if (record.full) {
    return *record.full;
  }
  return generators_[record.generator - 1u].Build(record.ordinal, FormatEntityId(record.key),
                                                  record.number);
}

// ---- Custom fields ----

void SampleTracker::LearnFieldsLocked(const Value& issue, std::size_t project) {
  const Value* fields = issue.Find("customFields");
  if (fields == nullptr || !fields->IsList()) {
    return;
  }
  for (const Value& issue_field : fields->AsList()) {
    const Value* project_field = issue_field.Find("projectCustomField");
    const Value* field = project_field != nullptr ? project_field->Find("field") : nullptr;
    const Value* type = field != nullptr ? field->Find("fieldType") : nullptr;
    if (type == nullptr) {
      continue;  // an issue written without the field's description
    }
    std::string_view field_id = field->StringOr("id");
    std::string_view name = field->StringOr("name", issue_field.StringOr("name"));
    std::string_view type_id = type->StringOr("id");
    if (field_id.empty() || name.empty() || type_id.empty()) {
      continue;
    }
    if (FindCustomFieldByIdLocked(field_id) == nullptr) {
      custom_fields_.push_back(
          CustomField{std::string(field_id), std::string(name), std::string(type_id)});
    }
    std::vector<ProjectField>& attached = projects_[project].fields;
    if (std::ranges::none_of(attached,
                             [&](const ProjectField& f) { return f.field_id == field_id; })) {
      attached.push_back(ProjectField{std::string(project_field->StringOr("id")),
                                      std::string(field_id),
                                      std::string(project_field->StringOr("$type")),
                                      std::string(issue_field.StringOr("$type"))});
    }
  }
}

const SampleTracker::CustomField* SampleTracker::FindCustomFieldLocked(
    std::string_view name) const {
  for (const CustomField& field : custom_fields_) {
    if (field.name == name) {
      return &field;
    }
  }
  for (const CustomField& field : custom_fields_) {
    if (EqualsIgnoreCase(field.name, name)) {
      return &field;
    }
  }
  return nullptr;
}

const SampleTracker::CustomField* SampleTracker::FindCustomFieldByIdLocked(
    std::string_view id) const {
  for (const CustomField& field : custom_fields_) {
    if (field.id == id) {
      return &field;
    }
  }
  return nullptr;
}

std::optional<std::size_t> SampleTracker::FindProjectLocked(std::string_view id) const {
  for (std::size_t i = 0; i < projects_.size(); ++i) {
    if (projects_[i].value.StringOr("id") == id || projects_[i].short_name == id) {
      return i;
    }
  }
  return std::nullopt;
}

Result<std::string> SampleTracker::AddCustomFieldLocked(std::string name, std::string type_id) {
  if (TrimSpace(name).empty()) {
    return Fail(ErrorCode::kConfig, "Custom field name should not be empty");
  }
  if (!KnownFieldType(type_id)) {
    return Fail(ErrorCode::kConfig, "Unknown field type: " + type_id);
  }
  if (FindCustomFieldLocked(name) != nullptr) {
    return Fail(ErrorCode::kConfig, "Custom field with name " + name + " already exists");
  }
  std::string id;
  do {
    id = NewEntityId("106", next_field_number_++);
  } while (FindCustomFieldByIdLocked(id) != nullptr);
  custom_fields_.push_back(CustomField{id, std::move(name), std::move(type_id)});
  return id;
}

Value SampleTracker::AttachLocked(std::size_t project, const CustomField& field) {
  const AttachedClasses classes = *AttachableClasses(field.type_id);
  ProjectField attached{NewEntityId("150", next_field_number_++), field.id,
                        std::string(classes.project_field), std::string(classes.issue_field)};
  projects_[project].fields.push_back(attached);
  return ProjectFieldValueLocked(attached);
}

Value SampleTracker::CustomFieldValueLocked(const CustomField& field) const {
  return Value(
      Value::Object{{"$type", "CustomField"},
                    {"id", field.id},
                    {"name", field.name},
                    {"localizedName", Value()},
                    {"fieldType", Value(Value::Object{{"$type", "FieldType"},
                                                      {"id", field.type_id},
                                                      {"valueType", ValueTypeOf(field.type_id)}})},
                    {"isAutoAttached", false}});
}

Value SampleTracker::ProjectFieldValueLocked(const ProjectField& field) const {
  const CustomField* global = FindCustomFieldByIdLocked(field.field_id);
  return Value(Value::Object{
      {"$type", field.type},
      {"id", field.id},
      {"field", global != nullptr ? CustomFieldValueLocked(*global) : Value()},
      {"canBeEmpty", true},
      {"emptyFieldText", global != nullptr ? "No " + global->name : std::string("No value")},
      {"isPublic", true}});
}

Value SampleTracker::ProjectValueLocked(const Project& project) const {
  Value value = project.value;
  Value::List fields;
  for (const ProjectField& field : project.fields) {
    fields.push_back(ProjectFieldValueLocked(field));
  }
  value.AsObject()["customFields"] = Value(std::move(fields));
  return value;
}

Result<std::string> SampleTracker::AddIssueLocked(Value issue) {
  if (!issue.IsObject()) {
    return Fail(ErrorCode::kConfig, "an issue must be a JSON object");
  }
  const Value* project = issue.Find("project");
  if (project == nullptr || project->StringOr("shortName").empty()) {
    return Fail(ErrorCode::kConfig, "an issue needs a project with a shortName");
  }
  std::size_t project_index = ProjectIndexLocked(*project);
  Project& p = projects_[project_index];
  Value::Object& o = issue.AsObject();

  Record record;
  if (const Value* id = issue.Find("id")) {
    auto key = id->IsString() ? ParseEntityId(id->AsString()) : std::nullopt;
    if (!key) {
      return Fail(ErrorCode::kConfig,
                  "issue id " + id->ToJson() + " is not an entity id like 2-17");
    }
    record.key = *key;
  } else {
    record.key = (kIssueClass << 32) | next_issue_number_;
    o["id"] = FormatEntityId(record.key);
  }
  auto it = std::lower_bound(records_.begin(), records_.end(), record.key,
                             [](const Record& r, std::uint64_t k) { return r.key < k; });
  if (it != records_.end() && it->key == record.key) {
    return Fail(ErrorCode::kConfig, "duplicate issue id " + FormatEntityId(record.key));
  }
  if (record.key >> 32 == kIssueClass) {
    next_issue_number_ =
        std::max<std::uint64_t>(next_issue_number_, (record.key & 0xffffffffULL) + 1);
  }

  std::string_view readable = issue.StringOr("idReadable");
  std::optional<std::uint64_t> number;
  if (auto dash = readable.rfind('-'); dash != std::string_view::npos) {
    number = ParseNumber(readable.substr(dash + 1));
  }
  if (!number && IntOr(issue, "numberInProject", 0) > 0) {
    number = static_cast<std::uint64_t>(IntOr(issue, "numberInProject", 0));
  }
  if (!number) {
    number = p.next_number;
  }
  record.number = static_cast<std::uint32_t>(*number);
  p.next_number = std::max<std::uint32_t>(p.next_number, record.number + 1);
  if (readable.empty()) {
    o["idReadable"] = p.short_name + "-" + std::to_string(record.number);
  }
  if (issue.Find("numberInProject") == nullptr) {
    o["numberInProject"] = static_cast<std::int64_t>(record.number);
  }
  std::int64_t now = options_.clock();
  if (!IntOr(issue, "created", 0)) {
    o["created"] = now;
  }
  if (!IntOr(issue, "updated", 0)) {
    o["updated"] = std::max(now, IntOr(issue, "created", now));
  }
  if (issue.Find("resolved") == nullptr) {
    o["resolved"] = Value();
  }
  if (issue.Find("$type") == nullptr) {
    o["$type"] = "Issue";
  }
  LearnFieldsLocked(issue, project_index);
  record.project = static_cast<std::uint16_t>(project_index);
  record.created = IntOr(issue, "created", 0);
  record.updated = IntOr(issue, "updated", 0);
  record.resolved = IntOr(issue, "resolved", kUnresolved);
  std::string id(issue.StringOr("id"));
  record.full = std::make_shared<const Value>(std::move(issue));
  by_updated_.emplace(record.updated, record.key);
  records_.insert(it, std::move(record));
  return id;
}

bool SampleTracker::ReindexLocked(Record& record, Value& issue, std::size_t old_project) {
  const Value* project = issue.Find("project");
  if (project == nullptr || project->StringOr("shortName").empty()) {
    return false;
  }
  std::size_t project_index = ProjectIndexLocked(*project);
  Project& p = projects_[project_index];
  Value::Object& o = issue.AsObject();
  o["id"] = FormatEntityId(record.key);
  if (project_index != old_project) {
    record.number = p.next_number++;
    o["idReadable"] = p.short_name + "-" + std::to_string(record.number);
    o["numberInProject"] = static_cast<std::int64_t>(record.number);
  } else if (auto dash = issue.StringOr("idReadable").rfind('-'); dash != std::string_view::npos) {
    if (auto n = ParseNumber(issue.StringOr("idReadable").substr(dash + 1))) {
      record.number = static_cast<std::uint32_t>(*n);
      p.next_number = std::max<std::uint32_t>(p.next_number, record.number + 1);
    }
  }
  LearnFieldsLocked(issue, project_index);
  record.project = static_cast<std::uint16_t>(project_index);
  record.created = IntOr(issue, "created", record.created);
  record.updated = IntOr(issue, "updated", record.updated);
  record.resolved = IntOr(issue, "resolved", kUnresolved);
  record.generator = 0;
  record.full = std::make_shared<const Value>(std::move(issue));
  return true;
}

// ---- Mutation API ----

Result<std::size_t> SampleTracker::LoadIssues(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(ErrorCode::kConfig, "cannot open " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = ParseJson(text.str());
  if (!parsed) {
    return std::unexpected(parsed.error().Wrap(path));
  }
  const Value* issues = &*parsed;
  std::lock_guard lock(mu_);
  if (parsed->IsObject()) {
    if (const Value* projects = parsed->Find("projects"); projects && projects->IsList()) {
      for (const Value& project : projects->AsList()) {
        ProjectIndexLocked(project);
      }
    }
    issues = parsed->Find("issues");
  }
  if (issues == nullptr || !issues->IsList()) {
    return Fail(ErrorCode::kConfig, path + ": expected a list of issues");
  }
  std::size_t added = 0;
  for (const Value& issue : issues->AsList()) {
    auto id = AddIssueLocked(issue);
    if (!id) {
      return std::unexpected(id.error().Wrap(path));
    }
    ++added;
  }
  return added;
}

void SampleTracker::GenerateIssues(std::size_t count, std::uint64_t seed) {
  std::lock_guard lock(mu_);
  generators_.emplace_back(seed, count);
  const SyntheticIssueGenerator& generator = generators_.back();
  auto generator_index = static_cast<std::uint16_t>(generators_.size());
  std::vector<std::uint16_t> project_map;
  for (const SampleProject& sample : SampleProjects()) {
    project_map.push_back(
        static_cast<std::uint16_t>(ProjectIndexLocked(SampleProjectValue(sample))));
  }
  std::uint64_t first_key = (kIssueClass << 32) | next_issue_number_;
  bool stays_sorted = records_.empty() || records_.back().key < first_key;
  records_.reserve(records_.size() + count);
  std::vector<std::pair<std::int64_t, std::uint64_t>> order;
  order.reserve(count);
  // The projects' custom fields, from the first generated issue of each.
  std::vector<bool> learned(project_map.size(), false);
  for (std::size_t i = 0; i < count; ++i) {
    SyntheticIssueGenerator::Outline outline = generator.Describe(i);
    if (!learned[outline.project]) {
      learned[outline.project] = true;
      LearnFieldsLocked(generator.Build(i, "2-0", 1), project_map[outline.project]);
    }
    Record record;
    record.key = (kIssueClass << 32) | next_issue_number_++;
    record.created = outline.created;
    record.updated = outline.updated;
    record.resolved = outline.resolved.value_or(kUnresolved);
    record.project = project_map[outline.project];
    record.number = projects_[record.project].next_number++;
    record.ordinal = static_cast<std::uint32_t>(i);
    record.generator = generator_index;
    order.emplace_back(record.updated, record.key);
    records_.push_back(std::move(record));
  }
  if (!stays_sorted) {
    std::sort(records_.begin(), records_.end(),
              [](const Record& a, const Record& b) { return a.key < b.key; });
  }
  // Sorted first: inserting in order costs amortized constant time each.
  std::sort(order.begin(), order.end());
  by_updated_.insert(order.begin(), order.end());
}

Result<std::string> SampleTracker::AddIssue(Value issue) {
  std::lock_guard lock(mu_);
  return AddIssueLocked(std::move(issue));
}

bool SampleTracker::UpdateIssue(std::string_view id,
                                const std::function<void(Value& issue)>& change) {
  std::lock_guard lock(mu_);
  return UpdateLocked(id, change, /*stamp=*/true);
}

bool SampleTracker::EditIssueInPlace(std::string_view id,
                                     const std::function<void(Value& issue)>& change) {
  std::lock_guard lock(mu_);
  return UpdateLocked(id, change, /*stamp=*/false);
}

bool SampleTracker::UpdateLocked(std::string_view id,
                                 const std::function<void(Value& issue)>& change, bool stamp) {
  auto index = FindLocked(id);
  if (!index) {
    return false;
  }
  Record& record = records_[*index];
  Value issue = MaterializeLocked(record);
  Value before_updated = issue.Find("updated") ? *issue.Find("updated") : Value();
  change(issue);
  if (!issue.IsObject()) {
    return false;
  }
  const Value* after_updated = issue.Find("updated");
  if (after_updated == nullptr || (stamp && *after_updated == before_updated)) {
    issue.AsObject()["updated"] = std::max(options_.clock(), record.updated + 1);
  }
  by_updated_.erase({record.updated, record.key});
  bool reindexed = ReindexLocked(record, issue, record.project);
  by_updated_.emplace(record.updated, record.key);
  return reindexed;
}

bool SampleTracker::SetSummary(std::string_view id, std::string summary) {
  return UpdateIssue(id, [&](Value& issue) { issue.AsObject()["summary"] = std::move(summary); });
}

bool SampleTracker::SetFieldValue(std::string_view id, std::string_view field_name, Value value) {
  auto current = GetIssue(id);
  if (!current) {
    return false;
  }
  const Value* fields = current->Find("customFields");
  bool exists = fields != nullptr && fields->IsList() &&
                std::any_of(fields->AsList().begin(), fields->AsList().end(),
                            [&](const Value& f) { return f.StringOr("name") == field_name; });
  if (!exists) {
    return false;
  }
  return UpdateIssue(id, [&](Value& issue) {
    Value* list =
        issue.AsObject().contains("customFields") ? &issue.AsObject()["customFields"] : nullptr;
    if (list == nullptr || !list->IsList()) {
      return;
    }
    for (Value& field : list->AsList()) {
      if (field.StringOr("name") != field_name) {
        continue;
      }
      std::string_view type = field.StringOr("$type");
      if (type == "StateIssueCustomField" || type == "StateMachineIssueCustomField") {
        if (const Value* resolved = value.Find("isResolved"); resolved && resolved->IsBool()) {
          bool was_resolved = issue.FindNonNull("resolved") != nullptr;
          if (resolved->AsBool() && !was_resolved) {
            issue.AsObject()["resolved"] = options_.clock();
          } else if (!resolved->AsBool()) {
            issue.AsObject()["resolved"] = Value();
          }
        }
      }
      field.AsObject()["value"] = std::move(value);
      return;
    }
  });
}

bool SampleTracker::DeleteIssue(std::string_view id) {
  std::lock_guard lock(mu_);
  auto index = FindLocked(id);
  if (!index) {
    return false;
  }
  by_updated_.erase({records_[*index].updated, records_[*index].key});
  records_.erase(records_.begin() + static_cast<std::ptrdiff_t>(*index));
  return true;
}

std::optional<Value> SampleTracker::GetIssue(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto index = FindLocked(id);
  if (!index) {
    return std::nullopt;
  }
  return MaterializeLocked(records_[*index]);
}

std::size_t SampleTracker::issue_count() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

std::vector<std::string> SampleTracker::IssueIds() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(records_.size());
  for (const Record& r : records_) {
    ids.push_back(FormatEntityId(r.key));
  }
  return ids;
}

void SampleTracker::ClearIssues() {
  std::lock_guard lock(mu_);
  records_.clear();
  by_updated_.clear();
}

// ---- Authentication, faults, log ----

void SampleTracker::SetAdmin(std::string_view token, bool admin) {
  std::lock_guard lock(mu_);
  if (admin) {
    admin_tokens_.emplace(token);
  } else if (auto it = admin_tokens_.find(token); it != admin_tokens_.end()) {
    admin_tokens_.erase(it);
  }
}

Result<std::string> SampleTracker::AddCustomField(std::string name, std::string type_id) {
  std::lock_guard lock(mu_);
  return AddCustomFieldLocked(std::move(name), std::move(type_id));
}

Result<void> SampleTracker::AttachCustomField(std::string_view short_name,
                                              std::string_view field_name) {
  std::lock_guard lock(mu_);
  auto project = FindProjectLocked(short_name);
  if (!project) {
    return Fail(ErrorCode::kConfig, "no project " + std::string(short_name));
  }
  const CustomField* field = FindCustomFieldLocked(field_name);
  if (field == nullptr) {
    return Fail(ErrorCode::kConfig, "no custom field " + std::string(field_name));
  }
  if (std::ranges::any_of(projects_[*project].fields,
                          [&](const ProjectField& f) { return f.field_id == field->id; })) {
    return Fail(ErrorCode::kConfig, field->name + " is attached to " + std::string(short_name));
  }
  if (!AttachableClasses(field->type_id)) {
    return Fail(ErrorCode::kConfig, "the sample tracker attaches no " + field->type_id + " field");
  }
  AttachLocked(*project, *field);
  return {};
}

std::optional<std::string> SampleTracker::CustomFieldType(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const CustomField& field : custom_fields_) {
    if (field.name == name) {
      return field.type_id;
    }
  }
  return std::nullopt;
}

bool SampleTracker::IsAttached(std::string_view short_name, std::string_view field_name) const {
  std::lock_guard lock(mu_);
  auto project = FindProjectLocked(short_name);
  if (!project) {
    return false;
  }
  return std::ranges::any_of(projects_[*project].fields, [&](const ProjectField& f) {
    const CustomField* global = FindCustomFieldByIdLocked(f.field_id);
    return global != nullptr && global->name == field_name;
  });
}

std::optional<Value> SampleTracker::FieldValue(std::string_view id,
                                               std::string_view field_name) const {
  auto issue = GetIssue(id);
  const Value* fields = issue ? issue->Find("customFields") : nullptr;
  if (fields == nullptr || !fields->IsList()) {
    return std::nullopt;
  }
  for (const Value& field : fields->AsList()) {
    if (field.StringOr("name") == field_name) {
      const Value* value = field.Find("value");
      return value != nullptr ? *value : Value();
    }
  }
  return std::nullopt;
}

void SampleTracker::SetToken(std::string token) {
  std::lock_guard lock(mu_);
  tokens_.erase(primary_token_);
  primary_token_ = std::move(token);
  tokens_[primary_token_] = SampleUserValue("sync.bot");
}

void SampleTracker::AddToken(std::string token, std::string login) {
  std::lock_guard lock(mu_);
  Value user = SampleUserValue(login);
  if (user.IsNull()) {
    user = Value(Value::Object{{"$type", "User"},
                               {"id", "1-" + std::to_string(100 + tokens_.size())},
                               {"login", login},
                               {"fullName", login},
                               {"name", login},
                               {"email", login + "@example.com"}});
  }
  tokens_[std::move(token)] = std::move(user);
}

void SampleTracker::RevokeToken(std::string_view token) {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it != tokens_.end()) {
    tokens_.erase(it);
  }
}

void SampleTracker::SetGuestAccess(bool enabled) {
  std::lock_guard lock(mu_);
  guest_access_ = enabled;
}

void SampleTracker::InjectFault(Fault fault) {
  std::lock_guard lock(mu_);
  if (fault.times > 0) {
    faults_.push_back(std::move(fault));
  }
}

void SampleTracker::ClearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

std::size_t SampleTracker::pending_faults() const {
  std::lock_guard lock(mu_);
  return faults_.size();
}

std::uint64_t SampleTracker::total_requests() const {
  std::lock_guard lock(mu_);
  return total_requests_;
}

std::size_t SampleTracker::RequestCount(std::string_view api_path) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(api_path);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<SampleTracker::RecordedRequest> SampleTracker::requests() const {
  std::lock_guard lock(mu_);
  return log_;
}

std::optional<SampleTracker::RecordedRequest> SampleTracker::LastRequest(
    std::string_view api_path) const {
  std::lock_guard lock(mu_);
  for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
    if (api_path.empty() || it->api_path == api_path) {
      return *it;
    }
  }
  return std::nullopt;
}

void SampleTracker::OnIssuesRequest(std::function<void(std::size_t n)> hook) {
  std::lock_guard lock(mu_);
  issues_hook_ = std::move(hook);
}

std::size_t SampleTracker::max_concurrent_requests() const {
  std::lock_guard lock(mu_);
  return max_in_flight_;
}

void SampleTracker::ClearRequests() {
  std::lock_guard lock(mu_);
  log_.clear();
  counts_.clear();
  total_requests_ = 0;
  max_in_flight_ = in_flight_;
}

// ---- Serving ----

HttpServerResponse SampleTracker::Handle(const HttpServerRequest& request) {
  const std::string& prefix = options_.path_prefix;
  std::string_view path = request.path;
  bool is_api = path.starts_with(prefix) && path.substr(prefix.size()).starts_with("/api/");
  std::string api_path(is_api ? path.substr(prefix.size()) : path);

  std::optional<Fault> fault;
  std::function<void(std::size_t)> hook;
  std::size_t issues_request = 0;
  {
    std::lock_guard lock(mu_);
    ++total_requests_;
    max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    std::size_t count = ++counts_[api_path];
    if (api_path == "/api/issues" && issues_hook_) {
      hook = issues_hook_;
      issues_request = count;
    }
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (it->path.empty() || it->path == api_path ||
          (api_path.starts_with(it->path) && api_path[it->path.size()] == '/')) {
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
    hook(issues_request);
  }

  HttpServerResponse response;
  if (fault && fault->status) {
    response.status = *fault->status;
    response.headers = fault->headers;
    response.body = fault->body;
  } else if (!is_api) {
    // YouTrack answers unknown UI paths with its single-page app.
    response = HttpServerResponse::Text(200, std::string(kAppShell), "text/html;charset=UTF-8");
  } else {
    response = Serve(request, api_path);
  }
  if (fault) {
    response.delay = fault->delay;
    response.drop_connection = fault->drop_connection;
    response.truncate_body_at = fault->truncate_body_at;
  }

  std::lock_guard lock(mu_);
  --in_flight_;
  log_.push_back(RecordedRequest{request, api_path, response.drop_connection ? 0 : response.status,
                                 fault.has_value()});
  return response;
}

HttpServerResponse SampleTracker::Serve(const HttpServerRequest& request,
                                        std::string_view api_path) {
  std::optional<Value> user;  // nullopt: guest
  bool admin = false;
  auto authorization = request.Header("authorization");
  {
    std::lock_guard lock(mu_);
    if (!authorization) {
      if (!guest_access_) {
        return Unauthorized("You are not logged in.");
      }
    } else {
      constexpr std::string_view kBearer = "Bearer ";
      if (authorization->size() <= kBearer.size() ||
          !EqualsIgnoreCase(authorization->substr(0, kBearer.size()), kBearer)) {
        return Unauthorized("");
      }
      auto it = tokens_.find(authorization->substr(kBearer.size()));
      if (it == tokens_.end()) {
        return Unauthorized("");
      }
      user = it->second;
      admin = admin_tokens_.contains(it->first);
    }
  }

  const bool get = request.method == "GET";
  auto not_allowed = [] {
    return ErrorResponse(405, "Method Not Allowed", "HTTP 405 Method Not Allowed");
  };
  if (api_path == "/api/users/me") {
    return get ? ServeMe(request, user ? &*user : nullptr) : not_allowed();
  }
  const bool post = request.method == "POST";
  if (api_path == "/api/admin/projects") {
    if (!get) {
      return not_allowed();
    }
    return user ? ServeProjects(request) : JsonList({});
  }
  if (api_path == "/api/admin/customFieldSettings/customFields") {
    if (!get && !post) {
      return not_allowed();
    }
    if (!user) {
      return get ? JsonList({}) : Forbidden();
    }
    return ServeCustomFields(request, admin);
  }
  constexpr std::string_view kProjectPrefix = "/api/admin/projects/";
  if (api_path.starts_with(kProjectPrefix)) {
    std::string_view rest = api_path.substr(kProjectPrefix.size());
    const auto slash = rest.find('/');
    std::string_view id = rest.substr(0, slash);
    if (!user) {
      return ErrorResponse(404, "Not Found", "Entity with id " + std::string(id) + " not found");
    }
    if (slash == std::string_view::npos) {
      return get ? ServeProject(request, id) : not_allowed();
    }
    if (rest.substr(slash) == "/customFields") {
      return get || post ? ServeProjectFields(request, id, admin) : not_allowed();
    }
    return ErrorResponse(404, "Not Found", "HTTP 404 Not Found");
  }
  if (api_path == "/api/issues") {
    if (!get) {
      return not_allowed();
    }
    return user ? ServeIssues(request) : JsonList({});
  }
  if (api_path == "/api/issuesGetter/count") {
    if (request.method != "POST") {
      return not_allowed();
    }
    return ServeCount(request);
  }
  if (api_path.starts_with("/api/issues/") &&
      api_path.find('/', std::string_view("/api/issues/").size()) == std::string_view::npos) {
    if (!get && !post) {
      return not_allowed();
    }
    std::string_view id = api_path.substr(std::string_view("/api/issues/").size());
    if (!user) {
      if (post) {
        return Unauthorized("You are not logged in.");
      }
      return ErrorResponse(404, "Not Found", "Entity with id " + std::string(id) + " not found");
    }
    return get ? ServeIssue(request, id) : ServeWrite(request, id);
  }
  return ErrorResponse(404, "Not Found", "HTTP 404 Not Found");
}

HttpServerResponse SampleTracker::ServeMe(const HttpServerRequest& request, const Value* user) {
  auto params = ParseListParams(request);
  if (!params) {
    return ErrorResponse(400, "bad_request", params.error().message);
  }
  Value me;
  if (user == nullptr) {
    me = Value(Value::Object{{"id", "1-0"},
                             {"login", "guest"},
                             {"fullName", "Guest"},
                             {"name", "Guest"},
                             {"email", Value()},
                             {"ringId", "guest"},
                             {"online", false}});
  } else {
    me = *user;
    me.AsObject()["online"] = true;
  }
  Value::Object& o = me.AsObject();
  o["$type"] = "Me";
  o["guest"] = user == nullptr;
  o["banned"] = false;
  o["jabberAccountName"] = Value();
  o["tags"] = Value(Value::List{});
  o["profiles"] = Value(Value::Object{
      {"$type", "UserProfiles"},
      {"general",
       Value(Value::Object{{"$type", "GeneralUserProfile"},
                           {"timezone", TimeZoneDescriptor(options_.user_utc_offset_minutes)}})}});
  return HttpServerResponse::Json(200, ProjectFields(me, params->fields).ToJson());
}

HttpServerResponse SampleTracker::ServeProjects(const HttpServerRequest& request) {
  auto params = ParseListParams(request);
  if (!params) {
    return ErrorResponse(400, "bad_request", params.error().message);
  }
  Value::List list;
  {
    std::lock_guard lock(mu_);
    auto begin = std::min<std::int64_t>(params->skip, static_cast<std::int64_t>(projects_.size()));
    auto end = static_cast<std::int64_t>(projects_.size());
    if (params->top < end - begin) {
      end = begin + params->top;
    }
    for (auto i = begin; i < end; ++i) {
      list.push_back(ProjectFields(ProjectValueLocked(projects_[static_cast<std::size_t>(i)]),
                                   params->fields));
    }
  }
  return JsonList(std::move(list));
}

Result<std::vector<const SampleTracker::Record*>> SampleTracker::MatchLocked(
    std::string_view text, std::int64_t skip, std::int64_t top) const {
  auto query = ParseIssueQuery(text, options_.user_utc_offset_minutes);
  if (!query) {
    return std::unexpected(query.error());
  }
  // Project names resolve to sets of project indexes; unknown names match nothing.
  std::vector<std::vector<bool>> project_terms;
  for (const auto& names : query->projects) {
    std::vector<bool> allowed(projects_.size(), false);
    for (const std::string& name : names) {
      for (std::size_t i = 0; i < projects_.size(); ++i) {
        if (EqualsIgnoreCase(projects_[i].short_name, name) ||
            EqualsIgnoreCase(projects_[i].name, name)) {
          allowed[i] = true;
        }
      }
    }
    project_terms.push_back(std::move(allowed));
  }
  std::vector<std::unordered_set<std::uint64_t>> id_terms;
  for (const auto& ids : query->issue_ids) {
    std::unordered_set<std::uint64_t> wanted;
    for (const std::string& id : ids) {
      auto dash = id.rfind('-');
      auto number = ParseNumber(std::string_view(id).substr(dash + 1));
      std::string_view short_name = std::string_view(id).substr(0, dash);
      for (std::size_t i = 0; number && i < projects_.size(); ++i) {
        if (EqualsIgnoreCase(projects_[i].short_name, short_name)) {
          wanted.insert((static_cast<std::uint64_t>(i) << 32) | *number);
        }
      }
    }
    id_terms.push_back(std::move(wanted));
  }

  auto matches = [&](const Record& r) {
    bool resolved = r.resolved != kUnresolved;
    if ((query->require_resolved && !resolved) || (query->require_unresolved && resolved)) {
      return false;
    }
    bool match = true;
    for (const auto& allowed : project_terms) {
      match = match && allowed[r.project];
    }
    for (const auto& range : query->updated) {
      match = match && range.Contains(r.updated);
    }
    for (const auto& range : query->created) {
      match = match && range.Contains(r.created);
    }
    for (const auto& wanted : id_terms) {
      match = match && wanted.contains((static_cast<std::uint64_t>(r.project) << 32) | r.number);
    }
    return match;
  };

  std::vector<const Record*> page;
  if (top <= 0) {
    return page;
  }
  // Takes a match unless it is one of the first `skip`; false once the
  // page is full.
  auto take = [&](const Record& r) {
    if (skip > 0) {
      --skip;
      return true;
    }
    page.push_back(&r);
    return static_cast<std::int64_t>(page.size()) < top;
  };

  switch (query->sort_key) {
    case QuerySortKey::kNone:
      for (const Record& r : records_) {
        if (matches(r) && !take(r)) {
          break;
        }
      }
      break;
    case QuerySortKey::kUpdated: {
      // Only the stretch of the order that the updated: ranges allow.
      std::optional<std::int64_t> from;
      std::optional<std::int64_t> to;
      for (const QueryTimeRange& range : query->updated) {
        if (range.from_ms) {
          from = std::max(from.value_or(*range.from_ms), *range.from_ms);
        }
        if (range.to_ms) {
          to = std::min(to.value_or(*range.to_ms), *range.to_ms);
        }
      }
      if (from && to && *from >= *to) {
        break;
      }
      auto lo = from ? by_updated_.lower_bound({*from, 0}) : by_updated_.begin();
      auto hi = to ? by_updated_.lower_bound({*to, 0}) : by_updated_.end();
      // False once the page is full.
      auto visit = [&](std::uint64_t key) {
        const Record& r = records_[*FindKeyLocked(key)];
        return !matches(r) || take(r);
      };
      if (query->sort_ascending) {
        for (auto it = lo; it != hi && visit(it->second); ++it) {
        }
        break;
      }
      // Newest first, but equal times still in entity-id order: each run of
      // equal times from the end, read forwards.
      for (bool more = true; more && hi != lo;) {
        auto run = by_updated_.lower_bound({std::prev(hi)->first, 0});
        for (auto it = run; more && it != hi; ++it) {
          more = visit(it->second);
        }
        hi = run;
      }
      break;
    }
    case QuerySortKey::kCreated: {
      std::vector<const Record*> all;
      for (const Record& r : records_) {
        if (matches(r)) {
          all.push_back(&r);
        }
      }
      // Stable: equal times keep entity-id order.
      bool ascending = query->sort_ascending;
      std::stable_sort(all.begin(), all.end(), [&](const Record* a, const Record* b) {
        return ascending ? a->created < b->created : a->created > b->created;
      });
      for (const Record* r : all) {
        if (!take(*r)) {
          break;
        }
      }
      break;
    }
  }
  return page;
}

HttpServerResponse SampleTracker::ServeIssues(const HttpServerRequest& request) {
  auto params = ParseListParams(request);
  if (!params) {
    return ErrorResponse(400, "bad_request", params.error().message);
  }
  std::function<bool(std::string_view)> keep_field;
  if (params->custom_fields) {
    keep_field = [&names = *params->custom_fields](std::string_view name) {
      return std::any_of(names.begin(), names.end(),
                         [&](const std::string& n) { return EqualsIgnoreCase(n, name); });
    };
  }
  // The JSON list, written issue by issue.
  std::string body = "[";
  SyntheticIssueGenerator::PieceCache pieces;
  std::function<void(std::string&)> rewrite;
  {
    std::lock_guard lock(mu_);
    rewrite = rewrite_issue_lists_;
    auto matched = MatchLocked(request.Param("query").value_or(""), params->skip, params->top);
    if (!matched) {
      return ErrorResponse(400, "invalid_query", matched.error().message);
    }
    for (const Record* record : *matched) {
      if (record != matched->front()) {
        body.push_back(',');
      }
      if (record->full) {
        ProjectIssue(*record->full, *params).AppendJson(body);
      } else {
        // Synthetic issues are written straight in the requested shape.
        generators_[record->generator - 1u].AppendProjectedJson(
            body, record->ordinal, FormatEntityId(record->key), record->number, params->fields,
            keep_field, pieces);
      }
    }
  }
  body.push_back(']');
  if (rewrite) {
    rewrite(body);
  }
  return HttpServerResponse::Json(200, std::move(body));
}

void SampleTracker::RewriteIssueLists(std::function<void(std::string& body)> rewrite) {
  std::lock_guard lock(mu_);
  rewrite_issue_lists_ = std::move(rewrite);
}

HttpServerResponse SampleTracker::ServeIssue(const HttpServerRequest& request,
                                             std::string_view id) {
  auto params = ParseListParams(request);
  if (!params) {
    return ErrorResponse(400, "bad_request", params.error().message);
  }
  Value issue;
  {
    std::lock_guard lock(mu_);
    auto index = FindLocked(id);
    if (!index) {
      return ErrorResponse(404, "Not Found", "Entity with id " + std::string(id) + " not found");
    }
    issue = ProjectIssue(MaterializeLocked(records_[*index]), *params);
  }
  return HttpServerResponse::Json(200, issue.ToJson());
}

HttpServerResponse SampleTracker::ServeCount(const HttpServerRequest& request) {
  auto params = ParseListParams(request);
  if (!params) {
    return ErrorResponse(400, "bad_request", params.error().message);
  }
  std::string query;
  if (!request.body.empty()) {
    auto body = ParseJson(request.body);
    if (!body || !body->IsObject()) {
      return ErrorResponse(400, "bad_request", "The request body is not a JSON object");
    }
    query = std::string(body->StringOr("query"));
  }
  std::int64_t count = 0;
  if (request.Header("authorization")) {
    std::lock_guard lock(mu_);
    auto matched = MatchLocked(query, 0, std::numeric_limits<std::int64_t>::max());
    if (!matched) {
      return ErrorResponse(400, "invalid_query", matched.error().message);
    }
    count = static_cast<std::int64_t>(matched->size());
  }
  Value result(Value::Object{{"$type", "IssueCountResponse"}, {"count", count}});
  return HttpServerResponse::Json(200, ProjectFields(result, params->fields).ToJson());
}

// ---- Custom fields: the admin API and the write path ----

namespace {

// The part [skip, skip + top) of `list`.
template <typename T>
std::span<const T> Page(const std::vector<T>& list, std::int64_t skip, std::int64_t top) {
  const auto size = static_cast<std::int64_t>(list.size());
  const std::int64_t begin = std::min(skip, size);
  const std::int64_t end = top < size - begin ? begin + top : size;
  return std::span<const T>(list).subspan(static_cast<std::size_t>(begin),
                                          static_cast<std::size_t>(end - begin));
}

}  // namespace

HttpServerResponse SampleTracker::ServeProject(const HttpServerRequest& request,
                                               std::string_view id) {
  auto params = ParseListParams(request);
  if (!params) {
    return ErrorResponse(400, "bad_request", params.error().message);
  }
  std::lock_guard lock(mu_);
  auto project = FindProjectLocked(id);
  if (!project) {
    return ErrorResponse(404, "Not Found", "Entity with id " + std::string(id) + " not found");
  }
  return HttpServerResponse::Json(
      200, ProjectFields(ProjectValueLocked(projects_[*project]), params->fields).ToJson());
}

HttpServerResponse SampleTracker::ServeCustomFields(const HttpServerRequest& request, bool admin) {
  auto params = ParseListParams(request);
  if (!params) {
    return ErrorResponse(400, "bad_request", params.error().message);
  }
  if (request.method == "GET") {
    Value::List list;
    std::lock_guard lock(mu_);
    for (const CustomField& field : Page(custom_fields_, params->skip, params->top)) {
      list.push_back(ProjectFields(CustomFieldValueLocked(field), params->fields));
    }
    return JsonList(std::move(list));
  }
  if (!admin) {
    return Forbidden();
  }
  auto body = ParseJson(request.body);
  if (!body || !body->IsObject()) {
    return ErrorResponse(400, "bad_request", "The request body is not a JSON object");
  }
  const Value* type = body->Find("fieldType");
  std::string type_id(type != nullptr ? type->StringOr("id") : "");
  std::lock_guard lock(mu_);
  auto id = AddCustomFieldLocked(std::string(body->StringOr("name")), std::move(type_id));
  if (!id) {
    return ErrorResponse(400, "bad_request", id.error().message);
  }
  return HttpServerResponse::Json(
      200, ProjectFields(CustomFieldValueLocked(*FindCustomFieldByIdLocked(*id)), params->fields)
               .ToJson());
}

HttpServerResponse SampleTracker::ServeProjectFields(const HttpServerRequest& request,
                                                     std::string_view id, bool admin) {
  auto params = ParseListParams(request);
  if (!params) {
    return ErrorResponse(400, "bad_request", params.error().message);
  }
  std::lock_guard lock(mu_);
  auto project = FindProjectLocked(id);
  if (!project) {
    return ErrorResponse(404, "Not Found", "Entity with id " + std::string(id) + " not found");
  }
  if (request.method == "GET") {
    Value::List list;
    for (const ProjectField& field : Page(projects_[*project].fields, params->skip, params->top)) {
      list.push_back(ProjectFields(ProjectFieldValueLocked(field), params->fields));
    }
    return JsonList(std::move(list));
  }
  // Changing a project's fields takes Update Project in it.
  if (!admin) {
    return Forbidden();
  }
  auto body = ParseJson(request.body);
  if (!body || !body->IsObject()) {
    return ErrorResponse(400, "bad_request", "The request body is not a JSON object");
  }
  const Value* field_ref = body->Find("field");
  std::string_view field_id = field_ref != nullptr ? field_ref->StringOr("id") : "";
  if (field_id.empty()) {
    return ErrorResponse(400, "bad_request", "Field is required");
  }
  // The database id, not the name (observed: "Invalid structure of entity id: Due Date").
  if (!ParseEntityId(field_id)) {
    return ErrorResponse(400, "bad_request",
                         "Invalid structure of entity id: " + std::string(field_id));
  }
  const CustomField* field = FindCustomFieldByIdLocked(field_id);
  if (field == nullptr) {
    return ErrorResponse(404, "Not Found",
                         "Entity with id " + std::string(field_id) + " not found");
  }
  if (std::ranges::any_of(projects_[*project].fields,
                          [&](const ProjectField& f) { return f.field_id == field->id; })) {
    return ErrorResponse(
        400, "bad_request",
        "Field " + field->name + " is already attached to project " + projects_[*project].name);
  }
  auto classes = AttachableClasses(field->type_id);
  if (!classes) {
    // Bundle types need an EnumProjectCustomField and the like with a bundle.
    return ErrorResponse(400, "bad_request", "Bundle is required for field " + field->name);
  }
  std::string_view given = body->StringOr("$type");
  if (given != classes->project_field) {
    return ErrorResponse(400, "bad_request",
                         "The API expects " + std::string(classes->project_field) +
                             "-type values but encountered " +
                             std::string(given.empty() ? "unspecified" : given) + "-type instead");
  }
  return HttpServerResponse::Json(
      200, ProjectFields(AttachLocked(*project, *field), params->fields).ToJson());
}

HttpServerResponse SampleTracker::ServeWrite(const HttpServerRequest& request,
                                             std::string_view id) {
  auto params = ParseListParams(request);
  if (!params) {
    return ErrorResponse(400, "bad_request", params.error().message);
  }
  auto body = ParseJson(request.body);
  if (!body || !body->IsObject()) {
    return ErrorResponse(400, "bad_request", "The request body is not a JSON object");
  }
  for (const auto& [key, member] : body->AsObject()) {
    if (key != "customFields" && key != "$type") {
      return ErrorResponse(400, "bad_request",
                           "the sample tracker writes customFields only, not " + key);
    }
  }
  std::lock_guard lock(mu_);
  auto index = FindLocked(id);
  if (!index) {
    return ErrorResponse(404, "Not Found", "Entity with id " + std::string(id) + " not found");
  }
  const Project& project = projects_[records_[*index].project];

  // Every field is checked before any is written: a refused request changes nothing.
  struct Change {
    std::string name;
    Value entry;  // the IssueCustomField to add when the issue does not carry it yet
    Value value;
  };
  std::vector<Change> changes;
  const Value* fields = body->Find("customFields");
  if (fields != nullptr && !fields->IsList()) {
    // Seen: `customFields` sent as {} is answered 500.
    return ErrorResponse(500, "server_error", "java.lang.IllegalStateException");
  }
  static const Value::List kNone;
  for (const Value& sent : fields != nullptr ? fields->AsList() : kNone) {
    if (!sent.IsObject()) {
      return ErrorResponse(400, "bad_request", "Custom field should be an object");
    }
    std::string_view name = sent.StringOr("name");
    std::string_view field_id = sent.StringOr("id");
    const ProjectField* attached = nullptr;
    const CustomField* global = nullptr;
    for (const ProjectField& candidate : project.fields) {
      const CustomField* g = FindCustomFieldByIdLocked(candidate.field_id);
      if (g != nullptr && (field_id.empty() ? g->name == name : candidate.id == field_id)) {
        attached = &candidate;
        global = g;
        break;
      }
    }
    if (attached == nullptr) {
      const bool other_case =
          !name.empty() && std::ranges::any_of(project.fields, [&](const ProjectField& f) {
            const CustomField* g = FindCustomFieldByIdLocked(f.field_id);
            return g != nullptr && EqualsIgnoreCase(g->name, name);
          });
      if (other_case) {
        // Measured (go-youtrack): a name not written as the field's own gives 500.
        return ErrorResponse(500, "server_error", "java.lang.NullPointerException");
      }
      return ErrorResponse(400, "bad_request",
                           "Unknown custom field " +
                               std::string(field_id.empty() ? name : field_id) + " in project " +
                               project.name);
    }
    if (sent.StringOr("$type") != attached->issue_type) {
      // YouTrack's documented answer to a wrong $type is a 500.
      return ErrorResponse(500, "server_error",
                           "Incompatible issue custom field type " +
                               std::string(sent.StringOr("$type", "(none)")) + " for field " +
                               global->name);
    }
    const Value* value = sent.Find("value");
    if (value == nullptr) {
      return ErrorResponse(400, "bad_request", "Value is required for field " + global->name);
    }
    static constexpr std::string_view kWritable[] = {"integer", "float",         "string",
                                                     "date",    "date and time", "text"};
    if (std::ranges::find(kWritable, global->type_id) == std::end(kWritable)) {
      return ErrorResponse(400, "bad_request",
                           "the sample tracker does not write " + global->type_id + " fields");
    }
    auto stored = StoredFieldValue(global->type_id, *value);
    if (!stored) {
      return ErrorResponse(400, "bad_request",
                           "Cannot set value " + value->ToJson() + " to field " + global->name +
                               " of type " + global->type_id);
    }
    Value entry(Value::Object{{"$type", attached->issue_type},
                              {"id", attached->id},
                              {"name", global->name},
                              {"projectCustomField", ProjectFieldValueLocked(*attached)}});
    changes.push_back(Change{global->name, std::move(entry), std::move(*stored)});
  }

  // A write that changes nothing leaves `updated` alone.
  Value issue = MaterializeLocked(records_[*index]);
  const Value* current_fields = issue.Find("customFields");
  bool changed = false;
  for (const Change& change : changes) {
    Value current;  // null also when the issue does not carry the field yet
    if (current_fields != nullptr && current_fields->IsList()) {
      for (const Value& field : current_fields->AsList()) {
        if (field.StringOr("name") == change.name && field.Find("value") != nullptr) {
          current = *field.Find("value");
        }
      }
    }
    changed = changed || !SameFieldValue(current, change.value);
  }
  if (changed) {
    const std::string entity_id = FormatEntityId(records_[*index].key);
    UpdateLocked(
        entity_id,
        [&](Value& written) {
          Value& list = written.AsObject()["customFields"];
          if (!list.IsList()) {
            list = Value(Value::List{});
          }
          for (Change& change : changes) {
            auto it = std::ranges::find_if(
                list.AsList(), [&](const Value& f) { return f.StringOr("name") == change.name; });
            if (it == list.AsList().end()) {
              list.AsList().push_back(std::move(change.entry));
              it = std::prev(list.AsList().end());
            }
            it->AsObject()["value"] = std::move(change.value);
          }
        },
        /*stamp=*/true);
    issue = MaterializeLocked(records_[*FindLocked(entity_id)]);
  }
  return HttpServerResponse::Json(200, ProjectIssue(issue, *params).ToJson());
}

}  // namespace boardsync

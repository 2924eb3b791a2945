#include "connectors/youtrack/youtrack_writer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "connectors/youtrack/response.h"
#include "core/url.h"

namespace boardsync {
namespace {

// Page size for the admin lists: YouTrack answers 42 items without $top.
constexpr int kPageSize = 100;

constexpr std::string_view kCreatePermission =
    "the Create Project / Update Project permission (an administrator's token)";

// ASCII case-insensitive equality: YouTrack field names are unique regardless of case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::ranges::equal(a, b, [&](char x, char y) { return lower(x) == lower(y); });
}

// The field named `name` among `fields`: as written, else in another case
// (writes then use YouTrack's spelling: another one gives HTTP 500).
const YouTrackWriter::Field* FindField(std::span<const YouTrackWriter::Field> fields,
                                       std::string_view name) {
  for (const auto& field : fields) {
    if (field.name == name) {
      return &field;
    }
  }
  for (const auto& field : fields) {
    if (EqualsIgnoreCase(field.name, name)) {
      return &field;
    }
  }
  return nullptr;
}

// Whether a field of YouTrack type `type_id` takes values of `type`: the
// target's type name is YouTrack's FieldType id ("float", "integer",
// "string"). A text field (its own $type and a {"text"} value) serves string
// targets as well.
bool Serves(std::string_view type_id, FieldType type) {
  return type_id == FieldTypeName(type) || (type == FieldType::kString && type_id == "text");
}

// "a float", "an integer", "an enum[1]".
std::string WithArticle(std::string_view type_id) {
  const bool vowel = !type_id.empty() && std::string_view("aeiouAEIOU").contains(type_id[0]);
  return (vowel ? "an " : "a ") + std::string(type_id);
}

// The project part of an issue key: "RAP" of "RAP-42".
std::string_view ProjectOfKey(std::string_view key) {
  const auto dash = key.rfind('-');
  return dash == std::string_view::npos || dash == 0 ? std::string_view() : key.substr(0, dash);
}

// "RAP, SRV".
std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return out;
}

// A Field from YouTrack's CustomField object; nullopt when it lacks a part.
std::optional<YouTrackWriter::Field> ReadField(const Value& field) {
  const Value* type = field.FindNonNull("fieldType");
  YouTrackWriter::Field out{std::string(field.StringOr("id")), std::string(field.StringOr("name")),
                            type != nullptr ? std::string(type->StringOr("id")) : ""};
  if (out.id.empty() || out.name.empty() || out.type_id.empty()) {
    return std::nullopt;
  }
  return out;
}

// `value` as a field of `type` takes it. The caller has converted it
// already; an integer field still never gets a fraction.
Value WireValue(const Value& value, FieldType type) {
  if (type == FieldType::kInteger && value.IsDouble() && std::isfinite(value.AsDouble())) {
    return Value(static_cast<std::int64_t>(std::llround(value.AsDouble())));
  }
  if (type == FieldType::kString && (value.IsNumber() || value.IsBool())) {
    return Value(value.ToText());
  }
  return value;
}

// The statuses that refuse one issue's write, not the sync back.
bool RefusesIssue(int status) {
  return status == 400 || status == 403 || status == 404 || status == 409 || status == 410 ||
         status == 422;
}

// " (HTTP 400): <YouTrack's words>", for a request YouTrack refused.
std::string Refusal(const HttpResponse& response) {
  return " (HTTP " + std::to_string(response.status) + ")" + YouTrackReason(response);
}

}  // namespace

YouTrackWriter::YouTrackWriter(YouTrackOptions options, HttpClient& http)
    : options_(std::move(options)), http_(http) {}

Error YouTrackWriter::Contextual(const Error& error) const {
  return YouTrackConnectionError(error, options_.connection_name);
}

Result<HttpResponse> YouTrackWriter::Send(std::string method, const std::string& url,
                                          std::string body) {
  if (stop_.stop_requested()) {
    return std::unexpected(Contextual(Error{ErrorCode::kCancelled, "the sync back was stopped"}));
  }
  HttpRequest request;
  request.method = std::move(method);
  request.url = url;
  request.headers = {{"Accept", "application/json"}};
  if (!body.empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  request.body = std::move(body);
  request.auth = HttpAuth::Bearer(options_.token);
  request.timeout = options_.timeout;
  request.stop = stop_;
  auto response = http_.Send(request);
  if (!response) {
    return std::unexpected(Contextual(response.error()));
  }
  return response;
}

Result<bool> YouTrackWriter::ReadList(const std::string& url, std::string_view what,
                                      const std::function<void(const Value&)>& on_item) {
  for (int skip = 0;; skip += kPageSize) {
    auto response = Send(
        "GET", url + "&$top=" + std::to_string(kPageSize) + "&$skip=" + std::to_string(skip), "");
    if (!response) {
      return std::unexpected(response.error());
    }
    if (response->status == 403) {
      return false;
    }
    auto page = ReadJsonResponse(*response, options_.connection_name);
    if (!page) {
      return std::unexpected(Contextual(page.error()));
    }
    if (!page->IsList()) {
      return std::unexpected(
          Contextual(Error{ErrorCode::kBadResponse, std::string(what) + " is not a JSON array"}));
    }
    for (const Value& item : page->AsList()) {
      on_item(item);
    }
    if (page->AsList().size() < static_cast<std::size_t>(kPageSize)) {
      return true;
    }
  }
}

Result<std::optional<std::vector<YouTrackWriter::Field>>> YouTrackWriter::ReadFields() {
  std::vector<Field> fields;
  auto listed = ReadList(
      options_.base.api + "/admin/customFieldSettings/customFields?fields=id,name,fieldType(id)",
      "the custom field list", [&](const Value& item) {
        if (auto field = ReadField(item)) {
          fields.push_back(std::move(*field));
        }
      });
  if (!listed) {
    return std::unexpected(listed.error());
  }
  return *listed ? std::optional(std::move(fields)) : std::nullopt;
}

Result<std::optional<std::vector<YouTrackWriter::Project>>> YouTrackWriter::ReadProjects(
    const std::vector<std::string>& short_names) {
  std::vector<Project> projects;
  if (short_names.empty()) {
    return projects;
  }
  const std::string url =
      options_.base.api +
      "/admin/projects?fields=id,shortName,customFields(field(id,name,fieldType(id)))";
  auto listed = ReadList(url, "the project list", [&](const Value& item) {
    std::string_view short_name = item.StringOr("shortName");
    if (std::ranges::none_of(short_names, [&](const std::string& wanted) {
          return EqualsIgnoreCase(wanted, short_name);
        })) {
      return;
    }
    Project project{std::string(item.StringOr("id")), std::string(short_name), {}};
    if (const Value* attached = item.FindNonNull("customFields"); attached && attached->IsList()) {
      for (const Value& project_field : attached->AsList()) {
        if (const Value* field = project_field.FindNonNull("field")) {
          if (auto read = ReadField(*field)) {
            project.fields.push_back(std::move(*read));
          }
        }
      }
    }
    if (!project.id.empty()) {
      projects.push_back(std::move(project));
    }
  });
  if (!listed) {
    return std::unexpected(listed.error());
  }
  return *listed ? std::optional(std::move(projects)) : std::nullopt;
}

Result<std::optional<YouTrackWriter::Field>> YouTrackWriter::Create(const WriteTarget& target,
                                                                    std::string& problem) {
  const Field wanted{"", target.name, std::string(FieldTypeName(target.type))};
  Value body(Value::Object{{"name", wanted.name},
                           {"fieldType", Value(Value::Object{{"id", wanted.type_id}})}});
  auto response = Send(
      "POST",
      options_.base.api + "/admin/customFieldSettings/customFields?fields=id,name,fieldType(id)",
      body.ToJson());
  if (!response) {
    return std::unexpected(response.error());
  }
  if (response->status == 403) {
    problem = "creating custom field \"" + target.name + "\" in YouTrack needs " +
              std::string(kCreatePermission) + "; YouTrack answered HTTP 403" +
              YouTrackReason(*response);
    return std::nullopt;
  }
  if (RefusesIssue(response->status)) {
    problem =
        "YouTrack refused to create custom field \"" + target.name + "\"" + Refusal(*response);
    return std::nullopt;
  }
  auto created = ReadJsonResponse(*response, options_.connection_name);
  if (!created) {
    return std::unexpected(Contextual(created.error()));
  }
  Field field = wanted;
  field.id = std::string(created->StringOr("id"));
  if (field.id.empty()) {
    return std::unexpected(
        Contextual(Error{ErrorCode::kBadResponse, "YouTrack created custom field \"" + target.name +
                                                      "\" but did not say its id"}));
  }
  return field;
}

Result<std::string> YouTrackWriter::Attach(const Field& field, const Project& project) {
  // A text field is attached as such; every type a target may create is simple.
  Value body(Value::Object{
      {"$type", field.type_id == "text" ? "TextProjectCustomField" : "SimpleProjectCustomField"},
      {"field", Value(Value::Object{{"$type", "CustomField"}, {"id", field.id}})},
      {"canBeEmpty", true}});
  auto response = Send("POST",
                       options_.base.api + "/admin/projects/" + PercentEncode(project.id) +
                           "/customFields?fields=id",
                       body.ToJson());
  if (!response) {
    return std::unexpected(response.error());
  }
  if (response->status == 403) {
    return "attaching custom field \"" + field.name + "\" to project " + project.short_name +
           " needs the Update Project permission in it (an administrator's token); YouTrack "
           "answered HTTP 403" +
           YouTrackReason(*response);
  }
  if (RefusesIssue(response->status)) {
    return "YouTrack refused to attach custom field \"" + field.name + "\" to project " +
           project.short_name + Refusal(*response);
  }
  auto attached = ReadJsonResponse(*response, options_.connection_name);
  if (!attached) {
    return std::unexpected(Contextual(attached.error()));
  }
  return "";
}

Result<std::vector<TargetCheck>> YouTrackWriter::Prepare(std::span<const WriteTarget> targets,
                                                         bool create,
                                                         std::span<const IssueRef> issues,
                                                         std::stop_token stop) {
  stop_ = std::move(stop);
  accepted_.clear();

  std::vector<std::string> short_names;
  for (const IssueRef& issue : issues) {
    std::string_view project = ProjectOfKey(issue.key);
    if (!project.empty() && std::ranges::find(short_names, project) == short_names.end()) {
      short_names.emplace_back(project);
    }
  }
  std::ranges::sort(short_names);

  auto globals = ReadFields();
  if (!globals) {
    return std::unexpected(globals.error());
  }
  auto projects = ReadProjects(short_names);
  if (!projects) {
    return std::unexpected(projects.error());
  }

  std::vector<TargetCheck> checks;
  for (const WriteTarget& target : targets) {
    TargetCheck& check = checks.emplace_back(TargetCheck{target.name, "", false});
    const std::string target_type(FieldTypeName(target.type));

    std::optional<Field> field;
    if (*globals) {
      if (const Field* found = FindField(**globals, target.name)) {
        field = *found;
      }
    } else if (*projects) {
      // The token may not list the global fields: those of the projects tell.
      for (const Project& project : **projects) {
        if (const Field* found = FindField(project.fields, target.name)) {
          field = *found;
          break;
        }
      }
    }

    if (field && !Serves(field->type_id, target.type)) {
      check.problem = "field \"" + field->name + "\" is " + WithArticle(field->type_id) +
                      " field in YouTrack; sync_back writes it as " + target_type;
      continue;
    }
    if (!field && !create) {
      check.problem =
          *globals
              ? "no custom field \"" + target.name + "\" in YouTrack, and sync_back.create is false"
              : "no custom field \"" + target.name + "\" in projects " + Join(short_names) +
                    " (the token may not list YouTrack's custom fields), and "
                    "sync_back.create is false";
      continue;
    }
    if (!field) {
      auto created = Create(target, check.problem);
      if (!created) {
        return std::unexpected(created.error());
      }
      if (!*created) {
        continue;
      }
      field = std::move(**created);
      check.created = true;
    }

    if (create) {
      if (!*projects && !short_names.empty()) {
        check.problem =
            "the token may not list YouTrack's projects (HTTP 403), so custom field \"" +
            field->name + "\" cannot be attached to " + Join(short_names);
        continue;
      }
      for (const Project& project : projects->value_or(std::vector<Project>{})) {
        if (std::ranges::any_of(project.fields,
                                [&](const Field& f) { return f.id == field->id; })) {
          continue;
        }
        auto problem = Attach(*field, project);
        if (!problem) {
          return std::unexpected(problem.error());
        }
        if (!problem->empty()) {
          check.problem = std::move(*problem);
          break;
        }
        check.created = true;
      }
      if (!check.problem.empty()) {
        continue;
      }
    }
    accepted_[target.name] = Accepted{field->name, target.type, field->type_id == "text"};
  }
  return checks;
}

Result<WriteOutcome> YouTrackWriter::Write(const IssueRef& issue,
                                           std::span<const FieldValue> values,
                                           std::stop_token stop) {
  stop_ = std::move(stop);
  if (values.empty()) {
    return WriteOutcome{};
  }
  Value::List fields;
  for (const FieldValue& value : values) {
    // A field Prepare() did not see goes as a simple one by the given name
    // (YouTrack refuses the issue when that is wrong).
    auto accepted = accepted_.find(value.field);
    const Accepted target = accepted != accepted_.end()
                                ? accepted->second
                                : Accepted{value.field,
                                           value.value.IsString()   ? FieldType::kString
                                           : value.value.IsDouble() ? FieldType::kFloat
                                                                    : FieldType::kInteger,
                                           false};
    Value wire = WireValue(value.value, target.type);
    if (target.text && !wire.IsNull()) {
      wire = Value(Value::Object{{"text", std::move(wire)}});
    }
    fields.push_back(Value(
        Value::Object{{"name", target.name},
                      {"$type", target.text ? "TextIssueCustomField" : "SimpleIssueCustomField"},
                      {"value", std::move(wire)}}));
  }
  const std::string body =
      Value(Value::Object{{"customFields", Value(std::move(fields))}}).ToJson();

  // No muteUpdateNotifications: it needs the Apply Commands Silently
  // permission, which a plain sync account lacks (README, "Sync back").
  const std::string& id = issue.id.empty() ? issue.key : issue.id;
  auto response =
      Send("POST", options_.base.api + "/issues/" + PercentEncode(id) + "?fields=updated", body);
  if (!response) {
    return std::unexpected(response.error());
  }
  if (RefusesIssue(response->status)) {
    return WriteOutcome{
        true, "issue " + issue.key + ": YouTrack refused the write" + Refusal(*response), 0};
  }
  auto answer = ReadJsonResponse(*response, options_.connection_name);
  if (!answer) {
    return std::unexpected(Contextual(answer.error()));
  }
  WriteOutcome outcome;
  if (const Value* updated = answer->Find("updated"); updated != nullptr && updated->IsInt()) {
    outcome.updated_ms = updated->AsInt();
  }
  return outcome;
}

}  // namespace boardsync

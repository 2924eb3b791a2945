#include "connectors/jira/writer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <utility>

#include "connectors/common/http_status.h"
#include "connectors/jira/decode.h"
#include "connectors/jira/reason.h"
#include "core/url.h"
#include "core/value.h"

namespace boardsync {
namespace {

constexpr std::string_view kTypePrefix = "com.atlassian.jira.plugin.system.customfieldtypes:";

// What a writer asks of a field it creates, by the target's type.
struct NewFieldType {
  std::string_view type;      // after kTypePrefix
  std::string_view searcher;  // after kTypePrefix: makes the field searchable in JQL
  std::string_view schema_type;
};

NewFieldType NewFieldTypeFor(FieldType type) {
  if (type == FieldType::kString) {
    return {"textfield", "textsearcher", "string"};
  }
  return {"float", "exactnumber", "number"};
}

// The statuses that refuse one issue's write and not the others'
// (DESIGN §3.1): gone, not editable by this user, the field not on the
// issue's screen or context, a conflict.
constexpr int kRefusals[] = {400, 403, 404, 409, 410, 422};

bool LooksLikeFieldId(std::string_view name) {
  constexpr std::string_view kPrefix = "customfield_";
  if (!name.starts_with(kPrefix) || name.size() == kPrefix.size()) {
    return false;
  }
  return std::all_of(name.begin() + kPrefix.size(), name.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

// `field "Board score" (customfield_10042)`, or `field customfield_10042
// ("Board score")` when the mapping names it by id.
std::string FieldText(std::string_view target, const JiraField& field) {
  if (target == field.id || target == field.key) {
    return "field " + std::string(target) + " (\"" + field.name + "\")";
  }
  return "field \"" + std::string(target) + "\" (" + field.id + ")";
}

// "a number field", "a text field (textfield)", "a field of type option (select)".
std::string KindText(const JiraField& field, JiraWritableKind kind) {
  switch (kind) {
    case JiraWritableKind::kNumber:
      return "a number field";
    case JiraWritableKind::kTextField:
      return "a text field (textfield)";
    case JiraWritableKind::kTextArea:
      return "a paragraph text field (textarea)";
    case JiraWritableKind::kOther:
      break;
  }
  std::string text = "a field of type " + (field.type.empty() ? "unknown" : field.type);
  if (const auto colon = field.custom_type.rfind(':'); colon != std::string::npos) {
    text += " (" + field.custom_type.substr(colon + 1) + ")";
  }
  return text;
}

// Why `field` cannot take `target`'s values; "" when it can.
std::string TypeProblem(const WriteTarget& target, const JiraField& field, JiraWritableKind kind) {
  if (!field.custom) {
    return FieldText(target.name, field) +
           " is a Jira system field; sync_back writes custom fields only";
  }
  const bool fits = target.type == FieldType::kString ? kind == JiraWritableKind::kTextField ||
                                                            kind == JiraWritableKind::kTextArea
                                                      : kind == JiraWritableKind::kNumber;
  if (fits) {
    return "";
  }
  return FieldText(target.name, field) + " is " + KindText(field, kind) +
         " in Jira; sync_back writes it as " + std::string(FieldTypeName(target.type));
}

// Plain text as Atlassian Document Format, a paragraph per line: what
// Cloud's API 3 takes for a textarea field.
Value AdfDocument(std::string_view text) {
  Value::List paragraphs;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find('\n', start);
    const std::string_view line =
        text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    Value::List content;
    if (!line.empty()) {
      content.emplace_back(Value::Object{{"type", "text"}, {"text", line}});
    }
    paragraphs.emplace_back(
        Value::Object{{"type", "paragraph"}, {"content", Value(std::move(content))}});
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return Value(
      Value::Object{{"type", "doc"}, {"version", 1}, {"content", Value(std::move(paragraphs))}});
}

}  // namespace

JiraWritableKind JiraWritableKindOf(const JiraField& field) {
  if (field.type == "number") {
    return JiraWritableKind::kNumber;
  }
  if (field.type == "string" && field.custom_type.starts_with(kTypePrefix)) {
    const std::string_view custom = std::string_view(field.custom_type).substr(kTypePrefix.size());
    if (custom == "textfield") {
      return JiraWritableKind::kTextField;
    }
    if (custom == "textarea") {
      return JiraWritableKind::kTextArea;
    }
  }
  return JiraWritableKind::kOther;
}

JiraWriter::JiraWriter(JiraOptions options, HttpClient& http)
    : options_(std::move(options)), http_(http), auth_(JiraAuth(options_)) {}

std::string JiraWriter::Api() const { return JiraApiUrl(options_); }

Error JiraWriter::Contextual(std::string message, ErrorCode code, bool retriable) const {
  return Error{code, "connection " + options_.connection_name + ": " + std::move(message),
               retriable};
}

Result<HttpResponse> JiraWriter::Send(std::string method, const std::string& url, std::string body,
                                      std::stop_token stop, bool retry) const {
  HttpRequest request;
  request.method = std::move(method);
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  if (request.method != "GET") {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = std::move(body);
  }
  if (!retry) {
    request.max_attempts = 1;
  }
  request.auth = auth_;
  request.timeout = options_.timeout;
  request.stop = std::move(stop);
  auto response = http_.Send(request);
  if (!response) {
    return std::unexpected(response.error().Wrap("connection " + options_.connection_name));
  }
  return response;
}

Result<JsonDocument> JiraWriter::Read(const HttpResponse& response) const {
  return ReadJsonAnswer(response,
                        TrackerAnswerContext{options_.connection_name, "Jira", &JiraReasonText});
}

std::optional<Error> JiraWriter::Fatal(const HttpResponse& response,
                                       std::span<const int> refusable) const {
  if (response.Ok() ||
      std::find(refusable.begin(), refusable.end(), response.status) != refusable.end()) {
    return std::nullopt;
  }
  return HttpStatusError(response,
                         TrackerAnswerContext{options_.connection_name, "Jira", &JiraReasonText});
}

Result<std::vector<JiraField>> JiraWriter::FetchFields(std::stop_token stop) const {
  auto response = Send("GET", Api() + "/field", "", std::move(stop));
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc = Read(*response);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  auto fields = DecodeJiraFields(doc->Root());
  if (!fields) {
    return std::unexpected(fields.error().Wrap("connection " + options_.connection_name));
  }
  return fields;
}

Result<std::vector<TargetCheck>> JiraWriter::Prepare(std::span<const WriteTarget> targets,
                                                     bool create,
                                                     std::span<const IssueRef> /*issues*/,
                                                     std::stop_token stop) {
  targets_.clear();
  auto catalogue = FetchFields(stop);
  if (!catalogue) {
    return std::unexpected(catalogue.error());
  }
  std::vector<TargetCheck> checks;
  for (const WriteTarget& target : targets) {
    TargetCheck& check = checks.emplace_back();
    check.name = target.name;
    std::vector<std::size_t> hits = MatchJiraField(*catalogue, target.name);
    if (hits.size() > 1) {
      check.problem = JiraSharedNameText(*catalogue, target.name, hits) +
                      " in Jira: name the one to write by its id in sync_back.fields";
      continue;
    }
    if (hits.empty()) {
      const std::string_view kind = target.type == FieldType::kString ? "text" : "number";
      if (LooksLikeFieldId(target.name)) {
        check.problem = "no Jira field has the id " + target.name +
                        (create ? " (create: true makes fields by name, not by id)" : "");
        continue;
      }
      if (!create) {
        check.problem = "no Jira field is named \"" + target.name +
                        "\" and sync_back.create is false: create a " + std::string(kind) +
                        " custom field of that name in Jira (on the edit screen of the issues), "
                        "or set create: true (needs the Administer Jira global permission)";
        continue;
      }
      auto created = CreateField(target, stop);
      if (!created) {
        return std::unexpected(created.error());
      }
      if (created->field.id.empty()) {
        check.problem = std::move(created->problem);
        continue;
      }
      check.created = true;
      catalogue->push_back(created->field);  // a later target of the same name finds it
      if (!created->problem.empty()) {
        check.problem = std::move(created->problem);
        continue;
      }
      hits = {catalogue->size() - 1};
    }
    const JiraField& field = (*catalogue)[hits.front()];
    const JiraWritableKind kind = JiraWritableKindOf(field);
    check.problem = TypeProblem(target, field, kind);
    // Two scores into one field would overwrite each other at every sync back.
    for (const auto& [name, taken] : targets_) {
      if (check.problem.empty() && taken.field.id == field.id) {
        check.problem = FieldText(target.name, field) + " is the Jira field \"" + name +
                        "\" writes already; sync_back writes a field from one score only";
      }
    }
    if (check.problem.empty()) {
      targets_.insert_or_assign(target.name, Target{field, kind});
    }
  }
  return checks;
}

Result<JiraWriter::Created> JiraWriter::CreateField(const WriteTarget& target,
                                                    std::stop_token stop) const {
  const NewFieldType type = NewFieldTypeFor(target.type);
  const Value body(
      Value::Object{{"name", target.name},
                    {"description", "Board scores, written by boardsync (sync back)."},
                    {"type", std::string(kTypePrefix) + std::string(type.type)},
                    {"searcherKey", std::string(kTypePrefix) + std::string(type.searcher)}});
  // Sent once: a retry after an answer that got lost (a timeout, a 5xx
  // after the fact) would make a second field of the same name. Instead the
  // catalogue tells whether Jira made it.
  auto response = Send("POST", Api() + "/field", body.ToJson(), stop, /*retry=*/false);
  // A 5xx or a lost answer (the connection cut, a timeout) may come after
  // Jira made the field.
  const bool unknown_outcome = response ? response->status >= 500 : response.error().retriable;
  Created created;
  if (unknown_outcome) {
    auto again = FetchFields(stop);
    const std::vector<std::size_t> hits =
        again ? MatchJiraField(*again, target.name) : std::vector<std::size_t>();
    if (hits.size() != 1) {
      if (!response) {
        return std::unexpected(response.error());
      }
      return std::unexpected(*HttpStatusError(
          *response, TrackerAnswerContext{options_.connection_name, "Jira", &JiraReasonText}));
    }
    created.field = (*again)[hits.front()];
  } else {
    if (!response) {
      return std::unexpected(response.error());
    }
    const std::string status = " (HTTP " + std::to_string(response->status) + ")";
    if (response->status == 403) {
      return Created{{},
                     "creating the Jira field \"" + target.name +
                         "\" needs the Administer Jira global permission, which the token's "
                         "user lacks" +
                         status + JiraReason(*response) +
                         ": create it in Jira, or use an administrator's token"};
    }
    if (response->status == 400) {
      return Created{{},
                     "Jira refused to create the field \"" + target.name + "\"" + status +
                         JiraReason(*response)};
    }
    auto doc = Read(*response);
    if (!doc) {
      return std::unexpected(doc.error());
    }
    const JsonView root = doc->Root();
    created.field.id = std::string(root.IsObject() ? root.StringOr("id") : "");
    if (created.field.id.empty()) {
      return std::unexpected(Contextual(
          "Jira's answer to creating the field \"" + target.name + "\" names no field id",
          ErrorCode::kBadResponse));
    }
    created.field.key = std::string(root.StringOr("key", created.field.id));
    created.field.name = std::string(root.StringOr("name", target.name));
    created.field.custom = true;
    created.field.type = std::string(type.schema_type);
    created.field.custom_type = std::string(kTypePrefix) + std::string(type.type);
    if (auto schema = root.FindNonNull("schema"); schema && schema->IsObject()) {
      created.field.type = std::string(schema->StringOr("type", created.field.type));
      created.field.custom_type =
          std::string(schema->StringOr("custom", created.field.custom_type));
    }
  }
  if (Cloud()) {
    auto context = EnsureContext(created.field, stop);
    if (!context) {
      return std::unexpected(context.error());
    }
    created.problem = std::move(*context);
  }
  if (created.problem.empty()) {
    auto screen = AddToDefaultScreen(created.field, stop);
    if (!screen) {
      return std::unexpected(screen.error());
    }
    created.problem = std::move(*screen);
  }
  return created;
}

Result<std::string> JiraWriter::EnsureContext(const JiraField& field, std::stop_token stop) const {
  constexpr int kProblems[] = {400, 403, 404};
  const std::string url = Api() + "/field/" + PercentEncode(field.id) + "/context";
  auto problem = [&](const HttpResponse& response) {
    return "created the Jira field \"" + field.name + "\" (" + field.id +
           "), but could not give it a context (HTTP " + std::to_string(response.status) + ")" +
           JiraReason(response) +
           ": an administrator must add a global context to it (Custom fields → Contexts and "
           "default value) before sync back can write it";
  };
  auto listed = Send("GET", url, "", stop);
  if (!listed) {
    return std::unexpected(listed.error());
  }
  if (auto error = Fatal(*listed, kProblems)) {
    return std::unexpected(std::move(*error));
  }
  if (!listed->Ok()) {
    return problem(*listed);
  }
  auto doc = Read(*listed);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  // A page of contexts: {total, values: [...]}.
  if (auto values = doc->Root().Find("values"); values && values->IsList() && values->size() > 0) {
    return "";
  }
  const Value body(Value::Object{
      {"name", "Default context (boardsync)"},
      {"description", "All projects and issue types, so that sync back can write the field."},
      {"projectIds", Value(Value::List{})},
      {"issueTypeIds", Value(Value::List{})}});
  auto made = Send("POST", url, body.ToJson(), stop, /*retry=*/false);  // as the field: once
  if (!made) {
    return std::unexpected(made.error());
  }
  if (auto error = Fatal(*made, kProblems)) {
    return std::unexpected(std::move(*error));
  }
  return made->Ok() ? "" : problem(*made);
}

Result<std::string> JiraWriter::AddToDefaultScreen(const JiraField& field,
                                                   std::stop_token stop) const {
  constexpr int kProblems[] = {400, 403, 404};
  auto response =
      Send("POST", Api() + "/screens/addToDefault/" + PercentEncode(field.id), "", stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  if (auto error = Fatal(*response, kProblems)) {
    return std::unexpected(std::move(*error));
  }
  // 404: already on it (the field itself was just made).
  if (response->Ok() || response->status == 404) {
    return "";
  }
  return "created the Jira field \"" + field.name + "\" (" + field.id +
         "), but could not add it to the default screen (HTTP " + std::to_string(response->status) +
         ")" + JiraReason(*response) +
         ": an administrator must add it to the edit screens of the projects' issue types "
         "before sync back can write it";
}

Result<WriteOutcome> JiraWriter::Write(const IssueRef& issue, std::span<const FieldValue> values,
                                       std::stop_token stop) {
  const std::string who = issue.key.empty() ? issue.id : issue.key;
  WriteOutcome outcome;
  if (values.empty()) {
    return outcome;
  }
  auto refuse = [&](std::string message) {
    outcome.refused = true;
    outcome.message = "issue " + who + ": " + std::move(message);
    return outcome;
  };
  Value::Object fields;
  for (const FieldValue& value : values) {
    auto target = targets_.find(value.field);
    if (target == targets_.end()) {
      return std::unexpected(Contextual("sync back has no Jira field \"" + value.field +
                                            "\" that Prepare() accepted; nothing was written",
                                        ErrorCode::kConfig));
    }
    const JiraWritableKind kind = target->second.kind;
    const std::string& id = target->second.field.id;
    const Value& v = value.value;
    if (v.IsNull()) {
      fields.insert_or_assign(id, Value());  // clears it
    } else if (kind == JiraWritableKind::kNumber) {
      if (!v.IsNumber() || (v.IsDouble() && !std::isfinite(v.AsDouble()))) {
        return refuse("the value for \"" + value.field +
                      "\" is not a finite number: " + v.ToJson().substr(0, 40));
      }
      fields.insert_or_assign(id, v);
    } else {
      if (!v.IsString()) {
        return refuse("the value for \"" + value.field + "\" is not text");
      }
      fields.insert_or_assign(
          id, kind == JiraWritableKind::kTextArea && Cloud() ? AdfDocument(v.AsString()) : v);
    }
  }
  const std::string body = Value(Value::Object{{"fields", Value(std::move(fields))}}).ToJson();
  // The id, which stays when the issue moves to another project; the key
  // only when the pull gave no id.
  const std::string url = Api() + "/issue/" +
                          PercentEncode(issue.id.empty() ? issue.key : issue.id) +
                          "?returnIssue=true";
  auto response = Send("PUT", url, body, std::move(stop));
  if (!response) {
    return std::unexpected(response.error());
  }
  if (std::find(std::begin(kRefusals), std::end(kRefusals), response->status) !=
      std::end(kRefusals)) {
    return refuse("Jira refused the write (HTTP " + std::to_string(response->status) + ")" +
                  JiraReason(*response));
  }
  if (auto error = Fatal(*response, {})) {
    return std::unexpected(std::move(*error));
  }
  // 200 with the issue (Cloud's returnIssue); 204 without (Data Center).
  // The write is done either way: an answer we cannot read only loses the
  // time.
  if (response->status == 200) {
    if (auto doc = ParseJsonDocument(response->body); doc && doc->Root().IsObject()) {
      if (auto issue_fields = doc->Root().Find("fields");
          issue_fields && issue_fields->IsObject()) {
        if (auto updated = ParseJiraDateTime(issue_fields->StringOr("updated"))) {
          outcome.updated_ms = *updated;
        }
      }
    }
  }
  return outcome;
}

}  // namespace boardsync

#include "connectors/github/decode.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <utility>

#include "connectors/github/repos.h"
#include "core/time.h"

namespace boardsync {
namespace {

// Names where a decoding error happened, for the message.
struct Where {
  std::string_view issue;   // "owner/name#42", or the id when there is no key
  std::string_view member;  // "" for the issue's own members
};

std::unexpected<Error> Bad(const Where& where, std::string_view what) {
  std::string message = "issue " + std::string(where.issue) + ": ";
  if (!where.member.empty()) {
    message += "field " + std::string(where.member) + ": ";
  }
  message += what;
  return Fail(ErrorCode::kBadResponse, std::move(message));
}

// The digits of the numeric issue id (an integer; leniently, a string of
// digits).
std::optional<std::string> IssueId(JsonView issue) {
  auto id = issue.Find("id");
  if (!id) {
    return std::nullopt;
  }
  std::int64_t number = 0;
  if (AsInteger(*id, number)) {
    return number >= 0 ? std::optional(std::to_string(number)) : std::nullopt;
  }
  if (!id->IsString()) {
    return std::nullopt;
  }
  const std::string_view text = id->AsString();
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::string(text);
}

std::optional<std::int64_t> IssueNumber(JsonView issue) {
  auto number = issue.Find("number");
  std::int64_t n = 0;
  if (!number || !AsInteger(*number, n) || n <= 0) {
    return std::nullopt;
  }
  return n;
}

// The repository of an issue without a given one: repository_url, else
// html_url.
std::string RepoOf(JsonView issue, std::string_view repo) {
  if (!repo.empty()) {
    return std::string(repo);
  }
  std::string named = GitHubRepoOfUrl(issue.StringOr("repository_url"));
  return named.empty() ? GitHubRepoOfUrl(issue.StringOr("html_url")) : named;
}

// updated_at and created_at: also not before 1970, which no issue is.
std::optional<std::int64_t> IssueTime(JsonView issue, std::string_view member) {
  auto value = issue.Find(member);
  if (!value || !value->IsString()) {
    return std::nullopt;
  }
  auto ms = ParseGitHubTime(value->AsString());
  if (!ms || *ms < 0 || *ms > kMaxIsoMs) {
    return std::nullopt;
  }
  return ms;
}

// A timestamp member: ISO-8601 UTC, or null when absent.
Result<Value> TimeValue(std::optional<JsonView> value, const Where& where) {
  if (!value || value->IsNull()) {
    return Value();
  }
  std::optional<std::int64_t> ms;
  if (value->IsString()) {
    ms = ParseGitHubTime(value->AsString());
  }
  if (!ms || !IsIsoWritable(*ms)) {
    return Bad(where, "not a date and time within the years 0001-9999");
  }
  return Value(FormatIsoUtc(*ms));
}

// {"login", "name", "email"}: GitHub's issue answers carry the login only;
// the name falls back to it, so a user as a plain value shows who it is.
Result<Value> UserValue(JsonView user, const Where& where) {
  if (!user.IsObject()) {
    return Bad(where, "a user is not a JSON object");
  }
  auto login = user.Find("login");
  if (!login || !login->IsString() || login->AsString().empty()) {
    return Bad(where, "a user has no login");
  }
  auto text = [&user](std::string_view key) -> Value {
    auto v = user.FindNonNull(key);
    return v && v->IsString() && !v->AsString().empty() ? Value(v->AsString()) : Value();
  };
  Value name = text("name");
  Value::Object out;
  out.reserve(3);
  out.emplace("email", text("email"));
  out.emplace("login", Value(login->AsString()));
  out.emplace("name", name.IsNull() ? Value(login->AsString()) : std::move(name));
  return Value(std::move(out));
}

Result<Value> OptionalUser(std::optional<JsonView> value, const Where& where) {
  if (!value || value->IsNull()) {
    return Value();
  }
  return UserValue(*value, where);
}

Result<Value> UserList(std::optional<JsonView> value, const Where& where) {
  Value::List out;
  if (!value || value->IsNull()) {
    return Value(std::move(out));
  }
  if (!value->IsList()) {
    return Bad(where, "not a list of users");
  }
  out.reserve(value->size());
  for (JsonView element : value->Elements()) {
    auto user = UserValue(element, where);
    if (!user) {
      return user;
    }
    out.push_back(std::move(*user));
  }
  return Value(std::move(out));
}

// Labels come as objects with a name (GitHub also accepts plain names when
// they are written, so those are read too).
Result<Value> LabelList(std::optional<JsonView> value, const Where& where) {
  Value::List out;
  if (!value || value->IsNull()) {
    return Value(std::move(out));
  }
  if (!value->IsList()) {
    return Bad(where, "not a list of labels");
  }
  out.reserve(value->size());
  for (JsonView label : value->Elements()) {
    if (label.IsString()) {
      out.emplace_back(label.AsString());
      continue;
    }
    auto name = label.IsObject() ? label.Find("name") : std::nullopt;
    if (!name || !name->IsString()) {
      return Bad(where, "a label has no name");
    }
    out.emplace_back(name->AsString());
  }
  return Value(std::move(out));
}

// The milestone's members, with `name` = its title and its times as
// ISO-8601 UTC.
Result<Value> MilestoneValue(std::optional<JsonView> value, const Where& where) {
  if (!value || value->IsNull()) {
    return Value();
  }
  if (!value->IsObject()) {
    return Bad(where, "the milestone is not a JSON object");
  }
  auto title = value->Find("title");
  if (!title || !title->IsString()) {
    return Bad(where, "the milestone has no title");
  }
  Value::Object out;
  out.emplace("name", Value(title->AsString()));
  out.emplace("title", Value(title->AsString()));
  for (std::string_view member : {"number", "state", "description", "open_issues",
                                  "closed_issues", "html_url"}) {
    auto v = value->Find(member);
    out.emplace(member, v ? v->ToValue() : Value());
  }
  for (std::string_view member : {"due_on", "created_at", "updated_at", "closed_at"}) {
    auto time = TimeValue(value->Find(member), where);
    if (!time) {
      return Bad(where, std::string(member) + " is not a date and time");
    }
    out.emplace(member, std::move(*time));
  }
  return Value(std::move(out));
}

// {"total_count": 3, "+1": 2, ...} → 3.
Result<Value> ReactionsValue(std::optional<JsonView> value, const Where& where) {
  if (!value || value->IsNull()) {
    return Value();
  }
  auto total = value->IsObject() ? value->Find("total_count") : std::nullopt;
  std::int64_t count = 0;
  if (!total || !AsInteger(*total, count)) {
    return Bad(where, "reactions have no total_count");
  }
  return Value(count);
}

// The issue type: {"id", "name", "description", ...} → its name.
Result<Value> TypeValue(std::optional<JsonView> value, const Where& where) {
  if (!value || value->IsNull()) {
    return Value();
  }
  if (value->IsString()) {
    return Value(value->AsString());
  }
  auto name = value->IsObject() ? value->Find("name") : std::nullopt;
  if (!name || !name->IsString()) {
    return Bad(where, "the issue type has no name");
  }
  return Value(name->AsString());
}

Result<Value> MemberValue(JsonView issue, std::string_view member, const Where& where) {
  const std::optional<JsonView> value = issue.Find(member);
  if (member == "labels") {
    return LabelList(value, where);
  }
  if (member == "assignees") {
    return UserList(value, where);
  }
  if (member == "assignee" || member == "user" || member == "closed_by") {
    return OptionalUser(value, where);
  }
  if (member == "milestone") {
    return MilestoneValue(value, where);
  }
  if (member == "reactions") {
    return ReactionsValue(value, where);
  }
  if (member == "type") {
    return TypeValue(value, where);
  }
  if (member == "created_at" || member == "updated_at" || member == "closed_at") {
    return TimeValue(value, where);
  }
  return value ? value->ToValue() : Value();
}

std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

// Wraps a GraphQL query and its variables as a request body.
std::string GraphQlBody(std::string_view query, const Value& variables) {
  std::string body = "{\"query\":" + JsonString(query) + ",\"variables\":";
  variables.AppendJson(body);
  body += "}";
  return body;
}

// The value of one ProjectV2ItemFieldValue node, by its kind.
Value ProjectFieldValue(JsonView node) {
  const std::string_view type = node.StringOr("__typename");
  if (type == "ProjectV2ItemFieldNumberValue") {
    auto number = node.FindNonNull("number");
    return number && number->IsNumber() ? number->ToValue() : Value();
  }
  if (type == "ProjectV2ItemFieldTextValue") {
    auto text = node.FindNonNull("text");
    return text && text->IsString() ? Value(text->AsString()) : Value();
  }
  if (type == "ProjectV2ItemFieldSingleSelectValue") {
    auto name = node.FindNonNull("name");
    return name && name->IsString() ? Value(name->AsString()) : Value();
  }
  if (type == "ProjectV2ItemFieldIterationValue") {
    auto title = node.FindNonNull("title");
    return title && title->IsString() ? Value(title->AsString()) : Value();
  }
  if (type == "ProjectV2ItemFieldDateValue") {
    auto date = node.FindNonNull("date");
    if (!date || !date->IsString()) {
      return Value();
    }
    auto ms = ParseIsoUtc(date->AsString());
    return ms && IsIsoWritable(*ms) ? Value(FormatIsoDate(*ms)) : Value();
  }
  return Value();
}

}  // namespace

std::optional<std::int64_t> ParseGitHubTime(std::string_view text) {
  // ParseIsoUtc() reads a date alone as midnight; GitHub always sends a time.
  if (text.size() < 20 || text[10] != 'T') {
    return std::nullopt;
  }
  return ParseIsoUtc(text);
}

bool IsGitHubPullRequest(JsonView element) {
  return element.IsObject() && element.FindNonNull("pull_request").has_value();
}

Result<Issue> DecodeGitHubIssue(JsonView json, std::string_view repo,
                                const std::vector<std::string>& members) {
  if (!json.IsObject()) {
    return Fail(ErrorCode::kBadResponse, "an issue in the answer is not a JSON object");
  }
  const std::string owner_repo = RepoOf(json, repo);
  const std::optional<std::int64_t> number = IssueNumber(json);
  auto id = IssueId(json);
  if (!id) {
    const std::string named =
        number && !owner_repo.empty() ? " " + GitHubKey(owner_repo, *number) : "";
    return Fail(ErrorCode::kBadResponse, "issue" + named + " has no numeric id");
  }
  Issue issue;
  issue.id = std::move(*id);
  if (!number) {
    return Fail(ErrorCode::kBadResponse, "issue " + issue.id + " has no number");
  }
  if (owner_repo.empty()) {
    return Fail(ErrorCode::kBadResponse,
                "issue " + issue.id + " names no repository (repository_url)");
  }
  issue.key = GitHubKey(owner_repo, *number);
  const Where where{issue.key, ""};
  if (auto html = json.FindNonNull("html_url")) {
    if (!html->IsString()) {
      return Bad(where, "html_url is not a string");
    }
    issue.url = std::string(html->AsString());
  }
  auto updated = IssueTime(json, "updated_at");
  if (!updated) {
    return Bad(where, "updated_at is not a date and time within the years 1970-9999");
  }
  issue.updated_ms = *updated;
  if (json.FindNonNull("created_at")) {
    auto created = IssueTime(json, "created_at");
    if (!created) {
      return Bad(where, "created_at is not a date and time within the years 1970-9999");
    }
    issue.created_ms = *created;
  }
  if (auto closed = json.FindNonNull("closed_at")) {
    std::optional<std::int64_t> ms;
    if (closed->IsString()) {
      ms = ParseGitHubTime(closed->AsString());
    }
    if (!ms || !IsIsoWritable(*ms)) {
      return Bad(where, "closed_at is not a date and time within the years 0001-9999");
    }
    issue.resolved_ms = *ms;
  }
  std::vector<std::pair<std::string, Value>> fields;
  fields.reserve(members.size());
  for (const std::string& member : members) {
    auto value = MemberValue(json, member, Where{issue.key, member});
    if (!value) {
      return std::unexpected(value.error());
    }
    fields.emplace_back(member, std::move(*value));
  }
  issue.fields = Value::Object(std::make_move_iterator(fields.begin()),
                               std::make_move_iterator(fields.end()));
  return issue;
}

Issue UndecodedGitHubIssue(JsonView json, std::string_view repo, std::string reason) {
  Issue issue;
  issue.decode_error = std::move(reason);
  if (!json.IsObject()) {
    return issue;
  }
  issue.id = IssueId(json).value_or("");
  const std::string owner_repo = RepoOf(json, repo);
  if (auto number = IssueNumber(json); number && !owner_repo.empty()) {
    issue.key = GitHubKey(owner_repo, *number);
  }
  issue.updated_ms = IssueTime(json, "updated_at").value_or(0);
  return issue;
}

Result<GitHubIssueList> DecodeGitHubIssueList(JsonView json, std::string_view repo,
                                              const std::vector<std::string>& members) {
  if (!json.IsList()) {
    return Fail(ErrorCode::kBadResponse, "the list of issues is not a JSON array");
  }
  GitHubIssueList list;
  list.issues.reserve(json.size());
  list.node_ids.reserve(json.size());
  for (JsonView element : json.Elements()) {
    if (element.IsObject()) {
      if (auto updated = IssueTime(element, "updated_at")) {
        list.newest_ms = std::max(list.newest_ms.value_or(*updated), *updated);
      }
    }
    if (IsGitHubPullRequest(element)) {
      ++list.pull_requests;
      continue;
    }
    auto issue = DecodeGitHubIssue(element, repo, members);
    list.issues.push_back(issue ? std::move(*issue)
                                : UndecodedGitHubIssue(element, repo, issue.error().message));
    list.node_ids.emplace_back(element.IsObject() ? element.StringOr("node_id") : "");
  }
  return list;
}

// --- Projects v2 -------------------------------------------------------------

std::string GitHubErrorMessage(std::string_view body) {
  auto doc = ParseJsonDocument(body);
  if (!doc || !doc->Root().IsObject()) {
    return "";
  }
  const JsonView root = doc->Root();
  std::string message(root.StringOr("message"));
  if (!message.empty()) {
    return message;
  }
  if (auto errors = ReadGitHubGraphQlErrors(root)) {
    return errors->message;
  }
  return "";
}

std::optional<GitHubGraphQlErrors> ReadGitHubGraphQlErrors(JsonView root) {
  auto errors = root.IsObject() ? root.FindNonNull("errors") : std::nullopt;
  if (!errors || !errors->IsList() || errors->size() == 0) {
    return std::nullopt;
  }
  GitHubGraphQlErrors out;
  out.not_found = true;
  for (JsonView error : errors->Elements()) {
    const std::string_view type = error.IsObject() ? error.StringOr("type") : "";
    out.rate_limited = out.rate_limited || type == "RATE_LIMITED";
    out.not_found = out.not_found && type == "NOT_FOUND";
    out.insufficient_scopes =
        out.insufficient_scopes || type == "INSUFFICIENT_SCOPES" || type == "FORBIDDEN";
    const std::string_view message = error.IsObject() ? error.StringOr("message") : "";
    if (!message.empty()) {
      out.message += (out.message.empty() ? "" : "; ") + std::string(message);
    }
  }
  return out;
}

std::string GitHubProjectQuery(std::string_view owner, std::int64_t number) {
  constexpr std::string_view kQuery =
      "query($owner:String!,$number:Int!){"
      "organization(login:$owner){projectV2(number:$number){...project}}"
      "user(login:$owner){projectV2(number:$number){...project}}}"
      "fragment project on ProjectV2{id title "
      "fields(first:100){nodes{...on ProjectV2FieldCommon{name dataType}}}}";
  Value::Object variables;
  variables["owner"] = Value(owner);
  variables["number"] = Value(number);
  return GraphQlBody(kQuery, Value(std::move(variables)));
}

std::string GitHubProjectValuesQuery(const std::vector<std::string>& node_ids) {
  constexpr std::string_view kQuery =
      "query($ids:[ID!]!){nodes(ids:$ids){...on Issue{id "
      "projectItems(first:50,includeArchived:false){nodes{project{id} "
      "fieldValues(first:100){nodes{__typename "
      "...on ProjectV2ItemFieldNumberValue{number field{...on ProjectV2FieldCommon{name}}} "
      "...on ProjectV2ItemFieldTextValue{text field{...on ProjectV2FieldCommon{name}}} "
      "...on ProjectV2ItemFieldSingleSelectValue{name field{...on ProjectV2FieldCommon{name}}} "
      "...on ProjectV2ItemFieldIterationValue{title field{...on ProjectV2FieldCommon{name}}} "
      "...on ProjectV2ItemFieldDateValue{date field{...on ProjectV2FieldCommon{name}}}"
      "}}}}}}}";
  Value::List ids;
  ids.reserve(node_ids.size());
  for (const std::string& id : node_ids) {
    ids.emplace_back(id);
  }
  Value::Object variables;
  variables["ids"] = Value(std::move(ids));
  return GraphQlBody(kQuery, Value(std::move(variables)));
}

Result<std::optional<GitHubProjectInfo>> DecodeGitHubProject(JsonView root) {
  auto data = root.IsObject() ? root.FindNonNull("data") : std::nullopt;
  if (!data) {
    return std::optional<GitHubProjectInfo>();
  }
  if (!data->IsObject()) {
    return Fail(ErrorCode::kBadResponse, "GraphQL's data is not a JSON object");
  }
  for (std::string_view owner : {"organization", "user"}) {
    auto account = data->FindNonNull(owner);
    auto project = account && account->IsObject() ? account->FindNonNull("projectV2")
                                                  : std::nullopt;
    if (!project) {
      continue;
    }
    if (!project->IsObject() || !project->Find("id") || !project->Find("id")->IsString()) {
      return Fail(ErrorCode::kBadResponse, "the project in GraphQL's answer has no id");
    }
    GitHubProjectInfo info;
    info.id = std::string(project->StringOr("id"));
    info.title = std::string(project->StringOr("title"));
    auto fields = project->FindNonNull("fields");
    auto nodes = fields && fields->IsObject() ? fields->FindNonNull("nodes") : std::nullopt;
    if (nodes && nodes->IsList()) {
      for (JsonView field : nodes->Elements()) {
        const std::string_view name = field.IsObject() ? field.StringOr("name") : "";
        if (!name.empty()) {
          info.fields.emplace_back(name);
        }
      }
    }
    return std::optional(std::move(info));
  }
  return std::optional<GitHubProjectInfo>();
}

Result<std::map<std::string, Value::Object>> DecodeGitHubProjectValues(
    JsonView root, std::string_view project_id, const std::vector<std::string>& names) {
  auto data = root.IsObject() ? root.FindNonNull("data") : std::nullopt;
  auto nodes = data && data->IsObject() ? data->FindNonNull("nodes") : std::nullopt;
  if (!nodes || !nodes->IsList()) {
    return Fail(ErrorCode::kBadResponse, "GraphQL's answer has no data.nodes list");
  }
  std::map<std::string, Value::Object> out;
  for (JsonView node : nodes->Elements()) {
    if (!node.IsObject()) {
      continue;  // null: an id GitHub no longer knows
    }
    const std::string id(node.StringOr("id"));
    if (id.empty()) {
      continue;
    }
    Value::Object& values = out[id];
    for (const std::string& name : names) {
      values.emplace(name, Value());
    }
    auto items = node.FindNonNull("projectItems");
    auto item_nodes = items && items->IsObject() ? items->FindNonNull("nodes") : std::nullopt;
    if (!item_nodes || !item_nodes->IsList()) {
      continue;
    }
    for (JsonView item : item_nodes->Elements()) {
      auto project = item.IsObject() ? item.FindNonNull("project") : std::nullopt;
      if (!project || !project->IsObject() || project->StringOr("id") != project_id) {
        continue;
      }
      auto field_values = item.FindNonNull("fieldValues");
      auto value_nodes =
          field_values && field_values->IsObject() ? field_values->FindNonNull("nodes")
                                                   : std::nullopt;
      if (!value_nodes || !value_nodes->IsList()) {
        break;
      }
      for (JsonView value : value_nodes->Elements()) {
        auto field = value.IsObject() ? value.FindNonNull("field") : std::nullopt;
        const std::string_view name = field && field->IsObject() ? field->StringOr("name") : "";
        if (name.empty() || std::find(names.begin(), names.end(), name) == names.end()) {
          continue;
        }
        values.insert_or_assign(name, ProjectFieldValue(value));
      }
      break;
    }
  }
  return out;
}

}  // namespace boardsync

#include "connectors/gitlab/decode.h"

#include <algorithm>
#include <utility>

#include "core/time.h"
#include "core/url.h"

namespace boardsync {
namespace {

// Members holding one user; any other member that holds a user object is
// read as the JSON it is (GitLab adds members over time, and a mapping may
// read a new one by path).
constexpr std::string_view kUserMembers[] = {"assignee", "author", "closed_by"};

std::unexpected<Error> Bad(std::string_view issue, std::string_view what) {
  return Fail(ErrorCode::kBadResponse, "issue " + std::string(issue) + ": " + std::string(what));
}

bool Digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// GitLab's global id: a positive whole number.
std::optional<std::string> IssueId(JsonView issue) {
  auto id = issue.Find("id");
  std::int64_t n = 0;
  if (!id || !AsInteger(*id, n) || n < 1) {
    return std::nullopt;
  }
  return std::to_string(n);
}

std::optional<std::int64_t> Iid(JsonView issue) {
  auto iid = issue.Find("iid");
  std::int64_t n = 0;
  if (!iid || !AsInteger(*iid, n) || n < 1) {
    return std::nullopt;
  }
  return n;
}

// references.full when it is a non-empty string.
std::optional<std::string> FullReference(JsonView issue) {
  auto references = issue.FindNonNull("references");
  if (!references || !references->IsObject()) {
    return std::nullopt;
  }
  auto full = references->Find("full");
  if (!full || !full->IsString() || full->AsString().empty()) {
    return std::nullopt;
  }
  return std::string(full->AsString());
}

// The project's path in a web_url below `web_root`:
// "{root}/group/sub/name/-/issues/12" (or ".../issues/12" before GitLab 12.x,
// ".../-/work_items/12" for tasks) → "group/sub/name".
std::optional<std::string> ProjectFromWebUrl(std::string_view web_url, std::string_view web_root) {
  if (web_root.empty() || !web_url.starts_with(web_root) || web_url.size() <= web_root.size() ||
      web_url[web_root.size()] != '/') {
    return std::nullopt;
  }
  std::string_view rest = web_url.substr(web_root.size() + 1);
  std::size_t end = rest.find("/-/");
  if (end == std::string_view::npos) {
    end = rest.rfind("/issues/");
  }
  if (end == std::string_view::npos || end == 0) {
    return std::nullopt;
  }
  return PercentDecode(rest.substr(0, end));
}

// The issue's key: references.full, else the project's path and #iid.
std::optional<std::string> IssueKey(JsonView issue, const GitLabDecodeContext& context) {
  if (auto full = FullReference(issue)) {
    return full;
  }
  const auto iid = Iid(issue);
  if (!iid) {
    return std::nullopt;
  }
  if (!context.project_path.empty() && !Digits(context.project_path)) {
    return context.project_path + "#" + std::to_string(*iid);
  }
  auto web_url = issue.Find("web_url");
  if (web_url && web_url->IsString()) {
    if (auto project = ProjectFromWebUrl(web_url->AsString(), context.web_root)) {
      return *project + "#" + std::to_string(*iid);
    }
  }
  return std::nullopt;
}

Value SecondsToMinutes(std::int64_t seconds) {
  if (seconds % 60 == 0) {
    return Value(seconds / 60);
  }
  return Value(static_cast<double>(seconds) / 60.0);
}

Result<Value> Minutes(JsonView seconds, std::string_view issue, std::string_view member) {
  std::int64_t s = 0;
  if (AsInteger(seconds, s)) {
    return SecondsToMinutes(s);
  }
  if (seconds.IsDouble()) {
    return Value(seconds.AsDouble() / 60.0);
  }
  return Bad(issue, std::string(member) + " is not a number of seconds");
}

// A nullable string member: string → string, missing or null → null.
Result<Value> OptionalString(JsonView object, std::string_view key, std::string_view issue,
                             std::string_view member) {
  auto v = object.FindNonNull(key);
  if (!v) {
    return Value();
  }
  if (!v->IsString()) {
    return Bad(issue, std::string(member) + ": " + std::string(key) + " is not a string");
  }
  return Value(v->AsString());
}

// {"login": username, "name": name, "email"}: name falls back to the
// login; e-mail is there only for admins (`email`) or users who made theirs
// public (`public_email`, "" otherwise).
Result<Value> DecodeUser(JsonView user, std::string_view issue, std::string_view member) {
  if (!user.IsObject()) {
    return Bad(issue, std::string(member) + ": a user is not a JSON object");
  }
  auto username = OptionalString(user, "username", issue, member);
  auto name = OptionalString(user, "name", issue, member);
  auto email = OptionalString(user, "email", issue, member);
  auto public_email = OptionalString(user, "public_email", issue, member);
  for (const auto* r : {&username, &name, &email, &public_email}) {
    if (!*r) {
      return std::unexpected(r->error());
    }
  }
  auto usable = [](const Value& v) { return v.IsString() && !v.AsString().empty(); };
  if (!usable(*username)) {
    return Bad(issue, std::string(member) + ": a user has no username");
  }
  Value display = usable(*name) ? std::move(*name) : Value(*username);
  Value mail = usable(*email)          ? std::move(*email)
               : usable(*public_email) ? std::move(*public_email)
                                       : Value();
  // Emplaced in key order, each at the end.
  Value::Object out;
  out.reserve(3);
  out.emplace("email", std::move(mail));
  out.emplace("login", std::move(*username));
  out.emplace("name", std::move(display));
  return Value(std::move(out));
}

Result<Value> DecodeLabels(JsonView labels, std::string_view issue) {
  if (!labels.IsList()) {
    return Bad(issue, "labels is not a list");
  }
  Value::List out;
  out.reserve(labels.size());
  for (JsonView label : labels.Elements()) {
    if (label.IsString()) {
      out.emplace_back(label.AsString());
    } else if (label.IsObject() && label.Find("name") && label.Find("name")->IsString()) {
      out.emplace_back(label.Find("name")->AsString());  // with_labels_details=true
    } else {
      return Bad(issue, "labels: a label is not a name");
    }
  }
  return Value(std::move(out));
}

// {"priority": "high", "workflow": "in review"} from "priority::high" and
// "workflow::in review": a scope is everything before the last "::" (scopes
// nest: "workflow::backend::review" is scope "workflow::backend"). GitLab
// keeps one label per scope on its paid tiers; on the free tier an issue may
// carry several, and the scope then gives a list of their values.
Result<Value> DecodeScopedLabels(JsonView labels, std::string_view issue) {
  auto names = DecodeLabels(labels, issue);
  if (!names) {
    return names;
  }
  Value::Object out;
  for (const Value& label : names->AsList()) {
    const std::string& text = label.AsString();
    const std::size_t at = text.rfind("::");
    if (at == std::string::npos || at == 0 || at + 2 >= text.size()) {
      continue;
    }
    const std::string scope = text.substr(0, at);
    Value value(text.substr(at + 2));
    auto existing = out.find(scope);
    if (existing == out.end()) {
      out.emplace(scope, std::move(value));
    } else if (existing->second.IsList()) {
      existing->second.AsList().push_back(std::move(value));
    } else {
      existing->second = Value(Value::List{std::move(existing->second), std::move(value)});
    }
  }
  return Value(std::move(out));
}

Result<Value> DecodeUsers(JsonView users, std::string_view issue, std::string_view member) {
  if (!users.IsList()) {
    return Bad(issue, std::string(member) + " is not a list");
  }
  Value::List out;
  out.reserve(users.size());
  for (JsonView user : users.Elements()) {
    auto decoded = DecodeUser(user, issue, member);
    if (!decoded) {
      return decoded;
    }
    out.push_back(std::move(*decoded));
  }
  return Value(std::move(out));
}

Result<Value> DecodeMilestone(JsonView milestone, std::string_view issue) {
  if (!milestone.IsObject()) {
    return Bad(issue, "milestone is not a JSON object");
  }
  auto title = milestone.Find("title");
  if (!title || !title->IsString()) {
    return Bad(issue, "milestone has no title");
  }
  return Value(title->AsString());
}

Result<Value> DecodeTimeStats(JsonView stats, std::string_view issue) {
  if (!stats.IsObject()) {
    return Bad(issue, "time_stats is not a JSON object");
  }
  Value::Object out;
  out.reserve(4);
  for (std::string_view member : {"human_time_estimate", "human_total_time_spent"}) {
    auto text = OptionalString(stats, member, issue, "time_stats");
    if (!text) {
      return text;
    }
    out.emplace(member, std::move(*text));
  }
  for (std::string_view member : {"time_estimate", "total_time_spent"}) {
    Value minutes;
    if (auto seconds = stats.FindNonNull(member)) {
      auto decoded = Minutes(*seconds, issue, "time_stats." + std::string(member));
      if (!decoded) {
        return decoded;
      }
      minutes = std::move(*decoded);
    }
    out.emplace(member, std::move(minutes));
  }
  return Value(std::move(out));
}

Result<Value> DecodeTimestamp(JsonView time, std::string_view issue, std::string_view member) {
  std::optional<std::int64_t> ms;
  if (time.IsString()) {
    ms = ParseGitLabTime(time.AsString());
  }
  if (!ms || !IsIsoWritable(*ms)) {
    return Bad(issue, std::string(member) + " is not a date and time within the years 0001-9999");
  }
  return Value(FormatIsoUtc(*ms));
}

Result<Value> DecodeDate(JsonView date, std::string_view issue, std::string_view member) {
  std::optional<std::int64_t> ms;
  if (date.IsString() && date.AsString().size() == 10) {
    ms = ParseIsoUtc(date.AsString());
  }
  if (!ms || !IsIsoWritable(*ms)) {
    return Bad(issue, std::string(member) + " is not a date (YYYY-MM-DD)");
  }
  return Value(FormatIsoDate(*ms));
}

Result<Value> DecodeWeight(JsonView weight, std::string_view issue) {
  if (!weight.IsNumber()) {
    return Bad(issue, "weight is not a number");
  }
  std::int64_t n = 0;
  return AsInteger(weight, n) ? Value(n) : Value(weight.AsDouble());
}

// `created_at`, `updated_at`: also not before 1970, which no issue is.
Result<std::int64_t> IssueTime(std::optional<JsonView> v, std::string_view issue,
                               std::string_view member) {
  std::optional<std::int64_t> ms;
  if (v && v->IsString()) {
    ms = ParseGitLabTime(v->AsString());
  }
  if (!ms) {
    return Bad(issue, std::string(member) + " is not a date and time");
  }
  if (*ms < 0 || *ms > kMaxIsoMs) {
    return Bad(issue, std::string(member) + " is outside the years 1970-9999");
  }
  return *ms;
}

bool HttpUrl(std::string_view text) {
  auto url = ParseUrl(text);
  return url.has_value();  // ParseUrl takes http and https only
}

}  // namespace

bool IsKnownGitLabMember(std::string_view name) {
  // clang-format off
  static constexpr std::string_view kMembers[] = {
      "_links", "assignee", "assignees", "author", "blocking_issues_count", "closed_at",
      "closed_by", "confidential", "created_at", "description", "discussion_locked",
      "downvotes", "due_date", "epic", "epic_iid", "has_tasks", "health_status", "id", "iid",
      "imported", "imported_from", "issue_type", "iteration", "labels", "merge_requests_count",
      "milestone", "moved_to_id", "project_id", "references", "service_desk_reply_to",
      "severity", "state", "subscribed", "task_completion_status", "task_status", "time_stats",
      "title", "type", "updated_at", "upvotes", "user_notes_count", "web_url", "weight",
      kGitLabScopedLabels};
  // clang-format on
  return std::find(std::begin(kMembers), std::end(kMembers), name) != std::end(kMembers);
}

std::optional<std::int64_t> ParseGitLabTime(std::string_view text) {
  // "2016-01-04T15:31:51.081Z": a date, 'T', a time to the second at least,
  // and its zone. ParseIsoUtc() would read less (a date alone, no zone).
  if (text.size() < 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  if (text.back() != 'Z') {
    const std::size_t sign = text.find_last_of("+-");
    if (sign == std::string_view::npos || sign < 19) {
      return std::nullopt;
    }
    const std::string_view zone = text.substr(sign + 1);
    const bool colon = zone.size() == 5 && zone[2] == ':';
    if (zone.size() != (colon ? 5u : 4u)) {
      return std::nullopt;
    }
    const char h1 = zone[0], h2 = zone[1], m1 = zone[colon ? 3 : 2], m2 = zone[colon ? 4 : 3];
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (!digit(h1) || !digit(h2) || !digit(m1) || !digit(m2) || (h1 - '0') * 10 + (h2 - '0') > 23 ||
        m1 > '5') {
      return std::nullopt;
    }
  }
  return ParseIsoUtc(text);
}

Result<Value> GitLabMemberValue(std::string_view name, std::optional<JsonView> value,
                                std::string_view issue_key) {
  const bool null = !value || value->IsNull();
  if (name == "labels") {
    return null ? Value(Value::List()) : DecodeLabels(*value, issue_key);
  }
  if (name == kGitLabScopedLabels) {
    return null ? Value(Value::Object()) : DecodeScopedLabels(*value, issue_key);
  }
  if (name == "assignees") {
    return null ? Value(Value::List()) : DecodeUsers(*value, issue_key, name);
  }
  if (null) {
    return Value();
  }
  if (std::find(std::begin(kUserMembers), std::end(kUserMembers), name) != std::end(kUserMembers)) {
    return DecodeUser(*value, issue_key, name);
  }
  if (name == "milestone") {
    return DecodeMilestone(*value, issue_key);
  }
  if (name == "time_stats") {
    return DecodeTimeStats(*value, issue_key);
  }
  if (name == "created_at" || name == "updated_at" || name == "closed_at") {
    return DecodeTimestamp(*value, issue_key, name);
  }
  if (name == "due_date") {
    return DecodeDate(*value, issue_key, name);
  }
  if (name == "weight") {
    return DecodeWeight(*value, issue_key);
  }
  return value->ToValue();
}

Result<Issue> DecodeGitLabIssue(JsonView json, const GitLabDecodeContext& context) {
  if (!json.IsObject()) {
    return Fail(ErrorCode::kBadResponse, "an issue in the list is not a JSON object");
  }
  Issue issue;
  auto id = IssueId(json);
  auto key = IssueKey(json, context);
  if (!id) {
    return Fail(ErrorCode::kBadResponse,
                "issue" + (key ? " " + *key : std::string()) + " has no numeric id");
  }
  issue.id = std::move(*id);
  if (!key) {
    return Fail(ErrorCode::kBadResponse,
                "issue " + issue.id + " has no key: no references.full, and no iid and project");
  }
  issue.key = std::move(*key);

  // `updated_at` orders the sync and is always read.
  auto updated = IssueTime(json.Find("updated_at"), issue.key, "updated_at");
  if (!updated) {
    return std::unexpected(updated.error());
  }
  issue.updated_ms = *updated;
  if (auto created = json.FindNonNull("created_at")) {
    auto ms = IssueTime(created, issue.key, "created_at");
    if (!ms) {
      return std::unexpected(ms.error());
    }
    issue.created_ms = *ms;
  }
  if (auto closed = json.FindNonNull("closed_at")) {
    std::optional<std::int64_t> ms;
    if (closed->IsString()) {
      ms = ParseGitLabTime(closed->AsString());
    }
    if (!ms || !IsIsoWritable(*ms)) {
      return Bad(issue.key, "closed_at is not a date and time within the years 0001-9999");
    }
    issue.resolved_ms = *ms;
  }
  if (auto web_url = json.FindNonNull("web_url")) {
    if (!web_url->IsString() || !HttpUrl(web_url->AsString())) {
      return Bad(issue.key, "web_url is not an http(s) URL");
    }
    issue.url = std::string(web_url->AsString());
  }

  std::vector<std::pair<std::string, Value>> members;
  members.reserve(context.names.size());
  for (const std::string& name : context.names) {
    auto value = GitLabMemberValue(
        name, json.Find(name == kGitLabScopedLabels ? std::string_view("labels") : name),
        issue.key);
    if (!value) {
      return std::unexpected(value.error());
    }
    members.emplace_back(name, std::move(*value));
  }
  issue.fields = Value::Object(std::make_move_iterator(members.begin()),
                               std::make_move_iterator(members.end()));
  return issue;
}

Issue UndecodedGitLabIssue(JsonView json, std::string reason) {
  Issue issue;
  issue.decode_error = std::move(reason);
  if (!json.IsObject()) {
    return issue;
  }
  issue.id = IssueId(json).value_or("");
  issue.key = FullReference(json).value_or("");
  auto updated = json.Find("updated_at");
  if (updated && updated->IsString()) {
    auto ms = ParseGitLabTime(updated->AsString());
    if (ms && *ms >= 0 && *ms <= kMaxIsoMs) {
      issue.updated_ms = *ms;
    }
  }
  return issue;
}

Result<std::vector<Issue>> DecodeGitLabIssueList(JsonView json,
                                                 const GitLabDecodeContext& context) {
  if (!json.IsList()) {
    return Fail(ErrorCode::kBadResponse, "the issue list is not a JSON array");
  }
  std::vector<Issue> issues;
  issues.reserve(json.size());
  for (JsonView element : json.Elements()) {
    auto issue = DecodeGitLabIssue(element, context);
    issues.push_back(issue ? std::move(*issue)
                           : UndecodedGitLabIssue(element, issue.error().message));
  }
  return issues;
}

Result<GitLabTokenUser> DecodeGitLabUser(JsonView json) {
  if (!json.IsObject()) {
    return Fail(ErrorCode::kBadResponse, "GitLab's /user answer is not a JSON object");
  }
  GitLabTokenUser user;
  user.username = std::string(json.StringOr("username"));
  if (user.username.empty()) {
    return Fail(ErrorCode::kBadResponse, "GitLab's /user answer names no user");
  }
  user.name = std::string(json.StringOr("name", user.username));
  if (user.name.empty()) {
    user.name = user.username;
  }
  std::int64_t id = 0;
  if (auto v = json.Find("id"); v && AsInteger(*v, id)) {
    user.id = id;
  }
  user.state = std::string(json.StringOr("state"));
  if (auto bot = json.Find("bot"); bot && bot->IsBool()) {
    user.bot = bot->AsBool();
  }
  return user;
}

Result<GitLabNamespace> DecodeGitLabNamespace(JsonView json) {
  if (!json.IsObject()) {
    return Fail(ErrorCode::kBadResponse, "the answer is not a JSON object");
  }
  GitLabNamespace out;
  auto id = json.Find("id");
  if (!id || !AsInteger(*id, out.id) || out.id < 1) {
    return Fail(ErrorCode::kBadResponse, "the answer has no numeric id");
  }
  out.full_path = std::string(json.StringOr("path_with_namespace", json.StringOr("full_path")));
  return out;
}

}  // namespace boardsync

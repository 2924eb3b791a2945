#include "connectors/github/fields.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "connectors/github/decode.h"
#include "core/text.h"
#include "core/value.h"

namespace boardsync {
namespace {

// The members of an issue as GET /repos/{o}/{r}/issues and
// /repos/{o}/{r}/issues/{n} return it (github/docs, src/rest/data, issue
// schema), sorted. A name outside this list is not read from the issue.
constexpr std::array<std::string_view, 42> kMembers = {
    "active_lock_reason",
    "assignee",
    "assignees",
    "author_association",
    "body",
    "body_html",
    "body_text",
    "closed_at",
    "closed_by",
    "comments",
    "comments_url",
    "created_at",
    "draft",
    "events_url",
    "html_url",
    "id",
    "issue_dependencies_summary",
    "issue_field_values",
    "labels",
    "labels_url",
    "locked",
    "milestone",
    "node_id",
    "number",
    "parent_issue_url",
    "performed_via_github_app",
    "pinned_comment",
    "pull_request",
    "reactions",
    "repository",
    "repository_url",
    "state",
    "state_reason",
    "sub_issues_summary",
    "text_matches",
    "timeline_url",
    "title",
    "type",
    "updated_at",
    "url",
    "user",
    "user_view_type",
};

static_assert(std::is_sorted(kMembers.begin(), kMembers.end()));

}  // namespace

bool IsGitHubIssueMember(std::string_view name) {
  return std::binary_search(kMembers.begin(), kMembers.end(), name);
}

GitHubFieldSelection SelectGitHubFields(const std::vector<std::string>& names) {
  GitHubFieldSelection selection;
  for (const std::string& name : names) {
    if (name.empty() || name.starts_with('$')) {
      continue;
    }
    auto& into = IsGitHubIssueMember(name) ? selection.members : selection.others;
    if (std::find(into.begin(), into.end(), name) == into.end()) {
      into.push_back(name);
    }
  }
  return selection;
}

std::string GitHubProjectFieldsQuery(std::string_view owner, std::int64_t number) {
  constexpr std::string_view kQuery =
      "query($owner:String!,$number:Int!){"
      "organization(login:$owner){projectV2(number:$number){...project}}"
      "user(login:$owner){projectV2(number:$number){...project}}}"
      "fragment project on ProjectV2{id title viewerCanUpdate "
      "fields(first:100){nodes{...on ProjectV2FieldCommon{id name dataType}}}}";
  Value::Object variables;
  variables["owner"] = Value(owner);
  variables["number"] = Value(number);
  return Value(Value::Object{{"query", Value(kQuery)}, {"variables", Value(std::move(variables))}})
      .ToJson();
}

Result<std::optional<GitHubWritableProject>> DecodeGitHubProjectFields(JsonView root) {
  // Found, and of the right shape, as the pull reads the same answer.
  auto found = DecodeGitHubProject(root);
  if (!found) {
    return std::unexpected(found.error());
  }
  if (!*found) {
    return std::optional<GitHubWritableProject>();
  }
  GitHubWritableProject project;
  project.id = (*found)->id;
  const JsonView data = *root.FindNonNull("data");
  for (std::string_view owner : {"organization", "user"}) {
    auto account = data.FindNonNull(owner);
    auto node = account && account->IsObject() ? account->FindNonNull("projectV2") : std::nullopt;
    if (!node || !node->IsObject() || node->StringOr("id") != project.id) {
      continue;
    }
    if (auto can = node->FindNonNull("viewerCanUpdate"); can && can->IsBool()) {
      project.viewer_can_update = can->AsBool();
    }
    auto fields = node->FindNonNull("fields");
    auto nodes = fields && fields->IsObject() ? fields->FindNonNull("nodes") : std::nullopt;
    if (!nodes || !nodes->IsList()) {
      return Fail(ErrorCode::kBadResponse,
                  "the project in GraphQL's answer has no fields.nodes list");
    }
    for (JsonView field : nodes->Elements()) {
      if (!field.IsObject() || field.StringOr("id").empty() || field.StringOr("name").empty()) {
        continue;  // a field this query cannot see (none on GitHub today)
      }
      project.fields.push_back(GitHubProjectFieldInfo{std::string(field.StringOr("id")),
                                                      std::string(field.StringOr("name")),
                                                      std::string(field.StringOr("dataType"))});
    }
    break;
  }
  return std::optional(std::move(project));
}

const GitHubProjectFieldInfo* FindGitHubProjectField(
    const std::vector<GitHubProjectFieldInfo>& fields, std::string_view name) {
  for (const GitHubProjectFieldInfo& field : fields) {
    if (field.name == name) {
      return &field;
    }
  }
  const std::string lower = AsciiLower(name);
  for (const GitHubProjectFieldInfo& field : fields) {
    if (AsciiLower(field.name) == lower) {
      return &field;
    }
  }
  return nullptr;
}

std::string GitHubFieldTypeWords(std::string_view data_type) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kCustom = {{
      {"NUMBER", "a number field"},
      {"TEXT", "a text field"},
      {"SINGLE_SELECT", "a single select field"},
      {"ITERATION", "an iteration field"},
      {"DATE", "a date field"},
  }};
  const std::string type(data_type.empty() ? "unknown" : data_type);
  for (const auto& [name, words] : kCustom) {
    if (name == data_type) {
      return std::string(words) + " (" + type + ")";
    }
  }
  // The built-in ones (TITLE, ASSIGNEES, LABELS, LINKED_PULL_REQUESTS, ...):
  // "the built-in Linked pull requests field".
  std::string words = AsciiLower(type);
  std::replace(words.begin(), words.end(), '_', ' ');
  if (!words.empty()) {
    words[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(words[0])));
  }
  return "the built-in " + words + " field (" + type + ")";
}

}  // namespace boardsync

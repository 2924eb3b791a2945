#include "connectors/github/fields.h"

#include <algorithm>
#include <array>

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

}  // namespace boardsync

// Fuzzes what boardsync makes of a GitLab answer: any bytes go through
// ParseJsonDocument() (as the connector reads them), and whatever JSON comes
// out is decoded as an issue list (with names covering every kind of member
// the decoder tells apart), as one issue (GET .../issues/:iid), as the
// token's user and as a project or group. The same bytes, as text, are read
// as a Link header, an X-Next-Page value and a key. A decoder must answer
// every shape with a value or an Error; crashes, sanitizer reports and broken
// promises of the decoders' contract (checked below: a list decodes issue by
// issue, ids are digits, times stay within four-digit years, text stays
// UTF-8, a next page stays on the API) are the findings.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/gitlab/decode.h"
#include "connectors/gitlab/query.h"
#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"

namespace boardsync {
namespace {

constexpr std::string_view kApi = "https://gitlab.example.com/gitlab/api/v4";
constexpr std::string_view kFrom =
    "https://gitlab.example.com/gitlab/api/v4/projects/101/issues?scope=all&per_page=2&page=2";

void Require(bool promise) {
  if (!promise) {
    std::abort();
  }
}

// Every member kind the decoder tells apart, GitLab's others as they come,
// the connector's own scoped_labels, and a name GitLab never sends.
const GitLabDecodeContext& Context(bool in_project) {
  static const std::vector<std::string> names = {"title",         "description",
                                                 "state",         "labels",
                                                 "scoped_labels", "assignees",
                                                 "assignee",      "author",
                                                 "closed_by",     "milestone",
                                                 "time_stats",    "weight",
                                                 "due_date",      "references",
                                                 "created_at",    "updated_at",
                                                 "closed_at",     "iid",
                                                 "epic",          "moved_to_id",
                                                 "confidential",  "task_completion_status",
                                                 "nothing"};
  static const GitLabDecodeContext project = [] {
    GitLabDecodeContext context;
    context.names = names;
    context.project_path = "acme/roadmap";
    context.web_root = "https://gitlab.example.com/gitlab";
    return context;
  }();
  static const GitLabDecodeContext group = [] {
    GitLabDecodeContext context = project;
    context.project_path.clear();
    return context;
  }();
  return in_project ? project : group;
}

bool AllDigits(std::string_view text) {
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// Uses a decoded issue the way a sync does: its fields end up as JSON, its
// `updated` in the cursor and on the board.
void Touch(const Issue& issue) {
  Require(AllDigits(issue.id));
  Require(IsValidUtf8(issue.key));
  if (!issue.decode_error.empty()) {
    // Undecodable: only what orders it, and only when it is usable.
    Require(issue.updated_ms >= 0 && issue.updated_ms <= kMaxIsoMs);
    Require(issue.fields.empty());
    return;
  }
  Require(!issue.id.empty() && !issue.key.empty());
  Require(issue.updated_ms >= 0 && issue.updated_ms <= kMaxIsoMs);
  Require(issue.created_ms >= 0 && issue.created_ms <= kMaxIsoMs);
  Require(FormatIsoUtc(issue.updated_ms).size() == 24);
  Require(!issue.resolved_ms || IsIsoWritable(*issue.resolved_ms));
  const std::string scheme = AsciiLower(issue.url.substr(0, 8));
  Require(issue.url.empty() || scheme.starts_with("http://") || scheme == "https://");
  std::string out;
  for (const auto& [name, value] : issue.fields) {
    value.AppendJson(out);
    (void)value.ToText();
  }
  Require(IsValidUtf8(out));
}

void TouchText(std::string_view text) {
  // As a Link header and as X-Next-Page: whatever comes out stays on the API.
  for (auto next : {GitLabNextPageUrl(text, std::nullopt, kFrom, kApi),
                    GitLabNextPageUrl(std::nullopt, text, kFrom, kApi)}) {
    if (next && !next->empty()) {
      Require(next->starts_with(std::string(kApi) + "/") || *next == kApi);
    }
  }
  // As a key: the project path before the last '#' and a positive iid.
  if (auto key = ParseGitLabKey(text)) {
    Require(key->iid > 0);
    Require(CheckGitLabPath(key->project, GitLabScope::kProject).has_value());
    Require(key->project == text.substr(0, text.rfind('#')));
  }
  // As a project path: one that passes is encoded into one segment.
  if (CheckGitLabPath(text, GitLabScope::kProject)) {
    Require(GitLabPathId(text).find('/') == std::string::npos);
  }
  if (auto root = GitLabRootUrl(text)) {
    Require(!root->ends_with("/"));
  }
}

}  // namespace
}  // namespace boardsync

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace boardsync;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  TouchText(text);
  auto doc = ParseJsonDocument(text);
  if (!doc) {
    return 0;
  }
  const JsonView json = doc->Root();
  for (bool in_project : {true, false}) {
    auto issues = DecodeGitLabIssueList(json, Context(in_project));
    // A list decodes whatever it holds, one issue per element; anything
    // else fails whole.
    Require(issues.has_value() == json.IsList());
    if (issues) {
      Require(issues->size() == json.size());
      for (const Issue& issue : *issues) {
        Touch(issue);
      }
    }
  }
  // The seeds hold single issues (GET .../issues/:iid), /user and project
  // answers too.
  if (json.IsObject()) {
    if (auto issue = DecodeGitLabIssue(json, Context(true))) {
      Touch(*issue);
    } else {
      Touch(UndecodedGitLabIssue(json, issue.error().message));
    }
    if (auto user = DecodeGitLabUser(json)) {
      Require(!user->username.empty() && !user->name.empty());
    }
    if (auto target = DecodeGitLabNamespace(json)) {
      Require(target->id > 0);
    }
  }
  return 0;
}

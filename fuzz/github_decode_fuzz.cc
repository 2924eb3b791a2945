// Fuzzes what boardsync makes of a GitHub answer: any bytes go through
// ParseJsonDocument() (as the connector reads them), and whatever JSON comes
// out is decoded as a list of issues (pull requests mixed in), as one issue
// (with and without the repository given, as pulls by key do), and as the
// GraphQL answers of a Projects v2 board. A decoder must answer every shape
// with a value or an Error; crashes, sanitizer reports and broken promises of
// the decoders' contract (checked below: a list decodes element by element,
// pull requests aside; ids are digits; keys are owner/name#number; times
// stay within four-digit years; text stays UTF-8) are the findings.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/github/decode.h"
#include "connectors/github/fields.h"
#include "connectors/github/repos.h"
#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"

namespace boardsync {
namespace {

constexpr std::string_view kRepo = "octocat/Hello-World";

// The members a mapping might read: every kind the decoder tells apart,
// and names that are no member (project fields).
const std::vector<std::string>& Members() {
  static const std::vector<std::string> members = [] {
    std::vector<std::string> names = {
        "title",      "body",       "state",          "state_reason", "locked",
        "comments",   "labels",     "assignees",      "assignee",     "user",
        "closed_by",  "milestone",  "reactions",      "type",         "created_at",
        "updated_at", "closed_at",  "author_association", "sub_issues_summary", "number",
        "node_id",    "pull_request", "repository",   "Priority",     "$key"};
    return SelectGitHubFields(names).members;
  }();
  return members;
}

void Require(bool promise) {
  if (!promise) {
    std::abort();
  }
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
// `updated` in the cursor and on the board, its key in the retry list.
void Touch(const Issue& issue) {
  Require(AllDigits(issue.id));
  Require(issue.key.empty() || ParseGitHubKey(issue.key).has_value());
  if (!issue.decode_error.empty()) {
    // Undecodable: only what orders it, and only when it is usable.
    Require(issue.updated_ms >= 0 && issue.updated_ms <= kMaxIsoMs);
    Require(issue.fields.empty());
    Require(IsValidUtf8(issue.decode_error));
    return;
  }
  Require(!issue.id.empty() && !issue.key.empty());
  Require(issue.updated_ms >= 0 && issue.updated_ms <= kMaxIsoMs);
  Require(issue.created_ms >= 0 && issue.created_ms <= kMaxIsoMs);
  Require(FormatIsoUtc(issue.updated_ms).size() == 24);
  Require(!issue.resolved_ms || IsIsoWritable(*issue.resolved_ms));
  Require(issue.fields.size() <= Members().size());
  std::string out;
  for (const auto& [name, value] : issue.fields) {
    value.AppendJson(out);
    (void)value.ToText();
  }
  Require(IsValidUtf8(out));
  Require(IsValidUtf8(issue.url));
}

void TouchList(JsonView json) {
  auto list = DecodeGitHubIssueList(json, kRepo, Members());
  Require(list.has_value() == json.IsList());
  if (!list) {
    return;
  }
  // Every element is an issue or a pull request left out.
  Require(list->issues.size() + list->pull_requests == json.size());
  Require(list->node_ids.size() == list->issues.size());
  Require(!list->newest_ms || (*list->newest_ms >= 0 && *list->newest_ms <= kMaxIsoMs));
  for (const Issue& issue : list->issues) {
    Touch(issue);
    Require(issue.key.empty() || issue.key.starts_with(std::string(kRepo) + "#"));
    if (issue.decode_error.empty() && list->newest_ms) {
      Require(issue.updated_ms <= *list->newest_ms);
    }
  }
}

}  // namespace
}  // namespace boardsync

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace boardsync;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = ParseJsonDocument(text);
  if (!doc) {
    return 0;
  }
  const JsonView json = doc->Root();
  TouchList(json);

  // The seeds hold single issues too, as GET .../issues/{n} returns them:
  // with the repository given (a list's), and without (a transferred one,
  // named by its repository_url).
  if (json.IsObject()) {
    for (std::string_view repo : {kRepo, std::string_view()}) {
      if (auto issue = DecodeGitHubIssue(json, repo, Members())) {
        Touch(*issue);
      } else {
        Require(issue.error().code == ErrorCode::kBadResponse);
        Touch(UndecodedGitHubIssue(json, repo, issue.error().message));
      }
    }
    (void)IsGitHubPullRequest(json);
  }

  // The GraphQL answers: errors, a project, its values.
  (void)ReadGitHubGraphQlErrors(json);
  Require(IsValidUtf8(GitHubErrorMessage(text)));
  if (auto project = DecodeGitHubProject(json); project && *project) {
    Require(IsValidUtf8((*project)->id));
    if (auto values = DecodeGitHubProjectValues(json, (*project)->id, {"Priority", "Size"})) {
      for (const auto& [id, fields] : *values) {
        Require(fields.size() == 2);
      }
    }
  }
  if (auto values = DecodeGitHubProjectValues(json, "PVT_1", {"Priority", "Size", "Iteration"})) {
    for (const auto& [id, fields] : *values) {
      Require(fields.size() == 3);
      std::string out;
      for (const auto& [name, value] : fields) {
        value.AppendJson(out);
      }
      Require(IsValidUtf8(out));
    }
  }
  return 0;
}

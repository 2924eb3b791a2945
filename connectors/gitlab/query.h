// What the GitLab connector writes and reads in URLs, pure: the API root from
// base_url, the project and group paths of the config, the issue lists it
// asks for (filters, order, `updated` bounds to the second), where a list
// goes on (Link rel="next" or X-Next-Page) and the keys of a pull by key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace boardsync {

// Whose issues a connection reads: one project's, or a group's (its
// subgroups' projects included).
enum class GitLabScope { kProject, kGroup };

// `base_url` as the root of a GitLab instance, without a trailing slash,
// query or fragment: "https://gitlab.com", "https://host/gitlab" (a relative
// URL root stays). The API is at {root}/api/v4. A base_url that ends in
// /api/v4 (pasted from API docs) is cut back to the root before it. kConfig
// for a query, and for a path on gitlab.com (a project's page pasted in:
// the project goes in `project`).
Result<std::string> GitLabRootUrl(std::string_view base_url);

// Checks a `project` (a full path: "group/sub/name", at least two segments)
// or `group` ("group", "group/sub") as written in the config: segments of
// letters, digits, '_', '-', '.' and '+' (the characters GitLab allows in
// paths), none empty, "." or "..", no URL, no leading or trailing '/'. A
// whole number is also accepted: the numeric id GitLab shows on the
// project's or group's page. kConfig naming the key otherwise.
Result<void> CheckGitLabPath(std::string_view path, GitLabScope scope);

// `path` as the :id of an API URL: a numeric id as it is, a path
// percent-encoded ("group%2Fsub%2Fname").
std::string GitLabPathId(std::string_view path);

// What one list request asks for.
struct GitLabListQuery {
  GitLabScope scope = GitLabScope::kProject;
  std::string id;                   // GitLabPathId() of the path, or the numeric id once known
  std::vector<std::string> labels;  // all must match (GitLab: comma-separated)
  std::string state = "all";        // all | opened | closed
  bool newest_first = false;        // sort=desc (the probes of a sliced pull)
  int per_page = 100;
  // Bounds on updated_at, epoch ms, both inclusive; written to the second
  // (GitLabUpdatedAfter(), GitLabUpdatedBefore()).
  std::optional<std::int64_t> updated_from_ms;
  std::optional<std::int64_t> updated_to_ms;
};

// The first page of a list: {api}/projects/{id}/issues or
// {api}/groups/{id}/issues, with scope=all, state, labels, order_by=
// updated_at, sort, per_page, updated_after and updated_before; project lists
// also ask for pagination=keyset, which GitLab offers there (18.3 and later)
// and which an older server ignores, answering by offset.
std::string GitLabListUrl(std::string_view api, const GitLabListQuery& query);

// The bounds as GitLab reads them ("2024-03-10T01:59:30Z"): whole seconds,
// the lower one floored and the upper one ceiled, so that the range written
// covers the range asked for whether GitLab compares to the second or to
// the millisecond (its timestamps carry milliseconds).
std::string GitLabUpdatedAfter(std::int64_t from_ms);
std::string GitLabUpdatedBefore(std::int64_t to_ms);

// Where a list answered from `from` goes on: the Link header's rel="next"
// when there is one (keyset pages always, offset pages too), else the page
// X-Next-Page names, as `from` with its page= changed; "" when neither says
// there is more (the last page; X-Next-Page is empty there). Every URL is
// checked to stay on the API (LinkOnApi()): a link elsewhere is kBadResponse
// and is never followed with the token; so is an X-Next-Page that is not a
// page number.
Result<std::string> GitLabNextPageUrl(std::optional<std::string_view> link_header,
                                      std::optional<std::string_view> x_next_page,
                                      std::string_view from, std::string_view api_root);

// A key as the connector makes them: references.full, "group/sub/name#12".
struct GitLabKey {
  std::string project;  // the project's full path
  std::int64_t iid = 0;
};

// nullopt for anything else (another tracker's key, a mangled one).
std::optional<GitLabKey> ParseGitLabKey(std::string_view key);

}  // namespace boardsync

// GitLab REST v4 answers → boardsync's tracker-neutral Issue: issue lists
// (/projects/:id/issues, /groups/:id/issues), single issues and the token's
// user (/user). Pure decoding, no I/O, so every recorded shape can be tested
// directly. Values follow DESIGN §3 ("GitHub and GitLab: the members of their
// issue objects by their JSON names"); the choices it leaves open are below.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "core/error.h"
#include "core/issue.h"
#include "core/value.h"

namespace boardsync {

// What decoding an issue needs besides the issue.
struct GitLabDecodeContext {
  // The members the mapping reads (PullRequest::fields: the first segment
  // of each path, e.g. "time_stats" for time_stats.time_estimate). Only
  // these are decoded into Issue::fields; the others are not looked at.
  std::vector<std::string> names;
  // The project's full path when every issue comes from it (a project
  // connection): the key of an issue without references.full is then
  // "<project_path>#<iid>". Empty for group lists, where the path is read
  // from web_url below `web_root` instead.
  std::string project_path;
  // The instance's web root, GitLabRootUrl(): "https://host/gitlab".
  std::string web_root;
};

// Decodes one page of an issue list: a JSON array of issues, one Issue per
// element, in order. A page that is not an array fails as a whole
// (kBadResponse); an issue that cannot be decoded comes back as
// UndecodedGitLabIssue(), so the others go on.
Result<std::vector<Issue>> DecodeGitLabIssueList(JsonView json, const GitLabDecodeContext& context);

// Decodes one issue. Its id is GitLab's global `id` (digits, as text), its
// key references.full ("group/name#12"; without it, the project's path and
// `iid`), its url web_url, created/updated/resolved created_at, updated_at
// and closed_at (milliseconds kept). Errors are kBadResponse and name the
// issue (its key, else its id) and the member: no positive integer id, no
// key to be had, an updated_at (or created_at, closed_at) that is not an
// ISO-8601 date and time with its zone within 1970-9999, a web_url that is
// not an http(s) URL, or a value of a read member that contradicts its kind
// (GitLabMemberValue()).
Result<Issue> DecodeGitLabIssue(JsonView json, const GitLabDecodeContext& context);

// What is known of an issue DecodeGitLabIssue() refused: id and key when
// readable ("" otherwise), updated_ms when valid (0 otherwise), and `reason`
// as decode_error.
Issue UndecodedGitLabIssue(JsonView json, std::string reason);

// A field of the connector's own beside GitLab's members: the scoped labels
// ("priority::high") by scope, {"priority": "high"}, so a mapping can read
// one scope as a single value (scoped_labels.priority). Made from `labels`.
inline constexpr std::string_view kGitLabScopedLabels = "scoped_labels";

// The value the mapping sees for member `name` of an issue (`value` is the
// member, nullopt when absent):
//   labels → a list of names (strings; objects of with_labels_details by
//     their name), [] when null;
//   scoped_labels (`value` is then the labels member) → {scope: value} for
//     each label "scope::value" (the scope is what comes before the last
//     "::"), a list of values when several labels share a scope (the free
//     tier allows it), {} when none;
//   assignees → a list of users, [] when null;
//   assignee, author, closed_by, and any other user object → a user:
//     {"login": username, "name": name (else the login), "email": `email`,
//     else `public_email` when not empty, else null} (null when null);
//   milestone → its title (null when none);
//   time_stats → {"time_estimate", "total_time_spent"} in minutes (GitLab
//     sends seconds; an integer when whole), "human_time_estimate" and
//     "human_total_time_spent" as sent, so time_stats.time_estimate with
//     `as: hours` means the same as for every tracker;
//   created_at, updated_at, closed_at → ISO-8601 UTC ("...T10:00:00.123Z");
//   due_date → "YYYY-MM-DD";
//   references → {"short", "relative", "full"} as sent (references.full is
//     the key);
//   weight → the number (null without one: GitLab's free tier has none);
//   anything else (title, description, state, iid, confidential,
//     issue_type, epic, iteration, ...) → the JSON as it is.
// An absent member gives null ([] for labels and assignees).
// `issue_key` only names the issue in error messages.
Result<Value> GitLabMemberValue(std::string_view name, std::optional<JsonView> value,
                                std::string_view issue_key);

// Whether `name` is a member GitLab documents for issues (REST v4 "List
// issues", the paid tiers' included) or the connector's own scoped_labels.
// A mapping name that is not, and that a sample issue of the connection does
// not carry either, is taken for a misspelling (test-connection warns).
bool IsKnownGitLabMember(std::string_view name);

// GitLab's timestamps ("2016-01-04T15:31:51.081Z"; an offset such as
// "+01:00" is read too) as epoch milliseconds; nullopt for anything else,
// a missing zone included.
std::optional<std::int64_t> ParseGitLabTime(std::string_view text);

// The token's user, from GET /user.
struct GitLabTokenUser {
  std::string username;
  std::string name;
  std::optional<std::int64_t> id;
  std::string state;  // "active", "blocked", ...
  bool bot = false;   // a project or group access token's user
};

// Fails (kBadResponse) when the answer is not an object with a username.
Result<GitLabTokenUser> DecodeGitLabUser(JsonView json);

// The numeric `id` and `full_path` (projects: `path_with_namespace`) of a
// project or group answer (GET /projects/:id, GET /groups/:id).
struct GitLabNamespace {
  std::int64_t id = 0;
  std::string full_path;
};
Result<GitLabNamespace> DecodeGitLabNamespace(JsonView json);

}  // namespace boardsync

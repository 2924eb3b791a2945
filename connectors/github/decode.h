// GitHub's REST issue answers → boardsync's tracker-neutral Issue: a list
// page of GET /repos/{o}/{r}/issues (pull requests mixed in) and one issue of
// GET /repos/{o}/{r}/issues/{n}; and the GraphQL answers that give a
// Projects v2 board's fields and their values for a page's issues. Pure
// decoding, no I/O, so every recorded shape can be tested directly. Values
// follow DESIGN §3 ("GitHub: the members of their issue objects by their
// JSON names"); the choices it leaves open are below.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "core/error.h"
#include "core/issue.h"
#include "core/value.h"

namespace boardsync {

// A list answer: its issues, and what the pull needs of the entries it left
// out (pull requests).
struct GitHubIssueList {
  // One per element that is not a pull request, in the answer's order;
  // undecodable ones included (decode_error set).
  std::vector<Issue> issues;
  // Per issue, its GraphQL node id ("" when it has none), for reading
  // project fields.
  std::vector<std::string> node_ids;
  std::size_t pull_requests = 0;  // elements left out as pull requests
  // The newest readable updated_at among all elements, pull requests
  // included; nullopt when none is readable.
  std::optional<std::int64_t> newest_ms;
};

// Whether an element of a list is a pull request: GitHub lists them with
// the issues, marked by a `pull_request` member.
bool IsGitHubPullRequest(JsonView element);

// Decodes a list answer: a JSON array (anything else fails as a whole,
// kBadResponse). `repo` ("owner/name", as the config spells it) makes the
// keys; `members` are the issue members the mapping reads.
Result<GitHubIssueList> DecodeGitHubIssueList(JsonView json, std::string_view repo,
                                              const std::vector<std::string>& members);

// Decodes one issue object. Issue: id = the numeric `id` as text; key =
// "{repo}#{number}" (`repo` empty: the repository its repository_url or
// html_url names); url = html_url; created/updated/resolved from created_at,
// updated_at, closed_at. Issue::fields holds each of `members` (JSON names):
//   labels → a list of names ([] when none);
//   assignees → a list of users ([] when none); assignee, user, closed_by →
//     a user or null; a user is {login, name, email}: name is the login when
//     GitHub gives none (its lists never do), so a user as a plain value
//     shows the login; email null unless GitHub shows it;
//   milestone → {name, title, number, state, description, due_on,
//     open_issues, closed_issues, created_at, updated_at, closed_at,
//     html_url}: `name` is the title, so a milestone as a plain value is its
//     title (DESIGN §3) while milestone.due_on stays readable;
//   reactions → its total_count; type (the issue type) → its name;
//   created_at, updated_at, closed_at → ISO-8601 UTC (closed_at null while
//     open);
//   anything else (title, body, state, state_reason, locked, comments,
//     author_association, sub_issues_summary, ...) → the JSON as it is; a
//     member the issue lacks → null.
// Errors are kBadResponse and name the issue and the member: no numeric id,
// no number, no readable updated_at (or one outside 1970-9999), a value that
// contradicts its kind (a label without a name, a user without a login).
Result<Issue> DecodeGitHubIssue(JsonView json, std::string_view repo,
                                const std::vector<std::string>& members);

// What is known of an issue DecodeGitHubIssue() refused: id, key and
// updated_ms when readable (0 otherwise), and `reason` as decode_error.
Issue UndecodedGitHubIssue(JsonView json, std::string_view repo, std::string reason);

// GitHub's timestamp ("2011-04-22T13:33:48Z", also with a fraction or an
// offset) as epoch milliseconds; nullopt for anything else, a date alone
// included.
std::optional<std::int64_t> ParseGitHubTime(std::string_view text);

// --- Projects v2 (GraphQL) --------------------------------------------------

// GitHub's words in an error answer: {"message": "..."} (REST), or the
// messages of GraphQL's `errors`; "" for anything else.
std::string GitHubErrorMessage(std::string_view body);

// A GraphQL answer's `errors`, when it has any: their messages joined, and
// whether one is RATE_LIMITED.
struct GitHubGraphQlErrors {
  std::string message;
  bool rate_limited = false;
  bool not_found = false;  // every error is NOT_FOUND
  bool insufficient_scopes = false;  // one is INSUFFICIENT_SCOPES (or FORBIDDEN)
};
std::optional<GitHubGraphQlErrors> ReadGitHubGraphQlErrors(JsonView root);

struct GitHubProjectInfo {
  std::string id;     // the project's node id
  std::string title;
  std::vector<std::string> fields;  // the names of its fields
};

// The project from the answer to the query GitHubProjectQuery() writes
// ({data: {organization: {projectV2}, user: {projectV2}}}, either null);
// nullopt when neither has it. kBadResponse for another shape.
Result<std::optional<GitHubProjectInfo>> DecodeGitHubProject(JsonView root);

// The GraphQL query (a JSON request body) that finds project `number` of
// `owner`, an organization or a user, with its field names.
std::string GitHubProjectQuery(std::string_view owner, std::int64_t number);

// The GraphQL query (a JSON request body) that reads the project items of
// the issues `node_ids` (at most 100) with their field values.
std::string GitHubProjectValuesQuery(const std::vector<std::string>& node_ids);

// The values of `names` (project field names) per issue node id, from the
// answer to GitHubProjectValuesQuery(), for the item of project
// `project_id`: a number field → the number; text → the text; single select
// → the option's name; iteration → its title; date → "YYYY-MM-DD"; a field
// the item has no value for, or an issue not in the project → null.
// kBadResponse for an answer of another shape.
Result<std::map<std::string, Value::Object>> DecodeGitHubProjectValues(
    JsonView root, std::string_view project_id, const std::vector<std::string>& names);

}  // namespace boardsync

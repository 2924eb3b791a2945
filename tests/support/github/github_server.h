// GitHubServer: a sample GitHub (api.github.com, or Enterprise Server under
// /api/v3) on a loopback HttpServer, for the GitHub connector's tests. It
// answers REST with GitHub's recorded JSON shapes, error bodies, Link paging,
// ETags and rate-limit headers, answers the Projects v2 part of GraphQL, and
// lets tests change issues, move the clock, spend the budget and script
// faults while it serves.
//
// Endpoints (REST under options.path_prefix: "" like api.github.com,
// "/api/v3" like Enterprise Server; {o}/{r} is a repository's owner/name,
// {rid} its numeric id):
//
//   GET  /user  -> {login, id, node_id, name, email, type:"User", avatar_url, html_url, ...}
//        Installation tokens: 403 {"message":"Resource not accessible by integration",...}.
//   GET  /repos/{o}/{r}  -> {id, node_id, name, full_name, private, owner{login, id, type, ...},
//        html_url, url, visibility, permissions{admin, maintain, push, triage, pull}, ...}
//   GET  /repositories/{rid}  -> the same
//   GET  /installation/repositories  (installation tokens only; others 403)
//        per_page, page -> {total_count, repository_selection, repositories:[repo...]}
//   GET  /rate_limit  -> {resources{core, graphql, search}, rate}; never consumes budget
//   GET  /repos/{o}/{r}/issues   and   GET /repositories/{rid}/issues  (the same list)
//        state      open|closed|all (default open)
//        labels     comma list of names; an issue must carry all (case-insensitive)
//        sort       created|updated|comments (default created)
//        direction  asc|desc (default desc)
//        since      ISO 8601 ("2024-05-01T10:00:00Z"; a fraction and an offset are read
//                   too); only issues updated at or after it (options.since_inclusive,
//                   default) or strictly after it (false)
//        per_page   default 30, at most 100 (more is cut to 100, as GitHub does)
//        page       from 1; past the end: []
//        Other parameters are ignored. A bad state/sort/direction/since/per_page/page:
//        422 {"message":"Validation Failed","errors":[{resource,field,code}],...}.
//        Ties in the sort order are broken by number, in the same direction.
//        Pull requests are in the list (a `pull_request` member {url, html_url,
//        diff_url, patch_url, merged_at}, and `draft`); they share the numbers.
//        Link (absent on a single page), exactly as GitHub writes it, each URL the
//        /repositories/{rid}/issues form with the request's parameters as sent and
//        page=N last:  `<URL&page=2>; rel="next", <URL&page=5>; rel="last"`, and
//        on later pages `rel="prev"`, `rel="next"`, `rel="last"`, `rel="first"` in
//        that order (next and last missing on the last page).
//        Paging is live: each page runs the query again, so changes between pages
//        shift offsets as in real GitHub.
//   GET  /repos/{o}/{r}/issues/{n}   and   GET /repositories/{rid}/issues/{n}
//        200 the issue (or pull request); transferred: 301 with Location
//        {api}/repositories/{new_rid}/issues/{new_n} and {"message":"Moved Permanently",
//        "url":..., "documentation_url":...} (404 when the token cannot see the new
//        repository); deleted: 410 {"message":"This issue was deleted",...}; else 404.
//   POST /graphql (Enterprise Server: path_prefix without its "/v3" + "/graphql",
//        i.e. /api/graphql; graphql_url() says which)  -- see "GraphQL" below.
//   Anything else: 404 {"message":"Not Found","documentation_url":
//   "https://docs.github.com/rest","status":"404"}; a method other than GET on a
//   REST path: 404 too.
//
// Authentication: `Authorization: Bearer <t>` or `token <t>`. A missing or
// unknown token: 401 {"message":"Bad credentials","documentation_url":
// "https://docs.github.com/rest","status":"401"} (consumes no budget, carries
// no rate-limit headers). A token sees public repositories and the private
// ones it is given (GitHubToken::repos); others answer 404 {"message":"Not
// Found",...}. Classic tokens add X-OAuth-Scopes (their scopes) and
// X-Accepted-OAuth-Scopes (what the endpoint needs: "repo" for repository
// paths, "" elsewhere) to every authenticated answer; fine-grained and
// installation tokens add X-Accepted-GitHub-Permissions on issue paths
// ("issues=read").
//
// Issues (REST): id (numeric, global), node_id ("I_kwDO..." / "PR_kwDO..."),
// number, url, repository_url, labels_url, comments_url, events_url,
// html_url, title, body (markdown or null), user, labels [{id, node_id, url,
// name, color, default, description}], state (open|closed), state_reason,
// locked, assignee, assignees, milestone {url, html_url, labels_url, id,
// node_id, number, title, description, creator, open_issues, closed_issues,
// state, created_at, updated_at, due_on, closed_at} or null, comments,
// created_at, updated_at, closed_at (seconds: "2011-04-22T13:33:48Z"),
// closed_by (a user or null), author_association, active_lock_reason,
// sub_issues_summary, reactions {url, total_count, +1, -1, ...},
// timeline_url, performed_via_github_app (null), type (an issue type {id,
// node_id, name, description, color, created_at, updated_at, is_enabled} or
// null); pull requests also pull_request and draft. Users {login, id,
// node_id, avatar_url, gravatar_id, url, html_url, ..._url, type, user_view_type,
// site_admin} carry no name or email (only /user does). html_url is
// options.web_url + "/{o}/{r}/issues/{n}" ("/pull/{n}" for pull requests);
// API URLs are the server's own base_url().
//
// Conditional requests: every 200 GET answers ETag: W/"<hash of the body>"
// (and Vary); /repos/{o}/{r} and single issues also Last-Modified. A request
// whose If-None-Match holds that ETag (W/ or not, or "*") gets 304 with no
// body, the ETag and the rate-limit headers, and consumes NO budget.
//
// Rate limits (REST "core" and "graphql": one budget each, shared by all
// tokens). Every other authenticated REST answer consumes one unit (GET
// /rate_limit none) and carries x-ratelimit-limit, -remaining, -used, -reset
// (epoch seconds) and -resource: core. When remaining is 0 before a request,
// it answers 403 (options.exhausted_status 429) with remaining 0 and
// {"message":"API rate limit exceeded for user ID 1. If you reach out to
// GitHub Support for help, please include the request ID ...",
// "documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"};
// conditional requests too (no free 304 while exhausted). Once the server
// clock reaches the reset, the budget refills and the reset moves an hour
// on. Scripted secondary limits (ScriptSecondaryLimit) answer the next N
// authenticated requests (REST or GraphQL) 403 or 429 with retry-after: S and
// {"message":"You have exceeded a secondary rate limit. Please wait a few
// minutes before you try again. ...","documentation_url":...}; they consume
// no primary budget.
//
// GraphQL: POST a JSON body {query, variables, operationName}. The server
// reads GraphQL's query syntax (operation with variables and defaults,
// aliases, arguments of every literal kind, inline fragments, named fragments;
// no directives) and executes it over this schema subset, so the answer holds
// exactly what was selected, as GitHub's does:
//   Query         organization(login:) user(login:) -> Organization / User
//                 nodes(ids:[ID!]!) -> [Node]   node(id:) -> Node
//                 repository(owner:, name:) -> Repository (NOT_FOUND when the
//                 token cannot see it)   viewer -> User   rateLimit -> RateLimit
//   Repository    __typename id databaseId name nameWithOwner url isPrivate owner
//                 issue(number:) -> Issue (NOT_FOUND for a pull request's number,
//                 a deleted or a transferred issue)
//   Organization, User   __typename id login name databaseId url
//                 projectV2(number:) -> ProjectV2
//   ProjectV2     __typename id number title url closed public shortDescription
//                 databaseId createdAt updatedAt owner{__typename id login}
//                 viewerCanUpdate (GitHubToken::project_write)
//                 fields(first|last:) -> connection of ProjectV2FieldConfiguration
//                 items(first|last:, after:) -> connection of ProjectV2Item
//                 field(name:) -> ProjectV2FieldConfiguration
//   ProjectV2Field, ProjectV2SingleSelectField, ProjectV2IterationField
//                 (interface ProjectV2FieldCommon): __typename id databaseId name
//                 dataType createdAt updatedAt project; single select also
//                 options{id name color description nameHTML descriptionHTML};
//                 iteration also configuration{duration startDay
//                 iterations{id title titleHTML startDate duration}
//                 completedIterations{...}}. Every project has the built-in
//                 fields Title (TITLE), Assignees (ASSIGNEES), Labels (LABELS),
//                 Milestone (MILESTONE) and Repository (REPOSITORY) first.
//   Issue, PullRequest  __typename id databaseId number title body url state
//                 (OPEN|CLOSED|MERGED) stateReason createdAt updatedAt closedAt
//                 repository{__typename id databaseId name nameWithOwner owner{login}}
//                 projectItems(first|last:) -> connection of ProjectV2Item
//   ProjectV2Item __typename id databaseId type (ISSUE|PULL_REQUEST) isArchived
//                 createdAt updatedAt project content (the Issue/PullRequest)
//                 fieldValues(first|last:) -> connection of ProjectV2ItemFieldValue
//                 fieldValueByName(name:) -> ProjectV2ItemFieldValue or null
//   Field values  (interface ProjectV2ItemFieldValueCommon, except Label/User/
//                 Repository/Milestone values): __typename id databaseId createdAt
//                 updatedAt field item, and
//                 ProjectV2ItemFieldTextValue{text} (the item's Title comes first,
//                 as on GitHub), ProjectV2ItemFieldNumberValue{number},
//                 ProjectV2ItemFieldSingleSelectValue{name optionId color description},
//                 ProjectV2ItemFieldIterationValue{title iterationId startDate duration},
//                 ProjectV2ItemFieldDateValue{date}, ProjectV2ItemFieldRepositoryValue
//                 {repository}, ProjectV2ItemFieldLabelValue{labels(first:){nodes{name}}},
//                 ProjectV2ItemFieldUserValue{users(first:){nodes{login}}},
//                 ProjectV2ItemFieldMilestoneValue{milestone{title number}}.
//   Connections   nodes edges{cursor node} totalCount pageInfo{hasNextPage
//                 hasPreviousPage startCursor endCursor}; first/last 1..100 required
//                 (MISSING_PAGINATION_BOUNDARIES / EXCESSIVE_PAGINATION errors).
//   RateLimit     limit cost remaining used resetAt nodeCount
//   Mutation      run in order, each alias on its own (one failing leaves the
//                 others done), each counted (MutationCount()):
//                 addProjectV2ItemById(input:{projectId, contentId}) -> {item}:
//                   the issue's item, the existing one when it is there already;
//                 updateProjectV2ItemFieldValue(input:{projectId, itemId, fieldId,
//                   value:{number|text|date|singleSelectOptionId|iterationId}})
//                   -> {projectV2Item}: exactly the member the field's type
//                   takes (a number for NUMBER, ...), else UNPROCESSABLE "Did
//                   not receive a number value to update a field of type
//                   number"; built-in fields (TITLE, ...) UNPROCESSABLE;
//                 clearProjectV2ItemFieldValue(input:{projectId, itemId,
//                   fieldId}) -> {projectV2Item};
//                 createProjectV2Field(input:{projectId, name, dataType:
//                   NUMBER|TEXT|DATE|SINGLE_SELECT|ITERATION,
//                   singleSelectOptions}) -> {projectV2Field}: a name taken
//                   (case aside) or blank UNPROCESSABLE; another dataType a
//                   validation error.
//                 All have clientMutationId. An unknown project, item (or one of
//                 another project, or of a deleted issue), field or content id:
//                 NOT_FOUND "Could not resolve to a node with the global id of
//                 '...'". Without write access (GitHubToken::project_write
//                 false, or no project access): FORBIDDEN "Resource not
//                 accessible by personal access token" ("... by integration"
//                 for installation tokens), data null there. A classic token
//                 without the `project` scope: INSUFFICIENT_SCOPES for the
//                 whole request, nothing run. Edits move the item's and the
//                 project's updatedAt, and the issue's updated_at only with
//                 options.project_edit_bumps_updated (GitHub is taken not to).
// Every query costs 1 point of the graphql budget (x-ratelimit-resource:
// graphql). Errors come with HTTP 200, as GitHub's do: an unknown field or
// type ({"errors":[{"path","extensions":{"code":"undefinedField",...},
// "locations","message":"Field 'x' doesn't exist on type 'Y'"}]}), an
// unresolvable login, project number or node id (data null there and
// {"type":"NOT_FOUND","path":[...],"message":"Could not resolve to ..."}),
// a classic token without read:project/project scope selecting a project
// ({"type":"INSUFFICIENT_SCOPES",...}), a subscription or directive
// ({"type":"UNSUPPORTED",...}), a syntax error ("Parse error on ..."), and an
// exhausted budget ({"errors":[{"type":"RATE_LIMITED","message":"API rate
// limit already exceeded for user ID 1."}]}, remaining 0). A body that is not
// a JSON object: 400 {"message":"Problems parsing JSON",...}. Fields are
// checked where they are executed: a field inside a fragment that matches no
// object of the answer is not checked. viewer is the token's user (a Bot for
// installation tokens). Secondary limits apply to GraphQL too. Answers to a
// classic token carry X-OAuth-Scopes, as REST ones do.
//
// Control API: every public member is thread-safe and may be called while
// requests are served. Times are epoch seconds on the server clock, which
// follows the real clock until SetNow().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/value.h"
#include "tests/support/http_server.h"

namespace boardsync {

// Tokens the server accepts unless told otherwise, shaped like real ones.
// A classic personal access token: ghp_ and 36 alphanumerics.
inline constexpr std::string_view kGitHubClassicToken = "ghp_R8xKq2Lm4Vn7Tz1Bc5Wd9Yf3Hj6Gs0Pa2Ekw";
// A fine-grained personal access token: github_pat_, 22, '_', 59.
inline constexpr std::string_view kGitHubFineGrainedToken =
    "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";
// A GitHub App installation token: ghs_ and 36 alphanumerics.
inline constexpr std::string_view kGitHubInstallationToken =
    "ghs_4mQ7xW2vN9bL5kJ8hG1fD3sA6pO0iU7yT5rE";

enum class GitHubTokenKind { kClassic, kFineGrained, kInstallation };

struct GitHubToken {
  std::string token;
  GitHubTokenKind kind = GitHubTokenKind::kClassic;
  // The user behind it (GET /user); installation tokens have none.
  std::string login = "octocat";
  // Classic tokens: the granted scopes (X-OAuth-Scopes, GraphQL project access).
  std::vector<std::string> scopes = {"repo", "read:org", "read:project"};
  // Private repositories ("owner/name") this token may read; nullopt: all.
  // Public ones are always readable.
  std::optional<std::set<std::string>> repos;
  // Fine-grained and installation tokens: whether GraphQL may read projects.
  bool projects = true;
  // Whether the token's user (or installation) may change projects: their
  // viewerCanUpdate, and the Projects v2 mutations (else FORBIDDEN). Classic
  // tokens also need the `project` scope for a mutation.
  bool project_write = true;
};

// The three sample tokens (kGitHub*Token), each of its kind, seeing every repo.
std::vector<GitHubToken> GitHubSampleTokens();

struct GitHubRepo {
  std::string full_name;  // "owner/name"
  bool is_private = false;
  std::int64_t id = 0;  // 0: the next free id (1296269, 1296270, ...)
  bool owner_is_org = true;  // the owner is an Organization (else a User)
};

// One issue or pull request as the control API reads and writes it.
struct GitHubIssue {
  std::int64_t id = 0;      // 0 on Add: the next free id (1000001, ...)
  std::int64_t number = 0;  // 0 on Add: the repository's next number (shared with PRs)
  std::string repo;         // "owner/name"; must exist (AddRepo) or is created public
  std::string node_id;      // "" on Add: made from the id
  std::string title;
  std::optional<std::string> body;  // markdown; null when absent
  std::string user = "octocat";     // the author's login
  std::vector<std::string> labels;  // names; unknown ones are created in the repo
  std::vector<std::string> assignees;  // logins; the first is `assignee`
  std::optional<std::string> milestone;  // a title; unknown ones are created in the repo
  std::string state = "open";            // open | closed
  std::optional<std::string> state_reason;  // completed | not_planned | reopened | duplicate
  std::optional<std::string> issue_type;    // an issue type name ("Bug", "Task", ...)
  bool locked = false;
  std::int64_t comments = 0;
  std::string author_association = "OWNER";
  std::int64_t created_at = 0;  // 0 on Add: the server clock
  std::int64_t updated_at = 0;  // 0 on Add: created_at
  // Closed issues: 0 on Add/Update: updated_at. Open ones: ignored (null).
  std::int64_t closed_at = 0;
  std::optional<std::string> closed_by;  // a login; closed issues default to `user`
  bool pull_request = false;
  std::optional<std::int64_t> merged_at;  // pull requests
  // Members set over the rendered REST object as given (e.g. an odd type).
  Value::Object raw;
};

// Where AddIssue() / TransferIssue() put an issue.
struct GitHubIssueRef {
  std::int64_t id = 0;
  std::int64_t number = 0;
  std::string node_id;
};

enum class GitHubFieldType { kNumber, kText, kSingleSelect, kIteration, kDate };

// A custom Projects v2 field.
struct GitHubProjectField {
  std::string name;
  GitHubFieldType type = GitHubFieldType::kText;
  std::vector<std::string> options;  // single select: option names (ids are made up)
  struct Iteration {
    std::string title;       // "Iteration 1"
    std::string start_date;  // "2024-05-06"
    int duration_days = 14;
    bool completed = false;
  };
  std::vector<Iteration> iterations;  // iteration fields
};

// A value for SetFieldValue(): number, text, option name, iteration title or
// date ("2024-05-06"), by the field's type.
struct GitHubFieldValue {
  std::optional<double> number;
  std::optional<std::string> text;  // text, option name, iteration title, or date
  static GitHubFieldValue Number(double n) { return {n, std::nullopt}; }
  static GitHubFieldValue Text(std::string t) { return {std::nullopt, std::move(t)}; }
};

struct GitHubServerOptions {
  std::uint16_t port = 0;  // 0: any free port
  // "" serves api.github.com's paths at the root; "/api/v3" as Enterprise Server.
  std::string path_prefix;
  // Where html_url points (no trailing slash).
  std::string web_url = "https://github.com";
  std::vector<GitHubToken> tokens = GitHubSampleTokens();
  int default_per_page = 30;
  int max_per_page = 100;
  // since= keeps issues updated at or after it (true) or strictly after (false).
  // GitHub's docs disagree (UNCONFIRMED).
  bool since_inclusive = true;
  // The status of an exhausted primary limit: 403 (GitHub's usual) or 429.
  int exhausted_status = 403;
  // The REST "core" budget. reset 0: an hour after the server starts.
  std::int64_t rate_limit = 5000;
  std::int64_t rate_remaining = 5000;
  std::int64_t rate_reset = 0;
  // The GraphQL budget (points; one per query).
  std::int64_t graphql_limit = 5000;
  std::int64_t graphql_remaining = 5000;
  // A transferred issue keeps its id and node_id (true) or gets new ones
  // (UNCONFIRMED which GitHub does).
  bool transfer_keeps_id = true;
  // Setting a project field value moves the issue's updated_at (a third-party
  // report says GitHub does not: false).
  bool project_edit_bumps_updated = false;
  // The server clock starts frozen at this instant (epoch seconds); nullopt:
  // it follows the real clock until SetNow().
  std::optional<std::int64_t> now;
};

class GitHubServer {
 public:
  // A scripted misbehaviour, consumed by the next `times` matching requests.
  // Faults apply before authentication (as a proxy's would) and consume no budget.
  struct Fault {
    // Which requests: "*" any; else a path without the prefix
    // ("/repos/acme/app/issues"), which also matches paths below it.
    std::string path = "*";
    std::optional<int> status;  // answer this instead of the real response
    HttpServerHeaders headers;  // with `status`
    std::string body;           // with `status`
    std::chrono::milliseconds delay{0};
    bool drop_connection = false;
    std::optional<std::size_t> truncate_body_at;
    int times = 1;

    // A canned answer; JSON unless `content_type` says otherwise.
    static Fault Status(int status, std::string body,
                        std::string content_type = "application/json; charset=utf-8");
    // 502 with GitHub's "Server Error" HTML-free JSON body.
    static Fault ServerError();
    // 200 with an HTML page (a captive portal or SSO proxy).
    static Fault HtmlPage();
    // 200 application/json whose body is not JSON.
    static Fault MalformedJson();
    static Fault Truncated(std::size_t bytes);
    static Fault Delay(std::chrono::milliseconds delay);
    static Fault Drop();

    Fault On(std::string api_path) const;
    Fault Times(int n) const;
  };

  struct RecordedRequest {
    std::string method;
    std::string target;    // path and query as received
    std::string api_path;  // the path without the prefix, e.g. "/repos/acme/app/issues"
    bool if_none_match = false;  // sent an If-None-Match
    bool authorization = false;  // sent an Authorization header (never its value)
    int status = 0;              // 0 when the connection was dropped
    bool faulted = false;
    std::string graphql_query;   // POST /graphql: the query text
  };

  // Starts serving. Throws std::system_error when the port cannot be bound.
  explicit GitHubServer(GitHubServerOptions options = {});
  ~GitHubServer();

  GitHubServer(const GitHubServer&) = delete;
  GitHubServer& operator=(const GitHubServer&) = delete;

  std::uint16_t port() const { return server_->port(); }
  // What a user configures as base_url: "http://127.0.0.1:<port><prefix>".
  std::string base_url() const;
  // Where GraphQL is served: base_url() + "/graphql" at the root;
  // "http://127.0.0.1:<port>/api/graphql" for the "/api/v3" prefix.
  std::string graphql_url() const;
  const HttpServer& server() const { return *server_; }
  void Stop() { server_->Stop(); }

  // ---- Tokens ----

  // Adds or replaces (by token text) an accepted token.
  void AddToken(GitHubToken token);
  // The token stops working (401).
  void RevokeToken(std::string_view token);

  // ---- Repositories ----

  // Creates a repository; returns its id. Fails for a duplicate name or id.
  Result<std::int64_t> AddRepo(GitHubRepo repo);
  std::optional<std::int64_t> RepoId(std::string_view full_name) const;
  void SetRepoPrivate(std::string_view full_name, bool is_private);

  // ---- Issues and pull requests ----

  // Adds an issue (see GitHubIssue for defaults). Fails for a duplicate id
  // or (repo, number).
  Result<GitHubIssueRef> AddIssue(GitHubIssue issue);
  // AddIssue() with pull_request set.
  Result<GitHubIssueRef> AddPullRequest(GitHubIssue pr);
  // Applies `change` to the issue with this id, then sets updated_at to the
  // server clock unless `change` moved it. id, number, repo and node_id stay.
  // Closing sets closed_at (and closed_by) when unset; reopening clears them.
  // False when there is no such (live) issue. `change` runs under the
  // server's lock: it must not call the server.
  bool UpdateIssue(std::int64_t id, const std::function<void(GitHubIssue&)>& change);
  // As UpdateIssue(), but updated_at stays as `change` leaves it.
  bool EditIssueInPlace(std::int64_t id, const std::function<void(GitHubIssue&)>& change);
  // Closes with `state_reason` (default completed); updated_at to the clock.
  bool CloseIssue(std::int64_t id, std::string state_reason = "completed");
  // Gone from lists and GraphQL; GET answers 410.
  bool DeleteIssue(std::int64_t id);
  // Moves the issue to `to_repo` with that repo's next number; the old
  // location answers 301 there; updated_at to the clock. Keeps the id and
  // node_id unless options.transfer_keeps_id is false. nullopt when there is
  // no such issue or repository.
  std::optional<GitHubIssueRef> TransferIssue(std::int64_t id, std::string_view to_repo);
  // The live issue with this id.
  std::optional<GitHubIssue> GetIssue(std::int64_t id) const;
  // The live issue at repo#number.
  std::optional<GitHubIssue> FindIssue(std::string_view repo, std::int64_t number) const;
  // Every live issue and pull request, by id.
  std::vector<GitHubIssue> Issues() const;

  // ---- Clock ----

  // The server clock, epoch seconds: new and changed issues get it, and the
  // rate limits reset by it.
  std::int64_t Now() const;
  void SetNow(std::int64_t epoch_seconds);
  // Moves the clock on (freezing it at now + `seconds` if it followed the real one).
  void AdvanceClock(std::int64_t seconds);

  // ---- Rate limits ----

  // Sets the core budget now; reset 0 keeps the current reset.
  void SetRateLimit(std::int64_t limit, std::int64_t remaining, std::int64_t reset = 0);
  void SetGraphQLRateLimit(std::int64_t limit, std::int64_t remaining, std::int64_t reset = 0);
  std::int64_t rate_remaining() const;
  std::int64_t rate_reset() const;
  std::int64_t graphql_remaining() const;
  // The next `count` authenticated requests answer `status` (403 or 429)
  // with retry-after: `retry_after_seconds`.
  void ScriptSecondaryLimit(int count, int retry_after_seconds, int status = 403);

  // ---- Projects v2 ----

  // Creates project `number` of `owner` (an org or user login; an owner not
  // seen in a repository is taken as an org unless `owner_is_org` is false)
  // with these custom fields after the built-in ones. Returns its node id.
  Result<std::string> AddProject(std::string owner, int number, std::string title,
                                 std::vector<GitHubProjectField> fields,
                                 bool owner_is_org = true);
  // Adds the issue (or pull request) with this id as an item; returns the
  // item's node id (the existing one when already there).
  Result<std::string> AddProjectItem(std::string_view owner, int number, std::int64_t issue_id);
  // Sets or (value nullopt) clears the item's value for the field named
  // `field`. Fails for an unknown project, item, field, option or iteration.
  // Moves the issue's updated_at only with options.project_edit_bumps_updated.
  Result<void> SetFieldValue(std::string_view owner, int number, std::int64_t issue_id,
                             std::string_view field, std::optional<GitHubFieldValue> value);
  void SetProjectEditBumpsUpdated(bool bumps);
  // Whether the issue with this id is an item of the project.
  bool HasProjectItem(std::string_view owner, int number, std::int64_t issue_id) const;
  // The item's value for the custom field named `field` (exactly): a number,
  // or the text, date, option name or iteration title; nullopt when it has
  // none (or there is no such project, item or field).
  std::optional<GitHubFieldValue> GetFieldValue(std::string_view owner, int number,
                                                std::int64_t issue_id,
                                                std::string_view field) const;
  // The data type ("NUMBER", "TEXT", "SINGLE_SELECT", "TITLE", ...) of the
  // project's field named `field` (exactly); nullopt when it has none.
  std::optional<std::string> ProjectFieldType(std::string_view owner, int number,
                                              std::string_view field) const;
  // How many times the mutation `name` ("createProjectV2Field", ...) was
  // run (per alias), refused ones included, since the start or
  // ClearRequests().
  std::size_t MutationCount(std::string_view name) const;

  // ---- Faults ----

  void InjectFault(Fault fault);
  void ClearFaults();
  std::size_t pending_faults() const;

  // ---- What clients sent ----

  std::uint64_t total_requests() const;
  // Requests answered 304.
  std::uint64_t not_modified_count() const;
  // Core budget units consumed since the start (or ClearRequests()).
  std::uint64_t budget_used() const;
  std::uint64_t graphql_requests() const;
  // Requests to exactly `api_path` (no query), faulted ones included.
  std::size_t RequestCount(std::string_view api_path) const;
  std::vector<RecordedRequest> requests() const;
  std::optional<RecordedRequest> LastRequest() const;
  void ClearRequests();
  // Calls `hook(n)` before answering the n-th issue-list request (1-based),
  // so a test can change issues while a client pages. It runs on a server
  // thread without the lock: it may call any member but Stop().
  void OnListRequest(std::function<void(std::size_t n)> hook);

 private:
  struct State;

  HttpServerResponse Handle(const HttpServerRequest& request);

  GitHubServerOptions options_;
  std::unique_ptr<State> state_;
  std::unique_ptr<HttpServer> server_;  // last: stops before the state goes
};

}  // namespace boardsync

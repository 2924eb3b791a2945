// GitLabServer: a sample GitLab (gitlab.com or self-managed) on a loopback
// HttpServer, for the GitLab connector's tests. It answers REST v4 with
// GitLab's JSON shapes, headers and error bodies, pages by offset and (for
// project issues) by keyset, and lets tests change issues, move the clock,
// script rate limits and faults while it serves.
//
// Endpoints (all GET, under {prefix}/api/v4; {prefix} is options.path_prefix:
// "" as gitlab.com, "/gitlab" as a self-managed relative-URL install):
//
//   /user      -> {id, username, name, state, locked, avatar_url, web_url,
//                 created_at, bio, public_email, bot, ..., email}; `email`
//                 only because it is the token's own user. Needs read_user,
//                 read_api or api.
//   /version   -> {version, revision, kas, enterprise}. Needs read_user,
//                 read_api or api.
//   /personal_access_tokens/self -> {id, name, revoked, created_at,
//                 description, scopes, user_id, last_used_at, active,
//                 expires_at}, for any token kind and scope.
//   /projects/:id          -> {id, name, path, path_with_namespace,
//                 name_with_namespace, web_url, visibility, archived,
//                 namespace {id, name, path, kind, full_path, parent_id, web_url}, ...}
//   /groups/:id            -> {id, name, path, full_name, full_path, parent_id,
//                 visibility, web_url, ...}
//   /projects/:id/issues   the list (below)
//   /groups/:id/issues     the list over the group's projects and every
//                 subgroup's; archived projects' issues only with non_archived=false
//   /projects/:id/issues/:iid  one issue; a deleted one: 404 {"message":"404 Not found"}
//   :id is a numeric id or the URL-encoded full path ("acme%2Fplatform%2Fapi");
//   the path is read from the raw request target, so an unencoded
//   "/projects/acme/roadmap/issues" is an unknown route, as on GitLab.
//   Unknown routes: 404 {"error":"404 Not Found"}. Other methods: 405
//   {"message":"405 Method Not Allowed"}. Outside {prefix}/api/v4: an HTML 404.
//   The list, project and group endpoints need read_api or api.
//
// Authentication: `Authorization: Bearer <t>`, `PRIVATE-TOKEN: <t>`, or the
// query parameters private_token= / access_token=. Missing or unknown
// token: 401 {"message":"401 Unauthorized"} (also for public projects,
// unlike GitLab, which serves those anonymously). Expired or revoked: 401
// {"error":"invalid_token","error_description":"Token has expired."} /
// "Token was revoked. You have to re-authorize from the user profile.", with
// a WWW-Authenticate Bearer header. A token without the needed scope: 403
// {"error":"insufficient_scope","error_description":"The request requires
// higher privileges than provided by the access token.","scope":"api read_api"}
// (for /user and /version the scope is "api read_api read_user") with
// WWW-Authenticate: Bearer realm="GitLab", error="insufficient_scope", ...
// A project or group the token cannot see: 404 {"message":"404 Project Not
// Found"} / {"message":"404 Group Not Found"}, exactly as for one that does
// not exist. Who sees what: a personal or OAuth token sees public projects
// and groups and those its user is a member of (directly or through an
// ancestor group); a project access token only its project; a group access
// token its group, subgroups and their projects.
//
// The list (both endpoints): scope (all|created_by_me|assigned_to_me,
// default all), state (opened|closed|all, default all), labels (comma list,
// every one must match; "None": no labels; "Any": at least one),
// updated_after / updated_before / created_after / created_before
// (inclusive; "2024-05-01", "2024-05-01T10:00:00Z", with or without a
// fraction and a "+hh:mm" zone, no zone = UTC; an unreadable one: 400
// {"error":"updated_after is invalid"}), iids[] (repeatable), order_by
// (created_at default, updated_at, id, title, due_date, weight; GitLab's
// other names (priority, label_priority, milestone_due, popularity,
// relative_position) are accepted and order as created_at; anything else:
// 400 {"error":"order_by does not have a valid value"}), sort (asc|desc,
// default desc), per_page (default options.default_per_page, above
// options.max_per_page cut to it; < 1 the default), page (default 1).
// Ties are broken by id in the sort's direction; issues without due_date or
// weight come last. A bad state, scope or sort: 400 {"error":"<name> does
// not have a valid value"}; page or per_page not a number: 400
// {"error":"<name> is invalid"}.
//
// Offset pages (the default) carry x-page, x-per-page, x-next-page ("" on
// the last page), x-prev-page ("" on the first), x-total and x-total-pages
// (both omitted when more than options.count_limit (10,000) issues match),
// and Link with rel="prev" (not on page 1), "next" (not on the last),
// "first" and "last" (omitted above the count limit), in that order, each
// an absolute URL on this server with the request's parameters and `page`
// set. With options.max_offset set, page * per_page above it answers 405
// {"error":"Offset pagination has a maximum allowed offset of N for requests
// that return objects of type Issue. Remaining records can be retrieved
// using keyset pagination."} (GitLab's status for its offset limit).
//
// Keyset pages (options.keyset_pagination, GitLab 18.3+): project issues
// with pagination=keyset and order_by updated_at, created_at or id (sort
// either way) carry only `Link: <...&cursor=...>; rel="next"` when more
// issues follow (no Link on the last page; a page past the end is []), no
// x-total nor x-page headers. The cursor is URL-safe base64 of JSON
// {"<order_by>":"...","id":"76","_kd":"n"}; a garbled one or one made for
// another order_by: 400 {"message":"400 Bad request - Invalid cursor"}. A
// group list, another order_by, or a server without keyset
// (keyset_pagination = false, an older GitLab) ignores pagination=keyset and
// pages by offset.
//
// Paging is live: every page runs the query again, so changes between pages
// shift offsets as in real GitLab; a keyset page continues strictly after its
// cursor's (order value, id).
//
// Issues render in GitLab's recorded shape: id (global), iid, project_id,
// title, description (markdown or null), state (opened|closed), created_at,
// updated_at, closed_at ("2016-01-04T15:31:51.081Z", UTC, milliseconds),
// closed_by (user or null), labels (names), milestone {id, iid, project_id,
// title, description, state, created_at, updated_at, due_date, start_date,
// expired, web_url} or null, assignees [{id, username, name, state, locked,
// avatar_url, web_url}], assignee (the first or null), author, type "ISSUE",
// issue_type "issue", user_notes_count, merge_requests_count, upvotes,
// downvotes, due_date ("2016-07-22" or null), confidential,
// discussion_locked, web_url ({external_url}/{path}/-/issues/{iid}),
// time_stats {time_estimate, total_time_spent (seconds),
// human_time_estimate, human_total_time_spent ("1w 2d 3h 30m" with 8-hour
// days and 5-day weeks, null for 0)}, task_completion_status {count,
// completed_count} and has_tasks (from "- [ ]" / "- [x]" lines of the
// description), _links {self, notes, award_emoji, project,
// closed_as_duplicate_of}, references {short "#6", relative ("#6" in
// project lists and GET, the path from the group in group lists: "sub/name#6"),
// full "group/name#6"}, severity "UNKNOWN", moved_to_id, service_desk_reply_to,
// imported, imported_from, and on the paid tier (options.paid_tier) weight
// (null or integer), epic_iid, epic, iteration (null) and health_status.
// Confidential issues are listed to anyone who sees the project.
//
// Deleted issues vanish from lists and GET answers 404. A moved issue
// (MoveIssue) stays: closed (closed_at and updated_at at the move, closed_by
// the mover) with moved_to_id set; the copy in the target project is a new
// issue (next id, next iid there, created_at and updated_at at the move).
//
// The sample world (options.sample_world, default true):
//   users    root (1, "Administrator"), sync.bot (24, "Sync Bot",
//            sync.bot@example.com), alice (31, "Alice Example", public e-mail
//            alice@example.com), bob (32, "Bob Builder", no public e-mail),
//            zoe (33, "Zoë Ångström"), and the bots of the access tokens
//   groups   acme (10; members sync.bot, alice, bob), acme/platform (11),
//            secret (20, private; member root only)
//   projects acme/roadmap (101), acme/platform/api (102),
//            secret/vault (201, private to root)
// Issue ids start at 1001, iids at 1 per project; ids made for groups,
// projects, users and milestones start at 1000, 2000, 100 and 500.
//
// Control API: every public member is thread-safe and may be called while
// requests are served.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/value.h"
#include "tests/support/http_server.h"

namespace boardsync {

enum class GitLabTokenKind {
  kPersonal,       // a personal access token, glpat-...
  kProjectAccess,  // a project access token (its bot user reaches one project)
  kGroupAccess,    // a group access token (its bot reaches the group and below)
  kOAuth,          // an OAuth 2 access token (64 hex digits)
};

// The tokens the sample world accepts, shaped like real ones.
// sync.bot, read_api: what the connector needs.
inline constexpr std::string_view kGitLabToken = "glpat-Xq3vR8sKp2LmN7tY4wZa";
// sync.bot, read_user only: /user works, everything else is 403.
inline constexpr std::string_view kGitLabReadUserToken = "glpat-Hd7mQ2xLk9VbR4nT8cWe";
// sync.bot, api (full access).
inline constexpr std::string_view kGitLabApiToken = "glpat-Pz5sJ1uYa6GfK3oE9rNq";
// A project access token for acme/roadmap, read_api; user project_101_bot_3f9c1a.
inline constexpr std::string_view kGitLabProjectToken = "glpat-Tb2wM8qZc5XhL7vD1kRs";
// A group access token for acme, read_api; user group_10_bot_8e2d4b.
inline constexpr std::string_view kGitLabGroupToken = "glpat-Ny4gF6aQe1WpU9tS3jLm";
// An OAuth token of sync.bot with api.
inline constexpr std::string_view kGitLabOAuthToken =
    "5f1c9e7a2b4d8f0a3c6e9b1d4f7a0c2e5b8d1f4a7c0e3b6d9f2a5c8e1b4d7f0a";

struct GitLabToken {
  std::string value;
  GitLabTokenKind kind = GitLabTokenKind::kPersonal;
  std::vector<std::string> scopes = {"read_api"};  // read_api, api, read_user
  // The user it belongs to (a project or group access token's bot user);
  // unknown names become users made up from the name.
  std::string username = "sync.bot";
  // kProjectAccess: the project's full path; kGroupAccess: the group's.
  std::string resource;
  bool expired = false;
  bool revoked = false;
  std::string name = "boardsync";
  // What /personal_access_tokens/self shows ("2027-11-01"); not enforced
  // (ExpireToken() expires a token). nullopt: null.
  std::optional<std::string> expires_at = "2027-11-01";
};

// The tokens above with their scopes and users.
std::vector<GitLabToken> GitLabSampleTokens();

struct GitLabUser {
  std::int64_t id = 0;  // 0 on AddUser(): the next free id
  std::string username;
  std::string name;          // empty: the username
  std::string email;         // shown only to the user's own token
  std::string public_email;  // "" when not public
  std::string state = "active";
  std::string bio;
  bool bot = false;
  std::int64_t created_ms = 0;  // 0: 2020-01-01
};

struct GitLabGroup {
  std::int64_t id = 0;    // 0: the next free group id
  std::string full_path;  // "acme/platform"; missing ancestors are created (private)
  std::string name;       // empty: the last path segment
  std::string description;
  bool is_public = false;
  std::vector<std::string> members;  // usernames; membership reaches subgroups and projects
};

struct GitLabProject {
  std::int64_t id = 0;              // 0: the next free project id
  std::string path_with_namespace;  // "acme/roadmap"; a missing namespace is created as a group
                                    // unless it is a username (a personal namespace)
  std::string name;                 // empty: the last path segment
  std::string description;
  bool is_public = false;
  bool archived = false;
  std::vector<std::string> members;
};

struct GitLabMilestone {
  std::int64_t id = 0;   // 0: the next free id
  std::int64_t iid = 0;  // 0: the next in the project
  std::string title;
  std::string description;
  std::string state = "active";           // active|closed
  std::optional<std::string> due_date;    // "2024-06-30"
  std::optional<std::string> start_date;  // "2024-06-01"
  std::int64_t created_ms = 0;            // 0: the server clock
  std::int64_t updated_ms = 0;            // 0: created_ms
};

// One issue as the control API reads and writes it.
struct GitLabIssue {
  std::int64_t id = 0;   // global; 0 on AddIssue(): the next free id (1001, 1002, ...)
  std::int64_t iid = 0;  // per project; 0 on AddIssue(): the project's next
  std::string project = "acme/roadmap";  // full path; must exist
  std::string title;
  std::optional<std::string> description;  // markdown; null when none
  std::string state = "opened";            // opened|closed
  std::vector<std::string> labels;
  std::vector<std::string> assignees;  // usernames (unknown ones are made up)
  std::string author = "alice";
  // A milestone title of the project; unknown titles are created (active).
  std::optional<std::string> milestone;
  std::optional<std::int64_t> weight;  // shown only on the paid tier
  std::int64_t time_estimate_seconds = 0;
  std::int64_t total_time_spent_seconds = 0;
  std::optional<std::string> due_date;    // "2016-07-22"
  std::int64_t created_ms = 0;            // 0 on AddIssue(): the server clock
  std::int64_t updated_ms = 0;            // 0 on AddIssue(): created_ms
  std::optional<std::int64_t> closed_ms;  // state closed on AddIssue() without it: updated_ms
  std::optional<std::string> closed_by;   // a username
  bool confidential = false;
  bool discussion_locked = false;
  int user_notes_count = 0;
  int merge_requests_count = 0;
  int upvotes = 0;
  int downvotes = 0;
  std::optional<std::int64_t> moved_to_id;
  // Members sent exactly as given, over the rendered ones: for wire data the
  // struct cannot say (an odd type, a member GitLab may add).
  Value::Object raw_fields;
};

struct GitLabIssueRef {
  std::int64_t id = 0;
  std::int64_t iid = 0;
  std::int64_t project_id = 0;
};

struct GitLabServerOptions {
  std::uint16_t port = 0;  // 0: any free port
  // A relative URL root, as a self-managed install may have: "/gitlab"
  // serves /gitlab/api/v4/... Empty: at the root, as gitlab.com.
  std::string path_prefix;
  // Where web_url and _links point: empty: this server (base_url()).
  std::string external_url;
  std::vector<GitLabToken> tokens = GitLabSampleTokens();
  int default_per_page = 20;
  int max_per_page = 100;
  // GitLab 18.3+: pagination=keyset on project issues. false: an older
  // GitLab that ignores it and pages by offset.
  bool keyset_pagination = true;
  // weight (and the other paid-tier members) in issue JSON.
  bool paid_tier = true;
  // page * per_page above this answers 405 (GitLab's offset limit). nullopt: none.
  std::optional<std::int64_t> max_offset;
  // Above this many matches x-total, x-total-pages and rel="last" are left out.
  std::int64_t count_limit = 10'000;
  // GET /version; empty: "18.5.1-ee" with keyset pagination, "18.2.4-ee" without.
  std::string version;
  // The users, groups and projects of the header comment.
  bool sample_world = true;
  // The server clock starts frozen at this instant (ms since the epoch);
  // nullopt: it follows the real clock until SetNow().
  std::optional<std::int64_t> now_ms;
};

class GitLabServer {
 public:
  // A scripted misbehaviour, consumed by the next `times` matching requests.
  // Faults apply before authentication, as a proxy's or Rack::Attack's would.
  struct Fault {
    // Which requests: "" any issue list (project or group); "*" any request;
    // else an API path prefix without options.path_prefix, as received
    // (still encoded): "/api/v4/projects/101" matches that path and those
    // below it ("/api/v4/projects/101/issues"), not "/api/v4/projects/1010";
    // one ending in "/" matches any continuation.
    std::string path;
    std::optional<int> status;           // answer this instead of the real response
    HttpServerHeaders headers;           // with `status`; without it, set on the real response
    std::string body;                    // with `status`
    std::chrono::milliseconds delay{0};  // answer late
    bool drop_connection = false;        // close without answering
    std::optional<std::size_t> truncate_body_at;  // cut the real body off after N bytes
    // RateLimited(): RateLimit-Reset(Time) are made when answering, from the
    // real clock plus this (the client's wait is wall time).
    std::optional<int> rate_limit_reset_seconds;
    int times = 1;

    // A canned answer; JSON unless `content_type` says otherwise.
    static Fault Status(int status, std::string body,
                        std::string content_type = "application/json");
    // 429 as GitLab's throttles answer: body {"message":"Retry later"}
    // (json) or the text "Retry later\n" (text/plain, as Rack::Attack sends),
    // headers RateLimit-Name, RateLimit-Limit (`limit`), RateLimit-Observed
    // (limit + 1), RateLimit-Remaining (0), RateLimit-Reset (epoch seconds,
    // now + reset_seconds), RateLimit-ResetTime (HTTP date of the same) and
    // Retry-After (reset_seconds) unless `with_retry_after` is false, as
    // some GitLab 429s lack it.
    static Fault RateLimited(int reset_seconds = 60, bool with_retry_after = true, bool json = true,
                             int limit = 2000);
    // 500 {"message":"500 Internal Server Error"}.
    static Fault ServerError();
    // 502 with GitLab's HTML "GitLab is not responding" page.
    static Fault BadGateway();
    // 503 from a proxy (HTML), with Retry-After when given.
    static Fault ServiceUnavailable(std::optional<int> retry_after_seconds = std::nullopt);
    // 200 with an HTML sign-in page, as an SSO proxy in front answers.
    static Fault HtmlLoginPage();
    // 200 application/json whose body is not JSON.
    static Fault MalformedJson();
    // 200 JSON of the wrong shape: an object where the list should be.
    static Fault WrongShape();
    // The real response, with these headers set (replacing same-named ones),
    // e.g. a Link pointing off the API.
    static Fault WithHeaders(HttpServerHeaders headers);
    // The real response, cut off after `bytes`, then a close.
    static Fault Truncated(std::size_t bytes);
    // The real response, `delay` late.
    static Fault Delay(std::chrono::milliseconds delay);
    // No answer for an hour (Stop() ends the wait).
    static Fault Hang();
    // The connection closes without an answer.
    static Fault Drop();

    Fault On(std::string api_path) const;
    Fault Times(int n) const;
  };

  // Which way a request carried its token; the token itself is never kept.
  enum class AuthMethod {
    kNone,
    kBearer,
    kPrivateTokenHeader,
    kPrivateTokenParam,
    kAccessTokenParam
  };

  struct RecordedRequest {
    std::string method;
    // The target as received (path and query, still encoded), with
    // private_token= / access_token= values replaced by "[redacted]".
    std::string target;
    std::string api_path;  // the path without options.path_prefix, still encoded
    std::vector<std::pair<std::string, std::string>> query;  // decoded, tokens redacted
    // Lower-cased names; Authorization and PRIVATE-TOKEN values redacted.
    HttpServerHeaders headers;
    AuthMethod auth = AuthMethod::kNone;
    bool issue_list = false;  // a project or group issue list
    int status = 0;           // what was answered; 0 when the connection was dropped
    bool faulted = false;
  };

  // Starts serving. Throws std::system_error when the port cannot be bound.
  explicit GitLabServer(GitLabServerOptions options = {});
  ~GitLabServer();

  GitLabServer(const GitLabServer&) = delete;
  GitLabServer& operator=(const GitLabServer&) = delete;

  std::uint16_t port() const { return server_->port(); }
  // What a user configures: "http://127.0.0.1:<port><prefix>".
  std::string base_url() const;
  // base_url() + "/api/v4".
  std::string api_url() const;
  const HttpServer& server() const { return *server_; }
  void Stop() { server_->Stop(); }

  // ---- World ----

  // Each returns the new id; fails for a duplicate id or path.
  Result<std::int64_t> AddUser(GitLabUser user);
  Result<std::int64_t> AddGroup(GitLabGroup group);
  Result<std::int64_t> AddProject(GitLabProject project);
  Result<std::int64_t> AddMilestone(std::string_view project, GitLabMilestone milestone);
  // False when there is no such project.
  bool SetProjectArchived(std::string_view project, bool archived);
  // The id of a project or group by full path; nullopt when unknown.
  std::optional<std::int64_t> ProjectId(std::string_view full_path) const;
  std::optional<std::int64_t> GroupId(std::string_view full_path) const;
  std::optional<std::int64_t> UserId(std::string_view username) const;

  // ---- Issues ----

  // Adds one issue (see GitLabIssue for defaults). Fails for an unknown
  // project or a duplicate id or (project, iid).
  Result<GitLabIssueRef> AddIssue(GitLabIssue issue);
  // Applies `change`, then sets updated_at to the server clock unless
  // `change` set it. id, iid and project stay. False when there is no such
  // issue (or it was deleted). `change` runs under the server's lock: it
  // must not call the server.
  bool UpdateIssue(std::int64_t id, const std::function<void(GitLabIssue&)>& change);
  // As UpdateIssue(), but updated_at stays as `change` leaves it.
  bool EditIssueInPlace(std::int64_t id, const std::function<void(GitLabIssue&)>& change);
  // Closes it at the server clock (closed_at, updated_at), closed_by `by`
  // (empty: sync.bot). False when there is no such open issue.
  bool CloseIssue(std::int64_t id, std::string_view by = "");
  // Opens it again (closed_at and closed_by cleared, updated_at to the clock).
  bool ReopenIssue(std::int64_t id);
  bool DeleteIssue(std::int64_t id);
  // Moves the issue to `to_project`: the old one is closed with
  // moved_to_id, a copy is created there (title, description, labels,
  // assignees, author, weight, estimates, due date, confidential; a
  // milestone is not carried over). Returns the copy; nullopt when there
  // is no such issue or project, or the issue was moved already.
  std::optional<GitLabIssueRef> MoveIssue(std::int64_t id, std::string_view to_project,
                                          std::string_view by = "");
  std::optional<GitLabIssue> GetIssue(std::int64_t id) const;
  std::optional<GitLabIssue> FindIssue(std::string_view project, std::int64_t iid) const;
  // Every issue not deleted, by id.
  std::vector<GitLabIssue> Issues() const;
  std::size_t issue_count() const;
  // `epoch_ms` as GitLab writes it: "2016-01-04T15:31:51.081Z".
  static std::string FormatTime(std::int64_t epoch_ms);

  // ---- Clock ----

  // The server clock, ms since the epoch: new and changed issues get it.
  std::int64_t NowMs() const;
  // Freezes the clock at `epoch_ms`.
  void SetNow(std::int64_t epoch_ms);
  // Moves the clock on (freezing it at now + `by` if it followed the real one).
  void AdvanceClock(std::chrono::milliseconds by);

  // ---- Behaviour ----

  void SetKeysetPagination(bool offered);
  void SetMaxOffset(std::optional<std::int64_t> max_offset);
  void SetPaidTier(bool paid);

  // ---- Tokens ----

  // Adds or replaces (by value) an accepted token.
  void AddToken(GitLabToken token);
  // Later requests with it get 401 (invalid_token, revoked / expired);
  // RemoveToken: plain 401 as for an unknown token. False when unknown.
  bool RevokeToken(std::string_view value);
  bool ExpireToken(std::string_view value);
  bool RemoveToken(std::string_view value);

  // ---- Faults ----

  void InjectFault(Fault fault);
  void ClearFaults();
  std::size_t pending_faults() const;

  // ---- What clients sent ----

  std::uint64_t total_requests() const;
  // Requests to exactly `api_path` ("/api/v4/projects/101/issues", as
  // received), faulted ones included.
  std::size_t RequestCount(std::string_view api_path) const;
  // Issue-list requests (project or group), faulted ones included.
  std::size_t list_requests() const;
  // Requests answered with `status`.
  std::size_t StatusCount(int status) const;
  std::vector<RecordedRequest> requests() const;
  // The latest request to `api_path` (empty: to any path).
  std::optional<RecordedRequest> LastRequest(std::string_view api_path = "") const;
  void ClearRequests();
  // Calls `hook(n)` before answering the n-th issue-list request (1-based,
  // as list_requests() counts), so a test can change issues while a client
  // pages. It runs on a server thread without the lock: it may call any
  // member but Stop(). Empty: none.
  void OnListRequest(std::function<void(std::size_t n)> hook);

 private:
  struct State;
  struct Query;
  struct ResolvedToken;

  HttpServerResponse Handle(const HttpServerRequest& request);

  GitLabServerOptions options_;
  std::unique_ptr<State> state_;        // everything mutable, under state_->mu
  std::unique_ptr<HttpServer> server_;  // last: stops before the state goes
};

}  // namespace boardsync

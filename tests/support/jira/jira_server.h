// JiraServer: a sample Jira, Cloud or Data Center, on a loopback HttpServer,
// for the Jira connector's tests. It answers with Jira's JSON shapes and
// error bodies, reads a strict JQL subset in the token user's time zone,
// pages as each flavour does, and lets tests change issues, move the clock,
// delay the search index and script faults while it serves.
//
// Endpoints (all under options.path_prefix, e.g. "/jira"; {v} is the API
// version: 3 or 2 on Cloud, 2 on Data Center):
//
//   Cloud (Basic email:api_token only)
//     GET      /rest/api/{v}/myself
//              -> {accountId, accountType, displayName, emailAddress, active, timeZone, ...}
//     GET|POST /rest/api/{v}/search/jql
//              jql, fields, maxResults (default 50, capped), nextPageToken, expand=names,
//              reconcileIssues (POST: a JSON body of the same names)
//              -> {issues, nextPageToken (absent on the last page), isLast}
//     POST     /rest/api/{v}/search/approximate-count  {"jql"} -> {"count"}
//     GET|POST /rest/api/{v}/search  -> 410, Jira's "requested API has been removed" body
//     GET      /rest/api/{v}/field   -> every system and custom field
//     GET      /rest/api/{v}/project/search  startAt, maxResults
//              -> {startAt, maxResults, total, isLast, values}
//     v3 writes rich text (description, Acceptance Criteria) as Atlassian
//     Document Format, v2 as plain text.
//   Data Center (Bearer personal access token only)
//     GET      /rest/api/2/myself  -> {key, name, emailAddress, displayName, active, timeZone, ...}
//     GET|POST /rest/api/2/search  jql, fields, startAt, maxResults (default 50, capped),
//              expand=names -> {startAt, maxResults, total, issues}
//     GET      /rest/api/2/field
//     GET      /rest/api/2/project  -> a plain list
//     /rest/api/3/... and /rest/api/2/search/jql are 404 there.
//   Both
//     GET      /rest/api/{v}/issue/{idOrKey}  fields (default all); old keys of moved
//              issues resolve; reads the issue itself, never the lagging index
//   Unknown paths: 404. Missing or wrong credentials: 401 (on Cloud also a
//   Bearer header). SetSearchForbidden(): the search answers 403.
//
// Writes (sync back), both flavours unless said:
//     PUT      /rest/api/{v}/issue/{idOrKey}  {"fields": {"customfield_N": value, ...}}
//              All or nothing, with Jira's checks, each failing field an entry of
//              `errors` in one 400: an unknown id, a field without a context, not
//              on the default screen or switched off for the issue
//              (SetFieldOffScreen()) -> "Field 'customfield_N' cannot be set. It is
//              not on the appropriate screen, or unknown."; a number field given
//              anything but a number or null, a text field anything but a string
//              (textfield: at most 255 characters) or null, a textarea on Cloud's
//              API 3 anything but an ADF document or null; select and sprint fields
//              refuse numbers and text. System fields are not writable here.
//              Unknown issue: 404. Success: 204, or on Cloud with returnIssue=true
//              200 and the issue as GET issue gives it (Data Center documents no
//              returnIssue: 204 always). The values show in every answer that
//              asks for the field, and `updated` moves to the server clock (at
//              least a millisecond past the last `updated`).
//     POST     /rest/api/{v}/field  {"name", "type": "…customfieldtypes:float|
//              textfield|textarea|select", "searcherKey"?} -> 201 and the field
//              (customfield_10100, ...). Needs Administer Jira (SetAdmin(); 403
//              otherwise). The new field is on no screen; it has a global context
//              on Data Center, and on Cloud only with
//              options.cloud_field_gets_context (whether Cloud makes one is
//              unconfirmed).
//     GET|POST /rest/api/3/field/{id}/context  (Cloud) the field's contexts as a
//              page {values: [...]}; POST {"name", "projectIds": [],
//              "issueTypeIds": []} adds a global one (201). Administer Jira.
//     POST     /rest/api/{v}/screens/addToDefault/{id}  puts the field on the
//              default screen (200); 404 when it is there already or unknown.
//              Administer Jira.
//   Faults match these paths like any other (Fault::On("/rest/api/3/issue")).
//
// Issues: numeric `id` ("10001"), `key`, `self`, `fields` with summary,
// description, status {name, id, statusCategory}, priority, issuetype,
// resolution, resolutiondate, created, updated (Jira's
// "2024-03-10T01:59:30.123+0100", in the server's zone), labels, assignee,
// reporter (Cloud users by accountId, some with the e-mail hidden; Data
// Center users by name and key), components, fixVersions, project,
// timeoriginalestimate, timespent (seconds or null), and the custom fields
// customfield_10016 "Story Points" (number), customfield_10020 "Sprint"
// (list of {id, name, state, ...}), customfield_10030 "Team" (single select
// {value}), customfield_10031 "Platforms" (multi select), customfield_10050
// "Acceptance Criteria" (rich text) and, with options.shared_field_name,
// customfield_10060 (number) and customfield_10061 (select) both named so.
//
// fields= (a comma list, repeatable; "*all", "*navigable", "-id" to drop)
// limits `fields`; id, key and self are always there. Without fields=, Data
// Center and GET issue give every field and Cloud's /search/jql gives none
// (Cloud's documented default is "id" only).
//
// JQL (see jira_jql.h for the grammar): clauses on project (key, name or
// id), key / issuekey, id, status, resolution, labels (=, !=, in, not in,
// is [not] empty; id also <, <=, >, >=) and updated, created, resolved /
// resolutiondate (=, !=, <, <=, >, >=, is [not] empty), joined with AND,
// OR, NOT and parentheses; ORDER BY updated, created, resolved, id, key,
// project with ASC/DESC (dates default to DESC, others to ASC). Ties and
// queries without ORDER BY come in key order, descending. Strict as Jira: an
// unknown field, project, status or issue key, a date with seconds, a
// function, a reserved word unquoted: 400 with Jira's errorMessages. Cloud's
// /search/jql refuses a query without a condition ("unbounded"). Ids that
// do not exist simply match nothing.
//
// Dates in JQL are civil minutes read in the token user's zone
// (options.user_time_zone, an IANA name). A civil time that does not exist
// (spring forward) or exists twice (fall back) is read per
// options.civil_reading; the default, kLatest, is what java.util.Calendar
// (lenient, which Jira's date parsing builds on) does: a skipped time is read
// with the offset before the change (02:30 in Berlin on 2024-03-31 is 01:30
// UTC, i.e. 03:30 CEST), a repeated time as its second occurrence (02:30 on
// 2024-10-27 is 01:30 UTC, i.e. 02:30 CET). kEarliest reads the other way
// (00:30 UTC and 00:30 UTC respectively). ReadJqlDate() tells a test
// which instant a literal means.
//
// Paging is live: every page runs the query again, so changes between pages
// shift offsets as in real Jira. Cloud's nextPageToken is opaque (the offset
// and a hash of the JQL); used with another JQL, or garbled, it gets 400.
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
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/value.h"
#include "tests/support/http_server.h"

namespace boardsync {

enum class JiraFlavor { kCloud, kDataCenter };

// How a JQL civil time is read when the user's zone skips or repeats it
// (the header comment above has examples). UNIQUE times read the same
// either way.
enum class JiraCivilReading {
  kLatest,    // the later candidate instant (java.util.Calendar's reading; default)
  kEarliest,  // the earlier candidate instant
};

// The credentials the server accepts unless told otherwise. Shaped like
// real ones: Cloud API tokens start with ATATT; PATs are base64-like.
inline constexpr std::string_view kJiraCloudEmail = "sync.bot@example.com";
inline constexpr std::string_view kJiraCloudApiToken =
    "ATATT3xFfGF0mZ7Lq2Vw9Rk4Tn8Yb1Hc6Jd3Gs5Pf0Xe2Ua7Io4=5C1E9A7B";
inline constexpr std::string_view kJiraDataCenterToken =
    "NTk2MzQ4NzEyMDkxOpW2xK7rT9mVq3Lz8Nc4Hb6Yd1Fs";

// A sample user. The token user is "sync.bot".
struct JiraSampleUser {
  std::string name;        // Data Center user name (Cloud: not shown)
  std::string key;         // Data Center user key (JIRAUSER10100 style, or the name for old users)
  std::string account_id;  // Cloud
  std::string display_name;
  std::string email;
  bool email_visible = true;  // Cloud: false leaves emailAddress out (profile privacy)
  std::string time_zone;
};

// sync.bot, alice, bob (Cloud hides his e-mail; his Data Center key is his
// old name "bob"), zoe (a non-ASCII display name).
const std::vector<JiraSampleUser>& JiraSampleUsers();

// One issue as the control API reads and writes it; the server renders it
// in each flavour's wire shape.
struct JiraIssue {
  std::int64_t id = 0;  // 0 on AddIssue(): the next free id (10001, 10002, ...)
  // "RAP-42". Empty on AddIssue(): `project` and its next number.
  std::string key;
  std::string project = "RAP";  // a project key (unknown ones are created); `key` wins
  std::string summary;
  // Plain text; Cloud's v3 writes it as ADF, one paragraph per line, lines
  // starting "- " as a bullet list.
  std::optional<std::string> description;
  std::string status = "To Do";  // a status name; unknown ones are created "In Progress"-like
  std::string priority = "Medium";
  std::string issue_type = "Task";
  std::optional<std::string> resolution;  // null: unresolved
  std::optional<std::int64_t> resolution_date_ms;
  std::int64_t created_ms = 0;  // 0 on AddIssue(): the server clock
  std::int64_t updated_ms = 0;  // 0 on AddIssue(): created_ms
  std::vector<std::string> labels;
  std::optional<std::string> assignee;  // a JiraSampleUsers() name; unknown names are made up
  std::optional<std::string> reporter;
  std::vector<std::string> components;
  std::vector<std::string> fix_versions;
  std::optional<std::int64_t> original_estimate_seconds;  // timeoriginalestimate
  std::optional<std::int64_t> time_spent_seconds;         // timespent
  std::optional<double> story_points;                     // customfield_10016
  std::vector<std::string> sprints;                       // customfield_10020, by name
  std::optional<std::string> team;                        // customfield_10030
  std::vector<std::string> platforms;                     // customfield_10031
  std::optional<std::string> acceptance_criteria;         // customfield_10050, rich text
  std::optional<double> shared_number;                    // customfield_10060 (shared name)
  std::optional<std::string> shared_option;               // customfield_10061 (shared name)
  // Values of the fields AddCustomField() and POST /field made, by id: a
  // number or plain text (ADF on Cloud's API 3 for a textarea); absent: null.
  Value::Object custom_values;
  // Members of `fields` sent exactly as given, over the rendered ones: for
  // wire data the struct cannot say (hand-made ADF, an odd type, a field
  // the server does not define). Projection applies to them too.
  Value::Object raw_fields;

  // The project part of `key` ("RAP" for "RAP-42").
  std::string ProjectKey() const;
};

struct JiraServerOptions {
  JiraFlavor flavor = JiraFlavor::kCloud;
  std::uint16_t port = 0;  // 0: any free port
  // A context path, as Data Center often has: "/jira" serves
  // /jira/rest/api/2/... Empty: at the root.
  std::string path_prefix;
  std::string email = std::string(kJiraCloudEmail);                       // Cloud
  std::string api_token = std::string(kJiraCloudApiToken);                // Cloud
  std::string personal_access_token = std::string(kJiraDataCenterToken);  // Data Center
  // The token user's profile zone: /myself shows it and JQL dates are read
  // in it. Throws std::invalid_argument at construction when unknown.
  std::string user_time_zone = "Europe/Berlin";
  // The zone dates are written in (created, updated, ...). Empty: the
  // user's zone.
  std::string server_time_zone;
  JiraCivilReading civil_reading = JiraCivilReading::kLatest;
  // The most issues a search page holds; a larger maxResults is cut to it
  // silently, as Jira does. 0: 100 on Cloud, 1000 on Data Center.
  int max_results_cap = 0;
  // Non-empty: customfield_10060 and customfield_10061 both carry this name.
  std::string shared_field_name;
  // Data Center: Sprint values as the old "com.atlassian.greenhopper.service.
  // sprint.Sprint@...[id=..,name=..]" strings instead of objects.
  bool legacy_sprint_strings = false;
  // The server clock starts frozen at this instant (ms since the epoch);
  // nullopt: it follows the real clock until SetNow().
  std::optional<std::int64_t> now_ms;
  // Cloud: POST /field gives the new field a global context of its own.
  // Jira's documentation leaves it open; false makes a client add one.
  bool cloud_field_gets_context = false;
};

class JiraServer {
 public:
  // A scripted misbehaviour, consumed by the next `times` matching requests.
  // Faults apply before authentication, as a proxy's would.
  struct Fault {
    // Which requests: "" the search (GET or POST, /search/jql on Cloud,
    // /search on Data Center); "*" any request; else an API path without
    // the prefix ("/rest/api/3/myself"), which also matches paths below it.
    std::string path;
    std::string method;                           // "PUT", ...; "": any
    std::optional<int> status;                    // answer this instead of the real response
    HttpServerHeaders headers;                    // with `status`
    std::string body;                             // with `status`
    std::chrono::milliseconds delay{0};           // answer late
    bool drop_connection = false;                 // close without answering
    std::optional<std::size_t> truncate_body_at;  // cut the real body off after N bytes
    int times = 1;

    // A canned answer; JSON unless `content_type` says otherwise.
    static Fault Status(int status, std::string body,
                        std::string content_type = "application/json;charset=UTF-8");
    // 429 with Retry-After and Jira Cloud's rate-limit headers.
    static Fault RateLimited(int retry_after_seconds);
    // 500 with a Jira error body.
    static Fault ServerError();
    // 503 from a proxy (HTML body), with Retry-After when given.
    static Fault ServiceUnavailable(std::optional<int> retry_after_seconds = std::nullopt);
    // 200 with an HTML sign-in page, as an SSO proxy answers.
    static Fault HtmlLoginPage();
    // 200 application/json whose body is not JSON.
    static Fault MalformedJson();
    // 200 JSON of the wrong shape: issues is not a list, isLast a string.
    static Fault WrongShape();
    // The real response, cut off after `bytes`, then a close.
    static Fault Truncated(std::size_t bytes);
    // The real response, `delay` late.
    static Fault Delay(std::chrono::milliseconds delay);
    // No answer for an hour (Stop() ends the wait).
    static Fault Hang();
    // The connection closes without an answer.
    static Fault Drop();

    Fault On(std::string api_path) const;
    // Only requests with this method ("POST").
    Fault OnMethod(std::string method) const;
    Fault Times(int n) const;
  };

  struct RecordedRequest {
    HttpServerRequest request;
    std::string api_path;  // the path without the prefix, e.g. "/rest/api/3/search/jql"
    std::string jql;       // search requests: the JQL sent (query or body)
    int status = 0;        // what was answered; 0 when the connection was dropped
    bool faulted = false;
  };

  // Starts serving. Throws std::system_error when the port cannot be bound,
  // std::invalid_argument for an unknown time zone.
  explicit JiraServer(JiraServerOptions options = {});
  ~JiraServer();

  JiraServer(const JiraServer&) = delete;
  JiraServer& operator=(const JiraServer&) = delete;

  JiraFlavor flavor() const { return options_.flavor; }
  std::uint16_t port() const { return server_->port(); }
  // What a user configures: "http://127.0.0.1:<port><prefix>".
  std::string base_url() const;
  const HttpServer& server() const { return *server_; }
  void Stop() { server_->Stop(); }
  // The Authorization header value the server accepts now ("Basic ..." on
  // Cloud, "Bearer ..." on Data Center).
  std::string AuthorizationHeader() const;

  // ---- Issues ----

  // Adds `count` issues made from `seed` (the same seed and count give the
  // same issues, ids and keys on an empty server): projects RAP, SRV, DOC;
  // created from 2024-01-01 on, a few minutes apart; about one in twenty
  // shares its `updated` with the one before, as after a bulk change.
  void GenerateIssues(std::size_t count, std::uint64_t seed);
  // Adds one issue (see JiraIssue for defaults). Returns its key; fails for
  // a duplicate id or key.
  Result<std::string> AddIssue(JiraIssue issue);
  // Applies `change`, then sets `updated` to the server clock unless
  // `change` set it. id and key stay (MoveIssue() changes keys). False when
  // there is no such issue. `change` runs under the server's lock: it must
  // not call the server.
  bool UpdateIssue(std::string_view id_or_key, const std::function<void(JiraIssue&)>& change);
  // As UpdateIssue(), but `updated` stays as `change` leaves it.
  bool EditIssueInPlace(std::string_view id_or_key, const std::function<void(JiraIssue&)>& change);
  bool DeleteIssue(std::string_view id_or_key);
  // Moves the issue to `project` (created when unknown): a new key there,
  // the same id, `updated` to the clock. The old key still resolves in
  // GET issue and JQL. Returns the new key; nullopt when there is no such issue.
  std::optional<std::string> MoveIssue(std::string_view id_or_key, std::string_view project);
  // The current version (not the index's). Old keys resolve.
  std::optional<JiraIssue> GetIssue(std::string_view id_or_key) const;
  // Every current issue, by id.
  std::vector<JiraIssue> Issues() const;
  std::size_t issue_count() const;
  void ClearIssues();
  // A project with this key and name (default: the key), if not there yet.
  void AddProject(std::string key, std::string name = "");

  // ---- Clock and time zones ----

  // The server clock, ms since the epoch: new and changed issues get it.
  std::int64_t NowMs() const;
  // Freezes the clock at `epoch_ms`.
  void SetNow(std::int64_t epoch_ms);
  // Moves the clock on (freezing it at now + `by` if it followed the real one).
  void AdvanceClock(std::chrono::milliseconds by);
  // Throws std::invalid_argument for an unknown zone.
  void SetUserTimeZone(std::string zone);
  void SetCivilReading(JiraCivilReading reading);
  // The instant (ms) JQL reads `literal` as, e.g. "2024-03-31 02:30", in
  // the user's zone with the current reading; periods count from NowMs().
  // nullopt when Jira would refuse the literal.
  std::optional<std::int64_t> ReadJqlDate(std::string_view literal) const;
  // `epoch_ms` as the server writes dates: "2024-03-10T01:59:30.123+0100".
  std::string FormatJiraTime(std::int64_t epoch_ms) const;

  // ---- Search behaviour ----

  // Search sees a change only `lag` after it was made (on the server clock),
  // and the version before it until then: new issues are missing, deleted
  // ones still found, changed ones found with their old fields, as from
  // Cloud's eventually consistent index. GET issue always reads the
  // current version; Cloud's reconcileIssues ids do too. 0 (default): none.
  void SetIndexLag(std::chrono::milliseconds lag);
  // Makes every change visible to search now.
  void FlushIndex();
  // 0: the flavour's default (100 Cloud, 1000 Data Center).
  void SetMaxResultsCap(int cap);
  // The search answers 403 (the token user may not browse the projects).
  void SetSearchForbidden(bool forbidden);

  // ---- Authentication ----

  // Replaces the accepted token (Cloud API token or Data Center PAT).
  void SetToken(std::string token);
  // Cloud: the e-mail that goes with the token.
  void SetEmail(std::string email);
  // Every request gets 401 until SetToken().
  void RevokeToken();

  // ---- Custom fields and writes ----

  // A custom field as the control API and the admin endpoints know it.
  struct CustomFieldState {
    std::string id;  // "customfield_10100"
    std::string name;
    std::string custom_type;  // "float", "textfield", "textarea", "select"
    int contexts = 0;         // global contexts; 0: writes to it are refused
    bool on_default_screen = false;
  };

  // Adds a custom field as an administrator would have: `custom_type` is
  // "float", "textfield", "textarea" or "select" (else
  // std::invalid_argument). Returns its id.
  std::string AddCustomField(std::string name, std::string custom_type,
                             bool on_default_screen = true, bool with_context = true);
  // The fields AddCustomField() and POST /field made, in that order.
  std::vector<CustomFieldState> CustomFields() const;
  // The token user has the Administer Jira global permission (default: no).
  void SetAdmin(bool admin);
  // The field is not on this issue's edit screen (in real Jira a project's
  // and issue type's screen): PUT /issue refuses it for this issue alone.
  void SetFieldOffScreen(std::string_view id_or_key, std::string field_id, bool off = true);
  // The field's value in the issue as GET issue on API 2 renders it (null
  // when empty); nullopt when there is no such issue or field.
  std::optional<Value> ValueOf(std::string_view id_or_key, std::string_view field_id) const;

  // ---- Faults ----

  void InjectFault(Fault fault);
  void ClearFaults();
  std::size_t pending_faults() const;

  // ---- What clients sent ----

  std::uint64_t total_requests() const;
  // Requests to `api_path` ("/rest/api/3/search/jql"), faulted ones included.
  std::size_t RequestCount(std::string_view api_path) const;
  // Search requests of this flavour (GET and POST), faulted ones included.
  std::size_t search_requests() const;
  std::vector<RecordedRequest> requests() const;
  // The latest request to `api_path` (empty: to any path).
  std::optional<RecordedRequest> LastRequest(std::string_view api_path = "") const;
  // The JQL of the latest search request ("" when none yet).
  std::string LastJql() const;
  // The JQL of every search request, in order.
  std::vector<std::string> AllJql() const;
  void ClearRequests();
  // Calls `hook(n)` before answering the n-th search request (1-based, as
  // search_requests() counts), so a test can change issues while a client
  // pages. It runs on a server thread without the lock: it may call any
  // member but Stop(). Empty: none.
  void OnSearchRequest(std::function<void(std::size_t n)> hook);

 private:
  struct Record;
  struct Project;
  struct Status;
  struct SearchParams;

  HttpServerResponse Handle(const HttpServerRequest& request);
  HttpServerResponse Serve(const HttpServerRequest& request, std::string_view api_path);
  HttpServerResponse ServeSearch(const HttpServerRequest& request, int version, bool cloud_api);
  HttpServerResponse ServeCount(const HttpServerRequest& request);
  HttpServerResponse ServeIssue(const HttpServerRequest& request, int version,
                                std::string_view id_or_key);
  HttpServerResponse ServeMyself(int version) const;
  HttpServerResponse ServeFields() const;
  HttpServerResponse ServeEdit(const HttpServerRequest& request, int version,
                               std::string_view id_or_key);
  HttpServerResponse ServeCreateField(const HttpServerRequest& request);
  HttpServerResponse ServeContexts(const HttpServerRequest& request, std::string_view field_id);
  HttpServerResponse ServeAddToDefault(std::string_view field_id);
  HttpServerResponse ServeProjects(const HttpServerRequest& request, int version) const;
  std::optional<HttpServerResponse> CheckAuth(const HttpServerRequest& request) const;
  bool IsSearchPath(std::string_view api_path) const;

  // The members below REQUIRE mu_ held.
  std::int64_t NowLocked() const;
  Result<std::string> AddLocked(JiraIssue issue);
  std::optional<std::int64_t> FindLocked(std::string_view id_or_key) const;
  bool ChangeLocked(std::string_view id_or_key, const std::function<void(JiraIssue&)>& change,
                    bool stamp);
  // Replaces the current version (null: deleted), keeping the index's view
  // per the lag.
  void CommitLocked(Record& record, std::shared_ptr<const JiraIssue> version);
  Project& ProjectLocked(std::string_view key);
  Status& StatusLocked(std::string_view name);
  // The issues `jql` selects, in its order, as search sees them now.
  Result<std::vector<std::shared_ptr<const JiraIssue>>> MatchLocked(
      std::string_view jql, bool require_bound, const std::set<std::int64_t>& reconcile) const;
  Value RenderIssueLocked(const JiraIssue& issue, int version, const SearchParams& params,
                          Value::Object* names) const;
  std::optional<std::int64_t> ReadDateLocked(std::string_view literal) const;
  // AddCustomField() and POST /field: the field, numbered on.
  CustomFieldState& AddFieldLocked(std::string name, std::string custom_type);
  CustomFieldState* FindCustomLocked(std::string_view id);

  JiraServerOptions options_;
  bool cloud_ = false;  // options_.flavor == kCloud
  mutable std::mutex mu_;
  std::map<std::int64_t, Record> records_;                 // by id
  std::map<std::string, std::int64_t, std::less<>> keys_;  // upper-case key -> id, old keys too
  std::vector<Project> projects_;
  std::vector<Status> statuses_;
  std::vector<std::string> resolutions_;
  std::int64_t next_id_ = 10001;
  std::optional<std::int64_t> frozen_now_;
  std::int64_t index_lag_ms_ = 0;
  bool search_forbidden_ = false;
  std::string token_;
  std::string email_;
  bool revoked_ = false;
  std::vector<Fault> faults_;
  std::vector<RecordedRequest> log_;
  std::map<std::string, std::size_t, std::less<>> counts_;
  std::size_t search_requests_ = 0;
  std::vector<std::string> all_jql_;
  std::function<void(std::size_t)> search_hook_;
  std::uint64_t total_requests_ = 0;
  std::vector<CustomFieldState> custom_fields_;
  std::int64_t next_field_number_ = 10100;
  bool admin_ = false;
  // SetFieldOffScreen(): (issue id, field id).
  std::set<std::pair<std::int64_t, std::string>> off_screen_;
  std::unique_ptr<HttpServer> server_;  // last: stops before the state goes
};

}  // namespace boardsync

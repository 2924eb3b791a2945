// SampleTracker: a YouTrack-compatible fake tracker on a loopback HttpServer.
// It answers /api/users/me, /api/admin/projects and /api/issues with the
// server's JSON shapes, fields= projection, paging and query language, takes
// custom field writes (POST /api/issues/{id}) and the admin calls that create
// and attach custom fields, and lets tests change issues, revoke tokens and
// script faults while it runs.
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
#include "tests/support/sample_data.h"

namespace boardsync {

// The token the sample tracker accepts unless told otherwise; it belongs to
// the user "sync.bot". Shaped like a real permanent token.
inline constexpr std::string_view kSampleTrackerToken =
    "perm:c3luYy5ib3Q=.Ym9hcmRzeW5j.Xq7Lm2Rv9Tz4Kp8Wc1Nd6Hs3Jf5Gb0";

// The bundled dataset, tests/data/youtrack/sample_issues.json.
std::string SampleIssuesPath();
// Where the build puts the boardsync-sample-tracker binary.
std::string SampleTrackerBinaryPath();

struct SampleTrackerOptions {
  std::uint16_t port = 0;  // 0: any free port
  // Serve the API under this path, as YouTrack Server on a path does:
  // "/youtrack" gives /youtrack/api/issues. Empty: at the root.
  std::string path_prefix;
  std::string token = std::string(kSampleTrackerToken);
  // Requests without an Authorization header act as the guest user (who
  // sees no issues or projects); when false they get 401.
  bool guest_access = true;
  // The token user's profile zone: query dates are read in it, and
  // /api/users/me shows it as profiles(general(timezone(id,presentation,offset))).
  int user_utc_offset_minutes = 0;
  // Milliseconds since the epoch for new and changed issues; default: now.
  std::function<std::int64_t()> clock;
};

// Thread-safe: every member may be called from any thread while requests
// are being served. Issue ids given to members may be entity ids ("2-17")
// or readable ids ("RAP-1").
class SampleTracker {
 public:
  // A scripted misbehaviour, consumed by the next `times` matching requests.
  // Faults apply before authentication, as a proxy's would.
  struct Fault {
    // The API path it applies to ("/api/issues" also matches "/api/issues/X");
    // empty: any request.
    std::string path;
    std::optional<int> status;                    // answer this instead of the real response
    HttpServerHeaders headers;                    // with `status`
    std::string body;                             // with `status`
    std::chrono::milliseconds delay{0};           // answer late
    bool drop_connection = false;                 // close without answering
    std::optional<std::size_t> truncate_body_at;  // cut the body off after N bytes
    int times = 1;

    // A canned answer; JSON unless `content_type` says otherwise.
    static Fault Status(int status, std::string body,
                        std::string content_type = "application/json;charset=UTF-8");
    // 429 with "Retry-After: <seconds>".
    static Fault RateLimited(int retry_after_seconds);
    // 503 from a proxy (HTML body), with Retry-After when given.
    static Fault ServiceUnavailable(std::optional<int> retry_after_seconds = std::nullopt);
    // 500 {"error":"server_error","error_description":"NPE"}.
    static Fault ServerError();
    // 200 with an HTML sign-in page, as an SSO proxy answers.
    static Fault HtmlLoginPage();
    // 200 application/json whose body is not valid JSON.
    static Fault MalformedJson();
    // The real response with its body cut off after `bytes`, then a close.
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

  struct RecordedRequest {
    HttpServerRequest request;
    std::string api_path;  // the path without the prefix, e.g. "/api/issues"
    int status = 0;        // what was answered; 0 when the connection was dropped
    bool faulted = false;
  };

  // Starts serving. Throws std::system_error when the port cannot be bound.
  explicit SampleTracker(SampleTrackerOptions options = {});
  ~SampleTracker();

  SampleTracker(const SampleTracker&) = delete;
  SampleTracker& operator=(const SampleTracker&) = delete;

  std::uint16_t port() const { return server_->port(); }
  // The service URL a user would configure: "http://127.0.0.1:<port><prefix>".
  std::string base_url() const;
  const HttpServer& server() const { return *server_; }
  void Stop() { server_->Stop(); }

  // ---- Issues ----

  // Adds the issues of a JSON file: an array of issues (an /api/issues
  // answer) or an object with "issues" and optionally "projects".
  Result<std::size_t> LoadIssues(const std::string& path);
  // Adds `count` synthetic issues (see SyntheticIssueGenerator) with the
  // next free entity ids and numbers. Each costs about 128 bytes (its record
  // and its place in the order by `updated`) until a test changes it; the
  // JSON is written per request.
  void GenerateIssues(std::size_t count, std::uint64_t seed);
  // Adds one issue in recorded shape. Missing id, idReadable,
  // numberInProject, created and updated are filled in; the project (an
  // object with at least shortName) is required. Returns the entity id.
  Result<std::string> AddIssue(Value issue);
  // Applies `change` to the issue, then bumps `updated` (unless `change` set
  // it) to max(clock, updated + 1). A changed project moves the issue: it
  // gets a new number and idReadable. False when there is no such issue.
  // `change` runs under the tracker's lock: it must not call the tracker.
  bool UpdateIssue(std::string_view id, const std::function<void(Value& issue)>& change);
  // As UpdateIssue(), but `updated` stays as `change` leaves it, even
  // unchanged: data mended behind the API's back (an admin script, a
  // migration), which a pull by update time cannot notice.
  bool EditIssueInPlace(std::string_view id, const std::function<void(Value& issue)>& change);
  bool SetSummary(std::string_view id, std::string summary);
  // Replaces the value of the custom field `field_name`. For a state field
  // whose new value carries isResolved, `resolved` follows. False when the
  // issue or the field does not exist.
  bool SetFieldValue(std::string_view id, std::string_view field_name, Value value);
  bool DeleteIssue(std::string_view id);
  std::optional<Value> GetIssue(std::string_view id) const;
  std::size_t issue_count() const;
  // Entity ids in entity-id order.
  std::vector<std::string> IssueIds() const;
  // Removes every issue (projects stay).
  void ClearIssues();

  // ---- Custom fields ----
  //
  // The tracker knows the custom fields its issues carry (each issue's
  // customFields[].projectCustomField: the global field, its type and the
  // project it is attached to) and those added here or through the admin
  // API. POST /api/issues/{id} writes simple fields (integer, float, string,
  // date, date and time) and text fields attached to the issue's project,
  // checking `$type` and the value's type as YouTrack does, and moves the
  // issue's `updated` when a value changed. Other field kinds (enums, users,
  // periods, ...) are not writable here.

  // Lets `token` make the admin API's changes (create a custom field, attach
  // one to a project), as an administrator's token may; any other token gets
  // 403 there. Reading fields and projects needs no admin rights.
  void SetAdmin(std::string_view token, bool admin);
  // Adds a global custom field ("prototype") of type `type_id` ("float",
  // "integer", "string", "text", "enum[1]", ...); returns its entity id.
  // An error when the name is taken (ignoring case) or the type unknown.
  Result<std::string> AddCustomField(std::string name, std::string type_id);
  // Attaches the custom field named `field_name` to project `short_name`,
  // as the admin API would; issues of the project show it once a value is
  // written. An error when either is unknown or it is attached already.
  Result<void> AttachCustomField(std::string_view short_name, std::string_view field_name);
  // The type id of the global custom field `name` (exact name), if any.
  std::optional<std::string> CustomFieldType(std::string_view name) const;
  // Whether project `short_name` has the custom field `field_name`.
  bool IsAttached(std::string_view short_name, std::string_view field_name) const;
  // The stored value of the custom field `field_name` on the issue (null when
  // empty); nullopt when the issue does not exist or does not carry it.
  std::optional<Value> FieldValue(std::string_view id, std::string_view field_name) const;

  // ---- Authentication ----

  // Replaces the primary token (the old one stops working).
  void SetToken(std::string token);
  // Another valid token, belonging to `login` (a sample user or a new one).
  void AddToken(std::string token, std::string login);
  // The token now gets 401.
  void RevokeToken(std::string_view token);
  void SetGuestAccess(bool enabled);

  // ---- Faults ----

  void InjectFault(Fault fault);
  void ClearFaults();
  std::size_t pending_faults() const;

  // ---- What clients sent ----

  std::uint64_t total_requests() const;
  // Requests to `api_path` ("/api/issues"), faulted ones included.
  std::size_t RequestCount(std::string_view api_path) const;
  std::vector<RecordedRequest> requests() const;
  // The most requests answered at once (hooks included, delays not) since
  // the start or ClearRequests().
  std::size_t max_concurrent_requests() const;
  // Calls `hook(n)` before answering the n-th request (1-based, counted
  // like RequestCount) to the issue list /api/issues, so a test can change
  // issues while a client pages. The hook runs on a server thread without
  // the tracker's lock: it may call any member but Stop(). That request
  // waits for it; other requests may be served meanwhile. Empty: none.
  void OnIssuesRequest(std::function<void(std::size_t n)> hook);
  // Passes the body of every issue list (/api/issues) through `rewrite`
  // before it is sent, so a test can put there what a Value cannot hold: a
  // lone surrogate escape, bytes that are not UTF-8. Empty: none.
  void RewriteIssueLists(std::function<void(std::string& body)> rewrite);
  // The latest request to `api_path` (empty: to any path).
  std::optional<RecordedRequest> LastRequest(std::string_view api_path = "") const;
  void ClearRequests();

 private:
  struct Record;
  struct Project;
  struct CustomField;
  struct ProjectField;

  HttpServerResponse Handle(const HttpServerRequest& request);
  HttpServerResponse Serve(const HttpServerRequest& request, std::string_view api_path);
  HttpServerResponse ServeIssues(const HttpServerRequest& request);
  HttpServerResponse ServeIssue(const HttpServerRequest& request, std::string_view id);
  HttpServerResponse ServeCount(const HttpServerRequest& request);
  HttpServerResponse ServeProjects(const HttpServerRequest& request);
  HttpServerResponse ServeMe(const HttpServerRequest& request, const Value* user);
  HttpServerResponse ServeProject(const HttpServerRequest& request, std::string_view id);
  HttpServerResponse ServeCustomFields(const HttpServerRequest& request, bool admin);
  HttpServerResponse ServeProjectFields(const HttpServerRequest& request, std::string_view id,
                                        bool admin);
  HttpServerResponse ServeWrite(const HttpServerRequest& request, std::string_view id);

  // The members below REQUIRE mu_ held.
  Result<std::string> AddIssueLocked(Value issue);
  std::size_t ProjectIndexLocked(const Value& project);
  std::optional<std::size_t> FindLocked(std::string_view id) const;
  std::optional<std::size_t> FindKeyLocked(std::uint64_t key) const;
  bool UpdateLocked(std::string_view id, const std::function<void(Value& issue)>& change,
                    bool stamp);
  Value MaterializeLocked(const Record& record) const;
  // Registers the custom fields `issue` carries as fields of project
  // `project` (and as global fields).
  void LearnFieldsLocked(const Value& issue, std::size_t project);
  // By exact name, then ignoring case; nullptr when there is none.
  const CustomField* FindCustomFieldLocked(std::string_view name) const;
  const CustomField* FindCustomFieldByIdLocked(std::string_view id) const;
  // By project entity id or short name.
  std::optional<std::size_t> FindProjectLocked(std::string_view id) const;
  Result<std::string> AddCustomFieldLocked(std::string name, std::string type_id);
  // Attaches `field` to the project; the new ProjectCustomField as the API
  // shows it. REQUIRES: the field is of a type the tracker attaches.
  Value AttachLocked(std::size_t project, const CustomField& field);
  Value CustomFieldValueLocked(const CustomField& field) const;
  Value ProjectFieldValueLocked(const ProjectField& field) const;
  // The project as /api/admin/projects shows it, its customFields included.
  Value ProjectValueLocked(const Project& project) const;
  bool ReindexLocked(Record& record, Value& issue, std::size_t old_project);
  // The issues matching `query`, in its order, from the `skip`-th match
  // on, at most `top` of them. With "sort by: updated" (or no sort) it
  // reads only as far as it takes, so a page costs the same at any size.
  Result<std::vector<const Record*>> MatchLocked(std::string_view query, std::int64_t skip,
                                                 std::int64_t top) const;

  SampleTrackerOptions options_;
  mutable std::mutex mu_;
  std::vector<Record> records_;  // sorted by entity id
  // (updated, entity id) of every record: the order of "sort by: updated",
  // with equal times in entity-id order.
  std::set<std::pair<std::int64_t, std::uint64_t>> by_updated_;
  std::vector<Project> projects_;
  std::vector<CustomField> custom_fields_;  // the global fields ("prototypes")
  std::uint64_t next_field_number_ = 1000;  // for the ids of fields made here
  std::set<std::string, std::less<>> admin_tokens_;
  std::vector<SyntheticIssueGenerator> generators_;
  std::uint64_t next_issue_number_ = 1;               // the N of the next "2-N"
  std::map<std::string, Value, std::less<>> tokens_;  // token -> user
  std::string primary_token_;
  bool guest_access_;
  std::vector<Fault> faults_;
  std::vector<RecordedRequest> log_;
  std::map<std::string, std::size_t, std::less<>> counts_;
  std::function<void(std::size_t)> issues_hook_;
  std::function<void(std::string&)> rewrite_issue_lists_;
  std::uint64_t total_requests_ = 0;
  std::size_t in_flight_ = 0;           // requests being answered now
  std::size_t max_in_flight_ = 0;       // the most at once
  std::unique_ptr<HttpServer> server_;  // last: stops before the state goes
};

}  // namespace boardsync

#include "tests/support/gitlab/gitlab_server.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <set>
#include <span>
#include <stdexcept>

#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"
#include "core/url.h"
#include "tests/support/http_test_client.h"

namespace boardsync {
namespace {

constexpr std::int64_t kFirstIssueId = 1001;
constexpr std::int64_t kFirstGroupId = 1000;
constexpr std::int64_t kFirstProjectId = 2000;
constexpr std::int64_t kFirstUserId = 100;
constexpr std::int64_t kFirstMilestoneId = 500;
constexpr std::int64_t kDefaultCreatedMs = 1'577'836'800'000;  // 2020-01-01T00:00:00Z
constexpr std::string_view kDefaultActor = "sync.bot";
constexpr std::string_view kRedacted = "[redacted]";

// ---- Small helpers ----

std::optional<std::int64_t> ParseInt(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string_view part =
        TrimSpace(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (!part.empty()) {
      out.emplace_back(part);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t slash = path.find('/', start);
    std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string LastSegment(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string ParentPath(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) {
    out.push_back(kBase64Url[(buffer << (6 - bits)) & 63]);
  }
  return out;
}

// URL-safe or standard alphabet, padding optional; nullopt for anything else.
std::optional<std::string> Base64Decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') {
    in.remove_suffix(1);
  }
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = -1;
    if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (auto pos = kBase64Url.find(c); pos != std::string_view::npos) {
      v = static_cast<int>(pos);
    }
    if (v < 0) {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// "Tue, 05 Mar 2024 10:00:00 GMT" (RFC 7231 IMF-fixdate).
std::string HttpDate(std::int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buffer, n);
}

// GitLab's time tracking text: "1w 2d 3h 30m", with 8-hour days and 5-day
// weeks; null for 0.
Value HumanDuration(std::int64_t seconds) {
  if (seconds <= 0) {
    return Value();
  }
  struct Unit {
    std::int64_t seconds;
    std::string_view suffix;
  };
  constexpr Unit kUnits[] = {
      {5 * 8 * 3600, "w"}, {8 * 3600, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  std::string out;
  for (const Unit& unit : kUnits) {
    std::int64_t n = seconds / unit.seconds;
    seconds %= unit.seconds;
    if (n > 0) {
      if (!out.empty()) {
        out.push_back(' ');
      }
      out += std::to_string(n) + std::string(unit.suffix);
    }
  }
  return Value(out);
}

// Markdown task list items: {count, completed_count}.
std::pair<int, int> CountTasks(const std::optional<std::string>& description) {
  int count = 0;
  int done = 0;
  if (!description) {
    return {0, 0};
  }
  std::string_view text = *description;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    std::string_view line =
        TrimSpace(text.substr(start, end == std::string_view::npos ? text.npos : end - start));
    for (std::string_view bullet : {"- ", "* ", "+ "}) {
      if (line.starts_with(bullet)) {
        std::string_view rest = line.substr(2);
        if (rest.starts_with("[ ]")) {
          ++count;
        } else if (rest.starts_with("[x]") || rest.starts_with("[X]")) {
          ++count;
          ++done;
        }
        break;
      }
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return {count, done};
}

HttpServerResponse Message(int status, std::string_view message) {
  return HttpServerResponse::Json(status, Value(Value::Object{{"message", message}}).ToJson());
}

HttpServerResponse GrapeError(int status, std::string_view error) {
  return HttpServerResponse::Json(status, Value(Value::Object{{"error", error}}).ToJson());
}

constexpr std::string_view kNotFoundPage =
    "<!DOCTYPE html>\n<html>\n<head>\n<meta content=\"width=device-width, initial-scale=1, "
    "maximum-scale=1\" name=\"viewport\">\n<title>The page you're looking for could not be found "
    "(404)</title>\n</head>\n<body>\n<h1>404</h1>\n<h3>The page could not be found or you don't "
    "have permission to view it.</h3>\n</body>\n</html>\n";

constexpr std::string_view kSignInPage =
    "<!DOCTYPE html>\n<html class=\"devise-layout-html\" lang=\"en\">\n<head>\n<title>Sign in "
    "&middot; GitLab</title>\n</head>\n<body class=\"login-page\">\n<form class=\"gl-show-field-"
    "errors\" action=\"/users/sign_in\" method=\"post\">\n<input name=\"user[login]\">\n<input "
    "name=\"user[password]\" type=\"password\">\n<button type=\"submit\">Sign in</button>\n"
    "</form>\n</body>\n</html>\n";

constexpr std::string_view kBadGatewayPage =
    "<!DOCTYPE html>\n<html>\n<head>\n<title>GitLab is not responding (502)</title>\n</head>\n"
    "<body>\n<h1>502</h1>\n<h3>Whoops, GitLab is taking too much time to respond.</h3>\n"
    "<p>Try refreshing the page, or going back and attempting the action again.</p>\n</body>\n"
    "</html>\n";

std::string AvatarUrl(std::string_view username) {
  return "https://www.gravatar.com/avatar/" + Fnv1a64Hex(username) + Fnv1a64Hex(username) +
         "?s=80&d=identicon";
}

void SetHeader(HttpServerHeaders& headers, std::string name, std::string value) {
  std::string lower = AsciiLower(name);
  std::erase_if(headers, [&](const auto& h) { return AsciiLower(h.first) == lower; });
  headers.emplace_back(std::move(name), std::move(value));
}

// A request's route under /api/v4, its segments percent-decoded.
struct Route {
  enum Kind {
    kUnknown,
    kUser,
    kVersion,
    kProject,
    kProjectIssues,
    kProjectIssue,
    kGroup,
    kGroupIssues,
    kTokenSelf,
  };
  Kind kind = kUnknown;
  std::string id;  // project or group: a number or a full path
  std::string iid;
};

Route ParseRoute(std::string_view api_path) {
  Route route;
  constexpr std::string_view kApi = "/api/v4/";
  if (!api_path.starts_with(kApi)) {
    return route;
  }
  std::vector<std::string> parts = SplitPath(api_path.substr(kApi.size()));
  for (std::string& part : parts) {
    part = PercentDecode(part);
  }
  if (parts.empty() ||
      std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
    return route;
  }
  const std::string& head = parts[0];
  if (parts.size() == 1 && head == "user") {
    route.kind = Route::kUser;
  } else if (parts.size() == 1 && head == "version") {
    route.kind = Route::kVersion;
  } else if (parts.size() == 2 && head == "personal_access_tokens" && parts[1] == "self") {
    route.kind = Route::kTokenSelf;
  } else if (head == "projects" && parts.size() >= 2) {
    route.id = parts[1];
    if (parts.size() == 2) {
      route.kind = Route::kProject;
    } else if (parts.size() == 3 && parts[2] == "issues") {
      route.kind = Route::kProjectIssues;
    } else if (parts.size() == 4 && parts[2] == "issues") {
      route.kind = Route::kProjectIssue;
      route.iid = parts[3];
    }
  } else if (head == "groups" && parts.size() >= 2) {
    route.id = parts[1];
    if (parts.size() == 2) {
      route.kind = Route::kGroup;
    } else if (parts.size() == 3 && parts[2] == "issues") {
      route.kind = Route::kGroupIssues;
    }
  }
  return route;
}

// The raw query with token values replaced.
std::string RedactTarget(std::string_view target) {
  auto question = target.find('?');
  if (question == std::string_view::npos) {
    return std::string(target);
  }
  std::string out(target.substr(0, question + 1));
  std::string_view query = target.substr(question + 1);
  std::size_t start = 0;
  bool first = true;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    std::string_view piece =
        query.substr(start, amp == std::string_view::npos ? query.npos : amp - start);
    std::string_view key = piece.substr(0, piece.find('='));
    std::string decoded = PercentDecode(key, true);
    if (!first) {
      out.push_back('&');
    }
    first = false;
    if (decoded == "private_token" || decoded == "access_token") {
      out += std::string(key) + "=" + std::string(kRedacted);
    } else {
      out += piece;
    }
    if (amp == std::string_view::npos) {
      break;
    }
    start = amp + 1;
  }
  return out;
}

}  // namespace

// ---- Tokens ----

std::vector<GitLabToken> GitLabSampleTokens() {
  return {
      GitLabToken{std::string(kGitLabToken), GitLabTokenKind::kPersonal, {"read_api"}, "sync.bot"},
      GitLabToken{
          std::string(kGitLabReadUserToken), GitLabTokenKind::kPersonal, {"read_user"}, "sync.bot"},
      GitLabToken{std::string(kGitLabApiToken), GitLabTokenKind::kPersonal, {"api"}, "sync.bot"},
      GitLabToken{std::string(kGitLabProjectToken),
                  GitLabTokenKind::kProjectAccess,
                  {"read_api"},
                  "project_101_bot_3f9c1a",
                  "acme/roadmap"},
      GitLabToken{std::string(kGitLabGroupToken),
                  GitLabTokenKind::kGroupAccess,
                  {"read_api"},
                  "group_10_bot_8e2d4b",
                  "acme"},
      GitLabToken{std::string(kGitLabOAuthToken), GitLabTokenKind::kOAuth, {"api"}, "sync.bot"},
  };
}

// ---- Faults ----

GitLabServer::Fault GitLabServer::Fault::Status(int status, std::string body,
                                                std::string content_type) {
  Fault fault;
  fault.status = status;
  fault.headers.emplace_back("Content-Type", std::move(content_type));
  fault.body = std::move(body);
  return fault;
}

GitLabServer::Fault GitLabServer::Fault::RateLimited(int reset_seconds, bool with_retry_after,
                                                     bool json, int limit) {
  Fault fault = json ? Status(429, R"({"message":"Retry later"})")
                     : Status(429, "Retry later\n", "text/plain");
  fault.headers.emplace_back("RateLimit-Name", "throttle_authenticated_api");
  fault.headers.emplace_back("RateLimit-Limit", std::to_string(limit));
  fault.headers.emplace_back("RateLimit-Observed", std::to_string(limit + 1));
  fault.headers.emplace_back("RateLimit-Remaining", "0");
  if (with_retry_after) {
    fault.headers.emplace_back("Retry-After", std::to_string(reset_seconds));
  }
  fault.rate_limit_reset_seconds = reset_seconds;
  return fault;
}

GitLabServer::Fault GitLabServer::Fault::ServerError() {
  return Status(500, R"({"message":"500 Internal Server Error"})");
}

GitLabServer::Fault GitLabServer::Fault::BadGateway() {
  return Status(502, std::string(kBadGatewayPage), "text/html; charset=utf-8");
}

GitLabServer::Fault GitLabServer::Fault::ServiceUnavailable(
    std::optional<int> retry_after_seconds) {
  Fault fault = Status(503,
                       "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>"
                       "\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1>"
                       "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                       "text/html");
  if (retry_after_seconds) {
    fault.headers.emplace_back("Retry-After", std::to_string(*retry_after_seconds));
  }
  return fault;
}

GitLabServer::Fault GitLabServer::Fault::HtmlLoginPage() {
  return Status(200, std::string(kSignInPage), "text/html; charset=utf-8");
}

GitLabServer::Fault GitLabServer::Fault::MalformedJson() {
  return Status(200, R"([{"id":1001,"iid":1,"project_id":101,"title":"Cut here",}{)");
}

GitLabServer::Fault GitLabServer::Fault::WrongShape() {
  return Status(200, R"({"id":"1001","iid":"one","title":["not", "a", "string"]})");
}

GitLabServer::Fault GitLabServer::Fault::WithHeaders(HttpServerHeaders headers) {
  Fault fault;
  fault.headers = std::move(headers);
  return fault;
}

GitLabServer::Fault GitLabServer::Fault::Truncated(std::size_t bytes) {
  Fault fault;
  fault.truncate_body_at = bytes;
  return fault;
}

GitLabServer::Fault GitLabServer::Fault::Delay(std::chrono::milliseconds delay) {
  Fault fault;
  fault.delay = delay;
  return fault;
}

GitLabServer::Fault GitLabServer::Fault::Hang() { return Delay(std::chrono::hours(1)); }

GitLabServer::Fault GitLabServer::Fault::Drop() {
  Fault fault;
  fault.drop_connection = true;
  return fault;
}

GitLabServer::Fault GitLabServer::Fault::On(std::string api_path) const {
  Fault fault = *this;
  fault.path = std::move(api_path);
  return fault;
}

GitLabServer::Fault GitLabServer::Fault::Times(int n) const {
  Fault fault = *this;
  fault.times = n;
  return fault;
}

// ---- State ----

struct GitLabServer::ResolvedToken {
  const GitLabToken* token = nullptr;
  std::int64_t user_id = 0;
};

struct GitLabServer::Query {
  std::string scope = "all";
  std::string state = "all";
  std::optional<std::vector<std::string>> labels;
  std::optional<std::int64_t> updated_after, updated_before, created_after, created_before;
  std::set<std::int64_t> iids;
  std::string order_by = "created_at";
  bool desc = true;
  std::int64_t per_page = 20;
  std::int64_t page = 1;
  bool non_archived = true;
  bool keyset = false;
  std::optional<std::string> cursor;
};

struct GitLabServer::State {
  struct Group {
    GitLabGroup data;
  };
  struct Project {
    GitLabProject data;
    std::int64_t next_iid = 1;
    std::int64_t next_milestone_iid = 1;
    std::int64_t created_ms = kDefaultCreatedMs;
  };
  struct Milestone {
    std::int64_t project_id = 0;
    GitLabMilestone data;
  };

  explicit State(GitLabServerOptions o) : options(std::move(o)) {}

  mutable std::mutex mu;
  GitLabServerOptions options;
  std::map<std::int64_t, GitLabUser> users;
  std::map<std::string, std::int64_t, std::less<>> user_ids;  // lower-case username
  std::map<std::int64_t, Group> groups;
  std::map<std::string, std::int64_t, std::less<>> group_ids;  // lower-case full path
  std::map<std::int64_t, Project> projects;
  std::map<std::string, std::int64_t, std::less<>> project_ids;  // lower-case full path
  std::map<std::int64_t, Milestone> milestones;
  std::map<std::int64_t, GitLabIssue> issues;  // not deleted
  std::set<std::int64_t> deleted;
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> iids;  // (project, iid) -> id
  std::int64_t next_issue_id = kFirstIssueId;
  std::int64_t next_group_id = kFirstGroupId;
  std::int64_t next_project_id = kFirstProjectId;
  std::int64_t next_user_id = kFirstUserId;
  std::int64_t next_milestone_id = kFirstMilestoneId;
  std::optional<std::int64_t> frozen_now;
  std::vector<GitLabToken> tokens;
  std::vector<Fault> faults;
  std::vector<RecordedRequest> log;
  std::map<std::string, std::size_t, std::less<>> counts;
  std::map<int, std::size_t> status_counts;
  std::size_t list_requests = 0;
  std::uint64_t total_requests = 0;
  std::function<void(std::size_t)> list_hook;
  std::string base_url;  // "http://127.0.0.1:port<prefix>", set once serving
  std::string root_url;  // "http://127.0.0.1:port"

  std::int64_t Now() const { return frozen_now ? *frozen_now : boardsync::NowMs(); }
  std::string External() const {
    return options.external_url.empty() ? base_url : options.external_url;
  }
  std::string ApiUrl() const { return External() + "/api/v4"; }

  const GitLabUser* FindUser(std::string_view username) const {
    auto it = user_ids.find(AsciiLower(username));
    return it == user_ids.end() ? nullptr : &users.at(it->second);
  }
  const GitLabUser* UserById(std::int64_t id) const {
    auto it = users.find(id);
    return it == users.end() ? nullptr : &it->second;
  }
  Project* FindProject(std::string_view path) {
    auto it = project_ids.find(AsciiLower(path));
    return it == project_ids.end() ? nullptr : &projects.at(it->second);
  }
  const Project* FindProject(std::string_view path) const {
    auto it = project_ids.find(AsciiLower(path));
    return it == project_ids.end() ? nullptr : &projects.at(it->second);
  }
  const Group* FindGroup(std::string_view path) const {
    auto it = group_ids.find(AsciiLower(path));
    return it == group_ids.end() ? nullptr : &groups.at(it->second);
  }

  Result<std::int64_t> AddUser(GitLabUser user) {
    if (user.username.empty()) {
      return Fail(ErrorCode::kConfig, "a user needs a username");
    }
    if (FindUser(user.username)) {
      return Fail(ErrorCode::kConfig, "duplicate username " + user.username);
    }
    if (user.id == 0) {
      while (users.contains(next_user_id)) {
        ++next_user_id;
      }
      user.id = next_user_id++;
    } else if (users.contains(user.id)) {
      return Fail(ErrorCode::kConfig, "duplicate user id " + std::to_string(user.id));
    }
    if (user.name.empty()) {
      user.name = user.username;
    }
    if (user.created_ms == 0) {
      user.created_ms = kDefaultCreatedMs;
    }
    std::int64_t id = user.id;
    user_ids[AsciiLower(user.username)] = id;
    users.emplace(id, std::move(user));
    return id;
  }

  // A made-up user for a name the world does not know yet.
  std::int64_t EnsureUser(std::string_view username, bool bot = false) {
    if (const GitLabUser* user = FindUser(username)) {
      return user->id;
    }
    GitLabUser user;
    user.username = std::string(username);
    user.name = std::string(username);
    user.email = std::string(username) + "@example.com";
    user.bot = bot;
    return *AddUser(std::move(user));
  }

  Result<std::int64_t> AddGroup(GitLabGroup group) {
    if (group.full_path.empty() || group.full_path.front() == '/' ||
        group.full_path.back() == '/') {
      return Fail(ErrorCode::kConfig, "a group needs a full path like acme/platform");
    }
    if (FindGroup(group.full_path) || FindProject(group.full_path)) {
      return Fail(ErrorCode::kConfig, "duplicate group path " + group.full_path);
    }
    if (group.id != 0 && groups.contains(group.id)) {
      return Fail(ErrorCode::kConfig, "duplicate group id " + std::to_string(group.id));
    }
    std::string parent = ParentPath(group.full_path);
    if (!parent.empty() && !FindGroup(parent)) {
      GitLabGroup ancestor;
      ancestor.full_path = parent;
      if (auto added = AddGroup(std::move(ancestor)); !added) {
        return added;
      }
    }
    if (group.id == 0) {
      while (groups.contains(next_group_id)) {
        ++next_group_id;
      }
      group.id = next_group_id++;
    }
    if (group.name.empty()) {
      group.name = LastSegment(group.full_path);
    }
    std::int64_t id = group.id;
    group_ids[AsciiLower(group.full_path)] = id;
    groups.emplace(id, Group{std::move(group)});
    return id;
  }

  Result<std::int64_t> AddProject(GitLabProject project) {
    std::string ns = ParentPath(project.path_with_namespace);
    if (ns.empty() || project.path_with_namespace.back() == '/') {
      return Fail(ErrorCode::kConfig, "a project needs a path like group/name");
    }
    if (FindProject(project.path_with_namespace) || FindGroup(project.path_with_namespace)) {
      return Fail(ErrorCode::kConfig, "duplicate project path " + project.path_with_namespace);
    }
    if (project.id != 0 && projects.contains(project.id)) {
      return Fail(ErrorCode::kConfig, "duplicate project id " + std::to_string(project.id));
    }
    bool personal = ns.find('/') == std::string::npos && FindUser(ns) && !FindGroup(ns);
    if (!personal && !FindGroup(ns)) {
      GitLabGroup group;
      group.full_path = ns;
      if (auto added = AddGroup(std::move(group)); !added) {
        return added;
      }
    }
    if (project.id == 0) {
      while (projects.contains(next_project_id)) {
        ++next_project_id;
      }
      project.id = next_project_id++;
    }
    if (project.name.empty()) {
      project.name = LastSegment(project.path_with_namespace);
    }
    std::int64_t id = project.id;
    project_ids[AsciiLower(project.path_with_namespace)] = id;
    Project record;
    record.data = std::move(project);
    projects.emplace(id, std::move(record));
    return id;
  }

  Result<std::int64_t> AddMilestone(Project& project, GitLabMilestone milestone) {
    for (const auto& [id, m] : milestones) {
      if (m.project_id == project.data.id && m.data.title == milestone.title) {
        return Fail(ErrorCode::kConfig, "duplicate milestone " + milestone.title);
      }
    }
    if (milestone.id == 0) {
      while (milestones.contains(next_milestone_id)) {
        ++next_milestone_id;
      }
      milestone.id = next_milestone_id++;
    } else if (milestones.contains(milestone.id)) {
      return Fail(ErrorCode::kConfig, "duplicate milestone id " + std::to_string(milestone.id));
    }
    if (milestone.iid == 0) {
      milestone.iid = project.next_milestone_iid;
    }
    project.next_milestone_iid = std::max(project.next_milestone_iid, milestone.iid + 1);
    if (milestone.created_ms == 0) {
      milestone.created_ms = Now();
    }
    if (milestone.updated_ms == 0) {
      milestone.updated_ms = milestone.created_ms;
    }
    std::int64_t id = milestone.id;
    milestones.emplace(id, Milestone{project.data.id, std::move(milestone)});
    return id;
  }

  const Milestone* FindMilestone(std::int64_t project_id, std::string_view title) const {
    for (const auto& [id, m] : milestones) {
      if (m.project_id == project_id && m.data.title == title) {
        return &m;
      }
    }
    return nullptr;
  }

  // Users and milestones an issue names, made when unknown.
  void EnsureReferences(const GitLabIssue& issue) {
    EnsureUser(issue.author);
    for (const std::string& name : issue.assignees) {
      EnsureUser(name);
    }
    if (issue.closed_by) {
      EnsureUser(*issue.closed_by);
    }
    if (issue.milestone) {
      Project* project = FindProject(issue.project);
      if (project && !FindMilestone(project->data.id, *issue.milestone)) {
        GitLabMilestone milestone;
        milestone.title = *issue.milestone;
        (void)AddMilestone(*project, std::move(milestone));
      }
    }
  }

  Result<GitLabIssueRef> AddIssue(GitLabIssue issue) {
    Project* project = FindProject(issue.project);
    if (project == nullptr) {
      return Fail(ErrorCode::kConfig, "unknown project " + issue.project);
    }
    issue.project = project->data.path_with_namespace;
    if (issue.id == 0) {
      while (issues.contains(next_issue_id) || deleted.contains(next_issue_id)) {
        ++next_issue_id;
      }
      issue.id = next_issue_id++;
    } else if (issues.contains(issue.id) || deleted.contains(issue.id)) {
      return Fail(ErrorCode::kConfig, "duplicate issue id " + std::to_string(issue.id));
    }
    if (issue.iid == 0) {
      issue.iid = project->next_iid;
    } else if (iids.contains({project->data.id, issue.iid})) {
      return Fail(ErrorCode::kConfig,
                  "duplicate iid " + std::to_string(issue.iid) + " in " + issue.project);
    }
    if (issue.state != "opened" && issue.state != "closed") {
      return Fail(ErrorCode::kConfig, "state must be opened or closed, not " + issue.state);
    }
    project->next_iid = std::max(project->next_iid, issue.iid + 1);
    if (issue.created_ms == 0) {
      issue.created_ms = Now();
    }
    if (issue.updated_ms == 0) {
      issue.updated_ms = issue.created_ms;
    }
    if (issue.state == "closed" && !issue.closed_ms) {
      issue.closed_ms = issue.updated_ms;
    }
    EnsureReferences(issue);
    GitLabIssueRef ref{issue.id, issue.iid, project->data.id};
    iids[{project->data.id, issue.iid}] = issue.id;
    issues.emplace(issue.id, std::move(issue));
    return ref;
  }

  bool Change(std::int64_t id, const std::function<void(GitLabIssue&)>& change, bool stamp) {
    auto it = issues.find(id);
    if (it == issues.end()) {
      return false;
    }
    GitLabIssue copy = it->second;
    change(copy);
    copy.id = it->second.id;
    copy.iid = it->second.iid;
    copy.project = it->second.project;
    if (stamp && copy.updated_ms == it->second.updated_ms) {
      copy.updated_ms = Now();
    }
    EnsureReferences(copy);
    it->second = std::move(copy);
    return true;
  }

  // ---- Who sees what ----

  bool IsMember(std::int64_t user_id, const std::vector<std::string>& members) const {
    const GitLabUser* user = UserById(user_id);
    if (user == nullptr) {
      return false;
    }
    return std::any_of(members.begin(), members.end(), [&](const std::string& m) {
      return AsciiLower(m) == AsciiLower(user->username);
    });
  }

  // Member of the group at `path` or of one of its ancestors.
  bool IsGroupMember(std::int64_t user_id, std::string path) const {
    while (!path.empty()) {
      if (const Group* group = FindGroup(path); group && IsMember(user_id, group->data.members)) {
        return true;
      }
      path = ParentPath(path);
    }
    return false;
  }

  static bool IsUnder(std::string_view path, std::string_view root) {
    return AsciiLower(path) == AsciiLower(root) ||
           (path.size() > root.size() && path[root.size()] == '/' &&
            AsciiLower(path.substr(0, root.size())) == AsciiLower(root));
  }

  bool CanSeeProject(const ResolvedToken& who, const Project& project) const {
    const GitLabToken& token = *who.token;
    const std::string& path = project.data.path_with_namespace;
    switch (token.kind) {
      case GitLabTokenKind::kProjectAccess:
        return AsciiLower(path) == AsciiLower(token.resource);
      case GitLabTokenKind::kGroupAccess:
        return IsUnder(path, token.resource);
      case GitLabTokenKind::kPersonal:
      case GitLabTokenKind::kOAuth:
        break;
    }
    const GitLabUser* user = UserById(who.user_id);
    if (user && user->username == "root") {
      return true;  // the administrator sees everything
    }
    if (project.data.is_public || IsMember(who.user_id, project.data.members)) {
      return true;
    }
    std::string ns = ParentPath(path);
    if (user && AsciiLower(ns) == AsciiLower(user->username) && !FindGroup(ns)) {
      return true;  // the user's own namespace
    }
    return IsGroupMember(who.user_id, ns);
  }

  bool CanSeeGroup(const ResolvedToken& who, const Group& group) const {
    const GitLabToken& token = *who.token;
    const std::string& path = group.data.full_path;
    switch (token.kind) {
      case GitLabTokenKind::kProjectAccess:
        // A project's bot sees the groups above its project.
        return IsUnder(token.resource, path) && AsciiLower(token.resource) != AsciiLower(path);
      case GitLabTokenKind::kGroupAccess:
        return IsUnder(path, token.resource);
      case GitLabTokenKind::kPersonal:
      case GitLabTokenKind::kOAuth:
        break;
    }
    const GitLabUser* user = UserById(who.user_id);
    if (user && user->username == "root") {
      return true;
    }
    if (group.data.is_public || IsGroupMember(who.user_id, path)) {
      return true;
    }
    // A member of a project or subgroup below sees the groups above it.
    for (const auto& [id, project] : projects) {
      if (IsUnder(project.data.path_with_namespace, path) &&
          IsMember(who.user_id, project.data.members)) {
        return true;
      }
    }
    for (const auto& [id, other] : groups) {
      if (IsUnder(other.data.full_path, path) && IsMember(who.user_id, other.data.members)) {
        return true;
      }
    }
    return false;
  }

  // ---- Rendering ----

  Value UserJson(std::int64_t user_id) const {
    const GitLabUser* user = UserById(user_id);
    if (user == nullptr) {
      return Value();
    }
    return Value(Value::Object{{"id", user->id},
                               {"username", user->username},
                               {"name", user->name},
                               {"state", user->state},
                               {"locked", user->state == "blocked"},
                               {"avatar_url", AvatarUrl(user->username)},
                               {"web_url", External() + "/" + user->username}});
  }
  Value UserJson(std::string_view username) const {
    const GitLabUser* user = FindUser(username);
    return user ? UserJson(user->id) : Value();
  }

  Value CurrentUserJson(std::int64_t user_id) const {
    Value value = UserJson(user_id);
    const GitLabUser& user = users.at(user_id);
    Value::Object& o = value.AsObject();
    o.emplace("created_at", FormatIsoUtc(user.created_ms));
    o.emplace("bio", user.bio);
    o.emplace("location", "");
    o.emplace("public_email", user.public_email);
    o.emplace("skype", "");
    o.emplace("linkedin", "");
    o.emplace("twitter", "");
    o.emplace("discord", "");
    o.emplace("website_url", "");
    o.emplace("organization", "");
    o.emplace("job_title", "");
    o.emplace("pronouns", Value());
    o.emplace("bot", user.bot);
    o.emplace("work_information", Value());
    o.emplace("local_time", Value());
    o.emplace("last_sign_in_at", FormatIsoUtc(user.created_ms));
    o.emplace("confirmed_at", FormatIsoUtc(user.created_ms));
    o.emplace("last_activity_on", FormatIsoDate(Now()));
    o.emplace("email", user.email);
    o.emplace("theme_id", 1);
    o.emplace("color_scheme_id", 1);
    o.emplace("projects_limit", 100000);
    o.emplace("current_sign_in_at", FormatIsoUtc(user.created_ms));
    o.emplace("identities", Value::List{});
    o.emplace("can_create_group", !user.bot);
    o.emplace("can_create_project", !user.bot);
    o.emplace("two_factor_enabled", false);
    o.emplace("external", false);
    o.emplace("private_profile", false);
    o.emplace("commit_email", user.email);
    if (user.username == "root") {
      o.emplace("is_admin", true);
    }
    return value;
  }

  Value GroupJson(const Group& group) const {
    const GitLabGroup& g = group.data;
    std::string parent = ParentPath(g.full_path);
    const Group* parent_group = parent.empty() ? nullptr : FindGroup(parent);
    std::string full_name = g.name;
    for (std::string p = parent; !p.empty(); p = ParentPath(p)) {
      if (const Group* ancestor = FindGroup(p)) {
        full_name = ancestor->data.name + " / " + full_name;
      }
    }
    return Value(Value::Object{
        {"id", g.id},
        {"web_url", External() + "/groups/" + g.full_path},
        {"name", g.name},
        {"path", LastSegment(g.full_path)},
        {"description", g.description},
        {"visibility", g.is_public ? "public" : "private"},
        {"full_name", full_name},
        {"full_path", g.full_path},
        {"parent_id", parent_group ? Value(parent_group->data.id) : Value()},
        {"avatar_url", Value()},
        {"created_at", FormatIsoUtc(kDefaultCreatedMs)},
        {"lfs_enabled", true},
        {"request_access_enabled", true},
        {"default_branch", Value()},
        {"organization_id", 1},
    });
  }

  Value NamespaceJson(const Project& project) const {
    std::string ns = ParentPath(project.data.path_with_namespace);
    if (const Group* group = FindGroup(ns)) {
      std::string parent = ParentPath(ns);
      const Group* parent_group = parent.empty() ? nullptr : FindGroup(parent);
      return Value(Value::Object{
          {"id", group->data.id},
          {"name", group->data.name},
          {"path", LastSegment(ns)},
          {"kind", "group"},
          {"full_path", group->data.full_path},
          {"parent_id", parent_group ? Value(parent_group->data.id) : Value()},
          {"avatar_url", Value()},
          {"web_url", External() + "/groups/" + group->data.full_path},
      });
    }
    const GitLabUser* user = FindUser(ns);
    return Value(Value::Object{
        {"id", user ? user->id + 100000 : 0},
        {"name", user ? user->name : ns},
        {"path", ns},
        {"kind", "user"},
        {"full_path", ns},
        {"parent_id", Value()},
        {"avatar_url", AvatarUrl(ns)},
        {"web_url", External() + "/" + ns},
    });
  }

  Value ProjectJson(const Project& project) const {
    const GitLabProject& p = project.data;
    std::int64_t open = 0;
    for (const auto& [id, issue] : issues) {
      if (issue.project == p.path_with_namespace && issue.state == "opened") {
        ++open;
      }
    }
    std::string name_with_namespace = p.name;
    for (std::string ns = ParentPath(p.path_with_namespace); !ns.empty(); ns = ParentPath(ns)) {
      const Group* group = FindGroup(ns);
      const GitLabUser* user = group ? nullptr : FindUser(ns);
      name_with_namespace = (group  ? group->data.name
                             : user ? user->name
                                    : LastSegment(ns)) +
                            " / " + name_with_namespace;
    }
    std::string web_url = External() + "/" + p.path_with_namespace;
    std::string api = ApiUrl() + "/projects/" + std::to_string(p.id);
    return Value(Value::Object{
        {"id", p.id},
        {"description", p.description},
        {"name", p.name},
        {"name_with_namespace", name_with_namespace},
        {"path", LastSegment(p.path_with_namespace)},
        {"path_with_namespace", p.path_with_namespace},
        {"created_at", FormatIsoUtc(project.created_ms)},
        {"default_branch", "main"},
        {"tag_list", Value::List{}},
        {"topics", Value::List{}},
        {"ssh_url_to_repo", "git@127.0.0.1:" + p.path_with_namespace + ".git"},
        {"http_url_to_repo", web_url + ".git"},
        {"web_url", web_url},
        {"readme_url", web_url + "/-/blob/main/README.md"},
        {"avatar_url", Value()},
        {"forks_count", 0},
        {"star_count", 0},
        {"last_activity_at", FormatIsoUtc(Now())},
        {"namespace", NamespaceJson(project)},
        {"_links", Value(Value::Object{{"self", api},
                                       {"issues", api + "/issues"},
                                       {"merge_requests", api + "/merge_requests"},
                                       {"repo_branches", api + "/repository/branches"},
                                       {"labels", api + "/labels"},
                                       {"events", api + "/events"},
                                       {"members", api + "/members"},
                                       {"cluster_agents", api + "/cluster_agents"}})},
        {"archived", p.archived},
        {"visibility", p.is_public ? "public" : "private"},
        {"issues_enabled", true},
        {"open_issues_count", open},
        {"issues_access_level", "enabled"},
        {"empty_repo", false},
    });
  }

  Value MilestoneJson(const Milestone& milestone) const {
    const GitLabMilestone& m = milestone.data;
    const Project& project = projects.at(milestone.project_id);
    bool expired = m.due_date && ParseIsoUtc(*m.due_date) && *ParseIsoUtc(*m.due_date) < Now();
    return Value(Value::Object{
        {"id", m.id},
        {"iid", m.iid},
        {"project_id", milestone.project_id},
        {"title", m.title},
        {"description", m.description},
        {"state", m.state},
        {"created_at", FormatIsoUtc(m.created_ms)},
        {"updated_at", FormatIsoUtc(m.updated_ms)},
        {"due_date", m.due_date ? Value(*m.due_date) : Value()},
        {"start_date", m.start_date ? Value(*m.start_date) : Value()},
        {"expired", expired},
        {"web_url", External() + "/" + project.data.path_with_namespace + "/-/milestones/" +
                        std::to_string(m.iid)},
    });
  }

  // `group_path`: the group a group list was asked for (references.relative
  // is written from it); empty for project lists and GET.
  Value IssueJson(const GitLabIssue& issue, std::string_view group_path) const {
    const Project& project = *FindProject(issue.project);
    const std::string& path = project.data.path_with_namespace;
    std::string iid = std::to_string(issue.iid);
    std::string api = ApiUrl() + "/projects/" + std::to_string(project.data.id) + "/issues/" + iid;

    Value::List labels;
    for (const std::string& label : issue.labels) {
      labels.emplace_back(label);
    }
    Value::List assignees;
    for (const std::string& name : issue.assignees) {
      assignees.push_back(UserJson(name));
    }
    Value milestone;
    if (issue.milestone) {
      if (const Milestone* m = FindMilestone(project.data.id, *issue.milestone)) {
        milestone = MilestoneJson(*m);
      }
    }
    std::string relative = "#" + iid;
    if (!group_path.empty()) {
      relative = path.substr(group_path.size() + 1) + "#" + iid;
    }
    auto [task_count, tasks_done] = CountTasks(issue.description);

    Value::Object o{
        {"id", issue.id},
        {"iid", issue.iid},
        {"project_id", project.data.id},
        {"title", issue.title},
        {"description", issue.description ? Value(*issue.description) : Value()},
        {"state", issue.state},
        {"created_at", FormatIsoUtc(issue.created_ms)},
        {"updated_at", FormatIsoUtc(issue.updated_ms)},
        {"closed_at", issue.closed_ms ? Value(FormatIsoUtc(*issue.closed_ms)) : Value()},
        {"closed_by", issue.closed_by ? UserJson(*issue.closed_by) : Value()},
        {"labels", Value(std::move(labels))},
        {"milestone", milestone},
        {"assignee", assignees.empty() ? Value() : assignees.front()},
        {"assignees", Value(assignees)},
        {"author", UserJson(issue.author)},
        {"type", "ISSUE"},
        {"issue_type", "issue"},
        {"user_notes_count", issue.user_notes_count},
        {"merge_requests_count", issue.merge_requests_count},
        {"upvotes", issue.upvotes},
        {"downvotes", issue.downvotes},
        {"due_date", issue.due_date ? Value(*issue.due_date) : Value()},
        {"confidential", issue.confidential},
        {"discussion_locked", issue.discussion_locked},
        {"web_url", External() + "/" + path + "/-/issues/" + iid},
        {"time_stats",
         Value(Value::Object{
             {"time_estimate", issue.time_estimate_seconds},
             {"total_time_spent", issue.total_time_spent_seconds},
             {"human_time_estimate", HumanDuration(issue.time_estimate_seconds)},
             {"human_total_time_spent", HumanDuration(issue.total_time_spent_seconds)}})},
        {"task_completion_status",
         Value(Value::Object{{"count", task_count}, {"completed_count", tasks_done}})},
        {"has_tasks", task_count > 0},
        {"task_status", std::to_string(tasks_done) + " of " + std::to_string(task_count) +
                            " checklist item" + (task_count == 1 ? "" : "s") + " completed"},
        {"_links",
         Value(Value::Object{{"self", api},
                             {"notes", api + "/notes"},
                             {"award_emoji", api + "/award_emoji"},
                             {"project", ApiUrl() + "/projects/" + std::to_string(project.data.id)},
                             {"closed_as_duplicate_of", Value()}})},
        {"references",
         Value(Value::Object{
             {"short", "#" + iid}, {"relative", relative}, {"full", path + "#" + iid}})},
        {"severity", "UNKNOWN"},
        {"moved_to_id", issue.moved_to_id ? Value(*issue.moved_to_id) : Value()},
        {"service_desk_reply_to", Value()},
        {"imported", false},
        {"imported_from", "none"},
    };
    if (options.paid_tier) {
      o.emplace("weight", issue.weight ? Value(*issue.weight) : Value());
      o.emplace("epic_iid", Value());
      o.emplace("epic", Value());
      o.emplace("iteration", Value());
      o.emplace("health_status", Value());
      o.emplace("blocking_issues_count", 0);
    }
    for (const auto& [key, value] : issue.raw_fields) {
      o.insert_or_assign(key, value);
    }
    return Value(std::move(o));
  }

  // ---- Serving (mu held) ----

  HttpServerResponse Serve(const HttpServerRequest& request, const Route& route, bool in_api);
  // The token the request carries, or the 401 to answer.
  std::optional<HttpServerResponse> Authenticate(const HttpServerRequest& request,
                                                 ResolvedToken& who) const;
  const Project* ResolveProject(std::string_view id, const ResolvedToken& who) const;
  const Group* ResolveGroup(std::string_view id, const ResolvedToken& who) const;
  HttpServerResponse ServeList(const HttpServerRequest& request, const ResolvedToken& who,
                               const Project* project, const Group* group) const;
};

// ---- Construction ----

GitLabServer::GitLabServer(GitLabServerOptions options) : options_(std::move(options)) {
  std::string& prefix = options_.path_prefix;
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.pop_back();
  }
  if (!prefix.empty() && prefix.front() != '/') {
    prefix.insert(prefix.begin(), '/');
  }
  while (!options_.external_url.empty() && options_.external_url.back() == '/') {
    options_.external_url.pop_back();
  }
  if (options_.version.empty()) {
    options_.version = options_.keyset_pagination ? "18.5.1-ee" : "18.2.4-ee";
  }
  if (options_.default_per_page < 1) {
    options_.default_per_page = 20;
  }
  if (options_.max_per_page < 1) {
    options_.max_per_page = 100;
  }
  state_ = std::make_unique<State>(options_);
  State& s = *state_;
  s.frozen_now = options_.now_ms;
  if (options_.sample_world) {
    struct SampleUser {
      std::int64_t id;
      std::string_view username, name, email, public_email, bio;
    };
    constexpr SampleUser kUsers[] = {
        {1, "root", "Administrator", "admin@example.com", "", ""},
        {24, "sync.bot", "Sync Bot", "sync.bot@example.com", "", "Keeps the board in sync."},
        {31, "alice", "Alice Example", "alice@example.com", "alice@example.com", ""},
        {32, "bob", "Bob Builder", "bob@example.com", "", ""},
        {33, "zoe", "Zoë Ångström", "zoe@example.com", "", ""},
    };
    for (const SampleUser& u : kUsers) {
      GitLabUser user;
      user.id = u.id;
      user.username = std::string(u.username);
      user.name = std::string(u.name);
      user.email = std::string(u.email);
      user.public_email = std::string(u.public_email);
      user.bio = std::string(u.bio);
      (void)s.AddUser(std::move(user));
    }
    (void)s.AddGroup(
        GitLabGroup{10, "acme", "Acme", "Acme Corp.", false, {"sync.bot", "alice", "bob"}});
    (void)s.AddGroup(GitLabGroup{11, "acme/platform", "Platform", "", false, {}});
    (void)s.AddGroup(GitLabGroup{20, "secret", "Secret", "", false, {"root"}});
    (void)s.AddProject(
        GitLabProject{101, "acme/roadmap", "Roadmap", "What comes next.", false, false, {}});
    (void)s.AddProject(GitLabProject{102, "acme/platform/api", "API", "", false, false, {}});
    (void)s.AddProject(GitLabProject{201, "secret/vault", "Vault", "", false, false, {}});
  }
  for (GitLabToken& token : options_.tokens) {
    s.EnsureUser(token.username, token.kind == GitLabTokenKind::kProjectAccess ||
                                     token.kind == GitLabTokenKind::kGroupAccess);
    s.tokens.push_back(token);
  }
  server_ = std::make_unique<HttpServer>(
      [this](const HttpServerRequest& request) { return Handle(request); }, options_.port);
  std::lock_guard lock(s.mu);
  s.root_url = server_->base_url();
  s.base_url = s.root_url + options_.path_prefix;
}

GitLabServer::~GitLabServer() { server_->Stop(); }

std::string GitLabServer::base_url() const { return server_->base_url() + options_.path_prefix; }

std::string GitLabServer::api_url() const { return base_url() + "/api/v4"; }

std::string GitLabServer::FormatTime(std::int64_t epoch_ms) { return FormatIsoUtc(epoch_ms); }

// ---- World ----

Result<std::int64_t> GitLabServer::AddUser(GitLabUser user) {
  std::lock_guard lock(state_->mu);
  return state_->AddUser(std::move(user));
}

Result<std::int64_t> GitLabServer::AddGroup(GitLabGroup group) {
  std::lock_guard lock(state_->mu);
  return state_->AddGroup(std::move(group));
}

Result<std::int64_t> GitLabServer::AddProject(GitLabProject project) {
  std::lock_guard lock(state_->mu);
  return state_->AddProject(std::move(project));
}

Result<std::int64_t> GitLabServer::AddMilestone(std::string_view project,
                                                GitLabMilestone milestone) {
  std::lock_guard lock(state_->mu);
  State::Project* p = state_->FindProject(project);
  if (p == nullptr) {
    return Fail(ErrorCode::kConfig, "unknown project " + std::string(project));
  }
  return state_->AddMilestone(*p, std::move(milestone));
}

bool GitLabServer::SetProjectArchived(std::string_view project, bool archived) {
  std::lock_guard lock(state_->mu);
  State::Project* p = state_->FindProject(project);
  if (p == nullptr) {
    return false;
  }
  p->data.archived = archived;
  return true;
}

std::optional<std::int64_t> GitLabServer::ProjectId(std::string_view full_path) const {
  std::lock_guard lock(state_->mu);
  const State::Project* p = state_->FindProject(full_path);
  return p ? std::optional(p->data.id) : std::nullopt;
}

std::optional<std::int64_t> GitLabServer::GroupId(std::string_view full_path) const {
  std::lock_guard lock(state_->mu);
  const State::Group* g = state_->FindGroup(full_path);
  return g ? std::optional(g->data.id) : std::nullopt;
}

std::optional<std::int64_t> GitLabServer::UserId(std::string_view username) const {
  std::lock_guard lock(state_->mu);
  const GitLabUser* u = state_->FindUser(username);
  return u ? std::optional(u->id) : std::nullopt;
}

// ---- Issues ----

Result<GitLabIssueRef> GitLabServer::AddIssue(GitLabIssue issue) {
  std::lock_guard lock(state_->mu);
  return state_->AddIssue(std::move(issue));
}

bool GitLabServer::UpdateIssue(std::int64_t id, const std::function<void(GitLabIssue&)>& change) {
  std::lock_guard lock(state_->mu);
  return state_->Change(id, change, /*stamp=*/true);
}

bool GitLabServer::EditIssueInPlace(std::int64_t id,
                                    const std::function<void(GitLabIssue&)>& change) {
  std::lock_guard lock(state_->mu);
  return state_->Change(id, change, /*stamp=*/false);
}

bool GitLabServer::CloseIssue(std::int64_t id, std::string_view by) {
  std::lock_guard lock(state_->mu);
  auto it = state_->issues.find(id);
  if (it == state_->issues.end() || it->second.state != "opened") {
    return false;
  }
  std::string actor(by.empty() ? kDefaultActor : by);
  std::int64_t now = state_->Now();
  return state_->Change(
      id,
      [&](GitLabIssue& issue) {
        issue.state = "closed";
        issue.closed_ms = now;
        issue.closed_by = actor;
        issue.updated_ms = now;
      },
      /*stamp=*/false);
}

bool GitLabServer::ReopenIssue(std::int64_t id) {
  std::lock_guard lock(state_->mu);
  auto it = state_->issues.find(id);
  if (it == state_->issues.end() || it->second.state != "closed") {
    return false;
  }
  std::int64_t now = state_->Now();
  return state_->Change(
      id,
      [&](GitLabIssue& issue) {
        issue.state = "opened";
        issue.closed_ms.reset();
        issue.closed_by.reset();
        issue.updated_ms = now;
      },
      /*stamp=*/false);
}

bool GitLabServer::DeleteIssue(std::int64_t id) {
  std::lock_guard lock(state_->mu);
  auto it = state_->issues.find(id);
  if (it == state_->issues.end()) {
    return false;
  }
  state_->deleted.insert(id);
  state_->issues.erase(it);
  return true;
}

std::optional<GitLabIssueRef> GitLabServer::MoveIssue(std::int64_t id, std::string_view to_project,
                                                      std::string_view by) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  auto it = s.issues.find(id);
  State::Project* target = s.FindProject(to_project);
  if (it == s.issues.end() || target == nullptr || it->second.moved_to_id) {
    return std::nullopt;
  }
  std::int64_t now = s.Now();
  GitLabIssue copy = it->second;
  copy.id = 0;
  copy.iid = 0;
  copy.project = target->data.path_with_namespace;
  copy.milestone.reset();
  copy.state = "opened";
  copy.closed_ms.reset();
  copy.closed_by.reset();
  copy.created_ms = now;
  copy.updated_ms = now;
  copy.user_notes_count = 0;
  copy.raw_fields = {};
  auto added = s.AddIssue(std::move(copy));
  if (!added) {
    return std::nullopt;
  }
  GitLabIssue& old = s.issues.at(id);
  if (old.state == "opened") {
    old.state = "closed";
    old.closed_ms = now;
    old.closed_by = std::string(by.empty() ? kDefaultActor : by);
    s.EnsureUser(*old.closed_by);
  }
  old.moved_to_id = added->id;
  old.updated_ms = now;
  return *added;
}

std::optional<GitLabIssue> GitLabServer::GetIssue(std::int64_t id) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->issues.find(id);
  return it == state_->issues.end() ? std::nullopt : std::optional(it->second);
}

std::optional<GitLabIssue> GitLabServer::FindIssue(std::string_view project,
                                                   std::int64_t iid) const {
  std::lock_guard lock(state_->mu);
  const State::Project* p = state_->FindProject(project);
  if (p == nullptr) {
    return std::nullopt;
  }
  auto it = state_->iids.find({p->data.id, iid});
  if (it == state_->iids.end()) {
    return std::nullopt;
  }
  auto issue = state_->issues.find(it->second);
  return issue == state_->issues.end() ? std::nullopt : std::optional(issue->second);
}

std::vector<GitLabIssue> GitLabServer::Issues() const {
  std::lock_guard lock(state_->mu);
  std::vector<GitLabIssue> out;
  for (const auto& [id, issue] : state_->issues) {
    out.push_back(issue);
  }
  return out;
}

std::size_t GitLabServer::issue_count() const {
  std::lock_guard lock(state_->mu);
  return state_->issues.size();
}

// ---- Clock and behaviour ----

std::int64_t GitLabServer::NowMs() const {
  std::lock_guard lock(state_->mu);
  return state_->Now();
}

void GitLabServer::SetNow(std::int64_t epoch_ms) {
  std::lock_guard lock(state_->mu);
  state_->frozen_now = epoch_ms;
}

void GitLabServer::AdvanceClock(std::chrono::milliseconds by) {
  std::lock_guard lock(state_->mu);
  state_->frozen_now = state_->Now() + by.count();
}

void GitLabServer::SetKeysetPagination(bool offered) {
  std::lock_guard lock(state_->mu);
  state_->options.keyset_pagination = offered;
}

void GitLabServer::SetMaxOffset(std::optional<std::int64_t> max_offset) {
  std::lock_guard lock(state_->mu);
  state_->options.max_offset = max_offset;
}

void GitLabServer::SetPaidTier(bool paid) {
  std::lock_guard lock(state_->mu);
  state_->options.paid_tier = paid;
}

// ---- Tokens ----

void GitLabServer::AddToken(GitLabToken token) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  s.EnsureUser(token.username, token.kind == GitLabTokenKind::kProjectAccess ||
                                   token.kind == GitLabTokenKind::kGroupAccess);
  std::erase_if(s.tokens, [&](const GitLabToken& t) { return t.value == token.value; });
  s.tokens.push_back(std::move(token));
}

bool GitLabServer::RevokeToken(std::string_view value) {
  std::lock_guard lock(state_->mu);
  for (GitLabToken& token : state_->tokens) {
    if (token.value == value) {
      token.revoked = true;
      return true;
    }
  }
  return false;
}

bool GitLabServer::ExpireToken(std::string_view value) {
  std::lock_guard lock(state_->mu);
  for (GitLabToken& token : state_->tokens) {
    if (token.value == value) {
      token.expired = true;
      return true;
    }
  }
  return false;
}

bool GitLabServer::RemoveToken(std::string_view value) {
  std::lock_guard lock(state_->mu);
  return std::erase_if(state_->tokens, [&](const GitLabToken& t) { return t.value == value; }) > 0;
}

// ---- Faults and the log ----

void GitLabServer::InjectFault(Fault fault) {
  std::lock_guard lock(state_->mu);
  if (fault.times > 0) {
    state_->faults.push_back(std::move(fault));
  }
}

void GitLabServer::ClearFaults() {
  std::lock_guard lock(state_->mu);
  state_->faults.clear();
}

std::size_t GitLabServer::pending_faults() const {
  std::lock_guard lock(state_->mu);
  return state_->faults.size();
}

std::uint64_t GitLabServer::total_requests() const {
  std::lock_guard lock(state_->mu);
  return state_->total_requests;
}

std::size_t GitLabServer::RequestCount(std::string_view api_path) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->counts.find(api_path);
  return it == state_->counts.end() ? 0 : it->second;
}

std::size_t GitLabServer::list_requests() const {
  std::lock_guard lock(state_->mu);
  return state_->list_requests;
}

std::size_t GitLabServer::StatusCount(int status) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->status_counts.find(status);
  return it == state_->status_counts.end() ? 0 : it->second;
}

std::vector<GitLabServer::RecordedRequest> GitLabServer::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->log;
}

std::optional<GitLabServer::RecordedRequest> GitLabServer::LastRequest(
    std::string_view api_path) const {
  std::lock_guard lock(state_->mu);
  for (auto it = state_->log.rbegin(); it != state_->log.rend(); ++it) {
    if (api_path.empty() || it->api_path == api_path) {
      return *it;
    }
  }
  return std::nullopt;
}

void GitLabServer::ClearRequests() {
  std::lock_guard lock(state_->mu);
  state_->log.clear();
  state_->counts.clear();
  state_->status_counts.clear();
  state_->list_requests = 0;
  state_->total_requests = 0;
}

void GitLabServer::OnListRequest(std::function<void(std::size_t n)> hook) {
  std::lock_guard lock(state_->mu);
  state_->list_hook = std::move(hook);
}

// ---- Serving ----

HttpServerResponse GitLabServer::Handle(const HttpServerRequest& request) {
  State& s = *state_;
  const std::string& prefix = options_.path_prefix;
  std::string_view target = request.target;
  std::string_view raw_path = target.substr(0, target.find('?'));
  bool under_prefix = raw_path.starts_with(prefix) &&
                      (raw_path.size() == prefix.size() || raw_path[prefix.size()] == '/');
  std::string api_path(under_prefix ? raw_path.substr(prefix.size()) : raw_path);
  Route route = under_prefix ? ParseRoute(api_path) : Route{};
  bool list = route.kind == Route::kProjectIssues || route.kind == Route::kGroupIssues;

  RecordedRequest record;
  record.method = request.method;
  record.target = RedactTarget(target);
  record.api_path = api_path;
  record.issue_list = list;
  for (const auto& [key, value] : request.query) {
    bool secret = key == "private_token" || key == "access_token";
    record.query.emplace_back(key, secret ? std::string(kRedacted) : value);
  }
  for (const auto& [name, value] : request.headers) {
    bool secret = name == "authorization" || name == "private-token";
    std::string shown = value;
    if (name == "authorization") {
      auto space = value.find(' ');
      shown = (space == std::string::npos ? std::string() : value.substr(0, space + 1)) +
              std::string(kRedacted);
    } else if (secret) {
      shown = std::string(kRedacted);
    }
    record.headers.emplace_back(name, shown);
  }
  if (auto auth = request.Header("authorization");
      auth && AsciiLower(auth->substr(0, 7)) == "bearer ") {
    record.auth = AuthMethod::kBearer;
  } else if (request.Header("private-token")) {
    record.auth = AuthMethod::kPrivateTokenHeader;
  } else if (request.Param("private_token")) {
    record.auth = AuthMethod::kPrivateTokenParam;
  } else if (request.Param("access_token")) {
    record.auth = AuthMethod::kAccessTokenParam;
  }

  std::optional<Fault> fault;
  std::function<void(std::size_t)> hook;
  std::size_t list_number = 0;
  {
    std::lock_guard lock(s.mu);
    ++s.total_requests;
    ++s.counts[api_path];
    if (list) {
      list_number = ++s.list_requests;
      hook = s.list_hook;
    }
    auto matches = [&](const Fault& f) {
      if (f.path.empty()) {
        return list;
      }
      if (f.path == "*") {
        return true;
      }
      if (!api_path.starts_with(f.path)) {
        return false;
      }
      return f.path.back() == '/' || api_path.size() == f.path.size() ||
             api_path[f.path.size()] == '/';
    };
    for (auto it = s.faults.begin(); it != s.faults.end(); ++it) {
      if (matches(*it)) {
        fault = *it;
        if (--it->times <= 0) {
          s.faults.erase(it);
        }
        break;
      }
    }
  }

  // Outside the lock: the hook changes issues through the public members.
  if (hook) {
    hook(list_number);
  }

  HttpServerResponse response;
  if (fault && fault->status) {
    response.status = *fault->status;
    response.headers = fault->headers;
    response.body = fault->body;
    if (fault->rate_limit_reset_seconds) {
      std::int64_t reset = boardsync::NowMs() / 1000 + *fault->rate_limit_reset_seconds;
      response.headers.emplace_back("RateLimit-Reset", std::to_string(reset));
      response.headers.emplace_back("RateLimit-ResetTime", HttpDate(reset));
    }
  } else {
    std::lock_guard lock(s.mu);
    response = s.Serve(request, route, under_prefix && api_path.starts_with("/api/v4/"));
    if (fault) {
      for (const auto& [name, value] : fault->headers) {
        SetHeader(response.headers, name, value);
      }
    }
  }
  if (fault) {
    response.delay = fault->delay;
    response.drop_connection = fault->drop_connection;
    response.truncate_body_at = fault->truncate_body_at;
  }

  record.status = response.drop_connection ? 0 : response.status;
  record.faulted = fault.has_value();
  std::lock_guard lock(s.mu);
  ++s.status_counts[record.status];
  s.log.push_back(std::move(record));
  return response;
}

// ---- Serving ----

namespace {

HttpServerResponse JsonAnswer(int status, const Value& value) {
  HttpServerResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = value.ToJson();
  return response;
}

HttpServerResponse InsufficientScope(std::string_view scopes) {
  constexpr std::string_view kDescription =
      "The request requires higher privileges than provided by the access token.";
  HttpServerResponse response =
      JsonAnswer(403, Value(Value::Object{{"error", "insufficient_scope"},
                                          {"error_description", kDescription},
                                          {"scope", scopes}}));
  response.headers.emplace_back("WWW-Authenticate",
                                "Bearer realm=\"GitLab\", error=\"insufficient_scope\", "
                                "error_description=\"" +
                                    std::string(kDescription) + "\", scope=\"" +
                                    std::string(scopes) + "\"");
  return response;
}

bool HasScope(const GitLabToken& token, std::initializer_list<std::string_view> any) {
  for (const std::string& scope : token.scopes) {
    for (std::string_view wanted : any) {
      if (scope == wanted) {
        return true;
      }
    }
  }
  return false;
}

bool IsKeysetOrder(std::string_view order_by) {
  return order_by == "updated_at" || order_by == "created_at" || order_by == "id";
}

std::int64_t OrderValue(const GitLabIssue& issue, std::string_view order_by) {
  if (order_by == "updated_at") {
    return issue.updated_ms;
  }
  if (order_by == "id") {
    return issue.id;
  }
  return issue.created_ms;
}

std::string MakeCursor(const GitLabIssue& issue, std::string_view order_by) {
  Value::Object o{{"id", std::to_string(issue.id)}, {"_kd", "n"}};
  if (order_by != "id") {
    o.emplace(order_by, FormatIsoUtc(OrderValue(issue, order_by)));
  }
  return Base64UrlEncode(Value(std::move(o)).ToJson());
}

// The (order value, id) a cursor continues after; nullopt when garbled or
// made for another order.
std::optional<std::pair<std::int64_t, std::int64_t>> ReadCursor(std::string_view cursor,
                                                                std::string_view order_by) {
  auto text = Base64Decode(cursor);
  if (!text) {
    return std::nullopt;
  }
  auto parsed = ParseJson(*text);
  if (!parsed || !parsed->IsObject()) {
    return std::nullopt;
  }
  const Value* id = parsed->Find("id");
  if (id == nullptr || !id->IsString()) {
    return std::nullopt;
  }
  auto id_number = ParseInt(id->AsString());
  if (!id_number) {
    return std::nullopt;
  }
  if (order_by == "id") {
    if (parsed->AsObject().size() != 2) {  // id and _kd only
      return std::nullopt;
    }
    return std::pair{*id_number, *id_number};
  }
  const Value* value = parsed->Find(order_by);
  if (value == nullptr || !value->IsString()) {
    return std::nullopt;
  }
  auto ms = ParseIsoUtc(value->AsString());
  if (!ms) {
    return std::nullopt;
  }
  return std::pair{*ms, *id_number};
}

}  // namespace

std::optional<HttpServerResponse> GitLabServer::State::Authenticate(
    const HttpServerRequest& request, ResolvedToken& who) const {
  std::optional<std::string> value;
  if (auto header = request.Header("authorization")) {
    std::string_view text = *header;
    auto space = text.find(' ');
    if (space != std::string_view::npos && AsciiLower(text.substr(0, space)) == "bearer") {
      value = std::string(TrimSpace(text.substr(space + 1)));
    }
  }
  if (!value) {
    if (auto header = request.Header("private-token")) {
      value = std::string(TrimSpace(*header));
    } else if (auto param = request.Param("private_token")) {
      value = std::string(*param);
    } else if (auto param2 = request.Param("access_token")) {
      value = std::string(*param2);
    }
  }
  if (value && !value->empty()) {
    for (const GitLabToken& token : tokens) {
      if (token.value != *value) {
        continue;
      }
      if (token.revoked || token.expired) {
        std::string description =
            token.revoked ? "Token was revoked. You have to re-authorize from the user profile."
                          : "Token has expired.";
        HttpServerResponse response = JsonAnswer(
            401,
            Value(Value::Object{{"error", "invalid_token"}, {"error_description", description}}));
        response.headers.emplace_back("WWW-Authenticate",
                                      "Bearer realm=\"GitLab\", error=\"invalid_token\", "
                                      "error_description=\"" +
                                          description + "\"");
        return response;
      }
      const GitLabUser* user = FindUser(token.username);
      if (user == nullptr) {
        break;
      }
      if (user->state == "blocked") {
        return Message(403, "403 Forbidden - Your account has been blocked.");
      }
      who.token = &token;
      who.user_id = user->id;
      return std::nullopt;
    }
  }
  return Message(401, "401 Unauthorized");
}

const GitLabServer::State::Project* GitLabServer::State::ResolveProject(
    std::string_view id, const ResolvedToken& who) const {
  const Project* project = nullptr;
  if (auto number = ParseInt(id)) {
    auto it = projects.find(*number);
    project = it == projects.end() ? nullptr : &it->second;
  } else {
    project = FindProject(id);
  }
  return project && CanSeeProject(who, *project) ? project : nullptr;
}

const GitLabServer::State::Group* GitLabServer::State::ResolveGroup(
    std::string_view id, const ResolvedToken& who) const {
  const Group* group = nullptr;
  if (auto number = ParseInt(id)) {
    auto it = groups.find(*number);
    group = it == groups.end() ? nullptr : &it->second;
  } else {
    group = FindGroup(id);
  }
  return group && CanSeeGroup(who, *group) ? group : nullptr;
}

HttpServerResponse GitLabServer::State::Serve(const HttpServerRequest& request, const Route& route,
                                              bool in_api) {
  if (!in_api) {
    return HttpServerResponse::Text(404, std::string(kNotFoundPage), "text/html; charset=utf-8");
  }
  if (route.kind == Route::kUnknown) {
    return GrapeError(404, "404 Not Found");
  }
  if (request.method != "GET") {
    return Message(405, "405 Method Not Allowed");
  }
  ResolvedToken who;
  if (auto refused = Authenticate(request, who)) {
    return *refused;
  }
  const GitLabToken& token = *who.token;
  if (route.kind == Route::kTokenSelf) {
    Value::List scopes;
    for (const std::string& scope : token.scopes) {
      scopes.emplace_back(scope);
    }
    return JsonAnswer(200,
                      Value(Value::Object{
                          {"id", static_cast<std::int64_t>(Fnv1a64(token.value) % 100000)},
                          {"name", token.name},
                          {"revoked", false},
                          {"created_at", FormatIsoUtc(kDefaultCreatedMs)},
                          {"description", Value()},
                          {"scopes", Value(std::move(scopes))},
                          {"user_id", who.user_id},
                          {"last_used_at", FormatIsoUtc(Now())},
                          {"active", true},
                          {"expires_at", token.expires_at ? Value(*token.expires_at) : Value()},
                      }));
  }
  if (route.kind == Route::kUser || route.kind == Route::kVersion) {
    if (!HasScope(token, {"read_user", "read_api", "api"})) {
      return InsufficientScope("api read_api read_user");
    }
    if (route.kind == Route::kUser) {
      return JsonAnswer(200, CurrentUserJson(who.user_id));
    }
    return JsonAnswer(200, Value(Value::Object{
                               {"version", options.version},
                               {"revision", Fnv1a64Hex(options.version).substr(0, 11)},
                               {"kas", Value(Value::Object{{"enabled", false},
                                                           {"externalUrl", Value()},
                                                           {"externalK8sProxyUrl", Value()},
                                                           {"version", Value()}})},
                               {"enterprise", options.version.ends_with("-ee")},
                           }));
  }
  if (!HasScope(token, {"read_api", "api"})) {
    return InsufficientScope("api read_api");
  }
  switch (route.kind) {
    case Route::kProject:
    case Route::kProjectIssues:
    case Route::kProjectIssue: {
      const Project* project = ResolveProject(route.id, who);
      if (project == nullptr) {
        return Message(404, "404 Project Not Found");
      }
      if (route.kind == Route::kProject) {
        return JsonAnswer(200, ProjectJson(*project));
      }
      if (route.kind == Route::kProjectIssues) {
        return ServeList(request, who, project, nullptr);
      }
      auto iid = ParseInt(route.iid);
      if (!iid) {
        return GrapeError(400, "issue_iid is invalid");
      }
      auto it = iids.find({project->data.id, *iid});
      auto issue = it == iids.end() ? issues.end() : issues.find(it->second);
      if (issue == issues.end()) {
        return Message(404, "404 Not found");
      }
      return JsonAnswer(200, IssueJson(issue->second, ""));
    }
    case Route::kGroup:
    case Route::kGroupIssues: {
      const Group* group = ResolveGroup(route.id, who);
      if (group == nullptr) {
        return Message(404, "404 Group Not Found");
      }
      if (route.kind == Route::kGroup) {
        return JsonAnswer(200, GroupJson(*group));
      }
      return ServeList(request, who, nullptr, group);
    }
    default:
      return GrapeError(404, "404 Not Found");
  }
}

HttpServerResponse GitLabServer::State::ServeList(const HttpServerRequest& request,
                                                  const ResolvedToken& who, const Project* project,
                                                  const Group* group) const {
  Query q;
  q.per_page = options.default_per_page;
  std::vector<std::string> errors;
  auto choice = [&](std::string_view name, std::initializer_list<std::string_view> allowed,
                    std::string& into) {
    auto value = request.Param(name);
    if (!value) {
      return;
    }
    if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
      errors.push_back(std::string(name) + " does not have a valid value");
      return;
    }
    into = std::string(*value);
  };
  auto date = [&](std::string_view name, std::optional<std::int64_t>& into) {
    auto value = request.Param(name);
    if (!value) {
      return;
    }
    into = ParseIsoUtc(TrimSpace(*value));
    if (!into) {
      errors.push_back(std::string(name) + " is invalid");
    }
  };
  auto integer = [&](std::string_view name, std::int64_t& into) {
    auto value = request.Param(name);
    if (!value) {
      return;
    }
    auto n = ParseInt(TrimSpace(*value));
    if (!n) {
      errors.push_back(std::string(name) + " is invalid");
      return;
    }
    into = *n;
  };

  choice("scope", {"all", "created_by_me", "assigned_to_me", "created-by-me", "assigned-to-me"},
         q.scope);
  choice("state", {"opened", "closed", "all"}, q.state);
  choice("order_by",
         {"created_at", "updated_at", "id", "title", "due_date", "weight", "priority",
          "label_priority", "milestone_due", "popularity", "relative_position"},
         q.order_by);
  std::string sort = "desc";
  choice("sort", {"asc", "desc"}, sort);
  q.desc = sort == "desc";
  if (auto labels = request.Param("labels")) {
    q.labels = SplitComma(*labels);
  }
  date("updated_after", q.updated_after);
  date("updated_before", q.updated_before);
  date("created_after", q.created_after);
  date("created_before", q.created_before);
  for (std::string_view name : {"iids[]", "iids"}) {
    for (std::string_view value : request.Params(name)) {
      for (const std::string& part : SplitComma(value)) {
        if (auto n = ParseInt(part)) {
          q.iids.insert(*n);
        } else {
          errors.push_back("iids is invalid");
        }
      }
    }
  }
  integer("per_page", q.per_page);
  integer("page", q.page);
  if (auto value = request.Param("non_archived")) {
    if (*value == "true" || *value == "false") {
      q.non_archived = *value == "true";
    } else {
      errors.push_back("non_archived is invalid");
    }
  }
  std::string pagination = "offset";
  choice("pagination", {"offset", "keyset"}, pagination);
  if (auto cursor = request.Param("cursor")) {
    q.cursor = std::string(*cursor);
  }
  if (!errors.empty()) {
    std::string joined;
    for (const std::string& e : errors) {
      joined += (joined.empty() ? "" : ", ") + e;
    }
    return GrapeError(400, joined);
  }
  if (q.per_page < 1) {
    q.per_page = options.default_per_page;
  }
  q.per_page = std::min<std::int64_t>(q.per_page, options.max_per_page);
  q.page = std::max<std::int64_t>(q.page, 1);
  q.keyset = project != nullptr && options.keyset_pagination && pagination == "keyset" &&
             IsKeysetOrder(q.order_by);

  // The issues the query selects.
  const GitLabUser& me = users.at(who.user_id);
  std::vector<const GitLabIssue*> matches;
  for (const auto& [id, issue] : issues) {
    const Project* home = FindProject(issue.project);
    if (project != nullptr) {
      if (home != project) {
        continue;
      }
    } else {
      if (!IsUnder(issue.project, group->data.full_path) || !CanSeeProject(who, *home) ||
          (q.non_archived && home->data.archived)) {
        continue;
      }
    }
    if (q.scope == "created_by_me" || q.scope == "created-by-me") {
      if (AsciiLower(issue.author) != AsciiLower(me.username)) {
        continue;
      }
    } else if (q.scope == "assigned_to_me" || q.scope == "assigned-to-me") {
      if (std::none_of(issue.assignees.begin(), issue.assignees.end(), [&](const std::string& a) {
            return AsciiLower(a) == AsciiLower(me.username);
          })) {
        continue;
      }
    }
    if (q.state != "all" && issue.state != q.state) {
      continue;
    }
    if (q.labels && !q.labels->empty()) {
      const std::vector<std::string>& wanted = *q.labels;
      if (wanted.size() == 1 && AsciiLower(wanted[0]) == "none") {
        if (!issue.labels.empty()) {
          continue;
        }
      } else if (wanted.size() == 1 && AsciiLower(wanted[0]) == "any") {
        if (issue.labels.empty()) {
          continue;
        }
      } else if (std::any_of(wanted.begin(), wanted.end(), [&](const std::string& label) {
                   return std::find(issue.labels.begin(), issue.labels.end(), label) ==
                          issue.labels.end();
                 })) {
        continue;
      }
    }
    if ((q.updated_after && issue.updated_ms < *q.updated_after) ||
        (q.updated_before && issue.updated_ms > *q.updated_before) ||
        (q.created_after && issue.created_ms < *q.created_after) ||
        (q.created_before && issue.created_ms > *q.created_before)) {
      continue;
    }
    if (!q.iids.empty() && !q.iids.contains(issue.iid)) {
      continue;
    }
    matches.push_back(&issue);
  }

  // In order: the key in the sort's direction, ties by id the same way;
  // no due date or weight last either way.
  auto compare = [&](const GitLabIssue& a, const GitLabIssue& b) -> int {
    auto three_way = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
    int c = 0;
    if (q.order_by == "updated_at") {
      c = three_way(a.updated_ms, b.updated_ms);
    } else if (q.order_by == "id") {
      c = 0;
    } else if (q.order_by == "title") {
      c = three_way(a.title, b.title);
    } else if (q.order_by == "due_date") {
      c = three_way(a.due_date.value_or(""), b.due_date.value_or(""));
    } else if (q.order_by == "weight") {
      c = three_way(a.weight.value_or(0), b.weight.value_or(0));
    } else {
      c = three_way(a.created_ms, b.created_ms);
    }
    return c != 0 ? c : three_way(a.id, b.id);
  };
  auto missing = [&](const GitLabIssue& issue) {
    return (q.order_by == "due_date" && !issue.due_date) ||
           (q.order_by == "weight" && !issue.weight);
  };
  std::sort(matches.begin(), matches.end(), [&](const GitLabIssue* a, const GitLabIssue* b) {
    if (missing(*a) != missing(*b)) {
      return missing(*b);
    }
    int c = compare(*a, *b);
    return q.desc ? c > 0 : c < 0;
  });

  // A link to this list with `key` set, on this server, without tokens.
  std::string_view target = request.target;
  std::string link_path = root_url + std::string(target.substr(0, target.find('?')));
  auto link = [&](std::string_view key, const std::string& value) {
    std::vector<std::pair<std::string, std::string>> params;
    for (const auto& [k, v] : request.query) {
      if (k != "page" && k != "per_page" && k != "cursor" && k != "private_token" &&
          k != "access_token") {
        params.emplace_back(k, v);
      }
    }
    params.emplace_back("per_page", std::to_string(q.per_page));
    params.emplace_back(std::string(key), value);
    return BuildTarget(link_path, params);
  };
  std::string group_path = group ? group->data.full_path : "";
  auto render = [&](std::span<const GitLabIssue* const> page) {
    Value::List list;
    for (const GitLabIssue* issue : page) {
      list.push_back(IssueJson(*issue, group_path));
    }
    return Value(std::move(list));
  };

  if (q.keyset) {
    std::size_t begin = 0;
    if (q.cursor) {
      auto after = ReadCursor(*q.cursor, q.order_by);
      if (!after) {
        return Message(400, "400 Bad request - Invalid cursor");
      }
      auto is_after = [&](const GitLabIssue& issue) {
        std::int64_t value = OrderValue(issue, q.order_by);
        std::pair<std::int64_t, std::int64_t> key{value, issue.id};
        return q.desc ? key < *after : key > *after;
      };
      while (begin < matches.size() && !is_after(*matches[begin])) {
        ++begin;
      }
    }
    std::size_t end = std::min<std::size_t>(matches.size(), begin + q.per_page);
    HttpServerResponse response =
        JsonAnswer(200, render(std::span(matches).subspan(begin, end - begin)));
    if (end < matches.size() && end > begin) {
      response.headers.emplace_back(
          "Link",
          "<" + link("cursor", MakeCursor(*matches[end - 1], q.order_by)) + ">; rel=\"next\"");
    }
    return response;
  }

  if (options.max_offset && q.page * q.per_page > *options.max_offset) {
    return GrapeError(405, "Offset pagination has a maximum allowed offset of " +
                               std::to_string(*options.max_offset) +
                               " for requests that return objects of type Issue. Remaining "
                               "records can be retrieved using keyset pagination.");
  }
  auto total = static_cast<std::int64_t>(matches.size());
  std::int64_t offset = std::min(total, (q.page - 1) * q.per_page);
  std::int64_t end = std::min(total, offset + q.per_page);
  bool counted = total <= options.count_limit;
  std::int64_t total_pages = std::max<std::int64_t>(1, (total + q.per_page - 1) / q.per_page);
  bool has_next = end < total;
  HttpServerResponse response =
      JsonAnswer(200, render(std::span(matches).subspan(static_cast<std::size_t>(offset),
                                                        static_cast<std::size_t>(end - offset))));
  std::string links;
  auto add_link = [&](std::int64_t page, std::string_view rel) {
    links += (links.empty() ? "" : ", ") + std::string("<") + link("page", std::to_string(page)) +
             ">; rel=\"" + std::string(rel) + "\"";
  };
  if (q.page > 1) {
    add_link(q.page - 1, "prev");
  }
  if (has_next) {
    add_link(q.page + 1, "next");
  }
  add_link(1, "first");
  if (counted) {
    add_link(total_pages, "last");
  }
  response.headers.emplace_back("Link", links);
  response.headers.emplace_back("X-Per-Page", std::to_string(q.per_page));
  response.headers.emplace_back("X-Page", std::to_string(q.page));
  response.headers.emplace_back("X-Next-Page", has_next ? std::to_string(q.page + 1) : "");
  response.headers.emplace_back("X-Prev-Page", q.page > 1 ? std::to_string(q.page - 1) : "");
  if (counted) {
    response.headers.emplace_back("X-Total", std::to_string(total));
    response.headers.emplace_back("X-Total-Pages", std::to_string(total_pages));
  }
  return response;
}

}  // namespace boardsync

#include "tests/support/github/github_server.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"
#include "tests/support/github/github_state.h"

namespace boardsync {

using github_sample::Budget;
using github_sample::EqualsIgnoreCase;
using github_sample::FormatSeconds;
using github_sample::Label;
using github_sample::Location;
using github_sample::MakeNodeId;
using github_sample::Milestone;
using github_sample::Record;
using github_sample::Repo;

struct GitHubServer::State : github_sample::State {
  std::vector<Fault> faults;
  std::vector<RecordedRequest> log;
  std::map<std::string, std::size_t, std::less<>> counts;
  std::uint64_t total_requests = 0;
  std::uint64_t graphql_requests = 0;
  std::size_t list_requests = 0;
  std::function<void(std::size_t)> list_hook;
};

namespace github_sample {

// ---- Shared helpers ----

namespace {

const std::vector<SampleUser>& SampleUsers() {
  static const std::vector<SampleUser> users = {
      {"octocat", 1, "The Octocat", "octocat@github.com"},
      {"hubot", 2, "Hubot", "hubot@example.com"},
      {"monalisa", 3, "Mona Lisa Octocat", "mona@example.com"},
      {"zoe-dev", 4, "Zoë Dëv", ""},
  };
  return users;
}

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += {kBase64[(v >> 18) & 63], kBase64[(v >> 12) & 63], kBase64[(v >> 6) & 63], kBase64[v & 63]};
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) {
      v |= static_cast<unsigned char>(in[i + 1]) << 8;
    }
    out += {kBase64[(v >> 18) & 63], kBase64[(v >> 12) & 63]};
    out += i + 1 < in.size() ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Base62(std::uint64_t n, std::size_t width) {
  static constexpr std::string_view kDigits =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[n % 62]);
    n /= 62;
  } while (n > 0);
  while (out.size() < width) {
    out.insert(out.begin(), 'A');
  }
  return out;
}

}  // namespace

std::string FormatSeconds(std::int64_t epoch_seconds) {
  std::string iso = FormatIsoUtc(epoch_seconds * 1000);  // "2024-05-01T10:00:00.000Z"
  return iso.substr(0, 19) + "Z";
}

std::string FormatDay(std::int64_t epoch_seconds) { return FormatIsoDate(epoch_seconds * 1000); }

const SampleUser* FindSampleUser(std::string_view login) {
  for (const SampleUser& u : SampleUsers()) {
    if (EqualsIgnoreCase(u.login, login)) {
      return &u;
    }
  }
  return nullptr;
}

std::int64_t UserId(std::string_view login) {
  if (const SampleUser* u = FindSampleUser(login)) {
    return u->id;
  }
  return 100000 + static_cast<std::int64_t>(Fnv1a64(AsciiLower(login)) % 9000000);
}

std::string MakeNodeId(std::string_view prefix, std::int64_t a, std::int64_t b) {
  std::string out(prefix);
  out += Base62(static_cast<std::uint64_t>(a), 6);
  if (b != 0) {
    out += Base62(static_cast<std::uint64_t>(b), 6);
  }
  return out;
}

std::string LegacyNodeId(std::string_view type, std::int64_t id) {
  std::string raw = "0" + std::to_string(type.size()) + ":" + std::string(type) + std::to_string(id);
  return Base64(raw);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

std::int64_t State::Now() const {
  return frozen_now ? *frozen_now : boardsync::NowMs() / 1000;
}

Repo* State::FindRepo(std::string_view full_name) {
  for (Repo& r : repos) {
    if (EqualsIgnoreCase(r.info.full_name, full_name)) {
      return &r;
    }
  }
  return nullptr;
}

const Repo* State::FindRepo(std::string_view full_name) const {
  return const_cast<State*>(this)->FindRepo(full_name);
}

Repo* State::FindRepoById(std::int64_t id) {
  for (Repo& r : repos) {
    if (r.info.id == id) {
      return &r;
    }
  }
  return nullptr;
}

const Repo* State::FindRepoById(std::int64_t id) const {
  return const_cast<State*>(this)->FindRepoById(id);
}

const GitHubToken* State::FindToken(std::string_view token) const {
  for (const GitHubToken& t : tokens) {
    if (!token.empty() && t.token == token) {
      return &t;
    }
  }
  return nullptr;
}

bool State::CanSee(const GitHubToken& token, const Repo& repo) const {
  if (token.kind == GitHubTokenKind::kInstallation && token.repos) {
    // An installation sees exactly the repositories it was given.
    for (const std::string& name : *token.repos) {
      if (EqualsIgnoreCase(name, repo.info.full_name)) {
        return true;
      }
    }
    return false;
  }
  if (!repo.info.is_private || !token.repos) {
    return true;
  }
  for (const std::string& name : *token.repos) {
    if (EqualsIgnoreCase(name, repo.info.full_name)) {
      return true;
    }
  }
  return false;
}

Project* State::FindProject(std::string_view owner, int number) {
  for (Project& p : projects) {
    if (EqualsIgnoreCase(p.owner, owner) && p.number == number) {
      return &p;
    }
  }
  return nullptr;
}

const Project* State::FindProject(std::string_view owner, int number) const {
  return const_cast<State*>(this)->FindProject(owner, number);
}

Record* State::Live(std::int64_t id) {
  auto it = records.find(id);
  return it == records.end() || !it->second.live ? nullptr : &it->second;
}

const Record* State::Live(std::int64_t id) const { return const_cast<State*>(this)->Live(id); }

Field& State::AddField(Project& project, std::string name, std::string data_type) {
  Field field;
  field.database_id = next_small_id++;
  std::string_view prefix = data_type == "SINGLE_SELECT" ? "PVTSSF_lADO"
                            : data_type == "ITERATION"   ? "PVTIF_lADO"
                                                         : "PVTF_lADO";
  field.id = MakeNodeId(prefix, project.database_id, field.database_id);
  field.name = std::move(name);
  field.data_type = std::move(data_type);
  project.fields.push_back(std::move(field));
  return project.fields.back();
}

Item& State::AddItem(Project& project, std::int64_t issue_id) {
  for (Item& item : project.items) {
    if (item.issue_id == issue_id) {
      return item;
    }
  }
  Item item;
  item.database_id = next_small_id++;
  item.id = MakeNodeId("PVTI_lADO", project.database_id, item.database_id);
  item.issue_id = issue_id;
  item.created_at = Now();
  item.updated_at = item.created_at;
  project.items.push_back(std::move(item));
  return project.items.back();
}

void State::ValueEdited(Project& project, Item& item) {
  const std::int64_t now = Now();
  item.updated_at = now;
  project.updated_at = now;
  if (project_edit_bumps_updated) {
    if (Record* record = Live(item.issue_id)) {
      record->issue.updated_at = now;
    }
  }
}

}  // namespace github_sample

namespace {

using github_sample::State;

constexpr std::string_view kDocs = "https://docs.github.com/rest";
constexpr std::string_view kRateDocs =
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
constexpr std::string_view kSecondaryDocs =
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

// GitHub's own content type.
HttpServerResponse Json(int status, std::string body) {
  HttpServerResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  response.body = std::move(body);
  return response;
}

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

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      slash = path.size();
    }
    if (slash > start) {
      parts.push_back(path.substr(start, slash - start));
    }
    start = slash + 1;
  }
  return parts;
}

std::string HttpDate(std::int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

std::string ErrorBody(std::string_view message, std::string_view docs, int status) {
  return Value(Value::Object{{"message", Value(message)},
                             {"documentation_url", Value(docs)},
                             {"status", Value(std::to_string(status))}})
      .ToJson();
}

HttpServerResponse GitHubError(int status, std::string_view message,
                               std::string_view docs = kDocs) {
  return Json(status, ErrorBody(message, docs, status));
}

HttpServerResponse NotFound() { return GitHubError(404, "Not Found"); }

HttpServerResponse ValidationFailed(std::string_view resource, std::string_view field,
                                    std::string_view value) {
  Value::Object error{{"resource", Value(resource)},
                      {"field", Value(field)},
                      {"code", Value("invalid")}};
  if (!value.empty()) {
    error.emplace("value", Value(value));
  }
  return Json(
      422, Value(Value::Object{{"message", Value("Validation Failed")},
                               {"errors", Value(Value::List{Value(std::move(error))})},
                               {"documentation_url",
                                Value("https://docs.github.com/rest/issues/issues#list-repository-issues")},
                               {"status", Value("422")}})
               .ToJson());
}

std::string LabelColor(std::string_view name) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::uint64_t h = Fnv1a64(AsciiLower(name));
  std::string out;
  for (int i = 0; i < 6; ++i) {
    out += kHex[(h >> (i * 4)) & 15];
  }
  return out;
}

// ---- Rendering ----

class Renderer {
 public:
  Renderer(const State& state) : state_(state), api_(state.base_url), web_(state.options->web_url) {}

  Value User(std::string_view login) const {
    std::int64_t id = github_sample::UserId(login);
    std::string api_user = api_ + "/users/" + std::string(login);
    return Value(Value::Object{
        {"login", Value(login)},
        {"id", Value(id)},
        {"node_id", Value(github_sample::LegacyNodeId("User", id))},
        {"avatar_url", Value("https://avatars.githubusercontent.com/u/" + std::to_string(id) + "?v=4")},
        {"gravatar_id", Value("")},
        {"url", Value(api_user)},
        {"html_url", Value(web_ + "/" + std::string(login))},
        {"followers_url", Value(api_user + "/followers")},
        {"following_url", Value(api_user + "/following{/other_user}")},
        {"gists_url", Value(api_user + "/gists{/gist_id}")},
        {"starred_url", Value(api_user + "/starred{/owner}{/repo}")},
        {"subscriptions_url", Value(api_user + "/subscriptions")},
        {"organizations_url", Value(api_user + "/orgs")},
        {"repos_url", Value(api_user + "/repos")},
        {"events_url", Value(api_user + "/events{/privacy}")},
        {"received_events_url", Value(api_user + "/received_events")},
        {"type", Value("User")},
        {"user_view_type", Value("public")},
        {"site_admin", Value(false)},
    });
  }

  Value Owner(const Repo& repo) const {
    Value owner = User(repo.owner);
    bool is_org = true;
    if (auto it = state_.owners.find(AsciiLower(repo.owner)); it != state_.owners.end()) {
      is_org = it->second;
    }
    if (is_org) {
      std::int64_t id = github_sample::UserId(repo.owner);
      owner.AsObject()["type"] = Value("Organization");
      owner.AsObject()["node_id"] = Value(github_sample::LegacyNodeId("Organization", id));
    }
    return owner;
  }

  std::string RepoUrl(const Repo& repo) const { return api_ + "/repos/" + repo.info.full_name; }

  Value RepoJson(const Repo& repo, bool with_permissions) const {
    std::string url = RepoUrl(repo);
    Value::Object out{
        {"id", Value(repo.info.id)},
        {"node_id", Value(MakeNodeId("R_kgDO", repo.info.id))},
        {"name", Value(repo.name)},
        {"full_name", Value(repo.info.full_name)},
        {"private", Value(repo.info.is_private)},
        {"owner", Owner(repo)},
        {"html_url", Value(web_ + "/" + repo.info.full_name)},
        {"description", Value(nullptr)},
        {"fork", Value(false)},
        {"url", Value(url)},
        {"issues_url", Value(url + "/issues{/number}")},
        {"labels_url", Value(url + "/labels{/name}")},
        {"milestones_url", Value(url + "/milestones{/number}")},
        {"pulls_url", Value(url + "/pulls{/number}")},
        {"created_at", Value(FormatSeconds(repo.created_at))},
        {"updated_at", Value(FormatSeconds(repo.created_at))},
        {"pushed_at", Value(FormatSeconds(repo.created_at))},
        {"has_issues", Value(true)},
        {"has_projects", Value(true)},
        {"archived", Value(false)},
        {"disabled", Value(false)},
        {"visibility", Value(repo.info.is_private ? "private" : "public")},
        {"default_branch", Value("main")},
        {"open_issues_count", Value(OpenCount(repo))},
    };
    if (with_permissions) {
      out.emplace("permissions", Value(Value::Object{{"admin", Value(false)},
                                                     {"maintain", Value(false)},
                                                     {"push", Value(true)},
                                                     {"triage", Value(true)},
                                                     {"pull", Value(true)}}));
    }
    return Value(std::move(out));
  }

  std::int64_t OpenCount(const Repo& repo) const {
    std::int64_t n = 0;
    for (const auto& [id, record] : state_.records) {
      if (record.live && record.issue.state == "open" &&
          EqualsIgnoreCase(record.issue.repo, repo.info.full_name)) {
        ++n;
      }
    }
    return n;
  }

  Value LabelJson(const Repo& repo, const Label& label) const {
    return Value(Value::Object{
        {"id", Value(label.id)},
        {"node_id", Value(MakeNodeId("LA_kwDO", repo.info.id, label.id))},
        {"url", Value(RepoUrl(repo) + "/labels/" + label.name)},
        {"name", Value(label.name)},
        {"color", Value(label.color)},
        {"default", Value(label.is_default)},
        {"description", label.description.empty() ? Value(nullptr) : Value(label.description)},
    });
  }

  Value MilestoneJson(const Repo& repo, const Milestone& m) const {
    std::int64_t open = 0;
    std::int64_t closed = 0;
    for (const auto& [id, record] : state_.records) {
      if (record.live && record.issue.milestone == m.title &&
          EqualsIgnoreCase(record.issue.repo, repo.info.full_name)) {
        ++(record.issue.state == "open" ? open : closed);
      }
    }
    std::string url = RepoUrl(repo) + "/milestones/" + std::to_string(m.number);
    return Value(Value::Object{
        {"url", Value(url)},
        {"html_url", Value(web_ + "/" + repo.info.full_name + "/milestone/" + std::to_string(m.number))},
        {"labels_url", Value(url + "/labels")},
        {"id", Value(m.id)},
        {"node_id", Value(MakeNodeId("MI_kwDO", repo.info.id, m.id))},
        {"number", Value(m.number)},
        {"title", Value(m.title)},
        {"description", Value(nullptr)},
        {"creator", User(repo.owner)},
        {"open_issues", Value(open)},
        {"closed_issues", Value(closed)},
        {"state", Value("open")},
        {"created_at", Value(FormatSeconds(m.created_at))},
        {"updated_at", Value(FormatSeconds(m.created_at))},
        {"due_on", Value(nullptr)},
        {"closed_at", Value(nullptr)},
    });
  }

  Value IssueType(std::string_view name) const {
    std::int64_t id = 1000 + static_cast<std::int64_t>(Fnv1a64(AsciiLower(name)) % 9000);
    return Value(Value::Object{
        {"id", Value(id)},
        {"node_id", Value(MakeNodeId("IT_kwDO", id))},
        {"name", Value(name)},
        {"description", Value("A " + AsciiLower(name))},
        {"color", Value(name == "Bug" ? "red" : name == "Feature" ? "blue" : "gray")},
        {"created_at", Value("2024-01-01T00:00:00Z")},
        {"updated_at", Value("2024-01-01T00:00:00Z")},
        {"is_enabled", Value(true)},
    });
  }

  Value Issue(const GitHubIssue& issue) const {
    const Repo* repo = state_.FindRepo(issue.repo);
    std::string repo_url = repo ? RepoUrl(*repo) : api_ + "/repos/" + issue.repo;
    std::string url = repo_url + "/issues/" + std::to_string(issue.number);
    std::string html = web_ + "/" + (repo ? repo->info.full_name : issue.repo) +
                       (issue.pull_request ? "/pull/" : "/issues/") + std::to_string(issue.number);
    bool closed = issue.state == "closed";
    Value::List labels;
    if (repo) {
      for (const std::string& name : issue.labels) {
        for (const Label& label : repo->labels) {
          if (EqualsIgnoreCase(label.name, name)) {
            labels.push_back(LabelJson(*repo, label));
            break;
          }
        }
      }
    }
    Value::List assignees;
    for (const std::string& login : issue.assignees) {
      assignees.push_back(User(login));
    }
    Value milestone;
    if (repo && issue.milestone) {
      for (const Milestone& m : repo->milestones) {
        if (m.title == *issue.milestone) {
          milestone = MilestoneJson(*repo, m);
        }
      }
    }
    Value::Object out{
        {"id", Value(issue.id)},
        {"node_id", Value(issue.node_id)},
        {"number", Value(issue.number)},
        {"url", Value(url)},
        {"repository_url", Value(repo_url)},
        {"labels_url", Value(url + "/labels{/name}")},
        {"comments_url", Value(url + "/comments")},
        {"events_url", Value(url + "/events")},
        {"timeline_url", Value(url + "/timeline")},
        {"html_url", Value(html)},
        {"title", Value(issue.title)},
        {"body", issue.body ? Value(*issue.body) : Value(nullptr)},
        {"user", User(issue.user)},
        {"labels", Value(std::move(labels))},
        {"state", Value(issue.state)},
        {"state_reason", issue.state_reason ? Value(*issue.state_reason) : Value(nullptr)},
        {"locked", Value(issue.locked)},
        {"active_lock_reason", Value(nullptr)},
        {"assignee", issue.assignees.empty() ? Value(nullptr) : User(issue.assignees.front())},
        {"assignees", Value(std::move(assignees))},
        {"milestone", std::move(milestone)},
        {"comments", Value(issue.comments)},
        {"created_at", Value(FormatSeconds(issue.created_at))},
        {"updated_at", Value(FormatSeconds(issue.updated_at))},
        {"closed_at", closed ? Value(FormatSeconds(issue.closed_at)) : Value(nullptr)},
        {"closed_by", closed && issue.closed_by ? User(*issue.closed_by) : Value(nullptr)},
        {"author_association", Value(issue.author_association)},
        {"performed_via_github_app", Value(nullptr)},
        {"type", issue.issue_type ? IssueType(*issue.issue_type) : Value(nullptr)},
        {"sub_issues_summary", Value(Value::Object{{"total", Value(0)},
                                                   {"completed", Value(0)},
                                                   {"percent_completed", Value(0)}})},
        {"reactions", Value(Value::Object{{"url", Value(url + "/reactions")},
                                          {"total_count", Value(0)},
                                          {"+1", Value(0)},
                                          {"-1", Value(0)},
                                          {"laugh", Value(0)},
                                          {"hooray", Value(0)},
                                          {"confused", Value(0)},
                                          {"heart", Value(0)},
                                          {"rocket", Value(0)},
                                          {"eyes", Value(0)}})},
    };
    if (issue.pull_request) {
      std::string pulls = repo_url + "/pulls/" + std::to_string(issue.number);
      std::string web_pull = web_ + "/" + issue.repo + "/pull/" + std::to_string(issue.number);
      out.emplace("draft", Value(false));
      out.emplace("pull_request",
                  Value(Value::Object{
                      {"url", Value(pulls)},
                      {"html_url", Value(web_pull)},
                      {"diff_url", Value(web_pull + ".diff")},
                      {"patch_url", Value(web_pull + ".patch")},
                      {"merged_at", issue.merged_at ? Value(FormatSeconds(*issue.merged_at))
                                                    : Value(nullptr)},
                  }));
    }
    for (const auto& [key, value] : issue.raw) {
      out.insert_or_assign(key, value);
    }
    return Value(std::move(out));
  }

 private:
  const State& state_;
  std::string api_;
  std::string web_;
};

// The query of a raw target, split into its encoded "k=v" pieces.
std::vector<std::string_view> RawQueryPieces(std::string_view target) {
  std::vector<std::string_view> out;
  auto q = target.find('?');
  if (q == std::string_view::npos) {
    return out;
  }
  std::string_view query = target.substr(q + 1);
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    std::string_view piece = query.substr(start, amp == std::string_view::npos ? query.npos : amp - start);
    if (!piece.empty()) {
      out.push_back(piece);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    start = amp + 1;
  }
  return out;
}

}  // namespace

// ---- Public helpers ----

std::vector<GitHubToken> GitHubSampleTokens() {
  GitHubToken classic;
  classic.token = std::string(kGitHubClassicToken);
  classic.kind = GitHubTokenKind::kClassic;
  GitHubToken fine;
  fine.token = std::string(kGitHubFineGrainedToken);
  fine.kind = GitHubTokenKind::kFineGrained;
  fine.scopes = {};
  GitHubToken installation;
  installation.token = std::string(kGitHubInstallationToken);
  installation.kind = GitHubTokenKind::kInstallation;
  installation.login = "";
  installation.scopes = {};
  return {classic, fine, installation};
}

// ---- Faults ----

GitHubServer::Fault GitHubServer::Fault::Status(int status, std::string body,
                                                std::string content_type) {
  Fault fault;
  fault.status = status;
  fault.headers.emplace_back("Content-Type", std::move(content_type));
  fault.body = std::move(body);
  return fault;
}

GitHubServer::Fault GitHubServer::Fault::ServerError() {
  return Status(502, R"({"message":"Server Error"})");
}

GitHubServer::Fault GitHubServer::Fault::HtmlPage() {
  return Status(200,
                "<!DOCTYPE html><html><head><title>Sign in to your network</title></head>"
                "<body><form action=\"/login\"><input name=\"user\"></form></body></html>",
                "text/html; charset=utf-8");
}

GitHubServer::Fault GitHubServer::Fault::MalformedJson() {
  return Status(200, R"([{"id":1,"number":1,"title":"Cut here",}{)");
}

GitHubServer::Fault GitHubServer::Fault::Truncated(std::size_t bytes) {
  Fault fault;
  fault.truncate_body_at = bytes;
  return fault;
}

GitHubServer::Fault GitHubServer::Fault::Delay(std::chrono::milliseconds delay) {
  Fault fault;
  fault.delay = delay;
  return fault;
}

GitHubServer::Fault GitHubServer::Fault::Drop() {
  Fault fault;
  fault.drop_connection = true;
  return fault;
}

GitHubServer::Fault GitHubServer::Fault::On(std::string api_path) const {
  Fault fault = *this;
  fault.path = std::move(api_path);
  return fault;
}

GitHubServer::Fault GitHubServer::Fault::Times(int n) const {
  Fault fault = *this;
  fault.times = n;
  return fault;
}

// ---- Construction ----

GitHubServer::GitHubServer(GitHubServerOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {
  std::string& prefix = options_.path_prefix;
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.pop_back();
  }
  if (!prefix.empty() && prefix.front() != '/') {
    prefix.insert(prefix.begin(), '/');
  }
  while (!options_.web_url.empty() && options_.web_url.back() == '/') {
    options_.web_url.pop_back();
  }
  State& s = *state_;
  s.options = &options_;
  s.tokens = options_.tokens;
  s.frozen_now = options_.now;
  std::int64_t now = s.Now();
  s.core = Budget{options_.rate_limit, options_.rate_limit - options_.rate_remaining,
                  options_.rate_reset != 0 ? options_.rate_reset : now + 3600};
  s.graphql = Budget{options_.graphql_limit, options_.graphql_limit - options_.graphql_remaining,
                     options_.rate_reset != 0 ? options_.rate_reset : now + 3600};
  s.project_edit_bumps_updated = options_.project_edit_bumps_updated;
  server_ = std::make_unique<HttpServer>(
      [this](const HttpServerRequest& request) { return Handle(request); }, options_.port);
  s.base_url = server_->base_url() + options_.path_prefix;
}

GitHubServer::~GitHubServer() { server_->Stop(); }

std::string GitHubServer::base_url() const { return server_->base_url() + options_.path_prefix; }

std::string GitHubServer::graphql_url() const {
  std::string_view prefix = options_.path_prefix;
  if (prefix.ends_with("/v3")) {
    prefix.remove_suffix(3);
  }
  return server_->base_url() + std::string(prefix) + "/graphql";
}

// ---- Tokens ----

void GitHubServer::AddToken(GitHubToken token) {
  std::lock_guard lock(state_->mu);
  for (GitHubToken& t : state_->tokens) {
    if (t.token == token.token) {
      t = std::move(token);
      return;
    }
  }
  state_->tokens.push_back(std::move(token));
}

void GitHubServer::RevokeToken(std::string_view token) {
  std::lock_guard lock(state_->mu);
  std::erase_if(state_->tokens, [&](const GitHubToken& t) { return t.token == token; });
}

// ---- Repositories ----

namespace {

Result<Repo*> AddRepoLocked(State& s, GitHubRepo info) {
  auto slash = info.full_name.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == info.full_name.size() ||
      info.full_name.find('/', slash + 1) != std::string::npos) {
    return Fail(ErrorCode::kConfig, "repository " + info.full_name + " is not owner/name");
  }
  if (s.FindRepo(info.full_name)) {
    return Fail(ErrorCode::kConfig, "duplicate repository " + info.full_name);
  }
  if (info.id == 0) {
    info.id = s.next_repo_id;
  }
  if (s.FindRepoById(info.id)) {
    return Fail(ErrorCode::kConfig, "duplicate repository id " + std::to_string(info.id));
  }
  s.next_repo_id = std::max(s.next_repo_id, info.id + 1);
  Repo repo;
  repo.owner = info.full_name.substr(0, slash);
  repo.name = info.full_name.substr(slash + 1);
  repo.created_at = s.Now();
  s.owners.emplace(AsciiLower(repo.owner), info.owner_is_org);
  repo.info = std::move(info);
  s.repos.push_back(std::move(repo));
  return &s.repos.back();
}

Repo& RepoFor(State& s, std::string_view full_name) {
  if (Repo* repo = s.FindRepo(full_name)) {
    return *repo;
  }
  GitHubRepo info;
  info.full_name = std::string(full_name);
  auto added = AddRepoLocked(s, std::move(info));
  return **added;  // callers checked the name's shape
}

// Creates the labels and milestone `issue` names in its repository.
void EnsureRefs(State& s, Repo& repo, const GitHubIssue& issue) {
  for (const std::string& name : issue.labels) {
    bool found = std::any_of(repo.labels.begin(), repo.labels.end(),
                             [&](const Label& l) { return EqualsIgnoreCase(l.name, name); });
    if (!found) {
      Label label;
      label.id = s.next_small_id++;
      label.name = name;
      label.color = LabelColor(name);
      label.is_default = name == "bug" || name == "enhancement" || name == "documentation";
      label.description = label.is_default ? "Something about " + name : "";
      repo.labels.push_back(std::move(label));
    }
  }
  if (issue.milestone) {
    bool found = std::any_of(repo.milestones.begin(), repo.milestones.end(),
                             [&](const Milestone& m) { return m.title == *issue.milestone; });
    if (!found) {
      Milestone m;
      m.id = s.next_small_id++;
      m.number = static_cast<std::int64_t>(repo.milestones.size()) + 1;
      m.title = *issue.milestone;
      m.created_at = s.Now();
      repo.milestones.push_back(std::move(m));
    }
  }
}

// Closed issues get closed_at and closed_by; open ones lose them.
void NormalizeClosed(GitHubIssue& issue) {
  if (issue.state == "closed") {
    if (issue.closed_at == 0) {
      issue.closed_at = issue.updated_at;
    }
    if (!issue.closed_by) {
      issue.closed_by = issue.user;
    }
  } else {
    issue.closed_at = 0;
    issue.closed_by.reset();
  }
}

bool ValidName(std::string_view full_name) {
  auto slash = full_name.find('/');
  return slash != std::string_view::npos && slash > 0 && slash + 1 < full_name.size() &&
         full_name.find('/', slash + 1) == std::string_view::npos;
}

}  // namespace

Result<std::int64_t> GitHubServer::AddRepo(GitHubRepo repo) {
  std::lock_guard lock(state_->mu);
  auto added = AddRepoLocked(*state_, std::move(repo));
  if (!added) {
    return std::unexpected(added.error());
  }
  return (*added)->info.id;
}

std::optional<std::int64_t> GitHubServer::RepoId(std::string_view full_name) const {
  std::lock_guard lock(state_->mu);
  const Repo* repo = state_->FindRepo(full_name);
  return repo ? std::optional(repo->info.id) : std::nullopt;
}

void GitHubServer::SetRepoPrivate(std::string_view full_name, bool is_private) {
  std::lock_guard lock(state_->mu);
  if (Repo* repo = state_->FindRepo(full_name)) {
    repo->info.is_private = is_private;
  }
}

// ---- Issues ----

Result<GitHubIssueRef> GitHubServer::AddIssue(GitHubIssue issue) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  if (!ValidName(issue.repo)) {
    return Fail(ErrorCode::kConfig, "repository " + issue.repo + " is not owner/name");
  }
  if (issue.state != "open" && issue.state != "closed") {
    return Fail(ErrorCode::kConfig, "state " + issue.state + " is not open or closed");
  }
  Repo& repo = RepoFor(s, issue.repo);
  issue.repo = repo.info.full_name;
  if (issue.id == 0) {
    issue.id = s.next_id;
  }
  if (s.records.contains(issue.id)) {
    return Fail(ErrorCode::kConfig, "duplicate issue id " + std::to_string(issue.id));
  }
  if (issue.number == 0) {
    issue.number = repo.next_number;
  }
  if (s.locations.contains({repo.info.id, issue.number})) {
    return Fail(ErrorCode::kConfig,
                "duplicate number " + issue.repo + "#" + std::to_string(issue.number));
  }
  s.next_id = std::max(s.next_id, issue.id + 1);
  repo.next_number = std::max(repo.next_number, issue.number + 1);
  if (issue.node_id.empty()) {
    issue.node_id = MakeNodeId(issue.pull_request ? "PR_kwDO" : "I_kwDO", repo.info.id, issue.id);
  }
  if (issue.created_at == 0) {
    issue.created_at = s.Now();
  }
  if (issue.updated_at == 0) {
    issue.updated_at = issue.created_at;
  }
  NormalizeClosed(issue);
  EnsureRefs(s, repo, issue);
  GitHubIssueRef ref{issue.id, issue.number, issue.node_id};
  s.locations[{repo.info.id, issue.number}] = Location{Location::kLive, issue.id};
  s.records[issue.id] = Record{std::move(issue), true};
  return ref;
}

Result<GitHubIssueRef> GitHubServer::AddPullRequest(GitHubIssue pr) {
  pr.pull_request = true;
  return AddIssue(std::move(pr));
}

namespace {

bool ChangeLocked(State& s, std::int64_t id, const std::function<void(GitHubIssue&)>& change,
                  bool stamp) {
  Record* record = s.Live(id);
  if (!record) {
    return false;
  }
  GitHubIssue before = record->issue;
  GitHubIssue after = before;
  change(after);
  after.id = before.id;
  after.number = before.number;
  after.repo = before.repo;
  after.node_id = before.node_id;
  after.pull_request = before.pull_request;
  if (after.state != "open" && after.state != "closed") {
    after.state = before.state;
  }
  if (stamp && after.updated_at == before.updated_at) {
    after.updated_at = s.Now();
  }
  if (after.state == "closed" && before.state == "closed" && after.closed_at == 0) {
    after.closed_at = before.closed_at;
  }
  NormalizeClosed(after);
  if (Repo* repo = s.FindRepo(after.repo)) {
    EnsureRefs(s, *repo, after);
  }
  record->issue = std::move(after);
  return true;
}

}  // namespace

bool GitHubServer::UpdateIssue(std::int64_t id, const std::function<void(GitHubIssue&)>& change) {
  std::lock_guard lock(state_->mu);
  return ChangeLocked(*state_, id, change, /*stamp=*/true);
}

bool GitHubServer::EditIssueInPlace(std::int64_t id,
                                    const std::function<void(GitHubIssue&)>& change) {
  std::lock_guard lock(state_->mu);
  return ChangeLocked(*state_, id, change, /*stamp=*/false);
}

bool GitHubServer::CloseIssue(std::int64_t id, std::string state_reason) {
  std::lock_guard lock(state_->mu);
  std::int64_t now = state_->Now();
  return ChangeLocked(
      *state_, id,
      [&](GitHubIssue& issue) {
        issue.state = "closed";
        issue.state_reason = state_reason;
        issue.updated_at = now;
        issue.closed_at = now;
      },
      /*stamp=*/true);
}

bool GitHubServer::DeleteIssue(std::int64_t id) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  Record* record = s.Live(id);
  if (!record) {
    return false;
  }
  record->live = false;
  if (const Repo* repo = s.FindRepo(record->issue.repo)) {
    s.locations[{repo->info.id, record->issue.number}] = Location{Location::kDeleted, id};
  }
  for (auto& project : s.projects) {
    std::erase_if(project.items, [&](const github_sample::Item& item) { return item.issue_id == id; });
  }
  return true;
}

std::optional<GitHubIssueRef> GitHubServer::TransferIssue(std::int64_t id,
                                                          std::string_view to_repo) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  Record* record = s.Live(id);
  Repo* target = s.FindRepo(to_repo);
  if (!record || !target) {
    return std::nullopt;
  }
  Repo* source = s.FindRepo(record->issue.repo);
  GitHubIssue issue = record->issue;
  issue.repo = target->info.full_name;
  issue.number = target->next_number++;
  issue.updated_at = s.Now();
  std::int64_t new_id = id;
  if (!options_.transfer_keeps_id) {
    new_id = s.next_id++;
    issue.id = new_id;
    issue.node_id = MakeNodeId(issue.pull_request ? "PR_kwDO" : "I_kwDO", target->info.id, new_id);
    record->live = false;
    for (auto& project : s.projects) {
      for (auto& item : project.items) {
        if (item.issue_id == id) {
          item.issue_id = new_id;
        }
      }
    }
  }
  EnsureRefs(s, *target, issue);
  GitHubIssueRef ref{new_id, issue.number, issue.node_id};
  if (source) {
    s.locations[{source->info.id, record->issue.number}] = Location{Location::kMoved, new_id};
  }
  s.locations[{target->info.id, issue.number}] = Location{Location::kLive, new_id};
  if (new_id == id) {
    record->issue = std::move(issue);
  } else {
    s.records[new_id] = Record{std::move(issue), true};
  }
  return ref;
}

std::optional<GitHubIssue> GitHubServer::GetIssue(std::int64_t id) const {
  std::lock_guard lock(state_->mu);
  const Record* record = state_->Live(id);
  return record ? std::optional(record->issue) : std::nullopt;
}

std::optional<GitHubIssue> GitHubServer::FindIssue(std::string_view repo,
                                                   std::int64_t number) const {
  std::lock_guard lock(state_->mu);
  const Repo* r = state_->FindRepo(repo);
  if (!r) {
    return std::nullopt;
  }
  auto it = state_->locations.find({r->info.id, number});
  if (it == state_->locations.end() || it->second.kind != Location::kLive) {
    return std::nullopt;
  }
  const Record* record = state_->Live(it->second.id);
  return record ? std::optional(record->issue) : std::nullopt;
}

std::vector<GitHubIssue> GitHubServer::Issues() const {
  std::lock_guard lock(state_->mu);
  std::vector<GitHubIssue> out;
  for (const auto& [id, record] : state_->records) {
    if (record.live) {
      out.push_back(record.issue);
    }
  }
  return out;
}

// ---- Clock and rate limits ----

std::int64_t GitHubServer::Now() const {
  std::lock_guard lock(state_->mu);
  return state_->Now();
}

void GitHubServer::SetNow(std::int64_t epoch_seconds) {
  std::lock_guard lock(state_->mu);
  state_->frozen_now = epoch_seconds;
}

void GitHubServer::AdvanceClock(std::int64_t seconds) {
  std::lock_guard lock(state_->mu);
  state_->frozen_now = state_->Now() + seconds;
}

void GitHubServer::SetRateLimit(std::int64_t limit, std::int64_t remaining, std::int64_t reset) {
  std::lock_guard lock(state_->mu);
  state_->core.limit = limit;
  state_->core.used = std::max<std::int64_t>(0, limit - remaining);
  if (reset != 0) {
    state_->core.reset = reset;
  }
}

void GitHubServer::SetGraphQLRateLimit(std::int64_t limit, std::int64_t remaining,
                                       std::int64_t reset) {
  std::lock_guard lock(state_->mu);
  state_->graphql.limit = limit;
  state_->graphql.used = std::max<std::int64_t>(0, limit - remaining);
  if (reset != 0) {
    state_->graphql.reset = reset;
  }
}

std::int64_t GitHubServer::rate_remaining() const {
  std::lock_guard lock(state_->mu);
  state_->core.Roll(state_->Now());
  return state_->core.remaining();
}

std::int64_t GitHubServer::rate_reset() const {
  std::lock_guard lock(state_->mu);
  state_->core.Roll(state_->Now());
  return state_->core.reset;
}

std::int64_t GitHubServer::graphql_remaining() const {
  std::lock_guard lock(state_->mu);
  state_->graphql.Roll(state_->Now());
  return state_->graphql.remaining();
}

void GitHubServer::ScriptSecondaryLimit(int count, int retry_after_seconds, int status) {
  std::lock_guard lock(state_->mu);
  state_->secondary_count = count;
  state_->secondary_retry_after = retry_after_seconds;
  state_->secondary_status = status;
}

void GitHubServer::SetProjectEditBumpsUpdated(bool bumps) {
  std::lock_guard lock(state_->mu);
  state_->project_edit_bumps_updated = bumps;
}

// ---- Projects v2 ----

namespace {

using github_sample::Field;
using github_sample::Item;
using github_sample::Project;

constexpr std::string_view kOptionColors[] = {"GRAY", "BLUE", "GREEN", "YELLOW",
                                              "ORANGE", "RED", "PINK", "PURPLE"};

}  // namespace

Result<std::string> GitHubServer::AddProject(std::string owner, int number, std::string title,
                                             std::vector<GitHubProjectField> fields,
                                             bool owner_is_org) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  if (owner.empty() || number <= 0) {
    return Fail(ErrorCode::kConfig, "a project needs an owner and a number above 0");
  }
  if (s.FindProject(owner, number)) {
    return Fail(ErrorCode::kConfig, "duplicate project " + owner + "/" + std::to_string(number));
  }
  s.owners.emplace(AsciiLower(owner), owner_is_org);
  Project project;
  project.owner = owner;
  project.number = number;
  project.title = std::move(title);
  project.database_id = s.next_small_id++;
  project.id = MakeNodeId("PVT_kwDO", github_sample::UserId(owner), project.database_id);
  project.created_at = s.Now();
  project.updated_at = project.created_at;
  auto add_field = [&](std::string name, std::string data_type) -> Field& {
    return s.AddField(project, std::move(name), std::move(data_type));
  };
  for (const auto& [name, type] : {std::pair{"Title", "TITLE"}, std::pair{"Assignees", "ASSIGNEES"},
                                   std::pair{"Labels", "LABELS"}, std::pair{"Milestone", "MILESTONE"},
                                   std::pair{"Repository", "REPOSITORY"}}) {
    add_field(name, type);
  }
  for (GitHubProjectField& spec : fields) {
    for (const Field& existing : project.fields) {
      if (EqualsIgnoreCase(existing.name, spec.name)) {
        return Fail(ErrorCode::kConfig, "duplicate field name " + spec.name);
      }
    }
    static constexpr std::string_view kTypes[] = {"NUMBER", "TEXT", "SINGLE_SELECT", "ITERATION",
                                                  "DATE"};
    Field& field = add_field(spec.name, std::string(kTypes[static_cast<int>(spec.type)]));
    for (std::size_t i = 0; i < spec.options.size(); ++i) {
      field.options.push_back({Fnv1a64Hex(field.id + "/" + spec.options[i]).substr(0, 8),
                               spec.options[i], std::string(kOptionColors[i % 8])});
    }
    for (const auto& it : spec.iterations) {
      if (!ParseIsoUtc(it.start_date) || it.start_date.size() != 10) {
        return Fail(ErrorCode::kConfig, "iteration start " + it.start_date + " is not YYYY-MM-DD");
      }
      field.iterations.push_back({Fnv1a64Hex(field.id + "/" + it.title).substr(0, 8), it.title,
                                  it.start_date, it.duration_days, it.completed});
    }
  }
  std::string id = project.id;
  s.projects.push_back(std::move(project));
  return id;
}

Result<std::string> GitHubServer::AddProjectItem(std::string_view owner, int number,
                                                 std::int64_t issue_id) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  Project* project = s.FindProject(owner, number);
  if (!project) {
    return Fail(ErrorCode::kConfig, "no project " + std::string(owner) + "/" + std::to_string(number));
  }
  if (!s.Live(issue_id)) {
    return Fail(ErrorCode::kConfig, "no issue with id " + std::to_string(issue_id));
  }
  return s.AddItem(*project, issue_id).id;
}

Result<void> GitHubServer::SetFieldValue(std::string_view owner, int number, std::int64_t issue_id,
                                         std::string_view field_name,
                                         std::optional<GitHubFieldValue> value) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  Project* project = s.FindProject(owner, number);
  if (!project) {
    return Fail(ErrorCode::kConfig, "no project " + std::string(owner) + "/" + std::to_string(number));
  }
  Item* item = nullptr;
  for (Item& candidate : project->items) {
    if (candidate.issue_id == issue_id) {
      item = &candidate;
    }
  }
  if (!item) {
    return Fail(ErrorCode::kConfig, "issue " + std::to_string(issue_id) + " is not in the project");
  }
  const Field* field = nullptr;
  for (const Field& candidate : project->fields) {
    if (candidate.name == field_name) {
      field = &candidate;
    }
  }
  if (!field) {
    return Fail(ErrorCode::kConfig, "no field " + std::string(field_name));
  }
  const std::string& type = field->data_type;
  std::int64_t now = s.Now();
  if (!value) {
    item->values.erase(field->id);
  } else {
    github_sample::ItemValue v;
    if (auto it = item->values.find(field->id); it != item->values.end()) {
      v = it->second;
    } else {
      v.database_id = s.next_small_id++;
      v.id = MakeNodeId("PVTFSV_lQDO", item->database_id, v.database_id);
      v.created_at = now;
    }
    v.updated_at = now;
    std::string text = value->text.value_or("");
    if (type == "NUMBER") {
      if (!value->number) {
        return Fail(ErrorCode::kConfig, "field " + field->name + " takes a number");
      }
      v.number = value->number;
    } else if (type == "TEXT") {
      v.text = text;
    } else if (type == "DATE") {
      if (text.size() != 10 || !ParseIsoUtc(text)) {
        return Fail(ErrorCode::kConfig, "date " + text + " is not YYYY-MM-DD");
      }
      v.text = text;
    } else if (type == "SINGLE_SELECT") {
      auto it = std::find_if(field->options.begin(), field->options.end(),
                             [&](const auto& o) { return o.name == text; });
      if (it == field->options.end()) {
        return Fail(ErrorCode::kConfig, "field " + field->name + " has no option " + text);
      }
      v.text = it->id;
    } else if (type == "ITERATION") {
      auto it = std::find_if(field->iterations.begin(), field->iterations.end(),
                             [&](const auto& i) { return i.title == text; });
      if (it == field->iterations.end()) {
        return Fail(ErrorCode::kConfig, "field " + field->name + " has no iteration " + text);
      }
      v.text = it->id;
    } else {
      return Fail(ErrorCode::kConfig, "field " + field->name + " is built in (" + type + ")");
    }
    item->values[field->id] = std::move(v);
  }
  s.ValueEdited(*project, *item);
  return {};
}

bool GitHubServer::HasProjectItem(std::string_view owner, int number, std::int64_t issue_id) const {
  std::lock_guard lock(state_->mu);
  const Project* project = state_->FindProject(owner, number);
  return project && std::any_of(project->items.begin(), project->items.end(),
                                [&](const Item& item) { return item.issue_id == issue_id; });
}

std::optional<GitHubFieldValue> GitHubServer::GetFieldValue(std::string_view owner, int number,
                                                            std::int64_t issue_id,
                                                            std::string_view field_name) const {
  std::lock_guard lock(state_->mu);
  const Project* project = state_->FindProject(owner, number);
  if (!project) {
    return std::nullopt;
  }
  auto field = std::find_if(project->fields.begin(), project->fields.end(),
                            [&](const Field& f) { return f.name == field_name; });
  auto item = std::find_if(project->items.begin(), project->items.end(),
                           [&](const Item& i) { return i.issue_id == issue_id; });
  if (field == project->fields.end() || item == project->items.end()) {
    return std::nullopt;
  }
  auto value = item->values.find(field->id);
  if (value == item->values.end()) {
    return std::nullopt;
  }
  const github_sample::ItemValue& v = value->second;
  if (field->data_type == "NUMBER") {
    return GitHubFieldValue::Number(v.number.value_or(0));
  }
  for (const auto& option : field->options) {
    if (option.id == v.text) {
      return GitHubFieldValue::Text(option.name);
    }
  }
  for (const auto& iteration : field->iterations) {
    if (iteration.id == v.text) {
      return GitHubFieldValue::Text(iteration.title);
    }
  }
  return GitHubFieldValue::Text(v.text);
}

std::optional<std::string> GitHubServer::ProjectFieldType(std::string_view owner, int number,
                                                          std::string_view field_name) const {
  std::lock_guard lock(state_->mu);
  const Project* project = state_->FindProject(owner, number);
  if (!project) {
    return std::nullopt;
  }
  for (const Field& field : project->fields) {
    if (field.name == field_name) {
      return field.data_type;
    }
  }
  return std::nullopt;
}

std::size_t GitHubServer::MutationCount(std::string_view name) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->mutations.find(name);
  return it == state_->mutations.end() ? 0 : it->second;
}

// ---- Faults and the log ----

void GitHubServer::InjectFault(Fault fault) {
  std::lock_guard lock(state_->mu);
  if (fault.times > 0) {
    state_->faults.push_back(std::move(fault));
  }
}

void GitHubServer::ClearFaults() {
  std::lock_guard lock(state_->mu);
  state_->faults.clear();
}

std::size_t GitHubServer::pending_faults() const {
  std::lock_guard lock(state_->mu);
  return state_->faults.size();
}

std::uint64_t GitHubServer::total_requests() const {
  std::lock_guard lock(state_->mu);
  return state_->total_requests;
}

std::uint64_t GitHubServer::not_modified_count() const {
  std::lock_guard lock(state_->mu);
  return state_->not_modified;
}

std::uint64_t GitHubServer::budget_used() const {
  std::lock_guard lock(state_->mu);
  return state_->budget_used;
}

std::uint64_t GitHubServer::graphql_requests() const {
  std::lock_guard lock(state_->mu);
  return state_->graphql_requests;
}

std::size_t GitHubServer::RequestCount(std::string_view api_path) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->counts.find(api_path);
  return it == state_->counts.end() ? 0 : it->second;
}

std::vector<GitHubServer::RecordedRequest> GitHubServer::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->log;
}

std::optional<GitHubServer::RecordedRequest> GitHubServer::LastRequest() const {
  std::lock_guard lock(state_->mu);
  if (state_->log.empty()) {
    return std::nullopt;
  }
  return state_->log.back();
}

void GitHubServer::ClearRequests() {
  std::lock_guard lock(state_->mu);
  state_->log.clear();
  state_->counts.clear();
  state_->total_requests = 0;
  state_->not_modified = 0;
  state_->budget_used = 0;
  state_->graphql_requests = 0;
  state_->list_requests = 0;
  state_->mutations.clear();
}

void GitHubServer::OnListRequest(std::function<void(std::size_t n)> hook) {
  std::lock_guard lock(state_->mu);
  state_->list_hook = std::move(hook);
}

// ---- Serving ----

namespace {

struct ListParams {
  std::string state = "open";
  std::vector<std::string> labels;
  std::string sort = "created";
  bool ascending = false;
  std::optional<std::int64_t> since_ms;
  std::int64_t per_page = 30;
  std::int64_t page = 1;
};

std::optional<HttpServerResponse> ReadListParams(const HttpServerRequest& request,
                                                 const GitHubServerOptions& options,
                                                 ListParams& out) {
  out.per_page = options.default_per_page;
  if (auto v = request.Param("state")) {
    if (*v != "open" && *v != "closed" && *v != "all") {
      return ValidationFailed("Issue", "state", *v);
    }
    out.state = std::string(*v);
  }
  if (auto v = request.Param("labels")) {
    out.labels = SplitComma(*v);
  }
  if (auto v = request.Param("sort")) {
    if (*v != "created" && *v != "updated" && *v != "comments") {
      return ValidationFailed("Issue", "sort", *v);
    }
    out.sort = std::string(*v);
  }
  if (auto v = request.Param("direction")) {
    if (*v != "asc" && *v != "desc") {
      return ValidationFailed("Issue", "direction", *v);
    }
    out.ascending = *v == "asc";
  }
  if (auto v = request.Param("since")) {
    // GitHub wants a full timestamp; a bare date or garbage is refused.
    auto ms = v->size() >= 19 ? ParseIsoUtc(*v) : std::nullopt;
    if (!ms) {
      return ValidationFailed("Issue", "since", *v);
    }
    out.since_ms = *ms;
  }
  if (auto v = request.Param("per_page")) {
    auto n = ParseInt(*v);
    if (!n || *n < 1) {
      return ValidationFailed("Issue", "per_page", *v);
    }
    out.per_page = std::min<std::int64_t>(*n, options.max_per_page);
  }
  if (auto v = request.Param("page")) {
    auto n = ParseInt(*v);
    if (!n || *n < 1) {
      return ValidationFailed("Issue", "page", *v);
    }
    out.page = *n;
  }
  return std::nullopt;
}

std::int64_t SortKey(const GitHubIssue& issue, std::string_view sort) {
  if (sort == "updated") {
    return issue.updated_at;
  }
  if (sort == "comments") {
    return issue.comments;
  }
  return issue.created_at;
}

// The Link header of page `page` of `last` (empty when there is none).
std::string LinkHeader(std::string_view list_url, std::string_view target, std::int64_t page,
                       std::int64_t last) {
  if (last <= 1 && page <= 1) {
    return "";
  }
  std::string base(list_url);
  base += '?';
  for (std::string_view piece : RawQueryPieces(target)) {
    std::string_view key = piece.substr(0, piece.find('='));
    if (key != "page") {
      base += piece;
      base += '&';
    }
  }
  auto link = [&](std::int64_t n, std::string_view rel) {
    return "<" + base + "page=" + std::to_string(n) + ">; rel=\"" + std::string(rel) + "\"";
  };
  std::vector<std::string> parts;
  if (page > 1) {
    parts.push_back(link(page - 1, "prev"));
  }
  if (page < last) {
    parts.push_back(link(page + 1, "next"));
    parts.push_back(link(last, "last"));
  }
  if (page > 1) {
    parts.push_back(link(1, "first"));
  }
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) {
      out += ", ";
    }
    out += p;
  }
  return out;
}

HttpServerResponse ServeList(const State& s, const HttpServerRequest& request, const Repo& repo) {
  ListParams params;
  if (auto refused = ReadListParams(request, *s.options, params)) {
    return *refused;
  }
  std::vector<const GitHubIssue*> matches;
  for (const auto& [id, record] : s.records) {
    const GitHubIssue& issue = record.issue;
    if (!record.live || !EqualsIgnoreCase(issue.repo, repo.info.full_name)) {
      continue;
    }
    if (params.state != "all" && issue.state != params.state) {
      continue;
    }
    bool labels_ok = std::all_of(params.labels.begin(), params.labels.end(), [&](const std::string& want) {
      return std::any_of(issue.labels.begin(), issue.labels.end(),
                         [&](const std::string& have) { return EqualsIgnoreCase(have, want); });
    });
    if (!labels_ok) {
      continue;
    }
    if (params.since_ms) {
      std::int64_t updated_ms = issue.updated_at * 1000;
      if (s.options->since_inclusive ? updated_ms < *params.since_ms
                                     : updated_ms <= *params.since_ms) {
        continue;
      }
    }
    matches.push_back(&issue);
  }
  std::sort(matches.begin(), matches.end(), [&](const GitHubIssue* a, const GitHubIssue* b) {
    auto ka = std::pair(SortKey(*a, params.sort), a->number);
    auto kb = std::pair(SortKey(*b, params.sort), b->number);
    return params.ascending ? ka < kb : kb < ka;
  });
  auto total = static_cast<std::int64_t>(matches.size());
  std::int64_t last = std::max<std::int64_t>(1, (total + params.per_page - 1) / params.per_page);
  std::int64_t first_index = (params.page - 1) * params.per_page;
  Renderer render(s);
  Value::List items;
  for (std::int64_t i = first_index; i < total && i < first_index + params.per_page; ++i) {
    items.push_back(render.Issue(*matches[static_cast<std::size_t>(i)]));
  }
  HttpServerResponse response = Json(200, Value(std::move(items)).ToJson());
  std::string link = LinkHeader(s.base_url + "/repositories/" + std::to_string(repo.info.id) +
                                    "/issues",
                                request.target, params.page, last);
  if (!link.empty()) {
    response.headers.emplace_back("Link", std::move(link));
  }
  return response;
}

HttpServerResponse ServeIssue(const State& s, const GitHubToken& token, const Repo& repo,
                              std::string_view number_text) {
  auto number = ParseInt(number_text);
  if (!number) {
    return NotFound();
  }
  auto it = s.locations.find({repo.info.id, *number});
  if (it == s.locations.end()) {
    return NotFound();
  }
  const Location& where = it->second;
  if (where.kind == Location::kDeleted) {
    return GitHubError(410, "This issue was deleted",
                       "https://docs.github.com/rest/issues/issues#get-an-issue");
  }
  auto record = s.records.find(where.id);
  if (record == s.records.end()) {
    return NotFound();
  }
  if (where.kind == Location::kMoved) {
    const Repo* to = s.FindRepo(record->second.issue.repo);
    if (!to || !s.CanSee(token, *to)) {
      return NotFound();
    }
    std::string url = s.base_url + "/repositories/" + std::to_string(to->info.id) + "/issues/" +
                      std::to_string(record->second.issue.number);
    HttpServerResponse response = Json(
        301, Value(Value::Object{{"message", Value("Moved Permanently")},
                                 {"url", Value(url)},
                                 {"documentation_url",
                                  Value("https://docs.github.com/rest/issues/issues#get-an-issue")}})
                 .ToJson());
    response.headers.emplace_back("Location", url);
    return response;
  }
  HttpServerResponse response =
      Json(200, Renderer(s).Issue(record->second.issue).ToJson());
  response.headers.emplace_back("Last-Modified", HttpDate(record->second.issue.updated_at));
  return response;
}

HttpServerResponse ServeUser(const State& s, const GitHubToken& token) {
  if (token.kind == GitHubTokenKind::kInstallation) {
    return GitHubError(403, "Resource not accessible by integration",
                       "https://docs.github.com/rest/users/users#get-the-authenticated-user");
  }
  Value user = Renderer(s).User(token.login);
  const github_sample::SampleUser* sample = github_sample::FindSampleUser(token.login);
  Value::Object& o = user.AsObject();
  o["name"] = sample ? Value(sample->name) : Value(nullptr);
  o["email"] = sample && !sample->email.empty() ? Value(sample->email) : Value(nullptr);
  o["company"] = Value(nullptr);
  o["blog"] = Value("");
  o["location"] = Value(nullptr);
  o["bio"] = Value(nullptr);
  o["public_repos"] = Value(2);
  o["followers"] = Value(20);
  o["following"] = Value(0);
  o["created_at"] = Value("2011-01-25T18:44:36Z");
  o["updated_at"] = Value("2024-01-22T12:00:00Z");
  return Json(200, user.ToJson());
}

HttpServerResponse ServeInstallationRepos(const State& s, const GitHubToken& token,
                                          const HttpServerRequest& request) {
  if (token.kind != GitHubTokenKind::kInstallation) {
    return GitHubError(403, "You must authenticate with an installation access token in order to list repositories for an installation.",
                       "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation");
  }
  std::int64_t per_page = s.options->default_per_page;
  std::int64_t page = 1;
  if (auto v = request.Param("per_page"); v && ParseInt(*v) && *ParseInt(*v) > 0) {
    per_page = std::min<std::int64_t>(*ParseInt(*v), s.options->max_per_page);
  }
  if (auto v = request.Param("page"); v && ParseInt(*v) && *ParseInt(*v) > 0) {
    page = *ParseInt(*v);
  }
  Renderer render(s);
  std::vector<const Repo*> visible;
  for (const Repo& repo : s.repos) {
    if (s.CanSee(token, repo)) {
      visible.push_back(&repo);
    }
  }
  Value::List list;
  auto total = static_cast<std::int64_t>(visible.size());
  for (std::int64_t i = (page - 1) * per_page; i < total && i < page * per_page; ++i) {
    list.push_back(render.RepoJson(*visible[static_cast<std::size_t>(i)], true));
  }
  HttpServerResponse response = Json(
      200, Value(Value::Object{{"total_count", Value(total)},
                               {"repository_selection", Value(token.repos ? "selected" : "all")},
                               {"repositories", Value(std::move(list))}})
               .ToJson());
  std::int64_t last = std::max<std::int64_t>(1, (total + per_page - 1) / per_page);
  std::string link = LinkHeader(s.base_url + "/installation/repositories", request.target, page, last);
  if (!link.empty()) {
    response.headers.emplace_back("Link", std::move(link));
  }
  return response;
}

Value BudgetJson(const Budget& b) {
  return Value(Value::Object{{"limit", Value(b.limit)},
                             {"remaining", Value(b.remaining())},
                             {"reset", Value(b.reset)},
                             {"used", Value(b.used)}});
}

HttpServerResponse ServeRateLimit(const State& s) {
  Value core = BudgetJson(s.core);
  Value search(Value::Object{{"limit", Value(30)},
                             {"remaining", Value(30)},
                             {"reset", Value(s.Now() + 60)},
                             {"used", Value(0)}});
  return Json(
      200, Value(Value::Object{{"resources", Value(Value::Object{{"core", core},
                                                                 {"graphql", BudgetJson(s.graphql)},
                                                                 {"search", search}})},
                               {"rate", core}})
               .ToJson());
}

void AddBudgetHeaders(HttpServerHeaders& headers, const Budget& b, std::string_view resource) {
  headers.emplace_back("x-ratelimit-limit", std::to_string(b.limit));
  headers.emplace_back("x-ratelimit-remaining", std::to_string(b.remaining()));
  headers.emplace_back("x-ratelimit-used", std::to_string(b.used));
  headers.emplace_back("x-ratelimit-reset", std::to_string(b.reset));
  headers.emplace_back("x-ratelimit-resource", std::string(resource));
}

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  auto strip = [](std::string_view t) {
    t = TrimSpace(t);
    if (t.starts_with("W/")) {
      t.remove_prefix(2);
    }
    return t;
  };
  for (const std::string& candidate : SplitComma(if_none_match)) {
    if (candidate == "*" || strip(candidate) == strip(etag)) {
      return true;
    }
  }
  return false;
}

std::string_view BearerToken(const HttpServerRequest& request) {
  std::string_view value = TrimSpace(request.Header("authorization").value_or(""));
  auto space = value.find(' ');
  if (space == std::string_view::npos) {
    return "";
  }
  std::string scheme = AsciiLower(value.substr(0, space));
  if (scheme != "bearer" && scheme != "token") {
    return "";
  }
  return TrimSpace(value.substr(space + 1));
}

HttpServerResponse SecondaryLimited(State& s) {
  --s.secondary_count;
  HttpServerResponse response = Json(
      s.secondary_status,
      Value(Value::Object{{"message",
                           Value("You have exceeded a secondary rate limit. Please wait a few "
                                 "minutes before you try again. If you reach out to GitHub Support "
                                 "for help, please include the request ID "
                                 "C4E2:1E7F:5C3A1B:8D1F2E:6650F0A1.")},
                          {"documentation_url", Value(kSecondaryDocs)},
                          {"status", Value(std::to_string(s.secondary_status))}})
          .ToJson());
  response.headers.emplace_back("retry-after", std::to_string(s.secondary_retry_after));
  return response;
}

// REST: the authenticated part. REQUIRES s.mu held.
HttpServerResponse ServeRest(State& s, const HttpServerRequest& request,
                             const GitHubToken& token, std::string_view api_path, bool& is_list) {
  std::vector<std::string_view> parts = SplitPath(api_path);
  bool get = request.method == "GET" || request.method == "HEAD";
  std::int64_t now = s.Now();
  s.core.Roll(now);

  if (parts.size() == 1 && parts[0] == "rate_limit" && get) {
    HttpServerResponse response = ServeRateLimit(s);
    AddBudgetHeaders(response.headers, s.core, "core");
    return response;
  }
  if (s.secondary_count > 0) {
    HttpServerResponse response = SecondaryLimited(s);
    AddBudgetHeaders(response.headers, s.core, "core");
    return response;
  }
  if (s.core.remaining() <= 0) {
    HttpServerResponse response = Json(
        s.options->exhausted_status,
        Value(Value::Object{{"message",
                             Value("API rate limit exceeded for user ID 1. If you reach out to "
                                   "GitHub Support for help, please include the request ID "
                                   "A1B2:3C4D:5E6F70:8192A3:6650F0B2 and timestamp " +
                                   FormatSeconds(now) + " UTC.")},
                            {"documentation_url", Value(kRateDocs)},
                            {"status", Value(std::to_string(s.options->exhausted_status))}})
            .ToJson());
    AddBudgetHeaders(response.headers, s.core, "core");
    return response;
  }

  // Route.
  HttpServerResponse response;
  const Repo* repo = nullptr;
  std::vector<std::string_view> rest;
  bool repo_path = false;
  if (parts.size() >= 3 && parts[0] == "repos") {
    repo_path = true;
    repo = s.FindRepo(std::string(parts[1]) + "/" + std::string(parts[2]));
    rest.assign(parts.begin() + 3, parts.end());
  } else if (parts.size() >= 2 && parts[0] == "repositories") {
    repo_path = true;
    if (auto id = ParseInt(parts[1])) {
      repo = s.FindRepoById(*id);
    }
    rest.assign(parts.begin() + 2, parts.end());
  }
  if (!get) {
    response = NotFound();
  } else if (repo_path) {
    if (!repo || !s.CanSee(token, *repo)) {
      response = NotFound();
    } else if (rest.empty()) {
      response = Json(200, Renderer(s).RepoJson(*repo, true).ToJson());
      response.headers.emplace_back("Last-Modified", HttpDate(repo->created_at));
    } else if (rest.size() == 1 && rest[0] == "issues") {
      is_list = true;
      response = ServeList(s, request, *repo);
    } else if (rest.size() == 2 && rest[0] == "issues") {
      response = ServeIssue(s, token, *repo, rest[1]);
    } else {
      response = NotFound();
    }
  } else if (parts.size() == 1 && parts[0] == "user") {
    response = ServeUser(s, token);
  } else if (parts.size() == 2 && parts[0] == "installation" && parts[1] == "repositories") {
    response = ServeInstallationRepos(s, token, request);
  } else {
    response = NotFound();
  }

  if (response.status == 200 && get) {
    std::string etag = "W/\"" + Fnv1a64Hex(response.body) + Fnv1a64Hex("etag:" + response.body) + "\"";
    response.headers.emplace_back("ETag", etag);
    response.headers.emplace_back("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP");
    if (auto inm = request.Header("if-none-match"); inm && EtagMatches(*inm, etag)) {
      HttpServerResponse not_modified;
      not_modified.status = 304;
      for (auto& [name, value] : response.headers) {
        if (name == "ETag" || name == "Vary" || name == "Last-Modified" || name == "Link") {
          not_modified.headers.emplace_back(name, value);
        }
      }
      ++s.not_modified;
      AddBudgetHeaders(not_modified.headers, s.core, "core");
      return not_modified;
    }
  }
  ++s.core.used;
  ++s.budget_used;
  AddBudgetHeaders(response.headers, s.core, "core");
  if (token.kind == GitHubTokenKind::kClassic) {
    std::string scopes;
    for (const std::string& scope : token.scopes) {
      scopes += (scopes.empty() ? "" : ", ") + scope;
    }
    response.headers.emplace_back("X-OAuth-Scopes", scopes);
    response.headers.emplace_back("X-Accepted-OAuth-Scopes", repo_path ? "repo" : "");
  } else if (repo_path && !rest.empty()) {
    response.headers.emplace_back("X-Accepted-GitHub-Permissions", "issues=read");
  }
  return response;
}

}  // namespace

HttpServerResponse GitHubServer::Handle(const HttpServerRequest& request) {
  State& s = *state_;
  const std::string& prefix = options_.path_prefix;
  std::string_view path = request.path;
  std::string graphql_path = graphql_url().substr(server_->base_url().size());
  bool graphql = path == graphql_path;
  bool under_prefix =
      path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
  std::string api_path(graphql            ? std::string_view("/graphql")
                       : under_prefix     ? path.substr(prefix.size())
                                          : path);
  bool list = false;
  {
    std::vector<std::string_view> parts = SplitPath(api_path);
    list = request.method == "GET" &&
           ((parts.size() == 4 && parts[0] == "repos" && parts[3] == "issues") ||
            (parts.size() == 3 && parts[0] == "repositories" && parts[2] == "issues"));
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
    for (auto it = s.faults.begin(); it != s.faults.end(); ++it) {
      const std::string& p = it->path;
      bool matches = p == "*" || api_path == p ||
                     (api_path.starts_with(p) && (p.ends_with('/') || api_path[p.size()] == '/'));
      if (matches) {
        fault = *it;
        if (--it->times <= 0) {
          s.faults.erase(it);
        }
        break;
      }
    }
  }
  if (hook) {
    hook(list_number);
  }

  std::string graphql_query;
  HttpServerResponse response;
  if (fault && fault->status) {
    response.status = *fault->status;
    response.headers = fault->headers;
    response.body = fault->body;
  } else {
    std::lock_guard lock(s.mu);
    const GitHubToken* token = s.FindToken(BearerToken(request));
    if (!graphql && !under_prefix) {
      response = NotFound();
    } else if (!token) {
      response = GitHubError(401, "Bad credentials",
                             graphql ? "https://docs.github.com/graphql" : kDocs);
    } else if (graphql && s.secondary_count > 0) {
      ++s.graphql_requests;
      response = SecondaryLimited(s);
      AddBudgetHeaders(response.headers, s.graphql, "graphql");
    } else if (graphql) {
      ++s.graphql_requests;
      if (auto parsed = ParseJson(request.body); parsed && parsed->IsObject()) {
        graphql_query = std::string(parsed->StringOr("query"));
      }
      response = github_sample::ServeGraphQL(s, *token, request);
      if (token->kind == GitHubTokenKind::kClassic) {
        // As on every API answer to a classic token: what it was granted.
        std::string scopes;
        for (const std::string& scope : token->scopes) {
          scopes += (scopes.empty() ? "" : ", ") + scope;
        }
        response.headers.emplace_back("X-OAuth-Scopes", scopes);
      }
    } else {
      response = ServeRest(s, request, *token, api_path, list);
    }
  }
  if (fault) {
    response.delay = fault->delay;
    response.drop_connection = fault->drop_connection;
    response.truncate_body_at = fault->truncate_body_at;
  }
  if (response.status != 304 && !response.body.empty() &&
      std::none_of(response.headers.begin(), response.headers.end(), [](const auto& h) {
        return AsciiLower(h.first) == "content-type";
      })) {
    response.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  }
  response.headers.emplace_back("X-GitHub-Api-Version-Selected", "2022-11-28");
  response.headers.emplace_back(
      "X-GitHub-Request-Id", "C0DE:" + Fnv1a64Hex(std::to_string(list_number) + request.target).substr(0, 8));

  std::lock_guard lock(s.mu);
  RecordedRequest record;
  record.method = request.method;
  record.target = request.target;
  record.api_path = api_path;
  record.if_none_match = request.Header("if-none-match").has_value();
  record.authorization = request.Header("authorization").has_value();
  record.status = response.drop_connection ? 0 : response.status;
  record.faulted = fault.has_value();
  record.graphql_query = std::move(graphql_query);
  s.log.push_back(std::move(record));
  return response;
}

}  // namespace boardsync

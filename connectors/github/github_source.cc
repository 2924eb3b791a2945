#include "connectors/github/github_source.h"

#include <algorithm>
#include <utility>

#include "connectors/common/http_status.h"
#include "connectors/common/next_link.h"
#include "connectors/github/rate_limit.h"
#include "connectors/github/repos.h"
#include "core/log.h"
#include "core/text.h"
#include "core/time.h"
#include "core/url.h"

namespace boardsync {
namespace {

// GitHub's cap on per_page.
constexpr int kMaxPageSize = 100;
// Issues a probe of a sliced pull asks for: pull requests take places in
// the list too, so more than the engine's few.
constexpr int kProbePageSize = 30;
// Issues fetched by key handed on together.
constexpr std::size_t kKeysPerPage = 25;

// The per_page a window's list asks for.
int PerPage(const WindowRequest& window, bool light) {
  const int per_page = std::clamp(window.page_size, 1, kMaxPageSize);
  return light && window.probe ? std::max(per_page, kProbePageSize) : per_page;
}
// Node ids GraphQL's nodes(ids:) takes at once.
constexpr std::size_t kProjectBatch = 100;

// A session: {"login": "octocat", "etags": {list URL: ETag}}.
struct SavedSession {
  std::string login;
  std::map<std::string, std::string> etags;
};

std::optional<SavedSession> ReadSession(const TrackerSession& session) {
  auto doc = ParseJsonDocument(session.data);
  if (!doc || !doc->Root().IsObject()) {
    return std::nullopt;
  }
  SavedSession saved;
  saved.login = std::string(doc->Root().StringOr("login"));
  if (saved.login.empty()) {
    return std::nullopt;  // not ours
  }
  if (auto etags = doc->Root().FindNonNull("etags"); etags && etags->IsObject()) {
    etags->ForEachMember([&](std::string_view url, JsonView etag) {
      if (etag.IsString() && !etag.AsString().empty()) {
        saved.etags.emplace(url, etag.AsString());
      }
    });
  }
  return saved;
}

// GitHub's `since`: whole seconds, "2024-05-01T10:00:00Z".
std::string SinceText(std::int64_t ms) {
  std::string text = FormatIsoUtc(FloorToGranule(ms, 1000));
  if (text.size() == 24 && text.ends_with(".000Z")) {
    text.erase(19, 4);
  }
  return text;
}

// GitHub's own words for a failed answer: ": <message>", redacted and cut
// to one line's worth; "" without one.
std::string ReasonSuffix(const HttpResponse& response) {
  const std::string reason = GitHubReason(response);
  return reason.empty() ? "" : ": " + reason;
}

std::string IssueToken(const std::string& repo) {
  return "a fine-grained token needs " + repo +
         " among its repositories with the permission Issues: read (a classic token: the "
         "`repo` scope, or `public_repo` for public repositories only)";
}

}  // namespace

// What one pull asks, and what it learns for the session.
struct GitHubSource::Pulling {
  const PullRequest& request;
  GitHubFieldSelection selection;
  std::stop_token stop;
  // ETags the session holds: list URL → ETag, sent as If-None-Match on the
  // first request of a window for exactly that URL.
  std::map<std::string, std::string> sent_etags;
  // Whether this pull's ETags make the next session's: a pull by update
  // time from a cursor that hands on everything it reads.
  bool record_etags = false;
  std::mutex mu;  // guards `recorded` (a sliced pull's readers)
  std::map<std::string, std::string> recorded;
};

GitHubSource::GitHubSource(GitHubOptions options, HttpClient& http)
    : options_(std::move(options)),
      transport_(
          GitHubTransportOptions{
              .connection_name = options_.connection_name,
              .token = options_.token,
              .timeout = options_.timeout,
              .max_attempts = options_.max_attempts,
              .retry_backoff = options_.retry_backoff,
              .max_secondary_wait = options_.max_secondary_wait,
              .activity = "sync",
              .stopped = "pull",
          },
          http) {}

Error GitHubSource::Contextual(std::string message, ErrorCode code, bool retriable) const {
  return transport_.Contextual(std::move(message), code, retriable);
}

std::string GitHubSource::RepoUrl(const std::string& repo) const {
  return options_.api + "/repos/" + repo;
}

std::string GitHubSource::ListUrl(const std::string& repo, const WindowRequest& window,
                                  bool light) const {
  std::string url = RepoUrl(repo) + "/issues?state=" + options_.state;
  if (!options_.labels.empty()) {
    std::string labels;
    for (const std::string& label : options_.labels) {
      labels += (labels.empty() ? "" : ",") + label;
    }
    url += "&labels=" + PercentEncode(labels);
  }
  const int per_page = PerPage(window, light);
  url += "&sort=updated&direction=";
  url += window.newest_first ? "desc" : "asc";
  url += "&per_page=" + std::to_string(per_page);
  if (!window.newest_first && window.from_ms && *window.from_ms > 0) {
    url += "&since=" + PercentEncode(SinceText(*window.from_ms));
  }
  return url;
}

Result<HttpResponse> GitHubSource::Get(const std::string& url, std::stop_token stop,
                                       const HttpHeaders& headers) const {
  return transport_.Send("GET", url, "", "core", std::move(stop), /*retry=*/true, headers);
}

Error GitHubSource::StatusError(const HttpResponse& response, std::string_view what,
                                std::string_view repo) const {
  const std::string status = " (HTTP " + std::to_string(response.status) + ")";
  switch (response.status) {
    case 401:
      return Contextual("GitHub did not accept the token" + status + ReasonSuffix(response) +
                            ": it may be wrong, expired or revoked",
                        ErrorCode::kAuth);
    case 403: {
      std::string hint;
      if (auto needed = response.Header("x-accepted-github-permissions")) {
        hint = " (a fine-grained token needs: " + std::string(*needed) + ")";
      } else if (!repo.empty()) {
        hint = "; " + IssueToken(std::string(repo));
      }
      return Contextual("the token may not " + std::string(what) + status +
                            ReasonSuffix(response) + hint,
                        ErrorCode::kAuth);
    }
    case 404:
      if (!repo.empty()) {
        return Contextual("repository " + std::string(repo) +
                              " does not exist or the token cannot see it" + status + ": " +
                              IssueToken(std::string(repo)),
                          ErrorCode::kAuth);
      }
      return Contextual("no GitHub API at " + options_.api + " to " + std::string(what) + status +
                            ": check base_url (GitHub Enterprise Server: https://host/api/v3)",
                        ErrorCode::kConfig);
    case 410:
      if (!repo.empty()) {
        return Contextual("GitHub answered 410 Gone to " + std::string(what) + status +
                              ReasonSuffix(response) + ": are issues turned off in " +
                              std::string(repo) + "?",
                          ErrorCode::kConfig);
      }
      break;
    default:
      break;
  }
  if (auto error = HttpStatusError(
          response, TrackerAnswerContext{options_.connection_name, "GitHub",
                                         [](const HttpResponse& r) {
                                           return GitHubErrorMessage(r.body);
                                         }})) {
    return *error;
  }
  return Contextual("unexpected answer from GitHub" + status, ErrorCode::kBadResponse);
}

Result<JsonDocument> GitHubSource::Read(const HttpResponse& response, std::string_view what,
                                        std::string_view repo) const {
  if (!response.Ok()) {
    return std::unexpected(StatusError(response, what, repo));
  }
  return ReadJsonAnswer(response, TrackerAnswerContext{options_.connection_name, "GitHub", {}});
}

Result<TrackerIdentity> GitHubSource::CheckToken(std::stop_token stop) {
  auto response = Get(options_.api + "/user", stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  TrackerIdentity identity;
  if (response->status == 403 &&
      GitHubErrorMessage(response->body).find("Resource not accessible by integration") !=
          std::string::npos) {
    // A GitHub App installation token is no user: /user refuses it. What
    // the installation may read says that the token works.
    auto installation = Get(options_.api + "/installation/repositories?per_page=1", stop);
    if (!installation) {
      return std::unexpected(installation.error());
    }
    auto doc = Read(*installation, "list the installation's repositories", "");
    if (!doc) {
      return std::unexpected(doc.error());
    }
    identity.login = "github-app-installation";
    identity.name = "a GitHub App installation";
    if (auto total = doc->Root().FindNonNull("total_count")) {
      std::int64_t count = 0;
      if (AsInteger(*total, count)) {
        identity.name += " with access to " + std::to_string(count) + " repositories";
      }
    }
  } else {
    auto doc = Read(*response, "read its own user (/user)", "");
    if (!doc) {
      return std::unexpected(doc.error());
    }
    const JsonView me = doc->Root();
    identity.login = std::string(me.IsObject() ? me.StringOr("login") : "");
    if (identity.login.empty()) {
      return std::unexpected(
          Contextual("GitHub's /user answer names no user", ErrorCode::kAuth));
    }
    identity.name = std::string(me.StringOr("name", identity.login));
    if (identity.name.empty()) {
      identity.name = identity.login;
    }
  }
  token_checked_ = true;
  std::lock_guard lock(mu_);
  login_ = identity.login;
  return identity;
}

Result<TrackerIdentity> GitHubSource::WhoAmI() {
  auto identity = CheckToken({});
  if (!identity) {
    return identity;
  }
  for (const std::string& repo : options_.repos) {
    auto response = Get(RepoUrl(repo), {});
    if (!response) {
      return std::unexpected(response.error());
    }
    auto doc = Read(*response, "read repository " + repo, repo);
    if (!doc) {
      return std::unexpected(doc.error());
    }
    if (auto has_issues = doc->Root().FindNonNull("has_issues");
        has_issues && has_issues->IsBool() && !has_issues->AsBool()) {
      return std::unexpected(Contextual(
          "issues are turned off in repository " + repo + ": there is nothing to read",
          ErrorCode::kConfig));
    }
  }
  identity->projects = static_cast<int>(options_.repos.size());
  identity->reach = options_.repos.size() == 1
                        ? "the configured repository"
                        : "the " + std::to_string(options_.repos.size()) + " configured repositories";
  return identity;
}

Result<WindowPage> GitHubSource::FetchWindow(Pulling& pull, const std::string& repo,
                                             const WindowRequest& window) const {
  const bool light = window.probe || pull.request.ids_only;
  const bool first = window.token.empty();
  const std::string url = first ? ListUrl(repo, window, light) : window.token;
  HttpHeaders headers;
  std::optional<std::string> sent_etag;
  if (first) {
    if (auto it = pull.sent_etags.find(url); it != pull.sent_etags.end()) {
      sent_etag = it->second;
      headers.emplace_back("If-None-Match", it->second);
    }
  }
  auto response = Get(url, pull.stop, std::move(headers));
  if (!response) {
    return std::unexpected(response.error());
  }
  if (response->status == 304) {
    if (!sent_etag) {
      return std::unexpected(Contextual(
          "GitHub answered 304 Not Modified to a request that named no ETag",
          ErrorCode::kBadResponse));
    }
    // The list from this `since` is what an earlier complete pull read
    // whole and handed on: nothing new in this window.
    if (pull.record_etags) {
      std::lock_guard lock(pull.mu);
      pull.recorded[url] = *sent_etag;
    }
    return WindowPage{};
  }
  const std::string what = "list the issues of " + repo;
  auto doc = Read(*response, what, repo);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  static const std::vector<std::string> kNoMembers;
  auto list = DecodeGitHubIssueList(doc->Root(), repo,
                                    light ? kNoMembers : pull.selection.members);
  if (!list) {
    return std::unexpected(list.error().Wrap("connection " + options_.connection_name));
  }
  std::optional<std::string> next;
  if (auto link = response->Header("link")) {
    next = FindLink(*link, "next");
  }
  WindowPage page;
  if (next) {
    auto checked = LinkOnApi(*next, response->url.empty() ? url : response->url, options_.api);
    if (!checked) {
      return std::unexpected(checked.error().Wrap("connection " + options_.connection_name));
    }
    page.next_token = std::move(*checked);
  }
  // GitHub has no upper bound: the list runs on past the range. Sorted by
  // `updated`, what follows an entry past it lies past it too.
  const bool past_range =
      window.to_ms && list->newest_ms && *list->newest_ms > *window.to_ms && !window.newest_first;
  if (past_range) {
    page.next_token.clear();
  }
  if (list->pull_requests > 0 && list->newest_ms && !window.newest_first) {
    // Pull requests are dropped, but they were read: the window moves on
    // past them (and, for entries past the range, no further than it).
    page.read_through_ms =
        window.to_ms ? std::min(*list->newest_ms, *window.to_ms) : *list->newest_ms;
  }
  // The ETag of an answer that was its window's whole answer, all of it
  // within the range (else the next sync's 304 would hide what was dropped
  // for lying past it), for the next session. And only of a page with room
  // left: a full first page stays the same while later changes go to the
  // page after it, and its 304 would hide them.
  const std::size_t entries = list->issues.size() + list->pull_requests;
  const bool room_left = entries < static_cast<std::size_t>(PerPage(window, light));
  if (pull.record_etags && first && !next && !past_range && room_left) {
    if (auto etag = response->Header("etag"); etag && !etag->empty()) {
      std::lock_guard lock(pull.mu);
      pull.recorded[url] = std::string(*etag);
    }
  }
  if (!light) {
    if (auto added = AddProjectValues(pull, list->issues, list->node_ids); !added) {
      return std::unexpected(added.error());
    }
  }
  page.issues = std::move(list->issues);
  return page;
}

Result<void> GitHubSource::PullRepos(Pulling& pull, const PageSink& on_page,
                                     std::stop_source& cancel) const {
  UpdatedPullOptions engine;
  engine.connection_name = options_.connection_name;
  engine.granularity_ms = UpdatedGranularityMs();
  engine.paging = WindowPaging::kToken;
  engine.max_page_size = kMaxPageSize;
  // Whether `since` means "at or after" (older documentation) or "after"
  // (newer) is not settled: a second earlier covers both readings.
  engine.widen_from = [](std::int64_t from_ms) { return from_ms - 1000; };

  const PullRequest& request = pull.request;
  const std::size_t limit = request.limit;
  std::size_t delivered = 0;
  // The newest `updated` any repository handed on, and the newest
  // through_ms handed to `on_page`.
  std::optional<std::int64_t> newest;
  std::optional<std::int64_t> said;
  for (std::size_t i = 0; i < options_.repos.size(); ++i) {
    const std::string& repo = options_.repos[i];
    const bool last = i + 1 == options_.repos.size();
    PullRequest one = request;
    one.page_size = request.ids_only || request.page_size <= 0 ? kMaxPageSize : request.page_size;
    if (limit > 0) {
      one.limit = limit - delivered;
    }
    auto pulled = PullByUpdated(
        one, engine,
        [this, &pull, &repo](const WindowRequest& window) {
          return FetchWindow(pull, repo, window);
        },
        [&](IssuePage page) -> Result<void> {
          delivered += page.issues.size();
          if (page.through_ms) {
            newest = std::max(newest.value_or(*page.through_ms), *page.through_ms);
          }
          // The cursor is the connection's, not the repository's: while
          // repositories remain to be read, a page of an earlier one says
          // nothing about progress (the unread ones may hold issues older
          // than its through_ms). Pages of the last one may: every earlier
          // repository was read to its end.
          if (!last) {
            page.through_ms.reset();
          } else if (page.through_ms) {
            said = std::max(said.value_or(*page.through_ms), *page.through_ms);
          }
          if (page.issues.empty() && !page.through_ms) {
            return {};
          }
          return on_page(std::move(page));
        },
        cancel);
    if (!pulled) {
      return pulled;
    }
    if (limit > 0 && delivered >= limit) {
      return {};  // the rest is not read: no more progress to report
    }
  }
  // Every repository was read to its end: the newest `updated` handed on
  // holds for all of them (an earlier repository's may be the newest).
  if (newest && (!said || *newest > *said)) {
    return on_page(IssuePage{{}, newest});
  }
  return {};
}

Result<void> GitHubSource::PullKeys(Pulling& pull, const PageSink& emit) const {
  std::vector<Issue> issues;
  std::vector<std::string> node_ids;
  auto flush = [&]() -> Result<void> {
    if (issues.empty()) {
      return {};
    }
    if (auto added = AddProjectValues(pull, issues, node_ids); !added) {
      return added;
    }
    node_ids.clear();
    return emit(IssuePage{std::exchange(issues, {}), std::nullopt});
  };
  for (const std::string& key : pull.request.keys) {
    auto ref = ParseGitHubKey(key);
    std::optional<std::string> repo = ref ? ConfiguredRepo(options_.repos, ref->repo)
                                          : std::nullopt;
    if (!repo) {
      // Not an issue of this connection's repositories (any more): as if
      // gone, so the caller forgets it.
      Log(LogLevel::kDebug, "A key names no issue of the connection's repositories; skipped.",
          {{"connection", options_.connection_name}, {"key", key}});
      continue;
    }
    const std::string url = RepoUrl(*repo) + "/issues/" + std::to_string(ref->number);
    auto response = Get(url, pull.stop);
    if (!response) {
      return std::unexpected(response.error());
    }
    if (response->status == 404 || response->status == 410) {
      continue;  // deleted (410), or deleted or moved out of the token's sight (404)
    }
    // The HTTP client follows a same-origin redirect (301: a transferred
    // issue): where it landed must still be the API.
    if (!response->url.empty() && response->url != url) {
      if (auto on_api = LinkOnApi(response->url, url, options_.api); !on_api) {
        return std::unexpected(on_api.error().Wrap("connection " + options_.connection_name));
      }
    }
    auto doc = Read(*response, "read issue " + key, *repo);
    if (!doc) {
      return std::unexpected(doc.error());
    }
    const JsonView json = doc->Root();
    if (IsGitHubPullRequest(json)) {
      continue;  // a pull request under that number: never an item
    }
    std::string owner_repo = *repo;
    const std::string named = json.IsObject() ? GitHubRepoOfUrl(json.StringOr("repository_url"))
                                              : std::string();
    if (!named.empty() && !SameGitHubRepo(named, *repo)) {
      // Transferred: kept only in a repository of this connection, under
      // its key there.
      auto moved = ConfiguredRepo(options_.repos, named);
      if (!moved) {
        continue;
      }
      owner_repo = *moved;
    }
    auto issue = DecodeGitHubIssue(json, owner_repo, pull.selection.members);
    issues.push_back(issue ? std::move(*issue)
                           : UndecodedGitHubIssue(json, owner_repo, issue.error().message));
    node_ids.emplace_back(json.IsObject() ? json.StringOr("node_id") : "");
    if (issues.size() >= kKeysPerPage) {
      if (auto flushed = flush(); !flushed) {
        return flushed;
      }
    }
  }
  return flush();
}

Result<void> GitHubSource::Pull(const PullRequest& request, const PageSink& on_page) {
  std::stop_source cancel;
  std::stop_callback forward(request.stop, [&cancel] { cancel.request_stop(); });

  // The token first, unless a session from an earlier pull vouches for it.
  const std::optional<SavedSession> saved =
      request.session ? ReadSession(*request.session) : std::nullopt;
  if (saved) {
    std::lock_guard lock(mu_);
    login_ = saved->login;
  } else if (!token_checked_) {
    if (auto me = CheckToken(cancel.get_token()); !me) {
      return std::unexpected(me.error());
    }
  }

  Pulling pull{request};
  pull.selection = SelectGitHubFields(request.fields);
  pull.stop = cancel.get_token();
  if (saved) {
    pull.sent_etags = saved->etags;
  }
  // A pull by key, of ids only, with a limit (which may stop within an
  // answer) or without a lower bound (a full pass: the next incremental
  // pull asks other URLs) keeps the ETags as they were.
  pull.record_etags = request.keys.empty() && !request.ids_only && request.limit == 0 &&
                      request.updated_from_ms.has_value();
  if (!request.keys.empty()) {
    return Pipelined([&](const PageSink& emit) { return PullKeys(pull, emit); }, on_page, cancel);
  }
  if (auto pulled = PullRepos(pull, on_page, cancel); !pulled) {
    return pulled;
  }
  if (pull.record_etags) {
    std::lock_guard lock(mu_);
    etags_ = std::move(pull.recorded);
  }
  return {};
}

std::optional<TrackerSession> GitHubSource::Session() const {
  std::lock_guard lock(mu_);
  if (login_.empty()) {
    return std::nullopt;
  }
  Value::Object etags;
  for (const auto& [url, etag] : etags_) {
    etags.emplace(url, Value(etag));
  }
  Value::Object session;
  session["login"] = Value(login_);
  session["etags"] = Value(std::move(etags));
  return TrackerSession{Value(std::move(session)).ToJson()};
}

Result<JsonDocument> GitHubSource::ReadGraphQl(const HttpResponse& response,
                                               std::string_view what) const {
  if (!response.Ok()) {
    return std::unexpected(StatusError(response, what, ""));
  }
  auto doc = ReadJsonAnswer(response, TrackerAnswerContext{options_.connection_name, "GitHub", {}});
  if (!doc) {
    return doc;
  }
  if (auto errors = ReadGitHubGraphQlErrors(doc->Root()); errors && errors->rate_limited) {
    // GraphQL says so with HTTP 200; its budget is its own.
    const GitHubRateHeaders headers = ReadGitHubRateHeaders(response);
    return std::unexpected(Contextual(
        "GitHub's GraphQL rate limit for this token is spent" +
            (headers.reset_ms ? " until " + FormatIsoUtc(*headers.reset_ms) : std::string()) +
            " (to " + std::string(what) + "); the next sync after that goes on",
        ErrorCode::kRateLimited, /*retriable=*/true));
  }
  return doc;
}

Result<GitHubProjectInfo> GitHubSource::ResolveProject(std::stop_token stop) const {
  std::lock_guard lock(project_mu_);
  if (project_) {
    return *project_;
  }
  const GitHubProject& project = *options_.project;
  const std::string named =
      "project " + std::to_string(project.number) + " of " + project.owner;
  const std::string what = "read " + named + " (GraphQL)";
  auto response = transport_.Send("POST", GitHubGraphQlUrl(options_.api),
                                  GitHubProjectQuery(project.owner, project.number), "graphql",
                                  stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc = ReadGraphQl(*response, what);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  auto found = DecodeGitHubProject(doc->Root());
  if (!found) {
    return std::unexpected(found.error().Wrap("connection " + options_.connection_name));
  }
  if (!*found) {
    // Asked as an organization's and a user's at once: one of them is
    // always NOT_FOUND. Only when neither has it do the errors tell why.
    const auto errors = ReadGitHubGraphQlErrors(doc->Root());
    if (errors && errors->insufficient_scopes) {
      return std::unexpected(Contextual(
          "the token may not " + what + ": " + errors->message +
              " (a classic token needs the read:project scope; a GitHub App, the "
              "organization permission Projects: read)",
          ErrorCode::kAuth));
    }
    return std::unexpected(Contextual(
        named + " was not found, or the token cannot see it" +
            (errors && !errors->message.empty() ? " (" + errors->message + ")" : std::string()) +
            ": check `project` (owner and number as in the project's URL, "
            "https://github.com/orgs/<owner>/projects/<number>) and that the token may read it "
            "(classic: read:project)",
        ErrorCode::kConfig));
  }
  project_ = std::move(**found);
  return *project_;
}

Result<void> GitHubSource::AddProjectValues(Pulling& pull, std::vector<Issue>& issues,
                                            const std::vector<std::string>& node_ids) const {
  const std::vector<std::string>& names = pull.selection.others;
  if (!options_.project || names.empty() || issues.empty()) {
    return {};
  }
  auto project = ResolveProject(pull.stop);
  if (!project) {
    return std::unexpected(project.error());
  }
  // The issues that have a node id (undecodable ones keep no fields).
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < issues.size() && i < node_ids.size(); ++i) {
    if (issues[i].decode_error.empty() && !node_ids[i].empty()) {
      asked.push_back(i);
    }
  }
  for (std::size_t first = 0; first < asked.size(); first += kProjectBatch) {
    const std::size_t end = std::min(asked.size(), first + kProjectBatch);
    std::vector<std::string> ids;
    for (std::size_t k = first; k < end; ++k) {
      ids.push_back(node_ids[asked[k]]);
    }
    const std::string what = "read the project fields of " + std::to_string(ids.size()) +
                             " issues (GraphQL)";
    auto response = transport_.Send("POST", GitHubGraphQlUrl(options_.api),
                                    GitHubProjectValuesQuery(ids), "graphql", pull.stop);
    if (!response) {
      return std::unexpected(response.error());
    }
    auto doc = ReadGraphQl(*response, what);
    if (!doc) {
      return std::unexpected(doc.error());
    }
    auto values = DecodeGitHubProjectValues(doc->Root(), project->id, names);
    if (!values) {
      const auto errors = ReadGitHubGraphQlErrors(doc->Root());
      return std::unexpected(Contextual(
          "GitHub could not " + what +
              (errors ? ": " + errors->message : ": " + values.error().message),
          errors && errors->insufficient_scopes ? ErrorCode::kAuth : ErrorCode::kBadResponse));
    }
    for (std::size_t k = first; k < end; ++k) {
      Issue& issue = issues[asked[k]];
      auto found = values->find(node_ids[asked[k]]);
      for (const std::string& name : names) {
        Value value;
        if (found != values->end()) {
          if (auto it = found->second.find(name); it != found->second.end()) {
            value = std::move(it->second);
          }
        }
        issue.fields.insert_or_assign(name, std::move(value));
      }
    }
  }
  return {};
}

Result<std::vector<std::string>> GitHubSource::UnknownFields(
    const std::vector<std::string>& names) {
  GitHubFieldSelection selection = SelectGitHubFields(names);
  if (!options_.project || selection.others.empty()) {
    return selection.others;
  }
  auto project = ResolveProject({});
  if (!project) {
    return std::unexpected(project.error());
  }
  std::vector<std::string> unknown;
  for (const std::string& name : selection.others) {
    if (std::find(project->fields.begin(), project->fields.end(), name) ==
        project->fields.end()) {
      unknown.push_back(name);
    }
  }
  return unknown;
}

}  // namespace boardsync

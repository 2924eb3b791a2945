#include "connectors/gitlab/gitlab_source.h"

#include <algorithm>
#include <charconv>
#include <system_error>
#include <utility>

#include "connectors/common/http_status.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/text.h"
#include "core/time.h"

namespace boardsync {
namespace {

constexpr int kDefaultPageSize = 100;
// GitLab's cap on per_page, for offset and keyset pages alike.
constexpr int kMaxPageSize = 100;
// A page token that is no URL: where the list would go on was refused
// (off the API), and this is why. Following it fails the pull.
constexpr std::string_view kRefusedLink = "refused:";

// A session: {"user": the token's username, "scope": "project" | "group",
// "path": the configured path, "id": its numeric id}. With it, an
// incremental pull asks neither /user nor the project: one list request
// when nothing changed. It holds for the configured path only.
struct SavedSession {
  std::string user;
  std::int64_t id = 0;
};

std::string_view ScopeName(GitLabScope scope) {
  return scope == GitLabScope::kProject ? "project" : "group";
}

std::optional<SavedSession> ReadSession(const TrackerSession& session, GitLabScope scope,
                                        std::string_view path) {
  auto doc = ParseJsonDocument(session.data);
  if (!doc || !doc->Root().IsObject()) {
    return std::nullopt;
  }
  const JsonView root = doc->Root();
  SavedSession saved;
  saved.user = std::string(root.StringOr("user"));
  auto id = root.Find("id");
  if (saved.user.empty() || root.StringOr("scope") != ScopeName(scope) ||
      root.StringOr("path") != path || !id || !AsInteger(*id, saved.id) || saved.id < 1) {
    return std::nullopt;
  }
  return saved;
}

// GitLab's own words in an error answer: {"message": "..."} (or an object
// of field → messages, or a list), OAuth's {"error", "error_description"};
// "" for any other body.
std::string GitLabReasonText(const HttpResponse& response) {
  auto doc = ParseJsonDocument(response.body);
  if (!doc || !doc->Root().IsObject()) {
    return "";
  }
  const JsonView root = doc->Root();
  if (std::string_view description = root.StringOr("error_description"); !description.empty()) {
    return std::string(description);
  }
  auto message = root.FindNonNull("message");
  std::string reason;
  auto add = [&reason](std::string_view text) {
    if (!text.empty()) {
      reason += (reason.empty() ? "" : "; ") + std::string(text);
    }
  };
  if (message && message->IsString()) {
    add(message->AsString());
  } else if (message && message->IsList()) {
    for (JsonView m : message->Elements()) {
      if (m.IsString()) {
        add(m.AsString());
      }
    }
  } else if (message && message->IsObject()) {
    message->ForEachMember([&](std::string_view field, JsonView messages) {
      if (messages.IsString()) {
        add(std::string(field) + " " + std::string(messages.AsString()));
      } else if (messages.IsList()) {
        for (JsonView m : messages.Elements()) {
          if (m.IsString()) {
            add(std::string(field) + " " + std::string(m.AsString()));
          }
        }
      }
    });
  }
  return reason.empty() ? std::string(root.StringOr("error")) : reason;
}

// ": <reason>", redacted and cut to one line's worth; "" without one.
std::string GitLabReason(const HttpResponse& response) {
  constexpr std::size_t kMaxReason = 300;
  std::string reason = Redact(GitLabReasonText(response)).substr(0, kMaxReason);
  std::replace(reason.begin(), reason.end(), '\n', ' ');
  return reason.empty() ? "" : ": " + reason;
}

// A 403 that says the token lacks a scope (OAuth's insufficient_scope, in
// the body or in WWW-Authenticate), not that its user lacks access.
bool InsufficientScope(const HttpResponse& response) {
  if (auto header = response.Header("www-authenticate");
      header && header->find("insufficient_scope") != std::string_view::npos) {
    return true;
  }
  auto doc = ParseJsonDocument(response.body);
  return doc && doc->Root().IsObject() && doc->Root().StringOr("error") == "insufficient_scope";
}

// RateLimit-Reset: Unix seconds.
std::optional<std::int64_t> RateLimitResetMs(const HttpResponse& response) {
  auto header = response.Header("ratelimit-reset");
  if (!header) {
    return std::nullopt;
  }
  const std::string_view text = TrimSpace(*header);
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds < 0 ||
      seconds > kMaxIsoMs / 1000) {
    return std::nullopt;
  }
  return seconds * 1000;
}

}  // namespace

// What one pull asks: the list's filters, what to decode, cancellation.
struct GitLabSource::Search {
  GitLabListQuery list;          // scope, id, labels, state
  GitLabDecodeContext decode;    // the mapping's names
  GitLabDecodeContext identity;  // no names: probes and ids_only
  bool ids_only = false;
  std::stop_token stop;
};

GitLabSource::GitLabSource(GitLabOptions options, HttpClient& http)
    : options_(std::move(options)), http_(http), auth_(HttpAuth::Bearer(options_.token)) {
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds wait, std::stop_token stop) {
      SleepUnlessStopped(wait, std::move(stop));
    };
  }
  if (!options_.now_ms) {
    options_.now_ms = &NowMs;
  }
}

std::string GitLabSource::Api() const { return options_.root + "/api/v4"; }

Error GitLabSource::Contextual(std::string message, ErrorCode code, bool retriable) const {
  return Error{code, "connection " + options_.connection_name + ": " + std::move(message),
               retriable};
}

Result<HttpResponse> GitLabSource::Get(const std::string& url, std::stop_token stop) const {
  HttpRequest request;
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.auth = auth_;
  request.timeout = options_.timeout;
  request.stop = stop;
  for (bool waited = false;; waited = true) {
    auto response = http_.Send(request);
    if (!response) {
      return std::unexpected(response.error().Wrap("connection " + options_.connection_name));
    }
    // The HTTP client has honoured Retry-After over its attempts already.
    // Without one, GitLab may still say when its window resets: wait for
    // that once if it is near, never ask again and again.
    if (response->status != 429 || waited || response->Header("retry-after")) {
      return response;
    }
    const auto reset_ms = RateLimitResetMs(*response);
    if (!reset_ms) {
      return response;
    }
    // At least a second: a reset already past (clock skew) is no reason to
    // ask again at once.
    const std::int64_t wait_ms = std::max<std::int64_t>(*reset_ms - options_.now_ms(), 1000);
    if (wait_ms > options_.max_rate_limit_wait.count()) {
      return response;
    }
    Log(LogLevel::kWarn, "GitLab's rate limit was reached; waiting for its reset.",
        {{"connection", options_.connection_name}, {"wait_ms", std::to_string(wait_ms)}});
    options_.sleep(std::chrono::milliseconds(wait_ms), stop);
    if (stop.stop_requested()) {
      return std::unexpected(Contextual("cancelled while waiting for GitLab's rate limit to reset",
                                        ErrorCode::kCancelled));
    }
  }
}

Result<JsonDocument> GitLabSource::Read(const HttpResponse& response, std::string_view what,
                                        std::string_view not_found) const {
  const std::string status = " (HTTP " + std::to_string(response.status) + ")";
  switch (response.status) {
    case 401:
      return std::unexpected(Contextual(
          "GitLab did not accept the token" + status + GitLabReason(response) +
              ": it may be wrong, expired or revoked, or belong to another GitLab instance "
              "than base_url",
          ErrorCode::kAuth));
    case 403:
      if (InsufficientScope(response)) {
        return std::unexpected(Contextual(
            "the token lacks the scope to " + std::string(what) +
                " (HTTP 403 insufficient_scope): give it the read_api scope (api works too)",
            ErrorCode::kAuth));
      }
      return std::unexpected(Contextual(
          "the token's user may not " + std::string(what) + status + GitLabReason(response),
          ErrorCode::kAuth));
    case 404:
      if (!not_found.empty()) {
        return std::unexpected(Contextual(std::string(not_found) + status, ErrorCode::kConfig));
      }
      break;
    case 429: {
      std::string when;
      if (auto retry_after = response.Header("retry-after")) {
        when = ": it asks to wait " + std::string(TrimSpace(*retry_after)) +
               (TrimSpace(*retry_after).find_first_not_of("0123456789") == std::string_view::npos
                    ? " s"
                    : "");
      } else if (auto reset_ms = RateLimitResetMs(response)) {
        when = ": it resets at " + FormatIsoUtc(*reset_ms);
      }
      return std::unexpected(Contextual("GitLab's rate limit was reached" + status +
                                            " while trying to " + std::string(what) + when +
                                            "; the next sync tries again",
                                        ErrorCode::kRateLimited, true));
    }
    default:
      break;
  }
  return ReadJsonAnswer(
      response, TrackerAnswerContext{options_.connection_name, "GitLab", &GitLabReasonText});
}

std::string GitLabSource::TargetNotFound() const {
  const std::string_view kind = ScopeName(options_.scope);
  return std::string(kind) + " \"" + options_.path +
         "\" was not found, or the token cannot see it: check `" + std::string(kind) +
         "` (the full path, as in its URL) and base_url; a personal access token sees what its "
         "user sees (the " +
         std::string(kind) +
         " must be public or the user a member), a "
         "project access token only its own project, a group access token only its group's "
         "projects";
}

Result<TrackerIdentity> GitLabSource::CheckToken(std::stop_token stop) {
  auto response = Get(Api() + "/user", stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc = Read(*response, "read its own user (/user)",
                  "no GitLab API at " + Api() +
                      ": check base_url (https://gitlab.com, or the root of a self-managed "
                      "instance, such as https://gitlab.example.com or https://host/gitlab)");
  if (!doc) {
    return std::unexpected(doc.error());
  }
  auto user = DecodeGitLabUser(doc->Root());
  if (!user) {
    return std::unexpected(Contextual(user.error().message + ": the token was not taken for a user",
                                      ErrorCode::kAuth));
  }

  std::string url = Api() + (options_.scope == GitLabScope::kProject ? "/projects/" : "/groups/") +
                    GitLabPathId(options_.path);
  if (options_.scope == GitLabScope::kGroup) {
    url += "?with_projects=false";  // older versions list every project otherwise
  }
  response = Get(url, stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  doc = Read(*response, "read " + std::string(ScopeName(options_.scope)) + " " + options_.path,
             TargetNotFound());
  if (!doc) {
    return std::unexpected(doc.error());
  }
  auto target = DecodeGitLabNamespace(doc->Root());
  if (!target) {
    return std::unexpected(Contextual("GitLab's answer for " +
                                          std::string(ScopeName(options_.scope)) + " " +
                                          options_.path + ": " + target.error().message,
                                      ErrorCode::kBadResponse));
  }
  {
    std::lock_guard lock(mu_);
    token_checked_ = true;
    user_ = user->username;
    target_id_ = target->id;
  }
  TrackerIdentity identity;
  identity.login = user->username;
  identity.name = user->name;
  identity.projects = options_.scope == GitLabScope::kProject ? 1 : -1;
  return identity;
}

Result<TrackerIdentity> GitLabSource::WhoAmI() { return CheckToken({}); }

Result<WindowPage> GitLabSource::FetchWindow(const Search& search,
                                             const WindowRequest& window) const {
  std::string url = window.token;
  if (url.starts_with(kRefusedLink)) {
    return std::unexpected(Contextual(url.substr(kRefusedLink.size()), ErrorCode::kBadResponse));
  }
  if (url.empty()) {
    GitLabListQuery list = search.list;
    list.newest_first = window.newest_first;
    list.per_page = std::clamp(window.page_size, 1, kMaxPageSize);
    list.updated_from_ms = window.from_ms;
    list.updated_to_ms = window.to_ms;
    url = GitLabListUrl(Api(), list);
  }
  auto response = Get(url, search.stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc =
      Read(*response,
           "list the issues of " + std::string(ScopeName(options_.scope)) + " " + options_.path,
           TargetNotFound());
  if (!doc) {
    return std::unexpected(doc.error());
  }
  const GitLabDecodeContext& context =
      window.probe || search.ids_only ? search.identity : search.decode;
  auto issues = DecodeGitLabIssueList(doc->Root(), context);
  if (!issues) {
    return std::unexpected(issues.error().Wrap("connection " + options_.connection_name));
  }
  WindowPage page;
  page.issues = std::move(*issues);
  // Where the answer came from: the path answered (after a same-origin
  // redirect, e.g. a renamed project's) with the query asked, which the
  // HTTP client leaves out of HttpResponse::url.
  std::string from = url;
  if (!response->url.empty()) {
    const std::size_t query = url.find('?');
    from = response->url + (query == std::string::npos ? "" : url.substr(query));
  }
  auto next =
      GitLabNextPageUrl(response->Header("link"), response->Header("x-next-page"), from, Api());
  if (!next) {
    // A Link off the API (a proxy that rewrites hosts, or a hostile
    // server): offset pages say the same in X-Next-Page, built on our own
    // URL. Without that, the window cannot go on; the error comes only if
    // the engine needs the next page, so a window that ends here is read.
    auto fallback = GitLabNextPageUrl(std::nullopt, response->Header("x-next-page"), from, Api());
    if (fallback && !fallback->empty()) {
      Log(LogLevel::kWarn, "GitLab's next-page link leaves its API; paging by X-Next-Page.",
          {{"connection", options_.connection_name}, {"reason", next.error().message}});
      next = std::move(fallback);
    } else {
      page.next_token = std::string(kRefusedLink) + next.error().message;
      return page;
    }
  }
  page.next_token = std::move(*next);
  return page;
}

Result<void> GitLabSource::PullKeys(const Search& search, const std::vector<std::string>& keys,
                                    int page_size, const PageSink& emit) const {
  std::vector<Issue> batch;
  for (const std::string& key : keys) {
    auto parsed = ParseGitLabKey(key);
    if (!parsed) {
      Log(LogLevel::kDebug, "Not a GitLab issue key; left out.",
          {{"connection", options_.connection_name}, {"key", key}});
      continue;
    }
    auto response = Get(Api() + "/projects/" + GitLabPathId(parsed->project) + "/issues/" +
                            std::to_string(parsed->iid),
                        search.stop);
    if (!response) {
      return std::unexpected(response.error());
    }
    if (response->status == 404) {
      continue;  // deleted, or out of the token's sight: gone for the daemon
    }
    auto doc = Read(*response, "read issue " + key, "");
    if (!doc) {
      return std::unexpected(doc.error());
    }
    GitLabDecodeContext context = search.ids_only ? search.identity : search.decode;
    context.project_path = parsed->project;
    auto issue = DecodeGitLabIssue(doc->Root(), context);
    batch.push_back(issue ? std::move(*issue)
                          : UndecodedGitLabIssue(doc->Root(), issue.error().message));
    if (static_cast<int>(batch.size()) >= page_size) {
      if (auto sunk = emit(IssuePage{std::move(batch), std::nullopt}); !sunk) {
        return sunk;
      }
      batch.clear();
    }
  }
  if (!batch.empty()) {
    return emit(IssuePage{std::move(batch), std::nullopt});
  }
  return {};
}

Result<void> GitLabSource::Pull(const PullRequest& request, const PageSink& on_page) {
  std::stop_source cancel;
  std::stop_callback forward(request.stop, [&cancel] { cancel.request_stop(); });

  // The token first, and the numeric id of the project or group, which
  // stays when the project is renamed or moved. A session from an earlier
  // pull vouches for both.
  const std::optional<SavedSession> saved =
      request.session ? ReadSession(*request.session, options_.scope, options_.path) : std::nullopt;
  std::optional<std::int64_t> target_id;
  if (saved) {
    std::lock_guard lock(mu_);
    user_ = saved->user;
    target_id_ = saved->id;
    target_id = saved->id;
  } else {
    {
      std::lock_guard lock(mu_);
      if (token_checked_) {
        target_id = target_id_;
      }
    }
    if (!target_id) {
      auto checked = CheckToken(cancel.get_token());
      if (!checked) {
        return std::unexpected(checked.error());
      }
      std::lock_guard lock(mu_);
      target_id = target_id_;
    }
  }

  Search search;
  search.list.scope = options_.scope;
  search.list.id = std::to_string(*target_id);
  search.list.labels = options_.labels;
  search.list.state = options_.state;
  search.decode.names = request.ids_only ? std::vector<std::string>() : request.fields;
  search.decode.web_root = options_.root;
  if (options_.scope == GitLabScope::kProject) {
    search.decode.project_path = options_.path;
  }
  search.identity = search.decode;
  search.identity.names.clear();
  search.ids_only = request.ids_only;
  search.stop = cancel.get_token();

  const int page_size = request.ids_only || request.page_size <= 0
                            ? kDefaultPageSize
                            : std::min(request.page_size, kMaxPageSize);
  if (!request.keys.empty()) {
    return Pipelined(
        [&](const PageSink& emit) { return PullKeys(search, request.keys, page_size, emit); },
        on_page, cancel);
  }
  UpdatedPullOptions engine;
  engine.connection_name = options_.connection_name;
  engine.granularity_ms = UpdatedGranularityMs();
  engine.paging = WindowPaging::kToken;
  engine.max_page_size = kMaxPageSize;
  PullRequest paged = request;
  paged.page_size = page_size;
  return PullByUpdated(
      paged, engine,
      [this, &search](const WindowRequest& window) { return FetchWindow(search, window); }, on_page,
      cancel);
}

Result<std::vector<std::string>> GitLabSource::UnknownFields(
    const std::vector<std::string>& names) {
  std::vector<std::string> unknown;
  for (const std::string& name : names) {
    if (!IsKnownGitLabMember(name)) {
      unknown.push_back(name);
    }
  }
  if (unknown.empty()) {
    return unknown;
  }
  std::optional<std::int64_t> target_id;
  {
    std::lock_guard lock(mu_);
    target_id = target_id_;
  }
  if (!target_id) {
    if (auto checked = CheckToken({}); !checked) {
      return std::unexpected(checked.error());
    }
    std::lock_guard lock(mu_);
    target_id = target_id_;
  }
  // A member a newer GitLab added: the newest issue shows it.
  GitLabListQuery list;
  list.scope = options_.scope;
  list.id = std::to_string(*target_id);
  list.labels = options_.labels;
  list.state = options_.state;
  list.newest_first = true;
  list.per_page = 1;
  auto response = Get(GitLabListUrl(Api(), list), {});
  if (!response || !response->Ok()) {
    return unknown;
  }
  auto doc = ParseJsonDocument(response->body);
  if (!doc || !doc->Root().IsList() || doc->Root().size() == 0) {
    return unknown;
  }
  const JsonView sample = *doc->Root().Elements().begin();
  std::erase_if(unknown,
                [&sample](const std::string& name) { return sample.Find(name).has_value(); });
  return unknown;
}

std::optional<TrackerSession> GitLabSource::Session() const {
  std::lock_guard lock(mu_);
  if (user_.empty() || !target_id_) {
    return std::nullopt;
  }
  Value::Object session;
  session["user"] = Value(user_);
  session["scope"] = Value(std::string(ScopeName(options_.scope)));
  session["path"] = Value(options_.path);
  session["id"] = Value(*target_id_);
  return TrackerSession{Value(std::move(session)).ToJson()};
}

}  // namespace boardsync

// GitHubSource: the TrackerSource for GitHub and GitHub Enterprise Server
// (REST API, version 2022-11-28; GraphQL for Projects v2 field values). It
// reads only and keeps no progress of its own; paging by `updated` is the
// shared engine's (connectors/common/updated_pull.h), one pass per
// repository, and the session keeps each list's ETag so that a sync with
// nothing new costs one request per repository, answered 304.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "connectors/common/updated_pull.h"
#include "connectors/github/decode.h"
#include "connectors/github/fields.h"
#include "connectors/github/transport.h"
#include "connectors/http/json.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/tracker_source.h"

namespace boardsync {

// A Projects v2 board: `project: {owner, number}`.
struct GitHubProject {
  std::string owner;  // an organization or a user
  std::int64_t number = 0;
};

struct GitHubOptions {
  std::string connection_name;  // starts every error message
  std::string api;              // GitHubApiRoot(): "https://api.github.com", "https://host/api/v3"
  std::vector<std::string> repos;   // "owner/name", checked (GitHubRepoProblem())
  std::vector<std::string> labels;  // all must match
  std::string state = "all";        // all | open | closed
  std::optional<GitHubProject> project;
  Secret token;  // a personal access token (classic or fine-grained) or an installation token
  std::chrono::milliseconds timeout{30'000};  // per request; also the longest wait for a reset
  // Attempts for a 5xx answer or a network failure, the first wait between
  // them (doubling); tests shorten it.
  int max_attempts = 3;
  std::chrono::milliseconds retry_backoff{1'000};
  // The longest retry-after of a secondary limit that is waited for (once).
  std::chrono::milliseconds max_secondary_wait{60'000};
};

class GitHubSource : public TrackerSource {
 public:
  // `http` is borrowed and must outlive this source.
  GitHubSource(GitHubOptions options, HttpClient& http);

  // GET {api}/user (an installation token, which /user refuses, is checked
  // with GET {api}/installation/repositories instead), then GET
  // {api}/repos/{o}/{r} for each repository: one the token cannot see is an
  // error naming it and the permission needed. `projects` counts them.
  Result<TrackerIdentity> WhoAmI() override;

  // Checks the token with GET {api}/user (unless request.session vouches for
  // it), then lists the issues of each repository in turn: by update time
  // through the shared engine (request.session's ETags make a window that
  // did not change a 304), or by key (GET .../issues/{n}).
  Result<void> Pull(const PullRequest& request, const PageSink& on_page) override;
  using TrackerSource::Pull;

  // {"login", "etags": {url: etag}}: who the token is, and the ETag of each
  // list answer the last complete pull by update time read whole.
  std::optional<TrackerSession> Session() const override;

  // GitHub's timestamps are whole seconds.
  std::int64_t UpdatedGranularityMs() const override { return 1000; }

  // The names that are no member of an issue and, with a `project`, no
  // field of that project (which is looked up).
  Result<std::vector<std::string>> UnknownFields(const std::vector<std::string>& names) override;

 private:
  struct Pulling;

  std::string RepoUrl(const std::string& repo) const;
  std::string ListUrl(const std::string& repo, const WindowRequest& window, bool ids_only) const;
  // A REST GET through transport_, drawing on the "core" budget.
  Result<HttpResponse> Get(const std::string& url, std::stop_token stop,
                           const HttpHeaders& headers = {}) const;
  // The error `response` means; `what` names the call ("list the issues of
  // owner/name"), `repo` the repository it concerns ("" for none).
  Error StatusError(const HttpResponse& response, std::string_view what,
                    std::string_view repo) const;
  Result<JsonDocument> Read(const HttpResponse& response, std::string_view what,
                            std::string_view repo) const;
  Error Contextual(std::string message, ErrorCode code, bool retriable = false) const;
  Result<TrackerIdentity> CheckToken(std::stop_token stop);
  Result<WindowPage> FetchWindow(Pulling& pull, const std::string& repo,
                                 const WindowRequest& window) const;
  Result<void> PullRepos(Pulling& pull, const PageSink& on_page, std::stop_source& cancel) const;
  Result<void> PullKeys(Pulling& pull, const PageSink& emit) const;
  // Project field values for `issues` (node ids alongside), when the
  // mapping reads any.
  Result<void> AddProjectValues(Pulling& pull, std::vector<Issue>& issues,
                                const std::vector<std::string>& node_ids) const;
  // The configured project, looked up once (GraphQL).
  Result<GitHubProjectInfo> ResolveProject(std::stop_token stop) const;
  // A GraphQL answer as JSON without errors that stop it: a spent budget
  // (RATE_LIMITED) is kRateLimited; other errors are left to the caller,
  // whose data may still be there.
  Result<JsonDocument> ReadGraphQl(const HttpResponse& response, std::string_view what) const;

  GitHubOptions options_;
  // Every request goes through it: GitHub's headers, the token, the rate
  // budgets (shared by a sliced pull's readers), waits and retries.
  GitHubTransport transport_;
  bool token_checked_ = false;
  mutable std::mutex mu_;  // guards what follows
  std::string login_;      // who the token is, once checked
  // The ETags of the last complete pull by update time: list URL → ETag.
  std::map<std::string, std::string> etags_;
  mutable std::mutex project_mu_;  // held while the project is looked up
  mutable std::optional<GitHubProjectInfo> project_;  // once looked up
};

}  // namespace boardsync

// GitLabSource: the TrackerSource for GitLab's REST API v4 (gitlab.com and
// self-managed), reading one project's issues or a group's (subgroups
// included). It reads only and keeps no progress; paging by `updated_at` is
// the shared engine's (connectors/common/updated_pull.h) at a second's
// granularity, following GitLab's next-page links (keyset or offset).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "connectors/common/updated_pull.h"
#include "connectors/gitlab/decode.h"
#include "connectors/gitlab/query.h"
#include "connectors/http/json.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/tracker_source.h"

namespace boardsync {

struct GitLabOptions {
  std::string connection_name;  // starts every error message
  std::string root;             // GitLabRootUrl(): "https://gitlab.com", "https://host/gitlab"
  GitLabScope scope = GitLabScope::kProject;
  std::string path;  // the project's or group's full path as configured (or its numeric id)
  std::vector<std::string> labels;  // every one must match
  std::string state = "all";        // all | opened | closed
  // A personal, project or group access token, or an OAuth token, with
  // read_api; sent as "Authorization: Bearer".
  Secret token;
  std::chrono::milliseconds timeout{30'000};  // per request
  // A 429 without Retry-After (which the HTTP client honours itself) whose
  // RateLimit-Reset is at most this far ahead is waited out, once per
  // request; a later reset, or a second 429, fails the pull (kRateLimited,
  // naming the reset time) rather than asking again and again.
  std::chrono::milliseconds max_rate_limit_wait{120'000};
  // How that wait is made: returns early when `stop` is requested. Empty: a
  // real wait. Tests replace it.
  std::function<void(std::chrono::milliseconds, std::stop_token)> sleep;
  // The time RateLimit-Reset (Unix seconds) is compared to, in epoch ms.
  // Empty: the system clock. Tests replace it.
  std::function<std::int64_t()> now_ms;
};

class GitLabSource : public TrackerSource {
 public:
  // `http` is borrowed and must outlive this source.
  GitLabSource(GitLabOptions options, HttpClient& http);

  // GET {api}/user (who the token belongs to), then the project or group
  // (GET {api}/projects/:path or {api}/groups/:path): a 404 there says it
  // does not exist or the token cannot see it. projects: 1 for a project
  // connection; -1 for a group (not counted).
  Result<TrackerIdentity> WhoAmI() override;

  // Checks the token as WhoAmI() does (unless request.session vouches for
  // it, holding the project's or group's numeric id), then lists issues: by
  // update time through the shared engine, or by key (one GET per key).
  Result<void> Pull(const PullRequest& request, const PageSink& on_page) override;
  using TrackerSource::Pull;

  // The token's user and the numeric id of the project or group, once
  // checked (JSON).
  std::optional<TrackerSession> Session() const override;

  // updated_after/updated_before are written to the second.
  std::int64_t UpdatedGranularityMs() const override { return 1000; }

  // The mapping's names that are neither a member GitLab documents for
  // issues (IsKnownGitLabMember()) nor one the connection's most recently
  // updated issue carries (a newer GitLab's, read with one list request of
  // one issue; left out when that request fails).
  Result<std::vector<std::string>> UnknownFields(const std::vector<std::string>& names) override;

 private:
  struct Search;
  std::string Api() const;
  // One GET, with the rate-limit wait described at GitLabOptions. Safe from
  // several threads at once (a sliced pull's readers).
  Result<HttpResponse> Get(const std::string& url, std::stop_token stop) const;
  // The answer as JSON, or the error its status means; `what` names the
  // call ("list issues"), `not_found` what a 404 means there.
  Result<JsonDocument> Read(const HttpResponse& response, std::string_view what,
                            std::string_view not_found) const;
  // GET {api}/user and the project or group: the token check.
  Result<TrackerIdentity> CheckToken(std::stop_token stop);
  Result<WindowPage> FetchWindow(const Search& search, const WindowRequest& window) const;
  Result<void> PullKeys(const Search& search, const std::vector<std::string>& keys, int page_size,
                        const PageSink& emit) const;
  std::string TargetNotFound() const;
  Error Contextual(std::string message, ErrorCode code, bool retriable = false) const;

  GitLabOptions options_;
  HttpClient& http_;
  HttpAuth auth_;
  mutable std::mutex mu_;  // guards what Session() reads
  bool token_checked_ = false;
  std::string user_;                       // the token's username, once checked
  std::optional<std::int64_t> target_id_;  // the project's or group's numeric id
};

}  // namespace boardsync

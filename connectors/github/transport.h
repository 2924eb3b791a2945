// GitHubTransport: one request to GitHub's API (REST or GraphQL) as the
// connector sends each: GitHub's headers and the token, the rate limits
// honoured (nothing is sent while a budget an answer said is spent; a near
// reset or a short retry-after is waited for, once, and a stop cancels the
// wait), 5xx answers and network failures retried. What an answer means
// beyond that is the caller's. GitHubSource sends every request of a pull
// through one, the sync-back writer every request of its own.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>
#include <string_view>

#include "connectors/github/rate_limit.h"
#include "core/error.h"
#include "core/http_client.h"
#include "core/secret.h"

namespace boardsync {

struct GitHubTransportOptions {
  std::string connection_name;  // starts every error message
  Secret token;
  std::chrono::milliseconds timeout{30'000};  // per request; also the longest wait for a reset
  // Attempts for a 5xx answer or a network failure, the first wait between
  // them (doubling).
  int max_attempts = 3;
  std::chrono::milliseconds retry_backoff{1'000};
  // The longest retry-after of a secondary limit that is waited for (once).
  std::chrono::milliseconds max_secondary_wait{60'000};
  // What a rate limit stops, in messages: "sync", "sync back".
  std::string activity = "sync";
  // What a stop ends, in its message ("the pull was stopped"); the activity
  // when empty.
  std::string stopped;
};

class GitHubTransport {
 public:
  // `http` is borrowed and must outlive the transport.
  GitHubTransport(GitHubTransportOptions options, HttpClient& http);

  // Sends `method` to `url` (a JSON `body` when not empty) drawing on the
  // budget `resource` ("core", "graphql"). `retry`: whether a 5xx answer or
  // a network failure is sent again (false for a request that must not run
  // twice). `headers` are sent besides GitHub's own (If-None-Match, say).
  // Answers that are not a rate limit come back as they are, a 304 among
  // them; a spent budget, a limit not worth waiting for and a stop are
  // errors (kRateLimited retriable, kCancelled).
  Result<HttpResponse> Send(const std::string& method, const std::string& url, std::string body,
                            std::string_view resource, std::stop_token stop, bool retry = true,
                            const HttpHeaders& headers = {}) const;

  // An error whose message starts with "connection <name>: ".
  Error Contextual(std::string message, ErrorCode code, bool retriable = false) const;

  const GitHubTransportOptions& options() const { return options_; }

 private:
  GitHubTransportOptions options_;
  HttpClient& http_;
  mutable GitHubRateBudget budget_;
};

// GitHub's own words for a failed answer (REST's message, GraphQL's
// errors), redacted and cut to one line's worth; "" without any.
std::string GitHubReason(const HttpResponse& response);

}  // namespace boardsync

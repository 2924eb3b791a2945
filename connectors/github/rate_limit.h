// GitHub's rate limits as its answers tell them: the primary budget of each
// resource (x-ratelimit-remaining / x-ratelimit-reset, "core" for REST,
// "graphql"), and what a 403 or 429 means (the budget spent, a secondary
// limit with or without retry-after, or no limit at all: an access refusal).
// The connector reads every answer through GitHubRateBudget and sends
// nothing while a budget it knows is spent. Pure apart from the budget's
// mutex.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/http_client.h"

namespace boardsync {

// The rate-limit headers of one answer; each absent when not sent (GitHub
// Enterprise Server has no limits unless its administrator turns them on).
struct GitHubRateHeaders {
  std::optional<std::int64_t> remaining;
  std::optional<std::int64_t> reset_ms;  // x-ratelimit-reset: epoch seconds, as ms
  std::string resource;                  // x-ratelimit-resource: "core", "graphql"; "" when absent
};

GitHubRateHeaders ReadGitHubRateHeaders(const HttpResponse& response);

enum class GitHubLimitKind {
  kNone,       // not a rate limit: an access refusal (403) or another answer
  kPrimary,    // the budget is spent until the reset (remaining 0)
  kSecondary,  // a secondary limit: retry-after, or "wait a minute"
};

struct GitHubLimit {
  GitHubLimitKind kind = GitHubLimitKind::kNone;
  // kPrimary: the reset; kSecondary: now + retry-after, when given.
  std::optional<std::int64_t> until_ms;
};

// What a 403 or 429 answer means, as GitHub documents it: retry-after makes
// it a secondary limit (wait that long); else remaining 0 is the primary
// budget spent until x-ratelimit-reset; else a 429, or a 403 whose message
// speaks of a rate limit, is a secondary limit without a time (wait at least
// a minute). Any other answer: kNone.
GitHubLimit ClassifyGitHubLimit(const HttpResponse& response, std::int64_t now_ms);

// The primary budgets as the answers so far told them, per resource.
// Thread-safe: a sliced pull's readers share one.
class GitHubRateBudget {
 public:
  // Records what `response` says of its resource (`default_resource` when it
  // names none). An answer without the headers changes nothing.
  void Observe(const HttpResponse& response, std::string_view default_resource);
  // The reset of `resource`'s budget when the last answer said it is spent
  // and the reset is still ahead of `now_ms`; nullopt when a request may go.
  std::optional<std::int64_t> SpentUntil(std::string_view resource, std::int64_t now_ms) const;

 private:
  struct Budget {
    std::int64_t remaining = 1;
    std::int64_t reset_ms = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Budget, std::less<>> budgets_;
};

}  // namespace boardsync

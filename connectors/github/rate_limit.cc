#include "connectors/github/rate_limit.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "connectors/http/cpprest_http_client.h"
#include "connectors/http/json.h"
#include "core/text.h"

namespace boardsync {
namespace {

std::optional<std::int64_t> HeaderNumber(const HttpResponse& response, std::string_view name) {
  auto header = response.Header(name);
  if (!header) {
    return std::nullopt;
  }
  const std::string_view text = TrimSpace(*header);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

// Whether GitHub's error message speaks of a rate limit ("You have exceeded
// a secondary rate limit...", "API rate limit exceeded for ...").
bool MessageSaysRateLimit(const HttpResponse& response) {
  auto doc = ParseJsonDocument(response.body);
  if (!doc || !doc->Root().IsObject()) {
    return false;
  }
  return AsciiLower(doc->Root().StringOr("message")).find("rate limit") != std::string::npos;
}

}  // namespace

GitHubRateHeaders ReadGitHubRateHeaders(const HttpResponse& response) {
  GitHubRateHeaders headers;
  headers.remaining = HeaderNumber(response, "x-ratelimit-remaining");
  // Far-future values would overflow as milliseconds; no reset is that far.
  if (auto reset = HeaderNumber(response, "x-ratelimit-reset"); reset && *reset < 100'000'000'000) {
    headers.reset_ms = *reset * 1000;
  }
  if (auto resource = response.Header("x-ratelimit-resource")) {
    headers.resource = std::string(TrimSpace(*resource));
  }
  return headers;
}

GitHubLimit ClassifyGitHubLimit(const HttpResponse& response, std::int64_t now_ms) {
  if (response.status != 403 && response.status != 429) {
    return {};
  }
  if (auto header = response.Header("retry-after")) {
    const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms));
    if (auto after = ParseRetryAfter(*header, now)) {
      constexpr std::int64_t kYearMs = 366LL * 24 * 3600 * 1000;  // no limit is longer
      return {GitHubLimitKind::kSecondary, now_ms + std::min<std::int64_t>(after->count(), kYearMs)};
    }
  }
  const GitHubRateHeaders headers = ReadGitHubRateHeaders(response);
  if (headers.remaining && *headers.remaining == 0) {
    return {GitHubLimitKind::kPrimary, headers.reset_ms};
  }
  if (response.status == 429 || MessageSaysRateLimit(response)) {
    return {GitHubLimitKind::kSecondary, std::nullopt};
  }
  return {};
}

void GitHubRateBudget::Observe(const HttpResponse& response, std::string_view default_resource) {
  const GitHubRateHeaders headers = ReadGitHubRateHeaders(response);
  if (!headers.remaining) {
    return;
  }
  const std::string resource =
      headers.resource.empty() ? std::string(default_resource) : headers.resource;
  std::lock_guard lock(mu_);
  Budget& budget = budgets_[resource];
  budget.remaining = *headers.remaining;
  budget.reset_ms = headers.reset_ms.value_or(0);
}

std::optional<std::int64_t> GitHubRateBudget::SpentUntil(std::string_view resource,
                                                         std::int64_t now_ms) const {
  std::lock_guard lock(mu_);
  auto it = budgets_.find(resource);
  if (it == budgets_.end() || it->second.remaining > 0 || it->second.reset_ms <= now_ms) {
    return std::nullopt;
  }
  return it->second.reset_ms;
}

}  // namespace boardsync

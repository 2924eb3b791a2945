#include "connectors/github/transport.h"

#include <utility>

#include "connectors/common/http_status.h"
#include "connectors/github/decode.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/time.h"

namespace boardsync {
namespace {

constexpr std::string_view kApiVersion = "2022-11-28";
// After the reset GitHub names, a little more, so that the first request
// after it does not meet the old window on a clock a little behind.
constexpr std::int64_t kResetMarginMs = 500;

bool IsRetriableStatus(int status) {
  return status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace

std::string GitHubReason(const HttpResponse& response) {
  return ShortReason(GitHubErrorMessage(response.body));
}

GitHubTransport::GitHubTransport(GitHubTransportOptions options, HttpClient& http)
    : options_(std::move(options)), http_(http) {}

Error GitHubTransport::Contextual(std::string message, ErrorCode code, bool retriable) const {
  return Error{code, "connection " + options_.connection_name + ": " + std::move(message),
               retriable};
}

Result<HttpResponse> GitHubTransport::Send(const std::string& method, const std::string& url,
                                           std::string body, std::string_view resource,
                                           std::stop_token stop, bool retry,
                                           const HttpHeaders& headers) const {
  const std::string& activity = options_.activity;
  const std::string& stopped = options_.stopped.empty() ? activity : options_.stopped;
  auto cancelled = [&] {
    return std::unexpected(Contextual("the " + stopped + " was stopped", ErrorCode::kCancelled));
  };
  auto reason = [](const HttpResponse& response) {
    const std::string text = GitHubReason(response);
    return text.empty() ? std::string() : ": " + text;
  };
  // Waits for a spent budget's reset when it is near, else fails: a request
  // sent before it would only be refused (and repeated refusals can get an
  // integration banned).
  auto wait_for_reset = [&](std::int64_t reset_ms) -> Result<void> {
    const std::int64_t left = reset_ms + kResetMarginMs - NowMs();
    if (left > options_.timeout.count()) {
      return std::unexpected(Contextual("GitHub's rate limit for this token is spent until " +
                                            FormatIsoUtc(reset_ms) + " (x-ratelimit-reset); the " +
                                            activity +
                                            " stops here and the next one after that time goes on",
                                        ErrorCode::kRateLimited, /*retriable=*/true));
    }
    Log(LogLevel::kInfo, "GitHub's rate limit is spent; waiting for its reset.",
        {{"connection", options_.connection_name}, {"reset", FormatIsoUtc(reset_ms)}});
    if (!SleepUnlessStopped(std::chrono::milliseconds(left), stop)) {
      return cancelled();
    }
    return {};
  };

  bool waited_reset = false;
  bool waited_secondary = false;
  int attempt = 1;
  const int max_attempts = retry ? options_.max_attempts : 1;
  std::chrono::milliseconds backoff = options_.retry_backoff;
  while (true) {
    if (stop.stop_requested()) {
      return cancelled();
    }
    if (auto spent = budget_.SpentUntil(resource, NowMs())) {
      if (auto waited = wait_for_reset(*spent); !waited) {
        return std::unexpected(waited.error());
      }
    }
    HttpRequest request;
    request.method = method;
    request.url = url;
    request.headers = headers;
    request.headers.emplace_back("Accept", "application/vnd.github+json");
    request.headers.emplace_back("X-GitHub-Api-Version", std::string(kApiVersion));
    if (!body.empty()) {
      request.headers.emplace_back("Content-Type", "application/json");
    }
    request.body = body;
    request.auth = HttpAuth::Bearer(options_.token);
    request.timeout = options_.timeout;
    request.stop = stop;
    // The client's own retries would send a rate-limited request again
    // blindly (it retries 429): every retry is decided here.
    request.max_attempts = 1;
    auto response = http_.Send(request);
    if (!response) {
      if (response.error().code == ErrorCode::kCancelled || stop.stop_requested()) {
        return cancelled();
      }
      if (response.error().retriable && attempt < max_attempts) {
        ++attempt;
        if (!SleepUnlessStopped(backoff, stop)) {
          return cancelled();
        }
        backoff *= 2;
        continue;
      }
      return std::unexpected(response.error().Wrap("connection " + options_.connection_name));
    }
    budget_.Observe(*response, resource);
    const GitHubLimit limit = ClassifyGitHubLimit(*response, NowMs());
    if (limit.kind == GitHubLimitKind::kPrimary) {
      if (!limit.until_ms) {
        return std::unexpected(Contextual("GitHub's rate limit for this token is spent (HTTP " +
                                              std::to_string(response->status) + ")" +
                                              reason(*response),
                                          ErrorCode::kRateLimited, /*retriable=*/true));
      }
      if (waited_reset) {
        return std::unexpected(
            Contextual("GitHub's rate limit for this token is still spent after its reset (until " +
                           FormatIsoUtc(*limit.until_ms) + ")",
                       ErrorCode::kRateLimited, /*retriable=*/true));
      }
      if (auto waited = wait_for_reset(*limit.until_ms); !waited) {
        return std::unexpected(waited.error());
      }
      waited_reset = true;
      continue;
    }
    if (limit.kind == GitHubLimitKind::kSecondary) {
      const std::string status = "HTTP " + std::to_string(response->status);
      if (!limit.until_ms) {
        return std::unexpected(Contextual("GitHub's secondary rate limit refused the request (" +
                                              status + ")" + reason(*response) + "; the next " +
                                              activity + ", at least a minute later, goes on",
                                          ErrorCode::kRateLimited, /*retriable=*/true));
      }
      const std::int64_t left = *limit.until_ms - NowMs();
      if (waited_secondary || left > options_.max_secondary_wait.count()) {
        return std::unexpected(Contextual(
            "GitHub's secondary rate limit asks to wait until " + FormatIsoUtc(*limit.until_ms) +
                " (retry-after, " + status + "); the next " + activity + " after that goes on",
            ErrorCode::kRateLimited, /*retriable=*/true));
      }
      Log(LogLevel::kInfo, "GitHub's secondary rate limit asks to wait.",
          {{"connection", options_.connection_name}, {"wait_ms", std::to_string(left)}});
      if (!SleepUnlessStopped(std::chrono::milliseconds(left), stop)) {
        return cancelled();
      }
      waited_secondary = true;
      continue;
    }
    if (IsRetriableStatus(response->status) && attempt < max_attempts) {
      ++attempt;
      if (!SleepUnlessStopped(backoff, stop)) {
        return cancelled();
      }
      backoff *= 2;
      continue;
    }
    return response;
  }
}

}  // namespace boardsync

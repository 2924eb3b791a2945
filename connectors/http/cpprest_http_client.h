// CpprestHttpClient: the HttpClient implementation over cpprestsdk.
// It owns the transport policy for every outside call: TLS verification
// (optionally with a private CA), per-request timeouts, retries with capped
// exponential backoff and full jitter honouring Retry-After, and redirects
// decided hop by hop so that a token never leaves its origin. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "core/http_client.h"

namespace boardsync {

struct HttpClientOptions {
  std::string ca_file;  // extra trust anchors (PEM); empty: the system store only
  // Backoff: attempt n waits a random time in [0, min(cap, base * 2^n)],
  // or Retry-After when the server sent one.
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_cap{30'000};
  // A Retry-After longer than this is not waited for: the failure is returned.
  std::chrono::milliseconds max_retry_after{120'000};
  int max_redirects = 5;
  // Answers larger than this are refused (ErrorCode::kBadResponse) without
  // being read further.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  // How to wait between attempts, returning early when stop is requested;
  // tests replace it.
  std::function<void(std::chrono::milliseconds, std::stop_token)> sleep;
};

class CpprestHttpClient : public HttpClient {
 public:
  explicit CpprestHttpClient(HttpClientOptions options = {});
  ~CpprestHttpClient() override;

  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a Retry-After value: delay-seconds or an HTTP date.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace boardsync

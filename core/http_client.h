// HttpClient: the one seam between boardsync and the network.
// Connectors build requests and read responses; the implementation
// (connectors/http/) owns transport, TLS, timeouts, retries and redirects.
// Non-2xx answers come back as responses, not errors: only the caller knows
// what a 404 means. Transport failures (refused, timeout, TLS) are errors.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/secret.h"

namespace boardsync {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// How a request proves who it is for. Whatever the scheme, the secret goes
// only to the origin of the request's URL (never along a redirect to
// another) and only over https, or plain http to a loopback address.
struct HttpAuth {
  enum class Scheme {
    kNone,
    kBearer,  // "Authorization: Bearer <secret>" (YouTrack, Jira Data Center, GitHub)
    kBasic,   // "Authorization: Basic base64(<user>:<secret>)" (Jira Cloud: e-mail and API token)
    kHeader,  // "<header>: <secret>" (GitLab's PRIVATE-TOKEN)
  };
  Scheme scheme = Scheme::kNone;
  std::string user;    // kBasic: the user part; not a secret, but never logged either
  std::string header;  // kHeader: the header's name
  const Secret* secret = nullptr;  // borrowed; must outlive the request

  static HttpAuth Bearer(const Secret& secret) { return {Scheme::kBearer, "", "", &secret}; }
  static HttpAuth Basic(std::string user, const Secret& secret) {
    return {Scheme::kBasic, std::move(user), "", &secret};
  }
  static HttpAuth Header(std::string name, const Secret& secret) {
    return {Scheme::kHeader, "", std::move(name), &secret};
  }
  bool present() const { return scheme != Scheme::kNone && secret != nullptr; }
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute, already percent-encoded
  // "Accept-Encoding: gzip" is added unless one is set here.
  HttpHeaders headers;
  std::string body;
  HttpAuth auth;
  std::chrono::milliseconds timeout{30'000};
  // Attempts for retriable failures (network, 429, 5xx); 1 means no retry.
  int max_attempts = 4;
  // Cancels the request, and any wait before a retry (ErrorCode::kCancelled).
  std::stop_token stop;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-cased; as received, Content-Encoding included
  std::string body;     // decoded: a gzip answer arrives inflated
  // The body's size as it crossed the network (compressed, for gzip).
  std::size_t wire_bytes = 0;
  std::string url;  // where the answer came from, after same-origin redirects

  // The first header named `name` (lower case), if any.
  std::optional<std::string_view> Header(std::string_view name) const;
  bool Ok() const { return status >= 200 && status < 300; }
};

// What a client has moved since it was made; the counts only grow.
struct HttpTraffic {
  std::int64_t requests = 0;       // sent, each retry and redirect hop included
  std::int64_t wire_bytes = 0;     // answer bodies as received (compressed)
  std::int64_t decoded_bytes = 0;  // answer bodies handed back, decoded
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace boardsync

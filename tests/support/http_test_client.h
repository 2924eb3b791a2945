// HttpTestClient: a plain blocking HTTP/1.1 client for tests that must see
// exactly what a loopback server sends (status, headers, raw body), over one
// kept-alive connection. Not the product's client: that is connectors/http/.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/http_server.h"

namespace boardsync {

struct HttpTestResponse {
  int status = 0;             // 0 when `error` is set
  HttpServerHeaders headers;  // names lower-cased
  std::string body;
  // Set when the exchange failed: refused, dropped, cut off, timed out.
  std::string error;

  std::optional<std::string_view> Header(std::string_view name) const;
};

// Builds "path?k=v&k2=v2" with keys and values percent-encoded.
std::string BuildTarget(std::string_view path,
                        const std::vector<std::pair<std::string, std::string>>& params);

// One client, one connection at a time; not thread-safe.
class HttpTestClient {
 public:
  // `base_url` is "http://host:port" (a path, if any, is ignored).
  explicit HttpTestClient(std::string_view base_url,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpTestClient();

  HttpTestClient(const HttpTestClient&) = delete;
  HttpTestClient& operator=(const HttpTestClient&) = delete;

  HttpTestResponse Get(std::string_view target, const HttpServerHeaders& headers = {});
  HttpTestResponse Send(std::string_view method, std::string_view target,
                        const HttpServerHeaders& headers, std::string body);

  // Connections opened so far; stays 1 while the server keeps it alive.
  int connections_opened() const { return connections_opened_; }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  void Close();

 private:
  struct Impl;

  std::unique_ptr<Impl> impl_;
  std::string host_;
  std::string port_;
  std::chrono::milliseconds timeout_;
  int connections_opened_ = 0;
};

// One GET on a fresh connection. `url` is absolute: "http://127.0.0.1:1234/api/x?y=z".
HttpTestResponse HttpGet(std::string_view url, const HttpServerHeaders& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace boardsync

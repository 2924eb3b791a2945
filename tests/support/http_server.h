// HttpServer: a small real HTTP/1.1 server on 127.0.0.1 for loopback tests.
// Tests hand it one handler; it can answer late, cut a body short or drop
// the connection, so clients meet slow and broken servers for real.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boardsync {

using HttpServerHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpServerRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: path and query, still encoded
  std::string path;    // the target's path, percent-decoded, without the query
  // The query's parameters in order; repeated keys are kept, '+' and %XX decoded.
  std::vector<std::pair<std::string, std::string>> query;
  HttpServerHeaders headers;  // names lower-cased, in arrival order
  std::string body;

  // The first header named `name` (give it lower case), if any.
  std::optional<std::string_view> Header(std::string_view name) const;
  // The first query parameter named `name`, if any.
  std::optional<std::string_view> Param(std::string_view name) const;
  // Every query parameter named `name`, in order.
  std::vector<std::string_view> Params(std::string_view name) const;
};

struct HttpServerResponse {
  int status = 200;
  HttpServerHeaders headers;  // Content-Length is added by the server
  std::string body;
  // Waits this long before answering; Stop() cuts the wait short.
  std::chrono::milliseconds delay{0};
  // Closes the connection instead of answering (after `delay`).
  bool drop_connection = false;
  // Sends the head with the full Content-Length but only this many body
  // bytes, then closes: a response cut off mid-body.
  std::optional<std::size_t> truncate_body_at;

  static HttpServerResponse Json(int status, std::string body);
  static HttpServerResponse Text(int status, std::string body,
                                 std::string content_type = "text/plain; charset=utf-8");
};

// Serves each connection on its own thread, with keep-alive. The handler is
// called from those threads, possibly concurrently, and must be thread-safe.
// All public members are thread-safe. Stop() (and the destructor) closes the
// listener and every connection, interrupts delays, and joins all threads.
class HttpServer {
 public:
  using Handler = std::function<HttpServerResponse(const HttpServerRequest&)>;

  // Binds 127.0.0.1:`port` (0 picks a free port) and starts serving.
  // Throws std::system_error when the port cannot be bound; this is test
  // code, where a failed bind is a broken environment.
  explicit HttpServer(Handler handler, std::uint16_t port = 0);
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>", no trailing slash.
  std::string base_url() const;

  // Idempotent; returns once every thread has finished.
  // REQUIRES: not called from the handler.
  void Stop();

  // Requests read completely and handed to the handler.
  std::uint64_t requests_served() const { return requests_served_.load(); }
  // TCP connections accepted; with keep-alive, fewer than requests.
  std::uint64_t connections_accepted() const { return connections_accepted_.load(); }

 private:
  struct Impl;

  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> requests_served_{0};
  std::atomic<std::uint64_t> connections_accepted_{0};
};

// A port on 127.0.0.1 that was free a moment ago (bound, read, closed), for
// servers that must be told their port in advance, e.g. a config file.
std::uint16_t FreeLoopbackPort();

}  // namespace boardsync

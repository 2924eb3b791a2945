// RecordingProxy: a real HTTP proxy on 127.0.0.1 for loopback tests that
// records everything its clients send it, so that tests can check what a
// proxy on the way gets to see. CONNECT opens a tunnel to the named host and
// port and relays bytes both ways; a request in absolute form
// ("GET http://127.0.0.1:8080/api HTTP/1.1") is forwarded to its server in
// origin form, one request per connection, and the answer relayed back.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/http_server.h"

namespace boardsync {

// One request a client made of the proxy.
struct ProxyRecord {
  std::string request_line;   // "CONNECT 127.0.0.1:443 HTTP/1.1", "GET http://... HTTP/1.1"
  HttpServerHeaders headers;  // names lower-cased, in arrival order
  // CONNECT: the first bytes (at most 4 KiB) the client sent into the tunnel;
  // a TLS client starts with a handshake record, byte 0x16.
  std::string tunnel_start;

  std::optional<std::string_view> Header(std::string_view name) const;
};

// Serves each connection on its own thread. All public members are
// thread-safe; Stop() (and the destructor) closes every connection and
// joins every thread.
class RecordingProxy {
 public:
  struct Options {
    // Answers every CONNECT with this status (e.g. 407) instead of a tunnel.
    std::optional<int> refuse_connect;
  };

  RecordingProxy() : RecordingProxy(Options{}) {}
  // Binds 127.0.0.1 on a free port; throws std::system_error when it cannot.
  explicit RecordingProxy(Options options);
  ~RecordingProxy();

  RecordingProxy(const RecordingProxy&) = delete;
  RecordingProxy& operator=(const RecordingProxy&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>"
  std::string url() const;

  std::vector<ProxyRecord> records() const;
  // Every byte clients sent, heads, bodies and tunnels alike (the first
  // 16 MiB): where a secret must never show up.
  std::string received() const;

  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace boardsync

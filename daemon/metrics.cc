#include "daemon/metrics.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "daemon/cycle.h"
#include "daemon/sync_back.h"

namespace boardsync {
namespace {

std::string Label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

}  // namespace

void Metrics::Retain(const std::vector<std::string>& connections) {
  std::lock_guard lock(mu_);
  std::map<std::string, Connection, std::less<>> kept;
  for (const std::string& name : connections) {
    auto it = connections_.find(name);
    kept.emplace(name, it != connections_.end() ? it->second : Connection{});
  }
  connections_ = std::move(kept);
}

void Metrics::Record(const std::string& connection, const CycleResult& result,
                     std::int64_t pending, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Connection& c = connections_[connection];
  ++(result.ok() ? c.syncs_ok : c.syncs_failed);
  c.issues_pulled += result.report.counts.pulled;
  c.board_writes += result.written;
  c.tracker_requests += result.tracker_traffic.requests;
  c.tracker_received_bytes += result.tracker_traffic.wire_bytes;
  c.tracker_decoded_bytes += result.tracker_traffic.decoded_bytes;
  c.pending_writes = pending;
  c.last_duration_seconds = result.seconds;
  if (result.ok()) {
    c.last_success_seconds = static_cast<double>(now_ms) / 1000.0;
  }
}

void Metrics::RecordSyncBack(const std::string& connection, const SyncBackReport& report) {
  std::lock_guard lock(mu_);
  Connection& c = connections_[connection];
  c.sync_back_writes += report.written;
  c.sync_back_refused += report.failed;
  c.sync_back_failed_runs += report.error ? 1 : 0;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto value_of, std::string_view extra_label = "") {
    out += "# HELP boardsync_" + std::string(name) + " " + std::string(help) + "\n";
    out += "# TYPE boardsync_" + std::string(name) + " " + std::string(type) + "\n";
    for (const auto& [connection, c] : connections_) {
      out += "boardsync_" + std::string(name) + "{connection=\"" + Label(connection) + "\"" +
             std::string(extra_label) + "} " + value_of(c) + "\n";
    }
  };
  family("syncs_total", "counter", "Sync cycles run, by connection and result.",
         [](const Connection& c) { return std::to_string(c.syncs_ok); }, ",result=\"ok\"");
  // The failed series follow the ok ones in the same family.
  for (const auto& [connection, c] : connections_) {
    out += "boardsync_syncs_total{connection=\"" + Label(connection) +
           "\",result=\"failed\"} " + std::to_string(c.syncs_failed) + "\n";
  }
  family("issues_pulled_total", "counter", "Issues read from the tracker.",
         [](const Connection& c) { return std::to_string(c.issues_pulled); });
  family("board_writes_total", "counter", "Board writes delivered to the board store.",
         [](const Connection& c) { return std::to_string(c.board_writes); });
  family("tracker_requests_total", "counter",
         "HTTP requests sent to the tracker, retries and redirects included.",
         [](const Connection& c) { return std::to_string(c.tracker_requests); });
  family("tracker_received_bytes_total", "counter",
         "Bytes of tracker answer bodies as received, compressed when the tracker gzips.",
         [](const Connection& c) { return std::to_string(c.tracker_received_bytes); });
  family("tracker_decoded_bytes_total", "counter",
         "Bytes of tracker answer bodies once decoded.",
         [](const Connection& c) { return std::to_string(c.tracker_decoded_bytes); });
  family("sync_back_writes_total", "counter", "Issues whose fields a sync back wrote.",
         [](const Connection& c) { return std::to_string(c.sync_back_writes); });
  family("sync_back_refused_total", "counter",
         "Issue writes the tracker refused during sync back (tried again next time).",
         [](const Connection& c) { return std::to_string(c.sync_back_refused); });
  family("sync_back_failures_total", "counter",
         "Sync backs that stopped early (board, tracker or state unavailable).",
         [](const Connection& c) { return std::to_string(c.sync_back_failed_runs); });
  family("pending_board_writes", "gauge", "Board writes waiting in the outbox.",
         [](const Connection& c) { return std::to_string(c.pending_writes); });
  family("last_sync_duration_seconds", "gauge", "How long the last sync cycle took.",
         [](const Connection& c) { return Number(c.last_duration_seconds); });
  family("last_success_timestamp_seconds", "gauge",
         "Unix time of the last successful sync cycle; 0 before the first.",
         [](const Connection& c) { return Number(c.last_success_seconds); });
  return out;
}

// One thread serves every client at once, none of them blocking: a client
// that connects and sends nothing, or half a request, delays no other. Bounded:
// at most kMaxClients open at once (a new one closes the oldest), each with
// kRequestTimeout to send its request and kResponseTimeout to take the answer.
class MetricsServer::Impl {
 public:
  static constexpr std::size_t kMaxClients = 64;
  static constexpr std::chrono::milliseconds kRequestTimeout{2000};
  static constexpr std::chrono::milliseconds kResponseTimeout{10000};

  Impl(int listener, const Metrics& metrics) : listener_(listener), metrics_(metrics) {
    ::fcntl(listener_, F_SETFL, ::fcntl(listener_, F_GETFL) | O_NONBLOCK);
    if (::pipe2(wake_, O_CLOEXEC) != 0) {
      wake_[0] = wake_[1] = -1;
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~Impl() {
    if (wake_[1] >= 0) {
      [[maybe_unused]] ssize_t n = ::write(wake_[1], "x", 1);
    }
    thread_.join();
    for (const Client& client : clients_) {
      ::close(client.fd);
    }
    ::close(listener_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

 private:
  using Clock = std::chrono::steady_clock;

  struct Client {
    int fd;
    Clock::time_point deadline;
    std::string head;      // the request read so far
    std::string response;  // set once the request is complete
    std::size_t sent = 0;
  };

  void Serve() {
    std::vector<pollfd> fds;
    for (;;) {
      const Clock::time_point now = Clock::now();
      std::erase_if(clients_, [&](const Client& c) {
        if (c.deadline <= now) {
          ::close(c.fd);
          return true;
        }
        return false;
      });
      fds.assign({{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}});
      Clock::time_point next = Clock::time_point::max();
      for (const Client& c : clients_) {
        fds.push_back({c.fd, static_cast<short>(c.response.empty() ? POLLIN : POLLOUT), 0});
        next = std::min(next, c.deadline);
      }
      int timeout = -1;
      if (next != Clock::time_point::max()) {
        timeout = static_cast<int>(std::max<std::int64_t>(
            0, std::chrono::ceil<std::chrono::milliseconds>(next - now).count()));
      }
      if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
        return;
      }
      if (fds[1].revents != 0) {
        return;
      }
      // Clients first, by index: accepting below may drop the oldest.
      std::vector<std::size_t> done;
      for (std::size_t i = 0; i < clients_.size(); ++i) {
        if (fds[i + 2].revents != 0 && !Step(clients_[i])) {
          done.push_back(i);
        }
      }
      for (auto it = done.rbegin(); it != done.rend(); ++it) {
        ::close(clients_[*it].fd);
        clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(*it));
      }
      if (fds[0].revents & POLLIN) {
        Accept();
      }
    }
  }

  void Accept() {
    for (;;) {
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        return;
      }
      if (clients_.size() >= kMaxClients) {
        // The oldest has had the longest to send its request.
        ::close(clients_.front().fd);
        clients_.erase(clients_.begin());
      }
      clients_.push_back(Client{fd, Clock::now() + kRequestTimeout, {}, {}, 0});
    }
  }

  // Reads what the client sent, or sends it what is left of the answer.
  // False when the client is done with (answered, gone or broken).
  bool Step(Client& client) {
    if (client.response.empty()) {
      char buf[1024];
      ssize_t n = ::recv(client.fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return true;
      }
      if (n <= 0) {
        return false;
      }
      client.head.append(buf, static_cast<std::size_t>(n));
      if (client.head.find("\r\n\r\n") == std::string::npos) {
        return client.head.size() < 8192;
      }
      client.response = Answer(client.head);
      client.deadline = Clock::now() + kResponseTimeout;
    }
    while (client.sent < client.response.size()) {
      ssize_t n = ::send(client.fd, client.response.data() + client.sent,
                         client.response.size() - client.sent, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return true;
      }
      if (n <= 0) {
        return false;
      }
      client.sent += static_cast<std::size_t>(n);
    }
    return false;
  }

  // One request per connection: the answer to its head, then close.
  std::string Answer(const std::string& head) const {
    std::string_view line(head.data(), head.find("\r\n"));
    std::string status = "200 OK";
    std::string type = "text/plain; version=0.0.4; charset=utf-8";
    std::string body;
    if (line.starts_with("GET /metrics ") || line.starts_with("GET /metrics?")) {
      body = metrics_.Render();
    } else if (line.starts_with("GET /healthz ")) {
      body = "ok\n";
      type = "text/plain; charset=utf-8";
    } else {
      status = "404 Not Found";
      body = "not found\n";
      type = "text/plain; charset=utf-8";
    }
    return "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  }

  int listener_;
  int wake_[2] = {-1, -1};
  const Metrics& metrics_;
  std::vector<Client> clients_;  // oldest first
  std::thread thread_;
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl, std::uint16_t port)
    : impl_(std::move(impl)), port_(port) {}
MetricsServer::~MetricsServer() = default;

Result<ListenAddress> ParseListenAddress(std::string_view listen) {
  auto bad = [](std::string why) { return Fail(ErrorCode::kConfig, std::move(why)); };
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return bad("expected host:port, e.g. 127.0.0.1:9464");
  }
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  std::string_view port_text = listen.substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("the port is not a number from 0 to 65535");
  }
  ListenAddress parsed;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&parsed.address);
      ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    parsed.family = AF_INET;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    parsed.size = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&parsed.address);
             ::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    parsed.family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    parsed.size = sizeof(sockaddr_in6);
  } else {
    return bad("the host must be an IP address, e.g. 127.0.0.1 or [::1]");
  }
  return parsed;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(std::string_view listen,
                                                            const Metrics& metrics) {
  auto parsed = ParseListenAddress(listen);
  if (!parsed) {
    return Fail(ErrorCode::kConfig,
                "metrics_listen \"" + std::string(listen) + "\": " + parsed.error().message);
  }
  const int family = parsed->family;
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 ||
      ::bind(fd, reinterpret_cast<const sockaddr*>(&parsed->address), parsed->size) != 0 ||
      ::listen(fd, 64) != 0) {
    std::string why = std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
    }
    return Fail(ErrorCode::kConfig,
                "metrics_listen \"" + std::string(listen) + "\": cannot listen: " + why);
  }
  sockaddr_storage bound{};
  socklen_t bound_size = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_size);
  std::uint16_t actual = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                                 : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(std::make_unique<Impl>(fd, metrics), actual));
}

}  // namespace boardsync

#include "tests/support/recording_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/text.h"

namespace boardsync {
namespace {

constexpr std::size_t kHeadLimit = 64 * 1024;
constexpr std::size_t kTunnelStart = 4 * 1024;
constexpr std::size_t kReceivedLimit = 16 * 1024 * 1024;

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// A TCP connection to host:port ("[::1]:80" too), or -1.
int ConnectTo(std::string_view authority) {
  std::string host(authority);
  std::string port;
  if (host.starts_with("[")) {
    auto close = host.find(']');
    if (close == std::string::npos || host.size() < close + 2 || host[close + 1] != ':') {
      return -1;
    }
    port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else {
    auto colon = host.rfind(':');
    if (colon == std::string::npos) {
      return -1;
    }
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) {
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

}  // namespace

std::optional<std::string_view> ProxyRecord::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

// One client connection, and the server connection made for it. Sockets are
// shut down (not closed) from Stop(), so a descriptor is never reused under
// the serving thread.
struct ProxyConnection {
  int client = -1;
  std::atomic<int> server{-1};
  std::thread thread;
  std::atomic<bool> finished{false};

  ~ProxyConnection() {
    if (thread.joinable()) {
      thread.join();
    }
    if (client >= 0) {
      ::close(client);
    }
    if (server >= 0) {
      ::close(server);
    }
  }
  void Interrupt() {
    ::shutdown(client, SHUT_RDWR);
    if (int fd = server.load(); fd >= 0) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
};

struct RecordingProxy::Impl {
  Options options;
  int listener = -1;
  int wake[2] = {-1, -1};
  std::thread accept_thread;
  std::mutex mu;  // guards what follows
  std::list<std::unique_ptr<ProxyConnection>> connections;
  std::vector<ProxyRecord> records;
  std::string received;
  bool stopped = false;

  void Received(std::string_view data) {
    std::lock_guard lock(mu);
    received.append(data.substr(0, kReceivedLimit - std::min(kReceivedLimit, received.size())));
  }

  void Accept() {
    for (;;) {
      pollfd fds[2] = {{listener, POLLIN, 0}, {wake[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
        return;
      }
      if (fds[1].revents != 0) {
        return;
      }
      if ((fds[0].revents & POLLIN) == 0) {
        continue;
      }
      int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        continue;
      }
      std::lock_guard lock(mu);
      connections.remove_if([](const auto& c) { return c->finished.load(); });
      auto connection = std::make_unique<ProxyConnection>();
      connection->client = fd;
      ProxyConnection* raw = connection.get();
      connections.push_back(std::move(connection));
      raw->thread = std::thread([this, raw] {
        Serve(*raw);
        raw->Interrupt();  // either side gone: the other sees the end at once
        raw->finished.store(true);
      });
    }
  }

  void Serve(ProxyConnection& c) {
    std::string head;
    char buffer[16 * 1024];
    std::size_t end;
    while ((end = head.find("\r\n\r\n")) == std::string::npos) {
      if (head.size() > kHeadLimit) {
        return;
      }
      ssize_t n = ::recv(c.client, buffer, sizeof buffer, 0);
      if (n <= 0) {
        return;
      }
      Received(std::string_view(buffer, static_cast<std::size_t>(n)));
      head.append(buffer, static_cast<std::size_t>(n));
    }
    std::string rest = head.substr(end + 4);
    head.resize(end + 2);  // each line ends with CRLF
    ProxyRecord record;
    std::size_t line_end = head.find("\r\n");
    record.request_line = head.substr(0, line_end);
    for (std::size_t at = line_end + 2; at < head.size();) {
      std::size_t next = head.find("\r\n", at);
      std::string_view line(head.data() + at, next - at);
      if (auto colon = line.find(':'); colon != std::string_view::npos) {
        record.headers.emplace_back(AsciiLower(TrimSpace(line.substr(0, colon))),
                                    std::string(TrimSpace(line.substr(colon + 1))));
      }
      at = next + 2;
    }
    std::size_t index;
    {
      std::lock_guard lock(mu);
      records.push_back(record);
      index = records.size() - 1;
    }
    // "METHOD TARGET HTTP/1.1"
    const std::string& line = record.request_line;
    const std::size_t space1 = line.find(' ');
    const std::size_t space2 = line.rfind(' ');
    if (space1 == std::string::npos || space2 <= space1) {
      WriteAll(c.client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const std::string method = line.substr(0, space1);
    const std::string target = line.substr(space1 + 1, space2 - space1 - 1);
    if (method == "CONNECT") {
      if (options.refuse_connect) {
        WriteAll(c.client, "HTTP/1.1 " + std::to_string(*options.refuse_connect) +
                               " Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      c.server = ConnectTo(target);
      if (c.server < 0) {
        WriteAll(c.client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      if (!WriteAll(c.client, "HTTP/1.1 200 Connection established\r\n\r\n")) {
        return;
      }
      Relay(c, rest, index);
      return;
    }
    // Absolute form: "http://host:port/path?query".
    constexpr std::string_view kScheme = "http://";
    if (!target.starts_with(kScheme)) {
      WriteAll(c.client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const std::size_t slash = target.find('/', kScheme.size());
    std::string authority = target.substr(kScheme.size(), slash - kScheme.size());
    const std::string path = slash == std::string::npos ? "/" : target.substr(slash);
    if (authority.find(':') == std::string::npos || authority.ends_with("]")) {
      authority += ":80";
    }
    c.server = ConnectTo(authority);
    if (c.server < 0) {
      WriteAll(c.client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    std::string forward = method + " " + path + " HTTP/1.1\r\n";
    for (const auto& [name, value] : record.headers) {
      if (name != "proxy-authorization" && name != "proxy-connection" && name != "connection" &&
          name != "keep-alive") {
        forward += name + ": " + value + "\r\n";
      }
    }
    forward += "Connection: close\r\n\r\n";
    if (!WriteAll(c.server, forward)) {
      return;
    }
    Relay(c, rest, std::nullopt);
  }

  // Copies bytes both ways until either side closes. `pending` was read (and
  // recorded in `received`) past the client's request head. With `tunnel`,
  // the client's first bytes are kept in that record.
  void Relay(ProxyConnection& c, std::string pending, std::optional<std::size_t> tunnel) {
    auto from_client = [&](std::string_view data) {
      if (tunnel) {
        std::lock_guard lock(mu);
        std::string& start = records[*tunnel].tunnel_start;
        start.append(data.substr(0, kTunnelStart - std::min(kTunnelStart, start.size())));
      }
      return WriteAll(c.server, data);
    };
    if (!pending.empty() && !from_client(pending)) {
      return;
    }
    char buffer[16 * 1024];
    for (;;) {
      pollfd fds[2] = {{c.client, POLLIN, 0}, {c.server, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) {
          continue;
        }
        ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
          return;
        }
        std::string_view data(buffer, static_cast<std::size_t>(n));
        if (i == 0) {
          Received(data);
          if (!from_client(data)) {
            return;
          }
        } else if (!WriteAll(c.client, data)) {
          return;
        }
      }
    }
  }
};

RecordingProxy::RecordingProxy(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (impl_->listener < 0 ||
      ::bind(impl_->listener, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::listen(impl_->listener, 64) != 0 ||
      ::getsockname(impl_->listener, reinterpret_cast<sockaddr*>(&address), &size) != 0 ||
      ::pipe2(impl_->wake, O_CLOEXEC) != 0) {
    std::error_code error(errno, std::system_category());
    if (impl_->listener >= 0) {
      ::close(impl_->listener);
    }
    throw std::system_error(error, "cannot start the recording proxy");
  }
  port_ = ntohs(address.sin_port);
  impl_->accept_thread = std::thread([impl = impl_.get()] { impl->Accept(); });
}

RecordingProxy::~RecordingProxy() {
  Stop();
  ::close(impl_->listener);
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

std::string RecordingProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<ProxyRecord> RecordingProxy::records() const {
  std::lock_guard lock(impl_->mu);
  return impl_->records;
}

std::string RecordingProxy::received() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}

void RecordingProxy::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) {
      return;
    }
    impl_->stopped = true;
  }
  [[maybe_unused]] ssize_t n = ::write(impl_->wake[1], "x", 1);
  impl_->accept_thread.join();
  // The accept thread is gone: no connection is added any more.
  std::list<std::unique_ptr<ProxyConnection>> connections;
  {
    std::lock_guard lock(impl_->mu);
    connections.swap(impl_->connections);
  }
  for (auto& c : connections) {
    c->Interrupt();
  }
  connections.clear();  // joins each thread, then closes its sockets
}

}  // namespace boardsync

// MetricsServer over real loopback sockets: clients are served at once, a
// client that sends nothing or half a request delays no other, and the
// server stays bounded (idle clients are closed; a flood of them does not
// lock /healthz out).

#include "daemon/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace boardsync {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A client socket connected to 127.0.0.1:port; -1 when it cannot connect.
int Connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

// Everything the server sends until it closes, or what came before `timeout`.
std::string ReadToEnd(int fd, std::chrono::milliseconds timeout) {
  std::string text;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return text;
    }
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      return text;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
}

// GET `path` on a fresh connection: the whole answer, or "" past `timeout`.
std::string Get(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
  int fd = Connect(port);
  if (fd < 0) {
    return "";
  }
  std::string answer;
  if (SendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")) {
    answer = ReadToEnd(fd, timeout);
  }
  ::close(fd);
  return answer;
}

class MetricsServerTest : public testing::Test {
 protected:
  void SetUp() override {
    auto started = MetricsServer::Start("127.0.0.1:0", metrics_);
    ASSERT_TRUE(started) << started.error().message;
    server_ = std::move(*started);
  }
  void TearDown() override {
    for (int fd : clients_) {
      ::close(fd);
    }
  }

  // Opens `n` connections kept until the end of the test.
  std::vector<int> Open(int n) {
    std::vector<int> opened;
    for (int i = 0; i < n; ++i) {
      int fd = Connect(server_->port());
      EXPECT_GE(fd, 0);
      opened.push_back(fd);
      clients_.push_back(fd);
    }
    return opened;
  }

  // How long /healthz takes on a fresh connection; fails the test unless it
  // is answered "ok".
  std::chrono::milliseconds TimeHealthz() {
    const auto start = Clock::now();
    const std::string answer = Get(server_->port(), "/healthz", 3s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
    EXPECT_TRUE(answer.ends_with("\r\n\r\nok\n")) << answer;
    return took;
  }

  Metrics metrics_;
  std::unique_ptr<MetricsServer> server_;
  std::vector<int> clients_;
};

TEST_F(MetricsServerTest, SlowClientsDoNotDelayHealthz) {
  // Some connect and send nothing, some send half a request.
  Open(8);
  for (int fd : Open(8)) {
    ASSERT_TRUE(SendAll(fd, "GET /metr"));
  }
  std::this_thread::sleep_for(50ms);  // the server has taken them all
  for (int i = 0; i < 5; ++i) {
    EXPECT_LT(TimeHealthz(), 100ms);
  }
}

TEST_F(MetricsServerTest, ServesSixteenClientsAtOnce) {
  // Sixteen connections each hold a request half sent; then each finishes
  // its request, the last opened first. A server taking one client at a time
  // would wait on the first one's missing half.
  std::vector<int> fds = Open(16);
  for (int fd : fds) {
    ASSERT_TRUE(SendAll(fd, "GET /healthz HT"));
  }
  for (auto it = fds.rbegin(); it != fds.rend(); ++it) {
    const auto start = Clock::now();
    ASSERT_TRUE(SendAll(*it, "TP/1.1\r\nHost: x\r\n\r\n"));
    const std::string answer = ReadToEnd(*it, 3s);
    EXPECT_LT(Clock::now() - start, 100ms);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
    EXPECT_TRUE(answer.ends_with("ok\n")) << answer;
  }
  EXPECT_TRUE(Get(server_->port(), "/metrics", 3s).starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_F(MetricsServerTest, AClientThatSendsNoRequestIsClosedAfterTheReadTimeout) {
  std::vector<int> idle = Open(1);
  const auto start = Clock::now();
  EXPECT_EQ(ReadToEnd(idle[0], 5s), "");  // closed without an answer...
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 1500ms);  // ...after the read timeout,
  EXPECT_LT(waited, 4s);      // not never
}

TEST_F(MetricsServerTest, AFloodOfIdleClientsDoesNotLockHealthzOut) {
  // Far more idle connections than the server keeps: it closes the oldest,
  // so a new client still gets its answer at once.
  Open(300);
  std::this_thread::sleep_for(100ms);
  for (int i = 0; i < 5; ++i) {
    EXPECT_LT(TimeHealthz(), 100ms);
  }
}

}  // namespace
}  // namespace boardsync

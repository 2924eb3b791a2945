#include "connectors/http/cpprest_http_client.h"
#include "core/redact.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "tests/support/http_server.h"

namespace boardsync {
namespace {

using std::chrono::milliseconds;

const Secret& Token() {
  static const Secret token("perm:dGVzdA==.aHR0cA==.HttpClientTestSecret000000000");
  return token;
}

// Records every wait instead of sleeping.
struct Sleeps {
  std::mutex mu;
  std::vector<milliseconds> waits;
  HttpClientOptions Options() {
    HttpClientOptions options;
    options.sleep = [this](milliseconds d, std::stop_token) {
      std::lock_guard lock(mu);
      waits.push_back(d);
    };
    return options;
  }
};

// A handler that answers from a list, one entry per request, repeating the last.
class Script {
 public:
  explicit Script(std::vector<HttpServerResponse> responses) : responses_(std::move(responses)) {}
  HttpServerResponse operator()(const HttpServerRequest& request) {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    std::size_t i = std::min(requests_.size() - 1, responses_.size() - 1);
    return responses_[i];
  }
  std::vector<HttpServerRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  std::vector<HttpServerResponse> responses_;
  std::vector<HttpServerRequest> requests_;
};

HttpServerResponse Redirect(int status, std::string location) {
  HttpServerResponse r = HttpServerResponse::Text(status, "");
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.auth = HttpAuth::Bearer(Token());
  request.timeout = milliseconds(5000);
  return request;
}

TEST(CpprestHttpClientTest, SendsTheBearerTokenAndReturnsTheResponse) {
  Script script({HttpServerResponse::Json(200, R"({"ok":true})")});
  HttpServer server(std::ref(script));
  CpprestHttpClient client;
  auto response = client.Send(Get(server.base_url() + "/api/issues?query=a%20b&%24top=5"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_NE(response->Header("content-type")->find("application/json"), std::string::npos);
  auto seen = script.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/api/issues");
  EXPECT_EQ(*seen[0].Param("query"), "a b");
  EXPECT_EQ(*seen[0].Param("$top"), "5");
  EXPECT_EQ(*seen[0].Header("authorization"), "Bearer " + Token().Reveal());
  EXPECT_EQ(*seen[0].Header("accept"), "application/json");
}

TEST(CpprestHttpClientTest, BasicAndNamedHeaderSchemesCarryTheSecretTheSameWay) {
  Script script({HttpServerResponse::Json(200, "{}"), HttpServerResponse::Json(200, "{}")});
  HttpServer server(std::ref(script));
  CpprestHttpClient client;
  const Secret api_token("ApiTokenCanary0123456789");
  HttpRequest basic = Get(server.base_url() + "/rest/api/3/myself");
  basic.auth = HttpAuth::Basic("ada@example.com", api_token);
  ASSERT_TRUE(client.Send(basic));
  HttpRequest named = Get(server.base_url() + "/api/v4/user");
  named.auth = HttpAuth::Header("PRIVATE-TOKEN", api_token);
  ASSERT_TRUE(client.Send(named));
  auto seen = script.requests();
  ASSERT_EQ(seen.size(), 2u);
  // base64("ada@example.com:ApiTokenCanary0123456789")
  EXPECT_EQ(*seen[0].Header("authorization"),
            "Basic YWRhQGV4YW1wbGUuY29tOkFwaVRva2VuQ2FuYXJ5MDEyMzQ1Njc4OQ==");
  EXPECT_EQ(Redact("sent Basic YWRhQGV4YW1wbGUuY29tOkFwaVRva2VuQ2FuYXJ5MDEyMzQ1Njc4OQ=="),
            "sent Basic …");  // the encoded pair is a secret too
  EXPECT_EQ(*seen[1].Header("private-token"), api_token.Reveal());
  EXPECT_FALSE(seen[1].Header("authorization"));

  // The https-only rule holds for every scheme.
  for (HttpAuth auth : {HttpAuth::Basic("ada@example.com", api_token),
                        HttpAuth::Header("PRIVATE-TOKEN", api_token)}) {
    HttpRequest plain = Get("http://tracker.example.com/rest/api/3/myself");
    plain.auth = auth;
    auto refused = client.Send(plain);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kConfig);
    EXPECT_EQ(refused.error().message.find("ApiTokenCanary"), std::string::npos);
    EXPECT_EQ(refused.error().message.find("ada@"), std::string::npos);
  }
}

TEST(CpprestHttpClientTest, NonSuccessStatusesAreResponsesNotErrors) {
  Script script({HttpServerResponse::Json(404, R"({"error":"Not Found"})")});
  HttpServer server(std::ref(script));
  CpprestHttpClient client;
  auto response = client.Send(Get(server.base_url() + "/api/x"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
}

TEST(CpprestHttpClientTest, FollowsSameOriginRedirectsWithTheToken) {
  Script script({Redirect(302, "/youtrack/api/users/me"), HttpServerResponse::Json(200, "{}")});
  HttpServer server(std::ref(script));
  CpprestHttpClient client;
  auto response = client.Send(Get(server.base_url() + "/api/users/me"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->url, server.base_url() + "/youtrack/api/users/me");
  auto seen = script.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(*seen[1].Header("authorization"), "Bearer " + Token().Reveal());
}

TEST(CpprestHttpClientTest, NeverSendsTheTokenToAnotherOrigin) {
  Script other_script({HttpServerResponse::Json(200, "{}")});
  HttpServer other(std::ref(other_script));  // another port: another origin
  Script script({Redirect(307, other.base_url() + "/steal")});
  HttpServer server(std::ref(script));
  CpprestHttpClient client;
  auto response = client.Send(Get(server.base_url() + "/api/issues"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kBadResponse);
  EXPECT_NE(response.error().message.find("another origin"), std::string::npos);
  EXPECT_EQ(response.error().message.find(Token().Reveal()), std::string::npos);
  EXPECT_EQ(other.requests_served(), 0u);
}

TEST(CpprestHttpClientTest, StopsAfterFiveRedirects) {
  Script script({Redirect(302, "/again")});
  HttpServer server(std::ref(script));
  CpprestHttpClient client;
  auto response = client.Send(Get(server.base_url() + "/start"));
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().message.find("more than 5 redirects"), std::string::npos);
  EXPECT_EQ(script.requests().size(), 6u);  // the first request and five hops
}

TEST(CpprestHttpClientTest, RefusesATokenOverPlainHttpToANonLoopbackHost) {
  CpprestHttpClient client;
  auto response = client.Send(Get("http://tracker.example.com/api/issues"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kConfig);
  EXPECT_NE(response.error().message.find("use https"), std::string::npos);
}

// Hosts that are not loopback by the address rule (core/url.h) never get the
// token over plain http, even when they would reach a loopback server: the
// resolver reads "127.1" and "0x7f.0.0.1" as 127.0.0.1, and an IPv4-mapped
// address reaches 127.0.0.1 through a dual-stack socket.
TEST(CpprestHttpClientTest, NeverSendsTheTokenOverHttpToANameThatOnlyLooksLikeLoopback) {
  Script script({HttpServerResponse::Json(200, "{}")});
  HttpServer server(std::ref(script));
  const std::string port = std::to_string(server.port());
  CpprestHttpClient client;
  for (const std::string host : {"127.1", "0x7f.0.0.1", "2130706433", "127.0.0.1.nip.io",
                                 "127.evil.example", "localhost.evil", "[::ffff:127.0.0.1]"}) {
    auto response = client.Send(Get("http://" + host + ":" + port + "/api/issues"));
    ASSERT_FALSE(response) << host;
    EXPECT_EQ(response.error().code, ErrorCode::kConfig) << host;
    EXPECT_NE(response.error().message.find("use https"), std::string::npos) << host;
  }
  EXPECT_EQ(server.requests_served(), 0u);
  EXPECT_EQ(server.connections_accepted(), 0u);
  // The same server by its address gets it.
  auto response = client.Send(Get("http://127.0.0.1:" + port + "/api/issues"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(*script.requests().at(0).Header("authorization"), "Bearer " + Token().Reveal());
}

// One connection on [::1]: reads a request head, answers 200 "{}", closes.
// The shared test server listens on 127.0.0.1 only.
class Ipv6LoopbackServer {
 public:
  // Whether [::1] could be bound; false on a machine without IPv6 loopback.
  bool Listen() {
    fd_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      return false;
    }
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return false;
    }
    port_ = ntohs(address.sin6_port);
    thread_ = std::thread([this] { Serve(); });
    return true;
  }
  ~Ipv6LoopbackServer() {
    if (thread_.joinable()) {
      ::shutdown(fd_, SHUT_RDWR);
      thread_.join();
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  std::uint16_t port() const { return port_; }
  std::string head() {
    std::lock_guard lock(mu_);
    return head_;
  }

 private:
  void Serve() {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, 10'000) != 1 || (ready.revents & POLLIN) == 0) {
      return;
    }
    int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      return;
    }
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(client, buffer, sizeof buffer);
      if (n <= 0) {
        break;
      }
      head.append(buffer, static_cast<std::size_t>(n));
    }
    {
      std::lock_guard lock(mu_);
      head_ = head;
    }
    const std::string answer =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
        "Connection: close\r\n\r\n{}";
    [[maybe_unused]] ssize_t written = ::write(client, answer.data(), answer.size());
    ::close(client);
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::string head_;
};

TEST(CpprestHttpClientTest, SendsTheTokenOverPlainHttpToIpv6Loopback) {
  Ipv6LoopbackServer server;
  if (!server.Listen()) {
    GTEST_SKIP() << "no IPv6 loopback on this machine";
  }
  CpprestHttpClient client;
  const std::string base = "http://[::1]:" + std::to_string(server.port());
  auto response = client.Send(Get(base + "/api/users/me?fields=login"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "{}");
  EXPECT_EQ(response->url, base + "/api/users/me");
  const std::string head = server.head();
  EXPECT_TRUE(head.starts_with("GET /api/users/me?fields=login HTTP/1.1\r\n")) << head;
  // cpprest writes headers as "Name:value".
  EXPECT_NE(head.find("\r\nHost:[::1]:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << head;
  EXPECT_NE(head.find("\r\nAuthorization:Bearer " + Token().Reveal() + "\r\n"),
            std::string::npos);
}

TEST(CpprestHttpClientTest, HttpsToAnIpv6AddressIsRefusedPlainly) {
  CpprestHttpClient client;
  auto response = client.Send(Get("https://[::1]:1/api/issues"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kConfig);
  EXPECT_NE(response.error().message.find("IPv6"), std::string::npos) << response.error().message;
}

TEST(CpprestHttpClientTest, RetriesServerErrorsHonouringRetryAfter) {
  HttpServerResponse busy = HttpServerResponse::Json(503, R"({"error":"busy"})");
  busy.headers.emplace_back("Retry-After", "3");
  Script script({busy, HttpServerResponse::Json(500, "{}"), HttpServerResponse::Json(200, "[]")});
  HttpServer server(std::ref(script));
  Sleeps sleeps;
  CpprestHttpClient client(sleeps.Options());
  auto response = client.Send(Get(server.base_url() + "/api/issues"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  ASSERT_EQ(sleeps.waits.size(), 2u);
  EXPECT_GE(sleeps.waits[0], milliseconds(3000));  // never sooner than Retry-After
  EXPECT_LE(sleeps.waits[1], milliseconds(1000));  // full jitter under base * 2
}

TEST(CpprestHttpClientTest, GivesUpAfterMaxAttemptsAndReturnsTheLastAnswer) {
  Script script({HttpServerResponse::Json(429, "{}")});
  HttpServer server(std::ref(script));
  Sleeps sleeps;
  CpprestHttpClient client(sleeps.Options());
  HttpRequest request = Get(server.base_url() + "/api/issues");
  request.max_attempts = 3;
  auto response = client.Send(request);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(script.requests().size(), 3u);
}

TEST(CpprestHttpClientTest, ARetryAfterBeyondTheCapIsNotWaitedFor) {
  HttpServerResponse slow_down = HttpServerResponse::Json(429, "{}");
  slow_down.headers.emplace_back("Retry-After", "3600");
  Script script({slow_down});
  HttpServer server(std::ref(script));
  Sleeps sleeps;
  CpprestHttpClient client(sleeps.Options());
  auto response = client.Send(Get(server.base_url() + "/api/issues"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 429);
  EXPECT_TRUE(sleeps.waits.empty());
}

TEST(CpprestHttpClientTest, AHangingServerTimesOut) {
  HttpServerResponse late = HttpServerResponse::Json(200, "[]");
  late.delay = milliseconds(5000);
  Script script({late});
  HttpServer server(std::ref(script));
  Sleeps sleeps;
  CpprestHttpClient client(sleeps.Options());
  HttpRequest request = Get(server.base_url() + "/api/issues");
  request.timeout = milliseconds(300);
  request.max_attempts = 1;
  auto start = std::chrono::steady_clock::now();
  auto response = client.Send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(response.error().retriable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(4000));
}

TEST(CpprestHttpClientTest, ARefusedConnectionIsARetriableError) {
  std::string url;
  {
    HttpServer server([](const HttpServerRequest&) { return HttpServerResponse::Json(200, "{}"); });
    url = server.base_url() + "/api/issues";
  }  // stopped: nothing listens on the port any more
  Sleeps sleeps;
  CpprestHttpClient client(sleeps.Options());
  HttpRequest request = Get(url);
  request.max_attempts = 2;
  auto response = client.Send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(sleeps.waits.size(), 1u);
  EXPECT_EQ(response.error().message.find(Token().Reveal()), std::string::npos);
}

TEST(CpprestHttpClientTest, AStopRequestCancelsARequestInFlight) {
  HttpServerResponse late = HttpServerResponse::Json(200, "[]");
  late.delay = milliseconds(20'000);
  Script script({late});
  HttpServer server(std::ref(script));
  CpprestHttpClient client;
  std::stop_source stop;
  HttpRequest request = Get(server.base_url() + "/api/issues");
  request.timeout = milliseconds(30'000);
  request.stop = stop.get_token();
  std::jthread stopper([&] {
    std::this_thread::sleep_for(milliseconds(200));
    stop.request_stop();
  });
  auto start = std::chrono::steady_clock::now();
  auto response = client.Send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(5000));
}

TEST(CpprestHttpClientTest, AStopRequestEndsTheWaitBeforeARetry) {
  HttpServerResponse busy = HttpServerResponse::Json(503, "{}");
  busy.headers.emplace_back("Retry-After", "60");
  Script script({busy});
  HttpServer server(std::ref(script));
  CpprestHttpClient client;  // the real, interruptible wait
  std::stop_source stop;
  HttpRequest request = Get(server.base_url() + "/api/issues");
  request.stop = stop.get_token();
  std::jthread stopper([&] {
    std::this_thread::sleep_for(milliseconds(300));
    stop.request_stop();
  });
  auto start = std::chrono::steady_clock::now();
  auto response = client.Send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(5000));
  EXPECT_EQ(script.requests().size(), 1u);
}

TEST(CpprestHttpClientTest, AnswersAboveTheSizeCapAreRefused) {
  Script script({HttpServerResponse::Json(200, "[" + std::string(300'000, ' ') + "]"),
                 HttpServerResponse::Json(200, "[]")});
  HttpServer server(std::ref(script));
  HttpClientOptions options;
  options.max_response_bytes = 100'000;
  CpprestHttpClient client(options);
  auto big = client.Send(Get(server.base_url() + "/api/issues"));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kBadResponse);
  EXPECT_NE(big.error().message.find("larger than"), std::string::npos) << big.error().message;
  auto small = client.Send(Get(server.base_url() + "/api/issues"));
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_EQ(small->body, "[]");
}

TEST(CpprestHttpClientTest, ParsesRetryAfterInSecondsAndAsAnHttpDate) {
  auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), milliseconds(120'000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), milliseconds(30'000));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now), milliseconds(0));
  EXPECT_FALSE(ParseRetryAfter("soon", now));
}

}  // namespace
}  // namespace boardsync

namespace boardsync {
namespace {

// A 429 with Retry-After to one request pauses the others to the same server
// (the slices of a pull share one client): a request started during the
// pause reaches the server only after it.
TEST(CpprestHttpClientTest, APauseOneAnswerAsksForHoldsEveryRequestToThatServer) {
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::vector<std::pair<std::string, Clock::time_point>> seen;
  bool refused = false;
  HttpServer server([&](const HttpServerRequest& request) {
    std::lock_guard lock(mu);
    seen.emplace_back(request.target, Clock::now());
    if (!refused && request.target == "/api/a") {
      refused = true;
      HttpServerResponse slow_down = HttpServerResponse::Json(429, "{}");
      slow_down.headers.emplace_back("Retry-After", "1");
      return slow_down;
    }
    return HttpServerResponse::Json(200, "[]");
  });
  auto seen_count = [&] {
    std::lock_guard lock(mu);
    return seen.size();
  };
  CpprestHttpClient client;
  std::thread first([&] {
    auto response = client.Send(Get(server.base_url() + "/api/a"));
    EXPECT_TRUE(response && response->status == 200);
  });
  while (seen_count() < 1) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  std::this_thread::sleep_for(milliseconds(50));  // the 429 is back by now
  auto second = client.Send(Get(server.base_url() + "/api/b"));
  first.join();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].first, "/api/a");
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].second - seen[0].second, milliseconds(950)) << seen[i].first;
  }
}

}  // namespace
}  // namespace boardsync

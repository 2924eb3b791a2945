#include "connectors/http/cpprest_http_client.h"

#include <gtest/gtest.h>

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
  request.bearer = &Token();
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

// GitHubTransport against a loopback server: a caller's own headers (an
// ETag's If-None-Match) go out with GitHub's and the token on every attempt,
// a 304 comes back as an answer, and a stop names what it ended (the pull,
// or the activity) without a request. The rate limits and retries are
// covered through the source and the writer (github_source_test.cc,
// writer_test.cc).

#include "connectors/github/transport.h"

#include <gtest/gtest.h>

#include <mutex>
#include <stop_token>
#include <vector>

#include "connectors/http/cpprest_http_client.h"
#include "tests/support/http_server.h"

namespace boardsync {
namespace {

constexpr std::string_view kToken = "ghp_TransportTestTransportTestTransport00";

GitHubTransportOptions Options() {
  GitHubTransportOptions options;
  options.connection_name = "acme-gh";
  options.token = Secret(std::string(kToken));
  options.timeout = std::chrono::milliseconds(5'000);
  options.retry_backoff = std::chrono::milliseconds(10);
  return options;
}

TEST(GitHubTransportTest, ACallersHeadersGoOutOnEveryAttemptAndA304ComesBack) {
  std::mutex mu;
  std::vector<HttpServerRequest> seen;
  HttpServer server([&](const HttpServerRequest& request) {
    std::lock_guard lock(mu);
    seen.push_back(request);
    if (seen.size() == 1) {
      return HttpServerResponse::Json(503, R"({"message":"busy"})");
    }
    HttpServerResponse answer;
    answer.status = request.Header("if-none-match") == "\"v1\"" ? 304 : 200;
    answer.headers = {{"ETag", "\"v1\""}};
    return answer;
  });
  CpprestHttpClient http;
  GitHubTransport transport(Options(), http);
  auto response = transport.Send("GET", server.base_url() + "/repos/acme/app/issues", "", "core",
                                 {}, /*retry=*/true, {{"If-None-Match", "\"v1\""}});
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 304);
  EXPECT_EQ(response->Header("etag"), "\"v1\"");
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);  // the 503 was sent again, with the header
  for (const HttpServerRequest& request : seen) {
    EXPECT_EQ(request.Header("if-none-match"), "\"v1\"");
    EXPECT_EQ(request.Header("accept"), "application/vnd.github+json");
    EXPECT_EQ(request.Header("x-github-api-version"), "2022-11-28");
    EXPECT_EQ(request.Header("authorization"), "Bearer " + std::string(kToken));
  }
}

TEST(GitHubTransportTest, AStopNamesWhatItEndedAndSendsNothing) {
  HttpServer server([](const HttpServerRequest&) { return HttpServerResponse::Json(200, "{}"); });
  CpprestHttpClient http;
  std::stop_source stop;
  stop.request_stop();
  const std::string url = server.base_url() + "/user";

  GitHubTransportOptions pull = Options();
  pull.activity = "sync";
  pull.stopped = "pull";
  auto pulled = GitHubTransport(pull, http).Send("GET", url, "", "core", stop.get_token());
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(pulled.error().message, "connection acme-gh: the pull was stopped");

  GitHubTransportOptions back = Options();
  back.activity = "sync back";
  auto written = GitHubTransport(back, http).Send("POST", url, "{}", "graphql", stop.get_token());
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().message, "connection acme-gh: the sync back was stopped");
  EXPECT_EQ(server.requests_served(), 0u);
}

}  // namespace
}  // namespace boardsync

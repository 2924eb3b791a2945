#include "connectors/common/http_status.h"

#include <gtest/gtest.h>

#include <string>

#include "core/redact.h"

namespace boardsync {
namespace {

HttpResponse Answer(int status, std::string body, std::string content_type = "application/json") {
  HttpResponse response;
  response.status = status;
  if (!content_type.empty()) {
    response.headers.emplace_back("content-type", std::move(content_type));
  }
  response.body = std::move(body);
  return response;
}

// A tracker whose error answers are {"message": "..."}, read crudely: the
// table must take whatever the connector's callback gives.
std::string MessageOf(const HttpResponse& response) {
  const std::string key = R"("message":")";
  const auto start = response.body.find(key);
  if (start == std::string::npos) {
    return "";
  }
  const auto from = start + key.size();
  return response.body.substr(from, response.body.find('"', from) - from);
}

const TrackerAnswerContext kTracker{"acme", "Tracker", MessageOf};

Error Failure(const HttpResponse& response, const TrackerAnswerContext& context = kTracker) {
  auto result = ReadJsonAnswer(response, context);
  EXPECT_FALSE(result.has_value());
  return result ? Error{} : result.error();
}

TEST(HttpStatus, A2xxJsonAnswerIsReadAndIsNoError) {
  const HttpResponse ok = Answer(200, R"({"issues":[]})");
  EXPECT_FALSE(HttpStatusError(ok, kTracker).has_value());
  auto json = ReadJsonAnswer(ok, kTracker);
  ASSERT_TRUE(json.has_value()) << json.error().message;
  EXPECT_TRUE(json->Root().IsObject());
  EXPECT_FALSE(HttpStatusError(Answer(204, ""), kTracker).has_value());
}

TEST(HttpStatus, TheStatusDecidesTheCodeAndTheTrackersWordsExplain) {
  const std::string body = R"({"message":"Field 'sprint' does not exist"})";
  struct Case {
    int status;
    ErrorCode code;
    bool retriable;
    std::string message;
  };
  const Case cases[] = {
      {401, ErrorCode::kAuth, false, "connection acme: token invalid or revoked (HTTP 401)"},
      {403, ErrorCode::kAuth, false,
       "connection acme: token lacks Tracker scope or project access (HTTP 403): Field 'sprint' "
       "does not exist"},
      {429, ErrorCode::kRateLimited, true,
       "connection acme: Tracker is limiting the request rate (HTTP 429)"},
      {500, ErrorCode::kUnavailable, true,
       "connection acme: Tracker is unavailable (HTTP 500): Field 'sprint' does not exist"},
      {503, ErrorCode::kUnavailable, true,
       "connection acme: Tracker is unavailable (HTTP 503): Field 'sprint' does not exist"},
      {400, ErrorCode::kBadResponse, false,
       "connection acme: Tracker rejected the request (HTTP 400): Field 'sprint' does not exist"},
      {404, ErrorCode::kBadResponse, false,
       "connection acme: Tracker rejected the request (HTTP 404): Field 'sprint' does not exist; "
       "check base_url"},
      {101, ErrorCode::kBadResponse, false, "connection acme: unexpected HTTP 101 from Tracker"},
  };
  for (const Case& c : cases) {
    auto error = HttpStatusError(Answer(c.status, body), kTracker);
    ASSERT_TRUE(error.has_value()) << c.status;
    EXPECT_EQ(error->code, c.code) << c.status;
    EXPECT_EQ(error->retriable, c.retriable) << c.status;
    EXPECT_EQ(error->message, c.message);
    EXPECT_EQ(Failure(Answer(c.status, body)).message, c.message);
  }
}

TEST(HttpStatus, WithoutAReasonCallbackOrAReasonTheMessageStopsAtTheStatus) {
  const TrackerAnswerContext silent{"acme", "Tracker", {}};
  EXPECT_EQ(HttpStatusError(Answer(500, R"({"message":"boom"})"), silent)->message,
            "connection acme: Tracker is unavailable (HTTP 500)");
  EXPECT_EQ(HttpStatusError(Answer(400, "not json", "text/plain"), kTracker)->message,
            "connection acme: Tracker rejected the request (HTTP 400)");
}

TEST(HttpStatus, TheReasonIsRedactedAndCutToOneLinesWorth) {
  const std::string long_reason(1000, 'x');
  auto cut = HttpStatusError(Answer(400, R"({"message":")" + long_reason + R"("})"), kTracker);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->message,
            "connection acme: Tracker rejected the request (HTTP 400): " + std::string(300, 'x'));

  // Redacted before it is cut: a secret across the cut leaves no part behind.
  const std::string token = "perm:c2FtcGxlLnVzZXI=.Ym9hcmRzeW5j.Xq7TestOnlyNotARealSecret0123";
  RegisterSecret(token, "[token]");
  auto echoed = HttpStatusError(
      Answer(400, R"({"message":")" + std::string(290, 'y') + token + R"("})"), kTracker);
  ASSERT_TRUE(echoed.has_value());
  EXPECT_EQ(echoed->message, "connection acme: Tracker rejected the request (HTTP 400): " +
                                 std::string(290, 'y') + "[token]");
}

TEST(HttpStatus, ARedirectNamesWhereItPointedOnly) {
  HttpResponse redirect = Answer(302, "", "");
  redirect.headers.emplace_back("location", "https://sso.example.com/login?state=abc&code=xyz");
  EXPECT_EQ(Failure(redirect).message,
            "connection acme: Tracker redirected to https://sso.example.com (HTTP 302); check "
            "base_url (an SSO or proxy login page?)");
  EXPECT_EQ(Failure(Answer(301, "", "")).message,
            "connection acme: Tracker redirected (HTTP 301); check base_url (an SSO or proxy "
            "login page?)");
}

TEST(HttpStatus, A2xxThatIsAWebPageOrNotJsonPointsAtBaseUrl) {
  const std::string html =
      "connection acme: Tracker answered with an HTML page, not JSON; check base_url (an SSO or "
      "proxy login page?) (HTTP 200)";
  EXPECT_EQ(Failure(Answer(200, "<html><body>Log in</body></html>", "text/html")).message, html);
  EXPECT_EQ(Failure(Answer(200, "  <!doctype html>", "application/json")).message, html);
  Error not_json = Failure(Answer(200, "OK", "text/plain"));
  EXPECT_EQ(not_json.code, ErrorCode::kBadResponse);
  EXPECT_FALSE(not_json.retriable);
  EXPECT_TRUE(not_json.message.starts_with(
      "connection acme: Tracker answered HTTP 200 with a body that is not JSON ("))
      << not_json.message;
  EXPECT_TRUE(not_json.message.ends_with("); check base_url")) << not_json.message;
}

}  // namespace
}  // namespace boardsync

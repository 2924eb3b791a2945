#include "connectors/youtrack/response.h"

#include <gtest/gtest.h>

#include <string>

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

Error Failure(const HttpResponse& response) {
  auto result = ReadJsonResponse(response, "acme-yt");
  EXPECT_FALSE(result.has_value()) << "parsed " << result->ToJson();
  return result ? Error{} : result.error();
}

TEST(ReadJsonResponse, OkJsonIsParsed) {
  auto json = ReadJsonResponse(Answer(200, R"([{"id":"2-1","$type":"Issue"}])"), "acme-yt");
  ASSERT_TRUE(json.has_value()) << json.error().message;
  ASSERT_TRUE(json->IsList());
  EXPECT_EQ(json->AsList().size(), 1u);
}

TEST(ReadJsonResponse, Unauthorized) {
  Error e = Failure(Answer(401, R"({"error":"Unauthorized","error_description":""})"));
  EXPECT_EQ(e.code, ErrorCode::kAuth);
  EXPECT_EQ(e.message, "connection acme-yt: token invalid or revoked (HTTP 401)");
  EXPECT_FALSE(e.retriable);
}

TEST(ReadJsonResponse, HubScopeMismatchIsStillUnauthorized) {
  Error e = Failure(Answer(
      401,
      R"({"error":"invalid_token","error_code":401,"error_description":"Token is granted for [YouTrack] and can't be used for 0-0-0-0-0","error_developer_message":"Token is granted for [YouTrack] and can't be used for 0-0-0-0-0"})"));
  EXPECT_EQ(e.code, ErrorCode::kAuth);
  EXPECT_EQ(e.message, "connection acme-yt: token invalid or revoked (HTTP 401)");
}

TEST(ReadJsonResponse, Forbidden) {
  Error e = Failure(Answer(
      403, R"({"error":"Forbidden","error_description":"Access to the project is denied"})"));
  EXPECT_EQ(e.code, ErrorCode::kAuth);
  EXPECT_EQ(e.message,
            "connection acme-yt: token lacks YouTrack scope or project access (HTTP 403): Access "
            "to the project is denied");
  EXPECT_FALSE(e.retriable);

  Error bare = Failure(Answer(403, R"({"error":"Forbidden"})"));
  EXPECT_EQ(bare.message,
            "connection acme-yt: token lacks YouTrack scope or project access (HTTP 403): "
            "Forbidden");
}

TEST(ReadJsonResponse, RateLimitedIsRetriable) {
  Error e = Failure(Answer(429, "", ""));
  EXPECT_EQ(e.code, ErrorCode::kRateLimited);
  EXPECT_TRUE(e.retriable);
  EXPECT_TRUE(e.message.starts_with("connection acme-yt: ")) << e.message;
  EXPECT_NE(e.message.find("HTTP 429"), std::string::npos);
}

TEST(ReadJsonResponse, ServerErrorsAreUnavailableAndRetriable) {
  Error json = Failure(Answer(500, R"({"error":"server_error","error_description":"NPE"})"));
  EXPECT_EQ(json.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(json.retriable);
  EXPECT_EQ(json.message, "connection acme-yt: YouTrack is unavailable (HTTP 500): NPE");

  Error gateway = Failure(
      Answer(502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
             "text/html"));
  EXPECT_EQ(gateway.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(gateway.retriable);
  EXPECT_EQ(gateway.message, "connection acme-yt: YouTrack is unavailable (HTTP 502)");

  EXPECT_EQ(Failure(Answer(503, "")).code, ErrorCode::kUnavailable);
}

TEST(ReadJsonResponse, OtherClientErrorsCarryYouTrackDescription) {
  Error e = Failure(Answer(
      400, R"({"error":"bad_request","error_description":"Query string has invalid syntax"})"));
  EXPECT_EQ(e.code, ErrorCode::kBadResponse);
  EXPECT_FALSE(e.retriable);
  EXPECT_EQ(e.message,
            "connection acme-yt: YouTrack rejected the request (HTTP 400): Query string has "
            "invalid syntax");

  Error not_found = Failure(
      Answer(404, R"({ "error": "Not Found", "error_description": "HTTP 404 Not Found" })"));
  EXPECT_EQ(not_found.code, ErrorCode::kBadResponse);
  EXPECT_EQ(not_found.message,
            "connection acme-yt: YouTrack rejected the request (HTTP 404): HTTP 404 Not Found; "
            "check base_url");

  Error not_json = Failure(Answer(400, "Bad Request", "text/plain"));
  EXPECT_EQ(not_json.message, "connection acme-yt: YouTrack rejected the request (HTTP 400)");
}

TEST(ReadJsonResponse, HtmlPageUnder200IsBadResponse) {
  const std::string expected =
      "connection acme-yt: YouTrack answered with an HTML page, not JSON; check base_url (an SSO "
      "or proxy login page?) (HTTP 200)";
  // By content type...
  Error typed = Failure(
      Answer(200, "<!doctype html><html><body>Log in</body></html>", "text/html;charset=UTF-8"));
  EXPECT_EQ(typed.code, ErrorCode::kBadResponse);
  EXPECT_FALSE(typed.retriable);
  EXPECT_EQ(typed.message, expected);
  // ...and by the body when the proxy claims JSON or says nothing.
  EXPECT_EQ(Failure(Answer(200, "\n  <!DOCTYPE html><html></html>", "application/json")).message,
            expected);
  EXPECT_EQ(Failure(Answer(200, "<html></html>", "")).message, expected);
}

TEST(ReadJsonResponse, NonJsonUnder200IsBadResponse) {
  Error e = Failure(Answer(200, "OK", "text/plain"));
  EXPECT_EQ(e.code, ErrorCode::kBadResponse);
  EXPECT_TRUE(
      e.message.starts_with("connection acme-yt: YouTrack answered HTTP 200 with a body "
                            "that is not JSON"))
      << e.message;
  EXPECT_EQ(Failure(Answer(200, "")).code, ErrorCode::kBadResponse);
}

TEST(ReadJsonResponse, RedirectNotFollowedPointsAtBaseUrl) {
  HttpResponse redirect = Answer(302, "", "");
  redirect.headers.emplace_back("location",
                                "https://sso.example.com/hub/auth/login?state=abc&code=xyz");
  Error e = Failure(redirect);
  EXPECT_EQ(e.code, ErrorCode::kBadResponse);
  EXPECT_EQ(e.message,
            "connection acme-yt: YouTrack redirected to https://sso.example.com (HTTP 302); check "
            "base_url (an SSO or proxy login page?)");
}

}  // namespace
}  // namespace boardsync

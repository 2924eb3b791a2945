#include "connectors/youtrack/youtrack_source.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/connectors/youtrack/fake_http_client.h"

namespace boardsync {
namespace {

// Shaped like a real permanent token; not a real one.
constexpr char kToken[] = "perm:c2FtcGxlLnVzZXI=.Ym9hcmRzeW5j.Xq7TestOnlyNotARealSecret0123";

constexpr char kMe[] =
    R"({"guest":false,"banned":false,"login":"sample.user","fullName":"Sample User","id":"1-1","$type":"Me"})";

class YouTrackSourceTest : public testing::Test {
 protected:
  YouTrackSourceTest()
      : source_(YouTrackOptions{"acme-yt",
                                {"https://acme.youtrack.cloud", "https://acme.youtrack.cloud/api"},
                                Secret(kToken),
                                std::chrono::milliseconds(12'000)},
                http_) {}

  // Issues RAP-<first> .. RAP-<first + count - 1>, updated in that order.
  static std::string Page(int first, int count) {
    std::string body = "[";
    for (int n = first; n < first + count; ++n) {
      if (n != first) {
        body += ",";
      }
      std::string num = std::to_string(n);
      body += R"({"created":1700000000000,"idReadable":"RAP-)" + num + R"(","summary":"Issue )" +
              num + R"(","updated":)" + std::to_string(1700000000000 + n) +
              R"(,"resolved":null,"id":"2-)" + num + R"(","$type":"Issue"})";
    }
    return body + "]";
  }

  // Pulls, collecting page sizes and keys.
  Result<void> PullAll(const PullRequest& request) {
    return source_.Pull(request, [this](std::vector<Issue> page) -> Result<void> {
      page_sizes_.push_back(page.size());
      for (const Issue& issue : page) {
        keys_.push_back(issue.key);
      }
      return {};
    });
  }

  void ExpectNoToken(const Error& error) {
    EXPECT_EQ(error.message.find(kToken), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find("Xq7TestOnly"), std::string::npos) << error.message;
  }

  FakeHttpClient http_;
  YouTrackSource source_;
  std::vector<std::size_t> page_sizes_;
  std::vector<std::string> keys_;
};

// --- requests ---------------------------------------------------------------------

TEST_F(YouTrackSourceTest, WhoAmIAsksForMeThenCountsProjects) {
  http_.AddJson(200, kMe);
  http_.AddJson(
      200,
      R"([{"id":"0-0","$type":"Project"},{"id":"0-1","$type":"Project"},{"id":"0-2","$type":"Project"}])");
  auto me = source_.WhoAmI();
  ASSERT_TRUE(me.has_value()) << me.error().message;
  EXPECT_EQ(me->login, "sample.user");
  EXPECT_EQ(me->name, "Sample User");
  EXPECT_EQ(me->projects, 3);

  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(http_.requests[0].url,
            "https://acme.youtrack.cloud/api/users/me?fields=id,login,fullName,guest,banned");
  EXPECT_EQ(http_.requests[1].url,
            "https://acme.youtrack.cloud/api/admin/projects?fields=id&$top=-1");
  for (const auto& request : http_.requests) {
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.headers, (HttpHeaders{{"Accept", "application/json"}}));
    // The HttpClient puts the token in the Authorization header; never the URL.
    EXPECT_EQ(request.bearer, kToken);
    EXPECT_EQ(request.url.find("Xq7TestOnly"), std::string::npos);
    EXPECT_EQ(request.timeout, std::chrono::milliseconds(12'000));
  }
}

TEST_F(YouTrackSourceTest, WhoAmIWithoutProjectListPermissionStillSucceeds) {
  http_.AddJson(200, kMe);
  http_.AddJson(403, R"({"error":"Forbidden","error_description":"Insufficient rights"})");
  auto me = source_.WhoAmI();
  ASSERT_TRUE(me.has_value()) << me.error().message;
  EXPECT_EQ(me->login, "sample.user");
  EXPECT_EQ(me->projects, -1);
}

TEST_F(YouTrackSourceTest, WhoAmIGuestIsAuthError) {
  http_.AddJson(
      200,
      R"({"guest":true,"banned":false,"login":"guest","fullName":"guest","id":"1-0","$type":"Me"})");
  auto me = source_.WhoAmI();
  ASSERT_FALSE(me.has_value());
  EXPECT_EQ(me.error().code, ErrorCode::kAuth);
  EXPECT_EQ(me.error().message,
            "connection acme-yt: the token was not accepted: YouTrack answered as the guest user");
  EXPECT_EQ(http_.requests.size(), 1u);  // no project count for a guest
}

TEST_F(YouTrackSourceTest, WhoAmIClassifiesFailures) {
  struct Case {
    int status;
    std::string body;
    std::string content_type;
    ErrorCode code;
    bool retriable;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {401, R"({"error":"Unauthorized","error_description":""})", "application/json",
       ErrorCode::kAuth, false, "token invalid or revoked (HTTP 401)"},
      {403, R"({"error":"Forbidden","error_description":"Insufficient rights"})",
       "application/json", ErrorCode::kAuth, false,
       "token lacks YouTrack scope or project access (HTTP 403)"},
      {429, "", "", ErrorCode::kRateLimited, true, "HTTP 429"},
      {503, R"({"error":"server_error","error_description":"maintenance"})", "application/json",
       ErrorCode::kUnavailable, true, "HTTP 503"},
      {200, "<!doctype html><html><body>Sign in</body></html>", "text/html",
       ErrorCode::kBadResponse, false, "answered with an HTML page, not JSON; check base_url"},
      {400, R"({"error":"bad_request","error_description":"Invalid structure of entity id: CS"})",
       "application/json", ErrorCode::kBadResponse, false, "Invalid structure of entity id: CS"},
      {200, "[]", "application/json", ErrorCode::kBadResponse, false, "not a JSON object"},
  };
  for (const Case& c : cases) {
    FakeHttpClient http;
    YouTrackSource source(
        YouTrackOptions{"acme-yt",
                        {"https://acme.youtrack.cloud", "https://acme.youtrack.cloud/api"},
                        Secret(kToken),
                        std::chrono::milliseconds(1000)},
        http);
    HttpResponse response;
    response.status = c.status;
    if (!c.content_type.empty()) {
      response.headers = {{"content-type", c.content_type}};
    }
    response.body = c.body;
    http.Add(response);
    auto me = source.WhoAmI();
    ASSERT_FALSE(me.has_value()) << c.status;
    EXPECT_EQ(me.error().code, c.code) << c.status << " " << me.error().message;
    EXPECT_EQ(me.error().retriable, c.retriable) << c.status;
    EXPECT_TRUE(me.error().message.starts_with("connection acme-yt: ")) << me.error().message;
    EXPECT_NE(me.error().message.find(c.message_part), std::string::npos) << me.error().message;
    ExpectNoToken(me.error());
  }
}

TEST_F(YouTrackSourceTest, TransportErrorsNameTheConnection) {
  http_.AddError(
      Error{ErrorCode::kUnavailable, "connect to acme.youtrack.cloud:443 timed out", true});
  auto me = source_.WhoAmI();
  ASSERT_FALSE(me.has_value());
  EXPECT_EQ(me.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(me.error().retriable);
  EXPECT_EQ(me.error().message, "connection acme-yt: connect to acme.youtrack.cloud:443 timed out");
}

TEST_F(YouTrackSourceTest, EchoedTokenIsRedactedFromMessages) {
  // A misbehaving proxy that reflects the Authorization header into its error.
  http_.AddJson(400,
                std::string(R"({"error":"bad_request","error_description":"bad header Bearer )") +
                    kToken + R"("})");
  auto me = source_.WhoAmI();
  ASSERT_FALSE(me.has_value());
  ExpectNoToken(me.error());
}

// --- paging -----------------------------------------------------------------------

TEST_F(YouTrackSourceTest, FirstPageUrlIsExact) {
  http_.AddJson(200, Page(1, 1));
  PullRequest request;
  request.query = "project: RAP #Unresolved";
  request.fields = {"summary", "State"};
  request.page_size = 50;
  ASSERT_TRUE(PullAll(request).has_value());
  ASSERT_EQ(http_.requests.size(), 1u);
  EXPECT_EQ(http_.requests[0].url,
            "https://acme.youtrack.cloud/api/issues"
            "?query=project%3A%20RAP%20%23Unresolved%20sort%20by%3A%20updated%20asc"
            "&fields=id%2CidReadable%2Ccreated%2Cupdated%2Cresolved%2Csummary%2CcustomFields%28%"
            "24type%2Cname%2Cvalue%28%24type%2Cname%2Clogin%2CfullName%2Cemail%2Cminutes%"
            "2Cpresentation%2Ctext%29%2CprojectCustomField%28field%28fieldType%28id%29%29%29%29"
            "&customFields=State&$top=50&$skip=0");
  EXPECT_EQ(http_.requests[0].bearer, kToken);
  EXPECT_EQ(http_.requests[0].headers, (HttpHeaders{{"Accept", "application/json"}}));
}

TEST_F(YouTrackSourceTest, PagesUntilAShortPage) {
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(3, 2));
  http_.AddJson(200, Page(5, 1));
  PullRequest request;
  request.page_size = 2;
  auto pulled = PullAll(request);
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  EXPECT_EQ(page_sizes_, (std::vector<std::size_t>{2, 2, 1}));
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3", "RAP-4", "RAP-5"}));
  ASSERT_EQ(http_.requests.size(), 3u);
  EXPECT_NE(http_.requests[0].url.find("&$top=2&$skip=0"), std::string::npos);
  EXPECT_NE(http_.requests[1].url.find("&$top=2&$skip=2"), std::string::npos);
  EXPECT_NE(http_.requests[2].url.find("&$top=2&$skip=4"), std::string::npos);
  // An empty query still sorts oldest change first.
  EXPECT_NE(http_.requests[0].url.find("?query=sort%20by%3A%20updated%20asc&"), std::string::npos);
}

TEST_F(YouTrackSourceTest, FullLastPageNeedsOneEmptyPage) {
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, "[]");
  PullRequest request;
  request.page_size = 2;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(page_sizes_, (std::vector<std::size_t>{2}));  // no empty page handed on
  EXPECT_EQ(http_.requests.size(), 2u);
}

TEST_F(YouTrackSourceTest, NothingMatchesNoPages) {
  http_.AddJson(200, "[]");
  ASSERT_TRUE(PullAll(PullRequest{}).has_value());
  EXPECT_TRUE(page_sizes_.empty());
  ASSERT_EQ(http_.requests.size(), 1u);
  EXPECT_NE(http_.requests[0].url.find("&$top=100&$skip=0"), std::string::npos);  // default
}

TEST_F(YouTrackSourceTest, StopsAtLimitAskingOnlyForWhatIsLeft) {
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(3, 1));
  PullRequest request;
  request.page_size = 2;
  request.limit = 3;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3"}));
  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_NE(http_.requests[0].url.find("&$top=2&$skip=0"), std::string::npos);
  EXPECT_NE(http_.requests[1].url.find("&$top=1&$skip=2"), std::string::npos);
}

TEST_F(YouTrackSourceTest, LimitSmallerThanAPage) {
  http_.AddJson(200, Page(1, 5));  // a server that ignores $top
  PullRequest request;
  request.limit = 2;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2"}));
  ASSERT_EQ(http_.requests.size(), 1u);
  EXPECT_NE(http_.requests[0].url.find("&$top=2&$skip=0"), std::string::npos);
}

TEST_F(YouTrackSourceTest, IssueSeenTwiceWhilePagingIsHandedOnOnce) {
  // RAP-2 was updated during the pull and moved to the end of the order.
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(3, 1).substr(0, Page(3, 1).size() - 1) + "," + Page(2, 1).substr(1));
  http_.AddJson(200, "[]");
  PullRequest request;
  request.page_size = 2;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3"}));
  EXPECT_NE(http_.requests[2].url.find("&$skip=4"), std::string::npos);
}

TEST_F(YouTrackSourceTest, PagingThatDoesNotAdvanceIsAnError) {
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(1, 2));  // $skip ignored
  PullRequest request;
  request.page_size = 2;
  auto pulled = PullAll(request);
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kBadResponse);
  EXPECT_TRUE(pulled.error().message.starts_with("connection acme-yt: ")) << pulled.error().message;
  EXPECT_EQ(http_.requests.size(), 2u);
}

TEST_F(YouTrackSourceTest, SinkErrorStopsThePull) {
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(3, 2));
  PullRequest request;
  request.page_size = 2;
  auto pulled = source_.Pull(request, [](std::vector<Issue>) -> Result<void> {
    return Fail(ErrorCode::kStorage, "disk full");
  });
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kStorage);
  EXPECT_EQ(pulled.error().message, "disk full");
  EXPECT_EQ(http_.requests.size(), 1u);
}

TEST_F(YouTrackSourceTest, ErrorOnALaterPageStopsWithIt) {
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(502, R"({"error":"server_error","error_description":"Bad Gateway"})");
  PullRequest request;
  request.page_size = 2;
  auto pulled = PullAll(request);
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(pulled.error().retriable);
  EXPECT_EQ(pulled.error().message,
            "connection acme-yt: YouTrack is unavailable (HTTP 502): Bad Gateway");
  EXPECT_EQ(page_sizes_, (std::vector<std::size_t>{2}));
}

TEST_F(YouTrackSourceTest, PullClassifiesFailuresWithoutTheToken) {
  for (int status : {401, 403, 429, 500, 404}) {
    FakeHttpClient http;
    YouTrackSource source(
        YouTrackOptions{"acme-yt",
                        {"https://acme.youtrack.cloud", "https://acme.youtrack.cloud/api"},
                        Secret(kToken),
                        std::chrono::milliseconds(1000)},
        http);
    http.AddJson(status, R"({"error":"x","error_description":"y"})");
    auto pulled = source.Pull(PullRequest{}, [](std::vector<Issue>) -> Result<void> { return {}; });
    ASSERT_FALSE(pulled.has_value()) << status;
    EXPECT_TRUE(pulled.error().message.starts_with("connection acme-yt: "))
        << pulled.error().message;
    ExpectNoToken(pulled.error());
  }
}

TEST_F(YouTrackSourceTest, HtmlLoginPageInsteadOfIssues) {
  HttpResponse page;
  page.status = 200;
  page.headers = {{"content-type", "text/html; charset=utf-8"}};
  page.body = "<!DOCTYPE html><html><head><title>Log in</title></head></html>";
  http_.Add(page);
  auto pulled = PullAll(PullRequest{});
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kBadResponse);
  EXPECT_EQ(pulled.error().message,
            "connection acme-yt: YouTrack answered with an HTML page, not JSON; check base_url "
            "(an SSO or proxy login page?) (HTTP 200)");
}

TEST_F(YouTrackSourceTest, UndecodableIssueNamesConnectionAndIssue) {
  http_.AddJson(
      200,
      R"([{"id":"2-9","idReadable":"RAP-9","created":1,"updated":2,"customFields":[{"value":{"minutes":"x","$type":"PeriodValue"},"name":"Spent time","$type":"PeriodIssueCustomField"}],"$type":"Issue"}])");
  auto pulled = PullAll(PullRequest{});
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kBadResponse);
  EXPECT_EQ(pulled.error().message,
            "connection acme-yt: issue RAP-9: custom field \"Spent time\" "
            "(PeriodIssueCustomField): minutes is not a number");
}

TEST_F(YouTrackSourceTest, FactoryGivesATrackerSource) {
  std::unique_ptr<TrackerSource> source = MakeYouTrackSource(
      YouTrackOptions{"acme-yt",
                      {"https://acme.youtrack.cloud", "https://acme.youtrack.cloud/api"},
                      Secret(kToken),
                      std::chrono::milliseconds(1000)},
      http_);
  http_.AddJson(200, kMe);
  http_.AddJson(200, "[]");
  auto me = source->WhoAmI();
  ASSERT_TRUE(me.has_value()) << me.error().message;
  EXPECT_EQ(me->projects, 0);
}

TEST(WithUpdatedAscending, AppendsSortUnlessThereIsOne) {
  EXPECT_EQ(WithUpdatedAscending(""), "sort by: updated asc");
  EXPECT_EQ(WithUpdatedAscending("project: RAP #Unresolved "),
            "project: RAP #Unresolved sort by: updated asc");
  EXPECT_EQ(WithUpdatedAscending("project: RAP Sort by: priority desc"),
            "project: RAP Sort by: priority desc");
}

}  // namespace
}  // namespace boardsync

#include "connectors/youtrack/youtrack_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/youtrack/query.h"
#include "core/time.h"
#include "core/url.h"
#include "tests/connectors/youtrack/fake_http_client.h"
#include "tests/support/youtrack_query.h"

namespace boardsync {
namespace {

// Shaped like a real permanent token; not a real one.
constexpr char kToken[] = "perm:c2FtcGxlLnVzZXI=.Ym9hcmRzeW5j.Xq7TestOnlyNotARealSecret0123";

constexpr char kMeUrl[] =
    "https://acme.youtrack.cloud/api/users/me?fields=id,login,fullName,guest,banned,"
    "profiles(general(timezone(id,presentation,offset)))";

// A /users/me answer without a profile: the user's zone is unknown.
constexpr char kMe[] =
    R"({"guest":false,"banned":false,"login":"sample.user","fullName":"Sample User","id":"1-1","$type":"Me"})";

// A /users/me answer whose profile zone is `timezone_json`.
std::string MeInZone(std::string_view timezone_json) {
  return R"({"guest":false,"banned":false,"login":"sample.user","fullName":"Sample User","id":"1-1",)"
         R"("profiles":{"general":{"timezone":)" +
         std::string(timezone_json) +
         R"(,"$type":"GeneralUserProfile"},"$type":"UserProfiles"},"$type":"Me"})";
}
std::string MeUtc() {
  return MeInZone(R"({"id":"UTC","presentation":"UTC","offset":0,"$type":"TimeZoneDescriptor"})");
}
// Kaliningrad keeps +02:00 all year.
std::string MePlus120() {
  return MeInZone(
      R"({"id":"Europe/Kaliningrad","presentation":"(UTC+02:00) Europe/Kaliningrad","offset":7200,"$type":"TimeZoneDescriptor"})");
}

std::int64_t FloorToSecondForTest(std::int64_t ms) { return ms - ms % 1000; }

std::int64_t Ms(std::string_view iso) {
  auto ms = ParseIsoUtc(iso);
  EXPECT_TRUE(ms.has_value()) << iso;
  return ms.value_or(0);
}

// 2024-05-01T10:00:00Z, long enough ago that a pull from it counts as
// historical (more than 12 hours back).
constexpr std::int64_t kT0 = 1'714'557'600'000;

// When RAP-<n> was updated in Page(): a quarter past second n after kT0, so
// each issue has a second of its own and flooring is visible.
constexpr std::int64_t UpdatedAt(int n) { return kT0 + n * 1000LL + 250; }

std::string IssueJson(int n, std::int64_t updated_ms) {
  std::string num = std::to_string(n);
  return R"({"created":1700000000000,"idReadable":"RAP-)" + num + R"(","summary":"Issue )" + num +
         R"(","updated":)" + std::to_string(updated_ms) + R"(,"resolved":null,"id":"2-)" + num +
         R"(","$type":"Issue"})";
}

// A page of RAP-<n> issues with the given update times, in that order.
std::string Issues(const std::vector<std::pair<int, std::int64_t>>& issues) {
  std::string body = "[";
  for (const auto& [n, updated_ms] : issues) {
    if (body.size() > 1) {
      body += ",";
    }
    body += IssueJson(n, updated_ms);
  }
  return body + "]";
}

// Issues RAP-<first> .. RAP-<first + count - 1>, updated at UpdatedAt(n).
std::string Page(int first, int count) {
  std::vector<std::pair<int, std::int64_t>> issues;
  for (int n = first; n < first + count; ++n) {
    issues.emplace_back(n, UpdatedAt(n));
  }
  return Issues(issues);
}

// The raw value of the first `name=` parameter of `url`; "" when absent.
std::string Param(std::string_view url, std::string_view name) {
  const std::string key = std::string(name) + "=";
  for (std::size_t at = url.find('?'); at != std::string_view::npos; at = url.find('&', at)) {
    ++at;
    if (url.substr(at).starts_with(key)) {
      std::size_t end = url.find('&', at);
      return std::string(url.substr(at + key.size(), end == std::string_view::npos
                                                         ? std::string_view::npos
                                                         : end - at - key.size()));
    }
  }
  return "";
}

std::string QueryOf(std::string_view url) { return PercentDecode(Param(url, "query")); }

class YouTrackSourceTest : public testing::Test {
 protected:
  YouTrackSourceTest()
      : source_(YouTrackOptions{"acme-yt",
                                {"https://acme.youtrack.cloud", "https://acme.youtrack.cloud/api"},
                                Secret(kToken),
                                std::chrono::milliseconds(12'000)},
                http_) {}

  // Pulls, collecting page sizes and keys.
  Result<void> PullAll(const PullRequest& request) {
    return source_.Pull(request, [this](std::vector<Issue> page) -> Result<void> {
      page_sizes_.push_back(page.size());
      for (const Issue& issue : page) {
        keys_.push_back(issue.key);
        updated_.push_back(issue.updated_ms);
      }
      return {};
    });
  }

  // The URLs of the /api/issues requests, in order.
  std::vector<std::string> IssueUrls() const {
    std::vector<std::string> urls;
    for (const auto& request : http_.requests) {
      if (request.url.starts_with("https://acme.youtrack.cloud/api/issues?")) {
        urls.push_back(request.url);
      }
    }
    return urls;
  }
  std::vector<std::string> IssueQueries() const {
    std::vector<std::string> queries;
    for (const std::string& url : IssueUrls()) {
      queries.push_back(QueryOf(url));
    }
    return queries;
  }
  std::vector<std::string> IssueTops() const {
    std::vector<std::string> tops;
    for (const std::string& url : IssueUrls()) {
      tops.push_back(Param(url, "$top"));
    }
    return tops;
  }

  // Keyset paging uses $skip only within a second (or margin) it cannot pass.
  std::vector<std::string> IssueSkips() const {
    std::vector<std::string> skips;
    for (const std::string& url : IssueUrls()) {
      skips.push_back(Param(url, "$skip"));
    }
    return skips;
  }

  void ExpectNoToken(const Error& error) {
    EXPECT_EQ(error.message.find(kToken), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find("Xq7TestOnly"), std::string::npos) << error.message;
  }

  FakeHttpClient http_;
  YouTrackSource source_;
  std::vector<std::size_t> page_sizes_;
  std::vector<std::string> keys_;
  std::vector<std::int64_t> updated_;
};

// --- WhoAmI -----------------------------------------------------------------------

TEST_F(YouTrackSourceTest, WhoAmIAsksForMeThenCountsProjects) {
  http_.AddJson(200, MePlus120());
  http_.AddJson(
      200,
      R"([{"id":"0-0","$type":"Project"},{"id":"0-1","$type":"Project"},{"id":"0-2","$type":"Project"}])");
  auto me = source_.WhoAmI();
  ASSERT_TRUE(me.has_value()) << me.error().message;
  EXPECT_EQ(me->login, "sample.user");
  EXPECT_EQ(me->name, "Sample User");
  EXPECT_EQ(me->projects, 3);
  EXPECT_EQ(me->utc_offset_minutes, 120);

  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(http_.requests[0].url, kMeUrl);
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

TEST_F(YouTrackSourceTest, WhoAmIWithoutAZoneLeavesItUnknown) {
  http_.AddJson(200, kMe);
  http_.AddJson(200, "[]");
  auto me = source_.WhoAmI();
  ASSERT_TRUE(me.has_value()) << me.error().message;
  EXPECT_EQ(me->utc_offset_minutes, std::nullopt);
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

// --- the token check before a pull ------------------------------------------------

TEST_F(YouTrackSourceTest, PullChecksTheTokenFirst) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, "[]");
  ASSERT_TRUE(PullAll(PullRequest{}).has_value());
  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(http_.requests[0].url, kMeUrl);
  EXPECT_TRUE(http_.requests[1].url.starts_with("https://acme.youtrack.cloud/api/issues?"))
      << http_.requests[1].url;
}

TEST_F(YouTrackSourceTest, GuestAnswerFailsThePullBeforeAnyIssueRequest) {
  // A token YouTrack does not accept is served as the guest, who sees no
  // issues: that must not pass for an empty tracker.
  http_.AddJson(
      200,
      R"({"guest":true,"banned":false,"login":"guest","fullName":"guest","id":"1-0","$type":"Me"})");
  http_.AddJson(200, "[]");
  auto pulled = PullAll(PullRequest{});
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kAuth);
  EXPECT_FALSE(pulled.error().retriable);
  EXPECT_EQ(pulled.error().message,
            "connection acme-yt: the token was not accepted: YouTrack answered as the guest user");
  ASSERT_EQ(http_.requests.size(), 1u);
  EXPECT_EQ(http_.requests[0].url, kMeUrl);
  EXPECT_TRUE(IssueUrls().empty());
  EXPECT_TRUE(page_sizes_.empty());
}

TEST_F(YouTrackSourceTest, BannedUserFailsThePull) {
  http_.AddJson(
      200,
      R"({"guest":false,"banned":true,"login":"sample.user","fullName":"Sample User","id":"1-1","$type":"Me"})");
  auto pulled = PullAll(PullRequest{});
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kAuth);
  EXPECT_TRUE(pulled.error().message.starts_with("connection acme-yt: ")) << pulled.error().message;
  EXPECT_NE(pulled.error().message.find("banned"), std::string::npos) << pulled.error().message;
  EXPECT_EQ(http_.requests.size(), 1u);
}

TEST_F(YouTrackSourceTest, MeIsAskedOncePerSource) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, "[]");
  http_.AddJson(200, "[]");
  ASSERT_TRUE(PullAll(PullRequest{}).has_value());
  auto second = PullAll(PullRequest{});
  ASSERT_TRUE(second.has_value()) << second.error().message;
  ASSERT_EQ(http_.requests.size(), 3u);
  EXPECT_EQ(http_.requests[0].url, kMeUrl);
  EXPECT_EQ(IssueUrls().size(), 2u);
}

TEST_F(YouTrackSourceTest, AFailedTokenCheckIsAskedAgainNextPull) {
  http_.AddJson(503, R"({"error":"server_error","error_description":"maintenance"})");
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, "[]");
  auto first = PullAll(PullRequest{});
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  auto second = PullAll(PullRequest{});
  ASSERT_TRUE(second.has_value()) << second.error().message;
  ASSERT_EQ(http_.requests.size(), 3u);
  EXPECT_EQ(http_.requests[0].url, kMeUrl);
  EXPECT_EQ(http_.requests[1].url, kMeUrl);
}

TEST_F(YouTrackSourceTest, WhoAmIServesAsTheTokenCheck) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, "[]");
  http_.AddJson(200, "[]");
  ASSERT_TRUE(source_.WhoAmI().has_value());
  ASSERT_TRUE(PullAll(PullRequest{}).has_value());
  ASSERT_EQ(http_.requests.size(), 3u);
  EXPECT_EQ(http_.requests[0].url, kMeUrl);
  EXPECT_TRUE(http_.requests[2].url.starts_with("https://acme.youtrack.cloud/api/issues?"));
}

TEST_F(YouTrackSourceTest, WhoAmIRefreshesTheZoneLaterPullsUse) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, "[]");
  http_.AddJson(200, MePlus120());  // the user moved
  http_.AddJson(200, "[]");
  http_.AddJson(200, "[]");
  PullRequest request;
  request.updated_to_ms = kT0;
  ASSERT_TRUE(PullAll(request).has_value());
  ASSERT_TRUE(source_.WhoAmI().has_value());
  ASSERT_TRUE(PullAll(request).has_value());
  ASSERT_EQ(http_.requests.size(), 5u);
  // The end is an hour late in either zone (daylight saving).
  EXPECT_EQ(IssueQueries(),
            (std::vector<std::string>{"updated: * .. 2024-05-01T11:00:00 sort by: updated asc",
                                      "updated: * .. 2024-05-01T13:00:00 sort by: updated asc"}));
}

// --- the first request ------------------------------------------------------------

TEST_F(YouTrackSourceTest, FirstPageUrlIsExact) {
  http_.AddJson(200, MePlus120());
  http_.AddJson(200, Page(1, 1));
  PullRequest request;
  request.query = "project: RAP #Unresolved";
  request.fields = {"summary", "State"};
  request.page_size = 50;
  // In the user's zone (+02:00). The range starts more than 12 hours ago, so
  // it starts an hour earlier still, for a daylight saving change since; it
  // always ends an hour later. Issues in those margins are dropped.
  request.updated_from_ms = Ms("2024-05-01T10:00:00.250Z");
  request.updated_to_ms = Ms("2024-05-02T10:00:00.900Z");
  ASSERT_TRUE(PullAll(request).has_value());
  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(http_.requests[1].url,
            "https://acme.youtrack.cloud/api/issues"
            "?query=project%3A%20RAP%20%23Unresolved%20"
            "updated%3A%202024-05-01T11%3A00%3A00%20..%202024-05-02T13%3A00%3A00%20"
            "sort%20by%3A%20updated%20asc"
            "&fields=id%2CidReadable%2Ccreated%2Cupdated%2Cresolved%2Csummary%2CcustomFields%28%"
            "24type%2Cname%2Cvalue%28%24type%2Cname%2Clogin%2CfullName%2Cemail%2Cminutes%"
            "2Cpresentation%2Ctext%29%2CprojectCustomField%28field%28fieldType%28id%29%29%29%29"
            "&customFields=State&$top=50&$skip=0");
  for (const auto& sent : http_.requests) {
    EXPECT_EQ(sent.bearer, kToken);
    EXPECT_EQ(sent.headers, (HttpHeaders{{"Accept", "application/json"}}));
    EXPECT_EQ(sent.url.find("Xq7TestOnly"), std::string::npos);
  }
}

TEST_F(YouTrackSourceTest, NoBoundsNoRangeButStillSorted) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, "[]");
  ASSERT_TRUE(PullAll(PullRequest{}).has_value());
  EXPECT_TRUE(page_sizes_.empty());
  ASSERT_EQ(IssueUrls().size(), 1u);
  EXPECT_EQ(IssueQueries()[0], "sort by: updated asc");
  EXPECT_EQ(IssueTops(), (std::vector<std::string>{"100"}));  // the default page size
}

TEST_F(YouTrackSourceTest, RecentStartIsNotWidenedForDaylightSaving) {
  http_.AddJson(200, MePlus120());
  http_.AddJson(200, "[]");
  PullRequest request;
  request.updated_from_ms = NowMs() - 3'600'000;
  ASSERT_TRUE(PullAll(request).has_value());
  ASSERT_EQ(IssueUrls().size(), 1u);
  EXPECT_EQ(IssueQueries()[0], "updated: " + FormatQueryTime(*request.updated_from_ms, 120) +
                                   " .. * sort by: updated asc");
}

TEST_F(YouTrackSourceTest, StartMoreThanTwelveHoursAgoIsWidenedByAnHour) {
  http_.AddJson(200, MePlus120());
  http_.AddJson(200, "[]");
  PullRequest request;
  request.updated_from_ms = NowMs() - 13 * 3'600'000LL;
  request.updated_to_ms = NowMs();
  ASSERT_TRUE(PullAll(request).has_value());
  ASSERT_EQ(IssueUrls().size(), 1u);
  // The end is an hour later whenever it is set.
  EXPECT_EQ(IssueQueries()[0],
            "updated: " + FormatQueryTime(*request.updated_from_ms - 3'600'000, 120) + " .. " +
                FormatQueryTime(*request.updated_to_ms + 3'600'000, 120) + " sort by: updated asc");
}

TEST_F(YouTrackSourceTest, ASessionSkipsTheTokenCheckAndWidensTheStartForItsZone) {
  http_.AddJson(200, "[]");
  PullRequest request;
  request.updated_from_ms = NowMs() - 3'600'000;
  request.session = TrackerSession{"utc_offset_minutes=120"};
  ASSERT_TRUE(PullAll(request).has_value());
  ASSERT_EQ(http_.requests.size(), 1u);  // no /users/me
  // The saved zone may be an hour off since a change of season.
  EXPECT_EQ(IssueQueries()[0],
            "updated: " + FormatQueryTime(*request.updated_from_ms - 3'600'000, 120) +
                " .. * sort by: updated asc");
  EXPECT_EQ(source_.Session(), TrackerSession{"utc_offset_minutes=120"});
}

TEST_F(YouTrackSourceTest, ASessionItCannotReadIsIgnoredAndTheTokenCheckedAgain) {
  for (const char* data : {"", "{\"time_zone\":\"Europe/Berlin\"}", "utc_offset_minutes=",
                           "utc_offset_minutes=12x", "utc_offset_minutes=99999"}) {
    YouTrackSource source(
        YouTrackOptions{"acme-yt",
                        {"https://acme.youtrack.cloud", "https://acme.youtrack.cloud/api"},
                        Secret(kToken)},
        http_);
    http_.requests.clear();
    http_.AddJson(200, MePlus120());
    http_.AddJson(200, "[]");
    PullRequest request;
    request.session = TrackerSession{data};
    ASSERT_TRUE(source.Pull(request, [](std::vector<Issue>) -> Result<void> { return {}; }))
        << data;
    ASSERT_EQ(http_.requests.size(), 2u) << data;
    EXPECT_NE(http_.requests[0].url.find("/users/me"), std::string::npos) << data;
    EXPECT_EQ(source.Session(), TrackerSession{"utc_offset_minutes=120"}) << data;
  }
}

TEST_F(YouTrackSourceTest, TheSessionIsTheZoneOfTheProfile) {
  EXPECT_EQ(source_.Session(), std::nullopt);
  http_.AddJson(200, MePlus120());
  http_.AddJson(200, "[]");
  ASSERT_TRUE(PullAll(PullRequest{}).has_value());
  EXPECT_EQ(source_.Session(), TrackerSession{"utc_offset_minutes=120"});
}

// --- an emulated YouTrack, for the user's zone --------------------------------------

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;

constexpr char kIssuesUrl[] = "https://acme.youtrack.cloud/api/issues?";

// A /users/me answer whose profile zone is a fixed `minutes` east of UTC.
std::string MeAt(int minutes) {
  const char sign = minutes < 0 ? '-' : '+';
  const int abs = minutes < 0 ? -minutes : minutes;
  char hhmm[16];  // room for any int, as the compiler counts
  std::snprintf(hhmm, sizeof hhmm, "%02d:%02d", abs / 60, abs % 60);
  return MeInZone(std::string(R"({"id":"Test/Fixed","presentation":"(UTC)") + sign + hhmm +
                  R"() Test/Fixed","offset":)" + std::to_string(minutes * 60) +
                  R"(,"$type":"TimeZoneDescriptor"})");
}

// The /users/me answers that leave the zone unknown: no profile zone, and one
// the decoder cannot read.
std::vector<std::string> MesWithoutAZone() {
  return {kMe, MeInZone(R"({"id":"Europe/Berlin","presentation":"Berlin"})")};
}

// RAP-<n> of the emulated tracker, last updated at `updated_ms`.
struct StoredIssue {
  int n = 0;
  std::int64_t updated_ms = 0;
};

// A YouTrack that answers by content rather than by order: /users/me with
// `me`, and /issues with the stored issues the query selects when read as the
// server reads it in the token user's zone (tests/support/youtrack_query.h),
// sorted as the query says (stored order otherwise), then $skip and $top.
// Only the fields asked for come back: no `created` unless asked for.
// Thread-safe while it serves.
class EmulatedYouTrack {
 public:
  // Called under the emulator's lock before the n-th /issues request
  // (1-based) is answered, with the issues to change.
  using Hook = std::function<void(std::size_t n, std::vector<StoredIssue>& issues)>;

  EmulatedYouTrack(std::string me, int zone_minutes, std::vector<StoredIssue> issues)
      : me_(std::move(me)), zone_minutes_(zone_minutes), issues_(std::move(issues)) {}

  // Serves `http` from now on. REQUIRES: this outlives its use by `http`.
  void Serve(FakeHttpClient& http) {
    http.SetHandler([this](const HttpRequest& request) { return Answer(request); });
  }

  // REQUIRES: not serving.
  std::vector<StoredIssue>& issues() { return issues_; }
  // The hook must not call the emulator.
  void OnIssuesRequest(Hook hook) {
    std::lock_guard lock(mu_);
    hook_ = std::move(hook);
  }
  // Runs `change` on the issues, under the lock.
  void Edit(const std::function<void(std::vector<StoredIssue>&)>& change) {
    std::lock_guard lock(mu_);
    change(issues_);
  }
  // Runs `read` on the issues as they are now, under the lock.
  void Inspect(const std::function<void(const std::vector<StoredIssue>&)>& read) const {
    std::lock_guard lock(mu_);
    read(issues_);
  }

  Result<HttpResponse> Answer(const HttpRequest& request) {
    if (request.url == kMeUrl) {
      return FakeHttpClient::Json(200, me_);
    }
    std::lock_guard lock(mu_);
    if (request.url.starts_with(kIssuesUrl) && hook_) {
      hook_(++issue_requests_, issues_);
    }
    if (!request.url.starts_with(kIssuesUrl)) {
      ADD_FAILURE() << "unexpected request " << request.url;
      return FakeHttpClient::Json(404, R"({"error":"Not Found","error_description":""})");
    }
    const std::string text = QueryOf(request.url);
    auto query = ParseIssueQuery(text, zone_minutes_);
    if (!query) {
      ADD_FAILURE() << "the server cannot read \"" << text << "\": " << query.error().message;
      return FakeHttpClient::Json(
          400, R"({"error":"invalid_query","error_description":"cannot parse the query"})");
    }
    std::vector<StoredIssue> selected;
    for (const StoredIssue& issue : issues_) {
      if (Selects(*query, issue)) {
        selected.push_back(issue);
      }
    }
    if (query->sort_key == QuerySortKey::kUpdated) {
      const bool ascending = query->sort_ascending;
      std::stable_sort(selected.begin(), selected.end(),
                       [ascending](const StoredIssue& a, const StoredIssue& b) {
                         return ascending ? a.updated_ms < b.updated_ms
                                          : a.updated_ms > b.updated_ms;
                       });
    }
    const std::string skip_text = Param(request.url, "$skip");
    const std::string top_text = Param(request.url, "$top");
    const std::size_t skip = skip_text.empty() ? 0 : std::stoul(skip_text);
    const std::size_t top = top_text.empty() ? 42 : std::stoul(top_text);  // YouTrack's default
    const bool with_created =
        PercentDecode(Param(request.url, "fields")).find("created") != std::string::npos;
    std::string body = "[";
    for (std::size_t i = skip; i < selected.size() && i < skip + top; ++i) {
      if (body.size() > 1) {
        body += ",";
      }
      const std::string num = std::to_string(selected[i].n);
      body += with_created
                  ? IssueJson(selected[i].n, selected[i].updated_ms)
                  : R"({"id":"2-)" + num + R"(","idReadable":"RAP-)" + num + R"(","updated":)" +
                        std::to_string(selected[i].updated_ms) + R"(,"$type":"Issue"})";
    }
    return FakeHttpClient::Json(200, body + "]");
  }

  // Every issue is an unresolved RAP issue created at 1700000000000.
  static bool Selects(const IssueQuery& query, const StoredIssue& issue) {
    const std::string key = "RAP-" + std::to_string(issue.n);
    auto any_is = [](const std::vector<std::string>& names, std::string_view want) {
      return std::any_of(names.begin(), names.end(), [want](const std::string& name) {
        return name.size() == want.size() &&
               std::equal(name.begin(), name.end(), want.begin(), [](char a, char b) {
                 return std::tolower(static_cast<unsigned char>(a)) ==
                        std::tolower(static_cast<unsigned char>(b));
               });
      });
    };
    for (const auto& names : query.projects) {
      if (!any_is(names, "RAP")) {
        return false;
      }
    }
    for (const auto& ids : query.issue_ids) {
      if (!any_is(ids, key)) {
        return false;
      }
    }
    for (const QueryTimeRange& range : query.updated) {
      if (!range.Contains(issue.updated_ms)) {
        return false;
      }
    }
    for (const QueryTimeRange& range : query.created) {
      if (!range.Contains(1'700'000'000'000)) {
        return false;
      }
    }
    return !query.require_resolved;
  }

  std::string me_;
  int zone_minutes_;
  mutable std::mutex mu_;
  std::vector<StoredIssue> issues_;
  Hook hook_;
  std::size_t issue_requests_ = 0;
};

YouTrackOptions TestOptions() {
  return YouTrackOptions{"acme-yt",
                         {"https://acme.youtrack.cloud", "https://acme.youtrack.cloud/api"},
                         Secret(kToken),
                         std::chrono::milliseconds(1000)};
}

// What one pull on a fresh source handed on, and what it asked.
struct Pulled {
  Result<void> result;
  std::vector<std::string> keys;
  std::vector<FakeHttpClient::Recorded> requests;
};

// The /api/issues queries among `requests`, in order.
std::vector<std::string> QueriesOf(const std::vector<FakeHttpClient::Recorded>& requests) {
  std::vector<std::string> queries;
  for (const auto& request : requests) {
    if (request.url.starts_with(kIssuesUrl)) {
      queries.push_back(QueryOf(request.url));
    }
  }
  return queries;
}

// Whether `url` is one of the requests that measure the user's zone: the
// newest issue ("... sort by: updated desc"), then "issue id: K updated: W .. *".
bool IsZoneProbe(std::string_view url) {
  if (!url.starts_with(kIssuesUrl)) {
    return false;
  }
  const std::string query = QueryOf(url);
  return query.ends_with("sort by: updated desc") ||
         (query.starts_with("issue id: ") && query.find(" updated: ") != std::string::npos);
}

std::size_t ZoneProbes(const std::vector<FakeHttpClient::Recorded>& requests) {
  return static_cast<std::size_t>(
      std::count_if(requests.begin(), requests.end(),
                    [](const FakeHttpClient::Recorded& r) { return IsZoneProbe(r.url); }));
}

Pulled PullFrom(EmulatedYouTrack& server, const PullRequest& request) {
  FakeHttpClient http;
  server.Serve(http);
  YouTrackSource source(TestOptions(), http);
  Pulled pulled{{}, {}, {}};
  pulled.result = source.Pull(request, [&pulled](std::vector<Issue> page) -> Result<void> {
    for (const Issue& issue : page) {
      pulled.keys.push_back(issue.key);
    }
    return {};
  });
  pulled.requests = http.requests;
  return pulled;
}

std::vector<std::string> Keys(const std::vector<StoredIssue>& issues) {
  std::vector<std::string> keys;
  for (const StoredIssue& issue : issues) {
    keys.push_back("RAP-" + std::to_string(issue.n));
  }
  return keys;
}

// The test emulator itself: it reads dates in its zone, and gives only the
// fields asked for.
TEST(EmulatedYouTrackTest, ReadsDatesInItsZoneAndGivesTheFieldsAskedFor) {
  EmulatedYouTrack server(kMe, 120, {{1, kT0}, {2, kT0 + kHour}});
  FakeHttpClient http;
  server.Serve(http);
  HttpRequest request;
  request.url = std::string(kIssuesUrl) + "query=" +
                PercentEncode("updated: 2024-05-01T12:30:00 .. * sort by: updated desc") +
                "&fields=id%2CidReadable%2Cupdated&$top=5&$skip=0";
  auto answer = http.Send(request);
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(answer->body, R"([{"id":"2-2","idReadable":"RAP-2","updated":)" +
                              std::to_string(kT0 + kHour) + R"(,"$type":"Issue"}])");
}

// When the profile does not give the zone, the connector measures it: the
// newest issue of the query, then a binary search over quarter hours with
// "issue id: K updated: W .. *", which finds K exactly while W is no later
// than its update time read in the user's zone. Whatever the zone, the pull
// then hands on exactly the requested range.
TEST_F(YouTrackSourceTest, MeasuredZonePullsExactlyTheRequestedRange) {
  const std::int64_t from = kT0 + 250;            // 10:00:00.250Z
  const std::int64_t to = kT0 + 6 * kHour + 900;  // 16:00:00.900Z
  const std::vector<StoredIssue> issues = {
      {1, from - 90 * kMinute},  // before even the widened start
      {2, from - 30 * kMinute},  // in the start's hour of margin: asked for, dropped
      {3, kT0 + 100},            // before `from`, in its second: the range starts there
      {4, from},
      {5, kT0 + 1'000},
      {6, kT0 + 1'500},  // the same second as RAP-5
      {7, kT0 + 10 * kMinute},
      {8, kT0 + 2 * kHour},
      {9, to},
      {10, to + 999},  // the range ends 999 ms after `to`
      {11, to + 1'000},
      {12, to + 30 * kMinute},  // in the end's hour of margin: asked for, dropped
      {13, to + 3 * kHour},     // the newest: the zone is measured on it
  };
  const std::vector<std::string> expected = {"RAP-3", "RAP-4", "RAP-5", "RAP-6",
                                             "RAP-7", "RAP-8", "RAP-9", "RAP-10"};
  for (const std::string& me : MesWithoutAZone()) {
    for (int zone : {-720, -570, -300, 0, 330, 345, 840}) {
      SCOPED_TRACE("zone " + std::to_string(zone) + ", me " + me);
      EmulatedYouTrack server(me, zone, issues);
      PullRequest request;
      request.query = "project: RAP sort by: votes";
      request.page_size = 2;
      request.updated_from_ms = from;
      request.updated_to_ms = to;
      Pulled pulled = PullFrom(server, request);
      ASSERT_TRUE(pulled.result.has_value()) << pulled.result.error().message;
      EXPECT_EQ(pulled.keys, expected);

      // The measurement comes first, one issue at a time, ids only.
      const std::size_t probes = ZoneProbes(pulled.requests);
      EXPECT_GE(probes, 2u);
      EXPECT_LE(probes, 9u);
      ASSERT_GT(pulled.requests.size(), 1 + probes);
      EXPECT_EQ(pulled.requests[0].url, kMeUrl);
      EXPECT_EQ(QueryOf(pulled.requests[1].url), "project: RAP sort by: updated desc");
      for (std::size_t i = 1; i <= probes; ++i) {
        const std::string& url = pulled.requests[i].url;
        EXPECT_TRUE(IsZoneProbe(url)) << url;
        // The newest few (one of them may not decode), then one issue a probe.
        EXPECT_EQ(Param(url, "$top"), i == 1 ? "10" : "1") << url;
        EXPECT_EQ(Param(url, "fields"), "id%2CidReadable%2Cupdated") << url;
        if (i > 1) {
          EXPECT_TRUE(QueryOf(url).starts_with("issue id: RAP-13 updated: ")) << QueryOf(url);
          EXPECT_TRUE(QueryOf(url).ends_with(" .. *")) << QueryOf(url);
        }
      }
      // Then the range, in the measured zone: an hour early (historical) and
      // an hour late (daylight saving).
      EXPECT_EQ(QueryOf(pulled.requests[1 + probes].url),
                UpdatedRangeQuery("project: RAP", from - kHour, to + kHour, zone));
      for (std::size_t i = 1 + probes; i < pulled.requests.size(); ++i) {
        EXPECT_FALSE(IsZoneProbe(pulled.requests[i].url)) << pulled.requests[i].url;
      }
    }
  }
}

TEST_F(YouTrackSourceTest, MeasuringATrackerWithoutIssuesAsksOnceAndUsesUtc) {
  EmulatedYouTrack server(kMe, 330, {});
  server.Serve(http_);
  PullRequest request;
  request.query = "project: RAP";
  request.updated_from_ms = kT0;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_TRUE(keys_.empty());
  EXPECT_EQ(IssueQueries(),
            (std::vector<std::string>{
                "project: RAP sort by: updated desc",
                "project: RAP updated: 2024-05-01T09:00:00 .. * sort by: updated asc"}));
}

TEST_F(YouTrackSourceTest, ZoneMeasuredOnceIsReusedByTheNextPull) {
  std::vector<StoredIssue> issues;
  for (int n = 1; n <= 6; ++n) {
    issues.push_back({n, kT0 + n * kHour});
  }
  EmulatedYouTrack server(kMe, 330, issues);
  server.Serve(http_);
  PullRequest request;
  request.updated_from_ms = kT0 + 2 * kHour;
  request.updated_to_ms = kT0 + 4 * kHour;
  ASSERT_TRUE(PullAll(request).has_value());
  const std::size_t probes = ZoneProbes(http_.requests);
  EXPECT_GE(probes, 2u);
  EXPECT_LE(probes, 9u);
  const std::size_t asked = http_.requests.size();

  request.updated_from_ms = kT0 + 5 * kHour;
  request.updated_to_ms = std::nullopt;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-2", "RAP-3", "RAP-4", "RAP-5", "RAP-6"}));
  // No second /users/me, no second measurement: just the range, in +05:30.
  ASSERT_EQ(http_.requests.size(), asked + 1);
  EXPECT_EQ(ZoneProbes(http_.requests), probes);
  EXPECT_EQ(QueryOf(http_.requests.back().url),
            UpdatedRangeQuery("", kT0 + 4 * kHour, std::nullopt, 330));
}

// No issue to measure on says nothing about the zone. Disabled:
// youtrack_source.cc caches the 0 it falls back to, so once issues appear the
// same source keeps reading recent starts at UTC; west of UTC the server
// reads them hours late and skips issues (see report).
TEST_F(YouTrackSourceTest, AnEmptyMeasurementIsNotKept) {
  EmulatedYouTrack server(kMe, -300, {});
  server.Serve(http_);
  PullRequest request;
  request.updated_from_ms = NowMs() - kHour;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_TRUE(keys_.empty());
  server.issues().push_back({1, NowMs() - 30 * kMinute});
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1"}));
}

TEST_F(YouTrackSourceTest, ZoneFromTheProfileIsNotMeasured) {
  EmulatedYouTrack server(MeAt(-300), -300, {{1, kT0}, {2, kT0 + kHour}});
  server.Serve(http_);
  PullRequest request;
  request.updated_from_ms = kT0 + kHour;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-2"}));
  EXPECT_EQ(ZoneProbes(http_.requests), 0u);
  EXPECT_EQ(IssueQueries(),
            (std::vector<std::string>{"updated: 2024-05-01T05:00:00 .. * sort by: updated asc"}));
}

TEST_F(YouTrackSourceTest, PullWithoutBoundsStillLearnsTheZoneForItsLaterPages) {
  http_.AddJson(200, kMe);  // the profile does not say
  http_.AddJson(200, "[]");  // the newest issue, to measure by: none yet
  http_.AddJson(200, Page(1, 1));
  ASSERT_TRUE(PullAll(PullRequest{}).has_value());
  EXPECT_EQ(IssueQueries(),
            (std::vector<std::string>{"sort by: updated desc", "sort by: updated asc"}));
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1"}));
}

TEST_F(YouTrackSourceTest, AFailedMeasurementFailsThePull) {
  http_.AddJson(200, kMe);
  http_.AddJson(200, Issues({{7, UpdatedAt(7)}}));  // the newest issue
  http_.AddJson(503, R"({"error":"server_error","error_description":"maintenance"})");
  PullRequest request;
  request.updated_from_ms = kT0;
  auto pulled = PullAll(request);
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(pulled.error().message.starts_with("connection acme-yt: ")) << pulled.error().message;
  EXPECT_TRUE(page_sizes_.empty());
  EXPECT_EQ(IssueUrls().size(), 2u);  // nothing after the failed probe
}

// --- the exact range ----------------------------------------------------------------

TEST_F(YouTrackSourceTest, IssuesBeforeTheExactStartAreNotHandedOn) {
  http_.AddJson(200, MeUtc());
  // What the widened query (an hour early) finds: two issues before the start.
  http_.AddJson(200,
                Issues({{1, kT0 - 30 * kMinute}, {2, kT0 - 1}, {3, kT0 + 100}, {4, kT0 + 5'000}}));
  PullRequest request;
  request.updated_from_ms = kT0 + 250;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(IssueQueries(),
            (std::vector<std::string>{"updated: 2024-05-01T09:00:00 .. * sort by: updated asc"}));
  // RAP-3 is before the start but in its second, which the range covers.
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-3", "RAP-4"}));
}

TEST_F(YouTrackSourceTest, MarginIssuesOfALaterPageAreNotHandedOnAgain) {
  // Every start is asked for an hour early: the server gives RAP-0, which is
  // before the requested start, on every page, and the issues before each
  // later start again. None of them is handed on (again).
  EmulatedYouTrack server(
      MeUtc(), 0, {{0, kT0 - kMinute}, {1, kT0 + 1'000}, {2, kT0 + 2'000}, {3, kT0 + 3'000}});
  server.Serve(http_);
  PullRequest request;
  request.page_size = 2;
  request.updated_from_ms = kT0;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3"}));
  const std::vector<std::string> queries = IssueQueries();
  ASSERT_GE(queries.size(), 2u);
  EXPECT_EQ(queries[0], "updated: 2024-05-01T09:00:00 .. * sort by: updated asc");
  EXPECT_EQ(queries[1], "updated: 2024-05-01T09:00:01 .. * sort by: updated asc");
}

TEST_F(YouTrackSourceTest, IssuesAfterTheExactEndAreNotHandedOn) {
  http_.AddJson(200, MeUtc());
  const std::int64_t to = kT0 + 10'000;
  http_.AddJson(200, Issues({{1, to}, {2, to + 999}, {3, to + 1'000}, {4, to + 30 * kMinute}}));
  PullRequest request;
  request.updated_from_ms = kT0;
  request.updated_to_ms = to;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(IssueQueries(), (std::vector<std::string>{
                                "updated: 2024-05-01T09:00:00 .. 2024-05-01T11:00:10 "
                                "sort by: updated asc",
                            }));
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2"}));
}

TEST_F(YouTrackSourceTest, EmptyFirstPageWithoutBoundsEndsThePull) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, "[]");
  PullRequest request;
  request.page_size = 1;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_TRUE(page_sizes_.empty());
  EXPECT_EQ(IssueTops(), (std::vector<std::string>{"1"}));
}

TEST_F(YouTrackSourceTest, OnlyMarginIssuesEndThePullWithNothingHandedOn) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Issues({{1, kT0 - 10 * kMinute}}));
  PullRequest request;
  request.updated_from_ms = kT0;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_TRUE(page_sizes_.empty());  // no empty page handed on
  EXPECT_EQ(IssueUrls().size(), 1u);
}

// --- keyset paging ----------------------------------------------------------------

TEST_F(YouTrackSourceTest, PagesUntilAShortPage) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(2, 2));  // each page repeats the boundary second's issue
  http_.AddJson(200, Page(3, 2));
  http_.AddJson(200, Page(4, 1));
  PullRequest request;
  request.page_size = 2;
  auto pulled = PullAll(request);
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  EXPECT_EQ(page_sizes_, (std::vector<std::size_t>{2, 1, 1}));
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3", "RAP-4"}));
  EXPECT_EQ(IssueTops(), (std::vector<std::string>{"2", "2", "2", "2"}));
  EXPECT_EQ(http_.Remaining(), 0u);
}

TEST_F(YouTrackSourceTest, NextPageStartsAtTheNewestSecondOfTheLast) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Page(1, 2));  // RAP-2 at 10:00:02.250
  http_.AddJson(200, Page(2, 2));  // RAP-3 at 10:00:03.250
  http_.AddJson(200, Page(3, 1));
  PullRequest request;
  request.query = "project: RAP";
  request.page_size = 2;
  request.updated_from_ms = kT0;
  request.updated_to_ms = kT0 + 3'600'000;
  ASSERT_TRUE(PullAll(request).has_value());
  // Every start is an hour early (historical, daylight saving) and the end an
  // hour late; the exact boundaries are 10:00:00, 10:00:02 and 10:00:03.
  EXPECT_EQ(IssueQueries(), (std::vector<std::string>{
                                "project: RAP updated: 2024-05-01T09:00:00 .. 2024-05-01T12:00:00 "
                                "sort by: updated asc",
                                "project: RAP updated: 2024-05-01T09:00:02 .. 2024-05-01T12:00:00 "
                                "sort by: updated asc",
                                "project: RAP updated: 2024-05-01T09:00:03 .. 2024-05-01T12:00:00 "
                                "sort by: updated asc",
                            }));
  EXPECT_EQ(IssueTops(), (std::vector<std::string>{"2", "2", "2"}));
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3"}));
}

TEST_F(YouTrackSourceTest, FullLastPageNeedsOneMoreRequest) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(2, 1));  // only the boundary issue again
  PullRequest request;
  request.page_size = 2;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(page_sizes_, (std::vector<std::size_t>{2}));  // no empty page handed on
  EXPECT_EQ(IssueUrls().size(), 2u);
}

TEST_F(YouTrackSourceTest, IssueChangedWhilePagingIsHandedOnAgain) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Issues({{1, UpdatedAt(1)}, {2, UpdatedAt(2)}}));
  http_.AddJson(200, Issues({{2, UpdatedAt(2)}, {3, UpdatedAt(3)}}));
  // RAP-2 changed meanwhile and moved to the end of the order.
  http_.AddJson(200, Issues({{3, UpdatedAt(3)}, {2, UpdatedAt(9)}}));
  http_.AddJson(200, Issues({{2, UpdatedAt(9)}}));
  PullRequest request;
  request.page_size = 2;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3", "RAP-2"}));
  EXPECT_EQ(updated_,
            (std::vector<std::int64_t>{UpdatedAt(1), UpdatedAt(2), UpdatedAt(3), UpdatedAt(9)}));
  EXPECT_EQ(page_sizes_, (std::vector<std::size_t>{2, 1, 1}));
  // The exact boundary is RAP-2's new second, 10:00:09; asked for an hour early.
  EXPECT_EQ(QueryOf(IssueUrls().back()), "updated: 2024-05-01T09:00:09 .. * sort by: updated asc");
}

TEST_F(YouTrackSourceTest, ChangeWithinTheBoundarySecondIsHandedOnAgain) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Issues({{1, kT0 + 1'100}, {2, kT0 + 2'100}}));
  // Same id, same second, later millisecond: a change, not a repeat.
  http_.AddJson(200, Issues({{2, kT0 + 2'600}, {3, kT0 + 3'100}}));
  http_.AddJson(200, Issues({{3, kT0 + 3'100}}));
  PullRequest request;
  request.page_size = 2;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-2", "RAP-3"}));
  EXPECT_EQ(updated_,
            (std::vector<std::int64_t>{kT0 + 1'100, kT0 + 2'100, kT0 + 2'600, kT0 + 3'100}));
}

TEST_F(YouTrackSourceTest, APageThatDoesNotGetPastItsSecondContinuesWithSkip) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Issues({{1, kT0 + 1'000}, {2, kT0 + 2'100}}));
  // Everything from 10:00:02 on fills the page: continue within the query.
  http_.AddJson(200, Issues({{2, kT0 + 2'100}, {3, kT0 + 2'500}}));
  http_.AddJson(200, Issues({{3, kT0 + 2'500}, {4, kT0 + 2'900}}));  // starts at the anchor
  http_.AddJson(200, Issues({{4, kT0 + 2'900}, {5, kT0 + 3'000}}));  // past the second
  http_.AddJson(200, Issues({{5, kT0 + 3'000}}));
  PullRequest request;
  request.page_size = 2;
  auto pulled = PullAll(request);
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  EXPECT_EQ(IssueTops(), (std::vector<std::string>{"2", "2", "2", "2", "2"}));
  // Each query skips what it returns again, RAP-2 (the anchor) aside; then
  // the same query goes on with $skip; past the second, the next query skips
  // the hour of its DST margin, RAP-1 .. RAP-4.
  EXPECT_EQ(IssueSkips(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  // The exact boundary (10:00:02, then 10:00:03) decides; only the query
  // starts an hour early.
  EXPECT_EQ(IssueQueries(), (std::vector<std::string>{
                                "sort by: updated asc",
                                "updated: 2024-05-01T09:00:02 .. * sort by: updated asc",
                                "updated: 2024-05-01T09:00:02 .. * sort by: updated asc",
                                "updated: 2024-05-01T09:00:02 .. * sort by: updated asc",
                                "updated: 2024-05-01T09:00:03 .. * sort by: updated asc",
                            }));
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3", "RAP-4", "RAP-5"}));
}

TEST_F(YouTrackSourceTest, WhenTheOffsetsMoveTheStretchIsReadAgain) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Issues({{1, kT0 + 1'000}, {2, kT0 + 2'100}}));
  http_.AddJson(200, Issues({{2, kT0 + 2'100}, {3, kT0 + 2'500}}));
  // RAP-2 changed meanwhile and left the stretch: the page no longer starts
  // at the anchor RAP-3, so the stretch is read from its start.
  http_.AddJson(200, Issues({{4, kT0 + 2'900}, {5, kT0 + 3'000}}));
  http_.AddJson(200, Issues({{3, kT0 + 2'500}, {4, kT0 + 2'900}}));
  http_.AddJson(200, Issues({{4, kT0 + 2'900}, {5, kT0 + 3'000}}));
  http_.AddJson(200, Issues({{5, kT0 + 3'000}, {2, kT0 + 9'000}}));
  http_.AddJson(200, Issues({{2, kT0 + 9'000}}));
  PullRequest request;
  request.page_size = 2;
  auto pulled = PullAll(request);
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  // The anchored skips, then the third page (no anchor) starts the stretch
  // again at 0.
  EXPECT_EQ(IssueSkips(), (std::vector<std::string>{"0", "1", "2", "0", "1", "4", "5"}));
  EXPECT_EQ(keys_,
            (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3", "RAP-4", "RAP-5", "RAP-2"}));
}

TEST_F(YouTrackSourceTest, TenThousandIssuesInOneSecondArePagedWithSkip) {
  std::vector<std::pair<int, std::int64_t>> same_second;
  for (int n = 1; n <= 10'000; ++n) {
    same_second.emplace_back(n, kT0 + 500);
  }
  auto slice = [&](std::size_t from, std::size_t to) {
    return Issues(std::vector<std::pair<int, std::int64_t>>(
        same_second.begin() + static_cast<std::ptrdiff_t>(from),
        same_second.begin() + static_cast<std::ptrdiff_t>(to)));
  };
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, slice(0, 5'000));
  http_.AddJson(200, slice(4'999, 9'999));   // the same second, from the anchor RAP-5000
  http_.AddJson(200, slice(9'998, 10'000));  // from the anchor RAP-9999: a short page, the end
  PullRequest request;
  request.page_size = 5'000;
  auto pulled = PullAll(request);
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  EXPECT_EQ(IssueSkips(), (std::vector<std::string>{"0", "4999", "9998"}));
  EXPECT_EQ(keys_.size(), 10'000u);
  EXPECT_EQ(std::set<std::string>(keys_.begin(), keys_.end()).size(), 10'000u);
}

TEST_F(YouTrackSourceTest, ADenseHistoryIsReadOncePerPageDespiteTheHourOfMargin) {
  // 600 changes within one hour, long ago: every query starts an hour
  // early, and skips what it would hand on again instead of reading it.
  std::vector<StoredIssue> issues;
  for (int n = 1; n <= 600; ++n) {
    issues.push_back({n, kT0 + n * 5'000 + (n % 7) * 100});
  }
  // The profile's zone, and the one the server reads dates in: they differ
  // by the hour of daylight saving when the margin is needed. The counts
  // then do not match, and queries are read from their start: slower, but
  // nothing is missed.
  for (auto [profile, server_zone] : {std::pair{0, 0}, {120, 120}, {0, 60}, {60, 0}}) {
    SCOPED_TRACE("zone " + std::to_string(profile) + ", read in " + std::to_string(server_zone));
    EmulatedYouTrack server(MeAt(profile), server_zone, issues);
    PullRequest request;
    request.page_size = 50;
    Pulled pulled = PullFrom(server, request);
    ASSERT_TRUE(pulled.result.has_value()) << pulled.result.error().message;
    ASSERT_EQ(pulled.keys.size(), 600u);
    EXPECT_EQ(std::set<std::string>(pulled.keys.begin(), pulled.keys.end()).size(), 600u);
    EXPECT_EQ(pulled.keys.front(), "RAP-1");
    EXPECT_EQ(pulled.keys.back(), "RAP-600");
    if (profile == server_zone) {
      // 600 / 49 new issues a page, plus /users/me; re-reading the hour
      // every page would take hundreds.
      EXPECT_LE(pulled.requests.size(), 1u + 600 / 49 + 2);
    }
  }
}

// --- limit ------------------------------------------------------------------------

TEST_F(YouTrackSourceTest, LimitCapsWhatIsHandedOnNotWhatIsAskedFor) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Page(1, 3));
  http_.AddJson(200, Page(3, 3));
  PullRequest request;
  request.page_size = 3;
  request.limit = 4;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2", "RAP-3", "RAP-4"}));
  EXPECT_EQ(page_sizes_, (std::vector<std::size_t>{3, 1}));
  EXPECT_EQ(IssueTops(), (std::vector<std::string>{"3", "3"}));
}

TEST_F(YouTrackSourceTest, LimitReachedAtAPageEndAsksNoMore) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(2, 2));
  PullRequest request;
  request.page_size = 2;
  request.limit = 2;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2"}));
  EXPECT_EQ(IssueUrls().size(), 1u);
}

TEST_F(YouTrackSourceTest, LimitSmallerThanAPage) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Page(1, 5));
  PullRequest request;
  request.limit = 2;
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1", "RAP-2"}));
  EXPECT_EQ(IssueTops(), (std::vector<std::string>{"100"}));
}

// --- ids only and keys ------------------------------------------------------------

TEST_F(YouTrackSourceTest, IdsOnlyAsksForTheIdentityAlone) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, "[]");
  PullRequest request;
  request.fields = {"summary", "State", "Assignee"};  // not asked for
  request.ids_only = true;
  ASSERT_TRUE(PullAll(request).has_value());
  ASSERT_EQ(IssueUrls().size(), 1u);
  EXPECT_EQ(IssueUrls()[0],
            "https://acme.youtrack.cloud/api/issues?query=sort%20by%3A%20updated%20asc"
            "&fields=id%2CidReadable%2Cupdated&$top=100&$skip=0");
}

// YouTrack answers exactly the fields asked for: no `created`.
TEST_F(YouTrackSourceTest, IdsOnlyPageAsYouTrackAnswersIt) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, R"([{"id":"2-1","idReadable":"RAP-1","updated":)" +
                         std::to_string(UpdatedAt(1)) + R"(,"$type":"Issue"}])");
  PullRequest request;
  request.ids_only = true;
  auto pulled = PullAll(request);
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-1"}));
  EXPECT_EQ(updated_, (std::vector<std::int64_t>{UpdatedAt(1)}));
}

TEST_F(YouTrackSourceTest, KeysAreAskedForInBatchesOfFifty) {
  std::vector<std::string> keys;
  for (int n = 1; n <= 120; ++n) {
    keys.push_back("RAP-" + std::to_string(n));
  }
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Page(1, 50));
  http_.AddJson(200, Page(51, 50));
  http_.AddJson(200, Page(101, 20));
  PullRequest request;
  request.query = "project: RAP";  // not used with keys
  request.updated_from_ms = kT0;   // nor the range
  request.fields = {"summary"};
  request.page_size = 10;
  request.keys = keys;
  auto pulled = PullAll(request);
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  EXPECT_EQ(page_sizes_, (std::vector<std::size_t>{50, 50, 20}));
  EXPECT_EQ(keys_, keys);
  // Each batch fits in one page whatever the page size.
  EXPECT_EQ(IssueTops(), (std::vector<std::string>{"50", "50", "20"}));
  const std::vector<std::string> queries = IssueQueries();
  ASSERT_EQ(queries.size(), 3u);
  using Keys = std::vector<std::string>;
  EXPECT_EQ(queries[0], IssueKeysQuery(Keys(keys.begin(), keys.begin() + 50)));
  EXPECT_EQ(queries[1], IssueKeysQuery(Keys(keys.begin() + 50, keys.begin() + 100)));
  EXPECT_EQ(queries[2], IssueKeysQuery(Keys(keys.begin() + 100, keys.end())));
  EXPECT_TRUE(queries[2].starts_with("issue id: RAP-101, RAP-102, ")) << queries[2];
  EXPECT_TRUE(queries[2].ends_with(", RAP-120")) << queries[2];
  EXPECT_EQ(Param(IssueUrls()[0], "fields"),
            "id%2CidReadable%2Ccreated%2Cupdated%2Cresolved%2Csummary");
}

TEST_F(YouTrackSourceTest, KeysUseThePageSizeWhenBigger) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Issues({{7, UpdatedAt(7)}}));  // OPS-2 is gone
  PullRequest request;
  request.keys = {"RAP-7", "OPS-2"};
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-7"}));
  ASSERT_EQ(IssueUrls().size(), 1u);
  EXPECT_EQ(IssueUrls()[0],
            "https://acme.youtrack.cloud/api/issues?query=issue%20id%3A%20RAP-7%2C%20OPS-2"
            "&fields=id%2CidReadable%2Ccreated%2Cupdated%2Cresolved&$top=100&$skip=0");
}

TEST_F(YouTrackSourceTest, KeysARefusedQueryIsReadKeyByKeyAndARefusedKeyIsNotFound) {
  http_.AddJson(200, MeUtc());
  const std::string refused =
      R"({"error":"invalid_query","error_description":"Cannot find issue OPS-2"})";
  http_.AddJson(400, refused);                       // RAP-7, OPS-2, RAP-8
  http_.AddJson(200, Issues({{7, UpdatedAt(7)}}));   // RAP-7
  http_.AddJson(400, refused);                       // OPS-2
  http_.AddJson(200, Issues({{8, UpdatedAt(8)}}));   // RAP-8
  PullRequest request;
  request.keys = {"RAP-7", "OPS-2", "RAP-8"};
  auto pulled = PullAll(request);
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  EXPECT_EQ(keys_, (std::vector<std::string>{"RAP-7", "RAP-8"}));
  const std::vector<std::string> queries = IssueQueries();
  EXPECT_EQ(queries, (std::vector<std::string>{"issue id: RAP-7, OPS-2, RAP-8", "issue id: RAP-7",
                                               "issue id: OPS-2", "issue id: RAP-8"}));
}

TEST_F(YouTrackSourceTest, KeysOtherFailuresStillFailThePull) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(404, R"({"error":"Not Found"})");
  PullRequest request;
  request.keys = {"RAP-7", "OPS-2"};
  auto pulled = PullAll(request);
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kBadResponse);
}

TEST_F(YouTrackSourceTest, KeysWithIdsOnly) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, "[]");
  PullRequest request;
  request.keys = {"RAP-7"};
  request.ids_only = true;
  request.fields = {"State"};
  ASSERT_TRUE(PullAll(request).has_value());
  EXPECT_TRUE(page_sizes_.empty());  // nothing found, nothing handed on
  ASSERT_EQ(IssueUrls().size(), 1u);
  EXPECT_EQ(Param(IssueUrls()[0], "fields"), "id%2CidReadable%2Cupdated");
  EXPECT_EQ(Param(IssueUrls()[0], "customFields"), "");
}

// --- failures while pulling -------------------------------------------------------

TEST_F(YouTrackSourceTest, SinkErrorStopsThePull) {
  http_.AddJson(200, MeUtc());
  for (int first = 1; first <= 6; ++first) {
    http_.AddJson(200, Page(first, 2));  // six full pages, each from the anchor on
  }
  PullRequest request;
  request.page_size = 2;
  auto pulled = source_.Pull(request, [](std::vector<Issue>) -> Result<void> {
    return Fail(ErrorCode::kStorage, "disk full");
  });
  ASSERT_FALSE(pulled.has_value());
  EXPECT_EQ(pulled.error().code, ErrorCode::kStorage);
  EXPECT_EQ(pulled.error().message, "disk full");
  // Pages are read ahead while the first is stored: two queued and one in
  // flight at most, then nothing more.
  EXPECT_LE(IssueUrls().size(), 4u);
}

TEST_F(YouTrackSourceTest, NextPageIsRequestedWhileThisOneIsStored) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(2, 2));  // from the anchor RAP-2
  http_.AddJson(200, Page(3, 1));  // from the anchor RAP-3: the end
  PullRequest request;
  request.page_size = 2;
  std::vector<std::size_t> requests_seen_by_sink;  // /users/me and pages
  auto pulled = source_.Pull(request, [&](std::vector<Issue>) -> Result<void> {
    // Give the prefetch time to be sent: the sink of page 1 sees it.
    for (int i = 0; i < 400 && http_.Sent() < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    requests_seen_by_sink.push_back(http_.Sent());
    return {};
  });
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  ASSERT_EQ(requests_seen_by_sink.size(), 2u);
  EXPECT_GE(requests_seen_by_sink[0], 3u);  // page 2 was asked for meanwhile
  EXPECT_EQ(http_.Sent(), 4u);
}

TEST_F(YouTrackSourceTest, ErrorOnALaterPageStopsWithIt) {
  http_.AddJson(200, MeUtc());
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
  // Failing at the token check, and failing at the first page.
  for (bool me_fails : {true, false}) {
    for (int status : {401, 403, 429, 500, 404}) {
      FakeHttpClient http;
      YouTrackSource source(
          YouTrackOptions{"acme-yt",
                          {"https://acme.youtrack.cloud", "https://acme.youtrack.cloud/api"},
                          Secret(kToken),
                          std::chrono::milliseconds(1000)},
          http);
      if (!me_fails) {
        http.AddJson(200, MeUtc());
      }
      http.AddJson(status,
                   std::string(R"({"error":"x","error_description":"y )") + kToken + R"("})");
      auto pulled =
          source.Pull(PullRequest{}, [](std::vector<Issue>) -> Result<void> { return {}; });
      ASSERT_FALSE(pulled.has_value()) << status;
      EXPECT_TRUE(pulled.error().message.starts_with("connection acme-yt: "))
          << pulled.error().message;
      ExpectNoToken(pulled.error());
      EXPECT_EQ(http.requests.size(), me_fails ? 1u : 2u) << status;
    }
  }
}

TEST_F(YouTrackSourceTest, HtmlLoginPageInsteadOfIssues) {
  http_.AddJson(200, MeUtc());
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

TEST_F(YouTrackSourceTest, AnUndecodableIssueIsHandedOnMarkedAndThePullGoesOn) {
  http_.AddJson(200, MeUtc());
  http_.AddJson(
      200,
      R"([{"id":"2-9","idReadable":"RAP-9","created":1,"updated":2,"customFields":[{"value":{"minutes":"x","$type":"PeriodValue"},"name":"Spent time","$type":"PeriodIssueCustomField"}],"$type":"Issue"},
          {"id":"2-10","idReadable":"RAP-10","created":1,"updated":3,"$type":"Issue"}])");
  std::vector<Issue> issues;
  auto pulled = source_.Pull(PullRequest{}, [&](std::vector<Issue> page) -> Result<void> {
    std::move(page.begin(), page.end(), std::back_inserter(issues));
    return {};
  });
  ASSERT_TRUE(pulled.has_value()) << pulled.error().message;
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].key, "RAP-9");
  EXPECT_EQ(issues[0].decode_error,
            "issue RAP-9: custom field \"Spent time\" (PeriodIssueCustomField): minutes is not a "
            "number");
  EXPECT_TRUE(issues[1].decode_error.empty());
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

// --- keyset bounds and the user's zone ------------------------------------------------

// A keyset start is a UTC instant, but the server reads it in the user's
// zone. When the profile does not give that zone, the connector measures it;
// every start of the pull is then read where it was meant, and (with the
// hour's margin) even a zone an hour off on that date still covers it.
TEST_F(YouTrackSourceTest, KeysetStartCoversTheBoundaryWhenTheZoneIsMeasured) {
  std::vector<StoredIssue> issues;
  for (int n = 1; n <= 5; ++n) {
    issues.push_back({n, UpdatedAt(n)});
  }
  for (int zone : {-720, -300, 0, 330, 840}) {
    SCOPED_TRACE("zone " + std::to_string(zone));
    EmulatedYouTrack server(kMe, zone, issues);
    PullRequest request;
    request.page_size = 2;
    request.updated_from_ms = kT0;
    Pulled pulled = PullFrom(server, request);
    ASSERT_TRUE(pulled.result.has_value()) << pulled.result.error().message;
    EXPECT_EQ(pulled.keys, Keys(issues));
    std::vector<std::string> queries;
    for (const std::string& query : QueriesOf(pulled.requests)) {
      if (query.ends_with("sort by: updated asc")) {
        queries.push_back(query);
      }
    }
    ASSERT_GE(queries.size(), 2u);
    // The second page starts at RAP-2's second; anything after it is unread.
    for (int read_in : {zone - 60, zone, zone + 60}) {
      auto parsed = ParseIssueQuery(queries[1], read_in);
      ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
      ASSERT_EQ(parsed->updated.size(), 1u);
      EXPECT_TRUE(parsed->updated[0].Contains(UpdatedAt(2))) << read_in << ": " << queries[1];
      EXPECT_TRUE(parsed->updated[0].Contains(UpdatedAt(2) + 1)) << read_in << ": " << queries[1];
    }
  }
}

TEST_F(YouTrackSourceTest, KeysetStartCoversTheBoundaryAcrossDaylightSaving) {
  http_.AddJson(200, MePlus120());
  http_.AddJson(200, Page(1, 2));
  http_.AddJson(200, Page(2, 2));
  http_.AddJson(200, Page(3, 1));
  PullRequest request;
  request.page_size = 2;
  request.updated_from_ms = kT0;  // historical: every start is widened by an hour
  ASSERT_TRUE(PullAll(request).has_value());
  const std::vector<std::string> queries = IssueQueries();
  ASSERT_EQ(queries.size(), 3u);
  // The profile says +02:00 today; on the boundary's date the zone was at
  // +01:00 (or, the other way round, at +03:00).
  const std::vector<std::int64_t> boundaries = {kT0, UpdatedAt(2), UpdatedAt(3)};
  for (std::size_t i = 0; i < queries.size(); ++i) {
    for (int then : {60, 120, 180}) {
      auto parsed = ParseIssueQuery(queries[i], then);
      ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
      ASSERT_EQ(parsed->updated.size(), 1u);
      EXPECT_TRUE(parsed->updated[0].Contains(boundaries[i])) << then << ": " << queries[i];
    }
  }
}

// A full pull (no bounds) still pages by keyset, so its later pages carry a
// start the server reads in the user's zone. Disabled: youtrack_source.cc
// resolves the zone only when the request has bounds, and formats the later
// starts of an unbounded pull at UTC whatever the profile says; west of UTC
// the server reads them hours late and skips issues (see report).
TEST_F(YouTrackSourceTest, FullPullPagesInTheUsersZone) {
  std::vector<StoredIssue> issues;
  for (int n = 1; n <= 5; ++n) {
    issues.push_back({n, kT0 + n * 2 * kHour});
  }
  for (const std::string& me : {MeAt(-300), std::string(kMe)}) {
    SCOPED_TRACE(me);
    EmulatedYouTrack server(me, -300, issues);
    PullRequest request;
    request.page_size = 2;
    Pulled pulled = PullFrom(server, request);
    ASSERT_TRUE(pulled.result.has_value()) << pulled.result.error().message;
    EXPECT_EQ(pulled.keys, Keys(issues));
  }
}

// Many issues changed within an hour (a bulk command, an import) are common.
// Disabled: every later page of a historical pull asks for an hour before
// its start again, so each page re-reads that hour's issues and doubles $top
// until it gets past them; with 10000 of them in the hour, the pull fails as
// if they shared one second (see report).
TEST_F(YouTrackSourceTest, ManyIssuesWithinAnHourDoNotStopThePull) {
  std::vector<StoredIssue> issues;
  for (int n = 1; n <= 10'001; ++n) {
    issues.push_back({n, kT0 + n * 100LL});  // ten a second, over 17 minutes
  }
  EmulatedYouTrack server(MeUtc(), 0, issues);
  PullRequest request;
  request.page_size = 5'000;
  request.ids_only = true;
  Pulled pulled = PullFrom(server, request);
  ASSERT_TRUE(pulled.result.has_value()) << pulled.result.error().message;
  EXPECT_EQ(pulled.keys.size(), issues.size());
}

// --- slices of the range ------------------------------------------------------------

// 3000 issues over about 34 hours: one a minute, then a crowd of 1000 two
// a second (so many in one slice), then one a minute again; and 30 sharing
// one instant among the first.
std::vector<StoredIssue> SliceableIssues() {
  std::vector<StoredIssue> issues;
  std::int64_t at = kT0;
  for (int n = 1; n <= 3000; ++n) {
    at += n > 1000 && n <= 2000 ? 500 : (n > 300 && n < 330 ? 0 : kMinute);
    issues.push_back({n, at});
  }
  return issues;
}

// The /api/issues queries of a pull, as sent.
std::vector<std::string> IssueQueriesOf(const std::vector<FakeHttpClient::Recorded>& requests) {
  std::vector<std::string> queries;
  for (const auto& r : requests) {
    if (r.url.starts_with(kIssuesUrl)) {
      queries.push_back(QueryOf(r.url));
    }
  }
  return queries;
}

// How many issues an /issues answer holds.
std::size_t IssuesIn(const HttpResponse& answer) {
  std::size_t count = 0;
  for (std::size_t at = answer.body.find("\"$type\":\"Issue\""); at != std::string::npos;
       at = answer.body.find("\"$type\":\"Issue\"", at + 1)) {
    ++count;
  }
  return count;
}

// A sliced pull of `server`, checking on every page that the watermark
// passes no issue the server holds at that moment and that was not handed
// on (in that version).
struct SlicedPull {
  explicit SlicedPull(EmulatedYouTrack& server) : server_(server) {}

  Result<void> Run(FakeHttpClient& http, const PullRequest& request) {
    YouTrackSource source(TestOptions(), http);
    return source.Pull(
        request, PageSink([&](IssuePage page) -> Result<void> {
          for (const Issue& issue : page.issues) {
            handed.emplace(issue.key, issue.updated_ms);
            versions[issue.key].push_back(issue.updated_ms);
          }
          ++pages;
          if (sink_error) {
            return std::unexpected(*sink_error);
          }
          if (!page.through_ms) {
            return {};
          }
          if (through && *page.through_ms < *through) {
            problems.push_back("the watermark went back to " + FormatIsoUtc(*page.through_ms));
          }
          through = page.through_ms;
          server_.Inspect([&](const std::vector<StoredIssue>& issues) {
            for (const StoredIssue& issue : issues) {
              const std::string key = "RAP-" + std::to_string(issue.n);
              const bool selected =
                  !request.updated_from_ms ||
                  issue.updated_ms >= FloorToSecondForTest(*request.updated_from_ms);
              if (selected && issue.updated_ms < *through &&
                  !handed.contains({key, issue.updated_ms}) && problems.size() < 10) {
                problems.push_back("through " + FormatIsoUtc(*through) + " passed " + key + " at " +
                                   FormatIsoUtc(issue.updated_ms) + " before it was handed on");
              }
            }
          });
          return {};
        }));
  }

  EmulatedYouTrack& server_;
  std::set<std::pair<std::string, std::int64_t>> handed;
  std::map<std::string, std::vector<std::int64_t>> versions;  // in the order handed on
  std::optional<std::int64_t> through;
  std::size_t pages = 0;
  std::vector<std::string> problems;
  std::optional<Error> sink_error;
};

TEST(SlicedPullTest, HandsOnEveryIssueOnceAndItsWatermarkPassesNoneUnhanded) {
  EmulatedYouTrack server(MeUtc(), 0, SliceableIssues());
  FakeHttpClient http;
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  http.SetHandler([&](const HttpRequest& r) {
    const int now = ++in_flight;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto answer = server.Answer(r);
    --in_flight;
    return answer;
  });
  PullRequest request;
  request.page_size = 25;
  request.concurrency = 4;
  SlicedPull pull(server);
  auto result = pull.Run(http, request);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(pull.problems.empty()) << pull.problems.front();

  std::vector<std::string> keys;
  for (const auto& [key, versions] : pull.versions) {
    EXPECT_EQ(versions.size(), 1u) << key << " was handed on more than once";
    keys.push_back(key);
  }
  std::vector<std::string> want = Keys(SliceableIssues());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(keys, want);
  // At the end, the watermark is the newest issue.
  EXPECT_EQ(pull.through, SliceableIssues().back().updated_ms);
  EXPECT_GE(most.load(), 2) << "the slices were not read side by side";

  // The token is checked once; then the oldest and newest issues give the
  // range, and its slices are read by keyset paging.
  const auto queries = IssueQueriesOf(http.requests);
  EXPECT_EQ(std::count_if(http.requests.begin(), http.requests.end(),
                          [](const auto& r) { return r.url == kMeUrl; }),
            1);
  ASSERT_GE(queries.size(), 2u);
  EXPECT_EQ(queries[0], "sort by: updated asc");
  EXPECT_EQ(queries[1], "sort by: updated desc");
  std::set<std::string> slice_starts;
  for (const std::string& query : queries) {
    if (query.starts_with("updated: ")) {
      slice_starts.insert(query.substr(0, query.find(" .. ")));
    }
  }
  EXPECT_GE(slice_starts.size(), 16u);
}

TEST(SlicedPullTest, IssuesChangingWhileItRunsAreSeenInTheirLatestVersionNeverOlderAfterNewer) {
  const std::vector<StoredIssue> initial = SliceableIssues();
  EmulatedYouTrack server(MeUtc(), 0, initial);
  // Changes land after every issue there was: in the tail.
  std::int64_t clock = initial.back().updated_ms + kMinute;
  std::set<std::string> changed;
  server.OnIssuesRequest([&](std::size_t n, std::vector<StoredIssue>& issues) {
    if (n != 6 && n != 25 && n != 60 && n != 90) {
      return;
    }
    for (std::size_t i = 0; i < 40; ++i) {
      StoredIssue& issue = issues[(n * 131 + i * 73) % issues.size()];
      issue.updated_ms = clock += 700;
      changed.insert("RAP-" + std::to_string(issue.n));
    }
  });
  FakeHttpClient http;
  server.Serve(http);
  PullRequest request;
  request.page_size = 25;
  request.concurrency = 4;
  SlicedPull pull(server);
  auto result = pull.Run(http, request);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(pull.problems.empty()) << pull.problems.front();
  EXPECT_GE(changed.size(), 100u);

  // Every issue in the version it has now; each version once, in order.
  server.Inspect([&](const std::vector<StoredIssue>& issues) {
    for (const StoredIssue& issue : issues) {
      const std::string key = "RAP-" + std::to_string(issue.n);
      EXPECT_TRUE(pull.handed.contains({key, issue.updated_ms}))
          << key << " at " << FormatIsoUtc(issue.updated_ms) << " was not handed on";
    }
  });
  for (const auto& [key, versions] : pull.versions) {
    EXPECT_TRUE(std::is_sorted(versions.begin(), versions.end(), std::less_equal<>()) ||
                versions.size() == 1)
        << key << ": an older version came after a newer one, or one came twice";
    if (!changed.contains(key)) {
      EXPECT_EQ(versions.size(), 1u) << key << " did not change but came twice";
    }
  }
}

// The tail is read to its end early, while a slow slice still reads a crowd;
// then issues of the crowd that slice has not reached change, and move to
// the tail. The tail asks again once the other slices are done.
TEST(SlicedPullTest, TheTailAsksAgainAfterTheOtherSlicesAreDone) {
  std::vector<StoredIssue> initial;
  // 1000 within two minutes, then one every ten minutes: slices are wider
  // than the hour before its start that each reads besides.
  for (int n = 1; n <= 1200; ++n) {
    initial.push_back({n, kT0 + (n <= 1000 ? n * 100LL : 100'000 + (n - 1000) * 10 * kMinute)});
  }
  EmulatedYouTrack server(MeUtc(), 0, initial);
  std::atomic<bool> tail_read{false};
  std::atomic<bool> move_now{false};
  bool moved = false;
  std::int64_t clock = initial.back().updated_ms + kMinute;
  server.OnIssuesRequest([&](std::size_t, std::vector<StoredIssue>& issues) {
    if (move_now && !moved) {
      moved = true;
      for (int n = 990; n <= 1000; ++n) {  // the crowd's last, not read yet
        issues[n - 1].updated_ms = clock += 1000;
      }
    }
  });
  // The first slice's requests: all end where its first one does.
  std::mutex mu;
  std::string first_slice_end;
  FakeHttpClient http;
  http.SetHandler([&](const HttpRequest& r) {
    const std::string query = QueryOf(r.url);
    bool first_slice = false;
    {
      std::lock_guard lock(mu);
      if (query.starts_with("updated: * .. ")) {
        first_slice_end = query.substr(query.find(" .. "));
      }
      first_slice = !first_slice_end.empty() && query.ends_with(first_slice_end);
    }
    const bool tail =
        query.starts_with("updated: ") && query.find(" .. * sort by") != std::string::npos;
    if (first_slice) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      move_now = tail_read.load();
    }
    auto answer = server.Answer(r);
    if (tail && answer && IssuesIn(*answer) < std::stoul(Param(r.url, "$top"))) {
      tail_read = true;
    }
    return answer;
  });
  PullRequest request;
  request.page_size = 20;
  request.concurrency = 2;
  SlicedPull pull(server);
  auto result = pull.Run(http, request);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  ASSERT_TRUE(moved) << "the tail was not read before the first slice ended";
  EXPECT_TRUE(pull.problems.empty()) << pull.problems.front();
  server.Inspect([&](const std::vector<StoredIssue>& issues) {
    for (const StoredIssue& issue : issues) {
      const std::string key = "RAP-" + std::to_string(issue.n);
      EXPECT_TRUE(pull.handed.contains({key, issue.updated_ms}))
          << key << " at " << FormatIsoUtc(issue.updated_ms) << " was not handed on";
    }
  });
}

// A page of the first slice holds RAP-30; right after it is read, RAP-30
// changes, and the answer is late. Meanwhile the tail hands on its new
// version; the old one, coming after, is not handed on.
TEST(SlicedPullTest, AnOlderVersionReadBeforeAChangeIsNotHandedOnAfterTheNewer) {
  std::vector<StoredIssue> initial;
  for (int n = 1; n <= 1200; ++n) {
    initial.push_back({n, kT0 + (n <= 1000 ? n * 100LL : 100'000 + (n - 1000) * 10 * kMinute)});
  }
  EmulatedYouTrack server(MeUtc(), 0, initial);
  const std::int64_t changed_at = initial.back().updated_ms + kMinute;
  std::mutex mu;
  std::string first_slice_end;
  std::atomic<bool> changed{false};
  FakeHttpClient http;
  http.SetHandler([&](const HttpRequest& r) {
    const std::string query = QueryOf(r.url);
    bool first_slice = false;
    {
      std::lock_guard lock(mu);
      if (query.starts_with("updated: * .. ")) {
        first_slice_end = query.substr(query.find(" .. "));
      }
      first_slice = !first_slice_end.empty() && query.ends_with(first_slice_end);
    }
    auto answer = server.Answer(r);
    if (first_slice && answer &&
        answer->body.find(R"("idReadable":"RAP-30")") != std::string::npos &&
        !changed.exchange(true)) {
      server.Edit([&](std::vector<StoredIssue>& issues) { issues[29].updated_ms = changed_at; });
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return answer;
  });
  PullRequest request;
  request.page_size = 20;
  request.concurrency = 2;
  SlicedPull pull(server);
  auto result = pull.Run(http, request);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  ASSERT_TRUE(changed);
  EXPECT_TRUE(pull.problems.empty()) << pull.problems.front();
  EXPECT_EQ(pull.versions["RAP-30"], std::vector<std::int64_t>{changed_at});
}

TEST(SlicedPullTest, AFailingSliceStopsTheOthersAndItsErrorIsThePulls) {
  EmulatedYouTrack server(MeUtc(), 0, SliceableIssues());
  PullRequest request;
  request.page_size = 25;
  request.concurrency = 4;
  FakeHttpClient whole;
  server.Serve(whole);
  ASSERT_TRUE(SlicedPull(server).Run(whole, request).has_value());

  FakeHttpClient http;
  std::atomic<int> issue_requests{0};
  http.SetHandler([&](const HttpRequest& r) -> Result<HttpResponse> {
    if (r.url.starts_with(kIssuesUrl) && ++issue_requests == 12) {
      return FakeHttpClient::Json(
          400, R"({"error":"invalid_query","error_description":"slice twelve"})");
    }
    return server.Answer(r);
  });
  SlicedPull pull(server);
  auto result = pull.Run(http, request);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kBadResponse);
  EXPECT_NE(result.error().message.find("slice twelve"), std::string::npos)
      << result.error().message;
  EXPECT_TRUE(result.error().message.starts_with("connection acme-yt: ")) << result.error().message;
  // The other readers stop at their next request, not at the end.
  EXPECT_LE(issue_requests.load() * 4, static_cast<int>(IssueQueriesOf(whole.requests).size()))
      << IssueQueriesOf(whole.requests).size() << " in a whole pull";
  EXPECT_TRUE(pull.problems.empty()) << pull.problems.front();
}

TEST(SlicedPullTest, ASinkErrorStopsEveryReader) {
  EmulatedYouTrack server(MeUtc(), 0, SliceableIssues());
  PullRequest request;
  request.page_size = 25;
  request.concurrency = 4;
  FakeHttpClient whole;
  server.Serve(whole);
  ASSERT_TRUE(SlicedPull(server).Run(whole, request).has_value());

  FakeHttpClient http;
  server.Serve(http);
  SlicedPull pull(server);
  pull.sink_error = Error{ErrorCode::kStorage, "disk full"};
  auto result = pull.Run(http, request);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message, "disk full");
  EXPECT_EQ(pull.pages, 1u);
  // A few pages queued per reader and one in flight each (besides the pages
  // with nothing to hand on), not the whole pull.
  EXPECT_LE(IssueQueriesOf(http.requests).size() * 4, IssueQueriesOf(whole.requests).size())
      << IssueQueriesOf(whole.requests).size() << " in a whole pull";
}

TEST(SlicedPullTest, AnEmptyTrackerIsProbedAndReadOnce) {
  EmulatedYouTrack server(MeUtc(), 0, {});
  FakeHttpClient http;
  server.Serve(http);
  PullRequest request;
  request.concurrency = 4;
  SlicedPull pull(server);
  ASSERT_TRUE(pull.Run(http, request).has_value());
  EXPECT_EQ(pull.pages, 0u);
  EXPECT_EQ(IssueQueriesOf(http.requests),
            (std::vector<std::string>{"sort by: updated asc", "sort by: updated desc",
                                      "sort by: updated asc"}));
}

TEST(SlicedPullTest, APullWithALimitIsNotSliced) {
  EmulatedYouTrack server(MeUtc(), 0, SliceableIssues());
  FakeHttpClient http;
  server.Serve(http);
  PullRequest request;
  request.page_size = 25;
  request.limit = 60;
  request.concurrency = 4;
  SlicedPull pull(server);
  ASSERT_TRUE(pull.Run(http, request).has_value());
  EXPECT_EQ(pull.handed.size(), 60u);
  for (const std::string& query : IssueQueriesOf(http.requests)) {
    EXPECT_EQ(query.find("desc"), std::string::npos) << "probed for slices: " << query;
  }
}

TEST(SlicedPullTest, ABoundedRangeIsSlicedWithinItsBounds) {
  const std::vector<StoredIssue> issues = SliceableIssues();
  EmulatedYouTrack server(MeUtc(), 0, issues);
  FakeHttpClient http;
  server.Serve(http);
  PullRequest request;
  request.page_size = 25;
  request.concurrency = 3;
  request.updated_from_ms = issues[500].updated_ms;
  request.updated_to_ms = issues[2500].updated_ms;
  SlicedPull pull(server);
  auto result = pull.Run(http, request);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(pull.problems.empty()) << pull.problems.front();
  std::set<std::string> want;
  for (const StoredIssue& issue : issues) {
    if (issue.updated_ms >= FloorToSecondForTest(*request.updated_from_ms) &&
        issue.updated_ms <= *request.updated_to_ms + 999) {
      want.insert("RAP-" + std::to_string(issue.n));
    }
  }
  std::set<std::string> got;
  for (const auto& [key, versions] : pull.versions) {
    EXPECT_EQ(versions.size(), 1u) << key;
    got.insert(key);
  }
  EXPECT_EQ(got, want);
  // Only the newest probe: the start is given.
  const auto queries = IssueQueriesOf(http.requests);
  ASSERT_FALSE(queries.empty());
  EXPECT_EQ(queries[0], "sort by: updated desc");
}

}  // namespace
}  // namespace boardsync

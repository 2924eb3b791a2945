// JiraSource against the sample Jira (tests/support/jira/), Cloud and Data
// Center: every issue exactly once however the search pages (tokens,
// offsets, capped pages, slices), changes in the cursor's minute and across
// daylight saving, moved and deleted issues, field names, sessions, and the
// errors a user must be able to act on, with the token never shown.

#include "connectors/jira/jira_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "connectors/http/cpprest_http_client.h"
#include "core/time.h"
#include "tests/support/jira/jira_server.h"

namespace boardsync {
namespace {

using testing::HasSubstr;
using testing::Not;

JiraOptions OptionsFor(const JiraServer& server) {
  JiraOptions options;
  options.connection_name = "acme-jira";
  options.site = *JiraSiteUrl(server.base_url());
  if (server.flavor() == JiraFlavor::kCloud) {
    options.deployment = JiraDeployment::kCloud;
    options.email = std::string(kJiraCloudEmail);
    options.token = Secret(std::string(kJiraCloudApiToken));
  } else {
    options.deployment = JiraDeployment::kDataCenter;
    options.token = Secret(std::string(kJiraDataCenterToken));
  }
  options.timeout = std::chrono::milliseconds(10'000);
  return options;
}

struct Pulled {
  std::vector<Issue> issues;
  std::map<std::string, int> times_by_id;
};

Result<Pulled> PullAll(JiraSource& source, const PullRequest& request) {
  Pulled pulled;
  auto result = source.Pull(request, [&](IssuePage page) -> Result<void> {
    for (Issue& issue : page.issues) {
      ++pulled.times_by_id[issue.id];
      pulled.issues.push_back(std::move(issue));
    }
    return {};
  });
  if (!result) {
    return std::unexpected(result.error());
  }
  return pulled;
}

class JiraSourceTest : public testing::TestWithParam<JiraFlavor> {
 protected:
  JiraServerOptions ServerOptions() const {
    JiraServerOptions options;
    options.flavor = GetParam();
    options.path_prefix = GetParam() == JiraFlavor::kDataCenter ? "/jira" : "";
    return options;
  }
  bool Cloud() const { return GetParam() == JiraFlavor::kCloud; }

  CpprestHttpClient http_;
};

TEST_P(JiraSourceTest, AFirstPullReadsEveryIssueOnceWithTheMappedFields) {
  JiraServer server(ServerOptions());
  server.GenerateIssues(230, 7);
  server.SetMaxResultsCap(40);  // smaller than the page asked for: Jira cuts silently
  JiraSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"summary", "Story Points", "status", "Assignee.login", "labels"};
  request.page_size = 100;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), 230u);
  for (const auto& [id, times] : pulled->times_by_id) {
    EXPECT_EQ(times, 1) << id;
  }
  const Issue& first = pulled->issues.front();
  EXPECT_TRUE(first.decode_error.empty()) << first.decode_error;
  EXPECT_THAT(first.url, HasSubstr("/browse/" + first.key));
  EXPECT_TRUE(first.fields.contains("summary"));
  EXPECT_TRUE(first.fields.contains("Story Points"));
  EXPECT_TRUE(first.fields.at("labels").IsList());
  // Oldest change first, as the cursor needs.
  for (std::size_t i = 1; i < pulled->issues.size(); ++i) {
    EXPECT_LE(pulled->issues[i - 1].updated_ms, pulled->issues[i].updated_ms);
  }
  // Every search was ordered, and bounded where Cloud insists on it; the
  // pull went on by `updated` (keyset), not by one ever-growing offset. Only
  // the mapped fields were asked for.
  const std::vector<std::string> searches = server.AllJql();
  for (const std::string& jql : searches) {
    EXPECT_THAT(jql, HasSubstr("ORDER BY updated ASC"));
    if (Cloud()) {
      EXPECT_THAT(jql, HasSubstr("updated >="));
    }
  }
  EXPECT_THAT(searches.back(), HasSubstr("updated >="));
  auto search = server.LastRequest(Cloud() ? "/rest/api/3/search/jql" : "/rest/api/2/search");
  ASSERT_TRUE(search);
  const std::string fields = std::string(*search->request.Param("fields"));
  EXPECT_THAT(fields, HasSubstr("customfield_10016"));
  EXPECT_THAT(fields, Not(HasSubstr("description")));
  EXPECT_EQ(*search->request.Header("authorization"), server.AuthorizationHeader());
}

TEST_P(JiraSourceTest, SlicesReadSideBySideStillGiveEveryIssueOnce) {
  JiraServer server(ServerOptions());
  server.GenerateIssues(400, 11);
  JiraSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"summary"};
  request.page_size = 50;
  request.concurrency = 4;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), 400u);
  for (const auto& [id, times] : pulled->times_by_id) {
    EXPECT_EQ(times, 1) << id;
  }
}

TEST_P(JiraSourceTest, IssuesChangingWhileTheSearchPagesAreNeverLost) {
  JiraServer server(ServerOptions());
  server.GenerateIssues(300, 3);
  std::vector<JiraIssue> all = server.Issues();
  // Before each page, the oldest issues change: they move to the end of the
  // order, which shifts every unread one back by as many places.
  server.OnSearchRequest([&](std::size_t n) {
    if (n >= 2 && n <= 5) {
      for (std::size_t i = 0; i < 7; ++i) {
        server.UpdateIssue(std::to_string(all[(n - 2) * 7 + i].id),
                           [](JiraIssue& issue) { issue.summary += " (edited)"; });
      }
      server.AdvanceClock(std::chrono::seconds(1));
    }
  });
  JiraSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"summary"};
  request.page_size = 40;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), 300u);  // none missed; changed ones may come twice
}

TEST_P(JiraSourceTest, AChangeInTheCursorsMinuteIsPickedUpByTheNextPull) {
  JiraServerOptions options = ServerOptions();
  options.now_ms = *ParseIsoUtc("2024-05-01T10:05:10Z");
  JiraServer server(options);
  auto a = server.AddIssue(JiraIssue{.summary = "A"});
  ASSERT_TRUE(a);
  JiraSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"summary"};
  auto first = PullAll(source, request);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->issues.size(), 1u);
  const std::int64_t cursor = first->issues[0].updated_ms;

  server.AdvanceClock(std::chrono::seconds(30));  // 10:05:40, the same minute
  auto b = server.AddIssue(JiraIssue{.summary = "B"});
  ASSERT_TRUE(b);
  request.updated_from_ms = cursor;
  request.session = source.Session();
  auto next = PullAll(source, request);
  ASSERT_TRUE(next) << next.error().message;
  std::set<std::string> keys;
  for (const Issue& issue : next->issues) {
    keys.insert(issue.key);
  }
  EXPECT_TRUE(keys.contains(*b)) << server.LastJql();
}

TEST_P(JiraSourceTest, BoundsAcrossAFallBackHourMissNothingUnderEitherReading) {
  for (JiraCivilReading reading : {JiraCivilReading::kLatest, JiraCivilReading::kEarliest}) {
    JiraServerOptions options = ServerOptions();
    options.user_time_zone = "America/New_York";
    options.civil_reading = reading;
    // 2024-11-03: 01:00-02:00 EDT, then 01:00-02:00 again as EST.
    options.now_ms = *ParseIsoUtc("2024-11-03T05:10:00Z");  // 01:10 EDT, the first pass
    JiraServer server(options);
    ASSERT_TRUE(server.AddIssue(JiraIssue{.summary = "first pass"}));
    server.SetNow(*ParseIsoUtc("2024-11-03T06:20:00Z"));  // 01:20 EST, the second pass
    ASSERT_TRUE(server.AddIssue(JiraIssue{.summary = "second pass"}));
    JiraSource source(OptionsFor(server), http_);
    PullRequest request;
    request.fields = {"summary"};
    request.updated_from_ms = *ParseIsoUtc("2024-11-03T05:10:00Z");
    request.updated_to_ms = *ParseIsoUtc("2024-11-03T06:20:00Z");
    auto pulled = PullAll(source, request);
    ASSERT_TRUE(pulled) << pulled.error().message;
    EXPECT_EQ(pulled->issues.size(), 2u) << server.LastJql();
  }
}

TEST_P(JiraSourceTest, AMovedIssueKeepsItsIdAndComesWithItsNewKey) {
  JiraServer server(ServerOptions());
  auto key = server.AddIssue(JiraIssue{.summary = "moving"});
  ASSERT_TRUE(key);
  JiraSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"summary"};
  auto before = PullAll(source, request);
  ASSERT_TRUE(before);
  ASSERT_EQ(before->issues.size(), 1u);
  server.AdvanceClock(std::chrono::minutes(2));
  auto moved = server.MoveIssue(*key, "SRV");
  ASSERT_TRUE(moved);
  request.updated_from_ms = before->issues[0].updated_ms;
  auto after = PullAll(source, request);
  ASSERT_TRUE(after) << after.error().message;
  ASSERT_FALSE(after->issues.empty());
  EXPECT_EQ(after->issues.back().id, before->issues[0].id);
  EXPECT_EQ(after->issues.back().key, *moved);
}

TEST_P(JiraSourceTest, PullsByKeyLeaveOutKeysThatNoLongerExist) {
  JiraServer server(ServerOptions());
  server.GenerateIssues(5, 1);
  std::vector<JiraIssue> all = server.Issues();
  ASSERT_TRUE(server.DeleteIssue(all[1].key));
  JiraSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"summary"};
  request.keys = {all[0].key, all[1].key, all[2].key};
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  std::set<std::string> keys;
  for (const Issue& issue : pulled->issues) {
    keys.insert(issue.key);
  }
  EXPECT_EQ(keys, (std::set<std::string>{all[0].key, all[2].key}));
}

TEST_P(JiraSourceTest, ASessionSparesTheTokenCheckAndCarriesTheZone) {
  JiraServerOptions options = ServerOptions();
  options.user_time_zone = "Australia/Sydney";
  JiraServer server(options);
  server.GenerateIssues(3, 2);
  JiraSource source(OptionsFor(server), http_);
  EXPECT_EQ(source.Session(), std::nullopt);
  ASSERT_TRUE(PullAll(source, PullRequest{}));
  const std::optional<TrackerSession> session = source.Session();
  ASSERT_TRUE(session);
  EXPECT_THAT(session->data, HasSubstr("\"time_zone\":\"Australia/Sydney\""));

  JiraSource later(OptionsFor(server), http_);
  server.ClearRequests();
  PullRequest request;
  request.session = session;
  request.updated_from_ms = NowMs() - 60'000;
  ASSERT_TRUE(PullAll(later, request));
  const std::string api = Cloud() ? "/rest/api/3" : "/rest/api/2";
  EXPECT_EQ(server.RequestCount(api + "/myself"), 0u);
  EXPECT_EQ(server.RequestCount(api + "/field"), 0u);
  EXPECT_EQ(server.search_requests(), 1u);  // nothing new: one search

  // A session this connector cannot read, or for other names, costs the checks again.
  for (const char* data : {"time_zone=Australia/Sydney", "{}", "[1]", "{\"time_zone\":7}"}) {
    JiraSource again(OptionsFor(server), http_);
    server.ClearRequests();
    request.session = TrackerSession{data};
    ASSERT_TRUE(PullAll(again, request)) << data;
    EXPECT_EQ(server.RequestCount(api + "/myself"), 1u) << data;
  }
  JiraSource other_names(OptionsFor(server), http_);
  server.ClearRequests();
  request.session = session;
  request.fields = {"summary"};
  ASSERT_TRUE(PullAll(other_names, request));
  EXPECT_EQ(server.RequestCount(api + "/myself"), 0u);
  EXPECT_EQ(server.RequestCount(api + "/field"), 1u);
}

TEST_P(JiraSourceTest, ANameTwoFieldsShareIsAnErrorNamingBothIds) {
  JiraServerOptions options = ServerOptions();
  options.shared_field_name = "Impact";
  JiraServer server(options);
  server.GenerateIssues(2, 5);
  JiraSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"summary", "Impact"};
  auto pulled = PullAll(source, request);
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kConfig);
  EXPECT_THAT(pulled.error().message, HasSubstr("customfield_10060"));
  EXPECT_THAT(pulled.error().message, HasSubstr("customfield_10061"));
  EXPECT_EQ(server.search_requests(), 0u);

  auto unknown = source.UnknownFields({"summary", "Story Points", "Storypoints"});
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_EQ(*unknown, std::vector<std::string>{"Storypoints"});
}

TEST_P(JiraSourceTest, WhoAmINamesTheUserAndCountsProjects) {
  JiraServer server(ServerOptions());
  server.GenerateIssues(10, 4);  // projects RAP, SRV, DOC
  JiraSource source(OptionsFor(server), http_);
  auto me = source.WhoAmI();
  ASSERT_TRUE(me) << me.error().message;
  EXPECT_FALSE(me->name.empty());
  EXPECT_FALSE(me->login.empty());
  EXPECT_EQ(me->time_zone, "Europe/Berlin");
  EXPECT_GE(me->projects, 3);
}

TEST_P(JiraSourceTest, AWrongTokenIsAnAuthErrorThatNeverShowsIt) {
  JiraServer server(ServerOptions());
  const std::string canary = Cloud() ? "ATATTWrongCanaryToken0000" : "WrongPatCanary0000";
  JiraOptions options = OptionsFor(server);
  options.token = Secret(canary);
  JiraSource source(options, http_);
  for (auto error : {source.WhoAmI().error(), PullAll(source, PullRequest{}).error()}) {
    EXPECT_EQ(error.code, ErrorCode::kAuth);
    EXPECT_THAT(error.message, HasSubstr("HTTP 401"));
    EXPECT_THAT(error.message, HasSubstr("acme-jira"));
    EXPECT_THAT(error.message, Not(HasSubstr(canary)));
    EXPECT_THAT(error.message, Not(HasSubstr("QVRBVFRXcm9uZ0")));  // nor its base64
  }
}

TEST_P(JiraSourceTest, AWrongBaseUrlSaysSo) {
  JiraServer server(ServerOptions());
  JiraOptions options = OptionsFor(server);
  options.site += "/wrong";
  JiraSource source(options, http_);
  auto me = source.WhoAmI();
  ASSERT_FALSE(me);
  EXPECT_EQ(me.error().code, ErrorCode::kConfig);
  EXPECT_THAT(me.error().message, HasSubstr("check base_url"));
}

TEST_P(JiraSourceTest, RateLimitsAreWaitedOutAndBadAnswersFailThePullClearly) {
  JiraServer server(ServerOptions());
  server.GenerateIssues(20, 9);
  server.InjectFault(JiraServer::Fault::RateLimited(1));
  JiraSource source(OptionsFor(server), http_);
  auto pulled = PullAll(source, PullRequest{});
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->issues.size(), 20u);

  for (JiraServer::Fault fault : {JiraServer::Fault::HtmlLoginPage(),
                                  JiraServer::Fault::MalformedJson(),
                                  JiraServer::Fault::WrongShape()}) {
    server.InjectFault(fault);
    auto failed = PullAll(source, PullRequest{});
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, ErrorCode::kBadResponse) << failed.error().message;
    EXPECT_THAT(failed.error().message, HasSubstr("acme-jira"));
  }
}

INSTANTIATE_TEST_SUITE_P(Flavors, JiraSourceTest,
                         testing::Values(JiraFlavor::kCloud, JiraFlavor::kDataCenter),
                         [](const testing::TestParamInfo<JiraFlavor>& info) {
                           return info.param == JiraFlavor::kCloud ? "Cloud" : "DataCenter";
                         });

}  // namespace
}  // namespace boardsync

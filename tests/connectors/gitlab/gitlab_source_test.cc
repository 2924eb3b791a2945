// GitLabSource against the sample GitLab (tests/support/gitlab/): every issue
// exactly once however the lists page (keyset, offset, capped pages, ties
// within a second across a page boundary, slices), changes while paging,
// group lists over subgroups, sessions, keys (deleted, moved), the reasons a
// user must be able to act on for 401/403/404, rate limits without a request
// storm, and next-page links that would lead the token elsewhere.
#include "connectors/gitlab/gitlab_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "connectors/http/cpprest_http_client.h"
#include "core/time.h"
#include "tests/support/gitlab/gitlab_server.h"
#include "tests/support/http_server.h"

namespace boardsync {
namespace {

using testing::HasSubstr;
using testing::Not;

// 2024-05-01T10:00:00Z: the sample clock starts here.
const std::int64_t kStart = *ParseIsoUtc("2024-05-01T10:00:00Z");

GitLabServerOptions ServerOptions(bool keyset = true) {
  GitLabServerOptions options;
  options.keyset_pagination = keyset;
  options.now_ms = kStart + 3'600'000;
  return options;
}

GitLabOptions OptionsFor(const GitLabServer& server, std::string path = "acme/roadmap",
                         GitLabScope scope = GitLabScope::kProject,
                         std::string_view token = kGitLabToken) {
  GitLabOptions options;
  options.connection_name = "acme-gl";
  options.root = *GitLabRootUrl(server.base_url());
  options.scope = scope;
  options.path = std::move(path);
  options.token = Secret(std::string(token));
  options.timeout = std::chrono::milliseconds(10'000);
  return options;
}

// Waits recorded instead of slept: the HTTP client's backoff and
// Retry-After, and the connector's own wait for RateLimit-Reset.
struct Waits {
  std::mutex mu;
  std::vector<std::chrono::milliseconds> waits;
  void Record(std::chrono::milliseconds wait) {
    std::lock_guard lock(mu);
    waits.push_back(wait);
  }
  std::vector<std::chrono::milliseconds> All() {
    std::lock_guard lock(mu);
    return waits;
  }
};

HttpClientOptions ClientOptions(Waits& waits) {
  HttpClientOptions options;
  options.sleep = [&waits](std::chrono::milliseconds wait, std::stop_token) { waits.Record(wait); };
  return options;
}

// `n` issues in `project`, updated one every `step_ms` from `first_ms`
// (several per second when step_ms is below 1000).
std::vector<std::int64_t> AddIssues(GitLabServer& server, std::string_view project, int n,
                                    std::int64_t first_ms, std::int64_t step_ms) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < n; ++i) {
    GitLabIssue issue;
    issue.project = std::string(project);
    issue.title = std::string(project) + " issue " + std::to_string(i);
    issue.labels = i % 3 == 0 ? std::vector<std::string>{"priority::high", "bug"}
                              : std::vector<std::string>{"feature"};
    issue.assignees = {"bob"};
    issue.weight = i % 5;
    issue.time_estimate_seconds = 3600 * (i % 4);
    issue.created_ms = first_ms - 86'400'000;
    issue.updated_ms = first_ms + i * step_ms;
    auto added = server.AddIssue(std::move(issue));
    EXPECT_TRUE(added) << (added ? "" : added.error().message);
    if (added) {
      ids.push_back(added->id);
    }
  }
  return ids;
}

struct Pulled {
  std::vector<Issue> issues;
  std::map<std::string, int> times_by_id;
  std::vector<std::optional<std::int64_t>> through;
};

Result<Pulled> PullAll(GitLabSource& source, const PullRequest& request) {
  Pulled pulled;
  auto result = source.Pull(request, [&](IssuePage page) -> Result<void> {
    pulled.through.push_back(page.through_ms);
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

void ExpectEachOnce(const Pulled& pulled, const std::vector<std::int64_t>& ids) {
  EXPECT_EQ(pulled.times_by_id.size(), ids.size());
  for (std::int64_t id : ids) {
    auto it = pulled.times_by_id.find(std::to_string(id));
    if (it == pulled.times_by_id.end()) {
      ADD_FAILURE() << "issue " << id << " never came";
    } else {
      EXPECT_EQ(it->second, 1) << "issue " << id;
    }
  }
  for (std::size_t i = 1; i < pulled.issues.size(); ++i) {
    EXPECT_LE(pulled.issues[i - 1].updated_ms, pulled.issues[i].updated_ms);
  }
}

class GitLabSourceTest : public testing::TestWithParam<bool> {
 protected:
  bool Keyset() const { return GetParam(); }
  CpprestHttpClient http_;
};

INSTANTIATE_TEST_SUITE_P(Paging, GitLabSourceTest, testing::Values(true, false),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Keyset") : std::string("Offset");
                         });

TEST_P(GitLabSourceTest, AFirstPullReadsEveryIssueOnceWithTheMappedMembers) {
  GitLabServer server(ServerOptions(Keyset()));
  const auto ids = AddIssues(server, "acme/roadmap", 230, kStart, 7'000);
  AddIssues(server, "acme/platform/api", 5, kStart, 1'000);  // another project's
  GitLabSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"title", "labels", "assignees", "time_stats", "weight", "milestone"};
  request.page_size = 40;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  ExpectEachOnce(*pulled, ids);

  const Issue& first = pulled->issues.front();
  ASSERT_EQ(first.decode_error, "");
  EXPECT_EQ(first.key, "acme/roadmap#1");
  EXPECT_EQ(first.url, server.base_url() + "/acme/roadmap/-/issues/1");
  EXPECT_EQ(first.fields.at("title"), Value("acme/roadmap issue 0"));
  EXPECT_EQ(first.fields.at("labels"), Value(Value::List{"priority::high", "bug"}));
  EXPECT_EQ(first.fields.at("weight"), Value(0));
  EXPECT_EQ(first.fields.at("milestone"), Value());
  EXPECT_EQ(first.fields.at("assignees").AsList().at(0).Find("login")->AsString(), "bob");
  EXPECT_EQ(pulled->issues[3].fields.at("time_stats").Find("time_estimate")->AsInt(), 180);
  EXPECT_FALSE(first.fields.contains("description"));

  // Every list asked in GitLab's order and filter, at most 40 a page, with
  // the token as a Bearer header (never in the URL), by the project's
  // numeric id once the check found it.
  std::size_t lists = 0;
  for (const auto& sent : server.requests()) {
    if (!sent.issue_list) {
      continue;
    }
    ++lists;
    EXPECT_EQ(sent.auth, GitLabServer::AuthMethod::kBearer);
    EXPECT_THAT(sent.api_path, HasSubstr("/api/v4/projects/101/issues"));
    std::map<std::string, std::string> params(sent.query.begin(), sent.query.end());
    EXPECT_EQ(params["order_by"], "updated_at") << sent.target;
    EXPECT_EQ(params["sort"], "asc") << sent.target;
    EXPECT_EQ(params["scope"], "all") << sent.target;
    EXPECT_EQ(params["per_page"], "40") << sent.target;
    EXPECT_FALSE(params.contains("private_token"));
  }
  // Keyset windows: 230 issues in pages of 40 (plus the empty look past the end).
  EXPECT_GE(lists, 6u);
  EXPECT_LE(lists, 8u);
  EXPECT_EQ(server.RequestCount("/api/v4/user"), 1u);
  EXPECT_EQ(server.RequestCount("/api/v4/projects/acme%2Froadmap"), 1u);
  // Every page says how far the pull got; the last one reaches the newest issue.
  ASSERT_FALSE(pulled->through.empty());
  ASSERT_TRUE(pulled->through.back().has_value());
  EXPECT_GE(*pulled->through.back(), pulled->issues.back().updated_ms);
}

TEST_P(GitLabSourceTest, AServerThatCapsPagesBelowWhatWasAskedLosesNothing) {
  GitLabServerOptions options = ServerOptions(Keyset());
  options.max_per_page = 30;  // an instance whose cap is lower than 100
  GitLabServer server(options);
  // Bursts of 45 issues within one second, more than a capped page.
  std::vector<std::int64_t> ids;
  for (int burst = 0; burst < 4; ++burst) {
    for (auto id : AddIssues(server, "acme/roadmap", 45, kStart + burst * 5'000, 10)) {
      ids.push_back(id);
    }
  }
  GitLabSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"title"};
  request.page_size = 100;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  ExpectEachOnce(*pulled, ids);
}

TEST_P(GitLabSourceTest, ManyIssuesInOneSecondAcrossPageBoundaries) {
  for (int page_size : {2, 3}) {
    SCOPED_TRACE("page size " + std::to_string(page_size));
    GitLabServer server(ServerOptions(Keyset()));
    std::vector<std::int64_t> ids = AddIssues(server, "acme/roadmap", 4, kStart, 1'000);
    // Seven in one second (ms apart), then seven with the very same time.
    for (auto id : AddIssues(server, "acme/roadmap", 7, kStart + 10'000, 100)) {
      ids.push_back(id);
    }
    for (auto id : AddIssues(server, "acme/roadmap", 7, kStart + 20'500, 0)) {
      ids.push_back(id);
    }
    for (auto id : AddIssues(server, "acme/roadmap", 3, kStart + 30'000, 1'000)) {
      ids.push_back(id);
    }
    GitLabSource source(OptionsFor(server), http_);
    PullRequest request;
    request.fields = {"title"};
    request.page_size = page_size;
    auto pulled = PullAll(source, request);
    ASSERT_TRUE(pulled) << pulled.error().message;
    ExpectEachOnce(*pulled, ids);
    // The bounds were whole seconds, so either reading of a fraction holds.
    for (const auto& sent : server.requests()) {
      for (const auto& [name, value] : sent.query) {
        if (name == "updated_after" || name == "updated_before") {
          EXPECT_EQ(value.size(), 20u) << value;
          EXPECT_TRUE(value.ends_with("Z")) << value;
        }
      }
    }
  }
}

TEST_P(GitLabSourceTest, AnIncrementalPullFromTheCursorGetsTheSameSecondsNewIssues) {
  GitLabServer server(ServerOptions(Keyset()));
  AddIssues(server, "acme/roadmap", 10, kStart, 500);
  GitLabSource source(OptionsFor(server), http_);
  PullRequest first;
  first.fields = {"title"};
  first.page_size = 3;
  first.updated_to_ms = kStart + 4'600;  // the sync's start
  auto before = PullAll(source, first);
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_EQ(before->times_by_id.size(), 10u);
  ASSERT_TRUE(before->through.back().has_value());
  const std::int64_t cursor = *before->through.back();

  // Within the cursor's second: two issues written after the first sync read
  // it, and one edited, at the same millisecond as the newest.
  const std::int64_t newest = kStart + 4'500;
  std::vector<std::int64_t> later = AddIssues(server, "acme/roadmap", 2, newest, 0);
  const std::int64_t edited = server.Issues().front().id;
  ASSERT_TRUE(server.EditIssueInPlace(edited, [&](GitLabIssue& issue) {
    issue.title = "edited";
    issue.updated_ms = newest;
  }));

  PullRequest incremental;
  incremental.fields = {"title"};
  incremental.page_size = 2;
  incremental.updated_from_ms = std::min(cursor, newest);
  auto after = PullAll(source, incremental);
  ASSERT_TRUE(after) << after.error().message;
  for (std::int64_t id : later) {
    EXPECT_EQ(after->times_by_id[std::to_string(id)], 1) << id;
  }
  EXPECT_EQ(after->times_by_id[std::to_string(edited)], 1);
  // The same source, within its check: no second look at the token.
  EXPECT_EQ(server.RequestCount("/api/v4/user"), 1u);
  // The lower bound asked for is the cursor's second, floored.
  auto last = server.LastRequest("/api/v4/projects/101/issues");
  ASSERT_TRUE(last);
  bool bounded = false;
  for (const auto& sent : server.requests()) {
    for (const auto& [name, value] : sent.query) {
      if (name == "updated_after" && value == "2024-05-01T10:00:04Z") {
        bounded = true;
      }
    }
  }
  EXPECT_TRUE(bounded);
}

TEST_P(GitLabSourceTest, IssuesChangingWhileTheListPagesAreNeverLost) {
  GitLabServer server(ServerOptions(Keyset()));
  const auto ids = AddIssues(server, "acme/roadmap", 120, kStart, 250);
  // Before some pages, the oldest issues change: they move to the end of the
  // order, which shifts every unread one back by as many places.
  server.OnListRequest([&](std::size_t n) {
    if (n >= 2 && n <= 5) {
      for (std::size_t i = 0; i < 5; ++i) {
        server.UpdateIssue(ids[(n - 2) * 5 + i], [](GitLabIssue& issue) { issue.title += "!"; });
      }
      server.AdvanceClock(std::chrono::seconds(1));
    }
  });
  GitLabSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"title"};
  request.page_size = 10;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  for (std::int64_t id : ids) {
    EXPECT_GE(pulled->times_by_id[std::to_string(id)], 1) << id;
  }
  // Never an older version after a newer one.
  std::map<std::string, std::int64_t> seen;
  for (const Issue& issue : pulled->issues) {
    EXPECT_GE(issue.updated_ms, seen[issue.id]) << issue.id;
    seen[issue.id] = issue.updated_ms;
  }
  // The changed ones came in their last version.
  for (std::size_t i = 0; i < 20; ++i) {
    auto issue = server.GetIssue(ids[i]);
    ASSERT_TRUE(issue);
    EXPECT_EQ(seen[std::to_string(ids[i])], issue->updated_ms);
  }
}

TEST_P(GitLabSourceTest, SlicesReadSideBySideStillGiveEveryIssueOnce) {
  GitLabServer server(ServerOptions(Keyset()));
  const auto ids = AddIssues(server, "acme/roadmap", 300, kStart, 3'300);
  GitLabSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"title"};
  request.page_size = 50;
  request.concurrency = 4;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), ids.size());
  for (const auto& [id, times] : pulled->times_by_id) {
    EXPECT_EQ(times, 1) << id;
  }
  // The probes asked newest first.
  bool desc = false;
  for (const auto& sent : server.requests()) {
    for (const auto& [name, value] : sent.query) {
      desc = desc || (name == "sort" && value == "desc");
    }
  }
  EXPECT_TRUE(desc);
}

TEST_P(GitLabSourceTest, AGroupListsItsProjectsAndSubgroupsButNothingElse) {
  GitLabServer server(ServerOptions(Keyset()));
  std::vector<std::int64_t> roadmap = AddIssues(server, "acme/roadmap", 25, kStart, 1'000);
  std::vector<std::int64_t> api = AddIssues(server, "acme/platform/api", 25, kStart + 500, 1'000);
  AddIssues(server, "secret/vault", 5, kStart, 1'000);  // invisible to the token

  GitLabSource whole(OptionsFor(server, "acme", GitLabScope::kGroup), http_);
  PullRequest request;
  request.fields = {"title", "references"};
  request.page_size = 7;
  auto pulled = PullAll(whole, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  std::vector<std::int64_t> both = roadmap;
  both.insert(both.end(), api.begin(), api.end());
  ExpectEachOnce(*pulled, both);
  std::set<std::string> projects;
  for (const Issue& issue : pulled->issues) {
    ASSERT_EQ(issue.decode_error, "");
    projects.insert(issue.key.substr(0, issue.key.find('#')));
  }
  EXPECT_EQ(projects, (std::set<std::string>{"acme/roadmap", "acme/platform/api"}));
  // Group lists page by offset on every GitLab (no keyset there), by id.
  for (const auto& sent : server.requests()) {
    if (sent.issue_list) {
      EXPECT_THAT(sent.api_path, HasSubstr("/api/v4/groups/10/issues"));
      EXPECT_THAT(sent.target, Not(HasSubstr("pagination=keyset")));
    }
  }

  GitLabSource sub(OptionsFor(server, "acme/platform", GitLabScope::kGroup), http_);
  auto platform = PullAll(sub, request);
  ASSERT_TRUE(platform) << platform.error().message;
  ExpectEachOnce(*platform, api);
}

TEST_P(GitLabSourceTest, LabelsAndStateSelect) {
  GitLabServer server(ServerOptions(Keyset()));
  const auto ids = AddIssues(server, "acme/roadmap", 12, kStart, 1'000);
  ASSERT_TRUE(server.CloseIssue(ids[0]));
  ASSERT_TRUE(server.CloseIssue(ids[1]));
  GitLabOptions options = OptionsFor(server);
  options.labels = {"priority::high", "bug"};
  options.state = "opened";
  GitLabSource source(std::move(options), http_);
  PullRequest request;
  request.fields = {"labels", "state"};
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  // Issues 0, 3, 6, 9 carry both labels; 0 is closed.
  ExpectEachOnce(*pulled, {ids[3], ids[6], ids[9]});
  auto sent = server.LastRequest("/api/v4/projects/101/issues");
  ASSERT_TRUE(sent);
  std::map<std::string, std::string> params(sent->query.begin(), sent->query.end());
  EXPECT_EQ(params["labels"], "priority::high,bug");
  EXPECT_EQ(params["state"], "opened");
}

TEST_P(GitLabSourceTest, AnIdsOnlyPullListsEveryIssueWithoutItsMembers) {
  GitLabServer server(ServerOptions(Keyset()));
  const auto ids = AddIssues(server, "acme/roadmap", 150, kStart, 2'000);
  GitLabSource source(OptionsFor(server), http_);
  PullRequest request;
  request.fields = {"title", "labels"};
  request.ids_only = true;
  request.page_size = 10;  // a sweep asks for the largest pages: 100
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  ExpectEachOnce(*pulled, ids);
  for (const Issue& issue : pulled->issues) {
    EXPECT_TRUE(issue.fields.empty());
    EXPECT_FALSE(issue.key.empty());
  }
  auto sent = server.LastRequest("/api/v4/projects/101/issues");
  ASSERT_TRUE(sent);
  EXPECT_THAT(sent->target, HasSubstr("per_page=100"));
}

TEST(GitLabSource, ASelfManagedInstanceUnderARelativeRoot) {
  GitLabServerOptions options = ServerOptions();
  options.path_prefix = "/gitlab";
  GitLabServer server(options);
  const auto ids = AddIssues(server, "acme/platform/api", 30, kStart, 1'000);
  CpprestHttpClient http;
  GitLabOptions gitlab = OptionsFor(server, "acme/platform/api");
  // Pasted with the API's path: the root is what comes before it.
  gitlab.root = *GitLabRootUrl(server.base_url() + "/api/v4/");
  EXPECT_EQ(gitlab.root, server.base_url());
  GitLabSource source(std::move(gitlab), http);
  PullRequest request;
  request.fields = {"title"};
  request.page_size = 8;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  ExpectEachOnce(*pulled, ids);
  EXPECT_EQ(pulled->issues.front().key, "acme/platform/api#1");
}

TEST(GitLabSource, WhoAmINamesTheUserForEveryKindOfToken) {
  GitLabServer server(ServerOptions());
  CpprestHttpClient http;
  struct Case {
    std::string_view token;
    std::string path;
    GitLabScope scope;
    std::string login;
  };
  for (const Case& c :
       {Case{kGitLabToken, "acme/roadmap", GitLabScope::kProject, "sync.bot"},
        Case{kGitLabOAuthToken, "acme", GitLabScope::kGroup, "sync.bot"},
        Case{kGitLabApiToken, "acme/platform/api", GitLabScope::kProject, "sync.bot"},
        Case{kGitLabProjectToken, "acme/roadmap", GitLabScope::kProject, "project_101_bot_3f9c1a"},
        Case{kGitLabGroupToken, "acme/platform", GitLabScope::kGroup, "group_10_bot_8e2d4b"}}) {
    SCOPED_TRACE(c.login + " " + c.path);
    GitLabSource source(OptionsFor(server, c.path, c.scope, c.token), http);
    auto me = source.WhoAmI();
    ASSERT_TRUE(me) << me.error().message;
    EXPECT_EQ(me->login, c.login);
    EXPECT_EQ(me->projects, c.scope == GitLabScope::kProject ? 1 : -1);
  }
  GitLabSource source(OptionsFor(server), http);
  auto me = source.WhoAmI();
  ASSERT_TRUE(me);
  EXPECT_EQ(me->name, "Sync Bot");
  // The check is what a session keeps: the user and the project's id.
  auto session = source.Session();
  ASSERT_TRUE(session);
  EXPECT_THAT(session->data, HasSubstr("\"id\":101"));
  EXPECT_THAT(session->data, HasSubstr("sync.bot"));
  EXPECT_THAT(session->data, Not(HasSubstr(std::string(kGitLabToken))));
}

// The error of the first call a connection makes, for each way a token or
// path can be wrong; the token never shows.
Error CheckFails(GitLabServer& server, HttpClient& http, std::string path, GitLabScope scope,
                 std::string_view token) {
  GitLabSource source(OptionsFor(server, std::move(path), scope, token), http);
  auto me = source.WhoAmI();
  EXPECT_FALSE(me);
  if (me) {
    return Error{ErrorCode::kConfig, ""};
  }
  // A pull without a session checks the same way.
  PullRequest request;
  auto pulled = PullAll(source, request);
  EXPECT_FALSE(pulled);
  if (!pulled) {
    EXPECT_EQ(pulled.error().message, me.error().message);
  }
  EXPECT_THAT(me.error().message, HasSubstr("connection acme-gl: "));
  EXPECT_THAT(me.error().message, Not(HasSubstr(std::string(token))));
  EXPECT_THAT(me.error().message, Not(HasSubstr(std::string(token).substr(6))));
  return me.error();
}

TEST(GitLabSource, TheReasonsFor401And403And404) {
  GitLabServer server(ServerOptions());
  CpprestHttpClient http;

  const std::string wrong = "glpat-Wr0ngT0kenWr0ngT0ken";
  Error unknown = CheckFails(server, http, "acme/roadmap", GitLabScope::kProject, wrong);
  EXPECT_EQ(unknown.code, ErrorCode::kAuth);
  EXPECT_THAT(unknown.message, HasSubstr("GitLab did not accept the token (HTTP 401)"));

  GitLabToken revoked;
  revoked.value = "glpat-R3vokedR3vokedR3voked";
  GitLabToken expired;
  expired.value = "glpat-Exp1redExp1redExp1red";
  server.AddToken(revoked);
  server.AddToken(expired);
  ASSERT_TRUE(server.RevokeToken(revoked.value));
  ASSERT_TRUE(server.ExpireToken(expired.value));
  EXPECT_THAT(
      CheckFails(server, http, "acme/roadmap", GitLabScope::kProject, revoked.value).message,
      HasSubstr("revoked"));
  EXPECT_THAT(
      CheckFails(server, http, "acme/roadmap", GitLabScope::kProject, expired.value).message,
      HasSubstr("expired"));

  // read_user reads /user, and nothing else: the scope is named.
  Error scope =
      CheckFails(server, http, "acme/roadmap", GitLabScope::kProject, kGitLabReadUserToken);
  EXPECT_EQ(scope.code, ErrorCode::kAuth);
  EXPECT_THAT(scope.message, HasSubstr("insufficient_scope"));
  EXPECT_THAT(scope.message, HasSubstr("read_api"));

  // A project that does not exist and one the token may not see read alike.
  for (const std::string& path : {std::string("acme/nothing"), std::string("secret/vault")}) {
    Error missing = CheckFails(server, http, path, GitLabScope::kProject, kGitLabToken);
    EXPECT_EQ(missing.code, ErrorCode::kConfig);
    EXPECT_THAT(missing.message, HasSubstr("project \"" + path +
                                           "\" was not found, or the token "
                                           "cannot see it"));
    EXPECT_THAT(missing.message, HasSubstr("(HTTP 404)"));
  }
  // A project token reaches only its own project.
  Error other =
      CheckFails(server, http, "acme/platform/api", GitLabScope::kProject, kGitLabProjectToken);
  EXPECT_THAT(other.message, HasSubstr("a project access token only its own project"));
  Error group = CheckFails(server, http, "nope", GitLabScope::kGroup, kGitLabToken);
  EXPECT_THAT(group.message, HasSubstr("group \"nope\" was not found"));
}

TEST(GitLabSource, ABaseUrlWithoutGitLabsApiSaysSo) {
  // A web server without GitLab behind base_url.
  HttpServer web([](const HttpServerRequest&) {
    return HttpServerResponse::Text(404, "<html>Not Found</html>", "text/html");
  });
  CpprestHttpClient http;
  GitLabOptions options;
  options.connection_name = "acme-gl";
  options.root = web.base_url();
  options.path = "acme/roadmap";
  options.token = Secret(std::string(kGitLabToken));
  GitLabSource source(std::move(options), http);
  auto me = source.WhoAmI();
  ASSERT_FALSE(me);
  EXPECT_EQ(me.error().code, ErrorCode::kConfig);
  EXPECT_THAT(me.error().message, HasSubstr("no GitLab API at " + web.base_url() + "/api/v4"));
  EXPECT_THAT(me.error().message, HasSubstr("check base_url"));
}

TEST(GitLabSource, ASessionSkipsTheCheckSoANoChangeSyncIsOneRequest) {
  GitLabServer server(ServerOptions());
  AddIssues(server, "acme/roadmap", 5, kStart, 1'000);
  CpprestHttpClient http;
  std::optional<TrackerSession> session;
  {
    GitLabSource source(OptionsFor(server), http);
    PullRequest request;
    request.fields = {"title"};
    ASSERT_TRUE(PullAll(source, request));
    session = source.Session();
  }
  ASSERT_TRUE(session);
  server.ClearRequests();
  GitLabSource source(OptionsFor(server), http);
  PullRequest incremental;
  incremental.fields = {"title"};
  incremental.updated_from_ms = kStart + 3'600'000;
  incremental.session = session;
  auto pulled = PullAll(source, incremental);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_TRUE(pulled->issues.empty());
  EXPECT_EQ(server.total_requests(), 1u);
  EXPECT_EQ(server.list_requests(), 1u);
  EXPECT_EQ(source.Session(), session);

  // A session made for another project is not taken for this one.
  server.ClearRequests();
  GitLabSource other(OptionsFor(server, "acme/platform/api"), http);
  incremental.session = session;
  ASSERT_TRUE(PullAll(other, incremental));
  EXPECT_EQ(server.RequestCount("/api/v4/user"), 1u);
  EXPECT_EQ(server.RequestCount("/api/v4/projects/acme%2Fplatform%2Fapi"), 1u);
  EXPECT_THAT(other.Session()->data, HasSubstr("\"id\":102"));
  // Nor is text that is no session of ours.
  server.ClearRequests();
  GitLabSource fresh(OptionsFor(server), http);
  incremental.session = TrackerSession{R"({"time_zone":"Europe/Berlin"})"};
  ASSERT_TRUE(PullAll(fresh, incremental));
  EXPECT_EQ(server.RequestCount("/api/v4/user"), 1u);
}

TEST(GitLabSource, KeysReadEachIssueAndLeaveOutTheGoneOnes) {
  GitLabServer server(ServerOptions());
  const auto ids = AddIssues(server, "acme/roadmap", 6, kStart, 1'000);
  const auto api = AddIssues(server, "acme/platform/api", 2, kStart, 1'000);
  ASSERT_TRUE(server.DeleteIssue(ids[1]));
  auto moved = server.MoveIssue(ids[2], "acme/platform/api");
  ASSERT_TRUE(moved);
  CpprestHttpClient http;
  GitLabSource source(OptionsFor(server), http);
  PullRequest request;
  request.fields = {"title", "state", "moved_to_id"};
  request.keys = {"acme/roadmap#1", "acme/roadmap#2",  "acme/roadmap#3",     "acme/platform/api#3",
                  "RAP-7",          "acme/roadmap#99", "acme/platform/api#1"};
  std::vector<std::optional<std::int64_t>> through;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  std::map<std::string, const Issue*> by_key;
  for (const Issue& issue : pulled->issues) {
    ASSERT_EQ(issue.decode_error, "");
    by_key[issue.key] = &issue;
  }
  // The deleted one (#2) and the one never there (#99) are left out; the
  // key of another tracker is not asked for at all.
  EXPECT_EQ(pulled->issues.size(), 4u);
  ASSERT_TRUE(by_key.contains("acme/roadmap#1"));
  EXPECT_EQ(by_key["acme/roadmap#1"]->id, std::to_string(ids[0]));
  // The moved issue by its old key: closed where it was, pointing at the copy.
  ASSERT_TRUE(by_key.contains("acme/roadmap#3"));
  EXPECT_EQ(by_key["acme/roadmap#3"]->id, std::to_string(ids[2]));
  EXPECT_EQ(by_key["acme/roadmap#3"]->fields.at("state"), Value("closed"));
  EXPECT_EQ(by_key["acme/roadmap#3"]->fields.at("moved_to_id"), Value(moved->id));
  // The copy is a new issue with a new id.
  ASSERT_TRUE(by_key.contains("acme/platform/api#3"));
  EXPECT_EQ(by_key["acme/platform/api#3"]->id, std::to_string(moved->id));
  EXPECT_EQ(by_key["acme/platform/api#1"]->id, std::to_string(api[0]));
  for (const auto& t : pulled->through) {
    EXPECT_FALSE(t.has_value());
  }
  EXPECT_EQ(server.RequestCount("/api/v4/projects/acme%2Froadmap/issues/2"), 1u);
  EXPECT_EQ(server.RequestCount("/api/v4/projects/acme%2Froadmap/issues/99"), 1u);
}

TEST(GitLabSource, A429WithRetryAfterIsWaitedOutByTheClient) {
  GitLabServer server(ServerOptions());
  const auto ids = AddIssues(server, "acme/roadmap", 5, kStart, 1'000);
  Waits waits;
  CpprestHttpClient http(ClientOptions(waits));
  GitLabSource source(OptionsFor(server), http);
  server.InjectFault(GitLabServer::Fault::RateLimited(7, /*with_retry_after=*/true));
  PullRequest request;
  request.fields = {"title"};
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  ExpectEachOnce(*pulled, ids);
  EXPECT_EQ(server.list_requests(), 2u);
  EXPECT_EQ(server.StatusCount(429), 1u);
  auto all = waits.All();
  ASSERT_FALSE(all.empty());
  EXPECT_GE(all.back(), std::chrono::milliseconds(7'000));

  // One that asks for an hour is not waited for: the pull stops and says so.
  server.ClearRequests();
  server.InjectFault(GitLabServer::Fault::RateLimited(3'600, true).Times(10));
  GitLabSource again(OptionsFor(server), http);
  auto refused = PullAll(again, request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(refused.error().retriable);
  EXPECT_THAT(refused.error().message, HasSubstr("asks to wait 3600 s"));
  EXPECT_EQ(server.list_requests(), 1u);
}

TEST(GitLabSource, A429WithoutRetryAfterWaitsForANearResetOnceAndNeverStorms) {
  GitLabServer server(ServerOptions());
  const auto ids = AddIssues(server, "acme/roadmap", 5, kStart, 1'000);
  Waits client_waits;
  CpprestHttpClient http(ClientOptions(client_waits));
  std::vector<std::chrono::milliseconds> own_waits;
  auto options_for = [&] {
    GitLabOptions options = OptionsFor(server);
    options.sleep = [&own_waits](std::chrono::milliseconds wait, std::stop_token) {
      own_waits.push_back(wait);
    };
    return options;
  };
  // The HTTP client tries a 429 four times (with backoff); the reset is near,
  // so the connector waits for it once and asks again.
  const int attempts = HttpRequest{}.max_attempts;
  server.InjectFault(
      GitLabServer::Fault::RateLimited(20, /*with_retry_after=*/false).Times(attempts));
  {
    GitLabSource source(options_for(), http);
    PullRequest request;
    request.fields = {"title"};
    auto pulled = PullAll(source, request);
    ASSERT_TRUE(pulled) << pulled.error().message;
    ExpectEachOnce(*pulled, ids);
    EXPECT_EQ(server.list_requests(), static_cast<std::size_t>(attempts) + 1);
    ASSERT_EQ(own_waits.size(), 1u);
    EXPECT_GE(own_waits[0], std::chrono::milliseconds(18'000));
    EXPECT_LE(own_waits[0], std::chrono::milliseconds(21'000));
  }

  // Still limited after the wait: the pull stops with the reset time, after
  // a bounded number of requests.
  server.ClearRequests();
  own_waits.clear();
  server.InjectFault(GitLabServer::Fault::RateLimited(20, false).Times(1000));
  {
    GitLabSource source(options_for(), http);
    PullRequest request;
    auto pulled = PullAll(source, request);
    ASSERT_FALSE(pulled);
    EXPECT_EQ(pulled.error().code, ErrorCode::kRateLimited);
    EXPECT_THAT(pulled.error().message, HasSubstr("it resets at 20"));
    EXPECT_EQ(server.list_requests(), 2u * static_cast<std::size_t>(attempts));
    EXPECT_EQ(own_waits.size(), 1u);
  }

  // A reset an hour away is not waited for.
  server.ClearRequests();
  server.ClearFaults();
  own_waits.clear();
  server.InjectFault(GitLabServer::Fault::RateLimited(3'600, false).Times(1000));
  {
    GitLabSource source(options_for(), http);
    PullRequest request;
    auto pulled = PullAll(source, request);
    ASSERT_FALSE(pulled);
    EXPECT_EQ(pulled.error().code, ErrorCode::kRateLimited);
    EXPECT_THAT(pulled.error().message, HasSubstr("it resets at"));
    EXPECT_EQ(server.list_requests(), static_cast<std::size_t>(attempts));
    EXPECT_TRUE(own_waits.empty());
  }
}

TEST(GitLabSource, WaitingForTheResetEndsWhenThePullIsCancelled) {
  GitLabServer server(ServerOptions());
  AddIssues(server, "acme/roadmap", 3, kStart, 1'000);
  Waits client_waits;
  CpprestHttpClient http(ClientOptions(client_waits));
  server.InjectFault(GitLabServer::Fault::RateLimited(60, false).Times(1000));
  std::stop_source stop;
  GitLabOptions options = OptionsFor(server);
  options.sleep = [&stop](std::chrono::milliseconds, std::stop_token token) {
    stop.request_stop();  // cancelled while it waits
    EXPECT_TRUE(token.stop_requested());
  };
  GitLabSource source(std::move(options), http);
  PullRequest request;
  request.stop = stop.get_token();
  auto pulled = PullAll(source, request);
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kCancelled);
}

TEST(GitLabSource, ANextPageLinkOffTheApiIsNeverFollowedWithTheToken) {
  std::atomic<int> elsewhere{0};
  HttpServer recorder([&](const HttpServerRequest&) {
    ++elsewhere;
    return HttpServerResponse::Json(200, "[]");
  });
  for (bool keyset : {true, false}) {
    for (const std::string& link :
         {"<" + recorder.base_url() + "/api/v4/projects/101/issues?page=2>; rel=\"next\"",
          std::string("</admin/users?page=2>; rel=\"next\"")}) {
      SCOPED_TRACE(link + (keyset ? " keyset" : " offset"));
      GitLabServer server(ServerOptions(keyset));
      // Six in one second: more than a page, so the window must go on.
      const auto ids = AddIssues(server, "acme/roadmap", 6, kStart, 0);
      server.InjectFault(GitLabServer::Fault::WithHeaders({{"Link", link}}));
      CpprestHttpClient http;
      GitLabSource source(OptionsFor(server), http);
      PullRequest request;
      request.fields = {"title"};
      request.page_size = 2;
      // The first window starts at that second (a window open below never
      // goes on by token: the next starts at its newest second).
      request.updated_from_ms = kStart;
      auto pulled = PullAll(source, request);
      if (keyset) {
        // Keyset pages say where they go on only in Link: the pull stops.
        ASSERT_FALSE(pulled);
        EXPECT_EQ(pulled.error().code, ErrorCode::kBadResponse);
        EXPECT_THAT(pulled.error().message, HasSubstr("not following it with the token"));
        EXPECT_THAT(pulled.error().message, HasSubstr("connection acme-gl: "));
      } else {
        // Offset pages say it in X-Next-Page too, on the URL we asked.
        ASSERT_TRUE(pulled) << pulled.error().message;
        ExpectEachOnce(*pulled, ids);
      }
      EXPECT_EQ(server.RequestCount("/admin/users"), 0u);
    }
  }
  EXPECT_EQ(elsewhere.load(), 0);
}

TEST(GitLabSource, ALinkOffTheApiThatIsNeverNeededStopsNothing) {
  GitLabServer server(ServerOptions());
  const auto ids = AddIssues(server, "acme/roadmap", 5, kStart, 1'000);
  server.InjectFault(GitLabServer::Fault::WithHeaders(
      {{"Link", "<https://evil.example/api/v4/x>; rel=\"next\""}}));
  CpprestHttpClient http;
  GitLabSource source(OptionsFor(server), http);
  PullRequest request;
  request.page_size = 2;
  auto pulled = PullAll(source, request);
  // One issue a second: each window starts afresh at its second.
  ASSERT_TRUE(pulled) << pulled.error().message;
  ExpectEachOnce(*pulled, ids);
}

TEST(GitLabSource, AGarbledXNextPageStopsThePull) {
  GitLabServer server(ServerOptions(/*keyset=*/false));
  AddIssues(server, "acme/roadmap", 5, kStart, 0);
  server.InjectFault(GitLabServer::Fault::WithHeaders({{"Link", ""}, {"X-Next-Page", "2/../x"}}));
  CpprestHttpClient http;
  GitLabSource source(OptionsFor(server), http);
  PullRequest request;
  request.page_size = 2;
  request.updated_from_ms = kStart;
  auto pulled = PullAll(source, request);
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kBadResponse);
  EXPECT_THAT(pulled.error().message, HasSubstr("X-Next-Page"));
}

TEST(GitLabSource, GitLabsOffsetLimitInOneSecondOfAGroupStopsThePullWithItsMessage) {
  GitLabServerOptions options = ServerOptions();
  options.max_offset = 4;
  GitLabServer server(options);
  AddIssues(server, "acme/roadmap", 10, kStart, 0);
  CpprestHttpClient http;
  GitLabSource source(OptionsFor(server, "acme", GitLabScope::kGroup), http);
  PullRequest request;
  request.page_size = 2;
  auto pulled = PullAll(source, request);
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kBadResponse);
  EXPECT_THAT(pulled.error().message, HasSubstr("maximum allowed offset of 4"));
  EXPECT_THAT(pulled.error().message, HasSubstr("HTTP 405"));
}

TEST(GitLabSource, MisspeltNamesAreReportedAndANewerGitLabsMembersAreNot) {
  GitLabServer server(ServerOptions());
  CpprestHttpClient http;
  const std::vector<std::string> names = {"title",         "tittle",     "weight",
                                          "scoped_labels", "time_stats", "work_item_status"};
  {
    GitLabSource empty(OptionsFor(server), http);
    auto unknown = empty.UnknownFields(names);
    ASSERT_TRUE(unknown) << unknown.error().message;
    EXPECT_EQ(*unknown, (std::vector<std::string>{"tittle", "work_item_status"}));
  }
  const auto ids = AddIssues(server, "acme/roadmap", 3, kStart, 1'000);
  ASSERT_TRUE(server.EditIssueInPlace(ids.back(), [](GitLabIssue& issue) {
    issue.raw_fields["work_item_status"] = Value("In progress");  // as a newer GitLab might add
  }));
  GitLabSource source(OptionsFor(server), http);
  auto unknown = source.UnknownFields(names);
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_EQ(*unknown, (std::vector<std::string>{"tittle"}));
  // Names GitLab documents cost no request at all.
  server.ClearRequests();
  auto known = source.UnknownFields({"title", "labels", "milestone"});
  ASSERT_TRUE(known);
  EXPECT_TRUE(known->empty());
  EXPECT_EQ(server.total_requests(), 0u);
}

TEST(GitLabSource, AnAnswerThatIsNotGitLabsFailsThePullAndAnIssueThatIsNotFailsAlone) {
  GitLabServer server(ServerOptions());
  const auto ids = AddIssues(server, "acme/roadmap", 4, kStart, 1'000);
  ASSERT_TRUE(server.EditIssueInPlace(
      ids[1], [](GitLabIssue& issue) { issue.raw_fields["milestone"] = Value("not an object"); }));
  CpprestHttpClient http;
  GitLabSource source(OptionsFor(server), http);
  PullRequest request;
  request.fields = {"title", "milestone"};
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  ASSERT_EQ(pulled->issues.size(), 4u);
  int bad = 0;
  for (const Issue& issue : pulled->issues) {
    if (!issue.decode_error.empty()) {
      ++bad;
      EXPECT_EQ(issue.id, std::to_string(ids[1]));
      EXPECT_THAT(issue.decode_error, HasSubstr("issue acme/roadmap#2: milestone"));
    }
  }
  EXPECT_EQ(bad, 1);

  server.InjectFault(GitLabServer::Fault::HtmlLoginPage());
  GitLabSource again(OptionsFor(server), http);
  auto login = PullAll(again, request);
  ASSERT_FALSE(login);
  EXPECT_EQ(login.error().code, ErrorCode::kBadResponse);
  server.InjectFault(GitLabServer::Fault::WrongShape());
  GitLabSource wrong(OptionsFor(server), http);
  auto shape = PullAll(wrong, request);
  ASSERT_FALSE(shape);
  EXPECT_THAT(shape.error().message, HasSubstr("not a JSON array"));
}

}  // namespace
}  // namespace boardsync

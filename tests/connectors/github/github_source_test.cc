// GitHubSource against the sample GitHub (tests/support/github/): every
// issue once across several repositories with pull requests mixed in and
// pages capped, seconds holding more issues than a page, changes while
// paging, the no-change sync answered 304 (one request per repository, no
// budget), the rate limits (no request storm, the reset named), the errors a
// user must be able to act on, a hostile Link header, and pulls by key
// (deleted, transferred, pull requests) and of ids only.

#include "connectors/github/github_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "connectors/github/repos.h"
#include "connectors/http/cpprest_http_client.h"
#include "core/time.h"
#include "tests/support/github/github_server.h"
#include "tests/support/http_server.h"

namespace boardsync {
namespace {

using testing::AllOf;
using testing::Contains;
using testing::HasSubstr;
using testing::Not;
using testing::UnorderedElementsAreArray;

constexpr std::int64_t kT0 = 1714557600;  // 2024-05-01T10:00:00Z, seconds

GitHubOptions OptionsFor(const GitHubServer& server, std::vector<std::string> repos,
                         std::string_view token = kGitHubClassicToken) {
  GitHubOptions options;
  options.connection_name = "acme-gh";
  options.api = *GitHubApiRoot(server.base_url());
  options.repos = std::move(repos);
  options.token = Secret(std::string(token));
  options.timeout = std::chrono::milliseconds(5'000);
  options.retry_backoff = std::chrono::milliseconds(10);
  return options;
}

struct Pulled {
  std::vector<Issue> issues;
  std::map<std::string, int> times_by_id;
  std::vector<std::optional<std::int64_t>> through;  // per page
  std::optional<std::int64_t> cursor;                // the newest through_ms
};

Result<Pulled> PullAll(GitHubSource& source, const PullRequest& request) {
  Pulled pulled;
  auto result = source.Pull(request, [&](IssuePage page) -> Result<void> {
    for (Issue& issue : page.issues) {
      ++pulled.times_by_id[issue.id];
      pulled.issues.push_back(std::move(issue));
    }
    pulled.through.push_back(page.through_ms);
    if (page.through_ms) {
      pulled.cursor = std::max(pulled.cursor.value_or(*page.through_ms), *page.through_ms);
    }
    return {};
  });
  if (!result) {
    return std::unexpected(result.error());
  }
  return pulled;
}

// Adds `count` issues to `repo`, `per_second` to each second from `start`,
// with a pull request after every `pr_every` issues (0: none). Returns the
// issues' ids.
std::vector<std::string> Seed(GitHubServer& server, const std::string& repo, int count,
                              std::int64_t start, int per_second = 1, int pr_every = 0) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    const std::int64_t at = start + i / per_second;
    GitHubIssue issue;
    issue.repo = repo;
    issue.title = repo + " issue " + std::to_string(i);
    issue.labels = {i % 2 == 0 ? "bug" : "feature"};
    issue.created_at = at;
    issue.updated_at = at;
    auto added = server.AddIssue(issue);
    EXPECT_TRUE(added) << (added ? "" : added.error().message);
    if (added) {
      ids.push_back(std::to_string(added->id));
    }
    if (pr_every > 0 && i % pr_every == 0) {
      GitHubIssue pr = issue;
      pr.title = "PR " + std::to_string(i);
      EXPECT_TRUE(server.AddPullRequest(pr));
    }
  }
  return ids;
}

// The `since` parameters of the list requests the server recorded.
std::multiset<std::string> Sinces(const GitHubServer& server) {
  std::multiset<std::string> sinces;
  for (const auto& request : server.requests()) {
    const auto at = request.target.find("since=");
    if (request.api_path.ends_with("/issues") && at != std::string::npos) {
      sinces.insert(request.target.substr(at, request.target.find('&', at) - at));
    }
  }
  return sinces;
}

std::size_t NotModified(const GitHubServer& server) {
  std::size_t n = 0;
  for (const auto& request : server.requests()) {
    n += request.status == 304 ? 1 : 0;
  }
  return n;
}

class GitHubSourceTest : public testing::Test {
 protected:
  static GitHubServerOptions Frozen() {
    GitHubServerOptions options;
    options.now = kT0 + 3600;
    return options;
  }

  CpprestHttpClient http_;
};

TEST_F(GitHubSourceTest, AFirstPullReadsEveryIssueOfEveryRepositoryOnceAndNoPullRequest) {
  GitHubServerOptions options = Frozen();
  options.max_per_page = 7;  // GitHub cuts per_page; a short page is no end
  GitHubServer server(options);
  std::vector<std::string> ids = Seed(server, "acme/app", 40, kT0, 2, 3);
  std::vector<std::string> lib = Seed(server, "acme/lib", 25, kT0 + 5, 1, 4);
  ids.insert(ids.end(), lib.begin(), lib.end());

  GitHubSource source(OptionsFor(server, {"acme/app", "acme/lib"}), http_);
  PullRequest request;
  request.fields = {"title", "labels", "state", "user"};
  request.page_size = 250;  // more than GitHub gives
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;

  std::vector<std::string> got;
  for (const auto& [id, times] : pulled->times_by_id) {
    EXPECT_EQ(times, 1) << id;
    got.push_back(id);
  }
  EXPECT_THAT(got, UnorderedElementsAreArray(ids));  // pull requests left out
  for (const Issue& issue : pulled->issues) {
    EXPECT_EQ(issue.decode_error, "");
    EXPECT_THAT(issue.key, AllOf(HasSubstr("acme/"), HasSubstr("#")));
    EXPECT_THAT(issue.url, HasSubstr("https://github.com/acme/"));
    EXPECT_TRUE(issue.fields.at("labels").IsList());
    EXPECT_EQ(*issue.fields.at("user").Find("login"), Value("octocat"));
  }
  // Oldest change first within each repository, one after the other.
  for (std::size_t i = 1; i < pulled->issues.size(); ++i) {
    const Issue& a = pulled->issues[i - 1];
    const Issue& b = pulled->issues[i];
    if (ParseGitHubKey(a.key)->repo == ParseGitHubKey(b.key)->repo) {
      EXPECT_LE(a.updated_ms, b.updated_ms);
    }
  }
  // The watermark holds for the whole connection: no page of acme/app
  // moves it (acme/lib, unread, holds older issues), and at the end it is
  // the newest change handed on, whichever repository had it.
  ASSERT_TRUE(pulled->issues.front().key.starts_with("acme/app#"));
  EXPECT_FALSE(pulled->through.front());
  EXPECT_EQ(pulled->cursor, (kT0 + 29) * 1000);  // acme/lib's newest
  // Every request asked what GitHub needs, capped at 100, and sent the token.
  for (const auto& sent : server.requests()) {
    EXPECT_TRUE(sent.authorization) << sent.target;
    if (sent.api_path.ends_with("/issues") && sent.target.find("page=") == std::string::npos) {
      EXPECT_THAT(sent.target, AllOf(HasSubstr("state=all"), HasSubstr("sort=updated"),
                                     HasSubstr("direction=asc"), HasSubstr("per_page=100")));
    }
  }
}

TEST_F(GitHubSourceTest, TheWatermarkWaitsForEveryRepository) {
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 5, kT0 + 100);  // newer than all of acme/lib
  Seed(server, "acme/lib", 5, kT0);
  GitHubSource source(OptionsFor(server, {"acme/app", "acme/lib"}), http_);
  PullRequest request;
  request.updated_from_ms = kT0 * 1000;
  std::vector<std::pair<std::string, std::optional<std::int64_t>>> pages;
  auto pulled = source.Pull(request, [&](IssuePage page) -> Result<void> {
    pages.emplace_back(page.issues.empty() ? "" : page.issues.front().key, page.through_ms);
    return {};
  });
  ASSERT_TRUE(pulled) << pulled.error().message;
  ASSERT_GE(pages.size(), 3u);
  for (const auto& [key, through] : pages) {
    if (key.starts_with("acme/app#")) {
      EXPECT_FALSE(through) << key;  // acme/lib's older issues were not read yet
    }
  }
  // At the end: the newest change of all, acme/app's.
  EXPECT_EQ(pages.back().second, (kT0 + 104) * 1000);
}

TEST_F(GitHubSourceTest, SecondsHoldingMoreIssuesThanAPageAreReadWholeUnderEitherReadingOfSince) {
  for (bool inclusive : {true, false}) {
    for (int page_size : {2, 3}) {
      SCOPED_TRACE(testing::Message() << "inclusive " << inclusive << ", page " << page_size);
      GitHubServerOptions options = Frozen();
      options.since_inclusive = inclusive;
      options.now = kT0 + 6;
      GitHubServer server(options);
      Seed(server, "acme/app", 3, kT0 + 4);                 // one a second: 4, 5, 6
      std::vector<std::string> crowd = Seed(server, "acme/app", 7, kT0 + 5, 7);  // 7 in second 5
      Seed(server, "acme/app", 4, kT0 + 6, 4, 2);           // 4 and 2 PRs in second 6
      GitHubSource source(OptionsFor(server, {"acme/app"}), http_);
      PullRequest request;
      request.page_size = page_size;
      request.updated_from_ms = (kT0 + 4) * 1000;
      request.updated_to_ms = (kT0 + 6) * 1000;
      auto first = PullAll(source, request);
      ASSERT_TRUE(first) << first.error().message;
      EXPECT_EQ(first->times_by_id.size(), 14u);
      for (const auto& [id, times] : first->times_by_id) {
        EXPECT_EQ(times, 1) << id;
      }
      ASSERT_EQ(first->cursor, (kT0 + 6) * 1000);

      // More issues in the cursor's second, and a change in it: the next
      // pull, from the cursor, finds them.
      auto late = server.AddIssue(GitHubIssue{.repo = "acme/app", .title = "late"});
      ASSERT_TRUE(late);
      ASSERT_TRUE(server.UpdateIssue(std::stoll(crowd[2]), [](GitHubIssue& i) { i.title += "!"; }));
      request.updated_from_ms = first->cursor;
      request.session = source.Session();
      auto next = PullAll(source, request);
      ASSERT_TRUE(next) << next.error().message;
      EXPECT_TRUE(next->times_by_id.contains(std::to_string(late->id)));
      EXPECT_TRUE(next->times_by_id.contains(crowd[2]));
    }
  }
}

TEST_F(GitHubSourceTest, IssuesChangingWhileThePullPagesAreNeverLost) {
  GitHubServerOptions options = Frozen();
  options.now = kT0 + 1000;
  GitHubServer server(options);
  std::vector<std::string> ids = Seed(server, "acme/app", 60, kT0, 1, 5);
  // Before some pages, the oldest issues change: they move to the end.
  server.OnListRequest([&](std::size_t n) {
    if (n >= 2 && n <= 5) {
      for (std::size_t i = 0; i < 4; ++i) {
        server.UpdateIssue(std::stoll(ids[(n - 2) * 4 + i]), [](GitHubIssue& issue) {
          issue.title += " (edited)";
        });
      }
      server.AdvanceClock(1);
    }
  });
  GitHubSource source(OptionsFor(server, {"acme/app"}), http_);
  PullRequest request;
  request.page_size = 10;
  request.fields = {"title"};
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), 60u);
}

// The daemon's incremental sync: from the cursor less the overlap, to the
// sync's start, with the session of the last pull.
PullRequest Incremental(const GitHubSource& source, std::int64_t cursor, std::int64_t now_ms) {
  PullRequest request;
  request.fields = {"title", "labels"};
  request.updated_from_ms = cursor - source.CursorOverlapMs();
  request.updated_to_ms = now_ms;
  request.session = source.Session();
  return request;
}

TEST_F(GitHubSourceTest, ASyncWithNothingNewCostsOneRequestPerRepositoryAnswered304) {
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 30, kT0 + 3000, 1, 4);
  Seed(server, "acme/lib", 10, kT0 + 3100);
  const std::int64_t now_ms = server.Now() * 1000;
  GitHubSource source(OptionsFor(server, {"acme/app", "acme/lib"}), http_);
  PullRequest full;
  full.fields = {"title", "labels"};
  auto first = PullAll(source, full);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(first->cursor);

  // The first incremental sync reads the overlap and keeps each list's ETag.
  server.ClearRequests();
  auto second = PullAll(source, Incremental(source, *first->cursor, now_ms));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->cursor, first->cursor);  // the same newest change: `since` stays
  const std::multiset<std::string> second_sinces = Sinces(server);
  const std::optional<TrackerSession> session = source.Session();
  ASSERT_TRUE(session);
  EXPECT_THAT(session->data, AllOf(HasSubstr("\"login\":\"octocat\""), HasSubstr("etag")));

  // Nothing changed: one request per repository, each answered 304, which
  // costs no budget; the same `since`; nothing handed on, no session to save.
  server.ClearRequests();
  const std::int64_t budget = server.rate_remaining();
  auto third = PullAll(source, Incremental(source, *second->cursor, now_ms));
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_TRUE(third->issues.empty());
  EXPECT_FALSE(third->cursor);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& sent : requests) {
    EXPECT_EQ(sent.status, 304) << sent.target;
    EXPECT_TRUE(sent.if_none_match);
  }
  EXPECT_EQ(NotModified(server), 2u);
  EXPECT_EQ(server.rate_remaining(), budget);
  EXPECT_EQ(Sinces(server), second_sinces);
  EXPECT_EQ(source.Session(), session);

  // A change in one repository: it is read, the other stays a 304.
  server.AdvanceClock(5);
  auto issue = server.Issues().front();
  ASSERT_TRUE(server.UpdateIssue(issue.id, [](GitHubIssue& i) { i.title = "changed"; }));
  server.ClearRequests();
  auto fourth = PullAll(source, Incremental(source, *second->cursor, server.Now() * 1000));
  ASSERT_TRUE(fourth) << fourth.error().message;
  EXPECT_TRUE(fourth->times_by_id.contains(std::to_string(issue.id)));
  EXPECT_EQ(fourth->cursor, server.Now() * 1000);
  EXPECT_EQ(NotModified(server), 1u);
}

TEST_F(GitHubSourceTest, NoETagIsKeptForAnAnswerThatRanPastTheRange) {
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 10, kT0 + 3000);
  Seed(server, "acme/lib", 10, kT0 + 3000);
  GitHubSource source(OptionsFor(server, {"acme/app", "acme/lib"}), http_);
  ASSERT_TRUE(PullAll(source, PullRequest{}));
  // acme/app has an issue newer than the sync's start: dropped for now, so
  // its list's ETag must not be kept (a 304 next time would hide it).
  GitHubIssue late{.repo = "acme/app", .title = "after the start"};
  late.created_at = late.updated_at = kT0 + 3500;
  ASSERT_TRUE(server.AddIssue(late));
  const std::int64_t start_ms = (kT0 + 3400) * 1000;
  const std::int64_t cursor = (kT0 + 3009) * 1000;
  auto second = PullAll(source, Incremental(source, cursor, start_ms));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_THAT(source.Session()->data, Not(HasSubstr("/repos/acme/app/")));
  EXPECT_THAT(source.Session()->data, HasSubstr("/repos/acme/lib/"));

  server.ClearRequests();
  auto third = PullAll(source, Incremental(source, cursor, (kT0 + 3600) * 1000));
  ASSERT_TRUE(third) << third.error().message;
  std::set<std::string> titles;
  for (const Issue& issue : third->issues) {
    titles.insert(issue.key);
  }
  EXPECT_EQ(NotModified(server), 1u);  // acme/lib only
  EXPECT_THAT(titles, Contains("acme/app#11"));
}

TEST_F(GitHubSourceTest, NoETagIsKeptForAFullPageWhoseChangesWouldGoToTheNext) {
  // Ten issues change in one second, a page of ten holds them exactly: that
  // page stays the same when an eleventh changes later (it goes to page 2),
  // so a 304 for it would hide the change for good.
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 20, kT0 + 1000);
  GitHubSource source(OptionsFor(server, {"acme/app"}), http_);
  PullRequest full;
  full.page_size = 10;
  auto first = PullAll(source, full);
  ASSERT_TRUE(first) << first.error().message;
  std::vector<GitHubIssue> issues = server.Issues();
  ASSERT_EQ(issues.size(), 20u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(server.UpdateIssue(issues[i].id, [](GitHubIssue& x) { x.title += " (edited)"; }));
  }
  auto pull = [&](std::int64_t cursor) {
    PullRequest request = Incremental(source, cursor, server.Now() * 1000);
    request.page_size = 10;
    return PullAll(source, request);
  };
  auto second = pull(*first->cursor);
  ASSERT_TRUE(second) << second.error().message;
  // Nothing new since: the overlap is the ten edited issues, a full page
  // with no page after it.
  second = pull(*second->cursor);
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_EQ(second->issues.size(), 10u);
  server.AdvanceClock(1);
  ASSERT_TRUE(server.UpdateIssue(issues[15].id, [](GitHubIssue& x) { x.title = "eleventh"; }));
  for (int round = 0; round < 2; ++round) {
    auto later = pull(*second->cursor);
    ASSERT_TRUE(later) << later.error().message;
    EXPECT_TRUE(later->times_by_id.contains(std::to_string(issues[15].id))) << "round " << round;
  }
}

TEST_F(GitHubSourceTest, ASpentBudgetStopsThePullAfterOneRefusalNamingTheReset) {
  GitHubServer server;  // the real clock
  Seed(server, "acme/app", 30, server.Now() - 100);
  const std::int64_t reset = server.Now() + 3600;
  server.SetRateLimit(5000, 0, reset);
  server.ClearRequests();
  GitHubSource source(OptionsFor(server, {"acme/app"}), http_);
  auto pulled = PullAll(source, PullRequest{});
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(pulled.error().retriable);
  EXPECT_THAT(pulled.error().message,
              AllOf(HasSubstr("connection acme-gh"), HasSubstr("rate limit"),
                    HasSubstr(FormatIsoUtc(reset * 1000))));
  EXPECT_EQ(server.requests().size(), 1u);

  // Spent while paging: the answer that says remaining 0 is the last request.
  server.SetRateLimit(5000, 3, reset);
  server.ClearRequests();
  PullRequest request;
  request.page_size = 5;
  GitHubSource fresh(OptionsFor(server, {"acme/app"}), http_);
  std::size_t pages = 0;
  auto partly = fresh.Pull(request, [&](IssuePage) -> Result<void> {
    ++pages;
    return {};
  });
  ASSERT_FALSE(partly);
  EXPECT_EQ(partly.error().code, ErrorCode::kRateLimited);
  EXPECT_THAT(partly.error().message, HasSubstr(FormatIsoUtc(reset * 1000)));
  EXPECT_EQ(server.requests().size(), 3u);  // /user and two pages; nothing refused
  EXPECT_EQ(pages, 2u);
}

TEST_F(GitHubSourceTest, ANearResetIsWaitedFor) {
  GitHubServer server;  // the real clock
  Seed(server, "acme/app", 5, server.Now() - 100);
  server.SetRateLimit(5000, 0, server.Now() + 1);
  GitHubSource source(OptionsFor(server, {"acme/app"}), http_);
  const auto start = std::chrono::steady_clock::now();
  auto pulled = PullAll(source, PullRequest{});
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), 5u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  // The first answer said the budget is spent; then the pull waited for
  // the reset rather than ask again.
  int refused = 0;
  for (const auto& sent : server.requests()) {
    refused += sent.status == 403 ? 1 : 0;
  }
  EXPECT_EQ(refused, 1);
}

TEST_F(GitHubSourceTest, ASecondaryLimitIsWaitedForOnceWhenShort) {
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 5, kT0);
  GitHubSource source(OptionsFor(server, {"acme/app"}), http_);
  server.ScriptSecondaryLimit(1, 1, 429);
  const auto start = std::chrono::steady_clock::now();
  auto pulled = PullAll(source, PullRequest{});
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), 5u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));

  // Twice in a row, or longer than a minute: the pull stops, naming when.
  for (auto [count, seconds] : {std::pair{2, 1}, std::pair{1, 120}}) {
    server.ClearRequests();
    server.ScriptSecondaryLimit(count, seconds);
    GitHubSource again(OptionsFor(server, {"acme/app"}), http_);
    PullRequest request;
    request.session = source.Session();
    auto refused = PullAll(again, request);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kRateLimited);
    EXPECT_THAT(refused.error().message, HasSubstr("secondary rate limit"));
    EXPECT_EQ(server.requests().size(), static_cast<std::size_t>(count));
  }
}

TEST_F(GitHubSourceTest, ServerErrorsAreRetriedAFewTimes) {
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 5, kT0);
  server.InjectFault(GitHubServer::Fault::ServerError().On("/repos/acme/app/issues").Times(2));
  GitHubSource source(OptionsFor(server, {"acme/app"}), http_);
  auto pulled = PullAll(source, PullRequest{});
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), 5u);

  server.InjectFault(GitHubServer::Fault::ServerError().On("/repos/acme/app/issues").Times(3));
  auto failed = PullAll(source, PullRequest{});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(failed.error().retriable);
}

TEST_F(GitHubSourceTest, ErrorsSayWhatToDo) {
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 3, kT0);
  ASSERT_TRUE(server.AddRepo(GitHubRepo{.full_name = "acme/secret", .is_private = true}));
  constexpr std::string_view kNarrow =
      "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";
  server.AddToken(GitHubToken{.token = std::string(kNarrow),
                              .kind = GitHubTokenKind::kFineGrained,
                              .repos = std::set<std::string>{}});

  // A repository the token cannot see: named, with the permission needed.
  GitHubSource narrow(OptionsFor(server, {"acme/app", "acme/secret"}, kNarrow), http_);
  auto hidden = PullAll(narrow, PullRequest{});
  ASSERT_FALSE(hidden);
  EXPECT_EQ(hidden.error().code, ErrorCode::kAuth);
  EXPECT_THAT(hidden.error().message,
              AllOf(HasSubstr("acme/secret"), HasSubstr("does not exist or the token cannot see it"),
                    HasSubstr("Issues: read"), HasSubstr("404")));
  auto who = narrow.WhoAmI();
  ASSERT_FALSE(who);
  EXPECT_THAT(who.error().message, HasSubstr("acme/secret"));

  // A 403 names the permission GitHub says the endpoint needs.
  GitHubServer::Fault forbidden = GitHubServer::Fault::Status(
      403, R"({"message":"Resource not accessible by personal access token","status":"403"})");
  forbidden.headers.emplace_back("X-Accepted-GitHub-Permissions", "issues=read");
  server.InjectFault(forbidden.On("/repos/acme/app/issues"));
  GitHubSource source(OptionsFor(server, {"acme/app"}), http_);
  auto refused = PullAll(source, PullRequest{});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAuth);
  EXPECT_THAT(refused.error().message,
              AllOf(HasSubstr("Resource not accessible by personal access token"),
                    HasSubstr("issues=read"), HasSubstr("list the issues of acme/app")));

  // A revoked token: 401, with GitHub's words.
  server.RevokeToken(kGitHubClassicToken);
  auto revoked = source.WhoAmI();
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, ErrorCode::kAuth);
  EXPECT_THAT(revoked.error().message,
              AllOf(HasSubstr("did not accept the token"), HasSubstr("Bad credentials")));

  // A base_url that is no GitHub API.
  GitHubOptions wrong = OptionsFor(server, {"acme/app"}, kGitHubFineGrainedToken);
  wrong.api += "/nowhere";
  GitHubSource lost(std::move(wrong), http_);
  auto nowhere = lost.WhoAmI();
  ASSERT_FALSE(nowhere);
  EXPECT_EQ(nowhere.error().code, ErrorCode::kConfig);
  EXPECT_THAT(nowhere.error().message, HasSubstr("check base_url"));
}

TEST_F(GitHubSourceTest, TheTokenCheckNamesTheUserOrTheInstallation) {
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 3, kT0);
  GitHubSource user(OptionsFor(server, {"acme/app"}), http_);
  auto me = user.WhoAmI();
  ASSERT_TRUE(me) << me.error().message;
  EXPECT_EQ(me->login, "octocat");
  EXPECT_EQ(me->projects, 1);
  EXPECT_EQ(me->reach, "the configured repository");

  GitHubSource app(OptionsFor(server, {"acme/app"}, kGitHubInstallationToken), http_);
  auto installation = app.WhoAmI();
  ASSERT_TRUE(installation) << installation.error().message;
  EXPECT_EQ(installation->login, "github-app-installation");
  EXPECT_THAT(installation->name, HasSubstr("GitHub App installation"));
  // And it pulls.
  auto pulled = PullAll(app, PullRequest{});
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), 3u);
}

TEST_F(GitHubSourceTest, ALinkToAnotherHostIsNotFollowedWithTheToken) {
  std::mutex mu;
  std::vector<std::string> elsewhere;
  HttpServer other([&](const HttpServerRequest& request) {
    std::lock_guard lock(mu);
    elsewhere.push_back(request.target + " " +
                        std::string(request.Header("authorization").value_or("")));
    return HttpServerResponse::Json(200, "[]");
  });
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 3, kT0);
  GitHubServer::Fault hostile = GitHubServer::Fault::Status(200, "[]");
  hostile.headers.emplace_back("Link", "<" + other.base_url() +
                                           "/repos/acme/app/issues?page=2>; rel=\"next\"");
  server.InjectFault(hostile.On("/repos/acme/app/issues"));
  GitHubSource source(OptionsFor(server, {"acme/app"}), http_);
  auto pulled = PullAll(source, PullRequest{});
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kBadResponse);
  EXPECT_THAT(pulled.error().message, HasSubstr("not following it with the token"));
  std::lock_guard lock(mu);
  EXPECT_TRUE(elsewhere.empty());
  EXPECT_EQ(other.requests_served(), 0u);
}

TEST_F(GitHubSourceTest, KeysFindIssuesWhereTheyAreAndLeaveOutWhatIsGone) {
  GitHubServer server(Frozen());
  ASSERT_TRUE(server.AddRepo(GitHubRepo{.full_name = "acme/app"}));
  ASSERT_TRUE(server.AddRepo(GitHubRepo{.full_name = "acme/lib"}));
  ASSERT_TRUE(server.AddRepo(GitHubRepo{.full_name = "other/elsewhere"}));
  std::vector<std::string> ids = Seed(server, "acme/app", 5, kT0);  // #1..#5
  ASSERT_TRUE(server.AddPullRequest(GitHubIssue{.repo = "acme/app", .title = "a PR"}));  // #6
  ASSERT_TRUE(server.DeleteIssue(std::stoll(ids[1])));                                // #2
  auto moved = server.TransferIssue(std::stoll(ids[2]), "acme/lib");                  // #3
  ASSERT_TRUE(moved);
  ASSERT_TRUE(server.TransferIssue(std::stoll(ids[3]), "other/elsewhere"));          // #4
  GitHubSource source(OptionsFor(server, {"acme/app", "acme/lib"}), http_);
  PullRequest request;
  request.fields = {"title"};
  request.keys = {"acme/app#1", "acme/app#2", "acme/app#3", "acme/app#4",
                  "acme/app#6", "acme/app#99", "other/elsewhere#1", "RAP-1", "ACME/APP#5"};
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  std::vector<std::string> keys;
  for (const Issue& issue : pulled->issues) {
    EXPECT_EQ(issue.decode_error, "") << issue.key;
    keys.push_back(issue.key);
  }
  // Deleted (410), gone elsewhere, a pull request, unknown: left out; the
  // transferred one under its new key; keys as the config spells them.
  EXPECT_THAT(keys, UnorderedElementsAreArray(
                        {std::string("acme/app#1"), GitHubKey("acme/lib", moved->number),
                         std::string("acme/app#5")}));
  for (const auto& through : pulled->through) {
    EXPECT_FALSE(through);
  }
  EXPECT_EQ(server.RequestCount("/repos/other/elsewhere/issues/1"), 0u);
}

TEST_F(GitHubSourceTest, AnIdsOnlyPullListsWhatTheFilterSelects) {
  GitHubServer server(Frozen());
  std::vector<std::string> ids = Seed(server, "acme/app", 12, kT0, 1, 3);
  ASSERT_TRUE(server.CloseIssue(std::stoll(ids[0]), "not_planned"));
  ASSERT_TRUE(server.CloseIssue(std::stoll(ids[5])));
  GitHubOptions options = OptionsFor(server, {"acme/app"});
  options.state = "open";
  options.labels = {"bug"};
  GitHubSource source(std::move(options), http_);
  PullRequest request;
  request.ids_only = true;
  request.fields = {"title"};
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  std::set<std::string> got;
  for (const Issue& issue : pulled->issues) {
    EXPECT_TRUE(issue.fields.empty());
    got.insert(issue.id);
  }
  std::set<std::string> want;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i % 2 == 0 && i != 0 && i != 5) {  // open bugs
      want.insert(ids[i]);
    }
  }
  EXPECT_EQ(got, want);
  auto list = server.LastRequest();
  ASSERT_TRUE(list);
  EXPECT_THAT(list->target, AllOf(HasSubstr("state=open"), HasSubstr("labels=bug"),
                                  Not(HasSubstr("since="))));
}

TEST_F(GitHubSourceTest, SlicesOfAFullPassStillGiveEveryIssueOnce) {
  GitHubServerOptions options = Frozen();
  options.now = kT0 + 10'000;
  GitHubServer server(options);
  std::vector<std::string> ids = Seed(server, "acme/app", 150, kT0, 1, 7);
  std::vector<std::string> lib = Seed(server, "acme/lib", 50, kT0 + 20, 3);
  GitHubSource source(OptionsFor(server, {"acme/app", "acme/lib"}), http_);
  PullRequest request;
  request.page_size = 20;
  request.concurrency = 4;
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), ids.size() + lib.size());
  for (const auto& [id, times] : pulled->times_by_id) {
    EXPECT_EQ(times, 1) << id;
  }
}

TEST_F(GitHubSourceTest, AWrongTokenNeverShowsInAnError) {
  constexpr std::string_view kCanary = "ghp_CanaryCanaryCanaryCanaryCanary0123";
  GitHubServer server(Frozen());
  Seed(server, "acme/app", 2, kT0);
  GitHubSource source(OptionsFor(server, {"acme/app"}, kCanary), http_);
  std::vector<std::string> messages;
  auto who = source.WhoAmI();
  ASSERT_FALSE(who);
  messages.push_back(who.error().message);
  auto pulled = PullAll(source, PullRequest{});
  ASSERT_FALSE(pulled);
  messages.push_back(pulled.error().message);
  // An answer that echoes the token back.
  server.InjectFault(GitHubServer::Fault::Status(
                         403, R"({"message":"token )" + std::string(kCanary) + R"( is blocked"})")
                         .On("/user"));
  auto echoed = source.WhoAmI();
  ASSERT_FALSE(echoed);
  messages.push_back(echoed.error().message);
  for (const std::string& message : messages) {
    EXPECT_THAT(message, Not(HasSubstr(std::string(kCanary)))) << message;
    EXPECT_THAT(message, Not(HasSubstr("CanaryCanary"))) << message;
  }
}

}  // namespace
}  // namespace boardsync

namespace boardsync {
namespace {

// A project with a field of every kind, issues 1 and 2 of acme/app on it.
struct ProjectFixture {
  explicit ProjectFixture(bool owner_is_org = true, std::string owner = "acme")
      : server([] {
          GitHubServerOptions options;
          options.now = kT0 + 3600;
          return options;
        }()) {
    ids = Seed(server, owner + "/app", 5, kT0 + 3000, 1, 2);
    std::vector<GitHubProjectField> fields;
    fields.push_back({.name = "Priority", .type = GitHubFieldType::kSingleSelect,
                      .options = {"P0", "P1", "P2"}});
    fields.push_back({.name = "Size", .type = GitHubFieldType::kNumber});
    fields.push_back({.name = "Notes", .type = GitHubFieldType::kText});
    fields.push_back({.name = "Target", .type = GitHubFieldType::kDate});
    GitHubProjectField iteration{.name = "Iteration", .type = GitHubFieldType::kIteration};
    iteration.iterations = {{"Iteration 1", "2024-04-22", 14, true},
                            {"Iteration 2", "2024-05-06", 14, false}};
    fields.push_back(iteration);
    auto project = server.AddProject(owner, 7, "Roadmap", fields, owner_is_org);
    EXPECT_TRUE(project) << (project ? "" : project.error().message);
    for (int i : {0, 1}) {
      EXPECT_TRUE(server.AddProjectItem(owner, 7, std::stoll(ids[i])));
    }
    auto set = [&](int i, std::string_view field, GitHubFieldValue value) {
      auto done = server.SetFieldValue(owner, 7, std::stoll(ids[i]), field, value);
      EXPECT_TRUE(done) << (done ? "" : done.error().message);
    };
    set(0, "Priority", GitHubFieldValue::Text("P1"));
    set(0, "Size", GitHubFieldValue::Number(3));
    set(0, "Notes", GitHubFieldValue::Text("needs design"));
    set(0, "Target", GitHubFieldValue::Text("2024-05-20"));
    set(0, "Iteration", GitHubFieldValue::Text("Iteration 2"));
    set(1, "Size", GitHubFieldValue::Number(0.5));
  }

  GitHubOptions Options(std::string owner = "acme", std::string_view token = kGitHubClassicToken) {
    GitHubOptions options = OptionsFor(server, {owner + "/app"}, token);
    options.project = GitHubProject{owner, 7};
    return options;
  }

  GitHubServer server;
  std::vector<std::string> ids;
};

std::size_t GraphQlRequests(const GitHubServer& server) {
  std::size_t n = 0;
  for (const auto& request : server.requests()) {
    n += request.method == "POST" ? 1 : 0;
  }
  return n;
}

TEST(GitHubProjectTest, TheMappingReadsTheProjectsFieldsByName) {
  for (bool org : {true, false}) {
    SCOPED_TRACE(org ? "an organization's project" : "a user's project");
    const std::string owner = org ? "acme" : "octocat";
    ProjectFixture fixture(org, owner);
    CpprestHttpClient http;
    GitHubSource source(fixture.Options(owner), http);
    PullRequest request;
    request.fields = {"title", "Priority", "Size", "Notes", "Target", "Iteration", "Missing"};
    auto pulled = PullAll(source, request);
    ASSERT_TRUE(pulled) << pulled.error().message;
    ASSERT_EQ(pulled->issues.size(), 5u);
    std::map<std::string, Value::Object> by_id;
    for (const Issue& issue : pulled->issues) {
      by_id[issue.id] = issue.fields;
    }
    const Value::Object& first = by_id[fixture.ids[0]];
    EXPECT_EQ(first.at("title"), Value(owner + "/app issue 0"));
    EXPECT_EQ(first.at("Priority"), Value("P1"));
    EXPECT_EQ(first.at("Size").AsNumber(), 3.0);
    EXPECT_EQ(first.at("Notes"), Value("needs design"));
    EXPECT_EQ(first.at("Target"), Value("2024-05-20"));
    EXPECT_EQ(first.at("Iteration"), Value("Iteration 2"));
    EXPECT_EQ(first.at("Missing"), Value());
    const Value::Object& second = by_id[fixture.ids[1]];
    EXPECT_EQ(second.at("Size"), Value(0.5));
    EXPECT_EQ(second.at("Priority"), Value());  // on the project, no value
    const Value::Object& off = by_id[fixture.ids[4]];  // not on the project
    EXPECT_EQ(off.at("Size"), Value());
    EXPECT_EQ(off.at("Priority"), Value());
    // The project once, then one query for the page's issues.
    EXPECT_EQ(GraphQlRequests(fixture.server), 2u);
  }
}

TEST(GitHubProjectTest, ANoChangeSyncStillCostsOne304PerRepositoryAndNoGraphQl) {
  ProjectFixture fixture;
  CpprestHttpClient http;
  GitHubSource source(fixture.Options(), http);
  PullRequest full;
  full.fields = {"title", "Priority"};
  auto first = PullAll(source, full);
  ASSERT_TRUE(first) << first.error().message;
  const std::int64_t now_ms = fixture.server.Now() * 1000;
  PullRequest again = Incremental(source, *first->cursor, now_ms);
  again.fields = full.fields;
  ASSERT_TRUE(PullAll(source, again));
  fixture.server.ClearRequests();
  PullRequest quiet = Incremental(source, *first->cursor, now_ms);
  quiet.fields = full.fields;
  auto third = PullAll(source, quiet);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(fixture.server.requests().size(), 1u);
  EXPECT_EQ(NotModified(fixture.server), 1u);
}

TEST(GitHubProjectTest, TestConnectionNamesFieldsTheProjectLacks) {
  ProjectFixture fixture;
  CpprestHttpClient http;
  GitHubSource source(fixture.Options(), http);
  auto unknown = source.UnknownFields({"title", "Priority", "Sizes", "milestone", "Status!"});
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_THAT(*unknown, testing::ElementsAre("Sizes", "Status!"));
  // Without a project, every name that is no member is unknown.
  GitHubSource plain(OptionsFor(fixture.server, {"acme/app"}), http);
  auto without = plain.UnknownFields({"title", "Priority"});
  ASSERT_TRUE(without);
  EXPECT_THAT(*without, testing::ElementsAre("Priority"));
}

TEST(GitHubProjectTest, AMissingProjectOrAMissingScopeIsNamed) {
  ProjectFixture fixture;
  CpprestHttpClient http;
  GitHubOptions wrong = fixture.Options();
  wrong.project = GitHubProject{"acme", 8};
  GitHubSource missing(std::move(wrong), http);
  PullRequest request;
  request.fields = {"Priority"};
  auto pulled = PullAll(missing, request);
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kConfig);
  EXPECT_THAT(pulled.error().message,
              AllOf(HasSubstr("project 8 of acme was not found"), HasSubstr("read:project")));

  constexpr std::string_view kNoProjects = "ghp_NoProjectScope0000000000000000000000";
  fixture.server.AddToken(GitHubToken{.token = std::string(kNoProjects), .scopes = {"repo"}});
  GitHubSource narrow(fixture.Options("acme", kNoProjects), http);
  auto refused = PullAll(narrow, request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAuth);
  EXPECT_THAT(refused.error().message, HasSubstr("read:project"));
}

TEST(GitHubProjectTest, ASpentGraphQlBudgetStopsThePullNamingIt) {
  ProjectFixture fixture;
  fixture.server.SetGraphQLRateLimit(5000, 0, kT0 + 7200);
  CpprestHttpClient http;
  GitHubSource source(fixture.Options(), http);
  PullRequest request;
  request.fields = {"Priority"};
  auto pulled = PullAll(source, request);
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kRateLimited);
  EXPECT_THAT(pulled.error().message, HasSubstr("GraphQL rate limit"));
  EXPECT_LE(GraphQlRequests(fixture.server), 1u);
}

}  // namespace
}  // namespace boardsync

namespace boardsync {
namespace {

TEST(GitHubEnterpriseTest, AnApiUnderApiV3IsPagedByItsLinksAndItsProjectsReadAtApiGraphql) {
  GitHubServerOptions options;
  options.path_prefix = "/api/v3";
  options.now = kT0 + 100;
  options.max_per_page = 3;
  GitHubServer server(options);
  std::vector<std::string> ids = Seed(server, "platform/infra", 11, kT0 + 10, 11, 4);  // one second
  ASSERT_TRUE(server.AddProject("platform", 2, "Ops",
                                {{.name = "Size", .type = GitHubFieldType::kNumber}}));
  ASSERT_TRUE(server.AddProjectItem("platform", 2, std::stoll(ids[3])));
  ASSERT_TRUE(server.SetFieldValue("platform", 2, std::stoll(ids[3]), "Size",
                                   GitHubFieldValue::Number(8)));
  CpprestHttpClient http;
  GitHubOptions github = OptionsFor(server, {"platform/infra"});
  EXPECT_THAT(github.api, testing::EndsWith("/api/v3"));
  github.project = GitHubProject{"platform", 2};
  GitHubSource source(std::move(github), http);
  PullRequest request;
  request.fields = {"title", "Size"};
  auto pulled = PullAll(source, request);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->times_by_id.size(), 11u);
  for (const auto& [id, times] : pulled->times_by_id) {
    EXPECT_EQ(times, 1) << id;
  }
  for (const Issue& issue : pulled->issues) {
    EXPECT_EQ(issue.fields.at("Size"), issue.id == ids[3] ? Value(8) : Value()) << issue.key;
  }
  // One second held more than a page: GitHub's links were followed, on the API.
  bool followed = false;
  for (const auto& sent : server.requests()) {
    followed = followed || sent.api_path.starts_with("/repositories/");
  }
  EXPECT_TRUE(followed);
}

TEST(GitHubCancelTest, AStoppedPullEndsWithoutWaitingForTheReset) {
  GitHubServer server;  // the real clock
  Seed(server, "acme/app", 3, server.Now() - 100);
  server.SetRateLimit(5000, 0, server.Now() + 4);  // near: waited for
  CpprestHttpClient http;
  GitHubSource source(OptionsFor(server, {"acme/app"}), http);
  std::stop_source stop;
  PullRequest request;
  request.stop = stop.get_token();
  std::jthread stopper([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  auto pulled = PullAll(source, request);
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, ErrorCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

}  // namespace
}  // namespace boardsync

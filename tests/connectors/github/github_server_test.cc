// Tests of the sample GitHub server (tests/support/github/github_server.h)
// over real loopback HTTP with a plain client, so that the GitHub
// connector's tests can trust what it serves: tokens, list filters and
// order, Link paging, pull requests among issues, ETag/304 and the budget,
// primary and secondary limits, transfers and deletions, and GraphQL's
// Projects v2 answers and mutations.

#include "tests/support/github/github_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "connectors/common/next_link.h"
#include "connectors/http/json.h"
#include "core/time.h"
#include "tests/support/http_test_client.h"

namespace boardsync {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::int64_t kT0 = 1714557600;  // 2024-05-01T10:00:00Z

Value MustParse(const std::string& text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text.substr(0, 300);
  return parsed ? *parsed : Value();
}

std::string Bearer(std::string_view token) { return "Bearer " + std::string(token); }

// A client for one server: paths without the prefix; every request carries
// the classic token unless told otherwise.
class Api {
 public:
  explicit Api(GitHubServer& server)
      : server_(server),
        client_(server.base_url()),
        prefix_(server.base_url().substr(server.server().base_url().size())) {}

  HttpTestResponse Get(std::string_view path, const Params& params = {},
                       std::optional<std::string> authorization = std::nullopt,
                       HttpServerHeaders extra = {}) {
    return client_.Get(BuildTarget(prefix_ + std::string(path), params),
                       Headers(authorization, std::move(extra)));
  }
  // GET of an absolute URL on this server (a Link or Location target).
  HttpTestResponse GetUrl(std::string_view url, HttpServerHeaders extra = {}) {
    std::string root = server_.server().base_url();
    EXPECT_TRUE(url.starts_with(root)) << url;
    return client_.Get(url.substr(root.size()), Headers(std::nullopt, std::move(extra)));
  }
  HttpTestResponse GraphQL(const Value& body,
                           std::optional<std::string> authorization = std::nullopt) {
    HttpServerHeaders headers = Headers(authorization, {{"Content-Type", "application/json"}});
    std::string root = server_.server().base_url();
    return client_.Send("POST", server_.graphql_url().substr(root.size()), headers, body.ToJson());
  }

 private:
  HttpServerHeaders Headers(const std::optional<std::string>& authorization,
                            HttpServerHeaders extra) const {
    HttpServerHeaders headers{{"Accept", "application/vnd.github+json"},
                              {"X-GitHub-Api-Version", "2022-11-28"}};
    std::string value = authorization.value_or(Bearer(kGitHubClassicToken));
    if (!value.empty()) {
      headers.emplace_back("Authorization", value);
    }
    for (auto& h : extra) {
      headers.push_back(std::move(h));
    }
    return headers;
  }

  GitHubServer& server_;
  HttpTestClient client_;
  std::string prefix_;
};

GitHubServerOptions Frozen(GitHubServerOptions options = {}) {
  options.now = kT0;
  return options;
}

std::vector<std::int64_t> Numbers(const Value& page) {
  std::vector<std::int64_t> out;
  if (page.IsList()) {
    for (const Value& issue : page.AsList()) {
      const Value* n = issue.Find("number");
      out.push_back(n && n->IsInt() ? n->AsInt() : -1);
    }
  }
  return out;
}

std::string HeaderOr(const HttpTestResponse& r, std::string_view name) {
  return std::string(r.Header(name).value_or(""));
}

// n issues in acme/app, created and updated a minute apart from kT0.
std::vector<GitHubIssueRef> AddMinuteApart(GitHubServer& server, int n,
                                           std::string repo = "acme/app") {
  std::vector<GitHubIssueRef> refs;
  for (int i = 0; i < n; ++i) {
    GitHubIssue issue;
    issue.repo = repo;
    issue.title = "Issue " + std::to_string(i + 1);
    issue.created_at = kT0 + i * 60;
    auto ref = server.AddIssue(issue);
    EXPECT_TRUE(ref.has_value());
    refs.push_back(ref.value_or(GitHubIssueRef{}));
  }
  return refs;
}

// ---------------------------------------------------------------------------
// Tokens and identity

TEST(GitHubServerTest, TokensAreShapedLikeRealOnes) {
  EXPECT_TRUE(kGitHubClassicToken.starts_with("ghp_"));
  EXPECT_EQ(kGitHubClassicToken.size(), 40u);
  EXPECT_TRUE(kGitHubFineGrainedToken.starts_with("github_pat_"));
  EXPECT_EQ(kGitHubFineGrainedToken.size(), 93u);
  EXPECT_TRUE(kGitHubInstallationToken.starts_with("ghs_"));
  EXPECT_EQ(kGitHubInstallationToken.size(), 40u);
}

TEST(GitHubServerTest, UserAnswersPerTokenKind) {
  GitHubServer server(Frozen());
  Api api(server);

  auto me = api.Get("/user");
  ASSERT_EQ(me.status, 200) << me.body;
  Value user = MustParse(me.body);
  EXPECT_EQ(user.StringOr("login"), "octocat");
  EXPECT_EQ(user.StringOr("name"), "The Octocat");
  EXPECT_EQ(user.StringOr("email"), "octocat@github.com");
  EXPECT_EQ(user.StringOr("type"), "User");
  EXPECT_FALSE(user.StringOr("node_id").empty());
  EXPECT_EQ(HeaderOr(me, "x-oauth-scopes"), "repo, read:org, read:project");
  EXPECT_TRUE(me.Header("x-accepted-oauth-scopes").has_value());

  // "token <t>" works too; so does the fine-grained token (no scope headers).
  EXPECT_EQ(api.Get("/user", {}, "token " + std::string(kGitHubClassicToken)).status, 200);
  auto fine = api.Get("/user", {}, Bearer(kGitHubFineGrainedToken));
  EXPECT_EQ(fine.status, 200);
  EXPECT_FALSE(fine.Header("x-oauth-scopes").has_value());

  auto installation = api.Get("/user", {}, Bearer(kGitHubInstallationToken));
  EXPECT_EQ(installation.status, 403);
  EXPECT_EQ(MustParse(installation.body).StringOr("message"),
            "Resource not accessible by integration");

  for (std::string auth : {std::string(""), Bearer("ghp_wrongwrongwrongwrongwrongwrongwrong1"),
                           "Basic " + std::string(kGitHubClassicToken)}) {
    auto refused = api.Get("/user", {}, auth);
    EXPECT_EQ(refused.status, 401) << auth;
    EXPECT_EQ(refused.body,
              R"({"documentation_url":"https://docs.github.com/rest","message":"Bad credentials","status":"401"})");
    EXPECT_FALSE(refused.Header("x-ratelimit-remaining").has_value());
  }
  server.RevokeToken(kGitHubClassicToken);
  EXPECT_EQ(api.Get("/user").status, 401);

  // The log never holds the token, only whether one was sent.
  for (const auto& r : server.requests()) {
    EXPECT_EQ(r.target.find("ghp_"), std::string::npos);
  }
  EXPECT_TRUE(server.requests().front().authorization);
}

TEST(GitHubServerTest, RepositoriesAndPerTokenAccess) {
  GitHubServer server(Frozen());
  ASSERT_TRUE(server.AddRepo({"acme/app", false, 0, true}).has_value());
  auto secret_id = server.AddRepo({"acme/secret", true, 4242, true});
  ASSERT_EQ(secret_id.value_or(0), 4242);
  EXPECT_FALSE(server.AddRepo({"acme/app"}).has_value());
  GitHubToken narrow;
  narrow.token = "ghp_NarrowNarrowNarrowNarrowNarrowNarro1";
  narrow.repos = std::set<std::string>{};
  server.AddToken(narrow);
  Api api(server);

  auto repo = api.Get("/repos/acme/secret");
  ASSERT_EQ(repo.status, 200) << repo.body;
  Value r = MustParse(repo.body);
  EXPECT_EQ(r.StringOr("full_name"), "acme/secret");
  EXPECT_EQ(r.Find("id")->AsInt(), 4242);
  EXPECT_TRUE(r.Find("private")->AsBool());
  EXPECT_EQ(r.Find("owner")->StringOr("login"), "acme");
  EXPECT_EQ(r.Find("owner")->StringOr("type"), "Organization");
  EXPECT_TRUE(r.Find("permissions")->Find("pull")->AsBool());
  EXPECT_EQ(api.Get("/repositories/4242").status, 200);

  // The narrow token sees the public repo, not the private one: 404, as GitHub hides it.
  EXPECT_EQ(api.Get("/repos/acme/app", {}, Bearer(narrow.token)).status, 200);
  auto hidden = api.Get("/repos/acme/secret/issues", {}, Bearer(narrow.token));
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(MustParse(hidden.body).StringOr("message"), "Not Found");
  EXPECT_EQ(api.Get("/repos/acme/nothing").status, 404);

  // Installation tokens list their repositories; others may not.
  auto listed = api.Get("/installation/repositories", {}, Bearer(kGitHubInstallationToken));
  ASSERT_EQ(listed.status, 200) << listed.body;
  Value l = MustParse(listed.body);
  EXPECT_EQ(l.Find("total_count")->AsInt(), 2);
  EXPECT_EQ(l.Find("repositories")->AsList().size(), 2u);
  EXPECT_EQ(api.Get("/installation/repositories").status, 403);
}

// ---------------------------------------------------------------------------
// Lists

TEST(GitHubServerTest, ListShapeHoldsGitHubsMembers) {
  GitHubServer server(Frozen());
  GitHubIssue issue;
  issue.repo = "acme/app";
  issue.title = "Found a bug";
  issue.body = "It **breaks**";
  issue.labels = {"bug", "p1"};
  issue.assignees = {"hubot", "monalisa"};
  issue.milestone = "v1.0";
  issue.issue_type = "Bug";
  issue.created_at = kT0;
  auto ref = server.AddIssue(issue);
  ASSERT_TRUE(ref.has_value());
  Api api(server);

  auto response = api.Get("/repos/acme/app/issues");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(HeaderOr(response, "content-type"), "application/json; charset=utf-8");
  EXPECT_FALSE(response.Header("link").has_value());
  Value page = MustParse(response.body);
  ASSERT_EQ(page.AsList().size(), 1u);
  const Value& i = page.AsList()[0];
  EXPECT_EQ(i.Find("id")->AsInt(), ref->id);
  EXPECT_EQ(i.StringOr("node_id"), ref->node_id);
  EXPECT_TRUE(ref->node_id.starts_with("I_kwDO"));
  EXPECT_EQ(i.Find("number")->AsInt(), 1);
  EXPECT_EQ(i.StringOr("html_url"), "https://github.com/acme/app/issues/1");
  EXPECT_EQ(i.StringOr("url"), server.base_url() + "/repos/acme/app/issues/1");
  EXPECT_EQ(i.StringOr("repository_url"), server.base_url() + "/repos/acme/app");
  EXPECT_EQ(i.StringOr("title"), "Found a bug");
  EXPECT_EQ(i.StringOr("body"), "It **breaks**");
  EXPECT_EQ(i.StringOr("state"), "open");
  EXPECT_TRUE(i.Find("state_reason")->IsNull());
  EXPECT_EQ(i.StringOr("created_at"), "2024-05-01T10:00:00Z");
  EXPECT_EQ(i.StringOr("updated_at"), "2024-05-01T10:00:00Z");
  EXPECT_TRUE(i.Find("closed_at")->IsNull());
  EXPECT_EQ(i.Find("user")->StringOr("login"), "octocat");
  EXPECT_EQ(i.Find("user")->Find("name"), nullptr);
  EXPECT_EQ(i.Find("user")->Find("email"), nullptr);
  ASSERT_EQ(i.Find("labels")->AsList().size(), 2u);
  const Value& label = i.Find("labels")->AsList()[0];
  EXPECT_EQ(label.StringOr("name"), "bug");
  EXPECT_EQ(label.StringOr("color").size(), 6u);
  EXPECT_TRUE(label.Find("default")->IsBool());
  EXPECT_TRUE(label.Find("id")->IsInt());
  EXPECT_EQ(i.Find("assignee")->StringOr("login"), "hubot");
  EXPECT_EQ(i.Find("assignees")->AsList().size(), 2u);
  EXPECT_EQ(i.Find("milestone")->StringOr("title"), "v1.0");
  EXPECT_EQ(i.Find("milestone")->Find("number")->AsInt(), 1);
  EXPECT_EQ(i.Find("type")->StringOr("name"), "Bug");
  EXPECT_EQ(i.Find("reactions")->Find("total_count")->AsInt(), 0);
  EXPECT_EQ(i.Find("pull_request"), nullptr);
  for (const char* key : {"labels_url", "comments_url", "events_url", "timeline_url", "locked",
                          "comments", "author_association", "active_lock_reason",
                          "performed_via_github_app", "closed_by"}) {
    EXPECT_NE(i.Find(key), nullptr) << key;
  }

  // A body-less issue says null; the same issue by number answers alone.
  auto one = api.Get("/repos/acme/app/issues/1");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(MustParse(one.body), i);
  EXPECT_TRUE(one.Header("last-modified").has_value());
}

TEST(GitHubServerTest, StateLabelsSortAndDirection) {
  GitHubServer server(Frozen());
  auto refs = AddMinuteApart(server, 5);
  server.EditIssueInPlace(refs[0].id, [](GitHubIssue& i) { i.labels = {"bug", "ui"}; });
  server.EditIssueInPlace(refs[1].id, [](GitHubIssue& i) { i.labels = {"Bug"}; });
  server.EditIssueInPlace(refs[3].id, [](GitHubIssue& i) {
    i.state = "closed";
    i.state_reason = "not_planned";
  });
  // Issue 3 was updated last.
  server.EditIssueInPlace(refs[2].id, [](GitHubIssue& i) { i.updated_at = kT0 + 3600; });
  Api api(server);

  auto get = [&](Params params) {
    auto r = api.Get("/repos/acme/app/issues", params);
    EXPECT_EQ(r.status, 200) << r.body;
    return Numbers(MustParse(r.body));
  };
  EXPECT_EQ(get({}), (std::vector<std::int64_t>{5, 3, 2, 1}));  // open, created desc
  EXPECT_EQ(get({{"state", "closed"}}), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(get({{"state", "all"}, {"direction", "asc"}}),
            (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(get({{"labels", "bug"}}), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(get({{"labels", "bug,ui"}}), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(get({{"labels", "bug,none"}}), (std::vector<std::int64_t>{}));
  EXPECT_EQ(get({{"state", "all"}, {"sort", "updated"}, {"direction", "asc"}}),
            (std::vector<std::int64_t>{1, 2, 4, 5, 3}));

  auto closed = MustParse(api.Get("/repos/acme/app/issues/4").body);
  EXPECT_EQ(closed.StringOr("state_reason"), "not_planned");
  EXPECT_EQ(closed.StringOr("closed_at"), closed.StringOr("updated_at"));
  EXPECT_EQ(closed.Find("closed_by")->StringOr("login"), "octocat");

  for (Params bad : {Params{{"state", "opened"}}, Params{{"sort", "title"}},
                     Params{{"direction", "up"}}, Params{{"since", "yesterday"}},
                     Params{{"since", "2024-05-01"}}, Params{{"per_page", "0"}}}) {
    auto r = api.Get("/repos/acme/app/issues", bad);
    EXPECT_EQ(r.status, 422) << bad[0].first;
    EXPECT_EQ(MustParse(r.body).StringOr("message"), "Validation Failed");
  }
}

TEST(GitHubServerTest, SinceIsInclusiveByDefaultAndStrictOnRequest) {
  for (bool inclusive : {true, false}) {
    GitHubServerOptions options;
    options.since_inclusive = inclusive;
    GitHubServer server(Frozen(options));
    AddMinuteApart(server, 3);  // updated 10:00, 10:01, 10:02
    Api api(server);
    auto r = api.Get("/repos/acme/app/issues",
                     {{"since", "2024-05-01T10:01:00Z"}, {"sort", "updated"}, {"direction", "asc"}});
    ASSERT_EQ(r.status, 200);
    std::vector<std::int64_t> want = inclusive ? std::vector<std::int64_t>{2, 3}
                                               : std::vector<std::int64_t>{3};
    EXPECT_EQ(Numbers(MustParse(r.body)), want);
  }
}

TEST(GitHubServerTest, PullRequestsAreMixedIntoTheList) {
  GitHubServer server(Frozen());
  AddMinuteApart(server, 1);
  GitHubIssue pr;
  pr.repo = "acme/app";
  pr.title = "Fix it";
  pr.created_at = kT0 + 30;
  auto ref = server.AddPullRequest(pr);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->number, 2);
  EXPECT_TRUE(ref->node_id.starts_with("PR_"));
  GitHubIssue third;
  third.repo = "acme/app";
  third.title = "After";
  third.created_at = kT0 + 60;
  ASSERT_EQ(server.AddIssue(third).value_or(GitHubIssueRef{}).number, 3);
  Api api(server);

  Value page = MustParse(api.Get("/repos/acme/app/issues", {{"direction", "asc"}}).body);
  ASSERT_EQ(Numbers(page), (std::vector<std::int64_t>{1, 2, 3}));
  const Value* pull = page.AsList()[1].Find("pull_request");
  ASSERT_NE(pull, nullptr);
  EXPECT_EQ(pull->StringOr("url"), server.base_url() + "/repos/acme/app/pulls/2");
  EXPECT_EQ(pull->StringOr("html_url"), "https://github.com/acme/app/pull/2");
  EXPECT_TRUE(pull->Find("merged_at")->IsNull());
  EXPECT_NE(pull->Find("diff_url"), nullptr);
  EXPECT_EQ(page.AsList()[1].StringOr("html_url"), "https://github.com/acme/app/pull/2");
  EXPECT_EQ(page.AsList()[0].Find("pull_request"), nullptr);
}

TEST(GitHubServerTest, LinkPagingAsGitHubWritesIt) {
  GitHubServer server(Frozen());
  AddMinuteApart(server, 7);
  auto repo_id = server.RepoId("acme/app");
  ASSERT_TRUE(repo_id.has_value());
  Api api(server);

  auto first = api.Get("/repos/acme/app/issues",
                       {{"state", "all"}, {"direction", "asc"}, {"per_page", "3"}});
  ASSERT_EQ(first.status, 200);
  std::string list = server.base_url() + "/repositories/" + std::to_string(*repo_id) +
                     "/issues?state=all&direction=asc&per_page=3&";
  EXPECT_EQ(HeaderOr(first, "link"),
            "<" + list + "page=2>; rel=\"next\", <" + list + "page=3>; rel=\"last\"");
  EXPECT_EQ(Numbers(MustParse(first.body)), (std::vector<std::int64_t>{1, 2, 3}));

  // Follow next with the shared link reader, as the connector will.
  auto next = FindLink(HeaderOr(first, "link"), "next");
  ASSERT_TRUE(next.has_value());
  auto second = api.GetUrl(*next);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(Numbers(MustParse(second.body)), (std::vector<std::int64_t>{4, 5, 6}));
  EXPECT_EQ(HeaderOr(second, "link"),
            "<" + list + "page=1>; rel=\"prev\", <" + list + "page=3>; rel=\"next\", <" + list +
                "page=3>; rel=\"last\", <" + list + "page=1>; rel=\"first\"");
  auto third = api.GetUrl(*FindLink(HeaderOr(second, "link"), "next"));
  EXPECT_EQ(Numbers(MustParse(third.body)), (std::vector<std::int64_t>{7}));
  EXPECT_FALSE(FindLink(HeaderOr(third, "link"), "next").has_value());
  EXPECT_TRUE(FindLink(HeaderOr(third, "link"), "prev").has_value());

  // per_page is cut to 100; the default is 30.
  AddMinuteApart(server, 120);
  auto big = api.Get("/repos/acme/app/issues", {{"per_page", "500"}});
  EXPECT_EQ(MustParse(big.body).AsList().size(), 100u);
  EXPECT_EQ(MustParse(api.Get("/repos/acme/app/issues").body).AsList().size(), 30u);
}

TEST(GitHubServerTest, PagingIsLiveSoChangesShiftOffsets) {
  GitHubServer server(Frozen());
  auto refs = AddMinuteApart(server, 6);
  Api api(server);
  // Before page 2 is answered, issue 1 is updated: it moves to the end of
  // the updated-asc order and everything slides one place left.
  server.OnListRequest([&](std::size_t n) {
    if (n == 2) {
      server.SetNow(kT0 + 3600);
      server.UpdateIssue(refs[0].id, [](GitHubIssue& i) { i.title = "Moved on"; });
    }
  });
  Params params{{"sort", "updated"}, {"direction", "asc"}, {"per_page", "3"}};
  auto first = api.Get("/repos/acme/app/issues", params);
  EXPECT_EQ(Numbers(MustParse(first.body)), (std::vector<std::int64_t>{1, 2, 3}));
  auto second = api.GetUrl(*FindLink(HeaderOr(first, "link"), "next"));
  EXPECT_EQ(Numbers(MustParse(second.body)), (std::vector<std::int64_t>{5, 6, 1}));
  EXPECT_EQ(MustParse(second.body).AsList()[2].StringOr("updated_at"), "2024-05-01T11:00:00Z");
}

TEST(GitHubServerTest, SameSecondTiesKeepNumberOrderAcrossPages) {
  GitHubServer server(Frozen());
  auto refs = AddMinuteApart(server, 5);
  for (const auto& ref : refs) {
    server.EditIssueInPlace(ref.id, [](GitHubIssue& i) { i.updated_at = kT0 + 999; });
  }
  Api api(server);
  Params params{{"sort", "updated"}, {"direction", "asc"}, {"per_page", "2"}};
  std::vector<std::int64_t> all;
  auto r = api.Get("/repos/acme/app/issues", params);
  while (true) {
    auto numbers = Numbers(MustParse(r.body));
    all.insert(all.end(), numbers.begin(), numbers.end());
    auto next = FindLink(HeaderOr(r, "link"), "next");
    if (!next) {
      break;
    }
    r = api.GetUrl(*next);
  }
  EXPECT_EQ(all, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
}

TEST(GitHubServerTest, RepositoriesPathAnswersTheSameList) {
  GitHubServer server(Frozen());
  AddMinuteApart(server, 2);
  Api api(server);
  auto by_name = api.Get("/repos/acme/app/issues");
  auto by_id = api.Get("/repositories/" + std::to_string(*server.RepoId("acme/app")) + "/issues");
  ASSERT_EQ(by_id.status, 200);
  EXPECT_EQ(by_name.body, by_id.body);
}

TEST(GitHubServerTest, EnterprisePrefixServesUnderApiV3) {
  GitHubServerOptions options;
  options.path_prefix = "/api/v3";
  options.web_url = "https://ghe.example.com";
  GitHubServer server(Frozen(options));
  AddMinuteApart(server, 1);
  EXPECT_TRUE(server.base_url().ends_with("/api/v3"));
  EXPECT_TRUE(server.graphql_url().ends_with("/api/graphql"));
  Api api(server);
  auto r = api.Get("/repos/acme/app/issues");
  ASSERT_EQ(r.status, 200);
  Value issue = MustParse(r.body).AsList()[0];
  EXPECT_EQ(issue.StringOr("url"), server.base_url() + "/repos/acme/app/issues/1");
  EXPECT_EQ(issue.StringOr("html_url"), "https://ghe.example.com/acme/app/issues/1");
  HttpTestClient raw(server.server().base_url());
  EXPECT_EQ(raw.Get("/repos/acme/app/issues", {{"Authorization", Bearer(kGitHubClassicToken)}})
                .status,
            404);
}

// ---------------------------------------------------------------------------
// Conditional requests and rate limits

TEST(GitHubServerTest, EtagAnswers304WithoutSpendingBudget) {
  GitHubServer server(Frozen());
  auto refs = AddMinuteApart(server, 2);
  Api api(server);
  Params params{{"state", "all"}, {"sort", "updated"}, {"direction", "asc"}};

  auto first = api.Get("/repos/acme/app/issues", params);
  ASSERT_EQ(first.status, 200);
  std::string etag = HeaderOr(first, "etag");
  EXPECT_TRUE(etag.starts_with("W/\"")) << etag;
  EXPECT_EQ(HeaderOr(first, "x-ratelimit-remaining"), "4999");
  EXPECT_EQ(HeaderOr(first, "x-ratelimit-used"), "1");
  EXPECT_EQ(HeaderOr(first, "x-ratelimit-limit"), "5000");
  EXPECT_EQ(HeaderOr(first, "x-ratelimit-resource"), "core");
  EXPECT_EQ(HeaderOr(first, "x-ratelimit-reset"), std::to_string(kT0 + 3600));

  for (int i = 0; i < 3; ++i) {
    auto again = api.Get("/repos/acme/app/issues", params, std::nullopt, {{"If-None-Match", etag}});
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(HeaderOr(again, "x-ratelimit-remaining"), "4999");
    EXPECT_EQ(HeaderOr(again, "etag"), etag);
  }
  EXPECT_EQ(server.not_modified_count(), 3u);
  EXPECT_EQ(server.budget_used(), 1u);
  EXPECT_EQ(server.rate_remaining(), 4999);
  auto log = server.requests();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_FALSE(log[0].if_none_match);
  EXPECT_TRUE(log[1].if_none_match);
  EXPECT_EQ(log[1].status, 304);

  // A change changes the body, so the old ETag no longer matches.
  server.UpdateIssue(refs[0].id, [](GitHubIssue& i) { i.title = "New"; });
  auto changed = api.Get("/repos/acme/app/issues", params, std::nullopt, {{"If-None-Match", etag}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(HeaderOr(changed, "etag"), etag);
  EXPECT_EQ(HeaderOr(changed, "x-ratelimit-remaining"), "4998");

  // GET /rate_limit costs nothing either.
  auto limits = api.Get("/rate_limit");
  ASSERT_EQ(limits.status, 200);
  Value l = MustParse(limits.body);
  EXPECT_EQ(l.Find("resources")->Find("core")->Find("remaining")->AsInt(), 4998);
  EXPECT_EQ(server.rate_remaining(), 4998);
}

TEST(GitHubServerTest, ExhaustedBudgetAnswers403UntilTheReset) {
  GitHubServer server(Frozen());
  AddMinuteApart(server, 1);
  server.SetRateLimit(5000, 2, kT0 + 600);
  Api api(server);

  EXPECT_EQ(api.Get("/repos/acme/app/issues").status, 200);
  auto last = api.Get("/repos/acme/app/issues/1");
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(HeaderOr(last, "x-ratelimit-remaining"), "0");
  for (int i = 0; i < 2; ++i) {
    auto refused = api.Get("/repos/acme/app/issues");
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(HeaderOr(refused, "x-ratelimit-remaining"), "0");
    EXPECT_EQ(HeaderOr(refused, "x-ratelimit-reset"), std::to_string(kT0 + 600));
    Value body = MustParse(refused.body);
    EXPECT_TRUE(body.StringOr("message").starts_with("API rate limit exceeded for user ID 1."));
    EXPECT_EQ(body.StringOr("documentation_url"),
              "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api");
  }
  // /rate_limit still answers.
  EXPECT_EQ(api.Get("/rate_limit").status, 200);

  server.SetNow(kT0 + 600);
  auto after = api.Get("/repos/acme/app/issues");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(HeaderOr(after, "x-ratelimit-remaining"), "4999");
  EXPECT_EQ(HeaderOr(after, "x-ratelimit-reset"), std::to_string(kT0 + 600 + 3600));
}

TEST(GitHubServerTest, ExhaustedBudgetCanAnswer429) {
  GitHubServerOptions options;
  options.exhausted_status = 429;
  options.rate_remaining = 0;
  GitHubServer server(Frozen(options));
  Api api(server);
  auto refused = api.Get("/user");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(HeaderOr(refused, "x-ratelimit-remaining"), "0");
}

TEST(GitHubServerTest, ScriptedSecondaryLimits) {
  GitHubServer server(Frozen());
  AddMinuteApart(server, 1);
  server.ScriptSecondaryLimit(2, 30, 429);
  Api api(server);
  for (int i = 0; i < 2; ++i) {
    auto r = api.Get("/repos/acme/app/issues");
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(HeaderOr(r, "retry-after"), "30");
    EXPECT_TRUE(MustParse(r.body).StringOr("message").starts_with(
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
        "again"));
  }
  EXPECT_EQ(api.Get("/repos/acme/app/issues").status, 200);
  server.ScriptSecondaryLimit(1, 5);
  EXPECT_EQ(api.Get("/user").status, 403);
  EXPECT_EQ(server.budget_used(), 1u);
}

// ---------------------------------------------------------------------------
// Transfers, deletions, faults

TEST(GitHubServerTest, TransferredIssueAnswers301AndDeletedOne410) {
  GitHubServer server(Frozen());
  ASSERT_TRUE(server.AddRepo({"acme/app"}).has_value());
  auto other_id = server.AddRepo({"acme/other"});
  ASSERT_TRUE(other_id.has_value());
  AddMinuteApart(server, 1, "acme/other");  // acme/other#1 taken
  auto refs = AddMinuteApart(server, 3);
  Api api(server);

  server.SetNow(kT0 + 7200);
  auto moved = server.TransferIssue(refs[0].id, "acme/other");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->id, refs[0].id);  // kept by default
  EXPECT_EQ(moved->number, 2);
  ASSERT_TRUE(server.DeleteIssue(refs[1].id));

  EXPECT_EQ(Numbers(MustParse(api.Get("/repos/acme/app/issues").body)),
            (std::vector<std::int64_t>{3}));
  EXPECT_EQ(Numbers(MustParse(api.Get("/repos/acme/other/issues").body)),
            (std::vector<std::int64_t>{2, 1}));

  auto r301 = api.Get("/repos/acme/app/issues/1");
  EXPECT_EQ(r301.status, 301);
  std::string target =
      server.base_url() + "/repositories/" + std::to_string(*other_id) + "/issues/2";
  EXPECT_EQ(HeaderOr(r301, "location"), target);
  Value body = MustParse(r301.body);
  EXPECT_EQ(body.StringOr("message"), "Moved Permanently");
  EXPECT_EQ(body.StringOr("url"), target);
  auto followed = api.GetUrl(target);
  ASSERT_EQ(followed.status, 200);
  EXPECT_EQ(MustParse(followed.body).Find("id")->AsInt(), refs[0].id);
  EXPECT_EQ(MustParse(followed.body).StringOr("updated_at"), "2024-05-01T12:00:00Z");

  auto gone = api.Get("/repos/acme/app/issues/2");
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(MustParse(gone.body).StringOr("message"), "This issue was deleted");
  EXPECT_EQ(api.Get("/repos/acme/app/issues/99").status, 404);
  EXPECT_FALSE(server.GetIssue(refs[1].id).has_value());
}

TEST(GitHubServerTest, TransferCanGiveANewId) {
  GitHubServerOptions options;
  options.transfer_keeps_id = false;
  GitHubServer server(Frozen(options));
  ASSERT_TRUE(server.AddRepo({"acme/other"}).has_value());
  auto refs = AddMinuteApart(server, 1);
  auto moved = server.TransferIssue(refs[0].id, "acme/other");
  ASSERT_TRUE(moved.has_value());
  EXPECT_NE(moved->id, refs[0].id);
  EXPECT_NE(moved->node_id, refs[0].node_id);
  EXPECT_FALSE(server.GetIssue(refs[0].id).has_value());
  EXPECT_TRUE(server.GetIssue(moved->id).has_value());
  Api api(server);
  EXPECT_EQ(api.Get("/repos/acme/app/issues/1").status, 301);
}

TEST(GitHubServerTest, FaultsArePerPathAndSpendNoBudget) {
  GitHubServer server(Frozen());
  AddMinuteApart(server, 1);
  server.InjectFault(GitHubServer::Fault::HtmlPage().On("/repos/acme/app/issues"));
  server.InjectFault(GitHubServer::Fault::MalformedJson().On("/user"));
  Api api(server);
  auto html = api.Get("/repos/acme/app/issues/1");
  EXPECT_EQ(html.status, 200);
  EXPECT_TRUE(HeaderOr(html, "content-type").starts_with("text/html"));
  EXPECT_FALSE(ParseJson(api.Get("/user").body).has_value());
  EXPECT_EQ(api.Get("/repos/acme/app/issues/1").status, 200);
  EXPECT_EQ(server.budget_used(), 1u);
  EXPECT_EQ(server.pending_faults(), 0u);
  server.InjectFault(GitHubServer::Fault::Status(502, R"({"message":"Server Error"})").Times(2));
  EXPECT_EQ(api.Get("/user").status, 502);
  EXPECT_EQ(api.Get("/rate_limit").status, 502);
  EXPECT_EQ(api.Get("/user").status, 200);
}

// ---------------------------------------------------------------------------
// GraphQL (Projects v2)

// acme/app with issues 1 (in the project, with values), 2 (in the project,
// no values), 3 (not in it) and pull request 4 (in it); project acme/7.
struct ProjectWorld {
  std::vector<GitHubIssueRef> issues;
  GitHubIssueRef pr;
};

ProjectWorld MakeProjectWorld(GitHubServer& server) {
  ProjectWorld world;
  world.issues = AddMinuteApart(server, 3);
  GitHubIssue pr;
  pr.repo = "acme/app";
  pr.title = "A change";
  world.pr = server.AddPullRequest(pr).value_or(GitHubIssueRef{});
  GitHubProjectField priority{"Priority", GitHubFieldType::kSingleSelect, {"P0", "P1", "P2"}, {}};
  GitHubProjectField size{"Size", GitHubFieldType::kNumber, {}, {}};
  GitHubProjectField notes{"Notes", GitHubFieldType::kText, {}, {}};
  GitHubProjectField due{"Due", GitHubFieldType::kDate, {}, {}};
  GitHubProjectField sprint{"Sprint", GitHubFieldType::kIteration, {}, {}};
  sprint.iterations = {{"Sprint 1", "2024-04-22", 14, true}, {"Sprint 2", "2024-05-06", 14, false}};
  auto project = server.AddProject("acme", 7, "Roadmap", {priority, size, notes, due, sprint});
  EXPECT_TRUE(project.has_value()) << (project ? "" : project.error().message);
  for (std::int64_t id : {world.issues[0].id, world.issues[1].id, world.pr.id}) {
    EXPECT_TRUE(server.AddProjectItem("acme", 7, id).has_value());
  }
  std::int64_t one = world.issues[0].id;
  EXPECT_TRUE(server.SetFieldValue("acme", 7, one, "Priority", GitHubFieldValue::Text("P1")).has_value());
  EXPECT_TRUE(server.SetFieldValue("acme", 7, one, "Size", GitHubFieldValue::Number(3.5)).has_value());
  EXPECT_TRUE(server.SetFieldValue("acme", 7, one, "Notes", GitHubFieldValue::Text("ship it")).has_value());
  EXPECT_TRUE(server.SetFieldValue("acme", 7, one, "Due", GitHubFieldValue::Text("2024-06-01")).has_value());
  EXPECT_TRUE(server.SetFieldValue("acme", 7, one, "Sprint", GitHubFieldValue::Text("Sprint 2")).has_value());
  return world;
}

Value Query(Api& api, std::string query, Value variables = Value(Value::Object{}),
            std::optional<std::string> authorization = std::nullopt) {
  auto r = api.GraphQL(Value(Value::Object{{"query", Value(std::move(query))},
                                           {"variables", std::move(variables)}}),
                       authorization);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOr(r, "x-ratelimit-resource"), "graphql");
  return MustParse(r.body);
}

std::string FirstErrorType(const Value& answer) {
  const Value* errors = answer.Find("errors");
  if (!errors || !errors->IsList() || errors->AsList().empty()) {
    return "";
  }
  return std::string(errors->AsList()[0].StringOr("type"));
}

constexpr std::string_view kProjectQuery = R"(
  query($owner: String!, $number: Int!) {
    organization(login: $owner) {
      projectV2(number: $number) {
        id title
        fields(first: 50) {
          nodes {
            __typename
            ... on ProjectV2FieldCommon { id name dataType }
            ... on ProjectV2SingleSelectField { options { id name } }
          }
        }
      }
    }
  })";

TEST(GitHubServerTest, GraphQLResolvesAProjectAndItsFields) {
  GitHubServer server(Frozen());
  MakeProjectWorld(server);
  Api api(server);
  Value answer = Query(api, std::string(kProjectQuery),
                       Value(Value::Object{{"owner", Value("acme")}, {"number", Value(7)}}));
  ASSERT_EQ(answer.Find("errors"), nullptr) << answer.ToJson();
  const Value* project = answer.Find("data")->Find("organization")->Find("projectV2");
  ASSERT_NE(project, nullptr);
  EXPECT_EQ(project->StringOr("title"), "Roadmap");
  EXPECT_TRUE(project->StringOr("id").starts_with("PVT_"));
  EXPECT_EQ(project->Find("number"), nullptr);  // not selected, not answered
  const auto& fields = project->Find("fields")->Find("nodes")->AsList();
  std::vector<std::string> names;
  for (const Value& f : fields) {
    names.push_back(std::string(f.StringOr("name")) + ":" + std::string(f.StringOr("dataType")));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Title:TITLE", "Assignees:ASSIGNEES", "Labels:LABELS",
                                             "Milestone:MILESTONE", "Repository:REPOSITORY",
                                             "Priority:SINGLE_SELECT", "Size:NUMBER", "Notes:TEXT",
                                             "Due:DATE", "Sprint:ITERATION"}));
  EXPECT_EQ(fields[5].StringOr("__typename"), "ProjectV2SingleSelectField");
  EXPECT_EQ(fields[5].Find("options")->AsList().size(), 3u);
  EXPECT_EQ(fields[6].StringOr("__typename"), "ProjectV2Field");
  EXPECT_EQ(fields[6].Find("options"), nullptr);
  EXPECT_EQ(fields[9].StringOr("__typename"), "ProjectV2IterationField");

  // The same through user(login:) fails: acme is an organization.
  Value as_user = Query(api, R"({ user(login: "acme") { projectV2(number: 7) { id } } })");
  EXPECT_TRUE(as_user.Find("data")->Find("user")->IsNull());
  EXPECT_EQ(FirstErrorType(as_user), "NOT_FOUND");
  Value missing = Query(api, R"({ organization(login: "acme") { projectV2(number: 8) { id } } })");
  EXPECT_TRUE(missing.Find("data")->Find("organization")->Find("projectV2")->IsNull());
  EXPECT_EQ(missing.Find("errors")->AsList()[0].StringOr("message"),
            "Could not resolve to a ProjectV2 with the number 8.");
  EXPECT_EQ(missing.Find("errors")->AsList()[0].Find("path")->ToJson(),
            R"(["organization","projectV2"])");

  // A user-owned project answers through user(login:).
  ASSERT_TRUE(server.AddProject("octocat", 1, "Mine", {}, /*owner_is_org=*/false).has_value());
  Value mine = Query(api, R"({ user(login: "octocat") { projectV2(number: 1) { title } } })");
  EXPECT_EQ(mine.Find("data")->Find("user")->Find("projectV2")->StringOr("title"), "Mine");
}

constexpr std::string_view kValuesQuery = R"(
  query($ids: [ID!]!) {
    nodes(ids: $ids) {
      ... on Issue {
        id number updatedAt
        projectItems(first: 10) {
          nodes {
            project { id number }
            fieldValues(first: 50) {
              nodes {
                __typename
                ... on ProjectV2ItemFieldNumberValue { number field { ... on ProjectV2FieldCommon { name } } }
                ... on ProjectV2ItemFieldTextValue { text field { ... on ProjectV2FieldCommon { name } } }
                ... on ProjectV2ItemFieldSingleSelectValue { name optionId field { ... on ProjectV2FieldCommon { name } } }
                ... on ProjectV2ItemFieldIterationValue { title startDate duration field { ... on ProjectV2FieldCommon { name } } }
                ... on ProjectV2ItemFieldDateValue { date field { ... on ProjectV2FieldCommon { name } } }
              }
            }
          }
        }
      }
    }
  })";

// Field name -> value text, for one issue node of kValuesQuery's answer.
std::map<std::string, std::string> ValuesOf(const Value& node) {
  std::map<std::string, std::string> out;
  const Value* items = node.Find("projectItems");
  if (!items) {
    return out;
  }
  for (const Value& item : items->Find("nodes")->AsList()) {
    for (const Value& v : item.Find("fieldValues")->Find("nodes")->AsList()) {
      const Value* field = v.Find("field");
      std::string name(field ? field->StringOr("name") : v.StringOr("__typename"));
      for (const char* key : {"number", "text", "name", "title", "date"}) {
        if (const Value* x = v.Find(key)) {
          out[name] = x->ToText();
        }
      }
      if (!out.contains(name)) {
        out[name] = "";
      }
    }
  }
  return out;
}

TEST(GitHubServerTest, GraphQLGivesFieldValuesForABatchOfIssues) {
  GitHubServer server(Frozen());
  ProjectWorld world = MakeProjectWorld(server);
  ASSERT_TRUE(server.DeleteIssue(world.issues[2].id));  // #3: deleted
  Api api(server);
  Value::List ids;
  for (const auto& ref : world.issues) {
    ids.push_back(Value(ref.node_id));
  }
  ids.push_back(Value(world.pr.node_id));
  ids.push_back(Value("I_kwDOnothing"));
  Value answer = Query(api, std::string(kValuesQuery), Value(Value::Object{{"ids", Value(ids)}}));
  const auto& nodes = answer.Find("data")->Find("nodes")->AsList();
  ASSERT_EQ(nodes.size(), 5u) << answer.ToJson();

  EXPECT_EQ(nodes[0].StringOr("id"), world.issues[0].node_id);
  auto values = ValuesOf(nodes[0]);
  EXPECT_EQ(values, (std::map<std::string, std::string>{{"Title", "Issue 1"},
                                                        {"ProjectV2ItemFieldRepositoryValue", ""},
                                                        {"Priority", "P1"},
                                                        {"Size", "3.5"},
                                                        {"Notes", "ship it"},
                                                        {"Due", "2024-06-01"},
                                                        {"Sprint", "Sprint 2"}}));
  const Value& item = nodes[0].Find("projectItems")->Find("nodes")->AsList()[0];
  EXPECT_EQ(item.Find("project")->Find("number")->AsInt(), 7);
  for (const Value& v : item.Find("fieldValues")->Find("nodes")->AsList()) {
    if (v.StringOr("__typename") == "ProjectV2ItemFieldIterationValue") {
      EXPECT_EQ(v.StringOr("startDate"), "2024-05-06");
      EXPECT_EQ(v.Find("duration")->AsInt(), 14);
    }
    if (v.StringOr("__typename") == "ProjectV2ItemFieldSingleSelectValue") {
      EXPECT_EQ(v.StringOr("optionId").size(), 8u);
    }
  }
  // #2 is in the project with the Title and Repository only.
  EXPECT_EQ(ValuesOf(nodes[1]).size(), 2u);
  // Deleted and unknown ids: null, each with a NOT_FOUND error at its index.
  EXPECT_TRUE(nodes[2].IsNull());
  EXPECT_TRUE(nodes[4].IsNull());
  // The pull request matches no `... on Issue`: an empty object, as GitHub answers.
  EXPECT_EQ(nodes[3], Value(Value::Object{}));
  const auto& errors = answer.Find("errors")->AsList();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].StringOr("type"), "NOT_FOUND");
  EXPECT_EQ(errors[0].Find("path")->ToJson(), R"(["nodes",2])");
  EXPECT_EQ(errors[1].StringOr("message"),
            "Could not resolve to a node with the global id of 'I_kwDOnothing'");
}

TEST(GitHubServerTest, GraphQLFieldEditsLeaveUpdatedAtUnlessTold) {
  GitHubServer server(Frozen());
  ProjectWorld world = MakeProjectWorld(server);
  std::int64_t id = world.issues[1].id;
  std::int64_t before = server.GetIssue(id)->updated_at;
  server.SetNow(kT0 + 5000);
  ASSERT_TRUE(server.SetFieldValue("acme", 7, id, "Size", GitHubFieldValue::Number(8)).has_value());
  EXPECT_EQ(server.GetIssue(id)->updated_at, before);
  Api api(server);
  Value answer = Query(api, std::string(kValuesQuery),
                       Value(Value::Object{{"ids", Value(Value::List{Value(world.issues[1].node_id)})}}));
  EXPECT_EQ(ValuesOf(answer.Find("data")->Find("nodes")->AsList()[0])["Size"], "8");

  // Cleared: gone from fieldValues.
  ASSERT_TRUE(server.SetFieldValue("acme", 7, id, "Size", std::nullopt).has_value());
  answer = Query(api, std::string(kValuesQuery),
                 Value(Value::Object{{"ids", Value(Value::List{Value(world.issues[1].node_id)})}}));
  EXPECT_FALSE(ValuesOf(answer.Find("data")->Find("nodes")->AsList()[0]).contains("Size"));

  server.SetProjectEditBumpsUpdated(true);
  server.SetNow(kT0 + 6000);
  ASSERT_TRUE(server.SetFieldValue("acme", 7, id, "Priority", GitHubFieldValue::Text("P0")).has_value());
  EXPECT_EQ(server.GetIssue(id)->updated_at, kT0 + 6000);

  // Bad values are refused.
  EXPECT_FALSE(server.SetFieldValue("acme", 7, id, "Priority", GitHubFieldValue::Text("P9")).has_value());
  EXPECT_FALSE(server.SetFieldValue("acme", 7, id, "Due", GitHubFieldValue::Text("June")).has_value());
  EXPECT_FALSE(server.SetFieldValue("acme", 7, id, "Title", GitHubFieldValue::Text("x")).has_value());
  EXPECT_FALSE(server.SetFieldValue("acme", 7, world.issues[2].id, "Size",
                                    GitHubFieldValue::Number(1)).has_value());
}

TEST(GitHubServerTest, GraphQLErrorsAreGitHubs) {
  GitHubServer server(Frozen());
  MakeProjectWorld(server);
  Api api(server);

  Value unknown = Query(api, R"({ organization(login: "acme") { projectV2(number: 7) { colour } } })");
  EXPECT_EQ(unknown.Find("data"), nullptr);
  EXPECT_EQ(unknown.Find("errors")->AsList()[0].StringOr("message"),
            "Field 'colour' doesn't exist on type 'ProjectV2'");

  Value unpaged = Query(api, R"({ organization(login: "acme") { projectV2(number: 7) { fields { nodes { __typename } } } } })");
  EXPECT_EQ(FirstErrorType(unpaged), "MISSING_PAGINATION_BOUNDARIES");
  EXPECT_EQ(unpaged.Find("data"), nullptr);
  Value too_many = Query(api, R"({ organization(login: "acme") { projectV2(number: 7) { fields(first: 101) { totalCount } } } })");
  EXPECT_EQ(FirstErrorType(too_many), "EXCESSIVE_PAGINATION");

  Value nobody = Query(api, R"({ organization(login: "nobody") { id } })");
  EXPECT_TRUE(nobody.Find("data")->Find("organization")->IsNull());
  EXPECT_EQ(nobody.Find("errors")->AsList()[0].StringOr("message"),
            "Could not resolve to an Organization with the login of 'nobody'.");

  Value broken = Query(api, "{ organization(login: \"acme\") { id }");
  EXPECT_EQ(broken.Find("data"), nullptr);
  EXPECT_EQ(broken.Find("errors")->AsList()[0].StringOr("message"), "Unexpected end of document");
  Value parse = Query(api, "{ organization(login: \"acme\") { id } } }");
  EXPECT_EQ(parse.Find("errors")->AsList()[0].StringOr("message"),
            "Parse error on \"}\" (RCURLY) at [1, 40]");

  Value subscription = Query(api, R"(subscription { viewer { login } })");
  EXPECT_EQ(FirstErrorType(subscription), "UNSUPPORTED");

  Value missing_variable = Query(api, std::string(kProjectQuery));
  EXPECT_EQ(missing_variable.Find("errors")->AsList()[0].StringOr("message"),
            "Variable $owner of type String! was provided invalid value");

  Value no_query = MustParse(api.GraphQL(Value(Value::Object{{"variables", Value(nullptr)}})).body);
  EXPECT_EQ(no_query.Find("errors")->AsList()[0].StringOr("message"),
            "A query attribute must be specified and must be a string.");
  EXPECT_EQ(api.GraphQL(Value("just text")).status, 400);
  HttpTestClient raw(server.server().base_url());
  auto bad = raw.Send("POST", server.graphql_url().substr(server.server().base_url().size()),
                      {{"Authorization", Bearer(kGitHubClassicToken)}}, "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(MustParse(bad.body).StringOr("message"), "Problems parsing JSON");
  auto anonymous = api.GraphQL(Value(Value::Object{{"query", Value("{ viewer { login } }")}}), "");
  EXPECT_EQ(anonymous.status, 401);
}

TEST(GitHubServerTest, GraphQLProjectAccessFollowsTheToken) {
  GitHubServer server(Frozen());
  MakeProjectWorld(server);
  GitHubToken repo_only;
  repo_only.token = "ghp_RepoOnlyRepoOnlyRepoOnlyRepoOnlyRepo";
  repo_only.scopes = {"repo"};
  server.AddToken(repo_only);
  GitHubToken fine;
  fine.token = "github_pat_11NOPROJECTS00000000000_nOpRoJeCtSnOpRoJeCtSnOpRoJeCtSnOpRoJeCtSnOpRoJeCtSnOpR";
  fine.kind = GitHubTokenKind::kFineGrained;
  fine.projects = false;
  server.AddToken(fine);
  Api api(server);
  std::string q = R"({ organization(login: "acme") { projectV2(number: 7) { title } } })";

  Value scopes = Query(api, q, Value(Value::Object{}), Bearer(repo_only.token));
  EXPECT_EQ(FirstErrorType(scopes), "INSUFFICIENT_SCOPES");
  EXPECT_EQ(scopes.Find("data"), nullptr);
  Value forbidden = Query(api, q, Value(Value::Object{}), Bearer(fine.token));
  EXPECT_EQ(FirstErrorType(forbidden), "FORBIDDEN");
  EXPECT_TRUE(forbidden.Find("data")->Find("organization")->Find("projectV2")->IsNull());
  for (std::string_view token : {kGitHubClassicToken, kGitHubFineGrainedToken, kGitHubInstallationToken}) {
    Value ok = Query(api, q, Value(Value::Object{}), Bearer(token));
    EXPECT_EQ(ok.Find("data")->Find("organization")->Find("projectV2")->StringOr("title"), "Roadmap")
        << token.substr(0, 4);
  }
}

TEST(GitHubServerTest, GraphQLReadsAliasesFragmentsAndPages) {
  GitHubServer server(Frozen());
  MakeProjectWorld(server);
  Api api(server);
  Value answer = Query(api, R"(
    # a comment
    query Items($after: String) {
      org: organization(login: "acme") {
        board: projectV2(number: 7) {
          ...Paged
        }
      }
      rateLimit { cost remaining limit }
    }
    fragment Paged on ProjectV2 {
      items(first: 2, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { type content { ... on Issue { number } ... on PullRequest { number } } } }
      }
    })");
  ASSERT_EQ(answer.Find("errors"), nullptr) << answer.ToJson();
  const Value* items = answer.Find("data")->Find("org")->Find("board")->Find("items");
  ASSERT_NE(items, nullptr) << answer.ToJson();
  EXPECT_EQ(items->Find("totalCount")->AsInt(), 3);
  EXPECT_TRUE(items->Find("pageInfo")->Find("hasNextPage")->AsBool());
  const auto& edges = items->Find("edges")->AsList();
  ASSERT_EQ(edges.size(), 2u);
  EXPECT_EQ(edges[0].Find("node")->Find("content")->Find("number")->AsInt(), 1);
  std::string end(items->Find("pageInfo")->StringOr("endCursor"));
  const Value* rate = answer.Find("data")->Find("rateLimit");
  EXPECT_EQ(rate->Find("cost")->AsInt(), 1);
  EXPECT_EQ(rate->Find("remaining")->AsInt(), 4999);

  Value next = Query(api, R"(
    query($after: String) { organization(login: "acme") { projectV2(number: 7) {
      items(first: 2, after: $after) { pageInfo { hasNextPage } nodes { type } } } } })",
                     Value(Value::Object{{"after", Value(end)}}));
  const Value* page2 = next.Find("data")->Find("organization")->Find("projectV2")->Find("items");
  ASSERT_NE(page2, nullptr) << next.ToJson();
  EXPECT_FALSE(page2->Find("pageInfo")->Find("hasNextPage")->AsBool());
  ASSERT_EQ(page2->Find("nodes")->AsList().size(), 1u);
  EXPECT_EQ(page2->Find("nodes")->AsList()[0].StringOr("type"), "PULL_REQUEST");
}

TEST(GitHubServerTest, GraphQLHasItsOwnBudget) {
  GitHubServer server(Frozen());
  Api api(server);
  server.SetGraphQLRateLimit(5000, 1, kT0 + 60);
  auto first = api.GraphQL(Value(Value::Object{{"query", Value("{ viewer { login } }")}}));
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(MustParse(first.body).Find("data")->Find("viewer")->StringOr("login"), "octocat");
  EXPECT_EQ(HeaderOr(first, "x-ratelimit-remaining"), "0");
  auto limited = api.GraphQL(Value(Value::Object{{"query", Value("{ viewer { login } }")}}));
  EXPECT_EQ(limited.status, 200);
  EXPECT_EQ(FirstErrorType(MustParse(limited.body)), "RATE_LIMITED");
  EXPECT_EQ(HeaderOr(limited, "x-ratelimit-remaining"), "0");
  EXPECT_EQ(HeaderOr(limited, "x-ratelimit-resource"), "graphql");
  // The REST budget is untouched.
  EXPECT_EQ(server.rate_remaining(), 5000);
  server.SetNow(kT0 + 60);
  auto after = api.GraphQL(Value(Value::Object{{"query", Value("{ viewer { login } }")}}));
  EXPECT_EQ(HeaderOr(after, "x-ratelimit-remaining"), "4999");
  EXPECT_EQ(server.graphql_requests(), 3u);
  EXPECT_EQ(server.requests().back().graphql_query, "{ viewer { login } }");

  server.ScriptSecondaryLimit(1, 10);
  auto secondary = api.GraphQL(Value(Value::Object{{"query", Value("{ viewer { login } }")}}));
  EXPECT_EQ(secondary.status, 403);
  EXPECT_EQ(HeaderOr(secondary, "retry-after"), "10");
}

// ---- GraphQL mutations (Projects v2) ----

// A classic token that may write projects.
constexpr std::string_view kProjectWriter = "ghp_Pr0jectWriterPr0jectWriterPr0jectWr";

GitHubToken ProjectWriter() {
  return GitHubToken{.token = std::string(kProjectWriter),
                     .scopes = {"repo", "read:org", "project"}};
}

// The id of project 7's field `name`, and the node ids of issues and items.
struct Ids {
  std::string project;
  std::map<std::string, std::string> fields;
};

Ids ProjectIds(Api& api) {
  Value answer = Query(api, R"({ organization(login: "acme") { projectV2(number: 7) {
      id fields(first: 50) { nodes { ... on ProjectV2FieldCommon { id name } } } } } })");
  const Value* project = answer.Find("data")->Find("organization")->Find("projectV2");
  Ids ids;
  ids.project = std::string(project->StringOr("id"));
  for (const Value& field : project->Find("fields")->Find("nodes")->AsList()) {
    ids.fields[std::string(field.StringOr("name"))] = std::string(field.StringOr("id"));
  }
  return ids;
}

Value Mutate(Api& api, std::string query, Value variables = Value(Value::Object{}),
             std::string_view token = kProjectWriter) {
  return Query(api, std::move(query), std::move(variables), Bearer(token));
}

const Value* DataOf(const Value& answer, std::string_view alias) {
  const Value* data = answer.Find("data");
  return data && data->IsObject() ? data->Find(alias) : nullptr;
}

TEST(GitHubServerTest, GraphQLLooksIssuesUpByRepositoryAndNumber) {
  GitHubServer server(Frozen());
  ProjectWorld world = MakeProjectWorld(server);
  ASSERT_TRUE(server.DeleteIssue(world.issues[2].id));
  Api api(server);
  Value answer = Query(api, R"(query($n: Int!) { repository(owner: "acme", name: "app") {
      one: issue(number: $n) { id databaseId projectItems(first: 10) { nodes { id project { id } } } }
      gone: issue(number: 3) { id }
      pr: issue(number: 4) { id } }
    elsewhere: repository(owner: "acme", name: "nothing") { id } })",
                       Value(Value::Object{{"n", Value(world.issues[0].number)}}));
  const Value* repo = DataOf(answer, "repository");
  ASSERT_NE(repo, nullptr) << answer.ToJson();
  EXPECT_EQ(repo->Find("one")->StringOr("id"), world.issues[0].node_id);
  EXPECT_EQ(repo->Find("one")->Find("databaseId")->AsInt(), world.issues[0].id);
  EXPECT_EQ(repo->Find("one")->Find("projectItems")->Find("nodes")->AsList().size(), 1u);
  EXPECT_TRUE(repo->Find("gone")->IsNull());
  EXPECT_TRUE(repo->Find("pr")->IsNull());
  EXPECT_TRUE(DataOf(answer, "elsewhere")->IsNull());
  std::vector<std::string> messages;
  for (const Value& error : answer.Find("errors")->AsList()) {
    EXPECT_EQ(error.StringOr("type"), "NOT_FOUND");
    messages.emplace_back(error.StringOr("message"));
  }
  EXPECT_THAT(messages, testing::UnorderedElementsAre(
                            "Could not resolve to an Issue with the number of 3.",
                            "Could not resolve to an Issue with the number of 4.",
                            "Could not resolve to a Repository with the name 'acme/nothing'."));
}

TEST(GitHubServerTest, GraphQLMutationsChangeTheProject) {
  GitHubServer server(Frozen());
  ProjectWorld world = MakeProjectWorld(server);
  server.AddToken(ProjectWriter());
  Api api(server);
  Ids ids = ProjectIds(api);
  const std::int64_t off_board = world.issues[2].id;
  const std::int64_t updated = server.GetIssue(off_board)->updated_at;
  server.SetNow(kT0 + 100);

  // Adding is idempotent: the second answer is the same item.
  const std::string add = R"(mutation($p: ID!, $c: ID!) {
      a: addProjectV2ItemById(input: {projectId: $p, contentId: $c}) { item { id content { ... on Issue { number } } } }
      b: addProjectV2ItemById(input: {projectId: $p, contentId: $c, clientMutationId: "x"}) { clientMutationId item { id } } })";
  Value added = Mutate(
      api, add,
      Value(Value::Object{{"p", Value(ids.project)}, {"c", Value(world.issues[2].node_id)}}));
  ASSERT_EQ(added.Find("errors"), nullptr) << added.ToJson();
  const std::string item(DataOf(added, "a")->Find("item")->StringOr("id"));
  EXPECT_TRUE(item.starts_with("PVTI_"));
  EXPECT_EQ(DataOf(added, "b")->Find("item")->StringOr("id"), item);
  EXPECT_EQ(DataOf(added, "b")->StringOr("clientMutationId"), "x");
  EXPECT_EQ(DataOf(added, "a")->Find("item")->Find("content")->Find("number")->AsInt(),
            world.issues[2].number);
  EXPECT_TRUE(server.HasProjectItem("acme", 7, off_board));
  EXPECT_EQ(server.MutationCount("addProjectV2ItemById"), 2u);

  // Set, in one request with aliases; then clear.
  Value set = Mutate(api, R"(mutation($p: ID!, $i: ID!, $size: ID!, $notes: ID!, $x: Float!) {
      s: updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $size, value: {number: $x}}) { projectV2Item { id } }
      n: updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $notes, value: {text: "hi"}}) { projectV2Item { fieldValueByName(name: "Notes") { ... on ProjectV2ItemFieldTextValue { text } } } } })",
                     Value(Value::Object{{"p", Value(ids.project)},
                                         {"i", Value(item)},
                                         {"size", Value(ids.fields["Size"])},
                                         {"notes", Value(ids.fields["Notes"])},
                                         {"x", Value(2.25)}}));
  ASSERT_EQ(set.Find("errors"), nullptr) << set.ToJson();
  EXPECT_EQ(DataOf(set, "n")->Find("projectV2Item")->Find("fieldValueByName")->StringOr("text"),
            "hi");
  EXPECT_EQ(server.GetFieldValue("acme", 7, off_board, "Size")->number, 2.25);
  EXPECT_EQ(server.GetFieldValue("acme", 7, off_board, "Notes")->text, "hi");
  EXPECT_EQ(server.GetIssue(off_board)->updated_at, updated);  // not moved

  Value cleared =
      Mutate(api, R"(mutation($p: ID!, $i: ID!, $f: ID!) {
      clearProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $f}) { projectV2Item { id } } })",
             Value(Value::Object{
                 {"p", Value(ids.project)}, {"i", Value(item)}, {"f", Value(ids.fields["Size"])}}));
  ASSERT_EQ(cleared.Find("errors"), nullptr) << cleared.ToJson();
  EXPECT_FALSE(server.GetFieldValue("acme", 7, off_board, "Size"));

  // A new field, then one of the same name (case aside).
  const std::string create = R"(mutation($p: ID!, $n: String!) {
      createProjectV2Field(input: {projectId: $p, name: $n, dataType: NUMBER}) {
        projectV2Field { ... on ProjectV2FieldCommon { id name dataType } } } })";
  Value created = Mutate(
      api, create, Value(Value::Object{{"p", Value(ids.project)}, {"n", Value("Board score")}}));
  ASSERT_EQ(created.Find("errors"), nullptr) << created.ToJson();
  const Value* field = DataOf(created, "createProjectV2Field")->Find("projectV2Field");
  EXPECT_EQ(field->StringOr("name"), "Board score");
  EXPECT_EQ(field->StringOr("dataType"), "NUMBER");
  EXPECT_EQ(server.ProjectFieldType("acme", 7, "Board score"), "NUMBER");
  Value twice = Mutate(
      api, create, Value(Value::Object{{"p", Value(ids.project)}, {"n", Value("board SCORE")}}));
  EXPECT_EQ(FirstErrorType(twice), "UNPROCESSABLE");
  EXPECT_EQ(twice.Find("errors")->AsList()[0].StringOr("message"), "Name has already been taken");
  EXPECT_TRUE(DataOf(twice, "createProjectV2Field")->IsNull());
  Value builtin = Mutate(
      api,
      R"(mutation($p: ID!) { createProjectV2Field(input: {projectId: $p, name: "X", dataType: TITLE}) { clientMutationId } })",
      Value(Value::Object{{"p", Value(ids.project)}}));
  EXPECT_EQ(builtin.Find("data"), nullptr);
  EXPECT_EQ(server.MutationCount("createProjectV2Field"), 2u);
}

TEST(GitHubServerTest, GraphQLMutationsCheckWhatGitHubChecks) {
  GitHubServer server(Frozen());
  ProjectWorld world = MakeProjectWorld(server);
  server.AddToken(ProjectWriter());
  Api api(server);
  Ids ids = ProjectIds(api);
  Value item_answer = Query(api, R"({ repository(owner: "acme", name: "app") { issue(number: 1) {
      projectItems(first: 5) { nodes { id } } } } })");
  const std::string item(DataOf(item_answer, "repository")
                             ->Find("issue")
                             ->Find("projectItems")
                             ->Find("nodes")
                             ->AsList()[0]
                             .StringOr("id"));
  const std::string update = R"(mutation($p: ID!, $i: ID!, $f: ID!, $v: ProjectV2FieldValue!) {
      u: updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $f, value: $v}) { projectV2Item { id } } })";
  auto try_update = [&](std::string item_id, std::string field, Value value,
                        std::string_view token = kProjectWriter) {
    return Mutate(api, update,
                  Value(Value::Object{{"p", Value(ids.project)},
                                      {"i", Value(std::move(item_id))},
                                      {"f", Value(std::move(field))},
                                      {"v", std::move(value)}}),
                  token);
  };
  auto message = [](const Value& answer) {
    return std::string(answer.Find("errors")->AsList()[0].StringOr("message"));
  };

  // The value's kind must be the field's.
  Value text_for_number =
      try_update(item, ids.fields["Size"], Value(Value::Object{{"text", Value("3")}}));
  EXPECT_EQ(FirstErrorType(text_for_number), "UNPROCESSABLE");
  EXPECT_EQ(message(text_for_number),
            "Did not receive a number value to update a field of type number");
  EXPECT_TRUE(DataOf(text_for_number, "u")->IsNull());
  Value number_for_text =
      try_update(item, ids.fields["Notes"], Value(Value::Object{{"number", Value(3)}}));
  EXPECT_EQ(FirstErrorType(number_for_text), "UNPROCESSABLE");
  Value number_for_select =
      try_update(item, ids.fields["Priority"], Value(Value::Object{{"number", Value(1.0)}}));
  EXPECT_EQ(FirstErrorType(number_for_select), "UNPROCESSABLE");
  Value title = try_update(item, ids.fields["Title"], Value(Value::Object{{"text", Value("x")}}));
  EXPECT_EQ(FirstErrorType(title), "UNPROCESSABLE");
  EXPECT_EQ(server.GetFieldValue("acme", 7, world.issues[0].id, "Size")->number, 3.5);

  // Unknown ids.
  Value no_item =
      try_update("PVTI_nothing", ids.fields["Size"], Value(Value::Object{{"number", Value(1)}}));
  EXPECT_EQ(FirstErrorType(no_item), "NOT_FOUND");
  EXPECT_EQ(message(no_item), "Could not resolve to a node with the global id of 'PVTI_nothing'");
  Value no_field = try_update(item, "PVTF_nothing", Value(Value::Object{{"number", Value(1)}}));
  EXPECT_EQ(FirstErrorType(no_field), "NOT_FOUND");
  Value no_content = Mutate(
      api,
      R"(mutation($p: ID!) { addProjectV2ItemById(input: {projectId: $p, contentId: "I_nothing"}) { item { id } } })",
      Value(Value::Object{{"p", Value(ids.project)}}));
  EXPECT_EQ(FirstErrorType(no_content), "NOT_FOUND");
  // The item of a deleted issue is gone too.
  ASSERT_TRUE(server.DeleteIssue(world.issues[0].id));
  Value deleted = try_update(item, ids.fields["Size"], Value(Value::Object{{"number", Value(1)}}));
  EXPECT_EQ(FirstErrorType(deleted), "NOT_FOUND");

  // A classic token without the project scope runs nothing.
  Value scopes = try_update(item, ids.fields["Size"], Value(Value::Object{{"number", Value(1)}}),
                            kGitHubClassicToken);
  EXPECT_EQ(FirstErrorType(scopes), "INSUFFICIENT_SCOPES");
  EXPECT_EQ(scopes.Find("data"), nullptr);
  EXPECT_THAT(message(scopes), testing::HasSubstr("['project']"));

  // Without write access: FORBIDDEN, and viewerCanUpdate says so first.
  GitHubToken reader = ProjectWriter();
  reader.project_write = false;
  server.AddToken(reader);
  Value can =
      Query(api, R"({ organization(login: "acme") { projectV2(number: 7) { viewerCanUpdate } } })",
            Value(Value::Object{}), Bearer(kProjectWriter));
  EXPECT_EQ(
      can.Find("data")->Find("organization")->Find("projectV2")->Find("viewerCanUpdate")->AsBool(),
      false);
  const std::size_t created = server.MutationCount("createProjectV2Field");
  Value forbidden = Mutate(
      api,
      R"(mutation($p: ID!) { createProjectV2Field(input: {projectId: $p, name: "New", dataType: TEXT}) { projectV2Field { ... on ProjectV2Field { id } } } })",
      Value(Value::Object{{"p", Value(ids.project)}}));
  ASSERT_EQ(FirstErrorType(forbidden), "FORBIDDEN") << forbidden.ToJson();
  EXPECT_EQ(message(forbidden), "Resource not accessible by personal access token");
  EXPECT_TRUE(DataOf(forbidden, "createProjectV2Field")->IsNull());
  EXPECT_FALSE(server.ProjectFieldType("acme", 7, "New"));
  EXPECT_EQ(server.MutationCount("createProjectV2Field"), created + 1);

  // A classic token's answers list its scopes, GraphQL's too.
  auto raw = api.GraphQL(Value(Value::Object{{"query", Value("{ viewer { login } }")}}));
  EXPECT_EQ(HeaderOr(raw, "x-oauth-scopes"), "repo, read:org, read:project");
}

}  // namespace
}  // namespace boardsync

// Tests of the sample GitLab server (tests/support/gitlab/gitlab_server.h)
// over real loopback HTTP with a plain client, so that the GitLab
// connector's tests can trust what it serves: offset and keyset paging
// headers, filters, group lists over subgroups, auth errors, moved and
// deleted issues, scripted rate limits.

#include "tests/support/gitlab/gitlab_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/common/next_link.h"
#include "connectors/http/json.h"
#include "core/time.h"
#include "core/url.h"
#include "tests/support/http_test_client.h"

namespace boardsync {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::int64_t kT0 = 1'714'557'600'000;  // 2024-05-01T10:00:00.000Z

Value MustParse(const std::string& text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text.substr(0, 300);
  return parsed ? *parsed : Value();
}

// A client for one server: paths are given under /api/v4, and every request
// carries `token` as a Bearer header unless told otherwise.
class Api {
 public:
  explicit Api(GitLabServer& server, std::string token = std::string(kGitLabToken))
      : server_(server), client_(server.base_url()), token_(std::move(token)) {}

  HttpTestResponse Get(std::string_view path, const Params& params = {}) {
    return GetWith(path, params, {{"Authorization", "Bearer " + token_}});
  }
  HttpTestResponse GetWith(std::string_view path, const Params& params,
                           const HttpServerHeaders& headers) {
    return client_.Get(BuildTarget(Prefix() + "/api/v4" + std::string(path), params), headers);
  }
  // An absolute URL the server gave (a Link target), with the token.
  HttpTestResponse Follow(const std::string& url) {
    std::string root = server_.server().base_url();
    EXPECT_TRUE(url.starts_with(root)) << url;
    return client_.Get(url.substr(root.size()), {{"Authorization", "Bearer " + token_}});
  }

 private:
  std::string Prefix() const {
    return server_.base_url().substr(server_.server().base_url().size());
  }

  GitLabServer& server_;
  HttpTestClient client_;
  std::string token_;
};

std::vector<std::int64_t> Iids(const HttpTestResponse& response) {
  std::vector<std::int64_t> out;
  Value list = MustParse(response.body);
  EXPECT_TRUE(list.IsList()) << response.body.substr(0, 300);
  if (list.IsList()) {
    for (const Value& issue : list.AsList()) {
      out.push_back(issue.Find("iid")->AsInt());
    }
  }
  return out;
}

std::string HeaderOr(const HttpTestResponse& response, std::string_view name,
                     std::string fallback = "<absent>") {
  auto value = response.Header(name);
  return value ? std::string(*value) : fallback;
}

std::optional<std::string> NextLink(const HttpTestResponse& response) {
  auto link = response.Header("link");
  return link ? FindLink(*link, "next") : std::nullopt;
}

// Adds `n` issues to `project`, created (and updated) one minute apart from
// kT0; returns their ids.
std::vector<GitLabIssueRef> AddMinuteApart(GitLabServer& server, int n,
                                           std::string project = "acme/roadmap") {
  std::vector<GitLabIssueRef> refs;
  for (int i = 0; i < n; ++i) {
    GitLabIssue issue;
    issue.project = project;
    issue.title = "Issue " + std::to_string(i + 1);
    issue.created_ms = kT0 + i * 60'000;
    auto ref = server.AddIssue(issue);
    EXPECT_TRUE(ref.has_value());
    refs.push_back(*ref);
  }
  return refs;
}

TEST(GitLabServer, OffsetPagesCarryGitLabHeaders) {
  GitLabServer server;
  AddMinuteApart(server, 5);
  Api api(server);

  auto first = api.Get("/projects/101/issues",
                       {{"order_by", "updated_at"}, {"sort", "asc"}, {"per_page", "2"}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Iids(first), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(HeaderOr(first, "content-type"), "application/json");
  EXPECT_EQ(HeaderOr(first, "x-page"), "1");
  EXPECT_EQ(HeaderOr(first, "x-per-page"), "2");
  EXPECT_EQ(HeaderOr(first, "x-next-page"), "2");
  EXPECT_EQ(HeaderOr(first, "x-prev-page"), "");
  EXPECT_EQ(HeaderOr(first, "x-total"), "5");
  EXPECT_EQ(HeaderOr(first, "x-total-pages"), "3");
  std::string link = HeaderOr(first, "link");
  EXPECT_EQ(FindLink(link, "prev"), std::nullopt);
  ASSERT_TRUE(FindLink(link, "next").has_value()) << link;
  EXPECT_TRUE(FindLink(link, "first").has_value()) << link;
  EXPECT_TRUE(FindLink(link, "last").has_value()) << link;
  EXPECT_LT(link.find("rel=\"next\""), link.find("rel=\"first\"")) << link;
  std::string next = *FindLink(link, "next");
  EXPECT_TRUE(next.starts_with(server.api_url() + "/projects/101/issues?")) << next;
  EXPECT_NE(next.find("&page=2"), std::string::npos) << next;
  EXPECT_NE(next.find("order_by=updated_at"), std::string::npos) << next;
  EXPECT_TRUE(LinkOnApi(next, server.api_url() + "/projects/101/issues", server.api_url())) << next;

  auto second = api.Follow(next);
  EXPECT_EQ(Iids(second), (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(HeaderOr(second, "x-prev-page"), "1");
  EXPECT_TRUE(FindLink(HeaderOr(second, "link"), "prev").has_value());

  auto last = api.Follow(*NextLink(second));
  EXPECT_EQ(Iids(last), (std::vector<std::int64_t>{5}));
  EXPECT_EQ(HeaderOr(last, "x-page"), "3");
  EXPECT_EQ(HeaderOr(last, "x-next-page"), "");
  EXPECT_EQ(NextLink(last), std::nullopt);

  auto beyond = api.Get("/projects/101/issues", {{"per_page", "2"}, {"page", "9"}});
  EXPECT_EQ(beyond.body, "[]");
  EXPECT_EQ(HeaderOr(beyond, "x-next-page"), "");

  // Defaults: created_at, newest first, 20 a page.
  auto defaults = api.Get("/projects/101/issues");
  EXPECT_EQ(Iids(defaults), (std::vector<std::int64_t>{5, 4, 3, 2, 1}));
  EXPECT_EQ(HeaderOr(defaults, "x-per-page"), "20");
}

TEST(GitLabServer, PerPageIsCappedAndTotalsVanishAboveTheCountLimit) {
  GitLabServerOptions options;
  options.count_limit = 120;
  GitLabServer server(options);
  AddMinuteApart(server, 130);
  Api api(server);

  auto page = api.Get("/projects/101/issues", {{"per_page", "500"}});
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(Iids(page).size(), 100u);
  EXPECT_EQ(HeaderOr(page, "x-per-page"), "100");
  EXPECT_EQ(HeaderOr(page, "x-total"), "<absent>");
  EXPECT_EQ(HeaderOr(page, "x-total-pages"), "<absent>");
  EXPECT_EQ(FindLink(HeaderOr(page, "link"), "last"), std::nullopt);
  EXPECT_EQ(HeaderOr(page, "x-next-page"), "2");

  auto bad = api.Get("/projects/101/issues", {{"per_page", "many"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, R"({"error":"per_page is invalid"})");
}

TEST(GitLabServer, MaxOffsetRefusesDeepPagesWith405) {
  GitLabServerOptions options;
  options.max_offset = 4;
  GitLabServer server(options);
  AddMinuteApart(server, 6);
  Api api(server);
  EXPECT_EQ(api.Get("/projects/101/issues", {{"per_page", "2"}, {"page", "2"}}).status, 200);
  auto deep = api.Get("/projects/101/issues", {{"per_page", "2"}, {"page", "3"}});
  EXPECT_EQ(deep.status, 405);
  EXPECT_NE(deep.body.find("Offset pagination has a maximum allowed offset of 4"),
            std::string::npos)
      << deep.body;
  // Keyset is not limited.
  auto keyset = api.Get("/projects/101/issues",
                        {{"pagination", "keyset"}, {"order_by", "id"}, {"per_page", "5"}});
  EXPECT_EQ(keyset.status, 200);
}

TEST(GitLabServer, KeysetPagesLinkWithACursorAndEndWithoutLink) {
  GitLabServer server;
  AddMinuteApart(server, 5);
  Api api(server);

  Params params{
      {"pagination", "keyset"}, {"order_by", "updated_at"}, {"sort", "asc"}, {"per_page", "2"}};
  auto page = api.Get("/projects/101/issues", params);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(Iids(page), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(HeaderOr(page, "x-total"), "<absent>");
  EXPECT_EQ(HeaderOr(page, "x-next-page"), "<absent>");
  EXPECT_EQ(FindLink(HeaderOr(page, "link"), "first"), std::nullopt);
  auto next = NextLink(page);
  ASSERT_TRUE(next.has_value());
  auto cursor_at = next->find("cursor=");
  ASSERT_NE(cursor_at, std::string::npos) << *next;
  EXPECT_EQ(next->find("&page="), std::string::npos) << *next;

  // The cursor is base64 JSON naming the order value and the id.
  std::string cursor = PercentDecode(next->substr(cursor_at + 7));
  cursor = cursor.substr(0, cursor.find('&'));
  EXPECT_EQ(cursor.find('='), std::string::npos);

  std::vector<std::int64_t> all = Iids(page);
  int pages = 1;
  while (auto link = NextLink(page)) {
    page = api.Follow(*link);
    ASSERT_EQ(page.status, 200) << page.body;
    auto iids = Iids(page);
    all.insert(all.end(), iids.begin(), iids.end());
    ++pages;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(all, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(HeaderOr(page, "link"), "<absent>");

  // Descending works the same way.
  auto desc =
      api.Get("/projects/101/issues",
              {{"pagination", "keyset"}, {"order_by", "id"}, {"sort", "desc"}, {"per_page", "3"}});
  EXPECT_EQ(Iids(desc), (std::vector<std::int64_t>{5, 4, 3}));
  EXPECT_EQ(Iids(api.Follow(*NextLink(desc))), (std::vector<std::int64_t>{2, 1}));

  auto garbled = api.Get("/projects/101/issues",
                         {{"pagination", "keyset"}, {"order_by", "updated_at"}, {"cursor", "%%"}});
  EXPECT_EQ(garbled.status, 400);
  // A cursor made for updated_at does not serve created_at.
  auto other = api.Get("/projects/101/issues",
                       {{"pagination", "keyset"}, {"order_by", "created_at"}, {"cursor", cursor}});
  EXPECT_EQ(other.status, 400) << other.body;
}

TEST(GitLabServer, KeysetContinuesAfterItsCursorWithinOneMillisecond) {
  GitLabServer server;
  server.SetNow(kT0);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    GitLabIssue issue;
    issue.title = "Same instant " + std::to_string(i);
    ids.push_back(server.AddIssue(issue)->id);
  }
  Api api(server);
  auto page = api.Get(
      "/projects/101/issues",
      {{"pagination", "keyset"}, {"order_by", "updated_at"}, {"sort", "asc"}, {"per_page", "2"}});
  std::vector<std::int64_t> seen = Iids(page);
  // Between pages, the first issue changes (moves to the end) and a new one
  // comes in at the same instant: the cursor's (updated_at, id) decides.
  server.SetNow(kT0 + 1);
  server.UpdateIssue(ids[0], [](GitLabIssue& issue) { issue.title = "Changed"; });
  auto rest = api.Follow(*NextLink(page));
  while (true) {
    auto iids = Iids(rest);
    seen.insert(seen.end(), iids.begin(), iids.end());
    auto link = NextLink(rest);
    if (!link) {
      break;
    }
    rest = api.Follow(*link);
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 1}));
}

TEST(GitLabServer, OffsetPagingIsLiveSoChangesShiftPages) {
  GitLabServer server;
  server.SetNow(kT0);
  auto refs = AddMinuteApart(server, 4);
  Api api(server);
  server.OnListRequest([&](std::size_t n) {
    if (n == 2) {  // before the second page: issue 1 moves to the end
      server.UpdateIssue(refs[0].id, [](GitLabIssue& issue) { issue.title = "Bumped"; });
    }
  });
  server.SetNow(kT0 + 3'600'000);
  Params params{{"order_by", "updated_at"}, {"sort", "asc"}, {"per_page", "2"}};
  auto first = api.Get("/projects/101/issues", params);
  EXPECT_EQ(Iids(first), (std::vector<std::int64_t>{1, 2}));
  auto second = api.Follow(*NextLink(first));
  // Offsets shifted: 2 was at offset 1 and is now at 0, so page 2 starts
  // with 4, and 3 is skipped over; 1 shows up again at the end.
  EXPECT_EQ(Iids(second), (std::vector<std::int64_t>{4, 1}));
  EXPECT_EQ(server.list_requests(), 2u);
}

TEST(GitLabServer, KeysetFallsBackToOffsetWhereGitLabHasNone) {
  GitLabServer server;
  AddMinuteApart(server, 3);
  AddMinuteApart(server, 2, "acme/platform/api");
  Api api(server);

  // Group lists page by offset even when keyset is asked.
  auto group = api.Get("/groups/acme/issues",
                       {{"pagination", "keyset"}, {"order_by", "updated_at"}, {"per_page", "2"}});
  ASSERT_EQ(group.status, 200) << group.body;
  EXPECT_EQ(HeaderOr(group, "x-total"), "5");
  EXPECT_EQ(HeaderOr(group, "x-next-page"), "2");
  EXPECT_EQ(NextLink(group)->find("cursor="), std::string::npos);

  // An ordering keyset does not cover.
  auto title = api.Get("/projects/101/issues",
                       {{"pagination", "keyset"}, {"order_by", "title"}, {"per_page", "2"}});
  EXPECT_EQ(HeaderOr(title, "x-total"), "3");

  // An older GitLab ignores pagination=keyset.
  server.SetKeysetPagination(false);
  auto old = api.Get("/projects/101/issues",
                     {{"pagination", "keyset"}, {"order_by", "updated_at"}, {"per_page", "2"}});
  EXPECT_EQ(HeaderOr(old, "x-total"), "3");
  EXPECT_NE(NextLink(old)->find("&page=2"), std::string::npos);
}

TEST(GitLabServer, UpdatedAfterAndBeforeAreInclusive) {
  GitLabServer server;
  for (std::int64_t offset : {0, 1, 999, 1000, 60'000}) {
    GitLabIssue issue;
    issue.title = "at +" + std::to_string(offset);
    issue.created_ms = kT0 - 86'400'000;
    issue.updated_ms = kT0 + offset;
    ASSERT_TRUE(server.AddIssue(issue));
  }
  Api api(server);
  auto count = [&](Params params) {
    params.emplace_back("order_by", "updated_at");
    params.emplace_back("sort", "asc");
    auto response = api.Get("/projects/101/issues", params);
    EXPECT_EQ(response.status, 200) << response.body;
    return Iids(response).size();
  };
  EXPECT_EQ(count({{"updated_after", "2024-05-01T10:00:00Z"}}), 5u);
  EXPECT_EQ(count({{"updated_after", "2024-05-01T10:00:00.001Z"}}), 4u);
  EXPECT_EQ(count({{"updated_after", "2024-05-01T10:00:01.000Z"}}), 2u);
  EXPECT_EQ(count({{"updated_after", "2024-05-01T12:00:01+02:00"}}), 2u);
  EXPECT_EQ(count({{"updated_after", "2024-05-01T10:00:01"}}), 2u);
  EXPECT_EQ(count({{"updated_before", "2024-05-01T10:00:00.999Z"}}), 3u);
  EXPECT_EQ(count({{"updated_after", "2024-05-01T10:00:00.001Z"},
                   {"updated_before", "2024-05-01T10:00:01Z"}}),
            3u);
  EXPECT_EQ(count({{"created_after", "2024-05-01"}}), 0u);

  auto bad = api.Get("/projects/101/issues", {{"updated_after", "yesterday"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, R"({"error":"updated_after is invalid"})");
  auto bad_state = api.Get("/projects/101/issues", {{"state", "open"}});
  EXPECT_EQ(bad_state.status, 400);
  EXPECT_EQ(bad_state.body, R"({"error":"state does not have a valid value"})");
}

TEST(GitLabServer, LabelsStateScopeAndIidsFilter) {
  GitLabServer server;
  auto add = [&](std::vector<std::string> labels, std::string state, std::string author,
                 std::vector<std::string> assignees) {
    GitLabIssue issue;
    issue.title = "x";
    issue.labels = std::move(labels);
    issue.state = std::move(state);
    issue.author = std::move(author);
    issue.assignees = std::move(assignees);
    return server.AddIssue(issue)->iid;
  };
  add({"bug", "priority::high"}, "opened", "alice", {"sync.bot"});  // 1
  add({"bug"}, "closed", "sync.bot", {});                           // 2
  add({}, "opened", "bob", {"alice", "sync.bot"});                  // 3
  add({"feature"}, "opened", "alice", {});                          // 4
  Api api(server);
  auto iids = [&](Params params) {
    params.emplace_back("sort", "asc");
    auto response = api.Get("/projects/acme%2Froadmap/issues", params);
    EXPECT_EQ(response.status, 200) << response.body;
    return Iids(response);
  };
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(iids({}), (V{1, 2, 3, 4}));
  EXPECT_EQ(iids({{"labels", "bug"}}), (V{1, 2}));
  EXPECT_EQ(iids({{"labels", "bug,priority::high"}}), (V{1}));
  EXPECT_EQ(iids({{"labels", "bug,feature"}}), V{});
  EXPECT_EQ(iids({{"labels", "None"}}), (V{3}));
  EXPECT_EQ(iids({{"labels", "Any"}}), (V{1, 2, 4}));
  EXPECT_EQ(iids({{"state", "opened"}}), (V{1, 3, 4}));
  EXPECT_EQ(iids({{"state", "closed"}}), (V{2}));
  EXPECT_EQ(iids({{"scope", "created_by_me"}}), (V{2}));
  EXPECT_EQ(iids({{"scope", "assigned_to_me"}}), (V{1, 3}));
  EXPECT_EQ(iids({{"iids[]", "2"}, {"iids[]", "4"}}), (V{2, 4}));
}

TEST(GitLabServer, GroupListsCoverSubgroupsAndOnlyWhatTheTokenSees) {
  GitLabServer server;
  AddMinuteApart(server, 2, "acme/roadmap");
  AddMinuteApart(server, 2, "acme/platform/api");
  AddMinuteApart(server, 1, "secret/vault");
  ASSERT_TRUE(server.AddProject(GitLabProject{0, "acme/attic", "Attic", "", false, true, {}}));
  AddMinuteApart(server, 1, "acme/attic");
  Api api(server);

  auto list = api.Get("/groups/acme/issues", {{"order_by", "id"}, {"sort", "asc"}});
  ASSERT_EQ(list.status, 200) << list.body;
  Value issues = MustParse(list.body);
  std::vector<std::string> refs;
  for (const Value& issue : issues.AsList()) {
    refs.push_back(std::string(issue.Find("references")->StringOr("full")) + " " +
                   std::string(issue.Find("references")->StringOr("relative")));
  }
  EXPECT_EQ(refs, (std::vector<std::string>{"acme/roadmap#1 roadmap#1", "acme/roadmap#2 roadmap#2",
                                            "acme/platform/api#1 platform/api#1",
                                            "acme/platform/api#2 platform/api#2"}));
  // The archived project's issues only when asked.
  EXPECT_EQ(Iids(api.Get("/groups/10/issues", {{"non_archived", "false"}})).size(), 5u);
  // The subgroup alone, by encoded path.
  EXPECT_EQ(Iids(api.Get("/groups/acme%2Fplatform/issues")).size(), 2u);

  // A group token sees its group; a project token only its project.
  Api group_token(server, std::string(kGitLabGroupToken));
  EXPECT_EQ(Iids(group_token.Get("/groups/acme/issues")).size(), 4u);
  Api project_token(server, std::string(kGitLabProjectToken));
  EXPECT_EQ(Iids(project_token.Get("/projects/101/issues")).size(), 2u);
  EXPECT_EQ(project_token.Get("/projects/102/issues").status, 404);
  // Its bot sees the group above, but lists only its project's issues there.
  EXPECT_EQ(Iids(project_token.Get("/groups/acme/issues")).size(), 2u);
}

TEST(GitLabServer, AuthErrorsHaveGitLabsBodies) {
  GitLabServer server;
  Api api(server);
  HttpTestClient raw(server.base_url());

  auto missing = raw.Get("/api/v4/projects/101/issues");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body, R"({"message":"401 Unauthorized"})");
  auto wrong = raw.Get("/api/v4/user", {{"Authorization", "Bearer glpat-00000000000000000000"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, R"({"message":"401 Unauthorized"})");

  Api read_user(server, std::string(kGitLabReadUserToken));
  EXPECT_EQ(read_user.Get("/user").status, 200);
  auto scoped = read_user.Get("/projects/101/issues");
  EXPECT_EQ(scoped.status, 403);
  EXPECT_EQ(scoped.body,
            R"({"error":"insufficient_scope","error_description":"The request requires higher )"
            R"(privileges than provided by the access token.","scope":"api read_api"})");
  EXPECT_NE(HeaderOr(scoped, "www-authenticate").find("insufficient_scope"), std::string::npos);

  auto hidden = api.Get("/projects/secret%2Fvault/issues");
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(hidden.body, R"({"message":"404 Project Not Found"})");
  EXPECT_EQ(api.Get("/projects/201").body, R"({"message":"404 Project Not Found"})");
  EXPECT_EQ(api.Get("/projects/99999/issues").body, R"({"message":"404 Project Not Found"})");
  auto hidden_group = api.Get("/groups/secret/issues");
  EXPECT_EQ(hidden_group.status, 404);
  EXPECT_EQ(hidden_group.body, R"({"message":"404 Group Not Found"})");
  // An unencoded path is another route.
  auto unencoded = api.Get("/projects/acme/roadmap/issues");
  EXPECT_EQ(unencoded.status, 404);
  EXPECT_EQ(unencoded.body, R"({"error":"404 Not Found"})");

  ASSERT_TRUE(server.ExpireToken(kGitLabApiToken));
  Api expired(server, std::string(kGitLabApiToken));
  auto old = expired.Get("/user");
  EXPECT_EQ(old.status, 401);
  EXPECT_EQ(old.body, R"({"error":"invalid_token","error_description":"Token has expired."})");

  // PRIVATE-TOKEN and private_token= work too; the log names the way, never the token.
  auto header = raw.Get("/api/v4/user", {{"PRIVATE-TOKEN", std::string(kGitLabToken)}});
  EXPECT_EQ(header.status, 200);
  auto param = raw.Get("/api/v4/user?private_token=" + std::string(kGitLabToken));
  EXPECT_EQ(param.status, 200);
  auto log = server.requests();
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[log.size() - 2].auth, GitLabServer::AuthMethod::kPrivateTokenHeader);
  EXPECT_EQ(log.back().auth, GitLabServer::AuthMethod::kPrivateTokenParam);
  EXPECT_EQ(log[0].auth, GitLabServer::AuthMethod::kNone);
  EXPECT_EQ(log[1].auth, GitLabServer::AuthMethod::kBearer);
  for (const auto& request : log) {
    std::string all = request.target;
    for (const auto& [name, value] : request.headers) {
      all += name + ": " + value + "\n";
    }
    for (const auto& [key, value] : request.query) {
      all += key + "=" + value + "\n";
    }
    EXPECT_EQ(all.find("glpat-"), std::string::npos) << all;
  }
  EXPECT_EQ(server.StatusCount(401), 3u);
}

TEST(GitLabServer, UserVersionProjectAndGroupShapes) {
  GitLabServerOptions options;
  options.path_prefix = "/gitlab";
  GitLabServer server(options);
  Api api(server);

  Value user = MustParse(api.Get("/user").body);
  EXPECT_EQ(user.StringOr("username"), "sync.bot");
  EXPECT_EQ(user.Find("id")->AsInt(), 24);
  EXPECT_EQ(user.StringOr("email"), "sync.bot@example.com");
  EXPECT_EQ(user.StringOr("state"), "active");

  Value self = MustParse(api.Get("/personal_access_tokens/self").body);
  EXPECT_EQ(self.Find("scopes")->ToJson(), R"(["read_api"])");
  EXPECT_EQ(self.Find("user_id")->AsInt(), 24);
  EXPECT_TRUE(self.Find("active")->AsBool());
  EXPECT_EQ(self.StringOr("expires_at"), "2027-11-01");

  Value version = MustParse(api.Get("/version").body);
  EXPECT_EQ(version.StringOr("version"), "18.5.1-ee");
  EXPECT_FALSE(version.StringOr("revision").empty());

  Value project = MustParse(api.Get("/projects/acme%2Fplatform%2Fapi").body);
  EXPECT_EQ(project.Find("id")->AsInt(), 102);
  EXPECT_EQ(project.StringOr("path"), "api");
  EXPECT_EQ(project.StringOr("path_with_namespace"), "acme/platform/api");
  EXPECT_EQ(project.StringOr("web_url"), server.base_url() + "/acme/platform/api");
  EXPECT_EQ(project.Find("namespace")->StringOr("full_path"), "acme/platform");
  EXPECT_EQ(project.Find("namespace")->StringOr("kind"), "group");
  EXPECT_FALSE(project.Find("archived")->AsBool());

  Value group = MustParse(api.Get("/groups/11").body);
  EXPECT_EQ(group.StringOr("full_path"), "acme/platform");
  EXPECT_EQ(group.StringOr("path"), "platform");
  EXPECT_EQ(group.Find("parent_id")->AsInt(), 10);
  EXPECT_EQ(group.StringOr("web_url"), server.base_url() + "/groups/acme/platform");

  // Nothing answers at the root without the prefix.
  HttpTestClient raw(server.server().base_url());
  EXPECT_EQ(raw.Get("/api/v4/version", {{"PRIVATE-TOKEN", std::string(kGitLabToken)}}).status, 404);
}

TEST(GitLabServer, IssueJsonHasGitLabsShape) {
  GitLabServer server;
  server.SetNow(kT0);
  ASSERT_TRUE(server.AddMilestone(
      "acme/roadmap", GitLabMilestone{0, 0, "v4.0", "", "active", "2024-06-30", std::nullopt}));
  GitLabIssue issue;
  issue.title = "Ship the board";
  issue.description = "Steps:\n- [x] design\n- [ ] build";
  issue.labels = {"feature", "team::board"};
  issue.assignees = {"alice", "bob"};
  issue.author = "zoe";
  issue.milestone = "v4.0";
  issue.weight = 3;
  issue.time_estimate_seconds = 3 * 3600 + 30 * 60;
  issue.due_date = "2024-07-22";
  issue.created_ms = kT0 - 86'400'000 + 81;
  auto ref = server.AddIssue(issue);
  ASSERT_TRUE(ref);
  ASSERT_TRUE(server.CloseIssue(ref->id, "alice"));
  Api api(server);

  auto response = api.Get("/projects/101/issues/" + std::to_string(ref->iid));
  ASSERT_EQ(response.status, 200) << response.body;
  Value got = MustParse(response.body);
  EXPECT_EQ(got.Find("id")->AsInt(), ref->id);
  EXPECT_EQ(got.Find("iid")->AsInt(), 1);
  EXPECT_EQ(got.Find("project_id")->AsInt(), 101);
  EXPECT_EQ(got.StringOr("state"), "closed");
  EXPECT_EQ(got.StringOr("created_at"), "2024-04-30T10:00:00.081Z");
  EXPECT_EQ(got.StringOr("updated_at"), "2024-05-01T10:00:00.000Z");
  EXPECT_EQ(got.StringOr("closed_at"), "2024-05-01T10:00:00.000Z");
  EXPECT_EQ(got.Find("closed_by")->StringOr("username"), "alice");
  EXPECT_EQ(got.Find("labels")->ToJson(), R"(["feature","team::board"])");
  EXPECT_EQ(got.Find("milestone")->StringOr("title"), "v4.0");
  EXPECT_EQ(got.Find("milestone")->StringOr("due_date"), "2024-06-30");
  EXPECT_EQ(got.Find("assignees")->AsList().size(), 2u);
  EXPECT_EQ(got.Find("assignee")->StringOr("username"), "alice");
  EXPECT_EQ(got.Find("author")->StringOr("name"), "Zoë Ångström");
  EXPECT_EQ(got.Find("author")->Find("email"), nullptr);
  EXPECT_EQ(got.StringOr("type"), "ISSUE");
  EXPECT_EQ(got.StringOr("issue_type"), "issue");
  EXPECT_EQ(got.StringOr("due_date"), "2024-07-22");
  EXPECT_EQ(got.Find("weight")->AsInt(), 3);
  EXPECT_EQ(got.Find("time_stats")->ToJson(),
            R"({"human_time_estimate":"3h 30m","human_total_time_spent":null,)"
            R"("time_estimate":12600,"total_time_spent":0})");
  EXPECT_EQ(got.Find("task_completion_status")->ToJson(), R"({"completed_count":1,"count":2})");
  EXPECT_TRUE(got.Find("has_tasks")->AsBool());
  EXPECT_EQ(got.Find("references")->ToJson(),
            R"({"full":"acme/roadmap#1","relative":"#1","short":"#1"})");
  EXPECT_EQ(got.StringOr("web_url"), server.base_url() + "/acme/roadmap/-/issues/1");
  EXPECT_EQ(got.Find("_links")->StringOr("self"), server.api_url() + "/projects/101/issues/1");
  EXPECT_TRUE(got.Find("moved_to_id")->IsNull());
  EXPECT_TRUE(got.Find("epic")->IsNull());
  EXPECT_FALSE(got.Find("confidential")->AsBool());

  server.SetPaidTier(false);
  Value free = MustParse(api.Get("/projects/101/issues/1").body);
  EXPECT_EQ(free.Find("weight"), nullptr);
  EXPECT_EQ(free.Find("epic"), nullptr);
}

TEST(GitLabServer, MovedIssuesStayClosedAndDeletedOnesAre404) {
  GitLabServer server;
  server.SetNow(kT0);
  auto refs = AddMinuteApart(server, 2);
  server.SetNow(kT0 + 3'600'000);
  auto moved = server.MoveIssue(refs[0].id, "acme/platform/api");
  ASSERT_TRUE(moved);
  EXPECT_NE(moved->id, refs[0].id);
  EXPECT_EQ(moved->project_id, 102);
  EXPECT_EQ(moved->iid, 1);
  ASSERT_TRUE(server.DeleteIssue(refs[1].id));
  Api api(server);

  Value old = MustParse(api.Get("/projects/101/issues/1").body);
  EXPECT_EQ(old.StringOr("state"), "closed");
  EXPECT_EQ(old.Find("moved_to_id")->AsInt(), moved->id);
  EXPECT_EQ(old.StringOr("updated_at"), "2024-05-01T11:00:00.000Z");
  Value copy = MustParse(api.Get("/projects/102/issues/1").body);
  EXPECT_EQ(copy.Find("id")->AsInt(), moved->id);
  EXPECT_EQ(copy.StringOr("title"), "Issue 1");
  EXPECT_EQ(copy.StringOr("state"), "opened");

  auto gone = api.Get("/projects/101/issues/2");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, R"({"message":"404 Not found"})");
  EXPECT_EQ(Iids(api.Get("/projects/101/issues")), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(Iids(api.Get("/groups/acme/issues", {{"order_by", "id"}, {"sort", "asc"}})),
            (std::vector<std::int64_t>{1, 1}));
}

TEST(GitLabServer, ScriptedRateLimitsAnswer429WithGitLabsHeaders) {
  GitLabServer server;
  AddMinuteApart(server, 1);
  Api api(server);
  server.InjectFault(GitLabServer::Fault::RateLimited(30).Times(2));

  std::int64_t before = NowMs() / 1000;
  auto limited = api.Get("/projects/101/issues");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body, R"({"message":"Retry later"})");
  EXPECT_EQ(HeaderOr(limited, "retry-after"), "30");
  EXPECT_EQ(HeaderOr(limited, "ratelimit-limit"), "2000");
  EXPECT_EQ(HeaderOr(limited, "ratelimit-observed"), "2001");
  EXPECT_EQ(HeaderOr(limited, "ratelimit-remaining"), "0");
  std::int64_t reset = std::stoll(HeaderOr(limited, "ratelimit-reset", "0"));
  EXPECT_GE(reset, before + 30);
  EXPECT_LE(reset, NowMs() / 1000 + 30);
  EXPECT_TRUE(HeaderOr(limited, "ratelimit-resettime").ends_with(" GMT"));
  // Faults come before authentication and only hit what they name.
  EXPECT_EQ(api.Get("/user").status, 200);
  EXPECT_EQ(api.Get("/groups/acme/issues").status, 429);
  EXPECT_EQ(api.Get("/projects/101/issues").status, 200);
  EXPECT_EQ(server.pending_faults(), 0u);

  server.InjectFault(GitLabServer::Fault::RateLimited(5, /*with_retry_after=*/false,
                                                      /*json=*/false)
                         .On("/api/v4/projects/101"));
  EXPECT_EQ(api.Get("/projects/102/issues").status, 200);
  auto text = api.Get("/projects/101/issues/1");
  EXPECT_EQ(text.status, 429);
  EXPECT_EQ(text.body, "Retry later\n");
  EXPECT_EQ(HeaderOr(text, "retry-after"), "<absent>");
  EXPECT_NE(HeaderOr(text, "ratelimit-reset"), "<absent>");

  EXPECT_EQ(server.StatusCount(429), 3u);
  EXPECT_EQ(server.list_requests(), 4u);
  EXPECT_EQ(server.RequestCount("/api/v4/projects/101/issues"), 2u);
  auto log = server.requests();
  EXPECT_TRUE(log.front().faulted);
  EXPECT_TRUE(log.front().issue_list);
}

TEST(GitLabServer, OtherFaultsReplaceOrBendTheRealAnswer) {
  GitLabServer server;
  AddMinuteApart(server, 1);
  Api api(server);
  server.InjectFault(GitLabServer::Fault::HtmlLoginPage());
  auto html = api.Get("/projects/101/issues");
  EXPECT_EQ(html.status, 200);
  EXPECT_NE(HeaderOr(html, "content-type").find("text/html"), std::string::npos);
  server.InjectFault(GitLabServer::Fault::MalformedJson());
  EXPECT_FALSE(ParseJson(api.Get("/projects/101/issues").body).has_value());
  server.InjectFault(GitLabServer::Fault::WithHeaders(
      {{"Link", "<http://elsewhere.example/api/v4/projects/101/issues?page=2>; rel=\"next\""}}));
  auto bent = api.Get("/projects/101/issues");
  EXPECT_EQ(Iids(bent).size(), 1u);
  EXPECT_EQ(NextLink(bent), "http://elsewhere.example/api/v4/projects/101/issues?page=2");
  server.InjectFault(GitLabServer::Fault::Delay(std::chrono::milliseconds(150)).On("*"));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(api.Get("/version").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
}

}  // namespace
}  // namespace boardsync

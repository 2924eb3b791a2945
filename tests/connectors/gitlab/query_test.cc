// What the GitLab connector writes in URLs: the API root from what users
// paste as base_url, project and group paths, the list's parameters and
// `updated` bounds to the second, where a list goes on, and keys.
#include "connectors/gitlab/query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time.h"

namespace boardsync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Root(std::string_view base_url) {
  auto root = GitLabRootUrl(base_url);
  EXPECT_TRUE(root) << base_url << ": " << (root ? "" : root.error().message);
  return root ? *root : "";
}

TEST(GitLabRootUrl, TheInstanceRootWithItsRelativePath) {
  EXPECT_EQ(Root("https://gitlab.com"), "https://gitlab.com");
  EXPECT_EQ(Root("https://gitlab.com/"), "https://gitlab.com");
  EXPECT_EQ(Root(" https://gitlab.example.com "), "https://gitlab.example.com");
  EXPECT_EQ(Root("https://host.example/gitlab/"), "https://host.example/gitlab");
  EXPECT_EQ(Root("https://host.example:8443/gitlab"), "https://host.example:8443/gitlab");
  // The API's own URL, pasted from its docs, is cut back to the root.
  EXPECT_EQ(Root("https://gitlab.com/api/v4"), "https://gitlab.com");
  EXPECT_EQ(Root("https://host.example/gitlab/api/v4/"), "https://host.example/gitlab");
  EXPECT_EQ(Root("https://host.example/api/v4/projects/101/issues"), "https://host.example");
  EXPECT_EQ(Root("https://host.example/gitlab//api/v4"), "https://host.example/gitlab");
}

TEST(GitLabRootUrl, RefusesWhatIsNoRoot) {
  auto query = GitLabRootUrl("https://gitlab.example.com/?private_token=x");
  ASSERT_FALSE(query);
  EXPECT_EQ(query.error().code, ErrorCode::kConfig);
  EXPECT_THAT(query.error().message, HasSubstr("without a query"));
  // A project's page on gitlab.com: the project goes in `project`.
  auto page = GitLabRootUrl("https://gitlab.com/acme/roadmap");
  ASSERT_FALSE(page);
  EXPECT_THAT(page.error().message, HasSubstr("`project`"));
  EXPECT_FALSE(GitLabRootUrl("gitlab.com"));
  EXPECT_FALSE(GitLabRootUrl("ftp://gitlab.com"));
}

TEST(CheckGitLabPath, FullPathsAndNumericIds) {
  for (std::string_view path :
       {"acme/roadmap", "acme/platform/api", "my.group/my-project_1", "alice/notes", "101"}) {
    EXPECT_TRUE(CheckGitLabPath(path, GitLabScope::kProject)) << path;
  }
  for (std::string_view path : {"acme", "acme/platform", "10"}) {
    EXPECT_TRUE(CheckGitLabPath(path, GitLabScope::kGroup)) << path;
  }
}

TEST(CheckGitLabPath, RefusesWhatIsNoPathWithAReason) {
  auto message = [](std::string_view path, GitLabScope scope) {
    auto checked = CheckGitLabPath(path, scope);
    EXPECT_FALSE(checked) << path;
    return checked ? std::string() : checked.error().message;
  };
  EXPECT_THAT(message("roadmap", GitLabScope::kProject), HasSubstr("use \"group\" instead"));
  EXPECT_THAT(message("https://gitlab.com/acme/roadmap", GitLabScope::kProject),
              HasSubstr("not a URL"));
  EXPECT_THAT(message("/acme/roadmap", GitLabScope::kProject), HasSubstr("leading or trailing"));
  EXPECT_THAT(message("acme/", GitLabScope::kGroup), HasSubstr("leading or trailing"));
  EXPECT_THAT(message("acme//roadmap", GitLabScope::kProject), HasSubstr("empty or relative"));
  EXPECT_THAT(message("acme/../secret", GitLabScope::kProject), HasSubstr("empty or relative"));
  EXPECT_THAT(message("Acme Corp/Road Map", GitLabScope::kProject),
              HasSubstr("not its display name"));
  EXPECT_THAT(message("acme%2Froadmap", GitLabScope::kProject), HasSubstr("display name"));
  EXPECT_THAT(message("", GitLabScope::kGroup), HasSubstr("\"group\""));
}

TEST(GitLabPathId, PathsAreEncodedAndIdsNot) {
  EXPECT_EQ(GitLabPathId("acme/platform/api"), "acme%2Fplatform%2Fapi");
  EXPECT_EQ(GitLabPathId("my.group/my-project_1"), "my.group%2Fmy-project_1");
  EXPECT_EQ(GitLabPathId("101"), "101");
}

TEST(GitLabBounds, WholeSecondsRoundedOutward) {
  const std::int64_t second = *ParseIsoUtc("2024-05-01T10:00:00Z");
  EXPECT_EQ(GitLabUpdatedAfter(second), "2024-05-01T10:00:00Z");
  EXPECT_EQ(GitLabUpdatedAfter(second + 999), "2024-05-01T10:00:00Z");
  EXPECT_EQ(GitLabUpdatedBefore(second), "2024-05-01T10:00:00Z");
  EXPECT_EQ(GitLabUpdatedBefore(second + 1), "2024-05-01T10:00:01Z");
  EXPECT_EQ(GitLabUpdatedBefore(second + 999), "2024-05-01T10:00:01Z");
  EXPECT_EQ(GitLabUpdatedAfter(0), "1970-01-01T00:00:00Z");
}

TEST(GitLabListUrl, AProjectListOldestChangeFirstInKeysetPages) {
  GitLabListQuery query;
  query.scope = GitLabScope::kProject;
  query.id = "101";
  query.labels = {"priority::high", "bug"};
  query.state = "opened";
  query.per_page = 50;
  query.updated_from_ms = *ParseIsoUtc("2024-05-01T10:00:00.500Z");
  query.updated_to_ms = *ParseIsoUtc("2024-05-01T11:00:00.250Z");
  EXPECT_EQ(GitLabListUrl("https://gitlab.example.com/api/v4", query),
            "https://gitlab.example.com/api/v4/projects/101/issues?scope=all&state=opened"
            "&labels=priority%3A%3Ahigh%2Cbug&order_by=updated_at&sort=asc&per_page=50"
            "&updated_after=2024-05-01T10%3A00%3A00Z&updated_before=2024-05-01T11%3A00%3A01Z"
            "&pagination=keyset");
}

TEST(GitLabListUrl, AGroupListNewestFirstWithoutBounds) {
  GitLabListQuery query;
  query.scope = GitLabScope::kGroup;
  query.id = GitLabPathId("acme/platform");
  query.newest_first = true;
  query.per_page = 3;
  const std::string url = GitLabListUrl("https://host.example/gitlab/api/v4", query);
  EXPECT_EQ(url,
            "https://host.example/gitlab/api/v4/groups/acme%2Fplatform/issues?scope=all&state=all"
            "&order_by=updated_at&sort=desc&per_page=3");
  // GitLab offers keyset pages for project issues only.
  EXPECT_THAT(url, Not(HasSubstr("pagination")));
}

constexpr char kApi[] = "https://gitlab.example.com/api/v4";
constexpr char kFrom[] =
    "https://gitlab.example.com/api/v4/projects/101/issues?scope=all&per_page=2&page=2";

TEST(GitLabNextPageUrl, TheLinkHeadersNextFirst) {
  const std::string link =
      "<https://gitlab.example.com/api/v4/projects/101/issues?scope=all&per_page=2&page=1>; "
      "rel=\"prev\", "
      "<https://gitlab.example.com/api/v4/projects/101/issues?scope=all&per_page=2&page=3>; "
      "rel=\"next\", "
      "<https://gitlab.example.com/api/v4/projects/101/issues?scope=all&per_page=2&page=1>; "
      "rel=\"first\"";
  auto next = GitLabNextPageUrl(link, "3", kFrom, kApi);
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(*next,
            "https://gitlab.example.com/api/v4/projects/101/issues?scope=all&per_page=2&page=3");
  // A keyset page names only its next, with a cursor.
  auto keyset = GitLabNextPageUrl(
      "<https://gitlab.example.com/api/v4/projects/101/issues?cursor=eyJpZCI6Ijc2In0&"
      "pagination=keyset>; rel=\"next\"",
      std::nullopt, kFrom, kApi);
  ASSERT_TRUE(keyset);
  EXPECT_THAT(*keyset, HasSubstr("cursor=eyJpZCI6Ijc2In0"));
}

TEST(GitLabNextPageUrl, XNextPageWhenTheLinkSaysNothing) {
  auto next = GitLabNextPageUrl(std::nullopt, "3", kFrom, kApi);
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(*next,
            "https://gitlab.example.com/api/v4/projects/101/issues?scope=all&per_page=2&page=3");
  // A Link without rel="next" (the last page's prev and first).
  auto only_prev = GitLabNextPageUrl(
      "<https://gitlab.example.com/api/v4/projects/101/issues?page=1>; rel=\"prev\"", "", kFrom,
      kApi);
  ASSERT_TRUE(only_prev);
  EXPECT_EQ(*only_prev, "");
  // Neither: the last page.
  auto last = GitLabNextPageUrl(std::nullopt, std::nullopt, kFrom, kApi);
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, "");
  // A first page without page= gets one.
  auto first = GitLabNextPageUrl(
      std::nullopt, "2", "https://gitlab.example.com/api/v4/groups/10/issues?state=all", kApi);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "https://gitlab.example.com/api/v4/groups/10/issues?state=all&page=2");
  auto garbled = GitLabNextPageUrl(std::nullopt, "3; DROP", kFrom, kApi);
  ASSERT_FALSE(garbled);
  EXPECT_EQ(garbled.error().code, ErrorCode::kBadResponse);
}

TEST(GitLabNextPageUrl, ALinkOffTheApiIsNeverFollowed) {
  for (std::string_view link :
       {"<https://evil.example/api/v4/projects/101/issues?page=3>; rel=\"next\"",
        "<http://gitlab.example.com/api/v4/projects/101/issues?page=3>; rel=\"next\"",
        "<https://gitlab.example.com/admin/users>; rel=\"next\"",
        "<https://gitlab.example.com/api/v4/../../admin>; rel=\"next\"",
        "<//evil.example/api/v4/x>; rel=\"next\""}) {
    auto next = GitLabNextPageUrl(link, "3", kFrom, kApi);
    ASSERT_FALSE(next) << link;
    EXPECT_EQ(next.error().code, ErrorCode::kBadResponse);
    EXPECT_THAT(next.error().message, HasSubstr("not following it with the token"));
  }
}

TEST(ParseGitLabKey, ReferencesFull) {
  auto key = ParseGitLabKey("acme/platform/api#12");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->project, "acme/platform/api");
  EXPECT_EQ(key->iid, 12);
  for (std::string_view bad : {"RAP-12", "acme/roadmap#0", "acme/roadmap#x", "#12", "roadmap#12",
                               "acme/roadmap#", "acme/roadmap", "101#3", "acme/../x#1"}) {
    EXPECT_FALSE(ParseGitLabKey(bad)) << bad;
  }
}

}  // namespace
}  // namespace boardsync

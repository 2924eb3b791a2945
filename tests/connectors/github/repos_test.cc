// What names things on GitHub: the API root a base_url stands for (and what
// to write instead of a wrong one), GraphQL's endpoint, repositories, keys,
// and the repository an issue's URLs name.

#include "connectors/github/repos.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace boardsync {
namespace {

using testing::HasSubstr;

TEST(GitHubReposTest, TheApiRootIsApiGitHubComOrEnterpriseServersApiV3) {
  EXPECT_EQ(*GitHubApiRoot("https://api.github.com"), "https://api.github.com");
  EXPECT_EQ(*GitHubApiRoot("https://api.github.com/"), "https://api.github.com");
  EXPECT_EQ(*GitHubApiRoot("https://ghe.acme.example/api/v3/"), "https://ghe.acme.example/api/v3");
  EXPECT_EQ(*GitHubApiRoot("https://acme.example/ghe/api/v3"), "https://acme.example/ghe/api/v3");
  EXPECT_EQ(*GitHubApiRoot("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
}

TEST(GitHubReposTest, AWrongBaseUrlSaysWhatToWrite) {
  auto web = GitHubApiRoot("https://github.com");
  ASSERT_FALSE(web);
  EXPECT_EQ(web.error().code, ErrorCode::kConfig);
  EXPECT_THAT(web.error().message, HasSubstr("https://api.github.com"));
  auto host = GitHubApiRoot("https://ghe.acme.example");
  ASSERT_FALSE(host);
  EXPECT_THAT(host.error().message, HasSubstr("write https://ghe.acme.example/api/v3"));
  auto graphql = GitHubApiRoot("https://ghe.acme.example/api/graphql");
  ASSERT_FALSE(graphql);
  EXPECT_THAT(graphql.error().message, HasSubstr("write https://ghe.acme.example/api/v3"));
  EXPECT_FALSE(GitHubApiRoot("https://api.github.com/v3"));
  EXPECT_FALSE(GitHubApiRoot("https://api.github.com?x=1"));
}

TEST(GitHubReposTest, GraphQlLivesBesideTheRestApi) {
  EXPECT_EQ(GitHubGraphQlUrl("https://api.github.com"), "https://api.github.com/graphql");
  EXPECT_EQ(GitHubGraphQlUrl("https://ghe.acme.example/api/v3"),
            "https://ghe.acme.example/api/graphql");
  EXPECT_EQ(GitHubGraphQlUrl("http://127.0.0.1:9"), "http://127.0.0.1:9/graphql");
}

TEST(GitHubReposTest, RepositoriesAreOwnerSlashNameInGitHubsCharacters) {
  EXPECT_EQ(GitHubRepoProblem("octocat/Hello-World"), "");
  EXPECT_EQ(GitHubRepoProblem("acme-corp/app.v2_beta"), "");
  EXPECT_THAT(GitHubRepoProblem("octocat"), HasSubstr("exactly one '/'"));
  EXPECT_THAT(GitHubRepoProblem("a/b/c"), HasSubstr("exactly one '/'"));
  EXPECT_THAT(GitHubRepoProblem("/app"), HasSubstr("owner"));
  EXPECT_THAT(GitHubRepoProblem("ac me/app"), HasSubstr("owner"));
  EXPECT_THAT(GitHubRepoProblem("acme/"), HasSubstr("repository name"));
  EXPECT_THAT(GitHubRepoProblem("acme/.."), HasSubstr("repository name"));
  EXPECT_THAT(GitHubRepoProblem("acme/a?b"), HasSubstr("repository name"));
  EXPECT_THAT(GitHubRepoProblem(std::string(40, 'a') + "/x"), HasSubstr("owner"));
  EXPECT_TRUE(SameGitHubRepo("Acme/App", "acme/app"));
  EXPECT_EQ(ConfiguredRepo({"Acme/App", "acme/lib"}, "acme/app"), "Acme/App");
  EXPECT_FALSE(ConfiguredRepo({"acme/lib"}, "acme/app"));
}

TEST(GitHubReposTest, KeysAreRepositoryHashNumber) {
  auto key = ParseGitHubKey("acme/app#42");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->repo, "acme/app");
  EXPECT_EQ(key->number, 42);
  EXPECT_EQ(GitHubKey("acme/app", 42), "acme/app#42");
  EXPECT_FALSE(ParseGitHubKey("acme/app#"));
  EXPECT_FALSE(ParseGitHubKey("acme/app#0"));
  EXPECT_FALSE(ParseGitHubKey("acme/app#-1"));
  EXPECT_FALSE(ParseGitHubKey("acme/app#4x"));
  EXPECT_FALSE(ParseGitHubKey("RAP-42"));
  EXPECT_FALSE(ParseGitHubKey("acme#42"));
}

TEST(GitHubReposTest, TheRepositoryOfAnIssueIsReadFromItsUrls) {
  EXPECT_EQ(GitHubRepoOfUrl("https://api.github.com/repos/octocat/Hello-World"),
            "octocat/Hello-World");
  EXPECT_EQ(GitHubRepoOfUrl("https://api.github.com/repos/octocat/Hello-World/issues/3"),
            "octocat/Hello-World");
  EXPECT_EQ(GitHubRepoOfUrl("https://ghe.acme.example/api/v3/repos/acme/app"), "acme/app");
  EXPECT_EQ(GitHubRepoOfUrl("https://github.com/acme/app/issues/7"), "acme/app");
  EXPECT_EQ(GitHubRepoOfUrl("https://api.github.com/repositories/1296269/issues/7"), "");
  EXPECT_EQ(GitHubRepoOfUrl("not a url"), "");
}

}  // namespace
}  // namespace boardsync

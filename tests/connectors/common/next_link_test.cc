#include "connectors/common/next_link.h"

#include <gtest/gtest.h>

namespace boardsync {
namespace {

TEST(FindLinkTest, ReadsTheRelationsGitHubAndGitLabSend) {
  const std::string github =
      "<https://api.github.com/repositories/1300192/issues?page=2>; rel=\"next\", "
      "<https://api.github.com/repositories/1300192/issues?page=9>; rel=\"last\"";
  EXPECT_EQ(FindLink(github, "next"), "https://api.github.com/repositories/1300192/issues?page=2");
  EXPECT_EQ(FindLink(github, "last"), "https://api.github.com/repositories/1300192/issues?page=9");
  EXPECT_EQ(FindLink(github, "prev"), std::nullopt);
  // GitLab's keyset links; a rel listing several; no quotes; any case.
  EXPECT_EQ(FindLink("<https://gl.example/api/v4/projects/3/issues?cursor=eyJpZCI6IjQ2In0%3D&"
                     "pagination=keyset>; rel=\"next\"",
                     "next"),
            "https://gl.example/api/v4/projects/3/issues?cursor=eyJpZCI6IjQ2In0%3D&"
            "pagination=keyset");
  EXPECT_EQ(FindLink("</a?page=1>; rel=\"first prev\", </a?page=3>; rel=NEXT", "next"),
            "/a?page=3");
  EXPECT_EQ(FindLink("</a?page=1>; title=\"a, b; rel=next\"; rel=\"prev\"", "next"),
            std::nullopt);
  EXPECT_EQ(FindLink("", "next"), std::nullopt);
  EXPECT_EQ(FindLink("<broken; rel=\"next\"", "next"), std::nullopt);
}

TEST(LinkOnApiTest, FollowsLinksOnTheApiAndRefusesAnyOther) {
  const std::string from = "https://api.github.com/repos/o/r/issues?since=x";
  EXPECT_EQ(LinkOnApi("https://api.github.com/repositories/1/issues?page=2", from,
                      "https://api.github.com"),
            "https://api.github.com/repositories/1/issues?page=2");
  EXPECT_EQ(LinkOnApi("/repositories/1/issues?page=2", from, "https://api.github.com"),
            "https://api.github.com/repositories/1/issues?page=2");
  // Enterprise Server: under /api/v3 only.
  EXPECT_EQ(LinkOnApi("https://ghe.example/api/v3/repositories/1/issues?page=2",
                      "https://ghe.example/api/v3/repos/o/r/issues", "https://ghe.example/api/v3"),
            "https://ghe.example/api/v3/repositories/1/issues?page=2");
  for (const char* hostile : {
           "https://evil.example/repositories/1/issues?page=2",  // another host
           "http://api.github.com/repositories/1/issues?page=2",  // downgraded
           "https://api.github.com:8443/repositories/1/issues",   // another port
           "//evil.example/x",                                     // scheme-relative
       }) {
    auto followed = LinkOnApi(hostile, from, "https://api.github.com");
    ASSERT_FALSE(followed.has_value()) << hostile;
    EXPECT_EQ(followed.error().code, ErrorCode::kBadResponse);
    EXPECT_NE(followed.error().message.find("not following it with the token"), std::string::npos);
  }
  for (const char* outside : {
           "https://ghe.example/login?return_to=/api/v3",  // same host, outside the API
           "https://ghe.example/api/v3/../admin",
           "https://ghe.example/api/v3/%2E%2E/admin",
           "https://ghe.example/api/v30/x",
       }) {
    EXPECT_FALSE(LinkOnApi(outside, "https://ghe.example/api/v3/repos/o/r/issues",
                           "https://ghe.example/api/v3")
                     .has_value())
        << outside;
  }
}

}  // namespace
}  // namespace boardsync

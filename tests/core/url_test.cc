#include "core/url.h"

#include <gtest/gtest.h>

namespace boardsync {
namespace {

TEST(UrlTest, ParsesPartsAndDefaultPorts) {
  auto url = ParseUrl("HTTPS://Acme.YouTrack.cloud/youtrack/api/issues?query=a%20b#frag");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "acme.youtrack.cloud");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->path, "/youtrack/api/issues");
  EXPECT_EQ(url->query, "query=a%20b");
  EXPECT_EQ(url->fragment, "frag");
  EXPECT_EQ(url->Origin(), "https://acme.youtrack.cloud");
}

TEST(UrlTest, ExplicitPortIsPartOfTheOrigin) {
  auto a = ParseUrl("http://127.0.0.1:8111");
  auto b = ParseUrl("http://127.0.0.1:8112/x");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->path, "/");
  EXPECT_EQ(a->Origin(), "http://127.0.0.1:8111");
  EXPECT_FALSE(a->SameOrigin(*b));
}

TEST(UrlTest, RejectsWhatIsNotAnHttpUrl) {
  EXPECT_FALSE(ParseUrl("acme.youtrack.cloud"));
  EXPECT_FALSE(ParseUrl("ftp://host/"));
  EXPECT_FALSE(ParseUrl("https://user:pw@host/"));
  EXPECT_FALSE(ParseUrl("https://host:99999/"));
  EXPECT_FALSE(ParseUrl("https:///path"));
}

TEST(UrlTest, ResolvesRedirectLocations) {
  auto base = ParseUrl("https://h.example/youtrack/api/issues?x=1");
  ASSERT_TRUE(base);
  EXPECT_EQ(ResolveUrl(*base, "/login")->Origin() + ResolveUrl(*base, "/login")->path,
            "https://h.example/login");
  EXPECT_EQ(ResolveUrl(*base, "users")->path, "/youtrack/api/users");
  EXPECT_EQ(ResolveUrl(*base, "//other.example/a")->host, "other.example");
  EXPECT_EQ(ResolveUrl(*base, "http://h.example/a")->scheme, "http");
}

TEST(UrlTest, PercentEncodingRoundTrips) {
  std::string text = "project: RAP #Unresolved sort by: updated asc (ü)";
  std::string encoded = PercentEncode(text);
  EXPECT_EQ(encoded.find_first_of(" #():"), std::string::npos);
  EXPECT_EQ(PercentDecode(encoded), text);
  EXPECT_EQ(PercentDecode("a+b%2"), "a+b%2");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
}

TEST(UrlTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));

}

}  // namespace
}  // namespace boardsync

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

TEST(UrlTest, AUserNameOrPasswordIsRefusedFirstAndNeverRepeated) {
  for (std::string_view url : {"https://alice:S3cretPass@a.example/", "ftp://alice:S3cretPass@b",
                               "alice:S3cretPass@host:99999", "https://[::1@S3cretPass]/"}) {
    auto parsed = ParseUrl(url);
    ASSERT_FALSE(parsed) << url;
    EXPECT_NE(parsed.error().message.find("user names and passwords"), std::string::npos) << url;
    EXPECT_EQ(parsed.error().message.find("S3cretPass"), std::string::npos) << url;
    EXPECT_EQ(parsed.error().message.find("alice"), std::string::npos) << url;
  }
  EXPECT_TRUE(HasUserInfo("https://u@h/"));
  EXPECT_TRUE(HasUserInfo("u:p@h"));
  EXPECT_FALSE(HasUserInfo("https://h/path@x"));
  EXPECT_FALSE(HasUserInfo("https://h/?a=b@c"));
  EXPECT_FALSE(HasUserInfo("https://h#@"));
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
  EXPECT_TRUE(IsLoopbackHost("127.255.255.254"));
  EXPECT_TRUE(IsLoopbackHost("127.0.0.0"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("LocalHost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("0:0:0:0:0:0:0:1"));
  EXPECT_TRUE(IsLoopbackHost("0::1"));
  EXPECT_TRUE(IsLoopbackHost("::0:1"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("128.0.0.1"));
}

// Names that only look like loopback resolve wherever their owner wants.
TEST(UrlTest, NamesThatStartLikeLoopbackAreNotLoopback) {
  for (std::string_view host :
       {"127.evil.example", "127.0.0.1.nip.io", "127.0.0.1.", "127.0.0.1x", "127.0.0.1 ",
        " 127.0.0.1", "127.", "127", "localhost.evil", "localhost.", "evil-localhost",
        "localhost.localdomain", "127.0.0.1%00", "", "127.0.0.1:80"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

// Resolvers read these as addresses too (inet_aton), some not where they seem
// to point ("0127.0.0.1" is octal: 87.0.0.1): only the plain form counts.
TEST(UrlTest, ShortHexAndOctalIpv4FormsAreNotLoopback) {
  for (std::string_view host : {"127.1", "127.0.1", "0x7f.0.0.1", "0x7f000001", "2130706433",
                                "0177.0.0.1", "0127.0.0.1", "127.0.0.01", "127.0.0.256",
                                "127.0.0.1.0", "127..0.1", "+127.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(UrlTest, OnlyTheIpv6LoopbackAddressIsLoopback) {
  for (std::string_view host : {"::ffff:127.0.0.1", "::127.0.0.1", "::2", "::", "1::1",
                                "::1%lo", "[::1]", "::1:", "fe80::1", "::ffff:7f00:1"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(UrlTest, Ipv6HostsAreBracketedAddresses) {
  auto v6 = ParseUrl("http://[::1]:8080/api");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8080);
  EXPECT_EQ(v6->Origin(), "http://[::1]:8080");
  EXPECT_TRUE(IsLoopbackHost(v6->host));
  auto mapped = ParseUrl("http://[::FFFF:127.0.0.1]/");
  ASSERT_TRUE(mapped);
  EXPECT_FALSE(IsLoopbackHost(mapped->host));
  EXPECT_FALSE(ParseUrl("http://::1:8080/"));         // unbracketed
  EXPECT_FALSE(ParseUrl("http://[127.0.0.1]:8080/"));  // not IPv6
  EXPECT_FALSE(ParseUrl("http://[localhost]/"));
  EXPECT_FALSE(ParseUrl("http://[::1%25lo]/"));  // a zone
  EXPECT_FALSE(ParseUrl("http://[::1/"));
}

TEST(UrlTest, TheHostOfAParsedUrlDecidesLoopback) {
  auto loopback = [](std::string_view text) {
    auto url = ParseUrl(text);
    return url && IsLoopbackHost(url->host);
  };
  EXPECT_TRUE(loopback("http://LOCALHOST:8111/youtrack"));
  EXPECT_TRUE(loopback("http://127.0.0.1:8111"));
  EXPECT_TRUE(loopback("http://[0:0::1]:8111"));
  EXPECT_FALSE(loopback("http://127.evil.example/"));
  EXPECT_FALSE(loopback("http://127.0.0.1.nip.io:8111/"));
  EXPECT_FALSE(loopback("http://localhost.evil:8111/"));
  EXPECT_FALSE(loopback("http://127.1:8111/"));
  EXPECT_FALSE(loopback("http://0x7f.0.0.1/"));
  EXPECT_FALSE(loopback("http://[::ffff:127.0.0.1]/"));
}

}  // namespace
}  // namespace boardsync

// CpprestHttpClient through HTTP proxies, against a real loopback proxy that
// records what it sees: an https target is reached only through a CONNECT
// tunnel, so the proxy never sees the token or the request; plain http goes
// through a proxy only on this machine; NO_PROXY hosts are reached directly;
// proxy credentials go to the proxy alone and never into a message. Also the
// NO_PROXY matcher, proxy URLs and the environment variables.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <mutex>

#include "connectors/http/cpprest_http_client.h"
#include "tests/support/http_server.h"
#include "tests/support/recording_proxy.h"

namespace boardsync {
namespace {

using std::chrono::milliseconds;

const Secret& Token() {
  static const Secret token("perm:cHJveHk=.dGVzdA==.ProxyCanaryTokenSecret0000000");
  return token;
}

// The part of the token that must never show: what follows the last '.'.
constexpr std::string_view kCanary = "ProxyCanaryTokenSecret0000000";

class Recorder {
 public:
  HttpServerResponse operator()(const HttpServerRequest& request) {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    return HttpServerResponse::Json(200, R"({"via":"target"})");
  }
  std::vector<HttpServerRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  std::vector<HttpServerRequest> requests_;
};

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.auth = HttpAuth::Bearer(Token());
  request.timeout = milliseconds(5000);
  request.max_attempts = 1;
  return request;
}

HttpClientOptions Through(const std::string& proxy, const std::string& no_proxy = "") {
  HttpClientOptions options;
  options.proxy.https = ProxySettings::Proxy{proxy, "HTTPS_PROXY"};
  options.proxy.http = ProxySettings::Proxy{proxy, "HTTP_PROXY"};
  options.proxy.no_proxy = no_proxy;
  return options;
}

std::string HttpsUrl(const HttpServer& server, const std::string& path) {
  return "https://127.0.0.1:" + std::to_string(server.port()) + path;
}

TEST(CpprestHttpClientProxyTest, AnHttpsTargetIsReachedOnlyThroughAConnectTunnel) {
  // Nothing speaks TLS behind the tunnel: the handshake fails, after the
  // proxy has seen all it ever would.
  Recorder target;
  HttpServer server(std::ref(target));
  RecordingProxy proxy;
  CpprestHttpClient client(Through(proxy.url()));
  auto response = client.Send(Get(HttpsUrl(server, "/api/issues?query=SecretQuery")));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(response.error().message.find("TLS failed"), std::string::npos)
      << response.error().message;
  EXPECT_NE(response.error().message.find("through the proxy " + proxy.url()), std::string::npos)
      << response.error().message;

  const std::vector<ProxyRecord> records = proxy.records();
  ASSERT_EQ(records.size(), 1u);
  const std::string authority = "127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(records[0].request_line, "CONNECT " + authority + " HTTP/1.1");
  EXPECT_FALSE(records[0].Header("authorization"));
  EXPECT_FALSE(records[0].Header("proxy-authorization"));
  ASSERT_FALSE(records[0].tunnel_start.empty());
  EXPECT_EQ(records[0].tunnel_start[0], '\x16') << "not a TLS handshake record";
  const std::string seen = proxy.received();
  EXPECT_EQ(seen.find(kCanary), std::string::npos);
  EXPECT_EQ(seen.find("Bearer"), std::string::npos);
  EXPECT_EQ(seen.find("/api/issues"), std::string::npos);
  EXPECT_EQ(seen.find("SecretQuery"), std::string::npos);
  EXPECT_EQ(target.requests().size(), 0u);
}

TEST(CpprestHttpClientProxyTest, ProxyCredentialsGoToTheProxyAloneAndNeverIntoMessages) {
  Recorder target;
  HttpServer server(std::ref(target));
  RecordingProxy proxy;
  const std::string with_credentials =
      "http://alice:Pr0xy%3APassw0rd@127.0.0.1:" + std::to_string(proxy.port());
  CpprestHttpClient client(Through(with_credentials));
  auto response = client.Send(Get(HttpsUrl(server, "/api/issues")));
  ASSERT_FALSE(response);
  const std::vector<ProxyRecord> records = proxy.records();
  ASSERT_EQ(records.size(), 1u);
  // base64("alice:Pr0xy:Passw0rd"): percent-decoded, then sent to the proxy.
  EXPECT_EQ(records[0].Header("proxy-authorization"), "Basic YWxpY2U6UHIweHk6UGFzc3cwcmQ=");
  for (const std::string& message : {response.error().message}) {
    EXPECT_EQ(message.find("Passw0rd"), std::string::npos) << message;
    EXPECT_EQ(message.find("alice"), std::string::npos) << message;
    EXPECT_EQ(message.find("YWxpY2U6"), std::string::npos) << message;
    EXPECT_NE(message.find(proxy.url()), std::string::npos) << message;
  }

  // A proxy that wants other credentials: a config problem, said plainly.
  RecordingProxy refusing(RecordingProxy::Options{.refuse_connect = 407});
  CpprestHttpClient refused_client(
      Through("http://alice:Pr0xy%3APassw0rd@127.0.0.1:" + std::to_string(refusing.port())));
  auto refused = refused_client.Send(Get(HttpsUrl(server, "/api/issues")));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConfig);
  EXPECT_FALSE(refused.error().retriable);
  EXPECT_NE(refused.error().message.find("HTTP 407"), std::string::npos) << refused.error().message;
  EXPECT_EQ(refused.error().message.find("Passw0rd"), std::string::npos);
  EXPECT_EQ(refused.error().message.find("alice"), std::string::npos);

  // A proxy that is not there.
  std::uint16_t dead_port = FreeLoopbackPort();
  CpprestHttpClient dead_client(
      Through("http://alice:Pr0xy%3APassw0rd@127.0.0.1:" + std::to_string(dead_port)));
  auto dead = dead_client.Send(Get(HttpsUrl(server, "/api/issues")));
  ASSERT_FALSE(dead);
  EXPECT_EQ(dead.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(dead.error().message.find("http://127.0.0.1:" + std::to_string(dead_port)),
            std::string::npos)
      << dead.error().message;
  EXPECT_EQ(dead.error().message.find("Passw0rd"), std::string::npos);
  EXPECT_EQ(dead.error().message.find("alice"), std::string::npos);
  EXPECT_EQ(target.requests().size(), 0u);
}

TEST(CpprestHttpClientProxyTest, PlainHttpToLoopbackIsForwardedThroughALoopbackProxy) {
  Recorder target;
  HttpServer server(std::ref(target));
  RecordingProxy proxy;
  CpprestHttpClient client(Through(proxy.url()));
  auto response = client.Send(Get(server.base_url() + "/api/issues?%24top=5"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, R"({"via":"target"})");
  const std::vector<ProxyRecord> records = proxy.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].request_line, "GET " + server.base_url() + "/api/issues?%24top=5 HTTP/1.1");
  ASSERT_EQ(target.requests().size(), 1u);
  EXPECT_EQ(target.requests()[0].target, "/api/issues?%24top=5");
  EXPECT_EQ(target.requests()[0].Header("authorization"), "Bearer " + Token().Reveal());
  EXPECT_EQ(client.Traffic().requests, 1);
}

TEST(CpprestHttpClientProxyTest, PlainHttpIsReachedDirectlyWhenTheProxyIsNotOnThisMachine) {
  Recorder target;
  HttpServer server(std::ref(target));
  // TEST-NET-1: nothing answers there, so going through it would fail.
  CpprestHttpClient client(Through("http://192.0.2.1:3128"));
  auto response = client.Send(Get(server.base_url() + "/api/issues"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(target.requests().size(), 1u);
}

TEST(CpprestHttpClientProxyTest, NoProxyHostsAreReachedDirectly) {
  Recorder target;
  HttpServer server(std::ref(target));
  RecordingProxy proxy;
  CpprestHttpClient client(Through(proxy.url(), "example.com, 127.0.0.1"));
  auto plain = client.Send(Get(server.base_url() + "/api/issues"));
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(target.requests().size(), 1u);
  auto tls = client.Send(Get(HttpsUrl(server, "/api/issues")));
  ASSERT_FALSE(tls);  // straight to a server that speaks no TLS
  EXPECT_EQ(tls.error().message.find("proxy"), std::string::npos) << tls.error().message;
  EXPECT_TRUE(proxy.records().empty());
  EXPECT_TRUE(proxy.received().empty());
}

TEST(CpprestHttpClientProxyTest, SameOriginRedirectsAreFollowedThroughTheProxy) {
  HttpServer server([](const HttpServerRequest& request) {
    if (request.path == "/old") {
      HttpServerResponse r = HttpServerResponse::Text(301, "");
      r.headers.emplace_back("Location", "/new");
      return r;
    }
    return HttpServerResponse::Json(200, "[]");
  });
  RecordingProxy proxy;
  CpprestHttpClient client(Through(proxy.url()));
  auto response = client.Send(Get(server.base_url() + "/old"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "[]");
  const std::vector<ProxyRecord> records = proxy.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].request_line, "GET " + server.base_url() + "/new HTTP/1.1");
}

TEST(CpprestHttpClientProxyTest, AnUnusableProxyIsAConfigErrorThatDoesNotRepeatIt) {
  Recorder target;
  HttpServer server(std::ref(target));
  HttpClientOptions options;
  options.proxy.https =
      ProxySettings::Proxy{"socks5://bob:Hunter2Secret@proxy:1080", "HTTPS_PROXY"};
  CpprestHttpClient client(options);
  auto response = client.Send(Get(HttpsUrl(server, "/api/issues")));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kConfig);
  EXPECT_TRUE(response.error().message.starts_with("HTTPS_PROXY: the proxy URL"))
      << response.error().message;
  EXPECT_EQ(response.error().message.find("Hunter2Secret"), std::string::npos);
  EXPECT_EQ(response.error().message.find("bob"), std::string::npos);
  // Plain http has no proxy set here: unaffected.
  EXPECT_TRUE(client.Send(Get(server.base_url() + "/api/issues")));
}

TEST(CpprestHttpClientProxyTest, ParsesProxyUrlsAsCurlDoes) {
  auto full = ParseProxyUrl("http://us%40er:p%3Ass@Proxy.Example.com:3128/");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->host, "proxy.example.com");
  EXPECT_EQ(full->port, 3128);
  EXPECT_EQ(full->user, "us@er");
  EXPECT_EQ(full->password, "p:ss");
  EXPECT_EQ(full->Display(), "http://proxy.example.com:3128");

  auto bare = ParseProxyUrl("proxy.example.com");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->port, 1080);
  EXPECT_TRUE(bare->user.empty());

  auto ipv6 = ParseProxyUrl("http://[::1]:8080");
  ASSERT_TRUE(ipv6);
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->Display(), "http://[::1]:8080");

  for (const char* bad : {"https://u:SecretPw@proxy:443", "socks5://u:SecretPw@proxy:1080",
                          "http://u:SecretPw@proxy:99999", "http://u:SecretPw@proxy:3128/path",
                          "http://u:SecretPw@", ""}) {
    auto parsed = ParseProxyUrl(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kConfig);
    EXPECT_EQ(parsed.error().message.find("SecretPw"), std::string::npos) << parsed.error().message;
  }
  EXPECT_EQ(ParseProxyUrl("http://u:SecretPw@proxy:99999").error().message,
            "the proxy URL (not repeated here: it may hold a password) has no valid host and "
            "port (the port is not a number from 1 to 65535)");
}

TEST(CpprestHttpClientProxyTest, NoProxyMatchesAsCurlReadsTheList) {
  // Names: the name itself and its subdomains, leading dot or not, any case.
  EXPECT_TRUE(NoProxyMatches("example.com", "example.com", 443));
  EXPECT_TRUE(NoProxyMatches("example.com", "api.example.com", 443));
  EXPECT_TRUE(NoProxyMatches(".example.com", "example.com", 443));
  EXPECT_TRUE(NoProxyMatches(".example.com", "a.b.example.com", 443));
  EXPECT_TRUE(NoProxyMatches("*.example.com", "a.example.com", 443));
  EXPECT_TRUE(NoProxyMatches("EXAMPLE.com", "example.com", 443));
  EXPECT_TRUE(NoProxyMatches("example.com", "example.com.", 443));
  EXPECT_FALSE(NoProxyMatches("example.com", "notexample.com", 443));
  EXPECT_FALSE(NoProxyMatches("example.com", "example.com.evil", 443));
  EXPECT_FALSE(NoProxyMatches("api.example.com", "example.com", 443));
  // Lists: commas and spaces, empty entries ignored.
  EXPECT_TRUE(NoProxyMatches("a.test, ,b.test  c.test", "c.test", 443));
  EXPECT_FALSE(NoProxyMatches("", "example.com", 443));
  EXPECT_FALSE(NoProxyMatches(",,", "example.com", 443));
  // "*" alone matches everything; inside a name it is no wildcard.
  EXPECT_TRUE(NoProxyMatches("*", "anything.test", 443));
  EXPECT_TRUE(NoProxyMatches("a.test,*", "b.test", 443));
  EXPECT_FALSE(NoProxyMatches("exa*.com", "example.com", 443));
  // Ports.
  EXPECT_TRUE(NoProxyMatches("example.com:8443", "example.com", 8443));
  EXPECT_FALSE(NoProxyMatches("example.com:8443", "example.com", 443));
  EXPECT_FALSE(NoProxyMatches("example.com:x", "example.com", 443));
  // Addresses match addresses only, exactly or by CIDR block.
  EXPECT_TRUE(NoProxyMatches("127.0.0.1", "127.0.0.1", 80));
  EXPECT_FALSE(NoProxyMatches("127.0.0.1", "127.0.0.2", 80));
  EXPECT_TRUE(NoProxyMatches("10.0.0.0/8", "10.20.30.40", 80));
  EXPECT_FALSE(NoProxyMatches("10.0.0.0/8", "11.0.0.1", 80));
  EXPECT_TRUE(NoProxyMatches("192.168.1.7:8080", "192.168.1.7", 8080));
  EXPECT_FALSE(NoProxyMatches("192.168.1.7:8080", "192.168.1.7", 80));
  EXPECT_FALSE(NoProxyMatches("0.0.1", "10.0.0.1", 80)) << "no suffix match on addresses";
  EXPECT_TRUE(NoProxyMatches("::1", "::1", 80));
  EXPECT_TRUE(NoProxyMatches("[::1]", "::1", 80));
  EXPECT_TRUE(NoProxyMatches("[::1]:8080", "::1", 8080));
  EXPECT_FALSE(NoProxyMatches("[::1]:8080", "::1", 80));
  EXPECT_TRUE(NoProxyMatches("fd00::/8", "fd12:3456::1", 80));
  EXPECT_FALSE(NoProxyMatches("fd00::/8", "fe80::1", 80));
  EXPECT_FALSE(NoProxyMatches("127.0.0.1", "::1", 80)) << "families never match";
  EXPECT_FALSE(NoProxyMatches("localhost", "127.0.0.1", 80)) << "names are not resolved";
  EXPECT_TRUE(NoProxyMatches("localhost", "localhost", 80));
}

// Sets an environment variable for one scope, then puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
    }
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(CpprestHttpClientProxyTest, ReadsTheEnvironmentAndTheConnectionsProxyKeyWins) {
  ScopedEnv a("https_proxy", "http://lower:3128");
  ScopedEnv b("HTTPS_PROXY", "http://upper:3128");
  ScopedEnv c("http_proxy", nullptr);
  ScopedEnv d("HTTP_PROXY", "http://plain:3128");
  ScopedEnv e("no_proxy", nullptr);
  ScopedEnv f("NO_PROXY", "internal.test");

  ProxySettings env = ProxySettingsFromEnvironment();
  ASSERT_TRUE(env.https);
  EXPECT_EQ(env.https->url, "http://lower:3128");  // the lower-case name wins, as in curl
  EXPECT_EQ(env.https->source, "https_proxy");
  ASSERT_TRUE(env.http);
  EXPECT_EQ(env.http->url, "http://plain:3128");
  EXPECT_EQ(env.http->source, "HTTP_PROXY");
  EXPECT_EQ(env.no_proxy, "internal.test");

  ProxySettings configured = ProxySettingsFromEnvironment("http://mine:8080");
  ASSERT_TRUE(configured.https && configured.http);
  EXPECT_EQ(configured.https->url, "http://mine:8080");
  EXPECT_EQ(configured.http->url, "http://mine:8080");
  EXPECT_EQ(configured.no_proxy, "internal.test") << "NO_PROXY still applies";

  for (const char* none : {"", "none", "NONE"}) {
    ProxySettings off = ProxySettingsFromEnvironment(std::string(none));
    EXPECT_FALSE(off.https) << none;
    EXPECT_FALSE(off.http) << none;
  }
}

}  // namespace
}  // namespace boardsync

// CpprestHttpClient: the HttpClient implementation over cpprestsdk.
// It owns the transport policy for every outside call: TLS verification
// (optionally with a private CA), per-request timeouts, retries with capped
// exponential backoff and full jitter honouring Retry-After (a pause a server
// asks for holds every request to it, from any thread), and redirects
// decided hop by hop so that a token never leaves its origin; gzip answers,
// inflated under the size cap; and HTTP proxies (docs/configuration.md,
// "Proxies"), reached so that a token crosses a proxy only inside TLS. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/http_client.h"

namespace boardsync {

// Which proxies requests may go through, as the environment and a
// connection's `proxy` key give them. The URLs may carry user:password, a
// secret: they are never printed.
struct ProxySettings {
  struct Proxy {
    std::string url;     // "http://[user:password@]host[:port]"
    std::string source;  // where it was set, for messages: "HTTPS_PROXY", ...
  };
  std::optional<Proxy> https;  // for https targets (through a CONNECT tunnel)
  std::optional<Proxy> http;   // for plain-http targets (only through a loopback proxy)
  std::string no_proxy;        // NO_PROXY: the hosts reached directly
};

// The proxies of the environment: https_proxy or HTTPS_PROXY, http_proxy or
// HTTP_PROXY, no_proxy or NO_PROXY (the lower-case name wins, as in curl).
// `configured`, a connection's `proxy` key when set, replaces both proxies;
// "" or "none" means no proxy at all. NO_PROXY applies either way.
ProxySettings ProxySettingsFromEnvironment(
    const std::optional<std::string>& configured = std::nullopt);

// A proxy URL taken apart.
struct ProxyUrl {
  std::string host;        // lower case; IPv6 without brackets
  std::uint16_t port = 0;  // 1080 when not given, as curl assumes
  std::string user;        // percent-decoded; empty: no credentials
  std::string password;    // percent-decoded; a secret

  // "http://host:port", without the credentials: what messages show.
  std::string Display() const;
};

// Parses "http://[user[:password]@]host[:port][/]"; the "http://" may be left
// out, as curl allows. Only http:// proxies are supported (kConfig otherwise).
// Errors never repeat `text`: it may hold a password.
Result<ProxyUrl> ParseProxyUrl(std::string_view text);

// Whether NO_PROXY `no_proxy` says `host` (as in Url::host: lower case, IPv6
// without brackets) on `port` is reached directly, as curl reads the list:
// entries separated by commas (and spaces); "*" matches every host; a name
// matches itself and its subdomains, with or without a leading "." ("*." is
// read as "."); an IP address or CIDR block ("10.0.0.0/8", "::1", "[::1]")
// matches addresses only; an entry with ":port" matches that port only.
bool NoProxyMatches(std::string_view no_proxy, std::string_view host, std::uint16_t port);

struct HttpClientOptions {
  std::string ca_file;  // extra trust anchors (PEM); empty: the system store only
  // Backoff: attempt n waits a random time in [0, min(cap, base * 2^n)],
  // or Retry-After when the server sent one.
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_cap{30'000};
  // A Retry-After longer than this is not waited for: the failure is returned.
  std::chrono::milliseconds max_retry_after{120'000};
  int max_redirects = 5;
  // Answers larger than this are refused (ErrorCode::kBadResponse) without
  // being read further.
  // The cap holds for the body as received and, for gzip, as inflated: a
  // small answer that inflates past it (a gzip bomb) is stopped there.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  // None by default; the daemon passes ProxySettingsFromEnvironment().
  ProxySettings proxy;
  // How to wait between attempts, returning early when stop is requested;
  // tests replace it.
  std::function<void(std::chrono::milliseconds, std::stop_token)> sleep;
};

class CpprestHttpClient : public HttpClient {
 public:
  explicit CpprestHttpClient(HttpClientOptions options = {});
  ~CpprestHttpClient() override;

  Result<HttpResponse> Send(const HttpRequest& request) override;

  // Totals since construction; safe to read while requests run.
  HttpTraffic Traffic() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a Retry-After value: delay-seconds or an HTTP date.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace boardsync

#include "connectors/http/cpprest_http_client.h"

#include <arpa/inet.h>
#include <cpprest/rawptrstream.h>
#include <cpprest/http_client.h>
#include <cpprest/uri_builder.h>
#include <pplx/threadpool.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/redact.h"
#include "core/text.h"
#include "core/time.h"
#include "core/url.h"

namespace boardsync {
namespace {

namespace http = web::http;

constexpr std::size_t kIoThreads = 4;
constexpr std::size_t kReadChunk = 64 * 1024;
// curl's default when a proxy URL names no port.
constexpr std::uint16_t kDefaultProxyPort = 1080;
// A proxy password shorter than this is not added to the redaction list on
// its own (it would hide ordinary words); "user:password" always is.
constexpr std::size_t kMinRedactedPassword = 6;

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool IsRetriableStatus(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

// The URL without its query, for messages: short, and queries can be long.
std::string ForMessage(const Url& url) { return url.Origin() + url.path; }

bool IsIpv6Literal(const Url& url) { return url.host.find(':') != std::string::npos; }

// The base URI cpprest connects to. cpprest keeps the brackets of an IPv6
// literal in uri::host() and hands that to the resolver, which knows no
// "[::1]" ("Error resolving address"); a URI built from its parts keeps the
// bare address, which resolves as it is. The Host header, which must have the
// brackets, is then written by SendOnce().
web::uri BaseUri(const Url& url) {
  if (!IsIpv6Literal(url)) {
    return web::uri(url.Origin());
  }
  web::uri_builder builder;
  builder.set_scheme(url.scheme);
  builder.set_host(url.host);
  builder.set_port(url.port);
  return builder.to_uri();
}

// "[::1]:8080", or "[::1]" on the scheme's default port.
std::string Ipv6HostHeader(const Url& url) {
  std::string origin = url.Origin();
  return origin.substr(origin.find("://") + 3);
}

bool HasHeader(const HttpHeaders& headers, std::string_view lower_name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return AsciiLower(header.first) == lower_name; });
}

// The header `auth` asks for. The secret is revealed here and nowhere else.
void AddAuth(const HttpAuth& auth, http::http_request& message) {
  switch (auth.scheme) {
    case HttpAuth::Scheme::kBearer:
      message.headers().add("Authorization", "Bearer " + auth.secret->Reveal());
      break;
    case HttpAuth::Scheme::kBasic: {
      const std::string pair = auth.user + ":" + auth.secret->Reveal();
      const std::string encoded =
          utility::conversions::to_base64(std::vector<unsigned char>(pair.begin(), pair.end()));
      RegisterSecret(encoded, "…");  // the token in another spelling: never printed either
      message.headers().add("Authorization", "Basic " + encoded);
      break;
    }
    case HttpAuth::Scheme::kHeader:
      message.headers().add(auth.header, auth.secret->Reveal());
      break;
    case HttpAuth::Scheme::kNone:
      break;
  }
}

// Inflates a gzip body as it arrives, a chunk at a time, so that a small
// answer that would inflate to gigabytes (a gzip bomb) is stopped at the cap
// instead of filling memory. Concatenated gzip members (RFC 1952) are read
// one after the other, as gunzip does.
class GzipInflater {
 public:
  enum class Status { kOk, kTooLarge, kCorrupt };

  GzipInflater() : ready_(inflateInit2(&stream_, 16 + MAX_WBITS) == Z_OK) {}
  ~GzipInflater() {
    if (ready_) {
      inflateEnd(&stream_);
    }
  }
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  // Appends what `in` inflates to onto `out`; stops with kTooLarge rather
  // than let `out` grow past `cap`.
  Status Feed(std::string_view in, std::string& out, std::size_t cap) {
    if (!ready_) {
      problem_ = "zlib could not start";
      return Status::kCorrupt;
    }
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    stream_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      if (ended_ && stream_.avail_in > 0) {
        inflateReset(&stream_);  // the next member
        ended_ = false;
      }
      stream_.next_out = reinterpret_cast<Bytef*>(buffer_.data());
      stream_.avail_out = static_cast<uInt>(buffer_.size());
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      const std::size_t produced = buffer_.size() - stream_.avail_out;
      if (produced > cap - std::min(cap, out.size())) {
        return Status::kTooLarge;
      }
      out.append(buffer_.data(), produced);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        if (stream_.avail_in == 0) {
          return Status::kOk;
        }
        continue;
      }
      if (rc == Z_BUF_ERROR) {
        return Status::kOk;  // no progress without more input
      }
      if (rc != Z_OK) {
        problem_ = stream_.msg != nullptr ? stream_.msg : "invalid data";
        return Status::kCorrupt;
      }
      if (stream_.avail_in == 0 && stream_.avail_out != 0) {
        return Status::kOk;
      }
    }
  }

  // Whether the input so far ends a gzip member: a body that stops inside
  // one was cut short.
  bool ended() const { return ended_; }
  const std::string& problem() const { return problem_; }

 private:
  z_stream stream_{};
  bool ready_;
  bool ended_ = false;
  std::string problem_;
  std::vector<char> buffer_ = std::vector<char>(kReadChunk);  // on the heap: callers' stacks vary
};

// What a Content-Encoding header asks of the reader.
enum class Coding { kIdentity, kGzip, kUnknown };

Coding CodingOf(std::optional<std::string_view> header) {
  if (!header) {
    return Coding::kIdentity;
  }
  const std::string coding = AsciiLower(TrimSpace(*header));
  if (coding.empty() || coding == "identity") {
    return Coding::kIdentity;
  }
  if (coding == "gzip" || coding == "x-gzip") {
    return Coding::kGzip;
  }
  return Coding::kUnknown;
}

bool IsIpLiteral(std::string_view host) {
  std::string text(host);
  unsigned char address[16];
  return ::inet_pton(AF_INET, text.c_str(), address) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), address) == 1;
}

// Whether `host` is an address inside `block` ("10.0.0.0/8", "::1", an
// address alone being a block of one). Families never match each other.
bool InAddressBlock(std::string_view host, std::string_view block) {
  std::string_view base = block;
  std::optional<unsigned> bits;
  if (auto slash = block.find('/'); slash != std::string_view::npos) {
    base = block.substr(0, slash);
    std::string_view digits = block.substr(slash + 1);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      return false;
    }
    bits = n;
  }
  for (int family : {AF_INET, AF_INET6}) {
    const unsigned size = family == AF_INET ? 4 : 16;
    unsigned char want[16];
    unsigned char have[16];
    if (::inet_pton(family, std::string(base).c_str(), want) != 1 ||
        ::inet_pton(family, std::string(host).c_str(), have) != 1) {
      continue;
    }
    const unsigned prefix = bits.value_or(size * 8);
    if (prefix > size * 8) {
      return false;
    }
    for (unsigned i = 0; i < prefix; ++i) {
      const unsigned mask = 0x80u >> (i % 8);
      if ((want[i / 8] & mask) != (have[i / 8] & mask)) {
        return false;
      }
    }
    return true;
  }
  return false;
}

// One NO_PROXY entry against one host and port.
bool NoProxyEntryMatches(std::string_view entry, std::string_view host, std::uint16_t port) {
  if (entry == "*") {
    return true;
  }
  std::string name(entry);  // what is left once a port is taken off
  std::string_view port_text;
  if (entry.starts_with("[")) {
    auto close = entry.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    std::string_view after = entry.substr(close + 1);
    name = std::string(entry.substr(1, close - 1));
    if (after.starts_with(":")) {
      port_text = after.substr(1);
    } else if (after.starts_with("/")) {
      name += after;  // "[::1]/128"
    } else if (!after.empty()) {
      return false;
    }
  } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
    auto colon = entry.find(':');
    name = std::string(entry.substr(0, colon));
    port_text = entry.substr(colon + 1);
  }  // more colons: a bare IPv6 address, which has no port
  if (!port_text.empty()) {
    unsigned wanted = 0;
    auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), wanted);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || wanted != port) {
      return false;
    }
  }
  if (IsIpLiteral(host)) {
    return InAddressBlock(host, name);  // a name never matches an address
  }
  std::string_view suffix = name;
  if (suffix.starts_with("*.")) {
    suffix.remove_prefix(1);
  }
  while (suffix.starts_with(".")) {
    suffix.remove_prefix(1);
  }
  while (suffix.ends_with(".")) {
    suffix.remove_suffix(1);
  }
  if (suffix.empty()) {
    return false;
  }
  const std::string wanted = AsciiLower(suffix);
  return host == wanted || (host.size() > wanted.size() && host.ends_with(wanted) &&
                            host[host.size() - wanted.size() - 1] == '.');
}

std::optional<ProxySettings::Proxy> ProxyVariable(const char* lower, const char* upper) {
  for (const char* name : {lower, upper}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      return ProxySettings::Proxy{value, name};
    }
  }
  return std::nullopt;
}

// A proxy as the client uses it: parsed once, or why it cannot be used.
struct ProxyRoute {
  std::optional<ProxyUrl> url;
  std::optional<Error> error;
};

ProxyRoute MakeRoute(const std::optional<ProxySettings::Proxy>& proxy) {
  ProxyRoute route;
  if (!proxy) {
    return route;
  }
  auto url = ParseProxyUrl(proxy->url);
  if (!url) {
    route.error = url.error().Wrap(proxy->source);
    return route;
  }
  // Messages never hold the credentials; this keeps them out of anything
  // that passes through Redact() even by mistake.
  if (!url->user.empty() || !url->password.empty()) {
    RegisterSecret(url->user + ":" + url->password, "…");
    if (url->password.size() >= kMinRedactedPassword) {
      RegisterSecret(url->password, "…");
    }
  }
  route.url = std::move(*url);
  return route;
}

}  // namespace

std::string ProxyUrl::Display() const {
  return "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

Result<ProxyUrl> ParseProxyUrl(std::string_view text) {
  auto bad = [](std::string why) {
    return Fail(ErrorCode::kConfig, "the proxy URL (not repeated here: it may hold a password) " +
                                        why);
  };
  text = TrimSpace(text);
  std::string_view rest = text;
  if (auto sep = text.find("://"); sep != std::string_view::npos) {
    const std::string scheme = AsciiLower(text.substr(0, sep));
    if (scheme == "https") {
      return bad("starts with https://; only http:// proxies are supported (https targets still "
                 "reach their server encrypted, through a CONNECT tunnel)");
    }
    if (scheme != "http") {
      return bad("must start with http:// (other proxy kinds, such as socks, are not "
                 "supported)");
    }
    rest = text.substr(sep + 3);
  }
  const auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos && rest.substr(end) != "/") {
    return bad("must be http://host:port, with no path or query");
  }
  ProxyUrl proxy;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    proxy.user = PercentDecode(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) {
      proxy.password = PercentDecode(userinfo.substr(colon + 1));
    }
  }
  if (authority.empty()) {
    return bad("has no host");
  }
  auto url = ParseUrl("http://" + std::string(authority) + "/");
  if (!url) {
    // ParseUrl's reason, without the URL it quotes.
    const std::string& message = url.error().message;
    const auto quote = message.rfind("\": ");
    return bad("has no valid host and port (" +
               (quote == std::string::npos ? message : message.substr(quote + 3)) + ")");
  }
  proxy.host = url->host;
  bool has_port = authority.starts_with("[")
                      ? authority.find("]:") != std::string_view::npos &&
                            !authority.ends_with(":")
                      : authority.find(':') != std::string_view::npos && !authority.ends_with(":");
  proxy.port = has_port ? url->port : kDefaultProxyPort;
  return proxy;
}

bool NoProxyMatches(std::string_view no_proxy, std::string_view host, std::uint16_t port) {
  std::string target = AsciiLower(host);
  while (target.ends_with(".")) {
    target.pop_back();
  }
  std::size_t start = 0;
  while (start <= no_proxy.size()) {
    auto end = no_proxy.find_first_of(", \t", start);
    if (end == std::string_view::npos) {
      end = no_proxy.size();
    }
    std::string_view entry = no_proxy.substr(start, end - start);
    if (!entry.empty() && NoProxyEntryMatches(entry, target, port)) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

ProxySettings ProxySettingsFromEnvironment(const std::optional<std::string>& configured) {
  ProxySettings settings;
  settings.https = ProxyVariable("https_proxy", "HTTPS_PROXY");
  settings.http = ProxyVariable("http_proxy", "HTTP_PROXY");
  if (auto no_proxy = ProxyVariable("no_proxy", "NO_PROXY")) {
    settings.no_proxy = no_proxy->url;
  }
  if (configured) {
    const std::string value(TrimSpace(*configured));
    if (value.empty() || AsciiLower(value) == "none") {
      settings.https.reset();
      settings.http.reset();
    } else {
      settings.https = settings.http = ProxySettings::Proxy{value, "the connection's proxy"};
    }
  }
  return settings;
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now) {
  value = TrimSpace(value);
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    return std::chrono::milliseconds(std::max(0LL, seconds) * 1000);
  }
  // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  std::string text(value);
  const char* parsed = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (parsed == nullptr || *parsed != '\0') {
    return std::nullopt;
  }
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
  return std::max(delay, std::chrono::milliseconds(0));
}

class CpprestHttpClient::Impl {
 public:
  explicit Impl(HttpClientOptions options)
      : options_(std::move(options)),
        https_route_(MakeRoute(options_.proxy.https)),
        http_route_(MakeRoute(options_.proxy.http)) {
    if (!options_.sleep) {
      options_.sleep = [](std::chrono::milliseconds d, std::stop_token stop) {
        SleepUnlessStopped(d, std::move(stop));
      };
    }
  }

  Result<HttpResponse> Send(const HttpRequest& request) {
    auto url = ParseUrl(request.url);
    if (!url) {
      return std::unexpected(url.error());
    }
    if (request.auth.present() && url->scheme != "https" && !IsLoopbackHost(url->host)) {
      return Fail(ErrorCode::kConfig, "refusing to send a token over plain http to " +
                                          url->Origin() +
                                          "; use https (plain http only to localhost, "
                                          "127.x.y.z or [::1])");
    }
    if (url->scheme == "https" && IsIpv6Literal(*url)) {
      // cpprest checks the certificate against the Host header, which for an
      // IPv6 literal is not a name it can match.
      return Fail(ErrorCode::kConfig, "https to an IPv6 address (" + url->Origin() +
                                          ") is not supported; use a host name");
    }
    const Url origin = *url;
    std::string method = request.method;
    std::string body = request.body;
    for (int hop = 0;; ++hop) {
      auto response = SendWithRetries(*url, method, body, request);
      if (!response || !IsRedirect(response->status)) {
        return response;
      }
      auto location = response->Header("location");
      if (!location) {
        return Fail(ErrorCode::kBadResponse,
                    ForMessage(*url) + " answered a redirect without a Location");
      }
      if (hop + 1 > options_.max_redirects) {
        return Fail(ErrorCode::kBadResponse,
                    ForMessage(origin) + ": more than " + std::to_string(options_.max_redirects) +
                        " redirects");
      }
      auto next = ResolveUrl(*url, *location);
      if (!next) {
        return Fail(ErrorCode::kBadResponse,
                    ForMessage(*url) + " redirected to an invalid URL");
      }
      if (!next->SameOrigin(origin)) {
        // The token belongs to its origin; another origin (or https -> http)
        // never gets it, and without it the answer would be useless.
        return Fail(ErrorCode::kBadResponse, ForMessage(*url) + " redirected to " +
                                                 ForMessage(*next) +
                                                 ", another origin; not following it with the "
                                                 "token. Check the configured URL.");
      }
      if (response->status == 303) {
        method = "GET";
        body.clear();
      }
      Log(LogLevel::kDebug, "Following a same-origin redirect.",
          {{"from", ForMessage(*url)}, {"to", ForMessage(*next)}});
      url = std::move(next);
    }
  }

 private:
  Result<HttpResponse> SendWithRetries(const Url& url, const std::string& method,
                                       const std::string& body, const HttpRequest& request) {
    const int attempts = std::max(1, request.max_attempts);
    for (int attempt = 1;; ++attempt) {
      if (attempt == 1 && !WaitOutHold(url, request.stop)) {
        return Fail(ErrorCode::kCancelled, method + " " + ForMessage(url) + ": cancelled");
      }
      auto response = SendOnce(url, method, body, request);
      bool retriable = response ? IsRetriableStatus(response->status) : response.error().retriable;
      if (!retriable || attempt >= attempts) {
        return response;
      }
      std::chrono::milliseconds wait = Backoff(attempt);
      if (response) {
        if (auto header = response->Header("retry-after")) {
          auto after = ParseRetryAfter(*header, std::chrono::system_clock::now());
          if (after && *after > options_.max_retry_after) {
            return response;  // the caller decides; we do not block that long
          }
          if (after) {
            wait = std::max(wait, *after);
            Hold(url, *after);
          }
        }
      }
      Log(LogLevel::kWarn, "Retrying a failed request.",
          {{"url", ForMessage(url)},
           {"attempt", std::to_string(attempt)},
           {"reason", response ? "HTTP " + std::to_string(response->status)
                               : response.error().message},
           {"wait_ms", std::to_string(wait.count())}});
      options_.sleep(wait, request.stop);
      if (request.stop.stop_requested()) {
        return Fail(ErrorCode::kCancelled, method + " " + ForMessage(url) + ": cancelled");
      }
    }
  }

  // A server that asked for a pause (429 or 5xx with Retry-After) gets it
  // from every request to it, not only the one it answered: the other
  // threads of a connection (a sliced pull) wait too instead of meeting the
  // same refusal. The request that was answered waits in its retry loop.
  void Hold(const Url& url, std::chrono::milliseconds after) {
    const auto until = std::chrono::steady_clock::now() + after;
    std::lock_guard lock(mu_);
    auto& held = hold_until_[url.Origin()];
    held = std::max(held, until);
  }

  // Waits while `url`'s server asked for a pause; false when stopped.
  bool WaitOutHold(const Url& url, std::stop_token stop) {
    std::chrono::steady_clock::time_point until;
    {
      std::lock_guard lock(mu_);
      auto it = hold_until_.find(url.Origin());
      if (it == hold_until_.end()) {
        return true;
      }
      until = it->second;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() > 0) {
      Log(LogLevel::kDebug, "Waiting: the server asked for a pause.",
          {{"url", ForMessage(url)}, {"wait_ms", std::to_string(left.count())}});
      options_.sleep(left, stop);
    }
    return !stop.stop_requested();
  }

  std::chrono::milliseconds Backoff(int attempt) {
    auto ceiling = options_.backoff_base.count() << std::min(attempt - 1, 20);
    ceiling = std::min<long long>(ceiling, options_.backoff_cap.count());
    std::lock_guard lock(mu_);
    std::uniform_int_distribution<long long> dist(0, ceiling);
    return std::chrono::milliseconds(dist(rng_));
  }

  // The proxy a request to `url` goes through; nullptr: straight to it.
  Result<const ProxyUrl*> ProxyFor(const Url& url) const {
    const bool https = url.scheme == "https";
    const ProxyRoute& route = https ? https_route_ : http_route_;
    if ((!route.url && !route.error) ||
        NoProxyMatches(options_.proxy.no_proxy, url.host, url.port)) {
      return nullptr;
    }
    if (route.error) {
      return std::unexpected(*route.error);
    }
    if (!https && !IsLoopbackHost(route.url->host)) {
      // Plain http shows the token to whoever relays it: only a proxy on this
      // machine may. Plain http goes to loopback targets only, so direct works.
      return nullptr;
    }
    return &*route.url;
  }

  std::shared_ptr<http::client::http_client> ClientFor(const Url& url,
                                                       std::chrono::milliseconds timeout,
                                                       const ProxyUrl* proxy) {
    std::string key = url.Origin() + "|" + std::to_string(timeout.count()) + "|" +
                      (proxy != nullptr ? proxy->Display() : "direct");
    std::lock_guard lock(mu_);
    auto& client = clients_[key];
    if (!client) {
      http::client::http_client_config config;
      config.set_timeout(timeout);
      config.set_validate_certificates(true);
      config.set_max_redirects(0);  // redirects are decided per hop above
      config.set_https_to_http_redirects(false);
      // Compressed answers are inflated by SendOnce() under the size cap;
      // cpprest's own decoder inflates each chunk whole, cap or not.
      config.set_request_compressed_response(false);
      if (!options_.ca_file.empty()) {
        std::string ca_file = options_.ca_file;
        config.set_ssl_context_callback([ca_file](boost::asio::ssl::context& context) {
          context.set_default_verify_paths();
          context.load_verify_file(ca_file);
        });
      }
      if (proxy != nullptr) {
        // For https cpprest opens a CONNECT tunnel and speaks TLS inside it,
        // so the proxy sees the target's host and port and nothing else; for
        // http it sends the request in absolute form to the proxy.
        web::uri_builder address;
        address.set_scheme("http");
        address.set_host(proxy->host);
        address.set_port(proxy->port);
        web::web_proxy web_proxy(address.to_uri());
        if (!proxy->user.empty()) {
          web_proxy.set_credentials(web::credentials(proxy->user, proxy->password));
        }
        config.set_proxy(web_proxy);
        Log(LogLevel::kDebug, "Reaching a server through a proxy.",
            {{"server", url.Origin()},
             {"proxy", proxy->Display()},
             {"how", url.scheme == "https" ? "CONNECT tunnel" : "forwarded"}});
      }
      client = std::make_shared<http::client::http_client>(BaseUri(url), config);
    }
    return client;
  }

  Result<HttpResponse> SendOnce(const Url& url, const std::string& method,
                                const std::string& body, const HttpRequest& request) {
    auto proxy = ProxyFor(url);
    if (!proxy) {
      return std::unexpected(proxy.error());
    }
    const std::string via =
        *proxy != nullptr ? " (through the proxy " + (*proxy)->Display() + ")" : "";
    try {
      auto client = ClientFor(url, request.timeout, *proxy);
      http::http_request message(method);
      message.set_request_uri(url.query.empty() ? url.path : url.path + "?" + url.query);
      for (const auto& [name, value] : request.headers) {
        message.headers().add(name, value);
      }
      if (!HasHeader(request.headers, "accept-encoding")) {
        message.headers().add("Accept-Encoding", "gzip");
      }
      if (IsIpv6Literal(url) && !message.headers().has(http::header_names::host)) {
        message.headers().add(http::header_names::host, Ipv6HostHeader(url));
      }
      if (request.auth.present()) {
        AddAuth(request.auth, message);
      }
      if (!body.empty()) {
        message.set_body(body, "application/json");
      }
      pplx::cancellation_token_source cancel;
      std::stop_callback on_stop(request.stop, [&cancel] { cancel.cancel(); });
      requests_.fetch_add(1, std::memory_order_relaxed);
      http::http_response reply = client->request(message, cancel.get_token()).get();
      HttpResponse out;
      out.status = reply.status_code();
      for (const auto& [name, value] : reply.headers()) {
        out.headers.emplace_back(AsciiLower(name), value);
      }
      const std::size_t cap = options_.max_response_bytes;
      const std::uint64_t length = reply.headers().content_length();
      if (length > cap) {
        return TooLarge(method, url, cap);
      }
      const Coding coding = CodingOf(out.Header("content-encoding"));
      // An empty body needs no decoding, whatever it claims (a HEAD, a 304).
      const bool empty =
          reply.headers().has(http::header_names::content_length) && length == 0;
      if (coding == Coding::kUnknown && !empty) {
        std::string name(TrimSpace(*out.Header("content-encoding")));
        return Fail(ErrorCode::kBadResponse,
                    method + " " + ForMessage(url) + ": the answer is encoded as \"" +
                        ForDisplay(name.substr(0, 40)) +
                        "\", which boardsync cannot read (it asks for gzip only)");
      }
      // Read the body in chunks so that an endless, huge or hugely inflating
      // answer stops at the cap instead of filling memory.
      std::optional<GzipInflater> inflater;
      if (coding == Coding::kGzip) {
        inflater.emplace();
      } else {
        out.body.reserve(static_cast<std::size_t>(length));
      }
      concurrency::streams::istream stream = reply.body();
      // Chunks land in one buffer, left uninitialised: a string-backed
      // stream buffer would zero 64 KiB for every read.
      std::unique_ptr<char[]> bytes(new char[kReadChunk]);
      concurrency::streams::rawptr_buffer<char> chunk(bytes.get(), kReadChunk, std::ios_base::out);
      for (;;) {
        chunk.seekpos(0, std::ios_base::out);
        const std::size_t n = stream.read(chunk, kReadChunk).get();
        if (n == 0) {
          break;
        }
        out.wire_bytes += n;
        wire_bytes_.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed);
        if (out.wire_bytes > cap) {
          return TooLarge(method, url, cap);
        }
        const std::string_view data(bytes.get(), n);
        if (!inflater) {
          out.body.append(data);
          continue;
        }
        switch (inflater->Feed(data, out.body, cap)) {
          case GzipInflater::Status::kOk:
            break;
          case GzipInflater::Status::kTooLarge:
            return TooLarge(method, url, cap);
          case GzipInflater::Status::kCorrupt:
            return BadGzip(method, url, inflater->problem());
        }
      }
      if (inflater && out.wire_bytes > 0 && !inflater->ended()) {
        return BadGzip(method, url, "it ends inside the compressed data");
      }
      decoded_bytes_.fetch_add(static_cast<std::int64_t>(out.body.size()),
                               std::memory_order_relaxed);
      out.url = url.Origin() + url.path;
      return out;
    } catch (const std::exception& e) {
      // Cancelling shows as pplx::task_canceled or as an aborted socket
      // operation, depending on where the request was.
      if (request.stop.stop_requested()) {
        return Fail(ErrorCode::kCancelled, method + " " + ForMessage(url) + ": cancelled");
      }
      std::string what = e.what();
      bool tls = what.find("certificate") != std::string::npos ||
                 what.find("handshake") != std::string::npos ||
                 what.find("ssl") != std::string::npos;
      if (const auto* http_error = dynamic_cast<const http::http_exception*>(&e);
          http_error != nullptr && http_error->error_code() == std::errc::timed_out) {
        return Fail(ErrorCode::kUnavailable,
                    method + " " + ForMessage(url) + ": no answer within " +
                        std::to_string(request.timeout.count()) +
                        " ms (the connection's timeout)" + via,
                    /*retriable=*/true);
      }
      if (auto refused = TunnelRefused(what); refused && *proxy != nullptr) {
        return *refused == 407 || *refused == 403
                   ? Fail(ErrorCode::kConfig,
                          method + " " + ForMessage(url) + ": the proxy " + (*proxy)->Display() +
                              " refused to open a tunnel (HTTP " + std::to_string(*refused) +
                              (*refused == 407 ? ": its credentials are missing or wrong; they "
                                                 "go in the proxy URL as user:password@)"
                                               : ": it does not allow this server)"))
                   : Fail(ErrorCode::kUnavailable,
                          method + " " + ForMessage(url) + ": the proxy " + (*proxy)->Display() +
                              " could not open a tunnel (HTTP " + std::to_string(*refused) + ")",
                          /*retriable=*/true);
      }
      if (tls) {
        return Fail(ErrorCode::kUnavailable,
                    method + " " + ForMessage(url) + ": TLS failed (" + what +
                        "); for a private CA set ca_file" + via);
      }
      return Fail(ErrorCode::kUnavailable, method + " " + ForMessage(url) + ": " + what + via,
                  /*retriable=*/true);
    }
  }

  // The status a proxy answered a CONNECT with, from cpprest's message
  // ("Expected a 200 response from proxy, received: 407").
  static std::optional<int> TunnelRefused(std::string_view what) {
    constexpr std::string_view kMark = "response from proxy, received: ";
    auto at = what.find(kMark);
    if (at == std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view digits = what.substr(at + kMark.size());
    int status = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), status);
    if (ec != std::errc() || end == digits.data()) {
      return std::nullopt;
    }
    return status;
  }

  static std::unexpected<Error> TooLarge(const std::string& method, const Url& url,
                                         std::size_t cap) {
    const std::string size = cap % (1024 * 1024) == 0
                                 ? std::to_string(cap / (1024 * 1024)) + " MiB"
                                 : std::to_string(cap) + " bytes";
    return Fail(ErrorCode::kBadResponse,
                method + " " + ForMessage(url) + ": the answer is larger than " + size);
  }

  static std::unexpected<Error> BadGzip(const std::string& method, const Url& url,
                                        const std::string& why) {
    return Fail(ErrorCode::kBadResponse, method + " " + ForMessage(url) +
                                             ": the answer's gzip body cannot be read (" + why +
                                             ")");
  }

 public:
  HttpTraffic Traffic() const {
    return HttpTraffic{requests_.load(std::memory_order_relaxed),
                       wire_bytes_.load(std::memory_order_relaxed),
                       decoded_bytes_.load(std::memory_order_relaxed)};
  }

 private:
  HttpClientOptions options_;
  const ProxyRoute https_route_;
  const ProxyRoute http_route_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<http::client::http_client>> clients_;
  std::map<std::string, std::chrono::steady_clock::time_point> hold_until_;  // by origin
  std::mt19937_64 rng_{std::random_device{}()};
  std::atomic<std::int64_t> requests_{0};
  std::atomic<std::int64_t> wire_bytes_{0};
  std::atomic<std::int64_t> decoded_bytes_{0};
};

CpprestHttpClient::CpprestHttpClient(HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  // cpprest's I/O pool defaults to 40 threads, which wake each other for
  // every chunk read; callers here wait on their own threads, so the pool
  // only runs socket callbacks, and a few threads serve them all.
  static std::once_flag sized;
  std::call_once(sized, [] {
    try {
      crossplat::threadpool::initialize_with_threads(kIoThreads);
    } catch (const std::exception&) {
      // Already started (someone used cpprest first): keep its size.
    }
  });
}
CpprestHttpClient::~CpprestHttpClient() = default;

Result<HttpResponse> CpprestHttpClient::Send(const HttpRequest& request) {
  return impl_->Send(request);
}

HttpTraffic CpprestHttpClient::Traffic() const { return impl_->Traffic(); }

}  // namespace boardsync

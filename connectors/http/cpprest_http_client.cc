#include "connectors/http/cpprest_http_client.h"

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <cpprest/uri_builder.h>
#include <pplx/threadpool.h>

#include <algorithm>
#include <condition_variable>
#include <charconv>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "core/text.h"
#include "core/log.h"
#include "core/url.h"

namespace boardsync {
namespace {

namespace http = web::http;

constexpr std::size_t kIoThreads = 4;

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

}  // namespace

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
  explicit Impl(HttpClientOptions options) : options_(std::move(options)) {
    if (!options_.sleep) {
      options_.sleep = [](std::chrono::milliseconds d, std::stop_token stop) {
        std::mutex mu;
        std::condition_variable_any cv;
        std::unique_lock lock(mu);
        cv.wait_for(lock, stop, d, [] { return false; });
      };
    }
  }

  Result<HttpResponse> Send(const HttpRequest& request) {
    auto url = ParseUrl(request.url);
    if (!url) {
      return std::unexpected(url.error());
    }
    if (request.bearer != nullptr && url->scheme != "https" && !IsLoopbackHost(url->host)) {
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

  std::chrono::milliseconds Backoff(int attempt) {
    auto ceiling = options_.backoff_base.count() << std::min(attempt - 1, 20);
    ceiling = std::min<long long>(ceiling, options_.backoff_cap.count());
    std::lock_guard lock(mu_);
    std::uniform_int_distribution<long long> dist(0, ceiling);
    return std::chrono::milliseconds(dist(rng_));
  }

  std::shared_ptr<http::client::http_client> ClientFor(const Url& url,
                                                       std::chrono::milliseconds timeout) {
    std::string key = url.Origin() + "|" + std::to_string(timeout.count());
    std::lock_guard lock(mu_);
    auto& client = clients_[key];
    if (!client) {
      http::client::http_client_config config;
      config.set_timeout(timeout);
      config.set_validate_certificates(true);
      config.set_max_redirects(0);  // redirects are decided per hop above
      config.set_https_to_http_redirects(false);
      if (!options_.ca_file.empty()) {
        std::string ca_file = options_.ca_file;
        config.set_ssl_context_callback([ca_file](boost::asio::ssl::context& context) {
          context.set_default_verify_paths();
          context.load_verify_file(ca_file);
        });
      }
      client = std::make_shared<http::client::http_client>(BaseUri(url), config);
    }
    return client;
  }

  Result<HttpResponse> SendOnce(const Url& url, const std::string& method,
                                const std::string& body, const HttpRequest& request) {
    try {
      auto client = ClientFor(url, request.timeout);
      http::http_request message(method);
      message.set_request_uri(url.query.empty() ? url.path : url.path + "?" + url.query);
      for (const auto& [name, value] : request.headers) {
        message.headers().add(name, value);
      }
      if (IsIpv6Literal(url) && !message.headers().has(http::header_names::host)) {
        message.headers().add(http::header_names::host, Ipv6HostHeader(url));
      }
      if (request.bearer != nullptr) {
        message.headers().add("Authorization", "Bearer " + request.bearer->Reveal());
      }
      if (!body.empty()) {
        message.set_body(body, "application/json");
      }
      pplx::cancellation_token_source cancel;
      std::stop_callback on_stop(request.stop, [&cancel] { cancel.cancel(); });
      http::http_response reply = client->request(message, cancel.get_token()).get();
      HttpResponse out;
      out.status = reply.status_code();
      for (const auto& [name, value] : reply.headers()) {
        out.headers.emplace_back(AsciiLower(name), value);
      }
      // Read the body in chunks so that an endless or huge answer stops at
      // the cap instead of filling memory.
      const std::size_t cap = options_.max_response_bytes;
      if (reply.headers().content_length() > cap) {
        return TooLarge(method, url, cap);
      }
      out.body.reserve(static_cast<std::size_t>(reply.headers().content_length()));
      concurrency::streams::istream body = reply.body();
      concurrency::streams::container_buffer<std::string> chunk;
      for (;;) {
        chunk.collection().clear();
        chunk.seekpos(0, std::ios_base::out);
        const std::size_t n = body.read(chunk, 64 * 1024).get();
        if (n == 0) {
          break;
        }
        out.body.append(chunk.collection().data(), n);
        if (out.body.size() > cap) {
          return TooLarge(method, url, cap);
        }
      }
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
                        std::to_string(request.timeout.count()) + " ms (the connection's timeout)",
                    /*retriable=*/true);
      }
      if (tls) {
        return Fail(ErrorCode::kUnavailable,
                    method + " " + ForMessage(url) + ": TLS failed (" + what +
                        "); for a private CA set ca_file");
      }
      return Fail(ErrorCode::kUnavailable, method + " " + ForMessage(url) + ": " + what,
                  /*retriable=*/true);
    }
  }

  static std::unexpected<Error> TooLarge(const std::string& method, const Url& url,
                                         std::size_t cap) {
    const std::string size = cap % (1024 * 1024) == 0
                                 ? std::to_string(cap / (1024 * 1024)) + " MiB"
                                 : std::to_string(cap) + " bytes";
    return Fail(ErrorCode::kBadResponse,
                method + " " + ForMessage(url) + ": the answer is larger than " + size);
  }

  HttpClientOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<http::client::http_client>> clients_;
  std::mt19937_64 rng_{std::random_device{}()};
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

}  // namespace boardsync

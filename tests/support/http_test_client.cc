#include "tests/support/http_test_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>

#include "core/text.h"
#include "core/url.h"

namespace boardsync {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string_view ToStd(boost::beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace

std::optional<std::string_view> HttpTestResponse::Header(std::string_view name) const {
  std::string lower = AsciiLower(name);
  for (const auto& [key, value] : headers) {
    if (key == lower) {
      return value;
    }
  }
  return std::nullopt;
}

std::string BuildTarget(std::string_view path,
                        const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out(path);
  char separator = '?';
  for (const auto& [key, value] : params) {
    out.push_back(separator);
    separator = '&';
    out += PercentEncode(key);
    out.push_back('=');
    out += PercentEncode(value);
  }
  return out;
}

// Every operation is asynchronous so that tcp_stream's deadline applies; the
// calling thread runs the io_context until the operation completes.
struct HttpTestClient::Impl {
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

HttpTestClient::HttpTestClient(std::string_view base_url, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), timeout_(timeout) {
  auto url = ParseUrl(base_url);
  if (url) {
    host_ = url->host;
    port_ = std::to_string(url->port);
  }
}

HttpTestClient::~HttpTestClient() { Close(); }

void HttpTestClient::Close() {
  if (impl_->stream) {
    beast::error_code ec;
    impl_->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    impl_->stream->close();
    impl_->stream.reset();
  }
  impl_->buffer.clear();
}

HttpTestResponse HttpTestClient::Get(std::string_view target, const HttpServerHeaders& headers) {
  return Send("GET", target, headers, "");
}

HttpTestResponse HttpTestClient::Send(std::string_view method, std::string_view target,
                                      const HttpServerHeaders& headers, std::string body) {
  HttpTestResponse result;
  if (host_.empty()) {
    result.error = "bad base URL";
    return result;
  }
  auto run = [&] {
    impl_->io.restart();
    impl_->io.run();
  };
  beast::error_code ec;
  if (!impl_->stream) {
    tcp::resolver resolver(impl_->io);
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) {
      result.error = "resolve: " + ec.message();
      return result;
    }
    impl_->stream.emplace(impl_->io);
    impl_->stream->expires_after(timeout_);
    impl_->stream->async_connect(endpoints,
                                 [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec) {
      result.error = "connect: " + ec.message();
      Close();
      return result;
    }
    ++connections_opened_;
  }

  http::request<http::string_body> request;
  request.version(11);
  request.method_string(std::string(method));
  request.target(std::string(target));
  request.set(http::field::host, host_ + ":" + port_);
  for (const auto& [name, value] : headers) {
    request.insert(name, value);
  }
  request.body() = std::move(body);
  request.prepare_payload();

  impl_->stream->expires_after(timeout_);
  http::async_write(*impl_->stream, request, [&](beast::error_code e, std::size_t) { ec = e; });
  run();
  if (ec) {
    result.error = "write: " + ec.message();
    Close();
    return result;
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(1 << 20);
  impl_->stream->expires_after(timeout_);
  http::async_read(*impl_->stream, impl_->buffer, parser,
                   [&](beast::error_code e, std::size_t) { ec = e; });
  run();
  if (ec) {
    result.error = "read: " + ec.message();
    Close();
    return result;
  }
  const auto& response = parser.get();
  result.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    result.headers.emplace_back(AsciiLower(ToStd(field.name_string())), std::string(field.value()));
  }
  result.body = response.body();
  if (!response.keep_alive()) {
    Close();
  }
  return result;
}

HttpTestResponse HttpGet(std::string_view url, const HttpServerHeaders& headers,
                         std::chrono::milliseconds timeout) {
  auto parsed = ParseUrl(url);
  if (!parsed) {
    HttpTestResponse result;
    result.error = parsed.error().message;
    return result;
  }
  HttpTestClient client(url, timeout);
  std::string target = parsed->path;
  if (!parsed->query.empty()) {
    target += "?" + parsed->query;
  }
  return client.Get(target, headers);
}

}  // namespace boardsync

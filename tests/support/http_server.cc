#include "tests/support/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <list>
#include <mutex>
#include <stop_token>
#include <system_error>
#include <thread>

#include "core/text.h"
#include "core/url.h"

namespace boardsync {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Requests carry long fields= and query= parameters; Beast's 8 KiB default
// header limit would cut off what real servers accept.
constexpr std::uint32_t kHeaderLimit = 1 << 20;
constexpr std::uint64_t kBodyLimit = 64ull << 20;

std::string_view ToStd(boost::beast::string_view s) { return {s.data(), s.size()}; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

HttpServerRequest ConvertRequest(const http::request<http::string_body>& in) {
  HttpServerRequest out;
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  std::string_view target = out.target;
  auto question = target.find('?');
  out.path = PercentDecode(target.substr(0, question));
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view piece = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (piece.empty()) {
        continue;
      }
      auto eq = piece.find('=');
      std::string_view key = piece.substr(0, eq);
      std::string_view value =
          eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
      out.query.emplace_back(PercentDecode(key, true), PercentDecode(value, true));
    }
  }
  for (const auto& field : in) {
    out.headers.emplace_back(AsciiLower(ToStd(field.name_string())), std::string(field.value()));
  }
  out.body = in.body();
  return out;
}

}  // namespace

std::optional<std::string_view> HttpServerRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpServerRequest::Param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> HttpServerRequest::Params(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [key, value] : query) {
    if (key == name) {
      out.push_back(value);
    }
  }
  return out;
}

HttpServerResponse HttpServerResponse::Json(int status, std::string body) {
  HttpServerResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json;charset=UTF-8");
  response.body = std::move(body);
  return response;
}

HttpServerResponse HttpServerResponse::Text(int status, std::string body,
                                            std::string content_type) {
  HttpServerResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

// One accepted connection and the thread that serves it. The socket is
// closed only under `mu`, so Stop() can shut it down from another thread
// without touching a descriptor that has been reused.
struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}

  ~Connection() {
    if (thread.joinable()) {
      thread.join();
    }
  }

  void Close() {
    std::lock_guard lock(mu);
    if (!closed) {
      beast::error_code ec;
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
      closed = true;
    }
  }

  // Wakes a thread blocked in read, write or a delay.
  void Interrupt() {
    stop.request_stop();
    std::lock_guard lock(mu);
    if (!closed) {
      ::shutdown(socket.native_handle(), SHUT_RDWR);
    }
  }

  tcp::socket socket;
  std::mutex mu;
  bool closed = false;
  std::stop_source stop;
  std::atomic<bool> finished{false};
  std::thread thread;
};

struct HttpServer::Impl {
  Impl(Handler h, std::atomic<std::uint64_t>& served, std::atomic<std::uint64_t>& accepted)
      : handler(std::move(h)),
        acceptor(io),
        requests_served(served),
        connections_accepted(accepted) {}

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec != asio::error::operation_aborted && acceptor.is_open()) {
          Accept();
        }
        return;
      }
      connections_accepted.fetch_add(1);
      Reap();
      auto connection = std::make_unique<Connection>(std::move(socket));
      Connection* raw = connection.get();
      connections.push_back(std::move(connection));
      raw->thread = std::thread([this, raw] { Serve(*raw); });
      Accept();
    });
  }

  // Frees connections whose client went away. Runs on the io thread only.
  void Reap() {
    connections.remove_if([](const std::unique_ptr<Connection>& c) { return c->finished.load(); });
  }

  void Serve(Connection& connection) {
    std::stop_token stop = connection.stop.get_token();
    beast::flat_buffer buffer;
    while (!stop.stop_requested()) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(kBodyLimit);
      beast::error_code ec;
      http::read(connection.socket, buffer, parser, ec);
      if (ec) {
        break;
      }
      const http::request<http::string_body>& in = parser.get();
      HttpServerRequest request = ConvertRequest(in);
      requests_served.fetch_add(1);
      HttpServerResponse response;
      try {
        response = handler(request);
      } catch (const std::exception& e) {
        response = HttpServerResponse::Text(500, std::string("handler threw: ") + e.what());
      }
      if (response.delay.count() > 0) {
        std::mutex mu;
        std::condition_variable_any cv;
        std::unique_lock lock(mu);
        cv.wait_for(lock, stop, response.delay, [] { return false; });
        if (stop.stop_requested()) {
          break;
        }
      }
      if (response.drop_connection) {
        break;
      }
      if (!WriteResponse(connection, in.keep_alive(), response)) {
        break;
      }
    }
    connection.Close();
    connection.finished.store(true);
  }

  // Returns whether the connection stays open for another request.
  static bool WriteResponse(Connection& connection, bool keep_alive,
                            const HttpServerResponse& response) {
    http::response<http::string_body> out;
    out.version(11);
    out.result(static_cast<unsigned>(response.status));
    for (const auto& [name, value] : response.headers) {
      if (EqualsIgnoreCase(name, "content-length")) {
        continue;
      }
      if (EqualsIgnoreCase(name, "connection") && EqualsIgnoreCase(value, "close")) {
        keep_alive = false;
        continue;
      }
      out.insert(name, value);
    }
    out.body() = response.body;
    out.keep_alive(keep_alive);
    out.prepare_payload();
    beast::error_code ec;
    if (response.truncate_body_at) {
      http::response_serializer<http::string_body> serializer(out);
      http::write_header(connection.socket, serializer, ec);
      if (!ec) {
        std::size_t n = std::min(*response.truncate_body_at, response.body.size());
        asio::write(connection.socket, asio::buffer(response.body.data(), n), ec);
      }
      return false;
    }
    http::write(connection.socket, out, ec);
    return !ec && keep_alive;
  }

  Handler handler;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::thread io_thread;
  std::list<std::unique_ptr<Connection>> connections;
  std::mutex stop_mu;
  bool stopped = false;
  std::atomic<std::uint64_t>& requests_served;
  std::atomic<std::uint64_t>& connections_accepted;
};

HttpServer::HttpServer(Handler handler, std::uint16_t port)
    : impl_(std::make_unique<Impl>(std::move(handler), requests_served_, connections_accepted_)) {
  beast::error_code ec;
  tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    impl_->acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::system_error(std::error_code(ec.value(), std::system_category()),
                            "cannot listen on 127.0.0.1:" + std::to_string(port));
  }
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->Accept();
  impl_->io_thread = std::thread([this] { impl_->io.run(); });
}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void HttpServer::Stop() {
  std::lock_guard lock(impl_->stop_mu);
  if (impl_->stopped) {
    return;
  }
  impl_->stopped = true;
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  impl_->io_thread.join();
  // The io thread is gone: the connection list is ours alone now.
  for (auto& connection : impl_->connections) {
    connection->Interrupt();
  }
  impl_->connections.clear();
}

std::uint16_t FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  std::uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) {
    ::close(fd);
  }
  return port;
}

}  // namespace boardsync

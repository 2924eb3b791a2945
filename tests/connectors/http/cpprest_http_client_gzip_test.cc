// CpprestHttpClient and compressed answers, against a real loopback server:
// every request asks for gzip, a gzip answer is inflated once (cpprest leaves
// it alone), the size cap holds for the inflated body so a gzip bomb is
// refused without filling memory, and the traffic counts tell bytes on the
// wire from bytes decoded.

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <mutex>

#include "connectors/http/cpprest_http_client.h"
#include "tests/support/http_server.h"

namespace boardsync {
namespace {

using std::chrono::milliseconds;

// Compresses what `next` hands out, a piece at a time, into one gzip member:
// a 100 MB input never sits in memory.
template <typename Next>
std::string GzipStream(Next next) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out;
  char buffer[64 * 1024];
  for (;;) {
    std::string_view piece = next();
    const int flush = piece.empty() ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    z.avail_in = static_cast<uInt>(piece.size());
    int rc;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buffer);
      z.avail_out = sizeof buffer;
      rc = deflate(&z, flush);
      out.append(buffer, sizeof buffer - z.avail_out);
    } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    if (flush == Z_FINISH) {
      break;
    }
  }
  deflateEnd(&z);
  return out;
}

std::string Gzip(std::string_view text) {
  bool given = false;
  return GzipStream([&]() -> std::string_view {
    if (given) {
      return {};
    }
    given = true;
    return text;
  });
}

// `size` zero bytes, gzipped: about a thousandth of the size.
std::string GzipZeros(std::size_t size) {
  static const std::string zeros(1 << 20, '\0');
  std::size_t left = size;
  return GzipStream([&]() -> std::string_view {
    std::size_t n = std::min(left, zeros.size());
    left -= n;
    return std::string_view(zeros.data(), n);
  });
}

HttpServerResponse GzipAnswer(std::string compressed) {
  HttpServerResponse r = HttpServerResponse::Json(200, std::move(compressed));
  r.headers.emplace_back("Content-Encoding", "gzip");
  return r;
}

// Records each request, answers with `answer`.
class Recorder {
 public:
  explicit Recorder(HttpServerResponse answer) : answer_(std::move(answer)) {}
  HttpServerResponse operator()(const HttpServerRequest& request) {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    return answer_;
  }
  std::vector<HttpServerRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  HttpServerResponse answer_;
  std::vector<HttpServerRequest> requests_;
};

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.timeout = milliseconds(10'000);
  request.max_attempts = 1;
  return request;
}

// A page of issues much like a tracker's: compresses well, as JSON does.
std::string Page() {
  std::string page = "[";
  for (int i = 0; i < 2000; ++i) {
    page += (i ? "," : "") + std::string(R"({"idReadable":"RAP-)") + std::to_string(i) +
            R"(","summary":"Issue number )" + std::to_string(i) +
            R"(","customFields":[{"name":"Priority","value":{"name":"Major"}}]})";
  }
  return page + "]";
}

// The peak resident set of this process so far, in bytes.
long PeakRss() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss * 1024L;
}

TEST(CpprestHttpClientGzipTest, AsksForGzipAndInflatesTheAnswerOnceCountingBothSizes) {
  const std::string page = Page();
  const std::string compressed = Gzip(page);
  Recorder recorder(GzipAnswer(compressed));
  HttpServer server(std::ref(recorder));
  CpprestHttpClient client;
  auto response = client.Send(Get(server.base_url() + "/api/issues?$top=100"));
  ASSERT_TRUE(response) << response.error().message;
  // Inflated exactly once: had cpprest inflated it already, zlib would have
  // refused the plain JSON; had nobody, it would not be the page.
  EXPECT_EQ(response->body, page);
  EXPECT_EQ(response->Header("content-encoding"), "gzip");
  EXPECT_EQ(response->wire_bytes, compressed.size());
  EXPECT_LT(compressed.size() * 5, page.size());
  const HttpServerRequest request = recorder.requests().at(0);
  EXPECT_EQ(request.Header("accept-encoding"), "gzip");
  EXPECT_FALSE(request.Header("te")) << "cpprest asked for a transfer coding of its own";
  const HttpTraffic traffic = client.Traffic();
  EXPECT_EQ(traffic.requests, 1);
  EXPECT_EQ(traffic.wire_bytes, static_cast<std::int64_t>(compressed.size()));
  EXPECT_EQ(traffic.decoded_bytes, static_cast<std::int64_t>(page.size()));
}

TEST(CpprestHttpClientGzipTest, APlainAnswerCountsTheSameOnTheWireAndDecoded) {
  Recorder recorder(HttpServerResponse::Json(200, R"({"ok":true})"));
  HttpServer server(std::ref(recorder));
  CpprestHttpClient client;
  ASSERT_TRUE(client.Send(Get(server.base_url() + "/a")));
  auto response = client.Send(Get(server.base_url() + "/b"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(response->wire_bytes, response->body.size());
  const HttpTraffic traffic = client.Traffic();
  EXPECT_EQ(traffic.requests, 2);
  EXPECT_EQ(traffic.wire_bytes, 22);
  EXPECT_EQ(traffic.decoded_bytes, 22);
}

TEST(CpprestHttpClientGzipTest, ACallersOwnAcceptEncodingIsSentInstead) {
  Recorder recorder(HttpServerResponse::Json(200, "{}"));
  HttpServer server(std::ref(recorder));
  CpprestHttpClient client;
  HttpRequest request = Get(server.base_url() + "/a");
  request.headers.emplace_back("accept-encoding", "identity");
  ASSERT_TRUE(client.Send(request));
  const HttpServerRequest seen = recorder.requests().at(0);
  int count = 0;
  for (const auto& [name, value] : seen.headers) {
    if (name == "accept-encoding") {
      ++count;
      EXPECT_EQ(value, "identity");
    }
  }
  EXPECT_EQ(count, 1);
}

TEST(CpprestHttpClientGzipTest, ConcatenatedGzipMembersAreReadOneAfterTheOther) {
  Recorder recorder(GzipAnswer(Gzip("[1,2,") + Gzip("3]")));
  HttpServer server(std::ref(recorder));
  CpprestHttpClient client;
  auto response = client.Send(Get(server.base_url() + "/a"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "[1,2,3]");
}

TEST(CpprestHttpClientGzipTest, AnInflatedBodyOfExactlyTheCapIsAccepted) {
  Recorder recorder(GzipAnswer(GzipZeros(100'000)));
  HttpServer server(std::ref(recorder));
  HttpClientOptions options;
  options.max_response_bytes = 100'000;
  CpprestHttpClient client(options);
  auto response = client.Send(Get(server.base_url() + "/a"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body.size(), 100'000u);
}

TEST(CpprestHttpClientGzipTest, AGzipBombIsRefusedAtTheCapWithoutInflatingItAll) {
  const std::string bomb = GzipZeros(100'000'000);  // 100 MB of zeros in about 100 KB
  ASSERT_LT(bomb.size(), 200'000u);
  Recorder recorder(GzipAnswer(bomb));
  HttpServer server(std::ref(recorder));
  HttpClientOptions options;
  options.max_response_bytes = 4 * 1024 * 1024;
  CpprestHttpClient client(options);
  const long rss_before = PeakRss();
  auto response = client.Send(Get(server.base_url() + "/api/issues?query=secret-query"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kBadResponse);
  EXPECT_EQ(response.error().message, "GET http://127.0.0.1:" + std::to_string(server.port()) +
                                          "/api/issues: the answer is larger than 4 MiB");
  // Inflated whole, the 100 MB would have raised the peak by that much.
  EXPECT_LT(PeakRss() - rss_before, 32L * 1024 * 1024);
  // And reading stopped early: not even the compressed body was read to its end.
  EXPECT_LT(client.Traffic().wire_bytes, static_cast<std::int64_t>(bomb.size()));
}

TEST(CpprestHttpClientGzipTest, AGzipBombIsRefusedByTheDefaultCap) {
  Recorder recorder(GzipAnswer(GzipZeros(100'000'000)));
  HttpServer server(std::ref(recorder));
  CpprestHttpClient client;
  auto response = client.Send(Get(server.base_url() + "/a"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kBadResponse);
  EXPECT_NE(response.error().message.find("larger than 64 MiB"), std::string::npos)
      << response.error().message;
}

TEST(CpprestHttpClientGzipTest, ACorruptOrCutGzipBodyIsABadResponseNamingTheUrl) {
  const std::string good = Gzip(Page());
  for (const std::string& body :
       {std::string("this is not gzip at all"), good.substr(0, good.size() / 2),
        good.substr(0, 10) + std::string(200, 'x')}) {
    Recorder recorder(GzipAnswer(body));
    HttpServer server(std::ref(recorder));
    CpprestHttpClient client;
    auto response = client.Send(Get(server.base_url() + "/api/issues?query=secret-query"));
    ASSERT_FALSE(response);
    EXPECT_EQ(response.error().code, ErrorCode::kBadResponse);
    EXPECT_FALSE(response.error().retriable);
    const std::string& message = response.error().message;
    EXPECT_TRUE(message.starts_with("GET " + server.base_url() +
                                    "/api/issues: the answer's gzip body cannot be read ("))
        << message;
    EXPECT_EQ(message.find("secret-query"), std::string::npos) << message;
  }
}

TEST(CpprestHttpClientGzipTest, AnUnknownContentEncodingIsABadResponse) {
  for (const char* coding : {"br", "deflate", "gzip, gzip"}) {
    HttpServerResponse answer = HttpServerResponse::Json(200, "\x1b\x02\x00");
    answer.headers.emplace_back("Content-Encoding", coding);
    Recorder recorder(answer);
    HttpServer server(std::ref(recorder));
    CpprestHttpClient client;
    auto response = client.Send(Get(server.base_url() + "/a"));
    ASSERT_FALSE(response) << coding;
    EXPECT_EQ(response.error().code, ErrorCode::kBadResponse);
    EXPECT_NE(response.error().message.find(std::string("encoded as \"") + coding + "\""),
              std::string::npos)
        << response.error().message;
  }
}

TEST(CpprestHttpClientGzipTest, AnEmptyBodyNeedsNoDecoding) {
  HttpServerResponse answer = HttpServerResponse::Text(404, "");
  answer.headers.emplace_back("Content-Encoding", "gzip");
  Recorder recorder(answer);
  HttpServer server(std::ref(recorder));
  CpprestHttpClient client;
  auto response = client.Send(Get(server.base_url() + "/a"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->body, "");
}

}  // namespace
}  // namespace boardsync

#include "connectors/board/http_board.h"

#include <gtest/gtest.h>

#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "connectors/http/cpprest_http_client.h"
#include "connectors/http/json.h"
#include "core/time.h"
#include "tests/support/board_server.h"
#include "tests/support/http_test_client.h"

namespace boardsync {
namespace {

using std::chrono::milliseconds;

const Secret& Token() {
  static const Secret token{std::string(kBoardServerToken)};
  return token;
}

// Records every wait of the HttpClient instead of sleeping.
struct Sleeps {
  std::mutex mu;
  std::vector<milliseconds> waits;

  HttpClientOptions Options(milliseconds base = milliseconds(500),
                            milliseconds cap = milliseconds(30'000)) {
    HttpClientOptions options;
    options.backoff_base = base;
    options.backoff_cap = cap;
    options.sleep = [this](milliseconds d, std::stop_token) {
      std::lock_guard lock(mu);
      waits.push_back(d);
    };
    return options;
  }
  std::vector<milliseconds> Waits() {
    std::lock_guard lock(mu);
    return waits;
  }
};

HttpBoardOptions Options(const BoardServer& server) {
  HttpBoardOptions options;
  options.url = server.url();
  options.token = Token();
  options.timeout = milliseconds(5000);
  options.max_attempts = 5;
  return options;
}

std::unique_ptr<HttpBoard> MakeBoard(HttpBoardOptions options, Sleeps& sleeps,
                                     HttpClientOptions client = {}) {
  if (!client.sleep) {
    client = sleeps.Options();
  }
  return std::make_unique<HttpBoard>(std::move(options),
                                     std::make_unique<CpprestHttpClient>(std::move(client)));
}

BoardWrite Upsert(std::string board, std::string key, std::string updated, std::string title) {
  BoardWrite write;
  write.item.board = std::move(board);
  write.item.item_key = std::move(key);
  write.item.source_key = "RAP-7";
  write.item.source_url = "https://acme.youtrack.cloud/issue/RAP-7";
  write.item.source_updated_at = std::move(updated);
  write.item.fields.emplace("title", std::move(title));
  write.item.fields.emplace("urgency", 4);
  return write;
}

// What most tests send: one upsert of c:2-1 on board roadmap.
std::vector<BoardWrite> OneUpsert() {
  return {Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "a")};
}

// An archive decided on `version` of the issue; none: a legacy archive.
BoardWrite Archive(std::string board, std::string key, std::string version = "") {
  BoardWrite write;
  write.archive = true;
  write.item.board = std::move(board);
  write.item.item_key = std::move(key);
  write.item.source_updated_at = std::move(version);
  return write;
}

// "Wed, 21 Oct 2015 07:28:00 GMT" for `when`.
std::string HttpDate(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

void ExpectNoToken(const Error& error) {
  EXPECT_EQ(error.message.find(Token().Reveal()), std::string::npos) << error.message;
}

// ---- Wire format ----

TEST(HttpBoardTest, SendsTheBatchOfTheDesignWithTheBoardToken) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "acme-yt:2-7", "2024-05-01T10:00:00.000Z", "Ünïcode ✓"),
      Archive("roadmap", "acme-yt:2-9", "2024-04-30T08:00:00.000Z"),
      Archive("roadmap", "acme-yt:2-8", "2024-04-29T08:00:00.000Z"),
      Archive("roadmap", "acme-yt:2-10"),  // legacy: no version
  };
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_TRUE(applied->empty());

  auto batches = server.batches();
  ASSERT_EQ(batches.size(), 1u);
  const HttpServerRequest& request = batches[0].request;
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/api/boards/roadmap/items/batch");
  EXPECT_EQ(*request.Header("authorization"), "Bearer " + Token().Reveal());
  EXPECT_EQ(*request.Header("content-type"), "application/json");
  EXPECT_EQ(*request.Header("accept"), "application/json");
  EXPECT_EQ(request.body, R"({"archive":["acme-yt:2-9","acme-yt:2-8","acme-yt:2-10"],)"
                          R"("archive_versions":{"acme-yt:2-8":"2024-04-29T08:00:00.000Z",)"
                          R"("acme-yt:2-9":"2024-04-30T08:00:00.000Z"},)"
                          R"("upsert":[{"fields":{"title":"Ünïcode ✓","urgency":4},)"
                          R"("item_key":"acme-yt:2-7","source_key":"RAP-7",)"
                          R"("source_updated_at":"2024-05-01T10:00:00.000Z",)"
                          R"("source_url":"https://acme.youtrack.cloud/issue/RAP-7"}]})");
  Value::Object item{{"item_key", "acme-yt:2-7"},
                     {"source_key", "RAP-7"},
                     {"source_url", "https://acme.youtrack.cloud/issue/RAP-7"},
                     {"source_updated_at", "2024-05-01T10:00:00.000Z"},
                     {"fields", Value::Object{{"title", "Ünïcode ✓"}, {"urgency", 4}}}};
  Value::Object versions{{"acme-yt:2-9", "2024-04-30T08:00:00.000Z"},
                         {"acme-yt:2-8", "2024-04-29T08:00:00.000Z"}};
  Value::Object expected{
      {"upsert", Value::List{Value(item)}},
      {"archive", Value::List{Value("acme-yt:2-9"), Value("acme-yt:2-8"), Value("acme-yt:2-10")}},
      {"archive_versions", Value(versions)}};
  EXPECT_EQ(batches[0].body, Value(expected));
  EXPECT_EQ(batches[0].status, 200);

  auto stored = server.Get("roadmap", "acme-yt:2-7");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->item.fields, writes[0].item.fields);
  EXPECT_TRUE(stored->archived_at.empty());
  EXPECT_TRUE(sleeps.Waits().empty());
}

TEST(HttpBoardTest, ToleratesATrailingSlashAndEncodesTheBoard) {
  BoardServer server;
  Sleeps sleeps;
  HttpBoardOptions options = Options(server);
  options.url += "/";
  auto board = MakeBoard(std::move(options), sleeps);
  std::vector<BoardWrite> writes = {Upsert("road map/ü", "c:2-1", "2024-05-01T10:00:00.000Z", "a")};
  ASSERT_TRUE(board->Apply(writes));
  auto batches = server.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].request.target, "/api/boards/road%20map%2F%C3%BC/items/batch");
  EXPECT_TRUE(server.Get("road map/ü", "c:2-1"));
}

TEST(HttpBoardTest, SendsOneRequestPerRunOfWritesToTheSameBoardInOrder) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = {
      Upsert("alpha", "c:2-1", "2024-05-01T10:00:00.000Z", "1"),
      Upsert("alpha", "c:2-2", "2024-05-01T10:00:00.000Z", "2"),
      Upsert("beta", "c:2-3", "2024-05-01T10:00:00.000Z", "3"),
      Archive("beta", "c:2-9"),
      Upsert("alpha", "c:2-4", "2024-05-01T10:00:00.000Z", "4"),
  };
  ASSERT_TRUE(board->Apply(writes));
  auto batches = server.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].board, "alpha");
  EXPECT_EQ(batches[0].body.Find("upsert")->AsList().size(), 2u);
  EXPECT_EQ(batches[0].body.Find("upsert")->AsList()[0].StringOr("item_key"), "c:2-1");
  EXPECT_EQ(batches[0].body.Find("upsert")->AsList()[1].StringOr("item_key"), "c:2-2");
  EXPECT_EQ(batches[1].board, "beta");
  EXPECT_EQ(batches[1].body.Find("upsert")->AsList().size(), 1u);
  EXPECT_EQ(*batches[1].body.Find("archive"), Value(Value::List{Value("c:2-9")}));
  EXPECT_EQ(batches[2].board, "alpha");
  EXPECT_EQ(batches[2].body.Find("upsert")->AsList()[0].StringOr("item_key"), "c:2-4");
  EXPECT_EQ(server.items().size(), 4u);
}

TEST(HttpBoardTest, AnItemNamedTwiceGoesInSeparateRequestsSoOrderHolds) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  // Archived, then back (the issue matched the query again): it must end live.
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "v1"),
      Archive("roadmap", "c:2-1"),
      Upsert("roadmap", "c:2-1", "2024-05-02T10:00:00.000Z", "v2"),
      Upsert("roadmap", "c:2-2", "2024-05-02T10:00:00.000Z", "other"),
  };
  ASSERT_TRUE(board->Apply(writes));
  auto batches = server.batches();
  ASSERT_EQ(batches.size(), 3u);  // the fake store rejects a key named twice
  for (const auto& batch : batches) {
    EXPECT_EQ(batch.status, 200) << batch.request.body;
  }
  auto stored = server.Get("roadmap", "c:2-1");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->archived_at.empty());
  EXPECT_EQ(stored->item.fields.at("title"), Value("v2"));
}

TEST(HttpBoardTest, NoWritesNoRequest) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  ASSERT_TRUE(board->Apply({}));
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(HttpBoardTest, A2xxWithoutAJsonBodyMeansApplied) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Status(204, "", "text/plain").AfterApplying());
  server.InjectFault(BoardServer::Fault::Status(202, "accepted", "text/plain").AfterApplying());
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> one = {Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "a")};
  std::vector<BoardWrite> two = {Upsert("roadmap", "c:2-2", "2024-05-01T10:00:00.000Z", "b")};
  EXPECT_TRUE(board->Apply(one));
  EXPECT_TRUE(board->Apply(two));
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_EQ(server.items().size(), 2u);
}

// ---- Retries ----

TEST(HttpBoardTest, RetriesA503HonouringRetryAfterInSeconds) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Unavailable("2"));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  auto waits = sleeps.Waits();
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_GE(waits[0], milliseconds(2000));
  auto batches = server.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].status, 503);
  EXPECT_FALSE(batches[0].applied);
  EXPECT_EQ(batches[1].request.body, batches[0].request.body);  // the same batch again
  EXPECT_TRUE(server.Get("roadmap", "c:2-1"));
}

TEST(HttpBoardTest, RetriesA503HonouringRetryAfterAsAnHttpDate) {
  BoardServer server;
  auto when = std::chrono::system_clock::now() + std::chrono::seconds(10);
  server.InjectFault(BoardServer::Fault::Unavailable(HttpDate(when)));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  auto waits = sleeps.Waits();
  ASSERT_EQ(waits.size(), 1u);
  // The date has whole seconds, and some time passed before it was read.
  EXPECT_GE(waits[0], milliseconds(8000));
  EXPECT_LE(waits[0], milliseconds(10'000));
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(HttpBoardTest, A503WithoutRetryAfterBacksOffWithFullJitterUnderTheCap) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Unavailable().Times(4));
  Sleeps sleeps;
  auto board =
      MakeBoard(Options(server), sleeps, sleeps.Options(milliseconds(100), milliseconds(250)));
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  auto waits = sleeps.Waits();
  ASSERT_EQ(waits.size(), 4u);
  const milliseconds ceilings[] = {milliseconds(100), milliseconds(200), milliseconds(250),
                                   milliseconds(250)};
  for (std::size_t i = 0; i < waits.size(); ++i) {
    EXPECT_GE(waits[i], milliseconds(0)) << i;
    EXPECT_LE(waits[i], ceilings[i]) << i;
  }
  EXPECT_EQ(server.request_count(), 5u);
  EXPECT_TRUE(server.Get("roadmap", "c:2-1"));
}

TEST(HttpBoardTest, RetriesA429HonouringRetryAfter) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::RateLimited("1"));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  ASSERT_TRUE(board->Apply(writes));
  auto waits = sleeps.Waits();
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_GE(waits[0], milliseconds(1000));
  EXPECT_TRUE(server.Get("roadmap", "c:2-1"));
}

TEST(HttpBoardTest, AStoreThatStaysDownIsUnavailableAndRetriable) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Unavailable("1").Times(100));
  Sleeps sleeps;
  HttpBoardOptions options = Options(server);
  options.max_attempts = 3;
  auto board = MakeBoard(std::move(options), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(applied.error().retriable);
  EXPECT_EQ(applied.error().message,
            "board store unavailable: board roadmap: HTTP 503: <html><head><title>503 Service "
            "Temporarily Unavailable</title></head> <body><center><h1>503 Service Temporarily "
            "Unavailable</h1></center> <hr><center>nginx</center></body></html> "
            "(Retry-After: 1)");
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(sleeps.Waits().size(), 2u);
  EXPECT_TRUE(server.items().empty());
}

TEST(HttpBoardTest, PersistentRateLimitingIsUnavailableAndRetriable) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::RateLimited().Times(100));
  Sleeps sleeps;
  HttpBoardOptions options = Options(server);
  options.max_attempts = 2;
  auto board = MakeBoard(std::move(options), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(applied.error().retriable);
  EXPECT_EQ(applied.error().message,
            "board store unavailable: board roadmap: HTTP 429: rate_limited: too many batches; "
            "slow down");
}

TEST(HttpBoardTest, AnotherServerErrorIsUnavailableToo) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Status(501, "not here yet", "text/plain").Times(100));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(applied.error().retriable);
  EXPECT_NE(applied.error().message.find("HTTP 501: not here yet"), std::string::npos);
}

// ---- Rejections ----

TEST(HttpBoardTest, A400ForASingleWriteRefusesItAndTheOthersGoOn) {
  BoardServer server;
  server.InjectFault(
      BoardServer::Fault::Rejected("upsert[0].fields.urgency must be a number").For("beta"));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = {
      Upsert("alpha", "c:2-1", "2024-05-01T10:00:00.000Z", "1"),
      Upsert("beta", "c:2-2", "2024-05-01T10:00:00.000Z", "2"),
      Upsert("gamma", "c:2-3", "2024-05-01T10:00:00.000Z", "3"),
  };
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(
      *applied,
      (std::vector<RefusedWrite>{{1,
                                  "HTTP 400: invalid_batch: upsert[0].fields.urgency must be a "
                                  "number"}}));
  // Not retried, and the writes after it were delivered in the same call.
  auto batches = server.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].board, "alpha");
  EXPECT_EQ(batches[1].board, "beta");
  EXPECT_EQ(batches[2].board, "gamma");
  EXPECT_TRUE(sleeps.Waits().empty());
  EXPECT_TRUE(server.Get("alpha", "c:2-1"));
  EXPECT_FALSE(server.Get("beta", "c:2-2"));
  EXPECT_TRUE(server.Get("gamma", "c:2-3"));
}

TEST(HttpBoardTest, ATextRejectionIsQuotedUpTo300Bytes) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Status(413, std::string(1000, 'x'), "text/plain"));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, (std::vector<RefusedWrite>{{0, "HTTP 413: " + std::string(300, 'x') + "…"}}));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpBoardTest, TheStoresOwnValidationComesBackAsItsMessage) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "good"),
      Upsert("roadmap", "c:2-2", "2024-05-01 10:00", "bad time"),
      Archive("roadmap", "c:2-3", "yesterday"),
  };
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, (std::vector<RefusedWrite>{
                          {1,
                           "HTTP 400: invalid_batch: upsert[0].source_updated_at must look like "
                           "2024-05-01T10:00:00.000Z, not \"2024-05-01 10:00\""},
                          {2,
                           "HTTP 400: invalid_batch: archive_versions[\"c:2-3\"] must look like "
                           "2024-05-01T10:00:00.000Z, not \"yesterday\""}}));
  EXPECT_TRUE(server.Get("roadmap", "c:2-1"));
  // [all] 400, [good] 200, [bad time, yesterday] 400, [bad time] 400, [yesterday] 400.
  EXPECT_EQ(server.request_count(), 5u);
}

TEST(HttpBoardTest, ARefusedTokenIsAnAuthError) {
  BoardServer server;
  server.SetToken("bst_another_token_entirely_0000000000");
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kAuth);
  EXPECT_FALSE(applied.error().retriable);
  EXPECT_EQ(applied.error().message,
            "board store refused the board token for board roadmap (HTTP 401: unauthorized: "
            "missing or invalid board token); check board.token_file, token_env or "
            "token_credential");
  EXPECT_EQ(server.request_count(), 1u);
  ExpectNoToken(applied.error());
}

TEST(HttpBoardTest, ARequestTimeoutKeepsTheWritesPendingInsteadOfRefusingThem) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Status(408, R"({"error":"request_timeout"})"));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(applied.error().retriable);
  EXPECT_FALSE(server.Get("roadmap", "c:2-1"));
  auto again = board->Apply(writes);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->empty());
  EXPECT_TRUE(server.Get("roadmap", "c:2-1"));
}

TEST(HttpBoardTest, AForbiddenBoardIsAnAuthError) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Status(
      403, R"({"error":"forbidden","message":"the token may not write board roadmap"})"));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kAuth);
  EXPECT_FALSE(applied.error().retriable);
  EXPECT_NE(applied.error().message.find("HTTP 403: forbidden: the token may not write board "
                                         "roadmap"),
            std::string::npos);
}

TEST(HttpBoardTest, TheTokenIsNeverInAnErrorEvenWhenTheStoreEchoesIt) {
  BoardServer server;
  const std::string echo = "Bearer " + Token().Reveal();
  server.InjectFault(BoardServer::Fault::Status(
      400, R"({"error":"bad_header","message":"cannot use )" + echo + R"("})"));
  server.InjectFault(BoardServer::Fault::Status(
      422, R"({"errors":[{"item_key":"c:2-1","message":"cannot use )" + echo + R"("}]})"));
  server.InjectFault(BoardServer::Fault::Status(401, "token " + echo + " revoked", "text/plain"));
  server.InjectFault(
      BoardServer::Fault::Status(503, "upstream saw " + echo, "text/plain").Times(100));
  Sleeps sleeps;
  HttpBoardOptions options = Options(server);
  options.max_attempts = 2;
  auto board = MakeBoard(std::move(options), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  for (const char* expected :
       {"HTTP 400: bad_header: cannot use Bearer …", "cannot use Bearer …"}) {
    auto applied = board->Apply(writes);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(*applied, (std::vector<RefusedWrite>{{0, expected}}));
  }
  for (ErrorCode expected : {ErrorCode::kAuth, ErrorCode::kUnavailable}) {
    auto applied = board->Apply(writes);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().code, expected);
    ExpectNoToken(applied.error());
    EXPECT_NE(applied.error().message.find("Bearer …"), std::string::npos)
        << applied.error().message;
  }
}

TEST(HttpBoardTest, ATokenIsNotSentOverPlainHttpToAnotherHost) {
  Sleeps sleeps;
  HttpBoardOptions options;
  options.url = "http://boards.example.com/api";
  options.token = Token();
  auto board = MakeBoard(std::move(options), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kConfig);
  EXPECT_TRUE(applied.error().retriable);  // the writes stay queued, not refused
  EXPECT_NE(applied.error().message.find("use https"), std::string::npos);
}

// ---- Refused items ----

// 800 writes: 400 upserts to roadmap (137 refused), 300 writes to ops (20
// archives of items already there, 611 refused), 100 upserts to backlog. The
// store refuses two items in `mode`; everything else must be on the board
// after one Apply(), in at most `max_requests` requests.
void ExpectTwoRefusedAmong800(BoardServer::RefusalMode mode,
                              const std::vector<RefusedWrite>& expected_refused,
                              std::size_t max_requests) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  const std::string v1 = "2024-05-01T10:00:00.000Z";
  const std::string v2 = "2024-05-02T10:00:00.000Z";
  std::vector<BoardWrite> setup;
  for (int i = 600; i < 620; ++i) {
    setup.push_back(Upsert("ops", "c:3-" + std::to_string(i), v1, "before"));
  }
  ASSERT_TRUE(board->Apply(setup));
  server.ClearBatches();
  server.SetRefusalMode(mode);
  server.RefuseItem("c:2-137", "fields.urgency must be at most 4");
  server.RefuseItem("c:3-611", "this item is locked by its board");

  std::vector<BoardWrite> writes;
  for (int i = 0; i < 800; ++i) {
    const std::string n = std::to_string(i);
    if (i < 400) {
      writes.push_back(Upsert("roadmap", "c:2-" + n, v2, "title " + n));
    } else if (i < 700) {
      writes.push_back(i >= 600 && i < 620 ? Archive("ops", "c:3-" + n, v2)
                                           : Upsert("ops", "c:3-" + n, v2, "title " + n));
    } else {
      writes.push_back(Upsert("backlog", "c:4-" + n, v2, "title " + n));
    }
  }
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, expected_refused);

  // The other 798 are applied; the refused ones are not.
  auto items = server.items();
  EXPECT_EQ(items.size(), 799u);  // 798 delivered, and c:3-611 from before
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const BoardItem& want = writes[i].item;
    auto it = items.find({want.board, want.item_key});
    if (i == 137) {
      EXPECT_EQ(it, items.end());
      continue;
    }
    ASSERT_NE(it, items.end()) << i;
    if (i == 611) {
      EXPECT_TRUE(it->second.archived_at.empty());
      EXPECT_EQ(it->second.item.source_updated_at, v1);
      continue;
    }
    EXPECT_EQ(it->second.archived_at.empty(), !writes[i].archive) << i;
    EXPECT_EQ(it->second.item.source_updated_at, v2) << i;
    if (!writes[i].archive) {
      EXPECT_EQ(it->second.item.fields, want.fields) << i;
    }
  }

  auto batches = server.batches();
  EXPECT_LE(batches.size(), max_requests);
  std::size_t backlog_requests = 0;
  for (const auto& batch : batches) {
    EXPECT_FALSE(batch.faulted);
    if (batch.status != 200) {
      // Only batches with a refused item were turned down.
      EXPECT_TRUE(batch.request.body.find("\"c:2-137\"") != std::string::npos ||
                  batch.request.body.find("\"c:3-611\"") != std::string::npos)
          << batch.status << " " << batch.request.body.substr(0, 200);
    }
    backlog_requests += batch.board == "backlog" ? 1 : 0;
  }
  EXPECT_EQ(backlog_requests, 1u);  // the board without a refused item: one request
  EXPECT_TRUE(sleeps.Waits().empty());
}

TEST(HttpBoardTest, A422NamingTwoItemsAmong800RefusesOnlyThose) {
  // Per board with a refused item: the 422, then the rest again.
  ExpectTwoRefusedAmong800(
      BoardServer::RefusalMode::kNameItems,
      {{137, "fields.urgency must be at most 4"}, {611, "this item is locked by its board"}},
      /*max_requests=*/5);
}

TEST(HttpBoardTest, ABare400NarrowsTwoRefusedItemsAmong800DownByHalving) {
  // Per board with one refused item among n: the whole request, then two
  // halves per level down to the single write, 1 + 2 * ceil(log2 n).
  ExpectTwoRefusedAmong800(BoardServer::RefusalMode::kBare400,
                           {{137, "HTTP 400: invalid_batch: fields.urgency must be at most 4"},
                            {611, "HTTP 400: invalid_batch: this item is locked by its board"}},
                           /*max_requests=*/(1 + 2 * 9) + (1 + 2 * 9) + 1);
}

TEST(HttpBoardTest, TwoRefusedItemsInOneRequestAreBothFoundByHalving) {
  BoardServer server;
  server.SetRefusalMode(BoardServer::RefusalMode::kBare400);
  server.RefuseItem("c:2-3", "no");
  server.RefuseItem("c:2-60", "no either");
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes;
  for (int i = 0; i < 64; ++i) {
    writes.push_back(Upsert("roadmap", "c:2-" + std::to_string(i), "2024-05-01T10:00:00.000Z",
                            std::to_string(i)));
  }
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, (std::vector<RefusedWrite>{{3, "HTTP 400: invalid_batch: no"},
                                                 {60, "HTTP 400: invalid_batch: no either"}}));
  EXPECT_EQ(server.items().size(), 62u);
  // The whole request, its two halves (each holds one refused write), then
  // two requests on each of the 5 levels below for each refused write.
  EXPECT_EQ(server.request_count(), 1u + 2u + 2u * 5u * 2u);
}

TEST(HttpBoardTest, A422NamingItemsRefusesThoseWithTheirMessageAndSendsTheRestAgain) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Status(
      422, R"({"error":"invalid_items","errors":[)"
           R"({"item_key":"c:2-2","message":")" +
               std::string("urgency\\n  must be a number; ") + std::string(400, 'z') +
               R"("},)"
               R"({"item_key":"c:2-2","message":"named twice"},)"
               R"({"item_key":"c:9-9","message":"not in this request"},)"
               R"({"message":"no item_key"},7,)"
               R"({"item_key":"c:2-4"}]})"));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "1"),
      Upsert("roadmap", "c:2-2", "2024-05-01T10:00:00.000Z", "2"),
      Upsert("roadmap", "c:2-3", "2024-05-01T10:00:00.000Z", "3"),
      Archive("roadmap", "c:2-4", "2024-05-01T10:00:00.000Z"),
  };
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  std::string cut = "urgency must be a number; " + std::string(300 - 26, 'z') + "…";
  EXPECT_EQ(*applied, (std::vector<RefusedWrite>{{1, cut}, {3, "HTTP 422"}}));
  auto batches = server.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].status, 422);
  EXPECT_EQ(batches[1].status, 200);
  EXPECT_EQ(batches[1].request.body, BoardBatchBody(std::vector<BoardWrite>{writes[0], writes[2]}));
  EXPECT_TRUE(server.Get("roadmap", "c:2-1"));
  EXPECT_FALSE(server.Get("roadmap", "c:2-2"));
  EXPECT_TRUE(server.Get("roadmap", "c:2-3"));
}

TEST(HttpBoardTest, A422WhoseBodyDoesNotParseIsNarrowedDownAndQuotedUpTo300Bytes) {
  BoardServer server;
  // The whole batch, then its first half alone: the single write is refused.
  server.InjectFault(
      BoardServer::Fault::Status(422, "<p>" + std::string(400, 'y') + "</p>", "text/html")
          .Times(2));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "1"),
      Upsert("roadmap", "c:2-2", "2024-05-01T10:00:00.000Z", "2"),
  };
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied,
            (std::vector<RefusedWrite>{{0, "HTTP 422: <p>" + std::string(297, 'y') + "…"}}));
  auto batches = server.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[1].request.body, BoardBatchBody(std::span(writes).first(1)));
  EXPECT_EQ(batches[2].request.body, BoardBatchBody(std::span(writes).last(1)));
  EXPECT_FALSE(server.Get("roadmap", "c:2-1"));
  EXPECT_TRUE(server.Get("roadmap", "c:2-2"));
}

TEST(HttpBoardTest, A422NamingNoItemOfTheRequestIsNarrowedDownToo) {
  BoardServer server;
  server.InjectFault(
      BoardServer::Fault::Status(
          422, R"({"error":"invalid","message":"bad item","errors":[{"item_key":"c:9-9"}]})")
          .Times(2));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "1"),
      Upsert("roadmap", "c:2-2", "2024-05-01T10:00:00.000Z", "2"),
  };
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, (std::vector<RefusedWrite>{{0, "HTTP 422: invalid: bad item"}}));
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_TRUE(server.Get("roadmap", "c:2-2"));
}

TEST(HttpBoardTest, ARefusedTokenWhileNarrowingDownIsStillAnAuthError) {
  BoardServer server;
  // [1,2,3]: 400; [1]: the real answer; then the token is revoked: [2,3]: 401.
  server.InjectFault(BoardServer::Fault::Rejected("something in here"));
  server.InjectFault(BoardServer::Fault::Delay(milliseconds(0)));
  server.InjectFault(
      BoardServer::Fault::Status(401, R"({"error":"unauthorized","message":"token revoked"})"));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "1"),
      Upsert("roadmap", "c:2-2", "2024-05-01T10:00:00.000Z", "2"),
      Upsert("roadmap", "c:2-3", "2024-05-01T10:00:00.000Z", "3"),
  };
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kAuth);
  EXPECT_FALSE(applied.error().retriable);
  EXPECT_NE(applied.error().message.find("HTTP 401: unauthorized: token revoked"),
            std::string::npos)
      << applied.error().message;
  EXPECT_EQ(server.request_count(), 3u);
  // What was applied before stays applied; the caller sends all again.
  EXPECT_TRUE(server.Get("roadmap", "c:2-1"));
  EXPECT_FALSE(server.Get("roadmap", "c:2-2"));
  auto again = board->Apply(writes);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(server.items().size(), 3u);
}

TEST(HttpBoardTest, AStoreDownWhileNarrowingDownIsUnavailable) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Rejected("something in here"));
  server.InjectFault(BoardServer::Fault::Unavailable().Times(100));
  Sleeps sleeps;
  HttpBoardOptions options = Options(server);
  options.max_attempts = 2;
  auto board = MakeBoard(std::move(options), sleeps);
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "1"),
      Upsert("roadmap", "c:2-2", "2024-05-01T10:00:00.000Z", "2"),
  };
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(applied.error().retriable);
  EXPECT_EQ(server.request_count(), 3u);  // the batch, and its first half twice
  EXPECT_TRUE(server.items().empty());
}

TEST(HttpBoardTest, NarrowingDownKeepsTheOrderOfAnItemsWrites) {
  BoardServer server;
  server.SetRefusalMode(BoardServer::RefusalMode::kBare400);
  server.RefuseItem("c:2-2", "no");
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  const std::string v1 = "2024-05-01T10:00:00.000Z";
  const std::string v2 = "2024-05-02T10:00:00.000Z";
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "c:2-1", v1, "v1"),
      Upsert("roadmap", "c:2-2", v1, "refused"),
      Archive("roadmap", "c:2-1", v1),  // the issue left the query...
      Upsert("roadmap", "c:2-3", v1, "other"),
      Upsert("roadmap", "c:2-1", v2, "v2"),  // ...and came back
  };
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, (std::vector<RefusedWrite>{{1, "HTTP 400: invalid_batch: no"}}));
  auto stored = server.Get("roadmap", "c:2-1");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->archived_at.empty());
  EXPECT_EQ(stored->item.fields.at("title"), Value("v2"));
  EXPECT_TRUE(server.Get("roadmap", "c:2-3"));
  // c:2-1's writes went in their order, each applied before the next.
  std::vector<std::string> c21;
  for (const auto& batch : server.batches()) {
    const std::string& body = batch.request.body;
    if (body.find("\"c:2-1\"") != std::string::npos) {
      bool archive = body.find("\"archive\":[\"c:2-1\"]") != std::string::npos;
      c21.push_back(std::to_string(batch.status) + (archive ? " archive" : " upsert"));
    }
  }
  EXPECT_EQ(c21,
            (std::vector<std::string>{"400 upsert", "200 upsert", "200 archive", "200 upsert"}));
}

// ---- Network failures ----

TEST(HttpBoardTest, ASlowStoreTimesOutAsUnavailable) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Delay(milliseconds(3000)).Times(2));
  Sleeps sleeps;
  HttpBoardOptions options = Options(server);
  options.timeout = milliseconds(300);
  options.max_attempts = 2;
  auto board = MakeBoard(std::move(options), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto start = std::chrono::steady_clock::now();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2500));
  EXPECT_EQ(applied.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(applied.error().retriable);
  EXPECT_TRUE(applied.error().message.starts_with("board store unavailable: board roadmap: "))
      << applied.error().message;
  EXPECT_EQ(sleeps.Waits().size(), 1u);
  // The store did apply it, slowly; sending it again is harmless.
  auto before = server.items();
  ASSERT_TRUE(board->Apply(writes));
  EXPECT_EQ(server.items(), before);
}

TEST(HttpBoardTest, ARefusedConnectionIsUnavailableAndTheWritesGoOnceTheStoreIsBack) {
  BoardServer server;
  server.Stop();
  Sleeps sleeps;
  HttpBoardOptions options = Options(server);
  options.max_attempts = 3;
  auto board = MakeBoard(std::move(options), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(applied.error().retriable);
  EXPECT_TRUE(applied.error().message.starts_with("board store unavailable: board roadmap: POST "))
      << applied.error().message;
  ExpectNoToken(applied.error());
  EXPECT_EQ(sleeps.Waits().size(), 2u);  // the client retried

  server.Start();
  ASSERT_TRUE(board->Apply(writes));
  EXPECT_TRUE(server.Get("roadmap", "c:2-1"));
}

TEST(HttpBoardTest, ADroppedConnectionIsRetried) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Drop());
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> writes = OneUpsert();
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_TRUE(server.Get("roadmap", "c:2-1"));
}

TEST(HttpBoardTest, StoppingCancelsARequestInFlight) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Delay(std::chrono::seconds(30)));
  Sleeps sleeps;
  std::stop_source stop;
  HttpBoardOptions options = Options(server);
  options.timeout = std::chrono::seconds(60);
  options.stop = stop.get_token();
  auto board = MakeBoard(std::move(options), sleeps);
  std::jthread stopper([&stop] {
    std::this_thread::sleep_for(milliseconds(200));
    stop.request_stop();
  });
  std::vector<BoardWrite> writes = OneUpsert();
  auto start = std::chrono::steady_clock::now();
  auto applied = board->Apply(writes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(applied.error().retriable);  // the writes stay queued, not refused
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// ---- Idempotency and ordering in the store ----

TEST(HttpBoardTest, TheSameBatchTwiceLeavesTheStoreAsOnce) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> setup = {Upsert("roadmap", "c:2-2", "2024-05-01T10:00:00.000Z", "b")};
  ASSERT_TRUE(board->Apply(setup));
  std::vector<BoardWrite> writes = {
      Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "a"),
      Archive("roadmap", "c:2-2"),
      Upsert("other", "c:2-3", "2024-05-01T10:00:00.000Z", "c"),
  };
  ASSERT_TRUE(board->Apply(writes));
  auto once = server.items();
  ASSERT_EQ(once.size(), 3u);
  EXPECT_FALSE(once.at({"roadmap", "c:2-2"}).archived_at.empty());
  ASSERT_TRUE(board->Apply(writes));
  EXPECT_EQ(server.items(), once);
}

TEST(HttpBoardTest, AnOlderVersionNeverReplacesANewerOne) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> newer = {Upsert("roadmap", "c:2-1", "2024-05-02T10:00:00.000Z", "new")};
  std::vector<BoardWrite> older = {Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "old")};
  ASSERT_TRUE(board->Apply(newer));
  ASSERT_TRUE(board->Apply(older));  // accepted, and ignored
  auto stored = server.Get("roadmap", "c:2-1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->item.source_updated_at, "2024-05-02T10:00:00.000Z");
  EXPECT_EQ(stored->item.fields.at("title"), Value("new"));
  auto batches = server.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(ParseJson(batches[1].request.body).has_value(), true);
}

TEST(HttpBoardTest, AnArchiveAppliesOnlyOverTheSameOrAnOlderVersion) {
  std::int64_t now = 1'714'600'000'000;
  BoardServer server(BoardServerOptions{.clock = [&now] { return now; }});
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  const std::string v1 = "2024-05-01T10:00:00.000Z";
  const std::string v2 = "2024-05-02T10:00:00.000Z";
  const std::string v3 = "2024-05-03T10:00:00.000Z";
  const std::string v4 = "2024-05-04T10:00:00.000Z";
  auto apply = [&](std::vector<BoardWrite> writes) {
    auto applied = board->Apply(writes);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->empty());
  };
  auto held = [&] { return *server.Get("roadmap", "c:2-1"); };

  apply({Upsert("roadmap", "c:2-1", v2, "live")});
  apply({Archive("roadmap", "c:2-1", v1)});  // decided on an older version: ignored
  EXPECT_TRUE(held().archived_at.empty());
  EXPECT_EQ(held().item.source_updated_at, v2);

  apply({Archive("roadmap", "c:2-1", v2)});  // the same version: applies
  EXPECT_EQ(held().archived_at, FormatIsoUtc(now));
  EXPECT_EQ(held().item.source_updated_at, v2);

  apply({Upsert("roadmap", "c:2-1", v2, "back")});  // the same version again: back
  EXPECT_TRUE(held().archived_at.empty());
  EXPECT_EQ(held().item.fields.at("title"), Value("back"));

  apply({Archive("roadmap", "c:2-1", v3)});  // newer: applies, and is held
  const std::string archived_at = FormatIsoUtc(now);
  EXPECT_EQ(held().archived_at, archived_at);
  EXPECT_EQ(held().item.source_updated_at, v3);

  apply({Upsert("roadmap", "c:2-1", v2, "stale")});  // older than the archive: ignored
  EXPECT_EQ(held().archived_at, archived_at);
  EXPECT_EQ(held().item.fields.at("title"), Value("back"));

  now += 60'000;
  apply({Archive("roadmap", "c:2-1", v4)});  // archived already: keeps its archived_at
  EXPECT_EQ(held().archived_at, archived_at);
  EXPECT_EQ(held().item.source_updated_at, v4);

  // An archive without a version (queued before versions were kept) applies
  // whatever the item holds, and leaves its version alone.
  apply({Upsert("roadmap", "c:2-2", v4, "live")});
  apply({Archive("roadmap", "c:2-2")});
  auto legacy = server.Get("roadmap", "c:2-2");
  ASSERT_TRUE(legacy);
  EXPECT_FALSE(legacy->archived_at.empty());
  EXPECT_EQ(legacy->item.source_updated_at, v4);
  // An archive of an item the store does not have is no error.
  apply({Archive("roadmap", "c:2-404", v1)});
  EXPECT_FALSE(server.Get("roadmap", "c:2-404"));
}

TEST(HttpBoardTest, TheFakeStoreRejectsMalformedArchiveVersionsLikeAStrictStore) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  std::vector<BoardWrite> setup = {Upsert("roadmap", "c:2-1", "2024-05-01T10:00:00.000Z", "a")};
  ASSERT_TRUE(board->Apply(setup));
  HttpTestClient client("http://127.0.0.1:" + std::to_string(server.port()));
  const HttpServerHeaders headers = {{"Authorization", "Bearer " + Token().Reveal()},
                                     {"Content-Type", "application/json"}};
  const std::string target = "/api/boards/roadmap/items/batch";
  const std::pair<std::string, std::string> cases[] = {
      {R"({"archive":["c:2-1"],"archive_versions":["2024-05-02T10:00:00.000Z"],"upsert":[]})",
       R"("archive_versions" must be an object)"},
      {R"({"archive":["c:2-1"],"archive_versions":{"c:2-1":20240502},"upsert":[]})",
       R"(archive_versions["c:2-1"] must look like 2024-05-01T10:00:00.000Z, not 20240502)"},
      {R"({"archive":["c:2-1"],"archive_versions":{"c:2-1":"2024-05-02"},"upsert":[]})",
       R"(archive_versions["c:2-1"] must look like 2024-05-01T10:00:00.000Z, not "2024-05-02")"},
      {R"({"archive":["c:2-1"],"archive_versions":{"c:2-2":"2024-05-02T10:00:00.000Z"},)"
       R"("upsert":[]})",
       R"(archive_versions names "c:2-2", which is not archived)"},
  };
  for (const auto& [body, message] : cases) {
    HttpTestResponse response = client.Send("POST", target, headers, body);
    EXPECT_EQ(response.status, 400) << body << " " << response.error;
    auto json = ParseJson(response.body);
    ASSERT_TRUE(json) << response.body;
    EXPECT_EQ(json->StringOr("message"), message);
  }
  EXPECT_TRUE(server.Get("roadmap", "c:2-1")->archived_at.empty());  // nothing applied
  // Without archive_versions (a client before versions): unconditional.
  HttpTestResponse legacy =
      client.Send("POST", target, headers, R"({"archive":["c:2-1"],"upsert":[]})");
  EXPECT_EQ(legacy.status, 200) << legacy.body;
  EXPECT_FALSE(server.Get("roadmap", "c:2-1")->archived_at.empty());
}

// A run of scripted failures (503s, 429s, dropped connections after the store
// committed, answers too slow to wait for, an outage with refused
// connections), driven the way the daemon drives a board: a batch that fails
// retriably is sent again until it is acknowledged. The store must end with
// exactly what was written: nothing lost, nothing extra.
TEST(HttpBoardTest, ARunOfFailuresLosesAndDuplicatesNothing) {
  BoardServer server;
  Sleeps sleeps;
  HttpBoardOptions options = Options(server);
  options.timeout = milliseconds(300);
  options.max_attempts = 2;
  auto board = MakeBoard(std::move(options), sleeps);

  // 3 boards, 30 items, several versions each, some archived and revived.
  std::mt19937 rng(42);
  std::vector<BoardWrite> writes;
  std::map<std::pair<std::string, std::string>, int> version;
  for (int i = 0; i < 200; ++i) {
    std::string board_id = "board-" + std::to_string(rng() % 3);
    std::string key = "c:2-" + std::to_string(rng() % 30);
    if (rng() % 6 == 0) {
      writes.push_back(Archive(board_id, key));
      continue;
    }
    int v = ++version[{board_id, key}];
    std::string updated = FormatIsoUtc(1'714'557'600'000 + std::int64_t{v} * 60'000);
    writes.push_back(Upsert(board_id, key, updated, "v" + std::to_string(v)));
  }
  // What the board must hold: the last upsert of each item, archived when an
  // archive came after it.
  std::map<std::pair<std::string, std::string>, std::pair<BoardItem, bool>> expected;
  for (const BoardWrite& write : writes) {
    auto key = std::make_pair(write.item.board, write.item.item_key);
    if (!write.archive) {
      expected[key] = {write.item, false};
    } else if (auto it = expected.find(key); it != expected.end()) {
      it->second.second = true;
    }
  }
  int archived = 0;
  for (const auto& [key, want] : expected) {
    archived += want.second ? 1 : 0;
  }
  ASSERT_GT(archived, 3);
  ASSERT_GT(expected.size() - archived, 30u);

  using Fault = BoardServer::Fault;
  const std::vector<Fault> script = {
      Fault::Unavailable("0"),
      Fault::Drop().AfterApplying(),
      Fault::RateLimited(),
      Fault::Delay(milliseconds(1000)).Times(2),  // applied, but too late to hear
      Fault::Status(502, "bad gateway", "text/plain").AfterApplying().Times(2),
      Fault::Unavailable().Times(3),
  };
  int sends = 0;
  int failures = 0;
  constexpr std::size_t kBatch = 7;
  for (std::size_t begin = 0, n = 0; begin < writes.size(); begin += kBatch, ++n) {
    if (n % 2 == 0) {
      server.InjectFault(script[(n / 2) % script.size()]);
    }
    if (n == 9) {
      server.Stop();  // an outage: connections refused
    }
    std::span<const BoardWrite> batch =
        std::span(writes).subspan(begin, std::min(kBatch, writes.size() - begin));
    for (int attempt = 1;; ++attempt) {
      ASSERT_LT(attempt, 10) << "batch " << n << " never went through";
      ++sends;
      auto applied = board->Apply(batch);
      if (applied) {
        ASSERT_TRUE(applied->empty()) << applied->front().message;
        break;
      }
      ++failures;
      ASSERT_TRUE(applied.error().retriable) << applied.error().message;
      ASSERT_EQ(applied.error().code, ErrorCode::kUnavailable) << applied.error().message;
      ExpectNoToken(applied.error());
      server.Start();  // the outage ends
    }
  }
  EXPECT_GT(failures, 3);
  EXPECT_EQ(server.pending_faults(), 0u);

  auto items = server.items();
  ASSERT_EQ(items.size(), expected.size());
  for (const auto& [key, want] : expected) {
    auto it = items.find(key);
    ASSERT_NE(it, items.end()) << key.first << " " << key.second;
    EXPECT_EQ(it->second.item.source_updated_at, want.first.source_updated_at) << key.second;
    EXPECT_EQ(it->second.item.fields, want.first.fields) << key.second;
    EXPECT_EQ(it->second.item.source_key, want.first.source_key);
    EXPECT_EQ(it->second.item.source_url, want.first.source_url);
    EXPECT_EQ(!it->second.archived_at.empty(), want.second) << key.second;
  }
  // Every request the store saw was a well-formed batch of ours.
  for (const auto& batch : server.batches()) {
    EXPECT_TRUE(batch.status == 0 || batch.status == 200 || batch.faulted)
        << batch.status << " " << batch.request.body;
  }
}

}  // namespace
}  // namespace boardsync

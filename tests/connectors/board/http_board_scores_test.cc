// HttpBoard as a ScoreSource: GET {url}/boards/{board}/scores against the
// fake board store, its paging, its faults and the shape of its answers.
#include <gtest/gtest.h>

#include <mutex>

#include "connectors/board/http_board.h"
#include "connectors/http/cpprest_http_client.h"
#include "tests/support/board_server.h"

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

  HttpClientOptions Options() {
    HttpClientOptions options;
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
  options.max_attempts = 3;
  return options;
}

std::unique_ptr<HttpBoard> MakeBoard(HttpBoardOptions options, Sleeps& sleeps,
                                     HttpClientOptions client = {}) {
  if (!client.sleep) {
    HttpClientOptions recording = sleeps.Options();
    recording.max_response_bytes = client.max_response_bytes;
    client = std::move(recording);
  }
  return std::make_unique<HttpBoard>(std::move(options),
                                     std::make_unique<CpprestHttpClient>(std::move(client)));
}

BoardScore Score(std::string item_key, std::string name, Value value, std::string updated_at) {
  return BoardScore{std::move(item_key), std::move(name), std::move(value), std::move(updated_at)};
}

constexpr const char* kT1 = "2024-05-01T10:00:00.000Z";
constexpr const char* kT2 = "2024-05-02T10:00:00.000Z";

void ExpectNoToken(const Error& error) {
  EXPECT_EQ(error.message.find(Token().Reveal()), std::string::npos) << error.message;
}

// The error of a read that must fail.
Error ReadError(HttpBoard& board, std::string_view since = "") {
  auto page = board.ReadScores("roadmap", since, 100);
  EXPECT_FALSE(page);
  return page ? Error{ErrorCode::kConfig, "it did not fail"} : page.error();
}

// A server that answers every score read with `body` (200, JSON).
void AnswerScoresWith(BoardServer& server, std::string body) {
  server.InjectFault(BoardServer::Fault::Status(200, std::move(body)).OnScores().Times(100));
}

// ---- Wire format and paging ----

TEST(HttpBoardScoresTest, PagesThroughNextUntilNothingIsNewer) {
  BoardServer server;
  server.SetScoresPageCap(2);  // fewer than asked: the client goes by `next`
  server.SetScore("roadmap", "yt:2-1", "score", 7.5, kT1);
  server.SetScore("roadmap", "yt:2-1", "rank", 3, kT1);
  server.SetScore("ops", "yt:2-9", "score", 1, kT1);  // another board
  server.SetScore("roadmap", "yt:2-2", "score", "high", kT2);
  server.SetScore("roadmap", "yt:2-3", "score", -2, kT2);
  server.SetScore("roadmap", "yt:2-4", "score", 0, kT2);
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);

  std::vector<BoardScore> read;
  std::vector<std::string> cursors;
  std::string cursor;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = board->ReadScores("roadmap", cursor, 100);
    ASSERT_TRUE(page) << page.error().message;
    EXPECT_FALSE(page->next.empty());
    cursor = page->next;
    cursors.push_back(cursor);
    if (page->scores.empty()) {
      break;
    }
    read.insert(read.end(), page->scores.begin(), page->scores.end());
  }
  EXPECT_EQ(read, (std::vector<BoardScore>{
                      Score("yt:2-1", "score", 7.5, kT1), Score("yt:2-1", "rank", 3, kT1),
                      Score("yt:2-2", "score", "high", kT2), Score("yt:2-3", "score", -2, kT2),
                      Score("yt:2-4", "score", 0, kT2)}));
  EXPECT_TRUE(read[0].value.IsDouble());
  EXPECT_TRUE(read[1].value.IsInt());
  EXPECT_EQ(cursors, (std::vector<std::string>{"2", "5", "6", "6"}));

  auto reads = server.score_reads();
  ASSERT_EQ(reads.size(), 4u);  // 2 + 2 + 1 + the empty page
  EXPECT_EQ(server.request_count(), 4u);
  EXPECT_EQ(reads[0].request.method, "GET");
  EXPECT_EQ(reads[0].request.target, "/api/boards/roadmap/scores?limit=100");  // no since
  EXPECT_EQ(reads[1].request.target, "/api/boards/roadmap/scores?since=2&limit=100");
  EXPECT_EQ(reads[3].request.target, "/api/boards/roadmap/scores?since=6&limit=100");
  EXPECT_EQ(*reads[0].request.Header("authorization"), "Bearer " + Token().Reveal());
  EXPECT_EQ(*reads[0].request.Header("accept"), "application/json");
  EXPECT_EQ(reads[0].returned, 2u);
  EXPECT_EQ(reads[2].returned, 1u);
  EXPECT_EQ(reads[3].returned, 0u);
  EXPECT_TRUE(sleeps.Waits().empty());
  EXPECT_TRUE(server.batches().empty());  // score reads are not batches
}

TEST(HttpBoardScoresTest, AsksForTheLimitAndTheStoreMayReturnFewer) {
  BoardServer server;
  for (int i = 0; i < 5; ++i) {
    server.SetScore("roadmap", "yt:2-" + std::to_string(i), "score", i, kT1);
  }
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  auto page = board->ReadScores("roadmap", "", 3);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->scores.size(), 3u);
  auto one = board->ReadScores("roadmap", "", 0);  // 0 is sent as 1
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->scores.size(), 1u);
  auto reads = server.score_reads();
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].limit, "3");
  EXPECT_EQ(reads[1].limit, "1");
}

TEST(HttpBoardScoresTest, ARemovedScoreComesAsANullValueAndAChangeAfterAReadComesAgain) {
  BoardServer server;
  server.SetScore("roadmap", "yt:2-1", "score", 4, kT1);
  server.SetScore("roadmap", "yt:2-2", "score", 5, kT1);
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  auto first = board->ReadScores("roadmap", "", 100);
  ASSERT_TRUE(first) << first.error().message;

  server.RemoveScore("roadmap", "yt:2-1", "score");
  server.SetScore("roadmap", "yt:2-2", "score", Value(), kT2);  // the board wrote null
  server.SetScore("roadmap", "yt:2-3", "score", 6, kT1);        // stamped in the past: still new
  auto second = board->ReadScores("roadmap", first->next, 100);
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_EQ(second->scores.size(), 3u);
  EXPECT_EQ(second->scores[0].item_key, "yt:2-1");
  EXPECT_TRUE(second->scores[0].value.IsNull());
  EXPECT_EQ(second->scores[1], Score("yt:2-2", "score", Value(), kT2));
  EXPECT_EQ(second->scores[2], Score("yt:2-3", "score", 6, kT1));
}

TEST(HttpBoardScoresTest, EncodesTheBoardAndTheCursor) {
  BoardServerOptions options;
  options.cursor_prefix = "c/1 +&#=?";  // each of these means something in a URL
  BoardServer server(options);
  server.SetScore("road map/ü", "yt:2-1", "score", 1, kT1);
  server.SetScore("road map/ü", "yt:2-2", "score", 2, kT1);
  Sleeps sleeps;
  HttpBoardOptions board_options = Options(server);
  board_options.url += "/";  // tolerated
  auto board = MakeBoard(std::move(board_options), sleeps);
  auto first = board->ReadScores("road map/ü", "", 1);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->next, "c/1 +&#=?1");
  auto second = board->ReadScores("road map/ü", first->next, 1);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->scores, (std::vector<BoardScore>{Score("yt:2-2", "score", 2, kT1)}));
  auto reads = server.score_reads();
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[1].request.target,
            "/api/boards/road%20map%2F%C3%BC/scores?since=c%2F1%20%2B%26%23%3D%3F1&limit=1");
  EXPECT_EQ(reads[1].board, "road map/ü");
  EXPECT_EQ(reads[1].since, "c/1 +&#=?1");
}

// ---- Faults ----

TEST(HttpBoardScoresTest, ARefusedTokenIsAnAuthError) {
  BoardServer server;
  server.SetToken("bst_another_token_entirely_0000000000");
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  Error error = ReadError(*board);
  EXPECT_EQ(error.code, ErrorCode::kAuth);
  EXPECT_FALSE(error.retriable);
  EXPECT_EQ(error.message,
            "board store refused the board token reading the scores of board roadmap (HTTP 401: "
            "unauthorized: missing or invalid board token); check board.token_file, token_env "
            "or token_credential");
  EXPECT_EQ(server.request_count(), 1u);  // not retried
  ExpectNoToken(error);
}

TEST(HttpBoardScoresTest, AForbiddenBoardIsAnAuthErrorSayingWhatTheTokenLacks) {
  BoardServer server;
  server.InjectFault(BoardServer::Fault::Status(
      403, R"({"error":"forbidden","message":"the token may not read board roadmap"})"));
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  Error error = ReadError(*board);
  EXPECT_EQ(error.code, ErrorCode::kAuth);
  EXPECT_FALSE(error.retriable);
  EXPECT_EQ(error.message,
            "board store: the board token may not read the scores of board roadmap (HTTP 403: "
            "forbidden: the token may not read board roadmap); it needs read access to the "
            "board's scores");
}

TEST(HttpBoardScoresTest, A500IsRetriedAndAStoreThatStaysDownIsUnavailable) {
  BoardServer server;
  server.SetScore("roadmap", "yt:2-1", "score", 1, kT1);
  server.InjectFault(
      BoardServer::Fault::Status(500, R"({"error":"internal","message":"db gone"})").OnScores());
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  auto page = board->ReadScores("roadmap", "", 100);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->scores.size(), 1u);
  EXPECT_EQ(server.score_reads().size(), 2u);
  EXPECT_EQ(server.score_reads()[0].status, 500);
  EXPECT_TRUE(server.score_reads()[0].faulted);

  server.InjectFault(
      BoardServer::Fault::Status(500, R"({"error":"internal","message":"db gone"})").Times(100));
  Error error = ReadError(*board);
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(error.retriable);
  EXPECT_EQ(error.message, "board store unavailable: board roadmap: HTTP 500: internal: db gone");
  EXPECT_EQ(server.score_reads().size(), 5u);  // 2 before, then 3 attempts
}

TEST(HttpBoardScoresTest, A429IsRetriedHonouringRetryAfter) {
  BoardServer server;
  server.SetScore("roadmap", "yt:2-1", "score", 1, kT1);
  server.InjectFault(BoardServer::Fault::RateLimited("2").OnScores());
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  auto page = board->ReadScores("roadmap", "", 100);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->scores.size(), 1u);
  auto waits = sleeps.Waits();
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_GE(waits[0], milliseconds(2000));

  server.InjectFault(BoardServer::Fault::RateLimited("1").Times(100));
  Error error = ReadError(*board);
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(error.retriable);
  EXPECT_EQ(error.message,
            "board store unavailable: board roadmap: HTTP 429: rate_limited: too many batches; "
            "slow down (Retry-After: 1)");
}

TEST(HttpBoardScoresTest, AnotherClientErrorIsABadResponseWithTheStoresMessage) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  Error error = ReadError(*board, "not-a-cursor");  // the fake store checks its cursors
  EXPECT_EQ(error.code, ErrorCode::kBadResponse);
  EXPECT_FALSE(error.retriable);
  EXPECT_EQ(error.message,
            "board store: the scores of board roadmap: the store answered HTTP 400: "
            "invalid_cursor: since \"not-a-cursor\" is not a cursor of this store");
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpBoardScoresTest, AnAnswerOfTheWrongShapeIsABadResponseNamingWhatIsWrong) {
  struct Case {
    std::string body;
    std::string expected;  // after "board store: the scores of board roadmap: "
  };
  const std::vector<Case> cases = {
      {"<html>oops</html>", "the answer is not JSON (malformed JSON: "},
      {"[]", "the answer is not a JSON object"},
      {R"({"next":"1"})", "the answer has no \"scores\" list"},
      {R"({"scores":{},"next":"1"})", "the answer has no \"scores\" list"},
      {R"({"scores":[]})",
       "the answer has no \"next\" cursor (the API requires one on every page, the last one "
       "too)"},
      {R"({"scores":[],"next":null})", "the answer has no \"next\" cursor"},
      {R"({"scores":[],"next":7})", "the answer's \"next\" is not a non-empty string"},
      {R"({"scores":[],"next":""})", "the answer's \"next\" is not a non-empty string"},
      {R"({"scores":[7],"next":"1"})", "scores[0] is not an object"},
      {R"({"scores":[{"name":"score","value":1}],"next":"1"})",
       "scores[0] has no item_key (a non-empty string)"},
      {R"({"scores":[{"item_key":"yt:2-1","value":1}],"next":"1"})",
       "scores[0] (item yt:2-1) has no name (a non-empty string)"},
      {R"({"scores":[{"item_key":"yt:2-1","name":"score","value":1},)"
       R"({"item_key":"yt:2-2","name":"score","value":true}],"next":"2"})",
       "the score \"score\" of item yt:2-2 has a boolean value (true); a score is a number, a "
       "string or null"},
      {R"({"scores":[{"item_key":"yt:2-3","name":"rank","value":{"n":1}}],"next":"1"})",
       "the score \"rank\" of item yt:2-3 has an object value ({\"n\":1}); a score is a "
       "number, a string or null"},
      {R"({"scores":[{"item_key":"yt:2-4","name":"score","value":[1]}],"next":"1"})",
       "the score \"score\" of item yt:2-4 has a list value ([1]); a score is a number, a "
       "string or null"},
      {R"({"scores":[{"item_key":"yt:2-5","name":"score"}],"next":"1"})",
       "the score \"score\" of item yt:2-5 has no value (a removed score is \"value\": null)"},
      {R"({"scores":[{"item_key":"yt:2-6","name":"score","value":1,"updated_at":5}],)"
       R"("next":"1"})",
       "the score \"score\" of item yt:2-6 has an updated_at that is not a string"},
  };
  for (const Case& c : cases) {
    BoardServer server;
    AnswerScoresWith(server, c.body);
    Sleeps sleeps;
    auto board = MakeBoard(Options(server), sleeps);
    Error error = ReadError(*board);
    EXPECT_EQ(error.code, ErrorCode::kBadResponse) << c.body;
    EXPECT_FALSE(error.retriable) << c.body;
    const std::string expected = "board store: the scores of board roadmap: " + c.expected;
    EXPECT_EQ(error.message.substr(0, expected.size()), expected) << c.body;
    EXPECT_EQ(server.request_count(), 1u) << c.body;  // not retried
  }
}

TEST(HttpBoardScoresTest, AMissingUpdatedAtOrExtraMembersAreFine) {
  BoardServer server;
  AnswerScoresWith(server,
                   R"({"scores":[{"item_key":"yt:2-1","name":"score","value":1,"extra":true},)"
                   R"({"item_key":"yt:2-2","name":"score","value":null,"updated_at":null}],)"
                   R"("next":"v2:abc","more":false})");
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  auto page = board->ReadScores("roadmap", "", 100);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->scores, (std::vector<BoardScore>{Score("yt:2-1", "score", 1, ""),
                                                   Score("yt:2-2", "score", Value(), "")}));
  EXPECT_EQ(page->next, "v2:abc");
}

TEST(HttpBoardScoresTest, AnAnswerOverTheSizeCapIsABadResponse) {
  BoardServer server;
  for (int i = 0; i < 100; ++i) {
    server.SetScore("roadmap", "yt:2-" + std::to_string(i), "score", i, kT1);
  }
  Sleeps sleeps;
  HttpClientOptions client;
  client.max_response_bytes = 1000;
  auto board = MakeBoard(Options(server), sleeps, client);
  Error error = ReadError(*board);
  EXPECT_EQ(error.code, ErrorCode::kBadResponse);
  EXPECT_NE(error.message.find("board store: the scores of board roadmap: "), std::string::npos)
      << error.message;
  EXPECT_NE(error.message.find("the answer is larger than 1000 bytes"), std::string::npos)
      << error.message;
}

TEST(HttpBoardScoresTest, AStoreThatCannotBeReachedIsUnavailable) {
  BoardServer server;
  Sleeps sleeps;
  auto board = MakeBoard(Options(server), sleeps);
  server.Stop();
  Error error = ReadError(*board);
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(error.retriable);
  EXPECT_EQ(error.message.rfind("board store unavailable: board roadmap: ", 0), 0u)
      << error.message;
}

TEST(HttpBoardScoresTest, ATokenIsNotSentOverPlainHttpToAnotherHost) {
  Sleeps sleeps;
  HttpBoardOptions options;
  options.url = "http://boards.example.com/api";
  options.token = Token();
  auto board = MakeBoard(std::move(options), sleeps);
  Error error = ReadError(*board);
  EXPECT_EQ(error.code, ErrorCode::kConfig);
  EXPECT_NE(error.message.find("use https"), std::string::npos) << error.message;
}

// ---- The token canary ----

TEST(HttpBoardScoresTest, TheTokenIsNeverInAnErrorEvenWhenTheStoreEchoesIt) {
  const std::string echo = "Bearer " + Token().Reveal();
  struct Case {
    BoardServer::Fault fault;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {BoardServer::Fault::Status(401, "token " + echo + " revoked", "text/plain"),
       ErrorCode::kAuth},
      {BoardServer::Fault::Status(403, R"({"error":"forbidden","message":")" + echo + R"("})"),
       ErrorCode::kAuth},
      {BoardServer::Fault::Status(400, R"({"error":"bad_header","message":")" + echo + R"("})"),
       ErrorCode::kBadResponse},
      {BoardServer::Fault::Status(503, "upstream saw " + echo, "text/plain").Times(100),
       ErrorCode::kUnavailable},
      {BoardServer::Fault::Status(200, R"({"scores":[{"item_key":")" + echo +
                                           R"(","name":"score","value":true}],"next":"1"})"),
       ErrorCode::kBadResponse},
      {BoardServer::Fault::Status(200, R"({"scores":[{"item_key":"yt:2-1","name":"score",)"
                                       R"("value":[")" +
                                           echo + R"("]}],"next":"1"})"),
       ErrorCode::kBadResponse},
  };
  for (const Case& c : cases) {
    BoardServer server;
    server.InjectFault(c.fault);
    Sleeps sleeps;
    HttpBoardOptions options = Options(server);
    options.max_attempts = 2;
    auto board = MakeBoard(std::move(options), sleeps);
    Error error = ReadError(*board);
    EXPECT_EQ(error.code, c.code) << error.message;
    ExpectNoToken(error);
    EXPECT_NE(error.message.find("Bearer …"), std::string::npos) << error.message;
  }
}

}  // namespace
}  // namespace boardsync

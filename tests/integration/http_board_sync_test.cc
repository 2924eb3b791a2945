// `boardsync sync` into the HTTP board store end to end: the sample tracker
// and a strict loopback board store, with the store down, slow, rate
// limiting and rejecting a batch. Whatever happens on the way, the store ends
// up with exactly the tracker's items.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "connectors/http/json.h"
#include "daemon/commands.h"
#include "tests/integration/board_testing.h"
#include "tests/support/board_server.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// tracker.token and board.token, mode 0600.
void WriteTokenFiles(const TempDir& dir) {
  for (auto [name, token] : {std::pair{"tracker.token", std::string(kSampleTrackerToken)},
                             std::pair{"board.token", std::string(kBoardServerToken)}}) {
    ::chmod(dir.Write(name, token + "\n").c_str(), 0600);
  }
}

class HttpBoardSyncTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    WriteTokenFiles(dir_);
    dir_.Write("boardsync.yaml",
               "state_dir: state\n"
               "board:\n"
               "  type: http\n"
               "  url: " + board_.url() + "\n"
               "  token_file: board.token\n"
               "  batch_size: 4\n"
               "connections:\n"
               "  - name: sample\n"
               "    type: youtrack\n"
               "    base_url: " + tracker_.base_url() + "\n"
               "    token_file: tracker.token\n"
               "    mapping: " + (SourceDir() / "mappings/examples/youtrack.yaml").string() + "\n"
               "    board: roadmap\n");
  }

  Outcome Run(int (*command)(const CommandOptions&, std::ostream&, std::ostream&),
              bool retry_failed = false, std::string format = "table") {
    CommandOptions options;
    options.format = format;
    options.config_file = dir_.path() / "boardsync.yaml";
    options.retry_failed = retry_failed;
    std::ostringstream out, err;
    int code = command(options, out, err);
    Outcome outcome{code, out.str(), err.str()};
    // The board token never shows, whatever happened.
    std::string secret(kBoardServerToken.substr(kBoardServerToken.rfind('.') + 1));
    EXPECT_EQ((outcome.out + outcome.err).find(secret), std::string::npos);
    return outcome;
  }
  Outcome Sync(bool retry_failed = false) { return Run(&RunSync, retry_failed); }

  std::size_t LiveItems() const {
    std::size_t live = 0;
    for (const auto& [key, stored] : board_.items()) {
      live += stored.archived_at.empty() ? 1 : 0;
    }
    return live;
  }

  SampleTracker tracker_;
  BoardServer board_;
  TempDir dir_;
};

TEST_F(HttpBoardSyncTest, DeliversEveryItemInBatches) {
  Outcome sync = Sync();
  ASSERT_EQ(sync.code, kExitOk) << sync.out << sync.err;
  EXPECT_NE(sync.out.find("board writes 13, "), std::string::npos) << sync.out;
  EXPECT_EQ(board_.items().size(), 13u);
  auto rap2 = board_.Get("roadmap", "sample:2-17");
  ASSERT_TRUE(rap2);
  EXPECT_EQ(rap2->item.source_key, "RAP-2");
  EXPECT_EQ(rap2->item.fields.at("title"), Value("Show priority score next to each board card"));
  EXPECT_EQ(board_.batches().size(), 4u);  // 13 writes in batches of 4
  // A second sync of an unchanged tracker sends nothing.
  board_.ClearBatches();
  ASSERT_EQ(Sync().code, kExitOk);
  EXPECT_TRUE(board_.batches().empty());
}

TEST_F(HttpBoardSyncTest, BatchesAreDeliveredWhileLaterPagesAreStillBeingRead) {
  tracker_.ClearIssues();
  tracker_.GenerateIssues(300, /*seed=*/7);
  std::ifstream config(dir_.path() / "boardsync.yaml");
  std::stringstream text;
  text << config.rdbuf();
  dir_.Write("boardsync.yaml", text.str() + "    page_size: 50\n");
  std::vector<std::size_t> stored_at_request;  // items in the store at each issues request
  std::mutex mu;
  tracker_.OnIssuesRequest([&](std::size_t) {
    std::lock_guard lock(mu);
    stored_at_request.push_back(board_.items().size());
  });
  Outcome sync = Sync();
  ASSERT_EQ(sync.code, kExitOk) << sync.out << sync.err;
  std::lock_guard lock(mu);
  ASSERT_GE(stored_at_request.size(), 6u);
  EXPECT_EQ(stored_at_request.front(), 0u);
  // Before the last pages were asked for, earlier ones were on the board.
  EXPECT_GT(stored_at_request.back(), 0u);
  EXPECT_EQ(LiveItems(), board_.items().size());
  EXPECT_GT(board_.items().size(), 100u);
}

TEST_F(HttpBoardSyncTest, WritesWaitWhileTheStoreIsDownAndArriveWhenItReturns) {
  board_.Stop();
  Outcome down = Sync();
  EXPECT_EQ(down.code, kExitRunFailed);
  EXPECT_NE(down.err.find("13 board writes are pending"), std::string::npos) << down.err;
  Outcome status = Run(&RunStatus);
  EXPECT_NE(status.out.find("13"), std::string::npos) << status.out;

  board_.Start();
  Outcome back = Sync();
  ASSERT_EQ(back.code, kExitOk) << back.err;
  EXPECT_EQ(board_.items().size(), 13u);
  EXPECT_EQ(LiveItems(), 13u);
}

TEST_F(HttpBoardSyncTest, RetriesUnavailableAndRateLimitedAnswersHonouringRetryAfter) {
  board_.InjectFault(BoardServer::Fault::Unavailable("1"));
  board_.InjectFault(BoardServer::Fault::RateLimited("1"));
  board_.InjectFault(BoardServer::Fault::Unavailable());
  const auto start = std::chrono::steady_clock::now();
  Outcome sync = Sync();
  ASSERT_EQ(sync.code, kExitOk) << sync.err;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(board_.items().size(), 13u);
  EXPECT_EQ(board_.pending_faults(), 0u);
}

TEST_F(HttpBoardSyncTest, ARefusedItemIsSetAsideTheRestFlowsThenRetryFailedSendsIt) {
  board_.RefuseItem("sample:2-17", "fields.urgency: must be at most 4");
  Outcome sync = Sync();
  EXPECT_EQ(sync.code, kExitRunFailed);
  EXPECT_NE(sync.out.find("board writes 12, refused 1"), std::string::npos) << sync.out;
  EXPECT_NE(sync.err.find("--retry-failed"), std::string::npos) << sync.err;
  EXPECT_EQ(board_.items().size(), 12u);  // its batch-mates too

  Outcome status = Run(&RunStatus, false, "json");
  EXPECT_NE(status.out.find("\"refused\":1"), std::string::npos) << status.out;
  auto rows = ParseJson(status.out);
  ASSERT_TRUE(rows && rows->IsList() && !rows->AsList().empty()) << status.out;
  const Value* refused = rows->AsList()[0].Find("refused_items");
  ASSERT_TRUE(refused != nullptr && refused->IsList() && refused->AsList().size() == 1u)
      << status.out;
  const Value& item = refused->AsList()[0];
  EXPECT_EQ(item.StringOr("item_key"), "sample:2-17");
  EXPECT_EQ(item.StringOr("source_key"), "RAP-2");
  EXPECT_NE(item.StringOr("message").find("must be at most 4"), std::string::npos) << status.out;
  EXPECT_FALSE(item.StringOr("since").empty());
  Outcome table = Run(&RunStatus);
  EXPECT_NE(table.out.find("sample:2-17 (RAP-2)"), std::string::npos) << table.out;

  Outcome plain = Sync();  // set-aside writes stay aside without the flag
  EXPECT_EQ(plain.code, kExitRunFailed);
  EXPECT_EQ(board_.items().size(), 12u);

  board_.ClearRefusals();
  Outcome retried = Sync(/*retry_failed=*/true);
  ASSERT_EQ(retried.code, kExitOk) << retried.out << retried.err;
  EXPECT_NE(retried.out.find("1 refused board writes queued again"), std::string::npos)
      << retried.out;
  EXPECT_EQ(board_.items().size(), 13u);
  EXPECT_EQ(LiveItems(), 13u);
}

// An archive the store refused, then the issue back on the board: neither
// the set-aside archive nor a late one decided on an older version of the
// issue hides the item again.
TEST_F(HttpBoardSyncTest, ALateArchiveNeverHidesAnItemWhoseIssueCameBack) {
  ASSERT_EQ(Sync().code, kExitOk);
  const std::string key = "sample:2-9";  // RAP-1
  const std::string old_version = board_.Get("roadmap", key)->item.source_updated_at;
  Value duplicate(Value::Object{{"name", "Duplicate"}, {"isResolved", true},
                                {"$type", "StateBundleElement"}});
  ASSERT_TRUE(tracker_.SetFieldValue("RAP-1", "State", duplicate));  // skipped: archived
  board_.RefuseItem(key, "archive refused for now");
  Outcome refused = Sync();
  EXPECT_NE(refused.out.find("archived 1,"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("refused 1"), std::string::npos) << refused.out;
  EXPECT_TRUE(board_.Get("roadmap", key)->archived_at.empty());

  board_.ClearRefusals();
  Value open(Value::Object{{"name", "Open"}, {"isResolved", false},
                           {"$type", "StateBundleElement"}});
  ASSERT_TRUE(tracker_.SetFieldValue("RAP-1", "State", open));  // back
  Outcome back = Sync();
  ASSERT_EQ(back.code, kExitOk) << back.out << back.err;  // the archive was superseded
  Outcome retried = Sync(/*retry_failed=*/true);
  ASSERT_EQ(retried.code, kExitOk) << retried.out << retried.err;
  EXPECT_EQ(retried.out.find("queued again"), std::string::npos) << retried.out;
  EXPECT_TRUE(board_.Get("roadmap", key)->archived_at.empty());

  // An archive of the older version set aside (left by a run that stopped
  // half way, or by an older boardsync) and sent again: the store keeps the
  // newer item.
  ParkLateArchive(dir_.path() / "state/state.db", "sample", "roadmap", key, old_version);
  board_.ClearBatches();
  Outcome late = Sync(/*retry_failed=*/true);
  ASSERT_EQ(late.code, kExitOk) << late.out << late.err;
  ASSERT_EQ(board_.batches().size(), 1u);  // it was sent
  EXPECT_TRUE(board_.Get("roadmap", key)->archived_at.empty());
  EXPECT_EQ(LiveItems(), 13u);
}

// Two items of one connection the store refuses among 800: the other 798
// reach the store in the same sync, whether the store names the items (422)
// or only says no (400); another connection is not held up at all.
class HttpBoardRefusalTest : public testing::TestWithParam<BoardServer::RefusalMode> {
 protected:
  void SetUp() override {
    many_.GenerateIssues(800, /*seed=*/11);
    ASSERT_TRUE(few_.LoadIssues(SampleIssuesPath()));
    WriteTokenFiles(dir_);
    // No skip: every issue is an item.
    const std::string mapping = dir_.Write("mapping.yaml", "fields:\n  title: summary\n").string();
    dir_.Write("boardsync.yaml",
               "state_dir: state\n"
               "board:\n"
               "  type: http\n"
               "  url: " + board_.url() + "\n"
               "  token_file: board.token\n"
               "connections:\n"
               "  - name: many\n"
               "    type: youtrack\n"
               "    base_url: " + many_.base_url() + "\n"
               "    token_file: tracker.token\n"
               "    mapping: " + mapping + "\n"
               "    board: roadmap\n"
               "  - name: few\n"
               "    type: youtrack\n"
               "    base_url: " + few_.base_url() + "\n"
               "    token_file: tracker.token\n"
               "    mapping: " + mapping + "\n"
               "    board: other\n");
  }

  SampleTracker many_;
  SampleTracker few_;
  BoardServer board_;
  TempDir dir_;
};

TEST_P(HttpBoardRefusalTest, TwoRefusedAmongEightHundredAreSetAsideAndNamed) {
  const std::vector<std::string> ids = many_.IssueIds();
  const std::string bad1 = "many:" + ids[123];
  const std::string bad2 = "many:" + ids[611];
  board_.SetRefusalMode(GetParam());
  board_.RefuseItem(bad1, "fields.urgency: must be at most 4");
  board_.RefuseItem(bad2, "fields.title: too long");

  CommandOptions options;
  options.config_file = dir_.path() / "boardsync.yaml";
  std::ostringstream out, err;
  EXPECT_EQ(RunSync(options, out, err), kExitRunFailed) << out.str() << err.str();
  EXPECT_NE(out.str().find("many: pulled 800, created 800"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("board writes 798, refused 2"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("few: pulled 15, created 15"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("board writes 15, "), std::string::npos) << out.str();

  std::size_t roadmap = 0, other = 0;
  for (const auto& [where, stored] : board_.items()) {
    ++(where.first == "roadmap" ? roadmap : other);
    EXPECT_NE(where.second, bad1);
    EXPECT_NE(where.second, bad2);
  }
  EXPECT_EQ(roadmap, 798u);
  EXPECT_EQ(other, 15u);

  options.format = "json";
  std::ostringstream status_out, status_err;
  ASSERT_EQ(RunStatus(options, status_out, status_err), kExitOk) << status_err.str();
  auto rows = ParseJson(status_out.str());
  ASSERT_TRUE(rows && rows->IsList() && rows->AsList().size() == 2u) << status_out.str();
  std::map<std::string, std::string> named;
  for (const Value& row : rows->AsList()) {
    for (const Value& item : row.Find("refused_items")->AsList()) {
      named.emplace(item.StringOr("item_key"), item.StringOr("message"));
    }
  }
  ASSERT_EQ(named.size(), 2u) << status_out.str();
  EXPECT_NE(named[bad1].find("must be at most 4"), std::string::npos) << named[bad1];
  EXPECT_NE(named[bad2].find("too long"), std::string::npos) << named[bad2];
}

INSTANTIATE_TEST_SUITE_P(
    Modes, HttpBoardRefusalTest,
    testing::Values(BoardServer::RefusalMode::kNameItems, BoardServer::RefusalMode::kBare400),
    [](const testing::TestParamInfo<BoardServer::RefusalMode>& info) {
      return info.param == BoardServer::RefusalMode::kNameItems ? std::string("Http422NamesItems")
                                                                : std::string("Bare400");
    });

TEST_F(HttpBoardSyncTest, ARefusedBoardTokenKeepsTheWritesQueued) {
  board_.SetToken("another-board-token-entirely");
  Outcome sync = Sync();
  EXPECT_EQ(sync.code, kExitRunFailed);
  EXPECT_NE(sync.err.find("board token"), std::string::npos) << sync.err;
  EXPECT_NE(sync.err.find("13 board writes are pending"), std::string::npos) << sync.err;
  board_.SetToken(std::string(kBoardServerToken));
  ASSERT_EQ(Sync().code, kExitOk);
  EXPECT_EQ(board_.items().size(), 13u);
}

}  // namespace
}  // namespace boardsync

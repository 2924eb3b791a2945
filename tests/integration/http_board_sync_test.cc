// `boardsync sync` into the HTTP board store end to end: the sample tracker
// and a strict loopback board store, with the store down, slow, rate
// limiting and rejecting a batch. Whatever happens on the way, the store ends
// up with exactly the tracker's items.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "daemon/commands.h"
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

class HttpBoardSyncTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    for (auto [name, token] : {std::pair{"tracker.token", std::string(kSampleTrackerToken)},
                               std::pair{"board.token", std::string(kBoardServerToken)}}) {
      auto file = dir_.Write(name, token + "\n");
      ::chmod(file.c_str(), 0600);
    }
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

TEST_F(HttpBoardSyncTest, ARejectedBatchIsParkedAndTheRestFlowsThenRetryFailedSendsIt) {
  board_.InjectFault(BoardServer::Fault::Rejected("fields.urgency: must be at most 4"));
  Outcome sync = Sync();
  EXPECT_EQ(sync.code, kExitRunFailed);
  EXPECT_NE(sync.out.find("refused 4"), std::string::npos) << sync.out;
  EXPECT_NE(sync.err.find("--retry-failed"), std::string::npos) << sync.err;
  EXPECT_EQ(board_.items().size(), 9u);  // the other batches went on

  Outcome status = Run(&RunStatus, false, "json");
  EXPECT_NE(status.out.find("\"refused\":4"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("must be at most 4"), std::string::npos) << status.out;

  Outcome plain = Sync();  // parked writes stay parked without the flag
  EXPECT_EQ(plain.code, kExitRunFailed);
  EXPECT_EQ(board_.items().size(), 9u);

  Outcome retried = Sync(/*retry_failed=*/true);
  ASSERT_EQ(retried.code, kExitOk) << retried.out << retried.err;
  EXPECT_NE(retried.out.find("4 refused board writes queued again"), std::string::npos);
  EXPECT_EQ(board_.items().size(), 13u);
  EXPECT_EQ(LiveItems(), 13u);
}

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

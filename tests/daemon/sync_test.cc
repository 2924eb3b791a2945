#include "daemon/sync.h"

#include <gtest/gtest.h>

#include "daemon/state_db.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

// A tracker holding issues in memory, paging like a real one.
class MemoryTracker : public TrackerSource {
 public:
  std::vector<Issue> issues;
  std::optional<Error> fail_after_first_page;
  int pulls = 0;

  Result<TrackerIdentity> WhoAmI() override { return TrackerIdentity{"me", "Me", 1}; }
  Result<void> Pull(const PullRequest& request, const PageSink& on_page) override {
    ++pulls;
    for (std::size_t i = 0; i < issues.size(); i += request.page_size) {
      if (i > 0 && fail_after_first_page) {
        return std::unexpected(*fail_after_first_page);
      }
      std::vector<Issue> page(issues.begin() + i,
                              issues.begin() + std::min(issues.size(), i + request.page_size));
      if (auto r = on_page(std::move(page)); !r) {
        return r;
      }
    }
    return {};
  }
};

// A board that records what it was given and can be made to fail.
class RecordingBoard : public BoardSink {
 public:
  std::vector<BoardWrite> applied;
  bool down = false;
  Result<void> Apply(std::span<const BoardWrite> writes) override {
    if (down) {
      return Fail(ErrorCode::kUnavailable, "board store down", true);
    }
    applied.insert(applied.end(), writes.begin(), writes.end());
    return {};
  }
};

Issue MakeIssue(int n, const std::string& state, Value estimation = Value()) {
  Issue issue;
  issue.id = "2-" + std::to_string(n);
  issue.key = "RAP-" + std::to_string(n);
  issue.url = "https://yt.example/issue/RAP-" + std::to_string(n);
  issue.created_ms = 1'700'000'000'000;
  issue.updated_ms = 1'700'000'000'000 + n;
  issue.fields.emplace("summary", "Issue " + std::to_string(n));
  issue.fields.emplace("State", state);
  issue.fields.emplace("Estimation", std::move(estimation));
  return issue;
}

Mapping TestMapping() {
  auto mapping = ParseMapping(R"(fields:
  title: summary
  state: State
  effort: { from: Estimation, as: number }
skip:
  State: [Duplicate]
)",
                              "test.yaml");
  EXPECT_TRUE(mapping);
  return *mapping;
}

class SyncTest : public testing::Test {
 protected:
  void SetUp() override {
    connection_.name = "acme";
    connection_.board = "roadmap";
    connection_.page_size = 2;
    auto db = StateDb::Open(dir_.path());
    ASSERT_TRUE(db);
    state_ = std::move(*db);
    for (int n = 1; n <= 5; ++n) {
      tracker_.issues.push_back(MakeIssue(n, "Open"));
    }
  }

  SyncReport Pull(const SyncOptions& options = {}) {
    return PullConnection(connection_, tracker_, mapping_, *state_, options);
  }

  TempDir dir_;
  ConnectionConfig connection_;
  MemoryTracker tracker_;
  Mapping mapping_ = TestMapping();
  std::unique_ptr<StateDb> state_;
  RecordingBoard board_;
};

TEST_F(SyncTest, FirstSyncCreatesEveryItemAndDeliversIt) {
  SyncReport report = Pull();
  EXPECT_FALSE(report.error);
  EXPECT_EQ(report.counts.pulled, 5);
  EXPECT_EQ(report.counts.created, 5);
  EXPECT_EQ(state_->PendingCount("acme").value(), 5u);
  auto drained = DrainOutbox(*state_, board_, 2);
  ASSERT_TRUE(drained);
  EXPECT_EQ(*drained, 5);
  EXPECT_EQ(state_->PendingCount("acme").value(), 0u);
  ASSERT_EQ(board_.applied.size(), 5u);
  const BoardItem& item = board_.applied[0].item;
  EXPECT_EQ(item.board, "roadmap");
  EXPECT_EQ(item.item_key, "acme:2-1");
  EXPECT_EQ(item.source_key, "RAP-1");
  EXPECT_EQ(item.source_url, "https://yt.example/issue/RAP-1");
  EXPECT_EQ(item.source_updated_at, "2023-11-14T22:13:20.001Z");
  EXPECT_EQ(item.fields.at("title"), Value("Issue 1"));
  EXPECT_EQ(item.fields.at("state"), Value("Open"));
  EXPECT_TRUE(item.fields.at("effort").IsNull());
}

TEST_F(SyncTest, AnUnchangedTrackerCausesNoBoardWrite) {
  Pull();
  ASSERT_TRUE(DrainOutbox(*state_, board_, 100));
  board_.applied.clear();
  SyncReport again = Pull();
  EXPECT_EQ(again.counts.unchanged, 5);
  EXPECT_EQ(again.counts.created + again.counts.updated, 0);
  EXPECT_EQ(state_->PendingCount("acme").value(), 0u);
  EXPECT_EQ(DrainOutbox(*state_, board_, 100).value(), 0);
  EXPECT_TRUE(board_.applied.empty());
}

TEST_F(SyncTest, OnlyChangedItemsAreWritten) {
  Pull();
  ASSERT_TRUE(DrainOutbox(*state_, board_, 100));
  board_.applied.clear();
  tracker_.issues[2].fields["summary"] = "Renamed";
  tracker_.issues[3].updated_ms += 1000;  // a change in a field the mapping ignores
  SyncReport report = Pull();
  EXPECT_EQ(report.counts.updated, 1);
  EXPECT_EQ(report.counts.unchanged, 4);
  ASSERT_TRUE(DrainOutbox(*state_, board_, 100));
  ASSERT_EQ(board_.applied.size(), 1u);
  EXPECT_EQ(board_.applied[0].item.fields.at("title"), Value("Renamed"));
}

TEST_F(SyncTest, AnIssueThatFailsToMapIsReportedByKeyAndTheOthersGoOn) {
  tracker_.issues[1].fields["Estimation"] = "a lot";
  SyncReport report = Pull();
  EXPECT_FALSE(report.error);
  EXPECT_EQ(report.counts.failed, 1);
  EXPECT_EQ(report.counts.created, 4);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("RAP-2"), std::string::npos) << report.problems[0];
}

TEST_F(SyncTest, AnIssueNowSkippedLeavesTheBoardArchivedAndComesBack) {
  Pull();
  ASSERT_TRUE(DrainOutbox(*state_, board_, 100));
  board_.applied.clear();
  tracker_.issues[0].fields["State"] = "Duplicate";
  SyncReport report = Pull();
  EXPECT_EQ(report.counts.archived, 1);
  ASSERT_TRUE(DrainOutbox(*state_, board_, 100));
  ASSERT_EQ(board_.applied.size(), 1u);
  EXPECT_TRUE(board_.applied[0].archive);
  EXPECT_EQ(board_.applied[0].item.item_key, "acme:2-1");
  // Skipped again: nothing more to do.
  EXPECT_EQ(Pull().counts.skipped, 1);
  tracker_.issues[0].fields["State"] = "Open";
  SyncReport back = Pull();
  EXPECT_EQ(back.counts.updated, 1);
}

TEST_F(SyncTest, WritesStayQueuedWhileTheBoardIsDown) {
  Pull();
  board_.down = true;
  EXPECT_FALSE(DrainOutbox(*state_, board_, 2));
  EXPECT_EQ(state_->PendingCount("acme").value(), 5u);
  board_.down = false;
  EXPECT_EQ(DrainOutbox(*state_, board_, 2).value(), 5);
  EXPECT_EQ(board_.applied.size(), 5u);
}

TEST_F(SyncTest, PagesStagedBeforeATrackerFailureAreKept) {
  tracker_.fail_after_first_page = Error{ErrorCode::kUnavailable, "tracker down", true};
  SyncReport report = Pull();
  ASSERT_TRUE(report.error);
  EXPECT_EQ(report.counts.created, 2);
  EXPECT_EQ(state_->PendingCount("acme").value(), 2u);
}

TEST_F(SyncTest, DryRunStagesNothingAndListsTheChanges) {
  SyncOptions options;
  options.dry_run = true;
  SyncReport report = Pull(options);
  EXPECT_EQ(report.counts.created, 5);
  EXPECT_EQ(report.changes.size(), 5u);
  EXPECT_EQ(state_->PendingCount("acme").value(), 0u);
  EXPECT_EQ(Pull().counts.created, 5);  // nothing was remembered
}

}  // namespace
}  // namespace boardsync

#include "daemon/sync.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <thread>

#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"
#include "daemon/state_db.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

// A tracker holding issues in memory, answering like a real one: sorted by
// update time, filtered by the requested range or keys, each page with the
// newest `updated` so far as its watermark (none for keys).
class MemoryTracker : public TrackerSource {
 public:
  std::vector<Issue> issues;
  std::optional<Error> fail_after_first_page;
  std::vector<PullRequest> requests;
  // When set, the next pull by update time hands on these pages instead,
  // then fails with `fail_after_script` (when set), as a pull in slices may.
  std::vector<IssuePage> script;
  std::optional<Error> fail_after_script;

  // What Session() reports; a pull given a session sets it to that plus
  // `session_learns` (as GitHub adds the ETags of the lists it read).
  std::optional<TrackerSession> session;
  std::string session_learns;

  Result<TrackerIdentity> WhoAmI() override { return TrackerIdentity{"me", "Me", 1, 0}; }
  std::optional<TrackerSession> Session() const override { return session; }
  Result<void> Pull(const PullRequest& request, const PageSink& on_page) override {
    requests.push_back(request);
    if (request.session) {
      session = TrackerSession{request.session->data + session_learns};
    }
    if (!script.empty() && request.keys.empty()) {
      std::vector<IssuePage> pages = std::move(script);
      script.clear();
      for (IssuePage& page : pages) {
        if (auto r = on_page(std::move(page)); !r) {
          return r;
        }
      }
      if (fail_after_script) {
        return std::unexpected(*fail_after_script);
      }
      return {};
    }
    std::vector<Issue> selected;
    for (const Issue& issue : issues) {
      bool in_range = (!request.updated_from_ms || issue.updated_ms >= *request.updated_from_ms) &&
                      (!request.updated_to_ms || issue.updated_ms <= *request.updated_to_ms);
      bool wanted = request.keys.empty() ||
                    std::find(request.keys.begin(), request.keys.end(), issue.key) !=
                        request.keys.end();
      if (in_range && wanted) {
        Issue copy = issue;
        if (request.ids_only) {
          copy.fields.clear();
        }
        selected.push_back(std::move(copy));
      }
    }
    std::stable_sort(selected.begin(), selected.end(),
                     [](const Issue& a, const Issue& b) { return a.updated_ms < b.updated_ms; });
    for (std::size_t i = 0; i < selected.size(); i += request.page_size) {
      if (i > 0 && fail_after_first_page) {
        return std::unexpected(*fail_after_first_page);
      }
      IssuePage page;
      page.issues.assign(selected.begin() + i,
                         selected.begin() + std::min(selected.size(), i + request.page_size));
      if (request.keys.empty()) {
        page.through_ms = page.issues.back().updated_ms;
      }
      if (auto r = on_page(std::move(page)); !r) {
        return r;
      }
    }
    return {};
  }

  Issue* Find(const std::string& key) {
    for (Issue& issue : issues) {
      if (issue.key == key) {
        return &issue;
      }
    }
    return nullptr;
  }
};

// A board that records what it was given and can be made to fail.
class RecordingBoard : public BoardSink {
 public:
  std::vector<BoardWrite> applied;
  bool down = false;
  std::optional<std::size_t> down_after;  // goes down after this many batches
  std::size_t batches = 0;
  std::string refuse;  // this item key is refused for good, alone
  bool refuse_batch = false;  // ... or with its whole batch, without saying which
  Result<std::vector<RefusedWrite>> Apply(std::span<const BoardWrite> writes) override {
    if (down || (down_after && batches >= *down_after)) {
      return Fail(ErrorCode::kUnavailable, "board store down", true);
    }
    ++batches;
    std::vector<RefusedWrite> refused;
    for (std::size_t i = 0; i < writes.size(); ++i) {
      if (writes[i].item.item_key == refuse) {
        if (refuse_batch) {
          return Fail(ErrorCode::kBadResponse, "HTTP 400: field effort must be a number");
        }
        refused.push_back(RefusedWrite{i, "HTTP 422: field effort must be a number"});
      } else {
        applied.push_back(writes[i]);
        BoardItem& item = applied.back().item;
        if (!item.fields_json.empty()) {  // as queued: read like a store would
          item.fields = ParseJson(item.fields_json).value().AsObject();
        }
      }
    }
    return refused;
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
  auto drained = DrainOutbox(*state_, board_, "acme", 2);
  ASSERT_TRUE(drained);
  EXPECT_EQ(drained->delivered, 5);
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

TEST_F(SyncTest, ContentHashesAreThoseOfEarlierVersions) {
  // state.db files written before keep their hashes: the hash is FNV-1a of
  // the canonical JSON of {board, fields, source_key, source_url}.
  Pull();
  SQLite::Database db((dir_.path() / "state.db").string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT content_hash FROM items WHERE item_key = 'acme:2-1'");
  ASSERT_TRUE(q.executeStep());
  Value content(Value::Object{
      {"board", "roadmap"},
      {"source_key", "RAP-1"},
      {"source_url", "https://yt.example/issue/RAP-1"},
      {"fields", Value(Value::Object{{"title", "Issue 1"}, {"state", "Open"}, {"effort", Value()}})}});
  EXPECT_EQ(q.getColumn(0).getString(), Fnv1a64Hex(content.ToJson()));
}

TEST_F(SyncTest, AnUnchangedTrackerCausesNoBoardWrite) {
  Pull();
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  board_.applied.clear();
  SyncReport again = Pull();
  EXPECT_EQ(again.counts.unchanged, 5);
  EXPECT_EQ(again.counts.created + again.counts.updated, 0);
  EXPECT_EQ(state_->PendingCount("acme").value(), 0u);
  EXPECT_EQ(DrainOutbox(*state_, board_, "acme", 100).value().delivered, 0);
  EXPECT_TRUE(board_.applied.empty());
}

TEST_F(SyncTest, OnlyChangedItemsAreWritten) {
  Pull();
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  board_.applied.clear();
  tracker_.issues[2].fields["summary"] = "Renamed";
  tracker_.issues[2].updated_ms = NowMs();
  tracker_.issues[3].updated_ms = NowMs();  // a change in a field the mapping ignores
  SyncReport report = Pull();
  EXPECT_EQ(report.counts.updated, 1);
  EXPECT_EQ(report.counts.unchanged, 4);
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  ASSERT_EQ(board_.applied.size(), 1u);
  EXPECT_EQ(board_.applied[0].item.fields.at("title"), Value("Renamed"));
}

TEST_F(SyncTest, AnIssueThatFailsToMapIsReportedByKeyAndTheOthersGoOn) {
  tracker_.issues[1].fields["Estimation"] = "a lot";
  tracker_.issues[1].updated_ms = NowMs();
  SyncReport report = Pull();
  EXPECT_FALSE(report.error);
  EXPECT_EQ(report.counts.failed, 1);
  EXPECT_EQ(report.counts.created, 4);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("RAP-2"), std::string::npos) << report.problems[0];
  auto failing = state_->Failures("acme").value();
  ASSERT_EQ(failing.size(), 1u);
  EXPECT_EQ(failing[0].source_key, "RAP-2");
  EXPECT_EQ(failing[0].item_key, "acme:2-2");
  EXPECT_EQ(failing[0].reason, report.problems[0]);
  EXPECT_FALSE(failing[0].since.empty());
}

TEST_F(SyncTest, AnIssueThatCannotBeDecodedIsKeptAndFetchedByKeyUntilItSucceeds) {
  Pull();
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  // RAP-6 arrives broken; RAP-7 after it is fine.
  Issue broken = MakeIssue(6, "Open");
  broken.updated_ms = NowMs() - 10 * 60'000;  // before the next syncs' overlap
  broken.decode_error = "issue RAP-6: custom field \"Estimation\": minutes is not a number";
  tracker_.issues.push_back(broken);
  tracker_.issues.push_back(MakeIssue(7, "Open"));
  tracker_.issues.back().updated_ms = NowMs();
  SyncReport report = Pull();
  EXPECT_FALSE(report.error);
  EXPECT_EQ(report.counts.failed, 1);
  EXPECT_EQ(report.counts.created, 1);
  ASSERT_EQ(state_->Failures("acme").value().size(), 1u);
  const std::string since = state_->Failures("acme").value()[0].since;
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));

  // Still broken: fetched by key again, still listed, since unchanged.
  tracker_.requests.clear();
  report = Pull();
  EXPECT_EQ(report.counts.failed, 1);
  ASSERT_FALSE(tracker_.requests.empty());
  EXPECT_EQ(tracker_.requests.back().keys, std::vector<std::string>{"RAP-6"});
  ASSERT_EQ(state_->Failures("acme").value().size(), 1u);
  EXPECT_EQ(state_->Failures("acme").value()[0].since, since);

  // Fixed in the tracker without moving `updated`: the next sync brings it.
  tracker_.Find("RAP-6")->decode_error.clear();
  report = Pull();
  EXPECT_EQ(report.counts.failed, 0);
  EXPECT_EQ(report.counts.created, 1);
  EXPECT_TRUE(state_->Failures("acme").value().empty());
  board_.applied.clear();
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  ASSERT_EQ(board_.applied.size(), 1u);
  EXPECT_EQ(board_.applied[0].item.source_key, "RAP-6");
  // And then it costs nothing more.
  tracker_.requests.clear();
  Pull();
  for (const PullRequest& request : tracker_.requests) {
    EXPECT_TRUE(request.keys.empty());
  }
}

TEST_F(SyncTest, AFailingIssueTheTrackerNoLongerHasIsForgotten) {
  tracker_.issues[1].decode_error = "issue RAP-2: attribute \"updated\": not a timestamp";
  Pull();
  ASSERT_EQ(state_->Failures("acme").value().size(), 1u);
  tracker_.issues.erase(tracker_.issues.begin() + 1);
  SyncReport report = Pull();
  EXPECT_FALSE(report.error);
  EXPECT_TRUE(state_->Failures("acme").value().empty());
}

TEST_F(SyncTest, AFutureIssueNeverMovesTheCursorPastNow) {
  tracker_.issues[4].updated_ms = 4'102'444'800'000;  // 2100-01-01
  const std::int64_t before = NowMs();
  Pull();
  const std::int64_t after = NowMs();
  auto cursor = state_->Cursor("acme").value();
  ASSERT_TRUE(cursor);
  EXPECT_GE(cursor->updated_ms, before);
  EXPECT_LE(cursor->updated_ms, after + 1000);
  // A change made now is seen by the next incremental sync.
  tracker_.issues[0].fields["summary"] = "Renamed";
  tracker_.issues[0].updated_ms = NowMs();
  SyncReport report = Pull();
  EXPECT_EQ(report.counts.updated, 1);
  ASSERT_TRUE(tracker_.requests.back().updated_from_ms);
  EXPECT_LE(*tracker_.requests.back().updated_from_ms, after);
}

TEST_F(SyncTest, ASavedCursorInTheFutureMakesTheSyncReadEverything) {
  Pull();
  const SyncCursor poisoned{4'102'444'800'000, TestMapping().Fingerprint(), NowMs()};
  ASSERT_TRUE(state_->Stage("acme", {}, &poisoned));
  tracker_.issues[0].fields["summary"] = "Renamed";
  tracker_.issues[0].updated_ms = NowMs() - 3'600'000;  // long before the poisoned cursor
  tracker_.requests.clear();
  SyncReport report = Pull();
  EXPECT_EQ(report.counts.updated, 1);
  ASSERT_FALSE(tracker_.requests.empty());
  EXPECT_FALSE(tracker_.requests.front().updated_from_ms);  // a full pass
  EXPECT_LE(state_->Cursor("acme").value()->updated_ms, NowMs() + 1000);
}

TEST_F(SyncTest, AnIssueNowSkippedLeavesTheBoardArchivedAndComesBack) {
  Pull();
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  board_.applied.clear();
  tracker_.issues[0].fields["State"] = "Duplicate";
  tracker_.issues[0].updated_ms = NowMs();
  SyncReport report = Pull();
  EXPECT_EQ(report.counts.archived, 1);
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  ASSERT_EQ(board_.applied.size(), 1u);
  EXPECT_TRUE(board_.applied[0].archive);
  EXPECT_EQ(board_.applied[0].item.item_key, "acme:2-1");
  // Skipped again: nothing more to do.
  EXPECT_EQ(Pull().counts.skipped, 1);
  tracker_.issues[0].fields["State"] = "Open";
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  tracker_.issues[0].updated_ms = NowMs();
  SyncReport back = Pull();
  EXPECT_EQ(back.counts.updated, 1);
}

TEST_F(SyncTest, WritesStayQueuedWhileTheBoardIsDown) {
  Pull();
  board_.down = true;
  EXPECT_FALSE(DrainOutbox(*state_, board_, "acme", 2));
  EXPECT_EQ(state_->PendingCount("acme").value(), 5u);
  board_.down = false;
  EXPECT_EQ(DrainOutbox(*state_, board_, "acme", 2).value().delivered, 5);
  EXPECT_EQ(board_.applied.size(), 5u);
}

TEST_F(SyncTest, DeliveryWhileStagingSendsOneBatchAtATimeAndFinishesTheRest) {
  SyncOptions options;
  OutboxDelivery delivery(*state_, board_, "acme", 2);
  options.on_staged = [&](std::size_t) { delivery.Start(); };
  Pull(options);  // pages of 2: three pages, three chances to start a batch
  auto finished = delivery.Finish();
  ASSERT_TRUE(finished) << finished.error().message;
  EXPECT_EQ(finished->delivered, 5);
  EXPECT_EQ(state_->PendingCount("acme").value(), 0u);
  ASSERT_EQ(board_.applied.size(), 5u);
  EXPECT_EQ(board_.applied[0].item.item_key, "acme:2-1");  // oldest first
  EXPECT_EQ(board_.applied[4].item.item_key, "acme:2-5");
}

TEST_F(SyncTest, DeliveryWhileStagingLetsOtherWorkersInBetweenBatches) {
  Pull();
  OutboxDelivery first(*state_, board_, "acme", 2);
  OutboxDelivery second(*state_, board_, "acme", 2);
  ASSERT_TRUE(first.Start());
  EXPECT_FALSE(second.Start());  // the outbox is busy with the first's batch
  for (int i = 0; i < 2000 && first.delivered().delivered == 0; ++i) {
    first.Start();  // settles once applied, and starts nothing more then
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(first.delivered().delivered, 2);
  EXPECT_TRUE(second.Start());
  ASSERT_TRUE(second.Finish());
  ASSERT_TRUE(first.Finish());
  EXPECT_EQ(first.delivered().delivered + second.delivered().delivered, 5);
  EXPECT_EQ(state_->PendingCount("acme").value(), 0u);
}

TEST_F(SyncTest, DeliveryWhileStagingStopsWhenTheBoardIsDownAndKeepsTheWrites) {
  Pull();
  board_.down_after = 1;  // the first batch goes through
  OutboxDelivery delivery(*state_, board_, "acme", 2);
  ASSERT_TRUE(delivery.Start());
  auto finished = delivery.Finish();
  EXPECT_FALSE(finished);
  EXPECT_EQ(delivery.delivered().delivered, 2);
  EXPECT_EQ(state_->PendingCount("acme").value(), 3u);
  board_.down_after.reset();
  EXPECT_EQ(DrainOutbox(*state_, board_, "acme", 2).value().delivered, 3);
}

TEST_F(SyncTest, OnlyTheItemTheBoardRefusesIsSetAsideAndTheRestIsDelivered) {
  Pull();
  board_.refuse = "acme:2-2";
  auto drained = DrainOutbox(*state_, board_, "acme", 2);
  ASSERT_TRUE(drained);
  EXPECT_EQ(drained->parked, 1);
  EXPECT_EQ(drained->delivered, 4);  // RAP-1, in the same batch, too
  EXPECT_EQ(state_->PendingCount("acme").value(), 0u);
  auto failed = state_->Failed("acme").value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].item_key, "acme:2-2");
  EXPECT_EQ(failed[0].source_key, "RAP-2");
  EXPECT_FALSE(failed[0].since.empty());
  EXPECT_EQ(failed[0].message, "HTTP 422: field effort must be a number");

  board_.refuse.clear();
  EXPECT_EQ(state_->RetryFailed("acme").value(), 1u);
  EXPECT_EQ(DrainOutbox(*state_, board_, "acme", 2).value().delivered, 1);
  EXPECT_TRUE(state_->Failed("acme").value().empty());
  EXPECT_EQ(board_.applied.size(), 5u);
}

TEST_F(SyncTest, ABatchRefusedWithoutNamingItemsIsSetAsideWhole) {
  Pull();
  board_.refuse = "acme:2-2";
  board_.refuse_batch = true;
  auto drained = DrainOutbox(*state_, board_, "acme", 2);
  ASSERT_TRUE(drained);
  EXPECT_EQ(drained->parked, 2);
  EXPECT_EQ(drained->delivered, 3);
  EXPECT_EQ(state_->Failed("acme").value().size(), 2u);
}

TEST_F(SyncTest, ANewerWriteOfARefusedItemReplacesItsSetAsideWrite) {
  Pull();
  board_.refuse = "acme:2-2";
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  ASSERT_EQ(state_->Failed("acme").value().size(), 1u);
  tracker_.issues[1].fields["summary"] = "Fixed";
  tracker_.issues[1].updated_ms = NowMs();
  board_.refuse.clear();
  EXPECT_EQ(Pull().counts.updated, 1);
  EXPECT_TRUE(state_->Failed("acme").value().empty());  // replaced by the newer write
  EXPECT_EQ(DrainOutbox(*state_, board_, "acme", 100).value().delivered, 1);
  EXPECT_EQ(board_.applied.back().item.fields.at("title"), Value("Fixed"));
}

TEST_F(SyncTest, RetryFailedDropsASetAsideWriteThatANewerOneSuperseded) {
  Pull();
  // The batch is in flight when a newer version of the item is staged; the
  // store then refuses the old one.
  auto pending = state_->Pending("acme", 100).value();
  tracker_.issues[1].fields["summary"] = "Fixed";
  tracker_.issues[1].updated_ms = NowMs();
  EXPECT_EQ(Pull().counts.updated, 1);
  const Refusal refusal{pending[1].seq, "HTTP 422: too old"};
  ASSERT_TRUE(state_->Park("acme", std::span(&refusal, 1)));
  // Superseded already when refused: never parked.
  EXPECT_TRUE(state_->Failed("acme").value().empty());
  EXPECT_EQ(state_->RetryFailed("acme").value(), 0u);
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  for (const BoardWrite& write : board_.applied) {
    if (write.item.item_key == "acme:2-2") {
      EXPECT_EQ(write.item.fields.at("title"), Value("Fixed"));
    }
  }
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

TEST_F(SyncTest, LaterSyncsAskOnlyForIssuesUpdatedSinceTheCursor) {
  Pull();
  ASSERT_EQ(tracker_.requests.size(), 1u);
  EXPECT_FALSE(tracker_.requests[0].updated_from_ms);  // the first sync reads everything
  Pull();
  ASSERT_EQ(tracker_.requests.size(), 2u);
  const PullRequest& second = tracker_.requests[1];
  ASSERT_TRUE(second.updated_from_ms);
  ASSERT_TRUE(second.updated_to_ms);
  // The newest issue is RAP-5, updated at +5; the pull starts 5 minutes before.
  EXPECT_EQ(*second.updated_from_ms, 1'700'000'000'005 - 5 * 60'000);
  EXPECT_GE(*second.updated_to_ms, NowMs() - 60'000);
  EXPECT_FALSE(second.ids_only);
}

TEST_F(SyncTest, WhatAnIncrementalPullLearnsIsKeptButTheTokenCheckKeepsItsAge) {
  tracker_.session = TrackerSession{"zone"};
  Pull();  // checks the token: the session is saved as of now
  auto first = state_->Session("acme");
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->session.data, "zone");
  const std::int64_t checked = (*first)->checked_ms;

  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  tracker_.session_learns = "+etag";
  Pull();  // given the session: what it learnt is saved, checked_ms unchanged
  ASSERT_EQ(tracker_.requests.size(), 2u);
  ASSERT_TRUE(tracker_.requests[1].session);
  auto second = state_->Session("acme");
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->session.data, "zone+etag");
  EXPECT_EQ((*second)->checked_ms, checked);

  tracker_.session_learns.clear();
  Pull();  // nothing new learnt: nothing saved
  auto third = state_->Session("acme");
  ASSERT_TRUE(third && *third);
  EXPECT_EQ((*third)->session.data, "zone+etag");
  EXPECT_EQ((*third)->checked_ms, checked);
}

TEST_F(SyncTest, TheCursorStopsAtTheLastStagedPage) {
  tracker_.fail_after_first_page = Error{ErrorCode::kUnavailable, "tracker down", true};
  Pull();
  auto cursor = state_->Cursor("acme").value();
  ASSERT_TRUE(cursor);
  EXPECT_EQ(cursor->updated_ms, 1'700'000'000'002);  // the first page: RAP-1 and RAP-2
  tracker_.fail_after_first_page.reset();
  SyncReport rest = Pull();
  EXPECT_EQ(rest.counts.created, 3);
  EXPECT_EQ(state_->Cursor("acme").value()->updated_ms, 1'700'000'000'005);
}

TEST_F(SyncTest, AFullSyncArchivesItemsWhoseIssuesVanishedAndAReturnUnarchives) {
  Pull();
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  board_.applied.clear();
  Issue gone = tracker_.issues[1];
  tracker_.issues.erase(tracker_.issues.begin() + 1);
  EXPECT_EQ(Pull().counts.archived, 0);  // an incremental sync cannot see a deletion
  SyncOptions full;
  full.full = true;
  SyncReport report = Pull(full);
  EXPECT_EQ(report.counts.archived, 1);
  EXPECT_EQ(report.counts.unchanged, 4);
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  ASSERT_EQ(board_.applied.size(), 1u);
  EXPECT_TRUE(board_.applied[0].archive);
  EXPECT_EQ(board_.applied[0].item.item_key, "acme:2-2");
  EXPECT_EQ(Pull(full).counts.archived, 0);  // archived once

  tracker_.issues.push_back(gone);  // back, unchanged (e.g. access restored)
  SyncReport back = Pull(full);
  EXPECT_EQ(back.counts.updated, 1);
  ASSERT_TRUE(DrainOutbox(*state_, board_, "acme", 100));
  EXPECT_FALSE(board_.applied.back().archive);
  EXPECT_EQ(board_.applied.back().item.item_key, "acme:2-2");
}

TEST_F(SyncTest, WhenFullResyncIsDueAnIdOnlySweepFindsDeletionsAndReturns) {
  connection_.full_resync = std::chrono::milliseconds(1);
  // An hour older than the others: out of reach of an incremental pull.
  tracker_.issues[3].updated_ms -= 3'600'000;
  Pull();
  Issue gone = tracker_.issues[3];
  tracker_.issues.erase(tracker_.issues.begin() + 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  tracker_.requests.clear();
  SyncReport report = Pull();
  EXPECT_EQ(report.counts.archived, 1);
  ASSERT_EQ(tracker_.requests.size(), 2u);
  EXPECT_TRUE(tracker_.requests[1].ids_only);

  tracker_.issues.push_back(gone);  // it comes back without an update
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  tracker_.requests.clear();
  SyncReport back = Pull();
  EXPECT_EQ(back.counts.updated, 1);  // fetched by key after the sweep
  ASSERT_EQ(tracker_.requests.size(), 3u);
  EXPECT_EQ(tracker_.requests[2].keys, std::vector<std::string>{"RAP-4"});
  EXPECT_EQ(state_->KnownItems("acme", std::vector<std::string>{"acme:2-4"})->at("acme:2-4").status,
            ItemStatus::kLive);
}

TEST_F(SyncTest, AChangedMappingRemapsEveryItem) {
  Pull();
  auto renamed = ParseMapping(R"(fields:
  name: summary
  state: State
)",
                              "test.yaml");
  ASSERT_TRUE(renamed);
  mapping_ = *renamed;
  SyncReport report = Pull();
  EXPECT_EQ(report.counts.updated, 5);
  EXPECT_FALSE(tracker_.requests.back().updated_from_ms);  // a full pass
  EXPECT_EQ(Pull().counts.unchanged, 5);
}

TEST_F(SyncTest, TheCursorMovesByTheWatermarkNotByTheNewestIssueOfAPage) {
  // Slices read side by side: the tail's page comes first, before the
  // slices below it are done; then the first slice's.
  IssuePage tail;
  tail.issues = {tracker_.issues[3], tracker_.issues[4]};
  IssuePage first;
  first.issues = {tracker_.issues[0], tracker_.issues[1]};
  first.through_ms = tracker_.issues[1].updated_ms;
  tracker_.script = {tail, first};
  tracker_.fail_after_script = Error{ErrorCode::kUnavailable, "tracker down", true};
  SyncReport report = Pull();
  ASSERT_TRUE(report.error);
  EXPECT_EQ(report.counts.created, 4);
  EXPECT_EQ(state_->Cursor("acme").value()->updated_ms, tracker_.issues[1].updated_ms);

  // The next sync starts before the watermark and finds RAP-3.
  tracker_.requests.clear();
  SyncReport next = Pull();
  EXPECT_FALSE(next.error);
  EXPECT_EQ(next.counts.created, 1);
  ASSERT_FALSE(tracker_.requests.empty());
  ASSERT_TRUE(tracker_.requests.front().updated_from_ms);
  EXPECT_LE(*tracker_.requests.front().updated_from_ms, tracker_.issues[2].updated_ms);
  EXPECT_EQ(state_->Cursor("acme").value()->updated_ms, tracker_.issues[4].updated_ms);
}

TEST_F(SyncTest, APageWithOnlyAWatermarkMovesTheCursor) {
  IssuePage issues;
  issues.issues = {tracker_.issues[0]};
  IssuePage mark;
  mark.through_ms = tracker_.issues[4].updated_ms;
  tracker_.script = {issues, mark};
  SyncOptions options;
  options.limit = 5;  // no reconciliation: the scripted pull saw only one issue
  SyncReport report = Pull(options);
  ASSERT_FALSE(report.error) << report.error->message;
  EXPECT_EQ(report.counts.pulled, 1);
  EXPECT_EQ(state_->Cursor("acme").value()->updated_ms, tracker_.issues[4].updated_ms);
}

TEST_F(SyncTest, FullPassesAndSweepsAskForSlicesIncrementalPullsDoNot) {
  connection_.concurrency = 3;
  Pull();
  ASSERT_EQ(tracker_.requests.size(), 1u);
  EXPECT_EQ(tracker_.requests[0].concurrency, 3);  // the first sync reads everything
  Pull();
  ASSERT_EQ(tracker_.requests.size(), 2u);
  EXPECT_EQ(tracker_.requests[1].concurrency, 1);  // one request when nothing changed
  SyncOptions full;
  full.full = true;
  Pull(full);
  EXPECT_EQ(tracker_.requests.back().concurrency, 3);

  connection_.full_resync = std::chrono::milliseconds(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  tracker_.requests.clear();
  Pull();
  ASSERT_EQ(tracker_.requests.size(), 2u);
  EXPECT_EQ(tracker_.requests[0].concurrency, 1);
  EXPECT_TRUE(tracker_.requests[1].ids_only);
  EXPECT_EQ(tracker_.requests[1].concurrency, 3);
}

}  // namespace
}  // namespace boardsync

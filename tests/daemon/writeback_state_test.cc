// The sync-back part of the state database: the ledger, the outbox of
// tracker writes and the score cursor, and their crash rules.
#include <gtest/gtest.h>

#include "daemon/state_db.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

std::vector<WritebackValue> Values(std::initializer_list<WritebackValue> values) {
  return std::vector<WritebackValue>(values);
}

TEST(WritebackStateTest, AValueIsQueuedUntilWrittenThenOnlyChangesAre) {
  TempDir dir;
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  StateDb& state = **db;
  auto queued = state.StageWritebacks("c", Values({{"c:1", "Score", "12.5"}, {"c:2", "Score", "3"}}));
  ASSERT_TRUE(queued);
  EXPECT_EQ(*queued, 2u);
  auto pending = state.QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].item_key, "c:1");
  EXPECT_EQ(pending[0].value_json, "12.5");
  EXPECT_TRUE(state.QueuedWritebacks("other").value().empty());

  ASSERT_TRUE(state.SettleWritebacks("c", std::span(pending).first(1)));
  EXPECT_EQ(state.QueuedWritebacks("c").value().size(), 1u);
  // The same value again: the tracker has it, nothing is queued.
  EXPECT_EQ(state.StageWritebacks("c", Values({{"c:1", "Score", "12.5"}})).value(), 0u);
  EXPECT_EQ(state.QueuedWritebacks("c").value().size(), 1u);
  // A changed one is.
  EXPECT_EQ(state.StageWritebacks("c", Values({{"c:1", "Score", "13"}})).value(), 1u);
  EXPECT_EQ(state.Ledger("c", Values({{"c:1", "Score", ""}})).value()[0], "12.5");
}

TEST(WritebackStateTest, ANewerValueReplacesTheQueuedOneAndBackToTheLedgerDropsIt) {
  TempDir dir;
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  StateDb& state = **db;
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "5"}})));
  auto first = state.QueuedWritebacks("c").value();
  ASSERT_TRUE(state.SettleWritebacks("c", first));
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "6"}})));
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "7"}})));
  auto pending = state.QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].value_json, "7");
  // Back to what the tracker holds: nothing left to write.
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "5"}})));
  EXPECT_TRUE(state.QueuedWritebacks("c").value().empty());
}

TEST(WritebackStateTest, AValueQueuedWhileAnOlderOneWasSentStaysQueued) {
  TempDir dir;
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  StateDb& state = **db;
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "5"}})));
  auto sent = state.QueuedWritebacks("c").value();
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "9"}})));
  ASSERT_TRUE(state.SettleWritebacks("c", sent));  // the tracker took 5
  auto pending = state.QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].value_json, "9");
  EXPECT_EQ(state.Ledger("c", Values({{"c:1", "Score", ""}})).value()[0], "5");
}

TEST(WritebackStateTest, ASentButUnsettledValueIsNeverDroppedAsTheLedgers) {
  TempDir dir;
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  StateDb& state = **db;
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "1"}})));
  ASSERT_TRUE(state.SettleWritebacks("c", state.QueuedWritebacks("c").value()));
  // 2 goes to the tracker; the run is killed before it is settled.
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "2"}})));
  auto sent = state.QueuedWritebacks("c").value();
  ASSERT_TRUE(state.MarkWritebacksSent("c", std::vector<std::int64_t>{sent[0].seq}));
  // The board goes back to 1, what the ledger holds: the tracker may hold
  // 2, so 1 must still be written.
  EXPECT_EQ(state.StageWritebacks("c", Values({{"c:1", "Score", "1"}})).value(), 1u);
  auto pending = state.QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].value_json, "1");
  EXPECT_TRUE(pending[0].sent);
  // Settled, it goes.
  ASSERT_TRUE(state.SettleWritebacks("c", pending));
  EXPECT_TRUE(state.QueuedWritebacks("c").value().empty());
}

TEST(WritebackStateTest, ARemovedScoreClearsOnlyWhatBoardsyncWrote) {
  TempDir dir;
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  StateDb& state = **db;
  // Never written: a removed score leaves the field alone.
  EXPECT_EQ(state.StageWritebacks("c", Values({{"c:1", "Score", "null"}})).value(), 0u);
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:2", "Score", "4"}})));
  ASSERT_TRUE(state.SettleWritebacks("c", state.QueuedWritebacks("c").value()));
  EXPECT_EQ(state.StageWritebacks("c", Values({{"c:2", "Score", "null"}})).value(), 1u);
  auto pending = state.QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].value_json, "null");
  ASSERT_TRUE(state.SettleWritebacks("c", pending));
  // Cleared, then removed again: nothing.
  EXPECT_EQ(state.StageWritebacks("c", Values({{"c:2", "Score", "null"}})).value(), 0u);
}

TEST(WritebackStateTest, RefusedWritesStayQueuedWithTheirReasonUntilANewValue) {
  TempDir dir;
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  StateDb& state = **db;
  ASSERT_TRUE(state.Stage("c", std::vector<StagedWrite>{}));
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "5"}, {"c:1", "Rank", "2"}})));
  auto pending = state.QueuedWritebacks("c").value();
  std::vector<std::int64_t> seqs = {pending[0].seq, pending[1].seq};
  ASSERT_TRUE(state.RefuseWritebacks("c", seqs, "RAP-1: no field Score in project RAP"));
  auto failures = state.WritebackFailures("c").value();
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0].message, "RAP-1: no field Score in project RAP");
  EXPECT_FALSE(failures[0].since.empty());
  const std::string since = failures[0].since;
  ASSERT_TRUE(state.RefuseWritebacks("c", seqs, "again"));
  EXPECT_EQ(state.WritebackFailures("c").value()[0].since, since);  // since the first refusal
  EXPECT_EQ(state.QueuedWritebacks("c").value().size(), 2u);  // tried again next time
  // A new value for one of them forgets its refusal.
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "6"}})));
  EXPECT_EQ(state.WritebackFailures("c").value().size(), 1u);
  ASSERT_TRUE(state.DropWritebacks("c", std::vector<std::int64_t>{pending[0].seq}));
}

TEST(WritebackStateTest, TheScoreCursorMovesWithTheValuesItQueued) {
  TempDir dir;
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  StateDb& state = **db;
  EXPECT_FALSE(state.ScoreCursorOf("c").value().has_value());
  const ScoreCursor cursor{"roadmap", "42", "fp"};
  ASSERT_TRUE(state.StageWritebacks("c", Values({{"c:1", "Score", "5"}}), &cursor));
  auto saved = state.ScoreCursorOf("c").value();
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->cursor, "42");
  EXPECT_EQ(saved->board, "roadmap");
  EXPECT_EQ(saved->fingerprint, "fp");
  // Never the pull's cursor.
  EXPECT_FALSE(state.Cursor("c").value().has_value());
}

TEST(WritebackStateTest, ItemsKeepTheirHumanKeyForSyncBack) {
  TempDir dir;
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  StagedWrite write;
  write.write.item.board = "roadmap";
  write.write.item.item_key = "c:2-1";
  write.write.item.source_key = "RAP-1";
  write.content_hash = "h";
  ASSERT_TRUE((*db)->Stage("c", std::vector<StagedWrite>{write}));
  std::vector<std::string> keys = {"c:2-1"};
  EXPECT_EQ((*db)->KnownItems("c", keys).value().at("c:2-1").source_key, "RAP-1");
  // An archive (no key) keeps it.
  StagedWrite archive;
  archive.write.item.board = "roadmap";
  archive.write.item.item_key = "c:2-1";
  archive.write.archive = true;
  archive.status = ItemStatus::kArchived;
  ASSERT_TRUE((*db)->Stage("c", std::vector<StagedWrite>{archive}));
  EXPECT_EQ((*db)->KnownItems("c", keys).value().at("c:2-1").source_key, "RAP-1");
}

TEST(WritebackStateTest, TheLastSyncBackIsRecorded) {
  TempDir dir;
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  EXPECT_FALSE((*db)->LastSyncBack("c").value().has_value());
  SyncBackRecord run;
  run.connection = "c";
  run.started_at = "2026-12-07T10:00:00.000Z";
  run.result = "ok";
  run.written = 3;
  run.failed = 1;
  ASSERT_TRUE((*db)->RecordSyncBack(run));
  auto last = (*db)->LastSyncBack("c").value();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->written, 3);
  EXPECT_EQ(last->failed, 1);
}

}  // namespace
}  // namespace boardsync

// The StateStore contract (core/state_store.h) as value-parameterised tests,
// so that every store (SQLite, PostgreSQL) is held to the same behaviour,
// replicas and fencing included. A backend instantiates it once per test
// binary with a factory of fresh stores, e.g.:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StateContractTest,
//                            testing::Values(StateBackend{"Sqlite", MakeHarness}),
//                            StateBackendName);
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/state_store.h"
#include "core/time.h"

namespace boardsync {

// One fresh, empty store.
class StateStoreHarness {
 public:
  virtual ~StateStoreHarness() = default;
  // A new handle to this harness's store: a second one acts as another
  // replica (another process, another machine) sharing it.
  virtual Result<std::unique_ptr<StateStore>> Open() = 0;
};

struct StateBackend {
  std::string name;
  // May throw (a failed test) when the store cannot be made.
  std::function<std::unique_ptr<StateStoreHarness>()> make;
};

inline void PrintTo(const StateBackend& backend, std::ostream* os) { *os << backend.name; }

inline std::string StateBackendName(const testing::TestParamInfo<StateBackend>& info) {
  return info.param.name;
}

class StateContractTest : public testing::TestWithParam<StateBackend> {
 protected:
  void SetUp() override {
    harness_ = GetParam().make();
    ASSERT_TRUE(harness_);
    store_ = OpenAnother();
    ASSERT_TRUE(store_);
  }

  StateStore& state() { return *store_; }

  // Another handle to the same store (another replica).
  std::unique_ptr<StateStore> OpenAnother() {
    auto store = harness_->Open();
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

 private:
  std::unique_ptr<StateStoreHarness> harness_;
  std::unique_ptr<StateStore> store_;
};

namespace state_contract {

inline StagedWrite Upsert(const std::string& key, const std::string& hash,
                          const std::string& title, const std::string& source_key = "RAP-1") {
  StagedWrite staged;
  staged.write.item.board = "roadmap";
  staged.write.item.item_key = key;
  staged.write.item.source_key = source_key;
  staged.write.item.source_url = "https://yt/issue/" + source_key;
  staged.write.item.source_updated_at = "2024-05-01T10:00:00.000Z";
  staged.write.item.fields.emplace("title", title);
  staged.content_hash = hash;
  return staged;
}

inline StagedWrite Archive(const std::string& key,
                           const std::string& version = "2024-05-02T10:00:00.000Z") {
  StagedWrite staged;
  staged.write.archive = true;
  staged.write.item.board = "roadmap";
  staged.write.item.item_key = key;
  staged.write.item.source_updated_at = version;
  staged.status = ItemStatus::kArchived;
  return staged;
}

inline std::vector<std::string> Keys(const std::vector<ItemVersion>& items) {
  std::vector<std::string> keys;
  for (const ItemVersion& item : items) {
    keys.push_back(item.item_key);
  }
  return keys;
}

inline std::vector<std::string> Keys(const std::vector<OutboxEntry>& entries) {
  std::vector<std::string> keys;
  for (const OutboxEntry& entry : entries) {
    keys.push_back(entry.write.item.item_key);
  }
  return keys;
}

inline std::vector<std::int64_t> Seqs(const std::vector<OutboxEntry>& entries) {
  std::vector<std::int64_t> seqs;
  for (const OutboxEntry& entry : entries) {
    seqs.push_back(entry.seq);
  }
  return seqs;
}

inline std::vector<WritebackValue> Values(std::initializer_list<WritebackValue> values) {
  return std::vector<WritebackValue>(values);
}

inline bool IsIsoTime(const std::string& text) {
  return text.size() == 24 && ParseIsoUtc(text).has_value();
}

// The value of a result (a failed test when it is an error), kept by value
// so that a range-for over it holds no reference into a temporary.
template <typename T>
T Value(Result<T> result) {
  EXPECT_TRUE(result) << result.error().message;
  return result ? std::move(*result) : T{};
}

// Everything a connection's sync relies on, as text, to tell whether a
// refused write changed anything.
inline std::string Snapshot(StateStore& state, const std::string& connection,
                            std::span<const std::string> item_keys,
                            std::span<const WritebackValue> ledger_keys) {
  std::string out;
  auto add = [&out](const std::string& text) { out += text + "\n"; };
  if (auto cursor = state.Cursor(connection).value()) {
    add("cursor " + std::to_string(cursor->updated_ms) + " " + cursor->mapping_fingerprint +
        " " + std::to_string(cursor->last_full_ms));
  }
  for (const OutboxEntry& entry : Value(state.Pending(connection, 1000))) {
    add("pending " + std::to_string(entry.seq) + " " + entry.write.item.item_key + " " +
        (entry.write.archive ? "archive " : "upsert ") + entry.write.item.fields_json);
  }
  for (const RefusedItem& item : Value(state.Failed(connection))) {
    add("parked " + item.item_key + " " + item.message + " " + item.since);
  }
  auto known = state.KnownItems(connection, item_keys).value();
  for (const std::string& key : item_keys) {
    if (auto it = known.find(key); it != known.end()) {
      add("item " + key + " " + it->second.content_hash + " " +
          std::to_string(static_cast<int>(it->second.status)) + " " + it->second.source_key);
    }
  }
  for (const ItemVersion& item : Value(state.LiveUnseen(connection, 777))) {
    add("unseen " + item.item_key);
  }
  for (const IssueFailure& failure : Value(state.Failures(connection))) {
    add("failure " + failure.source_key + " " + failure.reason + " " + failure.since);
  }
  for (const QueuedWriteback& write : Value(state.QueuedWritebacks(connection))) {
    add("writeback " + std::to_string(write.seq) + " " + write.item_key + " " + write.field +
        " " + write.value_json + " " + write.error + (write.sent ? " sent" : ""));
  }
  for (const WritebackFailure& failure : Value(state.WritebackFailures(connection))) {
    add("refused " + failure.item_key + " " + failure.field + " " + failure.message);
  }
  const auto ledger = state.Ledger(connection, ledger_keys).value();
  for (std::size_t i = 0; i < ledger.size(); ++i) {
    add("ledger " + ledger_keys[i].item_key + " " + ledger_keys[i].field + " " +
        ledger[i].value_or("-"));
  }
  if (auto cursor = state.ScoreCursorOf(connection).value()) {
    add("score cursor " + cursor->board + " " + cursor->cursor + " " + cursor->fingerprint);
  }
  if (auto backoff = state.BackoffOf(connection).value()) {
    add("backoff " + std::to_string(backoff->failures) + " " + std::to_string(backoff->until_ms));
  }
  return out;
}

}  // namespace state_contract

// --- The pull's outbox ---------------------------------------------------

TEST_P(StateContractTest, StagedWritesWaitInTheOutboxInOrderUntilAcknowledged) {
  using namespace state_contract;
  std::vector<StagedWrite> writes = {Upsert("c:2-1", "h1", "Zoë's title"), Upsert("c:2-2", "h2", "b"),
                                     Archive("c:2-3")};
  ASSERT_TRUE(state().Stage("c", writes));
  EXPECT_EQ(state().PendingCount("c").value(), 3u);
  EXPECT_EQ(state().PendingCount("other").value(), 0u);

  auto pending = state().Pending("c", 10).value();
  ASSERT_EQ(pending.size(), 3u);
  const BoardItem& item = pending[0].write.item;
  EXPECT_EQ(pending[0].connection, "c");
  EXPECT_FALSE(pending[0].write.archive);
  EXPECT_EQ(item.board, "roadmap");
  EXPECT_EQ(item.item_key, "c:2-1");
  EXPECT_EQ(item.source_key, "RAP-1");
  EXPECT_EQ(item.source_url, "https://yt/issue/RAP-1");
  EXPECT_EQ(item.source_updated_at, "2024-05-01T10:00:00.000Z");
  EXPECT_EQ(item.fields_json, R"({"title":"Zoë's title"})");
  // An archive keeps the version it was decided on.
  EXPECT_TRUE(pending[2].write.archive);
  EXPECT_EQ(pending[2].write.item.item_key, "c:2-3");
  EXPECT_EQ(pending[2].write.item.board, "roadmap");
  EXPECT_EQ(pending[2].write.item.source_updated_at, "2024-05-02T10:00:00.000Z");
  EXPECT_LT(pending[0].seq, pending[1].seq);
  EXPECT_LT(pending[1].seq, pending[2].seq);
  EXPECT_EQ(Keys(state().Pending("c", 2).value()), (std::vector<std::string>{"c:2-1", "c:2-2"}));

  ASSERT_TRUE(state().Acknowledge("c", std::vector<std::int64_t>{pending[0].seq}));
  EXPECT_EQ(state().PendingCount("c").value(), 2u);
  EXPECT_EQ(state().Pending("c", 10).value().front().write.item.item_key, "c:2-2");
  // Later writes go after the ones still queued.
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:2-1", "h1b", "again")}));
  auto later = state().Pending("c", 10).value();
  EXPECT_EQ(Keys(later), (std::vector<std::string>{"c:2-2", "c:2-3", "c:2-1"}));
  EXPECT_GT(later[2].seq, pending[2].seq);
}

// Each connection's outbox is delivered by its own lease holder: Pending()
// lists only its writes, and Acknowledge() and Park() touch only them, even
// given seqs of another connection.
TEST_P(StateContractTest, EachConnectionHasItsOwnOutbox) {
  using namespace state_contract;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(state().Stage("a", std::vector<StagedWrite>{
                                       Upsert("a:" + std::to_string(i), "h", "a" + std::to_string(i))}));
    ASSERT_TRUE(state().Stage("b", std::vector<StagedWrite>{
                                       Upsert("b:" + std::to_string(i), "h", "b" + std::to_string(i))}));
  }
  auto a = state().Pending("a", 10).value();
  auto b = state().Pending("b", 10).value();
  EXPECT_EQ(Keys(a), (std::vector<std::string>{"a:1", "a:2", "a:3"}));
  EXPECT_EQ(Keys(b), (std::vector<std::string>{"b:1", "b:2", "b:3"}));
  for (const OutboxEntry& entry : b) {
    EXPECT_EQ(entry.connection, "b");
  }
  // b's seqs given to a's Acknowledge and Park (and a run of seqs across
  // both connections).
  ASSERT_TRUE(state().Acknowledge("a", Seqs(b)));
  ASSERT_TRUE(state().Acknowledge("a", std::vector<std::int64_t>{a[0].seq, b[0].seq}));
  std::vector<Refusal> refusals = {Refusal{b[1].seq, "no"}};
  ASSERT_TRUE(state().Park("a", refusals));
  EXPECT_EQ(Keys(state().Pending("b", 10).value()), (std::vector<std::string>{"b:1", "b:2", "b:3"}));
  EXPECT_TRUE(state().Failed("b").value().empty());
  EXPECT_TRUE(state().Failed("a").value().empty());
  EXPECT_EQ(Keys(state().Pending("a", 10).value()), (std::vector<std::string>{"a:2", "a:3"}));
  // RetryFailed() of one connection leaves another's parked writes alone.
  std::vector<Refusal> parked_b = {Refusal{b[2].seq, "refused"}};
  ASSERT_TRUE(state().Park("b", parked_b));
  EXPECT_EQ(state().RetryFailed("a").value(), 0u);
  EXPECT_EQ(state().Failed("b").value().size(), 1u);
  EXPECT_EQ(state().PendingCount("b").value(), 2u);
  EXPECT_EQ(state().PendingCount("a").value(), 2u);
}

// Acknowledging a batch leaves the writes between its seqs that were not in
// it (later ones, parked ones) queued.
TEST_P(StateContractTest, AcknowledgingABatchLeavesTheGapsQueued) {
  using namespace state_contract;
  std::vector<StagedWrite> writes;
  for (int i = 1; i <= 6; ++i) {
    writes.push_back(Upsert("c:2-" + std::to_string(i), "h", "t" + std::to_string(i)));
  }
  ASSERT_TRUE(state().Stage("c", writes));
  auto pending = state().Pending("c", 10).value();
  ASSERT_EQ(pending.size(), 6u);
  EXPECT_EQ(pending[0].write.item.fields_json, R"({"title":"t1"})");
  std::vector<Refusal> refused = {Refusal{pending[4].seq, "no"}};
  ASSERT_TRUE(state().Park("c", refused));
  std::vector<std::int64_t> acknowledged = {pending[0].seq, pending[1].seq, pending[3].seq,
                                            pending[5].seq};
  ASSERT_TRUE(state().Acknowledge("c", acknowledged));
  EXPECT_EQ(Keys(state().Pending("c", 10).value()), std::vector<std::string>{"c:2-3"});
  EXPECT_EQ(state().Failed("c").value().size(), 1u);
  // Acknowledging again (a retried batch) is no error.
  ASSERT_TRUE(state().Acknowledge("c", acknowledged));
  EXPECT_EQ(state().PendingCount("c").value(), 1u);
}

TEST_P(StateContractTest, KnownItemsRemembersHashesStatusAndHumanKeys) {
  using namespace state_contract;
  std::vector<StagedWrite> writes = {Upsert("c:2-1", "h1", "a", "RAP-1"),
                                     Upsert("c:2-2", "h2", "b", "RAP-2")};
  StagedWrite skipped = Upsert("c:2-4", "", "d", "RAP-4");
  skipped.status = ItemStatus::kSkipped;
  skipped.queue = false;
  writes.push_back(skipped);
  ASSERT_TRUE(state().Stage("c", writes));
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Archive("c:2-2")}));
  std::vector<std::string> keys = {"c:2-1", "c:2-2", "c:2-3", "c:2-4"};
  auto known = state().KnownItems("c", keys).value();
  ASSERT_EQ(known.size(), 3u);
  EXPECT_EQ(known.at("c:2-1").content_hash, "h1");
  EXPECT_EQ(known.at("c:2-1").status, ItemStatus::kLive);
  EXPECT_EQ(known.at("c:2-1").source_key, "RAP-1");
  EXPECT_EQ(known.at("c:2-2").status, ItemStatus::kArchived);
  EXPECT_EQ(known.at("c:2-2").content_hash, "h2");  // kept: a return is seen as a change
  EXPECT_EQ(known.at("c:2-2").source_key, "RAP-2");  // an archive (no key) keeps it
  EXPECT_EQ(known.at("c:2-4").status, ItemStatus::kSkipped);
  EXPECT_EQ(state().PendingCount("c").value(), 3u);  // the skipped one is only remembered
  EXPECT_TRUE(state().KnownItems("other", keys).value().empty());
  const std::vector<std::string> none;
  EXPECT_TRUE(state().KnownItems("c", none).value().empty());
  // Back from the archive, with a new content.
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:2-2", "h2b", "b2", "RAP-2")}));
  auto back = state().KnownItems("c", std::span(keys).subspan(1, 1)).value();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back.at("c:2-2").status, ItemStatus::kLive);
  EXPECT_EQ(back.at("c:2-2").content_hash, "h2b");
}

// A first sync stages thousands of items a page at a time, and reads them
// back in pages as large.
TEST_P(StateContractTest, KnownItemsReadsALargePageAtOnce) {
  using namespace state_contract;
  std::vector<StagedWrite> writes;
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; ++i) {
    const std::string key = "c:" + std::to_string(i);
    keys.push_back(key);
    if (i % 2 == 0) {
      writes.push_back(Upsert(key, "h" + std::to_string(i), "t", "RAP-" + std::to_string(i)));
    }
  }
  ASSERT_TRUE(state().Stage("c", writes));
  auto known = state().KnownItems("c", keys).value();
  ASSERT_EQ(known.size(), 1250u);
  EXPECT_EQ(known.at("c:2498").content_hash, "h2498");
  EXPECT_EQ(known.at("c:2498").source_key, "RAP-2498");
  EXPECT_FALSE(known.contains("c:2499"));
  EXPECT_EQ(state().PendingCount("c").value(), 1250u);
  EXPECT_EQ(state().Pending("c", 1000).value().size(), 1000u);
}

TEST_P(StateContractTest, TheCursorMovesWithTheWritesOfItsPage) {
  using namespace state_contract;
  EXPECT_FALSE(state().Cursor("c").value().has_value());
  SyncCursor cursor{1'700'000'000'123, "f1", 1'700'000'000'000};
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:2-1", "h1", "a")}, &cursor));
  auto saved = state().Cursor("c").value();
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->updated_ms, 1'700'000'000'123);
  EXPECT_EQ(saved->mapping_fingerprint, "f1");
  EXPECT_EQ(saved->last_full_ms, 1'700'000'000'000);
  EXPECT_EQ(state().PendingCount("c").value(), 1u);
  EXPECT_FALSE(state().Cursor("other").value().has_value());
  // A page with no writes still moves it; no cursor leaves it as it is.
  cursor.updated_ms = 1'700'000'100'000;
  ASSERT_TRUE(state().Stage("c", {}, &cursor));
  EXPECT_EQ(state().Cursor("c").value()->updated_ms, 1'700'000'100'000);
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:2-2", "h2", "b")}));
  EXPECT_EQ(state().Cursor("c").value()->updated_ms, 1'700'000'100'000);
  // Another handle (another replica) sees what was committed.
  auto other = OpenAnother();
  ASSERT_TRUE(other);
  EXPECT_EQ(other->Cursor("c").value()->updated_ms, 1'700'000'100'000);
  EXPECT_EQ(other->PendingCount("c").value(), 2u);
}

TEST_P(StateContractTest, ATrackerSessionIsKeptPerConnection) {
  EXPECT_EQ(state().Session("yt").value(), std::nullopt);
  ASSERT_TRUE(state().SaveSession("yt", SavedSession{TrackerSession{"utc_offset_minutes=-300"}, 1000}));
  ASSERT_TRUE(state().SaveSession("yt", SavedSession{TrackerSession{"utc_offset_minutes=60"}, 2000}));
  auto other = OpenAnother();
  ASSERT_TRUE(other);
  auto saved = other->Session("yt").value();
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->session, TrackerSession{"utc_offset_minutes=60"});
  EXPECT_EQ(saved->checked_ms, 2000);
  EXPECT_EQ(other->Session("other").value(), std::nullopt);
}

TEST_P(StateContractTest, LiveUnseenListsTheLiveItemsASweepDidNotMark) {
  using namespace state_contract;
  std::vector<StagedWrite> writes = {Upsert("c:2-1", "h1", "a"), Upsert("c:2-2", "h2", "b"),
                                     Upsert("c:2-3", "h3", "c"), Upsert("c:2-5", "h5", "e")};
  writes[2].status = ItemStatus::kSkipped;
  writes[2].queue = false;
  ASSERT_TRUE(state().Stage("c", writes));
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Archive("c:2-5")}));
  ASSERT_TRUE(state().Stage("d", std::vector<StagedWrite>{Upsert("d:1", "h", "x")}));
  ASSERT_TRUE(state().MarkSeen("c", 42, std::vector<std::string>{"c:2-1", "c:2-404"}));
  EXPECT_EQ(Keys(state().LiveUnseen("c", 42).value()), std::vector<std::string>{"c:2-2"});
  EXPECT_EQ(Keys(state().LiveUnseen("c", 43).value()), (std::vector<std::string>{"c:2-1", "c:2-2"}));
  // With the version to archive them at.
  EXPECT_EQ(state().LiveUnseen("c", 42).value()[0].source_updated_at, "2024-05-01T10:00:00.000Z");
  // Staging marks what a sweep saw in the same transaction: the page's
  // written items and the rest.
  std::vector<StagedWrite> more = {Upsert("c:2-4", "h4", "d")};
  std::vector<std::string> page = {"c:2-2", "c:2-4"};
  const SeenItems seen_on_page{43, page};
  ASSERT_TRUE(state().Stage("c", more, nullptr, &seen_on_page));
  EXPECT_EQ(Keys(state().LiveUnseen("c", 43).value()), std::vector<std::string>{"c:2-1"});
  // Another connection's sweep is its own.
  EXPECT_EQ(Keys(state().LiveUnseen("d", 43).value()), std::vector<std::string>{"d:1"});
}

TEST_P(StateContractTest, FailingIssuesAreKeptSinceTheirFirstFailureUntilResolved) {
  using namespace state_contract;
  std::vector<IssueFailure> failed = {{"RAP-7", "c:2-7", "issue RAP-7: bad", ""},
                                      {"RAP-8", "", "issue RAP-8: has no id", ""}};
  const FailureChanges first{failed, {}};
  ASSERT_TRUE(state().Stage("c", {}, nullptr, nullptr, &first));
  auto listed = state().Failures("c").value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].source_key, "RAP-7");
  EXPECT_EQ(listed[0].item_key, "c:2-7");
  EXPECT_EQ(listed[0].reason, "issue RAP-7: bad");
  EXPECT_TRUE(IsIsoTime(listed[0].since)) << listed[0].since;
  EXPECT_EQ(listed[1].source_key, "RAP-8");
  EXPECT_EQ(listed[1].item_key, "");
  EXPECT_TRUE(state().Failures("other").value().empty());
  const std::string since = listed[0].since;

  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  failed[0].reason = "issue RAP-7: worse";
  std::vector<std::string> resolved = {"RAP-8"};
  const FailureChanges second{std::span(failed).first(1), resolved};
  ASSERT_TRUE(state().Stage("c", {}, nullptr, nullptr, &second));
  listed = state().Failures("c").value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].reason, "issue RAP-7: worse");
  EXPECT_EQ(listed[0].since, since);  // since the first failure
}

// --- Writes the board store refused ----------------------------------------

TEST_P(StateContractTest, ParkedWritesWaitAsideUntilRetried) {
  using namespace state_contract;
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:1", "h1", "a", "RAP-1"),
                                                          Upsert("c:2", "h2", "b", "RAP-2"),
                                                          Archive("c:3")}));
  auto pending = state().Pending("c", 10).value();
  std::vector<Refusal> refused = {Refusal{pending[0].seq, "title too long"},
                                  Refusal{pending[2].seq, "no such item"}};
  ASSERT_TRUE(state().Park("c", refused));
  EXPECT_EQ(Keys(state().Pending("c", 10).value()), std::vector<std::string>{"c:2"});
  EXPECT_EQ(state().PendingCount("c").value(), 1u);
  auto failed = state().Failed("c").value();
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].item_key, "c:1");
  EXPECT_EQ(failed[0].source_key, "RAP-1");
  EXPECT_EQ(failed[0].message, "title too long");
  EXPECT_FALSE(failed[0].archive);
  EXPECT_TRUE(IsIsoTime(failed[0].since)) << failed[0].since;
  EXPECT_EQ(failed[1].item_key, "c:3");
  EXPECT_TRUE(failed[1].archive);
  EXPECT_EQ(failed[1].source_key, "");

  EXPECT_EQ(state().RetryFailed("c").value(), 2u);
  EXPECT_TRUE(state().Failed("c").value().empty());
  EXPECT_EQ(Keys(state().Pending("c", 10).value()), (std::vector<std::string>{"c:1", "c:2", "c:3"}));
  EXPECT_EQ(state().RetryFailed("c").value(), 0u);
}

// A newer write of an item replaces its parked ones, whenever it comes.
TEST_P(StateContractTest, ANewerWriteOfAnItemSupersedesItsParkedOnes) {
  using namespace state_contract;
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:1", "h1", "a"),
                                                          Upsert("c:2", "h2", "b"),
                                                          Upsert("c:3", "h3", "c")}));
  auto first = state().Pending("c", 10).value();
  // c:1 parked, then written again: the parked one goes at once.
  ASSERT_TRUE(state().Park("c", std::vector<Refusal>{Refusal{first[0].seq, "no"}}));
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:1", "h1b", "a2")}));
  EXPECT_TRUE(state().Failed("c").value().empty());
  // c:2 written again while its first write was out: refused, the first
  // one is dropped rather than parked.
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:2", "h2b", "b2")}));
  ASSERT_TRUE(state().Park("c", std::vector<Refusal>{Refusal{first[1].seq, "no"}}));
  EXPECT_TRUE(state().Failed("c").value().empty());
  auto pending = state().Pending("c", 10).value();
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(Keys(pending), (std::vector<std::string>{"c:3", "c:1", "c:2"}));
  EXPECT_EQ(pending[1].write.item.fields_json, R"({"title":"a2"})");
  EXPECT_EQ(pending[2].write.item.fields_json, R"({"title":"b2"})");
  // c:3 parked; its item then staged without a queued write (skipped):
  // the parked write stays, the item's latest.
  ASSERT_TRUE(state().Park("c", std::vector<Refusal>{Refusal{first[2].seq, "no"}}));
  StagedWrite skipped = Upsert("c:3", "", "c");
  skipped.status = ItemStatus::kSkipped;
  skipped.queue = false;
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{skipped}));
  EXPECT_EQ(state().Failed("c").value().size(), 1u);
  EXPECT_EQ(state().RetryFailed("c").value(), 1u);
  EXPECT_EQ(state().PendingCount("c").value(), 3u);
}

// --- Sync back: the ledger, the tracker-write outbox, the score cursor -----

TEST_P(StateContractTest, AValueIsQueuedUntilWrittenThenOnlyChangesAre) {
  using namespace state_contract;
  auto queued = state().StageWritebacks("c", Values({{"c:2", "Score", "3"}, {"c:1", "Score", "12.5"}}));
  ASSERT_TRUE(queued);
  EXPECT_EQ(*queued, 2u);
  auto pending = state().QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].item_key, "c:1");  // by item, then field
  EXPECT_EQ(pending[0].field, "Score");
  EXPECT_EQ(pending[0].value_json, "12.5");
  EXPECT_EQ(pending[0].error, "");
  EXPECT_FALSE(pending[0].sent);
  EXPECT_TRUE(state().QueuedWritebacks("other").value().empty());
  EXPECT_EQ(state().Ledger("c", Values({{"c:1", "Score", ""}})).value()[0], std::nullopt);

  ASSERT_TRUE(state().SettleWritebacks("c", std::span(pending).first(1)));
  EXPECT_EQ(state().QueuedWritebacks("c").value().size(), 1u);
  // The same value again: the tracker has it, nothing is queued.
  EXPECT_EQ(state().StageWritebacks("c", Values({{"c:1", "Score", "12.5"}})).value(), 0u);
  EXPECT_EQ(state().QueuedWritebacks("c").value().size(), 1u);
  // A changed one is.
  EXPECT_EQ(state().StageWritebacks("c", Values({{"c:1", "Score", "13"}})).value(), 1u);
  auto ledger = state().Ledger("c", Values({{"c:1", "Score", ""}, {"c:1", "Rank", ""},
                                            {"c:2", "Score", ""}}))
                    .value();
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[0], "12.5");
  EXPECT_EQ(ledger[1], std::nullopt);
  EXPECT_EQ(ledger[2], std::nullopt);
  EXPECT_EQ(state().Ledger("other", Values({{"c:1", "Score", ""}})).value()[0], std::nullopt);
}

TEST_P(StateContractTest, ANewerValueReplacesTheQueuedOneAndBackToTheLedgerDropsIt) {
  using namespace state_contract;
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "5"}})));
  ASSERT_TRUE(state().SettleWritebacks("c", state().QueuedWritebacks("c").value()));
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "6"}})));
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "7"}})));
  auto pending = state().QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].value_json, "7");
  // Back to what the tracker holds: nothing left to write.
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "5"}})));
  EXPECT_TRUE(state().QueuedWritebacks("c").value().empty());
}

TEST_P(StateContractTest, AValueQueuedWhileAnOlderOneWasSentStaysQueued) {
  using namespace state_contract;
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "5"}})));
  auto sent = state().QueuedWritebacks("c").value();
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "9"}})));
  ASSERT_TRUE(state().SettleWritebacks("c", sent));  // the tracker took 5
  auto pending = state().QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].value_json, "9");
  EXPECT_EQ(state().Ledger("c", Values({{"c:1", "Score", ""}})).value()[0], "5");
}

TEST_P(StateContractTest, ASentButUnsettledValueIsNeverDroppedAsTheLedgers) {
  using namespace state_contract;
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "1"}})));
  ASSERT_TRUE(state().SettleWritebacks("c", state().QueuedWritebacks("c").value()));
  // 2 goes to the tracker; the run is killed before it is settled.
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "2"}})));
  auto sent = state().QueuedWritebacks("c").value();
  ASSERT_TRUE(state().MarkWritebacksSent("c", std::vector<std::int64_t>{sent[0].seq}));
  EXPECT_TRUE(state().QueuedWritebacks("c").value()[0].sent);
  // The board goes back to 1, what the ledger holds: the tracker may hold
  // 2, so 1 must still be written.
  EXPECT_EQ(state().StageWritebacks("c", Values({{"c:1", "Score", "1"}})).value(), 1u);
  auto pending = state().QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].value_json, "1");
  EXPECT_TRUE(pending[0].sent);
  // Settled, it goes.
  ASSERT_TRUE(state().SettleWritebacks("c", pending));
  EXPECT_TRUE(state().QueuedWritebacks("c").value().empty());
}

TEST_P(StateContractTest, ARemovedScoreClearsOnlyWhatBoardsyncWrote) {
  using namespace state_contract;
  // Never written: a removed score leaves the field alone.
  EXPECT_EQ(state().StageWritebacks("c", Values({{"c:1", "Score", "null"}})).value(), 0u);
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:2", "Score", "4"}})));
  ASSERT_TRUE(state().SettleWritebacks("c", state().QueuedWritebacks("c").value()));
  EXPECT_EQ(state().StageWritebacks("c", Values({{"c:2", "Score", "null"}})).value(), 1u);
  auto pending = state().QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].value_json, "null");
  ASSERT_TRUE(state().SettleWritebacks("c", pending));
  EXPECT_EQ(state().Ledger("c", Values({{"c:2", "Score", ""}})).value()[0], "null");
  // Cleared, then removed again: nothing.
  EXPECT_EQ(state().StageWritebacks("c", Values({{"c:2", "Score", "null"}})).value(), 0u);
}

TEST_P(StateContractTest, RefusedTrackerWritesStayQueuedWithTheirReasonUntilANewValue) {
  using namespace state_contract;
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:1", "h", "a", "RAP-1")}));
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "5"}, {"c:1", "Rank", "2"},
                                                   {"c:9", "Score", "1"}})));
  auto pending = state().QueuedWritebacks("c").value();
  ASSERT_EQ(pending.size(), 3u);
  std::vector<std::int64_t> seqs = {pending[0].seq, pending[1].seq};
  ASSERT_TRUE(state().RefuseWritebacks("c", seqs, "RAP-1: no field in project RAP"));
  auto failures = state().WritebackFailures("c").value();
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0].item_key, "c:1");
  EXPECT_EQ(failures[0].source_key, "RAP-1");
  EXPECT_EQ(failures[0].field, "Rank");
  EXPECT_EQ(failures[0].message, "RAP-1: no field in project RAP");
  EXPECT_TRUE(IsIsoTime(failures[0].since)) << failures[0].since;
  EXPECT_EQ(state().QueuedWritebacks("c").value()[0].error, "RAP-1: no field in project RAP");
  const std::string since = failures[0].since;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(state().RefuseWritebacks("c", seqs, "again"));
  EXPECT_EQ(state().WritebackFailures("c").value()[0].since, since);  // since the first refusal
  EXPECT_EQ(state().WritebackFailures("c").value()[0].message, "again");
  EXPECT_EQ(state().QueuedWritebacks("c").value().size(), 3u);  // tried again next time
  // The same value again keeps the refusal; a new one forgets it.
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Rank", "2"}})));
  EXPECT_EQ(state().WritebackFailures("c").value().size(), 2u);
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "6"}})));
  failures = state().WritebackFailures("c").value();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].field, "Rank");
  // Dropped, it is gone (another connection's seqs touch nothing).
  ASSERT_TRUE(state().DropWritebacks("other", seqs));
  EXPECT_EQ(state().QueuedWritebacks("c").value().size(), 3u);
  ASSERT_TRUE(state().DropWritebacks("c", std::vector<std::int64_t>{pending[0].seq}));
  EXPECT_TRUE(state().WritebackFailures("c").value().empty());
  EXPECT_EQ(state().QueuedWritebacks("c").value().size(), 2u);
}

TEST_P(StateContractTest, TheScoreCursorMovesWithTheValuesItQueued) {
  using namespace state_contract;
  EXPECT_FALSE(state().ScoreCursorOf("c").value().has_value());
  const ScoreCursor cursor{"roadmap", "42", "fp"};
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "5"}}), &cursor));
  auto saved = state().ScoreCursorOf("c").value();
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->cursor, "42");
  EXPECT_EQ(saved->board, "roadmap");
  EXPECT_EQ(saved->fingerprint, "fp");
  const ScoreCursor next{"roadmap", "43", "fp"};
  ASSERT_TRUE(state().StageWritebacks("c", {}, &next));
  EXPECT_EQ(state().ScoreCursorOf("c").value()->cursor, "43");
  // Never the pull's cursor, nor another connection's.
  EXPECT_FALSE(state().Cursor("c").value().has_value());
  EXPECT_FALSE(state().ScoreCursorOf("other").value().has_value());
}

// --- Records for `status`, backoff -----------------------------------------

TEST_P(StateContractTest, TheLastRunAndSyncBackAreRecordedPerConnection) {
  EXPECT_FALSE(state().LastRun("c").value().has_value());
  RunRecord run;
  run.connection = "c";
  run.started_at = "2024-05-01T10:00:00.000Z";
  run.seconds = 1.25;
  run.result = "failed";
  run.pulled = 15;
  run.created = 12;
  run.updated = 1;
  run.archived = 2;
  run.unchanged = 3;
  run.skipped = 4;
  run.failed = 5;
  run.written = 11;
  run.error = "tracker: 503";
  ASSERT_TRUE(state().RecordRun(run));
  run.pulled = 16;
  ASSERT_TRUE(state().RecordRun(run));
  auto last = state().LastRun("c").value();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->connection, "c");
  EXPECT_EQ(last->started_at, "2024-05-01T10:00:00.000Z");
  EXPECT_DOUBLE_EQ(last->seconds, 1.25);
  EXPECT_EQ(last->result, "failed");
  EXPECT_EQ(last->pulled, 16);
  EXPECT_EQ(last->created, 12);
  EXPECT_EQ(last->updated, 1);
  EXPECT_EQ(last->archived, 2);
  EXPECT_EQ(last->unchanged, 3);
  EXPECT_EQ(last->skipped, 4);
  EXPECT_EQ(last->failed, 5);
  EXPECT_EQ(last->written, 11);
  EXPECT_EQ(last->error, "tracker: 503");
  EXPECT_FALSE(state().LastRun("other").value().has_value());

  EXPECT_FALSE(state().LastSyncBack("c").value().has_value());
  SyncBackRecord back;
  back.connection = "c";
  back.started_at = "2026-12-07T10:00:00.000Z";
  back.seconds = 0.5;
  back.result = "ok";
  back.written = 3;
  back.unchanged = 4;
  back.failed = 1;
  back.queued = 2;
  ASSERT_TRUE(state().RecordSyncBack(back));
  auto sync_back = state().LastSyncBack("c").value();
  ASSERT_TRUE(sync_back.has_value());
  EXPECT_EQ(sync_back->started_at, "2026-12-07T10:00:00.000Z");
  EXPECT_DOUBLE_EQ(sync_back->seconds, 0.5);
  EXPECT_EQ(sync_back->result, "ok");
  EXPECT_EQ(sync_back->written, 3);
  EXPECT_EQ(sync_back->unchanged, 4);
  EXPECT_EQ(sync_back->failed, 1);
  EXPECT_EQ(sync_back->queued, 2);
  EXPECT_EQ(sync_back->error, "");
  EXPECT_FALSE(state().LastSyncBack("other").value().has_value());
}

TEST_P(StateContractTest, BackoffIsKeptPerConnectionUntilForgotten) {
  EXPECT_EQ(state().BackoffOf("c").value(), std::nullopt);
  ASSERT_TRUE(state().SetBackoff("c", Backoff{1, 1'700'000'060'000}));
  ASSERT_TRUE(state().SetBackoff("c", Backoff{2, 1'700'000'120'000}));
  // A replica taking the connection over sees it.
  auto other = OpenAnother();
  ASSERT_TRUE(other);
  auto backoff = other->BackoffOf("c").value();
  ASSERT_TRUE(backoff);
  EXPECT_EQ(backoff->failures, 2);
  EXPECT_EQ(backoff->until_ms, 1'700'000'120'000);
  EXPECT_EQ(other->BackoffOf("d").value(), std::nullopt);
  ASSERT_TRUE(other->SetBackoff("c", Backoff{0, 0}));
  EXPECT_EQ(state().BackoffOf("c").value(), std::nullopt);
}

// --- Leases and replicas -------------------------------------------------

TEST_P(StateContractTest, ALeaseIsHeldByOneHolderAtATime) {
  auto other = OpenAnother();
  ASSERT_TRUE(other);
  const auto ttl = std::chrono::seconds(30);
  auto lease = state().AcquireLease("c", "host-a:1", ttl).value();
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->connection, "c");
  EXPECT_EQ(lease->holder, "host-a:1");
  EXPECT_GT(lease->epoch, 0);
  // Not for another holder, through either handle.
  EXPECT_EQ(other->AcquireLease("c", "host-b:2", ttl).value(), std::nullopt);
  EXPECT_EQ(state().AcquireLease("c", "host-b:2", ttl).value(), std::nullopt);
  // The same holder again: extended, same epoch.
  auto again = other->AcquireLease("c", "host-a:1", ttl).value();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->epoch, lease->epoch);
  EXPECT_TRUE(state().RenewLease(*lease, ttl).value());
  // Other connections are free.
  auto d = other->AcquireLease("d", "host-b:2", ttl).value();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->holder, "host-b:2");

  auto leases = state().Leases().value();
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].connection, "c");
  EXPECT_EQ(leases[0].holder, "host-a:1");
  EXPECT_EQ(leases[0].epoch, lease->epoch);
  EXPECT_TRUE(state_contract::IsIsoTime(leases[0].expires_at)) << leases[0].expires_at;
  // Its expiry is about a ttl from now (the store's clock: this machine's here).
  const std::int64_t expires = ParseIsoUtc(leases[0].expires_at).value_or(0);
  EXPECT_GT(expires, NowMs() + 20'000);
  EXPECT_LT(expires, NowMs() + 40'000);
  EXPECT_EQ(leases[1].connection, "d");
  EXPECT_EQ(leases[1].holder, "host-b:2");

  // Released, another takes it at once, with a higher epoch; the released
  // lease cannot be renewed.
  ASSERT_TRUE(state().ReleaseLease(*lease));
  EXPECT_FALSE(state().RenewLease(*lease, ttl).value());
  auto taken = other->AcquireLease("c", "host-b:2", ttl).value();
  ASSERT_TRUE(taken);
  EXPECT_GT(taken->epoch, lease->epoch);
  EXPECT_EQ(state().AcquireLease("c", "host-a:1", ttl).value(), std::nullopt);
  leases = other->Leases().value();
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].holder, "host-b:2");
  EXPECT_EQ(leases[0].epoch, taken->epoch);
  // Releasing a lease one no longer holds frees nothing.
  ASSERT_TRUE(state().ReleaseLease(*lease));
  EXPECT_EQ(state().AcquireLease("c", "host-a:1", ttl).value(), std::nullopt);
}

TEST_P(StateContractTest, AnExpiredLeaseGoesToAnotherWithAHigherEpoch) {
  auto other = OpenAnother();
  ASSERT_TRUE(other);
  const auto shortly = std::chrono::milliseconds(300);
  const auto ttl = std::chrono::seconds(30);
  auto lease = state().AcquireLease("c", "host-a:1", shortly).value();
  ASSERT_TRUE(lease);
  auto kept = state().AcquireLease("k", "host-a:1", ttl).value();
  ASSERT_TRUE(kept);
  EXPECT_EQ(state().Heartbeat("host-a:1", shortly).value(), std::vector<std::string>{"host-a:1"});
  EXPECT_EQ(other->Heartbeat("host-b:2", ttl).value(),
            (std::vector<std::string>{"host-a:1", "host-b:2"}));
  EXPECT_EQ(other->AcquireLease("c", "host-b:2", ttl).value(), std::nullopt);
  std::this_thread::sleep_for(std::chrono::milliseconds(450));

  // Expired: no longer listed, and another holder takes it.
  auto leases = state().Leases().value();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].connection, "k");
  auto taken = other->AcquireLease("c", "host-b:2", ttl).value();
  ASSERT_TRUE(taken);
  EXPECT_GT(taken->epoch, lease->epoch);
  EXPECT_FALSE(state().RenewLease(*lease, ttl).value());
  EXPECT_EQ(state().AcquireLease("c", "host-a:1", ttl).value(), std::nullopt);
  EXPECT_TRUE(state().RenewLease(*kept, ttl).value());
  // The replica that stopped beating is forgotten.
  EXPECT_EQ(other->Heartbeat("host-b:2", ttl).value(), std::vector<std::string>{"host-b:2"});
  EXPECT_EQ(state().Heartbeat("host-a:1", ttl).value(),
            (std::vector<std::string>{"host-a:1", "host-b:2"}));
}

// --- Fencing ----------------------------------------------------------------

// A replica paused past its lease, which another replica then took over,
// can change nothing of the connection: each fenced write is refused with
// kLocked and leaves the state as it was. Its other connections, and the
// new holder, go on.
TEST_P(StateContractTest, AReplicaThatLostItsLeaseIsFencedOff) {
  using namespace state_contract;
  auto other = OpenAnother();
  ASSERT_TRUE(other);
  const auto ttl = std::chrono::seconds(30);
  auto lease = state().AcquireLease("c", "host-a:1", std::chrono::milliseconds(300)).value();
  ASSERT_TRUE(lease);
  auto kept = state().AcquireLease("k", "host-a:1", ttl).value();
  ASSERT_TRUE(kept);
  state().Fence(*lease);
  state().Fence(*kept);

  // While it holds the lease, its writes go through.
  const SyncCursor cursor{1'700'000'000'000, "f1", 1'700'000'000'000};
  std::vector<StagedWrite> writes = {Upsert("c:1", "h1", "a"), Upsert("c:2", "h2", "b"),
                                     Upsert("c:3", "h3", "c")};
  std::vector<IssueFailure> failing = {{"RAP-9", "c:9", "issue RAP-9: bad", ""}};
  const FailureChanges failure_changes{failing, {}};
  ASSERT_TRUE(state().Stage("c", writes, &cursor, nullptr, &failure_changes));
  auto pending = state().Pending("c", 10).value();
  ASSERT_EQ(pending.size(), 3u);
  ASSERT_TRUE(state().Park("c", std::vector<Refusal>{Refusal{pending[2].seq, "no"}}));
  ASSERT_TRUE(state().MarkSeen("c", 7, std::vector<std::string>{"c:1"}));
  const ScoreCursor score_cursor{"roadmap", "1", "fp"};
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "1"}, {"c:2", "Score", "2"}}),
                                      &score_cursor));
  auto queued = state().QueuedWritebacks("c").value();
  ASSERT_EQ(queued.size(), 2u);
  ASSERT_TRUE(state().SettleWritebacks("c", std::span(queued).first(1)));
  ASSERT_TRUE(state().StageWritebacks("c", Values({{"c:1", "Score", "3"}})));
  ASSERT_TRUE(state().SetBackoff("c", Backoff{1, 1'700'000'000'000}));
  queued = state().QueuedWritebacks("c").value();
  ASSERT_EQ(queued.size(), 2u);

  const std::vector<std::string> keys = {"c:1", "c:2", "c:3", "c:4"};
  const std::vector<WritebackValue> ledger_keys = Values({{"c:1", "Score", ""}, {"c:2", "Score", ""}});
  const std::string before = Snapshot(state(), "c", keys, ledger_keys);

  // Paused past its lease; another replica takes the connection over.
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  auto taken = other->AcquireLease("c", "host-b:2", ttl).value();
  ASSERT_TRUE(taken);
  EXPECT_GT(taken->epoch, lease->epoch);

  std::vector<std::string> refused;
  auto expect_fenced = [&](const char* what, const auto& result) {
    if (result) {
      refused.push_back(std::string(what) + " went through");
      return;
    }
    EXPECT_EQ(result.error().code, ErrorCode::kLocked) << what << ": " << result.error().message;
    EXPECT_NE(result.error().message.find("host-a:1"), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find("lost its lease"), std::string::npos)
        << result.error().message;
    EXPECT_NE(result.error().message.find("connection c"), std::string::npos)
        << result.error().message;
  };
  const SyncCursor back{1'600'000'000'000, "f0", 0};
  std::vector<StagedWrite> stale = {Upsert("c:1", "old", "older"), Archive("c:2"),
                                    Upsert("c:4", "h4", "d")};
  const SeenItems seen{8, keys};
  std::vector<std::string> resolved = {"RAP-9"};
  const FailureChanges resolve{{}, resolved};
  expect_fenced("Stage", state().Stage("c", stale, &back, &seen, &resolve));
  expect_fenced("Stage without a cursor", state().Stage("c", stale));
  expect_fenced("MarkSeen", state().MarkSeen("c", 8, keys));
  expect_fenced("Acknowledge", state().Acknowledge("c", Seqs(pending)));
  expect_fenced("Park", state().Park("c", std::vector<Refusal>{Refusal{pending[0].seq, "x"}}));
  expect_fenced("RetryFailed", state().RetryFailed("c"));
  const ScoreCursor score_back{"roadmap", "0", "fp"};
  expect_fenced("StageWritebacks",
                state().StageWritebacks("c", Values({{"c:2", "Score", "9"}}), &score_back));
  expect_fenced("SettleWritebacks", state().SettleWritebacks("c", queued));
  expect_fenced("RefuseWritebacks",
                state().RefuseWritebacks("c", std::vector<std::int64_t>{queued[0].seq}, "no"));
  expect_fenced("MarkWritebacksSent",
                state().MarkWritebacksSent("c", std::vector<std::int64_t>{queued[0].seq}));
  expect_fenced("DropWritebacks",
                state().DropWritebacks("c", std::vector<std::int64_t>{queued[0].seq}));
  expect_fenced("SetBackoff", state().SetBackoff("c", Backoff{0, 0}));
  EXPECT_TRUE(refused.empty()) << ::testing::PrintToString(refused);
  EXPECT_EQ(Snapshot(state(), "c", keys, ledger_keys), before);
  EXPECT_EQ(Snapshot(*other, "c", keys, ledger_keys), before);

  // Records for `status` are never fenced.
  RunRecord run;
  run.connection = "c";
  run.started_at = "2024-05-01T10:00:00.000Z";
  run.result = "failed";
  EXPECT_TRUE(state().RecordRun(run));
  // Its other connection goes on.
  EXPECT_TRUE(state().Stage("k", std::vector<StagedWrite>{Upsert("k:1", "h", "k")}));
  EXPECT_TRUE(state().SetBackoff("k", Backoff{1, 5}));
  // So does the new holder, fenced with its own lease.
  other->Fence(*taken);
  EXPECT_TRUE(other->Acknowledge("c", Seqs(pending)));
  EXPECT_TRUE(other->SetBackoff("c", Backoff{0, 0}));
  EXPECT_EQ(other->PendingCount("c").value(), 0u);
}

// Fenced writes need the lease unexpired, even while nobody took it over;
// renewed in time, the same lease writes again.
TEST_P(StateContractTest, AFencedWriteNeedsTheLeaseUnexpired) {
  using namespace state_contract;
  auto lease = state().AcquireLease("c", "host-a:1", std::chrono::milliseconds(300)).value();
  ASSERT_TRUE(lease);
  state().Fence(*lease);
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:1", "h1", "a")}));
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  auto late = state().Stage("c", std::vector<StagedWrite>{Upsert("c:2", "h2", "b")});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kLocked);
  EXPECT_EQ(state().PendingCount("c").value(), 1u);
  // Nobody took it over: the holder may renew it and go on.
  ASSERT_TRUE(state().RenewLease(*lease, std::chrono::seconds(30)).value());
  ASSERT_TRUE(state().Stage("c", std::vector<StagedWrite>{Upsert("c:2", "h2", "b")}));
  EXPECT_EQ(state().PendingCount("c").value(), 2u);
  // Released, its writes are refused at once.
  ASSERT_TRUE(state().ReleaseLease(*lease));
  auto released = state().SetBackoff("c", Backoff{1, 1});
  ASSERT_FALSE(released);
  EXPECT_EQ(released.error().code, ErrorCode::kLocked);
  EXPECT_EQ(state().BackoffOf("c").value(), std::nullopt);
}

}  // namespace boardsync

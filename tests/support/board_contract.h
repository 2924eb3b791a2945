// The board store contract (core/board_sink.h, core/score_source.h) as one
// value-parameterised suite: every store that keeps items and scores in a
// database (SqliteBoard, PostgresBoard) runs the same tests through a
// factory that makes a fresh, empty store and a board application beside it
// writing scores with plain SQL on its own connection. Instantiate with
// INSTANTIATE_TEST_SUITE_P(Name, BoardContractTest, ::testing::Values(...),
// BoardContractName) in the store's test folder.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/board_sink.h"
#include "core/score_source.h"
#include "core/value.h"

namespace boardsync {

// An item as the store holds it.
struct BoardContractItem {
  std::string source_key;
  Value fields;                   // the fields as a value (stores keep JSON differently)
  std::string source_updated_at;  // "2024-05-01T10:00:00.000Z"
  bool archived = false;

  friend bool operator==(const BoardContractItem&, const BoardContractItem&) = default;
};

inline void PrintTo(const BoardContractItem& item, std::ostream* out) {
  *out << "{" << item.source_key << ", " << item.fields.ToJson() << ", "
       << item.source_updated_at << (item.archived ? ", archived}" : "}");
}

// One fresh store and what the tests need to look into it.
class BoardContractStore {
 public:
  virtual ~BoardContractStore() = default;

  virtual BoardSink& sink() = 0;
  virtual ScoreSource& scores() = 0;
  // The row of (board, item_key), or nothing.
  virtual std::optional<BoardContractItem> Item(const std::string& board,
                                                const std::string& item_key) = 0;
  // How many rows `items` holds.
  virtual int ItemCount() = 0;
  // The board application sets a score (INSERT or UPDATE) or removes it
  // (DELETE), in its own session.
  virtual void SetScore(const std::string& board, const std::string& item_key,
                        const std::string& name, const Value& value,
                        const std::string& updated_at) = 0;
  virtual void RemoveScore(const std::string& board, const std::string& item_key,
                           const std::string& name) = 0;
  // An upsert this store refuses on its own (reported by index, the rest of
  // the batch applied), or nothing when it refuses none.
  virtual std::optional<BoardWrite> RefusedUpsert() = 0;
};

struct BoardContractParam {
  std::string name;
  std::function<std::unique_ptr<BoardContractStore>()> make;
};

inline void PrintTo(const BoardContractParam& param, std::ostream* out) { *out << param.name; }

inline std::string BoardContractName(const ::testing::TestParamInfo<BoardContractParam>& info) {
  return info.param.name;
}

class BoardContractTest : public ::testing::TestWithParam<BoardContractParam> {
 protected:
  void SetUp() override {
    store_ = GetParam().make();
    ASSERT_TRUE(store_);
  }

  static BoardWrite Upsert(const std::string& key, const std::string& version,
                           const std::string& title) {
    BoardWrite write;
    write.item.board = "roadmap";
    write.item.item_key = key;
    write.item.source_key = "RAP-" + key.substr(key.find('-') + 1);
    write.item.source_url = "https://yt/issue/" + write.item.source_key;
    write.item.source_updated_at = version;
    write.item.fields.emplace("title", title);
    write.item.fields.emplace("urgency", 4);
    return write;
  }
  static BoardWrite Archive(const std::string& key, const std::string& version) {
    BoardWrite write;
    write.archive = true;
    write.item.board = "roadmap";
    write.item.item_key = key;
    write.item.source_updated_at = version;  // empty: a write queued before versions
    return write;
  }
  static BoardContractItem Live(const std::string& key, const std::string& version,
                                const std::string& title) {
    return BoardContractItem{"RAP-" + key.substr(key.find('-') + 1),
                             Value(Value::Object{{"title", title}, {"urgency", 4}}), version,
                             false};
  }
  static BoardContractItem Archived(BoardContractItem item, const std::string& version) {
    item.archived = true;
    item.source_updated_at = version;
    return item;
  }

  // Applies `writes`, expecting the store to take them all.
  void Apply(std::vector<BoardWrite> writes) {
    auto applied = store_->sink().Apply(writes);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->empty());
  }
  std::optional<BoardContractItem> Item(const std::string& key) {
    return store_->Item("roadmap", key);
  }
  ScorePage Read(const std::string& since, std::size_t limit = 100,
                 const std::string& board = "roadmap") {
    auto page = store_->scores().ReadScores(board, since, limit);
    EXPECT_TRUE(page) << page.error().message;
    if (!page) {
      return ScorePage{};
    }
    EXPECT_FALSE(page->next.empty());  // never empty after a successful read
    return *page;
  }
  static BoardScore Score(std::string item_key, std::string name, Value value,
                          std::string updated_at) {
    return BoardScore{std::move(item_key), std::move(name), std::move(value),
                      std::move(updated_at)};
  }

  static constexpr const char* kT1 = "2024-05-01T10:00:00.000Z";
  static constexpr const char* kT2 = "2024-05-02T10:00:00.000Z";
  static constexpr const char* kT3 = "2024-05-03T10:00:00.000Z";

  std::unique_ptr<BoardContractStore> store_;
};

TEST_P(BoardContractTest, ABatchAppliedTwiceLeavesWhatItLeftOnce) {
  std::vector<BoardWrite> batch = {Upsert("c:2-1", kT1, "one"), Upsert("c:2-2", kT1, "two"),
                                   Upsert("c:2-3", kT1, "three"), Archive("c:2-3", kT2),
                                   Archive("c:2-9", kT2)};  // not on the board: nothing
  Apply(batch);
  const auto one = Item("c:2-1"), two = Item("c:2-2"), three = Item("c:2-3");
  EXPECT_EQ(one, Live("c:2-1", kT1, "one"));
  EXPECT_EQ(three, Archived(Live("c:2-3", kT1, "three"), kT2));
  Apply(batch);
  EXPECT_EQ(Item("c:2-1"), one);
  EXPECT_EQ(Item("c:2-2"), two);
  EXPECT_EQ(Item("c:2-3"), three);
  EXPECT_EQ(Item("c:2-9"), std::nullopt);
  EXPECT_EQ(store_->ItemCount(), 3);
}

TEST_P(BoardContractTest, AnOlderUpsertNeverReplacesANewerOneAndAnEqualOneApplies) {
  Apply({Upsert("c:2-1", kT2, "new")});
  Apply({Upsert("c:2-1", kT1, "old")});
  EXPECT_EQ(Item("c:2-1"), Live("c:2-1", kT2, "new"));
  Apply({Upsert("c:2-1", kT2, "same version, later write")});
  EXPECT_EQ(Item("c:2-1"), Live("c:2-1", kT2, "same version, later write"));
  // In one batch: the newer first, the older after it.
  Apply({Upsert("c:2-2", kT3, "newest"), Upsert("c:2-2", kT1, "older")});
  EXPECT_EQ(Item("c:2-2"), Live("c:2-2", kT3, "newest"));
  // Versions compare as times, whatever the store keeps them as.
  Apply({Upsert("c:2-3", "2024-05-01T10:00:00.999Z", "a"),
         Upsert("c:2-3", "2024-05-01T09:59:59.000Z", "b")});
  EXPECT_EQ(Item("c:2-3"), Live("c:2-3", "2024-05-01T10:00:00.999Z", "a"));
}

TEST_P(BoardContractTest, AnOlderArchiveIsIgnoredAndANewerOneIsHeld) {
  Apply({Upsert("c:2-1", kT2, "back"), Archive("c:2-1", kT1)});  // decided before it came back
  EXPECT_EQ(Item("c:2-1"), Live("c:2-1", kT2, "back"));
  Apply({Archive("c:2-1", kT1)});
  EXPECT_EQ(Item("c:2-1"), Live("c:2-1", kT2, "back"));

  Apply({Archive("c:2-1", kT3)});
  EXPECT_EQ(Item("c:2-1"), Archived(Live("c:2-1", kT2, "back"), kT3));
  // An upsert older than the archive stays out; the archive's version holds.
  Apply({Upsert("c:2-1", kT2, "stale")});
  EXPECT_EQ(Item("c:2-1"), Archived(Live("c:2-1", kT2, "back"), kT3));
  // An archive without a version (queued before versions were kept) applies.
  Apply({Upsert("c:2-2", kT2, "x"), Archive("c:2-2", "")});
  EXPECT_EQ(Item("c:2-2"), Archived(Live("c:2-2", kT2, "x"), kT2));
}

TEST_P(BoardContractTest, AnUpsertAfterAnArchiveBringsTheItemBack) {
  Apply({Upsert("c:2-1", kT1, "a")});
  Apply({Archive("c:2-1", kT1)});
  EXPECT_TRUE(Item("c:2-1")->archived);
  Apply({Upsert("c:2-1", kT2, "revived")});
  EXPECT_EQ(Item("c:2-1"), Live("c:2-1", kT2, "revived"));
  // In one batch, in the order made: archived, then back at the same version.
  Apply({Upsert("c:2-2", kT1, "a"), Archive("c:2-2", kT1), Upsert("c:2-2", kT1, "back")});
  EXPECT_EQ(Item("c:2-2"), Live("c:2-2", kT1, "back"));
  // And the other way round: back, then archived by a newer version.
  Apply({Upsert("c:2-3", kT1, "a"), Archive("c:2-3", kT1), Upsert("c:2-3", kT2, "b"),
         Archive("c:2-3", kT3)});
  EXPECT_EQ(Item("c:2-3"), Archived(Live("c:2-3", kT2, "b"), kT3));
}

TEST_P(BoardContractTest, RefusedWritesAreNamedByIndexAndTheRestApplies) {
  std::optional<BoardWrite> bad = store_->RefusedUpsert();
  std::vector<BoardWrite> batch = {Upsert("c:2-1", kT1, "a")};
  if (bad) {
    batch.push_back(*bad);
  }
  batch.push_back(Upsert("c:2-2", kT1, "b"));
  auto applied = store_->sink().Apply(batch);
  ASSERT_TRUE(applied) << applied.error().message;
  if (bad) {
    ASSERT_EQ(applied->size(), 1u);
    EXPECT_EQ((*applied)[0].index, 1u);
    EXPECT_FALSE((*applied)[0].message.empty());
    EXPECT_EQ(store_->Item(bad->item.board, bad->item.item_key), std::nullopt);
  } else {
    EXPECT_TRUE(applied->empty());
  }
  EXPECT_EQ(Item("c:2-1"), Live("c:2-1", kT1, "a"));
  EXPECT_EQ(Item("c:2-2"), Live("c:2-2", kT1, "b"));
}

TEST_P(BoardContractTest, ScoresComeInPagesOldestChangeFirstAndNextMovesOn) {
  ScorePage empty = Read("");
  EXPECT_TRUE(empty.scores.empty());
  store_->SetScore("roadmap", "yt:2-1", "score", 7.5, kT1);
  store_->SetScore("roadmap", "yt:2-1", "rank", 3, kT1);
  store_->SetScore("ops", "yt:2-9", "score", 1, kT1);  // another board
  store_->SetScore("roadmap", "yt:2-2", "score", "42", kT2);
  store_->SetScore("roadmap", "yt:2-3", "score", -2, kT2);

  ScorePage first = Read("", 2);
  ASSERT_EQ(first.scores.size(), 2u);
  EXPECT_EQ(first.scores, (std::vector<BoardScore>{Score("yt:2-1", "score", 7.5, kT1),
                                                   Score("yt:2-1", "rank", 3, kT1)}));
  EXPECT_TRUE(first.scores[0].value.IsDouble());
  EXPECT_TRUE(first.scores[1].value.IsInt());
  ScorePage second = Read(first.next, 2);
  ASSERT_EQ(second.scores.size(), 2u);
  EXPECT_EQ(second.scores, (std::vector<BoardScore>{Score("yt:2-2", "score", "42", kT2),
                                                    Score("yt:2-3", "score", -2, kT2)}));
  EXPECT_TRUE(second.scores[0].value.IsString());  // text that looks like a number stays text
  ScorePage third = Read(second.next, 2);
  EXPECT_TRUE(third.scores.empty());
  EXPECT_EQ(third.next, second.next);  // nothing newer: the cursor stays

  EXPECT_EQ(Read("", 100, "ops").scores,
            (std::vector<BoardScore>{Score("yt:2-9", "score", 1, kT1)}));
  // A limit of 0 reads one.
  EXPECT_EQ(Read("", 0).scores.size(), 1u);

  // A change after the last read comes after `next`, and only it.
  store_->SetScore("roadmap", "yt:2-1", "rank", 4, kT2);
  ScorePage later = Read(third.next);
  EXPECT_EQ(later.scores, (std::vector<BoardScore>{Score("yt:2-1", "rank", 4, kT2)}));
  EXPECT_TRUE(Read(later.next).scores.empty());
}

TEST_P(BoardContractTest, ARemovedScoreComesAsNull) {
  store_->SetScore("roadmap", "yt:2-1", "score", 4, kT1);
  store_->SetScore("roadmap", "yt:2-2", "score", 5, kT1);
  const std::string cursor = Read("").next;
  store_->RemoveScore("roadmap", "yt:2-1", "score");
  store_->SetScore("roadmap", "yt:2-2", "score", Value(), kT2);
  ScorePage page = Read(cursor);
  ASSERT_EQ(page.scores.size(), 2u);
  EXPECT_EQ(page.scores[0].item_key, "yt:2-1");
  EXPECT_TRUE(page.scores[0].value.IsNull());
  EXPECT_EQ(page.scores[1], Score("yt:2-2", "score", Value(), kT2));
  // A reader from the start sees the removal too, not the older value.
  ScorePage all = Read("");
  ASSERT_EQ(all.scores.size(), 2u);
  EXPECT_TRUE(all.scores[0].value.IsNull());
  EXPECT_TRUE(all.scores[1].value.IsNull());
}

TEST_P(BoardContractTest, AScoreChangedTwiceComesOnceWithItsLatestValue) {
  store_->SetScore("roadmap", "yt:2-1", "score", 1, kT1);
  store_->SetScore("roadmap", "yt:2-2", "score", 2, kT1);
  const std::string cursor = Read("").next;
  store_->SetScore("roadmap", "yt:2-1", "score", 10, kT2);
  store_->SetScore("roadmap", "yt:2-2", "score", 20, kT2);
  store_->SetScore("roadmap", "yt:2-1", "score", 11, kT3);
  ScorePage page = Read(cursor);
  // Each key once, at its latest value, in the order of its last change.
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-2", "score", 20, kT2),
                                                  Score("yt:2-1", "score", 11, kT3)}));
  EXPECT_TRUE(Read(page.next).scores.empty());
}

TEST_P(BoardContractTest, ACursorThatIsNotTheStoresIsAStorageError) {
  auto bad = store_->scores().ReadScores("roadmap", "c/17", 10);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kStorage);
  EXPECT_NE(bad.error().message.find("\"c/17\" is not one of this store's"), std::string::npos)
      << bad.error().message;
}

}  // namespace boardsync

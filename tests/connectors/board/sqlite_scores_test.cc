// SqliteBoard as a ScoreSource: scores written by a second connection with
// plain SQL, as the board application writes them, read through the change
// log boardsync keeps.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <chrono>

#include "connectors/board/sqlite_board.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

// The board application: its own connection to the board file.
class BoardApp {
 public:
  explicit BoardApp(const std::filesystem::path& file)
      : db_(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) {
    db_.setBusyTimeout(10'000);
  }

  void Exec(const std::string& sql) { db_.exec(sql); }

  // INSERT, or UPDATE when the score is there: what most applications do.
  void Set(const std::string& board, const std::string& item_key, const std::string& name,
           const std::string& value_sql, const std::string& updated_at) {
    Exec("INSERT INTO scores (board, item_key, name, value, updated_at) VALUES ('" + board +
         "', '" + item_key + "', '" + name + "', " + value_sql + ", '" + updated_at +
         "') ON CONFLICT (board, item_key, name) DO UPDATE SET value = excluded.value, "
         "updated_at = excluded.updated_at");
  }

  SQLite::Database& db() { return db_; }

 private:
  SQLite::Database db_;
};

std::unique_ptr<SqliteBoard> OpenBoard(const std::filesystem::path& file) {
  auto board = SqliteBoard::Open(file);
  EXPECT_TRUE(board) << board.error().message;
  return board ? std::move(*board) : nullptr;
}

ScorePage Read(SqliteBoard& board, std::string_view since, std::size_t limit = 100,
               std::string_view board_id = "roadmap") {
  auto page = board.ReadScores(board_id, since, limit);
  EXPECT_TRUE(page) << page.error().message;
  return page ? *page : ScorePage{};
}

BoardScore Score(std::string item_key, std::string name, Value value, std::string updated_at) {
  return BoardScore{std::move(item_key), std::move(name), std::move(value), std::move(updated_at)};
}

constexpr const char* kT1 = "2024-05-01T10:00:00.000Z";
constexpr const char* kT2 = "2024-05-02T10:00:00.000Z";

TEST(SqliteScoresTest, OpenCreatesTheScoresTableOfTheDesignAndTheChangeLog) {
  TempDir dir;
  auto board = OpenBoard(dir.path() / "board.db");
  SQLite::Database db((dir.path() / "board.db").string());
  SQLite::Statement columns(db,
                            "SELECT name, type, pk FROM pragma_table_info('scores') ORDER BY cid");
  std::vector<std::string> seen;
  while (columns.executeStep()) {
    seen.push_back(columns.getColumn(0).getString() + ":" + columns.getColumn(1).getString() + ":" +
                   columns.getColumn(2).getString());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"board:TEXT:1", "item_key:TEXT:2", "name:TEXT:3",
                                            "value::0", "updated_at:TEXT:0"}));
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                          "tbl_name = 'scores'")
                .getInt(),
            3);
  EXPECT_TRUE(db.tableExists("score_changes"));
  // Nothing to read yet: the cursor stays where it was.
  ScorePage empty = Read(*board, "");
  EXPECT_TRUE(empty.scores.empty());
  EXPECT_EQ(empty.next, "0");
  EXPECT_EQ(Read(*board, "0").next, "0");
}

TEST(SqliteScoresTest, ReadsWhatTheBoardApplicationWroteInPagesOldestChangeFirst) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardApp app(file);
  app.Set("roadmap", "yt:2-1", "score", "7.5", kT1);
  app.Set("roadmap", "yt:2-1", "rank", "3", kT1);
  app.Set("ops", "yt:2-9", "score", "1", kT1);  // another board
  app.Set("roadmap", "yt:2-2", "score", "'high'", kT2);
  app.Set("roadmap", "yt:2-3", "score", "-2", kT2);

  ScorePage first = Read(*board, "", 2);
  EXPECT_EQ(first.scores, (std::vector<BoardScore>{Score("yt:2-1", "score", 7.5, kT1),
                                                   Score("yt:2-1", "rank", 3, kT1)}));
  ScorePage second = Read(*board, first.next, 2);
  EXPECT_EQ(second.scores, (std::vector<BoardScore>{Score("yt:2-2", "score", "high", kT2),
                                                    Score("yt:2-3", "score", -2, kT2)}));
  ScorePage third = Read(*board, second.next, 2);
  EXPECT_TRUE(third.scores.empty());
  EXPECT_EQ(third.next, second.next);  // nothing newer: the cursor does not move

  // Numbers stay numbers of their kind.
  EXPECT_TRUE(first.scores[0].value.IsDouble());
  EXPECT_TRUE(first.scores[1].value.IsInt());

  ScorePage ops = Read(*board, "", 100, "ops");
  EXPECT_EQ(ops.scores, (std::vector<BoardScore>{Score("yt:2-9", "score", 1, kT1)}));
}

TEST(SqliteScoresTest, TheLimitIsHonouredAndZeroReadsOne) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardApp app(file);
  for (int i = 0; i < 5; ++i) {
    app.Set("roadmap", "yt:2-" + std::to_string(i), "score", std::to_string(i), kT1);
  }
  EXPECT_EQ(Read(*board, "", 3).scores.size(), 3u);
  EXPECT_EQ(Read(*board, "", 0).scores.size(), 1u);
  // Paging by one reads each once, in order, and then nothing.
  std::string cursor;
  std::vector<std::string> keys;
  for (int pages = 0; pages < 10; ++pages) {
    ScorePage page = Read(*board, cursor, 1);
    if (page.scores.empty()) {
      break;
    }
    ASSERT_EQ(page.scores.size(), 1u);
    keys.push_back(page.scores[0].item_key);
    cursor = page.next;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"yt:2-0", "yt:2-1", "yt:2-2", "yt:2-3", "yt:2-4"}));
}

TEST(SqliteScoresTest, ADeletedScoreAndANullValueComeAsNull) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardApp app(file);
  app.Set("roadmap", "yt:2-1", "score", "4", kT1);
  app.Set("roadmap", "yt:2-2", "score", "5", kT1);
  const std::string cursor = Read(*board, "").next;

  app.Exec("DELETE FROM scores WHERE item_key = 'yt:2-1'");
  app.Set("roadmap", "yt:2-2", "score", "NULL", kT2);
  ScorePage page = Read(*board, cursor);
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-1", "score", Value(), ""),
                                                  Score("yt:2-2", "score", Value(), kT2)}));
  // A reader from the start sees the removal too, not an older value.
  ScorePage all = Read(*board, "");
  ASSERT_EQ(all.scores.size(), 2u);
  EXPECT_TRUE(all.scores[0].value.IsNull());
  EXPECT_TRUE(all.scores[1].value.IsNull());
}

TEST(SqliteScoresTest, AChangeAfterAReadComesAgainWhateverTheBoardsClockSays) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardApp app(file);
  app.Set("roadmap", "yt:2-1", "score", "1", kT2);
  app.Set("roadmap", "yt:2-2", "score", "2", kT2);
  std::string cursor = Read(*board, "").next;

  // An update stamped earlier than what was read (the board's clock went
  // back): still a change after the cursor.
  app.Exec("UPDATE scores SET value = 10, updated_at = '" + std::string(kT1) +
           "' WHERE item_key = 'yt:2-2'");
  ScorePage page = Read(*board, cursor);
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-2", "score", 10, kT1)}));
  cursor = page.next;

  // A score removed, read as removed, and set again with INSERT OR IGNORE
  // (an OR clause of the application's statement also rules the
  // statements of the triggers it fires).
  app.Exec("DELETE FROM scores WHERE item_key = 'yt:2-2'");
  page = Read(*board, cursor);
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-2", "score", Value(), "")}));
  cursor = page.next;
  app.Exec("INSERT OR IGNORE INTO scores VALUES ('roadmap', 'yt:2-2', 'score', 12, '" +
           std::string(kT2) + "')");
  page = Read(*board, cursor);
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-2", "score", 12, kT2)}));
  cursor = page.next;

  // INSERT OR REPLACE, an ignored insert, several changes of one key
  // between two reads: each key once, at its latest value, in the order of
  // its last change.
  app.Exec("INSERT OR REPLACE INTO scores VALUES ('roadmap', 'yt:2-1', 'score', 11, '" +
           std::string(kT2) + "')");
  app.Exec("UPDATE scores SET value = 14 WHERE item_key = 'yt:2-2'");
  app.Exec("INSERT OR IGNORE INTO scores VALUES ('roadmap', 'yt:2-2', 'score', 99, '" +
           std::string(kT2) + "')");  // ignored: the row is there
  app.Exec("INSERT OR REPLACE INTO scores VALUES ('roadmap', 'yt:2-1', 'score', 13, '" +
           std::string(kT2) + "')");
  page = Read(*board, cursor);
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-2", "score", 14, kT2),
                                                  Score("yt:2-1", "score", 13, kT2)}));
  EXPECT_TRUE(Read(*board, page.next).scores.empty());
}

TEST(SqliteScoresTest, AnUpdateThatMovesAScoreToAnotherKeyRemovesTheOldOne) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardApp app(file);
  app.Set("roadmap", "yt:2-1", "score", "1", kT1);
  const std::string cursor = Read(*board, "").next;
  app.Exec("UPDATE scores SET item_key = 'yt:2-5' WHERE item_key = 'yt:2-1'");
  ScorePage page = Read(*board, cursor);
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-1", "score", Value(), ""),
                                                  Score("yt:2-5", "score", 1, kT1)}));
}

TEST(SqliteScoresTest, TextThatLooksLikeANumberStaysText) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardApp app(file);
  app.Set("roadmap", "yt:2-1", "score", "'42'", kT1);
  app.Set("roadmap", "yt:2-2", "score", "'4.5'", kT1);
  app.Set("roadmap", "yt:2-3", "score", "42", kT1);
  app.Set("roadmap", "yt:2-4", "score", "4.0", kT1);
  app.Set("roadmap", "yt:2-5", "score", "X'6869'", kT1);         // a BLOB: its bytes as text
  app.Set("roadmap", "yt:2-6", "score", "'caf' || X'C3'", kT1);  // not UTF-8: repaired
  ScorePage page = Read(*board, "");
  ASSERT_EQ(page.scores.size(), 6u);
  EXPECT_EQ(page.scores[0].value, Value("42"));
  EXPECT_EQ(page.scores[1].value, Value("4.5"));
  EXPECT_EQ(page.scores[2].value, Value(42));
  EXPECT_EQ(page.scores[3].value, Value(4.0));
  EXPECT_TRUE(page.scores[3].value.IsDouble());
  EXPECT_EQ(page.scores[4].value, Value("hi"));
  EXPECT_EQ(page.scores[5].value, Value("caf\xEF\xBF\xBD"));
}

TEST(SqliteScoresTest, ScoresThatPredateTheTriggersAreBackfilledOldestFirst) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  {
    // The board application made its own `scores` before boardsync ran.
    BoardApp app(file);
    app.Exec(
        "CREATE TABLE scores (board TEXT NOT NULL, item_key TEXT NOT NULL, name TEXT NOT NULL, "
        "value, updated_at TEXT, PRIMARY KEY (board, item_key, name))");
    app.Set("roadmap", "yt:2-1", "score", "1", kT2);
    app.Set("roadmap", "yt:2-2", "score", "'two'", kT1);
    app.Set("ops", "yt:2-3", "score", "3", kT1);
  }
  auto board = OpenBoard(file);
  ScorePage page = Read(*board, "");
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-2", "score", "two", kT1),
                                                  Score("yt:2-1", "score", 1, kT2)}));
  EXPECT_EQ(Read(*board, "", 100, "ops").scores.size(), 1u);
  // Opening again does not log them again.
  board.reset();
  board = OpenBoard(file);
  EXPECT_TRUE(Read(*board, page.next).scores.empty());
}

TEST(SqliteScoresTest, ATableMadeAgainGetsItsTriggersBackAndIsReadAgainWhole) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardApp app(file);
  app.Set("roadmap", "yt:2-1", "score", "1", kT1);
  app.Set("roadmap", "yt:2-2", "score", "2", kT1);
  const std::string cursor = Read(*board, "").next;

  // The application migrates its table: drops it (and with it the
  // triggers) and makes it again, without yt:2-2, and yt:2-1 changed.
  app.Exec("DROP TABLE scores");
  app.Exec(
      "CREATE TABLE scores (board TEXT NOT NULL, item_key TEXT NOT NULL, name TEXT NOT NULL, "
      "value, updated_at TEXT, PRIMARY KEY (board, item_key, name))");
  app.Set("roadmap", "yt:2-1", "score", "5", kT2);

  ScorePage page = Read(*board, cursor);
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-2", "score", Value(), ""),
                                                  Score("yt:2-1", "score", 5, kT2)}));
  // Watched again from now on.
  app.Set("roadmap", "yt:2-1", "score", "6", kT2);
  EXPECT_EQ(Read(*board, page.next).scores,
            (std::vector<BoardScore>{Score("yt:2-1", "score", 6, kT2)}));
}

TEST(SqliteScoresTest, ACursorOfAnotherFileReadsFromTheStart) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardApp app(file);
  app.Set("roadmap", "yt:2-1", "score", "1", kT1);
  ScorePage page = Read(*board, "9999");
  EXPECT_EQ(page.scores.size(), 1u);
  EXPECT_EQ(page.next, "1");

  auto bad = board->ReadScores("roadmap", "c/17", 10);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kStorage);
  EXPECT_EQ(bad.error().message,
            "board store: board roadmap: the scores cursor \"c/17\" is not one of this store's "
            "(a decimal number)");
}

TEST(SqliteScoresTest, ReadingOnlyReadsWhileTheBoardApplicationHoldsTheWriteLock) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardApp app(file);
  app.Set("roadmap", "yt:2-1", "score", "1", kT1);
  // The application is in the middle of a write transaction: a reader that
  // wanted to write would wait out the busy timeout (10 s) and fail.
  SQLite::Transaction tx(app.db(), SQLite::TransactionBehavior::IMMEDIATE);
  app.Set("roadmap", "yt:2-2", "score", "2", kT1);
  const auto start = std::chrono::steady_clock::now();
  ScorePage page = Read(*board, "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // Only what was committed.
  EXPECT_EQ(page.scores, (std::vector<BoardScore>{Score("yt:2-1", "score", 1, kT1)}));
  tx.commit();
  EXPECT_EQ(Read(*board, page.next).scores,
            (std::vector<BoardScore>{Score("yt:2-2", "score", 2, kT1)}));
}

TEST(SqliteScoresTest, ItemsAndScoresLiveSideBySide) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = OpenBoard(file);
  BoardWrite write;
  write.item.board = "roadmap";
  write.item.item_key = "yt:2-1";
  write.item.source_key = "RAP-1";
  write.item.source_url = "https://yt/issue/RAP-1";
  write.item.source_updated_at = kT1;
  write.item.fields.emplace("title", "a");
  std::vector<BoardWrite> writes = {write};
  ASSERT_TRUE(board->Apply(writes));
  BoardApp app(file);
  app.Set("roadmap", "yt:2-1", "score", "1", kT1);
  ASSERT_TRUE(board->Apply(writes));  // writing items logs no score change
  EXPECT_EQ(Read(*board, "").scores.size(), 1u);
  EXPECT_EQ(app.db().execAndGet("SELECT count(*) FROM score_changes").getInt(), 1);
}

}  // namespace
}  // namespace boardsync

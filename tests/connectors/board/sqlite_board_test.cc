#include "connectors/board/sqlite_board.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

BoardWrite Upsert(const std::string& key, const std::string& updated, const std::string& title) {
  BoardWrite write;
  write.item.board = "roadmap";
  write.item.item_key = key;
  write.item.source_key = "RAP-7";
  write.item.source_url = "https://yt/issue/RAP-7";
  write.item.source_updated_at = updated;
  write.item.fields.emplace("title", title);
  write.item.fields.emplace("urgency", 4);
  return write;
}

BoardWrite Archive(const std::string& key, const std::string& version = "") {
  BoardWrite write;
  write.archive = true;
  write.item.board = "roadmap";
  write.item.item_key = key;
  write.item.source_updated_at = version;  // empty: a legacy archive
  return write;
}

struct Row {
  std::string source_key, fields, source_updated_at;
  bool archived;
  std::string archived_at;
};

Row Read(const std::filesystem::path& file, const std::string& key) {
  SQLite::Database db(file.string());
  SQLite::Statement q(db,
                      "SELECT source_key, fields, source_updated_at, archived_at IS NOT NULL, "
                      "coalesce(archived_at, '') "
                      "FROM items WHERE board = 'roadmap' AND item_key = ?");
  q.bind(1, key);
  EXPECT_TRUE(q.executeStep());
  return Row{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
             q.getColumn(3).getInt() != 0, q.getColumn(4).getString()};
}

TEST(SqliteBoardTest, UpsertWritesTheItemsTableOfTheDesign) {
  TempDir dir;
  auto board = SqliteBoard::Open(dir.path() / "board.db");
  ASSERT_TRUE(board);
  std::vector<BoardWrite> writes = {Upsert("c:2-7", "2024-05-01T10:00:00.000Z", "Ünïcode ✓")};
  auto applied = (*board)->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_TRUE(applied->empty());  // SQLite refuses no single write
  Row row = Read(dir.path() / "board.db", "c:2-7");
  EXPECT_EQ(row.source_key, "RAP-7");
  EXPECT_EQ(row.fields, R"({"title":"Ünïcode ✓","urgency":4})");
  EXPECT_EQ(row.source_updated_at, "2024-05-01T10:00:00.000Z");
  EXPECT_FALSE(row.archived);
}

TEST(SqliteBoardTest, ApplyingTwiceIsIdempotent) {
  TempDir dir;
  auto board = SqliteBoard::Open(dir.path() / "board.db");
  std::vector<BoardWrite> writes = {Upsert("c:2-7", "2024-05-01T10:00:00.000Z", "a")};
  ASSERT_TRUE((*board)->Apply(writes));
  ASSERT_TRUE((*board)->Apply(writes));
  SQLite::Database db((dir.path() / "board.db").string());
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM items").getInt(), 1);
}

TEST(SqliteBoardTest, AnOlderVersionNeverOverwritesANewerOne) {
  TempDir dir;
  auto board = SqliteBoard::Open(dir.path() / "board.db");
  std::vector<BoardWrite> newer = {Upsert("c:2-7", "2024-05-02T10:00:00.000Z", "new")};
  std::vector<BoardWrite> older = {Upsert("c:2-7", "2024-05-01T10:00:00.000Z", "old")};
  ASSERT_TRUE((*board)->Apply(newer));
  ASSERT_TRUE((*board)->Apply(older));
  EXPECT_EQ(Read(dir.path() / "board.db", "c:2-7").fields, R"({"title":"new","urgency":4})");
}

TEST(SqliteBoardTest, ALegacyArchiveAppliesAndAnUpsertBringsTheItemBack) {
  TempDir dir;
  auto board = SqliteBoard::Open(dir.path() / "board.db");
  std::vector<BoardWrite> writes = {Upsert("c:2-7", "2024-05-01T10:00:00.000Z", "a")};
  ASSERT_TRUE((*board)->Apply(writes));
  std::vector<BoardWrite> archive = {Archive("c:2-7")};  // no version: unconditional
  ASSERT_TRUE((*board)->Apply(archive));
  Row archived = Read(dir.path() / "board.db", "c:2-7");
  EXPECT_TRUE(archived.archived);
  EXPECT_EQ(archived.source_updated_at, "2024-05-01T10:00:00.000Z");
  ASSERT_TRUE((*board)->Apply(writes));  // the issue is back
  EXPECT_FALSE(Read(dir.path() / "board.db", "c:2-7").archived);
}

TEST(SqliteBoardTest, AnArchiveOfAnOlderVersionIsIgnored) {
  TempDir dir;
  auto board = SqliteBoard::Open(dir.path() / "board.db");
  std::vector<BoardWrite> writes = {
      Upsert("c:2-7", "2024-05-02T10:00:00.000Z", "back"),
      Archive("c:2-7", "2024-05-01T10:00:00.000Z"),  // late: decided before the issue came back
  };
  auto applied = (*board)->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_TRUE(applied->empty());
  Row row = Read(dir.path() / "board.db", "c:2-7");
  EXPECT_FALSE(row.archived);
  EXPECT_EQ(row.source_updated_at, "2024-05-02T10:00:00.000Z");
  EXPECT_EQ(row.fields, R"({"title":"back","urgency":4})");
}

TEST(SqliteBoardTest, AnArchiveOfTheSameOrANewerVersionAppliesAndIsHeld) {
  TempDir dir;
  const auto file = dir.path() / "board.db";
  auto board = SqliteBoard::Open(file);
  std::vector<BoardWrite> setup = {Upsert("c:2-7", "2024-05-02T10:00:00.000Z", "a"),
                                   Upsert("c:2-8", "2024-05-02T10:00:00.000Z", "b")};
  ASSERT_TRUE((*board)->Apply(setup));
  std::vector<BoardWrite> archives = {Archive("c:2-7", "2024-05-02T10:00:00.000Z"),
                                      Archive("c:2-8", "2024-05-03T10:00:00.000Z")};
  ASSERT_TRUE((*board)->Apply(archives));
  Row same = Read(file, "c:2-7");
  EXPECT_TRUE(same.archived);
  EXPECT_EQ(same.source_updated_at, "2024-05-02T10:00:00.000Z");
  Row newer = Read(file, "c:2-8");
  EXPECT_TRUE(newer.archived);
  EXPECT_EQ(newer.source_updated_at, "2024-05-03T10:00:00.000Z");
  EXPECT_EQ(newer.fields, R"({"title":"b","urgency":4})");  // an archived item keeps its row

  // An upsert older than the archive stays out; archiving again keeps the
  // first archived_at.
  std::vector<BoardWrite> stale = {Upsert("c:2-8", "2024-05-02T12:00:00.000Z", "stale")};
  ASSERT_TRUE((*board)->Apply(stale));
  std::vector<BoardWrite> again = {Archive("c:2-8", "2024-05-04T10:00:00.000Z")};
  ASSERT_TRUE((*board)->Apply(again));
  Row held = Read(file, "c:2-8");
  EXPECT_TRUE(held.archived);
  EXPECT_EQ(held.archived_at, newer.archived_at);
  EXPECT_EQ(held.source_updated_at, "2024-05-04T10:00:00.000Z");
  EXPECT_EQ(held.fields, R"({"title":"b","urgency":4})");

  // An archive of an item the board does not have changes nothing.
  std::vector<BoardWrite> unknown = {Archive("c:2-9", "2024-05-04T10:00:00.000Z")};
  ASSERT_TRUE((*board)->Apply(unknown));
  SQLite::Database db(file.string());
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM items").getInt(), 2);
}

TEST(SqliteBoardTest, AnUpsertAfterAnArchiveOfTheSameVersionBringsTheItemBack) {
  TempDir dir;
  auto board = SqliteBoard::Open(dir.path() / "board.db");
  // An archive set aside and retried after the issue came back unchanged:
  // in the order they were made, the item ends live.
  std::vector<BoardWrite> writes = {
      Upsert("c:2-7", "2024-05-01T10:00:00.000Z", "a"),
      Archive("c:2-7", "2024-05-01T10:00:00.000Z"),
      Upsert("c:2-7", "2024-05-01T10:00:00.000Z", "back"),
  };
  ASSERT_TRUE((*board)->Apply(writes));
  Row row = Read(dir.path() / "board.db", "c:2-7");
  EXPECT_FALSE(row.archived);
  EXPECT_EQ(row.fields, R"({"title":"back","urgency":4})");
}

}  // namespace
}  // namespace boardsync

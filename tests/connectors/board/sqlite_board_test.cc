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

struct Row {
  std::string source_key, fields, source_updated_at;
  bool archived;
};

Row Read(const std::filesystem::path& file, const std::string& key) {
  SQLite::Database db(file.string());
  SQLite::Statement q(db,
                      "SELECT source_key, fields, source_updated_at, archived_at IS NOT NULL "
                      "FROM items WHERE board = 'roadmap' AND item_key = ?");
  q.bind(1, key);
  EXPECT_TRUE(q.executeStep());
  return Row{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
             q.getColumn(3).getInt() != 0};
}

TEST(SqliteBoardTest, UpsertWritesTheItemsTableOfTheDesign) {
  TempDir dir;
  auto board = SqliteBoard::Open(dir.path() / "board.db");
  ASSERT_TRUE(board);
  std::vector<BoardWrite> writes = {Upsert("c:2-7", "2024-05-01T10:00:00.000Z", "Ünïcode ✓")};
  ASSERT_TRUE((*board)->Apply(writes));
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

TEST(SqliteBoardTest, ArchiveAndUnarchive) {
  TempDir dir;
  auto board = SqliteBoard::Open(dir.path() / "board.db");
  std::vector<BoardWrite> writes = {Upsert("c:2-7", "2024-05-01T10:00:00.000Z", "a")};
  ASSERT_TRUE((*board)->Apply(writes));
  BoardWrite archive;
  archive.archive = true;
  archive.item.board = "roadmap";
  archive.item.item_key = "c:2-7";
  ASSERT_TRUE((*board)->Apply(std::span(&archive, 1)));
  EXPECT_TRUE(Read(dir.path() / "board.db", "c:2-7").archived);
  ASSERT_TRUE((*board)->Apply(writes));  // the issue is back
  EXPECT_FALSE(Read(dir.path() / "board.db", "c:2-7").archived);
}

}  // namespace
}  // namespace boardsync

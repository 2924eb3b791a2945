// The board store contract (tests/support/board_contract.h) on SqliteBoard:
// a board file in a temp dir, and the board application's own connection.
#include <SQLiteCpp/SQLiteCpp.h>

#include "connectors/board/sqlite_board.h"
#include "connectors/http/json.h"
#include "tests/support/board_contract.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

class SqliteContractStore : public BoardContractStore {
 public:
  SqliteContractStore() : file_(dir_.path() / "board.db") {
    auto board = SqliteBoard::Open(file_);
    EXPECT_TRUE(board) << board.error().message;
    if (board) {
      board_ = std::move(*board);
    }
    app_ = std::make_unique<SQLite::Database>(file_.string(), SQLite::OPEN_READWRITE);
    app_->setBusyTimeout(10'000);
  }

  BoardSink& sink() override { return *board_; }
  ScoreSource& scores() override { return *board_; }

  std::optional<BoardContractItem> Item(const std::string& board,
                                        const std::string& item_key) override {
    SQLite::Statement q(*app_,
                        "SELECT source_key, fields, source_updated_at, archived_at IS NOT NULL "
                        "FROM items WHERE board = ? AND item_key = ?");
    q.bind(1, board);
    q.bind(2, item_key);
    if (!q.executeStep()) {
      return std::nullopt;
    }
    auto fields = ParseJson(q.getColumn(1).getString());
    EXPECT_TRUE(fields);
    return BoardContractItem{q.getColumn(0).getString(), fields ? *fields : Value(),
                             q.getColumn(2).getString(), q.getColumn(3).getInt() != 0};
  }

  int ItemCount() override { return app_->execAndGet("SELECT count(*) FROM items").getInt(); }

  void SetScore(const std::string& board, const std::string& item_key, const std::string& name,
                const Value& value, const std::string& updated_at) override {
    SQLite::Statement q(*app_,
                        "INSERT INTO scores (board, item_key, name, value, updated_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (board, item_key, name) DO UPDATE "
                        "SET value = excluded.value, updated_at = excluded.updated_at");
    q.bind(1, board);
    q.bind(2, item_key);
    q.bind(3, name);
    if (value.IsInt()) {
      q.bind(4, static_cast<int64_t>(value.AsInt()));
    } else if (value.IsDouble()) {
      q.bind(4, value.AsDouble());
    } else if (value.IsString()) {
      q.bind(4, value.AsString());
    } else {
      q.bind(4);  // NULL
    }
    q.bind(5, updated_at);
    q.exec();
  }

  void RemoveScore(const std::string& board, const std::string& item_key,
                   const std::string& name) override {
    SQLite::Statement q(*app_, "DELETE FROM scores WHERE board = ? AND item_key = ? AND name = ?");
    q.bind(1, board);
    q.bind(2, item_key);
    q.bind(3, name);
    q.exec();
  }

  std::optional<BoardWrite> RefusedUpsert() override { return std::nullopt; }  // takes any

 private:
  TempDir dir_;
  std::filesystem::path file_;
  std::unique_ptr<SqliteBoard> board_;
  std::unique_ptr<SQLite::Database> app_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, BoardContractTest,
                         ::testing::Values(BoardContractParam{
                             "Sqlite", [] { return std::make_unique<SqliteContractStore>(); }}),
                         BoardContractName);

}  // namespace
}  // namespace boardsync

// The board store contract (tests/support/board_contract.h) on PostgresBoard:
// a fresh database per test (tests/support/pg_cluster.h), and the board
// application's own session writing `scores` with plain SQL.
#include "connectors/http/json.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/postgres_board.h"
#include "tests/support/board_contract.h"
#include "tests/support/pg_cluster.h"

namespace boardsync {
namespace {

PgResult MustExec(PgConnection& conn, std::string_view sql, std::initializer_list<PgParam> params) {
  auto result = conn.Exec(sql, params);
  if (!result) {
    throw std::runtime_error(result.error().message);
  }
  return std::move(*result);
}

class PostgresContractStore : public BoardContractStore {
 public:
  PostgresContractStore() {
    auto board = PostgresBoard::Open(Secret(db_.url()));
    if (!board) {
      throw std::runtime_error(board.error().message);
    }
    board_ = std::move(*board);
    app_ = PgTestConnect(db_.url());
  }

  BoardSink& sink() override { return *board_; }
  ScoreSource& scores() override { return *board_; }

  std::optional<BoardContractItem> Item(const std::string& board,
                                        const std::string& item_key) override {
    PgResult rows = MustExec(
        *app_,
        "SELECT source_key, fields::text, to_char(source_updated_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), archived_at IS NOT NULL "
        "FROM items WHERE board = $1 AND item_key = $2",
        {board, item_key});
    if (rows.rows.empty()) {
      return std::nullopt;
    }
    const PgRow& row = rows.rows[0];
    auto fields = ParseJson(row[1].value_or(""));
    EXPECT_TRUE(fields);
    return BoardContractItem{row[0].value_or(""), fields ? *fields : Value(), row[2].value_or(""),
                             row[3] == "t"};
  }

  int ItemCount() override {
    return std::stoi(MustExec(*app_, "SELECT count(*) FROM items", {}).rows[0][0].value_or("0"));
  }

  void SetScore(const std::string& board, const std::string& item_key, const std::string& name,
                const Value& value, const std::string& updated_at) override {
    std::optional<std::string> json;
    if (!value.IsNull()) {
      json = value.ToJson();
    }
    MustExec(*app_,
             "INSERT INTO scores (board, item_key, name, value, updated_at) "
             "VALUES ($1, $2, $3, $4::jsonb, $5::timestamptz) "
             "ON CONFLICT (board, item_key, name) DO UPDATE "
             "SET value = excluded.value, updated_at = excluded.updated_at",
             {board, item_key, name, json, updated_at});
  }

  void RemoveScore(const std::string& board, const std::string& item_key,
                   const std::string& name) override {
    MustExec(*app_, "DELETE FROM scores WHERE board = $1 AND item_key = $2 AND name = $3",
             {board, item_key, name});
  }

  // JSONB cannot hold a NUL character.
  std::optional<BoardWrite> RefusedUpsert() override {
    BoardWrite write;
    write.item.board = "roadmap";
    write.item.item_key = "c:2-nul";
    write.item.source_key = "RAP-0";
    write.item.source_url = "https://yt/issue/RAP-0";
    write.item.source_updated_at = "2024-05-01T10:00:00.000Z";
    write.item.fields.emplace("title", std::string("a\0b", 3));
    return write;
  }

 private:
  PgTestDatabase db_;
  std::unique_ptr<PostgresBoard> board_;
  std::unique_ptr<PgConnection> app_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, BoardContractTest,
                         ::testing::Values(BoardContractParam{
                             "Postgres", [] { return std::make_unique<PostgresContractStore>(); }}),
                         BoardContractName);

}  // namespace
}  // namespace boardsync

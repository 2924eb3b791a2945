// PostgresBoard beyond the board contract (board_contract_test.cc): its
// schema and migrations, errors without the URL or password, TLS settings,
// one statement per batch, and concurrent sessions, both boardsync writers
// and board applications writing scores.
#include "connectors/postgres/postgres_board.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "connectors/http/json.h"
#include "connectors/postgres/pg.h"
#include "core/redact.h"
#include "core/time.h"
#include "tests/support/pg_cluster.h"

namespace boardsync {
namespace {

std::unique_ptr<PostgresBoard> OpenBoard(const std::string& url) {
  auto board = PostgresBoard::Open(Secret(url));
  EXPECT_TRUE(board) << board.error().message;
  return board ? std::move(*board) : nullptr;
}

// The text of the first column of the first row, or "(none)".
std::string One(PgConnection& conn, std::string_view sql,
                std::initializer_list<PgParam> params = {}) {
  auto result = conn.Exec(sql, params);
  EXPECT_TRUE(result) << result.error().message;
  if (!result || result->rows.empty() || !result->rows[0][0]) {
    return "(none)";
  }
  return *result->rows[0][0];
}

void MustExec(PgConnection& conn, std::string_view sql,
              std::initializer_list<PgParam> params = {}) {
  auto result = conn.Exec(sql, params);
  ASSERT_TRUE(result) << result.error().message;
}

BoardWrite Upsert(const std::string& key, std::int64_t version_ms, const Value& tag) {
  BoardWrite write;
  write.item.board = "roadmap";
  write.item.item_key = key;
  write.item.source_key = "RAP-1";
  write.item.source_url = "https://yt/issue/RAP-1";
  write.item.source_updated_at = FormatIsoUtc(version_ms);
  write.item.fields.emplace("tag", tag);
  return write;
}

BoardWrite Archive(const std::string& key, std::int64_t version_ms) {
  BoardWrite write;
  write.archive = true;
  write.item.board = "roadmap";
  write.item.item_key = key;
  write.item.source_updated_at = FormatIsoUtc(version_ms);
  return write;
}

void ExpectNoSecret(const std::string& message) {
  EXPECT_EQ(message.find("pw-canary"), std::string::npos) << message;
  EXPECT_EQ(message.find("postgresql://"), std::string::npos) << message;
}

constexpr std::int64_t kT0 = 1'714'557'600'000;  // 2024-05-01T10:00:00Z

TEST(PostgresBoardTest, OpenMakesTheTablesOfTheDesignWithJsonbAndTimestamptz) {
  PgTestDatabase db;
  auto board = OpenBoard(db.url());
  ASSERT_TRUE(board);
  auto conn = PgTestConnect(db.url());
  auto columns = conn->Exec(
      "SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns "
      "WHERE table_name IN ('items', 'scores') ORDER BY table_name, ordinal_position");
  ASSERT_TRUE(columns);
  std::vector<std::string> seen;
  for (const PgRow& row : columns->rows) {
    seen.push_back(*row[0]);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "items.board:text", "items.item_key:text", "items.source_key:text",
                      "items.source_url:text", "items.fields:jsonb",
                      "items.source_updated_at:timestamp with time zone",
                      "items.synced_at:timestamp with time zone",
                      "items.archived_at:timestamp with time zone", "scores.board:text",
                      "scores.item_key:text", "scores.name:text", "scores.value:jsonb",
                      "scores.updated_at:timestamp with time zone"}));
  EXPECT_EQ(One(*conn, "SELECT version FROM boardsync_schema WHERE component = 'board'"), "2");
  EXPECT_EQ(One(*conn, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'scores'::regclass "
                       "AND NOT tgisinternal"),
            "2");
  // Written as JSONB and timestamptz, not as text.
  std::vector<BoardWrite> writes = {Upsert("c:2-1", kT0, 4.5)};
  ASSERT_TRUE(board->Apply(writes));
  EXPECT_EQ(One(*conn, "SELECT jsonb_typeof(fields->'tag') || ' ' || "
                       "extract(epoch FROM source_updated_at)::bigint FROM items"),
            "number 1714557600");
  // Opening again migrates nothing and keeps what is there.
  board = OpenBoard(db.url());
  ASSERT_TRUE(board);
  EXPECT_EQ(One(*conn, "SELECT count(*) FROM items"), "1");
}

TEST(PostgresBoardTest, ADatabaseOfSchemaVersion1IsMigratedAndItsScoresRead) {
  PgTestDatabase db;
  auto conn = PgTestConnect(db.url());
  // What version 1 made: the two tables, no change log; the board
  // application has written scores since.
  MustExec(*conn,
           "CREATE TABLE boardsync_schema (component text PRIMARY KEY, version integer NOT NULL, "
           "migrated_at timestamptz NOT NULL DEFAULT clock_timestamp())");
  MustExec(*conn, "INSERT INTO boardsync_schema (component, version) VALUES ('board', 1)");
  MustExec(*conn,
           "CREATE TABLE items (board text NOT NULL, item_key text NOT NULL, source_key text NOT "
           "NULL, source_url text NOT NULL, fields jsonb NOT NULL, source_updated_at timestamptz "
           "NOT NULL, synced_at timestamptz NOT NULL, archived_at timestamptz, PRIMARY KEY "
           "(board, item_key))");
  MustExec(*conn,
           "CREATE TABLE scores (board text NOT NULL, item_key text NOT NULL, name text NOT "
           "NULL, value jsonb, updated_at timestamptz, PRIMARY KEY (board, item_key, name))");
  MustExec(*conn,
           "INSERT INTO items VALUES ('roadmap', 'c:2-1', 'RAP-1', 'u', '{\"tag\": \"v1\"}', "
           "'2024-05-02T10:00:00Z', now(), NULL)");
  MustExec(*conn,
           "INSERT INTO scores VALUES ('roadmap', 'c:2-1', 'score', '7', "
           "'2024-05-02T10:00:00Z'), ('roadmap', 'c:2-2', 'score', '\"high\"', "
           "'2024-05-01T10:00:00Z')");

  auto board = OpenBoard(db.url());
  ASSERT_TRUE(board);
  EXPECT_EQ(One(*conn, "SELECT version FROM boardsync_schema WHERE component = 'board'"), "2");
  // The scores written before the log existed are read, oldest first.
  auto page = board->ReadScores("roadmap", "", 10);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->scores,
            (std::vector<BoardScore>{
                BoardScore{"c:2-2", "score", Value("high"), "2024-05-01T10:00:00.000Z"},
                BoardScore{"c:2-1", "score", Value(7), "2024-05-02T10:00:00.000Z"}}));
  // The item of version 1 keeps its version rules.
  std::vector<BoardWrite> older = {Upsert("c:2-1", kT0, "older")};
  ASSERT_TRUE(board->Apply(older));
  EXPECT_EQ(One(*conn, "SELECT fields->>'tag' FROM items"), "v1");
  // And changes from now on are logged.
  MustExec(*conn, "UPDATE scores SET value = '8' WHERE item_key = 'c:2-1'");
  auto next = board->ReadScores("roadmap", page->next, 10);
  ASSERT_TRUE(next);
  ASSERT_EQ(next->scores.size(), 1u);
  EXPECT_EQ(next->scores[0].value, Value(8));
}

TEST(PostgresBoardTest, ADatabaseOfANewerSchemaIsRefusedAndLeftAlone) {
  PgTestDatabase db;
  auto conn = PgTestConnect(db.url());
  MustExec(*conn,
           "CREATE TABLE boardsync_schema (component text PRIMARY KEY, version integer NOT NULL, "
           "migrated_at timestamptz NOT NULL DEFAULT clock_timestamp())");
  MustExec(*conn, "INSERT INTO boardsync_schema (component, version) VALUES ('board', 3)");
  auto board = PostgresBoard::Open(Secret(db.url()));
  ASSERT_FALSE(board);
  EXPECT_EQ(board.error().code, ErrorCode::kStorage);
  EXPECT_FALSE(board.error().retriable);
  EXPECT_EQ(board.error().message,
            "board store: the PostgreSQL database at 127.0.0.1:" + std::to_string(db.port()) +
                "/" + db.name() +
                " holds version 3 of boardsync's board schema, newer than this boardsync knows "
                "(2): a newer boardsync migrated it; upgrade this one, or give it another "
                "database");
  EXPECT_EQ(One(*conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('items', 'scores', "
                       "'score_changes')"),
            "0");
}

TEST(PostgresBoardTest, NoErrorShowsThePasswordWrongPasswordRefusedOrServerDown) {
  // Wrong password and a refused connection.
  PgTestDatabase db;
  const std::string port = std::to_string(db.port());
  auto wrong = PostgresBoard::Open(
      Secret("postgresql://boardsync:pw-canary-wrong-c41f9e@127.0.0.1:" + port + "/" + db.name()));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kAuth);
  EXPECT_EQ(wrong.error().message,
            "board store: cannot connect to the PostgreSQL database at 127.0.0.1:" + port + "/" +
                db.name() + ": password authentication failed for user \"boardsync\"");
  auto refused = PostgresBoard::Open(Secret("postgresql://boardsync:pw-canary-refused-0d2b@"
                                            "127.0.0.1:1/boards?connect_timeout=2"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(refused.error().retriable);
  ExpectNoSecret(refused.error().message);

  // A server that goes down under an open store, and comes back: a cluster
  // of this test's own.
  auto cluster = PgCluster::Start();
  {
    auto admin = PgTestConnect(cluster->admin_url());
    MustExec(*admin, "CREATE DATABASE boards OWNER boardsync");
  }
  const std::string url = "postgresql://boardsync:" + std::string(kPgTestPassword) +
                          "@127.0.0.1:" + std::to_string(cluster->port()) + "/boards";
  auto board = OpenBoard(url);
  ASSERT_TRUE(board);
  cluster->Stop();
  std::vector<BoardWrite> writes = {Upsert("c:2-1", kT0, "a")};
  auto down = board->Apply(writes);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(down.error().retriable);
  ExpectNoSecret(down.error().message);
  ExpectNoSecret(Redact(down.error().message));
  auto scores = board->ReadScores("roadmap", "", 10);
  ASSERT_FALSE(scores);
  EXPECT_TRUE(scores.error().retriable);
  EXPECT_NE(scores.error().message.find("127.0.0.1:" + std::to_string(cluster->port()) + "/boards"),
            std::string::npos)
      << scores.error().message;
  ExpectNoSecret(scores.error().message);
  auto closed = PostgresBoard::Open(Secret(url));
  ASSERT_FALSE(closed);
  ExpectNoSecret(closed.error().message);
  // Back: the same store connects again and writes.
  cluster->Resume();
  auto again = board->Apply(writes);
  ASSERT_TRUE(again) << again.error().message;
  auto conn = PgTestConnect(url);
  EXPECT_EQ(One(*conn, "SELECT count(*) FROM items"), "1");
}

TEST(PostgresBoardTest, TlsSettingsOfTheUrlAreHonoured) {
  PgTestDatabase db;
  // The test server offers no TLS: a URL that requires it must not fall back.
  auto required = PostgresBoard::Open(Secret(db.url() + "?sslmode=require"));
  ASSERT_FALSE(required);
  EXPECT_EQ(required.error().code, ErrorCode::kConfig);
  EXPECT_FALSE(required.error().retriable);
  EXPECT_NE(required.error().message.find("server does not support SSL, but SSL was required"),
            std::string::npos)
      << required.error().message;
  ExpectNoSecret(required.error().message);
  auto verify = PostgresBoard::Open(
      Secret(db.url() + "?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"));
  ASSERT_FALSE(verify);
  EXPECT_EQ(verify.error().code, ErrorCode::kConfig);
  // Without TLS by choice, it connects.
  EXPECT_TRUE(OpenBoard(db.url() + "?sslmode=disable"));
  EXPECT_TRUE(OpenBoard(db.url() + "?sslmode=prefer"));
}

TEST(PostgresBoardTest, ABatchIsOneStatementWhateverItsSize) {
  PgTestDatabase db;
  auto board = OpenBoard(db.url());
  auto conn = PgTestConnect(db.url());
  // A statement-level trigger counts the statements that write `items`;
  // writing item by item would fire it once (or twice) per item.
  MustExec(*conn, "CREATE TABLE statements (n int)");
  MustExec(*conn,
           "CREATE FUNCTION count_statement() RETURNS trigger LANGUAGE plpgsql AS $$ "
           "BEGIN INSERT INTO statements VALUES (1); RETURN NULL; END $$");
  MustExec(*conn,
           "CREATE TRIGGER count_statements AFTER INSERT OR UPDATE OR DELETE ON items "
           "FOR EACH STATEMENT EXECUTE FUNCTION count_statement()");
  std::vector<BoardWrite> first;
  for (int i = 0; i < 40; ++i) {
    first.push_back(Upsert("c:2-" + std::to_string(i), kT0, i));
  }
  ASSERT_TRUE(board->Apply(first));
  EXPECT_EQ(One(*conn, "SELECT count(*) FROM items"), "40");
  // One UPDATE (the rows there) and one INSERT (the new ones).
  EXPECT_EQ(One(*conn, "SELECT count(*) FROM statements"), "2");
  std::vector<BoardWrite> second;
  for (int i = 0; i < 60; ++i) {
    second.push_back(i % 3 == 0 ? Archive("c:2-" + std::to_string(i), kT0 + 1)
                                : Upsert("c:2-" + std::to_string(i), kT0 + 1, i * 10));
  }
  ASSERT_TRUE(board->Apply(second));
  EXPECT_EQ(One(*conn, "SELECT count(*) FROM statements"), "4");
  EXPECT_EQ(One(*conn, "SELECT count(*) FROM items WHERE archived_at IS NOT NULL"), "14");
  EXPECT_EQ(One(*conn, "SELECT count(*) FROM items"), "54");  // archives of unknown items: none
}

TEST(PostgresBoardTest, DataTheServerRefusesIsNarrowedDownToTheWriteAtFault) {
  PgTestDatabase db;
  auto board = OpenBoard(db.url());
  std::vector<BoardWrite> writes;
  for (int i = 0; i < 7; ++i) {
    writes.push_back(Upsert("c:2-" + std::to_string(i), kT0, i));
  }
  writes[4].item.fields.clear();
  writes[4].item.fields_json = "{\"tag\": not json";  // the outbox's JSON, broken
  writes[5].item.source_updated_at = "yesterday";
  auto applied = board->Apply(writes);
  ASSERT_TRUE(applied) << applied.error().message;
  ASSERT_EQ(applied->size(), 2u);
  EXPECT_EQ((*applied)[0].index, 4u);
  EXPECT_NE((*applied)[0].message.find("invalid input syntax for type json"), std::string::npos)
      << (*applied)[0].message;
  EXPECT_EQ((*applied)[1].index, 5u);
  EXPECT_EQ((*applied)[1].message,
            "the PostgreSQL board refuses item c:2-5: source_updated_at \"yesterday\" is not an "
            "ISO-8601 time");
  auto conn = PgTestConnect(db.url());
  EXPECT_EQ(One(*conn, "SELECT string_agg(item_key, ',' ORDER BY item_key) FROM items"),
            "c:2-0,c:2-1,c:2-2,c:2-3,c:2-6");
}

TEST(PostgresBoardTest, TwoWritersAtOnceNeverLeaveAnOlderVersionOverANewerOne) {
  PgTestDatabase db;
  auto setup = OpenBoard(db.url());
  ASSERT_TRUE(setup);
  // Each writer sends, for the same few items, versions in a random order,
  // fields tagged with the version; new items every round race to be
  // inserted first.
  constexpr int kRounds = 60;
  std::atomic<std::int64_t> newest[kRounds][4] = {};
  auto writer = [&](unsigned seed) {
    auto board = OpenBoard(db.url());
    std::mt19937 random(seed);
    for (int round = 0; round < kRounds; ++round) {
      std::vector<BoardWrite> batch;
      for (int k = 0; k < 4; ++k) {
        for (int n = 0; n < 3; ++n) {
          const std::int64_t version = kT0 + static_cast<std::int64_t>(random() % 1000) * 1000;
          batch.push_back(
              Upsert("r" + std::to_string(round) + "-" + std::to_string(k), version, version));
          std::int64_t seen = newest[round][k].load();
          while (seen < version && !newest[round][k].compare_exchange_weak(seen, version)) {
          }
        }
      }
      std::shuffle(batch.begin(), batch.end(), random);
      auto applied = board->Apply(batch);
      ASSERT_TRUE(applied) << applied.error().message;
      ASSERT_TRUE(applied->empty());
    }
  };
  std::thread a(writer, 1), b(writer, 2), c(writer, 3);
  a.join();
  b.join();
  c.join();
  auto conn = PgTestConnect(db.url());
  auto rows = conn->Exec(
      "SELECT item_key, (extract(epoch FROM source_updated_at) * 1000)::bigint::text, "
      "fields->>'tag' FROM items");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), static_cast<std::size_t>(kRounds * 4));
  for (const PgRow& row : rows->rows) {
    const std::string& key = *row[0];
    const int round = std::stoi(key.substr(1, key.find('-') - 1));
    const int k = std::stoi(key.substr(key.find('-') + 1));
    const std::string newest_text = std::to_string(newest[round][k].load());
    EXPECT_EQ(*row[1], newest_text) << key;
    EXPECT_EQ(*row[2], newest_text) << key;  // the fields of that version
  }
}

// A board application's session.
class App {
 public:
  explicit App(const std::string& url) : conn_(PgTestConnect(url)) {}
  void Exec(std::string_view sql, std::initializer_list<PgParam> params = {}) {
    auto result = conn_->Exec(sql, params);
    ASSERT_TRUE(result) << result.error().message;
  }
  void Set(const std::string& key, const std::string& json) {
    Exec("INSERT INTO scores (board, item_key, name, value, updated_at) "
         "VALUES ('roadmap', $1, 'score', $2::jsonb, '2024-05-01T10:00:00Z') "
         "ON CONFLICT (board, item_key, name) DO UPDATE SET value = excluded.value",
         {key, json});
  }
  PgConnection& conn() { return *conn_; }

 private:
  std::unique_ptr<PgConnection> conn_;
};

ScorePage Read(PostgresBoard& board, const std::string& since, std::size_t limit = 100) {
  auto page = board.ReadScores("roadmap", since, limit);
  EXPECT_TRUE(page) << page.error().message;
  return page ? *page : ScorePage{};
}

TEST(PostgresBoardTest, AChangeCommittedAfterALaterOneIsNotPassedOver) {
  PgTestDatabase db;
  auto board = OpenBoard(db.url());
  App first(db.url()), second(db.url());
  // The first transaction logs its change before the second, and commits
  // after it: by log order alone a reader would read the second, move past
  // the first, and never see it.
  first.Exec("BEGIN");
  first.Set("yt:2-1", "1");
  second.Set("yt:2-2", "2");
  ScorePage held = Read(*board, "");
  EXPECT_TRUE(held.scores.empty());  // 2-2 waits until 2-1's transaction ends
  first.Exec("COMMIT");
  ScorePage page = Read(*board, held.next);
  ASSERT_EQ(page.scores.size(), 2u);
  EXPECT_EQ(page.scores[0].item_key, "yt:2-1");
  EXPECT_EQ(page.scores[1].item_key, "yt:2-2");
  // A transaction that rolls back holds the reader back while it runs,
  // and leaves nothing.
  first.Exec("BEGIN");
  first.Set("yt:2-3", "3");
  second.Set("yt:2-4", "4");
  EXPECT_TRUE(Read(*board, page.next).scores.empty());
  first.Exec("ROLLBACK");
  ScorePage after = Read(*board, page.next);
  ASSERT_EQ(after.scores.size(), 1u);
  EXPECT_EQ(after.scores[0].item_key, "yt:2-4");
}

TEST(PostgresBoardTest, ATransactionOpenInAnotherDatabaseDoesNotHoldTheReaderBack) {
  PgTestDatabase db, other;
  auto board = OpenBoard(db.url());
  // Another role's session in another database, in a transaction with an
  // id: it cannot write this database's scores.
  auto elsewhere = PgTestConnect(other.admin_url());
  MustExec(*elsewhere, "BEGIN");
  EXPECT_NE(One(*elsewhere, "SELECT pg_current_xact_id()::text"), "(none)");
  App app(db.url());
  app.Set("yt:2-1", "1");
  EXPECT_EQ(Read(*board, "").scores.size(), 1u);
  // One of this database holds it back until it ends.
  App open(db.url());
  open.Exec("BEGIN");
  open.Exec("CREATE TABLE unrelated (a int)");
  app.Set("yt:2-2", "2");
  const std::string cursor = Read(*board, "").next;
  EXPECT_TRUE(Read(*board, cursor).scores.empty());
  open.Exec("COMMIT");
  EXPECT_EQ(Read(*board, cursor).scores.size(), 1u);
  MustExec(*elsewhere, "ROLLBACK");
}

TEST(PostgresBoardTest, ScoresReadWhileBoardApplicationsWriteAtOnceMissNoChange) {
  PgTestDatabase db;
  auto board = OpenBoard(db.url());
  std::atomic<bool> done{false};
  auto app = [&](unsigned seed) {
    App session(db.url());
    std::mt19937 random(seed);
    for (int i = 0; i < 150; ++i) {
      session.Exec("BEGIN");
      // Keys in any order: now and then a deadlock, and that transaction
      // rolls back, as an application's would.
      bool failed = false;
      for (int n = 0; n < 3 && !failed; ++n) {
        const std::string key = "yt:2-" + std::to_string(random() % 25);
        const std::string value = std::to_string(random() % 100000);
        auto done =
            random() % 5 == 0
                ? session.conn().Exec("DELETE FROM scores WHERE item_key = $1", {key})
                : session.conn().Exec(
                      "INSERT INTO scores (board, item_key, name, value) "
                      "VALUES ('roadmap', $1, 'score', $2::jsonb) ON CONFLICT "
                      "(board, item_key, name) DO UPDATE SET value = excluded.value",
                      {key, value});
        failed = !done;
      }
      if (random() % 3 == 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(random() % 3000));
      }
      if (failed || !session.conn().Exec("COMMIT")) {
        session.Exec("ROLLBACK");
      }
    }
  };
  std::map<std::string, Value> seen;
  std::string cursor;
  auto reader = [&] {
    while (true) {
      const bool last = done.load();
      ScorePage page = Read(*board, cursor, 7);
      for (const BoardScore& score : page.scores) {
        seen[score.item_key] = score.value;
      }
      cursor = page.next;
      if (page.scores.empty() && last) {
        return;
      }
    }
  };
  std::thread r(reader);
  std::thread a(app, 11), b(app, 12), c(app, 13);
  a.join();
  b.join();
  c.join();
  done = true;
  r.join();
  // What the reader put together is the table as it is.
  auto conn = PgTestConnect(db.url());
  auto rows = conn->Exec("SELECT item_key, value::text FROM scores WHERE board = 'roadmap'");
  ASSERT_TRUE(rows);
  std::map<std::string, Value> table;
  for (const PgRow& row : rows->rows) {
    table[*row[0]] = *ParseJson(*row[1]);
  }
  for (const auto& [key, value] : seen) {
    if (!table.contains(key)) {
      EXPECT_TRUE(value.IsNull()) << key << " was removed, read as " << value.ToJson();
    }
  }
  for (const auto& [key, value] : table) {
    EXPECT_EQ(seen[key], value) << key;
  }
  EXPECT_FALSE(seen.empty());
}

TEST(PostgresBoardTest, ABoardApplicationUnderAnotherRoleNeedsNoRightsOnTheLog) {
  PgTestDatabase db;
  auto board = OpenBoard(db.url());
  auto admin = PgTestConnect(db.admin_url());
  const std::string role = "app_" + db.name();
  MustExec(*admin, "CREATE ROLE " + role + " LOGIN PASSWORD 'pw-canary-app-5521'");
  MustExec(*admin, "GRANT SELECT, INSERT, UPDATE, DELETE ON scores TO " + role);
  App app("postgresql://" + role + ":pw-canary-app-5521@127.0.0.1:" + std::to_string(db.port()) +
          "/" + db.name());
  app.Set("yt:2-1", "5");
  app.Exec("DELETE FROM scores");
  app.Set("yt:2-2", "\"six\"");
  ScorePage page = Read(*board, "");
  ASSERT_EQ(page.scores.size(), 2u);
  EXPECT_TRUE(page.scores[0].value.IsNull());
  EXPECT_EQ(page.scores[1].value, Value("six"));
  MustExec(*admin, "DROP OWNED BY " + role);
  MustExec(*admin, "DROP ROLE " + role);
}

TEST(PostgresBoardTest, TruncateAndATableMadeAgainAreSeen) {
  PgTestDatabase db;
  auto board = OpenBoard(db.url());
  App app(db.url());
  app.Set("yt:2-1", "1");
  app.Set("yt:2-2", "2");
  std::string cursor = Read(*board, "").next;
  app.Exec("TRUNCATE scores");
  ScorePage page = Read(*board, cursor);
  ASSERT_EQ(page.scores.size(), 2u);
  EXPECT_TRUE(page.scores[0].value.IsNull());
  EXPECT_TRUE(page.scores[1].value.IsNull());
  cursor = page.next;

  // The application makes its table again (the triggers go with the old
  // one), with another type for the value, and writes before boardsync
  // reads again: all is read again, and watched from then on.
  app.Exec("DROP TABLE scores");
  app.Exec("CREATE TABLE scores (board text, item_key text, name text, value numeric, "
           "updated_at timestamptz, PRIMARY KEY (board, item_key, name))");
  app.Exec("INSERT INTO scores VALUES ('roadmap', 'yt:2-1', 'score', 9.5, now())");
  page = Read(*board, cursor);
  ASSERT_EQ(page.scores.size(), 2u);
  EXPECT_EQ(page.scores[0].item_key, "yt:2-2");  // gone: no updated_at, first
  EXPECT_TRUE(page.scores[0].value.IsNull());
  EXPECT_EQ(page.scores[1].value, Value(9.5));
  app.Exec("UPDATE scores SET value = 10");
  page = Read(*board, page.next);
  ASSERT_EQ(page.scores.size(), 1u);
  EXPECT_EQ(page.scores[0].value, Value(10));
}

TEST(PostgresBoardTest, ScoreValuesOfEveryJsonKind) {
  PgTestDatabase db;
  auto board = OpenBoard(db.url());
  App app(db.url());
  const std::pair<const char*, Value> cases[] = {
      {"\"42\"", Value("42")},
      {"4.0", Value(4.0)},
      {"-17", Value(-17)},
      {"1e3", Value(1000)},  // JSONB keeps no exponent: 1000
      {"12345678901234567890", Value(12345678901234567890.0)},
      {"true", Value("true")},
      {"[1, 2]", Value("[1, 2]")},
      {"{\"a\": 1}", Value("{\"a\": 1}")},
      {"null", Value()},
      {"\"caf\\u00e9\"", Value("café")},
  };
  int n = 0;
  for (const auto& [json, value] : cases) {
    app.Set("yt:2-" + std::to_string(n++), json);
  }
  ScorePage page = Read(*board, "");
  ASSERT_EQ(page.scores.size(), std::size(cases));
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(page.scores[i].value, cases[i].second) << cases[i].first;
  }
  EXPECT_TRUE(page.scores[1].value.IsDouble());
  EXPECT_EQ(page.scores[0].updated_at, "2024-05-01T10:00:00.000Z");
}

TEST(PostgresBoardTest, ACursorOfAnotherDatabaseReadsFromTheStart) {
  PgTestDatabase db;
  auto board = OpenBoard(db.url());
  App app(db.url());
  app.Set("yt:2-1", "1");
  ScorePage page = Read(*board, "999999999999-5");
  EXPECT_EQ(page.scores.size(), 1u);
  EXPECT_TRUE(Read(*board, "").next != "");
  EXPECT_FALSE(board->ReadScores("roadmap", "12-x", 1));
  EXPECT_FALSE(board->ReadScores("roadmap", "12", 1));
}

}  // namespace
}  // namespace boardsync

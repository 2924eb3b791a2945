// PgConnection against a real PostgreSQL 15 (tests/support/pg_cluster.h):
// parameters and rows, errors by code and never with the password,
// transactions and their retries, migrations.
#include "connectors/postgres/pg.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/redact.h"
#include "tests/support/pg_cluster.h"

namespace boardsync {
namespace {

void ExpectNoPassword(const std::string& message) {
  EXPECT_EQ(message.find(kPgTestPassword), std::string::npos) << message;
  EXPECT_EQ(message.find("pw-canary"), std::string::npos) << message;
  EXPECT_EQ(message.find("postgresql://"), std::string::npos) << message;
}

TEST(PgTest, ExecSendsTextParametersAndReturnsRowsWithNulls) {
  PgTestDatabase db;
  auto conn = PgTestConnect(db.url());
  ASSERT_TRUE(conn);
  auto rows = conn->Exec("SELECT $1::text, $2::int + 1, NULL::text, $3::text IS NULL",
                         {"héllo 'quoted'", "41", std::nullopt});
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->rows.size(), 1u);
  const PgRow& row = rows->rows[0];
  ASSERT_EQ(row.size(), 4u);
  EXPECT_EQ(row[0], "héllo 'quoted'");
  EXPECT_EQ(row[1], "42");
  EXPECT_EQ(row[2], std::nullopt);
  EXPECT_EQ(row[3], "t");

  ASSERT_TRUE(conn->ExecScript("CREATE TABLE t (k text PRIMARY KEY, v int); "
                               "INSERT INTO t VALUES ('a', 1), ('b', 2), ('c', 3)"));
  auto updated = conn->Exec("UPDATE t SET v = v + 1 WHERE v >= $1::int", {"2"});
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->affected, 2);
  EXPECT_TRUE(updated->rows.empty());
  EXPECT_EQ(conn->where(), "127.0.0.1:" + std::to_string(db.port()) + "/" + db.name());
}

TEST(PgTest, ErrorsCarryACodeAndTheSqlstateButNeverThePassword) {
  PgTestDatabase db;
  auto conn = PgTestConnect(db.url());
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->ExecScript("CREATE TABLE t (k text PRIMARY KEY)"));
  ASSERT_TRUE(conn->Exec("INSERT INTO t VALUES ($1)", {kPgTestPassword}));
  auto duplicate = conn->Exec("INSERT INTO t VALUES ($1)", {kPgTestPassword});
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, ErrorCode::kStorage);
  EXPECT_FALSE(duplicate.error().retriable);
  EXPECT_EQ(conn->last_sqlstate(), "23505");
  EXPECT_NE(duplicate.error().message.find("SQLSTATE 23505"), std::string::npos);
  ExpectNoPassword(Redact(duplicate.error().message));
  // The password itself as data in a server message: redacted all the same.
  auto echoed = conn->Exec("SELECT $1::int", {kPgTestPassword});
  ASSERT_FALSE(echoed);
  EXPECT_EQ(conn->last_sqlstate(), "22P02");
  ExpectNoPassword(echoed.error().message);

  auto denied = conn->Exec("ALTER SYSTEM SET work_mem = '8MB'");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kAuth);

  // The connection goes on after failures, and a success clears the SQLSTATE.
  ASSERT_TRUE(conn->Exec("SELECT 1"));
  EXPECT_EQ(conn->last_sqlstate(), "");
}

TEST(PgTest, AWrongPasswordIsAnAuthErrorThatNamesTheDatabaseNotTheUrl) {
  PgTestDatabase db;
  const std::string wrong = "pw-canary-wrong-77e1a0c4";
  auto conn = PgConnection::Open(Secret("postgresql://" + std::string(kPgTestUser) + ":" + wrong +
                                        "@127.0.0.1:" + std::to_string(db.port()) + "/" +
                                        db.name()));
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kAuth);
  EXPECT_FALSE(conn.error().retriable);
  EXPECT_NE(conn.error().message.find("127.0.0.1:" + std::to_string(db.port()) + "/" + db.name()),
            std::string::npos)
      << conn.error().message;
  EXPECT_NE(conn.error().message.find(": password authentication failed for user \"boardsync\""),
            std::string::npos)
      << conn.error().message;
  EXPECT_EQ(conn.error().message.find(wrong), std::string::npos) << conn.error().message;
  ExpectNoPassword(conn.error().message);
}

TEST(PgTest, ARefusedConnectionIsRetriableAndANameOnlyTheDatabase) {
  // A port nothing listens on: bound and closed again.
  const std::string url = "postgresql://boardsync:pw-canary-refused-31d9@127.0.0.1:1/boardsync";
  auto conn = PgConnection::Open(Secret(url));
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(conn.error().retriable);
  EXPECT_EQ(conn.error().message,
            "cannot connect to the PostgreSQL database at 127.0.0.1:1/boardsync: Connection "
            "refused Is the server running on that host and accepting TCP/IP connections?");
  ExpectNoPassword(conn.error().message);

  auto garbage = PgConnection::Open(Secret("postgresql://u:pw-canary-x%zz@h:notaport/db"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kConfig);
  EXPECT_EQ(garbage.error().message.find("pw-canary"), std::string::npos);
}

TEST(PgTest, AMissingDatabaseIsAConfigError) {
  PgTestDatabase db;
  auto conn = PgConnection::Open(Secret("postgresql://" + std::string(kPgTestUser) + ":" +
                                        kPgTestPassword + "@127.0.0.1:" +
                                        std::to_string(db.port()) + "/no_such_db"));
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kConfig);
  EXPECT_NE(conn.error().message.find("no_such_db"), std::string::npos);
  ExpectNoPassword(conn.error().message);
}

TEST(PgTest, ALostSessionFailsRetriablyAndTheNextStatementConnectsAgain) {
  PgTestDatabase db;
  auto conn = PgTestConnect(db.url());
  ASSERT_TRUE(conn);
  auto pid = conn->Exec("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid);
  auto admin = PgTestConnect(db.admin_url());
  ASSERT_TRUE(admin->Exec("SELECT pg_terminate_backend($1::int)", {*pid->rows[0][0]}));
  auto lost = conn->Exec("SELECT 1");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(lost.error().retriable);
  ExpectNoPassword(lost.error().message);
  auto again = conn->Exec("SELECT pg_backend_pid()");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_NE(again->rows[0][0], pid->rows[0][0]);
}

TEST(PgTest, ATransactionCommitsOrRollsBackWhole) {
  PgTestDatabase db;
  auto conn = PgTestConnect(db.url());
  ASSERT_TRUE(conn->ExecScript("CREATE TABLE t (k int PRIMARY KEY)"));
  auto failed = conn->Transaction([](PgConnection& c) -> Result<int> {
    if (auto a = c.Exec("INSERT INTO t VALUES (1)"); !a) {
      return std::unexpected(a.error());
    }
    return Fail(ErrorCode::kStorage, "changed my mind");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "changed my mind");
  auto ok = conn->Transaction([](PgConnection& c) -> Result<int> {
    if (auto a = c.Exec("INSERT INTO t VALUES (2)"); !a) {
      return std::unexpected(a.error());
    }
    return 2;
  });
  ASSERT_TRUE(ok);
  // A failed statement the body ignores: COMMIT rolls back, and says so.
  auto ignored = conn->Transaction([](PgConnection& c) -> Result<int> {
    (void)c.Exec("INSERT INTO t VALUES (3)");
    (void)c.Exec("INSERT INTO t VALUES (2)");  // duplicate: aborts the transaction
    return 0;
  });
  ASSERT_FALSE(ignored);
  auto rows = conn->Exec("SELECT k FROM t ORDER BY k");
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0][0], "2");
}

TEST(PgTest, ASerializationFailureRunsTheTransactionAgain) {
  PgTestDatabase db;
  auto conn = PgTestConnect(db.url());
  auto other = PgTestConnect(db.url());
  ASSERT_TRUE(conn->ExecScript("CREATE TABLE c (k int PRIMARY KEY, n int); "
                               "INSERT INTO c VALUES (1, 0)"));
  int runs = 0;
  auto done = conn->Transaction(
      [&](PgConnection& c) -> Result<int> {
        ++runs;
        auto read = c.Exec("SELECT n FROM c WHERE k = 1");
        if (!read) {
          return std::unexpected(read.error());
        }
        if (runs == 1) {
          // Another session changes the row after our snapshot was taken.
          EXPECT_TRUE(other->Exec("UPDATE c SET n = n + 10 WHERE k = 1"));
        }
        auto write = c.Exec("UPDATE c SET n = n + 1 WHERE k = 1");
        if (!write) {
          return std::unexpected(write.error());
        }
        return 0;
      },
      PgIsolation::kRepeatableRead);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(conn->Exec("SELECT n FROM c")->rows[0][0], "11");
}

TEST(PgTest, MigrationsRunOnceEachAndANewerVersionIsRefused) {
  PgTestDatabase db;
  auto conn = PgTestConnect(db.url());
  const std::string_view steps[] = {"CREATE TABLE m (a int)", "ALTER TABLE m ADD COLUMN b int"};
  ASSERT_TRUE(PgMigrate(*conn, "board", std::span(steps, 1)));
  ASSERT_TRUE(conn->Exec("INSERT INTO m VALUES (1)"));
  // From version 1 to 2; then nothing to do, also from another session.
  ASSERT_TRUE(PgMigrate(*conn, "board", steps));
  auto other = PgTestConnect(db.url());
  ASSERT_TRUE(PgMigrate(*other, "board", steps));
  auto rows = conn->Exec("SELECT a, b FROM m");
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0][1], std::nullopt);
  auto versions = conn->Exec("SELECT component, version FROM boardsync_schema");
  ASSERT_EQ(versions->rows.size(), 1u);
  EXPECT_EQ(versions->rows[0], (PgRow{"board", "2"}));
  // Another component has its own version in the same table.
  const std::string_view state_steps[] = {"CREATE TABLE s (a int)"};
  ASSERT_TRUE(PgMigrate(*conn, "state", state_steps));

  // A boardsync that knows only version 1 refuses the database.
  auto refused = PgMigrate(*conn, "board", std::span(steps, 1));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kStorage);
  EXPECT_FALSE(refused.error().retriable);
  EXPECT_NE(refused.error().message.find("holds version 2 of boardsync's board schema, newer than "
                                         "this boardsync knows (1)"),
            std::string::npos)
      << refused.error().message;

  // A failing step leaves the version where it was.
  const std::string_view bad[] = {"CREATE TABLE m (a int)", "ALTER TABLE m ADD COLUMN b int",
                                  "CREATE TABLE x (a int); SELECT 1/0"};
  auto failed = PgMigrate(*conn, "board", bad);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("migrating boardsync's board schema to version 3"),
            std::string::npos);
  EXPECT_EQ(conn->Exec("SELECT version FROM boardsync_schema WHERE component = 'board'")
                ->rows[0][0],
            "2");
  EXPECT_EQ(conn->Exec("SELECT to_regclass('x') IS NULL")->rows[0][0], "t");
}

TEST(PgTest, MigratingFromManySessionsAtOnceMigratesOnce) {
  PgTestDatabase db;
  const std::string_view steps[] = {"CREATE TABLE m (a int)", "INSERT INTO m VALUES (1)"};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto conn = PgConnection::Open(Secret(db.url()));
      if (conn && PgMigrate(**conn, "board", steps)) {
        ++ok;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok, 4);
  auto conn = PgTestConnect(db.url());
  EXPECT_EQ(conn->Exec("SELECT count(*) FROM m")->rows[0][0], "1");
}

}  // namespace
}  // namespace boardsync

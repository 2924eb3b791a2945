// What is particular to PostgresState (the contract itself is in
// state_contract_test.cc): replicas racing for a lease, a takeover waiting
// for a fenced write, connections that never wait for one another, the
// schema's version, and errors that never hold the password.
#include "connectors/postgres/postgres_state.h"

#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <future>
#include <thread>

#include "connectors/postgres/pg.h"
#include "tests/support/pg_cluster.h"

namespace boardsync {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<PostgresState> OpenState(const std::string& url) {
  auto state = PostgresState::Open(Secret(url));
  EXPECT_TRUE(state) << state.error().message;
  return state ? std::move(*state) : nullptr;
}

StagedWrite Upsert(const std::string& key, const std::string& title) {
  StagedWrite staged;
  staged.write.item.board = "roadmap";
  staged.write.item.item_key = key;
  staged.write.item.source_key = "RAP-1";
  staged.write.item.source_updated_at = "2024-05-01T10:00:00.000Z";
  staged.write.item.fields.emplace("title", title);
  staged.content_hash = "h-" + title;
  return staged;
}

void ExpectNoPassword(const std::string& message) {
  EXPECT_EQ(message.find(kPgTestPassword), std::string::npos) << message;
  EXPECT_EQ(message.find("pw-canary"), std::string::npos) << message;
  EXPECT_EQ(message.find("postgresql://"), std::string::npos) << message;
}

// Ends `conn`'s open transaction when it goes. Declared after the futures
// that may wait for that transaction, so that a failed assertion does not
// leave them (and the test) waiting for ever.
class EndTransaction {
 public:
  explicit EndTransaction(PgConnection& conn) : conn_(conn) {}
  ~EndTransaction() { (void)conn_.Exec("ROLLBACK"); }
  EndTransaction(const EndTransaction&) = delete;
  EndTransaction& operator=(const EndTransaction&) = delete;

 private:
  PgConnection& conn_;
};

// Sessions of this database waiting for a lock.
int Waiting(PgConnection& admin) {
  auto rows = admin.Exec(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
      "AND wait_event_type = 'Lock'");
  EXPECT_TRUE(rows) << rows.error().message;
  return rows ? std::stoi(rows->rows.at(0)[0].value_or("0")) : -1;
}

// Waits (up to 10 s) until `n` sessions wait for a lock.
bool AwaitWaiting(PgConnection& admin, int n) {
  for (int i = 0; i < 1000; ++i) {
    if (Waiting(admin) >= n) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

TEST(PostgresStateTest, ReplicasRacingForALeaseLeaveExactlyOneHolder) {
  PgTestDatabase db;
  constexpr int kReplicas = 6;
  std::vector<std::unique_ptr<PostgresState>> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.push_back(OpenState(db.url()));
    ASSERT_TRUE(replicas.back());
  }
  // Rounds over a new connection (the row is inserted in the race) and over
  // an expired lease (the row is updated in the race).
  std::vector<std::string> rounds = {"new-1", "new-2", "new-3", "expired-1", "expired-2"};
  for (const std::string& connection : rounds) {
    if (connection.starts_with("expired")) {
      auto old = replicas[0]->AcquireLease(connection, "old:1", milliseconds(1));
      ASSERT_TRUE(old && *old);
      std::this_thread::sleep_for(milliseconds(20));
    }
    std::barrier start(kReplicas);
    std::vector<std::future<Result<std::optional<Lease>>>> tries;
    for (int i = 0; i < kReplicas; ++i) {
      tries.push_back(std::async(std::launch::async, [&, i] {
        start.arrive_and_wait();
        return replicas[i]->AcquireLease(connection, "host-" + std::to_string(i) + ":1",
                                         std::chrono::seconds(30));
      }));
    }
    std::vector<Lease> won;
    for (auto& attempt : tries) {
      auto lease = attempt.get();
      ASSERT_TRUE(lease) << lease.error().message;
      if (*lease) {
        won.push_back(**lease);
      }
    }
    ASSERT_EQ(won.size(), 1u) << connection;
    auto leases = replicas[0]->Leases().value();
    auto held = std::find_if(leases.begin(), leases.end(),
                             [&](const LeaseHolder& l) { return l.connection == connection; });
    ASSERT_NE(held, leases.end());
    EXPECT_EQ(held->holder, won[0].holder);
    EXPECT_EQ(held->epoch, won[0].epoch);
    EXPECT_EQ(won[0].epoch, connection.starts_with("expired") ? 2 : 1);
  }
}

// A fenced write that checked its lease holds it until it commits: a
// takeover of the lease waits for it, even past the lease's expiry, and
// the old holder's next write is refused.
TEST(PostgresStateTest, ATakeoverWaitsForTheFencedWriteInFlight) {
  PgTestDatabase db;
  auto a = OpenState(db.url());
  auto b = OpenState(db.url());
  auto admin = PgTestConnect(db.admin_url());
  auto blocker = PgTestConnect(db.url());
  ASSERT_TRUE(a && b && admin && blocker);
  const SyncCursor first{1000, "f", 0};
  ASSERT_TRUE(a->Stage("c", {}, &first));
  auto lease = a->AcquireLease("c", "host-a:1", milliseconds(800)).value();
  ASSERT_TRUE(lease);
  a->Fence(*lease);

  // Another session holds the cursor's row: a's Stage, past its fence
  // check, waits there.
  std::future<Result<void>> staging;
  std::future<Result<std::optional<Lease>>> takeover;
  EndTransaction unblock(*blocker);
  ASSERT_TRUE(blocker->Exec("BEGIN"));
  ASSERT_TRUE(blocker->Exec("SELECT 1 FROM state_cursors WHERE connection = 'c' FOR UPDATE"));
  const SyncCursor second{2000, "f", 0};
  staging = std::async(std::launch::async, [&] {
    return a->Stage("c", std::vector<StagedWrite>{Upsert("c:1", "a")}, &second);
  });
  ASSERT_TRUE(AwaitWaiting(*admin, 1));

  // The lease expires meanwhile; b's takeover waits for a's transaction.
  std::this_thread::sleep_for(milliseconds(1000));
  takeover = std::async(std::launch::async, [&] {
    return b->AcquireLease("c", "host-b:2", std::chrono::seconds(30));
  });
  ASSERT_TRUE(AwaitWaiting(*admin, 2));
  EXPECT_EQ(takeover.wait_for(milliseconds(300)), std::future_status::timeout);

  ASSERT_TRUE(blocker->Exec("COMMIT"));
  auto staged = staging.get();
  EXPECT_TRUE(staged) << staged.error().message;
  auto taken = takeover.get();
  ASSERT_TRUE(taken) << taken.error().message;
  ASSERT_TRUE(*taken);
  EXPECT_GT((*taken)->epoch, lease->epoch);
  EXPECT_EQ(b->Cursor("c").value()->updated_ms, 2000);
  EXPECT_EQ(b->PendingCount("c").value(), 1u);

  // From then on a is fenced off.
  const SyncCursor back{500, "f", 0};
  auto stale = a->Stage("c", std::vector<StagedWrite>{Upsert("c:1", "stale")}, &back);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kLocked);
  EXPECT_NE(stale.error().message.find("another holds it now"), std::string::npos)
      << stale.error().message;
  EXPECT_EQ(b->Cursor("c").value()->updated_ms, 2000);
  EXPECT_EQ(b->PendingCount("c").value(), 1u);
}

// Replicas sync different connections at once: a write of one connection
// never waits for another connection's transaction.
TEST(PostgresStateTest, AConnectionsWritesNeverWaitForAnothersTransaction) {
  PgTestDatabase db;
  auto a = OpenState(db.url());
  auto b = OpenState(db.url());
  auto blocker = PgTestConnect(db.url());
  ASSERT_TRUE(a && b && blocker);
  auto lease_a = a->AcquireLease("a", "host-a:1", std::chrono::seconds(30)).value();
  auto lease_b = b->AcquireLease("b", "host-b:2", std::chrono::seconds(30)).value();
  ASSERT_TRUE(lease_a && lease_b);
  a->Fence(*lease_a);
  b->Fence(*lease_b);
  const SyncCursor cursor{1000, "f", 0};
  ASSERT_TRUE(a->Stage("a", std::vector<StagedWrite>{Upsert("a:1", "x")}, &cursor));
  ASSERT_TRUE(b->Stage("b", std::vector<StagedWrite>{Upsert("b:1", "x")}, &cursor));

  // A transaction of connection a in flight, holding its rows and its lease.
  std::future<Result<void>> others;
  EndTransaction unblock(*blocker);
  ASSERT_TRUE(blocker->Exec("BEGIN"));
  ASSERT_TRUE(blocker->Exec("SELECT 1 FROM state_leases WHERE connection = 'a' FOR SHARE"));
  ASSERT_TRUE(blocker->Exec("SELECT 1 FROM state_cursors WHERE connection = 'a' FOR UPDATE"));
  ASSERT_TRUE(blocker->Exec("SELECT 1 FROM state_outbox WHERE connection = 'a' FOR UPDATE"));
  ASSERT_TRUE(blocker->Exec("SELECT 1 FROM state_items WHERE connection = 'a' FOR UPDATE"));
  ASSERT_TRUE(blocker->Exec("INSERT INTO state_outbox (connection, board, item_key, archive, "
                            "source_key, source_url, source_updated_at) "
                            "VALUES ('a', 'roadmap', 'a:9', true, '', '', '')"));

  others = std::async(std::launch::async, [&]() -> Result<void> {
    const SyncCursor next{2000, "f", 0};
    if (auto staged = b->Stage("b", std::vector<StagedWrite>{Upsert("b:1", "y"), Upsert("b:2", "z")},
                               &next);
        !staged) {
      return staged;
    }
    auto pending = b->Pending("b", 10);
    if (!pending) {
      return std::unexpected(pending.error());
    }
    std::vector<std::int64_t> seqs;
    for (const OutboxEntry& entry : *pending) {
      seqs.push_back(entry.seq);
    }
    if (auto parked = b->Park("b", std::vector<Refusal>{Refusal{seqs.back(), "no"}}); !parked) {
      return parked;
    }
    if (auto acked = b->Acknowledge("b", seqs); !acked) {
      return acked;
    }
    if (auto retried = b->RetryFailed("b"); !retried) {
      return std::unexpected(retried.error());
    }
    if (auto queued = b->StageWritebacks("b", std::vector<WritebackValue>{{"b:1", "Score", "1"}});
        !queued) {
      return std::unexpected(queued.error());
    }
    if (auto beat = b->Heartbeat("host-b:2", std::chrono::seconds(30)); !beat) {
      return std::unexpected(beat.error());
    }
    return b->SetBackoff("b", Backoff{1, 1});
  });
  ASSERT_EQ(others.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "connection b waited for connection a's transaction";
  auto done = others.get();
  EXPECT_TRUE(done) << done.error().message;
  ASSERT_TRUE(blocker->Exec("ROLLBACK"));
  EXPECT_EQ(b->Cursor("b").value()->updated_ms, 2000);
}

TEST(PostgresStateTest, TheSchemaIsMadeOnceAndANewerOneIsRefused) {
  PgTestDatabase db;
  ASSERT_TRUE(OpenState(db.url()));
  auto second = OpenState(db.url());  // already there: nothing to do
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->Stage("c", std::vector<StagedWrite>{Upsert("c:1", "a")}));
  auto admin = PgTestConnect(db.admin_url());
  ASSERT_TRUE(admin);
  auto version = admin->Exec("SELECT version FROM boardsync_schema WHERE component = 'state'");
  ASSERT_TRUE(version);
  ASSERT_EQ(version->rows.size(), 1u);
  EXPECT_EQ(version->rows[0][0], "1");

  ASSERT_TRUE(admin->Exec("UPDATE boardsync_schema SET version = 99 WHERE component = 'state'"));
  auto newer = PostgresState::Open(Secret(db.url()));
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code, ErrorCode::kStorage);
  EXPECT_NE(newer.error().message.find("state database"), std::string::npos)
      << newer.error().message;
  EXPECT_NE(newer.error().message.find("99"), std::string::npos) << newer.error().message;
  ExpectNoPassword(newer.error().message);
  EXPECT_EQ(second->PendingCount("c").value(), 1u);  // left as it was
}

TEST(PostgresStateTest, ErrorsNeverHoldThePassword) {
  PgTestDatabase db;
  // A wrong password (itself a canary), which the server refuses.
  std::string wrong = db.url();
  wrong.replace(wrong.find(kPgTestPassword), std::string(kPgTestPassword).size(),
                "pw-canary-wrong-71b0");
  auto refused = PostgresState::Open(Secret(wrong));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAuth);
  EXPECT_NE(refused.error().message.find("state database"), std::string::npos);
  ExpectNoPassword(refused.error().message);

  // Nobody listening.
  std::string down = db.url();
  const std::string port = ":" + std::to_string(db.port()) + "/";
  down.replace(down.find(port), port.size(), ":1/");
  auto unreachable = PostgresState::Open(Secret(down));
  ASSERT_FALSE(unreachable);
  EXPECT_EQ(unreachable.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(unreachable.error().retriable);
  ExpectNoPassword(unreachable.error().message);

  // A statement the server refuses (its table dropped underneath), and a
  // session the server ended.
  auto state = OpenState(db.url());
  ASSERT_TRUE(state);
  auto admin = PgTestConnect(db.admin_url());
  ASSERT_TRUE(admin);
  ASSERT_TRUE(admin->Exec("DROP TABLE state_outbox"));
  auto broken = state->Stage("c", std::vector<StagedWrite>{Upsert("c:1", kPgTestPassword)});
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, ErrorCode::kStorage);
  EXPECT_NE(broken.error().message.find("staging board writes"), std::string::npos)
      << broken.error().message;
  ExpectNoPassword(broken.error().message);
  ASSERT_TRUE(admin->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"));
  std::vector<std::string> keys = {"c:1"};
  auto lost = state->KnownItems("c", keys);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(lost.error().retriable);
  ExpectNoPassword(lost.error().message);
  // The next call connects again.
  auto known = state->KnownItems("c", keys);
  ASSERT_TRUE(known) << known.error().message;
}

}  // namespace
}  // namespace boardsync

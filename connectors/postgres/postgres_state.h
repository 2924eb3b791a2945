// PostgresState: the StateStore in a PostgreSQL database (`state.type:
// postgres`), shared by any number of `boardsync run` replicas (DESIGN §4.3).
// Leases live in the database and run on its clock; fenced writes check the
// lease in their own transaction. One instance per thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/secret.h"
#include "core/state_store.h"

namespace boardsync {

class PgConnection;

// The tables (README.md here) are `state_*`, beside the board's `items` and
// `scores` when both share a database; their schema version is the `state`
// component of boardsync_schema. Every write runs in one transaction and,
// for a batch, in one statement (a page's items and outbox rows go as a
// JSONB array; KnownItems() reads with `= ANY($2)`). Nothing takes a lock
// wider than one connection's rows, so replicas syncing different
// connections never wait for one another.
//
// Leases: a row per connection (holder, epoch, expires_at by
// clock_timestamp()); a released lease keeps its row and epoch with no
// holder. A fenced write starts its transaction by reading its lease row
// FOR SHARE, unexpired and with its holder and epoch: a takeover (an UPDATE
// of that row) then waits until the write commits, and a write after a
// takeover finds the row changed and fails with kLocked, changing nothing.
class PostgresState : public StateStore {
 public:
  // Connects (pg.h) and brings the tables up to this version's schema (a
  // newer one is refused). Errors are PgConnection's and PgMigrate()'s,
  // prefixed with "state database: "; none holds the URL or its password.
  static Result<std::unique_ptr<PostgresState>> Open(const Secret& url);
  ~PostgresState() override;

  Result<std::unordered_map<std::string, KnownItem>> KnownItems(
      std::string_view connection, std::span<const std::string> item_keys) override;
  Result<void> Stage(std::string_view connection, std::span<const StagedWrite> writes,
                     const SyncCursor* cursor = nullptr, const SeenItems* seen = nullptr,
                     const FailureChanges* failures = nullptr) override;
  Result<std::vector<IssueFailure>> Failures(std::string_view connection) override;
  Result<std::optional<SyncCursor>> Cursor(std::string_view connection) override;
  Result<std::optional<SavedSession>> Session(std::string_view connection) override;
  Result<void> SaveSession(std::string_view connection, const SavedSession& session) override;
  Result<void> MarkSeen(std::string_view connection, std::int64_t sweep,
                        std::span<const std::string> item_keys) override;
  Result<std::vector<ItemVersion>> LiveUnseen(std::string_view connection,
                                              std::int64_t sweep) override;
  Result<std::vector<OutboxEntry>> Pending(std::string_view connection,
                                           std::size_t limit) override;
  Result<std::size_t> PendingCount(std::string_view connection) override;
  Result<void> Acknowledge(std::string_view connection,
                           std::span<const std::int64_t> seqs) override;
  Result<void> Park(std::string_view connection, std::span<const Refusal> refused) override;
  Result<std::size_t> RetryFailed(std::string_view connection) override;
  Result<std::vector<RefusedItem>> Failed(std::string_view connection) override;

  Result<std::optional<ScoreCursor>> ScoreCursorOf(std::string_view connection) override;
  Result<std::vector<std::optional<std::string>>> Ledger(
      std::string_view connection, std::span<const WritebackValue> values) override;
  Result<std::size_t> StageWritebacks(std::string_view connection,
                                      std::span<const WritebackValue> values,
                                      const ScoreCursor* cursor = nullptr) override;
  Result<std::vector<QueuedWriteback>> QueuedWritebacks(std::string_view connection) override;
  Result<void> SettleWritebacks(std::string_view connection,
                                std::span<const QueuedWriteback> written) override;
  Result<void> RefuseWritebacks(std::string_view connection, std::span<const std::int64_t> seqs,
                                std::string_view message) override;
  Result<void> MarkWritebacksSent(std::string_view connection,
                                  std::span<const std::int64_t> seqs) override;
  Result<void> DropWritebacks(std::string_view connection,
                              std::span<const std::int64_t> seqs) override;
  Result<std::vector<WritebackFailure>> WritebackFailures(std::string_view connection) override;

  Result<void> RecordRun(const RunRecord& run) override;
  Result<std::optional<RunRecord>> LastRun(std::string_view connection) override;
  Result<void> RecordSyncBack(const SyncBackRecord& run) override;
  Result<std::optional<SyncBackRecord>> LastSyncBack(std::string_view connection) override;

  Result<std::optional<Backoff>> BackoffOf(std::string_view connection) override;
  Result<void> SetBackoff(std::string_view connection, const Backoff& backoff) override;

  Result<std::optional<Lease>> AcquireLease(std::string_view connection, std::string_view holder,
                                            std::chrono::milliseconds ttl) override;
  Result<bool> RenewLease(const Lease& lease, std::chrono::milliseconds ttl) override;
  Result<void> ReleaseLease(const Lease& lease) override;
  Result<std::vector<LeaseHolder>> Leases() override;
  Result<std::vector<std::string>> Heartbeat(std::string_view holder,
                                             std::chrono::milliseconds ttl) override;
  void Fence(const Lease& lease) override;

 private:
  explicit PostgresState(std::unique_ptr<PgConnection> db);
  // The fence of `connection` (Fence()), checked first in the caller's
  // transaction on `db`: ErrorCode::kLocked when its lease is lost.
  Result<void> CheckFence(PgConnection& db, const std::string& connection);

  // Refreshes the planner's statistics of the item tables once this
  // handle has staged another tenfold of rows (2,000, 20,000, ...): a
  // first sync fills them far faster than autovacuum analyses them, and
  // without statistics the planner reads every row of the connection to
  // find a page's hundred keys (a first sync quadratic in its issues).
  void RefreshStatistics(std::size_t staged_rows);

  std::unique_ptr<PgConnection> db_;
  std::unordered_map<std::string, Lease> fences_;
  std::size_t staged_rows_ = 0;
  std::size_t next_analyze_ = 2'000;
};

}  // namespace boardsync

// StateDb: the StateStore in a SQLite file (state.db, WAL) in the state
// directory. One instance per thread; several processes may read it while
// one writes (the state directory's lock), so leases and fencing here only
// keep the contract: the one process holding the directory holds them all.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "core/state_store.h"

namespace boardsync {

class StateDb : public StateStore {
 public:
  // Opens (creating when needed) `state_dir`/state.db, after the checks of
  // PrepareStateDir(). ErrorCode::kUntrusted for a state directory those
  // refuse or a state.db that is a symbolic link.
  static Result<std::unique_ptr<StateDb>> Open(const std::filesystem::path& state_dir);
  // Opens an existing state.db only to read it, as `status` does where it
  // cannot write (a read-only mount, a directory it may only read); every
  // write fails. Same checks as Open().
  static Result<std::unique_ptr<StateDb>> OpenReadOnly(const std::filesystem::path& state_dir);
  ~StateDb() override;

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

  // Leases and replicas on this machine's clock (NowMs()).
  Result<std::optional<Lease>> AcquireLease(std::string_view connection, std::string_view holder,
                                            std::chrono::milliseconds ttl) override;
  Result<bool> RenewLease(const Lease& lease, std::chrono::milliseconds ttl) override;
  Result<void> ReleaseLease(const Lease& lease) override;
  Result<std::vector<LeaseHolder>> Leases() override;
  Result<std::vector<std::string>> Heartbeat(std::string_view holder,
                                             std::chrono::milliseconds ttl) override;
  void Fence(const Lease& lease) override;

 private:
  class Impl;
  explicit StateDb(std::unique_ptr<Impl> impl);
  // MarkSeen() inside the caller's transaction; throws on failure.
  void MarkSeenIn(const std::string& connection, const SeenItems& seen);
  // Stage()'s part for failing issues, in the caller's transaction.
  void StageFailuresIn(const std::string& connection, const FailureChanges& changes);
  // The fence of `connection` (Fence()), checked inside the caller's
  // transaction: ErrorCode::kLocked when its lease is no longer held.
  Result<void> CheckFenceIn(const std::string& connection);
  std::unique_ptr<Impl> impl_;
};

}  // namespace boardsync

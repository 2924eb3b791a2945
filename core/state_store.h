// StateStore: what boardsync remembers between runs, per connection and item.
// Pulled items, the board writes they cause and (later) the cursor commit
// together; writes then wait in an outbox until the board store acknowledges
// them, so a crash at any point loses nothing and a retry duplicates nothing.
// Implementations are used from one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/issue.h"
#include "core/tracker_source.h"

namespace boardsync {

// Where an item stands, as far as boardsync last staged it.
enum class ItemStatus {
  kLive,      // on the board
  kArchived,  // its issue vanished (deleted, or out of the query)
  kSkipped,   // the mapping skips its issue
};

// A change to one item: its new status and content hash, and the board write
// that carries it (unless `queue` is false: a skipped issue that never was on
// the board is only remembered).
struct StagedWrite {
  BoardWrite write;
  std::string content_hash;  // empty unless status is kLive
  ItemStatus status = ItemStatus::kLive;
  bool queue = true;
  // The canonical JSON of write.item.fields when the caller already made it
  // (for the content hash); Stage() writes it out again otherwise.
  std::string fields_json;
};

// Where a connection's sync got to. Advanced in the same transaction as the
// writes of the page that moved it.
struct SyncCursor {
  std::int64_t updated_ms = 0;      // the newest `updated` staged so far
  std::string mapping_fingerprint;  // of the mapping the items were made with
  std::int64_t last_full_ms = 0;    // when the last reconciliation finished
};

// A tracker session as last confirmed by a pull that checked the token.
struct SavedSession {
  TrackerSession session;
  std::int64_t checked_ms = 0;  // when that pull ran
};

// Items whose issues reconciliation `sweep` saw.
struct SeenItems {
  std::int64_t sweep = 0;
  std::span<const std::string> item_keys;
};

// An issue that could not be decoded or mapped. It is fetched again by
// key on every later sync until it succeeds, and `status` lists it.
struct IssueFailure {
  std::string source_key;  // the human key, by which it is fetched again
  std::string item_key;    // "<connection>:<issue id>"; empty when the tracker gave no id
  std::string reason;      // names the issue and what was wrong
  std::string since;       // ISO-8601 UTC, when it first failed; set by the store
};

// A page's news about failing issues, staged with its writes.
struct FailureChanges {
  std::span<const IssueFailure> failed;   // recorded; `since` kept when already failing
  std::span<const std::string> resolved;  // source keys that succeeded: forgotten
};

// An item and the version of its issue last staged (source_updated_at).
struct ItemVersion {
  std::string item_key;
  std::string source_updated_at;
};

// A board write the store refused, as set aside in the outbox.
struct RefusedItem {
  std::string item_key;
  std::string source_key;  // empty for an archive
  std::string message;     // the store's
  std::string since;       // ISO-8601 UTC, when it was refused
  bool archive = false;
};

// A queued write the board store refused for good, and its message.
struct Refusal {
  std::int64_t seq = 0;
  std::string message;
};

struct OutboxEntry {
  std::int64_t seq = 0;
  std::string connection;
  BoardWrite write;
};

struct KnownItem {
  std::string content_hash;
  ItemStatus status = ItemStatus::kLive;
  std::string source_key;  // the issue's human key as last staged; sync back writes by it
};

// Sync back (DESIGN §3.1): where the read of the board's scores got to.
struct ScoreCursor {
  std::string board;        // the board read; another board starts over
  std::string cursor;       // the board store's own text (ScorePage::next)
  std::string fingerprint;  // of the mapping's sync_back section; another one starts over
};

// A value the board wants in one tracker field of one issue, as canonical
// JSON of the target's type ("12.5", "3", "\"high\""); "null" clears.
struct WritebackValue {
  std::string item_key;
  std::string field;  // the tracker field, as the mapping names it
  std::string value_json;
};

// A tracker write waiting in the sync-back outbox: one per issue and field,
// a newer value replacing the queued one.
struct QueuedWriteback {
  std::int64_t seq = 0;
  std::string item_key;
  std::string field;
  std::string value_json;
  std::string error;  // why the tracker refused it last time; empty if it never did
  // A value of this row went to the tracker (MarkWritebacksSent()) and was
  // not settled: the tracker may hold it, whatever the ledger says.
  bool sent = false;
};

// A tracker write the tracker refused for its issue, tried again at every sync back.
struct WritebackFailure {
  std::string item_key;
  std::string source_key;
  std::string field;
  std::string message;
  std::string since;  // ISO-8601 UTC, when it was first refused
};

// A connection's last sync, for `status`.
struct RunRecord {
  std::string connection;
  std::string started_at;  // ISO-8601 UTC
  double seconds = 0;
  std::string result;  // "ok" | "failed"
  std::int64_t pulled = 0, created = 0, updated = 0, archived = 0, unchanged = 0, skipped = 0,
               failed = 0, written = 0;
  std::string error;
};

// The last sync back of a connection, for `status`.
struct SyncBackRecord {
  std::string connection;
  std::string started_at;  // ISO-8601 UTC
  double seconds = 0;
  std::string result;  // "ok" | "failed"
  std::int64_t written = 0;    // issues written
  std::int64_t unchanged = 0;  // score changes that needed no write
  std::int64_t failed = 0;     // issues the tracker refused
  std::int64_t queued = 0;     // tracker writes still queued after it
  std::string error;
};

// How a failing connection is backed off, kept in the state so that a
// replica taking the connection over honours it (DESIGN §4.3).
struct Backoff {
  int failures = 0;           // consecutive failed syncs
  std::int64_t until_ms = 0;  // Unix ms before which the connection is not synced again
};

// The right to sync one connection (DESIGN §4.3). `epoch` grows each time
// the lease passes to another holder, so the store can tell a stale holder
// from the current one.
struct Lease {
  std::string connection;
  std::string holder;  // "<hostname>:<pid>"
  std::int64_t epoch = 0;
};

// Who holds a connection, for `status`.
struct LeaseHolder {
  std::string connection;
  std::string holder;
  std::int64_t epoch = 0;
  std::string expires_at;  // ISO-8601 UTC
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // What was last staged for these items of `connection`; unknown keys are absent.
  virtual Result<std::unordered_map<std::string, KnownItem>> KnownItems(
      std::string_view connection, std::span<const std::string> item_keys) = 0;

  // Records the items' new state, queues their writes and, when given, moves
  // the cursor, marks the items a reconciliation saw (as MarkSeen()) and
  // records which issues fail or succeeded again, in one transaction. A
  // queued write replaces the writes of the same item set aside as refused.
  virtual Result<void> Stage(std::string_view connection, std::span<const StagedWrite> writes,
                             const SyncCursor* cursor = nullptr,
                             const SeenItems* seen = nullptr,
                             const FailureChanges* failures = nullptr) = 0;

  // The issues of `connection` that failed and have not succeeded since.
  virtual Result<std::vector<IssueFailure>> Failures(std::string_view connection) = 0;

  virtual Result<std::optional<SyncCursor>> Cursor(std::string_view connection) = 0;

  virtual Result<std::optional<SavedSession>> Session(std::string_view connection) = 0;
  virtual Result<void> SaveSession(std::string_view connection, const SavedSession& session) = 0;

  // Reconciliation: `sweep` (any number new to this connection) marks the
  // items whose issues it saw; LiveUnseen() then lists the live items it did
  // not see, which are to be archived.
  virtual Result<void> MarkSeen(std::string_view connection, std::int64_t sweep,
                                std::span<const std::string> item_keys) = 0;
  virtual Result<std::vector<ItemVersion>> LiveUnseen(std::string_view connection,
                                                      std::int64_t sweep) = 0;

  // The oldest queued writes of `connection`, at most `limit`, parked ones
  // excepted. Each connection's outbox is delivered by its lease holder.
  virtual Result<std::vector<OutboxEntry>> Pending(std::string_view connection,
                                                   std::size_t limit) = 0;
  virtual Result<std::size_t> PendingCount(std::string_view connection) = 0;

  // Removes delivered writes of `connection` from the outbox.
  virtual Result<void> Acknowledge(std::string_view connection,
                                   std::span<const std::int64_t> seqs) = 0;

  // Sets writes the board store refused aside, each with its message:
  // Pending() skips them until RetryFailed() queues them again. A write that
  // a later write of the same item superseded meanwhile is dropped instead.
  virtual Result<void> Park(std::string_view connection, std::span<const Refusal> refused) = 0;
  // Queues the parked writes of `connection` again, dropping those a later
  // write of the same item superseded; returns how many were queued.
  virtual Result<std::size_t> RetryFailed(std::string_view connection) = 0;
  // The parked writes of `connection`, oldest first.
  virtual Result<std::vector<RefusedItem>> Failed(std::string_view connection) = 0;

  // Sync back (DESIGN §3.1). The write-back ledger remembers, per issue and
  // tracker field, the value boardsync last wrote there; the sync-back
  // outbox holds the writes not yet made. Neither ever moves the pull's cursor.

  virtual Result<std::optional<ScoreCursor>> ScoreCursorOf(std::string_view connection) = 0;
  // The ledger's value for each of `values` (by item and field), nullopt
  // where boardsync never wrote that field of that issue.
  virtual Result<std::vector<std::optional<std::string>>> Ledger(
      std::string_view connection, std::span<const WritebackValue> values) = 0;
  // Queues each value that differs from the ledger's (a "null" where
  // boardsync never wrote is no change), replacing a queued value of the same
  // issue and field, and drops a queued one that the ledger already holds
  // (unless it was sent: then it is queued with the ledger's value);
  // moves the score cursor, when given, in the same transaction. Returns
  // how many of `values` are queued now.
  virtual Result<std::size_t> StageWritebacks(std::string_view connection,
                                              std::span<const WritebackValue> values,
                                              const ScoreCursor* cursor = nullptr) = 0;
  // The queued tracker writes of `connection`, by item then field.
  virtual Result<std::vector<QueuedWriteback>> QueuedWritebacks(std::string_view connection) = 0;
  // The tracker took these writes: the ledger now holds their values, and
  // they leave the outbox (a value queued after them stays).
  virtual Result<void> SettleWritebacks(std::string_view connection,
                                        std::span<const QueuedWriteback> written) = 0;
  // The tracker refused these writes for their issue: kept, with `message`,
  // for the next sync back.
  virtual Result<void> RefuseWritebacks(std::string_view connection,
                                        std::span<const std::int64_t> seqs,
                                        std::string_view message) = 0;
  // Marks queued writes as about to be sent, before the tracker is asked:
  // from then on StageWritebacks() never drops them as equal to the
  // ledger, since a kill may have left the tracker holding their value.
  virtual Result<void> MarkWritebacksSent(std::string_view connection,
                                          std::span<const std::int64_t> seqs) = 0;
  // Drops queued writes that no longer apply (their item left the board).
  virtual Result<void> DropWritebacks(std::string_view connection,
                                      std::span<const std::int64_t> seqs) = 0;
  // The refused writes of `connection`, oldest first.
  virtual Result<std::vector<WritebackFailure>> WritebackFailures(std::string_view connection) = 0;

  // Records of the last runs, for `status`. Never fenced: they report, they
  // change nothing a sync relies on.
  virtual Result<void> RecordRun(const RunRecord& run) = 0;
  virtual Result<std::optional<RunRecord>> LastRun(std::string_view connection) = 0;
  virtual Result<void> RecordSyncBack(const SyncBackRecord& run) = 0;
  virtual Result<std::optional<SyncBackRecord>> LastSyncBack(std::string_view connection) = 0;

  // The connection's backoff; nullopt when it is not failing.
  virtual Result<std::optional<Backoff>> BackoffOf(std::string_view connection) = 0;
  // Records it (failures 0 forgets it). Fenced.
  virtual Result<void> SetBackoff(std::string_view connection, const Backoff& backoff) = 0;

  // Leases (DESIGN §4.3). Times are the store's own clock, so replicas on
  // machines whose clocks disagree still agree on who holds what.
  //
  // Takes the lease of `connection` for `holder` until `ttl` from now when
  // nobody holds it, its holder's lease expired, or `holder` holds it
  // already (then extended, same epoch). nullopt while another holds it.
  virtual Result<std::optional<Lease>> AcquireLease(std::string_view connection,
                                                    std::string_view holder,
                                                    std::chrono::milliseconds ttl) = 0;
  // Extends a lease still held; false when it was lost (expired and taken
  // by another, or released).
  virtual Result<bool> RenewLease(const Lease& lease, std::chrono::milliseconds ttl) = 0;
  // Gives the lease up at once (another replica may take it right away).
  virtual Result<void> ReleaseLease(const Lease& lease) = 0;
  // The unexpired leases, by connection.
  virtual Result<std::vector<LeaseHolder>> Leases() = 0;
  // Records `holder` as a live replica until `ttl` from now; returns the
  // live replicas (this one included), sorted, so each can take its share.
  virtual Result<std::vector<std::string>> Heartbeat(std::string_view holder,
                                                     std::chrono::milliseconds ttl) = 0;

  // Fencing: from this call on, every write of this instance that changes
  // `lease.connection`'s items, cursors, outboxes, failures, ledger or
  // backoff first checks, in its own transaction, that `lease` is still
  // held and unexpired, and fails with ErrorCode::kLocked (changing
  // nothing) when it is not. So a replica that was paused past its lease
  // can never move a cursor back, settle or archive against newer work.
  // Without a fence, writes are not checked (one process: the state
  // directory's lock is the fence).
  virtual void Fence(const Lease& lease) = 0;
};

}  // namespace boardsync

// One sync cycle of one connection: pull issues, map them, compare with what
// was last staged, stage the changes (state DB outbox), and deliver the
// outbox to the board store. The pieces are separate so the daemon can
// schedule pulling and delivery independently.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/board_sink.h"
#include "core/state_store.h"
#include "core/tracker_source.h"
#include "daemon/config.h"
#include "mappings/mapping.h"

namespace boardsync {

struct SyncCounts {
  std::int64_t pulled = 0;
  std::int64_t created = 0;
  std::int64_t updated = 0;
  std::int64_t archived = 0;
  std::int64_t unchanged = 0;
  std::int64_t skipped = 0;  // by the mapping's `skip`
  std::int64_t failed = 0;   // issues that could not be decoded or mapped
};

struct SyncOptions {
  bool full = false;      // re-read everything and archive items whose issues vanished
  bool dry_run = false;   // pull and map, but stage nothing (and do not reconcile)
  std::size_t limit = 0;  // stop after this many issues; 0: all
  // Called after each page with the counts so far, e.g. to show progress.
  std::function<void(const SyncCounts&)> on_progress;
  // Called after each page is staged with the number of board writes it
  // queued, while the next page is being read: RunCycle() delivers there.
  std::function<void(std::size_t queued)> on_staged;
  // When stop is requested, the pull ends before the next page is staged
  // (ErrorCode::kCancelled); what was staged stays staged.
  std::stop_token stop;
};

struct SyncReport {
  std::string connection;
  SyncCounts counts;
  std::optional<Error> error;           // the pull stopped early
  std::vector<std::string> problems;    // per-issue decode and mapping errors, naming the issue
  std::vector<StagedWrite> changes;     // dry run only: what would be written
};

// "<connection>:<issue id>"
std::string ItemKey(std::string_view connection, std::string_view issue_id);

// Pulls and stages the changes of one connection. Never throws; a failure
// is in report.error, and pages staged before it stay staged.
//
// Normally pulls only the issues updated since the connection's cursor (with
// an overlap). A full pass (--full, the first sync, or a changed mapping)
// re-reads everything, as does a sweep, in slices read side by side when the
// connection's `concurrency` allows; the cursor moves only as far as the
// tracker says every issue before it was handed on (IssuePage::through_ms).
// A reconciliation archives the items whose issues the query no longer
// returns: after every full pass, and, when full_resync has passed since the
// last one, by an id-only sweep after the incremental pull. An issue that
// cannot be decoded or mapped is counted, reported and kept in the state
// store; every later sync fetches it again by key until it succeeds. A
// cursor never moves past the sync's start plus the tracker's granularity; a
// saved cursor beyond that makes the sync a full pass.
SyncReport PullConnection(const ConnectionConfig& connection, TrackerSource& tracker,
                          const Mapping& mapping, StateStore& state, const SyncOptions& options);

struct Delivery {
  std::int64_t delivered = 0;  // acknowledged by the board store
  std::int64_t parked = 0;     // refused by it (not retriable): set aside
};

// Delivers the queued writes of `connection` in batches of `batch_size`.
// Writes the board store refuses for good are parked, each with its message,
// and the rest go on; a retriable failure stops delivery, and the
// undelivered writes stay queued for the next attempt.
Result<Delivery> DrainOutbox(StateStore& state, BoardSink& board, std::string_view connection,
                             std::size_t batch_size);

// DrainOutbox() while a pull is still staging: Start() settles the batch
// in flight once the store has applied it (acknowledged, or parked when
// refused for good), or else hands the oldest queued batch to the board
// store on a thread of its own. Finish() settles the last and
// drains the rest. The state store is used on the calling thread only; one
// batch of a connection is in flight at a time, under the process's lock of
// that connection's outbox (across processes, its lease: DESIGN §4.3).
class OutboxDelivery {
 public:
  OutboxDelivery(StateStore& state, BoardSink& board, std::string_view connection,
                 std::size_t batch_size);
  // Waits for a batch in flight; unsettled, it stays queued.
  ~OutboxDelivery();

  // Whether a batch was handed on. Never waits for other workers' batches.
  bool Start();
  Result<Delivery> Finish();
  // What was delivered and parked so far, also when Finish() failed.
  const Delivery& delivered() const { return delivery_; }

 private:
  bool Begin(bool wait);
  void Settle(const Result<std::vector<RefusedWrite>>& applied);

  StateStore& state_;
  BoardSink& board_;
  const std::string connection_;
  const std::size_t batch_size_;
  std::unique_lock<std::mutex> lock_;  // held while a batch is in flight
  std::future<Result<std::vector<RefusedWrite>>> applying_;
  std::vector<BoardWrite> writes_;     // the batch in flight, read by Apply() until settled
  std::vector<std::int64_t> seqs_;     // their outbox seqs
  std::optional<Error> error_;         // delivery stopped
  Delivery delivery_;
};

}  // namespace boardsync

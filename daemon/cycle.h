// One connection's sync cycle, end to end: connect to its tracker, pull and
// stage the changes, deliver the outbox to the board store, and record the
// run for `status`. `boardsync sync` runs it once per connection; the daemon
// runs it on each connection's schedule.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/http/cpprest_http_client.h"
#include "core/board_sink.h"
#include "core/http_client.h"
#include "core/state_store.h"
#include "core/tracker_source.h"
#include "daemon/config.h"
#include "daemon/sync.h"
#include "daemon/sync_back.h"
#include "mappings/mapping.h"

namespace boardsync {

// Parses the mapping file of each connection, by connection name; every
// problem of every file at once.
std::expected<std::map<std::string, Mapping>, Diagnostics> LoadMappings(
    const std::vector<const ConnectionConfig*>& connections);

// A connection ready to talk to its tracker.
struct ConnectedTracker {
  std::unique_ptr<CpprestHttpClient> http;  // its Traffic() is the cycle's
  std::unique_ptr<TrackerSource> tracker;   // borrows `http`; null when only writing
  std::unique_ptr<FieldWriter> writer;      // borrows `http`; sync back only, null when none
};

// Reads the connection's token and builds its tracker connector (or, for a
// sync back, its field writer), reaching the tracker through the
// connection's proxy or the environment's.
Result<ConnectedTracker> ConnectTracker(const ConnectionConfig& connection, bool writer = false);

struct CycleResult {
  SyncReport report;
  std::int64_t written = 0;          // board writes delivered
  std::int64_t parked = 0;           // board writes the store refused, set aside
  double seconds = 0;
  std::optional<Error> board_error;  // delivery failed; the writes stay queued
  HttpTraffic tracker_traffic;       // requests to the tracker and bytes they brought

  // Everything succeeded, every issue and every item included.
  bool ok() const {
    return !report.error && report.counts.failed == 0 && !board_error && parked == 0;
  }
  // The connection itself failed: the pull, the state database or the board
  // store. Only this backs the daemon off; an issue or item that failed on
  // its own does not (DESIGN §5).
  bool connection_failed() const { return report.error.has_value() || board_error.has_value(); }
  // The first problem, for a one-line status; "" when ok.
  std::string FirstError() const;
};

// Runs one cycle. `board` may be null (dry run, or the store could not be
// opened: the writes then wait in the outbox). Records the run in `state`
// unless options.dry_run.
CycleResult RunCycle(const ConnectionConfig& connection, const Mapping& mapping, StateStore& state,
                     BoardSink* board, std::size_t batch_size, const SyncOptions& options);

// Runs one sync back of the connection (sync_back.h) with its own field
// writer. `scores` is the board store's; a dry run writes nothing.
SyncBackReport RunSyncBackCycle(const ConnectionConfig& connection, const Mapping& mapping,
                                StateStore& state, ScoreSource& scores,
                                const SyncBackOptions& options);

// "acme-yt: pulled 15, created 12, ..., board writes 13, 0.21s"
std::string SummaryLine(const CycleResult& result);

}  // namespace boardsync

// One connection's sync back (DESIGN §3.1): read the board's scores changed
// since the connection's score cursor, queue the values that differ from
// what boardsync last wrote (the ledger), then write the queued values into
// the tracker, one issue at a time. Queueing and the cursor commit together,
// and a write leaves the queue only once the tracker took it, so a crash at
// any point loses nothing and repeats at most the writes in flight.
#pragma once

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/field_writer.h"
#include "core/score_source.h"
#include "core/state_store.h"
#include "daemon/config.h"
#include "mappings/mapping.h"

namespace boardsync {

struct SyncBackOptions {
  bool dry_run = false;  // read the scores and print what would be written; change nothing
  std::size_t page_size = 500;  // scores asked per page of the board
  std::stop_token stop;  // ends the sync back between issues (ErrorCode::kCancelled)
};

struct SyncBackReport {
  std::string connection;
  std::int64_t scores = 0;     // score changes read from the board
  std::int64_t unchanged = 0;  // of those, values the tracker already had from boardsync
  std::int64_t written = 0;    // issues written
  std::int64_t failed = 0;     // issues the tracker refused (tried again next time)
  std::int64_t dropped = 0;    // queued values of items no longer on the board
  std::int64_t queued = 0;     // values still queued at the end
  std::optional<Error> error;  // the sync back stopped early (board, tracker, state)
  // Targets that cannot be written and issues the tracker refused, naming
  // the field or the issue.
  std::vector<std::string> problems;
  std::vector<std::string> planned;  // dry run: one line per issue that would be written
  double seconds = 0;

  bool ok() const { return !error && problems.empty(); }
};

// Runs one sync back of `connection` and, unless a dry run, records it for
// `status`. `writer` may be null only in a dry run (nothing is written then).
// A mapping without `sync_back` does nothing.
SyncBackReport RunSyncBack(const ConnectionConfig& connection, const Mapping& mapping,
                           StateStore& state, ScoreSource& scores, FieldWriter* writer,
                           const SyncBackOptions& options);

// The value a board score gives a target of `type`, as canonical JSON
// ("null" for a removed score), or why it cannot (a text that is no number
// for a numeric target). An integer target gets the value rounded to the
// nearest integer; a string target the number as written.
Result<std::string> TargetValueJson(const Value& score, FieldType type);

// "acme-yt: sync back: 3 scores, 2 issues written, 1 unchanged, 0 refused, 0.12s"
std::string SyncBackSummaryLine(const SyncBackReport& report);

}  // namespace boardsync

// The one table from config type names to connector constructors. Adding a
// tracker or board store means adding a line here; nothing registers itself.
#pragma once

#include <filesystem>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/board_sink.h"
#include "core/connector.h"
#include "core/error.h"
#include "core/field_writer.h"
#include "core/score_source.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/state_store.h"
#include "core/tracker_source.h"
#include "daemon/config.h"

namespace boardsync {

// The tracker type named `type` (the config's `type` key), or nullptr.
const TrackerType* FindTrackerType(std::string_view type);
std::string TrackerTypeNames();  // "youtrack, jira", for messages

// The source for a connection its type parsed. `http` must outlive it.
Result<std::unique_ptr<TrackerSource>> MakeTracker(const ConnectionConfig& config, Secret token,
                                                   HttpClient& http);

// The field writer for sync back of a connection its type parsed, or
// nullptr when its tracker has no fields boardsync can write. `http` must
// outlive it.
Result<std::unique_ptr<FieldWriter>> MakeWriter(const ConnectionConfig& config, Secret token,
                                                HttpClient& http);

// The state store `state` names: SQLite in `state_dir` (state.db, after
// PrepareStateDir()'s checks), or a PostgreSQL database shared by replicas.
// `read_only`: SQLite opened only to read, as `status` does where it may not
// write (PostgreSQL ignores it).
Result<std::unique_ptr<StateStore>> OpenState(const StateConfig& state,
                                              const std::filesystem::path& state_dir,
                                              bool read_only = false);

// `stop` cancels a board request in flight (the daemon's shutdown).
Result<std::unique_ptr<BoardSink>> MakeBoard(const BoardConfig& config,
                                             std::stop_token stop = {});
// The same store, to read its scores (sync back).
Result<std::unique_ptr<ScoreSource>> MakeScoreSource(const BoardConfig& config,
                                                     std::stop_token stop = {});

}  // namespace boardsync

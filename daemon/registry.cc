#include "daemon/registry.h"

#include "connectors/board/http_board.h"
#include "connectors/board/sqlite_board.h"
#include "connectors/http/cpprest_http_client.h"
#include "connectors/github/github_type.h"
#include "connectors/gitlab/gitlab_type.h"
#include "connectors/jira/jira_type.h"
#include "connectors/postgres/postgres_board.h"
#include "connectors/postgres/postgres_state.h"
#include "connectors/youtrack/youtrack_type.h"
#include "daemon/state_db.h"
#include "daemon/token.h"

namespace boardsync {
namespace {

// Every tracker type, one line each.
constexpr const TrackerType* kTrackerTypes[] = {
    &kYouTrackType,
    &kJiraType,
    &kGitHubType,
    &kGitLabType,
};

}  // namespace

const TrackerType* FindTrackerType(std::string_view type) {
  for (const TrackerType* t : kTrackerTypes) {
    if (t->name == type) {
      return t;
    }
  }
  return nullptr;
}

std::string TrackerTypeNames() {
  std::string names;
  for (const TrackerType* t : kTrackerTypes) {
    names += names.empty() ? std::string(t->name) : ", " + std::string(t->name);
  }
  return names;
}

namespace {

// The connector context of `config`, after the checks both makers need.
Result<const TrackerType*> TypeOf(const ConnectionConfig& config) {
  const TrackerType* type = FindTrackerType(config.type);
  if (type == nullptr) {
    return Fail(ErrorCode::kConfig, "unknown connection type \"" + config.type + "\"");
  }
  if (config.tracker_options == nullptr) {
    return Fail(ErrorCode::kConfig, "connection " + config.name + ": its options were not read");
  }
  return type;
}

// A board store as the interface `Interface` (each store is both a sink
// and a score source).
template <typename Interface>
Result<std::unique_ptr<Interface>> OpenBoardAs(const BoardConfig& config, std::stop_token stop) {
  if (config.type == "sqlite") {
    auto board = SqliteBoard::Open(config.path);
    if (!board) {
      return std::unexpected(board.error());
    }
    return std::unique_ptr<Interface>(std::move(*board));
  }
  if (config.type == "http" && config.token) {
    auto token = LoadToken(*config.token, "the http board");
    if (!token) {
      return std::unexpected(token.error());
    }
    HttpBoardOptions options;
    options.url = config.url;
    options.token = std::move(*token);
    options.stop = std::move(stop);
    return std::unique_ptr<Interface>(std::make_unique<HttpBoard>(
        std::move(options), std::make_unique<CpprestHttpClient>(
                                HttpClientOptions{.proxy = ProxySettingsFromEnvironment()})));
  }
  if (config.type == "postgres" && config.database_url) {
    auto url = LoadToken(*config.database_url, "the postgres board");
    if (!url) {
      return std::unexpected(url.error());
    }
    auto board = PostgresBoard::Open(*url);
    if (!board) {
      return std::unexpected(board.error());
    }
    return std::unique_ptr<Interface>(std::move(*board));
  }
  return Fail(ErrorCode::kConfig, "board type \"" + config.type + "\" is not supported");
}

}  // namespace

Result<std::unique_ptr<TrackerSource>> MakeTracker(const ConnectionConfig& config, Secret token,
                                                   HttpClient& http) {
  auto type = TypeOf(config);
  if (!type) {
    return std::unexpected(type.error());
  }
  return (*type)->make(*config.tracker_options,
                       ConnectorContext{config.name, config.base_url, std::move(token),
                                        config.timeout, &http});
}

Result<std::unique_ptr<FieldWriter>> MakeWriter(const ConnectionConfig& config, Secret token,
                                                HttpClient& http) {
  auto type = TypeOf(config);
  if (!type) {
    return std::unexpected(type.error());
  }
  if ((*type)->make_writer == nullptr) {
    return std::unique_ptr<FieldWriter>();
  }
  return (*type)->make_writer(*config.tracker_options,
                              ConnectorContext{config.name, config.base_url, std::move(token),
                                               config.timeout, &http});
}

Result<std::unique_ptr<StateStore>> OpenState(const StateConfig& state,
                                              const std::filesystem::path& state_dir,
                                              bool read_only) {
  if (state.type == "postgres" && state.database_url) {
    auto url = LoadToken(*state.database_url, "the postgres state");
    if (!url) {
      return std::unexpected(url.error());
    }
    auto opened = PostgresState::Open(*url);
    if (!opened) {
      return std::unexpected(opened.error());
    }
    return std::unique_ptr<StateStore>(std::move(*opened));
  }
  if (state.type != "sqlite") {
    return Fail(ErrorCode::kConfig, "state type \"" + state.type + "\" is not supported");
  }
  auto opened = read_only ? StateDb::OpenReadOnly(state_dir) : StateDb::Open(state_dir);
  if (!opened) {
    return std::unexpected(opened.error());
  }
  return std::unique_ptr<StateStore>(std::move(*opened));
}

Result<std::unique_ptr<BoardSink>> MakeBoard(const BoardConfig& config, std::stop_token stop) {
  return OpenBoardAs<BoardSink>(config, std::move(stop));
}

Result<std::unique_ptr<ScoreSource>> MakeScoreSource(const BoardConfig& config,
                                                     std::stop_token stop) {
  return OpenBoardAs<ScoreSource>(config, std::move(stop));
}

}  // namespace boardsync

#include "daemon/registry.h"

#include <array>

#include "connectors/board/http_board.h"
#include "connectors/board/sqlite_board.h"
#include "connectors/http/cpprest_http_client.h"
#include "connectors/youtrack/base_url.h"
#include "connectors/youtrack/youtrack_source.h"
#include "daemon/token.h"

namespace boardsync {
namespace {

using TrackerFactory = Result<std::unique_ptr<TrackerSource>> (*)(const ConnectionConfig&, Secret,
                                                                  HttpClient&);

Result<std::unique_ptr<TrackerSource>> MakeYouTrack(const ConnectionConfig& config, Secret token,
                                                    HttpClient& http) {
  auto base = NormalizeBaseUrl(config.base_url);
  if (!base) {
    return std::unexpected(base.error().Wrap("connection " + config.name));
  }
  YouTrackOptions options;
  options.connection_name = config.name;
  options.base = std::move(*base);
  options.token = std::move(token);
  options.timeout = config.timeout;
  return std::make_unique<YouTrackSource>(std::move(options), http);
}

struct TrackerType {
  std::string_view name;
  TrackerFactory make;
};

constexpr std::array<TrackerType, 1> kTrackerTypes = {{
    {"youtrack", &MakeYouTrack},
}};

}  // namespace

bool IsTrackerType(std::string_view type) {
  for (const auto& t : kTrackerTypes) {
    if (t.name == type) {
      return true;
    }
  }
  return false;
}

std::string TrackerTypeNames() {
  std::string names;
  for (const auto& t : kTrackerTypes) {
    names += names.empty() ? std::string(t.name) : ", " + std::string(t.name);
  }
  return names;
}

Result<std::unique_ptr<TrackerSource>> MakeTracker(const ConnectionConfig& config, Secret token,
                                                   HttpClient& http) {
  for (const auto& t : kTrackerTypes) {
    if (t.name == config.type) {
      return t.make(config, std::move(token), http);
    }
  }
  return Fail(ErrorCode::kConfig, "unknown connection type \"" + config.type + "\"");
}

Result<std::unique_ptr<BoardSink>> MakeBoard(const BoardConfig& config, std::stop_token stop) {
  if (config.type == "sqlite") {
    auto board = SqliteBoard::Open(config.path);
    if (!board) {
      return std::unexpected(board.error());
    }
    return std::unique_ptr<BoardSink>(std::move(*board));
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
    return std::unique_ptr<BoardSink>(std::make_unique<HttpBoard>(
        std::move(options), std::make_unique<CpprestHttpClient>(
                                HttpClientOptions{.proxy = ProxySettingsFromEnvironment()})));
  }
  return Fail(ErrorCode::kConfig, "board type \"" + config.type + "\" is not supported");
}

}  // namespace boardsync

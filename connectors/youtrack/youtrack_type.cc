#include "connectors/youtrack/youtrack_type.h"

#include "connectors/youtrack/base_url.h"
#include "connectors/youtrack/youtrack_source.h"

namespace boardsync {
namespace {

// The daemon has checked base_url as a URL; what YouTrack makes of it
// (NormalizeBaseUrl) is decided when the source is made.
std::shared_ptr<const TrackerOptions> Parse(OptionReader&) {
  return std::make_shared<TrackerOptions>();
}

Result<std::unique_ptr<TrackerSource>> Make(const TrackerOptions&, ConnectorContext context) {
  auto base = NormalizeBaseUrl(context.base_url);
  if (!base) {
    return std::unexpected(base.error().Wrap("connection " + context.connection_name));
  }
  YouTrackOptions options;
  options.connection_name = std::move(context.connection_name);
  options.base = std::move(*base);
  options.token = std::move(context.token);
  options.timeout = context.timeout;
  return std::unique_ptr<TrackerSource>(
      std::make_unique<YouTrackSource>(std::move(options), *context.http));
}

}  // namespace

const TrackerType kYouTrackType = {
    .name = "youtrack",
    .keys = {},
    .default_base_url = "",
    .parse = &Parse,
    .make = &Make,
};

}  // namespace boardsync

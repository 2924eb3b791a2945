#include "connectors/youtrack/youtrack_type.h"

#include "connectors/youtrack/base_url.h"
#include "connectors/youtrack/youtrack_source.h"
#include "connectors/youtrack/youtrack_writer.h"

namespace boardsync {
namespace {

// The daemon has checked base_url as a URL; what YouTrack makes of it
// (NormalizeBaseUrl) is decided when the source is made.
std::shared_ptr<const TrackerOptions> Parse(OptionReader&) {
  return std::make_shared<TrackerOptions>();
}

// What the source and the writer are made with.
Result<YouTrackOptions> Options(ConnectorContext& context) {
  auto base = NormalizeBaseUrl(context.base_url);
  if (!base) {
    return std::unexpected(base.error().Wrap("connection " + context.connection_name));
  }
  YouTrackOptions options;
  options.connection_name = std::move(context.connection_name);
  options.base = std::move(*base);
  options.token = std::move(context.token);
  options.timeout = context.timeout;
  return options;
}

Result<std::unique_ptr<TrackerSource>> Make(const TrackerOptions&, ConnectorContext context) {
  auto options = Options(context);
  if (!options) {
    return std::unexpected(options.error());
  }
  return std::unique_ptr<TrackerSource>(
      std::make_unique<YouTrackSource>(std::move(*options), *context.http));
}

Result<std::unique_ptr<FieldWriter>> MakeWriter(const TrackerOptions&, ConnectorContext context) {
  auto options = Options(context);
  if (!options) {
    return std::unexpected(options.error());
  }
  return std::unique_ptr<FieldWriter>(
      std::make_unique<YouTrackWriter>(std::move(*options), *context.http));
}

// Permanent tokens are "perm:<base64 login>.<base64 name or id>.<secret>"
// ("perm-" in older versions): the login part tells an operator whose token
// it is and is no secret.
std::size_t TokenShown(std::string_view token) {
  if (!token.starts_with("perm:") && !token.starts_with("perm-")) {
    return 0;
  }
  const auto dot = token.find('.');
  return dot != std::string_view::npos && dot + 1 < token.size() ? dot + 1 : 0;
}

}  // namespace

const TrackerType kYouTrackType = {
    .name = "youtrack",
    .keys = {},
    .default_base_url = "",
    .parse = &Parse,
    .make = &Make,
    .token_shown = &TokenShown,
    .make_writer = &MakeWriter,
};

}  // namespace boardsync

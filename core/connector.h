// What a tracker's folder (connectors/<type>/) hands the daemon: its type
// name, the config keys it adds to a connection, how it reads them and how
// it makes its TrackerSource. The daemon reads the keys every connection
// has; the connector reads its own through an OptionReader, which reports
// problems at file:line:column like the rest of the config. daemon/registry.cc
// lists the types; nothing registers itself.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/field_writer.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/tracker_source.h"

namespace boardsync {

// The connection's keys, as the config file has them. Every method reports
// its own problems (at the key, or at the connection when the key is
// missing) and then returns nullopt; the config is refused once all its
// problems are collected.
class OptionReader {
 public:
  virtual ~OptionReader() = default;
  virtual bool Has(std::string_view key) const = 0;
  virtual std::optional<std::string> String(std::string_view key, bool required) = 0;
  // One of `choices`, compared as written.
  virtual std::optional<std::string> Choice(std::string_view key,
                                            std::span<const std::string_view> choices) = 0;
  // A whole number in [min, max].
  virtual std::optional<int> Int(std::string_view key, int min, int max) = 0;
  // A list of non-empty strings (GitHub's `repos`, `labels`); a lone string
  // is not taken for a list of one. Empty when the key is absent.
  virtual std::optional<std::vector<std::string>> StringList(std::string_view key,
                                                             bool required) = 0;
  // The keys of the mapping under `key` (GitHub's `project: {owner,
  // number}`), read the same way and checked against `keys`; nullptr when
  // the key is absent or not a mapping (reported).
  virtual std::unique_ptr<OptionReader> Section(std::string_view key,
                                                std::span<const std::string_view> keys) = 0;
  // A problem with `key` (the connection when it is absent) found by the
  // connector itself, e.g. two keys that do not go together.
  virtual void Error(std::string_view key, std::string message) = 0;
};

// A connector's own options, as its `parse` read them. Each connector
// derives its own; the daemon only keeps and hands them back.
struct TrackerOptions {
  virtual ~TrackerOptions() = default;
};

// The keys every connection has that a connector needs, read and checked
// by the daemon, and what it lends the source.
struct ConnectorContext {
  std::string connection_name;  // starts every error message
  std::string base_url;         // as configured (the type's default when absent)
  Secret token;
  std::chrono::milliseconds timeout{30'000};  // per request
  HttpClient* http = nullptr;  // borrowed: outlives the source
};

struct TrackerType {
  std::string_view name;  // the `type` key: "youtrack"
  // Its keys beyond the common ones, for the unknown-key check.
  std::span<const std::string_view> keys;
  // base_url when the config has none (GitHub: https://api.github.com);
  // empty: base_url is required.
  std::string_view default_base_url;
  // Reads the type's own keys (and may check common ones, e.g. that
  // base_url has the shape the tracker needs). Problems go to `reader`; the
  // result is then not used.
  std::shared_ptr<const TrackerOptions> (*parse)(OptionReader& reader);
  // `options` is what `parse` returned.
  Result<std::unique_ptr<TrackerSource>> (*make)(const TrackerOptions& options,
                                                 ConnectorContext context);
  // How many leading characters of `token` may show in messages: a part
  // that names its owner and is no secret (YouTrack's "perm:<login>.").
  // nullptr: none; the token shows as "…".
  std::size_t (*token_shown)(std::string_view token) = nullptr;
  // Makes its FieldWriter for sync back (DESIGN §3.1), with the same
  // context as `make`. nullptr: the tracker has no fields boardsync can write
  // (GitLab), and `check` refuses a mapping with `sync_back` for it.
  Result<std::unique_ptr<FieldWriter>> (*make_writer)(const TrackerOptions& options,
                                                      ConnectorContext context) = nullptr;
};

}  // namespace boardsync

// The config file (DESIGN §2), parsed once into typed structs. Parsing
// collects every problem with its file:line:column instead of stopping at the
// first; unknown keys are errors. Relative paths are resolved here, so the
// rest of the program sees absolute paths only.
#pragma once

#include <chrono>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/connector.h"
#include "core/diagnostic.h"

namespace boardsync {

// Where a token comes from; the token itself never sits in the config.
struct TokenSource {
  enum class Kind { kFile, kEnv, kCredential };
  Kind kind = Kind::kFile;
  std::string value;  // the file path, the variable name or the credential name
  Diagnostic where;   // the value's place in the config, for check's messages
  // What it holds: "token", or "URL" for a database URI (read by the same
  // rules, from url_file / url_env / url_credential). Messages name it.
  std::string noun = "token";
};

struct BoardConfig {
  std::string type = "sqlite";  // sqlite | http | postgres
  std::filesystem::path path;   // sqlite: absolute (relative ones are taken from state_dir)
  std::string url;              // http
  std::optional<TokenSource> token;  // http
  std::optional<TokenSource> database_url;  // postgres: where its libpq URI is (a secret)
  int batch_size = 500;
};

// Where boardsync keeps its state (DESIGN §2 `state:`).
struct StateConfig {
  std::string type = "sqlite";  // sqlite (files in state_dir) | postgres (shared by replicas)
  std::optional<TokenSource> database_url;  // postgres: where its libpq URI is (a secret)
  // postgres: how long a replica's lease on a connection lasts unrenewed; it
  // is renewed every third of it. A dead replica's connections pass on
  // within about 4/3 of it.
  std::chrono::milliseconds lease_ttl{std::chrono::seconds(30)};
};

struct ConnectionConfig {
  std::string name;
  std::string type;
  std::string base_url;
  TokenSource token;
  std::string query;
  std::filesystem::path mapping;
  std::string board;
  std::chrono::milliseconds interval{std::chrono::minutes(5)};
  std::chrono::milliseconds full_resync{std::chrono::hours(24)};
  // How often the daemon writes board scores back (when the mapping has a
  // sync_back section); never while the connection's pull runs.
  std::chrono::milliseconds sync_back_interval{std::chrono::minutes(15)};
  int page_size = 100;
  // How many slices of the updated range a full pass pulls at once (1..16).
  int concurrency = 4;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::filesystem::path ca_file;
  // The `proxy` key. Unset: the environment's proxies (HTTPS_PROXY, ...);
  // "": no proxy ("none" in the file reads as ""); otherwise an http:// URL,
  // which may hold user:password, a secret never printed.
  std::optional<std::string> proxy;
  // The keys only its type has, as that type's connector read them.
  std::shared_ptr<const TrackerOptions> tracker_options;
  Diagnostic where;  // the connection's place in the file, for later messages
};

struct Config {
  std::filesystem::path file;
  std::filesystem::path state_dir;
  std::string metrics_listen;
  StateConfig state;
  BoardConfig board;
  std::vector<ConnectionConfig> connections;

  // The connection named `name`, or nullptr.
  const ConnectionConfig* FindConnection(std::string_view name) const;
};

// The config file to use: --config, else $BOARDSYNC_CONFIG, else the system one.
std::filesystem::path DefaultConfigPath();

std::expected<Config, Diagnostics> LoadConfig(const std::filesystem::path& file);
std::expected<Config, Diagnostics> ParseConfig(std::string_view text,
                                               const std::filesystem::path& file);

}  // namespace boardsync

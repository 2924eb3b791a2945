#include "daemon/config.h"

#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <span>

#include "connectors/http/cpprest_http_client.h"
#include "core/text.h"
#include "core/time.h"
#include "core/url.h"
#include "daemon/metrics.h"
#include "daemon/registry.h"
#include "mappings/yaml_file.h"

namespace boardsync {
namespace {

namespace fs = std::filesystem;

// Floors of the durations (docs/configuration.md).
constexpr std::chrono::milliseconds kMinInterval = std::chrono::seconds(1);
constexpr std::chrono::milliseconds kMinFullResync = std::chrono::minutes(1);
constexpr std::chrono::milliseconds kMinTimeout = std::chrono::seconds(1);

fs::path Resolve(const fs::path& base, const std::string& path) {
  return (base / path).lexically_normal();
}

// Reads typed values out of YAML nodes, recording a Diagnostic for every
// problem so that one pass reports them all.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  void Error(const YAML::Mark& mark, std::string message) {
    diagnostics_.push_back(Diagnostic{file_, mark.line + 1, mark.column + 1, std::move(message)});
  }
  Diagnostic Place(const YAML::Node& node) const {
    return Diagnostic{file_, node.Mark().line + 1, node.Mark().column + 1, ""};
  }

  // Reports keys of `map` that are not in `allowed`.
  void CheckKeys(const YAML::Node& map, const std::set<std::string>& allowed,
                 std::string_view where) {
    for (const auto& entry : map) {
      std::string key = entry.first.Scalar();
      if (!allowed.contains(key)) {
        std::string known;
        for (const auto& k : allowed) {
          known += known.empty() ? k : ", " + k;
        }
        Error(entry.first.Mark(), "unknown key \"" + key + "\" in " + std::string(where) +
                                      " (known keys: " + known + ")");
      }
    }
  }

  bool IsMap(const YAML::Node& node, std::string_view what) {
    if (!node.IsMap()) {
      Error(node.Mark(), std::string(what) + " must be a mapping of keys to values");
      return false;
    }
    return true;
  }

  std::optional<std::string> String(const YAML::Node& parent, const char* key, bool required) {
    YAML::Node node = parent[key];
    if (!node || node.IsNull()) {
      if (required) {
        Error(parent.Mark(), std::string("missing required key \"") + key + "\"");
      }
      return std::nullopt;
    }
    if (!node.IsScalar()) {
      Error(node.Mark(), std::string("\"") + key + "\" must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<int> Int(const YAML::Node& parent, const char* key, int min, int max) {
    auto text = String(parent, key, false);
    if (!text) {
      return std::nullopt;
    }
    YAML::Node node = parent[key];
    try {
      int value = node.as<int>();
      if (value >= min && value <= max) {
        return value;
      }
    } catch (const YAML::Exception&) {
    }
    Error(node.Mark(), std::string("\"") + key + "\" must be a whole number from " +
                           std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }

  // `floor` (spelled `floor_text` in messages) keeps a typo such as 5ms for
  // 5m from hammering a tracker or timing out every request.
  std::optional<std::chrono::milliseconds> Duration(const YAML::Node& parent, const char* key,
                                                    std::chrono::milliseconds floor,
                                                    std::string_view floor_text) {
    auto text = String(parent, key, false);
    if (!text) {
      return std::nullopt;
    }
    auto duration = ParseDuration(*text);
    if (!duration || duration->count() <= 0) {
      Error(parent[key].Mark(), std::string("\"") + key + "\" must be a duration like 30s, 5m or 24h");
      return std::nullopt;
    }
    if (*duration < floor) {
      Error(parent[key].Mark(), std::string("\"") + key + "\" must be at least " +
                                    std::string(floor_text) + " (units: ms, s, m, h, d)");
      return std::nullopt;
    }
    // Scheduling adds durations to clock times; a year is plenty and cannot overflow.
    if (*duration > std::chrono::hours(24 * 366)) {
      Error(parent[key].Mark(), std::string("\"") + key + "\" must be at most 366d");
      return std::nullopt;
    }
    return duration;
  }

  // <kind>_file / <kind>_env / <kind>_credential (kind "token", or "url" for
  // a database URI): exactly one.
  std::optional<TokenSource> Token(const YAML::Node& parent, const fs::path& base,
                                   std::string_view owner, std::string_view kind = "token") {
    const std::string file_key = std::string(kind) + "_file";
    const std::string env_key = std::string(kind) + "_env";
    const std::string credential_key = std::string(kind) + "_credential";
    std::vector<TokenSource> found;
    if (auto v = String(parent, file_key.c_str(), false)) {
      found.push_back(
          {TokenSource::Kind::kFile, Resolve(base, *v).string(), Place(parent[file_key])});
    }
    if (auto v = String(parent, env_key.c_str(), false)) {
      found.push_back({TokenSource::Kind::kEnv, *v, Place(parent[env_key])});
    }
    if (auto v = String(parent, credential_key.c_str(), false)) {
      found.push_back({TokenSource::Kind::kCredential, *v, Place(parent[credential_key])});
    }
    if (found.size() == 1) {
      found.front().noun = kind == "token" ? "token" : "URL";
      return found.front();
    }
    const std::string keys = file_key + ", " + env_key;
    Error(parent.Mark(),
          std::string(owner) +
              (found.empty() ? " needs " + std::string(kind == "token" ? "a token" : "a URL") +
                                   ": set one of " + keys + " or " + credential_key +
                                   " (secrets never go in the config itself)"
                             : " sets more than one of " + keys + " and " + credential_key +
                                   "; keep one"));
    return std::nullopt;
  }

  Diagnostics& diagnostics() { return diagnostics_; }

 private:
  std::string file_;
  Diagnostics diagnostics_;
};

// base_url and board.url, as the HTTP client will take them: what ParseUrl()
// accepts (http or https, a host, a port from 1 to 65535), and plain http
// only where core/url allows it. A user name or password is refused without
// repeating the value: it may be a secret.
void CheckUrl(Reader& r, const YAML::Node& node, std::string_view what, std::string_view value) {
  std::string_view text = TrimSpace(value);
  if (HasUserInfo(text)) {
    r.Error(node.Mark(), std::string(what) +
                             " must not contain a user name or password (not repeated here); "
                             "the token comes from token_file, token_env or token_credential");
    return;
  }
  auto url = ParseUrl(text);
  if (!url) {
    r.Error(node.Mark(), std::string(what) + ": " + url.error().message);
    return;
  }
  if (url->scheme == "http" && !IsLoopbackHost(url->host)) {
    r.Error(node.Mark(), std::string(what) + " \"" + std::string(text) +
                             "\": use https; plain http is allowed only to loopback addresses, "
                             "because the token would cross the network unencrypted");
  }
}

// A connection's proxy, read as the HTTP client reads it, but with the
// "http://" written out. Never repeated: it may hold a password.
void CheckProxy(Reader& r, const YAML::Node& node, std::string_view value) {
  if (!AsciiLower(value).starts_with("http://")) {
    r.Error(node.Mark(), "proxy must be an http:// URL such as http://proxy.example.com:3128, "
                         "or \"none\" (not repeated here: it may hold a password)");
  } else if (auto parsed = ParseProxyUrl(value); !parsed) {
    r.Error(node.Mark(), "proxy: " + parsed.error().message);
  }
}

// metrics_listen, read as MetricsServer::Start() reads it.
void CheckListen(Reader& r, const YAML::Node& node, std::string_view what,
                 std::string_view listen) {
  if (auto parsed = ParseListenAddress(listen); !parsed) {
    r.Error(node.Mark(), std::string(what) + " \"" + std::string(listen) + "\": " +
                             parsed.error().message);
  }
}

// The HTTP client loads ca_file on its first request; a path that is not a
// readable file would only fail then.
void CheckCaFile(Reader& r, const YAML::Node& node, const fs::path& path) {
  struct stat st {};
  std::optional<std::string> why;
  if (::stat(path.c_str(), &st) != 0) {
    why = std::strerror(errno);
  } else if (auto kind = NotARegularFile(st.st_mode)) {
    why = *kind;
  } else if (::access(path.c_str(), R_OK) != 0) {
    why = std::strerror(errno);
  }
  if (why) {
    r.Error(node.Mark(), "ca_file \"" + path.string() + "\": " + *why);
  }
}

void ParseBoard(Reader& r, const YAML::Node& node, BoardConfig& board, const fs::path& base) {
  if (!r.IsMap(node, "\"board\"")) {
    return;
  }
  board.type = r.String(node, "type", false).value_or("sqlite");
  if (board.type == "sqlite") {
    r.CheckKeys(node, {"type", "path"}, "board (type sqlite)");
    board.path = r.String(node, "path", false).value_or("board.db");
  } else if (board.type == "http") {
    r.CheckKeys(node, {"type", "url", "token_file", "token_env", "token_credential", "batch_size"},
                "board (type http)");
    board.url = r.String(node, "url", true).value_or("");
    if (!board.url.empty()) {
      CheckUrl(r, node["url"], "board url", board.url);
    }
    board.token = r.Token(node, base, "the http board");
    board.batch_size = r.Int(node, "batch_size", 1, 10'000).value_or(500);
  } else if (board.type == "postgres") {
    r.CheckKeys(node, {"type", "url_file", "url_env", "url_credential", "batch_size"},
                "board (type postgres)");
    board.database_url = r.Token(node, base, "the postgres board", "url");
    board.batch_size = r.Int(node, "batch_size", 1, 10'000).value_or(500);
  } else {
    r.Error(node["type"].Mark(),
            "unknown board type \"" + board.type + "\" (known: sqlite, http, postgres)");
  }
}

void ParseState(Reader& r, const YAML::Node& node, StateConfig& state, const fs::path& base) {
  if (!r.IsMap(node, "\"state\"")) {
    return;
  }
  state.type = r.String(node, "type", false).value_or("sqlite");
  if (state.type == "sqlite") {
    r.CheckKeys(node, {"type"}, "state (type sqlite)");
  } else if (state.type == "postgres") {
    r.CheckKeys(node, {"type", "url_file", "url_env", "url_credential", "lease_ttl"},
                "state (type postgres)");
    state.database_url = r.Token(node, base, "the postgres state", "url");
    state.lease_ttl =
        r.Duration(node, "lease_ttl", std::chrono::seconds(3), "3s").value_or(state.lease_ttl);
  } else {
    r.Error(node["type"].Mark(),
            "unknown state type \"" + state.type + "\" (known: sqlite, postgres)");
  }
}

// A connection's keys for its connector (core/connector.h), over the same
// Reader: problems keep their file:line:column.
class NodeOptions : public OptionReader {
 public:
  NodeOptions(Reader& r, const YAML::Node& node) : r_(r), node_(node) {}

  bool Has(std::string_view key) const override {
    const YAML::Node value = node_[std::string(key)];
    return value && !value.IsNull();
  }
  std::optional<std::string> String(std::string_view key, bool required) override {
    return r_.String(node_, std::string(key).c_str(), required);
  }
  std::optional<std::string> Choice(std::string_view key,
                                    std::span<const std::string_view> choices) override {
    auto value = String(key, false);
    if (!value) {
      return std::nullopt;
    }
    std::string listed;
    for (std::string_view choice : choices) {
      if (*value == choice) {
        return value;
      }
      listed += (listed.empty() ? "" : ", ") + std::string(choice);
    }
    Error(key, "\"" + std::string(key) + "\" must be one of " + listed + " (not \"" + *value + "\")");
    return std::nullopt;
  }
  std::optional<int> Int(std::string_view key, int min, int max) override {
    return r_.Int(node_, std::string(key).c_str(), min, max);
  }
  std::optional<std::vector<std::string>> StringList(std::string_view key,
                                                     bool required) override {
    const YAML::Node value = node_[std::string(key)];
    if (!value || value.IsNull()) {
      if (required) {
        r_.Error(node_.Mark(), "missing required key \"" + std::string(key) + "\"");
        return std::nullopt;
      }
      return std::vector<std::string>();
    }
    const std::string must = "\"" + std::string(key) + "\" must be a list of strings, e.g. [a, b]";
    if (!value.IsSequence()) {
      r_.Error(value.Mark(), must);
      return std::nullopt;
    }
    std::vector<std::string> list;
    bool ok = true;
    for (const YAML::Node& item : value) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        r_.Error(item.Mark(), must + " (this entry is " +
                                  (item.IsScalar() ? "empty" : "not a string") + ")");
        ok = false;
        continue;
      }
      list.push_back(item.Scalar());
    }
    if (ok && required && list.empty()) {
      r_.Error(value.Mark(), "\"" + std::string(key) + "\" must name at least one");
      return std::nullopt;
    }
    return ok ? std::optional(std::move(list)) : std::nullopt;
  }
  std::unique_ptr<OptionReader> Section(std::string_view key,
                                        std::span<const std::string_view> keys) override {
    const YAML::Node value = node_[std::string(key)];
    if (!value || value.IsNull() || !r_.IsMap(value, "\"" + std::string(key) + "\"")) {
      return nullptr;
    }
    r_.CheckKeys(value, std::set<std::string>(keys.begin(), keys.end()),
                 "\"" + std::string(key) + "\"");
    return std::make_unique<NodeOptions>(r_, value);
  }
  void Error(std::string_view key, std::string message) override {
    const YAML::Node value = node_[std::string(key)];
    r_.Error(value ? value.Mark() : node_.Mark(), std::move(message));
  }

 private:
  Reader& r_;
  YAML::Node node_;  // a handle into the document
};

void ParseConnection(Reader& r, const YAML::Node& node, ConnectionConfig& c, const fs::path& base) {
  c.where = r.Place(node);
  if (!r.IsMap(node, "a connection")) {
    return;
  }
  c.type = r.String(node, "type", true).value_or("");
  const TrackerType* type = c.type.empty() ? nullptr : FindTrackerType(c.type);
  std::set<std::string> keys = {"name",      "type",    "base_url",    "token_file",
                                "token_env", "token_credential", "query", "mapping",
                                "board",     "interval", "full_resync", "page_size",
                                "concurrency", "timeout", "ca_file",   "proxy",
                                "sync_back_interval"};
  std::string keys_of = "connection";
  if (type != nullptr) {
    keys.insert(type->keys.begin(), type->keys.end());
    keys_of = "connection (type " + c.type + ")";
  }
  r.CheckKeys(node, keys, keys_of);
  c.name = r.String(node, "name", true).value_or("");
  // [a-z0-9_-]+, checked by hand: std::regex recurses once per character and
  // overflows the stack on a long name.
  auto name_char = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  };
  if (!c.name.empty() && !std::all_of(c.name.begin(), c.name.end(), name_char)) {
    r.Error(node["name"].Mark(), "connection name \"" + c.name +
                                     "\" may use only a-z, 0-9, _ and - (it is part of every "
                                     "item key, so keep it stable)");
  }
  std::string owner = "connection \"" + c.name + "\"";
  if (!c.type.empty() && type == nullptr) {
    r.Error(node["type"].Mark(), "unknown connection type \"" + c.type + "\" (known: " +
                                     TrackerTypeNames() + ")");
  }
  const bool base_url_required = type == nullptr || type->default_base_url.empty();
  c.base_url = r.String(node, "base_url", base_url_required).value_or("");
  if (!c.base_url.empty()) {
    CheckUrl(r, node["base_url"], "base_url", c.base_url);
  } else if (type != nullptr) {
    c.base_url = std::string(type->default_base_url);
  }
  if (type != nullptr) {
    NodeOptions options(r, node);
    c.tracker_options = type->parse(options);
  }
  if (auto token = r.Token(node, base, owner)) {
    c.token = *token;
  }
  c.query = r.String(node, "query", false).value_or("");
  if (auto mapping = r.String(node, "mapping", true)) {
    c.mapping = Resolve(base, *mapping);
  }
  if (auto board = r.String(node, "board", false)) {
    c.board = *board;
    if (c.board.empty() || c.board == "." || c.board == "..") {
      r.Error(node["board"].Mark(), "board id \"" + c.board +
                                        "\" cannot be used: board ids are sent as a path segment "
                                        "of the board store's URLs");
    }
  } else {
    c.board = c.name;
  }
  c.interval = r.Duration(node, "interval", kMinInterval, "1s").value_or(c.interval);
  c.full_resync = r.Duration(node, "full_resync", kMinFullResync, "1m").value_or(c.full_resync);
  c.sync_back_interval = r.Duration(node, "sync_back_interval", kMinInterval, "1s")
                             .value_or(c.sync_back_interval);
  c.page_size = r.Int(node, "page_size", 1, 10'000).value_or(c.page_size);
  c.concurrency = r.Int(node, "concurrency", 1, 16).value_or(c.concurrency);
  c.timeout = r.Duration(node, "timeout", kMinTimeout, "1s").value_or(c.timeout);
  if (auto ca = r.String(node, "ca_file", false)) {
    c.ca_file = Resolve(base, *ca);
    CheckCaFile(r, node["ca_file"], c.ca_file);
  }
  if (auto proxy = r.String(node, "proxy", false)) {
    std::string value(TrimSpace(*proxy));
    if (AsciiLower(value) == "none") {
      value.clear();
    }
    if (!value.empty()) {
      CheckProxy(r, node["proxy"], value);
    }
    c.proxy = std::move(value);
  }
}

fs::path DefaultStateDir() {
  if (const char* dirs = std::getenv("STATE_DIRECTORY"); dirs != nullptr && *dirs != '\0') {
    std::string first(dirs);
    return first.substr(0, first.find(':'));  // systemd lists several with ':'
  }
  return fs::absolute(".boardsync").lexically_normal();
}

}  // namespace

const ConnectionConfig* Config::FindConnection(std::string_view name) const {
  for (const auto& c : connections) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

fs::path DefaultConfigPath() {
  if (const char* env = std::getenv("BOARDSYNC_CONFIG"); env != nullptr && *env != '\0') {
    return env;
  }
  return "/etc/boardsync/boardsync.yaml";
}

std::expected<Config, Diagnostics> ParseConfig(std::string_view text, const fs::path& file) {
  Reader r(file.string());
  Config config;
  config.file = file;
  const fs::path base = fs::absolute(file).parent_path();
  YamlCheck limits = CheckYaml(text, file.string());
  if (limits.refuse) {
    return std::unexpected(std::move(limits.problems));
  }
  r.diagnostics() = std::move(limits.problems);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    r.Error(e.mark, e.msg);
    return std::unexpected(r.diagnostics());
  }
  if (!root.IsMap()) {
    r.Error(root.Mark(), "the config must be a mapping with a \"connections\" list");
    return std::unexpected(r.diagnostics());
  }
  try {
    r.CheckKeys(root, {"state_dir", "metrics_listen", "state", "board", "connections"},
                "the config");
    auto state_dir = r.String(root, "state_dir", false);
    config.state_dir = state_dir ? Resolve(base, *state_dir) : DefaultStateDir();
    config.metrics_listen = r.String(root, "metrics_listen", false).value_or("");
    if (!config.metrics_listen.empty()) {
      CheckListen(r, root["metrics_listen"], "metrics_listen", config.metrics_listen);
    }
    if (YAML::Node state = root["state"]; state && !state.IsNull()) {
      ParseState(r, state, config.state, base);
    }
    if (YAML::Node board = root["board"]; board && !board.IsNull()) {
      ParseBoard(r, board, config.board, base);
    } else {
      config.board.path = "board.db";
    }
    if (config.board.type == "sqlite") {
      config.board.path = (config.state_dir / config.board.path).lexically_normal();
    }
    YAML::Node connections = root["connections"];
    if (!connections || !connections.IsSequence() || connections.size() == 0) {
      r.Error(connections ? connections.Mark() : root.Mark(),
              "\"connections\" must be a list with at least one connection");
    } else {
      std::set<std::string> names;
      for (const auto& node : connections) {
        ConnectionConfig& c = config.connections.emplace_back();
        ParseConnection(r, node, c, base);
        if (!c.name.empty() && !names.insert(c.name).second) {
          r.Error(node["name"].Mark(), "connection name \"" + c.name + "\" is used twice");
        }
      }
    }
  } catch (const YAML::Exception& e) {
    r.Error(e.mark, e.msg);
  }
  if (!r.diagnostics().empty()) {
    return std::unexpected(r.diagnostics());
  }
  return config;
}

std::expected<Config, Diagnostics> LoadConfig(const fs::path& file) {
  auto text = ReadBoundedFile(file);
  if (!text) {
    return std::unexpected(Diagnostics{Diagnostic{
        file.string(), 0, 0,
        "cannot read the config file: " + text.error() +
            " (use --config FILE or BOARDSYNC_CONFIG)"}});
  }
  return ParseConfig(*text, file);
}

}  // namespace boardsync

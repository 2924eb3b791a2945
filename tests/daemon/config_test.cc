#include "daemon/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

constexpr const char* kGood = R"(state_dir: state
board:
  type: sqlite
  path: board.db
connections:
  - name: acme-yt
    type: youtrack
    base_url: https://acme.youtrack.cloud
    token_file: tokens/acme.token
    query: "project: RAP #Unresolved"
    mapping: mappings/youtrack.yaml
    board: roadmap
    interval: 5m
    page_size: 50
    timeout: 10s
)";

std::vector<std::string> Messages(const Diagnostics& diagnostics) {
  std::vector<std::string> out;
  for (const auto& d : diagnostics) {
    out.push_back(d.ToString());
  }
  return out;
}

TEST(ConfigTest, ParsesTypedValuesAndResolvesPathsAgainstTheConfigFolder) {
  auto config = ParseConfig(kGood, "/etc/boardsync/boardsync.yaml");
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  EXPECT_EQ(config->state_dir, "/etc/boardsync/state");
  EXPECT_EQ(config->board.type, "sqlite");
  EXPECT_EQ(config->board.path, "/etc/boardsync/state/board.db");
  ASSERT_EQ(config->connections.size(), 1u);
  const ConnectionConfig& c = config->connections[0];
  EXPECT_EQ(c.name, "acme-yt");
  EXPECT_EQ(c.token.kind, TokenSource::Kind::kFile);
  EXPECT_EQ(c.token.value, "/etc/boardsync/tokens/acme.token");
  EXPECT_EQ(c.mapping, "/etc/boardsync/mappings/youtrack.yaml");
  EXPECT_EQ(c.query, "project: RAP #Unresolved");
  EXPECT_EQ(c.board, "roadmap");
  EXPECT_EQ(c.interval, std::chrono::minutes(5));
  EXPECT_EQ(c.full_resync, std::chrono::hours(24));
  EXPECT_EQ(c.page_size, 50);
  EXPECT_EQ(c.timeout, std::chrono::seconds(10));
}

TEST(ConfigTest, DefaultsBoardToSqliteInTheStateDirAndBoardIdToTheConnectionName) {
  auto config = ParseConfig(R"(state_dir: /var/lib/boardsync
connections:
  - name: a
    type: youtrack
    base_url: https://a.youtrack.cloud
    token_env: A_TOKEN
    mapping: m.yaml
)",
                            "/cfg/b.yaml");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->board.type, "sqlite");
  EXPECT_EQ(config->board.path, "/var/lib/boardsync/board.db");
  EXPECT_EQ(config->connections[0].board, "a");
  EXPECT_EQ(config->connections[0].token.kind, TokenSource::Kind::kEnv);
  EXPECT_EQ(config->connections[0].page_size, 100);
}

TEST(ConfigTest, ReportsEveryProblemWithFileLineAndColumn) {
  auto config = ParseConfig(R"(state_dir: s
colour: blue
connections:
  - name: Bad Name
    type: jira2
    base_url: https://a.youtrack.cloud
    token_file: t
    token_env: T
    mapping: m.yaml
    interval: soon
    page_size: lots
    extra: 1
  - name: ok
    type: youtrack
    base_url: https://b.youtrack.cloud
    mapping: m.yaml
)",
                            "/cfg/boardsync.yaml");
  ASSERT_FALSE(config);
  std::vector<std::string> m = Messages(config.error());
  auto has = [&](const std::string& prefix, const std::string& words) {
    for (const auto& line : m) {
      if (line.starts_with(prefix) && line.find(words) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has("/cfg/boardsync.yaml:2:1: ", "unknown key \"colour\"")) << testing::PrintToString(m);
  EXPECT_TRUE(has("/cfg/boardsync.yaml:4:11: ", "may use only a-z")) << testing::PrintToString(m);
  EXPECT_TRUE(has("/cfg/boardsync.yaml:5:11: ", "unknown connection type \"jira2\""));
  EXPECT_TRUE(has("/cfg/boardsync.yaml:4:5: ", "more than one of token_file"));
  EXPECT_TRUE(has("/cfg/boardsync.yaml:10:15: ", "duration"));
  EXPECT_TRUE(has("/cfg/boardsync.yaml:11:16: ", "whole number"));
  EXPECT_TRUE(has("/cfg/boardsync.yaml:12:5: ", "unknown key \"extra\""));
  EXPECT_TRUE(has("/cfg/boardsync.yaml:13:5: ", "needs a token"));
  EXPECT_EQ(m.size(), 8u) << testing::PrintToString(m);
}

TEST(ConfigTest, TokenSourcesKeepThePlaceOfTheirValue) {
  auto config = ParseConfig(R"(board:
  type: http
  url: https://board.example
  token_file:   board.token
connections:
  - name: a
    type: youtrack
    base_url: https://a.youtrack.cloud
    token_file: a.token
    mapping: m.yaml
  - {name: b, type: youtrack, base_url: https://b.youtrack.cloud, token_env: B_TOKEN, mapping: m.yaml}
  - name: c
    type: youtrack
    base_url: https://c.youtrack.cloud
    token_credential: c.token
    mapping: m.yaml
)",
                            "/cfg/boardsync.yaml");
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  ASSERT_TRUE(config->board.token);
  EXPECT_EQ(config->board.token->value, "/cfg/board.token");
  auto place = [](const TokenSource& token) {
    Diagnostic d = token.where;
    d.message = "here";
    return d.ToString();
  };
  EXPECT_EQ(place(*config->board.token), "/cfg/boardsync.yaml:4:17: here");
  ASSERT_EQ(config->connections.size(), 3u);
  EXPECT_EQ(place(config->connections[0].token), "/cfg/boardsync.yaml:9:17: here");
  EXPECT_EQ(config->connections[1].token.kind, TokenSource::Kind::kEnv);
  EXPECT_EQ(place(config->connections[1].token), "/cfg/boardsync.yaml:11:78: here");
  EXPECT_EQ(config->connections[2].token.kind, TokenSource::Kind::kCredential);
  EXPECT_EQ(place(config->connections[2].token), "/cfg/boardsync.yaml:15:23: here");
}

TEST(ConfigTest, MissingKeysAndDuplicateNames) {
  auto config = ParseConfig(R"(connections:
  - name: a
    type: youtrack
    token_env: T
  - name: a
    type: youtrack
    base_url: https://b.youtrack.cloud
    token_env: T
    mapping: m.yaml
)",
                            "c.yaml");
  ASSERT_FALSE(config);
  std::vector<std::string> m = Messages(config.error());
  EXPECT_NE(std::find_if(m.begin(), m.end(),
                         [](const std::string& s) {
                           return s.find("missing required key \"base_url\"") != std::string::npos;
                         }),
            m.end());
  EXPECT_NE(std::find_if(m.begin(), m.end(),
                         [](const std::string& s) {
                           return s.find("missing required key \"mapping\"") != std::string::npos;
                         }),
            m.end());
  EXPECT_NE(std::find_if(m.begin(), m.end(),
                         [](const std::string& s) {
                           return s.starts_with("c.yaml:5:11: ") &&
                                  s.find("used twice") != std::string::npos;
                         }),
            m.end())
      << testing::PrintToString(m);
}

TEST(ConfigTest, DurationsAreBoundedToAYear) {
  auto config = ParseConfig(R"(connections:
  - name: a
    type: youtrack
    base_url: https://a.youtrack.cloud
    token_env: T
    mapping: m.yaml
    interval: 1000000d
)",
                            "c.yaml");
  ASSERT_FALSE(config);
  ASSERT_EQ(config.error().size(), 1u);
  EXPECT_EQ(config.error()[0].ToString(), "c.yaml:7:15: \"interval\" must be at most 366d");
}

TEST(ConfigTest, PostgresStateAndBoardTakeTheirUrlLikeATokenAndALeaseTtl) {
  auto config = ParseConfig(R"(state:
  type: postgres
  url_file: pg.url
  lease_ttl: 12s
board:
  type: postgres
  url_env: BOARD_PG_URL
  batch_size: 200
connections:
  - {name: a, type: youtrack, base_url: https://a.example, token_file: t, mapping: m.yaml}
)",
                            "/cfg/boardsync.yaml");
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  EXPECT_EQ(config->state.type, "postgres");
  ASSERT_TRUE(config->state.database_url);
  EXPECT_EQ(config->state.database_url->kind, TokenSource::Kind::kFile);
  EXPECT_EQ(config->state.database_url->value, "/cfg/pg.url");
  EXPECT_EQ(config->state.lease_ttl, std::chrono::seconds(12));
  EXPECT_EQ(config->board.type, "postgres");
  ASSERT_TRUE(config->board.database_url);
  EXPECT_EQ(config->board.database_url->kind, TokenSource::Kind::kEnv);
  EXPECT_EQ(config->board.database_url->value, "BOARD_PG_URL");
  EXPECT_EQ(config->board.batch_size, 200);

  auto defaults = ParseConfig(kGood, "/cfg/boardsync.yaml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->state.type, "sqlite");
  EXPECT_FALSE(defaults->state.database_url);
  EXPECT_EQ(defaults->state.lease_ttl, std::chrono::seconds(30));
}

TEST(ConfigTest, PostgresStateAndBoardProblemsHaveTheirPlace) {
  auto config = ParseConfig(R"(state:
  type: postgres
  url_file: a
  url_env: B
  lease_ttl: 1s
  path: x
board:
  type: postgres
connections:
  - {name: a, type: youtrack, base_url: https://a.example, token_file: t, mapping: m.yaml}
)",
                            "/cfg/boardsync.yaml");
  ASSERT_FALSE(config);
  const auto m = Messages(config.error());
  auto has = [&](const std::string& prefix, const std::string& text) {
    for (const auto& line : m) {
      if (line.starts_with(prefix) && line.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has("/cfg/boardsync.yaml:2:3: ", "more than one of url_file, url_env and "
                                                "url_credential"))
      << testing::PrintToString(m);
  EXPECT_TRUE(has("/cfg/boardsync.yaml:5:14: ", "at least 3s")) << testing::PrintToString(m);
  EXPECT_TRUE(has("/cfg/boardsync.yaml:6:3: ", "unknown key \"path\"")) << testing::PrintToString(m);
  EXPECT_TRUE(has("/cfg/boardsync.yaml:8:3: ", "the postgres board needs a URL: set one of "
                                                "url_file, url_env or url_credential"))
      << testing::PrintToString(m);

  auto unknown = ParseConfig(R"(state: {type: mysql}
connections:
  - {name: a, type: youtrack, base_url: https://a.example, token_file: t, mapping: m.yaml}
)",
                             "/cfg/boardsync.yaml");
  ASSERT_FALSE(unknown);
  EXPECT_THAT(Messages(unknown.error()),
              testing::Contains(testing::HasSubstr("unknown state type \"mysql\" (known: sqlite, "
                                                   "postgres)")));
}

TEST(ConfigTest, YamlSyntaxErrorsHaveAPlace) {
  auto config = ParseConfig("connections:\n  - name: [unclosed\n", "c.yaml");
  ASSERT_FALSE(config);
  ASSERT_EQ(config.error().size(), 1u);
  EXPECT_TRUE(config.error()[0].ToString().starts_with("c.yaml:")) << config.error()[0].ToString();
  EXPECT_GT(config.error()[0].line, 0);
}

TEST(ConfigTest, WrongShapesAreReportedNotThrown) {
  for (const char* text : {"[1, 2]", "connections: 3", "connections: []", "board: 5\nconnections: []",
                           "connections:\n  - just-a-string\n"}) {
    auto config = ParseConfig(text, "c.yaml");
    EXPECT_FALSE(config) << text;
  }
}

TEST(ConfigTest, UnreadableFileIsOneDiagnostic) {
  TempDir dir;
  auto config = LoadConfig(dir.path() / "missing.yaml");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error()[0].ToString().find("cannot read the config file"), std::string::npos);
}

TEST(ConfigTest, ShippedExampleConfigParses) {
  auto config = LoadConfig(SourceDir() / "deploy/boardsync.yaml");
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  EXPECT_FALSE(config->connections.empty());
}

// A one-connection config with `connection` lines added to it, and `top` lines before it.
std::string OneConnection(const std::string& connection, const std::string& top = "") {
  return top + "connections:\n"
               "  - name: a\n"
               "    type: youtrack\n"
               "    base_url: https://a.youtrack.cloud\n"
               "    token_env: T\n"
               "    mapping: m.yaml\n" +
         connection;
}

std::vector<std::string> Errors(const std::string& text) {
  auto config = ParseConfig(text, "c.yaml");
  if (config) {
    ADD_FAILURE() << "expected errors in:\n" << text;
    return {};
  }
  return Messages(config.error());
}

TEST(ConfigTest, DuplicateKeysAnywhereNameBothLinesAndAreReportedWithTheRest) {
  // The second connections list used to be dropped in silence.
  EXPECT_THAT(Errors(R"(connections:
  - name: a
    type: youtrack
    base_url: https://a.youtrack.cloud
    token_env: T
    token_env: U
    mapping: m.yaml
    colour: blue
board: {type: sqlite, path: x.db, path: y.db}
connections:
  - name: b
)"),
              testing::ElementsAre(
                  "c.yaml:6:5: duplicate key \"token_env\": the same key is at line 5, column 5 "
                  "(YAML would keep only the first)",
                  "c.yaml:9:35: duplicate key \"path\": the same key is at line 9, column 23 "
                  "(YAML would keep only the first)",
                  "c.yaml:10:1: duplicate key \"connections\": the same key is at line 1, "
                  "column 1 (YAML would keep only the first)",
                  testing::StartsWith("c.yaml:8:5: unknown key \"colour\"")));
}

TEST(ConfigTest, AnAliasBombIsRefusedWithItsPlaceAndNothingElse) {
  std::string text = "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n";
  for (int i = 1; i < 12; ++i) {
    std::string prev = "*x" + std::to_string(i - 1);
    text += "x" + std::to_string(i) + ": &x" + std::to_string(i) + " [" + prev + ", " + prev +
            ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev +
            ", " + prev + ", " + prev + "]\n";
  }
  auto config = ParseConfig(OneConnection("", text), "c.yaml");
  ASSERT_FALSE(config);
  EXPECT_THAT(Messages(config.error()),
              testing::ElementsAre(testing::AllOf(testing::StartsWith("c.yaml:4:"),
                                                  testing::HasSubstr("more than 10000 nodes"))));
}

TEST(ConfigTest, UrlsNeedHttpOrHttpsAHostAndAPortInRange) {
  for (const char* url : {"ftp://a.example", "https://", "https://a.example:0",
                          "https://a.example:65536", "https://a.example:x", "a.example"}) {
    std::string text = OneConnection("");
    text.replace(text.find("https://a.youtrack.cloud"), 24, url);
    EXPECT_THAT(Errors(text), testing::ElementsAre(testing::StartsWith("c.yaml:4:15: base_url: ")))
        << url;
  }
  EXPECT_THAT(Errors(OneConnection("", "board:\n  type: http\n  url: https://b:99999\n"
                                       "  token_env: B\n")),
              testing::ElementsAre(testing::StartsWith("c.yaml:3:8: board url: invalid URL")));
}

TEST(ConfigTest, AUserNameOrPasswordInAUrlIsRefusedWithoutRepeatingIt) {
  std::string text = OneConnection("", "board:\n  type: http\n  url: ftp://bob:Hunter2Secret@b\n"
                                       "  token_env: B\n");
  text.replace(text.find("https://a.youtrack.cloud"), 24, "https://alice:S3cretPass@a.example");
  std::vector<std::string> m = Errors(text);
  EXPECT_THAT(m, testing::ElementsAre(
                     testing::StartsWith("c.yaml:3:8: board url must not contain a user name or "
                                         "password (not repeated here)"),
                     testing::StartsWith("c.yaml:8:15: base_url must not contain a user name")));
  for (const std::string& line : m) {
    EXPECT_EQ(line.find("Hunter2Secret"), std::string::npos) << line;
    EXPECT_EQ(line.find("bob"), std::string::npos) << line;
    EXPECT_EQ(line.find("S3cretPass"), std::string::npos) << line;
    EXPECT_EQ(line.find("alice"), std::string::npos) << line;
  }
}

TEST(ConfigTest, PlainHttpFollowsTheLoopbackRuleOfCoreUrl) {
  std::string loopback = OneConnection("");
  loopback.replace(loopback.find("https://a.youtrack.cloud"), 24, "http://127.0.0.1:8080");
  EXPECT_TRUE(ParseConfig(loopback, "c.yaml"));
  std::string remote = OneConnection("");
  remote.replace(remote.find("https://a.youtrack.cloud"), 24, "http://a.example");
  EXPECT_THAT(Errors(remote), testing::ElementsAre(testing::HasSubstr("use https")));
}

TEST(ConfigTest, MetricsListenIsAnIpAddressAndAPort) {
  for (const char* good : {"127.0.0.1:9464", "[::1]:9464", "0.0.0.0:0"}) {
    EXPECT_TRUE(ParseConfig(OneConnection("", std::string("metrics_listen: \"") + good + "\"\n"),
                            "c.yaml"))
        << good;
  }
  for (const char* bad : {"localhost:9464", "127.0.0.1", "127.0.0.1:65536", "127.0.0.1:x",
                          "[::1]9464"}) {
    EXPECT_THAT(Errors(OneConnection("", std::string("metrics_listen: \"") + bad + "\"\n")),
                testing::ElementsAre(testing::StartsWith("c.yaml:1:17: metrics_listen \"")))
        << bad;
  }
}

TEST(ConfigTest, CaFileMustBeAReadableRegularFile) {
  TempDir dir;
  dir.Write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  ASSERT_EQ(::mkfifo((dir.path() / "fifo").c_str(), 0600), 0);
  const std::string file = (dir.path() / "boardsync.yaml").string();
  EXPECT_TRUE(ParseConfig(OneConnection("    ca_file: ca.pem\n"), file));
  for (const auto& [ca, why] : std::vector<std::pair<std::string, std::string>>{
           {"absent.pem", "No such file or directory"},
           {"fifo", "it is a FIFO, not a regular file"},
           {".", "it is a directory, not a regular file"}}) {
    auto config = ParseConfig(OneConnection("    ca_file: " + ca + "\n"), file);
    ASSERT_FALSE(config) << ca;
    EXPECT_THAT(Messages(config.error()),
                testing::ElementsAre(file + ":7:14: ca_file \"" +
                                     (dir.path() / ca).lexically_normal().string() + "\": " + why));
  }
}

TEST(ConfigTest, BoardIdsThatArePathSegmentsOfTheirOwnAreRefused) {
  for (const char* id : {"\".\"", "\"..\"", "\"\""}) {
    EXPECT_THAT(Errors(OneConnection(std::string("    board: ") + id + "\n")),
                testing::ElementsAre(testing::StartsWith("c.yaml:7:12: board id ")))
        << id;
  }
  EXPECT_TRUE(ParseConfig(OneConnection("    board: .roadmap\n"), "c.yaml"));
}

TEST(ConfigTest, DurationsHaveFloors) {
  EXPECT_THAT(Errors(OneConnection("    interval: 999ms\n    full_resync: 59s\n"
                                   "    timeout: 500ms\n")),
              testing::ElementsAre(
                  "c.yaml:7:15: \"interval\" must be at least 1s (units: ms, s, m, h, d)",
                  "c.yaml:8:18: \"full_resync\" must be at least 1m (units: ms, s, m, h, d)",
                  "c.yaml:9:14: \"timeout\" must be at least 1s (units: ms, s, m, h, d)"));
  auto config =
      ParseConfig(OneConnection("    interval: 1s\n    full_resync: 1m\n    timeout: 1000ms\n"),
                  "c.yaml");
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  EXPECT_EQ(config->connections[0].interval, std::chrono::seconds(1));
  EXPECT_EQ(config->connections[0].full_resync, std::chrono::minutes(1));
  EXPECT_EQ(config->connections[0].timeout, std::chrono::seconds(1));
}

TEST(ConfigTest, ConcurrencyIsAWholeNumberFromOneToSixteen) {
  auto defaulted = ParseConfig(OneConnection(""), "c.yaml");
  ASSERT_TRUE(defaulted);
  EXPECT_EQ(defaulted->connections[0].concurrency, 4);
  for (int n : {1, 16}) {
    auto config = ParseConfig(OneConnection("    concurrency: " + std::to_string(n) + "\n"),
                              "c.yaml");
    ASSERT_TRUE(config) << n;
    EXPECT_EQ(config->connections[0].concurrency, n);
  }
  for (const char* bad : {"0", "17", "-1", "4.5", "lots"}) {
    EXPECT_THAT(Errors(OneConnection(std::string("    concurrency: ") + bad + "\n")),
                testing::ElementsAre(
                    "c.yaml:7:18: \"concurrency\" must be a whole number from 1 to 16"))
        << bad;
  }
}

TEST(ConfigTest, ProxyIsUnsetNoneOrAnHttpUrl) {
  auto unset = ParseConfig(OneConnection(""), "c.yaml");
  ASSERT_TRUE(unset);
  EXPECT_FALSE(unset->connections[0].proxy);
  for (const char* none : {"\"\"", "none", "NONE"}) {
    auto config = ParseConfig(OneConnection(std::string("    proxy: ") + none + "\n"), "c.yaml");
    ASSERT_TRUE(config) << none;
    EXPECT_EQ(config->connections[0].proxy, "") << none;
  }
  auto set = ParseConfig(
      OneConnection("    proxy: http://svc%40corp:Pa55-Word@proxy.corp.example:3128\n"), "c.yaml");
  ASSERT_TRUE(set) << testing::PrintToString(Messages(set.error()));
  EXPECT_EQ(set->connections[0].proxy, "http://svc%40corp:Pa55-Word@proxy.corp.example:3128");
}

TEST(ConfigTest, ABadProxyIsReportedAtItsPlaceWithoutRepeatingIt) {
  for (const char* bad :
       {"https://svc:Pa55-Word@proxy:3128", "socks5://svc:Pa55-Word@proxy:1080",
        "svc:Pa55-Word@proxy:3128", "http://svc:Pa55-Word@proxy:99999",
        "http://svc:Pa55-Word@proxy:3128/path", "http://svc:Pa55-Word@"}) {
    std::vector<std::string> m = Errors(OneConnection(std::string("    proxy: ") + bad + "\n"));
    ASSERT_EQ(m.size(), 1u) << bad;
    EXPECT_TRUE(m[0].starts_with("c.yaml:7:12: proxy")) << m[0];
    EXPECT_NE(m[0].find("not repeated here"), std::string::npos) << m[0];
    EXPECT_EQ(m[0].find("Pa55-Word"), std::string::npos) << m[0];
    EXPECT_EQ(m[0].find("svc"), std::string::npos) << m[0];
  }
}

TEST(ConfigTest, AConfigFileMustBeARegularFileOfAtMostFourMib) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir.path() / "fifo.yaml").c_str(), 0600), 0);
  for (const auto& [path, why] : std::vector<std::pair<std::filesystem::path, std::string>>{
           {dir.path() / "fifo.yaml", "it is a FIFO, not a regular file"},
           {"/dev/zero", "it is a character device, not a regular file"},
           {dir.path(), "it is a directory, not a regular file"},
           {dir.Write("big.yaml", OneConnection("") + "#" + std::string(4 << 20, 'x') + "\n"),
            "it is larger than 4 MiB"}}) {
    auto config = LoadConfig(path);
    ASSERT_FALSE(config) << path;
    EXPECT_THAT(Messages(config.error()),
                testing::ElementsAre(path.string() + ": cannot read the config file: " + why +
                                     " (use --config FILE or BOARDSYNC_CONFIG)"));
  }
}

}  // namespace
}  // namespace boardsync

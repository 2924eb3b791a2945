#include "daemon/config.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace boardsync

// `boardsync sync` and `test-connection` with a Jira Cloud and a Jira Data
// Center connection next to a YouTrack one, all into the same SQLite board:
// the sample Jira (tests/support/jira/) and the sample YouTrack on loopback,
// the real connectors, HTTP client, state and board files.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>

#include "connectors/http/json.h"
#include "daemon/commands.h"
#include "tests/support/jira/jira_server.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using testing::HasSubstr;
using testing::Not;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

struct Row {
  std::string source_key;
  Value fields;
  bool archived = false;
};

constexpr std::string_view kJiraMapping = R"(fields:
  title: summary
  state: status
  points: Story Points
  assignee: Assignee.name
  link: $url
skip:
  status: ["Won't Do"]
)";

class JiraSyncTest : public testing::Test {
 protected:
  JiraSyncTest()
      : cloud_(JiraServerOptions{.flavor = JiraFlavor::kCloud}),
        dc_(JiraServerOptions{.flavor = JiraFlavor::kDataCenter,
                              .path_prefix = "/jira",
                              .user_time_zone = "America/New_York"}) {}

  void SetUp() override {
    ASSERT_TRUE(youtrack_.LoadIssues(SampleIssuesPath()));
    cloud_.GenerateIssues(60, 21);
    dc_.GenerateIssues(45, 22);
    Private(dir_.Write("yt.token", std::string(kSampleTrackerToken) + "\n"));
    Private(dir_.Write("cloud.token", std::string(kJiraCloudApiToken) + "\n"));
    Private(dir_.Write("dc.token", std::string(kJiraDataCenterToken) + "\n"));
    dir_.Write("jira.yaml", std::string(kJiraMapping));
    dir_.Write("boardsync.yaml",
               "state_dir: state\n"
               "connections:\n"
               "  - name: yt\n"
               "    type: youtrack\n"
               "    base_url: " + youtrack_.base_url() + "\n"
               "    token_file: yt.token\n"
               "    mapping: " + (SourceDir() / "mappings/examples/youtrack.yaml").string() + "\n"
               "    board: roadmap\n"
               "  - name: jira-cloud\n"
               "    type: jira\n"
               "    base_url: " + cloud_.base_url() + "\n"
               "    email: " + std::string(kJiraCloudEmail) + "\n"
               "    token_file: cloud.token\n"
               "    query: project in (RAP, SRV)\n"
               "    mapping: jira.yaml\n"
               "    board: roadmap\n"
               "    page_size: 25\n"
               "  - name: jira-dc\n"
               "    type: jira\n"
               "    base_url: " + dc_.base_url() + "\n"
               "    token_file: dc.token\n"
               "    mapping: jira.yaml\n"
               "    board: roadmap\n"
               "    page_size: 20\n");
  }

  static void Private(const std::filesystem::path& file) { ::chmod(file.c_str(), 0600); }

  Outcome Run(int (*command)(const CommandOptions&, std::ostream&, std::ostream&),
              bool full = false) {
    CommandOptions options;
    options.config_file = dir_.path() / "boardsync.yaml";
    options.full = full;
    std::ostringstream out, err;
    int code = command(options, out, err);
    return Outcome{code, out.str(), err.str()};
  }

  std::map<std::string, Row> Board() const {
    std::map<std::string, Row> rows;
    SQLite::Database db((dir_.path() / "state/board.db").string());
    SQLite::Statement q(db,
                        "SELECT item_key, source_key, fields, archived_at IS NOT NULL FROM items "
                        "WHERE board = 'roadmap'");
    while (q.executeStep()) {
      rows[q.getColumn(0).getString()] =
          Row{q.getColumn(1).getString(), ParseJson(q.getColumn(2).getString()).value_or(Value()),
              q.getColumn(3).getInt() != 0};
    }
    return rows;
  }

  // What the sample Jira has that the mapping keeps, by item key.
  static std::map<std::string, JiraIssue> Expected(const JiraServer& server,
                                                   std::string_view connection,
                                                   bool rap_and_srv_only) {
    std::map<std::string, JiraIssue> expected;
    for (const JiraIssue& issue : server.Issues()) {
      if (issue.status == "Won't Do" ||
          (rap_and_srv_only && issue.ProjectKey() != "RAP" && issue.ProjectKey() != "SRV")) {
        continue;
      }
      expected[std::string(connection) + ":" + std::to_string(issue.id)] = issue;
    }
    return expected;
  }

  static void ExpectOnBoard(const std::map<std::string, Row>& board,
                            const std::map<std::string, JiraIssue>& expected) {
    for (const auto& [item_key, issue] : expected) {
      auto row = board.find(item_key);
      ASSERT_NE(row, board.end()) << item_key;
      EXPECT_FALSE(row->second.archived) << item_key;
      EXPECT_EQ(row->second.source_key, issue.key);
      EXPECT_EQ(row->second.fields.StringOr("title"), issue.summary) << item_key;
      EXPECT_EQ(row->second.fields.StringOr("state"), issue.status) << item_key;
    }
  }

  static std::size_t LiveOf(const std::map<std::string, Row>& board, std::string_view prefix) {
    std::size_t n = 0;
    for (const auto& [key, row] : board) {
      n += key.starts_with(prefix) && !row.archived ? 1 : 0;
    }
    return n;
  }

  SampleTracker youtrack_;
  JiraServer cloud_;
  JiraServer dc_;
  TempDir dir_;
};

TEST_F(JiraSyncTest, CloudDataCenterAndYouTrackFillOneBoard) {
  Outcome sync = Run(&RunSync);
  ASSERT_EQ(sync.code, kExitOk) << sync.out << sync.err;
  auto board = Board();
  const auto cloud = Expected(cloud_, "jira-cloud", /*rap_and_srv_only=*/true);
  const auto dc = Expected(dc_, "jira-dc", /*rap_and_srv_only=*/false);
  ExpectOnBoard(board, cloud);
  ExpectOnBoard(board, dc);
  EXPECT_EQ(LiveOf(board, "jira-cloud:"), cloud.size());
  EXPECT_EQ(LiveOf(board, "jira-dc:"), dc.size());
  EXPECT_EQ(LiveOf(board, "yt:"), 13u);
  // Cloud spoke Basic (e-mail and API token), Data Center Bearer (PAT).
  EXPECT_EQ(*cloud_.LastRequest()->request.Header("authorization"), cloud_.AuthorizationHeader());
  EXPECT_THAT(dc_.AuthorizationHeader(), testing::StartsWith("Bearer "));
  EXPECT_EQ(*dc_.LastRequest()->request.Header("authorization"), dc_.AuthorizationHeader());
}

TEST_F(JiraSyncTest, AnIncrementalSyncWithNothingNewAsksEachJiraOnce) {
  ASSERT_EQ(Run(&RunSync).code, kExitOk);
  cloud_.ClearRequests();
  dc_.ClearRequests();
  Outcome again = Run(&RunSync);
  ASSERT_EQ(again.code, kExitOk) << again.out << again.err;
  EXPECT_EQ(cloud_.total_requests(), 1u);  // one search: the session vouches for the token
  EXPECT_EQ(dc_.total_requests(), 1u);
  EXPECT_EQ(cloud_.search_requests(), 1u);
  EXPECT_EQ(dc_.search_requests(), 1u);
}

TEST_F(JiraSyncTest, ChangesMovesAndDeletionsReachTheBoard) {
  ASSERT_EQ(Run(&RunSync).code, kExitOk);
  std::vector<JiraIssue> issues = dc_.Issues();
  const JiraIssue changed = issues[3];
  const JiraIssue moved = issues[5];
  const JiraIssue deleted = issues[7];
  ASSERT_TRUE(dc_.UpdateIssue(changed.key, [](JiraIssue& i) { i.summary = "Changed in Jira"; }));
  auto new_key = dc_.MoveIssue(moved.key, "OPS");
  ASSERT_TRUE(new_key);
  ASSERT_TRUE(dc_.DeleteIssue(deleted.key));

  Outcome incremental = Run(&RunSync);
  ASSERT_EQ(incremental.code, kExitOk) << incremental.out << incremental.err;
  auto board = Board();
  const std::string prefix = "jira-dc:";
  EXPECT_EQ(board.at(prefix + std::to_string(changed.id)).fields.StringOr("title"),
            "Changed in Jira");
  EXPECT_EQ(board.at(prefix + std::to_string(moved.id)).source_key, *new_key);

  // Deletions: the id-only sweep of a full pass archives what is gone.
  Outcome full = Run(&RunSync, /*full=*/true);
  ASSERT_EQ(full.code, kExitOk) << full.out << full.err;
  board = Board();
  if (deleted.status != "Won't Do") {
    EXPECT_TRUE(board.at(prefix + std::to_string(deleted.id)).archived);
  }
  EXPECT_EQ(LiveOf(board, prefix), Expected(dc_, "jira-dc", false).size());
}

TEST_F(JiraSyncTest, TestConnectionNamesTheUserAndWarnsOfFieldsJiraLacks) {
  dir_.Write("jira.yaml", "fields:\n  typo: Storie Points\n" +
                              std::string(kJiraMapping).substr(std::string_view("fields:\n").size()));
  Outcome tested = Run(&RunTestConnection);
  ASSERT_EQ(tested.code, kExitOk) << tested.out << tested.err;
  EXPECT_THAT(tested.out, HasSubstr("jira-cloud: ok, the token belongs to"));
  EXPECT_THAT(tested.out, HasSubstr("jira-dc: ok, the token belongs to"));
  EXPECT_THAT(tested.out, HasSubstr("jira-cloud: warning: the mapping reads \"Storie Points\""));
  EXPECT_THAT(tested.out, Not(HasSubstr("yt: warning")));
}

TEST_F(JiraSyncTest, TokensNeverShowInOutputOrStateFiles) {
  cloud_.SetToken("ATATTRotatedElsewhere000");  // ours is now refused: 401
  Outcome sync = Run(&RunSync);
  EXPECT_NE(sync.code, kExitOk);
  EXPECT_THAT(sync.out + sync.err, HasSubstr("jira-cloud"));
  EXPECT_THAT(sync.out + sync.err, HasSubstr("HTTP 401"));
  Outcome tested = Run(&RunTestConnection);
  for (const std::string& text : {sync.out, sync.err, tested.out, tested.err}) {
    EXPECT_THAT(text, Not(HasSubstr(kJiraCloudApiToken)));
    EXPECT_THAT(text, Not(HasSubstr(kJiraDataCenterToken)));
    EXPECT_THAT(text, Not(HasSubstr("Basic ")));
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path() / "state")) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(kJiraCloudApiToken), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.find(kJiraDataCenterToken), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace boardsync

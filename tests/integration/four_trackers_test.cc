// One board fed by four trackers at once: a YouTrack, a Jira (Data Center),
// a GitHub (two repositories, pull requests among the issues) and a GitLab
// (a project) connection, each on its sample server on loopback, through
// `boardsync sync` with the real connectors, HTTP client, state and board
// files: the shape of README's "One board from four trackers".

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <sstream>

#include "connectors/http/json.h"
#include "daemon/commands.h"
#include "tests/support/github/github_server.h"
#include "tests/support/gitlab/gitlab_server.h"
#include "tests/support/jira/jira_server.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using testing::HasSubstr;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

struct Row {
  std::string source_key;
  std::string source_url;
  Value fields;
  bool archived = false;
};

// Each tracker's mapping writes the same board fields: title and state.
constexpr std::string_view kJiraMapping = "fields:\n  title: summary\n  state: status\n";
constexpr std::string_view kGitHubMapping =
    "fields:\n  title: title\n  state: state\n  labels: labels\n";
constexpr std::string_view kGitLabMapping =
    "fields:\n  title: title\n  state: state\n  labels: labels\n";

class FourTrackersTest : public testing::Test {
 protected:
  FourTrackersTest()
      : jira_(JiraServerOptions{.flavor = JiraFlavor::kDataCenter, .path_prefix = "/jira"}),
        gitlab_(GitLabServerOptions{.path_prefix = "/gitlab"}) {}

  void SetUp() override {
    ASSERT_TRUE(youtrack_.LoadIssues(SampleIssuesPath()));
    jira_.GenerateIssues(25, 31);
    SeedGitHub();
    SeedGitLab();
    Private(dir_.Write("yt.token", std::string(kSampleTrackerToken) + "\n"));
    Private(dir_.Write("jira.token", std::string(kJiraDataCenterToken) + "\n"));
    Private(dir_.Write("gh.token", std::string(kGitHubFineGrainedToken) + "\n"));
    Private(dir_.Write("gl.token", std::string(kGitLabToken) + "\n"));
    dir_.Write("jira.yaml", std::string(kJiraMapping));
    dir_.Write("github.yaml", std::string(kGitHubMapping));
    dir_.Write("gitlab.yaml", std::string(kGitLabMapping));
    dir_.Write("boardsync.yaml",
               "state_dir: state\n"
               "connections:\n"
               "  - { name: yt, type: youtrack, base_url: " + youtrack_.base_url() +
                   ", token_file: yt.token, mapping: " +
                   (SourceDir() / "mappings/examples/youtrack.yaml").string() +
                   ", board: roadmap }\n"
                   "  - { name: jira, type: jira, base_url: " + jira_.base_url() +
                   ", token_file: jira.token, query: project = RAP, mapping: jira.yaml,"
                   " board: roadmap, page_size: 10 }\n"
                   "  - { name: gh, type: github, base_url: " + github_.base_url() +
                   ", repos: [acme/web, acme/api], token_file: gh.token, mapping: github.yaml,"
                   " board: roadmap, page_size: 7 }\n"
                   "  - { name: gl, type: gitlab, base_url: " + gitlab_.base_url() +
                   ", project: acme/roadmap, token_file: gl.token, mapping: gitlab.yaml,"
                   " board: roadmap, page_size: 6 }\n");
  }

  void SeedGitHub() {
    ASSERT_TRUE(github_.AddRepo(GitHubRepo{.full_name = "acme/web", .is_private = true}));
    ASSERT_TRUE(github_.AddRepo(GitHubRepo{.full_name = "acme/api"}));
    github_.SetNow(1'760'000'000);
    for (int i = 0; i < 24; ++i) {
      GitHubIssue issue;
      issue.repo = i % 3 == 0 ? "acme/api" : "acme/web";
      issue.title = "GitHub issue " + std::to_string(i);
      issue.labels = {i % 2 == 0 ? "bug" : "feature"};
      issue.pull_request = i % 4 == 1;  // pull requests share the lists
      if (i % 5 == 0 && !issue.pull_request) {
        issue.state = "closed";
      }
      ASSERT_TRUE(issue.pull_request ? github_.AddPullRequest(issue) : github_.AddIssue(issue));
      if (i % 3 != 2) {
        // Some share a second; the rest lie further apart than the
        // incremental pull's overlap, so a pull with nothing new reads a page.
        github_.AdvanceClock(i < 18 ? 1 : 400);
      }
    }
  }

  void SeedGitLab() {
    gitlab_.SetNow(1'760'000'000'000);
    for (int i = 0; i < 15; ++i) {
      GitLabIssue issue;
      issue.project = "acme/roadmap";
      issue.title = "GitLab issue " + std::to_string(i);
      issue.labels = {i % 2 == 0 ? "priority::high" : "priority::low"};
      if (i % 4 == 3) {
        issue.state = "closed";
      }
      ASSERT_TRUE(gitlab_.AddIssue(issue));
      gitlab_.AdvanceClock(std::chrono::milliseconds(i % 2 == 0 ? 0 : i < 10 ? 1500 : 400'000));
    }
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
                        "SELECT item_key, source_key, source_url, fields, archived_at IS NOT NULL "
                        "FROM items WHERE board = 'roadmap'");
    while (q.executeStep()) {
      rows[q.getColumn(0).getString()] =
          Row{q.getColumn(1).getString(), q.getColumn(2).getString(),
              ParseJson(q.getColumn(3).getString()).value_or(Value()), q.getColumn(4).getInt() != 0};
    }
    return rows;
  }

  static std::size_t LiveOf(const std::map<std::string, Row>& board, std::string_view prefix) {
    std::size_t n = 0;
    for (const auto& [key, row] : board) {
      n += key.starts_with(prefix) && !row.archived ? 1 : 0;
    }
    return n;
  }

  // Every GitHub issue (never a pull request) is on the board as it is now.
  void ExpectGitHubOnBoard(const std::map<std::string, Row>& board) const {
    std::size_t issues = 0;
    for (const GitHubIssue& issue : github_.Issues()) {
      const std::string key = "gh:" + std::to_string(issue.id);
      if (issue.pull_request) {
        EXPECT_FALSE(board.contains(key)) << "a pull request became an item: " << key;
        continue;
      }
      ++issues;
      auto row = board.find(key);
      ASSERT_NE(row, board.end()) << key;
      EXPECT_FALSE(row->second.archived) << key;
      EXPECT_EQ(row->second.source_key, issue.repo + "#" + std::to_string(issue.number));
      EXPECT_EQ(row->second.source_url,
                "https://github.com/" + issue.repo + "/issues/" + std::to_string(issue.number));
      EXPECT_EQ(row->second.fields.StringOr("title"), issue.title) << key;
      EXPECT_EQ(row->second.fields.StringOr("state"), issue.state) << key;
      const Value* labels = row->second.fields.Find("labels");
      ASSERT_NE(labels, nullptr) << key;
      ASSERT_TRUE(labels->IsList()) << key;
      ASSERT_EQ(labels->AsList().size(), issue.labels.size()) << key;
    }
    EXPECT_EQ(LiveOf(board, "gh:"), issues);
  }

  void ExpectGitLabOnBoard(const std::map<std::string, Row>& board) const {
    std::size_t issues = 0;
    for (const GitLabIssue& issue : gitlab_.Issues()) {
      if (issue.project != "acme/roadmap") {
        continue;
      }
      ++issues;
      const std::string key = "gl:" + std::to_string(issue.id);
      auto row = board.find(key);
      ASSERT_NE(row, board.end()) << key;
      EXPECT_FALSE(row->second.archived) << key;
      EXPECT_EQ(row->second.source_key, "acme/roadmap#" + std::to_string(issue.iid));
      EXPECT_EQ(row->second.fields.StringOr("title"), issue.title) << key;
      EXPECT_EQ(row->second.fields.StringOr("state"), issue.state) << key;
    }
    EXPECT_EQ(LiveOf(board, "gl:"), issues);
  }

  SampleTracker youtrack_;
  JiraServer jira_;
  GitHubServer github_;
  GitLabServer gitlab_;
  TempDir dir_;
};

TEST_F(FourTrackersTest, EveryTrackerFillsTheSameBoard) {
  Outcome sync = Run(&RunSync);
  ASSERT_EQ(sync.code, kExitOk) << sync.out << sync.err;
  const auto board = Board();
  EXPECT_EQ(LiveOf(board, "yt:"), 13u);
  std::size_t rap = 0;
  for (const JiraIssue& issue : jira_.Issues()) {
    rap += issue.ProjectKey() == "RAP" ? 1 : 0;
  }
  EXPECT_EQ(LiveOf(board, "jira:"), rap);
  ExpectGitHubOnBoard(board);
  ExpectGitLabOnBoard(board);
  // GitHub and GitLab were sent their tokens as Bearer tokens.
  const auto gh = github_.LastRequest();
  ASSERT_TRUE(gh);
  EXPECT_TRUE(gh->authorization);
  EXPECT_THAT(sync.out + sync.err, testing::Not(HasSubstr(kGitHubFineGrainedToken)));
  EXPECT_THAT(sync.out + sync.err, testing::Not(HasSubstr(kGitLabToken)));
}

TEST_F(FourTrackersTest, ASyncWithNothingNewCostsGitHubOneNotModifiedPerRepository) {
  ASSERT_EQ(Run(&RunSync).code, kExitOk);
  // The first incremental sync sees nothing new and learns each list's
  // ETag; from then on each repository costs one request, answered 304.
  Outcome again = Run(&RunSync);
  ASSERT_EQ(again.code, kExitOk) << again.out << again.err;
  github_.ClearRequests();
  gitlab_.ClearRequests();
  jira_.ClearRequests();
  const std::uint64_t budget = github_.budget_used();
  const std::uint64_t not_modified = github_.not_modified_count();
  Outcome third = Run(&RunSync);
  ASSERT_EQ(third.code, kExitOk) << third.out << third.err;
  EXPECT_EQ(github_.total_requests(), 2u);
  EXPECT_EQ(github_.not_modified_count() - not_modified, 2u);
  EXPECT_EQ(github_.budget_used(), budget);  // 304s cost no quota
  EXPECT_EQ(gitlab_.total_requests(), 1u);
  EXPECT_EQ(jira_.total_requests(), 1u);
}

TEST_F(FourTrackersTest, ChangesAndDeletionsInEveryTrackerReachTheBoard) {
  ASSERT_EQ(Run(&RunSync).code, kExitOk);
  std::vector<GitHubIssue> gh_issues;
  for (const GitHubIssue& issue : github_.Issues()) {
    if (!issue.pull_request) {
      gh_issues.push_back(issue);
    }
  }
  ASSERT_GE(gh_issues.size(), 4u);
  github_.AdvanceClock(5);
  ASSERT_TRUE(github_.UpdateIssue(gh_issues[1].id, [](GitHubIssue& i) { i.title = "Renamed"; }));
  ASSERT_TRUE(github_.CloseIssue(gh_issues[2].id, "not_planned"));
  ASSERT_TRUE(github_.DeleteIssue(gh_issues[3].id));
  GitHubIssue pr;
  pr.repo = "acme/web";
  pr.title = "A new pull request";
  pr.pull_request = true;
  ASSERT_TRUE(github_.AddPullRequest(pr));

  std::vector<GitLabIssue> gl_issues = gitlab_.Issues();
  ASSERT_GE(gl_issues.size(), 3u);
  gitlab_.AdvanceClock(std::chrono::seconds(5));
  ASSERT_TRUE(gitlab_.UpdateIssue(gl_issues[0].id, [](GitLabIssue& i) { i.title = "Renamed"; }));
  ASSERT_TRUE(gitlab_.DeleteIssue(gl_issues[1].id));

  Outcome incremental = Run(&RunSync);
  ASSERT_EQ(incremental.code, kExitOk) << incremental.out << incremental.err;
  auto board = Board();
  EXPECT_EQ(board.at("gh:" + std::to_string(gh_issues[1].id)).fields.StringOr("title"), "Renamed");
  EXPECT_EQ(board.at("gh:" + std::to_string(gh_issues[2].id)).fields.StringOr("state"), "closed");
  EXPECT_EQ(board.at("gl:" + std::to_string(gl_issues[0].id)).fields.StringOr("title"), "Renamed");

  // Deletions: the id-only sweep of a full pass archives what is gone.
  Outcome full = Run(&RunSync, /*full=*/true);
  ASSERT_EQ(full.code, kExitOk) << full.out << full.err;
  board = Board();
  EXPECT_TRUE(board.at("gh:" + std::to_string(gh_issues[3].id)).archived);
  EXPECT_TRUE(board.at("gl:" + std::to_string(gl_issues[1].id)).archived);
  ExpectGitHubOnBoard(board);
  ExpectGitLabOnBoard(board);
  EXPECT_EQ(LiveOf(board, "yt:"), 13u);
}

TEST_F(FourTrackersTest, TestConnectionNamesEachTrackersUser) {
  Outcome tested = Run(&RunTestConnection);
  ASSERT_EQ(tested.code, kExitOk) << tested.out << tested.err;
  EXPECT_THAT(tested.out, HasSubstr("gh: ok, the token belongs to The Octocat (octocat), who sees the 2 "
                                     "configured repositories\n"));
  EXPECT_THAT(tested.out, HasSubstr("gl: ok, the token belongs to Sync Bot (sync.bot)"));
  EXPECT_THAT(tested.out, HasSubstr("jira: ok"));
  EXPECT_THAT(tested.out, HasSubstr("yt: ok"));
}

}  // namespace
}  // namespace boardsync

// Sync back end to end (DESIGN §3.1, issue 18): the real boardsync binary
// pulls issues from the sample YouTrack, Jira and GitHub (Projects v2)
// servers into one SQLite board, the board application's scores are written
// into the board's `scores` table with plain SQL (or served by the HTTP
// board's scores endpoint), and `boardsync sync-back` writes them into the
// trackers' fields. What lands is read back from the servers' state; the
// writes are counted at the servers.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/board_testing.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/hostile_support.h"
#include "tests/integration/sync_back_support.h"
#include "tests/support/board_server.h"
#include "tests/support/github/github_server.h"
#include "tests/support/jira/jira_server.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using namespace std::chrono_literals;
using syncback::CountIn;
using syncback::DeleteScore;
using syncback::GitHubWrites;
using syncback::JiraWrites;
using syncback::LinesStartingWith;
using syncback::NumberOf;
using syncback::QueuedWrites;
using syncback::Ran;
using syncback::SentFields;
using syncback::SetScore;
using syncback::StatusRow;
using syncback::YouTrackWrites;
using testing::AllOf;
using testing::HasSubstr;

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitBadConfig = 2;

// Items of the bundled YouTrack sample: RAP-1, RAP-2, RAP-3, SRV-1, DOC-1.
constexpr std::string_view kRap1 = "2-9";
constexpr std::string_view kRap2 = "2-17";
constexpr std::string_view kRap3 = "2-18";
constexpr std::string_view kSrv1 = "2-31";
constexpr std::string_view kDoc1 = "2-50";

std::string Yt(std::string_view id) { return "yt:" + std::string(id); }

// A value a tracker holds as JSON, "none" when it holds none.
std::string JsonOf(const std::optional<Value>& value) { return value ? value->ToJson() : "none"; }

// Each mapping reads what the board shows and writes two scores back; no
// rule reads a target (check refuses that) nor $updated.
constexpr std::string_view kYouTrackMapping =
    "fields:\n"
    "  title: summary\n"
    "  state: State\n"
    "  urgency: Priority\n"
    "sync_back:\n"
    "  fields:\n"
    "    \"Board score\": { from: score, type: float }\n"
    "    \"Board rank\": { from: rank, type: integer }\n";
constexpr std::string_view kJiraMapping =
    "fields:\n"
    "  title: summary\n"
    "  state: status\n"
    "sync_back:\n"
    "  fields:\n"
    "    \"Board score\": { from: score, type: float }\n"
    "    \"Board rank\": { from: rank, type: string }\n";
constexpr std::string_view kGitHubMapping =
    "fields:\n"
    "  title: title\n"
    "  state: state\n"
    "sync_back:\n"
    "  fields:\n"
    "    \"Board score\": { from: score, type: float }\n"
    "    \"Board rank\": { from: rank, type: string }\n";

// The fixture: the three sample trackers (YouTrack with its bundled issues,
// Jira Cloud with generated ones, GitHub with acme/web and its Projects v2
// board acme#1), token files, and the binary run against them.
class SyncBackTest : public testing::Test {
 protected:
  SyncBackTest()
      : jira_(JiraServerOptions{.flavor = JiraFlavor::kCloud}),
        runner_(dir_.path() / "boardsync.yaml", dir_.path() / "logs") {}

  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(BinaryDir() / "boardsync"))
        << "build the boardsync target first";
    ASSERT_TRUE(youtrack_.LoadIssues(SampleIssuesPath()));
    jira_.GenerateIssues(12, 18);
    for (const JiraIssue& issue : jira_.Issues()) {
      if (issue.ProjectKey() == "RAP" && jira_ids_.size() < 3) {
        jira_ids_.push_back(issue.id);
      }
    }
    ASSERT_EQ(jira_ids_.size(), 3u);
    SeedGitHub();
    Private(dir_.Write("yt.token", std::string(kSampleTrackerToken) + "\n"));
    Private(dir_.Write("jira.token", std::string(kJiraCloudApiToken) + "\n"));
    Private(dir_.Write("gh.token", std::string(kGitHubFineGrainedToken) + "\n"));
    dir_.Write("yt.yaml", std::string(kYouTrackMapping));
    dir_.Write("jira.yaml", std::string(kJiraMapping));
    dir_.Write("gh.yaml", std::string(kGitHubMapping));
  }

  // acme/web with three issues; the first two are items of project acme#1
  // (fields Board score: NUMBER, Board rank: TEXT), the third is not yet.
  // Project acme#2 has no custom fields and no items.
  void SeedGitHub() {
    ASSERT_TRUE(github_.AddRepo(GitHubRepo{.full_name = "acme/web"}));
    for (int i = 0; i < 3; ++i) {
      GitHubIssue issue;
      issue.repo = "acme/web";
      issue.title = "Web issue " + std::to_string(i + 1);
      auto added = github_.AddIssue(issue);
      ASSERT_TRUE(added);
      gh_ids_.push_back(added->id);
    }
    ASSERT_TRUE(github_.AddProject("acme", 1, "Roadmap",
                                   {{.name = "Board score", .type = GitHubFieldType::kNumber},
                                    {.name = "Board rank", .type = GitHubFieldType::kText}}));
    ASSERT_TRUE(github_.AddProjectItem("acme", 1, gh_ids_[0]));
    ASSERT_TRUE(github_.AddProjectItem("acme", 1, gh_ids_[1]));
    ASSERT_TRUE(github_.AddProject("acme", 2, "Empty", {}));
  }

  // YouTrack's Board score (float) and Board rank (integer), attached to
  // `projects`.
  void AddYouTrackFields(const std::vector<std::string>& projects = {"RAP", "SRV", "DOC"}) {
    ASSERT_TRUE(youtrack_.AddCustomField("Board score", "float"));
    ASSERT_TRUE(youtrack_.AddCustomField("Board rank", "integer"));
    for (const std::string& project : projects) {
      ASSERT_TRUE(youtrack_.AttachCustomField(project, "Board score"));
      ASSERT_TRUE(youtrack_.AttachCustomField(project, "Board rank"));
    }
  }

  // Jira's Board score (a number field) and Board rank (a one-line text).
  void AddJiraFields() {
    jira_score_ = jira_.AddCustomField("Board score", "float");
    jira_rank_ = jira_.AddCustomField("Board rank", "textfield");
  }

  static void Private(const std::filesystem::path& file) { ::chmod(file.c_str(), 0600); }

  // The three mappings with `create: true`.
  void MappingsCreate() {
    auto with_create = [](std::string_view mapping) {
      std::string text(mapping);
      text.replace(text.find("sync_back:\n"), 11, "sync_back:\n  create: true\n");
      return text;
    };
    dir_.Write("yt.yaml", with_create(kYouTrackMapping));
    dir_.Write("jira.yaml", with_create(kJiraMapping));
    dir_.Write("gh.yaml", with_create(kGitHubMapping));
  }

  // The id of the Jira custom field named `name` ("" when there is none).
  std::string JiraFieldId(std::string_view name) const {
    for (const JiraServer::CustomFieldState& field : jira_.CustomFields()) {
      if (field.name == name) {
        return field.id;
      }
    }
    return "";
  }

  std::string YouTrackConnection(std::string_view mapping = "yt.yaml",
                                 std::string_view more = "") const {
    return "  - { name: yt, type: youtrack, base_url: " + youtrack_.base_url() +
           ", token_file: yt.token, mapping: " + std::string(mapping) + ", board: roadmap" +
           std::string(more) + " }\n";
  }
  std::string JiraConnection(std::string_view more = "") const {
    return "  - { name: jira, type: jira, base_url: " + jira_.base_url() +
           ", email: " + std::string(kJiraCloudEmail) +
           ", token_file: jira.token, query: project = RAP, mapping: jira.yaml, board: roadmap" +
           std::string(more) + " }\n";
  }
  std::string GitHubConnection(std::string_view more = "", int project = 1) const {
    return "  - { name: gh, type: github, base_url: " + github_.base_url() +
           ", repos: [acme/web], project: { owner: acme, number: " + std::to_string(project) +
           " }, token_file: gh.token, mapping: gh.yaml, board: roadmap" + std::string(more) +
           " }\n";
  }

  void WriteConfig(const std::vector<std::string>& connections, std::string top = "") {
    std::string text = "state_dir: state\n" + top + "connections:\n";
    for (const std::string& c : connections) {
      text += c;
    }
    dir_.Write("boardsync.yaml", text);
  }

  Ran Run(std::vector<std::string> args) {
    Ran ran = runner_.Run(std::move(args));
    EXPECT_TRUE(ran.code.has_value()) << ran.Describe();  // no crash, no hang
    return ran;
  }

  // The "sync_back" object of `connection` in `status --format json`
  // (null when there is none).
  Value SyncBackStatus(std::string_view connection) {
    Ran status = Run({"status", "--format", "json"});
    EXPECT_EQ(status.code, kExitOk) << status.Describe();
    const Value row = StatusRow(status.out, connection);
    const Value* back = row.IsObject() ? row.Find("sync_back") : nullptr;
    EXPECT_TRUE(back != nullptr && back->IsObject()) << status.Describe();
    return back != nullptr ? *back : Value();
  }

  // The issues a sync back status lists as refused: human key -> item key.
  static std::map<std::string, std::string> RefusedKeys(const Value& sync_back) {
    std::map<std::string, std::string> keys;
    const Value* refused = sync_back.IsObject() ? sync_back.Find("refused") : nullptr;
    if (refused != nullptr && refused->IsList()) {
      for (const Value& entry : refused->AsList()) {
        keys[std::string(entry.StringOr("key"))] = entry.StringOr("item_key");
      }
    }
    return keys;
  }

  std::filesystem::path BoardDb() const { return dir_.path() / "state/board.db"; }
  std::filesystem::path StateDb() const { return dir_.path() / "state/state.db"; }

  void Score(std::string_view item_key, std::string_view name, const Value& value) {
    SetScore(BoardDb(), item_key, name, value);
  }

  std::optional<double> YouTrackNumber(std::string_view id, std::string_view field) const {
    return NumberOf(youtrack_.FieldValue(id, field));
  }
  std::optional<Value> JiraValue(std::size_t i, const std::string& field) const {
    return jira_.ValueOf(std::to_string(jira_ids_[i]), field);
  }
  std::optional<GitHubFieldValue> GitHubValue(std::size_t i, std::string_view field,
                                              int project = 1) const {
    return github_.GetFieldValue("acme", project, gh_ids_[i], field);
  }
  std::string Jira(std::size_t i) const { return "jira:" + std::to_string(jira_ids_[i]); }
  std::string Gh(std::size_t i) const { return "gh:" + std::to_string(gh_ids_[i]); }

  std::int64_t YouTrackUpdated(std::string_view id) const {
    auto issue = youtrack_.GetIssue(id);
    const Value* updated = issue ? issue->Find("updated") : nullptr;
    return updated != nullptr && updated->IsInt() ? updated->AsInt() : 0;
  }

  // The one summary line of `connection` in `text` ("" when there is none).
  static std::string LineOf(std::string_view text, std::string_view connection) {
    auto lines = LinesStartingWith(text, std::string(connection) + ": ");
    return lines.size() == 1 ? lines.front() : "";
  }

  TempDir dir_;
  SampleTracker youtrack_;
  JiraServer jira_;
  GitHubServer github_;
  syncback::Runner runner_;
  std::vector<std::int64_t> jira_ids_;  // three issues of RAP
  std::vector<std::int64_t> gh_ids_;
  std::string jira_score_, jira_rank_;  // field ids
};

// Test 1 of the issue: three trackers, one board; exact values, nothing
// written twice, one value for one change, a removed score clears, and the
// next sync makes no board write for what the sync back wrote.
TEST_F(SyncBackTest, ScoresLandInEveryTrackerOnceAndTheNextSyncWritesNoBoardRow) {
  AddYouTrackFields();
  AddJiraFields();
  WriteConfig({YouTrackConnection(), JiraConnection(), GitHubConnection()});
  Ran sync = Run({"sync"});
  ASSERT_EQ(sync.code, kExitOk) << sync.Describe();

  Score(Yt(kRap1), "score", Value(7.25));
  Score(Yt(kRap1), "rank", Value(3.6));  // an integer target: rounded
  Score(Yt(kRap2), "score", Value(12));
  Score(Yt(kRap2), "rank", Value("2"));  // a number as text, as SQLite may hold it
  Score(Yt(kSrv1), "score", Value(-0.5));
  Score(Yt(kDoc1), "rank", Value(1.5));
  Score(Jira(0), "score", Value(3.75));
  Score(Jira(0), "rank", Value(4));  // a string target: the number as written
  Score(Jira(1), "score", Value(10));
  Score(Jira(2), "rank", Value(12.5));
  Score(Gh(0), "score", Value(1.5));
  Score(Gh(0), "rank", Value(4));
  Score(Gh(1), "score", Value(2));
  Score(Gh(2), "score", Value(8.5));  // not on the project yet: added first
  Score(Gh(2), "rank", Value("high"));
  // Nothing writes these: another name, an item of no connection.
  Score(Yt(kRap3), "alignment", Value(9));
  Score("other:1", "score", Value(1));

  const Board before = ReadBoard(BoardDb());
  const std::int64_t rap1_updated = YouTrackUpdated(kRap1);
  const std::int64_t jira0_updated = jira_.GetIssue(std::to_string(jira_ids_[0]))->updated_ms;
  youtrack_.ClearRequests();
  jira_.ClearRequests();
  github_.ClearRequests();

  Ran back = Run({"sync-back"});
  ASSERT_EQ(back.code, kExitOk) << back.Describe();
  EXPECT_THAT(LineOf(back.out, "yt"), AllOf(HasSubstr("yt: sync back: scores 6, written 4")))
      << back.Describe();
  EXPECT_THAT(LineOf(back.out, "jira"), HasSubstr("written 3")) << back.Describe();
  EXPECT_THAT(LineOf(back.out, "gh"), HasSubstr("written 3")) << back.Describe();

  // YouTrack: exactly the board's values, in each field's type.
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 7.25);
  EXPECT_EQ(YouTrackNumber(kRap1, "Board rank"), 4);
  EXPECT_EQ(YouTrackNumber(kRap2, "Board score"), 12);
  EXPECT_EQ(YouTrackNumber(kRap2, "Board rank"), 2);
  EXPECT_EQ(YouTrackNumber(kSrv1, "Board score"), -0.5);
  EXPECT_EQ(YouTrackNumber(kDoc1, "Board rank"), 2);  // 1.5 rounds to 2
  EXPECT_EQ(JsonOf(youtrack_.FieldValue(kRap3, "Board score")), "none")
      << "an issue without a score is left alone";
  // One request per issue, with every value of that issue.
  const auto yt_writes = YouTrackWrites(youtrack_);
  EXPECT_EQ(yt_writes.size(), 4u);
  for (const auto& write : yt_writes) {
    if (write.api_path == "/api/issues/" + std::string(kRap1)) {
      EXPECT_EQ(SentFields(write).size(), 2u) << write.request.body;
    }
  }
  // Jira: a number field and a text field.
  EXPECT_EQ(NumberOf(JiraValue(0, jira_score_)), 3.75);
  EXPECT_EQ(JsonOf(JiraValue(0, jira_rank_)), "\"4\"");
  EXPECT_EQ(NumberOf(JiraValue(1, jira_score_)), 10);
  EXPECT_EQ(JsonOf(JiraValue(2, jira_rank_)), "\"12.5\"");
  EXPECT_EQ(JiraWrites(jira_).size(), 3u);
  // GitHub: the project's NUMBER and TEXT fields; the third issue was added.
  ASSERT_TRUE(GitHubValue(0, "Board score"));
  EXPECT_EQ(GitHubValue(0, "Board score")->number, 1.5);
  ASSERT_TRUE(GitHubValue(0, "Board rank"));
  EXPECT_EQ(GitHubValue(0, "Board rank")->text, "4");
  ASSERT_TRUE(GitHubValue(1, "Board score"));
  EXPECT_EQ(GitHubValue(1, "Board score")->number, 2);
  EXPECT_TRUE(github_.HasProjectItem("acme", 1, gh_ids_[2]));
  ASSERT_TRUE(GitHubValue(2, "Board score"));
  EXPECT_EQ(GitHubValue(2, "Board score")->number, 8.5);
  ASSERT_TRUE(GitHubValue(2, "Board rank"));
  EXPECT_EQ(GitHubValue(2, "Board rank")->text, "high");
  EXPECT_EQ(github_.MutationCount("addProjectV2ItemById"), 1u);
  EXPECT_EQ(github_.MutationCount("updateProjectV2ItemFieldValue"), 5u);

  const Value yt_back = SyncBackStatus("yt");
  EXPECT_EQ(yt_back.StringOr("result"), "ok");
  EXPECT_EQ(yt_back.Find("written")->AsInt(), 4);

  // Nothing changed on the board: a second sync back writes nothing.
  youtrack_.ClearRequests();
  jira_.ClearRequests();
  github_.ClearRequests();
  Ran again = Run({"sync-back"});
  ASSERT_EQ(again.code, kExitOk) << again.Describe();
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 0u);
  EXPECT_EQ(JiraWrites(jira_).size(), 0u);
  EXPECT_EQ(GitHubWrites(github_), 0u);
  EXPECT_THAT(again.out, HasSubstr("yt: sync back: scores 0, written 0")) << again.Describe();

  // One changed score: one value written, to that issue alone.
  Score(Yt(kRap1), "score", Value(8));
  Ran changed = Run({"sync-back"});
  ASSERT_EQ(changed.code, kExitOk) << changed.Describe();
  const auto one = YouTrackWrites(youtrack_);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].api_path, "/api/issues/" + std::string(kRap1));
  const auto sent = SentFields(one[0]);
  ASSERT_EQ(sent.size(), 1u) << one[0].request.body;
  EXPECT_EQ(sent[0].first, "Board score");
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 8);
  EXPECT_EQ(YouTrackNumber(kRap1, "Board rank"), 4);
  EXPECT_EQ(JiraWrites(jira_).size(), 0u);
  EXPECT_EQ(GitHubWrites(github_), 0u);

  // Removed scores clear their fields: a deleted row, a NULL value.
  youtrack_.ClearRequests();
  DeleteScore(BoardDb(), Yt(kRap1), "rank");
  Score(Jira(0), "score", Value());
  DeleteScore(BoardDb(), Gh(0), "score");
  Ran removed = Run({"sync-back"});
  ASSERT_EQ(removed.code, kExitOk) << removed.Describe();
  EXPECT_EQ(JsonOf(youtrack_.FieldValue(kRap1, "Board rank")), "null");
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 8);
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 1u);
  EXPECT_EQ(JsonOf(JiraValue(0, jira_score_)), "null");
  EXPECT_EQ(JsonOf(JiraValue(0, jira_rank_)), "\"4\"");
  EXPECT_EQ(JiraWrites(jira_).size(), 1u);
  EXPECT_FALSE(GitHubValue(0, "Board score").has_value());
  ASSERT_TRUE(GitHubValue(0, "Board rank"));
  EXPECT_EQ(github_.MutationCount("clearProjectV2ItemFieldValue"), 1u);
  EXPECT_EQ(GitHubWrites(github_), 1u);

  // The writes moved the issues' `updated` in YouTrack and Jira; the next
  // sync pulls them again but writes no board row.
  EXPECT_GT(YouTrackUpdated(kRap1), rap1_updated);
  EXPECT_GT(jira_.GetIssue(std::to_string(jira_ids_[0]))->updated_ms, jira0_updated);
  Ran next = Run({"sync"});
  ASSERT_EQ(next.code, kExitOk) << next.Describe();
  for (std::string_view connection : {"yt", "jira", "gh"}) {
    const std::string line = LineOf(next.out, connection);
    EXPECT_EQ(CountIn(line, "board writes "), 0) << next.Describe();
  }
  EXPECT_GE(CountIn(LineOf(next.out, "yt"), "pulled ").value_or(0), 4) << next.Describe();
  EXPECT_GE(CountIn(LineOf(next.out, "jira"), "pulled ").value_or(0), 3) << next.Describe();
  const Board after = ReadBoard(BoardDb());
  for (const std::string& key : {Yt(kRap1), Yt(kRap2), Yt(kSrv1), Yt(kDoc1), Jira(0), Jira(1),
                                 Jira(2), Gh(0), Gh(1), Gh(2)}) {
    const BoardRow* was = before.Find(key);
    const BoardRow* now = after.Find(key);
    ASSERT_NE(was, nullptr) << key;
    ASSERT_NE(now, nullptr) << key;
    EXPECT_EQ(now->synced_at, was->synced_at) << key;
    EXPECT_EQ(now->source_updated_at, was->source_updated_at) << key;
  }
}

// Test 2 of the issue: `create: true` with the rights to create fields.
TEST_F(SyncBackTest, CreateMakesTheMissingFieldsWhereTheTokenMay) {
  youtrack_.SetAdmin(kSampleTrackerToken, true);
  jira_.SetAdmin(true);
  MappingsCreate();
  WriteConfig({YouTrackConnection(), JiraConnection(), GitHubConnection("", /*project=*/2)});
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  Score(Yt(kRap1), "score", Value(7.25));
  Score(Yt(kSrv1), "rank", Value(3));
  Score(Jira(0), "score", Value(1.5));
  Score(Jira(1), "rank", Value(2));
  Score(Gh(0), "score", Value(6));
  Score(Gh(1), "rank", Value(5));

  Ran back = Run({"sync-back"});
  ASSERT_EQ(back.code, kExitOk) << back.Describe();
  // YouTrack: simple fields of the targets' types, attached to the projects
  // of the scored issues only.
  EXPECT_EQ(youtrack_.CustomFieldType("Board score"), "float");
  EXPECT_EQ(youtrack_.CustomFieldType("Board rank"), "integer");
  EXPECT_TRUE(youtrack_.IsAttached("RAP", "Board score"));
  EXPECT_TRUE(youtrack_.IsAttached("SRV", "Board rank"));
  EXPECT_FALSE(youtrack_.IsAttached("DOC", "Board score"));
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 7.25);
  EXPECT_EQ(YouTrackNumber(kSrv1, "Board rank"), 3);
  // Jira: a number field and a one-line text field.
  ASSERT_NE(JiraFieldId("Board score"), "");
  ASSERT_NE(JiraFieldId("Board rank"), "");
  EXPECT_EQ(NumberOf(JiraValue(0, JiraFieldId("Board score"))), 1.5);
  EXPECT_EQ(JsonOf(JiraValue(1, JiraFieldId("Board rank"))), "\"2\"");
  // GitHub: the project's new NUMBER and TEXT fields.
  EXPECT_EQ(github_.ProjectFieldType("acme", 2, "Board score"), "NUMBER");
  EXPECT_EQ(github_.ProjectFieldType("acme", 2, "Board rank"), "TEXT");
  ASSERT_TRUE(GitHubValue(0, "Board score", 2));
  EXPECT_EQ(GitHubValue(0, "Board score", 2)->number, 6);
  ASSERT_TRUE(GitHubValue(1, "Board rank", 2));
  EXPECT_EQ(GitHubValue(1, "Board rank", 2)->text, "5");

  // Made once: the next sync back finds them.
  Score(Yt(kRap1), "score", Value(1));
  Ran again = Run({"sync-back"});
  ASSERT_EQ(again.code, kExitOk) << again.Describe();
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 1);
  EXPECT_EQ(jira_.CustomFields().size(), 2u);
  EXPECT_EQ(github_.MutationCount("createProjectV2Field"), 2u);
}

// Test 2 of the issue: `create: true` without the rights: a precise error
// naming the permission, nothing created, nothing written, the values kept
// for when the rights are there.
TEST_F(SyncBackTest, CreateWithoutTheRightsNamesThePermissionAndWritesNothing) {
  github_.AddToken(GitHubToken{.token = std::string(kGitHubFineGrainedToken),
                               .kind = GitHubTokenKind::kFineGrained,
                               .scopes = {},
                               .project_write = false});
  MappingsCreate();
  WriteConfig({YouTrackConnection(), JiraConnection(), GitHubConnection("", /*project=*/2)});
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  Score(Yt(kRap1), "score", Value(7.25));
  Score(Jira(0), "score", Value(1.5));
  Score(Gh(0), "score", Value(6));
  youtrack_.ClearRequests();
  jira_.ClearRequests();
  github_.ClearRequests();

  Ran back = Run({"sync-back"});
  EXPECT_EQ(back.code, kExitRunFailed) << back.Describe();
  EXPECT_THAT(back.err, HasSubstr("Create Project / Update Project permission")) << back.Describe();
  EXPECT_THAT(back.err, HasSubstr("Administer Jira global permission")) << back.Describe();
  EXPECT_THAT(back.err, HasSubstr("write access to the project")) << back.Describe();
  EXPECT_THAT(back.err, HasSubstr("\"Board score\"")) << back.Describe();
  EXPECT_FALSE(youtrack_.CustomFieldType("Board score").has_value());
  EXPECT_TRUE(jira_.CustomFields().empty());
  EXPECT_FALSE(github_.ProjectFieldType("acme", 2, "Board score").has_value());
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 0u);
  EXPECT_EQ(JiraWrites(jira_).size(), 0u);
  EXPECT_EQ(GitHubWrites(github_), 0u);
  EXPECT_EQ(github_.MutationCount("createProjectV2Field"), 0u);

  const Value yt_back = SyncBackStatus("yt");
  EXPECT_EQ(yt_back.StringOr("result"), "failed");
  EXPECT_THAT(std::string(yt_back.StringOr("last_error")), HasSubstr("permission"));

  // Given the rights, the kept values go without a new score.
  youtrack_.SetAdmin(kSampleTrackerToken, true);
  Ran granted = Run({"sync-back", "--connection", "yt"});
  EXPECT_EQ(granted.code, kExitOk) << granted.Describe();
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 7.25);
}

// Test 2 of the issue: a target of another type is named with both types;
// nothing goes to it, the other targets are written.
TEST_F(SyncBackTest, ATargetOfAnotherTypeIsNamedAndTheOthersAreWritten) {
  ASSERT_TRUE(youtrack_.AddCustomField("Board score", "string"));
  ASSERT_TRUE(youtrack_.AddCustomField("Board rank", "integer"));
  for (std::string project : {"RAP", "SRV", "DOC"}) {
    ASSERT_TRUE(youtrack_.AttachCustomField(project, "Board score"));
    ASSERT_TRUE(youtrack_.AttachCustomField(project, "Board rank"));
  }
  jira_score_ = jira_.AddCustomField("Board score", "textfield");
  jira_rank_ = jira_.AddCustomField("Board rank", "textfield");
  WriteConfig({YouTrackConnection(), JiraConnection()});
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  Score(Yt(kRap1), "score", Value(7.25));
  Score(Yt(kRap1), "rank", Value(2));
  Score(Jira(0), "score", Value(1.5));
  Score(Jira(0), "rank", Value(3));

  Ran back = Run({"sync-back"});
  EXPECT_EQ(back.code, kExitRunFailed) << back.Describe();
  // The mapping's place of the target, the field, and both types.
  EXPECT_THAT(back.err,
              AllOf(HasSubstr("yt.yaml:7:5: "), HasSubstr("\"Board score\""),
                    HasSubstr("string field in YouTrack"), HasSubstr("writes it as float")))
      << back.Describe();
  EXPECT_THAT(back.err, AllOf(HasSubstr("jira.yaml:6:5: "), HasSubstr("in Jira"),
                              HasSubstr("writes it as float")))
      << back.Describe();
  EXPECT_EQ(JsonOf(youtrack_.FieldValue(kRap1, "Board score")), "none");
  EXPECT_EQ(YouTrackNumber(kRap1, "Board rank"), 2);
  EXPECT_EQ(JsonOf(JiraValue(0, jira_score_)), "null");
  EXPECT_EQ(JsonOf(JiraValue(0, jira_rank_)), "\"3\"");
  // What could not be written stays queued, the rest is done.
  EXPECT_EQ(QueuedWrites(StateDb(), "yt"), 1u);
  EXPECT_EQ(QueuedWrites(StateDb(), "jira"), 1u);
}

// Test 2 of the issue: `check` refuses a mapping whose rules read a sync-back
// target (offline, before anything runs), and sync_back on a GitLab
// connection; it warns about $updated.
TEST_F(SyncBackTest, CheckRefusesAnEchoAndGitLabAndWarnsAboutUpdated) {
  dir_.Write("yt-echo.yaml",
             "fields:\n"
             "  title: summary\n"
             "  score: { from: Board score, default: 0 }\n"
             "sync_back:\n"
             "  fields:\n"
             "    \"Board score\": { from: score, type: float }\n");
  WriteConfig({YouTrackConnection("yt-echo.yaml")});
  Ran echo = Run({"check"});
  EXPECT_EQ(echo.code, kExitBadConfig) << echo.Describe();
  EXPECT_THAT(echo.out + echo.err,
              AllOf(HasSubstr("yt-echo.yaml:6:5: "), HasSubstr("\"Board score\" is read by")))
      << echo.Describe();
  // Nor does sync-back run with it.
  Ran refused = Run({"sync-back"});
  EXPECT_EQ(refused.code, kExitBadConfig) << refused.Describe();
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 0u);

  Private(dir_.Write("gl.token", "glpat-NotUsedNotUsed01\n"));
  dir_.Write("gl.yaml",
             "fields:\n"
             "  title: title\n"
             "sync_back:\n"
             "  fields:\n"
             "    Weight: { from: score, type: integer }\n");
  WriteConfig(
      {"  - { name: gl, type: gitlab, base_url: https://gitlab.example.com,"
       " project: acme/roadmap, token_file: gl.token, mapping: gl.yaml, board: roadmap }\n"});
  Ran gitlab = Run({"check"});
  EXPECT_EQ(gitlab.code, kExitBadConfig) << gitlab.Describe();
  EXPECT_THAT(gitlab.out + gitlab.err,
              AllOf(HasSubstr("gl.yaml:5:5: "), HasSubstr("gitlab tracker")))
      << gitlab.Describe();

  dir_.Write("yt-updated.yaml",
             "fields:\n"
             "  title: summary\n"
             "  touched: $updated\n"
             "sync_back:\n"
             "  fields:\n"
             "    \"Board score\": { from: score, type: float }\n");
  WriteConfig({YouTrackConnection("yt-updated.yaml")});
  Ran warned = Run({"check"});
  EXPECT_EQ(warned.code, kExitOk) << warned.Describe();
  EXPECT_THAT(warned.err,
              AllOf(HasSubstr("warning: "), HasSubstr("yt-updated.yaml:3:"), HasSubstr("$updated")))
      << warned.Describe();
}

// Test 3 of the issue: issues the tracker refuses (one deleted, one whose
// project lacks the field) never hold back the others; they are listed by
// key and tried again at every sync back until they go through or their
// item leaves the board.
TEST_F(SyncBackTest, AnIssueTheTrackerRefusesIsListedAndTriedAgain) {
  AddYouTrackFields({"RAP", "SRV"});  // not DOC
  WriteConfig({YouTrackConnection()});
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  ASSERT_TRUE(youtrack_.DeleteIssue(kRap2));
  Score(Yt(kRap1), "score", Value(1));
  Score(Yt(kRap2), "score", Value(2));
  Score(Yt(kSrv1), "score", Value(3));
  Score(Yt(kDoc1), "score", Value(4));
  Score(Yt(kRap3), "rank", Value(5));

  Ran back = Run({"sync-back"});
  EXPECT_EQ(back.code, kExitRunFailed) << back.Describe();
  EXPECT_THAT(back.out, HasSubstr("written 3, unchanged 0, refused 2")) << back.Describe();
  EXPECT_THAT(back.err, AllOf(HasSubstr("RAP-2"), HasSubstr("DOC-1"))) << back.Describe();
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 1);
  EXPECT_EQ(YouTrackNumber(kSrv1, "Board score"), 3);
  EXPECT_EQ(YouTrackNumber(kRap3, "Board rank"), 5);

  const Value yt_back = SyncBackStatus("yt");
  EXPECT_EQ(yt_back.StringOr("result"), "failed");
  EXPECT_EQ(RefusedKeys(yt_back),
            (std::map<std::string, std::string>{{"DOC-1", Yt(kDoc1)}, {"RAP-2", Yt(kRap2)}}));
  for (const Value& entry : yt_back.Find("refused")->AsList()) {
    EXPECT_EQ(entry.StringOr("field"), "Board score");
    EXPECT_NE(entry.StringOr("message"), "");
    EXPECT_NE(entry.StringOr("since"), "");
  }
  Ran table = Run({"status"});
  EXPECT_THAT(table.out, AllOf(HasSubstr("refused RAP-2 field Board score"),
                               HasSubstr("refused DOC-1 field Board score")))
      << table.Describe();

  // Tried again, alone: the written ones are not sent again.
  youtrack_.ClearRequests();
  Ran retry = Run({"sync-back"});
  EXPECT_EQ(retry.code, kExitRunFailed) << retry.Describe();
  EXPECT_EQ(YouTrackWrites(youtrack_, kRap2).size(), 1u);
  EXPECT_EQ(YouTrackWrites(youtrack_, kDoc1).size(), 1u);
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 2u);

  // Once DOC has the field, DOC-1 goes through.
  ASSERT_TRUE(youtrack_.AttachCustomField("DOC", "Board score"));
  Ran fixed = Run({"sync-back"});
  EXPECT_EQ(fixed.code, kExitRunFailed) << fixed.Describe();  // RAP-2 still refused
  EXPECT_EQ(YouTrackNumber(kDoc1, "Board score"), 4);
  EXPECT_EQ(RefusedKeys(SyncBackStatus("yt")),
            (std::map<std::string, std::string>{{"RAP-2", Yt(kRap2)}}));

  // A full sync archives RAP-2's item: its value is dropped, nothing is refused.
  ASSERT_EQ(Run({"sync", "--full"}).code, kExitOk);
  youtrack_.ClearRequests();
  Ran clean = Run({"sync-back"});
  EXPECT_EQ(clean.code, kExitOk) << clean.Describe();
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 0u);
  EXPECT_EQ(QueuedWrites(StateDb(), "yt"), 0u);
  const Value after = SyncBackStatus("yt");
  EXPECT_EQ(after.StringOr("result"), "ok");
  EXPECT_TRUE(RefusedKeys(after).empty());
}

// Test 3 of the issue in Jira and GitHub: a field switched off for one Jira
// issue, a GitHub issue deleted; the other issues are written, the refused
// ones listed by key and tried again.
TEST_F(SyncBackTest, IssuesJiraAndGitHubRefuseAreListedAndTriedAgain) {
  AddJiraFields();
  WriteConfig({JiraConnection(), GitHubConnection()});
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  const std::string jira_refused = jira_.GetIssue(std::to_string(jira_ids_[1]))->key;
  jira_.SetFieldOffScreen(std::to_string(jira_ids_[1]), jira_score_);
  ASSERT_TRUE(github_.DeleteIssue(gh_ids_[1]));
  for (std::size_t i = 0; i < 3; ++i) {
    Score(Jira(i), "score", Value(static_cast<int>(i) + 1));
    Score(Gh(i), "score", Value(static_cast<int>(i) + 1));
  }

  Ran back = Run({"sync-back"});
  EXPECT_EQ(back.code, kExitRunFailed) << back.Describe();
  EXPECT_THAT(back.err, AllOf(HasSubstr("jira: "), HasSubstr(jira_refused), HasSubstr("gh: "),
                              HasSubstr("acme/web#2")))
      << back.Describe();
  EXPECT_EQ(NumberOf(JiraValue(0, jira_score_)), 1);
  EXPECT_EQ(JsonOf(JiraValue(1, jira_score_)), "null");
  EXPECT_EQ(NumberOf(JiraValue(2, jira_score_)), 3);
  ASSERT_TRUE(GitHubValue(0, "Board score"));
  EXPECT_EQ(GitHubValue(0, "Board score")->number, 1);
  ASSERT_TRUE(GitHubValue(2, "Board score"));
  EXPECT_EQ(GitHubValue(2, "Board score")->number, 3);
  EXPECT_EQ(RefusedKeys(SyncBackStatus("jira")),
            (std::map<std::string, std::string>{{jira_refused, Jira(1)}}));
  EXPECT_EQ(RefusedKeys(SyncBackStatus("gh")),
            (std::map<std::string, std::string>{{"acme/web#2", Gh(1)}}));

  // Tried again: Jira is sent that issue's write alone.
  jira_.ClearRequests();
  Ran retry = Run({"sync-back"});
  EXPECT_EQ(retry.code, kExitRunFailed) << retry.Describe();
  const auto jira_writes = JiraWrites(jira_);
  ASSERT_EQ(jira_writes.size(), 1u);
  EXPECT_THAT(jira_writes[0].api_path, testing::EndsWith("/issue/" + std::to_string(jira_ids_[1])));
  EXPECT_EQ(RefusedKeys(SyncBackStatus("gh")),
            (std::map<std::string, std::string>{{"acme/web#2", Gh(1)}}));

  // Once the field is on the issue's screen, the value goes through.
  jira_.SetFieldOffScreen(std::to_string(jira_ids_[1]), jira_score_, false);
  Ran fixed = Run({"sync-back", "--connection", "jira"});
  EXPECT_EQ(fixed.code, kExitOk) << fixed.Describe();
  EXPECT_EQ(NumberOf(JiraValue(1, jira_score_)), 2);
  EXPECT_TRUE(RefusedKeys(SyncBackStatus("jira")).empty());
}

// Rate limits: a write answered 429 with Retry-After is sent again after
// the wait, and goes through.
TEST_F(SyncBackTest, ARateLimitedWriteWaitsAndGoesThrough) {
  AddYouTrackFields();
  WriteConfig({YouTrackConnection()});
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  Score(Yt(kRap1), "score", Value(7.25));
  youtrack_.InjectFault(SampleTracker::Fault::RateLimited(1).On("/api/issues"));
  youtrack_.ClearRequests();
  const auto start = std::chrono::steady_clock::now();
  Ran back = Run({"sync-back"});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(back.code, kExitOk) << back.Describe();
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 7.25);
  const auto writes = YouTrackWrites(youtrack_);
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].status, 429);
  EXPECT_EQ(writes[1].status, 200);
  EXPECT_GE(took, 1s) << "Retry-After: 1 was not waited for";
}

// A target added to the mapping gets the scores the board has already
// (its read starts over), while the values written before are not sent
// again.
TEST_F(SyncBackTest, ANewTargetGetsTheBoardsScoresAndNothingIsWrittenTwice) {
  AddYouTrackFields();
  dir_.Write("yt.yaml",
             "fields:\n"
             "  title: summary\n"
             "sync_back:\n"
             "  fields:\n"
             "    \"Board score\": { from: score, type: float }\n");
  WriteConfig({YouTrackConnection()});
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  Score(Yt(kRap1), "score", Value(7.25));
  Score(Yt(kRap1), "rank", Value(2));
  Score(Yt(kSrv1), "rank", Value(5));
  Ran first = Run({"sync-back"});
  ASSERT_EQ(first.code, kExitOk) << first.Describe();
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 1u);
  EXPECT_EQ(JsonOf(youtrack_.FieldValue(kRap1, "Board rank")), "none");

  dir_.Write("yt.yaml", std::string(kYouTrackMapping));
  youtrack_.ClearRequests();
  Ran second = Run({"sync-back"});
  ASSERT_EQ(second.code, kExitOk) << second.Describe();
  EXPECT_EQ(YouTrackNumber(kRap1, "Board rank"), 2);
  EXPECT_EQ(YouTrackNumber(kSrv1, "Board rank"), 5);
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 7.25);
  const auto writes = YouTrackWrites(youtrack_);
  ASSERT_EQ(writes.size(), 2u);
  for (const auto& write : writes) {
    const auto sent = SentFields(write);
    ASSERT_EQ(sent.size(), 1u) << write.request.body;
    EXPECT_EQ(sent[0].first, "Board rank") << write.request.body;
  }
}

// Test 4 of the issue: --dry-run prints per issue what would be written and
// writes nothing: no tracker write, the queue and the score cursor as they were.
TEST_F(SyncBackTest, DryRunPrintsEachIssuesWritesAndChangesNothing) {
  AddYouTrackFields();
  AddJiraFields();
  WriteConfig({YouTrackConnection(), JiraConnection()});
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  Score(Yt(kRap1), "score", Value(7.25));
  Score(Yt(kRap1), "rank", Value(3.6));
  Score(Yt(kSrv1), "score", Value(1));
  Score(Jira(0), "rank", Value(2));
  youtrack_.ClearRequests();
  jira_.ClearRequests();
  const std::string state_before = hostile::DumpSqlite(StateDb());

  Ran dry = Run({"sync-back", "--dry-run"});
  ASSERT_EQ(dry.code, kExitOk) << dry.Describe();
  EXPECT_THAT(dry.out, HasSubstr("yt: would write RAP-1 (yt:2-9): \"Board rank\" = 4 (was none), "
                                 "\"Board score\" = 7.25 (was none)\n"))
      << dry.Describe();
  EXPECT_THAT(dry.out,
              HasSubstr("yt: would write SRV-1 (yt:2-31): \"Board score\" = 1 (was none)\n"))
      << dry.Describe();
  const std::string jira_key = jira_.GetIssue(std::to_string(jira_ids_[0]))->key;
  EXPECT_THAT(dry.out, HasSubstr("jira: would write " + jira_key + " (" + Jira(0) +
                                 "): \"Board rank\" = \"2\" (was none)\n"))
      << dry.Describe();
  EXPECT_EQ(LinesStartingWith(dry.out, "yt: would write").size(), 2u) << dry.Describe();
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 0u);
  EXPECT_EQ(JiraWrites(jira_).size(), 0u);
  EXPECT_EQ(hostile::DumpSqlite(StateDb()), state_before) << "the dry run changed state.db";

  // The real one writes all of it.
  Ran back = Run({"sync-back"});
  ASSERT_EQ(back.code, kExitOk) << back.Describe();
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 2u);
  EXPECT_EQ(JiraWrites(jira_).size(), 1u);

  // After a change: only the changed value, with what boardsync wrote before.
  Score(Yt(kRap1), "score", Value(8.5));
  youtrack_.ClearRequests();
  const std::string state_written = hostile::DumpSqlite(StateDb());
  Ran changed = Run({"sync-back", "--dry-run"});
  ASSERT_EQ(changed.code, kExitOk) << changed.Describe();
  const auto planned = LinesStartingWith(changed.out, "yt: would write");
  ASSERT_EQ(planned.size(), 1u) << changed.Describe();
  EXPECT_EQ(planned[0], "yt: would write RAP-1 (yt:2-9): \"Board score\" = 8.5 (was 7.25)");
  EXPECT_TRUE(LinesStartingWith(changed.out, "jira: would write").empty()) << changed.Describe();
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 0u);
  EXPECT_EQ(hostile::DumpSqlite(StateDb()), state_written) << "the dry run changed state.db";
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 7.25);
}

// `--connection` names the connections written back; one without a
// sync_back section cannot be named.
TEST_F(SyncBackTest, OnlyTheNamedConnectionsAreWrittenBack) {
  AddYouTrackFields();
  AddJiraFields();
  WriteConfig({YouTrackConnection(), JiraConnection()});
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  Score(Yt(kRap1), "score", Value(7.25));
  Score(Jira(0), "score", Value(1.5));
  Ran yt_only = Run({"sync-back", "--connection", "yt"});
  ASSERT_EQ(yt_only.code, kExitOk) << yt_only.Describe();
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 7.25);
  EXPECT_EQ(JiraWrites(jira_).size(), 0u);
  EXPECT_TRUE(LineOf(yt_only.out, "jira").empty()) << yt_only.Describe();
  Ran jira_only = Run({"sync-back", "--connection", "jira"});
  ASSERT_EQ(jira_only.code, kExitOk) << jira_only.Describe();
  EXPECT_EQ(NumberOf(JiraValue(0, jira_score_)), 1.5);
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 1u);

  dir_.Write("jira.yaml", "fields:\n  title: summary\n");
  Ran none = Run({"sync-back", "--connection", "jira"});
  EXPECT_EQ(none.code, kExitBadConfig) << none.Describe();
  EXPECT_THAT(none.err, HasSubstr("has no sync_back section")) << none.Describe();
}

// Test 5 of the issue: the HTTP board store's scores, read through its
// scores endpoint page by page (`next`), written to YouTrack; the cursor is
// kept between sync backs.
TEST_F(SyncBackTest, ScoresOfTheHttpBoardArePagedAndWrittenToYouTrack) {
  // Two scores a page, and a cursor that must be encoded in a URL.
  BoardServer board(BoardServerOptions{.scores_page_cap = 2, .cursor_prefix = "c/1 +&#="});
  Private(dir_.Write("board.token", std::string(kBoardServerToken) + "\n"));
  AddYouTrackFields();
  WriteConfig({YouTrackConnection()},
              "board:\n  type: http\n  url: " + board.url() + "\n  token_file: board.token\n");
  Ran sync = Run({"sync"});
  ASSERT_EQ(sync.code, kExitOk) << sync.Describe();
  ASSERT_TRUE(board.Get("roadmap", Yt(kRap1)).has_value());

  board.SetScore("roadmap", Yt(kRap1), "score", Value(7.25));
  board.SetScore("roadmap", Yt(kRap1), "rank", Value(3.6));
  board.SetScore("roadmap", Yt(kSrv1), "score", Value(1));
  board.SetScore("other", Yt(kSrv1), "score", Value(99));  // another board's
  board.SetScore("roadmap", Yt(kDoc1), "rank", Value(2));
  board.SetScore("roadmap", Yt(kRap2), "score", Value(5));
  board.ClearBatches();

  Ran back = Run({"sync-back"});
  ASSERT_EQ(back.code, kExitOk) << back.Describe();
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 7.25);
  EXPECT_EQ(YouTrackNumber(kRap1, "Board rank"), 4);
  EXPECT_EQ(YouTrackNumber(kSrv1, "Board score"), 1);
  EXPECT_EQ(YouTrackNumber(kDoc1, "Board rank"), 2);
  EXPECT_EQ(YouTrackNumber(kRap2, "Board score"), 5);
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 4u);

  // Paged: each read asks from where the one before ended, to an empty page.
  auto reads = board.score_reads();
  ASSERT_GE(reads.size(), 4u);  // 5 scores, 2 a page, then an empty one
  EXPECT_FALSE(reads[0].since.has_value() && !reads[0].since->empty()) << *reads[0].since;
  for (std::size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(reads[i].board, "roadmap");
    EXPECT_EQ(reads[i].status, 200);
    if (i > 0) {
      EXPECT_EQ(reads[i].since, reads[i - 1].next) << "read " << i;
    }
    if (i + 1 < reads.size()) {
      EXPECT_GT(reads[i].returned, 0u) << "read " << i;
    }
  }
  EXPECT_EQ(reads.back().returned, 0u);
  const std::string cursor = reads.back().next;
  EXPECT_EQ(cursor, board.score_cursor());

  // The next sync back starts where this one ended: nothing new, no write.
  board.ClearBatches();
  youtrack_.ClearRequests();
  Ran again = Run({"sync-back"});
  ASSERT_EQ(again.code, kExitOk) << again.Describe();
  reads = board.score_reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].since, cursor);
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 0u);

  // A removed score (null in the change list) clears the field.
  board.RemoveScore("roadmap", Yt(kRap1), "rank");
  board.SetScore("roadmap", Yt(kSrv1), "score", Value(2));
  Ran changed = Run({"sync-back"});
  ASSERT_EQ(changed.code, kExitOk) << changed.Describe();
  EXPECT_EQ(JsonOf(youtrack_.FieldValue(kRap1, "Board rank")), "null");
  EXPECT_EQ(YouTrackNumber(kRap1, "Board score"), 7.25);
  EXPECT_EQ(YouTrackNumber(kSrv1, "Board score"), 2);
  EXPECT_EQ(YouTrackWrites(youtrack_).size(), 2u);
}

// Test 7 of the issue: `boardsync run` writes the scores back every
// sync_back_interval on its own, and never while it pulls the same
// connection.
TEST_F(SyncBackTest, TheDaemonWritesScoresBackOnItsOwnNeverDuringAPull) {
  AddYouTrackFields();
  AddJiraFields();
  // Each pull waits in its list request; a tracker write meanwhile would be
  // a sync back running during the pull of the same connection.
  std::atomic<int> yt_pulls = 0, jira_pulls = 0, overlaps = 0;
  youtrack_.OnIssuesRequest([&](std::size_t) {
    ++yt_pulls;
    const std::size_t before = YouTrackWrites(youtrack_).size();
    std::this_thread::sleep_for(250ms);
    overlaps += YouTrackWrites(youtrack_).size() != before ? 1 : 0;
  });
  jira_.OnSearchRequest([&](std::size_t) {
    ++jira_pulls;
    const std::size_t before = JiraWrites(jira_).size();
    std::this_thread::sleep_for(250ms);
    overlaps += JiraWrites(jira_).size() != before ? 1 : 0;
  });
  WriteConfig({YouTrackConnection("yt.yaml", ", interval: 1s, sync_back_interval: 1s"),
               JiraConnection(", interval: 1s, sync_back_interval: 1s")});
  DaemonProcess daemon({(BinaryDir() / "boardsync").string(), "run", "--config",
                        (dir_.path() / "boardsync.yaml").string()},
                       {}, dir_.path() / "daemon.log");
  ASSERT_TRUE(daemon.started()) << daemon.error();

  auto wait_for = [&](const std::function<bool()>& done, std::string_view what) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline || !daemon.Running()) {
        ADD_FAILURE() << "waiting for " << what << ": " << daemon.DescribeStatus()
                      << daemon.Tail(40);
        return false;
      }
      std::this_thread::sleep_for(50ms);
    }
    return true;
  };
  auto live = [&](std::string_view prefix) {
    std::size_t n = 0;
    if (std::filesystem::exists(BoardDb())) {
      try {
        for (const auto& [key, row] : ReadBoard(BoardDb()).rows) {
          n += key.starts_with(prefix) && !row.archived() ? 1 : 0;
        }
      } catch (const SQLite::Exception&) {
        // the daemon is still making the file
      }
    }
    return n;
  };
  ASSERT_TRUE(wait_for([&] { return live("yt:") == 15 && live("jira:") == 6; }, "the first pulls"));

  Score(Yt(kRap1), "score", Value(7.25));
  Score(Yt(kSrv1), "rank", Value(2));
  Score(Jira(0), "score", Value(1.5));
  ASSERT_TRUE(wait_for(
      [&] {
        return YouTrackNumber(kRap1, "Board score") == 7.25 &&
               YouTrackNumber(kSrv1, "Board rank") == 2 &&
               NumberOf(JiraValue(0, jira_score_)) == 1.5;
      },
      "the scores in the trackers"));
  // And again after a change, while pulls go on.
  const int pulls_before = yt_pulls + jira_pulls;
  Score(Yt(kRap1), "score", Value(3));
  ASSERT_TRUE(wait_for([&] { return YouTrackNumber(kRap1, "Board score") == 3; },
                       "the changed score in YouTrack"));
  ASSERT_TRUE(wait_for([&] { return yt_pulls + jira_pulls >= pulls_before + 4; }, "more pulls"));

  ASSERT_TRUE(daemon.Signal(SIGTERM));
  EXPECT_EQ(daemon.WaitForExit(30s), 0) << daemon.DescribeStatus() << daemon.Tail();
  youtrack_.OnIssuesRequest({});
  jira_.OnSearchRequest({});
  EXPECT_EQ(overlaps, 0) << "tracker writes during a pull of the same connection"
                         << daemon.Tail(60);
  // Each value went once.
  EXPECT_EQ(YouTrackWrites(youtrack_, kRap1).size(), 2u);
  EXPECT_EQ(YouTrackWrites(youtrack_, kSrv1).size(), 1u);
  EXPECT_EQ(JiraWrites(jira_).size(), 1u);
}

// ---- Test 6 of the issue: canaries ----

// Shaped like real tokens, so that nothing treats them differently.
constexpr std::string_view kYouTrackCanary =
    "perm:Y2FuYXJ5=.U3luY0JhY2s=.SyncBackSecretQz7Wv2Lp4Rt8Mn6Bd5";
constexpr std::string_view kYouTrackSecret = "SyncBackSecretQz7Wv2Lp4Rt8Mn6Bd5";
constexpr std::string_view kJiraCanary = "NzQ2MTc4NjE3NzYyOlN5bmNCYWNrQ2FuYXJ5SmlyYVBBVA";
constexpr std::string_view kGitHubCanary =
    "github_pat_11SYNCBACK09XyZ1aB2cD3_SyncBackCanarySyncBackCanary0123456789abcdefCanaryCanXyZ";
constexpr std::string_view kBoardCanary = "bst_SyncBackBoardCanaryKx3Vb8Jw5Hn2Tq";

// What must be found nowhere: each token, its secret part, and the first
// characters of the secret (a message cut in the middle of a token).
std::vector<std::string> CanaryNeedles() {
  const std::string_view github_secret = kGitHubCanary.substr(11);  // after "github_pat_"
  const std::string_view board_secret = kBoardCanary.substr(4);     // after "bst_"
  return {std::string(kYouTrackCanary),
          std::string(kYouTrackSecret),
          std::string(kYouTrackSecret.substr(0, 10)),
          std::string(kJiraCanary),
          std::string(kJiraCanary.substr(0, 12)),
          std::string(kGitHubCanary),
          std::string(github_secret),
          std::string(github_secret.substr(0, 12)),
          std::string(kBoardCanary),
          std::string(board_secret),
          std::string(board_secret.substr(0, 12))};
}

// An error body quoting the request's Authorization header back.
std::string Echo(std::string_view scheme_and_token) {
  return R"({"error":"invalid_request","errorMessages":["Unexpected header Authorization: )" +
         std::string(scheme_and_token) + R"("],"message":"Authorization: )" +
         std::string(scheme_and_token) + R"("})";
}

// YouTrack, Jira Data Center and GitHub that accept only the canaries, and
// the HTTP board store that accepts only its canary, behind one config.
class SyncBackCanaryTest : public testing::Test {
 protected:
  SyncBackCanaryTest()
      : jira_(JiraServerOptions{.flavor = JiraFlavor::kDataCenter,
                                .personal_access_token = std::string(kJiraCanary)}),
        github_(GitHubServerOptions{.tokens = {GitHubToken{.token = std::string(kGitHubCanary),
                                                           .kind = GitHubTokenKind::kFineGrained,
                                                           .scopes = {}}}}),
        board_(BoardServerOptions{.token = std::string(kBoardCanary), .scores_page_cap = 3}),
        runner_(dir_.path() / "boardsync.yaml", dir_.path() / "logs") {}

  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(BinaryDir() / "boardsync"));
    ASSERT_TRUE(youtrack_.LoadIssues(SampleIssuesPath()));
    youtrack_.SetToken(std::string(kYouTrackCanary));
    ASSERT_TRUE(youtrack_.AddCustomField("Board score", "float"));
    for (std::string project : {"RAP", "SRV", "DOC"}) {
      ASSERT_TRUE(youtrack_.AttachCustomField(project, "Board score"));
    }
    jira_.GenerateIssues(6, 18);
    jira_.AddCustomField("Board score", "float");
    ASSERT_TRUE(github_.AddRepo(GitHubRepo{.full_name = "acme/web", .is_private = true}));
    for (int i = 0; i < 2; ++i) {
      auto added = github_.AddIssue(GitHubIssue{.repo = "acme/web", .title = "Issue"});
      ASSERT_TRUE(added);
      gh_ids_.push_back(added->id);
    }
    ASSERT_TRUE(github_.AddProject("acme", 1, "Roadmap",
                                   {{.name = "Board score", .type = GitHubFieldType::kNumber}}));
    for (auto [name, token] :
         {std::pair{"yt.token", kYouTrackCanary}, std::pair{"jira.token", kJiraCanary},
          std::pair{"gh.token", kGitHubCanary}, std::pair{"board.token", kBoardCanary}}) {
      const auto file = dir_.Write(name, std::string(token) + "\n");
      ::chmod(file.c_str(), 0600);
      secret_files_.insert(file);
    }
    const std::string sync_back =
        "sync_back:\n  fields:\n    \"Board score\": { from: score, type: float }\n";
    dir_.Write("yt.yaml", "fields:\n  title: summary\n" + sync_back);
    dir_.Write("jira.yaml", "fields:\n  title: summary\n" + sync_back);
    dir_.Write("gh.yaml", "fields:\n  title: title\n" + sync_back);
    std::string config = "state_dir: state\nboard:\n  type: http\n";
    config += "  url: " + board_.url() + "\n  token_file: board.token\nconnections:\n";
    config += "  - { name: yt, type: youtrack, base_url: " + youtrack_.base_url();
    config += ", token_file: yt.token, mapping: yt.yaml, board: roadmap, timeout: 5s }\n";
    config += "  - { name: jira, type: jira, base_url: " + jira_.base_url();
    config += ", token_file: jira.token, mapping: jira.yaml, board: roadmap, timeout: 5s }\n";
    config += "  - { name: gh, type: github, base_url: " + github_.base_url();
    config += ", repos: [acme/web], project: { owner: acme, number: 1 }, token_file: gh.token,";
    config += " mapping: gh.yaml, board: roadmap, timeout: 5s }\n";
    dir_.Write("boardsync.yaml", config);
  }

  Ran Run(std::vector<std::string> args) {
    args.insert(args.end(), {"--log-level", "debug"});
    Ran ran = runner_.Run(std::move(args));
    EXPECT_TRUE(ran.code.has_value()) << ran.Describe();
    return ran;
  }

  // New scores for one issue of each tracker, so that the next sync back
  // has something to write everywhere.
  void ScoreEverything(double value) {
    board_.SetScore("roadmap", "yt:2-9", "score", Value(value));
    board_.SetScore("roadmap", "yt:2-31", "score", Value(value + 1));
    for (const JiraIssue& issue : jira_.Issues()) {
      board_.SetScore("roadmap", "jira:" + std::to_string(issue.id), "score", Value(value));
    }
    for (std::int64_t id : gh_ids_) {
      board_.SetScore("roadmap", "gh:" + std::to_string(id), "score", Value(value));
    }
  }

  TempDir dir_;
  SampleTracker youtrack_;
  JiraServer jira_;
  GitHubServer github_;
  BoardServer board_;
  syncback::Runner runner_;
  std::vector<std::int64_t> gh_ids_;
  std::set<std::filesystem::path> secret_files_;
};

TEST_F(SyncBackCanaryTest, NoSyncBackPathShowsAnyToken) {
  ASSERT_EQ(Run({"sync"}).code, kExitOk);
  ScoreEverything(1);
  EXPECT_EQ(Run({"sync-back", "--dry-run"}).code, kExitOk);
  Ran back = Run({"sync-back"});
  ASSERT_EQ(back.code, kExitOk) << back.Describe();
  ASSERT_EQ(NumberOf(youtrack_.FieldValue("2-9", "Board score")), 1);  // the path ran
  ASSERT_EQ(github_.GetFieldValue("acme", 1, gh_ids_[0], "Board score")->number, 1);
  EXPECT_EQ(Run({"status"}).code, kExitOk);
  EXPECT_EQ(Run({"status", "--format", "json"}).code, kExitOk);

  // Each tracker refuses a write with an answer that echoes the request's
  // Authorization header.
  ScoreEverything(2);
  youtrack_.InjectFault(
      SampleTracker::Fault::Status(400, Echo("Bearer " + std::string(kYouTrackCanary)))
          .On("/api/issues"));
  jira_.InjectFault(JiraServer::Fault::Status(400, Echo("Bearer " + std::string(kJiraCanary)))
                        .On("/rest/api/2/issue"));
  github_.InjectFault(GitHubServer::Fault::Status(400, Echo("Bearer " + std::string(kGitHubCanary)))
                          .On("/graphql"));
  Ran refused = Run({"sync-back"});
  EXPECT_EQ(refused.code, kExitRunFailed) << refused.Describe();
  // The echoes were read (and shown redacted): YouTrack and Jira refused
  // one issue's write, GitHub the sync back's first query.
  EXPECT_THAT(refused.err, AllOf(HasSubstr("yt: issue "), HasSubstr("jira: issue "),
                                 HasSubstr("gh: sync back failed: ")))
      << refused.Describe();
  EXPECT_THAT(refused.err, HasSubstr("HTTP 400): Unexpected header Authorization: Bearer …"))
      << refused.Describe();
  EXPECT_EQ(Run({"status"}).code, kExitOk);
  EXPECT_EQ(Run({"status", "--format", "json"}).code, kExitOk);
  EXPECT_EQ(Run({"sync-back", "--dry-run"}).code, kExitOk);

  // The token refused outright, with the same echo.
  ScoreEverything(3);
  youtrack_.InjectFault(
      SampleTracker::Fault::Status(401, Echo("Bearer " + std::string(kYouTrackCanary)))
          .On("/api/issues"));
  jira_.InjectFault(
      JiraServer::Fault::Status(401, Echo("Bearer " + std::string(kJiraCanary))).On("*"));
  github_.InjectFault(
      GitHubServer::Fault::Status(401, Echo("Bearer " + std::string(kGitHubCanary))).On("*"));
  Ran unauthorized = Run({"sync-back"});
  EXPECT_EQ(unauthorized.code, kExitRunFailed) << unauthorized.Describe();
  for (std::string_view connection : {"yt", "jira", "gh"}) {
    EXPECT_THAT(unauthorized.err, HasSubstr(std::string(connection) + ": sync back failed: "))
        << unauthorized.Describe();
  }
  EXPECT_THAT(unauthorized.err, HasSubstr("HTTP 401")) << unauthorized.Describe();

  // The board store's scores endpoint echoes its token too.
  board_.InjectFault(
      BoardServer::Fault::Status(401, Echo("Bearer " + std::string(kBoardCanary))).OnScores());
  Ran board_refused = Run({"sync-back"});
  EXPECT_EQ(board_refused.code, kExitRunFailed) << board_refused.Describe();
  EXPECT_THAT(board_refused.err, HasSubstr("refused the board token")) << board_refused.Describe();
  board_.InjectFault(BoardServer::Fault::Status(403, Echo("Bearer " + std::string(kBoardCanary)))
                         .OnScores()
                         .Times(3));
  EXPECT_EQ(Run({"sync-back", "--dry-run"}).code, kExitRunFailed);
  board_.ClearFaults();
  Ran last = Run({"sync-back"});
  EXPECT_EQ(last.code, kExitOk) << last.Describe();
  EXPECT_EQ(Run({"status", "--format", "json"}).code, kExitOk);

  std::vector<hostile::Evidence> evidence = hostile::FilesUnder(dir_.path(), secret_files_);
  for (const Ran& ran : runner_.runs()) {
    evidence.push_back({ran.Describe().substr(0, 120), ran.out + ran.err});
  }
  // A control: the same search finds the tokens in their own files.
  EXPECT_GE(hostile::FindNeedles(hostile::FilesUnder(dir_.path(), {}), CanaryNeedles()).size(), 4u);
  const std::vector<std::string> hits = hostile::FindNeedles(evidence, CanaryNeedles());
  EXPECT_TRUE(hits.empty()) << hits.size() << " token leak(s):\n" << testing::PrintToString(hits);
}

}  // namespace
}  // namespace boardsync

// `boardsync sync`, `test-connection`, `preview` and `check` end to end: the
// real YouTrack connector and HTTP client against the sample tracker on
// loopback, with real state and board SQLite files in a temporary directory.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <sstream>

#include "connectors/http/json.h"
#include "core/time.h"
#include "daemon/commands.h"
#include "daemon/lock.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

struct BoardRow {
  std::string item_key, source_key, source_url, source_updated_at, synced_at;
  Value fields;
  bool archived = false;
};

class SyncCommandTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    token_file_ = dir_.Write("tracker.token", std::string(kSampleTrackerToken) + "\n");
    ::chmod(token_file_.c_str(), 0600);
    WriteConfig(tracker_.base_url());
  }

  void WriteConfig(const std::string& base_url, const std::string& extra_connections = "") {
    dir_.Write("boardsync.yaml", "state_dir: state\n"
                                 "connections:\n"
                                 "  - name: sample\n"
                                 "    type: youtrack\n"
                                 "    base_url: " + base_url + "\n"
                                 "    token_file: tracker.token\n"
                                 "    mapping: " + Mapping() + "\n"
                                 "    board: roadmap\n"
                                 "    page_size: 4\n" + extra_connections);
  }

  static std::string Mapping() { return (SourceDir() / "mappings/examples/youtrack.yaml").string(); }

  CommandOptions Options() const {
    CommandOptions options;
    options.config_file = dir_.path() / "boardsync.yaml";
    return options;
  }

  Outcome Run(int (*command)(const CommandOptions&, std::ostream&, std::ostream&),
              CommandOptions options) {
    std::ostringstream out, err;
    int code = command(options, out, err);
    return Outcome{code, out.str(), err.str()};
  }
  Outcome Sync() { return Run(&RunSync, Options()); }

  std::vector<BoardRow> Board() const {
    std::vector<BoardRow> rows;
    SQLite::Database db((dir_.path() / "state/board.db").string());
    SQLite::Statement q(db,
                        "SELECT item_key, source_key, source_url, source_updated_at, synced_at, "
                        "fields, archived_at IS NOT NULL FROM items WHERE board = 'roadmap' "
                        "ORDER BY item_key");
    while (q.executeStep()) {
      BoardRow row{q.getColumn(0).getString(), q.getColumn(1).getString(),
                   q.getColumn(2).getString(), q.getColumn(3).getString(),
                   q.getColumn(4).getString(), Value(), q.getColumn(6).getInt() != 0};
      auto fields = ParseJson(q.getColumn(5).getString());
      EXPECT_TRUE(fields);
      row.fields = fields.value_or(Value());
      rows.push_back(std::move(row));
    }
    return rows;
  }

  static const BoardRow* Find(const std::vector<BoardRow>& rows, std::string_view source_key) {
    for (const BoardRow& row : rows) {
      if (row.source_key == source_key) {
        return &row;
      }
    }
    return nullptr;
  }

  SampleTracker tracker_;
  TempDir dir_;
  std::filesystem::path token_file_;
};

Value List(std::initializer_list<const char*> items) {
  Value::List list;
  for (const char* item : items) {
    list.emplace_back(item);
  }
  return Value(std::move(list));
}

TEST_F(SyncCommandTest, FirstSyncPutsEveryIssueOnTheBoardFieldByField) {
  Outcome sync = Sync();
  ASSERT_EQ(sync.code, kExitOk) << sync.out << sync.err;
  EXPECT_TRUE(sync.out.starts_with("sample: pulled 15, created 13, updated 0, archived 0, "
                                   "unchanged 0, skipped 2, failed 0, board writes 13, "))
      << sync.out;

  std::vector<BoardRow> board = Board();
  ASSERT_EQ(board.size(), 13u);  // RAP-4 and SRV-5 are duplicates: skipped
  EXPECT_EQ(Find(board, "RAP-4"), nullptr);
  EXPECT_EQ(Find(board, "SRV-5"), nullptr);

  const BoardRow* rap2 = Find(board, "RAP-2");
  ASSERT_NE(rap2, nullptr);
  EXPECT_EQ(rap2->item_key, "sample:2-17");  // the stable entity id, not RAP-2
  EXPECT_EQ(rap2->source_url, tracker_.base_url() + "/issue/RAP-2");
  EXPECT_EQ(rap2->source_updated_at, "2024-05-21T10:15:00.250Z");
  EXPECT_FALSE(rap2->archived);
  const Value& f = rap2->fields;
  EXPECT_EQ(*f.Find("title"), Value("Show priority score next to each board card"));
  EXPECT_EQ(*f.Find("headline"), Value("RAP-2: Show priority score next to each board card"));
  EXPECT_EQ(*f.Find("key"), Value("RAP-2"));
  EXPECT_EQ(*f.Find("link"), Value(tracker_.base_url() + "/issue/RAP-2"));
  EXPECT_EQ(*f.Find("project"), Value("RAP"));
  EXPECT_EQ(*f.Find("state"), Value("In Progress"));
  EXPECT_EQ(*f.Find("urgency"), Value(3));  // Major
  EXPECT_EQ(*f.Find("assignee"), Value("Amélie Durand"));
  EXPECT_EQ(*f.Find("assignee_login"), Value("amelie.durand"));
  EXPECT_EQ(*f.Find("reviewers"), List({"Zoë Ångström", "Priya Raman"}));
  EXPECT_EQ(*f.Find("labels"), List({"roadmap-2024", "needs design"}));
  EXPECT_EQ(*f.Find("fix_versions"), List({"2024.2", "2024.3"}));
  EXPECT_EQ(*f.Find("subsystem"), Value("Board UI"));
  EXPECT_EQ(*f.Find("team"), Value("Frontend Team"));
  // JSON has one number type: 5.0 reads back as 5.
  EXPECT_EQ(f.Find("effort_days")->AsNumber(), 5.0);  // 2400 minutes of 8-hour days
  EXPECT_EQ(f.Find("spent_hours")->AsNumber(), 16.0);
  EXPECT_EQ(*f.Find("due"), Value("2024-06-14"));
  EXPECT_EQ(*f.Find("started"), Value("2024-05-02T07:30:00.000Z"));
  EXPECT_EQ(*f.Find("created"), Value("2024-03-04"));
  EXPECT_EQ(*f.Find("updated"), Value("2024-05-21T10:15:00.250Z"));
  EXPECT_TRUE(f.Find("resolved")->IsNull());
  EXPECT_EQ(*f.Find("story_points"), Value(8));
  EXPECT_EQ(*f.Find("business_value"), Value(6.25));
  EXPECT_TRUE(f.Find("customer")->IsNull());
  EXPECT_TRUE(f.Find("fixed_in_build")->IsNull());

  const BoardRow* rap3 = Find(board, "RAP-3");  // unassigned, no estimation
  ASSERT_NE(rap3, nullptr);
  EXPECT_TRUE(rap3->fields.Find("assignee")->IsNull());
  EXPECT_TRUE(rap3->fields.Find("effort_days")->IsNull());
  EXPECT_EQ(*rap3->fields.Find("urgency"), Value(2));

  const BoardRow* rap1 = Find(board, "RAP-1");  // resolved
  ASSERT_NE(rap1, nullptr);
  EXPECT_EQ(*rap1->fields.Find("state"), Value("Fixed"));
  EXPECT_EQ(*rap1->fields.Find("resolved"), Value(FormatIsoUtc(1710760805000)));
}

TEST_F(SyncCommandTest, AsksOnlyForWhatTheMappingUsesAndAlwaysSendsTop) {
  // One reader, so that the pages can be counted (slices add the requests
  // that find the range, each with $top=1: tests/connectors/youtrack).
  WriteConfig(tracker_.base_url(), "    concurrency: 1\n");
  ASSERT_EQ(Sync().code, kExitOk);
  auto requests = tracker_.requests();
  int issue_requests = 0;
  for (const auto& r : requests) {
    if (r.api_path != "/api/issues") {
      continue;
    }
    ++issue_requests;
    EXPECT_EQ(*r.request.Param("$top"), "4");
    // Keyset paging on `updated`: $skip only passes over what a query
    // returns again from its lower bound, never the pages read before.
    EXPECT_LT(std::stoi(std::string(*r.request.Param("$skip"))), 4) << r.request.target;
    EXPECT_TRUE(r.request.Param("query")->ends_with("sort by: updated asc"))
        << *r.request.Param("query");
    EXPECT_EQ(*r.request.Header("authorization"), "Bearer " + std::string(kSampleTrackerToken));
    EXPECT_EQ(*r.request.Header("accept"), "application/json");
    auto custom = r.request.Params("customFields");
    EXPECT_NE(std::find(custom.begin(), custom.end(), "Priority"), custom.end());
    // "Notes" is a field of the sample issues the example mapping does not use.
    EXPECT_EQ(std::find(custom.begin(), custom.end(), "Notes"), custom.end());
  }
  // 15 issues in pages of 4; each next page starts at the last one's second.
  EXPECT_GE(issue_requests, 4);
  EXPECT_LE(issue_requests, 6);
}

TEST_F(SyncCommandTest, ASecondSyncOfAnUnchangedTrackerWritesNothing) {
  ASSERT_EQ(Sync().code, kExitOk);
  std::vector<BoardRow> before = Board();
  tracker_.ClearRequests();
  Outcome again = Sync();
  ASSERT_EQ(again.code, kExitOk) << again.err;
  EXPECT_NE(again.out.find("created 0, updated 0, archived 0, "), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("board writes 0, "), std::string::npos) << again.out;
  EXPECT_EQ(tracker_.RequestCount("/api/issues"), 1u);
  std::vector<BoardRow> after = Board();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].synced_at, before[i].synced_at) << after[i].source_key;
    EXPECT_EQ(after[i].fields, before[i].fields);
  }
}

TEST_F(SyncCommandTest, AChangedIssueUpdatesItsItemAndADuplicateLeavesTheBoard) {
  ASSERT_EQ(Sync().code, kExitOk);
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "Drag-and-drop keeps positions now"));
  ASSERT_TRUE(tracker_.UpdateIssue("SRV-1", [](Value& issue) {
    for (Value& field : issue.AsObject().at("customFields").AsList()) {
      if (field.StringOr("name") == "State") {
        field.AsObject().at("value").AsObject().insert_or_assign("name", "Duplicate");
      }
    }
  }));
  Outcome sync = Sync();
  ASSERT_EQ(sync.code, kExitOk) << sync.err;
  EXPECT_NE(sync.out.find("created 0, updated 1, archived 1, "), std::string::npos) << sync.out;
  EXPECT_NE(sync.out.find("board writes 2, "), std::string::npos) << sync.out;
  std::vector<BoardRow> board = Board();
  EXPECT_EQ(*Find(board, "RAP-3")->fields.Find("title"), Value("Drag-and-drop keeps positions now"));
  EXPECT_TRUE(Find(board, "SRV-1")->archived);
}

TEST_F(SyncCommandTest, ARevokedTokenFailsTheConnectionWithoutTouchingTheBoard) {
  ASSERT_EQ(Sync().code, kExitOk);
  std::vector<BoardRow> before = Board();
  tracker_.RevokeToken(kSampleTrackerToken);
  Outcome sync = Sync();
  EXPECT_EQ(sync.code, kExitRunFailed);
  EXPECT_NE(sync.err.find("connection sample: token invalid or revoked"), std::string::npos)
      << sync.err;
  EXPECT_EQ(Board().size(), before.size());
  std::string secret(kSampleTrackerToken.substr(kSampleTrackerToken.rfind('.') + 1));
  EXPECT_EQ((sync.out + sync.err).find(secret), std::string::npos);
}

TEST_F(SyncCommandTest, AnHtmlLoginPageIsAnErrorNotAnEmptyTracker) {
  tracker_.InjectFault(SampleTracker::Fault::HtmlLoginPage().On("/api/issues"));
  Outcome sync = Sync();
  EXPECT_EQ(sync.code, kExitRunFailed);
  EXPECT_NE(sync.err.find("HTML"), std::string::npos) << sync.err;
}

TEST_F(SyncCommandTest, AFailingConnectionDoesNotStopTheOthers) {
  SampleTracker down;  // knows another token: ours is refused there
  down.SetToken("perm:b3RoZXI=.b3RoZXI=.OtherTrackerTokenOtherTrackerTok");
  WriteConfig(tracker_.base_url(), "  - name: broken\n"
                                   "    type: youtrack\n"
                                   "    base_url: " + down.base_url() + "\n"
                                   "    token_file: tracker.token\n"
                                   "    mapping: " + Mapping() + "\n"
                                   "    board: roadmap\n");
  Outcome sync = Sync();
  EXPECT_EQ(sync.code, kExitRunFailed);
  EXPECT_NE(sync.out.find("sample: pulled 15, created 13"), std::string::npos) << sync.out;
  EXPECT_NE(sync.err.find("connection broken: token invalid or revoked"), std::string::npos)
      << sync.err;
  EXPECT_EQ(Board().size(), 13u);
}

TEST_F(SyncCommandTest, ServerOnAPathWithATrailingSlashAndAPastedIssueUrl) {
  SampleTrackerOptions options;
  options.path_prefix = "/youtrack";
  SampleTracker on_path(options);
  ASSERT_TRUE(on_path.LoadIssues(SampleIssuesPath()));
  WriteConfig(on_path.base_url() + "/issue/RAP-2/Show-priority-score");
  Outcome sync = Sync();
  ASSERT_EQ(sync.code, kExitOk) << sync.err;
  EXPECT_EQ(Find(Board(), "RAP-2")->source_url, on_path.base_url() + "/issue/RAP-2");
}

TEST_F(SyncCommandTest, DryRunPrintsChangesAndWritesNothing) {
  CommandOptions options = Options();
  options.dry_run = true;
  Outcome sync = Run(&RunSync, options);
  ASSERT_EQ(sync.code, kExitOk) << sync.err;
  EXPECT_NE(sync.out.find("would write sample:2-17 (RAP-2)"), std::string::npos) << sync.out;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/board.db"));
}

TEST_F(SyncCommandTest, TestConnectionNamesTheTokensOwner) {
  Outcome result = Run(&RunTestConnection, Options());
  ASSERT_EQ(result.code, kExitOk) << result.out << result.err;
  EXPECT_NE(result.out.find("sample: ok, the token belongs to"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("(sync.bot)"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("3 projects"), std::string::npos) << result.out;
}

TEST_F(SyncCommandTest, TestConnectionReportsAGuestAnswerAsATokenNotAccepted) {
  tracker_.InjectFault(SampleTracker::Fault::Status(
                           200, R"({"id":"1-0","login":"guest","fullName":"Guest","guest":true,)"
                                R"("banned":false,"$type":"Me"})")
                           .On("/api/users/me"));
  Outcome result = Run(&RunTestConnection, Options());
  EXPECT_EQ(result.code, kExitRunFailed);
  EXPECT_NE(result.out.find("sample: FAILED"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("guest"), std::string::npos) << result.out;
}

TEST_F(SyncCommandTest, SyncRefusesATokenServedAsTheGuest) {
  // A proxy that drops the Authorization header makes YouTrack answer as the
  // guest, who sees no issues: that must not pass for an empty tracker.
  tracker_.InjectFault(SampleTracker::Fault::Status(
                           200, R"({"id":"1-0","login":"guest","fullName":"Guest","guest":true,)"
                                R"("banned":false,"$type":"Me"})")
                           .On("/api/users/me"));
  Outcome sync = Sync();
  EXPECT_EQ(sync.code, kExitRunFailed);
  EXPECT_NE(sync.err.find("sample: sync failed"), std::string::npos) << sync.err;
  EXPECT_NE(sync.err.find("guest"), std::string::npos) << sync.err;
  EXPECT_EQ(tracker_.RequestCount("/api/issues"), 0u);
}

TEST_F(SyncCommandTest, PreviewPrintsMappedItemsAsJsonAndWritesNothing) {
  CommandOptions options = Options();
  options.connections = {"sample"};
  options.limit = 3;
  options.format = "json";
  Outcome result = Run(&RunPreview, options);
  ASSERT_EQ(result.code, kExitOk) << result.err;
  auto items = ParseJson(result.out);
  ASSERT_TRUE(items) << result.out;
  ASSERT_EQ(items->AsList().size(), 3u);
  EXPECT_TRUE(items->AsList()[0].Find("fields")->IsObject());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/board.db"));

  options.format = "table";
  Outcome table = Run(&RunPreview, options);
  ASSERT_EQ(table.code, kExitOk);
  EXPECT_TRUE(table.out.starts_with("issue")) << table.out;
}

TEST_F(SyncCommandTest, CheckAcceptsTheConfigAndReportsBadMappingsWithTheirPlace) {
  EXPECT_EQ(Run(&RunCheck, Options()).code, kExitOk);
  auto bad = dir_.Write("bad.yaml", "fields:\n  effort: { from: Estimation, as: hourz }\n");
  dir_.Write("boardsync.yaml", "connections:\n"
                               "  - name: sample\n"
                               "    type: youtrack\n"
                               "    base_url: https://x.youtrack.cloud\n"
                               "    token_env: UNUSED\n"
                               "    mapping: bad.yaml\n");
  Outcome check = Run(&RunCheck, Options());
  EXPECT_EQ(check.code, kExitBadConfig);
  EXPECT_TRUE(check.err.starts_with(bad.string() + ":2:")) << check.err;
}

// The binary itself: exit codes a cron job or CI sees.
Outcome RunBinary(const std::string& args) {
  std::string command = (BinaryDir() / "boardsync").string() + " " + args + " 2>&1";
  Outcome outcome;
  FILE* pipe = ::popen(command.c_str(), "r");
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    outcome.out.append(buffer.data(), n);
  }
  int status = ::pclose(pipe);
  outcome.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

TEST_F(SyncCommandTest, BinaryExitCodes) {
  std::string config = "--config " + (dir_.path() / "boardsync.yaml").string();
  Outcome ok = RunBinary("sync " + config);
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("sample: pulled 15"), std::string::npos) << ok.out;

  // Global options may follow the command.
  EXPECT_EQ(RunBinary("check " + config + " --log-level debug").code, 0);
  EXPECT_EQ(RunBinary("sync --no-such-option " + config).code, 2);
  EXPECT_EQ(RunBinary("sync --config " + (dir_.path() / "missing.yaml").string()).code, 2);
  EXPECT_EQ(RunBinary("sync --connection nope " + config).code, 2);

  auto lock = StateLock::Acquire(dir_.path() / "state");
  ASSERT_TRUE(lock);
  Outcome locked = RunBinary("sync " + config);
  EXPECT_EQ(locked.code, 3) << locked.out;
  EXPECT_NE(locked.out.find("another boardsync process"), std::string::npos) << locked.out;
}

}  // namespace
}  // namespace boardsync

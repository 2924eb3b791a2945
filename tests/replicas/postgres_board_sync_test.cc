// The PostgreSQL board against the SQLite board, end to end (DESIGN §4.1):
// the real `boardsync sync` binary syncs one sample tracker twice side by
// side, into the SQLite board and into a PostgreSQL board, through a first
// sync, changes, issues resolved out of the query, skipped by the mapping
// and deleted, a full resync and issues coming back. After every step the
// two `items` tables must agree row for row, and both must hold what the
// tracker holds. The PostgreSQL side keeps its state in SQLite or in the
// same PostgreSQL database as its board (`state.type: postgres`).

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/value.h"
#include "tests/integration/board_testing.h"
#include "tests/replicas/pg_daemon_support.h"
#include "tests/slow/kill_support.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using killtest::FirstOf;
using killtest::RunBoardsync;
using killtest::RunResult;
using pgtest::DiffBoards;
using pgtest::PgReader;

// Text JSON and the two stores may treat differently: quotes, backslashes,
// control characters, non-ASCII, astral-plane characters.
constexpr std::string_view kAwkwardSummary =
    "Ünïcødé \"quoted\" 'single' back\\slash\ttab — ✓ 🚀 {\"json\": [1, 2.5]} %s $1";

Value StateValue(std::string_view name, bool resolved) {
  return Value(Value::Object{
      {"$type", "StateBundleElement"}, {"name", std::string(name)}, {"isResolved", resolved}});
}

bool Unresolved(const Value& issue) {
  const Value* resolved = issue.Find("resolved");
  return resolved == nullptr || resolved->IsNull();
}

// The summary line of `connection` in a run's output without its seconds:
// "open: pulled 280, created 280, ..., board writes 280".
std::string Counts(const std::string& log, std::string_view connection) {
  static const std::regex kSeconds(R"(, [0-9.]+s$)");
  std::string::size_type at = 0;
  while ((at = log.find(std::string(connection) + ": pulled ", at)) != std::string::npos) {
    if (at == 0 || log[at - 1] == '\n') {
      std::string line = log.substr(at, log.find('\n', at) - at);
      return std::regex_replace(line, kSeconds, "");
    }
    ++at;
  }
  return "(no summary line for " + std::string(connection) + ")";
}

// The parameter: where the PostgreSQL side keeps its state.
class PostgresBoardSyncTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(BinaryDir() / "boardsync"))
        << "build the boardsync target first: " << (BinaryDir() / "boardsync");
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    tracker_.GenerateIssues(300, /*seed=*/19);
    auto token = dir_.Write("tracker.token", std::string(kSampleTrackerToken) + "\n");
    ::chmod(token.c_str(), 0600);
    const auto url_file = pgtest::WriteUrlFile(dir_, "pg.url", db_.url());
    dir_.Write("sqlite.yaml", "state_dir: state-sqlite\n" + Connections());
    // One URL file for the state and the board, as DESIGN §2's example.
    dir_.Write("postgres.yaml", "state_dir: state-postgres\n" +
                                    (GetParam() == "postgres" ? pgtest::PostgresStateYaml(url_file)
                                                              : std::string()) +
                                    pgtest::PostgresBoardYaml(url_file) + Connections());
  }

  // Two connections: `open` selects unresolved issues (a resolved one leaves
  // the query), `all` every issue, skipping duplicates by the mapping.
  std::string Connections() const {
    const std::string mapping = (SourceDir() / "mappings/examples/youtrack.yaml").string();
    std::string yaml = "connections:\n";
    for (const auto& [name, query] :
         {std::pair{"open", "    query: \"#Unresolved\"\n"}, std::pair{"all", ""}}) {
      yaml += std::string("  - name: ") + name + "\n" +
              "    type: youtrack\n"
              "    base_url: " + tracker_.base_url() + "\n" +
              "    token_file: tracker.token\n"
              "    mapping: " + mapping + "\n" +
              "    board: " + name + "\n" + query +
              "    page_size: 40\n";
    }
    return yaml;
  }

  // Syncs into both boards, SQLite first; both must succeed with the same
  // counts, and the PostgreSQL password never shows.
  void SyncBoth(bool full, const std::string& step) {
    std::vector<std::string> logs;
    for (const std::string config : {"sqlite.yaml", "postgres.yaml"}) {
      std::vector<std::string> args = {"sync", "--config", (dir_.path() / config).string(),
                                       "--log-level", "info"};
      if (full) {
        args.push_back("--full");
      }
      RunResult run = RunBoardsync(args, dir_.path() / "run.log", std::nullopt);
      ASSERT_EQ(run.exit_code, 0) << step << ", " << config << ":\n" << run.log;
      EXPECT_EQ(run.log.find(kPgTestPassword), std::string::npos) << run.log;
      EXPECT_EQ(run.log.find("postgresql://"), std::string::npos) << run.log;
      logs.push_back(run.log);
    }
    for (std::string_view connection : {"open", "all"}) {
      EXPECT_EQ(Counts(logs[0], connection), Counts(logs[1], connection))
          << step << ": the two syncs counted differently";
    }
  }

  // Both boards agree row for row, and each holds what the tracker
  // selects. Returns the PostgreSQL boards.
  std::pair<Board, Board> ExpectSameBoards(const std::string& step, bool check_tracker) {
    PgReader pg(db_.url());
    Board open_pg = pg.ReadBoard("open");
    Board all_pg = pg.ReadBoard("all");
    const auto board_db = dir_.path() / "state-sqlite/board.db";
    Board open_sqlite = ReadBoard(board_db, "open");
    Board all_sqlite = ReadBoard(board_db, "all");
    EXPECT_GT(open_sqlite.rows.size(), 100u) << step;
    EXPECT_GT(all_sqlite.rows.size(), open_sqlite.rows.size()) << step;
    for (const auto& [name, sqlite, postgres] :
         {std::tuple{"open", &open_sqlite, &open_pg}, std::tuple{"all", &all_sqlite, &all_pg}}) {
      std::vector<std::string> differences = DiffBoards(*sqlite, *postgres);
      EXPECT_TRUE(differences.empty())
          << step << ", board " << name << ": " << differences.size() << " differences ("
          << sqlite->rows.size() << " SQLite rows, " << postgres->rows.size()
          << " PostgreSQL rows):\n"
          << FirstOf(differences);
    }
    if (check_tracker) {
      BoardDifferences open = CompareBoard(open_pg, tracker_, "open", Unresolved);
      EXPECT_TRUE(open.empty()) << step << ", board open:\n" << open.ToString();
      BoardDifferences all = CompareBoard(all_pg, tracker_, "all", NotDuplicate);
      EXPECT_TRUE(all.empty()) << step << ", board all:\n" << all.ToString();
    }
    return {std::move(open_pg), std::move(all_pg)};
  }

  // Issue ids whose issues `want` accepts, at most `n`, skipping `used`.
  std::vector<std::string> Pick(std::size_t n, const std::function<bool(const Value&)>& want,
                                std::set<std::string>& used) {
    std::vector<std::string> picked;
    for (const std::string& id : tracker_.IssueIds()) {
      if (picked.size() == n) {
        break;
      }
      std::optional<Value> issue = tracker_.GetIssue(id);
      if (issue && !used.contains(id) && want(*issue)) {
        picked.push_back(id);
        used.insert(id);
      }
    }
    EXPECT_EQ(picked.size(), n) << "the sample tracker has too few such issues";
    return picked;
  }

  SampleTracker tracker_;
  PgTestDatabase db_;
  TempDir dir_;
};

TEST_P(PostgresBoardSyncTest, HoldsTheSameItemsAsTheSqliteBoardThroughChangesArchivesAndResync) {
  SyncBoth(/*full=*/false, "first sync");
  ExpectSameBoards("after the first sync", /*check_tracker=*/true);
  if (GetParam() == "postgres") {
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state-postgres/state.db"))
        << "state.type postgres, yet state.db was made";
  }

  // Changes of every kind an incremental sync sees, and some only a full one
  // does (deletions, issues leaving the query).
  std::set<std::string> used;
  auto any = [](const Value&) { return true; };
  auto open_not_duplicate = [](const Value& issue) {
    return Unresolved(issue) && NotDuplicate(issue);
  };
  std::vector<std::string> renamed = Pick(40, any, used);
  for (std::size_t i = 0; i < renamed.size(); ++i) {
    ASSERT_TRUE(tracker_.SetSummary(
        renamed[i], i % 4 == 0 ? std::string(kAwkwardSummary) + " #" + std::to_string(i)
                               : "Renamed " + renamed[i]));
  }
  for (const std::string& id : Pick(20, any, used)) {
    ASSERT_TRUE(tracker_.SetFieldValue(
        id, "Priority",
        Value(Value::Object{{"$type", "EnumBundleElement"}, {"name", "Show-stopper"}})));
  }
  const std::vector<std::string> resolved = Pick(12, open_not_duplicate, used);
  for (const std::string& id : resolved) {
    ASSERT_TRUE(tracker_.SetFieldValue(id, "State", StateValue("Fixed", true)));
  }
  const std::vector<std::string> duplicated = Pick(6, open_not_duplicate, used);
  for (const std::string& id : duplicated) {
    ASSERT_TRUE(tracker_.SetFieldValue(id, "State", StateValue("Duplicate", true)));
  }
  const std::vector<std::string> deleted = Pick(8, open_not_duplicate, used);
  for (const std::string& id : deleted) {
    ASSERT_TRUE(tracker_.DeleteIssue(id));
  }
  for (int i = 0; i < 6; ++i) {
    auto id = tracker_.AddIssue(Value(Value::Object{
        {"summary", i % 2 == 0 ? std::string(kAwkwardSummary) : "Added #" + std::to_string(i)},
        {"project", Value(Value::Object{{"$type", "Project"}, {"shortName", "RAP"}})}}));
    ASSERT_TRUE(id.has_value()) << id.error().message;
  }
  SyncBoth(/*full=*/false, "sync after the changes");
  {
    auto [open, all] = ExpectSameBoards("after the changes", /*check_tracker=*/false);
    // The mapping skips duplicates: an incremental sync archives them.
    for (const std::string& id : duplicated) {
      const BoardRow* row = all.Find("all:" + id);
      EXPECT_TRUE(row != nullptr && row->archived()) << "all:" << id << " not archived";
    }
  }

  SyncBoth(/*full=*/true, "full resync");
  {
    auto [open, all] = ExpectSameBoards("after the full resync", /*check_tracker=*/true);
    std::vector<std::string> live;
    for (const std::string& id : deleted) {
      for (const auto& [name, board] : {std::pair{"open", &open}, std::pair{"all", &all}}) {
        const BoardRow* row = board->Find(std::string(name) + ":" + id);
        if (row == nullptr || !row->archived()) {
          live.push_back(std::string(name) + ":" + id + " (deleted)");
        }
      }
    }
    for (const std::string& id : resolved) {
      const BoardRow* row = open.Find("open:" + id);
      if (row == nullptr || !row->archived()) {
        live.push_back("open:" + id + " (resolved)");
      }
    }
    EXPECT_TRUE(live.empty()) << "not archived:\n" << FirstOf(live);
  }

  // Back from the archive: reopened, no longer a duplicate.
  for (const std::string& id : resolved) {
    ASSERT_TRUE(tracker_.SetFieldValue(id, "State", StateValue("Open", false)));
  }
  for (const std::string& id : duplicated) {
    ASSERT_TRUE(tracker_.SetFieldValue(id, "State", StateValue("In Progress", false)));
  }
  SyncBoth(/*full=*/false, "sync after reopening");
  auto [open, all] = ExpectSameBoards("after reopening", /*check_tracker=*/false);
  for (const std::string& id : resolved) {
    const BoardRow* row = open.Find("open:" + id);
    EXPECT_TRUE(row != nullptr && !row->archived()) << "open:" << id << " still archived";
  }
  for (const std::string& id : duplicated) {
    const BoardRow* row = all.Find("all:" + id);
    EXPECT_TRUE(row != nullptr && !row->archived()) << "all:" << id << " still archived";
  }
  // Nothing changed since: neither board is written again.
  PgReader pg(db_.url());
  const std::string stamp = pg.BoardStamp();
  SyncBoth(/*full=*/false, "sync without changes");
  EXPECT_EQ(pg.BoardStamp(), stamp);
}

INSTANTIATE_TEST_SUITE_P(State, PostgresBoardSyncTest, testing::Values("sqlite", "postgres"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param == "sqlite" ? std::string("SqliteState")
                                                         : std::string("PostgresState");
                         });

}  // namespace
}  // namespace boardsync

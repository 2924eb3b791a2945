// Crash safety (DESIGN §5) with the Jira connector: the real boardsync binary
// syncs 3,000 issues from the sample Jira and is killed with SIGKILL at random
// instants, during the pull, the commit and the board writes, then restarted,
// while Jira keeps changing (edits, moves to other projects, deletions, new
// issues). Afterwards a few syncs must bring the board exactly to what Jira
// holds, with both SQLite files intact and no kill ever leaving the lock
// behind. Cloud with a lagging search index and full passes read in four
// slices, and Data Center under a context path in a zone with DST, read by
// one reader.
//
// Slow (seconds to a minute); ctest runs it with the label "slow". The seed
// is printed; BOARDSYNC_KILL_SEED=<n> replays a run.
//
// Running and killing the binary, the board stamp and the seed are
// kill_support.h's, shared with kill_test.cc.

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/time.h"
#include "tests/integration/board_testing.h"
#include "tests/support/jira/jira_server.h"
#include "tests/slow/kill_support.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using killtest::BoardStamp;
using killtest::FirstOf;
using killtest::LockHeld;
using killtest::RunBoardsync;
using killtest::RunResult;
using killtest::Seed;

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kIssues = 3'000;
constexpr int kKills = 12;           // kills that must land while the child runs
constexpr int kKillsPerPhase = 2;    // at least, while it pulls and while it writes the board
constexpr int kMaxRuns = 50;         // bounds the test if runs finish too early
constexpr int kChangesPerRun = 100;  // issues edited before each start
constexpr int kMovesPerRun = 3;      // issues moved to another project (new key, same id)
constexpr int kDeletesPerRun = 2;
constexpr int kAddsPerRun = 2;
constexpr milliseconds kCloudIndexLag(1500);
constexpr int kExitLocked = 3;  // DESIGN §1: another sync holds the lock

constexpr std::string_view kMapping =
    "fields:\n"
    "  title: summary\n"
    "  state: status\n"
    "  points: Story Points\n"
    "  assignee: Assignee.name\n"
    "  link: $url\n";

constexpr std::string_view kStatuses[] = {"To Do", "In Progress", "In Review", "Done", "Won't Do"};
constexpr std::string_view kProjects[] = {"RAP", "SRV", "DOC", "OPS"};


// Issue ids of the live items, empty while board.db is missing or half made.
std::vector<std::int64_t> LiveIds(const std::filesystem::path& board_db) {
  std::vector<std::int64_t> ids;
  if (!std::filesystem::exists(board_db)) {
    return ids;
  }
  try {
    SQLite::Database db(board_db.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT substr(item_key, 6) FROM items "
                        "WHERE archived_at IS NULL AND item_key LIKE 'jira:%'");
    while (q.executeStep()) {
      ids.push_back(q.getColumn(0).getInt64());
    }
  } catch (const SQLite::Exception&) {
    ids.clear();  // killed before the schema was made
  }
  return ids;
}



std::string ItemKey(std::int64_t id) { return "jira:" + std::to_string(id); }

// How the board differs from what Jira holds: every issue must have exactly
// one live item showing its current key, version and fields, and nothing
// else may be live. Entries name the item and what is wrong.
std::vector<std::string> Differences(const Board& board, const std::vector<JiraIssue>& issues) {
  std::vector<std::string> wrong;
  std::set<std::string> expected;
  for (const JiraIssue& issue : issues) {
    const std::string key = ItemKey(issue.id);
    const std::string label = key + " (" + issue.key + ")";
    expected.insert(key);
    const BoardRow* row = board.Find(key);
    if (row == nullptr) {
      wrong.push_back(label + ": no item");
      continue;
    }
    if (row->archived()) {
      wrong.push_back(label + ": archived at " + *row->archived_at);
      continue;
    }
    if (row->source_key != issue.key) {
      wrong.push_back(label + ": source_key " + row->source_key);
    }
    if (row->source_updated_at != FormatIsoUtc(issue.updated_ms)) {
      wrong.push_back(label + ": source_updated_at " + row->source_updated_at +
                      ", the issue's updated " + FormatIsoUtc(issue.updated_ms));
    }
    if (row->Field("title") != issue.summary) {
      wrong.push_back(label + ": title \"" + row->Field("title") + "\", the summary \"" +
                      issue.summary + "\"");
    }
    if (row->Field("state") != issue.status) {
      wrong.push_back(label + ": state \"" + row->Field("state") + "\", the status \"" +
                      issue.status + "\"");
    }
    const Value* points = row->fields.Find("points");
    const bool has_points = points != nullptr && !points->IsNull();
    if (has_points != issue.story_points.has_value() ||
        (has_points && (!points->IsNumber() || points->AsNumber() != *issue.story_points))) {
      wrong.push_back(label + ": points differ from Story Points");
    }
  }
  for (const auto& [key, row] : board.rows) {
    if (!row.archived() && !expected.contains(key)) {
      wrong.push_back(key + " (" + row.source_key + "): live, but no such issue in Jira");
    }
  }
  return wrong;
}


struct JiraKillParam {
  JiraFlavor flavor;
  int concurrency;
};

void PrintTo(const JiraKillParam& param, std::ostream* out) {
  *out << (param.flavor == JiraFlavor::kCloud ? "Cloud" : "Data Center") << ", concurrency "
       << param.concurrency;
}

class JiraKillTest : public testing::TestWithParam<JiraKillParam> {
 protected:
  JiraKillTest() : server_(Options()) {}

  // On the real clock (no now_ms): a sync bounds what it reads by its start
  // time, and a server clock ahead of it would stamp changes past that bound.
  static JiraServerOptions Options() {
    if (GetParam().flavor == JiraFlavor::kCloud) {
      return JiraServerOptions{.flavor = JiraFlavor::kCloud};
    }
    return JiraServerOptions{.flavor = JiraFlavor::kDataCenter,
                             .path_prefix = "/jira",
                             .user_time_zone = "America/New_York"};
  }

  bool cloud() const { return GetParam().flavor == JiraFlavor::kCloud; }

  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(BinaryDir() / "boardsync"))
        << "build the boardsync target first: " << (BinaryDir() / "boardsync");
    server_.GenerateIssues(kIssues, 31);
    auto token = dir_.Write(
        "jira.token", std::string(cloud() ? kJiraCloudApiToken : kJiraDataCenterToken) + "\n");
    ::chmod(token.c_str(), 0600);
    dir_.Write("mapping.yaml", std::string(kMapping));
    WriteConfig("boardsync.yaml", "state");
  }

  void WriteConfig(const std::string& name, const std::string& state_dir) {
    dir_.Write(name, "state_dir: " + state_dir + "\n" +
                         "connections:\n"
                         "  - name: jira\n"
                         "    type: jira\n"
                         "    base_url: " +
                         server_.base_url() + "\n" +
                         (cloud() ? "    email: " + std::string(kJiraCloudEmail) + "\n" : "") +
                         "    token_file: jira.token\n"
                         "    mapping: mapping.yaml\n"
                         "    board: roadmap\n"
                         "    page_size: 50\n"
                         "    concurrency: " +
                         std::to_string(GetParam().concurrency) + "\n");
  }

  std::vector<std::string> SyncArgs(const std::string& config, bool full) const {
    std::vector<std::string> args = {"sync", "--config", (dir_.path() / config).string(),
                                     "--log-level", "warn"};
    if (full) {
      args.push_back("--full");
    }
    return args;
  }

  JiraServer server_;
  TempDir dir_;
};

TEST_P(JiraKillTest, ConvergesAfterTwelveKillsAtRandomInstants) {
  const std::uint64_t seed = Seed();
  const std::string flavor = cloud() ? "Cloud" : "Data Center";
  std::cout << "jira kill test (" << flavor << ", concurrency " << GetParam().concurrency
            << ") seed " << seed << " (BOARDSYNC_KILL_SEED=" << seed << " replays it)" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  const auto test_start = Clock::now();
  const std::filesystem::path log = dir_.path() / "run.log";
  const std::filesystem::path board_db = dir_.path() / "state/board.db";
  const std::filesystem::path lock_file = dir_.path() / "state/lock";

  // How long one full first sync takes here, in a state directory of its
  // own, and when its first board write lands.
  WriteConfig("calibrate.yaml", "calibrate");
  const auto calibration_start = Clock::now();
  const std::filesystem::path calibration_board = dir_.path() / "calibrate/board.db";
  std::optional<double> first_write;
  RunResult calibration = RunBoardsync(SyncArgs("calibrate.yaml", false), log, std::nullopt, [&] {
    if (first_write) {
      return;
    }
    std::string stamp = BoardStamp(calibration_board);
    if (!stamp.empty() && !stamp.starts_with("0|")) {
      first_write = std::chrono::duration<double>(Clock::now() - calibration_start).count();
    }
  });
  ASSERT_EQ(calibration.exit_code, 0) << calibration.log;
  {
    // The calibration run is an uninterrupted first sync: it alone must be right.
    std::vector<std::string> wrong = Differences(ReadBoard(calibration_board), server_.Issues());
    ASSERT_TRUE(wrong.empty()) << "after an uninterrupted first sync:\n" << FirstOf(wrong);
  }
  std::filesystem::remove_all(dir_.path() / "calibrate");
  const double full_seconds = calibration.seconds;
  // Board writes come last in a run; half the kills aim at that part.
  const double write_fraction = std::clamp(first_write.value_or(0) / full_seconds, 0.0, 0.9);
  std::cout << "one full sync of " << kIssues << " issues: " << full_seconds
            << "s, board writes from " << write_fraction * 100 << "% of it" << std::endl;

  // Cloud's search index lags writes: a run may see an issue's previous
  // version, miss a new one and still find a deleted one.
  if (cloud()) {
    server_.SetIndexLag(kCloudIndexLag);
  }

  std::set<std::int64_t> deleted;  // ids deleted while their item was live
  int kills = 0;
  int kills_before_pulling = 0;  // no search answered yet
  int kills_before_writing = 0;  // searches answered, the board untouched
  int kills_after_writing = 0;   // some board writes had landed
  int finished = 0;
  int moved = 0;
  int added = 0;
  std::vector<std::string> exit_problems;
  int locked = 0;  // runs refused because a killed one still held the lock
  // Kills are spread uniformly over how long a run takes, so they land in
  // every phase of it. A plain run's length varies: the span follows the last
  // finished plain run and grows while runs keep being killed.
  double plain_span = full_seconds;

  int run = 0;
  // Twelve kills are few: runs go on until each part of a run has had its
  // share of them, so the phases' checks below never fail by chance.
  auto enough = [&] {
    return kills >= kKills && kills_before_writing >= kKillsPerPhase &&
           kills_after_writing >= kKillsPerPhase;
  };
  for (; run < kMaxRuns && !enough(); ++run) {
    // Real work for every run: edits, moves, deletions, new issues.
    std::vector<JiraIssue> issues = server_.Issues();
    for (int i = 0; i < kChangesPerRun; ++i) {
      const JiraIssue& issue = issues[rng() % issues.size()];
      const std::uint64_t what = rng();
      ASSERT_TRUE(server_.UpdateIssue(std::to_string(issue.id), [&](JiraIssue& changed) {
        changed.summary = "Run " + std::to_string(run) + " changed " + std::to_string(issue.id);
        if (what % 3 == 0) {
          changed.status = std::string(kStatuses[(what / 3) % std::size(kStatuses)]);
        }
        if (what % 5 == 0) {
          changed.story_points = static_cast<double>((what / 5) % 13 + 1);
        } else if (what % 7 == 0) {
          changed.story_points.reset();
        }
      }));
    }
    for (int i = 0; i < kMovesPerRun; ++i) {
      const JiraIssue& issue = issues[rng() % issues.size()];
      std::string_view project = kProjects[rng() % std::size(kProjects)];
      if (project == issue.ProjectKey() || !server_.GetIssue(std::to_string(issue.id))) {
        continue;
      }
      ASSERT_TRUE(server_.MoveIssue(std::to_string(issue.id), project).has_value());
      ++moved;
    }
    // Deletions among issues whose item is live, so that archiving is tested.
    std::vector<std::int64_t> live = LiveIds(board_db);
    for (int i = 0; i < kDeletesPerRun && !live.empty(); ++i) {
      std::int64_t id = live[rng() % live.size()];
      if (server_.DeleteIssue(std::to_string(id))) {
        deleted.insert(id);
      }
    }
    for (int i = 0; i < kAddsPerRun; ++i) {
      JiraIssue issue;
      issue.project = std::string(kProjects[rng() % 3]);
      issue.summary = "Added during the kill test #" + std::to_string(++added);
      if (rng() % 2 == 0) {
        issue.story_points = 3;
      }
      auto key = server_.AddIssue(std::move(issue));
      ASSERT_TRUE(key.has_value()) << key.error().message;
    }

    const bool full = run % 5 == 4;
    const double span = full ? full_seconds : plain_span;
    // Half the kills may land anywhere, half from where board writes begin;
    // once enough landed while it pulled, all aim at the writes (on a busy
    // machine the pull takes more of each run).
    const bool aim_at_writes =
        kills_before_writing >= kKillsPerPhase && kills_after_writing < kKillsPerPhase;
    const double from = !aim_at_writes && rng() % 2 == 0 ? 0.0 : write_fraction * span;
    std::uniform_int_distribution<int> delay_ms(static_cast<int>(from * 1000),
                                                static_cast<int>(span * 1000));
    const milliseconds delay(delay_ms(rng));
    server_.ClearRequests();
    const std::string stamp = BoardStamp(board_db);
    RunResult result = RunBoardsync(SyncArgs("boardsync.yaml", full), log, delay);
    const std::size_t searches = server_.search_requests();
    EXPECT_FALSE(LockHeld(lock_file)) << "run " << run << " left the state directory locked";
    if (result.killed) {
      ++kills;
      if (searches == 0) {
        ++kills_before_pulling;
      } else if (BoardStamp(board_db) == stamp) {
        ++kills_before_writing;
      } else {
        ++kills_after_writing;
      }
      if (!full) {
        plain_span = std::min(plain_span * 1.5, full_seconds * 1.5);
      }
      continue;
    }
    ++finished;
    if (!full) {
      plain_span = std::max(result.seconds, 0.05);
    }
    if (result.exit_code == kExitLocked) {
      ++locked;
    }
    if (result.exit_code != 0) {
      exit_problems.push_back("run " + std::to_string(run) + (full ? " (--full)" : "") +
                              " exited with " + std::to_string(result.exit_code) + ":\n" +
                              result.log);
    }
  }
  std::cout << run << " runs: " << kills << " killed (" << kills_before_pulling
            << " before the first search, " << kills_before_writing
            << " after searches were answered but before a board write landed, "
            << kills_after_writing << " after board writes landed), " << finished << " finished; "
            << deleted.size() << " issues deleted, " << moved << " moved, " << added << " added"
            << std::endl;
  EXPECT_GE(kills, kKills) << "too few kills landed while boardsync ran";
  EXPECT_GE(kills_before_writing, kKillsPerPhase) << "too few kills landed while it pulled";
  EXPECT_GE(kills_after_writing, kKillsPerPhase) << "too few kills landed while it wrote the board";
  EXPECT_EQ(locked, 0) << "a killed run left the state directory locked (exit 3)";
  EXPECT_TRUE(exit_problems.empty())
      << exit_problems.size() << " runs that were not killed failed; the first:\n"
      << exit_problems.front();

  // A plain sync must bring every item up to date on its own: nothing a
  // killed run staged or acknowledged is lost. Only archiving may wait for
  // the full pass that follows.
  server_.FlushIndex();  // as the index would have caught up by itself
  RunResult settle = RunBoardsync(SyncArgs("boardsync.yaml", false), log, std::nullopt);
  ASSERT_EQ(settle.exit_code, 0) << settle.log;
  {
    std::vector<std::string> wrong = Differences(ReadBoard(board_db), server_.Issues());
    std::erase_if(wrong, [&](const std::string& entry) {
      return entry.ends_with("live, but no such issue in Jira") &&
             deleted.contains(std::stoll(entry.substr(std::string_view("jira:").size())));
    });
    EXPECT_TRUE(wrong.empty()) << "after the first uninterrupted plain sync:\n" << FirstOf(wrong);
  }

  // Then `sync --full` and plain syncs until a run changes nothing more.
  RunResult full = RunBoardsync(SyncArgs("boardsync.yaml", true), log, std::nullopt);
  EXPECT_EQ(full.exit_code, 0) << full.log;
  RunResult last = RunBoardsync(SyncArgs("boardsync.yaml", false), log, std::nullopt);
  ASSERT_EQ(last.exit_code, 0) << last.log;
  std::cout << "after the kills: sync " << settle.seconds << "s, sync --full " << full.seconds
            << "s, sync " << last.seconds << "s" << std::endl;

  EXPECT_FALSE(LockHeld(lock_file)) << "the state directory is still locked";
  EXPECT_EQ(IntegrityCheck(dir_.path() / "state/state.db"), "ok");
  EXPECT_EQ(IntegrityCheck(board_db), "ok");

  Board board = ReadBoard(board_db);
  const std::vector<JiraIssue> issues = server_.Issues();
  EXPECT_EQ(board.row_count, board.rows.size()) << "an item key is on the board twice";
  EXPECT_EQ(board.live(), issues.size());
  std::vector<std::string> wrong = Differences(board, issues);
  EXPECT_TRUE(wrong.empty()) << FirstOf(wrong);

  std::vector<std::string> not_archived;
  for (std::int64_t id : deleted) {
    const BoardRow* row = board.Find(ItemKey(id));
    if (row == nullptr || !row->archived()) {
      not_archived.push_back(std::to_string(id) + (row == nullptr ? " (no item)" : ""));
    }
  }
  EXPECT_TRUE(not_archived.empty())
      << not_archived.size() << " deleted issues are not archived, e.g. " << not_archived.front();

  std::cout << "jira kill test (" << flavor << ") took "
            << std::chrono::duration<double>(Clock::now() - test_start).count() << "s" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Deployments, JiraKillTest,
                         testing::Values(JiraKillParam{JiraFlavor::kCloud, 4},
                                         JiraKillParam{JiraFlavor::kDataCenter, 1}),
                         [](const testing::TestParamInfo<JiraKillParam>& info) {
                           return info.param.flavor == JiraFlavor::kCloud
                                      ? "CloudSlices" + std::to_string(info.param.concurrency)
                                      : "DataCenterOneReader";
                         });

}  // namespace
}  // namespace boardsync

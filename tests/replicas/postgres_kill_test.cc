// Crash safety with PostgreSQL (DESIGN §4.3, §5): the real boardsync binary,
// its state and its board in one PostgreSQL database (`state.type:
// postgres`, `board.type: postgres`), is killed with SIGKILL at random
// instants of syncs, during start-up, fetch, staging and board writes, and
// restarted while the tracker keeps changing. A killed run's lease dies with
// it: a sync started once the lease's ttl has passed since the kill is never
// left out (exit 3). Afterwards a few syncs must bring the board to exactly
// what the tracker holds: every issue once, with its latest version, deleted
// ones archived and nothing else.
//
// Ten kills, about a minute. The seed is printed; BOARDSYNC_KILL_SEED=<n>
// replays a run.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
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

using killtest::RunBoardsync;
using killtest::RunResult;
using killtest::Seed;
using pgtest::PgReader;

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kIssues = 10'000;
constexpr int kKills = 10;           // kills that must land while the child runs
constexpr int kMaxRuns = 50;         // bounds the test if runs finish too early
constexpr int kChangesPerRun = 150;  // issues changed before each start
constexpr std::size_t kChangingPool = 1000;
constexpr int kDeletesPerRun = 2;
constexpr int kAddsPerRun = 2;
// How long a lease outlives a killed holder at most: the config's
// lease_ttl (its least), counted on the server's clock from its last
// renewal, which came before the kill.
constexpr auto kLeaseTtl = std::chrono::seconds(3);

constexpr std::string_view kMappingPlain =
    "fields:\n"
    "  title: summary\n"
    "  state: State\n"
    "  updated: $updated\n";
constexpr std::string_view kMappingWithHeadline =
    "fields:\n"
    "  title: summary\n"
    "  headline: { template: \"{$key}: {summary}\" }\n"
    "  state: State\n"
    "  updated: $updated\n";

class PostgresKillTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(BinaryDir() / "boardsync"))
        << "build the boardsync target first: " << (BinaryDir() / "boardsync");
    tracker_.GenerateIssues(kIssues, 19);
    auto token = dir_.Write("tracker.token", std::string(kSampleTrackerToken) + "\n");
    ::chmod(token.c_str(), 0600);
    dir_.Write("mapping.yaml", std::string(kMappingPlain));
    WriteConfig("boardsync.yaml", "state", db_.url());
  }

  // State and board in the one database at `url`, as DESIGN §2's example.
  void WriteConfig(const std::string& name, const std::string& state_dir, const std::string& url) {
    const auto url_file = pgtest::WriteUrlFile(dir_, name + ".url", url);
    dir_.Write(name, "state_dir: " + state_dir + "\n" +
                         pgtest::PostgresStateYaml(url_file, "3s") +
                         pgtest::PostgresBoardYaml(url_file) +
                         "connections:\n"
                         "  - name: sample\n"
                         "    type: youtrack\n"
                         "    base_url: " + tracker_.base_url() + "\n" +
                         "    token_file: tracker.token\n"
                         "    mapping: mapping.yaml\n"
                         "    board: roadmap\n"
                         "    page_size: 100\n");
  }

  std::vector<std::string> SyncArgs(const std::string& config, bool full) const {
    std::vector<std::string> args = {"sync", "--config", (dir_.path() / config).string(),
                                     "--log-level", "warn"};
    if (full) {
      args.push_back("--full");
    }
    return args;
  }

  // Waits until the lease of a run killed at `last_kill` has expired.
  static void AfterTheLease(Clock::time_point last_kill) {
    std::this_thread::sleep_until(last_kill + kLeaseTtl + milliseconds(100));
  }

  SampleTracker tracker_;
  PgTestDatabase db_;
  TempDir dir_;
  std::filesystem::path log_ = dir_.path() / "run.log";
};

TEST_F(PostgresKillTest, ConvergesAfterTenKillsAtRandomInstants) {
  const std::uint64_t seed = Seed();
  std::cout << "PostgreSQL kill test seed " << seed << " (BOARDSYNC_KILL_SEED=" << seed
            << " replays it)" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  const auto test_start = Clock::now();
  PgReader pg(db_.url());

  // How long one full first sync takes here, into a database of its own,
  // and when its first board write lands.
  double full_seconds = 0;
  double write_fraction = 0;
  {
    PgTestDatabase calibration_db;
    WriteConfig("calibrate.yaml", "calibrate", calibration_db.url());
    PgReader calibration_pg(calibration_db.url());
    const auto start = Clock::now();
    auto polled = start;
    std::optional<double> first_write;
    RunResult calibration = RunBoardsync(SyncArgs("calibrate.yaml", false), log_, std::nullopt, [&] {
      if (first_write || Clock::now() - polled < milliseconds(10)) {
        return;
      }
      polled = Clock::now();
      std::string stamp = calibration_pg.BoardStamp();
      if (!stamp.empty() && !stamp.starts_with("0|")) {
        first_write = std::chrono::duration<double>(Clock::now() - start).count();
      }
    });
    ASSERT_EQ(calibration.exit_code, 0) << calibration.log;
    full_seconds = calibration.seconds;
    write_fraction = std::clamp(first_write.value_or(0) / full_seconds, 0.0, 0.9);
  }
  std::cout << "one full sync of " << kIssues << " issues: " << full_seconds
            << "s, board writes from " << write_fraction * 100 << "% of it" << std::endl;

  std::set<std::string> deleted;  // entity ids deleted while their item was live
  int kills = 0;
  int kills_before_pulling = 0;  // no issue page served yet
  int kills_before_writing = 0;  // pages served, the board untouched
  int kills_after_writing = 0;   // some board writes had landed
  int finished = 0;
  bool headline = false;
  std::uint64_t added = 0;
  std::vector<std::string> exit_problems;
  double plain_span = full_seconds;
  auto last_kill = Clock::now() - std::chrono::hours(1);

  std::vector<std::string> changing = tracker_.IssueIds();
  std::shuffle(changing.begin(), changing.end(), rng);
  changing.resize(kChangingPool);

  int run = 0;
  for (; run < kMaxRuns && kills < kKills; ++run) {
    for (int i = 0; i < kChangesPerRun; ++i) {
      const std::string& id = changing[rng() % changing.size()];
      tracker_.SetSummary(id, "Run " + std::to_string(run) + " changed " + id);
    }
    std::set<std::string> live = pg.LiveKeys();
    for (int i = 0; i < kDeletesPerRun && !live.empty(); ++i) {
      auto it = std::next(live.begin(), static_cast<std::ptrdiff_t>(rng() % live.size()));
      std::string id = it->substr(std::string_view("sample:").size());
      live.erase(it);
      if (tracker_.DeleteIssue(id)) {
        deleted.insert(id);
      }
    }
    for (int i = 0; i < kAddsPerRun; ++i) {
      auto id = tracker_.AddIssue(Value(Value::Object{
          {"summary", "Added during the kill test #" + std::to_string(++added)},
          {"project", Value(Value::Object{{"$type", "Project"}, {"shortName", "RAP"}})}}));
      ASSERT_TRUE(id.has_value()) << id.error().message;
    }
    if (run % 7 == 5 && run <= 30) {
      headline = !headline;
      dir_.Write("mapping.yaml", std::string(headline ? kMappingWithHeadline : kMappingPlain));
    }

    const bool full = run % 4 == 3;
    const double span = full ? full_seconds : plain_span;
    const double from = rng() % 2 == 0 ? 0.0 : write_fraction * span;
    std::uniform_int_distribution<int> delay_ms(static_cast<int>(from * 1000),
                                                static_cast<int>(span * 1000));
    const milliseconds delay(delay_ms(rng));
    AfterTheLease(last_kill);
    tracker_.ClearRequests();
    const std::string stamp = pg.BoardStamp();
    RunResult result = RunBoardsync(SyncArgs("boardsync.yaml", full), log_, delay);
    const std::size_t pages = tracker_.RequestCount("/api/issues");
    if (result.killed) {
      ++kills;
      last_kill = Clock::now();
      if (pages == 0) {
        ++kills_before_pulling;
      } else if (pg.BoardStamp() == stamp) {
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
    if (result.exit_code != 0) {
      exit_problems.push_back("run " + std::to_string(run) + (full ? " (--full)" : "") +
                              " exited with " + std::to_string(result.exit_code) + ":\n" +
                              result.log);
    }
  }
  std::cout << run << " runs: " << kills << " killed (" << kills_before_pulling
            << " before the first issue page, " << kills_before_writing
            << " after pages were served but before a board write landed, " << kills_after_writing
            << " after board writes landed), " << finished << " finished; " << deleted.size()
            << " issues deleted, " << added << " added" << std::endl;
  EXPECT_GE(kills, kKills) << "too few kills landed while boardsync ran";
  EXPECT_GE(kills_before_writing, 1) << "no kill landed while it pulled";
  EXPECT_GE(kills_after_writing, 1) << "no kill landed while it wrote the board";
  EXPECT_GE(finished, 1) << "no run finished between the kills";
  EXPECT_TRUE(exit_problems.empty())
      << exit_problems.size() << " runs that were not killed failed; the first:\n"
      << exit_problems.front();

  // A plain sync must bring every item up to date on its own; only
  // archiving may wait for the full pass that follows.
  AfterTheLease(last_kill);
  RunResult settle = RunBoardsync(SyncArgs("boardsync.yaml", false), log_, std::nullopt);
  ASSERT_EQ(settle.exit_code, 0) << settle.log;
  {
    Board board = pg.ReadBoard();
    BoardDifferences differences = CompareBoard(board, tracker_, "sample");
    std::erase_if(differences.extra, [&](const std::string& entry) {
      std::string id = entry.substr(std::string_view("sample:").size());
      return deleted.contains(id.substr(0, id.find(' ')));
    });
    EXPECT_TRUE(differences.empty()) << "after the first uninterrupted plain sync:\n"
                                     << differences.ToString();
  }

  RunResult full = RunBoardsync(SyncArgs("boardsync.yaml", true), log_, std::nullopt);
  EXPECT_EQ(full.exit_code, 0) << full.log;
  RunResult last = RunBoardsync(SyncArgs("boardsync.yaml", false), log_, std::nullopt);
  ASSERT_EQ(last.exit_code, 0) << last.log;
  std::cout << "after the kills: sync " << settle.seconds << "s, sync --full " << full.seconds
            << "s, sync " << last.seconds << "s" << std::endl;
  for (const RunResult* r : {&settle, &full, &last}) {
    EXPECT_EQ(r->log.find(kPgTestPassword), std::string::npos) << r->log;
  }

  Board board = pg.ReadBoard();
  EXPECT_EQ(board.row_count, board.rows.size()) << "an item key is on the board twice";
  EXPECT_EQ(pg.Scalar("SELECT count(*) FROM items WHERE board <> 'roadmap'"), "0");
  EXPECT_EQ(board.live(), tracker_.issue_count());
  BoardDifferences differences = CompareBoard(board, tracker_, "sample");
  EXPECT_TRUE(differences.empty()) << differences.ToString();

  std::vector<std::string> not_archived;
  for (const std::string& id : deleted) {
    const BoardRow* row = board.Find("sample:" + id);
    if (row == nullptr || !row->archived()) {
      not_archived.push_back(id + (row == nullptr ? " (no item)" : ""));
    }
  }
  EXPECT_TRUE(not_archived.empty())
      << not_archived.size() << " deleted issues are not archived, e.g. " << not_archived.front();

  std::size_t wrong_mapping = 0;
  std::string example;
  for (const auto& [key, row] : board.rows) {
    if (!row.archived() && (row.fields.Find("headline") != nullptr) != headline) {
      ++wrong_mapping;
      example = key;
    }
  }
  EXPECT_EQ(wrong_mapping, 0u) << "items made with the previous mapping, e.g. " << example;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/state.db"))
      << "state.type postgres, yet state.db was made";

  std::cout << "PostgreSQL kill test took "
            << std::chrono::duration<double>(Clock::now() - test_start).count() << "s"
            << std::endl;
}

}  // namespace
}  // namespace boardsync

// Crash safety of sync back (DESIGN §3.1, §5): the real boardsync binary
// writes board scores into the sample YouTrack and is killed with SIGKILL
// while it does. A write the tracker took just before the kill, whose
// acknowledgement the killed run never recorded, must not be taken for
// undone nor for done: afterwards a clean sync back leaves the tracker
// holding exactly the board's values, and no value is written twice more
// often than there were kills.
//
// Slow (seconds); ctest runs it with the label "slow". The seed of the
// random test is printed; BOARDSYNC_KILL_SEED=<n> replays a run. The sample
// tracker's write answers are delayed (a Delay fault: the write is applied
// at once, its answer comes late), which widens the window between a write
// and its acknowledgement to where random kills land.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/board_testing.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/sync_back_support.h"
#include "tests/slow/kill_support.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using killtest::FirstOf;
using killtest::LockHeld;
using killtest::RunBoardsync;
using killtest::RunResult;
using killtest::Seed;
using syncback::DeleteScore;
using syncback::SentFields;
using syncback::SetScore;
using syncback::YouTrackWrites;

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t kIssues = 300;
constexpr int kKills = 12;               // kills that must land while the child runs
constexpr int kKillsWhileWriting = 6;    // of those, after a tracker write of the run
constexpr int kMaxRuns = 60;             // bounds the test if runs finish too early
constexpr int kChangesPerRun = 40;       // scores the board app changes before each run
constexpr auto kWriteAnswerDelay = 8ms;  // each tracker write is answered this late
constexpr auto kTimeBudget = 45s;        // for the runs with kills

constexpr std::string_view kMapping =
    "fields:\n"
    "  title: summary\n"
    "sync_back:\n"
    "  fields:\n"
    "    \"Board score\": { from: score, type: float }\n"
    "    \"Board rank\": { from: rank, type: integer }\n";

// What a tracker field holds, for comparisons: nullopt when empty (YouTrack
// makes no difference between a null value and a field never set).
std::optional<double> Held(const std::optional<Value>& value) {
  if (!value || value->IsNull()) {
    return std::nullopt;
  }
  return value->IsNumber() ? std::optional<double>(value->AsNumber())
                           : std::optional<double>(std::nan(""));
}

std::string Show(std::optional<double> value) {
  if (!value) {
    return "none";
  }
  std::ostringstream text;
  text << *value;
  return text.str();
}

class SyncBackKillTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(BinaryDir() / "boardsync"))
        << "build the boardsync target first: " << (BinaryDir() / "boardsync");
    ASSERT_TRUE(tracker_.AddCustomField("Board score", "float"));
    ASSERT_TRUE(tracker_.AddCustomField("Board rank", "integer"));
    auto token = dir_.Write("yt.token", std::string(kSampleTrackerToken) + "\n");
    ::chmod(token.c_str(), 0600);
    dir_.Write("mapping.yaml", std::string(kMapping));
    std::string config = "state_dir: state\nconnections:\n  - name: yt\n    type: youtrack\n";
    config += "    base_url: " + tracker_.base_url() + "\n";
    config += "    token_file: yt.token\n    mapping: mapping.yaml\n    board: roadmap\n";
    config += "    page_size: 100\n    timeout: 10s\n";
    dir_.Write("boardsync.yaml", config);
  }

  // The issues' projects get both fields, then a first sync puts them on the board.
  void AttachAndSync() {
    for (std::string project : {"RAP", "SRV", "DOC"}) {
      ASSERT_TRUE(tracker_.AttachCustomField(project, "Board score"));
      ASSERT_TRUE(tracker_.AttachCustomField(project, "Board rank"));
    }
    RunResult sync = RunBoardsync(Args("sync"), dir_.path() / "sync.log", std::nullopt);
    ASSERT_EQ(sync.exit_code, 0) << sync.log;
  }

  std::vector<std::string> Args(std::string command) const {
    return {std::move(command), "--config", (dir_.path() / "boardsync.yaml").string(),
            "--log-level", "warn"};
  }

  RunResult CleanSyncBack(const std::string& name) {
    return RunBoardsync(Args("sync-back"), dir_.path() / (name + ".log"), std::nullopt);
  }

  std::filesystem::path BoardDb() const { return dir_.path() / "state/board.db"; }
  std::filesystem::path StateDb() const { return dir_.path() / "state/state.db"; }

  // Starts `boardsync sync-back` and kills it with SIGKILL as soon as the
  // tracker holds `value` in `field` of issue `id` (the write went through,
  // its answer hangs). False when that did not happen.
  bool KillOnceWritten(std::string_view id, std::string_view field, std::optional<double> value) {
    tracker_.InjectFault(SampleTracker::Fault::Hang().On("/api/issues"));
    DaemonProcess run({(BinaryDir() / "boardsync").string(), "sync-back", "--config",
                       (dir_.path() / "boardsync.yaml").string()},
                      {}, dir_.path() / "killed.log");
    const auto deadline = Clock::now() + 20s;
    while (Held(tracker_.FieldValue(id, field)) != value) {
      if (Clock::now() > deadline || !run.Running()) {
        ADD_FAILURE() << "the write of " << Show(value)
                      << " did not reach the tracker: " << run.DescribeStatus() << run.Tail();
        return false;
      }
      std::this_thread::sleep_for(5ms);
    }
    run.Signal(SIGKILL);
    run.WaitForExit(10s);
    tracker_.ClearFaults();
    EXPECT_FALSE(LockHeld(dir_.path() / "state/lock"));
    return true;
  }

  SampleTracker tracker_;
  TempDir dir_;
};

// The window the random test aims at, hit on purpose: the tracker took a
// write, the run died before recording it, and the board's score went back
// to the value boardsync had written before. The tracker must end with the
// board's value, not with the one the killed run left there.
TEST_F(SyncBackKillTest, AWriteTheTrackerTookBeforeAKillIsNeitherLostNorTrusted) {
  ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
  AttachAndSync();
  const std::string rap1 = "yt:2-9";
  const std::string srv1 = "yt:2-31";

  // Written and recorded: the tracker and boardsync agree on 1.
  SetScore(BoardDb(), rap1, "score", Value(1));
  SetScore(BoardDb(), srv1, "score", Value(1));
  RunResult first = CleanSyncBack("first");
  ASSERT_EQ(first.exit_code, 0) << first.log;
  ASSERT_EQ(Held(tracker_.FieldValue("2-9", "Board score")), 1);

  // A change to 2, taken by the tracker, never acknowledged: killed.
  SetScore(BoardDb(), rap1, "score", Value(2));
  ASSERT_TRUE(KillOnceWritten("2-9", "Board score", 2));
  // And back to 1 on the board before the next run.
  SetScore(BoardDb(), rap1, "score", Value(1));
  RunResult after = CleanSyncBack("after");
  EXPECT_EQ(after.exit_code, 0) << after.log;
  EXPECT_EQ(Show(Held(tracker_.FieldValue("2-9", "Board score"))), "1")
      << "the tracker keeps the value of a write the killed run made, while the board says 1";

  // The same with a removal: cleared, killed, the score back.
  DeleteScore(BoardDb(), srv1, "score");
  ASSERT_TRUE(KillOnceWritten("2-31", "Board score", std::nullopt));
  SetScore(BoardDb(), srv1, "score", Value(1));
  RunResult restored = CleanSyncBack("restored");
  EXPECT_EQ(restored.exit_code, 0) << restored.log;
  EXPECT_EQ(Show(Held(tracker_.FieldValue("2-31", "Board score"))), "1")
      << "the tracker keeps a clear the killed run made, while the board says 1";

  // A write the killed run made and the board still wants is sent once more
  // at most.
  SetScore(BoardDb(), rap1, "score", Value(3));
  ASSERT_TRUE(KillOnceWritten("2-9", "Board score", 3));
  tracker_.ClearRequests();
  RunResult resent = CleanSyncBack("resent");
  EXPECT_EQ(resent.exit_code, 0) << resent.log;
  EXPECT_LE(YouTrackWrites(tracker_, "2-9").size(), 1u);
  EXPECT_EQ(Held(tracker_.FieldValue("2-9", "Board score")), 3);
  EXPECT_EQ(syncback::QueuedWrites(StateDb(), "yt"), 0u);
}

// The tracker fields and the board scores they take.
constexpr std::pair<std::string_view, std::string_view> kTargets[] = {{"Board score", "score"},
                                                                      {"Board rank", "rank"}};

// What a tracker field must hold for a board score: the score itself, or for
// the integer target its nearest integer.
std::optional<double> Expected(std::string_view field, std::optional<double> score) {
  if (!score || field != "Board rank") {
    return score;
  }
  return std::round(*score);
}

// Issue id -> tracker field -> value.
using Fields = std::map<std::string, std::map<std::string, std::optional<double>>>;

// Kills at random instants while the board's scores keep changing between
// runs; then one clean sync back. The tracker must hold exactly the board's
// values, and the writes that changed nothing (each a write a killed run
// made but could not record) may be at most one per kill.
TEST_F(SyncBackKillTest, ConvergesAfterKillsAtRandomInstantsWithNoNeedlessWrites) {
  const std::uint64_t seed = Seed();
  std::cout << "sync back kill test seed " << seed << " (BOARDSYNC_KILL_SEED=" << seed
            << " replays it)" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  tracker_.GenerateIssues(kIssues, seed);
  AttachAndSync();
  const std::vector<std::string> ids = tracker_.IssueIds();
  ASSERT_EQ(ids.size(), kIssues);
  const std::filesystem::path lock_file = dir_.path() / "state/lock";
  const std::filesystem::path log = dir_.path() / "run.log";

  // The board app's scores as the test set them: id -> score name -> value.
  Fields board;
  auto set_score = [&](const std::string& id, std::string_view name, std::optional<double> value,
                       bool delete_row) {
    board[id][std::string(name)] = value;
    if (!value && delete_row) {
      DeleteScore(BoardDb(), "yt:" + id, name);
    } else {
      SetScore(BoardDb(), "yt:" + id, name, value ? Value(*value) : Value());
    }
  };
  auto random_score = [&] { return static_cast<double>(rng() % 400) / 4.0 - 20; };  // 0.25 steps
  auto random_rank = [&] { return static_cast<double>(rng() % 60) / 2.0; };         // halves round

  // The tracker as the writes it took left it, replayed from its request
  // log: which writes changed something and which changed nothing.
  Fields tracker;
  std::size_t replayed = 0;
  std::size_t writes = 0, needless = 0, not_ok = 0;
  std::map<std::string, std::optional<double>> before_last;  // the last write's fields, before it
  std::string last_id;
  auto replay = [&]() -> std::size_t {
    const std::vector<SampleTracker::RecordedRequest> all = YouTrackWrites(tracker_);
    const std::size_t from = replayed;
    for (; replayed < all.size(); ++replayed) {
      const SampleTracker::RecordedRequest& write = all[replayed];
      if (write.status != 200) {
        ++not_ok;
        continue;
      }
      const std::string id = write.api_path.substr(std::string_view("/api/issues/").size());
      bool changed = false;
      before_last.clear();
      last_id = id;
      for (const auto& [field, value] : SentFields(write)) {
        const std::optional<double> sent = Held(value);
        std::optional<double>& held = tracker[id][field];
        before_last[field] = held;
        changed = changed || held != sent;
        held = sent;
      }
      ++writes;
      needless += changed ? 0 : 1;
    }
    return replayed - from;
  };

  // The delay widens the window between a write and its acknowledgement.
  tracker_.InjectFault(
      SampleTracker::Fault::Delay(kWriteAnswerDelay).On("/api/issues").Times(1'000'000));
  tracker_.ClearRequests();

  const auto start = Clock::now();
  int kills = 0, kills_while_writing = 0, finished = 0, reverted = 0;
  std::vector<std::string> exit_problems;
  // Kills spread uniformly over how long a run takes; the span follows the
  // last finished run and grows while runs keep being killed.
  const double first_span = static_cast<double>(kIssues) * 0.015;
  double span = first_span;
  int run = 0;
  for (; run < kMaxRuns && Clock::now() - start < kTimeBudget &&
         (kills < kKills || kills_while_writing < kKillsWhileWriting);
       ++run) {
    if (run == 0) {
      for (const std::string& id : ids) {
        set_score(id, "score", random_score(), false);
        if (rng() % 2 == 0) {
          set_score(id, "rank", random_rank(), false);
        }
      }
    } else {
      for (int i = 0; i < kChangesPerRun; ++i) {
        const std::string& id = ids[rng() % ids.size()];
        const std::uint64_t what = rng() % 20;
        if (what < 11) {
          set_score(id, "score", random_score(), false);
        } else if (what < 15) {
          set_score(id, "rank", random_rank(), false);
        } else if (what < 18) {
          set_score(id, what % 2 == 0 ? "score" : "rank", std::nullopt, /*delete_row=*/true);
        } else {
          set_score(id, "score", std::nullopt, /*delete_row=*/false);  // NULL
        }
      }
    }

    std::uniform_int_distribution<int> delay_ms(0, static_cast<int>(span * 1000));
    RunResult result =
        RunBoardsync(Args("sync-back"), log, std::chrono::milliseconds(delay_ms(rng)));
    const std::size_t written = replay();
    EXPECT_FALSE(LockHeld(lock_file)) << "run " << run << " left the state directory locked";
    if (result.killed) {
      ++kills;
      kills_while_writing += written > 0 ? 1 : 0;
      span = std::min(span * 1.5, first_span * 1.5);
      // Half the time, the board goes back to what the tracker held before
      // the last write the killed run made (maybe never recorded).
      if (written > 0 && rng() % 2 == 0) {
        for (const auto& [field, value] : before_last) {
          for (const auto& [target, name] : kTargets) {
            if (target == field) {
              set_score(last_id, name, value, /*delete_row=*/true);
            }
          }
        }
        ++reverted;
      }
      continue;
    }
    ++finished;
    span = std::max(result.seconds, 0.05);
    if (result.exit_code != 0) {
      exit_problems.push_back("run " + std::to_string(run) + " exited with " +
                              std::to_string(result.exit_code) + ":\n" + result.log);
    }
  }
  const std::size_t writes_with_kills = writes;
  const std::size_t needless_with_kills = needless;

  // The final clean sync back, answered at once.
  tracker_.ClearFaults();
  RunResult final_run = CleanSyncBack("final");
  ASSERT_EQ(final_run.exit_code, 0) << final_run.log;
  replay();
  std::cout << run << " runs: " << kills << " killed (" << kills_while_writing
            << " after a tracker write of theirs), " << finished << " finished, " << reverted
            << " scores set back to the tracker's previous value after a kill; " << writes
            << " tracker writes, " << needless << " of them changing nothing ("
            << needless_with_kills << " of " << writes_with_kills << " before the final run)"
            << std::endl;
  EXPECT_GE(kills, kKills) << "too few kills landed while boardsync ran";
  EXPECT_GE(kills_while_writing, kKillsWhileWriting) << "too few kills landed while it wrote";
  EXPECT_TRUE(exit_problems.empty())
      << exit_problems.size() << " runs that were not killed failed; the first:\n"
      << exit_problems.front();
  EXPECT_EQ(not_ok, 0u) << "tracker writes that were not answered 200";

  // The tracker holds exactly the board's values.
  std::vector<std::string> wrong;
  for (const std::string& id : ids) {
    for (const auto& [field, name] : kTargets) {
      auto it = board[id].find(std::string(name));
      const std::optional<double> score = it == board[id].end() ? std::nullopt : it->second;
      const std::optional<double> want = Expected(field, score);
      const std::optional<double> held = Held(tracker_.FieldValue(id, field));
      if (held != want) {
        wrong.push_back(id + " " + std::string(field) + ": the tracker holds " + Show(held) +
                        ", the board says " + Show(score));
      }
      if (tracker[id][std::string(field)] != held) {
        wrong.push_back(id + " " + std::string(field) + ": the replayed writes give " +
                        Show(tracker[id][std::string(field)]) + ", the tracker holds " +
                        Show(held));
      }
    }
  }
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " fields differ from the board:\n"
                             << FirstOf(wrong);
  // Nothing written twice needlessly: a write that changes nothing is one a
  // killed run made without recording it, at most one per kill.
  EXPECT_LE(needless, static_cast<std::size_t>(kills));
  EXPECT_EQ(syncback::QueuedWrites(StateDb(), "yt"), 0u);
  EXPECT_EQ(IntegrityCheck(StateDb()), "ok");
  EXPECT_EQ(IntegrityCheck(BoardDb()), "ok");

  // And now nothing is left to write.
  tracker_.ClearRequests();
  RunResult again = CleanSyncBack("again");
  EXPECT_EQ(again.exit_code, 0) << again.log;
  EXPECT_EQ(YouTrackWrites(tracker_).size(), 0u);
}

}  // namespace
}  // namespace boardsync

// Crash safety (DESIGN §5) with the GitHub and GitLab connectors: the real
// boardsync binary syncs the sample GitHub (two repositories, pull requests
// among the issues) or the sample GitLab (a group of two projects) and is
// killed with SIGKILL at random instants, during the pull, the commit and the
// board writes, then restarted, while the tracker keeps changing before every
// run and during some (edits, closes and reopens, new issues and pull
// requests, deletions, transfers between the two repositories, moves between
// the two projects). Afterwards a few syncs must bring the board exactly to
// what the tracker holds: every issue once with its latest key, title, state
// and `updated`, pull requests never, deleted issues archived by `sync
// --full`, both SQLite files intact and no kill ever leaving the lock behind.
// For GitHub, the ETags kept in the session then make a sync with nothing new
// one request per repository, answered 304, and a run killed after reading
// one repository's changed list whole, while the other's is held back,
// leaves the saved session as it was. Pages are small, so every pull
// takes several (GitHub's Link pages, the offset pages of GitLab's group
// list); full passes are read by one reader and in four slices.
//
// Slow (seconds); ctest runs it with the label "slow". The seed is printed;
// BOARDSYNC_KILL_SEED=<n> replays a run.
//
// Running and killing the binary, the board stamp and the seed are
// kill_support.h's, shared with kill_test.cc and jira_kill_test.cc.

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/time.h"
#include "tests/integration/board_testing.h"
#include "tests/slow/kill_support.h"
#include "tests/support/github/github_server.h"
#include "tests/support/gitlab/gitlab_server.h"
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

constexpr int kIssuesPerPlace = 100;  // per repository or project, at the start
constexpr int kPullRequestsPerRepo = 12;
// Seconds between the first issues' creations: all of them lie between two
// hours and twenty minutes before the tracker's clock (never after it).
constexpr int kSpacing = 6000 / (kIssuesPerPlace * 2);
constexpr int kPageSize = 10;      // a full pass is twenty-odd pages, a sync a few
constexpr int kKills = 12;         // kills that must land while the child runs
constexpr int kKillsPerPhase = 3;  // at least, while it pulls and while it writes the board
constexpr int kMaxRuns = 60;       // bounds the test if runs finish too early
constexpr int kEditsPerRun = 8;    // issues retitled before each start (some closed or reopened)
constexpr int kAddsPerRun = 2;
constexpr int kDeletesPerRun = 1;
constexpr int kMovesPerRun = 1;  // GitHub: a transfer; GitLab: a move to the other project
constexpr int kEditsWhilePulling = 3;
constexpr int kExitLocked = 3;  // DESIGN §1: another sync holds the lock

constexpr std::string_view kMapping =
    "fields:\n"
    "  title: title\n"
    "  state: state\n"
    "  link: $url\n";
// GitLab's move changes only `updated_at` and `moved_to_id` of a closed
// issue: mapped, the move shows on the board (an unchanged item is not
// written again, so its `updated` would stay as it was).
constexpr std::string_view kGitLabMappingMore = "  moved_to: moved_to_id\n";

// GitHub: two repositories of one connection; GitLab: the two projects of
// the sample group acme (acme/roadmap and its subgroup's acme/platform/api).
constexpr std::string_view kRepos[] = {"acme/web", "acme/api"};
constexpr std::string_view kProjects[] = {"acme/roadmap", "acme/platform/api"};

enum class Forge { kGitHub, kGitLab };

struct ForgeKillParam {
  Forge forge;
  int concurrency;
};

void PrintTo(const ForgeKillParam& param, std::ostream* out) {
  *out << (param.forge == Forge::kGitHub ? "GitHub" : "GitLab") << ", concurrency "
       << param.concurrency;
}

// An issue as the board must show it.
struct ExpectedItem {
  std::string item_key;  // connection:id
  std::string source_key;
  std::string title;
  std::string state;
  std::string updated;  // ISO, as source_updated_at
  // GitLab: the issue it was moved to (the board's `moved_to`).
  std::optional<std::int64_t> moved_to;
};


// Issue ids of the live items of `connection`, empty while board.db is
// missing or half made.
std::vector<std::int64_t> LiveIds(const std::filesystem::path& board_db,
                                  const std::string& connection) {
  std::vector<std::int64_t> ids;
  if (!std::filesystem::exists(board_db)) {
    return ids;
  }
  try {
    SQLite::Database db(board_db.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT substr(item_key, ?) FROM items "
                        "WHERE archived_at IS NULL AND item_key LIKE ?");
    q.bind(1, static_cast<int>(connection.size()) + 2);
    q.bind(2, connection + ":%");
    while (q.executeStep()) {
      ids.push_back(q.getColumn(0).getInt64());
    }
  } catch (const SQLite::Exception&) {
    ids.clear();  // killed before the schema was made
  }
  return ids;
}

// How the board differs from what the tracker holds: every issue must have
// exactly one live item showing its current key, `updated`, title and state,
// and nothing else may be live.
std::vector<std::string> Differences(const Board& board, const std::vector<ExpectedItem>& issues) {
  std::vector<std::string> wrong;
  std::set<std::string> expected;
  for (const ExpectedItem& issue : issues) {
    const std::string label = issue.item_key + " (" + issue.source_key + ")";
    expected.insert(issue.item_key);
    const BoardRow* row = board.Find(issue.item_key);
    if (row == nullptr) {
      wrong.push_back(label + ": no item");
      continue;
    }
    if (row->archived()) {
      wrong.push_back(label + ": archived at " + *row->archived_at);
      continue;
    }
    if (row->source_key != issue.source_key) {
      wrong.push_back(label + ": source_key " + row->source_key);
    }
    if (row->source_updated_at != issue.updated) {
      wrong.push_back(label + ": source_updated_at " + row->source_updated_at +
                      ", the issue's updated " + issue.updated);
    }
    if (row->Field("title") != issue.title) {
      wrong.push_back(label + ": title \"" + row->Field("title") + "\", the issue's \"" +
                      issue.title + "\"");
    }
    if (row->Field("state") != issue.state) {
      wrong.push_back(label + ": state \"" + row->Field("state") + "\", the issue's \"" +
                      issue.state + "\"");
    }
    if (issue.moved_to) {
      const Value* moved = row->fields.Find("moved_to");
      if (moved == nullptr || !moved->IsNumber() ||
          moved->AsNumber() != static_cast<double>(*issue.moved_to)) {
        wrong.push_back(label + ": moved_to is not " + std::to_string(*issue.moved_to));
      }
    }
  }
  for (const auto& [key, row] : board.rows) {
    if (!row.archived() && !expected.contains(key)) {
      wrong.push_back(key + " (" + row.source_key + "): live, but no such issue in the tracker");
    }
  }
  return wrong;
}


// What a run did to the tracker, for the summary line.
struct Tally {
  int edited = 0;
  int added = 0;
  int moved = 0;
  int pull_requests = 0;
  int while_pulling = 0;  // batches applied while a run paged
};

// A batch of edits made while a run pages, from its n-th list request on;
// the server calls it on its own thread, the test stops it after the run.
struct PullingEdits {
  std::mutex mu;
  bool enabled = true;
  bool done = false;
  std::size_t at = 1;  // the list request it waits for
  std::size_t seen = 0;
  std::vector<std::int64_t> ids;  // issues to edit
  int run = 0;
};

class ForgeKillTest : public testing::TestWithParam<ForgeKillParam> {
 protected:
  bool github() const { return GetParam().forge == Forge::kGitHub; }
  std::string connection() const { return github() ? "github" : "gitlab"; }

  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(BinaryDir() / "boardsync"))
        << "build the boardsync target first: " << (BinaryDir() / "boardsync");
    // The tracker's clock is the test's: frozen an hour behind the real one
    // (a sync bounds what it reads by its own start time) and moved on by a
    // second before every batch of changes, so that each batch has an
    // `updated` of its own whatever the runs' pace (GitHub's are whole
    // seconds), and the ETag check can make a quiet spell.
    const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count() -
                               3600;
    if (github()) {
      GitHubServerOptions options;
      options.now = now_s;
      // The frozen clock never reaches the budget's reset: enough for every run.
      options.rate_limit = 1'000'000;
      options.rate_remaining = 1'000'000;
      github_ = std::make_unique<GitHubServer>(std::move(options));
      PopulateGitHub(now_s);
    } else {
      GitLabServerOptions options;
      options.now_ms = now_s * 1000;
      gitlab_ = std::make_unique<GitLabServer>(std::move(options));
      PopulateGitLab(now_s);
    }
    auto token = dir_.Write("forge.token",
                            std::string(github() ? kGitHubFineGrainedToken : kGitLabToken) + "\n");
    ::chmod(token.c_str(), 0600);
    dir_.Write("mapping.yaml",
               std::string(kMapping) + std::string(github() ? "" : kGitLabMappingMore));
    WriteConfig("boardsync.yaml", "state");
  }

  // Issues spread over the two hours before the clock, several to a second
  // in places (more than a page in one second, which only the server's own
  // next page reaches), some closed; GitHub's pull requests among them.
  void PopulateGitHub(std::int64_t now_s) {
    for (std::string_view repo : kRepos) {
      ASSERT_TRUE(github_->AddRepo(GitHubRepo{.full_name = std::string(repo)}).has_value());
    }
    for (int i = 0; i < kIssuesPerPlace * 2; ++i) {
      GitHubIssue issue;
      issue.repo = std::string(kRepos[i % 2]);
      issue.title = "Issue " + std::to_string(i);
      issue.created_at = now_s - 7200 + i * kSpacing;
      issue.updated_at = (i >= 40 && i < 64) ? now_s - 4000 : issue.created_at + (i % 4) * 30;
      if (i % 5 == 0) {
        issue.state = "closed";
      }
      ASSERT_TRUE(github_->AddIssue(std::move(issue)).has_value());
      if (i % 5 == 2 && i / 5 < kPullRequestsPerRepo * 2) {
        GitHubIssue pr;
        pr.repo = std::string(kRepos[i % 2]);
        pr.title = "Pull request " + std::to_string(i);
        pr.created_at = now_s - 7000 + i * kSpacing;
        pr.updated_at = pr.created_at;
        ASSERT_TRUE(github_->AddPullRequest(std::move(pr)).has_value());
      }
    }
  }

  void PopulateGitLab(std::int64_t now_s) {
    for (int i = 0; i < kIssuesPerPlace * 2; ++i) {
      GitLabIssue issue;
      issue.project = std::string(kProjects[i % 2]);
      issue.title = "Issue " + std::to_string(i);
      issue.created_ms = (now_s - 7200 + i * kSpacing) * 1000 + i * 7 % 1000;
      // A second holding more than a page, at the same millisecond and not.
      issue.updated_ms = (i >= 40 && i < 64) ? (now_s - 4000) * 1000 + (i < 52 ? 0 : i * 13)
                                             : issue.created_ms + (i % 4) * 30'000;
      if (i % 5 == 0) {
        issue.state = "closed";
      }
      auto added = gitlab_->AddIssue(std::move(issue));
      ASSERT_TRUE(added.has_value()) << added.error().message;
    }
  }

  void WriteConfig(const std::string& name, const std::string& state_dir) {
    std::string tracker;
    if (github()) {
      tracker = "    type: github\n    base_url: " + github_->base_url() + "\n    repos: [" +
                std::string(kRepos[0]) + ", " + std::string(kRepos[1]) + "]\n";
    } else {
      tracker = "    type: gitlab\n    base_url: " + gitlab_->base_url() + "\n    group: acme\n";
    }
    dir_.Write(name, "state_dir: " + state_dir + "\n" +
                         "connections:\n"
                         "  - name: " +
                         connection() + "\n" + tracker +
                         "    token_file: forge.token\n"
                         "    mapping: mapping.yaml\n"
                         "    board: roadmap\n"
                         "    page_size: " +
                         std::to_string(kPageSize) +
                         "\n"
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

  // ---- What the tracker holds ----

  std::vector<ExpectedItem> Expected() const {
    std::vector<ExpectedItem> items;
    if (github()) {
      for (const GitHubIssue& issue : github_->Issues()) {
        if (!issue.pull_request) {
          items.push_back({"github:" + std::to_string(issue.id),
                           issue.repo + "#" + std::to_string(issue.number), issue.title,
                           issue.state, FormatIsoUtc(issue.updated_at * 1000)});
        }
      }
    } else {
      for (const GitLabIssue& issue : gitlab_->Issues()) {
        items.push_back({"gitlab:" + std::to_string(issue.id),
                         issue.project + "#" + std::to_string(issue.iid), issue.title, issue.state,
                         FormatIsoUtc(issue.updated_ms), issue.moved_to_id});
      }
    }
    return items;
  }

  std::vector<std::int64_t> IssueIds() const {
    std::vector<std::int64_t> ids;
    if (github()) {
      for (const GitHubIssue& issue : github_->Issues()) {
        if (!issue.pull_request) {
          ids.push_back(issue.id);
        }
      }
    } else {
      for (const GitLabIssue& issue : gitlab_->Issues()) {
        ids.push_back(issue.id);
      }
    }
    return ids;
  }

  std::vector<std::int64_t> PullRequestIds() const {
    std::vector<std::int64_t> ids;
    if (github()) {
      for (const GitHubIssue& issue : github_->Issues()) {
        if (issue.pull_request) {
          ids.push_back(issue.id);
        }
      }
    }
    return ids;
  }

  // Issue-list requests received since ClearRequests().
  std::size_t ListRequests() const {
    if (!github()) {
      return gitlab_->list_requests();
    }
    std::size_t lists = 0;
    for (const auto& request : github_->requests()) {
      lists += request.api_path.ends_with("/issues") ? 1 : 0;
    }
    return lists;
  }

  void ClearRequests() {
    if (github()) {
      github_->ClearRequests();
    } else {
      gitlab_->ClearRequests();
    }
  }

  void OnListRequest(std::function<void(std::size_t)> hook) {
    if (github()) {
      github_->OnListRequest(std::move(hook));
    } else {
      gitlab_->OnListRequest(std::move(hook));
    }
  }

  // ---- Changes ----

  // Moves the tracker's clock on, so that the next changes get a second of
  // their own.
  void Tick() {
    if (github()) {
      github_->AdvanceClock(1);
    } else {
      gitlab_->AdvanceClock(milliseconds(1000 + 37));
    }
  }

  // Retitles the issue and, with `toggle`, closes or reopens it: one change
  // (one `updated`) however much it changes.
  bool Edit(std::int64_t id, const std::string& title, bool toggle) {
    if (github()) {
      return github_->UpdateIssue(id, [&](GitHubIssue& issue) {
        issue.title = title;
        if (toggle) {
          issue.state = issue.state == "open" ? "closed" : "open";
          issue.state_reason = issue.state == "closed" ? "completed" : "reopened";
        }
      });
    }
    const std::int64_t now = gitlab_->NowMs();
    return gitlab_->UpdateIssue(id, [&](GitLabIssue& issue) {
      issue.title = title;
      if (toggle) {
        const bool close = issue.state == "opened";
        issue.state = close ? "closed" : "opened";
        issue.closed_ms = close ? std::optional<std::int64_t>(now) : std::nullopt;
        issue.closed_by = close ? std::optional<std::string>("sync.bot") : std::nullopt;
      }
    });
  }

  void Add(const std::string& title, std::mt19937_64& rng) {
    if (github()) {
      GitHubIssue issue;
      issue.repo = std::string(kRepos[rng() % 2]);
      issue.title = title;
      ASSERT_TRUE(github_->AddIssue(std::move(issue)).has_value());
    } else {
      GitLabIssue issue;
      issue.project = std::string(kProjects[rng() % 2]);
      issue.title = title;
      auto added = gitlab_->AddIssue(std::move(issue));
      ASSERT_TRUE(added.has_value()) << added.error().message;
    }
  }

  // GitHub: a transfer to the other repository (same id, a new number);
  // GitLab: a move to the other project (the old issue closed, a new one).
  bool Move(std::int64_t id) {
    if (github()) {
      auto issue = github_->GetIssue(id);
      if (!issue) {
        return false;
      }
      std::string_view to = issue->repo == kRepos[0] ? kRepos[1] : kRepos[0];
      return github_->TransferIssue(id, to).has_value();
    }
    auto issue = gitlab_->GetIssue(id);
    if (!issue || issue->moved_to_id) {
      return false;
    }
    std::string_view to = issue->project == kProjects[0] ? kProjects[1] : kProjects[0];
    return gitlab_->MoveIssue(id, to).has_value();
  }

  bool Delete(std::int64_t id) {
    return github() ? github_->DeleteIssue(id) : gitlab_->DeleteIssue(id);
  }

  // GitHub: a new pull request and an edited one, which the lists carry
  // among the issues and which must never become items.
  void TouchPullRequests(const std::string& title, std::mt19937_64& rng, Tally& tally) {
    if (!github()) {
      return;
    }
    GitHubIssue pr;
    pr.repo = std::string(kRepos[rng() % 2]);
    pr.title = title;
    ASSERT_TRUE(github_->AddPullRequest(std::move(pr)).has_value());
    std::vector<std::int64_t> prs = PullRequestIds();
    github_->UpdateIssue(prs[rng() % prs.size()],
                         [&](GitHubIssue& changed) { changed.title = title + " (edited)"; });
    tally.pull_requests += 2;
  }

  // Real work for every run: edits, closes and reopens, new issues (and
  // pull requests), a deletion among the issues whose item is live (so that
  // archiving is tested), a transfer or move. Each issue changes at most
  // once per batch.
  void ChangeBetweenRuns(int run, std::mt19937_64& rng, std::set<std::int64_t>& deleted,
                         Tally& tally) {
    Tick();
    std::vector<std::int64_t> ids = IssueIds();
    std::shuffle(ids.begin(), ids.end(), rng);
    std::size_t next = 0;
    for (int i = 0; i < kEditsPerRun && next < ids.size(); ++i, ++next) {
      const std::int64_t id = ids[next];
      if (Edit(id, "Run " + std::to_string(run) + " changed " + std::to_string(id),
               rng() % 4 == 0)) {
        ++tally.edited;
      }
    }
    for (int i = 0; i < kMovesPerRun && next < ids.size(); ++i, ++next) {
      tally.moved += Move(ids[next]) ? 1 : 0;
    }
    std::vector<std::int64_t> live = LiveIds(dir_.path() / "state/board.db", connection());
    const std::set<std::int64_t> touched(ids.begin(), ids.begin() + next);
    std::erase_if(live, [&](std::int64_t id) { return touched.contains(id); });
    for (int i = 0; i < kDeletesPerRun && !live.empty(); ++i) {
      const std::int64_t id = live[rng() % live.size()];
      if (Delete(id)) {
        deleted.insert(id);
      }
    }
    for (int i = 0; i < kAddsPerRun; ++i) {
      Add("Added before run " + std::to_string(run) + " #" + std::to_string(++tally.added), rng);
    }
    TouchPullRequests("Pull request of run " + std::to_string(run), rng, tally);
  }

  // Arms a batch of edits for the `at`-th list request of the next run.
  std::shared_ptr<PullingEdits> ArmEditsWhilePulling(int run, std::mt19937_64& rng) {
    auto edits = std::make_shared<PullingEdits>();
    edits->at = 1 + rng() % 3;
    edits->run = run;
    std::vector<std::int64_t> ids = IssueIds();
    std::shuffle(ids.begin(), ids.end(), rng);
    ids.resize(std::min<std::size_t>(ids.size(), kEditsWhilePulling));
    edits->ids = std::move(ids);
    OnListRequest([this, edits](std::size_t) {
      std::lock_guard lock(edits->mu);
      if (!edits->enabled || edits->done || ++edits->seen < edits->at) {
        return;
      }
      edits->done = true;
      Tick();
      for (std::size_t i = 0; i < edits->ids.size(); ++i) {
        Edit(edits->ids[i],
             "Changed while run " + std::to_string(edits->run) + " paged, " + std::to_string(i),
             i == 0);
      }
    });
    return edits;
  }

  // Stops the batch (it may still be running on a server thread: the lock
  // waits for it). Whether it was applied.
  bool Disarm(PullingEdits& edits) {
    OnListRequest({});
    std::lock_guard lock(edits.mu);
    edits.enabled = false;
    return edits.done;
  }

  // ---- GitHub's ETags ----

  // The connection's session as state.db holds it ("" when none).
  std::string SavedSession() const {
    SQLite::Database db((dir_.path() / "state/state.db").string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT data FROM sessions WHERE connection = ?");
    q.bind(1, connection());
    return q.executeStep() ? q.getColumn(0).getString() : "";
  }

  // Retitles one issue of `repo`.
  void EditOneIn(std::string_view repo, const std::string& title) {
    for (const GitHubIssue& issue : github_->Issues()) {
      if (!issue.pull_request && issue.repo == repo) {
        ASSERT_TRUE(Edit(issue.id, title, false));
        return;
      }
    }
    FAIL() << "no issue left in " << repo;
  }

  // A plain sync run to its end, and the requests the sample GitHub saw.
  std::vector<GitHubServer::RecordedRequest> PlainSync(const std::filesystem::path& log) {
    github_->ClearRequests();
    RunResult result = RunBoardsync(SyncArgs("boardsync.yaml", false), log, std::nullopt);
    EXPECT_EQ(result.exit_code, 0) << result.log;
    return github_->requests();
  }

  static std::string Describe(const std::vector<GitHubServer::RecordedRequest>& requests) {
    std::string out = std::to_string(requests.size()) + " requests:";
    for (const auto& request : requests) {
      out += "\n  " + std::to_string(request.status) + " " + request.target +
             (request.if_none_match ? " (If-None-Match)" : "");
    }
    return out;
  }

  // Exactly one request per repository, its issue list, answered `status`
  // (304: to an If-None-Match).
  static void ExpectOnePerRepo(const std::vector<GitHubServer::RecordedRequest>& requests,
                               int status, std::string_view what) {
    std::set<std::string> lists;
    bool right = requests.size() == std::size(kRepos);
    for (const auto& request : requests) {
      right = right && request.status == status && (status != 304 || request.if_none_match);
      lists.insert(request.api_path);
    }
    std::set<std::string> expected;
    for (std::string_view repo : kRepos) {
      expected.insert("/repos/" + std::string(repo) + "/issues");
    }
    EXPECT_TRUE(right && lists == expected)
        << what << ": expected one request per repository, answered " << status << "; "
        << Describe(requests);
  }

  // After the kills: a sync with nothing new costs one request per
  // repository, answered 304, and a pull killed half way saves no ETag.
  //
  // A no-change sync reads the cursor's overlap (5 minutes) again, window
  // after window, and only a window answered whole by one page keeps its
  // ETag (GitHubSource::FetchWindow). Right after the burst of changes
  // above, the overlap holds many pages per repository; so first a quiet
  // spell, then one change in each repository, after which the overlap
  // before the new cursor fits one page.
  void CheckETags(const std::filesystem::path& log, const std::filesystem::path& board_db) {
    github_->AdvanceClock(600);
    for (std::string_view repo : kRepos) {
      EditOneIn(repo, "After the quiet spell");
    }
    PlainSync(log);  // reads them: the cursor moves on
    ExpectOnePerRepo(PlainSync(log), 200, "the first sync from the new cursor");
    ExpectOnePerRepo(PlainSync(log), 304, "a sync with nothing new");

    // A change in each repository, and a run killed while the second
    // repository's list is held back: the first list was read whole (a
    // new ETag), but the pull never ended, so the saved session must stay
    // as it was; else the next sync would send that ETag, get 304 and
    // never see the first repository's change if the run had not kept it.
    const std::string session = SavedSession();
    ASSERT_NE(session, "");
    Tick();
    for (std::string_view repo : kRepos) {
      EditOneIn(repo, "Changed before a half-done pull");
    }
    struct Gate {
      std::mutex mu;
      std::condition_variable cv;
      bool reached = false;
      bool open = false;
    };
    auto gate = std::make_shared<Gate>();
    const std::string held = "/repos/" + std::string(kRepos[1]) + "/issues";
    github_->OnListRequest([this, gate, held](std::size_t) {
      if (github_->RequestCount(held) == 0) {
        return;
      }
      std::unique_lock lock(gate->mu);
      gate->reached = true;
      gate->cv.wait_for(lock, std::chrono::seconds(30), [&] { return gate->open; });
    });
    github_->ClearRequests();
    RunResult killed = RunBoardsync(SyncArgs("boardsync.yaml", false), log, milliseconds(2000));
    github_->OnListRequest({});
    bool reached = false;
    {
      std::lock_guard lock(gate->mu);
      reached = gate->reached;
      gate->open = true;
    }
    gate->cv.notify_all();
    EXPECT_TRUE(killed.killed) << killed.log;
    ASSERT_TRUE(reached) << "the run did not reach " << held << " within 2s";
    const std::vector<GitHubServer::RecordedRequest> first = github_->requests();
    ASSERT_FALSE(first.empty());
    EXPECT_EQ(first.front().status, 200)
        << "the first repository's changed list; " << Describe(first);
    EXPECT_EQ(SavedSession(), session) << "a pull killed half way changed the saved session";

    PlainSync(log);
    std::vector<std::string> wrong = Differences(ReadBoard(board_db), Expected());
    EXPECT_TRUE(wrong.empty()) << "after a half-done pull and a sync:\n" << FirstOf(wrong);
    ExpectOnePerRepo(PlainSync(log), 200, "the first sync from the new cursor");
    for (int i = 0; i < 2; ++i) {
      ExpectOnePerRepo(PlainSync(log), 304, "a sync with nothing new, after the kills");
    }
  }

  std::unique_ptr<GitHubServer> github_;
  std::unique_ptr<GitLabServer> gitlab_;
  TempDir dir_;
};

TEST_P(ForgeKillTest, ConvergesAfterTwelveKillsAtRandomInstants) {
  const std::uint64_t seed = Seed();
  const std::string forge = github() ? "GitHub" : "GitLab";
  std::cout << "forge kill test (" << forge << ", concurrency " << GetParam().concurrency
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
    std::vector<std::string> wrong = Differences(ReadBoard(calibration_board), Expected());
    ASSERT_TRUE(wrong.empty()) << "after an uninterrupted first sync:\n" << FirstOf(wrong);
  }
  std::filesystem::remove_all(dir_.path() / "calibrate");
  const double full_seconds = calibration.seconds;
  // Board writes come last in a run; half the kills aim at that part.
  const double write_fraction = std::clamp(first_write.value_or(0) / full_seconds, 0.0, 0.9);
  std::cout << "one full sync of " << Expected().size() << " issues: " << full_seconds
            << "s, board writes from " << write_fraction * 100 << "% of it" << std::endl;

  std::set<std::int64_t> deleted;  // ids deleted while their item was live
  Tally tally;
  int kills = 0;
  int kills_before_pulling = 0;  // no list answered yet
  int kills_before_writing = 0;  // lists answered, the board untouched
  int kills_after_writing = 0;   // some board writes had landed
  int finished = 0;
  std::vector<std::string> exit_problems;
  int locked = 0;  // runs refused because a killed one still held the lock
  // Kills are spread uniformly over how long a run takes, so they land in
  // every phase of it. A plain run's length varies: the span follows the last
  // finished plain run and grows while runs keep being killed.
  double plain_span = full_seconds;

  int run = 0;
  auto enough = [&] {
    return kills >= kKills && kills_before_writing >= kKillsPerPhase &&
           kills_after_writing >= kKillsPerPhase;
  };
  for (; run < kMaxRuns && !enough(); ++run) {
    ChangeBetweenRuns(run, rng, deleted, tally);
    if (HasFatalFailure()) {
      return;
    }
    // Every other run, the tracker changes again while it pages.
    std::shared_ptr<PullingEdits> edits;
    if (run % 2 == 1) {
      edits = ArmEditsWhilePulling(run, rng);
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
    ClearRequests();
    const std::string stamp = BoardStamp(board_db);
    RunResult result = RunBoardsync(SyncArgs("boardsync.yaml", full), log, delay);
    if (edits && Disarm(*edits)) {
      ++tally.while_pulling;
    }
    const std::size_t lists = ListRequests();
    EXPECT_FALSE(LockHeld(lock_file)) << "run " << run << " left the state directory locked";
    if (result.killed) {
      ++kills;
      if (lists == 0) {
        ++kills_before_pulling;
      } else if (BoardStamp(board_db) == stamp) {
        ++kills_before_writing;
      } else {
        ++kills_after_writing;
      }
      if (!full) {
        // On a loaded machine (the ASan stage runs the kill tests side by
        // side) a run can take several times the calibrated one: while no
        // run lands a board write, the span may grow further, so kills still
        // reach the writes.
        const double cap = kills_after_writing == 0 ? full_seconds * 6 : full_seconds * 1.5;
        plain_span = std::min(plain_span * 1.5, cap);
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
            << " before the first list, " << kills_before_writing
            << " after lists were answered but before a board write landed, " << kills_after_writing
            << " after board writes landed), " << finished << " finished; " << tally.edited
            << " issues edited, " << tally.added << " added, " << deleted.size() << " deleted, "
            << tally.moved << (github() ? " transferred, " : " moved, ") << tally.pull_requests
            << " pull requests added or edited, " << tally.while_pulling
            << " batches of edits while a run paged" << std::endl;
  EXPECT_GE(kills, kKills) << "too few kills landed while boardsync ran";
  EXPECT_GE(kills_before_writing, kKillsPerPhase) << "too few kills landed while it pulled";
  EXPECT_GE(kills_after_writing, kKillsPerPhase) << "too few kills landed while it wrote the board";
  EXPECT_EQ(locked, 0) << "a killed run left the state directory locked (exit 3)";
  EXPECT_TRUE(exit_problems.empty())
      << exit_problems.size() << " runs that were not killed failed; the first:\n"
      << exit_problems.front();
  EXPECT_GT(tally.moved, 0);
  EXPECT_GT(tally.while_pulling, 0) << "no edits landed while a run paged";

  // A plain sync must bring every item up to date on its own: nothing a
  // killed run staged or acknowledged is lost. Only archiving may wait for
  // the full pass that follows.
  RunResult settle = RunBoardsync(SyncArgs("boardsync.yaml", false), log, std::nullopt);
  ASSERT_EQ(settle.exit_code, 0) << settle.log;
  const std::string prefix = connection() + ":";
  {
    std::vector<std::string> wrong = Differences(ReadBoard(board_db), Expected());
    std::erase_if(wrong, [&](const std::string& entry) {
      return entry.ends_with("live, but no such issue in the tracker") &&
             deleted.contains(std::stoll(entry.substr(prefix.size())));
    });
    EXPECT_TRUE(wrong.empty()) << "after the first uninterrupted plain sync:\n" << FirstOf(wrong);
  }

  // Then `sync --full` and a plain sync.
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
  const std::vector<ExpectedItem> issues = Expected();
  EXPECT_EQ(board.row_count, board.rows.size()) << "an item key is on the board twice";
  EXPECT_EQ(board.live(), issues.size());
  std::vector<std::string> wrong = Differences(board, issues);
  EXPECT_TRUE(wrong.empty()) << FirstOf(wrong);

  std::vector<std::string> not_archived;
  for (std::int64_t id : deleted) {
    const BoardRow* row = board.Find(prefix + std::to_string(id));
    if (row == nullptr || !row->archived()) {
      not_archived.push_back(std::to_string(id) + (row == nullptr ? " (no item)" : ""));
    }
  }
  EXPECT_FALSE(deleted.empty());
  EXPECT_TRUE(not_archived.empty())
      << not_archived.size() << " deleted issues are not archived, e.g. " << not_archived.front();
  // Pull requests were in every list and never are items, not even archived ones.
  for (std::int64_t id : PullRequestIds()) {
    EXPECT_EQ(board.Find(prefix + std::to_string(id)), nullptr)
        << "pull request " << id << " is an item";
  }

  if (github()) {
    CheckETags(log, board_db);
  }

  std::cout << "forge kill test (" << forge << ", concurrency " << GetParam().concurrency
            << ") took " << std::chrono::duration<double>(Clock::now() - test_start).count() << "s"
            << std::endl;
}

INSTANTIATE_TEST_SUITE_P(
    Forges, ForgeKillTest,
    testing::Values(ForgeKillParam{Forge::kGitHub, 1}, ForgeKillParam{Forge::kGitHub, 4},
                    ForgeKillParam{Forge::kGitLab, 1}, ForgeKillParam{Forge::kGitLab, 4}),
    [](const testing::TestParamInfo<ForgeKillParam>& info) {
      return std::string(info.param.forge == Forge::kGitHub ? "GitHub" : "GitLab") + "Concurrency" +
             std::to_string(info.param.concurrency);
    });

}  // namespace
}  // namespace boardsync

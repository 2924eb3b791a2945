// Incremental sync end to end (DESIGN §1, §4, §5): the cursor on `updated`
// read in the token user's time zone, keyset paging that misses no issue
// changed while it pages, archiving found by reconciliation (--full and
// full_resync), re-mapping after a mapping change, and the outbox that keeps
// undelivered board writes. The real connector talks to the sample tracker on
// loopback; state.db and board.db are real files in a temporary directory.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/http/json.h"
#include "core/time.h"
#include "daemon/commands.h"
#include "tests/integration/board_testing.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"
#include "tests/support/youtrack_query.h"

namespace boardsync {
namespace {

// What the tests read from the board: every item shows its issue's summary
// and `updated`, so any change of an issue is a change of its item.
constexpr std::string_view kMapping =
    "fields:\n"
    "  title: summary\n"
    "  key: $key\n"
    "  project: project.shortName\n"
    "  state: State\n"
    "  updated: $updated\n";

// The numbers of one summary line: "sample: pulled 15, created 13, ...".
struct Counts {
  std::int64_t pulled = -1, created = -1, updated = -1, archived = -1, unchanged = -1, skipped = -1,
               failed = -1, board_writes = -1;
};

std::optional<Counts> ParseSummary(const std::string& out, std::string_view connection) {
  static const std::regex kLine(
      R"(: pulled (\d+), created (\d+), updated (\d+), archived (\d+), unchanged (\d+), )"
      R"(skipped (\d+), failed (\d+), board writes (\d+), [0-9.]+s)");
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (line.starts_with(std::string(connection) + ":") && std::regex_search(line, m, kLine)) {
      auto n = [&](int i) { return std::stoll(m[i].str()); };
      return Counts{n(1), n(2), n(3), n(4), n(5), n(6), n(7), n(8)};
    }
  }
  return std::nullopt;
}

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
  Counts counts;  // all -1 when the summary line is missing

  std::string Describe() const {
    return "exit " + std::to_string(code) + "\nout: " + out + "err: " + err;
  }
};

std::string ReadFileText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  if (auto at = text.find(from); at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::int64_t UpdatedOf(const SampleTracker& tracker, std::string_view id) {
  std::optional<Value> issue = tracker.GetIssue(id);
  return issue ? issue->Find("updated")->AsInt() : -1;
}

class IncrementalSyncTest : public testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.Write("tracker.token", std::string(kSampleTrackerToken) + "\n");
    ::chmod(token_file_.c_str(), 0600);
    dir_.Write("mapping.yaml", std::string(kMapping));
  }

  // A tracker with `count` synthetic issues (their `updated` lies in the
  // past); then `touched` of them are changed now, so that the cursor of
  // the first sync is recent, as on a live tracker.
  void StartTracker(std::size_t count, SampleTrackerOptions options = {}, std::size_t touched = 0) {
    tracker_ = std::make_unique<SampleTracker>(std::move(options));
    tracker_->GenerateIssues(count, 42);
    ids_ = tracker_->IssueIds();
    for (std::size_t i = 0; i < touched; ++i) {
      ASSERT_TRUE(
          tracker_->SetSummary(ids_[i * ids_.size() / touched], "Touched " + std::to_string(i)));
    }
  }

  void WriteConfig(const std::string& query = "", const std::string& extra = "") {
    std::string text =
        "state_dir: state\n"
        "connections:\n"
        "  - name: sample\n"
        "    type: youtrack\n"
        "    base_url: " +
        tracker_->base_url() +
        "\n"
        "    token_file: tracker.token\n"
        "    mapping: mapping.yaml\n"
        "    board: roadmap\n"
        "    page_size: " +
        std::to_string(page_size_) + "\n";
    if (!query.empty()) {
      text += "    query: \"" + query + "\"\n";
    }
    dir_.Write("boardsync.yaml", text + extra);
  }

  Outcome Sync(bool full = false) {
    CommandOptions options;
    options.config_file = dir_.path() / "boardsync.yaml";
    options.full = full;
    std::ostringstream out, err;
    Outcome outcome;
    outcome.code = RunSync(options, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
    outcome.counts = ParseSummary(outcome.out, "sample").value_or(Counts{});
    return outcome;
  }

  // A sync that must succeed; its summary line must be there.
  Outcome MustSync(bool full = false) {
    Outcome outcome = Sync(full);
    EXPECT_EQ(outcome.code, kExitOk) << outcome.Describe();
    EXPECT_GE(outcome.counts.pulled, 0) << "no summary line for sample:\n" << outcome.Describe();
    return outcome;
  }

  Board ReadTheBoard() const { return ReadBoard(dir_.path() / "state/board.db"); }

  // The /api/issues requests since the last ClearRequests().
  std::vector<SampleTracker::RecordedRequest> IssueRequests() const {
    std::vector<SampleTracker::RecordedRequest> out;
    for (auto& r : tracker_->requests()) {
      if (r.api_path == "/api/issues") {
        out.push_back(std::move(r));
      }
    }
    return out;
  }

  // The live items are exactly the issues `selected` accepts, each as the
  // tracker has it now.
  testing::AssertionResult BoardMatchesTracker(
      const std::function<bool(const Value& issue)>& selected = {},
      std::string_view title_field = "title") const {
    BoardDifferences differences =
        CompareBoard(ReadTheBoard(), *tracker_, "sample", selected, title_field);
    if (differences.empty()) {
      return testing::AssertionSuccess();
    }
    return testing::AssertionFailure() << "the board differs from the tracker:\n"
                                       << differences.ToString();
  }

  TempDir dir_;
  std::filesystem::path token_file_;
  std::unique_ptr<SampleTracker> tracker_;
  std::vector<std::string> ids_;  // entity ids in entity-id order
  int page_size_ = 50;
};

// ---------------------------------------------------------------------------
// The cursor, in every time zone a token user may have.

class IncrementalSyncZoneTest : public IncrementalSyncTest,
                                public testing::WithParamInterface<int> {
 protected:
  void SetUp() override {
    IncrementalSyncTest::SetUp();
    // Changes land two seconds before the sync that should see them, as
    // when someone edits an issue and the next sync runs a little later.
    SampleTrackerOptions options;
    options.user_utc_offset_minutes = GetParam();
    options.clock = [] { return NowMs() - 2000; };
    StartTracker(300, std::move(options), /*touched=*/10);
    WriteConfig();
  }

  // The `updated:` range of a query the connector sent, as the tracker reads
  // it in the user's zone.
  std::optional<QueryTimeRange> UpdatedRange(const SampleTracker::RecordedRequest& r) const {
    auto query = ParseIssueQuery(r.request.Param("query").value_or(""), GetParam());
    if (!query || query->updated.size() != 1) {
      return std::nullopt;
    }
    return query->updated.front();
  }
};

std::string ZoneName(const testing::TestParamInfo<int>& info) {
  int m = info.param;
  if (m == 0) {
    return "Utc";
  }
  return std::string(m < 0 ? "Minus" : "Plus") + std::to_string(std::abs(m) / 60) + "h" +
         (std::abs(m) % 60 != 0 ? std::to_string(std::abs(m) % 60) : "");
}

INSTANTIATE_TEST_SUITE_P(IncrementalZones, IncrementalSyncZoneTest,
                         testing::Values(0, -600, 840, 345), ZoneName);

TEST_P(IncrementalSyncZoneTest, AFirstSyncPagesByKeyNotByGrowingSkip) {
  WriteConfig("", "    concurrency: 1\n");  // one page after another
  Outcome first = MustSync();
  EXPECT_EQ(first.counts.created, 300) << first.out;
  EXPECT_EQ(first.counts.board_writes, 300) << first.out;
  EXPECT_TRUE(BoardMatchesTracker());

  std::size_t pulls = 0;
  for (const auto& r : IssueRequests()) {
    // The pull asks for what the mapping reads; an id-only sweep does not.
    if (r.request.Param("fields").value_or("").find("summary") != std::string_view::npos) {
      ++pulls;
      std::string query(r.request.Param("query").value_or(""));
      EXPECT_EQ(query.find('{'), std::string::npos) << "braces in " << query;
      EXPECT_NE(query.find("sort by: updated asc"), std::string::npos) << query;
      EXPECT_TRUE(ParseIssueQuery(query, GetParam()).has_value()) << query;
    }
    std::int64_t skip = 0;
    if (auto text = r.request.Param("$skip")) {
      std::from_chars(text->data(), text->data() + text->size(), skip);
    }
    // Keyset paging skips at most the issues that share the last `updated`
    // second of the previous page, never the pages already read.
    EXPECT_LT(skip, page_size_) << r.request.target;
  }
  // 300 issues in pages of 50, then an empty page or two.
  EXPECT_GE(pulls, 6u);
  EXPECT_LE(pulls, 8u);
}

// The first sync reads slices of the range side by side; the zone decides
// where each slice's bounds fall, and no issue may fall between two slices
// or into both.
TEST_P(IncrementalSyncZoneTest, ASlicedFirstSyncReadsEveryIssueOnceAndTheNextAsksOnce) {
  WriteConfig("", "    concurrency: 4\n");
  // Each page takes a little while, as over a network: readers overlap.
  tracker_->OnIssuesRequest(
      [](std::size_t) { std::this_thread::sleep_for(std::chrono::milliseconds(2)); });
  Outcome first = MustSync();
  tracker_->OnIssuesRequest(nullptr);
  EXPECT_EQ(first.counts.pulled, 300) << first.out;
  EXPECT_EQ(first.counts.created, 300) << first.out;
  EXPECT_EQ(first.counts.board_writes, 300) << first.out;
  EXPECT_TRUE(BoardMatchesTracker());
  EXPECT_GE(tracker_->max_concurrent_requests(), 2u) << "the slices were not read side by side";
  EXPECT_EQ(tracker_->RequestCount("/api/users/me"), 1u);
  std::set<std::string> slice_ends;
  for (const auto& r : IssueRequests()) {
    std::string query(r.request.Param("query").value_or(""));
    EXPECT_TRUE(ParseIssueQuery(query, GetParam()).has_value()) << query;
    if (auto range = UpdatedRange(r); range && range->to_ms) {
      slice_ends.insert(FormatIsoUtc(*range->to_ms));
    }
    std::int64_t skip = 0;
    if (auto text = r.request.Param("$skip")) {
      std::from_chars(text->data(), text->data() + text->size(), skip);
    }
    EXPECT_LT(skip, page_size_) << r.request.target;
  }
  EXPECT_GE(slice_ends.size(), 8u) << "too few slices";

  tracker_->ClearRequests();
  Outcome again = MustSync();
  EXPECT_EQ(again.counts.board_writes, 0) << again.out;
  EXPECT_EQ(tracker_->total_requests(), 1u);
}

TEST_P(IncrementalSyncZoneTest, ASyncWithoutChangesAsksOnceAndWritesNothing) {
  MustSync();
  Board before = ReadTheBoard();
  ASSERT_EQ(before.live(), 300u);
  tracker_->ClearRequests();

  Outcome again = MustSync();
  EXPECT_EQ(again.counts.created, 0) << again.out;
  EXPECT_EQ(again.counts.updated, 0) << again.out;
  EXPECT_EQ(again.counts.archived, 0) << again.out;
  EXPECT_EQ(again.counts.failed, 0) << again.out;
  EXPECT_EQ(again.counts.board_writes, 0) << again.out;
  // One request in all: the token check of the first sync is trusted.
  EXPECT_EQ(tracker_->RequestCount("/api/issues"), 1u);
  EXPECT_EQ(tracker_->total_requests(), 1u);
  for (const auto& r : IssueRequests()) {
    auto range = UpdatedRange(r);
    EXPECT_TRUE(range && range->from_ms && range->to_ms)
        << "no updated: A .. B range in " << r.request.target;
  }

  Board after = ReadTheBoard();
  ASSERT_EQ(after.rows.size(), before.rows.size());
  for (const auto& [key, row] : after.rows) {
    EXPECT_EQ(row.synced_at, before.rows.at(key).synced_at) << key << " was written again";
  }

  // An hour later the token is checked again, once.
  ExpireTrackerSessions(dir_.path() / "state/state.db");
  tracker_->ClearRequests();
  MustSync();
  EXPECT_EQ(tracker_->RequestCount("/api/users/me"), 1u);
  EXPECT_EQ(tracker_->RequestCount("/api/issues"), 1u);
  tracker_->ClearRequests();
  MustSync();
  EXPECT_EQ(tracker_->total_requests(), 1u);
}

TEST_P(IncrementalSyncZoneTest, AChangeAfterASyncIsPickedUpByTheNext) {
  MustSync();
  const std::string& renamed = ids_[17];
  const std::string& reprioritized = ids_[230];
  ASSERT_TRUE(tracker_->SetSummary(renamed, "Renamed after the first sync"));
  ASSERT_TRUE(tracker_->SetFieldValue(
      reprioritized, "State",
      Value(Value::Object{
          {"$type", "StateBundleElement"}, {"name", "Changed by a test"}, {"isResolved", false}})));
  tracker_->ClearRequests();

  Outcome next = MustSync();
  EXPECT_EQ(next.counts.created, 0) << next.out;
  EXPECT_EQ(next.counts.updated, 2) << next.out;
  EXPECT_EQ(next.counts.board_writes, 2) << next.out;
  EXPECT_EQ(tracker_->RequestCount("/api/issues"), 1u);

  // The range the connector asked for holds both changes when read in the
  // user's zone, as YouTrack reads it.
  auto requests = IssueRequests();
  ASSERT_FALSE(requests.empty());
  auto range = UpdatedRange(requests.front());
  ASSERT_TRUE(range.has_value()) << requests.front().request.target;
  for (const std::string& id : {renamed, reprioritized}) {
    std::int64_t updated = UpdatedOf(*tracker_, id);
    EXPECT_TRUE(range->Contains(updated))
        << id << " updated at " << FormatIsoUtc(updated) << " is outside "
        << requests.front().request.Param("query").value_or("");
  }

  Board board = ReadTheBoard();
  const BoardRow* row = board.Find("sample:" + renamed);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->Field("title"), "Renamed after the first sync");
  row = board.Find("sample:" + reprioritized);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->Field("state"), "Changed by a test");
  EXPECT_TRUE(BoardMatchesTracker());

  Outcome quiet = MustSync();
  EXPECT_EQ(quiet.counts.updated, 0) << quiet.out;
  EXPECT_EQ(quiet.counts.board_writes, 0) << quiet.out;
}

// ---------------------------------------------------------------------------
// Issues that change while a sync pages through them.

TEST_F(IncrementalSyncTest, IssuesChangedWhilePagingAreNeitherMissedNorLeftOlder) {
  constexpr std::size_t kIssues = 2000;
  page_size_ = 100;
  // The tracker's clock runs half an hour behind, a second per change, so
  // that changes made while a sync pages still fall inside the range it
  // reads (its upper bound is the sync's start); changes meant for the next
  // sync are stamped with the real time explicitly.
  std::atomic<std::int64_t> tracker_now{NowMs() - 30 * 60'000};
  SampleTrackerOptions options;
  options.clock = [&tracker_now] { return tracker_now += 1000; };
  StartTracker(kIssues, std::move(options));
  // One reader, page after page: the changes below also move issues to
  // other places in the history, which the pages ahead are sure to reach.
  // (A real `updated` only moves to the present; slices: see below.)
  WriteConfig("", "    concurrency: 1\n");

  // The issues in the order the first sync reads them: by `updated`.
  std::vector<std::pair<std::int64_t, std::string>> order;
  for (const std::string& id : ids_) {
    order.emplace_back(UpdatedOf(*tracker_, id), id);
  }
  std::sort(order.begin(), order.end());

  std::mutex mu;
  std::set<std::string> changed;
  std::vector<std::string> hook_errors;
  std::atomic<int> batches{0};
  // Changes the issue at `position` of `order`; with `move_after`, its
  // `updated` becomes just later than that of the issue at `move_after`,
  // which moves it across page boundaries within the range being read;
  // with `real_time`, it is stamped now, after the sync began.
  auto change = [&](std::size_t position, std::optional<std::size_t> move_after,
                    bool real_time = false) {
    const std::string& id = order.at(position).second;
    std::string summary = "Changed while paging, was at " + std::to_string(position);
    bool ok = tracker_->UpdateIssue(id, [&](Value& issue) {
      issue.AsObject()["summary"] = summary;
      std::int64_t current = issue.Find("updated")->AsInt();
      if (move_after) {
        issue.AsObject()["updated"] = std::max(current + 1, order.at(*move_after).first + 1);
      } else if (real_time) {
        issue.AsObject()["updated"] = std::max(current + 1, NowMs());
      }
    });
    std::lock_guard lock(mu);
    if (!ok) {
      hook_errors.push_back("could not change " + id);
    }
    changed.insert(id);
  };
  auto check_hook = [&](int want_batches) {
    tracker_->OnIssuesRequest(nullptr);
    EXPECT_GE(batches.load(), want_batches)
        << "the sync made " << tracker_->RequestCount("/api/issues") << " issue requests";
    std::lock_guard lock(mu);
    for (const std::string& e : hook_errors) {
      ADD_FAILURE() << e;
    }
    hook_errors.clear();
  };

  // The first sync reads everything. Before its n-th page is served (about
  // (n-1) pages are read), issues change on pages already read and on pages
  // ahead, and issues move across page boundaries.
  tracker_->OnIssuesRequest([&](std::size_t n) {
    if (n != 4 && n != 9 && n != 15) {
      return;
    }
    ++batches;
    std::size_t read = (n - 1) * page_size_;
    for (std::size_t i = 0; i < 8; ++i) {
      change(i * 37 % read, std::nullopt);                                 // on a page read
      change(read + 150 + i * 61 % (kIssues - read - 160), std::nullopt);  // on a page ahead
      change(read - 1 - i, read + 120 + 11 * i);  // read, moved onto a page ahead
      change(read + 2 + i, read + 260 + 13 * i);  // ahead, moved further ahead
    }
    // The last issue of the page being served moves just past the next boundary.
    change(read + page_size_ - 1, read + page_size_ + 1);
  });
  Outcome first = MustSync();
  check_hook(3);
  EXPECT_GE(changed.size(), kIssues * 4 / 100) << "too few changes to prove anything";
  EXPECT_EQ(first.counts.created, static_cast<std::int64_t>(kIssues)) << first.out;
  Board board = ReadTheBoard();
  EXPECT_EQ(board.row_count, kIssues);
  EXPECT_TRUE(BoardMatchesTracker()) << "after the first sync";

  Outcome second = MustSync();
  EXPECT_EQ(second.counts.board_writes, 0) << second.out;

  // A bulk change of 500 issues, then an incremental sync during which more
  // change: issues its earlier pages returned, and a few stamped with the
  // real time, which only the sync after it can see.
  order.clear();
  for (const std::string& id : ids_) {
    order.emplace_back(UpdatedOf(*tracker_, id), id);
  }
  std::sort(order.begin(), order.end());
  std::vector<std::string> bulk;
  for (std::size_t i = 0; i < 500; ++i) {
    bulk.push_back(order[i * 4 + 1].second);
    ASSERT_TRUE(tracker_->SetSummary(bulk.back(), "Bulk change " + std::to_string(i)));
  }
  order.clear();
  for (const std::string& id : bulk) {
    order.emplace_back(UpdatedOf(*tracker_, id), id);  // in the order this sync reads them
  }
  batches = 0;
  tracker_->ClearRequests();
  tracker_->OnIssuesRequest([&](std::size_t n) {
    if (n != 2 && n != 4) {
      return;
    }
    ++batches;
    std::size_t read = (n - 1) * page_size_;
    for (std::size_t i = 0; i < 10; ++i) {
      change(i * 7 % read, std::nullopt);         // read in this sync, changed again
      change(read + 10 + i, read + 30 + 5 * i);   // ahead, moved further ahead
      change(read - 20 + i, std::nullopt, true);  // for the next sync
    }
  });
  Outcome third = MustSync();
  check_hook(2);
  EXPECT_GE(third.counts.updated, 500) << third.out;

  // Every page of the sync asked for the same range's end: fixed at its start.
  std::set<std::int64_t> upper_bounds;
  for (const auto& r : IssueRequests()) {
    auto query = ParseIssueQuery(r.request.Param("query").value_or(""));
    if (!query || query->updated.size() != 1 || !query->updated.front().to_ms) {
      ADD_FAILURE() << "no updated: range with an end in " << r.request.target;
      continue;
    }
    upper_bounds.insert(*query->updated.front().to_ms);
  }
  EXPECT_EQ(upper_bounds.size(), 1u) << "the range's end moved while the sync paged";

  Outcome fourth = MustSync();
  board = ReadTheBoard();
  EXPECT_EQ(board.row_count, kIssues);
  EXPECT_EQ(board.rows.size(), kIssues);
  EXPECT_TRUE(BoardMatchesTracker()) << "after the sync that followed";
  EXPECT_LE(fourth.counts.updated, 20) << fourth.out;
}

// A full pass read in slices while issues change: an issue that changes
// moves to the present, out of whatever slice held it (read already, being
// read, or not yet reached), into the last one. None may be lost, none may
// reach the board twice or in an older version, and reconciliation (a
// sliced pass too) must archive nothing that is still there.
TEST_F(IncrementalSyncTest, IssuesChangingWhileSlicesAreReadAreNeitherLostNorArchived) {
  constexpr std::size_t kIssues = 3000;
  page_size_ = 40;
  StartTracker(kIssues);
  WriteConfig("", "    concurrency: 4\n    full_resync: 1m\n");
  // Half the issues were changed within three days long ago (fewer than a
  // page an hour): the first slice holds them and is still being read long
  // after the last one reached the present.
  const std::int64_t busy = UpdatedOf(*tracker_, ids_.front());
  for (std::size_t i = 0; i < kIssues / 2; ++i) {
    ASSERT_TRUE(tracker_->EditIssueInPlace(ids_[i * 2], [&](Value& issue) {
      issue.AsObject()["updated"] = busy + static_cast<std::int64_t>(i) * 3 * 60'000;
    }));
  }

  std::mutex mu;
  std::set<std::string> changed;
  std::vector<std::string> hook_errors;
  std::atomic<int> batches{0};
  std::atomic<std::size_t> seed{0};
  // Changes 25 issues spread over the whole history, twice some of them.
  auto change_some = [&](std::size_t n) {
    ++batches;
    for (std::size_t i = 0; i < 25; ++i) {
      const std::string& id = ids_[(n * 7919 + i * 619 + seed) % ids_.size()];
      bool ok = tracker_->SetSummary(
          id, "Changed during pull " + std::to_string(n) + "." + std::to_string(i));
      std::lock_guard lock(mu);
      if (!ok) {
        hook_errors.push_back("could not change " + id);
      }
      changed.insert(id);
    }
  };
  auto check_hook = [&](int want_batches) {
    tracker_->OnIssuesRequest(nullptr);
    EXPECT_GE(batches.load(), want_batches)
        << "the sync made " << tracker_->RequestCount("/api/issues") << " issue requests";
    batches = 0;
    std::lock_guard lock(mu);
    for (const std::string& e : hook_errors) {
      ADD_FAILURE() << e;
    }
    hook_errors.clear();
  };

  // The first sync: changes before every sixth page, to its end, when the
  // last slice has been read to the present and others are still read.
  tracker_->OnIssuesRequest([&](std::size_t n) {
    if (n % 6 == 4) {
      change_some(n);
    }
  });
  Outcome first = MustSync();
  check_hook(12);
  EXPECT_GE(changed.size(), 250u) << "too few changes to prove anything";
  EXPECT_EQ(first.counts.created, static_cast<std::int64_t>(kIssues)) << first.out;
  EXPECT_EQ(first.counts.archived, 0) << first.out;
  Board board = ReadTheBoard();
  EXPECT_EQ(board.row_count, kIssues);
  EXPECT_EQ(board.rows.size(), kIssues) << "an item key is on the board twice";
  EXPECT_TRUE(BoardMatchesTracker()) << "after the first sync";

  // The next sync finds nothing new to write.
  Outcome second = MustSync();
  EXPECT_EQ(second.counts.board_writes, 0) << second.out;

  // sync --full while issues change: a reconciliation in slices.
  seed = 1;
  tracker_->ClearRequests();
  tracker_->OnIssuesRequest([&](std::size_t n) {
    if (n == 5 || n == 20 || n == 40) {
      change_some(n);
    }
  });
  Outcome full = MustSync(/*full=*/true);
  check_hook(3);
  EXPECT_EQ(full.counts.archived, 0) << full.out;
  board = ReadTheBoard();
  EXPECT_EQ(board.live(), kIssues);
  EXPECT_TRUE(BoardMatchesTracker()) << "after sync --full";

  // The id-only sweep of full_resync while issues change: the pull before
  // it is incremental, the sweep itself reads slices.
  {
    SQLite::Database state((dir_.path() / "state/state.db").string(), SQLite::OPEN_READWRITE);
    state.exec("UPDATE cursors SET last_full_ms = last_full_ms - 120000");
  }
  seed = 2;
  tracker_->ClearRequests();
  tracker_->OnIssuesRequest([&](std::size_t n) {
    if (n == 6 || n == 25) {
      change_some(n);
    }
  });
  Outcome swept = MustSync();
  check_hook(2);
  EXPECT_EQ(swept.counts.archived, 0) << swept.out;
  std::size_t id_only = 0;
  for (const auto& r : IssueRequests()) {
    id_only += r.request.Param("fields").value_or("") == "id,idReadable,updated" ? 1 : 0;
  }
  EXPECT_GE(id_only, 20u) << "no sweep ran";
  board = ReadTheBoard();
  EXPECT_EQ(board.live(), kIssues);

  // Whatever changed during the sweep is for the next sync to bring.
  MustSync();
  EXPECT_TRUE(BoardMatchesTracker()) << "after the sync that followed the sweep";
  board = ReadTheBoard();
  EXPECT_EQ(board.row_count, kIssues);
}

// ---------------------------------------------------------------------------
// Archiving.

TEST_F(IncrementalSyncTest, ADeletedIssueIsArchivedByAFullSyncAndComesBack) {
  StartTracker(60);
  page_size_ = 20;
  WriteConfig();
  MustSync();
  const std::string victim = ids_[23];
  const std::string key = "sample:" + victim;
  std::optional<Value> saved = tracker_->GetIssue(victim);
  ASSERT_TRUE(saved.has_value());
  Board before = ReadTheBoard();
  ASSERT_NE(before.Find(key), nullptr);
  ASSERT_TRUE(tracker_->DeleteIssue(victim));

  Outcome full = MustSync(/*full=*/true);
  EXPECT_EQ(full.counts.archived, 1) << full.out;
  EXPECT_EQ(full.counts.created, 0) << full.out;
  EXPECT_EQ(full.counts.updated, 0) << full.out;
  EXPECT_EQ(full.counts.board_writes, 1) << full.out;
  Board after = ReadTheBoard();
  ASSERT_NE(after.Find(key), nullptr) << "an archived item stays on the board";
  EXPECT_TRUE(after.Find(key)->archived()) << key;
  for (const auto& [k, row] : after.rows) {
    if (k != key) {
      EXPECT_FALSE(row.archived()) << k;
      EXPECT_EQ(row.synced_at, before.rows.at(k).synced_at) << k << " was written again";
    }
  }
  EXPECT_TRUE(BoardMatchesTracker());

  Outcome again = MustSync(/*full=*/true);
  EXPECT_EQ(again.counts.archived, 0) << "archived twice: " << again.out;
  EXPECT_EQ(again.counts.board_writes, 0) << again.out;

  // Restored (a restore is a change: `updated` moves on), it is live again
  // after a plain sync.
  saved->AsObject()["updated"] = NowMs();
  ASSERT_TRUE(tracker_->AddIssue(*saved).has_value());
  Outcome back = MustSync();
  EXPECT_EQ(back.counts.archived, 0) << back.out;
  EXPECT_EQ(back.counts.board_writes, 1) << back.out;
  ASSERT_NE(ReadTheBoard().Find(key), nullptr);
  EXPECT_FALSE(ReadTheBoard().Find(key)->archived()) << key;
  EXPECT_TRUE(BoardMatchesTracker());
}

TEST_F(IncrementalSyncTest, IssuesLeavingTheQueryAreArchivedAndReturnWithIt) {
  StartTracker(90);
  page_size_ = 25;
  WriteConfig();
  MustSync();
  auto in_doc = [](const Value& issue) {
    return issue.Find("project")->StringOr("shortName") == "DOC";
  };
  std::set<std::string> doc_keys;
  for (const std::string& id : ids_) {
    if (in_doc(*tracker_->GetIssue(id))) {
      doc_keys.insert("sample:" + id);
    }
  }
  ASSERT_GE(doc_keys.size(), 3u) << "the generated data should have DOC issues";

  WriteConfig("project: RAP, SRV");
  Outcome narrowed = MustSync(/*full=*/true);
  EXPECT_EQ(narrowed.counts.archived, static_cast<std::int64_t>(doc_keys.size())) << narrowed.out;
  EXPECT_EQ(narrowed.counts.created + narrowed.counts.updated, 0) << narrowed.out;
  Board board = ReadTheBoard();
  for (const std::string& key : doc_keys) {
    ASSERT_NE(board.Find(key), nullptr) << key;
    EXPECT_TRUE(board.Find(key)->archived()) << key;
  }
  EXPECT_TRUE(BoardMatchesTracker([&](const Value& issue) { return !in_doc(issue); }));

  WriteConfig();
  Outcome widened = MustSync(/*full=*/true);
  EXPECT_EQ(widened.counts.archived, 0) << widened.out;
  EXPECT_EQ(widened.counts.board_writes, static_cast<std::int64_t>(doc_keys.size())) << widened.out;
  board = ReadTheBoard();
  for (const std::string& key : doc_keys) {
    ASSERT_NE(board.Find(key), nullptr) << key;
    EXPECT_FALSE(board.Find(key)->archived()) << key << " stayed archived";
  }
  EXPECT_TRUE(BoardMatchesTracker());
}

TEST_F(IncrementalSyncTest, FullResyncFindsADeletionWithoutAskingForIt) {
  StartTracker(40);
  page_size_ = 15;
  WriteConfig("", "    full_resync: 1m\n");  // the shortest there is
  MustSync();
  const std::string key = "sample:" + ids_[7];
  ASSERT_TRUE(tracker_->DeleteIssue(ids_[7]));
  // Two minutes pass: the last reconciliation is that much older.
  {
    SQLite::Database state((dir_.path() / "state/state.db").string(), SQLite::OPEN_READWRITE);
    state.exec("UPDATE cursors SET last_full_ms = last_full_ms - 120000");
  }

  Outcome plain = MustSync();
  EXPECT_EQ(plain.counts.archived, 1) << plain.out;
  Board board = ReadTheBoard();
  ASSERT_NE(board.Find(key), nullptr);
  EXPECT_TRUE(board.Find(key)->archived()) << key;
  EXPECT_TRUE(BoardMatchesTracker());
}

// ---------------------------------------------------------------------------
// Mapping changes and the outbox.

TEST_F(IncrementalSyncTest, AChangedMappingRemapsEveryItemOnce) {
  StartTracker(120);
  WriteConfig();
  MustSync();

  std::string renamed(kMapping);
  renamed.replace(renamed.find("  title:"), 8, "  name:");
  dir_.Write("mapping.yaml", renamed);
  Outcome remapped = MustSync();
  EXPECT_EQ(remapped.counts.updated, 120) << remapped.out;
  EXPECT_EQ(remapped.counts.board_writes, 120) << remapped.out;
  Board board = ReadTheBoard();
  EXPECT_EQ(board.live(), 120u);
  for (const auto& [key, row] : board.rows) {
    EXPECT_EQ(row.fields.Find("title"), nullptr) << key;
    EXPECT_NE(row.Field("name"), "") << key;
  }
  EXPECT_TRUE(BoardMatchesTracker({}, "name"));

  Outcome settled = MustSync();
  EXPECT_EQ(settled.counts.updated, 0) << settled.out;
  EXPECT_EQ(settled.counts.board_writes, 0) << settled.out;
}

TEST_F(IncrementalSyncTest, WritesTheBoardCouldNotTakeAreDeliveredByTheNextSync) {
  StartTracker(50);
  WriteConfig();
  MustSync();
  ASSERT_TRUE(tracker_->SetSummary(ids_[3], "Written while the board was away"));
  ASSERT_TRUE(tracker_->SetSummary(ids_[31], "Also written while the board was away"));

  // The board store cannot be opened: a directory where its file was.
  const std::filesystem::path board_db = dir_.path() / "state/board.db";
  const std::filesystem::path aside = dir_.path() / "board.db.aside";
  // Its WAL files, if any, go along with it.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    if (std::filesystem::exists(board_db.string() + suffix)) {
      std::filesystem::rename(board_db.string() + suffix, aside.string() + suffix);
    }
  }
  std::filesystem::create_directory(board_db);
  Outcome down = Sync();
  EXPECT_EQ(down.code, kExitRunFailed) << down.Describe();
  CommandOptions status_options;
  status_options.config_file = dir_.path() / "boardsync.yaml";
  status_options.format = "json";
  std::ostringstream status_out, status_err;
  ASSERT_EQ(RunStatus(status_options, status_out, status_err), kExitOk) << status_err.str();
  auto status = ParseJson(status_out.str());
  ASSERT_TRUE(status && status->IsList() && status->AsList().size() == 1) << status_out.str();
  const Value* pending = status->AsList()[0].Find("pending");
  ASSERT_NE(pending, nullptr) << status_out.str();
  EXPECT_EQ(*pending, Value(2)) << status_out.str();

  std::filesystem::remove(board_db);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    if (std::filesystem::exists(aside.string() + suffix)) {
      std::filesystem::rename(aside.string() + suffix, board_db.string() + suffix);
    }
  }
  tracker_->ClearRequests();
  Outcome back = MustSync();
  EXPECT_EQ(back.counts.board_writes, 2) << back.out;
  EXPECT_EQ(tracker_->RequestCount("/api/issues"), 1u);
  EXPECT_TRUE(BoardMatchesTracker());
}

TEST_F(IncrementalSyncTest, AnOlderVersionNeverReplacesANewerOne) {
  // Two state directories feed one board, as after restoring an old copy of
  // the state: the stale one still holds writes of an older version.
  StartTracker(30);
  const std::filesystem::path board_db = dir_.path() / "shared/board.db";
  std::filesystem::create_directories(board_db);  // no board yet: writes wait
  const std::string board = "board:\n  type: sqlite\n  path: " + board_db.string() + "\n";
  WriteConfig();
  std::string config = ReadFileText(dir_.path() / "boardsync.yaml");
  dir_.Write("stale.yaml", board + Replace(config, "state_dir: state", "state_dir: stale"));
  dir_.Write("boardsync.yaml", board + config);
  CommandOptions stale;
  stale.config_file = dir_.path() / "stale.yaml";
  std::ostringstream out, err;
  ASSERT_EQ(RunSync(stale, out, err), kExitRunFailed) << out.str() << err.str();

  std::filesystem::remove(board_db);
  MustSync();
  const std::string& id = ids_[12];
  ASSERT_TRUE(tracker_->SetSummary(id, "The newer version"));
  MustSync();

  // The stale state cannot reach the tracker, but delivers what it holds.
  tracker_->RevokeToken(kSampleTrackerToken);
  out.str("");
  err.str("");
  RunSync(stale, out, err);
  std::ostringstream status_out, status_err;
  stale.format = "json";
  ASSERT_EQ(RunStatus(stale, status_out, status_err), kExitOk) << status_err.str();
  EXPECT_NE(status_out.str().find("\"pending\":0"), std::string::npos)
      << "the stale writes were not delivered, so nothing was tried: " << status_out.str();

  Board after = ReadBoard(board_db);
  const BoardRow* row = after.Find("sample:" + id);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->Field("title"), "The newer version");
  EXPECT_EQ(row->source_updated_at, FormatIsoUtc(UpdatedOf(*tracker_, id)));
  BoardDifferences differences = CompareBoard(after, *tracker_, "sample");
  EXPECT_TRUE(differences.empty()) << differences.ToString();
}

}  // namespace
}  // namespace boardsync

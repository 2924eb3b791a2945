#include "connectors/common/updated_pull.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace boardsync {
namespace {

using ::testing::ElementsAre;

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMinute = 60'000;
// 2023-11-14T22:13:20Z: every issue lies in the past, as the slices need
// (they never split past now).
constexpr std::int64_t kBase = 1'700'000'000'000;

// How the in-memory tracker reads a query's bounds and pages through it.
struct TrackerStyle {
  WindowPaging paging = WindowPaging::kOffset;
  std::int64_t granule = kSecond;
  // How its literals compare: YouTrack reads "updated: .. T" as the whole
  // second T; Jira reads `updated <= "10:05"` as up to 10:05:00.000, so the
  // connector writes the first minute at or after the bound.
  bool whole_granule_upper = true;
  // kToken: at most this many issues a page, whatever was asked (0: none).
  int cap = 0;
};

std::string Describe(const TrackerStyle& style) {
  return std::string(style.paging == WindowPaging::kOffset ? "Offset" : "Token") +
         (style.granule == kSecond ? "Second" : "Minute") +
         (style.whole_granule_upper ? "WholeGranule" : "CeiledLiteral");
}

void PrintTo(const TrackerStyle& style, std::ostream* out) {
  *out << Describe(style) << (style.cap > 0 ? " capped at " + std::to_string(style.cap) : "");
}

std::string Id(int n) {
  std::string digits = std::to_string(n);
  return "1-" + std::string(digits.size() < 6 ? 6 - digits.size() : 0, '0') + digits;
}

// A tracker in memory: issues sorted by (updated, id), served a window at a
// time as FetchWindow asks, with offset or token (search-after) paging.
// Thread-safe; hooks let a test change issues while a pull pages.
class MemoryTracker {
 public:
  explicit MemoryTracker(TrackerStyle style) : style_(style) {}

  // Adds the issue, or moves it to its new `updated`.
  void Put(const std::string& id, std::int64_t updated_ms, bool broken = false,
           bool unreadable_updated = false) {
    std::lock_guard lock(mu_);
    EraseLocked(id);
    order_.emplace(std::pair(updated_ms, id), Stored{broken, unreadable_updated});
    updated_.emplace(id, updated_ms);
  }
  void Remove(const std::string& id) {
    std::lock_guard lock(mu_);
    EraseLocked(id);
  }
  std::map<std::string, std::int64_t> Snapshot() const {
    std::lock_guard lock(mu_);
    return {updated_.begin(), updated_.end()};
  }
  std::int64_t Newest() const {
    std::lock_guard lock(mu_);
    return order_.rbegin()->first.first;
  }

  Result<WindowPage> Fetch(const WindowRequest& window) {
    if (before_fetch) {
      if (auto ready = before_fetch(window); !ready) {
        return std::unexpected(ready.error());
      }
    }
    WindowPage page = Serve(window);
    if (after_fetch) {
      after_fetch(window, page);
    }
    return page;
  }
  FetchWindow AsFetchWindow() {
    return [this](const WindowRequest& window) { return Fetch(window); };
  }

  std::vector<WindowRequest> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  // Set before the pull: may block or fail a request, or change issues.
  std::function<Result<void>(const WindowRequest&)> before_fetch;
  std::function<void(const WindowRequest&, const WindowPage&)> after_fetch;

 private:
  struct Stored {
    bool broken = false;
    bool unreadable_updated = false;
  };
  using Key = std::pair<std::int64_t, std::string>;

  void EraseLocked(const std::string& id) {
    if (auto it = updated_.find(id); it != updated_.end()) {
      order_.erase(Key{it->second, id});
      updated_.erase(it);
    }
  }

  WindowPage Serve(const WindowRequest& window) {
    std::lock_guard lock(mu_);
    requests_.push_back(window);
    const std::int64_t g = style_.granule;
    const std::int64_t lower = window.from_ms ? FloorToGranule(*window.from_ms, g)
                                              : std::numeric_limits<std::int64_t>::min();
    std::int64_t upper = std::numeric_limits<std::int64_t>::max();
    if (window.to_ms) {
      const std::int64_t floor = FloorToGranule(*window.to_ms, g);
      upper =
          style_.whole_granule_upper ? floor + g - 1 : (floor == *window.to_ms ? floor : floor + g);
    }
    std::vector<Key> selected;
    for (const auto& [key, stored] : order_) {
      if (key.first >= lower && key.first <= upper) {
        selected.push_back(key);
      }
    }
    if (window.newest_first) {
      std::reverse(selected.begin(), selected.end());
    }
    std::size_t start = 0;
    if (style_.paging == WindowPaging::kOffset) {
      start = static_cast<std::size_t>(window.skip);
    } else if (!window.token.empty()) {
      // A search-after token: the (updated, id) of the last issue served.
      const auto comma = window.token.find(',');
      const Key after{std::stoll(window.token.substr(0, comma)), window.token.substr(comma + 1)};
      start = static_cast<std::size_t>(std::upper_bound(selected.begin(), selected.end(), after) -
                                       selected.begin());
    }
    std::size_t size = static_cast<std::size_t>(window.page_size);
    if (style_.paging == WindowPaging::kToken && style_.cap > 0) {
      size = std::min(size, static_cast<std::size_t>(style_.cap));
    }
    WindowPage page;
    for (std::size_t i = start; i < selected.size() && i < start + size; ++i) {
      const Key& key = selected[i];
      const Stored& stored = order_.at(key);
      Issue issue;
      issue.id = key.second;
      issue.key = "A-" + key.second.substr(2);
      issue.updated_ms = stored.unreadable_updated ? 0 : key.first;
      if (stored.broken || stored.unreadable_updated) {
        issue.decode_error = "issue " + issue.key + ": cannot decode";
      } else {
        issue.fields.emplace("summary", Value("issue " + issue.key));
      }
      page.issues.push_back(std::move(issue));
    }
    const std::size_t end = std::min(selected.size(), start + size);
    if (style_.paging == WindowPaging::kToken && end < selected.size() && end > start) {
      page.next_token = std::to_string(selected[end - 1].first) + "," + selected[end - 1].second;
    }
    return page;
  }

  TrackerStyle style_;
  mutable std::mutex mu_;
  std::map<Key, Stored> order_;
  std::unordered_map<std::string, std::int64_t> updated_;
  std::vector<WindowRequest> requests_;
};

// What a pull handed on, checked as it comes: never an older version of an
// issue after a newer one, and each page's watermark passing no issue of
// `expected` (id -> updated, those the pull must hand on) not handed on yet.
class Recorder {
 public:
  explicit Recorder(std::map<std::string, std::int64_t> expected = {})
      : expected_(std::move(expected)) {}

  PageSink Sink() {
    return [this](IssuePage page) -> Result<void> {
      if (fail_at_page_ > 0 && pages_ + 1 == fail_at_page_) {
        return Fail(ErrorCode::kStorage, "the board store is full");
      }
      ++pages_;
      for (Issue& issue : page.issues) {
        auto [it, first] = newest_.emplace(issue.id, issue.updated_ms);
        if (!first) {
          if (issue.updated_ms != 0 && issue.updated_ms < it->second) {
            problems.push_back(issue.id + " handed on older after newer");
          }
          it->second = std::max(it->second, issue.updated_ms);
        }
        ++times_[issue.id];
        handed.push_back(std::move(issue));
      }
      if (page.through_ms) {
        if (through && *page.through_ms < *through) {
          problems.push_back("the watermark went back");
        }
        through = page.through_ms;
        for (const auto& [id, updated] : expected_) {
          if (updated < *through && !newest_.contains(id)) {
            problems.push_back("watermark " + std::to_string(*through) + " passed " + id +
                               " (updated " + std::to_string(updated) + ") before it came");
            break;
          }
        }
      }
      return {};
    };
  }

  void FailAtPage(int page) { fail_at_page_ = page; }
  int Times(const std::string& id) const {
    auto it = times_.find(id);
    return it == times_.end() ? 0 : it->second;
  }
  std::optional<std::int64_t> Newest(const std::string& id) const {
    auto it = newest_.find(id);
    return it == newest_.end() ? std::nullopt : std::optional(it->second);
  }
  std::set<std::string> Ids() const {
    std::set<std::string> ids;
    for (const auto& [id, times] : times_) {
      ids.insert(id);
    }
    return ids;
  }
  int pages() const { return pages_; }

  std::vector<Issue> handed;
  std::vector<std::string> problems;
  std::optional<std::int64_t> through;

 private:
  std::map<std::string, std::int64_t> expected_;
  std::map<std::string, std::int64_t> newest_;
  std::map<std::string, int> times_;
  int pages_ = 0;
  int fail_at_page_ = 0;
};

std::set<std::string> KeysOf(const std::map<std::string, std::int64_t>& issues) {
  std::set<std::string> keys;
  for (const auto& [id, updated] : issues) {
    keys.insert(id);
  }
  return keys;
}

UpdatedPullOptions OptionsFor(const TrackerStyle& style) {
  UpdatedPullOptions options;
  options.connection_name = "acme";
  options.granularity_ms = style.granule;
  options.paging = style.paging;
  return options;
}

Result<void> PullAll(MemoryTracker& tracker, const PullRequest& request,
                     const UpdatedPullOptions& options, Recorder& recorder) {
  std::stop_source cancel;
  return PullByUpdated(request, options, tracker.AsFetchWindow(), recorder.Sink(), cancel);
}

TEST(FloorToGranule, RoundsTowardsThePast) {
  EXPECT_EQ(FloorToGranule(kBase + 999, kSecond), kBase);
  EXPECT_EQ(FloorToGranule(kBase + 39'999, kMinute), kBase - 20'000);  // kBase is :20 past
  EXPECT_EQ(FloorToGranule(kBase + 40'000, kMinute), kBase + 40'000);
  EXPECT_EQ(FloorToGranule(-1, kSecond), -1000);
  EXPECT_EQ(FloorToGranule(-1000, kSecond), -1000);
}

// Every style the engine pages: offset and token, seconds and minutes, both
// ways trackers read an upper literal.
class UpdatedPullTest : public ::testing::TestWithParam<TrackerStyle> {
 protected:
  TrackerStyle style() const { return GetParam(); }
  std::int64_t g() const { return GetParam().granule; }
};

TEST_P(UpdatedPullTest, HandsOnEveryIssueOnceOldestFirstAndTheWatermarkPassesNoneUnhanded) {
  MemoryTracker tracker(style());
  // Sparse and dense stretches: up to three issues a granule, and one
  // granule with more than two pages of them.
  int n = 0;
  for (int i = 0; i < 400; ++i) {
    tracker.Put(Id(n++), kBase + i * g() / 3 * 2);
  }
  for (int i = 0; i < 90; ++i) {
    tracker.Put(Id(n++), kBase + 400 * g() + i);
  }
  const auto expected = tracker.Snapshot();
  PullRequest request;
  request.page_size = 40;
  Recorder recorder(expected);
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(recorder.problems.empty()) << recorder.problems.front();
  EXPECT_EQ(recorder.Ids(), KeysOf(expected));
  for (const auto& [id, updated] : expected) {
    EXPECT_EQ(recorder.Times(id), 1) << id;
  }
  EXPECT_TRUE(
      std::is_sorted(recorder.handed.begin(), recorder.handed.end(),
                     [](const Issue& a, const Issue& b) { return a.updated_ms < b.updated_ms; }));
  EXPECT_EQ(recorder.through, tracker.Newest());
  // Each window starts at a granule; none is read twice over for it.
  const std::size_t per_page = style().cap > 0 ? style().cap : 40;
  EXPECT_LT(tracker.Requests().size(), 2 * expected.size() / per_page + 4);
}

TEST_P(UpdatedPullTest, ManyIssuesInOneGranuleArePagedWithinIt) {
  MemoryTracker tracker(style());
  for (int i = 0; i < 1000; ++i) {
    tracker.Put(Id(i), kBase + 7 * g() + (i % 10));
  }
  tracker.Put(Id(1000), kBase + 9 * g());
  PullRequest request;
  request.page_size = 30;
  request.updated_from_ms = kBase + 7 * g() + 500;  // inside the dense granule
  Recorder recorder(tracker.Snapshot());
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(recorder.problems.empty()) << recorder.problems.front();
  EXPECT_EQ(recorder.handed.size(), 1001u);
  EXPECT_EQ(recorder.Ids().size(), 1001u);
  // Past the first page, the same window goes on rather than start again.
  const auto requests = tracker.Requests();
  const std::size_t step = style().paging == WindowPaging::kOffset ? 29
                           : style().cap > 0                       ? style().cap
                                                                   : 30;
  EXPECT_LE(requests.size(), 1001 / step + 3);
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[1].from_ms, requests[0].from_ms);
  if (style().paging == WindowPaging::kOffset) {
    EXPECT_EQ(requests[1].skip, 29);
    EXPECT_TRUE(requests[1].token.empty());
  } else {
    EXPECT_EQ(requests[1].skip, 0);
    EXPECT_FALSE(requests[1].token.empty());
  }
}

TEST_P(UpdatedPullTest, IssuesChangingWhilePagingAreSeenInTheirLatestVersion) {
  MemoryTracker tracker(style());
  for (int i = 0; i < 600; ++i) {
    tracker.Put(Id(i), kBase + (i / 4) * g() + i % 4);  // four issues a granule
  }
  const auto before = tracker.Snapshot();
  // After every page, an issue not read yet changes (and moves to the end of
  // the order); every third page, one read already changes too.
  std::int64_t clock = tracker.Newest();
  int pages = 0;
  int next_unread = 0;
  tracker.after_fetch = [&](const WindowRequest&, const WindowPage& page) {
    // Not after the last page: the pull would end without the change.
    const bool more = style().paging == WindowPaging::kToken
                          ? !page.next_token.empty()
                          : page.issues.size() == static_cast<std::size_t>(25);
    if (!more) {
      return;
    }
    ++pages;
    const std::int64_t reached = page.issues.back().updated_ms;
    for (const auto& [id, updated] : before) {
      if (updated > reached + 2 * g() && std::stoi(id.substr(2)) > next_unread) {
        next_unread = std::stoi(id.substr(2));
        clock += g() / 2;
        tracker.Put(id, clock);
        break;
      }
    }
    if (pages % 3 == 0) {
      clock += g() / 2;
      tracker.Put(page.issues.front().id, clock);
    }
  };
  PullRequest request;
  request.page_size = 25;
  Recorder recorder;
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(recorder.problems.empty()) << recorder.problems.front();
  EXPECT_GT(pages, 20);
  for (const auto& [id, updated] : tracker.Snapshot()) {
    EXPECT_EQ(recorder.Newest(id), updated) << id << " was not seen in its latest version";
  }
}

TEST_P(UpdatedPullTest, TheRangeIsCoveredExactlyWhateverItsBoundsLookLike) {
  MemoryTracker tracker(style());
  for (int i = 0; i < 400; ++i) {
    tracker.Put(Id(i), kBase + i * g() / 40);  // forty issues a granule
  }
  PullRequest request;
  request.page_size = 16;
  request.updated_from_ms = kBase + 2 * g() + g() / 3;
  request.updated_to_ms = kBase + 7 * g() + g() / 3;
  Recorder recorder;
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(recorder.problems.empty()) << recorder.problems.front();
  for (const auto& [id, updated] : tracker.Snapshot()) {
    if (updated >= *request.updated_from_ms && updated <= *request.updated_to_ms) {
      EXPECT_EQ(recorder.Times(id), 1) << id;
    }
    if (updated < FloorToGranule(*request.updated_from_ms, g()) ||
        updated > *request.updated_to_ms + g() - 1) {
      EXPECT_EQ(recorder.Times(id), 0) << id << " lies outside the range";
    }
  }
  // What the connector was asked for covers the range, in inclusive bounds.
  const auto requests = tracker.Requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].from_ms, request.updated_from_ms);
  for (const WindowRequest& window : requests) {
    EXPECT_EQ(window.to_ms, FloorToGranule(*request.updated_to_ms, g()) + g() - 1);
  }
}

TEST_P(UpdatedPullTest, ALimitCapsWhatIsHandedOnAndAsksNoMore) {
  MemoryTracker tracker(style());
  for (int i = 0; i < 100; ++i) {
    tracker.Put(Id(i), kBase + i * g());
  }
  PullRequest request;
  request.page_size = 10;
  request.limit = 37;
  request.concurrency = 4;  // a limited pull is not sliced
  Recorder recorder;
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(recorder.handed.size(), 37u);
  EXPECT_EQ(recorder.handed.back().id, Id(36));
  if (style().cap == 0) {
    EXPECT_EQ(tracker.Requests().size(), 4u);  // 10, then 9 a window (one overlaps)
  }
  for (const WindowRequest& window : tracker.Requests()) {
    EXPECT_FALSE(window.probe);
  }
}

TEST_P(UpdatedPullTest, UndecodableIssuesAreHandedOnOnceAndThePullGoesOn) {
  MemoryTracker tracker(style());
  for (int i = 0; i < 120; ++i) {
    tracker.Put(Id(i), kBase + 3 * g() + i);  // one dense granule
  }
  tracker.Put(Id(500), kBase + 3 * g() + 50, /*broken=*/true);
  tracker.Put(Id(501), kBase + 3 * g() + 60, /*broken=*/true, /*unreadable_updated=*/true);
  tracker.Put(Id(502), kBase + 5 * g(), /*broken=*/true, /*unreadable_updated=*/true);
  for (int i = 0; i < 60; ++i) {
    tracker.Put(Id(600 + i), kBase + 6 * g() + i * g() / 10);
  }
  // Every later window starts within the margin after Id(502): it reads that
  // one again each time.
  UpdatedPullOptions options = OptionsFor(style());
  options.widen_from = [&](std::int64_t from) { return from - 10 * g(); };
  PullRequest request;
  request.page_size = 20;
  request.updated_from_ms = kBase;
  Recorder recorder;
  auto result = PullAll(tracker, request, options, recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(recorder.Ids().size(), 183u);
  for (const auto& [id, updated] : tracker.Snapshot()) {
    EXPECT_EQ(recorder.Times(id), 1) << id;
  }
  for (const Issue& issue : recorder.handed) {
    EXPECT_EQ(issue.decode_error.empty(),
              issue.id != Id(500) && issue.id != Id(501) && issue.id != Id(502))
        << issue.id;
  }
  // The reading of Id(502) again was asked for.
  const auto requests = tracker.Requests();
  EXPECT_GE(std::count_if(requests.begin(), requests.end(),
                          [&](const WindowRequest& w) {
                            return w.from_ms && *w.from_ms <= kBase + 5 * g() &&
                                   *w.from_ms + 10 * g() > kBase + 6 * g();
                          }),
            2);
  // An issue whose `updated` cannot be read moves no watermark.
  EXPECT_EQ(recorder.through, tracker.Newest());
}

TEST_P(UpdatedPullTest, WidenedBoundsAreAskedForAndTheMarginIsNotReadAgainOnEveryPage) {
  MemoryTracker tracker(style());
  // Eight issues a granule; the margin spans ten granules.
  for (int i = 0; i < 2000; ++i) {
    tracker.Put(Id(i), kBase + i * g() / 8);
  }
  UpdatedPullOptions options = OptionsFor(style());
  options.widen_from = [&](std::int64_t from) { return from - 10 * g(); };
  options.widen_to = [&](std::int64_t to) { return to + 10 * g(); };
  PullRequest request;
  request.page_size = 50;
  request.updated_from_ms = kBase + 20 * g();
  request.updated_to_ms = kBase + 200 * g();
  Recorder recorder(tracker.Snapshot());
  auto result = PullAll(tracker, request, options, recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  for (const auto& [id, updated] : tracker.Snapshot()) {
    const bool in = updated >= FloorToGranule(*request.updated_from_ms, g()) &&
                    updated <= *request.updated_to_ms + g() - 1;
    EXPECT_EQ(recorder.Times(id), in ? 1 : 0) << id;
  }
  const auto requests = tracker.Requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].from_ms, *request.updated_from_ms - 10 * g());
  EXPECT_EQ(requests[0].to_ms, FloorToGranule(*request.updated_to_ms, g()) + g() - 1 + 10 * g());
  // About 1450 issues in range plus 80 of margin: with offsets, each later
  // window passes over what it handed on already; a token cannot, and reads
  // each window's margin again.
  const std::size_t pages_of_range = 1530 / 50 + 1;
  if (style().paging == WindowPaging::kOffset) {
    EXPECT_LE(requests.size(), pages_of_range + pages_of_range / 2);
  } else {
    EXPECT_GT(requests.size(), 3 * pages_of_range);
  }
}

INSTANTIATE_TEST_SUITE_P(Styles, UpdatedPullTest,
                         ::testing::Values(TrackerStyle{WindowPaging::kOffset, kSecond, true},
                                           TrackerStyle{WindowPaging::kOffset, kMinute, false},
                                           TrackerStyle{WindowPaging::kOffset, kMinute, true},
                                           TrackerStyle{WindowPaging::kToken, kMinute, false},
                                           TrackerStyle{WindowPaging::kToken, kSecond, true},
                                           TrackerStyle{WindowPaging::kToken, kMinute, false,
                                                        /*cap=*/7}),
                         [](const ::testing::TestParamInfo<TrackerStyle>& info) {
                           return Describe(info.param) + (info.param.cap > 0 ? "Capped" : "");
                         });

TEST(UpdatedPullOffsetTest, DeletionsBeforeTheSkippedStretchReadItAgainFromTheAnchor) {
  MemoryTracker tracker(TrackerStyle{WindowPaging::kOffset, kSecond, true});
  for (int i = 0; i < 300; ++i) {
    tracker.Put(Id(i), kBase + 5 * kSecond + i);  // one dense second
  }
  tracker.Put(Id(300), kBase + 9 * kSecond);
  // Two issues already handed on are deleted after the second page: the
  // offsets of all later ones shift by two, past the page's overlap of one.
  int fetches = 0;
  tracker.after_fetch = [&](const WindowRequest&, const WindowPage&) {
    if (++fetches == 2) {
      tracker.Remove(Id(3));
      tracker.Remove(Id(4));
    }
  };
  PullRequest request;
  request.page_size = 50;
  request.updated_from_ms = kBase;
  Recorder recorder;
  auto result = PullAll(tracker, request, OptionsFor(TrackerStyle{}), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  for (const auto& [id, updated] : tracker.Snapshot()) {
    EXPECT_EQ(recorder.Times(id), 1) << id;
  }
  const auto requests = tracker.Requests();
  ASSERT_GE(requests.size(), 4u);
  EXPECT_EQ(requests[1].skip, 49);
  EXPECT_EQ(requests[2].skip, 98);  // the anchor is not first: ...
  EXPECT_EQ(requests[3].skip, 0);   // ... the stretch is read again
  EXPECT_EQ(requests[3].from_ms, requests[2].from_ms);
}

TEST(UpdatedPullOffsetTest, IssuesThatKeepChangingFailThePullAsRetriable) {
  MemoryTracker tracker(TrackerStyle{});
  for (int i = 0; i < 400; ++i) {
    tracker.Put(Id(i), kBase + 5 * kSecond + i);
  }
  int next = 0;
  tracker.after_fetch = [&](const WindowRequest&, const WindowPage&) {
    tracker.Remove(Id(next++));
    tracker.Remove(Id(next++));
  };
  PullRequest request;
  request.page_size = 20;
  request.updated_from_ms = kBase;
  Recorder recorder;
  auto result = PullAll(tracker, request, OptionsFor(TrackerStyle{}), recorder);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(result.error().retriable);
  EXPECT_EQ(result.error().message,
            "connection acme: issues keep changing while paging; the next sync retries");
}

TEST(UpdatedPullTokenTest, AShortPageWithATokenGoesOnAndAFullOneWithoutEndsTheWindow) {
  MemoryTracker tracker(TrackerStyle{WindowPaging::kToken, kMinute, false, /*cap=*/5});
  for (int i = 0; i < 23; ++i) {
    tracker.Put(Id(i), kBase + 2 * kMinute + i);  // one minute
  }
  UpdatedPullOptions options = OptionsFor(TrackerStyle{WindowPaging::kToken, kMinute});
  PullRequest request;
  request.page_size = 10;
  request.updated_from_ms = kBase + 2 * kMinute;  // the issues' minute
  Recorder recorder;
  auto result = PullAll(tracker, request, options, recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(recorder.Ids().size(), 23u);
  // Pages of 5 (fewer than asked for) go on while there is a token; the
  // last, of 3, has none.
  EXPECT_EQ(tracker.Requests().size(), 5u);

  // A full page without a token is the window's end: nothing more is asked.
  MemoryTracker exact(TrackerStyle{WindowPaging::kToken, kMinute, false});
  for (int i = 0; i < 20; ++i) {
    exact.Put(Id(i), kBase + 2 * kMinute + i);
  }
  Recorder all;
  result = PullAll(exact, request, options, all);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(all.Ids().size(), 20u);
  EXPECT_EQ(exact.Requests().size(), 2u);
}

TEST(UpdatedPullTokenTest, EntriesTheConnectorDropsMoveTheWindowOnAsIssuesWould) {
  // GitHub lists pull requests among issues: 25 of them, a second apart,
  // then 4 issues. Dropped by the connector, they still carry the window
  // on: each page starts a new window after them (no token followed, which
  // on GitHub is an offset), and the watermark passes them.
  MemoryTracker tracker(TrackerStyle{WindowPaging::kToken, kSecond, true});
  std::set<std::string> pulls;
  for (int i = 0; i < 25; ++i) {
    tracker.Put(Id(i), kBase + i * kSecond);
    pulls.insert(Id(i));
  }
  for (int i = 25; i < 29; ++i) {
    tracker.Put(Id(i), kBase + i * kSecond);
  }
  FetchWindow dropping = [&](const WindowRequest& window) -> Result<WindowPage> {
    auto page = tracker.Fetch(window);
    if (!page) {
      return page;
    }
    std::vector<Issue> kept;
    for (Issue& issue : page->issues) {
      page->read_through_ms = std::max(page->read_through_ms.value_or(0), issue.updated_ms);
      if (!pulls.contains(issue.id)) {
        kept.push_back(std::move(issue));
      }
    }
    page->issues = std::move(kept);
    return page;
  };
  PullRequest request;
  request.page_size = 10;
  request.updated_from_ms = kBase;
  std::vector<std::optional<std::int64_t>> watermarks;
  std::vector<std::string> ids;
  std::stop_source cancel;
  auto result = PullByUpdated(
      request, OptionsFor(TrackerStyle{WindowPaging::kToken, kSecond, true}), dropping,
      [&](IssuePage page) -> Result<void> {
        for (const Issue& issue : page.issues) {
          ids.push_back(issue.id);
        }
        watermarks.push_back(page.through_ms);
        return {};
      },
      cancel);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_THAT(ids, ElementsAre(Id(25), Id(26), Id(27), Id(28)));
  ASSERT_FALSE(watermarks.empty());
  EXPECT_EQ(watermarks.back(), kBase + 28 * kSecond);
  const std::vector<WindowRequest> requests = tracker.Requests();
  ASSERT_GE(requests.size(), 3u);
  for (const WindowRequest& asked : requests) {
    EXPECT_EQ(asked.token, "");  // every page a new window
  }
  EXPECT_EQ(requests[1].from_ms, kBase + 9 * kSecond);
}

TEST(UpdatedPullOptionsTest, APageSizeAboveTheTrackersCapIsCut) {
  MemoryTracker tracker(TrackerStyle{});
  for (int i = 0; i < 30; ++i) {
    tracker.Put(Id(i), kBase + i * kSecond);
  }
  UpdatedPullOptions options = OptionsFor(TrackerStyle{});
  options.max_page_size = 12;
  PullRequest request;
  request.page_size = 500;
  Recorder recorder;
  auto result = PullAll(tracker, request, options, recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(recorder.Ids().size(), 30u);
  for (const WindowRequest& window : tracker.Requests()) {
    EXPECT_EQ(window.page_size, 12);
  }
  EXPECT_GE(tracker.Requests().size(), 3u);
}

// Sliced pulls: the range split and read by several readers at once.
class SlicedUpdatedPullTest : public UpdatedPullTest {
 protected:
  // Skewed: most issues in the first tenth of the range, a few dense
  // granules, and a long sparse stretch.
  void Fill(MemoryTracker& tracker, int count) {
    for (int i = 0; i < count; ++i) {
      const std::int64_t at =
          i < count * 7 / 10 ? kBase + i * g() / 5 : kBase + 2000 * g() + (i % 60) * 37 * g();
      tracker.Put(Id(i), at + (i % 3));
    }
  }
};

TEST_P(SlicedUpdatedPullTest, FourReadersHandOnEveryIssueOnceAndTheWatermarkPassesNoneUnhanded) {
  MemoryTracker tracker(style());
  Fill(tracker, 3000);
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  tracker.before_fetch = [&](const WindowRequest&) -> Result<void> {
    const int now = ++in_flight;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    return {};
  };
  tracker.after_fetch = [&](const WindowRequest&, const WindowPage&) { --in_flight; };
  const auto expected = tracker.Snapshot();
  PullRequest request;
  request.page_size = 25;
  request.concurrency = 4;
  Recorder recorder(expected);
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(recorder.problems.empty()) << recorder.problems.front();
  EXPECT_EQ(recorder.Ids(), KeysOf(expected));
  for (const auto& [id, updated] : expected) {
    EXPECT_EQ(recorder.Times(id), 1) << id;
  }
  EXPECT_EQ(recorder.through, tracker.Newest());
  EXPECT_GE(most.load(), 2) << "the slices were not read side by side";

  // Two probes for the range (a few issues, identity only), then windows
  // starting in many places.
  const auto requests = tracker.Requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_TRUE(requests[0].probe && !requests[0].newest_first);
  EXPECT_TRUE(requests[1].probe && requests[1].newest_first);
  EXPECT_EQ(requests[1].page_size, 10);
  std::set<std::int64_t> starts;
  for (std::size_t i = 2; i < requests.size(); ++i) {
    EXPECT_FALSE(requests[i].probe);
    EXPECT_FALSE(requests[i].newest_first);
    if (requests[i].to_ms) {
      starts.insert(requests[i].from_ms.value_or(0));
    }
  }
  EXPECT_GE(starts.size(), 8u);
}

TEST_P(SlicedUpdatedPullTest, IssuesChangingWhileItRunsAreSeenInTheirLatestVersion) {
  MemoryTracker tracker(style());
  Fill(tracker, 2000);
  const auto before = tracker.Snapshot();
  std::mutex mu;
  std::int64_t clock = tracker.Newest();
  int changes = 0;
  // Only while slices other than the tail are read: the tail asks again
  // after them, so it sees every change (one after its last request would be
  // the next pull's).
  tracker.after_fetch = [&](const WindowRequest& window, const WindowPage& page) {
    if (window.probe || !window.to_ms || page.issues.empty()) {
      return;
    }
    std::lock_guard lock(mu);
    if (++changes > 150) {
      return;
    }
    // One issue of this page changes, and so does one far ahead of it
    // (another slice's, likely not read yet).
    clock += g() / 4;
    tracker.Put(page.issues.front().id, clock);
    const int ahead = (std::stoi(page.issues.back().id.substr(2)) + 997) % 2000;
    clock += g() / 4;
    tracker.Put(Id(ahead), clock);
  };
  PullRequest request;
  request.page_size = 20;
  request.concurrency = 4;
  Recorder recorder;
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(recorder.problems.empty()) << recorder.problems.front();
  EXPECT_GT(changes, 50);
  for (const auto& [id, updated] : tracker.Snapshot()) {
    EXPECT_EQ(recorder.Newest(id), updated) << id << " was not seen in its latest version";
  }
  EXPECT_EQ(recorder.Ids(), KeysOf(before));
}

TEST_P(SlicedUpdatedPullTest, TheTailAsksAgainAfterTheOtherSlicesAreDone) {
  MemoryTracker tracker(style());
  for (int i = 0; i < 400; ++i) {
    tracker.Put(Id(i), kBase + i * g());
  }
  // The first slice waits until the tail has read to its end; meanwhile its
  // first issue changes, and so moves into the tail, behind where the tail got.
  std::mutex mu;
  std::condition_variable changed;
  bool tail_ended = false;
  tracker.before_fetch = [&](const WindowRequest& window) -> Result<void> {
    if (!window.probe && !window.from_ms && window.to_ms) {
      std::unique_lock lock(mu);
      if (!changed.wait_for(lock, std::chrono::seconds(20), [&] { return tail_ended; })) {
        return Fail(ErrorCode::kUnavailable, "the tail never ended");
      }
    }
    return {};
  };
  const bool by_token = style().paging == WindowPaging::kToken;
  tracker.after_fetch = [&](const WindowRequest& window, const WindowPage& page) {
    const bool tail = !window.probe && window.from_ms && !window.to_ms;
    const bool ended = by_token ? page.next_token.empty()
                                : page.issues.size() < static_cast<std::size_t>(window.page_size);
    std::lock_guard lock(mu);
    if (tail && ended && !tail_ended) {
      tracker.Put(Id(0), tracker.Newest() + 3 * g());
      tail_ended = true;
      changed.notify_all();
    }
  };
  PullRequest request;
  request.page_size = 10;
  request.concurrency = 2;
  Recorder recorder;
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(tail_ended);
  EXPECT_EQ(recorder.Times(Id(0)), 1);
  EXPECT_EQ(recorder.Newest(Id(0)), tracker.Snapshot().at(Id(0)));
  EXPECT_EQ(recorder.Ids().size(), 400u);
}

TEST_P(SlicedUpdatedPullTest, AFailingReaderStopsTheOthersAndItsErrorIsThePulls) {
  MemoryTracker tracker(style());
  Fill(tracker, 3000);
  std::atomic<int> fetches{0};
  std::atomic<int> after_failure{0};
  std::atomic<bool> failed{false};
  std::atomic<int> in_flight{0};
  std::stop_source cancel;
  tracker.before_fetch = [&](const WindowRequest& window) -> Result<void> {
    if (failed) {
      ++after_failure;
    }
    if (!window.probe && ++fetches == 12) {
      failed = true;
      return Fail(ErrorCode::kUnavailable, "connection acme: the tracker is down", true);
    }
    // A request in flight ends early when the pull is cancelled, as an HTTP
    // client's does.
    ++in_flight;
    for (int i = 0; i < 20 && !cancel.stop_requested(); ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(250));
    }
    --in_flight;
    if (cancel.stop_requested()) {
      return Fail(ErrorCode::kCancelled, "connection acme: the request was cancelled");
    }
    return {};
  };
  PullRequest request;
  request.page_size = 10;
  request.concurrency = 4;
  Recorder recorder;
  auto result =
      PullByUpdated(request, OptionsFor(style()), tracker.AsFetchWindow(), recorder.Sink(), cancel);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message, "connection acme: the tracker is down");
  EXPECT_TRUE(result.error().retriable);
  EXPECT_TRUE(cancel.stop_requested());
  EXPECT_EQ(in_flight.load(), 0) << "a reader outlived the pull";
  // Readers between two requests may have started one more; none pages on.
  EXPECT_LE(after_failure.load(), 3);
}

TEST_P(SlicedUpdatedPullTest, ASinkErrorStopsEveryReader) {
  MemoryTracker tracker(style());
  Fill(tracker, 3000);
  std::atomic<int> in_flight{0};
  std::stop_source cancel;
  tracker.before_fetch = [&](const WindowRequest&) -> Result<void> {
    ++in_flight;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    --in_flight;
    return {};
  };
  PullRequest request;
  request.page_size = 10;
  request.concurrency = 4;
  Recorder recorder;
  recorder.FailAtPage(5);
  auto result =
      PullByUpdated(request, OptionsFor(style()), tracker.AsFetchWindow(), recorder.Sink(), cancel);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kStorage);
  EXPECT_EQ(recorder.pages(), 4);
  EXPECT_TRUE(cancel.stop_requested());
  EXPECT_EQ(in_flight.load(), 0);
  const std::size_t asked = tracker.Requests().size();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(tracker.Requests().size(), asked) << "a reader went on after the pull";
  // Readers stopped at once: a few pages queued each, not the 300 of the range.
  EXPECT_LT(asked, 40u);
}

TEST_P(SlicedUpdatedPullTest, ABoundedRangeIsSlicedWithinItsBounds) {
  MemoryTracker tracker(style());
  for (int i = 0; i < 1200; ++i) {
    tracker.Put(Id(i), kBase + i * g() / 2);
  }
  PullRequest request;
  request.page_size = 15;
  request.concurrency = 3;
  request.updated_from_ms = kBase + 100 * g() + 7;
  request.updated_to_ms = kBase + 500 * g() + 7;
  Recorder recorder;
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(recorder.problems.empty()) << recorder.problems.front();
  for (const auto& [id, updated] : tracker.Snapshot()) {
    if (updated >= *request.updated_from_ms && updated <= *request.updated_to_ms) {
      EXPECT_EQ(recorder.Times(id), 1) << id;
    }
    if (updated < FloorToGranule(*request.updated_from_ms, g()) ||
        updated > *request.updated_to_ms + g() - 1) {
      EXPECT_EQ(recorder.Times(id), 0) << id << " lies outside the range";
    }
  }
  // Only the newest issue is probed: the range's start is the request's.
  const auto requests = tracker.Requests();
  EXPECT_EQ(std::count_if(requests.begin(), requests.end(),
                          [](const WindowRequest& w) { return w.probe; }),
            1);
  EXPECT_EQ(recorder.through, FloorToGranule(*request.updated_to_ms, g()) + g());
}

TEST_P(SlicedUpdatedPullTest, AnEmptyTrackerIsProbedAndReadOnce) {
  MemoryTracker tracker(style());
  PullRequest request;
  request.concurrency = 4;
  Recorder recorder;
  auto result = PullAll(tracker, request, OptionsFor(style()), recorder);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(recorder.handed.empty());
  EXPECT_EQ(tracker.Requests().size(), 3u);  // oldest, newest, the one page
}

INSTANTIATE_TEST_SUITE_P(Styles, SlicedUpdatedPullTest,
                         ::testing::Values(TrackerStyle{WindowPaging::kOffset, kSecond, true},
                                           TrackerStyle{WindowPaging::kOffset, kMinute, false},
                                           TrackerStyle{WindowPaging::kToken, kMinute, false},
                                           TrackerStyle{WindowPaging::kToken, kSecond, true,
                                                        /*cap=*/7}),
                         [](const ::testing::TestParamInfo<TrackerStyle>& info) {
                           return Describe(info.param) + (info.param.cap > 0 ? "Capped" : "");
                         });

TEST(PipelinedTest, PagesComeInOrderAndAFailingConsumerStopsTheProducer) {
  std::stop_source cancel;
  std::atomic<int> produced{0};
  std::vector<std::int64_t> seen;
  auto result = Pipelined(
      [&](const PageSink& emit) -> Result<void> {
        for (int i = 0; i < 1000; ++i) {
          ++produced;
          if (auto sunk = emit(IssuePage{{}, i}); !sunk) {
            EXPECT_EQ(sunk.error().code, ErrorCode::kCancelled);
            return sunk;
          }
        }
        return {};
      },
      [&](IssuePage page) -> Result<void> {
        seen.push_back(*page.through_ms);
        if (seen.size() == 5) {
          return Fail(ErrorCode::kStorage, "disk full");
        }
        return {};
      },
      cancel);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message, "disk full");
  EXPECT_EQ(seen, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(cancel.stop_requested());
  EXPECT_LE(produced.load(), 8) << "the producer ran on past a couple of pages ahead";
}

}  // namespace
}  // namespace boardsync

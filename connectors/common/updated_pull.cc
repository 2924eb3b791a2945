#include "connectors/common/updated_pull.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/log.h"
#include "core/time.h"

namespace boardsync {
namespace {

constexpr int kDefaultPageSize = 100;

// Pages decoded ahead of the one being stored, at most, per reader.
constexpr std::size_t kPagesAhead = 2;

// Slices of the range per reader in a sliced pull: more slices than
// readers, so that a range whose issues bunch up in a few slices still
// spreads over the readers.
constexpr std::size_t kSlicesPerReader = 4;

// Issues a probe for the edge of the range asks for: a few, in case the
// first cannot be decoded.
constexpr int kProbeSize = 10;

// A range of `updated`, exact (epoch ms, UTC; an absent side is open).
struct Range {
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;
};

// What every reader of one pull shares.
struct Puller {
  const UpdatedPullOptions& options;
  const FetchWindow& fetch;
  int page_size = kDefaultPageSize;
  std::size_t limit = 0;  // PullRequest::limit
  std::stop_source& cancel;

  Error Contextual(Error error) const {
    return error.Wrap("connection " + options.connection_name);
  }

  Result<WindowPage> Fetch(const WindowRequest& window) const {
    if (cancel.stop_requested()) {
      // A stopped pull sends nothing more, whatever the connector's client.
      return std::unexpected(Contextual(Error{ErrorCode::kCancelled, "the pull was stopped"}));
    }
    return fetch(window);
  }

  // The issues `range` selects, by keyset paging on `updated`, each page
  // handed to `on_page` with the newest `updated` handed on so far as its
  // through_ms. At a window's last page, `page_on` (when given) says whether
  // to ask again from there rather than end. Thread-safe with itself.
  Result<void> PullWindows(const Range& range, const PageSink& on_page,
                           const std::function<bool()>& page_on = {}) const;
  // The range split by update time into about kSlicesPerReader slices per
  // reader, each read by PullWindows() on its reader's thread, handed to
  // `on_page` on this one with how far the pull has got in all slices. The
  // first error stops every reader and is the pull's.
  Result<void> PullSlices(const PullRequest& request, const PageSink& on_page) const;
  // The `updated` of the oldest (or newest) issue the query selects, among
  // the first few that can be decoded; nullopt when there is none.
  Result<std::optional<std::int64_t>> EdgeUpdated(bool newest) const;
};

Result<void> Puller::PullWindows(const Range& range, const PageSink& on_page,
                                 const std::function<bool()>& page_on) const {
  const std::int64_t granule = options.granularity_ms;
  const bool by_token = options.paging == WindowPaging::kToken;
  auto widen_from = [&](std::int64_t from) {
    return options.widen_from ? options.widen_from(from) : from;
  };
  const std::optional<std::int64_t> to = range.to_ms;
  // A query compares `updated` with its bounds granule by granule: the range
  // runs to the end of the granule `to` lies in (cut there, so that a slice
  // ends where the next begins). Issues outside the exact range are dropped.
  const std::optional<std::int64_t> query_to =
      to ? std::optional(FloorToGranule(*to, granule) + granule - 1) : std::nullopt;
  const std::optional<std::int64_t> last_ms = to ? std::optional(*to + granule - 1) : std::nullopt;

  // Keyset paging on `updated`: each window starts at the granule of the
  // newest issue so far, so an issue that changes while we page (and moves
  // to the end of the order) never shifts an unread one out of reach, as
  // offset paging would. Issues at that granule already handed on are
  // recognised by id and update time. Where a page does not get past that
  // granule (many issues in one granule, or in the margin of a widened
  // bound), the same window goes on (WindowPaging): with offsets,
  // overlapping one issue to notice if they moved meanwhile.
  //
  // With offsets, a window that moved on skips the issues it returns again
  // in the same way: those handed on at or after its (widened) lower bound,
  // the newest as anchor. Where the connector widens every bound (YouTrack:
  // by the hour daylight saving may move it), that spares reading the
  // margin again on every page (most of each page when issues change more
  // often than a page's worth per margin). If the tracker's count differs (a
  // change, or the margin was needed), the anchor does not match and the
  // window is read from its start.
  constexpr int kMaxRestarts = 5;
  constexpr std::size_t kMaxRecent = 10'000;
  std::deque<std::pair<std::string, std::int64_t>> recent;  // handed on, in order: id, updated
  std::optional<std::int64_t> from = range.from_ms;         // exact
  std::map<std::string, std::int64_t> at_boundary;          // id -> updated_ms
  // Issues that could not be decoded, handed on once each: without a
  // readable `updated` they have no place in the order to skip them by.
  std::unordered_set<std::string> undecoded;
  std::size_t delivered = 0;
  // The newest `updated` handed on: every issue before it was handed on too.
  std::optional<std::int64_t> through;
  WindowRequest window;
  window.page_size = page_size;
  window.to_ms = query_to && options.widen_to ? options.widen_to(*query_to) : query_to;
  std::string anchor;  // with window.skip > 0: the id the page must start with
  int restarts = 0;
  while (true) {
    window.from_ms = from ? std::optional(widen_from(*from)) : std::nullopt;
    auto page = Fetch(window);
    if (!page) {
      return std::unexpected(page.error());
    }
    std::vector<Issue>& issues = page->issues;
    if (window.skip > 0 && (issues.empty() || issues.front().id != anchor)) {
      // An issue before the skipped stretch changed and left it: read the
      // stretch again from its start rather than risk a gap.
      if (++restarts > kMaxRestarts) {
        return std::unexpected(Contextual(Error{
            ErrorCode::kUnavailable, "issues keep changing while paging; the next sync retries",
            /*retriable=*/true}));
      }
      window.skip = 0;
      continue;
    }
    const bool last =
        by_token ? page->next_token.empty() : issues.size() < static_cast<std::size_t>(page_size);
    const std::string last_id = issues.empty() ? "" : issues.back().id;
    const std::size_t page_issues = issues.size();
    std::optional<std::int64_t> newest = from;
    std::vector<Issue> fresh;
    fresh.reserve(issues.size());
    for (Issue& issue : issues) {
      if (!issue.decode_error.empty() && issue.updated_ms == 0) {
        if (undecoded.insert(issue.id + '\n' + issue.key).second) {
          fresh.push_back(std::move(issue));
        }
        continue;
      }
      newest = std::max(newest.value_or(issue.updated_ms), issue.updated_ms);
      const bool in_range = (!from || issue.updated_ms >= FloorToGranule(*from, granule)) &&
                            (!to || issue.updated_ms <= *last_ms);
      auto seen = at_boundary.find(issue.id);
      const bool repeat = seen != at_boundary.end() && seen->second == issue.updated_ms;
      if (in_range && !repeat) {
        fresh.push_back(std::move(issue));
      }
    }
    if (page->read_through_ms && (!to || *page->read_through_ms <= *last_ms)) {
      // Entries the connector dropped (sorted with the issues) count for
      // where the window goes on, and for how far the pull has got: every
      // issue before them was on this page or an earlier one.
      newest = std::max(newest.value_or(*page->read_through_ms), *page->read_through_ms);
      through = std::max(through.value_or(*page->read_through_ms), *page->read_through_ms);
    }
    if (!newest) {
      // Nothing with a place in the order: nothing more to page.
      return fresh.empty() ? Result<void>() : on_page(IssuePage{std::move(fresh), through});
    }
    const std::int64_t boundary = FloorToGranule(*newest, granule);
    const bool progressed = !from || boundary > FloorToGranule(*from, granule);
    if (progressed) {
      at_boundary.clear();
      window.skip = 0;
      window.token.clear();
      restarts = 0;
    } else if (by_token) {
      // Empty at the window's end: a tail that asks again reads the granule
      // from its start (what it handed on is recognised).
      window.token = std::move(page->next_token);
    } else if (page_issues > 0) {
      window.skip += static_cast<int>(page_issues) - 1;
      anchor = last_id;
    }
    for (const Issue& issue : fresh) {
      if (issue.updated_ms >= boundary) {
        at_boundary[issue.id] = issue.updated_ms;
      }
    }
    if (limit > 0 && delivered + fresh.size() > limit) {
      fresh.resize(limit - delivered);
    }
    delivered += fresh.size();
    for (const Issue& issue : fresh) {
      if (issue.decode_error.empty() || issue.updated_ms != 0) {
        if (!by_token) {
          recent.emplace_back(issue.id, issue.updated_ms);
        }
        through = std::max(through.value_or(issue.updated_ms), issue.updated_ms);
      }
    }
    while (recent.size() > kMaxRecent) {
      recent.pop_front();  // the skip then falls short; the anchor tells
    }
    if (!fresh.empty()) {
      if (auto sunk = on_page(IssuePage{std::move(fresh), through}); !sunk) {
        return sunk;
      }
    }
    // Sorted by `updated`: past the end of the range, nothing more is in it.
    const bool past_end = to && *newest > *last_ms;
    if (past_end || (last && !(page_on && page_on())) || (limit > 0 && delivered >= limit)) {
      return {};
    }
    if (progressed) {
      from = boundary;
      const std::int64_t lower = FloorToGranule(widen_from(*from), granule);
      while (!recent.empty() && recent.front().second < lower) {
        recent.pop_front();
      }
      if (recent.size() > 1) {
        window.skip = static_cast<int>(recent.size()) - 1;
        anchor = recent.back().first;
      }
    }
  }
}

Result<std::optional<std::int64_t>> Puller::EdgeUpdated(bool newest) const {
  WindowRequest window;
  window.page_size = kProbeSize;
  window.newest_first = newest;
  window.probe = true;
  auto page = Fetch(window);
  if (!page) {
    return std::unexpected(page.error());
  }
  for (const Issue& issue : page->issues) {
    if (issue.decode_error.empty()) {
      return std::optional(issue.updated_ms);
    }
  }
  return std::optional<std::int64_t>();
}

Result<void> Puller::PullSlices(const PullRequest& request, const PageSink& on_page) const {
  const Range whole{request.updated_from_ms, request.updated_to_ms};
  auto one_reader = [&] {
    return Pipelined([&](const PageSink& emit) { return PullWindows(whole, emit); }, on_page,
                     cancel);
  };

  // The range to split: from the request's start (or the oldest issue) to
  // the newest issue, but not past now: an issue dated in the future would
  // leave all the others in the first slice.
  std::optional<std::int64_t> oldest = request.updated_from_ms;
  if (!oldest) {
    auto edge = EdgeUpdated(/*newest=*/false);
    if (!edge) {
      return std::unexpected(edge.error());
    }
    oldest = *edge;
  }
  auto newest = EdgeUpdated(/*newest=*/true);
  if (!newest) {
    return std::unexpected(newest.error());
  }
  if (!oldest || !*newest) {
    return one_reader();  // no issues, or none whose `updated` can be read
  }
  const std::int64_t granule = options.granularity_ms;
  const std::int64_t lo = FloorToGranule(*oldest, granule);
  const std::int64_t hi = FloorToGranule(
      std::min({**newest, NowMs(),
                request.updated_to_ms.value_or(std::numeric_limits<std::int64_t>::max())}),
      granule);
  // Whole granules: the slices' bounds are exact.
  const std::int64_t granules = hi >= lo ? (hi - lo) / granule + 1 : 0;
  const auto wanted = static_cast<std::int64_t>(kSlicesPerReader) * request.concurrency;
  if (granules < 2) {
    return one_reader();
  }
  const std::int64_t width =
      (granules + std::min(wanted, granules) - 1) / std::min(wanted, granules) * granule;

  // Slices partition the range exactly: each hands on only the issues it
  // covers (whatever its query's margins return besides). The first is open
  // below (unless the request is not), so that an issue with an `updated`
  // older than any readable one is not left out; the last, the tail, is
  // open above: every issue that changes during the pull moves there.
  struct Slice {
    Range range;
    std::optional<std::int64_t> end_ms;  // the first instant after it; none: open
  };
  std::vector<Slice> slices;
  for (std::int64_t start = lo; start <= hi; start += width) {
    Slice& slice = slices.emplace_back(Slice{whole, std::nullopt});
    slice.range.from_ms = start == lo ? request.updated_from_ms : std::optional(start);
    if (start + width <= hi) {
      slice.range.to_ms = start + width - granule;  // its last granule
      slice.end_ms = start + width;
    } else if (request.updated_to_ms) {
      slice.end_ms = FloorToGranule(*request.updated_to_ms, granule) + granule;
    }
  }
  const std::size_t tail = slices.size() - 1;
  const std::size_t readers =
      std::min(slices.size(), static_cast<std::size_t>(request.concurrency));
  Log(LogLevel::kDebug, "Pulling the updated range in slices.",
      {{"connection", options.connection_name},
       {"slices", std::to_string(slices.size())},
       {"readers", std::to_string(readers)},
       {"from", FormatIsoUtc(lo)},
       {"split_until", FormatIsoUtc(hi)}});

  // Readers take the slices in order and queue their pages, a few per
  // reader at most; pages are handed on here, on the calling thread.
  struct Piece {
    std::size_t slice = 0;
    IssuePage page;     // its through_ms: the slice's own progress
    bool done = false;  // the slice is read: no page of it follows
  };
  std::mutex mu;
  std::condition_variable changed;
  std::deque<Piece> queue;
  std::size_t next_slice = 0;
  std::size_t read_before_tail = 0;  // slices before the tail read to their end
  std::size_t running = readers;
  bool abandoned = false;       // on_page failed
  std::optional<Error> failed;  // a reader's error: the pull's
  auto stopping = [&] { return abandoned || failed.has_value(); };

  auto read = [&] {
    while (true) {
      std::size_t index = 0;
      {
        std::lock_guard lock(mu);
        if (next_slice == slices.size() || stopping()) {
          break;
        }
        index = next_slice++;
      }
      auto emit = [&](IssuePage page) -> Result<void> {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return queue.size() < kPagesAhead * readers || stopping(); });
        if (stopping()) {
          return Fail(ErrorCode::kCancelled, "the pull was abandoned");
        }
        queue.push_back(Piece{index, std::move(page), false});
        changed.notify_all();
        return {};
      };
      // An issue that changes moves to the tail: one that leaves a slice
      // before it is read is found there, provided the tail reads on after
      // the other slices are done. So at its first last page the tail
      // waits for them, then asks again from where it is.
      bool waited = false;
      auto read_on = [&]() -> bool {
        if (waited) {
          return false;
        }
        waited = true;
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return read_before_tail == tail || stopping(); });
        return !stopping();
      };
      Result<void> result =
          PullWindows(slices[index].range, emit,
                      index == tail ? std::function<bool()>(read_on) : std::function<bool()>());
      bool cancel_others = false;
      {
        std::lock_guard lock(mu);
        if (!result) {
          cancel_others = !stopping();
          if (cancel_others) {
            failed = result.error();
          }
        } else {
          queue.push_back(Piece{index, {}, true});
          read_before_tail += index == tail ? 0 : 1;
        }
        changed.notify_all();
      }
      if (cancel_others) {
        cancel.request_stop();  // the requests in flight
      }
      if (!result) {
        break;
      }
    }
    std::lock_guard lock(mu);
    --running;
    changed.notify_all();
  };
  std::vector<std::jthread> threads;
  for (std::size_t i = 0; i < readers; ++i) {
    threads.emplace_back(read);
  }

  // Where the pull has got: through the end of the slices read and handed
  // on in a row from the first, then through what the next one handed on.
  std::vector<bool> handed_all(slices.size(), false);
  std::vector<std::optional<std::int64_t>> progress(slices.size());
  std::size_t open = 0;  // the first slice not yet handed on to its end
  std::optional<std::int64_t> through;
  // An issue that changed during the pull is handed on by the tail, and
  // another slice may hand on the version it read before, later: that one is
  // dropped. Only versions from `hi` on are kept to tell, so only the issues
  // that changed during the pull (and the newest few) are remembered.
  std::unordered_map<std::string, std::int64_t> latest;
  auto superseded = [&](const Issue& issue) {
    if (issue.updated_ms == 0 || issue.id.empty()) {
      return false;  // no readable version
    }
    auto it = latest.find(issue.id);
    if (it != latest.end() && it->second >= issue.updated_ms) {
      return true;
    }
    if (issue.updated_ms >= hi) {
      latest.insert_or_assign(issue.id, issue.updated_ms);
    }
    return false;
  };
  Result<void> consumed;
  while (true) {
    Piece piece;
    {
      std::unique_lock lock(mu);
      changed.wait(lock, [&] { return !queue.empty() || running == 0 || stopping(); });
      if (stopping() || queue.empty()) {
        break;
      }
      piece = std::move(queue.front());
      queue.pop_front();
      changed.notify_all();
    }
    std::optional<std::int64_t>& got = progress[piece.slice];
    if (piece.done) {
      handed_all[piece.slice] = true;
    } else if (piece.page.through_ms) {
      got = std::max(got.value_or(*piece.page.through_ms), *piece.page.through_ms);
    }
    std::erase_if(piece.page.issues, superseded);
    while (open < slices.size() && handed_all[open]) {
      ++open;
    }
    std::optional<std::int64_t> mark;
    if (open > 0) {
      mark = slices[open - 1].end_ms ? slices[open - 1].end_ms : progress[open - 1];
    }
    if (open < slices.size() && progress[open]) {
      mark = std::max(mark.value_or(*progress[open]), *progress[open]);
    }
    const bool advanced = mark && (!through || *mark > *through);
    if (advanced) {
      through = mark;
    }
    if (piece.page.issues.empty() && !advanced) {
      continue;
    }
    consumed = on_page(IssuePage{std::move(piece.page.issues), through});
    if (!consumed) {
      break;
    }
  }
  if (!consumed) {
    {
      std::lock_guard lock(mu);
      abandoned = true;
      changed.notify_all();
    }
    cancel.request_stop();
  }
  threads.clear();  // joins
  if (!consumed) {
    return consumed;
  }
  if (failed) {
    return std::unexpected(*failed);
  }
  return {};
}

}  // namespace

Result<void> Pipelined(const std::function<Result<void>(const PageSink& emit)>& produce,
                       const PageSink& consume, std::stop_source& cancel) {
  std::mutex mu;
  std::condition_variable changed;
  std::deque<IssuePage> queue;
  bool produced_all = false;
  bool abandoned = false;
  Result<void> produced;
  std::thread producer([&] {
    Result<void> result = produce([&](IssuePage page) -> Result<void> {
      std::unique_lock lock(mu);
      changed.wait(lock, [&] { return queue.size() < kPagesAhead || abandoned; });
      if (abandoned) {
        return Fail(ErrorCode::kCancelled, "the pull was abandoned");
      }
      queue.push_back(std::move(page));
      changed.notify_all();
      return {};
    });
    std::lock_guard lock(mu);
    produced = std::move(result);
    produced_all = true;
    changed.notify_all();
  });
  Result<void> consumed;
  while (consumed) {
    IssuePage page;
    {
      std::unique_lock lock(mu);
      changed.wait(lock, [&] { return !queue.empty() || produced_all; });
      if (queue.empty()) {
        break;
      }
      page = std::move(queue.front());
      queue.pop_front();
      changed.notify_all();
    }
    consumed = consume(std::move(page));
  }
  if (!consumed) {
    {
      std::lock_guard lock(mu);
      abandoned = true;
      changed.notify_all();
    }
    cancel.request_stop();
  }
  producer.join();
  return consumed ? produced : consumed;
}

Result<void> PullByUpdated(const PullRequest& request, const UpdatedPullOptions& options,
                           const FetchWindow& fetch, const PageSink& on_page,
                           std::stop_source& cancel) {
  int page_size = request.page_size > 0 ? request.page_size : kDefaultPageSize;
  if (options.max_page_size > 0) {
    page_size = std::min(page_size, options.max_page_size);
  }
  const Puller puller{options, fetch, page_size, request.limit, cancel};
  if (request.concurrency > 1 && request.limit == 0) {
    return puller.PullSlices(request, on_page);
  }
  return Pipelined(
      [&](const PageSink& emit) {
        return puller.PullWindows(Range{request.updated_from_ms, request.updated_to_ms}, emit);
      },
      on_page, cancel);
}

}  // namespace boardsync

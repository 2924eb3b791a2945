#include "connectors/youtrack/youtrack_source.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <thread>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "connectors/youtrack/decode.h"
#include "connectors/youtrack/fields.h"
#include "connectors/youtrack/query.h"
#include "connectors/youtrack/response.h"
#include "core/text.h"
#include "core/log.h"
#include "core/redact.h"
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

// Runs `produce` on a thread of its own and hands the pages it emits to
// `consume` on this one, so that requesting and decoding the next pages
// overlaps with storing this one. The producer waits while kPagesAhead pages
// are queued. When `consume` fails, `cancel` stops the request in flight and
// the producer stops at its next page; the consumer's error is returned.
Result<void> Pipelined(const std::function<Result<void>(const PageSink&)>& produce,
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

// A session is the zone offset: "utc_offset_minutes=120".
constexpr std::string_view kSessionPrefix = "utc_offset_minutes=";

// The zone offset a session holds; nullopt for one this connector did not
// write (the pull then checks the token again).
std::optional<int> ReadSession(const TrackerSession& session) {
  std::string_view data = session.data;
  if (!data.starts_with(kSessionPrefix)) {
    return std::nullopt;
  }
  data.remove_prefix(kSessionPrefix.size());
  int minutes = 0;
  const auto [end, ec] = std::from_chars(data.data(), data.data() + data.size(), minutes);
  if (ec != std::errc() || end != data.data() + data.size() || minutes < -24 * 60 ||
      minutes > 24 * 60) {
    return std::nullopt;
  }
  return minutes;
}

std::int64_t FloorToSecond(std::int64_t ms) { return ms - (((ms % 1000) + 1000) % 1000); }

// `query`, as UpdatedRangeQuery() gives it, newest first.
std::string NewestFirst(std::string query) {
  constexpr std::string_view kOldestFirst = "sort by: updated asc";
  if (query.ends_with(kOldestFirst)) {
    query.resize(query.size() - kOldestFirst.size());
  }
  return query + "sort by: updated desc";
}

}  // namespace

YouTrackSource::YouTrackSource(YouTrackOptions options, HttpClient& http)
    : options_(std::move(options)), http_(http) {}

Error YouTrackSource::Contextual(const Error& error) const {
  const std::string prefix = "connection " + options_.connection_name;
  Error out = error.message.starts_with(prefix + ": ") ? error : error.Wrap(prefix);
  // Belt and braces: nothing this connector builds holds the token, but a
  // server or transport message might echo it.
  out.message = Redact(out.message);
  return out;
}

Result<HttpResponse> YouTrackSource::Get(const std::string& url) {
  if (stop_.stop_requested()) {
    // A stopped pull sends nothing more, whichever client carries it.
    return std::unexpected(Contextual(Error{ErrorCode::kCancelled, "the pull was stopped"}));
  }
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers = {{"Accept", "application/json"}};
  request.auth = HttpAuth::Bearer(options_.token);
  request.timeout = options_.timeout;
  request.stop = stop_;
  auto response = http_.Send(request);
  if (!response) {
    return std::unexpected(Contextual(response.error()));
  }
  return response;
}

Result<Value> YouTrackSource::GetJson(const std::string& url) {
  auto response = Get(url);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto json = ReadJsonResponse(*response, options_.connection_name);
  if (!json) {
    return std::unexpected(Contextual(json.error()));
  }
  return json;
}

Result<TrackerIdentity> YouTrackSource::FetchMe() {
  auto me = GetJson(options_.base.api +
                    "/users/me?fields=id,login,fullName,guest,banned,"
                    "profiles(general(timezone(id,presentation,offset)))");
  if (!me) {
    return std::unexpected(me.error());
  }
  auto identity = DecodeMe(*me);
  if (!identity) {
    return std::unexpected(Contextual(identity.error()));
  }
  token_checked_ = true;
  if (identity->utc_offset_minutes) {
    zone_ = identity->utc_offset_minutes;
  }
  return identity;
}

Result<TrackerIdentity> YouTrackSource::WhoAmI() {
  stop_ = std::stop_token();  // not a stopped pull's
  auto identity = FetchMe();
  if (!identity) {
    return identity;
  }

  // Counting is informative only; a token that may read issues but not list
  // projects is still a working token.
  auto projects = Get(options_.base.api + "/admin/projects?fields=id&$top=-1");
  if (!projects) {
    return std::unexpected(projects.error());
  }
  if (projects->status == 403) {
    identity->projects = -1;
    return identity;
  }
  auto list = ReadJsonResponse(*projects, options_.connection_name);
  if (!list) {
    return std::unexpected(Contextual(list.error()));
  }
  if (!list->IsList()) {
    return std::unexpected(
        Contextual(Error{ErrorCode::kBadResponse, "the project list is not a JSON array"}));
  }
  identity->projects = static_cast<int>(list->AsList().size());
  return identity;
}

Result<std::vector<Issue>> YouTrackSource::FetchPage(const IssueProjection& projection,
                                                     const std::string& query, int top,
                                                     int skip) {
  auto response = Get(options_.base.service + IssuePageTarget(projection, query, top, skip));
  if (!response) {
    return std::unexpected(response.error());
  }
  return ReadPage(*response);
}

Result<std::vector<Issue>> YouTrackSource::ReadPage(const HttpResponse& response) const {
  auto json = ReadJsonDocument(response, options_.connection_name);
  if (!json) {
    return std::unexpected(Contextual(json.error()));
  }
  auto page = DecodeIssuePage(json->Root(), options_.base);
  if (!page) {
    return std::unexpected(Contextual(page.error()));
  }
  return page;
}

Result<int> YouTrackSource::ZoneOffset(const PullRequest& request) {
  if (zone_) {
    return *zone_;
  }
  // The profile did not say. Measure it: YouTrack reads "updated: W .. *" as
  // the instant W - zone, so for the newest issue (updated at U) the largest
  // shift o (in quarter hours, as real zones go) for which "issue id: K
  // updated: (U + o) .. *" still finds it is the zone's offset.
  const IssueProjection ids{"id,idReadable,updated", {}};
  // A few, in case the newest cannot be decoded (an `updated` past 9999).
  auto newest = FetchPage(
      ids, std::string(TrimSpace(WithoutSortClause(request.query) + " sort by: updated desc")), 10);
  if (!newest) {
    return std::unexpected(newest.error());
  }
  auto decoded = std::find_if(newest->begin(), newest->end(),
                              [](const Issue& issue) { return issue.decode_error.empty(); });
  int offset = 0;
  if (decoded != newest->end()) {
    const Issue& probe = *decoded;
    auto found_with = [&](int minutes) -> Result<bool> {
      auto page = FetchPage(ids,
                            IssueKeysQuery({probe.key}) + " updated: " +
                                FormatQueryTime(FloorToSecond(probe.updated_ms), minutes) + " .. *",
                            1);
      if (!page) {
        return std::unexpected(page.error());
      }
      return !page->empty();
    };
    int low = -12 * 4;  // in quarter hours: -12h .. +14h
    int high = 14 * 4;
    while (low < high) {
      const int mid = low + (high - low + 1) / 2;
      auto found = found_with(mid * 15);
      if (!found) {
        return std::unexpected(found.error());
      }
      if (*found) {
        low = mid;
      } else {
        high = mid - 1;
      }
    }
    offset = low * 15;
    Log(LogLevel::kInfo, "Measured the YouTrack user's time zone for query dates.",
        {{"connection", options_.connection_name}, {"utc_offset_minutes", std::to_string(offset)}});
    zone_ = offset;
  }
  // Without issues there is nothing to page, and nothing to measure by yet:
  // the next pull tries again.
  return offset;
}

Result<void> YouTrackSource::Pull(const PullRequest& request, const PageSink& on_page) {
  // Requests stop when the caller stops, or when on_page fails.
  std::stop_source cancel;
  std::stop_callback forward(request.stop, [&cancel] { cancel.request_stop(); });
  stop_ = cancel.get_token();
  // A pull starts by checking the token: a token YouTrack does not accept
  // may be served as the guest, who sees no issues. The answer also gives
  // the user's time zone, in which YouTrack reads query dates. A session
  // from an earlier pull vouches for both.
  const std::optional<int> saved_zone =
      request.session ? ReadSession(*request.session) : std::nullopt;
  if (saved_zone) {
    zone_ = saved_zone;
  } else if (!token_checked_) {
    if (auto me = FetchMe(); !me) {
      return std::unexpected(me.error());
    }
  }
  const IssueProjection projection =
      request.ids_only ? IssueProjection{"id,idReadable,updated", {}}
                       : BuildIssueProjection(request.fields);
  const int page_size = request.page_size > 0 ? request.page_size : kDefaultPageSize;
  if (!request.keys.empty()) {
    return Pipelined(
        [&](const PageSink& emit) { return PullKeys(request, projection, page_size, emit); },
        on_page, cancel);
  }
  // Every page after the first carries an `updated:` bound, even in a full
  // pull, so the zone is needed before paging starts.
  auto offset = ZoneOffset(request);
  if (!offset) {
    return std::unexpected(offset.error());
  }
  if (request.concurrency > 1 && request.limit == 0) {
    return PullSlices(request, projection, page_size, *offset, on_page, cancel);
  }
  return Pipelined(
      [&](const PageSink& emit) {
        return PullUpdated(request, projection, page_size, *offset, emit);
      },
      on_page, cancel);
}

Result<void> YouTrackSource::PullUpdated(const PullRequest& request,
                                         const IssueProjection& projection, int page_size,
                                         int offset, const PageSink& on_page,
                                         const std::function<bool()>& page_on) {
  // A date is read with the zone's offset *at that date*, which differs from
  // today's by up to an hour across daylight saving: bounds older than half a
  // day are widened by that hour, and so are all bounds when the offset came
  // from an earlier session (a change of season may have passed since).
  // Issues outside the exact range are dropped.
  constexpr std::int64_t kDstMargin = 3'600'000LL;
  const std::int64_t now = NowMs();
  const bool zone_may_be_stale = request.session.has_value();
  auto query_from = [&](std::int64_t from) {
    return zone_may_be_stale || now - from > 12 * kDstMargin ? from - kDstMargin : from;
  };
  const std::optional<std::int64_t> to = request.updated_to_ms;
  const std::optional<std::int64_t> query_to =
      to ? std::optional(*to + kDstMargin) : std::nullopt;

  // Keyset paging on `updated`: each request starts at the second of the
  // newest issue so far, so an issue that changes while we page (and moves
  // to the end of the order) never shifts an unread one out of reach, as
  // $skip paging would. Issues at that second already handed on are
  // recognised by id and update time. Where a page does not get past that
  // second (many issues in one second, or in the hour of the DST margin),
  // the same query continues with $skip, overlapping one issue to notice if
  // the offsets moved meanwhile.
  //
  // A query that moved on skips the issues it returns again in the same way:
  // those handed on at or after its lower bound, the newest as anchor. Where
  // the DST margin widens every bound by an hour, that spares reading the
  // hour again on every page (most of each page when issues change more
  // often than a page's worth an hour). If the server's count differs (a
  // change, or the margin was needed), the anchor does not match and the
  // query is read from its start.
  constexpr int kMaxRestarts = 5;
  constexpr std::size_t kMaxRecent = 10'000;
  std::deque<std::pair<std::string, std::int64_t>> recent;  // handed on, in order: id, updated
  std::optional<std::int64_t> from = request.updated_from_ms;  // exact, UTC
  std::map<std::string, std::int64_t> at_boundary;            // id -> updated_ms
  // Issues that could not be decoded, handed on once each: without a
  // readable `updated` they have no place in the order to skip them by.
  std::unordered_set<std::string> undecoded;
  std::size_t delivered = 0;
  // The newest `updated` handed on: every issue before it was handed on too.
  std::optional<std::int64_t> through;
  int skip = 0;
  std::string anchor;  // with skip > 0: the id the page must start with
  int restarts = 0;
  while (true) {
    const std::optional<std::int64_t> query_lower =
        from ? std::optional(query_from(*from)) : std::nullopt;
    auto page = FetchPage(projection, UpdatedRangeQuery(request.query, query_lower, query_to, offset),
                          page_size, skip);
    if (!page) {
      return std::unexpected(page.error());
    }
    if (skip > 0 && (page->empty() || page->front().id != anchor)) {
      // An issue before the skipped stretch changed and left it: read the
      // stretch again from its start rather than risk a gap.
      if (++restarts > kMaxRestarts) {
        return std::unexpected(Contextual(Error{
            ErrorCode::kUnavailable, "issues keep changing while paging; the next sync retries",
            /*retriable=*/true}));
      }
      skip = 0;
      continue;
    }
    const bool last = page->size() < static_cast<std::size_t>(page_size);
    const std::string last_id = page->empty() ? "" : page->back().id;
    std::optional<std::int64_t> newest = from;
    std::vector<Issue> fresh;
    fresh.reserve(page->size());
    for (Issue& issue : *page) {
      if (!issue.decode_error.empty() && issue.updated_ms == 0) {
        if (undecoded.insert(issue.id + '\n' + issue.key).second) {
          fresh.push_back(std::move(issue));
        }
        continue;
      }
      newest = std::max(newest.value_or(issue.updated_ms), issue.updated_ms);
      const bool in_range = (!from || issue.updated_ms >= FloorToSecond(*from)) &&
                            (!to || issue.updated_ms <= *to + 999);
      auto seen = at_boundary.find(issue.id);
      const bool repeat = seen != at_boundary.end() && seen->second == issue.updated_ms;
      if (in_range && !repeat) {
        fresh.push_back(std::move(issue));
      }
    }
    if (!newest) {
      // Nothing with a place in the order: nothing more to page.
      return fresh.empty() ? Result<void>() : on_page(IssuePage{std::move(fresh), through});
    }
    const std::int64_t boundary = FloorToSecond(*newest);
    const bool progressed = !from || boundary > FloorToSecond(*from);
    if (progressed) {
      at_boundary.clear();
      skip = 0;
      restarts = 0;
    } else if (!page->empty()) {
      skip += static_cast<int>(page->size()) - 1;
      anchor = last_id;
    }
    for (const Issue& issue : fresh) {
      if (issue.updated_ms >= boundary) {
        at_boundary[issue.id] = issue.updated_ms;
      }
    }
    if (request.limit > 0 && delivered + fresh.size() > request.limit) {
      fresh.resize(request.limit - delivered);
    }
    delivered += fresh.size();
    for (const Issue& issue : fresh) {
      if (issue.decode_error.empty() || issue.updated_ms != 0) {
        recent.emplace_back(issue.id, issue.updated_ms);
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
    const bool past_end = to && *newest > *to + 999;
    if (past_end || (last && !(page_on && page_on())) ||
        (request.limit > 0 && delivered >= request.limit)) {
      return {};
    }
    if (progressed) {
      from = boundary;
      const std::int64_t lower = FloorToSecond(query_from(*from));
      while (!recent.empty() && recent.front().second < lower) {
        recent.pop_front();
      }
      if (recent.size() > 1) {
        skip = static_cast<int>(recent.size()) - 1;
        anchor = recent.back().first;
      }
    }
  }
}

Result<std::optional<std::int64_t>> YouTrackSource::EdgeUpdated(const PullRequest& request,
                                                                int offset, bool newest) {
  const IssueProjection ids{"id,idReadable,updated", {}};
  std::string query = UpdatedRangeQuery(request.query, std::nullopt, std::nullopt, offset);
  // A few, in case the first cannot be decoded.
  auto page = FetchPage(ids, newest ? NewestFirst(std::move(query)) : query, 10);
  if (!page) {
    return std::unexpected(page.error());
  }
  for (const Issue& issue : *page) {
    if (issue.decode_error.empty()) {
      return std::optional(issue.updated_ms);
    }
  }
  return std::optional<std::int64_t>();
}

Result<void> YouTrackSource::PullSlices(const PullRequest& request,
                                        const IssueProjection& projection, int page_size,
                                        int offset, const PageSink& on_page,
                                        std::stop_source& cancel) {
  auto one_reader = [&] {
    return Pipelined(
        [&](const PageSink& emit) {
          return PullUpdated(request, projection, page_size, offset, emit);
        },
        on_page, cancel);
  };

  // The range to split: from the request's start (or the oldest issue) to
  // the newest issue, but not past now: an issue dated in the future would
  // leave all the others in the first slice.
  std::optional<std::int64_t> oldest = request.updated_from_ms;
  if (!oldest) {
    auto edge = EdgeUpdated(request, offset, /*newest=*/false);
    if (!edge) {
      return std::unexpected(edge.error());
    }
    oldest = *edge;
  }
  auto newest = EdgeUpdated(request, offset, /*newest=*/true);
  if (!newest) {
    return std::unexpected(newest.error());
  }
  if (!oldest || !*newest) {
    return one_reader();  // no issues, or none whose `updated` can be read
  }
  const std::int64_t lo = FloorToSecond(*oldest);
  const std::int64_t hi = FloorToSecond(
      std::min({**newest, NowMs(),
                request.updated_to_ms.value_or(std::numeric_limits<std::int64_t>::max())}));
  // Whole seconds, YouTrack's granularity: the slices' bounds are exact.
  const std::int64_t seconds = hi >= lo ? (hi - lo) / 1000 + 1 : 0;
  const auto wanted = static_cast<std::int64_t>(kSlicesPerReader) * request.concurrency;
  if (seconds < 2) {
    return one_reader();
  }
  const std::int64_t width =
      (seconds + std::min(wanted, seconds) - 1) / std::min(wanted, seconds) * 1000;

  // Slices partition the range exactly: each hands on only the issues it
  // covers (whatever its query's margins return besides). The first is open
  // below (unless the request is not), so that an issue with an `updated`
  // older than any readable one is not left out; the last, the tail, is
  // open above: every issue that changes during the pull moves there.
  struct Slice {
    PullRequest request;                 // the pull's, with the slice's bounds
    std::optional<std::int64_t> end_ms;  // the first instant after it; none: open
  };
  std::vector<Slice> slices;
  for (std::int64_t start = lo; start <= hi; start += width) {
    Slice& slice = slices.emplace_back(Slice{request, std::nullopt});
    slice.request.updated_from_ms = start == lo ? request.updated_from_ms : std::optional(start);
    if (start + width <= hi) {
      slice.request.updated_to_ms = start + width - 1000;  // its last second
      slice.end_ms = start + width;
    } else if (request.updated_to_ms) {
      slice.end_ms = FloorToSecond(*request.updated_to_ms) + 1000;
    }
  }
  const std::size_t tail = slices.size() - 1;
  const std::size_t readers =
      std::min(slices.size(), static_cast<std::size_t>(request.concurrency));
  Log(LogLevel::kDebug, "Pulling the updated range in slices.",
      {{"connection", options_.connection_name},
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
      // the other slices are done. So at its first short page the tail
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
          PullUpdated(slices[index].request, projection, page_size, offset, emit,
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

Result<void> YouTrackSource::PullKeys(const PullRequest& request, const IssueProjection& projection,
                                      int page_size, const PageSink& on_page) {
  // Keys go into the query; keep each query well under the 2048 characters
  // some servers accept.
  constexpr std::size_t kKeysPerQuery = 50;
  for (std::size_t i = 0; i < request.keys.size(); i += kKeysPerQuery) {
    std::vector<std::string> batch(
        request.keys.begin() + static_cast<std::ptrdiff_t>(i),
        request.keys.begin() + static_cast<std::ptrdiff_t>(std::min(request.keys.size(), i + kKeysPerQuery)));
    auto page = FetchKeys(projection, batch, page_size);
    if (!page) {
      return std::unexpected(page.error());
    }
    if (!page->empty()) {
      if (auto sunk = on_page(IssuePage{std::move(*page), std::nullopt}); !sunk) {
        return sunk;
      }
    }
  }
  return {};
}

Result<std::vector<Issue>> YouTrackSource::FetchKeys(const IssueProjection& projection,
                                                     const std::vector<std::string>& keys,
                                                     int page_size) {
  const int top = std::max<int>(page_size, static_cast<int>(keys.size()));
  auto response =
      Get(options_.base.service + IssuePageTarget(projection, IssueKeysQuery(keys), top, 0));
  if (!response) {
    return std::unexpected(response.error());
  }
  if (response->status == 400) {
    // Whether YouTrack refuses a query naming an issue that no longer exists
    // (deleted, or moved to another key), or just leaves it out, is not
    // documented: read such a batch key by key, and a key refused alone as
    // not found.
    if (keys.size() == 1) {
      Log(LogLevel::kInfo, "YouTrack refused the query for one issue key; taken as not found.",
          {{"connection", options_.connection_name}, {"issue", keys.front()}});
      return std::vector<Issue>();
    }
    std::vector<Issue> found;
    for (const std::string& key : keys) {
      auto one = FetchKeys(projection, {key}, 1);
      if (!one) {
        return one;
      }
      std::move(one->begin(), one->end(), std::back_inserter(found));
    }
    return found;
  }
  return ReadPage(*response);
}

std::optional<TrackerSession> YouTrackSource::Session() const {
  if (!zone_) {
    return std::nullopt;
  }
  return TrackerSession{std::string(kSessionPrefix) + std::to_string(*zone_)};
}

std::unique_ptr<TrackerSource> MakeYouTrackSource(YouTrackOptions options, HttpClient& http) {
  return std::make_unique<YouTrackSource>(std::move(options), http);
}

}  // namespace boardsync

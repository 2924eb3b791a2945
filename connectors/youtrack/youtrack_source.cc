#include "connectors/youtrack/youtrack_source.h"

#include <algorithm>
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

// Pages decoded ahead of the one being stored, at most.
constexpr std::size_t kPagesAhead = 2;

// Runs `produce` on a thread of its own and hands the pages it emits to
// `consume` on this one, so that requesting and decoding the next pages
// overlaps with storing this one. The producer waits while kPagesAhead pages
// are queued. When `consume` fails, `cancel` stops the request in flight and
// the producer stops at its next page; the consumer's error is returned.
Result<void> Pipelined(const std::function<Result<void>(const PageSink&)>& produce,
                       const PageSink& consume, std::stop_source& cancel) {
  std::mutex mu;
  std::condition_variable changed;
  std::deque<std::vector<Issue>> queue;
  bool produced_all = false;
  bool abandoned = false;
  Result<void> produced;
  std::thread producer([&] {
    Result<void> result = produce([&](std::vector<Issue> page) -> Result<void> {
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
    std::vector<Issue> page;
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
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers = {{"Accept", "application/json"}};
  request.bearer = &options_.token;
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

namespace {

std::int64_t FloorToSecond(std::int64_t ms) { return ms - (((ms % 1000) + 1000) % 1000); }

}  // namespace

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
  if (request.session) {
    zone_ = request.session->utc_offset_minutes;
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
  return Pipelined(
      [&](const PageSink& emit) {
        return PullUpdated(request, projection, page_size, *offset, emit);
      },
      on_page, cancel);
}

Result<void> YouTrackSource::PullUpdated(const PullRequest& request,
                                         const IssueProjection& projection, int page_size,
                                         int offset, const PageSink& on_page) {
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
      return fresh.empty() ? Result<void>() : on_page(std::move(fresh));
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
      }
    }
    while (recent.size() > kMaxRecent) {
      recent.pop_front();  // the skip then falls short; the anchor tells
    }
    if (!fresh.empty()) {
      if (auto sunk = on_page(std::move(fresh)); !sunk) {
        return sunk;
      }
    }
    if (last || (request.limit > 0 && delivered >= request.limit)) {
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

Result<void> YouTrackSource::PullKeys(const PullRequest& request,
                                      const IssueProjection& projection, int page_size,
                                      const PageSink& on_page) {
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
      if (auto sunk = on_page(std::move(*page)); !sunk) {
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
  return TrackerSession{*zone_};
}

std::unique_ptr<TrackerSource> MakeYouTrackSource(YouTrackOptions options, HttpClient& http) {
  return std::make_unique<YouTrackSource>(std::move(options), http);
}

}  // namespace boardsync

#include "connectors/youtrack/youtrack_source.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <string_view>
#include <utility>

#include "connectors/common/updated_pull.h"
#include "connectors/youtrack/decode.h"
#include "connectors/youtrack/fields.h"
#include "connectors/youtrack/query.h"
#include "connectors/youtrack/response.h"
#include "core/text.h"
#include "core/log.h"
#include "core/time.h"

namespace boardsync {
namespace {

constexpr int kDefaultPageSize = 100;

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
  return YouTrackConnectionError(error, options_.connection_name);
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
      auto page =
          FetchPage(ids,
                    IssueKeysQuery({probe.key}) + " updated: " +
                        FormatQueryTime(FloorToGranule(probe.updated_ms, 1000), minutes) + " .. *",
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
  // A date is read with the zone's offset *at that date*, which differs from
  // today's by up to an hour across daylight saving: bounds older than half a
  // day are widened by that hour, and so are all bounds when the offset came
  // from an earlier session (a change of season may have passed since). The
  // upper bound always is. Issues outside the exact range are dropped.
  constexpr std::int64_t kDstMargin = 3'600'000LL;
  const std::int64_t now = NowMs();
  const bool zone_may_be_stale = request.session.has_value();
  UpdatedPullOptions pull;
  pull.connection_name = options_.connection_name;
  pull.granularity_ms = UpdatedGranularityMs();
  pull.paging = WindowPaging::kOffset;  // $skip
  pull.widen_from = [now, zone_may_be_stale](std::int64_t from) {
    return zone_may_be_stale || now - from > 12 * kDstMargin ? from - kDstMargin : from;
  };
  pull.widen_to = [](std::int64_t to) { return to + kDstMargin; };
  return PullByUpdated(
      request, pull,
      [&](const WindowRequest& window) {
        return FetchWindowPage(request, projection, *offset, window);
      },
      on_page, cancel);
}

Result<WindowPage> YouTrackSource::FetchWindowPage(const PullRequest& request,
                                                   const IssueProjection& projection, int offset,
                                                   const WindowRequest& window) {
  static const IssueProjection kIdentity{"id,idReadable,updated", {}};
  // FormatQueryTime() truncates to the second, and YouTrack compares whole
  // seconds: the bounds cover [from_ms, to_ms].
  std::string query = UpdatedRangeQuery(request.query, window.from_ms, window.to_ms, offset);
  auto page = FetchPage(window.probe ? kIdentity : projection,
                        window.newest_first ? NewestFirst(std::move(query)) : query,
                        window.page_size, window.skip);
  if (!page) {
    return std::unexpected(page.error());
  }
  return WindowPage{std::move(*page), {}};
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

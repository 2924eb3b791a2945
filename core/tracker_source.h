// TrackerSource: the interface every issue tracker connector implements.
// Connectors are stateless about progress: the caller says what to pull and
// keeps where it got to. Implementations need not be thread-safe; use one
// instance per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/issue.h"

namespace boardsync {

struct TrackerIdentity {
  std::string login;
  std::string name;
  int projects = -1;  // projects the token can see; -1 when unknown
  // The token user's time zone, minutes east of UTC, when the tracker says.
  std::optional<int> utc_offset_minutes;
  // The same zone by name (an IANA name such as "Europe/Berlin"), when the
  // tracker gives one.
  std::string time_zone;
  // What the token reaches, in words, where a tracker counts something other
  // than projects ("the 2 configured repositories"); it then stands for
  // `projects` in what test-connection prints.
  std::string reach;
};

// What a pull learnt about its token that a later pull may reuse instead of
// asking the tracker again. The caller keeps it (between processes: in the
// state database) and decides how long to trust it.
// What it holds is the connector's business (YouTrack: the zone offset it
// reads query dates in; Jira: the user's IANA zone): the caller stores the
// text as it is and hands it back. A connector that cannot read a session
// (an older or foreign one) ignores it and checks the token again.
struct TrackerSession {
  std::string data;

  friend bool operator==(const TrackerSession&, const TrackerSession&) = default;
};

struct PullRequest {
  std::string query;                // tracker query; empty: everything visible
  std::vector<std::string> fields;  // source field names the mapping reads
  int page_size = 100;
  std::size_t limit = 0;            // stop after this many issues; 0: no limit
  // Only issues last updated in [updated_from_ms, updated_to_ms] (epoch ms,
  // UTC; an absent side is open). The connector widens the range by whatever
  // its tracker's query language cannot express exactly, never narrows it.
  std::optional<std::int64_t> updated_from_ms;
  std::optional<std::int64_t> updated_to_ms;
  // Only the identity of each issue (id, key, updated_ms), for reconciliation.
  bool ids_only = false;
  // How many requests a pull by update time may have in flight at once: a
  // connector may split the range into slices read side by side. 1 reads
  // one page after another. Worth it for long pulls (a full pass, a sweep);
  // an incremental pull keeps 1, where it costs one request when nothing
  // changed. Pulls by key and with a limit ignore it.
  int concurrency = 1;
  // Only these issues, by human key (the query is then not used).
  std::vector<std::string> keys;
  // Cancels the pull, including a request in flight (ErrorCode::kCancelled).
  std::stop_token stop;
  // A session an earlier pull reported (TrackerSource::Session()). With it the
  // connector skips checking the token first, so a pull with nothing new
  // costs one request. Only for pulls whose empty answer is not acted upon:
  // a token served as a guest may see no issues, and reconciliation would
  // take that for "all deleted".
  std::optional<TrackerSession> session;
};

// A page of a pull, and how far the pull has got with it.
struct IssuePage {
  std::vector<Issue> issues;
  // Every issue the request selects that was last updated before
  // through_ms (epoch ms) has been handed on, in this page or an earlier
  // one; so a cursor may move here once this page is stored, and a pull
  // that starts again from it misses nothing. Issues updated at through_ms
  // itself may still come, and so may issues whose `updated` cannot be read.
  // nullopt: the page says nothing about progress (pulls by key). A page
  // may have no issues when only through_ms moved.
  std::optional<std::int64_t> through_ms;
};

// Receives each page, on the thread that called Pull(). An error stops the
// pull and is returned by Pull(). Issues the connector could not decode are
// in the page with Issue::decode_error set; they never fail the pull. An
// issue may come more than once (a later version, or the same one again),
// never an older version after a newer one.
using PageSink = std::function<Result<void>(IssuePage page)>;
// The same, for callers that need only the issues.
using IssueSink = std::function<Result<void>(std::vector<Issue> issues)>;

class TrackerSource {
 public:
  virtual ~TrackerSource() = default;

  // Who the token belongs to. An error with ErrorCode::kAuth when the token
  // is not accepted (including being served as a guest).
  virtual Result<TrackerIdentity> WhoAmI() = 0;

  // Pages through the issues `request` selects, oldest change first (with
  // request.concurrency > 1, per slice of the range). An issue changed while
  // paging is never skipped; it may come twice.
  virtual Result<void> Pull(const PullRequest& request, const PageSink& on_page) = 0;
  // Pull() for a caller that keeps no cursor.
  Result<void> Pull(const PullRequest& request, const IssueSink& on_issues) {
    return Pull(request, PageSink([&on_issues](IssuePage page) {
                  return on_issues(std::move(page.issues));
                }));
  }

  // What the pulls so far learnt that a later pull may reuse; nullopt when
  // there is nothing worth keeping (or the tracker has no such thing).
  virtual std::optional<TrackerSession> Session() const { return std::nullopt; }

  // The coarsest step, in milliseconds, of the `updated` times the
  // tracker's queries compare (YouTrack: a second). A cursor may run this
  // far past the time its sync started, never further (DESIGN §5).
  virtual std::int64_t UpdatedGranularityMs() const { return 1000; }

  // How far before the cursor an incremental pull starts again: covers
  // clock skew between the tracker's writers, transactions that commit after
  // a later `updated` was already visible and, where a tracker's search is
  // eventually consistent, how long it lags. Issues read again cost no board
  // write.
  virtual std::int64_t CursorOverlapMs() const { return 5 * 60'000; }

  // The names among `fields` (a mapping's source fields) that name no field
  // of the tracker: test-connection warns about them. An error when the
  // names cannot be resolved at all (Jira: a name two fields share). None
  // for a tracker that cannot tell.
  virtual Result<std::vector<std::string>> UnknownFields(const std::vector<std::string>& fields) {
    (void)fields;
    return std::vector<std::string>();
  }
};

}  // namespace boardsync

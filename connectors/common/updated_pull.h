// The pull every tracker polled by `updated` shares: keyset paging on an
// `updated` the tracker's queries compare only to a coarse granule, slices of
// the range read side by side, and the watermark each page carries
// (IssuePage::through_ms). A connector supplies one thing: how to ask its
// tracker for one page of one window of the range (FetchWindow).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/issue.h"
#include "core/tracker_source.h"

namespace boardsync {

// One page of the issues the pull's query selects within a window of
// `updated`, as the engine asks a connector for it.
struct WindowRequest {
  // The query must select every issue of the pull's query (PullRequest::query)
  // whose `updated` lies in [from_ms, to_ms]: epoch ms, UTC, both inclusive;
  // an absent side is open. Neither is on a granule in general: a connector
  // whose query language writes coarser literals rounds from_ms down and
  // to_ms up (never the other way: that would narrow the range). Issues the
  // query selects besides are fine: the engine drops what lies outside the
  // range it wants. UpdatedPullOptions::widen_from/widen_to are applied
  // already.
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;
  int page_size = 0;  // at most this many issues
  // WindowPaging::kOffset: how many issues of the window's order to pass
  // over first. The engine counts them assuming the window starts at
  // from_ms floored to the granule; where the connector's query starts
  // earlier, the anchor check notices and the window is read from its start.
  int skip = 0;
  // WindowPaging::kToken: WindowPage::next_token of the window's previous
  // page; empty for its first page.
  std::string token;
  // Newest change first instead of oldest first: the probes for the range
  // of a sliced pull (with `probe`, a page_size of a few, no bounds).
  bool newest_first = false;
  // Only id, key and updated_ms of each issue are read: the connector may
  // ask for nothing more, whatever the pull's fields.
  bool probe = false;
};

struct WindowPage {
  // Sorted by `updated`, oldest first (newest first for newest_first), in
  // an order that stays the same from one request to the next among issues
  // with the same `updated` (a tie-break on id, or the tracker's stable
  // order): offset paging within a granule relies on it. Each issue as the
  // connector decodes it: one it could not decode has decode_error set (and
  // updated_ms 0 when its `updated` could not be read either).
  std::vector<Issue> issues;
  // WindowPaging::kToken: where the window goes on; empty when this page is
  // its last. Unused with kOffset.
  std::string next_token;
  // The newest `updated` among everything the tracker's page held, when it
  // held entries the connector drops on purpose (GitHub lists pull requests
  // with issues): the window moves on past them as it would past issues, so
  // a page of them is never read again by offset. Unset: the issues' own.
  std::optional<std::int64_t> read_through_ms;
};

// Asks the tracker for one page. Called on the engine's reader threads,
// never on the thread that called PullByUpdated() (except the probes of a
// sliced pull, before the readers start), and from up to
// PullRequest::concurrency threads at once: it must be safe to call
// concurrently with itself. Its requests must stop when the pull's `cancel`
// is stopped (HttpRequest::stop = cancel.get_token()). Its errors are the
// pull's as they are: give them the connection's name.
using FetchWindow = std::function<Result<WindowPage>(const WindowRequest& window)>;

// How a window goes on past a page that did not get beyond its first granule
// (more issues in one granule than a page holds).
enum class WindowPaging {
  // The same window again with `skip` grown by the page's size less one:
  // the first issue of the next page (the anchor) must be the last of this
  // one, or issues before it moved (changed, deleted) and the stretch is
  // read again from the window's start. A page shorter than page_size is
  // the window's last. (YouTrack's $skip, Jira Data Center's startAt, page=
  // and offset= elsewhere.)
  kOffset,
  // The same window again with token = the page's next_token; an empty
  // next_token is the window's end, whatever the page's size (a tracker may
  // return fewer than asked for, e.g. for large fields). There is no anchor
  // check: a token is opaque and a page cannot be asked to overlap the last
  // one. So within one granule the engine relies on the tracker's tokens:
  // if one is an offset in disguise, an issue of the granule that changes
  // while it is read shifts an unread one back past the token unnoticed
  // (the cursor overlap of the next incremental pull reads it again). Only
  // a granule holding more than a page of issues is read this way; every
  // other window starts afresh at its granule. (Jira Cloud's nextPageToken.)
  kToken,
};

struct UpdatedPullOptions {
  std::string connection_name;  // for the engine's own errors and logs
  // The coarsest step of the `updated` bounds the tracker's queries can
  // express (YouTrack: 1000, seconds; Jira: 60'000, minutes): a window can
  // start only at a granule, so each new window starts at the granule of the
  // newest issue handed on, and the issues of that granule already handed on
  // are recognised by (id, updated_ms). TrackerSource::UpdatedGranularityMs().
  std::int64_t granularity_ms = 1000;
  WindowPaging paging = WindowPaging::kOffset;
  // How far before a window's exact lower bound (and after its upper) the
  // connector's query must start (end) to be sure to cover it, when the
  // tracker reads bounds in a way the connector knows only roughly (YouTrack:
  // a fixed zone offset that daylight saving may have moved by an hour).
  // Empty: the bound itself. The engine passes the widened bounds in
  // WindowRequest, and counts `skip` from the widened lower one.
  std::function<std::int64_t(std::int64_t from_ms)> widen_from;
  std::function<std::int64_t(std::int64_t to_ms)> widen_to;
  // The most issues the tracker returns in a page (0: no cap): a larger
  // PullRequest::page_size is cut to it, or with kOffset the tracker's short
  // page would pass for the window's end.
  int max_page_size = 0;
};

// What TrackerSource::Pull() does for a pull by update time (no keys), once
// the connector has checked its token: pages through the issues the
// request's range selects, oldest change first, by windows on `updated`
// (keyset paging: an issue that changes while paging moves to the end of the
// order and is never skipped), each page handed to `on_page` on the calling
// thread with how far the pull has got (IssuePage::through_ms). Issues
// outside the exact range are dropped; an issue the connector could not
// decode is handed on (once, when its `updated` cannot be read); at most
// request.limit issues. With request.concurrency > 1 and no limit, the range
// is split into slices read side by side by request.concurrency readers (it
// first probes the oldest and newest issue); else one reader fetches and
// decodes a couple of pages ahead of `on_page`. The first error (of a
// reader, or of `on_page`) stops the pull, requests `cancel` to stop the
// requests in flight, and is returned.
// request.query, fields, ids_only and session are the connector's business
// (its FetchWindow reads them); request.keys must be empty.
Result<void> PullByUpdated(const PullRequest& request, const UpdatedPullOptions& options,
                           const FetchWindow& fetch, const PageSink& on_page,
                           std::stop_source& cancel);

// Runs `produce` on a thread of its own and hands the pages it emits to
// `consume` on this one, so that requesting and decoding the next pages
// overlaps with storing this one; a couple of pages wait at most. When
// `consume` fails, `cancel` is stopped (the request in flight) and the
// producer's next emit fails with kCancelled; the consumer's error is
// returned, else the producer's result.
Result<void> Pipelined(const std::function<Result<void>(const PageSink& emit)>& produce,
                       const PageSink& consume, std::stop_source& cancel);

// `ms` rounded down to a multiple of `granularity_ms` (towards the past,
// before 1970 too).
constexpr std::int64_t FloorToGranule(std::int64_t ms, std::int64_t granularity_ms) {
  return ms - (((ms % granularity_ms) + granularity_ms) % granularity_ms);
}

}  // namespace boardsync

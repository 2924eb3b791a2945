// HttpBoard: the board store behind the HTTP board API of DESIGN §4.2
// (docs/board-api.md): writes go as batches to
// POST {url}/boards/{board}/items/batch with the board token, and scores are
// read from GET {url}/boards/{board}/scores.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/board_sink.h"
#include "core/http_client.h"
#include "core/score_source.h"
#include "core/secret.h"

namespace boardsync {

struct HttpBoardOptions {
  // The API root, e.g. "https://boards.example.com/api"; a trailing slash is
  // tolerated.
  std::string url;
  // Sent as "Authorization: Bearer <token>" (HttpRequest::bearer), so only
  // to the origin of `url`.
  Secret token;
  std::chrono::milliseconds timeout{30'000};  // per request
  // Attempts per request, for network errors, 429 and 5xx; the HttpClient
  // waits between them (backoff, Retry-After).
  int max_attempts = 5;
  // Cancels a request in flight and any wait before a retry; Apply() then
  // fails with ErrorCode::kCancelled (retriable). Default: never.
  std::stop_token stop;
};

// Apply() sends the writes in order, one request per run of consecutive
// writes to the same board; a run is split where an item_key comes again, so
// a request names each item at most once and the order of its "upsert" and
// "archive" lists does not matter. What the store answers to a request:
//   - 2xx: its writes are applied.
//   - 422 with {"errors": [{"item_key", "message"}...]} naming items of the
//     request: those writes are refused with their message (redacted, one
//     line, at most 300 bytes); the rest of the request is sent again, until
//     it is applied or nothing is left.
//   - any other 4xx but 401, 403, 408 and 429 (400, 404, 409, 413, ...), or a
//     422 without a usable "errors" list: the request is narrowed down by
//     halving. Each half is sent on its own (the first before the second,
//     and halves keep the order of the writes); a single write refused on
//     its own is refused with "HTTP <status>: <the store's message>" (for a
//     body that is not JSON, its text cut to 300 bytes). The good halves are
//     applied in the same call. A request of n writes with k refused ones
//     costs at most about 1 + 2k*ceil(log2 n) requests; when every write is
//     refused, 2n - 1.
// Apply() then succeeds with the refused writes (indices into `writes`).
// It fails, naming the board, the HTTP status and the store's message (never
// the token), when a request cannot be delivered now:
//   - 429, 5xx, 408, network errors and timeouts, after the client's own retries:
//     kUnavailable, retriable: keep the writes and send them again later.
//   - 401, 403: kAuth, not retriable: the board token was refused.
//   - kCancelled (options.stop) and kConfig (a URL the token may not go to,
//     e.g. plain http to another host) come back with their own code but
//     retriable, since the writes themselves are not at fault.
// Such a failure ends Apply() at once, also in the middle of narrowing a
// request down. Requests before the failing one stay applied, and writes
// already found refused are not reported; the caller sends all the writes
// again, which is harmless, as every batch is idempotent (and the refused
// ones are found again).
//
// ReadScores() is one GET {url}/boards/{board}/scores?since={cursor}&limit={n}
// (since left out when empty; board and cursor percent-encoded) with the
// board token, answered {"scores": [{"item_key", "name", "value",
// "updated_at"}...], "next": "<cursor>"}. It fails, naming the board and
// never the token:
//   - 401: kAuth, the board token was refused; 403: kAuth, the token may not
//     read this board's scores. Neither retriable.
//   - 429, 5xx, 408, network errors, timeouts (after the client's retries,
//     which honour Retry-After), a 3xx not followed: kUnavailable, retriable.
//   - any other 4xx: kBadResponse, with the store's message.
//   - a 2xx whose body is not that shape: kBadResponse naming what is
//     wrong: not JSON, no "scores" list, no "next" (or not a non-empty
//     string), an entry that is not an object, an item_key or name that is
//     not a non-empty string, an updated_at that is neither a string nor
//     null (missing is ""), a value that is missing or not a number, a
//     string or null (the message names the item_key and the score). One bad
//     entry fails the page, so the cursor does not move past it.
//   - an answer over the client's size cap: kBadResponse (the client's error);
//     kCancelled (options.stop) and kConfig (a URL the token may not go to)
//     with their own code.
// `limit` 0 is sent as 1. Entries beyond `limit` are kept.
// Thread-safe when the HttpClient is (CpprestHttpClient is).
class HttpBoard : public BoardSink, public ScoreSource {
 public:
  // Owns `http`. REQUIRES: http != nullptr.
  HttpBoard(HttpBoardOptions options, std::unique_ptr<HttpClient> http);
  ~HttpBoard() override;

  Result<std::vector<RefusedWrite>> Apply(std::span<const BoardWrite> writes) override;

  Result<ScorePage> ReadScores(std::string_view board, std::string_view since,
                               std::size_t limit) override;

 private:
  // Delivers writes[i] for every i in `run` (ascending, one board, each item
  // once), narrowing the request down as above; appends what the store
  // refused to `refused`.
  Result<void> Deliver(std::span<const BoardWrite> writes, std::vector<std::size_t> run,
                       std::vector<RefusedWrite>& refused);
  // One request for writes[i], i in `run`; the response of any status, or an
  // Error when there is none (network, cancelled, not allowed).
  Result<HttpResponse> Post(std::span<const BoardWrite> writes, std::span<const std::size_t> run);

  HttpBoardOptions options_;
  std::string base_;  // options_.url without trailing slashes
  std::unique_ptr<HttpClient> http_;
};

// The request body for `writes` (all to one board), in canonical JSON:
// {"archive":["item_key",...],"archive_versions":{"item_key":"version",...},
//  "upsert":[{item},...]}. "archive_versions" holds the version
// (item.source_updated_at) of every archive that has one; all three members
// are always there.
std::string BoardBatchBody(std::span<const BoardWrite> writes);

}  // namespace boardsync

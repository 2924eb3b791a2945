// HttpBoard: the board store behind the HTTP board API of DESIGN §4.2
// (docs/board-api.md): writes go as batches to
// POST {url}/boards/{board}/items/batch with the board token.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <stop_token>
#include <string>

#include "core/board_sink.h"
#include "core/http_client.h"
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
// "archive" lists does not matter. It stops at the first request that fails
// and returns an Error naming the board, the HTTP status and the store's
// message (never the token):
//   - 429, 5xx, network errors and timeouts, after the client's own retries:
//     kUnavailable, retriable: keep the writes and send them again later.
//   - 401, 403: kAuth, not retriable: the board token was refused.
//   - any other 4xx: kBadResponse, not retriable: the store rejected the
//     batch's content; the writes will not succeed by being sent again.
//   - kCancelled (options.stop) and kConfig (a URL the token may not go to,
//     e.g. plain http to another host) come back with their own code but
//     retriable, since the writes themselves are not at fault.
// So only kBadResponse means "set these writes aside".
// Requests before the failing one stay applied; sending them again is
// harmless, as every batch is idempotent.
// Thread-safe when the HttpClient is (CpprestHttpClient is).
class HttpBoard : public BoardSink {
 public:
  // Owns `http`. REQUIRES: http != nullptr.
  HttpBoard(HttpBoardOptions options, std::unique_ptr<HttpClient> http);
  ~HttpBoard() override;

  Result<void> Apply(std::span<const BoardWrite> writes) override;

 private:
  // One request for `writes`, all to `board`.
  Result<void> Send(const std::string& board, std::span<const BoardWrite> writes);

  HttpBoardOptions options_;
  std::string base_;  // options_.url without trailing slashes
  std::unique_ptr<HttpClient> http_;
};

// The request body for `writes` (all to one board):
// {"archive":["item_key",...],"upsert":[{item},...]} in canonical JSON.
std::string BoardBatchBody(std::span<const BoardWrite> writes);

}  // namespace boardsync

// BoardServer: a fake board store speaking the HTTP board API
// (docs/board-api.md) on a loopback HttpServer. It checks every request the
// way a strict store would, applies batches to an in-memory board with the
// version rules of the API, serves the scores tests set (with a change
// cursor and a page size cap), records what it received, and lets tests
// script faults, refuse chosen items, stop and restart.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/issue.h"
#include "core/value.h"
#include "tests/support/http_server.h"

namespace boardsync {

// The board token the server accepts unless told otherwise.
inline constexpr std::string_view kBoardServerToken = "bst_4kQz9WmR2xVt7LpN3cYh8JdF5sGb1Ue6";

struct BoardServerOptions {
  std::uint16_t port = 0;  // 0: any free port
  // The API root under the server: "/api" serves /api/boards/{board}/items/batch.
  std::string path_prefix = "/api";
  std::string token = std::string(kBoardServerToken);
  // Milliseconds since the epoch, for archived_at and a score's default
  // updated_at; default: now.
  std::function<std::int64_t()> clock;
  // The most scores one GET .../scores answers, whatever its limit.
  std::size_t scores_page_cap = 1000;
  // Score cursors are "<prefix><seq>". Tests set characters a URL must
  // encode ("c/1 +&#=") to see that a client encodes the cursor.
  std::string cursor_prefix;
};

// Thread-safe: every member may be called from any thread while requests are
// being served, except Stop() and Start(), which must not be called from a
// handler.
class BoardServer {
 public:
  // A scripted misbehaviour, consumed by the next `times` matching requests
  // (faults are tried in the order they were injected). Faults apply before
  // authentication and validation, as a proxy's would.
  struct Fault {
    enum class Endpoint { kAny, kBatch, kScores };
    std::string board;                   // only requests for this board; empty: any
    Endpoint endpoint = Endpoint::kAny;  // only requests to this endpoint
    std::optional<int> status;           // answer this instead of the real response
    HttpServerHeaders headers;           // with `status`
    std::string body;                    // with `status`
    std::chrono::milliseconds delay{0};  // answer late
    bool drop_connection = false;        // close without answering
    // Apply the batch (if valid) before answering the fault: a store that
    // commits and then fails to say so. Without it a faulted batch is not
    // applied.
    bool apply = false;
    int times = 1;

    // A canned answer; JSON unless `content_type` says otherwise.
    static Fault Status(int status, std::string body,
                        std::string content_type = "application/json");
    // 503 from a proxy (HTML body), with Retry-After when given, e.g. "3"
    // or "Wed, 21 Oct 2015 07:28:00 GMT".
    static Fault Unavailable(std::optional<std::string> retry_after = std::nullopt);
    // 429 {"error":"rate_limited",...} with Retry-After when given.
    static Fault RateLimited(std::optional<std::string> retry_after = std::nullopt);
    // 400 {"error":"invalid_batch","message":`message`}.
    static Fault Rejected(std::string message);
    // The real response, `delay` late (the batch is applied at once).
    static Fault Delay(std::chrono::milliseconds delay);
    // The connection closes without an answer.
    static Fault Drop();

    Fault For(std::string board_id) const;
    Fault Times(int n) const;
    Fault AfterApplying() const;
    Fault OnBatches() const;  // only POST .../items/batch
    Fault OnScores() const;   // only GET .../scores
  };

  // One item as the store keeps it.
  struct StoredItem {
    BoardItem item;           // board and item_key included
    std::string archived_at;  // empty while live
    friend bool operator==(const StoredItem& a, const StoredItem& b) {
      return a.item.board == b.item.board && a.item.item_key == b.item.item_key &&
             a.item.source_key == b.item.source_key && a.item.source_url == b.item.source_url &&
             a.item.source_updated_at == b.item.source_updated_at &&
             a.item.fields == b.item.fields && a.archived_at == b.archived_at;
    }
  };
  using Items = std::map<std::pair<std::string, std::string>, StoredItem>;  // (board, item_key)

  // One GET .../scores the server read, in arrival order.
  struct ReceivedScoreRead {
    HttpServerRequest request;
    std::string board;                 // from the path, decoded
    std::optional<std::string> since;  // the parameter as received, decoded
    std::optional<std::string> limit;
    int status = 0;  // what was answered; 0 when the connection was dropped
    bool faulted = false;
    std::size_t returned = 0;  // scores in the answer (0 when it was not a 200 of the store)
    std::string next;          // the answer's "next" (empty when it was not one)
  };

  // One request the server read, in arrival order (every request but
  // GET .../scores, which is a ReceivedScoreRead).
  struct ReceivedBatch {
    HttpServerRequest request;
    std::string board;  // from the path, decoded; empty when the path did not match
    Value body;         // the parsed body; null when it was not JSON
    int status = 0;     // what was answered; 0 when the connection was dropped
    bool faulted = false;
    bool applied = false;
  };

  // Starts serving. Throws std::system_error when the port cannot be bound.
  explicit BoardServer(BoardServerOptions options = {});
  ~BoardServer();

  BoardServer(const BoardServer&) = delete;
  BoardServer& operator=(const BoardServer&) = delete;

  std::uint16_t port() const { return port_; }
  // What a user configures as board.url: "http://127.0.0.1:<port><prefix>".
  std::string url() const;

  // Stops listening: connections are refused until Start(). The board stays.
  void Stop();
  // Listens again on the same port. Throws std::system_error when it cannot.
  void Start();

  // ---- Faults ----

  void InjectFault(Fault fault);
  void ClearFaults();
  std::size_t pending_faults() const;

  // ---- Items the store refuses ----

  // How a batch that holds a refused item is answered (nothing of it is
  // applied either way).
  enum class RefusalMode {
    // 422 {"error", "message", "errors": [{"item_key", "message"}...]},
    // naming every refused item of the batch with its message.
    kNameItems,
    // 400 {"error": "invalid_batch", "message"} with the message of the first
    // refused item of the batch, and no word on which items are at fault.
    kBare400,
  };

  // From now on every batch with a write (upsert or archive) of `item_key`,
  // on any board, is refused, after authentication and validation, as a
  // store refuses content it cannot take. Until ClearRefusals().
  void RefuseItem(std::string item_key, std::string message);
  void SetRefusalMode(RefusalMode mode);  // default: kNameItems
  void ClearRefusals();

  // ---- The board ----

  Items items() const;
  std::optional<StoredItem> Get(std::string_view board, std::string_view item_key) const;
  void SetToken(std::string token);

  // ---- Scores, as the board application writes them ----

  // Sets a score: a change, with the next seq of the one counter the server
  // keeps for all boards. `updated_at` empty: now (options.clock).
  void SetScore(std::string board, std::string item_key, std::string name, Value value,
                std::string updated_at = "");
  // Removes a score: a change whose value reads as null. Nothing when the
  // score is not there (or removed already).
  void RemoveScore(std::string_view board, std::string_view item_key, std::string_view name);
  void SetScoresPageCap(std::size_t cap);
  // The cursor after the last change so far ("<prefix><seq>", "<prefix>0"
  // before any).
  std::string score_cursor() const;

  // ---- What clients sent ----

  std::vector<ReceivedBatch> batches() const;
  std::vector<ReceivedScoreRead> score_reads() const;
  // Every request served: batches() and score_reads() together.
  std::size_t request_count() const;
  void ClearBatches();  // both lists

 private:
  HttpServerResponse Handle(const HttpServerRequest& request);
  // Checks and, when `apply`, applies one request. REQUIRES mu_ held.
  HttpServerResponse ServeLocked(const HttpServerRequest& request, ReceivedBatch& record,
                                 bool apply);
  // Answers one GET .../scores. REQUIRES mu_ held.
  HttpServerResponse ServeScoresLocked(const HttpServerRequest& request, ReceivedScoreRead& record);
  // The first fault for `board` and `endpoint`, consumed. REQUIRES mu_ held.
  std::optional<Fault> TakeFaultLocked(std::string_view board, Fault::Endpoint endpoint);

  // One score as the store keeps it; a removed one stays, null, for the
  // readers whose cursor is before its removal.
  struct StoredScore {
    Value value;
    std::string updated_at;
    std::int64_t seq = 0;
  };

  BoardServerOptions options_;
  mutable std::mutex mu_;
  Items items_;
  std::vector<Fault> faults_;
  std::map<std::string, std::string, std::less<>> refused_;  // item_key -> message
  RefusalMode refusal_mode_ = RefusalMode::kNameItems;
  std::vector<ReceivedBatch> batches_;
  std::vector<ReceivedScoreRead> score_reads_;
  // (board, item_key, name) -> score
  std::map<std::tuple<std::string, std::string, std::string>, StoredScore> scores_;
  std::int64_t score_seq_ = 0;  // the seq of the last change
  std::uint16_t port_ = 0;
  std::mutex server_mu_;                // guards server_ across Stop()/Start()
  std::unique_ptr<HttpServer> server_;  // last: stops before the state goes
};

}  // namespace boardsync

#include "tests/support/board_server.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"
#include "core/url.h"

namespace boardsync {
namespace {

std::string JsonError(std::string_view error, std::string_view message) {
  Value::Object o{{"error", error}, {"message", message}};
  return Value(std::move(o)).ToJson();
}

HttpServerResponse ErrorResponse(int status, std::string_view error, std::string_view message) {
  return HttpServerResponse::Json(status, JsonError(error, message));
}

// "2024-05-01T10:00:00.000Z": the fixed-width form the API requires, so
// that comparing the text compares the times.
bool IsFixedWidthUtc(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != kShape.size()) {
    return false;
  }
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    bool ok = kShape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == kShape[i];
    if (!ok) {
      return false;
    }
  }
  return ParseIsoUtc(text).has_value();
}

// The board of "<prefix>/boards/<board><tail>" (board percent-decoded), from
// the raw target so that an encoded "/" in the board stays one segment.
std::optional<std::string> BoardFromTarget(std::string_view target, std::string_view prefix,
                                           std::string_view tail = "/items/batch") {
  target = target.substr(0, target.find('?'));
  std::string head = std::string(prefix) + "/boards/";
  if (!target.starts_with(head) || !target.ends_with(tail) ||
      target.size() <= head.size() + tail.size()) {
    return std::nullopt;
  }
  std::string_view segment = target.substr(head.size(), target.size() - head.size() - tail.size());
  if (segment.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  return PercentDecode(segment);
}

constexpr std::string_view kScoresTail = "/scores";

// The 401 for a request without the board token; nothing when it has it.
std::optional<HttpServerResponse> Unauthorized(const HttpServerRequest& request,
                                               std::string_view token) {
  auto authorization = request.Header("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (authorization && authorization->size() > kBearer.size() &&
      AsciiLower(authorization->substr(0, kBearer.size())) == kBearer &&
      authorization->substr(kBearer.size()) == token) {
    return std::nullopt;
  }
  HttpServerResponse response =
      ErrorResponse(401, "unauthorized", "missing or invalid board token");
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"boards\"");
  return response;
}

// A whole decimal number in [0, 10^15], or nothing.
std::optional<std::int64_t> ParseCount(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n < 0 ||
      n > 1'000'000'000'000'000) {
    return std::nullopt;
  }
  return n;
}

// Checks one upsert entry; the reason when it is not acceptable.
std::optional<std::string> CheckUpsert(const Value& entry, std::size_t index) {
  std::string where = "upsert[" + std::to_string(index) + "]";
  if (!entry.IsObject()) {
    return where + " is not an object";
  }
  for (std::string_view key : {"item_key", "source_key", "source_url", "source_updated_at"}) {
    const Value* v = entry.Find(key);
    if (v == nullptr || !v->IsString()) {
      return where + "." + std::string(key) + " must be a string";
    }
  }
  if (entry.StringOr("item_key").empty()) {
    return where + ".item_key must not be empty";
  }
  if (!IsFixedWidthUtc(entry.StringOr("source_updated_at"))) {
    return where + ".source_updated_at must look like 2024-05-01T10:00:00.000Z, not \"" +
           std::string(entry.StringOr("source_updated_at")) + "\"";
  }
  const Value* fields = entry.Find("fields");
  if (fields == nullptr || !fields->IsObject()) {
    return where + ".fields must be an object";
  }
  return std::nullopt;
}

}  // namespace

// ---- Faults ----

BoardServer::Fault BoardServer::Fault::Status(int status, std::string body,
                                              std::string content_type) {
  Fault fault;
  fault.status = status;
  fault.headers.emplace_back("Content-Type", std::move(content_type));
  fault.body = std::move(body);
  return fault;
}

BoardServer::Fault BoardServer::Fault::Unavailable(std::optional<std::string> retry_after) {
  Fault fault = Status(503,
                       "<html><head><title>503 Service Temporarily Unavailable</title></head>\n"
                       "<body><center><h1>503 Service Temporarily Unavailable</h1></center>\n"
                       "<hr><center>nginx</center></body></html>\n",
                       "text/html");
  if (retry_after) {
    fault.headers.emplace_back("Retry-After", std::move(*retry_after));
  }
  return fault;
}

BoardServer::Fault BoardServer::Fault::RateLimited(std::optional<std::string> retry_after) {
  Fault fault = Status(429, JsonError("rate_limited", "too many batches; slow down"));
  if (retry_after) {
    fault.headers.emplace_back("Retry-After", std::move(*retry_after));
  }
  return fault;
}

BoardServer::Fault BoardServer::Fault::Rejected(std::string message) {
  return Status(400, JsonError("invalid_batch", message));
}

BoardServer::Fault BoardServer::Fault::Delay(std::chrono::milliseconds delay) {
  Fault fault;
  fault.delay = delay;
  return fault;
}

BoardServer::Fault BoardServer::Fault::Drop() {
  Fault fault;
  fault.drop_connection = true;
  return fault;
}

BoardServer::Fault BoardServer::Fault::For(std::string board_id) const {
  Fault fault = *this;
  fault.board = std::move(board_id);
  return fault;
}

BoardServer::Fault BoardServer::Fault::Times(int n) const {
  Fault fault = *this;
  fault.times = n;
  return fault;
}

BoardServer::Fault BoardServer::Fault::AfterApplying() const {
  Fault fault = *this;
  fault.apply = true;
  return fault;
}

BoardServer::Fault BoardServer::Fault::OnBatches() const {
  Fault fault = *this;
  fault.endpoint = Endpoint::kBatch;
  return fault;
}

BoardServer::Fault BoardServer::Fault::OnScores() const {
  Fault fault = *this;
  fault.endpoint = Endpoint::kScores;
  return fault;
}

// ---- Life cycle ----

BoardServer::BoardServer(BoardServerOptions options) : options_(std::move(options)) {
  if (!options_.clock) {
    options_.clock = [] { return NowMs(); };
  }
  server_ = std::make_unique<HttpServer>(
      [this](const HttpServerRequest& request) { return Handle(request); }, options_.port);
  port_ = server_->port();
}

BoardServer::~BoardServer() { Stop(); }

std::string BoardServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + options_.path_prefix;
}

void BoardServer::Stop() {
  std::lock_guard lock(server_mu_);
  if (server_) {
    server_->Stop();
    server_.reset();
  }
}

void BoardServer::Start() {
  std::lock_guard lock(server_mu_);
  if (!server_) {
    server_ = std::make_unique<HttpServer>(
        [this](const HttpServerRequest& request) { return Handle(request); }, port_);
  }
}

// ---- Faults, refusals, board, records ----

void BoardServer::InjectFault(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(std::move(fault));
}

void BoardServer::ClearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

std::size_t BoardServer::pending_faults() const {
  std::lock_guard lock(mu_);
  return faults_.size();
}

void BoardServer::RefuseItem(std::string item_key, std::string message) {
  std::lock_guard lock(mu_);
  refused_.insert_or_assign(std::move(item_key), std::move(message));
}

void BoardServer::SetRefusalMode(RefusalMode mode) {
  std::lock_guard lock(mu_);
  refusal_mode_ = mode;
}

void BoardServer::ClearRefusals() {
  std::lock_guard lock(mu_);
  refused_.clear();
}

BoardServer::Items BoardServer::items() const {
  std::lock_guard lock(mu_);
  return items_;
}

std::optional<BoardServer::StoredItem> BoardServer::Get(std::string_view board,
                                                        std::string_view item_key) const {
  std::lock_guard lock(mu_);
  auto it = items_.find({std::string(board), std::string(item_key)});
  if (it == items_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void BoardServer::SetToken(std::string token) {
  std::lock_guard lock(mu_);
  options_.token = std::move(token);
}

std::vector<BoardServer::ReceivedBatch> BoardServer::batches() const {
  std::lock_guard lock(mu_);
  return batches_;
}

std::vector<BoardServer::ReceivedScoreRead> BoardServer::score_reads() const {
  std::lock_guard lock(mu_);
  return score_reads_;
}

std::size_t BoardServer::request_count() const {
  std::lock_guard lock(mu_);
  return batches_.size() + score_reads_.size();
}

void BoardServer::ClearBatches() {
  std::lock_guard lock(mu_);
  batches_.clear();
  score_reads_.clear();
}

// ---- Scores ----

void BoardServer::SetScore(std::string board, std::string item_key, std::string name, Value value,
                           std::string updated_at) {
  std::lock_guard lock(mu_);
  if (updated_at.empty()) {
    updated_at = FormatIsoUtc(options_.clock());
  }
  scores_[{std::move(board), std::move(item_key), std::move(name)}] =
      StoredScore{std::move(value), std::move(updated_at), ++score_seq_};
}

void BoardServer::RemoveScore(std::string_view board, std::string_view item_key,
                              std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = scores_.find({std::string(board), std::string(item_key), std::string(name)});
  if (it == scores_.end() || it->second.value.IsNull()) {
    return;
  }
  it->second = StoredScore{Value(), FormatIsoUtc(options_.clock()), ++score_seq_};
}

void BoardServer::SetScoresPageCap(std::size_t cap) {
  std::lock_guard lock(mu_);
  options_.scores_page_cap = cap;
}

std::string BoardServer::score_cursor() const {
  std::lock_guard lock(mu_);
  return options_.cursor_prefix + std::to_string(score_seq_);
}

// ---- Serving ----

std::optional<BoardServer::Fault> BoardServer::TakeFaultLocked(std::string_view board,
                                                               Fault::Endpoint endpoint) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if ((it->board.empty() || it->board == board) &&
        (it->endpoint == Fault::Endpoint::kAny || it->endpoint == endpoint)) {
      Fault fault = *it;
      if (--it->times <= 0) {
        faults_.erase(it);
      }
      return fault;
    }
  }
  return std::nullopt;
}

HttpServerResponse BoardServer::Handle(const HttpServerRequest& request) {
  std::lock_guard lock(mu_);
  if (auto board = BoardFromTarget(request.target, options_.path_prefix, kScoresTail)) {
    ReceivedScoreRead record;
    record.request = request;
    record.board = std::move(*board);
    if (auto since = request.Param("since")) {
      record.since = std::string(*since);
    }
    if (auto limit = request.Param("limit")) {
      record.limit = std::string(*limit);
    }
    HttpServerResponse response;
    std::optional<Fault> fault = TakeFaultLocked(record.board, Fault::Endpoint::kScores);
    if (fault) {
      record.faulted = true;
      if (fault->status) {
        response.status = *fault->status;
        response.headers = fault->headers;
        response.body = fault->body;
      } else if (!fault->drop_connection) {
        response = ServeScoresLocked(request, record);
      }
      response.delay = fault->delay;
      response.drop_connection = fault->drop_connection;
    } else {
      response = ServeScoresLocked(request, record);
    }
    record.status = response.drop_connection ? 0 : response.status;
    score_reads_.push_back(std::move(record));
    return response;
  }

  ReceivedBatch record;
  record.request = request;
  record.board = BoardFromTarget(request.target, options_.path_prefix).value_or("");

  std::optional<Fault> fault = TakeFaultLocked(record.board, Fault::Endpoint::kBatch);
  HttpServerResponse response;
  if (fault) {
    record.faulted = true;
    bool apply = fault->apply || (!fault->status && !fault->drop_connection);
    response = ServeLocked(request, record, apply);
    if (fault->status) {
      response.status = *fault->status;
      response.headers = fault->headers;
      response.body = fault->body;
    }
    response.delay = fault->delay;
    response.drop_connection = fault->drop_connection;
  } else {
    response = ServeLocked(request, record, /*apply=*/true);
  }
  record.status = response.drop_connection ? 0 : response.status;
  batches_.push_back(std::move(record));
  return response;
}

HttpServerResponse BoardServer::ServeScoresLocked(const HttpServerRequest& request,
                                                  ReceivedScoreRead& record) {
  if (request.method != "GET") {
    HttpServerResponse response =
        ErrorResponse(405, "method_not_allowed", "use GET for " + request.path);
    response.headers.emplace_back("Allow", "GET");
    return response;
  }
  if (auto refused = Unauthorized(request, options_.token)) {
    return *refused;
  }
  std::int64_t since = 0;
  if (record.since) {
    std::string_view cursor = *record.since;
    std::optional<std::int64_t> seq;
    if (cursor.starts_with(options_.cursor_prefix)) {
      seq = ParseCount(cursor.substr(options_.cursor_prefix.size()));
    }
    if (!seq) {
      return ErrorResponse(400, "invalid_cursor",
                           "since \"" + *record.since + "\" is not a cursor of this store");
    }
    since = *seq;
  }
  std::size_t limit = options_.scores_page_cap;
  if (record.limit) {
    std::optional<std::int64_t> n = ParseCount(*record.limit);
    if (!n || *n == 0) {
      return ErrorResponse(400, "invalid_limit", "limit must be a positive integer");
    }
    limit = std::min(limit, static_cast<std::size_t>(*n));
  }

  std::vector<std::pair<std::int64_t, Value>> changes;  // seq -> entry
  for (const auto& [key, score] : scores_) {
    const auto& [board, item_key, name] = key;
    if (board == record.board && score.seq > since) {
      changes.emplace_back(score.seq, Value(Value::Object{{"item_key", item_key},
                                                          {"name", name},
                                                          {"value", score.value},
                                                          {"updated_at", score.updated_at}}));
    }
  }
  std::sort(changes.begin(), changes.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  if (changes.size() > limit) {
    changes.resize(limit);
  }
  Value::List entries;
  for (auto& [seq, entry] : changes) {
    entries.push_back(std::move(entry));
  }
  const std::int64_t next = changes.empty() ? since : changes.back().first;
  record.returned = entries.size();
  record.next = options_.cursor_prefix + std::to_string(next);
  Value::Object body{{"scores", std::move(entries)}, {"next", record.next}};
  return HttpServerResponse::Json(200, Value(std::move(body)).ToJson());
}

HttpServerResponse BoardServer::ServeLocked(const HttpServerRequest& request, ReceivedBatch& record,
                                            bool apply) {
  if (auto json = ParseJson(request.body)) {
    record.body = std::move(*json);
  }
  if (!BoardFromTarget(request.target, options_.path_prefix)) {
    return ErrorResponse(404, "not_found", "no such endpoint: " + request.path);
  }
  if (request.method != "POST") {
    HttpServerResponse response =
        ErrorResponse(405, "method_not_allowed", "use POST for " + request.path);
    response.headers.emplace_back("Allow", "POST");
    return response;
  }
  if (auto refused = Unauthorized(request, options_.token)) {
    return *refused;
  }
  auto content_type = request.Header("content-type");
  if (!content_type || !AsciiLower(*content_type).starts_with("application/json")) {
    return ErrorResponse(415, "unsupported_media_type", "send application/json");
  }
  if (!record.body.IsObject()) {
    return ErrorResponse(400, "invalid_json", "the body must be a JSON object");
  }

  // Check everything before changing anything: a batch is all or nothing.
  static const Value kEmpty = Value(Value::List{});
  const Value* upsert = record.body.Find("upsert");
  const Value* archive = record.body.Find("archive");
  upsert = upsert == nullptr ? &kEmpty : upsert;
  archive = archive == nullptr ? &kEmpty : archive;
  if (!upsert->IsList() || !archive->IsList()) {
    return ErrorResponse(400, "invalid_batch", "\"upsert\" and \"archive\" must be arrays");
  }
  std::set<std::string> seen;
  std::vector<BoardItem> upserts;
  for (std::size_t i = 0; i < upsert->AsList().size(); ++i) {
    const Value& entry = upsert->AsList()[i];
    if (auto problem = CheckUpsert(entry, i)) {
      return ErrorResponse(400, "invalid_batch", *problem);
    }
    BoardItem item = *BoardItemFromValue(entry);
    item.board = record.board;
    if (!seen.insert(item.item_key).second) {
      return ErrorResponse(400, "invalid_batch",
                           "item_key \"" + item.item_key + "\" appears more than once");
    }
    upserts.push_back(std::move(item));
  }
  std::map<std::string, std::string> archives;  // item_key -> version, "" when none
  for (std::size_t i = 0; i < archive->AsList().size(); ++i) {
    const Value& entry = archive->AsList()[i];
    if (!entry.IsString() || entry.AsString().empty()) {
      return ErrorResponse(400, "invalid_batch",
                           "archive[" + std::to_string(i) + "] must be a non-empty string");
    }
    if (!seen.insert(entry.AsString()).second) {
      return ErrorResponse(400, "invalid_batch",
                           "item_key \"" + entry.AsString() + "\" appears more than once");
    }
    archives.emplace(entry.AsString(), "");
  }
  // Optional, as a store must accept batches of clients that predate it.
  if (const Value* versions = record.body.Find("archive_versions"); versions != nullptr) {
    if (!versions->IsObject()) {
      return ErrorResponse(400, "invalid_batch", "\"archive_versions\" must be an object");
    }
    for (const auto& [item_key, version] : versions->AsObject()) {
      auto it = archives.find(item_key);
      if (it == archives.end()) {
        return ErrorResponse(400, "invalid_batch",
                             "archive_versions names \"" + item_key + "\", which is not archived");
      }
      if (!version.IsString() || !IsFixedWidthUtc(version.AsString())) {
        return ErrorResponse(400, "invalid_batch",
                             "archive_versions[\"" + item_key +
                                 "\"] must look like 2024-05-01T10:00:00.000Z, not " +
                                 version.ToJson());
      }
      it->second = version.AsString();
    }
  }

  // Refused items: the batch as a whole is refused, as a store that
  // validates content it cannot take (a field out of range) would.
  Value::List errors;
  for (const std::string& item_key : seen) {
    if (auto it = refused_.find(item_key); it != refused_.end()) {
      errors.push_back(Value(Value::Object{{"item_key", item_key}, {"message", it->second}}));
    }
  }
  if (!errors.empty()) {
    if (refusal_mode_ == RefusalMode::kBare400) {
      return ErrorResponse(400, "invalid_batch", errors.front().StringOr("message"));
    }
    const std::size_t count = errors.size();
    Value::Object body{{"error", "invalid_items"},
                       {"message", std::to_string(count) + " item(s) refused"},
                       {"errors", std::move(errors)}};
    return HttpServerResponse::Json(422, Value(std::move(body)).ToJson());
  }

  std::int64_t upserted = 0, ignored_older = 0, archived = 0;
  if (apply) {
    for (BoardItem& item : upserts) {
      auto key = std::make_pair(item.board, item.item_key);
      auto it = items_.find(key);
      if (it != items_.end() && item.source_updated_at < it->second.item.source_updated_at) {
        ++ignored_older;  // never older over newer
        continue;
      }
      items_[key] = StoredItem{std::move(item), ""};  // live again, if it was archived
      ++upserted;
    }
    const std::string now = FormatIsoUtc(options_.clock());
    for (const auto& [item_key, version] : archives) {
      auto it = items_.find({record.board, item_key});
      if (it == items_.end()) {
        continue;  // nothing to archive; not an error
      }
      StoredItem& stored = it->second;
      if (!version.empty() && version < stored.item.source_updated_at) {
        ++ignored_older;  // decided on an older version of the issue
        continue;
      }
      if (stored.archived_at.empty()) {
        stored.archived_at = now;
        ++archived;
      }
      // Held from now on, so that an upsert older than the archive does not
      // bring the item back.
      stored.item.source_updated_at = std::max(stored.item.source_updated_at, version);
    }
    record.applied = true;
  }
  Value::Object result{
      {"upserted", upserted}, {"ignored_older", ignored_older}, {"archived", archived}};
  return HttpServerResponse::Json(200, Value(std::move(result)).ToJson());
}

}  // namespace boardsync

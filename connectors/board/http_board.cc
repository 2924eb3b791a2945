#include "connectors/board/http_board.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/http/json.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/text.h"
#include "core/url.h"

namespace boardsync {
namespace {

// How much of the store's message goes into an error: enough for a
// validation message, short enough for one line of `boardsync status`.
constexpr std::size_t kMaxMessageBytes = 300;

// `text` cut to at most `limit` bytes at a UTF-8 character boundary, with
// runs of white space (newlines of an HTML page) made one space.
std::string OneLine(std::string_view text, std::size_t limit) {
  std::string out;
  bool space = false;
  for (char c : TrimSpace(text)) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += c;
  }
  if (out.size() <= limit) {
    return out;
  }
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) {
    --end;  // do not cut a multi-byte character in half
  }
  out.resize(end);
  return out + "…";
}

// The string member `key`, also when it sits in an "error" object
// ({"error": {"message": ...}}).
std::string_view StringMember(const Value& object, std::string_view key) {
  const Value* v = object.Find(key);
  return v != nullptr && v->IsString() ? std::string_view(v->AsString()) : std::string_view();
}

// `message` with every secret of the process replaced (Redact()), and the
// board token too, cut to one line of at most kMaxMessageBytes.
std::string RedactedLine(std::string message, const Secret& token) {
  // Redact() knows every Secret of the process; the explicit replacement
  // also covers a token too short for the redaction list.
  message = Redact(message);
  if (const std::string& secret = token.Reveal(); !secret.empty()) {
    const std::string replacement = token.Redacted();
    for (auto pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos + replacement.size())) {
      message.replace(pos, secret.size(), replacement);
    }
  }
  return OneLine(message, kMaxMessageBytes);
}

// What the store said about a failure: "error: message" from a JSON body
// ({"error", "message"}, also RFC 7807 {"title", "detail"}), else the start
// of the body as text. Never the token, even when the store echoes it.
std::string StoreMessage(const HttpResponse& response, const Secret& token) {
  std::string message;
  if (auto json = ParseJson(response.body); json && json->IsObject()) {
    std::string_view error = StringMember(*json, "error");
    std::string_view detail = StringMember(*json, "message");
    if (const Value* nested = json->Find("error"); nested != nullptr && nested->IsObject()) {
      error = StringMember(*nested, "code");
      detail = StringMember(*nested, "message");
    }
    if (error.empty() && detail.empty()) {
      error = StringMember(*json, "title");
      detail = StringMember(*json, "detail");
    }
    if (!error.empty() && !detail.empty() && !detail.starts_with(error)) {
      message = std::string(error) + ": " + std::string(detail);
    } else if (!detail.empty()) {
      message = detail;
    } else {
      message = error;
    }
  }
  if (message.empty()) {
    message = response.body;
  }
  return RedactedLine(std::move(message), token);
}

std::string StatusText(const HttpResponse& response, const Secret& token) {
  std::string text = "HTTP " + std::to_string(response.status);
  std::string message = StoreMessage(response, token);
  if (!message.empty()) {
    text += ": " + message;
  }
  return text;
}

// The writes of `run` that a 422 body {"errors": [{"item_key", "message"}...]}
// names, each once, with its message. Empty when the body has no such list
// or names none of them: then the 422 tells nothing about single items.
std::vector<RefusedWrite> NamedRefusals(const HttpResponse& response,
                                        std::span<const BoardWrite> writes,
                                        std::span<const std::size_t> run, const Secret& token) {
  std::vector<RefusedWrite> named;
  auto json = ParseJson(response.body);
  const Value* errors = json && json->IsObject() ? json->Find("errors") : nullptr;
  if (errors == nullptr || !errors->IsList()) {
    return named;
  }
  std::map<std::string_view, std::size_t> index_of;  // item_key -> index into `writes`
  for (std::size_t i : run) {
    index_of.emplace(writes[i].item.item_key, i);
  }
  for (const Value& entry : errors->AsList()) {
    if (!entry.IsObject()) {
      continue;
    }
    auto it = index_of.find(StringMember(entry, "item_key"));
    if (it == index_of.end()) {
      continue;  // not an item of this request (or no item_key at all)
    }
    std::string message = RedactedLine(std::string(StringMember(entry, "message")), token);
    named.push_back({it->second, message.empty() ? "HTTP 422" : std::move(message)});
    index_of.erase(it);  // named twice: the first message counts
  }
  return named;
}

// The body for writes[i], i in `run`; see BoardBatchBody().
std::string BatchBody(std::span<const BoardWrite> writes, std::span<const std::size_t> run) {
  // Canonical JSON (members sorted), written directly.
  std::string body = "{\"archive\":[";
  bool first = true;
  for (std::size_t i : run) {
    if (writes[i].archive) {
      body += first ? "" : ",";
      first = false;
      AppendJsonString(body, writes[i].item.item_key);
    }
  }
  // Canonical JSON: an object's members sorted by key.
  std::map<std::string_view, std::string_view> versions;
  for (std::size_t i : run) {
    if (writes[i].archive && !writes[i].item.source_updated_at.empty()) {
      versions.emplace(writes[i].item.item_key, writes[i].item.source_updated_at);
    }
  }
  body += "],\"archive_versions\":{";
  first = true;
  for (const auto& [item_key, version] : versions) {
    body += first ? "" : ",";
    first = false;
    AppendJsonString(body, item_key);
    body += ':';
    AppendJsonString(body, version);
  }
  body += "},\"upsert\":[";
  first = true;
  for (std::size_t i : run) {
    if (!writes[i].archive) {
      body += first ? "" : ",";
      first = false;
      AppendBoardItemJson(body, writes[i].item);
    }
  }
  body += "]}";
  return body;
}

// Why `entry` (scores[index] of an answer) is not a score, or nothing when
// it is one; fills `score` as it goes.
std::optional<std::string> ReadScore(const Value& entry, std::size_t index, const Secret& token,
                                     BoardScore& score) {
  const std::string where = "scores[" + std::to_string(index) + "]";
  if (!entry.IsObject()) {
    return where + " is not an object";
  }
  const Value* item_key = entry.Find("item_key");
  if (item_key == nullptr || !item_key->IsString() || item_key->AsString().empty()) {
    return where + " has no item_key (a non-empty string)";
  }
  // The store's text, as it goes into a message.
  const std::string item = RedactedLine(item_key->AsString(), token);
  const Value* name = entry.Find("name");
  if (name == nullptr || !name->IsString() || name->AsString().empty()) {
    return where + " (item " + item + ") has no name (a non-empty string)";
  }
  const std::string what =
      "the score \"" + RedactedLine(name->AsString(), token) + "\" of item " + item;
  const Value* value = entry.Find("value");
  if (value == nullptr) {
    return what + " has no value (a removed score is \"value\": null)";
  }
  if (!value->IsNull() && !value->IsNumber() && !value->IsString()) {
    const char* kind = value->IsBool() ? "a boolean" : value->IsList() ? "a list" : "an object";
    return what + " has " + kind + " value (" + OneLine(RedactedLine(value->ToJson(), token), 64) +
           "); a score is a number, a string or null";
  }
  const Value* updated_at = entry.Find("updated_at");
  if (updated_at != nullptr && !updated_at->IsNull() && !updated_at->IsString()) {
    return what + " has an updated_at that is not a string";
  }
  score.item_key = item_key->AsString();
  score.name = name->AsString();
  score.value = *value;
  score.updated_at = updated_at != nullptr && updated_at->IsString() ? updated_at->AsString() : "";
  return std::nullopt;
}

}  // namespace

std::string BoardBatchBody(std::span<const BoardWrite> writes) {
  std::vector<std::size_t> all(writes.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  return BatchBody(writes, all);
}

HttpBoard::HttpBoard(HttpBoardOptions options, std::unique_ptr<HttpClient> http)
    : options_(std::move(options)), base_(options_.url), http_(std::move(http)) {
  assert(http_ != nullptr);
  while (base_.ends_with('/')) {
    base_.pop_back();
  }
}

HttpBoard::~HttpBoard() = default;

Result<std::vector<RefusedWrite>> HttpBoard::Apply(std::span<const BoardWrite> writes) {
  std::vector<RefusedWrite> refused;
  std::size_t begin = 0;
  while (begin < writes.size()) {
    const std::string& board = writes[begin].item.board;
    std::set<std::string_view> keys;
    std::vector<std::size_t> run;
    std::size_t end = begin;
    while (end < writes.size() && writes[end].item.board == board &&
           keys.insert(writes[end].item.item_key).second) {
      run.push_back(end++);
    }
    if (auto delivered = Deliver(writes, std::move(run), refused); !delivered) {
      return std::unexpected(std::move(delivered.error()));
    }
    begin = end;
  }
  return refused;
}

Result<void> HttpBoard::Deliver(std::span<const BoardWrite> writes, std::vector<std::size_t> run,
                                std::vector<RefusedWrite>& refused) {
  const std::string& board = writes[run.front()].item.board;
  while (!run.empty()) {
    auto response = Post(writes, run);
    if (!response) {
      return std::unexpected(std::move(response.error()));
    }
    const int status = response->status;
    if (response->Ok()) {
      Log(LogLevel::kDebug, "Delivered a batch to the board store.",
          {{"board", board},
           {"writes", std::to_string(run.size())},
           {"status", std::to_string(status)}});
      return {};
    }
    if (status == 401 || status == 403) {
      return Fail(ErrorCode::kAuth, "board store refused the board token for board " + board +
                                        " (" + StatusText(*response, options_.token) +
                                        "); check board.token_file, token_env or token_credential");
    }
    if (status < 400 || status >= 500 || status == 429 || status == 408) {
      // 429, 5xx, 408 (the store gave up reading the request: the transport,
      // not the content) and anything else (a 3xx that was not followed, a
      // 1xx): the store is not taking writes now.
      std::string text = StatusText(*response, options_.token);
      if (auto after = response->Header("retry-after")) {
        text += " (Retry-After: " + OneLine(*after, 64) + ")";
      }
      return Fail(ErrorCode::kUnavailable, "board store unavailable: board " + board + ": " + text,
                  /*retriable=*/true);
    }
    if (status == 422) {
      std::vector<RefusedWrite> named = NamedRefusals(*response, writes, run, options_.token);
      if (!named.empty()) {
        for (RefusedWrite& write : named) {
          Log(LogLevel::kInfo, "The board store refused a write.",
              {{"board", board},
               {"item_key", writes[write.index].item.item_key},
               {"message", write.message}});
          std::erase(run, write.index);
          refused.push_back(std::move(write));
        }
        continue;  // the rest of the request again
      }
    }
    // A 4xx that does not say which writes are at fault.
    if (run.size() == 1) {
      RefusedWrite write{run.front(), StatusText(*response, options_.token)};
      Log(LogLevel::kInfo, "The board store refused a write.",
          {{"board", board},
           {"item_key", writes[write.index].item.item_key},
           {"message", write.message}});
      refused.push_back(std::move(write));
      return {};
    }
    Log(LogLevel::kDebug, "The board store refused a batch; sending it in halves.",
        {{"board", board},
         {"writes", std::to_string(run.size())},
         {"status", std::to_string(status)}});
    const auto middle = run.begin() + static_cast<std::ptrdiff_t>(run.size() / 2);
    std::vector<std::size_t> second(middle, run.end());
    run.erase(middle, run.end());
    if (auto delivered = Deliver(writes, std::move(run), refused); !delivered) {
      return delivered;
    }
    return Deliver(writes, std::move(second), refused);
  }
  return {};
}

Result<HttpResponse> HttpBoard::Post(std::span<const BoardWrite> writes,
                                     std::span<const std::size_t> run) {
  const std::string& board = writes[run.front()].item.board;
  HttpRequest request;
  request.method = "POST";
  request.url = base_ + "/boards/" + PercentEncode(board) + "/items/batch";
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  request.body = BatchBody(writes, run);
  request.auth = HttpAuth::Bearer(options_.token);
  request.timeout = options_.timeout;
  request.max_attempts = options_.max_attempts;
  request.stop = options_.stop;

  auto response = http_->Send(request);
  if (response) {
    return response;
  }
  const Error& error = response.error();
  if (error.code == ErrorCode::kCancelled || error.code == ErrorCode::kConfig) {
    // Stopped on request, or a URL that cannot be used (a token over plain
    // http): the writes are not at fault, so they are marked retriable and
    // stay queued rather than being set aside as refused.
    Error wrapped = error.Wrap("board store: board " + board);
    wrapped.retriable = true;
    return std::unexpected(std::move(wrapped));
  }
  // Refused, reset, timed out, TLS, a redirect to another origin: the store
  // is not reachable as configured; the writes wait for it.
  return Fail(ErrorCode::kUnavailable,
              "board store unavailable: board " + board + ": " + Redact(error.message),
              /*retriable=*/true);
}

Result<ScorePage> HttpBoard::ReadScores(std::string_view board, std::string_view since,
                                        std::size_t limit) {
  const std::string context = "board store: the scores of board " + std::string(board);
  HttpRequest request;
  request.method = "GET";
  request.url = base_ + "/boards/" + PercentEncode(board) + "/scores?";
  if (!since.empty()) {
    request.url += "since=" + PercentEncode(since) + "&";
  }
  request.url += "limit=" + std::to_string(std::max<std::size_t>(limit, 1));
  request.headers = {{"Accept", "application/json"}};
  request.auth = HttpAuth::Bearer(options_.token);
  request.timeout = options_.timeout;
  request.max_attempts = options_.max_attempts;
  request.stop = options_.stop;

  auto response = http_->Send(request);
  if (!response) {
    const Error& error = response.error();
    if (error.code == ErrorCode::kCancelled || error.code == ErrorCode::kConfig ||
        error.code == ErrorCode::kBadResponse) {
      // Stopped, a URL the token may not go to, an answer over the size
      // cap or not decodable: each says so itself.
      return std::unexpected(error.Wrap(context));
    }
    return Fail(
        ErrorCode::kUnavailable,
        "board store unavailable: board " + std::string(board) + ": " + Redact(error.message),
        /*retriable=*/true);
  }
  const int status = response->status;
  if (status == 401) {
    return Fail(ErrorCode::kAuth,
                "board store refused the board token reading the scores of board " +
                    std::string(board) + " (" + StatusText(*response, options_.token) +
                    "); check board.token_file, token_env or token_credential");
  }
  if (status == 403) {
    return Fail(ErrorCode::kAuth, "board store: the board token may not read the scores of board " +
                                      std::string(board) + " (" +
                                      StatusText(*response, options_.token) +
                                      "); it needs read access to the board's scores");
  }
  if (!response->Ok()) {
    std::string text = StatusText(*response, options_.token);
    if (status < 400 || status >= 500 || status == 429 || status == 408) {
      if (auto after = response->Header("retry-after")) {
        text += " (Retry-After: " + OneLine(*after, 64) + ")";
      }
      return Fail(ErrorCode::kUnavailable,
                  "board store unavailable: board " + std::string(board) + ": " + text,
                  /*retriable=*/true);
    }
    return Fail(ErrorCode::kBadResponse, context + ": the store answered " + text);
  }

  auto json = ParseJson(response->body);
  if (!json) {
    return Fail(ErrorCode::kBadResponse,
                context + ": the answer is not JSON (" + json.error().message + ")");
  }
  if (!json->IsObject()) {
    return Fail(ErrorCode::kBadResponse, context + ": the answer is not a JSON object");
  }
  const Value* scores = json->Find("scores");
  if (scores == nullptr || !scores->IsList()) {
    return Fail(ErrorCode::kBadResponse, context + ": the answer has no \"scores\" list");
  }
  const Value* next = json->Find("next");
  if (next == nullptr || next->IsNull()) {
    return Fail(ErrorCode::kBadResponse,
                context +
                    ": the answer has no \"next\" cursor (the API requires one on every "
                    "page, the last one too)");
  }
  if (!next->IsString() || next->AsString().empty()) {
    return Fail(ErrorCode::kBadResponse,
                context + ": the answer's \"next\" is not a non-empty string");
  }
  ScorePage page;
  page.scores.reserve(scores->AsList().size());
  for (std::size_t i = 0; i < scores->AsList().size(); ++i) {
    BoardScore score;
    if (auto problem = ReadScore(scores->AsList()[i], i, options_.token, score)) {
      return Fail(ErrorCode::kBadResponse, context + ": " + *problem);
    }
    page.scores.push_back(std::move(score));
  }
  page.next = next->AsString();
  Log(LogLevel::kDebug, "Read a page of scores from the board store.",
      {{"board", std::string(board)}, {"scores", std::to_string(page.scores.size())}});
  return page;
}

}  // namespace boardsync

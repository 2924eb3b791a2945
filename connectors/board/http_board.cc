#include "connectors/board/http_board.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <map>
#include <numeric>
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

}  // namespace boardsync

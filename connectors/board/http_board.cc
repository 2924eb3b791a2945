#include "connectors/board/http_board.h"

#include <cassert>
#include <set>
#include <string_view>
#include <utility>

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

std::string StatusText(const HttpResponse& response, const Secret& token) {
  std::string text = "HTTP " + std::to_string(response.status);
  std::string message = StoreMessage(response, token);
  if (!message.empty()) {
    text += ": " + message;
  }
  return text;
}

}  // namespace

std::string BoardBatchBody(std::span<const BoardWrite> writes) {
  // {"archive":[...],"upsert":[...]}: canonical JSON, written directly.
  std::string body = "{\"archive\":[";
  bool first = true;
  for (const BoardWrite& write : writes) {
    if (write.archive) {
      body += first ? "" : ",";
      first = false;
      AppendJsonString(body, write.item.item_key);
    }
  }
  body += "],\"upsert\":[";
  first = true;
  for (const BoardWrite& write : writes) {
    if (!write.archive) {
      body += first ? "" : ",";
      first = false;
      AppendBoardItemJson(body, write.item);
    }
  }
  body += "]}";
  return body;
}

HttpBoard::HttpBoard(HttpBoardOptions options, std::unique_ptr<HttpClient> http)
    : options_(std::move(options)), base_(options_.url), http_(std::move(http)) {
  assert(http_ != nullptr);
  while (base_.ends_with('/')) {
    base_.pop_back();
  }
}

HttpBoard::~HttpBoard() = default;

Result<void> HttpBoard::Apply(std::span<const BoardWrite> writes) {
  std::size_t begin = 0;
  while (begin < writes.size()) {
    const std::string& board = writes[begin].item.board;
    std::set<std::string_view> keys;
    std::size_t end = begin;
    while (end < writes.size() && writes[end].item.board == board &&
           keys.insert(writes[end].item.item_key).second) {
      ++end;
    }
    if (auto sent = Send(board, writes.subspan(begin, end - begin)); !sent) {
      return sent;
    }
    begin = end;
  }
  return {};
}

Result<void> HttpBoard::Send(const std::string& board, std::span<const BoardWrite> writes) {
  HttpRequest request;
  request.method = "POST";
  request.url = base_ + "/boards/" + PercentEncode(board) + "/items/batch";
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  request.body = BoardBatchBody(writes);
  request.bearer = &options_.token;
  request.timeout = options_.timeout;
  request.max_attempts = options_.max_attempts;
  request.stop = options_.stop;

  auto response = http_->Send(request);
  if (!response) {
    const Error& error = response.error();
    if (error.code == ErrorCode::kCancelled || error.code == ErrorCode::kConfig) {
      // Stopped on request, or a URL that cannot be used (a token over plain
      // http): the writes are not at fault, so they are marked retriable and
      // stay queued rather than being set aside as refused.
      Error wrapped = error.Wrap("board store: board " + board);
      wrapped.retriable = true;
      return std::unexpected(std::move(wrapped));
    }
    // Refused, reset, timed out, TLS, a redirect to another origin: the
    // store is not reachable as configured; the writes wait for it.
    return Fail(ErrorCode::kUnavailable,
                "board store unavailable: board " + board + ": " + Redact(error.message),
                /*retriable=*/true);
  }
  const int status = response->status;
  if (response->Ok()) {
    Log(LogLevel::kDebug, "Delivered a batch to the board store.",
        {{"board", board},
         {"writes", std::to_string(writes.size())},
         {"status", std::to_string(status)}});
    return {};
  }
  if (status == 401 || status == 403) {
    return Fail(ErrorCode::kAuth, "board store refused the board token for board " + board + " (" +
                                      StatusText(*response, options_.token) +
                                      "); check board.token_file, token_env or token_credential");
  }
  if (status >= 400 && status < 500 && status != 429) {
    return Fail(ErrorCode::kBadResponse, "board store rejected the batch for board " + board +
                                             ": " + StatusText(*response, options_.token));
  }
  // 429, 5xx, and anything else (a 3xx that was not followed, a 1xx): the
  // store is not taking writes now.
  std::string text = StatusText(*response, options_.token);
  if (auto after = response->Header("retry-after")) {
    text += " (Retry-After: " + OneLine(*after, 64) + ")";
  }
  return Fail(ErrorCode::kUnavailable, "board store unavailable: board " + board + ": " + text,
              /*retriable=*/true);
}

}  // namespace boardsync

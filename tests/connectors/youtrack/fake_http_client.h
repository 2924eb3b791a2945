// FakeHttpClient: an HttpClient that records every request and answers from a
// script, so YouTrackSource can be tested without a network. Responses are
// consumed in order; running out is answered with an error the test will see.
// With a handler set, the handler answers every request instead (by content,
// as a server would), and the script is not used. Send() may be called from
// other threads (the source prefetches pages, and reads slices side by side),
// several at once; a handler must be thread-safe. `requests` is safe to read
// once the call under test has returned.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/http_client.h"

namespace boardsync {

class FakeHttpClient : public HttpClient {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

  struct Recorded {
    std::string method;
    std::string url;
    HttpHeaders headers;
    std::string bearer;  // the token the client was asked to send; "" for none
    std::chrono::milliseconds timeout{0};
  };

  // Queues `body` under `status` with a JSON content type.
  void AddJson(int status, std::string body) { Add(Json(status, std::move(body))); }
  void Add(HttpResponse response) {
    std::lock_guard lock(mu_);
    script_.emplace_back(std::move(response));
  }
  void AddError(Error error) {
    std::lock_guard lock(mu_);
    script_.emplace_back(std::move(error));
  }

  // Answers every later request with `handler` (an empty one goes back to
  // the script).
  void SetHandler(Handler handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
  }

  // `body` under `status` with a JSON content type, for handlers.
  static HttpResponse Json(int status, std::string body) {
    HttpResponse response;
    response.status = status;
    response.headers = {{"content-type", "application/json;charset=UTF-8"}};
    response.body = std::move(body);
    return response;
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::unique_lock lock(mu_);
    ++sent_;
    requests.push_back(Recorded{request.method, request.url, request.headers,
                                request.auth.present() ? request.auth.secret->Reveal() : "",
                                request.timeout});
    if (handler_) {
      Handler handler = handler_;
      lock.unlock();
      auto answer = handler(request);
      if (answer) {
        answer->url = request.url;
      }
      return answer;
    }
    if (script_.empty()) {
      return Fail(ErrorCode::kUnavailable, "fake: no scripted response for " + request.url);
    }
    auto next = std::move(script_.front());
    script_.pop_front();
    if (auto* error = std::get_if<Error>(&next)) {
      return std::unexpected(std::move(*error));
    }
    HttpResponse response = std::get<HttpResponse>(std::move(next));
    response.url = request.url;
    return response;
  }

  std::size_t Remaining() const {
    std::lock_guard lock(mu_);
    return script_.size();
  }
  // Requests sent so far; safe to read while a call is under way.
  std::size_t Sent() const { return sent_; }

  std::vector<Recorded> requests;

 private:
  mutable std::mutex mu_;  // guards requests and the script while Send() runs
  std::deque<std::variant<HttpResponse, Error>> script_;
  Handler handler_;
  std::atomic<std::size_t> sent_{0};
};

}  // namespace boardsync

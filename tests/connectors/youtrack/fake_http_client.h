// FakeHttpClient: an HttpClient that records every request and answers from a
// script, so YouTrackSource can be tested without a network. Responses are
// consumed in order; running out is answered with an error the test will see.
#pragma once

#include <chrono>
#include <deque>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/http_client.h"

namespace boardsync {

class FakeHttpClient : public HttpClient {
 public:
  struct Recorded {
    std::string method;
    std::string url;
    HttpHeaders headers;
    std::string bearer;  // the token the client was asked to send; "" for none
    std::chrono::milliseconds timeout{0};
  };

  // Queues `body` under `status` with a JSON content type.
  void AddJson(int status, std::string body) {
    HttpResponse response;
    response.status = status;
    response.headers = {{"content-type", "application/json;charset=UTF-8"}};
    response.body = std::move(body);
    Add(std::move(response));
  }
  void Add(HttpResponse response) { script_.emplace_back(std::move(response)); }
  void AddError(Error error) { script_.emplace_back(std::move(error)); }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    requests.push_back(Recorded{request.method, request.url, request.headers,
                                request.bearer != nullptr ? request.bearer->Reveal() : "",
                                request.timeout});
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

  std::size_t Remaining() const { return script_.size(); }

  std::vector<Recorded> requests;

 private:
  std::deque<std::variant<HttpResponse, Error>> script_;
};

}  // namespace boardsync

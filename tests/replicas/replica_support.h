// What the replica tests share: a front before the sample tracker for each
// connection, which records which replica pulled it when (so a test can tell
// that no connection was synced by two replicas at once) and lets a test act
// the moment a pull arrives; and a tracker token per replica, by which the
// front tells them apart.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/http_server.h"
#include "tests/support/http_test_client.h"
#include "tests/support/sample_tracker.h"

namespace boardsync::replicas {

using Clock = std::chrono::steady_clock;

// The tail every replica token ends with after its label.
inline constexpr std::string_view kTokenTail = "Zq8Wc1Nd6Hs3Jf5Gb0";

// The tracker token the replica labelled `label` ([a-z0-9]+) syncs with,
// shaped like a YouTrack permanent token of the sample user "sync.bot".
inline std::string ReplicaToken(std::string_view label) {
  return "perm:c3luYy5ib3Q=.cmVwbGljYQ==." + std::string(label) + std::string(kTokenTail);
}

// The label of the replica whose token `request` carries; "" without one.
inline std::string ReplicaOf(const HttpServerRequest& request) {
  std::optional<std::string_view> authorization = request.Header("authorization");
  if (!authorization) {
    return "";
  }
  std::string_view token = *authorization;
  token = token.substr(token.rfind('.') + 1);
  if (!token.ends_with(kTokenTail)) {
    return "";
  }
  return std::string(token.substr(0, token.size() - kTokenTail.size()));
}

// A pull of the issues themselves (not the id-only reconciliation sweep).
inline bool IsIssuePull(const HttpServerRequest& request) {
  return request.path == "/api/issues" &&
         request.Param("fields").value_or("").find("summary") != std::string_view::npos;
}

// One request a front passed on.
struct FrontRequest {
  std::string replica;  // the label of its token
  std::string path;     // "/api/issues", "/api/users/me", ...
  bool issue_pull = false;
  Clock::time_point start;  // when it arrived
  Clock::time_point end;    // when its answer was ready
};

// An HTTP server on loopback that passes every request on to a sample
// tracker and records it. One per connection, so that what it records is
// that connection's.
class TrackerFront {
 public:
  // Called as a request arrives, before it is passed on (on a server thread).
  using Hook = std::function<void(const FrontRequest& request, const HttpServerRequest& http)>;

  explicit TrackerFront(const SampleTracker& tracker)
      : tracker_url_(tracker.base_url()),
        server_([this](const HttpServerRequest& request) { return Handle(request); }) {}

  TrackerFront(const TrackerFront&) = delete;
  TrackerFront& operator=(const TrackerFront&) = delete;

  std::string base_url() const { return server_.base_url(); }

  // Every issue pull takes at least this long.
  void SetLatency(std::chrono::milliseconds latency) {
    std::lock_guard lock(mu_);
    latency_ = latency;
  }
  void OnRequest(Hook hook) {
    std::lock_guard lock(mu_);
    hook_ = std::move(hook);
  }
  std::vector<FrontRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  HttpServerResponse Handle(const HttpServerRequest& request) {
    FrontRequest record;
    record.replica = ReplicaOf(request);
    record.path = request.path;
    record.issue_pull = IsIssuePull(request);
    record.start = Clock::now();
    Hook hook;
    std::chrono::milliseconds latency{0};
    {
      std::lock_guard lock(mu_);
      hook = hook_;
      latency = latency_;
    }
    if (hook) {
      hook(record, request);
    }
    if (record.issue_pull && latency.count() > 0) {
      std::this_thread::sleep_for(latency);
    }
    HttpServerHeaders headers;
    for (const char* name : {"authorization", "accept", "content-type"}) {
      if (auto value = request.Header(name)) {
        headers.emplace_back(name, std::string(*value));
      }
    }
    HttpTestResponse answer;
    if (request.method == "GET") {
      answer = HttpGet(tracker_url_ + request.target, headers, std::chrono::seconds(20));
    } else {
      HttpTestClient client(tracker_url_, std::chrono::seconds(20));
      answer = client.Send(request.method, request.target, headers, request.body);
    }
    record.end = Clock::now();
    {
      std::lock_guard lock(mu_);
      requests_.push_back(record);
    }
    if (!answer.error.empty()) {
      return HttpServerResponse::Text(502, "the front cannot reach the tracker: " + answer.error);
    }
    HttpServerResponse response;
    response.status = answer.status;
    response.body = std::move(answer.body);
    for (const auto& [name, value] : answer.headers) {
      if (name == "content-type" || name == "retry-after") {
        response.headers.emplace_back(name, value);
      }
    }
    return response;
  }

  const std::string tracker_url_;
  mutable std::mutex mu_;
  std::chrono::milliseconds latency_{0};
  Hook hook_;
  std::vector<FrontRequest> requests_;
  HttpServer server_;  // last: it stops before the members it uses go
};

// Issue pulls of one connection by two different replicas that overlapped
// in time, each described for a failure message ("r1 [0.120s, 0.450s] and
// r2 [0.300s, 0.700s]", seconds since `origin`).
inline std::vector<std::string> OverlappingPulls(const std::vector<FrontRequest>& requests,
                                                 Clock::time_point origin) {
  std::vector<FrontRequest> pulls;
  for (const FrontRequest& r : requests) {
    if (r.path == "/api/issues") {
      pulls.push_back(r);
    }
  }
  std::sort(pulls.begin(), pulls.end(),
            [](const FrontRequest& a, const FrontRequest& b) { return a.start < b.start; });
  auto at = [&](Clock::time_point t) {
    return std::to_string(std::chrono::duration<double>(t - origin).count()) + "s";
  };
  std::vector<std::string> overlaps;
  for (std::size_t i = 0; i < pulls.size(); ++i) {
    for (std::size_t j = i + 1; j < pulls.size() && pulls[j].start < pulls[i].end; ++j) {
      if (pulls[j].replica != pulls[i].replica) {
        overlaps.push_back(pulls[i].replica + " [" + at(pulls[i].start) + ", " + at(pulls[i].end) +
                           "] and " + pulls[j].replica + " [" + at(pulls[j].start) + ", " +
                           at(pulls[j].end) + "]");
      }
    }
  }
  return overlaps;
}

}  // namespace boardsync::replicas

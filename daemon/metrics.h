// Metrics: what the daemon has done, per connection, rendered in the
// Prometheus text format; and a small HTTP endpoint serving it (/metrics)
// with a liveness check (/healthz). Both are thread-safe.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace boardsync {

struct CycleResult;
struct SyncBackReport;

// metrics_listen: an IP address (IPv6 optionally in brackets) and a port;
// port 0 picks a free one.
struct ListenAddress {
  sockaddr_storage address{};
  socklen_t size = 0;
  int family = 0;
};
// Errors (kConfig) say what is wrong with `listen`, without naming the key.
Result<ListenAddress> ParseListenAddress(std::string_view listen);

class Metrics {
 public:
  // Records a finished cycle and the connection's pending board writes.
  void Record(const std::string& connection, const CycleResult& result, std::int64_t pending,
              std::int64_t now_ms);
  // Records a finished sync back: issues written, issues the tracker refused.
  void RecordSyncBack(const std::string& connection, const SyncBackReport& report);
  // Keeps exactly these connections: new ones show (with zeros) before their
  // first cycle, and those a reload removed disappear.
  void Retain(const std::vector<std::string>& connections);
  std::string Render() const;

 private:
  struct Connection {
    std::int64_t syncs_ok = 0;
    std::int64_t syncs_failed = 0;
    std::int64_t issues_pulled = 0;
    std::int64_t board_writes = 0;
    std::int64_t pending_writes = 0;
    std::int64_t tracker_requests = 0;
    std::int64_t tracker_received_bytes = 0;  // as received: compressed
    std::int64_t tracker_decoded_bytes = 0;
    double last_duration_seconds = 0;
    double last_success_seconds = 0;  // Unix time; 0: never
    std::int64_t sync_back_writes = 0;
    std::int64_t sync_back_refused = 0;
    std::int64_t sync_back_failed_runs = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Connection, std::less<>> connections_;
};

class MetricsServer {
 public:
  // Listens on `listen` ("127.0.0.1:9464", "[::1]:9464"); port 0 picks one.
  static Result<std::unique_ptr<MetricsServer>> Start(std::string_view listen,
                                                      const Metrics& metrics);
  ~MetricsServer();  // stops serving and joins the thread

  std::uint16_t port() const { return port_; }

 private:
  class Impl;
  MetricsServer(std::unique_ptr<Impl> impl, std::uint16_t port);
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_;
};

}  // namespace boardsync

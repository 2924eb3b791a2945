#include "daemon/cycle.h"

#include <chrono>
#include <cstdio>

#include "connectors/http/cpprest_http_client.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/time.h"
#include "daemon/registry.h"
#include "daemon/token.h"

namespace boardsync {

std::expected<std::map<std::string, Mapping>, Diagnostics> LoadMappings(
    const std::vector<const ConnectionConfig*>& connections) {
  std::map<std::string, Mapping> mappings;
  Diagnostics problems;
  for (const ConnectionConfig* c : connections) {
    auto mapping = LoadMappingFile(c->mapping);
    if (!mapping) {
      problems.insert(problems.end(), mapping.error().begin(), mapping.error().end());
      continue;
    }
    // A sync_back section its tracker cannot honour is refused wherever the
    // mapping is loaded (check, sync, sync-back, run), not at the first write.
    if (const TrackerType* type = FindTrackerType(c->type);
        mapping->sync_back && type != nullptr && type->make_writer == nullptr) {
      const SyncBackField& first = mapping->sync_back->fields.front();
      problems.push_back(Diagnostic{c->mapping.string(), first.line, first.column,
                                    "sync_back: connection " + c->name + " is a " + c->type +
                                        " tracker, which has no issue fields boardsync can "
                                        "write"});
      continue;
    }
    mappings.emplace(c->name, std::move(*mapping));
  }
  if (!problems.empty()) {
    return std::unexpected(std::move(problems));
  }
  return mappings;
}

Result<ConnectedTracker> ConnectTracker(const ConnectionConfig& connection, bool writer) {
  auto token = LoadToken(connection.token, "connection " + connection.name);
  if (!token) {
    return std::unexpected(token.error());
  }
  ConnectedTracker connected;
  HttpClientOptions http_options;
  http_options.ca_file = connection.ca_file.string();
  http_options.proxy = ProxySettingsFromEnvironment(connection.proxy);
  connected.http = std::make_unique<CpprestHttpClient>(std::move(http_options));
  // The connector says what of its tokens may show (an owner part).
  if (const TrackerType* type = FindTrackerType(connection.type);
      type != nullptr && type->token_shown != nullptr) {
    *token = Secret(token->Reveal(), type->token_shown(token->Reveal()));
  }
  if (writer) {
    auto made = MakeWriter(connection, std::move(*token), *connected.http);
    if (!made) {
      return std::unexpected(made.error());
    }
    connected.writer = std::move(*made);
    return connected;
  }
  auto tracker = MakeTracker(connection, std::move(*token), *connected.http);
  if (!tracker) {
    return std::unexpected(tracker.error());
  }
  connected.tracker = std::move(*tracker);
  return connected;
}

SyncBackReport RunSyncBackCycle(const ConnectionConfig& connection, const Mapping& mapping,
                                StateStore& state, ScoreSource& scores,
                                const SyncBackOptions& options) {
  FieldWriter* writer = nullptr;
  std::optional<ConnectedTracker> connected;
  if (!options.dry_run && mapping.sync_back) {
    auto made = ConnectTracker(connection, /*writer=*/true);
    if (!made) {
      SyncBackReport report;
      report.connection = connection.name;
      report.error = made.error();
      report.error->message = Redact(report.error->message);
      SyncBackRecord record;
      record.connection = connection.name;
      record.started_at = FormatIsoUtc(NowMs());
      record.result = "failed";
      record.error = report.error->message;
      (void)state.RecordSyncBack(record);  // the error is the news
      return report;
    }
    connected = std::move(*made);
    writer = connected->writer.get();
  }
  return RunSyncBack(connection, mapping, state, scores, writer, options);
}

std::string CycleResult::FirstError() const {
  if (report.error) {
    return Redact(report.error->message);
  }
  if (!report.problems.empty()) {
    return Redact(report.problems.front());
  }
  if (board_error) {
    return Redact(board_error->message);
  }
  if (parked > 0) {
    return std::to_string(parked) + " board writes refused by the board store";
  }
  return "";
}

CycleResult RunCycle(const ConnectionConfig& connection, const Mapping& mapping, StateStore& state,
                     BoardSink* board, std::size_t batch_size, const SyncOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::string started_at = FormatIsoUtc(NowMs());
  CycleResult result;
  result.report.connection = connection.name;
  std::optional<OutboxDelivery> delivery;
  SyncOptions pull_options = options;
  if (board != nullptr) {
    // Deliver each batch as soon as it is staged, while the next pages are
    // read and stored.
    delivery.emplace(state, *board, connection.name, batch_size);
    pull_options.on_staged = [&, queued = std::size_t{0}](std::size_t n) mutable {
      queued += n;
      if (queued >= batch_size && delivery->Start()) {
        queued -= batch_size;
      }
    };
  }
  if (auto connected = ConnectTracker(connection); !connected) {
    result.report.error = connected.error();
  } else {
    result.report = PullConnection(connection, *connected->tracker, mapping, state, pull_options);
    result.tracker_traffic = connected->http->Traffic();
  }
  if (delivery) {
    // Deliver even after a failed pull: what was staged is worth sending.
    if (auto finished = delivery->Finish(); !finished) {
      result.board_error = finished.error();
    }
    result.written = delivery->delivered().delivered;
    result.parked = delivery->delivered().parked;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Log(LogLevel::kDebug, "Tracker traffic.",
      {{"connection", connection.name},
       {"requests", std::to_string(result.tracker_traffic.requests)},
       {"wire_bytes", std::to_string(result.tracker_traffic.wire_bytes)},
       {"decoded_bytes", std::to_string(result.tracker_traffic.decoded_bytes)}});
  if (!options.dry_run) {
    const SyncCounts& n = result.report.counts;
    RunRecord run;
    run.connection = connection.name;
    run.started_at = started_at;
    run.seconds = result.seconds;
    run.result = result.ok() ? "ok" : "failed";
    run.pulled = n.pulled;
    run.created = n.created;
    run.updated = n.updated;
    run.archived = n.archived;
    run.unchanged = n.unchanged;
    run.skipped = n.skipped;
    run.failed = n.failed;
    run.written = result.written;
    run.error = result.FirstError();
    if (auto recorded = state.RecordRun(run); !recorded && !result.report.error) {
      result.report.error = recorded.error();
    }
  }
  return result;
}

std::string SummaryLine(const CycleResult& result) {
  const SyncCounts& n = result.report.counts;
  char time[32];
  std::snprintf(time, sizeof time, "%.2fs", result.seconds);
  return result.report.connection + ": pulled " + std::to_string(n.pulled) + ", created " +
         std::to_string(n.created) + ", updated " + std::to_string(n.updated) + ", archived " +
         std::to_string(n.archived) + ", unchanged " + std::to_string(n.unchanged) +
         ", skipped " + std::to_string(n.skipped) + ", failed " + std::to_string(n.failed) +
         ", board writes " + std::to_string(result.written) +
         (result.parked > 0 ? ", refused " + std::to_string(result.parked) : "") + ", " + time;
}

}  // namespace boardsync

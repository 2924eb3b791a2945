#include "daemon/sync_back.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <utility>

#include "connectors/http/json.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/text.h"
#include "core/time.h"
#include "daemon/sync.h"

namespace boardsync {
namespace {

// Of the mapping's sync_back section: another one reads the board's scores
// from the start again (the ledger keeps that from writing anything twice).
std::string SyncBackFingerprint(const SyncBack& sync_back) {
  std::string text;
  for (const SyncBackField& field : sync_back.fields) {
    AppendJsonString(text, field.target);
    AppendJsonString(text, field.from);
    text += FieldTypeName(field.type);
    text += ';';
  }
  return Fnv1a64Hex(text);
}

// The values `page` gives the connection's targets; a score that cannot be
// converted is a problem of its item and gives none.
std::vector<WritebackValue> ValuesOf(const std::vector<BoardScore>& page,
                                     const std::string& prefix, const SyncBack& sync_back,
                                     SyncBackReport& report) {
  std::vector<WritebackValue> values;
  for (const BoardScore& score : page) {
    if (!score.item_key.starts_with(prefix)) {
      continue;  // another connection's item
    }
    for (const SyncBackField& target : sync_back.fields) {
      if (target.from != score.name) {
        continue;
      }
      ++report.scores;
      auto json = TargetValueJson(score.value, target.type);
      if (!json) {
        report.problems.push_back(score.item_key + ": field \"" + target.target +
                                  "\": " + json.error().message);
        continue;
      }
      values.push_back(WritebackValue{score.item_key, target.target, std::move(*json)});
    }
  }
  return values;
}

std::string IssueName(const std::string& item_key, const std::string& source_key) {
  return source_key.empty() ? item_key : source_key + " (" + item_key + ")";
}

class ConnectionSyncBack {
 public:
  ConnectionSyncBack(const ConnectionConfig& connection, const SyncBack& sync_back,
                     StateStore& state, ScoreSource& scores, FieldWriter* writer,
                     const SyncBackOptions& options, SyncBackReport& report)
      : connection_(connection),
        sync_back_(sync_back),
        state_(state),
        scores_(scores),
        writer_(writer),
        options_(options),
        report_(report),
        prefix_(ItemKey(connection.name, "")) {}

  // Reads the scores changed since the cursor and queues what differs from
  // the ledger, page by page with the cursor; a dry run only plans.
  Result<void> ReadScores() {
    const std::string fingerprint = SyncBackFingerprint(sync_back_);
    auto saved = state_.ScoreCursorOf(connection_.name);
    if (!saved) {
      return std::unexpected(saved.error());
    }
    std::string since;
    if (*saved && (*saved)->board == connection_.board && (*saved)->fingerprint == fingerprint) {
      since = (*saved)->cursor;
    }
    while (true) {
      if (options_.stop.stop_requested()) {
        return Fail(ErrorCode::kCancelled, "stopped while reading the board's scores");
      }
      auto page = scores_.ReadScores(connection_.board, since, options_.page_size);
      if (!page) {
        return std::unexpected(page.error().Wrap("reading the board's scores"));
      }
      if (page->next.empty() || (page->next == since && !page->scores.empty())) {
        return Fail(ErrorCode::kBadResponse,
                    "reading the board's scores: the store's cursor did not move on");
      }
      std::vector<WritebackValue> values = ValuesOf(page->scores, prefix_, sync_back_, report_);
      if (options_.dry_run) {
        if (auto planned = Plan(values); !planned) {
          return planned;
        }
      } else if (!values.empty() || page->next != since) {
        const ScoreCursor cursor{connection_.board, page->next, fingerprint};
        auto queued = state_.StageWritebacks(connection_.name, values, &cursor);
        if (!queued) {
          return std::unexpected(queued.error());
        }
        report_.unchanged += static_cast<std::int64_t>(values.size() - *queued);
      }
      if (page->scores.empty()) {
        return {};
      }
      since = page->next;
    }
  }

  // Writes the queued values, one issue at a time.
  Result<void> Write() {
    auto queued = state_.QueuedWritebacks(connection_.name);
    if (!queued) {
      return std::unexpected(queued.error());
    }
    report_.queued = static_cast<std::int64_t>(queued->size());
    if (queued->empty()) {
      return {};
    }
    if (writer_ == nullptr) {
      return Fail(ErrorCode::kConfig, "its tracker has no fields boardsync can write");
    }
    // By item: QueuedWritebacks() orders them so.
    std::vector<std::pair<std::string, std::vector<QueuedWriteback>>> by_item;
    for (QueuedWriteback& write : *queued) {
      if (by_item.empty() || by_item.back().first != write.item_key) {
        by_item.emplace_back(write.item_key, std::vector<QueuedWriteback>());
      }
      by_item.back().second.push_back(std::move(write));
    }
    std::vector<std::string> keys;
    for (const auto& [key, writes] : by_item) {
      keys.push_back(key);
    }
    auto known = state_.KnownItems(connection_.name, keys);
    if (!known) {
      return std::unexpected(known.error());
    }
    // Only issues whose items are on the board: the others' values are
    // dropped (an issue that comes back gets them with its next score change).
    std::vector<std::int64_t> drop;
    std::vector<IssueRef> issues;
    std::vector<std::pair<const std::string*, std::vector<QueuedWriteback>*>> live;  // by issue
    for (auto& [key, writes] : by_item) {
      auto it = known->find(key);
      if (it == known->end() || it->second.status != ItemStatus::kLive) {
        for (const QueuedWriteback& write : writes) {
          drop.push_back(write.seq);
        }
        continue;
      }
      issues.push_back(IssueRef{key.substr(prefix_.size()), it->second.source_key});
      live.emplace_back(&key, &writes);
    }
    if (!drop.empty()) {
      if (auto dropped = state_.DropWritebacks(connection_.name, drop); !dropped) {
        return dropped;
      }
      report_.dropped = static_cast<std::int64_t>(drop.size());
      report_.queued -= report_.dropped;
    }
    if (issues.empty()) {
      return {};
    }
    std::vector<WriteTarget> targets;
    for (const SyncBackField& field : sync_back_.fields) {
      targets.push_back(WriteTarget{field.target, field.type});
    }
    auto checks = writer_->Prepare(targets, sync_back_.create, issues, options_.stop);
    if (!checks) {
      return std::unexpected(checks.error());
    }
    std::unordered_map<std::string, bool> writable;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const bool ok = i < checks->size() && (*checks)[i].problem.empty();
      writable[targets[i].name] = ok;
      if (!ok) {
        const SyncBackField& field = sync_back_.fields[i];
        report_.problems.push_back(
            connection_.mapping.string() + ":" + std::to_string(field.line) + ":" +
            std::to_string(field.column) + ": sync_back field \"" + field.target + "\": " +
            (i < checks->size() ? (*checks)[i].problem : "not checked by the tracker"));
      } else if ((*checks)[i].created) {
        Log(LogLevel::kInfo, "sync back: made tracker field \"" + targets[i].name + "\"",
            {{"connection", connection_.name}});
      }
    }
    for (std::size_t i = 0; i < issues.size(); ++i) {
      const IssueRef& issue = issues[i];
      const std::string& key = *live[i].first;
      std::vector<QueuedWriteback>& writes = *live[i].second;
      if (options_.stop.stop_requested()) {
        return Fail(ErrorCode::kCancelled, "stopped between tracker writes");
      }
      std::vector<QueuedWriteback> sending;
      std::vector<FieldValue> values;
      for (QueuedWriteback& write : writes) {
        if (!writable[write.field]) {
          continue;  // stays queued until the field can be written
        }
        auto value = ParseJson(write.value_json);
        if (!value) {
          return Fail(ErrorCode::kStorage, "a queued tracker write of " + key +
                                               " is not JSON: " + value.error().message);
        }
        values.push_back(FieldValue{write.field, std::move(*value)});
        sending.push_back(std::move(write));
      }
      if (values.empty()) {
        continue;
      }
      std::vector<std::int64_t> seqs;
      for (const QueuedWriteback& write : sending) {
        seqs.push_back(write.seq);
      }
      // Before the tracker may have them: a kill from here on leaves the
      // tracker's value unknown, and these rows must then be written again.
      if (auto marked = state_.MarkWritebacksSent(connection_.name, seqs); !marked) {
        return marked;
      }
      auto outcome = writer_->Write(issue, values, options_.stop);
      if (!outcome) {
        return std::unexpected(outcome.error().Wrap(IssueName(key, issue.key)));
      }
      if (outcome->refused) {
        std::string message = Redact(outcome->message);
        if (issue.key.empty()) {
          // Items staged before their human keys were kept (an upgrade).
          message = key + ": " + message +
                    " (its issue key is not known yet: the next change of the issue, or "
                    "`boardsync sync --full`, records it)";
        }
        if (auto refused = state_.RefuseWritebacks(connection_.name, seqs, message); !refused) {
          return refused;
        }
        ++report_.failed;
        report_.problems.push_back(message);
        continue;
      }
      if (auto settled = state_.SettleWritebacks(connection_.name, sending); !settled) {
        return settled;
      }
      ++report_.written;
      report_.queued -= static_cast<std::int64_t>(sending.size());
    }
    return {};
  }

 private:
  // Dry run: what the queue would hold once `values` were queued.
  Result<void> Plan(const std::vector<WritebackValue>& values) {
    auto ledger = state_.Ledger(connection_.name, values);
    if (!ledger) {
      return std::unexpected(ledger.error());
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
      const WritebackValue& value = values[i];
      const std::optional<std::string>& was = (*ledger)[i];
      const bool same = was ? *was == value.value_json : value.value_json == "null";
      plan_[value.item_key][value.field] =
          Planned{value.value_json, was.value_or("none"), same};
      report_.unchanged += same ? 1 : 0;
    }
    return {};
  }

 public:
  // Dry run: the queued writes and the planned ones, one line per issue.
  Result<void> PrintPlan() {
    auto queued = state_.QueuedWritebacks(connection_.name);
    if (!queued) {
      return std::unexpected(queued.error());
    }
    std::vector<WritebackValue> queued_values;
    for (const QueuedWriteback& write : *queued) {
      queued_values.push_back(WritebackValue{write.item_key, write.field, write.value_json});
    }
    auto ledger = state_.Ledger(connection_.name, queued_values);
    if (!ledger) {
      return std::unexpected(ledger.error());
    }
    // Planned values are newer than queued ones.
    std::map<std::string, std::map<std::string, std::optional<std::pair<std::string, std::string>>>>
        all;
    std::map<std::pair<std::string, std::string>, bool> sent;
    for (std::size_t i = 0; i < queued_values.size(); ++i) {
      all[queued_values[i].item_key][queued_values[i].field] =
          std::make_pair(queued_values[i].value_json, (*ledger)[i].value_or("none"));
      sent[{queued_values[i].item_key, queued_values[i].field}] = (*queued)[i].sent;
    }
    for (auto& [item, fields] : plan_) {
      for (auto& [field, planned] : fields) {
        // As StageWritebacks(): the ledger's value needs no write, unless a
        // value sent since may have reached the tracker.
        if (planned.same && !sent[{item, field}]) {
          all[item][field].reset();
        } else {
          all[item][field] = std::make_pair(planned.value, planned.was);
        }
      }
    }
    std::vector<std::string> keys;
    for (const auto& [item, fields] : all) {
      keys.push_back(item);
    }
    auto known = state_.KnownItems(connection_.name, keys);
    if (!known) {
      return std::unexpected(known.error());
    }
    for (const auto& [item, fields] : all) {
      std::string line;
      for (const auto& [field, value] : fields) {
        if (!value) {
          continue;
        }
        line += line.empty() ? "" : ", ";
        std::string quoted;
        AppendJsonString(quoted, field);
        line += quoted + " = " + value->first + " (was " + value->second + ")";
      }
      if (line.empty()) {
        continue;
      }
      auto it = known->find(item);
      std::string name = IssueName(item, it == known->end() ? "" : it->second.source_key);
      if (it == known->end() || it->second.status != ItemStatus::kLive) {
        name += ", not on the board: would not be written";
      }
      report_.planned.push_back("would write " + name + ": " + line);
    }
    return {};
  }

 private:
  const ConnectionConfig& connection_;
  const SyncBack& sync_back_;
  StateStore& state_;
  ScoreSource& scores_;
  FieldWriter* writer_;
  const SyncBackOptions& options_;
  SyncBackReport& report_;
  const std::string prefix_;  // "<connection>:"
  // Dry run: item -> field -> the board's value, what the ledger has, and
  // whether they are the same.
  struct Planned {
    std::string value;
    std::string was;
    bool same = false;
  };
  std::map<std::string, std::map<std::string, Planned>> plan_;
};

}  // namespace

Result<std::string> TargetValueJson(const Value& score, FieldType type) {
  if (score.IsNull()) {
    return std::string("null");
  }
  std::optional<Value> number;
  if (score.IsNumber()) {
    number = score;
  } else if (score.IsString() && type != FieldType::kString) {
    number = NumberFromText(score.AsString());
  }
  switch (type) {
    case FieldType::kString:
      if (score.IsString()) {
        return Value(score.AsString()).ToJson();
      }
      if (score.IsNumber()) {
        // The number as written: 3, 12.5.
        return Value(score.ToJson()).ToJson();
      }
      break;
    case FieldType::kFloat:
      if (number) {
        const double d = number->AsNumber();
        if (std::isfinite(d)) {
          return Value(d).ToJson();
        }
      }
      break;
    case FieldType::kInteger:
      if (number) {
        const double d = std::round(number->AsNumber());
        if (number->IsInt()) {
          return Value(number->AsInt()).ToJson();
        }
        if (std::isfinite(d) && std::fabs(d) < 9.0e15) {
          return Value(static_cast<std::int64_t>(d)).ToJson();
        }
      }
      break;
  }
  std::string shown = score.ToJson();
  if (shown.size() > 60) {
    shown = shown.substr(0, 60) + "…";
  }
  return Fail(ErrorCode::kMapping,
              "the board's score " + shown + " is no " + std::string(FieldTypeName(type)));
}

SyncBackReport RunSyncBack(const ConnectionConfig& connection, const Mapping& mapping,
                           StateStore& state, ScoreSource& scores, FieldWriter* writer,
                           const SyncBackOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::string started_at = FormatIsoUtc(NowMs());
  SyncBackReport report;
  report.connection = connection.name;
  if (!mapping.sync_back) {
    return report;
  }
  ConnectionSyncBack run(connection, *mapping.sync_back, state, scores, writer, options, report);
  Result<void> done = run.ReadScores();
  if (done) {
    done = options.dry_run ? run.PrintPlan() : run.Write();
  }
  if (!done) {
    report.error = done.error();
    report.error->message = Redact(report.error->message);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!options.dry_run) {
    SyncBackRecord record;
    record.connection = connection.name;
    record.started_at = started_at;
    record.seconds = report.seconds;
    record.result = report.ok() ? "ok" : "failed";
    record.written = report.written;
    record.unchanged = report.unchanged;
    record.failed = report.failed;
    record.queued = report.queued;
    record.error = report.error ? report.error->message
                                : (report.problems.empty() ? "" : report.problems.front());
    if (auto recorded = state.RecordSyncBack(record); !recorded && !report.error) {
      report.error = recorded.error();
    }
  }
  return report;
}

std::string SyncBackSummaryLine(const SyncBackReport& report) {
  char time[32];
  std::snprintf(time, sizeof time, "%.2fs", report.seconds);
  return report.connection + ": sync back: scores " + std::to_string(report.scores) +
         ", written " + std::to_string(report.written) + ", unchanged " +
         std::to_string(report.unchanged) + ", refused " + std::to_string(report.failed) +
         (report.queued > 0 ? ", queued " + std::to_string(report.queued) : "") + ", " + time;
}

}  // namespace boardsync

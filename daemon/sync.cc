#include "daemon/sync.h"

#include "core/log.h"
#include "core/time.h"

namespace boardsync {
namespace {

// FNV-1a: the hash only tells "same content" from "changed", it guards nothing.
std::string ContentHash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// What decides whether the board must be written: everything the board shows.
// source_updated_at is left out so that a change in an unmapped field costs
// no board write.
std::string HashOf(const BoardItem& item) {
  Value::Object content;
  content.emplace("board", item.board);
  content.emplace("source_key", item.source_key);
  content.emplace("source_url", item.source_url);
  content.emplace("fields", item.fields);
  return ContentHash(Value(std::move(content)).ToJson());
}

constexpr std::size_t kMaxProblems = 100;

}  // namespace

std::string ItemKey(std::string_view connection, std::string_view issue_id) {
  std::string key(connection);
  key += ':';
  key += issue_id;
  return key;
}

SyncReport PullConnection(const ConnectionConfig& connection, TrackerSource& tracker,
                          const Mapping& mapping, StateStore& state, const SyncOptions& options) {
  SyncReport report;
  report.connection = connection.name;
  SyncCounts& counts = report.counts;

  PullRequest request;
  request.query = connection.query;
  request.fields = mapping.SourceFields();
  request.page_size = connection.page_size;
  request.limit = options.limit;

  auto on_page = [&](std::vector<Issue> page) -> Result<void> {
    counts.pulled += static_cast<std::int64_t>(page.size());
    std::vector<std::string> keys;
    keys.reserve(page.size());
    for (const Issue& issue : page) {
      keys.push_back(ItemKey(connection.name, issue.id));
    }
    auto known = state.KnownItems(connection.name, keys);
    if (!known) {
      return std::unexpected(known.error());
    }
    std::vector<StagedWrite> writes;
    for (std::size_t i = 0; i < page.size(); ++i) {
      const Issue& issue = page[i];
      auto previous = known->find(keys[i]);
      bool exists = previous != known->end();
      auto fields = ApplyMapping(mapping, issue);
      if (!fields) {
        ++counts.failed;
        if (report.problems.size() < kMaxProblems) {
          report.problems.push_back(fields.error().message);
        }
        Log(LogLevel::kWarn, "An issue could not be mapped; it is left as it was.",
            {{"connection", connection.name}, {"issue", issue.key},
             {"error", fields.error().message}});
        continue;
      }
      StagedWrite staged;
      BoardItem& item = staged.write.item;
      item.board = connection.board;
      item.item_key = keys[i];
      if (!fields->has_value()) {
        // Skipped by the mapping: an item already on the board leaves it.
        if (exists && !previous->second.archived) {
          staged.write.archive = true;
          ++counts.archived;
          writes.push_back(std::move(staged));
        } else {
          ++counts.skipped;
        }
        continue;
      }
      item.source_key = issue.key;
      item.source_url = issue.url;
      item.source_updated_at = FormatIsoUtc(issue.updated_ms);
      item.fields = std::move(**fields);
      staged.content_hash = HashOf(item);
      if (exists && !previous->second.archived &&
          previous->second.content_hash == staged.content_hash) {
        ++counts.unchanged;
        continue;
      }
      ++(exists ? counts.updated : counts.created);
      writes.push_back(std::move(staged));
    }
    if (options.on_progress) {
      options.on_progress(counts);
    }
    if (options.dry_run) {
      std::move(writes.begin(), writes.end(), std::back_inserter(report.changes));
      return {};
    }
    return state.Stage(connection.name, writes);
  };

  if (auto pulled = tracker.Pull(request, on_page); !pulled) {
    report.error = pulled.error();
  }
  return report;
}

Result<std::int64_t> DrainOutbox(StateStore& state, BoardSink& board, std::size_t batch_size) {
  std::int64_t delivered = 0;
  for (;;) {
    auto pending = state.Pending(batch_size);
    if (!pending) {
      return std::unexpected(pending.error());
    }
    if (pending->empty()) {
      return delivered;
    }
    std::vector<BoardWrite> writes;
    std::vector<std::int64_t> seqs;
    writes.reserve(pending->size());
    seqs.reserve(pending->size());
    for (OutboxEntry& entry : *pending) {
      writes.push_back(std::move(entry.write));
      seqs.push_back(entry.seq);
    }
    if (auto applied = board.Apply(writes); !applied) {
      return std::unexpected(applied.error());
    }
    if (auto acked = state.Acknowledge(seqs); !acked) {
      return std::unexpected(acked.error());
    }
    delivered += static_cast<std::int64_t>(writes.size());
  }
}

}  // namespace boardsync

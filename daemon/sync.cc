#include "daemon/sync.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <limits>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/log.h"
#include "core/text.h"
#include "core/time.h"

namespace boardsync {
namespace {

constexpr std::size_t kMaxProblems = 100;

// How long a tracker session (the token checked, the zone read) is trusted
// by incremental pulls, which then cost one request when nothing changed.
// Full passes and sweeps always check the token again.
constexpr std::int64_t kSessionTrustMs = 60 * 60'000;

// What decides whether the board must be written: everything the board shows.
// source_updated_at is left out so that a change in an unmapped field costs
// no board write.
// The hashed text is the canonical JSON of {board, fields, source_key,
// source_url}; `fields_json` is that of item.fields.
std::string HashOf(const BoardItem& item, std::string_view fields_json) {
  std::string content = "{\"board\":";
  AppendJsonString(content, item.board);
  content += ",\"fields\":";
  content += fields_json;
  content += ",\"source_key\":";
  AppendJsonString(content, item.source_key);
  content += ",\"source_url\":";
  AppendJsonString(content, item.source_url);
  content.push_back('}');
  return Fnv1a64Hex(content);
}

// One connection's sync: the passes over the tracker, and what each page
// stages in the state database.
class ConnectionSync {
 public:
  ConnectionSync(const ConnectionConfig& connection, TrackerSource& tracker,
                 const Mapping& mapping, StateStore& state, const SyncOptions& options)
      : connection_(connection),
        tracker_(tracker),
        mapping_(mapping),
        state_(state),
        options_(options),
        now_ms_(NowMs()) {
    report_.connection = connection.name;
  }

  SyncReport Run() {
    if (auto done = RunPasses(); !done) {
      report_.error = done.error();
    }
    return std::move(report_);
  }

  // A cursor moves at most this far: a tracker clock ahead of ours (or an
  // issue dated in the future) must not make later syncs ask for an empty
  // range (DESIGN §5).
  std::int64_t CursorCeiling() const { return now_ms_ + tracker_.UpdatedGranularityMs(); }

 private:
  Result<void> RunPasses() {
    auto cursor = state_.Cursor(connection_.name);
    if (!cursor) {
      return std::unexpected(cursor.error());
    }
    const std::string fingerprint = mapping_.Fingerprint();
    const bool remap = *cursor && (*cursor)->mapping_fingerprint != fingerprint;
    // A cursor past now: saved before cursors were bounded, or our clock
    // went back. What changed since it was saved is unknown: read it all.
    const bool future = *cursor && (*cursor)->updated_ms > CursorCeiling();
    if (future) {
      Log(LogLevel::kWarn,
          "The saved cursor is ahead of this machine's clock; reading every issue again.",
          {{"connection", connection_.name}, {"cursor", FormatIsoUtc((*cursor)->updated_ms)}});
    }
    const bool full = options_.full || !*cursor || remap || future;
    // A mapping change is recorded only once every item is re-mapped, so a
    // sync that stops half way starts the full pass again.
    cursor_ = cursor->value_or(SyncCursor{0, fingerprint, 0});
    if (future) {
      cursor_.updated_ms = 0;
    }
    const bool reconcile = !options_.dry_run && options_.limit == 0;
    if (auto failing = LoadFailures(); !failing) {
      return failing;
    }

    PullRequest request = BaseRequest();
    if (!full) {
      request.updated_from_ms = cursor_.updated_ms - tracker_.CursorOverlapMs();
      // Fixed at the start: later changes belong to the next sync.
      request.updated_to_ms = now_ms_;
      auto session = TrustedSession();
      if (!session) {
        return std::unexpected(session.error());
      }
      request.session = *session;
    }
    if (full) {
      // A long pass: the tracker may read slices of it side by side. An
      // incremental pull stays one request when nothing changed.
      request.concurrency = connection_.concurrency;
    }
    if (full && reconcile) {
      sweep_ = NextSweep();  // a full pass sees every issue: it is the sweep
    }
    if (auto pulled = tracker_.Pull(request, [this](IssuePage page) {
          return Process(std::move(page.issues), page.through_ms);
        });
        !pulled) {
      return pulled;
    }
    if (!request.session) {
      if (auto saved = SaveSession(); !saved) {
        return saved;
      }
    } else if (const auto now = tracker_.Session(); now && *now != *request.session) {
      // What the pull learnt besides the token (GitHub: the ETag of each
      // list read whole): kept, but the token check stays as old as it was.
      if (auto saved = SaveSession(trusted_checked_ms_); !saved) {
        return saved;
      }
    }
    if (!reconcile) {
      return {};
    }
    if (auto retried = RetryFailures(); !retried) {
      return retried;
    }
    if (!full) {
      const auto since_full = std::chrono::milliseconds(now_ms_ - cursor_.last_full_ms);
      if (since_full < connection_.full_resync) {
        return {};
      }
      if (auto swept = Sweep(); !swept) {
        return swept;
      }
      if (auto saved = SaveSession(); !saved) {  // the sweep checked the token
        return saved;
      }
    }
    return ArchiveUnseen(fingerprint);
  }

  // The session saved by the last pull that checked the token, while it is
  // recent enough to skip the check.
  Result<std::optional<TrackerSession>> TrustedSession() {
    auto saved = state_.Session(connection_.name);
    if (!saved) {
      return std::unexpected(saved.error());
    }
    if (!*saved || now_ms_ - (*saved)->checked_ms >= kSessionTrustMs ||
        (*saved)->checked_ms > now_ms_) {
      return std::optional<TrackerSession>();
    }
    trusted_checked_ms_ = (*saved)->checked_ms;
    return std::optional((*saved)->session);
  }

  // The tracker's session, as of a token check at `checked_ms` (default:
  // this sync's).
  Result<void> SaveSession(std::optional<std::int64_t> checked_ms = std::nullopt) {
    const std::optional<TrackerSession> session = tracker_.Session();
    if (!session || options_.dry_run) {
      return {};
    }
    return state_.SaveSession(connection_.name,
                              SavedSession{*session, checked_ms.value_or(now_ms_)});
  }

  // A number no earlier sweep of this connection used: its start time, made
  // distinct from the last one's even within the same millisecond.
  std::int64_t NextSweep() const { return std::max(now_ms_, cursor_.last_full_ms + 1); }

  PullRequest BaseRequest() const {
    PullRequest request;
    request.query = connection_.query;
    request.fields = mapping_.SourceFields();
    request.page_size = connection_.page_size;
    request.limit = options_.limit;
    request.stop = options_.stop;
    return request;
  }

  // An id-only pass over the query's issues marks every item still there.
  // Issues it finds that the board lacks (they came back, or entered the
  // query without changing) are then pulled in full.
  Result<void> Sweep() {
    sweep_ = NextSweep();
    PullRequest request = BaseRequest();
    request.ids_only = true;
    request.concurrency = connection_.concurrency;
    std::vector<std::string> missing;
    auto swept = tracker_.Pull(request, [&](std::vector<Issue> page) -> Result<void> {
      std::vector<std::string> keys = ItemKeys(page);
      auto known = state_.KnownItems(connection_.name, keys);
      if (!known) {
        return std::unexpected(known.error());
      }
      for (std::size_t i = 0; i < page.size(); ++i) {
        auto it = known->find(keys[i]);
        if ((it == known->end() || it->second.status == ItemStatus::kArchived) &&
            !page[i].key.empty()) {  // an issue decoded without a key: nothing to fetch it by
          missing.push_back(page[i].key);
        }
      }
      return state_.MarkSeen(connection_.name, *sweep_, keys);
    });
    if (!swept || missing.empty()) {
      return swept;
    }
    // A slice may hand an issue on twice (it changed meanwhile): fetch it once.
    std::sort(missing.begin(), missing.end());
    missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
    PullRequest fetch = BaseRequest();
    fetch.keys = std::move(missing);
    return tracker_.Pull(fetch, [this](std::vector<Issue> page) {
      return Process(std::move(page), /*through_ms=*/std::nullopt);
    });
  }

  // The issues that failed before; each is forgotten once it succeeds.
  Result<void> LoadFailures() {
    auto failures = state_.Failures(connection_.name);
    if (!failures) {
      return std::unexpected(failures.error());
    }
    for (IssueFailure& failure : *failures) {
      if (!failure.item_key.empty()) {
        failing_items_.emplace(failure.item_key, failure.source_key);
      }
      failing_.emplace(failure.source_key, std::move(failure));
    }
    return {};
  }

  // Fetches by key the issues that failed before and were not read again
  // by this sync, whether or not their `updated` moved: a tracker may fix
  // a value without changing it. A key the tracker no longer returns is
  // forgotten: the issue was deleted, or moved (and so changed, and the
  // pulls by update time see it under its new key).
  Result<void> RetryFailures() {
    std::vector<std::string> keys;
    for (const auto& [key, failure] : failing_) {
      if (!retried_.contains(key)) {
        keys.push_back(key);
      }
    }
    if (keys.empty()) {
      return {};
    }
    PullRequest fetch = BaseRequest();
    fetch.keys = keys;
    if (auto pulled = tracker_.Pull(fetch, [this](std::vector<Issue> page) {
          return Process(std::move(page), /*through_ms=*/std::nullopt);
        });
        !pulled) {
      return pulled;
    }
    std::vector<std::string> gone;  // neither succeeded nor failed again
    for (const std::string& key : keys) {
      if (failing_.contains(key) && !retried_.contains(key)) {
        gone.push_back(key);
      }
    }
    if (gone.empty()) {
      return {};
    }
    Log(LogLevel::kInfo, "Issues that failed before are no longer found by their key; forgotten.",
        {{"connection", connection_.name}, {"issues", std::to_string(gone.size())}});
    const FailureChanges changes{{}, gone};
    return state_.Stage(connection_.name, {}, nullptr, nullptr, &changes);
  }

  // Counts and reports an issue that could not be decoded or mapped, and
  // keeps it to be tried again (`failed`).
  void RecordFailure(const Issue& issue, std::string_view item_key, const std::string& reason,
                     std::vector<IssueFailure>& failed) {
    ++report_.counts.failed;
    if (report_.problems.size() < kMaxProblems) {
      report_.problems.push_back(reason);
    }
    Log(LogLevel::kWarn, "An issue could not be read; its item is left as it was.",
        {{"connection", connection_.name}, {"issue", issue.key}, {"error", reason}});
    if (issue.key.empty()) {
      return;  // nothing to fetch it by; the pulls by update time see it again
    }
    retried_.insert(issue.key);
    failed.push_back(IssueFailure{issue.key, issue.id.empty() ? std::string() : std::string(item_key),
                                  reason, {}});
  }

  // An issue read and mapped: whatever failed of it before is forgotten.
  // (Nothing is kept per issue otherwise: a first sync may read millions.)
  void RecordSuccess(const Issue& issue, const std::string& item_key,
                     std::vector<std::string>& resolved) {
    if (failing_.empty()) {
      return;
    }
    if (auto it = failing_items_.find(item_key); it != failing_items_.end()) {
      resolved.push_back(it->second);  // under the key it had then
      failing_.erase(it->second);
      failing_items_.erase(it);
    }
    if (failing_.erase(issue.key) > 0) {
      resolved.push_back(issue.key);
    }
  }

  // Archives the live items the sweep did not see and records the
  // reconciliation (and the mapping it used) in the cursor.
  Result<void> ArchiveUnseen(const std::string& fingerprint) {
    auto unseen = state_.LiveUnseen(connection_.name, *sweep_);
    if (!unseen) {
      return std::unexpected(unseen.error());
    }
    std::vector<StagedWrite> writes;
    writes.reserve(unseen->size());
    for (ItemVersion& item : *unseen) {
      StagedWrite& staged = writes.emplace_back();
      staged.write.archive = true;
      staged.write.item.board = connection_.board;
      staged.write.item.item_key = std::move(item.item_key);
      // The last version seen: should the issue come back unchanged, its
      // upsert is not older than this archive, and wins after it.
      staged.write.item.source_updated_at = std::move(item.source_updated_at);
      staged.status = ItemStatus::kArchived;
    }
    report_.counts.archived += static_cast<std::int64_t>(writes.size());
    cursor_.mapping_fingerprint = fingerprint;
    cursor_.last_full_ms = *sweep_;
    return state_.Stage(connection_.name, writes, &cursor_);
  }

  std::vector<std::string> ItemKeys(const std::vector<Issue>& page) const {
    std::vector<std::string> keys;
    keys.reserve(page.size());
    for (const Issue& issue : page) {
      keys.push_back(ItemKey(connection_.name, issue.id));
    }
    return keys;
  }

  // Maps one page, compares it with what was staged before, and stages the
  // changes in one transaction, with the cursor moved to `through_ms` (how
  // far the pull has got, IssuePage) when the pull says.
  Result<void> Process(std::vector<Issue> page, std::optional<std::int64_t> through_ms) {
    if (options_.stop.stop_requested()) {
      return Fail(ErrorCode::kCancelled, "stopped before the page was staged");
    }
    SyncCounts& counts = report_.counts;
    counts.pulled += static_cast<std::int64_t>(page.size());
    const std::vector<std::string> keys = ItemKeys(page);
    auto known = state_.KnownItems(connection_.name, keys);
    if (!known) {
      return std::unexpected(known.error());
    }
    std::vector<StagedWrite> writes;
    std::vector<IssueFailure> failed;
    std::vector<std::string> resolved;
    // Never by the newest issue of the page: pulled in slices, a page may
    // run ahead of issues that other slices have yet to hand on.
    const bool advance_cursor = through_ms.has_value();
    if (advance_cursor) {
      cursor_.updated_ms = std::max(cursor_.updated_ms, std::min(*through_ms, CursorCeiling()));
    }
    for (std::size_t i = 0; i < page.size(); ++i) {
      Issue& issue = page[i];
      if (!issue.decode_error.empty()) {
        RecordFailure(issue, keys[i], issue.decode_error, failed);
        continue;
      }
      auto previous = known->find(keys[i]);
      const KnownItem* before = previous == known->end() ? nullptr : &previous->second;
      auto fields = ApplyMapping(mapping_, issue);
      if (!fields) {
        RecordFailure(issue, keys[i], fields.error().message, failed);
        continue;
      }
      RecordSuccess(issue, keys[i], resolved);
      StagedWrite staged;
      BoardItem& item = staged.write.item;
      item.board = connection_.board;
      item.item_key = keys[i];
      item.source_updated_at = FormatIsoUtc(issue.updated_ms);
      if (!fields->has_value()) {
        Skip(before, staged, writes);
        continue;
      }
      item.source_key = std::move(issue.key);
      item.source_url = std::move(issue.url);
      item.fields = std::move(**fields);
      AppendJsonObject(staged.fields_json, item.fields);
      staged.content_hash = HashOf(item, staged.fields_json);
      if (before != nullptr && before->status == ItemStatus::kLive &&
          before->content_hash == staged.content_hash) {
        ++counts.unchanged;
        if (before->source_key.empty()) {
          // Staged before the human key was kept (sync back writes by it):
          // only remembered, no board write.
          staged.queue = false;
          writes.push_back(std::move(staged));
        }
        continue;
      }
      // An item that was ever on the board has a content hash, even when it
      // was archived or skipped since.
      ++(before != nullptr && !before->content_hash.empty() ? counts.updated : counts.created);
      writes.push_back(std::move(staged));
    }
    if (options_.on_progress) {
      options_.on_progress(counts);
    }
    if (options_.dry_run) {
      std::move(writes.begin(), writes.end(), std::back_inserter(report_.changes));
      return {};
    }
    const SeenItems seen{sweep_.value_or(0), keys};
    const FailureChanges failures{failed, resolved};
    if (auto staged = state_.Stage(connection_.name, writes, advance_cursor ? &cursor_ : nullptr,
                                   sweep_ ? &seen : nullptr,
                                   failed.empty() && resolved.empty() ? nullptr : &failures);
        !staged) {
      return staged;
    }
    if (options_.on_staged) {
      options_.on_staged(static_cast<std::size_t>(
          std::count_if(writes.begin(), writes.end(), [](const StagedWrite& w) { return w.queue; })));
    }
    return {};
  }

  // A skipped issue: an item on the board leaves it; otherwise it is only
  // remembered, so that reconciliation does not fetch it again.
  void Skip(const KnownItem* before, StagedWrite& staged, std::vector<StagedWrite>& writes) {
    staged.status = ItemStatus::kSkipped;
    if (before != nullptr && before->status == ItemStatus::kLive) {
      staged.write.archive = true;
      ++report_.counts.archived;
    } else {
      ++report_.counts.skipped;
      staged.queue = false;
      if (before != nullptr && before->status == ItemStatus::kSkipped) {
        return;
      }
    }
    writes.push_back(std::move(staged));
  }

  const ConnectionConfig& connection_;
  TrackerSource& tracker_;
  const Mapping& mapping_;
  StateStore& state_;
  const SyncOptions& options_;
  const std::int64_t now_ms_;
  SyncCursor cursor_;
  std::optional<std::int64_t> sweep_;  // set while reconciling
  std::int64_t trusted_checked_ms_ = 0;  // when the session handed to the pull was checked
  // Issues that failed before this sync (by source key; and the source key
  // by item key), less those that succeeded since.
  std::map<std::string, IssueFailure> failing_;
  std::unordered_map<std::string, std::string> failing_items_;
  std::unordered_set<std::string> retried_;  // source keys that failed again in this sync
  SyncReport report_;
};

}  // namespace

std::string ItemKey(std::string_view connection, std::string_view issue_id) {
  std::string key(connection);
  key += ':';
  key += issue_id;
  return key;
}

SyncReport PullConnection(const ConnectionConfig& connection, TrackerSource& tracker,
                          const Mapping& mapping, StateStore& state, const SyncOptions& options) {
  return ConnectionSync(connection, tracker, mapping, state, options).Run();
}

namespace {

// One lock per connection's outbox: two deliveries of one outbox at once
// would send the same batches twice (harmless, as batches are idempotent,
// but wasteful). The locks live as long as the process; there is one per
// connection ever synced.
std::mutex& OutboxLock(const std::string& connection) {
  static std::mutex guard;
  static std::map<std::string, std::mutex> locks;
  std::lock_guard lock(guard);
  return locks[connection];
}

}  // namespace

OutboxDelivery::OutboxDelivery(StateStore& state, BoardSink& board, std::string_view connection,
                               std::size_t batch_size)
    : state_(state), board_(board), connection_(connection), batch_size_(batch_size) {}

OutboxDelivery::~OutboxDelivery() {
  if (applying_.valid()) {
    applying_.wait();  // unsettled: the batch stays queued and is sent again
  }
}

bool OutboxDelivery::Start() { return Begin(/*wait=*/false); }

bool OutboxDelivery::Begin(bool wait) {
  if (error_) {
    return false;
  }
  if (applying_.valid()) {
    if (applying_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      return false;
    }
    Settle(applying_.get());
    if (error_ || !wait) {
      // The next batch waits for the next call: until then the outbox lock
      // is free, so that a long pull does not hold up other workers.
      return false;
    }
  }
  // Another worker's batch in flight: its delivery takes these writes along,
  // or Finish() does.
  std::mutex& outbox = OutboxLock(connection_);
  lock_ = wait ? std::unique_lock(outbox) : std::unique_lock(outbox, std::try_to_lock);
  if (!lock_.owns_lock()) {
    return false;
  }
  auto pending = state_.Pending(connection_, batch_size_);
  if (!pending || pending->empty()) {
    if (!pending) {
      error_ = pending.error();
    }
    lock_.unlock();
    return false;
  }
  seqs_.clear();
  writes_.clear();
  writes_.reserve(pending->size());
  for (OutboxEntry& entry : *pending) {
    writes_.push_back(std::move(entry.write));
    seqs_.push_back(entry.seq);
  }
  // writes_ stays as it is until Settle(), which waits for this.
  applying_ = std::async(std::launch::async, [this] { return board_.Apply(writes_); });
  return true;
}

void OutboxDelivery::Settle(const Result<std::vector<RefusedWrite>>& applied) {
  if (!applied && (applied.error().retriable || applied.error().code != ErrorCode::kBadResponse)) {
    // The store is down, or refuses the token: nothing later would get
    // through either. Keep the writes queued.
    error_ = applied.error();
    lock_.unlock();
    return;
  }
  // Indices into the batch: the writes the store refused, each once.
  std::vector<bool> is_refused(seqs_.size(), false);
  std::vector<std::size_t> refused_at;
  std::vector<Refusal> refused;
  auto refuse = [&](std::size_t index, const std::string& message) {
    if (index < seqs_.size() && !is_refused[index]) {
      is_refused[index] = true;
      refused_at.push_back(index);
      refused.push_back(Refusal{seqs_[index], message});
    }
  };
  if (!applied) {
    // A store that refuses the batch without saying which writes: all of
    // them are set aside.
    for (std::size_t i = 0; i < seqs_.size(); ++i) {
      refuse(i, applied.error().message);
    }
  } else {
    for (const RefusedWrite& write : *applied) {
      refuse(write.index, write.message);
    }
  }
  std::vector<std::int64_t> acknowledged;
  for (std::size_t i = 0; i < seqs_.size(); ++i) {
    if (!is_refused[i]) {
      acknowledged.push_back(seqs_[i]);
    }
  }
  if (!refused.empty()) {
    Log(LogLevel::kWarn, "The board store refused items; they are set aside.",
        {{"items", std::to_string(refused.size())},
         {"first", writes_[refused_at.front()].item.item_key},
         {"error", refused.front().message}});
    if (auto parked = state_.Park(connection_, refused); !parked) {
      error_ = parked.error();
      lock_.unlock();
      return;
    }
    delivery_.parked += static_cast<std::int64_t>(refused.size());
  }
  if (auto acked = state_.Acknowledge(connection_, acknowledged); !acked) {
    error_ = acked.error();
  } else {
    delivery_.delivered += static_cast<std::int64_t>(acknowledged.size());
  }
  lock_.unlock();
}

Result<Delivery> OutboxDelivery::Finish() {
  if (applying_.valid()) {
    Settle(applying_.get());
  }
  while (!error_ && Begin(/*wait=*/true)) {
    Settle(applying_.get());
  }
  if (error_) {
    return std::unexpected(*error_);
  }
  return delivery_;
}

Result<Delivery> DrainOutbox(StateStore& state, BoardSink& board, std::string_view connection,
                             std::size_t batch_size) {
  return OutboxDelivery(state, board, connection, batch_size).Finish();
}

}  // namespace boardsync

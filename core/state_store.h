// StateStore: what boardsync remembers between runs, per connection and item.
// Pulled items, the board writes they cause and (later) the cursor commit
// together; writes then wait in an outbox until the board store acknowledges
// them, so a crash at any point loses nothing and a retry duplicates nothing.
// Implementations are used from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/issue.h"

namespace boardsync {

// A board write and the content hash the item has once it is applied.
struct StagedWrite {
  BoardWrite write;
  std::string content_hash;  // empty for archive writes
};

struct OutboxEntry {
  std::int64_t seq = 0;
  std::string connection;
  BoardWrite write;
};

struct KnownItem {
  std::string content_hash;
  bool archived = false;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // What was last staged for these items of `connection`; unknown keys are absent.
  virtual Result<std::unordered_map<std::string, KnownItem>> KnownItems(
      std::string_view connection, std::span<const std::string> item_keys) = 0;

  // Records the items' new state and queues their writes, in one transaction.
  virtual Result<void> Stage(std::string_view connection, std::span<const StagedWrite> writes) = 0;

  // The oldest queued writes, at most `limit`.
  virtual Result<std::vector<OutboxEntry>> Pending(std::size_t limit) = 0;
  virtual Result<std::size_t> PendingCount(std::string_view connection) = 0;

  // Removes delivered writes from the outbox.
  virtual Result<void> Acknowledge(std::span<const std::int64_t> seqs) = 0;
};

}  // namespace boardsync

// BoardSink: the interface every board store implements.
// Apply() is all or nothing and idempotent: applying the same writes twice
// leaves the board as applying them once. A store never lets an upsert
// replace an item with an older source_updated_at.
#pragma once

#include <span>

#include "core/error.h"
#include "core/issue.h"

namespace boardsync {

class BoardSink {
 public:
  virtual ~BoardSink() = default;
  virtual Result<void> Apply(std::span<const BoardWrite> writes) = 0;
};

}  // namespace boardsync

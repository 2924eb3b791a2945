// BoardSink: the interface every board store implements.
// Apply() is idempotent: applying the same writes twice leaves the board as
// applying them once. Writes for one item are applied in the order of the
// issue's versions (DESIGN §5): a store never lets an upsert or an archive
// replace what it holds for a newer source_updated_at.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/issue.h"

namespace boardsync {

// One write a store refused on its own (its content is at fault, not the
// store): `index` into the writes given to Apply(), and the store's message.
struct RefusedWrite {
  std::size_t index = 0;
  std::string message;

  friend bool operator==(const RefusedWrite&, const RefusedWrite&) = default;
};

class BoardSink {
 public:
  virtual ~BoardSink() = default;

  // Applies `writes` in order. On success every write was applied except
  // the ones returned, which the store refused for good; sending those again
  // unchanged would not help. An error means the store could not take the
  // writes now (down, credentials refused): none of them counts as applied,
  // and all may be sent again.
  //
  // Versions: an upsert carries its issue's version in
  // item.source_updated_at; so does an archive (the version of the issue it
  // was decided on; empty for writes queued before versions were kept, which
  // then apply unconditionally). A write whose version is older than the
  // item's on the board is ignored, and counts as applied.
  //
  // Fields: an upsert's fields are item.fields_json when that is set (the
  // outbox hands them on as JSON, item.fields then empty), else item.fields.
  virtual Result<std::vector<RefusedWrite>> Apply(std::span<const BoardWrite> writes) = 0;
};

}  // namespace boardsync

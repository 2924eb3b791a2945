// ScoreSource: reading the scores a prioritization board keeps for its items
// (DESIGN §4.1 table `scores`, §4.2 the scores endpoint). The board
// application writes them; boardsync only reads them, for sync back (§3.1).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/value.h"

namespace boardsync {

// One score of one item, as the board last changed it.
struct BoardScore {
  std::string item_key;  // "<connection>:<issue id>"
  std::string name;      // "score", "rank", "alignment", ...
  Value value;           // a number or a text; null: the score was removed
  std::string updated_at;  // ISO-8601 UTC, as the board wrote it (informative only)

  friend bool operator==(const BoardScore&, const BoardScore&) = default;
};

// A page of score changes, oldest change first. `next` is what to pass as
// `since` for the following page and for the next sync back; it is never
// empty after a successful read. An empty `scores` means nothing newer.
struct ScorePage {
  std::vector<BoardScore> scores;
  std::string next;
};

class ScoreSource {
 public:
  virtual ~ScoreSource() = default;

  // The scores of `board` changed after `since` (empty: every score the
  // board holds), at most `limit` of them (a store may return fewer). A
  // score changed several times may come once, with its latest value; a
  // removed score comes with a null value. The cursor is the store's own
  // text: callers keep it and hand it back, nothing more.
  virtual Result<ScorePage> ReadScores(std::string_view board, std::string_view since,
                                       std::size_t limit) = 0;
};

}  // namespace boardsync

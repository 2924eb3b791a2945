// Issue and BoardItem: what flows through one sync, from tracker to board.
// An Issue is the tracker-neutral form a connector hands back; a BoardItem is
// what a mapping makes of it and what a board store keeps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/value.h"

namespace boardsync {

struct Issue {
  std::string id;   // the tracker's stable id (YouTrack: "2-1234"); never changes
  std::string key;  // the human key ("RAP-42"); changes when an issue moves
  std::string url;  // link to the issue in the tracker's web UI
  std::int64_t created_ms = 0;  // epoch milliseconds, UTC
  std::int64_t updated_ms = 0;
  std::optional<std::int64_t> resolved_ms;
  // Attributes ("summary", "tags") and custom fields ("State") by their
  // tracker name, in the value model of DESIGN §3.
  Value::Object fields;
  // Set when the connector could not decode this issue: why, naming the
  // issue and the field. Only id and key (each when the tracker gave one)
  // and updated_ms (when valid, else 0) are set then; the other issues of
  // the page go on (DESIGN §5: faults stay small).
  std::string decode_error;
};

struct BoardItem {
  std::string board;
  std::string item_key;    // "<connection>:<issue id>"
  std::string source_key;  // Issue::key
  std::string source_url;
  std::string source_updated_at;  // ISO-8601 UTC, fixed width: sorts as time
  Value::Object fields;           // the mapped fields
  // When not empty, the canonical JSON of the fields, which then stand for
  // `fields` (left empty): the outbox hands queued items on this way, and
  // board stores write it as it is.
  std::string fields_json;
};

// One change for a board store: an upsert of `item`, or, when `archive` is
// set, marking item.board/item.item_key archived (other members unused).
struct BoardWrite {
  BoardItem item;
  bool archive = false;
};

// The upsert form of DESIGN §4.2: {item_key, source_key, source_url,
// source_updated_at, fields}; the board travels beside it.
Value BoardItemToValue(const BoardItem& item);
// Appends BoardItemToValue(item).ToJson() to `out`, without the copy; with
// `fields_json` (else item.fields_json), that is taken as the JSON of
// item.fields.
void AppendBoardItemJson(std::string& out, const BoardItem& item,
                         std::string_view fields_json = {});
// The reverse; `board` is left empty. Fails on a value of another shape.
// The fields are moved out of `value`.
Result<BoardItem> BoardItemFromValue(Value value);

}  // namespace boardsync

// The SQLite board (board.db) as the end-to-end tests of incremental sync and
// crash safety read it, and its comparison with what a SampleTracker holds:
// the board is right when every selected issue has exactly one live item
// carrying the issue's latest `updated`, and nothing else is live.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "core/time.h"
#include "core/value.h"
#include "tests/support/sample_tracker.h"

namespace boardsync {

struct BoardRow {
  std::string item_key;
  std::string source_key;
  std::string source_url;
  std::string source_updated_at;
  std::string synced_at;
  std::optional<std::string> archived_at;
  Value fields;  // null when the column is not valid JSON

  bool archived() const { return archived_at.has_value(); }
  // A string field of the item, "" when absent.
  std::string Field(std::string_view name) const {
    const Value* v = fields.Find(name);
    return v != nullptr && v->IsString() ? v->AsString() : std::string();
  }
};

struct Board {
  std::map<std::string, BoardRow> rows;  // by item_key
  std::size_t row_count = 0;             // rows read, duplicates included

  const BoardRow* Find(std::string_view item_key) const {
    auto it = rows.find(std::string(item_key));
    return it == rows.end() ? nullptr : &it->second;
  }
  std::size_t live() const {
    return static_cast<std::size_t>(std::count_if(
        rows.begin(), rows.end(), [](const auto& entry) { return !entry.second.archived(); }));
  }
};

// Leaves in state.db (`state_db`) an archive of `item_key` decided on the
// issue's `version`, set aside as refused: what a run that stopped half way,
// or an older boardsync, may leave for `sync --retry-failed` to send late.
inline void ParkLateArchive(const std::filesystem::path& state_db, std::string_view connection,
                            std::string_view board, std::string_view item_key,
                            std::string_view version) {
  SQLite::Database state(state_db.string(), SQLite::OPEN_READWRITE);
  SQLite::Statement late(state,
                         "INSERT INTO outbox (connection, board, item_key, archive, payload, "
                         "failed_at, error) VALUES (?, ?, ?, 1, ?, '2024-01-01T00:00:00.000Z', "
                         "'HTTP 503')");
  late.bind(1, std::string(connection));
  late.bind(2, std::string(board));
  late.bind(3, std::string(item_key));
  std::string payload = "{\"source_updated_at\":";
  AppendJsonString(payload, version);
  late.bind(4, payload + "}");
  late.exec();
}

// Every item of `board` in the items table of `board_db`, opened read-only.
inline Board ReadBoard(const std::filesystem::path& board_db, std::string_view board = "roadmap") {
  Board result;
  SQLite::Database db(board_db.string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db,
                      "SELECT item_key, source_key, source_url, source_updated_at, synced_at, "
                      "archived_at, fields FROM items WHERE board = ?");
  q.bind(1, std::string(board));
  while (q.executeStep()) {
    BoardRow row;
    row.item_key = q.getColumn(0).getString();
    row.source_key = q.getColumn(1).getString();
    row.source_url = q.getColumn(2).getString();
    row.source_updated_at = q.getColumn(3).getString();
    row.synced_at = q.getColumn(4).getString();
    if (!q.getColumn(5).isNull()) {
      row.archived_at = q.getColumn(5).getString();
    }
    row.fields = ParseJson(q.getColumn(6).getString()).value_or(Value());
    ++result.row_count;
    std::string key = row.item_key;
    result.rows.insert_or_assign(std::move(key), std::move(row));
  }
  return result;
}

// `PRAGMA integrity_check` of a SQLite file: "ok" when it is sound.
inline std::string IntegrityCheck(const std::filesystem::path& db_file) {
  SQLite::Database db(db_file.string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "PRAGMA integrity_check");
  std::string result;
  while (q.executeStep()) {
    result += (result.empty() ? "" : "\n") + q.getColumn(0).getString();
  }
  return result;
}

// How a board differs from the tracker. Each entry names the item and says
// what is wrong, e.g. "sample:2-17 (RAP-2): older than the issue: ...".
struct BoardDifferences {
  std::vector<std::string> missing;  // a selected issue without a live item
  std::vector<std::string> extra;    // a live item without a selected issue
  std::vector<std::string> older;    // the item shows an older version of its issue
  std::vector<std::string> wrong;    // anything else: newer than the issue, wrong title or key

  bool empty() const { return missing.empty() && extra.empty() && older.empty() && wrong.empty(); }

  // At most `cap` entries of each kind, for a failure message.
  std::string ToString(std::size_t cap = 15) const {
    std::string out;
    auto list = [&](std::string_view title, const std::vector<std::string>& entries) {
      if (entries.empty()) {
        return;
      }
      out += std::string(title) + " (" + std::to_string(entries.size()) + "):\n";
      for (std::size_t i = 0; i < entries.size() && i < cap; ++i) {
        out += "  " + entries[i] + "\n";
      }
      if (entries.size() > cap) {
        out += "  ...\n";
      }
    };
    list("missing from the board", missing);
    list("on the board but not in the tracker's selection", extra);
    list("older than the tracker's issue", older);
    list("wrong", wrong);
    return out.empty() ? "none" : out;
  }
};

// Compares the live items of `board` with the issues of `tracker` that
// `selected` accepts (all when empty), as connection `connection` with a
// mapping that puts the summary in `title_field` (unchecked when empty).
inline BoardDifferences CompareBoard(const Board& board, const SampleTracker& tracker,
                                     std::string_view connection,
                                     const std::function<bool(const Value& issue)>& selected = {},
                                     std::string_view title_field = "title") {
  BoardDifferences d;
  std::set<std::string> expected;
  for (const std::string& id : tracker.IssueIds()) {
    std::optional<Value> issue = tracker.GetIssue(id);
    if (!issue || (selected && !selected(*issue))) {
      continue;
    }
    std::string key = std::string(connection) + ":" + id;
    std::string label = key + " (" + std::string(issue->StringOr("idReadable")) + ")";
    expected.insert(key);
    const BoardRow* row = board.Find(key);
    if (row == nullptr) {
      d.missing.push_back(label + ": no item");
      continue;
    }
    if (row->archived()) {
      d.missing.push_back(label + ": archived at " + *row->archived_at);
      continue;
    }
    const Value* updated = issue->Find("updated");
    std::string want = updated != nullptr && updated->IsInt() ? FormatIsoUtc(updated->AsInt()) : "";
    if (row->source_updated_at < want) {
      d.older.push_back(label + ": source_updated_at " + row->source_updated_at +
                        ", the issue's updated " + want);
    } else if (row->source_updated_at != want) {
      d.wrong.push_back(label + ": source_updated_at " + row->source_updated_at +
                        " is newer than the issue's updated " + want);
    }
    if (row->source_key != issue->StringOr("idReadable")) {
      d.wrong.push_back(label + ": source_key " + row->source_key);
    }
    if (!title_field.empty() && row->Field(title_field) != issue->StringOr("summary")) {
      d.wrong.push_back(label + ": " + std::string(title_field) + " \"" + row->Field(title_field) +
                        "\", the summary \"" + std::string(issue->StringOr("summary")) + "\"");
    }
  }
  for (const auto& [key, row] : board.rows) {
    if (!row.archived() && !expected.contains(key)) {
      d.extra.push_back(key + " (" + row.source_key + ")");
    }
  }
  return d;
}

// Makes every tracker session saved in `state_db` (state.db) as old as the
// token check an hour ago would be: the next pull checks the token again.
inline void ExpireTrackerSessions(const std::filesystem::path& state_db) {
  SQLite::Database db(state_db.string(), SQLite::OPEN_READWRITE);
  db.exec("UPDATE sessions SET checked_ms = checked_ms - 3600000");
}

// The name of an issue's State value, "" when it has none.
inline std::string StateOf(const Value& issue) {
  const Value* fields = issue.Find("customFields");
  if (fields == nullptr || !fields->IsList()) {
    return "";
  }
  for (const Value& field : fields->AsList()) {
    if (field.StringOr("name") == "State") {
      const Value* value = field.Find("value");
      return value != nullptr && value->IsObject() ? std::string(value->StringOr("name")) : "";
    }
  }
  return "";
}

// The example mapping skips duplicates: every other issue has an item.
inline bool NotDuplicate(const Value& issue) { return StateOf(issue) != "Duplicate"; }

}  // namespace boardsync

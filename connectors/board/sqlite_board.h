// SqliteBoard: the embedded board store, the `items` and `scores` tables of
// DESIGN §4.1 in their own SQLite file. Apply() is one transaction and refuses
// no single write; neither an upsert nor an archive applies over a row with a
// newer source_updated_at. ReadScores() reads what the board application
// changed in `scores`, through a change log boardsync keeps with triggers.
// One instance per thread; other processes may read and write the file
// meanwhile (WAL).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string_view>

#include "core/board_sink.h"
#include "core/score_source.h"

namespace boardsync {

// The scores change log (connectors/board/README.md, docs/board-api.md):
// boardsync adds to the board file a table `score_changes (seq INTEGER
// PRIMARY KEY AUTOINCREMENT, board, item_key, name)`, one row per score key
// holding the seq of its last change, and triggers on `scores` that give the
// key a new seq on every INSERT, UPDATE and DELETE. Seqs come from the
// database, not from the board's clock, follow commit order (SQLite has one
// writer at a time) and are never handed out twice, and a deleted score
// keeps its row in the log, so a reader sees removals. The cursor is the
// last seq read, in decimal.
class SqliteBoard : public BoardSink, public ScoreSource {
 public:
  // Creates `file` when missing, and in it the tables `items` and `scores`
  // when missing, and the change log with its triggers. ErrorCode::kUntrusted
  // when it is a symbolic link; kStorage when it cannot be opened or what is
  // missing cannot be created (a file boardsync may only read, e.g.).
  static Result<std::unique_ptr<SqliteBoard>> Open(const std::filesystem::path& file);
  ~SqliteBoard() override;

  Result<std::vector<RefusedWrite>> Apply(std::span<const BoardWrite> writes) override;

  // The changes to `board`'s scores with a seq above `since` (empty: "0"),
  // oldest first, at most `limit` of them (0 is read as 1). Each comes with
  // the row's value as it is now: an INTEGER or REAL as a number, a TEXT as
  // text (also "42"), a BLOB as the text of its bytes; NULL or no row (the
  // score was deleted) as null. Text is made valid UTF-8 (U+FFFD for what is
  // not). `next` is the last seq returned, or the cursor unchanged when
  // nothing is newer. A cursor above every seq the file ever handed out (the
  // board file was replaced by another) reads from the start. A cursor that
  // is not a decimal number is kStorage.
  //
  // Before reading it checks that the triggers are still in place (dropping
  // and creating `scores` again drops them) and puts them back if not; when
  // it does, and on the first Open() of a file, every score key in `scores`
  // or in the log gets a new seq (a backfill): what changed while nothing
  // watched cannot be told, so all is read again. When they are in place it
  // only reads.
  Result<ScorePage> ReadScores(std::string_view board, std::string_view since,
                               std::size_t limit) override;

 private:
  class Impl;
  explicit SqliteBoard(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace boardsync

// PostgresBoard: the board store in a PostgreSQL database (`board.type:
// postgres`), the `items` and `scores` tables of DESIGN §4.1 with JSONB for
// fields and values and timestamptz for times. It writes as SqliteBoard does
// (idempotent, never an older version over a newer one, versioned archives),
// one statement per batch, and reads the scores a board application writes
// with plain SQL through a change log kept by triggers. One instance per
// thread; any number of other sessions may read and write meanwhile.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/board_sink.h"
#include "core/score_source.h"
#include "core/secret.h"

namespace boardsync {

class PgConnection;

// The scores change log (README.md here): a table `score_changes (board,
// item_key, name, xid, seq)` with one row per score key, which triggers on
// `scores` (INSERT, UPDATE, DELETE, TRUNCATE) give the writing transaction's
// id (pg_current_xact_id()) and a new seq on every change. A reader hands out
// only changes whose transaction is older than every transaction of this
// database still running at its snapshot, in (xid, seq) order: all those
// have ended, so no change can later appear behind the cursor, however the
// board application's transactions interleave and in whatever order they
// commit. (Seqs alone would not do: they are taken when a transaction
// writes, not when it commits.) The cursor is "<xid>-<seq>" of the last
// change read.
class PostgresBoard : public BoardSink, public ScoreSource {
 public:
  // Connects (pg.h), brings the tables up to this version's schema (the
  // `board` component of boardsync_schema; a newer one is refused), and puts
  // the change log's triggers on `scores`. Errors are PgConnection's and
  // PgMigrate()'s, prefixed with "board store: ".
  static Result<std::unique_ptr<PostgresBoard>> Open(const Secret& url);
  ~PostgresBoard() override;

  // One statement for the whole batch (see the .cc for how the writes of
  // one item are folded into one row change that still honours their
  // order). Refused, by index: a write whose text is not UTF-8 or holds a
  // NUL character (PostgreSQL's text and JSONB cannot hold it), whose
  // version is not an ISO-8601 time, or that the server refuses as data
  // (the batch is halved until only the bad writes are left).
  Result<std::vector<RefusedWrite>> Apply(std::span<const BoardWrite> writes) override;

  // The changes to `board`'s scores after `since` (empty: all), oldest
  // first, at most `limit` (0 reads 1), each with the row as it is now: a
  // JSON number as a number (integer unless written with a fraction or
  // exponent), a string as text, null or no row as null, anything else
  // (true, a list, an object) as its JSON text. `next` is the last change
  // read, or `since` unchanged when nothing is newer; a cursor from another
  // database (beyond anything this one handed out) reads from the start; one
  // that is not "<xid>-<seq>" is kStorage. Before reading it checks the
  // triggers are in place and puts them back when not (the application made
  // `scores` again), logging every key again: what changed unwatched cannot
  // be told.
  Result<ScorePage> ReadScores(std::string_view board, std::string_view since,
                               std::size_t limit) override;

 private:
  struct Prepared;  // a write checked and made ready to send

  explicit PostgresBoard(std::unique_ptr<PgConnection> db);
  // Puts the change log's triggers in place when missing; the row of
  // kCheckScoreLog (triggers, next xid, last seq).
  Result<std::vector<std::optional<std::string>>> EnsureScoreLog();
  // Applies `writes` as one statement; when the server refuses their data,
  // each half alone, down to the single writes it then refuses.
  Result<void> ApplyChecked(std::span<const Prepared> writes, std::vector<RefusedWrite>& refused);

  std::unique_ptr<PgConnection> db_;
};

}  // namespace boardsync

#include "connectors/board/sqlite_board.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/text.h"
#include "core/time.h"

namespace boardsync {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS items (
  board TEXT NOT NULL,
  item_key TEXT NOT NULL,
  source_key TEXT NOT NULL,
  source_url TEXT NOT NULL,
  fields TEXT NOT NULL,
  source_updated_at TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  archived_at TEXT,
  PRIMARY KEY (board, item_key)
);
)sql";

// The scores the board application writes (DESIGN §4.1), and the change log
// boardsync reads them through. `value` has no declared type on purpose: a
// column declared ANY or NUMERIC would turn the text '42' into the number
// 42, one declared TEXT every number into text.
constexpr const char* kScoresSchema = R"sql(
CREATE TABLE IF NOT EXISTS scores (
  board TEXT NOT NULL,
  item_key TEXT NOT NULL,
  name TEXT NOT NULL,
  value,
  updated_at TEXT,
  PRIMARY KEY (board, item_key, name)
);
CREATE TABLE IF NOT EXISTS score_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  board TEXT,
  item_key TEXT,
  name TEXT,
  UNIQUE (board, item_key, name)
);
CREATE INDEX IF NOT EXISTS score_changes_by_board ON score_changes (board, seq);
)sql";

// One trigger per kind of change, each giving the key(s) it touched a new
// seq. A key's old row is deleted and a new one inserted, rather than
// INSERT OR REPLACE: an OR clause on the board application's own statement
// (INSERT OR IGNORE INTO scores ...) overrides the one in a trigger, and
// would leave the key's old seq in place. The insert cannot conflict.
// AUTOINCREMENT: a new seq is above every seq ever handed out, also those of
// rows since deleted, so a cursor never passes over one.
constexpr const char* kScoreTriggers = R"sql(
CREATE TRIGGER score_changes_on_insert AFTER INSERT ON scores BEGIN
  DELETE FROM score_changes
    WHERE board = NEW.board AND item_key = NEW.item_key AND name = NEW.name;
  INSERT INTO score_changes (board, item_key, name) VALUES (NEW.board, NEW.item_key, NEW.name);
END;
CREATE TRIGGER score_changes_on_update AFTER UPDATE ON scores BEGIN
  DELETE FROM score_changes
    WHERE (board = OLD.board AND item_key = OLD.item_key AND name = OLD.name)
       OR (board = NEW.board AND item_key = NEW.item_key AND name = NEW.name);
  INSERT INTO score_changes (board, item_key, name)
    SELECT OLD.board, OLD.item_key, OLD.name
    WHERE OLD.board IS NOT NEW.board OR OLD.item_key IS NOT NEW.item_key
       OR OLD.name IS NOT NEW.name;
  INSERT INTO score_changes (board, item_key, name) VALUES (NEW.board, NEW.item_key, NEW.name);
END;
CREATE TRIGGER score_changes_on_delete AFTER DELETE ON scores BEGIN
  DELETE FROM score_changes
    WHERE board = OLD.board AND item_key = OLD.item_key AND name = OLD.name;
  INSERT INTO score_changes (board, item_key, name) VALUES (OLD.board, OLD.item_key, OLD.name);
END;
)sql";

// Whether the tables and the three triggers are all there: 5 when so.
constexpr const char* kCountScoreLog = R"sql(
SELECT count(*) FROM sqlite_master
WHERE (type = 'table' AND name IN ('scores', 'score_changes'))
   OR (type = 'trigger' AND tbl_name = 'scores'
       AND name IN ('score_changes_on_insert', 'score_changes_on_update',
                    'score_changes_on_delete'))
)sql";

// Every key in `scores` or in the log gets a new seq, oldest updated_at
// first (deleted keys, which have none, before the others), so a reader at
// any cursor reads them all again.
constexpr const char* kRelogScores = R"sql(
DROP TABLE IF EXISTS temp.score_relog;
CREATE TEMP TABLE score_relog AS
  SELECT board, item_key, name FROM scores
  UNION SELECT board, item_key, name FROM score_changes;
DELETE FROM score_changes;
INSERT INTO score_changes (board, item_key, name)
  SELECT r.board, r.item_key, r.name FROM temp.score_relog r
  LEFT JOIN scores s ON s.board = r.board AND s.item_key = r.item_key AND s.name = r.name
  ORDER BY s.updated_at, r.board, r.item_key, r.name;
DROP TABLE temp.score_relog;
)sql";

// The highest seq the file ever handed out (AUTOINCREMENT keeps it).
constexpr const char* kLastSeq =
    "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'score_changes'), 0)";

// The changes after seq ?2 of board ?1, with each key's row as it is now.
constexpr const char* kReadScores = R"sql(
SELECT c.seq, c.item_key, c.name, s.value, coalesce(s.updated_at, '')
FROM score_changes c
LEFT JOIN scores s ON s.board = c.board AND s.item_key = c.item_key AND s.name = c.name
WHERE c.board = ?1 AND c.seq > ?2
ORDER BY c.seq
LIMIT ?3
)sql";

std::string ValidText(std::string_view text) {
  if (IsValidUtf8(text)) {
    return std::string(text);
  }
  std::string out;
  AppendRepairedUtf8(out, text);
  return out;
}

Value ScoreValue(const SQLite::Column& column) {
  if (column.isInteger()) {
    return Value(static_cast<std::int64_t>(column.getInt64()));
  }
  if (column.isFloat()) {
    return Value(column.getDouble());
  }
  if (column.isText() || column.isBlob()) {
    const auto* bytes = static_cast<const char*>(column.getBlob());  // before getBytes()
    return Value(ValidText(std::string_view(bytes, static_cast<std::size_t>(column.getBytes()))));
  }
  return Value();
}

// The seq of a cursor: "" is 0; anything but a decimal number is nothing.
std::optional<std::int64_t> ParseSeq(std::string_view cursor) {
  if (cursor.empty()) {
    return 0;
  }
  std::int64_t seq = 0;
  auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), seq);
  if (ec != std::errc() || end != cursor.data() + cursor.size() || seq < 0) {
    return std::nullopt;
  }
  return seq;
}

}  // namespace

class SqliteBoard::Impl {
 public:
  explicit Impl(const std::string& path)
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX |
                     SQLite::OPEN_NOFOLLOW),
        upsert(init(db),
               "INSERT INTO items (board, item_key, source_key, source_url, fields, "
               "source_updated_at, synced_at, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) "
               "ON CONFLICT (board, item_key) DO UPDATE SET source_key = excluded.source_key, "
               "source_url = excluded.source_url, fields = excluded.fields, "
               "source_updated_at = excluded.source_updated_at, synced_at = excluded.synced_at, "
               "archived_at = NULL "
               "WHERE excluded.source_updated_at >= items.source_updated_at"),
        // An archive applies unless the row holds a newer version than the
        // archive's (an empty version applies always); it keeps the first
        // archived_at, and the row keeps the newer of the two versions, so a
        // later upsert of an older version does not bring the item back.
        archive(db,
                "UPDATE items SET archived_at = COALESCE(archived_at, ?1), synced_at = ?1, "
                "source_updated_at = MAX(source_updated_at, ?2) "
                "WHERE board = ?3 AND item_key = ?4 AND (?2 = '' OR source_updated_at <= ?2)") {}

  static SQLite::Database& init(SQLite::Database& db) {
    db.setBusyTimeout(10'000);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=NORMAL");
    db.exec("PRAGMA cache_size=-8192");
    db.exec(kSchema);
    return db;
  }

  // Puts the scores table, the change log and its triggers in place when
  // any is missing, and then logs every key again (kRelogScores). Only reads
  // when all is there. Throws what SQLite throws.
  void EnsureScoreLog() {
    if (db.execAndGet(kCountScoreLog).getInt() == 5) {
      return;
    }
    // IMMEDIATE: the board application cannot write a score between the
    // backfill and the triggers.
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    if (db.execAndGet(kCountScoreLog).getInt() == 5) {
      return;  // another process did it meanwhile
    }
    db.exec(kScoresSchema);
    for (const char* name :
         {"score_changes_on_insert", "score_changes_on_update", "score_changes_on_delete"}) {
      db.exec("DROP TRIGGER IF EXISTS " + std::string(name));
    }
    db.exec(kScoreTriggers);
    db.exec(kRelogScores);
    tx.commit();
  }

  SQLite::Database db;
  SQLite::Statement upsert;
  SQLite::Statement archive;
};

SqliteBoard::SqliteBoard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteBoard::~SqliteBoard() = default;

Result<std::unique_ptr<SqliteBoard>> SqliteBoard::Open(const std::filesystem::path& file) {
  std::filesystem::path path;
  try {
    const std::filesystem::path folder = file.has_parent_path() ? file.parent_path() : ".";
    std::filesystem::create_directories(folder);
    // SQLITE_OPEN_NOFOLLOW refuses a link anywhere in the path: the folder
    // may be reached through one (systemd's StateDirectory= with
    // DynamicUser=), the file itself not.
    path = std::filesystem::canonical(folder) / file.filename();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kStorage,
                "board store " + file.string() + ": cannot open: " + std::string(e.what()));
  }
  if (struct stat st {}; ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return Fail(ErrorCode::kUntrusted, "refusing the board store " + file.string() +
                                           ": it is a symbolic link (boardsync does not follow "
                                           "links to its databases; remove it)");
  }
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(path.string());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kStorage,
                "board store " + file.string() + ": cannot open: " + std::string(e.what()));
  }
  try {
    impl->EnsureScoreLog();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kStorage, "board store " + file.string() +
                                         ": cannot set up the scores change log (boardsync "
                                         "needs to write the board file): " +
                                         std::string(e.what()));
  }
  return std::unique_ptr<SqliteBoard>(new SqliteBoard(std::move(impl)));
}

Result<std::vector<RefusedWrite>> SqliteBoard::Apply(std::span<const BoardWrite> writes) {
  const std::string now = FormatIsoUtc(NowMs());
  std::string fields;
  try {
    SQLite::Transaction tx(impl_->db);
    for (const BoardWrite& write : writes) {
      const BoardItem& item = write.item;
      if (write.archive) {
        SQLite::Statement& s = impl_->archive;
        s.reset();
        s.bindNoCopy(1, now);
        s.bindNoCopy(2, item.source_updated_at);
        s.bindNoCopy(3, item.board);
        s.bindNoCopy(4, item.item_key);
        s.exec();
        continue;
      }
      SQLite::Statement& s = impl_->upsert;
      s.reset();
      s.bindNoCopy(1, item.board);
      s.bindNoCopy(2, item.item_key);
      s.bindNoCopy(3, item.source_key);
      s.bindNoCopy(4, item.source_url);
      if (item.fields_json.empty()) {
        fields.clear();
        AppendJsonObject(fields, item.fields);
        s.bindNoCopy(5, fields);
      } else {
        s.bindNoCopy(5, item.fields_json);
      }
      s.bindNoCopy(6, item.source_updated_at);
      s.bindNoCopy(7, now);
      s.exec();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kStorage, "board store: writing items failed: " + std::string(e.what()),
                /*retriable=*/true);
  }
  return std::vector<RefusedWrite>{};  // SQLite takes any write, or none
}

Result<ScorePage> SqliteBoard::ReadScores(std::string_view board, std::string_view since,
                                          std::size_t limit) {
  std::optional<std::int64_t> after = ParseSeq(since);
  if (!after) {
    return Fail(ErrorCode::kStorage, "board store: board " + std::string(board) +
                                         ": the scores cursor \"" +
                                         ForDisplay(since.substr(0, 64)) +
                                         "\" is not one of this store's (a decimal number)");
  }
  const auto page_size = static_cast<std::int64_t>(
      std::clamp<std::size_t>(limit, 1, std::numeric_limits<std::int32_t>::max()));
  ScorePage page;
  try {
    impl_->EnsureScoreLog();
    // One read transaction: the page and the highest seq agree.
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::DEFERRED);
    const std::int64_t last_seq = impl_->db.execAndGet(kLastSeq).getInt64();
    const bool reset = *after > last_seq;
    if (reset) {
      *after = 0;  // a cursor of another file: this one is new to the reader
    }
    SQLite::Statement query(impl_->db, kReadScores);
    query.bind(1, std::string(board));
    query.bind(2, static_cast<std::int64_t>(*after));
    query.bind(3, page_size);
    std::int64_t seq = *after;
    while (query.executeStep()) {
      seq = query.getColumn(0).getInt64();
      page.scores.push_back(BoardScore{
          ValidText(query.getColumn(1).getString()), ValidText(query.getColumn(2).getString()),
          ScoreValue(query.getColumn(3)), ValidText(query.getColumn(4).getString())});
    }
    tx.commit();
    page.next =
        page.scores.empty() && !since.empty() && !reset ? std::string(since) : std::to_string(seq);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kStorage,
                "board store: board " + std::string(board) +
                    ": reading the scores failed: " + std::string(e.what()),
                /*retriable=*/true);
  }
  return page;
}

}  // namespace boardsync

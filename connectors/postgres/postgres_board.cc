#include "connectors/postgres/postgres_board.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "connectors/postgres/pg.h"
#include "core/text.h"
#include "core/time.h"

namespace boardsync {
namespace {

// Version 1: the tables of DESIGN §4.1. `scores` is the board application's;
// boardsync makes it only when missing, and reads whatever types its `value`
// and `updated_at` have through to_jsonb() and timestamptz.
constexpr std::string_view kSchemaItems = R"sql(
CREATE TABLE IF NOT EXISTS items (
  board text NOT NULL,
  item_key text NOT NULL,
  source_key text NOT NULL,
  source_url text NOT NULL,
  fields jsonb NOT NULL,
  source_updated_at timestamptz NOT NULL,
  synced_at timestamptz NOT NULL,
  archived_at timestamptz,
  PRIMARY KEY (board, item_key)
);
)sql";
constexpr std::string_view kSchemaScores = R"sql(
CREATE TABLE IF NOT EXISTS scores (
  board text NOT NULL,
  item_key text NOT NULL,
  name text NOT NULL,
  value jsonb,
  updated_at timestamptz,
  PRIMARY KEY (board, item_key, name)
);
)sql";

// Version 2: the scores change log (postgres_board.h). One row per key, so
// a key changed twice is read once, at its latest value, and a deleted key
// keeps its row, so readers see removals. The trigger function runs as its
// owner (SECURITY DEFINER, with the search_path it was made with), so a
// board application under another role needs no rights on the log. An
// upsert of a key's log row waits for another transaction's upsert of it,
// so a key's row always ends with the xid of the last transaction that
// changed it.
constexpr std::string_view kSchemaScoreLog = R"sql(
CREATE SEQUENCE IF NOT EXISTS score_changes_seq;
CREATE TABLE IF NOT EXISTS score_changes (
  board text NOT NULL,
  item_key text NOT NULL,
  name text NOT NULL,
  xid xid8 NOT NULL,
  seq bigint NOT NULL DEFAULT nextval('score_changes_seq'),
  PRIMARY KEY (board, item_key, name)
);
CREATE INDEX IF NOT EXISTS score_changes_by_board ON score_changes (board, xid, seq);
CREATE OR REPLACE FUNCTION boardsync_score_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO score_changes (board, item_key, name, xid)
      SELECT s.board, s.item_key, s.name, pg_current_xact_id() FROM scores s
    ON CONFLICT (board, item_key, name) DO UPDATE SET xid = excluded.xid, seq = excluded.seq;
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO score_changes (board, item_key, name, xid)
      VALUES (OLD.board, OLD.item_key, OLD.name, pg_current_xact_id())
    ON CONFLICT (board, item_key, name) DO UPDATE SET xid = excluded.xid, seq = excluded.seq;
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (NEW.board, NEW.item_key, NEW.name)
                          IS DISTINCT FROM (OLD.board, OLD.item_key, OLD.name)) THEN
    INSERT INTO score_changes (board, item_key, name, xid)
      VALUES (NEW.board, NEW.item_key, NEW.name, pg_current_xact_id())
    ON CONFLICT (board, item_key, name) DO UPDATE SET xid = excluded.xid, seq = excluded.seq;
  END IF;
  RETURN NULL;
END
$$;
)sql";

// Whether both triggers are on `scores` and enabled (2), the next xid the
// server will hand out and the log's highest seq: what a cursor from this
// database stays below.
constexpr const char* kCheckScoreLog = R"sql(
SELECT (SELECT count(*) FROM pg_trigger t
        WHERE t.tgrelid = to_regclass('scores') AND t.tgenabled <> 'D'
          AND t.tgname IN ('boardsync_score_changes', 'boardsync_score_truncate')),
       pg_snapshot_xmax(pg_current_snapshot())::text,
       (SELECT last_value FROM score_changes_seq)::text
)sql";

constexpr const char* kScoreTriggers = R"sql(
DROP TRIGGER IF EXISTS boardsync_score_changes ON scores;
DROP TRIGGER IF EXISTS boardsync_score_truncate ON scores;
CREATE TRIGGER boardsync_score_changes AFTER INSERT OR UPDATE OR DELETE ON scores
  FOR EACH ROW EXECUTE FUNCTION boardsync_score_changed();
CREATE TRIGGER boardsync_score_truncate BEFORE TRUNCATE ON scores
  FOR EACH STATEMENT EXECUTE FUNCTION boardsync_score_changed();
)sql";

// Every key in `scores` or in the log gets this transaction's xid and a new
// seq, oldest updated_at first (deleted keys, which have none, before the
// others), so a reader at any cursor reads them all again. The seqs are
// counted from one nextval() (row_number(): nextval() in the select list
// need not follow ORDER BY); writers wait on the table lock meanwhile.
constexpr const char* kRelogScores = R"sql(
WITH k AS (
  SELECT u.board, u.item_key, u.name,
         row_number() OVER (ORDER BY s.updated_at NULLS FIRST, u.board, u.item_key, u.name) AS n
  FROM (SELECT board, item_key, name FROM scores
        UNION SELECT board, item_key, name FROM score_changes) u
  LEFT JOIN scores s ON s.board = u.board AND s.item_key = u.item_key AND s.name = u.name
), base AS (SELECT nextval('score_changes_seq') AS seq)
INSERT INTO score_changes (board, item_key, name, xid, seq)
SELECT k.board, k.item_key, k.name, pg_current_xact_id(), base.seq + k.n FROM k, base
ON CONFLICT (board, item_key, name) DO UPDATE SET xid = excluded.xid, seq = excluded.seq;
SELECT setval('score_changes_seq', greatest((SELECT max(seq) FROM score_changes),
                                            (SELECT last_value FROM score_changes_seq)));
)sql";

// The changes of board $1 after the cursor ($2, $3), with each key's row as
// it is now, from transactions below the horizon: the oldest transaction
// still running at the statement's snapshot that may be this database's,
// else the snapshot's xmax. Every transaction below it has ended, so nothing
// can still commit behind the cursor (postgres_board.h). Transactions of
// other databases on the server cannot write here and do not count: one is
// left out when pg_stat_activity shows its xid (backend_xid, 32 bits, which
// every role may read) on a session of another database. One that ended
// since the snapshot, or a prepared one, shows nowhere and counts: a horizon
// too low only delays a change. Autovacuum's own transactions (an analyse
// takes one) fire no trigger and do not count either, or a busy table would
// hold the scores back whenever it is analysed.
constexpr const char* kReadScores = R"sql(
WITH snapshot AS (SELECT pg_current_snapshot() AS s),
elsewhere AS (
  SELECT a.backend_xid::text::numeric AS xid FROM pg_stat_activity a
  WHERE a.backend_xid IS NOT NULL
    AND (a.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database())
         OR a.backend_type = 'autovacuum worker')
),
horizon AS (
  SELECT coalesce(
           (SELECT min(x) FROM snapshot, pg_snapshot_xip(snapshot.s) x
            WHERE (x::text::numeric % 4294967296) NOT IN (SELECT xid FROM elsewhere)),
           (SELECT pg_snapshot_xmax(s) FROM snapshot)) AS xid
)
SELECT c.xid::text, c.seq::text, c.item_key, c.name,
       jsonb_typeof(to_jsonb(s.value)),
       CASE jsonb_typeof(to_jsonb(s.value))
         WHEN 'string' THEN to_jsonb(s.value) #>> '{}' ELSE to_jsonb(s.value)::text END,
       to_char(s.updated_at::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
FROM score_changes c
LEFT JOIN scores s ON s.board = c.board AND s.item_key = c.item_key AND s.name = c.name
WHERE c.board = $1 AND (c.xid, c.seq) > ($2::xid8, $3::bigint)
  AND c.xid < (SELECT xid FROM horizon)
ORDER BY c.xid, c.seq
LIMIT $4::bigint
)sql";

// One batch, one statement. The writes arrive folded to one row per item
// (ApplyChecked()), as arrays; the statement updates the rows that exist
// (the CTE) and inserts those that do not. Every condition compares with the row as
// it is when the statement reaches it (under READ COMMITTED an UPDATE
// re-checks a row another transaction changed meanwhile), so two writers
// never leave an older version over a newer one. A row another transaction
// inserts meanwhile makes the INSERT fail with a unique violation, and the
// statement runs again (it then finds the row).
//
// Per item: upsert_version is that of the last upsert that can apply (its
// fields are those sent); it applies when not older than the row. Then the
// row takes max_version (the newest version in the batch) and is archived
// when an archive came after that upsert. When it does not apply, the row
// keeps its fields and is archived by an unversioned archive, or by one not
// older than the row (archive_version, the newest after the upsert).
constexpr const char* kApply = R"sql(
WITH w AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                       $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::bool[],
                       $10::bool[])
    AS w(board, item_key, source_key, source_url, fields, upsert_version, max_version,
         archive_version, archived_after, unversioned_archive)
), updated AS (
  UPDATE items i SET
    source_key = CASE WHEN w.upsert_version >= i.source_updated_at
                      THEN w.source_key ELSE i.source_key END,
    source_url = CASE WHEN w.upsert_version >= i.source_updated_at
                      THEN w.source_url ELSE i.source_url END,
    fields = CASE WHEN w.upsert_version >= i.source_updated_at
                  THEN w.fields::jsonb ELSE i.fields END,
    source_updated_at = CASE WHEN w.upsert_version >= i.source_updated_at THEN w.max_version
                             ELSE greatest(i.source_updated_at, w.archive_version) END,
    archived_at = CASE WHEN w.upsert_version >= i.source_updated_at
                       THEN CASE WHEN w.archived_after THEN now() END
                       ELSE coalesce(i.archived_at, now()) END,
    synced_at = now()
  FROM w
  WHERE i.board = w.board AND i.item_key = w.item_key
    AND (w.upsert_version >= i.source_updated_at OR w.unversioned_archive
         OR w.archive_version >= i.source_updated_at)
  RETURNING 1
)
INSERT INTO items (board, item_key, source_key, source_url, fields, source_updated_at,
                   synced_at, archived_at)
SELECT w.board, w.item_key, w.source_key, w.source_url, w.fields::jsonb, w.max_version, now(),
       CASE WHEN w.archived_after THEN now() END
FROM w
WHERE w.upsert_version IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM items i WHERE i.board = w.board AND i.item_key = w.item_key)
)sql";

// A PostgreSQL array literal of texts: {"a","b\"c",NULL}.
class ArrayLiteral {
 public:
  void Add(std::string_view text) {
    Open();
    out_ += '"';
    for (char c : text) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
      }
      out_ += c;
    }
    out_ += '"';
  }
  void AddNull() {
    Open();
    out_ += "NULL";
  }
  void Add(const std::optional<std::int64_t>& ms) {
    if (ms) {
      Add(FormatIsoUtc(*ms));
    } else {
      AddNull();
    }
  }
  void AddBool(bool value) {
    Open();
    out_ += value ? 't' : 'f';
  }
  std::string Take() {
    out_ += '}';
    return std::move(out_);
  }

 private:
  void Open() { out_ += out_.size() == 1 ? "" : ","; }
  std::string out_ = "{";
};

// Whether JSON text escapes a NUL character (\u0000), which JSONB refuses.
// Backslashes come in pairs outside escapes, so stepping over each escape
// finds only real ones.
bool JsonHasNul(std::string_view json) {
  for (std::size_t i = 0; i < json.size(); ++i) {
    if (json[i] == '\0') {
      return true;
    }
    if (json[i] == '\\' && i + 1 < json.size()) {
      if (json.substr(i + 1, 5) == "u0000") {
        return true;
      }
      ++i;
    }
  }
  return false;
}

// Why PostgreSQL cannot hold `text` as a text column, or "".
std::string TextProblem(std::string_view what, std::string_view text) {
  if (!IsValidUtf8(text)) {
    return std::string(what) + " is not valid UTF-8";
  }
  if (text.find('\0') != std::string_view::npos) {
    return std::string(what) + " holds a NUL character, which PostgreSQL text cannot";
  }
  return "";
}

std::optional<std::uint64_t> ParseNumber(std::string_view text) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

// A cursor "<xid>-<seq>"; "" is the start.
std::optional<std::pair<std::uint64_t, std::uint64_t>> ParseCursor(std::string_view cursor) {
  if (cursor.empty()) {
    return std::pair<std::uint64_t, std::uint64_t>{0, 0};
  }
  const auto dash = cursor.find('-');
  if (dash == std::string_view::npos) {
    return std::nullopt;
  }
  auto xid = ParseNumber(cursor.substr(0, dash));
  auto seq = ParseNumber(cursor.substr(dash + 1));
  if (!xid || !seq || *seq > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  return std::pair{*xid, *seq};
}

// A JSON number as JSONB prints it: an integer when it has no fraction or
// exponent and fits, else a double.
Value NumberValue(const std::string& text) {
  if (text.find_first_of(".eE") == std::string::npos) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc() && end == text.data() + text.size()) {
      return Value(n);
    }
  }
  double d = 0;
  std::from_chars(text.data(), text.data() + text.size(), d);
  return Value(d);
}

Value ScoreValue(const std::optional<std::string>& type, const std::optional<std::string>& text) {
  if (!type || !text || *type == "null") {
    return Value();
  }
  if (*type == "number") {
    return NumberValue(*text);
  }
  return Value(*text);
}

// Board store errors keep PostgreSQL's code; a failure of the server's own
// (kStorage) is worth trying again later, as with SqliteBoard.
Error StoreError(const Error& error, std::string_view context) {
  Error out = error.Wrap(context);
  if (out.code == ErrorCode::kStorage) {
    out.retriable = true;
  }
  return out;
}

}  // namespace

struct PostgresBoard::Prepared {
  std::size_t index = 0;  // into Apply()'s writes
  const BoardWrite* write = nullptr;
  std::optional<std::int64_t> version;  // none: an archive without version
  std::string fields;                   // upserts: the fields' JSON
};

PostgresBoard::PostgresBoard(std::unique_ptr<PgConnection> db) : db_(std::move(db)) {}
PostgresBoard::~PostgresBoard() = default;

Result<std::unique_ptr<PostgresBoard>> PostgresBoard::Open(const Secret& url) {
  auto db = PgConnection::Open(url);
  if (!db) {
    return std::unexpected(db.error().Wrap("board store"));
  }
  // Step i takes the schema from version i to i + 1. Never edit a step
  // that shipped: add one.
  const std::string tables = std::string(kSchemaItems) + std::string(kSchemaScores);
  const std::string_view steps[] = {
      tables,           // 1: items and scores
      kSchemaScoreLog,  // 2: the scores change log (its triggers: EnsureScoreLog())
  };
  if (auto migrated = PgMigrate(**db, "board", steps); !migrated) {
    return std::unexpected(migrated.error().Wrap("board store"));
  }
  std::unique_ptr<PostgresBoard> board(new PostgresBoard(std::move(*db)));
  if (auto log = board->EnsureScoreLog(); !log) {
    return std::unexpected(log.error());
  }
  return board;
}

Result<PgRow> PostgresBoard::EnsureScoreLog() {
  auto check = db_->Exec(kCheckScoreLog);
  if (check && check->rows[0][0] == "2") {
    return std::move(check->rows[0]);
  }
  auto installed = db_->Transaction([](PgConnection& c) -> Result<void> {
    // The table lock keeps the board application's writes out between the
    // backfill and the triggers.
    for (std::string_view step :
         {kSchemaScores, std::string_view("LOCK TABLE scores IN SHARE ROW EXCLUSIVE MODE")}) {
      if (auto done = c.ExecScript(step); !done) {
        return std::unexpected(done.error());
      }
    }
    auto again = c.Exec(kCheckScoreLog);
    if (!again) {
      return std::unexpected(again.error());
    }
    if (again->rows[0][0] == "2") {
      return {};  // another session did it meanwhile
    }
    for (const char* step : {kScoreTriggers, kRelogScores}) {
      if (auto done = c.ExecScript(step); !done) {
        return std::unexpected(done.error());
      }
    }
    return {};
  });
  if (!installed) {
    return std::unexpected(StoreError(installed.error(),
                                      "board store: cannot set up the scores change log "
                                      "(boardsync needs to own `scores`, or the TRIGGER "
                                      "privilege on it)"));
  }
  auto bounds = db_->Exec(kCheckScoreLog);
  if (!bounds) {
    return std::unexpected(StoreError(bounds.error(), "board store: reading the scores"));
  }
  return std::move(bounds->rows[0]);
}

Result<std::vector<RefusedWrite>> PostgresBoard::Apply(std::span<const BoardWrite> writes) {
  std::vector<RefusedWrite> refused;
  std::vector<Prepared> checked;
  checked.reserve(writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const BoardWrite& write = writes[i];
    const BoardItem& item = write.item;
    Prepared p{i, &write, std::nullopt, {}};
    std::string problem = TextProblem("board", item.board);
    if (problem.empty()) {
      problem = TextProblem("item_key", item.item_key);
    }
    if (problem.empty() && !write.archive) {
      problem = TextProblem("source_key", item.source_key);
      if (problem.empty()) {
        problem = TextProblem("source_url", item.source_url);
      }
      if (item.fields_json.empty()) {
        AppendJsonObject(p.fields, item.fields);
      } else {
        p.fields = item.fields_json;
      }
      if (problem.empty() && !IsValidUtf8(p.fields)) {
        problem = "fields are not valid UTF-8";
      }
      if (problem.empty() && JsonHasNul(p.fields)) {
        problem = "fields hold a NUL character (\\u0000), which PostgreSQL's JSONB cannot";
      }
    }
    if (problem.empty() && (!write.archive || !item.source_updated_at.empty())) {
      p.version = ParseIsoUtc(item.source_updated_at);
      if (!p.version || !IsIsoWritable(*p.version)) {
        problem = "source_updated_at \"" + ForDisplay(item.source_updated_at.substr(0, 64)) +
                  "\" is not an ISO-8601 time";
      }
    }
    if (!problem.empty()) {
      refused.push_back(RefusedWrite{i, "the PostgreSQL board refuses item " +
                                            ForDisplay(item.item_key.substr(0, 200)) + ": " +
                                            problem});
      continue;
    }
    checked.push_back(std::move(p));
  }
  if (auto applied = ApplyChecked(checked, refused); !applied) {
    return std::unexpected(applied.error());
  }
  std::sort(refused.begin(), refused.end(),
            [](const RefusedWrite& a, const RefusedWrite& b) { return a.index < b.index; });
  return refused;
}

Result<void> PostgresBoard::ApplyChecked(std::span<const Prepared> writes,
                                         std::vector<RefusedWrite>& refused) {
  if (writes.empty()) {
    return {};
  }
  // How the writes of one item fold into one row change. Versions only grow
  // on a row: an upsert or archive applies when its version is not older than
  // the row's, and then the row holds at least that version. So a write
  // applies if and only if it is not older than the row as it was before the
  // batch AND not older than any write before it in the batch (if an earlier
  // one was newer, either it applied and the row is newer now, or it did not
  // and the row was newer already). The second half is known here; the
  // first only to the statement. Writes passing the second half have versions
  // that never decrease, so those that apply are the ones from some point on:
  // the last such upsert decides whether any does (upsert_version), and what
  // follows it, the archives (archive_version, the newest of them,
  // archived_after). An archive without version applies whenever the row
  // exists.
  struct Folded {
    const Prepared* upsert = nullptr;
    std::optional<std::int64_t> max_version;
    std::optional<std::int64_t> archive_version;
    bool archived_after = false;
    bool unversioned_archive = false;
  };
  std::map<std::pair<std::string_view, std::string_view>, Folded> items;
  for (const Prepared& p : writes) {
    Folded& f = items[{p.write->item.board, p.write->item.item_key}];
    const bool in_order = p.version && (!f.max_version || *p.version >= *f.max_version);
    if (!p.write->archive) {
      if (in_order) {
        f.upsert = &p;
        f.archive_version.reset();
        f.archived_after = false;
      }
    } else if (!p.version) {
      f.unversioned_archive = true;
      f.archived_after = f.archived_after || f.upsert != nullptr;
    } else if (in_order) {
      f.archive_version = p.version;
      f.archived_after = f.archived_after || f.upsert != nullptr;
    }
    if (p.version && (!f.max_version || *p.version > *f.max_version)) {
      f.max_version = p.version;
    }
  }
  ArrayLiteral board, item_key, source_key, source_url, fields, upsert_version, max_version,
      archive_version, archived_after, unversioned_archive;
  for (const auto& [key, f] : items) {
    board.Add(key.first);
    item_key.Add(key.second);
    if (f.upsert != nullptr) {
      source_key.Add(f.upsert->write->item.source_key);
      source_url.Add(f.upsert->write->item.source_url);
      fields.Add(f.upsert->fields);
      upsert_version.Add(f.upsert->version);
    } else {
      source_key.AddNull();
      source_url.AddNull();
      fields.AddNull();
      upsert_version.AddNull();
    }
    max_version.Add(f.max_version);
    archive_version.Add(f.archive_version);
    archived_after.AddBool(f.archived_after);
    unversioned_archive.AddBool(f.unversioned_archive);
  }
  const std::string params[] = {board.Take(),          item_key.Take(),
                                source_key.Take(),     source_url.Take(),
                                fields.Take(),         upsert_version.Take(),
                                max_version.Take(),    archive_version.Take(),
                                archived_after.Take(), unversioned_archive.Take()};
  const PgParam args[] = {params[0], params[1], params[2], params[3], params[4],
                          params[5], params[6], params[7], params[8], params[9]};
  Result<PgResult> done;
  for (int attempt = 1;; ++attempt) {
    done = db_->Exec(kApply, args);
    // A row inserted by another writer since the statement's snapshot.
    if (done || db_->last_sqlstate() != "23505" || attempt == 5) {
      break;
    }
  }
  if (done) {
    return {};
  }
  // Data the server refuses (class 22, or a constraint the board
  // application added): halve until the writes at fault stand alone. In
  // order: the halves, one after the other, do what the whole would.
  const std::string& sqlstate = db_->last_sqlstate();
  const bool data = sqlstate.starts_with("22") || sqlstate == "23502" || sqlstate == "23514";
  if (!data) {
    return std::unexpected(StoreError(done.error(), "board store: writing items failed"));
  }
  if (writes.size() == 1) {
    refused.push_back(RefusedWrite{writes[0].index, done.error().message});
    return {};
  }
  const std::size_t half = writes.size() / 2;
  if (auto first = ApplyChecked(writes.first(half), refused); !first) {
    return first;
  }
  return ApplyChecked(writes.subspan(half), refused);
}

Result<ScorePage> PostgresBoard::ReadScores(std::string_view board, std::string_view since,
                                            std::size_t limit) {
  auto after = ParseCursor(since);
  if (!after) {
    return Fail(ErrorCode::kStorage, "board store: board " + ForDisplay(board) +
                                         ": the scores cursor \"" +
                                         ForDisplay(since.substr(0, 64)) +
                                         "\" is not one of this store's (<xid>-<seq>)");
  }
  const std::string context = "board store: board " + ForDisplay(board) + ": reading the scores";
  auto bounds = EnsureScoreLog();
  if (!bounds) {
    return std::unexpected(bounds.error());
  }
  // A cursor beyond any xid or seq this database handed out is another
  // database's: this one is new to the reader.
  const auto next_xid = ParseNumber((*bounds)[1].value_or(""));
  const auto last_seq = ParseNumber((*bounds)[2].value_or(""));
  const bool reset = (next_xid && after->first >= *next_xid) ||
                     (last_seq && after->second > *last_seq);
  if (reset) {
    *after = {0, 0};
  }
  const std::string board_text(board);
  const std::string xid = std::to_string(after->first);
  const std::string seq = std::to_string(after->second);
  const std::string page_size = std::to_string(
      std::clamp<std::size_t>(limit, 1, std::numeric_limits<std::int32_t>::max()));
  auto rows = db_->Exec(kReadScores, {board_text, xid, seq, page_size});
  if (!rows) {
    return std::unexpected(StoreError(rows.error(), context));
  }
  ScorePage page;
  page.scores.reserve(rows->rows.size());
  for (const PgRow& row : rows->rows) {
    page.scores.push_back(BoardScore{row[2].value_or(""), row[3].value_or(""),
                                     ScoreValue(row[4], row[5]), row[6].value_or("")});
  }
  if (!rows->rows.empty()) {
    page.next = rows->rows.back()[0].value_or("0") + "-" + rows->rows.back()[1].value_or("0");
  } else if (!since.empty() && !reset) {
    page.next = std::string(since);
  } else {
    page.next = "0-0";
  }
  return page;
}

}  // namespace boardsync

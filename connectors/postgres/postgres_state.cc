#include "connectors/postgres/postgres_state.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_set>
#include <utility>

#include "connectors/postgres/pg.h"
#include "core/value.h"

namespace boardsync {
namespace {

// Version 1 of the `state` component. Keys are COLLATE "C" so lists sort as
// the SQLite state sorts them (bytewise) whatever the database's locale.
// Times the store sets are timestamptz on the server's clock; times the
// caller hands over (versions, run starts) stay the text it gave.
constexpr std::string_view kSchemaV1 = R"sql(
-- What was last staged for each item: its content hash, so an unchanged
-- issue causes no board write.
CREATE TABLE state_items (
  connection text COLLATE "C" NOT NULL,
  item_key text COLLATE "C" NOT NULL,
  board text NOT NULL,
  content_hash text NOT NULL,
  source_updated_at text NOT NULL,
  status smallint NOT NULL,             -- ItemStatus: 0 live, 1 archived, 2 skipped
  sweep bigint NOT NULL DEFAULT 0,      -- the last reconciliation that saw the issue
  last_seq bigint NOT NULL DEFAULT 0,   -- the outbox seq of its latest queued write
  source_key text NOT NULL DEFAULT '',  -- the issue's human key (sync back writes by it)
  PRIMARY KEY (connection, item_key)
);
CREATE TABLE state_cursors (
  connection text COLLATE "C" PRIMARY KEY,
  updated_ms bigint NOT NULL,
  mapping_fingerprint text NOT NULL,
  last_full_ms bigint NOT NULL
);
CREATE TABLE state_sessions (
  connection text COLLATE "C" PRIMARY KEY,
  data text NOT NULL,                   -- only its connector reads it
  checked_ms bigint NOT NULL
);
-- Board writes not yet acknowledged by the board store, by seq within each
-- connection. The fields are the canonical JSON as it was queued (json, not
-- jsonb: board stores write that text as it is).
CREATE TABLE state_outbox (
  seq bigserial PRIMARY KEY,
  connection text COLLATE "C" NOT NULL,
  board text NOT NULL,
  item_key text COLLATE "C" NOT NULL,
  archive boolean NOT NULL,
  source_key text NOT NULL,
  source_url text NOT NULL,
  source_updated_at text NOT NULL,      -- an archive's: the version it was decided on
  fields json,                          -- NULL for an archive
  failed_at timestamptz,                -- set when the board store refused it
  error text
);
CREATE INDEX state_outbox_pending ON state_outbox (connection, seq) WHERE failed_at IS NULL;
CREATE INDEX state_outbox_parked ON state_outbox (connection, item_key)
  WHERE failed_at IS NOT NULL;
-- Issues that could not be decoded or mapped, fetched again by key on every
-- sync until they succeed.
CREATE TABLE state_failures (
  connection text COLLATE "C" NOT NULL,
  source_key text COLLATE "C" NOT NULL,
  item_key text NOT NULL,
  reason text NOT NULL,
  since timestamptz NOT NULL,
  PRIMARY KEY (connection, source_key)
);
-- Sync back (DESIGN §3.1): the read of the board's scores, the value last
-- written per issue and tracker field, and the tracker writes not yet made.
-- Values are canonical JSON compared as text.
CREATE TABLE state_score_cursors (
  connection text COLLATE "C" PRIMARY KEY,
  board text NOT NULL,
  cursor text NOT NULL,
  fingerprint text NOT NULL
);
CREATE TABLE state_writeback_ledger (
  connection text COLLATE "C" NOT NULL,
  item_key text COLLATE "C" NOT NULL,
  field text COLLATE "C" NOT NULL,
  value text NOT NULL,                  -- 'null': boardsync cleared it
  written_at timestamptz NOT NULL,
  PRIMARY KEY (connection, item_key, field)
);
CREATE TABLE state_writeback_outbox (
  seq bigserial PRIMARY KEY,
  connection text COLLATE "C" NOT NULL,
  item_key text COLLATE "C" NOT NULL,
  field text COLLATE "C" NOT NULL,
  value text NOT NULL,
  sent boolean NOT NULL DEFAULT false,  -- a value of this row went to the tracker
  failed_at timestamptz,                -- set when the tracker refused it
  error text,
  UNIQUE (connection, item_key, field)
);
-- The last sync ('sync') and sync back ('sync_back') of each connection, for
-- `status`: JSONB, so that a counter added later needs no migration.
CREATE TABLE state_runs (
  connection text COLLATE "C" NOT NULL,
  kind text NOT NULL,
  record jsonb NOT NULL,
  PRIMARY KEY (connection, kind)
);
CREATE TABLE state_backoff (
  connection text COLLATE "C" PRIMARY KEY,
  failures integer NOT NULL,
  until_ms bigint NOT NULL              -- Unix ms
);
-- Who may sync each connection, until when (the server's clock). epoch grows
-- each time the lease passes to another holder; a released lease keeps its
-- row and epoch with no holder (''), so the next one grows.
CREATE TABLE state_leases (
  connection text COLLATE "C" PRIMARY KEY,
  holder text COLLATE "C" NOT NULL,
  epoch bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
-- The live replicas (Heartbeat()), until when.
CREATE TABLE state_replicas (
  holder text COLLATE "C" PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
)sql";

constexpr std::string_view kSchemaSteps[] = {kSchemaV1};

// SQL for a timestamptz as FormatIsoUtc() writes times.
std::string Iso(std::string_view column) {
  return "to_char(" + std::string(column) +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

std::string Text(const std::optional<std::string>& text) { return text.value_or(""); }

std::int64_t Int(const std::optional<std::string>& text) {
  std::int64_t n = 0;
  if (text) {
    std::from_chars(text->data(), text->data() + text->size(), n);
  }
  return n;
}

double Double(const std::optional<std::string>& text) {
  double d = 0;
  if (text) {
    std::from_chars(text->data(), text->data() + text->size(), d);
  }
  return d;
}

bool Bool(const std::optional<std::string>& text) { return text && *text == "t"; }

std::string Number(double d) {
  if (!std::isfinite(d)) {
    return "0";
  }
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);
  return ec == std::errc() ? std::string(buffer, end) : "0";
}

// A text[] literal ('{"a","b"}') of `items`, for `= ANY($n::text[])`.
std::string TextArray(std::span<const std::string> items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string IntArray(std::span<const std::int64_t> items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += std::to_string(items[i]);
  }
  return out + "}";
}

// Builds one JSON object member by member: `{"k":"text","n":1}`.
class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_ += out_.ends_with('}') ? ",{" : "{"; }
  ~JsonObject() { out_ += '}'; }
  JsonObject& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
    return *this;
  }
  JsonObject& Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_ += json;
    return *this;
  }
  JsonObject& Int(std::string_view key, std::int64_t value) {
    return Raw(key, std::to_string(value));
  }
  JsonObject& Bool(std::string_view key, bool value) { return Raw(key, value ? "true" : "false"); }

 private:
  void Key(std::string_view key) {
    if (!out_.ends_with('{')) {
      out_ += ',';
    }
    AppendJsonString(out_, key);
    out_ += ':';
  }
  std::string& out_;
};

// The error of a failed call, with what the store was doing; a fence's
// refusal (kLocked) says it all already.
std::unexpected<Error> StoreError(std::string_view what, const Error& error) {
  if (error.code == ErrorCode::kLocked) {
    return std::unexpected(error);
  }
  return std::unexpected(error.Wrap("state database: " + std::string(what)));
}

// --- Statements (one per batch) ---------------------------------------------

// Queues a page's writes ($2: [{o, b, k, a, sk, su, v, f}], in order) after
// dropping the parked writes of their items, which they replace.
constexpr std::string_view kQueueWrites = R"sql(
WITH w AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb)
    AS w(o integer, b text, k text, a boolean, sk text, su text, v text, f text)
), unparked AS (
  DELETE FROM state_outbox p
  WHERE p.connection = $1 AND p.failed_at IS NOT NULL AND p.item_key IN (SELECT k FROM w)
)
INSERT INTO state_outbox (connection, board, item_key, archive, source_key, source_url,
                          source_updated_at, fields)
SELECT $1, b, k, a, sk, su, v, f::json FROM w ORDER BY o
RETURNING seq, item_key)sql";

// Records the items' rows ($2: one per item, [{k, b, s, live, h, v, sk,
// seq}] as Stage() folds its writes; $3 the sweep, 0 for none). An archive
// or a skip keeps the hash and version (a return is still a change), as a
// write without a queued one keeps last_seq and one without a key the key.
constexpr std::string_view kStageItems = R"sql(
WITH w AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb)
    AS w(k text, b text, s smallint, live boolean, h text, v text, sk text, seq bigint)
), updated AS (
  UPDATE state_items i SET
    board = w.b,
    status = w.s,
    content_hash = CASE WHEN w.live THEN w.h ELSE i.content_hash END,
    source_updated_at = CASE WHEN w.live THEN w.v ELSE i.source_updated_at END,
    sweep = CASE WHEN $3::bigint = 0 THEN i.sweep ELSE $3::bigint END,
    last_seq = CASE WHEN w.seq = 0 THEN i.last_seq ELSE w.seq END,
    source_key = CASE WHEN w.sk = '' THEN i.source_key ELSE w.sk END
  FROM w WHERE i.connection = $1 AND i.item_key = w.k
  RETURNING i.item_key
)
INSERT INTO state_items (connection, item_key, board, content_hash, source_updated_at, status,
                         sweep, last_seq, source_key)
SELECT $1, w.k, w.b, w.h, w.v, w.s, $3::bigint, w.seq, w.sk FROM w
WHERE w.k NOT IN (SELECT item_key FROM updated))sql";

constexpr std::string_view kMarkSeen =
    "UPDATE state_items SET sweep = $2::bigint "
    "WHERE connection = $1 AND item_key = ANY($3::text[])";

// $2: [{sk, k, r}], one per source key; `since` stays the first failure's.
constexpr std::string_view kRecordFailures = R"sql(
INSERT INTO state_failures (connection, source_key, item_key, reason, since)
SELECT $1, f.sk, f.k, f.r, statement_timestamp()
FROM jsonb_to_recordset($2::jsonb) AS f(sk text, k text, r text)
ON CONFLICT (connection, source_key)
DO UPDATE SET item_key = excluded.item_key, reason = excluded.reason)sql";

// $2: [{seq, m}]. A write a later one of its item superseded (its seq below
// the item's last_seq) is dropped rather than parked.
constexpr std::string_view kPark = R"sql(
WITH r AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS r(seq bigint, m text)
), parked AS (
  UPDATE state_outbox o SET failed_at = statement_timestamp(), error = r.m
  FROM r
  WHERE o.connection = $1 AND o.seq = r.seq AND o.seq >= coalesce(
    (SELECT i.last_seq FROM state_items i
     WHERE i.connection = $1 AND i.item_key = o.item_key), 0)
  RETURNING o.seq
)
DELETE FROM state_outbox o USING r
WHERE o.connection = $1 AND o.seq = r.seq AND o.seq NOT IN (SELECT seq FROM parked))sql";

// $2: [{o, k, f, v}]. The latest value per issue and field is queued when it
// differs from the ledger (a "null" where boardsync never wrote is none), or
// when the queued one was sent (the tracker may hold that); otherwise the
// queued one goes. Returns a row per value queued.
constexpr std::string_view kStageWritebacks = R"sql(
WITH v AS (
  SELECT DISTINCT ON (k, f) k, f, v
  FROM jsonb_to_recordset($2::jsonb) AS v(o integer, k text, f text, v text)
  ORDER BY k, f, o DESC
), c AS (
  SELECT v.k, v.f, v.v,
         coalesce(l.value = v.v, v.v = 'null') AND NOT coalesce(q.sent, false) AS same
  FROM v
  LEFT JOIN state_writeback_ledger l ON l.connection = $1 AND l.item_key = v.k AND l.field = v.f
  LEFT JOIN state_writeback_outbox q ON q.connection = $1 AND q.item_key = v.k AND q.field = v.f
), dropped AS (
  DELETE FROM state_writeback_outbox q USING c
  WHERE c.same AND q.connection = $1 AND q.item_key = c.k AND q.field = c.f
), queued AS (
  INSERT INTO state_writeback_outbox AS q (connection, item_key, field, value)
  SELECT $1, k, f, v FROM c WHERE NOT same
  ON CONFLICT (connection, item_key, field) DO UPDATE SET
    value = excluded.value,
    failed_at = CASE WHEN q.value = excluded.value THEN q.failed_at END,
    error = CASE WHEN q.value = excluded.value THEN q.error END
  RETURNING 1
)
SELECT count(*) FROM queued)sql";

// $2: [{o, seq, k, f, v}]: the ledger takes the values, and each row leaves
// the outbox unless a newer value replaced it meanwhile.
constexpr std::string_view kSettleWritebacks = R"sql(
WITH w AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb)
    AS w(o integer, seq bigint, k text, f text, v text)
), recorded AS (
  INSERT INTO state_writeback_ledger (connection, item_key, field, value, written_at)
  SELECT DISTINCT ON (k, f) $1, k, f, v, statement_timestamp() FROM w ORDER BY k, f, o DESC
  ON CONFLICT (connection, item_key, field)
  DO UPDATE SET value = excluded.value, written_at = excluded.written_at
)
DELETE FROM state_writeback_outbox q USING w
WHERE q.connection = $1 AND q.seq = w.seq AND q.value = w.v)sql";

// Takes the lease ($3: ttl in ms) when free, expired or already this
// holder's; no row when another holds it. One statement: two replicas
// racing for a new connection meet on its primary key, and the loser then
// sees the winner's row.
constexpr std::string_view kAcquireLease = R"sql(
INSERT INTO state_leases AS l (connection, holder, epoch, expires_at)
VALUES ($1, $2, 1, clock_timestamp() + $3::bigint * interval '1 millisecond')
ON CONFLICT (connection) DO UPDATE SET
  holder = excluded.holder,
  epoch = CASE WHEN l.holder = excluded.holder THEN l.epoch ELSE l.epoch + 1 END,
  expires_at = excluded.expires_at
WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp()
RETURNING epoch)sql";

}  // namespace

PostgresState::PostgresState(std::unique_ptr<PgConnection> db) : db_(std::move(db)) {}
PostgresState::~PostgresState() = default;

Result<std::unique_ptr<PostgresState>> PostgresState::Open(const Secret& url) {
  auto db = PgConnection::Open(url);
  if (!db) {
    return std::unexpected(db.error().Wrap("state database"));
  }
  if (auto migrated = PgMigrate(**db, "state", kSchemaSteps); !migrated) {
    return std::unexpected(migrated.error().Wrap("state database"));
  }
  return std::unique_ptr<PostgresState>(new PostgresState(std::move(*db)));
}

void PostgresState::Fence(const Lease& lease) { fences_.insert_or_assign(lease.connection, lease); }

Result<void> PostgresState::CheckFence(PgConnection& db, const std::string& connection) {
  const auto fence = fences_.find(connection);
  if (fence == fences_.end()) {
    return {};
  }
  const Lease& lease = fence->second;
  // FOR SHARE: a takeover (an UPDATE of the row) waits for this transaction.
  auto row = db.Exec(
      "SELECT holder, epoch, expires_at > clock_timestamp() FROM state_leases "
      "WHERE connection = $1 FOR SHARE",
      {connection});
  if (!row) {
    return std::unexpected(row.error());
  }
  std::string now_held = "it expired";
  if (!row->rows.empty()) {
    const PgRow& r = row->rows[0];
    const std::string holder = Text(r[0]);
    const bool same = holder == lease.holder && Int(r[1]) == lease.epoch;
    if (same && Bool(r[2])) {
      return {};
    }
    if (holder.empty()) {
      now_held = "it was released";
    } else if (!same && Bool(r[2])) {
      now_held = "another holds it now";
    }
  }
  return Fail(ErrorCode::kLocked, "connection " + connection + ": this replica (" + lease.holder +
                                      ") lost its lease (epoch " + std::to_string(lease.epoch) +
                                      "); " + now_held);
}

Result<std::unordered_map<std::string, KnownItem>> PostgresState::KnownItems(
    std::string_view connection, std::span<const std::string> item_keys) {
  std::unordered_map<std::string, KnownItem> known;
  if (item_keys.empty()) {
    return known;
  }
  auto rows = db_->Exec(
      "SELECT item_key, content_hash, status, source_key FROM state_items "
      "WHERE connection = $1 AND item_key = ANY($2::text[])",
      {std::string(connection), TextArray(item_keys)});
  if (!rows) {
    return StoreError("reading items", rows.error());
  }
  known.reserve(rows->rows.size());
  for (const PgRow& row : rows->rows) {
    known.emplace(Text(row[0]), KnownItem{Text(row[1]), static_cast<ItemStatus>(Int(row[2])),
                                          Text(row[3])});
  }
  return known;
}

Result<void> PostgresState::Stage(std::string_view connection,
                                  std::span<const StagedWrite> writes, const SyncCursor* cursor,
                                  const SeenItems* seen, const FailureChanges* failures) {
  const std::string conn(connection);
  const std::string sweep = std::to_string(seen != nullptr ? seen->sweep : 0);
  // The writes to queue, in order.
  std::string queue = "[";
  // Each item's row as its writes, one after another, would leave it: the
  // last board and status; the last live write's hash and version (else,
  // for a new row, the first write's); the last key given.
  struct ItemRow {
    std::string_view key, board, hash, version, source_key;
    int status = 0;
    bool live = false;
  };
  std::vector<ItemRow> items;
  std::unordered_map<std::string_view, std::size_t> item_index;
  std::string fields;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const StagedWrite& staged = writes[i];
    const BoardItem& item = staged.write.item;
    if (staged.queue) {
      JsonObject w(queue);
      w.Int("o", static_cast<std::int64_t>(i)).Str("b", item.board).Str("k", item.item_key);
      w.Bool("a", staged.write.archive).Str("v", item.source_updated_at);
      if (staged.write.archive) {
        w.Str("sk", "").Str("su", "").Raw("f", "null");
      } else {
        fields.clear();
        if (!staged.fields_json.empty()) {
          fields = staged.fields_json;
        } else if (!item.fields_json.empty()) {
          fields = item.fields_json;
        } else {
          AppendJsonObject(fields, item.fields);
        }
        w.Str("sk", item.source_key).Str("su", item.source_url).Str("f", fields);
      }
    }
    auto [at, added] = item_index.emplace(item.item_key, items.size());
    if (added) {
      items.push_back(ItemRow{item.item_key, {}, staged.content_hash, item.source_updated_at, {}});
    }
    ItemRow& row = items[at->second];
    row.board = item.board;
    row.status = static_cast<int>(staged.status);
    if (staged.status == ItemStatus::kLive) {
      row.live = true;
      row.hash = staged.content_hash;
      row.version = item.source_updated_at;
    }
    if (!item.source_key.empty()) {
      row.source_key = item.source_key;
    }
  }
  queue += ']';
  const bool any_queued = queue.size() > 2;

  // Reconciliation's marks on the page's items that had no write.
  std::vector<std::string> rest;
  if (seen != nullptr) {
    for (const std::string& key : seen->item_keys) {
      if (!item_index.contains(key)) {
        rest.push_back(key);
      }
    }
  }
  std::string failed, resolved;
  if (failures != nullptr && !failures->failed.empty()) {
    // One row per source key, the last one's (as one upsert after another).
    std::unordered_map<std::string_view, const IssueFailure*> last;
    std::vector<std::string_view> order;
    for (const IssueFailure& failure : failures->failed) {
      if (last.insert_or_assign(failure.source_key, &failure).second) {
        order.push_back(failure.source_key);
      }
    }
    failed = "[";
    for (std::string_view key : order) {
      const IssueFailure& failure = *last.at(key);
      JsonObject(failed).Str("sk", failure.source_key).Str("k", failure.item_key).Str("r",
                                                                                     failure.reason);
    }
    failed += ']';
  }
  if (failures != nullptr && !failures->resolved.empty()) {
    resolved = TextArray(failures->resolved);
  }

  auto staged = db_->Transaction([&](PgConnection& db) -> Result<void> {
    if (auto fenced = CheckFence(db, conn); !fenced) {
      return fenced;
    }
    std::unordered_map<std::string, std::int64_t> last_seq;
    if (any_queued) {
      auto queued = db.Exec(kQueueWrites, {conn, queue});
      if (!queued) {
        return std::unexpected(queued.error());
      }
      for (const PgRow& row : queued->rows) {
        std::int64_t& seq = last_seq[Text(row[1])];
        seq = std::max(seq, Int(row[0]));
      }
    }
    if (!items.empty()) {
      std::string rows = "[";
      for (const ItemRow& item : items) {
        const auto seq = last_seq.find(std::string(item.key));
        JsonObject(rows)
            .Str("k", item.key)
            .Str("b", item.board)
            .Int("s", item.status)
            .Bool("live", item.live)
            .Str("h", item.hash)
            .Str("v", item.version)
            .Str("sk", item.source_key)
            .Int("seq", seq != last_seq.end() ? seq->second : 0);
      }
      rows += ']';
      if (auto done = db.Exec(kStageItems, {conn, rows, sweep}); !done) {
        return std::unexpected(done.error());
      }
    }
    if (!failed.empty()) {
      if (auto done = db.Exec(kRecordFailures, {conn, failed}); !done) {
        return std::unexpected(done.error());
      }
    }
    if (!resolved.empty()) {
      if (auto done = db.Exec(
              "DELETE FROM state_failures WHERE connection = $1 AND source_key = ANY($2::text[])",
              {conn, resolved});
          !done) {
        return std::unexpected(done.error());
      }
    }
    if (cursor != nullptr) {
      if (auto done = db.Exec(
              "INSERT INTO state_cursors (connection, updated_ms, mapping_fingerprint, "
              "last_full_ms) VALUES ($1, $2::bigint, $3, $4::bigint) ON CONFLICT (connection) "
              "DO UPDATE SET updated_ms = excluded.updated_ms, "
              "mapping_fingerprint = excluded.mapping_fingerprint, "
              "last_full_ms = excluded.last_full_ms",
              {conn, std::to_string(cursor->updated_ms), cursor->mapping_fingerprint,
               std::to_string(cursor->last_full_ms)});
          !done) {
        return std::unexpected(done.error());
      }
    }
    if (!rest.empty()) {
      if (auto done = db.Exec(kMarkSeen, {conn, sweep, TextArray(rest)}); !done) {
        return std::unexpected(done.error());
      }
    }
    return {};
  });
  if (!staged) {
    return StoreError("staging board writes", staged.error());
  }
  RefreshStatistics(items.size());
  return {};
}

void PostgresState::RefreshStatistics(std::size_t staged_rows) {
  staged_rows_ += staged_rows;
  if (staged_rows_ < next_analyze_) {
    return;
  }
  next_analyze_ = staged_rows_ * 10;
  // Only the statistics: a failure (another role owns the tables) costs
  // speed, never a write.
  (void)db_->Exec("ANALYZE state_items, state_outbox");
}

Result<std::vector<IssueFailure>> PostgresState::Failures(std::string_view connection) {
  static const std::string kSql = "SELECT source_key, item_key, reason, " + Iso("since") +
                                  " FROM state_failures WHERE connection = $1 "
                                  "ORDER BY since, source_key";
  auto rows = db_->Exec(kSql, {std::string(connection)});
  if (!rows) {
    return StoreError("listing failing issues", rows.error());
  }
  std::vector<IssueFailure> failures;
  for (const PgRow& row : rows->rows) {
    failures.push_back(IssueFailure{Text(row[0]), Text(row[1]), Text(row[2]), Text(row[3])});
  }
  return failures;
}

Result<std::optional<SyncCursor>> PostgresState::Cursor(std::string_view connection) {
  auto rows = db_->Exec(
      "SELECT updated_ms, mapping_fingerprint, last_full_ms FROM state_cursors "
      "WHERE connection = $1",
      {std::string(connection)});
  if (!rows) {
    return StoreError("reading the cursor", rows.error());
  }
  if (rows->rows.empty()) {
    return std::optional<SyncCursor>();
  }
  const PgRow& row = rows->rows[0];
  return std::optional<SyncCursor>(SyncCursor{Int(row[0]), Text(row[1]), Int(row[2])});
}

Result<std::optional<SavedSession>> PostgresState::Session(std::string_view connection) {
  auto rows = db_->Exec("SELECT data, checked_ms FROM state_sessions WHERE connection = $1",
                        {std::string(connection)});
  if (!rows) {
    return StoreError("reading the tracker session", rows.error());
  }
  if (rows->rows.empty()) {
    return std::optional<SavedSession>();
  }
  const PgRow& row = rows->rows[0];
  return std::optional<SavedSession>(SavedSession{TrackerSession{Text(row[0])}, Int(row[1])});
}

Result<void> PostgresState::SaveSession(std::string_view connection,
                                        const SavedSession& session) {
  auto saved = db_->Exec(
      "INSERT INTO state_sessions (connection, data, checked_ms) VALUES ($1, $2, $3::bigint) "
      "ON CONFLICT (connection) DO UPDATE SET data = excluded.data, "
      "checked_ms = excluded.checked_ms",
      {std::string(connection), session.session.data, std::to_string(session.checked_ms)});
  if (!saved) {
    return StoreError("saving the tracker session", saved.error());
  }
  return {};
}

Result<void> PostgresState::MarkSeen(std::string_view connection, std::int64_t sweep,
                                     std::span<const std::string> item_keys) {
  const std::string conn(connection);
  const std::string keys = TextArray(item_keys);
  auto marked = db_->Transaction([&](PgConnection& db) -> Result<void> {
    if (auto fenced = CheckFence(db, conn); !fenced) {
      return fenced;
    }
    if (auto done = db.Exec(kMarkSeen, {conn, std::to_string(sweep), keys}); !done) {
      return std::unexpected(done.error());
    }
    return {};
  });
  if (!marked) {
    return StoreError("marking seen items", marked.error());
  }
  return {};
}

Result<std::vector<ItemVersion>> PostgresState::LiveUnseen(std::string_view connection,
                                                           std::int64_t sweep) {
  auto rows = db_->Exec(
      "SELECT item_key, source_updated_at FROM state_items "
      "WHERE connection = $1 AND status = 0 AND sweep <> $2::bigint ORDER BY item_key",
      {std::string(connection), std::to_string(sweep)});
  if (!rows) {
    return StoreError("listing unseen items", rows.error());
  }
  std::vector<ItemVersion> items;
  items.reserve(rows->rows.size());
  for (const PgRow& row : rows->rows) {
    items.push_back(ItemVersion{Text(row[0]), Text(row[1])});
  }
  return items;
}

Result<std::vector<OutboxEntry>> PostgresState::Pending(std::string_view connection,
                                                        std::size_t limit) {
  auto rows = db_->Exec(
      "SELECT seq, board, item_key, archive, source_key, source_url, source_updated_at, fields "
      "FROM state_outbox WHERE connection = $1 AND failed_at IS NULL ORDER BY seq "
      "LIMIT $2::bigint",
      {std::string(connection), std::to_string(limit)});
  if (!rows) {
    return StoreError("reading the outbox", rows.error());
  }
  std::vector<OutboxEntry> entries;
  entries.reserve(rows->rows.size());
  for (PgRow& row : rows->rows) {
    OutboxEntry& entry = entries.emplace_back();
    entry.seq = Int(row[0]);
    entry.connection = std::string(connection);
    entry.write.archive = Bool(row[3]);
    BoardItem& item = entry.write.item;
    item.board = Text(row[1]);
    item.item_key = Text(row[2]);
    item.source_updated_at = Text(row[6]);
    if (!entry.write.archive) {
      item.source_key = Text(row[4]);
      item.source_url = Text(row[5]);
      item.fields_json = row[7] ? std::move(*row[7]) : "{}";
    }
  }
  return entries;
}

Result<std::size_t> PostgresState::PendingCount(std::string_view connection) {
  auto rows = db_->Exec(
      "SELECT count(*) FROM state_outbox WHERE connection = $1 AND failed_at IS NULL",
      {std::string(connection)});
  if (!rows) {
    return StoreError("counting the outbox", rows.error());
  }
  return static_cast<std::size_t>(Int(rows->rows.at(0)[0]));
}

Result<void> PostgresState::Acknowledge(std::string_view connection,
                                        std::span<const std::int64_t> seqs) {
  const std::string conn(connection);
  const std::string list = IntArray(seqs);
  auto done = db_->Transaction([&](PgConnection& db) -> Result<void> {
    if (auto fenced = CheckFence(db, conn); !fenced) {
      return fenced;
    }
    if (auto deleted = db.Exec(
            "DELETE FROM state_outbox WHERE connection = $1 AND seq = ANY($2::bigint[])",
            {conn, list});
        !deleted) {
      return std::unexpected(deleted.error());
    }
    return {};
  });
  if (!done) {
    return StoreError("acknowledging board writes", done.error());
  }
  return {};
}

Result<void> PostgresState::Park(std::string_view connection, std::span<const Refusal> refused) {
  const std::string conn(connection);
  std::string list = "[";
  for (const Refusal& refusal : refused) {
    JsonObject(list).Int("seq", refusal.seq).Str("m", refusal.message);
  }
  list += ']';
  auto done = db_->Transaction([&](PgConnection& db) -> Result<void> {
    if (auto fenced = CheckFence(db, conn); !fenced) {
      return fenced;
    }
    if (auto parked = db.Exec(kPark, {conn, list}); !parked) {
      return std::unexpected(parked.error());
    }
    return {};
  });
  if (!done) {
    return StoreError("parking refused board writes", done.error());
  }
  return {};
}

Result<std::size_t> PostgresState::RetryFailed(std::string_view connection) {
  const std::string conn(connection);
  auto queued = db_->Transaction([&](PgConnection& db) -> Result<std::size_t> {
    if (auto fenced = CheckFence(db, conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    if (auto dropped = db.Exec(
            "DELETE FROM state_outbox o WHERE o.connection = $1 AND o.failed_at IS NOT NULL "
            "AND o.seq < coalesce((SELECT i.last_seq FROM state_items i "
            "WHERE i.connection = $1 AND i.item_key = o.item_key), 0)",
            {conn});
        !dropped) {
      return std::unexpected(dropped.error());
    }
    auto retried = db.Exec(
        "UPDATE state_outbox SET failed_at = NULL, error = NULL "
        "WHERE connection = $1 AND failed_at IS NOT NULL",
        {conn});
    if (!retried) {
      return std::unexpected(retried.error());
    }
    return static_cast<std::size_t>(retried->affected);
  });
  if (!queued) {
    return StoreError("queueing parked board writes again", queued.error());
  }
  return *queued;
}

Result<std::vector<RefusedItem>> PostgresState::Failed(std::string_view connection) {
  static const std::string kSql = "SELECT item_key, archive, source_key, error, " +
                                  Iso("failed_at") +
                                  " FROM state_outbox WHERE connection = $1 "
                                  "AND failed_at IS NOT NULL ORDER BY seq";
  auto rows = db_->Exec(kSql, {std::string(connection)});
  if (!rows) {
    return StoreError("listing parked board writes", rows.error());
  }
  std::vector<RefusedItem> refused;
  for (const PgRow& row : rows->rows) {
    refused.push_back(
        RefusedItem{Text(row[0]), Text(row[2]), Text(row[3]), Text(row[4]), Bool(row[1])});
  }
  return refused;
}

Result<std::optional<ScoreCursor>> PostgresState::ScoreCursorOf(std::string_view connection) {
  auto rows = db_->Exec(
      "SELECT board, cursor, fingerprint FROM state_score_cursors WHERE connection = $1",
      {std::string(connection)});
  if (!rows) {
    return StoreError("reading the score cursor", rows.error());
  }
  if (rows->rows.empty()) {
    return std::optional<ScoreCursor>();
  }
  const PgRow& row = rows->rows[0];
  return std::optional<ScoreCursor>(ScoreCursor{Text(row[0]), Text(row[1]), Text(row[2])});
}

Result<std::vector<std::optional<std::string>>> PostgresState::Ledger(
    std::string_view connection, std::span<const WritebackValue> values) {
  std::vector<std::optional<std::string>> found(values.size());
  if (values.empty()) {
    return found;
  }
  std::string list = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    JsonObject(list)
        .Int("o", static_cast<std::int64_t>(i))
        .Str("k", values[i].item_key)
        .Str("f", values[i].field);
  }
  list += ']';
  auto rows = db_->Exec(
      "SELECT v.o, l.value FROM jsonb_to_recordset($2::jsonb) AS v(o integer, k text, f text) "
      "JOIN state_writeback_ledger l "
      "ON l.connection = $1 AND l.item_key = v.k AND l.field = v.f",
      {std::string(connection), list});
  if (!rows) {
    return StoreError("reading the write-back ledger", rows.error());
  }
  for (PgRow& row : rows->rows) {
    const auto i = static_cast<std::size_t>(Int(row[0]));
    if (i < found.size()) {
      found[i] = std::move(row[1]);
    }
  }
  return found;
}

Result<std::size_t> PostgresState::StageWritebacks(std::string_view connection,
                                                   std::span<const WritebackValue> values,
                                                   const ScoreCursor* cursor) {
  const std::string conn(connection);
  std::string list = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    JsonObject(list)
        .Int("o", static_cast<std::int64_t>(i))
        .Str("k", values[i].item_key)
        .Str("f", values[i].field)
        .Str("v", values[i].value_json);
  }
  list += ']';
  auto queued = db_->Transaction([&](PgConnection& db) -> Result<std::size_t> {
    if (auto fenced = CheckFence(db, conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    std::size_t count = 0;
    if (!values.empty()) {
      auto staged = db.Exec(kStageWritebacks, {conn, list});
      if (!staged) {
        return std::unexpected(staged.error());
      }
      count = static_cast<std::size_t>(Int(staged->rows.at(0)[0]));
    }
    if (cursor != nullptr) {
      if (auto saved = db.Exec(
              "INSERT INTO state_score_cursors (connection, board, cursor, fingerprint) "
              "VALUES ($1, $2, $3, $4) ON CONFLICT (connection) DO UPDATE SET "
              "board = excluded.board, cursor = excluded.cursor, "
              "fingerprint = excluded.fingerprint",
              {conn, cursor->board, cursor->cursor, cursor->fingerprint});
          !saved) {
        return std::unexpected(saved.error());
      }
    }
    return count;
  });
  if (!queued) {
    return StoreError("queueing tracker writes", queued.error());
  }
  return *queued;
}

Result<std::vector<QueuedWriteback>> PostgresState::QueuedWritebacks(
    std::string_view connection) {
  auto rows = db_->Exec(
      "SELECT seq, item_key, field, value, coalesce(error, ''), sent "
      "FROM state_writeback_outbox WHERE connection = $1 ORDER BY item_key, field",
      {std::string(connection)});
  if (!rows) {
    return StoreError("reading queued tracker writes", rows.error());
  }
  std::vector<QueuedWriteback> queued;
  for (const PgRow& row : rows->rows) {
    queued.push_back(QueuedWriteback{Int(row[0]), Text(row[1]), Text(row[2]), Text(row[3]),
                                     Text(row[4]), Bool(row[5])});
  }
  return queued;
}

Result<void> PostgresState::SettleWritebacks(std::string_view connection,
                                             std::span<const QueuedWriteback> written) {
  const std::string conn(connection);
  std::string list = "[";
  for (std::size_t i = 0; i < written.size(); ++i) {
    JsonObject(list)
        .Int("o", static_cast<std::int64_t>(i))
        .Int("seq", written[i].seq)
        .Str("k", written[i].item_key)
        .Str("f", written[i].field)
        .Str("v", written[i].value_json);
  }
  list += ']';
  auto done = db_->Transaction([&](PgConnection& db) -> Result<void> {
    if (auto fenced = CheckFence(db, conn); !fenced) {
      return fenced;
    }
    if (auto settled = db.Exec(kSettleWritebacks, {conn, list}); !settled) {
      return std::unexpected(settled.error());
    }
    return {};
  });
  if (!done) {
    return StoreError("recording tracker writes", done.error());
  }
  return {};
}

namespace {

// A fenced statement over some of a connection's queued tracker writes.
template <typename CheckFence>
Result<void> ExecOnWritebacks(PgConnection& db, CheckFence&& fence, const std::string& connection,
                              std::string_view sql, std::span<const std::int64_t> seqs,
                              const std::string* message) {
  const std::string list = IntArray(seqs);
  return db.Transaction([&](PgConnection& c) -> Result<void> {
    if (auto fenced = fence(c); !fenced) {
      return fenced;
    }
    auto done = message != nullptr ? c.Exec(sql, {connection, list, *message})
                                   : c.Exec(sql, {connection, list});
    if (!done) {
      return std::unexpected(done.error());
    }
    return {};
  });
}

}  // namespace

Result<void> PostgresState::RefuseWritebacks(std::string_view connection,
                                             std::span<const std::int64_t> seqs,
                                             std::string_view message) {
  const std::string conn(connection);
  const std::string text(message);
  auto done = ExecOnWritebacks(
      *db_, [&](PgConnection& c) { return CheckFence(c, conn); }, conn,
      "UPDATE state_writeback_outbox SET failed_at = coalesce(failed_at, statement_timestamp()), "
      "error = $3 WHERE connection = $1 AND seq = ANY($2::bigint[])",
      seqs, &text);
  if (!done) {
    return StoreError("recording refused tracker writes", done.error());
  }
  return {};
}

Result<void> PostgresState::MarkWritebacksSent(std::string_view connection,
                                               std::span<const std::int64_t> seqs) {
  const std::string conn(connection);
  auto done = ExecOnWritebacks(
      *db_, [&](PgConnection& c) { return CheckFence(c, conn); }, conn,
      "UPDATE state_writeback_outbox SET sent = true "
      "WHERE connection = $1 AND seq = ANY($2::bigint[])",
      seqs, nullptr);
  if (!done) {
    return StoreError("marking tracker writes as sent", done.error());
  }
  return {};
}

Result<void> PostgresState::DropWritebacks(std::string_view connection,
                                           std::span<const std::int64_t> seqs) {
  const std::string conn(connection);
  auto done = ExecOnWritebacks(
      *db_, [&](PgConnection& c) { return CheckFence(c, conn); }, conn,
      "DELETE FROM state_writeback_outbox WHERE connection = $1 AND seq = ANY($2::bigint[])",
      seqs, nullptr);
  if (!done) {
    return StoreError("dropping tracker writes", done.error());
  }
  return {};
}

Result<std::vector<WritebackFailure>> PostgresState::WritebackFailures(
    std::string_view connection) {
  static const std::string kSql =
      "SELECT o.item_key, coalesce(i.source_key, ''), o.field, o.error, " + Iso("o.failed_at") +
      " FROM state_writeback_outbox o LEFT JOIN state_items i "
      "ON i.connection = o.connection AND i.item_key = o.item_key "
      "WHERE o.connection = $1 AND o.failed_at IS NOT NULL "
      "ORDER BY o.failed_at, o.item_key, o.field";
  auto rows = db_->Exec(kSql, {std::string(connection)});
  if (!rows) {
    return StoreError("listing refused tracker writes", rows.error());
  }
  std::vector<WritebackFailure> failures;
  for (const PgRow& row : rows->rows) {
    failures.push_back(WritebackFailure{Text(row[0]), Text(row[1]), Text(row[2]), Text(row[3]),
                                        Text(row[4])});
  }
  return failures;
}

namespace {

constexpr std::string_view kSaveRun =
    "INSERT INTO state_runs (connection, kind, record) VALUES ($1, $2, $3::jsonb) "
    "ON CONFLICT (connection, kind) DO UPDATE SET record = excluded.record";

}  // namespace

Result<void> PostgresState::RecordRun(const RunRecord& run) {
  std::string record;
  {
    JsonObject r(record);
    r.Str("started_at", run.started_at).Raw("seconds", Number(run.seconds));
    r.Str("result", run.result).Str("error", run.error);
    r.Int("pulled", run.pulled).Int("created", run.created).Int("updated", run.updated);
    r.Int("archived", run.archived).Int("unchanged", run.unchanged).Int("skipped", run.skipped);
    r.Int("failed", run.failed).Int("written", run.written);
  }
  if (auto saved = db_->Exec(kSaveRun, {run.connection, "sync", record}); !saved) {
    return StoreError("recording the run", saved.error());
  }
  return {};
}

Result<std::optional<RunRecord>> PostgresState::LastRun(std::string_view connection) {
  auto rows = db_->Exec(
      "SELECT record->>'started_at', record->>'seconds', record->>'result', record->>'error', "
      "record->>'pulled', record->>'created', record->>'updated', record->>'archived', "
      "record->>'unchanged', record->>'skipped', record->>'failed', record->>'written' "
      "FROM state_runs WHERE connection = $1 AND kind = 'sync'",
      {std::string(connection)});
  if (!rows) {
    return StoreError("reading the last run", rows.error());
  }
  if (rows->rows.empty()) {
    return std::optional<RunRecord>();
  }
  const PgRow& row = rows->rows[0];
  RunRecord run;
  run.connection = std::string(connection);
  run.started_at = Text(row[0]);
  run.seconds = Double(row[1]);
  run.result = Text(row[2]);
  run.error = Text(row[3]);
  std::int64_t* counts[] = {&run.pulled,    &run.created, &run.updated, &run.archived,
                            &run.unchanged, &run.skipped, &run.failed,  &run.written};
  for (std::size_t i = 0; i < std::size(counts); ++i) {
    *counts[i] = Int(row[4 + i]);
  }
  return std::optional<RunRecord>(std::move(run));
}

Result<void> PostgresState::RecordSyncBack(const SyncBackRecord& run) {
  std::string record;
  {
    JsonObject r(record);
    r.Str("started_at", run.started_at).Raw("seconds", Number(run.seconds));
    r.Str("result", run.result).Str("error", run.error);
    r.Int("written", run.written).Int("unchanged", run.unchanged).Int("failed", run.failed);
    r.Int("queued", run.queued);
  }
  if (auto saved = db_->Exec(kSaveRun, {run.connection, "sync_back", record}); !saved) {
    return StoreError("recording the sync back", saved.error());
  }
  return {};
}

Result<std::optional<SyncBackRecord>> PostgresState::LastSyncBack(std::string_view connection) {
  auto rows = db_->Exec(
      "SELECT record->>'started_at', record->>'seconds', record->>'result', record->>'error', "
      "record->>'written', record->>'unchanged', record->>'failed', record->>'queued' "
      "FROM state_runs WHERE connection = $1 AND kind = 'sync_back'",
      {std::string(connection)});
  if (!rows) {
    return StoreError("reading the last sync back", rows.error());
  }
  if (rows->rows.empty()) {
    return std::optional<SyncBackRecord>();
  }
  const PgRow& row = rows->rows[0];
  SyncBackRecord run;
  run.connection = std::string(connection);
  run.started_at = Text(row[0]);
  run.seconds = Double(row[1]);
  run.result = Text(row[2]);
  run.error = Text(row[3]);
  run.written = Int(row[4]);
  run.unchanged = Int(row[5]);
  run.failed = Int(row[6]);
  run.queued = Int(row[7]);
  return std::optional<SyncBackRecord>(std::move(run));
}

Result<std::optional<Backoff>> PostgresState::BackoffOf(std::string_view connection) {
  auto rows = db_->Exec("SELECT failures, until_ms FROM state_backoff WHERE connection = $1",
                        {std::string(connection)});
  if (!rows) {
    return StoreError("reading the backoff", rows.error());
  }
  if (rows->rows.empty()) {
    return std::optional<Backoff>();
  }
  const PgRow& row = rows->rows[0];
  return std::optional<Backoff>(Backoff{static_cast<int>(Int(row[0])), Int(row[1])});
}

Result<void> PostgresState::SetBackoff(std::string_view connection, const Backoff& backoff) {
  const std::string conn(connection);
  auto done = db_->Transaction([&](PgConnection& db) -> Result<void> {
    if (auto fenced = CheckFence(db, conn); !fenced) {
      return fenced;
    }
    auto saved =
        backoff.failures == 0
            ? db.Exec("DELETE FROM state_backoff WHERE connection = $1", {conn})
            : db.Exec("INSERT INTO state_backoff (connection, failures, until_ms) "
                      "VALUES ($1, $2::integer, $3::bigint) ON CONFLICT (connection) DO UPDATE "
                      "SET failures = excluded.failures, until_ms = excluded.until_ms",
                      {conn, std::to_string(backoff.failures), std::to_string(backoff.until_ms)});
    if (!saved) {
      return std::unexpected(saved.error());
    }
    return {};
  });
  if (!done) {
    return StoreError("recording the backoff", done.error());
  }
  return {};
}

Result<std::optional<Lease>> PostgresState::AcquireLease(std::string_view connection,
                                                         std::string_view holder,
                                                         std::chrono::milliseconds ttl) {
  Lease lease{std::string(connection), std::string(holder), 0};
  auto rows = db_->Exec(kAcquireLease, {lease.connection, lease.holder, std::to_string(ttl.count())});
  if (!rows) {
    return StoreError("taking the lease of connection " + lease.connection, rows.error());
  }
  if (rows->rows.empty()) {
    return std::optional<Lease>();
  }
  lease.epoch = Int(rows->rows[0][0]);
  return std::optional<Lease>(std::move(lease));
}

Result<bool> PostgresState::RenewLease(const Lease& lease, std::chrono::milliseconds ttl) {
  // Even once expired, while nobody took it over: then no other holder
  // wrote meanwhile.
  auto renewed = db_->Exec(
      "UPDATE state_leases SET expires_at = clock_timestamp() + $4::bigint * "
      "interval '1 millisecond' WHERE connection = $1 AND holder = $2 AND epoch = $3::bigint",
      {lease.connection, lease.holder, std::to_string(lease.epoch), std::to_string(ttl.count())});
  if (!renewed) {
    return StoreError("renewing the lease of connection " + lease.connection, renewed.error());
  }
  return renewed->affected > 0;
}

Result<void> PostgresState::ReleaseLease(const Lease& lease) {
  auto released = db_->Exec(
      "UPDATE state_leases SET holder = '', expires_at = clock_timestamp() "
      "WHERE connection = $1 AND holder = $2 AND epoch = $3::bigint",
      {lease.connection, lease.holder, std::to_string(lease.epoch)});
  if (!released) {
    return StoreError("releasing the lease of connection " + lease.connection, released.error());
  }
  return {};
}

Result<std::vector<LeaseHolder>> PostgresState::Leases() {
  static const std::string kSql = "SELECT connection, holder, epoch, " + Iso("expires_at") +
                                  " FROM state_leases WHERE holder <> '' "
                                  "AND expires_at > clock_timestamp() ORDER BY connection";
  auto rows = db_->Exec(kSql);
  if (!rows) {
    return StoreError("listing leases", rows.error());
  }
  std::vector<LeaseHolder> leases;
  for (const PgRow& row : rows->rows) {
    leases.push_back(LeaseHolder{Text(row[0]), Text(row[1]), Int(row[2]), Text(row[3])});
  }
  return leases;
}

Result<std::vector<std::string>> PostgresState::Heartbeat(std::string_view holder,
                                                          std::chrono::milliseconds ttl) {
  const std::string name(holder);
  const std::string ms = std::to_string(ttl.count());
  auto live = db_->Transaction([&](PgConnection& db) -> Result<std::vector<std::string>> {
    if (auto beat = db.Exec(
            "INSERT INTO state_replicas (holder, expires_at) "
            "VALUES ($1, clock_timestamp() + $2::bigint * interval '1 millisecond') "
            "ON CONFLICT (holder) DO UPDATE SET expires_at = excluded.expires_at",
            {name, ms});
        !beat) {
      return std::unexpected(beat.error());
    }
    if (auto forget =
            db.Exec("DELETE FROM state_replicas WHERE expires_at <= clock_timestamp()");
        !forget) {
      return std::unexpected(forget.error());
    }
    auto rows = db.Exec("SELECT holder FROM state_replicas ORDER BY holder");
    if (!rows) {
      return std::unexpected(rows.error());
    }
    std::vector<std::string> names;
    for (const PgRow& row : rows->rows) {
      names.push_back(Text(row[0]));
    }
    return names;
  });
  if (!live) {
    return StoreError("recording the heartbeat", live.error());
  }
  return *live;
}

}  // namespace boardsync

#include "daemon/state_db.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "connectors/http/json.h"
#include "core/time.h"
#include "daemon/lock.h"

namespace boardsync {
namespace {

constexpr int kSchemaVersion = 7;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
-- What was last staged for each item: its content hash, so an unchanged
-- issue causes no board write.
CREATE TABLE IF NOT EXISTS items (
  connection TEXT NOT NULL,
  item_key TEXT NOT NULL,
  board TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  source_updated_at TEXT NOT NULL,
  status INTEGER NOT NULL,            -- ItemStatus: 0 live, 1 archived, 2 skipped
  sweep INTEGER NOT NULL DEFAULT 0,   -- the last reconciliation that saw the issue
  last_seq INTEGER NOT NULL DEFAULT 0,  -- the outbox seq of its latest queued write
  source_key TEXT NOT NULL DEFAULT '',  -- the issue's human key as last staged (sync back)
  PRIMARY KEY (connection, item_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors (
  connection TEXT PRIMARY KEY,
  updated_ms INTEGER NOT NULL,
  mapping_fingerprint TEXT NOT NULL,
  last_full_ms INTEGER NOT NULL
);
-- What the last pull that checked the token learnt (TrackerSession): text
-- only its connector reads.
CREATE TABLE IF NOT EXISTS sessions (
  connection TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  checked_ms INTEGER NOT NULL
);
-- Board writes not yet acknowledged by the board store, oldest first.
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  connection TEXT NOT NULL,
  board TEXT NOT NULL,
  item_key TEXT NOT NULL,
  archive INTEGER NOT NULL,
  payload TEXT NOT NULL,
  failed_at TEXT,                     -- set when the board store refused it
  error TEXT                          -- the board store's message
);
CREATE INDEX IF NOT EXISTS outbox_by_connection ON outbox (connection);
-- The writes set aside, by item: a newer write of the item replaces them.
CREATE INDEX IF NOT EXISTS outbox_parked ON outbox (connection, item_key)
  WHERE failed_at IS NOT NULL;
-- Issues that could not be decoded or mapped, fetched again by key on every
-- sync until they succeed.
CREATE TABLE IF NOT EXISTS failures (
  connection TEXT NOT NULL,
  source_key TEXT NOT NULL,
  item_key TEXT NOT NULL,
  reason TEXT NOT NULL,
  since TEXT NOT NULL,
  PRIMARY KEY (connection, source_key)
) WITHOUT ROWID;
-- Sync back (DESIGN §3.1): where each connection's read of the board's
-- scores got to, the value last written per issue and tracker field (the
-- ledger), and the tracker writes not yet made (one per issue and field).
CREATE TABLE IF NOT EXISTS score_cursors (
  connection TEXT PRIMARY KEY,
  board TEXT NOT NULL,
  cursor TEXT NOT NULL,
  fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS writeback_ledger (
  connection TEXT NOT NULL,
  item_key TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,                -- canonical JSON; 'null': boardsync cleared it
  written_at TEXT NOT NULL,
  PRIMARY KEY (connection, item_key, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS writeback_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  connection TEXT NOT NULL,
  item_key TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  sent INTEGER NOT NULL DEFAULT 0,    -- 1 once a value of this row went to the tracker
  failed_at TEXT,                     -- set when the tracker refused it
  error TEXT,
  UNIQUE (connection, item_key, field)
);
CREATE TABLE IF NOT EXISTS sync_back_runs (
  connection TEXT PRIMARY KEY,
  started_at TEXT NOT NULL,
  seconds REAL NOT NULL,
  result TEXT NOT NULL,
  written INTEGER NOT NULL, unchanged INTEGER NOT NULL, failed INTEGER NOT NULL,
  queued INTEGER NOT NULL,
  error TEXT NOT NULL
);
-- How a failing connection is backed off, so that whoever syncs it next
-- honours it (DESIGN §4.3).
CREATE TABLE IF NOT EXISTS backoff (
  connection TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  until_ms INTEGER NOT NULL           -- Unix ms
);
-- Who may sync each connection until when (Unix ms, this machine's clock).
-- epoch grows each time the lease passes to another holder; a released
-- lease keeps its row and epoch with no holder (''), so the next one grows.
CREATE TABLE IF NOT EXISTS leases (
  connection TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
-- The live replicas (Heartbeat()), until when.
CREATE TABLE IF NOT EXISTS replicas (
  holder TEXT PRIMARY KEY,
  expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  connection TEXT PRIMARY KEY,
  started_at TEXT NOT NULL,
  seconds REAL NOT NULL,
  result TEXT NOT NULL,
  pulled INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL,
  archived INTEGER NOT NULL, unchanged INTEGER NOT NULL, skipped INTEGER NOT NULL,
  failed INTEGER NOT NULL, written INTEGER NOT NULL,
  error TEXT NOT NULL
);
)sql";

std::unexpected<Error> StorageError(std::string_view what, const std::exception& e) {
  return std::unexpected(
      Error{ErrorCode::kStorage, "state database: " + std::string(what) + ": " + e.what(), false});
}

// SQLite opens the file itself, with SQLITE_OPEN_NOFOLLOW; this says why
// beforehand, with the path.
Result<void> RefuseLink(const std::filesystem::path& file) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return Fail(ErrorCode::kUntrusted,
                "refusing the state database " + file.string() +
                    ": it is a symbolic link (boardsync does not follow links in its state "
                    "directory; remove it)");
  }
  return {};
}

// A file: URI for sqlite3_open_v2 (SQLITE_OPEN_URI) naming `file`.
std::string FileUri(const std::filesystem::path& file, std::string_view query) {
  std::string uri = "file:";
  for (char c : file.string()) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[static_cast<unsigned char>(c) >> 4];
      uri += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      uri += c;
    }
  }
  return uri + "?" + std::string(query);
}


// An upsert as the outbox keeps it (AppendBoardItemJson()'s form). Its
// fields stay the JSON they were queued as (BoardItem::fields_json), which
// a board store writes as it is: no Value tree is built for them.
Result<BoardItem> ReadQueuedItem(std::string_view text) {
  auto doc = ParseJsonDocument(text);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  const JsonView root = doc->Root();
  auto fields = root.Find("fields");
  if (!fields || !fields->IsObject()) {
    return Fail(ErrorCode::kBadResponse, "a board item needs a \"fields\" object");
  }
  BoardItem item;
  item.source_key = std::string(root.StringOr("source_key"));
  item.source_url = std::string(root.StringOr("source_url"));
  item.source_updated_at = std::string(root.StringOr("source_updated_at"));
  item.fields_json = std::string(fields->RawText());
  return item;
}
}  // namespace

class StateDb::Impl {
 public:
  // Read-write: creates the schema, or upgrades it.
  explicit Impl(const std::string& path)
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX |
                     SQLite::OPEN_NOFOLLOW) {
    db.setBusyTimeout(10'000);
    db.exec("PRAGMA journal_mode=WAL");
    // NORMAL in WAL mode survives a process crash (kill -9); only a power
    // loss may drop the last transactions, which the next sync pulls again.
    db.exec("PRAGMA synchronous=NORMAL");
    db.exec("PRAGMA cache_size=-8192");
    SQLite::Transaction tx(db);
    db.exec(kSchema);
    SQLite::Statement version(db, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (!version.executeStep()) {
      SQLite::Statement insert(db, "INSERT INTO meta (key, value) VALUES ('schema_version', ?)");
      insert.bind(1, std::to_string(kSchemaVersion));
      insert.exec();
    } else if (const std::string found = version.getColumn(0).getString();
               found != std::to_string(kSchemaVersion)) {
      version.reset();
      Migrate(found);
    }
    tx.commit();
  }

  // Read-only, from a file: URI: the schema must be the current one. The first
  // read happens here, so that a database SQLite cannot read this way fails
  // here.
  struct ReadOnly {};
  Impl(ReadOnly, const std::string& uri)
      : db(uri, SQLite::OPEN_READONLY | SQLite::OPEN_URI | SQLite::OPEN_FULLMUTEX |
                    SQLite::OPEN_NOFOLLOW) {
    db.setBusyTimeout(10'000);
    SQLite::Statement version(db, "SELECT value FROM meta WHERE key = 'schema_version'");
    const std::string found = version.executeStep() ? version.getColumn(0).getString() : "none";
    if (found != std::to_string(kSchemaVersion)) {
      throw std::runtime_error("schema version " + found + " is not the current " +
                               std::to_string(kSchemaVersion) +
                               "; a boardsync sync with write access upgrades it");
    }
  }

  SQLite::Database db;
  // Fence(): the lease each fenced connection's writes must still hold.
  std::unordered_map<std::string, Lease> fences;

 private:
  // Brings an older state database up to kSchemaVersion, inside the
  // caller's transaction. Tables and indexes new since are made by kSchema.
  void Migrate(const std::string& from) {
    if (from != "3" && from != "4" && from != "5" && from != "6") {
      throw std::runtime_error("schema version " + from + " is not the supported " +
                               std::to_string(kSchemaVersion) + " (nor one it can be upgraded from)");
    }
    if (from == "3") {
      db.exec("ALTER TABLE items ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0");
    }
    if (from == "3" || from == "4") {
      // Sessions became opaque text. They only spare a token check, so the
      // old ones are dropped: the next pull checks the token and saves anew.
      db.exec("DROP TABLE IF EXISTS sessions");
      db.exec("CREATE TABLE sessions (connection TEXT PRIMARY KEY, data TEXT NOT NULL, "
              "checked_ms INTEGER NOT NULL)");
    }
    // The items' human keys, which sync back writes by, are recorded as
    // their issues are next pulled (an unchanged issue too, once).
    SQLite::Statement has_key(db, "SELECT 1 FROM pragma_table_info('items') WHERE name = 'source_key'");
    if (!has_key.executeStep()) {
      db.exec("ALTER TABLE items ADD COLUMN source_key TEXT NOT NULL DEFAULT ''");
    }
    db.exec("UPDATE meta SET value = '" + std::to_string(kSchemaVersion) +
            "' WHERE key = 'schema_version'");
  }
};

StateDb::StateDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateDb::~StateDb() = default;

Result<std::unique_ptr<StateDb>> StateDb::Open(const std::filesystem::path& state_dir) {
  auto dir = PrepareStateDir(state_dir);
  if (!dir) {
    return std::unexpected(dir.error());
  }
  const std::filesystem::path file = *dir / "state.db";
  if (auto link = RefuseLink(file); !link) {
    return std::unexpected(link.error());
  }
  // Private even in a directory others may read; SQLite gives its -wal and
  // -shm files the database file's mode.
  if (int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      fd >= 0) {
    ::close(fd);
  }
  try {
    auto impl = std::make_unique<Impl>(file.string());
    return std::unique_ptr<StateDb>(new StateDb(std::move(impl)));
  } catch (const std::exception& e) {
    return StorageError("cannot open " + file.string(), e);
  }
}

Result<std::unique_ptr<StateDb>> StateDb::OpenReadOnly(const std::filesystem::path& state_dir) {
  auto dir = PrepareStateDir(state_dir);
  if (!dir) {
    return std::unexpected(dir.error());
  }
  const std::filesystem::path file = *dir / "state.db";
  if (auto link = RefuseLink(file); !link) {
    return std::unexpected(link.error());
  }
  try {
    // Reading a WAL database takes its -shm file, which SQLite creates when
    // missing, or opens read-only when it cannot write it.
    auto impl = std::make_unique<Impl>(Impl::ReadOnly{}, FileUri(file, "mode=ro"));
    return std::unique_ptr<StateDb>(new StateDb(std::move(impl)));
  } catch (const std::exception& e) {
    std::error_code ec;
    if (std::filesystem::exists(file.string() + "-wal", ec) || ec) {
      return StorageError("cannot open " + file.string() + " read-only", e);
    }
  }
  // Neither the -shm can be made (a directory it cannot write) nor is there a
  // -wal: no process has the database open, and all of it is in state.db.
  try {
    auto impl = std::make_unique<Impl>(Impl::ReadOnly{}, FileUri(file, "immutable=1"));
    return std::unique_ptr<StateDb>(new StateDb(std::move(impl)));
  } catch (const std::exception& e) {
    return StorageError("cannot open " + file.string() + " read-only", e);
  }
}

Result<std::unordered_map<std::string, KnownItem>> StateDb::KnownItems(
    std::string_view connection, std::span<const std::string> item_keys) {
  std::unordered_map<std::string, KnownItem> known;
  try {
    // One read transaction for the page: each statement on its own would
    // take and drop the WAL read lock.
    SQLite::Transaction tx(impl_->db);
    SQLite::Statement query(impl_->db,
                            "SELECT content_hash, status, source_key FROM items "
                            "WHERE connection = ? AND item_key = ?");
    for (const std::string& key : item_keys) {
      query.reset();
      query.bind(1, std::string(connection));
      query.bind(2, key);
      if (query.executeStep()) {
        known.emplace(key, KnownItem{query.getColumn(0).getString(),
                                     static_cast<ItemStatus>(query.getColumn(1).getInt()),
                                     query.getColumn(2).getString()});
      }
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("reading items", e);
  }
  return known;
}

Result<void> StateDb::Stage(std::string_view connection, std::span<const StagedWrite> writes,
                            const SyncCursor* cursor, const SeenItems* seen,
                            const FailureChanges* failures) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    // An archive keeps the content hash: an issue that comes back unchanged
    // is then still recognised as a change of status.
    // A reconciliation's mark (sweep, 0 for none) is set with the row; the
    // page's items without a write are marked after. last_seq (0: no write
    // queued) tells later which set-aside writes a newer one superseded.
    SQLite::Statement upsert(impl_->db,
                             "INSERT INTO items (connection, item_key, board, content_hash, "
                             "source_updated_at, status, sweep, last_seq, source_key) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                             "ON CONFLICT (connection, item_key) DO UPDATE SET "
                             "board = excluded.board, status = excluded.status, "
                             "content_hash = CASE WHEN excluded.status = 0 "
                             "THEN excluded.content_hash ELSE items.content_hash END, "
                             "source_updated_at = CASE WHEN excluded.status = 0 "
                             "THEN excluded.source_updated_at ELSE items.source_updated_at END, "
                             "sweep = CASE WHEN excluded.sweep = 0 "
                             "THEN items.sweep ELSE excluded.sweep END, "
                             "last_seq = CASE WHEN excluded.last_seq = 0 "
                             "THEN items.last_seq ELSE excluded.last_seq END, "
                             "source_key = CASE WHEN excluded.source_key = '' "
                             "THEN items.source_key ELSE excluded.source_key END");
    SQLite::Statement queue(impl_->db,
                            "INSERT INTO outbox (connection, board, item_key, archive, payload) "
                            "VALUES (?, ?, ?, ?, ?)");
    // A newer write of an item replaces the writes of it set aside. The
    // set-aside writes have an index of their own: the planner would take
    // the one by connection, which walks every queued write of it (a first
    // sync queues thousands, and this ran once a page).
    SQLite::Statement unpark(impl_->db,
                             "DELETE FROM outbox INDEXED BY outbox_parked WHERE connection = ? "
                             "AND item_key = ? AND failed_at IS NOT NULL");
    const std::int64_t sweep = seen != nullptr ? seen->sweep : 0;
    // Usually nothing is set aside: then no write needs to look.
    SQLite::Statement parked(impl_->db,
                             "SELECT EXISTS (SELECT 1 FROM outbox INDEXED BY outbox_parked "
                             "WHERE connection = ? AND failed_at IS NOT NULL)");
    parked.bind(1, conn);
    parked.executeStep();
    const bool any_parked = parked.getColumn(0).getInt() != 0;
    std::string payload;
    for (const StagedWrite& staged : writes) {
      const BoardItem& item = staged.write.item;
      std::int64_t seq = 0;
      if (staged.queue) {
        queue.reset();
        queue.bindNoCopy(1, conn);
        queue.bindNoCopy(2, item.board);
        queue.bindNoCopy(3, item.item_key);
        queue.bind(4, staged.write.archive ? 1 : 0);
        payload.clear();
        if (staged.write.archive) {
          // The version the archive was decided on (DESIGN §5).
          payload = "{\"source_updated_at\":";
          AppendJsonString(payload, item.source_updated_at);
          payload += '}';
        } else {
          AppendBoardItemJson(payload, item, staged.fields_json);
        }
        queue.bindNoCopy(5, payload);
        queue.exec();
        seq = impl_->db.getLastInsertRowid();
        if (any_parked) {
          unpark.reset();
          unpark.bindNoCopy(1, conn);
          unpark.bindNoCopy(2, item.item_key);
          unpark.exec();
        }
      }
      upsert.reset();
      upsert.bindNoCopy(1, conn);
      upsert.bindNoCopy(2, item.item_key);
      upsert.bindNoCopy(3, item.board);
      upsert.bindNoCopy(4, staged.content_hash);
      upsert.bindNoCopy(5, item.source_updated_at);
      upsert.bind(6, static_cast<int>(staged.status));
      upsert.bind(7, sweep);
      upsert.bind(8, seq);
      upsert.bindNoCopy(9, item.source_key);
      upsert.exec();
    }
    if (failures != nullptr) {
      StageFailuresIn(conn, *failures);
    }
    if (cursor != nullptr) {
      SQLite::Statement save(impl_->db,
                             "INSERT OR REPLACE INTO cursors (connection, updated_ms, "
                             "mapping_fingerprint, last_full_ms) VALUES (?, ?, ?, ?)");
      save.bind(1, conn);
      save.bind(2, cursor->updated_ms);
      save.bind(3, cursor->mapping_fingerprint);
      save.bind(4, cursor->last_full_ms);
      save.exec();
    }
    if (seen != nullptr) {
      std::unordered_set<std::string_view> written;
      for (const StagedWrite& staged : writes) {
        written.insert(staged.write.item.item_key);
      }
      std::vector<std::string> rest;
      for (const std::string& key : seen->item_keys) {
        if (!written.contains(key)) {
          rest.push_back(key);
        }
      }
      MarkSeenIn(conn, SeenItems{sweep, rest});
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("staging board writes", e);
  }
  return {};
}

void StateDb::StageFailuresIn(const std::string& connection, const FailureChanges& changes) {
  if (!changes.failed.empty()) {
    SQLite::Statement record(impl_->db,
                             "INSERT INTO failures (connection, source_key, item_key, reason, "
                             "since) VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection, source_key) "
                             "DO UPDATE SET item_key = excluded.item_key, reason = excluded.reason");
    const std::string now = FormatIsoUtc(NowMs());
    for (const IssueFailure& failure : changes.failed) {
      record.reset();
      record.bind(1, connection);
      record.bind(2, failure.source_key);
      record.bind(3, failure.item_key);
      record.bind(4, failure.reason);
      record.bind(5, now);
      record.exec();
    }
  }
  if (!changes.resolved.empty()) {
    SQLite::Statement forget(impl_->db,
                             "DELETE FROM failures WHERE connection = ? AND source_key = ?");
    for (const std::string& key : changes.resolved) {
      forget.reset();
      forget.bind(1, connection);
      forget.bind(2, key);
      forget.exec();
    }
  }
}

Result<std::vector<IssueFailure>> StateDb::Failures(std::string_view connection) {
  std::vector<IssueFailure> failures;
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT source_key, item_key, reason, since FROM failures "
                            "WHERE connection = ? ORDER BY since, source_key");
    query.bind(1, std::string(connection));
    while (query.executeStep()) {
      failures.push_back(IssueFailure{query.getColumn(0).getString(),
                                      query.getColumn(1).getString(),
                                      query.getColumn(2).getString(),
                                      query.getColumn(3).getString()});
    }
  } catch (const std::exception& e) {
    return StorageError("listing failing issues", e);
  }
  return failures;
}

void StateDb::MarkSeenIn(const std::string& connection, const SeenItems& seen) {
  SQLite::Statement mark(impl_->db,
                         "UPDATE items SET sweep = ? WHERE connection = ? AND item_key = ?");
  for (const std::string& key : seen.item_keys) {
    mark.reset();
    mark.bind(1, seen.sweep);
    mark.bind(2, connection);
    mark.bind(3, key);
    mark.exec();
  }
}

Result<std::optional<SyncCursor>> StateDb::Cursor(std::string_view connection) {
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT updated_ms, mapping_fingerprint, last_full_ms FROM cursors "
                            "WHERE connection = ?");
    query.bind(1, std::string(connection));
    if (!query.executeStep()) {
      return std::optional<SyncCursor>();
    }
    return std::optional<SyncCursor>(SyncCursor{query.getColumn(0).getInt64(),
                                                query.getColumn(1).getString(),
                                                query.getColumn(2).getInt64()});
  } catch (const std::exception& e) {
    return StorageError("reading the cursor", e);
  }
}

Result<std::optional<SavedSession>> StateDb::Session(std::string_view connection) {
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT data, checked_ms FROM sessions "
                            "WHERE connection = ?");
    query.bind(1, std::string(connection));
    if (!query.executeStep()) {
      return std::optional<SavedSession>();
    }
    return std::optional<SavedSession>(
        SavedSession{TrackerSession{query.getColumn(0).getString()}, query.getColumn(1).getInt64()});
  } catch (const std::exception& e) {
    return StorageError("reading the tracker session", e);
  }
}

Result<void> StateDb::SaveSession(std::string_view connection, const SavedSession& session) {
  try {
    SQLite::Statement save(impl_->db,
                           "INSERT OR REPLACE INTO sessions (connection, data, "
                           "checked_ms) VALUES (?, ?, ?)");
    save.bind(1, std::string(connection));
    save.bind(2, session.session.data);
    save.bind(3, session.checked_ms);
    save.exec();
  } catch (const std::exception& e) {
    return StorageError("saving the tracker session", e);
  }
  return {};
}

Result<void> StateDb::MarkSeen(std::string_view connection, std::int64_t sweep,
                               std::span<const std::string> item_keys) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    MarkSeenIn(conn, SeenItems{sweep, item_keys});
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("marking seen items", e);
  }
  return {};
}

Result<std::vector<ItemVersion>> StateDb::LiveUnseen(std::string_view connection,
                                                     std::int64_t sweep) {
  std::vector<ItemVersion> keys;
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT item_key, source_updated_at FROM items "
                            "WHERE connection = ? AND status = 0 AND sweep <> ? ORDER BY item_key");
    query.bind(1, std::string(connection));
    query.bind(2, sweep);
    while (query.executeStep()) {
      keys.push_back(ItemVersion{query.getColumn(0).getString(), query.getColumn(1).getString()});
    }
  } catch (const std::exception& e) {
    return StorageError("listing unseen items", e);
  }
  return keys;
}

Result<std::vector<OutboxEntry>> StateDb::Pending(std::string_view connection,
                                                  std::size_t limit) {
  std::vector<OutboxEntry> entries;
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT seq, board, item_key, archive, payload FROM outbox "
                            "WHERE connection = ? AND failed_at IS NULL ORDER BY seq LIMIT ?");
    query.bind(1, std::string(connection));
    query.bind(2, static_cast<std::int64_t>(limit));
    while (query.executeStep()) {
      OutboxEntry& entry = entries.emplace_back();
      entry.seq = query.getColumn(0).getInt64();
      entry.connection = std::string(connection);
      entry.write.archive = query.getColumn(3).getInt() != 0;
      const std::string_view text(static_cast<const char*>(query.getColumn(4).getBlob()),
                                  static_cast<std::size_t>(query.getColumn(4).getBytes()));
      if (entry.write.archive) {
        // {"source_updated_at": version}; "{}" when queued before versions.
        if (auto payload = ParseJsonDocument(text); payload) {
          entry.write.item.source_updated_at = payload->Root().StringOr("source_updated_at");
        }
      } else if (auto item = ReadQueuedItem(text); item) {
        entry.write.item = std::move(*item);
      } else {
        return Fail(ErrorCode::kStorage, "state database: outbox entry " +
                                             std::to_string(entry.seq) +
                                             " is unreadable: " + item.error().message);
      }
      entry.write.item.board = query.getColumn(1).getString();
      entry.write.item.item_key = query.getColumn(2).getString();
    }
  } catch (const std::exception& e) {
    return StorageError("reading the outbox", e);
  }
  return entries;
}

Result<std::size_t> StateDb::PendingCount(std::string_view connection) {
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT count(*) FROM outbox WHERE connection = ? AND failed_at IS NULL");
    query.bind(1, std::string(connection));
    query.executeStep();
    return static_cast<std::size_t>(query.getColumn(0).getInt64());
  } catch (const std::exception& e) {
    return StorageError("counting the outbox", e);
  }
}

Result<void> StateDb::Acknowledge(std::string_view connection,
                                  std::span<const std::int64_t> seqs) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    // A batch's seqs mostly follow one another: each run of consecutive
    // seqs goes in one statement (every seq of the connection in it is the
    // batch's own).
    SQLite::Statement remove(impl_->db,
                             "DELETE FROM outbox WHERE connection = ? AND seq BETWEEN ? AND ?");
    for (std::size_t i = 0; i < seqs.size();) {
      std::size_t j = i + 1;
      while (j < seqs.size() && seqs[j] == seqs[j - 1] + 1) {
        ++j;
      }
      remove.reset();
      remove.bindNoCopy(1, conn);
      remove.bind(2, seqs[i]);
      remove.bind(3, seqs[j - 1]);
      remove.exec();
      i = j;
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("acknowledging board writes", e);
  }
  return {};
}

Result<void> StateDb::Park(std::string_view connection, std::span<const Refusal> refused) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    // Only while no later write of the item was queued: that one replaces it.
    SQLite::Statement park(impl_->db,
                           "UPDATE outbox SET failed_at = ?2, error = ?3 WHERE connection = ?1 "
                           "AND seq = ?4 AND seq >= coalesce((SELECT last_seq FROM items WHERE "
                           "items.connection = ?1 AND items.item_key = outbox.item_key), 0)");
    SQLite::Statement drop(impl_->db, "DELETE FROM outbox WHERE connection = ? AND seq = ?");
    const std::string now = FormatIsoUtc(NowMs());
    for (const Refusal& refusal : refused) {
      park.reset();
      park.bindNoCopy(1, conn);
      park.bind(2, now);
      park.bind(3, refusal.message);
      park.bind(4, refusal.seq);
      if (park.exec() == 0) {
        drop.reset();
        drop.bindNoCopy(1, conn);
        drop.bind(2, refusal.seq);
        drop.exec();
      }
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("parking refused board writes", e);
  }
  return {};
}

Result<std::size_t> StateDb::RetryFailed(std::string_view connection) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    SQLite::Statement superseded(
        impl_->db,
        "DELETE FROM outbox WHERE connection = ?1 AND failed_at IS NOT NULL AND seq < "
        "coalesce((SELECT last_seq FROM items WHERE items.connection = ?1 "
        "AND items.item_key = outbox.item_key), 0)");
    superseded.bind(1, conn);
    superseded.exec();
    SQLite::Statement retry(impl_->db,
                            "UPDATE outbox INDEXED BY outbox_parked SET failed_at = NULL, "
                            "error = NULL WHERE connection = ? AND failed_at IS NOT NULL");
    retry.bind(1, conn);
    const auto queued = static_cast<std::size_t>(retry.exec());
    tx.commit();
    return queued;
  } catch (const std::exception& e) {
    return StorageError("queueing parked board writes again", e);
  }
}

Result<std::vector<RefusedItem>> StateDb::Failed(std::string_view connection) {
  std::vector<RefusedItem> refused;
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT item_key, archive, payload, error, failed_at FROM outbox "
                            "INDEXED BY outbox_parked WHERE connection = ? AND failed_at IS NOT "
                            "NULL ORDER BY seq");
    query.bind(1, std::string(connection));
    while (query.executeStep()) {
      RefusedItem& item = refused.emplace_back();
      item.item_key = query.getColumn(0).getString();
      item.archive = query.getColumn(1).getInt() != 0;
      if (!item.archive) {
        if (auto payload = ParseJson(query.getColumn(2).getString()); payload) {
          item.source_key = payload->StringOr("source_key");
        }
      }
      item.message = query.getColumn(3).getString();
      item.since = query.getColumn(4).getString();
    }
  } catch (const std::exception& e) {
    return StorageError("listing parked board writes", e);
  }
  return refused;
}

Result<void> StateDb::RecordRun(const RunRecord& run) {
  try {
    SQLite::Statement insert(impl_->db,
                             "INSERT OR REPLACE INTO runs (connection, started_at, seconds, result, "
                             "pulled, created, updated, archived, unchanged, skipped, failed, "
                             "written, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, run.connection);
    insert.bind(2, run.started_at);
    insert.bind(3, run.seconds);
    insert.bind(4, run.result);
    int i = 5;
    for (std::int64_t n : {run.pulled, run.created, run.updated, run.archived, run.unchanged,
                           run.skipped, run.failed, run.written}) {
      insert.bind(i++, n);
    }
    insert.bind(13, run.error);
    insert.exec();
  } catch (const std::exception& e) {
    return StorageError("recording the run", e);
  }
  return {};
}

Result<std::optional<RunRecord>> StateDb::LastRun(std::string_view connection) {
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT started_at, seconds, result, pulled, created, updated, "
                            "archived, unchanged, skipped, failed, written, error "
                            "FROM runs WHERE connection = ?");
    query.bind(1, std::string(connection));
    if (!query.executeStep()) {
      return std::optional<RunRecord>();
    }
    RunRecord run;
    run.connection = std::string(connection);
    run.started_at = query.getColumn(0).getString();
    run.seconds = query.getColumn(1).getDouble();
    run.result = query.getColumn(2).getString();
    std::int64_t* counts[] = {&run.pulled,    &run.created, &run.updated, &run.archived,
                              &run.unchanged, &run.skipped, &run.failed,  &run.written};
    for (int i = 0; i < 8; ++i) {
      *counts[i] = query.getColumn(3 + i).getInt64();
    }
    run.error = query.getColumn(11).getString();
    return std::optional<RunRecord>(std::move(run));
  } catch (const std::exception& e) {
    return StorageError("reading the last run", e);
  }
}

Result<std::optional<ScoreCursor>> StateDb::ScoreCursorOf(std::string_view connection) {
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT board, cursor, fingerprint FROM score_cursors "
                            "WHERE connection = ?");
    query.bind(1, std::string(connection));
    if (!query.executeStep()) {
      return std::optional<ScoreCursor>();
    }
    return std::optional<ScoreCursor>(ScoreCursor{query.getColumn(0).getString(),
                                                  query.getColumn(1).getString(),
                                                  query.getColumn(2).getString()});
  } catch (const std::exception& e) {
    return StorageError("reading the score cursor", e);
  }
}

namespace {

// The ledger's value of each of `values`, inside the caller's transaction.
std::vector<std::optional<std::string>> LedgerIn(SQLite::Database& db,
                                                 const std::string& connection,
                                                 std::span<const WritebackValue> values) {
  SQLite::Statement query(db,
                          "SELECT value FROM writeback_ledger "
                          "WHERE connection = ? AND item_key = ? AND field = ?");
  std::vector<std::optional<std::string>> found;
  found.reserve(values.size());
  for (const WritebackValue& value : values) {
    query.reset();
    query.bindNoCopy(1, connection);
    query.bindNoCopy(2, value.item_key);
    query.bindNoCopy(3, value.field);
    found.push_back(query.executeStep() ? std::optional(query.getColumn(0).getString())
                                        : std::nullopt);
  }
  return found;
}

}  // namespace

Result<std::vector<std::optional<std::string>>> StateDb::Ledger(
    std::string_view connection, std::span<const WritebackValue> values) {
  try {
    SQLite::Transaction tx(impl_->db);
    auto found = LedgerIn(impl_->db, std::string(connection), values);
    tx.commit();
    return found;
  } catch (const std::exception& e) {
    return StorageError("reading the write-back ledger", e);
  }
}

Result<std::size_t> StateDb::StageWritebacks(std::string_view connection,
                                             std::span<const WritebackValue> values,
                                             const ScoreCursor* cursor) {
  const std::string conn(connection);
  std::size_t queued = 0;
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    const auto ledger = LedgerIn(impl_->db, conn, values);
    // A row whose value was sent may have reached the tracker without being
    // settled (a kill between the two): the tracker may hold that value, not
    // the ledger's, so such a row is never dropped as "the same as the
    // ledger", only given the board's value.
    SQLite::Statement sent(impl_->db,
                           "SELECT sent FROM writeback_outbox "
                           "WHERE connection = ? AND item_key = ? AND field = ?");
    // A newer value replaces the queued one, and with it its refusal.
    SQLite::Statement queue(impl_->db,
                            "INSERT INTO writeback_outbox (connection, item_key, field, value) "
                            "VALUES (?, ?, ?, ?) ON CONFLICT (connection, item_key, field) "
                            "DO UPDATE SET value = excluded.value, "
                            "failed_at = CASE WHEN value = excluded.value "
                            "THEN failed_at ELSE NULL END, "
                            "error = CASE WHEN value = excluded.value THEN error ELSE NULL END");
    SQLite::Statement drop(impl_->db,
                           "DELETE FROM writeback_outbox "
                           "WHERE connection = ? AND item_key = ? AND field = ?");
    for (std::size_t i = 0; i < values.size(); ++i) {
      const WritebackValue& value = values[i];
      bool same = ledger[i] ? *ledger[i] == value.value_json : value.value_json == "null";
      if (same) {
        sent.reset();
        sent.bindNoCopy(1, conn);
        sent.bindNoCopy(2, value.item_key);
        sent.bindNoCopy(3, value.field);
        same = !(sent.executeStep() && sent.getColumn(0).getInt() != 0);
      }
      SQLite::Statement& statement = same ? drop : queue;
      statement.reset();
      statement.bindNoCopy(1, conn);
      statement.bindNoCopy(2, value.item_key);
      statement.bindNoCopy(3, value.field);
      if (!same) {
        statement.bindNoCopy(4, value.value_json);
        ++queued;
      }
      statement.exec();
    }
    if (cursor != nullptr) {
      SQLite::Statement save(impl_->db,
                             "INSERT OR REPLACE INTO score_cursors (connection, board, cursor, "
                             "fingerprint) VALUES (?, ?, ?, ?)");
      save.bind(1, conn);
      save.bind(2, cursor->board);
      save.bind(3, cursor->cursor);
      save.bind(4, cursor->fingerprint);
      save.exec();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("queueing tracker writes", e);
  }
  return queued;
}

Result<std::vector<QueuedWriteback>> StateDb::QueuedWritebacks(std::string_view connection) {
  std::vector<QueuedWriteback> queued;
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT seq, item_key, field, value, coalesce(error, ''), sent "
                            "FROM writeback_outbox WHERE connection = ? ORDER BY item_key, field");
    query.bind(1, std::string(connection));
    while (query.executeStep()) {
      queued.push_back(QueuedWriteback{query.getColumn(0).getInt64(),
                                       query.getColumn(1).getString(),
                                       query.getColumn(2).getString(),
                                       query.getColumn(3).getString(),
                                       query.getColumn(4).getString(),
                                       query.getColumn(5).getInt() != 0});
    }
  } catch (const std::exception& e) {
    return StorageError("reading queued tracker writes", e);
  }
  return queued;
}

Result<void> StateDb::SettleWritebacks(std::string_view connection,
                                       std::span<const QueuedWriteback> written) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    SQLite::Statement record(impl_->db,
                             "INSERT OR REPLACE INTO writeback_ledger (connection, item_key, "
                             "field, value, written_at) VALUES (?, ?, ?, ?, ?)");
    // A value queued after this one was sent replaced it in its row: the
    // row stays then.
    SQLite::Statement done(impl_->db,
                           "DELETE FROM writeback_outbox "
                           "WHERE connection = ? AND seq = ? AND value = ?");
    const std::string now = FormatIsoUtc(NowMs());
    for (const QueuedWriteback& write : written) {
      record.reset();
      record.bindNoCopy(1, conn);
      record.bindNoCopy(2, write.item_key);
      record.bindNoCopy(3, write.field);
      record.bindNoCopy(4, write.value_json);
      record.bindNoCopy(5, now);
      record.exec();
      done.reset();
      done.bindNoCopy(1, conn);
      done.bind(2, write.seq);
      done.bindNoCopy(3, write.value_json);
      done.exec();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("recording tracker writes", e);
  }
  return {};
}

Result<void> StateDb::RefuseWritebacks(std::string_view connection,
                                       std::span<const std::int64_t> seqs,
                                       std::string_view message) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    SQLite::Statement refuse(impl_->db,
                             "UPDATE writeback_outbox SET failed_at = coalesce(failed_at, ?), "
                             "error = ? WHERE connection = ? AND seq = ?");
    const std::string now = FormatIsoUtc(NowMs());
    for (std::int64_t seq : seqs) {
      refuse.reset();
      refuse.bind(1, now);
      refuse.bind(2, std::string(message));
      refuse.bindNoCopy(3, conn);
      refuse.bind(4, seq);
      refuse.exec();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("recording refused tracker writes", e);
  }
  return {};
}

Result<void> StateDb::MarkWritebacksSent(std::string_view connection,
                                         std::span<const std::int64_t> seqs) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    SQLite::Statement mark(impl_->db,
                           "UPDATE writeback_outbox SET sent = 1 WHERE connection = ? AND seq = ?");
    for (std::int64_t seq : seqs) {
      mark.reset();
      mark.bindNoCopy(1, conn);
      mark.bind(2, seq);
      mark.exec();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("marking tracker writes as sent", e);
  }
  return {};
}

Result<void> StateDb::DropWritebacks(std::string_view connection,
                                     std::span<const std::int64_t> seqs) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    SQLite::Statement drop(impl_->db,
                           "DELETE FROM writeback_outbox WHERE connection = ? AND seq = ?");
    for (std::int64_t seq : seqs) {
      drop.reset();
      drop.bindNoCopy(1, conn);
      drop.bind(2, seq);
      drop.exec();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("dropping tracker writes", e);
  }
  return {};
}

Result<std::vector<WritebackFailure>> StateDb::WritebackFailures(std::string_view connection) {
  std::vector<WritebackFailure> failures;
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT o.item_key, coalesce(i.source_key, ''), o.field, o.error, "
                            "o.failed_at FROM writeback_outbox o LEFT JOIN items i "
                            "ON i.connection = o.connection AND i.item_key = o.item_key "
                            "WHERE o.connection = ? AND o.failed_at IS NOT NULL "
                            "ORDER BY o.failed_at, o.item_key, o.field");
    query.bind(1, std::string(connection));
    while (query.executeStep()) {
      failures.push_back(WritebackFailure{
          query.getColumn(0).getString(), query.getColumn(1).getString(),
          query.getColumn(2).getString(), query.getColumn(3).getString(),
          query.getColumn(4).getString()});
    }
  } catch (const std::exception& e) {
    return StorageError("listing refused tracker writes", e);
  }
  return failures;
}

Result<void> StateDb::RecordSyncBack(const SyncBackRecord& run) {
  try {
    SQLite::Statement insert(impl_->db,
                             "INSERT OR REPLACE INTO sync_back_runs (connection, started_at, "
                             "seconds, result, written, unchanged, failed, queued, error) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, run.connection);
    insert.bind(2, run.started_at);
    insert.bind(3, run.seconds);
    insert.bind(4, run.result);
    insert.bind(5, run.written);
    insert.bind(6, run.unchanged);
    insert.bind(7, run.failed);
    insert.bind(8, run.queued);
    insert.bind(9, run.error);
    insert.exec();
  } catch (const std::exception& e) {
    return StorageError("recording the sync back", e);
  }
  return {};
}

Result<std::optional<SyncBackRecord>> StateDb::LastSyncBack(std::string_view connection) {
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT started_at, seconds, result, written, unchanged, failed, "
                            "queued, error FROM sync_back_runs WHERE connection = ?");
    query.bind(1, std::string(connection));
    if (!query.executeStep()) {
      return std::optional<SyncBackRecord>();
    }
    SyncBackRecord run;
    run.connection = std::string(connection);
    run.started_at = query.getColumn(0).getString();
    run.seconds = query.getColumn(1).getDouble();
    run.result = query.getColumn(2).getString();
    run.written = query.getColumn(3).getInt64();
    run.unchanged = query.getColumn(4).getInt64();
    run.failed = query.getColumn(5).getInt64();
    run.queued = query.getColumn(6).getInt64();
    run.error = query.getColumn(7).getString();
    return std::optional<SyncBackRecord>(std::move(run));
  } catch (const std::exception& e) {
    return StorageError("reading the last sync back", e);
  }
}

Result<std::optional<Backoff>> StateDb::BackoffOf(std::string_view connection) {
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT failures, until_ms FROM backoff WHERE connection = ?");
    query.bind(1, std::string(connection));
    if (!query.executeStep()) {
      return std::optional<Backoff>();
    }
    return std::optional<Backoff>(
        Backoff{query.getColumn(0).getInt(), query.getColumn(1).getInt64()});
  } catch (const std::exception& e) {
    return StorageError("reading the backoff", e);
  }
}

Result<void> StateDb::SetBackoff(std::string_view connection, const Backoff& backoff) {
  const std::string conn(connection);
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto fenced = CheckFenceIn(conn); !fenced) {
      return std::unexpected(fenced.error());
    }
    if (backoff.failures == 0) {
      SQLite::Statement forget(impl_->db, "DELETE FROM backoff WHERE connection = ?");
      forget.bind(1, conn);
      forget.exec();
    } else {
      SQLite::Statement save(impl_->db,
                             "INSERT OR REPLACE INTO backoff (connection, failures, until_ms) "
                             "VALUES (?, ?, ?)");
      save.bind(1, conn);
      save.bind(2, backoff.failures);
      save.bind(3, backoff.until_ms);
      save.exec();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("recording the backoff", e);
  }
  return {};
}

Result<std::optional<Lease>> StateDb::AcquireLease(std::string_view connection,
                                                   std::string_view holder,
                                                   std::chrono::milliseconds ttl) {
  Lease lease{std::string(connection), std::string(holder), 1};
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    const std::int64_t now = NowMs();
    SQLite::Statement query(impl_->db,
                            "SELECT holder, epoch, expires_ms FROM leases WHERE connection = ?");
    query.bind(1, lease.connection);
    if (query.executeStep()) {
      const std::string current = query.getColumn(0).getString();
      const std::int64_t epoch = query.getColumn(1).getInt64();
      if (current == lease.holder) {
        // Its own lease, extended: nobody held it in between (that would
        // have changed the holder), so the writes it fences stay good.
        lease.epoch = epoch;
      } else if (query.getColumn(2).getInt64() > now) {
        return std::optional<Lease>();
      } else {
        lease.epoch = epoch + 1;
      }
    }
    query.reset();
    SQLite::Statement take(impl_->db,
                           "INSERT OR REPLACE INTO leases (connection, holder, epoch, expires_ms) "
                           "VALUES (?, ?, ?, ?)");
    take.bind(1, lease.connection);
    take.bind(2, lease.holder);
    take.bind(3, lease.epoch);
    take.bind(4, now + ttl.count());
    take.exec();
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("taking the lease of connection " + lease.connection, e);
  }
  return std::optional<Lease>(std::move(lease));
}

Result<bool> StateDb::RenewLease(const Lease& lease, std::chrono::milliseconds ttl) {
  try {
    // Even once expired, while nobody took it over: then no other holder
    // wrote meanwhile.
    SQLite::Statement renew(impl_->db,
                            "UPDATE leases SET expires_ms = ? "
                            "WHERE connection = ? AND holder = ? AND epoch = ?");
    renew.bind(1, NowMs() + ttl.count());
    renew.bind(2, lease.connection);
    renew.bind(3, lease.holder);
    renew.bind(4, lease.epoch);
    return renew.exec() > 0;
  } catch (const std::exception& e) {
    return StorageError("renewing the lease of connection " + lease.connection, e);
  }
}

Result<void> StateDb::ReleaseLease(const Lease& lease) {
  try {
    SQLite::Statement release(impl_->db,
                              "UPDATE leases SET holder = '', expires_ms = 0 "
                              "WHERE connection = ? AND holder = ? AND epoch = ?");
    release.bind(1, lease.connection);
    release.bind(2, lease.holder);
    release.bind(3, lease.epoch);
    release.exec();
  } catch (const std::exception& e) {
    return StorageError("releasing the lease of connection " + lease.connection, e);
  }
  return {};
}

Result<std::vector<LeaseHolder>> StateDb::Leases() {
  std::vector<LeaseHolder> leases;
  try {
    SQLite::Statement query(impl_->db,
                            "SELECT connection, holder, epoch, expires_ms FROM leases "
                            "WHERE holder <> '' AND expires_ms > ? ORDER BY connection");
    query.bind(1, NowMs());
    while (query.executeStep()) {
      leases.push_back(LeaseHolder{query.getColumn(0).getString(), query.getColumn(1).getString(),
                                   query.getColumn(2).getInt64(),
                                   FormatIsoUtc(query.getColumn(3).getInt64())});
    }
  } catch (const std::exception& e) {
    return StorageError("listing leases", e);
  }
  return leases;
}

Result<std::vector<std::string>> StateDb::Heartbeat(std::string_view holder,
                                                    std::chrono::milliseconds ttl) {
  std::vector<std::string> live;
  try {
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    const std::int64_t now = NowMs();
    SQLite::Statement beat(impl_->db,
                           "INSERT OR REPLACE INTO replicas (holder, expires_ms) VALUES (?, ?)");
    beat.bind(1, std::string(holder));
    beat.bind(2, now + ttl.count());
    beat.exec();
    SQLite::Statement forget(impl_->db, "DELETE FROM replicas WHERE expires_ms <= ?");
    forget.bind(1, now);
    forget.exec();
    SQLite::Statement query(impl_->db, "SELECT holder FROM replicas ORDER BY holder");
    while (query.executeStep()) {
      live.push_back(query.getColumn(0).getString());
    }
    tx.commit();
  } catch (const std::exception& e) {
    return StorageError("recording the heartbeat", e);
  }
  return live;
}

void StateDb::Fence(const Lease& lease) { impl_->fences.insert_or_assign(lease.connection, lease); }

Result<void> StateDb::CheckFenceIn(const std::string& connection) {
  const auto fence = impl_->fences.find(connection);
  if (fence == impl_->fences.end()) {
    return {};
  }
  const Lease& lease = fence->second;
  SQLite::Statement query(impl_->db,
                          "SELECT holder, epoch, expires_ms FROM leases WHERE connection = ?");
  query.bind(1, connection);
  const std::int64_t now = NowMs();
  std::string now_held = "it expired";
  if (query.executeStep()) {
    const std::string holder = query.getColumn(0).getString();
    const bool live = query.getColumn(2).getInt64() > now;
    if (holder == lease.holder && query.getColumn(1).getInt64() == lease.epoch && live) {
      return {};
    }
    if (holder.empty()) {
      now_held = "it was released";
    } else if (live && (holder != lease.holder || query.getColumn(1).getInt64() != lease.epoch)) {
      now_held = "another holds it now";
    }
  }
  return Fail(ErrorCode::kLocked, "connection " + connection + ": this replica (" + lease.holder +
                                      ") lost its lease (epoch " + std::to_string(lease.epoch) +
                                      "); " + now_held);
}

}  // namespace boardsync

#include "connectors/board/sqlite_board.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/stat.h>

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
  try {
    return std::unique_ptr<SqliteBoard>(new SqliteBoard(std::make_unique<Impl>(path.string())));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kStorage,
                "board store " + file.string() + ": cannot open: " + std::string(e.what()));
  }
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

}  // namespace boardsync

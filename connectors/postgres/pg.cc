#include "connectors/postgres/pg.h"

#include <libpq-fe.h>

#include <charconv>
#include <utility>

#include "core/redact.h"
#include "core/text.h"

namespace boardsync {
namespace {

// Arbitrary, fixed: the advisory lock PgMigrate() holds ("boardsyn").
constexpr std::int64_t kMigrationLock = 0x626f61726473796e;

struct ConninfoFree {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
struct ResultClear {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClear>;

// libpq's messages end in a newline and continue lines with "\n\t"; one
// line reads better inside ours. Redacted: libpq may echo what it was given.
std::string OneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += c;
  }
  return Redact(out);
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// How a failed connection attempt reads to an operator. libpq gives no
// SQLSTATE for these, only its words (and the server's, in English unless
// lc_messages says otherwise), so they are sorted by what they say; anything
// not recognised counts as the server not being reachable, which is retried.
Error ConnectError(PGconn* conn, const std::string& where) {
  std::string reason = OneLine(PQerrorMessage(conn));
  // "connection to server at "h" (1.2.3.4), port 5432 failed: " repeats
  // where; the reason after it is what matters.
  if (reason.starts_with("connection to server")) {
    if (auto failed = reason.find("failed: "); failed != std::string::npos) {
      reason.erase(0, failed + 8);
    }
  }
  if (reason.starts_with("FATAL: ")) {
    reason.erase(0, 7);
  }
  const std::string what = "cannot connect to the PostgreSQL database at " + where + ": ";
  if (PQconnectionNeedsPassword(conn) != 0) {
    return Error{ErrorCode::kAuth, what + "the server asks for a password and the URL has none",
                 false};
  }
  if (Contains(reason, "authentication failed") || Contains(reason, "pg_hba.conf") ||
      Contains(reason, "no password supplied") ||
      (Contains(reason, "role \"") && Contains(reason, "does not exist")) ||
      Contains(reason, "permission denied")) {
    return Error{ErrorCode::kAuth, what + reason, false};
  }
  if ((Contains(reason, "database \"") && Contains(reason, "does not exist")) ||
      Contains(reason, "SSL") || Contains(reason, "certificate") || Contains(reason, "sslmode") ||
      Contains(reason, "GSS")) {
    return Error{ErrorCode::kConfig, what + reason, false};
  }
  return Error{ErrorCode::kUnavailable, what + reason, true};
}

// The code and retriable flag for a statement the server refused.
std::pair<ErrorCode, bool> Classify(std::string_view sqlstate) {
  if (sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "55P03" || sqlstate == "57014") {
    return {ErrorCode::kUnavailable, true};
  }
  if (PgIsTransactionConflict(sqlstate)) {
    return {ErrorCode::kStorage, true};
  }
  if (sqlstate.starts_with("28") || sqlstate == "42501") {
    return {ErrorCode::kAuth, false};
  }
  return {ErrorCode::kStorage, false};
}

std::int64_t ParseCount(const char* text) {
  std::int64_t n = 0;
  if (text != nullptr) {
    std::from_chars(text, text + std::char_traits<char>::length(text), n);
  }
  return n;
}

// Secret registers the part of a value after its last '.' on its own, for
// dotted tokens (core/secret.cc). In a URL that part is the end of the host
// name, the port and the database ("0.1:5432/boardsync"), which every
// message naming the database would then lose. When it holds nothing of the
// password it is shown again (registered as its own replacement); the
// password and the whole URL stay redacted.
void ShowUrlTail(std::string_view url) {
  const auto dot = url.rfind('.');
  if (dot == std::string_view::npos) {
    return;
  }
  const std::string_view tail = url.substr(dot + 1);
  if (tail.size() < 6 || tail.find('@') != std::string_view::npos ||
      AsciiLower(tail).find("password") != std::string::npos) {
    return;
  }
  RegisterSecret(tail, std::string(tail));
}

}  // namespace

bool PgIsTransactionConflict(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";
}

// libpq's `options`: the server settings of every session (see Open()).
constexpr const char* kSessionOptions =
    "-c idle_in_transaction_session_timeout=5s -c lock_timeout=5s";

class PgConnection::Impl {
 public:
  explicit Impl(PGconn* c) : conn(c) {}
  ~Impl() { PQfinish(conn); }

  // The error of a statement that failed with `result` (null: no answer),
  // its SQLSTATE kept in `sqlstate` ("" when the connection was lost).
  Error Failure(const PGresult* result, const std::string& where, std::string& sqlstate) const {
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    if (state == nullptr || PQstatus(conn) != CONNECTION_OK) {
      sqlstate = state != nullptr ? state : "";
      return Fail(ErrorCode::kUnavailable,
                  "lost the connection to the PostgreSQL database at " + where + ": " +
                      OneLine(PQerrorMessage(conn)),
                  true)
          .error();
    }
    sqlstate = state;
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    auto [code, retriable] = Classify(sqlstate);
    return Fail(code,
                "the PostgreSQL database at " + where + ": " +
                    OneLine(primary != nullptr ? primary : PQresultErrorMessage(result)) +
                    " (SQLSTATE " + sqlstate + ")",
                retriable)
        .error();
  }

  PGconn* conn;
  bool in_transaction = false;
};

PgConnection::PgConnection(std::unique_ptr<Impl> impl, std::string where)
    : impl_(std::move(impl)), where_(std::move(where)) {}

PgConnection::~PgConnection() = default;

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const Secret& url) {
  const std::string& text = url.Reveal();
  char* parse_error = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoFree> options(PQconninfoParse(text.c_str(),
                                                                          &parse_error));
  if (!options) {
    // libpq's reason may quote the part it could not read, the password
    // among them: not repeated.
    PQfreemem(parse_error);
    return Fail(ErrorCode::kConfig,
                "the PostgreSQL URL (not repeated here: it holds a password) is not a libpq "
                "connection URI (postgresql://user:password@host:port/database?sslmode=...) "
                "or key=value string");
  }
  std::string host, hostaddr, port, dbname, user;
  for (PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) {
      continue;
    }
    const std::string_view keyword = o->keyword;
    if (keyword == "password") {
      RegisterSecret(o->val, "…");
    } else if (keyword == "host") {
      host = o->val;
    } else if (keyword == "hostaddr") {
      hostaddr = o->val;
    } else if (keyword == "port") {
      port = o->val;
    } else if (keyword == "dbname") {
      dbname = o->val;
    } else if (keyword == "user") {
      user = o->val;
    }
  }
  std::string where = (!host.empty() ? host : !hostaddr.empty() ? hostaddr : "localhost") + ":" +
                      (port.empty() ? "5432" : port) + "/" +
                      (!dbname.empty() ? dbname : !user.empty() ? user : "(default)");
  ShowUrlTail(text);
  where = OneLine(where);

  // Entries before dbname are defaults the URL overrides; those after it
  // override the URL (boardsync reads and writes UTF-8). The server-side
  // timeouts keep a client that stops in the middle of a transaction (a
  // replica paused, or cut off from the network) from holding its locks,
  // and so every other replica, for longer than that: its session is ended
  // and its transaction rolled back. No transaction of boardsync's waits on
  // its client for more than moments.
  const char* keywords[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                            "keepalives_count", "application_name", "options", "dbname",
                            "client_encoding", nullptr};
  const char* values[] = {"10", "30", "10", "3", "boardsync", kSessionOptions, text.c_str(),
                          "UTF8", nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return Fail(ErrorCode::kUnavailable,
                "cannot connect to the PostgreSQL database at " + where + ": out of memory", true);
  }
  auto impl = std::make_unique<Impl>(conn);
  // Notices ("relation already exists, skipping") are not ours to print.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  if (PQstatus(conn) != CONNECTION_OK) {
    return std::unexpected(ConnectError(conn, where));
  }
  return std::unique_ptr<PgConnection>(new PgConnection(std::move(impl), std::move(where)));
}

Result<PgResult> PgConnection::Exec(std::string_view sql, std::span<const PgParam> params) {
  PGconn* conn = impl_->conn;
  last_sqlstate_.clear();
  if (auto connected = EnsureConnected(); !connected) {
    return std::unexpected(connected.error());
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& p : params) {
    values.push_back(p.c_str());
  }
  const std::string statement(sql);
  ResultPtr result(PQexecParams(conn, statement.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, /*resultFormat=*/0));
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    PgResult out;
    const int rows = PQntuples(result.get());
    const int columns = PQnfields(result.get());
    out.rows.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      PgRow& row = out.rows.emplace_back();
      row.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(result.get(), r, c) != 0) {
          row.emplace_back();
        } else {
          row.emplace_back(std::string(PQgetvalue(result.get(), r, c),
                                       static_cast<std::size_t>(PQgetlength(result.get(), r, c))));
        }
      }
    }
    out.affected = ParseCount(PQcmdTuples(result.get()));
    if (std::string_view(PQcmdStatus(result.get())) == "ROLLBACK" && sql == "COMMIT") {
      // COMMIT of a transaction a failed statement aborted rolls back and
      // says so only here.
      return Fail(ErrorCode::kStorage,
                  "the PostgreSQL database at " + where_ +
                      " rolled the transaction back: a statement in it failed");
    }
    return out;
  }
  return std::unexpected(impl_->Failure(result.get(), where_, last_sqlstate_));
}

Result<void> PgConnection::ExecScript(std::string_view sql) {
  last_sqlstate_.clear();
  if (auto connected = EnsureConnected(); !connected) {
    return std::unexpected(connected.error());
  }
  const std::string script(sql);
  ResultPtr result(PQexec(impl_->conn, script.c_str()));
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    return {};
  }
  return std::unexpected(impl_->Failure(result.get(), where_, last_sqlstate_));
}

Result<void> PgConnection::EnsureConnected() {
  PGconn* conn = impl_->conn;
  if (PQstatus(conn) == CONNECTION_OK) {
    return {};
  }
  // Reconnecting inside a transaction would run the rest of it outside.
  if (impl_->in_transaction) {
    return Fail(ErrorCode::kUnavailable,
                "lost the connection to the PostgreSQL database at " + where_ +
                    " during a transaction",
                true);
  }
  PQreset(conn);
  if (PQstatus(conn) != CONNECTION_OK) {
    return std::unexpected(ConnectError(conn, where_));
  }
  return {};
}

Result<void> PgConnection::Begin(PgIsolation isolation) {
  const char* sql = isolation == PgIsolation::kSerializable
                        ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                    : isolation == PgIsolation::kRepeatableRead
                        ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                        : "BEGIN ISOLATION LEVEL READ COMMITTED";
  auto begun = Exec(sql);
  if (!begun) {
    return std::unexpected(begun.error());
  }
  impl_->in_transaction = true;
  return {};
}

Result<void> PgConnection::Commit() {
  auto committed = Exec("COMMIT");
  impl_->in_transaction = false;
  if (!committed) {
    if (PQtransactionStatus(impl_->conn) != PQTRANS_IDLE &&
        PQstatus(impl_->conn) == CONNECTION_OK) {
      PQclear(PQexec(impl_->conn, "ROLLBACK"));
    }
    return std::unexpected(committed.error());
  }
  return {};
}

void PgConnection::Rollback() {
  impl_->in_transaction = false;
  if (PQstatus(impl_->conn) == CONNECTION_OK &&
      PQtransactionStatus(impl_->conn) != PQTRANS_IDLE) {
    PQclear(PQexec(impl_->conn, "ROLLBACK"));
  }
}

Result<void> PgMigrate(PgConnection& db, std::string_view component,
                       std::span<const std::string_view> steps) {
  const std::string name(component);
  const std::string known = std::to_string(steps.size());
  // Up to date, as nearly always (every store opened, every daemon job):
  // one read, without the lock that makes replicas starting together wait.
  if (auto current = db.Exec("SELECT version = $2::integer FROM boardsync_schema "
                             "WHERE component = $1",
                             {name, known});
      current && !current->rows.empty() && current->rows[0][0] == "t") {
    return {};
  }
  for (;;) {
    // One step per transaction, the version it reaches with it.
    auto stepped = db.Transaction([&](PgConnection& c) -> Result<bool> {
      const std::string lock = std::to_string(kMigrationLock);
      if (auto locked = c.Exec("SELECT pg_advisory_xact_lock($1::bigint)", {lock}); !locked) {
        return std::unexpected(locked.error());
      }
      if (auto made = c.ExecScript(
              "CREATE TABLE IF NOT EXISTS boardsync_schema ("
              " component text PRIMARY KEY,"
              " version integer NOT NULL,"
              " migrated_at timestamptz NOT NULL DEFAULT clock_timestamp())");
          !made) {
        return std::unexpected(made.error());
      }
      auto current =
          c.Exec("SELECT version FROM boardsync_schema WHERE component = $1", {name});
      if (!current) {
        return std::unexpected(current.error());
      }
      std::size_t version = 0;
      if (!current->rows.empty() && current->rows[0][0]) {
        const std::string& text = *current->rows[0][0];
        std::from_chars(text.data(), text.data() + text.size(), version);
      }
      if (version > steps.size()) {
        return Fail(ErrorCode::kStorage,
                    "the PostgreSQL database at " + c.where() + " holds version " +
                        std::to_string(version) + " of boardsync's " + name +
                        " schema, newer than this boardsync knows (" + known +
                        "): a newer boardsync migrated it; upgrade this one, or give it "
                        "another database");
      }
      if (version == steps.size()) {
        return false;
      }
      const std::string reached = std::to_string(version + 1);
      if (auto step = c.ExecScript(steps[version]); !step) {
        return std::unexpected(step.error().Wrap("migrating boardsync's " + name +
                                                 " schema to version " + reached));
      }
      if (auto noted = c.Exec(
              "INSERT INTO boardsync_schema (component, version) VALUES ($1, $2::integer) "
              "ON CONFLICT (component) DO UPDATE SET version = excluded.version, "
              "migrated_at = clock_timestamp()",
              {name, reached});
          !noted) {
        return std::unexpected(noted.error());
      }
      return true;
    });
    if (!stepped) {
      return std::unexpected(stepped.error());
    }
    if (!*stepped) {
      return {};
    }
  }
}

}  // namespace boardsync

// PgConnection: the one thin wrapper over libpq that the PostgreSQL board and
// state stores share. It speaks boardsync types only (no libpq header leaks
// out of connectors/postgres/): text parameters in, rows of optional text out,
// failures as Error values whose messages never hold the connection URI or
// its password. One connection per thread; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/secret.h"

namespace boardsync {

// One row of a result: a column's text, or nothing for SQL NULL.
using PgRow = std::vector<std::optional<std::string>>;

struct PgResult {
  std::vector<PgRow> rows;
  // What an INSERT, UPDATE or DELETE touched (libpq's PQcmdTuples); 0 for
  // other statements.
  std::int64_t affected = 0;
};

// One statement parameter ($1, $2, ...), sent as text: a view of the
// caller's string (valid for the Exec() call it is given to) or NULL.
class PgParam {
 public:
  PgParam(const std::string& text) : text_(text.c_str()) {}
  PgParam(const char* text) : text_(text) {}
  PgParam(std::nullopt_t) {}
  PgParam(const std::optional<std::string>& text) : text_(text ? text->c_str() : nullptr) {}

  const char* c_str() const { return text_; }  // nullptr: NULL

 private:
  const char* text_ = nullptr;
};

enum class PgIsolation { kReadCommitted, kRepeatableRead, kSerializable };

class PgConnection {
 public:
  // Connects with the libpq URI or key=value string in `url` and checks the
  // server answers. Defaults the URL may override: connect_timeout=10, TCP
  // keepalives after 30 s idle, application_name "boardsync", and options
  // setting idle_in_transaction_session_timeout and lock_timeout to 5 s (a
  // client stopped inside a transaction never holds others up for longer). The password
  // in the URL is registered for redaction (core/redact.h) before anything
  // else happens. Errors name the database as "host:port/db", never the URL:
  //   kConfig       the URL cannot be read, the database does not exist, or
  //                 the TLS settings (sslmode, sslrootcert...) do not fit
  //                 the server
  //   kAuth         the server refused the user or password
  //   kUnavailable  (retriable) the server cannot be reached or is starting
  //                 or shutting down
  static Result<std::unique_ptr<PgConnection>> Open(const Secret& url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement with text parameters $1..$n. A connection found lost
  // before the statement is opened again first (outside a transaction).
  // Errors (messages name the database, the server's words, SQLSTATE):
  //   kUnavailable, retriable: the connection was lost, the server shuts
  //     down or is out of resources, a lock or statement timeout hit
  //   kStorage, retriable: serialization failure, deadlock
  //   kAuth: the role lacks a privilege
  //   kStorage: anything else the server refused
  Result<PgResult> Exec(std::string_view sql, std::span<const PgParam> params);
  Result<PgResult> Exec(std::string_view sql, std::initializer_list<PgParam> params = {}) {
    return Exec(sql, std::span<const PgParam>(params.begin(), params.size()));
  }
  // Runs several statements separated by ';', without parameters (schema
  // steps). Errors as Exec().
  Result<void> ExecScript(std::string_view sql);

  // Runs `body(*this)` between BEGIN (at `isolation`) and COMMIT, and rolls
  // back when it fails. A serialization failure or deadlock (at COMMIT too)
  // runs the whole transaction again, up to `attempts` times in all, so
  // REQUIRES: `body` may run more than once (keep what it collects inside
  // the call, or reset it at its start).
  template <typename Body>
  auto Transaction(Body&& body, PgIsolation isolation = PgIsolation::kReadCommitted,
                   int attempts = 5) -> decltype(body(*this));

  // The SQLSTATE of the last statement that failed ("23505"), or "" (the
  // failure had none: the connection was lost before an answer).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // "host:port/db" as the URL names them, for messages.
  const std::string& where() const { return where_; }

 private:
  class Impl;
  PgConnection(std::unique_ptr<Impl> impl, std::string where);
  // A lost connection opened again, unless a transaction is under way.
  Result<void> EnsureConnected();
  Result<void> Begin(PgIsolation isolation);
  Result<void> Commit();
  void Rollback();

  std::unique_ptr<Impl> impl_;
  std::string where_;
  std::string last_sqlstate_;
};

// Brings the schema of `component` ("board", "state") up to date: `steps[i]`
// is the script that takes it from version i to i + 1. The version of each
// component is kept in the table boardsync_schema (component, version,
// migrated_at), created when missing; each step runs in its own transaction
// with the version it reaches, under an advisory lock, so replicas starting
// together migrate once. A version above steps.size() (a newer boardsync
// migrated this database) is kStorage, not retriable, and changes nothing.
Result<void> PgMigrate(PgConnection& db, std::string_view component,
                       std::span<const std::string_view> steps);

// Whether the SQLSTATE of a failure says the transaction may succeed if run
// again: serialization failure (40001), deadlock (40P01).
bool PgIsTransactionConflict(std::string_view sqlstate);

template <typename Body>
auto PgConnection::Transaction(Body&& body, PgIsolation isolation, int attempts)
    -> decltype(body(*this)) {
  for (int attempt = 1;; ++attempt) {
    if (auto begun = Begin(isolation); !begun) {
      return std::unexpected(begun.error());
    }
    auto result = body(*this);
    if (!result) {
      const std::string sqlstate = last_sqlstate_;
      Rollback();
      last_sqlstate_ = sqlstate;
      if (attempt < attempts && PgIsTransactionConflict(sqlstate)) {
        continue;
      }
      return result;
    }
    if (auto committed = Commit(); !committed) {
      if (attempt < attempts && PgIsTransactionConflict(last_sqlstate_)) {
        continue;
      }
      return std::unexpected(committed.error());
    }
    return result;
  }
}

}  // namespace boardsync

// What the tests of the real boardsync binary against PostgreSQL share
// (tests/replicas/): the URL file a config names, the `state:` and `board:`
// sections that point at a database, and the PostgreSQL board's items read
// into the same Board that tests/integration/board_testing.h reads from
// SQLite, so the two boards compare row for row. PostgreSQL is read through
// connectors/postgres/pg.h (no libpq here).
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "connectors/postgres/pg.h"
#include "core/secret.h"
#include "core/time.h"
#include "tests/integration/board_testing.h"
#include "tests/support/temp_dir.h"

namespace boardsync::pgtest {

// Writes `url` to `name` under `dir`, mode 0600 (a URL file is read as a
// token file is: one others can read is refused). Returns its path.
inline std::filesystem::path WriteUrlFile(const TempDir& dir, const std::string& name,
                                          const std::string& url) {
  const std::filesystem::path file = dir.Write(name, url + "\n");
  ::chmod(file.c_str(), 0600);
  return file;
}

// The config's `state:` section for PostgreSQL state whose URL is in
// `url_file`, leases lasting `lease_ttl` (e.g. "3s").
inline std::string PostgresStateYaml(const std::filesystem::path& url_file,
                                     std::string_view lease_ttl = "") {
  std::string yaml = "state:\n  type: postgres\n  url_file: " + url_file.string() + "\n";
  if (!lease_ttl.empty()) {
    yaml += "  lease_ttl: " + std::string(lease_ttl) + "\n";
  }
  return yaml;
}

// The config's `board:` section for the PostgreSQL board whose URL is in
// `url_file`.
inline std::string PostgresBoardYaml(const std::filesystem::path& url_file) {
  return "board:\n  type: postgres\n  url_file: " + url_file.string() + "\n";
}

// One connection to a test database, kept for the reads of a test. Every
// failure is a failed test (and no rows), except where a method says
// otherwise.
class PgReader {
 public:
  explicit PgReader(std::string url) : url_(std::move(url)) {}

  // The rows of `sql`, or nullopt when it failed (`quiet`: without failing
  // the test, for a table that may not be there yet).
  std::optional<std::vector<PgRow>> Query(std::string_view sql,
                                          std::initializer_list<PgParam> params = {},
                                          bool quiet = false) {
    if (!Connected(quiet)) {
      return std::nullopt;
    }
    auto result = conn_->Exec(sql, params);
    if (!result) {
      if (!quiet) {
        ADD_FAILURE() << sql << ": " << result.error().message;
      }
      // The next call starts afresh (a statement on a lost connection
      // opens it again, but an aborted one is as well dropped).
      conn_.reset();
      return std::nullopt;
    }
    return std::move(result->rows);
  }

  // The one value of a one-row, one-column query ("" for NULL or none).
  std::string Scalar(std::string_view sql, std::initializer_list<PgParam> params = {}) {
    auto rows = Query(sql, params);
    if (!rows || rows->empty() || rows->front().empty() || !rows->front()[0]) {
      return "";
    }
    return *rows->front()[0];
  }

  // Every item of `board` in the table `items`, its times as FormatIsoUtc()
  // writes them (to the millisecond, as the SQLite board keeps them), its
  // fields parsed. `quiet`: an empty board, not a failure, while the table
  // is not there yet.
  Board ReadBoard(std::string_view board = "roadmap", bool quiet = false) {
    Board result;
    auto rows = Query(
        "SELECT item_key, source_key, source_url, "
        "(floor(extract(epoch FROM source_updated_at) * 1000))::bigint::text, "
        "(floor(extract(epoch FROM synced_at) * 1000))::bigint::text, "
        "(floor(extract(epoch FROM archived_at) * 1000))::bigint::text, "
        "fields::text FROM items WHERE board = $1",
        {std::string(board)}, quiet);
    if (!rows) {
      return result;
    }
    for (PgRow& r : *rows) {
      BoardRow row;
      row.item_key = r[0].value_or("");
      row.source_key = r[1].value_or("");
      row.source_url = r[2].value_or("");
      row.source_updated_at = r[3] ? FormatIsoUtc(std::strtoll(r[3]->c_str(), nullptr, 10)) : "";
      row.synced_at = r[4] ? FormatIsoUtc(std::strtoll(r[4]->c_str(), nullptr, 10)) : "";
      if (r[5]) {
        row.archived_at = FormatIsoUtc(std::strtoll(r[5]->c_str(), nullptr, 10));
      }
      row.fields = r[6] ? ParseJson(*r[6]).value_or(Value()) : Value();
      ++result.row_count;
      std::string key = row.item_key;
      result.rows.insert_or_assign(std::move(key), std::move(row));
    }
    return result;
  }

  // Changes whenever a board write lands: rows and the latest synced_at;
  // "" while the table is not there.
  std::string BoardStamp() {
    auto rows = Query("SELECT count(*)::text, coalesce(max(synced_at)::text, '') FROM items", {},
                      /*quiet=*/true);
    if (!rows || rows->empty()) {
      return "";
    }
    return rows->front()[0].value_or("") + "|" + rows->front()[1].value_or("");
  }

  // Live item keys, empty while the table is not there.
  std::set<std::string> LiveKeys() {
    std::set<std::string> keys;
    auto rows = Query("SELECT item_key FROM items WHERE archived_at IS NULL", {}, /*quiet=*/true);
    if (rows) {
      for (const PgRow& r : *rows) {
        keys.insert(r[0].value_or(""));
      }
    }
    return keys;
  }

 private:
  bool Connected(bool quiet) {
    if (conn_) {
      return true;
    }
    auto opened = PgConnection::Open(Secret(url_));
    if (!opened) {
      if (!quiet) {
        ADD_FAILURE() << "cannot connect to the test database: " << opened.error().message;
      }
      return false;
    }
    conn_ = std::move(*opened);
    return true;
  }

  std::string url_;
  std::unique_ptr<PgConnection> conn_;
};

// How two boards that synced the same tracker differ, row for row: keys on
// one side only, and for keys on both, each column that differs (fields as
// parsed JSON, source_updated_at as instants, archived or not; synced_at
// only has to be there). Empty when they agree.
inline std::vector<std::string> DiffBoards(const Board& sqlite, const Board& postgres) {
  std::vector<std::string> out;
  if (sqlite.row_count != sqlite.rows.size()) {
    out.push_back("the SQLite board holds an item key twice");
  }
  if (postgres.row_count != postgres.rows.size()) {
    out.push_back("the PostgreSQL board holds an item key twice");
  }
  for (const auto& [key, a] : sqlite.rows) {
    const BoardRow* b = postgres.Find(key);
    if (b == nullptr) {
      out.push_back(key + ": only on the SQLite board");
      continue;
    }
    auto differ = [&](std::string_view column, const std::string& x, const std::string& y) {
      out.push_back(key + ": " + std::string(column) + " \"" + x + "\" (SQLite) vs \"" + y +
                    "\" (PostgreSQL)");
    };
    if (a.source_key != b->source_key) {
      differ("source_key", a.source_key, b->source_key);
    }
    if (a.source_url != b->source_url) {
      differ("source_url", a.source_url, b->source_url);
    }
    if (ParseIsoUtc(a.source_updated_at) != ParseIsoUtc(b->source_updated_at) ||
        !ParseIsoUtc(a.source_updated_at)) {
      differ("source_updated_at", a.source_updated_at, b->source_updated_at);
    }
    if (a.fields.IsNull() || a.fields != b->fields) {
      differ("fields", a.fields.ToJson(), b->fields.ToJson());
    }
    if (a.archived() != b->archived()) {
      differ("archived_at", a.archived_at.value_or("NULL"), b->archived_at.value_or("NULL"));
    }
    if (a.synced_at.empty() || b->synced_at.empty()) {
      differ("synced_at", a.synced_at, b->synced_at);
    }
  }
  for (const auto& [key, b] : postgres.rows) {
    if (sqlite.Find(key) == nullptr) {
      out.push_back(key + ": only on the PostgreSQL board");
    }
  }
  return out;
}

}  // namespace boardsync::pgtest

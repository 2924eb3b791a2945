// A throwaway PostgreSQL 15 cluster for tests, and a fresh database in it per
// test. Under ctest one cluster serves the whole run: the fixture
// `boardsync-test-pg start DIR` starts it and writes its admin URI to a file
// whose path tests read from $BOARDSYNC_TEST_PG_URL_FILE. A test binary run by
// hand without that variable starts a cluster of its own on first use and
// stops it at exit. Failures throw std::runtime_error (a failed test).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace boardsync {

class PgConnection;

// The cluster's passwords. Canaries: no error message or log may hold them.
inline constexpr const char* kPgTestAdminPassword = "pw-canary-admin-5c2e81d07a";
inline constexpr const char* kPgTestPassword = "pw-canary-9f3b2c71e4d8";
// The role boardsync connects as (not a superuser; owns the test databases).
inline constexpr const char* kPgTestUser = "boardsync";

// A running cluster: initdb in a fresh temp dir (chowned to the user
// `postgres` and run through runuser when we are root: initdb refuses root),
// postgres on a free port of 127.0.0.1 with its unix socket in the dir,
// scram-sha-256 passwords for TCP, fsync off.
class PgCluster {
 public:
  static std::unique_ptr<PgCluster> Start();
  // Stops the server at once (-m immediate) and removes the dir, unless
  // Release()d.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // postgresql://<superuser>:<password>@127.0.0.1:<port>/postgres
  const std::string& admin_url() const { return admin_url_; }
  int port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Stops the server (fast shutdown: sessions are ended), keeping the data;
  // Resume() starts it again on the same port.
  void Stop();
  void Resume();
  // Leaves the cluster running when this object, and this process, go (the
  // ctest fixture). Otherwise a watchdog process stops and removes the
  // cluster when this process ends, however it ends.
  void Release();

  // Stops and removes a cluster whose dir is `dir` (the fixture's stop).
  static void StopDir(const std::filesystem::path& dir);

 private:
  PgCluster() = default;
  void StartServer();

  std::filesystem::path dir_;
  std::string admin_url_;
  int port_ = 0;
  bool released_ = false;
  int watchdog_ = 0;  // its pid
};

// A connection to `url` (throws when it cannot be opened).
std::unique_ptr<PgConnection> PgTestConnect(const std::string& url);

// The admin URI of the cluster this process uses: the file named by
// $BOARDSYNC_TEST_PG_URL_FILE, else a cluster of its own (started once).
std::string PgTestAdminUrl();

// A database of its own for one test, owned by kPgTestUser, dropped (with
// its sessions) when the object goes.
class PgTestDatabase {
 public:
  PgTestDatabase();
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // postgresql://boardsync:<kPgTestPassword>@127.0.0.1:<port>/<name>
  const std::string& url() const { return url_; }
  // The same database as the superuser.
  const std::string& admin_url() const { return admin_url_; }
  // The cluster's port, for URLs a test makes itself.
  int port() const { return port_; }

 private:
  std::string name_;
  std::string url_;
  std::string admin_url_;
  std::string cluster_admin_url_;
  int port_ = 0;
};

}  // namespace boardsync

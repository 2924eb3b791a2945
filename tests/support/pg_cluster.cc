#include "tests/support/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "connectors/postgres/pg.h"

namespace boardsync {
namespace {

constexpr const char* kAdminUser = "boardsync_admin";

std::filesystem::path BinDir() {
  const char* dir = std::getenv("BOARDSYNC_PG_BIN");
  return dir != nullptr ? dir : "/usr/lib/postgresql/15/bin";
}

std::string ReadFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last lines of a log, for a failure's message.
std::string Tail(const std::filesystem::path& file) {
  std::string text = ReadFile(file);
  if (text.size() > 2000) {
    text.erase(0, text.size() - 2000);
  }
  return text;
}

// Runs `argv` (as the user postgres when we are root), its output appended
// to `log`; throws when it fails.
void Run(std::vector<std::string> argv, const std::filesystem::path& log) {
  if (::geteuid() == 0) {
    argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  }
  std::vector<char*> args;
  for (std::string& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    throw std::runtime_error("pg_cluster: cannot write " + log.string());
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The server pg_ctl starts inherits these: never the caller's pipes
    // (ctest waits for those to close).
    const int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out);
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    std::string command;
    for (const std::string& a : argv) {
      command += a + " ";
    }
    throw std::runtime_error("pg_cluster: failed: " + command + "\n" + Tail(log));
  }
}

void GiveToPostgres(const std::filesystem::path& path) {
  if (::geteuid() != 0) {
    return;
  }
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr || ::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("pg_cluster: running as root needs the user postgres to own " +
                             path.string());
  }
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("pg_cluster: no free port on 127.0.0.1");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string Url(const std::string& user, const std::string& password, int port,
                const std::string& db) {
  return "postgresql://" + user + ":" + password + "@127.0.0.1:" + std::to_string(port) + "/" +
         db;
}

void MustExec(PgConnection& conn, const std::string& sql) {
  if (auto done = conn.Exec(sql); !done) {
    throw std::runtime_error("pg_cluster: " + sql + ": " + done.error().message);
  }
}

int PortOf(const std::string& url) {
  // ...@127.0.0.1:<port>/db, as Url() writes it.
  const auto colon = url.rfind(':');
  return std::atoi(url.c_str() + colon + 1);
}

// Starts a process that stops the cluster in `dir` and removes it once this
// process has ended, however it ends (a crash, SIGKILL, a test timeout):
// it waits for the end of a pipe only this process holds. Its pid.
pid_t StartWatchdog(const std::filesystem::path& dir) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pg_cluster: no pipe for the watchdog");
  }
  std::string stop = "'" + (BinDir() / "pg_ctl").string() + "' -D '" + (dir / "data").string() +
                     "' -m immediate -w stop";
  if (::geteuid() == 0) {
    stop = "/usr/sbin/runuser -u postgres -- " + stop;
  }
  const std::string script =
      "while read -r line; do :; done; " + stop + "; rm -rf '" + dir.string() + "'";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(fds[0], 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::setsid();  // not in the test's process group: a kill of the group spares it
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[0]);
  // The write end stays open, unused, until this process ends.
  return pid;
}

}  // namespace

std::unique_ptr<PgCluster> PgCluster::Start() {
  std::string pattern = (std::filesystem::temp_directory_path() / "bspg-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("pg_cluster: cannot make a temp dir");
  }
  std::unique_ptr<PgCluster> cluster(new PgCluster());
  cluster->dir_ = pattern;
  const auto& dir = cluster->dir_;
  GiveToPostgres(dir);
  const auto pwfile = dir / "pwfile";
  std::ofstream(pwfile) << kPgTestAdminPassword << "\n";
  GiveToPostgres(pwfile);
  Run({(BinDir() / "initdb").string(), "-D", (dir / "data").string(), "-U", kAdminUser,
       "--pwfile=" + pwfile.string(), "--auth=scram-sha-256", "-E", "UTF8", "--locale=C",
       "--no-sync", "--no-instructions"},
      dir / "setup.log");
  std::filesystem::remove(pwfile);
  // A port taken between FreePort() and the server's bind fails the start:
  // another one, a few times.
  for (int attempt = 1;; ++attempt) {
    cluster->port_ = FreePort();
    try {
      cluster->StartServer();
      break;
    } catch (const std::runtime_error&) {
      if (attempt == 3) {
        throw;
      }
    }
  }
  cluster->watchdog_ = StartWatchdog(dir);
  cluster->admin_url_ = Url(kAdminUser, kPgTestAdminPassword, cluster->port_, "postgres");
  auto admin = PgTestConnect(cluster->admin_url_);
  MustExec(*admin, std::string("CREATE ROLE ") + kPgTestUser + " LOGIN PASSWORD '" +
                       kPgTestPassword + "'");
  return cluster;
}

void PgCluster::StartServer() {
  const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                              " -c unix_socket_directories=" + dir_.string() +
                              " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                              " -c max_connections=200 -c shared_buffers=32MB";
  Run({(BinDir() / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-l",
       (dir_ / "server.log").string(), "-o", options, "-w", "-t", "60", "start"},
      dir_ / "setup.log");
}

void PgCluster::Stop() {
  Run({(BinDir() / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-m", "fast", "-w",
       "stop"},
      dir_ / "setup.log");
}

void PgCluster::Resume() { StartServer(); }

void PgCluster::Release() {
  released_ = true;
  if (watchdog_ > 0) {
    ::kill(watchdog_, SIGKILL);
    ::waitpid(watchdog_, nullptr, 0);
    watchdog_ = 0;
  }
}

PgCluster::~PgCluster() {
  if (!released_) {
    StopDir(dir_);
  }
  if (watchdog_ > 0) {
    ::kill(watchdog_, SIGKILL);
    ::waitpid(watchdog_, nullptr, 0);
  }
}

void PgCluster::StopDir(const std::filesystem::path& dir) {
  if (dir.empty() || !std::filesystem::exists(dir / "data")) {
    return;
  }
  try {
    Run({(BinDir() / "pg_ctl").string(), "-D", (dir / "data").string(), "-m", "immediate",
         "-w", "stop"},
        dir / "setup.log");
  } catch (const std::runtime_error&) {
    // Not running (stopped already): the files go all the same.
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::unique_ptr<PgConnection> PgTestConnect(const std::string& url) {
  auto conn = PgConnection::Open(Secret(url));
  if (!conn) {
    throw std::runtime_error("pg_cluster: " + conn.error().message);
  }
  return std::move(*conn);
}

std::string PgTestAdminUrl() {
  static std::once_flag once;
  static std::string url;
  static std::unique_ptr<PgCluster> own;  // stopped at exit
  std::call_once(once, [] {
    if (const char* file = std::getenv("BOARDSYNC_TEST_PG_URL_FILE"); file != nullptr) {
      url = ReadFile(file);
      while (!url.empty() && (url.back() == '\n' || url.back() == ' ')) {
        url.pop_back();
      }
      if (url.empty()) {
        throw std::runtime_error(std::string("pg_cluster: ") + file +
                                 " (BOARDSYNC_TEST_PG_URL_FILE) holds no URL: did the fixture "
                                 "boardsync-test-pg start run?");
      }
      return;
    }
    own = PgCluster::Start();
    url = own->admin_url();
  });
  if (url.empty()) {
    throw std::runtime_error("pg_cluster: no cluster (its start failed earlier)");
  }
  return url;
}

PgTestDatabase::PgTestDatabase() {
  static std::atomic<int> counter{0};
  std::random_device random;
  name_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(random() % 100000);
  cluster_admin_url_ = PgTestAdminUrl();
  port_ = PortOf(cluster_admin_url_);
  auto admin = PgTestConnect(cluster_admin_url_);
  MustExec(*admin, "CREATE DATABASE " + name_ + " OWNER " + kPgTestUser +
                       " TEMPLATE template0 STRATEGY FILE_COPY");
  url_ = Url(kPgTestUser, kPgTestPassword, port_, name_);
  admin_url_ = Url(kAdminUser, kPgTestAdminPassword, port_, name_);
}

PgTestDatabase::~PgTestDatabase() {
  try {
    auto admin = PgTestConnect(cluster_admin_url_);
    MustExec(*admin, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::runtime_error&) {
    // The cluster is gone (a test stopped its own): nothing to drop.
  }
}

}  // namespace boardsync

// Helpers for the token-secrecy and hostile-input tests (canary_token_test.cc,
// hostile_tracker_test.cc): running the real binary to the end, a stand-in
// for systemd's notify socket, reading every file a run left behind (SQLite
// files both as raw bytes and row by row) and searching all of it for a
// secret, and loopback servers that redirect or forward requests.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/integration/daemon_process.h"
#include "tests/support/http_server.h"
#include "tests/support/http_test_client.h"

namespace boardsync::hostile {

// ---- Running the binary ----

struct BinaryRun {
  std::vector<std::string> args;
  std::optional<int> code;  // nullopt: killed by a signal or did not finish in time
  std::string status;       // "exited with 1", "killed by Segmentation fault", ...
  std::string output;       // stdout and stderr, interleaved as written
};

// Runs the boardsync binary with `args` and `env` (NAME=value) to the end,
// its output going to `log` (which the caller may scan later).
inline BinaryRun RunBinary(const std::filesystem::path& binary, std::vector<std::string> args,
                           const std::vector<std::string>& env, const std::filesystem::path& log,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  BinaryRun run;
  run.args = args;
  std::vector<std::string> argv = {binary.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  DaemonProcess process(argv, env, log);
  if (!process.started()) {
    run.status = process.error();
    return run;
  }
  run.code = process.WaitForExit(timeout);
  run.status = process.DescribeStatus();
  run.output = process.Log();
  return run;
}

inline std::string Describe(const BinaryRun& run) {
  std::string text = "boardsync";
  for (const std::string& a : run.args) {
    text += " " + a;
  }
  return text + " (" + run.status + "):\n" + run.output;
}

// ---- systemd's notify socket ----

// A datagram socket bound at `path` that keeps everything sent to it.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.size() >= sizeof(address.sun_path)) {
      error_ = "socket path too long: " + path_;
      return;
    }
    std::memcpy(address.sun_path, path_.data(), path_.size());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0) {
      error_ = std::strerror(errno);
    }
  }
  ~NotifySocket() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    ::unlink(path_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

  // Reads whatever arrived since the last call; returns every datagram so far.
  const std::vector<std::string>& Drain() {
    char buffer[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0) {
        break;
      }
      datagrams_.emplace_back(buffer, static_cast<std::size_t>(n));
    }
    return datagrams_;
  }

  std::string All() {
    std::string text;
    for (const std::string& d : Drain()) {
      text += d + "\n";
    }
    return text;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string error_;
  std::vector<std::string> datagrams_;
};

// ---- What a run left behind ----

inline std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Every row of every table of a SQLite file, as text ("table: v1 | v2 ...").
// Opened read-only; a file that is not a database gives "(not sqlite: ...)".
inline std::string DumpSqlite(const std::filesystem::path& path) {
  std::string out;
  try {
    SQLite::Database db(path.string(), SQLite::OPEN_READONLY);
    std::vector<std::string> tables;
    SQLite::Statement list(db, "SELECT name FROM sqlite_master WHERE type = 'table'");
    while (list.executeStep()) {
      tables.push_back(list.getColumn(0).getString());
    }
    for (const std::string& table : tables) {
      SQLite::Statement rows(db, "SELECT * FROM \"" + table + "\"");
      while (rows.executeStep()) {
        out += table + ":";
        for (int i = 0; i < rows.getColumnCount(); ++i) {
          SQLite::Column column = rows.getColumn(i);
          out += " | ";
          if (column.isNull()) {
            out += "NULL";
          } else if (column.isBlob()) {
            out.append(static_cast<const char*>(column.getBlob()),
                       static_cast<std::size_t>(column.getBytes()));
          } else {
            out += column.getString();
          }
        }
        out += "\n";
      }
    }
  } catch (const std::exception& e) {
    out += std::string("(not sqlite: ") + e.what() + ")";
  }
  return out;
}

inline bool LooksLikeSqlite(const std::string& bytes) {
  return bytes.starts_with(std::string_view("SQLite format 3\0", 16));
}

// One place text was read from, for "found in ..." messages.
struct Evidence {
  std::string where;
  std::string text;
};

// Every regular file under `dir` except `skip` (raw bytes), plus the rows of
// every SQLite database among them.
inline std::vector<Evidence> FilesUnder(const std::filesystem::path& dir,
                                        const std::set<std::filesystem::path>& skip) {
  std::vector<Evidence> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec || !it->is_regular_file(ec)) {
      continue;
    }
    const std::filesystem::path path = it->path();
    bool skipped = false;
    for (const std::filesystem::path& s : skip) {
      skipped = skipped || std::filesystem::equivalent(path, s, ec);
    }
    if (skipped) {
      continue;
    }
    std::string bytes = ReadBytes(path);
    if (LooksLikeSqlite(bytes)) {
      out.push_back({path.string() + " (rows)", DumpSqlite(path)});
    }
    out.push_back({path.string() + " (bytes)", std::move(bytes)});
  }
  return out;
}

// Each `needle` found in each piece of evidence, with some context.
inline std::vector<std::string> FindNeedles(const std::vector<Evidence>& evidence,
                                            const std::vector<std::string>& needles) {
  std::vector<std::string> hits;
  for (const Evidence& e : evidence) {
    for (const std::string& needle : needles) {
      for (std::size_t at = e.text.find(needle); at != std::string::npos;
           at = e.text.find(needle, at + 1)) {
        const std::size_t from = at > 80 ? at - 80 : 0;
        std::string context = e.text.substr(from, needle.size() + 160);
        for (char& c : context) {
          c = (c == '\0' || c == '\n') ? ' ' : c;
        }
        hits.push_back("\"" + needle + "\" in " + e.where + ": ..." + context + "...");
      }
    }
  }
  return hits;
}

// ---- Loopback ports and servers ----


// A request as a recording server saw it.
struct SeenRequest {
  std::string host;           // the Host header
  std::string target;
  std::string authorization;  // empty when none was sent
};

// A loopback server that records every request and answers with `answer`
// (default: 200 "[]"). Used as the "foreign" origin a redirect points to.
class RecordingServer {
 public:
  using Answer = std::function<HttpServerResponse(const HttpServerRequest&)>;

  explicit RecordingServer(Answer answer = {})
      : answer_(std::move(answer)),
        server_(std::make_unique<HttpServer>(
            [this](const HttpServerRequest& request) { return Handle(request); })) {}

  std::uint16_t port() const { return server_->port(); }
  std::string base_url() const { return server_->base_url(); }

  std::vector<SeenRequest> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::size_t with_authorization() const {
    std::size_t n = 0;
    for (const SeenRequest& r : seen()) {
      n += r.authorization.empty() ? 0 : 1;
    }
    return n;
  }

 private:
  HttpServerResponse Handle(const HttpServerRequest& request) {
    {
      std::lock_guard lock(mu_);
      seen_.push_back({std::string(request.Header("host").value_or("")), request.target,
                       std::string(request.Header("authorization").value_or(""))});
    }
    return answer_ ? answer_(request) : HttpServerResponse::Json(200, "[]");
  }

  Answer answer_;
  mutable std::mutex mu_;
  std::vector<SeenRequest> seen_;
  std::unique_ptr<HttpServer> server_;  // last: stops before the rest goes
};

// Forwards `request` (method, target, Authorization, Accept, body) to the
// server at `base_url` and relays its status, Content-Type and body.
inline HttpServerResponse Forward(const HttpServerRequest& request, const std::string& base_url,
                                  const std::string& target) {
  HttpServerHeaders headers;
  for (const char* name : {"authorization", "accept", "content-type"}) {
    if (auto value = request.Header(name)) {
      headers.emplace_back(name, std::string(*value));
    }
  }
  HttpTestClient client(base_url);
  HttpTestResponse reply = client.Send(request.method, target, headers, request.body);
  if (!reply.error.empty()) {
    return HttpServerResponse::Text(502, "forwarding failed: " + reply.error);
  }
  HttpServerResponse response;
  response.status = reply.status;
  if (auto type = reply.Header("content-type")) {
    response.headers.emplace_back("Content-Type", std::string(*type));
  }
  response.body = std::move(reply.body);
  return response;
}

}  // namespace boardsync::hostile

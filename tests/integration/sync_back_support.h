// What the end-to-end tests of sync back share (tests/integration/
// sync_back_test.cc, tests/slow/sync_back_kill_test.cc): the real boardsync
// binary run to the end with its stdout and stderr apart, the board
// application's writes into the SQLite board's `scores` table (plain SQL, as
// a board app makes them), the tracker writes each sample server saw, and the
// sync back's queue in state.db.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "core/value.h"
#include "tests/integration/daemon_process.h"
#include "tests/support/github/github_server.h"
#include "tests/support/jira/jira_server.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync::syncback {

// ---- Running the binary ----

struct Ran {
  std::vector<std::string> args;
  std::optional<int> code;  // nullopt: killed by a signal or still running at the timeout
  std::string status;       // "exited with 1", ...
  std::string out;
  std::string err;

  std::string Describe() const {
    std::string text = "boardsync";
    for (const std::string& a : args) {
      text += " " + a;
    }
    return text + " (" + status + ")\n---- stdout ----\n" + out + "---- stderr ----\n" + err +
           "---- end ----\n";
  }
};

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `boardsync <args> --config <config>` to the end, one run after the
// other, keeping stdout and stderr apart (a shell execs the binary with
// stderr sent to its own file; DaemonProcess catches stdout) in `logs`, and
// remembers every run for the tests that search all output afterwards.
class Runner {
 public:
  Runner(std::filesystem::path config, std::filesystem::path logs)
      : config_(std::move(config)), logs_(std::move(logs)) {
    std::filesystem::create_directories(logs_);
  }

  Ran Run(std::vector<std::string> args, std::vector<std::string> env = {},
          std::chrono::milliseconds timeout = std::chrono::seconds(90)) {
    const std::string n = std::to_string(runs_.size());
    const std::filesystem::path out = logs_ / (n + ".out");
    const std::filesystem::path err = logs_ / (n + ".err");
    std::vector<std::string> argv = {"/bin/sh", "-c",
                                     "exec \"$0\" \"$@\" 2>\"$BOARDSYNC_TEST_STDERR\"",
                                     (BinaryDir() / "boardsync").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--config", config_.string()});
    env.push_back("BOARDSYNC_TEST_STDERR=" + err.string());
    Ran ran;
    ran.args = args;
    {
      DaemonProcess process(argv, env, out);
      if (!process.started()) {
        ran.status = process.error();
      } else {
        ran.code = process.WaitForExit(timeout);
        ran.status = process.DescribeStatus();
      }
    }  // a run past its timeout is killed here
    ran.out = ReadText(out);
    ran.err = ReadText(err);
    runs_.push_back(ran);
    return ran;
  }

  const std::vector<Ran>& runs() const { return runs_; }

 private:
  std::filesystem::path config_;
  std::filesystem::path logs_;
  std::vector<Ran> runs_;
};

// The lines of `text` that start with `prefix`.
inline std::vector<std::string> LinesStartingWith(std::string_view text, std::string_view prefix) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) {
      lines.push_back(line);
    }
  }
  return lines;
}

// The number after `label` ("board writes ") in `line`; nullopt when absent.
inline std::optional<long long> CountIn(std::string_view line, std::string_view label) {
  const std::size_t at = line.find(label);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t end = at + label.size();
  long long n = 0;
  bool any = false;
  while (end < line.size() && line[end] >= '0' && line[end] <= '9') {
    n = n * 10 + (line[end++] - '0');
    any = true;
  }
  return any ? std::optional<long long>(n) : std::nullopt;
}

// The row of `connection` in `boardsync status --format json`; null when
// the output is not that list or has no such row.
inline Value StatusRow(std::string_view json, std::string_view connection) {
  auto rows = ParseJson(json);
  if (!rows || !rows->IsList()) {
    return Value();
  }
  for (const Value& row : rows->AsList()) {
    if (row.StringOr("connection") == connection) {
      return row;
    }
  }
  return Value();
}

// ---- The board application's scores (SQLite board) ----

// Sets a score the way the board application does: one upsert into
// `scores`. A null `value` stores NULL (no score).
inline void SetScore(const std::filesystem::path& board_db, std::string_view item_key,
                     std::string_view name, const Value& value,
                     std::string_view board = "roadmap") {
  SQLite::Database db(board_db.string(), SQLite::OPEN_READWRITE);
  db.setBusyTimeout(10'000);
  SQLite::Statement upsert(db,
                           "INSERT INTO scores (board, item_key, name, value, updated_at) "
                           "VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) "
                           "ON CONFLICT (board, item_key, name) DO UPDATE SET "
                           "value = excluded.value, updated_at = excluded.updated_at");
  upsert.bind(1, std::string(board));
  upsert.bind(2, std::string(item_key));
  upsert.bind(3, std::string(name));
  if (value.IsInt()) {
    upsert.bind(4, static_cast<int64_t>(value.AsInt()));
  } else if (value.IsDouble()) {
    upsert.bind(4, value.AsDouble());
  } else if (value.IsString()) {
    upsert.bind(4, value.AsString());
  } else {
    upsert.bind(4);  // NULL
  }
  upsert.exec();
}

// Deletes a score's row, as the board application does when it drops it.
inline void DeleteScore(const std::filesystem::path& board_db, std::string_view item_key,
                        std::string_view name, std::string_view board = "roadmap") {
  SQLite::Database db(board_db.string(), SQLite::OPEN_READWRITE);
  db.setBusyTimeout(10'000);
  SQLite::Statement erase(db, "DELETE FROM scores WHERE board = ? AND item_key = ? AND name = ?");
  erase.bind(1, std::string(board));
  erase.bind(2, std::string(item_key));
  erase.bind(3, std::string(name));
  erase.exec();
}

// ---- Tracker writes the sample servers saw ----

// YouTrack: POST /api/issues/{id}, the write of one issue's custom fields
// (to `id` only, when given: an entity id such as "2-17").
inline std::vector<SampleTracker::RecordedRequest> YouTrackWrites(const SampleTracker& tracker,
                                                                  std::string_view id = "") {
  std::vector<SampleTracker::RecordedRequest> writes;
  for (SampleTracker::RecordedRequest& r : tracker.requests()) {
    if (r.request.method == "POST" && r.api_path.starts_with("/api/issues/") &&
        (id.empty() || r.api_path == "/api/issues/" + std::string(id))) {
      writes.push_back(std::move(r));
    }
  }
  return writes;
}

// Jira: PUT /rest/api/{2,3}/issue/{idOrKey}.
inline std::vector<JiraServer::RecordedRequest> JiraWrites(const JiraServer& jira) {
  std::vector<JiraServer::RecordedRequest> writes;
  for (JiraServer::RecordedRequest& r : jira.requests()) {
    if (r.request.method == "PUT" && r.api_path.find("/issue/") != std::string::npos) {
      writes.push_back(std::move(r));
    }
  }
  return writes;
}

// GitHub Projects v2: the mutations that set, clear or add an item (each
// alias counts once).
inline std::size_t GitHubWrites(const GitHubServer& github) {
  return github.MutationCount("updateProjectV2ItemFieldValue") +
         github.MutationCount("clearProjectV2ItemFieldValue") +
         github.MutationCount("addProjectV2ItemById");
}

// The `customFields` a YouTrack write sent, by name (value as sent).
inline std::vector<std::pair<std::string, Value>> SentFields(
    const SampleTracker::RecordedRequest& write) {
  std::vector<std::pair<std::string, Value>> fields;
  auto body = ParseJson(write.request.body);
  const Value* list = body ? body->Find("customFields") : nullptr;
  if (list == nullptr || !list->IsList()) {
    return fields;
  }
  for (const Value& field : list->AsList()) {
    const Value* value = field.Find("value");
    fields.emplace_back(std::string(field.StringOr("name")), value != nullptr ? *value : Value());
  }
  return fields;
}

// ---- state.db ----

// Rows of the tracker-write queue (writeback_outbox) of `connection`.
inline std::size_t QueuedWrites(const std::filesystem::path& state_db,
                                std::string_view connection) {
  if (!std::filesystem::exists(state_db)) {
    return 0;
  }
  SQLite::Database db(state_db.string(), SQLite::OPEN_READONLY);
  db.setBusyTimeout(10'000);
  SQLite::Statement q(db, "SELECT count(*) FROM writeback_outbox WHERE connection = ?");
  q.bind(1, std::string(connection));
  return q.executeStep() ? static_cast<std::size_t>(q.getColumn(0).getInt64()) : 0;
}

// A number a tracker holds, for comparisons: nullopt when it is not one.
inline std::optional<double> NumberOf(const std::optional<Value>& value) {
  if (!value || !value->IsNumber()) {
    return std::nullopt;
  }
  return value->AsNumber();
}

}  // namespace boardsync::syncback

// Several `boardsync run` replicas (DESIGN §4.3) end to end: the real binary
// as separate processes sharing one config, with state and board in a fresh
// PostgreSQL database per test (lease_ttl 3s, interval 1s), each connection
// behind a front of its own before one sample tracker, so the test sees which
// replica pulled which connection when. Covers: the connections spread evenly
// and every item lands once; a replica killed with SIGKILL has its
// connections taken over within 60 s with nothing lost; a replica paused past
// its lease in the middle of a pull is fenced when it wakes (cursors never move
// back, the board never gets the older version), and one paused inside a
// database transaction (its locks held, as when it is cut off from the
// database) does not hold up the others; `sync` leaves out what the
// daemons hold (exit 3 when that is everything); `status` names each holder
// as <hostname>:<pid>; a replica joining later gets its share with no
// connection pulled by two replicas at once; and the database password never
// shows, not even when the database is unreachable or refuses it. Every wait
// polls with a deadline; failures show the tail of each replica's output.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/http/json.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/postgres_state.h"
#include "core/secret.h"
#include "core/state_store.h"
#include "core/value.h"
#include "tests/integration/board_testing.h"
#include "tests/integration/daemon_process.h"
#include "tests/replicas/pg_daemon_support.h"
#include "tests/replicas/replica_support.h"
#include "tests/support/http_server.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync::replicas {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// How long a test waits for what the replicas should do within a few lease
// renewals; generous, because the machine may be busy.
constexpr milliseconds kDeadline = seconds(30);
// DESIGN §4.3: a dead replica's connections pass on within 60 s.
constexpr milliseconds kTakeoverLimit = seconds(60);
// With lease_ttl 3s (renewed every second) a dead replica's leases run out
// after 3 s and the others take them at their next renewal: 4 s, and some
// room for a loaded machine. The default ttl (30 s) would exceed it.
constexpr milliseconds kTakeoverExpected = seconds(15);

// Passwords of databases the tests point replicas at in vain: canaries too.
constexpr const char* kWrongPassword = "pw-canary-wrong-3b7e11c9a0";
constexpr const char* kUnreachablePassword = "pw-canary-gone-6d02f4e8b1";

// What the replicas' configs name the tracker token's variable.
constexpr const char* kTokenVariable = "BOARDSYNC_REPLICA_TOKEN";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Hostname() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    return "localhost";
  }
  return host;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// "postgresql://user:password@host:port/db" with another password and port.
std::string UrlWith(const std::string& url, const std::string& password, int port) {
  const std::size_t user_end = url.find(':', url.find("://") + 3);
  const std::size_t at = url.find('@');
  const std::size_t db = url.find('/', at);
  return url.substr(0, user_end + 1) + password + "@127.0.0.1:" + std::to_string(port) +
         url.substr(db);
}

// "host:port/db" as boardsync's messages name a database.
std::string Where(const std::string& url) {
  const std::size_t at = url.find('@');
  const std::size_t query = url.find('?', at);
  return url.substr(at + 1, query == std::string::npos ? std::string::npos : query - at - 1);
}

// The first entries of a list of problems, one a line, for a failure message.
std::string FirstOf(const std::vector<std::string>& entries, std::size_t cap = 10) {
  std::string out;
  for (std::size_t i = 0; i < entries.size() && i < cap; ++i) {
    out += "  " + entries[i] + "\n";
  }
  if (entries.size() > cap) {
    out += "  ... (" + std::to_string(entries.size()) + " in all)\n";
  }
  return out;
}

struct Replica {
  std::string label;  // the test's name for it: r1, r2, ...
  std::string name;   // boardsync's: <hostname>:<pid>
  std::unique_ptr<DaemonProcess> process;
};

class ReplicasTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(Binary()))
        << "build the boardsync target first: " << Binary();
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    std::filesystem::copy_file(SourceDir() / "mappings/examples/youtrack.yaml",
                               dir_.path() / "mapping.yaml");
    WriteUrlFile("pg.url", db_.url());
  }

  void TearDown() override {
    // Stopped ones too: SIGTERM waits behind SIGSTOP.
    for (auto& r : replicas_) {
      r->process->Signal(SIGCONT);
      r->process->Signal(SIGTERM);
    }
    for (auto& r : replicas_) {
      r->process->WaitForExit(seconds(10));
    }
    ExpectNoSecretInAnyOutput();
  }

  static std::filesystem::path Binary() { return BinaryDir() / "boardsync"; }
  std::filesystem::path Path(const std::string& name) const { return dir_.path() / name; }

  void WriteUrlFile(const std::string& name, const std::string& url) {
    pgtest::WriteUrlFile(dir_, name, url);
  }

  // Connections `prefix`0 .. `prefix`<n-1>, each behind a front of its own.
  std::vector<std::string> Connections(int n, const std::string& prefix = "yt-") {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      names.push_back(prefix + std::to_string(i));
      Front(names.back());
    }
    return names;
  }

  TrackerFront& Front(const std::string& connection) {
    auto& front = fronts_[connection];
    if (!front) {
      front = std::make_unique<TrackerFront>(tracker_);
    }
    return *front;
  }

  // A config for `connections`, state and board in the database `url_file`
  // holds the URI of; returns its path.
  std::string WriteConfig(const std::string& file, const std::vector<std::string>& connections,
                          const std::string& url_key = "url_file: pg.url") {
    std::string text =
        "state_dir: state\n"
        "state:\n"
        "  type: postgres\n"
        "  " +
        url_key +
        "\n"
        "  lease_ttl: 3s\n"
        "board:\n"
        "  type: postgres\n"
        "  " +
        url_key +
        "\n"
        "connections:\n";
    for (const std::string& c : connections) {
      text += "  - name: " + c + "\n";
      text += "    type: youtrack\n";
      text += "    base_url: " + Front(c).base_url() + "\n";
      text += std::string("    token_env: ") + kTokenVariable + "\n";
      text += "    mapping: mapping.yaml\n";
      text += "    board: roadmap\n";
      text += "    interval: 1s\n";
    }
    dir_.Write(file, text);
    return Path(file).string();
  }

  // Starts `boardsync run` with the tracker token of `label`.
  Replica& StartReplica(const std::string& label, const std::string& config = "boardsync.yaml",
                        const std::vector<std::string>& env = {}) {
    tracker_.AddToken(ReplicaToken(label), "sync.bot");
    std::vector<std::string> environment = {std::string(kTokenVariable) + "=" +
                                            ReplicaToken(label)};
    environment.insert(environment.end(), env.begin(), env.end());
    auto replica = std::make_unique<Replica>();
    replica->label = label;
    replica->process = std::make_unique<DaemonProcess>(
        std::vector<std::string>{Binary().string(), "run", "--config", Path(config).string()},
        environment, Path(label + ".log"));
    EXPECT_TRUE(replica->process->started()) << replica->process->error();
    replica->name = Hostname() + ":" + std::to_string(replica->process->pid());
    replicas_.push_back(std::move(replica));
    return *replicas_.back();
  }

  // Runs `boardsync <args>` to the end with the tracker token "cmd"; its exit
  // code (-1 when it did not exit by itself within a minute) and output.
  std::pair<int, std::string> RunCommand(const std::vector<std::string>& args,
                                         const std::vector<std::string>& env = {}) {
    tracker_.AddToken(ReplicaToken("cmd"), "sync.bot");
    std::vector<std::string> argv = {Binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> environment = {std::string(kTokenVariable) + "=" +
                                            ReplicaToken("cmd")};
    environment.insert(environment.end(), env.begin(), env.end());
    DaemonProcess once(argv, environment, Path("cmd-" + std::to_string(++commands_) + ".log"));
    std::optional<int> code = once.WaitForExit(seconds(60));
    return {code.value_or(-1), once.Log()};
  }

  // Every replica's state and the tail of its output, for failure messages.
  std::string Why() const {
    std::string out;
    for (const auto& r : replicas_) {
      out += "\n" + r->label + " (" + r->name + ") " + r->process->DescribeStatus() +
             r->process->Tail(20);
    }
    return out;
  }

  // Polls until `condition` holds; false at the deadline.
  static bool Eventually(const std::function<bool()>& condition, milliseconds timeout = kDeadline) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (condition()) {
        return true;
      }
      if (Clock::now() >= deadline) {
        return condition();
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  // ---- What the database holds ----

  StateStore* State() {
    if (!state_) {
      auto opened = PostgresState::Open(Secret(db_.url()));
      if (!opened) {
        last_error_ = opened.error().message;
        return nullptr;
      }
      state_ = std::move(*opened);
    }
    return state_.get();
  }

  // The unexpired leases, by connection.
  std::map<std::string, LeaseHolder> Leases() {
    std::map<std::string, LeaseHolder> out;
    StateStore* state = State();
    if (state == nullptr) {
      return out;
    }
    auto leases = state->Leases();
    if (!leases) {
      last_error_ = leases.error().message;
      return out;
    }
    for (const LeaseHolder& l : *leases) {
      out[l.connection] = l;
    }
    return out;
  }

  // The label of the replica named `name`, else `name` itself.
  std::string LabelOf(const std::string& name) const {
    for (const auto& r : replicas_) {
      if (r->name == name) {
        return r->label;
      }
    }
    return name;
  }

  // "yt-0: r1 (epoch 2), ..." for failure messages.
  std::string DescribeLeases() {
    std::string out = "leases:";
    for (const auto& [connection, lease] : Leases()) {
      out += " " + connection + ": " + LabelOf(lease.holder) + " (epoch " +
             std::to_string(lease.epoch) + ")";
    }
    return out + (last_error_.empty() ? "" : " [last error: " + last_error_ + "]");
  }

  // Every one of `connections` is held, by one of `holders` only, and each
  // of them holds its fair share (n/k, rounded either way).
  bool HeldEvenly(const std::vector<std::string>& connections,
                  const std::vector<const Replica*>& holders) {
    const std::map<std::string, LeaseHolder> leases = Leases();
    std::map<std::string, std::size_t> counts;
    for (const Replica* r : holders) {
      counts[r->name] = 0;
    }
    for (const std::string& c : connections) {
      auto it = leases.find(c);
      if (it == leases.end() || !counts.contains(it->second.holder)) {
        return false;
      }
      ++counts[it->second.holder];
    }
    const std::size_t low = connections.size() / holders.size();
    const std::size_t high = (connections.size() + holders.size() - 1) / holders.size();
    return std::all_of(counts.begin(), counts.end(), [&](const auto& entry) {
      return entry.second >= low && entry.second <= high;
    });
  }

  std::optional<std::int64_t> CursorOf(const std::string& connection) {
    StateStore* state = State();
    if (state == nullptr) {
      return std::nullopt;
    }
    auto cursor = state->Cursor(connection);
    if (!cursor || !*cursor) {
      return std::nullopt;
    }
    return (*cursor)->updated_ms;
  }

  // The items of `connection` (item keys "<connection>:...") on the board
  // "roadmap"; none while the board cannot be read (not made yet, or the
  // session was cut: the next read connects again).
  Board BoardOf(const std::string& connection) {
    Board all = board_.ReadBoard("roadmap", /*quiet=*/true);
    Board mine;
    for (auto& [key, row] : all.rows) {
      if (key.starts_with(connection + ":")) {
        mine.rows.emplace(key, std::move(row));
      }
    }
    // Rows read, repeats included: the whole board's excess counts here too.
    mine.row_count = mine.rows.size() + (all.row_count - all.rows.size());
    return mine;
  }

  // Rows in the board's items table, all boards and connections.
  std::int64_t ItemRows() {
    auto rows = board_.Query("SELECT count(*) FROM items", {}, /*quiet=*/true);
    return rows && !rows->empty() ? std::stoll(rows->front()[0].value_or("-1")) : -1;
  }

  // Each connection's live items are exactly the tracker's issues (the
  // example mapping skips duplicates) in their latest version, each once.
  // Remembers the differences for the failure message.
  bool BoardsMatch(const std::vector<std::string>& connections) {
    for (const std::string& c : connections) {
      const Board board = BoardOf(c);
      BoardDifferences d = CompareBoard(board, tracker_, c, NotDuplicate, "title");
      if (!d.empty() || board.row_count != board.rows.size()) {
        differences_ = c + ": " + d.ToString() + " (" + std::to_string(board.row_count) +
                       " rows for " + std::to_string(board.rows.size()) + " items)";
        return false;
      }
    }
    differences_.clear();
    return true;
  }

  // The issues the example mapping puts on the board, by entity id.
  std::vector<std::string> LiveIssues() const {
    std::vector<std::string> ids;
    for (const std::string& id : tracker_.IssueIds()) {
      std::optional<Value> issue = tracker_.GetIssue(id);
      if (issue && NotDuplicate(*issue)) {
        ids.push_back(id);
      }
    }
    return ids;
  }

  // connection -> holder ("" for none) from `boardsync status --format
  // json`; nullopt when it failed (the reason in last_error_).
  std::optional<std::map<std::string, std::string>> StatusHolders(
      const std::string& config = "boardsync.yaml") {
    auto [code, output] = RunCommand({"status", "--format", "json", "--config", Path(config)});
    if (code != 0) {
      last_error_ = "status exited with " + std::to_string(code) + ": " + output;
      return std::nullopt;
    }
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("[")) {
        continue;
      }
      auto rows = ParseJson(line);
      if (!rows || !rows->IsList()) {
        break;
      }
      std::map<std::string, std::string> holders;
      for (const Value& row : rows->AsList()) {
        const Value* holder = row.Find("holder");
        if (holder == nullptr) {
          last_error_ = "a status row without \"holder\": " + row.ToJson();
          return std::nullopt;
        }
        holders[std::string(row.StringOr("connection"))] =
            holder->IsString() ? holder->AsString() : "";
      }
      return holders;
    }
    last_error_ = "no JSON list in status' output: " + output;
    return std::nullopt;
  }

  void ExpectTakeoverWhilePausedInside(const std::string& relation, const std::string& mode);

  // The replicas' database sessions, for failure messages: who waits on a
  // lock, who sits in an open transaction.
  std::string DescribeSessions(PgConnection& admin) {
    auto rows = admin.Exec(
        "SELECT application_name, state, coalesce(wait_event_type, ''), "
        "coalesce(xact_start::text, ''), left(regexp_replace(query, '\\s+', ' ', 'g'), 120) "
        "FROM pg_stat_activity WHERE datname = current_database() AND "
        "application_name LIKE 'boardsync-%' ORDER BY application_name");
    if (!rows) {
      return "(sessions unknown: " + rows.error().message + ")";
    }
    std::string out = "sessions:\n";
    for (const PgRow& row : rows->rows) {
      out +=
          "  " + row[0].value_or("") + " " + row[1].value_or("") +
          (row[2].value_or("").empty() ? "" : " waiting on " + row[2].value_or("")) +
          (row[3].value_or("").empty() ? "" : ", in a transaction since " + row[3].value_or("")) +
          ": " + row[4].value_or("") + "\n";
    }
    return out;
  }

  // No pull of any connection by two replicas at once, since the start.
  void ExpectNoOverlappingPulls() {
    for (const auto& [connection, front] : fronts_) {
      std::vector<std::string> overlaps = OverlappingPulls(front->requests(), origin_);
      EXPECT_TRUE(overlaps.empty()) << connection << " was pulled by two replicas at once:\n"
                                    << FirstOf(overlaps);
    }
  }

  // DESIGN §5 and issue 19: neither a database password nor a tracker
  // token in anything a process printed (status and sync output included).
  void ExpectNoSecretInAnyOutput() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path(), ec)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".log") {
        continue;
      }
      const std::string text = ReadFile(entry.path());
      for (const char* secret : {kPgTestPassword, kPgTestAdminPassword, kWrongPassword,
                                 kUnreachablePassword, kTokenTail.data()}) {
        EXPECT_EQ(text.find(secret), std::string::npos)
            << "a secret (" << std::string(secret).substr(0, 12) << "…) leaked into "
            << entry.path();
      }
    }
  }

  // Declared in this order so that replicas stop before the database is
  // dropped, and the fronts before the tracker they pass requests on to.
  SampleTracker tracker_;
  std::map<std::string, std::unique_ptr<TrackerFront>> fronts_;
  TempDir dir_;
  PgTestDatabase db_;
  std::unique_ptr<PostgresState> state_;
  pgtest::PgReader board_{db_.url()};
  std::vector<std::unique_ptr<Replica>> replicas_;
  const Clock::time_point origin_ = Clock::now();
  int commands_ = 0;
  std::string differences_;
  std::string last_error_;
};

// ---- Tests ----

TEST_F(ReplicasTest, ThreeReplicasShareNineConnectionsThreeEachAndEveryItemLandsOnce) {
  const std::vector<std::string> names = Connections(9);
  WriteConfig("boardsync.yaml", names);
  const Clock::time_point start = Clock::now();
  const Replica& r1 = StartReplica("r1");
  const Replica& r2 = StartReplica("r2");
  const Replica& r3 = StartReplica("r3");

  ASSERT_TRUE(Eventually([&] {
    return HeldEvenly(names, {&r1, &r2, &r3});
  })) << DescribeLeases()
      << Why();
  std::cout << "[ timing ] three replicas hold three connections each after " << SecondsSince(start)
            << " s\n";
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();
  std::cout << "[ timing ] every item on the board after " << SecondsSince(start) << " s\n";
  const std::size_t per_connection = LiveIssues().size();
  ASSERT_EQ(per_connection, 13u);  // 15 sample issues, 2 of them duplicates
  EXPECT_EQ(ItemRows(), static_cast<std::int64_t>(9 * per_connection));

  // The share holds (no lease flaps back and forth), and status names the
  // same holders the leases table does.
  const Clock::time_point steady_until = Clock::now() + seconds(2);  // two renewals
  while (Clock::now() < steady_until) {
    ASSERT_TRUE(HeldEvenly(names, {&r1, &r2, &r3})) << DescribeLeases();
    std::this_thread::sleep_for(milliseconds(100));
  }
  const std::map<std::string, LeaseHolder> leases = Leases();
  std::map<std::string, int> shares;
  for (const auto& [connection, lease] : leases) {
    ++shares[LabelOf(lease.holder)];
  }
  EXPECT_EQ(shares, (std::map<std::string, int>{{"r1", 3}, {"r2", 3}, {"r3", 3}}))
      << DescribeLeases();
  auto holders = StatusHolders();
  ASSERT_TRUE(holders) << last_error_;
  for (const std::string& c : names) {
    auto lease = leases.find(c);
    ASSERT_NE(lease, leases.end()) << c;
    EXPECT_EQ((*holders)[c], lease->second.holder) << c;
  }
  ExpectNoOverlappingPulls();
}

TEST_F(ReplicasTest, AKilledReplicasConnectionsPassToTheOthersWithinAMinuteAndNothingIsLost) {
  const std::vector<std::string> names = Connections(9);
  WriteConfig("boardsync.yaml", names);
  const Replica& r1 = StartReplica("r1");
  Replica& r2 = StartReplica("r2");
  const Replica& r3 = StartReplica("r3");
  ASSERT_TRUE(Eventually([&] {
    return HeldEvenly(names, {&r1, &r2, &r3});
  })) << DescribeLeases()
      << Why();
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();

  std::set<std::string> orphaned;
  for (const auto& [connection, lease] : Leases()) {
    if (lease.holder == r2.name) {
      orphaned.insert(connection);
    }
  }
  ASSERT_FALSE(orphaned.empty()) << DescribeLeases();

  const Clock::time_point killed = Clock::now();
  ASSERT_TRUE(r2.process->Signal(SIGKILL));
  ASSERT_FALSE(r2.process->WaitForExit(seconds(5)).has_value());  // killed, not exited
  ASSERT_TRUE(Eventually(
      [&] {
        return HeldEvenly(names, {&r1, &r3});
      },
      kTakeoverLimit))
      << "after " << SecondsSince(killed) << " s: " << DescribeLeases() << Why();
  const double took = SecondsSince(killed);
  std::cout << "[ timing ] a killed replica's " << orphaned.size()
            << " connections were held by the others after " << took << " s\n";
  EXPECT_LT(took, std::chrono::duration<double>(kTakeoverLimit).count());
  EXPECT_LT(took, std::chrono::duration<double>(kTakeoverExpected).count())
      << "lease_ttl 3s should pass the connections on in about 4 s";

  // Changes made after the kill reach the board for every connection,
  // those taken over included: nothing lost, nothing twice.
  const std::vector<std::string> ids = LiveIssues();
  ASSERT_TRUE(tracker_.SetSummary(ids.front(), "Changed after the kill"));
  ASSERT_TRUE(tracker_.SetSummary(ids.back(), "Also changed after the kill"));
  const Clock::time_point changed = Clock::now();
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();
  std::cout << "[ timing ] the change was on the board for all nine connections after "
            << SecondsSince(changed) << " s\n";
  EXPECT_EQ(ItemRows(), static_cast<std::int64_t>(names.size() * ids.size()));
  for (const std::string& c : orphaned) {
    const Board board = BoardOf(c);
    const BoardRow* row = board.Find(c + ":" + ids.front());
    ASSERT_NE(row, nullptr) << c;
    EXPECT_EQ(row->Field("title"), "Changed after the kill") << c;
  }
  ExpectNoOverlappingPulls();
}

TEST_F(ReplicasTest, APausedReplicaPastItsLeaseIsFencedAndNeverUndoesNewerWork) {
  const std::vector<std::string> names = Connections(4);
  WriteConfig("boardsync.yaml", names);
  Replica& r1 = StartReplica("r1");
  const Replica& r2 = StartReplica("r2");
  ASSERT_TRUE(Eventually([&] {
    return HeldEvenly(names, {&r1, &r2});
  })) << DescribeLeases()
      << Why();
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();

  // A connection of r1's.
  std::string paused_connection;
  std::int64_t epoch_before = 0;
  for (const auto& [connection, lease] : Leases()) {
    if (lease.holder == r1.name) {
      paused_connection = connection;
      epoch_before = lease.epoch;
      break;
    }
  }
  ASSERT_FALSE(paused_connection.empty()) << DescribeLeases();
  const std::string& c = paused_connection;
  const std::string issue = LiveIssues().front();
  const std::string item_key = c + ":" + issue;

  // r1's next pull of it stops r1 the moment it arrives, and reads an
  // issue changed just then: r1 holds a version that is about to be old.
  // (The hook outlives this body: it holds nothing of it.)
  auto trapped = std::make_shared<std::atomic<bool>>(false);
  Front(c).OnRequest([this, trapped, issue, pid = r1.process->pid()](const FrontRequest& request,
                                                                     const HttpServerRequest&) {
    if (request.replica != "r1" || !request.issue_pull || trapped->exchange(true)) {
      return;
    }
    ::kill(pid, SIGSTOP);
    tracker_.SetSummary(issue, "The version the paused replica read");
  });
  ASSERT_TRUE(Eventually([&] { return trapped->load(); }, seconds(15)))
      << "r1 did not pull " << c << Why();
  const Clock::time_point paused = Clock::now();

  // r2 takes the connection over once r1's lease runs out, and brings a
  // newer version to the board.
  ASSERT_TRUE(Eventually([&] {
    auto leases = Leases();
    auto it = leases.find(c);
    return it != leases.end() && it->second.holder == r2.name && it->second.epoch > epoch_before;
  })) << DescribeLeases()
      << Why();
  std::cout << "[ timing ] the paused replica's connection was taken over after "
            << SecondsSince(paused) << " s\n";
  ASSERT_TRUE(tracker_.SetSummary(issue, "The newer version"));
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();
  const std::optional<std::int64_t> cursor_before = CursorOf(c);
  ASSERT_TRUE(cursor_before) << last_error_;
  const Board board_before = BoardOf(c);
  ASSERT_NE(board_before.Find(item_key), nullptr);
  const BoardRow row_before = *board_before.Find(item_key);
  ASSERT_EQ(row_before.Field("title"), "The newer version");
  const std::size_t log_before = r1.process->Log().size();

  // r1 wakes with the old version in hand. Whatever it tries, the cursor
  // never moves back and the board never shows the older version.
  ASSERT_TRUE(r1.process->Signal(SIGCONT));
  const Clock::time_point resumed = Clock::now();
  std::vector<std::string> regressions;
  auto watch = [&] {
    if (auto cursor = CursorOf(c); cursor && *cursor < *cursor_before) {
      regressions.push_back("the cursor moved back from " + std::to_string(*cursor_before) +
                            " to " + std::to_string(*cursor));
    }
    // (An empty read is one that failed, not a board that lost its items.)
    if (const Board board = BoardOf(c); !board.rows.empty()) {
      const BoardRow* row = board.Find(item_key);
      if (row == nullptr || row->Field("title") != "The newer version" ||
          row->source_updated_at != row_before.source_updated_at) {
        regressions.push_back("the board's item became " +
                              (row == nullptr
                                   ? std::string("absent")
                                   : row->Field("title") + " of " + row->source_updated_at));
      }
    }
  };
  // Its log says it lost the lease, and that its write was refused.
  auto woke_log = [&] { return r1.process->Log().substr(log_before); };
  auto says_refused = [&] {
    watch();
    const std::string log = woke_log();
    bool lost = false;
    bool refused = false;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(c) == std::string::npos) {
        continue;
      }
      // The lease keeper's word, and the fenced write's refusal (kLocked).
      lost = lost || line.find("lost the lease") != std::string::npos;
      refused = refused || line.find("lost its lease") != std::string::npos;
    }
    return lost && refused;
  };
  EXPECT_TRUE(Eventually(says_refused, seconds(20))) << "r1's log since it woke:\n"
                                                     << woke_log() << Why();
  std::cout << "[ timing ] the woken replica reported its refused write after "
            << SecondsSince(resumed) << " s\n";
  // Some more renewals: r1 rejoins, the connections may be rebalanced.
  const Clock::time_point watch_until = Clock::now() + seconds(3);
  while (Clock::now() < watch_until) {
    watch();
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(regressions.empty()) << FirstOf(regressions);

  // Every connection is held by a live replica (r2, or r1 again after a
  // rebalance), and nothing is lost: a change now reaches every board.
  ASSERT_TRUE(Eventually([&] {
    return HeldEvenly(names, {&r1, &r2});
  })) << DescribeLeases()
      << Why();
  ASSERT_TRUE(tracker_.SetSummary(LiveIssues().back(), "After the paused replica woke"));
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();
  EXPECT_EQ(ItemRows(), static_cast<std::int64_t>(names.size() * LiveIssues().size()));
  auto cursor_after = CursorOf(c);
  ASSERT_TRUE(cursor_after);
  EXPECT_GE(*cursor_after, *cursor_before);
  EXPECT_TRUE(r1.process->Running()) << Why();
}

// A replica paused (or cut off from the database: the server cannot tell)
// in the middle of a transaction leaves it open on the server, with its
// locks. The others must still take its connections over within 60 s
// (DESIGN §4.3: a replica that loses the database), and keep their own
// meanwhile. `relation` and `mode`: the lock (pg_locks) that shows r1 is
// inside the kind of transaction meant.
void ReplicasTest::ExpectTakeoverWhilePausedInside(const std::string& relation,
                                                   const std::string& mode) {
  const std::vector<std::string> names = Connections(4);
  WriteConfig("boardsync.yaml", names, "url_env: BOARDSYNC_TEST_PG_URI");
  // Each replica's sessions carry its label, so the test can find them.
  auto url_of = [&](const std::string& label) {
    return "BOARDSYNC_TEST_PG_URI=" + db_.url() + "?application_name=boardsync-" + label;
  };
  Replica& r1 = StartReplica("r1", "boardsync.yaml", {url_of("r1")});
  const Replica& r2 = StartReplica("r2", "boardsync.yaml", {url_of("r2")});
  ASSERT_TRUE(Eventually([&] {
    return HeldEvenly(names, {&r1, &r2});
  })) << DescribeLeases()
      << Why();
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();

  // Stop r1 while one of its sessions holds that lock, tried until the stop
  // lands inside such a transaction and it stays open (a COMMIT sent just
  // before the stop would still end it).
  auto admin = PgConnection::Open(Secret(db_.admin_url()));
  ASSERT_TRUE(admin) << admin.error().message;
  auto inside = [&] {
    auto rows = (*admin)->Exec(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "JOIN pg_class c ON c.oid = l.relation WHERE a.datname = current_database() "
        "AND a.application_name = 'boardsync-r1' AND c.relname = $1 AND l.mode = $2 "
        "AND l.granted",
        {relation, mode});
    return rows && !rows->rows.empty() && rows->rows[0][0].value_or("0") != "0";
  };
  auto stopped = [&] {
    const std::string stat = ReadFile("/proc/" + std::to_string(r1.process->pid()) + "/stat");
    const std::size_t paren = stat.rfind(')');
    return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] == 'T';
  };
  bool caught = false;
  int tries = 0;
  const Clock::time_point give_up = Clock::now() + seconds(20);
  while (!caught && Clock::now() < give_up) {
    if (!inside()) {
      continue;
    }
    ++tries;
    ASSERT_TRUE(r1.process->Signal(SIGSTOP));
    ASSERT_TRUE(Eventually(stopped, seconds(2)));
    std::this_thread::sleep_for(milliseconds(300));
    caught = inside();
    if (!caught) {
      ASSERT_TRUE(r1.process->Signal(SIGCONT));
    }
  }
  ASSERT_TRUE(caught) << "r1 was never caught inside a transaction holding " << mode << " on "
                      << relation << " (" << tries << " tries)" << Why();
  const Clock::time_point paused = Clock::now();

  // r2 holds every connection within the limit.
  const bool taken_over = Eventually([&] { return HeldEvenly(names, {&r2}); }, kTakeoverLimit);
  const double took = SecondsSince(paused);
  const std::string leases_then = DescribeLeases();
  const std::string sessions_then = DescribeSessions(**admin);
  ASSERT_TRUE(r1.process->Signal(SIGCONT));
  EXPECT_TRUE(taken_over) << "after " << took << " s with r1 stopped inside a transaction holding "
                          << mode << " on " << relation << ": " << leases_then << "\n"
                          << sessions_then << Why();
  std::cout << "[ timing ] r1 stopped inside a transaction (" << relation << ", " << mode
            << ") after " << tries << " tries; its connections were held by r2 after " << took
            << " s\n";

  // Once r1 runs again, nothing is lost.
  ASSERT_TRUE(tracker_.SetSummary(LiveIssues().front(), "After r1 ran again"));
  EXPECT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();
}

// Inside a fenced write: its lease row is locked FOR SHARE (RowShareLock on
// state_leases) from the check to the commit.
TEST_F(ReplicasTest, AReplicaPausedInsideAFencedWriteDoesNotHoldUpTheTakeover) {
  ExpectTakeoverWhilePausedInside("state_leases", "RowShareLock");
}

// Inside a heartbeat: its own row of state_replicas is updated, not committed.
TEST_F(ReplicasTest, AReplicaPausedInsideAHeartbeatDoesNotHoldUpTheOthers) {
  ExpectTakeoverWhilePausedInside("state_replicas", "RowExclusiveLock");
}

TEST_F(ReplicasTest, SyncLeavesOutTheConnectionsDaemonsHoldAndSaysWhoHoldsThem) {
  const std::vector<std::string> held = Connections(2);
  Front("free");
  WriteConfig("boardsync.yaml", held);
  std::vector<std::string> all = held;
  all.push_back("free");
  WriteConfig("sync.yaml", all);
  const Replica& r1 = StartReplica("r1");
  ASSERT_TRUE(Eventually([&] { return HeldEvenly(held, {&r1}); })) << DescribeLeases() << Why();
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(held); })) << differences_ << Why();

  // Every connection it asks for is held: nothing runs, exit 3, and the
  // message names the holder of each.
  auto [code, output] = RunCommand({"sync", "--config", Path("boardsync.yaml")});
  EXPECT_EQ(code, 3) << output;
  for (const std::string& c : held) {
    EXPECT_NE(output.find(c + " (held by " + r1.name + ")"), std::string::npos)
        << c << " and its holder " << r1.name << " are not named:\n"
        << output;
  }

  // One of them is free: that one syncs, the others are left out (not all
  // requested work ran: exit 1).
  auto [mixed_code, mixed_output] = RunCommand({"sync", "--config", Path("sync.yaml")});
  EXPECT_EQ(mixed_code, 1) << mixed_output;
  for (const std::string& c : held) {
    EXPECT_NE(mixed_output.find(c + " (held by " + r1.name + ")"), std::string::npos)
        << mixed_output;
  }
  EXPECT_TRUE(BoardsMatch({"free"})) << differences_ << mixed_output;

  // Asked only for the free one: all requested work ran.
  ASSERT_TRUE(tracker_.SetSummary(LiveIssues().front(), "Changed for the one-shot sync"));
  auto [free_code, free_output] =
      RunCommand({"sync", "--config", Path("sync.yaml"), "--connection", "free"});
  EXPECT_EQ(free_code, 0) << free_output;
  EXPECT_TRUE(BoardsMatch({"free"})) << differences_ << free_output;
  // It gave its lease back as it finished.
  EXPECT_FALSE(Leases().contains("free")) << DescribeLeases();

  // The one-shot syncs never pulled what the daemon holds.
  for (const std::string& c : held) {
    for (const FrontRequest& request : Front(c).requests()) {
      EXPECT_EQ(request.replica, "r1")
          << c << " was pulled by " << request.replica << " (" << request.path << ")";
    }
  }
  bool pulled_free = false;
  for (const FrontRequest& request : Front("free").requests()) {
    pulled_free = pulled_free || (request.replica == "cmd" && request.issue_pull);
  }
  EXPECT_TRUE(pulled_free);
}

TEST_F(ReplicasTest, StatusNamesTheHolderAsHostnameAndPidOfTheLiveDaemon) {
  const std::vector<std::string> names = Connections(2);
  WriteConfig("boardsync.yaml", names);
  // Before any replica: no holder.
  auto before = StatusHolders();
  ASSERT_TRUE(before) << last_error_;
  for (const std::string& c : names) {
    EXPECT_EQ((*before)[c], "") << c;
  }

  Replica& r1 = StartReplica("r1");
  const std::string expected = Hostname() + ":" + std::to_string(r1.process->pid());
  std::optional<std::map<std::string, std::string>> holders;
  ASSERT_TRUE(Eventually([&] {
    holders = StatusHolders();
    return holders && (*holders)[names[0]] == expected && (*holders)[names[1]] == expected;
  })) << (holders ? "" : last_error_)
      << DescribeLeases() << Why();
  auto [code, table] = RunCommand({"status", "--config", Path("boardsync.yaml")});
  EXPECT_EQ(code, 0) << table;
  EXPECT_NE(table.find(expected), std::string::npos) << table;

  // Its leases die with it: a clean stop gives them up at once.
  ASSERT_TRUE(r1.process->Signal(SIGTERM));
  ASSERT_EQ(r1.process->WaitForExit(seconds(10)), 0) << Why();
  EXPECT_TRUE(Leases().empty()) << DescribeLeases();
  auto after = StatusHolders();
  ASSERT_TRUE(after) << last_error_;
  for (const std::string& c : names) {
    EXPECT_EQ((*after)[c], "") << c;
  }
}

TEST_F(ReplicasTest, AReplicaJoiningLaterGetsItsShareWithNoConnectionPulledByTwoAtOnce) {
  const std::vector<std::string> names = Connections(6);
  WriteConfig("boardsync.yaml", names);
  // Pulls take a while, so two replicas pulling one connection at once
  // would overlap at the front.
  for (const std::string& c : names) {
    Front(c).SetLatency(milliseconds(300));
  }
  const Replica& r1 = StartReplica("r1");
  const Replica& r2 = StartReplica("r2");
  ASSERT_TRUE(Eventually([&] {
    return HeldEvenly(names, {&r1, &r2});
  })) << DescribeLeases()
      << Why();
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();

  // Who held what, seen every 100 ms: a connection passes to another
  // replica only with a new epoch.
  std::map<std::string, LeaseHolder> seen = Leases();
  std::vector<std::string> unclean;
  std::size_t handovers = 0;
  auto observe = [&] {
    for (const auto& [connection, lease] : Leases()) {
      auto it = seen.find(connection);
      if (it != seen.end()) {
        if (lease.holder != it->second.holder) {
          ++handovers;
          if (lease.epoch <= it->second.epoch) {
            unclean.push_back(connection + " passed from " + LabelOf(it->second.holder) + " to " +
                              LabelOf(lease.holder) + " keeping epoch " +
                              std::to_string(lease.epoch));
          }
        } else if (lease.epoch < it->second.epoch) {
          unclean.push_back(connection + "'s epoch went back to " + std::to_string(lease.epoch));
        }
      }
      seen[connection] = lease;
    }
  };

  const Clock::time_point joined = Clock::now();
  const Replica& r3 = StartReplica("r3");
  ASSERT_TRUE(Eventually([&] {
    observe();
    return HeldEvenly(names, {&r1, &r2, &r3});
  })) << DescribeLeases()
      << Why();
  std::cout << "[ timing ] the connections were spread over three replicas " << SecondsSince(joined)
            << " s after the third started, in " << handovers << " handovers\n";
  EXPECT_GE(handovers, 2u);

  // A few more syncs on the new layout, with a change to carry.
  ASSERT_TRUE(tracker_.SetSummary(LiveIssues().front(), "Changed after the third replica joined"));
  ASSERT_TRUE(Eventually([&] {
    observe();
    return BoardsMatch(names);
  })) << differences_
      << Why();
  const Clock::time_point settle = Clock::now() + seconds(2);
  while (Clock::now() < settle) {
    observe();
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(HeldEvenly(names, {&r1, &r2, &r3})) << DescribeLeases();
  EXPECT_TRUE(unclean.empty()) << FirstOf(unclean);
  // r3 pulled its connections, and no connection was ever pulled by two
  // replicas at once.
  bool r3_pulled = false;
  for (const auto& [connection, front] : fronts_) {
    for (const FrontRequest& request : front->requests()) {
      r3_pulled = r3_pulled || (request.replica == "r3" && request.issue_pull);
    }
  }
  EXPECT_TRUE(r3_pulled);
  ExpectNoOverlappingPulls();
}

TEST_F(ReplicasTest, TheDatabasePasswordNeverShowsNotEvenWhenTheDatabaseRefusesOrIsGone) {
  const std::vector<std::string> names = Connections(2);
  WriteConfig("boardsync.yaml", names);

  // A wrong password: the replica fails with a clear error naming the
  // database, never the password.
  WriteUrlFile("wrong.url", UrlWith(db_.url(), kWrongPassword, db_.port()));
  WriteConfig("wrong.yaml", names, "url_file: wrong.url");
  const std::string where = Where(db_.url());
  {
    Replica& wrong = StartReplica("wrong", "wrong.yaml");
    std::optional<int> code = wrong.process->WaitForExit(seconds(20));
    const std::string log = wrong.process->Log();
    EXPECT_TRUE(code.has_value() && *code != 0)
        << "a replica with a wrong password " << wrong.process->DescribeStatus() << log;
    EXPECT_NE(log.find(where), std::string::npos) << "the error does not name " << where << ":\n"
                                                  << log;
    EXPECT_TRUE(log.find("password") != std::string::npos ||
                log.find("authenticat") != std::string::npos)
        << "the error does not say the password was refused:\n"
        << log;
  }
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"status", "--config", Path("wrong.yaml")},
        std::vector<std::string>{"sync", "--config", Path("wrong.yaml")}}) {
    auto [code, output] = RunCommand(command);
    EXPECT_NE(code, 0) << command[0] << ": " << output;
    EXPECT_NE(output.find(where), std::string::npos) << command[0] << ": " << output;
  }

  // Nothing listens where the URI points: the same.
  const int closed_port = FreeLoopbackPort();
  const std::string gone_url = UrlWith(db_.url(), kUnreachablePassword, closed_port);
  WriteUrlFile("gone.url", gone_url);
  WriteConfig("gone.yaml", names, "url_file: gone.url");
  {
    Replica& gone = StartReplica("gone", "gone.yaml");
    // It may exit or keep trying; either way it says where it cannot reach.
    EXPECT_TRUE(Eventually(
        [&] {
          return !gone.process->Running() ||
                 gone.process->Log().find(Where(gone_url)) != std::string::npos;
        },
        seconds(20)))
        << Why();
    EXPECT_NE(gone.process->Log().find(Where(gone_url)), std::string::npos) << Why();
  }
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"status", "--config", Path("gone.yaml")},
        std::vector<std::string>{"sync", "--config", Path("gone.yaml")}}) {
    auto [code, output] = RunCommand(command);
    EXPECT_NE(code, 0) << command[0] << ": " << output;
    EXPECT_NE(output.find(Where(gone_url)), std::string::npos) << command[0] << ": " << output;
  }

  // A working replica, its sessions cut by the server under it: it
  // reconnects, says what happened, and still shows no password. The URI
  // comes from the environment here (url_env), status's too.
  WriteConfig("env.yaml", names, "url_env: BOARDSYNC_TEST_PG_URI");
  const std::string env = "BOARDSYNC_TEST_PG_URI=" + db_.url();
  const Replica& r1 = StartReplica("r1", "env.yaml", {env});
  ASSERT_TRUE(Eventually([&] { return HeldEvenly(names, {&r1}); })) << DescribeLeases() << Why();
  ASSERT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();
  {
    auto admin = PgConnection::Open(Secret(db_.admin_url()));
    ASSERT_TRUE(admin) << admin.error().message;
    for (int i = 0; i < 3; ++i) {
      auto cut = (*admin)->Exec(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND "
          "application_name = 'boardsync' AND pid <> pg_backend_pid()",
          {db_.name()});
      ASSERT_TRUE(cut) << cut.error().message;
      std::this_thread::sleep_for(milliseconds(400));
    }
  }
  ASSERT_TRUE(tracker_.SetSummary(LiveIssues().front(), "After the sessions were cut"));
  EXPECT_TRUE(Eventually([&] { return BoardsMatch(names); })) << differences_ << Why();
  auto [code, table] = RunCommand({"status", "--config", Path("env.yaml")}, {env});
  EXPECT_EQ(code, 0) << table;
  EXPECT_NE(table.find(r1.name), std::string::npos) << table;
  // TearDown checks every output for the passwords.
}

}  // namespace
}  // namespace boardsync::replicas

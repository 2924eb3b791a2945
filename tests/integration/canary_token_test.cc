// DESIGN §5 and issue 6: a token never appears in output, logs, error
// messages, `status`, the state or board databases, STATUS= notifications,
// /metrics or a process's command line. Canary tokens shaped like real ones
// are given to the real binary through each token source and run through
// every command and error path (the tracker and the board store echoing the
// Authorization header back included); then everything the runs printed or
// left behind is searched for them. Also: redirects never carry a token to
// another origin, and token files readable by others are refused.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "connectors/http/cpprest_http_client.h"
#include "core/secret.h"
#include "core/url.h"
#include "daemon/commands.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/hostile_support.h"
#include "tests/support/board_server.h"
#include "tests/support/http_server.h"
#include "tests/support/http_test_client.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using namespace std::chrono_literals;
using hostile::BinaryRun;
using hostile::Describe;
using hostile::Evidence;

// A YouTrack permanent token: "perm:<base64 login>.<base64 name>.<secret>".
constexpr std::string_view kTrackerCanary = "perm:Y2FuYXJ5=.Y2FuYXJ5.CanarySecretQz7Wv2Lp4Rt8Mn6Bd5";
constexpr std::string_view kTrackerSecret = "CanarySecretQz7Wv2Lp4Rt8Mn6Bd5";
// What may be shown of it: the owner part.
constexpr std::string_view kTrackerShown = "perm:Y2FuYXJ5=.…";
// A board store token has no owner part: all of it is secret.
constexpr std::string_view kBoardCanary = "bst_BoardCanarySecretKx3Vb8Jw5Hn2Tq";
constexpr std::string_view kBoardSecret = "BoardCanarySecretKx3Vb8Jw5Hn2Tq";

// What must be found nowhere: each token whole, its secret part, and the
// first characters of the secret (a message cut in the middle of a token).
std::vector<std::string> Needles() {
  return {std::string(kTrackerCanary), std::string(kTrackerSecret),
          std::string(kTrackerSecret.substr(0, 10)), std::string(kBoardCanary),
          std::string(kBoardSecret), std::string(kBoardSecret.substr(0, 10))};
}

// A YouTrack error body quoting the request's Authorization header back.
std::string TrackerEcho(std::string_view token) {
  return R"({"error":"invalid_request","error_description":"Unexpected header Authorization: Bearer )" +
         std::string(token) + R"("})";
}

// A board store error body doing the same.
std::string BoardEcho(std::string_view error, std::string_view token) {
  return R"({"error":")" + std::string(error) +
         R"(","message":"request with Authorization: Bearer )" + std::string(token) +
         R"( refused"})";
}

enum class TokenKind { kFile, kEnv, kCredential };

struct ConfigShape {
  std::string tracker_url;
  std::string board = "http";  // http | sqlite
  std::string state_dir = "state";
  std::string top;  // more top-level keys, each "key: value\n"
};

// The base of the canary tests: a sample tracker and an HTTP board store
// that accept only the canaries, token sources of one kind, and a record
// of every run of the binary.
class CanaryFixture : public testing::Test {
 protected:
  void SetUpTokens(TokenKind kind) {
    ASSERT_TRUE(std::filesystem::exists(Binary())) << "build the boardsync target first";
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    tracker_.SetToken(std::string(kTrackerCanary));
    std::filesystem::create_directories(dir_.path() / "logs");
    WriteTokens(kind);
  }

  void WriteTokens(TokenKind kind) {
    kind_ = kind;
    switch (kind) {
      case TokenKind::kFile:
        WriteSecretFile("tracker.token", kTrackerCanary, 0600);
        WriteSecretFile("board.token", kBoardCanary, 0600);
        break;
      case TokenKind::kCredential:
        std::filesystem::create_directories(dir_.path() / "creds");
        ::chmod((dir_.path() / "creds").c_str(), 0700);
        WriteSecretFile("creds/tracker", kTrackerCanary, 0400);
        WriteSecretFile("creds/board", kBoardCanary, 0400);
        break;
      case TokenKind::kEnv:
        break;
    }
  }

  void WriteSecretFile(const std::string& name, std::string_view token, mode_t mode) {
    auto path = dir_.Write(name, std::string(token) + "\n");
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    secret_files_.insert(path);
  }

  static std::filesystem::path Binary() { return BinaryDir() / "boardsync"; }
  std::filesystem::path ConfigPath() const { return dir_.path() / "boardsync.yaml"; }
  static std::string Mapping() {
    return (SourceDir() / "mappings/examples/youtrack.yaml").string();
  }

  std::string TokenKey(std::string_view who) const {
    switch (kind_) {
      case TokenKind::kFile:
        return "token_file: " + std::string(who) + ".token";
      case TokenKind::kEnv:
        return who == "tracker" ? "token_env: BOARDSYNC_CANARY_TRACKER"
                                : "token_env: BOARDSYNC_CANARY_BOARD";
      case TokenKind::kCredential:
        return "token_credential: " + std::string(who);
    }
    return "";
  }

  std::vector<std::string> Env() const {
    switch (kind_) {
      case TokenKind::kEnv:
        // With the trailing newline a hand-written environment file or a
        // script may leave (LF, or CR LF from Windows), which boardsync drops.
        return {"BOARDSYNC_CANARY_TRACKER=" + std::string(kTrackerCanary) + "\n",
                "BOARDSYNC_CANARY_BOARD=" + std::string(kBoardCanary) + "\r\n"};
      case TokenKind::kCredential:
        return {"CREDENTIALS_DIRECTORY=" + (dir_.path() / "creds").string()};
      case TokenKind::kFile:
        break;
    }
    return {};
  }

  void WriteConfig(const ConfigShape& shape) {
    std::string text = "state_dir: " + shape.state_dir + "\n" + shape.top;
    if (shape.board == "http") {
      text += "board:\n"
              "  type: http\n"
              "  url: " + board_.url() + "\n"
              "  " + TokenKey("board") + "\n";
    }
    text += "connections:\n"
            "  - name: canary\n"
            "    type: youtrack\n"
            "    base_url: " + shape.tracker_url + "\n"
            "    " + TokenKey("tracker") + "\n"
            "    mapping: " + Mapping() + "\n"
            "    board: roadmap\n"
            "    page_size: 4\n"
            "    interval: 1s\n"
            "    timeout: 5s\n";
    dir_.Write("boardsync.yaml", text);
  }
  void WriteConfig() { WriteConfig(ConfigShape{tracker_.base_url()}); }

  // `boardsync <args> --config ... --log-level debug --log-format <format>`.
  BinaryRun Run(std::vector<std::string> args) {
    args.insert(args.end(), {"--config", ConfigPath().string(), "--log-level", "debug",
                             "--log-format", format_});
    const auto log = dir_.path() / "logs" / (std::to_string(runs_.size()) + ".log");
    BinaryRun run = hostile::RunBinary(Binary(), std::move(args), Env(), log);
    EXPECT_TRUE(run.code.has_value()) << Describe(run);  // no crash, no hang
    runs_.push_back(run);
    return run;
  }

  // An error that quotes a token shows its owner part where it shows it.
  static void ExpectShowsTrackerTokenRedacted(const BinaryRun& run) {
    EXPECT_NE(run.output.find("Bearer " + std::string(kTrackerShown)), std::string::npos)
        << "the echoed token should show as " << kTrackerShown << "\n"
        << Describe(run);
  }

  // Searches everything: what each run printed, `extra` (notifications,
  // metrics, command lines), and every file under the test's directory but
  // the token files themselves. 0 hits expected.
  void ExpectNoCanaryAnywhere(std::vector<Evidence> extra = {}) {
    std::vector<Evidence> evidence = std::move(extra);
    for (std::size_t i = 0; i < runs_.size(); ++i) {
      evidence.push_back({"the output of " + Describe(runs_[i]).substr(0, 200), runs_[i].output});
    }
    std::vector<Evidence> files = hostile::FilesUnder(dir_.path(), secret_files_);
    // A control: the same search finds the tokens in their own files.
    if (!secret_files_.empty()) {
      EXPECT_FALSE(hostile::FindNeedles(hostile::FilesUnder(dir_.path(), {}), Needles()).empty())
          << "the search does not even find the token files";
    }
    std::string names;
    for (const Evidence& e : files) {
      names += e.where.substr(dir_.path().string().size()) + " ";
    }
    RecordProperty("files", names);
    std::size_t databases = 0;
    for (const Evidence& e : files) {
      databases += e.where.ends_with("(rows)") ? 1 : 0;
    }
    RecordProperty("files_scanned", static_cast<int>(files.size()));
    RecordProperty("databases_scanned", static_cast<int>(databases));
    evidence.insert(evidence.end(), files.begin(), files.end());
    std::vector<std::string> hits = hostile::FindNeedles(evidence, Needles());
    EXPECT_TRUE(hits.empty()) << hits.size() << " token leak(s):\n"
                              << testing::PrintToString(hits);
  }

  TokenKind kind_ = TokenKind::kFile;
  std::string format_ = "text";
  SampleTracker tracker_;
  BoardServer board_{BoardServerOptions{.token = std::string(kBoardCanary)}};
  TempDir dir_;
  std::set<std::filesystem::path> secret_files_;
  std::vector<BinaryRun> runs_;
};

// ---- Every command and error path, per token source and log format ----

struct CanaryCase {
  TokenKind kind;
  const char* format;
  bool slow_paths;  // also the paths that wait out retries (stores down)
  const char* name;
};

void PrintTo(const CanaryCase& c, std::ostream* os) { *os << c.name; }

class CanaryTokenTest : public CanaryFixture, public testing::WithParamInterface<CanaryCase> {
 protected:
  void SetUp() override {
    format_ = GetParam().format;
    ASSERT_NO_FATAL_FAILURE(SetUpTokens(GetParam().kind));
    WriteConfig();
  }
};

TEST_P(CanaryTokenTest, EveryCommandAndErrorPathKeepsTheTokensSecret) {
  const std::string guest =
      R"({"id":"1-0","login":"guest","fullName":"Guest","guest":true,"banned":false,"$type":"Me"})";

  // check and test-connection, working and failing every way it reports.
  BinaryRun check = Run({"check"});
  EXPECT_EQ(check.code, 0) << Describe(check);
  BinaryRun ok = Run({"test-connection"});
  EXPECT_EQ(ok.code, 0) << Describe(ok);
  EXPECT_NE(ok.output.find("canary: ok, the token belongs to"), std::string::npos) << Describe(ok);

  tracker_.RevokeToken(kTrackerCanary);
  BinaryRun revoked = Run({"test-connection", "canary"});
  EXPECT_EQ(revoked.code, 1) << Describe(revoked);
  EXPECT_NE(revoked.output.find("token invalid or revoked"), std::string::npos) << Describe(revoked);
  tracker_.SetToken(std::string(kTrackerCanary));

  tracker_.InjectFault(SampleTracker::Fault::Status(403, TrackerEcho(kTrackerCanary))
                           .On("/api/users/me"));
  BinaryRun forbidden = Run({"test-connection"});
  EXPECT_EQ(forbidden.code, 1) << Describe(forbidden);
  EXPECT_NE(forbidden.output.find("lacks YouTrack scope"), std::string::npos) << Describe(forbidden);
  ExpectShowsTrackerTokenRedacted(forbidden);

  tracker_.InjectFault(SampleTracker::Fault::Status(200, guest).On("/api/users/me"));
  BinaryRun as_guest = Run({"test-connection"});
  EXPECT_EQ(as_guest.code, 1) << Describe(as_guest);
  EXPECT_NE(as_guest.output.find("guest"), std::string::npos) << Describe(as_guest);

  tracker_.InjectFault(SampleTracker::Fault::HtmlLoginPage().On("/api/users/me"));
  BinaryRun html = Run({"test-connection"});
  EXPECT_EQ(html.code, 1) << Describe(html);
  EXPECT_NE(html.output.find("HTML"), std::string::npos) << Describe(html);

  // preview, both formats.
  BinaryRun table = Run({"preview", "--connection", "canary", "--limit", "3"});
  EXPECT_EQ(table.code, 0) << Describe(table);
  BinaryRun json = Run({"preview", "--connection", "canary", "--format", "json"});
  EXPECT_EQ(json.code, 0) << Describe(json);

  // sync: dry run, for real, full.
  BinaryRun dry = Run({"sync", "--dry-run"});
  EXPECT_EQ(dry.code, 0) << Describe(dry);
  BinaryRun first = Run({"sync"});
  EXPECT_EQ(first.code, 0) << Describe(first);
  EXPECT_EQ(board_.items().size(), 13u) << Describe(first);
  BinaryRun full = Run({"sync", "--full"});
  EXPECT_EQ(full.code, 0) << Describe(full);

  // The tracker echoes the Authorization header in its error, 400 and 500
  // (the 500 after every retry).
  tracker_.InjectFault(
      SampleTracker::Fault::Status(400, TrackerEcho(kTrackerCanary)).On("/api/issues"));
  BinaryRun echo400 = Run({"sync"});
  EXPECT_EQ(echo400.code, 1) << Describe(echo400);
  EXPECT_NE(echo400.output.find("canary: sync failed"), std::string::npos) << Describe(echo400);
  ExpectShowsTrackerTokenRedacted(echo400);
  tracker_.InjectFault(SampleTracker::Fault::Status(500, TrackerEcho(kTrackerCanary))
                           .On("/api/issues")
                           .Times(4));
  BinaryRun echo500 = Run({"sync"});
  EXPECT_EQ(echo500.code, 1) << Describe(echo500);
  ExpectShowsTrackerTokenRedacted(echo500);
  tracker_.ClearFaults();

  // The board store echoes its token: a rejected batch (set aside, shown by
  // status) and a refused token (kept pending).
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "Changed for a rejected batch"));
  board_.InjectFault(BoardServer::Fault::Status(400, BoardEcho("invalid_batch", kBoardCanary)));
  BinaryRun rejected = Run({"sync"});
  EXPECT_EQ(rejected.code, 1) << Describe(rejected);
  EXPECT_NE(rejected.output.find("refused"), std::string::npos) << Describe(rejected);
  EXPECT_NE(rejected.output.find("Bearer … refused"), std::string::npos)
      << "the echoed board token should show as …\n"
      << Describe(rejected);
  BinaryRun status_table = Run({"status"});
  EXPECT_EQ(status_table.code, 0) << Describe(status_table);
  BinaryRun status_json = Run({"status", "--format", "json"});
  EXPECT_EQ(status_json.code, 0) << Describe(status_json);
  EXPECT_NE(status_json.output.find("board_error"), std::string::npos) << Describe(status_json);
  EXPECT_NE(status_json.output.find("Bearer … refused"), std::string::npos)
      << Describe(status_json);

  ASSERT_TRUE(tracker_.SetSummary("RAP-2", "Changed for a refused board token"));
  board_.InjectFault(
      BoardServer::Fault::Status(401, BoardEcho("unauthorized", kBoardCanary)).Times(5));
  BinaryRun unauthorized = Run({"sync"});
  EXPECT_EQ(unauthorized.code, 1) << Describe(unauthorized);
  EXPECT_NE(unauthorized.output.find("refused the board token"), std::string::npos)
      << Describe(unauthorized);
  board_.ClearFaults();

  BinaryRun retry = Run({"sync", "--retry-failed"});
  EXPECT_EQ(retry.code, 0) << Describe(retry);
  EXPECT_EQ(board_.Get("roadmap", "canary:2-18")->item.fields.at("title"),
            Value("Changed for a rejected batch"))
      << Describe(retry);

  if (GetParam().slow_paths) {
    // The board store down: writes wait in the outbox.
    ASSERT_TRUE(tracker_.SetSummary("RAP-3", "Changed while the board store is down"));
    board_.Stop();
    BinaryRun store_down = Run({"sync"});
    EXPECT_EQ(store_down.code, 1) << Describe(store_down);
    board_.Start();
    BinaryRun after = Run({"status", "--format", "json"});
    EXPECT_EQ(after.code, 0) << Describe(after);

    // The tracker down: nothing listens on its port.
    WriteConfig(ConfigShape{"http://127.0.0.1:" + std::to_string(FreeLoopbackPort())});
    BinaryRun down = Run({"sync"});
    EXPECT_EQ(down.code, 1) << Describe(down);
    EXPECT_NE(down.output.find("canary"), std::string::npos) << Describe(down);
    BinaryRun refused = Run({"test-connection"});
    EXPECT_EQ(refused.code, 1) << Describe(refused);
    EXPECT_NE(refused.output.find("canary: FAILED"), std::string::npos) << Describe(refused);
  }

  // The embedded SQLite board, so that board.db is searched too.
  WriteConfig(ConfigShape{tracker_.base_url(), "sqlite", "state-sqlite"});
  BinaryRun sqlite = Run({"sync"});
  EXPECT_EQ(sqlite.code, 0) << Describe(sqlite);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "state-sqlite/board.db"));
  BinaryRun sqlite_status = Run({"status"});
  EXPECT_EQ(sqlite_status.code, 0) << Describe(sqlite_status);

  // The daemon: notifications, /metrics, its command line, a failing cycle
  // quoting the token, and a board store rejection quoting its own.
  const std::uint16_t metrics_port = FreeLoopbackPort();
  WriteConfig(ConfigShape{tracker_.base_url(), "http", "state",
                          "metrics_listen: 127.0.0.1:" + std::to_string(metrics_port) + "\n"});
  hostile::NotifySocket notify((dir_.path() / "notify.sock").string());
  ASSERT_TRUE(notify.bound()) << notify.error();
  std::vector<std::string> env = Env();
  env.push_back("NOTIFY_SOCKET=" + notify.path());
  DaemonProcess daemon({Binary().string(), "run", "--config", ConfigPath().string(),
                        "--log-level", "debug", "--log-format", format_},
                       env, dir_.path() / "logs" / "daemon.log");
  ASSERT_TRUE(daemon.started()) << daemon.error();
  auto eventually = [&](auto condition) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!condition() && daemon.Running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    return condition();
  };
  EXPECT_TRUE(eventually([&] { return daemon.Log().find("Sync finished.") != std::string::npos; }))
      << daemon.DescribeStatus() << daemon.Tail();
  const std::string cmdline =
      hostile::ReadBytes("/proc/" + std::to_string(daemon.pid()) + "/cmdline");
  EXPECT_NE(cmdline.find("run"), std::string::npos) << "cannot read the daemon's command line";

  tracker_.InjectFault(
      SampleTracker::Fault::Status(400, TrackerEcho(kTrackerCanary)).On("/api/issues"));
  EXPECT_TRUE(eventually([&] { return daemon.Log().find("Sync failed") != std::string::npos; }))
      << daemon.Tail();
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "Changed while the daemon runs"));
  board_.InjectFault(BoardServer::Fault::Status(400, BoardEcho("invalid_batch", kBoardCanary)));
  EXPECT_TRUE(eventually([&] {
    return daemon.Log().find("The board store refused items") != std::string::npos;
  })) << daemon.Tail();

  const std::string base = "http://127.0.0.1:" + std::to_string(metrics_port);
  HttpTestResponse metrics = HttpGet(base + "/metrics");
  EXPECT_EQ(metrics.status, 200) << metrics.error;
  HttpTestResponse health = HttpGet(base + "/healthz");
  EXPECT_EQ(health.status, 200) << health.error;

  ASSERT_TRUE(daemon.Signal(SIGTERM));
  EXPECT_EQ(daemon.WaitForExit(10s), 0) << daemon.DescribeStatus() << daemon.Tail();
  const std::string notifications = notify.All();
  EXPECT_NE(notifications.find("STATUS="), std::string::npos) << notifications;

  ExpectNoCanaryAnywhere({{"the STATUS= notifications", notifications},
                          {"/metrics", metrics.body},
                          {"/healthz", health.body},
                          {"the daemon's /proc/<pid>/cmdline", cmdline},
                          {"the daemon's output", daemon.Log()}});
  EXPECT_GE(runs_.size(), 20u);
}

INSTANTIATE_TEST_SUITE_P(
    CanaryTokenSources, CanaryTokenTest,
    testing::Values(CanaryCase{TokenKind::kFile, "text", true, "TokenFileTextLogs"},
                    CanaryCase{TokenKind::kEnv, "json", true, "TokenEnvJsonLogs"},
                    CanaryCase{TokenKind::kCredential, "json", false, "CredentialJsonLogs"},
                    CanaryCase{TokenKind::kCredential, "text", false, "CredentialTextLogs"}),
    [](const testing::TestParamInfo<CanaryCase>& info) { return std::string(info.param.name); });

// ---- The tracker quoting the token as data, not in an error ----

// What a command prints as data (a user's name, an issue's fields) comes from
// the tracker too, and a tracker may hold the token there: pasted into a
// summary, or echoed into a user's profile by a hostile server.
class CanaryTrackerTextTest : public CanaryFixture, public testing::WithParamInterface<TokenKind> {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpTokens(GetParam()));
    WriteConfig();
  }

  static std::string Me(std::string_view login, std::string_view full_name) {
    return R"({"id":"1-1","login":")" + std::string(login) + R"(","fullName":")" +
           std::string(full_name) + R"(","guest":false,"banned":false,"$type":"Me"})";
  }
};

TEST_P(CanaryTrackerTextTest, TheTokenInAUserOrAnIssueIsRedactedFromTestConnectionPreviewAndDryRun) {
  // /users/me naming the user after the token, then logging in as it.
  tracker_.InjectFault(SampleTracker::Fault::Status(
                           200, Me("canary", "Canary Bearer " + std::string(kTrackerCanary)))
                           .On("/api/users/me"));
  BinaryRun named = Run({"test-connection"});
  EXPECT_EQ(named.code, 0) << Describe(named);
  EXPECT_NE(named.output.find("canary: ok, the token belongs to Canary Bearer " +
                              std::string(kTrackerShown) + " (canary)"),
            std::string::npos)
      << Describe(named);
  tracker_.InjectFault(
      SampleTracker::Fault::Status(200, Me(kTrackerCanary, "")).On("/api/users/me"));
  BinaryRun login = Run({"test-connection"});
  EXPECT_EQ(login.code, 0) << Describe(login);
  EXPECT_NE(login.output.find("canary: ok, the token belongs to"), std::string::npos)
      << Describe(login);
  tracker_.ClearFaults();

  // An issue whose summary holds the token, early enough that a table cell
  // cut at 40 characters would keep most of the secret part were it cut
  // before being redacted; another holding the secret part alone.
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "Leak: " + std::string(kTrackerCanary) + " pasted"));
  ASSERT_TRUE(tracker_.SetSummary("RAP-2", "Secret " + std::string(kTrackerSecret)));
  // Changed last, the two issues come last: --limit 20 shows all 15.
  BinaryRun table = Run({"preview", "--connection", "canary", "--limit", "20"});
  EXPECT_EQ(table.code, 0) << Describe(table);
  EXPECT_NE(table.output.find("RAP-3"), std::string::npos) << Describe(table);
  EXPECT_NE(table.output.find("Leak: " + std::string(kTrackerShown)), std::string::npos)
      << Describe(table);
  BinaryRun json =
      Run({"preview", "--connection", "canary", "--format", "json", "--limit", "20"});
  EXPECT_EQ(json.code, 0) << Describe(json);
  EXPECT_NE(json.output.find("Leak: " + std::string(kTrackerShown) + " pasted"),
            std::string::npos)
      << Describe(json);
  BinaryRun dry = Run({"sync", "--dry-run"});
  EXPECT_EQ(dry.code, 0) << Describe(dry);
  EXPECT_NE(dry.output.find("would write canary:2-18 (RAP-3)"), std::string::npos)
      << Describe(dry);
  EXPECT_NE(dry.output.find("Leak: " + std::string(kTrackerShown) + " pasted"), std::string::npos)
      << Describe(dry);
  EXPECT_EQ(board_.request_count(), 0u) << "a dry run writes nothing";
  ExpectNoCanaryAnywhere();
}

INSTANTIATE_TEST_SUITE_P(TokenSources, CanaryTrackerTextTest,
                         testing::Values(TokenKind::kFile, TokenKind::kEnv),
                         [](const testing::TestParamInfo<TokenKind>& info) {
                           return std::string(info.param == TokenKind::kFile ? "TokenFile"
                                                                             : "TokenEnv");
                         });

// ---- A token_env value that is not a token ----

// A CR LF inside the variable would end the Authorization header and start
// another; the token is refused before any request, naming the variable and
// never quoting it, and check reports it at its place in the config.
TEST_F(CanaryFixture, ATokenEnvWithAControlCharacterIsRefusedBeforeAnyRequest) {
  ASSERT_NO_FATAL_FAILURE(SetUpTokens(TokenKind::kEnv));
  WriteConfig();
  const std::string injected = std::string(kTrackerCanary) + "\r\nX-Injected: 1";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {injected, "holds a control character (CR)"},
      {std::string(kTrackerCanary) + "\n\n", "holds more than one line"},
      {std::string(kTrackerCanary) + "\x1b[2J", "holds a control character (ESC)"},
  };
  for (const auto& [value, why] : bad) {
    SCOPED_TRACE(why);
    const std::vector<std::string> env = {"BOARDSYNC_CANARY_TRACKER=" + value,
                                          "BOARDSYNC_CANARY_BOARD=" + std::string(kBoardCanary)};
    auto run = [&](std::vector<std::string> args) {
      args.insert(args.end(), {"--config", ConfigPath().string(), "--log-level", "debug"});
      BinaryRun r = hostile::RunBinary(
          Binary(), std::move(args), env,
          dir_.path() / "logs" / (std::to_string(runs_.size()) + ".log"));
      EXPECT_TRUE(r.code.has_value()) << Describe(r);
      runs_.push_back(r);
      return r;
    };
    const std::string message =
        "connection canary: environment variable BOARDSYNC_CANARY_TRACKER (token_env) " + why;
    // check: exit 2, at the tracker's token_env value (line 10, column 16).
    BinaryRun check = run({"check"});
    EXPECT_EQ(check.code, 2) << Describe(check);
    EXPECT_NE(check.output.find(ConfigPath().string() + ":10:16: " + message), std::string::npos)
        << Describe(check);
    // Every command that reads the token refuses it the same way.
    BinaryRun connection = run({"test-connection"});
    EXPECT_EQ(connection.code, 1) << Describe(connection);
    EXPECT_NE(connection.output.find("canary: FAILED: " + message), std::string::npos)
        << Describe(connection);
    BinaryRun sync = run({"sync"});
    EXPECT_EQ(sync.code, 1) << Describe(sync);
    EXPECT_NE(sync.output.find(message), std::string::npos) << Describe(sync);
    BinaryRun preview = run({"preview", "--connection", "canary"});
    EXPECT_EQ(preview.code, 1) << Describe(preview);
    EXPECT_NE(preview.output.find(message), std::string::npos) << Describe(preview);
    for (const BinaryRun& r : {check, connection, sync, preview}) {
      EXPECT_EQ(r.output.find("X-Injected"), std::string::npos) << Describe(r);
    }
  }
  EXPECT_EQ(tracker_.total_requests(), 0u) << "a refused token must not be sent";
  ExpectNoCanaryAnywhere();
}

// ---- Echoes the redaction list cannot match whole ----

class CanaryEchoTest : public CanaryFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpTokens(TokenKind::kFile));
    WriteConfig(ConfigShape{tracker_.base_url(), "sqlite"});
  }
};

// YouTrack's error_description is cut to 300 bytes for one-line messages.
// An echo cut inside the token must not show the start of the secret.
TEST_F(CanaryEchoTest, AnEchoCutAtTheMessageLimitShowsNoPartOfTheSecret) {
  // The cut falls 12 bytes into the secret part.
  const std::size_t secret_at = kTrackerCanary.find(kTrackerSecret);
  const std::string padding(300 - std::string_view("Bearer ").size() - secret_at - 12, 'x');
  const std::string description = padding + "Bearer " + std::string(kTrackerCanary);
  const std::string body =
      R"({"error":"invalid_request","error_description":")" + description + R"("})";

  tracker_.InjectFault(SampleTracker::Fault::Status(403, body).On("/api/users/me"));
  BinaryRun connection = Run({"test-connection"});
  EXPECT_EQ(connection.code, 1) << Describe(connection);
  tracker_.InjectFault(SampleTracker::Fault::Status(400, body).On("/api/issues"));
  BinaryRun sync = Run({"sync"});
  EXPECT_EQ(sync.code, 1) << Describe(sync);
  ExpectNoCanaryAnywhere();
}

// A proxy that percent-encodes the header it quotes: the secret part is
// there byte for byte, though the whole token is not.
TEST_F(CanaryEchoTest, AnEchoInAnotherEncodingShowsNoSecret) {
  std::string encoded = PercentEncode(kTrackerCanary);
  ASSERT_NE(encoded, kTrackerCanary);
  tracker_.InjectFault(
      SampleTracker::Fault::Status(400, TrackerEcho(encoded)).On("/api/issues"));
  BinaryRun sync = Run({"sync"});
  EXPECT_EQ(sync.code, 1) << Describe(sync);
  ExpectNoCanaryAnywhere();
}

// ---- Token file modes ----

class CanaryTokenFileModeTest : public CanaryFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpTokens(TokenKind::kFile));
    WriteConfig(ConfigShape{tracker_.base_url(), "sqlite"});
  }
};

TEST_F(CanaryTokenFileModeTest, GroupOrWorldReadableTokenFilesAreRefusedWithTheChmodHint) {
  const std::filesystem::path token = dir_.path() / "tracker.token";
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    SCOPED_TRACE(octal);
    ASSERT_EQ(::chmod(token.c_str(), mode), 0);
    const std::string hint = "connection canary: token file " + token.string() +
                             " is readable by group or others (mode " + octal +
                             "); restrict it with: chmod 600 " + token.string();
    BinaryRun sync = Run({"sync"});
    EXPECT_EQ(sync.code, 1) << Describe(sync);
    EXPECT_NE(sync.output.find(hint), std::string::npos) << "expected: " << hint << "\n"
                                                         << Describe(sync);
    BinaryRun connection = Run({"test-connection"});
    EXPECT_EQ(connection.code, 1) << Describe(connection);
    EXPECT_NE(connection.output.find("canary: FAILED: " + hint), std::string::npos)
        << Describe(connection);
  }
  EXPECT_EQ(tracker_.total_requests(), 0u) << "a refused token must not be sent";

  // The board token file is held to the same rule; the tracker still syncs.
  ASSERT_EQ(::chmod(token.c_str(), 0600), 0);
  WriteConfig(ConfigShape{tracker_.base_url(), "http"});
  const std::filesystem::path board_token = dir_.path() / "board.token";
  ASSERT_EQ(::chmod(board_token.c_str(), 0640), 0);
  BinaryRun board = Run({"sync"});
  EXPECT_EQ(board.code, 1) << Describe(board);
  EXPECT_NE(board.output.find("the http board: token file " + board_token.string() +
                              " is readable by group or others (mode 0640); restrict it "
                              "with: chmod 600 " +
                              board_token.string()),
            std::string::npos)
      << Describe(board);
  EXPECT_EQ(board_.request_count(), 0u);
  ExpectNoCanaryAnywhere();
}

TEST_F(CanaryTokenFileModeTest, PrivateTokenFilesAndTheCredentialsDirectoryAreAccepted) {
  for (mode_t mode : {0600, 0400}) {
    ASSERT_EQ(::chmod((dir_.path() / "tracker.token").c_str(), mode), 0);
    BinaryRun sync = Run({"sync"});
    EXPECT_EQ(sync.code, 0) << mode << " " << Describe(sync);
  }
  // systemd's LoadCredential= directory: the service's own, whatever the
  // file's mode bits say.
  WriteTokens(TokenKind::kCredential);
  WriteConfig(ConfigShape{tracker_.base_url(), "http", "state-credential"});
  BinaryRun credential = Run({"sync"});
  EXPECT_EQ(credential.code, 0) << Describe(credential);
  EXPECT_EQ(board_.items().size(), 13u);
  BinaryRun connection = Run({"test-connection"});
  EXPECT_EQ(connection.code, 0) << Describe(connection);

  // Without $CREDENTIALS_DIRECTORY the message says what is missing.
  BinaryRun missing = hostile::RunBinary(Binary(), {"sync", "--config", ConfigPath().string()},
                                         {}, dir_.path() / "logs" / "missing.log");
  runs_.push_back(missing);
  EXPECT_EQ(missing.code, 1) << Describe(missing);
  EXPECT_NE(missing.output.find("needs $CREDENTIALS_DIRECTORY"), std::string::npos)
      << Describe(missing);
  ExpectNoCanaryAnywhere();
}

// ---- Redirects never take a token to another origin ----

// A tracker front: /api/users/me and /api/issues answer with a redirect
// chosen by the test; everything else is forwarded to the sample tracker.
// Records every request it sees.
class RedirectingFront {
 public:
  using Redirect = std::function<std::optional<std::string>(const HttpServerRequest&)>;

  RedirectingFront(std::string tracker_base, Redirect redirect)
      : tracker_base_(std::move(tracker_base)),
        redirect_(std::move(redirect)),
        server_(std::make_unique<HttpServer>(
            [this](const HttpServerRequest& r) { return Handle(r); })) {}

  std::uint16_t port() const { return server_->port(); }
  std::string base_url() const { return server_->base_url(); }
  std::vector<hostile::SeenRequest> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  HttpServerResponse Handle(const HttpServerRequest& request) {
    {
      std::lock_guard lock(mu_);
      seen_.push_back({std::string(request.Header("host").value_or("")), request.target,
                       std::string(request.Header("authorization").value_or(""))});
    }
    if (auto location = redirect_(request)) {
      HttpServerResponse response = HttpServerResponse::Text(302, "moved\n");
      response.headers.emplace_back("Location", *location);
      return response;
    }
    return hostile::Forward(request, tracker_base_, request.target);
  }

  std::string tracker_base_;
  Redirect redirect_;
  mutable std::mutex mu_;
  std::vector<hostile::SeenRequest> seen_;
  std::unique_ptr<HttpServer> server_;
};

bool IsRedirectedApi(std::string_view path) {
  return path.ends_with("/api/users/me") || path.ends_with("/api/issues");
}

class CanaryRedirectTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    tracker_.SetToken(std::string(kTrackerCanary));
    auto token = dir_.Write("tracker.token", std::string(kTrackerCanary) + "\n");
    ::chmod(token.c_str(), 0600);
  }

  void WriteConfig(const std::string& base_url, const std::string& board_keys = "") {
    dir_.Write("boardsync.yaml",
               "state_dir: state\n" + board_keys +
                   "connections:\n"
                   "  - name: redir\n"
                   "    type: youtrack\n"
                   "    base_url: " + base_url + "\n"
                   "    token_file: tracker.token\n"
                   "    mapping: " + (SourceDir() / "mappings/examples/youtrack.yaml").string() + "\n"
                   "    board: roadmap\n"
                   "    page_size: 4\n");
  }

  struct Outcome {
    int code;
    std::string out, err;
  };
  Outcome Run(int (*command)(const CommandOptions&, std::ostream&, std::ostream&)) {
    CommandOptions options;
    options.config_file = dir_.path() / "boardsync.yaml";
    std::ostringstream out, err;
    int code = command(options, out, err);
    return Outcome{code, out.str(), err.str()};
  }

  // A redirect to another origin fails the connection clearly and sends the
  // foreign origin nothing with a token.
  void ExpectRefusedRedirect(const std::function<std::size_t()>& leaked) {
    Outcome sync = Run(&RunSync);
    EXPECT_EQ(sync.code, kExitRunFailed) << sync.out << sync.err;
    EXPECT_NE(sync.err.find("redir: sync failed: connection redir: "), std::string::npos)
        << sync.err;
    EXPECT_NE(sync.err.find("another origin"), std::string::npos) << sync.err;
    Outcome connection = Run(&RunTestConnection);
    EXPECT_EQ(connection.code, kExitRunFailed) << connection.out << connection.err;
    EXPECT_NE(connection.out.find("redir: FAILED: connection redir: "), std::string::npos)
        << connection.out;
    EXPECT_EQ(leaked(), 0u) << "the token went to another origin";
    EXPECT_EQ((sync.out + sync.err + connection.out + connection.err).find(kTrackerSecret),
              std::string::npos);
  }

  SampleTracker tracker_;
  TempDir dir_;
};

TEST_F(CanaryRedirectTest, ToAnotherPortIsRefusedWithoutTheToken) {
  hostile::RecordingServer foreign;
  RedirectingFront front(tracker_.base_url(), [&](const HttpServerRequest& r) {
    return IsRedirectedApi(r.path) ? std::optional(foreign.base_url() + r.target) : std::nullopt;
  });
  WriteConfig(front.base_url());
  ExpectRefusedRedirect([&] { return foreign.with_authorization(); });
  RecordProperty("foreign_requests", static_cast<int>(foreign.seen().size()));
}

TEST_F(CanaryRedirectTest, ToAnotherHostNameOfTheSamePortIsRefusedWithoutTheToken) {
  // localhost and 127.0.0.1 reach the same server, but are different origins.
  std::uint16_t port = 0;
  RedirectingFront front(tracker_.base_url(), [&](const HttpServerRequest& r) {
    const bool by_name = r.Header("host").value_or("").starts_with("localhost");
    return IsRedirectedApi(r.path) && !by_name
               ? std::optional("http://localhost:" + std::to_string(port) + r.target)
               : std::nullopt;
  });
  port = front.port();
  WriteConfig(front.base_url());
  ExpectRefusedRedirect([&] {
    std::size_t n = 0;
    for (const hostile::SeenRequest& r : front.seen()) {
      n += r.host.starts_with("localhost") && !r.authorization.empty() ? 1 : 0;
    }
    return n;
  });
}

TEST_F(CanaryRedirectTest, FromHttpToHttpsIsAnotherOriginAndIsRefused) {
  // The other direction (https -> http) needs TLS to serve; see
  // HttpsToHttpIsAnotherOriginAndPlainHttpGetsNoTokenOffLoopback.
  hostile::RecordingServer foreign;
  RedirectingFront front(tracker_.base_url(), [&](const HttpServerRequest& r) {
    return IsRedirectedApi(r.path)
               ? std::optional("https://127.0.0.1:" + std::to_string(foreign.port()) + r.target)
               : std::nullopt;
  });
  WriteConfig(front.base_url());
  ExpectRefusedRedirect([&] { return foreign.with_authorization(); });
}

TEST_F(CanaryRedirectTest, SameOriginRedirectsAreFollowedWithTheTokenUpToFiveHops) {
  // /yt/api/... -> /hop/<n-1>/api/... -> ... -> /hop/0/api/..., which is
  // forwarded to a tracker serving under /hop/0: n redirects, all on the
  // same origin.
  std::atomic<int> hops{5};
  SampleTrackerOptions on_path;
  on_path.path_prefix = "/hop/0";
  on_path.token = std::string(kTrackerCanary);
  SampleTracker behind(on_path);
  ASSERT_TRUE(behind.LoadIssues(SampleIssuesPath()));
  RedirectingFront chain(behind.base_url(), [&](const HttpServerRequest& r) {
    std::string_view target = r.target;
    if (target.starts_with("/yt/")) {
      return std::optional("/hop/" + std::to_string(hops.load() - 1) +
                           std::string(target.substr(3)));
    }
    if (target.starts_with("/hop/") && !target.starts_with("/hop/0/")) {
      const std::size_t slash = target.find('/', 5);
      const int n = std::stoi(std::string(target.substr(5, slash - 5)));
      return std::optional("/hop/" + std::to_string(n - 1) + std::string(target.substr(slash)));
    }
    return std::optional<std::string>();
  });
  WriteConfig(chain.base_url() + "/yt");

  Outcome sync = Run(&RunSync);
  ASSERT_EQ(sync.code, kExitOk) << sync.out << sync.err;
  EXPECT_NE(sync.out.find("redir: pulled 15, created 13"), std::string::npos) << sync.out;
  std::size_t hop_requests = 0;
  for (const hostile::SeenRequest& r : chain.seen()) {
    EXPECT_EQ(r.authorization, "Bearer " + std::string(kTrackerCanary)) << r.target;
    hop_requests += r.target.starts_with("/hop/") ? 1 : 0;
  }
  EXPECT_GE(hop_requests, 10u);  // /users/me and at least one /issues page, 5 hops each

  hops = 6;
  Outcome six = Run(&RunSync);
  EXPECT_EQ(six.code, kExitRunFailed) << six.out << six.err;
  EXPECT_NE(six.err.find("redir: sync failed: connection redir: "), std::string::npos) << six.err;
  EXPECT_NE(six.err.find("more than 5 redirects"), std::string::npos) << six.err;
}

TEST_F(CanaryRedirectTest, ABoardStoreRedirectToAnotherOriginGetsNoBoardToken) {
  BoardServer store(BoardServerOptions{.token = std::string(kBoardCanary)});
  hostile::RecordingServer front([&](const HttpServerRequest& r) {
    HttpServerResponse response = HttpServerResponse::Text(307, "moved\n");
    response.headers.emplace_back("Location",
                                  "http://127.0.0.1:" + std::to_string(store.port()) + r.target);
    return response;
  });
  auto board_token = dir_.Write("board.token", std::string(kBoardCanary) + "\n");
  ::chmod(board_token.c_str(), 0600);
  WriteConfig(tracker_.base_url(), "board:\n  type: http\n  url: " + front.base_url() +
                                       "/api\n  token_file: board.token\n");
  Outcome sync = Run(&RunSync);
  EXPECT_EQ(sync.code, kExitRunFailed) << sync.out << sync.err;
  EXPECT_NE(sync.err.find("another origin"), std::string::npos) << sync.err;
  EXPECT_EQ(store.request_count(), 0u) << "the board token went to another origin";
  EXPECT_GE(front.with_authorization(), 1u);  // the configured origin did get it
  EXPECT_EQ((sync.out + sync.err).find(kBoardSecret), std::string::npos) << sync.err;
}

// https -> http cannot be served on loopback without TLS; the decision it
// rests on is checked directly.
TEST(CanaryRedirectDecisionTest, HttpsToHttpIsAnotherOriginAndPlainHttpGetsNoTokenOffLoopback) {
  auto https = ParseUrl("https://acme.youtrack.cloud/api/issues");
  ASSERT_TRUE(https);
  auto same = ResolveUrl(*https, "/youtrack/api/issues?x=1");
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->SameOrigin(*https));
  auto explicit_port = ResolveUrl(*https, "https://acme.youtrack.cloud:443/api/issues");
  ASSERT_TRUE(explicit_port);
  EXPECT_TRUE(explicit_port->SameOrigin(*https));
  for (const char* elsewhere : {"http://acme.youtrack.cloud/api/issues",
                                "http://acme.youtrack.cloud:443/api/issues",
                                "https://acme.youtrack.cloud:8443/api/issues",
                                "https://evil.example/api/issues", "//evil.example/api/issues",
                                "https://ACME.youtrack.cloud.evil.example/"}) {
    auto next = ResolveUrl(*https, elsewhere);
    ASSERT_TRUE(next) << elsewhere;
    EXPECT_FALSE(next->SameOrigin(*https)) << elsewhere;
  }

  // A token is never sent over plain http off loopback: refused before any
  // connection (the host below does not even resolve).
  CpprestHttpClient client;
  Secret token{std::string(kTrackerCanary)};
  HttpRequest request;
  request.url = "http://boardsync-canary.invalid/api/users/me";
  request.auth = HttpAuth::Bearer(token);
  request.max_attempts = 1;
  auto response = client.Send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kConfig) << response.error().message;
  EXPECT_NE(response.error().message.find("plain http"), std::string::npos)
      << response.error().message;
  EXPECT_EQ(response.error().message.find(kTrackerSecret), std::string::npos);
}

}  // namespace
}  // namespace boardsync

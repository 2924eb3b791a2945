// Tracker text never drives a terminal or forges a log line (issue 14, item
// 6). The real binary runs against the sample tracker with an issue whose
// summary and a custom field hold ESC sequences, BEL, CR, a forged journald
// line and bidi overrides, and a tracker whose errors and current user quote
// the same; every byte it printed is then checked. Text for people shows
// control characters through ForDisplay() (core/text.h); JSON escapes C0 as
// JSON does (C1 and bidi code points are valid JSON and stay as they are);
// the board stores the exact text.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "connectors/http/json.h"
#include "core/text.h"
#include "core/value.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/hostile_support.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using namespace std::chrono_literals;
using hostile::BinaryRun;
using hostile::Describe;

// Clears the screen, sets the window title, rings, returns the cursor to
// overwrite the line, forges a journald line at emergency priority, and
// reverses and isolates what follows; then a C1 CSI.
const std::string kHostile =
    "Launch \x1b[2J\x1b]0;owned\x07 ring\a cr\rover\n<0>boardsync: fake "
    "\xE2\x80\xAE" "cod.exe\xE2\x80\xAC \xE2\x81\xA6iso\xE2\x81\xA9 \xC2\x9B" "31m end";
// How people see the start of it.
constexpr std::string_view kShownStart = "Launch \\x1b[2J\\x1b]0;owned\\x07 ring\\x07 cr\\rover";
constexpr std::string_view kShownForgery = "\\n<0>boardsync: fake \\u202ecod.exe\\u202c";
// How JSON writes it.
constexpr std::string_view kJsonStart = "Launch \\u001b[2J\\u001b]0;owned\\u0007 ring\\u0007";

// A code point a terminal acts on beyond C0: C1, bidi controls, separators.
bool IsDisplayControl(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

// The first raw C0 control (but LF), DEL or ill-formed byte in `bytes`, and,
// when `code_points` too, the first C1 or bidi control; empty when none.
std::string FirstControl(std::string_view bytes, bool code_points) {
  for (std::size_t i = 0; i < bytes.size();) {
    auto b = static_cast<unsigned char>(bytes[i]);
    if ((b < 0x20 && b != '\n') || b == 0x7F) {
      return "byte " + std::to_string(b) + " at " + std::to_string(i) + ": " +
             ForDisplay(bytes.substr(i > 40 ? i - 40 : 0, 80));
    }
    std::size_t length = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    if (i + length > bytes.size() || !IsValidUtf8(bytes.substr(i, length))) {
      return "ill-formed UTF-8 at " + std::to_string(i);
    }
    char32_t c = length == 1 ? b : b & (0xFF >> (length + 1));
    for (std::size_t k = 1; k < length; ++k) {
      c = (c << 6) | (static_cast<unsigned char>(bytes[i + k]) & 0x3F);
    }
    if (code_points && IsDisplayControl(c)) {
      return "U+" + std::to_string(static_cast<unsigned>(c)) + " at " + std::to_string(i);
    }
    i += length;
  }
  return "";
}

// No line boardsync printed starts with what the tracker wrote.
bool ForgesALine(std::string_view bytes) {
  return bytes.starts_with("<0>") || bytes.find("\n<0>") != std::string_view::npos ||
         bytes.find("\nboardsync: fake") != std::string_view::npos;
}

class TerminalTextTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(Binary())) << "build the boardsync target first";
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    ASSERT_TRUE(tracker_.SetSummary("RAP-1", kHostile));
    ASSERT_TRUE(tracker_.SetFieldValue("RAP-1", "Customer", Value(kHostile)));
    auto token = dir_.Write("tracker.token", std::string(kSampleTrackerToken) + "\n");
    ASSERT_EQ(::chmod(token.c_str(), 0600), 0);
    dir_.Write("boardsync.yaml", "state_dir: state\n"
                                 "connections:\n"
                                 "  - name: sample\n"
                                 "    type: youtrack\n"
                                 "    base_url: " + tracker_.base_url() + "\n"
                                 "    token_file: tracker.token\n"
                                 "    mapping: " + (SourceDir() / "mappings/examples/youtrack.yaml").string() + "\n"
                                 "    board: roadmap\n"
                                 "    page_size: 4\n"
                                 "    interval: 1s\n"
                                 "    timeout: 5s\n");
  }

  static std::filesystem::path Binary() { return BinaryDir() / "boardsync"; }

  // `boardsync <args> --config ... --log-level debug`, stdout and stderr as written.
  BinaryRun Run(std::vector<std::string> args) {
    args.insert(args.end(), {"--config", (dir_.path() / "boardsync.yaml").string(),
                             "--log-level", "debug"});
    return hostile::RunBinary(Binary(), std::move(args), {},
                              dir_.path() / ("run" + std::to_string(++runs_) + ".log"));
  }

  // A tracker error quoting the hostile text, for the next `times` requests.
  void FailWithHostileError(std::string api_path, int status, int times = 1000) {
    std::string body = R"({"error":"invalid_query","error_description":)";
    AppendJsonString(body, kHostile);
    body += "}";
    SampleTracker::Fault fault = SampleTracker::Fault::Status(status, body).On(std::move(api_path));
    fault.times = times;
    tracker_.InjectFault(std::move(fault));
  }

  static void ExpectShownSafely(const BinaryRun& run) {
    EXPECT_EQ(FirstControl(run.output, /*code_points=*/true), "") << Describe(run);
    EXPECT_FALSE(ForgesALine(run.output)) << Describe(run);
  }

  static void ExpectJsonSafely(const BinaryRun& run) {
    EXPECT_EQ(FirstControl(run.output, /*code_points=*/false), "") << Describe(run);
    EXPECT_FALSE(ForgesALine(run.output)) << Describe(run);
  }

  SampleTracker tracker_;
  TempDir dir_;
  int runs_ = 0;
};

TEST_F(TerminalTextTest, PreviewTableShowsTrackerTextEscaped) {
  BinaryRun run = Run({"preview", "--connection", "sample", "--limit", "20"});
  ASSERT_EQ(run.code, 0) << Describe(run);
  ExpectShownSafely(run);
  // Cells are cut at 40 code points; the start is there, escaped.
  EXPECT_NE(run.output.find(std::string(kShownStart).substr(0, 39)), std::string::npos)
      << Describe(run);
}

TEST_F(TerminalTextTest, PreviewJsonEscapesAsJsonDoes) {
  BinaryRun run = Run({"preview", "--connection", "sample", "--limit", "20", "--format", "json"});
  ASSERT_EQ(run.code, 0) << Describe(run);
  ExpectJsonSafely(run);
  EXPECT_NE(run.output.find(kJsonStart), std::string::npos) << Describe(run);
  EXPECT_NE(run.output.find("\\n<0>boardsync: fake"), std::string::npos) << Describe(run);
  // Bidi code points are valid JSON text, for programs: kept as they are.
  EXPECT_NE(run.output.find("\xE2\x80\xAE" "cod.exe"), std::string::npos) << Describe(run);
}

TEST_F(TerminalTextTest, SyncAndDryRunPrintSafelyAndTheBoardKeepsTheExactText) {
  BinaryRun dry = Run({"sync", "--dry-run"});
  ASSERT_EQ(dry.code, 0) << Describe(dry);
  ExpectJsonSafely(dry);  // the fields are JSON
  EXPECT_NE(dry.output.find(kJsonStart), std::string::npos) << Describe(dry);

  BinaryRun sync = Run({"sync"});
  ASSERT_EQ(sync.code, 0) << Describe(sync);
  ExpectShownSafely(sync);

  SQLite::Database db((dir_.path() / "state/board.db").string());
  SQLite::Statement q(db, "SELECT fields FROM items WHERE source_key = 'RAP-1'");
  ASSERT_TRUE(q.executeStep());
  auto fields = ParseJson(q.getColumn(0).getString());
  ASSERT_TRUE(fields);
  EXPECT_EQ(*fields->Find("title"), Value(kHostile));
  EXPECT_EQ(*fields->Find("customer"), Value(kHostile));
  EXPECT_EQ(*fields->Find("headline"), Value("RAP-1: " + kHostile));
}

TEST_F(TerminalTextTest, TrackerErrorsInSyncPreviewAndStatusAreShownEscaped) {
  FailWithHostileError("/api/issues", 400);
  BinaryRun sync = Run({"sync"});
  EXPECT_EQ(sync.code, 1) << Describe(sync);
  ExpectShownSafely(sync);
  EXPECT_NE(sync.output.find(kShownStart), std::string::npos) << Describe(sync);
  EXPECT_NE(sync.output.find(kShownForgery), std::string::npos) << Describe(sync);

  BinaryRun preview = Run({"preview", "--connection", "sample"});
  EXPECT_EQ(preview.code, 1) << Describe(preview);
  ExpectShownSafely(preview);
  EXPECT_NE(preview.output.find(kShownStart), std::string::npos) << Describe(preview);

  BinaryRun status = Run({"status"});
  ASSERT_EQ(status.code, 0) << Describe(status);
  ExpectShownSafely(status);  // the cell is cut before the hostile part; JSON shows it all
  EXPECT_NE(status.output.find("YouTrack rejected"), std::string::npos) << Describe(status);

  BinaryRun json = Run({"status", "--format", "json"});
  ASSERT_EQ(json.code, 0) << Describe(json);
  ExpectJsonSafely(json);
  EXPECT_NE(json.output.find("\\u001b[2J"), std::string::npos) << Describe(json);
}

TEST_F(TerminalTextTest, TestConnectionShowsTheUsersNameEscaped) {
  std::string me = R"({"id":"1-1","login":"sync.bot","guest":false,"banned":false,"fullName":)";
  AppendJsonString(me, kHostile);
  me += R"(,"$type":"Me"})";
  SampleTracker::Fault fault = SampleTracker::Fault::Status(200, me).On("/api/users/me");
  tracker_.InjectFault(fault);
  BinaryRun ok = Run({"test-connection"});
  ASSERT_EQ(ok.code, 0) << Describe(ok);
  ExpectShownSafely(ok);
  EXPECT_NE(ok.output.find(std::string("the token belongs to ") + std::string(kShownStart)),
            std::string::npos)
      << Describe(ok);
  EXPECT_NE(ok.output.find(kShownForgery), std::string::npos) << Describe(ok);

  FailWithHostileError("/api/users/me", 400);
  BinaryRun failed = Run({"test-connection"});
  EXPECT_EQ(failed.code, 1) << Describe(failed);
  ExpectShownSafely(failed);
  EXPECT_NE(failed.output.find(kShownStart), std::string::npos) << Describe(failed);
}

// A daemon writing to the journal: every line starts with the priority
// boardsync gave it, and no log value can start another.
TEST_F(TerminalTextTest, DaemonTextLogLinesComeOnlyFromBoardsync) {
  FailWithHostileError("/api/issues", 400);
  const std::filesystem::path log = dir_.path() / "daemon.log";
  dir_.Write("daemon.log", "");
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  // The log file is the daemon's stderr: it is "the journal" to boardsync.
  const std::string journal_stream =
      "JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  DaemonProcess daemon({Binary().string(), "run", "--config",
                        (dir_.path() / "boardsync.yaml").string(), "--log-level", "debug",
                        "--log-format", "text"},
                       {journal_stream}, log);
  ASSERT_TRUE(daemon.started()) << daemon.error();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (daemon.Log().find("Sync failed") == std::string::npos && daemon.Running() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  const std::string text = daemon.Log();
  ASSERT_NE(text.find("Sync failed"), std::string::npos) << daemon.DescribeStatus() << daemon.Tail();
  EXPECT_EQ(FirstControl(text, /*code_points=*/true), "") << daemon.Tail();
  EXPECT_NE(text.find(kShownForgery), std::string::npos) << daemon.Tail();
  std::size_t lines = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      break;  // a line still being written
    }
    std::string_view line(text.data() + start, end - start);
    ++lines;
    ASSERT_TRUE(line.starts_with("<3>error ") || line.starts_with("<4>warn ") ||
                line.starts_with("<6>info ") || line.starts_with("<7>debug "))
        << "line " << lines << " is not boardsync's: " << line;
    start = end + 1;
  }
  EXPECT_GE(lines, 2u);  // "boardsync is running." and the failed sync at least
}

}  // namespace
}  // namespace boardsync

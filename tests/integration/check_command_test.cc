// `boardsync check` and token files (issue 13), through the real binary:
// every token file the commands could not use is reported at once, with
// exit 2 and the place of its `token_file` in the config; a FIFO is refused
// by its type without waiting for a writer; the messages are the ones the
// commands that use the tokens give at run time; a good config still passes.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/integration/hostile_support.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using namespace std::chrono_literals;
using hostile::BinaryRun;
using hostile::Describe;

// What a token file holds; its secret part must never be printed.
constexpr std::string_view kSecret = "perm:Y2hlY2s=.Y2hlY2s=.CheckSecretVt5Qx8Ln3Wz";
constexpr std::string_view kSecretPart = "CheckSecretVt5Qx8Ln3Wz";

class CheckCommandTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(Binary())) << "build the boardsync target first";
    std::filesystem::create_directories(dir_.path() / "logs");
  }

  static std::filesystem::path Binary() { return BinaryDir() / "boardsync"; }
  std::filesystem::path ConfigPath() const { return dir_.path() / "boardsync.yaml"; }
  std::string Path(const std::string& name) const { return (dir_.path() / name).string(); }

  void WriteToken(const std::string& name, mode_t mode) {
    auto path = dir_.Write(name, std::string(kSecret) + "\n");
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }

  // A config whose http board reads `board_token` and which has one
  // connection per entry of `tokens` ("name" -> its token line), each on
  // five lines; the first connection's token is on line 10.
  void WriteConfig(const std::string& board_token,
                   const std::vector<std::pair<std::string, std::string>>& tokens,
                   const std::string& base_url = "https://tracker.invalid") {
    std::string text = "state_dir: state\n"
                       "board:\n"
                       "  type: http\n"
                       "  url: https://board.invalid\n"
                       "  token_file: " + board_token + "\n"
                       "connections:\n";
    for (const auto& [name, token] : tokens) {
      text += "  - name: " + name + "\n"
              "    type: youtrack\n"
              "    base_url: " + base_url + "\n"
              "    " + token + "\n"
              "    mapping: " + (SourceDir() / "mappings/examples/youtrack.yaml").string() + "\n";
    }
    dir_.Write("boardsync.yaml", text);
  }

  // `boardsync <args> --config ...`, stopped after 20 s: a run that blocks
  // has no exit code.
  BinaryRun Run(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.end(), {"--config", ConfigPath().string()});
    const auto log = dir_.path() / "logs" / (std::to_string(runs_++) + ".log");
    return hostile::RunBinary(Binary(), std::move(args), env, log, 20s);
  }

  TempDir dir_;
  int runs_ = 0;
};

TEST_F(CheckCommandTest, ReportsEveryUnusableTokenFileWithItsPlaceAndDoesNotBlockOnAFifo) {
  std::filesystem::create_directory(dir_.path() / "folder.token");
  ::chmod(Path("folder.token").c_str(), 0700);  // private: only its type is at fault
  ASSERT_NO_FATAL_FAILURE(WriteToken("shared.token", 0644));
  ASSERT_EQ(::mkfifo(Path("board.fifo").c_str(), 0600), 0);
  WriteConfig("board.fifo", {{"missing", "token_file: missing.token"},
                             {"folder", "token_file: folder.token"},
                             {"shared", "token_file: shared.token"}});

  const auto started = std::chrono::steady_clock::now();
  BinaryRun check = Run({"check"});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(check.code.has_value()) << "check did not finish: " << Describe(check);
  EXPECT_EQ(*check.code, 2) << Describe(check);
  EXPECT_LT(took, 10s);

  const std::string config = ConfigPath().string();
  const std::string missing = "connection missing: token file " + Path("missing.token") +
                              " does not exist";
  const std::string folder = "connection folder: token file " + Path("folder.token") +
                             " is a directory, not a regular file";
  const std::string shared = "connection shared: token file " + Path("shared.token") +
                             " is readable by group or others (mode 0644); restrict it with: "
                             "chmod 600 " + Path("shared.token");
  const std::string board = "the http board: token file " + Path("board.fifo") +
                            " is a named pipe (FIFO), not a regular file";
  for (const std::string& line : {config + ":5:15: " + board, config + ":10:17: " + missing,
                                  config + ":15:17: " + folder, config + ":20:17: " + shared}) {
    EXPECT_NE(check.output.find(line + "\n"), std::string::npos)
        << "expected: " << line << "\n" << Describe(check);
  }
  EXPECT_EQ(check.output.find("ok,"), std::string::npos) << Describe(check);
  EXPECT_EQ(check.output.find(kSecretPart), std::string::npos) << Describe(check);

  // test-connection refuses the same files at run time, in the same words.
  BinaryRun connection = Run({"test-connection"});
  ASSERT_TRUE(connection.code.has_value()) << Describe(connection);
  EXPECT_EQ(*connection.code, 1) << Describe(connection);
  for (const auto& [name, message] :
       {std::pair{"missing", missing}, std::pair{"folder", folder}, std::pair{"shared", shared}}) {
    EXPECT_NE(connection.output.find(std::string(name) + ": FAILED: " + message + "\n"),
              std::string::npos)
        << Describe(connection);
  }
  EXPECT_EQ(connection.output.find(kSecretPart), std::string::npos) << Describe(connection);
}

TEST_F(CheckCommandTest, SyncRefusesAFifoBoardTokenInCheckWordsWithoutBlocking) {
  SampleTracker tracker;
  ASSERT_TRUE(tracker.LoadIssues(SampleIssuesPath()));
  auto token = dir_.Write("tracker.token", std::string(kSampleTrackerToken) + "\n");
  ASSERT_EQ(::chmod(token.c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(Path("board.fifo").c_str(), 0600), 0);
  WriteConfig("board.fifo", {{"sample", "token_file: tracker.token"}}, tracker.base_url());

  BinaryRun sync = Run({"sync"});
  ASSERT_TRUE(sync.code.has_value()) << "sync did not finish: " << Describe(sync);
  EXPECT_EQ(*sync.code, 1) << Describe(sync);
  const std::string board = "the http board: token file " + Path("board.fifo") +
                            " is a named pipe (FIFO), not a regular file";
  EXPECT_NE(sync.output.find(board + "\n"), std::string::npos) << Describe(sync);
  // The pull went on: the writes wait in the outbox for the board.
  EXPECT_NE(sync.output.find("sample: pulled 15"), std::string::npos) << Describe(sync);

  BinaryRun check = Run({"check"});
  ASSERT_TRUE(check.code.has_value()) << Describe(check);
  EXPECT_EQ(*check.code, 2) << Describe(check);
  EXPECT_NE(check.output.find(ConfigPath().string() + ":5:15: " + board + "\n"), std::string::npos)
      << Describe(check);
}

TEST_F(CheckCommandTest, PrivateRegularTokenFilesPassAndTheServiceEnvironmentIsOnlyNoted) {
  ASSERT_NO_FATAL_FAILURE(WriteToken("board.token", 0600));
  ASSERT_NO_FATAL_FAILURE(WriteToken("a.token", 0600));
  ASSERT_NO_FATAL_FAILURE(WriteToken("b.token", 0400));
  WriteConfig("board.token", {{"a", "token_file: a.token"},
                              {"b", "token_file: b.token"},
                              {"env", "token_env: BOARDSYNC_CHECK_TEST_UNSET"},
                              {"cred", "token_credential: cred.token"}});

  BinaryRun check = Run({"check"});
  ASSERT_TRUE(check.code.has_value()) << Describe(check);
  EXPECT_EQ(*check.code, 0) << Describe(check);
  EXPECT_NE(check.output.find(ConfigPath().string() + ": ok, 4 connections\n"), std::string::npos)
      << Describe(check);
  // Check runs outside the service: what only the service's environment
  // holds is noted, not failed.
  EXPECT_NE(check.output.find("not checked here: connection env: environment variable "
                              "BOARDSYNC_CHECK_TEST_UNSET (token_env) is not set\n"),
            std::string::npos)
      << Describe(check);
  EXPECT_NE(check.output.find("not checked here: connection cred: token_credential cred.token "
                              "needs $CREDENTIALS_DIRECTORY"),
            std::string::npos)
      << Describe(check);
  EXPECT_EQ(check.output.find(kSecretPart), std::string::npos) << Describe(check);

  // Given the credentials directory, a credential that is not there is the
  // config's fault, reported at its place.
  std::filesystem::create_directory(dir_.path() / "creds");
  BinaryRun with_creds =
      Run({"check"}, {"CREDENTIALS_DIRECTORY=" + Path("creds"),
                      "BOARDSYNC_CHECK_TEST_UNSET=" + std::string(kSecret)});
  ASSERT_TRUE(with_creds.code.has_value()) << Describe(with_creds);
  EXPECT_EQ(*with_creds.code, 2) << Describe(with_creds);
  EXPECT_NE(with_creds.output.find(ConfigPath().string() + ":25:23: connection cred: token file " +
                                   Path("creds/cred.token") + " does not exist\n"),
            std::string::npos)
      << Describe(with_creds);
  EXPECT_EQ(with_creds.output.find("not checked here"), std::string::npos) << Describe(with_creds);
  EXPECT_EQ(with_creds.output.find(kSecretPart), std::string::npos) << Describe(with_creds);
}

TEST_F(CheckCommandTest, DatabaseUrlFilesAreCheckedAsTokenFilesAndTheirPasswordsNeverShown) {
  const std::string url = "postgresql://boardsync:" + std::string(kSecretPart) +
                          "@db.invalid:5432/boardsync";
  auto state_url = dir_.Write("state.url", url + "\n");
  ASSERT_EQ(::chmod(state_url.c_str(), 0644), 0);
  dir_.Write("boardsync.yaml",
             "state:\n"
             "  type: postgres\n"
             "  url_file: state.url\n"
             "board:\n"
             "  type: postgres\n"
             "  url_file: missing.url\n"
             "connections:\n"
             "  - name: a\n"
             "    type: youtrack\n"
             "    base_url: https://tracker.invalid\n"
             "    token_env: A_TOKEN\n"
             "    mapping: " + (SourceDir() / "mappings/examples/youtrack.yaml").string() + "\n");
  BinaryRun check = Run({"check"}, {"A_TOKEN=" + std::string(kSecret)});
  ASSERT_TRUE(check.code.has_value()) << Describe(check);
  EXPECT_EQ(*check.code, 2) << Describe(check);
  const std::string config = ConfigPath().string();
  EXPECT_NE(check.output.find(config + ":3:13: the postgres state: "), std::string::npos)
      << Describe(check);
  EXPECT_NE(check.output.find("the postgres state: URL file " + Path("state.url") +
                              " is readable by group or others (mode 0644)"),
            std::string::npos)
      << Describe(check);
  EXPECT_NE(check.output.find(config + ":6:13: the postgres board: URL file " +
                              Path("missing.url") + " does not exist"),
            std::string::npos)
      << Describe(check);
  EXPECT_EQ(check.output.find(kSecretPart), std::string::npos) << Describe(check);

  // Private, it passes; the password is not shown by check either way.
  ASSERT_EQ(::chmod(state_url.c_str(), 0600), 0);
  auto board_url = dir_.Write("missing.url", url + "\n");
  ASSERT_EQ(::chmod(board_url.c_str(), 0600), 0);
  BinaryRun good = Run({"check"}, {"A_TOKEN=" + std::string(kSecret)});
  ASSERT_TRUE(good.code.has_value()) << Describe(good);
  EXPECT_EQ(*good.code, 0) << Describe(good);
  EXPECT_EQ(good.output.find(kSecretPart), std::string::npos) << Describe(good);
}

}  // namespace
}  // namespace boardsync

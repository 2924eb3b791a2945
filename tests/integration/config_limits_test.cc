// The limits on the config and mapping files, through the real binary:
// `boardsync check` reports the address problems, repeated keys and an alias
// bomb with exit 2 and file:line:column, all at once and without repeating a
// URL's password; a FIFO or /dev/zero as the config is refused at once; and
// `boardsync run` reloading (SIGHUP) an alias bomb keeps the running config.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/daemon_process.h"
#include "tests/integration/hostile_support.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using namespace std::chrono_literals;
using hostile::BinaryRun;

// Aliases nine levels deep, ten to a level: 10^9 nodes once expanded, in
// well under a kilobyte.
std::string AliasBomb() {
  std::string text = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) {
      text += ", " + prev;
    }
    text += "]\n";
  }
  return text;
}

class ConfigLimitsTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(Binary())) << "build the boardsync target first";
    std::filesystem::create_directories(dir_.path() / "logs");
    dir_.Write("mapping.yaml", "fields:\n  title: summary\n");
  }

  static std::filesystem::path Binary() { return BinaryDir() / "boardsync"; }
  std::filesystem::path ConfigPath() const { return dir_.path() / "boardsync.yaml"; }

  // A config that `run` accepts: one connection to a closed loopback port.
  std::string GoodConfig() const {
    return "state_dir: state\n"
           "connections:\n"
           "  - name: sample\n"
           "    type: youtrack\n"
           "    base_url: http://127.0.0.1:9\n"
           "    token_env: BOARDSYNC_TEST_TOKEN\n"
           "    mapping: mapping.yaml\n"
           "    interval: 1s\n";
  }

  BinaryRun Run(std::vector<std::string> args, const std::filesystem::path& config) {
    args.insert(args.end(), {"--config", config.string()});
    const auto log = dir_.path() / "logs" / (std::to_string(runs_++) + ".log");
    return hostile::RunBinary(Binary(), std::move(args), {"BOARDSYNC_TEST_TOKEN=perm:abcdefgh12"},
                              log, 20s);
  }

  TempDir dir_;
  int runs_ = 0;
};

TEST_F(ConfigLimitsTest, CheckReportsEveryAddressAndKeyProblemAtOnceWithExit2) {
  const std::string file = ConfigPath().string();
  dir_.Write("boardsync.yaml",
             "state_dir: state\n"                                            // 1
             "metrics_listen: localhost:9464\n"                              // 2
             "board:\n"                                                      // 3
             "  type: http\n"                                                // 4
             "  url: https://board-user:BoardPassw0rd@board.example\n"       // 5
             "  token_env: BOARD_TOKEN\n"                                    // 6
             "connections:\n"                                                // 7
             "  - name: sample\n"                                            // 8
             "    type: youtrack\n"                                          // 9
             "    base_url: https://tracker.example:70000\n"                 // 10
             "    token_env: T\n"                                            // 11
             "    mapping: mapping.yaml\n"                                   // 12
             "    board: ..\n"                                               // 13
             "    ca_file: missing.pem\n"                                    // 14
             "    timeout: 10ms\n"                                           // 15
             "    mapping: other.yaml\n");                                   // 16
  BinaryRun run = Run({"check"}, ConfigPath());
  ASSERT_EQ(run.code, 2) << hostile::Describe(run);
  for (const std::string& expected : {
           file + ":16:5: duplicate key \"mapping\": the same key is at line 12, column 5",
           file + ":2:17: metrics_listen \"localhost:9464\": the host must be an IP address",
           file + ":5:8: board url must not contain a user name or password",
           file + ":10:15: base_url: invalid URL",
           file + ":13:12: board id \"..\" cannot be used",
           file + ":14:14: ca_file \"" + (dir_.path() / "missing.pem").string() +
               "\": No such file or directory",
           file + ":15:14: \"timeout\" must be at least 1s",
       }) {
    EXPECT_NE(run.output.find(expected), std::string::npos)
        << "expected: " << expected << "\n" << hostile::Describe(run);
  }
  EXPECT_EQ(run.output.find("BoardPassw0rd"), std::string::npos) << hostile::Describe(run);
  EXPECT_EQ(run.output.find("board-user"), std::string::npos) << hostile::Describe(run);
}

TEST_F(ConfigLimitsTest, CheckRefusesAnAliasBombInTheConfigOrAMappingQuickly) {
  dir_.Write("boardsync.yaml", AliasBomb() + GoodConfig());
  auto start = std::chrono::steady_clock::now();
  BinaryRun config_bomb = Run({"check"}, ConfigPath());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_EQ(config_bomb.code, 2) << hostile::Describe(config_bomb);
  EXPECT_NE(config_bomb.output.find(ConfigPath().string() + ":4:"), std::string::npos)
      << hostile::Describe(config_bomb);
  EXPECT_NE(config_bomb.output.find("more than 10000 nodes"), std::string::npos);

  dir_.Write("boardsync.yaml", GoodConfig());
  dir_.Write("mapping.yaml", AliasBomb() + "fields:\n  title: summary\n");
  BinaryRun mapping_bomb = Run({"check"}, ConfigPath());
  ASSERT_EQ(mapping_bomb.code, 2) << hostile::Describe(mapping_bomb);
  EXPECT_NE(mapping_bomb.output.find((dir_.path() / "mapping.yaml").string() + ":4:"),
            std::string::npos)
      << hostile::Describe(mapping_bomb);
}

TEST_F(ConfigLimitsTest, AFifoOrADeviceAsTheConfigIsRefusedAtOnce) {
  const auto fifo = dir_.path() / "fifo.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::filesystem::path& config : {fifo, std::filesystem::path("/dev/zero")}) {
    auto start = std::chrono::steady_clock::now();
    BinaryRun run = Run({"check"}, config);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << config;
    EXPECT_EQ(run.code, 2) << hostile::Describe(run);
    EXPECT_NE(run.output.find(config.string() + ": cannot read the config file: it is a "),
              std::string::npos)
        << hostile::Describe(run);
  }
}

TEST_F(ConfigLimitsTest, ReloadingAnAliasBombKeepsTheRunningConfig) {
  dir_.Write("boardsync.yaml", GoodConfig());
  DaemonProcess daemon({Binary().string(), "run", "--config", ConfigPath().string()},
                       {"BOARDSYNC_TEST_TOKEN=perm:abcdefgh12"}, dir_.path() / "daemon.log");
  ASSERT_TRUE(daemon.started()) << daemon.error();
  auto eventually = [&](auto condition) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    return condition();
  };
  // Started: it has tried the (closed) tracker once.
  ASSERT_TRUE(eventually([&] { return daemon.Log().find("sample") != std::string::npos; }))
      << daemon.Tail();

  dir_.Write("boardsync.yaml", AliasBomb() + GoodConfig());
  ASSERT_TRUE(daemon.Signal(SIGHUP));
  ASSERT_TRUE(eventually([&] {
    return daemon.Log().find("The new config is invalid; keeping the running one.") !=
           std::string::npos;
  })) << daemon.Tail();
  EXPECT_NE(daemon.Log().find("more than 10000 nodes"), std::string::npos) << daemon.Tail();
  EXPECT_TRUE(daemon.Running()) << daemon.DescribeStatus() << daemon.Tail();

  // The same for a bomb in the mapping file.
  dir_.Write("boardsync.yaml", GoodConfig());
  dir_.Write("mapping.yaml", AliasBomb() + "fields:\n  title: summary\n");
  ASSERT_TRUE(daemon.Signal(SIGHUP));
  ASSERT_TRUE(eventually([&] {
    std::string log = daemon.Log();
    std::size_t first = log.find("The new config is invalid");
    return first != std::string::npos &&
           log.find("The new config is invalid", first + 1) != std::string::npos;
  })) << daemon.Tail();
  EXPECT_TRUE(daemon.Running()) << daemon.DescribeStatus() << daemon.Tail();

  ASSERT_TRUE(daemon.Signal(SIGTERM));
  EXPECT_EQ(daemon.WaitForExit(10s), 0) << daemon.DescribeStatus() << daemon.Tail();
}

}  // namespace
}  // namespace boardsync

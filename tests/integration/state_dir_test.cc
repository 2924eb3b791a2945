// The state directory is not trusted blindly (issue 14), through the real
// binary: a directory another user owns or that others may write is refused
// with exit 2 and keeps its mode; the lock file and the databases are never
// opened through a symbolic link; a missing directory is created private;
// `status` still reads a state directory it may not write. The hostile
// directories come from a second user (nobody), so these tests run as root
// (as in CI) and are skipped otherwise.

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "daemon/state_db.h"
#include "tests/integration/hostile_support.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using namespace std::chrono_literals;
using hostile::BinaryRun;
using hostile::Describe;

std::string ReadFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

uid_t OwnerOf(const std::filesystem::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

class StateDirTest : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root, to act as a second user (nobody)";
    }
    const passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr) {
      GTEST_SKIP() << "no user nobody";
    }
    nobody_uid_ = nobody->pw_uid;
    nobody_gid_ = nobody->pw_gid;
    ASSERT_TRUE(std::filesystem::exists(Binary())) << "build the boardsync target first";
    // nobody must reach what is inside; root still owns it.
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    std::filesystem::create_directories(dir_.path() / "logs");
    // A copy nobody can run: the build tree may sit in a folder only root
    // may enter (a clone in a mktemp -d directory, mode 0700).
    std::filesystem::copy_file(Binary(), NobodysBinary());
    ASSERT_EQ(::chmod(NobodysBinary().c_str(), 0755), 0);
  }

  static std::filesystem::path Binary() { return BinaryDir() / "boardsync"; }
  std::filesystem::path NobodysBinary() const { return dir_.path() / "boardsync"; }
  std::filesystem::path StateDir() const { return dir_.path() / "state"; }

  void WriteConfig(const std::filesystem::path& state_dir) {
    dir_.Write("boardsync.yaml",
               "state_dir: " + state_dir.string() + "\n"
               "board:\n"
               "  type: sqlite\n"
               "connections:\n"
               "  - name: sample\n"
               "    type: youtrack\n"
               "    base_url: https://tracker.invalid\n"
               "    token_env: BOARDSYNC_TEST_TOKEN\n"
               "    mapping: " + (SourceDir() / "mappings/examples/youtrack.yaml").string() + "\n"
               "    board: roadmap\n");
  }

  std::vector<std::string> Args(std::vector<std::string> args) const {
    args.insert(args.end(), {"--config", (dir_.path() / "boardsync.yaml").string()});
    return args;
  }
  std::filesystem::path NextLog() { return dir_.path() / "logs" / (std::to_string(runs_++) + ".log"); }

  // boardsync as root.
  BinaryRun Run(std::vector<std::string> args) {
    return hostile::RunBinary(Binary(), Args(std::move(args)), {kTokenEnv}, NextLog(), 20s);
  }

  // boardsync as nobody: forked, privileges dropped, then the binary.
  BinaryRun RunAsNobody(std::vector<std::string> args) {
    BinaryRun run;
    run.args = Args(std::move(args));
    const std::filesystem::path log = NextLog();
    std::vector<std::string> argv = {NobodysBinary().string()};
    argv.insert(argv.end(), run.args.begin(), run.args.end());
    std::vector<char*> argv_ptrs;
    for (std::string& a : argv) {
      argv_ptrs.push_back(a.data());
    }
    argv_ptrs.push_back(nullptr);
    std::string token = kTokenEnv;
    char* env[] = {token.data(), nullptr};
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      if (::setgroups(0, nullptr) != 0 || ::setgid(nobody_gid_) != 0 ||
          ::setuid(nobody_uid_) != 0) {
        ::_exit(126);
      }
      ::execve(argv_ptrs[0], argv_ptrs.data(), env);
      ::_exit(127);
    }
    ::close(fd);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (WIFEXITED(status)) {
      run.code = WEXITSTATUS(status);
      run.status = "exited with " + std::to_string(*run.code) + " (as nobody)";
    } else {
      run.status = "killed (as nobody)";
    }
    run.output = ReadFile(log);
    return run;
  }

  // Runs `body` as nobody in a forked child: true when it returned true.
  bool AsNobody(const std::function<bool()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const bool ok = ::setgroups(0, nullptr) == 0 && ::setgid(nobody_gid_) == 0 &&
                      ::setuid(nobody_uid_) == 0 && body();
      ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  // A state directory that boardsync running as root must refuse: exit 2
  // from both sync and status, naming the directory; nothing created in it
  // and its mode unchanged.
  void ExpectRefused(const std::filesystem::path& state_dir, const std::string& reason) {
    const mode_t mode = ModeOf(state_dir);
    for (const char* command : {"sync", "status"}) {
      BinaryRun run = Run({command});
      EXPECT_EQ(run.code, 2) << Describe(run);
      EXPECT_NE(run.output.find(state_dir.string()), std::string::npos) << Describe(run);
      EXPECT_NE(run.output.find(reason), std::string::npos) << Describe(run);
    }
    EXPECT_EQ(ModeOf(state_dir), mode);
    EXPECT_TRUE(std::filesystem::is_empty(state_dir));
  }

  static constexpr const char* kTokenEnv = "BOARDSYNC_TEST_TOKEN=perm:c3RhdGU=.c3RhdGU=.StateDirTok";

  TempDir dir_;
  uid_t nobody_uid_ = 0;
  gid_t nobody_gid_ = 0;
  int runs_ = 0;
};

TEST_F(StateDirTest, AStateDirectoryOwnedByAnotherUserIsRefused) {
  const auto state = StateDir();
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0777), 0);  // for nobody to make it in
  ASSERT_TRUE(AsNobody([&] { return ::mkdir(state.c_str(), 0700) == 0; }));
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(OwnerOf(state), nobody_uid_);
  WriteConfig(state);
  ExpectRefused(state, "owned by uid " + std::to_string(nobody_uid_));
}

TEST_F(StateDirTest, ASharedWorldWritableStateDirectoryIsRefusedAndKeepsItsMode) {
  const auto state = StateDir();
  std::filesystem::create_directory(state);
  ASSERT_EQ(::chmod(state.c_str(), 01777), 0);
  WriteConfig(state);
  ExpectRefused(state, "writable by group or others (mode 1777)");
  EXPECT_EQ(ModeOf(state), 01777u);
}

TEST_F(StateDirTest, ALockThatIsASymbolicLinkIsRefusedAndItsTargetUntouched) {
  const auto state = StateDir();
  std::filesystem::create_directory(state);
  ASSERT_EQ(::chmod(state.c_str(), 0700), 0);
  const auto victim = dir_.Write("victim", "root:x:0:0:root:/root:/bin/bash\n");
  std::filesystem::create_symlink(victim, state / "lock");
  WriteConfig(state);
  BinaryRun run = Run({"sync"});
  EXPECT_EQ(run.code, 2) << Describe(run);
  EXPECT_NE(run.output.find((state / "lock").string()), std::string::npos) << Describe(run);
  EXPECT_NE(run.output.find("symbolic link"), std::string::npos) << Describe(run);
  EXPECT_EQ(ReadFile(victim), "root:x:0:0:root:/root:/bin/bash\n");
  EXPECT_TRUE(std::filesystem::is_symlink(state / "lock"));
  EXPECT_FALSE(std::filesystem::exists(state / "state.db"));
}

TEST_F(StateDirTest, DatabasesThatAreSymbolicLinksAreRefusedAndTheirTargetsUntouched) {
  const auto state = StateDir();
  std::filesystem::create_directory(state);
  ASSERT_EQ(::chmod(state.c_str(), 0700), 0);
  const auto victim = dir_.Write("victim", "precious\n");
  WriteConfig(state);
  std::filesystem::create_symlink(victim, state / "state.db");
  for (const char* command : {"sync", "status"}) {
    BinaryRun run = Run({command});
    EXPECT_EQ(run.code, 2) << Describe(run);
    EXPECT_NE(run.output.find((state / "state.db").string()), std::string::npos) << Describe(run);
    EXPECT_NE(run.output.find("symbolic link"), std::string::npos) << Describe(run);
  }
  // The embedded board's file, in the state directory by default.
  std::filesystem::remove(state / "state.db");
  std::filesystem::create_symlink(victim, state / "board.db");
  BinaryRun run = Run({"sync"});
  EXPECT_EQ(run.code, 2) << Describe(run);
  EXPECT_NE(run.output.find((state / "board.db").string()), std::string::npos) << Describe(run);
  EXPECT_NE(run.output.find("symbolic link"), std::string::npos) << Describe(run);
  EXPECT_EQ(ReadFile(victim), "precious\n");
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "victim-wal"));
}

TEST_F(StateDirTest, AMissingStateDirectoryIsCreatedPrivate) {
  const auto state = dir_.path() / "var" / "boardsync";
  WriteConfig(state);
  BinaryRun run = Run({"status"});
  EXPECT_EQ(run.code, 0) << Describe(run);
  EXPECT_EQ(ModeOf(state), 0700u);
  EXPECT_EQ(OwnerOf(state), 0u);
  EXPECT_EQ(ModeOf(state / "state.db") & 077, 0u);
}

TEST_F(StateDirTest, StatusReadsAStateDirectoryItCannotWrite) {
  const auto state = StateDir();
  {
    auto db = StateDb::Open(state);
    ASSERT_TRUE(db) << db.error().message;
    RunRecord run;
    run.connection = "sample";
    run.started_at = "2024-05-01T10:00:00Z";
    run.result = "ok";
    run.pulled = 4217;
    ASSERT_TRUE((*db)->RecordRun(run));
  }
  // nobody's own state directory, which nobody may read but not write.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(state)) {
    ASSERT_EQ(::lchown(entry.path().c_str(), nobody_uid_, nobody_gid_), 0);
  }
  ASSERT_EQ(::chown(state.c_str(), nobody_uid_, nobody_gid_), 0);
  ASSERT_EQ(::chmod(state.c_str(), 0500), 0);
  ASSERT_FALSE(std::filesystem::exists(state / "state.db-shm"));  // closed: no -shm, no -wal
  ASSERT_FALSE(AsNobody([&] { return ::creat((state / "probe").c_str(), 0600) >= 0; }));
  WriteConfig(state);

  BinaryRun closed = RunAsNobody({"status", "--format", "json"});
  EXPECT_EQ(closed.code, 0) << Describe(closed);
  EXPECT_NE(closed.output.find("4217"), std::string::npos) << Describe(closed);

  // While a writer (root) has it open in WAL mode, with its -wal and -shm.
  SQLite::Database writer((state / "state.db").string(), SQLite::OPEN_READWRITE);
  writer.exec("UPDATE runs SET pulled = 4218 WHERE connection = 'sample'");
  ASSERT_TRUE(std::filesystem::exists(state / "state.db-wal"));
  BinaryRun open = RunAsNobody({"status", "--format", "json"});
  EXPECT_EQ(open.code, 0) << Describe(open);
  EXPECT_NE(open.output.find("4218"), std::string::npos) << Describe(open);
  EXPECT_EQ(ModeOf(state), 0500u);
}

}  // namespace
}  // namespace boardsync

#include "daemon/token.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

constexpr const char* kToken = "perm:dGVzdA==.dG9rZW4=.AbCdEfGhIjKlMnOpQrStUvWxYz0123";

TEST(TokenTest, PrivateTokenFileIsReadAndTrimmed) {
  TempDir dir;
  auto file = dir.Write("t.token", std::string(kToken) + "\n");
  ::chmod(file.c_str(), 0600);
  auto token = LoadToken({TokenSource::Kind::kFile, file.string()}, "connection a");
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->Reveal(), kToken);
}

TEST(TokenTest, GroupOrWorldReadableTokenFileIsRefusedWithTheFix) {
  TempDir dir;
  auto file = dir.Write("t.token", kToken);
  for (mode_t mode : {0644, 0640, 0604}) {
    ::chmod(file.c_str(), mode);
    auto token = LoadToken({TokenSource::Kind::kFile, file.string()}, "connection a");
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code, ErrorCode::kConfig);
    EXPECT_NE(token.error().message.find("readable by group or others"), std::string::npos);
    EXPECT_NE(token.error().message.find("chmod 600 " + file.string()), std::string::npos);
    EXPECT_EQ(token.error().message.find("AbCdEf"), std::string::npos);
  }
}

TEST(TokenTest, MissingEmptyAndMultiWordFiles) {
  TempDir dir;
  EXPECT_FALSE(LoadToken({TokenSource::Kind::kFile, (dir.path() / "none").string()}, "c"));
  auto empty = dir.Write("empty", "\n");
  ::chmod(empty.c_str(), 0600);
  auto e = LoadToken({TokenSource::Kind::kFile, empty.string()}, "c");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("is empty"), std::string::npos);
  auto two = dir.Write("two", "Bearer perm:abc.def.ghi\n");
  ::chmod(two.c_str(), 0600);
  EXPECT_FALSE(LoadToken({TokenSource::Kind::kFile, two.string()}, "c"));
}

TEST(TokenTest, MissingFileSaysSo) {
  TempDir dir;
  const std::string path = (dir.path() / "none.token").string();
  auto token = LoadToken({TokenSource::Kind::kFile, path}, "connection a");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().message, "connection a: token file " + path + " does not exist");
}

TEST(TokenTest, DirectoriesAndDevicesAreRefusedByTheirType) {
  TempDir dir;
  const auto folder = dir.path() / "folder.token";
  std::filesystem::create_directory(folder);
  ::chmod(folder.c_str(), 0700);  // private, so only its type is at fault
  auto token = LoadToken({TokenSource::Kind::kFile, folder.string()}, "c");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().message,
            "c: token file " + folder.string() + " is a directory, not a regular file");
  // /dev/null is 0666: the type is named, not the mode.
  auto device = LoadToken({TokenSource::Kind::kFile, "/dev/null"}, "c");
  ASSERT_FALSE(device);
  EXPECT_EQ(device.error().message,
            "c: token file /dev/null is a character device, not a regular file");
}

TEST(TokenTest, AFifoIsRefusedWithoutWaitingForAWriter) {
  TempDir dir;
  const auto fifo = dir.path() / "board.token";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto loading = std::async(std::launch::async, [&] {
    return LoadToken({TokenSource::Kind::kFile, fifo.string()}, "the http board");
  });
  if (loading.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    // Let the blocked open return so that the test can end.
    int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    ::close(writer);
    ADD_FAILURE() << "reading a FIFO token file blocked";
    loading.wait();
    return;
  }
  auto token = loading.get();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().message, "the http board: token file " + fifo.string() +
                                       " is a named pipe (FIFO), not a regular file");
}

TEST(TokenTest, AFileFarLargerThanATokenIsRefused) {
  TempDir dir;
  auto big = dir.Write("big.token", std::string(100 * 1024, 'x'));
  ::chmod(big.c_str(), 0600);
  auto token = LoadToken({TokenSource::Kind::kFile, big.string()}, "c");
  ASSERT_FALSE(token);
  EXPECT_NE(token.error().message.find("is larger than 64 KiB"), std::string::npos);
}

TEST(TokenTest, CheckReportsWhatLoadRefusesWithTheSameMessage) {
  TempDir dir;
  auto open = dir.Write("open.token", kToken);
  ::chmod(open.c_str(), 0644);
  auto empty = dir.Write("empty.token", "\n");
  ::chmod(empty.c_str(), 0600);
  std::filesystem::create_directory(dir.path() / "folder");
  ::mkfifo((dir.path() / "fifo").c_str(), 0600);
  for (const auto& path :
       {open, empty, dir.path() / "none", dir.path() / "folder", dir.path() / "fifo"}) {
    SCOPED_TRACE(path.string());
    TokenSource source{TokenSource::Kind::kFile, path.string()};
    TokenCheck check = CheckToken(source, "connection a");
    auto loaded = LoadToken(source, "connection a");
    ASSERT_FALSE(loaded);
    ASSERT_TRUE(check.problem);
    EXPECT_EQ(check.problem->message, loaded.error().message);
    EXPECT_EQ(check.problem->code, ErrorCode::kConfig);
    EXPECT_EQ(check.problem->message.find("AbCdEf"), std::string::npos);
    EXPECT_TRUE(check.unchecked.empty());
  }
  auto good = dir.Write("good.token", kToken);
  ::chmod(good.c_str(), 0600);
  TokenCheck fine = CheckToken({TokenSource::Kind::kFile, good.string()}, "connection a");
  EXPECT_FALSE(fine.problem);
  EXPECT_TRUE(fine.unchecked.empty());
}

TEST(TokenTest, CheckLeavesTheServiceEnvironmentUncheckedButChecksWhatItCanSee) {
  ::unsetenv("BOARDSYNC_TEST_TOKEN");
  TokenCheck env = CheckToken({TokenSource::Kind::kEnv, "BOARDSYNC_TEST_TOKEN"}, "connection a");
  EXPECT_FALSE(env.problem);
  EXPECT_EQ(env.unchecked,
            "connection a: environment variable BOARDSYNC_TEST_TOKEN (token_env) is not set");
  ::setenv("BOARDSYNC_TEST_TOKEN", kToken, 1);
  TokenCheck set = CheckToken({TokenSource::Kind::kEnv, "BOARDSYNC_TEST_TOKEN"}, "connection a");
  ::unsetenv("BOARDSYNC_TEST_TOKEN");
  EXPECT_FALSE(set.problem);
  EXPECT_TRUE(set.unchecked.empty());

  ::unsetenv("CREDENTIALS_DIRECTORY");
  TokenCheck no_dir = CheckToken({TokenSource::Kind::kCredential, "acme-yt"}, "c");
  EXPECT_FALSE(no_dir.problem);
  EXPECT_NE(no_dir.unchecked.find("CREDENTIALS_DIRECTORY"), std::string::npos);
  // With the directory given, a missing credential is a problem of the config.
  TempDir dir;
  ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  TokenCheck missing = CheckToken({TokenSource::Kind::kCredential, "acme-yt"}, "c");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(missing.problem);
  EXPECT_EQ(missing.problem->message,
            "c: token file " + (dir.path() / "acme-yt").string() + " does not exist");
}

TEST(TokenTest, EnvironmentVariable) {
  ::setenv("BOARDSYNC_TEST_TOKEN", kToken, 1);
  auto token = LoadToken({TokenSource::Kind::kEnv, "BOARDSYNC_TEST_TOKEN"}, "c");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->Reveal(), kToken);
  ::unsetenv("BOARDSYNC_TEST_TOKEN");
  auto missing = LoadToken({TokenSource::Kind::kEnv, "BOARDSYNC_TEST_TOKEN"}, "c");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("BOARDSYNC_TEST_TOKEN"), std::string::npos);
}

TEST(TokenTest, CredentialFromTheSystemdCredentialsDirectory) {
  TempDir dir;
  auto file = dir.Write("acme-yt", kToken);
  ::chmod(file.c_str(), 0440);  // systemd's own mode for credentials
  ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  auto token = LoadToken({TokenSource::Kind::kCredential, "acme-yt"}, "c");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->Reveal(), kToken);
  auto without = LoadToken({TokenSource::Kind::kCredential, "acme-yt"}, "c");
  ASSERT_FALSE(without);
  EXPECT_NE(without.error().message.find("CREDENTIALS_DIRECTORY"), std::string::npos);
}

}  // namespace
}  // namespace boardsync

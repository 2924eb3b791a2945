#include "daemon/token.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string_view>
#include <utility>
#include <vector>

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

TEST(TokenTest, AFileLargerThan16KiBIsRefused) {
  TempDir dir;
  for (std::size_t size : {std::size_t{16 * 1024 + 1}, std::size_t{100 * 1024}}) {
    auto big = dir.Write("big.token", std::string(size, 'x'));
    ::chmod(big.c_str(), 0600);
    auto token = LoadToken({TokenSource::Kind::kFile, big.string()}, "c");
    ASSERT_FALSE(token) << size;
    EXPECT_EQ(token.error().message,
              "c: token file " + big.string() + " is larger than 16 KiB; it must hold only the token");
  }
  // 16 KiB itself is still read.
  auto limit = dir.Write("limit.token", std::string(16 * 1024, 'y'));
  ::chmod(limit.c_str(), 0600);
  auto token = LoadToken({TokenSource::Kind::kFile, limit.string()}, "c");
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->Reveal().size(), 16u * 1024);
}

// ---- What a token's text may be, from a file or from the environment ----

// Texts that are not a token, and the end of the message that says why.
struct BadText {
  std::string text;
  std::string_view why;
};
std::vector<BadText> BadTokenTexts() {
  const std::string t(kToken);
  const std::string_view lines =
      "holds more than one line; it must hold only the token (one newline at its end is allowed)";
  return {
      {t.substr(0, 20) + "\r\nX-Injected: 1", "holds a control character (CR); it must hold only the token"},
      {t.substr(0, 20) + "\nX-Injected: 1", lines},
      {t + "\n\n", lines},
      {t + "\r\n\r\n", "holds a control character (CR); it must hold only the token"},
      {t + "\r", "holds a control character (CR); it must hold only the token"},
      {t + "\t", "holds a control character (TAB); it must hold only the token"},
      {t + "\x1b[2J", "holds a control character (ESC); it must hold only the token"},
      {t + "\x7f", "holds a control character (DEL); it must hold only the token"},
      {t + "\x01", "holds a control character (0x01); it must hold only the token"},
      {"Bearer " + t, "holds more than one word; it must hold only the token"},
      {" " + t, "holds more than one word; it must hold only the token"},
      {"perm:ab", "is shorter than 8 characters; it must hold the whole token"},
      {"1234567\n", "is shorter than 8 characters; it must hold the whole token"},
      {"\r\n", "is empty"},
  };
}

TEST(TokenTest, OneTrailingNewlineLfOrCrLfIsDroppedFromAFile) {
  TempDir dir;
  for (const std::string& text :
       {std::string(kToken), std::string(kToken) + "\n", std::string(kToken) + "\r\n"}) {
    auto file = dir.Write("t.token", text);
    ::chmod(file.c_str(), 0600);
    auto token = LoadToken({TokenSource::Kind::kFile, file.string()}, "c");
    ASSERT_TRUE(token) << token.error().message;
    EXPECT_EQ(token->Reveal(), kToken);
  }
  // Eight characters are enough.
  auto eight = dir.Write("eight.token", "12345678\n");
  ::chmod(eight.c_str(), 0600);
  auto token = LoadToken({TokenSource::Kind::kFile, eight.string()}, "c");
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->Reveal(), "12345678");
}

TEST(TokenTest, AFileWithControlCharactersOrTooShortIsRefusedAndCheckSaysSo) {
  TempDir dir;
  for (const BadText& bad : BadTokenTexts()) {
    SCOPED_TRACE(testing::PrintToString(bad.text));
    auto file = dir.Write("t.token", bad.text);
    ::chmod(file.c_str(), 0600);
    TokenSource source{TokenSource::Kind::kFile, file.string()};
    auto token = LoadToken(source, "connection a");
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code, ErrorCode::kConfig);
    EXPECT_EQ(token.error().message, "connection a: token file " + file.string() + " " +
                                         std::string(bad.why));
    TokenCheck check = CheckToken(source, "connection a");
    ASSERT_TRUE(check.problem);
    EXPECT_EQ(check.problem->message, token.error().message);
  }
  // A NUL cannot be in an environment variable, but can be in a file.
  auto nul = dir.Write("nul.token", std::string(kToken) + std::string(1, '\0') + "x");
  ::chmod(nul.c_str(), 0600);
  auto token = LoadToken({TokenSource::Kind::kFile, nul.string()}, "c");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().message, "c: token file " + nul.string() +
                                       " holds a control character (NUL); it must hold only the token");
}

TEST(TokenTest, AnEnvironmentVariableIsTrimmedOfOneTrailingNewline) {
  for (const std::string& text : {std::string(kToken) + "\n", std::string(kToken) + "\r\n"}) {
    ::setenv("BOARDSYNC_TEST_TOKEN", text.c_str(), 1);
    auto token = LoadToken({TokenSource::Kind::kEnv, "BOARDSYNC_TEST_TOKEN"}, "c");
    TokenCheck check = CheckToken({TokenSource::Kind::kEnv, "BOARDSYNC_TEST_TOKEN"}, "c");
    ::unsetenv("BOARDSYNC_TEST_TOKEN");
    ASSERT_TRUE(token) << token.error().message;
    EXPECT_EQ(token->Reveal(), kToken);
    EXPECT_FALSE(check.problem);
    EXPECT_TRUE(check.unchecked.empty());
  }
}

TEST(TokenTest, AnEnvironmentVariableWithControlCharactersIsRefusedByNameNeverByValue) {
  for (const BadText& bad : BadTokenTexts()) {
    SCOPED_TRACE(testing::PrintToString(bad.text));
    ::setenv("BOARDSYNC_TEST_TOKEN", bad.text.c_str(), 1);
    TokenSource source{TokenSource::Kind::kEnv, "BOARDSYNC_TEST_TOKEN"};
    auto token = LoadToken(source, "the http board");
    // Set in check's environment, the variable is checked as a file would be.
    TokenCheck check = CheckToken(source, "the http board");
    ::unsetenv("BOARDSYNC_TEST_TOKEN");
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code, ErrorCode::kConfig);
    EXPECT_EQ(token.error().message,
              "the http board: environment variable BOARDSYNC_TEST_TOKEN (token_env) " +
                  std::string(bad.why));
    EXPECT_EQ(token.error().message.find("AbCdEf"), std::string::npos);
    EXPECT_EQ(token.error().message.find("X-Injected"), std::string::npos);
    ASSERT_TRUE(check.problem);
    EXPECT_EQ(check.problem->message, token.error().message);
    EXPECT_TRUE(check.unchecked.empty());
  }
}

// ---- token_credential names a file directly inside $CREDENTIALS_DIRECTORY ----

TEST(TokenTest, ACredentialNameThatLeavesTheDirectoryIsRefusedEvenWithoutIt) {
  TempDir dir;
  // What the names would reach, were they followed.
  auto outside = dir.Write("outside.token", kToken);
  ::chmod(outside.c_str(), 0600);
  std::filesystem::create_directory(dir.path() / "creds");
  auto inner = dir.Write("creds/sub/acme", kToken);
  const std::string creds = (dir.path() / "creds").string();
  const std::string_view rule = "; it must name a file directly inside $CREDENTIALS_DIRECTORY";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"../outside.token", "\"../outside.token\" holds a /"},
      {"sub/acme", "\"sub/acme\" holds a /"},
      {outside.string(), "\"" + outside.string() + "\" holds a /"},
      {"..", "\"..\" is not a file name"},
      {".", "\".\" is not a file name"},
      {"", "is empty"},
      {"acme\nx", "holds a control character (LF)"},
  };
  for (const auto& [name, why] : cases) {
    SCOPED_TRACE(name);
    const std::string expected = "c: token_credential " + why + std::string(rule);
    TokenSource source{TokenSource::Kind::kCredential, name};
    ::setenv("CREDENTIALS_DIRECTORY", creds.c_str(), 1);
    auto token = LoadToken(source, "c");
    ::unsetenv("CREDENTIALS_DIRECTORY");
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code, ErrorCode::kConfig);
    EXPECT_EQ(token.error().message, expected);
    // check reports it whether or not its shell has the directory.
    TokenCheck check = CheckToken(source, "c");
    ASSERT_TRUE(check.problem);
    EXPECT_EQ(check.problem->message, expected);
    EXPECT_TRUE(check.unchecked.empty());
  }
  // A name with dots that stays inside is a name like any other.
  auto dotted = dir.Write("creds/acme..yt.token", kToken);
  ::setenv("CREDENTIALS_DIRECTORY", creds.c_str(), 1);
  auto token = LoadToken({TokenSource::Kind::kCredential, "acme..yt.token"}, "c");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->Reveal(), kToken);
}

// ---- A token file belongs to the user running boardsync ----

TEST(TokenTest, ATokenFileOwnedByAnotherUserIsRefusedEvenForRoot) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a file to another user";
  }
  const struct passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  const uid_t other = nobody->pw_uid;
  TempDir dir;
  auto file = dir.Write("t.token", std::string(kToken) + "\n");
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  ASSERT_EQ(::chown(file.c_str(), other, nobody->pw_gid), 0);
  TokenSource source{TokenSource::Kind::kFile, file.string()};
  auto token = LoadToken(source, "connection a");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code, ErrorCode::kConfig);
  const std::string expected = "connection a: token file " + file.string() +
                               " belongs to nobody (uid " + std::to_string(other) +
                               "), not to root (uid 0), who runs boardsync; a token file must "
                               "belong to that user";
  EXPECT_EQ(token.error().message, expected);
  // check, run by an operator, cannot know who runs the service: a note.
  TokenCheck check = CheckToken(source, "connection a");
  EXPECT_FALSE(check.problem);
  EXPECT_EQ(check.unchecked, expected);
  // Given back, it is read.
  ASSERT_EQ(::chown(file.c_str(), 0, 0), 0);
  auto mine = LoadToken(source, "connection a");
  ASSERT_TRUE(mine) << mine.error().message;
  EXPECT_EQ(mine->Reveal(), kToken);
}

TEST(TokenTest, ACredentialMayBelongToAnotherUser) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a file to another user";
  }
  // systemd may leave a credential owned by root, readable by the service's
  // user through an ACL: the directory is the service's, not the file.
  const struct passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  TempDir dir;
  auto file = dir.Write("acme-yt", std::string(kToken) + "\n");
  ASSERT_EQ(::chmod(file.c_str(), 0440), 0);
  ASSERT_EQ(::chown(file.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  auto token = LoadToken({TokenSource::Kind::kCredential, "acme-yt"}, "c");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->Reveal(), kToken);
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

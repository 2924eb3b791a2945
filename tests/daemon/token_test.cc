#include "daemon/token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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

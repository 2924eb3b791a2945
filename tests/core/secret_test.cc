#include "core/secret.h"

#include <gtest/gtest.h>

#include "core/log.h"
#include "core/redact.h"

namespace boardsync {
namespace {

TEST(SecretTest, RedactedKeepsOnlyTheOwnerPartOfAYouTrackToken) {
  Secret token("perm:cm9vdA==.dG9rZW4=.rNZ38ije7uiWwnUTRDdyFDdUkoPUPi");
  EXPECT_EQ(token.Redacted(), "perm:cm9vdA==.…");
  EXPECT_EQ(Secret("perm-YWRtaW4=.NDMtMA==.abcdefghijklmnopqrstuvwxyz0123").Redacted(),
            "perm-YWRtaW4=.…");
  EXPECT_EQ(Secret("some-opaque-board-token").Redacted(), "…");
}

TEST(SecretTest, EveryConstructedSecretIsRedactedFromText) {
  Secret token("perm:am9obi5kb2U=.UG9zdG1hbg==.s3cr3tS3cr3tS3cr3tS3cr3tS3cr3t");
  std::string text = "GET failed: Authorization: Bearer " + token.Reveal() + " and again " +
                     token.Reveal();
  std::string redacted = Redact(text);
  EXPECT_EQ(redacted.find("s3cr3t"), std::string::npos);
  EXPECT_NE(redacted.find("perm:am9obi5kb2U=.…"), std::string::npos);
}

TEST(SecretTest, LogMessagesAndFieldsAreRedacted) {
  Secret token("perm:bG9n.bmFtZQ==.logsecretlogsecretlogsecretlogs");
  std::string seen;
  SetLogSink(
      [&](LogLevel, std::string_view message, const LogFields& fields) {
        seen = std::string(message);
        for (const auto& [k, v] : fields) {
          seen += " " + k + "=" + v;
        }
      },
      LogLevel::kDebug);
  Log(LogLevel::kWarn, "token " + token.Reveal(), {{"header", "Bearer " + token.Reveal()}});
  SetLogSink(nullptr, LogLevel::kInfo);
  EXPECT_FALSE(seen.empty());
  EXPECT_EQ(seen.find("logsecret"), std::string::npos) << seen;
}

}  // namespace
}  // namespace boardsync

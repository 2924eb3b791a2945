#include "core/secret.h"

#include <gtest/gtest.h>

#include "core/log.h"
#include "core/redact.h"

namespace boardsync {
namespace {

TEST(SecretTest, RedactedShowsOnlyThePrefixItsConnectorAllows) {
  Secret token("perm:cm9vdA==.dG9rZW4=.rNZ38ije7uiWwnUTRDdyFDdUkoPUPi", 14);
  EXPECT_EQ(token.Redacted(), "perm:cm9vdA==.…");
  // core knows no token shapes: without a prefix to show, nothing shows.
  EXPECT_EQ(Secret("perm-YWRtaW4=.NDMtMA==.abcdefghijklmnopqrstuvwxyz0123").Redacted(), "…");
  EXPECT_EQ(Secret("some-opaque-board-token").Redacted(), "…");
  EXPECT_EQ(Secret("short-token", 99).Redacted(), "…");  // never the whole of it
}

TEST(SecretTest, ALaterSecretOfTheSameValueDecidesHowItIsRedacted) {
  const std::string value = "owner-part.qD7LateSecretPart0000";
  Secret loaded(value);
  EXPECT_EQ(Redact("Bearer " + value), "Bearer …");
  Secret typed(value, 11);  // the connector, once known, says "owner-part." may show
  EXPECT_EQ(Redact("Bearer " + value), "Bearer owner-part.…");
}

TEST(SecretTest, EveryConstructedSecretIsRedactedFromText) {
  Secret token("perm:am9obi5kb2U=.UG9zdG1hbg==.s3cr3tS3cr3tS3cr3tS3cr3tS3cr3t", 18);
  std::string text = "GET failed: Authorization: Bearer " + token.Reveal() + " and again " +
                     token.Reveal();
  std::string redacted = Redact(text);
  EXPECT_EQ(redacted.find("s3cr3t"), std::string::npos);
  EXPECT_NE(redacted.find("perm:am9obi5kb2U=.…"), std::string::npos);
}

TEST(SecretTest, ASecretOfAnyLengthIsRedactedWhole) {
  // Readers refuse tokens under 8 characters; what does become a Secret is
  // never shown, however short (under 6 bytes once went through as is).
  Secret short_token("Qz7;W");
  EXPECT_EQ(Redact("token Qz7;W, again Qz7;W."), "token …, again ….");
  Secret eight("Kp3vX9mL");
  EXPECT_EQ(Redact("Bearer Kp3vX9mL"), "Bearer …");
}

TEST(SecretTest, AShortSecretPartIsCoveredByTheWholeTokenOnly) {
  // The part after the last '.' is registered alone only when it is long
  // enough not to hide ordinary words ("abc" would be cut out of any text).
  Secret token("perm:c2hvcnQ=.bmFtZQ==.xyz", 14);
  EXPECT_EQ(Redact("Bearer perm:c2hvcnQ=.bmFtZQ==.xyz"), "Bearer perm:c2hvcnQ=.…");
  EXPECT_EQ(Redact("the xyz axis"), "the xyz axis");
  // A long one is redacted alone, e.g. percent-encoded around it.
  Secret long_part("perm:bG9uZw==.bmFtZQ==.LongSecretPartW8q");
  EXPECT_EQ(Redact("perm%3AbG9uZw%3D%3D.bmFtZQ%3D%3D.LongSecretPartW8q"),
            "perm%3AbG9uZw%3D%3D.bmFtZQ%3D%3D.…");
}

TEST(SecretTest, AnEmptySecretRedactsNothing) {
  Secret empty{std::string()};
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(Redact("nothing to hide"), "nothing to hide");
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

// YouTrack as a tracker type: what of its tokens may show in messages.

#include "connectors/youtrack/youtrack_type.h"

#include <gtest/gtest.h>

namespace boardsync {
namespace {

TEST(YouTrackTypeTest, APermanentTokensOwnerPartMayShowNothingElse) {
  ASSERT_NE(kYouTrackType.token_shown, nullptr);
  const auto shown = [](std::string_view token) {
    return std::string(token.substr(0, kYouTrackType.token_shown(token)));
  };
  EXPECT_EQ(shown("perm:cm9vdA==.dG9rZW4=.rNZ38ije7uiWwnUTRDdyFDdUkoPUPi"), "perm:cm9vdA==.");
  EXPECT_EQ(shown("perm-YWRtaW4=.NDMtMA==.abcdefghijklmnopqrstuvwxyz0123"), "perm-YWRtaW4=.");
  EXPECT_EQ(shown("perm:no-dot-at-all-0123456789"), "");
  EXPECT_EQ(shown("perm:ends-with-dot."), "");  // nothing after it: all of it may be secret
  EXPECT_EQ(shown("opaque-token-0123456789"), "");
  EXPECT_EQ(kYouTrackType.name, "youtrack");
}

}  // namespace
}  // namespace boardsync

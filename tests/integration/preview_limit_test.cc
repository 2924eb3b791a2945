// `boardsync preview --limit N` takes a whole number of at least 1 (issue 14):
// anything else is a usage error (exit 2) before the config is read.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/integration/hostile_support.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kRefusal = "--limit takes a whole number of at least 1";

hostile::BinaryRun Preview(const TempDir& dir, const std::string& limit) {
  return hostile::RunBinary(BinaryDir() / "boardsync",
                            {"preview", "--connection", "c", "--limit", limit, "--config",
                             (dir.path() / "missing.yaml").string()},
                            {}, dir.path() / ("preview" + limit + ".log"), 20s);
}

TEST(PreviewLimitTest, ALimitBelowOneOrNotANumberIsAUsageError) {
  TempDir dir;
  for (const std::string limit : {"0", "-1", "-0", "ten", "3x", "", "1.5"}) {
    hostile::BinaryRun run = Preview(dir, limit);
    EXPECT_EQ(run.code, 2) << hostile::Describe(run);
    EXPECT_NE(run.output.find(kRefusal), std::string::npos) << hostile::Describe(run);
  }
}

TEST(PreviewLimitTest, ALimitOfOneIsTaken) {
  TempDir dir;
  for (const std::string limit : {"1", "25"}) {
    hostile::BinaryRun run = Preview(dir, limit);
    // Refused only for the missing config, not for the limit.
    EXPECT_EQ(run.code, 2) << hostile::Describe(run);
    EXPECT_EQ(run.output.find(kRefusal), std::string::npos) << hostile::Describe(run);
    EXPECT_NE(run.output.find("missing.yaml"), std::string::npos) << hostile::Describe(run);
  }
}

}  // namespace
}  // namespace boardsync

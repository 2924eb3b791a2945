#include "core/time.h"

#include <gtest/gtest.h>

namespace boardsync {
namespace {

TEST(TimeTest, FormatsFixedWidthUtc) {
  EXPECT_EQ(FormatIsoUtc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIsoUtc(1678280400000), "2023-03-08T13:00:00.000Z");
  EXPECT_EQ(FormatIsoUtc(1678280400123), "2023-03-08T13:00:00.123Z");
  EXPECT_EQ(FormatIsoUtc(-1), "1969-12-31T23:59:59.999Z");
  // Fixed width: text order is time order.
  EXPECT_LT(FormatIsoUtc(1678280400000), FormatIsoUtc(1678280400001));
}

TEST(TimeTest, FormatsDatesOfNoonTimestamps) {
  EXPECT_EQ(FormatIsoDate(1676376000000), "2023-02-14");  // YouTrack stores dates at 12:00 UTC
}

TEST(TimeTest, ParsesIsoForms) {
  EXPECT_EQ(ParseIsoUtc("2023-03-08T13:00:00.000Z"), 1678280400000);
  EXPECT_EQ(ParseIsoUtc("2023-03-08T13:00:00Z"), 1678280400000);
  EXPECT_EQ(ParseIsoUtc("2023-03-08T15:00:00+02:00"), 1678280400000);
  EXPECT_EQ(ParseIsoUtc("2023-02-14"), 1676332800000);
  EXPECT_EQ(ParseIsoUtc("2023-03-08T13:00:00.5Z"), 1678280400500);
  EXPECT_FALSE(ParseIsoUtc("2023-02-30"));
  EXPECT_FALSE(ParseIsoUtc("yesterday"));
  EXPECT_FALSE(ParseIsoUtc("2023-03-08T25:00:00Z"));
}

TEST(TimeTest, ParsesDurations) {
  EXPECT_EQ(ParseDuration("30s")->count(), 30'000);
  EXPECT_EQ(ParseDuration("5m")->count(), 300'000);
  EXPECT_EQ(ParseDuration("24h")->count(), 86'400'000);
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_EQ(ParseDuration("10")->count(), 10'000);
  EXPECT_FALSE(ParseDuration("5 minutes"));
  EXPECT_FALSE(ParseDuration("-1s"));
  EXPECT_FALSE(ParseDuration(""));
}

}  // namespace
}  // namespace boardsync

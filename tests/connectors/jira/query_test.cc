// Jira reads a JQL date as a civil minute in the token user's zone, so a bound
// is only right if every reading of the minute it names covers the range
// asked for. These pin the text character for character and read each DST
// case back with cctz under both readings, independently of query.cc.
#include "connectors/jira/query.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"

namespace boardsync {
namespace {

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;

std::int64_t Ms(std::string_view iso) {
  auto ms = ParseIsoUtc(iso);
  EXPECT_TRUE(ms.has_value()) << iso;
  return ms.value_or(0);
}

JiraZone Zone(std::string_view name) {
  Result<JiraZone> zone = JiraZone::Load(name);
  EXPECT_TRUE(zone.has_value()) << name << ": " << (zone ? "" : zone.error().message);
  return zone.value_or(JiraZone::Utc());
}

std::string Lower(std::string_view zone, std::string_view iso) {
  return Zone(zone).LowerBound(Ms(iso)).value_or("(none)");
}

std::string Upper(std::string_view zone, std::string_view iso) {
  return Zone(zone).UpperBound(Ms(iso)).value_or("(none)");
}

// What Jira may make of a literal: the instants the civil minute can mean in
// `zone`, read with cctz directly.
struct Readings {
  bool exists = false;  // false: the minute is skipped by a transition
  std::int64_t earliest_ms = 0;
  std::int64_t latest_ms = 0;
};

Readings ReadBack(const std::string& literal, const std::string& zone) {
  cctz::time_zone tz;
  EXPECT_TRUE(cctz::load_time_zone(zone, &tz)) << zone;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  char tail = 0;
  EXPECT_EQ(std::sscanf(literal.c_str(), "%4d-%2d-%2d %2d:%2d%c", &y, &mo, &d, &h, &mi, &tail), 5)
      << literal;
  const cctz::civil_minute m(y, mo, d, h, mi);
  // The literal names a real calendar minute, written in full.
  EXPECT_EQ(m.year(), y);
  EXPECT_EQ(m.month(), mo);
  EXPECT_EQ(m.day(), d);
  EXPECT_EQ(m.hour(), h);
  EXPECT_EQ(m.minute(), mi);
  const auto cl = tz.lookup(cctz::civil_second(m));
  const std::int64_t pre = cl.pre.time_since_epoch().count() * 1000;
  const std::int64_t post = cl.post.time_since_epoch().count() * 1000;
  return {cl.kind != cctz::time_zone::civil_lookup::SKIPPED, std::min(pre, post),
          std::max(pre, post)};
}

// The guarantee: the lower bound exists and each of its readings is at or
// before from_ms; the upper likewise at or after to_ms. And not by cheating:
// never wider than a transition (an hour at most here) plus the minute.
void ExpectCovers(const std::string& zone, std::int64_t from_ms, std::int64_t to_ms) {
  const JiraZone jz = Zone(zone);
  const std::optional<std::string> lower = jz.LowerBound(from_ms);
  const std::optional<std::string> upper = jz.UpperBound(to_ms);
  ASSERT_TRUE(lower && upper) << zone << " " << FormatIsoUtc(from_ms);
  const Readings lr = ReadBack(*lower, zone);
  EXPECT_TRUE(lr.exists) << zone << " lower " << *lower << " for " << FormatIsoUtc(from_ms);
  EXPECT_LE(lr.latest_ms, from_ms)
      << zone << " lower " << *lower << " for " << FormatIsoUtc(from_ms);
  EXPECT_GT(lr.earliest_ms, from_ms - kHour - kMinute)
      << zone << " lower " << *lower << " for " << FormatIsoUtc(from_ms);
  const Readings ur = ReadBack(*upper, zone);
  EXPECT_TRUE(ur.exists) << zone << " upper " << *upper << " for " << FormatIsoUtc(to_ms);
  EXPECT_GE(ur.earliest_ms, to_ms) << zone << " upper " << *upper << " for " << FormatIsoUtc(to_ms);
  EXPECT_LT(ur.latest_ms, to_ms + kHour + kMinute)
      << zone << " upper " << *upper << " for " << FormatIsoUtc(to_ms);
}

void ExpectCovers(const std::string& zone, std::string_view iso) {
  ExpectCovers(zone, Ms(iso), Ms(iso));
}

// --- JiraZone::Load --------------------------------------------------------------

TEST(JiraZoneLoad, NamesJiraGives) {
  for (std::string_view name :
       {"Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC", "GMT", "Etc/GMT+5",
        "Asia/Kolkata", "America/Argentina/Buenos_Aires", "America/Port-au-Prince", "Etc/GMT-14"}) {
    Result<JiraZone> zone = JiraZone::Load(name);
    ASSERT_TRUE(zone.has_value()) << name << ": " << zone.error().message;
    EXPECT_EQ(zone->name(), name);
  }
}

TEST(JiraZoneLoad, ZonesKnowTheirOffsets) {
  EXPECT_EQ(Lower("Europe/Berlin", "2024-05-01T10:00:00Z"), "2024-05-01 12:00");  // CEST
  EXPECT_EQ(Lower("Europe/Berlin", "2024-01-15T10:00:00Z"), "2024-01-15 11:00");  // CET
  EXPECT_EQ(Lower("America/New_York", "2024-05-01T10:00:00Z"), "2024-05-01 06:00");
  EXPECT_EQ(Lower("Australia/Sydney", "2024-05-01T10:00:00Z"), "2024-05-01 20:00");
  EXPECT_EQ(Lower("UTC", "2024-05-01T10:00:00Z"), "2024-05-01 10:00");
  EXPECT_EQ(Lower("GMT", "2024-05-01T10:00:00Z"), "2024-05-01 10:00");
}

TEST(JiraZoneLoad, EtcGmtIsWestPositiveButJavaOffsetsAreEastPositive) {
  // The tz database's Etc/GMT+5 is five hours *behind* UTC (POSIX sign) ...
  EXPECT_EQ(Lower("Etc/GMT+5", "2024-05-01T10:00:00Z"), "2024-05-01 05:00");
  EXPECT_EQ(Lower("Etc/GMT-14", "2024-05-01T10:00:00Z"), "2024-05-02 00:00");
  // ... while Java's custom ids, which a Jira JVM may report, read as written.
  EXPECT_EQ(Lower("GMT+5", "2024-05-01T10:00:00Z"), "2024-05-01 15:00");
  EXPECT_EQ(Lower("GMT+05:30", "2024-05-01T10:00:00Z"), "2024-05-01 15:30");
  EXPECT_EQ(Lower("GMT-0800", "2024-05-01T10:00:00Z"), "2024-05-01 02:00");
  EXPECT_EQ(Lower("UTC-3", "2024-05-01T10:00:00Z"), "2024-05-01 07:00");
  EXPECT_EQ(Lower("UT+1", "2024-05-01T10:00:00Z"), "2024-05-01 11:00");
  EXPECT_EQ(Lower("+02:00", "2024-05-01T10:00:00Z"), "2024-05-01 12:00");
  EXPECT_EQ(Lower("GMT+0", "2024-05-01T10:00:00Z"), "2024-05-01 10:00");
  EXPECT_EQ(Lower("Z", "2024-05-01T10:00:00Z"), "2024-05-01 10:00");
  EXPECT_EQ(Lower("UT", "2024-05-01T10:00:00Z"), "2024-05-01 10:00");
}

TEST(JiraZoneLoad, JavaThreeLetterIdsTheTzDatabaseLacks) {
  EXPECT_EQ(Lower("PST", "2024-07-01T19:00:00Z"), "2024-07-01 12:00");  // Los Angeles, summer
  EXPECT_EQ(Lower("PST", "2024-01-01T20:00:00Z"), "2024-01-01 12:00");
  EXPECT_EQ(Lower("IST", "2024-07-01T10:00:00Z"), "2024-07-01 15:30");  // Kolkata
  EXPECT_EQ(Lower("AET", "2024-07-01T10:00:00Z"), "2024-07-01 20:00");  // Sydney
  // EST is the tz database's own fixed zone: five hours behind all year.
  EXPECT_EQ(Lower("EST", "2024-07-01T10:00:00Z"), "2024-07-01 05:00");
  EXPECT_EQ(Zone("PST").name(), "PST");
}

TEST(JiraZoneLoad, UnknownNamesAreErrorsNamingThem) {
  Result<JiraZone> zone = JiraZone::Load("Mars/Olympus_Mons");
  ASSERT_FALSE(zone.has_value());
  EXPECT_EQ(zone.error().code, ErrorCode::kBadResponse);
  EXPECT_FALSE(zone.error().retriable);
  EXPECT_NE(zone.error().message.find("\"Mars/Olympus_Mons\""), std::string::npos)
      << zone.error().message;
}

TEST(JiraZoneLoad, RefusesWhatIsNoZoneEvenWhereAFileHasTheName) {
  // All of these open *something* under /usr/share/zoneinfo or elsewhere if
  // handed to cctz as they are; none is a zone Jira can mean.
  for (std::string_view name : {"",
                                "localtime",
                                "posixrules",
                                "/etc/localtime",
                                "/usr/share/zoneinfo/Europe/Berlin",
                                "../zoneinfo/Europe/Berlin",
                                "Europe/../Europe/Berlin",
                                "Europe//Berlin",
                                "Europe/Berlin/",
                                "right/Europe/Berlin",
                                "zone.tab",
                                "leapseconds",
                                "Fixed/UTC+05:00:00",
                                "GMT+24",
                                "GMT+5:60",
                                "GMT+123456",
                                "GMT+",
                                "+",
                                "europe/berlin",
                                "Europe/Berlin "}) {
    Result<JiraZone> zone = JiraZone::Load(name);
    EXPECT_FALSE(zone.has_value()) << "'" << name << "' loaded as " << zone->name();
  }
}

TEST(JiraZoneLoad, ErrorEscapesTheNameForDisplay) {
  Result<JiraZone> zone = JiraZone::Load("Europe/Berlin\n\x1b[31m");
  ASSERT_FALSE(zone.has_value());
  EXPECT_EQ(zone.error().message.find('\n'), std::string::npos) << zone.error().message;
  EXPECT_EQ(zone.error().message.find('\x1b'), std::string::npos) << zone.error().message;
  EXPECT_NE(zone.error().message.find("Europe/Berlin\\n\\x1b[31m"), std::string::npos)
      << zone.error().message;
}

TEST(JiraZoneLoad, CopiesShareTheZone) {
  const JiraZone a = Zone("Australia/Sydney");
  const JiraZone b = a;  // NOLINT(performance-unnecessary-copy-initialization): the point
  EXPECT_EQ(b.name(), "Australia/Sydney");
  EXPECT_EQ(b.LowerBound(Ms("2024-05-01T10:00:00Z")), a.LowerBound(Ms("2024-05-01T10:00:00Z")));
  EXPECT_EQ(JiraZone::Utc().name(), "UTC");
}

// --- Minute edges -----------------------------------------------------------------

TEST(JqlBounds, ExactlyOnTheMinuteBothBoundsNameThatMinute) {
  EXPECT_EQ(Lower("UTC", "2024-05-01T10:05:00Z"), "2024-05-01 10:05");
  EXPECT_EQ(Upper("UTC", "2024-05-01T10:05:00Z"), "2024-05-01 10:05");
}

TEST(JqlBounds, OneMillisecondAfterTheLowerFloorsTheUpperCeils) {
  EXPECT_EQ(Lower("UTC", "2024-05-01T10:05:00.001Z"), "2024-05-01 10:05");
  EXPECT_EQ(Upper("UTC", "2024-05-01T10:05:00.001Z"), "2024-05-01 10:06");
  EXPECT_EQ(Lower("UTC", "2024-05-01T10:05:59.999Z"), "2024-05-01 10:05");
  EXPECT_EQ(Upper("UTC", "2024-05-01T10:05:59.999Z"), "2024-05-01 10:06");
  // Seconds only, no milliseconds: still inside the minute.
  EXPECT_EQ(Upper("UTC", "2024-05-01T10:05:01Z"), "2024-05-01 10:06");
}

TEST(JqlBounds, OneMillisecondBeforeTheMinute) {
  EXPECT_EQ(Lower("UTC", "2024-05-01T10:04:59.999Z"), "2024-05-01 10:04");
  EXPECT_EQ(Upper("UTC", "2024-05-01T10:04:59.999Z"), "2024-05-01 10:05");
}

TEST(JqlBounds, YearBoundaries) {
  EXPECT_EQ(Lower("UTC", "2024-01-01T00:00:00Z"), "2024-01-01 00:00");
  EXPECT_EQ(Lower("UTC", "2023-12-31T23:59:59.999Z"), "2023-12-31 23:59");
  EXPECT_EQ(Upper("UTC", "2023-12-31T23:59:00.001Z"), "2024-01-01 00:00");
  EXPECT_EQ(Upper("UTC", "2023-12-31T23:59:00Z"), "2023-12-31 23:59");
  // The zone moves the year: New York is still in the old one, Kolkata
  // (UTC+5:30) already in the new.
  EXPECT_EQ(Lower("America/New_York", "2024-01-01T04:59:59.999Z"), "2023-12-31 23:59");
  EXPECT_EQ(Upper("America/New_York", "2024-01-01T04:59:00.001Z"), "2024-01-01 00:00");
  EXPECT_EQ(Lower("Asia/Kolkata", "2023-12-31T18:30:00Z"), "2024-01-01 00:00");
  EXPECT_EQ(Lower("Asia/Kolkata", "2023-12-31T18:29:59.999Z"), "2023-12-31 23:59");
  EXPECT_EQ(Upper("Asia/Kolkata", "2023-12-31T18:29:00.001Z"), "2024-01-01 00:00");
  EXPECT_EQ(Upper("Australia/Sydney", "2024-12-31T12:59:30Z"), "2025-01-01 00:00");  // AEDT
}

TEST(JqlBounds, LeapDay) {
  EXPECT_EQ(Upper("UTC", "2024-02-29T23:59:00.001Z"), "2024-03-01 00:00");
  EXPECT_EQ(Lower("Europe/Berlin", "2024-02-29T23:30:00Z"), "2024-03-01 00:30");
  EXPECT_EQ(Lower("America/New_York", "2024-03-01T04:59:59Z"), "2024-02-29 23:59");
}

TEST(JqlBounds, HalfAndQuarterHourZones) {
  EXPECT_EQ(Lower("Asia/Kolkata", "2024-05-01T10:00:00Z"), "2024-05-01 15:30");
  EXPECT_EQ(Upper("Asia/Kolkata", "2024-05-01T10:00:00.001Z"), "2024-05-01 15:31");
  EXPECT_EQ(Lower("Asia/Kathmandu", "2024-05-01T10:00:00Z"), "2024-05-01 15:45");
  EXPECT_EQ(Lower("Australia/Adelaide", "2024-06-01T00:00:00Z"), "2024-06-01 09:30");  // ACST
  EXPECT_EQ(Lower("Australia/Adelaide", "2024-12-01T00:00:00Z"), "2024-12-01 10:30");  // ACDT
  EXPECT_EQ(Upper("Australia/Adelaide", "2024-12-01T00:00:59.999Z"), "2024-12-01 10:31");
}

// --- DST: Europe/Berlin -----------------------------------------------------------
// 2024-03-31 01:00Z: 02:00 CET becomes 03:00 CEST, so 02:00..02:59 do not exist.
// 2024-10-27 01:00Z: 03:00 CEST becomes 02:00 CET, so 02:00..02:59 exist twice.

TEST(JqlBoundsBerlin, SpringForwardNeverNamesAMissingMinute) {
  EXPECT_EQ(Lower("Europe/Berlin", "2024-03-31T00:59:59.999Z"), "2024-03-31 01:59");
  EXPECT_EQ(Lower("Europe/Berlin", "2024-03-31T01:00:00Z"), "2024-03-31 03:00");
  EXPECT_EQ(Upper("Europe/Berlin", "2024-03-31T00:59:00Z"), "2024-03-31 01:59");
  // 01:59:30 CET would ceil to 02:00, which does not exist: 03:00 CEST, the
  // same instant as the missing 02:00 CET.
  EXPECT_EQ(Upper("Europe/Berlin", "2024-03-31T00:59:30Z"), "2024-03-31 03:00");
  EXPECT_EQ(Upper("Europe/Berlin", "2024-03-31T00:59:00.001Z"), "2024-03-31 03:00");
  for (std::string_view iso :
       {"2024-03-31T00:59:00Z", "2024-03-31T00:59:00.001Z", "2024-03-31T00:59:59.999Z",
        "2024-03-31T01:00:00Z", "2024-03-31T01:00:00.001Z", "2024-03-31T01:30:00Z"}) {
    ExpectCovers("Europe/Berlin", iso);
  }
}

TEST(JqlBoundsBerlin, FallBackLowerBoundInTheFirstPassMovesBeforeTheRepeat) {
  // 02:30:15 CEST: "02:30" could also be read as 02:30 CET, an hour later.
  EXPECT_EQ(Lower("Europe/Berlin", "2024-10-27T00:30:15Z"), "2024-10-27 01:59");
  // The first instant of the repeated hour, and the last.
  EXPECT_EQ(Lower("Europe/Berlin", "2024-10-27T00:00:00Z"), "2024-10-27 01:59");
  EXPECT_EQ(Lower("Europe/Berlin", "2024-10-27T00:59:59.999Z"), "2024-10-27 01:59");
  EXPECT_EQ(Lower("Europe/Berlin", "2024-10-26T23:59:59.999Z"), "2024-10-27 01:59");
}

TEST(JqlBoundsBerlin, FallBackLowerBoundInTheSecondPassIsTheFloor) {
  // 02:30:15 CET: both readings of "02:30" are at or before it.
  EXPECT_EQ(Lower("Europe/Berlin", "2024-10-27T01:30:15Z"), "2024-10-27 02:30");
  EXPECT_EQ(Lower("Europe/Berlin", "2024-10-27T01:00:00Z"), "2024-10-27 02:00");
  EXPECT_EQ(Lower("Europe/Berlin", "2024-10-27T02:00:00Z"), "2024-10-27 03:00");
}

TEST(JqlBoundsBerlin, FallBackUpperBoundInTheFirstPassIsTheCeiling) {
  // 02:30:15 CEST: "02:31" read either way is later.
  EXPECT_EQ(Upper("Europe/Berlin", "2024-10-27T00:30:15Z"), "2024-10-27 02:31");
  EXPECT_EQ(Upper("Europe/Berlin", "2024-10-27T00:30:00Z"), "2024-10-27 02:30");
  // 01:59:30 CEST ceils to 02:00, whose first reading is 02:00 CEST: later.
  EXPECT_EQ(Upper("Europe/Berlin", "2024-10-26T23:59:30Z"), "2024-10-27 02:00");
}

TEST(JqlBoundsBerlin, FallBackUpperBoundInTheSecondPassMovesPastTheRepeat) {
  // 02:30:15 CET: "02:31" could be read as 02:31 CEST, an hour earlier.
  EXPECT_EQ(Upper("Europe/Berlin", "2024-10-27T01:30:15Z"), "2024-10-27 03:00");
  // Exactly on a minute still moves: the first reading of "02:30" is too early.
  EXPECT_EQ(Upper("Europe/Berlin", "2024-10-27T01:30:00Z"), "2024-10-27 03:00");
  EXPECT_EQ(Upper("Europe/Berlin", "2024-10-27T01:00:00Z"), "2024-10-27 03:00");
  EXPECT_EQ(Upper("Europe/Berlin", "2024-10-27T01:59:59.999Z"), "2024-10-27 03:00");
  EXPECT_EQ(Upper("Europe/Berlin", "2024-10-27T02:00:00Z"), "2024-10-27 03:00");
  EXPECT_EQ(Upper("Europe/Berlin", "2024-10-27T02:00:00.001Z"), "2024-10-27 03:01");
}

TEST(JqlBoundsBerlin, FallBackEveryCaseReadsBackCovered) {
  for (std::string_view iso :
       {"2024-10-26T23:59:30Z", "2024-10-27T00:00:00Z", "2024-10-27T00:30:15Z",
        "2024-10-27T00:59:59.999Z", "2024-10-27T01:00:00Z", "2024-10-27T01:30:00Z",
        "2024-10-27T01:30:15Z", "2024-10-27T01:59:59.999Z", "2024-10-27T02:00:00.001Z"}) {
    ExpectCovers("Europe/Berlin", iso);
  }
}

// --- DST: America/New_York --------------------------------------------------------
// 2024-03-10 07:00Z: 02:00 EST becomes 03:00 EDT.
// 2024-11-03 06:00Z: 02:00 EDT becomes 01:00 EST, so 01:00..01:59 exist twice.

TEST(JqlBoundsNewYork, SpringForward) {
  EXPECT_EQ(Lower("America/New_York", "2024-03-10T06:59:59Z"), "2024-03-10 01:59");
  EXPECT_EQ(Lower("America/New_York", "2024-03-10T07:00:00Z"), "2024-03-10 03:00");
  EXPECT_EQ(Upper("America/New_York", "2024-03-10T06:59:30Z"), "2024-03-10 03:00");
  for (std::string_view iso :
       {"2024-03-10T06:59:00Z", "2024-03-10T06:59:30Z", "2024-03-10T07:00:00Z",
        "2024-03-10T07:00:00.001Z", "2024-03-10T07:45:00Z"}) {
    ExpectCovers("America/New_York", iso);
  }
}

TEST(JqlBoundsNewYork, FallBack) {
  // 01:30 EDT (first pass): lower goes back to 00:59; upper ceils.
  EXPECT_EQ(Lower("America/New_York", "2024-11-03T05:30:00Z"), "2024-11-03 00:59");
  EXPECT_EQ(Upper("America/New_York", "2024-11-03T05:30:00.001Z"), "2024-11-03 01:31");
  // 01:30 EST (second pass): lower floors; upper goes past the repeat.
  EXPECT_EQ(Lower("America/New_York", "2024-11-03T06:30:00Z"), "2024-11-03 01:30");
  EXPECT_EQ(Upper("America/New_York", "2024-11-03T06:30:00Z"), "2024-11-03 02:00");
  for (std::string_view iso :
       {"2024-11-03T04:59:30Z", "2024-11-03T05:00:00Z", "2024-11-03T05:30:00Z",
        "2024-11-03T05:59:59.999Z", "2024-11-03T06:00:00Z", "2024-11-03T06:30:00Z",
        "2024-11-03T06:59:59.999Z", "2024-11-03T07:00:00Z"}) {
    ExpectCovers("America/New_York", iso);
  }
}

// --- DST: Australia/Sydney (southern hemisphere: back in April, on in October) ----
// 2024-04-06 16:00Z: 03:00 AEDT becomes 02:00 AEST on the 7th.
// 2024-10-05 16:00Z: 02:00 AEST becomes 03:00 AEDT on the 6th.

TEST(JqlBoundsSydney, FallBackInApril) {
  EXPECT_EQ(Lower("Australia/Sydney", "2024-04-06T15:30:00Z"), "2024-04-07 01:59");  // AEDT
  EXPECT_EQ(Lower("Australia/Sydney", "2024-04-06T16:30:00Z"), "2024-04-07 02:30");  // AEST
  EXPECT_EQ(Upper("Australia/Sydney", "2024-04-06T15:30:00.001Z"), "2024-04-07 02:31");
  EXPECT_EQ(Upper("Australia/Sydney", "2024-04-06T16:30:00.001Z"), "2024-04-07 03:00");
  for (std::string_view iso :
       {"2024-04-06T14:59:30Z", "2024-04-06T15:00:00Z", "2024-04-06T15:30:00Z",
        "2024-04-06T15:59:59.999Z", "2024-04-06T16:00:00Z", "2024-04-06T16:30:00.001Z",
        "2024-04-06T16:59:59.999Z", "2024-04-06T17:00:00Z"}) {
    ExpectCovers("Australia/Sydney", iso);
  }
}

TEST(JqlBoundsSydney, SpringForwardInOctober) {
  EXPECT_EQ(Lower("Australia/Sydney", "2024-10-05T15:59:59.999Z"), "2024-10-06 01:59");
  EXPECT_EQ(Lower("Australia/Sydney", "2024-10-05T16:00:00Z"), "2024-10-06 03:00");
  EXPECT_EQ(Upper("Australia/Sydney", "2024-10-05T15:59:00.001Z"), "2024-10-06 03:00");
  for (std::string_view iso : {"2024-10-05T15:59:00Z", "2024-10-05T15:59:00.001Z",
                               "2024-10-05T16:00:00Z", "2024-10-05T16:00:00.001Z"}) {
    ExpectCovers("Australia/Sydney", iso);
  }
}

// --- DST with half-hour offsets: Australia/Adelaide (+9:30 / +10:30) ----------------
// 2024-04-06 16:30Z: 03:00 ACDT becomes 02:00 ACST on the 7th.
// 2024-10-05 16:30Z: 02:00 ACST becomes 03:00 ACDT on the 6th.

TEST(JqlBoundsAdelaide, BothTransitions) {
  EXPECT_EQ(Lower("Australia/Adelaide", "2024-04-06T16:15:00Z"), "2024-04-07 01:59");  // ACDT
  EXPECT_EQ(Lower("Australia/Adelaide", "2024-04-06T17:15:00Z"), "2024-04-07 02:45");  // ACST
  EXPECT_EQ(Upper("Australia/Adelaide", "2024-04-06T17:15:00Z"), "2024-04-07 03:00");
  EXPECT_EQ(Upper("Australia/Adelaide", "2024-10-05T16:29:59.999Z"), "2024-10-06 03:00");
  EXPECT_EQ(Lower("Australia/Adelaide", "2024-10-05T16:30:00Z"), "2024-10-06 03:00");
  for (std::string_view iso :
       {"2024-04-06T16:00:00Z", "2024-04-06T16:15:00Z", "2024-04-06T16:30:00Z",
        "2024-04-06T17:15:00Z", "2024-04-06T17:29:59.999Z", "2024-10-05T16:29:00Z",
        "2024-10-05T16:29:59.999Z", "2024-10-05T16:30:00Z"}) {
    ExpectCovers("Australia/Adelaide", iso);
  }
}

// --- A gap that does not end on a minute: Africa/Monrovia, 1972 -----------------------
// 1972-01-07 00:44:30Z: 00:00:00 at -0:44:30 became 00:44:30 GMT, so civil
// 00:00:00..00:44:29 do not exist, and the floor of the first instant after
// the change, 00:44, is one of them.

TEST(JqlBoundsMonrovia, FloorInsideTheGapGoesToTheMinuteBeforeIt) {
  EXPECT_EQ(Lower("Africa/Monrovia", "1972-01-07T00:44:30Z"), "1972-01-06 23:59");
  EXPECT_EQ(Lower("Africa/Monrovia", "1972-01-07T00:44:59.999Z"), "1972-01-06 23:59");
  EXPECT_EQ(Lower("Africa/Monrovia", "1972-01-07T00:45:00Z"), "1972-01-07 00:45");
}

TEST(JqlBoundsMonrovia, CeilingInsideTheGapGoesToTheFirstWholeMinuteAfterIt) {
  EXPECT_EQ(Upper("Africa/Monrovia", "1972-01-07T00:43:30Z"), "1972-01-06 23:59");
  EXPECT_EQ(Upper("Africa/Monrovia", "1972-01-07T00:43:30.001Z"), "1972-01-07 00:45");
  EXPECT_EQ(Upper("Africa/Monrovia", "1972-01-07T00:44:29Z"), "1972-01-07 00:45");
  for (std::int64_t ms = Ms("1972-01-07T00:40:00Z"); ms <= Ms("1972-01-07T00:50:00Z");
       ms += 1'001) {
    ExpectCovers("Africa/Monrovia", ms, ms);
  }
}

// --- Every instant near every 2024-2025 transition, in zones of every shape --------

TEST(JqlBounds, SweepAroundTransitionsAlwaysCovers) {
  // Lord_Howe moves by 30 minutes; Chatham sits at +12:45; Santiago changes
  // at midnight; London at 01:00; Kolkata has no DST at all (a control).
  for (const std::string zone : {"Europe/Berlin", "America/New_York", "Australia/Sydney",
                                 "Australia/Adelaide", "Australia/Lord_Howe", "Pacific/Chatham",
                                 "America/Santiago", "Europe/London", "Asia/Kolkata"}) {
    cctz::time_zone tz;
    ASSERT_TRUE(cctz::load_time_zone(zone, &tz)) << zone;
    auto tp = cctz::convert(cctz::civil_second(2024, 1, 1, 0, 0, 0), tz);
    const auto end = cctz::convert(cctz::civil_second(2026, 1, 1, 0, 0, 0), tz);
    std::vector<std::int64_t> centres = {Ms("2024-06-15T12:00:00Z")};
    cctz::time_zone::civil_transition trans;
    while (tz.next_transition(tp, &trans)) {
      tp = tz.lookup(trans.to).trans;
      if (tp >= end) {
        break;
      }
      centres.push_back(tp.time_since_epoch().count() * 1000);
    }
    if (zone != "Asia/Kolkata") {
      EXPECT_GE(centres.size(), 5u) << zone;  // four transitions in two years, and the control
    }
    for (std::int64_t centre : centres) {
      // Steps that are not a divisor of a minute land on every second and
      // millisecond pattern near the edges.
      for (std::int64_t ms = centre - 2 * kHour; ms <= centre + 2 * kHour; ms += 7'001) {
        ExpectCovers(zone, ms, ms);
        if (HasFailure()) {
          return;
        }
      }
    }
  }
}

// --- AnyZone ------------------------------------------------------------------------

TEST(JqlBoundsAnyZone, WritesLowerTwelveHoursBehindAndUpperFourteenAhead) {
  const JiraZone any = JiraZone::AnyZone();
  EXPECT_EQ(any.LowerBound(Ms("2024-05-01T10:00:30Z")), "2024-04-30 22:00");
  EXPECT_EQ(any.UpperBound(Ms("2024-05-01T10:00:30Z")), "2024-05-02 00:01");
}

TEST(JqlBoundsAnyZone, CoversTheRangeReadInAnyZone) {
  const JiraZone any = JiraZone::AnyZone();
  for (std::string_view iso : {"2024-05-01T10:00:30Z", "2024-03-31T01:00:00Z",
                               "2024-10-27T00:30:00Z", "2024-12-31T23:59:59.999Z"}) {
    const std::int64_t ms = Ms(iso);
    const std::string lower = any.LowerBound(ms).value();
    const std::string upper = any.UpperBound(ms).value();
    for (const std::string zone :
         {"Etc/GMT+12", "Pacific/Pago_Pago", "America/New_York", "UTC", "Europe/Berlin",
          "Asia/Kolkata", "Pacific/Chatham", "Pacific/Kiritimati", "Etc/GMT-14"}) {
      EXPECT_LE(ReadBack(lower, zone).latest_ms, ms) << zone << " " << lower;
      EXPECT_GE(ReadBack(upper, zone).earliest_ms, ms) << zone << " " << upper;
    }
  }
}

// --- Outside what JQL can name ----------------------------------------------------

TEST(JqlBounds, OutsideYearsOneToNineThousandNineHundredNinetyNineIsLeftOut) {
  const JiraZone utc = JiraZone::Utc();
  EXPECT_EQ(utc.LowerBound(kMinIsoMs), "0001-01-01 00:00");
  EXPECT_EQ(utc.LowerBound(kMinIsoMs - 1), std::nullopt);
  EXPECT_EQ(utc.UpperBound(Ms("9999-12-31T23:59:00Z")), "9999-12-31 23:59");
  EXPECT_EQ(utc.UpperBound(Ms("9999-12-31T23:59:00.001Z")), std::nullopt);  // would be 10000
  EXPECT_EQ(utc.UpperBound(kMaxIsoMs + 1), std::nullopt);
  EXPECT_EQ(utc.LowerBound(std::numeric_limits<std::int64_t>::min()), std::nullopt);
  EXPECT_EQ(utc.UpperBound(std::numeric_limits<std::int64_t>::max()), std::nullopt);
  // Year 1 in UTC is year 0 in New York: no lower bound can be written.
  EXPECT_EQ(Zone("America/New_York").LowerBound(kMinIsoMs), std::nullopt);
  // The last minute of 9999 in UTC is already 10000 in Sydney; the lower
  // bound may still be written earlier.
  EXPECT_EQ(Zone("Australia/Sydney").LowerBound(kMaxIsoMs), "9999-12-31 23:59");
}

// --- CheckJqlFilter -----------------------------------------------------------------

void ExpectRefused(std::string_view filter, std::string_view says) {
  Result<void> checked = CheckJqlFilter(filter);
  ASSERT_FALSE(checked.has_value()) << filter;
  EXPECT_EQ(checked.error().code, ErrorCode::kConfig) << filter;
  EXPECT_NE(checked.error().message.find(says), std::string::npos)
      << filter << " -> " << checked.error().message;
  EXPECT_FALSE(BuildUpdatedJql(filter, 0, 0, JiraZone::Utc(), JqlOrder::kOldestFirst).has_value())
      << filter;
}

TEST(CheckJqlFilter, AcceptsOrdinaryFilters) {
  for (std::string_view filter :
       {"", "   ", "project = RAP", "project in (RAP, OPS) AND status != Done",
        "summary ~ \"order by\"", "summary ~ 'ORDER BY'", "summary ~ \"a)b(\"",
        "summary ~ \"say \\\"hi\\\"\"", "summary ~ 'it\\'s'", "text ~ \"it's\"",
        "project = \"A(B\"", "labels = border AND labels = by", "reorder by = x", "cf[10010] = 5",
        "project = RAP\nAND assignee = currentUser()",
        "(project = A OR project = B) AND (status = Open)", "summary ~ \"\\\\\""}) {
    Result<void> checked = CheckJqlFilter(filter);
    EXPECT_TRUE(checked.has_value()) << filter << " -> " << checked.error().message;
  }
}

TEST(CheckJqlFilter, RefusesOrderByInAnyCaseAndSpacing) {
  for (std::string_view filter :
       {"project = RAP ORDER BY rank", "project = RAP order by created DESC",
        "project = RAP Order\n\tBy created", "ORDER BY key", "project = RAP ORDER BY",
        "summary ~ \"x\" order by created"}) {
    ExpectRefused(filter, "ORDER BY");
  }
}

TEST(CheckJqlFilter, RefusesUnterminatedStrings) {
  ExpectRefused("summary ~ \"abc", "never closed");
  ExpectRefused("summary ~ 'abc", "never closed");
  ExpectRefused("summary ~ \"abc\\\"", "never closed");  // the last quote is escaped
  ExpectRefused("summary ~ \"abc\\", "never closed");
  ExpectRefused("summary ~ \"abc\\\"", "character 11");
}

TEST(CheckJqlFilter, RefusesParenthesesThatWouldRebindTheBounds) {
  // "(project = A) OR (project = B) AND updated >= ..." would bound only B.
  ExpectRefused("project = A) OR (project = B", "never opened");
  ExpectRefused("project = A)", "character 12");
  ExpectRefused("(project = A", "leaves 1 parenthesis open");
  ExpectRefused("((project = A)", "leaves 1 parenthesis open");
  ExpectRefused("((project = A", "leaves 2 parentheses open");
}

TEST(CheckJqlFilter, RefusesADanglingBackslash) {
  // It would escape the ')' boardsync appends.
  ExpectRefused("project = RAP\\", "backslash");
}

// --- BuildUpdatedJql ------------------------------------------------------------------

TEST(BuildUpdatedJql, FilterAndBothBounds) {
  auto jql =
      BuildUpdatedJql("project = RAP", Ms("2024-05-01T10:00:30Z"), Ms("2024-05-01T11:00:30Z"),
                      Zone("Europe/Berlin"), JqlOrder::kOldestFirst);
  ASSERT_TRUE(jql.has_value()) << jql.error().message;
  EXPECT_EQ(*jql,
            "(project = RAP) AND updated >= \"2024-05-01 12:00\" AND "
            "updated <= \"2024-05-01 13:01\" ORDER BY updated ASC, id ASC");
}

TEST(BuildUpdatedJql, OrIsKeptInsideTheParentheses) {
  auto jql = BuildUpdatedJql("  project = A OR project = B\n", Ms("2024-05-01T10:00:00Z"),
                             std::nullopt, JiraZone::Utc(), JqlOrder::kOldestFirst);
  ASSERT_TRUE(jql.has_value());
  EXPECT_EQ(*jql,
            "(project = A OR project = B) AND updated >= \"2024-05-01 10:00\" "
            "ORDER BY updated ASC, id ASC");
}

TEST(BuildUpdatedJql, LeavesOutWhatIsAbsent) {
  const JiraZone utc = JiraZone::Utc();
  const std::int64_t t = Ms("2024-05-01T10:00:00Z");
  EXPECT_EQ(BuildUpdatedJql("", t, t, utc, JqlOrder::kOldestFirst).value(),
            "updated >= \"2024-05-01 10:00\" AND updated <= \"2024-05-01 10:00\" "
            "ORDER BY updated ASC, id ASC");
  EXPECT_EQ(BuildUpdatedJql("", std::nullopt, t, utc, JqlOrder::kOldestFirst).value(),
            "updated <= \"2024-05-01 10:00\" ORDER BY updated ASC, id ASC");
  EXPECT_EQ(
      BuildUpdatedJql("project = RAP", std::nullopt, std::nullopt, utc, JqlOrder::kOldestFirst)
          .value(),
      "(project = RAP) ORDER BY updated ASC, id ASC");
  EXPECT_EQ(BuildUpdatedJql(" ", std::nullopt, std::nullopt, utc, JqlOrder::kOldestFirst).value(),
            "ORDER BY updated ASC, id ASC");
  // A bound JQL cannot name is left out: wider, never narrower.
  EXPECT_EQ(
      BuildUpdatedJql("project = RAP", kMinIsoMs - 1, std::nullopt, utc, JqlOrder::kOldestFirst)
          .value(),
      "(project = RAP) ORDER BY updated ASC, id ASC");
}

TEST(BuildUpdatedJql, NewestFirstForProbes) {
  EXPECT_EQ(BuildUpdatedJql("project = RAP", std::nullopt, std::nullopt, JiraZone::Utc(),
                            JqlOrder::kNewestFirst)
                .value(),
            "(project = RAP) ORDER BY updated DESC, id DESC");
}

TEST(BuildUpdatedJql, BoundsUseTheZoneAndItsTransitions) {
  // The night Berlin's clocks go back: the range 02:30:15 CEST .. 02:30:15 CET.
  auto jql =
      BuildUpdatedJql("project = RAP", Ms("2024-10-27T00:30:15Z"), Ms("2024-10-27T01:30:15Z"),
                      Zone("Europe/Berlin"), JqlOrder::kOldestFirst);
  ASSERT_TRUE(jql.has_value());
  EXPECT_EQ(*jql,
            "(project = RAP) AND updated >= \"2024-10-27 01:59\" AND "
            "updated <= \"2024-10-27 03:00\" ORDER BY updated ASC, id ASC");
}

// --- BuildKeyJql / BuildIdJql -----------------------------------------------------

TEST(BuildKeyJql, QuotesAndChunks) {
  auto jql = BuildKeyJql({"RAP-1", "OPS-22", "RAP-3", "RAP-4", "DO-5"}, 2);
  ASSERT_TRUE(jql.has_value()) << jql.error().message;
  EXPECT_EQ(*jql, (std::vector<std::string>{"key in (\"RAP-1\", \"OPS-22\")",
                                            "key in (\"RAP-3\", \"RAP-4\")", "key in (\"DO-5\")"}));
}

TEST(BuildKeyJql, DropsRepeatsAndMakesNothingOfNothing) {
  EXPECT_EQ(BuildKeyJql({"A-1", "A-1", "B-2", "A-1"}, 10).value(),
            std::vector<std::string>{"key in (\"A-1\", \"B-2\")"});
  EXPECT_TRUE(BuildKeyJql({}, 10).value().empty());
}

TEST(BuildKeyJql, EscapesWhateverAKeyHolds) {
  auto jql = BuildKeyJql({"A\"1", "B\\2", "C'3", "D\n4\t\r", std::string("E\x01") + "5",
                          "F\xC2\x85", "G\xEF\xBF\xBF", "H\xEF\xB7\x90", "Ü-1"},
                         100);
  ASSERT_TRUE(jql.has_value());
  EXPECT_EQ(jql->at(0),
            "key in (\"A\\\"1\", \"B\\\\2\", \"C'3\", \"D\\n4\\t\\r\", \"E\\u00015\", "
            "\"F\\u0085\", \"G\\uFFFF\", \"H\\uFDD0\", \"Ü-1\")");
}

TEST(BuildKeyJql, RefusesAnEmptyKeyAndAZeroChunk) {
  auto empty = BuildKeyJql({"A-1", ""}, 10);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kBadResponse);
  auto zero = BuildKeyJql({"A-1"}, 0);
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().code, ErrorCode::kConfig);
}

TEST(BuildIdJql, DigitsInChunks) {
  auto jql = BuildIdJql({"10001", "10002", "10003"}, 2);
  ASSERT_TRUE(jql.has_value()) << jql.error().message;
  EXPECT_EQ(*jql, (std::vector<std::string>{"id in (10001, 10002)", "id in (10003)"}));
  EXPECT_EQ(BuildIdJql({"007", "7", "9223372036854775807"}, 5).value(),
            std::vector<std::string>{"id in (7, 9223372036854775807)"});
  EXPECT_TRUE(BuildIdJql({}, 5).value().empty());
}

TEST(BuildIdJql, RefusesWhatIsNotANumberJiraCanRead) {
  for (std::string_view id : {"", "12a", "-1", "+1", " 1", "1 ", "1.0", "0x10", "RAP-1",
                              "9223372036854775808", "99999999999999999999"}) {
    auto jql = BuildIdJql({"1", std::string(id)}, 5);
    ASSERT_FALSE(jql.has_value()) << id;
    EXPECT_EQ(jql.error().code, ErrorCode::kBadResponse) << id;
  }
  EXPECT_FALSE(BuildIdJql({"1"}, 0).has_value());
}

}  // namespace
}  // namespace boardsync

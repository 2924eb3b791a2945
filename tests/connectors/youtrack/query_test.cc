// The query text is what decides which issues a pull sees, and YouTrack
// reads it in the token user's zone at one-second granularity, so these pin
// it character for character.
#include "connectors/youtrack/query.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "tests/support/youtrack_query.h"

namespace boardsync {
namespace {

std::int64_t Ms(std::string_view iso) {
  auto ms = ParseIsoUtc(iso);
  EXPECT_TRUE(ms.has_value()) << iso;
  return ms.value_or(0);
}

// --- FormatQueryTime --------------------------------------------------------------

TEST(FormatQueryTime, UtcDropsMillisAndZone) {
  EXPECT_EQ(FormatQueryTime(Ms("2024-05-01T10:00:00Z"), 0), "2024-05-01T10:00:00");
  // Truncated, never rounded up: rounding would move a lower bound past an issue.
  EXPECT_EQ(FormatQueryTime(Ms("2024-05-01T10:00:07.999Z"), 0), "2024-05-01T10:00:07");
}

TEST(FormatQueryTime, PositiveOffsetsAreWallClockAheadOfUtc) {
  EXPECT_EQ(FormatQueryTime(Ms("2024-05-01T10:00:00.500Z"), 120), "2024-05-01T12:00:00");
  EXPECT_EQ(FormatQueryTime(Ms("2024-05-01T10:00:00Z"), 330), "2024-05-01T15:30:00");
  EXPECT_EQ(FormatQueryTime(Ms("2024-05-01T10:00:00Z"), 840), "2024-05-02T00:00:00");
}

TEST(FormatQueryTime, NegativeOffsetsAreWallClockBehindUtc) {
  EXPECT_EQ(FormatQueryTime(Ms("2024-05-01T10:00:00Z"), -300), "2024-05-01T05:00:00");
  EXPECT_EQ(FormatQueryTime(Ms("2024-05-01T10:15:42.250Z"), -570), "2024-05-01T00:45:42");
}

TEST(FormatQueryTime, OffsetsRollTheDayMonthAndYear) {
  // Leap day forwards into March, and back from March into the leap day.
  EXPECT_EQ(FormatQueryTime(Ms("2024-02-29T23:30:00Z"), 120), "2024-03-01T01:30:00");
  EXPECT_EQ(FormatQueryTime(Ms("2024-03-01T00:30:00Z"), -120), "2024-02-29T22:30:00");
  EXPECT_EQ(FormatQueryTime(Ms("2023-12-31T23:59:59.999Z"), 60), "2024-01-01T00:59:59");
  EXPECT_EQ(FormatQueryTime(Ms("2024-01-01T00:00:00Z"), -1), "2023-12-31T23:59:00");
}

TEST(FormatQueryTime, ReadBackInTheSameZoneCoversTheInstant) {
  // What the server does with it: the second it names, read in the user's
  // zone, must contain the instant it came from.
  for (int offset : {-720, -570, -300, 0, 60, 330, 345, 840}) {
    const std::int64_t ms = Ms("2024-10-27T01:30:15.678Z");
    auto parsed = ParseIssueQuery("updated: " + FormatQueryTime(ms, offset) + " .. *", offset);
    ASSERT_TRUE(parsed.has_value()) << offset << ": " << parsed.error().message;
    ASSERT_EQ(parsed->updated.size(), 1u);
    EXPECT_EQ(parsed->updated[0].from_ms, ms - ms % 1000) << offset;
  }
}

// --- WithoutSortClause ------------------------------------------------------------

TEST(WithoutSortClause, NoClauseIsKeptTrimmed) {
  EXPECT_EQ(WithoutSortClause(""), "");
  EXPECT_EQ(WithoutSortClause("project: RAP #Unresolved"), "project: RAP #Unresolved");
  EXPECT_EQ(WithoutSortClause("  project: RAP  "), "project: RAP");
}

TEST(WithoutSortClause, TrailingClauseIsDroppedInAnyCase) {
  EXPECT_EQ(WithoutSortClause("project: RAP sort by: priority desc"), "project: RAP");
  EXPECT_EQ(WithoutSortClause("project: RAP Sort By: votes, {issue id} asc"), "project: RAP");
  EXPECT_EQ(WithoutSortClause("project: RAP SORT BY: updated"), "project: RAP");
  EXPECT_EQ(WithoutSortClause("project: RAP sort by:votes desc,created ASC"), "project: RAP");
  EXPECT_EQ(WithoutSortClause("sort by: created desc"), "");
}

TEST(WithoutSortClause, BracedAttributesMayHoldSpacesAndCommas) {
  EXPECT_EQ(WithoutSortClause("sort by: {Due Date} desc, {Fix, versions} project: RAP"),
            "project: RAP");
}

// An attribute with a space must be braced, as YouTrack's own query
// completion writes it. Unbraced, only its first word belongs to the clause
// and the rest is left as (likely invalid) query text the server reports.
TEST(WithoutSortClause, AnUnbracedMultiWordAttributeLosesOnlyItsFirstWord) {
  EXPECT_EQ(WithoutSortClause("project: RAP Sort By: votes, issue id asc"), "project: RAP id asc");
}

// YouTrack's grammar makes "sort by:" a term like any other, so it may stand
// before other terms; those still filter and must survive.
TEST(WithoutSortClause, TermsAfterTheClauseAreKept) {
  EXPECT_EQ(WithoutSortClause("project: RAP sort by: votes #Unresolved"),
            "project: RAP #Unresolved");
  EXPECT_EQ(WithoutSortClause("sort by: priority project: RAP"), "project: RAP");
  EXPECT_EQ(WithoutSortClause("#Bug sort by: votes asc, created  for: me"), "#Bug for: me");
}

// A direction is a whole word. Disabled: query.cc's pattern takes "asc" or
// "desc" without a word boundary, so it cuts the start off a following term
// such as YouTrack's `description:` (see report).
TEST(WithoutSortClause, ADirectionIsAWholeWord) {
  EXPECT_EQ(WithoutSortClause("project: RAP sort by: votes description: crash"),
            "project: RAP description: crash");
  EXPECT_EQ(WithoutSortClause("sort by: votes Ascending"), "Ascending");
}

TEST(WithoutSortClause, TheRestReadsAsTheServerWouldReadIt) {
  auto parsed = ParseIssueQuery(
      WithoutSortClause("project: RAP sort by: votes desc #Unresolved updated: 2024-05-01 .. *"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->projects, (std::vector<std::vector<std::string>>{{"RAP"}}));
  EXPECT_TRUE(parsed->require_unresolved);
  EXPECT_EQ(parsed->updated.size(), 1u);
  EXPECT_EQ(parsed->sort_key, QuerySortKey::kNone);
}

// --- UpdatedRangeQuery ------------------------------------------------------------

TEST(UpdatedRangeQuery, WithoutBoundsOnlySorts) {
  EXPECT_EQ(UpdatedRangeQuery("", std::nullopt, std::nullopt, 0), "sort by: updated asc");
  EXPECT_EQ(UpdatedRangeQuery("project: RAP #Unresolved", std::nullopt, std::nullopt, 120),
            "project: RAP #Unresolved sort by: updated asc");
}

TEST(UpdatedRangeQuery, BothBoundsInTheUsersZone) {
  EXPECT_EQ(UpdatedRangeQuery("project: RAP", Ms("2024-05-01T10:00:00.250Z"),
                              Ms("2024-05-01T22:30:59.999Z"), 120),
            "project: RAP updated: 2024-05-01T12:00:00 .. 2024-05-02T00:30:59 "
            "sort by: updated asc");
  EXPECT_EQ(UpdatedRangeQuery("", Ms("2024-05-01T10:00:00Z"), Ms("2024-05-01T11:00:00Z"), -300),
            "updated: 2024-05-01T05:00:00 .. 2024-05-01T06:00:00 sort by: updated asc");
}

TEST(UpdatedRangeQuery, AnOpenSideIsAStar) {
  EXPECT_EQ(UpdatedRangeQuery("", Ms("2024-05-01T10:00:00Z"), std::nullopt, 0),
            "updated: 2024-05-01T10:00:00 .. * sort by: updated asc");
  EXPECT_EQ(UpdatedRangeQuery("#Unresolved", std::nullopt, Ms("2024-05-01T10:00:00Z"), 0),
            "#Unresolved updated: * .. 2024-05-01T10:00:00 sort by: updated asc");
}

TEST(UpdatedRangeQuery, AnOrIsParenthesisedSoTheRangeAppliesToAllOfIt) {
  EXPECT_EQ(UpdatedRangeQuery("project: RAP or project: OPS", Ms("2024-05-01T10:00:00Z"),
                              std::nullopt, 0),
            "(project: RAP or project: OPS) updated: 2024-05-01T10:00:00 .. * "
            "sort by: updated asc");
  EXPECT_EQ(UpdatedRangeQuery("#Bug OR #Feature", std::nullopt, std::nullopt, 0),
            "(#Bug OR #Feature) sort by: updated asc");
  EXPECT_EQ(UpdatedRangeQuery("or #Bug", std::nullopt, std::nullopt, 0),
            "(or #Bug) sort by: updated asc");
}

TEST(UpdatedRangeQuery, OrInsideAWordIsNotAnOr) {
  EXPECT_EQ(UpdatedRangeQuery("for: me #Major reporter: orlov", std::nullopt, std::nullopt, 0),
            "for: me #Major reporter: orlov sort by: updated asc");
}

TEST(UpdatedRangeQuery, TheUsersSortClauseIsReplaced) {
  EXPECT_EQ(UpdatedRangeQuery("project: RAP sort by: priority desc", Ms("2024-05-01T10:00:00Z"),
                              std::nullopt, 0),
            "project: RAP updated: 2024-05-01T10:00:00 .. * sort by: updated asc");
  // The "or" test runs on what is left once the sort clause is gone.
  EXPECT_EQ(UpdatedRangeQuery("#Bug or #Task sort by: votes", std::nullopt, std::nullopt, 0),
            "(#Bug or #Task) sort by: updated asc");
  EXPECT_EQ(UpdatedRangeQuery("sort by: votes", std::nullopt, std::nullopt, 0),
            "sort by: updated asc");
}

TEST(UpdatedRangeQuery, TheServerReadsTheRangeWeMeant) {
  // Round trip through the test tracker's reading of the query language.
  const std::int64_t from = Ms("2024-05-01T10:00:00.250Z");
  const std::int64_t to = Ms("2024-05-03T08:20:05.900Z");
  for (int offset : {-600, 0, 120, 345}) {
    auto parsed = ParseIssueQuery(UpdatedRangeQuery("project: RAP", from, to, offset), offset);
    ASSERT_TRUE(parsed.has_value()) << offset << ": " << parsed.error().message;
    ASSERT_EQ(parsed->updated.size(), 1u);
    EXPECT_TRUE(parsed->updated[0].Contains(from)) << offset;
    EXPECT_TRUE(parsed->updated[0].Contains(to)) << offset;
    EXPECT_FALSE(parsed->updated[0].Contains(from - 1000)) << offset;
    EXPECT_EQ(parsed->sort_key, QuerySortKey::kUpdated);
    EXPECT_TRUE(parsed->sort_ascending);
  }
}

// --- IssueKeysQuery ---------------------------------------------------------------

TEST(IssueKeysQuery, ListsTheKeysCommaSeparated) {
  EXPECT_EQ(IssueKeysQuery({"RAP-1"}), "issue id: RAP-1");
  EXPECT_EQ(IssueKeysQuery({"RAP-1", "RAP-22", "OPS-3"}), "issue id: RAP-1, RAP-22, OPS-3");
}

TEST(IssueKeysQuery, TheServerReadsTheKeys) {
  auto parsed = ParseIssueQuery(IssueKeysQuery({"RAP-1", "OPS-3"}));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->issue_ids, (std::vector<std::vector<std::string>>{{"RAP-1", "OPS-3"}}));
}

}  // namespace
}  // namespace boardsync

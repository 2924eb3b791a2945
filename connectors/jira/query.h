// JQL as the Jira connector sends it: the user's filter checked and wrapped,
// `updated` bounds written as wall-clock minutes in the token user's time zone
// that always cover the range asked for, and key and id lists for pulls by name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace boardsync {

// The zone Jira reads JQL date literals in: the token user's profile zone
// (`/myself` → `timeZone`), not UTC. A literal has no zone and minute
// resolution, so every bound is a civil minute, and a civil minute is not
// always one instant: at a fall-back transition it exists twice, at a
// spring-forward one not at all, and we cannot know which reading Jira picks.
// The bounds below therefore hold under every reading:
//
//  - LowerBound(from_ms): the latest civil minute that exists and whose every
//    reading is at or before from_ms. Normally from_ms floored to the minute.
//    When that minute is repeated and from_ms lies in its first pass, the
//    second reading would be up to an hour too late, so it moves back to the
//    last minute before the repeated span (02:30 CEST on the night clocks go
//    back becomes 01:59).
//  - UpperBound(to_ms): the earliest civil minute that exists and whose every
//    reading is at or after to_ms. Normally to_ms ceiled to the minute (a
//    time exactly on a minute stays). When that minute is repeated and to_ms
//    lies in its second pass it moves past the repeated span (02:30 CET
//    becomes 03:00); a minute skipped by spring-forward becomes the first
//    minute after the gap.
//
// The range asked for always lies inside the range written; widening costs
// only issues the connector drops itself (it keeps exactly [from_ms, to_ms]),
// narrowing would lose issues for good. Both are nullopt when the instant
// (in UTC) or the minute (in the zone) falls outside years 1..9999, which JQL
// cannot name: the clause is then left out, the widest bound of all.
//
// Cheap to copy (the zone data is shared); safe to use from several threads.
class JiraZone {
 public:
  // IANA names as Jira gives them ("Europe/Berlin", "UTC", "GMT",
  // "Etc/GMT+5", which is UTC-5), Java's custom offsets ("GMT+05:30", "UTC-8":
  // east-positive, unlike Etc/GMT) and Java's old three-letter ids that
  // tzdata lacks ("PST", "IST"). Anything else, including files under
  // /usr/share/zoneinfo that are not zones ("localtime"), is kBadResponse
  // naming the zone.
  static Result<JiraZone> Load(std::string_view name);
  static JiraZone Utc();
  // Bounds that hold whatever zone Jira uses (lower bounds written at UTC-12,
  // upper at UTC+14, the extremes in use): a fallback for a user whose zone
  // we cannot load. Each bound is up to 26 hours wider than it needs to be,
  // and may name a minute the user's real zone skips, which Jira may refuse.
  static JiraZone AnyZone();

  const std::string& name() const;

  // "yyyy-MM-dd HH:mm", as described above.
  std::optional<std::string> LowerBound(std::int64_t from_ms) const;
  std::optional<std::string> UpperBound(std::int64_t to_ms) const;

 private:
  struct Impl;
  explicit JiraZone(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// kConfig unless `filter` can be wrapped as "(filter) AND <bounds>" and mean
// what it says: no ORDER BY (boardsync sets the order paging relies on), and
// no unterminated quote, dangling backslash or parenthesis that closes before
// it opens or never closes, any of which would bind the bounds to a part of
// the filter or swallow them. JQL has no comments ('/', '#', ';' are reserved
// characters Jira refuses), so a filter cannot end in one.
Result<void> CheckJqlFilter(std::string_view filter);

enum class JqlOrder {
  kOldestFirst,  // ORDER BY updated ASC, id ASC: incremental pulls page forward
  kNewestFirst,  // ORDER BY updated DESC, id DESC: "the newest issue" probes
};

// `(filter) AND updated >= "<LowerBound>" AND updated <= "<UpperBound>"
// ORDER BY updated ASC, id ASC`, leaving out what is absent (no parentheses
// for an empty filter). `<=` with the ceiled minute: Jira compares
// `updated <= "10:05"` against 10:05:00.000, so an issue at 10:05:30 needs
// "10:06"; `<` the next minute would hold too, but is a minute wider when
// to_ms is exactly on one. In JQL `id` is an alias of the issue key field:
// the tie-break is a stable total order, nothing more. Fails as
// CheckJqlFilter() does. Jira Cloud refuses a query with no condition at all
// (empty filter, no bounds).
Result<std::string> BuildUpdatedJql(std::string_view filter, std::optional<std::int64_t> from_ms,
                                    std::optional<std::int64_t> to_ms, const JiraZone& zone,
                                    JqlOrder order);

// `key in ("A-1", "B-2")`, at most `chunk_size` keys to a query, in the order
// given with repeats dropped; no keys, no queries. Keys are quoted and escaped
// whatever they hold. kBadResponse for an empty key; kConfig for a chunk size of 0.
// Beware: Jira refuses the whole query (400, "An issue with key 'X-1' does not
// exist for field 'key'") when one key names no issue the token can see, e.g. a
// deleted one; Data Center's validateQuery=warn turns that into a warning.
Result<std::vector<std::string>> BuildKeyJql(const std::vector<std::string>& keys,
                                             std::size_t chunk_size);
// `id in (10001, 10002)`, likewise; an id must be decimal digits that fit in
// 63 bits (Jira parses them as a Java long), else kBadResponse.
Result<std::vector<std::string>> BuildIdJql(const std::vector<std::string>& ids,
                                            std::size_t chunk_size);

}  // namespace boardsync

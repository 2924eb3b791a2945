// YouTrack search queries as the connector sends them: the user's query,
// an `updated:` range in the token user's time zone, and the sort order that
// keyset paging relies on. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boardsync {

// "2024-05-01T10:00:00": `epoch_ms` as wall-clock time `utc_offset_minutes`
// east of UTC, truncated to the second (YouTrack's granularity).
std::string FormatQueryTime(std::int64_t epoch_ms, int utc_offset_minutes);

// `query` without a "sort by:" clause (the connector sets its own order).
std::string WithoutSortClause(std::string_view query);

// The user's query (parenthesised when it has an "or"), then
// "updated: FROM .. TO" when either bound is set ("*" for an open side), then
// "sort by: updated asc". Bounds are in the user's zone.
std::string UpdatedRangeQuery(std::string_view user_query, std::optional<std::int64_t> from_ms,
                              std::optional<std::int64_t> to_ms, int utc_offset_minutes);

// "issue id: A-1, A-2" for the given human keys.
std::string IssueKeysQuery(const std::vector<std::string>& keys);

}  // namespace boardsync

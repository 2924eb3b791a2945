// The part of YouTrack's search language that boardsync sends, parsed the
// way the server reads it: keywords in any case, terms joined by AND, dates
// at seconds granularity. Anything else is an error (400 invalid_query).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace boardsync {

// [from_ms, to_ms): a query bound "2024-05-01T10:00:00" covers its whole
// second, "2024-05-01" its whole day; `*` leaves a side open.
struct QueryTimeRange {
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;

  bool Contains(std::int64_t ms) const {
    return (!from_ms || ms >= *from_ms) && (!to_ms || ms < *to_ms);
  }
};

enum class QuerySortKey { kNone, kUpdated, kCreated };

struct IssueQuery {
  // One entry per `project:` term; an issue must match one name of each.
  // Names are short names or full names, compared case-insensitively.
  std::vector<std::vector<std::string>> projects;
  bool require_resolved = false;    // #Resolved
  bool require_unresolved = false;  // #Unresolved
  std::vector<QueryTimeRange> updated;
  std::vector<QueryTimeRange> created;
  // One entry per `issue id:` term: readable ids such as "RAP-12".
  std::vector<std::vector<std::string>> issue_ids;
  QuerySortKey sort_key = QuerySortKey::kNone;
  bool sort_ascending = false;  // "sort by: updated" alone sorts newest first
};

// Parses `text`. Dates are read in a zone `utc_offset_minutes` east of UTC
// (0: UTC), as the server reads them in the token user's profile zone.
// Supported terms: project: KEY | project: {Name With Spaces} (comma lists),
// #Resolved, #Unresolved, updated:/created: A .. B (A, B: yyyy-MM-dd,
// yyyy-MM-ddTHH:mm[:ss] or *), issue id, sort by: updated|created
// [asc|desc], and the word "and" between terms.
Result<IssueQuery> ParseIssueQuery(std::string_view text, int utc_offset_minutes = 0);

}  // namespace boardsync

// What to ask YouTrack for: the `fields=` projection and `customFields=` filter
// built from the source fields a mapping reads, and the target of one page of
// /api/issues. YouTrack ignores misspelt names silently, so tests pin them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace boardsync {

struct IssueProjection {
  std::string fields;                      // the value of `fields=`, not encoded
  std::vector<std::string> custom_fields;  // one `customFields=` parameter each
};

// Builds the projection for `field_names` (e.g. {"summary", "State", "tags"}).
// The attributes every Issue needs (id, idReadable, created, updated,
// resolved) are always included. Known issue attributes (summary,
// description, tags, project, reporter, updater, votes, commentsCount,
// numberInProject) map to their sub-projection; any other name is a custom
// field. Names starting with "$" are mapping built-ins and are skipped;
// duplicates are dropped, first occurrence wins.
IssueProjection BuildIssueProjection(const std::vector<std::string>& field_names);

// The request target of one page of issues, relative to the service URL:
// "/api/issues?query=…&fields=…&customFields=…&$top=N&$skip=M". `$top` is
// always sent: without it YouTrack returns at most 42 issues. An empty query
// is left out (all issues the token can see).
std::string IssuePageTarget(const IssueProjection& projection, std::string_view query, int top,
                            int skip);

}  // namespace boardsync

// YouTrack JSON → boardsync's tracker-neutral Issue, and /users/me → who the
// token belongs to. Pure decoding, no I/O, so every recorded payload shape can
// be tested directly. Value shapes follow DESIGN §3.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "connectors/youtrack/base_url.h"
#include "core/error.h"
#include "core/issue.h"
#include "core/tracker_source.h"
#include "core/value.h"

namespace boardsync {

// Decodes one page of GET /api/issues (a JSON array of Issue). Only a page
// that is not an array is an error (kBadResponse). An issue that cannot be
// decoded comes back as UndecodedIssue(), so the others go on.
// Reads the page's document as it is (no Value tree is built for it); the
// Value form decodes the same, for callers that hold a tree.
Result<std::vector<Issue>> DecodeIssuePage(JsonView json, const YouTrackBaseUrl& base);
Result<std::vector<Issue>> DecodeIssuePage(const Value& json, const YouTrackBaseUrl& base);

// Decodes one Issue object of that page. Errors are kBadResponse and name
// the issue's idReadable: an issue without id/idReadable/updated, a
// created/updated outside the years 1970-9999 (or any timestamp outside
// 0001-9999), or a value of the wrong JSON type where the $type fixes it
// (e.g. PeriodValue.minutes not a number). Custom fields of an unknown $type
// are kept as opaque text, never an error.
Result<Issue> DecodeIssue(JsonView json, const YouTrackBaseUrl& base);
Result<Issue> DecodeIssue(const Value& json, const YouTrackBaseUrl& base);

// What is known of an issue DecodeIssue() refused: id, idReadable and
// updated when they are readable (updated_ms 0 otherwise), and `reason` as
// Issue::decode_error.
Issue UndecodedIssue(JsonView json, std::string reason);
Issue UndecodedIssue(const Value& json, std::string reason);

// The value of one IssueCustomField object ({"$type", "name", "value", ...}):
//   enum, state, version, build, owned → the element's name;
//   user → {"login", "name", "email"}; group → the group's name;
//   period → minutes; date → "YYYY-MM-DD"; date and time → ISO-8601 UTC;
//   integer, float, string → as is; text → its text;
//   multi-value → a list of those ([] when empty); single-value null → null.
// `issue_key` only names the issue in error messages.
Result<Value> DecodeCustomFieldValue(JsonView custom_field, std::string_view issue_key);
Result<Value> DecodeCustomFieldValue(const Value& custom_field, std::string_view issue_key);

// Decodes GET /api/users/me?fields=id,login,fullName,guest,banned. A guest
// answer (guest true, or guest missing as JetBrains' own client treats it) and
// a banned user are kAuth; a body without a login is kBadResponse. Leaves
// TrackerIdentity::projects at -1.
Result<TrackerIdentity> DecodeMe(const Value& json);

// Minutes east of UTC of a TimeZoneDescriptor {id, presentation, offset},
// or nullopt when it does not say in a form we can read.
std::optional<int> DecodeUtcOffset(const Value& timezone);

}  // namespace boardsync

// What a mapping's source names mean on GitHub: a member of the REST issue
// object by its JSON name (title, labels, milestone...), or, with a
// connection's `project`, a field of that Projects v2 board by its name
// (Priority, Size, Iteration); and that board's fields as sync back writes
// them (ids and data types). Pure; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "core/error.h"

namespace boardsync {

// Whether `name` is a member of GitHub's issue object (REST, API version
// 2022-11-28, as the list and get endpoints return it), exactly as spelt.
bool IsGitHubIssueMember(std::string_view name);

struct GitHubFieldSelection {
  // Members of the issue object the mapping reads, in the order named.
  std::vector<std::string> members;
  // Names that are no member: a Projects v2 field each when the connection
  // has a `project`, else unknown (they read as null; test-connection warns).
  std::vector<std::string> others;
};

// Splits a mapping's source names (Mapping::SourceFields(): top-level names,
// no built-ins); a "$…" name is left out.
GitHubFieldSelection SelectGitHubFields(const std::vector<std::string>& names);

// --- The fields of a Projects v2 board, for sync back ------------------------

struct GitHubProjectFieldInfo {
  std::string id;  // the field's node id ("PVTF_…")
  std::string name;
  std::string data_type;  // GitHub's ProjectV2FieldType: NUMBER, TEXT, SINGLE_SELECT, TITLE, ...
};

struct GitHubWritableProject {
  std::string id;  // the project's node id
  // What GitHub says of the token's user: whether it may change the project.
  bool viewer_can_update = false;
  std::vector<GitHubProjectFieldInfo> fields;
};

// The GraphQL query (a JSON request body) that finds project `number` of
// `owner`, an organization or a user, the way GitHubProjectQuery() does (its
// answer reads with DecodeGitHubProject() too), with each field's id and data
// type and whether the token's user may change the project.
std::string GitHubProjectFieldsQuery(std::string_view owner, std::int64_t number);

// The project from the answer to GitHubProjectFieldsQuery(); nullopt when
// neither the organization nor the user has it (the answer's errors say
// why). kBadResponse for another shape.
Result<std::optional<GitHubWritableProject>> DecodeGitHubProjectFields(JsonView root);

// The field called `name`: spelt exactly so, else the same in ASCII letters
// of either case (GitHub keeps names unique that way); nullptr when none.
const GitHubProjectFieldInfo* FindGitHubProjectField(
    const std::vector<GitHubProjectFieldInfo>& fields, std::string_view name);

// A data type in words for messages: "a number field (NUMBER)", "a single
// select field (SINGLE_SELECT)", "the built-in Title field (TITLE)".
std::string GitHubFieldTypeWords(std::string_view data_type);

}  // namespace boardsync

// Jira's field catalogue (GET /rest/api/{2,3}/field) and what a mapping's
// source names resolve to in it: the ids for `fields=` and, per id, the names
// the decoded Issue carries its value under. Pure; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "core/error.h"

namespace boardsync {

// One field of the catalogue. The schema decides how its value is decoded
// (connectors/jira/decode.h); a field without a schema passes its JSON on.
struct JiraField {
  std::string id;    // "customfield_10016", "status"
  std::string key;   // usually the id; the catalogue may say otherwise
  std::string name;  // "Story Points", as Jira shows it
  bool custom = false;
  std::string type;         // schema.type: "number", "array", "user", ...; "" without schema
  std::string items;        // schema.items, for arrays
  std::string custom_type;  // schema.custom: "…customfieldtypes:float", "…:gh-sprint"
  std::string system;       // schema.system: "description", "timespent", ...
};

// Decodes the catalogue: a JSON array of {id, key, name, custom, schema}.
// Only an answer that is not an array is an error (kBadResponse). Elements
// without a string id cannot be asked for and are dropped; schema members of
// the wrong JSON type read as absent (the value then passes on as it is).
Result<std::vector<JiraField>> DecodeJiraFields(JsonView json);

// A field to ask for, and the names the mapping reads it by (none for the
// times every pull asks for).
struct JiraRequestedField {
  JiraField field;
  std::vector<std::string> names;
};

struct JiraFieldSelection {
  // The value of `fields=`, comma-joined: always updated, created and
  // resolutiondate first, then the mapping's fields in the order first named.
  std::vector<std::string> request;
  // Every requested field, in the same order.
  std::vector<JiraRequestedField> fields;
  // Names the mapping reads that no field has. They are not asked for, so
  // they read as null; test-connection warns about them, a sync does not.
  std::vector<std::string> unknown;
};

// Resolves a mapping's source names (Mapping::SourceFields(); a path such as
// "Assignee.login" counts by its part before the first '.', and built-ins
// such as "$key" are skipped). A name is, in this order:
//   1. a field id or key, exactly ("customfield_10016", "status");
//   2. a field name exactly as Jira shows it ("Story Points");
//   3. a field name differing only in ASCII case ("story points"), as JQL
//      reads names. The exact spelling wins over this, so two fields named
//      "Points" and "points" are each reachable.
// A name that two fields share at the step that matched is an error
// (kConfig) naming both ids, so the mapping can name one by id; every such
// name is listed in one message. "parent" (any case) resolves even when the
// catalogue (Data Center's) does not list it.
Result<JiraFieldSelection> SelectJiraFields(const std::vector<JiraField>& catalogue,
                                            const std::vector<std::string>& source_names);

// The catalogue entries `name` matches at the first of SelectJiraFields()'s
// steps that matches any, as indices into `catalogue`: one for an id or key,
// several when fields share the name; none when no field has it.
std::vector<std::size_t> MatchJiraField(const std::vector<JiraField>& catalogue,
                                        std::string_view name);

// `field name "Points" is shared by customfield_10060 and customfield_10061`:
// what to say of a name MatchJiraField() found on several fields (`hits`).
std::string JiraSharedNameText(const std::vector<JiraField>& catalogue, std::string_view name,
                               const std::vector<std::size_t>& hits);

// The `fields=` parameter's value (not encoded): selection.request joined by ','.
std::string JiraFieldsParameter(const JiraFieldSelection& selection);

}  // namespace boardsync

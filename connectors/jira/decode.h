// Jira search answers → boardsync's tracker-neutral Issue: Cloud's
// /rest/api/3/search/jql and Data Center's /rest/api/2/search. Pure decoding,
// no I/O, so every recorded shape can be tested directly. Values follow
// DESIGN §3 ("Source values, Jira"); the choices it leaves open are below.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "connectors/jira/fields.h"
#include "core/error.h"
#include "core/issue.h"
#include "core/value.h"

namespace boardsync {

struct JiraSearchPage {
  std::vector<Issue> issues;  // one per element of `issues`, undecodable ones included
  // Cloud: the token for the next page; empty when there is none.
  std::string next_page_token;
  // Data Center: the offset of this page and how many issues match in all.
  std::optional<std::int64_t> start_at;
  std::optional<std::int64_t> total;
  // No page follows. Cloud: isLast, or no nextPageToken (the last page may
  // omit both flag and token). Data Center: startAt + issues >= total, or a
  // page without issues (so a shrinking result cannot loop forever).
  bool last = false;
};

// Decodes one search page. The shape tells the flavour: startAt or total
// make it Data Center's, else Cloud's. A page that is not an object with an
// `issues` array, or whose paging members have the wrong JSON type, fails
// as a whole (kBadResponse). An issue that cannot be decoded comes back as
// UndecodedJiraIssue(), so the others go on.
// `browse_base` is the site ("https://acme.atlassian.net", "https://host/jira");
// issue links are `{browse_base}/browse/{key}`.
Result<JiraSearchPage> DecodeJiraSearchPage(JsonView json, const JiraFieldSelection& selection,
                                            std::string_view browse_base);

// Decodes one IssueBean {id, key, fields}. Issue::fields holds each
// selected field under every name the mapping reads it by. Errors are
// kBadResponse and name the issue key and the field: no id (a string or
// integer of digits), no key, no `fields` object, no valid fields.updated,
// a created/updated outside the years 1970-9999, or a value that
// contradicts its schema (JiraFieldValue()).
Result<Issue> DecodeJiraIssue(JsonView json, const JiraFieldSelection& selection,
                              std::string_view browse_base);

// What is known of an issue DecodeJiraIssue() refused: id, key and
// updated_ms when readable (0 otherwise), and `reason` as decode_error.
Issue UndecodedJiraIssue(JsonView json, std::string reason);

// The value of one field of an issue, by the field's schema (null `value`:
// [] for arrays, else null):
//   status, priority, resolution, issuetype, version, component, group,
//     securitylevel, statusCategory → the name;
//   project → {"key", "name"} (so plain use gives the name, as in YouTrack);
//   option → its value; option-with-child (cascading) → "Parent / Child",
//     or "Parent" without a child;
//   user → {"login", "name", "email"}: login is the Cloud accountId, else the
//     Data Center user name (else key); name is displayName, else the login;
//   timeoriginalestimate, timeestimate, timespent and their aggregate* →
//     minutes (seconds / 60; an integer when whole);
//   timetracking → {"originalEstimate", "remainingEstimate", "timeSpent"} in
//     minutes, from the *Seconds members (null when absent);
//   string → the text; rich text (Cloud ADF) → JiraAdfToText();
//   number → as sent (a custom float field always as a double);
//   date → "YYYY-MM-DD"; datetime → ISO-8601 UTC;
//   array → a list of its items decoded as above (labels: strings);
//   the sprint field → a list of sprint names (Cloud objects or Data
//     Center's "…Sprint@…[…,name=S1,…]" strings);
//   parent → its key; votes → the count; watches → the count;
//   anything else → the JSON as it is.
// `issue_key` only names the issue in error messages.
Result<Value> JiraFieldValue(JsonView value, const JiraField& field, std::string_view issue_key);

// Atlassian Document Format → plain text: blocks (paragraphs, headings,
// code blocks, quotes, panels) separated by blank lines; a hard break is a
// newline; list items each on their own line ("- ", "1. "; nested lists
// indented two spaces); table rows one a line, cells joined by " | ";
// mentions, emoji, dates, statuses and inline cards as their text; code kept
// as written; unknown nodes by their text content. Fails on nesting deeper
// than 24 nodes, which no editor produces (and the recursion stays bounded).
Result<std::string> JiraAdfToText(JsonView adf);

// Jira's datetime ("2024-03-10T01:59:30.123+0100"; also "Z" and "+01:00")
// as epoch milliseconds; nullopt for anything else, a missing zone included.
std::optional<std::int64_t> ParseJiraDateTime(std::string_view text);

}  // namespace boardsync

// JQL as the sample Jira server (jira_server.h) reads it: a strict parser for
// the subset a sync connector sends, failing with Jira's own error texts, and
// the date literals Jira accepts. What the words mean (projects, keys, zones)
// is the server's business; this file knows only the grammar.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace boardsync {

// One value in a clause: a word, a quoted string, or an element of a list.
struct JqlOperand {
  std::string text;  // quotes removed, escapes resolved
  bool quoted = false;
  std::size_t position = 0;  // 1-based character in the query, for messages
};

struct JqlClause {
  enum class Kind { kAnd, kOr, kNot, kTerm };
  Kind kind = Kind::kTerm;
  std::vector<JqlClause> children;  // kAnd, kOr: two or more; kNot: one
  std::string field;                // kTerm: as written ("Project", "updated")
  // kTerm, lower case: "=", "!=", ">", ">=", "<", "<=", "~", "!~", "in",
  // "not in", "is", "is not".
  std::string op;
  std::vector<JqlOperand> operands;  // kTerm: one, or the list of in / not in
  std::size_t position = 0;          // kTerm: where the field name starts
};

struct JqlSortKey {
  std::string field;              // as written
  std::optional<bool> ascending;  // nullopt: no ASC/DESC given
  std::size_t position = 0;
};

struct JqlQuery {
  std::optional<JqlClause> where;    // nullopt: no condition ("ORDER BY x" alone, or empty)
  std::vector<JqlSortKey> order_by;  // empty: no ORDER BY
};

// Parses `text` as Jira does: keywords (AND, OR, NOT, IN, IS, EMPTY, NULL,
// ORDER BY, ASC, DESC) in any case, reserved words only when quoted, values
// with spaces only when quoted ("..." or '...'), no functions. On failure
// the error's message is the text Jira puts in `errorMessages`, e.g.
// "Error in the JQL Query: Expecting operator but got 'x'. ... (line 1,
// character 9)". Field names and values are not checked here.
Result<JqlQuery> ParseJql(std::string_view text);

// A date value of a JQL clause: a civil minute (read later in the user's
// time zone) or a period relative to now.
struct JqlDate {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  // Set for a period ("-5d", "4w 2d", "-90m"): milliseconds from now; the
  // civil members are then unused.
  std::optional<std::int64_t> relative_ms;
};

// Reads the formats Jira accepts: "yyyy-MM-dd HH:mm", "yyyy/MM/dd HH:mm",
// "yyyy-MM-dd", "yyyy/MM/dd" (a day means its midnight), or a period of
// w/d/h/m units with an optional sign. Anything else, seconds included
// ("2024-03-10 10:00:00"), and impossible days ("2024-02-30") give nullopt.
std::optional<JqlDate> ParseJqlDate(std::string_view text);

// Jira's message for a date value it cannot read:
// "Date value '<value>' for field '<field>' is invalid. Valid formats include: ...".
std::string JqlInvalidDateMessage(std::string_view value, std::string_view field);

}  // namespace boardsync

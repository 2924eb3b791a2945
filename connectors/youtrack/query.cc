#include "connectors/youtrack/query.h"

#include <regex>

#include "core/text.h"
#include "core/time.h"

namespace boardsync {

std::string FormatQueryTime(std::int64_t epoch_ms, int utc_offset_minutes) {
  // "2024-05-01T10:00:00.000Z" shifted into the zone, without millis and "Z".
  return FormatIsoUtc(epoch_ms + utc_offset_minutes * 60'000LL).substr(0, 19);
}

std::string WithoutSortClause(std::string_view query) {
  // "sort by:" then one or more attributes (a word or a {braced name}), each
  // with an optional direction, separated by commas. Terms around it stay.
  static const std::regex kSort(
      R"((^|\s)sort\s+by\s*:\s*(\{[^}]*\}|[^\s,{]+)(\s+(asc|desc)\b)?)"
      R"((\s*,\s*(\{[^}]*\}|[^\s,{]+)(\s+(asc|desc)\b)?)*)",
      std::regex::icase);
  std::string kept = std::regex_replace(std::string(query), kSort, "$1");
  // Fold the double spaces the removal may leave.
  static const std::regex kSpaces(R"(\s{2,})");
  return std::string(TrimSpace(std::regex_replace(kept, kSpaces, " ")));
}

std::string UpdatedRangeQuery(std::string_view user_query, std::optional<std::int64_t> from_ms,
                              std::optional<std::int64_t> to_ms, int utc_offset_minutes) {
  std::string query = WithoutSortClause(user_query);
  // The range joins the user's terms by juxtaposition (AND); an "or" in the
  // user's query would otherwise bind only its last alternative.
  static const std::regex kOr(R"((^|\s)or(\s|$))", std::regex::icase);
  if (std::regex_search(query, kOr)) {
    query = "(" + query + ")";
  }
  if (from_ms || to_ms) {
    if (!query.empty()) {
      query += " ";
    }
    query += "updated: ";
    query += from_ms ? FormatQueryTime(*from_ms, utc_offset_minutes) : "*";
    query += " .. ";
    query += to_ms ? FormatQueryTime(*to_ms, utc_offset_minutes) : "*";
  }
  if (!query.empty()) {
    query += " ";
  }
  query += "sort by: updated asc";
  return query;
}

std::string IssueKeysQuery(const std::vector<std::string>& keys) {
  std::string query = "issue id: ";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    query += i == 0 ? keys[i] : ", " + keys[i];
  }
  return query;
}

}  // namespace boardsync

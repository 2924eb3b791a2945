// What a mapping's source names mean on GitHub: a member of the REST issue
// object by its JSON name (title, labels, milestone...), or, with a
// connection's `project`, a field of that Projects v2 board by its name
// (Priority, Size, Iteration). Pure; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

}  // namespace boardsync

// The world of the sample tracker: its projects, users and custom fields
// (the same ones as tests/data/youtrack/sample_issues.json), and a
// deterministic generator of synthetic issues in YouTrack's recorded shape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/value.h"
#include "tests/support/youtrack_fields.h"

namespace boardsync {

struct SampleProject {
  std::string id;          // entity id, e.g. "0-1"
  std::string short_name;  // "RAP"
  std::string name;        // "Roadmap App"
  std::string description;
  std::string leader_login;
};

// RAP "Roadmap App", SRV "Server Platform" (its State is workflow-managed:
// StateMachineIssueCustomField), DOC "Docs" (fewer fields).
const std::vector<SampleProject>& SampleProjects();

// The project as /api/admin/projects returns it ($type "Project").
Value SampleProjectValue(const SampleProject& project);

// A known user as a YouTrack "User" object, or null when `login` is unknown.
Value SampleUserValue(std::string_view login);

// Generates `count` issues from `seed`. The same seed and count always give
// the same issues. Issue i was created before issue i+1; about one in fifty
// shares its `updated` with its predecessor, as after a bulk change.
// Thread-safe: all members are const.
class SyntheticIssueGenerator {
 public:
  // What the tracker indexes, cheap to compute for millions of issues.
  struct Outline {
    std::size_t project = 0;  // index into SampleProjects()
    std::int64_t created = 0;
    std::int64_t updated = 0;
    std::optional<std::int64_t> resolved;
  };

  SyntheticIssueGenerator(std::uint64_t seed, std::size_t count);

  std::uint64_t seed() const { return seed_; }
  std::size_t count() const { return count_; }

  // REQUIRES: ordinal < count().
  Outline Describe(std::size_t ordinal) const;

  // The whole issue in recorded shape. The tracker assigns `id` ("2-123")
  // and `number` (the number in its project). REQUIRES: ordinal < count().
  Value Build(std::size_t ordinal, std::string_view id, std::uint32_t number) const;

  // The same issue as the server returns it for `fields`: equal to
  // ProjectFields(Build(...), fields) with customFields limited to the
  // names `keep_field` accepts (all when empty), and the `fields(...)`
  // alias of `customFields(...)`. Builds only what was asked for.
  Value BuildProjected(std::size_t ordinal, std::string_view id, std::uint32_t number,
                       const FieldSelector& fields,
                       const std::function<bool(std::string_view)>& keep_field) const;
  // The text of the fixed pieces of issues (users, states, versions, ...)
  // as projected for one request, so that a page projects each piece once.
  // It knows selectors by address: it must not outlive those it was used
  // with. Not thread-safe.
  struct PieceCache {
    std::map<std::pair<const Value*, const FieldSelector*>, std::string> text;
  };

  // BuildProjected(...).ToJson() appended to `out`, written straight from
  // the issue's recipe: what the tracker serves pages with.
  void AppendProjectedJson(std::string& out, std::size_t ordinal, std::string_view id,
                           std::uint32_t number, const FieldSelector& fields,
                           const std::function<bool(std::string_view)>& keep_field,
                           PieceCache& pieces) const;

 private:
  struct Shape;

  std::uint64_t Random(std::size_t ordinal, std::uint64_t salt) const;
  std::int64_t Created(std::size_t ordinal) const;
  std::int64_t UpdatedIgnoringTies(std::size_t ordinal) const;
  std::size_t StateIndex(std::size_t ordinal, std::size_t project) const;
  // The issue as JSON in `shape` (sample_data.cc): the one recipe behind
  // every member above.
  void Compose(std::string& out, std::size_t ordinal, std::string_view id, std::uint32_t number,
               const Shape& shape, const std::function<bool(std::string_view)>* keep_field) const;
  void CustomFields(std::string& out, std::size_t ordinal, const Outline& outline,
                    const Shape& shape,
                    const std::function<bool(std::string_view)>* keep_field) const;

  std::uint64_t seed_;
  std::size_t count_;
};

}  // namespace boardsync

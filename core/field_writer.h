// FieldWriter: the optional write side of a tracker connector, for sync back
// (DESIGN §3.1): board scores into tracker fields. A tracker type without
// fields boardsync can write (GitLab) has none. Implementations need not be
// thread-safe; use one instance per thread.
#pragma once

#include <cstdint>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/value.h"

namespace boardsync {

// The types a sync-back target may have (`type:` in the mapping).
enum class FieldType { kFloat, kInteger, kString };

// "float", "integer", "string".
constexpr std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kFloat:
      return "float";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kString:
      return "string";
  }
  return "?";
}

// A tracker field to write, as the mapping's `sync_back.fields` names it.
struct WriteTarget {
  std::string name;  // the tracker's name for it (Jira: or its id, "customfield_10042")
  FieldType type = FieldType::kFloat;
};

// An issue to write, by the ids a pull handed on (Issue::id, Issue::key).
struct IssueRef {
  std::string id;   // the tracker's stable id (YouTrack "2-17", Jira "10042", GitHub "1234567")
  std::string key;  // the human key ("RAP-42", "owner/repo#12"): where it lives
};

// One value for one target, already of the target's type: a double for
// kFloat, an integer for kInteger, a string for kString; null clears it.
struct FieldValue {
  std::string field;  // WriteTarget::name
  Value value;
};

// What became of one issue's write.
struct WriteOutcome {
  // The tracker refused this issue alone (deleted, the field is not in its
  // project, no permission on it): `message` says why, naming the issue; the
  // other issues go on and this one is tried again at the next sync back.
  bool refused = false;
  std::string message;
  // The issue's `updated` (epoch ms) after the write, when the tracker said;
  // 0 when it did not.
  std::int64_t updated_ms = 0;
};

// What Prepare() found for one target.
struct TargetCheck {
  std::string name;
  // Empty when the target can be written. Otherwise why not, one sentence
  // naming the field: another type ("field \"Board score\" is a text field
  // in YouTrack, the mapping writes float"), missing ("no field ... and
  // create is false"), or a missing permission for `create` naming it.
  std::string problem;
  bool created = false;  // Prepare() made it (or attached it somewhere)
};

class FieldWriter {
 public:
  virtual ~FieldWriter() = default;

  // Finds each target and checks its type; with `create`, makes the missing
  // ones (and, where the tracker attaches fields per project, attaches them
  // to the projects of `issues`). One TargetCheck per target, in order;
  // nothing is ever written to a target with a problem. An error when the
  // tracker could not be asked at all (network, token refused).
  virtual Result<std::vector<TargetCheck>> Prepare(std::span<const WriteTarget> targets,
                                                   bool create,
                                                   std::span<const IssueRef> issues,
                                                   std::stop_token stop) = 0;

  // Sets `values` (targets Prepare() accepted) on one issue, all in one
  // request where the tracker allows. An error stops the sync back (the
  // tracker is down after retries, the token is refused, the rate limit is
  // spent); a refusal of this issue alone is an outcome, not an error.
  virtual Result<WriteOutcome> Write(const IssueRef& issue, std::span<const FieldValue> values,
                                     std::stop_token stop) = 0;
};

}  // namespace boardsync

// The mapping language (DESIGN §3): a YAML file of rules that turns one
// tracker Issue into the fields of one board item. ParseMapping() checks a
// file once and reports every problem with its place; ApplyMapping() is pure.
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/error.h"
#include "core/field_writer.h"
#include "core/issue.h"
#include "core/value.h"

namespace boardsync {

// Values an issue carries outside its fields, spelled "$id", "$key"...
enum class Builtin { kId, kKey, kUrl, kCreated, kUpdated, kResolved };

// Where a rule reads: a built-in, or a source field followed by members to
// walk into, e.g. "Assignee.login" is {"Assignee", "login"}.
struct SourcePath {
  std::string text;  // as written in the file
  std::optional<Builtin> builtin;
  std::vector<std::string> segments;  // empty for a built-in
};

// "{$key}: {summary}" is {path $key}, {literal ": "}, {path summary}.
struct TemplatePart {
  std::string literal;
  std::optional<SourcePath> path;  // set for a placeholder
};

// What `as:` does to a value. Every one but kString works element-wise on a
// list and leaves null alone.
enum class Conversion { kNone, kHours, kDays, kMinutes, kNumber, kString, kDate };

// The spelling in a mapping file ("hours"); "" for kNone.
std::string_view ConversionName(Conversion conversion);

// One target field. Either `from` or `template_parts` is the source; the
// remaining steps run in order: map, as, default.
struct FieldRule {
  std::string target;
  std::optional<SourcePath> from;
  std::optional<std::vector<TemplatePart>> template_parts;
  std::optional<Value::Object> map;  // looked up by the value's plain text
  Value default_value;               // null: no default
  Conversion as = Conversion::kNone;
};

// The issue is skipped when the value at `path` (or any element of a list)
// has the plain text of one of `values`.
struct SkipRule {
  SourcePath path;
  std::vector<std::string> values;
};

// One sync-back target (DESIGN §3.1): the tracker field `target` gets the
// board score `from`, converted to `type` (float when the file leaves it out).
// ParseMapping() refuses a target that a rule of `fields` or `skip` reads,
// by exact name or regardless of ASCII case, so a sync back never changes
// what the next sync maps.
struct SyncBackField {
  std::string target;  // the tracker field, as the mapping names it
  std::string from;    // the board score's name (`score`, `rank`, ...)
  FieldType type = FieldType::kFloat;
  int line = 0;        // the target's place in the file, for later messages
  int column = 0;
};

struct SyncBack {
  bool create = false;  // create missing tracker fields (needs admin rights)
  std::vector<SyncBackField> fields;  // in file order; targets are unique
};

struct Mapping {
  std::vector<FieldRule> fields;  // in file order; targets are unique
  // Indices into `fields` in the order of their targets, which is the
  // order of an item's fields: ApplyMapping() fills them in that order so
  // that nothing is sorted per issue. Set by ParseMapping(); when its size
  // differs from that of `fields` (a mapping built by hand), file order.
  std::vector<std::size_t> target_order;
  std::vector<SkipRule> skip;
  double hours_per_day = 8;  // for `as: days`
  std::string source_text;   // the YAML the mapping was parsed from
  // The `sync_back` section, when the file has one. Not part of the
  // fingerprint: it changes nothing on the board.
  std::optional<SyncBack> sync_back;
  // What `check` shows but does not refuse (a mapping that reads $updated
  // while sync back is on), each placed like an error.
  Diagnostics warnings;

  // Top-level source fields the rules and skip read, sorted and unique, for
  // asking the tracker only for those; built-ins are not listed.
  std::vector<std::string> SourceFields() const;
  // Hex hash of the parsed rules: equal for files that differ only in
  // comments or layout, different when any rule changes.
  std::string Fingerprint() const;
};

// Parses a mapping file's text. On failure returns every problem found,
// each placed at file:line:column. Never throws.
std::expected<Mapping, Diagnostics> ParseMapping(std::string_view yaml_text,
                                                 const std::string& file_name);
// Reads and parses `path`; an unreadable file gives one Diagnostic.
std::expected<Mapping, Diagnostics> LoadMappingFile(const std::filesystem::path& path);

// The board item fields for `issue`, or nullopt when a skip rule matches.
// A source field the issue lacks reads as null. A value that cannot be
// converted fails with ErrorCode::kMapping: "RAP-42: field effort: ...".
//
// Objects used as a plain value (a copy, a map lookup, a template, a skip
// comparison, `as: string`) stand for their "name" member, so a user gives
// their full name; a list of objects gives a list of names.
Result<std::optional<Value::Object>> ApplyMapping(const Mapping& mapping, const Issue& issue);

}  // namespace boardsync

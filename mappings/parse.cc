#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

#include "core/text.h"
#include "mappings/mapping.h"
#include "mappings/yaml_file.h"

namespace boardsync {
namespace {

constexpr std::pair<std::string_view, Builtin> kBuiltins[] = {
    {"$id", Builtin::kId},           {"$key", Builtin::kKey},
    {"$url", Builtin::kUrl},         {"$created", Builtin::kCreated},
    {"$updated", Builtin::kUpdated}, {"$resolved", Builtin::kResolved},
};

constexpr Conversion kConversions[] = {Conversion::kHours,   Conversion::kDays,
                                       Conversion::kMinutes, Conversion::kNumber,
                                       Conversion::kString,  Conversion::kDate};

constexpr FieldType kFieldTypes[] = {FieldType::kFloat, FieldType::kInteger, FieldType::kString};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// A YAML scalar as the Value its plain spelling denotes; quoted scalars (and
// `!!str`) are always strings, so `"5"` stays text.
Value ScalarToValue(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") {
    return Value(text);
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return Value(true);
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return Value(false);
  }
  if (text == "null" || text == "Null" || text == "NULL" || text == "~") {
    return Value();
  }
  if (auto number = NumberFromText(text)) {
    return *number;
  }
  return Value(text);
}

// Collects diagnostics while walking the YAML tree, so one run reports every
// problem. Each Parse* method reports its own; those that return an optional
// give nullopt when the node is unusable.
class Parser {
 public:
  explicit Parser(const std::string& file) : file_(file) {}

  Diagnostics& diagnostics() { return diagnostics_; }
  Diagnostics& warnings() { return warnings_; }

  void ErrorAt(const YAML::Mark& mark, std::string message) {
    // An empty document has no mark; point at its start.
    int line = mark.is_null() ? 1 : mark.line + 1;
    int column = mark.is_null() ? 1 : mark.column + 1;
    diagnostics_.push_back(Diagnostic{file_, line, column, std::move(message)});
  }

  void Error(const YAML::Node& node, std::string message) {
    ErrorAt(node.Mark(), std::move(message));
  }

  void ParseRoot(const YAML::Node& root, Mapping& mapping) {
    if (!root.IsMap()) {
      Error(root, root.IsNull() ? "the mapping file is empty; expected a YAML mapping with `fields`"
                                : "expected a YAML mapping with `fields` at the top level");
      return;
    }
    bool has_fields = false;
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : root) {
      const YAML::Node& key = entry.first;
      const YAML::Node& value = entry.second;
      if (!CheckKey(key, seen)) {
        continue;
      }
      const std::string& name = key.Scalar();
      if (name == "hours_per_day") {
        ParseHoursPerDay(key, value, mapping);
      } else if (name == "fields") {
        has_fields = true;
        ParseFields(key, value, mapping);
      } else if (name == "skip") {
        ParseSkip(value, mapping);
      } else if (name == "sync_back") {
        ParseSyncBack(key, value, mapping);
      } else {
        Error(key, "unknown top-level key `" + name +
                       "`; expected hours_per_day, fields, skip or sync_back");
      }
    }
    if (!has_fields) {
      Error(root, "`fields` is missing; a mapping needs at least one field rule");
    }
    // Both checks need the whole file: `sync_back` may come before `fields`.
    if (mapping.sync_back) {
      CheckNoEcho(mapping);
      WarnAboutUpdated(mapping);
    }
  }

 private:
  // A mapping key must be a plain, non-empty, unrepeated scalar. A repeated
  // one is skipped here; CheckYaml() has reported it with both places.
  bool CheckKey(const YAML::Node& key, std::set<std::string, std::less<>>& seen) {
    if (!key.IsScalar() || key.Scalar().empty()) {
      Error(key, "keys must be non-empty names");
      return false;
    }
    return seen.insert(key.Scalar()).second;
  }

  void ParseHoursPerDay(const YAML::Node& key, const YAML::Node& value, Mapping& mapping) {
    constexpr std::string_view kMessage =
        "hours_per_day must be a number of hours between 0 and 24";
    if (!value.IsScalar()) {
      Error(value.IsNull() ? key : value, std::string(kMessage));
      return;
    }
    Value v = ScalarToValue(value);
    if (!v.IsNumber() || v.AsNumber() <= 0 || v.AsNumber() > 24) {
      Error(value, std::string(kMessage));
      return;
    }
    mapping.hours_per_day = v.AsNumber();
  }

  void ParseFields(const YAML::Node& key, const YAML::Node& value, Mapping& mapping) {
    if (value.IsNull() || (value.IsMap() && value.size() == 0)) {
      Error(value.IsNull() ? key : value,
            "`fields` is empty; a mapping needs at least one field rule");
      return;
    }
    if (!value.IsMap()) {
      Error(value, "`fields` must be a mapping from board field to rule");
      return;
    }
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : value) {
      if (!CheckKey(entry.first, seen)) {
        continue;
      }
      if (std::optional<FieldRule> rule = ParseRule(entry.first, entry.second)) {
        mapping.fields.push_back(std::move(*rule));
        field_places_.push_back(entry.first.Mark());
      }
    }
  }

  std::optional<FieldRule> ParseRule(const YAML::Node& key, const YAML::Node& node) {
    FieldRule rule;
    rule.target = key.Scalar();
    std::string where = "field `" + rule.target + "`: ";
    if (node.IsNull()) {
      Error(key, where + "empty rule; give a source path or a mapping with `from`");
      return std::nullopt;
    }
    if (node.IsScalar()) {
      rule.from = ParsePath(node, node.Scalar(), where);
      return rule.from ? std::optional(std::move(rule)) : std::nullopt;
    }
    if (!node.IsMap()) {
      Error(node,
            where + "a rule is a source path or a mapping with from, map, default, as or template");
      return std::nullopt;
    }
    std::size_t errors_before = diagnostics_.size();
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : node) {
      const YAML::Node& k = entry.first;
      const YAML::Node& v = entry.second;
      if (!CheckKey(k, seen)) {
        continue;
      }
      const std::string& name = k.Scalar();
      if (name == "from") {
        if (v.IsScalar()) {
          rule.from = ParsePath(v, v.Scalar(), where);
        } else {
          Error(v.IsNull() ? k : v, where + "`from` must be a source path");
        }
      } else if (name == "map") {
        rule.map = ParseMap(k, v, where);
      } else if (name == "default") {
        if (std::optional<Value> d = ParseResultValue(v, where + "`default`")) {
          rule.default_value = std::move(*d);
        }
      } else if (name == "as") {
        ParseAs(k, v, where, rule);
      } else if (name == "template") {
        if (v.IsScalar()) {
          rule.template_parts = ParseTemplate(v, where);
        } else {
          Error(v.IsNull() ? k : v, where + "`template` must be a string");
        }
      } else {
        Error(k, where + "unknown rule key `" + name +
                     "`; expected from, map, default, as or template");
      }
    }
    if (seen.contains("template")) {
      if (seen.contains("from") || seen.contains("map") || seen.contains("default")) {
        Error(node, where + "`template` cannot be combined with from, map or default");
      }
    } else if (!seen.contains("from")) {
      Error(node, where + "`from` is missing");
    }
    if (diagnostics_.size() != errors_before) {
      return std::nullopt;
    }
    return rule;
  }

  // `where` prefixes messages with the rule they belong to.
  std::optional<SourcePath> ParsePath(const YAML::Node& node, std::string_view text,
                                      const std::string& where) {
    SourcePath path;
    path.text = std::string(text);
    if (text.empty()) {
      Error(node, where + "empty source path");
      return std::nullopt;
    }
    if (text.front() == '$') {
      for (const auto& [name, builtin] : kBuiltins) {
        if (text == name) {
          path.builtin = builtin;
          return path;
        }
      }
      if (std::size_t dot = text.find('.'); dot != std::string_view::npos) {
        Error(node, where + "built-in `" + std::string(text.substr(0, dot)) + "` has no members");
      } else {
        Error(node, where + "unknown built-in `" + path.text +
                        "`; expected $id, $key, $url, $created, $updated or $resolved");
      }
      return std::nullopt;
    }
    std::size_t start = 0;
    while (true) {
      std::size_t dot = text.find('.', start);
      std::string_view segment =
          text.substr(start, dot == std::string_view::npos ? dot : dot - start);
      if (segment.empty()) {
        Error(node, where + "empty segment in source path `" + path.text + "`");
        return std::nullopt;
      }
      path.segments.emplace_back(segment);
      if (dot == std::string_view::npos) {
        break;
      }
      start = dot + 1;
    }
    return path;
  }

  std::optional<Value::Object> ParseMap(const YAML::Node& key, const YAML::Node& node,
                                        const std::string& where) {
    if (!node.IsMap()) {
      Error(node.IsNull() ? key : node,
            where + "`map` must be a mapping from source value to result");
      return std::nullopt;
    }
    Value::Object map;
    std::set<std::string, std::less<>> seen;
    bool ok = true;
    for (const auto& entry : node) {
      if (!CheckKey(entry.first, seen)) {
        ok = false;
        continue;
      }
      std::optional<Value> v =
          ParseResultValue(entry.second, where + "map value for `" + entry.first.Scalar() + "`");
      if (!v) {
        ok = false;
        continue;
      }
      map[entry.first.Scalar()] = std::move(*v);
    }
    return ok ? std::optional(std::move(map)) : std::nullopt;
  }

  // A map value or default: a scalar or a list of scalars.
  std::optional<Value> ParseResultValue(const YAML::Node& node, const std::string& what) {
    if (node.IsNull()) {
      return Value();
    }
    if (node.IsScalar()) {
      return ScalarToValue(node);
    }
    if (node.IsSequence()) {
      Value::List list;
      for (const YAML::Node& element : node) {
        if (!element.IsScalar()) {
          Error(element, what + " must be a scalar or a list of scalars");
          return std::nullopt;
        }
        list.push_back(ScalarToValue(element));
      }
      return Value(std::move(list));
    }
    Error(node, what + " must be a scalar or a list of scalars");
    return std::nullopt;
  }

  void ParseAs(const YAML::Node& key, const YAML::Node& node, const std::string& where,
               FieldRule& rule) {
    if (node.IsScalar()) {
      for (Conversion c : kConversions) {
        if (node.Scalar() == ConversionName(c)) {
          rule.as = c;
          return;
        }
      }
    }
    std::string shown = node.IsScalar() ? " `" + node.Scalar() + "`" : "";
    Error(node.IsNull() ? key : node,
          where + "unknown `as` value" + shown +
              "; expected one of hours, days, minutes, number, string, date");
  }

  std::optional<std::vector<TemplatePart>> ParseTemplate(const YAML::Node& node,
                                                         const std::string& where) {
    const std::string& text = node.Scalar();
    std::vector<TemplatePart> parts;
    std::string literal;
    auto flush = [&] {
      if (!literal.empty()) {
        parts.push_back(TemplatePart{std::move(literal), std::nullopt});
        literal.clear();
      }
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '}') {
        if (i + 1 < text.size() && text[i + 1] == '}') {
          literal.push_back('}');
          ++i;
          continue;
        }
        Error(node, where + "unmatched `}` in template; write `}}` for a literal brace");
        return std::nullopt;
      }
      if (c != '{') {
        literal.push_back(c);
        continue;
      }
      if (i + 1 < text.size() && text[i + 1] == '{') {
        literal.push_back('{');
        ++i;
        continue;
      }
      std::size_t close = text.find_first_of("{}", i + 1);
      if (close == std::string::npos || text[close] != '}') {
        Error(node, where + "unclosed `{` in template; write `{{` for a literal brace");
        return std::nullopt;
      }
      std::string_view inner = Trim(std::string_view(text).substr(i + 1, close - i - 1));
      if (inner.empty()) {
        Error(node, where + "empty placeholder `{}` in template");
        return std::nullopt;
      }
      std::optional<SourcePath> path = ParsePath(node, inner, where);
      if (!path) {
        return std::nullopt;
      }
      flush();
      parts.push_back(TemplatePart{"", std::move(path)});
      i = close;
    }
    flush();
    return parts;
  }

  void ParseSkip(const YAML::Node& value, Mapping& mapping) {
    if (value.IsNull()) {
      return;
    }
    if (!value.IsMap()) {
      Error(value, "`skip` must be a mapping from source path to a list of values");
      return;
    }
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : value) {
      const YAML::Node& k = entry.first;
      const YAML::Node& v = entry.second;
      if (!CheckKey(k, seen)) {
        continue;
      }
      std::optional<SourcePath> path = ParsePath(k, k.Scalar(), "skip: ");
      std::string message =
          "skip `" + k.Scalar() + "` must be a list of values, e.g. [Duplicate, \"Won't fix\"]";
      if (!v.IsSequence()) {
        Error(v.IsNull() ? k : v, message);
        continue;
      }
      SkipRule rule;
      bool ok = path.has_value();
      for (const YAML::Node& element : v) {
        if (!element.IsScalar()) {
          Error(element, message);
          ok = false;
          break;
        }
        rule.values.push_back(element.Scalar());
      }
      if (ok) {
        rule.path = std::move(*path);
        mapping.skip.push_back(std::move(rule));
        skip_places_.push_back(k.Mark());
      }
    }
  }

  // The `sync_back` section (DESIGN §3.1). The targets that parse are kept
  // even when others do not, so that the echo check still runs on them.
  void ParseSyncBack(const YAML::Node& key, const YAML::Node& value, Mapping& mapping) {
    if (!value.IsMap()) {
      Error(value.IsNull() ? key : value,
            "`sync_back` must be a mapping with `fields` (and optionally `create`)");
      return;
    }
    SyncBack sync_back;
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : value) {
      const YAML::Node& k = entry.first;
      const YAML::Node& v = entry.second;
      if (!CheckKey(k, seen)) {
        continue;
      }
      const std::string& name = k.Scalar();
      if (name == "create") {
        Value create = v.IsScalar() ? ScalarToValue(v) : Value();
        if (create.IsBool()) {
          sync_back.create = create.AsBool();
        } else {
          Error(v.IsNull() ? k : v, "sync_back: `create` must be true or false");
        }
      } else if (name == "fields") {
        ParseSyncBackFields(k, v, sync_back);
      } else {
        Error(k, "sync_back: unknown key `" + name + "`; expected create or fields");
      }
    }
    if (!seen.contains("fields")) {
      Error(key, "sync_back: `fields` is missing; name at least one tracker field to write");
    }
    mapping.sync_back = std::move(sync_back);
  }

  void ParseSyncBackFields(const YAML::Node& key, const YAML::Node& value, SyncBack& sync_back) {
    if (value.IsNull() || (value.IsMap() && value.size() == 0)) {
      Error(value.IsNull() ? key : value,
            "sync_back: `fields` is empty; name at least one tracker field to write");
      return;
    }
    if (!value.IsMap()) {
      Error(value,
            "sync_back: `fields` must be a mapping from tracker field to "
            "{ from: <board score>, type: float, integer or string }");
      return;
    }
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : value) {
      if (!CheckKey(entry.first, seen)) {
        continue;
      }
      std::optional<SyncBackField> field = ParseSyncBackField(entry.first, entry.second);
      if (!field) {
        continue;
      }
      // Trackers look fields up by name regardless of case, so two such
      // targets would write one field twice.
      auto same = std::ranges::find_if(sync_back.fields, [&field](const SyncBackField& other) {
        return AsciiLower(other.target) == AsciiLower(field->target);
      });
      if (same != sync_back.fields.end()) {
        Error(entry.first, "sync_back target \"" + field->target +
                               "\" is the same tracker field as \"" + same->target + "\" (line " +
                               std::to_string(same->line) +
                               "): trackers match field names regardless of case");
        continue;
      }
      sync_back.fields.push_back(std::move(*field));
    }
  }

  std::optional<SyncBackField> ParseSyncBackField(const YAML::Node& key, const YAML::Node& node) {
    SyncBackField field;
    field.target = key.Scalar();
    field.line = key.Mark().line + 1;
    field.column = key.Mark().column + 1;
    std::string where = "sync_back target \"" + field.target + "\": ";
    if (!node.IsMap()) {
      Error(node.IsNull() ? key : node,
            where + "expected { from: <board score>, type: float, integer or string }");
      return std::nullopt;
    }
    std::size_t errors_before = diagnostics_.size();
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : node) {
      const YAML::Node& k = entry.first;
      const YAML::Node& v = entry.second;
      if (!CheckKey(k, seen)) {
        continue;
      }
      const std::string& name = k.Scalar();
      if (name == "from") {
        if (v.IsScalar() && !v.Scalar().empty()) {
          field.from = v.Scalar();
        } else {
          Error(v.IsNull() ? k : v,
                where + "`from` must be the name of a board score, e.g. from: score");
        }
      } else if (name == "type") {
        ParseFieldType(k, v, where, field);
      } else {
        Error(k, where + "unknown key `" + name + "`; expected from or type");
      }
    }
    if (!seen.contains("from")) {
      Error(node, where + "`from` is missing; name the board score to write, e.g. from: score");
    }
    if (diagnostics_.size() != errors_before) {
      return std::nullopt;
    }
    return field;
  }

  // `type` may be left out: a score is a number, and Prepare() refuses a
  // target whose tracker field has another type, naming both.
  void ParseFieldType(const YAML::Node& key, const YAML::Node& node, const std::string& where,
                      SyncBackField& field) {
    if (node.IsScalar()) {
      for (FieldType type : kFieldTypes) {
        if (node.Scalar() == FieldTypeName(type)) {
          field.type = type;
          return;
        }
      }
    }
    std::string shown = node.IsScalar() ? " `" + node.Scalar() + "`" : "";
    Error(node.IsNull() ? key : node,
          where + "unknown `type`" + shown + "; expected float, integer or string");
  }

  // A rule of `fields` or `skip` and the source fields it reads.
  struct Reader {
    std::string rule;                 // "fields.priority", "skip.State"
    YAML::Mark place;                 // of the rule's key
    std::vector<std::string> fields;  // first path segments; no built-ins
    bool reads_updated = false;
  };

  std::vector<Reader> Readers(const Mapping& mapping) const {
    std::vector<Reader> readers;
    auto add = [](Reader& reader, const SourcePath& path) {
      if (path.builtin) {
        reader.reads_updated |= *path.builtin == Builtin::kUpdated;
      } else if (!path.segments.empty() &&
                 std::ranges::find(reader.fields, path.segments.front()) == reader.fields.end()) {
        reader.fields.push_back(path.segments.front());
      }
    };
    // field_places_ and skip_places_ run parallel to the rules that parsed.
    for (std::size_t i = 0; i < mapping.fields.size() && i < field_places_.size(); ++i) {
      const FieldRule& rule = mapping.fields[i];
      Reader reader{.rule = "fields." + rule.target, .place = field_places_[i]};
      if (rule.from) {
        add(reader, *rule.from);
      }
      if (rule.template_parts) {
        for (const TemplatePart& part : *rule.template_parts) {
          if (part.path) {
            add(reader, *part.path);
          }
        }
      }
      readers.push_back(std::move(reader));
    }
    for (std::size_t i = 0; i < mapping.skip.size() && i < skip_places_.size(); ++i) {
      Reader reader{.rule = "skip." + mapping.skip[i].path.text, .place = skip_places_[i]};
      add(reader, mapping.skip[i].path);
      readers.push_back(std::move(reader));
    }
    return readers;
  }

  // No echo (DESIGN §3.1): a field the mapping reads is never written back,
  // so a sync back never changes what the next sync maps.
  void CheckNoEcho(const Mapping& mapping) {
    std::vector<Reader> readers = Readers(mapping);
    for (const SyncBackField& target : mapping.sync_back->fields) {
      std::vector<std::string> found;
      for (const Reader& reader : readers) {
        std::string line = std::to_string(reader.place.line + 1);
        for (const std::string& field : reader.fields) {
          if (field == target.target) {
            found.push_back(reader.rule + " (line " + line + ")");
          } else if (AsciiLower(field) == AsciiLower(target.target)) {
            found.push_back(reader.rule + " (line " + line + ", as \"" + field +
                            "\", which trackers take for the same field)");
          }
        }
      }
      if (found.empty()) {
        continue;
      }
      std::string readers_text = found.front();
      for (std::size_t i = 1; i < found.size(); ++i) {
        readers_text += (i + 1 == found.size() ? " and " : ", ") + found[i];
      }
      diagnostics_.push_back(Diagnostic{file_, target.line, target.column,
                                        "sync_back target \"" + target.target + "\" is read by " +
                                            readers_text +
                                            ": a sync back would change what the next sync maps"});
    }
  }

  // Every write moves the issue's `updated` in YouTrack and Jira, so a rule
  // reading it changes each written item at the next sync. Not refused: the
  // operator may want the time and accept the extra board writes.
  void WarnAboutUpdated(const Mapping& mapping) {
    for (const Reader& reader : Readers(mapping)) {
      if (!reader.reads_updated) {
        continue;
      }
      warnings_.push_back(Diagnostic{
          file_, reader.place.line + 1, reader.place.column + 1,
          reader.rule + " reads $updated while sync_back is on: a sync back write moves the "
                        "issue's updated time, so the next sync changes every item it wrote"});
    }
  }

  std::string file_;
  Diagnostics diagnostics_;
  Diagnostics warnings_;
  // The places of the keys of the rules that parsed, parallel to
  // Mapping::fields and Mapping::skip, for naming a rule by its line.
  std::vector<YAML::Mark> field_places_;
  std::vector<YAML::Mark> skip_places_;
};

}  // namespace

std::expected<Mapping, Diagnostics> ParseMapping(std::string_view yaml_text,
                                                 const std::string& file_name) {
  Parser parser(file_name);
  YamlCheck limits = CheckYaml(yaml_text, file_name);
  if (limits.refuse) {
    return std::unexpected(std::move(limits.problems));
  }
  parser.diagnostics() = std::move(limits.problems);
  Mapping mapping;
  mapping.source_text = std::string(yaml_text);
  try {
    YAML::Node root = YAML::Load(mapping.source_text);
    parser.ParseRoot(root, mapping);
  } catch (const YAML::ParserException& e) {
    parser.ErrorAt(e.mark, "invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    parser.ErrorAt(e.mark, "cannot read mapping: " + e.msg);
  }
  if (!parser.diagnostics().empty()) {
    return std::unexpected(std::move(parser.diagnostics()));
  }
  mapping.warnings = std::move(parser.warnings());
  mapping.target_order.resize(mapping.fields.size());
  std::iota(mapping.target_order.begin(), mapping.target_order.end(), std::size_t{0});
  std::sort(mapping.target_order.begin(), mapping.target_order.end(),
            [&mapping](std::size_t a, std::size_t b) {
              return mapping.fields[a].target < mapping.fields[b].target;
            });
  return mapping;
}

std::expected<Mapping, Diagnostics> LoadMappingFile(const std::filesystem::path& path) {
  std::string file_name = path.string();
  auto text = ReadBoundedFile(path);
  if (!text) {
    return std::unexpected(
        Diagnostics{Diagnostic{file_name, 0, 0, "cannot read mapping file: " + text.error()}});
  }
  return ParseMapping(*text, file_name);
}

}  // namespace boardsync

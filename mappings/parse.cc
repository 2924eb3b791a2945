#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

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
      } else {
        Error(key, "unknown top-level key `" + name + "`; expected hours_per_day, fields or skip");
      }
    }
    if (!has_fields) {
      Error(root, "`fields` is missing; a mapping needs at least one field rule");
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
      }
    }
  }

  std::string file_;
  Diagnostics diagnostics_;
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

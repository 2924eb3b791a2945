#include "mappings/mapping.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "core/text.h"

namespace boardsync {
namespace {

std::string EscapeTemplateText(std::string_view text) {
  std::string out;
  for (char c : text) {
    out.push_back(c);
    if (c == '{' || c == '}') {
      out.push_back(c);
    }
  }
  return out;
}

std::string TemplateText(const std::vector<TemplatePart>& parts) {
  std::string out;
  for (const TemplatePart& part : parts) {
    out += part.path ? "{" + part.path->text + "}" : EscapeTemplateText(part.literal);
  }
  return out;
}

// The rules as one canonical Value, so the fingerprint ignores comments,
// quoting, key order and layout.
Value Canonical(const Mapping& mapping) {
  Value::Object fields;
  for (const FieldRule& rule : mapping.fields) {
    Value::Object r;
    if (rule.from) {
      r["from"] = rule.from->text;
    }
    if (rule.template_parts) {
      r["template"] = TemplateText(*rule.template_parts);
    }
    if (rule.map) {
      r["map"] = *rule.map;
    }
    if (!rule.default_value.IsNull()) {
      r["default"] = rule.default_value;
    }
    if (rule.as != Conversion::kNone) {
      r["as"] = ConversionName(rule.as);
    }
    fields[rule.target] = std::move(r);
  }
  Value::Object skip;
  for (const SkipRule& rule : mapping.skip) {
    Value::List values(rule.values.begin(), rule.values.end());
    skip[rule.path.text] = std::move(values);
  }
  return Value::Object{
      {"fields", std::move(fields)},
      {"hours_per_day", mapping.hours_per_day},
      {"skip", std::move(skip)},
  };
}

}  // namespace

std::string_view ConversionName(Conversion conversion) {
  switch (conversion) {
    case Conversion::kNone:
      return "";
    case Conversion::kHours:
      return "hours";
    case Conversion::kDays:
      return "days";
    case Conversion::kMinutes:
      return "minutes";
    case Conversion::kNumber:
      return "number";
    case Conversion::kString:
      return "string";
    case Conversion::kDate:
      return "date";
  }
  return "";
}

std::vector<std::string> Mapping::SourceFields() const {
  std::vector<std::string> names;
  auto add = [&names](const SourcePath& path) {
    if (!path.builtin && !path.segments.empty()) {
      names.push_back(path.segments.front());
    }
  };
  for (const FieldRule& rule : fields) {
    if (rule.from) {
      add(*rule.from);
    }
    if (rule.template_parts) {
      for (const TemplatePart& part : *rule.template_parts) {
        if (part.path) {
          add(*part.path);
        }
      }
    }
  }
  for (const SkipRule& rule : skip) {
    add(rule.path);
  }
  std::ranges::sort(names);
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string Mapping::Fingerprint() const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(Fnv1a64(Canonical(*this).ToJson())));
  return hex;
}

}  // namespace boardsync

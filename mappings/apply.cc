#include <charconv>
#include <cmath>
#include <iterator>
#include <span>
#include <utility>
#include <vector>

#include "core/time.h"
#include "mappings/mapping.h"

namespace boardsync {
namespace {

// A failed step; ApplyMapping() adds the issue key and field name.
using StepResult = std::expected<Value, std::string>;

// An object as a plain value is its "name" (a user's full name, a project's
// name); objects without one stay as they are. The one copy a read makes.
Value Plain(const Value& v) {
  if (v.IsObject()) {
    const Value* name = v.FindNonNull("name");
    return name != nullptr ? Plain(*name) : v;
  }
  if (v.IsList()) {
    Value::List list;
    list.reserve(v.AsList().size());
    for (const Value& element : v.AsList()) {
      list.push_back(Plain(element));
    }
    return list;
  }
  return v;
}

Value ReadBuiltin(Builtin builtin, const Issue& issue) {
  switch (builtin) {
    case Builtin::kId:
      return issue.id;
    case Builtin::kKey:
      return issue.key;
    case Builtin::kUrl:
      return issue.url;
    case Builtin::kCreated:
      return FormatIsoUtc(issue.created_ms);
    case Builtin::kUpdated:
      return FormatIsoUtc(issue.updated_ms);
    case Builtin::kResolved:
      return issue.resolved_ms ? Value(FormatIsoUtc(*issue.resolved_ms)) : Value();
  }
  return Value();
}

// Follows `members` into objects; on a list, follows them from each element.
// Anything that is not there reads as null. What it reaches, as Plain().
Value Walk(const Value& v, std::span<const std::string> members) {
  if (members.empty()) {
    return Plain(v);
  }
  if (v.IsList()) {
    Value::List list;
    list.reserve(v.AsList().size());
    for (const Value& element : v.AsList()) {
      list.push_back(Walk(element, members));
    }
    return list;
  }
  const Value* member = v.Find(members.front());
  return member != nullptr ? Walk(*member, members.subspan(1)) : Value();
}

Value Read(const SourcePath& path, const Issue& issue) {
  if (path.builtin) {
    return ReadBuiltin(*path.builtin, issue);
  }
  if (path.segments.empty()) {
    return Value();
  }
  auto field = issue.fields.find(path.segments.front());
  if (field == issue.fields.end()) {
    return Value();
  }
  return Walk(field->second, std::span(path.segments).subspan(1));
}

Value Lookup(const Value::Object& map, const Value& v, const Value& default_value) {
  if (v.IsList()) {
    Value::List list;
    for (const Value& element : v.AsList()) {
      list.push_back(Lookup(map, element, default_value));
    }
    return list;
  }
  if (v.IsNull()) {
    return default_value;
  }
  auto it = map.find(v.ToText());
  return it != map.end() ? it->second : default_value;
}

// A number, or a string holding one ("42" -> 42, "4.5" -> 4.5).
std::optional<Value> ToNumber(const Value& v) {
  if (v.IsNumber()) {
    return v;
  }
  if (!v.IsString()) {
    return std::nullopt;
  }
  return NumberFromText(v.AsString());
}

StepResult ConvertOne(Conversion as, Value v, double hours_per_day) {
  if (v.IsNull()) {
    return v;
  }
  switch (as) {
    case Conversion::kNone:
    case Conversion::kString:
      return std::move(v);
    case Conversion::kHours:
    case Conversion::kDays:
    case Conversion::kMinutes:
    case Conversion::kNumber: {
      std::optional<Value> number = ToNumber(v);
      if (!number) {
        std::string expected = as == Conversion::kNumber ? "a number" : "a number of minutes";
        return std::unexpected("expected " + expected + ", got " + v.ToJson());
      }
      if (as == Conversion::kHours) {
        return Value(number->AsNumber() / 60);
      }
      if (as == Conversion::kDays) {
        return Value(number->AsNumber() / (60 * hours_per_day));
      }
      return *number;
    }
    case Conversion::kDate: {
      if (v.IsNumber()) {
        return Value(FormatIsoDate(static_cast<std::int64_t>(v.AsNumber())));
      }
      if (v.IsString()) {
        if (std::optional<std::int64_t> ms = ParseIsoUtc(v.AsString())) {
          return Value(FormatIsoDate(*ms));
        }
      }
      return std::unexpected("expected an ISO-8601 date or epoch milliseconds, got " + v.ToJson());
    }
  }
  return v;
}

StepResult Convert(Conversion as, Value v, double hours_per_day) {
  if (as == Conversion::kString) {
    return v.IsNull() || v.IsString() ? std::move(v) : Value(v.ToText());
  }
  if (!v.IsList()) {
    return ConvertOne(as, std::move(v), hours_per_day);
  }
  Value::List list;
  list.reserve(v.AsList().size());
  for (Value& element : v.AsList()) {
    StepResult converted = ConvertOne(as, std::move(element), hours_per_day);
    if (!converted) {
      return converted;
    }
    list.push_back(std::move(*converted));
  }
  return list;
}

std::string Render(const std::vector<TemplatePart>& parts, const Issue& issue) {
  std::string out;
  for (const TemplatePart& part : parts) {
    out += part.path ? Read(*part.path, issue).ToText() : part.literal;
  }
  return out;
}

StepResult ApplyRule(const FieldRule& rule, const Issue& issue, double hours_per_day) {
  Value v;
  if (rule.template_parts) {
    v = Render(*rule.template_parts, issue);
  } else if (rule.from) {
    v = Read(*rule.from, issue);
  }
  if (rule.map) {
    v = Lookup(*rule.map, v, rule.default_value);
  }
  StepResult converted = Convert(rule.as, std::move(v), hours_per_day);
  if (!converted) {
    return converted;
  }
  if (converted->IsNull()) {
    return rule.default_value;
  }
  return converted;
}

bool Skipped(const SkipRule& rule, const Issue& issue) {
  Value v = Read(rule.path, issue);
  auto matches = [&rule](const Value& value) {
    if (value.IsNull()) {
      return false;
    }
    std::string text = value.ToText();
    for (const std::string& candidate : rule.values) {
      if (candidate == text) {
        return true;
      }
    }
    return false;
  };
  if (v.IsList()) {
    for (const Value& element : v.AsList()) {
      if (matches(element)) {
        return true;
      }
    }
    return false;
  }
  return matches(v);
}

}  // namespace

Result<std::optional<Value::Object>> ApplyMapping(const Mapping& mapping, const Issue& issue) {
  for (const SkipRule& rule : mapping.skip) {
    if (Skipped(rule, issue)) {
      return std::optional<Value::Object>();
    }
  }
  // Gathered in target order (the object then has nothing to sort), or in
  // rule order and sorted once; inserting each in key order would move the
  // members after it every time.
  const bool in_order = mapping.target_order.size() == mapping.fields.size();
  std::vector<std::pair<std::string, Value>> fields;
  fields.reserve(mapping.fields.size());
  for (std::size_t i = 0; i < mapping.fields.size(); ++i) {
    const FieldRule& rule = mapping.fields[in_order ? mapping.target_order[i] : i];
    StepResult v = ApplyRule(rule, issue, mapping.hours_per_day);
    if (!v) {
      const std::string& name = issue.key.empty() ? issue.id : issue.key;
      return Fail(ErrorCode::kMapping, name + ": field " + rule.target + ": " + v.error());
    }
    fields.emplace_back(rule.target, std::move(*v));
  }
  return Value::Object(std::make_move_iterator(fields.begin()),
                       std::make_move_iterator(fields.end()));
}

}  // namespace boardsync

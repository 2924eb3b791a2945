#include "tests/support/youtrack_fields.h"

#include <utility>
#include <vector>

namespace boardsync {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

void Merge(FieldSelector& into, FieldSelector&& from) {
  for (auto& [name, child] : from.children) {
    Merge(into.children[name], std::move(child));
  }
}

// Parses items up to a ')' (when `nested`) or the end of the text.
Result<FieldSelector> ParseList(std::string_view text, std::size_t& pos, bool nested) {
  FieldSelector selector;
  while (true) {
    std::size_t start = pos;
    while (pos < text.size() && text[pos] != ',' && text[pos] != '(' && text[pos] != ')') {
      ++pos;
    }
    std::string_view name = Trim(text.substr(start, pos - start));
    FieldSelector child;
    if (pos < text.size() && text[pos] == '(') {
      if (name.empty()) {
        return Fail(ErrorCode::kBadResponse,
                    "fields: '(' without a name at offset " + std::to_string(pos));
      }
      ++pos;
      auto inner = ParseList(text, pos, true);
      if (!inner) {
        return inner;
      }
      child = std::move(*inner);
      ++pos;  // the ')'
      while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) {
        ++pos;
      }
      if (pos < text.size() && text[pos] != ',' && text[pos] != ')') {
        return Fail(ErrorCode::kBadResponse,
                    "fields: unexpected text after ')' at offset " + std::to_string(pos));
      }
    }
    if (!name.empty()) {
      Merge(selector.children[std::string(name)], std::move(child));
    }
    if (pos >= text.size()) {
      if (nested) {
        return Fail(ErrorCode::kBadResponse, "fields: unclosed '('");
      }
      return selector;
    }
    if (text[pos] == ')') {
      if (!nested) {
        return Fail(ErrorCode::kBadResponse,
                    "fields: unmatched ')' at offset " + std::to_string(pos));
      }
      return selector;
    }
    ++pos;  // the ','
  }
}

}  // namespace

const FieldSelector* FieldSelector::Find(std::string_view name) const {
  auto it = children.find(name);
  return it == children.end() ? nullptr : &it->second;
}

Result<FieldSelector> ParseFieldSelector(std::string_view text) {
  std::size_t pos = 0;
  return ParseList(text, pos, false);
}

FieldSelector DefaultFieldSelector() {
  FieldSelector selector;
  selector.children["id"];
  return selector;
}

Value ProjectFields(const Value& entity, const FieldSelector& selector) {
  if (entity.IsList()) {
    Value::List out;
    out.reserve(entity.AsList().size());
    for (const Value& element : entity.AsList()) {
      out.push_back(ProjectFields(element, selector));
    }
    return Value(std::move(out));
  }
  if (!entity.IsObject()) {
    return entity;
  }
  Value::Object out;
  if (const Value* type = entity.Find("$type")) {
    out.emplace("$type", *type);
  }
  for (const auto& [name, child] : selector.children) {
    if (name == "$type") {
      continue;
    }
    if (const Value* member = entity.Find(name)) {
      out.emplace(name, ProjectFields(*member, child));
    }
  }
  return Value(std::move(out));
}

void AppendProjectedJson(const Value& entity, const FieldSelector& selector, std::string& out) {
  if (entity.IsList()) {
    out.push_back('[');
    for (const Value& element : entity.AsList()) {
      if (&element != entity.AsList().data()) {
        out.push_back(',');
      }
      AppendProjectedJson(element, selector, out);
    }
    out.push_back(']');
    return;
  }
  if (!entity.IsObject()) {
    entity.AppendJson(out);
    return;
  }
  // Members in key order, as ToJson() writes them: `$type` goes where it
  // sorts among the requested names.
  constexpr std::string_view kType = "$type";
  const Value* type = entity.Find(kType);
  bool first = true;
  auto member = [&](std::string_view name) {
    out += first ? "{" : ",";
    first = false;
    AppendJsonString(out, name);
    out.push_back(':');
  };
  for (const auto& [name, child] : selector.children) {
    if (type != nullptr && name >= kType) {
      member(kType);
      type->AppendJson(out);
      type = nullptr;
    }
    if (name == kType) {
      continue;
    }
    if (const Value* value = entity.Find(name)) {
      member(name);
      AppendProjectedJson(*value, child, out);
    }
  }
  if (type != nullptr) {
    member(kType);
    type->AppendJson(out);
  }
  out += first ? "{}" : "}";
}

}  // namespace boardsync

#include "connectors/jira/fields.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "core/text.h"

namespace boardsync {
namespace {

// Every pull needs them: `updated` orders the sync and moves the cursor,
// the other two are Issue::created_ms and resolved_ms.
constexpr std::array<std::string_view, 3> kAlwaysIds = {"updated", "created", "resolutiondate"};

// What these system fields are when the catalogue does not say (an id-only
// test catalogue, or a Data Center that leaves one out): enough for decoding.
JiraField SystemField(std::string_view id) {
  JiraField f;
  f.id = std::string(id);
  f.key = f.id;
  f.system = f.id;
  if (id == "parent") {
    f.name = "Parent";
    f.type = "issuelink";
  } else {
    f.name = id == "updated" ? "Updated" : id == "created" ? "Created" : "Resolved";
    f.type = "datetime";
  }
  return f;
}

std::string_view StringMember(JsonView object, std::string_view key) {
  return object.StringOr(key);
}

}  // namespace

Result<std::vector<JiraField>> DecodeJiraFields(JsonView json) {
  if (!json.IsList()) {
    return Fail(ErrorCode::kBadResponse, "the field list is not a JSON array");
  }
  std::vector<JiraField> fields;
  fields.reserve(json.size());
  for (JsonView element : json.Elements()) {
    std::string_view id = element.IsObject() ? StringMember(element, "id") : std::string_view();
    if (id.empty()) {
      continue;
    }
    if (std::any_of(fields.begin(), fields.end(), [&](const JiraField& f) { return f.id == id; })) {
      continue;  // the first of a repeated id, as with repeated JSON keys
    }
    JiraField field;
    field.id = std::string(id);
    std::string_view key = StringMember(element, "key");
    field.key = key.empty() ? field.id : std::string(key);
    field.name = std::string(StringMember(element, "name"));
    auto custom = element.Find("custom");
    field.custom = custom && custom->IsBool() && custom->AsBool();
    if (auto schema = element.FindNonNull("schema"); schema && schema->IsObject()) {
      field.type = std::string(StringMember(*schema, "type"));
      field.items = std::string(StringMember(*schema, "items"));
      field.custom_type = std::string(StringMember(*schema, "custom"));
      field.system = std::string(StringMember(*schema, "system"));
    }
    fields.push_back(std::move(field));
  }
  return fields;
}

Result<JiraFieldSelection> SelectJiraFields(const std::vector<JiraField>& catalogue,
                                            const std::vector<std::string>& source_names) {
  JiraFieldSelection selection;
  auto requested = [&selection](std::string_view id) -> JiraRequestedField* {
    for (JiraRequestedField& r : selection.fields) {
      if (r.field.id == id) {
        return &r;
      }
    }
    return nullptr;
  };
  auto request = [&](const JiraField& field) -> JiraRequestedField& {
    if (JiraRequestedField* r = requested(field.id)) {
      return *r;
    }
    selection.request.push_back(field.id);
    selection.fields.push_back(JiraRequestedField{field, {}});
    return selection.fields.back();
  };
  for (std::string_view id : kAlwaysIds) {
    // By id only: a custom field named "Created" is not the creation time.
    auto it = std::find_if(catalogue.begin(), catalogue.end(),
                           [&](const JiraField& f) { return f.id == id; });
    request(it != catalogue.end() ? *it : SystemField(id));
  }

  std::string ambiguous;
  std::vector<std::string_view> seen;
  for (const std::string& source_name : source_names) {
    // As the mapping reads a path: the field, then members inside its value.
    std::string_view name = source_name;
    name = name.substr(0, name.find('.'));
    if (name.empty() || name.starts_with("$") ||
        std::find(seen.begin(), seen.end(), name) != seen.end()) {
      continue;
    }
    seen.push_back(name);
    auto hits = MatchJiraField(catalogue, name);
    if (hits.size() > 1) {
      ambiguous += ambiguous.empty() ? "" : "; ";
      ambiguous += JiraSharedNameText(catalogue, name, hits);
      continue;
    }
    if (hits.empty()) {
      if (AsciiLower(name) == "parent") {
        request(SystemField("parent")).names.emplace_back(name);
      } else {
        selection.unknown.emplace_back(name);
      }
      continue;
    }
    request(catalogue[hits.front()]).names.emplace_back(name);
  }
  if (!ambiguous.empty()) {
    return Fail(ErrorCode::kConfig,
                ambiguous + ": name the field by its id (e.g. customfield_10016) in the mapping");
  }
  return selection;
}

std::vector<std::size_t> MatchJiraField(const std::vector<JiraField>& catalogue,
                                        std::string_view name) {
  std::vector<std::size_t> hits;
  for (std::size_t i = 0; i < catalogue.size(); ++i) {
    if (catalogue[i].id == name) {
      return {i};  // ids are unique
    }
  }
  for (std::size_t i = 0; i < catalogue.size(); ++i) {
    if (catalogue[i].key == name) {
      return {i};
    }
  }
  for (std::size_t i = 0; i < catalogue.size(); ++i) {
    if (catalogue[i].name == name) {
      hits.push_back(i);
    }
  }
  if (!hits.empty()) {
    return hits;
  }
  const std::string lower = AsciiLower(name);
  for (std::size_t i = 0; i < catalogue.size(); ++i) {
    if (AsciiLower(catalogue[i].name) == lower) {
      hits.push_back(i);
    }
  }
  return hits;
}

std::string JiraSharedNameText(const std::vector<JiraField>& catalogue, std::string_view name,
                               const std::vector<std::size_t>& hits) {
  std::string text = "field name \"" + std::string(name) + "\" is shared by ";
  for (std::size_t i = 0; i < hits.size(); ++i) {
    text += i == 0 ? "" : i + 1 == hits.size() ? " and " : ", ";
    text += catalogue[hits[i]].id;
  }
  return text;
}

std::string JiraFieldsParameter(const JiraFieldSelection& selection) {
  std::string out;
  for (const std::string& id : selection.request) {
    out += out.empty() ? "" : ",";
    out += id;
  }
  return out;
}

}  // namespace boardsync

#include "connectors/youtrack/fields.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/url.h"

namespace boardsync {
namespace {

// Needed for Issue::id, key, url, and for ordering by update time.
constexpr std::string_view kAlwaysFields = "id,idReadable,created,updated,resolved";

constexpr std::string_view kUserProjection = "(login,fullName,email)";

// One sub-selector for every custom field value type: attributes that do not
// apply to a value's $type are left out by the server. fieldType tells the
// kinds of SimpleIssueCustomField (date and time, float, integer, string) apart.
constexpr std::string_view kCustomFieldsProjection =
    "customFields($type,name,value($type,name,login,fullName,email,minutes,presentation,text),"
    "projectCustomField(field(fieldType(id))))";

struct Attribute {
  std::string_view name;
  std::string_view suffix;  // sub-projection appended to the name, if any
};

constexpr std::array<Attribute, 9> kAttributes = {{
    {"summary", ""},
    {"description", ""},
    {"tags", "(name)"},
    {"project", "(shortName,name)"},
    {"reporter", kUserProjection},
    {"updater", kUserProjection},
    {"votes", ""},
    {"commentsCount", ""},
    {"numberInProject", ""},
}};

// Attributes that kAlwaysFields already brings.
constexpr std::array<std::string_view, 5> kAlwaysNames = {"id", "idReadable", "created", "updated",
                                                          "resolved"};

}  // namespace

IssueProjection BuildIssueProjection(const std::vector<std::string>& field_names) {
  IssueProjection projection;
  projection.fields = kAlwaysFields;
  std::vector<std::string_view> seen;
  for (const std::string& name : field_names) {
    if (name.empty() || name.starts_with("$")) {
      continue;
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      continue;
    }
    seen.push_back(name);
    if (std::find(kAlwaysNames.begin(), kAlwaysNames.end(), name) != kAlwaysNames.end()) {
      continue;
    }
    auto attribute = std::find_if(kAttributes.begin(), kAttributes.end(),
                                  [&](const Attribute& a) { return a.name == name; });
    if (attribute != kAttributes.end()) {
      projection.fields += ",";
      projection.fields += attribute->name;
      projection.fields += attribute->suffix;
    } else {
      projection.custom_fields.push_back(name);
    }
  }
  if (!projection.custom_fields.empty()) {
    projection.fields += ",";
    projection.fields += kCustomFieldsProjection;
  }
  return projection;
}

std::string IssuePageTarget(const IssueProjection& projection, std::string_view query, int top,
                            int skip) {
  std::string target = "/api/issues?";
  if (!query.empty()) {
    target += "query=" + PercentEncode(query) + "&";
  }
  target += "fields=" + PercentEncode(projection.fields);
  for (const std::string& name : projection.custom_fields) {
    target += "&customFields=" + PercentEncode(name);
  }
  target += "&$top=" + std::to_string(top);
  target += "&$skip=" + std::to_string(skip);
  return target;
}

}  // namespace boardsync

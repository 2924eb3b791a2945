// Helpers shared by the mapping tests: parse-or-fail and a sample issue in
// the value model the YouTrack connector produces.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/issue.h"
#include "mappings/mapping.h"

namespace boardsync {

inline std::string DiagnosticsText(const Diagnostics& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += d.ToString() + "\n";
  }
  return out;
}

// Parses `yaml`, failing the test (not aborting it) when it does not parse.
inline Mapping MustParse(std::string_view yaml) {
  auto mapping = ParseMapping(yaml, "test.yaml");
  EXPECT_TRUE(mapping.has_value()) << DiagnosticsText(mapping.error());
  return mapping ? *mapping : Mapping{};
}

inline Value User(std::string login, std::string name) {
  return Value::Object{
      {"login", login}, {"name", std::move(name)}, {"email", login + "@example.com"}};
}

// RAP-42 as the YouTrack connector hands it over.
inline Issue SampleIssue() {
  Issue issue;
  issue.id = "2-1234";
  issue.key = "RAP-42";
  issue.url = "https://acme.youtrack.cloud/issue/RAP-42";
  issue.created_ms = 1714557600000;  // 2024-05-01T10:00:00Z
  issue.updated_ms = 1714651200500;  // 2024-05-02T12:00:00.500Z
  issue.fields = Value::Object{
      {"summary", "Export fails on large boards"},
      {"description", nullptr},
      {"tags", Value::List{"export", "regression"}},
      {"project", Value::Object{{"shortName", "RAP"}, {"name", "Rapid"}}},
      {"reporter", User("mia", "Mia Chen")},
      {"State", "In Progress"},
      {"Priority", "Critical"},
      {"Type", "Bug"},
      {"Assignee", User("jdoe", "Jane Doe")},
      {"Estimation", 90},
      {"Spent time", 600},
      {"Due Date", "2024-06-15"},
      {"Fix versions", Value::List{"2024.2", "2024.3"}},
      {"Story points", 5},
      {"Business value", 2.5},
      {"Customer", "Globex"},
      {"Reviewers", Value::List{User("ann", "Ann Lee"), User("bo", "Bo Park")}},
      {"Started", "2024-05-03T08:30:00.000Z"},
  };
  return issue;
}

}  // namespace boardsync

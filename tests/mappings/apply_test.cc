#include <gtest/gtest.h>

#include <string>

#include "mappings/mapping.h"
#include "tests/mappings/mapping_testing.h"

namespace boardsync {
namespace {

// Maps SampleIssue() (or `issue`) with `yaml` and returns the fields,
// failing the test when the mapping errs or skips.
Value::Object Fields(std::string_view yaml, const Issue& issue = SampleIssue()) {
  Mapping mapping = MustParse(yaml);
  auto result = ApplyMapping(mapping, issue);
  EXPECT_TRUE(result.has_value()) << result.error().message;
  if (!result || !result->has_value()) {
    ADD_FAILURE() << "issue was skipped";
    return {};
  }
  return **result;
}

Value Field(std::string_view yaml, const std::string& name, const Issue& issue = SampleIssue()) {
  Value::Object fields = Fields(yaml, issue);
  auto it = fields.find(name);
  if (it == fields.end()) {
    ADD_FAILURE() << "no field " << name;
    return Value();
  }
  return it->second;
}

Error MappingError(std::string_view yaml, const Issue& issue = SampleIssue()) {
  Mapping mapping = MustParse(yaml);
  auto result = ApplyMapping(mapping, issue);
  if (result) {
    ADD_FAILURE() << "expected a mapping error";
    return Error{ErrorCode::kMapping, ""};
  }
  return result.error();
}

bool SkipsIssue(std::string_view yaml, const Issue& issue = SampleIssue()) {
  Mapping mapping = MustParse(yaml);
  auto result = ApplyMapping(mapping, issue);
  EXPECT_TRUE(result.has_value()) << result.error().message;
  return result && !result->has_value();
}

// --- copy and paths ---

TEST(ApplyMappingTest, CopiesSourceFieldsUnderTheirTargetNames) {
  Value::Object fields = Fields(R"(
fields:
  title: summary
  state: State
  points: Story points
  value: Business value
)");
  EXPECT_EQ(fields, (Value::Object{{"title", "Export fails on large boards"},
                                   {"state", "In Progress"},
                                   {"points", 5},
                                   {"value", 2.5}}));
}

TEST(ApplyMappingTest, ListsStayLists) {
  EXPECT_EQ(Field("fields: {labels: tags}", "labels"), (Value::List{"export", "regression"}));
}

TEST(ApplyMappingTest, MissingAndEmptySourceFieldsAreNull) {
  Value::Object fields = Fields(R"(
fields:
  description: description
  notes: Notes
  member: Notes.text
)");
  EXPECT_EQ(fields,
            (Value::Object{{"description", nullptr}, {"notes", nullptr}, {"member", nullptr}}));
}

TEST(ApplyMappingTest, DottedPathReadsIntoAnObject) {
  EXPECT_EQ(Field("fields: {assignee: Assignee.login}", "assignee"), Value("jdoe"));
  EXPECT_EQ(Field("fields: {project: project.shortName}", "project"), Value("RAP"));
}

TEST(ApplyMappingTest, DottedPathOnAListAppliesToEachElement) {
  EXPECT_EQ(Field("fields: {reviewers: Reviewers.login}", "reviewers"), (Value::List{"ann", "bo"}));
  EXPECT_EQ(Field("fields: {mails: Reviewers.email}", "mails"),
            (Value::List{"ann@example.com", "bo@example.com"}));
}

TEST(ApplyMappingTest, DottedPathToAbsentMemberOrIntoAScalarIsNull) {
  EXPECT_EQ(Field("fields: {x: Assignee.phone}", "x"), Value());
  EXPECT_EQ(Field("fields: {x: summary.length}", "x"), Value());
  Issue issue = SampleIssue();
  issue.fields["Assignee"] = nullptr;
  EXPECT_EQ(Field("fields: {x: Assignee.login}", "x", issue), Value());
}

TEST(ApplyMappingTest, ObjectAsPlainValueGivesItsName) {
  Value::Object fields = Fields(R"(
fields:
  assignee: Assignee
  reviewers: Reviewers
  project: project
)");
  EXPECT_EQ(fields, (Value::Object{{"assignee", "Jane Doe"},
                                   {"reviewers", Value::List{"Ann Lee", "Bo Park"}},
                                   {"project", "Rapid"}}));
}

TEST(ApplyMappingTest, ObjectWithoutNameIsKeptWhole) {
  Issue issue = SampleIssue();
  issue.fields["Size"] = Value::Object{{"width", 3}};
  EXPECT_EQ(Field("fields: {size: Size}", "size", issue), (Value::Object{{"width", 3}}));
}

// --- built-ins ---

TEST(ApplyMappingTest, BuiltIns) {
  Value::Object fields = Fields(R"(
fields:
  id: $id
  key: $key
  link: $url
  created: $created
  updated: $updated
  resolved: $resolved
)");
  EXPECT_EQ(fields, (Value::Object{{"id", "2-1234"},
                                   {"key", "RAP-42"},
                                   {"link", "https://acme.youtrack.cloud/issue/RAP-42"},
                                   {"created", "2024-05-01T10:00:00.000Z"},
                                   {"updated", "2024-05-02T12:00:00.500Z"},
                                   {"resolved", nullptr}}));
}

TEST(ApplyMappingTest, ResolvedIsATimestampOnceResolved) {
  Issue issue = SampleIssue();
  issue.resolved_ms = 1714730400000;  // 2024-05-03T10:00:00Z
  EXPECT_EQ(Field("fields: {resolved: $resolved}", "resolved", issue),
            Value("2024-05-03T10:00:00.000Z"));
}

TEST(ApplyMappingTest, BuiltInsAreNotReadFromFields) {
  Issue issue = SampleIssue();
  issue.fields["$key"] = "spoofed";
  EXPECT_EQ(Field("fields: {key: $key}", "key", issue), Value("RAP-42"));
}

// --- map and default ---

constexpr std::string_view kUrgency = R"(
fields:
  urgency:
    from: Priority
    map: { Show-stopper: 5, Critical: 4, Major: 3, Normal: 2, Minor: 1 }
    default: 2
)";

TEST(ApplyMappingTest, MapHit) { EXPECT_EQ(Field(kUrgency, "urgency"), Value(4)); }

TEST(ApplyMappingTest, MapMissGivesDefault) {
  Issue issue = SampleIssue();
  issue.fields["Priority"] = "Whenever";
  EXPECT_EQ(Field(kUrgency, "urgency", issue), Value(2));
}

TEST(ApplyMappingTest, MapOnNullOrMissingValueGivesDefault) {
  Issue issue = SampleIssue();
  issue.fields["Priority"] = nullptr;
  EXPECT_EQ(Field(kUrgency, "urgency", issue), Value(2));
  issue.fields.erase("Priority");
  EXPECT_EQ(Field(kUrgency, "urgency", issue), Value(2));
}

TEST(ApplyMappingTest, MapMissWithoutDefaultIsNull) {
  EXPECT_EQ(Field("fields: {u: {from: Priority, map: {Major: 3}}}", "u"), Value());
}

TEST(ApplyMappingTest, MapValuesKeepTheirYamlTypes) {
  Value::Object fields = Fields(R"(
fields:
  int: { from: Type, map: { Bug: 1 } }
  float: { from: Type, map: { Bug: 1.5 } }
  bool: { from: Type, map: { Bug: true } }
  text: { from: Type, map: { Bug: defect } }
  quoted: { from: Type, map: { Bug: "7" } }
  list: { from: Type, map: { Bug: [fix, 2] } }
)");
  EXPECT_EQ(fields, (Value::Object{{"int", 1},
                                   {"float", 1.5},
                                   {"bool", true},
                                   {"text", "defect"},
                                   {"quoted", "7"},
                                   {"list", Value::List{"fix", 2}}}));
}

TEST(ApplyMappingTest, MapLooksUpNumbersAndUsersByText) {
  Value::Object fields = Fields(R"(
fields:
  size: { from: Story points, map: { 5: M, 8: L } }
  owner: { from: Assignee, map: { Jane Doe: platform } }
)");
  EXPECT_EQ(fields, (Value::Object{{"size", "M"}, {"owner", "platform"}}));
}

TEST(ApplyMappingTest, MapOnAListMapsEachElement) {
  EXPECT_EQ(
      Field("fields: {l: {from: tags, map: {export: io, regression: bug}, default: other}}", "l"),
      (Value::List{"io", "bug"}));
  EXPECT_EQ(Field("fields: {l: {from: tags, map: {export: io}, default: other}}", "l"),
            (Value::List{"io", "other"}));
}

TEST(ApplyMappingTest, DefaultFillsANullWithoutMap) {
  Value::Object fields = Fields(R"yaml(
fields:
  description: { from: description, default: "(none)" }
  notes: { from: Notes, default: [] }
  title: { from: summary, default: untitled }
)yaml");
  EXPECT_EQ(fields, (Value::Object{{"description", "(none)"},
                                   {"notes", Value::List{}},
                                   {"title", "Export fails on large boards"}}));
}

// --- as ---

TEST(ApplyMappingTest, AsHoursDividesMinutesBySixty) {
  EXPECT_EQ(Field("fields: {effort: {from: Estimation, as: hours}}", "effort"), Value(1.5));
}

TEST(ApplyMappingTest, AsDaysCountsWorkingDays) {
  EXPECT_EQ(Field("fields: {spent: {from: Spent time, as: days}}", "spent"), Value(1.25));
  EXPECT_EQ(Field("hours_per_day: 5\nfields: {spent: {from: Spent time, as: days}}", "spent"),
            Value(2.0));
}

TEST(ApplyMappingTest, AsMinutesKeepsTheNumber) {
  EXPECT_EQ(Field("fields: {m: {from: Estimation, as: minutes}}", "m"), Value(90));
}

TEST(ApplyMappingTest, AsNumberParsesNumericStrings) {
  Issue issue = SampleIssue();
  issue.fields["Customer"] = "42";
  issue.fields["Notes"] = "4.5";
  Value::Object fields = Fields(R"(
fields:
  a: { from: Customer, as: number }
  b: { from: Notes, as: number }
  c: { from: Business value, as: number }
  d: { from: description, as: number }
)",
                                issue);
  EXPECT_EQ(fields, (Value::Object{{"a", 42}, {"b", 4.5}, {"c", 2.5}, {"d", nullptr}}));
}

TEST(ApplyMappingTest, AsNumberOnTextIsAMappingErrorNamingIssueAndField) {
  Error error = MappingError("fields: {value: {from: Customer, as: number}}");
  EXPECT_EQ(error.code, ErrorCode::kMapping);
  EXPECT_EQ(error.message, R"(RAP-42: field value: expected a number, got "Globex")");
}

TEST(ApplyMappingTest, AsHoursOnTextIsAMappingError) {
  Error error = MappingError("fields: {effort: {from: summary, as: hours}}");
  EXPECT_EQ(error.code, ErrorCode::kMapping);
  EXPECT_EQ(
      error.message,
      R"(RAP-42: field effort: expected a number of minutes, got "Export fails on large boards")");
}

TEST(ApplyMappingTest, AsStringGivesPlainText) {
  Value::Object fields = Fields(R"(
fields:
  points: { from: Story points, as: string }
  value: { from: Business value, as: string }
  labels: { from: tags, as: string }
  assignee: { from: Assignee, as: string }
  reviewers: { from: Reviewers, as: string }
  description: { from: description, as: string, default: "-" }
)");
  EXPECT_EQ(fields, (Value::Object{{"points", "5"},
                                   {"value", "2.5"},
                                   {"labels", "export, regression"},
                                   {"assignee", "Jane Doe"},
                                   {"reviewers", "Ann Lee, Bo Park"},
                                   {"description", "-"}}));
}

TEST(ApplyMappingTest, AsDateGivesTheCalendarDay) {
  Issue issue = SampleIssue();
  issue.fields["Deadline"] = std::int64_t{1718409600000};  // 2024-06-15T00:00:00Z
  Value::Object fields = Fields(R"(
fields:
  due: { from: Due Date, as: date }
  started: { from: Started, as: date }
  deadline: { from: Deadline, as: date }
  created: { from: $created, as: date }
  resolved: { from: $resolved, as: date }
)",
                                issue);
  EXPECT_EQ(fields, (Value::Object{{"due", "2024-06-15"},
                                   {"started", "2024-05-03"},
                                   {"deadline", "2024-06-15"},
                                   {"created", "2024-05-01"},
                                   {"resolved", nullptr}}));
}

TEST(ApplyMappingTest, AsDateOnNonDateIsAMappingError) {
  Error error = MappingError("fields: {due: {from: Customer, as: date}}");
  EXPECT_EQ(error.message,
            R"(RAP-42: field due: expected an ISO-8601 date or epoch milliseconds, got "Globex")");
}

TEST(ApplyMappingTest, AsAppliesToEachElementOfAList) {
  Issue issue = SampleIssue();
  issue.fields["Sessions"] = Value::List{30, 90};
  EXPECT_EQ(Field("fields: {s: {from: Sessions, as: hours}}", "s", issue), (Value::List{0.5, 1.5}));
}

TEST(ApplyMappingTest, StepsRunInOrderMapThenAsThenDefault) {
  // map gives minutes and `as` turns them into hours; a map miss gives the
  // default, which `as` converts like any mapped value.
  constexpr std::string_view kYaml = R"(
fields:
  budget: { from: Type, map: { Bug: 120, Feature: "n/a" }, as: hours, default: 0 }
)";
  EXPECT_EQ(Field(kYaml, "budget"), Value(2.0));
  Issue issue = SampleIssue();
  issue.fields["Type"] = "Task";
  EXPECT_EQ(Field(kYaml, "budget", issue), Value(0.0));  // the default went through `as`
  issue.fields["Type"] = "Feature";
  EXPECT_EQ(MappingError(kYaml, issue).message,
            R"(RAP-42: field budget: expected a number of minutes, got "n/a")");
}

// --- template ---

TEST(ApplyMappingTest, TemplateSubstitutesPlaceholders) {
  EXPECT_EQ(Field(R"(fields: {headline: {template: "{$key}: {summary}"}})", "headline"),
            Value("RAP-42: Export fails on large boards"));
}

TEST(ApplyMappingTest, TemplateEscapesBraces) {
  EXPECT_EQ(Field(R"(fields: {t: {template: "{{{$key}}} {{literal}} }}"}})", "t"),
            Value("{RAP-42} {literal} }"));
}

TEST(ApplyMappingTest, TemplateUsesPlainText) {
  EXPECT_EQ(
      Field(
          R"(fields: {t: {template: "[{description}] {tags} by {Assignee} ({Assignee.login}), {Reviewers}, {Story points}"}})",
          "t"),
      Value("[] export, regression by Jane Doe (jdoe), Ann Lee, Bo Park, 5"));
}

TEST(ApplyMappingTest, TemplateWithAs) {
  EXPECT_EQ(Field(R"(fields: {t: {template: "{Story points}{Story points}", as: number}})", "t"),
            Value(55));
}

// --- skip ---

constexpr std::string_view kSkipByState = R"(
fields: {title: summary}
skip:
  State: [Duplicate, "Won't fix"]
)";

TEST(ApplyMappingTest, SkipByScalarValue) {
  Issue issue = SampleIssue();
  EXPECT_FALSE(SkipsIssue(kSkipByState, issue));
  issue.fields["State"] = "Won't fix";
  EXPECT_TRUE(SkipsIssue(kSkipByState, issue));
  issue.fields["State"] = "Duplicate";
  EXPECT_TRUE(SkipsIssue(kSkipByState, issue));
}

TEST(ApplyMappingTest, SkipByAnyListElement) {
  constexpr std::string_view kYaml =
      "fields: {title: summary}\nskip: {tags: [wontfix, regression]}";
  EXPECT_TRUE(SkipsIssue(kYaml));
  Issue issue = SampleIssue();
  issue.fields["tags"] = Value::List{"export"};
  EXPECT_FALSE(SkipsIssue(kYaml, issue));
}

TEST(ApplyMappingTest, SkipByUserName) {
  EXPECT_TRUE(SkipsIssue("fields: {title: summary}\nskip: {Assignee: [Jane Doe]}"));
  EXPECT_FALSE(SkipsIssue("fields: {title: summary}\nskip: {Assignee: [jdoe]}"));
  EXPECT_TRUE(SkipsIssue("fields: {title: summary}\nskip: {Assignee.login: [jdoe]}"));
  EXPECT_TRUE(SkipsIssue("fields: {title: summary}\nskip: {Reviewers: [Bo Park]}"));
}

TEST(ApplyMappingTest, SkipByNumberAndBuiltIn) {
  EXPECT_TRUE(SkipsIssue("fields: {title: summary}\nskip: {Story points: [5]}"));
  EXPECT_TRUE(SkipsIssue("fields: {title: summary}\nskip: {$key: [RAP-42]}"));
}

TEST(ApplyMappingTest, MissingFieldNeverSkips) {
  Issue issue = SampleIssue();
  issue.fields.erase("State");
  EXPECT_FALSE(SkipsIssue(kSkipByState, issue));
}

TEST(ApplyMappingTest, SkipWinsOverMappingErrors) {
  Mapping mapping = MustParse(R"(
fields: {n: {from: summary, as: number}}
skip: {State: [In Progress]}
)");
  auto result = ApplyMapping(mapping, SampleIssue());
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->has_value());
}

TEST(ApplyMappingTest, ErrorNamesTheIdWhenTheIssueHasNoKey) {
  Issue issue = SampleIssue();
  issue.key.clear();
  EXPECT_EQ(MappingError("fields: {n: {from: summary, as: number}}", issue).message,
            R"(2-1234: field n: expected a number, got "Export fails on large boards")");
}

}  // namespace
}  // namespace boardsync

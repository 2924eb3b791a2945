#include <gtest/gtest.h>

#include "mappings/mapping.h"
#include "tests/mappings/mapping_testing.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

std::filesystem::path ExamplePath() { return SourceDir() / "mappings/examples/youtrack.yaml"; }

TEST(ExampleMappingTest, YouTrackExampleParsesCleanly) {
  auto mapping = LoadMappingFile(ExamplePath());
  ASSERT_TRUE(mapping.has_value()) << DiagnosticsText(mapping.error());
  EXPECT_EQ(mapping->hours_per_day, 8);
  EXPECT_GE(mapping->fields.size(), 10u);
  ASSERT_EQ(mapping->skip.size(), 1u);
  EXPECT_EQ(mapping->skip[0].values, std::vector<std::string>{"Duplicate"});
}

TEST(ExampleMappingTest, YouTrackExampleReadsOnlySampleTrackerFields) {
  auto mapping = LoadMappingFile(ExamplePath());
  ASSERT_TRUE(mapping.has_value()) << DiagnosticsText(mapping.error());
  const std::vector<std::string> known = {
      "summary",      "description",    "tags",           "project",    "reporter",   "State",
      "Priority",     "Type",           "Assignee",       "Estimation", "Spent time", "Due Date",
      "Fix versions", "Story points",   "Business value", "Customer",   "Subsystem",  "Team",
      "Reviewers",    "Fixed in build", "Notes",          "Started"};
  for (const std::string& field : mapping->SourceFields()) {
    EXPECT_NE(std::find(known.begin(), known.end(), field), known.end()) << field;
  }
}

TEST(ExampleMappingTest, YouTrackExampleMapsTheSampleIssue) {
  auto mapping = LoadMappingFile(ExamplePath());
  ASSERT_TRUE(mapping.has_value()) << DiagnosticsText(mapping.error());
  auto fields = ApplyMapping(*mapping, SampleIssue());
  ASSERT_TRUE(fields.has_value()) << fields.error().message;
  ASSERT_TRUE(fields->has_value());
  const Value::Object& f = **fields;
  EXPECT_EQ(f.at("title"), Value("Export fails on large boards"));
  EXPECT_EQ(f.at("headline"), Value("RAP-42: Export fails on large boards"));
  EXPECT_EQ(f.at("project"), Value("RAP"));
  EXPECT_EQ(f.at("assignee"), Value("Jane Doe"));
  EXPECT_EQ(f.at("assignee_login"), Value("jdoe"));
  EXPECT_EQ(f.at("reviewers"), (Value::List{"Ann Lee", "Bo Park"}));
  EXPECT_EQ(f.at("urgency"), Value(4));
  EXPECT_EQ(f.at("effort_days"), Value(90.0 / 480));
  EXPECT_EQ(f.at("spent_hours"), Value(10.0));
  EXPECT_EQ(f.at("due"), Value("2024-06-15"));
  EXPECT_EQ(f.at("created"), Value("2024-05-01"));
  EXPECT_EQ(f.at("resolved"), Value());
}

TEST(ExampleMappingTest, YouTrackExampleSkipsDuplicates) {
  auto mapping = LoadMappingFile(ExamplePath());
  ASSERT_TRUE(mapping.has_value()) << DiagnosticsText(mapping.error());
  Issue issue = SampleIssue();
  issue.fields["State"] = "Duplicate";
  auto fields = ApplyMapping(*mapping, issue);
  ASSERT_TRUE(fields.has_value()) << fields.error().message;
  EXPECT_FALSE(fields->has_value());
}

}  // namespace
}  // namespace boardsync

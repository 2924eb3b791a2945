// The shipped Jira mapping (connectors/jira/example-mapping.yaml) on issues
// as the Jira connector hands them over: the recorded-shape Cloud and Data
// Center answers of tests/data/jira/, resolved against their field
// catalogues by the names the mapping reads and decoded by DecodeJiraIssue().
// It lives with the daemon's tests because the daemon is what links the
// mapping language and the connector together.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/http/json.h"
#include "connectors/jira/decode.h"
#include "connectors/jira/fields.h"
#include "mappings/mapping.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

constexpr char kCloudSite[] = "https://acme.atlassian.net";
constexpr char kDataCenterSite[] = "https://jira.example.com/jira";

std::string ReadData(const std::string& name) {
  std::ifstream in(SourceDir() / "tests/data/jira" / name, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read tests/data/jira/" << name << " under " << SourceDir();
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string DiagnosticsText(const Diagnostics& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += d.ToString() + "\n";
  }
  return out;
}

Mapping ExampleMapping() {
  auto mapping = LoadMappingFile(SourceDir() / "connectors/jira/example-mapping.yaml");
  EXPECT_TRUE(mapping.has_value()) << DiagnosticsText(mapping.error());
  return mapping ? *mapping : Mapping{};
}

// The fields a pull with `mapping` asks for, resolved in a catalogue file.
JiraFieldSelection Select(const std::string& catalogue_file, const Mapping& mapping) {
  const std::string text = ReadData(catalogue_file);
  auto doc = ParseJsonDocument(text);
  EXPECT_TRUE(doc.has_value());
  if (!doc) {
    return {};
  }
  auto catalogue = DecodeJiraFields(doc->Root());
  EXPECT_TRUE(catalogue.has_value());
  auto selection =
      SelectJiraFields(catalogue ? *catalogue : std::vector<JiraField>{}, mapping.SourceFields());
  EXPECT_TRUE(selection.has_value()) << (selection ? "" : selection.error().message);
  return selection ? *selection : JiraFieldSelection{};
}

// Element `index` of the `issues` of a search answer's text, decoded.
Issue DecodeIssue(const std::string& page_text, std::size_t index,
                  const JiraFieldSelection& selection, std::string_view site) {
  auto doc = ParseJsonDocument(page_text);
  EXPECT_TRUE(doc.has_value());
  if (!doc) {
    return {};
  }
  auto issues = doc->Root().Find("issues");
  EXPECT_TRUE(issues && issues->IsList());
  if (!issues || !issues->IsList() || issues->size() <= index) {
    ADD_FAILURE() << "no issue " << index << " in the page";
    return {};
  }
  std::size_t i = 0;
  for (JsonView issue : issues->Elements()) {
    if (i++ == index) {
      auto decoded = DecodeJiraIssue(issue, selection, site);
      EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.error().message);
      return decoded ? *decoded : Issue{};
    }
  }
  return {};
}

// The board fields for `issue`; an empty object when the mapping skips it.
Value::Object Apply(const Mapping& mapping, const Issue& issue) {
  auto fields = ApplyMapping(mapping, issue);
  EXPECT_TRUE(fields.has_value()) << (fields ? "" : fields.error().message);
  if (!fields || !fields->has_value()) {
    return {};
  }
  return **fields;
}

// The board field `name`, failing the test when the mapping gave none.
Value F(const Value::Object& fields, std::string_view name) {
  if (!fields.contains(name)) {
    ADD_FAILURE() << "no board field " << name;
    return Value();
  }
  return fields.at(name);
}

bool Skipped(const Mapping& mapping, const Issue& issue) {
  auto fields = ApplyMapping(mapping, issue);
  EXPECT_TRUE(fields.has_value()) << (fields ? "" : fields.error().message);
  return fields && !fields->has_value();
}

// `text` with the first `"name": "<from>"` after `anchor` renamed to `to`.
std::string RenameAfter(std::string text, const std::string& anchor, const std::string& from,
                        const std::string& to) {
  const std::size_t at = text.find(anchor);
  EXPECT_NE(at, std::string::npos) << anchor;
  const std::string name = "\"name\": \"" + from + "\"";
  const std::size_t found = at == std::string::npos ? at : text.find(name, at);
  EXPECT_NE(found, std::string::npos) << name << " after " << anchor;
  if (found != std::string::npos) {
    text.replace(found, name.size(), "\"name\": \"" + to + "\"");
  }
  return text;
}

TEST(JiraExampleMappingTest, Parses) {
  const Mapping mapping = ExampleMapping();
  EXPECT_GE(mapping.fields.size(), 15u);
  ASSERT_EQ(mapping.skip.size(), 2u);
  EXPECT_EQ(mapping.skip[0].path.text, "Resolution");
  EXPECT_EQ(mapping.skip[0].values, (std::vector<std::string>{"Duplicate", "Won't Do"}));
  EXPECT_EQ(mapping.skip[1].path.text, "Status");
  EXPECT_EQ(mapping.skip[1].values, (std::vector<std::string>{"Won't Do"}));
}

TEST(JiraExampleMappingTest, EveryNameItReadsIsAFieldOfBothCataloguesButStoryPointsOnCloud) {
  const Mapping mapping = ExampleMapping();
  // Cloud's team-managed projects call it "Story point estimate": a
  // test-connection there warns, and the value reads as null.
  EXPECT_THAT(Select("cloud_fields.json", mapping).unknown, ElementsAre("Story Points"));
  EXPECT_THAT(Select("dc_fields.json", mapping).unknown, ElementsAre());
}

TEST(JiraExampleMappingTest, MapsACloudIssue) {
  const Mapping mapping = ExampleMapping();
  const JiraFieldSelection selection = Select("cloud_fields.json", mapping);
  const Issue issue = DecodeIssue(ReadData("cloud_search_page.json"), 0, selection, kCloudSite);
  ASSERT_EQ(issue.key, "RAP-42");
  const Value::Object f = Apply(mapping, issue);
  EXPECT_EQ(F(f, "title"), Value("Board import fails for projects with more than 42 issues"));
  const Value description = F(f, "description");
  ASSERT_TRUE(description.IsString());
  // Atlassian Document Format as plain text: the heading, then the paragraph.
  EXPECT_THAT(description.AsString(),
              StartsWith("Import stops early\n\nThe board import stops after the first page."));
  EXPECT_EQ(F(f, "key"), Value("RAP-42"));
  EXPECT_EQ(F(f, "link"), Value("https://acme.atlassian.net/browse/RAP-42"));
  EXPECT_EQ(F(f, "project"), Value("RAP"));
  EXPECT_EQ(F(f, "type"), Value("Story"));
  EXPECT_EQ(F(f, "labels"), (Value::List{"import", "paging"}));
  EXPECT_EQ(F(f, "components"), (Value::List{"Importer", "API"}));
  EXPECT_EQ(F(f, "state"), Value("In Progress"));
  EXPECT_EQ(F(f, "resolution"), Value());
  EXPECT_EQ(F(f, "sprint"), (Value::List{"RAP Sprint 11", "RAP Sprint 12"}));
  EXPECT_EQ(F(f, "fix_versions"), (Value::List{"1.4"}));
  EXPECT_EQ(F(f, "created"), Value("2024-03-10"));  // 01:59:30+01:00 is 00:59:30 UTC
  EXPECT_EQ(F(f, "due"), Value("2024-06-14"));
  EXPECT_EQ(F(f, "assignee"), Value("Mia Krystof"));
  EXPECT_EQ(F(f, "assignee_login"), Value("712020:0e9fd1c4-5b2a-4c1e-9d7e-3f1a2b3c4d5e"));
  EXPECT_EQ(F(f, "urgency"), Value(4));  // High
  EXPECT_EQ(F(f, "story_points"), Value());
  EXPECT_EQ(F(f, "effort"), Value(8.0));          // 28800 s
  EXPECT_EQ(F(f, "spent_hours"), Value(90.5 / 60));  // 5430 s = 90.5 min
}

TEST(JiraExampleMappingTest, MapsADataCenterIssue) {
  const Mapping mapping = ExampleMapping();
  const JiraFieldSelection selection = Select("dc_fields.json", mapping);
  const Issue issue =
      DecodeIssue(ReadData("dc_search_page.json"), 0, selection, kDataCenterSite);
  ASSERT_EQ(issue.key, "OPS-7");
  EXPECT_EQ(issue.id, "20107");
  const Value::Object f = Apply(mapping, issue);
  EXPECT_EQ(F(f, "title"), Value("Rotate the ingest certificates"));
  // Data Center's description is wiki markup, passed on as written.
  const Value description = F(f, "description");
  ASSERT_TRUE(description.IsString());
  EXPECT_THAT(description.AsString(), StartsWith("h2. Steps\n* renew with the CA"));
  EXPECT_EQ(F(f, "link"), Value("https://jira.example.com/jira/browse/OPS-7"));
  EXPECT_EQ(F(f, "project"), Value("OPS"));
  EXPECT_EQ(F(f, "state"), Value("Selected for Development"));
  EXPECT_EQ(F(f, "labels"), (Value::List{"security"}));
  EXPECT_EQ(F(f, "sprint"), (Value::List{"OPS Sprint 7, hardening"}));
  EXPECT_EQ(F(f, "assignee"), Value("Anna Kovacs"));
  EXPECT_EQ(F(f, "assignee_login"), Value("akovacs"));
  EXPECT_EQ(F(f, "urgency"), Value(5));  // Highest
  EXPECT_EQ(F(f, "story_points"), Value(8.0));
  EXPECT_EQ(F(f, "effort"), Value(2.0));  // 7200 s
  EXPECT_EQ(F(f, "spent_hours"), Value());
}

TEST(JiraExampleMappingTest, AnIssueWithoutPriorityIsMedium) {
  const Mapping mapping = ExampleMapping();
  const JiraFieldSelection selection = Select("cloud_fields.json", mapping);
  const std::string page = ReadData("cloud_search_page.json");
  Issue issue = DecodeIssue(page, 1, selection, kCloudSite);
  ASSERT_EQ(issue.key, "RAP-43");
  // As when a project's scheme has no priority field: Jira leaves it out.
  issue.fields.erase("Priority");
  const Value::Object f = Apply(mapping, issue);
  EXPECT_EQ(F(f, "urgency"), Value(3));
  EXPECT_EQ(F(f, "labels"), Value::List{});
  EXPECT_EQ(F(f, "assignee"), Value());
}

TEST(JiraExampleMappingTest, SkipsDuplicatesAndWontDoByResolutionOrStatus) {
  const Mapping mapping = ExampleMapping();
  const JiraFieldSelection selection = Select("cloud_fields.json", mapping);
  const std::string done = ReadData("cloud_search_last.json");
  const Issue resolved = DecodeIssue(done, 0, selection, kCloudSite);
  ASSERT_EQ(resolved.key, "RAP-44");
  const Value::Object f = Apply(mapping, resolved);
  EXPECT_EQ(F(f, "state"), Value("Done"));
  EXPECT_EQ(F(f, "resolution"), Value("Done"));

  for (const char* resolution : {"Duplicate", "Won't Do"}) {
    const Issue issue = DecodeIssue(RenameAfter(done, "\"resolution\": {", "Done", resolution), 0,
                                    selection, kCloudSite);
    EXPECT_TRUE(Skipped(mapping, issue)) << resolution;
  }
  const Issue wont_do =
      DecodeIssue(RenameAfter(done, "\"status\": {", "Done", "Won't Do"), 0, selection, kCloudSite);
  EXPECT_TRUE(Skipped(mapping, wont_do));
  const Issue fixed =
      DecodeIssue(RenameAfter(done, "\"resolution\": {", "Done", "Fixed"), 0, selection, kCloudSite);
  EXPECT_FALSE(Skipped(mapping, fixed));
}

}  // namespace
}  // namespace boardsync

// The shipped GitLab mapping (connectors/gitlab/example-mapping.yaml) on
// issues as the GitLab connector hands them over: the recorded-shape lists of
// tests/connectors/gitlab/recorded_issues.h decoded by DecodeGitLabIssue()
// with the names the mapping reads. It lives with the daemon's tests because
// the daemon is what links the mapping language and the connector together.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "connectors/gitlab/decode.h"
#include "connectors/http/json.h"
#include "mappings/mapping.h"
#include "tests/connectors/gitlab/recorded_issues.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using ::testing::Contains;

std::string DiagnosticsText(const Diagnostics& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += d.ToString() + "\n";
  }
  return out;
}

Mapping ExampleMapping() {
  auto mapping = LoadMappingFile(SourceDir() / "connectors/gitlab/example-mapping.yaml");
  EXPECT_TRUE(mapping.has_value()) << DiagnosticsText(mapping.error());
  return mapping ? *mapping : Mapping{};
}

// Element `index` of a list's text, decoded with the names `mapping` reads,
// as a pull with that mapping asks (PullRequest::fields).
Issue DecodeIssue(std::string_view list_text, std::size_t index, const Mapping& mapping) {
  auto doc = ParseJsonDocument(list_text);
  EXPECT_TRUE(doc.has_value());
  if (!doc) {
    return {};
  }
  GitLabDecodeContext context;
  context.names = mapping.SourceFields();
  context.web_root = std::string(kGitLabWebRoot);
  auto issues = DecodeGitLabIssueList(doc->Root(), context);
  EXPECT_TRUE(issues.has_value());
  if (!issues || issues->size() <= index) {
    ADD_FAILURE() << "no issue " << index << " in the list";
    return {};
  }
  Issue issue = (*issues)[index];
  EXPECT_EQ(issue.decode_error, "");
  return issue;
}

Value::Object Apply(const Mapping& mapping, const Issue& issue) {
  auto fields = ApplyMapping(mapping, issue);
  EXPECT_TRUE(fields.has_value()) << (fields ? "" : fields.error().message);
  if (!fields || !fields->has_value()) {
    return {};
  }
  return **fields;
}

Value F(const Value::Object& fields, std::string_view name) {
  if (!fields.contains(name)) {
    ADD_FAILURE() << "no board field " << name;
    return Value();
  }
  return fields.at(name);
}

TEST(GitLabExampleMappingTest, ParsesAndReadsGitLabsMembersByTheirJsonNames) {
  const Mapping mapping = ExampleMapping();
  EXPECT_GE(mapping.fields.size(), 15u);
  const std::vector<std::string> names = mapping.SourceFields();
  // What a pull asks the decoder for: GitLab's members and the scopes.
  for (const char* name : {"title", "description", "labels", "assignees", "milestone", "time_stats",
                           "weight", "scoped_labels", "due_date", "state"}) {
    EXPECT_THAT(names, Contains(name));
  }
  ASSERT_EQ(mapping.skip.size(), 1u);
  EXPECT_EQ(mapping.skip[0].path.text, "labels");
}

TEST(GitLabExampleMappingTest, MapsAPaidTierIssue) {
  const Mapping mapping = ExampleMapping();
  const Issue issue = DecodeIssue(kGitLabProjectList, 0, mapping);
  ASSERT_EQ(issue.key, "my-group/my-project#6");
  const Value::Object f = Apply(mapping, issue);
  EXPECT_EQ(F(f, "title"),
            Value("Consequatur vero maxime deserunt laboriosam est voluptas dolorem."));
  EXPECT_EQ(F(f, "key"), Value("my-group/my-project#6"));
  EXPECT_EQ(F(f, "link"), Value("https://gitlab.example.com/my-group/my-project/-/issues/6"));
  EXPECT_EQ(F(f, "type"), Value("issue"));
  EXPECT_EQ(F(f, "labels"), (Value::List{"priority::high", "bug"}));
  EXPECT_EQ(F(f, "state"), Value("opened"));
  EXPECT_EQ(F(f, "workflow"), Value("none"));
  EXPECT_EQ(F(f, "milestone"), Value("v4.0"));
  EXPECT_EQ(F(f, "created"), Value("2016-01-04"));
  EXPECT_EQ(F(f, "closed"), Value());
  EXPECT_EQ(F(f, "due"), Value("2016-07-22"));
  EXPECT_EQ(F(f, "assignees"), (Value::List{"Administrator", "Alice Example"}));
  EXPECT_EQ(F(f, "assignee_logins"), (Value::List{"root", "alice"}));
  EXPECT_EQ(F(f, "author"), Value("eileen.lowe"));
  EXPECT_EQ(F(f, "urgency"), Value(3));  // priority::high
  EXPECT_EQ(F(f, "weight"), Value(3));
  EXPECT_EQ(F(f, "effort"), Value(3.5));            // 12600 s
  EXPECT_EQ(F(f, "spent_hours"), Value(1.5 / 60));  // 90 s
}

TEST(GitLabExampleMappingTest, MapsAClosedFreeTierIssue) {
  const Mapping mapping = ExampleMapping();
  const Issue issue = DecodeIssue(kGitLabProjectList, 1, mapping);
  ASSERT_EQ(issue.key, "my-group/my-project#14");
  const Value::Object f = Apply(mapping, issue);
  EXPECT_EQ(F(f, "state"), Value("closed"));
  EXPECT_EQ(F(f, "closed"), Value("2024-02-29T23:59:59.999Z"));
  EXPECT_EQ(F(f, "description"), Value());
  EXPECT_EQ(F(f, "labels"), Value::List{});
  EXPECT_EQ(F(f, "assignees"), Value::List{});
  EXPECT_EQ(F(f, "milestone"), Value());
  EXPECT_EQ(F(f, "urgency"), Value(2));  // no priority label
  EXPECT_EQ(F(f, "weight"), Value());    // the free tier has none
  EXPECT_EQ(F(f, "effort"), Value(0.0));
}

TEST(GitLabExampleMappingTest, AWorkflowLabelAndSkippedLabels) {
  const Mapping mapping = ExampleMapping();
  std::string text(kGitLabProjectList);
  const std::string labels = R"("labels": ["priority::low"])";
  const std::size_t at = text.find(labels);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, labels.size(), R"("labels": ["priority::critical", "workflow::in review"])");
  const Value::Object f = Apply(mapping, DecodeIssue(text, 2, mapping));
  EXPECT_EQ(F(f, "workflow"), Value("in review"));
  EXPECT_EQ(F(f, "urgency"), Value(4));
  // A user without a display name shows by the login.
  EXPECT_EQ(F(f, "assignees"), (Value::List{"bob"}));

  text.replace(text.find("\"priority::critical\""), std::string("\"priority::critical\"").size(),
               "\"duplicate\"");
  auto skipped = ApplyMapping(mapping, DecodeIssue(text, 2, mapping));
  ASSERT_TRUE(skipped) << skipped.error().message;
  EXPECT_FALSE(skipped->has_value());
}

}  // namespace
}  // namespace boardsync

// The shipped GitHub mapping (connectors/github/example-mapping.yaml) on
// issues as the GitHub connector hands them over: answers in GitHub's
// recorded shape (API version 2022-11-28), decoded by DecodeGitHubIssue() for
// the members the mapping reads, with the project fields as the connector
// adds them. It lives with the daemon's tests because the daemon is what links
// the mapping language and the connector together.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "connectors/github/decode.h"
#include "connectors/github/fields.h"
#include "connectors/http/json.h"
#include "mappings/mapping.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using ::testing::ElementsAre;

std::string DiagnosticsText(const Diagnostics& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += d.ToString() + "\n";
  }
  return out;
}

Mapping ExampleMapping() {
  auto mapping = LoadMappingFile(SourceDir() / "connectors/github/example-mapping.yaml");
  EXPECT_TRUE(mapping.has_value()) << DiagnosticsText(mapping.error());
  return mapping ? *mapping : Mapping{};
}

// An issue of octocat/Hello-World as GET /repos/{o}/{r}/issues lists it.
constexpr std::string_view kIssue = R"({
  "id": 1, "node_id": "MDU6SXNzdWUx", "number": 1347,
  "url": "https://api.github.com/repos/octocat/Hello-World/issues/1347",
  "repository_url": "https://api.github.com/repos/octocat/Hello-World",
  "html_url": "https://github.com/octocat/Hello-World/issues/1347",
  "state": "open", "state_reason": null, "title": "Found a bug",
  "body": "I'm having a problem with this.",
  "user": {"login": "octocat", "id": 1, "type": "User", "site_admin": false},
  "labels": [{"id": 208045946, "name": "bug", "color": "f29513", "default": true},
             {"id": 208045947, "name": "roadmap", "color": "0e8a16", "default": false}],
  "assignee": {"login": "octocat", "id": 1},
  "assignees": [{"login": "octocat", "id": 1}, {"login": "hubot", "id": 2}],
  "milestone": {"id": 1002604, "number": 1, "state": "open", "title": "v1.0",
                "open_issues": 4, "closed_issues": 8, "due_on": "2012-10-09T23:39:01Z",
                "created_at": "2011-04-10T20:09:31Z", "updated_at": "2014-03-03T18:58:10Z",
                "closed_at": null},
  "locked": false, "comments": 5,
  "closed_at": null, "created_at": "2011-04-22T13:33:48Z", "updated_at": "2011-04-23T08:00:00Z",
  "closed_by": null, "author_association": "OWNER",
  "reactions": {"total_count": 7, "+1": 6, "heart": 1},
  "type": {"id": 410, "name": "Bug", "description": "An unexpected problem"}
})";

// The same issue closed as not planned, without milestone, labels or type.
constexpr std::string_view kNotPlanned = R"({
  "id": 2, "node_id": "MDU6SXNzdWUy", "number": 1348,
  "repository_url": "https://api.github.com/repos/octocat/Hello-World",
  "html_url": "https://github.com/octocat/Hello-World/issues/1348",
  "state": "closed", "state_reason": "not_planned", "title": "Won't do", "body": null,
  "user": {"login": "hubot", "id": 2}, "labels": [], "assignee": null, "assignees": [],
  "milestone": null, "comments": 0, "closed_at": "2011-04-25T10:00:00Z",
  "created_at": "2011-04-22T13:33:48Z", "updated_at": "2011-04-25T10:00:00Z", "type": null
})";

Issue Decode(std::string_view text, const Mapping& mapping) {
  auto doc = ParseJsonDocument(text);
  EXPECT_TRUE(doc.has_value());
  if (!doc) {
    return {};
  }
  const GitHubFieldSelection selection = SelectGitHubFields(mapping.SourceFields());
  auto issue = DecodeGitHubIssue(doc->Root(), "octocat/Hello-World", selection.members);
  EXPECT_TRUE(issue.has_value()) << (issue ? "" : issue.error().message);
  if (!issue) {
    return {};
  }
  // The project's fields, as the connector adds them (null when the issue
  // has no value there).
  for (const std::string& name : selection.others) {
    issue->fields.emplace(name, Value());
  }
  return *issue;
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

TEST(GitHubExampleMappingTest, ParsesAndReadsMembersAndProjectFields) {
  const Mapping mapping = ExampleMapping();
  EXPECT_GE(mapping.fields.size(), 15u);
  ASSERT_EQ(mapping.skip.size(), 1u);
  EXPECT_EQ(mapping.skip[0].path.text, "state_reason");
  const GitHubFieldSelection selection = SelectGitHubFields(mapping.SourceFields());
  // Everything else it reads is a member of GitHub's issue object.
  EXPECT_THAT(selection.others, ElementsAre("Iteration", "Priority", "Size"));
}

TEST(GitHubExampleMappingTest, MapsAnOpenIssue) {
  const Mapping mapping = ExampleMapping();
  Issue issue = Decode(kIssue, mapping);
  issue.fields.insert_or_assign("Priority", Value("P1"));
  issue.fields.insert_or_assign("Size", Value(3.0));
  issue.fields.insert_or_assign("Iteration", Value("Iteration 2"));
  const Value::Object f = Apply(mapping, issue);
  EXPECT_EQ(F(f, "title"), Value("Found a bug"));
  EXPECT_EQ(F(f, "description"), Value("I'm having a problem with this."));
  EXPECT_EQ(F(f, "key"), Value("octocat/Hello-World#1347"));
  EXPECT_EQ(F(f, "link"), Value("https://github.com/octocat/Hello-World/issues/1347"));
  EXPECT_EQ(F(f, "labels"), (Value::List{"bug", "roadmap"}));
  EXPECT_EQ(F(f, "type"), Value("Bug"));
  EXPECT_EQ(F(f, "state"), Value("open"));
  EXPECT_EQ(F(f, "closed_as"), Value());
  EXPECT_EQ(F(f, "milestone"), Value("v1.0"));  // its title
  EXPECT_EQ(F(f, "due"), Value("2012-10-09"));
  EXPECT_EQ(F(f, "created"), Value("2011-04-22"));
  EXPECT_EQ(F(f, "updated"), Value("2011-04-23T08:00:00.000Z"));
  EXPECT_EQ(F(f, "closed"), Value());
  EXPECT_EQ(F(f, "assignees"), (Value::List{"octocat", "hubot"}));
  EXPECT_EQ(F(f, "author"), Value("octocat"));
  EXPECT_EQ(F(f, "votes"), Value(7));
  EXPECT_EQ(F(f, "comments"), Value(5));
  EXPECT_EQ(F(f, "urgency"), Value(4));
  EXPECT_EQ(F(f, "size"), Value(3.0));
  EXPECT_EQ(F(f, "iteration"), Value("Iteration 2"));
}

TEST(GitHubExampleMappingTest, EmptyValuesGiveNullsAndEmptyListsAndTheDefaultUrgency) {
  const Mapping mapping = ExampleMapping();
  Issue issue = Decode(kNotPlanned, mapping);
  issue.fields.insert_or_assign("state_reason", Value("completed"));  // closed as done
  const Value::Object f = Apply(mapping, issue);
  EXPECT_EQ(F(f, "description"), Value());
  EXPECT_EQ(F(f, "labels"), Value(Value::List{}));
  EXPECT_EQ(F(f, "assignees"), Value(Value::List{}));
  EXPECT_EQ(F(f, "milestone"), Value());
  EXPECT_EQ(F(f, "due"), Value());
  EXPECT_EQ(F(f, "type"), Value());
  EXPECT_EQ(F(f, "closed"), Value("2011-04-25T10:00:00.000Z"));
  EXPECT_EQ(F(f, "urgency"), Value(2));  // not on the project: the default
  EXPECT_EQ(F(f, "size"), Value());
}

TEST(GitHubExampleMappingTest, IssuesClosedAsNotPlannedOrDuplicatesAreSkipped) {
  const Mapping mapping = ExampleMapping();
  Issue issue = Decode(kNotPlanned, mapping);
  auto skipped = ApplyMapping(mapping, issue);
  ASSERT_TRUE(skipped.has_value()) << skipped.error().message;
  EXPECT_FALSE(skipped->has_value());
  issue.fields.insert_or_assign("state_reason", Value("duplicate"));
  auto duplicate = ApplyMapping(mapping, issue);
  ASSERT_TRUE(duplicate.has_value());
  EXPECT_FALSE(duplicate->has_value());
}

}  // namespace
}  // namespace boardsync

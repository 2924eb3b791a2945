// Decoding GitHub's issue answers: a list page in the recorded shape (pull
// requests mixed in), every member kind the mapping can read, nulls, and
// faults that stay with their issue; the Projects v2 GraphQL answers.

#include "connectors/github/decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connectors/github/fields.h"
#include "core/time.h"

namespace boardsync {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;

// One issue as GET /repos/{o}/{r}/issues returns it (github/docs, the
// issues.json example, API version 2022-11-28), trimmed of URL members.
constexpr std::string_view kIssue = R"({
  "id": 1, "node_id": "MDU6SXNzdWUx",
  "url": "https://api.github.com/repos/octocat/Hello-World/issues/1347",
  "repository_url": "https://api.github.com/repos/octocat/Hello-World",
  "html_url": "https://github.com/octocat/Hello-World/issues/1347",
  "number": 1347, "state": "open", "state_reason": null, "title": "Found a bug",
  "body": "I'm having a problem with this.",
  "user": {"login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": false},
  "labels": [{"id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=", "name": "bug",
              "description": "Something isn't working", "color": "f29513", "default": true}],
  "assignee": {"login": "octocat", "id": 1},
  "assignees": [{"login": "octocat", "id": 1}, {"login": "hubot", "id": 2}],
  "milestone": {"id": 1002604, "number": 1, "state": "open", "title": "v1.0",
                "description": "Tracking milestone for version 1.0",
                "creator": {"login": "octocat", "id": 1}, "open_issues": 4, "closed_issues": 8,
                "created_at": "2011-04-10T20:09:31Z", "updated_at": "2014-03-03T18:58:10Z",
                "closed_at": "2013-02-12T13:22:01Z", "due_on": "2012-10-09T23:39:01Z"},
  "locked": true, "active_lock_reason": "too heated", "comments": 0,
  "closed_at": null, "created_at": "2011-04-22T13:33:48Z", "updated_at": "2011-04-22T13:33:48Z",
  "closed_by": null, "author_association": "COLLABORATOR",
  "reactions": {"url": "x", "total_count": 3, "+1": 2, "-1": 0, "laugh": 1},
  "type": {"id": 410, "node_id": "IT_kwDNAd3NAZo", "name": "Bug", "description": "An unexpected problem"},
  "sub_issues_summary": {"total": 2, "completed": 1, "percent_completed": 50}
})";

// A pull request in the same list.
constexpr std::string_view kPullRequest = R"({
  "id": 2, "node_id": "PR_kwDO", "number": 1348, "title": "Fix the bug", "state": "open",
  "html_url": "https://github.com/octocat/Hello-World/pull/1348",
  "created_at": "2011-04-22T13:33:48Z", "updated_at": "2011-04-23T09:00:00Z",
  "pull_request": {"url": "https://api.github.com/repos/octocat/Hello-World/pulls/1348",
                   "html_url": "https://github.com/octocat/Hello-World/pull/1348", "merged_at": null},
  "draft": false
})";

JsonDocument Parse(std::string_view text) {
  auto doc = ParseJsonDocument(text);
  EXPECT_TRUE(doc) << (doc ? "" : doc.error().message);
  return std::move(*doc);
}

std::string List(std::initializer_list<std::string_view> elements) {
  std::string out = "[";
  for (std::string_view element : elements) {
    out += (out.size() > 1 ? "," : "") + std::string(element);
  }
  return out + "]";
}

const std::vector<std::string> kAllMembers = {
    "title",     "body",      "state",      "state_reason", "locked",   "comments",
    "labels",    "assignees", "assignee",   "user",         "closed_by", "milestone",
    "reactions", "type",      "created_at", "updated_at",   "closed_at", "author_association",
    "sub_issues_summary", "number", "active_lock_reason"};

Value User(std::string login) {
  Value::Object user;
  user["login"] = Value(login);
  user["name"] = Value(login);
  user["email"] = Value();
  return Value(std::move(user));
}

TEST(GitHubDecodeTest, ARecordedListPageGivesItsIssuesAndLeavesPullRequestsOut) {
  const std::string text = List({kIssue, kPullRequest});
  JsonDocument doc = Parse(text);
  auto list = DecodeGitHubIssueList(doc.Root(), "octocat/Hello-World", kAllMembers);
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->issues.size(), 1u);
  EXPECT_EQ(list->pull_requests, 1u);
  EXPECT_THAT(list->node_ids, ElementsAre("MDU6SXNzdWUx"));
  // The newest of everything, the pull request's included.
  EXPECT_EQ(list->newest_ms, *ParseIsoUtc("2011-04-23T09:00:00Z"));

  const Issue& issue = list->issues[0];
  EXPECT_EQ(issue.decode_error, "");
  EXPECT_EQ(issue.id, "1");
  EXPECT_EQ(issue.key, "octocat/Hello-World#1347");
  EXPECT_EQ(issue.url, "https://github.com/octocat/Hello-World/issues/1347");
  EXPECT_EQ(issue.created_ms, *ParseIsoUtc("2011-04-22T13:33:48Z"));
  EXPECT_EQ(issue.updated_ms, *ParseIsoUtc("2011-04-22T13:33:48Z"));
  EXPECT_FALSE(issue.resolved_ms);

  const Value::Object& f = issue.fields;
  EXPECT_EQ(f.at("title"), Value("Found a bug"));
  EXPECT_EQ(f.at("body"), Value("I'm having a problem with this."));
  EXPECT_EQ(f.at("state"), Value("open"));
  EXPECT_EQ(f.at("state_reason"), Value());
  EXPECT_EQ(f.at("locked"), Value(true));
  EXPECT_EQ(f.at("comments"), Value(0));
  EXPECT_EQ(f.at("number"), Value(1347));
  EXPECT_EQ(f.at("author_association"), Value("COLLABORATOR"));
  EXPECT_EQ(f.at("active_lock_reason"), Value("too heated"));
  EXPECT_EQ(f.at("labels"), Value(Value::List{Value("bug")}));
  EXPECT_EQ(f.at("assignees"), Value(Value::List{User("octocat"), User("hubot")}));
  EXPECT_EQ(f.at("assignee"), User("octocat"));
  EXPECT_EQ(f.at("user"), User("octocat"));
  EXPECT_EQ(f.at("closed_by"), Value());
  EXPECT_EQ(f.at("reactions"), Value(3));
  EXPECT_EQ(f.at("type"), Value("Bug"));
  EXPECT_EQ(f.at("created_at"), Value("2011-04-22T13:33:48.000Z"));
  EXPECT_EQ(f.at("closed_at"), Value());
  ASSERT_TRUE(f.at("sub_issues_summary").IsObject());
  EXPECT_EQ(*f.at("sub_issues_summary").Find("percent_completed"), Value(50));

  // The milestone: its title as a plain value (`name`), its other members
  // through a path.
  const Value& milestone = f.at("milestone");
  ASSERT_TRUE(milestone.IsObject());
  EXPECT_EQ(*milestone.Find("name"), Value("v1.0"));
  EXPECT_EQ(*milestone.Find("title"), Value("v1.0"));
  EXPECT_EQ(*milestone.Find("number"), Value(1));
  EXPECT_EQ(*milestone.Find("state"), Value("open"));
  EXPECT_EQ(*milestone.Find("due_on"), Value("2012-10-09T23:39:01.000Z"));
  EXPECT_EQ(*milestone.Find("open_issues"), Value(4));
}

TEST(GitHubDecodeTest, OnlyTheMembersTheMappingNamesAreDecoded) {
  JsonDocument doc = Parse(kIssue);
  auto issue = DecodeGitHubIssue(doc.Root(), "octocat/Hello-World", {"title", "labels"});
  ASSERT_TRUE(issue) << issue.error().message;
  EXPECT_EQ(issue->fields.size(), 2u);
  EXPECT_TRUE(issue->fields.contains("title"));
  EXPECT_TRUE(issue->fields.contains("labels"));
  // Ids only: no fields at all.
  auto bare = DecodeGitHubIssue(doc.Root(), "octocat/Hello-World", {});
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->fields.empty());
  EXPECT_EQ(bare->key, "octocat/Hello-World#1347");
}

TEST(GitHubDecodeTest, EmptyAndMissingMembersGiveEmptyListsAndNulls) {
  constexpr std::string_view kBare = R"({"id": 7, "number": 3,
    "repository_url": "https://api.github.com/repos/acme/app",
    "html_url": "https://github.com/acme/app/issues/3", "title": "t",
    "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:01Z",
    "labels": [], "assignees": null, "assignee": null, "milestone": null, "body": null,
    "closed_at": "2024-05-02T08:00:00Z", "state": "closed", "state_reason": "not_planned",
    "closed_by": {"login": "hubot", "id": 2, "name": "Hu Bot", "email": "hubot@example.com"}})";
  JsonDocument doc = Parse(kBare);
  auto issue = DecodeGitHubIssue(doc.Root(), "", kAllMembers);
  ASSERT_TRUE(issue) << issue.error().message;
  // No repo given: the one repository_url names.
  EXPECT_EQ(issue->key, "acme/app#3");
  const Value::Object& f = issue->fields;
  EXPECT_EQ(f.at("labels"), Value(Value::List{}));
  EXPECT_EQ(f.at("assignees"), Value(Value::List{}));
  EXPECT_EQ(f.at("assignee"), Value());
  EXPECT_EQ(f.at("milestone"), Value());
  EXPECT_EQ(f.at("body"), Value());
  EXPECT_EQ(f.at("reactions"), Value());  // absent
  EXPECT_EQ(f.at("type"), Value());
  EXPECT_EQ(f.at("locked"), Value());
  EXPECT_EQ(f.at("state_reason"), Value("not_planned"));
  EXPECT_EQ(f.at("closed_at"), Value("2024-05-02T08:00:00.000Z"));
  EXPECT_EQ(issue->resolved_ms, *ParseIsoUtc("2024-05-02T08:00:00Z"));
  // A user GitHub gives a name and e-mail for keeps them.
  Value::Object hubot;
  hubot["login"] = Value("hubot");
  hubot["name"] = Value("Hu Bot");
  hubot["email"] = Value("hubot@example.com");
  EXPECT_EQ(f.at("closed_by"), Value(std::move(hubot)));
}

TEST(GitHubDecodeTest, OneBadIssueIsMarkedWithItsKeyAndFieldAndTheOthersGoOn) {
  const std::string good = std::string(kIssue);
  const std::string text = List({
      R"({"id": 10, "number": 1, "title": "no updated_at", "created_at": "2024-05-01T10:00:00Z"})",
      R"({"id": 11, "number": 2, "updated_at": "2024-05-01T10:00:00Z", "labels": [{"color": "f00"}]})",
      R"({"id": 12, "number": 3, "updated_at": "2024-05-01T10:00:00Z", "assignees": [{"id": 5}]})",
      R"({"id": 13, "number": 4, "updated_at": "2024-05-01T10:00:00Z", "milestone": "v1"})",
      R"({"id": "x", "number": 5, "updated_at": "2024-05-01T10:00:00Z"})",
      R"({"id": 15, "updated_at": "2024-05-01T10:00:00Z"})",
      R"({"id": 16, "number": 7, "updated_at": "2024-05-01"})",
      R"({"id": 17, "number": 8, "updated_at": "1969-12-31T23:59:59Z"})",
      R"({"id": 18, "number": 9, "updated_at": "2024-05-01T10:00:00Z", "closed_at": "soon"})",
      R"({"id": 19, "number": 10, "updated_at": "2024-05-01T10:00:00Z", "reactions": {"+1": 1}})",
      R"("not an object")",
      good,
  });
  JsonDocument doc = Parse(text);
  auto list = DecodeGitHubIssueList(doc.Root(), "acme/app", kAllMembers);
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->issues.size(), 12u);
  const std::vector<Issue>& issues = list->issues;
  EXPECT_THAT(issues[0].decode_error, HasSubstr("acme/app#1"));
  EXPECT_THAT(issues[0].decode_error, HasSubstr("updated_at"));
  EXPECT_EQ(issues[0].id, "10");
  EXPECT_EQ(issues[0].key, "acme/app#1");
  EXPECT_EQ(issues[0].updated_ms, 0);
  EXPECT_THAT(issues[1].decode_error, HasSubstr("issue acme/app#2: field labels: a label has no name"));
  EXPECT_EQ(issues[1].updated_ms, *ParseIsoUtc("2024-05-01T10:00:00Z"));
  EXPECT_TRUE(issues[1].fields.empty());
  EXPECT_THAT(issues[2].decode_error, HasSubstr("field assignees: a user has no login"));
  EXPECT_THAT(issues[3].decode_error, HasSubstr("field milestone"));
  EXPECT_THAT(issues[4].decode_error, HasSubstr("numeric id"));
  EXPECT_EQ(issues[4].id, "");
  EXPECT_EQ(issues[4].key, "acme/app#5");
  EXPECT_THAT(issues[5].decode_error, HasSubstr("no number"));
  EXPECT_EQ(issues[5].id, "15");
  EXPECT_THAT(issues[6].decode_error, HasSubstr("updated_at"));  // a date alone
  EXPECT_THAT(issues[7].decode_error, HasSubstr("1970-9999"));
  EXPECT_THAT(issues[8].decode_error, HasSubstr("closed_at"));
  EXPECT_THAT(issues[9].decode_error, HasSubstr("field reactions"));
  EXPECT_THAT(issues[10].decode_error, HasSubstr("not a JSON object"));
  EXPECT_EQ(issues[11].decode_error, "");
  EXPECT_EQ(issues[11].key, "acme/app#1347");
}

TEST(GitHubDecodeTest, AnAnswerThatIsNoListFailsAsAWhole) {
  JsonDocument doc = Parse(R"({"message": "Not Found"})");
  auto list = DecodeGitHubIssueList(doc.Root(), "acme/app", {});
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code, ErrorCode::kBadResponse);
}

TEST(GitHubDecodeTest, PullRequestsAreToldByTheirMember) {
  JsonDocument pr = Parse(kPullRequest);
  JsonDocument issue = Parse(kIssue);
  JsonDocument null_member = Parse(R"({"id": 1, "pull_request": null})");
  EXPECT_TRUE(IsGitHubPullRequest(pr.Root()));
  EXPECT_FALSE(IsGitHubPullRequest(issue.Root()));
  EXPECT_FALSE(IsGitHubPullRequest(null_member.Root()));
}

TEST(GitHubDecodeTest, TimesAreGitHubsSecondsOrISOWithAFraction) {
  EXPECT_EQ(ParseGitHubTime("2011-04-22T13:33:48Z"), *ParseIsoUtc("2011-04-22T13:33:48Z"));
  EXPECT_EQ(ParseGitHubTime("2011-04-22T13:33:48.250Z"), *ParseIsoUtc("2011-04-22T13:33:48.250Z"));
  EXPECT_EQ(ParseGitHubTime("2011-04-22T15:33:48+02:00"), *ParseIsoUtc("2011-04-22T13:33:48Z"));
  EXPECT_FALSE(ParseGitHubTime("2011-04-22"));
  EXPECT_FALSE(ParseGitHubTime("yesterday at noon!"));
}

TEST(GitHubDecodeTest, NamesAreIssueMembersOrProjectFields) {
  GitHubFieldSelection selection =
      SelectGitHubFields({"$key", "Priority", "labels", "title", "Size", "labels", "milestone"});
  EXPECT_THAT(selection.members, ElementsAre("labels", "title", "milestone"));
  EXPECT_THAT(selection.others, ElementsAre("Priority", "Size"));
  EXPECT_TRUE(IsGitHubIssueMember("state_reason"));
  EXPECT_FALSE(IsGitHubIssueMember("Title"));  // exact spelling only
}

TEST(GitHubDecodeTest, ErrorMessagesAreReadFromRestAndGraphQlAnswers) {
  EXPECT_EQ(GitHubErrorMessage(R"({"message":"Bad credentials","documentation_url":"x"})"),
            "Bad credentials");
  EXPECT_EQ(GitHubErrorMessage(R"({"errors":[{"type":"NOT_FOUND","message":"a"},{"message":"b"}]})"),
            "a; b");
  EXPECT_EQ(GitHubErrorMessage("<html>"), "");
  JsonDocument limited = Parse(R"({"errors":[{"type":"RATE_LIMITED","message":"API rate limit already exceeded"}]})");
  auto errors = ReadGitHubGraphQlErrors(limited.Root());
  ASSERT_TRUE(errors);
  EXPECT_TRUE(errors->rate_limited);
  EXPECT_FALSE(errors->not_found);
  JsonDocument fine = Parse(R"({"data":{}})");
  EXPECT_FALSE(ReadGitHubGraphQlErrors(fine.Root()));
}

TEST(GitHubDecodeTest, AProjectIsFoundUnderItsOrganizationOrUser) {
  JsonDocument org = Parse(R"({"data":{"organization":{"projectV2":{"id":"PVT_1","title":"Roadmap",
      "fields":{"nodes":[{"name":"Title","dataType":"TITLE"},{"name":"Priority","dataType":"SINGLE_SELECT"},{}]}}},
      "user":null},"errors":[{"type":"NOT_FOUND","path":["user"],"message":"Could not resolve to a User"}]})");
  auto project = DecodeGitHubProject(org.Root());
  ASSERT_TRUE(project) << project.error().message;
  ASSERT_TRUE(*project);
  EXPECT_EQ((*project)->id, "PVT_1");
  EXPECT_THAT((*project)->fields, ElementsAre("Title", "Priority"));
  JsonDocument none = Parse(R"({"data":{"organization":null,"user":{"projectV2":null}}})");
  auto missing = DecodeGitHubProject(none.Root());
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
}

TEST(GitHubDecodeTest, ProjectValuesAreReadByKindForTheConfiguredProjectOnly) {
  JsonDocument doc = Parse(R"({"data":{"nodes":[
    {"id":"I_1","projectItems":{"nodes":[
      {"project":{"id":"PVT_other"},"fieldValues":{"nodes":[
        {"__typename":"ProjectV2ItemFieldNumberValue","number":99,"field":{"name":"Size"}}]}},
      {"project":{"id":"PVT_1"},"fieldValues":{"nodes":[
        {"__typename":"ProjectV2ItemFieldTextValue","text":"Issue title","field":{"name":"Title"}},
        {"__typename":"ProjectV2ItemFieldNumberValue","number":3.5,"field":{"name":"Size"}},
        {"__typename":"ProjectV2ItemFieldSingleSelectValue","name":"High","field":{"name":"Priority"}},
        {"__typename":"ProjectV2ItemFieldIterationValue","title":"Iteration 2","field":{"name":"Iteration"}},
        {"__typename":"ProjectV2ItemFieldDateValue","date":"2024-05-06","field":{"name":"Target"}},
        {"__typename":"ProjectV2ItemFieldTextValue","text":"note","field":{"name":"Notes"}}]}}]}},
    {"id":"I_2","projectItems":{"nodes":[]}},
    null]}})");
  auto values = DecodeGitHubProjectValues(doc.Root(), "PVT_1",
                                          {"Size", "Priority", "Iteration", "Target", "Missing"});
  ASSERT_TRUE(values) << values.error().message;
  ASSERT_EQ(values->size(), 2u);
  const Value::Object& first = values->at("I_1");
  EXPECT_EQ(first.at("Size"), Value(3.5));
  EXPECT_EQ(first.at("Priority"), Value("High"));
  EXPECT_EQ(first.at("Iteration"), Value("Iteration 2"));
  EXPECT_EQ(first.at("Target"), Value("2024-05-06"));
  EXPECT_EQ(first.at("Missing"), Value());
  EXPECT_FALSE(first.contains("Notes"));  // not asked for
  const Value::Object& second = values->at("I_2");  // not in the project
  EXPECT_EQ(second.at("Size"), Value());
  EXPECT_EQ(second.at("Priority"), Value());

  JsonDocument bad = Parse(R"({"data":null})");
  EXPECT_FALSE(DecodeGitHubProjectValues(bad.Root(), "PVT_1", {"Size"}));
}

}  // namespace
}  // namespace boardsync

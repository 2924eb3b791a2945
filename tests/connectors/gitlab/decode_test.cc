// The GitLab decoder on lists in the shapes REST v4 answers
// (recorded_issues.h): every member kind the mapping reads, nulls and absent
// members (free tier), keys without references, and a hostile page whose
// faults each stay with their issue.
#include "connectors/gitlab/decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "connectors/http/json.h"
#include "core/time.h"
#include "tests/connectors/gitlab/recorded_issues.h"

namespace boardsync {
namespace {

using ::testing::HasSubstr;

// JSON text and the document that views it; never moved, so the views hold.
class Json {
 public:
  explicit Json(std::string_view text) : text_(text) {
    auto doc = ParseJsonDocument(text_);
    EXPECT_TRUE(doc.has_value()) << (doc ? "" : doc.error().message);
    if (!doc) {
      text_ = "null";
      doc = ParseJsonDocument(text_);
    }
    doc_ = std::move(*doc);
  }
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;
  JsonView root() const { return doc_.Root(); }

 private:
  std::string text_;
  JsonDocument doc_;
};

GitLabDecodeContext Context(std::vector<std::string> names, std::string project_path = "") {
  GitLabDecodeContext context;
  context.names = std::move(names);
  context.project_path = std::move(project_path);
  context.web_root = std::string(kGitLabWebRoot);
  return context;
}

std::vector<Issue> DecodeList(std::string_view text, const GitLabDecodeContext& context) {
  Json json(text);
  auto issues = DecodeGitLabIssueList(json.root(), context);
  EXPECT_TRUE(issues.has_value()) << (issues ? "" : issues.error().message);
  return issues ? std::move(*issues) : std::vector<Issue>{};
}

const Value& F(const Issue& issue, const std::string& name) {
  static const Value kMissing("<missing>");
  auto it = issue.fields.find(name);
  return it != issue.fields.end() ? it->second : kMissing;
}

Value User(Value login, Value name, Value email) {
  Value::Object user;
  user.emplace("email", std::move(email));
  user.emplace("login", std::move(login));
  user.emplace("name", std::move(name));
  return Value(std::move(user));
}

Value List(Value::List items) { return Value(std::move(items)); }

Value Object(std::initializer_list<std::pair<std::string, Value>> members) {
  Value::Object o;
  for (const auto& [k, v] : members) {
    o.emplace(k, v);
  }
  return Value(std::move(o));
}

const std::vector<std::string> kEveryKind = {
    "title",       "description", "state",        "labels",     "assignees",
    "assignee",    "author",      "closed_by",    "milestone",  "time_stats",
    "weight",      "due_date",    "references",   "created_at", "updated_at",
    "closed_at",   "iid",         "confidential", "epic",       "task_completion_status",
    "moved_to_id", "issue_type",  "nonexistent"};

TEST(DecodeGitLabIssueList, APaidTierIssueWithEveryKindOfMember) {
  const std::vector<Issue> issues = DecodeList(kGitLabProjectList, Context(kEveryKind));
  ASSERT_EQ(issues.size(), 3u);
  const Issue& issue = issues[0];
  ASSERT_EQ(issue.decode_error, "");
  EXPECT_EQ(issue.id, "76");  // the global id, not the iid
  EXPECT_EQ(issue.key, "my-group/my-project#6");
  EXPECT_EQ(issue.url, "https://gitlab.example.com/my-group/my-project/-/issues/6");
  EXPECT_EQ(issue.created_ms, *ParseIsoUtc("2016-01-04T15:31:51.081Z"));
  EXPECT_EQ(issue.updated_ms % 1000, 81);  // milliseconds kept
  EXPECT_FALSE(issue.resolved_ms.has_value());

  EXPECT_EQ(F(issue, "title"),
            Value("Consequatur vero maxime deserunt laboriosam est voluptas dolorem."));
  EXPECT_EQ(F(issue, "state"), Value("opened"));
  EXPECT_EQ(F(issue, "labels"), List({"priority::high", "bug"}));
  EXPECT_EQ(F(issue, "assignees"), List({User("root", "Administrator", Value()),
                                         User("alice", "Alice Example", "alice@example.com")}));
  EXPECT_EQ(F(issue, "assignee"), User("root", "Administrator", Value()));
  // An empty public_email is no e-mail.
  EXPECT_EQ(F(issue, "author"), User("eileen.lowe", "Alexandra Bashirian", Value()));
  EXPECT_EQ(F(issue, "closed_by"), Value());
  EXPECT_EQ(F(issue, "milestone"), Value("v4.0"));
  // Seconds in GitLab, minutes here (3h 30m; 90 s is a minute and a half).
  EXPECT_EQ(F(issue, "time_stats"), Object({{"time_estimate", 210},
                                            {"total_time_spent", 1.5},
                                            {"human_time_estimate", "3h 30m"},
                                            {"human_total_time_spent", "1m 30s"}}));
  EXPECT_EQ(F(issue, "weight"), Value(3));
  EXPECT_EQ(F(issue, "due_date"), Value("2016-07-22"));
  EXPECT_EQ(F(issue, "references"),
            Object({{"short", "#6"}, {"relative", "#6"}, {"full", "my-group/my-project#6"}}));
  EXPECT_EQ(F(issue, "created_at"), Value("2016-01-04T15:31:51.081Z"));
  EXPECT_EQ(F(issue, "updated_at"), Value("2016-01-04T15:31:51.081Z"));
  EXPECT_EQ(F(issue, "closed_at"), Value());
  EXPECT_EQ(F(issue, "iid"), Value(6));
  EXPECT_EQ(F(issue, "confidential"), Value(false));
  EXPECT_EQ(F(issue, "issue_type"), Value("issue"));
  EXPECT_EQ(F(issue, "moved_to_id"), Value());
  // Anything else as GitLab sends it, readable by path (epic.title).
  EXPECT_EQ(F(issue, "epic").Find("title")->AsString(), "My epic epic");
  EXPECT_EQ(F(issue, "task_completion_status"), Object({{"count", 2}, {"completed_count", 1}}));
  // A member GitLab does not send reads as null, and only what was named is there.
  EXPECT_EQ(F(issue, "nonexistent"), Value());
  EXPECT_EQ(issue.fields.size(), kEveryKind.size());
}

TEST(DecodeGitLabIssueList, NullsAbsentMembersAndTheFreeTier) {
  const std::vector<Issue> issues = DecodeList(kGitLabProjectList, Context(kEveryKind));
  ASSERT_EQ(issues.size(), 3u);
  const Issue& issue = issues[1];
  ASSERT_EQ(issue.decode_error, "");
  EXPECT_EQ(issue.id, "84");
  EXPECT_EQ(issue.key, "my-group/my-project#14");
  EXPECT_EQ(issue.updated_ms, *ParseIsoUtc("2024-02-29T23:59:59.999Z"));
  ASSERT_TRUE(issue.resolved_ms.has_value());
  EXPECT_EQ(*issue.resolved_ms, issue.updated_ms);
  EXPECT_EQ(F(issue, "closed_at"), Value("2024-02-29T23:59:59.999Z"));
  EXPECT_EQ(F(issue, "description"), Value());
  // Multi-value members give [] when empty, single ones null.
  EXPECT_EQ(F(issue, "labels"), List({}));
  EXPECT_EQ(F(issue, "assignees"), List({}));
  EXPECT_EQ(F(issue, "assignee"), Value());
  EXPECT_EQ(F(issue, "milestone"), Value());
  EXPECT_EQ(F(issue, "due_date"), Value());
  // The free tier sends no weight at all.
  EXPECT_EQ(F(issue, "weight"), Value());
  EXPECT_EQ(F(issue, "time_stats"), Object({{"time_estimate", 0},
                                            {"total_time_spent", 0},
                                            {"human_time_estimate", Value()},
                                            {"human_total_time_spent", Value()}}));
  // `email` (the token's own user, or an admin's view) before public_email.
  EXPECT_EQ(F(issue, "closed_by"), User("sync.bot", "Sync Bot", "sync.bot@example.com"));
  EXPECT_EQ(F(issue, "author"), User("zoe", "Zoë Ångström", Value()));
  EXPECT_EQ(F(issue, "confidential"), Value(true));
}

TEST(DecodeGitLabIssueList, AMovedIssueIsTheClosedOldOneAsGitLabSendsIt) {
  const std::vector<Issue> issues = DecodeList(kGitLabProjectList, Context(kEveryKind));
  ASSERT_EQ(issues.size(), 3u);
  const Issue& issue = issues[2];
  ASSERT_EQ(issue.decode_error, "");
  EXPECT_EQ(issue.id, "92");
  EXPECT_EQ(issue.key, "my-group/my-project#7");
  EXPECT_EQ(F(issue, "state"), Value("closed"));
  EXPECT_EQ(F(issue, "moved_to_id"), Value(93));
  EXPECT_EQ(F(issue, "weight"), Value());  // paid tier, no weight set
  // A user without a display name is shown by the login.
  EXPECT_EQ(F(issue, "assignees"), List({User("bob", "bob", Value())}));
  // 5430 s is not whole minutes.
  EXPECT_EQ(F(issue, "time_stats").Find("time_estimate")->AsDouble(), 90.5);
  EXPECT_EQ(F(issue, "description"), Value(""));
}

TEST(DecodeGitLabIssueList, ScopedLabelsByScope) {
  const std::string text = R"([
    {"id": 1, "iid": 1, "references": {"full": "g/p#1"}, "updated_at": "2024-05-01T10:00:00Z",
     "labels": ["priority::high", "bug", "workflow::backend::review", "::odd", "odd::"]},
    {"id": 2, "iid": 2, "references": {"full": "g/p#2"}, "updated_at": "2024-05-01T10:00:00Z",
     "labels": ["team::web", "team::api", "team::ops"]},
    {"id": 3, "iid": 3, "references": {"full": "g/p#3"}, "updated_at": "2024-05-01T10:00:00Z",
     "labels": null},
    {"id": 4, "iid": 4, "references": {"full": "g/p#4"}, "updated_at": "2024-05-01T10:00:00Z",
     "labels": [7]}])";
  const std::vector<Issue> issues = DecodeList(text, Context({"scoped_labels"}));
  ASSERT_EQ(issues.size(), 4u);
  EXPECT_EQ(F(issues[0], "scoped_labels"),
            Object({{"priority", "high"}, {"workflow::backend", "review"}}));
  EXPECT_FALSE(issues[0].fields.contains("labels"));  // not asked for
  // The free tier lets an issue carry several labels of one scope.
  EXPECT_EQ(F(issues[1], "scoped_labels"), Object({{"team", List({"web", "api", "ops"})}}));
  EXPECT_EQ(F(issues[2], "scoped_labels"), Value(Value::Object()));
  EXPECT_THAT(issues[3].decode_error, HasSubstr("issue g/p#4: labels: a label is not a name"));
}

TEST(DecodeGitLabIssueList, OnlyTheNamedMembersAreDecoded) {
  // A milestone without a title would fail the issue, but nobody reads it.
  const std::string text = R"([{"id": 5, "iid": 1, "references": {"full": "g/p#1"},
      "updated_at": "2024-05-01T10:00:00.000Z", "title": "T", "milestone": {"id": 17}}])";
  const std::vector<Issue> issues = DecodeList(text, Context({"title"}));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].decode_error, "");
  EXPECT_EQ(issues[0].fields.size(), 1u);
  EXPECT_EQ(F(issues[0], "title"), Value("T"));
  // Reading it fails that issue alone.
  const std::vector<Issue> named = DecodeList(text, Context({"title", "milestone"}));
  ASSERT_EQ(named.size(), 1u);
  EXPECT_THAT(named[0].decode_error, HasSubstr("issue g/p#1: milestone"));
  // With no names (a probe, the reconciliation sweep), only id, key and times.
  const std::vector<Issue> bare = DecodeList(kGitLabProjectList, Context({}));
  ASSERT_EQ(bare.size(), 3u);
  EXPECT_TRUE(bare[0].fields.empty());
  EXPECT_EQ(bare[0].key, "my-group/my-project#6");
}

TEST(DecodeGitLabIssueList, EachFaultStaysWithItsIssue) {
  const std::vector<std::string> names = {"title",      "labels",     "assignees", "author",
                                          "milestone",  "time_stats", "weight",    "due_date",
                                          "created_at", "closed_at"};
  const std::vector<Issue> issues = DecodeList(kGitLabHostileList, Context(names, "g/p"));
  ASSERT_EQ(issues.size(), 19u);  // one per element, whatever it holds
  // Each undecodable issue names itself and what is wrong.
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"g/p#1", "issue g/p#1 has no numeric id"},
      {"g/p#2", "issue g/p#2 has no numeric id"},  // a string id is not GitLab's
      {"g/p#3", "issue g/p#3: updated_at is not a date and time"},
      {"g/p#4", "issue g/p#4: updated_at is not a date and time"},  // no zone
      {"g/p#5", "issue g/p#5: updated_at is outside the years 1970-9999"},
      {"g/p#6", "issue g/p#6: created_at is not a date and time"},
      {"g/p#7", "issue g/p#7: closed_at is not a date and time"},
      {"g/p#8", "issue g/p#8: web_url is not an http(s) URL"},
      {"g/p#9", "issue g/p#9: labels is not a list"},
      {"g/p#10", "issue g/p#10: labels: a label is not a name"},
      {"g/p#11", "issue g/p#11: assignees: a user is not a JSON object"},
      {"g/p#12", "issue g/p#12: author: a user has no username"},
      {"g/p#13", "issue g/p#13: milestone has no title"},
      {"g/p#14", "issue g/p#14: time_stats.time_estimate is not a number of seconds"},
      {"g/p#15", "issue g/p#15: weight is not a number"},
      {"g/p#16", "issue g/p#16: due_date is not a date (YYYY-MM-DD)"},
      {"", "an issue in the list is not a JSON object"},
      {"", "issue 118 has no key"},
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("element " + std::to_string(i));
    const Issue& issue = issues[i];
    EXPECT_EQ(issue.key, expected[i].first);
    EXPECT_THAT(issue.decode_error, HasSubstr(expected[i].second));
    EXPECT_TRUE(issue.fields.empty());
  }
  // What could be read of them is kept: the id and a valid updated_at.
  EXPECT_EQ(issues[2].id, "103");
  EXPECT_EQ(issues[2].updated_ms, 0);
  EXPECT_EQ(issues[5].updated_ms, *ParseIsoUtc("2024-05-01T10:00:00Z"));
  EXPECT_EQ(issues[4].updated_ms, 0);  // before 1970: not usable
  EXPECT_EQ(issues[1].id, "");
  EXPECT_EQ(issues[17].id, "118");

  const Issue& sound = issues[18];
  ASSERT_EQ(sound.decode_error, "");
  EXPECT_EQ(sound.key, "g/p#19");
  EXPECT_EQ(F(sound, "labels"), List({}));
  EXPECT_EQ(F(sound, "assignees"), List({}));
  EXPECT_EQ(F(sound, "weight"), Value(2.5));
  EXPECT_EQ(F(sound, "title"), Value("Sound"));
}

TEST(DecodeGitLabIssueList, APageThatIsNotAListFailsWhole) {
  for (std::string_view text : {R"({"message": "404 Project Not Found"})", "null", "\"[]\""}) {
    Json json(text);
    auto issues = DecodeGitLabIssueList(json.root(), Context({"title"}));
    ASSERT_FALSE(issues) << text;
    EXPECT_EQ(issues.error().code, ErrorCode::kBadResponse);
  }
  Json empty("[]");
  auto none = DecodeGitLabIssueList(empty.root(), Context({"title"}));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(DecodeGitLabIssue, WithoutReferencesTheKeyIsTheProjectPathAndIid) {
  // Before GitLab 12.x there were no references.
  const std::string text = R"({"id": 500, "iid": 12, "updated_at": "2024-05-01T10:00:00Z",
      "web_url": "https://host.example/gitlab/acme/platform/api/-/issues/12"})";
  Json json(text);
  GitLabDecodeContext project = Context({}, "acme/roadmap");
  auto in_project = DecodeGitLabIssue(json.root(), project);
  ASSERT_TRUE(in_project) << in_project.error().message;
  EXPECT_EQ(in_project->key, "acme/roadmap#12");
  // A group list: the project's path from web_url, below the web root
  // (a relative URL root included).
  GitLabDecodeContext group = Context({});
  group.web_root = "https://host.example/gitlab";
  auto in_group = DecodeGitLabIssue(json.root(), group);
  ASSERT_TRUE(in_group) << in_group.error().message;
  EXPECT_EQ(in_group->key, "acme/platform/api#12");
  // Old web URLs without "/-/".
  Json old(R"({"id": 501, "iid": 3, "updated_at": "2024-05-01T10:00:00Z",
      "web_url": "https://host.example/gitlab/acme/roadmap/issues/3"})");
  auto in_old = DecodeGitLabIssue(old.root(), group);
  ASSERT_TRUE(in_old) << in_old.error().message;
  EXPECT_EQ(in_old->key, "acme/roadmap#3");
  // A web_url on another root tells nothing.
  group.web_root = "https://elsewhere.example";
  EXPECT_FALSE(DecodeGitLabIssue(json.root(), group));
}

TEST(ParseGitLabTime, ReadsGitLabsTimestampsAndNothingLess) {
  EXPECT_EQ(ParseGitLabTime("2016-01-04T15:31:51.081Z"), ParseIsoUtc("2016-01-04T15:31:51.081Z"));
  EXPECT_EQ(ParseGitLabTime("2016-01-04T15:31:51Z"), ParseIsoUtc("2016-01-04T15:31:51Z"));
  EXPECT_EQ(*ParseGitLabTime("2016-01-04T16:31:51.081+01:00"),
            *ParseIsoUtc("2016-01-04T15:31:51.081Z"));
  EXPECT_EQ(*ParseGitLabTime("2016-01-04T16:31:51.081+0100"),
            *ParseIsoUtc("2016-01-04T15:31:51.081Z"));
  EXPECT_FALSE(ParseGitLabTime("2016-01-04"));
  EXPECT_FALSE(ParseGitLabTime("2016-01-04T15:31:51"));
  EXPECT_FALSE(ParseGitLabTime("2016-01-04T15:31Z"));
  EXPECT_FALSE(ParseGitLabTime("2016-01-04T15:31:51+25:00"));
  EXPECT_FALSE(ParseGitLabTime("2016-01-04T15:31:51.081Zjunk"));
  EXPECT_FALSE(ParseGitLabTime(""));
}

TEST(DecodeGitLabUser, TheTokensUser) {
  Json me(R"({"id": 24, "username": "sync.bot", "name": "Sync Bot", "state": "active",
              "bot": false, "email": "sync.bot@example.com"})");
  auto user = DecodeGitLabUser(me.root());
  ASSERT_TRUE(user) << user.error().message;
  EXPECT_EQ(user->username, "sync.bot");
  EXPECT_EQ(user->name, "Sync Bot");
  EXPECT_EQ(user->id, 24);
  EXPECT_FALSE(user->bot);
  Json bot(R"({"id": 90, "username": "project_101_bot_3f9c1a", "name": "", "bot": true})");
  auto project_bot = DecodeGitLabUser(bot.root());
  ASSERT_TRUE(project_bot);
  EXPECT_EQ(project_bot->name, "project_101_bot_3f9c1a");
  EXPECT_TRUE(project_bot->bot);
  Json anonymous(R"({"message": "ok"})");
  EXPECT_FALSE(DecodeGitLabUser(anonymous.root()));
}

TEST(DecodeGitLabNamespace, ProjectsAndGroups) {
  Json project(R"({"id": 101, "path_with_namespace": "acme/roadmap", "name": "Roadmap"})");
  auto p = DecodeGitLabNamespace(project.root());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, 101);
  EXPECT_EQ(p->full_path, "acme/roadmap");
  Json group(R"({"id": 11, "full_path": "acme/platform"})");
  auto g = DecodeGitLabNamespace(group.root());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->full_path, "acme/platform");
  Json bad(R"({"id": "11"})");
  EXPECT_FALSE(DecodeGitLabNamespace(bad.root()));
}

}  // namespace
}  // namespace boardsync

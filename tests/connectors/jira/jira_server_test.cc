// Tests of the sample Jira server (tests/support/jira/jira_server.h) over
// real loopback HTTP with a plain client, so that the Jira connector's
// tests can trust what it serves: auth per flavour, shapes, projection, JQL
// strictness, time zones across DST, paging both ways, live shifts, index
// lag and faults.

#include "tests/support/jira/jira_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/http/json.h"
#include "core/time.h"
#include "tests/support/http_test_client.h"
#include "tests/support/jira/jira_jql.h"

namespace boardsync {
namespace {

using std::chrono::milliseconds;
using Params = std::vector<std::pair<std::string, std::string>>;

std::int64_t Ms(std::string_view iso) {
  auto ms = ParseIsoUtc(iso);
  EXPECT_TRUE(ms.has_value()) << iso;
  return ms.value_or(0);
}

Value MustParse(const std::string& text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text.substr(0, 300);
  return parsed ? *parsed : Value();
}

JiraServerOptions CloudOptions() { return JiraServerOptions{}; }

JiraServerOptions DataCenterOptions() {
  JiraServerOptions options;
  options.flavor = JiraFlavor::kDataCenter;
  options.path_prefix = "/jira";
  return options;
}

// A client for one server: paths are given without the prefix, and every
// request carries the server's credentials unless told otherwise.
class Api {
 public:
  explicit Api(JiraServer& server)
      : server_(server), client_(server.base_url()), prefix_(PrefixOf(server)) {}

  HttpTestResponse Get(std::string_view path, const Params& params = {},
                       std::optional<std::string> authorization = std::nullopt) {
    return client_.Get(BuildTarget(prefix_ + std::string(path), params), Headers(authorization));
  }
  HttpTestResponse Post(std::string_view path, const Value& body,
                        std::optional<std::string> authorization = std::nullopt) {
    HttpServerHeaders headers = Headers(authorization);
    headers.emplace_back("Content-Type", "application/json");
    return client_.Send("POST", prefix_ + std::string(path), headers, body.ToJson());
  }
  // GET search of the server's flavour; the parsed body (null on non-200).
  Value Search(std::string_view jql, Params params = {}) {
    params.emplace_back("jql", std::string(jql));
    auto response = Get(SearchPath(), params);
    EXPECT_EQ(response.status, 200) << jql << " -> " << response.body;
    return response.status == 200 ? MustParse(response.body) : Value();
  }
  std::string SearchPath() const {
    return server_.flavor() == JiraFlavor::kCloud ? "/rest/api/3/search/jql" : "/rest/api/2/search";
  }
  HttpTestClient& client() { return client_; }

 private:
  static std::string PrefixOf(const JiraServer& server) {
    std::string root = server.server().base_url();
    return server.base_url().substr(root.size());
  }
  HttpServerHeaders Headers(const std::optional<std::string>& authorization) const {
    HttpServerHeaders headers{{"Accept", "application/json"}};
    std::string value = authorization.value_or(server_.AuthorizationHeader());
    if (!value.empty()) {
      headers.emplace_back("Authorization", value);
    }
    return headers;
  }

  JiraServer& server_;
  HttpTestClient client_;
  std::string prefix_;
};

std::vector<std::string> Keys(const Value& page) {
  std::vector<std::string> keys;
  if (const Value* issues = page.Find("issues"); issues && issues->IsList()) {
    for (const Value& issue : issues->AsList()) {
      keys.emplace_back(issue.StringOr("key"));
    }
  }
  return keys;
}

std::string FirstError(const HttpTestResponse& response) {
  Value body = MustParse(response.body);
  const Value* messages = body.Find("errorMessages");
  if (messages == nullptr || !messages->IsList() || messages->AsList().empty()) {
    return "";
  }
  return messages->AsList().front().IsString() ? messages->AsList().front().AsString() : "";
}

// Adds RAP-1..RAP-n updated one minute apart from `first`.
std::vector<std::string> AddMinuteApart(JiraServer& server, int n, std::int64_t first) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) {
    JiraIssue issue;
    issue.summary = "Issue " + std::to_string(i);
    issue.created_ms = first - 86400000;
    issue.updated_ms = first + i * 60000LL;
    auto key = server.AddIssue(issue);
    EXPECT_TRUE(key.has_value());
    keys.push_back(key.value_or(""));
  }
  return keys;
}

std::string Basic(std::string_view user_and_secret) {
  // The server's own header for the default credentials is "Basic " +
  // base64; build others by hand from a known table-free encoder.
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < user_and_secret.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(user_and_secret[i]) << 16) |
                 (static_cast<unsigned char>(user_and_secret[i + 1]) << 8) |
                 static_cast<unsigned char>(user_and_secret[i + 2]);
    for (int s = 18; s >= 0; s -= 6) {
      out.push_back(kAlphabet[(v >> s) & 63]);
    }
  }
  std::size_t left = user_and_secret.size() - i;
  if (left > 0) {
    unsigned v = static_cast<unsigned char>(user_and_secret[i]) << 16;
    if (left == 2) {
      v |= static_cast<unsigned char>(user_and_secret[i + 1]) << 8;
    }
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(left == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return "Basic " + out;
}

// ---------------------------------------------------------------------------
// Authentication and endpoints

TEST(JiraServerTest, CloudTakesBasicEmailAndTokenOnly) {
  JiraServer server(CloudOptions());
  Api api(server);
  EXPECT_EQ(server.AuthorizationHeader(),
            Basic(std::string(kJiraCloudEmail) + ":" + std::string(kJiraCloudApiToken)));

  auto me = api.Get("/rest/api/3/myself");
  ASSERT_EQ(me.status, 200) << me.body;
  Value user = MustParse(me.body);
  EXPECT_EQ(user.StringOr("accountType"), "atlassian");
  EXPECT_FALSE(user.StringOr("accountId").empty());
  EXPECT_EQ(user.StringOr("emailAddress"), kJiraCloudEmail);
  EXPECT_EQ(user.StringOr("displayName"), "Sync Bot");
  EXPECT_EQ(user.StringOr("timeZone"), "Europe/Berlin");
  EXPECT_EQ(user.Find("name"), nullptr);
  EXPECT_EQ(user.Find("key"), nullptr);

  // The e-mail's case does not matter; the token's does.
  EXPECT_EQ(api.Get("/rest/api/3/myself", {},
                    Basic("SYNC.BOT@example.com:" + std::string(kJiraCloudApiToken)))
                .status,
            200);
  EXPECT_EQ(api.Get("/rest/api/3/myself", {}, Basic("sync.bot@example.com:wrong")).status, 401);
  EXPECT_EQ(api.Get("/rest/api/3/myself", {},
                    Basic("other@example.com:" + std::string(kJiraCloudApiToken)))
                .status,
            401);
  // An API token as a Bearer token is not an OAuth token: 401.
  auto bearer = api.Get("/rest/api/3/myself", {}, "Bearer " + std::string(kJiraCloudApiToken));
  EXPECT_EQ(bearer.status, 401);
  EXPECT_NE(bearer.body.find("Client must be authenticated"), std::string::npos);
  EXPECT_EQ(api.Get("/rest/api/3/myself", {}, "").status, 401);
  // v2 answers too, with the same user.
  EXPECT_EQ(api.Get("/rest/api/2/myself").status, 200);

  server.RevokeToken();
  EXPECT_EQ(api.Get("/rest/api/3/myself").status, 401);
  server.SetToken("ATATT-new-token");
  EXPECT_EQ(api.Get("/rest/api/3/myself").status, 200);
  EXPECT_EQ(api.Get("/rest/api/3/myself", {},
                    Basic("sync.bot@example.com:" + std::string(kJiraCloudApiToken)))
                .status,
            401);
}

TEST(JiraServerTest, DataCenterTakesBearerPatOnlyUnderItsContextPath) {
  JiraServer server(DataCenterOptions());
  EXPECT_EQ(server.base_url(), server.server().base_url() + "/jira");
  Api api(server);
  EXPECT_EQ(server.AuthorizationHeader(), "Bearer " + std::string(kJiraDataCenterToken));

  auto me = api.Get("/rest/api/2/myself");
  ASSERT_EQ(me.status, 200) << me.body;
  Value user = MustParse(me.body);
  EXPECT_EQ(user.StringOr("name"), "sync.bot");
  EXPECT_EQ(user.StringOr("key"), "JIRAUSER10100");
  EXPECT_EQ(user.StringOr("timeZone"), "Europe/Berlin");
  EXPECT_EQ(user.Find("accountId"), nullptr);

  auto basic =
      api.Get("/rest/api/2/myself", {}, Basic("sync.bot:" + std::string(kJiraDataCenterToken)));
  EXPECT_EQ(basic.status, 401);
  EXPECT_EQ(FirstError(basic),
            "You are not authenticated. Authentication required to perform this operation.");
  EXPECT_EQ(basic.Header("x-seraph-loginreason"), "AUTHENTICATED_FAILED");
  EXPECT_EQ(api.Get("/rest/api/2/myself", {}, "Bearer nope").status, 401);
  EXPECT_EQ(api.Get("/rest/api/2/myself", {}, "").status, 401);

  // No API v3, no /search/jql, nothing outside the context path.
  EXPECT_EQ(api.Get("/rest/api/3/myself").status, 404);
  EXPECT_EQ(api.Get("/rest/api/2/search/jql", {{"jql", "project = RAP"}}).status, 404);
  HttpTestClient bare(server.base_url());
  auto outside = bare.Get("/rest/api/2/myself", {{"Authorization", server.AuthorizationHeader()}});
  EXPECT_EQ(outside.status, 404);
  EXPECT_NE(outside.body.find("dead link"), std::string::npos);
}

TEST(JiraServerTest, CloudOldSearchIsGoneAndUnknownPathsAre404) {
  JiraServer server(CloudOptions());
  Api api(server);
  auto old = api.Get("/rest/api/3/search", {{"jql", "project = RAP"}});
  EXPECT_EQ(old.status, 410);
  EXPECT_NE(FirstError(old).find("Please migrate to the /rest/api/3/search/jql API"),
            std::string::npos);
  EXPECT_EQ(api.Post("/rest/api/2/search", Value(Value::Object{{"jql", "project = RAP"}})).status,
            410);
  EXPECT_EQ(api.Get("/rest/api/3/nothing/here").status, 404);
  EXPECT_EQ(api.Get("/rest/api/3/project").status, 404);  // Cloud lists through /project/search
}

TEST(JiraServerTest, FieldsListSystemAndCustomFieldsWithSchemas) {
  JiraServerOptions options = CloudOptions();
  options.shared_field_name = "Impact";
  JiraServer server(options);
  Api api(server);
  auto response = api.Get("/rest/api/3/field");
  ASSERT_EQ(response.status, 200);
  Value fields = MustParse(response.body);
  std::map<std::string, Value> by_id;
  std::vector<std::string> impact_ids;
  for (const Value& field : fields.AsList()) {
    by_id[std::string(field.StringOr("id"))] = field;
    if (field.StringOr("name") == "Impact") {
      impact_ids.emplace_back(field.StringOr("id"));
    }
  }
  ASSERT_TRUE(by_id.contains("customfield_10016"));
  const Value& points = by_id["customfield_10016"];
  EXPECT_EQ(points.StringOr("name"), "Story Points");
  EXPECT_EQ(points.StringOr("key"), "customfield_10016");
  EXPECT_EQ(*points.Find("custom"), Value(true));
  EXPECT_EQ(points.Find("schema")->StringOr("type"), "number");
  EXPECT_EQ(points.Find("schema")->StringOr("custom"),
            "com.atlassian.jira.plugin.system.customfieldtypes:float");
  EXPECT_EQ(by_id["customfield_10020"].Find("schema")->StringOr("items"), "json");
  EXPECT_EQ(by_id["customfield_10031"].Find("schema")->StringOr("items"), "option");
  EXPECT_EQ(by_id["summary"].Find("schema")->StringOr("system"), "summary");
  EXPECT_EQ(*by_id["summary"].Find("custom"), Value(false));
  for (std::string_view id :
       {"description", "status", "priority", "issuetype", "resolution", "resolutiondate", "created",
        "updated", "labels", "assignee", "reporter", "components", "fixVersions",
        "timeoriginalestimate", "timespent", "customfield_10030", "customfield_10050"}) {
    EXPECT_TRUE(by_id.contains(std::string(id))) << id;
  }
  EXPECT_EQ(impact_ids, (std::vector<std::string>{"customfield_10060", "customfield_10061"}));

  JiraServer plain(CloudOptions());
  Api plain_api(plain);
  EXPECT_EQ(plain_api.Get("/rest/api/3/field").body.find("Impact"), std::string::npos);
}

TEST(JiraServerTest, ProjectsPagedOnCloudListedOnDataCenter) {
  JiraServer cloud(CloudOptions());
  cloud.AddProject("OPS", "Operations");
  Api api(cloud);
  auto first = api.Get("/rest/api/3/project/search", {{"maxResults", "3"}});
  ASSERT_EQ(first.status, 200);
  Value page = MustParse(first.body);
  EXPECT_EQ(*page.Find("total"), Value(4));
  EXPECT_EQ(*page.Find("isLast"), Value(false));
  EXPECT_EQ(page.Find("values")->AsList().size(), 3u);
  EXPECT_EQ(page.Find("values")->AsList()[0].StringOr("key"), "RAP");
  EXPECT_EQ(page.Find("values")->AsList()[0].StringOr("name"), "Roadmap App");
  Value second = MustParse(
      api.Get("/rest/api/3/project/search", {{"startAt", "3"}, {"maxResults", "3"}}).body);
  EXPECT_EQ(*second.Find("isLast"), Value(true));
  EXPECT_EQ(second.Find("values")->AsList()[0].StringOr("key"), "OPS");

  JiraServer dc(DataCenterOptions());
  Api dc_api(dc);
  auto list = dc_api.Get("/rest/api/2/project");
  ASSERT_EQ(list.status, 200);
  Value projects = MustParse(list.body);
  ASSERT_TRUE(projects.IsList());
  EXPECT_EQ(projects.AsList().size(), 3u);
  EXPECT_EQ(dc_api.Get("/rest/api/2/project/search").status, 404);
}

// ---------------------------------------------------------------------------
// Issue shapes and projection

JiraIssue FullIssue() {
  JiraIssue issue;
  issue.project = "RAP";
  issue.summary = "Export boards";
  issue.description = "First line\n- one\n- two\nLast line";
  issue.status = "In Progress";
  issue.priority = "High";
  issue.issue_type = "Story";
  issue.created_ms = Ms("2024-03-01T08:00:00Z");
  issue.updated_ms = Ms("2024-03-10T00:59:30.123Z");
  issue.labels = {"backend", "ux"};
  issue.assignee = "bob";
  issue.reporter = "alice";
  issue.components = {"API"};
  issue.fix_versions = {"1.1"};
  issue.original_estimate_seconds = 7200;
  issue.story_points = 5;
  issue.sprints = {"RAP Sprint 1", "RAP Sprint 2"};
  issue.team = "Alpha";
  issue.platforms = {"iOS", "Web"};
  issue.acceptance_criteria = "Given a board";
  return issue;
}

TEST(JiraServerTest, CloudIssueShape) {
  JiraServer server(CloudOptions());
  auto key = server.AddIssue(FullIssue());
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(*key, "RAP-1");
  Api api(server);
  Value page = api.Search("project = RAP", {{"fields", "*all"}});
  ASSERT_EQ(page.Find("issues")->AsList().size(), 1u);
  const Value& issue = page.Find("issues")->AsList()[0];
  EXPECT_EQ(issue.StringOr("id"), "10001");
  EXPECT_EQ(issue.StringOr("key"), "RAP-1");
  EXPECT_EQ(issue.StringOr("self"), server.base_url() + "/rest/api/3/issue/10001");
  const Value& f = *issue.Find("fields");
  EXPECT_EQ(f.StringOr("summary"), "Export boards");
  EXPECT_EQ(f.StringOr("updated"), "2024-03-10T01:59:30.123+0100");  // Berlin, winter
  EXPECT_EQ(f.StringOr("created"), "2024-03-01T09:00:00.000+0100");
  EXPECT_EQ(f.Find("status")->StringOr("name"), "In Progress");
  EXPECT_EQ(f.Find("status")->Find("statusCategory")->StringOr("key"), "indeterminate");
  EXPECT_EQ(f.Find("priority")->StringOr("name"), "High");
  EXPECT_EQ(f.Find("issuetype")->StringOr("name"), "Story");
  EXPECT_TRUE(f.Find("resolution")->IsNull());
  EXPECT_TRUE(f.Find("resolutiondate")->IsNull());
  EXPECT_EQ(*f.Find("labels"), Value(Value::List{"backend", "ux"}));
  EXPECT_EQ(*f.Find("timeoriginalestimate"), Value(7200));
  EXPECT_TRUE(f.Find("timespent")->IsNull());
  EXPECT_EQ(f.Find("components")->AsList()[0].StringOr("name"), "API");
  EXPECT_EQ(f.Find("fixVersions")->AsList()[0].StringOr("name"), "1.1");
  EXPECT_EQ(f.Find("project")->StringOr("key"), "RAP");

  // Rich text in Atlassian Document Format.
  const Value& description = *f.Find("description");
  EXPECT_EQ(description.StringOr("type"), "doc");
  EXPECT_EQ(*description.Find("version"), Value(1));
  const Value::List& blocks = description.Find("content")->AsList();
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].StringOr("type"), "paragraph");
  EXPECT_EQ(blocks[0].Find("content")->AsList()[0].StringOr("text"), "First line");
  EXPECT_EQ(blocks[1].StringOr("type"), "bulletList");
  EXPECT_EQ(blocks[1].Find("content")->AsList().size(), 2u);
  EXPECT_EQ(f.Find("customfield_10050")->StringOr("type"), "doc");

  // Users by accountId, no name or key; Bob hides his e-mail.
  const Value& assignee = *f.Find("assignee");
  EXPECT_EQ(assignee.StringOr("accountId"), "5b10ac8d82e05b22cc7d4ef5");
  EXPECT_EQ(assignee.StringOr("displayName"), "Bob Brown");
  EXPECT_EQ(assignee.Find("emailAddress"), nullptr);
  EXPECT_EQ(assignee.Find("name"), nullptr);
  EXPECT_EQ(f.Find("reporter")->StringOr("emailAddress"), "alice@example.com");

  // Custom fields.
  EXPECT_EQ(f.Find("customfield_10016")->AsNumber(), 5.0);
  const Value::List& sprints = f.Find("customfield_10020")->AsList();
  ASSERT_EQ(sprints.size(), 2u);
  EXPECT_EQ(sprints[1].StringOr("name"), "RAP Sprint 2");
  EXPECT_EQ(sprints[1].StringOr("state"), "active");
  EXPECT_EQ(sprints[0].StringOr("state"), "closed");
  EXPECT_EQ(f.Find("customfield_10030")->StringOr("value"), "Alpha");
  EXPECT_EQ(f.Find("customfield_10031")->AsList()[1].StringOr("value"), "Web");

  // API v2 on Cloud: the same issue with plain-text rich text.
  auto v2 =
      api.Get("/rest/api/2/search/jql", {{"jql", "project = RAP"}, {"fields", "description"}});
  ASSERT_EQ(v2.status, 200);
  EXPECT_EQ(MustParse(v2.body).Find("issues")->AsList()[0].Find("fields")->StringOr("description"),
            "First line\n- one\n- two\nLast line");
}

TEST(JiraServerTest, DataCenterIssueShape) {
  JiraServerOptions options = DataCenterOptions();
  options.server_time_zone = "America/New_York";
  options.legacy_sprint_strings = true;
  JiraServer server(options);
  ASSERT_TRUE(server.AddIssue(FullIssue()).has_value());
  Api api(server);
  Value page = api.Search("project = RAP");
  EXPECT_EQ(*page.Find("total"), Value(1));
  EXPECT_EQ(*page.Find("startAt"), Value(0));
  EXPECT_EQ(*page.Find("maxResults"), Value(50));
  EXPECT_EQ(page.Find("nextPageToken"), nullptr);
  const Value& issue = page.Find("issues")->AsList()[0];
  EXPECT_EQ(issue.StringOr("self"), server.base_url() + "/rest/api/2/issue/10001");
  const Value& f = *issue.Find("fields");  // no fields=: all of them
  EXPECT_EQ(f.StringOr("description"), "First line\n- one\n- two\nLast line");
  EXPECT_EQ(f.StringOr("customfield_10050"), "Given a board");
  EXPECT_EQ(f.StringOr("updated"), "2024-03-09T19:59:30.123-0500");  // the server's zone
  const Value& assignee = *f.Find("assignee");
  EXPECT_EQ(assignee.StringOr("name"), "bob");
  EXPECT_EQ(assignee.StringOr("key"), "bob");
  EXPECT_EQ(assignee.StringOr("emailAddress"), "bob@example.com");
  EXPECT_EQ(assignee.Find("accountId"), nullptr);
  EXPECT_EQ(f.Find("reporter")->StringOr("key"), "JIRAUSER10101");
  const Value& sprint = f.Find("customfield_10020")->AsList()[1];
  ASSERT_TRUE(sprint.IsString());
  EXPECT_TRUE(sprint.AsString().starts_with("com.atlassian.greenhopper.service.sprint.Sprint@"));
  EXPECT_NE(sprint.AsString().find(",name=RAP Sprint 2,"), std::string::npos);
}

TEST(JiraServerTest, FieldsProjection) {
  JiraServer cloud(CloudOptions());
  ASSERT_TRUE(cloud.AddIssue(FullIssue()).has_value());
  Api api(cloud);
  auto field_names = [](const Value& page) {
    std::set<std::string> names;
    const Value& issue = page.Find("issues")->AsList().at(0);
    EXPECT_FALSE(issue.StringOr("id").empty());
    EXPECT_FALSE(issue.StringOr("key").empty());
    EXPECT_FALSE(issue.StringOr("self").empty());
    if (const Value* fields = issue.Find("fields")) {
      for (const auto& [name, value] : fields->AsObject()) {
        names.insert(name);
      }
    }
    return names;
  };
  EXPECT_EQ(field_names(api.Search("project = RAP", {{"fields", "summary,status"}})),
            (std::set<std::string>{"summary", "status"}));
  // Repeated fields= add up; unknown ids are ignored.
  EXPECT_EQ(field_names(api.Search("project = RAP", {{"fields", "summary"},
                                                     {"fields", "customfield_10016,nosuchfield"}})),
            (std::set<std::string>{"summary", "customfield_10016"}));
  std::set<std::string> all =
      field_names(api.Search("project = RAP", {{"fields", "*all,-description"}}));
  EXPECT_TRUE(all.contains("customfield_10031"));
  EXPECT_FALSE(all.contains("description"));
  // Cloud's /search/jql without fields=: ids only.
  EXPECT_TRUE(field_names(api.Search("project = RAP")).empty());
  // POST takes a list; expand=names names what came.
  auto post = api.Post("/rest/api/3/search/jql",
                       Value(Value::Object{{"jql", "project = RAP"},
                                           {"fields", Value(Value::List{"customfield_10016"})},
                                           {"expand", "names"}}));
  ASSERT_EQ(post.status, 200) << post.body;
  Value posted = MustParse(post.body);
  EXPECT_EQ(field_names(posted), (std::set<std::string>{"customfield_10016"}));
  EXPECT_EQ(posted.Find("names")->StringOr("customfield_10016"), "Story Points");

  JiraServer dc(DataCenterOptions());
  ASSERT_TRUE(dc.AddIssue(FullIssue()).has_value());
  Api dc_api(dc);
  EXPECT_GT(field_names(dc_api.Search("project = RAP")).size(), 20u);
  EXPECT_EQ(field_names(dc_api.Search("project = RAP", {{"fields", "updated"}})),
            (std::set<std::string>{"updated"}));
}

TEST(JiraServerTest, RawFieldsGoOutAsGiven) {
  JiraServer server(CloudOptions());
  JiraIssue issue = FullIssue();
  issue.raw_fields["customfield_10016"] = "not a number";
  issue.raw_fields["customfield_19999"] = Value(Value::Object{{"odd", true}});
  ASSERT_TRUE(server.AddIssue(issue).has_value());
  Api api(server);
  Value page = api.Search("project = RAP", {{"fields", "customfield_10016,customfield_19999"}});
  const Value& f = *page.Find("issues")->AsList()[0].Find("fields");
  EXPECT_EQ(f.StringOr("customfield_10016"), "not a number");
  EXPECT_EQ(*f.Find("customfield_19999"), Value(Value::Object{{"odd", true}}));
}

// ---------------------------------------------------------------------------
// JQL

TEST(JiraServerTest, JqlRefusesWhatJiraRefuses) {
  JiraServer server(CloudOptions());
  ASSERT_TRUE(server.AddIssue(FullIssue()).has_value());
  Api api(server);
  auto error = [&](std::string_view jql) {
    auto response = api.Get("/rest/api/3/search/jql", {{"jql", std::string(jql)}});
    EXPECT_EQ(response.status, 400) << jql << " -> " << response.body;
    Value body = MustParse(response.body);
    EXPECT_TRUE(body.Find("errors") != nullptr && body.Find("errors")->IsObject()) << response.body;
    return FirstError(response);
  };
  EXPECT_EQ(error("project = RAP AND updated >= \"2024-03-10 10:00:00\""),
            "Date value '2024-03-10 10:00:00' for field 'updated' is invalid. Valid formats "
            "include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a "
            "period format e.g. '-5d', '4w 2d'.");
  EXPECT_NE(error("project = RAP AND updated >= \"2024-03-10T10:00\"").find("Date value"),
            std::string::npos);
  EXPECT_NE(error("project = RAP AND updated >= \"2024-02-30\"").find("Date value"),
            std::string::npos);
  EXPECT_EQ(error("project = RAP AND foo = bar"),
            "Field 'foo' does not exist or you do not have permission to view it.");
  EXPECT_EQ(error("project = NOPE"), "The value 'NOPE' does not exist for the field 'project'.");
  EXPECT_EQ(error("project = RAP AND status = \"Nope\""),
            "The value 'Nope' does not exist for the field 'status'.");
  EXPECT_EQ(error("key in (RAP-1, RAP-99)"),
            "An issue with key 'RAP-99' does not exist for field 'key'.");
  EXPECT_EQ(error("project > RAP"), "The operator '>' is not supported by the 'project' field.");
  EXPECT_NE(error("project RAP").find("Expecting operator but got 'RAP'"), std::string::npos);
  EXPECT_NE(error("project = RAP AND").find("Error in the JQL Query"), std::string::npos);
  EXPECT_NE(error("(project = RAP").find("Expecting ')'"), std::string::npos);
  EXPECT_NE(error("project = RAP updated > 2024-01-01").find("Expecting either 'OR' or 'AND'"),
            std::string::npos);
  EXPECT_NE(error("labels = and").find("reserved JQL word"), std::string::npos);
  EXPECT_NE(error("summary = \"unterminated").find("has not been completed"), std::string::npos);
  EXPECT_EQ(error("project = RAP AND updated > now()"), "Unable to find JQL function 'now()'.");
  EXPECT_EQ(error("project = RAP ORDER BY labels ASC"), "Not able to sort using field 'labels'.");
  EXPECT_EQ(error("ORDER BY updated ASC"),
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your "
            "query.");
  // The same unbounded query is fine on Data Center.
  JiraServer dc(DataCenterOptions());
  Api dc_api(dc);
  EXPECT_EQ(dc_api.Get("/rest/api/2/search", {{"jql", "ORDER BY updated ASC"}}).status, 200);
  EXPECT_EQ(dc_api.Get("/rest/api/2/search").status, 200);  // no jql at all
}

TEST(JiraServerTest, JqlDateFormats) {
  for (std::string_view ok : {"2024-03-10 10:00", "2024/03/10 10:00", "2024-03-10", "2024/03/10",
                              "-5d", "4w 2d", "-90m"}) {
    EXPECT_TRUE(ParseJqlDate(ok).has_value()) << ok;
  }
  for (std::string_view bad : {"2024-03-10 10:00:00", "2024-03-10T10:00", "2024-3-10", "2024-13-01",
                               "2023-02-29", "10:00", "yesterday", "2024-03-10 24:00"}) {
    EXPECT_FALSE(ParseJqlDate(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ParseJqlDate("2024-02-29").has_value());
}

TEST(JiraServerTest, JqlFilters) {
  JiraServer server(CloudOptions());
  auto add = [&](std::string project, std::string status, std::vector<std::string> labels,
                 std::optional<std::string> resolution = std::nullopt) {
    JiraIssue issue;
    issue.project = std::move(project);
    issue.status = std::move(status);
    issue.labels = std::move(labels);
    issue.resolution = std::move(resolution);
    return server.AddIssue(issue).value();
  };
  add("RAP", "To Do", {"backend"});                   // RAP-1, id 10001
  add("RAP", "Done", {"ux"}, "Done");                 // RAP-2, id 10002
  add("SRV", "In Progress", {});                      // SRV-1, id 10003
  add("DOC", "Done", {"backend", "ux"}, "Won't Do");  // DOC-1, id 10004
  Api api(server);
  auto keys = [&](std::string_view jql) {
    std::vector<std::string> k = Keys(api.Search(std::string(jql) + " ORDER BY id ASC"));
    return k;
  };
  using K = std::vector<std::string>;
  EXPECT_EQ(keys("project = RAP"), (K{"RAP-1", "RAP-2"}));
  EXPECT_EQ(keys("project = \"Server Platform\""), (K{"SRV-1"}));  // by name
  EXPECT_EQ(keys("project in (RAP, DOC)"), (K{"RAP-1", "RAP-2", "DOC-1"}));
  EXPECT_EQ(keys("project not in (RAP, DOC)"), (K{"SRV-1"}));
  EXPECT_EQ(keys("key in (RAP-2, doc-1)"), (K{"RAP-2", "DOC-1"}));
  EXPECT_EQ(keys("issuekey = SRV-1"), (K{"SRV-1"}));
  EXPECT_EQ(keys("id in (10001, 10004, 99999)"), (K{"RAP-1", "DOC-1"}));  // unknown ids: no match
  EXPECT_EQ(keys("id > 10002"), (K{"SRV-1", "DOC-1"}));
  EXPECT_EQ(keys("status = \"Done\""), (K{"RAP-2", "DOC-1"}));
  EXPECT_EQ(keys("status != Done"), (K{"RAP-1", "SRV-1"}));
  EXPECT_EQ(keys("labels = backend"), (K{"RAP-1", "DOC-1"}));
  EXPECT_EQ(keys("labels != backend"), (K{"RAP-2"}));  // != never matches an empty field
  EXPECT_EQ(keys("labels is EMPTY"), (K{"SRV-1"}));
  EXPECT_EQ(keys("resolution = Unresolved"), (K{"RAP-1", "SRV-1"}));
  EXPECT_EQ(keys("resolution in (\"Won't Do\")"), (K{"DOC-1"}));
  EXPECT_EQ(keys("(project = RAP OR project = SRV) AND status != Done"), (K{"RAP-1", "SRV-1"}));
  EXPECT_EQ(keys("project = RAP OR project = SRV AND status = Done"), (K{"RAP-1", "RAP-2"}));
  EXPECT_EQ(keys("NOT project = RAP AND labels = ux"), (K{"DOC-1"}));
  EXPECT_EQ(keys("PROJECT = rap and STATUS = \"to do\""), (K{"RAP-1"}));
}

TEST(JiraServerTest, JqlDatesAreCivilMinutesInTheUserZone) {
  JiraServer server(CloudOptions());  // Europe/Berlin, UTC+1 in March
  JiraIssue before;
  before.summary = "before";
  before.updated_ms = Ms("2024-03-10T08:59:59.999Z");
  JiraIssue at;
  at.summary = "at";
  at.updated_ms = Ms("2024-03-10T09:00:00.000Z");
  JiraIssue within;
  within.summary = "within the minute";
  within.updated_ms = Ms("2024-03-10T09:00:30.500Z");
  for (JiraIssue* issue : {&before, &at, &within}) {
    issue->created_ms = Ms("2024-03-01T00:00:00Z");
    ASSERT_TRUE(server.AddIssue(*issue).has_value());
  }
  EXPECT_EQ(server.ReadJqlDate("2024-03-10 10:00"), Ms("2024-03-10T09:00:00Z"));
  EXPECT_EQ(server.ReadJqlDate("2024/03/10 10:00"), Ms("2024-03-10T09:00:00Z"));
  EXPECT_EQ(server.ReadJqlDate("2024-03-10"), Ms("2024-03-09T23:00:00Z"));
  EXPECT_EQ(server.ReadJqlDate("2024-07-01 10:00"), Ms("2024-07-01T08:00:00Z"));  // summer time
  EXPECT_FALSE(server.ReadJqlDate("2024-03-10 10:00:00").has_value());

  Api api(server);
  using K = std::vector<std::string>;
  auto keys = [&](std::string_view condition) {
    return Keys(api.Search("project = RAP AND " + std::string(condition) + " ORDER BY id ASC"));
  };
  EXPECT_EQ(keys("updated >= \"2024-03-10 10:00\""), (K{"RAP-2", "RAP-3"}));
  EXPECT_EQ(keys("updated > \"2024-03-10 10:00\""), (K{"RAP-3"}));  // instants, not minutes
  EXPECT_EQ(keys("updated <= \"2024-03-10 10:00\""), (K{"RAP-1", "RAP-2"}));
  EXPECT_EQ(keys("updated < \"2024-03-10 10:00\""), (K{"RAP-1"}));
  // The same text in UTC would have been an hour later: nothing.
  EXPECT_EQ(keys("updated >= \"2024-03-10 11:00\""), K{});

  // Another user zone moves the same literal.
  server.SetUserTimeZone("America/New_York");
  EXPECT_EQ(server.ReadJqlDate("2024-03-10 05:00"), Ms("2024-03-10T09:00:00Z"));  // EDT, UTC-4
  EXPECT_EQ(keys("updated >= \"2024-03-10 05:00\""), (K{"RAP-2", "RAP-3"}));
  Value me = MustParse(api.Get("/rest/api/3/myself").body);
  EXPECT_EQ(me.StringOr("timeZone"), "America/New_York");
  EXPECT_THROW(server.SetUserTimeZone("Mars/Olympus_Mons"), std::invalid_argument);

  // Periods count from the server clock.
  server.SetNow(Ms("2024-03-10T09:05:00Z"));
  EXPECT_EQ(server.ReadJqlDate("-5m"), Ms("2024-03-10T09:00:00Z"));
  EXPECT_EQ(keys("updated >= -5m"), (K{"RAP-2", "RAP-3"}));
}

struct DstCase {
  std::string zone;
  std::string literal;
  std::string latest;    // the instant with JiraCivilReading::kLatest
  std::string earliest;  // with kEarliest
};

TEST(JiraServerTest, DstGapsAndRepeatsFollowTheReading) {
  const std::vector<DstCase> cases = {
      // Spring forward: 02:00 -> 03:00 local, 02:30 never happens.
      {"Europe/Berlin", "2024-03-31 02:30", "2024-03-31T01:30:00Z", "2024-03-31T00:30:00Z"},
      {"America/New_York", "2024-03-10 02:30", "2024-03-10T07:30:00Z", "2024-03-10T06:30:00Z"},
      {"Australia/Sydney", "2024-10-06 02:30", "2024-10-05T16:30:00Z", "2024-10-05T15:30:00Z"},
      // Fall back: the hour repeats; latest is its second pass.
      {"Europe/Berlin", "2024-10-27 02:30", "2024-10-27T01:30:00Z", "2024-10-27T00:30:00Z"},
      {"America/New_York", "2024-11-03 01:30", "2024-11-03T06:30:00Z", "2024-11-03T05:30:00Z"},
      {"Australia/Sydney", "2024-04-07 02:30", "2024-04-06T16:30:00Z", "2024-04-06T15:30:00Z"},
      // Times next to a change read one way only.
      {"Europe/Berlin", "2024-03-31 01:59", "2024-03-31T00:59:00Z", "2024-03-31T00:59:00Z"},
      {"Europe/Berlin", "2024-03-31 03:00", "2024-03-31T01:00:00Z", "2024-03-31T01:00:00Z"},
      {"Europe/Berlin", "2024-10-27 03:00", "2024-10-27T02:00:00Z", "2024-10-27T02:00:00Z"},
  };
  for (const DstCase& c : cases) {
    JiraServerOptions options = CloudOptions();
    options.user_time_zone = c.zone;
    JiraServer server(options);
    EXPECT_EQ(server.ReadJqlDate(c.literal), Ms(c.latest)) << c.zone << " " << c.literal;
    server.SetCivilReading(JiraCivilReading::kEarliest);
    EXPECT_EQ(server.ReadJqlDate(c.literal), Ms(c.earliest)) << c.zone << " " << c.literal;
  }
}

TEST(JiraServerTest, SearchAcrossDstReadsBothWays) {
  JiraServer server(CloudOptions());  // Europe/Berlin
  // Around the spring gap (02:30 local does not exist) and the autumn
  // repeat (02:30 local happens twice).
  std::vector<std::string> spring, autumn;
  for (std::string_view at :
       {"2024-03-31T00:45:00Z", "2024-03-31T01:15:00Z", "2024-03-31T01:45:00Z"}) {
    JiraIssue issue;
    issue.project = "RAP";
    issue.created_ms = Ms("2024-03-01T00:00:00Z");
    issue.updated_ms = Ms(at);
    spring.push_back(server.AddIssue(issue).value());
  }
  for (std::string_view at : {"2024-10-27T00:15:00Z", "2024-10-27T00:45:00Z",
                              "2024-10-27T01:15:00Z", "2024-10-27T01:45:00Z"}) {
    JiraIssue issue;
    issue.project = "SRV";
    issue.created_ms = Ms("2024-10-01T00:00:00Z");
    issue.updated_ms = Ms(at);
    autumn.push_back(server.AddIssue(issue).value());
  }
  Api api(server);
  using K = std::vector<std::string>;
  auto keys = [&](std::string_view jql) {
    return Keys(api.Search(std::string(jql) + " ORDER BY updated ASC, id ASC"));
  };
  // kLatest: spring 02:30 = 01:30Z, autumn 02:30 = 01:30Z.
  EXPECT_EQ(keys("project = RAP AND updated >= \"2024-03-31 02:30\""), (K{spring[2]}));
  EXPECT_EQ(keys("project = SRV AND updated < \"2024-10-27 02:30\""),
            (K{autumn[0], autumn[1], autumn[2]}));
  server.SetCivilReading(JiraCivilReading::kEarliest);  // both 00:30Z
  EXPECT_EQ(keys("project = RAP AND updated >= \"2024-03-31 02:30\""),
            (K{spring[0], spring[1], spring[2]}));
  EXPECT_EQ(keys("project = SRV AND updated < \"2024-10-27 02:30\""), (K{autumn[0]}));
  // Written in the server's zone, the offsets change across the gap.
  Value page = api.Search("project = RAP ORDER BY updated ASC", {{"fields", "updated"}});
  std::vector<std::string> written;
  for (const Value& issue : page.Find("issues")->AsList()) {
    written.emplace_back(issue.Find("fields")->StringOr("updated"));
  }
  EXPECT_EQ(written, (K{"2024-03-31T01:45:00.000+0100", "2024-03-31T03:15:00.000+0200",
                        "2024-03-31T03:45:00.000+0200"}));
}

TEST(JiraServerTest, OrderBy) {
  JiraServer server(DataCenterOptions());
  std::int64_t t = Ms("2024-05-01T10:00:00Z");
  JiraIssue a;  // RAP-1
  a.updated_ms = t + 60000;
  JiraIssue b;  // RAP-2, ties with RAP-3
  b.updated_ms = t;
  JiraIssue c;  // RAP-3
  c.updated_ms = t;
  for (JiraIssue* issue : {&a, &b, &c}) {
    issue->created_ms = t - 1000;
    ASSERT_TRUE(server.AddIssue(*issue).has_value());
  }
  Api api(server);
  using K = std::vector<std::string>;
  EXPECT_EQ(Keys(api.Search("project = RAP ORDER BY updated ASC, id ASC")),
            (K{"RAP-2", "RAP-3", "RAP-1"}));
  EXPECT_EQ(Keys(api.Search("project = RAP ORDER BY updated DESC, id DESC")),
            (K{"RAP-1", "RAP-3", "RAP-2"}));
  // Ties without a tie-breaker, and no ORDER BY at all: key order, descending.
  EXPECT_EQ(Keys(api.Search("project = RAP ORDER BY updated ASC")), (K{"RAP-3", "RAP-2", "RAP-1"}));
  EXPECT_EQ(Keys(api.Search("project = RAP")), (K{"RAP-3", "RAP-2", "RAP-1"}));
  EXPECT_EQ(Keys(api.Search("project = RAP ORDER BY updated")), (K{"RAP-1", "RAP-3", "RAP-2"}));
  EXPECT_EQ(Keys(api.Search("project = RAP ORDER BY key asc")), (K{"RAP-1", "RAP-2", "RAP-3"}));
}

// ---------------------------------------------------------------------------
// Paging

TEST(JiraServerTest, DataCenterPagesByStartAtWithTotalsAndACap) {
  JiraServer server(DataCenterOptions());
  std::vector<std::string> all = AddMinuteApart(server, 25, Ms("2024-05-01T10:00:00Z"));
  Api api(server);
  const std::string jql = "project = RAP ORDER BY updated ASC, id ASC";
  std::vector<std::string> seen;
  for (int start = 0; start < 25; start += 10) {
    Value page = api.Search(jql, {{"startAt", std::to_string(start)}, {"maxResults", "10"}});
    EXPECT_EQ(*page.Find("total"), Value(25));
    EXPECT_EQ(*page.Find("startAt"), Value(start));
    EXPECT_EQ(*page.Find("maxResults"), Value(10));
    for (std::string& key : Keys(page)) {
      seen.push_back(std::move(key));
    }
  }
  EXPECT_EQ(seen, all);
  EXPECT_TRUE(Keys(api.Search(jql, {{"startAt", "100"}})).empty());

  // A larger maxResults is cut silently, and says so in maxResults.
  Value big = api.Search(jql, {{"maxResults", "5000"}});
  EXPECT_EQ(*big.Find("maxResults"), Value(1000));
  EXPECT_EQ(Keys(big).size(), 25u);
  server.SetMaxResultsCap(7);
  Value capped = api.Search(jql, {{"maxResults", "10"}});
  EXPECT_EQ(*capped.Find("maxResults"), Value(7));
  EXPECT_EQ(Keys(capped).size(), 7u);

  // POST with the same names.
  auto post = api.Post("/rest/api/2/search",
                       Value(Value::Object{{"jql", jql},
                                           {"startAt", 21},
                                           {"maxResults", 7},
                                           {"fields", Value(Value::List{"summary"})}}));
  ASSERT_EQ(post.status, 200) << post.body;
  Value posted = MustParse(post.body);
  EXPECT_EQ(Keys(posted), (std::vector<std::string>(all.begin() + 21, all.end())));
  EXPECT_EQ(posted.Find("issues")->AsList()[0].Find("fields")->AsObject().size(), 1u);
  EXPECT_EQ(api.Get("/rest/api/2/search", {{"jql", jql}, {"maxResults", "ten"}}).status, 400);
}

TEST(JiraServerTest, CloudPagesByTokenTiedToItsJql) {
  JiraServer server(CloudOptions());
  std::vector<std::string> all = AddMinuteApart(server, 25, Ms("2024-05-01T10:00:00Z"));
  Api api(server);
  const std::string jql = "project = RAP ORDER BY updated ASC, id ASC";
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  while (true) {
    Params params{{"maxResults", "10"}, {"fields", "updated"}};
    if (!token.empty()) {
      params.emplace_back("nextPageToken", token);
    }
    Value page = api.Search(jql, params);
    ++pages;
    EXPECT_EQ(page.Find("total"), nullptr);
    EXPECT_EQ(page.Find("startAt"), nullptr);
    for (std::string& key : Keys(page)) {
      seen.push_back(std::move(key));
    }
    const Value* next = page.Find("nextPageToken");
    if (*page.Find("isLast") == Value(true)) {
      EXPECT_EQ(next, nullptr);  // the last page has no token
      break;
    }
    ASSERT_NE(next, nullptr);
    token = next->AsString();
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, all);

  // The token belongs to its JQL; a garbled one is refused too.
  Value first = api.Search(jql, {{"maxResults", "10"}});
  std::string first_token(first.Find("nextPageToken")->AsString());
  auto other = api.Get("/rest/api/3/search/jql", {{"jql", "project = RAP ORDER BY updated DESC"},
                                                  {"nextPageToken", first_token}});
  EXPECT_EQ(other.status, 400);
  EXPECT_NE(FirstError(other).find("token"), std::string::npos);
  EXPECT_EQ(
      api.Get("/rest/api/3/search/jql", {{"jql", jql}, {"nextPageToken", "%%garbage%%"}}).status,
      400);
  // POST carries the token in its body.
  auto post = api.Post(
      "/rest/api/3/search/jql",
      Value(Value::Object{{"jql", jql}, {"maxResults", 10}, {"nextPageToken", first_token}}));
  ASSERT_EQ(post.status, 200) << post.body;
  EXPECT_EQ(Keys(MustParse(post.body)),
            (std::vector<std::string>(all.begin() + 10, all.begin() + 20)));

  // 100 at most per page by default, whatever maxResults says.
  AddMinuteApart(server, 130, Ms("2024-06-01T10:00:00Z"));
  Value big = api.Search(jql, {{"maxResults", "500"}});
  EXPECT_EQ(Keys(big).size(), 100u);
  EXPECT_EQ(Keys(api.Search(jql)).size(), 50u);  // the default page
}

TEST(JiraServerTest, PagingIsLiveChangesShiftOffsets) {
  // Data Center: an issue of page 1 changes before page 2 is read; it moves
  // to the end, everything after it moves up by one, and one issue is never
  // seen by this pass.
  JiraServer server(DataCenterOptions());
  std::vector<std::string> keys = AddMinuteApart(server, 20, Ms("2024-05-01T10:00:00Z"));
  server.SetNow(Ms("2024-05-02T10:00:00Z"));
  Api api(server);
  const std::string jql = "project = RAP ORDER BY updated ASC, id ASC";
  std::vector<std::string> page1 = Keys(api.Search(jql, {{"maxResults", "10"}}));
  EXPECT_EQ(page1, (std::vector<std::string>(keys.begin(), keys.begin() + 10)));
  ASSERT_TRUE(server.UpdateIssue(keys[3], [](JiraIssue& issue) { issue.summary = "changed"; }));
  std::vector<std::string> page2 = Keys(api.Search(jql, {{"startAt", "10"}, {"maxResults", "10"}}));
  std::vector<std::string> expected(keys.begin() + 11, keys.end());
  expected.push_back(keys[3]);
  EXPECT_EQ(page2, expected);  // keys[10] slipped into page 1's range

  // Cloud: a deletion between pages, made from the search hook.
  JiraServer cloud(CloudOptions());
  std::vector<std::string> cloud_keys = AddMinuteApart(cloud, 20, Ms("2024-05-01T10:00:00Z"));
  cloud.OnSearchRequest([&](std::size_t n) {
    if (n == 2) {
      cloud.DeleteIssue(cloud_keys[0]);
    }
  });
  Api cloud_api(cloud);
  Value first = cloud_api.Search(jql, {{"maxResults", "10"}});
  Value second = cloud_api.Search(
      jql, {{"maxResults", "10"},
            {"nextPageToken", std::string(first.Find("nextPageToken")->AsString())}});
  EXPECT_EQ(Keys(second), (std::vector<std::string>(cloud_keys.begin() + 11, cloud_keys.end())));
  EXPECT_EQ(*second.Find("isLast"), Value(true));
}

// ---------------------------------------------------------------------------
// Changes, clock and the index

TEST(JiraServerTest, ClockStampsChanges) {
  JiraServer server(CloudOptions());
  server.SetNow(Ms("2024-05-01T10:00:00Z"));
  std::string key = server.AddIssue(JiraIssue{}).value();
  EXPECT_EQ(server.GetIssue(key)->created_ms, Ms("2024-05-01T10:00:00Z"));
  EXPECT_EQ(server.GetIssue(key)->updated_ms, Ms("2024-05-01T10:00:00Z"));
  server.AdvanceClock(milliseconds(90500));
  EXPECT_EQ(server.NowMs(), Ms("2024-05-01T10:01:30.500Z"));
  ASSERT_TRUE(server.UpdateIssue(key, [](JiraIssue& issue) { issue.summary = "new"; }));
  EXPECT_EQ(server.GetIssue(key)->updated_ms, Ms("2024-05-01T10:01:30.500Z"));
  EXPECT_EQ(server.GetIssue("10001")->summary, "new");
  // A change that sets `updated` keeps it; an edit in place leaves it.
  ASSERT_TRUE(server.UpdateIssue(key, [](JiraIssue& issue) { issue.updated_ms = 5; }));
  EXPECT_EQ(server.GetIssue(key)->updated_ms, 5);
  ASSERT_TRUE(server.EditIssueInPlace(key, [](JiraIssue& issue) { issue.summary = "quiet"; }));
  EXPECT_EQ(server.GetIssue(key)->updated_ms, 5);
  EXPECT_FALSE(server.UpdateIssue("RAP-99", [](JiraIssue&) {}));
  EXPECT_FALSE(server.AddIssue(JiraIssue{.id = 10001}).has_value());
  EXPECT_FALSE(server.AddIssue(JiraIssue{.key = "RAP-1"}).has_value());
  EXPECT_EQ(server.AddIssue(JiraIssue{.key = "RAP-40"}).value(), "RAP-40");
  EXPECT_EQ(server.AddIssue(JiraIssue{}).value(), "RAP-41");
  EXPECT_EQ(server.issue_count(), 3u);
  EXPECT_TRUE(server.DeleteIssue("RAP-40"));
  EXPECT_FALSE(server.GetIssue("RAP-40").has_value());
  EXPECT_EQ(server.Issues().size(), 2u);
}

TEST(JiraServerTest, MoveKeepsTheIdAndTheOldKeyResolves) {
  JiraServer server(CloudOptions());
  server.SetNow(Ms("2024-05-01T10:00:00Z"));
  std::string key = server.AddIssue(FullIssue()).value();
  server.AdvanceClock(milliseconds(60000));
  auto moved = server.MoveIssue(key, "SRV");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(*moved, "SRV-1");
  EXPECT_EQ(server.GetIssue(key)->key, "SRV-1");
  EXPECT_EQ(server.GetIssue("SRV-1")->id, 10001);
  EXPECT_EQ(server.GetIssue("SRV-1")->updated_ms, Ms("2024-05-01T10:01:00Z"));
  Api api(server);
  auto by_old = api.Get("/rest/api/3/issue/RAP-1", {{"fields", "summary"}});
  ASSERT_EQ(by_old.status, 200);
  Value issue = MustParse(by_old.body);
  EXPECT_EQ(issue.StringOr("key"), "SRV-1");
  EXPECT_EQ(issue.StringOr("id"), "10001");
  EXPECT_EQ(Keys(api.Search("key = RAP-1")), (std::vector<std::string>{"SRV-1"}));
  EXPECT_TRUE(Keys(api.Search("project = RAP")).empty());
  EXPECT_EQ(api.Get("/rest/api/3/issue/RAP-77").status, 404);
  EXPECT_EQ(api.Get("/rest/api/3/issue/10001").status, 200);
}

TEST(JiraServerTest, IndexLagServesTheOldVersionToSearch) {
  JiraServer server(CloudOptions());
  server.SetNow(Ms("2024-05-01T10:00:00Z"));
  std::string changed = server.AddIssue(JiraIssue{.summary = "old"}).value();     // RAP-1
  std::string deleted = server.AddIssue(JiraIssue{.summary = "doomed"}).value();  // RAP-2
  server.SetIndexLag(milliseconds(60000));
  server.AdvanceClock(milliseconds(1000));
  ASSERT_TRUE(server.UpdateIssue(changed, [](JiraIssue& issue) { issue.summary = "new"; }));
  ASSERT_TRUE(server.DeleteIssue(deleted));
  std::string added = server.AddIssue(JiraIssue{.summary = "fresh"}).value();  // RAP-3

  Api api(server);
  const std::string jql = "project = RAP ORDER BY id ASC";
  auto summaries = [&](Params params = {}) {
    params.emplace_back("fields", "summary,updated");
    std::vector<std::string> out;
    Value page = api.Search(jql, params);
    for (const Value& issue : page.Find("issues")->AsList()) {
      out.push_back(std::string(issue.StringOr("key")) + ":" +
                    std::string(issue.Find("fields")->StringOr("summary")));
    }
    return out;
  };
  using S = std::vector<std::string>;
  EXPECT_EQ(summaries(), (S{"RAP-1:old", "RAP-2:doomed"}));
  // GET issue reads the issue itself, and reconcileIssues does for its ids.
  auto direct = api.Get("/rest/api/3/issue/" + changed, {{"fields", "summary"}});
  EXPECT_EQ(MustParse(direct.body).Find("fields")->StringOr("summary"), "new");
  EXPECT_EQ(api.Get("/rest/api/3/issue/" + deleted).status, 404);
  EXPECT_EQ(summaries({{"reconcileIssues", "10001,10003"}}),
            (S{"RAP-1:new", "RAP-2:doomed", "RAP-3:fresh"}));

  server.AdvanceClock(milliseconds(59999));
  EXPECT_EQ(summaries(), (S{"RAP-1:old", "RAP-2:doomed"}));
  server.AdvanceClock(milliseconds(1));
  EXPECT_EQ(summaries(), (S{"RAP-1:new", "RAP-3:fresh"}));

  // A second change while one is pending keeps the first version indexed.
  ASSERT_TRUE(server.UpdateIssue(changed, [](JiraIssue& issue) { issue.summary = "newer"; }));
  server.AdvanceClock(milliseconds(30000));
  ASSERT_TRUE(server.UpdateIssue(changed, [](JiraIssue& issue) { issue.summary = "newest"; }));
  server.AdvanceClock(milliseconds(40000));
  EXPECT_EQ(summaries()[0], "RAP-1:new");
  server.FlushIndex();
  EXPECT_EQ(summaries()[0], "RAP-1:newest");
}

TEST(JiraServerTest, GeneratedIssuesAreDeterministic) {
  JiraServer a(DataCenterOptions());
  JiraServer b(DataCenterOptions());
  a.GenerateIssues(120, 7);
  b.GenerateIssues(120, 7);
  EXPECT_EQ(a.issue_count(), 120u);
  const std::string jql = "project in (RAP, SRV, DOC) ORDER BY updated ASC, id ASC";
  // The pages, without the servers' own addresses.
  auto page = [&](JiraServer& server) {
    auto response = Api(server).Get("/rest/api/2/search", {{"jql", jql}, {"maxResults", "200"}});
    EXPECT_EQ(response.status, 200);
    std::string body = response.body;
    const std::string base = server.base_url();
    for (auto at = body.find(base); at != std::string::npos; at = body.find(base, at)) {
      body.replace(at, base.size(), "BASE");
    }
    return body;
  };
  std::string page_a = page(a);
  EXPECT_EQ(page_a, page(b));
  EXPECT_EQ(Keys(MustParse(page_a)).size(), 120u);
  // Some issues share `updated`, and every project has some.
  std::vector<JiraIssue> issues = a.Issues();
  std::set<std::int64_t> distinct;
  std::set<std::string> projects;
  for (const JiraIssue& issue : issues) {
    distinct.insert(issue.updated_ms);
    projects.insert(issue.ProjectKey());
    EXPECT_LE(issue.created_ms, issue.updated_ms);
  }
  EXPECT_LT(distinct.size(), issues.size());
  EXPECT_EQ(projects, (std::set<std::string>{"DOC", "RAP", "SRV"}));
  JiraServer c(DataCenterOptions());
  c.GenerateIssues(120, 8);
  EXPECT_NE(page(c), page_a);
}

TEST(JiraServerTest, ApproximateCount) {
  JiraServer server(CloudOptions());
  AddMinuteApart(server, 4, Ms("2024-05-01T10:00:00Z"));
  Api api(server);
  auto count = api.Post("/rest/api/3/search/approximate-count",
                        Value(Value::Object{{"jql", "project = RAP"}}));
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_EQ(*MustParse(count.body).Find("count"), Value(4));
}

// ---------------------------------------------------------------------------
// Faults and counters

TEST(JiraServerTest, ScriptedFaultsHitTheSearch) {
  JiraServer server(CloudOptions());
  AddMinuteApart(server, 3, Ms("2024-05-01T10:00:00Z"));
  Api api(server);
  const Params query{{"jql", "project = RAP"}};
  const std::string search = "/rest/api/3/search/jql";

  server.InjectFault(JiraServer::Fault::RateLimited(7));
  auto limited = api.Get(search, query);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("retry-after"), "7");
  EXPECT_EQ(api.Get("/rest/api/3/myself").status, 200);  // only the search
  EXPECT_EQ(api.Get(search, query).status, 200);

  server.InjectFault(JiraServer::Fault::ServerError().Times(2));
  EXPECT_EQ(api.Get(search, query).status, 500);
  EXPECT_EQ(api.Post(search, Value(Value::Object{{"jql", "project = RAP"}})).status, 500);
  EXPECT_EQ(api.Get(search, query).status, 200);
  EXPECT_EQ(server.pending_faults(), 0u);

  server.InjectFault(JiraServer::Fault::ServiceUnavailable(3));
  auto unavailable = api.Get(search, query);
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.Header("retry-after"), "3");

  server.InjectFault(JiraServer::Fault::MalformedJson());
  auto malformed = api.Get(search, query);
  EXPECT_EQ(malformed.status, 200);
  EXPECT_FALSE(ParseJson(malformed.body).has_value());
  server.InjectFault(JiraServer::Fault::HtmlLoginPage());
  EXPECT_EQ(api.Get(search, query).Header("content-type"), "text/html;charset=UTF-8");
  server.InjectFault(JiraServer::Fault::WrongShape());
  EXPECT_TRUE(MustParse(api.Get(search, query).body).Find("issues")->IsObject());

  server.InjectFault(JiraServer::Fault::Delay(milliseconds(300)));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(api.Get(search, query).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(290));

  server.InjectFault(JiraServer::Fault::Drop());
  auto dropped = api.Get(search, query);
  EXPECT_EQ(dropped.status, 0);
  EXPECT_NE(dropped.error, "");
  api.client().Close();

  server.InjectFault(JiraServer::Fault::Truncated(10));
  EXPECT_NE(api.Get(search, query).error, "");
  api.client().Close();

  // Faults on another path, or on any.
  server.InjectFault(JiraServer::Fault::ServerError().On("/rest/api/3/myself"));
  EXPECT_EQ(api.Get(search, query).status, 200);
  EXPECT_EQ(api.Get("/rest/api/3/myself").status, 500);
  server.InjectFault(JiraServer::Fault::RateLimited(1).On("*"));
  EXPECT_EQ(api.Get("/rest/api/3/field").status, 429);

  // A 403 when the token user may not browse.
  server.SetSearchForbidden(true);
  auto forbidden = api.Get(search, query);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_FALSE(FirstError(forbidden).empty());
  server.SetSearchForbidden(false);
  EXPECT_EQ(api.Get(search, query).status, 200);
}

TEST(JiraServerTest, CountsRequestsAndRemembersJql) {
  JiraServer server(DataCenterOptions());
  Api api(server);
  server.ClearRequests();
  api.Get("/rest/api/2/myself");
  api.Search("project = RAP ORDER BY id ASC");
  api.Post("/rest/api/2/search", Value(Value::Object{{"jql", "project = DOC"}}));
  api.Get("/rest/api/2/search", {{"jql", "project = NOPE"}});  // refused, still counted
  EXPECT_EQ(server.total_requests(), 4u);
  EXPECT_EQ(server.RequestCount("/rest/api/2/search"), 3u);
  EXPECT_EQ(server.RequestCount("/rest/api/2/myself"), 1u);
  EXPECT_EQ(server.search_requests(), 3u);
  EXPECT_EQ(server.LastJql(), "project = NOPE");
  EXPECT_EQ(server.AllJql(), (std::vector<std::string>{"project = RAP ORDER BY id ASC",
                                                       "project = DOC", "project = NOPE"}));
  auto last = server.LastRequest("/rest/api/2/search");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, 400);
  EXPECT_EQ(last->jql, "project = NOPE");
  EXPECT_EQ(server.requests().size(), 4u);
  server.ClearRequests();
  EXPECT_EQ(server.LastJql(), "");
  EXPECT_EQ(server.total_requests(), 0u);
}

}  // namespace
}  // namespace boardsync

// Tests of the shared test support: the loopback HttpServer and the
// SampleTracker, checked over real sockets with a plain client, so that
// every other integration test can trust what they serve.

#include "tests/support/sample_tracker.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "connectors/http/json.h"
#include "core/time.h"
#include "core/url.h"
#include "tests/support/http_server.h"
#include "tests/support/http_test_client.h"
#include "tests/support/youtrack_fields.h"
#include "tests/support/youtrack_query.h"

namespace boardsync {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using Params = std::vector<std::pair<std::string, std::string>>;

HttpServerHeaders Auth(std::string_view token = kSampleTrackerToken) {
  return {{"Authorization", "Bearer " + std::string(token)}, {"Accept", "application/json"}};
}

Value MustParse(const std::string& text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text.substr(0, 300);
  return parsed ? *parsed : Value();
}

std::set<std::string> Keys(const Value& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.AsObject()) {
    keys.insert(key);
  }
  return keys;
}

const Value* CustomField(const Value& issue, std::string_view name) {
  const Value* fields = issue.Find("customFields");
  if (fields == nullptr) {
    return nullptr;
  }
  for (const Value& field : fields->AsList()) {
    if (field.StringOr("name") == name) {
      return &field;
    }
  }
  return nullptr;
}

std::vector<std::string> Strings(const Value& list, std::string_view key) {
  std::vector<std::string> out;
  for (const Value& item : list.AsList()) {
    out.emplace_back(item.StringOr(key));
  }
  return out;
}

double ElapsedMs(steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
}

// ---------------------------------------------------------------------------
// HttpServer

TEST(HttpServerTest, DecodesTargetQueryAndHeaders) {
  HttpServerRequest seen;
  std::mutex mu;
  HttpServer server([&](const HttpServerRequest& request) {
    std::lock_guard lock(mu);
    seen = request;
    return HttpServerResponse::Text(200, "ok");
  });
  ASSERT_NE(server.port(), 0);
  EXPECT_EQ(server.base_url(), "http://127.0.0.1:" + std::to_string(server.port()));

  HttpTestClient client(server.base_url());
  auto response =
      client.Get("/a%20b/c?x=1&y=two+words&x=%28z%29&empty=&flag", {{"X-Custom-Thing", "Value"}});
  ASSERT_EQ(response.error, "");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "ok");

  std::lock_guard lock(mu);
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/a%20b/c?x=1&y=two+words&x=%28z%29&empty=&flag");
  EXPECT_EQ(seen.path, "/a b/c");
  Params expected{{"x", "1"}, {"y", "two words"}, {"x", "(z)"}, {"empty", ""}, {"flag", ""}};
  EXPECT_EQ(seen.query, expected);
  EXPECT_EQ(seen.Param("x"), "1");
  EXPECT_EQ(seen.Params("x"), (std::vector<std::string_view>{"1", "(z)"}));
  EXPECT_FALSE(seen.Param("missing"));
  EXPECT_EQ(seen.Header("x-custom-thing"), "Value");
}

TEST(HttpServerTest, KeepsConnectionsAliveAndCounts) {
  HttpServer server([](const HttpServerRequest& request) {
    return HttpServerResponse::Json(200, "{\"path\":\"" + request.path + "\"}");
  });
  HttpTestClient client(server.base_url());
  for (int i = 0; i < 5; ++i) {
    auto response = client.Get("/n" + std::to_string(i));
    ASSERT_EQ(response.error, "");
    EXPECT_EQ(response.Header("content-type"), "application/json;charset=UTF-8");
  }
  EXPECT_EQ(client.connections_opened(), 1);
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.requests_served(), 5u);

  // "Connection: close" from the handler ends the connection after the answer.
  HttpServer closing([](const HttpServerRequest&) {
    HttpServerResponse response = HttpServerResponse::Text(200, "bye");
    response.headers.emplace_back("Connection", "close");
    return response;
  });
  HttpTestClient second(closing.base_url());
  EXPECT_EQ(second.Get("/").body, "bye");
  EXPECT_EQ(second.Get("/").body, "bye");
  EXPECT_EQ(second.connections_opened(), 2);
}

TEST(HttpServerTest, PassesMethodAndBody) {
  HttpServer server([](const HttpServerRequest& request) {
    return HttpServerResponse::Text(201, request.method + ":" + request.body);
  });
  HttpTestClient client(server.base_url());
  auto response =
      client.Send("POST", "/items", {{"Content-Type", "application/json"}}, "{\"a\":1}");
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "POST:{\"a\":1}");
}

TEST(HttpServerTest, HandlerExceptionBecomes500) {
  HttpServer server(
      [](const HttpServerRequest&) -> HttpServerResponse { throw std::runtime_error("boom"); });
  auto response = HttpGet(server.base_url() + "/");
  EXPECT_EQ(response.status, 500);
  EXPECT_NE(response.body.find("boom"), std::string::npos);
}

TEST(HttpServerTest, DelaysDropsAndTruncates) {
  HttpServer server([](const HttpServerRequest& request) {
    HttpServerResponse response = HttpServerResponse::Json(200, "{\"long\":\"0123456789\"}");
    if (request.path == "/slow") {
      response.delay = milliseconds(300);
    } else if (request.path == "/drop") {
      response.drop_connection = true;
    } else if (request.path == "/cut") {
      response.truncate_body_at = 5;
    }
    return response;
  });
  auto start = steady_clock::now();
  auto slow = HttpGet(server.base_url() + "/slow");
  EXPECT_EQ(slow.status, 200);
  EXPECT_GE(ElapsedMs(start), 290);

  auto dropped = HttpGet(server.base_url() + "/drop");
  EXPECT_EQ(dropped.status, 0);
  EXPECT_NE(dropped.error, "");

  auto cut = HttpGet(server.base_url() + "/cut");
  EXPECT_EQ(cut.status, 0);
  EXPECT_NE(cut.error, "");

  // A client that gives up before a slow answer sees a timeout.
  auto impatient = HttpGet(server.base_url() + "/slow", {}, milliseconds(50));
  EXPECT_NE(impatient.error, "");
  EXPECT_EQ(server.requests_served(), 4u);
}

TEST(HttpServerTest, StopIsPromptWhileConnectionsWait) {
  HttpServer server([](const HttpServerRequest& request) {
    HttpServerResponse response = HttpServerResponse::Text(200, "answer");
    if (request.path == "/hang") {
      response.delay = std::chrono::hours(1);
    }
    return response;
  });
  std::string url = server.base_url() + "/hang";
  // An idle kept-alive connection must not hold Stop() up either.
  HttpTestClient idle(server.base_url());
  ASSERT_EQ(idle.Get("/quick").status, 200);

  HttpTestResponse result;
  std::thread client([&] { result = HttpGet(url, {}, std::chrono::seconds(30)); });
  auto deadline = steady_clock::now() + std::chrono::seconds(5);
  while (server.requests_served() < 2 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(server.requests_served(), 2u);
  auto start = steady_clock::now();
  server.Stop();
  EXPECT_LT(ElapsedMs(start), 1000);
  client.join();
  EXPECT_NE(result.error, "");
  EXPECT_NE(HttpGet(url, {}, milliseconds(500)).error, "");
  server.Stop();  // idempotent
}

TEST(HttpServerTest, ServesConcurrentClients) {
  HttpServer server([](const HttpServerRequest& request) {
    HttpServerResponse response = HttpServerResponse::Text(200, request.path);
    response.delay = milliseconds(200);
    return response;
  });
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  auto start = steady_clock::now();
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto response = HttpGet(server.base_url() + "/c" + std::to_string(i));
      if (response.status == 200 && response.body == "/c" + std::to_string(i)) {
        ++ok;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 8);
  EXPECT_LT(ElapsedMs(start), 1200);  // in parallel, not 8 x 200 ms
  EXPECT_EQ(server.requests_served(), 8u);
}

// ---------------------------------------------------------------------------
// fields= and query parsing

TEST(FieldSelectorTest, ParsesNestedSyntax) {
  auto selector = ParseFieldSelector(
      " id , customFields($type,name,value(name,login)),customFields(id),project( shortName ),");
  ASSERT_TRUE(selector.has_value()) << selector.error().message;
  EXPECT_EQ(selector->children.size(), 3u);
  const FieldSelector* custom = selector->Find("customFields");
  ASSERT_NE(custom, nullptr);
  EXPECT_NE(custom->Find("id"), nullptr);  // repeated names merge
  ASSERT_NE(custom->Find("value"), nullptr);
  EXPECT_NE(custom->Find("value")->Find("login"), nullptr);
  EXPECT_NE(selector->Find("project")->Find("shortName"), nullptr);
  EXPECT_TRUE(selector->Find("id")->empty());

  EXPECT_FALSE(ParseFieldSelector("a(b").has_value());
  EXPECT_FALSE(ParseFieldSelector("a)b").has_value());
  EXPECT_FALSE(ParseFieldSelector("(b)").has_value());
  EXPECT_FALSE(ParseFieldSelector("a(b)c").has_value());
}

TEST(FieldSelectorTest, ProjectedJsonIsTheTextOfTheProjection) {
  // Keys that sort before "$type" ('!', '#') check where it goes.
  Value entity = MustParse(R"({"$type":"User","id":"1-2","login":"zoe","name":"Zoë \"Z\"",
      "!first":1,"#tags":[{"$type":"Tag","name":"a","id":"6-1"},{"name":"b"}],
      "profile":{"$type":"Profile","zone":null},"score":2.5})");
  for (const char* text : {"id", "login,name,bogus", "!first,#tags(name,$type),id", "#tags",
                           "$type", "profile,score(x)", "profile(zone),zz(q)", "bogus"}) {
    auto selector = ParseFieldSelector(text);
    ASSERT_TRUE(selector.has_value()) << text;
    std::string json;
    AppendProjectedJson(entity, *selector, json);
    EXPECT_EQ(json, ProjectFields(entity, *selector).ToJson()) << text;
  }
  Value list = MustParse(R"([{"id":"1","x":2},{"$type":"T","id":"2"},3,null])");
  std::string json;
  AppendProjectedJson(list, *ParseFieldSelector("id"), json);
  EXPECT_EQ(json, ProjectFields(list, *ParseFieldSelector("id")).ToJson());
}

TEST(IssueQueryTest, ParsesTheFormsTheConnectorSends) {
  auto q = ParseIssueQuery(
      "PROJECT: {Roadmap App}, SRV #unresolved Updated: 2024-05-01T10:00:00 .. * "
      "and issue ID: RAP-1, SRV-22 Sort By: updated ASC");
  ASSERT_TRUE(q.has_value()) << q.error().message;
  ASSERT_EQ(q->projects.size(), 1u);
  EXPECT_EQ(q->projects[0], (std::vector<std::string>{"Roadmap App", "SRV"}));
  EXPECT_TRUE(q->require_unresolved);
  ASSERT_EQ(q->updated.size(), 1u);
  EXPECT_EQ(q->updated[0].from_ms, ParseIsoUtc("2024-05-01T10:00:00Z"));
  EXPECT_FALSE(q->updated[0].to_ms);
  EXPECT_EQ(q->issue_ids[0], (std::vector<std::string>{"RAP-1", "SRV-22"}));
  EXPECT_EQ(q->sort_key, QuerySortKey::kUpdated);
  EXPECT_TRUE(q->sort_ascending);

  // The upper bound covers its whole second; a date covers its whole day.
  auto range = ParseIssueQuery("updated: 2024-05-01T10:00:00 .. 2024-05-01T10:00:05");
  ASSERT_TRUE(range.has_value());
  EXPECT_TRUE(range->updated[0].Contains(*ParseIsoUtc("2024-05-01T10:00:05.999Z")));
  EXPECT_FALSE(range->updated[0].Contains(*ParseIsoUtc("2024-05-01T10:00:06Z")));
  EXPECT_FALSE(range->updated[0].Contains(*ParseIsoUtc("2024-05-01T09:59:59.999Z")));
  auto day = ParseIssueQuery("created: 2024-05-01");
  ASSERT_TRUE(day.has_value());
  EXPECT_TRUE(day->created[0].Contains(*ParseIsoUtc("2024-05-01T23:59:59Z")));
  EXPECT_FALSE(day->created[0].Contains(*ParseIsoUtc("2024-05-02T00:00:00Z")));

  // The user's zone shifts the bounds.
  auto zoned = ParseIssueQuery("updated: 2024-05-01T12:00:00 .. *", 120);
  ASSERT_TRUE(zoned.has_value());
  EXPECT_EQ(zoned->updated[0].from_ms, ParseIsoUtc("2024-05-01T10:00:00Z"));

  EXPECT_TRUE(ParseIssueQuery("").has_value());
  EXPECT_TRUE(ParseIssueQuery("   ").has_value());
  for (const char* bad :
       {"project:", "hello world", "#Starred", "updated: {2024-01-01T00:00:00} .. *",
        "updated: 2024-13-01 .. *", "updated: 2024-05-01T10:00:00Z .. *", "updated: * .. ",
        "sort by: votes", "sort by: updated sort by: created", "issue id: 12",
        "project: {Unclosed"}) {
    EXPECT_FALSE(ParseIssueQuery(bad).has_value()) << bad;
  }
}

// ---------------------------------------------------------------------------
// SampleTracker with the bundled dataset

class SampleTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = tracker_.LoadIssues(SampleIssuesPath());
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    ASSERT_EQ(*loaded, 15u);
    client_ = std::make_unique<HttpTestClient>(tracker_.base_url());
  }

  HttpTestResponse Get(const std::string& path, const Params& params = {},
                       const HttpServerHeaders& headers = Auth()) {
    return client_->Get(BuildTarget(path, params), headers);
  }

  // GET /api/issues, expecting a 200 JSON list.
  Value Issues(const Params& params) {
    auto response = Get("/api/issues", params);
    EXPECT_EQ(response.status, 200) << response.body;
    Value list = MustParse(response.body);
    EXPECT_TRUE(list.IsList());
    return list.IsList() ? list : Value(Value::List{});
  }

  std::vector<std::string> Readable(const std::string& query, std::string extra_fields = "") {
    return Strings(
        Issues({{"query", query}, {"fields", "idReadable" + extra_fields}, {"$top", "-1"}}),
        "idReadable");
  }

  SampleTracker tracker_;
  std::unique_ptr<HttpTestClient> client_;
};

TEST_F(SampleTrackerTest, DatasetCoversEveryFieldShape) {
  std::set<std::string> types;
  std::set<std::string> value_types;
  bool null_single = false, empty_multi = false, null_description = false, unicode_user = false;
  for (const std::string& id : tracker_.IssueIds()) {
    auto issue = tracker_.GetIssue(id);
    ASSERT_TRUE(issue.has_value());
    EXPECT_EQ(issue->StringOr("$type"), "Issue");
    null_description |= issue->Find("description")->IsNull();
    for (const Value& field : issue->Find("customFields")->AsList()) {
      types.insert(std::string(field.StringOr("$type")));
      value_types.insert(std::string(field.Find("projectCustomField")
                                         ->Find("field")
                                         ->Find("fieldType")
                                         ->StringOr("valueType")));
      const Value& value = *field.Find("value");
      null_single |= value.IsNull();
      empty_multi |= value.IsList() && value.AsList().empty();
      unicode_user |= value.StringOr("fullName") == "山田 太郎";
    }
    // `resolved` agrees with the State field.
    const Value* state = CustomField(*issue, "State")->Find("value");
    EXPECT_EQ(state->Find("isResolved")->AsBool(), !issue->Find("resolved")->IsNull()) << id;
  }
  EXPECT_EQ(types, (std::set<std::string>{
                       "StateIssueCustomField", "StateMachineIssueCustomField",
                       "SingleEnumIssueCustomField", "MultiVersionIssueCustomField",
                       "SingleBuildIssueCustomField", "SingleOwnedIssueCustomField",
                       "SingleUserIssueCustomField", "MultiUserIssueCustomField",
                       "SingleGroupIssueCustomField", "PeriodIssueCustomField",
                       "DateIssueCustomField", "SimpleIssueCustomField", "TextIssueCustomField"}));
  EXPECT_EQ(value_types, (std::set<std::string>{"enum", "state", "user", "ownedField", "version",
                                                "build", "group", "period", "date", "date and time",
                                                "integer", "float", "string", "text"}));
  EXPECT_TRUE(null_single && empty_multi && null_description && unicode_user);

  auto rap1 = tracker_.GetIssue("RAP-1");
  ASSERT_TRUE(rap1.has_value());
  const Value* period = CustomField(*rap1, "Spent time")->Find("value");
  EXPECT_EQ(*period, MustParse(R"({"$type":"PeriodValue","id":"P1DT30M","minutes":510,
                                   "presentation":"1d 30m"})"));
  std::int64_t due = CustomField(*rap1, "Due Date")->Find("value")->AsInt();
  EXPECT_EQ(FormatIsoUtc(due), "2024-03-15T12:00:00.000Z");
}

TEST_F(SampleTrackerTest, UsersMeHonoursFieldsAndAuth) {
  auto me = Get("/api/users/me", {{"fields", "id,login,fullName,guest,banned"}});
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.Header("content-type"), "application/json;charset=UTF-8");
  EXPECT_EQ(MustParse(me.body), MustParse(R"({"$type":"Me","id":"1-2","login":"sync.bot",
      "fullName":"Boardsync Bot","guest":false,"banned":false})"));

  EXPECT_EQ(MustParse(Get("/api/users/me").body), MustParse(R"({"$type":"Me","id":"1-2"})"));

  auto wrong = Get("/api/users/me", {{"fields", "id"}}, Auth("perm:bm9ib2R5.eA==.wrong"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(MustParse(wrong.body), MustParse(R"({"error":"Unauthorized","error_description":""})"));
  EXPECT_EQ(Get("/api/users/me", {}, {{"Authorization", "Basic dXNlcjpwYXNz"}}).status, 401);

  // Guest: no Authorization header at all.
  auto guest = Get("/api/users/me", {{"fields", "id,login,guest"}}, {});
  ASSERT_EQ(guest.status, 200);
  EXPECT_EQ(MustParse(guest.body),
            MustParse(R"({"$type":"Me","id":"1-0","login":"guest","guest":true})"));
  EXPECT_EQ(Get("/api/issues", {{"fields", "id"}}, {}).body, "[]");
  EXPECT_EQ(Get("/api/admin/projects", {{"fields", "id"}}, {}).body, "[]");
  tracker_.SetGuestAccess(false);
  auto banned = Get("/api/users/me", {}, {});
  EXPECT_EQ(banned.status, 401);
  EXPECT_EQ(MustParse(banned.body).StringOr("error"), "Unauthorized");
}

TEST_F(SampleTrackerTest, TokensCanBeReplacedAddedAndRevoked) {
  tracker_.AddToken("perm-dGFybw==.NDMtMQ==.second", "taro.yamada");
  auto taro =
      Get("/api/users/me", {{"fields", "login,fullName"}}, Auth("perm-dGFybw==.NDMtMQ==.second"));
  EXPECT_EQ(MustParse(taro.body),
            MustParse(R"({"$type":"Me","login":"taro.yamada","fullName":"山田 太郎"})"));

  tracker_.RevokeToken(kSampleTrackerToken);
  EXPECT_EQ(Get("/api/issues").status, 401);
  tracker_.SetToken("perm:bmV3.dG9rZW4=.rotated");
  EXPECT_EQ(Get("/api/issues", {}, Auth("perm:bmV3.dG9rZW4=.rotated")).status, 200);
  EXPECT_EQ(Get("/api/issues").status, 401);
  tracker_.SetToken("perm:bmV3.dG9rZW4=.again");
  EXPECT_EQ(Get("/api/issues", {}, Auth("perm:bmV3.dG9rZW4=.rotated")).status, 401);
}

TEST_F(SampleTrackerTest, ListsProjects) {
  Value projects = MustParse(Get("/api/admin/projects", {{"fields", "id,name,shortName"}}).body);
  EXPECT_EQ(projects, MustParse(R"([
      {"$type":"Project","id":"0-1","name":"Roadmap App","shortName":"RAP"},
      {"$type":"Project","id":"0-2","name":"Server Platform","shortName":"SRV"},
      {"$type":"Project","id":"0-3","name":"Docs","shortName":"DOC"}])"));
  Value leader =
      MustParse(Get("/api/admin/projects", {{"fields", "leader(login)"}, {"$top", "1"}}).body);
  EXPECT_EQ(leader,
            MustParse(R"([{"$type":"Project","leader":{"$type":"User","login":"zoe.angstrom"}}])"));
}

TEST_F(SampleTrackerTest, ProjectsFieldsExactly) {
  const std::string fields =
      "id,idReadable,project(shortName),tags,bogus,"
      "customFields($type,name,value(name,login),projectCustomField(field(fieldType(id))))";
  Value issues = Issues({{"query", "issue id: RAP-1"}, {"fields", fields}});
  ASSERT_EQ(issues.AsList().size(), 1u);
  const Value& issue = issues.AsList()[0];
  EXPECT_EQ(Keys(issue), (std::set<std::string>{"$type", "id", "idReadable", "project", "tags",
                                                "customFields"}));
  EXPECT_EQ(*issue.Find("project"), MustParse(R"({"$type":"Project","shortName":"RAP"})"));
  // Sub-objects requested without parentheses keep only their $type.
  EXPECT_EQ(*issue.Find("tags"), MustParse(R"([{"$type":"IssueTag"},{"$type":"IssueTag"}])"));

  EXPECT_EQ(*CustomField(issue, "Assignee"), MustParse(R"({
      "$type":"SingleUserIssueCustomField","name":"Assignee",
      "value":{"$type":"User","login":"zoe.angstrom","name":"Zoë Ångström"},
      "projectCustomField":{"$type":"UserProjectCustomField",
        "field":{"$type":"CustomField","fieldType":{"$type":"FieldType","id":"user[1]"}}}})"));
  // Attributes that do not apply to a value's type are left out.
  EXPECT_EQ(*CustomField(issue, "Spent time")->Find("value"),
            MustParse(R"({"$type":"PeriodValue"})"));
  EXPECT_EQ(*CustomField(issue, "Priority")->Find("value"),
            MustParse(R"({"$type":"EnumBundleElement","name":"Critical"})"));
  EXPECT_TRUE(CustomField(issue, "Due Date")->Find("value")->IsInt());
  EXPECT_EQ(*CustomField(issue, "Reviewers")->Find("value"),
            MustParse(R"([{"$type":"User","login":"taro.yamada","name":"山田 太郎"}])"));
  EXPECT_EQ(*CustomField(issue, "Business value")->Find("value"), Value(8.5));

  // Percent-encoded parentheses mean the same.
  std::string target = "/api/issues?query=issue%20id%3A%20RAP-1&fields=" + PercentEncode(fields);
  ASSERT_NE(target.find("%28"), std::string::npos);
  EXPECT_EQ(MustParse(client_->Get(target, Auth()).body), issues);

  // Without fields=, only id and $type.
  Value defaults = Issues({});
  ASSERT_EQ(defaults.AsList().size(), 15u);
  for (const Value& item : defaults.AsList()) {
    EXPECT_EQ(Keys(item), (std::set<std::string>{"$type", "id"}));
  }
  // The undocumented alias fields(...) of customFields(...).
  Value alias = Issues({{"query", "issue id: DOC-1"}, {"fields", "fields(name)"}});
  EXPECT_EQ(Strings(*alias.AsList()[0].Find("fields"), "name"),
            (std::vector<std::string>{"Priority", "Type", "State", "Assignee", "Reviewers",
                                      "Due Date", "Notes"}));

  auto bad = Get("/api/issues", {{"fields", "id,customFields(name"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(MustParse(bad.body).StringOr("error"), "bad_request");

  // The single-issue endpoint takes both id forms.
  auto by_readable = Get("/api/issues/RAP-1", {{"fields", "id,summary"}});
  auto by_entity = Get("/api/issues/2-9", {{"fields", "id,summary"}});
  EXPECT_EQ(by_readable.status, 200);
  EXPECT_EQ(by_readable.body, by_entity.body);
  auto missing = Get("/api/issues/RAP-999");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(
      MustParse(missing.body),
      MustParse(R"({"error":"Not Found","error_description":"Entity with id RAP-999 not found"})"));
}

TEST_F(SampleTrackerTest, CustomFieldsParameterRestrictsTheList) {
  Value issues = Issues({{"fields", "idReadable,customFields(name,value(name))"},
                         {"customFields", "Priority"},
                         {"customFields", "state"},
                         {"$top", "-1"}});
  ASSERT_EQ(issues.AsList().size(), 15u);
  for (const Value& issue : issues.AsList()) {
    EXPECT_EQ(Strings(*issue.Find("customFields"), "name"),
              (std::vector<std::string>{"Priority", "State"}));
  }
}

TEST_F(SampleTrackerTest, DefaultOrderIsByEntityIdNumerically) {
  EXPECT_EQ(Strings(Issues({{"fields", "id"}}), "id"),
            (std::vector<std::string>{"2-9", "2-17", "2-18", "2-23", "2-31", "2-32", "2-40", "2-41",
                                      "2-44", "2-50", "2-51", "2-52", "2-53", "2-104", "2-105"}));
}

TEST_F(SampleTrackerTest, AnswersQueries) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Readable("project: RAP"), (V{"RAP-1", "RAP-2", "RAP-3", "RAP-4", "RAP-5", "RAP-6"}));
  EXPECT_EQ(Readable("project: {Roadmap App}"), Readable("PROJECT: rap"));
  EXPECT_EQ(Readable("project: DOC, SRV").size(), 9u);
  EXPECT_EQ(Readable("project: NOPE"), V{});
  EXPECT_EQ(Readable("#Resolved"), (V{"RAP-1", "RAP-4", "SRV-2", "SRV-5", "DOC-3", "RAP-6"}));
  EXPECT_EQ(Readable("#unresolved").size(), 9u);
  EXPECT_EQ(Readable("project: RAP #Unresolved"), (V{"RAP-2", "RAP-3", "RAP-5"}));
  EXPECT_EQ(Readable("issue id: RAP-1, SRV-2, DOC-99"), (V{"RAP-1", "SRV-2"}));
  EXPECT_EQ(Readable("updated: 2024-06-01T00:00:00 .. *"),
            (V{"SRV-1", "SRV-3", "SRV-5", "DOC-1", "RAP-5"}));
  // Seconds granularity: the bound covers 16:30:00.000 to 16:30:00.999.
  EXPECT_EQ(Readable("updated: 2024-05-13T16:30:00 .. 2024-05-13T16:30:00"), (V{"DOC-3", "DOC-4"}));
  EXPECT_EQ(Readable("updated: * .. 2024-03-11T17:05:33"), (V{"RAP-3"}));
  EXPECT_EQ(Readable("created: 2024-05-13"), (V{"DOC-3", "DOC-4"}));
  EXPECT_EQ(Readable("project: SRV updated: 2024-06-01T00:00:00 .. * sort by: updated asc"),
            (V{"SRV-5", "SRV-1", "SRV-3"}));
  EXPECT_EQ(Readable("project: SRV and updated: 2024-06-01T00:00:00 .. * sort by: updated desc"),
            (V{"SRV-3", "SRV-1", "SRV-5"}));

  Value sorted =
      Issues({{"query", "sort by: updated asc"}, {"fields", "id,updated"}, {"$top", "-1"}});
  ASSERT_EQ(sorted.AsList().size(), 15u);
  for (std::size_t i = 1; i < sorted.AsList().size(); ++i) {
    const Value& a = sorted.AsList()[i - 1];
    const Value& b = sorted.AsList()[i];
    ASSERT_LE(a.Find("updated")->AsInt(), b.Find("updated")->AsInt());
  }
  // Equal `updated` (DOC-3, DOC-4) keep entity-id order.
  auto ids = Strings(sorted, "id");
  EXPECT_EQ(std::find(ids.begin(), ids.end(), "2-52") + 1,
            std::find(ids.begin(), ids.end(), "2-53"));

  for (const char* bad : {"project:", "state: Open", "updated: {2024-01-01T00:00:00} .. *"}) {
    auto response = Get("/api/issues", {{"query", bad}, {"fields", "id"}});
    EXPECT_EQ(response.status, 400) << bad;
    EXPECT_EQ(MustParse(response.body).StringOr("error"), "invalid_query") << bad;
    EXPECT_NE(MustParse(response.body).StringOr("error_description"), "") << bad;
  }
}

TEST(SampleTrackerZoneTest, ReadsQueryDatesInTheUsersZone) {
  SampleTracker utc;
  SampleTracker berlin({.user_utc_offset_minutes = 120});
  ASSERT_TRUE(utc.LoadIssues(SampleIssuesPath()).has_value());
  ASSERT_TRUE(berlin.LoadIssues(SampleIssuesPath()).has_value());
  // SRV-3 was updated at 16:45:09.914 UTC, 18:45:09 in UTC+2.
  std::string target = BuildTarget(
      "/api/issues", {{"query", "updated: 2024-06-12T18:45:09 .. *"}, {"fields", "idReadable"}});
  EXPECT_EQ(HttpGet(utc.base_url() + target, Auth()).body, "[]");
  EXPECT_EQ(HttpGet(berlin.base_url() + target, Auth()).body,
            R"([{"$type":"Issue","idReadable":"SRV-3"}])");
}

TEST(SampleTrackerZoneTest, UsersMeShowsTheProfileZone) {
  const std::string fields = "login,profiles(general(timezone(id,presentation,offset)))";
  auto zone_of = [&](int offset_minutes) {
    SampleTracker tracker({.user_utc_offset_minutes = offset_minutes});
    auto me =
        HttpGet(tracker.base_url() + BuildTarget("/api/users/me", {{"fields", fields}}), Auth());
    EXPECT_EQ(me.status, 200);
    Value parsed = MustParse(me.body);
    EXPECT_EQ(parsed.StringOr("login"), "sync.bot");
    const Value* general =
        parsed.Find("profiles") ? parsed.Find("profiles")->Find("general") : nullptr;
    const Value* zone = general ? general->Find("timezone") : nullptr;
    return zone ? *zone : Value();
  };
  EXPECT_EQ(zone_of(0), MustParse(R"({"$type":"TimeZoneDescriptor","id":"UTC",
                                      "presentation":"UTC","offset":0})"));
  EXPECT_EQ(zone_of(-600), MustParse(R"({"$type":"TimeZoneDescriptor","id":"Pacific/Honolulu",
      "presentation":"(UTC-10:00) Pacific/Honolulu","offset":-36000})"));
  EXPECT_EQ(zone_of(840), MustParse(R"({"$type":"TimeZoneDescriptor","id":"Pacific/Kiritimati",
      "presentation":"(UTC+14:00) Pacific/Kiritimati","offset":50400})"));
  EXPECT_EQ(zone_of(-300), MustParse(R"({"$type":"TimeZoneDescriptor","id":"Etc/GMT+5",
      "presentation":"(UTC-05:00) Etc/GMT+5","offset":-18000})"));
  EXPECT_EQ(zone_of(90), MustParse(R"({"$type":"TimeZoneDescriptor","id":"GMT+01:30",
      "presentation":"(UTC+01:30) GMT+01:30","offset":5400})"));

  // Only what fields= asks for, as everywhere else.
  SampleTracker tracker({.user_utc_offset_minutes = 120});
  auto me =
      HttpGet(tracker.base_url() +
                  BuildTarget("/api/users/me", {{"fields", "profiles(general(timezone(offset)))"}}),
              Auth());
  EXPECT_EQ(MustParse(me.body), MustParse(R"({"$type":"Me","profiles":{"$type":"UserProfiles",
      "general":{"$type":"GeneralUserProfile","timezone":{"$type":"TimeZoneDescriptor",
      "offset":7200}}}})"));
  auto plain = HttpGet(tracker.base_url() + "/api/users/me?fields=login", Auth());
  EXPECT_EQ(MustParse(plain.body), MustParse(R"({"$type":"Me","login":"sync.bot"})"));
}

TEST(SampleTrackerHookTest, ChangesIssuesBeforeTheNthIssuesRequest) {
  SampleTracker tracker;
  tracker.GenerateIssues(10, 5);
  std::vector<std::size_t> calls;
  std::mutex mu;
  tracker.OnIssuesRequest([&](std::size_t n) {
    {
      std::lock_guard lock(mu);
      calls.push_back(n);
    }
    if (n == 2) {
      // Re-entering the tracker from the hook must not deadlock.
      EXPECT_TRUE(tracker.SetSummary("2-1", "Changed by the hook"));
    }
  });
  HttpTestClient client(tracker.base_url());
  auto summary = [&] {
    Value list = MustParse(
        client.Get(BuildTarget("/api/issues", {{"fields", "id,summary"}, {"$top", "1"}}), Auth())
            .body);
    return std::string(list.AsList().at(0).StringOr("summary"));
  };
  std::string before = summary();
  EXPECT_NE(before, "Changed by the hook");
  EXPECT_EQ(summary(), "Changed by the hook");  // changed before the answer was built
  client.Get("/api/users/me", Auth());          // other paths do not call it
  client.Get("/api/issues/2-1?fields=id", Auth());
  summary();
  EXPECT_EQ(calls, (std::vector<std::size_t>{1, 2, 3}));

  tracker.OnIssuesRequest(nullptr);
  summary();
  EXPECT_EQ(calls.size(), 3u);
  EXPECT_EQ(tracker.RequestCount("/api/issues"), 4u);
}

TEST_F(SampleTrackerTest, CountsIssues) {
  auto response = client_->Send("POST", "/api/issuesGetter/count?fields=count",
                                {{"Authorization", "Bearer " + std::string(kSampleTrackerToken)},
                                 {"Content-Type", "application/json"}},
                                R"({"folder":null,"query":"project: RAP","unresolvedOnly":false})");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(MustParse(response.body), MustParse(R"({"$type":"IssueCountResponse","count":6})"));
  EXPECT_EQ(Get("/api/issuesGetter/count").status, 405);
}

TEST_F(SampleTrackerTest, UnknownPathsAndMethods) {
  auto unknown = Get("/api/nothing/here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(MustParse(unknown.body),
            MustParse(R"({"error":"Not Found","error_description":"HTTP 404 Not Found"})"));
  EXPECT_EQ(client_->Send("DELETE", "/api/issues", Auth(), "").status, 405);
  // Outside /api/ the server answers with its web app, as YouTrack does.
  auto page = Get("/issues/RAP-1");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("content-type"), "text/html;charset=UTF-8");
}

TEST_F(SampleTrackerTest, RecordsWhatClientsSent) {
  tracker_.ClearRequests();
  Issues({{"query", "project: RAP"}, {"fields", "id,summary"}, {"$top", "100"}, {"$skip", "0"}});
  Get("/api/users/me");
  Issues({{"fields", "id"}});
  EXPECT_EQ(tracker_.total_requests(), 3u);
  EXPECT_EQ(tracker_.RequestCount("/api/issues"), 2u);
  EXPECT_EQ(tracker_.RequestCount("/api/users/me"), 1u);
  EXPECT_EQ(tracker_.RequestCount("/api/admin/projects"), 0u);

  auto log = tracker_.requests();
  ASSERT_EQ(log.size(), 3u);
  const HttpServerRequest& first = log[0].request;
  EXPECT_EQ(log[0].api_path, "/api/issues");
  EXPECT_EQ(log[0].status, 200);
  EXPECT_FALSE(log[0].faulted);
  EXPECT_EQ(first.method, "GET");
  EXPECT_EQ(first.Param("$top"), "100");
  EXPECT_EQ(first.Param("fields"), "id,summary");
  EXPECT_EQ(first.Param("query"), "project: RAP");
  EXPECT_EQ(first.Header("accept"), "application/json");
  EXPECT_EQ(first.Header("authorization"), "Bearer " + std::string(kSampleTrackerToken));
  auto last = tracker_.LastRequest("/api/issues");
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->request.Param("$top").has_value());
  EXPECT_EQ(tracker_.LastRequest()->api_path, "/api/issues");
}

TEST_F(SampleTrackerTest, ScriptedFaults) {
  tracker_.InjectFault(SampleTracker::Fault::RateLimited(7).On("/api/issues").Times(2));
  tracker_.InjectFault(SampleTracker::Fault::ServerError().On("/api/issues"));
  EXPECT_EQ(tracker_.pending_faults(), 2u);

  // Other paths are not affected.
  EXPECT_EQ(Get("/api/users/me").status, 200);
  for (int i = 0; i < 2; ++i) {
    auto limited = Get("/api/issues");
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(limited.Header("retry-after"), "7");
  }
  auto error = Get("/api/issues");
  EXPECT_EQ(error.status, 500);
  EXPECT_EQ(MustParse(error.body).StringOr("error"), "server_error");
  EXPECT_EQ(Get("/api/issues").status, 200);
  EXPECT_EQ(tracker_.pending_faults(), 0u);

  tracker_.InjectFault(SampleTracker::Fault::ServiceUnavailable(30));
  auto unavailable = Get("/api/admin/projects");
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.Header("retry-after"), "30");
  EXPECT_EQ(unavailable.Header("content-type"), "text/html");

  // Faults come before authentication, as a proxy's would.
  tracker_.InjectFault(SampleTracker::Fault::HtmlLoginPage());
  auto login = Get("/api/users/me", {}, Auth("not-a-token"));
  EXPECT_EQ(login.status, 200);
  EXPECT_TRUE(login.body.starts_with("<!doctype html>"));

  tracker_.InjectFault(SampleTracker::Fault::MalformedJson());
  auto malformed = Get("/api/issues");
  EXPECT_EQ(malformed.status, 200);
  EXPECT_FALSE(ParseJson(malformed.body).has_value());

  tracker_.InjectFault(SampleTracker::Fault::Truncated(20).On("/api/issues"));
  auto truncated = Get("/api/issues", {{"fields", "id,summary"}});
  EXPECT_EQ(truncated.status, 0);
  EXPECT_NE(truncated.error, "");

  tracker_.InjectFault(SampleTracker::Fault::Drop());
  auto dropped = Get("/api/issues");
  EXPECT_EQ(dropped.status, 0);
  EXPECT_NE(dropped.error, "");
  auto last = tracker_.LastRequest();
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->faulted);
  EXPECT_EQ(last->status, 0);

  tracker_.InjectFault(SampleTracker::Fault::Delay(milliseconds(300)));
  auto start = steady_clock::now();
  auto slow = Get("/api/issues", {{"fields", "id"}});
  EXPECT_GE(ElapsedMs(start), 290);
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(MustParse(slow.body).AsList().size(), 15u);

  tracker_.InjectFault(
      SampleTracker::Fault::Status(403, R"({"error":"Forbidden"})").On("/api/admin/projects"));
  EXPECT_EQ(Get("/api/admin/projects").status, 403);

  tracker_.InjectFault(SampleTracker::Fault::Hang());
  client_->set_timeout(milliseconds(200));
  EXPECT_NE(Get("/api/issues").error, "");
  tracker_.ClearFaults();
  EXPECT_EQ(tracker_.pending_faults(), 0u);
}

TEST(SampleTrackerStopTest, StopsPromptlyWhileAFaultHangs) {
  auto tracker = std::make_unique<SampleTracker>();
  tracker->InjectFault(SampleTracker::Fault::Hang());
  std::string url = tracker->base_url() + "/api/users/me";
  HttpTestResponse result;
  std::thread client([&] { result = HttpGet(url, Auth(), std::chrono::seconds(30)); });
  auto deadline = steady_clock::now() + std::chrono::seconds(5);
  while (tracker->total_requests() < 1 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  auto start = steady_clock::now();
  tracker.reset();
  EXPECT_LT(ElapsedMs(start), 1000);
  client.join();
  EXPECT_NE(result.error, "");
}

TEST(SampleTrackerPrefixTest, ServesUnderAPathPrefix) {
  SampleTracker tracker({.path_prefix = "/youtrack/"});
  ASSERT_TRUE(tracker.LoadIssues(SampleIssuesPath()).has_value());
  EXPECT_EQ(tracker.base_url(), "http://127.0.0.1:" + std::to_string(tracker.port()) + "/youtrack");
  auto me = HttpGet(tracker.base_url() + "/api/users/me?fields=login", Auth());
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(MustParse(me.body), MustParse(R"({"$type":"Me","login":"sync.bot"})"));
  auto issues = HttpGet(tracker.base_url() + "/api/issues?fields=id&$top=3", Auth());
  EXPECT_EQ(MustParse(issues.body).AsList().size(), 3u);
  EXPECT_EQ(tracker.RequestCount("/api/issues"), 1u);

  // Without the prefix the API is not there: the web app answers 200 HTML.
  auto wrong = HttpGet(tracker.server().base_url() + "/api/users/me?fields=login", Auth());
  EXPECT_EQ(wrong.status, 200);
  EXPECT_TRUE(wrong.Header("content-type")->starts_with("text/html"));
}

TEST(SampleTrackerMutationTest, ChangesIssuesWhileServing) {
  std::atomic<std::int64_t> now{*ParseIsoUtc("2024-07-01T09:00:00Z")};
  SampleTracker tracker({.clock = [&] { return now.load(); }});
  ASSERT_TRUE(tracker.LoadIssues(SampleIssuesPath()).has_value());
  HttpTestClient client(tracker.base_url());
  auto list = [&](const std::string& query) {
    return MustParse(
        client
            .Get(BuildTarget("/api/issues", {{"query", query},
                                             {"fields", "id,idReadable,summary,updated,resolved"},
                                             {"$top", "-1"}}),
                 Auth())
            .body);
  };

  ASSERT_TRUE(tracker.SetSummary("RAP-3", "Reorder survives a refresh"));
  Value changed = list("updated: 2024-07-01T00:00:00 .. *");
  ASSERT_EQ(changed.AsList().size(), 1u);
  EXPECT_EQ(changed.AsList()[0].StringOr("summary"), "Reorder survives a refresh");
  EXPECT_EQ(changed.AsList()[0].Find("updated")->AsInt(), now.load());

  // A second change in the same millisecond still moves `updated` forward.
  ASSERT_TRUE(tracker.SetSummary("2-18", "Again"));
  EXPECT_EQ(tracker.GetIssue("RAP-3")->Find("updated")->AsInt(), now.load() + 1);

  // Resolving through the State field sets `resolved`.
  now += 60'000;
  Value fixed = *CustomField(*tracker.GetIssue("RAP-1"), "State")->Find("value");
  ASSERT_TRUE(tracker.SetFieldValue("RAP-5", "State", fixed));
  EXPECT_EQ(tracker.GetIssue("RAP-5")->Find("resolved")->AsInt(), now.load());
  EXPECT_EQ(list("project: RAP #Unresolved").AsList().size(), 2u);
  EXPECT_FALSE(tracker.SetFieldValue("RAP-5", "No such field", Value(1)));
  EXPECT_FALSE(tracker.SetSummary("RAP-404", "x"));

  // Moving an issue keeps its entity id and gives it a new readable id.
  ASSERT_TRUE(tracker.UpdateIssue("RAP-2", [](Value& issue) {
    issue.AsObject()["project"] = Value(Value::Object{{"$type", "Project"}, {"shortName", "SRV"}});
  }));
  auto moved = tracker.GetIssue("2-17");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->StringOr("idReadable"), "SRV-6");
  EXPECT_FALSE(tracker.GetIssue("RAP-2").has_value());
  EXPECT_EQ(list("issue id: SRV-6").AsList().size(), 1u);

  ASSERT_TRUE(tracker.DeleteIssue("RAP-1"));
  EXPECT_FALSE(tracker.DeleteIssue("RAP-1"));
  EXPECT_EQ(client.Get("/api/issues/RAP-1", Auth()).status, 404);
  EXPECT_EQ(tracker.issue_count(), 14u);

  auto added = tracker.AddIssue(MustParse(R"({"summary":"Brand new",
      "project":{"shortName":"RAP","$type":"Project"}})"));
  ASSERT_TRUE(added.has_value()) << added.error().message;
  EXPECT_EQ(*added, "2-106");
  auto fresh = tracker.GetIssue("RAP-7");
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->StringOr("id"), "2-106");
  EXPECT_EQ(fresh->Find("created")->AsInt(), now.load());
  EXPECT_TRUE(fresh->Find("resolved")->IsNull());
  EXPECT_FALSE(tracker.AddIssue(MustParse(R"({"summary":"no project"})")).has_value());
  EXPECT_FALSE(
      tracker.AddIssue(MustParse(R"({"id":"2-106","project":{"shortName":"RAP"}})")).has_value());

  tracker.ClearIssues();
  EXPECT_EQ(client.Get("/api/issues?fields=id", Auth()).body, "[]");
}

// ---------------------------------------------------------------------------
// Synthetic issues

TEST(SyntheticIssueGeneratorTest, ProjectedBuildMatchesProjectingTheFullIssue) {
  SyntheticIssueGenerator generator(99, 300);
  const char* selectors[] = {
      "id",
      "id,idReadable,summary,description,created,updated,resolved,project(shortName,name),tags("
      "name)",
      "customFields",
      "customFields($type,id,name,value($type,id,name,login,fullName,minutes,presentation,text,"
      "isResolved,releaseDate,owner(login)),projectCustomField($type,id,field(name,fieldType(id,"
      "valueType))),possibleEvents(id,presentation))",
      "reporter(login,email),updater,customFields(value),bogus(x)",
  };
  for (const char* text : selectors) {
    auto selector = ParseFieldSelector(text);
    ASSERT_TRUE(selector.has_value());
    SyntheticIssueGenerator::PieceCache pieces;  // shared by the issues, as on a page
    for (std::size_t i = 0; i < 300; i += 7) {
      Value full = generator.Build(i, "2-" + std::to_string(i + 1), 5);
      EXPECT_EQ(generator.BuildProjected(i, "2-" + std::to_string(i + 1), 5, *selector, {}),
                ProjectFields(full, *selector))
          << text << " ordinal " << i;
      // What the tracker serves: the very text of the projection.
      std::string json;
      generator.AppendProjectedJson(json, i, "2-" + std::to_string(i + 1), 5, *selector, {},
                                    pieces);
      EXPECT_EQ(json, ProjectFields(full, *selector).ToJson()) << text << " ordinal " << i;
    }
  }
  // The customFields= filter and the fields(...) alias.
  auto selector = ParseFieldSelector("fields(name)");
  Value only = generator.BuildProjected(3, "2-4", 1, *selector,
                                        [](std::string_view name) { return name == "State"; });
  EXPECT_EQ(Keys(only), (std::set<std::string>{"$type", "fields"}));
  ASSERT_EQ(only.Find("fields")->AsList().size(), 1u);
  EXPECT_EQ(only.Find("fields")->AsList()[0].StringOr("name"), "State");
}

TEST(SampleTrackerGenerateTest, PagesWithTheServerDefaults) {
  SampleTracker tracker;
  tracker.GenerateIssues(100, 7);
  HttpTestClient client(tracker.base_url());
  auto count = [&](const std::string& target) {
    return MustParse(client.Get(target, Auth()).body).AsList().size();
  };
  EXPECT_EQ(count("/api/issues?fields=id"), 42u);  // no $top: 42, as the real server
  EXPECT_EQ(count("/api/issues?fields=id&$top=10&$skip=95"), 5u);
  EXPECT_EQ(count("/api/issues?fields=id&$top=10&$skip=200"), 0u);
  EXPECT_EQ(count("/api/issues?fields=id&$top=0"), 0u);
  EXPECT_EQ(count("/api/issues?fields=id&$top=-1"), 100u);
  EXPECT_EQ(count("/api/admin/projects?fields=id"), 3u);
  EXPECT_EQ(client.Get("/api/issues?$top=ten", Auth()).status, 400);
}

TEST(SampleTrackerGenerateTest, IsDeterministicAndRealistic) {
  const std::string target = BuildTarget(
      "/api/issues",
      {{"fields",
        "id,idReadable,summary,description,created,updated,resolved,project(shortName),"
        "reporter(login),tags(name),customFields($type,name,value($type,name,login,"
        "minutes,presentation,text,isResolved),projectCustomField(field(fieldType(id))))"},
       {"$top", "-1"}});
  SampleTracker a, b, c;
  a.GenerateIssues(500, 11);
  b.GenerateIssues(500, 11);
  c.GenerateIssues(500, 12);
  std::string body_a = HttpGet(a.base_url() + target, Auth()).body;
  EXPECT_EQ(body_a, HttpGet(b.base_url() + target, Auth()).body);
  EXPECT_NE(body_a, HttpGet(c.base_url() + target, Auth()).body);

  Value issues = MustParse(body_a);
  ASSERT_EQ(issues.AsList().size(), 500u);
  std::set<std::string> types, projects, ids;
  int ties = 0, resolved = 0;
  std::int64_t previous_updated = -1;
  for (const Value& issue : issues.AsList()) {
    ids.insert(std::string(issue.StringOr("id")));
    projects.insert(std::string(issue.Find("project")->StringOr("shortName")));
    std::int64_t created = issue.Find("created")->AsInt();
    std::int64_t updated = issue.Find("updated")->AsInt();
    EXPECT_LE(created, updated);
    ties += updated == previous_updated;
    previous_updated = updated;
    const Value* state = CustomField(issue, "State");
    ASSERT_NE(state, nullptr);
    bool is_resolved = state->Find("value")->Find("isResolved")->AsBool();
    EXPECT_EQ(is_resolved, !issue.Find("resolved")->IsNull());
    if (is_resolved) {
      ++resolved;
      EXPECT_LE(issue.Find("resolved")->AsInt(), updated);
      EXPECT_GE(issue.Find("resolved")->AsInt(), created);
    }
    for (const Value& field : issue.Find("customFields")->AsList()) {
      types.insert(std::string(field.StringOr("$type")));
    }
  }
  EXPECT_EQ(ids.size(), 500u);
  EXPECT_EQ(projects, (std::set<std::string>{"RAP", "SRV", "DOC"}));
  EXPECT_EQ(types.size(), 13u);
  EXPECT_GE(ties, 5);  // bulk changes: equal `updated` on neighbours
  EXPECT_GT(resolved, 100);
  EXPECT_LT(resolved, 400);

  // Queries see what the JSON says.
  auto unresolved = MustParse(
      HttpGet(a.base_url() + "/api/issues?fields=id&$top=-1&query=%23Unresolved", Auth()).body);
  EXPECT_EQ(unresolved.AsList().size(), 500u - static_cast<std::size_t>(resolved));
}

TEST(SampleTrackerGenerateTest, SyncsTwentyThousandIssuesQuickly) {
  SampleTracker tracker;
  auto start = steady_clock::now();
  tracker.GenerateIssues(20'000, 3);
  HttpTestClient client(tracker.base_url());
  std::set<std::string> seen;
  std::int64_t last_updated = 0;
  int requests = 0;
  for (int skip = 0;; skip += 500) {
    auto response = client.Get(
        BuildTarget("/api/issues",
                    {{"query", "updated: 2020-01-01T00:00:00 .. * sort by: updated asc"},
                     {"fields",
                      "id,idReadable,summary,updated,customFields(name,value(name,login,minutes))"},
                     {"$top", "500"},
                     {"$skip", std::to_string(skip)}}),
        Auth());
    ++requests;
    ASSERT_EQ(response.status, 200);
    Value page = MustParse(response.body);
    for (const Value& issue : page.AsList()) {
      seen.insert(std::string(issue.StringOr("id")));
      ASSERT_GE(issue.Find("updated")->AsInt(), last_updated);
      last_updated = issue.Find("updated")->AsInt();
    }
    if (page.AsList().size() < 500) {
      break;
    }
  }
  EXPECT_EQ(seen.size(), 20'000u);
  EXPECT_EQ(requests, 41);
  EXPECT_EQ(client.connections_opened(), 1);
  EXPECT_LT(ElapsedMs(start), 60'000);  // generous: sanitizer builds are slow
}

// "sort by: updated" is answered from an index kept up to date on every
// change; what it serves must stay what sorting all matches would give.
TEST(SampleTrackerGenerateTest, OrdersByUpdatedThroughChanges) {
  std::atomic<std::int64_t> now{*ParseIsoUtc("2023-09-01T12:00:00Z")};
  SampleTracker tracker({.clock = [&] { return now.load(); }});
  ASSERT_TRUE(tracker.LoadIssues(SampleIssuesPath()).has_value());
  tracker.GenerateIssues(400, 21);
  HttpTestClient client(tracker.base_url());
  auto get = [&](Params params) {
    params.emplace_back("fields", "id,updated,project(shortName)");
    return MustParse(client.Get(BuildTarget("/api/issues", params), Auth()).body).AsList();
  };

  // Ties in `updated` (changes at one clock time, an issue set to another's
  // time), issues moved back in time, deleted and added.
  std::vector<std::string> ids = tracker.IssueIds();
  for (std::size_t i = 0; i < ids.size(); i += 9) {
    ASSERT_TRUE(tracker.SetSummary(ids[i], "Changed"));
  }
  std::int64_t old_time = tracker.GetIssue(ids[50])->Find("updated")->AsInt();
  for (std::size_t i : {3u, 77u, 200u}) {
    ASSERT_TRUE(
        tracker.UpdateIssue(ids[i], [&](Value& issue) { issue.AsObject()["updated"] = old_time; }));
  }
  for (std::size_t i : {5u, 51u, 300u}) {
    ASSERT_TRUE(tracker.DeleteIssue(ids[i]));
  }
  ASSERT_TRUE(tracker
                  .AddIssue(MustParse(R"({"id":"2-7","updated":)" + std::to_string(old_time) +
                                      R"(,"created":1,"project":{"shortName":"DOC"}})"))
                  .has_value());

  // The expected orders: entity-id order, stably sorted by `updated`.
  Value::List all = get({{"$top", "-1"}});
  ASSERT_EQ(all.size(), 15u + 400u - 3u + 1u);
  auto updated = [](const Value& issue) { return issue.Find("updated")->AsInt(); };
  Value::List asc = all;
  std::stable_sort(asc.begin(), asc.end(),
                   [&](const Value& a, const Value& b) { return updated(a) < updated(b); });
  Value::List desc = all;
  std::stable_sort(desc.begin(), desc.end(),
                   [&](const Value& a, const Value& b) { return updated(a) > updated(b); });
  EXPECT_EQ(get({{"query", "sort by: updated asc"}, {"$top", "-1"}}), asc);
  EXPECT_EQ(get({{"query", "sort by: updated desc"}, {"$top", "-1"}}), desc);

  // Pages with $skip and $top are slices of the same order.
  Value::List paged;
  for (int skip = 0; skip < 500; skip += 23) {
    Value::List page =
        get({{"query", "sort by: updated desc"}, {"$top", "23"}, {"$skip", std::to_string(skip)}});
    paged.insert(paged.end(), page.begin(), page.end());
  }
  EXPECT_EQ(paged, desc);

  // Ranges, whole seconds as the query gives them, with other terms.
  std::int64_t from = updated(asc[100]) / 1000 * 1000;
  std::int64_t to = updated(asc[300]) / 1000 * 1000 + 1000;
  std::string range = "updated: " + FormatIsoUtc(from).substr(0, 19) + " .. " +
                      FormatIsoUtc(to - 1000).substr(0, 19);
  auto in_range = [&](const Value::List& order, std::string_view project) {
    Value::List out;
    for (const Value& issue : order) {
      if (updated(issue) >= from && updated(issue) < to &&
          (project.empty() || issue.Find("project")->StringOr("shortName") == project)) {
        out.push_back(issue);
      }
    }
    return out;
  };
  EXPECT_EQ(get({{"query", range + " sort by: updated asc"}, {"$top", "-1"}}), in_range(asc, ""));
  Value::List doc = in_range(desc, "DOC");
  ASSERT_GT(doc.size(), 12u);
  EXPECT_EQ(get({{"query", "project: DOC " + range + " sort by: updated desc"},
                 {"$top", "5"},
                 {"$skip", "7"}}),
            Value::List(doc.begin() + 7, doc.begin() + 12));
  EXPECT_EQ(get({{"query", "updated: 2023-05-01 .. 2023-04-01 sort by: updated asc"}}),
            Value::List{});
  auto count = client.Send("POST", "/api/issuesGetter/count?fields=count", Auth(),
                           R"({"query":")" + range + R"( sort by: updated asc"})");
  EXPECT_EQ(MustParse(count.body).Find("count")->AsInt(),
            static_cast<std::int64_t>(in_range(asc, "").size()));
}

TEST(SampleTrackerGenerateTest, HoldsAMillionIssues) {
  SampleTracker tracker;
  auto start = steady_clock::now();
  tracker.GenerateIssues(1'000'000, 5);
  EXPECT_EQ(tracker.issue_count(), 1'000'000u);
  HttpTestClient client(tracker.base_url());
  const std::string query = "updated: 2024-01-01T00:00:00 .. * sort by: updated asc";
  std::int64_t previous = 0;
  for (int skip : {0, 100, 200}) {
    auto response = client.Get(
        BuildTarget("/api/issues", {{"query", query},
                                    {"fields", "id,updated,customFields(name,value(name))"},
                                    {"$top", "100"},
                                    {"$skip", std::to_string(skip)}}),
        Auth());
    ASSERT_EQ(response.status, 200);
    Value page = MustParse(response.body);
    ASSERT_EQ(page.AsList().size(), 100u);
    EXPECT_GE(page.AsList()[0].Find("updated")->AsInt(), previous);
    previous = page.AsList()[99].Find("updated")->AsInt();
  }
  auto last = tracker.GetIssue("2-1000000");
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->StringOr("idReadable").empty());
  EXPECT_LT(ElapsedMs(start), 60'000);  // generous: sanitizer builds are slow
}

// ---------------------------------------------------------------------------
// The stand-alone binary

TEST(SampleTrackerBinaryTest, ServesTheBundledDataUntilSigterm) {
  std::string binary = SampleTrackerBinaryPath();
  if (!std::filesystem::exists(binary)) {
    GTEST_SKIP() << binary << " is not built";
  }
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("sample-tracker-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string token_file = (dir / "token").string();
  {
    std::ofstream out(token_file);
    out << "perm:ZGVtbw==.ZGVtbw==.binary-test-token\n";
  }

  int out_pipe[2];
  ASSERT_EQ(::pipe(out_pipe), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    ::execl(binary.c_str(), binary.c_str(), "--port", "0", "--token-file", token_file.c_str(),
            "--path-prefix", "/youtrack", static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(out_pipe[1]);
  std::string line;
  char c = 0;
  while (::read(out_pipe[0], &c, 1) == 1 && c != '\n') {
    line.push_back(c);
  }
  ::close(out_pipe[0]);
  const std::string prefix = "sample tracker listening on ";
  ASSERT_TRUE(line.starts_with(prefix)) << line;
  std::string base_url = line.substr(prefix.size());
  EXPECT_TRUE(base_url.ends_with("/youtrack")) << base_url;

  auto me = HttpGet(base_url + "/api/users/me?fields=login,guest",
                    Auth("perm:ZGVtbw==.ZGVtbw==.binary-test-token"));
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(MustParse(me.body), MustParse(R"({"$type":"Me","guest":false,"login":"sync.bot"})"));
  auto issues = HttpGet(base_url + "/api/issues?fields=id&$top=-1",
                        Auth("perm:ZGVtbw==.ZGVtbw==.binary-test-token"));
  EXPECT_EQ(MustParse(issues.body).AsList().size(), 15u);

  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace boardsync

// Tests of the sample Jira's write path (tests/support/jira/jira_server.h)
// over real loopback HTTP with a plain client: PUT /issue with Jira's
// checks and error bodies, `updated` moved, returnIssue per flavour, field
// creation behind Administer Jira, contexts, the default screen, and faults.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "connectors/http/json.h"
#include "tests/support/http_test_client.h"
#include "tests/support/jira/jira_server.h"

namespace boardsync {
namespace {

constexpr std::int64_t kStart = 1714550400000;  // 2024-05-01T08:00:00Z
constexpr std::string_view kPrefix = "com.atlassian.jira.plugin.system.customfieldtypes:";

Value MustParse(const std::string& text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text.substr(0, 300);
  return parsed ? *parsed : Value();
}

JiraServerOptions Options(JiraFlavor flavor) {
  JiraServerOptions options;
  options.flavor = flavor;
  options.path_prefix = flavor == JiraFlavor::kDataCenter ? "/jira" : "";
  options.now_ms = kStart;
  return options;
}

// Requests with the server's credentials (or `authorization`), paths
// without the prefix.
class Client {
 public:
  explicit Client(JiraServer& server)
      : server_(server),
        client_(server.base_url()),
        prefix_(server.flavor() == JiraFlavor::kDataCenter ? "/jira" : "") {}

  HttpTestResponse Send(std::string_view method, std::string_view target, const Value& body,
                        std::optional<std::string> authorization = std::nullopt) {
    HttpServerHeaders headers = {
        {"Authorization", authorization.value_or(server_.AuthorizationHeader())},
        {"Content-Type", "application/json"}};
    return client_.Send(method, prefix_ + std::string(target), headers,
                        body.IsNull() ? "" : body.ToJson());
  }
  HttpTestResponse Get(std::string_view target) {
    return client_.Get(prefix_ + std::string(target),
                       {{"Authorization", server_.AuthorizationHeader()}});
  }

 private:
  JiraServer& server_;
  HttpTestClient client_;
  std::string prefix_;
};

Value Fields(Value::Object fields) {
  return Value(Value::Object{{"fields", Value(std::move(fields))}});
}

class JiraServerWriteTest : public testing::TestWithParam<JiraFlavor> {
 protected:
  bool Cloud() const { return GetParam() == JiraFlavor::kCloud; }
  std::string Api() const { return Cloud() ? "/rest/api/3" : "/rest/api/2"; }
};

TEST_P(JiraServerWriteTest, APutSetsTheValuesAndMovesUpdated) {
  JiraServer server(Options(GetParam()));
  const std::string note = server.AddCustomField("Board note", "textfield");
  JiraIssue issue;
  issue.created_ms = kStart - 60'000;
  const std::string key = *server.AddIssue(issue);
  const std::string id = std::to_string(server.GetIssue(key)->id);
  server.SetNow(kStart + 5'000);
  Client client(server);

  auto response =
      client.Send("PUT", Api() + "/issue/" + key + "?returnIssue=true",
                  Fields({{"customfield_10016", Value(std::int64_t{5})}, {note, Value("five")}}));
  const JiraIssue after = *server.GetIssue(id);
  EXPECT_EQ(after.story_points, 5.0);
  EXPECT_EQ(after.custom_values.at(note), Value("five"));
  EXPECT_EQ(after.updated_ms, kStart + 5'000);
  if (Cloud()) {
    ASSERT_EQ(response.status, 200) << response.body;
    const Value answer = MustParse(response.body);
    EXPECT_EQ(answer.StringOr("key"), key);
    EXPECT_EQ(answer.Find("fields")->StringOr("updated"), server.FormatJiraTime(kStart + 5'000));
    EXPECT_EQ(*answer.Find("fields")->Find(note), Value("five"));
  } else {
    EXPECT_EQ(response.status, 204) << response.body;  // returnIssue is Cloud's
    EXPECT_EQ(response.body, "");
  }
  // Without returnIssue: 204 on both; the clock did not move, `updated` still does.
  response = client.Send("PUT", Api() + "/issue/" + id, Fields({{note, Value()}}));
  EXPECT_EQ(response.status, 204) << response.body;
  EXPECT_FALSE(server.GetIssue(id)->custom_values.contains(note));
  EXPECT_EQ(server.GetIssue(id)->updated_ms, kStart + 5'001);

  // The search answers show the field when it is asked for.
  const std::string search = Cloud() ? "/rest/api/3/search/jql?jql=key%3D" + key + "&fields=" + note
                                     : "/rest/api/2/search?jql=key%3D" + key + "&fields=" + note;
  client.Send("PUT", Api() + "/issue/" + id, Fields({{note, Value("again")}}));
  response = client.Get(search);
  ASSERT_EQ(response.status, 200) << response.body;
  const Value page = MustParse(response.body);
  const Value& fields = *page.Find("issues")->AsList().at(0).Find("fields");
  EXPECT_EQ(fields, Value(Value::Object{{note, Value("again")}}));
}

TEST_P(JiraServerWriteTest, APutIsRefusedAsJiraRefusesIt) {
  JiraServer server(Options(GetParam()));
  const std::string note = server.AddCustomField("Board note", "textfield");
  const std::string hidden = server.AddCustomField("Hidden", "float", /*on_default_screen=*/false);
  const std::string bare = server.AddCustomField("No context", "float", true, false);
  JiraIssue issue;
  const std::string key = *server.AddIssue(issue);
  const std::string other = *server.AddIssue(issue);
  server.SetFieldOffScreen(other, "customfield_10016");
  const std::int64_t updated = server.GetIssue(key)->updated_ms;
  Client client(server);
  auto errors = [](const HttpTestResponse& response) {
    const Value body = MustParse(response.body);
    EXPECT_EQ(*body.Find("errorMessages"), Value(Value::List{}));
    return *body.Find("errors");
  };
  auto cannot = [](const std::string& id) {
    return Value("Field '" + id +
                 "' cannot be set. It is not on the appropriate screen, or unknown.");
  };

  // Unknown ids, fields without a screen or context: all reported, nothing set.
  auto response = client.Send("PUT", Api() + "/issue/" + key,
                              Fields({{"customfield_99999", Value(1.0)},
                                      {hidden, Value(1.0)},
                                      {bare, Value(1.0)},
                                      {"customfield_10016", Value(1.0)}}));
  ASSERT_EQ(response.status, 400);
  EXPECT_EQ(errors(response),
            Value(Value::Object{{"customfield_99999", cannot("customfield_99999")},
                                {hidden, cannot(hidden)},
                                {bare, cannot(bare)}}));
  EXPECT_FALSE(server.GetIssue(key)->story_points.has_value());
  EXPECT_EQ(server.GetIssue(key)->updated_ms, updated);

  // The per-issue switch: the same field is fine on the first issue.
  response =
      client.Send("PUT", Api() + "/issue/" + other, Fields({{"customfield_10016", Value(1.0)}}));
  ASSERT_EQ(response.status, 400);
  EXPECT_EQ(errors(response),
            Value(Value::Object{{"customfield_10016", cannot("customfield_10016")}}));

  // Types.
  response = client.Send("PUT", Api() + "/issue/" + key,
                         Fields({{"customfield_10016", Value("5")},
                                 {note, Value(5.0)},
                                 {"customfield_10030", Value(2.0)}}));
  ASSERT_EQ(response.status, 400);
  EXPECT_EQ(errors(response),
            Value(Value::Object{
                {"customfield_10016", Value("Operation value must be a number")},
                {note, Value("Operation value must be a string")},
                {"customfield_10030", Value("Specify a valid 'id' or 'name' for Team")}}));
  response =
      client.Send("PUT", Api() + "/issue/" + key, Fields({{note, Value(std::string(256, 'x'))}}));
  ASSERT_EQ(response.status, 400);
  EXPECT_EQ(errors(response).StringOr(note),
            "The entered text is too long. It exceeds the allowed limit of 255 characters.");
  // A textarea takes a document on Cloud's API 3, text elsewhere.
  response =
      client.Send("PUT", Api() + "/issue/" + key, Fields({{"customfield_10050", Value("plain")}}));
  EXPECT_EQ(response.status, Cloud() ? 400 : 204) << response.body;
  if (Cloud()) {
    EXPECT_EQ(errors(response).StringOr("customfield_10050"),
              "Operation value must be an Atlassian Document (see the Atlassian Document Format)");
    response = client.Send("PUT", "/rest/api/2/issue/" + key,
                           Fields({{"customfield_10050", Value("plain")}}));
    EXPECT_EQ(response.status, 204) << response.body;
  }
  EXPECT_EQ(server.GetIssue(key)->acceptance_criteria, "plain");

  // No such issue; no credentials.
  response =
      client.Send("PUT", Api() + "/issue/RAP-999", Fields({{"customfield_10016", Value(1.0)}}));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(
      MustParse(response.body),
      Value(Value::Object{
          {"errorMessages", Value(Value::List{Value(
                                "Issue does not exist or you do not have permission to see it.")})},
          {"errors", Value(Value::Object{})}}));
  response = client.Send("PUT", Api() + "/issue/" + key,
                         Fields({{"customfield_10016", Value(1.0)}}), "Bearer wrong");
  EXPECT_EQ(response.status, 401);
  EXPECT_FALSE(server.GetIssue(key)->story_points.has_value());
}

TEST_P(JiraServerWriteTest, FieldsAreCreatedByAdministratorsOnly) {
  JiraServer server(Options(GetParam()));
  Client client(server);
  const Value body(Value::Object{{"name", "Board score"},
                                 {"type", std::string(kPrefix) + "float"},
                                 {"searcherKey", std::string(kPrefix) + "exactnumber"}});
  auto response = client.Send("POST", Api() + "/field", body);
  EXPECT_EQ(response.status, 403) << response.body;
  EXPECT_TRUE(server.CustomFields().empty());

  server.SetAdmin(true);
  const Value wrong_searcher(Value::Object{{"name", "Board score"},
                                           {"type", std::string(kPrefix) + "float"},
                                           {"searcherKey", std::string(kPrefix) + "textsearcher"}});
  EXPECT_EQ(client.Send("POST", Api() + "/field", wrong_searcher).status, 400);
  const Value wrong_type(Value::Object{{"name", "Board score"}, {"type", "float"}});
  EXPECT_EQ(client.Send("POST", Api() + "/field", wrong_type).status, 400);

  response = client.Send("POST", Api() + "/field", body);
  ASSERT_EQ(response.status, 201) << response.body;
  const Value field = MustParse(response.body);
  EXPECT_EQ(field.StringOr("id"), "customfield_10100");
  EXPECT_EQ(field.StringOr("name"), "Board score");
  EXPECT_EQ(*field.Find("custom"), Value(true));
  EXPECT_EQ(field.Find("schema")->StringOr("type"), "number");
  EXPECT_EQ(field.Find("schema")->StringOr("custom"), std::string(kPrefix) + "float");
  ASSERT_EQ(server.CustomFields().size(), 1u);
  // On no screen yet; a global context on Data Center only (by default).
  EXPECT_FALSE(server.CustomFields()[0].on_default_screen);
  EXPECT_EQ(server.CustomFields()[0].contexts, Cloud() ? 0 : 1);
  // The catalogue lists it.
  const Value catalogue = MustParse(client.Get(Api() + "/field").body);
  bool listed = false;
  for (const Value& entry : catalogue.AsList()) {
    listed = listed || entry.StringOr("id") == "customfield_10100";
  }
  EXPECT_TRUE(listed);

  // The default screen: once, then 404.
  const std::string screen = Api() + "/screens/addToDefault/customfield_10100";
  EXPECT_EQ(client.Send("POST", screen, Value()).status, 200);
  EXPECT_TRUE(server.CustomFields()[0].on_default_screen);
  EXPECT_EQ(client.Send("POST", screen, Value()).status, 404);
  EXPECT_EQ(client.Send("POST", Api() + "/screens/addToDefault/customfield_1", Value()).status,
            404);
}

TEST(JiraServerCloudWriteTest, ContextsAreListedAndAGlobalOneAdded) {
  JiraServer server(Options(JiraFlavor::kCloud));
  const std::string id = server.AddCustomField("Board score", "float", true, false);
  Client client(server);
  const std::string contexts = "/rest/api/3/field/" + id + "/context";
  EXPECT_EQ(client.Get(contexts).status, 403);  // Administer Jira
  server.SetAdmin(true);
  Value page = MustParse(client.Get(contexts).body);
  EXPECT_EQ(*page.Find("total"), Value(std::int64_t{0}));
  EXPECT_TRUE(page.Find("values")->AsList().empty());

  const Value global(Value::Object{{"name", "Global"},
                                   {"projectIds", Value(Value::List{})},
                                   {"issueTypeIds", Value(Value::List{})}});
  auto response = client.Send("POST", contexts, global);
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(MustParse(response.body).StringOr("name"), "Global");
  EXPECT_EQ(server.CustomFields()[0].contexts, 1);
  page = MustParse(client.Get(contexts).body);
  EXPECT_EQ(*page.Find("total"), Value(std::int64_t{1}));
  EXPECT_EQ(*page.Find("values")->AsList().at(0).Find("isGlobalContext"), Value(true));
  EXPECT_EQ(client.Send("POST", contexts, global).status, 400);  // one global context
  EXPECT_EQ(client.Get("/rest/api/3/field/customfield_1/context").status, 404);

  // Now a write lands.
  const std::string key = *server.AddIssue(JiraIssue{});
  EXPECT_EQ(client.Send("PUT", "/rest/api/3/issue/" + key, Fields({{id, Value(2.5)}})).status, 204);
  EXPECT_EQ(server.ValueOf(key, id), Value(2.5));

  // Data Center has no such endpoint.
  JiraServer data_center(Options(JiraFlavor::kDataCenter));
  data_center.SetAdmin(true);
  Client dc(data_center);
  EXPECT_EQ(dc.Get("/rest/api/2/field/customfield_10016/context").status, 404);
}

TEST_P(JiraServerWriteTest, FaultsHitTheWritePath) {
  JiraServer server(Options(GetParam()));
  const std::string key = *server.AddIssue(JiraIssue{});
  server.InjectFault(JiraServer::Fault::RateLimited(7).On(Api() + "/issue"));
  Client client(server);
  auto response =
      client.Send("PUT", Api() + "/issue/" + key, Fields({{"customfield_10016", Value(1.0)}}));
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.Header("retry-after"), "7");
  EXPECT_FALSE(server.GetIssue(key)->story_points.has_value());
  response =
      client.Send("PUT", Api() + "/issue/" + key, Fields({{"customfield_10016", Value(1.0)}}));
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(server.GetIssue(key)->story_points, 1.0);
}

INSTANTIATE_TEST_SUITE_P(Flavors, JiraServerWriteTest,
                         testing::Values(JiraFlavor::kCloud, JiraFlavor::kDataCenter),
                         [](const testing::TestParamInfo<JiraFlavor>& info) {
                           return info.param == JiraFlavor::kCloud ? "Cloud" : "DataCenter";
                         });

}  // namespace
}  // namespace boardsync

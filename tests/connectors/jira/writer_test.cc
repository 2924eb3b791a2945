// JiraWriter against the sample Jira (tests/support/jira/), Cloud and Data
// Center: values land exactly and read back (through the server's state and
// through a pull), clearing, numbers and text, fields created with and
// without Administer Jira, type mismatches and shared names, one refused
// issue among good ones, rate limits, a refused token, and the token never
// in any message.

#include "connectors/jira/writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "connectors/http/cpprest_http_client.h"
#include "connectors/jira/jira_type.h"
#include "tests/support/jira/jira_server.h"

namespace boardsync {
namespace {

using testing::HasSubstr;
using testing::Not;

constexpr std::int64_t kStart = 1714550400000;  // 2024-05-01T08:00:00Z

JiraOptions OptionsFor(const JiraServer& server) {
  JiraOptions options;
  options.connection_name = "acme-jira";
  options.site = *JiraSiteUrl(server.base_url());
  if (server.flavor() == JiraFlavor::kCloud) {
    options.deployment = JiraDeployment::kCloud;
    options.email = std::string(kJiraCloudEmail);
    options.token = Secret(std::string(kJiraCloudApiToken));
  } else {
    options.deployment = JiraDeployment::kDataCenter;
    options.token = Secret(std::string(kJiraDataCenterToken));
  }
  options.timeout = std::chrono::milliseconds(10'000);
  return options;
}

WriteTarget Target(std::string name, FieldType type) { return WriteTarget{std::move(name), type}; }

class JiraWriterTest : public testing::TestWithParam<JiraFlavor> {
 protected:
  JiraServerOptions ServerOptions() const {
    JiraServerOptions options;
    options.flavor = GetParam();
    options.path_prefix = Cloud() ? "" : "/jira";
    options.now_ms = kStart;
    return options;
  }
  bool Cloud() const { return GetParam() == JiraFlavor::kCloud; }
  std::string Api() const { return Cloud() ? "/rest/api/3" : "/rest/api/2"; }

  // An issue in RAP, created an hour before the clock; its id.
  static std::string AddIssue(JiraServer& server, std::string summary) {
    JiraIssue issue;
    issue.summary = std::move(summary);
    issue.created_ms = kStart - 3'600'000;
    auto key = server.AddIssue(issue);
    EXPECT_TRUE(key) << key.error().message;
    return std::to_string(server.GetIssue(*key)->id);
  }
  static IssueRef Ref(const JiraServer& server, const std::string& id) {
    return IssueRef{id, server.GetIssue(id)->key};
  }
  // Requests with this method to paths starting with `path`.
  static std::size_t Count(const JiraServer& server, std::string_view method,
                           std::string_view path) {
    std::size_t n = 0;
    for (const auto& recorded : server.requests()) {
      n += recorded.request.method == method && recorded.api_path.starts_with(path) ? 1 : 0;
    }
    return n;
  }

  // Retries without the long backoff; a Retry-After is still waited for.
  static HttpClientOptions FastRetries() {
    HttpClientOptions options;
    options.backoff_base = std::chrono::milliseconds(10);
    return options;
  }

  CpprestHttpClient http_{FastRetries()};
};

TEST_P(JiraWriterTest, ValuesLandExactlyInOneRequestAndAPullReadsThemBack) {
  JiraServer server(ServerOptions());
  const std::string rank = server.AddCustomField("Board rank", "float");
  const std::string note = server.AddCustomField("Board note", "textfield");
  const std::string id = AddIssue(server, "First");
  const std::string other = AddIssue(server, "Second");
  JiraWriter writer(OptionsFor(server), http_);

  // By name, by name in another case, by id; a textarea takes text too.
  const WriteTarget targets[] = {
      Target("Story Points", FieldType::kFloat), Target("board RANK", FieldType::kInteger),
      Target(note, FieldType::kString), Target("Acceptance Criteria", FieldType::kString)};
  auto checks = writer.Prepare(targets, false, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  ASSERT_EQ(checks->size(), 4u);
  for (const TargetCheck& check : *checks) {
    EXPECT_EQ(check.problem, "") << check.name;
    EXPECT_FALSE(check.created);
  }

  server.ClearRequests();
  const FieldValue values[] = {{"Story Points", Value(42.625)},
                               {"board RANK", Value(std::int64_t{7})},
                               {note, Value("12.5")},
                               {"Acceptance Criteria", Value("Top 3 of 40")}};
  auto outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->refused) << outcome->message;

  // One PUT by id, for all four; no notifyUsers (ignored without admin).
  ASSERT_EQ(server.RequestCount(Api() + "/issue/" + id), 1u);
  auto put = server.LastRequest(Api() + "/issue/" + id);
  EXPECT_EQ(put->request.method, "PUT");
  EXPECT_EQ(put->request.Param("returnIssue"), "true");
  EXPECT_FALSE(put->request.Param("notifyUsers"));
  EXPECT_EQ(*put->request.Header("authorization"), server.AuthorizationHeader());

  const JiraIssue written = *server.GetIssue(id);
  EXPECT_EQ(written.story_points, 42.625);
  EXPECT_EQ(server.ValueOf(id, rank), Value(7.0));
  EXPECT_EQ(server.ValueOf(id, note), Value("12.5"));
  EXPECT_EQ(written.acceptance_criteria, "Top 3 of 40");
  // The other issue is untouched.
  EXPECT_EQ(server.ValueOf(other, rank), Value());
  EXPECT_EQ(server.GetIssue(other)->updated_ms, kStart - 3'600'000);

  // The search answers carry them, as the pull reads them.
  JiraSource source(OptionsFor(server), http_);
  PullRequest request;
  request.keys = {written.key};
  request.fields = {"Board rank", "Board note", "Story Points", "Acceptance Criteria"};
  std::vector<Issue> pulled;
  auto done = source.Pull(request, [&](IssuePage page) -> Result<void> {
    for (Issue& issue : page.issues) {
      pulled.push_back(std::move(issue));
    }
    return {};
  });
  ASSERT_TRUE(done) << done.error().message;
  ASSERT_EQ(pulled.size(), 1u);
  EXPECT_EQ(pulled[0].fields.at("Board rank"), Value(7.0));
  EXPECT_EQ(pulled[0].fields.at("Board note"), Value("12.5"));
  EXPECT_EQ(pulled[0].fields.at("Story Points"), Value(42.625));
  EXPECT_EQ(pulled[0].fields.at("Acceptance Criteria"), Value("Top 3 of 40"));
}

TEST_P(JiraWriterTest, NullClearsAField) {
  JiraServer server(ServerOptions());
  const std::string note = server.AddCustomField("Board note", "textfield");
  const std::string id = AddIssue(server, "First");
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {Target("Story Points", FieldType::kFloat),
                                 Target("Board note", FieldType::kString)};
  ASSERT_TRUE(writer.Prepare(targets, false, {}, {}));
  const FieldValue set[] = {{"Story Points", Value(3.0)}, {"Board note", Value("high")}};
  ASSERT_FALSE(writer.Write(Ref(server, id), set, {})->refused);
  ASSERT_EQ(server.GetIssue(id)->story_points, 3.0);

  const FieldValue clear[] = {{"Story Points", Value()}, {"Board note", Value()}};
  auto outcome = writer.Write(Ref(server, id), clear, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->refused) << outcome->message;
  EXPECT_FALSE(server.GetIssue(id)->story_points.has_value());
  EXPECT_EQ(server.ValueOf(id, note), Value());
  EXPECT_THAT(server.LastRequest(Api() + "/issue/" + id)->request.body,
              HasSubstr("\"customfield_10016\":null"));
}

TEST_P(JiraWriterTest, AWriteMovesUpdatedAndCloudSaysWhereTo) {
  JiraServer server(ServerOptions());
  const std::string id = AddIssue(server, "First");
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {Target("Story Points", FieldType::kFloat)};
  ASSERT_TRUE(writer.Prepare(targets, false, {}, {}));
  server.SetNow(kStart + 61'234);
  const FieldValue values[] = {{"Story Points", Value(5.0)}};
  auto outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(server.GetIssue(id)->updated_ms, kStart + 61'234);
  if (Cloud()) {
    EXPECT_EQ(outcome->updated_ms, kStart + 61'234);  // returnIssue's `updated`, ms exact
  } else {
    EXPECT_EQ(outcome->updated_ms, 0);  // Data Center answers 204
  }

  // Within the same millisecond, a second write still moves it on.
  outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(server.GetIssue(id)->updated_ms, kStart + 61'235);
  EXPECT_EQ(outcome->updated_ms, Cloud() ? kStart + 61'235 : 0);
}

TEST_P(JiraWriterTest, CreateWithAdministerJiraMakesEachFieldOnceAndWritable) {
  JiraServer server(ServerOptions());
  server.SetAdmin(true);
  const std::string id = AddIssue(server, "First");
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {Target("Board score", FieldType::kFloat),
                                 Target("Board label", FieldType::kString),
                                 Target("board score", FieldType::kInteger)};
  auto checks = writer.Prepare(targets, true, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  ASSERT_EQ(checks->size(), 3u);
  EXPECT_EQ((*checks)[0].problem, "");
  EXPECT_TRUE((*checks)[0].created);
  EXPECT_EQ((*checks)[1].problem, "");
  EXPECT_TRUE((*checks)[1].created);
  // The field the first target made, which one target writes already.
  EXPECT_EQ((*checks)[2].problem,
            "field \"board score\" (" + server.CustomFields().at(0).id +
                ") is the Jira field \"Board score\" writes already; sync_back writes a field "
                "from one score only");
  EXPECT_FALSE((*checks)[2].created);

  const auto fields = server.CustomFields();
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].name, "Board score");
  EXPECT_EQ(fields[0].custom_type, "float");
  EXPECT_EQ(fields[1].name, "Board label");
  EXPECT_EQ(fields[1].custom_type, "textfield");
  for (const auto& field : fields) {
    EXPECT_EQ(field.contexts, 1) << field.name;
    EXPECT_TRUE(field.on_default_screen) << field.name;
  }
  EXPECT_EQ(Count(server, "POST", Api() + "/field"), 2u + (Cloud() ? 2u : 0u));
  auto create = server.LastRequest(Api() + "/field");
  ASSERT_TRUE(create);
  EXPECT_THAT(create->request.body,
              HasSubstr("\"searcherKey\":\"com.atlassian.jira.plugin.system.customfieldtypes:"
                        "textsearcher\""));
  EXPECT_THAT(create->request.body,
              HasSubstr("\"type\":\"com.atlassian.jira.plugin.system.customfieldtypes:"
                        "textfield\""));
  if (Cloud()) {
    // Cloud's new field came without a context here: one global one each.
    EXPECT_EQ(Count(server, "GET", Api() + "/field/"), 2u);
    EXPECT_EQ(Count(server, "POST", Api() + "/field/"), 2u);
  }
  EXPECT_EQ(Count(server, "POST", Api() + "/screens/addToDefault/"), 2u);

  const FieldValue values[] = {{"Board score", Value(8.5)}, {"Board label", Value("8.5")}};
  auto outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->refused) << outcome->message;
  EXPECT_EQ(server.ValueOf(id, fields[0].id), Value(8.5));
  EXPECT_EQ(server.ValueOf(id, fields[1].id), Value("8.5"));

  // The next sync back finds them: nothing is made again.
  server.ClearRequests();
  checks = writer.Prepare(std::span(targets).first(2), true, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  for (const TargetCheck& check : *checks) {
    EXPECT_EQ(check.problem, "");
    EXPECT_FALSE(check.created);
  }
  EXPECT_EQ(server.CustomFields().size(), 2u);
  EXPECT_EQ(Count(server, "POST", ""), 0u);
}

TEST(JiraWriterCloudTest, AFieldThatCameWithAContextGetsNoSecond) {
  JiraServerOptions options;
  options.cloud_field_gets_context = true;
  JiraServer server(options);
  server.SetAdmin(true);
  CpprestHttpClient http;
  JiraWriter writer(OptionsFor(server), http);
  const WriteTarget targets[] = {Target("Board score", FieldType::kFloat)};
  auto checks = writer.Prepare(targets, true, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_EQ((*checks)[0].problem, "");
  ASSERT_EQ(server.CustomFields().size(), 1u);
  EXPECT_EQ(server.CustomFields()[0].contexts, 1);
  const std::string context = "/rest/api/3/field/" + server.CustomFields()[0].id + "/context";
  EXPECT_EQ(server.RequestCount(context), 1u);
  EXPECT_EQ(server.LastRequest(context)->request.method, "GET");
}

TEST_P(JiraWriterTest, ACreateIsNeverRetriedButALostAnswerIsLookedFor) {
  JiraServer server(ServerOptions());
  server.SetAdmin(true);
  const std::string id = AddIssue(server, "First");
  JiraWriter writer(OptionsFor(server), http_);
  // Jira makes the field, but its answer is cut off: the catalogue has it,
  // and it is finished (context, screen) as if the answer had come.
  server.InjectFault(JiraServer::Fault::Truncated(5).On(Api() + "/field").OnMethod("POST"));
  const WriteTarget targets[] = {Target("Board score", FieldType::kFloat)};
  auto checks = writer.Prepare(targets, true, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_EQ((*checks)[0].problem, "");
  EXPECT_TRUE((*checks)[0].created);
  EXPECT_EQ(server.RequestCount(Api() + "/field"), 3u);  // GET, the POST, GET again
  ASSERT_EQ(server.CustomFields().size(), 1u);
  EXPECT_EQ(server.CustomFields()[0].contexts, 1);
  EXPECT_TRUE(server.CustomFields()[0].on_default_screen);
  const FieldValue values[] = {{"Board score", Value(4.0)}};
  ASSERT_FALSE(writer.Write(Ref(server, id), values, {})->refused);

  // A 5xx where nothing was made: one POST, an error, and the next run makes it.
  server.ClearRequests();
  server.InjectFault(
      JiraServer::Fault::ServerError().On(Api() + "/field").OnMethod("POST").Times(5));
  const WriteTarget other[] = {Target("Board rank", FieldType::kInteger)};
  checks = writer.Prepare(other, true, {}, {});
  ASSERT_FALSE(checks);
  EXPECT_EQ(checks.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(checks.error().message, HasSubstr("acme-jira"));
  EXPECT_EQ(Count(server, "POST", Api() + "/field"), 1u);
  EXPECT_EQ(server.CustomFields().size(), 1u);
  server.ClearFaults();
  checks = writer.Prepare(other, true, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_TRUE((*checks)[0].created);
  EXPECT_EQ(server.CustomFields().size(), 2u);
}

TEST_P(JiraWriterTest, CreateWithoutAdministerJiraNamesThePermissionAndWritesNothing) {
  JiraServer server(ServerOptions());
  const std::string id = AddIssue(server, "First");
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {Target("Board score", FieldType::kFloat),
                                 Target("Story Points", FieldType::kFloat)};
  auto checks = writer.Prepare(targets, true, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_THAT((*checks)[0].problem, HasSubstr("Administer Jira global permission"));
  EXPECT_THAT((*checks)[0].problem, HasSubstr("\"Board score\""));
  EXPECT_THAT((*checks)[0].problem, HasSubstr("HTTP 403"));
  EXPECT_FALSE((*checks)[0].created);
  EXPECT_EQ((*checks)[1].problem, "");  // the other target stands
  EXPECT_TRUE(server.CustomFields().empty());

  // Writing to the refused target is a caller's error: nothing is sent.
  server.ClearRequests();
  const FieldValue values[] = {{"Story Points", Value(1.0)}, {"Board score", Value(1.0)}};
  auto outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kConfig);
  EXPECT_EQ(server.total_requests(), 0u);
  EXPECT_FALSE(server.GetIssue(id)->story_points.has_value());
}

TEST_P(JiraWriterTest, AMissingFieldWithoutCreateIsAProblem) {
  JiraServer server(ServerOptions());
  server.SetAdmin(true);
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {Target("Board score", FieldType::kFloat),
                                 Target("customfield_19999", FieldType::kFloat)};
  auto checks = writer.Prepare(targets, false, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_THAT((*checks)[0].problem, HasSubstr("no Jira field is named \"Board score\""));
  EXPECT_THAT((*checks)[0].problem, HasSubstr("create is false"));
  EXPECT_THAT((*checks)[1].problem, HasSubstr("customfield_19999"));
  // An id is never made up, even with create.
  checks = writer.Prepare(targets, true, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_EQ((*checks)[0].problem, "");
  EXPECT_THAT((*checks)[1].problem, HasSubstr("no Jira field has the id customfield_19999"));
  EXPECT_EQ(server.CustomFields().size(), 1u);
}

TEST_P(JiraWriterTest, AFieldOfAnotherTypeIsAProblemNamingBothTypes) {
  JiraServer server(ServerOptions());
  server.AddCustomField("Board note", "textfield");
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {
      Target("Acceptance Criteria", FieldType::kFloat), Target("Board note", FieldType::kInteger),
      Target("Story Points", FieldType::kString), Target("Team", FieldType::kFloat),
      Target("Summary", FieldType::kString)};
  auto checks = writer.Prepare(targets, true, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_EQ((*checks)[0].problem,
            "field \"Acceptance Criteria\" (customfield_10050) is a paragraph text field "
            "(textarea) in Jira; sync_back writes it as float");
  EXPECT_THAT((*checks)[1].problem, HasSubstr("is a text field (textfield) in Jira"));
  EXPECT_THAT((*checks)[1].problem, HasSubstr("writes it as integer"));
  EXPECT_EQ((*checks)[2].problem,
            "field \"Story Points\" (customfield_10016) is a number field in Jira; sync_back "
            "writes it as string");
  EXPECT_THAT((*checks)[3].problem, HasSubstr("a field of type option (select)"));
  EXPECT_THAT((*checks)[4].problem, HasSubstr("system field"));
  for (const TargetCheck& check : *checks) {
    EXPECT_FALSE(check.created);
  }
  EXPECT_EQ(server.CustomFields().size(), 1u);  // nothing made in their place
}

TEST_P(JiraWriterTest, ANameTwoFieldsShareIsAProblemNamingBoth) {
  JiraServerOptions options = ServerOptions();
  options.shared_field_name = "Points";
  JiraServer server(options);
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {Target("points", FieldType::kFloat),
                                 Target("customfield_10060", FieldType::kFloat)};
  auto checks = writer.Prepare(targets, true, {}, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_THAT((*checks)[0].problem, HasSubstr("customfield_10060 and customfield_10061"));
  EXPECT_THAT((*checks)[0].problem, HasSubstr("by its id"));
  EXPECT_EQ((*checks)[1].problem, "");  // by id it is one field
}

TEST_P(JiraWriterTest, OneRefusedIssueDoesNotStopTheOthers) {
  JiraServer server(ServerOptions());
  const std::string rank = server.AddCustomField("Board rank", "float");
  const std::string first = AddIssue(server, "First");
  const std::string hidden = AddIssue(server, "Hidden");
  const std::string gone = AddIssue(server, "Gone");
  const std::string last = AddIssue(server, "Last");
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {Target("Board rank", FieldType::kInteger)};
  ASSERT_TRUE(writer.Prepare(targets, false, {}, {}));
  const IssueRef gone_ref = Ref(server, gone);
  server.DeleteIssue(gone);
  server.SetFieldOffScreen(hidden, rank);

  std::map<std::string, WriteOutcome> outcomes;
  std::int64_t n = 0;
  for (const IssueRef& ref :
       {Ref(server, first), Ref(server, hidden), gone_ref, Ref(server, last)}) {
    const FieldValue values[] = {{"Board rank", Value(++n)}};
    auto outcome = writer.Write(ref, values, {});
    ASSERT_TRUE(outcome) << outcome.error().message;
    outcomes[ref.id] = *outcome;
  }
  EXPECT_FALSE(outcomes[first].refused);
  EXPECT_FALSE(outcomes[last].refused);
  EXPECT_EQ(server.ValueOf(first, rank), Value(1.0));
  EXPECT_EQ(server.ValueOf(last, rank), Value(4.0));

  EXPECT_TRUE(outcomes[hidden].refused);
  EXPECT_EQ(outcomes[hidden].message,
            "issue RAP-2: Jira refused the write (HTTP 400): " + rank + ": Field '" + rank +
                "' cannot be set. It is not on the appropriate screen, or unknown.");
  EXPECT_EQ(server.ValueOf(hidden, rank), Value());
  EXPECT_TRUE(outcomes[gone].refused);
  EXPECT_THAT(outcomes[gone].message, HasSubstr("issue RAP-3: "));
  EXPECT_THAT(outcomes[gone].message, HasSubstr("HTTP 404"));
  EXPECT_THAT(outcomes[gone].message, HasSubstr("Issue does not exist"));
}

TEST_P(JiraWriterTest, RateLimitsAreWaitedOutAndASpentOneStops) {
  JiraServer server(ServerOptions());
  const std::string id = AddIssue(server, "First");
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {Target("Story Points", FieldType::kFloat)};
  ASSERT_TRUE(writer.Prepare(targets, false, {}, {}));
  server.InjectFault(JiraServer::Fault::RateLimited(1).On(Api() + "/issue"));
  const FieldValue values[] = {{"Story Points", Value(2.0)}};
  const auto started = std::chrono::steady_clock::now();
  auto outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->refused);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900));
  EXPECT_EQ(server.RequestCount(Api() + "/issue/" + id), 2u);
  EXPECT_EQ(server.GetIssue(id)->story_points, 2.0);

  server.InjectFault(JiraServer::Fault::RateLimited(0).On(Api() + "/issue").Times(10));
  outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kRateLimited);
  EXPECT_THAT(outcome.error().message, HasSubstr("acme-jira"));
  server.ClearFaults();

  server.InjectFault(JiraServer::Fault::ServerError().On(Api() + "/issue").Times(10));
  outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kUnavailable);
}

TEST_P(JiraWriterTest, ARefusedTokenIsAnErrorThatNeverShowsIt) {
  JiraServer server(ServerOptions());
  const std::string id = AddIssue(server, "First");
  const std::string canary = Cloud() ? "ATATTWriterCanaryToken0000" : "WriterPatCanary0000";
  // What Cloud sends: base64("sync.bot@example.com:ATATTWriterCanaryToken0000").
  const std::string basic =
      Cloud() ? "c3luYy5ib3RAZXhhbXBsZS5jb206QVRBVFRXcml0ZXJDYW5hcnlUb2tlbjAwMDA=" : "";
  server.SetToken(canary);
  JiraOptions options = OptionsFor(server);
  options.token = Secret(canary);
  JiraWriter writer(options, http_);
  const WriteTarget targets[] = {Target("Story Points", FieldType::kFloat)};
  ASSERT_TRUE(writer.Prepare(targets, false, {}, {}));

  // A refusal whose body repeats the credentials, as a misconfigured proxy's might.
  const std::string echoed = "{\"errorMessages\":[\"bad request from " + canary +
                             (Cloud() ? " / Basic " + basic : "") + "\"],\"errors\":{}}";
  server.InjectFault(JiraServer::Fault::Status(400, echoed).On(Api() + "/issue"));
  const FieldValue values[] = {{"Story Points", Value(2.0)}};
  auto outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->refused);
  EXPECT_THAT(outcome->message, HasSubstr("bad request from"));
  EXPECT_THAT(outcome->message, Not(HasSubstr(canary)));
  if (Cloud()) {
    EXPECT_THAT(outcome->message, Not(HasSubstr(basic.substr(0, 24))));
  }

  // The token stops working: the write is an auth error, and so is Prepare.
  server.RevokeToken();
  outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kAuth);
  EXPECT_THAT(outcome.error().message, HasSubstr("HTTP 401"));
  auto checks = writer.Prepare(targets, true, {}, {});
  ASSERT_FALSE(checks);
  EXPECT_EQ(checks.error().code, ErrorCode::kAuth);
  for (const std::string& message : {outcome.error().message, checks.error().message}) {
    EXPECT_THAT(message, HasSubstr("acme-jira"));
    EXPECT_THAT(message, Not(HasSubstr(canary)));
    if (Cloud()) {
      EXPECT_THAT(message, Not(HasSubstr(basic.substr(0, 24))));
    }
  }
  EXPECT_FALSE(server.GetIssue(id)->story_points.has_value());
}

TEST_P(JiraWriterTest, ACloudTextareaGoesAsAnAtlassianDocument) {
  JiraServer server(ServerOptions());
  const std::string id = AddIssue(server, "First");
  JiraWriter writer(OptionsFor(server), http_);
  const WriteTarget targets[] = {Target("Acceptance Criteria", FieldType::kString)};
  ASSERT_TRUE(writer.Prepare(targets, false, {}, {}));
  const FieldValue values[] = {{"Acceptance Criteria", Value("rank 3\nof 40")}};
  auto outcome = writer.Write(Ref(server, id), values, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->refused) << outcome->message;
  EXPECT_EQ(server.GetIssue(id)->acceptance_criteria, "rank 3\nof 40");
  const std::string body = server.LastRequest(Api() + "/issue/" + id)->request.body;
  if (Cloud()) {
    EXPECT_THAT(body, HasSubstr("\"type\":\"doc\""));
  } else {
    EXPECT_THAT(body, HasSubstr("\"customfield_10050\":\"rank 3\\nof 40\""));
  }
}

// Only what the jira type's own keys need, for parse and make_writer.
class KeysReader : public OptionReader {
 public:
  explicit KeysReader(std::map<std::string, std::string, std::less<>> keys)
      : keys_(std::move(keys)) {}
  bool Has(std::string_view key) const override { return keys_.contains(key); }
  std::optional<std::string> String(std::string_view key, bool) override {
    auto it = keys_.find(key);
    return it == keys_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  std::optional<std::string> Choice(std::string_view key,
                                    std::span<const std::string_view>) override {
    return String(key, false);
  }
  std::optional<int> Int(std::string_view, int, int) override { return std::nullopt; }
  std::optional<std::vector<std::string>> StringList(std::string_view, bool) override {
    return std::vector<std::string>();
  }
  std::unique_ptr<OptionReader> Section(std::string_view,
                                        std::span<const std::string_view>) override {
    return nullptr;
  }
  void Error(std::string_view key, std::string message) override {
    problems.push_back(std::string(key) + ": " + message);
  }
  std::vector<std::string> problems;

 private:
  std::map<std::string, std::string, std::less<>> keys_;
};

TEST_P(JiraWriterTest, TheJiraTypeMakesTheWriter) {
  JiraServer server(ServerOptions());
  const std::string id = AddIssue(server, "First");
  KeysReader reader(
      Cloud()
          ? std::map<std::string, std::string, std::less<>>{{"email", std::string(kJiraCloudEmail)}}
          : std::map<std::string, std::string, std::less<>>{});
  auto options = kJiraType.parse(reader);
  ASSERT_TRUE(reader.problems.empty()) << reader.problems.front();
  ASSERT_NE(kJiraType.make_writer, nullptr);
  ConnectorContext context;
  context.connection_name = "acme-jira";
  context.base_url = server.base_url() + "/";
  context.token = Secret(std::string(Cloud() ? kJiraCloudApiToken : kJiraDataCenterToken));
  context.http = &http_;
  auto writer = kJiraType.make_writer(*options, std::move(context));
  ASSERT_TRUE(writer) << writer.error().message;
  const WriteTarget targets[] = {Target("Story Points", FieldType::kFloat)};
  ASSERT_TRUE((*writer)->Prepare(targets, false, {}, {}));
  const FieldValue values[] = {{"Story Points", Value(13.0)}};
  auto outcome = (*writer)->Write(Ref(server, id), values, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(server.GetIssue(id)->story_points, 13.0);
}

INSTANTIATE_TEST_SUITE_P(Flavors, JiraWriterTest,
                         testing::Values(JiraFlavor::kCloud, JiraFlavor::kDataCenter),
                         [](const testing::TestParamInfo<JiraFlavor>& info) {
                           return info.param == JiraFlavor::kCloud ? "Cloud" : "DataCenter";
                         });

}  // namespace
}  // namespace boardsync

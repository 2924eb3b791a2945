// The config reader with `type: jira` connections: the shipped example
// (connectors/jira/example.yaml) loads, its keys reach the connector and
// choose how it authenticates, and the keys Jira refuses are reported at
// their file:line:column with the rest of the config's problems.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/http_client.h"
#include "core/secret.h"
#include "daemon/config.h"
#include "daemon/registry.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<std::string> Messages(const Diagnostics& diagnostics) {
  std::vector<std::string> out;
  for (const auto& d : diagnostics) {
    out.push_back(d.ToString());
  }
  return out;
}

// The problems ParseConfig() finds in `text`, read as "jira.yaml".
std::vector<std::string> Errors(const std::string& text) {
  auto config = ParseConfig(text, "jira.yaml");
  if (config) {
    ADD_FAILURE() << "expected errors in:\n" << text;
    return {};
  }
  return Messages(config.error());
}

// A Jira connection with `lines` added (each indented four spaces).
std::string JiraConnection(const std::string& lines) {
  return "connections:\n"
         "  - name: j\n"
         "    type: jira\n"
         "    base_url: https://acme.atlassian.net\n"
         "    token_env: J_TOKEN\n"
         "    mapping: m.yaml\n" +
         lines;
}

// Records the requests a source sends and answers each with a 401, so a
// source made from a config shows where it would go and how it would sign.
class RecordingHttp : public HttpClient {
 public:
  struct Sent {
    std::string url;
    HttpAuth::Scheme scheme;
    std::string user;
  };

  Result<HttpResponse> Send(const HttpRequest& request) override {
    sent.push_back({request.url, request.auth.scheme, request.auth.user});
    HttpResponse response;
    response.status = 401;
    response.url = request.url;
    return response;
  }

  std::vector<Sent> sent;
};

// The first request of test-connection (WhoAmI) for `connection`.
RecordingHttp::Sent FirstRequest(const ConnectionConfig& connection) {
  RecordingHttp http;
  auto tracker = MakeTracker(connection, Secret("jira-config-test-token"), http);
  EXPECT_TRUE(tracker) << (tracker ? "" : tracker.error().message);
  if (!tracker) {
    return {};
  }
  auto identity = (*tracker)->WhoAmI();
  EXPECT_FALSE(identity);
  if (!identity) {
    EXPECT_EQ(identity.error().code, ErrorCode::kAuth) << identity.error().message;
  }
  EXPECT_EQ(http.sent.size(), 1u);
  return http.sent.empty() ? RecordingHttp::Sent{} : http.sent.front();
}

std::filesystem::path ExampleConfig() { return SourceDir() / "connectors/jira/example.yaml"; }

TEST(JiraConfigTest, TheExampleConfigLoads) {
  auto config = LoadConfig(ExampleConfig());
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  ASSERT_EQ(config->connections.size(), 3u);
  const ConnectionConfig& cloud = config->connections[0];
  const ConnectionConfig& dc = config->connections[1];
  const ConnectionConfig& yt = config->connections[2];
  EXPECT_EQ(cloud.name, "acme-cloud");
  EXPECT_EQ(cloud.type, "jira");
  EXPECT_EQ(cloud.query, "project = RAP AND issuetype in (Story, Bug, Task)");
  EXPECT_EQ(dc.name, "acme-dc");
  EXPECT_EQ(dc.type, "jira");
  EXPECT_EQ(dc.base_url, "https://jira.acme.example/jira");
  EXPECT_EQ(yt.type, "youtrack");
  for (const ConnectionConfig& c : config->connections) {
    EXPECT_EQ(c.board, "roadmap") << c.name;
    EXPECT_NE(c.tracker_options, nullptr) << c.name;
    EXPECT_EQ(c.token.kind, TokenSource::Kind::kFile) << c.name;
    // The mappings it names are the shipped examples.
    EXPECT_TRUE(std::filesystem::is_regular_file(c.mapping)) << c.name << ": " << c.mapping;
  }
  EXPECT_EQ(cloud.mapping, SourceDir() / "connectors/jira/example-mapping.yaml");
  EXPECT_EQ(dc.mapping, cloud.mapping);
}

TEST(JiraConfigTest, TheExampleCloudConnectionSignsWithItsEmailAndTheDataCenterOneWithABearer) {
  auto config = LoadConfig(ExampleConfig());
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  ASSERT_EQ(config->connections.size(), 3u);

  const RecordingHttp::Sent cloud = FirstRequest(config->connections[0]);
  EXPECT_EQ(cloud.url, "https://acme.atlassian.net/rest/api/3/myself");
  EXPECT_EQ(cloud.scheme, HttpAuth::Scheme::kBasic);
  EXPECT_EQ(cloud.user, "sync-bot@acme.example");

  const RecordingHttp::Sent dc = FirstRequest(config->connections[1]);
  EXPECT_EQ(dc.url, "https://jira.acme.example/jira/rest/api/2/myself");
  EXPECT_EQ(dc.scheme, HttpAuth::Scheme::kBearer);
  EXPECT_EQ(dc.user, "");
}

TEST(JiraConfigTest, DeploymentIsCloudWithAnEmailAndDataCenterWithout) {
  auto with_email = ParseConfig(JiraConnection("    email: me@acme.example\n"), "jira.yaml");
  ASSERT_TRUE(with_email) << testing::PrintToString(Messages(with_email.error()));
  const RecordingHttp::Sent cloud = FirstRequest(with_email->connections[0]);
  EXPECT_EQ(cloud.url, "https://acme.atlassian.net/rest/api/3/myself");
  EXPECT_EQ(cloud.scheme, HttpAuth::Scheme::kBasic);
  EXPECT_EQ(cloud.user, "me@acme.example");

  auto without = ParseConfig(JiraConnection(""), "jira.yaml");
  ASSERT_TRUE(without) << testing::PrintToString(Messages(without.error()));
  const RecordingHttp::Sent dc = FirstRequest(without->connections[0]);
  EXPECT_EQ(dc.url, "https://acme.atlassian.net/rest/api/2/myself");
  EXPECT_EQ(dc.scheme, HttpAuth::Scheme::kBearer);

  auto said = ParseConfig(JiraConnection("    deployment: cloud\n    email: me@acme.example\n"),
                          "jira.yaml");
  ASSERT_TRUE(said) << testing::PrintToString(Messages(said.error()));
  EXPECT_EQ(FirstRequest(said->connections[0]).scheme, HttpAuth::Scheme::kBasic);
}

TEST(JiraConfigTest, UnknownKeysAreRefusedAtTheirPlaceAndTheJiraKeysAreListed) {
  EXPECT_THAT(Errors(JiraConnection("    emial: me@acme.example\n")),
              ElementsAre(AllOf(StartsWith("jira.yaml:7:5: unknown key \"emial\" in connection "
                                           "(type jira)"),
                                HasSubstr("deployment"), HasSubstr("email"))));
  // Jira's keys are Jira's: a YouTrack connection refuses them.
  EXPECT_THAT(Errors("connections:\n"
                     "  - name: y\n"
                     "    type: youtrack\n"
                     "    base_url: https://acme.youtrack.cloud\n"
                     "    token_env: Y_TOKEN\n"
                     "    mapping: m.yaml\n"
                     "    email: me@acme.example\n"
                     "    deployment: cloud\n"),
              ElementsAre(StartsWith("jira.yaml:7:5: unknown key \"email\" in connection "
                                     "(type youtrack)"),
                          StartsWith("jira.yaml:8:5: unknown key \"deployment\" in connection "
                                     "(type youtrack)")));
}

TEST(JiraConfigTest, AnEmailWithDataCenterIsRefusedAtTheEmail) {
  EXPECT_THAT(Errors(JiraConnection("    deployment: data_center\n"
                                    "    email: me@acme.example\n")),
              ElementsAre(AllOf(StartsWith("jira.yaml:8:12: "),
                                HasSubstr("\"email\" is for Jira Cloud"))));
}

TEST(JiraConfigTest, CloudWithoutAnEmailIsRefusedAtTheDeployment) {
  EXPECT_THAT(Errors(JiraConnection("    deployment: cloud\n")),
              ElementsAre(AllOf(StartsWith("jira.yaml:7:17: "),
                                HasSubstr("Jira Cloud needs \"email\""))));
}

TEST(JiraConfigTest, ADeploymentOtherThanCloudOrDataCenterIsRefusedWithTheChoices) {
  EXPECT_THAT(Errors(JiraConnection("    deployment: server\n")),
              ElementsAre(StartsWith("jira.yaml:7:17: \"deployment\" must be one of cloud, "
                                     "data_center (not \"server\")")));
}

TEST(JiraConfigTest, AQueryWithOrderByIsRefusedAtItsLine) {
  EXPECT_THAT(Errors(JiraConnection("    email: me@acme.example\n"
                                    "    query: project = RAP ORDER BY created DESC\n")),
              ElementsAre(AllOf(StartsWith("jira.yaml:8:12: "), HasSubstr("ORDER BY"))));
  // The words in a string are not a clause.
  auto quoted = ParseConfig(JiraConnection("    email: me@acme.example\n"
                                           "    query: 'summary ~ \"order by date\"'\n"),
                            "jira.yaml");
  EXPECT_TRUE(quoted) << testing::PrintToString(Messages(quoted.error()));
}

TEST(JiraConfigTest, EveryProblemOfEveryConnectionIsReportedAtOnce) {
  const std::vector<std::string> m = Errors(R"(connections:
  - name: a
    type: jira
    base_url: https://acme.atlassian.net
    token_env: A
    mapping: m.yaml
    deployment: cloud
    query: (project = RAP
  - name: b
    type: jira
    base_url: https://jira.acme.example
    token_env: B
    mapping: m.yaml
    deployment: data_center
    email: me@acme.example
    colour: blue
)");
  EXPECT_THAT(m, Contains(StartsWith("jira.yaml:7:17: ")));   // cloud without email
  EXPECT_THAT(m, Contains(StartsWith("jira.yaml:8:12: ")));   // unbalanced parenthesis
  EXPECT_THAT(m, Contains(StartsWith("jira.yaml:15:12: ")));  // email on data_center
  EXPECT_THAT(m, Contains(StartsWith("jira.yaml:16:5: unknown key \"colour\"")));
  EXPECT_EQ(m.size(), 4u) << testing::PrintToString(m);
}

}  // namespace
}  // namespace boardsync

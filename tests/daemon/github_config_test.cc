// The config reader with `type: github` connections: the shipped example
// (connectors/github/example.yaml) loads, its keys reach the connector and
// decide where it goes and how it signs, and the keys GitHub refuses are
// reported at their file:line:column with the rest of the config's problems.
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

// The problems ParseConfig() finds in `text`, read as "github.yaml".
std::vector<std::string> Errors(const std::string& text) {
  auto config = ParseConfig(text, "github.yaml");
  if (config) {
    ADD_FAILURE() << "expected errors in:\n" << text;
    return {};
  }
  return Messages(config.error());
}

// A GitHub connection with `lines` added (each indented four spaces).
std::string GitHubConnection(const std::string& lines) {
  return "connections:\n"
         "  - name: g\n"
         "    type: github\n"
         "    token_env: G_TOKEN\n"
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
    HttpHeaders headers;
  };

  Result<HttpResponse> Send(const HttpRequest& request) override {
    sent.push_back({request.url, request.auth.scheme, request.headers});
    HttpResponse response;
    response.status = 401;
    response.url = request.url;
    response.body = R"({"message":"Bad credentials","status":"401"})";
    return response;
  }

  std::vector<Sent> sent;
};

// The first request of test-connection (WhoAmI) for `connection`.
RecordingHttp::Sent FirstRequest(const ConnectionConfig& connection) {
  RecordingHttp http;
  auto tracker = MakeTracker(connection, Secret("github-config-test-token"), http);
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

std::filesystem::path ExampleConfig() { return SourceDir() / "connectors/github/example.yaml"; }

TEST(GitHubConfigTest, TheExampleConfigLoads) {
  auto config = LoadConfig(ExampleConfig());
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  ASSERT_EQ(config->connections.size(), 2u);
  const ConnectionConfig& hub = config->connections[0];
  const ConnectionConfig& ghe = config->connections[1];
  EXPECT_EQ(hub.name, "acme-gh");
  EXPECT_EQ(hub.type, "github");
  EXPECT_EQ(hub.base_url, "https://api.github.com");  // the type's default
  EXPECT_EQ(ghe.name, "acme-ghe");
  EXPECT_EQ(ghe.base_url, "https://ghe.acme.example/api/v3");
  for (const ConnectionConfig& c : config->connections) {
    EXPECT_EQ(c.board, "roadmap") << c.name;
    EXPECT_NE(c.tracker_options, nullptr) << c.name;
    EXPECT_EQ(c.token.kind, TokenSource::Kind::kFile) << c.name;
    EXPECT_TRUE(std::filesystem::is_regular_file(c.mapping)) << c.name << ": " << c.mapping;
  }
  EXPECT_EQ(hub.mapping, SourceDir() / "connectors/github/example-mapping.yaml");
  EXPECT_EQ(ghe.mapping, hub.mapping);
}

TEST(GitHubConfigTest, TheExampleConnectionsAskTheirApiWithABearerAndGitHubsHeaders) {
  auto config = LoadConfig(ExampleConfig());
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  ASSERT_EQ(config->connections.size(), 2u);
  const RecordingHttp::Sent hub = FirstRequest(config->connections[0]);
  EXPECT_EQ(hub.url, "https://api.github.com/user");
  EXPECT_EQ(hub.scheme, HttpAuth::Scheme::kBearer);
  EXPECT_THAT(hub.headers, Contains(std::pair<std::string, std::string>(
                               "Accept", "application/vnd.github+json")));
  EXPECT_THAT(hub.headers, Contains(std::pair<std::string, std::string>("X-GitHub-Api-Version",
                                                                        "2022-11-28")));
  const RecordingHttp::Sent ghe = FirstRequest(config->connections[1]);
  EXPECT_EQ(ghe.url, "https://ghe.acme.example/api/v3/user");
  EXPECT_EQ(ghe.scheme, HttpAuth::Scheme::kBearer);
}

TEST(GitHubConfigTest, BaseUrlMustBeAnApiRoot) {
  EXPECT_THAT(Errors(GitHubConnection("    repos: [acme/app]\n"
                                      "    base_url: https://ghe.acme.example\n")),
              ElementsAre(AllOf(StartsWith("github.yaml:7:15: "),
                                HasSubstr("write https://ghe.acme.example/api/v3"))));
  EXPECT_THAT(Errors(GitHubConnection("    repos: [acme/app]\n"
                                      "    base_url: https://github.com\n")),
              ElementsAre(AllOf(StartsWith("github.yaml:7:15: "),
                                HasSubstr("https://api.github.com"))));
}

TEST(GitHubConfigTest, UnknownKeysAreRefusedAtTheirPlaceAndTheGitHubKeysAreListed) {
  EXPECT_THAT(Errors(GitHubConnection("    repos: [acme/app]\n"
                                      "    repo: acme/app\n")),
              ElementsAre(AllOf(StartsWith("github.yaml:7:5: unknown key \"repo\" in connection "
                                           "(type github)"),
                                HasSubstr("repos"), HasSubstr("labels"), HasSubstr("project"))));
  EXPECT_THAT(Errors(GitHubConnection("    repos: [acme/app]\n"
                                      "    project: {owner: acme, number: 7, view: 2}\n")),
              ElementsAre(HasSubstr("\"view\"")));
}

TEST(GitHubConfigTest, ReposAreRequiredAndCheckedOneByOne) {
  EXPECT_THAT(Errors(GitHubConnection("")), ElementsAre(HasSubstr("\"repos\"")));
  EXPECT_THAT(Errors(GitHubConnection("    repos: acme/app\n")),
              ElementsAre(StartsWith("github.yaml:6:12: ")));  // a list, not a string
  EXPECT_THAT(Errors(GitHubConnection("    repos: [acme/app, acme, Acme/App]\n")),
              ElementsAre(AllOf(StartsWith("github.yaml:6:"), HasSubstr("\"acme\" is not owner/name")),
                          AllOf(StartsWith("github.yaml:6:"), HasSubstr("listed twice"))));
}

TEST(GitHubConfigTest, AQueryIsRefusedAtItsLine) {
  EXPECT_THAT(Errors(GitHubConnection("    repos: [acme/app]\n"
                                      "    query: is:open label:bug\n")),
              ElementsAre(AllOf(StartsWith("github.yaml:7:12: "),
                                HasSubstr("github selects issues by repos, labels and state"))));
}

TEST(GitHubConfigTest, StateAndProjectAreChecked) {
  EXPECT_THAT(Errors(GitHubConnection("    repos: [acme/app]\n"
                                      "    state: opened\n")),
              ElementsAre(StartsWith("github.yaml:7:12: \"state\" must be one of all, open, "
                                     "closed (not \"opened\")")));
  EXPECT_THAT(Errors(GitHubConnection("    repos: [acme/app]\n"
                                      "    project: {owner: acme}\n")),
              ElementsAre(HasSubstr("\"number\"")));
  auto good = ParseConfig(GitHubConnection("    repos: [acme/app]\n"
                                           "    labels: [roadmap, \"team: core\"]\n"
                                           "    state: closed\n"
                                           "    project: {owner: acme, number: 7}\n"),
                          "github.yaml");
  EXPECT_TRUE(good) << testing::PrintToString(Messages(good.error()));
}

}  // namespace
}  // namespace boardsync

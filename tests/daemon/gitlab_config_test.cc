// The config reader with `type: gitlab` connections: the shipped example
// (connectors/gitlab/example.yaml) loads, its keys reach the connector (the
// API it calls, how it signs, what its lists select), and the keys GitLab
// refuses are reported at their file:line:column with the rest of the
// config's problems.
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

// The problems ParseConfig() finds in `text`, read as "gitlab.yaml".
std::vector<std::string> Errors(const std::string& text) {
  auto config = ParseConfig(text, "gitlab.yaml");
  if (config) {
    ADD_FAILURE() << "expected errors in:\n" << text;
    return {};
  }
  return Messages(config.error());
}

// A GitLab connection with `lines` added (each indented four spaces).
std::string GitLabConnection(const std::string& lines) {
  return "connections:\n"
         "  - name: g\n"
         "    type: gitlab\n"
         "    base_url: https://gitlab.com\n"
         "    token_env: G_TOKEN\n"
         "    mapping: m.yaml\n" +
         lines;
}

// Answers like a GitLab that knows the token: /user, the project or group,
// and empty issue lists; records every request.
class RecordingHttp : public HttpClient {
 public:
  struct Sent {
    std::string url;
    HttpAuth::Scheme scheme;
  };

  explicit RecordingHttp(int status = 200) : status_(status) {}

  Result<HttpResponse> Send(const HttpRequest& request) override {
    sent.push_back({request.url, request.auth.scheme});
    HttpResponse response;
    response.status = status_;
    response.url = request.url.substr(0, request.url.find('?'));
    response.headers.emplace_back("content-type", "application/json");
    if (status_ != 200) {
      response.body = R"({"message":"401 Unauthorized"})";
    } else if (request.url.find("/issues") != std::string::npos) {
      response.body = "[]";
    } else if (request.url.ends_with("/user")) {
      response.body = R"({"id": 24, "username": "sync.bot", "name": "Sync Bot"})";
    } else {
      response.body = R"({"id": 101, "path_with_namespace": "acme/roadmap"})";
    }
    return response;
  }

  std::vector<Sent> sent;

 private:
  int status_;
};

std::unique_ptr<TrackerSource> Make(const ConnectionConfig& connection, HttpClient& http) {
  auto tracker = MakeTracker(connection, Secret("gitlab-config-test-token"), http);
  EXPECT_TRUE(tracker) << (tracker ? "" : tracker.error().message);
  return tracker ? std::move(*tracker) : nullptr;
}

// The requests of one pull by update time with `connection`.
std::vector<RecordingHttp::Sent> PullRequests(const ConnectionConfig& connection) {
  RecordingHttp http;
  auto tracker = Make(connection, http);
  if (!tracker) {
    return {};
  }
  PullRequest request;
  request.fields = {"title"};
  auto pulled =
      tracker->Pull(request, IssueSink([](std::vector<Issue>) -> Result<void> { return {}; }));
  EXPECT_TRUE(pulled) << (pulled ? "" : pulled.error().message);
  return http.sent;
}

std::filesystem::path ExampleConfig() { return SourceDir() / "connectors/gitlab/example.yaml"; }

TEST(GitLabConfigTest, TheExampleConfigLoads) {
  auto config = LoadConfig(ExampleConfig());
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  ASSERT_EQ(config->connections.size(), 2u);
  const ConnectionConfig& com = config->connections[0];
  const ConnectionConfig& self = config->connections[1];
  EXPECT_EQ(com.name, "acme-roadmap");
  EXPECT_EQ(com.type, "gitlab");
  EXPECT_EQ(com.base_url, "https://gitlab.com");
  EXPECT_EQ(self.name, "platform");
  EXPECT_EQ(self.base_url, "https://git.acme.example/gitlab");
  for (const ConnectionConfig& c : config->connections) {
    EXPECT_EQ(c.board, "roadmap") << c.name;
    EXPECT_NE(c.tracker_options, nullptr) << c.name;
    EXPECT_EQ(c.token.kind, TokenSource::Kind::kFile) << c.name;
    EXPECT_EQ(c.mapping, SourceDir() / "connectors/gitlab/example-mapping.yaml") << c.name;
    EXPECT_TRUE(std::filesystem::is_regular_file(c.mapping)) << c.name;
  }
}

TEST(GitLabConfigTest, TheExampleConnectionsAskTheirApiWithABearerToken) {
  auto config = LoadConfig(ExampleConfig());
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  ASSERT_EQ(config->connections.size(), 2u);

  // test-connection: the user first; a refused token stops there.
  RecordingHttp refused(401);
  auto tracker = Make(config->connections[0], refused);
  ASSERT_NE(tracker, nullptr);
  auto me = tracker->WhoAmI();
  ASSERT_FALSE(me);
  EXPECT_EQ(me.error().code, ErrorCode::kAuth);
  ASSERT_EQ(refused.sent.size(), 1u);
  EXPECT_EQ(refused.sent[0].url, "https://gitlab.com/api/v4/user");
  EXPECT_EQ(refused.sent[0].scheme, HttpAuth::Scheme::kBearer);

  // A sync: the user, the project, then its issues by numeric id, with the
  // example's labels and state.
  const auto com = PullRequests(config->connections[0]);
  ASSERT_EQ(com.size(), 3u);
  EXPECT_EQ(com[1].url, "https://gitlab.com/api/v4/projects/acme%2Froadmap");
  EXPECT_THAT(com[2].url, StartsWith("https://gitlab.com/api/v4/projects/101/issues?"));
  EXPECT_THAT(com[2].url, HasSubstr("&state=opened&labels=roadmap&"));
  for (const auto& sent : com) {
    EXPECT_EQ(sent.scheme, HttpAuth::Scheme::kBearer);
  }
  // The self-managed group, under its relative URL root.
  const auto group = PullRequests(config->connections[1]);
  ASSERT_EQ(group.size(), 3u);
  EXPECT_EQ(group[0].url, "https://git.acme.example/gitlab/api/v4/user");
  EXPECT_EQ(group[1].url,
            "https://git.acme.example/gitlab/api/v4/groups/acme%2Fplatform?with_projects=false");
  EXPECT_THAT(group[2].url,
              StartsWith("https://git.acme.example/gitlab/api/v4/groups/101/issues?scope=all"
                         "&state=all&order_by=updated_at&sort=asc"));
}

TEST(GitLabConfigTest, ABaseUrlPastedWithTheApiPathIsItsRoot) {
  auto config = ParseConfig(
      "connections:\n"
      "  - name: g\n"
      "    type: gitlab\n"
      "    base_url: https://git.acme.example/gitlab/api/v4/\n"
      "    token_env: G_TOKEN\n"
      "    mapping: m.yaml\n"
      "    project: acme/roadmap\n"
      "    state: open\n",
      "gitlab.yaml");
  ASSERT_TRUE(config) << testing::PrintToString(Messages(config.error()));
  const auto sent = PullRequests(config->connections[0]);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].url, "https://git.acme.example/gitlab/api/v4/user");
  // GitHub's `open` is GitLab's `opened`.
  EXPECT_THAT(sent[2].url, HasSubstr("&state=opened&"));
}

TEST(GitLabConfigTest, UnknownKeysAreRefusedAtTheirPlaceAndTheGitLabKeysAreListed) {
  EXPECT_THAT(Errors(GitLabConnection("    project: acme/roadmap\n    repos: [acme/roadmap]\n")),
              ElementsAre(AllOf(StartsWith("gitlab.yaml:8:5: unknown key \"repos\" in connection "
                                           "(type gitlab)"),
                                HasSubstr("project"), HasSubstr("group"), HasSubstr("labels"),
                                HasSubstr("state"))));
}

TEST(GitLabConfigTest, ExactlyOneOfProjectAndGroup) {
  EXPECT_THAT(Errors(GitLabConnection("    project: acme/roadmap\n    group: acme\n")),
              ElementsAre(AllOf(StartsWith("gitlab.yaml:8:12: "),
                                HasSubstr("either \"project\" or \"group\", not both"))));
  // Neither: at the connection, naming both.
  EXPECT_THAT(Errors(GitLabConnection("")),
              ElementsAre(AllOf(StartsWith("gitlab.yaml:2:5: "), HasSubstr("\"project\""),
                                HasSubstr("\"group\""))));
}

TEST(GitLabConfigTest, PathsThatAreNoFullPathAreRefusedAtTheirLine) {
  EXPECT_THAT(
      Errors(GitLabConnection("    project: roadmap\n")),
      ElementsAre(AllOf(StartsWith("gitlab.yaml:7:14: "), HasSubstr("use \"group\" instead"))));
  EXPECT_THAT(Errors(GitLabConnection("    project: https://gitlab.com/acme/roadmap\n")),
              ElementsAre(AllOf(StartsWith("gitlab.yaml:7:14: "), HasSubstr("not a URL"))));
  EXPECT_THAT(
      Errors(GitLabConnection("    group: Acme Corp\n")),
      ElementsAre(AllOf(StartsWith("gitlab.yaml:7:12: "), HasSubstr("not its display name"))));
}

TEST(GitLabConfigTest, AQueryIsRefusedAtItsLine) {
  EXPECT_THAT(Errors(GitLabConnection("    project: acme/roadmap\n    query: state:opened\n")),
              ElementsAre(AllOf(StartsWith("gitlab.yaml:8:12: "),
                                HasSubstr("gitlab selects issues by project or group, labels and "
                                          "state"))));
}

TEST(GitLabConfigTest, StateAndLabelsAreChecked) {
  EXPECT_THAT(Errors(GitLabConnection("    project: acme/roadmap\n    state: done\n")),
              ElementsAre(StartsWith("gitlab.yaml:8:12: \"state\" must be one of all, opened, "
                                     "closed, open (not \"done\")")));
  EXPECT_THAT(Errors(GitLabConnection("    project: acme/roadmap\n    labels: bug\n")),
              ElementsAre(AllOf(StartsWith("gitlab.yaml:8:13: "), HasSubstr("a list of strings"))));
  EXPECT_THAT(Errors(GitLabConnection("    project: acme/roadmap\n    labels: [\"a,b\"]\n")),
              ElementsAre(AllOf(StartsWith("gitlab.yaml:8:13: "), HasSubstr("comma"))));
}

TEST(GitLabConfigTest, ABaseUrlThatIsNoRootIsRefusedAtItsLine) {
  EXPECT_THAT(Errors("connections:\n"
                     "  - name: g\n"
                     "    type: gitlab\n"
                     "    base_url: https://gitlab.com/acme/roadmap\n"
                     "    token_env: G_TOKEN\n"
                     "    mapping: m.yaml\n"
                     "    project: acme/roadmap\n"),
              ElementsAre(AllOf(StartsWith("gitlab.yaml:4:15: "), HasSubstr("`project`"))));
  // base_url is required: a self-managed token must not go to gitlab.com by default.
  EXPECT_THAT(Errors("connections:\n"
                     "  - name: g\n"
                     "    type: gitlab\n"
                     "    token_env: G_TOKEN\n"
                     "    mapping: m.yaml\n"
                     "    project: acme/roadmap\n"),
              Contains(HasSubstr("base_url")));
}

TEST(GitLabConfigTest, EveryProblemOfEveryConnectionIsReportedAtOnce) {
  const std::vector<std::string> m = Errors(R"(connections:
  - name: a
    type: gitlab
    base_url: https://gitlab.com
    token_env: A
    mapping: m.yaml
    project: acme/roadmap
    group: acme
    state: any
  - name: b
    type: gitlab
    base_url: https://gitlab.example.com
    token_env: B
    mapping: m.yaml
    group: acme/
    query: x
    colour: blue
)");
  EXPECT_THAT(m, Contains(StartsWith("gitlab.yaml:8:12: ")));   // project and group
  EXPECT_THAT(m, Contains(StartsWith("gitlab.yaml:9:12: ")));   // state
  EXPECT_THAT(m, Contains(StartsWith("gitlab.yaml:15:12: ")));  // group path
  EXPECT_THAT(m, Contains(StartsWith("gitlab.yaml:16:12: ")));  // query
  EXPECT_THAT(m, Contains(StartsWith("gitlab.yaml:17:5: unknown key \"colour\"")));
  EXPECT_EQ(m.size(), 5u) << testing::PrintToString(m);
}

}  // namespace
}  // namespace boardsync

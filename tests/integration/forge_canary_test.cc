// The canary rules for GitHub and GitLab connections, with the real
// boardsync binary: the token never shows in any output, log line, state or
// board file, whether the sync works, the token is refused, or the tracker
// echoes the Authorization header back in an error.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/integration/hostile_support.h"
#include "tests/support/github/github_server.h"
#include "tests/support/gitlab/gitlab_server.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

// Shaped like real tokens, so that nothing treats them differently.
constexpr std::string_view kGitHubCanary = "github_pat_11CANARY0q9XyZ1aB2cD3_CanaryCanaryCanaryCanary0123456789abcdefCanaryCanaryXyZ";
constexpr std::string_view kGitLabCanary = "glpat-CanaryCanary0Q7wZ";

enum class Forge { kGitHub, kGitLab };

class ForgeCanaryTest : public testing::TestWithParam<Forge> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(BinaryDir() / "boardsync"));
    const bool github = GetParam() == Forge::kGitHub;
    std::string connection;
    if (github) {
      github_ = std::make_unique<GitHubServer>(GitHubServerOptions{
          .tokens = {GitHubToken{.token = std::string(kGitHubCanary),
                                 .kind = GitHubTokenKind::kFineGrained}}});
      ASSERT_TRUE(github_->AddRepo(GitHubRepo{.full_name = "acme/web", .is_private = true}));
      for (int i = 0; i < 12; ++i) {
        GitHubIssue issue;
        issue.repo = "acme/web";
        issue.title = "Issue " + std::to_string(i);
        issue.pull_request = i % 3 == 0;
        ASSERT_TRUE(issue.pull_request ? github_->AddPullRequest(issue) : github_->AddIssue(issue));
      }
      connection = "    type: github\n    base_url: " + github_->base_url() +
                   "\n    repos: [acme/web]\n";
    } else {
      gitlab_ = std::make_unique<GitLabServer>(GitLabServerOptions{
          .tokens = {GitLabToken{.value = std::string(kGitLabCanary)}}});
      for (int i = 0; i < 12; ++i) {
        GitLabIssue issue;
        issue.title = "Issue " + std::to_string(i);
        ASSERT_TRUE(gitlab_->AddIssue(issue));
      }
      connection = "    type: gitlab\n    base_url: " + gitlab_->base_url() +
                   "\n    project: acme/roadmap\n";
    }
    token_file_ =
        dir_.Write("forge.token", std::string(github ? kGitHubCanary : kGitLabCanary) + "\n");
    ::chmod(token_file_.c_str(), 0600);
    dir_.Write("forge.yaml", "fields:\n  title: title\n  state: state\n  who: assignees\n");
    dir_.Write("boardsync.yaml",
               "state_dir: state\n"
               "connections:\n"
               "  - name: canary\n" +
                   connection +
                   "    token_file: forge.token\n"
                   "    mapping: forge.yaml\n"
                   "    board: roadmap\n"
                   "    page_size: 5\n"
                   "    timeout: 5s\n");
    std::filesystem::create_directories(dir_.path() / "logs");
  }

  hostile::BinaryRun Run(std::vector<std::string> args) {
    args.insert(args.end(), {"--config", (dir_.path() / "boardsync.yaml").string(),
                             "--log-level", "debug"});
    const auto log = dir_.path() / "logs" / (std::to_string(runs_.size()) + ".log");
    hostile::BinaryRun run = hostile::RunBinary(BinaryDir() / "boardsync", std::move(args), {}, log);
    EXPECT_TRUE(run.code.has_value()) << hostile::Describe(run);
    runs_.push_back(run);
    return run;
  }

  std::vector<std::string> Needles() const {
    const std::string_view token = GetParam() == Forge::kGitHub ? kGitHubCanary : kGitLabCanary;
    return {std::string(token), std::string(token.substr(6, 14))};
  }

  // Makes the tracker answer its next request with an error that echoes the
  // Authorization header it was sent.
  void EchoAuthorization() {
    const std::string sent =
        "Bearer " + std::string(GetParam() == Forge::kGitHub ? kGitHubCanary : kGitLabCanary);
    const std::string body = R"({"message":"Bad header Authorization: )" + sent + R"("})";
    if (github_) {
      github_->InjectFault(GitHubServer::Fault::Status(400, body));
    } else {
      gitlab_->InjectFault(GitLabServer::Fault::Status(400, body));
    }
  }

  void RefuseTheToken() {
    if (github_) {
      github_->RevokeToken(kGitHubCanary);
    } else {
      gitlab_->RevokeToken(kGitLabCanary);
    }
  }

  void ExpectNoCanaryAnywhere() {
    std::vector<hostile::Evidence> evidence = hostile::FilesUnder(dir_.path(), {token_file_});
    for (const hostile::BinaryRun& run : runs_) {
      evidence.push_back({hostile::Describe(run), run.output});
    }
    // A control: the same search finds the token in its own file.
    EXPECT_FALSE(hostile::FindNeedles(hostile::FilesUnder(dir_.path(), {}), Needles()).empty());
    const std::vector<std::string> hits = hostile::FindNeedles(evidence, Needles());
    EXPECT_TRUE(hits.empty()) << hits.size() << " token leak(s):\n"
                              << testing::PrintToString(hits);
  }

  std::unique_ptr<GitHubServer> github_;
  std::unique_ptr<GitLabServer> gitlab_;
  TempDir dir_;
  std::filesystem::path token_file_;
  std::vector<hostile::BinaryRun> runs_;
};

TEST_P(ForgeCanaryTest, NoCommandOrErrorPathShowsTheToken) {
  EXPECT_EQ(Run({"sync"}).code, 0);
  EXPECT_EQ(Run({"sync"}).code, 0);  // incremental: the session is saved again
  EXPECT_EQ(Run({"test-connection"}).code, 0);
  EXPECT_EQ(Run({"preview", "--connection", "canary"}).code, 0);
  EXPECT_EQ(Run({"status"}).code, 0);
  EXPECT_EQ(Run({"sync", "--full"}).code, 0);

  EchoAuthorization();
  EXPECT_NE(Run({"sync", "--full"}).code, 0);

  RefuseTheToken();
  hostile::BinaryRun refused = Run({"sync", "--full"});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.output.find("HTTP 401"), std::string::npos) << refused.output;
  EXPECT_NE(Run({"test-connection"}).code, 0);

  ExpectNoCanaryAnywhere();
}

INSTANTIATE_TEST_SUITE_P(Forges, ForgeCanaryTest, testing::Values(Forge::kGitHub, Forge::kGitLab),
                         [](const testing::TestParamInfo<Forge>& info) {
                           return info.param == Forge::kGitHub ? "GitHub" : "GitLab";
                         });

}  // namespace
}  // namespace boardsync

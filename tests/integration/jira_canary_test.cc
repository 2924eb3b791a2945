// The canary rules for Jira connections, with the real boardsync binary:
// a Cloud API token (sent as Basic base64(email:token)) and a Data Center
// personal access token never show in any output, log line, state or board
// file, whether the sync works, the token is refused, or Jira echoes the
// Authorization header back in an error.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include "tests/integration/hostile_support.h"
#include "tests/support/jira/jira_server.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

constexpr std::string_view kCloudCanary = "ATATT3xCanaryCloudToken0123456789abcdef=FEED";
constexpr std::string_view kDataCenterCanary = "NTk2MzQ4NzEyMDkxOkCanaryDataCenterPat0123";
constexpr std::string_view kEmail = "canary.bot@example.com";
// base64("canary.bot@example.com:ATATT3xCanaryCloudToken0123456789abcdef=FEED"), and a piece
// of it that stands for the token alone whatever the alignment.
constexpr std::string_view kCloudBasic =
    "Y2FuYXJ5LmJvdEBleGFtcGxlLmNvbTpBVEFUVDN4Q2FuYXJ5Q2xvdWRUb2tlbjAxMjM0NTY3ODlhYmNkZWY9RkVFRA==";

class JiraCanaryTest : public testing::TestWithParam<JiraFlavor> {
 protected:
  JiraCanaryTest()
      : server_(JiraServerOptions{.flavor = GetParam(),
                                  .path_prefix = GetParam() == JiraFlavor::kCloud ? "" : "/jira",
                                  .email = std::string(kEmail),
                                  .api_token = std::string(kCloudCanary),
                                  .personal_access_token = std::string(kDataCenterCanary)}) {}

  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(BinaryDir() / "boardsync"));
    server_.GenerateIssues(30, 5);
    const bool cloud = GetParam() == JiraFlavor::kCloud;
    token_file_ = dir_.Write("jira.token",
                             std::string(cloud ? kCloudCanary : kDataCenterCanary) + "\n");
    ::chmod(token_file_.c_str(), 0600);
    dir_.Write("jira.yaml", "fields:\n  title: summary\n  state: status\n  who: Assignee\n");
    dir_.Write("boardsync.yaml",
               "state_dir: state\n"
               "connections:\n"
               "  - name: canary\n"
               "    type: jira\n"
               "    base_url: " + server_.base_url() + "\n" +
                   (cloud ? "    email: " + std::string(kEmail) + "\n" : "") +
                   "    token_file: jira.token\n"
                   "    mapping: jira.yaml\n"
                   "    board: roadmap\n"
                   "    page_size: 10\n"
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
    return {std::string(kCloudCanary), std::string(kCloudCanary.substr(8, 20)),
            std::string(kDataCenterCanary), std::string(kDataCenterCanary.substr(14, 20)),
            std::string(kCloudBasic), std::string(kCloudBasic.substr(40, 30))};
  }

  void ExpectNoCanaryAnywhere() {
    std::vector<hostile::Evidence> evidence = hostile::FilesUnder(dir_.path(), {token_file_});
    for (const hostile::BinaryRun& run : runs_) {
      evidence.push_back({hostile::Describe(run), run.output});
    }
    // A control: the same search finds the token in its own file.
    EXPECT_FALSE(
        hostile::FindNeedles(hostile::FilesUnder(dir_.path(), {}), Needles()).empty());
    const std::vector<std::string> hits = hostile::FindNeedles(evidence, Needles());
    EXPECT_TRUE(hits.empty()) << hits.size() << " token leak(s):\n"
                              << testing::PrintToString(hits);
  }

  JiraServer server_;
  TempDir dir_;
  std::filesystem::path token_file_;
  std::vector<hostile::BinaryRun> runs_;
};

TEST_P(JiraCanaryTest, NoCommandOrErrorPathShowsTheToken) {
  EXPECT_EQ(Run({"sync"}).code, 0);
  EXPECT_EQ(Run({"test-connection"}).code, 0);
  EXPECT_EQ(Run({"preview", "--connection", "canary"}).code, 0);
  EXPECT_EQ(Run({"status"}).code, 0);
  EXPECT_EQ(Run({"sync", "--full"}).code, 0);

  // Jira echoes the Authorization header it was sent in an error.
  const std::string sent = server_.AuthorizationHeader();
  server_.InjectFault(JiraServer::Fault::Status(
      400, R"({"errorMessages":["Bad header Authorization: )" + sent + R"("],"errors":{}})"));
  hostile::BinaryRun echoed = Run({"sync", "--full"});
  EXPECT_NE(echoed.code, 0);

  // The token is refused.
  server_.SetToken("SomeOtherToken0000000000");
  hostile::BinaryRun refused = Run({"sync"});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.output.find("HTTP 401"), std::string::npos) << refused.output;
  EXPECT_NE(Run({"test-connection"}).code, 0);

  ExpectNoCanaryAnywhere();
}

INSTANTIATE_TEST_SUITE_P(Flavors, JiraCanaryTest,
                         testing::Values(JiraFlavor::kCloud, JiraFlavor::kDataCenter),
                         [](const testing::TestParamInfo<JiraFlavor>& info) {
                           return info.param == JiraFlavor::kCloud ? "Cloud" : "DataCenter";
                         });

}  // namespace
}  // namespace boardsync

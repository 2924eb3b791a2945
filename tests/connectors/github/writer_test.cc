// GitHubWriter against the sample GitHub (tests/support/github/): values
// land exactly in the Projects v2 board (read back from the server's state
// and through the pull's own queries), an issue off the board is added
// first, clears, creating fields with and without write access, type
// mismatches, no `project`, a deleted issue among good ones, the rate limits
// without a request storm, a refused token, a canary token never shown, and
// what a sync back of N issues costs in requests.

#include "connectors/github/writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "connectors/github/github_source.h"
#include "connectors/github/github_type.h"
#include "connectors/github/repos.h"
#include "connectors/http/cpprest_http_client.h"
#include "core/time.h"
#include "tests/support/github/github_server.h"

namespace boardsync {
namespace {

using testing::AllOf;
using testing::HasSubstr;
using testing::Not;

constexpr std::int64_t kT0 = 1714557600;  // 2024-05-01T10:00:00Z, seconds
// A classic token that may write projects.
constexpr std::string_view kWriter = "ghp_Wr1teProjectsWr1teProjectsWr1tePr0j";

// acme/app with `issues` issues (numbers 1..), the first `on_board` of them
// items of project 7 of acme, whose fields are Board score and Board rank
// (NUMBER), Board note (TEXT), Priority (SINGLE_SELECT) and Due (DATE).
struct Fixture {
  explicit Fixture(int issues = 3, int on_board = 2, bool frozen = true)
      : server([frozen] {
          GitHubServerOptions options;
          if (frozen) {
            options.now = kT0;
          }
          return options;
        }()) {
    server.AddToken(
        GitHubToken{.token = std::string(kWriter), .scopes = {"repo", "read:org", "project"}});
    for (int i = 0; i < issues; ++i) {
      GitHubIssue issue;
      issue.repo = "acme/app";
      issue.title = "Issue " + std::to_string(i + 1);
      auto added = server.AddIssue(issue);
      EXPECT_TRUE(added) << (added ? "" : added.error().message);
      refs.push_back(IssueRef{std::to_string(added->id), GitHubKey("acme/app", added->number)});
      ids.push_back(added->id);
    }
    auto project = server.AddProject(
        "acme", 7, "Roadmap",
        {{.name = "Board score", .type = GitHubFieldType::kNumber},
         {.name = "Board rank", .type = GitHubFieldType::kNumber},
         {.name = "Board note", .type = GitHubFieldType::kText},
         {.name = "Priority", .type = GitHubFieldType::kSingleSelect, .options = {"P0", "P1"}},
         {.name = "Due", .type = GitHubFieldType::kDate}});
    EXPECT_TRUE(project) << (project ? "" : project.error().message);
    for (int i = 0; i < on_board; ++i) {
      EXPECT_TRUE(server.AddProjectItem("acme", 7, ids[i]));
    }
  }

  GitHubWriterOptions Options(std::string_view token = kWriter) {
    GitHubWriterOptions options;
    options.connection_name = "acme-gh";
    options.api = *GitHubApiRoot(server.base_url());
    options.project = GitHubProject{"acme", 7};
    options.token = Secret(std::string(token));
    options.timeout = std::chrono::milliseconds(5'000);
    options.retry_backoff = std::chrono::milliseconds(10);
    options.mutation_spacing = std::chrono::milliseconds(0);
    return options;
  }

  std::optional<GitHubFieldValue> Get(int i, std::string_view field) const {
    return server.GetFieldValue("acme", 7, ids[i], field);
  }

  GitHubServer server;
  CpprestHttpClient http;
  std::vector<IssueRef> refs;
  std::vector<std::int64_t> ids;
};

const std::vector<WriteTarget> kTargets = {{"Board score", FieldType::kFloat},
                                           {"Board rank", FieldType::kInteger},
                                           {"Board note", FieldType::kString}};

std::vector<std::string> Problems(const std::vector<TargetCheck>& checks) {
  std::vector<std::string> problems;
  for (const TargetCheck& check : checks) {
    problems.push_back(check.problem);
  }
  return problems;
}

// Prepares `writer` for `targets` and expects no problem.
void PrepareClean(GitHubWriter& writer, const std::vector<IssueRef>& issues,
                  const std::vector<WriteTarget>& targets = kTargets, bool create = false) {
  auto checks = writer.Prepare(targets, create, issues, {});
  ASSERT_TRUE(checks) << checks.error().message;
  for (const TargetCheck& check : *checks) {
    EXPECT_EQ(check.problem, "") << check.name;
  }
}

void ExpectWritten(GitHubWriter& writer, const IssueRef& issue,
                   const std::vector<FieldValue>& values) {
  auto written = writer.Write(issue, values, {});
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_FALSE(written->refused) << written->message;
  EXPECT_EQ(written->updated_ms, 0);
}

TEST(GitHubWriterTest, ValuesLandExactlyAndThePullReadsThemBack) {
  Fixture f;
  GitHubWriter writer(f.Options(), f.http);
  PrepareClean(writer, f.refs);
  const std::int64_t updated_before = f.server.GetIssue(f.ids[0])->updated_at;
  f.server.SetNow(kT0 + 600);
  ExpectWritten(writer, f.refs[0],
                {{"Board score", Value(0.1 + 0.2)},
                 {"Board rank", Value(std::int64_t{7})},
                 {"Board note", Value("top \"3\" — naïve\nline 2")}});
  ExpectWritten(writer, f.refs[1],
                {{"Board score", Value(-1234567.890625)}, {"Board rank", Value(std::int64_t{0})}});

  EXPECT_EQ(f.Get(0, "Board score")->number, 0.1 + 0.2);  // every bit of the double
  EXPECT_EQ(f.Get(0, "Board rank")->number, 7.0);
  EXPECT_EQ(f.Get(0, "Board note")->text, "top \"3\" — naïve\nline 2");
  EXPECT_EQ(f.Get(1, "Board score")->number, -1234567.890625);
  EXPECT_EQ(f.Get(1, "Board rank")->number, 0.0);
  EXPECT_FALSE(f.Get(1, "Board note"));
  // Project edits leave the issue's updated_at as it was (UNCONFIRMED of
  // GitHub; the sample does as the README assumes).
  EXPECT_EQ(f.server.GetIssue(f.ids[0])->updated_at, updated_before);

  // The pull's own queries read the same values.
  GitHubOptions pull;
  pull.connection_name = "acme-gh";
  pull.api = *GitHubApiRoot(f.server.base_url());
  pull.repos = {"acme/app"};
  pull.project = GitHubProject{"acme", 7};
  pull.token = Secret(std::string(kWriter));
  GitHubSource source(std::move(pull), f.http);
  PullRequest request;
  request.fields = {"Board score", "Board rank", "Board note"};
  std::map<std::string, Value::Object> by_id;
  auto pulled = source.Pull(request, [&](IssuePage page) -> Result<void> {
    for (Issue& issue : page.issues) {
      by_id[issue.id] = issue.fields;
    }
    return {};
  });
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(by_id[f.refs[0].id].at("Board score"), Value(0.1 + 0.2));
  EXPECT_EQ(by_id[f.refs[0].id].at("Board rank").AsNumber(), 7.0);
  EXPECT_EQ(by_id[f.refs[0].id].at("Board note"), Value("top \"3\" — naïve\nline 2"));
  EXPECT_EQ(by_id[f.refs[1].id].at("Board note"), Value());
}

TEST(GitHubWriterTest, AnIssueOffTheBoardIsAddedThenWritten) {
  Fixture f(3, 0);
  GitHubWriter writer(f.Options(), f.http);
  // Prepare() without the issues: Write() looks the issue up itself.
  PrepareClean(writer, {});
  f.server.ClearRequests();
  ExpectWritten(writer, f.refs[2], {{"Board score", Value(2.5)}});
  EXPECT_TRUE(f.server.HasProjectItem("acme", 7, f.ids[2]));
  EXPECT_EQ(f.Get(2, "Board score")->number, 2.5);
  // The lookup, the add, the write.
  EXPECT_EQ(f.server.graphql_requests(), 3u);
  EXPECT_EQ(f.server.MutationCount("addProjectV2ItemById"), 1u);

  // On the board now: one request.
  f.server.ClearRequests();
  ExpectWritten(writer, f.refs[2], {{"Board score", Value(3.5)}});
  EXPECT_EQ(f.server.graphql_requests(), 1u);
  EXPECT_EQ(f.server.MutationCount("addProjectV2ItemById"), 0u);
  EXPECT_EQ(f.Get(2, "Board score")->number, 3.5);
}

TEST(GitHubWriterTest, ARemovedScoreClearsTheFieldAndAClearNeverAddsAnIssue) {
  Fixture f(3, 1);
  ASSERT_TRUE(
      f.server.SetFieldValue("acme", 7, f.ids[0], "Board score", GitHubFieldValue::Number(9)));
  ASSERT_TRUE(
      f.server.SetFieldValue("acme", 7, f.ids[0], "Board note", GitHubFieldValue::Text("old")));
  GitHubWriter writer(f.Options(), f.http);
  PrepareClean(writer, f.refs);
  ExpectWritten(
      writer, f.refs[0],
      {{"Board score", Value()}, {"Board rank", Value(std::int64_t{4})}, {"Board note", Value()}});
  EXPECT_FALSE(f.Get(0, "Board score"));
  EXPECT_FALSE(f.Get(0, "Board note"));
  EXPECT_EQ(f.Get(0, "Board rank")->number, 4.0);
  EXPECT_EQ(f.server.MutationCount("clearProjectV2ItemFieldValue"), 2u);

  // Off the board, there is nothing to clear: no request at all.
  f.server.ClearRequests();
  ExpectWritten(writer, f.refs[1], {{"Board score", Value()}});
  EXPECT_EQ(f.server.graphql_requests(), 0u);
  EXPECT_FALSE(f.server.HasProjectItem("acme", 7, f.ids[1]));
}

TEST(GitHubWriterTest, IntegerTargetsGetWholeNumbersAndNamesMatchWithoutCase) {
  Fixture f(1, 1);
  GitHubWriter writer(f.Options(), f.http);
  // The mapping spells the fields in another case: GitHub's are found.
  PrepareClean(writer, f.refs,
               {{"board RANK", FieldType::kInteger}, {"BOARD NOTE", FieldType::kString}});
  ExpectWritten(writer, f.refs[0], {{"board RANK", Value(2.6)}, {"BOARD NOTE", Value("12.50")}});
  EXPECT_EQ(f.Get(0, "Board rank")->number, 3.0);
  EXPECT_EQ(f.Get(0, "Board note")->text, "12.50");
  EXPECT_FALSE(f.server.ProjectFieldType("acme", 7, "board RANK"));  // nothing created
}

TEST(GitHubWriterTest, CreateMakesTheMissingFieldsOnceInOneRequest) {
  Fixture f(2, 1);
  const std::vector<WriteTarget> targets = {{"Board score", FieldType::kFloat},
                                            {"Velocity", FieldType::kInteger},
                                            {"Summary", FieldType::kString}};
  {
    GitHubWriter writer(f.Options(), f.http);
    f.server.ClearRequests();
    auto checks = writer.Prepare(targets, /*create=*/true, f.refs, {});
    ASSERT_TRUE(checks) << checks.error().message;
    EXPECT_THAT(Problems(*checks), testing::Each(""));
    EXPECT_FALSE((*checks)[0].created);
    EXPECT_TRUE((*checks)[1].created);
    EXPECT_TRUE((*checks)[2].created);
    // The project, one request creating both, one lookup.
    EXPECT_EQ(f.server.graphql_requests(), 3u);
    EXPECT_EQ(f.server.MutationCount("createProjectV2Field"), 2u);
    EXPECT_EQ(f.server.ProjectFieldType("acme", 7, "Velocity"), "NUMBER");
    EXPECT_EQ(f.server.ProjectFieldType("acme", 7, "Summary"), "TEXT");
    ExpectWritten(writer, f.refs[1],
                  {{"Velocity", Value(std::int64_t{13})}, {"Summary", Value("fast")}});
    EXPECT_EQ(f.Get(1, "Velocity")->number, 13.0);
    EXPECT_EQ(f.Get(1, "Summary")->text, "fast");
  }
  // The next sync back finds them: nothing is created again.
  GitHubWriter again(f.Options(), f.http);
  auto checks = again.Prepare(targets, /*create=*/true, f.refs, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_THAT(Problems(*checks), testing::Each(""));
  EXPECT_FALSE((*checks)[1].created);
  EXPECT_EQ(f.server.MutationCount("createProjectV2Field"), 2u);
}

TEST(GitHubWriterTest, WithoutWriteAccessNothingIsCreatedOrWrittenAndThePermissionIsNamed) {
  Fixture f(2, 2);
  // A fine-grained token whose user may read the project only.
  constexpr std::string_view kReader =
      "github_pat_11READER0000000000000000_rEaDeRrEaDeRrEaDeRrEaDeRrEaDeRrEaDeRrEaDeRrEaDeRrEaDeR";
  f.server.AddToken(GitHubToken{.token = std::string(kReader),
                                .kind = GitHubTokenKind::kFineGrained,
                                .scopes = {},
                                .project_write = false});
  // A classic token with read:project only (the sample's default one).
  for (std::string_view token : {kReader, kGitHubClassicToken}) {
    SCOPED_TRACE(token.substr(0, 4));
    f.server.ClearRequests();
    GitHubWriter writer(f.Options(token), f.http);
    auto checks = writer.Prepare(std::vector<WriteTarget>{{"Board score", FieldType::kFloat},
                                                          {"Velocity", FieldType::kInteger}},
                                 true, f.refs, {});
    ASSERT_TRUE(checks) << checks.error().message;
    ASSERT_EQ(checks->size(), 2u);
    for (const TargetCheck& check : *checks) {
      EXPECT_FALSE(check.created);
      EXPECT_THAT(check.problem,
                  AllOf(HasSubstr("\"" + check.name + "\""), HasSubstr("project 7 of acme"),
                        HasSubstr("`project` scope")));
      if (token == kReader) {
        EXPECT_THAT(check.problem, HasSubstr("Projects: read and write"));
      }
    }
    EXPECT_THAT((*checks)[1].problem, HasSubstr("cannot be created"));
    // Only the project was read: no mutation was even tried.
    EXPECT_EQ(f.server.graphql_requests(), 1u);
    EXPECT_EQ(f.server.MutationCount("createProjectV2Field"), 0u);
    EXPECT_FALSE(f.server.ProjectFieldType("acme", 7, "Velocity"));
    auto written = writer.Write(f.refs[0], {{{"Board score", Value(1.0)}}}, {});
    ASSERT_TRUE(written);
    EXPECT_TRUE(written->refused);
    EXPECT_FALSE(f.Get(0, "Board score"));
  }
}

TEST(GitHubWriterTest, ATypeMismatchIsAProblemNamingTheFieldAndBothTypes) {
  Fixture f(1, 1);
  GitHubWriter writer(f.Options(), f.http);
  auto checks = writer.Prepare(std::vector<WriteTarget>{{"Priority", FieldType::kFloat},
                                                        {"Title", FieldType::kString},
                                                        {"Board note", FieldType::kInteger},
                                                        {"Board score", FieldType::kFloat}},
                               /*create=*/true, f.refs, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_EQ((*checks)[0].problem,
            "field \"Priority\" of project 7 of acme is a single select field (SINGLE_SELECT); "
            "sync_back writes it as float, which needs a number field (NUMBER)");
  EXPECT_THAT((*checks)[1].problem,
              AllOf(HasSubstr("\"Title\""), HasSubstr("built-in Title field (TITLE)"),
                    HasSubstr("string"), HasSubstr("a text field (TEXT)")));
  EXPECT_THAT((*checks)[2].problem,
              AllOf(HasSubstr("\"Board note\""), HasSubstr("a text field (TEXT)"),
                    HasSubstr("integer"), HasSubstr("NUMBER")));
  EXPECT_EQ((*checks)[3].problem, "");
  // create: true never makes a second field beside one of another type.
  EXPECT_EQ(f.server.MutationCount("createProjectV2Field"), 0u);
  // Nothing is written to a target with a problem; the good one is.
  auto refused = writer.Write(f.refs[0], {{{"Priority", Value(1.0)}}}, {});
  ASSERT_TRUE(refused);
  EXPECT_TRUE(refused->refused);
  EXPECT_EQ(f.server.MutationCount("updateProjectV2ItemFieldValue"), 0u);
  ExpectWritten(writer, f.refs[0], {{"Board score", Value(1.5)}});
  EXPECT_EQ(f.Get(0, "Board score")->number, 1.5);
}

TEST(GitHubWriterTest, AMissingFieldWithoutCreateIsAProblem) {
  Fixture f(1, 1);
  GitHubWriter writer(f.Options(), f.http);
  auto checks = writer.Prepare(std::vector<WriteTarget>{{"Velocity", FieldType::kInteger}}, false,
                               f.refs, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_EQ((*checks)[0].problem,
            "no field \"Velocity\" in project 7 of acme, and sync_back.create is false: add a "
            "number field (NUMBER) named \"Velocity\" to the project, or set create: true");
  EXPECT_FALSE(f.server.ProjectFieldType("acme", 7, "Velocity"));
}

TEST(GitHubWriterTest, WithoutAProjectEveryTargetSaysSoAndNothingIsAsked) {
  Fixture f(1, 1);
  GitHubWriterOptions options = f.Options();
  options.project.reset();
  GitHubWriter writer(std::move(options), f.http);
  f.server.ClearRequests();
  auto checks = writer.Prepare(kTargets, true, f.refs, {});
  ASSERT_TRUE(checks) << checks.error().message;
  ASSERT_EQ(checks->size(), 3u);
  for (const TargetCheck& check : *checks) {
    EXPECT_THAT(check.problem, AllOf(HasSubstr("\"" + check.name + "\""),
                                     HasSubstr("`project: {owner, number}`")));
  }
  auto written = writer.Write(f.refs[0], {{{"Board score", Value(1.0)}}}, {});
  ASSERT_TRUE(written);
  EXPECT_TRUE(written->refused);
  EXPECT_EQ(f.server.total_requests(), 0u);
}

TEST(GitHubWriterTest, AMissingProjectIsAProblemNotAnError) {
  Fixture f(1, 1);
  GitHubWriterOptions options = f.Options();
  options.project = GitHubProject{"acme", 8};
  GitHubWriter writer(std::move(options), f.http);
  auto checks = writer.Prepare(kTargets, false, f.refs, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_THAT((*checks)[0].problem,
              AllOf(HasSubstr("project 8 of acme was not found"), HasSubstr("`project`")));
}

TEST(GitHubWriterTest, ADeletedIssueIsRefusedByKeyAndTheOthersAreWritten) {
  Fixture f(4, 4);
  ASSERT_TRUE(f.server.DeleteIssue(f.ids[1]));
  GitHubWriter writer(f.Options(), f.http);
  PrepareClean(writer, f.refs);
  // Deleted after Prepare() looked it up: GitHub refuses the write itself.
  ASSERT_TRUE(f.server.DeleteIssue(f.ids[3]));
  // A key that names nothing.
  const IssueRef nowhere{"999999", "acme/app#404"};
  std::map<std::string, WriteOutcome> outcomes;
  for (const IssueRef& issue : {f.refs[0], f.refs[1], f.refs[2], f.refs[3], nowhere}) {
    auto written = writer.Write(issue, {{{"Board score", Value(5.0)}}}, {});
    ASSERT_TRUE(written) << issue.key << ": " << written.error().message;
    outcomes[issue.key] = *written;
  }
  EXPECT_FALSE(outcomes[f.refs[0].key].refused);
  EXPECT_FALSE(outcomes[f.refs[2].key].refused);
  EXPECT_EQ(f.Get(0, "Board score")->number, 5.0);
  EXPECT_EQ(f.Get(2, "Board score")->number, 5.0);
  EXPECT_TRUE(outcomes[f.refs[1].key].refused);
  EXPECT_THAT(outcomes[f.refs[1].key].message,
              AllOf(testing::StartsWith("acme/app#2: "), HasSubstr("no such issue"),
                    HasSubstr("Could not resolve to an Issue with the number of 2")));
  EXPECT_TRUE(outcomes[f.refs[3].key].refused);
  EXPECT_THAT(outcomes[f.refs[3].key].message,
              AllOf(testing::StartsWith("acme/app#4: "), HasSubstr("Board score"),
                    HasSubstr("Could not resolve to a node")));
  EXPECT_TRUE(outcomes["acme/app#404"].refused);
  EXPECT_THAT(outcomes["acme/app#404"].message, testing::StartsWith("acme/app#404: "));
}

TEST(GitHubWriterTest, ASpentGraphQlBudgetStopsWithoutARequestStorm) {
  Fixture f(5, 5, /*frozen=*/false);
  const std::int64_t reset = f.server.Now() + 7200;
  // Enough for the project, the lookup and one write.
  f.server.SetGraphQLRateLimit(5000, 3, reset);
  GitHubWriter writer(f.Options(), f.http);
  PrepareClean(writer, f.refs);
  ExpectWritten(writer, f.refs[0], {{"Board score", Value(1.0)}});
  for (int i = 1; i < 5; ++i) {
    auto stopped = writer.Write(f.refs[i], {{{"Board score", Value(1.0)}}}, {});
    ASSERT_FALSE(stopped);
    EXPECT_EQ(stopped.error().code, ErrorCode::kRateLimited);
    EXPECT_TRUE(stopped.error().retriable);
    EXPECT_THAT(stopped.error().message,
                AllOf(HasSubstr("acme-gh"), HasSubstr(FormatIsoUtc(reset * 1000))));
  }
  // The last answer said the budget was spent: nothing more was sent.
  EXPECT_EQ(f.server.graphql_requests(), 3u);

  // Spent before the sync back starts: one request, answered RATE_LIMITED.
  Fixture g(2, 2, /*frozen=*/false);
  g.server.SetGraphQLRateLimit(5000, 0, g.server.Now() + 7200);
  GitHubWriter spent(g.Options(), g.http);
  auto checks = spent.Prepare(kTargets, false, g.refs, {});
  ASSERT_FALSE(checks);
  EXPECT_EQ(checks.error().code, ErrorCode::kRateLimited);
  EXPECT_THAT(checks.error().message, HasSubstr("GraphQL rate limit"));
  EXPECT_EQ(g.server.graphql_requests(), 1u);
}

TEST(GitHubWriterTest, AShortSecondaryLimitIsWaitedForOnce) {
  Fixture f(1, 1);
  GitHubWriter writer(f.Options(), f.http);
  PrepareClean(writer, f.refs);
  f.server.ScriptSecondaryLimit(1, 1);
  f.server.ClearRequests();
  ExpectWritten(writer, f.refs[0], {{"Board score", Value(8.0)}});
  EXPECT_EQ(f.server.graphql_requests(), 2u);
  EXPECT_EQ(f.Get(0, "Board score")->number, 8.0);
}

TEST(GitHubWriterTest, ARefusedTokenIsAnError) {
  Fixture f(2, 2);
  GitHubWriter writer(f.Options(), f.http);
  PrepareClean(writer, f.refs);
  f.server.RevokeToken(kWriter);
  auto written = writer.Write(f.refs[0], {{{"Board score", Value(1.0)}}}, {});
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::kAuth);
  EXPECT_THAT(written.error().message,
              AllOf(HasSubstr("acme-gh"), HasSubstr("HTTP 401"), HasSubstr("Bad credentials")));
  GitHubWriter fresh(f.Options(), f.http);
  auto checks = fresh.Prepare(kTargets, false, f.refs, {});
  ASSERT_FALSE(checks);
  EXPECT_EQ(checks.error().code, ErrorCode::kAuth);
}

TEST(GitHubWriterTest, AWriteForbiddenAtWriteTimeRefusesTheRestWithoutRequests) {
  Fixture f(3, 3);
  GitHubWriter writer(f.Options(), f.http);
  PrepareClean(writer, f.refs);
  // The user loses write access after Prepare().
  f.server.AddToken(GitHubToken{.token = std::string(kWriter),
                                .scopes = {"repo", "read:org", "project"},
                                .project_write = false});
  f.server.ClearRequests();
  for (const IssueRef& issue : f.refs) {
    auto written = writer.Write(issue, {{{"Board score", Value(1.0)}}}, {});
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_TRUE(written->refused);
    EXPECT_THAT(written->message,
                AllOf(testing::StartsWith(issue.key + ": "),
                      HasSubstr("Resource not accessible by personal access token"),
                      HasSubstr("`project` scope")));
  }
  EXPECT_EQ(f.server.graphql_requests(), 1u);
  EXPECT_FALSE(f.Get(0, "Board score"));
}

TEST(GitHubWriterTest, MutationsAreSpacedAsGitHubAsks) {
  Fixture f(2, 2);
  GitHubWriterOptions options = f.Options();
  options.mutation_spacing = std::chrono::milliseconds(300);
  GitHubWriter writer(std::move(options), f.http);
  PrepareClean(writer, f.refs);
  const auto start = std::chrono::steady_clock::now();
  ExpectWritten(writer, f.refs[0], {{"Board score", Value(1.0)}});
  ExpectWritten(writer, f.refs[1], {{"Board score", Value(2.0)}});
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST(GitHubWriterTest, TheTokenNeverShowsInAnyMessage) {
  constexpr std::string_view kCanary = "ghp_CanaryCanaryCanaryCanaryCanaryCan42";
  Fixture f(3, 2);
  f.server.AddToken(GitHubToken{.token = std::string(kCanary), .scopes = {"repo", "project"}});
  std::vector<std::string> messages;
  GitHubWriter writer(f.Options(kCanary), f.http);
  auto checks = writer.Prepare(std::vector<WriteTarget>{{"Priority", FieldType::kFloat},
                                                        {"Board score", FieldType::kFloat},
                                                        {"Velocity", FieldType::kFloat}},
                               false, f.refs, {});
  ASSERT_TRUE(checks) << checks.error().message;
  for (const TargetCheck& check : *checks) {
    messages.push_back(check.problem);
  }
  // GitHub's words quoting the token come back redacted.
  const std::string hostile = R"({"errors":[{"type":"FORBIDDEN","path":["v0"],"message":"token )" +
                              std::string(kCanary) + R"( may not"}]})";
  f.server.InjectFault(GitHubServer::Fault::Status(200, hostile).On("/graphql"));
  auto refused = writer.Write(f.refs[0], {{{"Board score", Value(1.0)}}}, {});
  ASSERT_TRUE(refused);
  EXPECT_TRUE(refused->refused);
  messages.push_back(refused->message);
  f.server.InjectFault(GitHubServer::Fault::Status(
                           502, R"({"message":"upstream saw )" + std::string(kCanary) + R"("})")
                           .Times(3));
  GitHubWriter other(f.Options(kCanary), f.http);
  auto down = other.Prepare(kTargets, false, f.refs, {});
  ASSERT_FALSE(down);
  messages.push_back(down.error().message);
  f.server.RevokeToken(kCanary);
  auto revoked = other.Prepare(kTargets, false, f.refs, {});
  ASSERT_FALSE(revoked);
  messages.push_back(revoked.error().message);
  for (const std::string& message : messages) {
    EXPECT_THAT(message, Not(HasSubstr(std::string(kCanary)))) << message;
    EXPECT_THAT(message, Not(HasSubstr("CanaryCanary"))) << message;
  }
}

TEST(GitHubWriterTest, ASyncBackOfNIssuesCostsNPlusOnePlusALookupPer50) {
  // 120 issues, 100 on the board: the project (1), lookups of 50 (3), a
  // request per issue (120) and an add per issue off the board (20).
  Fixture f(120, 100);
  GitHubWriter writer(f.Options(), f.http);
  f.server.ClearRequests();
  PrepareClean(writer, f.refs);
  EXPECT_EQ(f.server.graphql_requests(), 4u);
  for (std::size_t i = 0; i < f.refs.size(); ++i) {
    ExpectWritten(writer, f.refs[i],
                  {{"Board score", Value(static_cast<double>(i) + 0.5)},
                   {"Board rank", Value(static_cast<std::int64_t>(i))},
                   {"Board note", Value("n" + std::to_string(i))}});
  }
  EXPECT_EQ(f.server.graphql_requests(), 4u + 120u + 20u);
  EXPECT_EQ(f.server.MutationCount("addProjectV2ItemById"), 20u);
  EXPECT_EQ(f.server.MutationCount("updateProjectV2ItemFieldValue"), 360u);
  EXPECT_EQ(f.server.total_requests(), f.server.graphql_requests());  // no REST at all
  EXPECT_EQ(f.Get(119, "Board score")->number, 119.5);
  EXPECT_EQ(f.Get(119, "Board note")->text, "n119");
}

// The connection's keys as the daemon hands them over: scalars, `repos`,
// and the `project` section.
class FlatReader : public OptionReader {
 public:
  explicit FlatReader(std::map<std::string, std::string, std::less<>> keys,
                      std::vector<std::string>* problems)
      : keys_(std::move(keys)), problems_(problems) {}
  bool Has(std::string_view key) const override { return keys_.contains(key); }
  std::optional<std::string> String(std::string_view key, bool required) override {
    auto it = keys_.find(key);
    if (it == keys_.end()) {
      if (required) {
        Error(key, "missing");
      }
      return std::nullopt;
    }
    return it->second;
  }
  std::optional<std::string> Choice(std::string_view key,
                                    std::span<const std::string_view>) override {
    return String(key, false);
  }
  std::optional<int> Int(std::string_view key, int, int) override {
    auto text = String(key, false);
    return text ? std::optional(std::stoi(*text)) : std::nullopt;
  }
  std::optional<std::vector<std::string>> StringList(std::string_view key, bool) override {
    auto text = String(key, false);
    return text ? std::vector<std::string>{*text} : std::vector<std::string>{};
  }
  std::unique_ptr<OptionReader> Section(std::string_view key,
                                        std::span<const std::string_view>) override {
    std::map<std::string, std::string, std::less<>> inner;
    const std::string prefix = std::string(key) + ".";
    for (const auto& [name, value] : keys_) {
      if (name.starts_with(prefix)) {
        inner.emplace(name.substr(prefix.size()), value);
      }
    }
    return std::make_unique<FlatReader>(std::move(inner), problems_);
  }
  void Error(std::string_view key, std::string message) override {
    problems_->push_back(std::string(key) + ": " + message);
  }

 private:
  std::map<std::string, std::string, std::less<>> keys_;
  std::vector<std::string>* problems_;
};

TEST(GitHubWriterTest, TheTrackerTypeMakesAWriterForTheConnectionsProject) {
  ASSERT_NE(kGitHubType.make_writer, nullptr);
  Fixture f(1, 1);
  std::vector<std::string> problems;
  FlatReader reader(
      {{"repos", "acme/app"}, {"project", ""}, {"project.owner", "acme"}, {"project.number", "7"}},
      &problems);
  auto options = kGitHubType.parse(reader);
  ASSERT_THAT(problems, testing::IsEmpty());
  ConnectorContext context;
  context.connection_name = "acme-gh";
  context.base_url = f.server.base_url();
  context.token = Secret(std::string(kWriter));
  context.timeout = std::chrono::milliseconds(5'000);
  context.http = &f.http;
  auto writer = kGitHubType.make_writer(*options, std::move(context));
  ASSERT_TRUE(writer) << writer.error().message;
  auto checks = (*writer)->Prepare(kTargets, false, f.refs, {});
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_THAT(Problems(*checks), testing::Each(""));
  auto written = (*writer)->Write(f.refs[0], {{{"Board rank", Value(std::int64_t{1})}}}, {});
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_FALSE(written->refused) << written->message;
  EXPECT_EQ(f.Get(0, "Board rank")->number, 1.0);
}

}  // namespace
}  // namespace boardsync

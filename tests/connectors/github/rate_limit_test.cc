// GitHub's rate-limit headers and what a 403 or 429 means: the budget spent
// (until its reset), a secondary limit (with or without retry-after), or an
// access refusal that is no limit at all.

#include "connectors/github/rate_limit.h"

#include <gtest/gtest.h>

namespace boardsync {
namespace {

constexpr std::int64_t kNow = 1'714'557'600'000;  // 2024-05-01T10:00:00Z

HttpResponse Answer(int status, HttpHeaders headers, std::string body = "") {
  HttpResponse response;
  response.status = status;
  response.headers = std::move(headers);
  response.body = std::move(body);
  return response;
}

TEST(GitHubRateLimitTest, HeadersAreReadAsGitHubSendsThem) {
  auto headers = ReadGitHubRateHeaders(Answer(200, {{"x-ratelimit-remaining", "4999"},
                                                    {"x-ratelimit-reset", "1714561200"},
                                                    {"x-ratelimit-resource", "core"}}));
  EXPECT_EQ(headers.remaining, 4999);
  EXPECT_EQ(headers.reset_ms, 1'714'561'200'000);
  EXPECT_EQ(headers.resource, "core");
  auto none = ReadGitHubRateHeaders(Answer(200, {{"x-ratelimit-remaining", "lots"}}));
  EXPECT_FALSE(none.remaining);
  EXPECT_FALSE(none.reset_ms);
}

TEST(GitHubRateLimitTest, ASpentBudgetIsThePrimaryLimitUntilItsReset) {
  const HttpResponse spent =
      Answer(403, {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1714561200"}},
             R"({"message":"API rate limit exceeded for user ID 1."})");
  GitHubLimit limit = ClassifyGitHubLimit(spent, kNow);
  EXPECT_EQ(limit.kind, GitHubLimitKind::kPrimary);
  EXPECT_EQ(limit.until_ms, 1'714'561'200'000);
  HttpResponse as_429 = spent;
  as_429.status = 429;
  EXPECT_EQ(ClassifyGitHubLimit(as_429, kNow).kind, GitHubLimitKind::kPrimary);
}

TEST(GitHubRateLimitTest, RetryAfterIsASecondaryLimitWithItsTime) {
  const HttpResponse secondary =
      Answer(403, {{"retry-after", "30"}, {"x-ratelimit-remaining", "4000"}},
             R"({"message":"You have exceeded a secondary rate limit."})");
  GitHubLimit limit = ClassifyGitHubLimit(secondary, kNow);
  EXPECT_EQ(limit.kind, GitHubLimitKind::kSecondary);
  EXPECT_EQ(limit.until_ms, kNow + 30'000);
  // Without retry-after: a 429, or a 403 that says so, has no time.
  EXPECT_EQ(ClassifyGitHubLimit(Answer(429, {}), kNow).kind, GitHubLimitKind::kSecondary);
  GitHubLimit worded = ClassifyGitHubLimit(
      Answer(403, {{"x-ratelimit-remaining", "12"}},
             R"({"message":"You have exceeded a secondary rate limit. Please wait."})"),
      kNow);
  EXPECT_EQ(worded.kind, GitHubLimitKind::kSecondary);
  EXPECT_FALSE(worded.until_ms);
}

TEST(GitHubRateLimitTest, AnAccessRefusalIsNoLimit) {
  EXPECT_EQ(ClassifyGitHubLimit(Answer(403, {{"x-ratelimit-remaining", "4000"}},
                                       R"({"message":"Resource not accessible by integration"})"),
                                kNow)
                .kind,
            GitHubLimitKind::kNone);
  EXPECT_EQ(ClassifyGitHubLimit(Answer(200, {{"x-ratelimit-remaining", "0"}}), kNow).kind,
            GitHubLimitKind::kNone);
}

TEST(GitHubRateLimitTest, TheBudgetSaysWhenNoRequestMayGoPerResource) {
  GitHubRateBudget budget;
  EXPECT_FALSE(budget.SpentUntil("core", kNow));
  budget.Observe(Answer(200, {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1714557660"}}),
                 "core");
  EXPECT_EQ(budget.SpentUntil("core", kNow), 1'714'557'660'000);
  EXPECT_FALSE(budget.SpentUntil("graphql", kNow));  // another budget
  EXPECT_FALSE(budget.SpentUntil("core", 1'714'557'660'000));  // the reset has come
  // An answer without the headers changes nothing; one with them does.
  budget.Observe(Answer(304, {}), "core");
  EXPECT_TRUE(budget.SpentUntil("core", kNow));
  budget.Observe(Answer(200, {{"x-ratelimit-remaining", "5000"}, {"x-ratelimit-reset", "1714561260"}}),
                 "core");
  EXPECT_FALSE(budget.SpentUntil("core", kNow));
  // The resource the answer names wins over the caller's guess.
  budget.Observe(Answer(200, {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1714557660"},
                              {"x-ratelimit-resource", "graphql"}}),
                 "core");
  EXPECT_TRUE(budget.SpentUntil("graphql", kNow));
  EXPECT_FALSE(budget.SpentUntil("core", kNow));
}

}  // namespace
}  // namespace boardsync

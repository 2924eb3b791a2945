// The Projects v2 field definitions sync back reads (connectors/github/
// fields.h): the project query's answer decoded, names found exactly or
// without ASCII case, and data types in words.

#include "connectors/github/fields.h"

#include <gtest/gtest.h>

#include "connectors/github/decode.h"

namespace boardsync {
namespace {

Result<std::optional<GitHubWritableProject>> Decode(std::string_view json) {
  auto doc = ParseJsonDocument(json);
  EXPECT_TRUE(doc) << json;
  return DecodeGitHubProjectFields(doc->Root());
}

TEST(GitHubProjectFieldsTest, TheAnswerGivesIdsTypesAndWriteAccess) {
  // A user's project: the organization half is NOT_FOUND, as always.
  auto found = Decode(R"({"data":{"organization":null,"user":{"projectV2":{"id":"PVT_1",
      "title":"Roadmap","viewerCanUpdate":true,"fields":{"nodes":[
      {"id":"PVTF_1","name":"Title","dataType":"TITLE"},{},
      {"id":"PVTF_2","name":"Board score","dataType":"NUMBER"}]}}}},
      "errors":[{"type":"NOT_FOUND","path":["organization"],"message":"Could not resolve"}]})");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->id, "PVT_1");
  EXPECT_TRUE((*found)->viewer_can_update);
  ASSERT_EQ((*found)->fields.size(), 2u);
  EXPECT_EQ((*found)->fields[1].id, "PVTF_2");
  EXPECT_EQ((*found)->fields[1].data_type, "NUMBER");

  // GitHub's read of the same query, with the pull's own decoder.
  auto doc = ParseJsonDocument(R"({"data":{"organization":{"projectV2":{"id":"PVT_2",
      "fields":{"nodes":[]}}},"user":null}})");
  auto project = DecodeGitHubProject(doc->Root());
  ASSERT_TRUE(project && *project);
  EXPECT_EQ((*project)->id, "PVT_2");
  auto fields = DecodeGitHubProjectFields(doc->Root());
  ASSERT_TRUE(fields && *fields);
  EXPECT_FALSE((*fields)->viewer_can_update);  // not said: not assumed

  auto neither = Decode(R"({"data":{"organization":null,"user":null},"errors":[]})");
  ASSERT_TRUE(neither);
  EXPECT_FALSE(*neither);
  auto broken = Decode(R"({"data":{"organization":{"projectV2":{"id":"PVT_3","fields":7}}}})");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, ErrorCode::kBadResponse);
}

TEST(GitHubProjectFieldsTest, NamesMatchExactlyFirstThenWithoutCase) {
  std::vector<GitHubProjectFieldInfo> fields = {
      {"a", "Board Score", "TEXT"}, {"b", "board score", "NUMBER"}, {"c", "Size", "NUMBER"}};
  EXPECT_EQ(FindGitHubProjectField(fields, "board score")->id, "b");
  EXPECT_EQ(FindGitHubProjectField(fields, "Board Score")->id, "a");
  EXPECT_EQ(FindGitHubProjectField(fields, "SIZE")->id, "c");
  EXPECT_EQ(FindGitHubProjectField(fields, "Sizes"), nullptr);
}

TEST(GitHubProjectFieldsTest, TypesInWords) {
  EXPECT_EQ(GitHubFieldTypeWords("NUMBER"), "a number field (NUMBER)");
  EXPECT_EQ(GitHubFieldTypeWords("SINGLE_SELECT"), "a single select field (SINGLE_SELECT)");
  EXPECT_EQ(GitHubFieldTypeWords("ITERATION"), "an iteration field (ITERATION)");
  EXPECT_EQ(GitHubFieldTypeWords("TITLE"), "the built-in Title field (TITLE)");
  EXPECT_EQ(GitHubFieldTypeWords("LINKED_PULL_REQUESTS"),
            "the built-in Linked pull requests field (LINKED_PULL_REQUESTS)");
  // The query asks for what the decoder reads.
  const std::string query = GitHubProjectFieldsQuery("acme", 7);
  EXPECT_NE(query.find("viewerCanUpdate"), std::string::npos);
  EXPECT_NE(query.find("id name dataType"), std::string::npos);
}

}  // namespace
}  // namespace boardsync

// The sample tracker's write path and admin API, spoken to directly: it
// checks what YouTrack checks, so the writer's tests mean something.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "connectors/http/json.h"
#include "core/url.h"
#include "tests/support/http_test_client.h"
#include "tests/support/sample_tracker.h"

namespace boardsync {
namespace {

constexpr std::string_view kAdminToken = "perm:YWRtaW4=.YWRtaW4=.AdminOnlyTestToken0123456789";

class SampleTrackerWriteTest : public testing::Test {
 protected:
  SampleTrackerWriteTest() : client_(tracker_.base_url()) {
    EXPECT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    tracker_.AddToken(std::string(kAdminToken), "admin");
    tracker_.SetAdmin(kAdminToken, true);
  }

  HttpTestResponse Post(std::string_view target, std::string body,
                        std::string_view token = kSampleTrackerToken) {
    return client_.Send(
        "POST", target,
        {{"Authorization", "Bearer " + std::string(token)}, {"Content-Type", "application/json"}},
        std::move(body));
  }
  HttpTestResponse Get(std::string_view target, std::string_view token = kSampleTrackerToken) {
    return client_.Get(target, {{"Authorization", "Bearer " + std::string(token)}});
  }

  static std::string Description(const HttpTestResponse& response) {
    auto json = ParseJson(response.body);
    return json ? std::string(json->StringOr("error_description")) : "(not JSON)";
  }

  std::int64_t Updated(std::string_view id) {
    auto issue = tracker_.GetIssue(id);
    return issue ? issue->Find("updated")->AsInt() : -1;
  }

  SampleTracker tracker_;
  HttpTestClient client_;
};

TEST_F(SampleTrackerWriteTest, ASimpleFieldWriteSetsTheValueAndMovesUpdated) {
  const std::int64_t before = Updated("RAP-1");
  auto response = Post("/api/issues/RAP-1?fields=updated,idReadable",
                       R"({"customFields":[{"name":"Business value",)"
                       R"("$type":"SimpleIssueCustomField","value":12.5}]})");
  ASSERT_EQ(response.status, 200) << response.body;
  auto answer = ParseJson(response.body);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->StringOr("idReadable"), "RAP-1");
  EXPECT_EQ(answer->StringOr("$type"), "Issue");
  EXPECT_GT(answer->Find("updated")->AsInt(), before);
  EXPECT_EQ(answer->Find("updated")->AsInt(), Updated("RAP-1"));
  EXPECT_EQ(tracker_.FieldValue("RAP-1", "Business value"), Value(12.5));

  // The same value again changes nothing, so `updated` stays.
  const std::int64_t after = Updated("RAP-1");
  response =
      Post("/api/issues/2-9?fields=updated", R"({"customFields":[{"name":"Business value",)"
                                             R"("$type":"SimpleIssueCustomField","value":12.5}]})");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(Updated("RAP-1"), after);

  // The issue list shows it.
  auto listed = Get("/api/issues?query=" + PercentEncode("issue id: RAP-1") +
                    "&fields=customFields(name,value)&customFields=Business%20value");
  ASSERT_EQ(listed.status, 200);
  EXPECT_NE(listed.body.find(R"("name":"Business value","value":12.5)"), std::string::npos)
      << listed.body;
}

TEST_F(SampleTrackerWriteTest, WritesAreCheckedAsYouTrackChecksThem) {
  struct Case {
    std::string_view what;
    std::string_view target;
    std::string_view body;
    int status;
    std::string_view description;  // part of error_description; "" for any
  };
  const Case cases[] = {
      {"a string for a float", "/api/issues/RAP-1",
       R"({"customFields":[{"name":"Business value","$type":"SimpleIssueCustomField","value":"high"}]})",
       400, "Cannot set value \"high\" to field Business value of type float"},
      {"a fraction for an integer", "/api/issues/RAP-1",
       R"({"customFields":[{"name":"Story points","$type":"SimpleIssueCustomField","value":2.5}]})",
       400, "of type integer"},
      {"a number for a string", "/api/issues/RAP-1",
       R"({"customFields":[{"name":"Customer","$type":"SimpleIssueCustomField","value":7}]})", 400,
       "of type string"},
      {"a text field as a simple one", "/api/issues/RAP-1",
       R"({"customFields":[{"name":"Notes","$type":"SimpleIssueCustomField","value":"x"}]})", 500,
       ""},
      {"no $type", "/api/issues/RAP-1", R"({"customFields":[{"name":"Story points","value":3}]})",
       500, ""},
      {"a name in another case", "/api/issues/RAP-1",
       R"({"customFields":[{"name":"story POINTS","$type":"SimpleIssueCustomField","value":3}]})",
       500, ""},
      {"a field not in the project", "/api/issues/DOC-1",
       R"({"customFields":[{"name":"Story points","$type":"SimpleIssueCustomField","value":3}]})",
       400, "Unknown custom field Story points in project Docs"},
      {"customFields as an object", "/api/issues/RAP-1", R"({"customFields":{}})", 500, ""},
      {"an unknown issue", "/api/issues/2-999",
       R"({"customFields":[{"name":"Story points","$type":"SimpleIssueCustomField","value":3}]})",
       404, "Entity with id 2-999 not found"},
      {"an enum field", "/api/issues/RAP-1",
       R"({"customFields":[{"name":"Priority","$type":"SingleEnumIssueCustomField","value":{"name":"Major"}}]})",
       400, ""},
  };
  const Value before = *tracker_.GetIssue("RAP-1");
  for (const Case& c : cases) {
    auto response = Post(c.target, std::string(c.body));
    EXPECT_EQ(response.status, c.status) << c.what << ": " << response.body;
    EXPECT_NE(Description(response).find(c.description), std::string::npos)
        << c.what << ": " << response.body;
  }
  EXPECT_EQ(*tracker_.GetIssue("RAP-1"), before);  // nothing changed

  // One bad field refuses the whole request.
  auto response =
      Post("/api/issues/RAP-1",
           R"({"customFields":[)"
           R"({"name":"Story points","$type":"SimpleIssueCustomField","value":40},)"
           R"({"name":"Business value","$type":"SimpleIssueCustomField","value":"x"}]})");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(*tracker_.GetIssue("RAP-1"), before);
}

TEST_F(SampleTrackerWriteTest, WritesNeedAValidToken) {
  auto response = client_.Send(
      "POST", "/api/issues/RAP-1", {{"Content-Type", "application/json"}},
      R"({"customFields":[{"name":"Story points","$type":"SimpleIssueCustomField","value":3}]})");
  EXPECT_EQ(response.status, 401);
  response = Post("/api/issues/RAP-1", R"({"customFields":[]})", "perm:bm9ib2R5.eA==.wrong");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(tracker_.FieldValue("RAP-1", "Story points"), Value(std::int64_t{5}));
}

TEST_F(SampleTrackerWriteTest, TextFieldsTakeATextValue) {
  auto response = Post("/api/issues/DOC-3?fields=customFields(name,value(text))",
                       R"({"customFields":[{"name":"Notes","$type":"TextIssueCustomField",)"
                       R"("value":{"text":"Needs a *review*"}}]})");
  ASSERT_EQ(response.status, 200) << response.body;
  auto notes = tracker_.FieldValue("DOC-3", "Notes");
  ASSERT_TRUE(notes && notes->IsObject());
  EXPECT_EQ(notes->StringOr("text"), "Needs a *review*");
  EXPECT_EQ(notes->StringOr("$type"), "TextFieldValue");
  response =
      Post("/api/issues/DOC-3",
           R"({"customFields":[{"name":"Notes","$type":"TextIssueCustomField","value":"x"}]})");
  EXPECT_EQ(response.status, 400) << response.body;
}

TEST_F(SampleTrackerWriteTest, CreatingAndAttachingFieldsTakesAnAdmin) {
  const std::string create = R"({"name":"Board score","fieldType":{"id":"float"}})";
  auto response = Post("/api/admin/customFieldSettings/customFields?fields=id,name", create);
  EXPECT_EQ(response.status, 403);
  EXPECT_FALSE(tracker_.CustomFieldType("Board score"));

  response = Post("/api/admin/customFieldSettings/customFields?fields=id,name,fieldType(id)",
                  create, kAdminToken);
  ASSERT_EQ(response.status, 200) << response.body;
  auto field = ParseJson(response.body);
  ASSERT_TRUE(field);
  EXPECT_EQ(field->StringOr("name"), "Board score");
  EXPECT_EQ(field->Find("fieldType")->StringOr("id"), "float");
  const std::string id(field->StringOr("id"));
  EXPECT_EQ(tracker_.CustomFieldType("Board score"), "float");

  // Names are unique regardless of case; types must be known.
  EXPECT_EQ(Post("/api/admin/customFieldSettings/customFields",
                 R"({"name":"board SCORE","fieldType":{"id":"float"}})", kAdminToken)
                .status,
            400);
  EXPECT_EQ(Post("/api/admin/customFieldSettings/customFields",
                 R"({"name":"Other","fieldType":{"id":"money"}})", kAdminToken)
                .status,
            400);

  // Attaching: Update Project, the database id, and the class of the field's type.
  const std::string attach =
      R"({"$type":"SimpleProjectCustomField","field":{"id":")" + id + R"("},"canBeEmpty":true})";
  EXPECT_EQ(Post("/api/admin/projects/0-3/customFields", attach).status, 403);
  response =
      Post("/api/admin/projects/0-3/customFields",
           R"({"$type":"SimpleProjectCustomField","field":{"id":"Board score"}})", kAdminToken);
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(Description(response), "Invalid structure of entity id: Board score");
  response =
      Post("/api/admin/projects/0-3/customFields",
           R"({"$type":"EnumProjectCustomField","field":{"id":")" + id + R"("}})", kAdminToken);
  EXPECT_EQ(response.status, 400) << response.body;
  EXPECT_EQ(Post("/api/admin/projects/0-99/customFields", attach, kAdminToken).status, 404);
  EXPECT_FALSE(tracker_.IsAttached("DOC", "Board score"));

  response =
      Post("/api/admin/projects/0-3/customFields?fields=id,field(name)", attach, kAdminToken);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_TRUE(tracker_.IsAttached("DOC", "Board score"));
  EXPECT_EQ(Post("/api/admin/projects/0-3/customFields", attach, kAdminToken).status, 400);

  // The project's fields show it, and its issues take values.
  auto projects = Get("/api/admin/projects?fields=shortName,customFields(field(id,name))");
  ASSERT_EQ(projects.status, 200);
  auto list = ParseJson(projects.body);
  ASSERT_TRUE(list && list->IsList());
  int found = 0;
  for (const Value& project : list->AsList()) {
    for (const Value& attached : project.Find("customFields")->AsList()) {
      if (attached.Find("field")->StringOr("name") == "Board score") {
        EXPECT_EQ(project.StringOr("shortName"), "DOC");
        EXPECT_EQ(attached.Find("field")->StringOr("id"), id);
        ++found;
      }
    }
  }
  EXPECT_EQ(found, 1);
  response = Post(
      "/api/issues/DOC-1",
      R"({"customFields":[{"name":"Board score","$type":"SimpleIssueCustomField","value":0.5}]})");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(tracker_.FieldValue("DOC-1", "Board score"), Value(0.5));
  EXPECT_EQ(
      Post(
          "/api/issues/RAP-1",
          R"({"customFields":[{"name":"Board score","$type":"SimpleIssueCustomField","value":0.5}]})")
          .status,
      400);
}

TEST_F(SampleTrackerWriteTest, TheGlobalFieldListPages) {
  auto all =
      Get("/api/admin/customFieldSettings/customFields?fields=id,name,fieldType(id)&$top=-1");
  ASSERT_EQ(all.status, 200);
  auto list = ParseJson(all.body);
  ASSERT_TRUE(list && list->IsList());
  // The fields the sample issues carry, each once.
  EXPECT_EQ(list->AsList().size(), 17u) << all.body;
  std::vector<Value> paged;
  for (int skip = 0; skip < 30; skip += 5) {
    auto page = Get("/api/admin/customFieldSettings/customFields?fields=id,name&$top=5&$skip=" +
                    std::to_string(skip));
    auto items = ParseJson(page.body);
    ASSERT_TRUE(items && items->IsList());
    for (const Value& item : items->AsList()) {
      paged.push_back(item);
    }
  }
  ASSERT_EQ(paged.size(), 17u);
  for (std::size_t i = 0; i < paged.size(); ++i) {
    EXPECT_EQ(paged[i].StringOr("id"), list->AsList()[i].StringOr("id"));
  }
  // The single project and its fields, by id or short name.
  auto doc = Get("/api/admin/projects/DOC/customFields?fields=field(name,fieldType(id))");
  ASSERT_EQ(doc.status, 200);
  auto fields = ParseJson(doc.body);
  ASSERT_TRUE(fields && fields->IsList());
  EXPECT_EQ(fields->AsList().size(), 7u) << doc.body;
  EXPECT_EQ(Get("/api/admin/projects/0-3?fields=shortName").body,
            R"({"$type":"Project","shortName":"DOC"})");
}

TEST_F(SampleTrackerWriteTest, GeneratedIssuesHaveTheirProjectsFields) {
  SampleTracker generated;
  generated.GenerateIssues(20, 7);
  EXPECT_TRUE(generated.IsAttached("RAP", "Business value"));
  EXPECT_FALSE(generated.IsAttached("DOC", "Business value"));
  EXPECT_EQ(generated.CustomFieldType("Story points"), "integer");
  const std::string id = generated.IssueIds().front();
  auto issue = generated.GetIssue(id);
  ASSERT_TRUE(issue);
  const std::string project(issue->Find("project")->StringOr("shortName"));
  HttpTestClient client(generated.base_url());
  auto response = client.Send(
      "POST", "/api/issues/" + id + "?fields=updated",
      {{"Authorization", "Bearer " + std::string(kSampleTrackerToken)}},
      R"({"customFields":[{"name":"Priority","$type":"SingleEnumIssueCustomField","value":null}]})");
  // Priority is an enum, which the sample does not write; every project has it.
  EXPECT_EQ(response.status, 400) << project << " " << response.body;
  response = client.Send(
      "POST", "/api/issues/" + id + "?fields=updated",
      {{"Authorization", "Bearer " + std::string(kSampleTrackerToken)}},
      R"({"customFields":[{"name":"Notes","$type":"TextIssueCustomField","value":{"text":"hi"}}]})");
  EXPECT_EQ(response.status, 200) << project << " " << response.body;
  EXPECT_EQ(generated.FieldValue(id, "Notes")->StringOr("text"), "hi");
}

}  // namespace
}  // namespace boardsync

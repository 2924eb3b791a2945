// The field catalogues under tests/data/jira/ are written by hand in the
// shapes of GET /rest/api/3/field (Cloud) and /rest/api/2/field (Data
// Center), see shared/reference/trackers-jira-syncback.md §2.5.
#include "connectors/jira/fields.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/http/json.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// JSON text and the document that views it; never moved, so the views hold.
class Json {
 public:
  explicit Json(std::string text) : text_(std::move(text)) {
    auto doc = ParseJsonDocument(text_);
    EXPECT_TRUE(doc.has_value()) << (doc ? "" : doc.error().message);
    if (doc) {
      doc_ = std::move(*doc);
      ok_ = true;
    }
  }
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;
  JsonView root() const { return ok_ ? doc_.Root() : Empty().doc_.Root(); }

 private:
  static const Json& Empty() {
    static const Json empty("null");
    return empty;
  }
  std::string text_;
  JsonDocument doc_;
  bool ok_ = false;
};

std::string ReadData(const std::string& name) {
  std::ifstream in(SourceDir() / "tests/data/jira" / name, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read tests/data/jira/" << name << " under " << SourceDir();
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<JiraField> Catalogue(const std::string& file) {
  Json json(ReadData(file));
  auto fields = DecodeJiraFields(json.root());
  EXPECT_TRUE(fields.has_value()) << (fields ? "" : fields.error().message);
  return fields ? *fields : std::vector<JiraField>{};
}

std::vector<JiraField> CatalogueOf(const std::string& text) {
  Json json(text);
  auto fields = DecodeJiraFields(json.root());
  EXPECT_TRUE(fields.has_value()) << (fields ? "" : fields.error().message);
  return fields ? *fields : std::vector<JiraField>{};
}

JiraFieldSelection SelectOk(const std::vector<JiraField>& catalogue,
                            const std::vector<std::string>& names) {
  auto selection = SelectJiraFields(catalogue, names);
  EXPECT_TRUE(selection.has_value()) << (selection ? "" : selection.error().message);
  return selection ? *selection : JiraFieldSelection{};
}

const JiraRequestedField* Requested(const JiraFieldSelection& selection, const std::string& id) {
  for (const JiraRequestedField& r : selection.fields) {
    if (r.field.id == id) {
      return &r;
    }
  }
  return nullptr;
}

const JiraField* Find(const std::vector<JiraField>& fields, const std::string& id) {
  for (const JiraField& f : fields) {
    if (f.id == id) {
      return &f;
    }
  }
  return nullptr;
}

// --- the catalogue -----------------------------------------------------------

TEST(DecodeJiraFields, CloudCatalogue) {
  std::vector<JiraField> fields = Catalogue("cloud_fields.json");
  ASSERT_EQ(fields.size(), 47u);

  const JiraField* sprint = Find(fields, "customfield_10020");
  ASSERT_NE(sprint, nullptr);
  EXPECT_EQ(sprint->name, "Sprint");
  EXPECT_TRUE(sprint->custom);
  EXPECT_EQ(sprint->type, "array");
  EXPECT_EQ(sprint->items, "json");
  EXPECT_EQ(sprint->custom_type, "com.pyxis.greenhopper.jira:gh-sprint");
  EXPECT_EQ(sprint->system, "");

  const JiraField* spent = Find(fields, "timespent");
  ASSERT_NE(spent, nullptr);
  EXPECT_FALSE(spent->custom);
  EXPECT_EQ(spent->name, "Time Spent");
  EXPECT_EQ(spent->type, "number");
  EXPECT_EQ(spent->system, "timespent");

  // Fields without a schema are kept: they can still be asked for.
  const JiraField* key = Find(fields, "issuekey");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->name, "Key");
  EXPECT_EQ(key->type, "");
  ASSERT_NE(Find(fields, "parent"), nullptr);
}

TEST(DecodeJiraFields, DataCenterCatalogueHasNoParent) {
  std::vector<JiraField> fields = Catalogue("dc_fields.json");
  ASSERT_EQ(fields.size(), 38u);
  EXPECT_EQ(Find(fields, "parent"), nullptr);
  const JiraField* sprint = Find(fields, "customfield_10101");
  ASSERT_NE(sprint, nullptr);
  EXPECT_EQ(sprint->items, "string");  // older Data Center: the sprint as text
}

TEST(DecodeJiraFields, NotAnArrayFailsAsAWhole) {
  for (const char* text : {R"({"errorMessages":["nope"],"errors":{}})", "null", R"("fields")"}) {
    Json json(text);
    auto fields = DecodeJiraFields(json.root());
    ASSERT_FALSE(fields.has_value()) << text;
    EXPECT_EQ(fields.error().code, ErrorCode::kBadResponse);
    EXPECT_THAT(fields.error().message, HasSubstr("not a JSON array"));
  }
}

TEST(DecodeJiraFields, ElementsWithoutAnIdAreDroppedAndOddSchemasReadAsAbsent) {
  std::vector<JiraField> fields = CatalogueOf(R"([
    7, null, {"name":"No id"}, {"id":"","name":"Empty id"}, {"id":42,"name":"Numeric id"},
    {"id":"customfield_1","name":"First","custom":true,"schema":{"type":"number"}},
    {"id":"customfield_1","name":"Second","custom":true,"schema":{"type":"string"}},
    {"id":"customfield_2","name":"Odd","custom":"yes","schema":{"type":7,"items":[],"custom":null}},
    {"id":"customfield_3","key":"cf3-key","schema":"string"}
  ])");
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].name, "First");  // the first of a repeated id
  EXPECT_EQ(fields[0].type, "number");
  EXPECT_EQ(fields[0].key, "customfield_1");  // no key: the id
  EXPECT_FALSE(fields[1].custom);
  EXPECT_EQ(fields[1].type, "");
  EXPECT_EQ(fields[1].items, "");
  EXPECT_EQ(fields[1].custom_type, "");
  EXPECT_EQ(fields[2].key, "cf3-key");
  EXPECT_EQ(fields[2].name, "");
  EXPECT_EQ(fields[2].type, "");
}

// --- resolving the mapping's names ---------------------------------------------

TEST(SelectJiraFields, AlwaysAsksForTheTimesFirst) {
  JiraFieldSelection s = SelectOk(Catalogue("cloud_fields.json"), {});
  EXPECT_THAT(s.request, ElementsAre("updated", "created", "resolutiondate"));
  ASSERT_EQ(s.fields.size(), 3u);
  for (const JiraRequestedField& r : s.fields) {
    EXPECT_THAT(r.names, IsEmpty()) << r.field.id;
    EXPECT_EQ(r.field.type, "datetime") << r.field.id;
  }
  EXPECT_THAT(s.unknown, IsEmpty());
  EXPECT_EQ(JiraFieldsParameter(s), "updated,created,resolutiondate");
}

TEST(SelectJiraFields, TheTimesWithoutACatalogue) {
  // A custom field called "Created" is not the creation time.
  JiraFieldSelection s = SelectOk(
      CatalogueOf(R"([{"id":"customfield_9","name":"Created","schema":{"type":"string"}}])"),
      {"Created"});
  EXPECT_THAT(s.request, ElementsAre("updated", "created", "resolutiondate", "customfield_9"));
  const JiraRequestedField* created = Requested(s, "created");
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->field.type, "datetime");
  EXPECT_THAT(created->names, IsEmpty());
  EXPECT_THAT(Requested(s, "customfield_9")->names, ElementsAre("Created"));
}

TEST(SelectJiraFields, ByIdByNameAndByPath) {
  JiraFieldSelection s =
      SelectOk(Catalogue("cloud_fields.json"),
               {"summary", "Story point estimate", "customfield_10020", "Assignee.login",
                "Assignee.name", "Status", "$key", "$updated", "Created", "updated"});
  EXPECT_THAT(s.request,
              ElementsAre("updated", "created", "resolutiondate", "summary", "customfield_10016",
                          "customfield_10020", "assignee", "status"));
  EXPECT_EQ(JiraFieldsParameter(s),
            "updated,created,resolutiondate,summary,customfield_10016,customfield_10020,assignee,"
            "status");
  EXPECT_THAT(Requested(s, "summary")->names, ElementsAre("summary"));
  EXPECT_THAT(Requested(s, "customfield_10016")->names, ElementsAre("Story point estimate"));
  EXPECT_THAT(Requested(s, "customfield_10020")->names, ElementsAre("customfield_10020"));
  EXPECT_THAT(Requested(s, "assignee")->names, ElementsAre("Assignee"));  // once for both paths
  EXPECT_THAT(Requested(s, "created")->names, ElementsAre("Created"));
  EXPECT_THAT(Requested(s, "updated")->names, ElementsAre("updated"));
  EXPECT_EQ(Requested(s, "customfield_10016")->field.custom_type,
            "com.pyxis.greenhopper.jira:jsw-story-points");
  EXPECT_THAT(s.unknown, IsEmpty());
}

TEST(SelectJiraFields, OneFieldByTwoNames) {
  JiraFieldSelection s = SelectOk(Catalogue("cloud_fields.json"), {"Status", "status", "STATUS"});
  EXPECT_THAT(s.request, ElementsAre("updated", "created", "resolutiondate", "status"));
  EXPECT_THAT(Requested(s, "status")->names, ElementsAre("Status", "status", "STATUS"));
}

TEST(SelectJiraFields, NamesIgnoreCaseButTheExactSpellingWins) {
  std::vector<JiraField> catalogue = Catalogue("cloud_fields.json");
  JiraFieldSelection s = SelectOk(catalogue, {"story POINT estimate", "Points", "points"});
  EXPECT_THAT(Requested(s, "customfield_10016")->names, ElementsAre("story POINT estimate"));
  EXPECT_THAT(Requested(s, "customfield_10063")->names, ElementsAre("Points"));
  EXPECT_THAT(Requested(s, "customfield_10064")->names, ElementsAre("points"));

  // No exact spelling: both case variants match, which is ambiguous.
  auto ambiguous = SelectJiraFields(catalogue, {"POINTS"});
  ASSERT_FALSE(ambiguous.has_value());
  EXPECT_THAT(ambiguous.error().message,
              HasSubstr("\"POINTS\" is shared by customfield_10063 and customfield_10064"));
}

TEST(SelectJiraFields, AnIdWinsOverAName) {
  JiraFieldSelection s = SelectOk(CatalogueOf(R"([
    {"id":"status","name":"Status","schema":{"type":"status","system":"status"}},
    {"id":"customfield_5","name":"status","custom":true,"schema":{"type":"string"}}
  ])"),
                                  {"status", "Status"});
  EXPECT_THAT(Requested(s, "status")->names, ElementsAre("status", "Status"));
  EXPECT_EQ(Requested(s, "customfield_5"), nullptr);
}

TEST(SelectJiraFields, ASharedNameIsAnErrorNamingBothIds) {
  auto s = SelectJiraFields(Catalogue("cloud_fields.json"), {"summary", "Severity"});
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kConfig);
  EXPECT_THAT(
      s.error().message,
      HasSubstr("field name \"Severity\" is shared by customfield_10040 and customfield_10041"));
  EXPECT_THAT(s.error().message, HasSubstr("name the field by its id"));

  // By id, each is reachable.
  JiraFieldSelection by_id =
      SelectOk(Catalogue("cloud_fields.json"), {"customfield_10040", "customfield_10041"});
  EXPECT_NE(Requested(by_id, "customfield_10040"), nullptr);
  EXPECT_NE(Requested(by_id, "customfield_10041"), nullptr);
}

TEST(SelectJiraFields, EverySharedNameInOneMessage) {
  auto s = SelectJiraFields(CatalogueOf(R"([
    {"id":"customfield_1","name":"Team"}, {"id":"customfield_2","name":"Team"},
    {"id":"customfield_3","name":"Team"}, {"id":"customfield_4","name":"Size"},
    {"id":"customfield_5","name":"Size"}
  ])"),
                            {"Team.name", "Size", "Team"});
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().message,
              HasSubstr("\"Team\" is shared by customfield_1, customfield_2 and customfield_3; "
                        "field name \"Size\" is shared by customfield_4 and customfield_5"));
}

TEST(SelectJiraFields, UnknownNamesAreListedAndNotAskedFor) {
  JiraFieldSelection s = SelectOk(Catalogue("cloud_fields.json"),
                                  {"Storey points", "summary", "Storey points.x", "cf[10016]"});
  EXPECT_THAT(s.unknown, ElementsAre("Storey points", "cf[10016]"));
  EXPECT_THAT(s.request, ElementsAre("updated", "created", "resolutiondate", "summary"));
}

TEST(SelectJiraFields, ParentEvenWhenTheCatalogueLeavesItOut) {
  JiraFieldSelection s = SelectOk(Catalogue("dc_fields.json"), {"parent", "Parent.key"});
  const JiraRequestedField* parent = Requested(s, "parent");
  ASSERT_NE(parent, nullptr);
  EXPECT_THAT(parent->names, ElementsAre("parent", "Parent"));
  EXPECT_THAT(s.unknown, IsEmpty());
}

TEST(SelectJiraFields, EmptyNamesAndBuiltInsAreSkipped) {
  JiraFieldSelection s = SelectOk(Catalogue("cloud_fields.json"),
                                  {"", ".login", "$id", "$url", "$resolved", "$nonsense"});
  EXPECT_THAT(s.request, ElementsAre("updated", "created", "resolutiondate"));
  EXPECT_THAT(s.unknown, IsEmpty());
}

}  // namespace
}  // namespace boardsync

#include "connectors/youtrack/fields.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace boardsync {
namespace {

constexpr char kCustomFields[] =
    "customFields($type,name,value($type,name,login,fullName,email,minutes,presentation,text),"
    "projectCustomField(field(fieldType(id))))";

TEST(BuildIssueProjection, MixOfAttributesAndCustomFields) {
  IssueProjection p = BuildIssueProjection({"summary", "State", "Assignee", "tags"});
  EXPECT_EQ(p.fields, std::string("id,idReadable,created,updated,resolved,summary,tags(name),") +
                          kCustomFields);
  EXPECT_EQ(p.custom_fields, (std::vector<std::string>{"State", "Assignee"}));
}

TEST(BuildIssueProjection, NoFieldsStillAsksForKeysAndTimes) {
  IssueProjection p = BuildIssueProjection({});
  EXPECT_EQ(p.fields, "id,idReadable,created,updated,resolved");
  EXPECT_TRUE(p.custom_fields.empty());
}

TEST(BuildIssueProjection, EveryKnownAttributeAndNoCustomFieldsProjection) {
  IssueProjection p = BuildIssueProjection({"description", "project", "reporter", "updater",
                                            "votes", "commentsCount", "numberInProject"});
  EXPECT_EQ(p.fields,
            "id,idReadable,created,updated,resolved,description,project(shortName,name),"
            "reporter(login,fullName,email),updater(login,fullName,email),votes,commentsCount,"
            "numberInProject");
  EXPECT_TRUE(p.custom_fields.empty());
}

TEST(BuildIssueProjection, ProjectOnlyWhenUsed) {
  EXPECT_EQ(BuildIssueProjection({"summary"}).fields.find("project"), std::string::npos);
  EXPECT_NE(BuildIssueProjection({"project"}).fields.find("project(shortName,name)"),
            std::string::npos);
}

TEST(BuildIssueProjection, SkipsBuiltInsDuplicatesAndAlwaysFields) {
  IssueProjection p = BuildIssueProjection(
      {"$url", "$key", "summary", "summary", "Priority", "Priority", "created", "idReadable", ""});
  EXPECT_EQ(p.fields,
            std::string("id,idReadable,created,updated,resolved,summary,") + kCustomFields);
  EXPECT_EQ(p.custom_fields, (std::vector<std::string>{"Priority"}));
}

TEST(BuildIssueProjection, UnicodeCustomFieldNamesAreCustomFields) {
  IssueProjection p = BuildIssueProjection({"経過時間", "State"});
  EXPECT_EQ(p.custom_fields, (std::vector<std::string>{"経過時間", "State"}));
}

TEST(IssuePageTarget, ExactEncodedTarget) {
  IssueProjection p = BuildIssueProjection({"summary", "State", "Assignee", "tags"});
  EXPECT_EQ(IssuePageTarget(p, "project: RAP #Unresolved sort by: updated asc", 100, 200),
            "/api/issues?query=project%3A%20RAP%20%23Unresolved%20sort%20by%3A%20updated%20asc"
            "&fields=id%2CidReadable%2Ccreated%2Cupdated%2Cresolved%2Csummary%2Ctags%28name%29%2C"
            "customFields%28%24type%2Cname%2Cvalue%28%24type%2Cname%2Clogin%2CfullName%2Cemail%2C"
            "minutes%2Cpresentation%2Ctext%29%2CprojectCustomField%28field%28fieldType%28id%29%29%"
            "29%29"
            "&customFields=State&customFields=Assignee&$top=100&$skip=200");
}

TEST(IssuePageTarget, AlwaysSendsTopAndSkipEvenWithoutQuery) {
  IssueProjection p = BuildIssueProjection({});
  EXPECT_EQ(IssuePageTarget(p, "", 42, 0),
            "/api/issues?fields=id%2CidReadable%2Ccreated%2Cupdated%2Cresolved&$top=42&$skip=0");
}

TEST(IssuePageTarget, EncodesUnicodeCustomFieldNamesAsUtf8) {
  IssueProjection p = BuildIssueProjection({"経過時間", "Story points"});
  std::string target = IssuePageTarget(p, "", 10, 0);
  EXPECT_NE(target.find("&customFields=%E7%B5%8C%E9%81%8E%E6%99%82%E9%96%93&customFields="
                        "Story%20points&$top=10&$skip=0"),
            std::string::npos)
      << target;
}

}  // namespace
}  // namespace boardsync

// The search pages under tests/data/jira/ are written by hand in the shapes
// Jira Cloud (/rest/api/3/search/jql) and Data Center (/rest/api/2/search)
// answer, see shared/reference/trackers-jira-syncback.md §2; the hostile page
// holds one fault per issue.
#include "connectors/jira/decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/http/json.h"
#include "core/time.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using ::testing::HasSubstr;

// JSON text and the document that views it; never moved, so the views hold.
class Json {
 public:
  explicit Json(std::string text) : text_(std::move(text)) {
    auto doc = ParseJsonDocument(text_);
    EXPECT_TRUE(doc.has_value()) << (doc ? "" : doc.error().message);
    if (doc) {
      doc_ = std::move(*doc);
    } else {
      text_ = "null";
      doc_ = std::move(*ParseJsonDocument(text_));
    }
  }
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;
  JsonView root() const { return doc_.Root(); }

 private:
  std::string text_;
  JsonDocument doc_;
};

std::string ReadData(const std::string& name) {
  std::ifstream in(SourceDir() / "tests/data/jira" / name, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read tests/data/jira/" << name << " under " << SourceDir();
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

JiraFieldSelection Select(const std::string& catalogue_file,
                          const std::vector<std::string>& names) {
  Json json(ReadData(catalogue_file));
  auto catalogue = DecodeJiraFields(json.root());
  EXPECT_TRUE(catalogue.has_value());
  auto selection = SelectJiraFields(catalogue ? *catalogue : std::vector<JiraField>{}, names);
  EXPECT_TRUE(selection.has_value()) << (selection ? "" : selection.error().message);
  return selection ? *selection : JiraFieldSelection{};
}

// What a mapping over every kind of Cloud field reads.
const std::vector<std::string> kCloudNames = {"summary",
                                              "description",
                                              "Environment",
                                              "Status",
                                              "Priority",
                                              "resolution",
                                              "Issue Type",
                                              "Project",
                                              "Assignee.login",
                                              "Reporter",
                                              "labels",
                                              "Components",
                                              "Fix versions",
                                              "versions",
                                              "Created",
                                              "updated",
                                              "Resolved",
                                              "Due date",
                                              "Original estimate",
                                              "timeestimate",
                                              "Time Spent",
                                              "aggregatetimespent",
                                              "Time tracking",
                                              "Votes",
                                              "Watchers",
                                              "parent",
                                              "Key",
                                              "Story point estimate",
                                              "Rank",
                                              "Sprint",
                                              "Customer Tier",
                                              "Platforms",
                                              "Hardware",
                                              "Release notes",
                                              "Reviewers",
                                              "Go-live",
                                              "Deployed at",
                                              "Design review",
                                              "Budget",
                                              "Team",
                                              "Linked Issues",
                                              "Work Ratio",
                                              "$key",
                                              "Nonexistent field"};

const std::vector<std::string> kDataCenterNames = {
    "summary",      "description",   "Assignee",          "Reporter",        "Status",
    "Story Points", "Sprint",        "Epic Link",         "Customer Tier",   "Release notes",
    "Reviewers",    "Hardware",      "Go-live",           "Approvers group", "parent",
    "Time Spent",   "Time tracking", "Original estimate", "Created"};

constexpr char kCloudSite[] = "https://acme.atlassian.net";

Result<JiraSearchPage> DecodePage(const std::string& text, const JiraFieldSelection& selection,
                                  std::string_view base = kCloudSite) {
  Json json(text);
  return DecodeJiraSearchPage(json.root(), selection, base);
}

JiraSearchPage PageOk(const std::string& text, const JiraFieldSelection& selection,
                      std::string_view base = kCloudSite) {
  auto page = DecodePage(text, selection, base);
  EXPECT_TRUE(page.has_value()) << (page ? "" : page.error().message);
  return page ? std::move(*page) : JiraSearchPage{};
}

const Value& F(const Issue& issue, const std::string& name) {
  static const Value kMissing("<missing>");
  auto it = issue.fields.find(name);
  return it != issue.fields.end() ? it->second : kMissing;
}

Value User(Value login, Value name, Value email) {
  Value::Object user;
  user.emplace("email", std::move(email));
  user.emplace("login", std::move(login));
  user.emplace("name", std::move(name));
  return Value(std::move(user));
}

Value List(Value::List items) { return Value(std::move(items)); }

Value Object(std::initializer_list<std::pair<std::string, Value>> members) {
  Value::Object o;
  for (const auto& [k, v] : members) {
    o.emplace(k, v);
  }
  return Value(std::move(o));
}

const Value kMia =
    User("712020:0e9fd1c4-5b2a-4c1e-9d7e-3f1a2b3c4d5e", "Mia Krystof", "mia@acme.example");
const Value kRaj = User("5b10ac8d82e05b22cc7d4ef5", "Raj Patel", Value());
const Value kLee =
    User("712020:aa11bb22-cc33-dd44-ee55-ff6677889900", "Lee Wong", "lee@acme.example");

// --- Cloud ---------------------------------------------------------------------

TEST(DecodeJiraSearchPage, CloudPageWithEveryKindOfField) {
  JiraFieldSelection selection = Select("cloud_fields.json", kCloudNames);
  JiraSearchPage page = PageOk(ReadData("cloud_search_page.json"), selection);
  EXPECT_FALSE(page.last);
  EXPECT_EQ(page.next_page_token, "Ch0jU3RyaW5nJlVrRlEmSlNVbnRKVkE9PSVJbnQmTkRZeg==");
  EXPECT_FALSE(page.start_at.has_value());
  EXPECT_FALSE(page.total.has_value());
  ASSERT_EQ(page.issues.size(), 3u);

  const Issue& issue = page.issues[0];
  ASSERT_EQ(issue.decode_error, "");
  EXPECT_EQ(issue.id, "10042");
  EXPECT_EQ(issue.key, "RAP-42");
  EXPECT_EQ(issue.url, "https://acme.atlassian.net/browse/RAP-42");
  EXPECT_EQ(issue.created_ms, 1710032370123);  // 2024-03-10T01:59:30.123+0100
  EXPECT_EQ(issue.updated_ms, 1714658645000);  // 2024-05-02T16:04:05.000+0200
  EXPECT_FALSE(issue.resolved_ms.has_value());

  EXPECT_EQ(F(issue, "summary"), Value("Board import fails for projects with more than 42 issues"));
  EXPECT_EQ(F(issue, "Environment"), Value("Chrome 126, macOS"));
  EXPECT_EQ(F(issue, "Status"), Value("In Progress"));
  EXPECT_EQ(F(issue, "Priority"), Value("High"));
  EXPECT_EQ(F(issue, "resolution"), Value());
  EXPECT_EQ(F(issue, "Issue Type"), Value("Story"));
  EXPECT_EQ(F(issue, "Project"), Object({{"key", "RAP"}, {"name", "Rapid Board"}}));
  EXPECT_EQ(F(issue, "Assignee"), kMia);
  EXPECT_EQ(F(issue, "Reporter"), kRaj);  // e-mail hidden by the user's privacy settings
  EXPECT_EQ(F(issue, "labels"), List({"import", "paging"}));
  EXPECT_EQ(F(issue, "Components"), List({"Importer", "API"}));
  EXPECT_EQ(F(issue, "Fix versions"), List({"1.4"}));
  EXPECT_EQ(F(issue, "versions"), List({}));
  EXPECT_EQ(F(issue, "Created"), Value("2024-03-10T00:59:30.123Z"));
  EXPECT_EQ(F(issue, "updated"), Value("2024-05-02T14:04:05.000Z"));
  EXPECT_EQ(F(issue, "Resolved"), Value());
  EXPECT_EQ(F(issue, "Due date"), Value("2024-06-14"));
  // Seconds in Jira, minutes here; 5430 s is not whole minutes.
  EXPECT_EQ(F(issue, "Original estimate"), Value(480));
  EXPECT_EQ(F(issue, "timeestimate"), Value(240));
  EXPECT_EQ(F(issue, "Time Spent"), Value(90.5));
  EXPECT_EQ(F(issue, "aggregatetimespent"), Value(150));
  EXPECT_EQ(F(issue, "Time tracking"),
            Object({{"originalEstimate", 480}, {"remainingEstimate", 240}, {"timeSpent", 90.5}}));
  EXPECT_EQ(F(issue, "Votes"), Value(3));
  EXPECT_EQ(F(issue, "Watchers"), Value(2));
  EXPECT_EQ(F(issue, "Work Ratio"), Value(18));
  EXPECT_EQ(F(issue, "parent"), Value("RAP-7"));
  EXPECT_EQ(F(issue, "Key"), Value("RAP-42"));
  EXPECT_EQ(F(issue, "Story point estimate"), Value(5.0));  // a double, though sent as 5
  EXPECT_EQ(F(issue, "Rank"), Value("0|i0002f:"));
  EXPECT_EQ(F(issue, "Sprint"), List({"RAP Sprint 11", "RAP Sprint 12"}));
  EXPECT_EQ(F(issue, "Customer Tier"), Value("Enterprise"));
  EXPECT_EQ(F(issue, "Platforms"), List({"Web", "iOS"}));
  EXPECT_EQ(F(issue, "Hardware"), Value("Laptop / ThinkPad X1"));
  EXPECT_EQ(F(issue, "Release notes"), Value("Paging fixed.\n\nUpgrade to 1.4."));
  EXPECT_EQ(F(issue, "Reviewers"), List({kLee, kRaj}));
  EXPECT_EQ(F(issue, "Go-live"), Value("2024-07-01"));
  EXPECT_EQ(F(issue, "Deployed at"), Value("2024-05-02T14:30:00.000Z"));
  EXPECT_EQ(F(issue, "Design review"), Value("Approved by design"));
  EXPECT_EQ(F(issue, "Budget"), Value(1250.0));
  EXPECT_EQ(F(issue, "Team").StringOr("name"), "Platform team");  // unknown type: as it is
  EXPECT_EQ(F(issue, "Linked Issues"), List({}));                 // not in the answer, an array
  EXPECT_EQ(F(issue, "description"),
            Value("Import stops early\n\n"
                  "The board import stops after the first page.\n"
                  "Seen by @Raj Patel \u26a0\ufe0f see https://acme.atlassian.net/browse/RAP-7\n\n"
                  "- 42 issues: fine\n"
                  "- 43 issues: stops\n"
                  "  - on Cloud\n\n"
                  "1. Open the board\n"
                  "2. Import\n\n"
                  "boardsync sync --full\n  exit 1\n\n"
                  "Workaround: PAGE SIZE 500\n\n"
                  "Size | Result\n"
                  "43 | 42 imported\n\n"
                  "Due 2024-06-13 (unknown node)"));
  // Only the names the mapping reads: not the ids behind them, not built-ins
  // or names no field has.
  EXPECT_EQ(issue.fields.size(), 42u);
  EXPECT_FALSE(issue.fields.contains("customfield_10016"));
  EXPECT_FALSE(issue.fields.contains("assignee"));
  EXPECT_FALSE(issue.fields.contains("$key"));
  EXPECT_FALSE(issue.fields.contains("Nonexistent field"));
  EXPECT_EQ(selection.unknown, std::vector<std::string>{"Nonexistent field"});
}

TEST(DecodeJiraSearchPage, CloudEmptyFieldsAreNullOrEmptyLists) {
  JiraSearchPage page =
      PageOk(ReadData("cloud_search_page.json"), Select("cloud_fields.json", kCloudNames));
  ASSERT_EQ(page.issues.size(), 3u);
  const Issue& issue = page.issues[1];
  ASSERT_EQ(issue.decode_error, "");
  EXPECT_EQ(issue.key, "RAP-43");
  for (const char* name :
       {"Assignee", "resolution", "Resolved", "Due date", "Original estimate", "Time Spent",
        "parent", "Story point estimate", "Customer Tier", "Hardware", "Release notes", "Go-live",
        "Deployed at", "description", "Environment", "Budget", "Team", "Rank"}) {
    EXPECT_EQ(F(issue, name), Value()) << name;
  }
  for (const char* name : {"labels", "Components", "Fix versions", "Sprint", "Platforms",
                           "Reviewers", "Linked Issues"}) {
    EXPECT_EQ(F(issue, name), List({})) << name;
  }
  EXPECT_EQ(F(issue, "Time tracking"), Object({{"originalEstimate", Value()},
                                               {"remainingEstimate", Value()},
                                               {"timeSpent", Value()}}));
  EXPECT_EQ(F(issue, "Votes"), Value(0));
  EXPECT_EQ(F(issue, "Reporter"), kMia);
}

TEST(DecodeJiraSearchPage, CloudResolvedIssueAndOtherZones) {
  JiraSearchPage page =
      PageOk(ReadData("cloud_search_page.json"), Select("cloud_fields.json", kCloudNames));
  ASSERT_EQ(page.issues.size(), 3u);
  const Issue& issue = page.issues[2];
  ASSERT_EQ(issue.decode_error, "");
  EXPECT_EQ(issue.created_ms, 1711962000000);  // 2024-04-01T09:00:00Z
  EXPECT_EQ(issue.updated_ms, 1714666200500);  // 2024-05-02T21:40:00.500+05:30
  ASSERT_TRUE(issue.resolved_ms.has_value());
  EXPECT_EQ(*issue.resolved_ms, 1714666199999);
  EXPECT_EQ(F(issue, "Resolved"), Value("2024-05-02T16:09:59.999Z"));
  EXPECT_EQ(F(issue, "resolution"), Value("Done"));
  EXPECT_EQ(F(issue, "Assignee"), kLee);
  EXPECT_EQ(F(issue, "Story point estimate"), Value(2.5));
  EXPECT_EQ(F(issue, "Hardware"), Value("Desktop"));  // a cascade without its child
  EXPECT_EQ(F(issue, "Sprint"), List({"RAP Sprint 12"}));
  EXPECT_EQ(F(issue, "description"), Value(""));  // an empty document
  EXPECT_EQ(F(issue, "Original estimate"), Value(30));
  EXPECT_EQ(
      F(issue, "Time tracking"),
      Object({{"originalEstimate", 30}, {"remainingEstimate", Value()}, {"timeSpent", Value()}}));
}

TEST(DecodeJiraSearchPage, CloudLastPage) {
  JiraSearchPage page =
      PageOk(ReadData("cloud_search_last.json"), Select("cloud_fields.json", {"summary"}));
  EXPECT_TRUE(page.last);
  EXPECT_EQ(page.next_page_token, "");
  ASSERT_EQ(page.issues.size(), 1u);
  EXPECT_EQ(page.issues[0].key, "RAP-44");
  EXPECT_EQ(F(page.issues[0], "summary"), Value("Paging cursor keeps the minute"));
}

TEST(DecodeJiraSearchPage, CloudPaging) {
  JiraFieldSelection none;
  // No token means no next page, whatever isLast says (JRACLOUD-92184).
  EXPECT_TRUE(PageOk(R"({"issues":[],"isLast":false})", none).last);
  EXPECT_TRUE(PageOk(R"({"issues":[]})", none).last);
  EXPECT_TRUE(PageOk(R"({"issues":[],"nextPageToken":null})", none).last);
  EXPECT_TRUE(PageOk(R"({"issues":[],"nextPageToken":"abc","isLast":true})", none).last);
  JiraSearchPage more = PageOk(R"({"issues":[],"nextPageToken":"abc"})", none);
  EXPECT_FALSE(more.last);
  EXPECT_EQ(more.next_page_token, "abc");
}

// --- Data Center -----------------------------------------------------------------

TEST(DecodeJiraSearchPage, DataCenterPage) {
  JiraFieldSelection selection = Select("dc_fields.json", kDataCenterNames);
  JiraSearchPage page =
      PageOk(ReadData("dc_search_page.json"), selection, "https://jira.example.com/jira/");
  EXPECT_FALSE(page.last);  // 2 of 3
  EXPECT_EQ(page.start_at, 0);
  EXPECT_EQ(page.total, 3);
  EXPECT_EQ(page.next_page_token, "");
  ASSERT_EQ(page.issues.size(), 2u);

  const Issue& issue = page.issues[0];
  ASSERT_EQ(issue.decode_error, "");
  EXPECT_EQ(issue.id, "20107");
  EXPECT_EQ(issue.key, "OPS-7");
  EXPECT_EQ(issue.url, "https://jira.example.com/jira/browse/OPS-7");
  EXPECT_EQ(issue.created_ms, 1707123011000);  // +0530
  EXPECT_EQ(issue.updated_ms, 1708400700000);
  EXPECT_EQ(F(issue, "Created"), Value("2024-02-05T08:50:11.000Z"));
  // Data Center users are known by their user name.
  EXPECT_EQ(F(issue, "Assignee"), User("akovacs", "Anna Kovacs", "anna.kovacs@example.com"));
  EXPECT_EQ(F(issue, "Reporter"), User("bert", "Bert Lange", "bert@example.com"));
  // Wiki markup is text as it is.
  EXPECT_EQ(F(issue, "description"),
            Value("h2. Steps\n* renew with the CA\n* roll out to *all* ingest nodes\n\n{code}\n"
                  "systemctl reload ingest\n{code}"));
  EXPECT_EQ(F(issue, "Status"), Value("Selected for Development"));
  EXPECT_EQ(F(issue, "Story Points"), Value(8.0));
  EXPECT_EQ(F(issue, "Sprint"), List({"OPS Sprint 7, hardening"}));
  EXPECT_EQ(F(issue, "Epic Link"), Value("OPS-1"));
  EXPECT_EQ(F(issue, "Customer Tier"), Value("Internal"));
  EXPECT_EQ(F(issue, "Release notes"), Value("Restart *required*.\nNo downtime."));
  EXPECT_EQ(F(issue, "Reviewers"), List({User("bert", "Bert Lange", "bert@example.com")}));
  EXPECT_EQ(F(issue, "Hardware"), Value("Server / Rack 4"));
  EXPECT_EQ(F(issue, "Go-live"), Value("2024-03-01"));
  EXPECT_EQ(F(issue, "Approvers group"), List({"ops-leads"}));
  EXPECT_EQ(F(issue, "parent"), Value());  // asked for, not in this answer
  EXPECT_EQ(F(issue, "Time Spent"), Value());
  EXPECT_EQ(F(issue, "Original estimate"), Value(120));
  EXPECT_EQ(F(issue, "Time tracking"),
            Object({{"originalEstimate", 120}, {"remainingEstimate", 60}, {"timeSpent", Value()}}));

  const Issue& second = page.issues[1];
  ASSERT_EQ(second.decode_error, "");
  EXPECT_EQ(F(second, "Sprint"), List({"OPS Sprint 8"}));  // newer Data Center: objects
  EXPECT_EQ(F(second, "description"), Value(""));
  EXPECT_EQ(F(second, "Assignee"), Value());
}

TEST(DecodeJiraSearchPage, DataCenterPaging) {
  JiraFieldSelection none;
  const std::string issue =
      R"({"id":"1","key":"A-1","fields":{"updated":"2024-01-01T00:00:00.000+0000"}})";
  auto page = [&](std::string_view head, int issues) {
    std::string text = "{" + std::string(head) + ",\"issues\":[";
    for (int i = 0; i < issues; ++i) {
      text += (i ? "," : "") + issue;
    }
    return PageOk(text + "]}", none);
  };
  EXPECT_FALSE(page(R"("startAt":0,"maxResults":2,"total":5)", 2).last);
  EXPECT_FALSE(page(R"("startAt":2,"maxResults":2,"total":5)", 2).last);
  EXPECT_TRUE(page(R"("startAt":4,"maxResults":2,"total":5)", 1).last);
  EXPECT_TRUE(page(R"("startAt":0,"total":0)", 0).last);
  // Fewer issues than total says, and none on this page: the end, not a loop.
  EXPECT_TRUE(page(R"("startAt":6,"maxResults":2,"total":9)", 0).last);
  // Jira may cut maxResults; only startAt + what came counts.
  EXPECT_FALSE(page(R"("startAt":0,"maxResults":1000,"total":3000)", 2).last);
  JiraSearchPage huge = page(R"("startAt":9223372036854775807,"total":9223372036854775807)", 1);
  EXPECT_TRUE(huge.last);
  EXPECT_EQ(huge.start_at, 9223372036854775807);
}

// --- pages of the wrong shape fail as a whole --------------------------------------

TEST(DecodeJiraSearchPage, WrongShapesFailTheWholePage) {
  JiraFieldSelection none;
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "not a JSON object"},
      {"null", "not a JSON object"},
      {R"({"errorMessages":["The requested API has been removed."]})", "no issues array"},
      {R"({"issues":{}})", "no issues array"},
      {R"({"issues":null,"isLast":true})", "no issues array"},
      {R"({"issues":[],"isLast":"true"})", "isLast is not a boolean"},
      {R"({"issues":[],"nextPageToken":17})", "nextPageToken is not a string"},
      {R"({"issues":[],"startAt":"0","total":1})", "startAt is not a count"},
      {R"({"issues":[],"startAt":-1,"total":1})", "startAt is not a count"},
      {R"({"issues":[],"startAt":0})", "total is not a count"},
      {R"({"issues":[],"total":4})", "startAt is not a count"},
      {R"({"issues":[],"startAt":0,"total":1.5})", "total is not a count"},
      {R"({"issues":[],"startAt":0,"total":1e300})", "total is not a count"},
  };
  for (const auto& [text, what] : cases) {
    auto page = DecodePage(text, none);
    ASSERT_FALSE(page.has_value()) << text;
    EXPECT_EQ(page.error().code, ErrorCode::kBadResponse) << text;
    EXPECT_THAT(page.error().message, HasSubstr(what)) << text;
  }
}

// --- faults stay small ----------------------------------------------------------------

TEST(DecodeJiraSearchPage, HostileIssuesFailAloneAndNameTheField) {
  JiraFieldSelection selection =
      Select("cloud_fields.json",
             {"summary", "Story point estimate", "Go-live", "Assignee", "Labels", "description",
              "Hardware", "Deployed at", "Time Spent", "Work Ratio", "Budget"});
  JiraSearchPage page = PageOk(ReadData("cloud_search_hostile.json"), selection);
  EXPECT_TRUE(page.last);
  ASSERT_EQ(page.issues.size(), 16u);
  constexpr std::int64_t kMay1 = 1714557600000;  // 2024-05-01T10:00:00Z

  struct Expected {
    const char* id;
    const char* key;
    std::int64_t updated_ms;
    std::vector<const char*> error;  // pieces of decode_error; empty: decoded
  };
  const std::vector<Expected> expected = {
      {"10101",
       "BAD-1",
       kMay1,
       {"issue BAD-1: ", "\"Story point estimate\" (customfield_10016)", "not a number"}},
      {"10102", "BAD-2", kMay1, {"issue BAD-2: ", "\"Go-live\" (customfield_10055)", "not a date"}},
      {"", "BAD-3", kMay1, {"issue BAD-3 has no numeric id"}},
      {"10104", "", kMay1, {"issue 10104 has no key"}},
      {"", "", 0, {"not a JSON object"}},
      {"10106", "BAD-6", 0, {"issue BAD-6: ", "updated is not a date and time"}},
      {"10107", "OK-7", kMay1, {}},
      {"10108", "OK-8", kMay1, {}},
      {"10109", "BAD-9", kMay1, {"issue BAD-9: ", "\"Assignee\" (assignee)", "not a JSON object"}},
      {"10110", "BAD-10", 0, {"issue BAD-10: ", "updated is not a date and time"}},
      {"", "BAD-11", kMay1, {"issue BAD-11 has no numeric id"}},
      {"10112", "BAD-12", kMay1, {"issue BAD-12: ", "\"Labels\" (labels)", "not a JSON array"}},
      {"10113",
       "BAD-13",
       kMay1,
       {"issue BAD-13: ", "\"Description\" (description)", "not a string"}},
      {"10114",
       "BAD-14",
       kMay1,
       {"issue BAD-14: ", "\"Hardware\" (customfield_10052)", "no value"}},
      {"10115",
       "BAD-15",
       kMay1,
       {"issue BAD-15: ", "\"Deployed at\" (customfield_10056)", "not a date and time"}},
      {"10116", "BAD-16", 0, {"issue BAD-16: ", "fields is missing"}},
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Issue& issue = page.issues[i];
    const Expected& want = expected[i];
    SCOPED_TRACE("issue " + std::to_string(i) + ": " + issue.decode_error);
    EXPECT_EQ(issue.id, want.id);
    EXPECT_EQ(issue.key, want.key);
    EXPECT_EQ(issue.updated_ms, want.updated_ms);
    if (want.error.empty()) {
      EXPECT_EQ(issue.decode_error, "");
    } else {
      EXPECT_TRUE(issue.fields.empty());
      for (const char* piece : want.error) {
        EXPECT_THAT(issue.decode_error, HasSubstr(piece));
      }
    }
  }

  // Repeated keys: the first counts (key, fields, and a member in fields).
  const Issue& repeated = page.issues[6];
  EXPECT_EQ(F(repeated, "summary"), Value("first"));
  // Numbers at the edges stay numbers.
  EXPECT_EQ(F(repeated, "Story point estimate"), Value(1e308));
  EXPECT_EQ(F(repeated, "Time Spent"), Value(1e300 / 60.0));
  EXPECT_EQ(F(repeated, "Work Ratio"), Value(1e20));  // past int64: a double
  EXPECT_EQ(F(repeated, "Budget"), Value(-9223372036854775808.0));
  // Bytes that are not UTF-8 and a lone surrogate become U+FFFD.
  EXPECT_EQ(F(page.issues[7], "summary"),
            Value("broken \xEF\xBF\xBD\xEF\xBF\xBD( text \xEF\xBF\xBD end"));
}

TEST(DecodeJiraIssue, NumericIdsAndKeys) {
  JiraFieldSelection none;
  auto decode = [&](const std::string& text) {
    Json json(text);
    return DecodeJiraIssue(json.root(), none, kCloudSite);
  };
  const std::string fields = R"("fields":{"updated":"2024-01-01T00:00:00Z"})";
  auto numeric = decode(R"({"id":10042,"key":"RAP-42",)" + fields + "}");
  ASSERT_TRUE(numeric.has_value()) << numeric.error().message;
  EXPECT_EQ(numeric->id, "10042");
  for (const char* id : {R"("")", R"("-1")", R"("1e3")", R"(-5)", R"(1.5)", R"(null)",
                         R"("123456789012345678901")", R"({"id":"1"})"}) {
    auto bad = decode(std::string(R"({"key":"RAP-1","id":)") + id + "," + fields + "}");
    ASSERT_FALSE(bad.has_value()) << id;
    EXPECT_THAT(bad.error().message, HasSubstr("RAP-1 has no numeric id")) << id;
  }
  for (const char* key : {R"("")", R"(42)", R"(null)"}) {
    auto bad = decode(std::string(R"({"id":"7","key":)") + key + "," + fields + "}");
    ASSERT_FALSE(bad.has_value()) << key;
    EXPECT_THAT(bad.error().message, HasSubstr("issue 7 has no key")) << key;
  }
  // Keys are part of a path: whatever they hold is encoded.
  auto odd = decode(R"({"id":"1","key":"A B/../x?y",)" + fields + "}");
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->url, "https://acme.atlassian.net/browse/A%20B%2F..%2Fx%3Fy");
}

TEST(DecodeJiraIssue, IssueTimesWithinTheYears1970To9999) {
  JiraFieldSelection none;
  auto decode = [&](const std::string& fields) {
    Json json(R"({"id":"1","key":"A-1","fields":{)" + fields + "}}");
    return DecodeJiraIssue(json.root(), none, kCloudSite);
  };
  EXPECT_FALSE(decode(R"("updated":"1969-12-31T23:59:59.999Z")").has_value());
  EXPECT_TRUE(decode(R"("updated":"1970-01-01T00:00:00.000Z")").has_value());
  EXPECT_TRUE(decode(R"("updated":"9999-12-31T23:59:59.999Z")").has_value());
  EXPECT_FALSE(decode(R"("updated":"9999-12-31T23:59:59.999-0100")").has_value());
  EXPECT_FALSE(decode(R"("updated":1714557600000)").has_value());
  EXPECT_FALSE(decode(R"("updated":null)").has_value());
  EXPECT_FALSE(decode(R"("created":"2024-01-01T00:00:00Z")").has_value());  // no updated
  auto no_created = decode(R"("updated":"2024-01-01T00:00:00Z","created":null)");
  ASSERT_TRUE(no_created.has_value());
  EXPECT_EQ(no_created->created_ms, 0);
  EXPECT_FALSE(
      decode(R"("updated":"2024-01-01T00:00:00Z","created":"0001-01-01T00:00:00Z")").has_value());
  // A resolution may be dated anywhere a four-digit year reaches.
  auto early =
      decode(R"("updated":"2024-01-01T00:00:00Z","resolutiondate":"0001-01-01T00:00:00Z")");
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->resolved_ms, kMinIsoMs);
  auto bad = decode(R"("updated":"2024-01-01T00:00:00Z","resolutiondate":"yesterday")");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().message, HasSubstr("issue A-1: resolutiondate"));
}

TEST(UndecodedJiraIssue, KeepsWhatIsReadable) {
  Json json(R"({"id":"12","key":"X-12","fields":{"updated":"2024-05-01T12:00:00.000+0200"}})");
  Issue issue = UndecodedJiraIssue(json.root(), "why");
  EXPECT_EQ(issue.decode_error, "why");
  EXPECT_EQ(issue.id, "12");
  EXPECT_EQ(issue.key, "X-12");
  EXPECT_EQ(issue.updated_ms, 1714557600000);
  Json list("[1]");
  Issue nothing = UndecodedJiraIssue(list.root(), "why");
  EXPECT_EQ(nothing.id, "");
  EXPECT_EQ(nothing.key, "");
  EXPECT_EQ(nothing.updated_ms, 0);
}

// --- single values ---------------------------------------------------------------------

JiraField Field(std::string type, std::string items = "", std::string custom_type = "",
                std::string id = "customfield_1", bool custom = true) {
  JiraField f;
  f.id = std::move(id);
  f.key = f.id;
  f.name = "Field";
  f.custom = custom;
  f.type = std::move(type);
  f.items = std::move(items);
  f.custom_type = std::move(custom_type);
  return f;
}

Result<Value> Decode(const std::string& json_text, const JiraField& field) {
  Json json(json_text);
  return JiraFieldValue(json.root(), field, "RAP-9");
}

Value DecodeOk(const std::string& json_text, const JiraField& field) {
  auto v = Decode(json_text, field);
  EXPECT_TRUE(v.has_value()) << json_text << ": " << (v ? "" : v.error().message);
  return v ? *v : Value("<decode failed>");
}

void ExpectBad(const std::string& json_text, const JiraField& field, const std::string& what) {
  auto v = Decode(json_text, field);
  ASSERT_FALSE(v.has_value()) << json_text << " decoded to " << v->ToJson();
  EXPECT_EQ(v.error().code, ErrorCode::kBadResponse);
  EXPECT_THAT(v.error().message, HasSubstr("issue RAP-9: field \"Field\" (customfield_1): "));
  EXPECT_THAT(v.error().message, HasSubstr(what)) << json_text;
}

TEST(JiraFieldValue, NullIsNullOrAnEmptyList) {
  EXPECT_EQ(DecodeOk("null", Field("option")), Value());
  EXPECT_EQ(DecodeOk("null", Field("array", "option")), List({}));
  EXPECT_EQ(DecodeOk("null", Field("array", "json", "com.pyxis.greenhopper.jira:gh-sprint")),
            List({}));
  EXPECT_EQ(DecodeOk("null", Field("")), Value());
}

TEST(JiraFieldValue, Numbers) {
  EXPECT_EQ(DecodeOk("3", Field("number")), Value(3.0));  // custom: Jira keeps doubles
  EXPECT_EQ(DecodeOk("3", Field("number", "", "", "workratio", false)), Value(3));
  EXPECT_EQ(DecodeOk("-0.25", Field("number", "", "", "workratio", false)), Value(-0.25));
  ExpectBad(R"("3")", Field("number"), "not a number");
  ExpectBad("true", Field("number"), "not a number");
  ExpectBad("[3]", Field("number"), "not a number");
}

TEST(JiraFieldValue, Durations) {
  JiraField spent = Field("number", "", "", "timespent", false);
  spent.name = "Time Spent";
  EXPECT_EQ(DecodeOk("3600", spent), Value(60));
  EXPECT_EQ(DecodeOk("3600.0", spent), Value(60));
  EXPECT_EQ(DecodeOk("90", spent), Value(1.5));
  EXPECT_EQ(DecodeOk("0", spent), Value(0));
  EXPECT_EQ(DecodeOk("1.5", spent), Value(0.025));
  EXPECT_EQ(DecodeOk("-9223372036854775808", spent),
            Value(static_cast<double>(std::numeric_limits<std::int64_t>::min()) / 60.0));
  auto bad = Decode(R"("1h")", spent);
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(
      bad.error().message,
      HasSubstr(
          "issue RAP-9: field \"Time Spent\" (timespent): the value is not a number of seconds"));
  // By the schema's system name too (a catalogue may give the id another way).
  JiraField by_system = Field("number", "", "", "aggregate", false);
  by_system.system = "aggregatetimeoriginalestimate";
  EXPECT_EQ(DecodeOk("600", by_system), Value(10));
  ExpectBad(R"({"originalEstimateSeconds":"10m"})", Field("timetracking"),
            "not a number of seconds");
  ExpectBad(R"("10m")", Field("timetracking"), "not a JSON object");
}

TEST(JiraFieldValue, Strings) {
  EXPECT_EQ(DecodeOk(R"("plain")", Field("string")), Value("plain"));
  EXPECT_EQ(DecodeOk(R"("")", Field("string")), Value(""));
  EXPECT_EQ(
      DecodeOk(
          R"({"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"rich"}]}]})",
          Field("string")),
      Value("rich"));
  ExpectBad("42", Field("string"), "not a string");
  ExpectBad(R"({"type":"paragraph"})", Field("string"), "not a string");
  ExpectBad(R"(["a"])", Field("string"), "not a string");
}

TEST(JiraFieldValue, Dates) {
  EXPECT_EQ(DecodeOk(R"("2024-02-29")", Field("date")), Value("2024-02-29"));
  for (const char* bad :
       {R"("2023-02-29")", R"("2024-3-1")", R"("2024-03-01T00:00:00Z")", R"("0000-01-01")",
        R"("-001-01-01")", R"(20240301)", R"("")", R"("next week")"}) {
    ExpectBad(bad, Field("date"), "not a date (YYYY-MM-DD)");
  }
  EXPECT_EQ(DecodeOk(R"("2024-03-10T01:59:30.123+0100")", Field("datetime")),
            Value("2024-03-10T00:59:30.123Z"));
  EXPECT_EQ(DecodeOk(R"("2024-03-10T01:59:30.123+01:00")", Field("datetime")),
            Value("2024-03-10T00:59:30.123Z"));
  EXPECT_EQ(DecodeOk(R"("2024-03-10T01:59:30Z")", Field("datetime")),
            Value("2024-03-10T01:59:30.000Z"));
  EXPECT_EQ(DecodeOk(R"("2024-03-09T23:59:30.123-0200")", Field("datetime")),
            Value("2024-03-10T01:59:30.123Z"));
  for (const char* bad :
       {R"("2024-03-10T01:59:30.123")", R"("2024-03-10")", R"("2024-03-10 01:59:30Z")",
        R"("2024-03-10T01:59:30+2400")", R"("2024-03-10T01:59:30+0160")",
        R"("2024-03-10T01:59:30+01")", R"("2024-03-10T25:00:00Z")", R"(1710032370123)",
        R"("10000-03-10T01:59:30Z")", R"("0000-12-31T23:00:00Z")"}) {
    ExpectBad(bad, Field("datetime"), "not a date and time");
  }
}

TEST(JiraFieldValue, ParseJiraDateTime) {
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T01:59:30.123+0100"), 1710032370123);
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T01:59:30.123+01:00"), 1710032370123);
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T00:59:30.123Z"), 1710032370123);
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T06:29:30.123+0530"), 1710032370123);
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T00:59:30.123456789Z"), 1710032370123);
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T00:59:30.123-00:00"), 1710032370123);
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T00:59:30.123"), std::nullopt);
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T00:59:30.123+"), std::nullopt);
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T00:59:30.123+01:0"), std::nullopt);
  EXPECT_EQ(ParseJiraDateTime("2024-03-10T00:59:30.123+0a00"), std::nullopt);
  EXPECT_EQ(ParseJiraDateTime(""), std::nullopt);
  EXPECT_EQ(ParseJiraDateTime("Z"), std::nullopt);
}

TEST(JiraFieldValue, NamedValuesOptionsAndCascades) {
  EXPECT_EQ(DecodeOk(R"({"name":"Done","id":"3"})", Field("status")), Value("Done"));
  EXPECT_EQ(DecodeOk(R"({"name":"1.4","released":false})", Field("version")), Value("1.4"));
  EXPECT_EQ(DecodeOk(R"({"name":"admins"})", Field("group")), Value("admins"));
  ExpectBad(R"({"id":"3"})", Field("priority"), "a value has no name");
  ExpectBad(R"("High")", Field("priority"), "not a JSON object");
  EXPECT_EQ(DecodeOk(R"({"value":"Gold","id":"1"})", Field("option")), Value("Gold"));
  ExpectBad(R"({"value":7})", Field("option"), "a value has no value");
  EXPECT_EQ(DecodeOk(R"({"value":"A","child":{"value":"B"}})", Field("option-with-child")),
            Value("A / B"));
  EXPECT_EQ(DecodeOk(R"({"value":"A","child":null})", Field("option-with-child")), Value("A"));
  ExpectBad(R"({"value":"A","child":{"id":"2"}})", Field("option-with-child"), "no value");
  EXPECT_EQ(DecodeOk(R"([{"value":"Web"},null,{"value":"iOS"}])", Field("array", "option")),
            List({"Web", Value(), "iOS"}));
  ExpectBad(R"({"value":"Web"})", Field("array", "option"), "not a JSON array");
  ExpectBad(R"([{"value":"Web"},{"id":"2"}])", Field("array", "option"), "no value");
  EXPECT_EQ(DecodeOk(R"({"key":"RAP","name":"Rapid","id":"1"})", Field("project")),
            Object({{"key", "RAP"}, {"name", "Rapid"}}));
  ExpectBad(R"({"key":1})", Field("project"), "key is not a string");
  EXPECT_EQ(DecodeOk(R"({"votes":4,"hasVoted":true})", Field("votes")), Value(4));
  ExpectBad(R"({"hasVoted":true})", Field("votes"), "no votes");
  EXPECT_EQ(DecodeOk(R"({"watchCount":1})", Field("watches")), Value(1));
  EXPECT_EQ(DecodeOk(R"({"key":"RAP-1","id":"1"})", Field("", "", "", "parent", false)),
            Value("RAP-1"));
  JiraField parent = Field("issuelink");
  parent.system = "parent";
  ExpectBad(R"("RAP-1")", parent, "not a JSON object");
}

TEST(JiraFieldValue, Users) {
  JiraField user = Field("user");
  EXPECT_EQ(
      DecodeOk(R"({"accountId":"abc","displayName":"A","emailAddress":"a@x","name":"","key":""})",
               user),
      User("abc", "A", "a@x"));
  EXPECT_EQ(DecodeOk(R"({"name":"jdoe","key":"JIRAUSER1","displayName":"J Doe"})", user),
            User("jdoe", "J Doe", Value()));
  EXPECT_EQ(DecodeOk(R"({"key":"JIRAUSER1"})", user), User("JIRAUSER1", "JIRAUSER1", Value()));
  EXPECT_EQ(DecodeOk(R"({"accountId":"abc","displayName":"","emailAddress":""})", user),
            User("abc", "abc", Value()));
  EXPECT_EQ(DecodeOk("{}", user), User(Value(), Value(), Value()));
  ExpectBad(R"({"accountId":7})", user, "accountId is not a string");
  ExpectBad(R"({"accountId":"a","emailAddress":["x"]})", user, "emailAddress is not a string");
  ExpectBad(R"("jdoe")", user, "a user is not a JSON object");
  EXPECT_EQ(DecodeOk(R"([{"name":"a"},{"accountId":"b"}])", Field("array", "user")),
            List({User("a", "a", Value()), User("b", "b", Value())}));
}

TEST(JiraFieldValue, Sprints) {
  JiraField sprint = Field("array", "string", "com.pyxis.greenhopper.jira:gh-sprint");
  EXPECT_EQ(
      DecodeOk(
          R"(["com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=1,rapidViewId=2,state=ACTIVE,name=S 1,startDate=2024-01-01T00:00:00.000Z,endDate=<null>,sequence=1]"])",
          sprint),
      List({"S 1"}));
  // Commas and '=' in a name; the name last; a "name=" inside another
  // member; strings of another form are kept whole.
  EXPECT_EQ(
      DecodeOk(
          R"(["x.Sprint@1[id=1,state=FUTURE,name=a,b=c d,goal=,startDate=<null>]", "x.Sprint@1[id=1,goal=rename=fine,name=a,b=c d,e]", "x.Sprint@2[name=]", "no brackets", "x[id=1]", "x[id=1,name=cut"])",
          sprint),
      List({"a,b=c d", "a,b=c d,e", "", "no brackets", "x[id=1]", "x[id=1,name=cut"}));
  EXPECT_EQ(DecodeOk(R"([{"id":1,"name":"S 2","state":"future"}])", sprint), List({"S 2"}));
  ExpectBad(R"([{"id":1}])", sprint, "no name");
  ExpectBad(R"({"name":"S"})", sprint, "not a JSON array");
}

TEST(JiraFieldValue, UnknownTypesPassThrough) {
  EXPECT_EQ(DecodeOk(R"({"a":[1,"b",null],"c":{"d":true}})", Field("sd-servicelevelagreement")),
            Object({{"a", List({1, "b", Value()})}, {"c", Object({{"d", true}})}}));
  EXPECT_EQ(DecodeOk(R"("OPS-1")", Field("any")), Value("OPS-1"));
  EXPECT_EQ(DecodeOk(R"([{"id":"1","type":{"name":"Blocks"}}])", Field("array", "issuelinks")),
            List({Object({{"id", "1"}, {"type", Object({{"name", "Blocks"}})}})}));
  EXPECT_EQ(DecodeOk("5", Field("")), Value(5));
}

// --- rich text ---------------------------------------------------------------------------

std::string Adf(const std::string& content) {
  return R"({"type":"doc","version":1,"content":[)" + content + "]}";
}

std::string AdfText(const std::string& doc) {
  Json json(doc);
  auto text = JiraAdfToText(json.root());
  EXPECT_TRUE(text.has_value()) << (text ? "" : text.error().message);
  return text ? *text : "<failed>";
}

std::string P(const std::string& text) {
  return R"({"type":"paragraph","content":[{"type":"text","text":")" + text + R"("}]})";
}

TEST(JiraAdfToText, ParagraphsBreaksAndInlineNodes) {
  EXPECT_EQ(AdfText(Adf(P("one") + "," + P("two"))), "one\n\ntwo");
  EXPECT_EQ(
      AdfText(Adf(
          R"({"type":"paragraph","content":[{"type":"text","text":"a"},{"type":"hardBreak"},{"type":"text","text":"b"}]})")),
      "a\nb");
  EXPECT_EQ(
      AdfText(Adf(
          R"({"type":"paragraph","content":[{"type":"emoji","attrs":{"shortName":":smile:"}},{"type":"mention","attrs":{"id":"1"}},{"type":"date","attrs":{"timestamp":"soon"}},{"type":"placeholder","attrs":{"text":"Type here"}}]})")),
      ":smile:soon");
  EXPECT_EQ(AdfText(Adf("")), "");
  EXPECT_EQ(AdfText(R"({"type":"doc"})"), "");
  EXPECT_EQ(AdfText(R"({"type":"doc","content":{"type":"text","text":"not a list"}})"), "");
  // Not nodes at all: no text, no failure.
  EXPECT_EQ(AdfText(Adf(R"(7,null,"x",[],)" + P("kept"))), "kept");
}

TEST(JiraAdfToText, ListsNestAndNumber) {
  std::string item_a = R"({"type":"listItem","content":[)" + P("a") + "]}";
  std::string nested = R"({"type":"listItem","content":[)" + P("b") + "," + P("b2") +
                       R"(,{"type":"orderedList","attrs":{"order":7},"content":[)" + item_a + "," +
                       item_a + "]}]}";
  EXPECT_EQ(AdfText(Adf(R"({"type":"bulletList","content":[)" + item_a + "," + nested + "]}")),
            "- a\n- b\n  b2\n  7. a\n  8. a");
  EXPECT_EQ(
      AdfText(Adf(R"({"type":"orderedList","attrs":{"order":-3},"content":[)" + item_a + "]}")),
      "1. a");
  EXPECT_EQ(
      AdfText(Adf(
          R"({"type":"taskList","content":[{"type":"taskItem","attrs":{"state":"DONE"},"content":[{"type":"text","text":"ship"}]}]})")),
      "- ship");
}

TEST(JiraAdfToText, CodeQuotesAndUnknownNodes) {
  EXPECT_EQ(AdfText(Adf(R"({"type":"codeBlock","content":[{"type":"text","text":"a\n  b\n"}]})")),
            "a\n  b\n");
  EXPECT_EQ(AdfText(Adf(R"({"type":"blockquote","content":[)" + P("q1") + "," + P("q2") + "]}")),
            "q1\n\nq2");
  EXPECT_EQ(
      AdfText(Adf(R"({"type":"expand","attrs":{"title":"More"},"content":[)" + P("x") + "]}")),
      "More\n\nx");
  EXPECT_EQ(AdfText(Adf(R"({"type":"futureBlock","content":[)" + P("x") + "," + P("y") + "]}")),
            "x\n\ny");
  EXPECT_EQ(AdfText(Adf(R"({"type":"futureLeaf","text":"leaf"})")), "leaf");
  EXPECT_EQ(AdfText(Adf(R"({"type":"rule"},)" + P("after"))), "after");
}

std::string Nested(int depth) {
  // `depth` ADF nodes, the doc counted: doc > blockquote > ... > paragraph.
  std::string open = R"({"type":"doc","content":[)";
  std::string close = "]}";
  for (int i = 2; i < depth; ++i) {
    open += R"({"type":"blockquote","content":[)";
    close += "]}";
  }
  return open + R"({"type":"paragraph"})" + close;
}

TEST(JiraAdfToText, DeepNestingIsBounded) {
  EXPECT_EQ(AdfText(Nested(24)), "");
  Json deep(Nested(25));
  auto text = JiraAdfToText(deep.root());
  ASSERT_FALSE(text.has_value());
  EXPECT_THAT(text.error().message, HasSubstr("nested deeper than 24 levels"));

  // In a page: that issue fails, naming the field; the page goes on.
  JiraFieldSelection selection = Select("cloud_fields.json", {"description", "summary"});
  std::string page =
      R"({"isLast":true,"issues":[{"id":"1","key":"DEEP-1","fields":{"updated":"2024-01-01T00:00:00Z","description":)" +
      Nested(29) +
      R"(}},{"id":"2","key":"OK-2","fields":{"updated":"2024-01-01T00:00:00Z","summary":"s"}}]})";
  JiraSearchPage decoded = PageOk(page, selection);
  ASSERT_EQ(decoded.issues.size(), 2u);
  EXPECT_THAT(
      decoded.issues[0].decode_error,
      HasSubstr("issue DEEP-1: field \"Description\" (description): rich text nested deeper"));
  EXPECT_EQ(decoded.issues[0].updated_ms, 1704067200000);
  EXPECT_EQ(decoded.issues[1].decode_error, "");
  // Deeper than the JSON parser reads: the whole answer is refused there.
  EXPECT_FALSE(ParseJsonDocument(R"({"issues":[{"fields":{"description":)" + Nested(31) + "}}]}")
                   .has_value());
}

TEST(JiraAdfToText, DeepListsAreBoundedToo) {
  std::string open = R"({"type":"doc","content":[)";
  std::string close = "]}";
  for (int i = 0; i < 14; ++i) {
    open += R"({"type":"bulletList","content":[{"type":"listItem","content":[)";
    close += "]}]}";
  }
  Json deep(open + P("x") + close);
  auto text = JiraAdfToText(deep.root());
  ASSERT_FALSE(text.has_value());
  EXPECT_THAT(text.error().message, HasSubstr("nested deeper than 24 levels"));
}

}  // namespace
}  // namespace boardsync

// The YouTrack FieldWriter against the sample tracker: values land as
// YouTrack stores them, targets are checked, created and attached, one
// refused issue leaves the others alone, and the token shows nowhere.

#include "connectors/youtrack/youtrack_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/cpprest_http_client.h"
#include "connectors/http/json.h"
#include "connectors/youtrack/youtrack_type.h"
#include "core/url.h"
#include "tests/support/http_test_client.h"
#include "tests/support/sample_tracker.h"

namespace boardsync {
namespace {

using std::chrono::milliseconds;

// Shaped like a permanent token; every message is searched for its secret part.
constexpr std::string_view kCanary = "perm:Y2FuYXJ5LmJvdA==.d3JpdGVy.CanaryQz7Writer5Secret9Kp";
constexpr std::string_view kCanarySecret = "CanaryQz7Writer5Secret9Kp";

// The client's waits before retries, recorded instead of slept.
struct Waits {
  std::mutex mu;
  std::vector<milliseconds> waits;
  std::vector<milliseconds> All() {
    std::lock_guard lock(mu);
    return waits;
  }
};

HttpClientOptions ClientOptions(Waits& waits) {
  HttpClientOptions options;
  options.sleep = [&waits](milliseconds wait, std::stop_token) {
    std::lock_guard lock(waits.mu);
    waits.waits.push_back(wait);
  };
  return options;
}

SampleTrackerOptions SampleOptions(std::function<std::int64_t()> clock = {}) {
  SampleTrackerOptions options;
  options.token = std::string(kCanary);
  options.guest_access = false;
  options.clock = std::move(clock);
  return options;
}

std::string JsonError(std::string_view error, std::string_view description) {
  return Value(Value::Object{{"error", error}, {"error_description", description}}).ToJson();
}

class YouTrackWriterTest : public testing::Test {
 protected:
  explicit YouTrackWriterTest(SampleTrackerOptions options = SampleOptions())
      : tracker_(std::move(options)), http_(ClientOptions(waits_)) {
    auto loaded = tracker_.LoadIssues(SampleIssuesPath());
    EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error().message);
    writer_ = MakeWriter();
  }

  // Through the tracker type, as the daemon makes it.
  std::unique_ptr<FieldWriter> MakeWriter() {
    EXPECT_NE(kYouTrackType.make_writer, nullptr);
    ConnectorContext context;
    context.connection_name = "acme-yt";
    context.base_url = tracker_.base_url();
    context.token = Secret(std::string(kCanary));
    context.timeout = milliseconds(10'000);
    context.http = &http_;
    auto writer = kYouTrackType.make_writer(TrackerOptions{}, std::move(context));
    EXPECT_TRUE(writer) << (writer ? "" : writer.error().message);
    return writer ? std::move(*writer) : nullptr;
  }

  IssueRef Ref(std::string_view key) {
    auto issue = tracker_.GetIssue(key);
    EXPECT_TRUE(issue) << key;
    return IssueRef{issue ? std::string(issue->StringOr("id")) : "", std::string(key)};
  }

  std::int64_t Updated(std::string_view key) {
    auto issue = tracker_.GetIssue(key);
    const Value* updated = issue ? issue->Find("updated") : nullptr;
    return updated != nullptr && updated->IsInt() ? updated->AsInt() : -1;
  }

  std::vector<TargetCheck> Prepare(const std::vector<WriteTarget>& targets, bool create,
                                   const std::vector<std::string>& keys) {
    std::vector<IssueRef> issues;
    for (const std::string& key : keys) {
      issues.push_back(Ref(key));
    }
    auto checks = writer_->Prepare(targets, create, issues, {});
    EXPECT_TRUE(checks) << (checks ? "" : checks.error().message);
    if (!checks) {
      return {};
    }
    EXPECT_EQ(checks->size(), targets.size());
    for (const TargetCheck& check : *checks) {
      Remember(check.problem);
    }
    return *checks;
  }

  WriteOutcome Write(std::string_view key, const std::vector<FieldValue>& values) {
    auto outcome = writer_->Write(Ref(key), values, {});
    EXPECT_TRUE(outcome) << (outcome ? "" : outcome.error().message);
    if (!outcome) {
      return WriteOutcome{true, "(error)", 0};
    }
    Remember(outcome->message);
    return *outcome;
  }

  // POSTs the tracker answered under `path_prefix`.
  std::size_t Posts(std::string_view path_prefix) {
    std::size_t n = 0;
    for (const auto& request : tracker_.requests()) {
      if (request.request.method == "POST" && request.api_path.starts_with(path_prefix)) {
        ++n;
      }
    }
    return n;
  }

  void Remember(const std::string& message) { messages_.push_back(message); }

  ~YouTrackWriterTest() override {
    for (const std::string& message : messages_) {
      EXPECT_EQ(message.find(kCanarySecret), std::string::npos) << message;
    }
  }

  Waits waits_;
  SampleTracker tracker_;
  CpprestHttpClient http_;
  std::unique_ptr<FieldWriter> writer_;
  std::vector<std::string> messages_;
};

const std::vector<WriteTarget> kSampleTargets = {{"Business value", FieldType::kFloat},
                                                 {"Story points", FieldType::kInteger},
                                                 {"Customer", FieldType::kString}};

TEST_F(YouTrackWriterTest, ValuesLandExactlyInOneRequestAndUpdatedMoves) {
  auto checks = Prepare(kSampleTargets, false, {"RAP-2", "SRV-4"});
  for (const TargetCheck& check : checks) {
    EXPECT_EQ(check.problem, "") << check.name;
    EXPECT_FALSE(check.created);
  }
  const std::int64_t before = Updated("RAP-2");
  tracker_.ClearRequests();

  WriteOutcome outcome = Write("RAP-2", {{"Business value", Value(7.125)},
                                         {"Story points", Value(std::int64_t{13})},
                                         {"Customer", Value("Initech")}});
  EXPECT_FALSE(outcome.refused) << outcome.message;
  EXPECT_EQ(tracker_.requests().size(), 1u);  // one POST for all three
  EXPECT_EQ(tracker_.RequestCount("/api/issues/2-17"), 1u);

  auto value = tracker_.FieldValue("RAP-2", "Business value");
  ASSERT_TRUE(value && value->IsNumber());
  EXPECT_EQ(value->AsNumber(), 7.125);
  value = tracker_.FieldValue("RAP-2", "Story points");
  ASSERT_TRUE(value && value->IsInt());
  EXPECT_EQ(value->AsInt(), 13);
  EXPECT_EQ(tracker_.FieldValue("RAP-2", "Customer"), Value("Initech"));
  // SRV-4 was not written.
  EXPECT_EQ(tracker_.FieldValue("SRV-4", "Story points"), Value(std::int64_t{13}));
  EXPECT_EQ(tracker_.FieldValue("SRV-4", "Business value"), Value(2.25));

  EXPECT_GT(Updated("RAP-2"), before);
  EXPECT_EQ(outcome.updated_ms, Updated("RAP-2"));

  // The issue list a pull reads shows the values.
  auto listed =
      HttpGet(tracker_.base_url() + "/api/issues?query=" + PercentEncode("issue id: RAP-2") +
                  "&fields=idReadable,updated,customFields(name,value)",
              {{"Authorization", "Bearer " + std::string(kCanary)}});
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto list = ParseJson(listed.body);
  ASSERT_TRUE(list && list->IsList() && list->AsList().size() == 1u) << listed.body;
  const Value& issue = list->AsList()[0];
  EXPECT_EQ(issue.Find("updated")->AsInt(), outcome.updated_ms);
  int seen = 0;
  for (const Value& field : issue.Find("customFields")->AsList()) {
    if (field.StringOr("name") == "Business value") {
      EXPECT_EQ(field.Find("value")->AsNumber(), 7.125);
      ++seen;
    } else if (field.StringOr("name") == "Customer") {
      EXPECT_EQ(*field.Find("value"), Value("Initech"));
      ++seen;
    }
  }
  EXPECT_EQ(seen, 2);
}

TEST_F(YouTrackWriterTest, SendsSimpleFieldsByNameWithoutMutingNotifications) {
  Prepare(kSampleTargets, false, {"RAP-4"});
  Write("RAP-4", {{"Business value", Value(1.5)}, {"Story points", Value()}});
  auto last = tracker_.LastRequest("/api/issues/2-23");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->request.method, "POST");
  EXPECT_EQ(last->request.Param("fields"), "updated");
  EXPECT_FALSE(last->request.Param("muteUpdateNotifications"));
  EXPECT_EQ(last->request.Header("content-type"), "application/json");
  auto body = ParseJson(last->request.body);
  ASSERT_TRUE(body) << last->request.body;
  EXPECT_EQ(
      *body,
      *ParseJson(R"({"customFields":[)"
                 R"({"$type":"SimpleIssueCustomField","name":"Business value","value":1.5},)"
                 R"({"$type":"SimpleIssueCustomField","name":"Story points","value":null}]})"));
}

TEST_F(YouTrackWriterTest, NullClearsAField) {
  Prepare(kSampleTargets, false, {"RAP-1"});
  const std::int64_t before = Updated("RAP-1");
  WriteOutcome outcome = Write("RAP-1", {{"Business value", Value()}, {"Customer", Value()}});
  EXPECT_FALSE(outcome.refused) << outcome.message;
  EXPECT_EQ(tracker_.FieldValue("RAP-1", "Business value"), Value());
  EXPECT_EQ(tracker_.FieldValue("RAP-1", "Customer"), Value());
  EXPECT_EQ(tracker_.FieldValue("RAP-1", "Story points"), Value(std::int64_t{5}));  // untouched
  EXPECT_GT(outcome.updated_ms, before);
}

TEST_F(YouTrackWriterTest, IntegerFieldsGetIntegers) {
  Prepare(kSampleTargets, false, {"SRV-1"});
  // The caller rounds; a double that is a whole number still goes as an integer.
  WriteOutcome outcome = Write("SRV-1", {{"Story points", Value(21.0)}});
  EXPECT_FALSE(outcome.refused) << outcome.message;
  auto value = tracker_.FieldValue("SRV-1", "Story points");
  ASSERT_TRUE(value && value->IsInt()) << (value ? value->ToJson() : "none");
  EXPECT_EQ(value->AsInt(), 21);
  auto body = ParseJson(tracker_.LastRequest("/api/issues/2-31")->request.body);
  ASSERT_TRUE(body);
  const Value& sent = body->Find("customFields")->AsList()[0];
  EXPECT_TRUE(sent.Find("value")->IsInt()) << body->ToJson();
}

TEST_F(YouTrackWriterTest, StringsLandAsWrittenInStringAndTextFields) {
  auto checks = Prepare({{"Customer", FieldType::kString}, {"Notes", FieldType::kString}}, false,
                        {"RAP-6", "DOC-2"});
  for (const TargetCheck& check : checks) {
    EXPECT_EQ(check.problem, "") << check.name;
  }
  EXPECT_FALSE(
      Write("RAP-6", {{"Customer", Value("0.10")}, {"Notes", Value("score: 4.50")}}).refused);
  EXPECT_EQ(tracker_.FieldValue("RAP-6", "Customer"), Value("0.10"));
  auto notes = tracker_.FieldValue("RAP-6", "Notes");
  ASSERT_TRUE(notes && notes->IsObject());
  EXPECT_EQ(notes->StringOr("text"), "score: 4.50");

  // A text field is cleared with null too.
  EXPECT_FALSE(Write("DOC-2", {{"Notes", Value()}}).refused);
  EXPECT_EQ(tracker_.FieldValue("DOC-2", "Notes"), Value());
}

TEST_F(YouTrackWriterTest, FieldNamesAreWrittenAsYouTrackSpellsThem) {
  auto checks = Prepare({{"business VALUE", FieldType::kFloat}}, false, {"RAP-3"});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].problem, "");
  // Another spelling would get HTTP 500 from YouTrack.
  EXPECT_FALSE(Write("RAP-3", {{"business VALUE", Value(2.5)}}).refused);
  EXPECT_EQ(tracker_.FieldValue("RAP-3", "Business value"), Value(2.5));
}

TEST_F(YouTrackWriterTest, CreateWithAdminRightsCreatesOnceAndAttachesToEachProject) {
  tracker_.SetAdmin(kCanary, true);
  const std::vector<WriteTarget> targets = {{"Board score", FieldType::kFloat},
                                            {"Board rank", FieldType::kInteger},
                                            {"Board note", FieldType::kString}};
  auto checks = Prepare(targets, true, {"RAP-1", "DOC-1", "SRV-2", "RAP-5"});
  for (const TargetCheck& check : checks) {
    EXPECT_EQ(check.problem, "") << check.name;
    EXPECT_TRUE(check.created) << check.name;
  }
  EXPECT_EQ(tracker_.CustomFieldType("Board score"), "float");
  EXPECT_EQ(tracker_.CustomFieldType("Board rank"), "integer");
  EXPECT_EQ(tracker_.CustomFieldType("Board note"), "string");
  for (std::string_view project : {"RAP", "SRV", "DOC"}) {
    for (const WriteTarget& target : targets) {
      EXPECT_TRUE(tracker_.IsAttached(project, target.name)) << project << " " << target.name;
    }
  }
  EXPECT_EQ(Posts("/api/admin/customFieldSettings/customFields"), 3u);
  EXPECT_EQ(Posts("/api/admin/projects/"), 9u);

  // A second Prepare finds everything in place.
  tracker_.ClearRequests();
  writer_ = MakeWriter();
  checks = Prepare(targets, true, {"RAP-1", "DOC-1", "SRV-2"});
  for (const TargetCheck& check : checks) {
    EXPECT_EQ(check.problem, "") << check.name;
    EXPECT_FALSE(check.created) << check.name;
  }
  EXPECT_EQ(Posts("/api/admin/"), 0u);

  WriteOutcome outcome = Write("DOC-1", {{"Board score", Value(0.75)},
                                         {"Board rank", Value(std::int64_t{1})},
                                         {"Board note", Value("top")}});
  EXPECT_FALSE(outcome.refused) << outcome.message;
  EXPECT_EQ(tracker_.FieldValue("DOC-1", "Board score"), Value(0.75));
  EXPECT_EQ(tracker_.FieldValue("DOC-1", "Board rank"), Value(std::int64_t{1}));
  EXPECT_EQ(tracker_.FieldValue("DOC-1", "Board note"), Value("top"));
}

TEST_F(YouTrackWriterTest, CreateAttachesAnExistingFieldWhereItIsMissing) {
  tracker_.SetAdmin(kCanary, true);
  // "Business value" is in RAP and SRV, not in DOC.
  auto checks = Prepare({{"Business value", FieldType::kFloat}}, true, {"RAP-1", "DOC-3"});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].problem, "");
  EXPECT_TRUE(checks[0].created);
  EXPECT_EQ(Posts("/api/admin/customFieldSettings/customFields"), 0u);
  EXPECT_EQ(Posts("/api/admin/projects/0-3/customFields"), 1u);
  EXPECT_EQ(Posts("/api/admin/projects/"), 1u);
  EXPECT_TRUE(tracker_.IsAttached("DOC", "Business value"));
  EXPECT_FALSE(Write("DOC-3", {{"Business value", Value(3.5)}}).refused);
  EXPECT_EQ(tracker_.FieldValue("DOC-3", "Business value"), Value(3.5));
}

TEST_F(YouTrackWriterTest, CreateWithoutAdminRightsNamesThePermissionAndWritesNothing) {
  auto checks = Prepare({{"Board score", FieldType::kFloat}}, true, {"RAP-1", "DOC-1"});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_NE(checks[0].problem.find("\"Board score\""), std::string::npos) << checks[0].problem;
  EXPECT_NE(checks[0].problem.find("Create Project / Update Project permission"), std::string::npos)
      << checks[0].problem;
  // YouTrack's own words close it.
  EXPECT_TRUE(checks[0].problem.ends_with("; YouTrack answered HTTP 403: Insufficient rights"))
      << checks[0].problem;
  EXPECT_FALSE(checks[0].created);
  EXPECT_FALSE(tracker_.CustomFieldType("Board score"));
  EXPECT_EQ(Posts("/api/issues"), 0u);

  // The field exists but is not in DOC: attaching it needs Update Project there.
  ASSERT_TRUE(tracker_.AddCustomField("Board rank", "integer"));
  ASSERT_TRUE(tracker_.AttachCustomField("RAP", "Board rank"));
  checks = Prepare({{"Board rank", FieldType::kInteger}}, true, {"RAP-1", "DOC-1"});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_NE(checks[0].problem.find("Update Project permission"), std::string::npos)
      << checks[0].problem;
  EXPECT_NE(checks[0].problem.find("project DOC"), std::string::npos) << checks[0].problem;
  EXPECT_TRUE(checks[0].problem.ends_with("; YouTrack answered HTTP 403: Insufficient rights"))
      << checks[0].problem;
  EXPECT_FALSE(tracker_.IsAttached("DOC", "Board rank"));
  EXPECT_EQ(Posts("/api/issues"), 0u);
}

TEST_F(YouTrackWriterTest, AFieldOfAnotherTypeIsAProblemNamingBothTypes) {
  tracker_.SetAdmin(kCanary, true);
  auto checks = Prepare({{"Customer", FieldType::kFloat},
                         {"Priority", FieldType::kInteger},
                         {"Business value", FieldType::kString},
                         {"Story points", FieldType::kInteger}},
                        /*create=*/true, {"RAP-1", "DOC-1"});
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_EQ(checks[0].problem,
            "field \"Customer\" is a string field in YouTrack; sync_back writes it as float");
  EXPECT_EQ(checks[1].problem,
            "field \"Priority\" is an enum[1] field in YouTrack; sync_back writes it as integer");
  EXPECT_EQ(checks[2].problem,
            "field \"Business value\" is a float field in YouTrack; sync_back writes it as "
            "string");
  EXPECT_EQ(checks[3].problem, "");
  // Only the good one was attached where it was missing.
  EXPECT_EQ(Posts("/api/admin/customFieldSettings/customFields"), 0u);
  EXPECT_EQ(Posts("/api/admin/projects/"), 1u);
  EXPECT_FALSE(tracker_.IsAttached("DOC", "Customer"));
  EXPECT_FALSE(tracker_.IsAttached("DOC", "Business value"));
}

TEST_F(YouTrackWriterTest, AMissingFieldWithoutCreateIsAProblem) {
  auto checks = Prepare({{"Board score", FieldType::kFloat}}, false, {"RAP-1"});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].problem,
            "no custom field \"Board score\" in YouTrack, and sync_back.create is false");
  EXPECT_EQ(Posts("/api/admin/"), 0u);
}

TEST_F(YouTrackWriterTest, AnIssueWhoseProjectLacksTheFieldIsRefusedAndTheOthersWritten) {
  auto checks =
      Prepare({{"Business value", FieldType::kFloat}}, false, {"RAP-3", "DOC-3", "SRV-5"});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].problem, "");
  const std::int64_t doc_before = Updated("DOC-3");

  EXPECT_FALSE(Write("RAP-3", {{"Business value", Value(1.25)}}).refused);
  WriteOutcome refused = Write("DOC-3", {{"Business value", Value(2.25)}});
  EXPECT_FALSE(Write("SRV-5", {{"Business value", Value(3.25)}}).refused);

  EXPECT_TRUE(refused.refused);
  // By key, with YouTrack's own reason.
  EXPECT_EQ(refused.message,
            "issue DOC-3: YouTrack refused the write (HTTP 400): Unknown custom field Business "
            "value in project Docs");
  EXPECT_EQ(Updated("DOC-3"), doc_before);
  EXPECT_FALSE(tracker_.FieldValue("DOC-3", "Business value"));
  EXPECT_EQ(tracker_.FieldValue("RAP-3", "Business value"), Value(1.25));
  EXPECT_EQ(tracker_.FieldValue("SRV-5", "Business value"), Value(3.25));
}

TEST_F(YouTrackWriterTest, ADeletedOrForbiddenIssueIsRefusedByKey) {
  Prepare(kSampleTargets, false, {"RAP-4", "RAP-5"});
  const IssueRef gone = Ref("RAP-4");
  ASSERT_TRUE(tracker_.DeleteIssue("RAP-4"));
  auto outcome = writer_->Write(gone, std::vector<FieldValue>{{"Story points", Value(2)}}, {});
  ASSERT_TRUE(outcome) << outcome.error().message;
  Remember(outcome->message);
  EXPECT_TRUE(outcome->refused);
  // One missing issue is no sign of a wrong base_url.
  EXPECT_EQ(outcome->message,
            "issue RAP-4: YouTrack refused the write (HTTP 404): Entity with id 2-23 not found");

  tracker_.InjectFault(
      SampleTracker::Fault::Status(403, JsonError("Forbidden", "Access to the project is denied"))
          .On("/api/issues/2-104"));
  WriteOutcome forbidden = Write("RAP-5", {{"Story points", Value(2)}});
  EXPECT_TRUE(forbidden.refused);
  EXPECT_EQ(forbidden.message,
            "issue RAP-5: YouTrack refused the write (HTTP 403): Access to the project is denied");
}

TEST_F(YouTrackWriterTest, RateLimitedWriteWaitsAsToldAndLands) {
  Prepare(kSampleTargets, false, {"RAP-2"});
  tracker_.ClearRequests();
  tracker_.InjectFault(SampleTracker::Fault::RateLimited(3).On("/api/issues/2-17"));
  WriteOutcome outcome = Write("RAP-2", {{"Story points", Value(std::int64_t{40})}});
  EXPECT_FALSE(outcome.refused) << outcome.message;
  EXPECT_EQ(tracker_.RequestCount("/api/issues/2-17"), 2u);
  EXPECT_EQ(waits_.All(), std::vector<milliseconds>{milliseconds(3000)});
  EXPECT_EQ(tracker_.FieldValue("RAP-2", "Story points"), Value(std::int64_t{40}));
}

TEST_F(YouTrackWriterTest, ARefusedTokenIsAnErrorNotARefusal) {
  Prepare(kSampleTargets, false, {"RAP-2"});
  tracker_.RevokeToken(kCanary);
  auto outcome =
      writer_->Write(Ref("RAP-2"), std::vector<FieldValue>{{"Story points", Value(1)}}, {});
  ASSERT_FALSE(outcome);
  Remember(outcome.error().message);
  EXPECT_EQ(outcome.error().code, ErrorCode::kAuth);
  EXPECT_NE(outcome.error().message.find("connection acme-yt"), std::string::npos);

  std::vector<IssueRef> issues = {Ref("RAP-2")};
  auto checks = writer_->Prepare(kSampleTargets, false, issues, {});
  ASSERT_FALSE(checks);
  Remember(checks.error().message);
  EXPECT_EQ(checks.error().code, ErrorCode::kAuth);
  EXPECT_EQ(tracker_.FieldValue("RAP-2", "Story points"), Value(std::int64_t{8}));
}

TEST_F(YouTrackWriterTest, TheTokenNeverShowsEvenWhenYouTrackEchoesIt) {
  const std::string echoed = "token " + std::string(kCanary) + " may not do this";
  // A refusal, a refused creation, a refused attach and a server error, each quoting it.
  tracker_.InjectFault(
      SampleTracker::Fault::Status(400, JsonError("bad_request", echoed)).On("/api/issues/2-9"));
  WriteOutcome refused = Write("RAP-1", {{"Story points", Value(3)}});
  EXPECT_TRUE(refused.refused);
  EXPECT_TRUE(refused.message.starts_with("issue RAP-1: YouTrack refused the write (HTTP 400): "))
      << refused.message;
  EXPECT_TRUE(refused.message.ends_with(" may not do this")) << refused.message;

  tracker_.InjectFault(SampleTracker::Fault::Status(400, JsonError("bad_request", echoed))
                           .On("/api/admin/customFieldSettings/customFields")
                           .Times(1));
  // The GET of the list gets it: an error, not a problem.
  std::vector<IssueRef> issues = {Ref("RAP-1")};
  const std::vector<WriteTarget> targets = {{"Board score", FieldType::kFloat}};
  auto failed = writer_->Prepare(targets, true, issues, {});
  ASSERT_FALSE(failed);
  Remember(failed.error().message);

  tracker_.SetAdmin(kCanary, true);
  tracker_.InjectFault(SampleTracker::Fault::Status(400, JsonError("bad_request", echoed))
                           .On("/api/admin/projects/0-1/customFields"));
  auto checks = Prepare({{"Board score", FieldType::kFloat}}, true, {"RAP-1"});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_TRUE(checks[0].problem.starts_with(
      "YouTrack refused to attach custom field \"Board score\" to project RAP (HTTP 400): "))
      << checks[0].problem;
  EXPECT_TRUE(checks[0].problem.ends_with(" may not do this")) << checks[0].problem;

  tracker_.InjectFault(SampleTracker::Fault::Status(503, JsonError("server_error", echoed))
                           .On("/api/issues/2-9")
                           .Times(4));
  auto outcome =
      writer_->Write(Ref("RAP-1"), std::vector<FieldValue>{{"Story points", Value(3)}}, {});
  ASSERT_FALSE(outcome);
  Remember(outcome.error().message);
  EXPECT_EQ(outcome.error().code, ErrorCode::kUnavailable);
  for (const std::string& message : messages_) {
    EXPECT_EQ(message.find(kCanary), std::string::npos) << message;
  }
}

TEST_F(YouTrackWriterTest, ATokenThatMayNotListGlobalFieldsIsJudgedByItsProjects) {
  tracker_.InjectFault(
      SampleTracker::Fault::Status(403, JsonError("Forbidden", "Insufficient rights"))
          .On("/api/admin/customFieldSettings/customFields"));
  auto checks = Prepare({{"Business value", FieldType::kFloat},
                         {"Customer", FieldType::kFloat},
                         {"Board score", FieldType::kFloat}},
                        false, {"RAP-1", "DOC-1"});
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[0].problem, "");
  EXPECT_EQ(checks[1].problem,
            "field \"Customer\" is a string field in YouTrack; sync_back writes it as float");
  EXPECT_NE(checks[2].problem.find("no custom field \"Board score\" in projects DOC, RAP"),
            std::string::npos)
      << checks[2].problem;
  EXPECT_FALSE(Write("RAP-1", {{"Business value", Value(5.5)}}).refused);
  EXPECT_EQ(tracker_.FieldValue("RAP-1", "Business value"), Value(5.5));
}

TEST_F(YouTrackWriterTest, NoValuesNoRequest) {
  tracker_.ClearRequests();
  WriteOutcome outcome = Write("RAP-1", {});
  EXPECT_FALSE(outcome.refused);
  EXPECT_EQ(tracker_.total_requests(), 0u);
}

// A tracker clock behind the issue's `updated`: a write still moves it forward.
class YouTrackWriterSlowClockTest : public YouTrackWriterTest {
 protected:
  YouTrackWriterSlowClockTest() : YouTrackWriterTest(SampleOptions([] { return 1'000; })) {}
};

TEST_F(YouTrackWriterSlowClockTest, UpdatedMovesStrictlyForward) {
  Prepare(kSampleTargets, false, {"SRV-3"});
  const std::int64_t before = Updated("SRV-3");
  WriteOutcome outcome = Write("SRV-3", {{"Business value", Value(1.0)}});
  EXPECT_FALSE(outcome.refused) << outcome.message;
  EXPECT_EQ(outcome.updated_ms, before + 1);
  EXPECT_EQ(Updated("SRV-3"), before + 1);
}

}  // namespace
}  // namespace boardsync

// Issue 6, hostile input: a tracker (or a proxy in front of it) answering
// truncated or malformed JSON, wrong types in known fields, an HTML page,
// a huge or absurdly nested body, or nothing in time. Each is served by the
// loopback sample tracker after a successful first sync; `boardsync sync`
// must fail that connection with a clear error naming it (and the issue),
// exit 1, never crash, lose nothing already synced, not move the cursor past
// what it did not store, and converge once the tracker is healthy again.
// A custom field of an unknown type is not hostile: it is kept as text.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "core/time.h"
#include "core/value.h"
#include "daemon/commands.h"
#include "tests/integration/board_testing.h"
#include "tests/integration/hostile_support.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kProxyErrorPage =
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";


// The custom field `name` of an issue in recorded shape, or nullptr.
Value* CustomField(Value& issue, std::string_view name) {
  for (Value& field : issue.AsObject().at("customFields").AsList()) {
    if (field.StringOr("name") == name) {
      return &field;
    }
  }
  return nullptr;
}

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// What a failed sync must leave alone.
struct Snapshot {
  Board board;
  std::int64_t cursor = -1;
};

class HostileTrackerTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    auto token = dir_.Write("tracker.token", std::string(kSampleTrackerToken) + "\n");
    ::chmod(token.c_str(), 0600);
    // The example mapping plus a field the sample data does not have, so a
    // test can add it with a $type no connector knows.
    std::string mapping =
        hostile::ReadBytes(SourceDir() / "mappings/examples/youtrack.yaml");
    const std::size_t fields = mapping.find("\nfields:\n");
    ASSERT_NE(fields, std::string::npos);
    mapping.insert(fields + 9, "  fancy: Fancy\n");
    dir_.Write("mapping.yaml", mapping);
    WriteConfig();
  }

  void WriteConfig(const std::string& timeout = "5s") {
    dir_.Write("boardsync.yaml", "state_dir: state\n"
                                 "connections:\n"
                                 "  - name: sample\n"
                                 "    type: youtrack\n"
                                 "    base_url: " + tracker_.base_url() + "\n"
                                 "    token_file: tracker.token\n"
                                 "    mapping: mapping.yaml\n"
                                 "    board: roadmap\n"
                                 "    page_size: 4\n"
                                 "    timeout: " + timeout + "\n");
  }

  std::filesystem::path ConfigPath() const { return dir_.path() / "boardsync.yaml"; }

  Outcome Sync() {
    CommandOptions options;
    options.config_file = ConfigPath();
    std::ostringstream out, err;
    int code = RunSync(options, out, err);
    return Outcome{code, out.str(), err.str()};
  }

  Snapshot Take() const {
    Snapshot s;
    s.board = ReadBoard(dir_.path() / "state/board.db");
    SQLite::Database state((dir_.path() / "state/state.db").string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(state, "SELECT updated_ms FROM cursors WHERE connection = 'sample'");
    if (q.executeStep()) {
      s.cursor = q.getColumn(0).getInt64();
    }
    return s;
  }

  // Incremental syncs trust the token check of the last hour; this makes
  // the next one ask /api/users/me again.
  void ExpireSession() { ExpireTrackerSessions(dir_.path() / "state/state.db"); }

  // A first sync that works, and what it left.
  void FirstSync() {
    Outcome first = Sync();
    ASSERT_EQ(first.code, kExitOk) << first.out << first.err;
    before_ = Take();
    ASSERT_EQ(before_.board.live(), 13u);
    ASSERT_GT(before_.cursor, 0);
  }

  // Issues changed after the first sync, so that the failing sync has
  // something it could lose. Returns their entity ids.
  std::vector<std::string> ChangeIssues(std::initializer_list<const char*> keys) {
    std::vector<std::string> ids;
    for (const char* key : keys) {
      EXPECT_TRUE(tracker_.SetSummary(key, std::string("Changed after the first sync: ") + key));
      ids.emplace_back(tracker_.GetIssue(key)->StringOr("id"));
    }
    return ids;
  }

  // The failure every hostile answer must produce.
  void ExpectCleanFailure(const Outcome& sync, std::initializer_list<std::string_view> mentions) {
    // Kept in the test report (--gtest_output=xml), to read what users see.
    RecordProperty("error_" + std::to_string(++failures_), sync.err);
    EXPECT_EQ(sync.code, kExitRunFailed) << sync.out << sync.err;
    EXPECT_NE(sync.err.find("sample: sync failed: connection sample: "), std::string::npos)
        << sync.err;
    for (std::string_view m : mentions) {
      EXPECT_NE(sync.err.find(m), std::string::npos) << "expected \"" << m << "\" in:\n"
                                                     << sync.err;
    }
  }

  // The board and the cursor exactly as the first sync left them.
  void ExpectUntouched() {
    Snapshot now = Take();
    EXPECT_EQ(now.cursor, before_.cursor) << "the cursor moved";
    ASSERT_EQ(now.board.row_count, before_.board.row_count);
    for (const auto& [key, row] : before_.board.rows) {
      const BoardRow* after = now.board.Find(key);
      ASSERT_NE(after, nullptr) << key << " left the board";
      EXPECT_EQ(after->source_updated_at, row.source_updated_at) << key;
      EXPECT_EQ(after->synced_at, row.synced_at) << key;
      EXPECT_EQ(after->fields, row.fields) << key;
      EXPECT_EQ(after->archived_at, row.archived_at) << key;
    }
  }

  // Weaker, for a failure after some pages were stored: nothing already
  // synced is lost or archived, and every changed issue is either on the
  // board in its new version or not older than the cursor (the next sync
  // reads it again).
  void ExpectNothingLost(const std::vector<std::string>& changed) {
    Snapshot now = Take();
    EXPECT_GE(now.cursor, before_.cursor);
    for (const auto& [key, row] : before_.board.rows) {
      const BoardRow* after = now.board.Find(key);
      ASSERT_NE(after, nullptr) << key << " left the board";
      EXPECT_EQ(after->archived(), row.archived()) << key;
      EXPECT_GE(after->source_updated_at, row.source_updated_at) << key;
    }
    for (const std::string& id : changed) {
      Value issue = *tracker_.GetIssue(id);
      const BoardRow* row = now.board.Find("sample:" + id);
      const bool stored = row != nullptr && row->Field("title") == issue.StringOr("summary");
      EXPECT_TRUE(stored || issue.Find("updated")->AsInt() >= now.cursor)
          << id << " was neither stored nor left for the next sync (updated "
          << issue.Find("updated")->AsInt() << ", cursor " << now.cursor << ")";
    }
  }

  // The issues state.db keeps to fetch again, by key.
  std::vector<std::string> FailingKeys() const {
    SQLite::Database db((dir_.path() / "state/state.db").string(), SQLite::OPEN_READONLY);
    SQLite::Statement query(db, "SELECT source_key FROM failures ORDER BY source_key");
    std::vector<std::string> keys;
    while (query.executeStep()) {
      keys.push_back(query.getColumn(0).getString());
    }
    return keys;
  }

  // Once the tracker is healthy again, one sync brings the board level.
  void ExpectHealedByTheNextSync() {
    tracker_.ClearFaults();
    Outcome healed = Sync();
    EXPECT_EQ(healed.code, kExitOk) << healed.out << healed.err;
    BoardDifferences d =
        CompareBoard(ReadBoard(dir_.path() / "state/board.db"), tracker_, "sample", NotDuplicate);
    EXPECT_TRUE(d.empty()) << d.ToString();
  }

  // One /api/issues page: the tracker's current RAP-2 and RAP-3 (both
  // changed), RAP-3 altered by `spoil`. RAP-3 is the later of the two.
  std::string PageWithBadIssue(const std::function<void(Value&)>& spoil) {
    Value good = *tracker_.GetIssue("RAP-2");
    Value bad = *tracker_.GetIssue("RAP-3");
    spoil(bad);
    return Value(Value::List{good, bad}).ToJson();
  }

  SampleTracker tracker_;
  TempDir dir_;
  Snapshot before_;
  int failures_ = 0;
};

TEST_F(HostileTrackerTest, TruncatedJsonOnTheFirstPageChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  ChangeIssues({"RAP-2", "RAP-3"});
  // Cut off mid-body, on the request and on every retry.
  tracker_.InjectFault(SampleTracker::Fault::Truncated(300).On("/api/issues").Times(10));
  Outcome sync = Sync();
  ExpectCleanFailure(sync, {tracker_.base_url() + "/api/issues"});
  ExpectUntouched();
  ExpectHealedByTheNextSync();
}

TEST_F(HostileTrackerTest, TruncatedJsonMidPagingLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  // Six changes: two pages of four; the second is cut off.
  std::vector<std::string> changed =
      ChangeIssues({"RAP-1", "RAP-2", "RAP-3", "SRV-1", "SRV-2", "SRV-3"});
  tracker_.InjectFault(SampleTracker::Fault::Delay(0ms).On("/api/issues"));  // page 1 as is
  tracker_.InjectFault(SampleTracker::Fault::Truncated(500).On("/api/issues").Times(10));
  Outcome sync = Sync();
  ExpectCleanFailure(sync, {});
  ExpectNothingLost(changed);
  ExpectHealedByTheNextSync();
}

TEST_F(HostileTrackerTest, MalformedJsonChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  ChangeIssues({"RAP-2", "RAP-3"});
  tracker_.InjectFault(SampleTracker::Fault::MalformedJson().On("/api/issues"));
  Outcome sync = Sync();
  ExpectCleanFailure(sync, {"not JSON"});
  ExpectUntouched();
  ExpectHealedByTheNextSync();
}

TEST_F(HostileTrackerTest, WrongTypesInKnownFieldsFailOnlyThatIssueNamingIt) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  struct Case {
    const char* what;
    std::function<void(Value&)> spoil;
    const char* mention;  // besides the issue key
  };
  const std::vector<Case> cases = {
      {"updated is text",
       [](Value& i) { i.AsObject().insert_or_assign("updated", Value("yesterday")); }, "updated"},
      {"created is an object",
       [](Value& i) { i.AsObject().insert_or_assign("created", Value(Value::Object{})); },
       "created"},
      {"customFields is an object",
       [](Value& i) {
         i.AsObject().insert_or_assign("customFields", Value(Value::Object{{"oops", Value(1)}}));
       },
       "customFields"},
      {"a user value is a number",
       [](Value& i) { CustomField(i, "Assignee")->AsObject().insert_or_assign("value", Value(42)); },
       "Assignee"},
      {"an enum value is a list of numbers",
       [](Value& i) {
         CustomField(i, "Priority")
             ->AsObject()
             .insert_or_assign("value", Value(Value::List{Value(1), Value(2)}));
       },
       "Priority"},
      {"a period value has text minutes",
       [](Value& i) {
         Value* estimation = CustomField(i, "Estimation");
         estimation->AsObject().insert_or_assign(
             "value", Value(Value::Object{{"$type", Value("PeriodValue")},
                                          {"minutes", Value("lots")}}));
       },
       "Estimation"},
      {"summary is a number",
       [](Value& i) { i.AsObject().insert_or_assign("summary", Value(7)); }, "summary"},
      {"project is a string",
       [](Value& i) { i.AsObject().insert_or_assign("project", Value("RAP")); }, "project"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<std::string> changed = ChangeIssues({"RAP-2", "RAP-3"});
    std::string page;
    ASSERT_NO_FATAL_FAILURE(page = PageWithBadIssue(c.spoil));
    tracker_.InjectFault(SampleTracker::Fault::Status(200, page).On("/api/issues"));
    Outcome sync = Sync();
    // The issue failed, not the sync: it is named with what was wrong, and
    // RAP-2 on the same page reaches the board.
    RecordProperty("error_" + std::to_string(++failures_), sync.err);
    EXPECT_EQ(sync.code, kExitRunFailed) << sync.out << sync.err;
    EXPECT_EQ(sync.err.find("sync failed"), std::string::npos) << sync.err;
    EXPECT_NE(sync.err.find("sample: issue RAP-3"), std::string::npos) << sync.err;
    EXPECT_NE(sync.err.find(c.mention), std::string::npos) << sync.err;
    EXPECT_NE(sync.out.find("failed 1,"), std::string::npos) << sync.out;
    const Snapshot after = Take();
    const BoardRow* rap2 = after.board.Find("sample:" + changed[0]);
    ASSERT_NE(rap2, nullptr);
    EXPECT_EQ(rap2->Field("title"), "Changed after the first sync: RAP-2");
    // RAP-3, the spoilt one, keeps its last good item and is listed to be
    // fetched again.
    const BoardRow* rap3 = after.board.Find("sample:" + changed[1]);
    ASSERT_NE(rap3, nullptr);
    EXPECT_EQ(rap3->fields, before_.board.Find("sample:" + changed[1])->fields);
    EXPECT_EQ(FailingKeys(), std::vector<std::string>{"RAP-3"});
    ExpectHealedByTheNextSync();
    EXPECT_TRUE(FailingKeys().empty());
    before_ = Take();
  }
}

TEST_F(HostileTrackerTest, AWrongTypeInTheCurrentUserIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  ExpireSession();  // so that the next sync checks the token
  tracker_.InjectFault(SampleTracker::Fault::Status(
                           200, R"({"id":"1-9","login":42,"guest":false,"$type":"Me"})")
                           .On("/api/users/me"));
  ExpectCleanFailure(Sync(), {"login"});
  tracker_.InjectFault(SampleTracker::Fault::Status(200, R"(["not","a","user"])")
                           .On("/api/users/me"));
  ExpectCleanFailure(Sync(), {});
  ExpectUntouched();
  ExpectHealedByTheNextSync();
}

TEST_F(HostileTrackerTest, AnHtmlPageFromAProxyUnder200Or502ChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  ChangeIssues({"RAP-2", "RAP-3"});
  tracker_.InjectFault(SampleTracker::Fault::HtmlLoginPage().On("/api/issues"));
  ExpectCleanFailure(Sync(), {"HTML"});
  ExpectUntouched();
  ExpireSession();
  tracker_.InjectFault(SampleTracker::Fault::HtmlLoginPage().On("/api/users/me"));
  ExpectCleanFailure(Sync(), {"HTML"});
  ExpectUntouched();
  // 502 is retried; a proxy that keeps answering it fails the connection.
  tracker_.InjectFault(SampleTracker::Fault::Status(502, std::string(kProxyErrorPage),
                                                    "text/html; charset=utf-8")
                           .On("/api/issues")
                           .Times(10));
  ExpectCleanFailure(Sync(), {"HTTP 502"});
  ExpectUntouched();
  ExpectHealedByTheNextSync();
}

TEST_F(HostileTrackerTest, ACustomFieldOfAnUnknownTypeIsKeptAsText) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  auto add = [&](const char* key, Value value) {
    ASSERT_TRUE(tracker_.UpdateIssue(key, [&](Value& issue) {
      issue.AsObject().at("customFields").AsList().push_back(Value(Value::Object{
          {"$type", Value("HologramIssueCustomField")},
          {"id", Value("177-1")},
          {"name", Value("Fancy")},
          {"value", std::move(value)}}));
    }));
  };
  add("RAP-2", Value(Value::Object{{"$type", Value("HologramValue")},
                                   {"name", Value("Sparkly")},
                                   {"shimmer", Value(3)}}));
  add("RAP-3", Value(Value::List{Value(Value::Object{{"$type", Value("HologramValue")},
                                                     {"name", Value("One")}}),
                                 Value(Value::Object{{"$type", Value("HologramValue")},
                                                     {"name", Value("Two")}})}));
  add("SRV-1", Value(12.5));
  Outcome sync = Sync();
  ASSERT_EQ(sync.code, kExitOk) << sync.out << sync.err;
  Board board = ReadBoard(dir_.path() / "state/board.db");
  auto fancy = [&](const char* key) -> Value {
    const BoardRow* row = board.Find("sample:" + std::string(tracker_.GetIssue(key)->StringOr("id")));
    if (row == nullptr || row->fields.Find("fancy") == nullptr) {
      return Value("(no item or no field)");
    }
    return *row->fields.Find("fancy");
  };
  EXPECT_EQ(fancy("RAP-2"), Value("Sparkly"));
  EXPECT_EQ(fancy("RAP-3"), Value(Value::List{Value("One"), Value("Two")}));
  EXPECT_TRUE(fancy("SRV-1").IsString()) << fancy("SRV-1").ToJson();
  BoardDifferences d = CompareBoard(board, tracker_, "sample", NotDuplicate);
  EXPECT_TRUE(d.empty()) << d.ToString();
}

TEST_F(HostileTrackerTest, AResponseAboveTheSizeCapFailsCleanly) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  ChangeIssues({"RAP-2", "RAP-3"});
  // 70 MiB of a JSON array of strings: above the client's default 64 MiB cap
  // (there is no config key for it).
  std::string huge;
  {
    const std::string element = "\"" + std::string(1022, 'x') + "\",";
    huge.reserve(70u * 1024 * 1024 + 16);
    huge += "[";
    while (huge.size() < 70u * 1024 * 1024) {
      huge += element;
    }
    huge += "\"end\"]";
  }
  tracker_.InjectFault(SampleTracker::Fault::Status(200, std::move(huge)).On("/api/issues"));
  Outcome sync = Sync();
  ExpectCleanFailure(sync, {"larger than 64 MiB"});
  ExpectUntouched();
  ExpectHealedByTheNextSync();
}

TEST_F(HostileTrackerTest, TenThousandNestedArraysFailCleanly) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  ChangeIssues({"RAP-2", "RAP-3"});
  const std::string nested = std::string(10'000, '[') + std::string(10'000, ']');
  // Through the binary: a stack overflow would kill it, not this test.
  for (const char* path : {"/api/issues", "/api/users/me"}) {
    SCOPED_TRACE(path);
    ExpireSession();
    tracker_.InjectFault(SampleTracker::Fault::Status(200, nested).On(path));
    hostile::BinaryRun run =
        hostile::RunBinary(BinaryDir() / "boardsync", {"sync", "--config", ConfigPath().string()},
                           {}, dir_.path() / "nested.log");
    EXPECT_EQ(run.code, 1) << hostile::Describe(run);
    RecordProperty(std::string("output") + path, run.output);
    EXPECT_NE(run.output.find("sample: sync failed: connection sample: "), std::string::npos)
        << hostile::Describe(run);
    ExpectUntouched();
  }
  ExpectHealedByTheNextSync();
}

TEST_F(HostileTrackerTest, AMillionNestedArraysDoNotCrash) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  const std::string nested = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  tracker_.InjectFault(SampleTracker::Fault::Status(200, nested).On("/api/issues"));
  hostile::BinaryRun run =
      hostile::RunBinary(BinaryDir() / "boardsync", {"sync", "--config", ConfigPath().string()},
                         {}, dir_.path() / "nested.log");
  EXPECT_EQ(run.code, 1) << hostile::Describe(run);
  RecordProperty("output", run.output);
  EXPECT_NE(run.output.find("sample: sync failed: connection sample: "), std::string::npos)
      << hostile::Describe(run);
  ExpectUntouched();
  ExpectHealedByTheNextSync();
}

TEST_F(HostileTrackerTest, AnAnswerSlowerThanTheTimeoutFailsCleanly) {
  ASSERT_NO_FATAL_FAILURE(FirstSync());
  ChangeIssues({"RAP-2", "RAP-3"});
  WriteConfig("1s");  // the shortest there is
  tracker_.InjectFault(SampleTracker::Fault::Delay(8s).On("/api/issues").Times(10));
  const auto start = std::chrono::steady_clock::now();
  Outcome sync = Sync();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ExpectCleanFailure(sync, {tracker_.base_url() + "/api/issues"});
  // An operator must learn that it was the timeout, to raise it.
  std::string lower = sync.err;
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  EXPECT_TRUE(lower.find("timed out") != std::string::npos ||
              lower.find("timeout") != std::string::npos)
      << "the error does not say the request timed out:\n"
      << sync.err;
  // Four attempts of 1s and the backoff between them, not 4 x 8s.
  EXPECT_LT(took, 16.0) << sync.err;
  RecordProperty("seconds", std::to_string(took));
  ExpectUntouched();
  ExpectHealedByTheNextSync();
}

}  // namespace
}  // namespace boardsync

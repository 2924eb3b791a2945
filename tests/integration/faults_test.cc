// Faults stay small (DESIGN §5), end to end against the sample tracker on
// loopback: an issue that cannot be decoded (a custom field value that
// contradicts its $type, an `updated` past the year 9999) is reported by its
// key and kept in state.db while every other issue reaches the board, and the
// next sync fetches it again by key until it succeeds, even when the tracker
// mends it without moving `updated`. Text that is not UTF-8 is repaired. An
// issue dated in the future never freezes incremental sync.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/http/json.h"
#include "core/text.h"
#include "core/time.h"
#include "daemon/commands.h"
#include "tests/integration/board_testing.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

constexpr std::string_view kMapping =
    "fields:\n"
    "  title: summary\n"
    "  key: $key\n"
    "  points: Story points\n"
    "  updated: $updated\n";

constexpr std::int64_t kYear2100 = 4'102'444'800'000;
constexpr std::int64_t kYear40000 = 1'200'000'000'000'000;
// In the summary of one issue; each issue list carries, instead, a lone
// surrogate escape and a byte that is not UTF-8.
constexpr std::string_view kBrokenTextMarker = "BROKEN-TEXT-MARKER";

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
  std::string Describe() const {
    return "exit " + std::to_string(code) + "\nout: " + out + "err: " + err;
  }
};

class FaultsTest : public testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    ::chmod(dir_.Write("tracker.token", std::string(kSampleTrackerToken) + "\n").c_str(), 0600);
    dir_.Write("mapping.yaml", std::string(kMapping));
    tracker_.GenerateIssues(496, 7);
    bad_field_ = Add("A points field holding an object", 1'700'000'100'000,
                     Value(Value::Object{{"value", 3}}));
    broken_text_ = Add(std::string(kBrokenTextMarker), 1'700'000'200'000, Value(5));
    future_ = Add("Dated in 2100 by a clock gone wrong", kYear2100, Value(8));
    far_future_ = Add("Dated in the year 40000", kYear40000, Value(13));
    tracker_.RewriteIssueLists([](std::string& body) {
      for (auto at = body.find(kBrokenTextMarker); at != std::string::npos;
           at = body.find(kBrokenTextMarker, at)) {
        body.replace(at, kBrokenTextMarker.size(), "broken \\ud800 and \xff text");
      }
    });
    dir_.Write("boardsync.yaml",
               "state_dir: state\n"
               "connections:\n"
               "  - name: sample\n"
               "    type: youtrack\n"
               "    base_url: " +
                   tracker_.base_url() +
                   "\n"
                   "    token_file: tracker.token\n"
                   "    mapping: mapping.yaml\n"
                   "    board: roadmap\n"
                   "    page_size: " +
                   std::to_string(GetParam()) + "\n");
  }

  // Adds an issue with a "Story points" field (a SimpleIssueCustomField)
  // holding `points`; returns its readable id.
  std::string Add(const std::string& summary, std::int64_t updated, Value points) {
    auto id = tracker_.AddIssue(Value(Value::Object{
        {"summary", summary},
        {"created", 1'600'000'000'000},
        {"updated", updated},
        {"project", Value(Value::Object{{"$type", "Project"}, {"shortName", "RAP"}})},
        {"customFields",
         Value(Value::List{Value(Value::Object{{"$type", "SimpleIssueCustomField"},
                                               {"name", "Story points"},
                                               {"value", std::move(points)}})})}}));
    EXPECT_TRUE(id.has_value()) << id.error().message;
    return std::string(tracker_.GetIssue(*id)->StringOr("idReadable"));
  }

  std::string ItemKeyOf(const std::string& readable) {
    return "sample:" + std::string(tracker_.GetIssue(readable)->StringOr("id"));
  }

  Outcome Run(int (*command)(const CommandOptions&, std::ostream&, std::ostream&),
              std::string format = "table") {
    CommandOptions options;
    options.config_file = dir_.path() / "boardsync.yaml";
    options.format = std::move(format);
    std::ostringstream out, err;
    Outcome outcome;
    outcome.code = command(options, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
    return outcome;
  }

  // Each failing issue in `status --format json`: key → reason.
  std::map<std::string, std::string> FailingInStatus() {
    Outcome status = Run(&RunStatus, "json");
    EXPECT_EQ(status.code, kExitOk) << status.Describe();
    std::map<std::string, std::string> failing;
    auto json = ParseJson(status.out);
    EXPECT_TRUE(json && json->IsList()) << status.out;
    if (!json || !json->IsList() || json->AsList().empty()) {
      return failing;
    }
    const Value* issues = json->AsList()[0].Find("failing_issues");
    EXPECT_TRUE(issues != nullptr && issues->IsList()) << status.out;
    if (issues == nullptr || !issues->IsList()) {
      return failing;
    }
    for (const Value& issue : issues->AsList()) {
      EXPECT_FALSE(issue.StringOr("since").empty()) << status.out;
      EXPECT_EQ(issue.StringOr("item_key"), ItemKeyOf(std::string(issue.StringOr("key"))));
      failing.emplace(issue.StringOr("key"), issue.StringOr("reason"));
    }
    return failing;
  }

  Board ReadTheBoard() const { return ReadBoard(dir_.path() / "state/board.db"); }

  TempDir dir_;
  SampleTracker tracker_;
  std::string bad_field_, broken_text_, future_, far_future_;
};

TEST_P(FaultsTest, BadIssuesAreListedTheRestReachTheBoardAndMendedOnesFollow) {
  Outcome first = Run(&RunSync);
  // An issue failed: exit 1, yet the sync went through to the end.
  EXPECT_EQ(first.code, kExitRunFailed) << first.Describe();
  EXPECT_NE(first.out.find("pulled 500, created 498, updated 0, archived 0, unchanged 0, "
                           "skipped 0, failed 2, board writes 498"),
            std::string::npos)
      << first.Describe();
  EXPECT_NE(first.err.find(bad_field_), std::string::npos) << first.err;
  EXPECT_NE(first.err.find(far_future_), std::string::npos) << first.err;

  Board board = ReadTheBoard();
  EXPECT_EQ(board.live(), 498u);
  EXPECT_EQ(board.Find(ItemKeyOf(bad_field_)), nullptr);
  EXPECT_EQ(board.Find(ItemKeyOf(far_future_)), nullptr);
  const BoardRow* future = board.Find(ItemKeyOf(future_));
  ASSERT_NE(future, nullptr);
  EXPECT_EQ(future->source_updated_at, "2100-01-01T00:00:00.000Z");
  const BoardRow* broken = board.Find(ItemKeyOf(broken_text_));
  ASSERT_NE(broken, nullptr);
  EXPECT_EQ(broken->Field("title"), "broken \xEF\xBF\xBD and \xEF\xBF\xBD text");
  for (const auto& [key, row] : board.rows) {
    EXPECT_FALSE(row.fields.IsNull()) << key << ": fields is not valid JSON";
    EXPECT_TRUE(IsValidUtf8(row.fields.ToJson())) << key;
    EXPECT_EQ(row.source_updated_at.size(), 24u) << key << ": " << row.source_updated_at;
  }

  std::map<std::string, std::string> failing = FailingInStatus();
  ASSERT_EQ(failing.size(), 2u);
  EXPECT_NE(failing[bad_field_].find("Story points"), std::string::npos) << failing[bad_field_];
  EXPECT_NE(failing[far_future_].find("updated"), std::string::npos) << failing[far_future_];
  Outcome table = Run(&RunStatus);
  EXPECT_NE(table.out.find(bad_field_), std::string::npos) << table.out;

  // Still broken: tried again by key, still listed, nothing else changes.
  Outcome again = Run(&RunSync);
  EXPECT_EQ(again.code, kExitRunFailed) << again.Describe();
  EXPECT_NE(again.out.find("failed 2, board writes 0"), std::string::npos) << again.Describe();
  EXPECT_EQ(FailingInStatus().size(), 2u);

  // The tracker mends both without moving `updated` past the cursor: one
  // in place, the other back into the past.
  ASSERT_TRUE(tracker_.EditIssueInPlace(bad_field_, [](Value& issue) {
    issue.AsObject()["customFields"].AsList()[0].AsObject()["value"] = Value(3);
  }));
  ASSERT_TRUE(tracker_.EditIssueInPlace(far_future_, [](Value& issue) {
    issue.AsObject()["updated"] = Value(1'700'000'300'000);
  }));
  Outcome mended = Run(&RunSync);
  EXPECT_EQ(mended.code, kExitOk) << mended.Describe();
  EXPECT_NE(mended.out.find("created 2, updated 0, archived 0, unchanged 0, skipped 0, failed 0, "
                            "board writes 2"),
            std::string::npos)
      << mended.Describe();
  board = ReadTheBoard();
  EXPECT_EQ(board.live(), 500u);
  ASSERT_NE(board.Find(ItemKeyOf(bad_field_)), nullptr);
  EXPECT_EQ(board.Find(ItemKeyOf(bad_field_))->fields.Find("points")->AsNumber(), 3.0);
  EXPECT_TRUE(FailingInStatus().empty());
  EXPECT_EQ(Run(&RunSync).code, kExitOk);
}

TEST_P(FaultsTest, PreviewAndDryRunNameTheBadIssuesAndShowTheRest) {
  CommandOptions options;
  options.config_file = dir_.path() / "boardsync.yaml";
  options.connections = {"sample"};
  options.limit = 1000;
  options.format = "json";
  std::ostringstream out, err;
  EXPECT_EQ(RunPreview(options, out, err), kExitRunFailed) << err.str();
  EXPECT_NE(err.str().find("sample: issue " + bad_field_), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("sample: issue " + far_future_), std::string::npos) << err.str();
  auto items = ParseJson(out.str());
  ASSERT_TRUE(items && items->IsList()) << out.str();
  EXPECT_EQ(items->AsList().size(), 498u);

  CommandOptions dry;
  dry.config_file = dir_.path() / "boardsync.yaml";
  dry.dry_run = true;
  std::ostringstream dry_out, dry_err;
  EXPECT_EQ(RunSync(dry, dry_out, dry_err), kExitRunFailed);
  EXPECT_NE(dry_out.str().find("failed 2,"), std::string::npos) << dry_out.str();
  EXPECT_NE(dry_err.str().find(bad_field_), std::string::npos) << dry_err.str();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/board.db"));
}

TEST_P(FaultsTest, AnIssueDatedInTheFutureDoesNotHideLaterChanges) {
  const std::int64_t before = NowMs();
  Run(&RunSync);
  // A change made now to another issue is seen by the next incremental sync,
  // however far ahead the cursor's newest issue is.
  const std::vector<std::string> ids = tracker_.IssueIds();
  ASSERT_TRUE(tracker_.SetSummary(ids[10], "Changed after a sync that saw 2100"));
  Outcome next = Run(&RunSync);
  EXPECT_NE(next.out.find("updated 1,"), std::string::npos) << next.Describe();
  const Board board = ReadTheBoard();
  const BoardRow* changed = board.Find("sample:" + ids[10]);
  ASSERT_NE(changed, nullptr);
  EXPECT_EQ(changed->Field("title"), "Changed after a sync that saw 2100");
  // It asked for changes since about `before`, not since 2100 (then for the
  // two failing issues by key).
  std::vector<std::string> ranges;
  for (const auto& recorded : tracker_.requests()) {
    const std::string query(recorded.request.Param("query").value_or(""));
    if (recorded.api_path == "/api/issues" && query.find("updated: ") != std::string::npos) {
      ranges.push_back(query);
    }
  }
  ASSERT_FALSE(ranges.empty());
  EXPECT_NE(ranges.back().find("updated: " + FormatIsoUtc(before).substr(0, 4)),
            std::string::npos)
      << ranges.back();
  EXPECT_EQ(ranges.back().find("2100-"), std::string::npos) << ranges.back();
}

// The SQLite board keeps the version rule too: a late archive of an older
// version of the issue, set aside and sent again, leaves the item live.
TEST(FaultsSqliteBoardTest, ALateArchiveNeverHidesAnItemWhoseIssueCameBack) {
  TempDir dir;
  SampleTracker tracker;
  ASSERT_TRUE(tracker.LoadIssues(SampleIssuesPath()));
  ::chmod(dir.Write("tracker.token", std::string(kSampleTrackerToken) + "\n").c_str(), 0600);
  dir.Write("boardsync.yaml",
            "state_dir: state\n"
            "connections:\n"
            "  - name: sample\n"
            "    type: youtrack\n"
            "    base_url: " +
                tracker.base_url() +
                "\n"
                "    token_file: tracker.token\n"
                "    mapping: " +
                (SourceDir() / "mappings/examples/youtrack.yaml").string() +
                "\n"
                "    board: roadmap\n");
  auto sync = [&](bool retry_failed) {
    CommandOptions options;
    options.config_file = dir.path() / "boardsync.yaml";
    options.retry_failed = retry_failed;
    std::ostringstream out, err;
    const int code = RunSync(options, out, err);
    EXPECT_EQ(code, kExitOk) << out.str() << err.str();
    return out.str();
  };
  const std::string key = "sample:2-9";  // RAP-1
  auto row = [&] { return ReadBoard(dir.path() / "state/board.db").rows.at(key); };
  sync(false);
  const std::string first_version = row().source_updated_at;

  // Skipped by the mapping (archived), then back with a newer version.
  ASSERT_TRUE(tracker.SetFieldValue(
      "RAP-1", "State", Value(Value::Object{{"name", "Duplicate"}, {"$type", "StateBundleElement"}})));
  EXPECT_NE(sync(false).find("archived 1,"), std::string::npos);
  EXPECT_TRUE(row().archived());
  ASSERT_TRUE(tracker.SetFieldValue(
      "RAP-1", "State", Value(Value::Object{{"name", "Open"}, {"$type", "StateBundleElement"}})));
  sync(false);
  ASSERT_FALSE(row().archived());
  const std::string newest = row().source_updated_at;
  EXPECT_GT(newest, first_version);

  // An archive of the first version, set aside, is sent again.
  ParkLateArchive(dir.path() / "state/state.db", "sample", "roadmap", key, first_version);
  EXPECT_NE(sync(true).find("board writes 1,"), std::string::npos);
  EXPECT_FALSE(row().archived());
  EXPECT_EQ(row().source_updated_at, newest);
}

INSTANTIATE_TEST_SUITE_P(PageSizes, FaultsTest, testing::Values(2, 100),
                         [](const testing::TestParamInfo<int>& info) {
                           return "PageSize" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace boardsync

// LeaseKeeper, the daemon's share of the connections (daemon/replica.h),
// over the SQLite state's lease tables, which keep the same contract as
// PostgreSQL's: several keepers on one state stand for several replicas.
#include "daemon/replica.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "daemon/state_db.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using std::chrono::milliseconds;
using testing::ElementsAre;
using testing::IsEmpty;
using testing::UnorderedElementsAreArray;

const std::vector<std::string> kNine = {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
constexpr milliseconds kTtl{400};

class ReplicaTest : public testing::Test {
 protected:
  std::unique_ptr<StateStore> Open() {
    auto db = StateDb::Open(dir_.path() / "state");
    EXPECT_TRUE(db) << db.error().message;
    return std::move(*db);
  }

  static std::vector<std::string> HeldOf(const LeaseKeeper& keeper) {
    std::vector<std::string> held;
    for (const std::string& name : kNine) {
      if (keeper.Held(name)) {
        held.push_back(name);
      }
    }
    return held;
  }

  TempDir dir_;
};

TEST_F(ReplicaTest, OneReplicaTakesEveryConnectionAndKeepsThemAcrossTicks) {
  auto state = Open();
  LeaseKeeper keeper(*state, /*shared=*/true, "host-a:1", kTtl);
  auto changes = keeper.Tick(kNine, {});
  EXPECT_THAT(changes.gained, UnorderedElementsAreArray(kNine));
  EXPECT_EQ(keeper.held(), 9u);
  changes = keeper.Tick(kNine, {});
  EXPECT_THAT(changes.gained, IsEmpty());
  EXPECT_THAT(changes.lost, IsEmpty());
  auto leases = state->Leases().value();
  ASSERT_EQ(leases.size(), 9u);
  for (const LeaseHolder& h : leases) {
    EXPECT_EQ(h.holder, "host-a:1");
  }
}

TEST_F(ReplicaTest, ThreeReplicasShareNineConnectionsThreeEachWithoutOverlap) {
  auto a_state = Open(), b_state = Open(), c_state = Open();
  LeaseKeeper a(*a_state, true, "host-a:1", kTtl);
  LeaseKeeper b(*b_state, true, "host-b:1", kTtl);
  LeaseKeeper c(*c_state, true, "host-c:1", kTtl);
  // All three have announced themselves before any takes its share, as
  // replicas started together do after their first tick.
  a.Tick({}, {});
  b.Tick({}, {});
  c.Tick({}, {});
  for (int round = 0; round < 3; ++round) {
    a.Tick(kNine, {});
    b.Tick(kNine, {});
    c.Tick(kNine, {});
  }
  EXPECT_EQ(a.held(), 3u);
  EXPECT_EQ(b.held(), 3u);
  EXPECT_EQ(c.held(), 3u);
  std::vector<std::string> all = HeldOf(a);
  for (const auto& name : HeldOf(b)) all.push_back(name);
  for (const auto& name : HeldOf(c)) all.push_back(name);
  EXPECT_THAT(all, UnorderedElementsAreArray(kNine));
}

TEST_F(ReplicaTest, AReplicaJoiningMakesTheOthersGiveUpTheirSurplusButNotARunningOne) {
  auto a_state = Open(), b_state = Open();
  LeaseKeeper a(*a_state, true, "host-a:1", kTtl);
  a.Tick(kNine, {});
  ASSERT_EQ(a.held(), 9u);
  LeaseKeeper b(*b_state, true, "host-b:1", kTtl);
  b.Tick(kNine, {});  // announces itself; everything is held
  EXPECT_EQ(b.held(), 0u);
  // a is over its share of 5 now; c9 and c8 are syncing and stay.
  auto changes = a.Tick(kNine, {"c9", "c8"});
  EXPECT_EQ(a.held(), 5u);
  EXPECT_TRUE(a.Held("c9"));
  EXPECT_TRUE(a.Held("c8"));
  EXPECT_EQ(changes.lost.size(), 4u);
  b.Tick(kNine, {});
  EXPECT_EQ(b.held(), 4u);
  for (const std::string& name : HeldOf(b)) {
    EXPECT_FALSE(a.Held(name)) << name << " is held by both";
  }
}

TEST_F(ReplicaTest, ADeadReplicasConnectionsPassOnOnceItsLeasesRunOutWithANewEpoch) {
  auto a_state = Open(), b_state = Open();
  LeaseKeeper a(*a_state, true, "host-a:1", kTtl);
  LeaseKeeper b(*b_state, true, "host-b:1", kTtl);
  a.Tick({}, {});
  b.Tick({}, {});
  a.Tick(kNine, {});
  b.Tick(kNine, {});
  ASSERT_EQ(a.held() + b.held(), 9u);
  const std::vector<std::string> a_held = HeldOf(a);
  const std::int64_t old_epoch = a.Held(a_held.front())->epoch;
  // a dies: it never ticks again. Until its leases run out, b waits.
  b.Tick(kNine, {});
  for (const std::string& name : a_held) {
    EXPECT_FALSE(b.Held(name));
  }
  std::this_thread::sleep_for(kTtl + milliseconds(100));
  auto changes = b.Tick(kNine, {});
  EXPECT_EQ(b.held(), 9u);
  EXPECT_THAT(changes.gained, UnorderedElementsAreArray(a_held));
  EXPECT_GT(b.Held(a_held.front())->epoch, old_epoch);
  // a, resumed, finds its leases gone and starts nothing on them.
  changes = a.Tick(kNine, {});
  EXPECT_THAT(changes.lost, UnorderedElementsAreArray(a_held));
  EXPECT_EQ(a.held(), 0u);
}

TEST_F(ReplicaTest, AFencedStoreOfAReplicaThatLostItsLeaseCannotMoveTheCursor) {
  auto a_state = Open(), b_state = Open(), job_state = Open();
  LeaseKeeper a(*a_state, true, "host-a:1", kTtl);
  a.Tick({"c1"}, {});
  job_state->Fence(*a.Held("c1"));
  SyncCursor cursor{1000, "m", 0};
  ASSERT_TRUE(job_state->Stage("c1", {}, &cursor));
  std::this_thread::sleep_for(kTtl + milliseconds(100));
  LeaseKeeper b(*b_state, true, "host-b:1", kTtl);
  b.Tick({"c1"}, {});
  ASSERT_TRUE(b.Held("c1"));
  SyncCursor older{500, "m", 0};
  auto staged = job_state->Stage("c1", {}, &older);
  ASSERT_FALSE(staged);
  EXPECT_EQ(staged.error().code, ErrorCode::kLocked);
  EXPECT_EQ(b_state->Cursor("c1").value()->updated_ms, 1000);
}

TEST_F(ReplicaTest, ReleaseAllHandsEveryConnectionOverAtOnce) {
  auto a_state = Open(), b_state = Open();
  LeaseKeeper a(*a_state, true, "host-a:1", kTtl * 100);
  LeaseKeeper b(*b_state, true, "host-b:1", kTtl * 100);
  a.Tick(kNine, {});
  b.Tick(kNine, {});
  ASSERT_EQ(b.held(), 0u);
  a.ReleaseAll();
  EXPECT_EQ(a.held(), 0u);
  // a is no longer a live replica either: b's share is everything.
  b.Tick(kNine, {});
  EXPECT_EQ(b.held(), 9u);
}

TEST_F(ReplicaTest, WithoutSharedStateEveryConnectionIsThisProcesssWithoutAskingTheStore) {
  auto state = Open();
  LeaseKeeper keeper(*state, /*shared=*/false, "host-a:1", kTtl);
  auto changes = keeper.Tick({"x", "y"}, {});
  EXPECT_THAT(changes.gained, ElementsAre("x", "y"));
  EXPECT_THAT(state->Leases().value(), IsEmpty());
  changes = keeper.Tick({"y"}, {});  // a reload removed x
  EXPECT_FALSE(keeper.Held("x"));
  EXPECT_TRUE(keeper.Held("y"));
}

TEST(ReplicaNameTest, IsHostnameColonPid) {
  const std::string name = ReplicaName();
  EXPECT_THAT(name, testing::EndsWith(":" + std::to_string(::getpid())));
  EXPECT_GT(name.size(), std::to_string(::getpid()).size() + 1);
}

}  // namespace
}  // namespace boardsync

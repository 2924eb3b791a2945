// What is particular to the SQLite state database: its file, directory and
// schema upgrades. What every StateStore does is in state_contract_test.cc.
#include "daemon/state_db.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

StagedWrite Upsert(const std::string& key, const std::string& hash, const std::string& title) {
  StagedWrite staged;
  staged.write.item.board = "roadmap";
  staged.write.item.item_key = key;
  staged.write.item.source_key = "RAP-1";
  staged.write.item.source_url = "https://yt/issue/RAP-1";
  staged.write.item.source_updated_at = "2024-05-01T10:00:00.000Z";
  staged.write.item.fields.emplace("title", title);
  staged.content_hash = hash;
  return staged;
}

TEST(StateDbTest, KnownItemsRemembersHashesAndArchivedStateAcrossReopen) {
  TempDir dir;
  {
    auto db = StateDb::Open(dir.path());
    ASSERT_TRUE(db);
    std::vector<StagedWrite> writes = {Upsert("c:2-1", "h1", "a"), Upsert("c:2-2", "h2", "b")};
    ASSERT_TRUE((*db)->Stage("c", writes));
    StagedWrite archive;
    archive.status = ItemStatus::kArchived;
    archive.write.archive = true;
    archive.write.item.board = "roadmap";
    archive.write.item.item_key = "c:2-2";
    ASSERT_TRUE((*db)->Stage("c", std::span(&archive, 1)));
  }
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db);
  std::vector<std::string> keys = {"c:2-1", "c:2-2", "c:2-3"};
  auto known = (*db)->KnownItems("c", keys);
  ASSERT_TRUE(known);
  ASSERT_EQ(known->size(), 2u);
  EXPECT_EQ(known->at("c:2-1").content_hash, "h1");
  EXPECT_EQ(known->at("c:2-1").status, ItemStatus::kLive);
  EXPECT_EQ(known->at("c:2-2").status, ItemStatus::kArchived);
  EXPECT_EQ(known->at("c:2-2").content_hash, "h2");  // kept: a return is seen as a change
  EXPECT_TRUE((*db)->KnownItems("other", keys)->empty());
  auto pending = (*db)->Pending("c", 10);
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_TRUE((*pending)[2].write.archive);
  EXPECT_EQ((*pending)[2].write.item.item_key, "c:2-2");
}

TEST(StateDbTest, ATrackerSessionIsKeptPerConnectionAcrossReopen) {
  TempDir dir;
  {
    auto db = StateDb::Open(dir.path());
    ASSERT_TRUE(db.has_value());
    EXPECT_EQ(*(*db)->Session("yt"), std::nullopt);
    ASSERT_TRUE((*db)->SaveSession("yt", SavedSession{TrackerSession{"utc_offset_minutes=-300"}, 1000}).has_value());
    ASSERT_TRUE((*db)->SaveSession("yt", SavedSession{TrackerSession{"utc_offset_minutes=60"}, 2000}).has_value());
  }
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db.has_value());
  auto saved = (*db)->Session("yt");
  ASSERT_TRUE(saved.has_value() && saved->has_value());
  EXPECT_EQ((*saved)->session, TrackerSession{"utc_offset_minutes=60"});
  EXPECT_EQ((*saved)->checked_ms, 2000);
  EXPECT_EQ(*(*db)->Session("other"), std::nullopt);
}

TEST(StateDbTest, AStateDatabaseOfSchemaThreeIsUpgradedKeepingItsContents) {
  TempDir dir;
  {
    SQLite::Database old((dir.path() / "state.db").string(),
                         SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    old.exec(R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '3');
CREATE TABLE items (connection TEXT NOT NULL, item_key TEXT NOT NULL, board TEXT NOT NULL,
  content_hash TEXT NOT NULL, source_updated_at TEXT NOT NULL, status INTEGER NOT NULL,
  sweep INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (connection, item_key)) WITHOUT ROWID;
INSERT INTO items VALUES ('c', 'c:2-1', 'roadmap', 'h1', '2024-05-01T10:00:00.000Z', 0, 0);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, connection TEXT NOT NULL,
  board TEXT NOT NULL, item_key TEXT NOT NULL, archive INTEGER NOT NULL, payload TEXT NOT NULL,
  failed_at TEXT, error TEXT);
INSERT INTO outbox (connection, board, item_key, archive, payload) VALUES
  ('c', 'roadmap', 'c:2-2', 1, '{}');
)sql");
  }
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db) << db.error().message;
  std::vector<std::string> keys = {"c:2-1"};
  EXPECT_EQ((*db)->KnownItems("c", keys).value().at("c:2-1").content_hash, "h1");
  auto pending = (*db)->Pending("c", 10).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_TRUE(pending[0].write.archive);
  EXPECT_EQ(pending[0].write.item.source_updated_at, "");  // unversioned: applies as before
  ASSERT_TRUE((*db)->Stage("c", std::vector<StagedWrite>{Upsert("c:2-3", "h3", "c")}));
  EXPECT_TRUE((*db)->Failures("c").value().empty());
  db->reset();
  SQLite::Database check((dir.path() / "state.db").string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(check.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString(),
            "7");
}

TEST(StateDbTest, AStateDatabaseOfSchemaSixGainsBackoffLeasesAndReplicas) {
  TempDir dir;
  {
    auto db = StateDb::Open(dir.path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->Stage("c", std::vector<StagedWrite>{Upsert("c:2-1", "h1", "a")}));
  }
  {
    // Back to schema 6: none of the tables of version 7.
    SQLite::Database old((dir.path() / "state.db").string(), SQLite::OPEN_READWRITE);
    old.exec(R"sql(
UPDATE meta SET value = '6' WHERE key = 'schema_version';
DROP TABLE backoff;
DROP TABLE leases;
DROP TABLE replicas;
)sql");
  }
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ((*db)->PendingCount("c").value(), 1u);
  EXPECT_EQ((*db)->BackoffOf("c").value(), std::nullopt);
  ASSERT_TRUE((*db)->SetBackoff("c", Backoff{2, 1'700'000'000'000}));
  EXPECT_EQ((*db)->BackoffOf("c").value()->failures, 2);
  auto lease = (*db)->AcquireLease("c", "host:1", std::chrono::seconds(30));
  ASSERT_TRUE(lease && *lease) << (lease ? "" : lease.error().message);
  EXPECT_EQ((*db)->Heartbeat("host:1", std::chrono::seconds(30)).value(),
            std::vector<std::string>{"host:1"});
  db->reset();
  SQLite::Database check((dir.path() / "state.db").string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(check.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString(),
            "7");
}

TEST(StateDbTest, SessionsOfSchemaFourAreDroppedWhenUpgraded) {
  TempDir dir;
  {
    auto db = StateDb::Open(dir.path());
    ASSERT_TRUE(db);
  }
  {
    // Back to schema 4's sessions, with a row in its form.
    SQLite::Database old((dir.path() / "state.db").string(), SQLite::OPEN_READWRITE);
    old.exec(R"sql(
UPDATE meta SET value = '4' WHERE key = 'schema_version';
DROP TABLE sessions;
CREATE TABLE sessions (connection TEXT PRIMARY KEY, utc_offset_minutes INTEGER NOT NULL,
  checked_ms INTEGER NOT NULL);
INSERT INTO sessions VALUES ('yt', 120, 1000);
)sql");
  }
  auto db = StateDb::Open(dir.path());
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ((*db)->Session("yt").value(), std::nullopt);  // the next pull checks the token
  ASSERT_TRUE((*db)->SaveSession("yt", SavedSession{TrackerSession{"x"}, 2000}).has_value());
  EXPECT_EQ((*db)->Session("yt").value()->session, TrackerSession{"x"});
}

TEST(StateDbTest, StateDirectoryIsPrivate) {
  TempDir dir;
  auto db = StateDb::Open(dir.path() / "s");
  ASSERT_TRUE(db);
  EXPECT_EQ(std::filesystem::status(dir.path() / "s").permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

TEST(StateDbTest, AnExistingStateDirectoryWritableByOthersIsRefusedAndKeepsItsMode) {
  TempDir dir;
  const auto shared = dir.path() / "shared";
  std::filesystem::create_directory(shared);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  auto db = StateDb::Open(shared);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::kUntrusted);
  EXPECT_NE(db.error().message.find(shared.string()), std::string::npos) << db.error().message;
  EXPECT_NE(db.error().message.find("writable by group or others"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(shared.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_FALSE(std::filesystem::exists(shared / "state.db"));
}

TEST(StateDbTest, AStateDatabaseThatIsASymbolicLinkIsRefused) {
  TempDir dir;
  const auto victim = dir.Write("victim", "keep me");
  std::filesystem::create_directory(dir.path() / "state");
  std::filesystem::create_symlink(victim, dir.path() / "state" / "state.db");
  for (auto open : {&StateDb::Open, &StateDb::OpenReadOnly}) {
    auto db = open(dir.path() / "state");
    ASSERT_FALSE(db);
    EXPECT_EQ(db.error().code, ErrorCode::kUntrusted);
    EXPECT_NE(db.error().message.find("symbolic link"), std::string::npos) << db.error().message;
  }
  std::ifstream in(victim);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "keep me");
}

TEST(StateDbTest, AStateDirectoryReachedThroughALinkIsUsed) {
  // As systemd's StateDirectory= with DynamicUser= lays it out.
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "private");
  ASSERT_EQ(::chmod((dir.path() / "private").c_str(), 0700), 0);
  std::filesystem::create_directory_symlink(dir.path() / "private", dir.path() / "state");
  auto db = StateDb::Open(dir.path() / "state");
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_TRUE(std::filesystem::is_regular_file(dir.path() / "private" / "state.db"));
}

TEST(StateDbTest, ReadOnlyOpeningReadsWhatAWriterRecorded) {
  TempDir dir;
  RunRecord run;
  run.connection = "c";
  run.started_at = "2024-05-01T10:00:00Z";
  run.result = "ok";
  run.pulled = 7;
  {
    auto writer = StateDb::Open(dir.path());
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->RecordRun(run));
    // While the writer has it open (its -wal and -shm exist)...
    auto reader = StateDb::OpenReadOnly(dir.path());
    ASSERT_TRUE(reader) << reader.error().message;
    ASSERT_TRUE((*reader)->LastRun("c").value());
    EXPECT_EQ((*(*reader)->LastRun("c"))->pulled, 7);
    EXPECT_FALSE((*reader)->RecordRun(run));  // it only reads
  }
  // ...and after it closed it.
  auto reader = StateDb::OpenReadOnly(dir.path());
  ASSERT_TRUE(reader) << reader.error().message;
  ASSERT_TRUE((*reader)->LastRun("c").value());
  EXPECT_EQ((*(*reader)->LastRun("c"))->pulled, 7);
}

}  // namespace
}  // namespace boardsync

// The sample GitHub's state and the helpers its REST and GraphQL halves
// share (github_server.cc, github_graphql.cc). Internal to tests/support/github.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/value.h"
#include "tests/support/github/github_server.h"

namespace boardsync {
namespace github_sample {

struct Label {
  std::int64_t id = 0;
  std::string name;
  std::string color;
  std::string description;
  bool is_default = false;
};

struct Milestone {
  std::int64_t id = 0;
  std::int64_t number = 0;
  std::string title;
  std::int64_t created_at = 0;
};

struct Repo {
  GitHubRepo info;
  std::string owner;
  std::string name;
  std::int64_t next_number = 1;
  std::vector<Label> labels;
  std::vector<Milestone> milestones;
  std::int64_t created_at = 0;
};

// Where repo#number leads.
struct Location {
  enum Kind { kLive, kDeleted, kMoved } kind = kLive;
  std::int64_t id = 0;  // the issue's id (kMoved: its id now)
};

struct Record {
  GitHubIssue issue;
  bool live = true;  // false once deleted, or transferred away under a new id
};

struct Budget {
  std::int64_t limit = 5000;
  std::int64_t used = 0;
  std::int64_t reset = 0;

  std::int64_t remaining() const { return limit > used ? limit - used : 0; }
  // The window ends at `reset`: from then on, a full budget for an hour.
  void Roll(std::int64_t now) {
    if (now >= reset) {
      used = 0;
      reset = now + 3600;
    }
  }
};

struct FieldOption {
  std::string id;
  std::string name;
  std::string color;
};

struct FieldIteration {
  std::string id;
  std::string title;
  std::string start_date;
  int duration = 14;
  bool completed = false;
};

struct Field {
  std::string id;
  std::int64_t database_id = 0;
  std::string name;
  std::string data_type;  // TITLE, ASSIGNEES, LABELS, MILESTONE, REPOSITORY, NUMBER, TEXT, ...
  std::vector<FieldOption> options;
  std::vector<FieldIteration> iterations;
};

struct ItemValue {
  std::string id;
  std::int64_t database_id = 0;
  std::optional<double> number;
  std::string text;  // text, date, option id or iteration id, by the field's type
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct Item {
  std::string id;
  std::int64_t database_id = 0;
  std::int64_t issue_id = 0;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::map<std::string, ItemValue> values;  // by field id
};

struct Project {
  std::string owner;
  int number = 0;
  std::string title;
  std::string id;
  std::int64_t database_id = 0;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::vector<Field> fields;
  std::vector<Item> items;
};

struct SampleUser {
  std::string login;
  std::int64_t id = 0;
  std::string name;
  std::string email;
};

// Everything the server holds; every member REQUIRES mu held.
struct State {
  mutable std::mutex mu;
  const GitHubServerOptions* options = nullptr;
  std::string base_url;     // the REST root, "http://127.0.0.1:<port><prefix>"
  std::vector<GitHubToken> tokens;
  std::vector<Repo> repos;
  std::map<std::string, bool> owners;  // login -> is an organization
  std::map<std::int64_t, Record> records;
  std::map<std::pair<std::int64_t, std::int64_t>, Location> locations;  // (repo id, number)
  std::vector<Project> projects;
  std::int64_t next_id = 1000001;
  std::int64_t next_repo_id = 1296269;
  std::int64_t next_small_id = 208045946;  // labels, milestones, project things
  std::optional<std::int64_t> frozen_now;
  Budget core;
  Budget graphql;
  int secondary_count = 0;
  int secondary_retry_after = 60;
  int secondary_status = 403;
  bool project_edit_bumps_updated = false;
  std::uint64_t not_modified = 0;  // 304s answered
  std::uint64_t budget_used = 0;   // core units consumed
  std::map<std::string, std::size_t, std::less<>> mutations;  // runs per mutation name

  std::int64_t Now() const;
  Repo* FindRepo(std::string_view full_name);
  const Repo* FindRepo(std::string_view full_name) const;
  Repo* FindRepoById(std::int64_t id);
  const Repo* FindRepoById(std::int64_t id) const;
  const GitHubToken* FindToken(std::string_view token) const;
  bool CanSee(const GitHubToken& token, const Repo& repo) const;
  Project* FindProject(std::string_view owner, int number);
  const Project* FindProject(std::string_view owner, int number) const;
  // The live record with this id.
  Record* Live(std::int64_t id);
  const Record* Live(std::int64_t id) const;
  // A new custom or built-in field of `project`, with an id of its kind.
  Field& AddField(Project& project, std::string name, std::string data_type);
  // The issue's item in `project`, added now when it has none.
  Item& AddItem(Project& project, std::int64_t issue_id);
  // After a value of `item` changed: the item and project are updated now,
  // and the issue too when project_edit_bumps_updated.
  void ValueEdited(Project& project, Item& item);
};

// ---- Shared rendering helpers ----

// "2011-04-22T13:33:48Z".
std::string FormatSeconds(std::int64_t epoch_seconds);
// "2011-04-22".
std::string FormatDay(std::int64_t epoch_seconds);
const SampleUser* FindSampleUser(std::string_view login);
// A user's numeric id: a sample user's, else a stable made-up one.
std::int64_t UserId(std::string_view login);
// A node id: `prefix` followed by a stable encoding of the numbers.
std::string MakeNodeId(std::string_view prefix, std::int64_t a, std::int64_t b = 0);
// The legacy base64 node id GitHub still gives old objects ("MDQ6VXNlcjE=").
std::string LegacyNodeId(std::string_view type, std::int64_t id);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// POST /graphql; REQUIRES state.mu held. `token` authenticated already.
HttpServerResponse ServeGraphQL(State& state, const GitHubToken& token,
                                const HttpServerRequest& request);

}  // namespace github_sample
}  // namespace boardsync

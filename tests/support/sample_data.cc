#include "tests/support/sample_data.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <span>
#include <type_traits>

#include "connectors/http/json.h"
#include "tests/support/youtrack_fields.h"

namespace boardsync {
namespace {

std::int64_t Ms(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  auto day =
      std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(mo) / std::chrono::day(d));
  return day.time_since_epoch().count() * 86'400'000LL + (h * 3600LL + mi * 60LL + s) * 1000LL;
}

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;

// ---- Reference data: the same ids and names as sample_issues.json. ----

struct UserInfo {
  const char* id;
  const char* login;
  const char* full_name;
  const char* email;  // nullptr: none
  const char* ring_id;
};

constexpr std::array<UserInfo, 7> kUsers{{
    {"1-2", "sync.bot", "Boardsync Bot", "sync.bot@example.com",
     "0b3c2f0e-6a51-4d57-9a0e-2f6b1c7d8e01"},
    {"1-3", "zoe.angstrom", "Zoë Ångström", "zoe.angstrom@example.com",
     "5e1f9a2c-3b7d-4c8e-a1f0-9d2e4b6c8a13"},
    {"1-4", "taro.yamada", "山田 太郎", "taro.yamada@example.com",
     "7a2b4c6d-8e0f-4a1b-9c3d-5e7f9a1b3c24"},
    {"1-5", "amelie.durand", "Amélie Durand", "amelie.durand@example.com",
     "9c4d6e8f-0a2b-4c3d-8e5f-7a9b1c3d5e35"},
    {"1-6", "lukasz.nowak", "Łukasz Nowak", nullptr, "b1e3f5a7-c9d0-4e2f-b4a6-c8d0e2f4a646"},
    {"1-7", "priya.raman", "Priya Raman", "priya.raman@example.com",
     "d3f5a7b9-e1c2-4f4a-96c8-e0f2a4b6c857"},
    {"1-8", "seun.adeyemi", "Olúwasèun Adéyemí", "seun.adeyemi@example.com",
     "f5a7b9c1-0d3e-4a6b-88e0-a2c4e6a8b968"},
}};

struct GroupInfo {
  const char* id;
  const char* name;
  int users_count;
  const char* ring_id;
};

constexpr std::array<GroupInfo, 3> kGroups{{
    {"3-2", "Backend Team", 4, "2a4c6e80-1b3d-4f5a-9c7e-0b2d4f6a8c19"},
    {"3-3", "Frontend Team", 3, "4c6e8a02-3d5f-4b7c-8e9a-2d4f6b8c0e2a"},
    {"3-4", "Docs Crew", 2, "6e8a0c24-5f7b-4d9e-a0bc-4f6b8d0e2a3b"},
}};

struct TagInfo {
  const char* id;
  const char* name;
};

constexpr std::array<TagInfo, 6> kTags{{
    {"6-1", "roadmap-2024"},
    {"6-2", "customer-request"},
    {"6-3", "tech debt"},
    {"6-4", "regression"},
    {"6-5", "Überprüfung nötig"},
    {"6-6", "needs design"},
}};

struct Color {
  const char* id;
  const char* background;
  const char* foreground;
};

constexpr Color kPlain{"0", "#fff", "#444"};
constexpr Color kGrey{"16", "#e6e6e6", "#888"};
constexpr Color kRed{"20", "#e30000", "#fff"};
constexpr Color kOrange{"22", "#ff7123", "#fff"};
constexpr Color kYellow{"23", "#ffe3b0", "#444"};
constexpr Color kGreen{"9", "#c6f2c2", "#444"};
constexpr Color kBlue{"11", "#d8edff", "#444"};
constexpr Color kPink{"19", "#ffc8ea", "#444"};

struct Element {
  const char* id;
  const char* name;
  Color color;
  bool resolved;  // state bundles only
};

constexpr std::array<Element, 6> kStates{{
    {"111-1", "Open", kPlain, false},
    {"111-2", "In Progress", kBlue, false},
    {"111-3", "Fixed", kGreen, true},
    {"111-4", "Verified", kGreen, true},
    {"111-5", "Duplicate", kGrey, true},
    {"111-6", "Won't fix", kGrey, true},
}};
constexpr std::array<int, 6> kStateWeights{30, 25, 25, 8, 6, 6};

constexpr std::array<Element, 5> kWorkflowStates{{
    {"112-1", "Open", kPlain, false},
    {"112-2", "In Progress", kBlue, false},
    {"112-3", "In Review", kPink, false},
    {"112-4", "Fixed", kGreen, true},
    {"112-5", "Duplicate", kGrey, true},
}};
constexpr std::array<int, 5> kWorkflowStateWeights{30, 20, 10, 32, 8};

constexpr std::array<Element, 5> kPriorities{{
    {"109-1", "Show-stopper", kRed, false},
    {"109-2", "Critical", kOrange, false},
    {"109-3", "Major", kYellow, false},
    {"109-4", "Normal", kPlain, false},
    {"109-5", "Minor", kGrey, false},
}};
constexpr std::array<int, 5> kPriorityWeights{2, 8, 25, 50, 15};

constexpr std::array<Element, 4> kTypes{{
    {"110-1", "Bug", kRed, false},
    {"110-2", "Feature", kGreen, false},
    {"110-3", "Task", kBlue, false},
    {"110-4", "Usability Problem", kPink, false},
}};
constexpr std::array<int, 4> kTypeWeights{40, 30, 25, 5};

struct VersionInfo {
  const char* id;
  const char* name;
  int ordinal;
  bool released;
  std::int64_t release_date;  // 0: none
};

const std::array<VersionInfo, 4>& Versions() {
  static const std::array<VersionInfo, 4> kVersions{{
      {"177-1", "2024.1", 0, true, Ms(2024, 3, 28, 12)},
      {"177-2", "2024.2", 1, true, Ms(2024, 6, 27, 12)},
      {"177-3", "2024.3", 2, false, Ms(2024, 9, 26, 12)},
      {"177-4", "Backlog", -1, false, 0},
  }};
  return kVersions;
}

struct BuildInfo {
  const char* id;
  const char* name;
  std::int64_t assembled;
};

const std::array<BuildInfo, 4>& Builds() {
  static const std::array<BuildInfo, 4> kBuilds{{
      {"178-1", "1045", Ms(2024, 3, 20, 16, 42, 7)},
      {"178-2", "1102", Ms(2024, 5, 14, 9, 5, 51)},
      {"178-3", "1187", Ms(2024, 6, 20, 18, 30, 12)},
      {"178-4", "1213", Ms(2024, 7, 9, 11, 2, 40)},
  }};
  return kBuilds;
}

struct OwnedInfo {
  const char* id;
  const char* name;
  const char* owner_login;  // nullptr: none
};

constexpr std::array<OwnedInfo, 4> kRapSubsystems{{
    {"138-1", "Board UI", "amelie.durand"},
    {"138-2", "Sync engine", "zoe.angstrom"},
    {"138-3", "Public API", "taro.yamada"},
    {"138-4", "Infrastructure", nullptr},
}};
constexpr std::array<OwnedInfo, 3> kSrvSubsystems{{
    {"138-11", "Storage", "lukasz.nowak"},
    {"138-12", "Scheduler", "priya.raman"},
    {"138-13", "Auth", "taro.yamada"},
}};

enum class Kind {
  kState,
  kPriority,
  kType,
  kAssignee,
  kSubsystem,
  kFixVersions,
  kFixedInBuild,
  kReviewers,
  kTeam,
  kEstimation,
  kSpentTime,
  kDueDate,
  kStarted,
  kStoryPoints,
  kBusinessValue,
  kCustomer,
  kNotes,
};

struct FieldInfo {
  Kind kind;
  const char* name;
  const char* field_id;
  const char* type_id;
  const char* value_type;
  const char* project_field_type;
  const char* issue_field_type;
};

// In the order the projects list their fields.
constexpr std::array<FieldInfo, 17> kFields{{
    {Kind::kPriority, "Priority", "106-1", "enum[1]", "enum", "EnumProjectCustomField",
     "SingleEnumIssueCustomField"},
    {Kind::kType, "Type", "106-3", "enum[1]", "enum", "EnumProjectCustomField",
     "SingleEnumIssueCustomField"},
    {Kind::kState, "State", "106-2", "state[1]", "state", "StateProjectCustomField",
     "StateIssueCustomField"},
    {Kind::kAssignee, "Assignee", "106-6", "user[1]", "user", "UserProjectCustomField",
     "SingleUserIssueCustomField"},
    {Kind::kSubsystem, "Subsystem", "106-4", "ownedField[1]", "ownedField",
     "OwnedProjectCustomField", "SingleOwnedIssueCustomField"},
    {Kind::kFixVersions, "Fix versions", "106-5", "version[*]", "version",
     "VersionProjectCustomField", "MultiVersionIssueCustomField"},
    {Kind::kFixedInBuild, "Fixed in build", "106-7", "build[1]", "build", "BuildProjectCustomField",
     "SingleBuildIssueCustomField"},
    {Kind::kReviewers, "Reviewers", "106-20", "user[*]", "user", "UserProjectCustomField",
     "MultiUserIssueCustomField"},
    {Kind::kTeam, "Team", "106-21", "group[1]", "group", "GroupProjectCustomField",
     "SingleGroupIssueCustomField"},
    {Kind::kEstimation, "Estimation", "106-8", "period", "period", "PeriodProjectCustomField",
     "PeriodIssueCustomField"},
    {Kind::kSpentTime, "Spent time", "106-9", "period", "period", "PeriodProjectCustomField",
     "PeriodIssueCustomField"},
    {Kind::kDueDate, "Due Date", "106-10", "date", "date", "SimpleProjectCustomField",
     "DateIssueCustomField"},
    {Kind::kStarted, "Started", "106-22", "date and time", "date and time",
     "SimpleProjectCustomField", "SimpleIssueCustomField"},
    {Kind::kStoryPoints, "Story points", "106-23", "integer", "integer", "SimpleProjectCustomField",
     "SimpleIssueCustomField"},
    {Kind::kBusinessValue, "Business value", "106-24", "float", "float", "SimpleProjectCustomField",
     "SimpleIssueCustomField"},
    {Kind::kCustomer, "Customer", "106-25", "string", "string", "SimpleProjectCustomField",
     "SimpleIssueCustomField"},
    {Kind::kNotes, "Notes", "106-26", "text", "text", "TextProjectCustomField",
     "TextIssueCustomField"},
}};

// Project layout: which fields (indexes into kFields) and the prefix of the
// project-custom-field ids ("130-" + position).
struct ProjectLayout {
  const char* field_id_prefix;
  std::span<const int> fields;
  bool workflow_state;
};

constexpr std::array<int, 17> kAllFields{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr std::array<int, 7> kDocFields{0, 1, 2, 3, 7, 11, 16};

const ProjectLayout& Layout(std::size_t project) {
  static const std::array<ProjectLayout, 3> kLayouts{{
      {"130-", kAllFields, false},
      {"131-", kAllFields, true},
      {"132-", kDocFields, false},
  }};
  return kLayouts[project];
}

// ---- Value builders. ----

Value ColorValue(const Color& c) {
  return Value(Value::Object{{"$type", "FieldStyle"},
                             {"id", c.id},
                             {"background", c.background},
                             {"foreground", c.foreground}});
}

Value UserValue(const UserInfo& u) {
  std::string avatar = std::string("/hub/api/rest/avatar/") + u.ring_id + "?s=48";
  return Value(Value::Object{{"$type", "User"},
                             {"id", u.id},
                             {"login", u.login},
                             {"fullName", u.full_name},
                             {"name", u.full_name},
                             {"email", u.email != nullptr ? Value(u.email) : Value()},
                             {"ringId", u.ring_id},
                             {"avatarUrl", avatar}});
}

Value BundleElement(const Element& e, int ordinal, bool state) {
  Value::Object o{{"$type", state ? "StateBundleElement" : "EnumBundleElement"},
                  {"id", e.id},
                  {"name", e.name},
                  {"localizedName", Value()},
                  {"description", Value()},
                  {"ordinal", ordinal},
                  {"archived", false},
                  {"hasRunningJob", false},
                  {"color", ColorValue(e.color)}};
  if (state) {
    o.emplace("isResolved", e.resolved);
  }
  return Value(std::move(o));
}

Value VersionValue(const VersionInfo& v) {
  return Value(Value::Object{{"$type", "VersionBundleElement"},
                             {"id", v.id},
                             {"name", v.name},
                             {"releaseDate", v.release_date != 0 ? Value(v.release_date) : Value()},
                             {"released", v.released},
                             {"description", Value()},
                             {"ordinal", v.ordinal},
                             {"archived", false},
                             {"hasRunningJob", false},
                             {"color", ColorValue(kPlain)}});
}

Value BuildValue(const BuildInfo& b, int ordinal) {
  return Value(Value::Object{{"$type", "BuildBundleElement"},
                             {"id", b.id},
                             {"name", b.name},
                             {"assembleDate", b.assembled},
                             {"description", Value()},
                             {"ordinal", ordinal},
                             {"archived", false},
                             {"hasRunningJob", false},
                             {"color", ColorValue(kPlain)}});
}

Value OwnedValue(const OwnedInfo& o, int ordinal) {
  return Value(
      Value::Object{{"$type", "OwnedBundleElement"},
                    {"id", o.id},
                    {"name", o.name},
                    {"owner", o.owner_login != nullptr ? SampleUserValue(o.owner_login) : Value()},
                    {"description", Value()},
                    {"ordinal", ordinal},
                    {"archived", false},
                    {"hasRunningJob", false},
                    {"color", ColorValue(kPlain)}});
}

Value GroupValue(const GroupInfo& g) {
  return Value(Value::Object{{"$type", "UserGroup"},
                             {"id", g.id},
                             {"name", g.name},
                             {"usersCount", g.users_count},
                             {"ringId", g.ring_id},
                             {"icon", Value()}});
}

// YouTrack's period text with an 8-hour day and a 5-day week.
Value PeriodValue(std::int64_t minutes) {
  std::int64_t w = minutes / (5 * 8 * 60);
  std::int64_t d = minutes / (8 * 60) % 5;
  std::int64_t h = minutes / 60 % 8;
  std::int64_t m = minutes % 60;
  std::string presentation;
  std::string iso = "P";
  auto part = [&](std::int64_t n, const char* unit, const char* iso_unit) {
    if (n == 0) {
      return;
    }
    if (!presentation.empty()) {
      presentation += ' ';
    }
    presentation += std::to_string(n) + unit;
    iso += std::to_string(n) + iso_unit;
  };
  part(w, "w", "W");
  part(d, "d", "D");
  if (h != 0 || m != 0 || minutes == 0) {
    iso += 'T';
  }
  part(h, "h", "H");
  part(m, "m", "M");
  if (minutes == 0) {
    presentation = "0m";
    iso += "0M";
  }
  return Value(Value::Object{
      {"$type", "PeriodValue"}, {"id", iso}, {"minutes", minutes}, {"presentation", presentation}});
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Value TextValue(std::string_view text) {
  return Value(Value::Object{{"$type", "TextFieldValue"},
                             {"id", "text"},
                             {"text", text},
                             {"markdownText", "<div class=\"wiki text common-markdown\"><p>" +
                                                  HtmlEscape(text) + "</p></div>"}});
}

// The projectCustomField object of field `f` at `position` in a project.
Value ProjectFieldValue(const FieldInfo& f, const ProjectLayout& layout, std::size_t position) {
  std::string id = std::string(layout.field_id_prefix) + std::to_string(position + 1);
  Value::Object field_type{{"$type", "FieldType"}, {"id", f.type_id}, {"valueType", f.value_type}};
  Value::Object field{{"$type", "CustomField"},
                      {"id", f.field_id},
                      {"name", f.name},
                      {"fieldType", Value(std::move(field_type))}};
  return Value(Value::Object{
      {"$type", f.project_field_type}, {"id", id}, {"field", Value(std::move(field))}});
}

Value Event(const char* id, const char* presentation) {
  return Value(Value::Object{{"$type", "Event"}, {"id", id}, {"presentation", presentation}});
}

Value PossibleEvents(std::size_t state) {
  switch (state) {
    case 0:
      return Value(Value::List{Event("start", "Start work")});
    case 1:
      return Value(Value::List{Event("to review", "Send to review"), Event("stop", "Stop work")});
    case 2:
      return Value(Value::List{Event("done", "Done"), Event("rework", "Back to work")});
    default:
      return Value(Value::List{Event("reopen", "Reopen")});
  }
}

template <std::size_t N>
std::size_t Weighted(std::uint64_t r, const std::array<int, N>& weights) {
  int total = 0;
  for (int w : weights) {
    total += w;
  }
  int pick = static_cast<int>(r % static_cast<std::uint64_t>(total));
  for (std::size_t i = 0; i < N; ++i) {
    if (pick < weights[i]) {
      return i;
    }
    pick -= weights[i];
  }
  return N - 1;
}

std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr std::array<const char*, 16> kSubjects{
    "Board export",        "Sync cursor",   "Login page",      "Webhook delivery",
    "Search index",        "Token refresh", "Priority matrix", "CSV import",
    "Notification digest", "Dark mode",     "Release notes",   "API pagination",
    "Audit log",           "Mobile layout", "Rate limiter",    "Überschrift rendering"};
constexpr std::array<const char*, 12> kProblems{
    "fails on empty input",         "is slow for large projects",
    "ignores the user's time zone", "shows stale data after a move",
    "needs a retry policy",         "loses non-ASCII characters",
    "should support bulk edit",     "times out behind a proxy",
    "double-counts archived items", "is missing from the settings page",
    "breaks with 日本語 titles",    "returns 500 on a bad cursor"};
constexpr std::array<const char*, 5> kCustomers{
    "ACME GmbH", "Globex Corporation", "株式会社サンプル", "Société Exemple SA", "Initech"};
constexpr std::array<std::int64_t, 10> kEstimates{30,  60,  120,  240,  480,
                                                  510, 960, 1440, 2400, 4800};
constexpr std::array<std::int64_t, 6> kStoryPoints{1, 2, 3, 5, 8, 13};
constexpr std::int64_t kSpentTimes = 200;  // 15 minutes to 50 hours, in quarters of an hour

// Salts: one per random choice, so adding a choice never shifts the others.
enum Salt : std::uint64_t {
  kSaltProject = 1,
  kSaltCreated,
  kSaltUpdatedBucket,
  kSaltUpdated,
  kSaltState,
  kSaltResolved,
  kSaltSubject,
  kSaltProblem,
  kSaltDescription,
  kSaltReporter,
  kSaltUpdater,
  kSaltTags,
  kSaltFieldBase = 100,
};

const std::int64_t kGenerationStart = Ms(2023, 1, 2, 8, 0, 0);
constexpr std::int64_t kGenerationSpan = 540 * kDay;

// Every fixed piece of a synthetic issue, built once. Issues copy (or
// project) these instead of building them again.
struct Catalog {
  std::vector<Value> users;  // kUsers order
  std::vector<Value> groups;
  std::vector<Value> tags;
  std::vector<Value> states;
  std::vector<Value> workflow_states;
  std::vector<Value> possible_events;  // per workflow state
  std::vector<Value> priorities;
  std::vector<Value> types;
  std::vector<Value> versions;
  std::vector<Value> builds;
  std::vector<Value> estimates;    // kEstimates order
  std::vector<Value> spent_times;  // PeriodValue(15 + i * 15)
  std::vector<Value> rap_subsystems;
  std::vector<Value> srv_subsystems;
  std::vector<Value> project_refs;                   // {$type,id,name,shortName}
  std::array<std::vector<Value>, 3> project_fields;  // per project, per position
  std::array<std::vector<std::string>, 3> field_ids;
};

Catalog MakeCatalog() {
  Catalog c;
  for (const UserInfo& u : kUsers) {
    c.users.push_back(UserValue(u));
  }
  for (const GroupInfo& g : kGroups) {
    c.groups.push_back(GroupValue(g));
  }
  for (const TagInfo& t : kTags) {
    c.tags.push_back(Value(Value::Object{{"$type", "IssueTag"}, {"id", t.id}, {"name", t.name}}));
  }
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    c.states.push_back(BundleElement(kStates[i], static_cast<int>(i), true));
  }
  for (std::size_t i = 0; i < kWorkflowStates.size(); ++i) {
    c.workflow_states.push_back(BundleElement(kWorkflowStates[i], static_cast<int>(i), true));
    c.possible_events.push_back(PossibleEvents(i));
  }
  for (std::size_t i = 0; i < kPriorities.size(); ++i) {
    c.priorities.push_back(BundleElement(kPriorities[i], static_cast<int>(i), false));
  }
  for (std::size_t i = 0; i < kTypes.size(); ++i) {
    c.types.push_back(BundleElement(kTypes[i], static_cast<int>(i), false));
  }
  for (const VersionInfo& v : Versions()) {
    c.versions.push_back(VersionValue(v));
  }
  for (std::size_t i = 0; i < Builds().size(); ++i) {
    c.builds.push_back(BuildValue(Builds()[i], static_cast<int>(i)));
  }
  for (std::int64_t minutes : kEstimates) {
    c.estimates.push_back(PeriodValue(minutes));
  }
  for (std::int64_t i = 0; i < kSpentTimes; ++i) {
    c.spent_times.push_back(PeriodValue(15 + i * 15));
  }
  for (std::size_t i = 0; i < kRapSubsystems.size(); ++i) {
    c.rap_subsystems.push_back(OwnedValue(kRapSubsystems[i], static_cast<int>(i)));
  }
  for (std::size_t i = 0; i < kSrvSubsystems.size(); ++i) {
    c.srv_subsystems.push_back(OwnedValue(kSrvSubsystems[i], static_cast<int>(i)));
  }
  for (std::size_t p = 0; p < SampleProjects().size(); ++p) {
    const SampleProject& project = SampleProjects()[p];
    c.project_refs.push_back(Value(Value::Object{{"$type", "Project"},
                                                 {"id", project.id},
                                                 {"name", project.name},
                                                 {"shortName", project.short_name}}));
    const ProjectLayout& layout = Layout(p);
    for (std::size_t position = 0; position < layout.fields.size(); ++position) {
      const FieldInfo& f = kFields[static_cast<std::size_t>(layout.fields[position])];
      c.project_fields[p].push_back(ProjectFieldValue(f, layout, position));
      c.field_ids[p].push_back(std::string(layout.field_id_prefix) + std::to_string(position + 1));
    }
  }
  return c;
}

const Catalog& TheCatalog() {
  static const Catalog kCatalog = MakeCatalog();
  return kCatalog;
}

// AppendJsonString() with a shortcut for text that needs no escaping (all
// of the generator's keys and nearly all of its strings): one append instead
// of one per character.
void AppendString(std::string& out, std::string_view s) {
  bool plain = std::none_of(s.begin(), s.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
  if (!plain) {
    AppendJsonString(out, s);
    return;
  }
  out.push_back('"');
  out.append(s);
  out.push_back('"');
}

// Writes a JSON object member by member. Callers give the members in key
// order, as Value::ToJson() writes them, so that the text is exactly that
// of the equivalent Value.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) {}

  // Starts member `key`; its value is to be appended to the returned text.
  std::string& Member(std::string_view key) {
    out_.push_back(first_ ? '{' : ',');
    first_ = false;
    AppendString(out_, key);
    out_.push_back(':');
    return out_;
  }
  void End() { out_ += first_ ? "{}" : "}"; }

 private:
  std::string& out_;
  bool first_ = true;
};

void AppendInt(std::string& out, std::int64_t n) {
  char text[24];
  auto [end, ec] = std::to_chars(text, text + sizeof text, n);
  out.append(text, end);
}

}  // namespace

// What to write: everything (no selector) or a fields= projection.
struct SyntheticIssueGenerator::Shape {
  const FieldSelector* selector = nullptr;
  PieceCache* pieces = nullptr;  // may be null

  bool Wants(std::string_view key) const {
    return selector == nullptr || selector->Find(key) != nullptr;
  }
  Shape Sub(std::string_view key) const {
    return Shape{selector == nullptr ? nullptr : selector->Find(key), pieces};
  }
  // Appends `v` in this shape.
  void Take(const Value& v, std::string& out) const {
    if (selector == nullptr) {
      v.AppendJson(out);
    } else {
      boardsync::AppendProjectedJson(v, *selector, out);  // not the member
    }
  }
  // Take() for a piece of TheCatalog(), projected once per cache.
  void TakePiece(const Value& piece, std::string& out) const {
    if (pieces == nullptr || selector == nullptr) {
      return Take(piece, out);
    }
    auto [it, added] = pieces->text.try_emplace({&piece, selector});
    if (added) {
      Take(piece, it->second);
    }
    out += it->second;
  }
};

const std::vector<SampleProject>& SampleProjects() {
  static const std::vector<SampleProject> kProjects{
      {"0-1", "RAP", "Roadmap App", "The prioritization board web app.", "zoe.angstrom"},
      {"0-2", "SRV", "Server Platform", "Backend services; State is managed by a workflow.",
       "taro.yamada"},
      {"0-3", "DOC", "Docs", "User and operator documentation.", "priya.raman"},
  };
  return kProjects;
}

Value SampleProjectValue(const SampleProject& project) {
  return Value(Value::Object{{"$type", "Project"},
                             {"id", project.id},
                             {"shortName", project.short_name},
                             {"name", project.name},
                             {"description", project.description},
                             {"archived", false},
                             {"leader", SampleUserValue(project.leader_login)}});
}

Value SampleUserValue(std::string_view login) {
  for (const UserInfo& u : kUsers) {
    if (login == u.login) {
      return UserValue(u);
    }
  }
  return Value();
}

SyntheticIssueGenerator::SyntheticIssueGenerator(std::uint64_t seed, std::size_t count)
    : seed_(seed), count_(count) {}

std::uint64_t SyntheticIssueGenerator::Random(std::size_t ordinal, std::uint64_t salt) const {
  return Mix(Mix(seed_ ^ (salt * 0x632be59bd9b4e019ULL)) ^ static_cast<std::uint64_t>(ordinal));
}

std::int64_t SyntheticIssueGenerator::Created(std::size_t ordinal) const {
  std::int64_t n = static_cast<std::int64_t>(std::max<std::size_t>(count_, 1));
  std::int64_t step = std::max<std::int64_t>(kGenerationSpan / n, 1);
  std::int64_t jitter =
      static_cast<std::int64_t>(Random(ordinal, kSaltCreated) % static_cast<std::uint64_t>(step));
  return kGenerationStart + static_cast<std::int64_t>(ordinal) * step + jitter;
}

std::int64_t SyntheticIssueGenerator::UpdatedIgnoringTies(std::size_t ordinal) const {
  std::int64_t created = Created(ordinal);
  std::uint64_t bucket = Random(ordinal, kSaltUpdatedBucket) % 100;
  std::uint64_t r = Random(ordinal, kSaltUpdated);
  if (bucket < 30) {
    return created;
  }
  if (bucket < 70) {
    return created + 1 + static_cast<std::int64_t>(r % static_cast<std::uint64_t>(2 * kDay));
  }
  return created + 1 + static_cast<std::int64_t>(r % static_cast<std::uint64_t>(120 * kDay));
}

std::size_t SyntheticIssueGenerator::StateIndex(std::size_t ordinal, std::size_t project) const {
  std::uint64_t r = Random(ordinal, kSaltState);
  return Layout(project).workflow_state ? Weighted(r, kWorkflowStateWeights)
                                        : Weighted(r, kStateWeights);
}

SyntheticIssueGenerator::Outline SyntheticIssueGenerator::Describe(std::size_t ordinal) const {
  Outline outline;
  std::uint64_t p = Random(ordinal, kSaltProject) % 100;
  outline.project = p < 50 ? 0 : p < 85 ? 1 : 2;
  outline.created = Created(ordinal);
  outline.updated = UpdatedIgnoringTies(ordinal);
  // Pairs (48, 49) of every fifty were touched by one bulk change.
  std::size_t in_group = ordinal % 50;
  if (in_group == 48 && ordinal + 1 < count_) {
    outline.updated = std::max(outline.updated, UpdatedIgnoringTies(ordinal + 1));
  } else if (in_group == 49) {
    outline.updated = std::max(outline.updated, UpdatedIgnoringTies(ordinal - 1));
  }
  std::size_t state = StateIndex(ordinal, outline.project);
  bool resolved = Layout(outline.project).workflow_state ? kWorkflowStates[state].resolved
                                                         : kStates[state].resolved;
  if (resolved) {
    std::int64_t span = outline.updated - outline.created;
    std::uint64_t r = Random(ordinal, kSaltResolved) % 1000;
    outline.resolved = outline.updated - span * static_cast<std::int64_t>(r) / 2000;
  }
  return outline;
}

Value SyntheticIssueGenerator::Build(std::size_t ordinal, std::string_view id,
                                     std::uint32_t number) const {
  std::string json;
  Compose(json, ordinal, id, number, Shape{}, nullptr);
  return ParseJson(json).value();
}

Value SyntheticIssueGenerator::BuildProjected(
    std::size_t ordinal, std::string_view id, std::uint32_t number, const FieldSelector& fields,
    const std::function<bool(std::string_view)>& keep_field) const {
  std::string json;
  PieceCache pieces;
  AppendProjectedJson(json, ordinal, id, number, fields, keep_field, pieces);
  return ParseJson(json).value();
}

void SyntheticIssueGenerator::AppendProjectedJson(
    std::string& out, std::size_t ordinal, std::string_view id, std::uint32_t number,
    const FieldSelector& fields, const std::function<bool(std::string_view)>& keep_field,
    PieceCache& pieces) const {
  Compose(out, ordinal, id, number, Shape{&fields, &pieces}, keep_field ? &keep_field : nullptr);
}

void SyntheticIssueGenerator::Compose(
    std::string& out, std::size_t ordinal, std::string_view id, std::uint32_t number,
    const Shape& shape, const std::function<bool(std::string_view)>* keep_field) const {
  const Catalog& c = TheCatalog();
  const Outline outline = Describe(ordinal);
  const SampleProject& project = SampleProjects()[outline.project];
  auto user = [&](std::uint64_t r) -> const Value& { return c.users[1 + r % (kUsers.size() - 1)]; };
  auto summary = [&] {
    return std::string(kSubjects[Random(ordinal, kSaltSubject) % kSubjects.size()]) + " " +
           kProblems[Random(ordinal, kSaltProblem) % kProblems.size()];
  };

  // Members in key order (see ObjectWriter).
  ObjectWriter issue(out);
  AppendString(issue.Member("$type"), "Issue");
  auto put = [&](std::string_view key, auto&& write) {
    if (shape.Wants(key)) {
      write(issue.Member(key), shape.Sub(key));
    }
  };
  auto custom_fields = [&](std::string& o, Shape s) {
    CustomFields(o, ordinal, outline, s, keep_field);
  };
  put("created", [&](std::string& o, Shape) { AppendInt(o, outline.created); });
  put("customFields", custom_fields);
  put("description", [&](std::string& o, Shape) {
    std::uint64_t d = Random(ordinal, kSaltDescription) % 100;
    if (d < 25) {
      o += "null";
      return;
    }
    AppendString(o, "Steps to reproduce:\n1. Open the board.\n2. " + summary() +
                        ".\n\nExpected: it works.\nActual: it does not (seen " +
                        std::to_string(d % 7 + 1) + " times).");
  });
  // `fields(...)` is the server's undocumented alias of `customFields(...)`.
  if (shape.selector != nullptr) {
    put("fields", custom_fields);
  }
  put("id", [&](std::string& o, Shape) { AppendString(o, id); });
  put("idReadable", [&](std::string& o, Shape) {
    AppendString(o, project.short_name + "-" + std::to_string(number));
  });
  put("numberInProject", [&](std::string& o, Shape) { AppendInt(o, number); });
  put("project", [&](std::string& o, Shape s) { s.TakePiece(c.project_refs[outline.project], o); });
  put("reporter",
      [&](std::string& o, Shape s) { s.TakePiece(user(Random(ordinal, kSaltReporter)), o); });
  put("resolved", [&](std::string& o, Shape) {
    if (outline.resolved) {
      AppendInt(o, *outline.resolved);
    } else {
      o += "null";
    }
  });
  put("summary", [&](std::string& o, Shape) { AppendString(o, summary()); });
  put("tags", [&](std::string& o, Shape s) {
    std::uint64_t t = Random(ordinal, kSaltTags);
    std::size_t count = t % 10 < 6 ? 0 : t % 10 < 9 ? 1 : 2;
    o.push_back('[');
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) {
        o.push_back(',');
      }
      s.TakePiece(c.tags[(t / 10 + i * 3) % c.tags.size()], o);
    }
    o.push_back(']');
  });
  put("updated", [&](std::string& o, Shape) { AppendInt(o, outline.updated); });
  put("updater",
      [&](std::string& o, Shape s) { s.TakePiece(user(Random(ordinal, kSaltUpdater)), o); });
  issue.End();
}

void SyntheticIssueGenerator::CustomFields(
    std::string& out, std::size_t ordinal, const Outline& outline, const Shape& fs,
    const std::function<bool(std::string_view)>* keep_field) const {
  const Catalog& c = TheCatalog();
  const Shape vs = fs.Sub("value");
  const ProjectLayout& layout = Layout(outline.project);
  const std::size_t state = StateIndex(ordinal, outline.project);
  const bool started = state != 0;
  const bool resolved = outline.resolved.has_value();
  auto user = [&](std::uint64_t r) -> const Value& { return c.users[1 + r % (kUsers.size() - 1)]; };

  out.push_back('[');
  bool first = true;
  for (std::size_t position = 0; position < layout.fields.size(); ++position) {
    const FieldInfo& f = kFields[static_cast<std::size_t>(layout.fields[position])];
    if (keep_field != nullptr && !(*keep_field)(f.name)) {
      continue;
    }
    if (!first) {
      out.push_back(',');
    }
    first = false;
    const bool workflow = f.kind == Kind::kState && layout.workflow_state;
    auto write_value = [&](std::string& o) {
      std::uint64_t r = Random(ordinal, kSaltFieldBase + static_cast<std::uint64_t>(f.kind));
      std::uint64_t r2 = Mix(r);
      // `v` (a catalog piece or a scalar) in the value's shape when
      // `present`, else null.
      auto take = [&](bool present, const auto& v) {
        if (!present) {
          o += "null";
        } else if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Value>) {
          vs.TakePiece(v, o);
        } else {
          Value(v).AppendJson(o);
        }
      };
      // `n` of the `bundle`'s elements from the `from`-th on (cyclically), as a list.
      auto take_list = [&](std::size_t n, std::span<const Value> bundle, std::size_t from) {
        o.push_back('[');
        for (std::size_t i = 0; i < n; ++i) {
          if (i > 0) {
            o.push_back(',');
          }
          vs.TakePiece(bundle[(from + i) % bundle.size()], o);
        }
        o.push_back(']');
      };
      switch (f.kind) {
        case Kind::kState:
          return take(true, workflow ? c.workflow_states[state] : c.states[state]);
        case Kind::kPriority:
          return take(true, c.priorities[Weighted(r, kPriorityWeights)]);
        case Kind::kType:
          return take(true, c.types[Weighted(r, kTypeWeights)]);
        case Kind::kAssignee:
          return take(r % 100 >= 15, user(r2));
        case Kind::kSubsystem: {
          const std::vector<Value>& bundle =
              outline.project == 1 ? c.srv_subsystems : c.rap_subsystems;
          return take(r % 100 >= 10, bundle[r2 % bundle.size()]);
        }
        case Kind::kFixVersions:
          return take_list(r % 100 < 35 ? 0 : r % 100 < 85 ? 1 : 2, c.versions, r2);
        case Kind::kFixedInBuild:
          return take(resolved && r % 100 < 70, c.builds[r2 % c.builds.size()]);
        case Kind::kReviewers:
          // Any user but the first, the bot.
          return take_list(r % 100 < 50   ? 0
                           : r % 100 < 85 ? 1
                                          : 2,
                           std::span<const Value>(c.users).subspan(1), r2);
        case Kind::kTeam:
          return take(r % 100 >= 20, c.groups[r2 % c.groups.size()]);
        case Kind::kEstimation:
          return take(r % 100 >= 25, c.estimates[r2 % c.estimates.size()]);
        case Kind::kSpentTime:
          return take(started, c.spent_times[r2 % c.spent_times.size()]);
        case Kind::kDueDate: {
          std::int64_t day = outline.created / kDay + 7 + static_cast<std::int64_t>(r2 % 84);
          return take(r % 100 < 40, day * kDay + 12 * kHour);
        }
        case Kind::kStarted:
          return take(started, outline.created + static_cast<std::int64_t>(
                                                     r2 % static_cast<std::uint64_t>(10 * kDay)));
        case Kind::kStoryPoints:
          return take(r % 100 >= 30, kStoryPoints[r2 % kStoryPoints.size()]);
        case Kind::kBusinessValue:
          return take(r % 100 >= 30, static_cast<double>(r2 % 40) / 4.0 + 0.125);
        case Kind::kCustomer:
          return take(r % 100 < 50, kCustomers[r2 % kCustomers.size()]);
        case Kind::kNotes:
          if (r % 100 >= 30) {
            o += "null";
            return;
          }
          return vs.Take(TextValue("Discussed with support; see **" +
                                   std::string(kCustomers[r2 % kCustomers.size()]) + "** ticket #" +
                                   std::to_string(1000 + r2 % 9000) + "."),
                         o);
      }
    };

    // Members in key order (see ObjectWriter).
    ObjectWriter field(out);
    AppendString(field.Member("$type"),
                 workflow ? "StateMachineIssueCustomField" : f.issue_field_type);
    if (fs.Wants("id")) {
      AppendString(field.Member("id"), c.field_ids[outline.project][position]);
    }
    if (fs.Wants("name")) {
      AppendString(field.Member("name"), f.name);
    }
    if (workflow && fs.Wants("possibleEvents")) {
      fs.Sub("possibleEvents").TakePiece(c.possible_events[state], field.Member("possibleEvents"));
    }
    if (fs.Wants("projectCustomField")) {
      fs.Sub("projectCustomField")
          .TakePiece(c.project_fields[outline.project][position],
                     field.Member("projectCustomField"));
    }
    if (fs.Wants("value")) {
      write_value(field.Member("value"));
    }
    field.End();
  }
  out.push_back(']');
}

}  // namespace boardsync

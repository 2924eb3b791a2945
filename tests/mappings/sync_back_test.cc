// The mapping's `sync_back` section (DESIGN §3.1): what it parses into, every
// error at its place, the no-echo rule, the $updated warning, and that it
// leaves the rules' fingerprint and source fields alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "mappings/mapping.h"
#include "tests/mappings/mapping_testing.h"

namespace boardsync {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Strings(const Diagnostics& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) {
    out.push_back(d.ToString());
  }
  return out;
}

// The diagnostics for `yaml`; fails the test when the text parses.
std::vector<std::string> Errors(std::string_view yaml) {
  auto mapping = ParseMapping(yaml, "m.yaml");
  if (mapping) {
    ADD_FAILURE() << "expected parse errors";
    return {};
  }
  return Strings(mapping.error());
}

// A file whose `sync_back.fields` starts at line 4 with `targets`.
std::string WithTargets(std::string_view targets) {
  return "fields: {title: summary}\nsync_back:\n  fields:\n" + std::string(targets);
}

// --- what a good section parses into ---

TEST(SyncBackParseTest, ParsesTargetsFromsTypesCreateAndPlaces) {
  Mapping m = MustParse(R"(fields:
  title: summary
sync_back:
  create: true
  fields:
    "Board score": { from: score, type: float }
    Board rank: { from: rank, type: integer }
    Note:
      type: string
      from: note
    Weight: { from: weight }
)");
  ASSERT_TRUE(m.sync_back.has_value());
  EXPECT_TRUE(m.sync_back->create);
  ASSERT_EQ(m.sync_back->fields.size(), 4u);
  const auto& f = m.sync_back->fields;
  EXPECT_EQ(f[0].target, "Board score");
  EXPECT_EQ(f[0].from, "score");
  EXPECT_EQ(f[0].type, FieldType::kFloat);
  EXPECT_EQ(f[0].line, 6);
  EXPECT_EQ(f[0].column, 5);
  EXPECT_EQ(f[1].target, "Board rank");
  EXPECT_EQ(f[1].from, "rank");
  EXPECT_EQ(f[1].type, FieldType::kInteger);
  EXPECT_EQ(f[1].line, 7);
  EXPECT_EQ(f[2].target, "Note");
  EXPECT_EQ(f[2].from, "note");
  EXPECT_EQ(f[2].type, FieldType::kString);
  EXPECT_EQ(f[2].line, 8);
  // `type` left out is float.
  EXPECT_EQ(f[3].target, "Weight");
  EXPECT_EQ(f[3].type, FieldType::kFloat);
  EXPECT_EQ(f[3].line, 11);
  EXPECT_EQ(f[3].column, 5);
  EXPECT_THAT(m.warnings, IsEmpty());
}

TEST(SyncBackParseTest, CreateDefaultsToFalse) {
  Mapping m = MustParse(WithTargets("    Board score: {from: score}\n"));
  ASSERT_TRUE(m.sync_back.has_value());
  EXPECT_FALSE(m.sync_back->create);
  m = MustParse("fields: {title: summary}\nsync_back: {create: false, fields: {S: {from: s}}}\n");
  ASSERT_TRUE(m.sync_back.has_value());
  EXPECT_FALSE(m.sync_back->create);
}

TEST(SyncBackParseTest, MayComeBeforeFields) {
  Mapping m = MustParse("sync_back:\n  fields: {S: {from: score}}\nfields:\n  title: summary\n");
  ASSERT_TRUE(m.sync_back.has_value());
  ASSERT_EQ(m.sync_back->fields.size(), 1u);
  EXPECT_EQ(m.sync_back->fields[0].line, 2);
  EXPECT_EQ(m.sync_back->fields[0].column, 12);
  ASSERT_EQ(m.fields.size(), 1u);
}

TEST(SyncBackParseTest, AMappingWithoutItHasNoneAndNoWarnings) {
  Mapping m = MustParse("fields:\n  title: summary\n  updated: $updated\n");
  EXPECT_FALSE(m.sync_back.has_value());
  EXPECT_THAT(m.warnings, IsEmpty());
  EXPECT_EQ(m.fields.size(), 2u);
}

// --- errors, each at its line:column ---

TEST(SyncBackErrorsTest, BadType) {
  EXPECT_THAT(Errors(WithTargets("    S: {from: score, type: double}\n")),
              ElementsAre("m.yaml:4:28: sync_back target \"S\": unknown `type` `double`; expected "
                          "float, integer or string"));
  EXPECT_THAT(Errors(WithTargets("    S: {from: score, type: [float]}\n")),
              ElementsAre("m.yaml:4:28: sync_back target \"S\": unknown `type`; expected float, "
                          "integer or string"));
  EXPECT_THAT(Errors(WithTargets("    S:\n      from: score\n      type:\n")),
              ElementsAre("m.yaml:6:7: sync_back target \"S\": unknown `type`; expected float, "
                          "integer or string"));
}

TEST(SyncBackErrorsTest, MissingOrEmptyFrom) {
  EXPECT_THAT(Errors(WithTargets("    S: {type: float}\n")),
              ElementsAre("m.yaml:4:8: sync_back target \"S\": `from` is missing; name the board "
                          "score to write, e.g. from: score"));
  EXPECT_THAT(Errors(WithTargets("    S: {from: \"\"}\n")),
              ElementsAre("m.yaml:4:15: sync_back target \"S\": `from` must be the name of a "
                          "board score, e.g. from: score"));
  EXPECT_THAT(Errors(WithTargets("    S:\n      from:\n")),
              ElementsAre("m.yaml:5:7: sync_back target \"S\": `from` must be the name of a "
                          "board score, e.g. from: score"));
  EXPECT_THAT(Errors(WithTargets("    S: {from: [score, rank]}\n")),
              ElementsAre("m.yaml:4:15: sync_back target \"S\": `from` must be the name of a "
                          "board score, e.g. from: score"));
}

TEST(SyncBackErrorsTest, TargetMustBeAMapping) {
  EXPECT_THAT(Errors(WithTargets("    S: score\n")),
              ElementsAre("m.yaml:4:8: sync_back target \"S\": expected { from: <board score>, "
                          "type: float, integer or string }"));
  EXPECT_THAT(Errors(WithTargets("    S:\n")),
              ElementsAre("m.yaml:4:5: sync_back target \"S\": expected { from: <board score>, "
                          "type: float, integer or string }"));
}

TEST(SyncBackErrorsTest, UnknownKeys) {
  EXPECT_THAT(Errors(WithTargets("    S: {from: score, as: hours}\n")),
              ElementsAre("m.yaml:4:22: sync_back target \"S\": unknown key `as`; expected from "
                          "or type"));
  EXPECT_THAT(
      Errors("fields: {title: summary}\nsync_back:\n  create: false\n  field: {S: {from: s}}\n"),
      ElementsAre("m.yaml:4:3: sync_back: unknown key `field`; expected create or fields",
                  "m.yaml:2:1: sync_back: `fields` is missing; name at least one tracker field "
                  "to write"));
}

TEST(SyncBackErrorsTest, CreateMustBeABoolean) {
  EXPECT_THAT(
      Errors("fields: {title: summary}\nsync_back:\n  create: yes\n  fields: {S: {from: s}}\n"),
      ElementsAre("m.yaml:3:11: sync_back: `create` must be true or false"));
  EXPECT_THAT(Errors("fields: {title: summary}\nsync_back:\n  create:\n  fields: {S: {from: s}}\n"),
              ElementsAre("m.yaml:3:3: sync_back: `create` must be true or false"));
}

TEST(SyncBackErrorsTest, SectionMustBeAMapping) {
  EXPECT_THAT(Errors("fields: {title: summary}\nsync_back: [score]\n"),
              ElementsAre("m.yaml:2:12: `sync_back` must be a mapping with `fields` (and "
                          "optionally `create`)"));
  EXPECT_THAT(Errors("fields: {title: summary}\nsync_back:\n"),
              ElementsAre("m.yaml:2:1: `sync_back` must be a mapping with `fields` (and "
                          "optionally `create`)"));
}

TEST(SyncBackErrorsTest, FieldsNotAMappingOrEmpty) {
  EXPECT_THAT(Errors("fields: {title: summary}\nsync_back: {fields: [score]}\n"),
              ElementsAre("m.yaml:2:21: sync_back: `fields` must be a mapping from tracker field "
                          "to { from: <board score>, type: float, integer or string }"));
  EXPECT_THAT(Errors("fields: {title: summary}\nsync_back: {fields: {}}\n"),
              ElementsAre("m.yaml:2:21: sync_back: `fields` is empty; name at least one tracker "
                          "field to write"));
  EXPECT_THAT(Errors("fields: {title: summary}\nsync_back:\n  create: true\n  fields:\n"),
              ElementsAre("m.yaml:4:3: sync_back: `fields` is empty; name at least one tracker "
                          "field to write"));
}

TEST(SyncBackErrorsTest, DuplicateTargets) {
  EXPECT_THAT(Errors(WithTargets("    S: {from: score}\n    S: {from: rank}\n")),
              ElementsAre("m.yaml:5:5: duplicate key \"S\": the same key is at line 4, column 5 "
                          "(YAML would keep only the first)"));
  // Trackers find fields by name regardless of case: one field, written twice.
  EXPECT_THAT(
      Errors(WithTargets("    Board Score: {from: score}\n    board score: {from: rank}\n")),
      ElementsAre("m.yaml:5:5: sync_back target \"board score\" is the same tracker field "
                  "as \"Board Score\" (line 4): trackers match field names regardless of "
                  "case"));
}

TEST(SyncBackErrorsTest, EveryProblemAtOnce) {
  EXPECT_THAT(Errors(R"(fields:
  title: $nope
sync_back:
  create: maybe
  fields:
    A: {type: float}
    B: {from: b, type: real}
)"),
              ElementsAre("m.yaml:2:10: field `title`: unknown built-in `$nope`; expected $id, "
                          "$key, $url, $created, $updated or $resolved",
                          "m.yaml:4:11: sync_back: `create` must be true or false",
                          "m.yaml:6:8: sync_back target \"A\": `from` is missing; name the board "
                          "score to write, e.g. from: score",
                          "m.yaml:7:24: sync_back target \"B\": unknown `type` `real`; expected "
                          "float, integer or string"));
}

// --- no echo: a field the mapping reads is never a target ---

TEST(SyncBackEchoTest, ATargetReadByFromPathTemplateOrSkipIsRefused) {
  EXPECT_THAT(Errors(R"(fields:
  title: summary
  priority: { from: Board score }
  who: Board rank.name
  headline: { template: "{$key} {Board note}" }
skip:
  Board flag: [x]
sync_back:
  fields:
    Board score: { from: score }
    Board rank: { from: rank }
    Board note: { from: note, type: string }
    Board flag: { from: flag }
    Free: { from: free }
)"),
              ElementsAre("m.yaml:10:5: sync_back target \"Board score\" is read by "
                          "fields.priority (line 3): a sync back would change what the next sync "
                          "maps",
                          "m.yaml:11:5: sync_back target \"Board rank\" is read by fields.who "
                          "(line 4): a sync back would change what the next sync maps",
                          "m.yaml:12:5: sync_back target \"Board note\" is read by "
                          "fields.headline (line 5): a sync back would change what the next sync "
                          "maps",
                          "m.yaml:13:5: sync_back target \"Board flag\" is read by skip.Board "
                          "flag (line 7): a sync back would change what the next sync maps"));
}

TEST(SyncBackEchoTest, NamesEveryRuleThatReadsTheTarget) {
  EXPECT_THAT(Errors(R"(sync_back:
  fields: { Score: { from: score } }
fields:
  a: Score
  b: { template: "{Score} / {Score.total}" }
skip:
  Score: ["0"]
)"),
              ElementsAre("m.yaml:2:13: sync_back target \"Score\" is read by fields.a (line 4), "
                          "fields.b (line 5) and skip.Score (line 7): a sync back would change "
                          "what the next sync maps"));
}

TEST(SyncBackEchoTest, NamesCompareRegardlessOfCase) {
  EXPECT_THAT(Errors(R"(fields:
  title: summary
  score: { from: board score, as: number }
sync_back:
  fields:
    Board Score: { from: score }
)"),
              ElementsAre("m.yaml:6:5: sync_back target \"Board Score\" is read by fields.score "
                          "(line 3, as \"board score\", which trackers take for the same field): "
                          "a sync back would change what the next sync maps"));
}

TEST(SyncBackEchoTest, OnlyAPathsFirstSegmentAndNoBuiltInClash) {
  // "login" and "name" are members, not fields; "key" and "url" are not the
  // built-ins $key and $url.
  Mapping m = MustParse(R"(fields:
  who: Assignee.login
  by: { template: "{reporter.name}" }
  k: $key
  link: { from: $url }
sync_back:
  fields:
    login: { from: a }
    name: { from: b }
    key: { from: c }
    url: { from: d }
)");
  ASSERT_TRUE(m.sync_back.has_value());
  EXPECT_EQ(m.sync_back->fields.size(), 4u);
}

// --- the $updated warning ---

TEST(SyncBackWarningTest, ReadingUpdatedWarnsAtEachRuleThatReadsIt) {
  Mapping m = MustParse(R"(fields:
  title: summary
  updated: $updated
  stamp: { template: "{$key} at {$updated}" }
  day: { from: $updated, as: date }
skip:
  $updated: [never]
sync_back:
  fields: { Board score: { from: score } }
)");
  ASSERT_TRUE(m.sync_back.has_value());
  constexpr std::string_view kWhy =
      " reads $updated while sync_back is on: a sync back write moves the issue's updated time, "
      "so the next sync changes every item it wrote";
  EXPECT_THAT(Strings(m.warnings), ElementsAre("test.yaml:3:3: fields.updated" + std::string(kWhy),
                                               "test.yaml:4:3: fields.stamp" + std::string(kWhy),
                                               "test.yaml:5:3: fields.day" + std::string(kWhy),
                                               "test.yaml:7:3: skip.$updated" + std::string(kWhy)));
}

TEST(SyncBackWarningTest, NoWarningWithoutUpdatedOrWithoutSyncBack) {
  EXPECT_THAT(MustParse("fields: {title: summary, made: $created}\n"
                        "sync_back: {fields: {S: {from: score}}}\n")
                  .warnings,
              IsEmpty());
  EXPECT_THAT(MustParse("fields: {title: summary, updated: $updated}\n").warnings, IsEmpty());
}

TEST(SyncBackWarningTest, AFailedParseGivesItsErrorsOnly) {
  EXPECT_THAT(Errors("fields: {updated: $updated}\nsync_back: {fields: {S: {type: float}}}\n"),
              ElementsAre(::testing::HasSubstr("`from` is missing")));
}

// --- what sync_back leaves alone ---

constexpr std::string_view kRules = R"(hours_per_day: 6
fields:
  title: summary
  effort: { from: Estimation, as: hours }
  headline: { template: "{$key}: {Assignee.name}" }
skip:
  State: [Duplicate]
)";

TEST(SyncBackFingerprintTest, SyncBackChangesNeitherFingerprintNorSourceFields) {
  Mapping plain = MustParse(kRules);
  for (std::string_view section :
       {"sync_back:\n  fields: {Board score: {from: score}}\n",
        "sync_back:\n  create: true\n  fields: {Board score: {from: score, type: integer}}\n",
        "sync_back:\n  fields:\n    Board score: {from: score}\n    Rank: {from: rank}\n",
        "sync_back:\n  fields: {Other: {from: alignment, type: string}}\n"}) {
    Mapping with = MustParse(std::string(kRules) + std::string(section));
    ASSERT_TRUE(with.sync_back.has_value()) << section;
    EXPECT_EQ(with.Fingerprint(), plain.Fingerprint()) << section;
    EXPECT_EQ(with.SourceFields(), plain.SourceFields()) << section;
  }
  EXPECT_EQ(plain.SourceFields(),
            (std::vector<std::string>{"Assignee", "Estimation", "State", "summary"}));
}

TEST(SyncBackFingerprintTest, AMappingWithoutSyncBackKeepsItsFingerprint) {
  // Stored items carry the fingerprint of the mapping that made them; a
  // change here would make every stored board item look stale.
  EXPECT_EQ(MustParse(kRules).Fingerprint(), "af97729e914c5062");
}

}  // namespace
}  // namespace boardsync

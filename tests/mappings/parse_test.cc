#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "mappings/mapping.h"
#include "tests/mappings/mapping_testing.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The diagnostics for `yaml` as "file:line:column: message" strings; fails
// the test when the text parses.
std::vector<std::string> Errors(std::string_view yaml) {
  auto mapping = ParseMapping(yaml, "m.yaml");
  if (mapping) {
    ADD_FAILURE() << "expected parse errors";
    return {};
  }
  std::vector<std::string> out;
  for (const Diagnostic& d : mapping.error()) {
    out.push_back(d.ToString());
  }
  return out;
}

// --- what a good file parses into ---

TEST(ParseMappingTest, ParsesEveryRuleKind) {
  Mapping m = MustParse(R"(hours_per_day: 6
fields:
  title: summary
  link: $url
  assignee: Assignee.login
  effort: { from: Estimation, as: hours }
  urgency:
    from: Priority
    map: { Critical: 4, Minor: 1 }
    default: 2
  headline: { template: "{$key}: {summary}" }
skip:
  State: [Duplicate, "Won't fix"]
)");
  EXPECT_EQ(m.hours_per_day, 6);
  ASSERT_EQ(m.fields.size(), 6u);

  EXPECT_EQ(m.fields[0].target, "title");
  ASSERT_TRUE(m.fields[0].from.has_value());
  EXPECT_EQ(m.fields[0].from->segments, std::vector<std::string>{"summary"});

  ASSERT_TRUE(m.fields[1].from.has_value());
  EXPECT_EQ(m.fields[1].from->builtin, Builtin::kUrl);

  EXPECT_EQ(m.fields[2].from->segments, (std::vector<std::string>{"Assignee", "login"}));
  EXPECT_EQ(m.fields[3].as, Conversion::kHours);

  const FieldRule& urgency = m.fields[4];
  ASSERT_TRUE(urgency.map.has_value());
  EXPECT_EQ(*urgency.map, (Value::Object{{"Critical", 4}, {"Minor", 1}}));
  EXPECT_EQ(urgency.default_value, Value(2));

  const FieldRule& headline = m.fields[5];
  EXPECT_FALSE(headline.from.has_value());
  ASSERT_TRUE(headline.template_parts.has_value());
  ASSERT_EQ(headline.template_parts->size(), 3u);
  EXPECT_EQ((*headline.template_parts)[0].path->builtin, Builtin::kKey);
  EXPECT_EQ((*headline.template_parts)[1].literal, ": ");
  EXPECT_EQ((*headline.template_parts)[2].path->text, "summary");

  ASSERT_EQ(m.skip.size(), 1u);
  EXPECT_EQ(m.skip[0].path.text, "State");
  EXPECT_EQ(m.skip[0].values, (std::vector<std::string>{"Duplicate", "Won't fix"}));
}

TEST(ParseMappingTest, KeepsTheSourceText) {
  constexpr std::string_view kYaml = "fields: {title: summary}\n";
  EXPECT_EQ(MustParse(kYaml).source_text, kYaml);
}

TEST(ParseMappingTest, HoursPerDayDefaultsToEight) {
  EXPECT_EQ(MustParse("fields: {title: summary}").hours_per_day, 8);
}

TEST(ParseMappingTest, EmptySkipIsAllowed) {
  EXPECT_TRUE(MustParse("fields: {title: summary}\nskip:\n").skip.empty());
}

// --- SourceFields ---

TEST(SourceFieldsTest, ListsTopLevelFieldsOfRulesTemplatesAndSkip) {
  Mapping m = MustParse(R"(
fields:
  title: summary
  link: $url
  assignee: Assignee.login
  reviewers: Reviewers
  effort: { from: Estimation, as: hours }
  headline: { template: "{$key} {summary} by {reporter.name}" }
  again: { from: Assignee, map: { Jane Doe: 1 } }
skip:
  State: [Duplicate]
  tags: [spam]
)");
  EXPECT_EQ(m.SourceFields(), (std::vector<std::string>{"Assignee", "Estimation", "Reviewers",
                                                        "State", "reporter", "summary", "tags"}));
}

TEST(SourceFieldsTest, BuiltInsOnlyGiveNothing) {
  EXPECT_TRUE(
      MustParse("fields: {key: $key, made: {template: '{$created}'}}").SourceFields().empty());
}

// --- Fingerprint ---

constexpr std::string_view kBase = R"(
hours_per_day: 8
fields:
  title: summary
  effort: { from: Estimation, as: hours }
  urgency: { from: Priority, map: { Critical: 4 }, default: 2 }
  headline: { template: "{$key}: {summary}" }
skip:
  State: [Duplicate]
)";

TEST(FingerprintTest, IsSixteenHexDigitsAndStable) {
  std::string fingerprint = MustParse(kBase).Fingerprint();
  EXPECT_THAT(fingerprint, ::testing::MatchesRegex("[0-9a-f]{16}"));
  EXPECT_EQ(MustParse(kBase).Fingerprint(), fingerprint);
}

TEST(FingerprintTest, IgnoresCommentsLayoutAndOrder) {
  Mapping other = MustParse(R"(# the board fields
skip: { State: [ Duplicate ] }
fields:
  headline:
    template: '{$key}: {summary}'     # shown on cards
  urgency:
    default: 2
    map:
      Critical: 4
    from: Priority
  effort: {as: hours, from: Estimation}
  title: "summary"
)");
  EXPECT_EQ(other.Fingerprint(), MustParse(kBase).Fingerprint());
}

TEST(FingerprintTest, ChangesWhenAnyRuleChanges) {
  std::string base = MustParse(kBase).Fingerprint();
  auto changed = [&base](std::string_view from, std::string_view to) {
    std::string text(kBase);
    std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    return MustParse(text).Fingerprint() != base;
  };
  EXPECT_TRUE(changed("hours_per_day: 8", "hours_per_day: 6"));
  EXPECT_TRUE(changed("title: summary", "title: description"));
  EXPECT_TRUE(changed("title: summary", "name: summary"));
  EXPECT_TRUE(changed("as: hours", "as: days"));
  EXPECT_TRUE(changed("Critical: 4", "Critical: 5"));
  EXPECT_TRUE(changed("Critical: 4", "Critical: \"4\""));
  EXPECT_TRUE(changed("default: 2", "default: 3"));
  EXPECT_TRUE(changed("{$key}: {summary}", "{$key} - {summary}"));
  EXPECT_TRUE(changed("[Duplicate]", "[Duplicate, Obsolete]"));
}

// --- parse errors, each at its line:column ---

TEST(ParseErrorsTest, UnknownAsNamesTheAllowedValues) {
  // Line 4: `  effort: {from: Spent, as: hourz}`; "hourz" starts at column 29.
  EXPECT_THAT(
      Errors("hours_per_day: 8\nfields:\n  title: summary\n"
             "  effort: {from: Spent, as: hourz}\n"),
      ElementsAre("m.yaml:4:29: field `effort`: unknown `as` value `hourz`; expected one of "
                  "hours, days, minutes, number, string, date"));
}

TEST(ParseErrorsTest, TopLevelMustBeAMapping) {
  EXPECT_THAT(Errors("- title\n- summary\n"),
              ElementsAre("m.yaml:1:1: expected a YAML mapping with `fields` at the top level"));
  EXPECT_THAT(
      Errors(""),
      ElementsAre("m.yaml:1:1: the mapping file is empty; expected a YAML mapping with `fields`"));
}

TEST(ParseErrorsTest, UnknownTopLevelKey) {
  EXPECT_THAT(Errors("fields:\n  title: summary\nfield_map: {}\n"),
              ElementsAre("m.yaml:3:1: unknown top-level key `field_map`; expected hours_per_day, "
                          "fields, skip or sync_back"));
}

TEST(ParseErrorsTest, FieldsMissingOrEmpty) {
  EXPECT_THAT(
      Errors("hours_per_day: 8\n"),
      ElementsAre("m.yaml:1:1: `fields` is missing; a mapping needs at least one field rule"));
  EXPECT_THAT(
      Errors("hours_per_day: 8\nfields:\n"),
      ElementsAre("m.yaml:2:1: `fields` is empty; a mapping needs at least one field rule"));
  EXPECT_THAT(
      Errors("fields: {}\n"),
      ElementsAre("m.yaml:1:9: `fields` is empty; a mapping needs at least one field rule"));
  EXPECT_THAT(Errors("fields: [title]\n"),
              ElementsAre("m.yaml:1:9: `fields` must be a mapping from board field to rule"));
}

TEST(ParseErrorsTest, UnknownRuleKey) {
  EXPECT_THAT(
      Errors("fields:\n  effort:\n    from: Estimation\n    units: hours\n"),
      ElementsAre("m.yaml:4:5: field `effort`: unknown rule key `units`; expected from, map, "
                  "default, as or template"));
}

TEST(ParseErrorsTest, MapMustBeAMapping) {
  EXPECT_THAT(
      Errors("fields:\n  u: {from: Priority, map: [Critical, Major]}\n"),
      ElementsAre("m.yaml:2:28: field `u`: `map` must be a mapping from source value to result"));
}

TEST(ParseErrorsTest, MapValuesMustBeScalarsOrLists) {
  EXPECT_THAT(Errors("fields:\n  u: {from: Priority, map: {Critical: {level: 4}}}\n"),
              ElementsAre("m.yaml:2:39: field `u`: map value for `Critical` must be a scalar or a "
                          "list of scalars"));
}

TEST(ParseErrorsTest, FromMissing) {
  EXPECT_THAT(Errors("fields:\n  effort:\n    as: hours\n"),
              ElementsAre("m.yaml:3:5: field `effort`: `from` is missing"));
  EXPECT_THAT(Errors("fields:\n  effort: {as: hours}\n"),
              ElementsAre("m.yaml:2:11: field `effort`: `from` is missing"));
}

TEST(ParseErrorsTest, EmptyRuleOrPath) {
  EXPECT_THAT(Errors("fields:\n  title:\n"),
              ElementsAre("m.yaml:2:3: field `title`: empty rule; give a source path or a mapping "
                          "with `from`"));
  EXPECT_THAT(Errors("fields:\n  title: \"\"\n"),
              ElementsAre("m.yaml:2:10: field `title`: empty source path"));
  EXPECT_THAT(
      Errors("fields:\n  who: Assignee..login\n"),
      ElementsAre("m.yaml:2:8: field `who`: empty segment in source path `Assignee..login`"));
  EXPECT_THAT(Errors("fields:\n  who: {from: Assignee.}\n"),
              ElementsAre("m.yaml:2:15: field `who`: empty segment in source path `Assignee.`"));
}

TEST(ParseErrorsTest, UnknownBuiltIn) {
  EXPECT_THAT(Errors("fields:\n  link: $link\n"),
              ElementsAre("m.yaml:2:9: field `link`: unknown built-in `$link`; expected $id, $key, "
                          "$url, $created, $updated or $resolved"));
  EXPECT_THAT(Errors("fields:\n  k: $key.name\n"),
              ElementsAre("m.yaml:2:6: field `k`: built-in `$key` has no members"));
}

TEST(ParseErrorsTest, BadTemplate) {
  EXPECT_THAT(Errors("fields:\n  t: {template: \"{$key: {summary}\"}\n"),
              ElementsAre("m.yaml:2:17: field `t`: unclosed `{` in template; write `{{` for a "
                          "literal brace"));
  EXPECT_THAT(Errors("fields:\n  t: {template: \"{summary\"}\n"),
              ElementsAre("m.yaml:2:17: field `t`: unclosed `{` in template; write `{{` for a "
                          "literal brace"));
  EXPECT_THAT(Errors("fields:\n  t: {template: \"a } b\"}\n"),
              ElementsAre("m.yaml:2:17: field `t`: unmatched `}` in template; write `}}` for a "
                          "literal brace"));
  EXPECT_THAT(Errors("fields:\n  t: {template: \"a {} b\"}\n"),
              ElementsAre("m.yaml:2:17: field `t`: empty placeholder `{}` in template"));
  EXPECT_THAT(Errors("fields:\n  t: {template: \"{$nope}\"}\n"),
              ElementsAre(HasSubstr("m.yaml:2:17: field `t`: unknown built-in `$nope`")));
}

TEST(ParseErrorsTest, TemplateCannotBeCombinedWithFrom) {
  EXPECT_THAT(Errors("fields:\n  t: {template: \"{summary}\", from: summary}\n"),
              ElementsAre("m.yaml:2:6: field `t`: `template` cannot be combined with from, map or "
                          "default"));
}

TEST(ParseErrorsTest, RuleMustBeAPathOrAMapping) {
  EXPECT_THAT(
      Errors("fields:\n  t: [summary]\n"),
      ElementsAre("m.yaml:2:6: field `t`: a rule is a source path or a mapping with from, map, "
                  "default, as or template"));
}

TEST(ParseErrorsTest, SkipEntriesMustBeListsOfScalars) {
  EXPECT_THAT(Errors("fields: {t: summary}\nskip:\n  State: Duplicate\n"),
              ElementsAre("m.yaml:3:10: skip `State` must be a list of values, e.g. [Duplicate, "
                          "\"Won't fix\"]"));
  EXPECT_THAT(Errors("fields: {t: summary}\nskip:\n  State: [Duplicate, {name: x}]\n"),
              ElementsAre(HasSubstr("m.yaml:3:22: skip `State` must be a list of values")));
  EXPECT_THAT(
      Errors("fields: {t: summary}\nskip: [State]\n"),
      ElementsAre("m.yaml:2:7: `skip` must be a mapping from source path to a list of values"));
  EXPECT_THAT(Errors("fields: {t: summary}\nskip:\n  $foo: [x]\n"),
              ElementsAre(HasSubstr("m.yaml:3:3: skip: unknown built-in `$foo`")));
}

TEST(ParseErrorsTest, BadHoursPerDay) {
  EXPECT_THAT(Errors("hours_per_day: zero\nfields: {t: summary}\n"),
              ElementsAre("m.yaml:1:16: hours_per_day must be a number of hours between 0 and 24"));
  EXPECT_THAT(Errors("hours_per_day: 0\nfields: {t: summary}\n"),
              ElementsAre("m.yaml:1:16: hours_per_day must be a number of hours between 0 and 24"));
}

TEST(ParseErrorsTest, DuplicateKeys) {
  EXPECT_THAT(Errors("fields:\n  title: summary\n  title: description\n"),
              ElementsAre("m.yaml:3:3: duplicate key \"title\": the same key is at line 2, "
                          "column 3 (YAML would keep only the first)"));
}

TEST(ParseErrorsTest, DuplicateKeysAtAnyDepthNameBothPlaces) {
  // At the top, inside a rule, inside a map table, in a flow mapping; and
  // the other problems of the file are still reported.
  EXPECT_THAT(Errors(R"(fields:
  a: {from: summary, as: hours, as: days}
  b:
    from: State
    map: {Open: 1, Open: 2}
skip: {State: [x]}
skip: {Type: [y]}
colour: blue
)"),
              ElementsAre(HasSubstr("m.yaml:2:33: duplicate key \"as\": the same key is at line 2, "
                                    "column 22"),
                          HasSubstr("m.yaml:5:20: duplicate key \"Open\": the same key is at line "
                                    "5, column 11"),
                          HasSubstr("m.yaml:7:1: duplicate key \"skip\": the same key is at line 6, "
                                    "column 1"),
                          "m.yaml:8:1: unknown top-level key `colour`; expected hours_per_day, "
                          "fields, skip or sync_back"));
}

TEST(ParseErrorsTest, AliasBombIsRefusedWithThePlaceOfTheAliasThatRanOutTheBudget) {
  // Nine levels of ten aliases each: 10^9 nodes when expanded.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) {
      yaml += ", " + prev;
    }
    yaml += "]\n";
  }
  yaml += "fields: {title: summary}\n";
  std::vector<std::string> errors = Errors(yaml);
  ASSERT_THAT(errors, ElementsAre(HasSubstr("stand for more than 10000 nodes")));
  // *a2 stands for 1,111 nodes; the aliases of lines 2 and 3 added 1,220,
  // so the eighth *a2 on line 4 is the one past 10,000.
  EXPECT_THAT(errors[0], ::testing::StartsWith("m.yaml:4:45: "));
}

TEST(ParseErrorsTest, AnAliasInsideTheNodeItNamesIsRefused) {
  EXPECT_THAT(Errors("fields: &f {title: summary, again: *f}\n"),
              ElementsAre(HasSubstr("m.yaml:1:36: an alias refers to the node that contains it")));
}

TEST(ParseErrorsTest, YamlSyntaxError) {
  EXPECT_THAT(Errors("fields:\n  title: [summary\n  state: State\n"),
              ElementsAre("m.yaml:3:8: invalid YAML: end of sequence flow not found"));
  EXPECT_THAT(Errors("fields: {title: summary\n"),
              ElementsAre(HasSubstr("m.yaml:2:1: invalid YAML: ")));
}

TEST(ParseErrorsTest, CollectsEveryProblem) {
  EXPECT_THAT(
      Errors(R"(fields:
  a: $nope
  b: {from: Estimation, as: weeks}
  c: {map: {x: 1}}
skip:
  State: Duplicate
colour: blue
)"),
      ElementsAre(HasSubstr("m.yaml:2:6: "), HasSubstr("m.yaml:3:29: "), HasSubstr("m.yaml:4:6: "),
                  HasSubstr("m.yaml:6:10: "), HasSubstr("m.yaml:7:1: ")));
}

TEST(ParseErrorsTest, OddYamlNeverThrows) {
  for (std::string_view yaml :
       {"fields: *nowhere\n", "fields: !!map [a]\n", "fields: {a: b}\n---\nfoo: 1\n", "\t\n",
        "fields: {? [a, b] : c}\n", "fields: {a: !!binary aGVsbG8=}\n",
        "%YAML 9.9\n---\nfields: {}\n", "fields:\n  a: &x summary\n  b: *x\n", "\xff\xfe",
        "fields: {a: '{'}\n"}) {
    EXPECT_NO_THROW(ParseMapping(yaml, "m.yaml")) << yaml;
  }
}

// --- LoadMappingFile ---

TEST(LoadMappingFileTest, LoadsAFile) {
  TempDir dir;
  std::filesystem::path file = dir.Write("m.yaml", "fields:\n  title: summary\n");
  auto mapping = LoadMappingFile(file);
  ASSERT_TRUE(mapping.has_value()) << DiagnosticsText(mapping.error());
  EXPECT_EQ(mapping->SourceFields(), std::vector<std::string>{"summary"});
}

TEST(LoadMappingFileTest, ErrorsNameTheFile) {
  TempDir dir;
  std::filesystem::path file = dir.Write("m.yaml", "fields:\n  title: $nope\n");
  auto mapping = LoadMappingFile(file);
  ASSERT_FALSE(mapping.has_value());
  ASSERT_EQ(mapping.error().size(), 1u);
  EXPECT_EQ(mapping.error()[0].file, file.string());
  EXPECT_EQ(mapping.error()[0].line, 2);
  EXPECT_EQ(mapping.error()[0].column, 10);
}

TEST(LoadMappingFileTest, UnreadableFileIsOneDiagnostic) {
  TempDir dir;
  auto missing = LoadMappingFile(dir.path() / "absent.yaml");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error(), ::testing::SizeIs(1));
  EXPECT_EQ(missing.error()[0].ToString(),
            (dir.path() / "absent.yaml").string() +
                ": cannot read mapping file: No such file or directory");

  auto directory = LoadMappingFile(dir.path());
  ASSERT_FALSE(directory.has_value());
  EXPECT_THAT(directory.error(), ::testing::SizeIs(1));
  EXPECT_EQ(directory.error()[0].ToString(),
            dir.path().string() +
                ": cannot read mapping file: it is a directory, not a regular file");
}

TEST(LoadMappingFileTest, AFifoOrADeviceIsRefusedAtOnce) {
  TempDir dir;
  const std::filesystem::path fifo = dir.path() / "m.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // No writer ever opens the FIFO: a reader that opened it would wait forever.
  auto from_fifo = LoadMappingFile(fifo);
  ASSERT_FALSE(from_fifo.has_value());
  EXPECT_EQ(from_fifo.error()[0].message,
            "cannot read mapping file: it is a FIFO, not a regular file");
  auto from_zero = LoadMappingFile("/dev/zero");
  ASSERT_FALSE(from_zero.has_value());
  EXPECT_EQ(from_zero.error()[0].message,
            "cannot read mapping file: it is a character device, not a regular file");
}

TEST(LoadMappingFileTest, AFileOverFourMibIsRefused) {
  TempDir dir;
  std::string text = "fields: {title: summary}\n";
  text += "#" + std::string((4u << 20) - text.size() - 2, 'x') + "\n";
  ASSERT_EQ(text.size(), 4u << 20);
  EXPECT_TRUE(LoadMappingFile(dir.Write("at-limit.yaml", text)).has_value());
  auto over = LoadMappingFile(dir.Write("over.yaml", text + "\n"));
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error()[0].message, "cannot read mapping file: it is larger than 4 MiB");
}

}  // namespace
}  // namespace boardsync

// The limits every operator-written YAML file is read with (mappings/yaml_file.h):
// the file's type and size, the alias budget, repeated keys at any depth.

#include "mappings/yaml_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Texts(const Diagnostics& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) {
    out.push_back(d.ToString());
  }
  return out;
}

// Why the read failed; "" when it did not.
std::string Why(const std::expected<std::string, std::string>& read) {
  return read ? "" : read.error();
}

TEST(ReadBoundedFileTest, ReadsARegularFileAndOneBehindASymlink) {
  TempDir dir;
  auto file = dir.Write("a.yaml", "a: 1\n");
  EXPECT_EQ(ReadBoundedFile(file).value_or("?"), "a: 1\n");
  std::filesystem::create_symlink(file, dir.path() / "link.yaml");
  EXPECT_EQ(ReadBoundedFile(dir.path() / "link.yaml").value_or("?"), "a: 1\n");
}

TEST(ReadBoundedFileTest, RefusesWhatIsNotARegularFileWithoutWaiting) {
  TempDir dir;
  const auto fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::filesystem::create_symlink(fifo, dir.path() / "to-fifo");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Why(ReadBoundedFile(fifo)), "it is a FIFO, not a regular file");
  EXPECT_EQ(Why(ReadBoundedFile(dir.path() / "to-fifo")),
            "it is a FIFO, not a regular file");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(Why(ReadBoundedFile("/dev/zero")),
            "it is a character device, not a regular file");
  EXPECT_EQ(Why(ReadBoundedFile(dir.path())), "it is a directory, not a regular file");
  EXPECT_EQ(Why(ReadBoundedFile(dir.path() / "absent")), "No such file or directory");
}

TEST(ReadBoundedFileTest, RefusesAFileOverTheLimit) {
  TempDir dir;
  auto file = dir.Write("big.yaml", std::string(101, 'x'));
  EXPECT_EQ(ReadBoundedFile(file, 101).value_or("?").size(), 101u);
  EXPECT_EQ(Why(ReadBoundedFile(file, 100)), "it is larger than 100 bytes");
}

TEST(CheckYamlTest, AFileWithoutProblemsHasNone) {
  YamlCheck check = CheckYaml("a: &x {b: 1, c: [1, 2]}\nd: *x\ne: *x\n", "f.yaml");
  EXPECT_THAT(check.problems, IsEmpty());
  EXPECT_FALSE(check.refuse);
}

TEST(CheckYamlTest, RepeatedKeysAreFoundAtAnyDepthWithBothPlaces) {
  YamlCheck check = CheckYaml(R"(list:
  - {name: a, name: b}
  - deeper:
      - x: 1
        y: 2
        x: 3
top: 1
top: 2
)",
                              "f.yaml");
  EXPECT_FALSE(check.refuse);
  EXPECT_THAT(Texts(check.problems),
              ElementsAre(HasSubstr("f.yaml:2:15: duplicate key \"name\": the same key is at "
                                    "line 2, column 6"),
                          HasSubstr("f.yaml:6:9: duplicate key \"x\": the same key is at line 4, "
                                    "column 9"),
                          HasSubstr("f.yaml:8:1: duplicate key \"top\": the same key is at line 7, "
                                    "column 1")));
}

TEST(CheckYamlTest, AnAliasUsedAsAKeyCountsAsTheKeyItNames) {
  YamlCheck check = CheckYaml("k: &k name\nm: {name: 1, *k : 2}\n", "f.yaml");
  EXPECT_THAT(Texts(check.problems), ElementsAre(HasSubstr("f.yaml:2:14: duplicate key \"name\"")));
}

TEST(CheckYamlTest, KeysOfDifferentMapsDoNotClash) {
  YamlCheck check = CheckYaml("a: {x: 1}\nb: {x: 1}\nc: [{x: 1}, {x: 2}]\n", "f.yaml");
  EXPECT_THAT(check.problems, IsEmpty());
}

TEST(CheckYamlTest, TheAliasBudgetCountsExpandedNodesAndStopsAtTheAliasOverIt) {
  // *a stands for 1 + 99 nodes; 100 of them are exactly the budget.
  std::string list = "[";
  for (int i = 0; i < 99; ++i) {
    list += i == 0 ? "x" : ", x";
  }
  list += "]";
  std::string yaml = "a: &a " + list + "\nb: [";
  for (int i = 0; i < 100; ++i) {
    yaml += i == 0 ? "*a" : ", *a";
  }
  YamlCheck within = CheckYaml(yaml + "]\n", "f.yaml");
  EXPECT_FALSE(within.refuse);
  EXPECT_THAT(within.problems, IsEmpty());
  YamlCheck over = CheckYaml(yaml + ", *a]\n", "f.yaml");
  EXPECT_TRUE(over.refuse);
  EXPECT_THAT(Texts(over.problems),
              ElementsAre("f.yaml:2:405: the aliases in this file stand for more than 10000 "
                          "nodes; write the values out or use fewer aliases"));
}

TEST(CheckYamlTest, ABillionLaughsIsRefusedQuickly) {
  std::string yaml = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 30; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    yaml += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev + ", " + prev +
            ", " + prev + ", " + prev + ", " + prev + ", " + prev + "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  YamlCheck check = CheckYaml(yaml, "f.yaml");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_TRUE(check.refuse);
  ASSERT_EQ(check.problems.size(), 1u);
  EXPECT_EQ(check.problems[0].line, 5);
}

TEST(CheckYamlTest, DeepNestingNeitherCrashesNorPasses) {
  // yaml-cpp stops at its own depth limit; the caller's YAML::Load reports it.
  YamlCheck check = CheckYaml(std::string(100'000, '[') + std::string(100'000, ']'), "f.yaml");
  EXPECT_FALSE(check.refuse);
  EXPECT_THROW(YAML::Load(std::string(100'000, '[') + std::string(100'000, ']')),
               YAML::ParserException);
}

TEST(CheckYamlTest, TextOverTheFileLimitIsRefused) {
  YamlCheck check = CheckYaml(std::string(kMaxYamlFileBytes + 1, '#'), "f.yaml");
  EXPECT_TRUE(check.refuse);
  EXPECT_THAT(Texts(check.problems), ElementsAre("f.yaml: it is larger than 4 MiB"));
}

}  // namespace
}  // namespace boardsync

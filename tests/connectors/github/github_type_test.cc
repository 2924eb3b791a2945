// GitHub as a tracker type: its keys read through an OptionReader (repos,
// labels, state, project), every problem reported at its key, base_url's
// shape checked when the config is read, and what of its tokens may show.

#include "connectors/github/github_type.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <variant>

namespace boardsync {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;

// A connection's keys: a scalar, a list of strings, or a section.
struct Node;
using Keys = std::map<std::string, Node, std::less<>>;
struct Node {
  std::variant<std::string, std::vector<std::string>, Keys> value;
};

// An OptionReader over a map, recording every problem as "key: message".
class MapReader : public OptionReader {
 public:
  MapReader(Keys keys, std::vector<std::string>* problems, std::string prefix = "")
      : keys_(std::move(keys)), problems_(problems), prefix_(std::move(prefix)) {}

  bool Has(std::string_view key) const override { return keys_.contains(key); }
  std::optional<std::string> String(std::string_view key, bool required) override {
    auto it = keys_.find(key);
    if (it == keys_.end()) {
      if (required) {
        Error(key, "missing");
      }
      return std::nullopt;
    }
    if (auto* text = std::get_if<std::string>(&it->second.value)) {
      return *text;
    }
    Error(key, "not a string");
    return std::nullopt;
  }
  std::optional<std::string> Choice(std::string_view key,
                                    std::span<const std::string_view> choices) override {
    auto text = String(key, false);
    if (text && std::find(choices.begin(), choices.end(), *text) == choices.end()) {
      Error(key, "not a choice");
      return std::nullopt;
    }
    return text;
  }
  std::optional<int> Int(std::string_view key, int min, int max) override {
    auto text = String(key, false);
    if (!text) {
      return std::nullopt;
    }
    const int value = std::stoi(*text);
    if (value < min || value > max) {
      Error(key, "out of range");
      return std::nullopt;
    }
    return value;
  }
  std::optional<std::vector<std::string>> StringList(std::string_view key, bool required) override {
    auto it = keys_.find(key);
    if (it == keys_.end()) {
      if (required) {
        Error(key, "missing");
        return std::nullopt;
      }
      return std::vector<std::string>();
    }
    if (auto* list = std::get_if<std::vector<std::string>>(&it->second.value)) {
      return *list;
    }
    Error(key, "not a list");
    return std::nullopt;
  }
  std::unique_ptr<OptionReader> Section(std::string_view key,
                                        std::span<const std::string_view> keys) override {
    auto it = keys_.find(key);
    if (it == keys_.end()) {
      return nullptr;
    }
    auto* section = std::get_if<Keys>(&it->second.value);
    if (section == nullptr) {
      Error(key, "not a mapping");
      return nullptr;
    }
    for (const auto& [name, value] : *section) {
      if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
        Error(std::string(key) + "." + name, "unknown key");
      }
    }
    return std::make_unique<MapReader>(*section, problems_, prefix_ + std::string(key) + ".");
  }
  void Error(std::string_view key, std::string message) override {
    problems_->push_back(prefix_ + std::string(key) + ": " + message);
  }

 private:
  Keys keys_;
  std::vector<std::string>* problems_;
  std::string prefix_;
};

std::vector<std::string> Problems(Keys keys) {
  std::vector<std::string> problems;
  MapReader reader(std::move(keys), &problems);
  EXPECT_NE(kGitHubType.parse(reader), nullptr);
  return problems;
}

Node List(std::vector<std::string> items) { return Node{std::move(items)}; }
Node Text(std::string text) { return Node{std::move(text)}; }

TEST(GitHubTypeTest, AGoodConnectionHasNoProblems) {
  EXPECT_THAT(Problems({{"repos", List({"acme/app", "acme/lib"})},
                        {"labels", List({"roadmap", "team: core"})},
                        {"state", Text("open")},
                        {"project", Node{Keys{{"owner", Text("acme")}, {"number", Text("7")}}}},
                        {"base_url", Text("https://ghe.acme.example/api/v3")}}),
              IsEmpty());
  EXPECT_EQ(kGitHubType.name, "github");
  EXPECT_EQ(kGitHubType.default_base_url, "https://api.github.com");
  EXPECT_THAT(std::vector<std::string_view>(kGitHubType.keys.begin(), kGitHubType.keys.end()),
              ElementsAre("repos", "labels", "state", "project"));
}

TEST(GitHubTypeTest, EachProblemIsReportedAtItsKey) {
  EXPECT_THAT(Problems({}), ElementsAre("repos: missing"));
  EXPECT_THAT(Problems({{"repos", List({})}}), ElementsAre(HasSubstr("repos: list at least one")));
  EXPECT_THAT(Problems({{"repos", List({"acme", "acme/app", "Acme/App", "a/b/c"})}}),
              ElementsAre(HasSubstr("repos: \"acme\" is not owner/name"),
                          HasSubstr("repos: \"Acme/App\" is listed twice"),
                          HasSubstr("repos: \"a/b/c\" is not owner/name")));
  EXPECT_THAT(Problems({{"repos", List({"acme/app"})}, {"query", Text("is:open")}}),
              ElementsAre(HasSubstr("query: github selects issues by repos, labels and state")));
  EXPECT_THAT(Problems({{"repos", List({"acme/app"})}, {"labels", List({"a,b"})}}),
              ElementsAre(HasSubstr("labels: \"a,b\"")));
  EXPECT_THAT(Problems({{"repos", List({"acme/app"})}, {"state", Text("opened")}}),
              ElementsAre("state: not a choice"));
  EXPECT_THAT(Problems({{"repos", List({"acme/app"})},
                        {"base_url", Text("https://ghe.acme.example")}}),
              ElementsAre(HasSubstr("base_url: base_url https://ghe.acme.example/ is not a "
                                    "GitHub API root")));
  EXPECT_THAT(Problems({{"repos", List({"acme/app"})}, {"base_url", Text("https://github.com")}}),
              ElementsAre(HasSubstr("https://api.github.com")));
  EXPECT_THAT(Problems({{"repos", List({"acme/app"})},
                        {"project", Node{Keys{{"owner", Text("acme")}}}}}),
              ElementsAre(HasSubstr("project.number: missing required key \"number\"")));
  EXPECT_THAT(Problems({{"repos", List({"acme/app"})},
                        {"project", Node{Keys{{"owner", Text("ac me")}, {"number", Text("0")}}}}}),
              ElementsAre("project.number: out of range", HasSubstr("project.owner: \"ac me\"")));
}

TEST(GitHubTypeTest, OnlyATokensKindPrefixMayShow) {
  ASSERT_NE(kGitHubType.token_shown, nullptr);
  const auto shown = [](std::string_view token) {
    return std::string(token.substr(0, kGitHubType.token_shown(token)));
  };
  EXPECT_EQ(shown("ghp_R8xKq2Lm4Vn7Tz1Bc5Wd9Yf3Hj6Gs0Pa2Ekw"), "ghp_");
  EXPECT_EQ(shown("github_pat_11AB7CDEF0q9XyZ1aB2cD3_eF4gH5iJ6kL7mN8oP9q"), "github_pat_");
  EXPECT_EQ(shown("ghs_4mQ7xW2vN9bL5kJ8hG1fD3sA6pO0iU7yT5rE"), "ghs_");
  EXPECT_EQ(shown("ghp_short"), "");  // little else: all of it stays hidden
  EXPECT_EQ(shown("0123456789abcdef0123456789abcdef01234567"), "");  // an old 40-hex token
}

}  // namespace
}  // namespace boardsync

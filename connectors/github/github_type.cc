#include "connectors/github/github_type.h"

#include <array>
#include <limits>

#include "connectors/github/github_source.h"
#include "connectors/github/repos.h"
#include "connectors/github/writer.h"

namespace boardsync {
namespace {

constexpr std::array<std::string_view, 4> kKeys = {"repos", "labels", "state", "project"};
constexpr std::array<std::string_view, 3> kStates = {"all", "open", "closed"};
constexpr std::array<std::string_view, 2> kProjectKeys = {"owner", "number"};

// The prefixes GitHub gives its tokens: they say the token's kind (classic
// or fine-grained personal access token, OAuth, App user, installation,
// refresh), which helps tell tokens apart in a message, and are no secret.
constexpr std::array<std::string_view, 6> kTokenPrefixes = {"github_pat_", "ghp_", "gho_",
                                                            "ghu_",        "ghs_", "ghr_"};

struct GitHubTypeOptions : TrackerOptions {
  std::vector<std::string> repos;
  std::vector<std::string> labels;
  std::string state = "all";
  std::optional<GitHubProject> project;
};

std::shared_ptr<const TrackerOptions> Parse(OptionReader& reader) {
  auto options = std::make_shared<GitHubTypeOptions>();
  if (reader.Has("query")) {
    reader.Error("query",
                 "github selects issues by repos, labels and state; it takes no query");
  }
  if (auto base_url = reader.String("base_url", false)) {
    if (auto api = GitHubApiRoot(*base_url); !api) {
      reader.Error("base_url", api.error().message);
    }
  }
  if (auto repos = reader.StringList("repos", true)) {
    if (repos->empty()) {
      reader.Error("repos", "list at least one repository, as owner/name");
    }
    for (const std::string& repo : *repos) {
      if (std::string problem = GitHubRepoProblem(repo); !problem.empty()) {
        reader.Error("repos", problem);
      } else if (ConfiguredRepo(options->repos, repo)) {
        reader.Error("repos", "\"" + repo + "\" is listed twice");
      } else {
        options->repos.push_back(repo);
      }
    }
  }
  if (auto labels = reader.StringList("labels", false)) {
    for (const std::string& label : *labels) {
      if (label.find(',') != std::string::npos) {
        // GitHub's `labels` parameter is a comma-separated list.
        reader.Error("labels", "\"" + label +
                                   "\": GitHub cannot filter by a label with a comma in its name");
      } else {
        options->labels.push_back(label);
      }
    }
  }
  if (auto state = reader.Choice("state", kStates)) {
    options->state = *state;
  }
  if (reader.Has("project")) {
    if (auto section = reader.Section("project", kProjectKeys)) {
      auto owner = section->String("owner", true);
      auto number = section->Int("number", 1, std::numeric_limits<int>::max());
      if (!section->Has("number")) {
        section->Error("number",
                       "missing required key \"number\": the project's number, as in its URL "
                       "(https://github.com/orgs/<owner>/projects/<number>)");
      }
      if (owner && GitHubRepoProblem(*owner + "/x").size() > 0) {
        section->Error("owner", "\"" + *owner +
                                    "\" is not an organization or user login (letters, "
                                    "digits, '-')");
      } else if (owner && number) {
        options->project = GitHubProject{*owner, *number};
      }
    }
  }
  return options;
}

Result<std::unique_ptr<TrackerSource>> Make(const TrackerOptions& parsed, ConnectorContext context) {
  const auto& options = static_cast<const GitHubTypeOptions&>(parsed);
  auto api = GitHubApiRoot(context.base_url.empty() ? std::string(kGitHubDefaultApi)
                                                    : context.base_url);
  if (!api) {
    return std::unexpected(api.error().Wrap("connection " + context.connection_name));
  }
  GitHubOptions github;
  github.connection_name = std::move(context.connection_name);
  github.api = std::move(*api);
  github.repos = options.repos;
  github.labels = options.labels;
  github.state = options.state;
  github.project = options.project;
  github.token = std::move(context.token);
  github.timeout = context.timeout;
  return std::unique_ptr<TrackerSource>(
      std::make_unique<GitHubSource>(std::move(github), *context.http));
}

Result<std::unique_ptr<FieldWriter>> MakeWriter(const TrackerOptions& parsed,
                                                ConnectorContext context) {
  const auto& options = static_cast<const GitHubTypeOptions&>(parsed);
  auto api =
      GitHubApiRoot(context.base_url.empty() ? std::string(kGitHubDefaultApi) : context.base_url);
  if (!api) {
    return std::unexpected(api.error().Wrap("connection " + context.connection_name));
  }
  GitHubWriterOptions github;
  github.connection_name = std::move(context.connection_name);
  github.api = std::move(*api);
  github.project = options.project;
  github.token = std::move(context.token);
  github.timeout = context.timeout;
  return std::unique_ptr<FieldWriter>(
      std::make_unique<GitHubWriter>(std::move(github), *context.http));
}

std::size_t TokenShown(std::string_view token) {
  for (std::string_view prefix : kTokenPrefixes) {
    if (token.starts_with(prefix) && token.size() > prefix.size() + 8) {
      return prefix.size();
    }
  }
  return 0;
}

}  // namespace

const TrackerType kGitHubType = {
    .name = "github",
    .keys = kKeys,
    .default_base_url = kGitHubDefaultApi,
    .parse = &Parse,
    .make = &Make,
    .token_shown = &TokenShown,
    .make_writer = &MakeWriter,
};

}  // namespace boardsync

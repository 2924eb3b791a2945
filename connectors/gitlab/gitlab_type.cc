#include "connectors/gitlab/gitlab_type.h"

#include <array>

#include "connectors/gitlab/gitlab_source.h"
#include "connectors/gitlab/query.h"

namespace boardsync {
namespace {

constexpr std::array<std::string_view, 4> kKeys = {"project", "group", "labels", "state"};
// GitLab's own words, and GitHub's `open` for configs that name both.
constexpr std::array<std::string_view, 4> kStates = {"all", "opened", "closed", "open"};

struct GitLabTypeOptions : TrackerOptions {
  GitLabScope scope = GitLabScope::kProject;
  std::string path;
  std::vector<std::string> labels;
  std::string state = "all";
};

std::shared_ptr<const TrackerOptions> Parse(OptionReader& reader) {
  auto options = std::make_shared<GitLabTypeOptions>();
  const std::optional<std::string> project = reader.String("project", false);
  const std::optional<std::string> group = reader.String("group", false);
  if (project && group) {
    reader.Error("group",
                 "give either \"project\" or \"group\", not both: \"project\" reads one "
                 "project's issues, \"group\" those of every project in the group and "
                 "its subgroups");
  } else if (!project && !group && !reader.Has("project") && !reader.Has("group")) {
    reader.Error("project",
                 "a gitlab connection needs \"project\" (a full path such as "
                 "group/name) or \"group\" (a full path such as group or "
                 "group/subgroup)");
  }
  if (project) {
    options->scope = GitLabScope::kProject;
    options->path = *project;
    if (auto checked = CheckGitLabPath(*project, GitLabScope::kProject); !checked) {
      reader.Error("project", checked.error().message);
    }
  } else if (group) {
    options->scope = GitLabScope::kGroup;
    options->path = *group;
    if (auto checked = CheckGitLabPath(*group, GitLabScope::kGroup); !checked) {
      reader.Error("group", checked.error().message);
    }
  }
  if (auto labels = reader.StringList("labels", false)) {
    for (const std::string& label : *labels) {
      if (label.find(',') != std::string::npos) {
        reader.Error("labels", "GitLab label names cannot hold a comma (\"" + label +
                                   "\"): list each label on its own");
      }
    }
    options->labels = std::move(*labels);
  }
  if (auto state = reader.Choice("state", kStates)) {
    options->state = *state == "open" ? "opened" : *state;
  }
  if (reader.Has("query")) {
    reader.Error("query",
                 "gitlab selects issues by project or group, labels and state; it takes "
                 "no query");
  }
  if (auto base_url = reader.String("base_url", false)) {
    if (auto root = GitLabRootUrl(*base_url); !root) {
      reader.Error("base_url", root.error().message);
    }
  }
  return options;
}

Result<std::unique_ptr<TrackerSource>> Make(const TrackerOptions& parsed,
                                            ConnectorContext context) {
  const auto& options = static_cast<const GitLabTypeOptions&>(parsed);
  auto root = GitLabRootUrl(context.base_url);
  if (!root) {
    return std::unexpected(root.error().Wrap("connection " + context.connection_name));
  }
  GitLabOptions gitlab;
  gitlab.connection_name = std::move(context.connection_name);
  gitlab.root = std::move(*root);
  gitlab.scope = options.scope;
  gitlab.path = options.path;
  gitlab.labels = options.labels;
  gitlab.state = options.state;
  gitlab.token = std::move(context.token);
  gitlab.timeout = context.timeout;
  return std::unique_ptr<TrackerSource>(
      std::make_unique<GitLabSource>(std::move(gitlab), *context.http));
}

}  // namespace

const TrackerType kGitLabType = {
    .name = "gitlab",
    .keys = kKeys,
    .default_base_url = "",
    .parse = &Parse,
    .make = &Make,
};

}  // namespace boardsync

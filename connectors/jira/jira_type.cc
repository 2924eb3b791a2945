#include "connectors/jira/jira_type.h"

#include <array>

#include "connectors/jira/jira_source.h"
#include "connectors/jira/query.h"
#include "connectors/jira/writer.h"

namespace boardsync {
namespace {

constexpr std::array<std::string_view, 2> kKeys = {"email", "deployment"};
constexpr std::array<std::string_view, 2> kDeployments = {"cloud", "data_center"};

struct JiraTypeOptions : TrackerOptions {
  JiraDeployment deployment = JiraDeployment::kCloud;
  std::string email;
};

std::shared_ptr<const TrackerOptions> Parse(OptionReader& reader) {
  auto options = std::make_shared<JiraTypeOptions>();
  options->email = reader.String("email", false).value_or("");
  const std::optional<std::string> deployment = reader.Choice("deployment", kDeployments);
  if (deployment) {
    options->deployment =
        *deployment == "cloud" ? JiraDeployment::kCloud : JiraDeployment::kDataCenter;
  } else {
    options->deployment = options->email.empty() ? JiraDeployment::kDataCenter
                                                 : JiraDeployment::kCloud;
  }
  if (options->deployment == JiraDeployment::kCloud && options->email.empty()) {
    reader.Error("deployment",
                 "Jira Cloud needs \"email\": the Atlassian account's e-mail address, which goes "
                 "with its API token (Data Center uses a personal access token alone: "
                 "deployment: data_center)");
  }
  if (options->deployment == JiraDeployment::kDataCenter && !options->email.empty()) {
    reader.Error("email",
                 "\"email\" is for Jira Cloud (an API token goes with the account's e-mail); "
                 "Data Center takes a personal access token alone: leave email out");
  }
  if (auto query = reader.String("query", false)) {
    if (auto checked = CheckJqlFilter(*query); !checked) {
      reader.Error("query", checked.error().message);
    }
  }
  return options;
}

// The connection as JiraSource and JiraWriter take it.
Result<JiraOptions> OptionsFor(const TrackerOptions& parsed, ConnectorContext& context) {
  const auto& options = static_cast<const JiraTypeOptions&>(parsed);
  auto site = JiraSiteUrl(context.base_url);
  if (!site) {
    return std::unexpected(site.error().Wrap("connection " + context.connection_name));
  }
  JiraOptions jira;
  jira.connection_name = std::move(context.connection_name);
  jira.site = std::move(*site);
  jira.deployment = options.deployment;
  jira.email = options.email;
  jira.token = std::move(context.token);
  jira.timeout = context.timeout;
  return jira;
}

Result<std::unique_ptr<TrackerSource>> Make(const TrackerOptions& parsed, ConnectorContext context) {
  auto jira = OptionsFor(parsed, context);
  if (!jira) {
    return std::unexpected(jira.error());
  }
  return std::unique_ptr<TrackerSource>(
      std::make_unique<JiraSource>(std::move(*jira), *context.http));
}

Result<std::unique_ptr<FieldWriter>> MakeWriter(const TrackerOptions& parsed,
                                                ConnectorContext context) {
  auto jira = OptionsFor(parsed, context);
  if (!jira) {
    return std::unexpected(jira.error());
  }
  return std::unique_ptr<FieldWriter>(
      std::make_unique<JiraWriter>(std::move(*jira), *context.http));
}

}  // namespace

const TrackerType kJiraType = {
    .name = "jira",
    .keys = kKeys,
    .default_base_url = "",
    .parse = &Parse,
    .make = &Make,
    .make_writer = &MakeWriter,
};

}  // namespace boardsync

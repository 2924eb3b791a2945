// What names things on GitHub, as the connector writes and reads them: the
// API root a base_url stands for (api.github.com, or Enterprise Server's
// /api/v3), its GraphQL endpoint, repositories ("owner/name") and issue keys
// ("owner/name#42"). Pure; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace boardsync {

inline constexpr std::string_view kGitHubDefaultApi = "https://api.github.com";

// `base_url` as the REST API root without a trailing slash:
// "https://api.github.com", or "https://host/api/v3" for Enterprise Server.
// A query, a fragment, GitHub's web site (github.com) or an Enterprise
// Server host without /api/v3 is kConfig, saying what to write instead.
// A loopback URL (tests, a local proxy) is taken as it is.
Result<std::string> GitHubApiRoot(std::string_view base_url);

// The GraphQL endpoint that goes with `api` (GitHubApiRoot()):
// https://api.github.com/graphql; https://host/api/graphql for
// Enterprise Server; "{api}/graphql" for anything else.
std::string GitHubGraphQlUrl(std::string_view api);

// "" when `repo` is a repository as GitHub spells it, "owner/name": exactly
// one '/', an owner of letters, digits, '-' and '_' (at most 39), a name of
// letters, digits, '-', '_' and '.' (at most 100, not "." or ".."); else
// what is wrong, for the config's message.
std::string GitHubRepoProblem(std::string_view repo);

// Repository names compare without case on GitHub.
bool SameGitHubRepo(std::string_view a, std::string_view b);

// The entry of `repos` that names `repo` (compared without case), as the
// config spells it; nullopt when none does.
std::optional<std::string> ConfiguredRepo(const std::vector<std::string>& repos,
                                          std::string_view repo);

struct GitHubKeyParts {
  std::string repo;  // "owner/name"
  std::int64_t number = 0;
};

// "owner/name#42" → {"owner/name", 42}; nullopt for anything else.
std::optional<GitHubKeyParts> ParseGitHubKey(std::string_view key);

// "owner/name#42".
std::string GitHubKey(std::string_view repo, std::int64_t number);

// The repository an API or web URL of an issue names: "…/repos/{o}/{r}"
// (repository_url, or an issue's url "…/repos/{o}/{r}/issues/42") and
// "https://github.com/{o}/{r}/issues/42" (html_url) give "{o}/{r}"; "" when
// neither shape is there.
std::string GitHubRepoOfUrl(std::string_view url);

}  // namespace boardsync

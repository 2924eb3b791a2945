#include "connectors/github/repos.h"

#include <algorithm>
#include <charconv>

#include "core/text.h"
#include "core/url.h"

namespace boardsync {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string StripSlashes(std::string path) {
  while (path.ends_with('/')) {
    path.pop_back();
  }
  return path;
}

}  // namespace

Result<std::string> GitHubApiRoot(std::string_view base_url) {
  auto url = ParseUrl(std::string(TrimSpace(base_url)));
  if (!url) {
    return std::unexpected(url.error());
  }
  if (!url->query.empty() || !url->fragment.empty()) {
    return Fail(ErrorCode::kConfig,
                "base_url must be GitHub's API root, without a query or fragment");
  }
  const std::string path = StripSlashes(url->path);
  if (url->host == "github.com" || url->host == "www.github.com") {
    return Fail(ErrorCode::kConfig,
                "base_url " + url->Origin() +
                    " is GitHub's web site; its API is https://api.github.com (leave base_url "
                    "out for it)");
  }
  if (url->host == "api.github.com") {
    if (!path.empty()) {
      return Fail(ErrorCode::kConfig,
                  "base_url for github.com is https://api.github.com, without a path (leave "
                  "base_url out for it)");
    }
    return url->Origin();
  }
  if (path.ends_with("/api/v3")) {
    return url->Origin() + path;
  }
  if (IsLoopbackHost(url->host)) {
    return url->Origin() + path;  // a local stand-in, as it is
  }
  std::string prefix = path;
  if (const auto api = prefix.find("/api/"); api != std::string::npos) {
    prefix.resize(api);  // "/api/v4", "/api/graphql": the host's root was meant
  }
  return Fail(ErrorCode::kConfig,
              "base_url " + url->Origin() + url->path +
                  " is not a GitHub API root: GitHub Enterprise Server's REST API is under "
                  "/api/v3, so write " + url->Origin() + prefix + "/api/v3");
}

std::string GitHubGraphQlUrl(std::string_view api) {
  std::string root(api);
  if (root.ends_with("/api/v3")) {
    root.resize(root.size() - 2);
    return root + "graphql";  // Enterprise Server: https://host/api/graphql
  }
  return root + "/graphql";
}

std::string GitHubRepoProblem(std::string_view repo) {
  const auto slash = repo.find('/');
  if (slash == std::string_view::npos || repo.find('/', slash + 1) != std::string_view::npos) {
    return "\"" + std::string(repo) + "\" is not owner/name (exactly one '/')";
  }
  const std::string_view owner = repo.substr(0, slash);
  const std::string_view name = repo.substr(slash + 1);
  if (owner.empty() || owner.size() > 39 ||
      !std::all_of(owner.begin(), owner.end(),
                   [](char c) { return IsAlnum(c) || c == '-' || c == '_'; })) {
    return "\"" + std::string(repo) +
           "\": the owner must be 1-39 letters, digits, '-' or '_'";
  }
  if (name.empty() || name.size() > 100 || name == "." || name == ".." ||
      !std::all_of(name.begin(), name.end(),
                   [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; })) {
    return "\"" + std::string(repo) +
           "\": the repository name must be 1-100 letters, digits, '-', '_' or '.'";
  }
  return "";
}

bool SameGitHubRepo(std::string_view a, std::string_view b) {
  return AsciiLower(a) == AsciiLower(b);
}

std::optional<std::string> ConfiguredRepo(const std::vector<std::string>& repos,
                                          std::string_view repo) {
  for (const std::string& configured : repos) {
    if (SameGitHubRepo(configured, repo)) {
      return configured;
    }
  }
  return std::nullopt;
}

std::optional<GitHubKeyParts> ParseGitHubKey(std::string_view key) {
  const auto hash = key.rfind('#');
  if (hash == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view repo = key.substr(0, hash);
  const std::string_view digits = key.substr(hash + 1);
  if (!GitHubRepoProblem(repo).empty() || digits.empty() || digits.size() > 19) {
    return std::nullopt;
  }
  std::int64_t number = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc() || end != digits.data() + digits.size() || number <= 0) {
    return std::nullopt;
  }
  return GitHubKeyParts{std::string(repo), number};
}

std::string GitHubKey(std::string_view repo, std::int64_t number) {
  return std::string(repo) + "#" + std::to_string(number);
}

std::string GitHubRepoOfUrl(std::string_view text) {
  auto url = ParseUrl(text);
  if (!url) {
    return "";
  }
  const std::string path = PercentDecode(url->path);
  auto two_segments = [](std::string_view rest) -> std::string {
    const auto first = rest.find('/');
    if (first == std::string_view::npos) {
      return "";
    }
    const auto second = rest.find('/', first + 1);
    std::string repo(rest.substr(0, second));
    return GitHubRepoProblem(repo).empty() ? repo : "";
  };
  if (const auto repos = path.rfind("/repos/"); repos != std::string::npos) {
    return two_segments(std::string_view(path).substr(repos + 7));
  }
  if (path.find("/repositories/") != std::string::npos) {
    return "";  // /repositories/{id}/...: a number, no name
  }
  if (url->host == "github.com" || path.find("/issues/") != std::string::npos) {
    // html_url: https://github.com/{o}/{r}/issues/42, or on Enterprise
    // Server https://host/{o}/{r}/issues/42.
    return two_segments(std::string_view(path).substr(1));
  }
  return "";
}

}  // namespace boardsync

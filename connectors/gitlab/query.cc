#include "connectors/gitlab/query.h"

#include <algorithm>
#include <charconv>
#include <system_error>

#include "connectors/common/next_link.h"
#include "connectors/common/updated_pull.h"
#include "core/text.h"
#include "core/time.h"
#include "core/url.h"

namespace boardsync {
namespace {

constexpr std::string_view kApiPath = "/api/v4";

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool PathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

std::string_view KeyName(GitLabScope scope) {
  return scope == GitLabScope::kProject ? "project" : "group";
}

// Seconds as GitLab's ISO 8601 ("2024-03-10T01:59:30Z").
std::string WholeSecond(std::int64_t ms) {
  std::string text = FormatIsoUtc(FloorToGranule(ms, 1000));
  // "....:30.000Z" → "....:30Z"
  if (text.size() == 24 && text.ends_with(".000Z")) {
    text.erase(19, 4);
  }
  return text;
}

}  // namespace

Result<std::string> GitLabRootUrl(std::string_view base_url) {
  auto url = ParseUrl(TrimSpace(base_url));
  if (!url) {
    return std::unexpected(url.error());
  }
  if (!url->query.empty() || !url->fragment.empty()) {
    return Fail(ErrorCode::kConfig,
                "base_url must be GitLab's root URL (https://gitlab.com, or a self-managed "
                "instance such as https://gitlab.example.com), without a query or fragment");
  }
  std::string path = url->path;
  while (path.ends_with('/')) {
    path.pop_back();
  }
  // The API's own URL pasted in (from the API docs, or another tool's
  // config): the root is what comes before it.
  if (path.ends_with(kApiPath)) {
    path.resize(path.size() - kApiPath.size());
  } else if (const auto api = path.find(std::string(kApiPath) + "/"); api != std::string::npos) {
    path.resize(api);
  }
  while (path.ends_with('/')) {
    path.pop_back();  // "https://host//api/v4"
  }
  if ((url->host == "gitlab.com" || url->host == "www.gitlab.com") && !path.empty()) {
    return Fail(ErrorCode::kConfig,
                "base_url is GitLab's root URL, https://gitlab.com, not a page on it (" +
                    url->Origin() + path +
                    "): name the project in `project` (or the group in `group`)");
  }
  return url->Origin() + path;
}

Result<void> CheckGitLabPath(std::string_view path, GitLabScope scope) {
  const std::string key(KeyName(scope));
  const std::string example = scope == GitLabScope::kProject ? "group/name or group/subgroup/name"
                                                             : "group or group/subgroup";
  if (AllDigits(path) && path.size() <= 18) {
    return {};  // a numeric id, as GitLab shows it on the page
  }
  if (path.find("://") != std::string_view::npos) {
    return Fail(ErrorCode::kConfig, "\"" + key + "\" is the " + key + "'s full path (" + example +
                                        "), not a URL: the instance goes in base_url");
  }
  if (path.empty() || path.front() == '/' || path.back() == '/') {
    return Fail(ErrorCode::kConfig, "\"" + key + "\" must be a full path such as " + example +
                                        ", without a leading or trailing '/'");
  }
  int segments = 0;
  std::size_t at = 0;
  while (at <= path.size()) {
    const std::size_t slash = std::min(path.find('/', at), path.size());
    const std::string_view segment = path.substr(at, slash - at);
    ++segments;
    if (segment.empty() || segment == "." || segment == "..") {
      return Fail(ErrorCode::kConfig, "\"" + key + "\" has an empty or relative segment in \"" +
                                          std::string(path) + "\"; write its full path, such as " +
                                          example);
    }
    if (!std::all_of(segment.begin(), segment.end(), PathChar)) {
      return Fail(ErrorCode::kConfig,
                  "\"" + key + "\" must be the " + key +
                      "'s path as in its URL (letters, digits, " +
                      "'_', '-' and '.', segments joined by '/'), not its display name: \"" +
                      std::string(path) + "\"");
    }
    at = slash + 1;
  }
  if (scope == GitLabScope::kProject && segments < 2) {
    return Fail(ErrorCode::kConfig,
                "\"project\" must be the project's full path with its group or user (" + example +
                    "), not \"" + std::string(path) +
                    "\" alone; for all of a group's projects, "
                    "use \"group\" instead");
  }
  return {};
}

std::string GitLabPathId(std::string_view path) {
  return AllDigits(path) ? std::string(path) : PercentEncode(path);
}

std::string GitLabUpdatedAfter(std::int64_t from_ms) { return WholeSecond(from_ms); }

std::string GitLabUpdatedBefore(std::int64_t to_ms) {
  const std::int64_t floored = FloorToGranule(to_ms, 1000);
  return WholeSecond(floored == to_ms ? to_ms : floored + 1000);
}

std::string GitLabListUrl(std::string_view api, const GitLabListQuery& query) {
  std::string url(api);
  url += query.scope == GitLabScope::kProject ? "/projects/" : "/groups/";
  url += query.id;
  url += "/issues?scope=all&state=" + PercentEncode(query.state);
  if (!query.labels.empty()) {
    std::string labels;
    for (const std::string& label : query.labels) {
      labels += (labels.empty() ? "" : ",") + label;
    }
    url += "&labels=" + PercentEncode(labels);
  }
  url += "&order_by=updated_at&sort=";
  url += query.newest_first ? "desc" : "asc";
  url += "&per_page=" + std::to_string(query.per_page);
  if (query.updated_from_ms) {
    url += "&updated_after=" + PercentEncode(GitLabUpdatedAfter(*query.updated_from_ms));
  }
  if (query.updated_to_ms) {
    url += "&updated_before=" + PercentEncode(GitLabUpdatedBefore(*query.updated_to_ms));
  }
  if (query.scope == GitLabScope::kProject) {
    url += "&pagination=keyset";
  }
  return url;
}

Result<std::string> GitLabNextPageUrl(std::optional<std::string_view> link_header,
                                      std::optional<std::string_view> x_next_page,
                                      std::string_view from, std::string_view api_root) {
  if (link_header) {
    if (auto next = FindLink(*link_header, "next")) {
      return LinkOnApi(*next, from, api_root);
    }
  }
  const std::string_view page = x_next_page ? TrimSpace(*x_next_page) : std::string_view();
  if (page.empty()) {
    return std::string();
  }
  std::int64_t number = 0;
  auto [end, ec] = std::from_chars(page.data(), page.data() + page.size(), number);
  if (ec != std::errc() || end != page.data() + page.size() || number < 1 ||
      number > 1'000'000'000) {
    return Fail(ErrorCode::kBadResponse, "the list's X-Next-Page is not a page number");
  }
  // `from` with page=<number>: its other parameters as they were.
  const std::string_view url = from.substr(0, from.find('#'));
  const std::size_t question = url.find('?');
  std::string out(url.substr(0, question));
  std::string params;
  if (question != std::string_view::npos) {
    std::string_view rest = url.substr(question + 1);
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      const std::string_view param = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (param.empty() || param.starts_with("page=") || param == "page") {
        continue;
      }
      params += (params.empty() ? "" : "&") + std::string(param);
    }
  }
  params += (params.empty() ? "" : "&") + std::string("page=") + std::to_string(number);
  return LinkOnApi(out + "?" + params, from, api_root);
}

std::optional<GitLabKey> ParseGitLabKey(std::string_view key) {
  const std::size_t hash = key.rfind('#');
  if (hash == std::string_view::npos || hash == 0) {
    return std::nullopt;
  }
  const std::string_view project = key.substr(0, hash);
  const std::string_view iid = key.substr(hash + 1);
  if (!AllDigits(iid) || iid.size() > 18 || !CheckGitLabPath(project, GitLabScope::kProject) ||
      AllDigits(project)) {
    return std::nullopt;
  }
  GitLabKey out;
  out.project = std::string(project);
  std::from_chars(iid.data(), iid.data() + iid.size(), out.iid);
  if (out.iid < 1) {
    return std::nullopt;
  }
  return out;
}

}  // namespace boardsync

#include "connectors/common/next_link.h"

#include "core/text.h"
#include "core/url.h"

namespace boardsync {
namespace {

constexpr std::string_view kSpace = " \t";

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// Whether the parameters of one link (after its "<...>") have a rel that
// names `rel`, compared without case as RFC 8288 says.
bool RelNames(std::string_view params, std::string_view rel) {
  while (!params.empty()) {
    const auto semicolon = params.find(';');
    std::string_view param = Trim(params.substr(0, semicolon));
    params = semicolon == std::string_view::npos ? "" : params.substr(semicolon + 1);
    const auto equals = param.find('=');
    if (equals == std::string_view::npos ||
        AsciiLower(Trim(param.substr(0, equals))) != "rel") {
      continue;
    }
    std::string_view value = Trim(param.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    while (!value.empty()) {
      const auto space = value.find(' ');
      if (AsciiLower(value.substr(0, space)) == AsciiLower(rel)) {
        return true;
      }
      value = space == std::string_view::npos ? "" : Trim(value.substr(space + 1));
    }
    return false;  // only the first rel counts
  }
  return false;
}

std::string Written(const Url& url) {
  return url.Origin() + url.path + (url.query.empty() ? "" : "?" + url.query);
}

}  // namespace

std::optional<std::string> FindLink(std::string_view header, std::string_view rel) {
  std::size_t at = 0;
  while (at < header.size()) {
    const auto open = header.find('<', at);
    if (open == std::string_view::npos) {
      return std::nullopt;
    }
    const auto close = header.find('>', open);
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    // Parameters run to the next link: a comma outside quotes.
    std::size_t end = close + 1;
    bool quoted = false;
    for (; end < header.size(); ++end) {
      if (header[end] == '"') {
        quoted = !quoted;
      } else if (header[end] == ',' && !quoted) {
        break;
      }
    }
    if (RelNames(header.substr(close + 1, end - close - 1), rel)) {
      return std::string(header.substr(open + 1, close - open - 1));
    }
    at = end + 1;
  }
  return std::nullopt;
}

Result<std::string> LinkOnApi(std::string_view link, std::string_view from,
                              std::string_view api_root) {
  auto base = ParseUrl(from);
  auto root = ParseUrl(api_root);
  if (!base || !root) {
    return Fail(ErrorCode::kBadResponse, "a page link could not be checked: the API URL is invalid");
  }
  auto target = ResolveUrl(*base, Trim(link));
  if (!target) {
    return Fail(ErrorCode::kBadResponse, "the next page's link is not a valid URL");
  }
  std::string prefix = root->path;
  if (prefix.empty() || prefix.back() != '/') {
    prefix += '/';
  }
  const bool under = target->path == root->path || target->path.starts_with(prefix) ||
                     prefix == "/";
  // "..", however encoded, could climb out of the API once the server
  // normalises the path.
  const std::string lower = AsciiLower(target->path);
  const bool climbs = lower.find("/..") != std::string::npos ||
                      lower.find("%2e") != std::string::npos;
  if (!target->SameOrigin(*root) || !under || climbs || !target->fragment.empty()) {
    return Fail(ErrorCode::kBadResponse,
                "the next page's link points to " + target->Origin() + target->path +
                    ", outside " + root->Origin() + root->path +
                    "; not following it with the token");
  }
  return Written(*target);
}

}  // namespace boardsync

#include "connectors/youtrack/youtrack_source.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "connectors/youtrack/decode.h"
#include "connectors/youtrack/fields.h"
#include "connectors/youtrack/response.h"
#include "core/text.h"
#include "core/redact.h"

namespace boardsync {
namespace {

constexpr int kDefaultPageSize = 100;

}  // namespace

std::string WithUpdatedAscending(std::string_view query) {
  // YouTrack takes one sort clause per query; a user's own one wins.
  if (AsciiLower(query).find("sort by") != std::string::npos) {
    return std::string(query);
  }
  std::string out(TrimSpace(query));
  if (!out.empty()) {
    out += " ";
  }
  out += "sort by: updated asc";
  return out;
}

YouTrackSource::YouTrackSource(YouTrackOptions options, HttpClient& http)
    : options_(std::move(options)), http_(http) {}

Error YouTrackSource::Contextual(const Error& error) const {
  const std::string prefix = "connection " + options_.connection_name;
  Error out = error.message.starts_with(prefix + ": ") ? error : error.Wrap(prefix);
  // Belt and braces: nothing this connector builds holds the token, but a
  // server or transport message might echo it.
  out.message = Redact(out.message);
  return out;
}

Result<HttpResponse> YouTrackSource::Get(const std::string& url) {
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers = {{"Accept", "application/json"}};
  request.bearer = &options_.token;
  request.timeout = options_.timeout;
  auto response = http_.Send(request);
  if (!response) {
    return std::unexpected(Contextual(response.error()));
  }
  return response;
}

Result<Value> YouTrackSource::GetJson(const std::string& url) {
  auto response = Get(url);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto json = ReadJsonResponse(*response, options_.connection_name);
  if (!json) {
    return std::unexpected(Contextual(json.error()));
  }
  return json;
}

Result<TrackerIdentity> YouTrackSource::WhoAmI() {
  auto me = GetJson(options_.base.api + "/users/me?fields=id,login,fullName,guest,banned");
  if (!me) {
    return std::unexpected(me.error());
  }
  auto identity = DecodeMe(*me);
  if (!identity) {
    return std::unexpected(Contextual(identity.error()));
  }

  // Counting is informative only; a token that may read issues but not list
  // projects is still a working token.
  auto projects = Get(options_.base.api + "/admin/projects?fields=id&$top=-1");
  if (!projects) {
    return std::unexpected(projects.error());
  }
  if (projects->status == 403) {
    identity->projects = -1;
    return identity;
  }
  auto list = ReadJsonResponse(*projects, options_.connection_name);
  if (!list) {
    return std::unexpected(Contextual(list.error()));
  }
  if (!list->IsList()) {
    return std::unexpected(
        Contextual(Error{ErrorCode::kBadResponse, "the project list is not a JSON array"}));
  }
  identity->projects = static_cast<int>(list->AsList().size());
  return identity;
}

Result<void> YouTrackSource::Pull(const PullRequest& request, const PageSink& on_page) {
  const IssueProjection projection = BuildIssueProjection(request.fields);
  const std::string query = WithUpdatedAscending(request.query);
  const int page_size = request.page_size > 0 ? request.page_size : kDefaultPageSize;

  std::unordered_set<std::string> seen;
  std::size_t delivered = 0;
  int skip = 0;
  while (true) {
    int top = page_size;
    if (request.limit > 0) {
      top = static_cast<int>(std::min<std::size_t>(top, request.limit - delivered));
    }
    auto json = GetJson(options_.base.service + IssuePageTarget(projection, query, top, skip));
    if (!json) {
      return std::unexpected(json.error());
    }
    auto page = DecodeIssuePage(*json, options_.base);
    if (!page) {
      return std::unexpected(Contextual(page.error()));
    }
    const std::size_t received = page->size();

    // With $skip paging, an issue updated during the pull moves to the end of
    // the order and comes again; hand it on once.
    std::vector<Issue> fresh;
    fresh.reserve(received);
    for (Issue& issue : *page) {
      if (seen.insert(issue.id).second) {
        fresh.push_back(std::move(issue));
      }
    }
    if (received >= static_cast<std::size_t>(top) && fresh.empty()) {
      // A full page of nothing new: paging does not advance (a proxy that
      // drops $skip?). Stopping beats looping forever.
      return std::unexpected(Contextual(
          Error{ErrorCode::kBadResponse, "YouTrack returned the same issues again at $skip=" +
                                             std::to_string(skip) + "; paging does not advance"}));
    }
    if (request.limit > 0 && delivered + fresh.size() > request.limit) {
      fresh.resize(request.limit - delivered);
    }
    delivered += fresh.size();
    if (!fresh.empty()) {
      if (auto sunk = on_page(std::move(fresh)); !sunk) {
        return sunk;
      }
    }
    if (received < static_cast<std::size_t>(top)) {
      return {};  // a short page is the last one
    }
    if (request.limit > 0 && delivered >= request.limit) {
      return {};
    }
    skip += static_cast<int>(received);
  }
}

std::unique_ptr<TrackerSource> MakeYouTrackSource(YouTrackOptions options, HttpClient& http) {
  return std::make_unique<YouTrackSource>(std::move(options), http);
}

}  // namespace boardsync

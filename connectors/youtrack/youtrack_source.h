// YouTrackSource: the TrackerSource for YouTrack (Cloud and Server) over its
// REST API. It reads only; it keeps no progress between calls (the caller
// holds the cursor). Not thread-safe: use one instance per thread (a pull
// runs readers of its own, on threads it joins before it returns).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <vector>
#include <string>
#include <string_view>

#include "connectors/common/updated_pull.h"
#include "connectors/youtrack/base_url.h"
#include "connectors/youtrack/fields.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/tracker_source.h"

namespace boardsync {

struct YouTrackOptions {
  std::string connection_name;                // starts every error message
  YouTrackBaseUrl base;                       // from NormalizeBaseUrl()
  Secret token;                               // a permanent token, sent verbatim as a bearer token
  std::chrono::milliseconds timeout{30'000};  // per request
};

class YouTrackSource : public TrackerSource {
 public:
  // `http` is borrowed and must outlive this source.
  YouTrackSource(YouTrackOptions options, HttpClient& http);

  // GET {api}/users/me, then GET {api}/admin/projects to count the projects
  // (projects = -1 when the token may not list them: HTTP 403).
  Result<TrackerIdentity> WhoAmI() override;

  // Checks the token with {api}/users/me once, unless request.session
  // vouches for it (the answer also gives the user's time zone), then GETs
  // {api}/issues sorted by update time, paging by keyset on `updated` (never
  // by a growing $skip) until a short page or request.limit issues. With
  // request.keys, asks for those issues instead. Pages are requested and
  // decoded on a thread of their own, a few ahead of `on_page`, which runs
  // on the calling thread; when it fails, the request in flight is cancelled.
  // With request.concurrency > 1 (and no keys or limit), the range is read
  // in slices side by side (PullByUpdated()).
  Result<void> Pull(const PullRequest& request, const PageSink& on_page) override;
  using TrackerSource::Pull;

  // The user's time zone, once known (from the profile, by measuring, or
  // from request.session).
  std::optional<TrackerSession> Session() const override;

 private:
  Result<TrackerIdentity> FetchMe();
  // The token user's zone, minutes east of UTC: from the profile, or
  // measured with a few one-issue queries when the profile does not say.
  Result<int> ZoneOffset(const PullRequest& request);
  Result<std::vector<Issue>> FetchPage(const IssueProjection& projection, const std::string& query,
                                       int top, int skip = 0);
  // The pages of a pull by keys, handed to `on_page`.
  Result<void> PullKeys(const PullRequest& request, const IssueProjection& projection,
                        int page_size, const PageSink& on_page);
  // An issue list answer, decoded; errors carry the connection name.
  Result<std::vector<Issue>> ReadPage(const HttpResponse& response) const;
  // One request for the issues with these human keys.
  Result<std::vector<Issue>> FetchKeys(const IssueProjection& projection,
                                       const std::vector<std::string>& keys, int page_size);
  // One window of a pull by update time (connectors/common/updated_pull.h):
  // its bounds written in the zone `offset` minutes east of UTC, to the
  // second. Thread-safe with itself.
  Result<WindowPage> FetchWindowPage(const PullRequest& request,
                                     const IssueProjection& projection, int offset,
                                     const WindowRequest& window);
  // GET `url` and read the answer as JSON; errors carry the connection name.
  Result<Value> GetJson(const std::string& url);
  Result<HttpResponse> Get(const std::string& url);
  // `error` as this connection's (YouTrackConnectionError()).
  Error Contextual(const Error& error) const;

  YouTrackOptions options_;
  HttpClient& http_;
  bool token_checked_ = false;         // /users/me accepted the token
  std::optional<int> zone_;            // minutes east of UTC, once known
  std::stop_token stop_;                // of the pull in progress
};

// For the connector registry: a YouTrackSource behind the interface.
std::unique_ptr<TrackerSource> MakeYouTrackSource(YouTrackOptions options, HttpClient& http);


}  // namespace boardsync

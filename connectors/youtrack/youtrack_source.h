// YouTrackSource: the TrackerSource for YouTrack (Cloud and Server) over its
// REST API. It reads only; it keeps no progress between calls (the caller
// holds the cursor). Not thread-safe: use one instance per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/youtrack/base_url.h"
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

  // GET {api}/issues page by page ($skip/$top), until a short page or
  // request.limit issues. The query gets "sort by: updated asc" unless it has
  // its own sort clause. An issue seen twice in one pull (it moved between
  // pages while paging) is handed on once.
  Result<void> Pull(const PullRequest& request, const PageSink& on_page) override;

 private:
  // GET `url` and read the answer as JSON; errors carry the connection name.
  Result<Value> GetJson(const std::string& url);
  Result<HttpResponse> Get(const std::string& url);
  Error Contextual(const Error& error) const;

  YouTrackOptions options_;
  HttpClient& http_;
};

// For the connector registry: a YouTrackSource behind the interface.
std::unique_ptr<TrackerSource> MakeYouTrackSource(YouTrackOptions options, HttpClient& http);

// `query` with YouTrack's "sort by: updated asc" appended, unless it already
// has a "sort by:" clause; this gives Pull() its oldest-change-first order.
std::string WithUpdatedAscending(std::string_view query);

}  // namespace boardsync

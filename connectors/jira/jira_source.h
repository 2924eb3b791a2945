// JiraSource: the TrackerSource for Jira Cloud (REST API 3, e-mail and API
// token, search paged by nextPageToken) and Jira Data Center (REST API 2,
// personal access token, search paged by startAt). It reads only and keeps
// no progress; paging by `updated` is the shared engine's
// (connectors/common/updated_pull.h) with Jira's minute granularity.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "connectors/http/json.h"
#include "connectors/jira/decode.h"
#include "connectors/jira/fields.h"
#include "connectors/jira/query.h"
#include "connectors/common/updated_pull.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/tracker_source.h"

namespace boardsync {

enum class JiraDeployment { kCloud, kDataCenter };

struct JiraOptions {
  std::string connection_name;  // starts every error message
  std::string site;             // from JiraSiteUrl(): "https://acme.atlassian.net", "https://host/jira"
  JiraDeployment deployment = JiraDeployment::kCloud;
  std::string email;  // Cloud: the account the API token belongs to
  Secret token;       // Cloud: an API token; Data Center: a personal access token
  std::chrono::milliseconds timeout{30'000};  // per request
};

// `base_url` as a site URL without a trailing slash, query or fragment
// (kConfig otherwise); a context path such as /jira stays.
Result<std::string> JiraSiteUrl(std::string_view base_url);

// How requests authenticate: Basic with the e-mail and API token on Cloud,
// Bearer with the personal access token on Data Center.
HttpAuth JiraAuth(const JiraOptions& options);

// The REST API root: {site}/rest/api/3 on Cloud, {site}/rest/api/2 on Data
// Center.
std::string JiraApiUrl(const JiraOptions& options);

class JiraSource : public TrackerSource {
 public:
  // `http` is borrowed and must outlive this source.
  JiraSource(JiraOptions options, HttpClient& http);

  // GET {api}/myself, then the projects the token can browse (Cloud:
  // {api}/project/search's total; Data Center: the length of {api}/project).
  Result<TrackerIdentity> WhoAmI() override;

  // Checks the token with {api}/myself (unless request.session vouches for
  // it; the answer gives the user's time zone, in which JQL dates are read),
  // resolves the mapping's field names with {api}/field, then searches:
  // by update time through the shared engine, or by key.
  Result<void> Pull(const PullRequest& request, const PageSink& on_page) override;
  using TrackerSource::Pull;

  // The user's time zone, once known, and the fields the last pull's
  // mapping names resolved to (JSON).
  std::optional<TrackerSession> Session() const override;

  // JQL compares `updated` to the minute.
  std::int64_t UpdatedGranularityMs() const override { return 60'000; }
  // Minutes, plus Cloud's search index, which lags writes by seconds to
  // minutes (an issue updated before the cursor may become searchable only
  // after a later sync moved the cursor past it).
  std::int64_t CursorOverlapMs() const override { return 15 * 60'000; }

  // The mapping's source names that no Jira field has (test-connection warns
  // about them), or the error a sync would give (a name two fields share).
  Result<std::vector<std::string>> UnknownFields(const std::vector<std::string>& names) override;

 private:
  struct Search;
  std::string Api() const;
  // Safe from several threads at once (a sliced pull's readers).
  Result<HttpResponse> Get(const std::string& url, std::stop_token stop) const;
  // The answer as JSON, or the error its status means; `what` names the call.
  Result<JsonDocument> Read(const HttpResponse& response, std::string_view what) const;
  Result<TrackerIdentity> FetchMe(std::stop_token stop);
  Result<std::vector<JiraField>> FetchFields(std::stop_token stop);
  std::string SearchUrl(const Search& search, const std::string& jql, int max_results,
                        std::int64_t start_at, const std::string& token) const;
  Result<JiraSearchPage> ReadSearch(const Search& search, const HttpResponse& response) const;
  // One search request: the page's issues and where the search goes on.
  Result<JiraSearchPage> SearchPage(const Search& search, const std::string& jql, int max_results,
                                    std::int64_t start_at, const std::string& token) const;
  Result<WindowPage> FetchWindow(const Search& search, const WindowRequest& window) const;
  Result<void> PullKeys(const Search& search, const std::vector<std::string>& keys, int page_size,
                        const PageSink& emit) const;
  Error Contextual(std::string message, ErrorCode code, bool retriable = false) const;

  JiraOptions options_;
  HttpClient& http_;
  HttpAuth auth_;
  bool token_checked_ = false;
  mutable std::mutex mu_;                 // guards what Session() reads
  std::optional<std::string> zone_name_;  // the user's zone, once known
  // The names the last pull's mapping read and the fields they resolved to.
  std::vector<std::string> session_names_;
  std::vector<JiraField> session_fields_;
};

}  // namespace boardsync

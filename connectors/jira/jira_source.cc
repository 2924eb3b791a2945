#include "connectors/jira/jira_source.h"

#include <algorithm>
#include <utility>

#include "connectors/common/http_status.h"
#include "connectors/jira/decode.h"
#include "connectors/jira/reason.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/text.h"
#include "core/url.h"

namespace boardsync {
namespace {

constexpr int kDefaultPageSize = 100;
// Keys asked for in one `key in (...)` query.
constexpr std::size_t kKeysPerQuery = 50;
// Pulls that only list issues (ids_only) ask for pages this large; Jira
// caps them at what it allows (Data Center 1000 by default, Cloud less) and
// the connector reads on until it has them.
constexpr int kIdsPageSize = 1000;

// A session: {"time_zone": "Europe/Berlin", "names": [the mapping's source
// names], "fields": [the catalogue entries they resolved to, as /field gives
// them]}. With it, an incremental pull whose mapping reads the same names
// asks neither /myself nor /field: one search when nothing changed.
struct SavedSession {
  std::string time_zone;
  std::vector<std::string> names;
  std::vector<JiraField> fields;
};

std::optional<SavedSession> ReadSession(const TrackerSession& session) {
  auto doc = ParseJsonDocument(session.data);
  if (!doc || !doc->Root().IsObject()) {
    return std::nullopt;
  }
  const JsonView root = doc->Root();
  SavedSession saved;
  saved.time_zone = std::string(root.StringOr("time_zone"));
  if (saved.time_zone.empty()) {
    return std::nullopt;
  }
  if (auto names = root.Find("names"); names && names->IsList()) {
    for (JsonView name : names->Elements()) {
      if (!name.IsString()) {
        return std::nullopt;
      }
      saved.names.emplace_back(name.AsString());
    }
  }
  if (auto fields = root.Find("fields"); fields && fields->IsList()) {
    auto decoded = DecodeJiraFields(*fields);
    if (!decoded) {
      return std::nullopt;
    }
    saved.fields = std::move(*decoded);
  }
  return saved;
}

// `field` as /field gives it, for a session.
Value FieldToValue(const JiraField& field) {
  Value::Object schema;
  auto put = [&schema](std::string_view key, const std::string& text) {
    if (!text.empty()) {
      schema[key] = Value(text);
    }
  };
  put("type", field.type);
  put("items", field.items);
  put("custom", field.custom_type);
  put("system", field.system);
  Value::Object out;
  out["id"] = Value(field.id);
  out["key"] = Value(field.key);
  out["name"] = Value(field.name);
  out["custom"] = Value(field.custom);
  out["schema"] = Value(std::move(schema));
  return Value(std::move(out));
}

}  // namespace

Result<std::string> JiraSiteUrl(std::string_view base_url) {
  auto url = ParseUrl(std::string(TrimSpace(base_url)));
  if (!url) {
    return std::unexpected(url.error());
  }
  if (!url->query.empty()) {
    return Fail(ErrorCode::kConfig,
                "base_url must be the Jira site, without a query (\"?...\")");
  }
  std::string path = url->path;
  while (path.ends_with('/')) {
    path.pop_back();
  }
  // A REST path pasted in by mistake is the site before it.
  if (const auto rest = path.find("/rest/"); rest != std::string::npos) {
    path.resize(rest);
  }
  return url->Origin() + path;
}

HttpAuth JiraAuth(const JiraOptions& options) {
  return options.deployment == JiraDeployment::kCloud
             ? HttpAuth::Basic(options.email, options.token)
             : HttpAuth::Bearer(options.token);
}

std::string JiraApiUrl(const JiraOptions& options) {
  return options.site +
         (options.deployment == JiraDeployment::kCloud ? "/rest/api/3" : "/rest/api/2");
}

// What one pull asks: its filter, fields, zone and cancellation.
struct JiraSource::Search {
  std::string filter;
  JiraFieldSelection selection;  // the fields the mapping reads
  JiraFieldSelection times;      // only updated, created, resolutiondate
  JiraZone zone = JiraZone::Utc();
  bool ids_only = false;
  std::stop_token stop;
};

JiraSource::JiraSource(JiraOptions options, HttpClient& http)
    : options_(std::move(options)), http_(http), auth_(JiraAuth(options_)) {}

std::string JiraSource::Api() const { return JiraApiUrl(options_); }

Error JiraSource::Contextual(std::string message, ErrorCode code, bool retriable) const {
  return Error{code, "connection " + options_.connection_name + ": " + std::move(message),
               retriable};
}

Result<HttpResponse> JiraSource::Get(const std::string& url, std::stop_token stop) const {
  HttpRequest request;
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.auth = auth_;
  request.timeout = options_.timeout;
  request.stop = std::move(stop);
  auto response = http_.Send(request);
  if (!response) {
    return std::unexpected(response.error().Wrap("connection " + options_.connection_name));
  }
  return response;
}

Result<JsonDocument> JiraSource::Read(const HttpResponse& response, std::string_view what) const {
  const std::string status = " (HTTP " + std::to_string(response.status) + ")";
  const bool cloud = options_.deployment == JiraDeployment::kCloud;
  switch (response.status) {
    case 401:
      return std::unexpected(Contextual(
          cloud ? "Jira did not accept the e-mail and API token" + status +
                      ": check `email` and that the token is an API token of that account, "
                      "not revoked or expired"
                : "Jira did not accept the personal access token" + status +
                      ": it may be wrong, expired or revoked",
          ErrorCode::kAuth));
    case 403:
      return std::unexpected(Contextual(
          "the token's user may not " + std::string(what) + status + JiraReason(response) +
              (cloud ? "" : " (an administrator may have turned off personal access tokens)"),
          ErrorCode::kAuth));
    case 404:
      return std::unexpected(Contextual(
          "no Jira REST API at " + options_.site + " for " + std::string(what) + status +
              ": check base_url (Cloud: https://<site>.atlassian.net; Data Center: with its "
              "context path, such as https://host/jira) and `deployment`",
          ErrorCode::kConfig));
    case 410:
      return std::unexpected(Contextual(
          "Jira no longer offers the API used to " + std::string(what) + status +
              JiraReason(response) +
              (cloud ? "" : ": is this a Cloud site? Then set `email` (deployment: cloud)"),
          ErrorCode::kConfig));
    default:
      break;
  }
  return ReadJsonAnswer(response, TrackerAnswerContext{options_.connection_name, "Jira",
                                                       &JiraReasonText});
}

Result<TrackerIdentity> JiraSource::FetchMe(std::stop_token stop) {
  auto response = Get(Api() + "/myself", std::move(stop));
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc = Read(*response, "read its own profile (/myself)");
  if (!doc) {
    return std::unexpected(doc.error());
  }
  const JsonView me = doc->Root();
  if (!me.IsObject()) {
    return std::unexpected(
        Contextual("Jira's /myself answer is not an object", ErrorCode::kBadResponse));
  }
  TrackerIdentity identity;
  identity.login = std::string(options_.deployment == JiraDeployment::kCloud
                                   ? me.StringOr("accountId")
                                   : me.StringOr("name", me.StringOr("key")));
  identity.name = std::string(me.StringOr("displayName", identity.login));
  identity.time_zone = std::string(me.StringOr("timeZone"));
  if (identity.login.empty()) {
    return std::unexpected(Contextual(
        "Jira's /myself answer names no user: the token was served as anonymous",
        ErrorCode::kAuth));
  }
  token_checked_ = true;
  std::lock_guard lock(mu_);
  zone_name_ = identity.time_zone;
  return identity;
}

Result<TrackerIdentity> JiraSource::WhoAmI() {
  auto identity = FetchMe({});
  if (!identity) {
    return identity;
  }
  const bool cloud = options_.deployment == JiraDeployment::kCloud;
  auto response = Get(Api() + (cloud ? "/project/search?maxResults=1" : "/project"), {});
  if (!response) {
    return std::unexpected(response.error());
  }
  if (response->status == 403) {
    return identity;  // may not list projects: projects stays -1
  }
  auto doc = Read(*response, "list projects");
  if (!doc) {
    return std::unexpected(doc.error());
  }
  const JsonView root = doc->Root();
  if (cloud) {
    if (auto total = root.Find("total"); total && total->IsInt()) {
      identity->projects = static_cast<int>(total->AsInt());
    }
  } else if (root.IsList()) {
    identity->projects = static_cast<int>(root.size());
  }
  return identity;
}

Result<std::vector<JiraField>> JiraSource::FetchFields(std::stop_token stop) {
  auto response = Get(Api() + "/field", std::move(stop));
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc = Read(*response, "list its fields (/field)");
  if (!doc) {
    return std::unexpected(doc.error());
  }
  auto fields = DecodeJiraFields(doc->Root());
  if (!fields) {
    return std::unexpected(fields.error().Wrap("connection " + options_.connection_name));
  }
  return fields;
}

Result<std::vector<std::string>> JiraSource::UnknownFields(const std::vector<std::string>& names) {
  auto catalogue = FetchFields({});
  if (!catalogue) {
    return std::unexpected(catalogue.error());
  }
  auto selection = SelectJiraFields(*catalogue, names);
  if (!selection) {
    return std::unexpected(selection.error().Wrap("connection " + options_.connection_name));
  }
  return selection->unknown;
}

std::string JiraSource::SearchUrl(const Search& search, const std::string& jql, int max_results,
                                  std::int64_t start_at, const std::string& token) const {
  const JiraFieldSelection& selection = search.ids_only ? search.times : search.selection;
  std::string url = Api();
  if (options_.deployment == JiraDeployment::kCloud) {
    url += "/search/jql?jql=" + PercentEncode(jql) +
           "&fields=" + PercentEncode(JiraFieldsParameter(selection)) +
           "&maxResults=" + std::to_string(max_results);
    if (!token.empty()) {
      url += "&nextPageToken=" + PercentEncode(token);
    }
  } else {
    url += "/search?jql=" + PercentEncode(jql) +
           "&fields=" + PercentEncode(JiraFieldsParameter(selection)) +
           "&startAt=" + std::to_string(start_at) + "&maxResults=" + std::to_string(max_results);
  }
  return url;
}

Result<JiraSearchPage> JiraSource::ReadSearch(const Search& search,
                                              const HttpResponse& response) const {
  auto doc = Read(response, "search issues");
  if (!doc) {
    return std::unexpected(doc.error());
  }
  auto page = DecodeJiraSearchPage(doc->Root(), search.ids_only ? search.times : search.selection,
                                   options_.site);
  if (!page) {
    return std::unexpected(page.error().Wrap("connection " + options_.connection_name));
  }
  return page;
}

Result<JiraSearchPage> JiraSource::SearchPage(const Search& search, const std::string& jql,
                                              int max_results, std::int64_t start_at,
                                              const std::string& token) const {
  auto response = Get(SearchUrl(search, jql, max_results, start_at, token), search.stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  return ReadSearch(search, *response);
}

Result<WindowPage> JiraSource::FetchWindow(const Search& pull,
                                           const WindowRequest& window) const {
  // A probe reads only id, key and updated: no need for the mapped fields.
  Search light;
  if (window.probe && !pull.ids_only) {
    light = pull;
    light.ids_only = true;
  }
  const Search& search = window.probe && !pull.ids_only ? light : pull;
  // Cloud refuses an unbounded search (no condition at all): a window open
  // below starts at 1970 there, which selects the same issues.
  std::optional<std::int64_t> from_ms = window.from_ms;
  if (!from_ms && search.filter.empty() && options_.deployment == JiraDeployment::kCloud) {
    from_ms = 0;
  }
  auto jql = BuildUpdatedJql(search.filter, from_ms, window.to_ms, search.zone,
                             window.newest_first ? JqlOrder::kNewestFirst : JqlOrder::kOldestFirst);
  if (!jql) {
    return std::unexpected(jql.error().Wrap("connection " + options_.connection_name));
  }
  WindowPage out;
  if (options_.deployment == JiraDeployment::kCloud) {
    auto page = SearchPage(search, *jql, window.page_size, 0, window.token);
    if (!page) {
      return std::unexpected(page.error());
    }
    out.issues = std::move(page->issues);
    out.next_token = page->last ? "" : std::move(page->next_page_token);
    return out;
  }
  // Data Center pages by offset: a page shorter than asked for ends the
  // window for the engine, so read on until it is full or Jira has no more
  // (Jira may cap maxResults below what was asked).
  std::int64_t start_at = window.skip;
  while (static_cast<int>(out.issues.size()) < window.page_size) {
    const int wanted = window.page_size - static_cast<int>(out.issues.size());
    auto page = SearchPage(search, *jql, wanted, start_at, "");
    if (!page) {
      return std::unexpected(page.error());
    }
    const std::size_t got = page->issues.size();
    for (Issue& issue : page->issues) {
      out.issues.push_back(std::move(issue));
    }
    start_at += static_cast<std::int64_t>(got);
    if (page->last || got == 0) {
      break;
    }
  }
  return out;
}

Result<void> JiraSource::PullKeys(const Search& search, const std::vector<std::string>& keys,
                                  int page_size, const PageSink& emit) const {
  auto queries = BuildKeyJql(keys, kKeysPerQuery);
  if (!queries) {
    return std::unexpected(queries.error().Wrap("connection " + options_.connection_name));
  }
  for (const std::string& query : *queries) {
    std::string token;
    std::int64_t start_at = 0;
    while (true) {
      auto response = Get(SearchUrl(search, query, page_size, start_at, token), search.stop);
      if (!response) {
        return std::unexpected(response.error());
      }
      if (response->status == 400) {
        // Jira refuses the whole query when one key names no issue the token
        // can see (deleted, or moved out of sight): ask for the keys one at a
        // time and leave out those refused alone; the retry list then
        // forgets them as gone.
        if (keys.size() > 1) {
          for (const std::string& key : keys) {
            if (query.find("\"" + key + "\"") == std::string::npos) {
              continue;
            }
            if (auto single = PullKeys(search, {key}, page_size, emit); !single) {
              return single;
            }
          }
        }
        break;
      }
      auto page = ReadSearch(search, *response);
      if (!page) {
        return std::unexpected(page.error());
      }
      const std::size_t got = page->issues.size();
      if (got > 0) {
        if (auto sunk = emit(IssuePage{std::move(page->issues), std::nullopt}); !sunk) {
          return sunk;
        }
      }
      if (page->last || got == 0) {
        break;
      }
      start_at += static_cast<std::int64_t>(got);
      token = page->next_page_token;
    }
  }
  return {};
}

Result<void> JiraSource::Pull(const PullRequest& request, const PageSink& on_page) {
  std::stop_source cancel;
  std::stop_callback forward(request.stop, [&cancel] { cancel.request_stop(); });

  // The token first: the answer also gives the zone JQL dates are read in.
  // A session from an earlier pull vouches for both (and may hold the
  // fields the mapping's names resolve to).
  const std::optional<SavedSession> saved =
      request.session ? ReadSession(*request.session) : std::nullopt;
  std::optional<std::string> zone_name;
  if (saved) {
    zone_name = saved->time_zone;
  }
  if (!zone_name) {
    if (!token_checked_ || !zone_name_) {
      if (auto me = FetchMe(cancel.get_token()); !me) {
        return std::unexpected(me.error());
      }
    }
    std::lock_guard lock(mu_);
    zone_name = zone_name_;
  }
  {
    std::lock_guard lock(mu_);
    zone_name_ = zone_name;
  }

  Search search;
  search.filter = request.query;
  search.ids_only = request.ids_only;
  search.stop = cancel.get_token();
  if (auto zone = JiraZone::Load(*zone_name); zone) {
    search.zone = *zone;
  } else {
    // A zone Jira knows and we do not: bounds that hold in any zone.
    Log(LogLevel::kWarn, "Jira's time zone for the token's user is unknown here; widening "
                         "the bounds of every search by a day.",
        {{"connection", options_.connection_name}, {"time_zone", *zone_name}});
    search.zone = JiraZone::AnyZone();
  }
  auto times = SelectJiraFields({}, {});
  if (!times) {
    return std::unexpected(times.error());
  }
  search.times = std::move(*times);
  if (!request.ids_only) {
    std::vector<JiraField> catalogue;
    if (saved && saved->names == request.fields) {
      catalogue = saved->fields;  // what these names resolved to last time
    } else {
      auto fetched = FetchFields(search.stop);
      if (!fetched) {
        return std::unexpected(fetched.error());
      }
      catalogue = std::move(*fetched);
    }
    auto selection = SelectJiraFields(catalogue, request.fields);
    if (!selection) {
      return std::unexpected(selection.error().Wrap("connection " + options_.connection_name));
    }
    search.selection = std::move(*selection);
    std::lock_guard lock(mu_);
    session_names_ = request.fields;
    session_fields_.clear();
    for (const JiraRequestedField& field : search.selection.fields) {
      if (!field.names.empty()) {
        session_fields_.push_back(field.field);
      }
    }
  }

  const int page_size = request.ids_only ? kIdsPageSize
                        : request.page_size > 0 ? request.page_size
                                                : kDefaultPageSize;
  if (!request.keys.empty()) {
    return Pipelined(
        [&](const PageSink& emit) { return PullKeys(search, request.keys, page_size, emit); },
        on_page, cancel);
  }
  if (auto checked = CheckJqlFilter(search.filter); !checked) {
    return std::unexpected(checked.error().Wrap("connection " + options_.connection_name));
  }
  UpdatedPullOptions engine;
  engine.connection_name = options_.connection_name;
  engine.granularity_ms = UpdatedGranularityMs();
  engine.paging = options_.deployment == JiraDeployment::kCloud ? WindowPaging::kToken
                                                                 : WindowPaging::kOffset;
  PullRequest paged = request;
  paged.page_size = page_size;
  return PullByUpdated(
      paged, engine,
      [this, &search](const WindowRequest& window) { return FetchWindow(search, window); },
      on_page, cancel);
}

std::optional<TrackerSession> JiraSource::Session() const {
  std::lock_guard lock(mu_);
  if (!zone_name_) {
    return std::nullopt;
  }
  Value::Object session;
  session["time_zone"] = Value(*zone_name_);
  Value::List names;
  for (const std::string& name : session_names_) {
    names.emplace_back(name);
  }
  session["names"] = Value(std::move(names));
  Value::List fields;
  for (const JiraField& field : session_fields_) {
    fields.push_back(FieldToValue(field));
  }
  session["fields"] = Value(std::move(fields));
  return TrackerSession{Value(std::move(session)).ToJson()};
}

}  // namespace boardsync

// YouTrackWriter: the FieldWriter for YouTrack (sync back, DESIGN §3.1):
// board scores into simple custom fields (float, integer, string; a text
// field takes string values too). Prepare() finds each target among the
// global custom fields and the projects of the issues, creating and
// attaching it with `create`; Write() sets one issue's values in one request.
// Not thread-safe: use one instance per thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/youtrack/youtrack_source.h"
#include "core/field_writer.h"
#include "core/http_client.h"

namespace boardsync {

class YouTrackWriter : public FieldWriter {
 public:
  // `http` is borrowed and must outlive this writer.
  YouTrackWriter(YouTrackOptions options, HttpClient& http);

  // GETs {api}/admin/customFieldSettings/customFields (every page) and
  // {api}/admin/projects with their fields; a token that may not list the
  // global fields (403) is judged by the fields of the issues' projects.
  // With `create`: POSTs a missing field (a `string` one for a string
  // target), then attaches each field to every project of `issues` that
  // lacks it. A field missing from some projects is no problem without
  // `create`: YouTrack refuses the writes to those projects' issues.
  Result<std::vector<TargetCheck>> Prepare(std::span<const WriteTarget> targets, bool create,
                                           std::span<const IssueRef> issues,
                                           std::stop_token stop) override;

  // POST {api}/issues/{id}?fields=updated with every value as one
  // customFields list, under the names Prepare() found. HTTP 400, 403, 404,
  // 409, 410 and 422 refuse this issue; 401, 429, 5xx and network failures
  // (after the client's retries) are errors.
  Result<WriteOutcome> Write(const IssueRef& issue, std::span<const FieldValue> values,
                             std::stop_token stop) override;

  // A YouTrack global custom field, as Prepare() read it.
  struct Field {
    std::string id;       // its database id, "106-24": what attaching takes
    std::string name;     // as YouTrack spells it: what writes must use
    std::string type_id;  // its FieldType id: "float", "string", "enum[1]"
  };

 private:
  // A project of the issues, with the fields attached to it.
  struct Project {
    std::string id;  // database id, "0-1"
    std::string short_name;
    std::vector<Field> fields;
  };
  // A target Prepare() accepted.
  struct Accepted {
    std::string name;  // YouTrack's spelling
    FieldType type = FieldType::kFloat;
    bool text = false;  // a `text` field: its value is {"text": ...}
  };

  // Every global field; nullopt when the token may not list them (403).
  Result<std::optional<std::vector<Field>>> ReadFields();
  // The projects among `short_names` the token sees; nullopt when it may
  // not list projects (403).
  Result<std::optional<std::vector<Project>>> ReadProjects(
      const std::vector<std::string>& short_names);
  // Creates the field of `target`: the new field; nullopt with `problem`
  // set (a sentence for TargetCheck::problem) when YouTrack refused; an
  // Error when it could not be asked.
  Result<std::optional<Field>> Create(const WriteTarget& target, std::string& problem);
  // Attaches `field` to `project`; "" or the problem.
  Result<std::string> Attach(const Field& field, const Project& project);
  // GETs the list at `url` (a query without $top and $skip) page by page and
  // hands each element to `on_item`: false when the token may not list it
  // (403). `what` names it in an error: "the project list".
  Result<bool> ReadList(const std::string& url, std::string_view what,
                        const std::function<void(const Value&)>& on_item);
  Result<HttpResponse> Send(std::string method, const std::string& url, std::string body);
  // `error` as this connection's (YouTrackConnectionError()).
  Error Contextual(const Error& error) const;

  YouTrackOptions options_;
  HttpClient& http_;
  std::stop_token stop_;                                   // of the call in progress
  std::map<std::string, Accepted, std::less<>> accepted_;  // by WriteTarget::name
};

}  // namespace boardsync

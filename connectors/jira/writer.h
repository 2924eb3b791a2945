// JiraWriter: sync back (DESIGN §3.1) into Jira custom fields, Cloud (REST
// API 3) and Data Center (REST API 2): finds each target in the field
// catalogue as the pull resolves names (or creates a number or text field),
// then sets an issue's values with one PUT /issue/{id}.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "connectors/jira/fields.h"
#include "connectors/jira/jira_source.h"
#include "core/field_writer.h"
#include "core/http_client.h"

namespace boardsync {

// What a custom field holds, as far as sync back cares.
enum class JiraWritableKind {
  kNumber,     // schema type "number" (…:float, Jira Software's story points): float, integer
  kTextField,  // …customfieldtypes:textfield, one line (255 characters): string
  kTextArea,   // …customfieldtypes:textarea: string (Cloud's API 3 takes it as ADF)
  kOther,      // anything else: not a target
};

JiraWritableKind JiraWritableKindOf(const JiraField& field);

class JiraWriter : public FieldWriter {
 public:
  // `http` is borrowed and must outlive the writer.
  JiraWriter(JiraOptions options, HttpClient& http);

  // GET {api}/field, then per target: by id or key, by exact name, by name
  // in any ASCII case (as the pull resolves names; a name two fields share is
  // a problem naming both). A system field, or a custom field of another
  // type, is a problem naming both types. With `create`, a missing target
  // named by a name (not an id) becomes a number field (float, integer) or
  // a one-line text field (string): POST {api}/field, then on Cloud a global
  // context if Jira made none, and on both the default screen. `issues` is
  // not needed: the created field's context is global.
  Result<std::vector<TargetCheck>> Prepare(std::span<const WriteTarget> targets, bool create,
                                           std::span<const IssueRef> issues,
                                           std::stop_token stop) override;

  // PUT {api}/issue/{id}?returnIssue=true with {"fields": {id: value, ...}}.
  // Cloud answers with the issue, whose `updated` becomes updated_ms; Data
  // Center answers 204 and updated_ms stays 0.
  Result<WriteOutcome> Write(const IssueRef& issue, std::span<const FieldValue> values,
                             std::stop_token stop) override;

 private:
  struct Target {
    JiraField field;
    JiraWritableKind kind = JiraWritableKind::kOther;
  };
  // What became of creating one field: the field, or why not (`problem`).
  struct Created {
    JiraField field;
    std::string problem;
  };

  bool Cloud() const { return options_.deployment == JiraDeployment::kCloud; }
  std::string Api() const;
  // `retry`: the HTTP client's retries of 429, 5xx and network failures;
  // false for what must not happen twice.
  Result<HttpResponse> Send(std::string method, const std::string& url, std::string body,
                            std::stop_token stop, bool retry = true) const;
  // The answer as JSON, or the Error its status means.
  Result<JsonDocument> Read(const HttpResponse& response) const;
  // 401, 429 and 5xx (after the client's retries) and anything but the
  // refusals `refusable` lists: an Error; nullopt otherwise.
  std::optional<Error> Fatal(const HttpResponse& response, std::span<const int> refusable) const;
  Result<std::vector<JiraField>> FetchFields(std::stop_token stop) const;
  Result<Created> CreateField(const WriteTarget& target, std::stop_token stop) const;
  // Cloud: a global context when the field has none. "" or a problem.
  Result<std::string> EnsureContext(const JiraField& field, std::stop_token stop) const;
  // The field on the default tab of the default screen. "" or a problem.
  Result<std::string> AddToDefaultScreen(const JiraField& field, std::stop_token stop) const;
  Error Contextual(std::string message, ErrorCode code, bool retriable = false) const;

  JiraOptions options_;
  HttpClient& http_;
  HttpAuth auth_;
  std::map<std::string, Target, std::less<>> targets_;  // by WriteTarget::name
};

}  // namespace boardsync

// GitHubWriter: the FieldWriter for GitHub (DESIGN §3.1). Sync back writes
// into the fields of the connection's Projects v2 board (`project: {owner,
// number}`) through GraphQL: a number field takes float and integer
// targets, a text field string ones; an issue not yet on the board is added
// to it first. Not thread-safe: one instance per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "connectors/github/fields.h"
#include "connectors/github/github_source.h"
#include "connectors/github/transport.h"
#include "core/field_writer.h"
#include "core/http_client.h"
#include "core/secret.h"

namespace boardsync {

struct GitHubWriterOptions {
  std::string connection_name;  // starts every error message
  std::string api;              // GitHubApiRoot(): "https://api.github.com", "https://host/api/v3"
  std::optional<GitHubProject> project;  // none: nothing can be written
  Secret token;
  std::chrono::milliseconds timeout{30'000};  // per request; also the longest wait for a reset
  // Attempts for a 5xx answer or a network failure, the first wait between
  // them (doubling).
  int max_attempts = 3;
  std::chrono::milliseconds retry_backoff{1'000};
  // The longest retry-after of a secondary limit that is waited for (once).
  std::chrono::milliseconds max_secondary_wait{60'000};
  // The least time from one mutation request to the next: GitHub asks
  // integrations to leave a second between requests that change things,
  // and counts mutations against its secondary limits. Tests shorten it.
  std::chrono::milliseconds mutation_spacing{1'000};
};

class GitHubWriter : public FieldWriter {
 public:
  // `http` is borrowed and must outlive the writer.
  GitHubWriter(GitHubWriterOptions options, HttpClient& http);

  // One GraphQL query finds the project with its fields (ids, data types)
  // and whether the token's user may change it; a classic token's scopes
  // (X-OAuth-Scopes) must hold `project`. With `create`, the missing fields
  // are made in one more request (a mutation per field, by alias). Then the
  // issues are looked up, 50 to a query (their node ids and items on the
  // board), so that Write() needs no query of its own.
  Result<std::vector<TargetCheck>> Prepare(std::span<const WriteTarget> targets, bool create,
                                           std::span<const IssueRef> issues,
                                           std::stop_token stop) override;

  // One GraphQL request setting (updateProjectV2ItemFieldValue) or clearing
  // (clearProjectV2ItemFieldValue) every value, a mutation per field by
  // alias; before it, for an issue not yet on the board, one request adding
  // it (addProjectV2ItemById; GitHub cannot add and set in one). An issue
  // Prepare() did not look up costs one query more. updated_ms is 0: edits
  // of project fields are taken not to move the issue's updated_at.
  Result<WriteOutcome> Write(const IssueRef& issue, std::span<const FieldValue> values,
                             std::stop_token stop) override;

 private:
  // A target Prepare() accepted: the field it writes.
  struct Accepted {
    std::string field_id;
    FieldType type = FieldType::kFloat;
  };
  // An issue as GitHub's GraphQL knows it.
  struct Located {
    std::string node_id;  // "" when gone
    std::string item_id;  // its item on the board; "" when not on it
    std::string gone;     // why it cannot be written ("" when found)
  };

  // "project 7 of acme".
  std::string ProjectName() const;
  // Sends a GraphQL request; a mutation waits for mutation_spacing.
  Result<HttpResponse> PostGraphQl(std::string body, bool mutation, bool retry,
                                   std::stop_token stop);
  // The answer as JSON (viewing response.body): a non-2xx status, a body
  // that is no JSON and GraphQL's RATE_LIMITED are errors; other GraphQL
  // errors are left to the caller.
  Result<JsonDocument> ReadAnswer(const HttpResponse& response, std::string_view what) const;
  // The project as Prepare() finds it.
  struct Board {
    std::optional<GitHubWritableProject> project;  // nullopt: `problem` says why
    std::string problem;
    // Why the token may not change the project ("" when it may).
    std::string write_problem;
  };
  Result<Board> LoadProject(std::stop_token stop);
  // Creates the fields `names` (of `types`): their ids, or a problem per
  // field, in order.
  struct Created {
    std::string field_id;
    std::string problem;
  };
  Result<std::vector<Created>> CreateFields(const std::vector<std::string>& names,
                                            const std::vector<std::string>& data_types,
                                            std::stop_token stop);
  // Looks `issues` up (a query per 50) into issues_.
  Result<void> Locate(std::span<const IssueRef> issues, std::stop_token stop);
  // Adds the issue to the board: its item id, or a refusal.
  Result<WriteOutcome> AddToProject(const IssueRef& issue, Located& located, std::stop_token stop);

  GitHubWriterOptions options_;
  GitHubTransport transport_;
  std::string graphql_url_;
  std::optional<GitHubWritableProject> project_;  // once Prepare() found it
  std::map<std::string, Accepted> accepted_;      // by target name
  std::map<std::string, Located> issues_;         // by issue key
  // Set once GitHub refused to change the project: later writes are refused
  // with it, without a request, until the next Prepare().
  std::string forbidden_;
  std::int64_t last_mutation_ms_ = 0;
};

}  // namespace boardsync

#include "connectors/github/writer.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>
#include <utility>

#include "connectors/common/http_status.h"
#include "connectors/github/decode.h"
#include "connectors/github/repos.h"
#include "core/redact.h"
#include "core/text.h"
#include "core/time.h"
#include "core/value.h"

namespace boardsync {
namespace {

// Issues one lookup query asks for. Each brings its project items (up to
// 100), and GitHub charges a query by the nodes it may return.
constexpr std::size_t kLookupBatch = 50;
// GitHub's words in a message: one line's worth.
constexpr std::size_t kMaxReason = 300;

constexpr std::string_view kWriteAccess =
    "write access to the project (a classic token: the `project` scope; a fine-grained token or "
    "a GitHub App: the organization permission Projects: read and write)";

std::string GraphQlBody(std::string_view query, Value::Object variables) {
  return Value(Value::Object{{"query", Value(query)}, {"variables", Value(std::move(variables))}})
      .ToJson();
}

// One entry of a GraphQL answer's `errors`.
struct GraphQlError {
  std::string type;               // NOT_FOUND, FORBIDDEN, ...; "" for a validation error
  std::vector<std::string> path;  // the aliases down to the field that failed; empty: the request
  std::string message;            // redacted, cut short
};

std::vector<GraphQlError> ReadErrors(JsonView root) {
  std::vector<GraphQlError> out;
  auto errors = root.IsObject() ? root.FindNonNull("errors") : std::nullopt;
  if (!errors || !errors->IsList()) {
    return out;
  }
  for (JsonView error : errors->Elements()) {
    if (!error.IsObject()) {
      continue;
    }
    GraphQlError read;
    read.type = std::string(error.StringOr("type"));
    if (auto path = error.FindNonNull("path"); path && path->IsList()) {
      for (JsonView step : path->Elements()) {
        read.path.push_back(step.IsString() ? std::string(step.AsString())
                                            : std::to_string(step.IsInt() ? step.AsInt() : -1));
      }
    }
    read.message = Redact(error.StringOr("message")).substr(0, kMaxReason);
    out.push_back(std::move(read));
  }
  return out;
}

// The errors of the field at `path` (aliases from the top) and below it,
// else those at exactly its first step (a repository not found for its
// issue), else those of the request as a whole (without a path).
std::vector<GraphQlError> ErrorsOf(const std::vector<GraphQlError>& errors,
                                   std::span<const std::string> path) {
  auto pick = [&](auto&& wanted) {
    std::vector<GraphQlError> mine;
    std::copy_if(errors.begin(), errors.end(), std::back_inserter(mine), wanted);
    return mine;
  };
  std::vector<GraphQlError> mine = pick([&](const GraphQlError& error) {
    return error.path.size() >= path.size() &&
           std::equal(path.begin(), path.end(), error.path.begin());
  });
  if (mine.empty() && path.size() > 1) {
    mine = pick([&](const GraphQlError& error) {
      return error.path.size() == 1 && error.path[0] == path[0];
    });
  }
  if (mine.empty()) {
    mine = pick([](const GraphQlError& error) { return error.path.empty(); });
  }
  return mine;
}

std::string Said(const std::vector<GraphQlError>& errors) {
  std::string said;
  for (const GraphQlError& error : errors) {
    if (!error.message.empty()) {
      said += (said.empty() ? "" : "; ") + error.message;
    }
  }
  return said;
}

// GitHub refused for lack of rights: the token's scopes, or the user's or
// App's access to the project.
bool AnyRefusal(const std::vector<GraphQlError>& errors) {
  return std::any_of(errors.begin(), errors.end(), [](const GraphQlError& error) {
    return error.type == "FORBIDDEN" || error.type == "INSUFFICIENT_SCOPES";
  });
}

bool AnyOfType(const std::vector<GraphQlError>& errors, std::string_view type) {
  return std::any_of(errors.begin(), errors.end(),
                     [&](const GraphQlError& error) { return error.type == type; });
}

// A validation error (no type): the request itself was wrong for this
// GitHub, the same for every issue.
bool AnyUntyped(const std::vector<GraphQlError>& errors) { return AnyOfType(errors, ""); }

std::optional<JsonView> Member(std::optional<JsonView> object, std::string_view key) {
  return object && object->IsObject() ? object->FindNonNull(key) : std::nullopt;
}

// "GitHub's answer holds no data" when `errors` say nothing.
std::string SaidOr(const std::vector<GraphQlError>& errors, std::string_view fallback) {
  std::string said = Said(errors);
  return said.empty() ? std::string(fallback) : said;
}

}  // namespace

GitHubWriter::GitHubWriter(GitHubWriterOptions options, HttpClient& http)
    : options_(std::move(options)),
      transport_(
          GitHubTransportOptions{
              .connection_name = options_.connection_name,
              .token = options_.token,
              .timeout = options_.timeout,
              .max_attempts = options_.max_attempts,
              .retry_backoff = options_.retry_backoff,
              .max_secondary_wait = options_.max_secondary_wait,
              .activity = "sync back",
          },
          http),
      graphql_url_(GitHubGraphQlUrl(options_.api)) {}

std::string GitHubWriter::ProjectName() const {
  if (!options_.project) {
    return "the project";
  }
  return "project " + std::to_string(options_.project->number) + " of " + options_.project->owner;
}

Result<HttpResponse> GitHubWriter::PostGraphQl(std::string body, bool mutation, bool retry,
                                               std::stop_token stop) {
  if (mutation && last_mutation_ms_ > 0) {
    const std::int64_t wait = last_mutation_ms_ + options_.mutation_spacing.count() - NowMs();
    if (wait > 0 && !SleepUnlessStopped(std::chrono::milliseconds(wait), stop)) {
      return std::unexpected(
          transport_.Contextual("the sync back was stopped", ErrorCode::kCancelled));
    }
  }
  auto response = transport_.Send("POST", graphql_url_, std::move(body), "graphql", stop, retry);
  if (mutation) {
    last_mutation_ms_ = NowMs();
  }
  return response;
}

Result<JsonDocument> GitHubWriter::ReadAnswer(const HttpResponse& response,
                                              std::string_view what) const {
  const TrackerAnswerContext context{options_.connection_name, "GitHub", [](const HttpResponse& r) {
                                       return GitHubErrorMessage(r.body);
                                     }};
  if (!response.Ok()) {
    const std::string status = " (HTTP " + std::to_string(response.status) + ")";
    const std::string reason = GitHubReason(response);
    const std::string suffix = reason.empty() ? "" : ": " + reason;
    if (response.status == 401) {
      return std::unexpected(transport_.Contextual("GitHub did not accept the token" + status +
                                                       suffix +
                                                       ": it may be wrong, expired or revoked",
                                                   ErrorCode::kAuth));
    }
    if (response.status == 403) {
      return std::unexpected(transport_.Contextual("the token may not " + std::string(what) +
                                                       status + suffix + "; sync back needs " +
                                                       std::string(kWriteAccess),
                                                   ErrorCode::kAuth));
    }
    if (auto error = HttpStatusError(response, context)) {
      return std::unexpected(*error);
    }
    return std::unexpected(
        transport_.Contextual("unexpected answer from GitHub" + status, ErrorCode::kBadResponse));
  }
  auto doc = ReadJsonAnswer(response, context);
  if (!doc) {
    return doc;
  }
  for (const GraphQlError& error : ReadErrors(doc->Root())) {
    if (error.type == "RATE_LIMITED") {
      // GraphQL says so with HTTP 200; its budget is its own.
      const GitHubRateHeaders headers = ReadGitHubRateHeaders(response);
      return std::unexpected(transport_.Contextual(
          "GitHub's GraphQL rate limit for this token is spent" +
              (headers.reset_ms ? " until " + FormatIsoUtc(*headers.reset_ms) : std::string()) +
              " (to " + std::string(what) + "); the next sync back after that goes on",
          ErrorCode::kRateLimited, /*retriable=*/true));
    }
  }
  return doc;
}

Result<GitHubWriter::Board> GitHubWriter::LoadProject(std::stop_token stop) {
  const GitHubProject& project = *options_.project;
  const std::string what = "read " + ProjectName() + " (GraphQL)";
  auto response = PostGraphQl(GitHubProjectFieldsQuery(project.owner, project.number),
                              /*mutation=*/false, /*retry=*/true, stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc = ReadAnswer(*response, what);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  auto found = DecodeGitHubProjectFields(doc->Root());
  if (!found) {
    return std::unexpected(found.error().Wrap("connection " + options_.connection_name));
  }
  Board board;
  if (!*found) {
    // Asked as an organization's and a user's at once: one of them is
    // always NOT_FOUND. Only when neither has it do the errors tell why.
    const std::vector<GraphQlError> errors = ReadErrors(doc->Root());
    const std::string said = Said(errors);
    if (AnyRefusal(errors)) {
      board.problem = "the token may not read " + ProjectName() + " (" + said +
                      "): sync back needs " + std::string(kWriteAccess);
    } else {
      board.problem = ProjectName() + " was not found, or the token cannot see it" +
                      (said.empty() ? std::string() : " (" + said + ")") +
                      ": check `project` (owner and number as in the project's URL, "
                      "https://github.com/orgs/<owner>/projects/<number>) and that the token has " +
                      std::string(kWriteAccess);
    }
    return board;
  }
  board.project = std::move(**found);
  if (auto header = response->Header("x-oauth-scopes")) {
    // A classic token: GitHub lists its scopes. read:project only reads.
    bool may_write = false;
    std::string listed;
    std::string_view rest = *header;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view scope = TrimSpace(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (!scope.empty()) {
        may_write = may_write || scope == "project";
        listed += (listed.empty() ? "" : ", ") + std::string(scope);
      }
    }
    if (!may_write) {
      board.write_problem = "the token may not change " + ProjectName() +
                            ": a classic token needs the `project` scope to write Projects v2 "
                            "fields (it has " +
                            (listed.empty() ? std::string("no scopes") : listed) + ")";
    }
  }
  if (board.write_problem.empty() && !board.project->viewer_can_update) {
    board.write_problem = "the token may not change " + ProjectName() +
                          " (GitHub says its user cannot update the project): sync back needs " +
                          std::string(kWriteAccess);
  }
  return board;
}

Result<std::vector<TargetCheck>> GitHubWriter::Prepare(std::span<const WriteTarget> targets,
                                                       bool create,
                                                       std::span<const IssueRef> issues,
                                                       std::stop_token stop) {
  project_.reset();
  accepted_.clear();
  issues_.clear();
  forbidden_.clear();
  std::vector<TargetCheck> checks;
  for (const WriteTarget& target : targets) {
    checks.push_back(TargetCheck{target.name, "", false});
  }
  if (targets.empty()) {
    return checks;
  }
  auto quoted = [](const std::string& name) { return "\"" + name + "\""; };
  if (!options_.project) {
    for (TargetCheck& check : checks) {
      check.problem = "field " + quoted(check.name) +
                      " cannot be written: sync back to GitHub needs `project: {owner, number}` "
                      "in the connection, the Projects v2 board whose fields it writes";
    }
    return checks;
  }
  auto board = LoadProject(stop);
  if (!board) {
    return std::unexpected(board.error());
  }
  if (!board->project) {
    for (TargetCheck& check : checks) {
      check.problem = "field " + quoted(check.name) + " cannot be written: " + board->problem;
    }
    return checks;
  }
  project_ = std::move(board->project);

  std::vector<std::size_t> missing;  // targets to create
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const WriteTarget& target = targets[i];
    const std::string_view want = target.type == FieldType::kString ? "TEXT" : "NUMBER";
    if (const GitHubProjectFieldInfo* field =
            FindGitHubProjectField(project_->fields, target.name)) {
      if (field->data_type != want) {
        checks[i].problem = "field " + quoted(target.name) + " of " + ProjectName() + " is " +
                            GitHubFieldTypeWords(field->data_type) + "; sync_back writes it as " +
                            std::string(FieldTypeName(target.type)) + ", which needs " +
                            GitHubFieldTypeWords(want);
      } else if (!board->write_problem.empty()) {
        checks[i].problem =
            "field " + quoted(target.name) + " cannot be written: " + board->write_problem;
      } else {
        accepted_[target.name] = Accepted{field->id, target.type};
      }
    } else if (!create) {
      checks[i].problem = "no field " + quoted(target.name) + " in " + ProjectName() +
                          ", and sync_back.create is false: add " + GitHubFieldTypeWords(want) +
                          " named " + quoted(target.name) + " to the project, or set create: true";
    } else if (!board->write_problem.empty()) {
      checks[i].problem =
          "field " + quoted(target.name) + " cannot be created: " + board->write_problem;
    } else {
      missing.push_back(i);
    }
  }

  if (!missing.empty()) {
    std::vector<std::string> names;
    std::vector<std::string> types;
    for (std::size_t i : missing) {
      names.push_back(targets[i].name);
      types.emplace_back(targets[i].type == FieldType::kString ? "TEXT" : "NUMBER");
    }
    auto created = CreateFields(names, types, stop);
    if (!created) {
      return std::unexpected(created.error());
    }
    for (std::size_t k = 0; k < missing.size(); ++k) {
      const std::size_t i = missing[k];
      if (!(*created)[k].problem.empty()) {
        checks[i].problem = (*created)[k].problem;
        continue;
      }
      accepted_[targets[i].name] = Accepted{(*created)[k].field_id, targets[i].type};
      project_->fields.push_back(
          GitHubProjectFieldInfo{(*created)[k].field_id, targets[i].name, types[k]});
      checks[i].created = true;
    }
  }

  if (!accepted_.empty() && !issues.empty()) {
    if (auto located = Locate(issues, stop); !located) {
      return std::unexpected(located.error());
    }
  }
  return checks;
}

Result<std::vector<GitHubWriter::Created>> GitHubWriter::CreateFields(
    const std::vector<std::string>& names, const std::vector<std::string>& data_types,
    std::stop_token stop) {
  // One request: a mutation per field, each under its own alias, which
  // GitHub runs one after another.
  std::string query = "mutation($project:ID!";
  for (std::size_t k = 0; k < names.size(); ++k) {
    query += ",$n" + std::to_string(k) + ":String!";
  }
  query += "){";
  Value::Object variables;
  variables["project"] = Value(project_->id);
  for (std::size_t k = 0; k < names.size(); ++k) {
    const std::string n = std::to_string(k);
    query += "c" + n + ":createProjectV2Field(input:{projectId:$project,name:$n" + n +
             ",dataType:" + data_types[k] +
             "}){projectV2Field{...on ProjectV2FieldCommon{id name dataType}}} ";
    variables["n" + n] = Value(names[k]);
  }
  query += "}";
  // Not sent twice: a creation the first attempt made would be refused as
  // a duplicate name, or worse.
  auto response = PostGraphQl(GraphQlBody(query, std::move(variables)), /*mutation=*/true,
                              /*retry=*/false, stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc = ReadAnswer(*response, "create fields in " + ProjectName());
  if (!doc) {
    return std::unexpected(doc.error());
  }
  const std::vector<GraphQlError> errors = ReadErrors(doc->Root());
  const std::optional<JsonView> data = Member(doc->Root(), "data");
  std::vector<Created> out(names.size());
  for (std::size_t k = 0; k < names.size(); ++k) {
    const std::string alias = "c" + std::to_string(k);
    const std::optional<JsonView> field = Member(Member(data, alias), "projectV2Field");
    if (field && field->IsObject() && !field->StringOr("id").empty()) {
      out[k].field_id = std::string(field->StringOr("id"));
      continue;
    }
    const std::vector<GraphQlError> mine = ErrorsOf(errors, std::span(&alias, 1));
    const std::string said = SaidOr(mine, "GitHub's answer holds no field");
    const std::string field_name = "field \"" + names[k] + "\"";
    if (AnyRefusal(mine)) {
      out[k].problem = field_name + " cannot be created in " + ProjectName() +
                       ": GitHub refused (" + said + "); creating it needs " +
                       std::string(kWriteAccess);
    } else if (AnyUntyped(mine)) {
      return std::unexpected(transport_.Contextual(
          "GitHub could not run the request creating fields in " + ProjectName() + ": " + said,
          ErrorCode::kBadResponse));
    } else {
      out[k].problem = field_name + " cannot be created in " + ProjectName() + ": " + said;
    }
  }
  return out;
}

Result<void> GitHubWriter::Locate(std::span<const IssueRef> issues, std::stop_token stop) {
  struct Asked {
    const IssueRef* ref;
    GitHubKeyParts parts;
  };
  std::vector<Asked> todo;
  std::set<std::string> queued;
  for (const IssueRef& ref : issues) {
    if (issues_.contains(ref.key) || !queued.insert(ref.key).second) {
      continue;
    }
    auto parts = ParseGitHubKey(ref.key);
    if (!parts) {
      issues_[ref.key].gone = "not a GitHub issue key (owner/name#number)";
      continue;
    }
    todo.push_back(Asked{&ref, std::move(*parts)});
  }
  for (std::size_t first = 0; first < todo.size(); first += kLookupBatch) {
    const std::size_t end = std::min(todo.size(), first + kLookupBatch);
    // The batch's repositories, each once, with its issues under it.
    std::vector<std::string> repos;
    std::vector<std::size_t> repo_of(end - first);
    for (std::size_t j = first; j < end; ++j) {
      auto at = std::find_if(repos.begin(), repos.end(), [&](const std::string& repo) {
        return SameGitHubRepo(repo, todo[j].parts.repo);
      });
      repo_of[j - first] = static_cast<std::size_t>(at - repos.begin());
      if (at == repos.end()) {
        repos.push_back(todo[j].parts.repo);
      }
    }
    std::string declared;
    std::string body;
    Value::Object variables;
    for (std::size_t m = 0; m < repos.size(); ++m) {
      const std::string r = std::to_string(m);
      const std::size_t slash = repos[m].find('/');
      declared += ",$o" + r + ":String!,$n" + r + ":String!";
      variables["o" + r] = Value(repos[m].substr(0, slash));
      variables["n" + r] = Value(repos[m].substr(slash + 1));
      body += "r" + r + ":repository(owner:$o" + r + ",name:$n" + r + "){";
      for (std::size_t j = first; j < end; ++j) {
        if (repo_of[j - first] == m) {
          const std::string i = std::to_string(j - first);
          declared += ",$k" + i + ":Int!";
          variables["k" + i] = Value(todo[j].parts.number);
          body += "i" + i + ":issue(number:$k" + i + "){...issue} ";
        }
      }
      body += "} ";
    }
    const std::string query =
        "query(" + declared.substr(1) + "){" + body +
        "} fragment issue on Issue{id databaseId projectItems(first:100){nodes{id project{id}}}}";
    const std::string what = "look up " + std::to_string(end - first) + " issues (GraphQL)";
    auto response = PostGraphQl(GraphQlBody(query, std::move(variables)), /*mutation=*/false,
                                /*retry=*/true, stop);
    if (!response) {
      return std::unexpected(response.error());
    }
    auto doc = ReadAnswer(*response, what);
    if (!doc) {
      return std::unexpected(doc.error());
    }
    const std::vector<GraphQlError> errors = ReadErrors(doc->Root());
    const std::optional<JsonView> data = Member(doc->Root(), "data");
    if (!data || !data->IsObject()) {
      // The request failed as a whole: the same for every issue.
      const std::string said = SaidOr(errors, "GitHub's answer holds no data");
      return std::unexpected(transport_.Contextual(
          "GitHub would not " + what + ": " + said +
              (AnyRefusal(errors) ? "; sync back needs " + std::string(kWriteAccess) : ""),
          AnyRefusal(errors) ? ErrorCode::kAuth : ErrorCode::kBadResponse));
    }
    for (std::size_t j = first; j < end; ++j) {
      const IssueRef& ref = *todo[j].ref;
      const std::vector<std::string> path = {"r" + std::to_string(repo_of[j - first]),
                                             "i" + std::to_string(j - first)};
      const std::optional<JsonView> node = Member(Member(data, path[0]), path[1]);
      Located located;
      if (!node || !node->IsObject() || node->StringOr("id").empty()) {
        const std::vector<GraphQlError> mine = ErrorsOf(errors, path);
        const std::string said = SaidOr(mine, "GitHub answered no issue");
        located.gone = AnyRefusal(mine) || (!mine.empty() && !AnyOfType(mine, "NOT_FOUND"))
                           ? "GitHub would not show the issue: " + said
                           : "GitHub has no such issue (deleted or transferred, or the token "
                             "cannot see its repository): " +
                                 said;
        issues_[ref.key] = std::move(located);
        continue;
      }
      const std::optional<JsonView> database_id = Member(node, "databaseId");
      std::int64_t id = 0;
      if (!ref.id.empty() && database_id && AsInteger(*database_id, id) &&
          std::to_string(id) != ref.id) {
        located.gone = "the issue there is another one now (id " + std::to_string(id) + ", not " +
                       ref.id + "): it was deleted or transferred";
        issues_[ref.key] = std::move(located);
        continue;
      }
      located.node_id = std::string(node->StringOr("id"));
      if (auto items = Member(Member(node, "projectItems"), "nodes"); items && items->IsList()) {
        for (JsonView item : items->Elements()) {
          if (Member(item, "project") && Member(item, "project")->StringOr("id") == project_->id) {
            located.item_id = std::string(item.StringOr("id"));
            break;
          }
        }
      }
      issues_[ref.key] = std::move(located);
    }
  }
  return {};
}

Result<WriteOutcome> GitHubWriter::AddToProject(const IssueRef& issue, Located& located,
                                                std::stop_token stop) {
  constexpr std::string_view kQuery =
      "mutation($project:ID!,$content:ID!){add:addProjectV2ItemById(input:{projectId:$project,"
      "contentId:$content}){item{id}}}";
  Value::Object variables;
  variables["project"] = Value(project_->id);
  variables["content"] = Value(located.node_id);
  // GitHub answers the existing item when the issue is on the board
  // already, so a second attempt does no harm.
  auto response = PostGraphQl(GraphQlBody(kQuery, std::move(variables)), /*mutation=*/true,
                              /*retry=*/true, stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc = ReadAnswer(*response, "add " + issue.key + " to " + ProjectName());
  if (!doc) {
    return std::unexpected(doc.error());
  }
  const std::optional<JsonView> item = Member(Member(Member(doc->Root(), "data"), "add"), "item");
  if (item && item->IsObject() && !item->StringOr("id").empty()) {
    located.item_id = std::string(item->StringOr("id"));
    return WriteOutcome{};
  }
  static const std::string kAlias = "add";
  const std::vector<GraphQlError> mine = ErrorsOf(ReadErrors(doc->Root()), std::span(&kAlias, 1));
  const std::string said = SaidOr(mine, "GitHub's answer holds no item");
  if (AnyRefusal(mine)) {
    forbidden_ = "GitHub refused to change " + ProjectName() + " (" + said + "): sync back needs " +
                 std::string(kWriteAccess);
    return WriteOutcome{true, issue.key + ": " + forbidden_, 0};
  }
  if (AnyUntyped(mine)) {
    return std::unexpected(transport_.Contextual("GitHub could not run the request adding " +
                                                     issue.key + " to " + ProjectName() + ": " +
                                                     said,
                                                 ErrorCode::kBadResponse));
  }
  if (AnyOfType(mine, "NOT_FOUND")) {
    located.gone = "GitHub has no such issue any more (deleted or transferred): " + said;
    return WriteOutcome{true, issue.key + ": " + located.gone, 0};
  }
  return WriteOutcome{true,
                      issue.key + ": GitHub would not add it to " + ProjectName() + ": " + said, 0};
}

Result<WriteOutcome> GitHubWriter::Write(const IssueRef& issue, std::span<const FieldValue> values,
                                         std::stop_token stop) {
  auto refused = [&](const std::string& why) {
    return WriteOutcome{true, issue.key + ": " + why, 0};
  };
  if (values.empty()) {
    return WriteOutcome{};
  }
  if (!options_.project) {
    return refused(
        "sync back to GitHub needs `project: {owner, number}` in the connection, the Projects v2 "
        "board whose fields it writes");
  }
  // Each value as GraphQL takes it: a Float or a String, or none to clear.
  struct Planned {
    std::string name;
    std::string field_id;
    std::optional<Value> value;  // nullopt: clear
    std::string_view kind;       // "number" (Float!) or "text" (String!)
  };
  std::vector<Planned> planned;
  bool sets_any = false;
  for (const FieldValue& value : values) {
    auto accepted = accepted_.find(value.field);
    if (!project_ || accepted == accepted_.end()) {
      return refused("field \"" + value.field + "\" cannot be written: sync back found a problem " +
                     "with it, or has not checked it");
    }
    Planned plan{value.field, accepted->second.field_id, std::nullopt, "number"};
    const FieldType type = accepted->second.type;
    if (value.value.IsNull()) {
      // cleared below
    } else if (type == FieldType::kString) {
      if (!value.value.IsString()) {
        return refused("field \"" + value.field + "\" takes text, not " + value.value.ToJson());
      }
      plan.kind = "text";
      plan.value = value.value;
    } else if (value.value.IsInt() && type == FieldType::kInteger) {
      plan.value = value.value;
    } else if (value.value.IsNumber() && std::isfinite(value.value.AsNumber())) {
      const double number = value.value.AsNumber();
      // A whole number beyond int64 stays a Float: GitHub's numbers are.
      plan.value = type == FieldType::kInteger && std::fabs(number) < 9e18
                       ? Value(static_cast<std::int64_t>(std::llround(number)))
                       : Value(type == FieldType::kInteger ? std::round(number) : number);
    } else {
      return refused("field \"" + value.field + "\" takes a finite number, not " +
                     value.value.ToJson());
    }
    sets_any = sets_any || plan.value.has_value();
    planned.push_back(std::move(plan));
  }
  if (!forbidden_.empty()) {
    return refused(forbidden_);
  }

  if (!issues_.contains(issue.key)) {
    if (auto located = Locate(std::span(&issue, 1), stop); !located) {
      return std::unexpected(located.error());
    }
  }
  Located& located = issues_[issue.key];
  if (!located.gone.empty()) {
    return refused(located.gone);
  }
  if (located.item_id.empty()) {
    if (!sets_any) {
      return WriteOutcome{};  // not on the board: nothing there to clear
    }
    auto added = AddToProject(issue, located, stop);
    if (!added || added->refused) {
      return added;
    }
  }

  // One request: a mutation per value, each under its own alias.
  std::string declared = "$project:ID!,$item:ID!";
  std::string body;
  Value::Object variables;
  variables["project"] = Value(project_->id);
  variables["item"] = Value(located.item_id);
  for (std::size_t k = 0; k < planned.size(); ++k) {
    const std::string n = std::to_string(k);
    declared += ",$f" + n + ":ID!";
    variables["f" + n] = Value(planned[k].field_id);
    if (planned[k].value) {
      declared += ",$x" + n + (planned[k].kind == "text" ? ":String!" : ":Float!");
      variables["x" + n] = *planned[k].value;
      body += "v" + n +
              ":updateProjectV2ItemFieldValue(input:{projectId:$project,itemId:$item,"
              "fieldId:$f" +
              n + ",value:{" + std::string(planned[k].kind) + ":$x" + n + "}}){projectV2Item{id}} ";
    } else {
      body += "v" + n +
              ":clearProjectV2ItemFieldValue(input:{projectId:$project,itemId:$item,"
              "fieldId:$f" +
              n + "}){projectV2Item{id}} ";
    }
  }
  const std::string query = "mutation(" + declared + "){" + body + "}";
  // Setting a value twice leaves it as once: a retry does no harm.
  auto response = PostGraphQl(GraphQlBody(query, std::move(variables)), /*mutation=*/true,
                              /*retry=*/true, stop);
  if (!response) {
    return std::unexpected(response.error());
  }
  auto doc = ReadAnswer(*response, "write the project fields of " + issue.key);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  const std::vector<GraphQlError> errors = ReadErrors(doc->Root());
  const std::optional<JsonView> data = Member(doc->Root(), "data");
  std::vector<GraphQlError> failed;
  std::string said;
  for (std::size_t k = 0; k < planned.size(); ++k) {
    const std::string alias = "v" + std::to_string(k);
    if (auto payload = Member(data, alias); payload && payload->IsObject()) {
      continue;
    }
    const std::vector<GraphQlError> mine = ErrorsOf(errors, std::span(&alias, 1));
    said += (said.empty() ? "" : "; ") + std::string("field \"") + planned[k].name +
            "\": " + SaidOr(mine, "GitHub's answer holds no result");
    failed.insert(failed.end(), mine.begin(), mine.end());
  }
  if (said.empty()) {
    return WriteOutcome{};  // updated_ms 0: GitHub says no new updated_at
  }
  if (AnyRefusal(failed)) {
    forbidden_ = "GitHub refused to change " + ProjectName() + " (" + Said(failed) +
                 "): sync back needs " + std::string(kWriteAccess);
    return refused(forbidden_);
  }
  if (AnyUntyped(failed)) {
    return std::unexpected(transport_.Contextual(
        "GitHub could not run the request writing the project fields of " + issue.key + ": " + said,
        ErrorCode::kBadResponse));
  }
  if (AnyOfType(failed, "NOT_FOUND")) {
    // The item may have left the board since it was looked up: look again
    // next time.
    issues_.erase(issue.key);
  }
  return refused("GitHub refused " + said);
}

}  // namespace boardsync

// The sample GitHub's GraphQL endpoint (see github_server.h).

#include "tests/support/github/github_state.h"

namespace boardsync {
namespace github_sample {

HttpServerResponse ServeGraphQL(State&, const GitHubToken&, const HttpServerRequest&) {
  HttpServerResponse response;
  response.status = 200;
  response.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  response.body = R"({"errors":[{"type":"UNSUPPORTED","message":"not yet"}]})";
  return response;
}

}  // namespace github_sample
}  // namespace boardsync

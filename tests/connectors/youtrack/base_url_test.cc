#include "connectors/youtrack/base_url.h"

#include <gtest/gtest.h>

#include <string>

namespace boardsync {
namespace {

struct Accepted {
  std::string input;
  std::string service;
};

class NormalizeBaseUrlAccepts : public testing::TestWithParam<Accepted> {};

TEST_P(NormalizeBaseUrlAccepts, GivesServiceAndApiRoot) {
  const Accepted& c = GetParam();
  auto base = NormalizeBaseUrl(c.input);
  ASSERT_TRUE(base.has_value()) << c.input << ": " << base.error().message;
  EXPECT_EQ(base->service, c.service) << c.input;
  EXPECT_EQ(base->api, c.service + "/api") << c.input;
}

INSTANTIATE_TEST_SUITE_P(
    Forms, NormalizeBaseUrlAccepts,
    testing::Values(
        // Cloud, new domain.
        Accepted{"https://acme.youtrack.cloud", "https://acme.youtrack.cloud"},
        Accepted{"https://acme.youtrack.cloud/", "https://acme.youtrack.cloud"},
        // Cloud, legacy domain: the /youtrack context is required.
        Accepted{"https://acme.myjetbrains.com/youtrack", "https://acme.myjetbrains.com/youtrack"},
        Accepted{"https://acme.myjetbrains.com/youtrack/", "https://acme.myjetbrains.com/youtrack"},
        Accepted{"https://acme.myjetbrains.com", "https://acme.myjetbrains.com/youtrack"},
        Accepted{"https://acme.myjetbrains.com/", "https://acme.myjetbrains.com/youtrack"},
        // Server on a path and at the root, with and without a port.
        Accepted{"https://host.example.com/youtrack/", "https://host.example.com/youtrack"},
        Accepted{"https://host.example.com/youtrack", "https://host.example.com/youtrack"},
        Accepted{"https://yt.example.com", "https://yt.example.com"},
        Accepted{"https://yt.example.com:8443/youtrack", "https://yt.example.com:8443/youtrack"},
        Accepted{"https://yt.example.com:443/", "https://yt.example.com"},
        Accepted{"https://tools.example.com/dev/youtrack",
                 "https://tools.example.com/dev/youtrack"},
        // Already the API root.
        Accepted{"https://acme.youtrack.cloud/api", "https://acme.youtrack.cloud"},
        Accepted{"https://acme.youtrack.cloud/api/", "https://acme.youtrack.cloud"},
        Accepted{"https://host.example.com/youtrack/api/", "https://host.example.com/youtrack"},
        Accepted{"https://acme.myjetbrains.com/youtrack/api",
                 "https://acme.myjetbrains.com/youtrack"},
        // Pasted issue, board and other UI URLs.
        Accepted{"https://acme.youtrack.cloud/issue/RAP-42/Some-title",
                 "https://acme.youtrack.cloud"},
        Accepted{"https://host.example.com/youtrack/agiles/123-4/current",
                 "https://host.example.com/youtrack"},
        Accepted{"https://acme.youtrack.cloud/issues?q=project:%20RAP",
                 "https://acme.youtrack.cloud"},
        Accepted{"https://acme.youtrack.cloud/issues/RAP", "https://acme.youtrack.cloud"},
        Accepted{"https://acme.youtrack.cloud/dashboard?id=1-2#top", "https://acme.youtrack.cloud"},
        Accepted{"https://acme.youtrack.cloud/projects/0-1", "https://acme.youtrack.cloud"},
        Accepted{"https://host.example.com/youtrack/admin/projects",
                 "https://host.example.com/youtrack"},
        Accepted{"https://acme.youtrack.cloud/articles/RAP-A-1", "https://acme.youtrack.cloud"},
        Accepted{"https://acme.youtrack.cloud/reports", "https://acme.youtrack.cloud"},
        Accepted{"https://host.example.com/youtrack/newIssue?project=RAP",
                 "https://host.example.com/youtrack"},
        Accepted{"https://acme.myjetbrains.com/youtrack/issue/RAP-1",
                 "https://acme.myjetbrains.com/youtrack"},
        Accepted{"https://acme.myjetbrains.com/issue/RAP-1",
                 "https://acme.myjetbrains.com/youtrack"},
        // Query and fragment are dropped.
        Accepted{"https://acme.youtrack.cloud/?utm=x#frag", "https://acme.youtrack.cloud"},
        // Host is case-insensitive; surrounding blanks from a config are harmless.
        Accepted{"HTTPS://Acme.YouTrack.Cloud/", "https://acme.youtrack.cloud"},
        Accepted{"  https://acme.youtrack.cloud \n", "https://acme.youtrack.cloud"},
        // Plain http is allowed to loopback only.
        Accepted{"http://localhost:8080/youtrack", "http://localhost:8080/youtrack"},
        Accepted{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
        Accepted{"http://[::1]:8080/", "http://[::1]:8080"}));

struct Rejected {
  std::string input;
  std::string message_part;
};

class NormalizeBaseUrlRejects : public testing::TestWithParam<Rejected> {};

TEST_P(NormalizeBaseUrlRejects, WithConfigError) {
  const Rejected& c = GetParam();
  auto base = NormalizeBaseUrl(c.input);
  ASSERT_FALSE(base.has_value()) << c.input << " gave " << base->service;
  EXPECT_EQ(base.error().code, ErrorCode::kConfig);
  EXPECT_NE(base.error().message.find(c.message_part), std::string::npos) << base.error().message;
  EXPECT_FALSE(base.error().retriable);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, NormalizeBaseUrlRejects,
    testing::Values(Rejected{"ftp://acme.youtrack.cloud", "only http and https"},
                    Rejected{"acme.youtrack.cloud", "https://"}, Rejected{"", "empty"},
                    Rejected{"   ", "empty"}, Rejected{"http://acme.youtrack.cloud", "use https"},
                    Rejected{"http://10.0.0.5/youtrack", "use https"},
                    Rejected{"https://user:secret@acme.youtrack.cloud", "user names"},
                    Rejected{"https://:443/", "host is missing"}));

}  // namespace
}  // namespace boardsync

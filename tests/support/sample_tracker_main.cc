// boardsync-sample-tracker: the fake YouTrack of tests/support/ as a
// stand-alone server, for demos and for trying boardsync without a tracker.
// Serves until SIGINT or SIGTERM.

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/sample_tracker.h"

namespace {

constexpr std::string_view kUsage =
    "usage: boardsync-sample-tracker --token-file FILE [options]\n"
    "\n"
    "A fake YouTrack on 127.0.0.1 serving sample issues.\n"
    "\n"
    "  --port N            port to listen on (default 8111; 0 picks a free one)\n"
    "  --data FILE         issues to serve (default: the bundled sample_issues.json)\n"
    "  --generate N        serve N synthetic issues instead of --data\n"
    "  --seed S            seed for --generate (default 1)\n"
    "  --token-file FILE   the accepted permanent token, read from FILE\n"
    "  --token TOKEN       the same on the command line (visible to other users; prefer the file)\n"
    "  --path-prefix P     serve under P, e.g. /youtrack, like YouTrack Server on a path\n"
    "  --no-guest          answer 401 to requests without a token (default: act as guest)\n"
    "  --control           read commands from stdin, one a line, each answered on stdout:\n"
    "                        requests    prints \"requests N\": requests served so far\n"
    "                        reset       forgets the requests served (\"reset\")\n"
    "                        last-target prints \"target T\": the last /api/issues\n"
    "                                    request's target (path and query, encoded)\n"
    "                        change N    changes the summary of N issues spread evenly\n"
    "                                    over all of them (\"changed N\")\n"
    "  --help              this text\n";

int Usage(std::string_view error) {
  std::cerr << "boardsync-sample-tracker: " << error << "\n\n" << kUsage;
  return 2;
}

template <typename T>
bool ParseInt(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  std::size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? "" : s.substr(start);
}

// --control: commands on stdin, for benchmarks driving a tracker in another
// process. Ends at end of input; the server keeps serving.
void ServeControl(boardsync::SampleTracker& tracker) {
  std::string line;
  std::uint64_t round = 0;
  while (std::getline(std::cin, line)) {
    line = Trim(line);
    if (line == "requests") {
      std::cout << "requests " << tracker.total_requests() << std::endl;
    } else if (line == "last-target") {
      auto last = tracker.LastRequest("/api/issues");
      std::cout << "target " << (last ? last->request.target : "") << std::endl;
    } else if (line == "reset") {
      tracker.ClearRequests();
      std::cout << "reset" << std::endl;
    } else if (line.starts_with("change ")) {
      std::size_t n = 0;
      if (!ParseInt(std::string_view(line).substr(7), n)) {
        std::cout << "error: change needs a number" << std::endl;
        continue;
      }
      std::vector<std::string> ids = tracker.IssueIds();
      n = std::min(n, ids.size());
      ++round;
      std::size_t changed = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const std::string& id = ids[i * ids.size() / n];
        changed += tracker.SetSummary(id, "Changed in round " + std::to_string(round) + " " + id)
                       ? 1
                       : 0;
      }
      std::cout << "changed " << changed << std::endl;
    } else if (!line.empty()) {
      std::cout << "error: unknown command " << line << std::endl;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  boardsync::SampleTrackerOptions options;
  options.port = 8111;
  options.token.clear();
  std::string data = boardsync::SampleIssuesPath();
  std::string token_file;
  std::string token;
  std::size_t generate = 0;
  std::uint64_t seed = 1;
  bool generate_set = false;
  bool control = false;

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--no-guest") {
      options.guest_access = false;
      continue;
    }
    if (arg == "--control") {
      control = true;
      continue;
    }
    const char* v = value();
    if (v == nullptr) {
      return Usage(std::string(arg) + " needs a value");
    }
    if (arg == "--port") {
      if (!ParseInt(v, options.port)) {
        return Usage("--port must be a number from 0 to 65535");
      }
    } else if (arg == "--data") {
      data = v;
    } else if (arg == "--generate") {
      if (!ParseInt(v, generate)) {
        return Usage("--generate must be a number");
      }
      generate_set = true;
    } else if (arg == "--seed") {
      if (!ParseInt(v, seed)) {
        return Usage("--seed must be a number");
      }
    } else if (arg == "--token-file") {
      token_file = v;
    } else if (arg == "--token") {
      token = v;
    } else if (arg == "--path-prefix") {
      options.path_prefix = v;
    } else {
      return Usage("unknown option " + std::string(arg));
    }
  }

  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) {
      std::cerr << "boardsync-sample-tracker: cannot read the token file " << token_file << "\n";
      return 2;
    }
    std::ostringstream text;
    text << in.rdbuf();
    token = Trim(text.str());
    if (token.empty()) {
      std::cerr << "boardsync-sample-tracker: the token file " << token_file << " is empty\n";
      return 2;
    }
  }
  if (token.empty()) {
    return Usage("give the token with --token-file FILE (or --token TOKEN)");
  }
  options.token = token;

  // Block the signals before any thread starts so that only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<boardsync::SampleTracker> tracker;
  try {
    tracker = std::make_unique<boardsync::SampleTracker>(options);
  } catch (const std::exception& e) {
    std::cerr << "boardsync-sample-tracker: " << e.what() << "\n";
    return 1;
  }
  if (generate_set) {
    tracker->GenerateIssues(generate, seed);
  } else {
    auto loaded = tracker->LoadIssues(data);
    if (!loaded) {
      std::cerr << "boardsync-sample-tracker: " << loaded.error().message << "\n";
      return 1;
    }
  }
  std::cout << "sample tracker listening on " << tracker->base_url() << std::endl;
  if (control) {
    // Detached: it may sit in a read when a signal ends the process.
    std::thread(ServeControl, std::ref(*tracker)).detach();
  }

  int received = 0;
  sigwait(&signals, &received);
  tracker->Stop();
  return 0;
}

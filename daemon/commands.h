// The commands of DESIGN §1. Each takes parsed options, prints its results
// to `out` and its problems to `err`, and returns the process exit code.
#pragma once

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace boardsync {

enum ExitCode : int {
  kExitOk = 0,
  kExitRunFailed = 1,     // a connection or the board store failed; others still ran
  kExitBadConfig = 2,     // usage, config or mapping error: nothing ran
  kExitLocked = 3,        // another sync holds the state directory
};

struct Error;

// The exit code for a failure to set up the state directory, the state
// database or the board store: kExitLocked, kExitBadConfig for a setup boardsync
// refuses to trust (ErrorCode::kUntrusted), else kExitRunFailed.
int ExitCodeFor(const Error& error);

struct CommandOptions {
  std::filesystem::path config_file;
  std::vector<std::string> connections;  // empty: all
  bool full = false;
  bool dry_run = false;
  bool retry_failed = false;  // queue refused board writes again first
  std::size_t limit = 10;
  std::string format = "table";  // table | json
};

int RunSync(const CommandOptions& options, std::ostream& out, std::ostream& err);
int RunSyncBackCommand(const CommandOptions& options, std::ostream& out, std::ostream& err);
int RunCheck(const CommandOptions& options, std::ostream& out, std::ostream& err);
int RunTestConnection(const CommandOptions& options, std::ostream& out, std::ostream& err);
int RunPreview(const CommandOptions& options, std::ostream& out, std::ostream& err);
int RunStatus(const CommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace boardsync

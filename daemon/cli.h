// The command line (DESIGN §1): global options before or after the command,
// then dispatch to daemon/commands. Returns the process exit code.
#pragma once

namespace boardsync {

int RunCli(int argc, const char* const* argv);

}  // namespace boardsync

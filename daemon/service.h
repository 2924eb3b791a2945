// `boardsync run`: the daemon. Syncs every connection on its interval (with a
// little jitter) on a bounded pool of workers (one per connection, up to 8,
// grown when a reload adds connections), so a slow or hanging tracker never
// delays the others; backs a failing connection off exponentially;
// reloads on SIGHUP (keeping the old config when the new one is invalid);
// stops on SIGTERM/SIGINT within 10 seconds; speaks systemd's notify protocol
// and serves /metrics when configured.
#pragma once

#include <iosfwd>

#include "daemon/commands.h"

namespace boardsync {

// REQUIRES: called from the main thread before any other thread starts (it
// blocks SIGTERM, SIGINT and SIGHUP for the whole process to wait for them).
int RunService(const CommandOptions& options, std::ostream& err);

}  // namespace boardsync

// boardsync: keeps prioritization boards fed from issue trackers.
#include <sqlite3.h>

#include "daemon/cli.h"

int main(int argc, char** argv) {
  // SQLite's memory statistics take a process-wide lock on every allocation,
  // which the threads of a sync (staging, delivering) would contend for.
  // Nothing reads them. Must come before SQLite's first use.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  return boardsync::RunCli(argc, argv);
}

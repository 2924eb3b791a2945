// boardsync: keeps prioritization boards fed from issue trackers.
#include <malloc.h>
#include <sqlite3.h>

#include "daemon/cli.h"

int main(int argc, char** argv) {
  // SQLite's memory statistics take a process-wide lock on every allocation,
  // which the threads of a sync (staging, delivering) would contend for.
  // Nothing reads them. Must come before SQLite's first use.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  // Issue pages (a few hundred KB of JSON, then their trees) come and go
  // every few milliseconds: keep such blocks in the heap instead of mapping
  // and unmapping them, which faults every page of them in again.
  mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
  // Each thread that allocates gets an arena of its own by default, and each
  // keeps what it freed: with the readers of a sliced pull that grew a
  // 200,000-issue first sync from 47 to 55 MB. Two arenas serve them all.
  mallopt(M_ARENA_MAX, 2);
  return boardsync::RunCli(argc, argv);
}

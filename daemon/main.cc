// boardsync: keeps prioritization boards fed from issue trackers.
#include "daemon/cli.h"

int main(int argc, char** argv) { return boardsync::RunCli(argc, argv); }

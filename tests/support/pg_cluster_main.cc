// boardsync-test-pg: the ctest fixture around tests/support/pg_cluster.h.
//   boardsync-test-pg start DIR   starts a cluster, writes its admin URI to
//                                 DIR/url (what $BOARDSYNC_TEST_PG_URL_FILE
//                                 names) and its own dir to DIR/cluster
//   boardsync-test-pg stop DIR    stops that cluster and removes its files
// A start first stops what an earlier run left behind in DIR.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tests/support/pg_cluster.h"

namespace {

void StopRecorded(const std::filesystem::path& dir) {
  std::ifstream in(dir / "cluster");
  std::string cluster;
  std::getline(in, cluster);
  if (!cluster.empty()) {
    boardsync::PgCluster::StopDir(cluster);
  }
  std::filesystem::remove(dir / "cluster");
  std::filesystem::remove(dir / "url");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::cerr << "usage: boardsync-test-pg start|stop DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[2];
  try {
    std::filesystem::create_directories(dir);
    StopRecorded(dir);
    if (std::string(argv[1]) == "stop") {
      return 0;
    }
    auto cluster = boardsync::PgCluster::Start();
    cluster->Release();
    std::ofstream(dir / "cluster") << cluster->dir().string() << "\n";
    // Written last, whole, under another name first: a test never reads
    // half a URL.
    std::ofstream(dir / "url.tmp") << cluster->admin_url() << "\n";
    std::filesystem::rename(dir / "url.tmp", dir / "url");
    std::cout << "PostgreSQL test cluster on 127.0.0.1:" << cluster->port() << " in "
              << cluster->dir().string() << "\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}

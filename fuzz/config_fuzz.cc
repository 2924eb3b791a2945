// Fuzzes the config parser: any bytes as the text of a config file. It must
// answer with a Config or with Diagnostics; crashes and sanitizer reports are
// the findings. Nothing is read from disk (ParseConfig takes the text), but
// the text goes through the same limits as a file LoadConfig reads: CheckYaml()
// (mappings/yaml_file.h) bounds its size and aliases and finds repeated keys.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace boardsync;
  auto config = ParseConfig(std::string_view(reinterpret_cast<const char*>(data), size),
                            "/etc/boardsync/boardsync.yaml");
  if (!config) {
    for (const Diagnostic& d : config.error()) {
      (void)d.ToString();
    }
    return 0;
  }
  for (const ConnectionConfig& c : config->connections) {
    (void)config->FindConnection(c.name);
    (void)c.where.ToString();
  }
  return 0;
}

#include "core/redact.h"

#include <mutex>
#include <utility>
#include <vector>

namespace boardsync {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> secrets;  // secret, replacement
};

Registry& TheRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace

void RegisterSecret(std::string_view secret, std::string replacement) {
  if (secret.empty()) {
    return;
  }
  Registry& r = TheRegistry();
  std::lock_guard lock(r.mu);
  for (auto& [s, shown] : r.secrets) {
    if (s == secret) {
      shown = std::move(replacement);  // the latest word on what may show
      return;
    }
  }
  r.secrets.emplace_back(std::string(secret), std::move(replacement));
}

std::string Redact(std::string_view text) {
  std::string out(text);
  Registry& r = TheRegistry();
  std::lock_guard lock(r.mu);
  for (const auto& [secret, replacement] : r.secrets) {
    for (auto pos = out.find(secret); pos != std::string::npos;
         pos = out.find(secret, pos + replacement.size())) {
      out.replace(pos, secret.size(), replacement);
    }
  }
  return out;
}

}  // namespace boardsync

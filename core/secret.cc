#include "core/secret.h"

#include "core/redact.h"

namespace boardsync {
namespace {

// A part shorter than this is not registered on its own: it would hide
// ordinary words, and the whole token still is.
constexpr std::size_t kMinSecretPart = 6;

}  // namespace

Secret::Secret(std::string value) : value_(std::move(value)) {
  RegisterSecret(value_, Redacted());
  // The secret part alone too: a server may echo the token percent-encoded
  // or cut short, and the part after the last '.' is what must not show.
  if (auto dot = value_.rfind('.');
      dot != std::string::npos && value_.size() - dot - 1 >= kMinSecretPart) {
    RegisterSecret(std::string_view(value_).substr(dot + 1), "…");
  }
}

std::string Secret::Redacted() const {
  // YouTrack permanent tokens are "perm:<base64 login>.<base64 name or id>.<secret>";
  // the login part tells an operator whose token it is and is not secret.
  if (value_.starts_with("perm:") || value_.starts_with("perm-")) {
    auto dot = value_.find('.');
    if (dot != std::string::npos && dot + 1 < value_.size()) {
      return value_.substr(0, dot + 1) + "…";
    }
  }
  return "…";
}

}  // namespace boardsync

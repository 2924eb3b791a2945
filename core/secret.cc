#include "core/secret.h"

#include "core/redact.h"

namespace boardsync {
namespace {

// A part shorter than this is not registered on its own: it would hide
// ordinary words, and the whole token still is.
constexpr std::size_t kMinSecretPart = 6;

}  // namespace

Secret::Secret(std::string value, std::size_t shown)
    : value_(std::move(value)), shown_(shown < value_.size() ? shown : 0) {
  RegisterSecret(value_, Redacted());
  // The part after the last '.' alone too, where a token has one: a server
  // may echo the token percent-encoded or cut short, and with dotted tokens
  // (YouTrack's, JWTs) the last part is the secret one.
  if (auto dot = value_.rfind('.');
      dot != std::string::npos && value_.size() - dot - 1 >= kMinSecretPart) {
    RegisterSecret(std::string_view(value_).substr(dot + 1), "…");
  }
}

std::string Secret::Redacted() const { return value_.substr(0, shown_) + "…"; }

}  // namespace boardsync

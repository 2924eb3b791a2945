// The process-wide list of secrets that must never be printed. Log output and
// error messages pass through Redact() on their way out. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace boardsync {

// Adds `secret` to the list, whatever its length: a secret is never shown,
// even a short one. Keeping short secrets from existing is the readers' job
// (tokens under 8 characters are refused, daemon/token.h). An empty one is
// ignored; one already listed gets `replacement` as its new replacement.
void RegisterSecret(std::string_view secret, std::string replacement);

// `text` with every registered secret replaced by its replacement.
std::string Redact(std::string_view text);

}  // namespace boardsync

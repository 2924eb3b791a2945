// The process-wide list of secrets that must never be printed. Log output and
// error messages pass through Redact() on their way out. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace boardsync {

// Adds `secret` to the list. Secrets shorter than 6 bytes are ignored (they
// would redact ordinary words).
void RegisterSecret(std::string_view secret, std::string replacement);

// `text` with every registered secret replaced by its replacement.
std::string Redact(std::string_view text);

}  // namespace boardsync

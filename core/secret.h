// Secret: a token held in memory. It has no stream operator and no implicit
// conversion, so it cannot end up in a message by accident; Reveal() is for
// the one place that puts it on the wire. Every Secret constructed registers
// itself with the redaction list (core/redact.h), so text that reaches output
// through any path has the token replaced.
#pragma once

#include <cstddef>
#include <string>

namespace boardsync {

class Secret {
 public:
  Secret() = default;
  // `shown`: how many leading characters name the token's owner and are no
  // secret (a YouTrack token's "perm:<login>."; its connector says, see
  // TrackerType::token_shown). A later Secret of the same value with another
  // `shown` changes how the value is redacted everywhere.
  explicit Secret(std::string value, std::size_t shown = 0);

  bool empty() const { return value_.empty(); }
  const std::string& Reveal() const { return value_; }
  // What may be shown: the first `shown` characters and "…" ("perm:cm9vdA==.…"),
  // or "…".
  std::string Redacted() const;

 private:
  std::string value_;
  std::size_t shown_ = 0;
};

}  // namespace boardsync

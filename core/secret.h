// Secret: a token held in memory. It has no stream operator and no implicit
// conversion, so it cannot end up in a message by accident; Reveal() is for
// the one place that puts it on the wire. Every Secret constructed registers
// itself with the redaction list (core/redact.h), so text that reaches output
// through any path has the token replaced.
#pragma once

#include <string>

namespace boardsync {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value);

  bool empty() const { return value_.empty(); }
  const std::string& Reveal() const { return value_; }
  // What may be shown: the owner part of a YouTrack token ("perm:cm9vdA==.…"),
  // otherwise "…".
  std::string Redacted() const;

 private:
  std::string value_;
};

}  // namespace boardsync

// Diagnostic: one problem in a file an operator wrote (config or mapping),
// with its place. Parsers collect all of them rather than stopping at the first.
#pragma once

#include <string>
#include <vector>

namespace boardsync {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no place in the file
  int column = 0;  // 1-based
  std::string message;

  // "file:line:column: message", or "file: message" without a place.
  std::string ToString() const {
    if (line <= 0) {
      return file + ": " + message;
    }
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
  }
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace boardsync

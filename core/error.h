// Error and Result: how failures cross module boundaries.
// Remote data and I/O failures are values (Result<T>); broken invariants abort.
// Third-party exceptions are caught in the adapter that calls the library and
// turned into an Error here.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace boardsync {

enum class ErrorCode {
  kConfig,        // a config or mapping file is wrong; fix the file
  kAuth,          // token missing, invalid, revoked, or without access
  kRateLimited,   // the remote asked us to slow down
  kUnavailable,   // network error, timeout, 5xx: try again later
  kBadResponse,   // the remote answered something we cannot read
  kStorage,       // a local database failed
  kMapping,       // one issue could not be mapped
  kLocked,        // another process holds the state directory
  kUntrusted,     // a state directory or file boardsync must not use as it is (another
                  // owner, writable by others, a symbolic link); fix the setup
  kCancelled,     // stopped on request
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // one sentence; never contains a secret
  bool retriable = false;

  // Prefixes the message with context, e.g. "connection acme-yt: ".
  Error Wrap(std::string_view context) const& {
    return Error{code, std::string(context) + ": " + message, retriable};
  }
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message, bool retriable = false) {
  return std::unexpected(Error{code, std::move(message), retriable});
}

}  // namespace boardsync

// URL parsing and building, enough for the http(s) URLs of trackers and
// board stores. Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace boardsync {

struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case; IPv6 without brackets
  std::uint16_t port = 0;  // explicit or the scheme's default
  std::string path;    // starts with "/" (may be just "/"), still encoded
  std::string query;   // without "?"; empty when none
  std::string fragment;

  // "https://host:port" with the port only when not the default.
  std::string Origin() const;
  bool SameOrigin(const Url& other) const {
    return scheme == other.scheme && host == other.host && port == other.port;
  }
};

// Parses an absolute http(s) URL. Errors name what is wrong. An IPv6 host
// must be in brackets and be an address (no zone); no other host has a ':'.
// A URL with a user name or password (HasUserInfo()) is refused first, and
// the error does not repeat it: what it holds may be a secret.
Result<Url> ParseUrl(std::string_view text);

// Whether the authority of `text` (after "://", else from the start, up to
// the next '/', '?' or '#') holds a user name or password: an '@'.
bool HasUserInfo(std::string_view text);

// Resolves a Location header value against `base`.
Result<Url> ResolveUrl(const Url& base, std::string_view reference);

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string PercentEncode(std::string_view text);
// Decodes %XX and, when `plus_is_space`, '+'. Invalid escapes are kept as is.
std::string PercentDecode(std::string_view text, bool plus_is_space = false);

// Whether `host` (as in Url::host: IPv6 without brackets) names the loopback
// interface by itself, so that plain http to it never leaves the machine:
// the exact name "localhost" (any case, no trailing dot), an address of
// 127.0.0.0/8 in full dotted-decimal form ("127.0.0.1", not "127.1" or
// "0x7f.0.0.1", which resolvers read in more than one way), or the IPv6
// address ::1 however written ("0:0:0:0:0:0:0:1"). Names that merely start
// like one ("127.0.0.1.nip.io", "localhost.evil") and IPv4-mapped addresses
// ("::ffff:127.0.0.1") are not loopback.
bool IsLoopbackHost(std::string_view host);

}  // namespace boardsync

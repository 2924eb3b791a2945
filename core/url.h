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

// Parses an absolute http(s) URL. Errors name what is wrong.
Result<Url> ParseUrl(std::string_view text);

// Resolves a Location header value against `base`.
Result<Url> ResolveUrl(const Url& base, std::string_view reference);

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string PercentEncode(std::string_view text);
// Decodes %XX and, when `plus_is_space`, '+'. Invalid escapes are kept as is.
std::string PercentDecode(std::string_view text, bool plus_is_space = false);

// True for localhost, 127.0.0.0/8 and ::1.
bool IsLoopbackHost(std::string_view host);

}  // namespace boardsync

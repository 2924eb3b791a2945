#include "core/text.h"
#include "core/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cstring>
#include <optional>

namespace boardsync {
namespace {

std::uint16_t DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// The 16 bytes of the IPv6 address `text` (no brackets, no zone), if it is one.
std::optional<in6_addr> ParseIpv6(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  std::string copy(text);  // inet_pton wants a NUL-terminated string
  in6_addr address{};
  if (::inet_pton(AF_INET6, copy.c_str(), &address) != 1) {
    return std::nullopt;
  }
  return address;
}

// The first byte of `text` when it is an IPv4 address in full dotted-decimal
// form: four parts of 1 to 3 digits, each at most 255, no leading zeros. The
// resolver also reads "127.1", "0x7f.0.0.1", "2130706433" and "0177.0.0.1"
// (octal) as addresses, and "0127.0.0.1" as 87.0.0.1, so anything but the
// plain form is not taken for an address here.
std::optional<int> DottedQuadFirstByte(std::string_view text) {
  int first = -1;
  for (int part = 0; part < 4; ++part) {
    auto dot = text.find('.');
    if ((part < 3) != (dot != std::string_view::npos)) {
      return std::nullopt;
    }
    std::string_view digits = text.substr(0, dot);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0') ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    int value = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (value > 255) {
      return std::nullopt;
    }
    if (part == 0) {
      first = value;
    }
    text = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  }
  return first;
}

}  // namespace

std::string Url::Origin() const {
  std::string out = scheme + "://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != DefaultPort(scheme)) {
    out += ":" + std::to_string(port);
  }
  return out;
}

Result<Url> ParseUrl(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kConfig, "invalid URL \"" + std::string(text) + "\": " + std::string(why));
  };
  if (HasUserInfo(text)) {
    return Fail(ErrorCode::kConfig,
                "invalid URL (not repeated here): user names and passwords do not belong in it");
  }
  auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    return bad("it must start with https:// or http://");
  }
  Url url;
  url.scheme = AsciiLower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    return bad("only http and https are supported");
  }
  std::string_view rest = text.substr(sep + 3);
  auto hash = rest.find('#');
  if (hash != std::string_view::npos) {
    url.fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  auto question = rest.find('?');
  if (question != std::string_view::npos) {
    url.query = std::string(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view port_text;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return bad("unclosed [ in the host");
    }
    url.host = AsciiLower(authority.substr(1, close - 1));
    if (!ParseIpv6(url.host)) {
      return bad("the text in [ ] is not an IPv6 address");
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return bad("unexpected text after the host");
      }
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    url.host = AsciiLower(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
    }
    if (url.host.find(':') != std::string::npos) {
      return bad("an IPv6 address must be in brackets, e.g. http://[::1]:8080");
    }
  }
  if (url.host.empty()) {
    return bad("the host is missing");
  }
  url.port = DefaultPort(url.scheme);
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return bad("the port is not a number from 1 to 65535");
    }
    url.port = static_cast<std::uint16_t>(port);
  }
  return url;
}

Result<Url> ResolveUrl(const Url& base, std::string_view reference) {
  if (reference.find("://") != std::string_view::npos) {
    return ParseUrl(reference);
  }
  if (reference.starts_with("//")) {
    return ParseUrl(base.scheme + ":" + std::string(reference));
  }
  std::string path;
  if (reference.starts_with("/")) {
    path = std::string(reference);
  } else {
    auto last = base.path.rfind('/');
    path = base.path.substr(0, last + 1) + std::string(reference);
  }
  return ParseUrl(base.Origin() + path);
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool HasUserInfo(std::string_view text) {
  const auto scheme_end = text.find("://");
  const std::size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const std::string_view authority = text.substr(start, text.find_first_of("/?#", start) - start);
  return authority.find('@') != std::string_view::npos;
}

bool IsLoopbackHost(std::string_view host) {
  if (AsciiLower(host) == "localhost") {
    return true;
  }
  if (auto first = DottedQuadFirstByte(host)) {
    return *first == 127;
  }
  auto v6 = ParseIpv6(host);
  return v6 && std::memcmp(&*v6, &in6addr_loopback, sizeof(in6_addr)) == 0;
}

}  // namespace boardsync

#include "core/text.h"

#include <array>
#include <bit>
#include <cctype>
#include <cstddef>
#include <cstdio>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace boardsync {
namespace {

// What a byte may start (Unicode Table 3-7): the length of the sequence and
// the range of its second byte, which is 80..BF but for E0 (no overlongs),
// ED (no surrogates), F0 (no overlongs) and F4 (nothing above U+10FFFF).
// Length 0: the byte starts nothing (80..BF continue, C0, C1 and F5..FF
// could only start overlongs or code points above U+10FFFF). Four bytes,
// so that finding one is a shift.
struct Lead {
  std::uint8_t length = 0;
  std::uint8_t second_low = 0;
  std::uint8_t second_span = 0;  // the range is second_low .. second_low + second_span
  std::uint8_t unused = 0;

  bool SecondFits(unsigned char second) const {
    return static_cast<unsigned char>(second - second_low) <= second_span;
  }
};

constexpr std::array<Lead, 256> kLeads = [] {
  std::array<Lead, 256> leads{};
  for (int b = 0; b < 0x80; ++b) {
    leads[b] = {1, 0, 0xFF};
  }
  for (int b = 0xC2; b <= 0xDF; ++b) {
    leads[b] = {2, 0x80, 0x3F};
  }
  for (int b = 0xE0; b <= 0xEF; ++b) {
    leads[b] = {3, 0x80, 0x3F};
  }
  for (int b = 0xF0; b <= 0xF4; ++b) {
    leads[b] = {4, 0x80, 0x3F};
  }
  leads[0xE0] = {3, 0xA0, 0x1F};  // A0..BF
  leads[0xED] = {3, 0x80, 0x1F};  // 80..9F
  leads[0xF0] = {4, 0x90, 0x2F};  // 90..BF
  leads[0xF4] = {4, 0x80, 0x0F};  // 80..8F
  return leads;
}();

constexpr bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the well-formed sequence at `p`, or 0 when it is ill-formed.
std::size_t WellFormedAt(const unsigned char* p, const unsigned char* end) {
  const Lead lead = kLeads[*p];
  if (lead.length == 0 || end - p < lead.length) {
    return 0;
  }
  if (lead.length > 1 && !lead.SecondFits(p[1])) {
    return 0;
  }
  for (std::size_t i = 2; i < lead.length; ++i) {
    if (!IsContinuation(p[i])) {
      return 0;
    }
  }
  return lead.length;
}

// The length of the longest well-formed prefix of [begin, end).
std::size_t WellFormedPrefix(const unsigned char* begin, const unsigned char* end) {
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  const unsigned char* p = begin;
  while (p != end) {
    if (*p < 0x80) {
      // ASCII, up to the next other byte in one step from here, 8 bytes at a time.
      if (std::endian::native == std::endian::little && end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        std::uint64_t high = w & kHighBits;
        p += high == 0 ? 8 : std::countr_zero(high) / 8;
      } else {
        ++p;
      }
      continue;
    }
    const std::size_t length = WellFormedAt(p, end);
    if (length == 0) {
      break;
    }
    p += length;
  }
  return static_cast<std::size_t>(p - begin);
}

// The length of the maximal subpart at `p`: the lead byte and the bytes
// after it that could still have continued it, or 1 when *p leads nothing.
// REQUIRES: [p, end) starts with an ill-formed sequence.
std::size_t MaximalSubpart(const unsigned char* p, const unsigned char* end) {
  const Lead lead = kLeads[*p];
  if (lead.length == 0 || end - p < 2 || !lead.SecondFits(p[1])) {
    return 1;
  }
  std::size_t length = 2;
  while (length < lead.length && end - p > static_cast<std::ptrdiff_t>(length) &&
         IsContinuation(p[length])) {
    ++length;
  }
  return length;
}

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::uint64_t Fnv1a64(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string Fnv1a64Hex(std::string_view text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(Fnv1a64(text)));
  return buf;
}

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool IsValidUtf8(std::string_view text) {
  return WellFormedPrefix(Bytes(text), Bytes(text) + text.size()) == text.size();
}

void AppendRepairedUtf8(std::string& out, std::string_view text) {
  const unsigned char* p = Bytes(text);
  const unsigned char* const end = p + text.size();
  while (true) {
    std::size_t good = WellFormedPrefix(p, end);
    out.append(reinterpret_cast<const char*>(p), good);
    p += good;
    if (p == end) {
      return;
    }
    out.append(kReplacementCharacter);
    p += MaximalSubpart(p, end);
  }
}

namespace {

// Code points that reorder or break the text around them when shown.
bool IsDisplayEscaped(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
}

char32_t Decode(const unsigned char* p, std::size_t length) {
  static constexpr unsigned char kLeadMask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  char32_t c = p[0] & kLeadMask[length];
  for (std::size_t i = 1; i < length; ++i) {
    c = (c << 6) | (p[i] & 0x3F);
  }
  return c;
}

}  // namespace

std::string ForDisplay(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  const unsigned char* p = Bytes(text);
  const unsigned char* const end = p + text.size();
  while (p != end) {
    const unsigned char b = *p;
    if (b >= 0x20 && b < 0x7F) {
      if (b == '\\') {
        out += "\\\\";
      } else {
        out.push_back(static_cast<char>(b));
      }
      ++p;
      continue;
    }
    if (b < 0x80) {
      switch (b) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\x";
          out.push_back(kHex[b >> 4]);
          out.push_back(kHex[b & 0xF]);
      }
      ++p;
      continue;
    }
    const std::size_t length = WellFormedAt(p, end);
    if (length == 0) {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
      ++p;
      continue;
    }
    const char32_t c = Decode(p, length);
    if (IsDisplayEscaped(c)) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) {
        out.push_back(kHex[(c >> shift) & 0xF]);
      }
    } else {
      out.append(reinterpret_cast<const char*>(p), length);
    }
    p += length;
  }
  return out;
}

namespace {

// For 8 bytes loaded little-endian: a mask whose lowest set bit is the high
// bit of the first byte that is '"', '\\' or below 0x20, or 0. The classic
// "has zero byte" tests; they can flag bytes above a true hit (a borrow runs
// upwards) but never below one, so the lowest bit is exact.
constexpr std::uint64_t JsonStops(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  auto zero_bytes = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  return zero_bytes(w ^ (kOnes * '"')) | zero_bytes(w ^ (kOnes * '\\')) | below_space;
}

constexpr bool IsJsonStop(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

}  // namespace

const char* FindJsonStringStop(const char* p, const char* end, bool* not_ascii) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  // A signed compare after flipping the top bit: unsigned c < 0x20.
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i space = _mm_set1_epi8(static_cast<char>(0x20 ^ 0x80));
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmplt_epi8(_mm_xor_si128(v, flip), space));
    const auto stops = static_cast<unsigned>(_mm_movemask_epi8(hits));
    const auto highs = static_cast<unsigned>(_mm_movemask_epi8(v));
    if (stops != 0) {
      if ((highs & ((stops & -stops) - 1)) != 0) {  // before the first stop
        *not_ascii = true;
      }
      return p + std::countr_zero(stops);
    }
    if (highs != 0) {
      *not_ascii = true;
    }
    p += 16;
  }
#endif
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  std::uint64_t all = 0;  // the bytes passed, OR-ed together
  if constexpr (std::endian::native == std::endian::little) {
    while (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if (std::uint64_t stops = JsonStops(w); stops != 0) {
        all |= w & ((stops & -stops) - 1);
        p += std::countr_zero(stops) / 8;
        if ((all & kHigh) != 0) {
          *not_ascii = true;
        }
        return p;
      }
      all |= w;
      p += 8;
    }
  }
  for (; p != end && !IsJsonStop(static_cast<unsigned char>(*p)); ++p) {
    all |= static_cast<unsigned char>(*p);
  }
  if ((all & kHigh) != 0) {
    *not_ascii = true;
  }
  return p;
}

}  // namespace boardsync

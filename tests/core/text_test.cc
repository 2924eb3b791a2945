#include "core/text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace boardsync {
namespace {

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

std::string Repaired(std::string_view text) {
  std::string out;
  AppendRepairedUtf8(out, text);
  return out;
}

// `n` U+FFFD in a row.
std::string Fffd(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += kFffd;
  }
  return out;
}

std::string Utf8(std::uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

// An independent statement of the rule, to compare against: the first `k`
// bytes of a sequence at `p` are the start of some well-formed sequence when
// the code points they could still become (the rest filled with 80..BF)
// include a scalar value that needs exactly that many bytes. The lead byte
// says the length by its high bits alone, C0, C1 and F5..F7 included.
bool CouldStillBeWellFormed(const unsigned char* p, int k) {
  int length = p[0] >= 0xF0 && p[0] <= 0xF7   ? 4
               : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
               : p[0] >= 0xC0 && p[0] <= 0xDF ? 2
                                              : 0;
  if (length == 0 || k > length) {
    return false;
  }
  std::uint32_t low = p[0] & (0x7F >> length);
  std::uint32_t high = low;
  for (int i = 1; i < length; ++i) {
    if (i < k && (p[i] & 0xC0) != 0x80) {
      return false;
    }
    low = low << 6 | (i < k ? p[i] & 0x3F : 0x00);
    high = high << 6 | (i < k ? p[i] & 0x3F : 0x3F);
  }
  const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  const std::uint32_t largest[] = {0, 0, 0x7FF, 0xFFFF, 0x10FFFF};
  low = std::max(low, smallest[length]);
  high = std::min(high, largest[length]);
  if (low > high) {
    return false;
  }
  return !(low >= 0xD800 && high <= 0xDFFF);  // not only surrogates
}

// Repair by that rule: a well-formed sequence is kept; otherwise the longest
// start that could still have become one (at least the byte) is one U+FFFD.
std::string ReferenceRepair(std::string_view text) {
  auto p = reinterpret_cast<const unsigned char*>(text.data());
  const int size = static_cast<int>(text.size());
  std::string out;
  for (int i = 0; i < size;) {
    if (p[i] < 0x80) {
      out.push_back(static_cast<char>(p[i++]));
      continue;
    }
    int k = 1;
    while (i + k < size && k < 4 && CouldStillBeWellFormed(p + i, k + 1)) {
      ++k;
    }
    int length = p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : 2;
    if (k == length && CouldStillBeWellFormed(p + i, k)) {
      out.append(text.substr(i, k));
    } else {
      out += kFffd;
    }
    i += k;
  }
  return out;
}

TEST(Utf8Test, WellFormedTextIsValidAndKeptAsIs) {
  for (std::string_view text :
       {std::string_view(""), std::string_view("plain ASCII, long enough for a word or two"),
        std::string_view("nul \0 inside", 12),
        std::string_view("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
        std::string_view("\xEF\xBB\xBF BOM"), kFffd}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
    EXPECT_EQ(Repaired(text), text);
  }
  // Every scalar value, alone and between ASCII.
  for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp == 0xD800) {
      cp = 0xE000;
    }
    std::string one = Utf8(cp);
    ASSERT_TRUE(IsValidUtf8(one)) << std::hex << cp;
    ASSERT_EQ(Repaired("ab" + one + "cdefghij"), "ab" + one + "cdefghij") << std::hex << cp;
  }
}

TEST(Utf8Test, EachKindOfIllFormedSequenceIsInvalid) {
  const char* const kinds[][3] = {
      {"\x80", "\xBF", "a\x80z"},                                    // stray continuation bytes
      {"\xC3", "\xE2\x82", "\xF0\x9F\x98"},                          // truncated at the end
      {"\xC3z", "\xE2\x82z", "\xF0\x9F\x98z"},                       // truncated before ASCII
      {"\xC0\x80", "\xC1\xBF", "\xE0\x9F\xBF"},                      // overlong: C0, C1, 3 bytes
      {"\xE0\x80\x80", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF"},      // overlong: 3, 4 bytes
      {"\xED\xA0\x80", "\xED\xBF\xBF", "\xED\xA0\xBD\xED\xB8\x80"},  // surrogates, CESU-8
      {"\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF7\xBF\xBF\xBF"},  // above U+10FFFF
      {"\xF8\x88\x80\x80\x80", "\xFE", "\xFF"},                      // bytes that are never UTF-8
  };
  for (const auto& kind : kinds) {
    for (std::string_view text : kind) {
      EXPECT_FALSE(IsValidUtf8(text)) << testing::PrintToString(text);
      EXPECT_FALSE(IsValidUtf8("well-formed prefix " + std::string(text)));
    }
  }
}

TEST(Utf8Test, RepairReplacesEachMaximalSubpart) {
  // The examples of Unicode §3.9, "U+FFFD Substitution of Maximal Subparts".
  // Non-shortest forms:
  EXPECT_EQ(Repaired("\xC0\xAF\xE0\x80\xBF\xF0\x81\x82\x41"), Fffd(8) + "A");
  // Surrogates:
  EXPECT_EQ(Repaired("\xED\xA0\x80\xED\xBF\xBF\xED\xAF\x41"), Fffd(8) + "A");
  // Other ill-formed sequences:
  EXPECT_EQ(Repaired("\xF4\x91\x92\x93\xFF\x41\x80\xBF\x42"), Fffd(5) + "A" + Fffd(2) + "B");
  // Truncated sequences:
  EXPECT_EQ(Repaired("\xE1\x80\xE2\xF0\x91\x92\xF1\xBF\x41"), Fffd(4) + "A");
  // The example in text.h.
  EXPECT_EQ(Repaired("a\xF1\x80\x80\xE1\x80\xC2z"), "a" + Fffd(3) + "z");

  EXPECT_EQ(Repaired("\x80\x80"), Fffd(2));
  EXPECT_EQ(Repaired("\xC3"), Fffd(1));
  EXPECT_EQ(Repaired("x\xE2\x82"), "x" + Fffd(1));  // one, however far it got
  EXPECT_EQ(Repaired("\xF0\x9F\x98\xC3\xA9"), Fffd(1) + "\xC3\xA9");
  EXPECT_EQ(Repaired("\xC3\xC3\xA9"), Fffd(1) + "\xC3\xA9");
  EXPECT_EQ(Repaired("\xE0\x80\x80"), Fffd(3));  // E0 cannot be followed by 80
  // U+10FFFF, then what would be above it.
  EXPECT_EQ(Repaired("\xF4\x8F\xBF\xBF\xF4\x90"), "\xF4\x8F\xBF\xBF" + Fffd(2));
  EXPECT_EQ(Repaired("\xC0\x80"), Fffd(2));
  EXPECT_EQ(Repaired("\xFF\xFE"), Fffd(2));
  // Appends: what `out` holds stays.
  std::string out = "kept ";
  AppendRepairedUtf8(out, "\xFFok");
  EXPECT_EQ(out, "kept " + Fffd(1) + "ok");
}

TEST(Utf8Test, RepairAgreesWithTheRuleOnEveryShortString) {
  // Every string of up to 4 bytes over the bytes where the rule turns (the
  // edges of every range in Table 3-7), then every 2-byte string.
  const unsigned char edges[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF};
  std::string text;
  auto check = [&text] {
    std::string repaired = Repaired(text);
    ASSERT_EQ(repaired, ReferenceRepair(text)) << testing::PrintToString(text);
    ASSERT_TRUE(IsValidUtf8(repaired)) << testing::PrintToString(text);
    ASSERT_EQ(IsValidUtf8(text), repaired == text) << testing::PrintToString(text);
  };
  for (unsigned char a : edges) {
    for (unsigned char b : edges) {
      for (unsigned char c : edges) {
        for (unsigned char d : edges) {
          text = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                  static_cast<char>(d)};
          for (std::size_t size = 1; size <= 4; ++size) {
            text.resize(size);
            check();
          }
        }
      }
    }
  }
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      text = {static_cast<char>(a), static_cast<char>(b)};
      check();
    }
  }
}

TEST(Utf8Test, RepairedArbitraryBytesAreValid) {
  // Long random strings, so the 8-byte ASCII steps meet bad bytes at every
  // offset; mostly ASCII with some of every other byte.
  std::mt19937 rng(7);
  for (int round = 0; round < 20'000; ++round) {
    std::string text(rng() % 64, '\0');
    for (char& c : text) {
      std::uint32_t r = rng();
      c = static_cast<char>(r % 4 == 0 ? r >> 8 : 0x20 + (r >> 8) % 0x5F);
    }
    std::string repaired = Repaired(text);
    ASSERT_EQ(repaired, ReferenceRepair(text)) << testing::PrintToString(text);
    ASSERT_TRUE(IsValidUtf8(repaired));
  }
}

// Whether `shown` holds anything a terminal would act on: a C0 control or DEL,
// a C1 control or a bidi/separator code point, or ill-formed UTF-8.
bool HasTerminalControl(std::string_view shown) {
  if (!IsValidUtf8(shown)) {
    return true;
  }
  for (std::size_t i = 0; i < shown.size(); ++i) {
    auto b = static_cast<unsigned char>(shown[i]);
    if (b < 0x20 || b == 0x7F) {
      return true;
    }
    if (b == 0xC2 && i + 1 < shown.size() && static_cast<unsigned char>(shown[i + 1]) <= 0x9F) {
      return true;  // U+0080..U+009F
    }
    if (b == 0xE2 && i + 2 < shown.size()) {
      auto b1 = static_cast<unsigned char>(shown[i + 1]);
      auto b2 = static_cast<unsigned char>(shown[i + 2]);
      if ((b1 == 0x80 && (b2 >= 0xA8 && b2 <= 0xAE)) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9)) {
        return true;  // U+2028..U+202E, U+2066..U+2069
      }
    }
  }
  return false;
}

TEST(ForDisplayTest, EscapesControlCharactersVisibly) {
  EXPECT_EQ(ForDisplay("plain text, ü and …"), "plain text, ü and …");
  EXPECT_EQ(ForDisplay("\x1b[2Jcleared"), "\\x1b[2Jcleared");
  EXPECT_EQ(ForDisplay("ring\a"), "ring\\x07");
  EXPECT_EQ(ForDisplay("a\rb\nc\td"), "a\\rb\\nc\\td");
  EXPECT_EQ(ForDisplay(std::string_view("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(ForDisplay("del\x7f"), "del\\x7f");
  EXPECT_EQ(ForDisplay("C:\\dir"), "C:\\\\dir");
  EXPECT_EQ(ForDisplay(""), "");
}

TEST(ForDisplayTest, EscapesC1AndBidiCodePoints) {
  EXPECT_EQ(ForDisplay("\xC2\x9B" "31m"), "\\u009b31m");  // CSI as a code point
  EXPECT_EQ(ForDisplay("\xC2\x85"), "\\u0085");           // NEL
  EXPECT_EQ(ForDisplay("\xC2\xA0"), "\xC2\xA0");          // NBSP is printable
  for (std::uint32_t cp : {0x202Au, 0x202Bu, 0x202Cu, 0x202Du, 0x202Eu, 0x2066u, 0x2067u,
                           0x2068u, 0x2069u, 0x2028u, 0x2029u}) {
    char expected[8];
    std::snprintf(expected, sizeof expected, "\\u%04x", cp);
    EXPECT_EQ(ForDisplay("a" + Utf8(cp) + "b"), "a" + std::string(expected) + "b") << cp;
  }
  EXPECT_EQ(ForDisplay(Utf8(0x2027) + Utf8(0x202F) + Utf8(0x2065) + Utf8(0x206A)),
            Utf8(0x2027) + Utf8(0x202F) + Utf8(0x2065) + Utf8(0x206A));
  EXPECT_EQ(ForDisplay("\xE2\x80\xAE" "fdp.exe"), "\\u202efdp.exe");
}

TEST(ForDisplayTest, EscapesEachByteThatIsNotUtf8) {
  EXPECT_EQ(ForDisplay("a\x9b" "b"), "a\\x9bb");  // a raw 8-bit CSI
  EXPECT_EQ(ForDisplay("\xE2\x80"), "\\xe2\\x80");
  EXPECT_EQ(ForDisplay("\xC0\xAF"), "\\xc0\\xaf");          // overlong
  EXPECT_EQ(ForDisplay("\xED\xA0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(ForDisplay("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
}

// A forged log line needs a line break; no form of one survives.
TEST(ForDisplayTest, NoLineCanBeForged) {
  std::string shown = ForDisplay("ok\n<0>boardsync: fake\r\n<3>x\xC2\x85<4>y\xE2\x80\xA8<5>z");
  EXPECT_EQ(shown.find('\n'), std::string::npos);
  EXPECT_EQ(shown.find('\r'), std::string::npos);
  EXPECT_FALSE(HasTerminalControl(shown));
  EXPECT_EQ(shown, "ok\\n<0>boardsync: fake\\r\\n<3>x\\u0085<4>y\\u2028<5>z");
}

TEST(ForDisplayTest, ArbitraryBytesComeOutWithoutTerminalControls) {
  std::mt19937 rng(20240614);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> size(0, 24);
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    for (int n = size(rng); n > 0; --n) {
      text.push_back(static_cast<char>(byte(rng)));
    }
    if (round % 3 == 0) {
      text += Utf8(0x202E) + "\xC2\x9B";
    }
    std::string shown = ForDisplay(text);
    ASSERT_FALSE(HasTerminalControl(shown)) << round;
    // Text with nothing to escape is shown as it is.
    if (!HasTerminalControl(text) && text.find('\\') == std::string::npos) {
      ASSERT_EQ(shown, text) << round;
    }
  }
}

}  // namespace
}  // namespace boardsync

namespace boardsync {
namespace {

// FindJsonStringStop() against a byte-at-a-time reading, for every stop
// position in and past each 8- and 16-byte step and with a byte that is not
// ASCII before, at and after the stop.
TEST(FindJsonStringStopTest, AgreesWithAPlainLoopAtEveryPosition) {
  auto plain = [](std::string_view s, bool& not_ascii) {
    std::size_t i = 0;
    for (; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == '"' || c == '\\') {
        break;
      }
      not_ascii = not_ascii || c >= 0x80;
    }
    return i;
  };
  for (char stop : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (std::size_t length = 0; length <= 40; ++length) {
      for (std::size_t at = 0; at <= length; ++at) {
        for (int high = -1; high <= static_cast<int>(length); ++high) {
          std::string s(length, 'a');
          if (at < length) {
            s[at] = stop;
          }
          if (high >= 0 && static_cast<std::size_t>(high) < length &&
              static_cast<std::size_t>(high) != at) {
            s[high] = '\xC3';
          }
          bool want_high = false;
          const std::size_t want = plain(s, want_high);
          bool got_high = false;
          const char* got = FindJsonStringStop(s.data(), s.data() + s.size(), &got_high);
          ASSERT_EQ(static_cast<std::size_t>(got - s.data()), want)
              << "length " << length << " stop at " << at << " high at " << high;
          ASSERT_EQ(got_high, want_high)
              << "length " << length << " stop at " << at << " high at " << high;
        }
      }
    }
  }
  // The bytes above 0x7f are content, never stops; 0x7f (DEL) too.
  const std::string upper = "\x7f\x80\xff\xc3\xa9\"";
  bool high = false;
  EXPECT_EQ(FindJsonStringStop(upper.data(), upper.data() + upper.size(), &high),
            upper.data() + 5);
  EXPECT_TRUE(high);
}

}  // namespace
}  // namespace boardsync

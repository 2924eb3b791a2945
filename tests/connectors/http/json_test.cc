#include "connectors/http/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "core/text.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

Value Parse(std::string_view text) {
  auto json = ParseJson(text);
  EXPECT_TRUE(json.has_value()) << (json ? "" : json.error().message) << "\nin: " << text;
  return json ? *json : Value("<parse failed>");
}

// The error message for `text`, which must be refused as a bad response.
std::string Refused(std::string_view text) {
  auto json = ParseJson(text);
  EXPECT_FALSE(json.has_value()) << "parsed to " << json->ToJson() << "\nin: " << text;
  if (json) {
    return "";
  }
  EXPECT_EQ(json.error().code, ErrorCode::kBadResponse);
  EXPECT_FALSE(json.error().retriable);
  return json.error().message;
}

// U+FFFD, `n` times.
std::string Fffd(int n = 1) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += kReplacementCharacter;
  }
  return out;
}

Value::Object Obj(std::initializer_list<std::pair<const char*, Value>> members) {
  Value::Object object;
  for (const auto& [key, value] : members) {
    object.emplace(key, value);
  }
  return object;
}

TEST(ParseJsonTest, Scalars) {
  EXPECT_EQ(Parse("null"), Value());
  EXPECT_EQ(Parse("true"), Value(true));
  EXPECT_EQ(Parse("false"), Value(false));
  EXPECT_EQ(Parse("\"\""), Value(""));
  EXPECT_EQ(Parse("\"abc\""), Value("abc"));
  EXPECT_EQ(Parse("0"), Value(0));
  EXPECT_EQ(Parse("42"), Value(42));
  EXPECT_EQ(Parse("-7"), Value(-7));
}

TEST(ParseJsonTest, ListsAndObjects) {
  EXPECT_EQ(Parse("[]"), Value(Value::List{}));
  EXPECT_EQ(Parse("{}"), Value(Value::Object{}));
  EXPECT_EQ(Parse("[1,\"a\",null,[true],{}]"),
            Value(Value::List{1, "a", nullptr, Value::List{true}, Value::Object{}}));
  Value v = Parse(R"({"b":{"c":[1,2]},"a":"x","$type":"Issue"})");
  EXPECT_EQ(v, Value(Obj({{"a", "x"},
                          {"b", Obj({{"c", Value::List{1, 2}}})},
                          {"$type", "Issue"}})));
  // Keys come out sorted whatever their order in the text.
  EXPECT_EQ(v.ToJson(), R"({"$type":"Issue","a":"x","b":{"c":[1,2]}})");
}

TEST(ParseJsonTest, DuplicateKeysKeepTheFirst) {
  EXPECT_EQ(Parse(R"({"a":1,"b":2,"a":3})").ToJson(), R"({"a":1,"b":2})");
  EXPECT_EQ(Parse(R"({"a":{"x":1},"a":null})").ToJson(), R"({"a":{"x":1}})");
  // A large object (sorted another way) in reverse key order, each key twice.
  std::string text = "{";
  std::string expected = "{";
  for (int i = 99; i >= 0; --i) {
    text += "\"k" + std::to_string(100 + i) + "\":" + std::to_string(i) + ",";
  }
  for (int i = 0; i < 100; ++i) {
    text += "\"k" + std::to_string(100 + i) + "\":-1" + (i == 99 ? "}" : ",");
    expected += "\"k" + std::to_string(100 + i) + "\":" + std::to_string(i) + (i == 99 ? "}" : ",");
  }
  EXPECT_EQ(Parse(text).ToJson(), expected);
}

TEST(ParseJsonTest, Whitespace) {
  EXPECT_EQ(Parse(" \t\r\n[ 1 , { \"a\" : 2 } ]\n\t "),
            Value(Value::List{1, Obj({{"a", 2}})}));
  EXPECT_EQ(Parse("\n\"s\"\n"), Value("s"));
}

TEST(ParseJsonTest, Escapes) {
  EXPECT_EQ(Parse(R"("\"\\\/\b\f\n\r\t")"), Value("\"\\/\b\f\n\r\t"));
  EXPECT_EQ(Parse(R"("a\u0041\u00e9\u20ac")"), Value("aA\xc3\xa9\xe2\x82\xac"));
  EXPECT_EQ(Parse(R"("\u00E9")"), Value("\xc3\xa9"));  // upper-case hex
  EXPECT_EQ(Parse(R"("\u0000")"), Value(std::string(1, '\0')));
  EXPECT_EQ(Parse(R"("\u001f\u007f\u0080\u07ff\u0800\uffff")"),
            Value("\x1f\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"));
  // Escapes between long runs of plain text (copied in bulk) and at the ends.
  std::string run(100, 'x');
  EXPECT_EQ(Parse("\"" + run + "\\n" + run + "\\u0041\""), Value(run + "\n" + run + "A"));
}

TEST(ParseJsonTest, StopsAtEveryPositionOfABlock) {
  // Plain text is scanned 8 bytes at a time; the quote, an escape or a
  // control character may sit at any byte of a block, after any other.
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    std::string x(i, 'x');
    EXPECT_EQ(Parse("\"" + x + "\""), Value(x));
    EXPECT_EQ(Parse("\"" + x + "\\\"" + x + "\\\\\""), Value(x + "\"" + x + "\\"));
    EXPECT_EQ(Parse("[\"" + x + "\xc3\xa9\"]"), Value(Value::List{x + "\xc3\xa9"}));
    EXPECT_EQ(Refused("\"" + x + "\x1f" + x + "\""),
              "malformed JSON: control character in string at byte " + std::to_string(i + 1));
    EXPECT_EQ(Refused("\"" + x + "\"\"" + x + "\""),
              "malformed JSON: unexpected text after the document at byte " +
                  std::to_string(i + 2));
    // Bytes just around the stops: ' ' (0x20), '!' (0x21), '#' (0x23), '[' and ']'.
    std::string near = x + " !#[]" + x;
    EXPECT_EQ(Parse("\"" + near + "\""), Value(near));
  }
}

TEST(ParseJsonTest, SurrogatePairs) {
  EXPECT_EQ(Parse(R"("\ud83d\ude00")"), Value("\xf0\x9f\x98\x80"));  // U+1F600
  EXPECT_EQ(Parse(R"("\uD800\uDC00")"), Value("\xf0\x90\x80\x80"));  // U+10000
  EXPECT_EQ(Parse(R"("\udbff\udfff")"), Value("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_EQ(Parse(R"("a\ud834\udd1eb")"), Value("a\xf0\x9d\x84\x9e" "b"));
}

TEST(ParseJsonTest, RawUtf8IsKept) {
  EXPECT_EQ(Parse("\"caf\xc3\xa9 \xf0\x9f\x98\x80\""), Value("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  // U+10FFFF, U+FFFD, U+D7FF, U+E000: the edges of what is well-formed.
  EXPECT_EQ(Parse("\"\xf4\x8f\xbf\xbf\xef\xbf\xbd\xed\x9f\xbf\xee\x80\x80\""),
            Value("\xf4\x8f\xbf\xbf\xef\xbf\xbd\xed\x9f\xbf\xee\x80\x80"));
  EXPECT_EQ(Parse("{\"\xe2\x82\xac\":\"\xc3\xa9\"}").ToJson(), "{\"\xe2\x82\xac\":\"\xc3\xa9\"}");
}

TEST(ParseJsonTest, InvalidBytesBecomeReplacementCharacters) {
  // One U+FFFD per maximal subpart (Unicode §3.9): a lead byte and what
  // could still have continued it count once, any other bad byte alone.
  struct Case {
    std::string_view raw;
    std::string repaired;
  };
  const Case cases[] = {
      {"\x80", Fffd()},  // stray continuation bytes
      {"a\xbf\x80z", "a" + Fffd(2) + "z"},
      {"\xc3", Fffd()},  // truncated, at the quote
      {"\xe2\x82", Fffd()},
      {"\xf0\x9f\x98", Fffd()},
      {"\xf0\x9f\x98z\xc3\xa9", Fffd() + "z\xc3\xa9"},  // truncated, then more
      {"\xe2\x82\xc3\xa9", Fffd() + "\xc3\xa9"},
      {"\xc0\xaf", Fffd(2)},  // overlongs
      {"\xc1\xbf", Fffd(2)},
      {"\xe0\x80\xaf", Fffd(3)},
      {"\xf0\x80\x80\xaf", Fffd(4)},
      {"\xed\xa0\x80", Fffd(3)},  // UTF-8-encoded surrogates
      {"\xed\xbf\xbf", Fffd(3)},
      {"\xed\xa0\xbd\xed\xb8\x80", Fffd(6)},  // a pair of them (CESU-8)
      {"\xf4\x90\x80\x80", Fffd(4)},          // above U+10FFFF
      {"\xf5\x80\x80\x80", Fffd(4)},          // F5..FF
      {"\xf8", Fffd()},
      {"\xfe\xff", Fffd(2)},
      {"\xe1\x80\xe2\xf0\x91\x92\xf1\xbfZ", Fffd(4) + "Z"},  // Unicode's truncated example
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::PrintToString(std::string(c.raw)));
    std::string raw(c.raw);
    EXPECT_EQ(Parse("\"" + raw + "\""), Value(c.repaired));
    // Next to escapes, in lists, and in member names.
    EXPECT_EQ(Parse("[\"\\n" + raw + "\\u00e9\"]"),
              Value(Value::List{"\n" + c.repaired + "\xc3\xa9"}));
    EXPECT_EQ(Parse("{\"k" + raw + "\":\"" + raw + "\"}"),
              Value(Obj({{("k" + c.repaired).c_str(), c.repaired}})));
  }
}

TEST(ParseJsonTest, InvalidBytesAreFoundAtEveryPositionOfABlock) {
  // Plain text is scanned 8 bytes at a time: a bad byte may sit at any byte
  // of a block, before or after a stop in the same block, or in the last
  // bytes of the input (scanned one at a time).
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    std::string x(i, 'x');
    EXPECT_EQ(Parse("\"" + x + "\xff\""), Value(x + Fffd()));
    EXPECT_EQ(Parse("\"" + x + "\xff" + x + "\""), Value(x + Fffd() + x));
    EXPECT_EQ(Parse("[\"" + x + "\",\"\xc3" + x + "\"]"), Value(Value::List{x, Fffd() + x}));
    EXPECT_EQ(Parse("\"" + x + "\\n\xed\xa0\x80" + x + "\""), Value(x + "\n" + Fffd(3) + x));
    // Well-formed text around a stop is kept, whichever side of it.
    EXPECT_EQ(Parse("[\"" + x + "\xc3\xa9\",\"\xc3\xa9" + x + "\"]"),
              Value(Value::List{x + "\xc3\xa9", "\xc3\xa9" + x}));
  }
}

TEST(ParseJsonTest, Int64Limits) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(Parse("9223372036854775807"), Value(kMax));
  EXPECT_EQ(Parse("-9223372036854775808"), Value(kMin));
  EXPECT_TRUE(Parse("9223372036854775807").IsInt());
  EXPECT_TRUE(Parse("-9223372036854775808").IsInt());
  EXPECT_TRUE(Parse("999999999999999999").IsInt());  // 18 digits
  EXPECT_TRUE(Parse("-1000000000000000000").IsInt());  // 19 digits
  // One beyond either end: a double.
  Value above = Parse("9223372036854775808");
  ASSERT_TRUE(above.IsDouble());
  EXPECT_EQ(above.AsDouble(), 9223372036854775808.0);
  Value below = Parse("-9223372036854775809");
  ASSERT_TRUE(below.IsDouble());
  EXPECT_EQ(below.AsDouble(), -9223372036854775808.0);
  // uint64 range and beyond, as before.
  EXPECT_EQ(Parse("18446744073709551615"), Value(18446744073709551615.0));
  EXPECT_EQ(Parse("123456789012345678901234567890"), Value(1.2345678901234568e29));
  EXPECT_EQ(Parse("-0"), Value(0));
  EXPECT_TRUE(Parse("-0").IsInt());
}

TEST(ParseJsonTest, Doubles) {
  EXPECT_EQ(Parse("0.5"), Value(0.5));
  EXPECT_EQ(Parse("-2.25"), Value(-2.25));
  EXPECT_EQ(Parse("9.0"), Value(9.0));
  EXPECT_TRUE(Parse("9.0").IsDouble());
  EXPECT_EQ(Parse("1e3"), Value(1000.0));
  EXPECT_TRUE(Parse("1e3").IsDouble());
  EXPECT_EQ(Parse("1E+3"), Value(1000.0));
  EXPECT_EQ(Parse("25e-1"), Value(2.5));
  EXPECT_EQ(Parse("1.5e3"), Value(1500.0));
  EXPECT_EQ(Parse("0.1"), Value(0.1));
  EXPECT_EQ(Parse("123.456e-7"), Value(123.456e-7));
  EXPECT_EQ(Parse("1.7976931348623157e308"), Value(1.7976931348623157e308));
  EXPECT_EQ(Parse("4.9e-324"), Value(4.9e-324));  // the smallest subnormal
  EXPECT_EQ(Parse("2.2250738585072014e-308"), Value(2.2250738585072014e-308));
  Value negative_zero = Parse("-0.0");
  ASSERT_TRUE(negative_zero.IsDouble());
  EXPECT_TRUE(std::signbit(negative_zero.AsDouble()));
  // Too small for a double: zero, as strtod would make it.
  EXPECT_EQ(Parse("1e-400"), Value(0.0));
  EXPECT_TRUE(std::signbit(Parse("-1e-400").AsDouble()));
  EXPECT_EQ(Parse("0.0000000000000000000001e-390"), Value(0.0));
  EXPECT_EQ(Parse("0e999999999999999999999"), Value(0.0));
}

TEST(ParseJsonTest, NumbersTooLargeForADoubleAreRefused) {
  EXPECT_EQ(Refused("1e999"), "malformed JSON: number out of range at byte 0");
  EXPECT_EQ(Refused("[-1e309]"), "malformed JSON: number out of range at byte 1");
  EXPECT_EQ(Refused("1.8e308"), "malformed JSON: number out of range at byte 0");
  // Big by its digits, not its exponent.
  EXPECT_EQ(Refused(std::string(400, '9') + "e-10"),
            "malformed JSON: number out of range at byte 0");
}

TEST(ParseJsonTest, MalformedNumbers) {
  EXPECT_EQ(Refused("01"), "malformed JSON: leading zero in number at byte 0");
  EXPECT_EQ(Refused("[-01]"), "malformed JSON: leading zero in number at byte 1");
  EXPECT_EQ(Refused("00"), "malformed JSON: leading zero in number at byte 0");
  EXPECT_EQ(Refused("+1"), "malformed JSON: expected a value at byte 0");
  EXPECT_EQ(Refused("-"), "malformed JSON: invalid number at byte 0");
  EXPECT_EQ(Refused("[-]"), "malformed JSON: invalid number at byte 1");
  EXPECT_EQ(Refused("-a"), "malformed JSON: invalid number at byte 0");
  EXPECT_EQ(Refused(".5"), "malformed JSON: expected a value at byte 0");
  EXPECT_EQ(Refused("1."), "malformed JSON: invalid number at byte 0");
  EXPECT_EQ(Refused("1.e5"), "malformed JSON: invalid number at byte 0");
  EXPECT_EQ(Refused("1e"), "malformed JSON: invalid number at byte 0");
  EXPECT_EQ(Refused("1e+"), "malformed JSON: invalid number at byte 0");
  EXPECT_EQ(Refused("--1"), "malformed JSON: invalid number at byte 0");
  EXPECT_EQ(Refused("NaN"), "malformed JSON: expected a value at byte 0");
  EXPECT_EQ(Refused("Infinity"), "malformed JSON: expected a value at byte 0");
  EXPECT_EQ(Refused("-Infinity"), "malformed JSON: invalid number at byte 0");
  EXPECT_EQ(Refused("0x10"), "malformed JSON: unexpected text after the document at byte 1");
  EXPECT_EQ(Refused("1.5.2"), "malformed JSON: unexpected text after the document at byte 3");
}

TEST(ParseJsonTest, MalformedStrings) {
  EXPECT_EQ(Refused("\"abc"), "malformed JSON: unterminated string at byte 0");
  EXPECT_EQ(Refused("[\"" + std::string(50, 'x')), "malformed JSON: unterminated string at byte 1");
  EXPECT_EQ(Refused("\"a\\"), "malformed JSON: unexpected end of input at byte 3");
  EXPECT_EQ(Refused("\"a\x01\""), "malformed JSON: control character in string at byte 2");
  EXPECT_EQ(Refused("\"a\nb\""), "malformed JSON: control character in string at byte 2");
  EXPECT_EQ(Refused("\"a\tb\""), "malformed JSON: control character in string at byte 2");
  EXPECT_EQ(Refused(std::string("\"a\0b\"", 5)),
            "malformed JSON: control character in string at byte 2");
  EXPECT_EQ(Refused(R"("\x")"), "malformed JSON: invalid escape at byte 1");
  EXPECT_EQ(Refused(R"("\U0041")"), "malformed JSON: invalid escape at byte 1");
  EXPECT_EQ(Refused(R"("\'")"), "malformed JSON: invalid escape at byte 1");
  EXPECT_EQ(Refused(R"("\u12")"), "malformed JSON: invalid \\u escape at byte 1");
  EXPECT_EQ(Refused(R"("\u12g4")"), "malformed JSON: invalid \\u escape at byte 1");
  EXPECT_EQ(Refused(R"("\u")"), "malformed JSON: invalid \\u escape at byte 1");
  EXPECT_EQ(Refused("'a'"), "malformed JSON: expected a value at byte 0");
}

TEST(ParseJsonTest, LoneSurrogatesBecomeReplacementCharacters) {
  // A high surrogate not followed at once by an escaped low one.
  EXPECT_EQ(Parse(R"("\ud800")"), Value(Fffd()));  // at the end of the string
  EXPECT_EQ(Parse(R"("\uDBFF")"), Value(Fffd()));
  EXPECT_EQ(Parse(R"("ab\ud800x")"), Value("ab" + Fffd() + "x"));
  EXPECT_EQ(Parse(R"("\ud800\u0041")"), Value(Fffd() + "A"));  // what follows is kept
  EXPECT_EQ(Parse(R"("\ud800\u0000")"), Value(Fffd() + std::string(1, '\0')));
  EXPECT_EQ(Parse(R"("\ud800\ufffd")"), Value(Fffd(2)));
  EXPECT_EQ(Parse(R"("\ud800\n")"), Value(Fffd() + "\n"));
  EXPECT_EQ(Parse(R"("\ud800\\udc00")"), Value(Fffd() + "\\udc00"));  // an escaped backslash
  EXPECT_EQ(Parse(R"("\ud800\"")"), Value(Fffd() + "\""));
  EXPECT_EQ(Parse(R"("\ud800\ud800")"), Value(Fffd(2)));
  EXPECT_EQ(Parse(R"("\ud800\ud800\udc00")"), Value(Fffd() + "\xf0\x90\x80\x80"));
  EXPECT_EQ(Parse("\"\\ud800\xc3\xa9\""), Value(Fffd() + "\xc3\xa9"));
  // A low surrogate alone, or first.
  EXPECT_EQ(Parse(R"("\udc00")"), Value(Fffd()));
  EXPECT_EQ(Parse(R"("x\uDFFFy")"), Value("x" + Fffd() + "y"));
  EXPECT_EQ(Parse(R"("\udfff\ud800")"), Value(Fffd(2)));
  EXPECT_EQ(Parse(R"("\udc00\ud800\udc00")"), Value(Fffd() + "\xf0\x90\x80\x80"));
  EXPECT_EQ(Parse(R"("\udc00\udc00")"), Value(Fffd(2)));
  // In member names too, and one bad string costs only its own characters.
  EXPECT_EQ(Parse(R"({"\udc00":1,"a\ud83d":2})"),
            Value(Obj({{Fffd().c_str(), 1}, {("a" + Fffd()).c_str(), 2}})));
  Value page = Parse(R"([{"summary":"ok"},{"summary":"bad \ud83d"},{"summary":"\ud83d\ude00"}])");
  ASSERT_TRUE(page.IsList());
  ASSERT_EQ(page.AsList().size(), 3u);
  EXPECT_EQ(page.AsList()[1].StringOr("summary"), "bad " + Fffd());
  EXPECT_EQ(page.AsList()[2].StringOr("summary"), "\xf0\x9f\x98\x80");
}

TEST(ParseJsonTest, MalformedEscapesAfterAHighSurrogateAreStillRefused) {
  EXPECT_EQ(Refused(R"("\ud800\u12")"), "malformed JSON: invalid \\u escape at byte 7");
  EXPECT_EQ(Refused(R"("\ud800\udcxx")"), "malformed JSON: invalid \\u escape at byte 7");
  EXPECT_EQ(Refused(R"("\ud800\x")"), "malformed JSON: invalid escape at byte 7");
  EXPECT_EQ(Refused(R"("\ud800\u")"), "malformed JSON: invalid \\u escape at byte 7");
  EXPECT_EQ(Refused("\"\\ud800"), "malformed JSON: unterminated string at byte 0");
  EXPECT_EQ(Refused("\"\\ud800\\"), "malformed JSON: unexpected end of input at byte 8");
  EXPECT_EQ(Refused("\"\\ud800\x01\""), "malformed JSON: control character in string at byte 7");
}

TEST(ParseJsonTest, MalformedLiterals) {
  EXPECT_EQ(Refused("tru"), "malformed JSON: invalid literal at byte 0");
  EXPECT_EQ(Refused("[nul]"), "malformed JSON: invalid literal at byte 1");
  EXPECT_EQ(Refused("True"), "malformed JSON: expected a value at byte 0");
  EXPECT_EQ(Refused("falsey"), "malformed JSON: unexpected text after the document at byte 5");
}

TEST(ParseJsonTest, MalformedStructure) {
  EXPECT_EQ(Refused(""), "malformed JSON: unexpected end of input at byte 0");
  EXPECT_EQ(Refused(" \n "), "malformed JSON: unexpected end of input at byte 3");
  EXPECT_EQ(Refused("["), "malformed JSON: unexpected end of input at byte 1");
  EXPECT_EQ(Refused("[1"), "malformed JSON: unexpected end of input at byte 2");
  EXPECT_EQ(Refused("[1,"), "malformed JSON: unexpected end of input at byte 3");
  EXPECT_EQ(Refused("{"), "malformed JSON: unexpected end of input at byte 1");
  EXPECT_EQ(Refused("{\"a\""), "malformed JSON: unexpected end of input at byte 4");
  EXPECT_EQ(Refused("{\"a\":"), "malformed JSON: unexpected end of input at byte 5");
  EXPECT_EQ(Refused("{\"a\":1"), "malformed JSON: unexpected end of input at byte 6");
  EXPECT_EQ(Refused("[1,]"), "malformed JSON: expected a value at byte 3");
  EXPECT_EQ(Refused("[,1]"), "malformed JSON: expected a value at byte 1");
  EXPECT_EQ(Refused("[1 2]"), "malformed JSON: expected ',' or ']' at byte 3");
  EXPECT_EQ(Refused("[1}"), "malformed JSON: expected ',' or ']' at byte 2");
  EXPECT_EQ(Refused("{\"a\":1,}"), "malformed JSON: expected a string key at byte 7");
  EXPECT_EQ(Refused("{a:1}"), "malformed JSON: expected a string key at byte 1");
  EXPECT_EQ(Refused("{1:1}"), "malformed JSON: expected a string key at byte 1");
  EXPECT_EQ(Refused("{\"a\" 1}"), "malformed JSON: expected ':' at byte 5");
  EXPECT_EQ(Refused("{\"a\":1 \"b\":2}"), "malformed JSON: expected ',' or '}' at byte 7");
  EXPECT_EQ(Refused("{\"a\":1]"), "malformed JSON: expected ',' or '}' at byte 6");
  EXPECT_EQ(Refused("]"), "malformed JSON: expected a value at byte 0");
  EXPECT_EQ(Refused("<html>"), "malformed JSON: expected a value at byte 0");
  EXPECT_EQ(Refused("\xef\xbb\xbf{}"), "malformed JSON: expected a value at byte 0");  // BOM
}

TEST(ParseJsonTest, NothingMayFollowTheDocument) {
  EXPECT_EQ(Refused("{} x"), "malformed JSON: unexpected text after the document at byte 3");
  EXPECT_EQ(Refused("1 2"), "malformed JSON: unexpected text after the document at byte 2");
  EXPECT_EQ(Refused("[]]"), "malformed JSON: unexpected text after the document at byte 2");
  EXPECT_EQ(Refused(std::string("{}\0", 3)),
            "malformed JSON: unexpected text after the document at byte 2");
  // No comments, and only JSON's four whitespace characters.
  EXPECT_EQ(Refused("[1] // c"), "malformed JSON: unexpected text after the document at byte 4");
  EXPECT_EQ(Refused("/* c */ 1"), "malformed JSON: expected a value at byte 0");
  EXPECT_EQ(Refused("\v1"), "malformed JSON: expected a value at byte 0");
  EXPECT_EQ(Refused("[1]\f"), "malformed JSON: unexpected text after the document at byte 3");
}

TEST(ParseJsonTest, MessagesNeverQuoteTheInput) {
  const std::string secret = "perm:c2VjcmV0.dG9rZW4=.NotInAnyMessage";
  for (const std::string& text :
       {"{\"token\":\"" + secret + "\" " + secret + "}", "[\"" + secret + "\\q\"]",
        "[\"" + secret, secret, "{\"" + secret + "\"}", "[1]" + secret}) {
    std::string message = Refused(text);
    EXPECT_EQ(message.find("perm:"), std::string::npos) << message;
    EXPECT_LT(message.size(), 80u) << message;
  }
}

std::string Nested(int depth, std::string_view inner) {
  return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

TEST(ParseJsonTest, DepthLimit) {
  // A value may sit inside at most 64 lists or objects.
  EXPECT_TRUE(ParseJson(Nested(64, "1")).has_value());
  EXPECT_TRUE(ParseJson(Nested(64, "")).has_value());
  EXPECT_TRUE(ParseJson(Nested(65, "")).has_value());  // the innermost list is empty
  EXPECT_EQ(Refused(Nested(65, "1")), "JSON nested deeper than 64 levels");
  EXPECT_EQ(Refused(Nested(66, "")), "JSON nested deeper than 64 levels");
  std::string objects;
  for (int i = 0; i < 64; ++i) {
    objects += "{\"k\":";
  }
  EXPECT_TRUE(ParseJson(objects + "null" + std::string(64, '}')).has_value());
  EXPECT_EQ(Refused(objects + "{\"k\":null" + std::string(65, '}')),
            "JSON nested deeper than 64 levels");
  // Hostile depth is refused without recursing into it, and so never
  // overflows the stack, however deep and whether or not it is closed.
  EXPECT_EQ(Refused(Nested(1'000'000, "")), "JSON nested deeper than 64 levels");
  EXPECT_EQ(Refused(std::string(1'000'000, '{')), "malformed JSON: expected a string key at byte 1");
  EXPECT_EQ(Refused(std::string(1'000'000, '[')), "JSON nested deeper than 64 levels");
}

TEST(ParseJsonTest, ReusesNothingBetweenDocuments) {
  // Siblings at the same depth share scratch space; each gets its own members.
  EXPECT_EQ(Parse(R"([{"a":[1,2],"b":{"c":3}},{"a":[4],"d":{}},[[5],[6,7]]])").ToJson(),
            R"([{"a":[1,2],"b":{"c":3}},{"a":[4],"d":{}},[[5],[6,7]]])");
  EXPECT_FALSE(ParseJson(R"([{"a":[1,2,{"b":)").has_value());
  EXPECT_EQ(Parse(R"([{"x":1}])").ToJson(), R"([{"x":1}])");
}

TEST(ParseJsonTest, RoundTripsThroughToJson) {
  static constexpr char kAwkward[] =
      "ctl \x01\x1f\n\t\"\\ / \xc3\xa9 \xf0\x9f\x98\x80 nul \0 end";
  const Value values[] = {
      Value(),
      Value(Value::List{}),
      Value(Obj({{"a", Value::List{1, -2, 0.5, 1e300, -4.9e-324, true, false, nullptr}},
                 {"b", Obj({{"nested", Obj({{"deeper", "x"}})}})},
                 {"", ""}})),
      Value(Value::List{std::numeric_limits<std::int64_t>::max(),
                        std::numeric_limits<std::int64_t>::min(), 0.1, 123456789.125}),
      Value(std::string(kAwkward, sizeof kAwkward - 1)),
      Value(Obj({{"\"quoted\" key\n", 1}, {"\xe2\x82\xac", Value::List{Value::Object{}}}})),
  };
  for (const Value& value : values) {
    std::string text = value.ToJson();
    EXPECT_EQ(Parse(text), value) << text;
    EXPECT_EQ(Parse(text).ToJson(), text);
  }
}

TEST(ParseJsonTest, SampleIssuesAsTheCpprestParserReadThem) {
  std::ifstream in(SourceDir() / "tests/data/youtrack/sample_issues.json", std::ios::binary);
  ASSERT_TRUE(in) << "cannot read sample_issues.json under " << SourceDir();
  std::stringstream text;
  text << in.rdbuf();
  Value issues = Parse(text.str());
  ASSERT_TRUE(issues.IsList());
  ASSERT_EQ(issues.AsList().size(), 15u);

  const Value& first = issues.AsList().front();
  EXPECT_EQ(first.StringOr("idReadable"), "RAP-1");
  EXPECT_EQ(first.StringOr("summary"), "Board import fails for projects with more than 42 issues");
  ASSERT_NE(first.Find("created"), nullptr);
  EXPECT_EQ(*first.Find("created"), Value(std::int64_t{1708936872345}));
  EXPECT_NE(first.StringOr("description").find("stops after the first page.\n\nThe connector"),
            std::string_view::npos);
  // A float custom field written "9.0" stays a double.
  bool saw_nine = false;
  for (const Value& issue : issues.AsList()) {
    if (issue.StringOr("idReadable") != "SRV-3") {
      continue;
    }
    for (const Value& field : issue.Find("customFields")->AsList()) {
      if (field.StringOr("name") == "Business value") {
        EXPECT_EQ(*field.Find("value"), Value(9.0));
        EXPECT_TRUE(field.Find("value")->IsDouble());
        saw_nine = true;
      }
    }
  }
  EXPECT_TRUE(saw_nine);
  EXPECT_EQ(issues.AsList().back().StringOr("idReadable"), "DOC-4");

  // The whole tree, compared with what the cpprest-based parser made of the
  // same file (before the switch): the size and FNV-1a hash of its ToJson().
  std::string canonical = issues.ToJson();
  std::uint64_t hash = 14695981039346656037u;
  for (unsigned char c : canonical) {
    hash = (hash ^ c) * 1099511628211u;
  }
  EXPECT_EQ(canonical.size(), 103939u);
  EXPECT_EQ(hash, 0x2fe077eb308d8c09u);
}

}  // namespace
}  // namespace boardsync

namespace boardsync {
namespace {

// The document a page is read into: what decoders see without a Value tree.
TEST(JsonDocumentTest, ViewsReadTheDocumentAsParseJsonDoes) {
  const std::string text =
      R"( {"b": [1, 2.5, "x\u00e9\n", null, true], "a": {"k": "v"}, "a": "second",)"
      R"( "raw": "caf\u00e9", "bad": "\ud800", "e": {}} )";
  auto doc = ParseJsonDocument(text);
  ASSERT_TRUE(doc) << doc.error().message;
  const JsonView root = doc->Root();
  ASSERT_TRUE(root.IsObject());
  EXPECT_EQ(root.size(), 6u);  // repeated keys included
  // Of repeated keys the first, as ParseJson() keeps.
  auto a = root.Find("a");
  ASSERT_TRUE(a && a->IsObject());
  EXPECT_EQ(a->StringOr("k"), "v");
  EXPECT_EQ(root.ToValue(), *ParseJson(text));
  // Containers keep their text; strings are unescaped and repaired.
  EXPECT_EQ(a->RawText(), R"({"k": "v"})");
  EXPECT_EQ(root.Find("e")->RawText(), "{}");
  EXPECT_EQ(root.StringOr("raw"), "caf\xC3\xA9");
  EXPECT_EQ(root.StringOr("bad"), "\xEF\xBF\xBD");
  auto b = root.Find("b");
  ASSERT_TRUE(b && b->IsList());
  EXPECT_EQ(b->RawText(), R"([1, 2.5, "x\u00e9\n", null, true])");
  std::vector<JsonKind> kinds;
  for (JsonView element : b->Elements()) {
    kinds.push_back(element.kind());
  }
  EXPECT_EQ(kinds, (std::vector<JsonKind>{JsonKind::kInt, JsonKind::kDouble, JsonKind::kString,
                                          JsonKind::kNull, JsonKind::kBool}));
  auto third = std::next(b->Elements().begin(), 2);
  EXPECT_EQ((*third).AsString(), "x\xC3\xA9\n");
  EXPECT_FALSE(root.Find("missing"));
  EXPECT_FALSE(root.FindNonNull("missing"));
  EXPECT_FALSE(b->Find("a"));  // not an object
  EXPECT_EQ(b->StringOr("a", "fallback"), "fallback");
  std::vector<std::string> keys;
  root.ForEachMember([&keys](std::string_view key, JsonView) { keys.emplace_back(key); });
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "a", "a", "raw", "bad", "e"}));
}

TEST(JsonDocumentTest, RefusesWhatParseJsonRefusesWithTheSameMessage) {
  for (std::string_view text : {"", "[1,", R"({"a" 1})", "[\"\x01\"]", "01", "[1] x"}) {
    auto doc = ParseJsonDocument(text);
    auto value = ParseJson(text);
    ASSERT_FALSE(doc) << text;
    ASSERT_FALSE(value) << text;
    EXPECT_EQ(doc.error().message, value.error().message);
    EXPECT_EQ(doc.error().code, ErrorCode::kBadResponse);
  }
}

}  // namespace
}  // namespace boardsync

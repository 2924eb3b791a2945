#include "core/value.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "core/text.h"

namespace boardsync {
namespace {

TEST(ValueTest, ToJsonIsCanonicalWithSortedKeys) {
  Value::Object object;
  object.emplace("b", 1);
  object.emplace("a", Value::List{Value("x"), Value(), Value(true), Value(2.5)});
  EXPECT_EQ(Value(object).ToJson(), R"({"a":["x",null,true,2.5],"b":1})");
}

TEST(ValueTest, ToJsonEscapesControlCharactersAndKeepsUtf8) {
  EXPECT_EQ(Value("Zoë \"q\"\n\x01").ToJson(), "\"Zoë \\\"q\\\"\\n\\u0001\"");
}

// AppendJsonString() as it was before it repaired UTF-8: every byte as is
// but the quote, the backslash and control characters.
std::string EscapedOnly(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(ValueTest, AppendJsonStringReplacesWhatIsNotUtf8) {
  constexpr std::string_view kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(JsonString("a\xFF" "b"), "\"a" + std::string(kFffd) + "b\"");
  EXPECT_EQ(JsonString("\xED\xA0\x80"), "\"" + std::string(kFffd) + std::string(kFffd) +
                                            std::string(kFffd) + "\"");  // a surrogate
  // A sequence cut short by a character that is escaped: one U+FFFD, then the escape.
  EXPECT_EQ(JsonString("\xE2\x82\"\xC3\n\xF0\x9F\x98"),
            "\"" + std::string(kFffd) + "\\\"" + std::string(kFffd) + "\\n" +
                std::string(kFffd) + "\"");
  // Well-formed text is written as before, 4-byte sequences and NUL included.
  std::string_view good("Zo\xC3\xAB \xE2\x82\xAC \xF0\x9F\x98\x80 \0 \xEF\xBF\xBD", 19);
  EXPECT_EQ(JsonString(good), EscapedOnly(good));
  // Keys of objects go the same way.
  Value::Object object;
  object.emplace("k\xC0", Value("v\x80"));
  EXPECT_EQ(Value(object).ToJson(),
            "{\"k" + std::string(kFffd) + "\":\"v" + std::string(kFffd) + "\"}");
}

TEST(ValueTest, AppendJsonStringWritesValidUtf8ForAnyBytes) {
  // Every string of 1 or 2 bytes, then long random ones (mostly ASCII, some
  // bytes of every kind, escapes among them): the output is valid UTF-8 and
  // is the repaired text, escaped as before.
  std::string s;
  auto check = [&s] {
    std::string out = JsonString(s);
    ASSERT_TRUE(IsValidUtf8(out)) << testing::PrintToString(s);
    std::string repaired;
    AppendRepairedUtf8(repaired, s);
    ASSERT_EQ(out, EscapedOnly(repaired)) << testing::PrintToString(s);
  };
  for (int a = 0; a < 256; ++a) {
    s = {static_cast<char>(a)};
    check();
    for (int b = 0; b < 256; ++b) {
      s = {static_cast<char>(a), static_cast<char>(b)};
      check();
    }
  }
  std::mt19937 rng(11);
  for (int round = 0; round < 20'000; ++round) {
    s.assign(rng() % 48, '\0');
    for (char& c : s) {
      std::uint32_t r = rng();
      c = static_cast<char>(r % 3 == 0 ? r >> 8 : 0x20 + (r >> 8) % 0x5F);
    }
    check();
  }
}

TEST(ValueTest, ToJsonWritesNonFiniteDoublesAsNull) {
  EXPECT_EQ(Value(1.0 / 0.0).ToJson(), "null");
}

TEST(ValueTest, ToTextJoinsListsAndBlanksNull) {
  EXPECT_EQ(Value(Value::List{Value("a"), Value(3)}).ToText(), "a, 3");
  EXPECT_EQ(Value().ToText(), "");
  EXPECT_EQ(Value(0.5).ToText(), "0.5");
}

TEST(ValueTest, FindDistinguishesMissingAndNull) {
  Value::Object object;
  object.emplace("n", Value());
  object.emplace("s", "text");
  Value v(object);
  EXPECT_NE(v.Find("n"), nullptr);
  EXPECT_EQ(v.FindNonNull("n"), nullptr);
  EXPECT_EQ(v.Find("missing"), nullptr);
  EXPECT_EQ(v.StringOr("s"), "text");
  EXPECT_EQ(v.StringOr("n", "fallback"), "fallback");
  EXPECT_EQ(Value(3).Find("x"), nullptr);
}

TEST(ValueTest, ObjectKeepsKeysSortedWhateverTheInsertOrder) {
  Value::Object object{{"m", 1}, {"b", 2}};
  object["z"] = 3;
  object.emplace("a", 4);
  object.insert_or_assign("b", 5);
  EXPECT_FALSE(object.emplace("m", 9).second);  // present: kept
  std::string keys;
  for (const auto& [key, value] : object) {
    keys += key;
  }
  EXPECT_EQ(keys, "abmz");
  EXPECT_EQ(object.at("b"), Value(5));
  EXPECT_EQ(object.at("m"), Value(1));
  EXPECT_EQ(object.erase("m"), 1u);
  EXPECT_EQ(object.erase("m"), 0u);
  EXPECT_FALSE(object.contains("m"));
  EXPECT_EQ(Value(object).ToJson(), R"({"a":4,"b":5,"z":3})");
}

TEST(ValueTest, ObjectFromARangeSortsAndKeepsTheFirstOfARepeatedKey) {
  std::vector<std::pair<std::string, Value>> members{{"b", 1}, {"a", 2}, {"b", 3}};
  Value::Object object(members.begin(), members.end());
  EXPECT_EQ(Value(object).ToJson(), R"({"a":2,"b":1})");
  EXPECT_EQ(object, (Value::Object{{"a", 2}, {"b", 1}}));

  // Larger objects take another sort; the same rules.
  members.clear();
  for (int i = 40; i > 0; --i) {
    members.emplace_back("k" + std::to_string(100 + i), i);
  }
  members.emplace_back("k140", 0);
  Value::Object big(members.begin(), members.end());
  ASSERT_EQ(big.size(), 40u);
  EXPECT_EQ(big.begin()->first, "k101");
  EXPECT_EQ(big.at("k140"), Value(40));
}

}  // namespace
}  // namespace boardsync

#include "core/value.h"

#include <gtest/gtest.h>

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

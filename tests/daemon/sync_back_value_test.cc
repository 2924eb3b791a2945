// What a board score becomes in a tracker field of each sync-back type.
#include <gtest/gtest.h>

#include "daemon/sync_back.h"

namespace boardsync {
namespace {

std::string Json(const Value& score, FieldType type) {
  auto json = TargetValueJson(score, type);
  return json ? *json : "error: " + json.error().message;
}

TEST(SyncBackValueTest, FloatTakesNumbersAndNumericText) {
  EXPECT_EQ(Json(Value(12.5), FieldType::kFloat), "12.5");
  EXPECT_EQ(Json(Value(std::int64_t{3}), FieldType::kFloat), "3");
  EXPECT_EQ(Json(Value("7.25"), FieldType::kFloat), "7.25");
  EXPECT_EQ(Json(Value(), FieldType::kFloat), "null");
  EXPECT_EQ(Json(Value("high"), FieldType::kFloat), "error: the board's score \"high\" is no float");
}

TEST(SyncBackValueTest, IntegerRoundsToTheNearest) {
  EXPECT_EQ(Json(Value(12.5), FieldType::kInteger), "13");
  EXPECT_EQ(Json(Value(12.49), FieldType::kInteger), "12");
  EXPECT_EQ(Json(Value(-2.5), FieldType::kInteger), "-3");
  EXPECT_EQ(Json(Value(std::int64_t{9007199254740993}), FieldType::kInteger), "9007199254740993");
  EXPECT_EQ(Json(Value("4.6"), FieldType::kInteger), "5");
  EXPECT_EQ(Json(Value(1e300), FieldType::kInteger).substr(0, 6), "error:");
  EXPECT_EQ(Json(Value(), FieldType::kInteger), "null");
}

TEST(SyncBackValueTest, StringTakesTheNumberAsWrittenOrTheText) {
  EXPECT_EQ(Json(Value(12.5), FieldType::kString), "\"12.5\"");
  EXPECT_EQ(Json(Value(std::int64_t{3}), FieldType::kString), "\"3\"");
  EXPECT_EQ(Json(Value("Must have"), FieldType::kString), "\"Must have\"");
  EXPECT_EQ(Json(Value(), FieldType::kString), "null");
}

TEST(SyncBackValueTest, OtherShapesAreRefusedShortly) {
  EXPECT_EQ(Json(Value(true), FieldType::kFloat).substr(0, 6), "error:");
  Value::List long_list(100, Value(std::int64_t{1}));
  const std::string message = Json(Value(long_list), FieldType::kString);
  EXPECT_EQ(message.substr(0, 6), "error:");
  EXPECT_LT(message.size(), 120u);
}

}  // namespace
}  // namespace boardsync

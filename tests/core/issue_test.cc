#include "core/issue.h"

#include <gtest/gtest.h>

namespace boardsync {
namespace {

BoardItem SampleItem() {
  BoardItem item;
  item.board = "roadmap";
  item.item_key = "acme:2-1";
  item.source_key = "RAP-1";
  item.source_url = "https://yt.example/issue/RAP-1";
  item.source_updated_at = "2024-05-21T10:15:00.250Z";
  item.fields = Value::Object{{"title", "Zoë \"q\""},
                              {"tags", Value::List{Value("a"), Value(2)}},
                              {"effort", Value(2.5)},
                              {"owner", Value()}};
  return item;
}

TEST(IssueTest, AppendBoardItemJsonWritesWhatBoardItemToValueDoes) {
  const BoardItem item = SampleItem();
  std::string json = "prefix:";
  AppendBoardItemJson(json, item);
  EXPECT_EQ(json, "prefix:" + BoardItemToValue(item).ToJson());
  std::string fields;
  AppendJsonObject(fields, item.fields);
  EXPECT_EQ(fields, Value(item.fields).ToJson());
  std::string with_fields;
  AppendBoardItemJson(with_fields, item, fields);
  EXPECT_EQ(with_fields, BoardItemToValue(item).ToJson());
}

TEST(IssueTest, BoardItemRoundTripsThroughItsValue) {
  const BoardItem item = SampleItem();
  auto back = BoardItemFromValue(BoardItemToValue(item));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->item_key, item.item_key);
  EXPECT_EQ(back->source_key, item.source_key);
  EXPECT_EQ(back->source_url, item.source_url);
  EXPECT_EQ(back->source_updated_at, item.source_updated_at);
  EXPECT_EQ(back->fields, item.fields);
  EXPECT_TRUE(back->board.empty());
  EXPECT_FALSE(BoardItemFromValue(Value(Value::Object{{"fields", 1}})).has_value());
  EXPECT_FALSE(BoardItemFromValue(Value("item")).has_value());
}

}  // namespace
}  // namespace boardsync

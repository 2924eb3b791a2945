#include "core/issue.h"

namespace boardsync {

Value BoardItemToValue(const BoardItem& item) {
  Value::Object out;
  out.emplace("item_key", item.item_key);
  out.emplace("source_key", item.source_key);
  out.emplace("source_url", item.source_url);
  out.emplace("source_updated_at", item.source_updated_at);
  out.emplace("fields", item.fields);
  return Value(std::move(out));
}

Result<BoardItem> BoardItemFromValue(const Value& value) {
  const Value* fields = value.Find("fields");
  if (fields == nullptr || !fields->IsObject()) {
    return Fail(ErrorCode::kBadResponse, "a board item needs a \"fields\" object");
  }
  BoardItem item;
  item.item_key = value.StringOr("item_key");
  item.source_key = value.StringOr("source_key");
  item.source_url = value.StringOr("source_url");
  item.source_updated_at = value.StringOr("source_updated_at");
  item.fields = fields->AsObject();
  return item;
}

}  // namespace boardsync

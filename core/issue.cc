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

void AppendBoardItemJson(std::string& out, const BoardItem& item, std::string_view fields_json) {
  // The members in sorted order, as Value::ToJson() writes them.
  out += "{\"fields\":";
  if (fields_json.empty()) {
    fields_json = item.fields_json;
  }
  if (fields_json.empty()) {
    AppendJsonObject(out, item.fields);
  } else {
    out += fields_json;
  }
  out += ",\"item_key\":";
  AppendJsonString(out, item.item_key);
  out += ",\"source_key\":";
  AppendJsonString(out, item.source_key);
  out += ",\"source_updated_at\":";
  AppendJsonString(out, item.source_updated_at);
  out += ",\"source_url\":";
  AppendJsonString(out, item.source_url);
  out.push_back('}');
}

Result<BoardItem> BoardItemFromValue(Value value) {
  if (!value.IsObject() || !value.AsObject().contains("fields") ||
      !value.AsObject().at("fields").IsObject()) {
    return Fail(ErrorCode::kBadResponse, "a board item needs a \"fields\" object");
  }
  BoardItem item;
  item.item_key = value.StringOr("item_key");
  item.source_key = value.StringOr("source_key");
  item.source_url = value.StringOr("source_url");
  item.source_updated_at = value.StringOr("source_updated_at");
  item.fields = std::move(value.AsObject().at("fields").AsObject());
  return item;
}

}  // namespace boardsync

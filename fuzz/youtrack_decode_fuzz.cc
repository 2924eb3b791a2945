// Fuzzes what boardsync makes of a YouTrack answer: any bytes go through
// ParseJson(), and whatever JSON comes out is decoded as a page of issues,
// as one issue, as one custom field and as /users/me. A decoder must answer
// every shape with a value or an Error; crashes and sanitizer reports are
// the findings.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connectors/http/json.h"
#include "connectors/youtrack/base_url.h"
#include "connectors/youtrack/decode.h"

namespace boardsync {
namespace {

const YouTrackBaseUrl& Base() {
  static const YouTrackBaseUrl base = *NormalizeBaseUrl("https://acme.youtrack.cloud");
  return base;
}

// Uses a decoded issue the way a sync does: its fields end up as JSON.
void Touch(const Issue& issue) {
  std::string out;
  for (const auto& [name, value] : issue.fields) {
    value.AppendJson(out);
    (void)value.ToText();
  }
}

}  // namespace
}  // namespace boardsync

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace boardsync;
  auto json = ParseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!json) {
    return 0;
  }
  if (auto page = DecodeIssuePage(*json, Base())) {
    for (const Issue& issue : *page) {
      Touch(issue);
    }
  }
  // The seeds hold single issues and single custom fields too; decoding them
  // directly reaches the field decoders without a page around them.
  if (json->IsObject()) {
    if (auto issue = DecodeIssue(*json, Base())) {
      Touch(*issue);
    }
    if (auto value = DecodeCustomFieldValue(*json, "FUZZ-1")) {
      (void)value->ToJson();
    }
  }
  (void)DecodeMe(*json);
  return 0;
}

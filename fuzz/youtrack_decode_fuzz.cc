// Fuzzes what boardsync makes of a YouTrack answer: any bytes go through
// ParseJson(), and whatever JSON comes out is decoded as a page of issues,
// as one issue, as one custom field and as /users/me. A decoder must answer
// every shape with a value or an Error; crashes, sanitizer reports and
// broken promises of the decoder's contract (checked below: a page decodes
// issue by issue, times stay within four-digit years, text stays UTF-8)
// are the findings.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connectors/http/json.h"
#include "connectors/youtrack/base_url.h"
#include "connectors/youtrack/decode.h"
#include "core/text.h"
#include "core/time.h"

namespace boardsync {
namespace {

const YouTrackBaseUrl& Base() {
  static const YouTrackBaseUrl base = *NormalizeBaseUrl("https://acme.youtrack.cloud");
  return base;
}

void Require(bool promise) {
  if (!promise) {
    std::abort();
  }
}

// Uses a decoded issue the way a sync does: its fields end up as JSON, its
// `updated` in the cursor and on the board.
void Touch(const Issue& issue) {
  if (!issue.decode_error.empty()) {
    // Undecodable: only what orders it, and only when it is usable.
    Require(issue.updated_ms == 0 || (issue.updated_ms > 0 && issue.updated_ms <= kMaxIsoMs));
    Require(issue.fields.empty());
    return;
  }
  Require(!issue.id.empty() && !issue.key.empty());
  Require(issue.updated_ms >= 0 && issue.updated_ms <= kMaxIsoMs);
  Require(issue.created_ms >= 0 && issue.created_ms <= kMaxIsoMs);
  Require(FormatIsoUtc(issue.updated_ms).size() == 24);
  Require(!issue.resolved_ms || IsIsoWritable(*issue.resolved_ms));
  std::string out;
  for (const auto& [name, value] : issue.fields) {
    value.AppendJson(out);
    (void)value.ToText();
  }
  Require(IsValidUtf8(out));
}

}  // namespace
}  // namespace boardsync

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace boardsync;
  auto json = ParseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!json) {
    return 0;
  }
  auto page = DecodeIssuePage(*json, Base());
  // Only a page that is not a list fails; every element comes back.
  Require(page.has_value() == json->IsList());
  if (page) {
    Require(page->size() == json->AsList().size());
    for (const Issue& issue : *page) {
      Touch(issue);
    }
  }
  // The seeds hold single issues and single custom fields too; decoding them
  // directly reaches the field decoders without a page around them.
  if (json->IsObject()) {
    if (auto issue = DecodeIssue(*json, Base())) {
      Touch(*issue);
    } else {
      Touch(UndecodedIssue(*json, issue.error().message));
    }
    if (auto value = DecodeCustomFieldValue(*json, "FUZZ-1")) {
      (void)value->ToJson();
    }
  }
  (void)DecodeMe(*json);
  return 0;
}

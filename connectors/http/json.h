// JSON text <-> Value. Parsing uses cpprestsdk's parser, kept behind this
// header so that no other folder sees cpprest. Writing is Value::ToJson().
#pragma once

#include <string_view>

#include "core/error.h"
#include "core/value.h"

namespace boardsync {

// Parses one JSON document. Integers that fit int64 stay integers. Errors
// are ErrorCode::kBadResponse and say where parsing stopped.
Result<Value> ParseJson(std::string_view text);

}  // namespace boardsync

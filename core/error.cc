#include "core/error.h"

namespace boardsync {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kConfig: return "config";
    case ErrorCode::kAuth: return "auth";
    case ErrorCode::kRateLimited: return "rate-limited";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kBadResponse: return "bad-response";
    case ErrorCode::kStorage: return "storage";
    case ErrorCode::kMapping: return "mapping";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kUntrusted: return "untrusted";
    case ErrorCode::kCancelled: return "cancelled";
  }
  return "unknown";
}

}  // namespace boardsync

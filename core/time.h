// Time formats used across boardsync. Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <stop_token>
#include <string_view>

namespace boardsync {

// The instants FormatIsoUtc() writes with a four-digit year, 0001-01-01 to
// 9999-12-31 (UTC): only there does text order equal time order. Decoders
// refuse timestamps outside it rather than pass on a wrapped year.
inline constexpr std::int64_t kMinIsoMs = -62'135'596'800'000;  // 0001-01-01T00:00:00.000Z
inline constexpr std::int64_t kMaxIsoMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
constexpr bool IsIsoWritable(std::int64_t epoch_ms) {
  return epoch_ms >= kMinIsoMs && epoch_ms <= kMaxIsoMs;
}

// "2024-05-01T10:00:00.000Z": fixed width, so text order is time order.
// Outside IsIsoWritable() the year is written as it is (five digits, or
// negative), which no longer sorts: callers check first.
std::string FormatIsoUtc(std::int64_t epoch_ms);
// "2024-05-01", the UTC calendar day.
std::string FormatIsoDate(std::int64_t epoch_ms);
// Parses "2024-05-01", "2024-05-01T10:00:00Z", with optional fraction and
// "+hh:mm" offset. Returns epoch milliseconds.
std::optional<std::int64_t> ParseIsoUtc(std::string_view text);
// "30s", "5m", "24h", "1d", "250ms"; a bare number is seconds.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

std::int64_t NowMs();

// Waits `duration` unless `stop` is requested first (then at once); false
// when stopped.
bool SleepUnlessStopped(std::chrono::milliseconds duration, std::stop_token stop);

}  // namespace boardsync

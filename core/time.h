// Time formats used across boardsync. Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace boardsync {

// "2024-05-01T10:00:00.000Z": fixed width, so text order is time order.
std::string FormatIsoUtc(std::int64_t epoch_ms);
// "2024-05-01", the UTC calendar day.
std::string FormatIsoDate(std::int64_t epoch_ms);
// Parses "2024-05-01", "2024-05-01T10:00:00Z", with optional fraction and
// "+hh:mm" offset. Returns epoch milliseconds.
std::optional<std::int64_t> ParseIsoUtc(std::string_view text);
// "30s", "5m", "24h", "1d", "250ms"; a bare number is seconds.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

std::int64_t NowMs();

}  // namespace boardsync

// Logging: one sentence, then key=value context. Everything goes through one
// sink, which the process sets up once (daemon/logging); text is redacted of
// registered secrets before it reaches the sink. Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boardsync {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

using LogFields = std::vector<std::pair<std::string, std::string>>;
using LogSink = std::function<void(LogLevel, std::string_view message, const LogFields&)>;

// Replaces the sink and level. The default sink drops everything.
void SetLogSink(LogSink sink, LogLevel level);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view message, LogFields fields = {});

}  // namespace boardsync

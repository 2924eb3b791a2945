// The process's log sink: one line per message on stderr, as text
// ("time level message key=value ...") or JSON, with journald priority
// prefixes when stderr is the journal. Secrets are already redacted by
// core/log before they get here. Text lines show the message, keys and values
// through ForDisplay() (core/text.h), so each message is exactly one line and
// a "<N>" prefix can only come from here; JSON lines escape what JSON does.
#pragma once

#include <optional>
#include <string_view>

#include "core/log.h"

namespace boardsync {

enum class LogFormat { kText, kJson };

std::optional<LogLevel> ParseLogLevel(std::string_view text);
std::optional<LogFormat> ParseLogFormat(std::string_view text);

void InstallStderrLogSink(LogLevel level, LogFormat format);

}  // namespace boardsync

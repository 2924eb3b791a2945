#include "daemon/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/text.h"
#include "core/time.h"
#include "core/value.h"

namespace boardsync {
namespace {

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "info";
}

// sd-daemon(3) priorities: err=3, warning=4, info=6, debug=7.
int JournalPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return 3;
    case LogLevel::kWarn: return 4;
    case LogLevel::kInfo: return 6;
    case LogLevel::kDebug: return 7;
  }
  return 6;
}

bool NeedsQuotes(std::string_view value) {
  return value.empty() || value.find_first_of(" \"=\t\n") != std::string_view::npos;
}

// A text-format value: ForDisplay() (core/text.h) first, so that no value can
// end the line, start a forged one (a "<0>" journald prefix only counts at the
// start of a line) or drive the terminal; then quoted when it has a space, a
// quote or '=', with '"' written \". The backslashes ForDisplay() leaves are
// escapes or escaped, so a quoted value reads as a JSON string but for \xHH.
void AppendTextValue(std::string& line, std::string_view value) {
  std::string shown = ForDisplay(value);
  if (!NeedsQuotes(shown)) {
    line += shown;
    return;
  }
  line += '"';
  for (char c : shown) {
    if (c == '"') {
      line += '\\';
    }
    line += c;
  }
  line += '"';
}

// systemd sets JOURNAL_STREAM to "<device>:<inode>" of the stream it
// connected; stderr redirected elsewhere must not get priority prefixes.
bool StderrIsTheJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) {
    return false;
  }
  unsigned long long device = 0;
  unsigned long long inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) {
    return false;
  }
  struct stat st {};
  return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == device && st.st_ino == inode;
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "error") return LogLevel::kError;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "info") return LogLevel::kInfo;
  if (text == "debug") return LogLevel::kDebug;
  return std::nullopt;
}

std::optional<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

void InstallStderrLogSink(LogLevel level, LogFormat format) {
  const bool journal = StderrIsTheJournal();
  SetLogSink(
      [format, journal](LogLevel lvl, std::string_view message, const LogFields& fields) {
        std::string line;
        if (format == LogFormat::kJson) {
          Value::Object object;
          object.emplace("time", FormatIsoUtc(NowMs()));
          object.emplace("level", std::string(LevelName(lvl)));
          object.emplace("msg", std::string(message));
          for (const auto& [key, value] : fields) {
            object.insert_or_assign(key, value);
          }
          line = Value(std::move(object)).ToJson();
        } else {
          if (journal) {
            line = "<" + std::to_string(JournalPriority(lvl)) + ">";  // journald adds the time
          } else {
            line = FormatIsoUtc(NowMs()) + " ";
          }
          line += std::string(LevelName(lvl)) + " " + ForDisplay(message);
          for (const auto& [key, value] : fields) {
            line += " " + ForDisplay(key) + "=";
            AppendTextValue(line, value);
          }
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stderr);
      },
      level);
}

}  // namespace boardsync

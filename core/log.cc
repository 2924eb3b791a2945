#include "core/log.h"

#include <atomic>
#include <mutex>

#include "core/redact.h"

namespace boardsync {
namespace {

std::mutex sink_mu;
LogSink* current_sink = nullptr;  // guarded by sink_mu; leaked on replacement-free exit
std::atomic<int> current_level{static_cast<int>(LogLevel::kInfo)};

}  // namespace

void SetLogSink(LogSink sink, LogLevel level) {
  std::lock_guard lock(sink_mu);
  delete current_sink;
  current_sink = sink ? new LogSink(std::move(sink)) : nullptr;
  current_level = static_cast<int>(level);
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) <= current_level.load(); }

void Log(LogLevel level, std::string_view message, LogFields fields) {
  if (!LogEnabled(level)) {
    return;
  }
  std::string text = Redact(message);
  for (auto& [key, value] : fields) {
    value = Redact(value);
  }
  std::lock_guard lock(sink_mu);
  if (current_sink != nullptr) {
    (*current_sink)(level, text, fields);
  }
}

}  // namespace boardsync

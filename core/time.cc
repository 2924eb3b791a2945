#include "core/time.h"

#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace boardsync {
namespace {

using std::chrono::days;
using std::chrono::milliseconds;
using std::chrono::sys_days;
using std::chrono::year_month_day;

struct Civil {
  year_month_day date;
  std::int64_t ms_of_day;
};

Civil ToCivil(std::int64_t epoch_ms) {
  // Floor division written so that nothing overflows, even for INT64_MIN
  // (a tracker can send any timestamp).
  std::int64_t day = epoch_ms / 86'400'000;
  std::int64_t ms_of_day = epoch_ms % 86'400'000;
  if (ms_of_day < 0) {
    --day;
    ms_of_day += 86'400'000;
  }
  return {year_month_day(sys_days(days(day))), ms_of_day};
}

bool ReadInt(std::string_view& s, std::size_t digits, int& out) {
  if (s.size() < digits) {
    return false;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + digits, out);
  if (ec != std::errc() || end != s.data() + digits) {
    return false;
  }
  s.remove_prefix(digits);
  return true;
}

bool Expect(std::string_view& s, char c) {
  if (s.empty() || s[0] != c) {
    return false;
  }
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::string FormatIsoUtc(std::int64_t epoch_ms) {
  Civil c = ToCivil(epoch_ms);
  std::int64_t ms = c.ms_of_day;
  const int year = static_cast<int>(c.date.year());
  if (year >= 0 && year <= 9999) {
    // The common case, digit by digit: it runs a few times per issue.
    std::string out = "0000-00-00T00:00:00.000Z";
    auto put = [&out](std::size_t at, int width, int value) {
      for (int i = width - 1; i >= 0; --i, value /= 10) {
        out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
      }
    };
    put(0, 4, year);
    put(5, 2, static_cast<int>(static_cast<unsigned>(c.date.month())));
    put(8, 2, static_cast<int>(static_cast<unsigned>(c.date.day())));
    put(11, 2, static_cast<int>(ms / 3'600'000));
    put(14, 2, static_cast<int>(ms / 60'000 % 60));
    put(17, 2, static_cast<int>(ms / 1000 % 60));
    put(20, 3, static_cast<int>(ms % 1000));
    return out;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(c.date.year()),
                static_cast<unsigned>(c.date.month()), static_cast<unsigned>(c.date.day()),
                static_cast<int>(ms / 3'600'000), static_cast<int>(ms / 60'000 % 60),
                static_cast<int>(ms / 1000 % 60), static_cast<int>(ms % 1000));
  return buf;
}

std::string FormatIsoDate(std::int64_t epoch_ms) {
  Civil c = ToCivil(epoch_ms);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(c.date.year()),
                static_cast<unsigned>(c.date.month()), static_cast<unsigned>(c.date.day()));
  return buf;
}

std::optional<std::int64_t> ParseIsoUtc(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!ReadInt(s, 4, y) || !Expect(s, '-') || !ReadInt(s, 2, mo) || !Expect(s, '-') ||
      !ReadInt(s, 2, d)) {
    return std::nullopt;
  }
  year_month_day date{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                      std::chrono::day(static_cast<unsigned>(d))};
  if (!date.ok()) {
    return std::nullopt;
  }
  std::int64_t ms = 0;
  if (!s.empty()) {
    if (!(Expect(s, 'T') || Expect(s, ' ')) || !ReadInt(s, 2, h) || !Expect(s, ':') ||
        !ReadInt(s, 2, mi)) {
      return std::nullopt;
    }
    if (Expect(s, ':') && !ReadInt(s, 2, sec)) {
      return std::nullopt;
    }
    if (h > 23 || mi > 59 || sec > 60) {
      return std::nullopt;
    }
    ms = (h * 3600 + mi * 60 + sec) * 1000LL;
    if (Expect(s, '.')) {
      int scale = 100;
      std::size_t n = 0;
      while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
        ms += (s[n] - '0') * scale;
        scale /= 10;
        ++n;
      }
      if (n == 0) {
        return std::nullopt;
      }
      s.remove_prefix(n);
    }
    if (Expect(s, 'Z')) {
      // UTC
    } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
      int sign = s[0] == '+' ? 1 : -1;
      s.remove_prefix(1);
      int oh = 0, om = 0;
      if (!ReadInt(s, 2, oh) || !(Expect(s, ':'), ReadInt(s, 2, om))) {
        return std::nullopt;
      }
      ms -= sign * (oh * 3600 + om * 60) * 1000LL;
    }
    if (!s.empty()) {
      return std::nullopt;
    }
  }
  return sys_days(date).time_since_epoch().count() * 86'400'000LL + ms;
}

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  double number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || number < 0) {
    return std::nullopt;
  }
  std::string_view unit(end, text.data() + text.size() - end);
  double factor = 0;
  if (unit.empty() || unit == "s") {
    factor = 1000;
  } else if (unit == "ms") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit == "d") {
    factor = 86'400'000;
  } else {
    return std::nullopt;
  }
  double ms = number * factor;
  // Also refuses nan and inf, which from_chars accepts; the cast of anything
  // past int64 would be undefined.
  if (!(ms < 9.2e18)) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool SleepUnlessStopped(std::chrono::milliseconds duration, std::stop_token stop) {
  if (duration.count() > 0) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    cv.wait_for(lock, stop, duration, [] { return false; });
  }
  return !stop.stop_requested();
}

}  // namespace boardsync

#include "connectors/jira/query.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <unordered_set>
#include <utility>

#include "core/text.h"
#include "core/time.h"

namespace boardsync {

struct JiraZone::Impl {
  std::string name;
  cctz::time_zone lower;  // the zone lower bounds are written in
  cctz::time_zone upper;  // and upper bounds: the same but for AnyZone()
};

namespace {

using CivilLookup = cctz::time_zone::civil_lookup;
using MsPoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

constexpr cctz::civil_minute kFirstMinute(1, 1, 1, 0, 0);
constexpr cctz::civil_minute kLastMinute(9999, 12, 31, 23, 59);

std::int64_t ToMs(cctz::time_point<cctz::seconds> tp) {
  return static_cast<std::int64_t>(tp.time_since_epoch().count()) * 1000;
}

cctz::civil_minute MinuteOf(std::int64_t epoch_ms, const cctz::time_zone& tz) {
  // convert() floors to the second and civil_minute floors to the minute,
  // before 1970 too.
  return cctz::civil_minute(cctz::convert(MsPoint(std::chrono::milliseconds(epoch_ms)), tz));
}

// The latest existing minute every reading of which is at or before from_ms.
// Starts from the floor, which is the answer unless the minute is repeated and
// from_ms lies in its first pass: then it walks back a minute at a time (at
// most the length of the repeated span) until the second reading is early
// enough too. A minute in a gap jumps to the last one before the gap.
std::optional<cctz::civil_minute> LowerMinute(const cctz::time_zone& tz, std::int64_t from_ms) {
  if (!IsIsoWritable(from_ms)) {
    return std::nullopt;
  }
  cctz::civil_minute m = std::min(MinuteOf(from_ms, tz), kLastMinute);
  while (m >= kFirstMinute) {
    const CivilLookup cl = tz.lookup(cctz::civil_second(m));
    if (cl.kind == CivilLookup::SKIPPED) {
      m = std::min(cctz::civil_minute(cctz::convert(cl.trans - cctz::seconds(1), tz)), m - 1);
    } else if (std::max(ToMs(cl.pre), ToMs(cl.post)) <= from_ms) {
      return m;
    } else {
      --m;
    }
  }
  return std::nullopt;
}

// The mirror image: the earliest existing minute every reading of which is at
// or after to_ms. From the floor it steps up once unless to_ms is exactly on
// the minute (so: the ceiling), and further while the minute is repeated and
// to_ms lies in its second pass. A minute in a gap jumps to the first minute
// after it.
std::optional<cctz::civil_minute> UpperMinute(const cctz::time_zone& tz, std::int64_t to_ms) {
  if (!IsIsoWritable(to_ms)) {
    return std::nullopt;
  }
  cctz::civil_minute m = std::max(MinuteOf(to_ms, tz), kFirstMinute);
  while (m <= kLastMinute) {
    const CivilLookup cl = tz.lookup(cctz::civil_second(m));
    if (cl.kind == CivilLookup::SKIPPED) {
      m = std::max(cctz::civil_minute(cctz::convert(cl.trans, tz)), m + 1);
    } else if (std::min(ToMs(cl.pre), ToMs(cl.post)) >= to_ms) {
      return m;
    } else {
      ++m;
    }
  }
  return std::nullopt;
}

std::string FormatMinute(const cctz::civil_minute& m) {
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d", static_cast<int>(m.year()),
                m.month(), m.day(), m.hour(), m.minute());
  return text;
}

// Java's custom zone ids, which Jira may hand over as they are: "GMT+5",
// "GMT+05:30", "UTC-0800", "UT+3", "+02:00", "Z", "GMT". Seconds east of UTC, or
// nullopt when `name` is not one. East-positive, as Java reads them; the
// tz database's Etc/GMT+5 (west-positive) never reaches here.
std::optional<int> ParseJavaOffset(std::string_view name) {
  if (name == "Z" || name == "GMT" || name == "UTC" || name == "UT") {
    return 0;  // without a file: they work where tzdata is missing
  }
  for (std::string_view prefix : {"GMT", "UTC", "UT"}) {
    if (name.starts_with(prefix)) {
      name.remove_prefix(prefix.size());
      break;
    }
  }
  if (name.empty() || (name[0] != '+' && name[0] != '-')) {
    return std::nullopt;
  }
  const int sign = name[0] == '-' ? -1 : 1;
  name.remove_prefix(1);
  int hours = 0;
  int minutes = 0;
  auto digits = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  auto number = [](std::string_view s) {
    int value = 0;
    std::from_chars(s.data(), s.data() + s.size(), value);
    return value;
  };
  const std::size_t colon = name.find(':');
  if (colon != std::string_view::npos) {
    const std::string_view h = name.substr(0, colon);
    const std::string_view mm = name.substr(colon + 1);
    if (h.size() > 2 || !digits(h) || mm.size() != 2 || !digits(mm)) {
      return std::nullopt;
    }
    hours = number(h);
    minutes = number(mm);
  } else if (digits(name) && name.size() <= 2) {
    hours = number(name);
  } else if (digits(name) && name.size() <= 4) {  // "530", "0530"
    hours = number(name.substr(0, name.size() - 2));
    minutes = number(name.substr(name.size() - 2));
  } else {
    return std::nullopt;
  }
  if (hours > 23 || minutes > 59) {
    return std::nullopt;
  }
  return sign * (hours * 3600 + minutes * 60);
}

// A name the tz database could hold: segments of letters, digits, '_', '+'
// and '-', each starting with a letter. This keeps cctz from opening paths of
// Jira's choosing ("/dev/…", "../…") and from reading the host's own zone
// ("localtime") or the default-rules file ("posixrules").
bool IsZoneName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name == "localtime" || name == "posixrules") {
    return false;
  }
  bool segment_start = true;
  for (char c : name) {
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (segment_start) {
      if (!letter) {
        return false;
      }
      segment_start = false;
    } else if (c == '/') {
      segment_start = true;
    } else if (!letter && !(c >= '0' && c <= '9') && c != '_' && c != '+' && c != '-') {
      return false;
    }
  }
  return !segment_start;
}

// Java's ZoneId.SHORT_IDS for the names the tz database does not have (its
// EST, MST and HST are the tz database's fixed zones of the same names): a
// Data Center JVM started with -Duser.timezone=PST reports "PST".
std::optional<std::string_view> JavaShortId(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kShortIds[] = {
      {"ACT", "Australia/Darwin"},
      {"AET", "Australia/Sydney"},
      {"AGT", "America/Argentina/Buenos_Aires"},
      {"ART", "Africa/Cairo"},
      {"AST", "America/Anchorage"},
      {"BET", "America/Sao_Paulo"},
      {"BST", "Asia/Dhaka"},
      {"CAT", "Africa/Harare"},
      {"CNT", "America/St_Johns"},
      {"CST", "America/Chicago"},
      {"CTT", "Asia/Shanghai"},
      {"EAT", "Africa/Addis_Ababa"},
      {"ECT", "Europe/Paris"},
      {"IET", "America/Indiana/Indianapolis"},
      {"IST", "Asia/Kolkata"},
      {"JST", "Asia/Tokyo"},
      {"MIT", "Pacific/Apia"},
      {"NET", "Asia/Yerevan"},
      {"NST", "Pacific/Auckland"},
      {"PLT", "Asia/Karachi"},
      {"PNT", "America/Phoenix"},
      {"PRT", "America/Puerto_Rico"},
      {"PST", "America/Los_Angeles"},
      {"SST", "Pacific/Guadalcanal"},
      {"VST", "Asia/Ho_Chi_Minh"},
  };
  for (const auto& [id, zone] : kShortIds) {
    if (id == name) {
      return zone;
    }
  }
  return std::nullopt;
}

// Characters that end an unquoted JQL word (Jira's Jql.g, STRINGSTOP and
// whitespace): operators, brackets, commas and the reserved characters.
bool EndsWord(char c) {
  static constexpr std::string_view kStops = " \t\r\n\"'=!<>()~,[]|&{}*/%+^$#@?;";
  return kStops.find(c) != std::string_view::npos || static_cast<unsigned char>(c) < 0x20 ||
         c == 0x7f;
}

std::string Position(std::size_t index) { return "character " + std::to_string(index + 1); }

void AppendUnicodeEscape(std::string& out, unsigned code_point) {
  char text[8];
  std::snprintf(text, sizeof text, "\\u%04X", code_point);
  out += text;
}

// A JQL double-quoted string holding `text` exactly. Jira's lexer refuses raw
// control characters and Unicode non-characters inside quotes, so those go as
// \uXXXX escapes (which it reads back); '"' and '\' are escaped.
std::string QuoteJqlString(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    auto byte = [&](std::size_t k) {
      return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u;
    };
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      AppendUnicodeEscape(out, c);
    } else if (c == 0xC2 && byte(1) >= 0x80 && byte(1) <= 0x9F) {  // C1: U+0080..U+009F
      AppendUnicodeEscape(out, byte(1));
      i += 1;
    } else if (c == 0xEF && ((byte(1) == 0xB7 && byte(2) >= 0x90 && byte(2) <= 0xAF) ||
                             (byte(1) == 0xBF && byte(2) >= 0xBE))) {  // U+FDD0..FDEF, U+FFFE/F
      AppendUnicodeEscape(out, 0xF000u | ((byte(1) & 0x3Fu) << 6) | (byte(2) & 0x3Fu));
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

Result<std::vector<std::string>> Chunks(const std::vector<std::string>& values,
                                        std::size_t chunk_size, std::string_view prefix) {
  if (chunk_size == 0) {
    return Fail(ErrorCode::kConfig, "the number of issues per query must be at least 1");
  }
  std::vector<std::string> queries;
  for (std::size_t i = 0; i < values.size(); i += chunk_size) {
    std::string query(prefix);
    query += " (";
    for (std::size_t k = i; k < std::min(values.size(), i + chunk_size); ++k) {
      query += k == i ? values[k] : ", " + values[k];
    }
    query += ")";
    queries.push_back(std::move(query));
  }
  return queries;
}

}  // namespace

JiraZone::JiraZone(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Result<JiraZone> JiraZone::Load(std::string_view name) {
  if (std::optional<int> offset = ParseJavaOffset(name)) {
    const cctz::time_zone tz = cctz::fixed_time_zone(cctz::seconds(*offset));
    return JiraZone(std::make_shared<const Impl>(Impl{std::string(name), tz, tz}));
  }
  std::string_view file = name;
  if (!IsZoneName(name)) {
    file = {};
  } else if (std::optional<std::string_view> java = JavaShortId(name)) {
    file = *java;
  }
  cctz::time_zone tz;
  if (!file.empty() && cctz::load_time_zone(std::string(file), &tz)) {
    return JiraZone(std::make_shared<const Impl>(Impl{std::string(name), tz, tz}));
  }
  return Fail(ErrorCode::kBadResponse,
              "unknown time zone \"" + ForDisplay(name.substr(0, 128)) +
                  "\" (the token user's timeZone): not in this host's tz database "
                  "(is tzdata installed and current?)");
}

JiraZone JiraZone::Utc() {
  static const auto* const kUtc = new std::shared_ptr<const Impl>(
      std::make_shared<const Impl>(Impl{"UTC", cctz::utc_time_zone(), cctz::utc_time_zone()}));
  return JiraZone(*kUtc);
}

JiraZone JiraZone::AnyZone() {
  // A literal L read in a zone u hours east of UTC is the instant L - u. With
  // u anywhere in [-12, +14], a lower bound written 12 hours behind UTC is
  // never later than from_ms, an upper bound 14 hours ahead never earlier
  // than to_ms. Fixed offsets: no gaps or repeats of their own.
  static const auto* const kAny = new std::shared_ptr<const Impl>(std::make_shared<const Impl>(
      Impl{"any zone (UTC-12 to UTC+14)", cctz::fixed_time_zone(cctz::seconds(-12 * 3600)),
           cctz::fixed_time_zone(cctz::seconds(14 * 3600))}));
  return JiraZone(*kAny);
}

const std::string& JiraZone::name() const { return impl_->name; }

std::optional<std::string> JiraZone::LowerBound(std::int64_t from_ms) const {
  std::optional<cctz::civil_minute> m = LowerMinute(impl_->lower, from_ms);
  return m ? std::optional(FormatMinute(*m)) : std::nullopt;
}

std::optional<std::string> JiraZone::UpperBound(std::int64_t to_ms) const {
  std::optional<cctz::civil_minute> m = UpperMinute(impl_->upper, to_ms);
  return m ? std::optional(FormatMinute(*m)) : std::nullopt;
}

Result<void> CheckJqlFilter(std::string_view filter) {
  // A small pass of Jira's own lexer: quoted strings (with backslash escapes)
  // are opaque, a backslash outside them escapes the next character, and the
  // unquoted words are where ORDER BY would be.
  int depth = 0;
  char quote = 0;
  std::size_t quote_at = 0;
  std::string word;
  std::string previous_word;
  auto end_word = [&]() -> bool {
    if (word.empty()) {
      return true;
    }
    const bool order_by = previous_word == "order" && word == "by";
    previous_word = std::move(word);
    word.clear();
    return !order_by;
  };
  constexpr std::string_view kOrderBy =
      "the Jira query has an ORDER BY; leave it out (boardsync sets the order it pages by)";
  for (std::size_t i = 0; i < filter.size(); ++i) {
    const char c = filter[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;  // escapes the next character, the quote included
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\\') {
      if (i + 1 == filter.size()) {
        return Fail(
            ErrorCode::kConfig,
            "the Jira query ends in a backslash that escapes nothing (" + Position(i) + ")");
      }
      word += c;
      word += filter[++i];
      continue;
    }
    if (!EndsWord(c)) {
      word += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      continue;
    }
    if (!end_word()) {
      return Fail(ErrorCode::kConfig, std::string(kOrderBy));
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      continue;
    }
    previous_word.clear();  // "order" then an operator, a string or a bracket is no ORDER BY
    if (c == '"' || c == '\'') {
      quote = c;
      quote_at = i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth < 0) {
      return Fail(ErrorCode::kConfig, "the Jira query closes a parenthesis it never opened (" +
                                          Position(i) + "), which would leave boardsync's " +
                                          "bounds applying to only part of it");
    }
  }
  if (quote != 0) {
    return Fail(ErrorCode::kConfig, std::string("the Jira query has a ") + quote +
                                        " string that is never closed (opened at " +
                                        Position(quote_at) + ")");
  }
  if (!end_word()) {
    return Fail(ErrorCode::kConfig, std::string(kOrderBy));
  }
  if (depth > 0) {
    return Fail(ErrorCode::kConfig, "the Jira query leaves " + std::to_string(depth) +
                                        (depth == 1 ? " parenthesis" : " parentheses") + " open");
  }
  return {};
}

Result<std::string> BuildUpdatedJql(std::string_view filter, std::optional<std::int64_t> from_ms,
                                    std::optional<std::int64_t> to_ms, const JiraZone& zone,
                                    JqlOrder order) {
  if (Result<void> checked = CheckJqlFilter(filter); !checked) {
    return std::unexpected(checked.error());
  }
  std::string jql;
  auto add = [&jql](std::string_view clause) {
    if (!jql.empty()) {
      jql += " AND ";
    }
    jql += clause;
  };
  if (const std::string_view user = TrimSpace(filter); !user.empty()) {
    add("(" + std::string(user) + ")");
  }
  if (std::optional<std::string> lower = from_ms ? zone.LowerBound(*from_ms) : std::nullopt) {
    add("updated >= \"" + *lower + "\"");
  }
  if (std::optional<std::string> upper = to_ms ? zone.UpperBound(*to_ms) : std::nullopt) {
    add("updated <= \"" + *upper + "\"");
  }
  if (!jql.empty()) {
    jql += " ";
  }
  jql += order == JqlOrder::kOldestFirst ? "ORDER BY updated ASC, id ASC"
                                         : "ORDER BY updated DESC, id DESC";
  return jql;
}

Result<std::vector<std::string>> BuildKeyJql(const std::vector<std::string>& keys,
                                             std::size_t chunk_size) {
  std::vector<std::string> quoted;
  std::unordered_set<std::string_view> seen;
  for (const std::string& key : keys) {
    if (key.empty()) {
      return Fail(ErrorCode::kBadResponse, "an issue key to look up is empty");
    }
    if (seen.insert(key).second) {
      quoted.push_back(QuoteJqlString(key));
    }
  }
  return Chunks(quoted, chunk_size, "key in");
}

Result<std::vector<std::string>> BuildIdJql(const std::vector<std::string>& ids,
                                            std::size_t chunk_size) {
  std::vector<std::string> numbers;
  std::unordered_set<std::int64_t> seen;
  for (const std::string& id : ids) {
    std::int64_t value = 0;
    const char* end = id.data() + id.size();
    const bool digits = !id.empty() && std::all_of(id.begin(), id.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
    const auto [ptr, ec] = std::from_chars(id.data(), end, value);
    if (!digits || ec != std::errc() || ptr != end) {
      return Fail(ErrorCode::kBadResponse, "issue id \"" +
                                               ForDisplay(std::string_view(id).substr(0, 40)) +
                                               "\" is not a decimal number Jira can read");
    }
    if (seen.insert(value).second) {
      numbers.push_back(std::to_string(value));  // "007" and "7" are one issue
    }
  }
  return Chunks(numbers, chunk_size, "id in");
}

}  // namespace boardsync

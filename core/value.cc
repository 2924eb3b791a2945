#include "core/value.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <ostream>

#include "core/text.h"

namespace boardsync {

ValueObject::ValueObject(std::initializer_list<value_type> members) : members_(members) {
  SortAndDropRepeats();
}

void ValueObject::SortAndDropRepeats() {
  auto by_key = [](const value_type& a, const value_type& b) { return a.first < b.first; };
  if (std::is_sorted(members_.begin(), members_.end(), by_key)) {
    // Nothing to move (a tracker's JSON often comes sorted).
  } else if (members_.size() <= 64) {
    // Objects from trackers and mappings are small: their indices sorted,
    // then each member moved once, without the buffer std::stable_sort
    // allocates or a member moved per step.
    std::array<std::uint8_t, 64> order;
    const std::size_t n = members_.size();
    for (std::size_t i = 0; i < n; ++i) {
      order[i] = static_cast<std::uint8_t>(i);
    }
    // Ties by position: stable.
    std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
              [this](std::uint8_t a, std::uint8_t b) {
                const int c = members_[a].first.compare(members_[b].first);
                return c < 0 || (c == 0 && a < b);
              });
    Members sorted;
    sorted.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      sorted.push_back(std::move(members_[order[i]]));
    }
    members_ = std::move(sorted);
  } else {
    std::stable_sort(members_.begin(), members_.end(), by_key);
  }
  auto same_key = [](const value_type& a, const value_type& b) { return a.first == b.first; };
  members_.erase(std::unique(members_.begin(), members_.end(), same_key), members_.end());
}

std::size_t ValueObject::erase(std::string_view key) {
  auto it = find(key);
  if (it == members_.end()) {
    return 0;
  }
  members_.erase(it);
  return 1;
}

const Value* Value::Find(std::string_view key) const {
  if (!IsObject()) {
    return nullptr;
  }
  const Object& object = AsObject();
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}

const Value* Value::FindNonNull(std::string_view key) const {
  const Value* v = Find(key);
  return v != nullptr && !v->IsNull() ? v : nullptr;
}

std::string_view Value::StringOr(std::string_view key, std::string_view fallback) const {
  const Value* v = Find(key);
  return v != nullptr && v->IsString() ? std::string_view(v->AsString()) : fallback;
}

// Runs between escapes are appended whole. A run with a byte above 0x7f goes
// through AppendRepairedUtf8(): what is written is valid UTF-8 whatever `s`
// holds, so no string from elsewhere can make a board's `fields` invalid.
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  const char* p = s.data();
  const char* const end = p + s.size();
  while (true) {
    const char* run = p;
    bool not_ascii = false;
    p = FindJsonStringStop(p, end, &not_ascii);
    if (not_ascii) {
      AppendRepairedUtf8(out, std::string_view(run, static_cast<std::size_t>(p - run)));
    } else {
      out.append(run, static_cast<std::size_t>(p - run));
    }
    if (p == end) {
      break;
    }
    auto u = static_cast<unsigned char>(*p++);
    switch (u) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 0xf]);
    }
  }
  out.push_back('"');
}

namespace {

void AppendDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // JSON has no NaN or infinity
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, end);
}

}  // namespace

void Value::AppendJson(std::string& out) const {
  if (IsNull()) {
    out += "null";
  } else if (IsBool()) {
    out += AsBool() ? "true" : "false";
  } else if (IsInt()) {
    out += std::to_string(AsInt());
  } else if (IsDouble()) {
    AppendDouble(out, AsDouble());
  } else if (IsString()) {
    AppendJsonString(out, AsString());
  } else if (IsList()) {
    out.push_back('[');
    bool first = true;
    for (const Value& v : AsList()) {
      if (!first) {
        out.push_back(',');
      }
      first = false;
      v.AppendJson(out);
    }
    out.push_back(']');
  } else {
    AppendJsonObject(out, AsObject());
  }
}

void AppendJsonObject(std::string& out, const ValueObject& object) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : object) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    AppendJsonString(out, k);
    out.push_back(':');
    v.AppendJson(out);
  }
  out.push_back('}');
}

std::string Value::ToJson() const {
  std::string out;
  AppendJson(out);
  return out;
}

std::optional<Value> NumberFromText(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  const char* end = text.data() + text.size();
  std::int64_t i = 0;
  if (auto [ptr, ec] = std::from_chars(text.data(), end, i); ec == std::errc() && ptr == end) {
    return Value(i);
  }
  double d = 0;
  if (auto [ptr, ec] = std::from_chars(text.data(), end, d);
      ec == std::errc() && ptr == end &&
      text.find_first_of("0123456789") != std::string_view::npos && std::isfinite(d)) {
    return Value(d);
  }
  return std::nullopt;
}

void PrintTo(const Value& value, std::ostream* out) { *out << value.ToJson(); }

std::string Value::ToText() const {
  if (IsNull()) {
    return "";
  }
  if (IsString()) {
    return AsString();
  }
  if (IsList()) {
    std::string out;
    for (const Value& v : AsList()) {
      if (!out.empty()) {
        out += ", ";
      }
      out += v.ToText();
    }
    return out;
  }
  return ToJson();
}

}  // namespace boardsync

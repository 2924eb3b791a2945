#include "daemon/table.h"

#include <algorithm>
#include <ostream>

#include "core/redact.h"
#include "core/text.h"

namespace boardsync {
namespace {

constexpr std::size_t kMaxCellWidth = 40;

// Display width in code points (good enough for a terminal table).
std::size_t Width(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// `text` shown safely (ForDisplay: tracker text must not drive the
// terminal), cut to at most `width` code points, with "…" when cut; one line.
std::string Cell(std::string_view text, std::size_t width) {
  // Redacted before it is cut, so a cut never leaves the start of a token.
  std::string s = ForDisplay(Redact(text));
  if (Width(s) <= width) {
    return s;
  }
  std::size_t points = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80 && ++points == width) {
      return s.substr(0, i) + "…";
    }
  }
  return s;
}

}  // namespace

void Table::AddRow(std::string first_cell, const Value::Object& fields, bool note) {
  for (const auto& [name, _] : fields) {
    if (std::find(columns_.begin(), columns_.end(), name) == columns_.end()) {
      columns_.push_back(name);
    }
  }
  rows_.push_back(Row{std::move(first_cell), fields, note});
}

void Table::Print(std::ostream& out) const {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header{ForDisplay(first_column_)};
  for (const std::string& column : columns_) {
    header.push_back(ForDisplay(column));
  }
  cells.push_back(header);
  for (const Row& row : rows_) {
    std::vector<std::string> line{Cell(row.first, kMaxCellWidth)};
    for (const std::string& column : columns_) {
      if (row.note) {
        line.push_back(column == columns_.front() ? "(skipped)" : "");
        continue;
      }
      auto it = row.fields.find(column);
      line.push_back(it == row.fields.end() ? "" : Cell(it->second.ToText(), kMaxCellWidth));
    }
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> widths(header.size(), 0);
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      widths[i] = std::max(widths[i], Width(line[i]));
    }
  }
  for (const auto& line : cells) {
    std::string text;
    for (std::size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size()) {
        text.append(widths[i] - Width(line[i]) + 2, ' ');
      }
    }
    while (!text.empty() && text.back() == ' ') {
      text.pop_back();
    }
    out << text << "\n";
  }
}

}  // namespace boardsync

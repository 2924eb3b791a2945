// Table: rows of fields printed as an aligned text table for people.
// Columns are the union of the rows' field names; long cells are cut short.
// Every cell and heading is shown through ForDisplay() (core/text.h).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "core/value.h"

namespace boardsync {

class Table {
 public:
  explicit Table(std::string first_column) : first_column_(std::move(first_column)) {}

  // `note` rows show "(skipped)" instead of their fields.
  void AddRow(std::string first_cell, const Value::Object& fields, bool note);
  void Print(std::ostream& out) const;

 private:
  struct Row {
    std::string first;
    Value::Object fields;
    bool note;
  };
  std::string first_column_;
  std::vector<std::string> columns_;
  std::vector<Row> rows_;
};

}  // namespace boardsync

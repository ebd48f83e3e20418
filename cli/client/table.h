#pragma once

#include <string>
#include <vector>

namespace certgate::cli {

// Table renders rows as aligned columns for a terminal: a header line, then
// one line per row, columns separated by two spaces, no trailing spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // AddRow appends a row; missing cells are empty, extra cells are dropped.
  void AddRow(std::vector<std::string> cells);

  size_t row_count() const { return rows_.size(); }

  // Render returns the table, every line ending in '\n'.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace certgate::cli

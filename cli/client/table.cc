#include "cli/client/table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace certgate::cli {

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t i = 0; i < headers_.size(); ++i) {
    widths[i] = headers_[i].size();
    for (const auto& row : rows_) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto render_line = [&widths](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      absl::StrAppend(&line, cells[i]);
      if (i + 1 < cells.size()) {
        line.append(widths[i] - cells[i].size() + 2, ' ');
      }
    }
    // A short last cell would otherwise leave the padding of the columns before it.
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    return absl::StrCat(line, "\n");
  };
  std::string out = render_line(headers_);
  for (const auto& row : rows_) {
    absl::StrAppend(&out, render_line(row));
  }
  return out;
}

}  // namespace certgate::cli

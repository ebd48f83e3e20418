#include "cli/client/table.h"

#include "gtest/gtest.h"

namespace certgate::cli {
namespace {

TEST(TableTest, AlignsColumnsToTheWidestCell) {
  Table table({"ID", "SUBJECT", "NOT AFTER"});
  table.AddRow({"0123456789abcdef", "CN=Acme Devices CA", "2036-11-24 12:00:00 UTC"});
  table.AddRow({"ff", "CN=x", "-"});
  EXPECT_EQ(table.Render(),
            "ID                SUBJECT             NOT AFTER\n"
            "0123456789abcdef  CN=Acme Devices CA  2036-11-24 12:00:00 UTC\n"
            "ff                CN=x                -\n");
  EXPECT_EQ(table.row_count(), 2u);
}

TEST(TableTest, NoTrailingSpacesWhenTheLastCellIsShort) {
  Table table({"A", "LONG HEADER"});
  table.AddRow({"x", ""});
  std::string rendered = table.Render();
  EXPECT_EQ(rendered, "A  LONG HEADER\nx\n");
}

TEST(TableTest, MissingCellsAreEmptyAndExtraCellsDropped) {
  Table table({"A", "B"});
  table.AddRow({"1"});
  table.AddRow({"1", "2", "3"});
  EXPECT_EQ(table.Render(), "A  B\n1\n1  2\n");
}

TEST(TableTest, HeaderOnlyWhenNoRows) {
  Table table({"NODE", "ACKED"});
  EXPECT_EQ(table.Render(), "NODE  ACKED\n");
}

}  // namespace
}  // namespace certgate::cli

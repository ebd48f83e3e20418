// The SQLite connection's write-ahead log is checkpointed in the background,
// never inside a commit, and nothing committed is lost by it.
#include "controlplane/store/sqlite_database.h"

#include <sys/stat.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace certgate::controlplane {
namespace {

using ::certgate::testing::MakeTempDir;
using ::certgate::testing::WaitFor;

off_t FileSize(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? info.st_size : -1;
}

absl::StatusOr<int64_t> CountRows(Database& db) {
  absl::StatusOr<Statement> count = db.Prepare("SELECT COUNT(*) FROM t");
  if (!count.ok()) return count.status();
  absl::StatusOr<bool> row = count->Step();
  if (!row.ok()) return row.status();
  return count->ColumnInt64(0);
}

TEST(SqliteDatabaseTest, TheLogIsCheckpointedInTheBackgroundAndKeepsEveryCommit) {
  std::string path = MakeTempDir("certgate-wal") + "/store.db";
  constexpr int kCommits = 1500;  // one page each, past kPagesBeforeCheckpoint
  {
    auto opened = SqliteDatabase::Open(path);
    ASSERT_TRUE(opened.ok()) << opened.status();
    auto* db = static_cast<SqliteDatabase*>(opened->get());
    ASSERT_TRUE(db->Execute("CREATE TABLE t (v BLOB)").ok());
    off_t before = FileSize(path);
    for (int i = 0; i < kCommits; ++i) {
      ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (zeroblob(3000))").ok());
    }
    ASSERT_TRUE(WaitFor([&] { return db->background_checkpoints() >= 1; }, absl::Seconds(20)));
    // The checkpoint copied the log's pages into the database file.
    EXPECT_TRUE(WaitFor([&] { return FileSize(path) >= before + 1000 * 3000; }, absl::Seconds(20)))
        << FileSize(path);
    auto rows = CountRows(*db);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(*rows, kCommits);
  }
  auto reopened = SqliteDatabase::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto rows = CountRows(**reopened);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, kCommits);
}

}  // namespace
}  // namespace certgate::controlplane

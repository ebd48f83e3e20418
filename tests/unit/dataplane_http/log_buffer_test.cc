// LogFile and LogBuffer: destinations, buffering, sampling and reopening,
// against real files in a temporary directory.
#include "dataplane/metrics/log_buffer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dataplane/metrics/log_file.h"
#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

std::string TempDir() {
  std::string tmpl = absl::StrCat(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", "/logbuf-XXXXXX");
  return mkdtemp(tmpl.data());
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

int CountLines(const std::string& text) {
  int n = 0;
  for (char c : text) {
    n += c == '\n';
  }
  return n;
}

TEST(LogFileTest, DestinationsAndBadInput) {
  EXPECT_FALSE((*LogFile::Open("off"))->enabled());
  EXPECT_EQ((*LogFile::Open("stdout"))->fd(), 1);
  EXPECT_EQ((*LogFile::Open("stderr"))->fd(), 2);
  EXPECT_FALSE(LogFile::Open("").ok());
  auto missing = LogFile::Open("/nonexistent-dir/access.log");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent-dir/access.log"), std::string::npos);
}

// With a turn hook and no buffer, lines wait for the owner's Flush (the
// worker's end of loop turn); the hook is asked once per batch.
TEST(LogBufferTest, TurnHookBatchesLinesUntilFlush) {
  std::string path = TempDir() + "/turn.log";
  auto file = LogFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  LogBuffer buffer(file->get(), 0, 1.0, 1);
  int calls = 0;
  buffer.SetTurnHook([](void* arg) { ++*static_cast<int*>(arg); }, &calls);
  buffer.Write("{\"a\":1}\n");
  buffer.Write("{\"a\":2}\n");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Slurp(path), "");
  buffer.Flush();
  EXPECT_EQ(Slurp(path), "{\"a\":1}\n{\"a\":2}\n");
  buffer.Write("{\"a\":3}\n");
  EXPECT_EQ(calls, 2);
  // Taking the hook away writes what it held, then every line at once.
  buffer.SetTurnHook(nullptr, nullptr);
  buffer.Write("{\"a\":4}\n");
  EXPECT_EQ(CountLines(Slurp(path)), 4);
  EXPECT_EQ(calls, 2);
}

TEST(LogBufferTest, LinesHeldForTheTurnAreNotLostAtShutdownOrInABigTurn) {
  std::string path = TempDir() + "/turn_shutdown.log";
  auto file = LogFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  int calls = 0;
  {
    LogBuffer buffer(file->get(), 0, 1.0, 1);
    buffer.SetTurnHook([](void* arg) { ++*static_cast<int*>(arg); }, &calls);
    // A turn that logs more than the turn limit writes as it goes instead
    // of holding it all.
    std::string line(1000, 'x');
    line.push_back('\n');
    for (int i = 0; i < 70; ++i) {
      buffer.Write(line);
    }
    EXPECT_GE(calls, 1);  // again after each write-as-it-goes: harmless
    EXPECT_GE(CountLines(Slurp(path)), 64);
    // The loop stops before its turn ends (worker shutdown): the buffer
    // going away writes the held lines.
    buffer.Write("{\"last\":1}\n");
  }
  std::string written = Slurp(path);
  EXPECT_EQ(CountLines(written), 71);
  EXPECT_TRUE(absl::EndsWith(written, "{\"last\":1}\n"));
}

TEST(LogFileTest, FileIsAppendedNotTruncatedAndNotWorldReadable) {
  std::string path = TempDir() + "/access.log";
  { std::ofstream(path) << "earlier line\n"; }
  chmod(path.c_str(), 0600);
  auto file = LogFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  LogBuffer buffer(file->get(), 0, 1.0, 1);
  buffer.Write("{\"a\":1}\n");
  EXPECT_EQ(Slurp(path), "earlier line\n{\"a\":1}\n");

  std::string fresh = TempDir() + "/new.log";
  mode_t old_umask = umask(022);
  auto created = LogFile::Open(fresh);
  umask(old_umask);
  ASSERT_TRUE(created.ok());
  struct stat st {};
  ASSERT_EQ(stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(LogBufferTest, BuffersUntilFullOrFlushed) {
  std::string path = TempDir() + "/access.log";
  auto file = LogFile::Open(path);
  ASSERT_TRUE(file.ok());
  std::string line = "{\"n\":\"01234567890\"}\n";  // 20 bytes
  ASSERT_EQ(line.size(), 20u);
  {
    LogBuffer buffer(file->get(), 100, 1.0, 1);
    for (int i = 0; i < 4; ++i) {
      buffer.Write(line);
    }
    EXPECT_EQ(Slurp(path), "") << "80 bytes stay buffered below 100";
    buffer.Write(line);
    EXPECT_EQ(CountLines(Slurp(path)), 5) << "the fifth line fills the buffer";
    buffer.Write(line);
    EXPECT_EQ(CountLines(Slurp(path)), 5);
    buffer.Flush();
    EXPECT_EQ(CountLines(Slurp(path)), 6);
    buffer.Write(line);
  }
  EXPECT_EQ(CountLines(Slurp(path)), 7) << "destruction flushes";
}

// Append formats a line straight into the buffer; it is written as Write's
// would be, in each mode: at once (no buffer, no hook), at the end of the
// turn (hook), when the buffer fills.
TEST(LogBufferTest, AppendWritesLikeWriteInEveryMode) {
  std::string dir = TempDir();
  auto line = [](std::string* out) { out->append("{\"n\":\"01234567890\"}\n"); };
  {
    auto file = LogFile::Open(dir + "/direct.log");
    ASSERT_TRUE(file.ok());
    LogBuffer buffer(file->get(), 0, 1.0, 1);
    buffer.Append(line);
    EXPECT_EQ(Slurp(dir + "/direct.log"), "{\"n\":\"01234567890\"}\n");
    EXPECT_EQ(buffer.buffered(), 0u);
  }
  {
    auto file = LogFile::Open(dir + "/turn.log");
    ASSERT_TRUE(file.ok());
    LogBuffer buffer(file->get(), 0, 1.0, 1);
    int calls = 0;
    buffer.SetTurnHook([](void* arg) { ++*static_cast<int*>(arg); }, &calls);
    buffer.Append(line);
    buffer.Append(line);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(Slurp(dir + "/turn.log"), "");
    buffer.Flush();
    EXPECT_EQ(CountLines(Slurp(dir + "/turn.log")), 2);
  }
  {
    auto file = LogFile::Open(dir + "/full.log");
    ASSERT_TRUE(file.ok());
    LogBuffer buffer(file->get(), 100, 1.0, 1);
    for (int i = 0; i < 4; ++i) {
      buffer.Append(line);
    }
    EXPECT_EQ(Slurp(dir + "/full.log"), "");
    buffer.Append(line);
    EXPECT_EQ(CountLines(Slurp(dir + "/full.log")), 5) << "the fifth line fills the buffer";
  }
  auto off = LogFile::Open("off");
  LogBuffer disabled(off->get(), 0, 1.0, 1);
  bool called = false;
  disabled.Append([&called](std::string*) { called = true; });
  EXPECT_FALSE(called) << "a disabled log formats nothing";
}

TEST(LogBufferTest, SamplingKeepsOnlySuccessesOut) {
  auto off = LogFile::Open("off");
  LogBuffer disabled(off->get(), 0, 1.0, 1);
  EXPECT_FALSE(disabled.ShouldLogRequest(500, true));

  std::string path = TempDir() + "/access.log";
  auto file = LogFile::Open(path);
  LogBuffer none(file->get(), 0, 0.0, 7);
  LogBuffer all(file->get(), 0, 1.0, 7);
  LogBuffer some(file->get(), 0, 0.1, 7);
  int kept_none = 0, kept_some = 0;
  for (int i = 0; i < 100000; ++i) {
    kept_none += none.ShouldLogRequest(200, false);
    kept_some += some.ShouldLogRequest(200, false);
    ASSERT_TRUE(all.ShouldLogRequest(200, false));
    // Refusals, errors, no response and invalid certificates: always.
    ASSERT_TRUE(none.ShouldLogRequest(403, false));
    ASSERT_TRUE(none.ShouldLogRequest(502, false));
    ASSERT_TRUE(none.ShouldLogRequest(0, false));
    ASSERT_TRUE(none.ShouldLogRequest(200, true));
  }
  EXPECT_EQ(kept_none, 0);
  EXPECT_GT(kept_some, 9000);
  EXPECT_LT(kept_some, 11000);
}

TEST(LogFileTest, ReopenAfterRenameWritesANewFileAndLosesNothing) {
  std::string dir = TempDir();
  std::string path = dir + "/access.log";
  auto file = LogFile::Open(path);
  ASSERT_TRUE(file.ok());
  LogBuffer buffer(file->get(), 0, 1.0, 1);
  buffer.Write("one\n");
  ASSERT_EQ(rename(path.c_str(), (path + ".1").c_str()), 0);
  buffer.Write("two\n");  // still the renamed file, as logrotate expects
  int fd_before = (*file)->fd();
  ASSERT_TRUE((*file)->Reopen().ok());
  EXPECT_EQ((*file)->fd(), fd_before);
  buffer.Write("three\n");
  EXPECT_EQ(Slurp(path + ".1"), "one\ntwo\n");
  EXPECT_EQ(Slurp(path), "three\n");

  // A reopen that cannot open keeps the old file.
  ASSERT_EQ(rename(path.c_str(), (dir + "/moved").c_str()), 0);
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);  // a directory where the file was
  EXPECT_FALSE((*file)->Reopen().ok());
  buffer.Write("four\n");
  EXPECT_EQ(Slurp(dir + "/moved"), "three\nfour\n");
}

}  // namespace
}  // namespace certgate::edge

#include "dataplane/config/state_file.h"

#include <sys/stat.h>

#include <string>

#include "dataplane/config/config_subscription.h"
#include "dataplane/tls/zone_ssl_context.h"
#include "dataplane/tls/zone_trust.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/unit/dataplane/edge_test_util.h"

namespace certgate::edge {
namespace {

using certgate::testing::MakeTempDir;
using certgate::testing::ReadFile;
using certgate::testing::WriteFile;

TEST(StateFileTest, RoundTrip) {
  std::string dir = MakeTempDir("edge-state");
  std::string path = dir + "/config.state";
  testing::KeyAndCert root = testing::MakeCa("State Root");
  v1::Snapshot snapshot =
      testing::MakeSnapshot(12, {testing::MakeZone(1, "a.pizza", {root.cert.get()}),
                                 testing::MakeZone(2, "*.b.pizza", {root.cert.get()})});
  ASSERT_TRUE(StateFile::Write(path, snapshot).ok());
  struct stat info;
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u) << "the file holds private keys";

  auto read = StateFile::Read(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->SerializeAsString(), snapshot.SerializeAsString());

  auto config = LoadStateFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->version(), 12u);
  EXPECT_NE((*config)->FindBySni("x.b.pizza"), nullptr);

  // A second write replaces the first and leaves no temp file behind.
  ASSERT_TRUE(StateFile::Write(path, testing::MakeSnapshot(13, {})).ok());
  EXPECT_EQ(StateFile::Read(path)->version(), 13u);
  auto listing = certgate::testing::RunCommand({"/bin/ls", "-A", dir});
  EXPECT_EQ(listing.out, "config.state\n");
}

TEST(StateFileTest, MissingFileIsNotFound) {
  std::string dir = MakeTempDir("edge-state");
  auto read = StateFile::Read(dir + "/absent");
  EXPECT_TRUE(absl::IsNotFound(read.status())) << read.status();
  EXPECT_TRUE(absl::IsNotFound(LoadStateFile(dir + "/absent").status()));
}

TEST(StateFileTest, OtherFileIsRefused) {
  std::string dir = MakeTempDir("edge-state");
  WriteFile(dir + "/other", "hello world\n");
  auto read = StateFile::Read(dir + "/other");
  EXPECT_TRUE(absl::IsDataLoss(read.status())) << read.status();
  EXPECT_NE(read.status().message().find("not a certgate edge state file"), std::string::npos);
}

TEST(StateFileTest, WriteIntoAMissingDirectoryFailsAndLeavesNothing) {
  std::string dir = MakeTempDir("edge-state");
  absl::Status status = StateFile::Write(dir + "/no/such/dir/state", testing::MakeSnapshot(1, {}));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("create"), std::string::npos) << status;
}

TEST(StateFileTest, AZoneThatNoLongerBuildsLoadsAsAFailureAndTheRestServes) {
  std::string dir = MakeTempDir("edge-state");
  v1::EdgeZone bad = testing::MakeZone(1, "a.pizza", {});
  bad.set_origin("ftp://nowhere");
  v1::EdgeZone good = testing::MakeZone(2, "b.pizza", {});
  ASSERT_TRUE(StateFile::Write(dir + "/state", testing::MakeSnapshot(2, {bad, good})).ok());
  auto config = LoadStateFile(dir + "/state");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->FindBySni("a.pizza"), nullptr);
  EXPECT_NE((*config)->FindBySni("b.pizza"), nullptr);
  ASSERT_EQ((*config)->Failures().size(), 1u);
  EXPECT_EQ((*config)->Failures()[0].zone_id, 1u);
}

// The server chain and key of a recorded zone are not parsed again at start
// (the edge recorded only zones that built): a damaged one loads, and its
// TLS context, made at first use, fails for that zone alone (TlsServer then
// fails its handshakes and reports it; see tls_server_test).
TEST(StateFileTest, ARecordedServerKeyIsCheckedWhenTheZoneIsFirstUsed) {
  std::string dir = MakeTempDir("edge-state");
  v1::EdgeZone damaged = testing::MakeZone(1, "a.pizza", {});
  damaged.set_server_key_pem("broken");
  v1::EdgeZone good = testing::MakeZone(2, "b.pizza", {});
  ASSERT_TRUE(StateFile::Write(dir + "/state", testing::MakeSnapshot(2, {damaged, good})).ok());
  auto config = LoadStateFile(dir + "/state");
  ASSERT_TRUE(config.ok()) << config.status();
  const ZoneConfig* a = (*config)->FindBySni("a.pizza");
  const ZoneConfig* b = (*config)->FindBySni("b.pizza");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(NewZoneSslContext(a->source.Zone(), *a->trust).ok());
  EXPECT_TRUE(NewZoneSslContext(b->source.Zone(), *b->trust).ok());
  // From the control plane the same zone is refused when applied.
  auto received = EdgeConfig::FromSnapshot(testing::MakeSnapshot(2, {damaged, good}));
  ASSERT_TRUE(received.ok());
  EXPECT_EQ((*received)->FindBySni("a.pizza"), nullptr);
  ASSERT_EQ((*received)->Failures().size(), 1u);
}

TEST(StateFileTest, WrittenFilesArePrivateWhateverTheUmask) {
  std::string dir = MakeTempDir("edge-state");
  mode_t old = umask(0);
  absl::Status written = StateFile::Write(dir + "/state", testing::MakeSnapshot(3, {}));
  umask(old);
  ASSERT_TRUE(written.ok()) << written;
  struct stat info;
  ASSERT_EQ(stat((dir + "/state").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
}

}  // namespace
}  // namespace certgate::edge

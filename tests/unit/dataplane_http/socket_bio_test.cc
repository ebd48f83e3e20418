#include "dataplane/http/socket_bio.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "openssl/bio.h"

namespace certgate::edge {
namespace {

class SocketBioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0);
    bio_ = SocketBio::New(fds_[0]);
    ASSERT_NE(bio_, nullptr);
  }
  void TearDown() override {
    bio_.reset();
    close(fds_[0]);
    close(fds_[1]);
  }
  void Send(const std::string& data) {
    ASSERT_EQ(write(fds_[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  std::string Read(int len) {
    std::string out(len, '\0');
    int n = BIO_read(bio_.get(), out.data(), len);
    return n > 0 ? out.substr(0, n) : "";
  }

  int fds_[2];
  bssl::UniquePtr<BIO> bio_;
};

// What a record split across segments must never do: leave bytes the BIO
// already holds looking like "nothing to read". The caller decides whether
// to read on MaybeReadable (or BIO_pending), so it must be true while any
// byte waits in the BIO, whatever the hint says about the socket.
TEST_F(SocketBioTest, BytesHeldInTheBioAreReadableWhateverTheHintSays) {
  SocketBio::UseReadinessHints(bio_.get(), true);
  Send(
      "12345"
      "67890");                 // a record header and part of its body
  EXPECT_EQ(Read(5), "12345");  // one recv took all ten: a short one
  EXPECT_TRUE(SocketBio::MaybeReadable(bio_.get()));
  EXPECT_EQ(BIO_pending(bio_.get()), 5u);
  EXPECT_EQ(Read(100), "67890");
  // The last recv was short and the loop has said nothing since: the socket
  // is taken to be empty, and a read does not touch it.
  EXPECT_FALSE(SocketBio::MaybeReadable(bio_.get()));
  Send("rest");  // the rest of the record arrives
  char c;
  EXPECT_EQ(BIO_read(bio_.get(), &c, 1), -1);
  EXPECT_TRUE(BIO_should_retry(bio_.get()));
  // The event loop reports the socket readable: it is read again.
  SocketBio::MarkReadable(bio_.get());
  EXPECT_TRUE(SocketBio::MaybeReadable(bio_.get()));
  EXPECT_EQ(Read(100), "rest");
}

TEST_F(SocketBioTest, WithoutHintsEveryReadAsksTheSocketAndEofIsZero) {
  Send("ab");
  EXPECT_EQ(Read(100), "ab");
  EXPECT_TRUE(SocketBio::MaybeReadable(bio_.get()));
  char c;
  EXPECT_EQ(BIO_read(bio_.get(), &c, 1), -1);
  EXPECT_TRUE(BIO_should_retry(bio_.get()));
  Send("c");
  EXPECT_EQ(Read(1), "c");
  shutdown(fds_[1], SHUT_WR);
  EXPECT_EQ(BIO_read(bio_.get(), &c, 1), 0);
  EXPECT_FALSE(BIO_should_retry(bio_.get()));
}

TEST_F(SocketBioTest, AFullRecvKeepsTheSocketMaybeReadable) {
  SocketBio::UseReadinessHints(bio_.get(), true);
  // More than one buffer's worth: the first recv fills the buffer, so the
  // socket may still hold more and is read without waiting for the loop.
  std::string big(40000, 'x');
  Send(big);
  size_t got = 0;
  while (got < big.size()) {
    std::string part = Read(16384);
    ASSERT_FALSE(part.empty()) << "stalled after " << got << " bytes";
    got += part.size();
  }
  EXPECT_EQ(got, big.size());
}

}  // namespace
}  // namespace certgate::edge

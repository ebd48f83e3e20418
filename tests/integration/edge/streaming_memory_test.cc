// Bounded memory while streaming: 256 MiB request bodies (Content-Length and
// chunked) and 256 MiB response bodies (Content-Length and chunked) through a
// real certgate-edge with a client certificate, to a streaming origin
// (tests/integration/edge/stream_origin.py, which never holds a body). The
// edge's peak resident memory during each transfer (VmHWM, reset before it
// through /proc/PID/clear_refs) may grow by at most 32 MiB over its resident
// memory before it: a body must flow through, never pile up. Every transfer
// is checked end to end (byte count and SHA-256), so a bound met by a
// transfer that did not happen fails too. Hostile case: a client that asks
// for a large body and then reads nothing must not make the edge hold it.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "openssl/sha.h"
#include "tests/integration/edge/edge_environment.h"
#include "tests/integration/faults/tls_client.h"

namespace certgate::testing {
namespace {

constexpr int64_t kBodyBytes = int64_t{256} << 20;
constexpr int64_t kMaxGrowthKib = 32 * 1024;

// StatusKib reads a "Name:   N kB" line of /proc/PID/status; -1 when absent.
int64_t StatusKib(pid_t pid, const std::string& name) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, name + ":")) {
      std::istringstream fields(line.substr(name.size() + 1));
      int64_t kib = -1;
      fields >> kib;
      return kib;
    }
  }
  return -1;
}

// Sha256Of: the SHA-256 of `n` bytes, each the next of `pattern` (cycled).
std::string Sha256Of(int64_t n, const std::string& pattern) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  std::string block;
  while (block.size() < 256 * 1024) {
    block += pattern;
  }
  for (int64_t left = n; left > 0;) {
    size_t take = static_cast<size_t>(std::min<int64_t>(left, block.size()));
    SHA256_Update(&ctx, block.data(), take);
    left -= take;
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &ctx);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

class StreamingMemoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("certgate-streaming"));
    env_ = new EdgeEnvironment(*dir_);
    pki_ = new Pki(*dir_);
    std::string error;
    ASSERT_TRUE(env_->StartControl(&error)) << error;
    ASSERT_TRUE(env_->StartEdge(&error, {"--workers", "1"})) << error;
    int port = FreePort();
    auto origin = Subprocess::Start(
        {"/usr/bin/python3", CERTGATE_STREAM_ORIGIN_PY, "--port", std::to_string(port)},
        *dir_ + "/stream_origin.log");
    ASSERT_TRUE(origin.ok()) << origin.status();
    origin_ = origin->release();
    ASSERT_TRUE(WaitForPort(port)) << origin_->ReadLog();
    token_ = new std::string(env_->NewTenant("streams"));
    ca_ = new Identity(pki_->Ca("streams-ca"));
    device_ = new Identity(pki_->Leaf("streams-device", *ca_));
    env_->CreateZone(*token_, kHost, v1::MODE_ENFORCE, absl::StrCat("http://127.0.0.1:", port));
    ASSERT_TRUE(env_->WaitForVersion(env_->AddRoot(*token_, kHost, *ca_)));
    // A sparse file of zeros: curl streams it from the page cache.
    upload_path_ = new std::string(*dir_ + "/upload.bin");
    int fd = open(upload_path_->c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, kBodyBytes), 0);
    close(fd);
  }

  static void TearDownTestSuite() {
    delete origin_;
    origin_ = nullptr;
    delete env_;
    env_ = nullptr;
  }

  void TearDown() override {
    if (HasFailure()) {
      env_->PrintEdgeLogTail();
      std::cerr << origin_->ReadLog();
    }
  }

  // Growth runs `argv` (a client) and returns the edge's peak resident
  // memory during it minus its resident memory before it, KiB; the client's
  // output goes to *out.
  static int64_t Growth(const std::vector<std::string>& argv, CommandResult* out) {
    pid_t pid = env_->edge()->pid();
    std::ofstream(absl::StrCat("/proc/", pid, "/clear_refs")) << "5";
    int64_t before = StatusKib(pid, "VmRSS");
    *out = RunCommand(argv, "", {}, absl::Seconds(240));
    int64_t peak = StatusKib(pid, "VmHWM");
    EXPECT_GT(before, 0);
    EXPECT_GT(peak, 0);
    std::cerr << "edge VmRSS before " << before << " KiB, VmHWM during " << peak << " KiB\n";
    return peak - before;
  }

  static std::vector<std::string> CurlArgv() {
    std::string port = std::to_string(env_->edge_port());
    return {"curl",       "-sSk",
            "--max-time", "200",
            "--resolve",  absl::StrCat(kHost, ":", port, ":127.0.0.1"),
            "--cert",     device_->cert_path,
            "--key",      device_->key_path};
  }

  void Upload(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = CurlArgv();
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"-T", *upload_path_,
                             absl::StrCat("https://", kHost, ":", env_->edge_port(), "/up")});
    CommandResult r;
    int64_t growth = Growth(argv, &r);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("\"body_bytes\": ", kBodyBytes))) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, Sha256Of(kBodyBytes, std::string(1, '\0')))) << r.out;
    EXPECT_LT(growth, kMaxGrowthKib) << "the edge grew by " << growth << " KiB for one upload";
  }

  void Download(bool chunked) {
    std::string url = absl::StrCat("https://", kHost, ":", env_->edge_port(),
                                   "/bytes?n=", kBodyBytes, chunked ? "&chunked=1" : "");
    std::string command;
    for (const std::string& arg : CurlArgv()) {
      absl::StrAppend(&command, "'", arg, "' ");
    }
    absl::StrAppend(&command, "'", url, "' | sha256sum");
    CommandResult r;
    int64_t growth = Growth({"/bin/sh", "-c", command}, &r);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string pattern;
    for (int i = 0; i < 256; ++i) {
      pattern.push_back(static_cast<char>(i));
    }
    EXPECT_EQ(r.out.substr(0, 64), Sha256Of(kBodyBytes, pattern)) << r.out << r.err;
    EXPECT_LT(growth, kMaxGrowthKib) << "the edge grew by " << growth << " KiB for one download";
  }

  static constexpr char kHost[] = "big.streams.pizza";
  static inline std::string* dir_ = nullptr;
  static inline EdgeEnvironment* env_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline Subprocess* origin_ = nullptr;
  static inline std::string* token_ = nullptr;
  static inline Identity* ca_ = nullptr;
  static inline Identity* device_ = nullptr;
  static inline std::string* upload_path_ = nullptr;
};

TEST_F(StreamingMemoryTest, ContentLengthUploadStreams) { Upload({}); }

TEST_F(StreamingMemoryTest, ChunkedUploadStreams) { Upload({"-H", "Transfer-Encoding: chunked"}); }

TEST_F(StreamingMemoryTest, ContentLengthDownloadStreams) { Download(false); }

TEST_F(StreamingMemoryTest, ChunkedDownloadStreams) { Download(true); }

// A client that asks for 256 MiB and reads nothing: the origin keeps sending
// until the edge stops reading it, so the edge holds at most its buffers.
TEST_F(StreamingMemoryTest, ClientThatDoesNotReadHoldsNoBody) {
  pid_t pid = env_->edge()->pid();
  std::ofstream(absl::StrCat("/proc/", pid, "/clear_refs")) << "5";
  int64_t before = StatusKib(pid, "VmRSS");
  auto client = faults::TlsClient::Connect(env_->edge_port(), kHost, absl::Seconds(10),
                                           device_->cert.get(), device_->key.get());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Write(
      absl::StrCat("GET /bytes?n=", kBodyBytes, " HTTP/1.1\r\nHost: ", kHost, "\r\n\r\n")));
  // The response starts (so the edge is relaying), then nothing is read.
  ASSERT_TRUE((*client)->ReadableWithin(absl::Seconds(10)));
  absl::SleepFor(absl::Seconds(3));
  int64_t growth = StatusKib(pid, "VmHWM") - before;
  EXPECT_LT(growth, kMaxGrowthKib)
      << "the edge grew by " << growth << " KiB for a client that reads nothing";
  client->reset();
  // The edge still serves.
  HttpResult r = env_->Curl(kHost, "/", device_);
  EXPECT_EQ(r.status, 200) << r.body << r.stderr_text;
}

// A client that pipelines requests the edge answers itself (421: a host of
// another zone, keep-alive) and reads nothing: the answers never pause the
// parser, so only the edge's output watermark stops it reading more; its
// writes then block instead of the edge holding an answer for each.
TEST_F(StreamingMemoryTest, ClientThatPipelinesAndReadsNothingHoldsNoAnswers) {
  pid_t pid = env_->edge()->pid();
  std::ofstream(absl::StrCat("/proc/", pid, "/clear_refs")) << "5";
  int64_t before = StatusKib(pid, "VmRSS");
  auto client = faults::TlsClient::Connect(env_->edge_port(), kHost, absl::Seconds(2),
                                           device_->cert.get(), device_->key.get());
  ASSERT_TRUE(client.ok()) << client.status();
  std::string request =
      absl::StrCat("GET / HTTP/1.1\r\nHost: ", std::string(200, 'x'), ".invalid\r\n\r\n");
  std::string batch;
  while (batch.size() < (1 << 20)) {
    batch += request;
  }
  // Up to 4 times the growth bound of requests, each answered with more
  // bytes than it has; a write blocked for the io timeout ends it.
  int64_t sent = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (sent < 4 * kMaxGrowthKib * 1024 && absl::Now() < deadline && (*client)->Write(batch)) {
    sent += static_cast<int64_t>(batch.size());
  }
  int64_t growth = StatusKib(pid, "VmHWM") - before;
  EXPECT_LT(growth, kMaxGrowthKib) << "the edge grew by " << growth << " KiB after " << sent
                                   << " bytes of pipelined requests nobody read the answers to";
  EXPECT_LT(sent, 4 * kMaxGrowthKib * 1024) << "the edge kept reading";
  client->reset();
  HttpResult r = env_->Curl(kHost, "/", device_);
  EXPECT_EQ(r.status, 200) << r.body << r.stderr_text;
}

}  // namespace
}  // namespace certgate::testing

// What an operator does to a running certgate-edge: choose where its logs go,
// rotate them, and replace the process. A real edge on loopback, real
// clients, a fake control plane; every wait is bounded.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/cert_factory.h"
#include "dataplane/server/handover_client.h"
#include "gtest/gtest.h"
#include "tests/integration/faults/edge_process.h"
#include "tests/integration/faults/fake_control_plane.h"
#include "tests/integration/faults/test_origin.h"
#include "tests/integration/faults/tls_client.h"
#include "tests/support/process.h"

namespace certgate::faults {
namespace {

using ::certgate::testing::FreePort;
using ::certgate::testing::MakeTempDir;
using ::certgate::testing::ReadFile;
using ::certgate::testing::WaitFor;

constexpr char kGood[] = "good.auth.pizza";
constexpr char kBroken[] = "broken.auth.pizza";
constexpr char kSecure[] = "secure.auth.pizza";
// Its origin is the edge's own metrics socket, which the edge refuses
// before connecting.
constexpr char kSelf[] = "self.auth.pizza";

// ClientIdentity: a client certificate from the fault tests' CA.
struct ClientIdentity {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
};

ClientIdentity MakeClientIdentity() {
  const FaultPki& pki = GetFaultPki();
  ClientIdentity id;
  id.key = *GenerateKey(KeyType::kEcP256);
  CertificateSpec spec;
  spec.common_name = "load-client";
  spec.client_auth = true;
  id.cert = *IssueCertificate(spec, id.key.get(), pki.ca.get(), pki.ca_key.get());
  return id;
}

// ConnectionLoad: threads that each open a new connection (a full
// handshake with a client certificate), send one request to the enforce
// zone and expect a 200, again and again. Anything else is a failure.
class ConnectionLoad {
 public:
  ConnectionLoad(int port, int threads) : port_(port), identity_(MakeClientIdentity()) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Run(); });
    }
  }
  ~ConnectionLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }
  int ok() const { return ok_.load(); }
  int failures() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(failures_.size());
  }
  std::string FirstFailure() {
    absl::MutexLock lock(&mu_);
    return failures_.empty() ? "" : failures_.front();
  }

 private:
  void Run() {
    while (!stop_.load()) {
      std::string failure = OneRequest();
      if (failure.empty()) {
        ++ok_;
      } else {
        absl::MutexLock lock(&mu_);
        failures_.push_back(failure);
      }
    }
  }

  std::string OneRequest() {
    auto client = TlsClient::Connect(port_, kSecure, absl::Seconds(20), identity_.cert.get(),
                                     identity_.key.get());
    if (!client.ok()) {
      return absl::StrCat("connect: ", client.status().message());
    }
    if (!(*client)->Write(
            absl::StrCat("GET / HTTP/1.1\r\nHost: ", kSecure, "\r\nConnection: close\r\n\r\n"))) {
      return "write failed";
    }
    auto response = (*client)->ReadResponse();
    if (!response.ok()) {
      return absl::StrCat("read: ", response.status().message());
    }
    if (StatusCode(*response) != 200) {
      return absl::StrCat("response: ", response->substr(0, 200));
    }
    return "";
  }

  const int port_;
  const ClientIdentity identity_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  absl::Mutex mu_;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

// TakeoverPid: the pid an edge log says took over, 0 if none.
pid_t TakeoverPid(const std::string& log) {
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    size_t at = line.find("certgate-edge: pid ");
    if (at == absl::string_view::npos || !absl::StrContains(line, " took over ")) {
      continue;
    }
    absl::string_view rest = line.substr(at + strlen("certgate-edge: pid "));
    int pid = 0;
    if (absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &pid)) {
      return pid;
    }
  }
  return 0;
}

// StopPid: SIGTERM and reap `pid` (a child of this process, as subreaper).
int StopPid(pid_t pid) {
  kill(pid, SIGTERM);
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  int status = 0;
  while (absl::Now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

std::string Get(const std::string& host, const std::string& path = "/") {
  return absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, "\r\n\r\n");
}

// Lines: the lines of `text` that contain `needle`.
int Lines(const std::string& text, const std::string& needle) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    n += absl::StrContains(line, needle);
  }
  return n;
}

class EdgeOperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("certgate-ops");
    auto origin = TestOrigin::Start(TestOrigin::Behavior::kEcho);
    ASSERT_TRUE(origin.ok()) << origin.status();
    origin_ = std::move(*origin);
    control_port_ = FreePort();
    ASSERT_TRUE(control_.Start(control_port_));
    v1::Snapshot snapshot;
    snapshot.set_version(1);
    *snapshot.add_zones() = MakeZone(1, kGood, v1::MODE_REPORT, origin_->port());
    // Nothing listens on this origin port: every request there is a 502.
    *snapshot.add_zones() = MakeZone(2, kBroken, v1::MODE_REPORT, FreePort());
    *snapshot.add_zones() = MakeZone(3, kSecure, v1::MODE_ENFORCE, origin_->port());
    metrics_port_ = FreePort();
    *snapshot.add_zones() = MakeZone(4, kSelf, v1::MODE_REPORT, metrics_port_);
    control_.Publish(snapshot);
  }

  void TearDown() override {
    edge_.reset();
    control_.Stop();
  }

  void StartEdge(const std::vector<std::string>& flags) {
    auto edge = EdgeProcess::Start(dir_, absl::StrCat("127.0.0.1:", control_port_), dir_ + "/state",
                                   flags, 0, metrics_port_);
    ASSERT_TRUE(edge.ok()) << edge.status();
    edge_ = std::move(*edge);
    ASSERT_TRUE(edge_->WaitForVersion(1)) << edge_->ReadLog();
  }

  // Requests sends `count` requests to `host` on one keep-alive connection
  // and returns how many were answered with `want_status`.
  int Requests(const std::string& host, int count, int want_status) {
    auto client = TlsClient::Connect(edge_->port(), host);
    if (!client.ok()) {
      return 0;
    }
    int answered = 0;
    for (int i = 0; i < count; ++i) {
      if (!(*client)->Write(Get(host, absl::StrCat("/r", i)))) {
        break;
      }
      auto response = (*client)->ReadResponse();
      if (!response.ok() || StatusCode(*response) != want_status) {
        break;
      }
      ++answered;
    }
    return answered;
  }

  // StopEdge: SIGTERM, and the edge drains and exits by itself.
  void StopEdge() {
    edge_->process()->Signal(SIGTERM);
    EXPECT_EQ(edge_->process()->Wait(absl::Seconds(30)), 0) << edge_->ReadLog();
  }

  std::string dir_;
  int control_port_ = 0;
  int metrics_port_ = 0;  // the edge's, and kSelf's origin
  FakeControlPlane control_;
  std::unique_ptr<TestOrigin> origin_;
  std::unique_ptr<EdgeProcess> edge_;
};

// Sampled at 0: successes are left out, refusals and errors are all kept,
// written by the flush timer into a file of the edge's own (0600 under the
// edge's umask), and nothing goes to standard output.
TEST_F(EdgeOperationsTest, AccessLogToAFileSampledAndBufferedKeepsEveryError) {
  std::string access = dir_ + "/access.log";
  std::string connection = dir_ + "/connection.log";
  ASSERT_NO_FATAL_FAILURE(
      StartEdge({"--access-log", access, "--connection-log", connection, "--log-buffer-bytes",
                 "65536", "--log-flush-ms", "100", "--access-log-sample", "0"}));
  EXPECT_EQ(Requests(kGood, 50, 200), 50);
  EXPECT_EQ(Requests(kBroken, 5, 502), 5);
  // A handshake for a name no zone serves: a connection-log line.
  EXPECT_FALSE(TlsClient::Connect(edge_->port(), "nobody.example").ok());
  ASSERT_TRUE(
      WaitFor([&] { return Lines(ReadFile(access), "\"status\":502") == 5; }, absl::Seconds(10)))
      << ReadFile(access);
  ASSERT_TRUE(
      WaitFor([&] { return Lines(ReadFile(connection), "unknown SNI \\\"nobody.example") == 1; },
              absl::Seconds(10)))
      << ReadFile(connection);
  EXPECT_EQ(Lines(ReadFile(access), "\"status\":200"), 0) << ReadFile(access);
  EXPECT_EQ(Lines(ReadFile(access), "\"zone\":\"broken.auth.pizza\""), 5);
  EXPECT_FALSE(absl::StrContains(edge_->ReadLog(), "\"status\":")) << edge_->ReadLog();
  struct stat st {};
  ASSERT_EQ(stat(access.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "the access log is not for other users";
}

// A buffer that never fills and a flush timer that never fires in the test:
// the lines reach the file when the edge drains on SIGTERM. The settings
// come from a --config file, as under systemd.
TEST_F(EdgeOperationsTest, BufferedLinesAreWrittenOnDrain) {
  std::string access = dir_ + "/access.log";
  std::string ini = dir_ + "/edge.ini";
  testing::WriteFile(ini, absl::StrCat("access-log = ", access,
                                       "\nlog-buffer-bytes = 1048576\nlog-flush-ms = 3600000\n"));
  ASSERT_NO_FATAL_FAILURE(StartEdge({"--config", ini}));
  EXPECT_EQ(Requests(kGood, 20, 200), 20);
  EXPECT_EQ(Lines(ReadFile(access), "\"status\":200"), 0) << "still buffered";
  StopEdge();
  EXPECT_EQ(Lines(ReadFile(access), "\"status\":200"), 20) << ReadFile(access);
}

// A 502 keeps the client's connection open whether the origin failed from
// the event loop (nothing listens: the connect is refused later) or at once,
// while the request head was read (the edge's own metrics socket, refused
// before any connect): each request on the connection gets its 502.
TEST_F(EdgeOperationsTest, OriginFailuresKeepTheClientConnectionOpen) {
  ASSERT_NO_FATAL_FAILURE(StartEdge({}));
  EXPECT_EQ(Requests(kBroken, 3, 502), 3);
  EXPECT_EQ(Requests(kSelf, 3, 502), 3);
  EXPECT_TRUE(absl::StrContains(edge_->ReadLog(), "this edge's own --metrics-listen socket"))
      << edge_->ReadLog();
}

TEST_F(EdgeOperationsTest, AccessLogOffWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartEdge({"--access-log", "off"}));
  EXPECT_EQ(Requests(kGood, 5, 200), 5);
  EXPECT_EQ(Requests(kBroken, 1, 502), 1);
  StopEdge();
  EXPECT_FALSE(absl::StrContains(edge_->ReadLog(), "\"status\":")) << edge_->ReadLog();
}

TEST_F(EdgeOperationsTest, BadLogFlagsAreRefusedWithTheirName) {
  auto result = testing::RunCommand(
      {testing::BinPath("certgate-edge"), "--control", "127.0.0.1:1", "--insecure", "--token-file",
       dir_ + "/none", "--node-id", "x", "--listen", "127.0.0.1:1", "--state-dir", dir_ + "/state",
       "--metrics-listen", "127.0.0.1:2", "--access-log", dir_ + "/no-such-dir/access.log"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(result.err, "--access-log: cannot open log file")) << result.err;
  result = testing::RunCommand({testing::BinPath("certgate-edge"), "--access-log-sample", "2"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(result.err, "--access-log-sample")) << result.err;
}

// logrotate: rename the file, SIGUSR1, and the edge writes a new file. With
// requests flowing all along, every answered request is a line in one of
// the two files.
TEST_F(EdgeOperationsTest, ReopenOnSigusr1AfterRenameLosesNoLine) {
  std::string access = dir_ + "/access.log";
  ASSERT_NO_FATAL_FAILURE(
      StartEdge({"--access-log", access, "--log-buffer-bytes", "4096", "--log-flush-ms", "50"}));
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::thread load([&] {
    while (!stop.load()) {
      answered += Requests(kGood, 20, 200);
    }
  });
  ASSERT_TRUE(WaitFor([&] { return answered.load() >= 100; }, absl::Seconds(30)));
  ASSERT_EQ(rename(access.c_str(), (access + ".1").c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return answered.load() >= 200; }, absl::Seconds(30)));
  edge_->process()->Signal(SIGUSR1);
  ASSERT_TRUE(
      WaitFor([&] { return Lines(ReadFile(access), "\"status\":200") >= 50; }, absl::Seconds(30)))
      << edge_->ReadLog();
  stop = true;
  load.join();
  StopEdge();
  int old_lines = Lines(ReadFile(access + ".1"), "\"status\":200");
  int new_lines = Lines(ReadFile(access), "\"status\":200");
  EXPECT_GE(old_lines, 200);
  EXPECT_GE(new_lines, 50);
  EXPECT_EQ(old_lines + new_lines, answered.load());
  // Every line whole: as many lines as objects.
  EXPECT_EQ(Lines(ReadFile(access), "{") + Lines(ReadFile(access + ".1"), "{"), answered.load());
}

// --- hand-over: replacing the edge process without refusing a connection ---------

// A second edge started with the same state directory and ports takes the
// running one's listening sockets, serves from its state directory while
// the control plane is down, and the first one drains and exits by itself.
// A client opening connections with certificates all along sees no failure.
// Without the hand-over the first edge would never exit (and a stop would
// reset the connections waiting in its accept queues).
TEST_F(EdgeOperationsTest, SecondEdgeTakesOverTheSocketsUnderLoadWithoutAFailedConnection) {
  ASSERT_NO_FATAL_FAILURE(StartEdge({}));
  ConnectionLoad load(edge_->port(), 2);
  ASSERT_TRUE(WaitFor([&] { return load.ok() >= 200; }, absl::Seconds(60))) << load.FirstFailure();
  control_.Stop();
  auto second = EdgeProcess::Start(dir_, absl::StrCat("127.0.0.1:", control_port_), dir_ + "/state",
                                   {}, edge_->port(), edge_->metrics_port(), "edge-2.log");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(edge_->process()->Wait(absl::Seconds(60)), 0)
      << "the first edge did not hand over and exit\n"
      << edge_->ReadLog() << (*second)->ReadLog();
  int at_exit = load.ok();
  ASSERT_TRUE(WaitFor([&] { return load.ok() >= at_exit + 300; }, absl::Seconds(60)))
      << load.FirstFailure() << (*second)->ReadLog();
  load.Stop();
  EXPECT_EQ(load.failures(), 0) << load.FirstFailure();
  EXPECT_NE(TakeoverPid((*second)->ReadLog()), 0) << (*second)->ReadLog();
  EXPECT_TRUE(absl::StrContains(edge_->ReadLog(), "handed over to pid")) << edge_->ReadLog();
  // The metrics socket moved too; the second edge serves version 1 from its
  // state directory, never having reached the control plane.
  EXPECT_EQ((*second)->Metric("certgate_config_version"), 1);
}

// The worker count may change across hand-overs: every socket taken over is
// given to some worker (one left without a worker would strand the
// connections the kernel queues on it), and a worker without one binds its
// own. Two workers hand to one, which hands to three.
TEST_F(EdgeOperationsTest, HandOverAcrossWorkerCountsStrandsNoSocket) {
  ASSERT_NO_FATAL_FAILURE(StartEdge({"--workers", "2"}));
  ConnectionLoad load(edge_->port(), 2);
  ASSERT_TRUE(WaitFor([&] { return load.ok() >= 200; }, absl::Seconds(60))) << load.FirstFailure();
  std::unique_ptr<EdgeProcess> previous = std::move(edge_);
  for (const char* workers : {"1", "3"}) {
    auto next = EdgeProcess::Start(
        dir_, absl::StrCat("127.0.0.1:", control_port_), dir_ + "/state", {"--workers", workers},
        previous->port(), previous->metrics_port(), absl::StrCat("edge-w", workers, ".log"));
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(previous->process()->Wait(absl::Seconds(60)), 0) << previous->ReadLog();
    int at_exit = load.ok();
    ASSERT_TRUE(WaitFor([&] { return load.ok() >= at_exit + 300; }, absl::Seconds(60)))
        << load.FirstFailure() << (*next)->ReadLog();
    // Two listen sockets and the metrics one, both times: the one-worker
    // edge kept both of the two-worker edge's sockets.
    EXPECT_TRUE(absl::StrContains((*next)->ReadLog(), "took over 3 listening sockets"))
        << (*next)->ReadLog();
    previous = std::move(*next);
  }
  load.Stop();
  EXPECT_EQ(load.failures(), 0) << load.FirstFailure();
  edge_ = std::move(previous);
}

// `systemctl reload` (SIGUSR2) after a package upgrade: the binary at the
// edge's path is replaced (renamed over, as dpkg does); the edge starts the
// file now at that path, which takes over; the old process drains and exits.
// No connection fails.
TEST_F(EdgeOperationsTest, Sigusr2AfterAnUpgradeStartsTheNewBinaryWhichTakesOverUnderLoad) {
  // The re-started edge outlives its parent: reap it here.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  std::string bin_dir = dir_ + "/bin";
  ASSERT_EQ(mkdir(bin_dir.c_str(), 0700), 0);
  std::string installed = bin_dir + "/certgate-edge";
  std::string built = testing::BinPath("certgate-edge");
  testing::WriteFile(installed, ReadFile(built), 0755);
  const char* saved = getenv("CERTGATE_BIN_DIR");
  std::string saved_dir = saved != nullptr ? saved : "";
  setenv("CERTGATE_BIN_DIR", bin_dir.c_str(), 1);
  StartEdge({});
  if (saved_dir.empty()) {
    unsetenv("CERTGATE_BIN_DIR");
  } else {
    setenv("CERTGATE_BIN_DIR", saved_dir.c_str(), 1);
  }
  ASSERT_FALSE(HasFatalFailure());
  // The upgrade: a new file renamed over the old one.
  testing::WriteFile(installed + ".dpkg-new", ReadFile(built), 0755);
  ASSERT_EQ(rename((installed + ".dpkg-new").c_str(), installed.c_str()), 0);
  struct stat upgraded {};
  ASSERT_EQ(stat(installed.c_str(), &upgraded), 0);
  ConnectionLoad load(edge_->port(), 2);
  ASSERT_TRUE(WaitFor([&] { return load.ok() >= 200; }, absl::Seconds(60))) << load.FirstFailure();
  edge_->process()->Signal(SIGUSR2);
  EXPECT_EQ(edge_->process()->Wait(absl::Seconds(60)), 0)
      << "the old edge did not hand over and exit\n"
      << edge_->ReadLog();
  pid_t successor = TakeoverPid(edge_->ReadLog());
  ASSERT_NE(successor, 0) << edge_->ReadLog();
  ASSERT_NE(successor, edge_->process()->pid());
  struct stat running {};
  ASSERT_EQ(stat(absl::StrCat("/proc/", successor, "/exe").c_str(), &running), 0);
  EXPECT_EQ(running.st_ino, upgraded.st_ino) << "the new edge runs the upgraded binary";
  int at_exit = load.ok();
  bool served = WaitFor([&] { return load.ok() >= at_exit + 300; }, absl::Seconds(60));
  load.Stop();
  EXPECT_TRUE(served) << load.FirstFailure();
  EXPECT_EQ(load.failures(), 0) << load.FirstFailure();
  EXPECT_EQ(StopPid(successor), 0) << edge_->ReadLog();
}

// A would-be successor that takes the sockets and then dies (or a local
// process that asks and never confirms) does not stop the running edge.
TEST_F(EdgeOperationsTest, TakeoverThatIsNeverConfirmedLeavesTheEdgeServing) {
  ASSERT_NO_FATAL_FAILURE(StartEdge({}));
  {
    auto client = edge::HandoverClient::Connect(edge::HandoverSocketPath(dir_ + "/state"));
    ASSERT_TRUE(client.ok()) << client.status();
    auto sockets = (*client)->Take(absl::Seconds(10));
    ASSERT_TRUE(sockets.ok()) << sockets.status();
    EXPECT_EQ(sockets->size(), 2u) << "one listener (one worker) and the metrics socket";
    for (const edge::HandedSocket& socket : *sockets) {
      close(socket.fd);
    }
  }  // gone without saying it serves
  {
    auto client = edge::HandoverClient::Connect(edge::HandoverSocketPath(dir_ + "/state"));
    ASSERT_TRUE(client.ok()) << client.status();
  }  // connected and said nothing
  ConnectionLoad load(edge_->port(), 1);
  ASSERT_TRUE(WaitFor([&] { return load.ok() >= 20; }, absl::Seconds(60))) << load.FirstFailure();
  load.Stop();
  EXPECT_EQ(load.failures(), 0) << load.FirstFailure();
  EXPECT_TRUE(edge_->process()->Running());
  EXPECT_TRUE(absl::StrContains(edge_->ReadLog(), "did not take over; still serving"))
      << edge_->ReadLog();
}

// Another local user cannot ask for the edge's sockets (the state directory
// is 0700, the socket 0600, and the edge checks the peer's uid).
TEST_F(EdgeOperationsTest, AnotherUserCannotTakeTheSockets) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to switch to another user";
  }
  ASSERT_NO_FATAL_FAILURE(StartEdge({}));
  std::string path = edge::HandoverSocketPath(dir_ + "/state");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // The socket is there to be refused, not missing.
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0) << "no hand-over socket at " << path;
  ASSERT_TRUE(S_ISSOCK(info.st_mode));
  // The child makes system calls only (this process has threads).
  pid_t child = fork();
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) {
      _exit(2);
    }
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      _exit(1);
    }
    _exit(errno == EACCES || errno == EPERM ? 0 : 3);  // refused, not failed otherwise
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "another user reached the hand-over socket";
  ConnectionLoad load(edge_->port(), 1);
  ASSERT_TRUE(WaitFor([&] { return load.ok() >= 20; }, absl::Seconds(60))) << load.FirstFailure();
  EXPECT_TRUE(edge_->process()->Running());
}

}  // namespace
}  // namespace certgate::faults

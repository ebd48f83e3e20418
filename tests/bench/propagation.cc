// certgate-propagation-bench: how long a config change takes to reach a
// fleet, and what it costs, with many zones loaded.
//
// Starts nothing itself. Given a running control plane it:
//   1. creates a tenant (admin token) and --zones zones through the tenant
//      API, from --parallel threads of blocking calls;
//   2. at --probe-at zones, opens one stream and records the snapshot size
//      and the size of a one-zone delta (so the delta can be compared with
//      the one at --zones: it must not grow with the number of zones);
//   3. opens --edges light edge streams (hello -> snapshot -> ack), as a
//      fleet of edges in one process, --connect-parallel at a time; records
//      hello -> first message and hello -> whole snapshot (its last chunk),
//      the largest snapshot message, and the control plane's peak RSS
//      while the fleet takes its snapshots;
//   4. makes --changes changes (UpdateZone, alternating a zone's mode) and,
//      for each, measures the time from the API call until every edge has
//      ACKed its version;
//   5. reads the control plane's resident memory from /proc (--control-pid);
//   6. with --real-edge (metrics HOST:PORT,pid of a running certgate-edge,
//      repeatable): before the changes, writes the current version to
//      --ready-file and waits for --go-file (so the caller can start the
//      edges and time their cold start), then times each change until every
//      real edge's /metrics serves its version, and reports their resident
//      memory and the bytes each wrote to its state dir per change (its
//      certgate_config_state_bytes_written_total).
// Prints a text summary and JSON (--json-out).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "certgate/v1/admin.grpc.pb.h"
#include "certgate/v1/edge_config.grpc.pb.h"
#include "certgate/v1/tenant.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace certgate::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string control = "127.0.0.1:7000";
  std::string admin_token_file;
  std::string edge_token_file;
  int zones = 10000;
  int edges = 100;
  int changes = 20;
  int parallel = 16;
  int probe_at = 1000;
  int connect_parallel = 4;
  int control_pid = 0;
  double change_timeout_s = 30;
  std::string json_out;
  std::string tenant_name;
  std::vector<std::string> real_edges;  // metrics_port,pid
  std::string ready_file;
  std::string go_file;
};

struct RealEdge {
  int metrics_port = 0;
  int pid = 0;
};

// HttpGetLocal: GET http://127.0.0.1:port/path, the whole response ("" on failure).
std::string HttpGetLocal(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return "";
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string request =
        absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[65536];
      ssize_t n;
      while ((n = read(fd, buffer, sizeof(buffer))) > 0) {
        response.append(buffer, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  return response;
}

// EdgeMetric: an unlabelled metric from a real edge's /metrics (0 if unknown).
uint64_t EdgeMetric(int metrics_port, const std::string& name) {
  std::string metrics = HttpGetLocal(metrics_port, "/metrics");
  const std::string key = absl::StrCat("\n", name, " ");
  size_t at = metrics.find(key);
  return at == std::string::npos ? 0
                                 : std::strtoull(metrics.c_str() + at + key.size(), nullptr, 10);
}

uint64_t ServedVersion(int metrics_port) {
  return EdgeMetric(metrics_port, "certgate_config_version");
}

// WrittenBytes: what the edge wrote to its state dir so far.
int64_t WrittenBytes(const RealEdge& edge) {
  return static_cast<int64_t>(
      EdgeMetric(edge.metrics_port, "certgate_config_state_bytes_written_total"));
}

std::string ReadToken(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

// RssKiB reads VmRSS (or VmHWM) of a process from /proc, in KiB; 0 if unknown.
int64_t ProcStatusKiB(int pid, const std::string& field) {
  if (pid <= 0) {
    return 0;
  }
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtoll(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

// Hostnames are unique per run (hostnames are unique across tenants).
std::string ZoneName(int i) {
  static const int run = getpid();
  return absl::StrFormat("z%06d.r%d.propagation.bench", i, run);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(idx, v.size() - 1)];
}

// EdgeStream is one light edge: a Subscribe stream on its own thread that
// ACKs everything it receives and remembers when it ACKed each version.
class EdgeStream {
 public:
  EdgeStream(std::shared_ptr<grpc::Channel> channel, std::string token, std::string node_id)
      : stub_(v1::EdgeConfigService::NewStub(channel)),
        token_(std::move(token)),
        node_id_(std::move(node_id)) {}

  ~EdgeStream() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    context_.TryCancel();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  // WaitForSnapshot blocks until the first snapshot was ACKed (or failed).
  bool WaitForSnapshot(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return snapshot_done_ || failed_; };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    return snapshot_done_ && !failed_;
  }

  // AckedAt: when this edge first ACKed a version >= v, or nullopt.
  std::optional<Clock::time_point> AckedAt(uint64_t v) {
    absl::MutexLock lock(&mu_);
    for (const auto& [version, when] : acks_) {
      if (version >= v) {
        return when;
      }
    }
    return std::nullopt;
  }

  // DeltaBytes: size of the delta message that brought version v (0 if none).
  size_t DeltaBytes(uint64_t v) {
    absl::MutexLock lock(&mu_);
    for (const auto& [version, bytes] : delta_sizes_) {
      if (version == v) {
        return bytes;
      }
    }
    return 0;
  }

  size_t snapshot_bytes() {
    absl::MutexLock lock(&mu_);
    return snapshot_bytes_;
  }
  // LatestVersion: the newest version ACKed (0 if none).
  uint64_t LatestVersion() {
    absl::MutexLock lock(&mu_);
    uint64_t latest = 0;
    for (const auto& [version, when] : acks_) {
      latest = std::max(latest, version);
    }
    return latest;
  }
  uint64_t snapshot_version() {
    absl::MutexLock lock(&mu_);
    return snapshot_version_;
  }
  std::string error() {
    absl::MutexLock lock(&mu_);
    return error_;
  }
  // Hello to the first message, and to the whole snapshot (its last chunk).
  double first_byte_ms() {
    absl::MutexLock lock(&mu_);
    return first_byte_ms_;
  }
  double snapshot_ms() {
    absl::MutexLock lock(&mu_);
    return snapshot_ms_;
  }
  // The largest snapshot message (a chunk, or the whole snapshot).
  size_t max_message_bytes() {
    absl::MutexLock lock(&mu_);
    return max_message_bytes_;
  }

 private:
  void Run() {
    context_.AddMetadata("authorization", absl::StrCat("Bearer ", token_));
    auto stream = stub_->Subscribe(&context_);
    v1::EdgeMessage hello;
    hello.mutable_hello()->set_node_id(node_id_);
    hello.mutable_hello()->set_version(0);
    hello.mutable_hello()->set_software_version("propagation-bench");
    auto hello_at = Clock::now();
    if (!stream->Write(hello)) {
      Fail("hello not sent");
      return;
    }
    // A chunked snapshot counts as received at its last chunk; the light
    // edge keeps no chunk (it measures the control plane, not itself).
    size_t chunked_bytes = 0;
    bool first_read = true;
    while (true) {
      // A fresh message per read, so a 100 MB snapshot is freed at once.
      auto msg = std::make_unique<v1::ControlMessage>();
      if (!stream->Read(msg.get())) {
        break;
      }
      if (first_read) {
        first_read = false;
        absl::MutexLock lock(&mu_);
        first_byte_ms_ = Ms(Clock::now() - hello_at);
      }
      uint64_t version = 0;
      size_t bytes = msg->ByteSizeLong();
      bool is_snapshot = msg->has_snapshot();
      if (msg->has_snapshot_chunk()) {
        const v1::SnapshotChunk& chunk = msg->snapshot_chunk();
        chunked_bytes += bytes;
        {
          absl::MutexLock lock(&mu_);
          max_message_bytes_ = std::max(max_message_bytes_, bytes);
        }
        if (chunk.index() + 1 < chunk.count()) {
          continue;
        }
        is_snapshot = true;
        version = chunk.version();
        bytes = chunked_bytes;
        chunked_bytes = 0;
      } else if (is_snapshot) {
        version = msg->snapshot().version();
        absl::MutexLock lock(&mu_);
        max_message_bytes_ = std::max(max_message_bytes_, bytes);
      } else if (msg->has_delta()) {
        version = msg->delta().version();
      } else {
        continue;
      }
      msg.reset();
      v1::EdgeMessage ack;
      ack.mutable_ack()->set_version(version);
      if (!stream->Write(ack)) {
        Fail("ack not sent");
        break;
      }
      auto now = Clock::now();
      absl::MutexLock lock(&mu_);
      acks_.emplace_back(version, now);
      if (is_snapshot) {
        if (!snapshot_done_) {
          snapshot_bytes_ = bytes;
          snapshot_version_ = version;
          snapshot_ms_ = Ms(now - hello_at);
        }
        snapshot_done_ = true;
      } else {
        delta_sizes_.emplace_back(version, bytes);
      }
    }
    grpc::Status st = stream->Finish();
    if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
      Fail(absl::StrCat("stream ended: ", st.error_message()));
    }
  }

  void Fail(const std::string& why) {
    absl::MutexLock lock(&mu_);
    failed_ = true;
    if (error_.empty()) {
      error_ = why;
    }
  }

  std::unique_ptr<v1::EdgeConfigService::Stub> stub_;
  std::string token_;
  std::string node_id_;
  grpc::ClientContext context_;
  std::thread thread_;
  absl::Mutex mu_;
  bool snapshot_done_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  std::string error_ ABSL_GUARDED_BY(mu_);
  size_t snapshot_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t snapshot_version_ ABSL_GUARDED_BY(mu_) = 0;
  double first_byte_ms_ ABSL_GUARDED_BY(mu_) = 0;
  double snapshot_ms_ ABSL_GUARDED_BY(mu_) = 0;
  size_t max_message_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<uint64_t, Clock::time_point>> acks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<uint64_t, size_t>> delta_sizes_ ABSL_GUARDED_BY(mu_);
};

class Bench {
 public:
  explicit Bench(Options options) : o_(std::move(options)) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    channel_ = grpc::CreateCustomChannel(o_.control, grpc::InsecureChannelCredentials(), args);
  }

  int Run() {
    std::string admin_token = ReadToken(o_.admin_token_file);
    edge_token_ = ReadToken(o_.edge_token_file);
    if (admin_token.empty() || edge_token_.empty()) {
      fprintf(stderr, "propagation-bench: empty admin or edge token file\n");
      return 2;
    }
    // 1. A tenant of our own.
    {
      auto admin = v1::AdminService::NewStub(channel_);
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", absl::StrCat("Bearer ", admin_token));
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      v1::CreateTenantRequest req;
      req.set_name(o_.tenant_name.empty() ? absl::StrCat("bench-", getpid(), "-", time(nullptr))
                                          : o_.tenant_name);
      v1::CreateTenantResponse resp;
      grpc::Status st = admin->CreateTenant(&ctx, req, &resp);
      if (!st.ok()) {
        fprintf(stderr, "propagation-bench: CreateTenant: %s\n", st.error_message().c_str());
        return 1;
      }
      tenant_token_ = resp.token();
    }
    int probe_at = std::min(o_.probe_at, o_.zones);
    if (!CreateZones(0, probe_at)) {
      return 1;
    }
    // 2. Probe at a small zone count.
    ProbeResult small = Probe();
    if (!CreateZones(probe_at, o_.zones)) {
      return 1;
    }
    int64_t rss_loaded = ProcStatusKiB(o_.control_pid, "VmRSS");
    // 3. The fleet. A sampler records the control plane's peak RSS while
    // the fleet takes its snapshots (VmHWM would include zone creation).
    std::atomic<bool> sampling{true};
    std::atomic<int64_t> rss_fleet_peak{0};
    std::thread sampler([&] {
      while (sampling.load()) {
        rss_fleet_peak.store(
            std::max(rss_fleet_peak.load(), ProcStatusKiB(o_.control_pid, "VmRSS")));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    auto fleet_start = Clock::now();
    std::vector<std::unique_ptr<EdgeStream>> edges;
    for (int i = 0; i < o_.edges; ++i) {
      edges.push_back(std::make_unique<EdgeStream>(
          channel_, edge_token_, absl::StrFormat("bench-edge-%03d-%d", i, getpid())));
    }
    int failed_edges = 0;
    for (int i = 0; i < o_.edges; i += o_.connect_parallel) {
      int end = std::min(o_.edges, i + o_.connect_parallel);
      for (int j = i; j < end; ++j) {
        edges[j]->Start();
      }
      for (int j = i; j < end; ++j) {
        if (!edges[j]->WaitForSnapshot(absl::Seconds(120))) {
          fprintf(stderr, "propagation-bench: edge %d: no snapshot (%s)\n", j,
                  edges[j]->error().c_str());
          ++failed_edges;
        }
      }
    }
    double fleet_connect_ms = Ms(Clock::now() - fleet_start);
    sampling.store(false);
    sampler.join();
    size_t snapshot_bytes = edges.empty() ? 0 : edges[0]->snapshot_bytes();
    std::vector<double> first_bytes;
    std::vector<double> snapshot_times;
    size_t max_message_bytes = 0;
    for (auto& e : edges) {
      first_bytes.push_back(e->first_byte_ms());
      snapshot_times.push_back(e->snapshot_ms());
      max_message_bytes = std::max(max_message_bytes, e->max_message_bytes());
    }
    int64_t rss_fleet = ProcStatusKiB(o_.control_pid, "VmRSS");

    // Real edges: the caller starts them now (and times their cold start),
    // then names them in the go file, one METRICS_PORT,PID a line.
    std::vector<std::string> specs = o_.real_edges;
    if (!o_.ready_file.empty()) {
      uint64_t now_version = 0;
      for (auto& e : edges) {
        now_version = std::max(now_version, e->LatestVersion());
      }
      std::ofstream(o_.ready_file + ".tmp") << now_version << "\n";
      rename((o_.ready_file + ".tmp").c_str(), o_.ready_file.c_str());
      while (!o_.go_file.empty() && access(o_.go_file.c_str(), F_OK) != 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      std::ifstream go(o_.go_file);
      std::string line;
      while (std::getline(go, line)) {
        if (!line.empty()) {
          specs.push_back(line);
        }
      }
    }
    std::vector<RealEdge> real;
    for (const std::string& spec : specs) {
      RealEdge edge;
      if (sscanf(spec.c_str(), "%d,%d", &edge.metrics_port, &edge.pid) != 2) {
        fprintf(stderr, "propagation-bench: a real edge is METRICS_PORT,PID, not %s\n",
                spec.c_str());
        return 2;
      }
      real.push_back(edge);
    }
    std::vector<int64_t> written_before;
    for (const RealEdge& e : real) {
      written_before.push_back(WrittenBytes(e));
    }
    std::vector<double> served_latencies;
    std::vector<double> written_per_change_samples;
    int served_missed = 0;

    // 4. Changes.
    std::vector<double> latencies;
    std::vector<size_t> delta_sizes;
    int missed = 0;
    for (int i = 0; i < o_.changes; ++i) {
      auto t0 = Clock::now();
      uint64_t version = 0;
      if (!Change(i, &version)) {
        ++missed;
        continue;
      }
      auto limit = t0 + std::chrono::microseconds(static_cast<int64_t>(o_.change_timeout_s * 1e6));
      Clock::time_point last{};
      bool all = false;
      while (Clock::now() < limit) {
        all = true;
        last = t0;
        for (auto& e : edges) {
          auto at = e->AckedAt(version);
          if (!at) {
            all = false;
            break;
          }
          last = std::max(last, *at);
        }
        if (all) {
          break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      if (!all) {
        ++missed;
        continue;
      }
      latencies.push_back(Ms(last - t0));
      if (!edges.empty()) {
        delta_sizes.push_back(edges[0]->DeltaBytes(version));
      }
      // Served by every real edge (polled; a few hundred µs of resolution).
      bool served = true;
      for (const RealEdge& e : real) {
        while (ServedVersion(e.metrics_port) < version && Clock::now() < limit) {
          std::this_thread::sleep_for(std::chrono::microseconds(300));
        }
        served = served && Clock::now() < limit;
      }
      if (!real.empty()) {
        if (served) {
          served_latencies.push_back(Ms(Clock::now() - t0));
        } else {
          ++served_missed;
        }
        // Per change and edge: a snapshot written just before (the /metrics
        // version is the one served, before the state write) lands in one
        // change only, so the median is what a change costs.
        for (size_t e = 0; e < real.size(); ++e) {
          int64_t now_written = WrittenBytes(real[e]);
          written_per_change_samples.push_back(
              static_cast<double>(now_written - written_before[e]));
          written_before[e] = now_written;
        }
      }
    }
    double written_per_change = Percentile(written_per_change_samples, 0.5);
    int64_t real_rss_max = 0;
    for (size_t i = 0; i < real.size(); ++i) {
      real_rss_max = std::max(real_rss_max, ProcStatusKiB(real[i].pid, "VmRSS"));
    }
    if (!real.empty()) {
      printf(
          "real edges: %zu; change->served by every real edge: n=%zu p50=%.1f ms p99=%.1f ms "
          "max=%.1f ms missed=%d; largest edge RSS %.1f MiB; bytes written to the state dir per "
          "change (median over changes and edges) %.0f\n",
          real.size(), served_latencies.size(), Percentile(served_latencies, 0.5),
          Percentile(served_latencies, 0.99), Percentile(served_latencies, 1.0), served_missed,
          real_rss_max / 1024.0, written_per_change);
    }
    int64_t rss_end = ProcStatusKiB(o_.control_pid, "VmRSS");
    int64_t hwm = ProcStatusKiB(o_.control_pid, "VmHWM");
    for (auto& e : edges) {
      e->Stop();
    }
    size_t delta_bytes = 0;
    for (size_t d : delta_sizes) {
      delta_bytes = std::max(delta_bytes, d);
    }

    printf(
        "propagation: zones=%d created in %.1fs (%.0f/s, %d errors) edges=%d (%d failed) "
        "fleet snapshot in %.0f ms; snapshot %zu bytes at %d zones (%zu at %d); one-zone delta "
        "%zu bytes at %d zones (%zu at %d); change->all edges ACKed: n=%zu p50=%.1f ms "
        "p99=%.1f ms max=%.1f ms missed=%d; control plane RSS %.1f MiB loaded, %.1f MiB with "
        "fleet, %.1f MiB end (peak %.1f MiB)\n",
        o_.zones, create_seconds_, create_seconds_ > 0 ? o_.zones / create_seconds_ : 0.0,
        create_errors_, o_.edges, failed_edges, fleet_connect_ms, snapshot_bytes, o_.zones,
        small.snapshot_bytes, probe_at, delta_bytes, o_.zones, small.delta_bytes, probe_at,
        latencies.size(), Percentile(latencies, 0.5), Percentile(latencies, 0.99),
        Percentile(latencies, 1.0), missed, rss_loaded / 1024.0, rss_fleet / 1024.0,
        rss_end / 1024.0, hwm / 1024.0);
    printf(
        "snapshot to %d edges at once: hello->first message p50=%.0f ms max=%.0f ms; "
        "hello->whole snapshot p50=%.0f ms max=%.0f ms; largest snapshot message %zu bytes; "
        "control plane peak RSS while the fleet took it %.1f MiB\n",
        o_.connect_parallel, Percentile(first_bytes, 0.5), Percentile(first_bytes, 1.0),
        Percentile(snapshot_times, 0.5), Percentile(snapshot_times, 1.0), max_message_bytes,
        rss_fleet_peak.load() / 1024.0);
    std::string json = absl::StrFormat(
        "{\"zones\":%d,\"zone_create_s\":%.3f,\"zone_create_per_s\":%.1f,\"create_errors\":%d,"
        "\"edges\":%d,\"failed_edges\":%d,\"fleet_snapshot_ms\":%.1f,\"snapshot_bytes\":%d,"
        "\"probe_zones\":%d,\"probe_snapshot_bytes\":%d,\"probe_delta_bytes\":%d,"
        "\"delta_bytes\":%d,\"changes\":%d,\"missed\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
        "\"max_ms\":%.2f,\"control_rss_kib_loaded\":%d,\"control_rss_kib_fleet\":%d,"
        "\"control_rss_kib_end\":%d,\"control_hwm_kib\":%d,\"real_edges\":%d,"
        "\"served_p50_ms\":%.2f,\"served_p99_ms\":%.2f,\"served_max_ms\":%.2f,"
        "\"served_missed\":%d,\"real_edge_rss_kib\":%d,\"written_per_change\":%.0f,"
        "\"first_message_p50_ms\":%.1f,"
        "\"snapshot_p50_ms\":%.1f,\"snapshot_max_ms\":%.1f,\"max_snapshot_message_bytes\":%d,"
        "\"control_rss_kib_fleet_peak\":%d}",
        o_.zones, create_seconds_, create_seconds_ > 0 ? o_.zones / create_seconds_ : 0.0,
        create_errors_, o_.edges, failed_edges, fleet_connect_ms, snapshot_bytes, probe_at,
        small.snapshot_bytes, small.delta_bytes, delta_bytes, static_cast<int>(latencies.size()),
        missed, Percentile(latencies, 0.5), Percentile(latencies, 0.99), Percentile(latencies, 1.0),
        rss_loaded, rss_fleet, rss_end, hwm, static_cast<int>(real.size()),
        Percentile(served_latencies, 0.5), Percentile(served_latencies, 0.99),
        Percentile(served_latencies, 1.0), served_missed, real_rss_max, written_per_change,
        Percentile(first_bytes, 0.5), Percentile(snapshot_times, 0.5),
        Percentile(snapshot_times, 1.0), max_message_bytes, rss_fleet_peak.load());
    if (!o_.json_out.empty()) {
      std::ofstream(o_.json_out) << json << "\n";
    } else {
      printf("%s\n", json.c_str());
    }
    return (failed_edges > 0 || latencies.empty() || create_errors_ > 0) ? 1 : 0;
  }

 private:
  struct ProbeResult {
    size_t snapshot_bytes = 0;
    size_t delta_bytes = 0;
  };

  // CreateZones makes zones [from, to) from o_.parallel threads.
  bool CreateZones(int from, int to) {
    auto t0 = Clock::now();
    std::atomic<int> next{from};
    std::atomic<int> errors{0};
    std::string first_error;
    absl::Mutex err_mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < o_.parallel; ++t) {
      threads.emplace_back([&] {
        auto stub = v1::TenantService::NewStub(channel_);
        while (true) {
          int i = next.fetch_add(1);
          if (i >= to || errors.load() > 10) {
            return;
          }
          grpc::ClientContext ctx;
          ctx.AddMetadata("authorization", absl::StrCat("Bearer ", tenant_token_));
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
          v1::CreateZoneRequest req;
          req.set_hostname(ZoneName(i));
          req.set_origin("http://127.0.0.1:9");
          req.set_mode(v1::MODE_ENFORCE);
          v1::ZoneResponse resp;
          grpc::Status st = stub->CreateZone(&ctx, req, &resp);
          if (!st.ok()) {
            errors.fetch_add(1);
            absl::MutexLock lock(&err_mu);
            if (first_error.empty()) {
              first_error = absl::StrCat(ZoneName(i), ": ", st.error_message());
            }
          }
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    create_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
    create_errors_ += errors.load();
    if (errors.load() > 0) {
      fprintf(stderr, "propagation-bench: %d zone creations failed, first: %s\n", errors.load(),
              first_error.c_str());
      return false;
    }
    return true;
  }

  // Change alternates one zone's mode; returns the config version it made.
  bool Change(int i, uint64_t* version) {
    auto stub = v1::TenantService::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", tenant_token_));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::UpdateZoneRequest req;
    req.set_hostname(ZoneName(i % std::max(1, o_.zones)));
    req.set_mode(++change_counter_ % 2 == 1 ? v1::MODE_REPORT : v1::MODE_ENFORCE);
    v1::ZoneResponse resp;
    grpc::Status st = stub->UpdateZone(&ctx, req, &resp);
    if (!st.ok()) {
      fprintf(stderr, "propagation-bench: UpdateZone: %s\n", st.error_message().c_str());
      return false;
    }
    *version = resp.config_version();
    return true;
  }

  // Probe: one stream, its snapshot, and a few one-zone deltas.
  ProbeResult Probe() {
    ProbeResult result;
    EdgeStream probe(channel_, edge_token_, absl::StrFormat("bench-probe-%d", getpid()));
    probe.Start();
    if (!probe.WaitForSnapshot(absl::Seconds(60))) {
      fprintf(stderr, "propagation-bench: probe got no snapshot (%s)\n", probe.error().c_str());
      return result;
    }
    result.snapshot_bytes = probe.snapshot_bytes();
    for (int i = 0; i < 3; ++i) {
      uint64_t version = 0;
      if (!Change(i, &version)) {
        break;
      }
      auto limit = Clock::now() + std::chrono::seconds(10);
      while (!probe.AckedAt(version) && Clock::now() < limit) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      result.delta_bytes = std::max(result.delta_bytes, probe.DeltaBytes(version));
    }
    probe.Stop();
    return result;
  }

  Options o_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string edge_token_;
  std::string tenant_token_;
  double create_seconds_ = 0;
  int create_errors_ = 0;
  int change_counter_ = 0;
};

int Main(int argc, char** argv) {
  Options o;
  CLI::App app("certgate-propagation-bench: config change -> ACK on every edge of a fleet",
               "certgate-propagation-bench");
  app.add_option("--control", o.control, "control plane HOST:PORT (plaintext)");
  app.add_option("--admin-token-file", o.admin_token_file, "admin token file")->required();
  app.add_option("--edge-token-file", o.edge_token_file, "edge token file")->required();
  app.add_option("--zones", o.zones, "zones to create");
  app.add_option("--edges", o.edges, "light edge streams");
  app.add_option("--changes", o.changes, "changes to time");
  app.add_option("--parallel", o.parallel, "threads creating zones");
  app.add_option("--probe-at", o.probe_at, "zone count of the small-size probe");
  app.add_option("--connect-parallel", o.connect_parallel,
                 "edge streams receiving their snapshot at once");
  app.add_option("--control-pid", o.control_pid, "control plane pid (for its RSS)");
  app.add_option("--change-timeout", o.change_timeout_s, "seconds to wait for all ACKs");
  app.add_option("--tenant-name", o.tenant_name, "tenant to create (default bench-PID-TIME)");
  app.add_option("--json-out", o.json_out, "write JSON results here");
  app.add_option("--real-edge", o.real_edges,
                 "METRICS_PORT,PID of a running certgate-edge to time (repeatable)");
  app.add_option("--ready-file", o.ready_file,
                 "before the changes, write the config version here (then wait for --go-file)");
  app.add_option("--go-file", o.go_file,
                 "file whose creation starts the changes; its lines name more real edges");
  CLI11_PARSE(app, argc, argv);
  if (o.control.rfind("127.", 0) != 0 && o.control.rfind("localhost:", 0) != 0) {
    fprintf(stderr, "propagation-bench: refusing non-loopback control plane %s\n",
            o.control.c_str());
    return 2;
  }
  return Bench(o).Run();
}

}  // namespace
}  // namespace certgate::bench

int main(int argc, char** argv) { return certgate::bench::Main(argc, argv); }

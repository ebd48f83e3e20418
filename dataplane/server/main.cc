// certgate-edge: terminates mTLS for every zone the control plane pushes and
// proxies to each zone's origin.
#include <event2/thread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/control_endpoints.h"
#include "common/host_port.h"
#include "common/metrics_server.h"
#include "common/origin_policy.h"
#include "dataplane/config/config_slot.h"
#include "dataplane/config/config_subscription.h"
#include "dataplane/handshake/tls_server.h"
#include "dataplane/http/origin_guard.h"
#include "dataplane/metrics/access_log.h"
#include "dataplane/metrics/edge_metrics.h"
#include "dataplane/metrics/log_file.h"
#include "dataplane/server/edge_server.h"
#include "dataplane/server/handover_client.h"
#include "dataplane/server/handover_server.h"
#include "dataplane/server/open_file_budget.h"
#include "dataplane/tls/verification_cache.h"
#include "dataplane/tls/zone_ssl_context_cache.h"

namespace {

constexpr char kVersion[] = "0.1.0";

int Fail(const std::string& message) {
  fprintf(stderr, "certgate-edge: %s\n", message.c_str());
  return 1;
}

bool ReadToken(const std::string& path, std::string* token, std::string* error) {
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) {
    *error = absl::StrCat("cannot read token file ", path, ": ", strerror(errno));
    return false;
  }
  char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  *token = std::string(absl::StripAsciiWhitespace(absl::string_view(buf, n)));
  if (token->empty()) {
    *error = absl::StrCat("token file ", path, " is empty");
    return false;
  }
  return true;
}

bool MakeDirs(const std::string& path) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      partial = path.substr(0, i);
      if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
        return false;
      }
    }
  }
  return true;
}

// NotifySystemd sends `state` to systemd's notify socket when the edge runs
// under a Type=notify unit (the sd_notify protocol: one datagram).
void NotifySystemd(const std::string& state) {
  const char* path = getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) {
    return;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len >= sizeof(addr.sun_path)) {
    return;
  }
  memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract namespace
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return;
  }
  sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
         static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  close(fd);
}

// StartSuccessor runs this edge's binary again with the same arguments (on
// SIGUSR2, for `systemctl reload` and upgrades): the new process takes the
// listening sockets over through the state directory. argv[0] is the path
// the binary was started from, so after a package upgrade it is the new one.
pid_t StartSuccessor(char** argv) {
  const char* exe = strchr(argv[0], '/') != nullptr ? argv[0] : "/proc/self/exe";
  pid_t pid = fork();
  if (pid == 0) {
    execv(exe, argv);
    _exit(127);
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace certgate::edge;
  using certgate::BindListener;
  using certgate::BoundTo;
  using certgate::HostPort;
  using certgate::ParseHostPort;

  CLI::App app{
      "certgate-edge: terminates TLS with client certificates for every zone and "
      "proxies to the zone's origin"};
  std::string control, token_file, node_id, state_dir, metrics_listen, control_ca;
  std::vector<std::string> listen;
  std::vector<std::string> origin_allow;
  unsigned hardware = std::thread::hardware_concurrency();
  int workers = hardware == 0 ? 1 : static_cast<int>(hardware);
  size_t cache_entries = 100000;
  bool insecure = false;
  size_t max_header_bytes = 32768, max_headers = 100, max_connections = 0;
  uint64_t max_body_bytes = 0;
  int64_t max_config_message_bytes = kDefaultMaxConfigMessageBytes;
  int header_timeout_ms = 10000, idle_timeout_ms = 60000, origin_connect_timeout_ms = 5000,
      origin_timeout_ms = 60000, handshake_timeout_ms = 10000, drain_timeout_ms = 10000,
      upgraded_idle_timeout_ms = 300000;
  app.add_option("--control", control,
                 "Control plane address, HOST:PORT; several replicas as A,B,C (or a name that "
                 "resolves to several addresses): a broken stream moves to the next")
      ->required();
  app.add_option("--token-file", token_file, "File holding the edge token")->required();
  app.add_option("--node-id", node_id, "This edge's name in the fleet (unique)")->required();
  app.add_option("--listen", listen, "HOST:PORT to serve TLS on (repeatable)")->required();
  app.add_option("--state-dir", state_dir,
                 "Directory for the last applied config (served at start)")
      ->required();
  app.add_option("--metrics-listen", metrics_listen, "HOST:PORT for GET /metrics (plain HTTP)")
      ->required();
  app.add_option("--origin-allow", origin_allow,
                 "CIDR an origin's resolved address may be in besides public unicast "
                 "(repeatable), e.g. 127.0.0.0/8; link-local and multicast need a range inside "
                 "169.254.0.0/16, fe80::/10, 224.0.0.0/4 or ff00::/8. The edge's own listen and "
                 "metrics sockets are always refused");
  app.add_option("--workers", workers, "Worker threads (default: number of cores)")
      ->check(CLI::Range(1, 256));
  app.add_option("--cache-entries", cache_entries,
                 "Verification cache capacity (0 disables the cache)");
  size_t tls_context_cache = TlsServerOptions().tls_context_cache_entries;
  app.add_option("--tls-context-cache", tls_context_cache,
                 "Zone TLS contexts kept in memory (built when a zone's hostname is first "
                 "seen, least recently used dropped)")
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  auto* ca_opt = app.add_option("--control-ca", control_ca,
                                "PEM CA that signs the control plane's certificate")
                     ->check(CLI::ExistingFile);
  auto* insecure_opt =
      app.add_flag("--insecure", insecure, "Talk to the control plane without TLS (tests only)");
  ca_opt->excludes(insecure_opt);
  app.add_option("--max-header-bytes", max_header_bytes,
                 "Largest request head accepted (431 above)")
      ->check(CLI::Range(size_t{256}, size_t{16} << 20));
  app.add_option("--max-headers", max_headers, "Most request headers accepted (431 above)")
      ->check(CLI::Range(size_t{1}, size_t{10000}));
  app.add_option("--max-body-bytes", max_body_bytes,
                 "Largest request body sent to an origin (413 above; 0: no limit)");
  app.add_option("--max-config-message-bytes", max_config_message_bytes,
                 "Largest config message taken from the control plane; a bigger one is "
                 "refused before it is read, logged, and the held config keeps serving; also "
                 "bounds the whole of a snapshot sent in chunks")
      ->check(CLI::Range(int64_t{1024}, int64_t{INT32_MAX}));
  app.add_option("--header-timeout-ms", header_timeout_ms,
                 "Time allowed for a request head (408 after)")
      ->check(CLI::Range(1, 86400000));
  app.add_option("--idle-timeout-ms", idle_timeout_ms,
                 "Idle keep-alive connections close after this")
      ->check(CLI::Range(1, 86400000));
  std::string dns_servers;
  int dns_timeout_ms = 2000;
  app.add_option("--dns-server", dns_servers,
                 "DNS servers for origin hostnames, IP or IP:PORT, comma-separated "
                 "(default: the system's)");
  app.add_option("--dns-timeout-ms", dns_timeout_ms,
                 "Time one DNS try may take (two tries; then 502)")
      ->check(CLI::Range(1, 600000));
  app.add_option("--upgraded-idle-timeout-ms", upgraded_idle_timeout_ms,
                 "Upgraded connections (WebSocket) close after this long without a byte "
                 "either way")
      ->check(CLI::Range(1, 86400000));
  app.add_option("--origin-connect-timeout-ms", origin_connect_timeout_ms,
                 "Origin connect timeout (504 after)")
      ->check(CLI::Range(1, 86400000));
  app.add_option("--origin-timeout-ms", origin_timeout_ms,
                 "Longest silence from the origin (504 before its response head)")
      ->check(CLI::Range(1, 86400000));
  int http2_origin_idle_ms = 30000;
  app.add_option("--http2-origin-idle-timeout-ms", http2_origin_idle_ms,
                 "An HTTP/2 origin connection (h2c://, https:// picking h2) without streams "
                 "closes after this long")
      ->check(CLI::Range(1, 86400000));
  app.add_option("--handshake-timeout-ms", handshake_timeout_ms, "TLS handshake timeout")
      ->check(CLI::Range(1, 86400000));
  auto* max_connections_opt =
      app.add_option("--max-connections-per-worker", max_connections,
                     "Connections each worker holds at most; more are closed at accept "
                     "(default: what the open-file limit allows)")
          ->check(CLI::Range(size_t{1}, size_t{1} << 24));
  uint32_t http2_max_streams = 100, http2_max_resets = 200;
  app.add_option("--http2-max-concurrent-streams", http2_max_streams,
                 "HTTP/2 streams one client connection may have open; more are refused "
                 "(REFUSED_STREAM)")
      ->check(CLI::Range(uint32_t{1}, uint32_t{10000}));
  app.add_option("--http2-max-resets", http2_max_resets,
                 "HTTP/2 streams a client may reset within 10 s before its connection is ended "
                 "(GOAWAY ENHANCE_YOUR_CALM: rapid reset)")
      ->check(CLI::Range(uint32_t{1}, uint32_t{1000000}));
  bool allow_underscore_headers = false;
  app.add_flag("--allow-underscore-headers", allow_underscore_headers,
               "Forward request header names containing '_' (dropped by default, as nginx does; "
               "reserved certificate and forwarding names are removed in any spelling)");
  app.add_option("--drain-timeout-ms", drain_timeout_ms,
                 "On SIGTERM, how long open requests may take to finish");
  std::string access_log_spec = "stdout", connection_log_spec = "stderr";
  size_t log_buffer_bytes = 0;
  int log_flush_ms = 1000;
  double access_log_sample = 1.0;
  app.add_option("--access-log", access_log_spec,
                 "Where the access log (one JSON line per request) goes: PATH, stdout, stderr or "
                 "off. A file is opened for appending and reopened on SIGUSR1")
      ->capture_default_str();
  app.add_option("--connection-log", connection_log_spec,
                 "Where the connection log (failed handshakes, refused origins) goes: PATH, "
                 "stdout, stderr or off")
      ->capture_default_str();
  app.add_option("--log-buffer-bytes", log_buffer_bytes,
                 "Each worker gathers log lines up to this many bytes before one write "
                 "(0: the access log lines of one event-loop turn go out together at its end, "
                 "connection log lines at once)")
      ->check(CLI::Range(size_t{0}, size_t{64} << 20));
  app.add_option("--log-flush-ms", log_flush_ms,
                 "Buffered log lines are written at least this often (and on drain and exit)")
      ->check(CLI::Range(1, 3600000));
  app.add_option("--access-log-sample", access_log_sample,
                 "Share of successful requests logged, 0 to 1 (refusals, errors and invalid "
                 "certificates are always logged)")
      ->check(CLI::Range(0.0, 1.0));
  app.set_config("--config", "", "Read flags from this file (TOML or INI: name = value)");
  CLI11_PARSE(app, argc, argv);
  // The state dir holds every zone's server private key: whatever this
  // process creates is its own alone, whatever umask it was started with.
  umask(077);

  if (control_ca.empty() && !insecure) {
    return Fail("pass --control-ca FILE, or --insecure for a plaintext control plane");
  }
  auto access_log = LogFile::Open(access_log_spec);
  if (!access_log.ok()) {
    return Fail(absl::StrCat("--access-log: ", access_log.status().message()));
  }
  auto connection_log = LogFile::Open(connection_log_spec);
  if (!connection_log.ok()) {
    return Fail(absl::StrCat("--connection-log: ", connection_log.status().message()));
  }
  std::string token, error;
  if (!ReadToken(token_file, &token, &error)) {
    return Fail(error);
  }
  // --control A,B,C: each entry a HOST:PORT, none twice.
  for (absl::string_view entry : absl::StrSplit(control, ',')) {
    auto control_address = ParseHostPort(absl::StripAsciiWhitespace(entry));
    if (!control_address.ok()) {
      return Fail(std::string(control_address.status().message()));
    }
  }
  if (auto endpoints = certgate::ControlEndpoints::Parse(control); !endpoints.ok()) {
    return Fail(std::string(endpoints.status().message()));
  }
  std::vector<HostPort> listen_addresses;
  for (const std::string& text : listen) {
    auto address = ParseHostPort(text);
    if (!address.ok()) {
      return Fail(std::string(address.status().message()));
    }
    listen_addresses.push_back(*address);
  }
  auto metrics_address = ParseHostPort(metrics_listen);
  if (!metrics_address.ok()) {
    return Fail(std::string(metrics_address.status().message()));
  }
  absl::StatusOr<certgate::OriginPolicy> origin_policy =
      certgate::OriginPolicy::Create(origin_allow);
  if (!origin_policy.ok()) {
    return Fail(std::string(origin_policy.status().message()));
  }
  std::vector<OwnListener> own_listeners;
  for (const HostPort& address : listen_addresses) {
    own_listeners.push_back(OwnListener{"listen", address});
  }
  own_listeners.push_back(OwnListener{"metrics-listen", *metrics_address});
  auto origin_guard = OriginGuard::Create(*origin_policy, own_listeners);
  if (!origin_guard.ok()) {
    return Fail(std::string(origin_guard.status().message()));
  }
  if (!MakeDirs(state_dir)) {
    return Fail(absl::StrCat("cannot create state dir ", state_dir, ": ", strerror(errno)));
  }

  // Signals go to the main thread only (sigwait below); workers never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  sigaddset(&signals, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Workers are woken from other threads (drain, stop).
  evthread_use_pthreads();

  ConfigSlot slot;
  const std::string state_file = state_dir + "/config.pb";
  auto saved = LoadStateFile(state_file);
  if (saved.ok()) {
    slot.Publish(*saved);
    fprintf(stderr, "certgate-edge: serving config version %llu from %s\n",
            static_cast<unsigned long long>((*saved)->version()), state_file.c_str());
    for (const ZoneFailure& failure : (*saved)->Failures()) {
      fprintf(stderr,
              "certgate-edge: zone \"%s\" (id %llu) is not at its latest version, which "
              "failed to build: %s\n",
              failure.hostname.c_str(), static_cast<unsigned long long>(failure.zone_id),
              failure.error.c_str());
    }
  } else if (saved.status().code() != absl::StatusCode::kNotFound) {
    fprintf(stderr, "certgate-edge: ignoring state file: %s\n",
            std::string(saved.status().message()).c_str());
  }

  TlsServerOptions tls_options;
  tls_options.cache_entries = cache_entries;
  tls_options.tls_context_cache_entries = tls_context_cache;
  auto tls = TlsServer::Create(&slot, tls_options);
  if (!tls.ok()) {
    return Fail(std::string(tls.status().message()));
  }

  EdgeMetrics metrics(workers);
  EdgeServerOptions server_options;
  server_options.listen = listen_addresses;
  server_options.workers = workers;
  HttpOptions& http = server_options.worker.http;
  http.limits.max_header_bytes = max_header_bytes;
  http.limits.max_headers = max_headers;
  http.max_body_bytes = max_body_bytes;
  http.allow_underscore_headers = allow_underscore_headers;
  http.header_timeout = absl::Milliseconds(header_timeout_ms);
  http.idle_timeout = absl::Milliseconds(idle_timeout_ms);
  http.upgraded_idle_timeout = absl::Milliseconds(upgraded_idle_timeout_ms);
  http.origin_connect_timeout = absl::Milliseconds(origin_connect_timeout_ms);
  http.origin_timeout = absl::Milliseconds(origin_timeout_ms);
  http.http2_origin_idle_timeout = absl::Milliseconds(http2_origin_idle_ms);
  http.handshake_timeout = absl::Milliseconds(handshake_timeout_ms);
  // HTTP/2 streams take the same header limits as HTTP/1.1 requests (431).
  Http2ServerOptions& http2 = server_options.worker.http2;
  http2.limits.max_header_list_bytes = static_cast<uint32_t>(max_header_bytes);
  http2.limits.max_headers = static_cast<uint32_t>(max_headers);
  http2.max_concurrent_streams = http2_max_streams;
  http2.max_client_resets = http2_max_resets;
  size_t open_file_limit = RaiseOpenFileLimit();
  size_t affordable = ConnectionsPerWorker(open_file_limit, workers);
  if (max_connections_opt->count() == 0) {
    max_connections = affordable;
  } else if (max_connections > affordable) {
    fprintf(stderr,
            "certgate-edge: warning: %zu connections per worker need more descriptors than the "
            "open-file limit of %zu allows (%zu per worker)\n",
            max_connections, open_file_limit, affordable);
  }
  fprintf(stderr,
          "certgate-edge: at most %zu connections per worker (%d workers, open-file "
          "limit %zu)\n",
          max_connections, workers, open_file_limit);
  server_options.worker.max_connections = max_connections;
  server_options.worker.access_log = access_log->get();
  server_options.worker.connection_log = connection_log->get();
  server_options.worker.log_buffer_bytes = log_buffer_bytes;
  server_options.worker.log_flush_interval = absl::Milliseconds(log_flush_ms);
  server_options.worker.access_log_sample = access_log_sample;
  server_options.worker.origin_guard = std::move(*origin_guard);
  server_options.worker.resolver.servers = dns_servers;
  server_options.worker.resolver.timeout = absl::Milliseconds(dns_timeout_ms);
  // A running edge with this state directory hands over its listening
  // sockets: connections keep being accepted through the whole start.
  const std::string handover_path = HandoverSocketPath(state_dir);
  std::unique_ptr<HandoverClient> predecessor;
  int inherited_metrics_fd = -1;
  auto handover_client = HandoverClient::Connect(handover_path);
  if (handover_client.ok()) {
    auto taken = (*handover_client)->Take(absl::Seconds(30));
    if (!taken.ok()) {
      return Fail(absl::StrCat("taking over from the running edge (pid ",
                               (*handover_client)->peer_pid(), "): ", taken.status().message()));
    }
    for (const HandedSocket& socket : *taken) {
      if (socket.role == HandedSocket::Role::kMetrics && inherited_metrics_fd < 0 &&
          BoundTo(socket.fd, *metrics_address)) {
        inherited_metrics_fd = socket.fd;
      } else if (socket.role == HandedSocket::Role::kListen) {
        server_options.inherited_listen_fds.push_back(socket.fd);
      } else {
        close(socket.fd);
      }
    }
    fprintf(stderr, "certgate-edge: pid %d took over %zu listening sockets from pid %d\n",
            static_cast<int>(getpid()), taken->size(),
            static_cast<int>((*handover_client)->peer_pid()));
    predecessor = std::move(*handover_client);
  } else if (handover_client.status().code() != absl::StatusCode::kNotFound) {
    return Fail(std::string(handover_client.status().message()));
  }
  auto server = EdgeServer::Create(server_options, tls->get(), &metrics);
  if (!server.ok()) {
    return Fail(std::string(server.status().message()));
  }

  TlsServer* tls_server = tls->get();
  absl::StatusOr<int> metrics_fd = inherited_metrics_fd >= 0
                                       ? inherited_metrics_fd
                                       : BindListener(*metrics_address, /*reuse_port=*/false, 64);
  if (!metrics_fd.ok()) {
    return Fail(std::string(metrics_fd.status().message()));
  }
  auto metrics_server = certgate::MetricsServer::Create(*metrics_fd, [&] {
    GlobalStats global;
    if (VerificationCache* cache = tls_server->cache()) {
      VerificationCacheStats stats = cache->Stats();
      global.cache_hits = stats.hits;
      global.cache_misses = stats.misses;
      global.cache_evictions = stats.evictions;
      global.cache_size = stats.size;
    }
    const TlsStats& tls_stats = tls_server->stats();
    global.handshakes_ok = tls_stats.handshakes_ok.load();
    global.handshakes_failed = tls_stats.handshakes_failed.load();
    global.handshakes_resumed = tls_stats.handshakes_resumed.load();
    global.chain_verifications = tls_stats.chain_verifications.load();
    global.cheap_rejections = tls_stats.cheap_rejections.load();
    global.unknown_sni = tls_stats.unknown_sni.load();
    auto config = slot.Get();
    global.config_version = config ? config->version() : 0;
    global.zones_failed = config ? config->failure_count() : 0;
    return metrics.RenderPrometheus(global);
  });
  if (!metrics_server.ok()) {
    return Fail(std::string(metrics_server.status().message()));
  }

  ConfigSubscriptionOptions sub_options;
  sub_options.control_address = control;
  sub_options.token = token;
  sub_options.node_id = node_id;
  sub_options.control_ca_file = control_ca;
  sub_options.insecure = insecure;
  sub_options.state_file = state_file;
  sub_options.software_version = kVersion;
  sub_options.traffic_source = [&metrics] { return metrics.TakeTrafficReport(); };
  sub_options.max_message_bytes = max_config_message_bytes;
  // A zone whose TLS context fails when first used is reported like one
  // that failed to build when applied.
  sub_options.late_failures = [tls_server](const EdgeConfig& config) {
    return tls_server->LateFailures(config);
  };
  sub_options.late_failure_generation = [tls_server] {
    return tls_server->contexts()->failure_generation();
  };
  sub_options.on_zone_failures = [&metrics](uint64_t version,
                                            const std::vector<ZoneFailure>& failures) {
    metrics.ZoneBuildFailures(failures.size());
    for (const ZoneFailure& failure : failures) {
      // The edge's own log: the operator's, so the hostname is named.
      fprintf(stderr,
              "certgate-edge: config version %llu: zone \"%s\" (id %llu) failed to build, "
              "keeping its previous build if any: %s\n",
              static_cast<unsigned long long>(version), failure.hostname.c_str(),
              static_cast<unsigned long long>(failure.zone_id), failure.error.c_str());
    }
  };
  sub_options.on_state_written = [&metrics](int64_t bytes) {
    metrics.StateBytesWritten(static_cast<uint64_t>(bytes));
  };
  sub_options.on_config_event = [&metrics](uint64_t version, bool applied, bool state_write_ok,
                                           const std::string& error) {
    if (!state_write_ok) {
      // The config is applied and served all the same; only the disk copy
      // is stale, so a restart would start from an older version.
      metrics.StateWriteError();
      fprintf(stderr,
              "certgate-edge: writing the state file failed (serving version %llu from "
              "memory): %s\n",
              static_cast<unsigned long long>(version), error.c_str());
    }
    metrics.ConfigApplied(applied);
    if (applied) {
      fprintf(stderr, "certgate-edge: applied config version %llu\n",
              static_cast<unsigned long long>(version));
    } else {
      fprintf(stderr, "certgate-edge: refused config version %llu: %s\n",
              static_cast<unsigned long long>(version), error.c_str());
    }
  };
  auto subscription = ConfigSubscription::Create(std::move(sub_options), &slot);
  if (!subscription.ok()) {
    return Fail(std::string(subscription.status().message()));
  }

  (*server)->Start();
  (*metrics_server)->Start();
  (*subscription)->Start();
  if (predecessor != nullptr) {
    absl::Status confirmed = predecessor->ConfirmServing();
    if (!confirmed.ok()) {
      fprintf(stderr, "certgate-edge: %s\n", std::string(confirmed.message()).c_str());
    }
    predecessor.reset();
  }
  std::atomic<pid_t> successor{0};
  auto handover_server = HandoverServer::Create(
      handover_path,
      [&] {
        std::vector<HandedSocket> sockets;
        for (int fd : (*server)->ListenFds()) {
          sockets.push_back(HandedSocket{fd, HandedSocket::Role::kListen});
        }
        sockets.push_back(
            HandedSocket{(*metrics_server)->listen_fd(), HandedSocket::Role::kMetrics});
        return sockets;
      },
      [&successor](pid_t pid) {
        successor.store(pid);
        kill(getpid(), SIGTERM);  // drain, as on any stop
      });
  if (handover_server.ok()) {
    (*handover_server)->Start();
  } else {
    fprintf(stderr,
            "certgate-edge: warning: %s (a new edge cannot take over without refusing "
            "connections)\n",
            std::string(handover_server.status().message()).c_str());
  }
  // Under systemd (Type=notify), this process is now the unit's main one.
  NotifySystemd(absl::StrCat("MAINPID=", getpid(), "\nREADY=1"));
  std::vector<std::string> shown;
  for (const HostPort& address : listen_addresses) {
    shown.push_back(address.ToString());
  }
  WriteLogLine(
      1, absl::StrCat("certgate-edge listening on ", absl::StrJoin(shown, ", "), " (", workers,
                      " workers), metrics on ", metrics_address->ToString(), "\n"));

  int received = 0;
  for (;;) {
    sigwait(&signals, &received);
    if (received == SIGCHLD) {
      int status = 0;
      pid_t child;
      while ((child = waitpid(-1, &status, WNOHANG)) > 0) {
        fprintf(stderr, "certgate-edge: new edge pid %d exited (status %d) before taking over\n",
                static_cast<int>(child), status);
      }
      continue;
    }
    if (received == SIGUSR2) {
      pid_t child = StartSuccessor(argv);
      fprintf(stderr, "certgate-edge: SIGUSR2: started pid %d to take over\n",
              static_cast<int>(child));
      continue;
    }
    if (received != SIGUSR1) {
      break;
    }
    // SIGUSR1 (as nginx): logrotate has renamed the files; write new ones.
    for (LogFile* log : {access_log->get(), connection_log->get()}) {
      absl::Status reopened = log->Reopen();
      if (!reopened.ok()) {
        fprintf(stderr, "certgate-edge: %s (still writing the old file)\n",
                std::string(reopened.message()).c_str());
      }
    }
  }
  if (handover_server.ok()) {
    (*handover_server)->Stop();
  }
  if (successor.load() != 0) {
    // The new edge accepts on the same sockets and answers scrapes now.
    fprintf(stderr, "certgate-edge: handed over to pid %d, draining\n",
            static_cast<int>(successor.load()));
    (*metrics_server)->Stop();
  } else {
    fprintf(stderr, "certgate-edge: signal %d, draining\n", received);
  }
  (*server)->Shutdown(absl::Milliseconds(drain_timeout_ms));
  (*subscription)->Stop();
  (*metrics_server)->Stop();
  fprintf(stderr, "certgate-edge: stopped\n");
  return 0;
}

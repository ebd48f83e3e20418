// certgate-control: the tenant and admin API and the edge config stream,
// backed by one SQLite database, or by PostgreSQL shared with other replicas.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "common/metrics_server.h"
#include "common/origin_policy.h"
#include "common/snapshot_chunk_limits.h"
#include "controlplane/api/admin_service.h"
#include "controlplane/api/auth.h"
#include "controlplane/api/edge_config_service.h"
#include "controlplane/api/tenant_service.h"
#include "controlplane/api/token.h"
#include "controlplane/api/zone_manager.h"
#include "controlplane/expiry/expiry_metrics.h"
#include "controlplane/expiry/expiry_warnings.h"
#include "controlplane/ownership/hostname_claims.h"
#include "controlplane/ownership/hostname_verifier.h"
#include "controlplane/ownership/txt_resolver.h"
#include "controlplane/pki/edge_ca.h"
#include "controlplane/pki/origin_cert_renewer.h"
#include "controlplane/snapshot/fleet_status.h"
#include "controlplane/snapshot/snapshot_builder.h"
#include "controlplane/store/sqlite_store.h"
#include "controlplane/store/store_copier.h"
#include "controlplane/webhook/webhook_client.h"
#include "controlplane/webhook/webhook_notifier.h"

namespace {

using namespace certgate::controlplane;  // NOLINT: a binary's main

bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::stringstream content;
  content << in.rdbuf();
  *out = content.str();
  return true;
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

// MakeDirectories: mkdir -p, mode 0700 (the database and keys are secret).
bool MakeDirectories(const std::string& path) {
  if (path.empty() || path == "." || path == "/") {
    return true;
  }
  struct stat info;
  if (stat(path.c_str(), &info) == 0) {
    return S_ISDIR(info.st_mode);
  }
  if (!MakeDirectories(DirectoryOf(path))) {
    return false;
  }
  return mkdir(path.c_str(), 0700) == 0 || errno == EEXIST;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "certgate-control: %s\n", message.c_str());
  return 1;
}

// ReadDbFile: the --db value from a file (first line, whitespace trimmed),
// so a PostgreSQL password never appears on a command line.
absl::StatusOr<std::string> ReadDbFile(const std::string& path) {
  // Like ssh with a key file: a password others can read is refused.
  struct stat info;
  if (::stat(path.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        path, " is readable by group or others; it may hold a password: chmod 600 it"));
  }
  std::string content;
  if (!ReadWholeFile(path, &content)) {
    return absl::NotFoundError(absl::StrCat("cannot read --db-file ", path));
  }
  std::string target(absl::StripAsciiWhitespace(content.substr(0, content.find('\n'))));
  if (target.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--db-file ", path, " is empty"));
  }
  return target;
}

// StripSqlitePrefix: migrate's "sqlite:PATH" names a file.
std::string StripSqlitePrefix(const std::string& target) {
  return absl::StartsWith(target, "sqlite:") ? target.substr(7) : target;
}

// RunMigrate: `certgate-control migrate --from sqlite:PATH --to postgres://...`
// copies a stopped deployment's database into a new, empty one.
int RunMigrate(int argc, char** argv) {
  CLI::App app{
      "certgate-control migrate: copy a control-plane database (every tenant, token, zone, "
      "audit row and the config version) into a new, empty database, e.g. SQLite to PostgreSQL. "
      "Stop every certgate-control using the source first."};
  std::string from;
  std::string to;
  std::string to_file;
  app.add_option("--from", from, "Source: sqlite:PATH, PATH, or a postgres:// URL")->required();
  auto* to_option = app.add_option("--to", to, "Target: a postgres:// URL (or sqlite:PATH)");
  app.add_option("--to-file", to_file, "File holding the --to value (keeps a password off argv)")
      ->excludes(to_option);
  CLI11_PARSE(app, argc, argv);
  if (!to_file.empty()) {
    absl::StatusOr<std::string> target = ReadDbFile(to_file);
    if (!target.ok()) {
      return Fail(std::string(target.status().message()));
    }
    to = *target;
  }
  if (to.empty()) {
    return Fail("migrate needs --to or --to-file");
  }
  from = StripSqlitePrefix(from);
  to = StripSqlitePrefix(to);
  for (const auto& [flag, target] : {std::pair{"--from", &from}, std::pair{"--to", &to}}) {
    if (absl::Status checked = Database::CheckTarget(*target); !checked.ok()) {
      return Fail(absl::StrCat(flag, ": ", checked.message()));
    }
  }
  if (!Database::IsPostgresUrl(from) && ::access(from.c_str(), R_OK) != 0) {
    return Fail(absl::StrCat("--from ", from, ": no such database file"));
  }
  absl::StatusOr<std::unique_ptr<Database>> source = Database::Open(from);
  if (!source.ok()) {
    return Fail(absl::StrCat("--from: ", source.status().message()));
  }
  absl::StatusOr<std::unique_ptr<Database>> target = Database::Open(to);
  if (!target.ok()) {
    return Fail(absl::StrCat("--to: ", target.status().message()));
  }
  absl::Status copied = StoreCopier::Copy(**source, **target);
  if (!copied.ok()) {
    return Fail(absl::StrCat("migrate: ", copied.message()));
  }
  std::printf("certgate-control: migrated into the %s database\n", (*target)->dialect().name);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "migrate") {
    return RunMigrate(argc - 1, argv + 1);
  }
  CLI::App app{
      "certgate-control: the certgate control plane (tenant and admin API, edge config "
      "stream), backed by SQLite, or by PostgreSQL shared by several replicas.\n"
      "  certgate-control migrate --from sqlite:PATH --to postgres://...  copies a database"};
  std::string db_path;
  std::string db_file;
  std::string listen;
  std::string admin_token_file;
  std::string edge_token_file;
  std::string tls_cert;
  std::string tls_key;
  std::string edge_ca_dir;
  bool insecure = false;
  std::vector<std::string> origin_allow;
  TenantLimits default_limits;
  int origin_cert_days = 90;
  int origin_cert_renew_days = 30;
  double origin_cert_check_seconds = 3600;
  std::string verify_hostnames = "dns";
  std::string dns_server;
  double verify_interval_seconds = 300;
  double dns_timeout_seconds = 5;
  std::string metrics_listen;
  int warn_days = 30;
  std::string webhook_ca;
  double webhook_scan_seconds = 300;
  double webhook_retry_seconds = 2;
  int64_t snapshot_chunk_bytes = kDefaultSnapshotChunkBytes;
  bool trace_changes = false;
  app.set_config("--config", "", "Read flags from this config file (TOML or INI: key = value)");
  auto* db_option = app.add_option(
      "--db", db_path,
      "SQLite database file, or a postgres:// URL (one database shared by every replica); "
      "created and migrated on start");
  app.add_option("--db-file", db_file,
                 "File holding the --db value, so a PostgreSQL password stays off the command line")
      ->excludes(db_option);
  app.add_option("--listen", listen, "Address to serve gRPC on, HOST:PORT (port 0: any free)")
      ->required();
  app.add_option("--admin-token-file", admin_token_file,
                 "File holding the admin token; created (mode 0600) if missing")
      ->required();
  app.add_option("--edge-token-file", edge_token_file,
                 "File holding the token edges subscribe with; created (mode 0600) if missing")
      ->required();
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain to serve TLS with");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
  app.add_flag("--insecure", insecure, "Serve plaintext gRPC (only with this flag)");
  app.add_option("--origin-allow", origin_allow,
                 "CIDR a zone's origin address may be in besides public unicast (repeatable), "
                 "e.g. 127.0.0.0/8 or 10.0.0.0/8; link-local and multicast need a range inside "
                 "169.254.0.0/16, fe80::/10, 224.0.0.0/4 or ff00::/8");
  app.add_option("--max-zones", default_limits.max_zones,
                 "Default quota: zones per tenant (an admin can set a tenant's own)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--max-cas-per-zone,--max-roots-per-zone", default_limits.max_cas_per_zone,
                 "Default quota: roots plus intermediates per zone")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--max-revocations-per-zone", default_limits.max_revocations_per_zone,
                 "Default quota: revocations per zone (CRL entries included)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--max-config-bytes", default_limits.max_config_bytes,
                 "Default quota: bytes a tenant's zones add to every edge's config (their "
                 "stored size)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 50));
  app.add_option("--snapshot-chunk-bytes", snapshot_chunk_bytes,
                 "Largest piece of a snapshot in one message to an edge (every edge is sent "
                 "the same serialised snapshot in pieces of this size)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{64}, certgate::kMaxSnapshotChunkBytes));
  app.add_flag("--trace-changes", trace_changes,
               "Log, for each config change, when its delta was built, handed to the edge "
               "streams, written and acknowledged by them (ms after the commit)");
  app.add_option("--edge-ca-dir", edge_ca_dir,
                 "Directory of the CA that issues zones' server certificates "
                 "(default: edge-ca next to the database)");
  app.add_option("--origin-cert-days", origin_cert_days,
                 "Validity in days of the client certificates the edge CA issues for edges to "
                 "present to https origins")
      ->default_val(90)
      ->check(CLI::Range(1, 825));
  app.add_option("--origin-cert-renew-days", origin_cert_renew_days,
                 "Re-issue an edge-CA origin client certificate this many days before it expires")
      ->default_val(30)
      ->check(CLI::Range(0, 825));
  app.add_option("--origin-cert-check-interval", origin_cert_check_seconds,
                 "Seconds between checks for origin client certificates near expiry")
      ->default_val(3600)
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--verify-hostnames", verify_hostnames,
                 "How a new zone proves its tenant controls the hostname before edges serve it: "
                 "dns (a TXT record), admin (an admin approves it) or off (served at once, for "
                 "single-tenant installs)")
      ->default_val("dns")
      ->check(CLI::IsMember({"dns", "admin", "off"}));
  app.add_option("--dns-server", dns_server,
                 "DNS server (HOST:PORT) for hostname challenges (default: the system resolver)");
  app.add_option("--verify-interval", verify_interval_seconds,
                 "Seconds between DNS re-checks of pending zones")
      ->default_val(300)
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--dns-timeout", dns_timeout_seconds,
                 "Seconds one hostname challenge lookup may take")
      ->default_val(5)
      ->check(CLI::Range(0.1, 60.0));
  app.add_option("--metrics-listen", metrics_listen,
                 "Serve Prometheus metrics (GET /metrics: expiry of every zone's certificates "
                 "and CRLs, counts) on HOST:PORT over plain HTTP; off when not given");
  app.add_option("--warn-days", warn_days,
                 "Warn this many days before a certificate or CRL expires (status, zone show, "
                 "webhooks), unless the tenant or the call sets its own")
      ->default_val(30)
      ->check(CLI::Range(0, ExpiryWarnings::kMaxWarnDays));
  app.add_option("--webhook-ca", webhook_ca,
                 "PEM CA bundle that verifies https webhooks (default: the system store)");
  app.add_option("--webhook-scan-interval", webhook_scan_seconds,
                 "Seconds between checks of webhook tenants' zones for expiring items")
      ->default_val(300)
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--webhook-retry", webhook_retry_seconds,
                 "Seconds before the first retry of a failed webhook POST (doubled each time, "
                 "at most 10 minutes, 8 tries)")
      ->default_val(2)
      ->check(CLI::Range(0.1, 600.0));
  CLI11_PARSE(app, argc, argv);
  // The database, token files and edge CA key are secrets: whatever this
  // process creates is its own alone, whatever umask it was started with
  // (each of those files is also created 0600 explicitly).
  umask(077);

  if (!db_file.empty()) {
    absl::StatusOr<std::string> target = ReadDbFile(db_file);
    if (!target.ok()) {
      return Fail(std::string(target.status().message()));
    }
    db_path = *target;
  }
  if (db_path.empty()) {
    return Fail("give --db (a SQLite file or a postgres:// URL) or --db-file");
  }
  if (absl::Status checked = Database::CheckTarget(db_path); !checked.ok()) {
    return Fail(absl::StrCat("--db: ", checked.message()));
  }
  const bool shared_db = Database::IsPostgresUrl(db_path);
  if (shared_db && edge_ca_dir.empty()) {
    return Fail(
        "--edge-ca-dir is required with a PostgreSQL --db: every replica must use the same edge "
        "CA");
  }
  if (insecure && (!tls_cert.empty() || !tls_key.empty())) {
    return Fail("--insecure cannot be combined with --tls-cert/--tls-key");
  }
  if (!insecure && (tls_cert.empty() || tls_key.empty())) {
    return Fail("give --tls-cert and --tls-key, or --insecure to serve plaintext");
  }
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Fail(absl::StrCat("--listen ", listen, ": expected HOST:PORT"));
  }
  absl::StatusOr<certgate::OriginPolicy> origin_policy =
      certgate::OriginPolicy::Create(origin_allow);
  if (!origin_policy.ok()) {
    return Fail(std::string(origin_policy.status().message()));
  }
  int metrics_fd = -1;
  if (!metrics_listen.empty()) {
    absl::StatusOr<certgate::HostPort> metrics_address =
        certgate::ParseHostPort(metrics_listen, /*allow_zero_port=*/true);
    if (!metrics_address.ok()) {
      return Fail(absl::StrCat("--metrics-listen: ", metrics_address.status().message()));
    }
    absl::StatusOr<int> fd = certgate::BindListener(*metrics_address, /*reuse_port=*/false, 64);
    if (!fd.ok()) {
      return Fail(absl::StrCat("--metrics-listen: ", fd.status().message()));
    }
    metrics_fd = *fd;
  }
  WebhookClientOptions webhook_options;
  webhook_options.policy = *origin_policy;
  webhook_options.ca_file = webhook_ca;
  absl::StatusOr<std::unique_ptr<WebhookClient>> webhook_client =
      WebhookClient::Create(webhook_options);
  if (!webhook_client.ok()) {
    return Fail(std::string(webhook_client.status().message()));
  }
  if (edge_ca_dir.empty()) {
    edge_ca_dir = DirectoryOf(db_path) + "/edge-ca";
  }

  // Signals are taken synchronously by the main thread: block them before
  // any thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (!shared_db && !MakeDirectories(DirectoryOf(db_path))) {
    return Fail(absl::StrCat("cannot create the directory of --db ", db_path));
  }

  SqliteStoreOptions store_options;
  store_options.path = db_path;
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(store_options);
  if (!store.ok()) {
    return Fail(std::string(store.status().message()));
  }
  absl::StatusOr<std::string> admin_token = LoadOrCreateTokenFile(admin_token_file);
  if (!admin_token.ok()) {
    return Fail(std::string(admin_token.status().message()));
  }
  absl::StatusOr<std::string> edge_token = LoadOrCreateTokenFile(edge_token_file);
  if (!edge_token.ok()) {
    return Fail(std::string(edge_token.status().message()));
  }
  absl::StatusOr<std::unique_ptr<EdgeCa>> edge_ca = EdgeCa::LoadOrCreate(edge_ca_dir);
  if (!edge_ca.ok()) {
    return Fail(std::string(edge_ca.status().message()));
  }
  uint64_t current_version = 0;
  absl::Status read = (*store)->Read([&](StoreTransaction& txn) -> absl::Status {
    absl::StatusOr<uint64_t> version = txn.ConfigVersion();
    if (!version.ok()) {
      return version.status();
    }
    current_version = *version;
    return absl::OkStatus();
  });
  if (!read.ok()) {
    return Fail(std::string(read.message()));
  }

  absl::StatusOr<HostnameVerification> verification = ParseHostnameVerification(verify_hostnames);
  if (!verification.ok()) {
    return Fail(std::string(verification.status().message()));
  }
  TxtResolverOptions resolver_options;
  resolver_options.server = dns_server;
  resolver_options.timeout = absl::Seconds(dns_timeout_seconds);
  absl::StatusOr<std::unique_ptr<TxtResolver>> resolver = TxtResolver::Create(resolver_options);
  if (!resolver.ok()) {
    return Fail(std::string(resolver.status().message()));
  }
  HostnameVerifierOptions verifier_options;
  verifier_options.mode = *verification;
  verifier_options.recheck_interval = absl::Seconds(verify_interval_seconds);
  verifier_options.origin_cert_days = origin_cert_days;
  HostnameVerifier verifier(store->get(), edge_ca->get(), resolver->get(), verifier_options);

  Authenticator auth(store->get(), *admin_token, *edge_token);
  FleetStatus fleet(store->get());
  SnapshotBuilder builder(store->get());
  ZoneManagerOptions zone_options;
  zone_options.default_limits = default_limits;
  zone_options.origin_policy = *origin_policy;
  zone_options.origin_cert_days = origin_cert_days;
  zone_options.origin_cert_renew_days = origin_cert_renew_days;
  ZoneManager zones(store->get(), edge_ca->get(), &fleet, &verifier, zone_options);
  ExpiryWarnings warnings(store->get(), warn_days);
  TenantServiceImpl tenant_service(&auth, &zones, &warnings);
  AdminServiceImpl admin_service(&auth, store->get(), &fleet, default_limits, &verifier,
                                 *origin_policy);
  WebhookNotifierOptions notifier_options;
  notifier_options.default_warn_days = warn_days;
  notifier_options.scan_interval = absl::Seconds(webhook_scan_seconds);
  notifier_options.first_retry_delay = absl::Seconds(webhook_retry_seconds);
  notifier_options.policy = *origin_policy;
  WebhookNotifier notifier(store->get(), webhook_client->get(), notifier_options);
  ExpiryMetrics expiry_metrics(store->get(), &fleet);
  verifier.SetEventListener(
      [&notifier](const ZoneRow& zone, bool verified, const std::string& detail) {
        if (verified) {
          notifier.ZoneVerified(zone, detail);
        } else {
          notifier.ZoneVerificationFailed(zone, detail);
        }
      });
  fleet.SetFailureListener([&notifier](const std::string& node_id, uint64_t version,
                                       uint64_t zone_id, const std::string& error) {
    notifier.EdgeZoneFailure(node_id, version, zone_id, error);
  });
  EdgeConfigServiceImpl edge_service(&auth, store->get(), &builder, &fleet, current_version,
                                     snapshot_chunk_bytes, trace_changes);
  (*store)->SetCommitListener(
      [&edge_service](uint64_t version) { edge_service.OnCommit(version); });

  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (insecure) {
    credentials = grpc::InsecureServerCredentials();
  } else {
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (!ReadWholeFile(tls_key, &pair.private_key)) {
      return Fail(absl::StrCat("cannot read --tls-key ", tls_key));
    }
    if (!ReadWholeFile(tls_cert, &pair.cert_chain)) {
      return Fail(absl::StrCat("cannot read --tls-cert ", tls_cert));
    }
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back(pair);
    credentials = grpc::SslServerCredentials(options);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder server_builder;
  int port = 0;
  server_builder.AddListeningPort(listen, credentials, &port);
  server_builder.RegisterService(&tenant_service);
  server_builder.RegisterService(&admin_service);
  server_builder.RegisterService(&edge_service);
  // Edges hold one idle stream each: notice dead ones, allow their pings.
  server_builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  server_builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  server_builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  std::unique_ptr<grpc::Server> server = server_builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::StrCat("cannot listen on ", listen));
  }
  OriginCertRenewer renewer(&zones, absl::Seconds(origin_cert_check_seconds));
  renewer.Start();
  verifier.Start();
  notifier.Start();
  std::unique_ptr<certgate::MetricsServer> metrics_server;
  if (metrics_fd >= 0) {
    absl::StatusOr<std::unique_ptr<certgate::MetricsServer>> created =
        certgate::MetricsServer::Create(
            metrics_fd, [&expiry_metrics] { return expiry_metrics.Render(absl::Now()); });
    if (!created.ok()) {
      return Fail(std::string(created.status().message()));
    }
    metrics_server = std::move(*created);
    metrics_server->Start();
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof(bound);
    getsockname(metrics_fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
    int metrics_port =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    std::fprintf(stderr, "certgate-control: metrics on port %d\n", metrics_port);
  }
  std::fprintf(stderr, "certgate-control: hostname verification: %s\n", verify_hostnames.c_str());
  std::printf("certgate-control listening on %s:%d\n", listen.substr(0, colon).c_str(), port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "certgate-control: signal %d, shutting down\n", signal_number);
  if (metrics_server != nullptr) {
    metrics_server->Stop();
  }
  notifier.Stop();
  renewer.Stop();
  verifier.Stop();
  edge_service.CloseAllStreams();
  // Calls still running are cancelled after the grace period.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  (*store)->SetCommitListener(nullptr);
  edge_service.Stop();
  return 0;
}

// certgate-control on PostgreSQL from an operator's side: --db-file, what
// bad database flags say, `certgate-control migrate` from SQLite, and one
// tenant's credentials revoked through one replica refused by the other.
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/postgres_cluster.h"
#include "tests/support/process.h"

namespace certgate::testing {
namespace {

class PostgresDeploymentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = PostgresCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    dir_ = MakeTempDir("certgate-pg-deploy");
  }

  // Control: runs certgate-control to completion with `flags` after the
  // usual ones (for flags it refuses before serving).
  CommandResult Control(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {BinPath("certgate-control"),
                                     "--listen",
                                     absl::StrCat("127.0.0.1:", FreePort()),
                                     "--admin-token-file",
                                     dir_ + "/admin.token",
                                     "--edge-token-file",
                                     dir_ + "/edge.token",
                                     "--insecure"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return RunCommand(argv, "", {}, absl::Seconds(30));
  }

  v1::ZoneResponse CreateZone(ControlPlaneProcess& control, const std::string& token,
                              const std::string& hostname, grpc::Status* status) {
    v1::CreateZoneRequest request;
    request.set_hostname(hostname);
    request.set_origin("http://127.0.0.1:8080");
    v1::ZoneResponse response;
    grpc::ClientContext context;
    Authorize(&context, token);
    *status = control.Tenant()->CreateZone(&context, request, &response);
    return response;
  }

  std::unique_ptr<PostgresCluster> cluster_;
  std::string dir_;
};

TEST_F(PostgresDeploymentTest, BadDatabaseFlagsSayWhatIsWrongAndKeepThePasswordOut) {
  struct Case {
    std::vector<std::string> flags;
    std::string error;
  };
  WriteFile(dir_ + "/empty.url", "\n", 0600);
  WriteFile(dir_ + "/shared.url", "postgresql://certgate:pw@127.0.0.1/certgate\n", 0644);
  std::string url = cluster_->Url("postgres");
  std::string unreachable =
      absl::StrCat("postgresql://certgate:s3cret-pw@127.0.0.1:", FreePort(), "/certgate");
  WriteFile(dir_ + "/unreachable.url", unreachable + "\n", 0600);
  for (const Case& c : std::vector<Case>{
           {{"--db-file", dir_ + "/missing.url"},
            absl::StrCat("certgate-control: cannot read --db-file ", dir_, "/missing.url\n")},
           {{"--db-file", dir_ + "/empty.url"},
            absl::StrCat("certgate-control: --db-file ", dir_, "/empty.url is empty\n")},
           {{"--db-file", dir_ + "/shared.url"},
            absl::StrCat("certgate-control: ", dir_,
                         "/shared.url is readable by group or others; it may hold a password: "
                         "chmod 600 it\n")},
           {{}, "certgate-control: give --db (a SQLite file or a postgres:// URL) or --db-file\n"},
           {{"--db", url},
            "certgate-control: --edge-ca-dir is required with a PostgreSQL --db: every replica "
            "must use the same edge CA\n"},
       }) {
    CommandResult result = Control(c.flags);
    EXPECT_EQ(result.exit_code, 1) << c.error;
    EXPECT_EQ(result.err, c.error);
  }
  CommandResult down =
      Control({"--db-file", dir_ + "/unreachable.url", "--edge-ca-dir", dir_ + "/ca"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(down.err, "certgate-control: cannot connect to PostgreSQL: "))
      << down.err;
  EXPECT_EQ(down.err.find("s3cret-pw"), std::string::npos) << down.err;
  CommandResult both = Control({"--db", url, "--db-file", dir_ + "/empty.url"});
  EXPECT_NE(both.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(both.err + both.out, "excludes")) << both.err << both.out;
}

TEST_F(PostgresDeploymentTest, MigrateMovesASqliteDeploymentToPostgresWithItsVersion) {
  // A SQLite deployment with a tenant and a zone.
  ControlPlaneProcess sqlite_control(dir_);
  std::string error;
  ASSERT_TRUE(sqlite_control.Start(&error)) << error;
  std::string token = NewTenant(sqlite_control, "moving");
  grpc::Status status;
  v1::ZoneResponse zone = CreateZone(sqlite_control, token, "moved.example", &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  uint64_t version = ConfigVersion(sqlite_control);
  sqlite_control.Stop(SIGTERM);

  auto url = cluster_->CreateDatabase();
  ASSERT_TRUE(url.ok());
  WriteFile(dir_ + "/pg.url", *url + "\n", 0600);
  CommandResult migrated =
      RunCommand({BinPath("certgate-control"), "migrate", "--from",
                  "sqlite:" + sqlite_control.db_path(), "--to-file", dir_ + "/pg.url"});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_EQ(migrated.out, "certgate-control: migrated into the postgres database\n");

  // Again into the same (now full) database: refused, nothing changed.
  CommandResult again = RunCommand({BinPath("certgate-control"), "migrate", "--from",
                                    "sqlite:" + sqlite_control.db_path(), "--to", *url});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, absl::StrCat("certgate-control: migrate: the target database is not empty "
                                    "(config version ",
                                    version, ", 1 tenants); migrate only into a new database\n"));
  CommandResult missing = RunCommand({BinPath("certgate-control"), "migrate", "--from",
                                      "sqlite:" + dir_ + "/nope.db", "--to", *url});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err,
            absl::StrCat("certgate-control: --from ", dir_, "/nope.db: no such database file\n"));

  // The same deployment on PostgreSQL: same version, same zone, same token,
  // and the next change is the next version.
  ControlPlaneProcess pg_control(dir_, {"--insecure", "--edge-ca-dir", dir_ + "/state/edge-ca"});
  pg_control.UseDatabase(*url);
  ASSERT_TRUE(pg_control.Start(&error)) << error;
  EXPECT_EQ(ConfigVersion(pg_control), version);
  v1::ZoneResponse second = CreateZone(pg_control, token, "second.example", &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(second.config_version(), version + 1);
  // (Its insert also shows the zone id sequence moved past the copied ids.)
  v1::GetZoneRequest get;
  get.set_hostname("moved.example");
  v1::ZoneResponse got;
  grpc::ClientContext context;
  Authorize(&context, token);
  status = pg_control.Tenant()->GetZone(&context, get, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.zone().SerializeAsString(), zone.zone().SerializeAsString());
}

// Hostile tenant: nothing a replica keeps in memory outlives a change made
// through another. A token revoked through A is refused by B at once, and a
// tenant on B cannot touch a zone another tenant created through A.
TEST_F(PostgresDeploymentTest, ARevocationThroughOneReplicaBindsTheOther) {
  auto url = cluster_->CreateDatabase();
  ASSERT_TRUE(url.ok());
  std::vector<std::unique_ptr<ControlPlaneProcess>> replicas;
  for (int i = 0; i < 2; ++i) {
    replicas.push_back(std::make_unique<ControlPlaneProcess>(
        dir_, std::vector<std::string>{"--insecure", "--edge-ca-dir", dir_ + "/edge-ca"}));
    replicas.back()->UseDatabase(*url);
    std::string error;
    ASSERT_TRUE(replicas.back()->Start(&error)) << error;
  }
  ControlPlaneProcess& a = *replicas[0];
  ControlPlaneProcess& b = *replicas[1];
  std::string victim = NewTenant(a, "victim");
  std::string attacker = NewTenant(b, "attacker");
  grpc::Status status;
  CreateZone(a, victim, "victim.example", &status);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The attacker, through B, can neither see nor take the victim's zone.
  v1::DeleteZoneRequest remove;
  remove.set_hostname("victim.example");
  v1::ChangeResponse removed;
  grpc::ClientContext remove_context;
  Authorize(&remove_context, attacker);
  EXPECT_FALSE(b.Tenant()->DeleteZone(&remove_context, remove, &removed).ok());
  CreateZone(b, attacker, "victim.example", &status);
  EXPECT_FALSE(status.ok()) << "a second tenant took an active hostname through another replica";

  // The victim's token, revoked by the admin through A, is refused by B.
  v1::ListZonesRequest list;
  {
    grpc::ClientContext context;
    Authorize(&context, victim);
    v1::ListZonesResponse zones;
    ASSERT_TRUE(b.Tenant()->ListZones(&context, list, &zones).ok());
    EXPECT_EQ(zones.zones_size(), 1);
  }
  v1::RevokeTenantTokenRequest revoke;
  revoke.set_token_id(victim.substr(4, victim.find('_', 4) - 4));
  v1::RevokeTenantTokenResponse revoked;
  {
    grpc::ClientContext context;
    Authorize(&context, a.admin_token());
    status = a.Admin()->RevokeTenantToken(&context, revoke, &revoked);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  grpc::ClientContext context;
  Authorize(&context, victim);
  v1::ListZonesResponse zones;
  status = b.Tenant()->ListZones(&context, list, &zones);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();

  // The CLI given both replicas keeps working with A gone.
  std::string servers = absl::StrCat(a.address(), ",", b.address());
  a.Stop(SIGKILL);
  CommandResult listed = RunCommand({BinPath("certgate"), "admin", "tenant", "list", "--server",
                                     servers, "--insecure", "--token", b.admin_token()});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(absl::StrContains(listed.out, "attacker")) << listed.out;
  CommandResult bad = RunCommand({BinPath("certgate"), "admin", "tenant", "list", "--server",
                                  servers + ",", "--insecure", "--token", b.admin_token()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(bad.err, "expected HOST:PORT")) << bad.err;
}

}  // namespace
}  // namespace certgate::testing

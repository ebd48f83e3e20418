#include "tests/unit/controlplane/store/store_engine.h"

#include <memory>

#include "tests/support/postgres_cluster.h"
#include "tests/support/process.h"

namespace certgate::controlplane {

std::string FreshStoreTarget(Engine engine) {
  if (engine == Engine::kSqlite) {
    return certgate::testing::MakeTempDir("cp-store") + "/store.db";
  }
  // One cluster per test process; each test gets its own database on it.
  static auto* cluster = [] {
    auto started = certgate::testing::PostgresCluster::Start();
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? started->release() : nullptr;
  }();
  static const bool removed_at_exit = [] {
    std::atexit([] { delete cluster; });
    return true;
  }();
  (void)removed_at_exit;
  if (cluster == nullptr) {
    return "postgresql://no-cluster.invalid/none";
  }
  auto url = cluster->CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status();
  return url.value_or("postgresql://no-database.invalid/none");
}

std::string EngineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "Sqlite" : "Postgres";
}

}  // namespace certgate::controlplane

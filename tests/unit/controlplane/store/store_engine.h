#pragma once

#include <string>

#include "controlplane/store/dialect.h"
#include "gtest/gtest.h"

namespace certgate::controlplane {

// FreshStoreTarget: an empty database on `engine` for one test: a new SQLite
// file, or a new database on this process's private PostgreSQL cluster
// (started on first use, removed at exit).
std::string FreshStoreTarget(Engine engine);

// EngineName names a parameterised test's engine ("Sqlite", "Postgres").
std::string EngineName(const ::testing::TestParamInfo<Engine>& info);

// kBothEngines: the values every store test runs with.
inline const auto kBothEngines = ::testing::Values(Engine::kSqlite, Engine::kPostgres);

}  // namespace certgate::controlplane

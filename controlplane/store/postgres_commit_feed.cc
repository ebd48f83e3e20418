#include "controlplane/store/postgres_commit_feed.h"

#include <poll.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controlplane/store/postgres_database.h"

namespace certgate::controlplane {
namespace {

// How long one poll waits, which bounds how late Stop is noticed.
constexpr int kPollMillis = 100;
// How often the version is read even without a notification.
constexpr absl::Duration kRecheck = absl::Seconds(5);

}  // namespace

PostgresCommitFeed::PostgresCommitFeed(std::string url, Callback on_version)
    : url_(std::move(url)), on_version_(std::move(on_version)) {
  thread_ = std::thread([this] { Run(); });
}

PostgresCommitFeed::~PostgresCommitFeed() {
  stopping_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

void PostgresCommitFeed::Sleep(double seconds) {
  absl::Time until = absl::Now() + absl::Seconds(seconds);
  while (!stopping_ && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void PostgresCommitFeed::Run() {
  double backoff = 0.05;
  bool was_down = false;
  while (!stopping_) {
    absl::StatusOr<PGconn*> conn = ConnectPostgres(url_, "certgate-control-feed");
    if (!conn.ok()) {
      if (!was_down) {
        std::fprintf(stderr, "commit feed: %s; retrying\n",
                     std::string(conn.status().message()).c_str());
        was_down = true;
      }
      // Jittered, so replicas do not reconnect in step.
      Sleep(backoff * (0.5 + std::rand() / (2.0 * RAND_MAX)));
      backoff = std::min(backoff * 2, 2.0);
      continue;
    }
    if (was_down) {
      std::fprintf(stderr, "commit feed: PostgreSQL reachable again\n");
      was_down = false;
    }
    backoff = 0.05;
    Listen(*conn);
    PQfinish(*conn);
    if (!stopping_) {
      std::fprintf(stderr, "commit feed: lost the PostgreSQL connection; reconnecting\n");
      was_down = true;
    }
  }
}

absl::StatusOr<uint64_t> PostgresCommitFeed::CurrentVersion(PGconn* conn) {
  PgResult result(PQexec(conn, "SELECT value FROM meta WHERE key='config_version'"));
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK || PQntuples(result.get()) != 1) {
    return absl::UnavailableError(PQerrorMessage(conn));
  }
  return std::strtoull(PQgetvalue(result.get(), 0, 0), nullptr, 10);
}

void PostgresCommitFeed::Listen(PGconn* conn) {
  PgResult listen(PQexec(conn, "LISTEN certgate_config"));
  if (PQresultStatus(listen.get()) != PGRES_COMMAND_OK) {
    return;
  }
  // Listening first, then reading: a commit between the two is seen twice
  // at worst, never missed.
  absl::Time next_check = absl::InfinitePast();
  while (!stopping_) {
    if (absl::Now() >= next_check) {
      absl::StatusOr<uint64_t> version = CurrentVersion(conn);
      if (!version.ok()) {
        return;
      }
      on_version_(*version);
      next_check = absl::Now() + kRecheck;
    }
    pollfd fd{PQsocket(conn), POLLIN, 0};
    if (fd.fd < 0) {
      return;
    }
    int ready = ::poll(&fd, 1, kPollMillis);
    if (ready < 0) {
      continue;
    }
    if (ready > 0 && PQconsumeInput(conn) == 0) {
      return;
    }
    while (PGnotify* notify = PQnotifies(conn)) {
      uint64_t version = std::strtoull(notify->extra, nullptr, 10);
      PQfreemem(notify);
      on_version_(version);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
      return;
    }
  }
}

}  // namespace certgate::controlplane

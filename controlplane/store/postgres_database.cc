#include "controlplane/store/postgres_database.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "controlplane/store/postgres_statement.h"

namespace certgate::controlplane {
namespace {

void IgnoreNotice(void*, const char*) {}

// OneLine: libpq's messages span lines (a hint on the second); logs and
// API errors take one.
std::string OneLine(absl::string_view text) {
  std::string line;
  for (absl::string_view part : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    if (!line.empty()) {
      line += "; ";
    }
    absl::StrAppend(&line, absl::StripAsciiWhitespace(part));
  }
  return line;
}

std::string ErrorText(PGconn* conn) { return OneLine(PQerrorMessage(conn)); }

// WithoutPasswords: `message` with the password of `url` (user:PASSWORD@ and
// ?password=, as written) blotted out. libpq repeats a malformed URL, or the
// token it could not decode, in its error message.
std::string WithoutPasswords(std::string message, absl::string_view url) {
  std::vector<absl::string_view> secrets;
  size_t scheme = url.find("://");
  if (scheme != absl::string_view::npos) {
    // Like libpq: the user info ends at the first '@' before any '/'.
    absl::string_view rest = url.substr(scheme + 3);
    size_t end = rest.find_first_of("@/");
    if (end != absl::string_view::npos && rest[end] == '@') {
      absl::string_view user_info = rest.substr(0, end);
      size_t colon = user_info.find(':');
      if (colon != absl::string_view::npos) {
        secrets.push_back(user_info.substr(colon + 1));
      }
    }
  }
  size_t query = url.find('?');
  if (query != absl::string_view::npos) {
    for (absl::string_view param : absl::StrSplit(url.substr(query + 1), '&')) {
      if (absl::ConsumePrefix(&param, "password=")) {
        secrets.push_back(param);
      }
    }
  }
  for (absl::string_view secret : secrets) {
    if (!secret.empty()) {
      absl::StrReplaceAll({{secret, "***"}}, &message);
    }
  }
  return message;
}

}  // namespace

absl::StatusOr<PGconn*> ConnectPostgres(const std::string& url, const char* application_name) {
  // Defaults the URL may override (it comes last): a server that vanishes
  // without a reset (a dead host, a partition) fails calls within seconds
  // instead of hanging them on the kernel's two-hour keepalive.
  const char* keywords[] = {
      "application_name", "connect_timeout",  "keepalives_idle", "keepalives_interval",
      "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
  const char* values[] = {application_name, "5", "5", "2", "3", "10000", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return absl::UnavailableError("cannot connect to PostgreSQL: out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = WithoutPasswords(ErrorText(conn), url);
    PQfinish(conn);
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", message));
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  return conn;
}

absl::StatusOr<std::unique_ptr<Database>> PostgresDatabase::Open(const std::string& url) {
  absl::StatusOr<PGconn*> conn = ConnectPostgres(url, "certgate-control");
  if (!conn.ok()) {
    return conn.status();
  }
  return std::unique_ptr<Database>(new PostgresDatabase(*conn));
}

PostgresDatabase::~PostgresDatabase() { PQfinish(conn_); }

absl::Status PostgresDatabase::Reconnect() {
  if (PQstatus(conn_) == CONNECTION_OK) {
    return absl::OkStatus();
  }
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat("PostgreSQL unreachable: ", ErrorText(conn_)));
  }
  PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
  return absl::OkStatus();
}

absl::StatusOr<PgResult> PostgresDatabase::Check(PGresult* raw) {
  PgResult result(raw);
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    const char* tuples = PQcmdTuples(result.get());
    changes_ = tuples[0] != '\0' ? std::atoi(tuples) : 0;
    return result;
  }
  const char* primary =
      result ? PQresultErrorField(result.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary != nullptr ? OneLine(primary) : ErrorText(conn_);
  const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
  absl::string_view sqlstate = state != nullptr ? state : "";
  if (PQstatus(conn_) != CONNECTION_OK || absl::StartsWith(sqlstate, "08") ||
      absl::StartsWith(sqlstate, "57P")) {
    return absl::UnavailableError(absl::StrCat("PostgreSQL connection lost: ", message));
  }
  if (absl::StartsWith(sqlstate, "23")) {
    return absl::FailedPreconditionError(absl::StrCat("postgres constraint: ", message));
  }
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return absl::AbortedError(absl::StrCat("postgres: ", message));
  }
  return absl::InternalError(absl::StrCat("postgres: ", message));
}

absl::Status PostgresDatabase::Execute(absl::string_view sql) {
  absl::StatusOr<PgResult> result = Check(PQexec(conn_, std::string(sql).c_str()));
  return result.status();
}

absl::StatusOr<PgResult> PostgresDatabase::ExecParams(const std::string& sql,
                                                      const std::vector<Oid>& types,
                                                      const std::vector<const char*>& values,
                                                      const std::vector<int>& lengths,
                                                      const std::vector<int>& formats) {
  return Check(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), types.data(),
                            values.data(), lengths.data(), formats.data(), 0));
}

absl::StatusOr<Statement> PostgresDatabase::Prepare(absl::string_view sql) {
  return Statement(std::make_unique<PostgresStatement>(this, ToDollarParameters(sql)));
}

std::string PostgresDatabase::ToDollarParameters(absl::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  bool in_literal = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'') {
      in_literal = !in_literal;
    } else if (!in_literal && c == '?' && i + 1 < sql.size() && absl::ascii_isdigit(sql[i + 1])) {
      c = '$';
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace certgate::controlplane

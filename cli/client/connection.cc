#include "cli/client/connection.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cli/client/local_files.h"
#include "common/control_endpoints.h"
#include "common/pem.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::cli {

namespace {

// Long enough for a control plane under load, short enough that a script
// pointed at a dead address does not hang.
constexpr auto kCallTimeout = std::chrono::seconds(30);

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Create(const ConnectionSettings& settings) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (settings.insecure) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions options;
    if (!settings.ca_file.empty()) {
      absl::StatusOr<std::string> pem = ReadLocalFile(settings.ca_file);
      if (!pem.ok()) {
        return pem.status();
      }
      if (!ParseCertificates(*pem).ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("CA file ", settings.ca_file, " holds no PEM certificate"));
      }
      options.pem_root_certs = *pem;
    }
    credentials = grpc::SslCredentials(options);
  }
  grpc::ChannelArguments arguments;
  // A zone with many roots, or a tenant with many zones, outgrows gRPC's
  // default 4 MiB answer; the control plane bounds what it sends.
  arguments.SetMaxReceiveMessageSize(-1);
  // Several control-plane replicas (A,B,C): one channel over all of them,
  // which moves to the next when one does not answer.
  absl::StatusOr<ControlEndpoints> endpoints = ControlEndpoints::Parse(settings.server);
  if (!endpoints.ok()) {
    return endpoints.status();
  }
  absl::StatusOr<std::string> target = endpoints->GrpcTarget();
  if (!target.ok()) {
    return target.status();
  }
  if (endpoints->size() > 1 && !settings.insecure) {
    arguments.SetSslTargetNameOverride(endpoints->TlsName());
  }
  auto channel = grpc::CreateCustomChannel(*target, credentials, arguments);
  return std::unique_ptr<Connection>(new Connection(std::move(channel), settings.token));
}

Connection::Connection(std::shared_ptr<grpc::Channel> channel, std::string token)
    : channel_(std::move(channel)),
      token_(std::move(token)),
      tenant_(certgate::v1::TenantService::NewStub(channel_)),
      admin_(certgate::v1::AdminService::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> Connection::NewCallContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  return context;
}

}  // namespace certgate::cli

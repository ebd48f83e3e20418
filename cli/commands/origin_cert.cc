// certgate origin-cert: the client certificate edges present to a zone's
// https origin (authenticated origin pulls).
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/client/format.h"
#include "cli/client/local_files.h"
#include "cli/client/views.h"
#include "cli/commands/commands.h"
#include "common/pem.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::cli {

namespace {

struct OriginCertOptions {
  std::string host;
  std::string cert_file;
  std::string key_file;
};

void RenderOriginCertChange(std::ostream& out, const certgate::v1::ZoneResponse& response) {
  out << RenderServerCertificate(response.zone().origin_client_certificate()) << "Config version "
      << response.config_version() << "\n";
}

int SetOriginCert(CommandContext& context, const OriginCertOptions& options) {
  absl::StatusOr<CertificateAndKey> pair =
      ReadCertificateAndKey(options.cert_file, options.key_file);
  if (!pair.ok()) {
    return context.UsageError(pair.status());
  }
  certgate::v1::SetOriginClientCertificateRequest request;
  request.set_hostname(options.host);
  request.set_chain_pem(pair->chain_pem);
  request.set_key_pem(pair->key_pem);
  return context.CallAndPrint(&TenantStub::SetOriginClientCertificate, request,
                              RenderOriginCertChange);
}

int ResetOriginCert(CommandContext& context, const OriginCertOptions& options) {
  certgate::v1::ResetOriginClientCertificateRequest request;
  request.set_hostname(options.host);
  return context.CallAndPrint(&TenantStub::ResetOriginClientCertificate, request,
                              RenderOriginCertChange);
}

int ShowOriginCert(CommandContext& context, const OriginCertOptions& options) {
  certgate::v1::ZoneResponse response;
  if (int code = context.GetZone(options.host, &response); code != kExitOk) {
    return code;
  }
  const certgate::v1::ServerCertificateInfo& info = response.zone().origin_client_certificate();
  if (context.json()) {
    return context.PrintJson(info);
  }
  // The certificate only: its key never leaves the control plane but to edges.
  context.out() << RenderServerCertificate(info) << info.chain_pem();
  return kExitOk;
}

}  // namespace

void AddOriginCertCommands(CLI::App& app, CommandContext& context) {
  CLI::App* group = AddGroup(app, "origin-cert",
                             "The client certificate edges present to the zone's https origin");

  auto set_options = std::make_shared<OriginCertOptions>();
  CLI::App* set = group->add_subcommand(
      "set", "Upload the client certificate chain and key edges present to the origin");
  set->add_option("HOST", set_options->host, "Hostname as created")->required();
  set->add_option("--cert", set_options->cert_file, "PEM chain, leaf first")->required();
  set->add_option("--key", set_options->key_file, "PEM private key of the leaf")->required();
  AddServerFlags(set, context);
  OnRun(set, context, [&context, set_options] { return SetOriginCert(context, *set_options); });

  auto show_options = std::make_shared<OriginCertOptions>();
  CLI::App* show = group->add_subcommand(
      "show", "Show the origin client certificate (subject, SAN, not after, issuer)");
  show->add_option("HOST", show_options->host, "Hostname as created")->required();
  AddServerFlags(show, context);
  OnRun(show, context, [&context, show_options] { return ShowOriginCert(context, *show_options); });

  auto reset_options = std::make_shared<OriginCertOptions>();
  CLI::App* reset = group->add_subcommand(
      "reset", "Drop the uploaded origin client certificate; the edge CA issues one instead");
  reset->add_option("HOST", reset_options->host, "Hostname as created")->required();
  AddServerFlags(reset, context);
  OnRun(reset, context,
        [&context, reset_options] { return ResetOriginCert(context, *reset_options); });
}

}  // namespace certgate::cli

// certgate cert: the server certificate edges present for a zone.
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

struct CertOptions {
  std::string host;
  std::string cert_file;
  std::string key_file;
};

void RenderCertificateChange(std::ostream& out, const certgate::v1::ZoneResponse& response) {
  out << RenderServerCertificate(response.zone().server_certificate()) << "Config version "
      << response.config_version() << "\n";
}

int SetCertificate(CommandContext& context, const CertOptions& options) {
  absl::StatusOr<CertificateAndKey> pair =
      ReadCertificateAndKey(options.cert_file, options.key_file);
  if (!pair.ok()) {
    return context.UsageError(pair.status());
  }
  certgate::v1::SetServerCertificateRequest request;
  request.set_hostname(options.host);
  request.set_chain_pem(pair->chain_pem);
  request.set_key_pem(pair->key_pem);
  return context.CallAndPrint(&TenantStub::SetServerCertificate, request, RenderCertificateChange);
}

int ResetCertificate(CommandContext& context, const CertOptions& options) {
  certgate::v1::ResetServerCertificateRequest request;
  request.set_hostname(options.host);
  return context.CallAndPrint(&TenantStub::ResetServerCertificate, request,
                              RenderCertificateChange);
}

int ShowCertificate(CommandContext& context, const CertOptions& options) {
  certgate::v1::ZoneResponse response;
  if (int code = context.GetZone(options.host, &response); code != kExitOk) {
    return code;
  }
  if (context.json()) {
    return context.PrintJson(response.zone().server_certificate());
  }
  context.out() << RenderServerCertificate(response.zone().server_certificate())
                << response.zone().server_certificate().chain_pem();
  return kExitOk;
}

int EdgeCa(CommandContext& context) {
  // Bare PEM, so that `certgate cert edge-ca > edge-ca.pem` is a usable file.
  return context.CallAndPrint(
      &TenantStub::GetEdgeCa, certgate::v1::GetEdgeCaRequest(),
      [](std::ostream& out, const auto& response) { out << response.certificate_pem(); });
}

}  // namespace

void AddCertCommands(CLI::App& app, CommandContext& context) {
  CLI::App* cert = AddGroup(app, "cert", "The server certificate edges present for a zone");

  auto set_options = std::make_shared<CertOptions>();
  CLI::App* set = cert->add_subcommand("set", "Upload a server certificate chain and its key");
  set->add_option("HOST", set_options->host, "Hostname as created")->required();
  set->add_option("--cert", set_options->cert_file, "PEM chain, leaf first (fullchain.pem)")
      ->required();
  set->add_option("--key", set_options->key_file, "PEM private key of the leaf")->required();
  AddServerFlags(set, context);
  OnRun(set, context, [&context, set_options] { return SetCertificate(context, *set_options); });

  auto reset_options = std::make_shared<CertOptions>();
  CLI::App* reset = cert->add_subcommand(
      "reset", "Drop the uploaded certificate; the edge CA issues one instead");
  reset->add_option("HOST", reset_options->host, "Hostname as created")->required();
  AddServerFlags(reset, context);
  OnRun(reset, context,
        [&context, reset_options] { return ResetCertificate(context, *reset_options); });

  auto show_options = std::make_shared<CertOptions>();
  CLI::App* show = cert->add_subcommand("show", "Show the zone's server certificate chain");
  show->add_option("HOST", show_options->host, "Hostname as created")->required();
  AddServerFlags(show, context);
  OnRun(show, context,
        [&context, show_options] { return ShowCertificate(context, *show_options); });

  CLI::App* edge_ca =
      cert->add_subcommand("edge-ca", "Print the edge CA that signs issued server certificates");
  AddServerFlags(edge_ca, context);
  OnRun(edge_ca, context, [&context] { return EdgeCa(context); });
}

}  // namespace certgate::cli

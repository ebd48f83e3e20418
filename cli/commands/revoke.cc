// certgate revoke: revoked serials and certificates of a zone.
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/client/format.h"
#include "cli/client/local_files.h"
#include "cli/client/table.h"
#include "cli/client/views.h"
#include "cli/commands/commands.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::cli {

namespace {

struct RevokeOptions {
  std::string host;
  std::string serial;
  std::string issuer_file;
  std::string cert_file;
  std::string id;
};

// ReadCertificateFile reads a file that must hold exactly one certificate.
absl::StatusOr<std::string> ReadCertificateFile(const std::string& path) {
  absl::StatusOr<std::string> data = ReadLocalFile(path);
  if (!data.ok()) {
    return data.status();
  }
  auto parsed = ParseCertificates(*data);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", parsed.status().message()));
  }
  if (parsed->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": holds ", parsed->size(), " certificates, want exactly one"));
  }
  return data;
}

void RenderRevocation(std::ostream& out, const certgate::v1::RevokeResponse& response) {
  const auto& revocation = response.revocation();
  out << FormatFields({
      {"Revocation", revocation.id()},
      {"Serial", revocation.serial_hex()},
      {"Issuer", revocation.issuer().empty() ? "(any issuer of the zone)" : revocation.issuer()},
      {"Config version", absl::StrCat(response.config_version())},
  });
}

int Revoke(CommandContext& context, const RevokeOptions& options) {
  if (options.host.empty()) {
    return context.UsageError("HOST is required");
  }
  certgate::v1::RevokeRequest request;
  request.set_hostname(options.host);
  if (options.serial.empty() == options.cert_file.empty()) {
    return context.UsageError("give exactly one of --serial HEX or --cert FILE");
  }
  if (!options.serial.empty()) {
    absl::StatusOr<std::string> serial = NormalizeSerialHex(options.serial);
    if (!serial.ok()) {
      return context.UsageError(serial.status());
    }
    request.set_serial_hex(*serial);
    if (!options.issuer_file.empty()) {
      absl::StatusOr<std::string> issuer = ReadCertificateFile(options.issuer_file);
      if (!issuer.ok()) {
        return context.UsageError(issuer.status());
      }
      request.set_issuer_certificate(*issuer);
    }
  } else {
    if (!options.issuer_file.empty()) {
      return context.UsageError("--issuer goes with --serial; --cert names its own issuer");
    }
    absl::StatusOr<std::string> cert = ReadCertificateFile(options.cert_file);
    if (!cert.ok()) {
      return context.UsageError(cert.status());
    }
    request.set_certificate(*cert);
  }
  return context.CallAndPrint(&TenantStub::Revoke, request, RenderRevocation);
}

int ListRevocations(CommandContext& context, const RevokeOptions& options) {
  certgate::v1::ListRevocationsRequest request;
  request.set_hostname(options.host);
  return context.CallAndPrint(
      &TenantStub::ListRevocations, request,
      [](std::ostream& out, const auto& response) { out << RenderRevocations(response); });
}

int RemoveRevocation(CommandContext& context, const RevokeOptions& options) {
  certgate::v1::RemoveRevocationRequest request;
  request.set_hostname(options.host);
  request.set_id(options.id);
  return context.CallAndPrint(
      &TenantStub::RemoveRevocation, request, [&](std::ostream& out, const auto& response) {
        out << "Removed revocation " << options.id << " from " << options.host
            << " (config version " << response.config_version() << ")\n";
      });
}

}  // namespace

void AddRevokeCommands(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<RevokeOptions>();
  CLI::App* revoke = app.add_subcommand(
      "revoke", "Revoke a serial (--serial) or one certificate (--cert); list or remove them");
  revoke->add_option("HOST", options->host, "Hostname as created");
  revoke->add_option("--serial", options->serial, "Serial in hex (colons, 0x allowed)");
  revoke->add_option("--issuer", options->issuer_file,
                     "With --serial: the issuing CA's certificate; else every issuer of the zone");
  revoke->add_option("--cert", options->cert_file, "A certificate: revokes its (issuer, serial)");
  AddServerFlags(revoke, context);
  // The parent's callback runs after a subcommand's, which has set its action already.
  OnRun(revoke, context, [&context, options] { return Revoke(context, *options); });

  auto list_options = std::make_shared<RevokeOptions>();
  CLI::App* list = revoke->add_subcommand("list", "List a zone's revocations and CRLs");
  list->add_option("HOST", list_options->host, "Hostname as created")->required();
  AddServerFlags(list, context);
  OnRun(list, context,
        [&context, list_options] { return ListRevocations(context, *list_options); });

  auto remove_options = std::make_shared<RevokeOptions>();
  CLI::App* remove = revoke->add_subcommand("remove", "Remove one revocation by id");
  remove->add_option("HOST", remove_options->host, "Hostname as created")->required();
  remove->add_option("ID", remove_options->id, "Revocation id as listed")->required();
  AddServerFlags(remove, context);
  OnRun(remove, context,
        [&context, remove_options] { return RemoveRevocation(context, *remove_options); });
}

}  // namespace certgate::cli

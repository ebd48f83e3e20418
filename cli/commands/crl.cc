// certgate crl: CRLs uploaded for a zone.
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/client/format.h"
#include "cli/client/local_files.h"
#include "cli/commands/commands.h"
#include "common/pem.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::cli {

namespace {

struct CrlOptions {
  std::string host;
  std::string file;
  std::string id;
};

void RenderAddedCrl(std::ostream& out, const certgate::v1::AddCrlResponse& response) {
  const auto& crl = response.crl();
  out << FormatFields({
      {"CRL", crl.id()},
      {"Issuer", crl.issuer()},
      {"This update", FormatUtc(crl.this_update_unix())},
      {"Next update", FormatUtc(crl.next_update_unix())},
      {"Revoked", absl::StrCat(crl.revoked_count())},
      {"Config version", absl::StrCat(response.config_version())},
  });
}

int AddCrl(CommandContext& context, const CrlOptions& options) {
  absl::StatusOr<std::string> data = ReadLocalFile(options.file);
  if (!data.ok()) {
    return context.UsageError(data.status());
  }
  if (auto parsed = ParseCrl(*data); !parsed.ok()) {
    return context.UsageError(absl::StrCat(options.file, ": ", parsed.status().message()));
  }
  certgate::v1::AddCrlRequest request;
  request.set_hostname(options.host);
  request.set_data(*data);
  return context.CallAndPrint(&TenantStub::AddCrl, request, RenderAddedCrl);
}

int RemoveCrl(CommandContext& context, const CrlOptions& options) {
  certgate::v1::RemoveCrlRequest request;
  request.set_hostname(options.host);
  request.set_id(options.id);
  return context.CallAndPrint(&TenantStub::RemoveCrl, request,
                              [&](std::ostream& out, const auto& response) {
                                out << "Removed CRL " << options.id << " from " << options.host
                                    << " (config version " << response.config_version() << ")\n";
                              });
}

}  // namespace

void AddCrlCommands(CLI::App& app, CommandContext& context) {
  CLI::App* group = AddGroup(app, "crl", "Upload and remove CRLs (see `revoke list`)");

  auto add_options = std::make_shared<CrlOptions>();
  CLI::App* add = group->add_subcommand(
      "add", "Upload a CRL (PEM or DER) signed by one of the zone's roots or intermediates");
  add->add_option("HOST", add_options->host, "Hostname as created")->required();
  add->add_option("FILE", add_options->file, "CRL file")->required();
  AddServerFlags(add, context);
  OnRun(add, context, [&context, add_options] { return AddCrl(context, *add_options); });

  auto remove_options = std::make_shared<CrlOptions>();
  CLI::App* remove = group->add_subcommand("remove", "Remove a CRL and the revocations it brought");
  remove->add_option("HOST", remove_options->host, "Hostname as created")->required();
  remove->add_option("ID", remove_options->id, "CRL id as listed")->required();
  AddServerFlags(remove, context);
  OnRun(remove, context,
        [&context, remove_options] { return RemoveCrl(context, *remove_options); });
}

}  // namespace certgate::cli

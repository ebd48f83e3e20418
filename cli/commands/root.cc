// certgate root / certgate intermediate: a zone's trust anchors and the
// intermediates edges may use to build chains. Both groups have one shape.
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/client/local_files.h"
#include "cli/client/views.h"
#include "cli/commands/commands.h"
#include "common/pem.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::cli {

namespace {

using AddMethod = StubMethod<TenantStub, certgate::v1::AddCaCertificatesRequest,
                             certgate::v1::AddCaCertificatesResponse>;
using ListMethod = StubMethod<TenantStub, certgate::v1::ListCaCertificatesRequest,
                              certgate::v1::ListCaCertificatesResponse>;
using RemoveMethod =
    StubMethod<TenantStub, certgate::v1::RemoveCaCertificateRequest, certgate::v1::ChangeResponse>;

// CaKind is what differs between roots and intermediates.
struct CaKind {
  const char* group;   // "root"
  const char* plural;  // "roots"
  AddMethod add;
  ListMethod list;
  RemoveMethod remove;
};

struct CaOptions {
  std::string host;
  std::string file;
  std::string id;
};

int AddCertificates(CommandContext& context, const CaKind& kind, const CaOptions& options) {
  absl::StatusOr<std::string> data = ReadLocalFile(options.file);
  if (!data.ok()) {
    return context.UsageError(data.status());
  }
  // Refuse what is not a certificate here; whether it is an acceptable CA is
  // the server's call, with the server's message.
  auto parsed = ParseCertificates(*data);
  if (!parsed.ok()) {
    return context.UsageError(absl::StrCat(options.file, ": ", parsed.status().message()));
  }
  certgate::v1::AddCaCertificatesRequest request;
  request.set_hostname(options.host);
  request.set_data(*data);
  return context.CallAndPrint(kind.add, request, [&](std::ostream& out, const auto& response) {
    out << "Added " << response.added_size() << " " << kind.group
        << (response.added_size() == 1 ? "" : "s") << " to " << options.host << " (config version "
        << response.config_version() << ")\n"
        << RenderCaCertificates(response.added());
  });
}

int ListCertificates(CommandContext& context, const CaKind& kind, const CaOptions& options) {
  certgate::v1::ListCaCertificatesRequest request;
  request.set_hostname(options.host);
  return context.CallAndPrint(kind.list, request, [](std::ostream& out, const auto& response) {
    out << RenderCaCertificates(response.certificates());
  });
}

int RemoveCertificate(CommandContext& context, const CaKind& kind, const CaOptions& options) {
  certgate::v1::RemoveCaCertificateRequest request;
  request.set_hostname(options.host);
  request.set_id(options.id);
  return context.CallAndPrint(kind.remove, request, [&](std::ostream& out, const auto& response) {
    out << "Removed " << kind.group << " " << options.id << " from " << options.host
        << " (config version " << response.config_version() << ")\n";
  });
}

void AddCaGroup(CLI::App& app, CommandContext& context, const CaKind& kind,
                const std::string& description) {
  CLI::App* group = AddGroup(app, kind.group, description);

  auto add_options = std::make_shared<CaOptions>();
  CLI::App* add = group->add_subcommand(
      "add", absl::StrCat("Add ", kind.plural, " from a PEM (one or many) or DER file"));
  add->add_option("HOST", add_options->host, "Hostname as created")->required();
  add->add_option("FILE", add_options->file, "Certificate file")->required();
  AddServerFlags(add, context);
  OnRun(add, context,
        [&context, &kind, add_options] { return AddCertificates(context, kind, *add_options); });

  auto list_options = std::make_shared<CaOptions>();
  CLI::App* list = group->add_subcommand("list", absl::StrCat("List a zone's ", kind.plural));
  list->add_option("HOST", list_options->host, "Hostname as created")->required();
  AddServerFlags(list, context);
  OnRun(list, context,
        [&context, &kind, list_options] { return ListCertificates(context, kind, *list_options); });

  auto remove_options = std::make_shared<CaOptions>();
  CLI::App* remove =
      group->add_subcommand("remove", absl::StrCat("Remove one of a zone's ", kind.plural));
  remove->add_option("HOST", remove_options->host, "Hostname as created")->required();
  remove->add_option("ID", remove_options->id, "Id as listed (a unique prefix of 8+ hex digits)")
      ->required();
  AddServerFlags(remove, context);
  OnRun(remove, context, [&context, &kind, remove_options] {
    return RemoveCertificate(context, kind, *remove_options);
  });
}

const CaKind kRoot = {"root", "roots", &TenantStub::AddRoots, &TenantStub::ListRoots,
                      &TenantStub::RemoveRoot};
const CaKind kIntermediate = {"intermediate", "intermediates", &TenantStub::AddIntermediates,
                              &TenantStub::ListIntermediates, &TenantStub::RemoveIntermediate};

}  // namespace

void AddRootCommands(CLI::App& app, CommandContext& context) {
  AddCaGroup(app, context, kRoot, "Add, list and remove the roots client certificates chain to");
}

void AddIntermediateCommands(CLI::App& app, CommandContext& context) {
  AddCaGroup(app, context, kIntermediate,
             "Add, list and remove intermediates edges may use to build client chains");
}

}  // namespace certgate::cli

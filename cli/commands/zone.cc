// certgate zone: create, list, show, verify, change and delete zones.
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/client/format.h"
#include "cli/client/local_files.h"
#include "cli/client/views.h"
#include "cli/commands/commands.h"
#include "common/status_macros.h"

namespace certgate::cli {

namespace {

struct ZoneOptions {
  std::string host;
  std::string origin;
  std::string mode;
  std::string send_ca_names;
  std::string origin_ca_file;      // "system": back to the system trust store
  std::string origin_server_name;  // "": back to the origin URL's host
  bool origin_ca_given = false;
  bool origin_server_name_given = false;
};

constexpr char kSystemTrustStore[] = "system";

// ReadOriginCa: the --origin-ca file's content ("" for "system").
absl::StatusOr<std::string> ReadOriginCa(const std::string& file) {
  if (file == kSystemTrustStore) {
    return std::string();
  }
  ASSIGN_OR_RETURN(std::string content, ReadLocalFile(file));
  // An empty file would silently mean "the system trust store".
  if (absl::StripAsciiWhitespace(content).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--origin-ca ", file, " is empty (use \"",
                                                   kSystemTrustStore,
                                                   "\" for the system trust store)"));
  }
  return content;
}

// RenderZoneChange: the zone as it now is, and the config version the change made.
void RenderZoneChange(std::ostream& out, const certgate::v1::ZoneResponse& response) {
  out << RenderZone(response.zone()) << "\nConfig version " << response.config_version() << "\n";
}

int CreateZone(CommandContext& context, const ZoneOptions& options) {
  certgate::v1::CreateZoneRequest request;
  request.set_hostname(options.host);
  request.set_origin(options.origin);
  if (!options.mode.empty()) {
    absl::StatusOr<certgate::v1::Mode> mode = ParseMode(options.mode);
    if (!mode.ok()) {
      return context.UsageError(mode.status());
    }
    request.set_mode(*mode);
  }
  if (options.origin_ca_given) {
    absl::StatusOr<std::string> ca = ReadOriginCa(options.origin_ca_file);
    if (!ca.ok()) {
      return context.UsageError(ca.status());
    }
    request.set_origin_ca_pem(*ca);
  }
  request.set_origin_server_name(options.origin_server_name);
  return context.CallAndPrint(&TenantStub::CreateZone, request, RenderZoneChange);
}

int VerifyZone(CommandContext& context, const ZoneOptions& options) {
  certgate::v1::VerifyZoneRequest request;
  request.set_hostname(options.host);
  return context.CallAndPrint(&TenantStub::VerifyZone, request,
                              [](std::ostream& out, const certgate::v1::ZoneResponse& response) {
                                out << "Zone " << response.zone().hostname()
                                    << " is active: edges serve it (config version "
                                    << response.config_version() << ")\n";
                              });
}

int ListZones(CommandContext& context) {
  return context.CallAndPrint(
      &TenantStub::ListZones, certgate::v1::ListZonesRequest(),
      [](std::ostream& out, const auto& response) { out << RenderZoneList(response); });
}

int ShowZone(CommandContext& context, const ZoneOptions& options, int warn_days) {
  certgate::v1::GetZoneRequest request;
  request.set_hostname(options.host);
  if (warn_days >= 0) {
    request.set_warn_days(warn_days);
  }
  return context.CallAndPrint(
      &TenantStub::GetZone, request, [](std::ostream& out, const auto& response) {
        out << RenderZone(response.zone()) << RenderZoneFailures(response.edge_failures());
        if (!response.expiring().empty()) {
          out << "\n" << RenderExpiring(response.expiring());
        }
      });
}

int DeleteZone(CommandContext& context, const ZoneOptions& options) {
  certgate::v1::DeleteZoneRequest request;
  request.set_hostname(options.host);
  return context.CallAndPrint(&TenantStub::DeleteZone, request,
                              [&](std::ostream& out, const auto& response) {
                                out << "Deleted zone " << options.host << " (config version "
                                    << response.config_version() << ")\n";
                              });
}

int SetZone(CommandContext& context, const ZoneOptions& options) {
  certgate::v1::UpdateZoneRequest request;
  request.set_hostname(options.host);
  request.set_origin(options.origin);
  if (!options.send_ca_names.empty()) {
    std::string value = absl::AsciiStrToLower(options.send_ca_names);
    if (value != "true" && value != "false") {
      return context.UsageError(absl::StrCat("--send-ca-names must be true or false, not \"",
                                             options.send_ca_names, "\""));
    }
    request.set_send_ca_names(value == "true");
  }
  if (options.origin_ca_given) {
    absl::StatusOr<std::string> ca = ReadOriginCa(options.origin_ca_file);
    if (!ca.ok()) {
      return context.UsageError(ca.status());
    }
    request.set_origin_ca_pem(*ca);
  }
  if (options.origin_server_name_given) {
    request.set_origin_server_name(options.origin_server_name);
  }
  if (options.origin.empty() && options.send_ca_names.empty() && !options.origin_ca_given &&
      !options.origin_server_name_given) {
    return context.UsageError(
        "nothing to change: give --origin, --send-ca-names, --origin-ca or --origin-server-name");
  }
  return context.CallAndPrint(&TenantStub::UpdateZone, request, RenderZoneChange);
}

// AddOriginTlsFlags: how edges verify an https origin.
void AddOriginTlsFlags(CLI::App* command, ZoneOptions* options) {
  command
      ->add_option("--origin-ca", options->origin_ca_file,
                   "https origin: PEM CA file that verifies the origin's certificate (\"system\": "
                   "the edges' system trust store, the default)")
      ->each([options](const std::string&) { options->origin_ca_given = true; });
  command
      ->add_option("--origin-server-name", options->origin_server_name,
                   "https origin: name sent as SNI and checked in the origin's certificate "
                   "(default: the origin URL's host; \"\" resets)")
      ->each([options](const std::string&) { options->origin_server_name_given = true; });
}

}  // namespace

void AddZoneCommands(CLI::App& app, CommandContext& context) {
  CLI::App* zone = AddGroup(app, "zone", "Create, list, show, verify, change and delete zones");

  auto create_options = std::make_shared<ZoneOptions>();
  CLI::App* create = zone->add_subcommand("create", "Create a zone for a hostname");
  create->add_option("HOST", create_options->host, "Hostname: exact or *.wildcard")->required();
  create->add_option("--origin", create_options->origin, "Origin URL, http(s)://host:port")
      ->required();
  create->add_option("--mode", create_options->mode, "enforce (default), report or off");
  AddOriginTlsFlags(create, create_options.get());
  AddServerFlags(create, context);
  OnRun(create, context,
        [&context, create_options] { return CreateZone(context, *create_options); });

  CLI::App* list = zone->add_subcommand("list", "List your zones");
  AddServerFlags(list, context);
  OnRun(list, context, [&context] { return ListZones(context); });

  auto show_options = std::make_shared<ZoneOptions>();
  CLI::App* show = zone->add_subcommand("show", "Show everything set for a zone");
  show->add_option("HOST", show_options->host, "Hostname as created")->required();
  auto show_warn_days = std::make_shared<int>(-1);
  show->add_option("--warn-days", *show_warn_days,
                   "Warn of certificates and CRLs expiring within N days (default: the "
                   "tenant's setting, else the control plane's)")
      ->check(CLI::Range(0, 3650));
  AddServerFlags(show, context);
  OnRun(show, context, [&context, show_options, show_warn_days] {
    return ShowZone(context, *show_options, *show_warn_days);
  });

  auto delete_options = std::make_shared<ZoneOptions>();
  CLI::App* remove = zone->add_subcommand("delete", "Delete a zone and everything set for it");
  remove->add_option("HOST", delete_options->host, "Hostname as created")->required();
  AddServerFlags(remove, context);
  OnRun(remove, context,
        [&context, delete_options] { return DeleteZone(context, *delete_options); });

  auto verify_options = std::make_shared<ZoneOptions>();
  CLI::App* verify = zone->add_subcommand(
      "verify", "Check a pending zone's DNS TXT challenge now; it becomes active when it holds");
  verify->add_option("HOST", verify_options->host, "Hostname as created")->required();
  AddServerFlags(verify, context);
  OnRun(verify, context,
        [&context, verify_options] { return VerifyZone(context, *verify_options); });

  auto set_options = std::make_shared<ZoneOptions>();
  CLI::App* set = zone->add_subcommand("set", "Change a zone's origin or CA-name sending");
  set->add_option("HOST", set_options->host, "Hostname as created")->required();
  set->add_option("--origin", set_options->origin, "New origin URL");
  set->add_option("--send-ca-names", set_options->send_ca_names,
                  "true: the TLS CertificateRequest lists the zone's root names");
  AddOriginTlsFlags(set, set_options.get());
  AddServerFlags(set, context);
  OnRun(set, context, [&context, set_options] { return SetZone(context, *set_options); });
}

}  // namespace certgate::cli

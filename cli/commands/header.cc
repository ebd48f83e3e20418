// certgate header: certificate fields forwarded to the origin as headers, and
// the names of the status headers.
#include <memory>
#include <ostream>
#include <string>

#include "cli/client/format.h"
#include "cli/client/views.h"
#include "cli/commands/commands.h"

namespace certgate::cli {

namespace {

struct HeaderOptions {
  std::string host;
  std::string name;
  std::string selector;
  std::string status_name;
  std::string ski_name;
  std::string error_name;
};

void RenderMappingsChange(std::ostream& out, const certgate::v1::ZoneResponse& response) {
  out << RenderHeaderMappings(response.zone()) << "Config version " << response.config_version()
      << "\n";
}

int SetHeader(CommandContext& context, const HeaderOptions& options) {
  certgate::v1::SetHeaderMappingRequest request;
  request.set_hostname(options.host);
  request.mutable_mapping()->set_header(options.name);
  request.mutable_mapping()->set_selector(options.selector);
  return context.CallAndPrint(&TenantStub::SetHeaderMapping, request, RenderMappingsChange);
}

int ListHeaders(CommandContext& context, const HeaderOptions& options) {
  certgate::v1::ZoneResponse response;
  if (int code = context.GetZone(options.host, &response); code != kExitOk) {
    return code;
  }
  if (context.json()) {
    certgate::v1::Zone mappings;
    *mappings.mutable_header_mappings() = response.zone().header_mappings();
    *mappings.mutable_status_header_names() = response.zone().status_header_names();
    mappings.set_hostname(response.zone().hostname());
    return context.PrintJson(mappings);
  }
  context.out() << RenderHeaderMappings(response.zone());
  return kExitOk;
}

int RemoveHeader(CommandContext& context, const HeaderOptions& options) {
  certgate::v1::RemoveHeaderMappingRequest request;
  request.set_hostname(options.host);
  request.set_header(options.name);
  return context.CallAndPrint(&TenantStub::RemoveHeaderMapping, request, RenderMappingsChange);
}

int StatusNames(CommandContext& context, const HeaderOptions& options) {
  certgate::v1::ZoneResponse response;
  int code;
  bool change =
      !options.status_name.empty() || !options.ski_name.empty() || !options.error_name.empty();
  if (change) {
    certgate::v1::SetStatusHeaderNamesRequest request;
    request.set_hostname(options.host);
    request.mutable_names()->set_status(options.status_name);
    request.mutable_names()->set_ski(options.ski_name);
    request.mutable_names()->set_error(options.error_name);
    code = context.Call(&TenantStub::SetStatusHeaderNames, request, &response);
  } else {
    code = context.GetZone(options.host, &response);
  }
  if (code != kExitOk) {
    return code;
  }
  if (context.json()) {
    return context.PrintJson(response.zone().status_header_names());
  }
  context.out() << RenderStatusHeaderNames(response.zone().status_header_names());
  if (change) {
    context.out() << "Config version " << response.config_version() << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddHeaderCommands(CLI::App& app, CommandContext& context) {
  CLI::App* group =
      AddGroup(app, "header", "Certificate fields forwarded as headers, and status header names");

  auto set_options = std::make_shared<HeaderOptions>();
  CLI::App* set = group->add_subcommand(
      "set", "Forward a certificate field as a header (replaces a mapping of that name)");
  set->add_option("HOST", set_options->host, "Hostname as created")->required();
  set->add_option("NAME", set_options->name, "Header name, e.g. X-Device-Id")->required();
  set->add_option("SELECTOR", set_options->selector,
                  "Field selector: subject, subject.CN, serial, ski, san.uri, spiffe_id, cert, "
                  "fingerprint.sha256, ext.<oid>, ...")
      ->required();
  AddServerFlags(set, context);
  OnRun(set, context, [&context, set_options] { return SetHeader(context, *set_options); });

  auto list_options = std::make_shared<HeaderOptions>();
  CLI::App* list = group->add_subcommand("list", "List a zone's header mappings");
  list->add_option("HOST", list_options->host, "Hostname as created")->required();
  AddServerFlags(list, context);
  OnRun(list, context, [&context, list_options] { return ListHeaders(context, *list_options); });

  auto remove_options = std::make_shared<HeaderOptions>();
  CLI::App* remove = group->add_subcommand("remove", "Remove a header mapping");
  remove->add_option("HOST", remove_options->host, "Hostname as created")->required();
  remove->add_option("NAME", remove_options->name, "Header name (any case)")->required();
  AddServerFlags(remove, context);
  OnRun(remove, context,
        [&context, remove_options] { return RemoveHeader(context, *remove_options); });

  auto names_options = std::make_shared<HeaderOptions>();
  CLI::App* names = group->add_subcommand(
      "names", "Show, or with flags rename, the status, SKI and error headers");
  names->add_option("HOST", names_options->host, "Hostname as created")->required();
  names->add_option("--status", names_options->status_name,
                    "Status header (default X-Client-Cert-Status)");
  names->add_option("--ski", names_options->ski_name, "SKI header (default X-Client-Cert-Ski)");
  names->add_option("--error", names_options->error_name,
                    "Error header (default X-Client-Cert-Error)");
  AddServerFlags(names, context);
  OnRun(names, context, [&context, names_options] { return StatusNames(context, *names_options); });
}

}  // namespace certgate::cli

// certgate error-page: the body enforce mode answers with (HTTP 403).
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/client/format.h"
#include "cli/client/local_files.h"
#include "cli/commands/commands.h"

namespace certgate::cli {

namespace {

struct ErrorPageOptions {
  std::string host;
  std::string content_type;
  std::string file;
};

int SetErrorPage(CommandContext& context, const ErrorPageOptions& options) {
  absl::StatusOr<std::string> body = ReadLocalFile(options.file);
  if (!body.ok()) {
    return context.UsageError(body.status());
  }
  if (options.content_type.empty()) {
    return context.UsageError("--content-type must not be empty");
  }
  certgate::v1::SetErrorResponseRequest request;
  request.set_hostname(options.host);
  request.mutable_error_response()->set_content_type(options.content_type);
  request.mutable_error_response()->set_body(*body);
  return context.CallAndPrint(
      &TenantStub::SetErrorResponse, request, [](std::ostream& out, const auto& response) {
        out << "Error page of " << response.zone().hostname()
            << " set: " << response.zone().error_response().content_type() << ", "
            << response.zone().error_response().body().size() << " bytes (config version "
            << response.config_version() << ")\n";
      });
}

int ShowErrorPage(CommandContext& context, const ErrorPageOptions& options) {
  certgate::v1::ZoneResponse response;
  if (int code = context.GetZone(options.host, &response); code != kExitOk) {
    return code;
  }
  const auto& page = response.zone().error_response();
  if (context.json()) {
    return context.PrintJson(page);
  }
  if (page.content_type().empty()) {
    context.out() << "Content-Type: (default)\n";
    return kExitOk;
  }
  context.out() << "Content-Type: " << page.content_type() << "\n\n" << page.body();
  if (!page.body().empty() && page.body().back() != '\n') {
    context.out() << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddErrorPageCommands(CLI::App& app, CommandContext& context) {
  CLI::App* group = AddGroup(app, "error-page", "The body enforce mode answers with (HTTP 403)");

  auto set_options = std::make_shared<ErrorPageOptions>();
  CLI::App* set = group->add_subcommand("set", "Set the 403 body and its content type");
  set->add_option("HOST", set_options->host, "Hostname as created")->required();
  set->add_option("--content-type", set_options->content_type, "e.g. application/json or text/html")
      ->required();
  set->add_option("--file", set_options->file, "The body (at most 64 KiB)")->required();
  AddServerFlags(set, context);
  OnRun(set, context, [&context, set_options] { return SetErrorPage(context, *set_options); });

  auto show_options = std::make_shared<ErrorPageOptions>();
  CLI::App* show = group->add_subcommand("show", "Print the 403 content type and body");
  show->add_option("HOST", show_options->host, "Hostname as created")->required();
  AddServerFlags(show, context);
  OnRun(show, context, [&context, show_options] { return ShowErrorPage(context, *show_options); });
}

}  // namespace certgate::cli

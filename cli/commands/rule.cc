// certgate rule: a zone's access rules (per path, method and host; with
// identity constraints) and its client certificate validation settings.
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "cli/commands/commands.h"

namespace certgate::cli {

namespace {

struct RuleOptions {
  std::string host;
  std::string id;
  int position = 0;
  std::string path_prefix, path_exact, path_regex;
  std::vector<std::string> methods;
  std::string rule_host;
  std::string action;
  std::vector<std::string> san_dns, san_uri, san_email, san_ip, issuers, ekus, fingerprints, spki;
  std::string spiffe, cn, o;
  // validation
  std::string accept_expired, client_auth_eku;
  int max_chain_depth = -1;
};

const char* ActionName(certgate::v1::RuleAction action) {
  switch (action) {
    case certgate::v1::RULE_ACTION_ENFORCE:
      return "enforce";
    case certgate::v1::RULE_ACTION_REPORT:
      return "report";
    case certgate::v1::RULE_ACTION_OFF:
      return "off";
    default:
      return "?";
  }
}

std::string MatchText(const certgate::v1::AccessRule& rule) {
  std::string out;
  switch (rule.path_match()) {
    case certgate::v1::PATH_MATCH_PREFIX:
      out = absl::StrCat("path ", rule.path(), "*");
      break;
    case certgate::v1::PATH_MATCH_EXACT:
      out = absl::StrCat("path = ", rule.path());
      break;
    case certgate::v1::PATH_MATCH_REGEX:
      out = absl::StrCat("path ~ ", rule.path());
      break;
    default:
      out = "any path";
  }
  if (rule.methods_size() > 0) {
    absl::StrAppend(&out, ", ", absl::StrJoin(rule.methods(), "|"));
  }
  if (!rule.host().empty()) {
    absl::StrAppend(&out, ", host ", rule.host());
  }
  return out;
}

std::string IdentityText(const certgate::v1::IdentityConstraints& id) {
  std::vector<std::string> parts;
  auto list = [&parts](const char* name, const auto& values) {
    if (values.size() > 0) {
      parts.push_back(absl::StrCat(name, "=", absl::StrJoin(values, ",")));
    }
  };
  list("san-dns", id.san_dns());
  list("san-uri", id.san_uri());
  list("san-email", id.san_email());
  list("san-ip", id.san_ip());
  if (!id.spiffe_trust_domain().empty()) {
    parts.push_back(
        absl::StrCat("spiffe=spiffe://", id.spiffe_trust_domain(), id.spiffe_path_prefix()));
  }
  if (!id.subject_cn().empty()) parts.push_back(absl::StrCat("cn=", id.subject_cn()));
  if (!id.subject_o().empty()) parts.push_back(absl::StrCat("o=", id.subject_o()));
  list("issuer", id.issuers());
  list("eku", id.ekus());
  list("fingerprint", id.fingerprints_sha256());
  list("spki", id.spki_sha256());
  return absl::StrJoin(parts, " ");
}

std::string RenderRules(const certgate::v1::Zone& zone) {
  std::ostringstream out;
  if (zone.access_rules_size() == 0) {
    out << "No access rules: every request gets the zone's mode.\n";
  }
  for (int i = 0; i < zone.access_rules_size(); ++i) {
    const certgate::v1::AccessRule& rule = zone.access_rules(i);
    out << i + 1 << ". " << rule.id() << "  " << MatchText(rule) << " -> "
        << ActionName(rule.action());
    std::string identity = IdentityText(rule.identity());
    if (!identity.empty()) {
      out << "  [" << identity << "]";
    }
    out << "\n";
  }
  const certgate::v1::ValidationSettings& v = zone.validation();
  out << "Otherwise: the zone's mode. Validation: expired "
      << (v.accept_expired() ? "accepted" : "refused") << ", max chain depth "
      << (v.max_chain_depth() > 0 ? std::to_string(v.max_chain_depth()) : std::string("8"))
      << ", clientAuth EKU " << (v.allow_missing_client_auth_eku() ? "optional" : "required")
      << "\n";
  return out.str();
}

void RenderChange(std::ostream& out, const certgate::v1::ZoneResponse& response) {
  out << RenderRules(response.zone()) << "Config version " << response.config_version() << "\n";
}

int AddRule(CommandContext& context, const RuleOptions& options) {
  certgate::v1::AddAccessRuleRequest request;
  request.set_hostname(options.host);
  request.set_position(options.position);
  certgate::v1::AccessRule* rule = request.mutable_rule();
  int paths =
      !options.path_prefix.empty() + !options.path_exact.empty() + !options.path_regex.empty();
  if (paths > 1) {
    return context.UsageError("give at most one of --path-prefix, --path-exact, --path-regex");
  }
  if (!options.path_prefix.empty()) {
    rule->set_path_match(certgate::v1::PATH_MATCH_PREFIX);
    rule->set_path(options.path_prefix);
  } else if (!options.path_exact.empty()) {
    rule->set_path_match(certgate::v1::PATH_MATCH_EXACT);
    rule->set_path(options.path_exact);
  } else if (!options.path_regex.empty()) {
    rule->set_path_match(certgate::v1::PATH_MATCH_REGEX);
    rule->set_path(options.path_regex);
  }
  for (const std::string& method : options.methods) {
    rule->add_methods(method);
  }
  rule->set_host(options.rule_host);
  if (options.action == "enforce") {
    rule->set_action(certgate::v1::RULE_ACTION_ENFORCE);
  } else if (options.action == "report") {
    rule->set_action(certgate::v1::RULE_ACTION_REPORT);
  } else if (options.action == "off") {
    rule->set_action(certgate::v1::RULE_ACTION_OFF);
  } else {
    return context.UsageError(
        absl::StrCat("--action must be enforce, report or off, not \"", options.action, "\""));
  }
  certgate::v1::IdentityConstraints* id = rule->mutable_identity();
  for (const std::string& v : options.san_dns) id->add_san_dns(v);
  for (const std::string& v : options.san_uri) id->add_san_uri(v);
  for (const std::string& v : options.san_email) id->add_san_email(v);
  for (const std::string& v : options.san_ip) id->add_san_ip(v);
  for (const std::string& v : options.issuers) id->add_issuers(v);
  for (const std::string& v : options.ekus) id->add_ekus(v);
  for (const std::string& v : options.fingerprints) id->add_fingerprints_sha256(v);
  for (const std::string& v : options.spki) id->add_spki_sha256(v);
  if (!options.spiffe.empty()) {
    absl::string_view rest = options.spiffe;
    if (!absl::ConsumePrefix(&rest, "spiffe://") || rest.empty()) {
      return context.UsageError(
          absl::StrCat("--spiffe must look like spiffe://TRUST-DOMAIN/PATH-PREFIX, not \"",
                       options.spiffe, "\""));
    }
    size_t slash = rest.find('/');
    id->set_spiffe_trust_domain(std::string(rest.substr(0, slash)));
    if (slash != absl::string_view::npos) {
      id->set_spiffe_path_prefix(std::string(rest.substr(slash)));
    }
  }
  id->set_subject_cn(options.cn);
  id->set_subject_o(options.o);
  return context.CallAndPrint(&TenantStub::AddAccessRule, request, RenderChange);
}

int ListRules(CommandContext& context, const RuleOptions& options) {
  certgate::v1::ZoneResponse response;
  if (int code = context.GetZone(options.host, &response); code != kExitOk) {
    return code;
  }
  if (context.json()) {
    certgate::v1::Zone rules;
    rules.set_hostname(response.zone().hostname());
    rules.set_mode(response.zone().mode());
    *rules.mutable_access_rules() = response.zone().access_rules();
    *rules.mutable_validation() = response.zone().validation();
    return context.PrintJson(rules);
  }
  context.out() << RenderRules(response.zone());
  return kExitOk;
}

int RemoveRule(CommandContext& context, const RuleOptions& options) {
  certgate::v1::RemoveAccessRuleRequest request;
  request.set_hostname(options.host);
  request.set_id(options.id);
  return context.CallAndPrint(&TenantStub::RemoveAccessRule, request, RenderChange);
}

int MoveRule(CommandContext& context, const RuleOptions& options) {
  certgate::v1::MoveAccessRuleRequest request;
  request.set_hostname(options.host);
  request.set_id(options.id);
  request.set_position(options.position);
  return context.CallAndPrint(&TenantStub::MoveAccessRule, request, RenderChange);
}

int Validation(CommandContext& context, const RuleOptions& options) {
  certgate::v1::ZoneResponse current;
  if (int code = context.GetZone(options.host, &current); code != kExitOk) {
    return code;
  }
  if (options.accept_expired.empty() && options.client_auth_eku.empty() &&
      options.max_chain_depth < 0) {
    if (context.json()) {
      return context.PrintJson(current.zone().validation());
    }
    context.out() << RenderRules(current.zone());
    return kExitOk;
  }
  certgate::v1::SetValidationSettingsRequest request;
  request.set_hostname(options.host);
  *request.mutable_validation() = current.zone().validation();
  certgate::v1::ValidationSettings* v = request.mutable_validation();
  if (options.accept_expired == "on") {
    v->set_accept_expired(true);
  } else if (options.accept_expired == "off") {
    v->set_accept_expired(false);
  } else if (!options.accept_expired.empty()) {
    return context.UsageError("--accept-expired must be on or off");
  }
  if (options.client_auth_eku == "required") {
    v->set_allow_missing_client_auth_eku(false);
  } else if (options.client_auth_eku == "optional") {
    v->set_allow_missing_client_auth_eku(true);
  } else if (!options.client_auth_eku.empty()) {
    return context.UsageError("--client-auth-eku must be required or optional");
  }
  if (options.max_chain_depth >= 0) {
    v->set_max_chain_depth(options.max_chain_depth);
  }
  return context.CallAndPrint(&TenantStub::SetValidationSettings, request, RenderChange);
}

}  // namespace

void AddRuleCommands(CLI::App& app, CommandContext& context) {
  CLI::App* group = AddGroup(app, "rule",
                             "Access rules per path, method and host (first match wins; else the "
                             "zone's mode), and certificate validation settings");

  auto add_options = std::make_shared<RuleOptions>();
  CLI::App* add = group->add_subcommand("add", "Add an access rule");
  RuleOptions& a = *add_options;
  add->add_option("HOST", a.host, "Hostname as created")->required();
  add->add_option("--action", a.action, "enforce, report or off")->required();
  add->add_option("--position", a.position, "1-based position (default: last)");
  add->add_option("--path-prefix", a.path_prefix, "Match paths starting with this, e.g. /api/");
  add->add_option("--path-exact", a.path_exact, "Match exactly this path");
  add->add_option("--path-regex", a.path_regex, "Match paths fully matching this RE2 expression");
  add->add_option("--method", a.methods, "Match only this method (repeatable)");
  add->add_option("--host", a.rule_host, "Wildcard zones: match only this host");
  add->add_option("--san-dns", a.san_dns, "Require a DNS SAN matching this glob (repeatable)");
  add->add_option("--san-uri", a.san_uri, "Require a URI SAN matching this glob (repeatable)");
  add->add_option("--san-email", a.san_email, "Require an email SAN matching this glob");
  add->add_option("--san-ip", a.san_ip, "Require an IP SAN in this address or CIDR range");
  add->add_option("--spiffe", a.spiffe, "Require a SPIFFE ID: spiffe://TRUST-DOMAIN[/PATH-PREFIX]");
  add->add_option("--cn", a.cn, "Require the subject CN to fully match this RE2 expression");
  add->add_option("--o", a.o, "Require the subject O to fully match this RE2 expression");
  add->add_option("--issuer", a.issuers,
                  "Require the chain to pass through this root or intermediate id (repeatable)");
  add->add_option("--eku", a.ekus,
                  "Require this extended key usage: clientAuth, serverAuth, ... or an OID");
  add->add_option("--fingerprint", a.fingerprints,
                  "Admit only these leaf SHA-256 fingerprints (hex; repeatable); a listed "
                  "certificate needs no root");
  add->add_option("--spki", a.spki, "Admit only these SHA-256 SPKI pins (hex; repeatable)");
  AddServerFlags(add, context);
  OnRun(add, context, [&context, add_options] { return AddRule(context, *add_options); });

  auto list_options = std::make_shared<RuleOptions>();
  CLI::App* list = group->add_subcommand("list", "List a zone's access rules, in order");
  list->add_option("HOST", list_options->host, "Hostname as created")->required();
  AddServerFlags(list, context);
  OnRun(list, context, [&context, list_options] { return ListRules(context, *list_options); });

  auto remove_options = std::make_shared<RuleOptions>();
  CLI::App* remove = group->add_subcommand("remove", "Remove an access rule");
  remove->add_option("HOST", remove_options->host, "Hostname as created")->required();
  remove->add_option("ID", remove_options->id, "Rule id (from rule list)")->required();
  AddServerFlags(remove, context);
  OnRun(remove, context,
        [&context, remove_options] { return RemoveRule(context, *remove_options); });

  auto move_options = std::make_shared<RuleOptions>();
  CLI::App* move = group->add_subcommand("move", "Move an access rule to a position");
  move->add_option("HOST", move_options->host, "Hostname as created")->required();
  move->add_option("ID", move_options->id, "Rule id (from rule list)")->required();
  move->add_option("POSITION", move_options->position, "New 1-based position")->required();
  AddServerFlags(move, context);
  OnRun(move, context, [&context, move_options] { return MoveRule(context, *move_options); });

  auto v_options = std::make_shared<RuleOptions>();
  CLI::App* validation = group->add_subcommand(
      "validation", "Show, or with flags change, how client certificates are validated");
  validation->add_option("HOST", v_options->host, "Hostname as created")->required();
  validation->add_option("--accept-expired", v_options->accept_expired,
                         "on: admit expired and not-yet-valid leaves (the error header says so)");
  validation->add_option("--max-chain-depth", v_options->max_chain_depth,
                         "Most intermediates between leaf and root, 1-8 (0: default 8)");
  validation->add_option("--client-auth-eku", v_options->client_auth_eku,
                         "required (default) or optional");
  AddServerFlags(validation, context);
  OnRun(validation, context, [&context, v_options] { return Validation(context, *v_options); });
}

}  // namespace certgate::cli

// certgate pki: a local CA for client certificates, no external tool needed.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/client/format.h"
#include "cli/client/local_files.h"
#include "cli/commands/commands.h"
#include "cli/pki/ca_directory.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "google/protobuf/struct.pb.h"
#include "openssl/x509.h"

namespace certgate::cli {

namespace {

struct PkiOptions {
  std::string cn;
  std::string out;
  std::string ca_dir;
  std::string key_type = "ec-p256";
  std::string csr_file;
  int days = 0;
  int path_len = -1;
  std::vector<std::string> san_dns;
  std::vector<std::string> san_uri;
  std::vector<std::string> san_email;
  std::vector<std::string> san_ip;
  std::vector<std::string> revoke;
  bool server_auth = false;
};

// Describe prints what was made: for people a few aligned lines, for scripts
// a JSON object with the same facts.
int Describe(CommandContext& context, const X509* cert, const std::vector<std::string>& files) {
  std::string subject = NameToRfc4514(X509_get_subject_name(cert));
  std::string not_after = FormatRfc3339(NotAfterUnix(cert));
  if (context.json()) {
    google::protobuf::Struct result;
    auto& fields = *result.mutable_fields();
    fields["subject"].set_string_value(subject);
    fields["issuer"].set_string_value(NameToRfc4514(X509_get_issuer_name(cert)));
    fields["serial"].set_string_value(SerialHex(cert));
    fields["ski"].set_string_value(SubjectKeyIdHex(cert));
    fields["aki"].set_string_value(AuthorityKeyIdHex(cert));
    fields["fingerprintSha256"].set_string_value(Sha256FingerprintHex(cert));
    fields["notBefore"].set_string_value(FormatRfc3339(NotBeforeUnix(cert)));
    fields["notAfter"].set_string_value(not_after);
    auto* list = fields["files"].mutable_list_value();
    for (const auto& file : files) {
      list->add_values()->set_string_value(file);
    }
    return context.PrintJson(result);
  }
  context.out() << FormatFields({
      {"Subject", subject},
      {"Serial", SerialHex(cert)},
      {"SKI", SubjectKeyIdHex(cert)},
      {"Not after", FormatUtc(NotAfterUnix(cert))},
      {"Files", absl::StrJoin(files, " ")},
  });
  return kExitOk;
}

// CheckCommon refuses bad --days / --key before anything is generated.
absl::StatusOr<KeyType> CheckCommon(const PkiOptions& options) {
  if (options.days <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--days must be a positive number of days, not ", options.days));
  }
  absl::StatusOr<KeyType> key_type = ParseKeyType(options.key_type);
  if (!key_type.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown key type \"", options.key_type,
                     "\" (want ec-p256, ec-p384, rsa-2048 or rsa-3072)"));
  }
  return key_type;
}

CertificateSpec LeafSpec(const PkiOptions& options) {
  CertificateSpec spec;
  spec.common_name = options.cn;
  spec.days = options.days;
  spec.client_auth = true;
  spec.server_auth = options.server_auth;
  spec.dns_names = options.san_dns;
  spec.uris = options.san_uri;
  spec.emails = options.san_email;
  spec.ips = options.san_ip;
  return spec;
}

// RefuseExisting: issuing into a directory never overwrites what is there.
absl::Status RefuseExisting(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    std::string path = JoinPath(dir, name);
    if (FileExists(path)) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " already exists: refusing to replace it"));
    }
  }
  return absl::OkStatus();
}

std::string ChainPem(const X509* leaf, const std::vector<const X509*>& intermediates) {
  std::string pem = CertificateToPem(leaf);
  for (const X509* cert : intermediates) {
    absl::StrAppend(&pem, CertificateToPem(cert));
  }
  return pem;
}

// CheckCaOptions is CheckCommon plus the CA's own --path-len.
absl::StatusOr<KeyType> CheckCaOptions(const PkiOptions& options) {
  absl::StatusOr<KeyType> key_type = CheckCommon(options);
  if (key_type.ok() && options.path_len < -1) {
    return absl::InvalidArgumentError("--path-len must be 0 or more");
  }
  return key_type;
}

// MakeCa makes a CA in options.out: a root when `parent` is null, else an
// intermediate signed by `parent`, with chain.pem holding it and the parent's
// chain.
int MakeCa(CommandContext& context, const PkiOptions& options, KeyType key_type,
           const CaDirectory* parent) {
  if (absl::Status s =
          RefuseExisting(options.out, {CaDirectory::kKeyFile, CaDirectory::kCertificateFile});
      !s.ok()) {
    return context.UsageError(s);
  }
  auto key = GenerateKey(key_type);
  if (!key.ok()) {
    return context.UsageError(key.status());
  }
  CertificateSpec spec;
  spec.common_name = options.cn;
  spec.days = options.days;
  spec.is_ca = true;
  spec.path_len = options.path_len;
  auto cert = parent == nullptr
                  ? IssueCertificate(spec, key->get(), nullptr, key->get())
                  : IssueCertificate(spec, key->get(), parent->certificate(), parent->key());
  if (!cert.ok()) {
    return context.UsageError(cert.status());
  }
  std::vector<const X509*> chain;
  std::vector<std::string> files = {JoinPath(options.out, CaDirectory::kCertificateFile),
                                    JoinPath(options.out, CaDirectory::kKeyFile)};
  if (parent != nullptr) {
    chain.push_back(cert->get());
    for (const X509* above : parent->chain()) {
      chain.push_back(above);
    }
    files.push_back(JoinPath(options.out, CaDirectory::kChainFile));
  }
  if (absl::Status s = CaDirectory::Write(options.out, cert->get(), key->get(), chain); !s.ok()) {
    return context.UsageError(s);
  }
  return Describe(context, cert->get(), files);
}

int InitCa(CommandContext& context, const PkiOptions& options) {
  absl::StatusOr<KeyType> key_type = CheckCaOptions(options);
  if (!key_type.ok()) {
    return context.UsageError(key_type.status());
  }
  return MakeCa(context, options, *key_type, nullptr);
}

int InitIntermediate(CommandContext& context, const PkiOptions& options) {
  absl::StatusOr<KeyType> key_type = CheckCaOptions(options);
  if (!key_type.ok()) {
    return context.UsageError(key_type.status());
  }
  auto parent = CaDirectory::Load(options.ca_dir);
  if (!parent.ok()) {
    return context.UsageError(parent.status());
  }
  // A verifier would reject the chain anyway; say so now, not at the edge.
  long parent_path_len = X509_get_pathlen((*parent)->certificate());
  if (parent_path_len == 0) {
    return context.UsageError(absl::StrCat("the CA in ", options.ca_dir,
                                           " has path length 0: it cannot sign an intermediate"));
  }
  if (parent_path_len > 0 && (options.path_len < 0 || options.path_len >= parent_path_len)) {
    return context.UsageError(absl::StrCat("--path-len must be below the path length ",
                                           parent_path_len, " of the CA in ", options.ca_dir));
  }
  return MakeCa(context, options, *key_type, parent->get());
}

// WriteIssued writes cert.pem and chain.pem into `dir`, and key.pem (0600)
// when `key` is given: a signed CSR's key stays with its owner.
int WriteIssued(CommandContext& context, const std::string& dir, const X509* cert,
                const EVP_PKEY* key, const CaDirectory& ca) {
  std::string cert_path = JoinPath(dir, "cert.pem");
  std::string key_path = JoinPath(dir, "key.pem");
  std::string chain_path = JoinPath(dir, "chain.pem");
  absl::Status status = MakeDirectories(dir, 0755);
  if (status.ok() && key != nullptr) {
    status = WriteFileAtomically(key_path, PrivateKeyToPem(key), 0600);
  }
  if (status.ok()) {
    status = WriteFileAtomically(cert_path, CertificateToPem(cert), 0644);
  }
  if (status.ok()) {
    status = WriteFileAtomically(chain_path, ChainPem(cert, ca.chain()), 0644);
  }
  if (!status.ok()) {
    return context.UsageError(status);
  }
  if (key == nullptr) {
    return Describe(context, cert, {cert_path, chain_path});
  }
  return Describe(context, cert, {cert_path, key_path, chain_path});
}

int Issue(CommandContext& context, const PkiOptions& options) {
  absl::StatusOr<KeyType> key_type = CheckCommon(options);
  if (!key_type.ok()) {
    return context.UsageError(key_type.status());
  }
  auto ca = CaDirectory::Load(options.ca_dir);
  if (!ca.ok()) {
    return context.UsageError(ca.status());
  }
  if (absl::Status s = RefuseExisting(options.out, {"cert.pem", "key.pem", "chain.pem"}); !s.ok()) {
    return context.UsageError(s);
  }
  auto key = GenerateKey(*key_type);
  if (!key.ok()) {
    return context.UsageError(key.status());
  }
  auto cert = IssueCertificate(LeafSpec(options), key->get(), (*ca)->certificate(), (*ca)->key());
  if (!cert.ok()) {
    return context.UsageError(cert.status());
  }
  return WriteIssued(context, options.out, cert->get(), key->get(), **ca);
}

int SignCsrCommand(CommandContext& context, const PkiOptions& options) {
  if (options.days <= 0) {
    return context.UsageError(
        absl::StrCat("--days must be a positive number of days, not ", options.days));
  }
  absl::StatusOr<std::string> csr = ReadLocalFile(options.csr_file);
  if (!csr.ok()) {
    return context.UsageError(csr.status());
  }
  auto ca = CaDirectory::Load(options.ca_dir);
  if (!ca.ok()) {
    return context.UsageError(ca.status());
  }
  if (absl::Status s = RefuseExisting(options.out, {"cert.pem", "chain.pem"}); !s.ok()) {
    return context.UsageError(s);
  }
  auto cert = SignCsr(*csr, LeafSpec(options), (*ca)->certificate(), (*ca)->key());
  if (!cert.ok()) {
    return context.UsageError(absl::StrCat(options.csr_file, ": ", cert.status().message()));
  }
  return WriteIssued(context, options.out, cert->get(), nullptr, **ca);
}

int MakeCrl(CommandContext& context, const PkiOptions& options) {
  if (options.days <= 0) {
    return context.UsageError(
        absl::StrCat("--days must be a positive number of days, not ", options.days));
  }
  std::vector<std::string> serials;
  for (const auto& text : options.revoke) {
    absl::StatusOr<std::string> serial = NormalizeSerialHex(text);
    if (!serial.ok()) {
      return context.UsageError(serial.status());
    }
    serials.push_back(*serial);
  }
  auto ca = CaDirectory::Load(options.ca_dir);
  if (!ca.ok()) {
    return context.UsageError(ca.status());
  }
  auto crl = IssueCrl((*ca)->certificate(), (*ca)->key(), serials, options.days);
  if (!crl.ok()) {
    return context.UsageError(crl.status());
  }
  if (absl::Status s = WriteFileAtomically(options.out, CrlToPem(crl->get()), 0644); !s.ok()) {
    return context.UsageError(s);
  }
  std::string issuer = NameToRfc4514(X509_CRL_get_issuer(crl->get()));
  if (context.json()) {
    google::protobuf::Struct result;
    auto& fields = *result.mutable_fields();
    fields["issuer"].set_string_value(issuer);
    fields["file"].set_string_value(options.out);
    auto* list = fields["revokedSerials"].mutable_list_value();
    for (const auto& serial : serials) {
      list->add_values()->set_string_value(serial);
    }
    return context.PrintJson(result);
  }
  context.out() << FormatFields({
      {"Issuer", issuer},
      {"Revoked", serials.empty() ? "none" : absl::StrJoin(serials, " ")},
      {"File", options.out},
  });
  return kExitOk;
}

void AddKeyFlags(CLI::App* command, PkiOptions& options, int default_days) {
  options.days = default_days;
  command->add_option("--key", options.key_type, "ec-p256 (default), ec-p384, rsa-2048, rsa-3072");
  command->add_option("--days", options.days,
                      absl::StrCat("Validity in days (default ", default_days, ")"));
}

void AddSanFlags(CLI::App* command, PkiOptions& options) {
  command->add_option("--san-dns", options.san_dns, "DNS name SAN (repeatable)");
  command->add_option("--san-uri", options.san_uri, "URI SAN, e.g. spiffe://... (repeatable)");
  command->add_option("--san-email", options.san_email, "Email SAN (repeatable)");
  command->add_option("--san-ip", options.san_ip, "IP address SAN (repeatable)");
  command->add_flag("--server-auth", options.server_auth,
                    "Also the serverAuth key usage: a TLS server certificate (e.g. the control "
                    "plane's)");
}

}  // namespace

void AddPkiCommands(CLI::App& app, CommandContext& context) {
  CLI::App* pki =
      AddGroup(app, "pki", "A local CA: make roots, intermediates, client certificates and CRLs");

  auto ca_options = std::make_shared<PkiOptions>();
  CLI::App* init_ca =
      pki->add_subcommand("init-ca", "Create a root CA in a directory (ca.pem, ca.key)");
  init_ca->add_option("--cn", ca_options->cn, "Common name, e.g. \"Acme Devices CA\"")->required();
  init_ca->add_option("--out", ca_options->out, "Directory to create it in")->required();
  AddKeyFlags(init_ca, *ca_options, 3650);
  init_ca->add_option("--path-len", ca_options->path_len,
                      "How many intermediates may follow (default: no limit)");
  AddJsonFlag(init_ca, context);
  OnRun(init_ca, context, [&context, ca_options] { return InitCa(context, *ca_options); });

  auto intermediate_options = std::make_shared<PkiOptions>();
  intermediate_options->path_len = 0;
  CLI::App* init_intermediate = pki->add_subcommand(
      "init-intermediate", "Create an intermediate CA signed by a CA directory");
  init_intermediate->add_option("--ca", intermediate_options->ca_dir, "The signing CA directory")
      ->required();
  init_intermediate->add_option("--cn", intermediate_options->cn, "Common name")->required();
  init_intermediate->add_option("--out", intermediate_options->out, "Directory to create it in")
      ->required();
  AddKeyFlags(init_intermediate, *intermediate_options, 1825);
  init_intermediate->add_option("--path-len", intermediate_options->path_len,
                                "How many intermediates may follow it (default 0)");
  AddJsonFlag(init_intermediate, context);
  OnRun(init_intermediate, context, [&context, intermediate_options] {
    return InitIntermediate(context, *intermediate_options);
  });

  auto issue_options = std::make_shared<PkiOptions>();
  CLI::App* issue = pki->add_subcommand(
      "issue", "Issue a client certificate (clientAuth): DIR/cert.pem, key.pem, chain.pem");
  issue->add_option("--ca", issue_options->ca_dir, "The signing CA directory")->required();
  issue->add_option("--cn", issue_options->cn, "Common name, e.g. device-123")->required();
  issue->add_option("--out", issue_options->out, "Directory to write into")->required();
  AddKeyFlags(issue, *issue_options, 365);
  AddSanFlags(issue, *issue_options);
  AddJsonFlag(issue, context);
  OnRun(issue, context, [&context, issue_options] { return Issue(context, *issue_options); });

  auto csr_options = std::make_shared<PkiOptions>();
  csr_options->days = 365;
  CLI::App* sign_csr = pki->add_subcommand(
      "sign-csr",
      "Issue a client certificate for a CSR, so the key never leaves the device: "
      "DIR/cert.pem, chain.pem");
  sign_csr->add_option("--ca", csr_options->ca_dir, "The signing CA directory")->required();
  sign_csr->add_option("--csr", csr_options->csr_file, "The CSR, PEM or DER")->required();
  sign_csr->add_option("--out", csr_options->out, "Directory to write into")->required();
  sign_csr->add_option("--cn", csr_options->cn, "Common name (default: the CSR's)");
  sign_csr->add_option("--days", csr_options->days, "Validity in days (default 365)");
  AddSanFlags(sign_csr, *csr_options);
  AddJsonFlag(sign_csr, context);
  OnRun(sign_csr, context,
        [&context, csr_options] { return SignCsrCommand(context, *csr_options); });

  auto crl_options = std::make_shared<PkiOptions>();
  crl_options->days = 30;
  CLI::App* crl = pki->add_subcommand("crl", "Make a CRL signed by a CA directory");
  crl->add_option("--ca", crl_options->ca_dir, "The signing CA directory")->required();
  crl->add_option("--revoke", crl_options->revoke, "Serials to revoke, hex (one or more)");
  crl->add_option("--out", crl_options->out, "CRL file to write (PEM)")->required();
  crl->add_option("--days", crl_options->days, "Until nextUpdate, in days (default 30)");
  AddJsonFlag(crl, context);
  OnRun(crl, context, [&context, crl_options] { return MakeCrl(context, *crl_options); });
}

}  // namespace certgate::cli

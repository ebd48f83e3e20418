#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace certgate::cli {

// ReadLocalFile reads a whole file; the error names the path and the reason
// ("cannot read ca.pem: No such file or directory").
absl::StatusOr<std::string> ReadLocalFile(const std::string& path);

// CertificateAndKey is a PEM chain and its private key read from files.
struct CertificateAndKey {
  std::string chain_pem;
  std::string key_pem;
};

// ReadCertificateAndKey reads and parses both files, so that a wrong file is
// named before anything is sent; the error names the file and the reason.
absl::StatusOr<CertificateAndKey> ReadCertificateAndKey(const std::string& cert_file,
                                                        const std::string& key_file);

// WriteFileAtomically writes `content` to a temporary file next to `path`
// with `mode`, fsyncs it and renames it over `path`, so that a reader never
// sees half a key and a key never exists with a wider mode.
absl::Status WriteFileAtomically(const std::string& path, const std::string& content, int mode);

// MakeDirectories creates `path` and its missing parents with `mode`.
absl::Status MakeDirectories(const std::string& path, int mode);

// FileExists: anything exists at `path`.
bool FileExists(const std::string& path);

// JoinPath("a", "b") = "a/b".
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace certgate::cli

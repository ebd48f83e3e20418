#pragma once

// Helpers for the edge core tests: keys and certificates made at test time
// with the certificate factory, zones built from them, and a TLS handshake
// between a BoringSSL client and a TlsServer over an in-memory BIO pair.

#include <cstdint>
#include <string>
#include <vector>

#include "certgate/v1/edge_config.pb.h"
#include "common/cert_factory.h"
#include "dataplane/handshake/tls_server.h"
#include "openssl/evp.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"
#include "tests/support/test_pki.h"

namespace certgate::edge::testing {

using ::certgate::testing::Issue;
using ::certgate::testing::KeyAndCert;
using ::certgate::testing::MakeCa;
// MakeClient: a client certificate (clientAuth) named `common_name`.
KeyAndCert MakeClient(const std::string& common_name, const KeyAndCert& issuer,
                      KeyType type = KeyType::kEcP256);
// MakeIntermediate: a CA named `common_name` signed by `issuer`.
KeyAndCert MakeIntermediate(const std::string& common_name, const KeyAndCert& issuer);

std::string Der(const X509* cert);

// MakeZone: a zone for `hostname` trusting `roots`, with a server
// certificate for the hostname from a test server CA.
v1::EdgeZone MakeZone(uint64_t id, const std::string& hostname,
                      const std::vector<const X509*>& roots, v1::Mode mode = v1::MODE_ENFORCE,
                      uint64_t trust_version = 1);
v1::Snapshot MakeSnapshot(uint64_t version, const std::vector<v1::EdgeZone>& zones);

// SplitSnapshot: `bytes` (a serialised Snapshot of `version`) as a control
// plane sends them, in chunks of `chunk_bytes`.
std::vector<v1::SnapshotChunk> SplitSnapshot(uint64_t version, const std::string& bytes,
                                             size_t chunk_bytes);
// Sha256: the digest a chunk carries.
std::string Sha256(const std::string& bytes);

struct ClientOptions {
  std::string sni;                   // "" sends no SNI
  const KeyAndCert* cert = nullptr;  // client certificate, null for none
  std::vector<const X509*> chain;    // sent after the leaf
  SSL_SESSION* session = nullptr;    // offered for resumption
  uint16_t max_version = TLS1_3_VERSION;
};

struct HandshakeResult {
  bool ok = false;              // both sides finished
  int client_alert = -1;        // alert description the client received
  int requested_ca_names = -1;  // CA names in the CertificateRequest; -1: none sent
  bssl::UniquePtr<SSL> server;
  bssl::UniquePtr<SSL> client;
  bssl::UniquePtr<SSL_SESSION> ticket;  // a resumable session the client got
};

// Handshake runs a full (or resumed) handshake between a client and
// `server` in memory, then lets the client read any session ticket.
HandshakeResult Handshake(TlsServer* server, const ClientOptions& options);

}  // namespace certgate::edge::testing

#include "tests/unit/dataplane/edge_test_util.h"

#include <utility>

#include "common/pem.h"
#include "gtest/gtest.h"
#include "openssl/bio.h"
#include "openssl/err.h"
#include "openssl/sha.h"

namespace certgate::edge::testing {

namespace {

struct ServerPki {
  KeyAndCert ca;
};

const ServerPki& ServerCa() {
  static const ServerPki* pki = [] {
    auto* made = new ServerPki();
    made->ca = MakeCa("certgate test edge CA");
    return made;
  }();
  return *pki;
}

// The client's view of one handshake, reached from its callbacks.
struct ClientState {
  int alert = -1;
  int requested_ca_names = -1;
  bssl::UniquePtr<SSL_SESSION> ticket;
};

int ClientStateIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void ClientInfo(const SSL* ssl, int type, int value) {
  if (type == SSL_CB_READ_ALERT) {
    auto* state = static_cast<ClientState*>(SSL_get_ex_data(ssl, ClientStateIndex()));
    if (state != nullptr && state->alert < 0) {
      state->alert = value & 0xff;
    }
  }
}

int ClientNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* state = static_cast<ClientState*>(SSL_get_ex_data(ssl, ClientStateIndex()));
  if (state == nullptr) {
    return 0;
  }
  state->ticket.reset(session);
  return 1;  // we took the reference
}

// ClientCertCallback runs when the server asks for a certificate, the only
// time the client can see the CA names the server sent.
int ClientCertCallback(SSL* ssl, void* arg) {
  auto* state = static_cast<ClientState*>(arg);
  const STACK_OF(CRYPTO_BUFFER)* names = SSL_get0_server_requested_CAs(ssl);
  state->requested_ca_names = names == nullptr ? 0 : static_cast<int>(sk_CRYPTO_BUFFER_num(names));
  return 1;
}

bool Retryable(SSL* ssl, int ret) {
  int error = SSL_get_error(ssl, ret);
  return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
}

}  // namespace

KeyAndCert MakeClient(const std::string& common_name, const KeyAndCert& issuer, KeyType type) {
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.client_auth = true;
  return Issue(spec, issuer, type);
}

KeyAndCert MakeIntermediate(const std::string& common_name, const KeyAndCert& issuer) {
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.is_ca = true;
  return Issue(spec, issuer);
}

std::string Der(const X509* cert) { return CertificateToDer(cert); }

v1::EdgeZone MakeZone(uint64_t id, const std::string& hostname,
                      const std::vector<const X509*>& roots, v1::Mode mode,
                      uint64_t trust_version) {
  v1::EdgeZone zone;
  zone.set_id(id);
  zone.set_hostname(hostname);
  zone.set_mode(mode);
  zone.set_origin("http://127.0.0.1:8080");
  zone.set_trust_version(trust_version);
  zone.set_tenant_id("tenant-1");
  for (const X509* root : roots) {
    zone.add_roots_der(Der(root));
  }
  CertificateSpec spec;
  spec.common_name = hostname;
  spec.dns_names = {hostname};
  spec.server_auth = true;
  KeyAndCert server = Issue(spec, ServerCa().ca);
  if (server.cert) {
    zone.set_server_chain_pem(CertificateToPem(server.cert.get()) +
                              CertificateToPem(ServerCa().ca.cert.get()));
    zone.set_server_key_pem(PrivateKeyToPem(server.key.get()));
  }
  return zone;
}

v1::Snapshot MakeSnapshot(uint64_t version, const std::vector<v1::EdgeZone>& zones) {
  v1::Snapshot snapshot;
  snapshot.set_version(version);
  for (const auto& zone : zones) {
    *snapshot.add_zones() = zone;
  }
  return snapshot;
}

HandshakeResult Handshake(TlsServer* server, const ClientOptions& options) {
  HandshakeResult result;
  bssl::UniquePtr<SSL_CTX> client_ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_max_proto_version(client_ctx.get(), options.max_version);
  SSL_CTX_set_session_cache_mode(client_ctx.get(), SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(client_ctx.get(), ClientNewSession);
  if (options.cert != nullptr) {
    EXPECT_TRUE(SSL_CTX_use_certificate(client_ctx.get(), options.cert->cert.get()));
    EXPECT_TRUE(SSL_CTX_use_PrivateKey(client_ctx.get(), options.cert->key.get()));
    for (const X509* extra : options.chain) {
      EXPECT_TRUE(SSL_CTX_add1_chain_cert(client_ctx.get(), const_cast<X509*>(extra)));
    }
  }
  result.client.reset(SSL_new(client_ctx.get()));
  result.server = server->NewSsl();
  ClientState client_state;
  SSL_set_ex_data(result.client.get(), ClientStateIndex(), &client_state);
  SSL_set_info_callback(result.client.get(), ClientInfo);
  SSL_set_cert_cb(result.client.get(), ClientCertCallback, &client_state);
  SSL_set_connect_state(result.client.get());
  if (!options.sni.empty()) {
    SSL_set_tlsext_host_name(result.client.get(), options.sni.c_str());
  }
  if (options.session != nullptr) {
    SSL_set_session(result.client.get(), options.session);
  }
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(result.client.get(), client_bio, client_bio);
  SSL_set_bio(result.server.get(), server_bio, server_bio);

  bool client_done = false, server_done = false, failed = false;
  for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
    if (!client_done) {
      int ret = SSL_do_handshake(result.client.get());
      if (ret == 1) {
        client_done = true;
      } else if (!Retryable(result.client.get(), ret)) {
        failed = true;
      }
    }
    if (!server_done) {
      int ret = SSL_do_handshake(result.server.get());
      if (ret == 1) {
        server_done = true;
      } else if (!Retryable(result.server.get(), ret)) {
        failed = true;
      }
    }
    if (failed) {
      // Let the other side read the alert.
      SSL_do_handshake(result.client.get());
      break;
    }
  }
  result.ok = client_done && server_done && !failed;
  if (result.ok) {
    // TLS 1.3 tickets go out with the server's first write.
    uint8_t byte = 'x';
    SSL_write(result.server.get(), &byte, 1);
    SSL_read(result.client.get(), &byte, 1);
  }
  ERR_clear_error();
  result.client_alert = client_state.alert;
  result.requested_ca_names = client_state.requested_ca_names;
  result.ticket = std::move(client_state.ticket);
  SSL_set_ex_data(result.client.get(), ClientStateIndex(), nullptr);
  return result;
}

std::string Sha256(const std::string& bytes) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::vector<v1::SnapshotChunk> SplitSnapshot(uint64_t version, const std::string& bytes,
                                             size_t chunk_bytes) {
  std::vector<v1::SnapshotChunk> chunks;
  uint32_t count = static_cast<uint32_t>((bytes.size() + chunk_bytes - 1) / chunk_bytes);
  for (uint32_t i = 0; i < count; ++i) {
    v1::SnapshotChunk chunk;
    chunk.set_version(version);
    chunk.set_index(i);
    chunk.set_count(count);
    chunk.set_total_bytes(bytes.size());
    chunk.set_sha256(Sha256(bytes));
    chunk.set_offset(i * chunk_bytes);
    chunk.set_data(bytes.substr(i * chunk_bytes, chunk_bytes));
    chunks.push_back(chunk);
  }
  return chunks;
}

}  // namespace certgate::edge::testing

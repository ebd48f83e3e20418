#include "dataplane/tls/origin_tls_context.h"

#include <atomic>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/origin_policy.h"
#include "common/pem.h"
#include "dataplane/tls/ssl_error.h"
#include "openssl/err.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"

namespace certgate::edge {
namespace {

// SystemStore: the system CA bundle, parsed once per process and shared by
// every zone that sets no origin CA (a bundle is ~150 certificates). Empty
// when the file is missing: every origin then fails verification, loudly.
X509_STORE* SystemStore() {
  static X509_STORE* store = [] {
    X509_STORE* s = X509_STORE_new();
    if (s != nullptr &&
        !X509_STORE_load_locations(s, OriginTlsContext::kSystemTrustStore, nullptr)) {
      // Said once, so that the 502s of every https origin point here.
      std::fprintf(stderr,
                   "certgate-edge: cannot load the system CA bundle %s: %s; https origins "
                   "without an origin CA will fail verification\n",
                   OriginTlsContext::kSystemTrustStore, PopSslErrorReason().c_str());
    }
    return s;
  }();
  return store;
}

std::atomic<uint64_t> next_serial{1};

}  // namespace

OriginTlsContext::~OriginTlsContext() = default;

absl::StatusOr<std::shared_ptr<const OriginTlsContext>> OriginTlsContext::Create(
    const v1::EdgeZone& zone, const std::string& origin_host) {
  std::shared_ptr<OriginTlsContext> context(new OriginTlsContext());
  absl::Status status = context->Init(zone, origin_host);
  if (!status.ok()) {
    return status;
  }
  return std::shared_ptr<const OriginTlsContext>(std::move(context));
}

absl::Status OriginTlsContext::Init(const v1::EdgeZone& zone, const std::string& origin_host) {
  serial_ = next_serial.fetch_add(1);
  ctx_.reset(SSL_CTX_new(TLS_method()));
  if (!ctx_) {
    return absl::ResourceExhaustedError("SSL_CTX_new failed");
  }
  if (!SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx_.get(), TLS1_3_VERSION)) {
    return absl::InternalError(absl::StrCat("origin TLS versions: ", PopSslErrorReason()));
  }
  // Trust: the zone's own origin CA, else the system store (shared).
  if (!zone.origin_ca_pem().empty()) {
    auto certs = ParseCertificates(zone.origin_ca_pem());
    if (!certs.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("origin CA: ", certs.status().message()));
    }
    bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
    if (!store) {
      return absl::ResourceExhaustedError("X509_STORE_new failed");
    }
    for (const bssl::UniquePtr<X509>& cert : *certs) {
      if (!X509_STORE_add_cert(store.get(), cert.get())) {
        return absl::InvalidArgumentError(absl::StrCat("origin CA: ", PopSslErrorReason()));
      }
    }
    SSL_CTX_set_cert_store(ctx_.get(), store.release());
  } else {
    X509_STORE* system = SystemStore();
    if (system == nullptr) {
      return absl::ResourceExhaustedError("X509_STORE_new failed");
    }
    X509_STORE_up_ref(system);
    SSL_CTX_set_cert_store(ctx_.get(), system);
  }
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);

  // The name to check and send: the zone's origin server name, else the
  // URL's host (an IP literal is checked as an IP and sends no SNI).
  if (!zone.origin_server_name().empty()) {
    sni_ = verify_name_ = zone.origin_server_name();
  } else if (ParseIpLiteral(origin_host).ok()) {
    verify_name_ = origin_host;
    verify_ip_ = true;
  } else {
    sni_ = verify_name_ = origin_host;
  }

  // Authenticated origin pulls: the zone's client certificate.
  if (!zone.origin_client_chain_pem().empty() || !zone.origin_client_key_pem().empty()) {
    auto chain = ParseCertificates(zone.origin_client_chain_pem());
    if (!chain.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("origin client certificate: ", chain.status().message()));
    }
    auto key = ParsePrivateKey(zone.origin_client_key_pem());
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("origin client key: ", key.status().message()));
    }
    if (!SSL_CTX_use_certificate(ctx_.get(), (*chain)[0].get())) {
      return absl::InvalidArgumentError(
          absl::StrCat("origin client certificate: ", PopSslErrorReason()));
    }
    for (size_t i = 1; i < chain->size(); ++i) {
      if (!SSL_CTX_add1_chain_cert(ctx_.get(), (*chain)[i].get())) {
        return absl::InvalidArgumentError(
            absl::StrCat("origin client certificate chain: ", PopSslErrorReason()));
      }
    }
    if (!SSL_CTX_use_PrivateKey(ctx_.get(), key->get()) || !SSL_CTX_check_private_key(ctx_.get())) {
      return absl::InvalidArgumentError(
          absl::StrCat("origin client key does not match its certificate: ", PopSslErrorReason()));
    }
    has_client_certificate_ = true;
  }

  // Client-side session cache: BoringSSL hands each new session (TLS 1.3
  // tickets arrive after the handshake) to OnNewSession; NewSsl offers it.
  SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx_.get(), &OriginTlsContext::OnNewSession);
  SSL_CTX_set_app_data(ctx_.get(), this);
  return absl::OkStatus();
}

int OriginTlsContext::OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<OriginTlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (self == nullptr) {
    return 0;
  }
  absl::MutexLock lock(&self->mu_);
  self->session_.reset(session);  // takes the reference
  return 1;
}

bssl::UniquePtr<SSL> OriginTlsContext::NewSsl() const {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
  if (!ssl) {
    return nullptr;
  }
  SSL_set_connect_state(ssl.get());
  if (!sni_.empty() && !SSL_set_tlsext_host_name(ssl.get(), sni_.c_str())) {
    return nullptr;
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  int ok = verify_ip_
               ? X509_VERIFY_PARAM_set1_ip_asc(param, verify_name_.c_str())
               : X509_VERIFY_PARAM_set1_host(param, verify_name_.data(), verify_name_.size());
  if (!ok) {
    return nullptr;
  }
  // SSL_write retries may come from a buffer that moved (evbuffer pullup).
  SSL_set_mode(ssl.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  absl::MutexLock lock(&mu_);
  if (session_ != nullptr) {
    SSL_set_session(ssl.get(), session_.get());
  }
  return ssl;
}

std::string OriginTlsContext::FailureReason(const SSL* ssl, int ssl_error) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    return absl::StrCat("origin certificate verify failed: ",
                        X509_verify_cert_error_string(verify));
  }
  uint32_t error = ERR_peek_error();
  if (error != 0) {
    return absl::StrCat("origin TLS handshake failed: ", PopSslErrorReason());
  }
  if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) {
    return "origin closed the connection during the TLS handshake";
  }
  return "origin TLS handshake failed";
}

}  // namespace certgate::edge

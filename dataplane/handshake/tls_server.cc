#include "dataplane/handshake/tls_server.h"

#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "dataplane/handshake/cert_verifier.h"
#include "dataplane/tls/session_binding.h"
#include "dataplane/tls/verification_cache.h"
#include "dataplane/tls/zone_ssl_context_cache.h"
#include "openssl/aes.h"
#include "openssl/cipher.h"
#include "openssl/crypto.h"
#include "openssl/digest.h"
#include "openssl/err.h"
#include "openssl/hmac.h"
#include "openssl/rand.h"
#include "openssl/x509.h"

namespace certgate::edge {

namespace {

// SslState is what an SSL made by NewSsl carries in its ex_data.
struct SslState {
  TlsServer* server = nullptr;
  ConnectionAuth auth;
  std::string failure_note;  // why the ClientHello was refused
  std::string alert_note;    // the first fatal alert sent or received
  bool failure_counted = false;
  bool done = false;
};

void FreeSslState(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int index, long argl,  // NOLINT
                  void* argp) {
  delete static_cast<SslState*>(ptr);
}

int SslStateIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeSslState);
  return index;
}

SslState* GetState(const SSL* ssl) {
  return static_cast<SslState*>(SSL_get_ex_data(ssl, SslStateIndex()));
}

void ApplyOutcome(VerifyOutcome outcome, ConnectionAuth* auth) {
  auth->status = outcome.status;
  auth->reason = std::move(outcome.reason);
  auth->from_cache = outcome.from_cache;
  auth->leaf = std::move(outcome.leaf);
  auth->chain = std::move(outcome.chain);
  auth->ski_hex = std::move(outcome.ski_hex);
  auth->pinned = outcome.pinned;
  auth->identity = std::move(outcome.identity);
}

// "NO_SHARED_CIPHER" -> "no shared cipher".
std::string Readable(const char* reason) {
  std::string text = absl::AsciiStrToLower(reason);
  absl::StrReplaceAll({{"_", " "}}, &text);
  return text;
}

}  // namespace

const char* CertStatusName(CertStatus status) {
  switch (status) {
    case CertStatus::kNone:
      return "none";
    case CertStatus::kValid:
      return "valid";
    case CertStatus::kInvalid:
      return "invalid";
  }
  return "none";
}

const char* TlsLibraryVersion() { return OpenSSL_version(OPENSSL_VERSION); }

// TlsServerCallbacks: the C callbacks of the base SSL_CTX; each finds its
// TlsServer through the SSL's ex_data.
struct TlsServerCallbacks {
  static enum ssl_select_cert_result_t SelectCertificate(const SSL_CLIENT_HELLO* client_hello) {
    SSL* ssl = client_hello->ssl;
    SslState* state = GetState(ssl);
    if (state == nullptr) {
      return ssl_select_cert_error;
    }
    TlsServer* server = state->server;
    const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni == nullptr || sni[0] == '\0') {
      state->failure_note = "no SNI";
      return ssl_select_cert_error;
    }
    std::shared_ptr<const EdgeConfig> config = server->slot_->Get();
    const ZoneConfig* zone = config ? config->FindBySni(sni) : nullptr;
    if (zone == nullptr) {
      // The ServerName callback, which runs next, answers unrecognized_name.
      state->failure_note = absl::StrCat("unknown SNI \"", absl::CHexEscape(sni), "\"");
      server->stats_.unknown_sni.fetch_add(1, std::memory_order_relaxed);
      return ssl_select_cert_success;
    }
    absl::StatusOr<bssl::UniquePtr<SSL_CTX>> zone_ctx = server->contexts_->Get(
        ZoneContextKey{zone->id, zone->build_serial}, [zone] { return zone->source.Zone(); },
        *zone->trust);
    if (!zone_ctx.ok()) {
      // This zone only: its handshake fails, the failure is reported with
      // the zones that failed at apply time.
      state->failure_note =
          absl::StrCat("zone ", zone->id, " TLS context: ", zone_ctx.status().message());
      server->stats_.zone_context_failures.fetch_add(1, std::memory_order_relaxed);
      return ssl_select_cert_error;
    }
    state->auth.config = std::move(config);
    state->auth.zone = zone;
    if (SSL_set_SSL_CTX(ssl, zone_ctx->get()) == nullptr) {
      state->failure_note = "cannot switch to the zone's context";
      return ssl_select_cert_error;
    }
    // SSL_set_SSL_CTX copies the certificate and the session id context (both
    // live in BoringSSL's CERT) but not the verify settings: set them on the
    // SSL itself.
    if (!zone->RequestsCertificate()) {
      SSL_set_custom_verify(ssl, SSL_VERIFY_NONE, nullptr);
    } else {
      SSL_set_custom_verify(ssl, SSL_VERIFY_PEER, &TlsServer::VerifyPeer);
    }
    return ssl_select_cert_success;
  }

  // ServerName runs after SelectCertificate (on the zone's context it falls
  // back to the base context's callback): refuse when no zone was chosen.
  static int ServerName(SSL* ssl, int* out_alert, void* arg) {
    SslState* state = GetState(ssl);
    if (state == nullptr || state->auth.zone == nullptr) {
      *out_alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
  }

  // TicketKey encrypts and decrypts tickets with keys of the SSL's zone and
  // trust version; a ticket of another zone or trust version has another key
  // name and is ignored (full handshake).
  static int TicketKey(SSL* ssl, uint8_t* key_name, uint8_t* iv, EVP_CIPHER_CTX* cipher_ctx,
                       HMAC_CTX* hmac_ctx, int encrypt) {
    SslState* state = GetState(ssl);
    if (state == nullptr || state->auth.zone == nullptr) {
      return encrypt ? -1 : 0;
    }
    const SessionBinding::TicketKeys& keys = state->auth.zone->ticket_keys;
    if (encrypt) {
      std::memcpy(key_name, keys.name.data(), keys.name.size());
      if (!RAND_bytes(iv, 16) ||
          !EVP_EncryptInit_ex(cipher_ctx, EVP_aes_128_cbc(), nullptr, keys.aes_key.data(), iv) ||
          !HMAC_Init_ex(hmac_ctx, keys.hmac_key.data(), keys.hmac_key.size(), EVP_sha256(),
                        nullptr)) {
        return -1;
      }
      return 1;
    }
    if (std::memcmp(key_name, keys.name.data(), keys.name.size()) != 0) {
      return 0;
    }
    if (!EVP_DecryptInit_ex(cipher_ctx, EVP_aes_128_cbc(), nullptr, keys.aes_key.data(), iv) ||
        !HMAC_Init_ex(hmac_ctx, keys.hmac_key.data(), keys.hmac_key.size(), EVP_sha256(),
                      nullptr)) {
      return -1;
    }
    return 1;
  }

  static void Info(const SSL* ssl, int type, int value) {
    SslState* state = GetState(ssl);
    if (state == nullptr) {
      return;
    }
    TlsServer* server = state->server;
    if ((type & SSL_CB_ALERT) != 0 && (value >> 8) == SSL3_AL_FATAL && !state->done) {
      if (state->alert_note.empty()) {
        state->alert_note = absl::StrCat((type & SSL_CB_READ) != 0 ? "received" : "sent", " alert ",
                                         SSL_alert_desc_string_long(value));
      }
      if (!state->failure_counted) {
        state->failure_counted = true;
        server->stats_.handshakes_failed.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    if (type != SSL_CB_HANDSHAKE_DONE || state->done) {
      return;
    }
    state->done = true;
    server->stats_.handshakes_ok.fetch_add(1, std::memory_order_relaxed);
    if (!SSL_session_reused(ssl)) {
      return;
    }
    // A resumed session carries the client's chain but no verdict: check it
    // again against the zone as it is now (cheap checks, then the cache), so
    // a root removed or a serial revoked since is never carried over.
    state->auth.resumed = true;
    server->stats_.handshakes_resumed.fetch_add(1, std::memory_order_relaxed);
    const ZoneConfig* zone = state->auth.zone;
    if (zone == nullptr || !zone->RequestsCertificate()) {
      return;
    }
    server->Check(*zone, SSL_get0_peer_certificates(ssl), &state->auth);
  }
};

void TlsServer::Check(const ZoneConfig& zone, const STACK_OF(CRYPTO_BUFFER) * certs,
                      ConnectionAuth* auth) {
  VerifyOutcome outcome =
      CertVerifier::Verify(zone, certs, cache_.get(), absl::ToUnixSeconds(absl::Now()));
  if (outcome.cheap_rejection) {
    stats_.cheap_rejections.fetch_add(1, std::memory_order_relaxed);
  }
  if (outcome.chain_verified) {
    stats_.chain_verifications.fetch_add(1, std::memory_order_relaxed);
  }
  ApplyOutcome(std::move(outcome), auth);
}

ZoneRecheck TlsServer::Recheck(SSL* ssl) {
  SslState* state = GetState(ssl);
  if (state == nullptr || state->auth.zone == nullptr) {
    return ZoneRecheck::kGone;
  }
  ConnectionAuth& auth = state->auth;
  if (slot_->Peek() == auth.config.get()) {
    return ZoneRecheck::kUnchanged;
  }
  std::shared_ptr<const EdgeConfig> config = slot_->Get();
  if (config == nullptr) {
    return ZoneRecheck::kUnchanged;
  }
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const ZoneConfig* zone = sni != nullptr ? config->FindBySni(sni) : nullptr;
  const ZoneConfig* old = auth.zone;
  if (zone == nullptr || zone->id != old->id) {
    return ZoneRecheck::kGone;
  }
  // Unchanged zones are shared between versions: the same object means
  // nothing about this zone changed. Any other change is judged again: with
  // the same trust version that is a cache hit, with a new one the cheap
  // checks (revoked serial, issuer gone) answer before any signature.
  bool same = zone == old;
  // The new config is held before the old one is let go: `zone` lives in it.
  auth.config = std::move(config);
  auth.zone = zone;
  if (same) {
    return ZoneRecheck::kUnchanged;
  }
  if (!zone->RequestsCertificate()) {
    // Nothing is judged when no certificate is asked for.
    ApplyOutcome(VerifyOutcome(), &auth);
  } else {
    Check(*zone, SSL_get0_peer_certificates(ssl), &auth);
  }
  return ZoneRecheck::kRejudged;
}

enum ssl_verify_result_t TlsServer::VerifyPeer(SSL* ssl, uint8_t* out_alert) {
  SslState* state = GetState(ssl);
  if (state == nullptr || state->auth.zone == nullptr) {
    *out_alert = SSL_AD_INTERNAL_ERROR;
    return ssl_verify_invalid;
  }
  state->server->Check(*state->auth.zone, SSL_get0_peer_certificates(ssl), &state->auth);
  // The TLS layer never fails on a bad certificate: enforce mode answers
  // 403 with the zone's body, report mode forwards the status.
  return ssl_verify_ok;
}

absl::StatusOr<std::unique_ptr<TlsServer>> TlsServer::Create(const ConfigSlot* slot,
                                                             TlsServerOptions options) {
  if (slot == nullptr) {
    return absl::InvalidArgumentError("TlsServer needs a config slot");
  }
  std::unique_ptr<TlsServer> server(new TlsServer());
  server->slot_ = slot;
  server->cache_ = std::make_unique<VerificationCache>(options.cache_entries, options.cache_shards);
  server->contexts_ = std::make_unique<ZoneSslContextCache>(options.tls_context_cache_entries);
  server->base_ctx_.reset(SSL_CTX_new(TLS_with_buffers_method()));
  SSL_CTX* ctx = server->base_ctx_.get();
  if (ctx == nullptr || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
    return absl::InternalError("cannot create the base TLS context");
  }
  SSL_CTX_set_select_certificate_cb(ctx, &TlsServerCallbacks::SelectCertificate);
  SSL_CTX_set_tlsext_servername_callback(ctx, &TlsServerCallbacks::ServerName);
  SSL_CTX_set_tlsext_ticket_key_cb(ctx, &TlsServerCallbacks::TicketKey);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  // Sessions are re-checked on resumption anyway; an hour bounds how long a
  // ticket can be replayed.
  SSL_CTX_set_timeout(ctx, 3600);
  SSL_CTX_set_session_psk_dhe_timeout(ctx, 3600);
  SSL_CTX_set_custom_verify(ctx, SSL_VERIFY_NONE, nullptr);
  return server;
}

TlsServer::~TlsServer() = default;

std::vector<ZoneFailure> TlsServer::LateFailures(const EdgeConfig& config) const {
  std::vector<ZoneContextFailure> failed = contexts_->Failures([&config](ZoneContextKey key) {
    const ZoneConfig* zone = config.FindById(key.zone_id);
    return zone != nullptr && zone->build_serial == key.build_serial;
  });
  std::vector<ZoneFailure> out;
  out.reserve(failed.size());
  for (ZoneContextFailure& failure : failed) {
    out.push_back(
        ZoneFailure{failure.key.zone_id, std::move(failure.hostname), std::move(failure.error)});
  }
  return out;
}

bssl::UniquePtr<SSL> TlsServer::NewSsl() {
  bssl::UniquePtr<SSL> ssl(SSL_new(base_ctx_.get()));
  if (!ssl) {
    return nullptr;
  }
  auto* state = new SslState();
  state->server = this;
  if (!SSL_set_ex_data(ssl.get(), SslStateIndex(), state)) {
    delete state;
    return nullptr;
  }
  SSL_set_accept_state(ssl.get());
  SSL_set_info_callback(ssl.get(), &TlsServerCallbacks::Info);
  return ssl;
}

ConnectionAuth* TlsServer::GetAuth(const SSL* ssl) {
  SslState* state = GetState(ssl);
  return state != nullptr ? &state->auth : nullptr;
}

void TlsServer::NoteHandshakeFailed(const SSL* ssl) {
  SslState* state = GetState(ssl);
  if (state == nullptr || state->failure_counted || state->done) {
    return;
  }
  state->failure_counted = true;
  stats_.handshakes_failed.fetch_add(1, std::memory_order_relaxed);
}

std::string TlsServer::FailureReason(const SSL* ssl) {
  SslState* state = GetState(ssl);
  if (state != nullptr && !state->failure_note.empty()) {
    return state->failure_note;
  }
  uint32_t error = ERR_peek_last_error();
  if (error != 0) {
    const char* reason = ERR_reason_error_string(error);
    if (reason != nullptr) {
      return Readable(reason);
    }
  }
  if (state != nullptr && !state->alert_note.empty()) {
    return state->alert_note;
  }
  return "";
}

}  // namespace certgate::edge

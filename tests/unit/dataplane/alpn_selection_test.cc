#include "dataplane/tls/alpn_selection.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "openssl/ssl.h"
#include "tests/support/test_pki.h"

namespace certgate::edge {
namespace {

std::string Wire(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    out.push_back(static_cast<char>(n.size()));
    out += n;
  }
  return out;
}

TEST(AlpnSelectionTest, Table) {
  struct Case {
    const char* name;
    std::string offered;
    bool offer_h2;
    const char* want;  // null: no ALPN
  } cases[] = {
      {"h2 first", Wire({"h2", "http/1.1"}), true, "h2"},
      {"h2 second", Wire({"http/1.1", "h2"}), true, "h2"},
      {"h2 off", Wire({"h2", "http/1.1"}), false, "http/1.1"},
      {"h2 only, off", Wire({"h2"}), false, nullptr},
      {"http/1.1 only", Wire({"http/1.1"}), true, "http/1.1"},
      {"unknown only", Wire({"spdy/3", "h2c"}), true, nullptr},
      {"near names", Wire({"h22", "http/1.10", "H2"}), true, nullptr},
      {"empty list", "", true, nullptr},
      {"length past the end", std::string("\x05h2", 3), true, nullptr},
      {"zero length entry", std::string("\x00\x02h2", 4), true, nullptr},
  };
  for (const Case& c : cases) {
    std::optional<absl::string_view> got = SelectAlpn(c.offered, c.offer_h2);
    if (c.want == nullptr) {
      EXPECT_FALSE(got.has_value()) << c.name << ": " << *got;
    } else {
      ASSERT_TRUE(got.has_value()) << c.name;
      EXPECT_EQ(*got, c.want) << c.name;
    }
  }
}

// Negotiated: a real handshake in memory, the client offering `offered`.
std::string Negotiated(bool offer_h2, const std::vector<std::string>& offered, bool install) {
  static const testing::KeyAndCert ca = testing::MakeCa("ALPN test CA");
  static const testing::KeyAndCert server = testing::MakeServerCert("auth.pizza", ca);
  bssl::UniquePtr<SSL_CTX> server_ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_use_certificate(server_ctx.get(), server.cert.get());
  SSL_CTX_use_PrivateKey(server_ctx.get(), server.key.get());
  if (install) {
    InstallAlpnSelection(server_ctx.get(), offer_h2);
  }
  bssl::UniquePtr<SSL_CTX> client_ctx(SSL_CTX_new(TLS_method()));
  bssl::UniquePtr<SSL> s(SSL_new(server_ctx.get()));
  bssl::UniquePtr<SSL> c(SSL_new(client_ctx.get()));
  std::string wire = Wire(offered);
  SSL_set_alpn_protos(c.get(), reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(c.get(), client_bio, client_bio);
  SSL_set_bio(s.get(), server_bio, server_bio);
  SSL_set_connect_state(c.get());
  SSL_set_accept_state(s.get());
  bool client_done = false;
  bool server_done = false;
  for (int i = 0; i < 20 && !(client_done && server_done); ++i) {
    client_done = client_done || SSL_do_handshake(c.get()) == 1;
    server_done = server_done || SSL_do_handshake(s.get()) == 1;
  }
  EXPECT_TRUE(client_done && server_done) << "handshake did not finish";
  const uint8_t* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(c.get(), &proto, &len);
  return std::string(reinterpret_cast<const char*>(proto), len);
}

TEST(AlpnSelectionTest, Handshakes) {
  EXPECT_EQ(Negotiated(true, {"h2", "http/1.1"}, true), "h2");
  EXPECT_EQ(Negotiated(false, {"h2", "http/1.1"}, true), "http/1.1");
  EXPECT_EQ(Negotiated(true, {"spdy/3"}, true), "") << "no overlap: no ALPN, no failure";
  // Today's zone contexts install nothing: a client offering h2 gets no ALPN
  // and speaks HTTP/1.1.
  EXPECT_EQ(Negotiated(true, {"h2", "http/1.1"}, false), "");
}

}  // namespace
}  // namespace certgate::edge

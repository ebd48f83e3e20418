#include "controlplane/api/token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/x509_info.h"
#include "openssl/crypto.h"
#include "openssl/rand.h"
#include "openssl/sha.h"

namespace certgate::controlplane {

std::string RandomHex(size_t bytes) {
  std::vector<uint8_t> buffer(bytes);
  RAND_bytes(buffer.data(), buffer.size());
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(buffer.data()), bytes));
}

NewTokenResult NewToken() {
  NewTokenResult result;
  result.id = RandomHex(8);
  result.token = absl::StrCat("cgt_", result.id, "_", RandomHex(32));
  return result;
}

absl::StatusOr<std::string> TokenId(absl::string_view token) {
  if (!absl::ConsumePrefix(&token, "cgt_")) {
    return absl::InvalidArgumentError("malformed token");
  }
  size_t underscore = token.find('_');
  if (underscore == absl::string_view::npos || underscore == 0 || underscore + 1 == token.size()) {
    return absl::InvalidArgumentError("malformed token");
  }
  return std::string(token.substr(0, underscore));
}

std::string HashToken(absl::string_view token) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(token.data()), token.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<std::string> LoadOrCreateTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (in) {
    std::stringstream content;
    content << in.rdbuf();
    std::string token(absl::StripAsciiWhitespace(content.str()));
    if (token.size() < 16) {
      return absl::InvalidArgumentError(absl::StrCat("token file ", path, " holds no token"));
    }
    return token;
  }
  std::string token = NewToken().token;
  // O_EXCL: never clobber a file another process created meanwhile.
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create token file ", path, ": ", std::strerror(errno)));
  }
  std::string line = token + "\n";
  bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = fsync(fd) == 0 && ok;
  close(fd);
  if (!ok) {
    return absl::UnavailableError(absl::StrCat("cannot write token file ", path));
  }
  return token;
}

}  // namespace certgate::controlplane

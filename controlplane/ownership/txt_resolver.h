#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certgate::controlplane {

struct TxtResolverOptions {
  // `HOST:PORT` (or `[v6]:PORT`, or HOST for port 53) of the DNS server to
  // ask; empty: the system resolver (/etc/resolv.conf).
  std::string server;
  // The whole lookup, retries included, never takes longer than this.
  absl::Duration timeout = absl::Seconds(5);
};

// TxtLookup is what one TXT lookup found.
struct TxtLookup {
  enum class Outcome {
    kFound,     // `values` holds every TXT record (character-strings joined)
    kNoRecord,  // the name does not exist, or has no TXT record
    kError,     // no answer: timeout, refused, server failure...
  };
  Outcome outcome = Outcome::kError;
  std::vector<std::string> values;
  // Why, for kNoRecord and kError ("NXDOMAIN", "timeout after 5s", ...).
  std::string detail;
};

// TxtResolver looks up TXT records with c-ares. Each lookup has a channel
// of its own, so lookups on several threads never share state; a lookup
// blocks its caller for at most the timeout.
class TxtResolver {
 public:
  // Create checks the options (a bad --dns-server is INVALID_ARGUMENT).
  static absl::StatusOr<std::unique_ptr<TxtResolver>> Create(TxtResolverOptions options);

  TxtLookup Lookup(const std::string& name) const;

 private:
  explicit TxtResolver(TxtResolverOptions options) : options_(std::move(options)) {}

  TxtResolverOptions options_;
};

}  // namespace certgate::controlplane

#include "controlplane/ownership/txt_resolver.h"

#include <ares.h>
#include <poll.h>

#include <algorithm>

#include "absl/base/call_once.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace certgate::controlplane {
namespace {

constexpr int kClassIn = 1;
constexpr int kTypeTxt = 16;
constexpr int kTries = 2;

void InitAresOnce() {
  static absl::once_flag once;
  absl::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

// Channel owns an ares_channel.
class Channel {
 public:
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    if (initialized_) {
      ares_destroy(channel_);
    }
  }

  // Init: a channel that answers REFUSED/SERVFAIL as errors at once (rather
  // than trying the next server until the timeout) and tries each server
  // kTries times within `timeout`.
  int Init(const TxtResolverOptions& options) {
    ares_options config{};
    config.timeout = std::max<int>(100, absl::ToInt64Milliseconds(options.timeout) / kTries);
    config.tries = kTries;
    config.flags = ARES_FLAG_NOCHECKRESP;
    int status =
        ares_init_options(&channel_, &config, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
    if (status != ARES_SUCCESS) {
      return status;
    }
    initialized_ = true;
    if (!options.server.empty()) {
      return ares_set_servers_ports_csv(channel_, options.server.c_str());
    }
    return ARES_SUCCESS;
  }

  ares_channel get() const { return channel_; }

 private:
  ares_channel channel_ = nullptr;
  bool initialized_ = false;
};

struct QueryResult {
  bool done = false;
  TxtLookup lookup;
};

void OnAnswer(void* arg, int status, int /*timeouts*/, unsigned char* answer, int length) {
  auto* result = static_cast<QueryResult*>(arg);
  result->done = true;
  TxtLookup& lookup = result->lookup;
  if (status == ARES_SUCCESS) {
    ares_txt_ext* records = nullptr;
    status = ares_parse_txt_reply_ext(answer, length, &records);
    if (status == ARES_SUCCESS) {
      for (ares_txt_ext* chunk = records; chunk != nullptr; chunk = chunk->next) {
        // A record may be split in several character-strings: join them.
        if (chunk->record_start || lookup.values.empty()) {
          lookup.values.emplace_back();
        }
        lookup.values.back().append(reinterpret_cast<const char*>(chunk->txt), chunk->length);
      }
      ares_free_data(records);
      lookup.outcome =
          lookup.values.empty() ? TxtLookup::Outcome::kNoRecord : TxtLookup::Outcome::kFound;
      if (lookup.values.empty()) {
        lookup.detail = "no TXT record";
      }
      return;
    }
  }
  switch (status) {
    case ARES_ENOTFOUND:
      lookup.outcome = TxtLookup::Outcome::kNoRecord;
      lookup.detail = "the name does not exist (NXDOMAIN)";
      break;
    case ARES_ENODATA:
      lookup.outcome = TxtLookup::Outcome::kNoRecord;
      lookup.detail = "the name has no TXT record";
      break;
    case ARES_EREFUSED:
      lookup.outcome = TxtLookup::Outcome::kError;
      lookup.detail = "the DNS server refused the query (REFUSED)";
      break;
    case ARES_ESERVFAIL:
      lookup.outcome = TxtLookup::Outcome::kError;
      lookup.detail = "the DNS server failed (SERVFAIL)";
      break;
    default:
      lookup.outcome = TxtLookup::Outcome::kError;
      lookup.detail = ares_strerror(status);
      break;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<TxtResolver>> TxtResolver::Create(TxtResolverOptions options) {
  InitAresOnce();
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the DNS timeout must be positive");
  }
  Channel probe;
  int status = probe.Init(options);
  if (status != ARES_SUCCESS) {
    return absl::InvalidArgumentError(
        options.server.empty()
            ? absl::StrCat("cannot read the system resolver's configuration: ",
                           ares_strerror(status))
            : absl::StrCat("--dns-server \"", options.server, "\": expected HOST:PORT (",
                           ares_strerror(status), ")"));
  }
  return std::unique_ptr<TxtResolver>(new TxtResolver(std::move(options)));
}

TxtLookup TxtResolver::Lookup(const std::string& name) const {
  QueryResult result;
  Channel channel;
  int status = channel.Init(options_);
  if (status != ARES_SUCCESS) {
    result.lookup.detail = absl::StrCat("cannot start a DNS lookup: ", ares_strerror(status));
    return result.lookup;
  }
  absl::Time deadline = absl::Now() + options_.timeout;
  ares_query(channel.get(), name.c_str(), kClassIn, kTypeTxt, &OnAnswer, &result);
  while (!result.done) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      ares_cancel(channel.get());  // calls OnAnswer with ARES_ECANCELLED
      result.lookup.outcome = TxtLookup::Outcome::kError;
      result.lookup.detail =
          absl::StrCat("no answer within ", absl::FormatDuration(options_.timeout));
      break;
    }
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(channel.get(), sockets, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    int count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) {
        events |= POLLIN;
      }
      if (ARES_GETSOCK_WRITABLE(bits, i)) {
        events |= POLLOUT;
      }
      if (events == 0) {
        continue;
      }
      fds[count++] = pollfd{sockets[i], events, 0};
    }
    timeval max_wait = absl::ToTimeval(left);
    timeval wait;
    timeval* next = ares_timeout(channel.get(), &max_wait, &wait);
    int wait_ms = static_cast<int>(next->tv_sec * 1000 + next->tv_usec / 1000) + 1;
    int ready = poll(fds, count, wait_ms);
    if (ready <= 0) {
      // A timeout (or EINTR): let c-ares retry or give up.
      ares_process_fd(channel.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (int i = 0; i < count; ++i) {
      ares_socket_t read_fd =
          (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
      ares_socket_t write_fd = (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD;
      if (read_fd != ARES_SOCKET_BAD || write_fd != ARES_SOCKET_BAD) {
        ares_process_fd(channel.get(), read_fd, write_fd);
      }
    }
  }
  return result.lookup;
}

}  // namespace certgate::controlplane

#include "dataplane/http/socket_bio.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "openssl/bio.h"

namespace certgate::edge {
namespace {

// One TLS record with its header and the largest expansion BoringSSL allows.
constexpr size_t kBufferSize = 5 + 16384 + 256;

struct State {
  int fd = -1;
  bool hints = false;
  bool maybe_readable = true;
  // Bytes read from the socket that the SSL has not taken yet; allocated
  // when needed and released once empty, so an idle connection holds none.
  std::unique_ptr<char[]> buffer;
  size_t pos = 0;
  size_t len = 0;
};

State* Get(BIO* bio) { return static_cast<State*>(BIO_get_data(bio)); }

int Create(BIO* bio) {
  BIO_set_data(bio, std::make_unique<State>().release());
  BIO_set_init(bio, 1);
  return 1;
}

int Destroy(BIO* bio) {
  std::unique_ptr<State> state(Get(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

// Recv: one recv into `out`; a short one means the socket is empty now.
ssize_t Recv(State* s, char* out, size_t len) {
  if (s->hints && !s->maybe_readable) {
    errno = EAGAIN;
    return -1;
  }
  ssize_t n;
  do {
    n = recv(s->fd, out, len, 0);
  } while (n < 0 && errno == EINTR);
  if ((n >= 0 && static_cast<size_t>(n) < len && n != 0) ||
      (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
    s->maybe_readable = false;
  }
  return n;
}

int Read(BIO* bio, char* out, int out_len) {
  State* s = Get(bio);
  BIO_clear_retry_flags(bio);
  if (out_len <= 0) {
    return 0;
  }
  size_t want = static_cast<size_t>(out_len);
  if (s->pos == s->len) {
    ssize_t n;
    if (want >= kBufferSize) {
      n = Recv(s, out, want);  // big enough to read into directly
    } else {
      if (s->buffer == nullptr) {
        // Not make_unique, which zeroes it: 16 KiB of memset per request,
        // and the recv below overwrites what it uses.
        s->buffer.reset(new char[kBufferSize]);
      }
      n = Recv(s, s->buffer.get(), kBufferSize);
      if (n > 0) {
        s->pos = 0;
        s->len = static_cast<size_t>(n);
      }
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        BIO_set_retry_read(bio);
      }
      s->buffer.reset();
      return -1;
    }
    if (n == 0) {
      s->buffer.reset();
      return 0;
    }
    if (want >= kBufferSize) {
      return static_cast<int>(n);
    }
  }
  size_t take = std::min(want, s->len - s->pos);
  memcpy(out, s->buffer.get() + s->pos, take);
  s->pos += take;
  if (s->pos == s->len) {
    s->pos = s->len = 0;
    s->buffer.reset();
  }
  return static_cast<int>(take);
}

int Write(BIO* bio, const char* data, int len) {
  State* s = Get(bio);
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = send(s->fd, data, static_cast<size_t>(len), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_write(bio);
    }
    return -1;
  }
  return static_cast<int>(n);
}

long Ctrl(BIO* bio, int cmd, long, void* ptr) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_C_GET_FD:
      if (ptr != nullptr) {
        *static_cast<int*>(ptr) = Get(bio)->fd;
      }
      return Get(bio)->fd;
    case BIO_CTRL_PENDING: {
      State* s = Get(bio);
      return static_cast<long>(s->len - s->pos);
    }
    default:
      return 0;
  }
}

int MethodType() {
  static const int type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK;
  return type;
}

const BIO_METHOD* Method() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(MethodType(), "certgate socket");
    BIO_meth_set_create(m, Create);
    BIO_meth_set_destroy(m, Destroy);
    BIO_meth_set_read(m, Read);
    BIO_meth_set_write(m, Write);
    BIO_meth_set_ctrl(m, Ctrl);
    return m;
  }();
  return method;
}

}  // namespace

bssl::UniquePtr<BIO> SocketBio::New(int fd) {
  bssl::UniquePtr<BIO> bio(BIO_new(Method()));
  if (bio != nullptr) {
    Get(bio.get())->fd = fd;
  }
  return bio;
}

bool SocketBio::Is(const BIO* bio) {
  return bio != nullptr && BIO_method_type(bio) == MethodType();
}

void SocketBio::UseReadinessHints(BIO* bio, bool on) {
  State* s = Get(bio);
  s->hints = on;
  s->maybe_readable = true;
}

void SocketBio::MarkReadable(BIO* bio) { Get(bio)->maybe_readable = true; }

bool SocketBio::MaybeReadable(BIO* bio) {
  State* s = Get(bio);
  return !s->hints || s->maybe_readable || s->pos < s->len;
}

}  // namespace certgate::edge

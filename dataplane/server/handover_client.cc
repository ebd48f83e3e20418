#include "dataplane/server/handover_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace certgate::edge {

std::string HandoverSocketPath(const std::string& state_dir) {
  return state_dir + "/handover.sock";
}

absl::StatusOr<std::unique_ptr<HandoverClient>> HandoverClient::Connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("hand-over socket path is too long for a Unix socket: ", path));
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    if (err == ENOENT || err == ECONNREFUSED) {
      return absl::NotFoundError(absl::StrCat("no running edge at ", path));
    }
    return absl::UnavailableError(absl::StrCat("cannot reach ", path, ": ", strerror(err)));
  }
  // Only an edge of this same user may hand us sockets.
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != geteuid()) {
    close(fd);
    return absl::PermissionDeniedError(
        absl::StrCat("the process at ", path, " runs as another user"));
  }
  return std::unique_ptr<HandoverClient>(new HandoverClient(fd, cred.pid));
}

HandoverClient::~HandoverClient() { close(fd_); }

absl::StatusOr<std::vector<HandedSocket>> HandoverClient::Take(absl::Duration timeout) {
  std::vector<HandedSocket> sockets;
  auto fail = [&sockets](absl::Status status) {
    for (const HandedSocket& s : sockets) {
      close(s.fd);
    }
    return status;
  };
  if (send(fd_, kHandoverRequest, strlen(kHandoverRequest), MSG_NOSIGNAL) < 0) {
    return absl::UnavailableError(absl::StrCat("hand-over request: ", strerror(errno)));
  }
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait_ms <= 0 || poll(&p, 1, wait_ms) == 0) {
      return fail(absl::DeadlineExceededError("the running edge did not hand over its sockets"));
    }
    char data[256];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 256)];
    iovec iov{data, sizeof(data)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    std::vector<int> fds;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const int* in = reinterpret_cast<const int*>(CMSG_DATA(c));
        fds.insert(fds.end(), in, in + count);
      }
    }
    if (n <= 0 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0) {
      for (int fd : fds) {
        close(fd);
      }
      return fail(absl::UnavailableError("the running edge broke off the hand-over"));
    }
    std::string roles(data, static_cast<size_t>(n));
    if (fds.empty() && roles == kHandoverEnd) {
      return sockets;
    }
    bool valid = roles.size() == fds.size();
    for (size_t i = 0; i < fds.size(); ++i) {
      char role = i < roles.size() ? roles[i] : '?';
      if (role != 'L' && role != 'M') {
        valid = false;
      }
      sockets.push_back(HandedSocket{fds[i], static_cast<HandedSocket::Role>(role)});
    }
    if (!valid) {
      return fail(absl::DataLossError("malformed hand-over packet"));
    }
  }
}

absl::Status HandoverClient::ConfirmServing() {
  if (send(fd_, kHandoverServing, strlen(kHandoverServing), MSG_NOSIGNAL) < 0) {
    return absl::UnavailableError(absl::StrCat("hand-over confirmation: ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace certgate::edge
